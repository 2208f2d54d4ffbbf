/*
 * sign.c - mailroom-sign: seal replacing scans (TR-03138 "ersetzendes Scannen").
 *
 * SYNOPSIS
 *	mailroom-sign [-c DIR] [--once]
 *
 *	For every letter whose classification says scan_mode "ersetzend": check the
 *	scan product automatically (page count and page digests against the capture),
 *	write the Transfervermerk (transfervermerk.xml, BSI TR-03138 A.NB.4) and
 *	validate it against sign/transfervermerk.xsd, then seal scan.tiff, any
 *	imported original.* and the Transfervermerk with detached CAdES-B-B
 *	signatures (<file>.p7s). Letters scanned "kopierend" or "nicht_scannen" pass
 *	unsealed with the reason recorded. A failed quality check sends the letter to
 *	review; nothing incomplete is ever sealed.
 *	Without --once the program stays and waits for new letters (inotify and a
 *	timer rescan every daemon.rescan_seconds).
 *
 * OPTIONS
 *	-c DIR	configuration directory (default $MAILROOM_CONF, else the source conf/);
 *		reads mailroom.yaml and signing.yaml
 *	--once	drain spool/sign/incoming and exit
 *	-h	help
 *
 * SPOOL DIRECTORIES
 *	claims	var/spool/sign/incoming -> active
 *	writes	inside active/<id>: transfervermerk.xml, *.p7s, job.json ("signing")
 *	hands	sealed and passed letters to var/spool/export/incoming; failed quality
 *		checks to var/spool/review/incoming; damaged letters to
 *		var/spool/sign/corrupt (QUARANTINE.txt says why)
 *
 * SECURITY
 *	Trusts its configuration and the key files it names. Treats job.json and
 *	scan.tiff as untrusted input: job_read checks every payload digest, libtiff
 *	runs with a memory limit, every record string is checked before it goes into
 *	XML. The seal key (PEM file or PKCS#11 token) is opened only by the key
 *	holder (sign/sign_keyproc.c), a child forked by sign_key_open() before any
 *	letter is read: it drops privileges (key_user when root, no dumps, no
 *	ptrace, seccomp) and answers only fixed-size "sign this digest" requests
 *	over a socketpair. This process never holds the key or the PIN
 *	(tests/integration/sign_keyiso.sh searches both memories). If the holder
 *	dies, the letter is deferred and mailroom-sign exits EX_TEMPFAIL so that its
 *	supervisor starts a new holder from a clean process. The PIN is never
 *	logged. The TSA's answers are untrusted: verified before use (tsa.c).
 *
 * EXIT STATUS
 *	0 (EX_OK) after --once or a clean stop (SIGTERM/SIGINT); EX_USAGE on a bad
 *	option; EX_CONFIG for a wrong configuration, a missing or weak key, a missing
 *	schema; EX_TEMPFAIL if another mailroom-sign holds the lock or the key
 *	holder died (restart); EX_IOERR when the
 *	spool or journal cannot be used.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <libxml/parser.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "buf.h"
#include "conf.h"
#include "digest.h"
#include "fileio.h"
#include "log.h"
#include "settings.h"
#include "sign_cades.h"
#include "sign_key.h"
#include "sign_qs.h"
#include "tsa.h"
#include "sign_tv.h"
#include "stage.h"
#include "timefmt.h"
#include "xalloc.h"
#include "xmlschema.h"

#ifndef MAILROOM_SIGN_XSD
#define MAILROOM_SIGN_XSD "transfervermerk.xsd"
#endif

#define SIGN_PROGRAM "mailroom-sign"
#define SIGN_CONF_FILE "signing.yaml"
#define SIGN_MAX_FILES 8	/* scan.tiff, original.*, ocr.pdf */
#define SIGN_P7S_MAX (1u << 20) /* a detached signature with its chain and token */
#define SIGN_NAME_MAX 1024

/*
 * The keys of conf/signing.yaml: name, default, where it lands (struct sign_conf).
 * Paths are relative to the conf directory.
 */
#define VAR_SIGN_KEY "key"		    /* PEM private key of the seal, or a pkcs11: URI */
#define DEF_SIGN_KEY "${var}/pki/seal.key"  /* -> key_path */
#define VAR_SIGN_PKCS11 "pkcs11_module"	    /* PKCS#11 library for a pkcs11: key; default none */
#define VAR_SIGN_KEY_USER "key_user"	    /* user of the key holder when started as root */
#define DEF_SIGN_KEY_USER "nobody"	    /* -> key_user */
#define VAR_SIGN_CERT "cert"		    /* PEM certificate of the seal */
#define DEF_SIGN_CERT "${var}/pki/seal.pem" /* -> cert_path */
#define VAR_SIGN_CHAIN "chain"		    /* list of PEM intermediates; default none */
#define VAR_SIGN_CA "ca"		    /* trust anchor checked at start; default none */
#define VAR_SIGN_DIGEST "digest"	    /* sha256 | sha384 | sha512 */
#define DEF_SIGN_DIGEST 0		    /* sha256 -> md */
#define VAR_SIGN_PIN_FILE "pin_file"	    /* file with the key passphrase; default none */
#define VAR_SIGN_PIN_ENV "pin_env"	    /* variable with the key passphrase; default none */
#define VAR_SIGN_PROCEDURE "procedure"	    /* {name, version} of the Verfahrensdokumentation */
#define VAR_SIGN_LEVELS "levels"	    /* {normal, hoch, sehr_hoch}: B-B | B-T */
#define DEF_SIGN_LEVEL_NORMAL 0		    /* B-B */
#define DEF_SIGN_LEVEL_HOCH 0		    /* B-B */
#define DEF_SIGN_LEVEL_SEHR_HOCH 1	    /* B-T (TR-03138 A.AM.IN.SH.2: timestamps) */
#define VAR_SIGN_TSA "tsa" /* {url, ca, policy, digest, timeout_seconds, tls_ca, proxy} */
#define DEF_SIGN_TSA_CA "${var}/pki/ca.pem" /* -> tsa_ca_path */
#define VAR_SIGN_SCHEMA "schema"	    /* the Transfervermerk XSD */
#define DEF_SIGN_SCHEMA MAILROOM_SIGN_XSD   /* -> schema_path */

