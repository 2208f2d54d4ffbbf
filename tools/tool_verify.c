/*
 * tool_verify.c - `mailroom verify`: check detached CMS (CAdES) signatures and
 * the digests of a letter's record, so anyone can confirm that a sealed scan
 * is unchanged: FILE.p7s against FILE, every X.p7s in an xdomea package (ZIP)
 * against X, or a job directory (every *.p7s, and every file digest in
 * job.json through job_read).
 *
 * The trust anchor is the CA file from --ca or `ca:` in conf/signing.yaml.
 * The certificate purpose is not checked (X509_PURPOSE_ANY): a seal
 * certificate need not carry the S/MIME purpose; the chain to the configured
 * CA is what is verified. Content is streamed through OpenSSL (from disk or
 * straight out of the ZIP), never held in memory.
 * XXX basic for now: no timestamp, revocation or ESS signing-certificate-v2
 * check yet (a later issue deepens this).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/pem.h> /* before cms.h: declares PEM_read_bio_CMS */
#include <openssl/cms.h>
#include <openssl/err.h>
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
#include "xalloc.h"

#define VERIFY_SIG_MAX (4u << 20) /* a detached signature is a few KiB */

struct verify_run {
	struct tool_ctx *c;
	X509_STORE *store;
	int store_failed; /* the CA could not be loaded: EX_CONFIG */
	char ca_path[4096];
	json_object *results;
	int checks, failed;
};

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

/* Report one check: print it (or keep it for --json) and count it. */
static void verify_report(struct verify_run *v, const char *container, const char *file,
			  const char *kind, int ok, const char *signer, const char *when,
			  const char *reason)
{
	char f[512], a[1024], b[1024];

	v->checks++;
	if (!ok)
		v->failed++;
	if (v->c->opt->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "container",
				       container ? json_object_new_string(container) : NULL);
		json_object_object_add(o, "file", json_object_new_string(file));
		json_object_object_add(o, "check", json_object_new_string(kind));
		json_object_object_add(o, "ok", json_object_new_boolean(ok));
		if (signer != NULL)
			json_object_object_add(o, "signer", json_object_new_string(signer));
		if (when != NULL)
			json_object_object_add(o, "signing_time", json_object_new_string(when));
		if (reason != NULL)
			json_object_object_add(o, "reason", json_object_new_string(reason));
		json_object_array_add(v->results, o);
		return;
	}
	tool_clean(file, f, sizeof(f));
	if (!ok)
		printf("FAILED %s: %s\n", f, tool_clean(reason, a, sizeof(a)));
	else if (signer != NULL)
		printf("OK   %s  signed by %s at %s\n", f, tool_clean(signer, a, sizeof(a)),
		       tool_clean(when ? when : "(no signing time)", b, sizeof(b)));
	else
		printf("OK   %s  %s\n", f, tool_clean(reason ? reason : "", a, sizeof(a)));
}

/* The trust store, loaded on first use from --ca or signing.yaml `ca:`. */
static X509_STORE *verify_store(struct verify_run *v, char *err, size_t errlen)
{
	conf_err ce;
	conf_node *root = NULL;
	const char *ca;
	char *path, *resolved;

	if (v->store != NULL)
		return v->store;
	if (v->store_failed) {
		snprintf(err, errlen, "no CA certificate to verify against (see above)");
		return NULL;
	}
	if (v->c->opt->ca != NULL) {
		snprintf(v->ca_path, sizeof(v->ca_path), "%s", v->c->opt->ca);
	} else {
		path = settings_conf_file(&v->c->set, "signing.yaml");
		root = conf_load(path, &ce);
		free(path);
		if (root == NULL || conf_str(root, "ca", 1, NULL, &ca, &ce) == -1) {
			log_errorx("no CA certificate: pass --ca FILE or set ca: in "
				   "conf/signing.yaml (%s)",
				   ce.msg);
			conf_free(root);
			goto fail;
		}
		resolved = settings_path(&v->c->set, ca);
		snprintf(v->ca_path, sizeof(v->ca_path), "%s", resolved);
		free(resolved);
		conf_free(root);
	}
	v->store = X509_STORE_new();
	if (v->store == NULL || X509_STORE_load_file(v->store, v->ca_path) != 1) {
		log_errorx("cannot load the CA certificate %s (a PEM file; --ca FILE or ca: in "
			   "conf/signing.yaml)",
			   v->ca_path);
		ERR_clear_error();
		X509_STORE_free(v->store);
		v->store = NULL;
		goto fail;
	}
	/* a seal certificate need not be an S/MIME certificate; the chain is checked */
	X509_STORE_set_purpose(v->store, X509_PURPOSE_ANY);
	return v->store;
fail:
	v->store_failed = 1;
	snprintf(err, errlen, "no CA certificate to verify against");
	return NULL;
}

