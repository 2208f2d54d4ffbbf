/*
 * tool_verify.c - `mailroom verify`: can a person rely on this sealed letter?
 *
 * SYNOPSIS
 *	mailroom verify [--ca FILE] [--tsa-ca FILE] [-v] [--json]
 *	                FILE.p7s... | FILE... | PACKAGE.zip | JOBDIR
 *	mailroom verify [--tsa-ca FILE] [-v] [--json] FILE.ers [DATA...]
 *
 *	Every detached CAdES signature is checked check by check (verify_cades.h:
 *	structure, algorithms, message-digest, signed attributes, ESS
 *	signing-certificate, signature value, certificate chain at the signature's
 *	time, signature-time-stamp). A job directory adds its record: job.json
 *	complete and every file matching its SHA-256; every document that must be
 *	sealed (ersetzend: scan.tiff, original.*, transfervermerk.xml) has its .p7s;
 *	the Transfervermerk validates against its XSD and its SHA-256 bindings match
 *	the files. An xdomea package (ZIP) adds its message: every file and seal it
 *	names is in the ZIP, the scan product of a replacing scan is sealed, and the
 *	Transfervermerk's bindings match the entries (found by DateinameOriginal).
 *	A job directory with an evidence record (evidence.ers, mailroom-resign)
 *	adds its check, and FILE.ers first checks that detached record over the
 *	DATA files (tools/verify_ers.h).
 *	Content is streamed (from disk or out of the ZIP), never held in memory;
 *	only XML documents are read whole, bounded.
 *
 *	Output: per file one line, "OK   FILE  (CAdES-B-T, seal "CN", TSA time T)"
 *	or "FAILED FILE: CHECK: REASON", further failed checks and warnings indented
 *	below it, every check with -v; then a summary line. --json prints one
 *	object: {ok, files: [{file, ok, level, ..., checks: [{name, ok, status,
 *	detail}]}], summary}.
 *
 *	Trust: --ca FILE, else `ca:` of conf/signing.yaml; time-stamp tokens against
 *	--tsa-ca FILE, else the --ca FILE, else tsa.ca of conf/signing.yaml, else
 *	its ca:. The
 *	schema of the Transfervermerk is
 *	`schema:` of conf/signing.yaml, default <source>/sign/transfervermerk.xsd,
 *	resolved as mailroom-sign resolves it.
 *
 * SECURITY
 *	Reads what it is given; writes nothing. Every name and text taken from a
 *	signature, certificate, record or package is printed with control characters
 *	neutralised (tool_clean). Signatures are read up to VERIFY_SIG_MAX bytes,
 *	XML up to VERIFY_DOC_MAX; ZIP entries are streamed.
 *
 * EXIT STATUS
 *	0 every check passed (warnings allowed); 1 a check failed; EX_NOINPUT a
 *	named file does not exist; EX_IOERR a read error; EX_CONFIG no usable CA
 *	or schema.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include <json-c/json.h>
#include <libxml/parser.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <zip.h>

#include "buf.h"
#include "digest.h"
#include "fileio.h"
#include "ident.h"
#include "job.h"
#include "log.h"
#include "tool.h"
#include "verify.h"
#include "verify_cades.h"
#include "verify_doc.h"
#include "verify_ers.h"
#include "xalloc.h"
#include "xmlschema.h"

#define VERIFY_SIG_MAX (4u << 20) /* a detached signature is a few KiB */
#define VERIFY_BLOCK 65536
#define VERIFY_CONF_FILE "signing.yaml"
/* The same default as mailroom-sign (MAILROOM_SIGN_XSD): the source tree's schema. */
#define VERIFY_DEFAULT_XSD MAILROOM_DEFAULT_CONF "/../sign/transfervermerk.xsd"
#define VERIFY_TV_FILE "transfervermerk.xml"

static struct verify_options verify_opts;

/* One file of the report and its checks. */
struct vfile {
	char *name;	/* as shown */
	char *original; /* its name in the job (package entries), or NULL */
	char *sig;	/* the signature's name, or NULL */
	struct verify_check *checks;
	size_t n, cap;
	struct verify_cades_result *cades; /* when a signature was checked */
	char note[512];			   /* the OK line's text when there is no signature */
	unsigned char sha256[DIGEST_SHA256_LEN];
	unsigned long long size;
	int have_digest;
};

/* The files of one argument (a job directory, a package, a signature). */
struct vset {
	const char *container; /* NULL for single files */
	struct vfile *f;
	size_t n, cap;
};

struct verify_run {
	struct tool_ctx *c;
	X509_STORE *store, *tsa_store;
	int trust_failed; /* the CA could not be loaded: EX_CONFIG */
	char ca_path[4096], tsa_ca_path[4096];
	xmlschema *schema;
	int schema_failed;
	char schema_path[4096];
	json_object *jfiles;
	int files, files_failed, checks, checks_failed, warnings;
	int exit_io; /* EX_NOINPUT or EX_IOERR for arguments that could not be read */
};

void tool_verify_options(const struct verify_options *o)
{
	verify_opts = *o;
}

int tool_verify_target(const char *p7s, char *out, size_t outlen)
{
	size_t l = strlen(p7s);

	if (l <= 4 || strcmp(p7s + l - 4, ".p7s") != 0 || l - 4 >= outlen)
		return -1;
	memcpy(out, p7s, l - 4);
	out[l - 4] = '\0';
	return 0;
}

/* 1 if name ends with suffix. */
static int verify_ends(const char *name, const char *suffix)
{
	size_t l = strlen(name), s = strlen(suffix);

	return l > s && strcmp(name + l - s, suffix) == 0;
}

/* ---- the report ---- */

static void vfile_check(struct vfile *f, const char *name, enum verify_status s, const char *fmt,
			...) __attribute__((format(printf, 4, 5)));
/* Add a check to a file. */
static void vfile_check(struct vfile *f, const char *name, enum verify_status s, const char *fmt,
			...)
{
	struct verify_check *k;
	va_list ap;

	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->checks = xrealloc(f->checks, f->cap * sizeof(*f->checks));
	}
	k = &f->checks[f->n++];
	k->name = name;
	k->status = s;
	va_start(ap, fmt);
	vsnprintf(k->detail, sizeof(k->detail), fmt, ap);
	va_end(ap);
}

/* The file called name in the set, created if new (which moves the others: pointers
 * into the set are good until the next new name). */
static struct vfile *vset_get(struct vset *s, const char *name)
{
	struct vfile *f;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->f[i].name, name) == 0)
			return &s->f[i];
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->f = xrealloc(s->f, s->cap * sizeof(*s->f));
	}
	f = &s->f[s->n++];
	memset(f, 0, sizeof(*f));
	f->name = xstrdup(name);
	return f;
}

/* The file called name, or NULL. */
static struct vfile *vset_find(struct vset *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->f[i].name, name) == 0)
			return &s->f[i];
	return NULL;
}

