/*
 * verify_test.c - the checks of `mailroom verify` one by one (tools/verify_cades.c,
 * tools/verify_doc.c), in process with OpenSSL.
 *
 * A test PKI is made here (EC P-256: root, seal, TSA with critical EKU
 * timeStamping; a second root with its own seal; a separate TSA root; seals with
 * wrong keyUsage, past validity, RSA-2048). Signatures come from two producers:
 * OpenSSL's CMS_sign with CMS_CADES and mailroom-sign's own sign_cades_bio (the
 * real code). Time-stamp tokens come from OpenSSL's TS responder (verify_fix.c).
 * Every check has a positive control (a good signature passes it) and a negative
 * one that fails exactly that check: a content byte changed, a signed attribute
 * changed, no ESS attribute, a wrong ESS hash, a wrong issuerSerial, a certificate
 * of another CA, keyUsage keyCertSign only, a certificate expired at signing
 * time, a token over other data, a TSA certificate without (critical) EKU, a TSA
 * of an untrusted root (and the same trusted through a separate TSA CA), a
 * signing-time after the time-stamp, RSA-2048 (FAILED, WARN when a time-stamp
 * from 2023 proves its age), SHA-1, garbage, an attached signature. The
 * Transfervermerk reader is checked against the golden tv.ref and the XSD.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h> /* before cms.h */
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "check.h"
#include "fileio.h"
#include "sign_cades.h"
#include "sign_key.h"
#include "verify_cades.h"
#include "verify_doc.h"
#include "verify_fix.h"
#include "xmlschema.h"

#define T2022 ((time_t)1640995200) /* 2022-01-01 */
#define T2023 ((time_t)1685577600) /* 2023-06-01 */

static unsigned char content[200000];
static char tdir[] = "/tmp/verify_test.XXXXXX";

/* A fresh key: EC P-256, or RSA with bits. */
static EVP_PKEY *mk_key(int rsa_bits)
{
	EVP_PKEY *k = rsa_bits ? EVP_RSA_gen((unsigned)rsa_bits) : EVP_EC_gen("P-256");

	if (k == NULL) {
		fprintf(stderr, "key generation failed\n");
		exit(2);
	}
	return k;
}

/* Add one extension from its config text. */
static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL) {
		fprintf(stderr, "extension %d failed\n", nid);
		exit(2);
	}
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

/*
 * A certificate for key signed by ikey (self-signed when issuer is NULL), valid
 * from nb to na; ku and eku as config text (NULL: none); ca makes it a CA.
 */
static X509 *mk_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, int ca,
		     const char *ku, const char *eku, time_t nb, time_t na)
{
	static long serial = 1000;
	X509 *x = X509_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(x));
	X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb);
	X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &na);
	X509_set_pubkey(x, key);
	add_ext(x, issuer ? issuer : x, NID_basic_constraints,
		ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	if (ca)
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	else if (ku != NULL)
		add_ext(x, issuer, NID_key_usage, ku);
	if (eku != NULL)
		add_ext(x, issuer, NID_ext_key_usage, eku);
	if (!X509_sign(x, ikey ? ikey : key, EVP_sha256())) {
		fprintf(stderr, "X509_sign failed\n");
		exit(2);
	}
	return x;
}

/* A store trusting the given roots. */
static X509_STORE *mk_store(X509 *a, X509 *b)
{
	X509_STORE *s = X509_STORE_new();

	X509_STORE_add_cert(s, a);
	if (b != NULL)
		X509_STORE_add_cert(s, b);
	return s;
}

/* The DER of cms (malloc'ed) and its length. */
static unsigned char *der_of(CMS_ContentInfo *cms, size_t *len)
{
	unsigned char *d = vfix_der(cms, len);

	if (d == NULL) {
		fprintf(stderr, "encoding failed\n");
		ERR_print_errors_fp(stderr);
		exit(2);
	}
	return d;
}

/* OpenSSL's detached signature over content (extra flags: CMS_CADES ...). */
static CMS_ContentInfo *ossl_sign(X509 *cert, EVP_PKEY *key, const EVP_MD *md, unsigned flags)
{
	BIO *in = BIO_new_mem_buf(content, sizeof(content));
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY | flags);

	if (cms == NULL || CMS_add1_signer(cms, cert, key, md, CMS_BINARY | flags) == NULL ||
	    !CMS_final(cms, in, NULL, CMS_BINARY | flags)) {
		fprintf(stderr, "CMS_sign failed\n");
		ERR_print_errors_fp(stderr);
		exit(2);
	}
	BIO_free(in);
	return cms;
}