/* Drain the OpenSSL error queue into a reason a person can act on. */
static void verify_ssl_reason(char *out, size_t outlen)
{
	unsigned long e;
	const char *data;
	int flags, content = 0, cert = 0;
	char raw[768] = "", one[256];
	size_t used = 0;

	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		if (ERR_GET_LIB(e) == ERR_LIB_CMS &&
		    ERR_GET_REASON(e) == CMS_R_CONTENT_VERIFY_ERROR)
			content = 1;
		if (ERR_GET_LIB(e) == ERR_LIB_CMS &&
		    ERR_GET_REASON(e) == CMS_R_CERTIFICATE_VERIFY_ERROR)
			cert = 1;
		ERR_error_string_n(e, one, sizeof(one));
		if (used + 3 < sizeof(raw)) {
			used += (size_t)snprintf(
			    raw + used, sizeof(raw) - used, "%s%s%s%s", used ? "; " : "", one,
			    (flags & ERR_TXT_STRING) && data && *data ? ": " : "",
			    (flags & ERR_TXT_STRING) && data ? data : "");
			if (used >= sizeof(raw))
				used = sizeof(raw) - 1;
		}
	}
	if (content)
		snprintf(out, outlen,
			 "the file does not match its signature (changed after "
			 "signing) [%s]",
			 raw);
	else if (cert)
		snprintf(out, outlen,
			 "the signer's certificate does not chain to the trusted CA "
			 "[%s]",
			 raw);
	else
		snprintf(out, outlen, "signature invalid [%s]", raw[0] ? raw : "no detail");
}