/* Free a set. */
static void vset_free(struct vset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->f[i].name);
		free(s->f[i].original);
		free(s->f[i].sig);
		free(s->f[i].checks);
		free(s->f[i].cades);
	}
	free(s->f);
	memset(s, 0, sizeof(*s));
}

/* ISO 8601 UTC. */
static const char *verify_iso(time_t t, char out[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "?");
	return out;
}

/* The text in parentheses of an OK line. */
static void vfile_summary(const struct vfile *f, char *out, size_t outlen)
{
	const struct verify_cades_result *r = f->cades;
	char when[32];

	if (r == NULL) {
		snprintf(out, outlen, "%.255s%s%s", f->original ? f->original : "",
			 f->original ? ": " : "", f->note[0] ? f->note : "checked");
		return;
	}
	snprintf(out, outlen, "%.255s%s%s, seal \"%.255s\"%s, %s %s%s%.300s",
		 f->original ? f->original : "", f->original ? ": " : "",
		 r->level ? r->level : "CMS", r->common_name, r->test_pki ? ", TEST PKI" : "",
		 r->timestamps > 0 ? "TSA time" : "signing time",
		 verify_iso(r->timestamps > 0 ? r->ts_time : r->signing_time, when),
		 f->note[0] ? "; " : "", f->note);
}

/* One file as JSON. */
static json_object *vfile_json(const struct vset *s, const struct vfile *f, int ok)
{
	const struct verify_cades_result *r = f->cades;
	json_object *o = json_object_new_object(), *a = json_object_new_array(), *k;
	char hex[DIGEST_SHA256_HEX], when[32];
	size_t i;

	json_object_object_add(o, "file", json_object_new_string(f->name));
	json_object_object_add(o, "container",
			       s->container ? json_object_new_string(s->container) : NULL);
	if (f->original != NULL)
		json_object_object_add(o, "original", json_object_new_string(f->original));
	if (f->sig != NULL)
		json_object_object_add(o, "signature", json_object_new_string(f->sig));
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	if (r != NULL) {
		json_object_object_add(o, "level",
				       r->level ? json_object_new_string(r->level) : NULL);
		json_object_object_add(o, "signer", json_object_new_string(r->subject));
		json_object_object_add(o, "seal", json_object_new_string(r->common_name));
		json_object_object_add(o, "issuer", json_object_new_string(r->issuer));
		json_object_object_add(o, "serial", json_object_new_string(r->serial));
		json_object_object_add(o, "test_pki", json_object_new_boolean(r->test_pki));
		json_object_object_add(o, "key", json_object_new_string(r->key));
		json_object_object_add(o, "digest", json_object_new_string(r->digest));
		if (r->signing_time != 0)
			json_object_object_add(
			    o, "signing_time",
			    json_object_new_string(verify_iso(r->signing_time, when)));
		if (r->timestamps > 0) {
			k = json_object_new_object();
			json_object_object_add(
			    k, "time", json_object_new_string(verify_iso(r->ts_time, when)));
			json_object_object_add(k, "tsa", json_object_new_string(r->tsa));
			json_object_object_add(k, "policy", json_object_new_string(r->ts_policy));
			json_object_object_add(k, "serial", json_object_new_string(r->ts_serial));
			json_object_object_add(o, "timestamp", k);
		}
	}
	if (f->have_digest) {
		digest_hex(f->sha256, sizeof(f->sha256), hex);
		json_object_object_add(o, "sha256", json_object_new_string(hex));
		json_object_object_add(o, "size", json_object_new_int64((int64_t)f->size));
	}
	if (f->note[0])
		json_object_object_add(o, "note", json_object_new_string(f->note));
	for (i = 0; i < f->n; i++) {
		k = json_object_new_object();
		json_object_object_add(k, "name", json_object_new_string(f->checks[i].name));
		json_object_object_add(
		    k, "ok", json_object_new_boolean(f->checks[i].status != VERIFY_FAILED));
		json_object_object_add(
		    k, "status",
		    json_object_new_string(f->checks[i].status == VERIFY_NONE
					       ? "none"
					       : verify_status_name(f->checks[i].status)));
		json_object_object_add(k, "detail", json_object_new_string(f->checks[i].detail));
		json_object_array_add(a, k);
	}
	json_object_object_add(o, "checks", a);
	return o;
}

/* Print (or keep for --json) every file of a set and count it. */
static void vset_report(struct verify_run *v, const struct vset *s)
{
	size_t i, k;
	char a[1200], b[1400], c[1200];

	if (s->container != NULL && !v->c->opt->json && s->n > 0)
		printf("%s:\n", tool_clean(s->container, a, sizeof(a)));
	for (i = 0; i < s->n; i++) {
		const struct vfile *f = &s->f[i];
		const struct verify_check *first = NULL;
		int failed = 0;

		for (k = 0; k < f->n; k++) {
			v->checks++;
			if (f->checks[k].status == VERIFY_FAILED) {
				v->checks_failed++;
				failed++;
				if (first == NULL)
					first = &f->checks[k];
			} else if (f->checks[k].status == VERIFY_WARN) {
				v->warnings++;
			}
		}
		v->files++;
		if (failed)
			v->files_failed++;
		if (v->c->opt->json) {
			json_object_array_add(v->jfiles, vfile_json(s, f, failed == 0));
			continue;
		}
		tool_clean(f->name, a, sizeof(a));
		if (first != NULL) {
			printf("FAILED %s: %s: %s\n", a, first->name,
			       tool_clean(first->detail, b, sizeof(b)));
		} else {
			vfile_summary(f, c, sizeof(c));
			printf("OK   %s  (%s)\n", a, tool_clean(c, b, sizeof(b)));
		}
		for (k = 0; k < f->n; k++) {
			const struct verify_check *ch = &f->checks[k];

			if (ch == first)
				continue;
			if (verify_opts.verbose)
				printf("       %-20s %-6s %s\n", ch->name,
				       verify_status_name(ch->status),
				       tool_clean(ch->detail, b, sizeof(b)));
			else if (ch->status == VERIFY_FAILED || ch->status == VERIFY_WARN)
				printf("       %s %s: %s\n", verify_status_name(ch->status),
				       ch->name, tool_clean(ch->detail, b, sizeof(b)));
		}
	}
}

/* ---- configuration: trust anchors and the schema ---- */

/* signing.yaml's value for key (in the map section, or at the top when section
 * is NULL) as a resolved path (caller frees), or NULL. */
static char *verify_conf_path(struct verify_run *v, const char *section, const char *key,
			      int *failed)
{
	const conf_node *m;
	conf_err ce;
	conf_node *root;
	const char *val = NULL;
	char *file = settings_conf_file(&v->c->set, VERIFY_CONF_FILE), *out = NULL;

	*failed = 0;
	if (fio_exists(file) != 1) {
		free(file);
		return NULL;
	}
	if ((root = conf_load(file, &ce)) == NULL) {
		log_errorx("%s", ce.msg);
		*failed = 1;
	} else if ((m = section ? conf_get(root, section) : root) == NULL || m->kind != CONF_MAP) {
		/* no such section: nothing configured */
	} else if (conf_str(m, key, 0, NULL, &val, &ce) == -1) {
		log_errorx("%s", ce.msg);
		*failed = 1;
	} else if (val != NULL && *val != '\0') {
		out = settings_path(&v->c->set, val);
	}
	conf_free(root);
	free(file);
	return out;
}

