/*
 * verify_mkfix.c - test helper for tests/integration/verify_cli.sh: makes the
 * CAdES-B-T signatures and the damaged variants that `mailroom verify` must
 * judge, with OpenSSL (fixtures in verify_fix.c). Not a test by itself.
 *
 * SYNOPSIS
 *	verify_mkfix stamp IN.p7s OUT.p7s --tsa-cert PEM --tsa-key PEM [--chain PEM]
 *	             [--imprint-of TEXT] [--raw] [--at EPOCH]
 *		add a signature-time-stamp (OpenSSL's TS responder; --raw: a TSTInfo
 *		signed with CMS_sign, for certificates the responder refuses;
 *		--imprint-of: a token over other bytes)
 *	verify_mkfix token IN.p7s OUT.der
 *		write the first token; print the SHA-256 (hex) of the signature value
 *	verify_mkfix tamper-time IN.p7s OUT.p7s
 *		move the signed signing-time by one second (signature unchanged)
 *	verify_mkfix rehash JOBDIR
 *		recompute job.json's "files" digests from the files as they are now
 *		(entries of missing files are dropped): a record rewritten by whoever
 *		changed the files
 *
 * EXIT STATUS
 *	0 done; EX_USAGE bad arguments; EX_DATAERR unusable input; EX_IOERR writing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "digest.h"
#include "fileio.h"
#include "job.h"
#include "verify_fix.h"

/* Print the usage and return EX_USAGE. */
static int mk_usage(void)
{
	fprintf(stderr, "usage: verify_mkfix stamp IN.p7s OUT.p7s --tsa-cert PEM --tsa-key PEM "
			"[--chain PEM] [--imprint-of TEXT] [--raw] [--at EPOCH]\n"
			"       verify_mkfix token IN.p7s OUT.der\n"
			"       verify_mkfix tamper-time IN.p7s OUT.p7s\n"
			"       verify_mkfix rehash JOBDIR\n");
	return EX_USAGE;
}

/* The first certificate of a PEM file, or NULL. */
static X509 *mk_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f != NULL)
		fclose(f);
	return x;
}

/* stamp IN OUT options... */
static int mk_stamp(int argc, char **argv)
{
	struct vfix_tsa t;
	CMS_ContentInfo *cms;
	char err[256];
	FILE *f;
	int i, rc = EX_DATAERR;

	memset(&t, 0, sizeof(t));
	if (argc < 4)
		return mk_usage();
	t.chain = sk_X509_new_null();
	for (i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--tsa-cert") == 0 && i + 1 < argc) {
			t.cert = mk_cert(argv[++i]);
		} else if (strcmp(argv[i], "--tsa-key") == 0 && i + 1 < argc) {
			if ((f = fopen(argv[++i], "r")) != NULL) {
				t.key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
				fclose(f);
			}
		} else if (strcmp(argv[i], "--chain") == 0 && i + 1 < argc) {
			X509 *x = mk_cert(argv[++i]);

			if (x != NULL)
				sk_X509_push(t.chain, x);
		} else if (strcmp(argv[i], "--imprint-of") == 0 && i + 1 < argc) {
			t.imprint_of = argv[++i];
		} else if (strcmp(argv[i], "--raw") == 0) {
			t.raw = 1;
		} else if (strcmp(argv[i], "--at") == 0 && i + 1 < argc) {
			t.at = (time_t)strtoll(argv[++i], NULL, 10);
		} else {
			return mk_usage();
		}
	}
	if (t.cert == NULL || t.key == NULL) {
		fprintf(stderr, "verify_mkfix: --tsa-cert and --tsa-key must name PEM files\n");
		goto out;
	}
	if ((cms = vfix_read(argv[2])) == NULL) {
		fprintf(stderr, "verify_mkfix: %s is not a DER CMS signature\n", argv[2]);
		goto out;
	}
	if (vfix_stamp(cms, &t, err, sizeof(err)) == -1)
		fprintf(stderr, "verify_mkfix: %s\n", err);
	else if (vfix_write(cms, argv[3]) == -1)
		rc = EX_IOERR;
	else
		rc = 0;
	CMS_ContentInfo_free(cms);