/* Signing time of the first signer as ISO 8601, or "" if absent. */
static void verify_signing_time(CMS_ContentInfo *cms, char *out, size_t outlen)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	CMS_SignerInfo *si;
	X509_ATTRIBUTE *attr;
	ASN1_TYPE *t;
	struct tm tm;
	int idx;

	out[0] = '\0';
	if (sis == NULL || sk_CMS_SignerInfo_num(sis) < 1)
		return;
	si = sk_CMS_SignerInfo_value(sis, 0);
	if ((idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1)) < 0 ||
	    (attr = CMS_signed_get_attr(si, idx)) == NULL ||
	    (t = X509_ATTRIBUTE_get0_type(attr, 0)) == NULL)
		return;
	if (t->type != V_ASN1_UTCTIME && t->type != V_ASN1_GENERALIZEDTIME)
		return;
	if (ASN1_TIME_to_tm(t->value.utctime, &tm) != 1)
		return;
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Subject of the first signer (RFC 2253, UTF-8) into out. */
static void verify_signer(CMS_ContentInfo *cms, char *out, size_t outlen)
{
	STACK_OF(X509) *signers = CMS_get0_signers(cms);
	BIO *mem;
	char *p;
	long n;

	snprintf(out, outlen, "(unknown signer)");
	if (signers == NULL || sk_X509_num(signers) < 1 || (mem = BIO_new(BIO_s_mem())) == NULL) {
		sk_X509_free(signers);
		return;
	}
	X509_NAME_print_ex(mem, X509_get_subject_name(sk_X509_value(signers, 0)), 0,
			   XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	if ((n = BIO_get_mem_data(mem, &p)) > 0)
		snprintf(out, outlen, "%.*s", (int)n, p);
	BIO_free(mem);
	sk_X509_free(signers);
}

/* Verify one detached signature (sig bytes) over content; report it. */
static void verify_one(struct verify_run *v, const char *container, const char *file,
		       const buf *sig, BIO *content)
{
	CMS_ContentInfo *cms = NULL;
	X509_STORE *store;
	BIO *sb = NULL;
	char reason[1200], signer[512], when[64];

	ERR_clear_error();
	if ((store = verify_store(v, reason, sizeof(reason))) == NULL) {
		verify_report(v, container, file, "signature", 0, NULL, NULL, reason);
		return;
	}
	sb = BIO_new_mem_buf(sig->data ? sig->data : "", (int)sig->len);
	if (sb == NULL || (cms = d2i_CMS_bio(sb, NULL)) == NULL) {
		/* also accept PEM */
		BIO_free(sb);
		sb = BIO_new_mem_buf(sig->data ? sig->data : "", (int)sig->len);
		if (sb == NULL || (cms = PEM_read_bio_CMS(sb, NULL, NULL, NULL)) == NULL) {
			ERR_clear_error();
			verify_report(v, container, file, "signature", 0, NULL, NULL,
				      "the .p7s is not a CMS signature (DER or PEM)");
			goto out;
		}
	}
	ERR_clear_error();
	if (!CMS_is_detached(cms)) {
		verify_report(v, container, file, "signature", 0, NULL, NULL,
			      "not a detached signature (it carries its own content)");
		goto out;
	}
	if (CMS_verify(cms, NULL, store, content, NULL, CMS_BINARY) != 1) {
		verify_ssl_reason(reason, sizeof(reason));
		verify_report(v, container, file, "signature", 0, NULL, NULL, reason);
		goto out;
	}
	verify_signer(cms, signer, sizeof(signer));
	verify_signing_time(cms, when, sizeof(when));
	verify_report(v, container, file, "signature", 1, signer, when[0] ? when : NULL, NULL);
out:
	ERR_clear_error();
	CMS_ContentInfo_free(cms);
	BIO_free(sb);
}

/* FILE.p7s on disk against FILE (display is the name shown). */
static void verify_pair(struct verify_run *v, const char *container, const char *display,
			const char *p7s, const char *target)
{
	BIO *content = NULL;
	buf sig;
	char reason[1024];

	buf_init(&sig, VERIFY_SIG_MAX);
	if (fio_read_file(p7s, VERIFY_SIG_MAX, &sig) == -1) {
		snprintf(reason, sizeof(reason), "cannot read the signature %s: %s", p7s,
			 errno == E2BIG ? "too large for a signature" : strerror(errno));
		verify_report(v, container, display, "signature", 0, NULL, NULL, reason);
		goto out;
	}
	if ((content = BIO_new_file(target, "rb")) == NULL) {
		ERR_clear_error();
		snprintf(reason, sizeof(reason), "the signed file %s cannot be opened: %s", target,
			 strerror(errno));
		verify_report(v, container, display, "signature", 0, NULL, NULL, reason);
		goto out;
	}
	verify_one(v, container, display, &sig, content);
out:
	BIO_free(content);
	buf_free(&sig);
}

/* ---- ZIP entries as an OpenSSL source BIO, so content streams out of the package ---- */

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

/* Read a zip entry (a signature) into out, bounded. */
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

/* Every X.p7s in an xdomea package against X. */
static void verify_zip(struct verify_run *v, const char *path)
{
	zip_t *za;
	zip_int64_t n, i, t;
	int zerr, nsig = 0, unsigned_files = 0;
	char reason[1024], target[1024];

	if ((za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr)) == NULL) {
		zip_error_t ze;

		zip_error_init_with_code(&ze, zerr);
		snprintf(reason, sizeof(reason), "not a readable ZIP package: %s",
			 zip_error_strerror(&ze));
		zip_error_fini(&ze);
		verify_report(v, NULL, path, "package", 0, NULL, NULL, reason);
		return;
	}
	if (!v->c->opt->json)
		printf("%s:\n", path);
	n = zip_get_num_entries(za, 0);
	for (i = 0; i < n; i++) {
		const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
		zip_file_t *zf = NULL;
		BIO *content = NULL;
		buf sig;

		if (name == NULL)
			continue;
		if (tool_verify_target(name, target, sizeof(target)) == -1) {
			char with[1100];

			snprintf(with, sizeof(with), "%s.p7s", name);
			if (zip_name_locate(za, with, 0) < 0 && !verify_ends(name, "/"))
				unsigned_files++;
			continue;
		}
		nsig++;
		buf_init(&sig, VERIFY_SIG_MAX);
		if ((t = zip_name_locate(za, target, 0)) < 0) {
			char why[1200];

			snprintf(why, sizeof(why),
				 "a signature without its document: %s is not in the package",
				 target);
			verify_report(v, path, name, "signature", 0, NULL, NULL, why);
		} else if (verify_zip_slurp(za, (zip_uint64_t)i, &sig) == -1) {
			verify_report(v, path, target, "signature", 0, NULL, NULL,
				      "the signature entry cannot be read (damaged or too large)");
		} else if ((zf = zip_fopen_index(za, (zip_uint64_t)t, 0)) == NULL ||
			   (content = verify_zip_bio(zf)) == NULL) {
			verify_report(v, path, target, "signature", 0, NULL, NULL,
				      "the signed file cannot be read from the package");
		} else {
			verify_one(v, path, target, &sig, content);
		}
		BIO_free(content);
		if (zf != NULL)
			zip_fclose(zf);
		buf_free(&sig);
	}
	if (nsig == 0)
		verify_report(v, path, path, "package", 0, NULL, NULL,
			      "no signatures (*.p7s) in the package");
	if (unsigned_files > 0 && !v->c->opt->json)
		printf("note: %d file(s) in the package carry no signature of their own (the "
		       "message XML, renditions)\n",
		       unsigned_files);
	zip_discard(za);
}