/* A store with the certificates of path (no purpose: the checks set their own). */
static X509_STORE *verify_load_store(const char *path, const char *what)
{
	X509_STORE *s = X509_STORE_new();

	if (s == NULL || X509_STORE_load_file(s, path) != 1) {
		log_errorx("cannot load the %s certificate %s (a PEM file; %s)", what, path,
			   strcmp(what, "CA") == 0 ? "--ca FILE or ca: in conf/signing.yaml"
						   : "--tsa-ca FILE");
		ERR_clear_error();
		X509_STORE_free(s);
		return NULL;
	}
	return s;
}

/* The trust anchors, loaded on first use. 0, or -1 (reported; EX_CONFIG at the end). */
static int verify_trust(struct verify_run *v, struct verify_cades_trust *t)
{
	char *p;
	int failed;

	if (v->store == NULL && !v->trust_failed) {
		if (v->c->opt->ca != NULL) {
			snprintf(v->ca_path, sizeof(v->ca_path), "%s", v->c->opt->ca);
		} else if ((p = verify_conf_path(v, NULL, "ca", &failed)) != NULL) {
			snprintf(v->ca_path, sizeof(v->ca_path), "%s", p);
			free(p);
		} else {
			if (!failed)
				log_errorx("no CA certificate: pass --ca FILE or set ca: in "
					   "conf/signing.yaml");
			v->trust_failed = 1;
			return -1;
		}
		/* --tsa-ca; else with --ca that file; else tsa.ca of signing.yaml; else
		 * the same CA */
		p = verify_opts.tsa_ca || v->c->opt->ca ? NULL
							: verify_conf_path(v, "tsa", "ca", &failed);
		snprintf(v->tsa_ca_path, sizeof(v->tsa_ca_path), "%s",
			 verify_opts.tsa_ca ? verify_opts.tsa_ca
			 : p		    ? p
					    : v->ca_path);
		free(p);
		if ((v->store = verify_load_store(v->ca_path, "CA")) == NULL ||
		    (v->tsa_store = verify_load_store(v->tsa_ca_path, "TSA CA")) == NULL) {
			X509_STORE_free(v->store);
			v->store = NULL;
			v->trust_failed = 1;
		}
	}
	if (v->trust_failed)
		return -1;
	t->ca = v->store;
	t->tsa_ca = v->tsa_store;
	return 0;
}

/* The Transfervermerk schema, loaded on first use; NULL if it cannot be (EX_CONFIG). */
static xmlschema *verify_schema(struct verify_run *v, char *err, size_t errlen)
{
	char *p;
	int failed;

	if (v->schema != NULL || v->schema_failed) {
		if (v->schema == NULL)
			snprintf(err, errlen, "the schema %.300s cannot be loaded (see above)",
				 v->schema_path);
		return v->schema;
	}
	if ((p = verify_conf_path(v, NULL, "schema", &failed)) != NULL) {
		snprintf(v->schema_path, sizeof(v->schema_path), "%s", p);
		free(p);
	} else {
		snprintf(v->schema_path, sizeof(v->schema_path), "%s", VERIFY_DEFAULT_XSD);
	}
	if (failed || (v->schema = xmlschema_load(v->schema_path, err, errlen)) == NULL) {
		if (!failed)
			log_errorx("%s (schema: in conf/signing.yaml names the Transfervermerk "
				   "XSD, default sign/transfervermerk.xsd)",
				   err);
		snprintf(err, errlen, "the schema %.300s cannot be loaded", v->schema_path);
		v->schema_failed = 1;
	}
	return v->schema;
}

/* ---- signatures ---- */

/* Check the signature sig over content into f (its checks, digest, result). */
static void verify_signature(struct verify_run *v, struct vfile *f, const buf *sig, BIO *content)
{
	struct verify_cades_trust t;
	size_t i;

	if (verify_trust(v, &t) == -1) {
		vfile_check(f, "trust", VERIFY_FAILED,
			    "no CA certificate to verify against (--ca FILE or ca: in "
			    "conf/signing.yaml)");
		return;
	}
	f->cades = xcalloc(1, sizeof(*f->cades));
	verify_cades((const unsigned char *)(sig->data ? sig->data : ""), sig->len, content, &t,
		     f->cades);
	for (i = 0; i < VERIFY_CADES_NCHECKS; i++)
		vfile_check(f, f->cades->checks[i].name, f->cades->checks[i].status, "%s",
			    f->cades->checks[i].detail);
	if (f->cades->content_read) {
		memcpy(f->sha256, f->cades->sha256, sizeof(f->sha256));
		f->size = f->cades->size;
		f->have_digest = 1;
	}
}

/* SHA-256 and size of everything content yields. 0 or -1. */
static int verify_hash_bio(BIO *content, struct vfile *f)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char *blk = xmalloc(VERIFY_BLOCK);
	unsigned int n;
	int r = -1, rc = -1;

	f->size = 0;
	if (c == NULL || !EVP_DigestInit_ex(c, EVP_sha256(), NULL))
		goto out;
	while ((r = BIO_read(content, blk, VERIFY_BLOCK)) > 0) {
		if (!EVP_DigestUpdate(c, blk, (size_t)r))
			goto out;
		f->size += (unsigned long long)r;
	}
	if (r < 0 || !EVP_DigestFinal_ex(c, f->sha256, &n))
		goto out;
	f->have_digest = 1;
	rc = 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(c);
	free(blk);
	return rc;
}

/* FILE.p7s on disk against FILE, outside a job directory. */
static void verify_pair(struct verify_run *v, const char *p7s, const char *target)
{
	struct vset s;
	struct vfile *f;
	BIO *content = NULL;
	buf sig;

	memset(&s, 0, sizeof(s));
	f = vset_get(&s, target);
	f->sig = xstrdup(p7s);
	buf_init(&sig, VERIFY_SIG_MAX);
	if (fio_read_file(p7s, VERIFY_SIG_MAX, &sig) == -1) {
		vfile_check(f, "signature-file", VERIFY_FAILED, "cannot read the signature %s: %s",
			    p7s, errno == E2BIG ? "too large for a signature" : strerror(errno));
	} else if ((content = BIO_new_file(target, "rb")) == NULL) {
		ERR_clear_error();
		vfile_check(f, "file", VERIFY_FAILED, "the signed file %s cannot be opened: %s",
			    target, strerror(errno));
	} else {
		verify_signature(v, f, &sig, content);
	}
	vset_report(v, &s);
	BIO_free(content);
	buf_free(&sig);
	vset_free(&s);
}

