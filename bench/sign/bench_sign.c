/*
 * bench_sign.c - mailroom-bench-sign: how fast mailroom seals documents.
 *
 * SYNOPSIS
 *	mailroom-bench-sign --key KEY --cert CERT [--digest sha256] [--durable]
 *		--out DIR FILE...
 *
 *	Opens the seal key once through sign_key_open (the path of mailroom-sign:
 *	the key-holder process where there is one) and seals every FILE with
 *	sign_cades_file, the function the sign stage calls: the content streamed once
 *	through SHA-2, the signed attributes, the "sign this digest" request, the
 *	DER SignedData written as DIR/<name>.p7s. Without --durable the .p7s is
 *	written like `openssl cms -sign -out` writes it (no fsync), which is what the
 *	peer loop does (sign_cades_bio into a file BIO); with --durable every .p7s
 *	is fsynced and renamed into place as the stage does (sign_cades_file), to
 *	show what durability costs.
 *	Prints one line "files=N bytes=B wall=S per_file_ms=M" to stdout.
 *
 * SECURITY
 *	A benchmark on a test key; writes only below DIR.
 *
 * EXIT STATUS
 *	0, EX_USAGE, EX_CONFIG (key), EX_IOERR (a file could not be sealed).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>

#include "fileio.h"
#include "log.h"
#include "sign_cades.h"
#include "sign_key.h"
#include "xalloc.h"

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seal one file: sign_cades_file (fsync + rename) when durable, else
 * sign_cades_bio into a plain file BIO, as `openssl cms -sign -out` writes. */
static int bench_seal(sign_key *k, const EVP_MD *md, const char *in, const char *p7s, int durable,
		      struct sign_cades_out *res, const char *tag, char *err, size_t errlen)
{
	BIO *ib, *ob;
	int rc;

	if (durable)
		return sign_cades_file(k, md, time(NULL), in, p7s, res, tag, err, errlen);
	if ((ib = BIO_new_file(in, "rb")) == NULL) {
		snprintf(err, errlen, "cannot read %s", in);
		return -1;
	}
	if ((ob = BIO_new_file(p7s, "wb")) == NULL) {
		BIO_free(ib);
		snprintf(err, errlen, "cannot write %s", p7s);
		return -1;
	}
	rc = sign_cades_bio(k, md, time(NULL), ib, ob, res, tag, err, errlen);
	if (BIO_flush(ob) != 1 && rc == 0) {
		snprintf(err, errlen, "cannot write %s", p7s);
		rc = -1;
	}
	BIO_free(ib);
	BIO_free(ob);
	return rc;
}

static void bench_usage(FILE *f)
{
	fprintf(f, "usage: mailroom-bench-sign --key KEY --cert CERT [--digest sha256|sha384|"
		   "sha512] [--durable] --out DIR FILE...\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"key", required_argument, NULL, 'k'},
						 {"cert", required_argument, NULL, 'c'},
						 {"digest", required_argument, NULL, 'd'},
						 {"durable", no_argument, NULL, 'D'},
						 {"out", required_argument, NULL, 'o'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	struct sign_key_conf kc;
	struct sign_cades_out res;
	const char *out = NULL, *dname = "sha256";
	const EVP_MD *md;
	unsigned long long bytes = 0;
	int ch, i, durable = 0;
	char err[1024];
	sign_key *k;
	double t0, wall;

	log_init("mailroom-bench-sign");
	memset(&kc, 0, sizeof(kc));
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			kc.key_path = optarg;
			break;
		case 'c':
			kc.cert_path = optarg;
			break;
		case 'd':
			dname = optarg;
			break;
		case 'D':
			durable = 1;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			bench_usage(stdout);
			return EX_OK;
		default:
			bench_usage(stderr);
			return EX_USAGE;
		}
	}
	if (kc.key_path == NULL || kc.cert_path == NULL || out == NULL || optind >= argc ||
	    (md = EVP_get_digestbyname(dname)) == NULL) {
		bench_usage(stderr);
		return EX_USAGE;
	}
	if ((k = sign_key_open(&kc, err, sizeof(err))) == NULL) {
		log_errorx("%s", err);
		return EX_CONFIG;
	}
	t0 = bench_now();
	for (i = optind; i < argc; i++) {
		const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
		char *p7s = xasprintf("%s/%s.p7s", out, base);

		if (bench_seal(k, md, argv[i], p7s, durable, &res, base, err, sizeof(err)) == -1) {
			log_errorx("%s: %s", argv[i], err);
			free(p7s);
			sign_key_close(k);
			return EX_IOERR;
		}
		bytes += res.size;
		free(p7s);
	}
	wall = bench_now() - t0;
	printf("files=%d bytes=%llu wall=%.4f per_file_ms=%.3f key=\"%s\" durable=%d\n",
	       argc - optind, bytes, wall, 1000.0 * wall / (double)(argc - optind),
	       sign_key_describe(k), durable);
	sign_key_close(k);
	return EX_OK;
}