/* Check every file digest listed in a record's "files" object. */
static void verify_digests(struct verify_run *v, const char *dir, json_object *files)
{
	json_object_object_foreach(files, name, ent)
	{
		json_object *h = NULL, *sz = NULL;
		char hex[DIGEST_SHA256_HEX], reason[512];
		uint64_t size;
		char *p;

		if (!job_file_name_valid(name)) {
			verify_report(v, dir, name, "digest", 0, NULL, NULL,
				      "unsafe file name in job.json");
			continue;
		}
		json_object_object_get_ex(ent, "sha256", &h);
		json_object_object_get_ex(ent, "size", &sz);
		p = fio_join(dir, name);
		if (digest_sha256_file_hex(p, hex, &size) == -1) {
			snprintf(reason, sizeof(reason), "cannot read: %s", strerror(errno));
			verify_report(v, dir, name, "digest", 0, NULL, NULL, reason);
		} else if (h == NULL || strcmp(hex, json_object_get_string(h)) != 0 || sz == NULL ||
			   (int64_t)size != json_object_get_int64(sz)) {
			verify_report(v, dir, name, "digest", 0, NULL, NULL,
				      "SHA-256 or size differs from job.json (altered or "
				      "truncated)");
		} else {
			verify_report(v, dir, name, "digest", 1, NULL, NULL,
				      "SHA-256 matches job.json");
		}
		free(p);
	}
}