/* ---- the Transfervermerk ---- */

/* 1 for the files of an ersetzend letter that carry their own seal. */
static int verify_must_seal(const char *job_name)
{
	return strcmp(job_name, "scan.tiff") == 0 || strcmp(job_name, VERIFY_TV_FILE) == 0 ||
	       (strncmp(job_name, "original.", 9) == 0 && !verify_ends(job_name, ".p7s"));
}

/*
 * Check a Transfervermerk (xml) in f: its schema, and its bindings against the
 * files of the set (in a package, msg maps a job name to the entry's name).
 * job_id: the letter it must belong to, or NULL.
 */
static void verify_tv(struct verify_run *v, struct vset *s, struct vfile *f, const char *xml,
		      size_t len, const struct verify_xdomea *msg, const char *job_id,
		      int replacing)
{
	struct verify_tv tv;
	xmlschema *sch;
	char err[VERIFY_DETAIL_MAX - 100], list[VERIFY_DETAIL_MAX - 100] = "",
								    hex[DIGEST_SHA256_HEX];
	size_t i, used = 0;
	int rc, bad = 0, scan = 0;

	err[0] = '\0';
	if ((sch = verify_schema(v, err, sizeof(err))) == NULL) {
		vfile_check(f, "schema", VERIFY_FAILED, "%s", err);
		rc = verify_tv_read(NULL, xml, len, &tv, err, sizeof(err));
	} else {
		rc = verify_tv_read(sch, xml, len, &tv, err, sizeof(err));
		if (rc == XMLSCHEMA_OK)
			vfile_check(f, "schema", VERIFY_OK, "valid against %s", v->schema_path);
		else
			vfile_check(f, "schema", VERIFY_FAILED, "does not validate against %s: %s",
				    v->schema_path, err);
	}
	if (!tv.parsed) {
		vfile_check(f, "binding", VERIFY_FAILED, "cannot be read as a Transfervermerk");
		return;
	}
	if (job_id != NULL && strcmp(tv.id, job_id) != 0) {
		vfile_check(f, "binding", VERIFY_FAILED,
			    "it is the Transfervermerk of letter %s, not of %s", tv.id, job_id);
		return;
	}
	for (i = 0; i < tv.n_files; i++) {
		const struct verify_tv_file *b = &tv.files[i];
		const struct verify_xdomea_part *part =
		    msg ? verify_xdomea_original(msg, b->name) : NULL;
		const char *name = part ? part->name : b->name;
		struct vfile *e = vset_find(s, name);

		scan |= strcmp(b->name, "scan.tiff") == 0;
		if (e == NULL || !e->have_digest) {
			vfile_check(f, "binding", VERIFY_FAILED, "binds %s, which is missing%s",
				    b->name, e ? " or unreadable" : "");
			bad++;
			continue;
		}
		digest_hex(e->sha256, sizeof(e->sha256), hex);
		if (strcmp(hex, b->sha256) != 0 || !b->size_ok || b->size != e->size) {
			vfile_check(f, "binding", VERIFY_FAILED,
				    "binds %s with SHA-256 %.16s... (%llu bytes), the file has "
				    "%.16s... (%llu bytes): changed after sealing",
				    b->name, b->sha256, b->size, hex, e->size);
			vfile_check(e, "bound", VERIFY_FAILED,
				    "differs from the SHA-256 that the sealed %s binds", f->name);
			bad++;
			continue;
		}
		vfile_check(e, "bound", VERIFY_OK, "its SHA-256 and size are bound by %s", f->name);
		if (e->cades == NULL)
			snprintf(e->note, sizeof(e->note),
				 "not sealed itself: bound by SHA-256 in %s",
				 f->original ? f->original : f->name);
		if (used < sizeof(list))
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
						 used ? ", " : "", b->name);
	}
	if (tv.too_many) {
		vfile_check(f, "binding", VERIFY_FAILED,
			    "more than %d files bound; not all checked", VERIFY_DOC_MAX_FILES);
		bad++;
	}
	if (replacing && !scan) {
		vfile_check(f, "binding", VERIFY_FAILED,
			    "does not bind the scan product scan.tiff");
		bad++;
	}
	if (!bad)
		vfile_check(f, "binding", VERIFY_OK, "binds by SHA-256 and size: %s",
			    used ? list : "(nothing)");
	snprintf(f->note, sizeof(f->note), "XSD %s, binds %zu file(s)",
		 rc == XMLSCHEMA_OK ? "valid" : "INVALID", tv.n_files);
}

/* ---- evidence records (tools/verify_ers.c) ---- */

/* A letter's evidence.ers, if it has one, as a file of the report. */
static void verify_ers_hook(struct verify_run *v, struct vset *s, const char *dir)
{
	struct verify_cades_trust t;
	struct verify_ers_result r;
	struct vfile *f;

	if (!verify_ers_present(dir))
		return;
	verify_ers_dir(dir, verify_trust(v, &t) == 0 ? t.tsa_ca : NULL, &r);
	f = vset_get(s, VERIFY_ERS_FILE);
	vfile_check(f, "evidence-record", r.status, "%s", r.detail);
	snprintf(f->note, sizeof(f->note), "%s", r.note);
}

/* `mailroom verify FILE.ers DATA...`: a detached record over data files. */
static void verify_ers_detached(struct verify_run *v, char **args, int n)
{
	X509_STORE *a = verify_ers_anchors(verify_opts.tsa_ca ? verify_opts.tsa_ca : v->c->opt->ca);
	struct verify_ers_result r;
	struct vset s;
	struct vfile *f;

	memset(&s, 0, sizeof(s));
	verify_ers_files(args[0], args + 1, (size_t)(n - 1), a, &r);
	f = vset_get(&s, args[0]);
	vfile_check(f, "evidence-record", r.status, "%s", r.detail);
	snprintf(f->note, sizeof(f->note), "%s", r.note);
	vset_report(v, &s);
	vset_free(&s);
	X509_STORE_free(a);
}

/* ---- a job directory ---- */