static const char *const sign_digests[] = {"sha256", "sha384", "sha512", NULL};
static const char *const sign_levels[] = {"B-B", "B-T", NULL};
static const char *const sign_protection[] = {"normal", "hoch", "sehr_hoch", NULL};

struct sign_conf {
	conf_node *root;
	char *key_path, *cert_path, *ca_path, *schema_path, *pin_file, *pkcs11_module;
	const char *pin_env, *key_user;
	char **chain;
	size_t n_chain;
	const EVP_MD *md;
	const char *digest_name;
	const char *procedure_name, *procedure_version;
	int level[3]; /* per protection need (sign_protection): index into sign_levels */
	/* tsa: (needed when a level is B-T) */
	const char *tsa_url, *tsa_policy, *tsa_digest, *tsa_proxy;
	char *tsa_ca_path, *tsa_tls_ca_path;
	long tsa_timeout;
};

/* What process() needs. */
struct sign_ctx {
	struct sign_conf *conf;
	sign_key *key;
	tsa_client *tsa; /* NULL when no level is B-T */
	xmlschema *schema;
	char subject[SIGN_NAME_MAX], issuer[SIGN_NAME_MAX], serial[128], algorithm[64];
	int test_pki;
};

/* Print the usage. */
static void sign_usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-c DIR] [--once]\n"
		"  -c DIR   configuration directory (mailroom.yaml, signing.yaml)\n"
		"  --once   seal what is in spool/sign/incoming and exit\n"
		"  -h       this help\n",
		SIGN_PROGRAM);
}

/* A path of signing.yaml, resolved by settings_path (caller frees). */
static int sign_conf_path(const conf_node *root, const char *key, const char *def,
			  const settings *set, char **out, conf_err *e)
{
	const char *v = NULL;

	*out = NULL;
	if (conf_str(root, key, 0, def, &v, e) == -1)
		return -1;
	if (v != NULL && *v == '\0') {
		conf_fail(e, conf_get(root, key), "'%s' must not be empty", key);
		return -1;
	}
	if (v != NULL)
		*out = settings_path(set, v);
	return 0;
}

/* Free what sign_conf_load allocated. */
static void sign_conf_free(struct sign_conf *c)
{
	size_t i;

	free(c->key_path);
	free(c->cert_path);
	free(c->ca_path);
	free(c->schema_path);
	free(c->pin_file);
	free(c->tsa_ca_path);
	free(c->tsa_tls_ca_path);
	free(c->pkcs11_module);
	for (i = 0; i < c->n_chain; i++)
		free(c->chain[i]);
	free(c->chain);
	conf_free(c->root);
	memset(c, 0, sizeof(*c));
}

/* The tsa: block; required when a protection need is sealed B-T. -1 with e set. */
static int sign_conf_tsa(const settings *set, struct sign_conf *c, conf_err *e)
{
	static const char *const keys[] = {"url",    "ca",    "policy", "digest", "timeout_seconds",
					   "tls_ca", "proxy", NULL};
	const conf_node *t = conf_get(c->root, VAR_SIGN_TSA);
	int i, bt = 0;

	for (i = 0; i < 3; i++)
		bt |= c->level[i] == 1;
	if (t == NULL) {
		if (!bt)
			return 0;
		conf_fail(e, c->root,
			  "a protection need is sealed B-T (levels:) but there is no 'tsa:' with "
			  "the url of the time-stamping authority; add it, or seal B-B only");
		return -1;
	}
	if (conf_expect(t, CONF_MAP, VAR_SIGN_TSA, e) == -1 ||
	    conf_check_keys(t, keys, VAR_SIGN_TSA, e) == -1 ||
	    conf_str(t, "url", 1, NULL, &c->tsa_url, e) == -1 ||
	    sign_conf_path(t, "ca", DEF_SIGN_TSA_CA, set, &c->tsa_ca_path, e) == -1 ||
	    conf_str(t, "policy", 0, NULL, &c->tsa_policy, e) == -1 ||
	    conf_str(t, "digest", 0, "sha256", &c->tsa_digest, e) == -1 ||
	    conf_long(t, "timeout_seconds", 0, TSA_DEFAULT_TIMEOUT, 1, 600, &c->tsa_timeout, e) ==
		-1 ||
	    sign_conf_path(t, "tls_ca", NULL, set, &c->tsa_tls_ca_path, e) == -1 ||
	    conf_str(t, "proxy", 0, NULL, &c->tsa_proxy, e) == -1)
		return -1;
	return 0;
}