/* Sort helper for directory entries. */
static int verify_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A job directory: the record (job_read), each file digest, each *.p7s. */
static void verify_jobdir(struct verify_run *v, const char *dir)
{
	char id[IDENT_JOB_MAX], err[1024], target[1024];
	const char *base;
	char trimmed[4096];
	size_t l;
	job *j;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, i;

	snprintf(trimmed, sizeof(trimmed), "%s", dir);
	while ((l = strlen(trimmed)) > 1 && trimmed[l - 1] == '/')
		trimmed[l - 1] = '\0';
	base = strrchr(trimmed, '/');
	base = base ? base + 1 : trimmed;
	if (!v->c->opt->json)
		printf("%s:\n", trimmed);
	if (!ident_job_valid(base) || strlen(base) >= sizeof(id)) {
		verify_report(v, trimmed, trimmed, "record", 0, NULL, NULL,
			      "not a job directory (its name is not a job id)");
		return;
	}
	memcpy(id, base, strlen(base) + 1);
	if ((j = job_read(trimmed, id, err, sizeof(err))) != NULL) {
		json_object *files = NULL;

		verify_report(v, trimmed, JOB_RECORD, "record", 1, NULL, NULL,
			      "complete, end marker present, all digests match");
		json_object_object_get_ex(job_meta(j), "files", &files);
		if (files != NULL)
			verify_digests(v, trimmed, files);
		j = job_free(j);
	} else {
		char *p = fio_join(trimmed, JOB_RECORD);
		buf b;
		json_object *raw = NULL, *files = NULL;

		verify_report(v, trimmed, JOB_RECORD, "record", 0, NULL, NULL, err);
		/* say which files differ, from the record as it is */
		buf_init(&b, JOB_MAX_RECORD);
		if (fio_read_file(p, JOB_MAX_RECORD, &b) == 0 &&
		    (raw = json_tokener_parse(b.data ? b.data : "")) != NULL &&
		    json_object_object_get_ex(raw, "files", &files) &&
		    json_object_is_type(files, json_type_object))
			verify_digests(v, trimmed, files);
		json_object_put(raw);
		buf_free(&b);
		free(p);
	}
	if ((d = opendir(trimmed)) == NULL) {
		snprintf(err, sizeof(err), "cannot list: %s", strerror(errno));
		verify_report(v, trimmed, trimmed, "record", 0, NULL, NULL, err);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !verify_ends(de->d_name, ".p7s"))
			continue;
		if (n + 1 >= cap) {
			cap = cap ? cap * 2 : 8;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), verify_cmp);
	for (i = 0; i < n; i++) {
		char *sp = fio_join(trimmed, names[i]), *tp;

		if (tool_verify_target(names[i], target, sizeof(target)) == 0) {
			tp = fio_join(trimmed, target);
			verify_pair(v, trimmed, target, sp, tp);
			free(tp);
		}
		free(sp);
		free(names[i]);
	}
	free(names);
}

/* One command-line argument: a signature, a package or a job directory. */
static void verify_arg(struct verify_run *v, const char *arg)
{
	struct stat st;
	char target[4096], *p7s;

	if (stat(arg, &st) == -1) {
		char reason[512];

		snprintf(reason, sizeof(reason), "%s", strerror(errno));
		verify_report(v, NULL, arg, "argument", 0, NULL, NULL, reason);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		verify_jobdir(v, arg);
	} else if (verify_ends(arg, ".zip")) {
		verify_zip(v, arg);
	} else if (tool_verify_target(arg, target, sizeof(target)) == 0) {
		verify_pair(v, NULL, target, arg, target);
	} else {
		p7s = xasprintf("%s.p7s", arg);
		if (fio_exists(p7s) == 1)
			verify_pair(v, NULL, arg, p7s, arg);
		else
			verify_report(v, NULL, arg, "argument", 0, NULL, NULL,
				      "not a .p7s signature, a .zip package or a job directory "
				      "(and no FILE.p7s next to it)");
		free(p7s);
	}
}

int tool_verify_run(struct tool_ctx *c)
{
	struct verify_run v;
	int i, rc;

	memset(&v, 0, sizeof(v));
	v.c = c;
	v.results = json_object_new_array();
	for (i = 0; i < c->opt->nargs; i++)
		verify_arg(&v, c->opt->args[i]);
	if (c->opt->json) {
		json_object *m = json_object_new_object();

		json_object_object_add(m, "ok", json_object_new_boolean(v.failed == 0));
		json_object_object_add(m, "checks", json_object_new_int(v.checks));
		json_object_object_add(m, "failed", json_object_new_int(v.failed));
		if (v.ca_path[0])
			json_object_object_add(m, "ca", json_object_new_string(v.ca_path));
		json_object_object_add(m, "results", json_object_get(v.results));
		printf("%s\n", json_object_to_json_string_ext(
				   m, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(m);
	} else if (v.failed == 0) {
		printf("all %d checks passed\n", v.checks);
	} else {
		printf("%d of %d checks FAILED\n", v.failed, v.checks);
	}
	rc = v.store_failed ? EX_CONFIG : v.failed ? TOOL_EXIT_FAILED : EX_OK;
	json_object_put(v.results);
	X509_STORE_free(v.store);
	if (verify_zip_method != NULL) {
		BIO_meth_free(verify_zip_method);
		verify_zip_method = NULL;
	}
	return rc;
}