/* An object or string member of o, or NULL. */
static json_object *verify_get(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* The string at key of o, or NULL. */
static const char *verify_get_str(json_object *o, const char *key)
{
	json_object *s = verify_get(o, key);

	return s != NULL && json_object_is_type(s, json_type_string) ? json_object_get_string(s)
								     : NULL;
}

/* Compare a file's digest (and its .p7s's) with job.json's files entry. */
static void verify_record_digest(struct vfile *f, const char *dir, json_object *files,
				 const char *name)
{
	json_object *ent = verify_get(files, name);
	char hex[DIGEST_SHA256_HEX], p7s[VERIFY_NAME_MAX + 8], *path;
	const char *want;
	json_object *sz;
	uint64_t size;
	int bad = 0;

	if (ent == NULL) {
		vfile_check(f, "record", VERIFY_WARN, "not listed in job.json (added later?)");
		return;
	}
	want = verify_get_str(ent, "sha256");
	sz = verify_get(ent, "size");
	digest_hex(f->sha256, sizeof(f->sha256), hex);
	if (want == NULL || strcmp(want, hex) != 0 || sz == NULL ||
	    json_object_get_int64(sz) != (int64_t)f->size) {
		vfile_check(f, "record", VERIFY_FAILED,
			    "SHA-256 or size differs from job.json (altered or truncated)");
		bad = 1;
	}
	snprintf(p7s, sizeof(p7s), "%s.p7s", name);
	if ((ent = verify_get(files, p7s)) != NULL) {
		path = fio_join(dir, p7s);
		want = verify_get_str(ent, "sha256");
		sz = verify_get(ent, "size");
		if (digest_sha256_file_hex(path, hex, &size) == -1 || want == NULL ||
		    strcmp(want, hex) != 0 || sz == NULL ||
		    json_object_get_int64(sz) != (int64_t)size) {
			vfile_check(f, "record", VERIFY_FAILED,
				    "%s: missing, or SHA-256 or size differs from job.json", p7s);
			bad = 1;
		}
		free(path);
	}
	if (!bad)
		vfile_check(f, "record", VERIFY_OK, "SHA-256 and size match job.json%s%s",
			    verify_get(files, p7s) ? " (also " : "",
			    verify_get(files, p7s) ? "its .p7s)" : "");
}

/* Sort helper for names. */
static int verify_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add name to a list unless present. */
static void verify_names_add(char ***names, size_t *n, size_t *cap, const char *name)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*names)[i], name) == 0)
			return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*names = xrealloc(*names, *cap * sizeof(**names));
	}
	(*names)[(*n)++] = xstrdup(name);
}

/* What a job directory's record says, for the per-file checks. */
struct verify_job {
	const char *dir, *id, *mode;
	json_object *files, *signing, *signatures;
	int replacing, sealed_recorded;
};

/* One payload file of a job directory: its signature or digest, record, sealing. */
static void verify_job_file(struct verify_run *v, struct vset *s, const struct verify_job *jr,
			    const char *name, buf *tvxml)
{
	struct vfile *f = vset_get(s, name);
	char *path = fio_join(jr->dir, name), *sp = xasprintf("%s/%s.p7s", jr->dir, name);
	int is_tv = strcmp(name, VERIFY_TV_FILE) == 0, has_sig = fio_exists(sp) == 1;
	BIO *content = NULL;
	buf sig;

	buf_init(&sig, VERIFY_SIG_MAX);
	if (fio_exists(path) != 1) {
		vfile_check(f, "file", VERIFY_FAILED, "missing%s",
			    has_sig ? ": its signature is here, the signed file is not"
			    : verify_get(jr->files, name) ? " (job.json lists it)"
							  : " (an ersetzend letter carries it)");
		goto out;
	}
	if (is_tv && fio_read_file(path, VERIFY_DOC_MAX, tvxml) == -1) {
		vfile_check(f, "file", VERIFY_FAILED, "cannot be read: %s",
			    errno == E2BIG ? "too large" : strerror(errno));
		goto out;
	}
	if (has_sig) {
		f->sig = xasprintf("%s.p7s", name);
		if (fio_read_file(sp, VERIFY_SIG_MAX, &sig) == -1) {
			vfile_check(f, "signature-file", VERIFY_FAILED, "cannot read %s: %s",
				    f->sig,
				    errno == E2BIG ? "too large for a signature" : strerror(errno));
			goto out;
		}
		content = is_tv ? BIO_new_mem_buf(tvxml->data ? tvxml->data : "", (int)tvxml->len)
				: BIO_new_file(path, "rb");
		if (content == NULL) {
			ERR_clear_error();
			vfile_check(f, "file", VERIFY_FAILED, "cannot be opened: %s",
				    strerror(errno));
			goto out;
		}
		verify_signature(v, f, &sig, content);
	} else {
		if ((content = BIO_new_file(path, "rb")) == NULL ||
		    verify_hash_bio(content, f) == -1) {
			ERR_clear_error();
			vfile_check(f, "file", VERIFY_FAILED, "cannot be read: %s",
				    strerror(errno));
			goto out;
		}
		if ((jr->replacing && verify_must_seal(name)) ||
		    verify_get(jr->signatures, name) != NULL)
			vfile_check(f, "sealed", VERIFY_FAILED, "there is no %s.p7s: %s", name,
				    jr->sealed_recorded
					? "job.json records the letter as sealed, the signature "
					  "is gone"
					: "the letter is ersetzend and has not been sealed (the "
					  "sign stage has not run)");
		else if (strcmp(name, "ocr.txt") == 0)
			snprintf(f->note, sizeof(f->note),
				 "not sealed: OCR text, not part of the scan product");
		else if (!jr->replacing)
			snprintf(f->note, sizeof(f->note), "not sealed: the letter is %s",
				 jr->mode ? jr->mode : "not classified");
	}
	if (f->have_digest)
		verify_record_digest(f, jr->dir, jr->files, name);
out:
	BIO_free(content);
	buf_free(&sig);
	free(path);
	free(sp);
}

/* The record: job_read's checks, or the raw JSON when they fail (to go on). */
static json_object *verify_job_record(struct vset *s, const char *dir, const char *id, job **jp)
{
	struct vfile *f = vset_get(s, JOB_RECORD);
	char err[VERIFY_DETAIL_MAX], *p;
	json_object *raw = NULL;
	buf b;

	if ((*jp = job_read(dir, id, err, sizeof(err))) != NULL) {
		vfile_check(f, "record", VERIFY_OK,
			    "complete, end marker present, id matches the directory, every listed "
			    "file matches its SHA-256");
		return json_object_get(job_meta(*jp));
	}
	vfile_check(f, "record", VERIFY_FAILED, "%s", err);
	p = fio_join(dir, JOB_RECORD);
	buf_init(&b, JOB_MAX_RECORD);
	if (fio_read_file(p, JOB_MAX_RECORD, &b) == 0)
		raw = json_tokener_parse(b.data ? b.data : "");
	buf_free(&b);
	free(p);
	if (raw != NULL && !json_object_is_type(raw, json_type_object)) {
		json_object_put(raw);
		raw = NULL;
	}
	return raw;
}