/* Load conf_dir/signing.yaml. -1 with e set (file:line) on error. */
static int sign_conf_load(const settings *set, struct sign_conf *c, conf_err *e)
{
	static const char *const top[] = {VAR_SIGN_KEY,	     VAR_SIGN_CERT,
					  VAR_SIGN_CHAIN,    VAR_SIGN_CA,
					  VAR_SIGN_DIGEST,   VAR_SIGN_PIN_FILE,
					  VAR_SIGN_PIN_ENV,  VAR_SIGN_PKCS11,
					  VAR_SIGN_KEY_USER, VAR_SIGN_PROCEDURE,
					  VAR_SIGN_LEVELS,   VAR_SIGN_TSA,
					  VAR_SIGN_SCHEMA,   NULL};
	static const char *const proc_keys[] = {"name", "version", NULL};
	const conf_node *proc, *lv;
	const char **chain = NULL, *key = NULL;
	char *file = settings_conf_file(set, SIGN_CONF_FILE);
	int d, i, rc = -1;
	size_t k;

	memset(c, 0, sizeof(*c));
	if ((c->root = conf_load(file, e)) == NULL)
		goto out;
	if (c->root->kind != CONF_MAP) {
		conf_fail(e, c->root, "%s must be a map of settings", SIGN_CONF_FILE);
		goto out;
	}
	if (conf_check_keys(c->root, top, SIGN_CONF_FILE, e) == -1)
		goto out;
	if (conf_str(c->root, VAR_SIGN_KEY, 0, DEF_SIGN_KEY, &key, e) == -1)
		goto out;
	if (key != NULL && strncmp(key, "pkcs11:", 7) == 0)
		c->key_path = xstrdup(key); /* an RFC 7512 URI, not a path */
	else if (sign_conf_path(c->root, VAR_SIGN_KEY, DEF_SIGN_KEY, set, &c->key_path, e) == -1)
		goto out;
	if (sign_conf_path(c->root, VAR_SIGN_CERT, DEF_SIGN_CERT, set, &c->cert_path, e) == -1 ||
	    sign_conf_path(c->root, VAR_SIGN_CA, NULL, set, &c->ca_path, e) == -1 ||
	    sign_conf_path(c->root, VAR_SIGN_PIN_FILE, NULL, set, &c->pin_file, e) == -1 ||
	    sign_conf_path(c->root, VAR_SIGN_PKCS11, NULL, set, &c->pkcs11_module, e) == -1 ||
	    conf_str(c->root, VAR_SIGN_KEY_USER, 0, DEF_SIGN_KEY_USER, &c->key_user, e) == -1)
		goto out;
	if (strncmp(c->key_path, "pkcs11:", 7) == 0 && c->pkcs11_module == NULL) {
		conf_fail(e, conf_get(c->root, VAR_SIGN_KEY),
			  "key: is a pkcs11: URI; set pkcs11_module: to the token's PKCS#11 "
			  "library");
		goto out;
	}
	if (strncmp(c->key_path, "pkcs11:", 7) != 0 && c->pkcs11_module != NULL) {
		conf_fail(e, conf_get(c->root, VAR_SIGN_PKCS11),
			  "pkcs11_module is set but key: is not a pkcs11: URI (remove "
			  "pkcs11_module or give the URI of the token key)");
		goto out;
	}
	if (conf_get(c->root, VAR_SIGN_SCHEMA) != NULL) {
		if (sign_conf_path(c->root, VAR_SIGN_SCHEMA, NULL, set, &c->schema_path, e) == -1)
			goto out;
	} else {
		c->schema_path = xstrdup(DEF_SIGN_SCHEMA);
	}
	if (conf_str(c->root, VAR_SIGN_PIN_ENV, 0, NULL, &c->pin_env, e) == -1)
		goto out;
	if (c->pin_env != NULL && c->pin_file != NULL) {
		conf_fail(e, conf_get(c->root, VAR_SIGN_PIN_ENV),
			  "set either pin_file or pin_env, not both");
		goto out;
	}
	if (conf_strlist(c->root, VAR_SIGN_CHAIN, &chain, &c->n_chain, e) == -1)
		goto out;
	if (c->n_chain > SIGN_KEY_MAX_CHAIN) {
		conf_fail(e, conf_get(c->root, VAR_SIGN_CHAIN), "at most %d chain files",
			  SIGN_KEY_MAX_CHAIN);
		goto out;
	}
	c->chain = xcalloc(c->n_chain + 1, sizeof(*c->chain));
	for (k = 0; k < c->n_chain; k++)
		c->chain[k] = settings_path(set, chain[k]);
	if (conf_enum(c->root, VAR_SIGN_DIGEST, 0, DEF_SIGN_DIGEST, sign_digests, &d, e) == -1)
		goto out;
	c->digest_name = sign_digests[d];
	c->md = d == 0 ? EVP_sha256() : d == 1 ? EVP_sha384() : EVP_sha512();
	if ((proc = conf_get(c->root, VAR_SIGN_PROCEDURE)) == NULL) {
		conf_fail(e, c->root,
			  "'procedure: {name, version}' is missing: the Transfervermerk must "
			  "name the Verfahrensdokumentation in force");
		goto out;
	}
	if (conf_expect(proc, CONF_MAP, VAR_SIGN_PROCEDURE, e) == -1 ||
	    conf_check_keys(proc, proc_keys, VAR_SIGN_PROCEDURE, e) == -1 ||
	    conf_str(proc, "name", 1, NULL, &c->procedure_name, e) == -1 ||
	    conf_str(proc, "version", 1, NULL, &c->procedure_version, e) == -1)
		goto out;
	c->level[0] = DEF_SIGN_LEVEL_NORMAL;
	c->level[1] = DEF_SIGN_LEVEL_HOCH;
	c->level[2] = DEF_SIGN_LEVEL_SEHR_HOCH;
	if ((lv = conf_get(c->root, VAR_SIGN_LEVELS)) != NULL) {
		if (conf_expect(lv, CONF_MAP, VAR_SIGN_LEVELS, e) == -1 ||
		    conf_check_keys(lv, sign_protection, VAR_SIGN_LEVELS, e) == -1)
			goto out;
		for (i = 0; i < 3; i++)
			if (conf_enum(lv, sign_protection[i], 0, c->level[i], sign_levels,
				      &c->level[i], e) == -1)
				goto out;
	}
	if (sign_conf_tsa(set, c, e) == -1)
		goto out;
	rc = 0;
out:
	free(chain);
	free(file);
	if (rc == -1)
		sign_conf_free(c);
	return rc;
}

