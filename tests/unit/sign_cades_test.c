/*
 * sign_cades_test.c - the CMS / CAdES-B-B builder and the key module.
 *
 * Makes a CA and seal certificates in the test, signs a temporary file (larger
 * than one read block, so the content really streams), and checks with the
 * OpenSSL API: the signature verifies against the CA, it is detached, it carries
 * exactly the four signed attributes (content-type, message-digest, signing-time,
 * ESS signing-certificate-v2 matching the certificate), a changed byte breaks it;
 * sha384 and RSA-3072 work; weak keys, wrong pairs, missing files, wrong PINs
 * are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "digest.h"
#include "fileio.h"
#include "log.h"
#include "sign_cades.h"
#include "sign_key.h"

static char tdir[] = "/tmp/sign_cades_test.XXXXXX";

/* A path in the test directory (static buffer rotation). */
static const char *tpath(const char *name)
{
	static char bufs[8][512];
	static int k;

	k = (k + 1) % 8;
	snprintf(bufs[k], sizeof(bufs[k]), "%s/%s", tdir, name);
	return bufs[k];
}

/* Add one extension from its config text. */
static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (e == NULL) {
		fprintf(stderr, "extension %d failed\n", nid);
		exit(2);
	}
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

/* A certificate for key, signed by ikey (self-signed when issuer is NULL). */
static X509 *mk_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, int ca,
		     long serial)
{
	X509 *x = X509_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30);
	X509_set_pubkey(x, key);
	if (ca) {
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, issuer, NID_key_usage, "critical,digitalSignature,nonRepudiation");
	}
	if (!X509_sign(x, ikey ? ikey : key, EVP_sha256())) {
		fprintf(stderr, "X509_sign failed\n");
		exit(2);
	}
	return x;
}

/* Write a PEM key (encrypted with pin if not NULL) and a PEM certificate. */
static void write_pair(const char *keyfile, EVP_PKEY *key, const char *pin, const char *certfile,
		       X509 *cert)
{
	FILE *f = fopen(keyfile, "w");

	PEM_write_PrivateKey(f, key, pin ? EVP_aes_256_cbc() : NULL, (const unsigned char *)pin,
			     pin ? (int)strlen(pin) : 0, NULL, NULL);
	fclose(f);
	if (certfile != NULL) {
		f = fopen(certfile, "w");
		PEM_write_X509(f, cert);
		fclose(f);
	}
}

/* Open a key with the given files; NULL on error, message in err. */
static sign_key *open_key(const char *key, const char *cert, const char *ca, const char *pin_env,
			  char *err, size_t errlen)
{
	struct sign_key_conf c;

	memset(&c, 0, sizeof(c));
	c.key_path = key;
	c.cert_path = cert;
	c.ca_path = ca;
	c.pin_env = pin_env;
	err[0] = '\0';
	return sign_key_open(&c, err, errlen);
}

/* Verify p7s over content against the CA; 1 if it verifies. */
static int verify_file(const char *content, const char *p7s, X509 *ca, CMS_ContentInfo **out)
{
	BIO *in = BIO_new_file(p7s, "rb"), *data = BIO_new_file(content, "rb");
	X509_STORE *st = X509_STORE_new();
	CMS_ContentInfo *cms = d2i_CMS_bio(in, NULL);
	int ok;

	X509_STORE_add_cert(st, ca);
	ok = cms != NULL && CMS_verify(cms, NULL, st, data, NULL, CMS_BINARY) == 1;
	ERR_clear_error();
	if (out != NULL && cms != NULL)
		*out = cms;
	else
		CMS_ContentInfo_free(cms);
	X509_STORE_free(st);
	BIO_free(in);
	BIO_free(data);
	return ok;
}