/* A job directory: the record, every file, every signature, the Transfervermerk. */
static void verify_jobdir(struct verify_run *v, const char *dir)
{
	struct verify_job jr;
	struct vset s;
	struct vfile *rec, *tvf;
	char trimmed[4096], target[VERIFY_NAME_MAX], **names = NULL;
	const char *base, *level;
	size_t l, n = 0, cap = 0, i;
	json_object *meta = NULL;
	job *j = NULL;
	DIR *d;
	struct dirent *de;
	buf tvxml;

	memset(&s, 0, sizeof(s));
	memset(&jr, 0, sizeof(jr));
	buf_init(&tvxml, VERIFY_DOC_MAX);
	snprintf(trimmed, sizeof(trimmed), "%s", dir);
	while ((l = strlen(trimmed)) > 1 && trimmed[l - 1] == '/')
		trimmed[l - 1] = '\0';
	base = strrchr(trimmed, '/');
	base = base ? base + 1 : trimmed;
	s.container = trimmed;
	rec = vset_get(&s, JOB_RECORD);
	if (!ident_job_valid(base)) {
		vfile_check(rec, "record", VERIFY_FAILED,
			    "not a job directory (its name is not a job id)");
		goto out;
	}
	meta = verify_job_record(&s, trimmed, base, &j);
	jr.dir = trimmed;
	jr.id = base;
	jr.files = verify_get(meta, "files");
	jr.mode = verify_get_str(verify_get(meta, "classification"), "scan_mode");
	jr.signing = verify_get(meta, "signing");
	jr.signatures = verify_get(jr.signing, "signatures");
	jr.replacing = jr.mode != NULL && strcmp(jr.mode, "ersetzend") == 0;
	jr.sealed_recorded = jr.signing != NULL && verify_get(jr.signing, "skipped") == NULL;
	level = verify_get_str(jr.signing, "level");
	snprintf(rec->note, sizeof(rec->note), "record complete; %s%s%s",
		 jr.mode ? jr.mode : "not classified yet",
		 jr.sealed_recorded ? ", sealed "
		 : jr.replacing	    ? ", not sealed yet"
				    : "",
		 jr.sealed_recorded && level ? level : "");
	/* every file of the record, every signature on disk, what an ersetzend letter needs */
	if (jr.files != NULL && json_object_is_type(jr.files, json_type_object)) {
		json_object_object_foreach(jr.files, fname, fent)
		{
			(void)fent;
			if (!job_file_name_valid(fname)) {
				vfile_check(rec, "record", VERIFY_FAILED,
					    "unsafe file name in job.json");
				continue;
			}
			if (tool_verify_target(fname, target, sizeof(target)) == 0)
				verify_names_add(&names, &n, &cap, target);
			else
				verify_names_add(&names, &n, &cap, fname);
		}
	}
	if ((d = opendir(trimmed)) == NULL) {
		vfile_check(rec, "record", VERIFY_FAILED, "cannot list the directory: %s",
			    strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && job_file_name_valid(de->d_name) &&
		    tool_verify_target(de->d_name, target, sizeof(target)) == 0)
			verify_names_add(&names, &n, &cap, target);
	closedir(d);
	if (jr.replacing) {
		verify_names_add(&names, &n, &cap, "scan.tiff");
		verify_names_add(&names, &n, &cap, VERIFY_TV_FILE);
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), verify_cmp);
	for (i = 0; i < n; i++)
		if (strcmp(names[i], JOB_RECORD) != 0)
			verify_job_file(v, &s, &jr, names[i], &tvxml);
	if ((tvf = vset_find(&s, VERIFY_TV_FILE)) != NULL && tvxml.len > 0)
		verify_tv(v, &s, tvf, tvxml.data, tvxml.len, NULL, base, jr.replacing);
	/* a rendition of an ersetzend letter is bound by the Transfervermerk */
	for (i = 0; jr.replacing && tvf != NULL && i < s.n; i++)
		if (strcmp(s.f[i].name, "ocr.pdf") == 0 && s.f[i].cades == NULL) {
			size_t k, bound = 0;

			for (k = 0; k < s.f[i].n; k++)
				bound |= strcmp(s.f[i].checks[k].name, "bound") == 0;
			if (!bound)
				vfile_check(&s.f[i], "bound", VERIFY_FAILED,
					    "not bound by %s: added or replaced after sealing",
					    VERIFY_TV_FILE);
		}
	verify_ers_hook(v, &s, trimmed);
out:
	vset_report(v, &s);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	buf_free(&tvxml);
	json_object_put(meta);
	job_free(j);
	vset_free(&s);
}

/* ---- an xdomea package ---- */

static BIO_METHOD *verify_zip_method;

/* BIO read callback: the next bytes of the zip entry. */
static int verify_zip_read(BIO *b, char *out, int n)
{
	zip_int64_t r;

	if (n <= 0)
		return 0;
	r = zip_fread(BIO_get_data(b), out, (zip_uint64_t)n);
	return r < 0 ? -1 : (int)r;
}

/* BIO control callback: a plain source supports nothing but flush. */
static long verify_zip_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

/* A BIO reading from an open zip entry (not owned by the BIO). */
static BIO *verify_zip_bio(zip_file_t *zf)
{
	BIO *b;

	if (verify_zip_method == NULL) {
		verify_zip_method =
		    BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "zip entry");
		if (verify_zip_method == NULL)
			return NULL;
		BIO_meth_set_read(verify_zip_method, verify_zip_read);
		BIO_meth_set_ctrl(verify_zip_method, verify_zip_ctrl);
	}
	if ((b = BIO_new(verify_zip_method)) == NULL)
		return NULL;
	BIO_set_data(b, zf);
	BIO_set_init(b, 1);
	return b;
}

/* Read a zip entry into out, bounded by out's maximum. 0 or -1. */
static int verify_zip_slurp(zip_t *za, zip_uint64_t idx, buf *out)
{
	zip_file_t *zf = zip_fopen_index(za, idx, 0);
	char chunk[8192];
	zip_int64_t r;
	int rc = 0;

	if (zf == NULL)
		return -1;
	while ((r = zip_fread(zf, chunk, sizeof(chunk))) > 0)
		if (buf_add(out, chunk, (size_t)r) == -1) {
			rc = -1;
			break;
		}
	if (r < 0)
		rc = -1;
	zip_fclose(zf);
	return rc;
}

/* What a package holds while it is checked. */
struct verify_pkg {
	zip_t *za;
	struct verify_xdomea msg;
	int have_msg, replacing;
	char msg_name[VERIFY_NAME_MAX];
};

/* 1 if the zip has an entry called name. */
static int verify_zip_has(zip_t *za, const char *name)
{
	return name[0] != '\0' && zip_name_locate(za, name, 0) >= 0;
}