/* An X509 name as RFC 2253 UTF-8 text into out. */
static void sign_name(const X509_NAME *n, char *out, size_t outlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long len;

	out[0] = '\0';
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (len = BIO_get_mem_data(b, &p)) > 0)
		snprintf(out, outlen, "%.*s", (int)len, p);
	BIO_free(b);
}

/* Describe the certificate once: subject, issuer, serial, algorithm, test PKI. */
static int sign_ctx_describe(struct sign_ctx *sc)
{
	X509 *cert = sign_key_cert(sc->key);
	BIGNUM *bn;
	char *hex;
	int snid;

	sign_name(X509_get_subject_name(cert), sc->subject, sizeof(sc->subject));
	sign_name(X509_get_issuer_name(cert), sc->issuer, sizeof(sc->issuer));
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL) {
		BN_free(bn);
		return -1;
	}
	snprintf(sc->serial, sizeof(sc->serial), "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	if (!OBJ_find_sigid_by_algs(&snid, EVP_MD_get_type(sc->conf->md),
				    EVP_PKEY_get_base_id(X509_get0_pubkey(cert))))
		return -1;
	snprintf(sc->algorithm, sizeof(sc->algorithm), "%s", OBJ_nid2ln(snid));
	/* scripts/pki.sh names its CA so; a real seal never comes from it. */
	sc->test_pki = strstr(sc->issuer, "mailroom TEST Root CA") != NULL ||
		       strstr(sc->subject, "TEST SEAL") != NULL;
	return 0;
}