/* A signature with a hand-made signed attribute set: signing-time st (0: now), ESS der. */
static CMS_ContentInfo *ossl_sign_attrs(X509 *cert, EVP_PKEY *key, time_t st, int ess_nid,
					const unsigned char *ess, int esslen)
{
	BIO *in = BIO_new_mem_buf(content, sizeof(content));
	CMS_ContentInfo *cms =
	    CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY | CMS_DETACHED);
	CMS_SignerInfo *si;
	ASN1_TIME *t = NULL;

	if (cms == NULL ||
	    (si = CMS_add1_signer(cms, cert, key, EVP_sha256(),
				  CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP)) == NULL)
		goto fail;
	if (st != 0 && ((t = ASN1_TIME_set(NULL, st)) == NULL ||
			!CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, t->type, t, -1)))
		goto fail;
	if (ess != NULL && !CMS_signed_add1_attr_by_NID(si, ess_nid, V_ASN1_SEQUENCE, ess, esslen))
		goto fail;
	if (!CMS_final(cms, in, NULL, CMS_BINARY | CMS_DETACHED))
		goto fail;
	ASN1_TIME_free(t);
	BIO_free(in);
	return cms;
fail:
	fprintf(stderr, "hand-made signature failed\n");
	ERR_print_errors_fp(stderr);
	exit(2);
}

/* Verify der against the (possibly changed) content; returns r->failed. */
static int run(const unsigned char *der, size_t len, const unsigned char *data, size_t dlen,
	       X509_STORE *ca, X509_STORE *tsa, struct verify_cades_result *r)
{
	struct verify_cades_trust t;
	BIO *b = BIO_new_mem_buf(data, (int)dlen);
	int n;

	t.ca = ca;
	t.tsa_ca = tsa;
	n = verify_cades(der, len, b, &t, r);
	BIO_free(b);
	CHECK(ERR_peek_error() == 0); /* the queue is left empty */
	return n;
}

/* Verify cms over the original content. */
static int run_cms(CMS_ContentInfo *cms, X509_STORE *ca, X509_STORE *tsa,
		   struct verify_cades_result *r)
{
	size_t len;
	unsigned char *der = der_of(cms, &len);
	int n = run(der, len, content, sizeof(content), ca, tsa, r);

	free(der);
	return n;
}

/* 1 if check c has status s and its detail contains word (NULL: any). */
static int is(const struct verify_cades_result *r, enum verify_cades_check c, enum verify_status s,
	      const char *word)
{
	int ok = r->checks[c].status == s && (word == NULL || strstr(r->checks[c].detail, word));

	if (!ok)
		fprintf(stderr, "  check %s: %s \"%s\" (expected %s%s%s)\n", r->checks[c].name,
			verify_status_name(r->checks[c].status), r->checks[c].detail,
			verify_status_name(s), word ? " with " : "", word ? word : "");
	return ok;
}

/* The DER of an ESS signing-certificate-v2 for cert; the issuerSerial's serial changed if bad. */
static unsigned char *ess_v2(X509 *cert, int bad_serial, int *len)
{
	ESS_SIGNING_CERT_V2 *sc = OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), cert, NULL, 1);
	unsigned char *der = NULL;
	const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
	int i, n = ASN1_STRING_length(sn);

	*len = i2d_ESS_SIGNING_CERT_V2(sc, &der);
	ESS_SIGNING_CERT_V2_free(sc);
	if (bad_serial) /* the serial is the last element: its last byte */
		for (i = *len - n; i >= 0; i--)
			if (memcmp(der + i, ASN1_STRING_get0_data(sn), (size_t)n) == 0) {
				der[i + n - 1] ^= 0x01;
				break;
			}
	return der;
}

/* The DER of an ESS signing-certificate (v1, SHA-1) for cert. */
static unsigned char *ess_v1(X509 *cert, int *len)
{
	ESS_SIGNING_CERT *sc = OSSL_ESS_signing_cert_new_init(cert, NULL, 1);
	unsigned char *der = NULL;

	*len = i2d_ESS_SIGNING_CERT(sc, &der);
	ESS_SIGNING_CERT_free(sc);
	return der;
}

/* Read a whole file into b (bounded). */
static int slurp(const char *path, buf *b)
{
	buf_init(b, 1u << 20);
	return fio_read_file(path, 1u << 20, b);
}