/* The message's checks: every file and seal it names is in the ZIP; what is not named. */
static void verify_pkg_manifest(struct verify_pkg *p, struct vfile *f, char **entries, size_t n)
{
	char list[VERIFY_DETAIL_MAX - 100] = "";
	size_t i, k, used = 0, missing = 0, extra = 0;

	for (i = 0; i < p->msg.n_parts; i++) {
		const struct verify_xdomea_part *pt = &p->msg.parts[i];

		if (!verify_zip_has(p->za, pt->name)) {
			vfile_check(f, "manifest", VERIFY_FAILED,
				    "names %s (%s), not in the package",
				    pt->name[0] ? pt->name : "(empty)", pt->original);
			missing++;
		}
		if (pt->seal[0] != '\0' && !verify_zip_has(p->za, pt->seal)) {
			vfile_check(f, "manifest", VERIFY_FAILED,
				    "names the seal %s of %s, not in the package", pt->seal,
				    pt->original);
			missing++;
		}
		if (pt->ers[0] != '\0' && !verify_zip_has(p->za, pt->ers)) {
			vfile_check(f, "manifest", VERIFY_FAILED,
				    "names the evidence record %s of %s, not in the package",
				    pt->ers, pt->original);
			missing++;
		}
		if (p->replacing && verify_must_seal(pt->original) && pt->seal[0] == '\0') {
			vfile_check(f, "sealed", VERIFY_FAILED,
				    "names no seal for %s (%s) of a replacing scan", pt->original,
				    pt->name);
			missing++;
		}
	}
	if (p->msg.too_many) {
		vfile_check(f, "manifest", VERIFY_FAILED, "more than %d documents; not all checked",
			    VERIFY_DOC_MAX_FILES);
		missing++;
	}
	for (k = 0; k < n; k++) {
		int named = strcmp(entries[k], p->msg_name) == 0;

		for (i = 0; i < p->msg.n_parts && !named; i++)
			named = strcmp(entries[k], p->msg.parts[i].name) == 0 ||
				strcmp(entries[k], p->msg.parts[i].seal) == 0 ||
				(p->msg.parts[i].ers[0] != '\0' &&
				 strcmp(entries[k], p->msg.parts[i].ers) == 0);
		if (!named && used < sizeof(list)) {
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
						 used ? ", " : "", entries[k]);
			extra++;
		}
	}
	if (extra)
		vfile_check(f, "manifest", VERIFY_WARN, "the message does not name: %s", list);
	if (!missing)
		vfile_check(f, "manifest", VERIFY_OK,
			    "every file (%zu) and seal the message names is in the package",
			    p->msg.n_parts);
	snprintf(f->note, sizeof(f->note), "xdomea message %s, %s, %zu document file(s)",
		 p->msg.message[0] ? p->msg.message : "?",
		 p->replacing ? "replacing scan" : "copying scan", p->msg.n_parts);
}

/* Find the xdomea message among the .xml entries that carry no seal. */
static void verify_pkg_message(struct verify_pkg *p, char **entries, size_t n)
{
	char err[256], with[VERIFY_NAME_MAX + 8];
	size_t i;
	buf b;

	for (i = 0; i < n && !p->have_msg; i++) {
		zip_int64_t idx;

		snprintf(with, sizeof(with), "%s.p7s", entries[i]);
		if (!verify_ends(entries[i], ".xml") || verify_zip_has(p->za, with) ||
		    (idx = zip_name_locate(p->za, entries[i], 0)) < 0)
			continue;
		buf_init(&b, VERIFY_DOC_MAX);
		if (verify_zip_slurp(p->za, (zip_uint64_t)idx, &b) == 0 &&
		    verify_xdomea_read(b.data ? b.data : "", b.len, &p->msg, err, sizeof(err)) ==
			1) {
			p->have_msg = 1;
			snprintf(p->msg_name, sizeof(p->msg_name), "%s", entries[i]);
		}
		buf_free(&b);
	}
	p->replacing = p->have_msg && (p->msg.has_tv || (p->msg.electronic && !p->msg.hybrid));
}

/* One entry of a package: its signature or digest; the Transfervermerk kept in tvxml. */
static void verify_pkg_entry(struct verify_run *v, struct vset *s, struct verify_pkg *p,
			     const char *name, buf *tvxml, int *is_tv)
{
	struct vfile *f = vset_get(s, name);
	const struct verify_xdomea_part *part = NULL;
	char with[VERIFY_NAME_MAX + 8];
	zip_int64_t idx = zip_name_locate(p->za, name, 0), sidx;
	zip_file_t *zf = NULL;
	BIO *content = NULL;
	buf xml, sig;
	size_t i;

	buf_init(&xml, VERIFY_DOC_MAX);
	buf_init(&sig, VERIFY_SIG_MAX);
	*is_tv = 0;
	for (i = 0; p->have_msg && i < p->msg.n_parts && part == NULL; i++)
		if (strcmp(p->msg.parts[i].name, name) == 0)
			part = &p->msg.parts[i];
	if (part != NULL && part->original[0] != '\0')
		f->original = xstrdup(part->original);
	snprintf(with, sizeof(with), "%s.p7s", name);
	sidx = zip_name_locate(p->za, with, 0);
	if (verify_ends(name, ".xml")) {
		if (verify_zip_slurp(p->za, (zip_uint64_t)idx, &xml) == -1) {
			vfile_check(f, "file", VERIFY_FAILED,
				    "cannot be read from the package (damaged, or larger than %u "
				    "bytes)",
				    VERIFY_DOC_MAX);
			goto out;
		}
		*is_tv = (part != NULL && strcmp(part->original, VERIFY_TV_FILE) == 0) ||
			 verify_tv_is(xml.data ? xml.data : "", xml.len);
		content = BIO_new_mem_buf(xml.data ? xml.data : "", (int)xml.len);
	} else if ((zf = zip_fopen_index(p->za, (zip_uint64_t)idx, 0)) != NULL) {
		content = verify_zip_bio(zf);
	}
	if (content == NULL) {
		vfile_check(f, "file", VERIFY_FAILED, "cannot be read from the package");
		goto out;
	}
	if (sidx >= 0) {
		f->sig = xstrdup(with);
		if (verify_zip_slurp(p->za, (zip_uint64_t)sidx, &sig) == -1)
			vfile_check(f, "signature-file", VERIFY_FAILED,
				    "%s cannot be read from the package (damaged or too large)",
				    with);
		else
			verify_signature(v, f, &sig, content);
	} else {
		if (verify_hash_bio(content, f) == -1)
			vfile_check(f, "file", VERIFY_FAILED, "cannot be read from the package");
		if (strcmp(name, p->msg_name) == 0)
			; /* the message itself is described by its manifest check */
		else if (p->replacing && part != NULL && verify_must_seal(part->original))
			vfile_check(f, "sealed", VERIFY_FAILED,
				    "no %s: the %s of a replacing scan must be sealed", with,
				    part->original);
		else
			snprintf(f->note, sizeof(f->note), "not sealed%s",
				 part == NULL && p->have_msg ? "; the message does not name it"
							     : "");
	}
	if (*is_tv)
		buf_add(tvxml, xml.data ? xml.data : "", xml.len);
out:
	BIO_free(content);
	if (zf != NULL)
		zip_fclose(zf);
	buf_free(&xml);
	buf_free(&sig);
}