/* An object at key in o, or NULL. */
static json_object *sign_get(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* "signing": {"skipped": reason} for letters that are not sealed. */
static int sign_pass(job *j, struct stage_result *r, const char *mode)
{
	json_object *s = json_object_new_object();
	const char *why =
	    strcmp(mode, "kopierend") == 0
		? "kopierend: paper original is kept; no replacing scan"
		: "nicht_scannen: the letter is not kept as a scan; no replacing scan";

	json_object_object_add(s, "skipped", json_object_new_string(why));
	json_object_object_add(job_meta(j), "signing", s);
	r->verdict = STAGE_NEXT;
	r->action = "passed";
	snprintf(r->detail, sizeof(r->detail), "not sealed (%s)", mode);
	return 0;
}

/* Seal one file into file.p7s and check it against the record. 0, or -1 with r set. */
static int sign_one(struct sign_ctx *sc, job *j, time_t t, const char *name,
		    const char *expect_sha256, struct stage_result *r)
{
	struct sign_cades_out res;
	char err[512], hex[DIGEST_SHA256_HEX], p7s[256];
	char *path = job_path(j, name), *out;
	int rc = -1;

	snprintf(p7s, sizeof(p7s), "%s.p7s", name);
	out = job_path(j, p7s);
	if (sign_cades_file(sc->key, sc->conf->md, t, path, out, &res, job_id(j), err,
			    sizeof(err)) == -1) {
		stage_set(r, STAGE_DEFER, "sealing %s failed: %s; will retry", name, err);
		goto out;
	}
	digest_hex(res.sha256, sizeof(res.sha256), hex);
	if (expect_sha256 == NULL || strcmp(hex, expect_sha256) != 0) {
		stage_set(r, STAGE_QUARANTINE,
			  "%s changed while it was being sealed (SHA-256 differs from job.json); "
			  "find out who touched the job directory, then 'mailroom requeue %s'",
			  name, job_id(j));
		goto out;
	}
	if (job_add_file(j, p7s) == -1) {
		stage_set(r, STAGE_QUARANTINE, "cannot record %s", p7s);
		goto out;
	}
	log_debug("%s: sealed %s (%llu bytes) -> %s (%zu bytes)", job_id(j), name, res.size, p7s,
		  res.der_len);
	rc = 0;
out:
	free(path);
	free(out);
	return rc;
}

/* The size of a recorded file. */
static unsigned long long sign_file_size(job *j, const char *name)
{
	json_object *ent = sign_get(sign_get(job_meta(j), "files"), name);
	json_object *sz = sign_get(ent, "size");

	return sz != NULL ? (unsigned long long)json_object_get_int64(sz) : 0;
}

/*
 * CAdES-B-T: add a signature-time-stamp to every signature of the letter
 * (signing.signatures), each exactly once. A recorded .p7s is replaced by the
 * protocol of job_expect_file (new content under another name, announced in
 * job.json, renamed over), so a crash at any point leaves a record that matches
 * its files, and a retry asks the TSA only for what is still missing: the seals
 * themselves are never made twice. 0 when all are stamped (signing.timestamps
 * filled), -1 with r set: deferred while the TSA cannot answer, quarantined when
 * its answer is wrong; both with the record written (B-B seals, pending).
 */
static int sign_stamp(struct sign_ctx *sc, job *j, json_object *s, struct stage_result *r)
{
	json_object *ts = json_object_new_object();
	const char *id = job_id(j);
	char err[1024], hex[DIGEST_SHA256_HEX];
	unsigned char md[DIGEST_SHA256_LEN];
	int rc = -1, n = 0;

	json_object_object_foreach(sign_get(s, "signatures"), content, pv)
	{
		const char *p7s = json_object_get_string(pv);
		char *path = job_path(j, p7s), *bt = xasprintf("%s.bt", path);
		unsigned char *out = NULL;
		size_t out_len = 0;
		struct tsa_info info;
		buf b;
		int st;

		(void)content;
		buf_init(&b, SIGN_P7S_MAX);
		if (fio_read_file(path, SIGN_P7S_MAX, &b) == -1) {
			stage_set(r, STAGE_QUARANTINE,
				  "cannot read %s for its time-stamp: %s; the record lists it. "
				  "Find out who changed the job directory",
				  p7s, strerror(errno));
			goto next_fail;
		}
		st = sign_cades_add_timestamp(sc->tsa, (const unsigned char *)b.data, b.len, &out,
					      &out_len, id, err, sizeof(err));
		if (st == SIGN_CADES_BT_LATER) {
			json_object_object_add(s, "pending_reason", json_object_new_string(err));
			stage_set(r, STAGE_DEFER,
				  "time-stamp for %s: %s. The seals are in place (CAdES-B-B); only "
				  "the time-stamps are asked again; will retry",
				  p7s, err);
			goto next_fail;
		}
		if (st == SIGN_CADES_BT_PERMANENT) {
			json_object_object_add(s, "pending_reason", json_object_new_string(err));
			stage_set(
			    r, STAGE_QUARANTINE,
			    "time-stamp for %s: %s. Fix tsa: in conf/signing.yaml (or ask the "
			    "TSA's operator), then 'mailroom requeue %s': the seals are kept, "
			    "only the time-stamps are asked again",
			    p7s, err, id);
			goto next_fail;
		}
		if (st == SIGN_CADES_BT_ADDED) {
			digest_sha256(out, out_len, md);
			digest_hex(md, sizeof(md), hex);
			if (fio_write_atomic(bt, out, out_len, 0600) == -1 ||
			    job_expect_file(j, p7s, hex, out_len) == -1 || job_write(j) == -1 ||
			    fio_rename(bt, path) == -1) {
				stage_set(r, STAGE_DEFER,
					  "cannot store the time-stamped %s: %s; will "
					  "retry",
					  p7s, strerror(errno));
				goto next_fail;
			}
			log_debug("%s: %s time-stamped", id, p7s);
		}
		if (sign_cades_timestamp_info(
			st == SIGN_CADES_BT_ADDED ? out : (const unsigned char *)b.data,
			st == SIGN_CADES_BT_ADDED ? out_len : b.len, &info, err,
			sizeof(err)) == 1) {
			json_object *o = json_object_new_object();
			char when[TIMEFMT_ISO_MAX];

			timefmt_iso(info.gen_time, when);
			json_object_object_add(o, "time", json_object_new_string(when));
			json_object_object_add(o, "serial", json_object_new_string(info.serial));
			json_object_object_add(o, "policy", json_object_new_string(info.policy));
			json_object_object_add(o, "tsa", json_object_new_string(info.tsa_cert));
			json_object_object_add(ts, p7s, o);
		}
		n++;
		free(out);
		buf_free(&b);
		free(path);
		free(bt);
		continue;
	next_fail:
		free(out);
		buf_free(&b);
		free(path);
		free(bt);
		if (job_write(j) == -1)
			log_warn("%s: cannot record the pending time-stamp", id);
		goto out;
	}
	json_object_object_del(s, "timestamps_pending");
	json_object_object_del(s, "pending_reason");
	json_object_object_add(s, "level", json_object_new_string("CAdES-B-T"));
	json_object_object_add(s, "tsa_url", json_object_new_string(tsa_url(sc->tsa)));
	json_object_object_add(s, "timestamps", ts);
	ts = NULL;
	log_info("%s: %d signature(s) time-stamped by %s", id, n, tsa_url(sc->tsa));
	rc = 0;
out:
	json_object_put(ts);
	return rc;
}

/* Seal an "ersetzend" letter: QS, Transfervermerk, CAdES signatures, record. */
static int sign_seal(struct sign_ctx *sc, job *j, struct stage_result *r)
{
	struct sign_tv_file files[SIGN_MAX_FILES];
	struct sign_tv_seal seal;
	struct sign_tv_input tv;
	struct sign_qs qs;
	json_object *meta = job_meta(j), *s, *sigs, *q;
	const char *id = job_id(j), *integ, *level_name;
	char err[1024], when[TIMEFMT_ISO_MAX], tvhex[DIGEST_SHA256_HEX];
	char names[SIGN_MAX_FILES][160], p7s_names[SIGN_MAX_FILES][168];
	unsigned char tvdg[DIGEST_SHA256_LEN];
	X509 *cert = sign_key_cert(sc->key);
	char *tiff = NULL, *tvpath = NULL;
	size_t n = 0, i, sealed = 0;
	int prot, level;
	time_t t;
	buf xml;

	memset(&qs, 0, sizeof(qs));
	buf_init(&xml, SIGN_TV_MAX);
	integ = job_get_str(j, "classification.protection.integrity");
	for (prot = 0; integ != NULL && sign_protection[prot] != NULL; prot++)
		if (strcmp(integ, sign_protection[prot]) == 0)
			break;
	if (integ == NULL || sign_protection[prot] == NULL) {
		stage_set(r, STAGE_QUARANTINE,
			  "classification.protection.integrity is %s%s%s (expected normal, hoch "
			  "or sehr_hoch); the seal level depends on it. Fix the type in "
			  "conf/scankonzept.yaml and classify the letter again",
			  integ ? "'" : "missing", integ ? integ : "", integ ? "'" : "");
		goto out;
	}
	level = sc->conf->level[prot];
	if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0 ||
	    X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0) {
		stage_set(r, STAGE_DEFER,
			  "the seal certificate is not valid now (expired or not yet valid); "
			  "install a valid one (cert: in conf/signing.yaml) and restart "
			  "mailroom-sign");
		goto out;
	}
	/* sealed by an earlier attempt, the time-stamps still missing: only those */
	if ((s = sign_get(meta, "signing")) != NULL && sign_get(s, "timestamps_pending") != NULL) {
		if (sc->tsa == NULL) {
			stage_set(
			    r, STAGE_DEFER,
			    "the letter waits for the time-stamps of its CAdES-B-T seals, but "
			    "conf/signing.yaml has no tsa: any more; configure the TSA");
			goto out;
		}
		if (sign_stamp(sc, j, s, r) == -1)
			goto out;
		r->verdict = STAGE_NEXT;
		r->action = "time-stamped";
		snprintf(r->detail, sizeof(r->detail),
			 "CAdES-B-T: the seals of an earlier attempt time-stamped");
		goto out;
	}
	if (!job_has_file(j, "scan.tiff")) {
		stage_set(r, STAGE_QUARANTINE,
			  "job.json lists no scan.tiff: there is no scan product to seal; "
			  "capture the letter again");
		goto out;
	}
	/* e) quality check first: an incomplete scan product is never sealed. */
	tiff = job_path(j, "scan.tiff");
	sign_qs_run(tiff, sign_get(meta, "capture"), &qs, id);
	if (!qs.passed) {
		s = json_object_new_object();
		json_object_object_add(s, "qs", json_object_new_string("nicht bestanden"));
		json_object_object_add(s, "qs_reason", json_object_new_string(qs.reason));
		json_object_object_add(meta, "signing", s);
		r->action = "qs-failed";
		stage_set(r, STAGE_REVIEW,
			  "quality check failed: %s. Compare the letter with its scan; rescan it "
			  "if pages are missing",
			  qs.reason);
		goto out;
	}
	t = time(NULL);
	timefmt_iso(t, when);
	/* The scan product: sealed files first, each checked against job.json. */
	memset(files, 0, sizeof(files));
	files[n].name = "scan.tiff";
	files[n].role = "Scanprodukt";
	n++;
	json_object_object_foreach(sign_get(meta, "files"), fname, fent)
	{
		(void)fent;
		if (strncmp(fname, "original.", 9) == 0 && strstr(fname, ".p7s") == NULL &&
		    n < SIGN_MAX_FILES - 1) {
			snprintf(names[n], sizeof(names[n]), "%s", fname);
			files[n].name = names[n];
			files[n].role = "digitales Original";
			n++;
		}
	}
	for (i = 0; i < n; i++) {
		files[i].sha256 = job_file_sha256(j, files[i].name);
		files[i].size = sign_file_size(j, files[i].name);
		snprintf(p7s_names[i], sizeof(p7s_names[i]), "%s.p7s", files[i].name);
		files[i].p7s = p7s_names[i];
		if (sign_one(sc, j, t, files[i].name, files[i].sha256, r) == -1)
			goto out;
		sealed++;
	}
	if (job_has_file(j, "ocr.pdf")) { /* bound by digest through the Transfervermerk */
		files[n].name = "ocr.pdf";
		files[n].role = "durchsuchbare Textwiedergabe (OCR)";
		files[n].sha256 = job_file_sha256(j, "ocr.pdf");
		files[n].size = sign_file_size(j, "ocr.pdf");
		n++;
	}
	/* The Transfervermerk, validated, written, sealed. */
	memset(&seal, 0, sizeof(seal));
	seal.level = level == 1 ? "CAdES-B-T" : "CAdES-B-B"; /* the stamp follows the seal */
	seal.subject = sc->subject;
	seal.issuer = sc->issuer;
	seal.serial = sc->serial;
	seal.test_pki = sc->test_pki;
	memset(&tv, 0, sizeof(tv));
	tv.j = j;
	tv.qs = &qs;
	tv.procedure_name = sc->conf->procedure_name;
	tv.procedure_version = sc->conf->procedure_version;
	tv.software = SIGN_PROGRAM;
	tv.software_version = MAILROOM_VERSION;
	tv.software_sha256 = digest_self_exe_hex();
	tv.sealed_at = t;
	tv.files = files;
	tv.n_files = n;
	tv.seal = &seal;
	if (sign_tv_build(&tv, &xml, err, sizeof(err)) == -1) {
		stage_set(r, STAGE_QUARANTINE,
			  "cannot write the Transfervermerk: %s. Fix the record (or the stage "
			  "that wrote it), then 'mailroom requeue %s'",
			  err, id);
		goto out;
	}
	if (sign_tv_validate(sc->schema, xml.data, xml.len, err, sizeof(err)) == -1) {
		stage_set(r, STAGE_QUARANTINE,
			  "%s. The record holds a value the schema does not allow; fix it, then "
			  "'mailroom requeue %s'",
			  err, id);
		goto out;
	}
	tvpath = job_path(j, SIGN_TV_FILE);
	if (fio_write_atomic(tvpath, xml.data, xml.len, 0600) == -1) {
		stage_set(r, STAGE_DEFER, "cannot write %s: %s; will retry", SIGN_TV_FILE,
			  strerror(errno));
		goto out;
	}
	job_add_file(j, SIGN_TV_FILE);
	digest_sha256(xml.data, xml.len, tvdg);
	digest_hex(tvdg, sizeof(tvdg), tvhex);
	if (sign_one(sc, j, t, SIGN_TV_FILE, tvhex, r) == -1)
		goto out;
	sealed++;
	/* The record. */
	level_name = sign_levels[level];
	s = json_object_new_object();
	json_object_object_add(s, "level", json_object_new_string("CAdES-B-B"));
	if (level == 1) {
		json_object_object_add(s, "required_level", json_object_new_string("CAdES-B-T"));
		json_object_object_add(s, "timestamps_pending", json_object_new_boolean(1));
	}
	json_object_object_add(s, "certificate", json_object_new_string(sc->subject));
	json_object_object_add(s, "issuer", json_object_new_string(sc->issuer));
	json_object_object_add(s, "serial", json_object_new_string(sc->serial));
	json_object_object_add(s, "algorithm", json_object_new_string(sc->algorithm));
	json_object_object_add(s, "digest", json_object_new_string(sc->conf->digest_name));
	json_object_object_add(s, "key", json_object_new_string(sign_key_describe(sc->key)));
	json_object_object_add(s, "signed_at", json_object_new_string(when));
	json_object_object_add(s, "transfervermerk", json_object_new_string(SIGN_TV_FILE));
	sigs = json_object_new_object();
	for (i = 0; i < n; i++)
		if (files[i].p7s != NULL)
			json_object_object_add(sigs, files[i].name,
					       json_object_new_string(files[i].p7s));
	json_object_object_add(sigs, SIGN_TV_FILE, json_object_new_string(SIGN_TV_FILE ".p7s"));
	json_object_object_add(s, "signatures", sigs);
	q = json_object_new_object();
	json_object_object_add(q, "result", json_object_new_string("bestanden"));
	json_object_object_add(q, "pages", json_object_new_int64(qs.found_pages));
	json_object_object_add(q, "colour", json_object_new_boolean(qs.colour));
	json_object_object_add(s, "qs", q);
	json_object_object_add(s, "test_pki", json_object_new_boolean(sc->test_pki));
	json_object_object_add(meta, "signing", s);
	if (level == 1 && sign_stamp(sc, j, s, r) == -1)
		goto out;
	r->verdict = STAGE_NEXT;
	r->action = "sealed";
	snprintf(r->detail, sizeof(r->detail), "CAdES-%s over %zu file(s)%s, %ld page(s)%s",
		 level_name, sealed, sc->test_pki ? " with the TEST seal" : "", qs.found_pages,
		 qs.colour ? "" : ", content match only (not colour)");
out:
	sign_qs_free(&qs);
	buf_free(&xml);
	free(tiff);
	free(tvpath);
	return 0;
}