/* Check the signed attributes of the first signer. */
static void check_attrs(CMS_ContentInfo *cms, X509 *cert, time_t t, const char *content)
{
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	const ASN1_TIME *st;
	const ASN1_OCTET_STRING *md;
	ASN1_STRING *ess;
	ESS_SIGNING_CERT_V2 *sc2;
	STACK_OF(X509) *chain = sk_X509_new_null();
	const unsigned char *p;
	unsigned char dg[DIGEST_SHA256_LEN];
	struct tm tm;

	CHECK(si != NULL);
	CHECK(CMS_is_detached(cms) == 1);
	CHECK(CMS_signed_get_attr_count(si) == 4);
	CHECK(CMS_signed_get_attr_by_NID(si, NID_pkcs9_contentType, -1) >= 0);
	CHECK(CMS_signed_get_attr_by_NID(si, NID_pkcs9_messageDigest, -1) >= 0);
	CHECK(CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1) >= 0);
	CHECK(CMS_signed_get_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, -1) >= 0);
	/* signing-time is the time we asked for */
	st =
	    CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_signingTime), -3, V_ASN1_UTCTIME);
	CHECK(st != NULL && ASN1_TIME_to_tm(st, &tm) == 1 && timegm(&tm) == t);
	/* message-digest is the SHA-256 of the content */
	md = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_messageDigest), -3,
					 V_ASN1_OCTET_STRING);
	CHECK(digest_sha256_file(content, dg, NULL) == 0);
	CHECK(md != NULL && ASN1_STRING_length(md) == DIGEST_SHA256_LEN &&
	      memcmp(ASN1_STRING_get0_data(md), dg, DIGEST_SHA256_LEN) == 0);
	/* ESS signing-certificate-v2 names our certificate (hash + issuerSerial) */
	ess = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_id_smime_aa_signingCertificateV2), -3,
					  V_ASN1_SEQUENCE);
	CHECK(ess != NULL);
	if (ess != NULL) {
		p = ASN1_STRING_get0_data(ess);
		sc2 = d2i_ESS_SIGNING_CERT_V2(NULL, &p, ASN1_STRING_length(ess));
		CHECK(sc2 != NULL);
		sk_X509_push(chain, cert);
		CHECK(sc2 != NULL && OSSL_ESS_check_signing_certs(NULL, sc2, chain, 1) == 1);
		ESS_SIGNING_CERT_V2_free(sc2);
	}
	sk_X509_free(chain);
	ERR_clear_error();
}