/* The Transfervermerk and xdomea readers. */
static void test_docs(void)
{
	char err[512];
	struct verify_tv tv;
	struct verify_xdomea *x = calloc(1, sizeof(*x));
	xmlschema *s = xmlschema_load(VERIFY_TEST_XSD, err, sizeof(err));
	buf b;
	char *bad, *p;
	const char *msg =
	    "<?xml version=\"1.0\"?><x:Information.Information.0101 "
	    "xmlns:x=\"urn:xoev-de:xdomea:schema:3.0.0\"><x:Kopf><x:ProzessID>p-1</x:ProzessID>"
	    "<x:Nachrichtentyp><code>0101</code></x:Nachrichtentyp></x:Kopf><x:Dokument>"
	    "<x:AllgemeineMetadaten><x:Medium><code>001</code></x:Medium></x:AllgemeineMetadaten>"
	    "<x:Version><x:Format><x:Primaerdokument><x:Dateiname>a.tiff</x:Dateiname>"
	    "<x:DateinameOriginal>scan.tiff</x:DateinameOriginal><x:SignaturSiegel>"
	    "<x:SignaturSiegelDatei>a.tiff.p7s</x:SignaturSiegelDatei></x:SignaturSiegel>"
	    "</x:Primaerdokument></x:Format></x:Version><x:Anlage><x:Typ>Transfervermerk</x:Typ>"
	    "</x:Anlage></x:Dokument></x:Information.Information.0101>";

	CHECK(s != NULL);
	CHECK(slurp(VERIFY_TEST_DATA "/tv.ref", &b) == 0);
	CHECK(verify_tv_is(b.data, b.len) == 1);
	CHECK(verify_tv_read(s, b.data, b.len, &tv, err, sizeof(err)) == XMLSCHEMA_OK);
	CHECK(tv.parsed && tv.n_files == 2);
	CHECK_STR(tv.files[0].name, "scan.tiff");
	CHECK(tv.files[0].size_ok && tv.files[0].size == 123456);
	CHECK_STR(tv.files[1].sha256,
		  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	CHECK_STR(tv.id, "20261121T224431Z-7f3a9c2e1b004d5a");
	CHECK_STR(tv.level, "CAdES-B-B");
	CHECK(tv.test_pki == 1);
	/* an element removed: the schema rejects it, the bindings are still read */
	bad = strdup(b.data);
	if ((p = strstr(bad, "<Seiten>")) != NULL)
		memcpy(p, "<Seitex>", 8);
	if ((p = strstr(bad, "</Seiten>")) != NULL)
		memcpy(p, "</Seitex>", 9);
	CHECK(verify_tv_read(s, bad, strlen(bad), &tv, err, sizeof(err)) == XMLSCHEMA_INVALID);
	CHECK(strstr(err, "Seitex") != NULL);
	CHECK(tv.parsed && tv.n_files == 2);
	free(bad);
	CHECK(verify_tv_read(s, "<a/>", 4, &tv, err, sizeof(err)) == XMLSCHEMA_NOTWF && !tv.parsed);
	CHECK(verify_tv_read(s, "<a", 2, &tv, err, sizeof(err)) == XMLSCHEMA_NOTWF);
	CHECK(verify_tv_is("<a/>", 4) == 0);
	/* the xdomea message */
	CHECK(verify_xdomea_read(msg, strlen(msg), x, err, sizeof(err)) == 1);
	CHECK(x->n_parts == 1 && x->has_tv && x->electronic && !x->hybrid);
	CHECK_STR(x->parts[0].name, "a.tiff");
	CHECK_STR(x->parts[0].seal, "a.tiff.p7s");
	CHECK_STR(x->process_id, "p-1");
	CHECK_STR(x->message, "0101");
	CHECK(verify_xdomea_original(x, "scan.tiff") == &x->parts[0]);
	CHECK(verify_xdomea_original(x, "ocr.pdf") == NULL);
	CHECK(verify_xdomea_read("<xdomea/>", 9, x, err, sizeof(err)) == 0);
	CHECK(verify_xdomea_read("<x", 2, x, err, sizeof(err)) == -1);
	buf_free(&b);
	xmlschema_free(s);
	free(x);
}

int main(void)
{
	time_t now = time(NULL), far = now + 86400L * 30;
	EVP_PKEY *caK = mk_key(0), *sealK = mk_key(0), *tsaK = mk_key(0), *ca2K = mk_key(0),
		 *seal2K = mk_key(0), *tsaCaK = mk_key(0), *tsa2K = mk_key(0), *rsaK = mk_key(2048);
	X509 *ca, *seal, *tsa, *ca2, *seal2, *tsaCa, *tsa2, *kubad, *old, *rsa, *tsaSoft, *tsaOld;
	X509_STORE *st, *st2, *stTsa;
	struct verify_cades_result r;
	struct vfix_tsa ts;
	CMS_ContentInfo *cms;
	STACK_OF(X509) * chain;
	unsigned char *der, *ess, changed[sizeof(content)];
	size_t len;
	char err[256], kpath[512], cpath[512];
	int esslen;

	if (mkdtemp(tdir) == NULL || RAND_bytes(content, sizeof(content)) != 1)
		return 2;
	ca = mk_cert("verify TEST Root CA", caK, NULL, NULL, 1, NULL, NULL, T2022, far);
	seal = mk_cert("Stadt Musterstadt (TEST SEAL)", sealK, ca, caK, 0,
		       "critical,digitalSignature,nonRepudiation", NULL, T2022, far);
	tsa =
	    mk_cert("verify TEST TSA", tsaK, ca, caK, 0, "critical,digitalSignature,nonRepudiation",
		    "critical,timeStamping", now - 3600, far);
	tsaOld = mk_cert("verify TEST TSA since 2022", tsaK, ca, caK, 0,
			 "critical,digitalSignature", "critical,timeStamping", T2022, far);
	tsaSoft = mk_cert("verify TEST TSA soft EKU", tsaK, ca, caK, 0, "critical,digitalSignature",
			  "timeStamping", now - 3600, far);
	ca2 = mk_cert("some other CA", ca2K, NULL, NULL, 1, NULL, NULL, T2022, far);
	seal2 = mk_cert("seal of another CA", seal2K, ca2, ca2K, 0, "critical,digitalSignature",
			NULL, T2022, far);
	tsaCa = mk_cert("verify TSA Root", tsaCaK, NULL, NULL, 1, NULL, NULL, T2022, far);
	tsa2 = mk_cert("verify TSA of its own root", tsa2K, tsaCa, tsaCaK, 0,
		       "critical,digitalSignature", "critical,timeStamping", now - 3600, far);
	kubad = mk_cert("seal with keyCertSign only", sealK, ca, caK, 0, "critical,keyCertSign",
			NULL, T2022, far);
	old = mk_cert("seal that expired", sealK, ca, caK, 0, "critical,digitalSignature", NULL,
		      now - 86400L * 10, now - 86400L * 5);
	rsa =
	    mk_cert("RSA-2048 seal", rsaK, ca, caK, 0, "critical,nonRepudiation", NULL, T2022, far);
	st = mk_store(ca, NULL);
	st2 = mk_store(ca2, NULL);
	stTsa = mk_store(tsaCa, NULL);
	chain = sk_X509_new_null();
	sk_X509_push(chain, ca);

	/* --- names --- */
	CHECK(verify_cades_is_test_name(X509_get_subject_name(ca)) == 1);
	CHECK(verify_cades_is_test_name(X509_get_subject_name(ca2)) == 0);
	{
		X509_NAME *n = X509_NAME_new();

		X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
					   (const unsigned char *)"CONTEST tools test seal", -1, -1,
					   0);
		CHECK(verify_cades_is_test_name(n) == 0);
		X509_NAME_free(n);
	}

	/* --- B-B from OpenSSL (CMS_CADES): every check passes --- */
	cms = ossl_sign(seal, sealK, EVP_sha256(), CMS_DETACHED | CMS_CADES);
	der = der_of(cms, &len);
	CHECK(run(der, len, content, sizeof(content), st, NULL, &r) == 0);
	CHECK(r.level != NULL && strcmp(r.level, "CAdES-B-B") == 0);
	CHECK(is(&r, VERIFY_CADES_STRUCTURE, VERIFY_OK, "detached"));
	CHECK(is(&r, VERIFY_CADES_ALGORITHMS, VERIFY_OK, "EC P-256"));
	CHECK(is(&r, VERIFY_CADES_DIGEST, VERIFY_OK, "200000 bytes"));
	CHECK(is(&r, VERIFY_CADES_ATTRIBUTES, VERIFY_OK, "signing-time"));
	CHECK(is(&r, VERIFY_CADES_SIGNING_CERT, VERIFY_OK, "signing-certificate-v2"));
	CHECK(is(&r, VERIFY_CADES_SIGNATURE, VERIFY_OK, NULL));
	CHECK(is(&r, VERIFY_CADES_CERTIFICATE, VERIFY_OK, "claimed signing-time"));
	CHECK(is(&r, VERIFY_CADES_TIMESTAMP, VERIFY_NONE, "CAdES-B-B"));
	CHECK(r.test_pki == 1 && r.timestamps == 0 && r.content_read && r.size == sizeof(content));
	CHECK_STR(r.common_name, "Stadt Musterstadt (TEST SEAL)");
	CHECK_STR(r.key, "EC P-256");
	CHECK(llabs((long long)(r.signing_time - now)) < 120);
	{
		unsigned char sha[32];

		EVP_Digest(content, sizeof(content), sha, NULL, EVP_sha256(), NULL);
		CHECK(memcmp(sha, r.sha256, 32) == 0);
	}
	/* PEM is accepted as well */
	{
		BIO *pem = BIO_new(BIO_s_mem());
		char *p;
		long n;

		PEM_write_bio_CMS(pem, cms);
		n = BIO_get_mem_data(pem, &p);
		CHECK(run((unsigned char *)p, (size_t)n, content, sizeof(content), st, NULL, &r) ==
		      0);
		BIO_free(pem);
	}

	/* --- negative: one content byte changed -> message-digest only --- */
	memcpy(changed, content, sizeof(content));
	changed[77777] ^= 0x20;
	CHECK(run(der, len, changed, sizeof(changed), st, NULL, &r) == 1);
	CHECK(is(&r, VERIFY_CADES_DIGEST, VERIFY_FAILED, "does not match its signature"));
	CHECK(is(&r, VERIFY_CADES_SIGNATURE, VERIFY_OK, NULL));
	/* a shorter file as well */
	CHECK(run(der, len, content, sizeof(content) - 1, st, NULL, &r) == 1);
	CHECK(is(&r, VERIFY_CADES_DIGEST, VERIFY_FAILED, NULL));
	free(der);

	/* --- negative: another CA; positive control: trusting that CA --- */
	CHECK(run_cms(cms, st2, NULL, &r) == 1);
	CHECK(is(&r, VERIFY_CADES_CERTIFICATE, VERIFY_FAILED, "does not chain to the trusted CA"));
	CMS_ContentInfo_free(cms);
	cms = ossl_sign(seal2, seal2K, EVP_sha256(), CMS_DETACHED | CMS_CADES);
	CHECK(run_cms(cms, st, NULL, &r) == 1);
	CHECK(is(&r, VERIFY_CADES_CERTIFICATE, VERIFY_FAILED, "does not chain"));
	CHECK(run_cms(cms, st2, NULL, &r) == 0);
	CHECK(r.test_pki == 0);
	CMS_ContentInfo_free(cms);

	/* --- negative: a signed attribute changed -> signature only --- */
	cms = ossl_sign(seal, sealK, EVP_sha256(), CMS_DETACHED | CMS_CADES);
	CHECK(vfix_tamper_signing_time(cms) == 0);
	CHECK(run_cms(cms, st, NULL, &r) == 1);
	CHECK(is(&r, VERIFY_CADES_SIGNATURE, VERIFY_FAILED, "signed attributes were changed"));
	CHECK(is(&r, VERIFY_CADES_DIGEST, VERIFY_OK, NULL));
	CMS_ContentInfo_free(cms);

	/* --- the real producer: mailroom-sign's sign_cades_bio --- */
	snprintf(kpath, sizeof(kpath), "%s/seal.key", tdir);
	snprintf(cpath, sizeof(cpath), "%s/seal.pem", tdir);
	{
		FILE *f = fopen(kpath, "w");
		struct sign_key_conf kc;
		struct sign_cades_out out;
		sign_key *k;
		BIO *in = BIO_new_mem_buf(content, sizeof(content)), *o = BIO_new(BIO_s_mem());
		char *p;
		long n;

		PEM_write_PrivateKey(f, sealK, NULL, NULL, 0, NULL, NULL);
		fclose(f);
		f = fopen(cpath, "w");
		PEM_write_X509(f, seal);
		fclose(f);
		memset(&kc, 0, sizeof(kc));
		kc.key_path = kpath;
		kc.cert_path = cpath;
		k = sign_key_open(&kc, err, sizeof(err));
		CHECK(k != NULL);
		if (k != NULL) {
			CHECK(sign_cades_bio(k, EVP_sha384(), now, in, o, &out, "verify_test", err,
					     sizeof(err)) == 0);
			n = BIO_get_mem_data(o, &p);
			CHECK(run((unsigned char *)p, (size_t)n, content, sizeof(content), st, NULL,
				  &r) == 0);
			CHECK(r.level != NULL && strcmp(r.level, "CAdES-B-B") == 0);
			CHECK(is(&r, VERIFY_CADES_SIGNING_CERT, VERIFY_OK, "issuerSerial"));
			CHECK(is(&r, VERIFY_CADES_ALGORITHMS, VERIFY_OK, "SHA-384"));
			CHECK(r.signing_time == now);
		}
		sign_key_close(k);
		BIO_free(in);
		BIO_free(o);
		unlink(kpath);
		unlink(cpath);
	}

	/* --- ESS: absent, wrong hash, wrong issuerSerial; v1 accepted --- */
	cms = ossl_sign(seal, sealK, EVP_sha256(), CMS_DETACHED); /* no CMS_CADES */
	CHECK(run_cms(cms, st, NULL, &r) == 1);
	CHECK(is(&r, VERIFY_CADES_SIGNING_CERT, VERIFY_FAILED, "no ESS"));
	CHECK(r.level == NULL);
	CMS_ContentInfo_free(cms);
	ess = ess_v2(seal2, 0, &esslen);
	cms = ossl_sign_attrs(seal, sealK, 0, NID_id_smime_aa_signingCertificateV2, ess, esslen);
	CHECK(run_cms(cms, st, NULL, &r) == 1);
	CHECK(is(&r, VERIFY_CADES_SIGNING_CERT, VERIFY_FAILED, "certificate hash does not match"));
	CHECK(is(&r, VERIFY_CADES_SIGNATURE, VERIFY_OK, NULL));
	CMS_ContentInfo_free(cms);
	OPENSSL_free(ess);
	ess = ess_v2(seal, 1, &esslen);
	cms = ossl_sign_attrs(seal, sealK, 0, NID_id_smime_aa_signingCertificateV2, ess, esslen);
	CHECK(run_cms(cms, st, NULL, &r) == 1);
	CHECK(is(&r, VERIFY_CADES_SIGNING_CERT, VERIFY_FAILED, "issuerSerial"));
	CMS_ContentInfo_free(cms);
	OPENSSL_free(ess);
	ess = ess_v2(seal, 0, &esslen); /* positive control of the hand-made path */
	cms = ossl_sign_attrs(seal, sealK, 0, NID_id_smime_aa_signingCertificateV2, ess, esslen);
	CHECK(run_cms(cms, st, NULL, &r) == 0);
	CMS_ContentInfo_free(cms);
	OPENSSL_free(ess);
	ess = ess_v1(seal, &esslen);
	cms = ossl_sign_attrs(seal, sealK, 0, NID_id_smime_aa_signingCertificate, ess, esslen);
	CHECK(run_cms(cms, st, NULL, &r) == 0);
	CHECK(is(&r, VERIFY_CADES_SIGNING_CERT, VERIFY_OK, "v1"));
	CMS_ContentInfo_free(cms);
	OPENSSL_free(ess);

	/* --- certificate: keyUsage, validity at the signing time --- */
	cms = ossl_sign(kubad, sealK, EVP_sha256(), CMS_DETACHED | CMS_CADES);
	CHECK(run_cms(cms, st, NULL, &r) == 1);
	CHECK(is(&r, VERIFY_CADES_CERTIFICATE, VERIFY_FAILED, "keyUsage"));
	CMS_ContentInfo_free(cms);
	ess = ess_v2(old, 0, &esslen);
	cms = ossl_sign_attrs(old, sealK, 0, NID_id_smime_aa_signingCertificateV2, ess, esslen);
	CHECK(run_cms(cms, st, NULL, &r) == 1); /* signed now, expired 5 days ago */
	CHECK(is(&r, VERIFY_CADES_CERTIFICATE, VERIFY_FAILED, "expired"));
	CMS_ContentInfo_free(cms);
	cms = ossl_sign_attrs(old, sealK, now - 86400L * 7, NID_id_smime_aa_signingCertificateV2,
			      ess, esslen);
	CHECK(run_cms(cms, st, NULL, &r) == 0); /* signed while it was valid */
	CHECK(is(&r, VERIFY_CADES_CERTIFICATE, VERIFY_OK, "expired since"));
	CMS_ContentInfo_free(cms);
	OPENSSL_free(ess);

	/* --- B-T: a token from the TS responder over the signature value --- */
	memset(&ts, 0, sizeof(ts));
	ts.cert = tsa;
	ts.key = tsaK;
	ts.chain = chain;
	cms = ossl_sign(seal, sealK, EVP_sha256(), CMS_DETACHED | CMS_CADES);
	CHECK(vfix_stamp(cms, &ts, err, sizeof(err)) == 0);
	CHECK(run_cms(cms, st, NULL, &r) == 0);
	CHECK(r.level != NULL && strcmp(r.level, "CAdES-B-T") == 0);
	CHECK(is(&r, VERIFY_CADES_TIMESTAMP, VERIFY_OK, "ESSCertIDv2"));
	CHECK(is(&r, VERIFY_CADES_CERTIFICATE, VERIFY_OK, "time-stamp's genTime"));
	CHECK(r.timestamps == 1 && llabs((long long)(r.ts_time - now)) < 120);
	CHECK_STR(r.ts_policy, VFIX_POLICY);
	CHECK(strstr(r.tsa, "verify TEST TSA") != NULL);
	/* the time-stamp does not touch the signed part: a changed byte still fails */
	der = der_of(cms, &len);
	CHECK(run(der, len, changed, sizeof(changed), st, NULL, &r) == 1);
	CHECK(is(&r, VERIFY_CADES_DIGEST, VERIFY_FAILED, NULL));
	CHECK(is(&r, VERIFY_CADES_TIMESTAMP, VERIFY_OK, NULL));
	free(der);
	CMS_ContentInfo_free(cms);

	/* a token over other data */
	ts.imprint_of = "some other bytes";
	cms = ossl_sign(seal, sealK, EVP_sha256(), CMS_DETACHED | CMS_CADES);
	CHECK(vfix_stamp(cms, &ts, err, sizeof(err)) == 0);
	CHECK(run_cms(cms, st, NULL, &r) == 1);
	CHECK(is(&r, VERIFY_CADES_TIMESTAMP, VERIFY_FAILED, "over other data"));
	CHECK(r.level != NULL && strcmp(r.level, "CAdES-B-T") == 0 && r.timestamps == 0);
	CHECK(is(&r, VERIFY_CADES_CERTIFICATE, VERIFY_OK, "claimed signing-time"));
	CMS_ContentInfo_free(cms);
	ts.imprint_of = NULL;

	/* a TSA certificate without EKU (the seal), with a non-critical EKU; raw control */
	ts.raw = 1;
	ts.cert = seal;
	ts.key = sealK;
	cms = ossl_sign(seal, sealK, EVP_sha256(), CMS_DETACHED | CMS_CADES);
	CHECK(vfix_stamp(cms, &ts, err, sizeof(err)) == 0);
	CHECK(run_cms(cms, st, NULL, &r) == 1);
	CHECK(is(&r, VERIFY_CADES_TIMESTAMP, VERIFY_FAILED, "extendedKeyUsage"));
	CMS_ContentInfo_free(cms);
	ts.cert = tsaSoft;
	ts.key = tsaK;
	cms = ossl_sign(seal, sealK, EVP_sha256(), CMS_DETACHED | CMS_CADES);
	CHECK(vfix_stamp(cms, &ts, err, sizeof(err)) == 0);
	CHECK(run_cms(cms, st, NULL, &r) == 1);
	CHECK(is(&r, VERIFY_CADES_TIMESTAMP, VERIFY_FAILED, "critical extendedKeyUsage"));
	CMS_ContentInfo_free(cms);
	ts.cert = tsa;
	cms = ossl_sign(seal, sealK, EVP_sha256(), CMS_DETACHED | CMS_CADES);
	CHECK(vfix_stamp(cms, &ts, err, sizeof(err)) == 0);
	CHECK(run_cms(cms, st, NULL, &r) == 0); /* the raw path itself is sound */
	CMS_ContentInfo_free(cms);
	ts.raw = 0;

	/* a TSA of another root: untrusted; trusted through a separate TSA CA */
	ts.cert = tsa2;
	ts.key = tsa2K;
	ts.chain = NULL;
	cms = ossl_sign(seal, sealK, EVP_sha256(), CMS_DETACHED | CMS_CADES);
	CHECK(vfix_stamp(cms, &ts, err, sizeof(err)) == 0);
	CHECK(run_cms(cms, st, NULL, &r) == 1);
	CHECK(
	    is(&r, VERIFY_CADES_TIMESTAMP, VERIFY_FAILED, "does not chain to the trusted TSA CA"));
	CHECK(run_cms(cms, st, stTsa, &r) == 0);
	CHECK(is(&r, VERIFY_CADES_TIMESTAMP, VERIFY_OK, "verify TSA of its own root"));
	CHECK(run_cms(cms, stTsa, stTsa, &r) == 1); /* the seal is not trusted by the TSA root */
	CHECK(is(&r, VERIFY_CADES_CERTIFICATE, VERIFY_FAILED, NULL));
	CMS_ContentInfo_free(cms);

	/* a signing-time an hour after the time-stamp: a false claim */
	ts.cert = tsaOld;
	ts.key = tsaK;
	ts.chain = chain;
	ts.at = now - 3600;
	cms = ossl_sign(seal, sealK, EVP_sha256(), CMS_DETACHED | CMS_CADES);
	CHECK(vfix_stamp(cms, &ts, err, sizeof(err)) == 0);
	CHECK(run_cms(cms, st, NULL, &r) == 1);
	CHECK(is(&r, VERIFY_CADES_TIMESTAMP, VERIFY_FAILED, "claim is false"));
	CMS_ContentInfo_free(cms);

	/* --- algorithms: RSA-2048 fails; WARN when a 2023 time-stamp proves its age --- */
	cms = ossl_sign(rsa, rsaK, EVP_sha256(), CMS_DETACHED | CMS_CADES);
	CHECK(run_cms(cms, st, NULL, &r) == 1);
	CHECK(is(&r, VERIFY_CADES_ALGORITHMS, VERIFY_FAILED, "RSA 2048"));
	CMS_ContentInfo_free(cms);
	ess = ess_v2(rsa, 0, &esslen);
	cms = ossl_sign_attrs(rsa, rsaK, T2023 - 60, NID_id_smime_aa_signingCertificateV2, ess,
			      esslen);
	ts.at = T2023;
	CHECK(vfix_stamp(cms, &ts, err, sizeof(err)) == 0);
	CHECK(run_cms(cms, st, NULL, &r) == 0);
	CHECK(r.warned == 1 && is(&r, VERIFY_CADES_ALGORITHMS, VERIFY_WARN, "until 2023"));
	CHECK(is(&r, VERIFY_CADES_CERTIFICATE, VERIFY_OK, "2023-06-01"));
	CMS_ContentInfo_free(cms);
	OPENSSL_free(ess);
	ts.at = 0;
	/* SHA-1 */
	cms = ossl_sign(seal, sealK, EVP_sha1(), CMS_DETACHED | CMS_CADES);
	CHECK(run_cms(cms, st, NULL, &r) >= 1);
	CHECK(is(&r, VERIFY_CADES_ALGORITHMS, VERIFY_FAILED, "SHA-1"));
	CMS_ContentInfo_free(cms);

	/* --- structure: garbage, an attached signature --- */
	CHECK(run((const unsigned char *)"not a signature", 15, content, sizeof(content), st, NULL,
		  &r) == 1);
	CHECK(is(&r, VERIFY_CADES_STRUCTURE, VERIFY_FAILED, "not a CMS signature"));
	CHECK(is(&r, VERIFY_CADES_SIGNATURE, VERIFY_NONE, NULL) && r.content_read);
	cms = ossl_sign(seal, sealK, EVP_sha256(), CMS_CADES); /* content inside */
	CHECK(run_cms(cms, st, NULL, &r) == 1);
	CHECK(is(&r, VERIFY_CADES_STRUCTURE, VERIFY_FAILED, "not a detached signature"));
	CMS_ContentInfo_free(cms);

	test_docs();

	sk_X509_free(chain);
	X509_STORE_free(st);
	X509_STORE_free(st2);
	X509_STORE_free(stTsa);
	X509_free(ca);
	X509_free(seal);
	X509_free(tsa);
	X509_free(tsaOld);
	X509_free(tsaSoft);
	X509_free(ca2);
	X509_free(seal2);
	X509_free(tsaCa);
	X509_free(tsa2);
	X509_free(kubad);
	X509_free(old);
	X509_free(rsa);
	EVP_PKEY_free(caK);
	EVP_PKEY_free(sealK);
	EVP_PKEY_free(tsaK);
	EVP_PKEY_free(ca2K);
	EVP_PKEY_free(seal2K);
	EVP_PKEY_free(tsaCaK);
	EVP_PKEY_free(tsa2K);
	EVP_PKEY_free(rsaK);
	rmdir(tdir);
	return check_done();
}