/* Every signature, the message's manifest and the Transfervermerk of a package. */
static void verify_zip(struct verify_run *v, const char *path)
{
	struct verify_pkg p;
	struct vset s;
	struct vfile *f;
	char **entries = NULL, target[VERIFY_NAME_MAX], tvname[VERIFY_NAME_MAX] = "";
	zip_int64_t n, i;
	size_t ne = 0, cap = 0, k, nsig = 0;
	int zerr, is_tv;
	buf tvxml;

	memset(&p, 0, sizeof(p));
	memset(&s, 0, sizeof(s));
	buf_init(&tvxml, VERIFY_DOC_MAX);
	s.container = path;
	if ((p.za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr)) == NULL) {
		zip_error_t ze;

		zip_error_init_with_code(&ze, zerr);
		vfile_check(vset_get(&s, path), "package", VERIFY_FAILED,
			    "not a readable ZIP package: %s", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		goto out;
	}
	n = zip_get_num_entries(p.za, 0);
	for (i = 0; i < n; i++) {
		const char *name = zip_get_name(p.za, (zip_uint64_t)i, 0);

		if (name != NULL && !verify_ends(name, "/") && strlen(name) < VERIFY_NAME_MAX)
			verify_names_add(&entries, &ne, &cap, name);
	}
	verify_pkg_message(&p, entries, ne);
	if (p.have_msg)
		vset_get(&s, p.msg_name); /* first in the report */
	for (k = 0; k < ne; k++) {
		if (tool_verify_target(entries[k], target, sizeof(target)) == 0) {
			nsig++;
			if (!verify_zip_has(p.za, target))
				vfile_check(vset_get(&s, target), "file", VERIFY_FAILED,
					    "not in the package, but its signature %s is",
					    entries[k]);
			continue;
		}
		verify_pkg_entry(v, &s, &p, entries[k], &tvxml, &is_tv);
		if (is_tv && tvname[0] == '\0')
			snprintf(tvname, sizeof(tvname), "%s", entries[k]);
	}
	if (p.have_msg)
		verify_pkg_manifest(&p, vset_get(&s, p.msg_name), entries, ne);
	else
		vfile_check(vset_get(&s, path), "manifest", VERIFY_WARN,
			    "no xdomea message in the package: only its signatures%s were checked",
			    tvname[0] ? " and the Transfervermerk" : "");
	if (tvname[0] != '\0' && (f = vset_find(&s, tvname)) != NULL)
		verify_tv(v, &s, f, tvxml.data, tvxml.len, p.have_msg ? &p.msg : NULL, NULL,
			  p.replacing);
	else if (p.replacing)
		vfile_check(vset_get(&s, p.msg_name), "transfervermerk", VERIFY_FAILED,
			    "a replacing scan without its Transfervermerk");
	if (nsig == 0 && p.have_msg && !p.replacing)
		vfile_check(vset_get(&s, p.msg_name), "sealed", VERIFY_WARN,
			    "no signatures in the package: a copying scan (kopierend) is not "
			    "sealed, the paper original is kept");
	else if (nsig == 0)
		vfile_check(vset_get(&s, path), "package", VERIFY_FAILED,
			    "no signatures (*.p7s) in the package");
out:
	vset_report(v, &s);
	if (p.za != NULL)
		zip_discard(p.za);
	for (k = 0; k < ne; k++)
		free(entries[k]);
	free(entries);
	buf_free(&tvxml);
	vset_free(&s);
}

/* ---- the command ---- */

/* One command-line argument: a signature, a file, a package or a job directory. */
static void verify_arg(struct verify_run *v, const char *arg)
{
	struct stat st;
	char target[4096], *p7s;

	if (stat(arg, &st) == -1) {
		int e = errno;

		log_errorx("%s: %s", arg, strerror(e));
		if (v->exit_io == 0 || e == EIO)
			v->exit_io = e == EIO ? EX_IOERR : EX_NOINPUT;
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		verify_jobdir(v, arg);
	} else if (verify_ends(arg, ".zip")) {
		verify_zip(v, arg);
	} else if (tool_verify_target(arg, target, sizeof(target)) == 0) {
		verify_pair(v, arg, target);
	} else {
		p7s = xasprintf("%s.p7s", arg);
		if (fio_exists(p7s) == 1) {
			verify_pair(v, p7s, arg);
		} else {
			struct vset s;

			memset(&s, 0, sizeof(s));
			vfile_check(vset_get(&s, arg), "signature", VERIFY_FAILED,
				    "no signature: not a .p7s, a .zip package or a job directory, "
				    "and no %s.p7s next to it",
				    arg);
			vset_report(v, &s);
			vset_free(&s);
		}
		free(p7s);
	}
}

int tool_verify_run(struct tool_ctx *c)
{
	struct verify_run v;
	char line[256];
	int i, rc;

	memset(&v, 0, sizeof(v));
	v.c = c;
	v.jfiles = json_object_new_array();
	xmlInitParser();
	if (c->opt->nargs > 0 && verify_ends(c->opt->args[0], ".ers"))
		verify_ers_detached(&v, c->opt->args, c->opt->nargs);
	else
		for (i = 0; i < c->opt->nargs; i++)
			verify_arg(&v, c->opt->args[i]);
	if (v.warnings > 0)
		snprintf(line, sizeof(line), ", %d warning(s)", v.warnings);
	else
		line[0] = '\0';
	if (c->opt->json) {
		json_object *m = json_object_new_object(), *sum = json_object_new_object();

		json_object_object_add(m, "ok",
				       json_object_new_boolean(v.checks_failed == 0 &&
							       v.exit_io == 0 && !v.trust_failed &&
							       !v.schema_failed));
		if (v.ca_path[0])
			json_object_object_add(m, "ca", json_object_new_string(v.ca_path));
		if (v.tsa_ca_path[0])
			json_object_object_add(m, "tsa_ca", json_object_new_string(v.tsa_ca_path));
		if (v.schema_path[0])
			json_object_object_add(m, "schema", json_object_new_string(v.schema_path));
		json_object_object_add(m, "files", json_object_get(v.jfiles));
		json_object_object_add(sum, "files", json_object_new_int(v.files));
		json_object_object_add(sum, "files_failed", json_object_new_int(v.files_failed));
		json_object_object_add(sum, "checks", json_object_new_int(v.checks));
		json_object_object_add(sum, "checks_failed", json_object_new_int(v.checks_failed));
		json_object_object_add(sum, "warnings", json_object_new_int(v.warnings));
		json_object_object_add(m, "summary", sum);
		printf("%s\n", json_object_to_json_string_ext(
				   m, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(m);
	} else if (v.files_failed == 0) {
		printf("all %d file(s) OK: %d checks passed%s\n", v.files, v.checks, line);
	} else {
		printf("%d of %d file(s) FAILED: %d of %d checks failed%s\n", v.files_failed,
		       v.files, v.checks_failed, v.checks, line);
	}
	rc = v.trust_failed || v.schema_failed ? EX_CONFIG
	     : v.exit_io != 0		       ? v.exit_io
	     : v.files_failed		       ? TOOL_EXIT_FAILED
					       : EX_OK;
	json_object_put(v.jfiles);
	X509_STORE_free(v.store);
	X509_STORE_free(v.tsa_store);
	v.schema = xmlschema_free(v.schema);
	if (verify_zip_method != NULL) {
		BIO_meth_free(verify_zip_method);
		verify_zip_method = NULL;
	}
	return rc;
}