int main(void)
{
	EVP_PKEY *cakey, *eckey, *rsakey, *weak, *other;
	X509 *ca, *eccert, *rsacert, *weakcert;
	struct sign_cades_out res;
	CMS_ContentInfo *cms = NULL;
	sign_key *k;
	char err[1024], hex[DIGEST_SHA256_HEX], hex2[DIGEST_SHA256_HEX];
	const time_t t = 1795000000; /* 2026-11-18 */
	unsigned char *blob;
	size_t i, n = 300000;
	FILE *f;

	log_init("sign_cades_test");
	if (mkdtemp(tdir) == NULL)
		return 2;
	cakey = EVP_EC_gen("P-256");
	eckey = EVP_EC_gen("P-256");
	other = EVP_EC_gen("P-256");
	rsakey = EVP_RSA_gen(3072);
	weak = EVP_RSA_gen(2048);
	ca = mk_cert("test CA", cakey, NULL, NULL, 1, 1);
	eccert = mk_cert("Stadt Musterstadt (TEST SEAL - not qualified)", eckey, ca, cakey, 0, 2);
	rsacert = mk_cert("RSA seal", rsakey, ca, cakey, 0, 3);
	weakcert = mk_cert("weak seal", weak, ca, cakey, 0, 4);
	write_pair(tpath("ca.key"), cakey, NULL, tpath("ca.pem"), ca);
	write_pair(tpath("ec.key"), eckey, NULL, tpath("ec.pem"), eccert);
	write_pair(tpath("rsa.key"), rsakey, NULL, tpath("rsa.pem"), rsacert);
	write_pair(tpath("weak.key"), weak, NULL, tpath("weak.pem"), weakcert);
	write_pair(tpath("other.key"), other, NULL, NULL, NULL);
	write_pair(tpath("enc.key"), eckey, "s3cret-PIN", NULL, NULL);

	/* the content: larger than one 64 KiB read block */
	blob = malloc(n);
	for (i = 0; i < n; i++)
		blob[i] = (unsigned char)(i * 131 + (i >> 9));
	f = fopen(tpath("content.bin"), "wb");
	fwrite(blob, 1, n, f);
	fclose(f);
	free(blob);

	/* EC P-256, SHA-256 */
	k = open_key(tpath("ec.key"), tpath("ec.pem"), tpath("ca.pem"), NULL, err, sizeof(err));
	CHECK(k != NULL);
	if (k == NULL)
		fprintf(stderr, "%s\n", err);
	CHECK_STR(sign_key_describe(k), "EC prime256v1");
	CHECK(sign_cades_file(k, EVP_sha256(), t, tpath("content.bin"), tpath("content.bin.p7s"),
			      &res, "test", err, sizeof(err)) == 0);
	CHECK(res.size == n);
	digest_hex(res.sha256, sizeof(res.sha256), hex);
	CHECK(digest_sha256_file_hex(tpath("content.bin"), hex2, NULL) == 0);
	CHECK_STR(hex, hex2);
	CHECK(fio_exists(tpath("content.bin.p7s.tmp")) == 0);
	CHECK(verify_file(tpath("content.bin"), tpath("content.bin.p7s"), ca, &cms) == 1);
	if (cms != NULL)
		check_attrs(cms, eccert, t, tpath("content.bin"));
	CMS_ContentInfo_free(cms);
	cms = NULL;
	/* signing again overwrites (idempotent), and still verifies */
	CHECK(sign_cades_file(k, EVP_sha256(), t, tpath("content.bin"), tpath("content.bin.p7s"),
			      &res, "test", err, sizeof(err)) == 0);
	CHECK(verify_file(tpath("content.bin"), tpath("content.bin.p7s"), ca, NULL) == 1);
	/* one changed byte breaks it */
	f = fopen(tpath("content.bin"), "r+b");
	fseek(f, 70000, SEEK_SET);
	fputc(0x00, f);
	fseek(f, 70001, SEEK_SET);
	fputc(0xff, f);
	fclose(f);
	CHECK(verify_file(tpath("content.bin"), tpath("content.bin.p7s"), ca, NULL) == 0);
	/* SHA-384 */
	CHECK(sign_cades_file(k, EVP_sha384(), t, tpath("content.bin"), tpath("c384.p7s"), &res,
			      "test", err, sizeof(err)) == 0);
	CHECK(verify_file(tpath("content.bin"), tpath("c384.p7s"), ca, NULL) == 1);
	/* a missing content file is an error with errno, nothing written */
	CHECK(sign_cades_file(k, EVP_sha256(), t, tpath("nope"), tpath("nope.p7s"), &res, "test",
			      err, sizeof(err)) == -1);
	CHECK(fio_exists(tpath("nope.p7s")) == 0);
	k = sign_key_close(k);

	/* RSA 3072 */
	k = open_key(tpath("rsa.key"), tpath("rsa.pem"), tpath("ca.pem"), NULL, err, sizeof(err));
	CHECK(k != NULL);
	CHECK(k != NULL && sign_cades_file(k, EVP_sha256(), t, tpath("content.bin"),
					   tpath("rsa.p7s"), &res, "test", err, sizeof(err)) == 0);
	CHECK(verify_file(tpath("content.bin"), tpath("rsa.p7s"), ca, &cms) == 1);
	if (cms != NULL)
		check_attrs(cms, rsacert, t, tpath("content.bin"));
	CMS_ContentInfo_free(cms);
	k = sign_key_close(k);

	/* refusals */
	CHECK(open_key(tpath("weak.key"), tpath("weak.pem"), NULL, NULL, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "too weak") != NULL);
	CHECK(open_key(tpath("other.key"), tpath("ec.pem"), NULL, NULL, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "does not belong") != NULL);
	CHECK(open_key(tpath("missing.key"), tpath("ec.pem"), NULL, NULL, err, sizeof(err)) ==
	      NULL);
	CHECK(strstr(err, "scripts/pki.sh") != NULL);
	CHECK(open_key(tpath("ec.key"), tpath("ec.pem"), tpath("rsa.pem"), NULL, err,
		       sizeof(err)) == NULL);
	CHECK(strstr(err, "does not verify") != NULL);
	/* encrypted key: right PIN from the environment, wrong PIN, no PIN */
	setenv("SIGN_TEST_PIN", "s3cret-PIN", 1);
	k = open_key(tpath("enc.key"), tpath("ec.pem"), NULL, "SIGN_TEST_PIN", err, sizeof(err));
	CHECK(k != NULL);
	k = sign_key_close(k);
	setenv("SIGN_TEST_PIN", "zz-bad-pin-zz", 1);
	CHECK(open_key(tpath("enc.key"), tpath("ec.pem"), NULL, "SIGN_TEST_PIN", err,
		       sizeof(err)) == NULL);
	CHECK(strstr(err, "zz-bad-pin-zz") == NULL); /* the PIN is never echoed */
	CHECK(open_key(tpath("enc.key"), tpath("ec.pem"), NULL, NULL, err, sizeof(err)) == NULL);

	EVP_PKEY_free(cakey);
	EVP_PKEY_free(eckey);
	EVP_PKEY_free(rsakey);
	EVP_PKEY_free(weak);
	EVP_PKEY_free(other);
	X509_free(ca);
	X509_free(eccert);
	X509_free(rsacert);
	X509_free(weakcert);
	fio_rmtree(tdir);
	return check_done();
}
