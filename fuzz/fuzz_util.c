/*
 * fuzz_util.c - scratch directory, quiet logging and a throwaway CA for the
 * fuzz targets (see fuzz_util.h).
 */
#include "fuzz_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fileio.h"
#include "log.h"

#ifndef FUZZ_SOURCE_DIR
#define FUZZ_SOURCE_DIR "."
#endif
#ifndef FUZZ_SHARED_DIR
#define FUZZ_SHARED_DIR "../shared"
#endif

static char fuzz_tmp[256];
static char fuzz_path[512];
static char fuzz_ca[512];

void fuzz_quiet(void)
{
	log_init("fuzz");
	log_set_level(LOG_LVL_ERROR);
}

/* atexit: remove the scratch directory. */
static void fuzz_cleanup(void)
{
	if (fuzz_tmp[0] != '\0')
		fio_rmtree(fuzz_tmp);
}

const char *fuzz_dir(void)
{
	const char *base;

	if (fuzz_tmp[0] != '\0')
		return fuzz_tmp;
	if ((base = getenv("TMPDIR")) == NULL || *base == '\0')
		base = "/tmp";
	snprintf(fuzz_tmp, sizeof(fuzz_tmp), "%s/mailroom-fuzz.XXXXXX", base);
	if (mkdtemp(fuzz_tmp) == NULL) {
		perror("mkdtemp");
		abort();
	}
	atexit(fuzz_cleanup);
	return fuzz_tmp;
}

const char *fuzz_write(const char *name, const uint8_t *data, size_t size)
{
	FILE *f;

	snprintf(fuzz_path, sizeof(fuzz_path), "%s/%s", fuzz_dir(), name);
	if ((f = fopen(fuzz_path, "wb")) == NULL ||
	    (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		perror(fuzz_path);
		abort();
	}
	return fuzz_path;
}

const char *fuzz_ca_pem(void)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	X509_NAME *n;
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	FILE *f;

	if (fuzz_ca[0] != '\0')
		return fuzz_ca;
	snprintf(fuzz_ca, sizeof(fuzz_ca), "%s/ca.pem", fuzz_dir());
	if ((k = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL ||
	    !X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365) || !X509_set_pubkey(x, k))
		abort();
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"fuzz CA", -1,
				   -1, 0);
	X509_set_issuer_name(x, n);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE")) ==
	    NULL)
		abort();
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (!X509_sign(x, k, EVP_sha256()) || (f = fopen(fuzz_ca, "w")) == NULL ||
	    !PEM_write_X509(f, x) || fclose(f) != 0)
		abort();
	X509_free(x);
	EVP_PKEY_free(k);
	return fuzz_ca;
}

/* dir/rel into fuzz_path-sized static storage. */
static const char *fuzz_join(char *out, size_t outlen, const char *env, const char *def,
			     const char *rel)
{
	const char *d = getenv(env);

	snprintf(out, outlen, "%s/%s", d != NULL && *d != '\0' ? d : def, rel);
	return out;
}

const char *fuzz_source_file(const char *rel)
{
	static char p[1024];

	return fuzz_join(p, sizeof(p), "MAILROOM_SOURCE", FUZZ_SOURCE_DIR, rel);
}

const char *fuzz_shared_file(const char *rel)
{
	static char p[1024];

	return fuzz_join(p, sizeof(p), "MAILROOM_SHARED", FUZZ_SHARED_DIR, rel);
}