/* The stage callback: seal, pass or quarantine one claimed letter. */
static int sign_process(void *ctx, struct stage_env *env, job *j, struct stage_result *r)
{
	struct sign_ctx *sc = ctx;
	json_object *cls = sign_get(job_meta(j), "classification");
	const char *mode = job_get_str(j, "classification.scan_mode");

	(void)env;
	if (!sign_key_alive(sc->key)) {
		/* A new holder must come from a fresh start, never from this process,
		 * which has read documents since: stop, the supervisor restarts us. */
		stage_request_stop(EX_TEMPFAIL);
		return stage_set(r, STAGE_DEFER,
				 "the key holder of mailroom-sign has ended; mailroom-sign stops "
				 "and must be restarted (systemd does) to open the seal key again");
	}
	r->doc_type = job_get_str(j, "classification.type");
	r->scan_mode = mode;
	r->office = job_get_str(j, "classification.office");
	if (cls == NULL || !json_object_is_type(cls, json_type_object) || mode == NULL)
		return stage_set(r, STAGE_QUARANTINE,
				 "the letter has no classification (classification.scan_mode "
				 "missing): it skipped the classify stage. Classify it, then "
				 "'mailroom requeue %s'",
				 job_id(j));
	if (strcmp(mode, "ersetzend") == 0)
		return sign_seal(sc, j, r);
	if (strcmp(mode, "kopierend") == 0 || strcmp(mode, "nicht_scannen") == 0)
		return sign_pass(j, r, mode);
	return stage_set(r, STAGE_QUARANTINE,
			 "unknown classification.scan_mode '%.64s' (expected ersetzend, kopierend "
			 "or nicht_scannen); fix conf/scankonzept.yaml and classify again",
			 mode);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"once", no_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct sign_key_conf kc;
	struct sign_conf conf;
	struct sign_ctx sc;
	struct stage_env env;
	struct stage_ops ops;
	settings set;
	conf_err ce;
	const char *conf_dir = NULL;
	char err[1024];
	int ch, once = 0, rc = EX_CONFIG, env_open = 0;

	log_init(SIGN_PROGRAM);
	memset(&set, 0, sizeof(set));
	memset(&conf, 0, sizeof(conf));
	memset(&sc, 0, sizeof(sc));
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_dir = optarg;
			break;
		case 'o':
			once = 1;
			break;
		case 'h':
			sign_usage(stdout);
			return EX_OK;
		default:
			sign_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		sign_usage(stderr);
		return EX_USAGE;
	}
	xmlInitParser();
	if (settings_load(conf_dir, &set, &ce) == -1) {
		log_errorx("configuration: %s", ce.msg);
		goto out;
	}
	if (sign_conf_load(&set, &conf, &ce) == -1) {
		log_errorx("configuration: %s", ce.msg);
		goto out;
	}
	sc.conf = &conf;
	if ((sc.schema = xmlschema_load(conf.schema_path, err, sizeof(err))) == NULL) {
		log_errorx("%s (set schema: in conf/signing.yaml to the shipped "
			   "sign/transfervermerk.xsd)",
			   err);
		goto out;
	}
	memset(&kc, 0, sizeof(kc));
	kc.key_path = conf.key_path;
	kc.cert_path = conf.cert_path;
	kc.chain_paths = (const char **)conf.chain;
	kc.n_chain = conf.n_chain;
	kc.ca_path = conf.ca_path;
	kc.pin_file = conf.pin_file;
	kc.pin_env = conf.pin_env;
	kc.pkcs11_module = conf.pkcs11_module;
	kc.key_user = conf.key_user;
	if ((sc.key = sign_key_open(&kc, err, sizeof(err))) == NULL) {
		log_errorx("%s", err);
		goto out;
	}
	if (sign_ctx_describe(&sc) == -1) {
		sign_key_log_errors("certificate");
		log_errorx("cannot use the seal certificate %s with digest %s", conf.cert_path,
			   conf.digest_name);
		goto out;
	}
	if (conf.tsa_url != NULL) {
		struct tsa_conf tc;

		memset(&tc, 0, sizeof(tc));
		tc.url = conf.tsa_url;
		tc.ca_path = conf.tsa_ca_path;
		tc.policy = conf.tsa_policy;
		tc.digest = conf.tsa_digest;
		tc.timeout_seconds = conf.tsa_timeout;
		tc.tls_ca_path = conf.tsa_tls_ca_path;
		tc.proxy = conf.tsa_proxy;
		if ((sc.tsa = tsa_open(&tc, err, sizeof(err))) == NULL) {
			log_errorx("configuration: %s", err);
			goto out;
		}
	}
	log_info("seal: %s, %s; levels normal %s, hoch %s, sehr_hoch %s%s%s; certificate %s "
		 "(issuer %s)",
		 sign_key_describe(sc.key), sc.algorithm, sign_levels[conf.level[0]],
		 sign_levels[conf.level[1]], sign_levels[conf.level[2]], sc.tsa ? "; TSA " : "",
		 sc.tsa ? tsa_url(sc.tsa) : "", sc.subject, sc.issuer);
	if (sc.test_pki)
		log_warnx("the seal comes from the TEST PKI (scripts/pki.sh): it is not "
			  "qualified and has no legal value");
	if (stage_env_open(&env, set.conf_dir, "sign", "export") == -1) {
		rc = EX_IOERR;
		goto out;
	}
	env_open = 1;
	memset(&ops, 0, sizeof(ops));
	ops.name = "sign";
	ops.next = "export";
	ops.process = sign_process;
	ops.ctx = &sc;
	rc = stage_run(&ops, &env, once);
out:
	if (env_open)
		stage_env_close(&env);
	sc.key = sign_key_close(sc.key);
	sc.tsa = tsa_close(sc.tsa);
	sc.schema = xmlschema_free(sc.schema);
	sign_conf_free(&conf);
	settings_free(&set);
	xmlCleanupParser();
	return rc;
}