out:
	X509_free(t.cert);
	EVP_PKEY_free(t.key);
	sk_X509_pop_free(t.chain, X509_free);
	return rc;
}

/* token IN OUT */
static int mk_token(int argc, char **argv)
{
	CMS_ContentInfo *cms;
	unsigned char *der = NULL, dg[32];
	char hex[65];
	int len = 0, rc = EX_DATAERR;
	FILE *f;

	if (argc != 4)
		return mk_usage();
	if ((cms = vfix_read(argv[2])) == NULL || vfix_token(cms, &der, &len, dg) == -1) {
		fprintf(stderr, "verify_mkfix: %s has no signature-time-stamp\n", argv[2]);
		goto out;
	}
	if ((f = fopen(argv[3], "wb")) == NULL || fwrite(der, 1, (size_t)len, f) != (size_t)len ||
	    fclose(f) != 0) {
		rc = EX_IOERR;
		goto out;
	}
	digest_hex(dg, sizeof(dg), hex);
	printf("%s\n", hex);
	rc = 0;
out:
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	return rc;
}

/* tamper-time IN OUT */
static int mk_tamper(int argc, char **argv)
{
	CMS_ContentInfo *cms;
	int rc = EX_DATAERR;

	if (argc != 4)
		return mk_usage();
	if ((cms = vfix_read(argv[2])) != NULL && vfix_tamper_signing_time(cms) == 0)
		rc = vfix_write(cms, argv[3]) == 0 ? 0 : EX_IOERR;
	CMS_ContentInfo_free(cms);
	return rc;
}

/* rehash JOBDIR */
static int mk_rehash(int argc, char **argv)
{
	json_object *root, *files, *fresh, *end;
	char *path;
	const char *text;
	int rc = EX_DATAERR;

	if (argc != 3)
		return mk_usage();
	path = fio_join(argv[2], JOB_RECORD);
	if ((root = json_object_from_file(path)) == NULL ||
	    !json_object_object_get_ex(root, "files", &files)) {
		fprintf(stderr, "verify_mkfix: %s is not a job record\n", path);
		goto out;
	}
	fresh = json_object_new_object();
	json_object_object_foreach(files, name, ent)
	{
		char hex[DIGEST_SHA256_HEX], *fp = fio_join(argv[2], name);
		uint64_t size;

		(void)ent;
		if (digest_sha256_file_hex(fp, hex, &size) == 0) {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "sha256", json_object_new_string(hex));
			json_object_object_add(e, "size", json_object_new_int64((int64_t)size));
			json_object_object_add(fresh, name, e);
		}
		free(fp);
	}
	json_object_object_del(root, "files");
	json_object_object_del(root, "end");
	json_object_object_add(root, "files", fresh);
	end = json_object_new_string(JOB_FORMAT);
	json_object_object_add(root, "end", end);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							JSON_C_TO_STRING_NOSLASHESCAPE);
	rc = fio_write_atomic(path, text, strlen(text), 0600) == 0 ? 0 : EX_IOERR;
out:
	json_object_put(root);
	free(path);
	return rc;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 2)
		return mk_usage();
	if (strcmp(argv[1], "stamp") == 0)
		rc = mk_stamp(argc, argv);
	else if (strcmp(argv[1], "token") == 0)
		rc = mk_token(argc, argv);
	else if (strcmp(argv[1], "tamper-time") == 0)
		rc = mk_tamper(argc, argv);
	else if (strcmp(argv[1], "rehash") == 0)
		rc = mk_rehash(argc, argv);
	else
		rc = mk_usage();
	ERR_print_errors_fp(stderr);
	return rc;
}
