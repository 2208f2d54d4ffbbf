/*
 * verify_cades.c - check a detached CAdES signature check by check; see
 * verify_cades.h.
 *
 * OpenSSL's CMS_verify() answers yes or no. A person who must rely on a seal
 * needs to know which property failed, so the checks are made one at a time
 * with the lower-level calls: the content is streamed through the signer's
 * digest ourselves, the message-digest attribute is compared, the ESS
 * signing-certificate attribute is decoded with our own ASN.1 templates (the
 * OpenSSL types are opaque), CMS_SignerInfo_verify() checks the signature over
 * the signed attributes, X509_verify_cert() the chain at the signature's time,
 * and each time-stamp token goes through TS_RESP_verify_token() after the
 * imprint, the TSA certificate's extended key usage and its ESS attribute were
 * checked with readable reasons.
 */
#include "verify_cades.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/pem.h> /* before cms.h: declares PEM_read_bio_CMS */
#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#define VC_BLOCK 65536

/* ---- ESS signing-certificate(-v2), RFC 2634 / RFC 5035, decoded ourselves ---- */

/* The ASN.1 template macros are declarations clang-format cannot read. */
/* clang-format off */
typedef struct {
	OPENSSL_STACK *issuer; /* GeneralNames */
	ASN1_INTEGER *serial;
} VC_ISSUER_SERIAL;

ASN1_SEQUENCE(VC_ISSUER_SERIAL) = {
	ASN1_SEQUENCE_OF(VC_ISSUER_SERIAL, issuer, GENERAL_NAME),
	ASN1_SIMPLE(VC_ISSUER_SERIAL, serial, ASN1_INTEGER),
} static_ASN1_SEQUENCE_END(VC_ISSUER_SERIAL)

/* ESSCertIDv2: hashAlgorithm DEFAULT sha256, certHash, issuerSerial OPTIONAL. */
typedef struct {
	X509_ALGOR *hash_alg;
	ASN1_OCTET_STRING *hash;
	VC_ISSUER_SERIAL *issuer_serial;
} VC_CERT_ID_V2;

ASN1_SEQUENCE(VC_CERT_ID_V2) = {
	ASN1_OPT(VC_CERT_ID_V2, hash_alg, X509_ALGOR),
	ASN1_SIMPLE(VC_CERT_ID_V2, hash, ASN1_OCTET_STRING),
	ASN1_OPT(VC_CERT_ID_V2, issuer_serial, VC_ISSUER_SERIAL),
} static_ASN1_SEQUENCE_END(VC_CERT_ID_V2)

/* SigningCertificateV2: certs, policies OPTIONAL (not used). */
typedef struct {
	OPENSSL_STACK *certs;
	OPENSSL_STACK *policies;
} VC_SIGNING_CERT_V2;

ASN1_SEQUENCE(VC_SIGNING_CERT_V2) = {
	ASN1_SEQUENCE_OF(VC_SIGNING_CERT_V2, certs, VC_CERT_ID_V2),
	ASN1_SEQUENCE_OF_OPT(VC_SIGNING_CERT_V2, policies, POLICYINFO),
} static_ASN1_SEQUENCE_END(VC_SIGNING_CERT_V2)

/* ESSCertID: certHash (SHA-1), issuerSerial OPTIONAL. */
typedef struct {
	ASN1_OCTET_STRING *hash;
	VC_ISSUER_SERIAL *issuer_serial;
} VC_CERT_ID;

ASN1_SEQUENCE(VC_CERT_ID) = {
	ASN1_SIMPLE(VC_CERT_ID, hash, ASN1_OCTET_STRING),
	ASN1_OPT(VC_CERT_ID, issuer_serial, VC_ISSUER_SERIAL),
} static_ASN1_SEQUENCE_END(VC_CERT_ID)

/* SigningCertificate: certs, policies OPTIONAL (not used). */
typedef struct {
	OPENSSL_STACK *certs;
	OPENSSL_STACK *policies;
} VC_SIGNING_CERT;

ASN1_SEQUENCE(VC_SIGNING_CERT) = {
	ASN1_SEQUENCE_OF(VC_SIGNING_CERT, certs, VC_CERT_ID),
	ASN1_SEQUENCE_OF_OPT(VC_SIGNING_CERT, policies, POLICYINFO),
} static_ASN1_SEQUENCE_END(VC_SIGNING_CERT)

/* What one verification works with. */
struct vc {
	struct verify_cades_result *r;
	const struct verify_cades_trust *t;
	CMS_ContentInfo *cms;
	CMS_SignerInfo *si;
	X509 *signer;	  /* owned by cms */
	const EVP_MD *md; /* the SignerInfo's digest, or NULL if unknown */
	int md_nid;
	unsigned char dg[EVP_MAX_MD_SIZE];
	unsigned int dglen;
	int ts_present;
};
/* clang-format on */

static const char *const vc_names[VERIFY_CADES_NCHECKS] = {
    "structure",	   "algorithms", "message-digest", "signed-attributes",
    "signing-certificate", "signature",	 "certificate",	   "time-stamp",
};

const char *verify_status_name(enum verify_status s)
{
	switch (s) {
	case VERIFY_OK:
		return "OK";
	case VERIFY_WARN:
		return "WARN";
	case VERIFY_FAILED:
		return "FAILED";
	default:
		return "-";
	}
}

static void vc_set(struct vc *v, enum verify_cades_check c, enum verify_status s, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));
/* Record the outcome of check c. */
static void vc_set(struct vc *v, enum verify_cades_check c, enum verify_status s, const char *fmt,
		   ...)
{
	struct verify_check *k = &v->r->checks[c];
	va_list ap;

	k->status = s;
	va_start(ap, fmt);
	vsnprintf(k->detail, sizeof(k->detail), fmt, ap);
	va_end(ap);
}

/* An X509 name as RFC 2253 UTF-8 text. */
static void vc_name(const X509_NAME *n, char *out, size_t outlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long len;

	snprintf(out, outlen, "(no name)");
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (len = BIO_get_mem_data(b, &p)) > 0)
		snprintf(out, outlen, "%.*s", (int)len, p);
	BIO_free(b);
}

/* The first CN of a name as UTF-8 into out; 0, or -1 if there is none. */
static int vc_cn(const X509_NAME *n, char *out, size_t outlen)
{
	int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
	unsigned char *u = NULL;
	int len;

	if (i < 0 || (len = ASN1_STRING_to_UTF8(
			  &u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)))) < 0)
		return -1;
	snprintf(out, outlen, "%.*s", len, (char *)u);
	OPENSSL_free(u);
	return 0;
}

int verify_cades_is_test_name(const X509_NAME *n)
{
	int i = -1;

	while ((i = X509_NAME_get_index_by_NID(n, NID_commonName, i)) >= 0) {
		unsigned char *u = NULL;
		int len =
		    ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)));
		int k, hit = 0;

		for (k = 0; len >= 4 && k + 4 <= len && !hit; k++)
			hit = memcmp(u + k, "TEST", 4) == 0 &&
			      (k == 0 || !((u[k - 1] | 0x20) >= 'a' && (u[k - 1] | 0x20) <= 'z')) &&
			      (k + 4 == len ||
			       !((u[k + 4] | 0x20) >= 'a' && (u[k + 4] | 0x20) <= 'z'));
		OPENSSL_free(u);
		if (hit)
			return 1;
	}
	return 0;
}

/* An ASN1_INTEGER as uppercase hex. */
static void vc_hex_int(const ASN1_INTEGER *a, char *out, size_t outlen)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(a, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	snprintf(out, outlen, "%s", hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
}

/* An ASN1 time as time_t; 0 if it cannot be read. */
static time_t vc_time(const ASN1_TIME *a)
{
	struct tm tm;

	if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* ISO 8601 UTC into out[32]. */
static const char *vc_iso(time_t t, char out[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "(time %lld)", (long long)t);
	return out;
}

/* 1 for the digests TR-02102-1 accepts for new signatures (SHA-2, 256 bit and more). */
static int vc_md_ok(int nid)
{
	return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

/* A digest's name as people write it ("SHA-256"). */
static const char *vc_md_name(int nid)
{
	switch (nid) {
	case NID_sha256:
		return "SHA-256";
	case NID_sha384:
		return "SHA-384";
	case NID_sha512:
		return "SHA-512";
	case NID_sha1:
		return "SHA-1";
	case NID_undef:
		return "an unknown algorithm";
	default:
		return OBJ_nid2sn(nid);
	}
}

/* The OpenSSL error queue as one line (and empty it). */
static void vc_ssl_errors(char *out, size_t outlen)
{
	unsigned long e;
	const char *data;
	int flags;
	size_t used = 0;

	out[0] = '\0';
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		char one[256];

		if (used + 4 >= outlen)
			continue;
		ERR_error_string_n(e, one, sizeof(one));
		used += (size_t)snprintf(out + used, outlen - used, "%s%s%s%s", used ? "; " : "",
					 one, (flags & ERR_TXT_STRING) && data && *data ? ": " : "",
					 (flags & ERR_TXT_STRING) && data ? data : "");
		if (used >= outlen)
			used = outlen - 1;
	}
}

/* ---- 1. structure ---- */

/* Parse DER (or PEM) and check the shape. 0, or -1 (check FAILED). */
static int vc_structure(struct vc *v, const unsigned char *sig, size_t len)
{
	BIO *b = BIO_new_mem_buf(sig, (int)len);
	STACK_OF(CMS_SignerInfo) * sis;
	STACK_OF(X509) * certs;
	const ASN1_OBJECT *ect;
	char txt[80];
	int n, ncerts;

	if (len > 0x7fffffff || b == NULL)
		goto notcms;
	if ((v->cms = d2i_CMS_bio(b, NULL)) == NULL) {
		BIO_free(b);
		if ((b = BIO_new_mem_buf(sig, (int)len)) == NULL ||
		    (v->cms = PEM_read_bio_CMS(b, NULL, NULL, NULL)) == NULL)
			goto notcms;
	}
	BIO_free(b);
	b = NULL;
	ERR_clear_error();
	if (OBJ_obj2nid(CMS_get0_type(v->cms)) != NID_pkcs7_signed) {
		OBJ_obj2txt(txt, sizeof(txt), CMS_get0_type(v->cms), 0);
		vc_set(v, VERIFY_CADES_STRUCTURE, VERIFY_FAILED,
		       "not a SignedData but %s: this is no signature", txt);
		return -1;
	}
	if (!CMS_is_detached(v->cms)) {
		vc_set(v, VERIFY_CADES_STRUCTURE, VERIFY_FAILED,
		       "not a detached signature: it carries its own content, so it does not "
		       "sign the file next to it");
		return -1;
	}
	if ((ect = CMS_get0_eContentType(v->cms)) == NULL || OBJ_obj2nid(ect) != NID_pkcs7_data) {
		OBJ_obj2txt(txt, sizeof(txt), ect, 0);
		vc_set(v, VERIFY_CADES_STRUCTURE, VERIFY_FAILED,
		       "the signed content type is %s, expected id-data (a document)",
		       ect ? txt : "missing");
		return -1;
	}
	sis = CMS_get0_SignerInfos(v->cms);
	if ((n = sis ? sk_CMS_SignerInfo_num(sis) : 0) != 1) {
		vc_set(v, VERIFY_CADES_STRUCTURE, VERIFY_FAILED,
		       "%d SignerInfos; a seal has exactly one", n);
		return -1;
	}
	v->si = sk_CMS_SignerInfo_value(sis, 0);
	CMS_set1_signers_certs(v->cms, NULL, 0);
	ERR_clear_error();
	CMS_SignerInfo_get0_algs(v->si, NULL, &v->signer, NULL, NULL);
	certs = CMS_get1_certs(v->cms);
	ncerts = certs ? sk_X509_num(certs) : 0;
	sk_X509_pop_free(certs, X509_free);
	if (v->signer == NULL) {
		vc_set(v, VERIFY_CADES_STRUCTURE, VERIFY_FAILED,
		       "the signer's certificate is not in the signature (%d certificate(s) "
		       "there, none matches the SignerInfo)",
		       ncerts);
		return -1;
	}
	vc_set(v, VERIFY_CADES_STRUCTURE, VERIFY_OK,
	       "CMS SignedData, detached, content type id-data, one SignerInfo, %d "
	       "certificate(s) including the signer's",
	       ncerts);
	return 0;
notcms:
	BIO_free(b);
	ERR_clear_error();
	vc_set(v, VERIFY_CADES_STRUCTURE, VERIFY_FAILED,
	       "not a CMS signature (neither DER nor PEM; damaged or not a .p7s)");
	return -1;
}

/* ---- content ---- */

/* Stream the content through the signer's digest and SHA-256. */
static void vc_content(struct vc *v, BIO *content)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new(), *s = EVP_MD_CTX_new();
	unsigned char *blk = OPENSSL_malloc(VC_BLOCK);
	unsigned int slen;
	int r = -1;

	if (c == NULL || s == NULL || blk == NULL || !EVP_DigestInit_ex(s, EVP_sha256(), NULL) ||
	    (v->md != NULL && !EVP_DigestInit_ex(c, v->md, NULL)))
		goto out;
	while ((r = BIO_read(content, blk, VC_BLOCK)) > 0) {
		if (!EVP_DigestUpdate(s, blk, (size_t)r) ||
		    (v->md != NULL && !EVP_DigestUpdate(c, blk, (size_t)r)))
			goto out;
		v->r->size += (unsigned long long)r;
	}
	if (r < 0) /* a read error, not the end */
		goto out;
	if (!EVP_DigestFinal_ex(s, v->r->sha256, &slen) ||
	    (v->md != NULL && !EVP_DigestFinal_ex(c, v->dg, &v->dglen)))
		goto out;
	v->r->content_read = 1;
out:
	ERR_clear_error();
	OPENSSL_free(blk);
	EVP_MD_CTX_free(c);
	EVP_MD_CTX_free(s);
}

/* ---- 2. message-digest and the other signed attributes ---- */

/* Number of signed attributes of type nid. */
static int vc_attr_count(CMS_SignerInfo *si, int nid)
{
	int n = 0, i = -1;

	while ((i = CMS_signed_get_attr_by_NID(si, nid, i)) >= 0)
		n++;
	return n;
}

/* message-digest equals the digest of the content. */
static void vc_digest(struct vc *v)
{
	ASN1_OCTET_STRING *md;

	if (!v->r->content_read) {
		vc_set(v, VERIFY_CADES_DIGEST, VERIFY_FAILED,
		       "the signed file cannot be read to its end");
		return;
	}
	if (v->md == NULL) {
		vc_set(v, VERIFY_CADES_DIGEST, VERIFY_FAILED,
		       "the digest algorithm is unknown, the file cannot be compared");
		return;
	}
	if (vc_attr_count(v->si, NID_pkcs9_messageDigest) != 1 ||
	    (md = CMS_signed_get0_data_by_OBJ(v->si, OBJ_nid2obj(NID_pkcs9_messageDigest), -3,
					      V_ASN1_OCTET_STRING)) == NULL) {
		vc_set(v, VERIFY_CADES_DIGEST, VERIFY_FAILED,
		       "no single message-digest attribute: nothing binds the file to the "
		       "signature");
		return;
	}
	if ((unsigned int)ASN1_STRING_length(md) != v->dglen ||
	    memcmp(ASN1_STRING_get0_data(md), v->dg, v->dglen) != 0) {
		vc_set(v, VERIFY_CADES_DIGEST, VERIFY_FAILED,
		       "the file does not match its signature: its %s differs from the "
		       "signed message-digest (changed after signing, or not the signed file)",
		       vc_md_name(v->md_nid));
		return;
	}
	vc_set(v, VERIFY_CADES_DIGEST, VERIFY_OK,
	       "the %s of the file (%llu bytes) equals the signed message-digest",
	       vc_md_name(v->md_nid), v->r->size);
}

/* content-type id-data and signing-time, each exactly once. */
static void vc_attributes(struct vc *v)
{
	ASN1_OBJECT *ct;
	X509_ATTRIBUTE *a;
	ASN1_TYPE *ty;
	char when[32];
	int i;

	if (CMS_signed_get_attr_count(v->si) <= 0) {
		vc_set(v, VERIFY_CADES_ATTRIBUTES, VERIFY_FAILED,
		       "no signed attributes (CAdES requires content-type, message-digest, "
		       "signing-time and signing-certificate)");
		return;
	}
	if (vc_attr_count(v->si, NID_pkcs9_contentType) != 1 ||
	    (ct = CMS_signed_get0_data_by_OBJ(v->si, OBJ_nid2obj(NID_pkcs9_contentType), -3,
					      V_ASN1_OBJECT)) == NULL ||
	    OBJ_obj2nid(ct) != NID_pkcs7_data) {
		vc_set(v, VERIFY_CADES_ATTRIBUTES, VERIFY_FAILED,
		       "the content-type attribute is missing, repeated or not id-data");
		return;
	}
	if (vc_attr_count(v->si, NID_pkcs9_signingTime) != 1 ||
	    (i = CMS_signed_get_attr_by_NID(v->si, NID_pkcs9_signingTime, -1)) < 0 ||
	    (a = CMS_signed_get_attr(v->si, i)) == NULL || X509_ATTRIBUTE_count(a) != 1 ||
	    (ty = X509_ATTRIBUTE_get0_type(a, 0)) == NULL ||
	    (ty->type != V_ASN1_UTCTIME && ty->type != V_ASN1_GENERALIZEDTIME) ||
	    (v->r->signing_time = vc_time(ty->value.utctime)) == 0) {
		vc_set(v, VERIFY_CADES_ATTRIBUTES, VERIFY_FAILED,
		       "no single readable signing-time attribute (CAdES baseline B requires "
		       "it)");
		return;
	}
	vc_set(v, VERIFY_CADES_ATTRIBUTES, VERIFY_OK,
	       "content-type id-data; signing-time %s (the signer's claim)",
	       vc_iso(v->r->signing_time, when));
}

/* ---- 3. ESS signing-certificate ---- */

/* issuerSerial names the signer's issuer and serial. 0, or -1 with why set. */
static int vc_issuer_serial(const VC_ISSUER_SERIAL *is, X509 *cert, char *why, size_t whylen)
{
	int i, found = 0;

	if (ASN1_INTEGER_cmp(is->serial, X509_get0_serialNumber(cert)) != 0) {
		snprintf(why, whylen,
			 "its issuerSerial names another serial number than the signer's "
			 "certificate has");
		return -1;
	}
	for (i = 0; i < OPENSSL_sk_num(is->issuer); i++) {
		const GENERAL_NAME *gn = OPENSSL_sk_value(is->issuer, i);

		if (gn->type == GEN_DIRNAME &&
		    X509_NAME_cmp(gn->d.directoryName, X509_get_issuer_name(cert)) == 0)
			found = 1;
	}
	if (!found) {
		snprintf(why, whylen,
			 "its issuerSerial names another issuer than the signer's certificate "
			 "has");
		return -1;
	}
	return 0;
}

/* The DER of the single value of the signed attribute nid, or NULL. */
static const ASN1_STRING *vc_attr_seq(CMS_SignerInfo *si, int nid)
{
	int i = CMS_signed_get_attr_by_NID(si, nid, -1);
	X509_ATTRIBUTE *a;
	ASN1_TYPE *ty;

	if (i < 0 || (a = CMS_signed_get_attr(si, i)) == NULL || X509_ATTRIBUTE_count(a) != 1 ||
	    (ty = X509_ATTRIBUTE_get0_type(a, 0)) == NULL || ty->type != V_ASN1_SEQUENCE)
		return NULL;
	return ty->value.sequence;
}

/* Check one certificate hash against cert with md. 0, or -1 with why set. */
static int vc_cert_hash(const ASN1_OCTET_STRING *h, const EVP_MD *md, X509 *cert, char *why,
			size_t whylen)
{
	unsigned char dg[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!X509_digest(cert, md, dg, &n) || (unsigned int)ASN1_STRING_length(h) != n ||
	    memcmp(ASN1_STRING_get0_data(h), dg, n) != 0) {
		snprintf(why, whylen,
			 "its %s certificate hash does not match the signer's certificate (the "
			 "signature names another certificate)",
			 EVP_MD_get0_name(md));
		return -1;
	}
	return 0;
}

/* ESS signing-certificate-v2 (preferred) or v1 names the signer's certificate. */
static void vc_signing_cert(struct vc *v)
{
	int n2 = vc_attr_count(v->si, NID_id_smime_aa_signingCertificateV2);
	int n1 = vc_attr_count(v->si, NID_id_smime_aa_signingCertificate);
	const ASN1_STRING *s;
	const unsigned char *p;
	char why[400];

	if (n2 + n1 == 0) {
		vc_set(v, VERIFY_CADES_SIGNING_CERT, VERIFY_FAILED,
		       "no ESS signing-certificate(-v2) attribute: the signature does not bind "
		       "its certificate (CAdES baseline B requires it)");
		return;
	}
	if (n2 > 1 || n1 > 1) {
		vc_set(v, VERIFY_CADES_SIGNING_CERT, VERIFY_FAILED,
		       "the ESS signing-certificate attribute is repeated");
		return;
	}
	if (n2 == 1) {
		VC_SIGNING_CERT_V2 *sc = NULL;
		const VC_CERT_ID_V2 *id;
		const EVP_MD *md = EVP_sha256();
		int nid = NID_sha256, rc = -1, has_is = 0;

		snprintf(why, sizeof(why), "ESS signing-certificate-v2 cannot be decoded");
		if ((s = vc_attr_seq(v->si, NID_id_smime_aa_signingCertificateV2)) == NULL)
			goto v2out;
		p = ASN1_STRING_get0_data(s);
		sc = (VC_SIGNING_CERT_V2 *)ASN1_item_d2i(NULL, &p, ASN1_STRING_length(s),
							 ASN1_ITEM_rptr(VC_SIGNING_CERT_V2));
		if (sc == NULL || OPENSSL_sk_num(sc->certs) < 1)
			goto v2out;
		id = OPENSSL_sk_value(sc->certs, 0);
		if (id->hash_alg != NULL) {
			nid = OBJ_obj2nid(id->hash_alg->algorithm);
			if (!vc_md_ok(nid) || (md = EVP_get_digestbynid(nid)) == NULL) {
				snprintf(
				    why, sizeof(why),
				    "ESS signing-certificate-v2 hashes the certificate with %s "
				    "(SHA-256, -384 or -512 required)",
				    vc_md_name(nid));
				goto v2out;
			}
		}
		has_is = id->issuer_serial != NULL;
		if (vc_cert_hash(id->hash, md, v->signer, why, sizeof(why)) == -1 ||
		    (has_is &&
		     vc_issuer_serial(id->issuer_serial, v->signer, why, sizeof(why)) == -1))
			goto v2out;
		rc = 0;
	v2out:
		ERR_clear_error();
		ASN1_item_free((ASN1_VALUE *)sc, ASN1_ITEM_rptr(VC_SIGNING_CERT_V2));
		if (rc == -1)
			vc_set(v, VERIFY_CADES_SIGNING_CERT, VERIFY_FAILED, "%s", why);
		else
			vc_set(v, VERIFY_CADES_SIGNING_CERT, VERIFY_OK,
			       "ESS signing-certificate-v2: the %s certificate hash%s match%s the "
			       "signer's certificate",
			       vc_md_name(nid), has_is ? " and issuerSerial" : "",
			       has_is ? "" : "es");
		return;
	} else {
		VC_SIGNING_CERT *sc = NULL;
		const VC_CERT_ID *id;
		int rc = -1, has_is = 0;

		snprintf(why, sizeof(why), "ESS signing-certificate cannot be decoded");
		if ((s = vc_attr_seq(v->si, NID_id_smime_aa_signingCertificate)) == NULL)
			goto v1out;
		p = ASN1_STRING_get0_data(s);
		sc = (VC_SIGNING_CERT *)ASN1_item_d2i(NULL, &p, ASN1_STRING_length(s),
						      ASN1_ITEM_rptr(VC_SIGNING_CERT));
		if (sc == NULL || OPENSSL_sk_num(sc->certs) < 1)
			goto v1out;
		id = OPENSSL_sk_value(sc->certs, 0);
		has_is = id->issuer_serial != NULL;
		if (vc_cert_hash(id->hash, EVP_sha1(), v->signer, why, sizeof(why)) == -1 ||
		    (has_is &&
		     vc_issuer_serial(id->issuer_serial, v->signer, why, sizeof(why)) == -1))
			goto v1out;
		rc = 0;
	v1out:
		ERR_clear_error();
		ASN1_item_free((ASN1_VALUE *)sc, ASN1_ITEM_rptr(VC_SIGNING_CERT));
		if (rc == -1)
			vc_set(v, VERIFY_CADES_SIGNING_CERT, VERIFY_FAILED, "%s", why);
		else
			vc_set(v, VERIFY_CADES_SIGNING_CERT, VERIFY_OK,
			       "ESS signing-certificate (v1, SHA-1 certificate hash%s) matches "
			       "the signer's certificate; v2 is preferred",
			       has_is ? " and issuerSerial" : "");
	}
}

/* ---- 4. the signature value ---- */

/* The signature verifies over the signed attributes with the signer's key. */
static void vc_signature(struct vc *v)
{
	char raw[400];

	if (CMS_signed_get_attr_count(v->si) <= 0) {
		vc_set(v, VERIFY_CADES_SIGNATURE, VERIFY_FAILED,
		       "there are no signed attributes to verify the signature over");
		return;
	}
	if (CMS_SignerInfo_verify(v->si) != 1) {
		vc_ssl_errors(raw, sizeof(raw));
		vc_set(v, VERIFY_CADES_SIGNATURE, VERIFY_FAILED,
		       "the signature value does not verify over the signed attributes with "
		       "the signer's public key (the signed attributes were changed, or it was "
		       "made with another key) [%s]",
		       raw[0] ? raw : "no detail");
		return;
	}
	vc_set(v, VERIFY_CADES_SIGNATURE, VERIFY_OK,
	       "the signature value verifies over the signed attributes with the signer's "
	       "public key");
}

/* ---- 6. signature-time-stamp ---- */

/* What one verified token says. */
struct vc_ts {
	time_t gen;
	char tsa[512], policy[80], serial[80], ess[16], alg[32];
};

/* The TSA certificate has exactly the critical extendedKeyUsage timeStamping. */
static int vc_tsa_eku(X509 *c)
{
	int i = X509_get_ext_by_NID(c, NID_ext_key_usage, -1);

	return (X509_get_extension_flags(c) & EXFLAG_XKUSAGE) != 0 &&
	       X509_get_extended_key_usage(c) == XKU_TIMESTAMP && i >= 0 &&
	       X509_EXTENSION_get_critical(X509_get_ext(c, i)) == 1;
}

/* Why TS_RESP_verify_token() failed, from the error queue (emptied). */
static void vc_ts_reason(char *why, size_t whylen)
{
	unsigned long e;
	const char *data;
	int flags, ess = 0, chain = 0, sig = 0;
	char raw[400] = "", one[256];
	size_t used = 0;

	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		if (ERR_GET_LIB(e) == ERR_LIB_ESS)
			ess = 1;
		else if (ERR_GET_LIB(e) == ERR_LIB_TS &&
			 ERR_GET_REASON(e) == TS_R_CERTIFICATE_VERIFY_ERROR)
			chain = 1;
		else if (ERR_GET_LIB(e) == ERR_LIB_TS &&
			 ERR_GET_REASON(e) == TS_R_SIGNATURE_FAILURE)
			sig = 1;
		if (used + 4 >= sizeof(raw))
			continue;
		ERR_error_string_n(e, one, sizeof(one));
		used +=
		    (size_t)snprintf(raw + used, sizeof(raw) - used, "%s%s%s%s", used ? "; " : "",
				     one, (flags & ERR_TXT_STRING) && data && *data ? ": " : "",
				     (flags & ERR_TXT_STRING) && data ? data : "");
		if (used >= sizeof(raw))
			used = sizeof(raw) - 1;
	}
	if (chain)
		snprintf(why, whylen,
			 "the TSA certificate does not chain to the trusted TSA CA now [%s]", raw);
	else if (ess)
		snprintf(why, whylen,
			 "the token's ESS signing-certificate does not name its TSA certificate "
			 "[%s]",
			 raw);
	else if (sig)
		snprintf(why, whylen, "the token's own signature does not verify (changed) [%s]",
			 raw);
	else
		snprintf(why, whylen, "the time-stamp token does not verify [%s]",
			 raw[0] ? raw : "no detail");
}

/* Verify one TimeStampToken over the signature value. 0, or -1 with why set. */
static int vc_token(struct vc *v, const ASN1_TYPE *ty, struct vc_ts *ts, char *why, size_t whylen)
{
	X509_STORE *store = v->t->tsa_ca ? v->t->tsa_ca : v->t->ca;
	ASN1_OCTET_STRING *sv = CMS_SignerInfo_get0_signature(v->si);
	const unsigned char *p;
	PKCS7 *token = NULL;
	TS_TST_INFO *tst = NULL;
	TS_VERIFY_CTX *vctx = NULL;
	STACK_OF(X509) *signers = NULL;
	STACK_OF(PKCS7_SIGNER_INFO) * psis;
	PKCS7_SIGNER_INFO *psi;
	TS_MSG_IMPRINT *mi;
	const ASN1_OBJECT *aobj;
	ASN1_OCTET_STRING *im;
	GENERAL_NAME *gn;
	X509 *tsa;
	unsigned char dg[EVP_MAX_MD_SIZE];
	unsigned int dglen = 0;
	char subj[512];
	const EVP_MD *md;
	int nid, rc = -1;

	memset(ts, 0, sizeof(*ts));
	if (ty == NULL || ty->type != V_ASN1_SEQUENCE) {
		snprintf(why, whylen, "the signature-time-stamp attribute holds no token");
		goto out;
	}
	p = ASN1_STRING_get0_data(ty->value.sequence);
	if ((token = d2i_PKCS7(NULL, &p, ASN1_STRING_length(ty->value.sequence))) == NULL ||
	    !PKCS7_type_is_signed(token) || (tst = PKCS7_to_TS_TST_INFO(token)) == NULL) {
		snprintf(why, whylen, "the signature-time-stamp is not an RFC 3161 token");
		goto out;
	}
	/* the imprint: the hash of this SignerInfo's signature value */
	mi = TS_TST_INFO_get_msg_imprint(tst);
	X509_ALGOR_get0(&aobj, NULL, NULL, TS_MSG_IMPRINT_get_algo(mi));
	nid = OBJ_obj2nid(aobj);
	snprintf(ts->alg, sizeof(ts->alg), "%s", vc_md_name(nid));
	if (!vc_md_ok(nid) || (md = EVP_get_digestbynid(nid)) == NULL) {
		snprintf(why, whylen,
			 "the token's message imprint uses %s (SHA-256, -384 or -512 required)",
			 ts->alg);
		goto out;
	}
	im = TS_MSG_IMPRINT_get_msg(mi);
	if (!EVP_Digest(ASN1_STRING_get0_data(sv), (size_t)ASN1_STRING_length(sv), dg, &dglen, md,
			NULL) ||
	    (unsigned int)ASN1_STRING_length(im) != dglen ||
	    memcmp(ASN1_STRING_get0_data(im), dg, dglen) != 0) {
		snprintf(why, whylen,
			 "the time-stamp is over other data: its message imprint is not the %s of "
			 "this signature's value",
			 ts->alg);
		goto out;
	}
	/* the TSA certificate: in the token, critical EKU timeStamping, bound by ESS */
	if ((signers = PKCS7_get0_signers(token, NULL, 0)) == NULL || sk_X509_num(signers) != 1) {
		snprintf(why, whylen,
			 "the token does not carry its TSA certificate (the request must ask for "
			 "it: certReq)");
		goto out;
	}
	tsa = sk_X509_value(signers, 0);
	vc_name(X509_get_subject_name(tsa), subj, sizeof(subj));
	if (!vc_tsa_eku(tsa)) {
		snprintf(why, whylen,
			 "the TSA certificate \"%.200s\" lacks the critical extendedKeyUsage "
			 "timeStamping as its only purpose (RFC 3161 2.3): it is no TSA",
			 subj);
		goto out;
	}
	psis = PKCS7_get_signer_info(token);
	psi = psis && sk_PKCS7_SIGNER_INFO_num(psis) == 1 ? sk_PKCS7_SIGNER_INFO_value(psis, 0)
							  : NULL;
	if (psi != NULL && PKCS7_get_signed_attribute(psi, NID_id_smime_aa_signingCertificateV2))
		snprintf(ts->ess, sizeof(ts->ess), "ESSCertIDv2");
	else if (psi != NULL && PKCS7_get_signed_attribute(psi, NID_id_smime_aa_signingCertificate))
		snprintf(ts->ess, sizeof(ts->ess), "ESSCertID");
	else {
		snprintf(why, whylen,
			 "the token has no ESS signing-certificate attribute: nothing binds the "
			 "TSA certificate to it");
		goto out;
	}
	/* signature, chain (purpose timestamp, now), ESS match, version */
	if ((vctx = TS_VERIFY_CTX_new()) == NULL || !X509_STORE_up_ref(store))
		goto ossl;
	TS_VERIFY_CTX_set_store(vctx, store);
	TS_VERIFY_CTX_set_flags(vctx, TS_VFY_SIGNATURE | TS_VFY_VERSION);
	if (TS_RESP_verify_token(vctx, token) != 1) {
		vc_ts_reason(why, whylen);
		goto out;
	}
	ts->gen = vc_time(TS_TST_INFO_get_time(tst));
	if (ts->gen == 0) {
		snprintf(why, whylen, "the token's genTime cannot be read");
		goto out;
	}
	if (X509_cmp_time(X509_get0_notBefore(tsa), &ts->gen) > 0) {
		snprintf(why, whylen,
			 "the token's genTime lies before its TSA certificate's "
			 "validity");
		goto out;
	}
	if ((gn = TS_TST_INFO_get_tsa(tst)) != NULL && gn->type == GEN_DIRNAME &&
	    X509_NAME_cmp(gn->d.directoryName, X509_get_subject_name(tsa)) != 0) {
		snprintf(why, whylen, "the token names another TSA than the one that signed it");
		goto out;
	}
	if (gn != NULL && gn->type == GEN_DIRNAME)
		vc_name(gn->d.directoryName, ts->tsa, sizeof(ts->tsa));
	else
		snprintf(ts->tsa, sizeof(ts->tsa), "%s", subj);
	OBJ_obj2txt(ts->policy, sizeof(ts->policy), TS_TST_INFO_get_policy_id(tst), 1);
	vc_hex_int(TS_TST_INFO_get_serial(tst), ts->serial, sizeof(ts->serial));
	rc = 0;
	goto out;
ossl:
	snprintf(why, whylen, "out of memory checking the time-stamp");
out:
	ERR_clear_error();
	sk_X509_free(signers);
	TS_VERIFY_CTX_free(vctx);
	TS_TST_INFO_free(tst);
	PKCS7_free(token);
	return rc;
}

/* Every signature-time-stamp; the earliest verified genTime becomes the POE. */
static void vc_timestamps(struct vc *v)
{
	struct verify_cades_result *r = v->r;
	struct vc_ts ts, first;
	char why[VERIFY_DETAIL_MAX - 64], when[32], st[32];
	int idx = -1, n = 0, k;

	memset(&first, 0, sizeof(first));
	while ((idx = CMS_unsigned_get_attr_by_NID(v->si, NID_id_smime_aa_timeStampToken, idx)) >=
	       0) {
		X509_ATTRIBUTE *a = CMS_unsigned_get_attr(v->si, idx);
		int nv = a ? X509_ATTRIBUTE_count(a) : 0;

		v->ts_present = 1;
		if (nv < 1) {
			vc_set(v, VERIFY_CADES_TIMESTAMP, VERIFY_FAILED,
			       "an empty signature-time-stamp attribute");
			return;
		}
		for (k = 0; k < nv; k++) {
			n++;
			if (vc_token(v, X509_ATTRIBUTE_get0_type(a, k), &ts, why, sizeof(why)) ==
			    -1) {
				vc_set(v, VERIFY_CADES_TIMESTAMP, VERIFY_FAILED, "token %d: %s", n,
				       why);
				return;
			}
			if (r->timestamps++ == 0 || ts.gen < first.gen)
				first = ts;
		}
	}
	if (n == 0) {
		vc_set(v, VERIFY_CADES_TIMESTAMP, VERIFY_NONE,
		       "no signature-time-stamp (CAdES-B-B): the signing time is only the "
		       "signer's claim");
		return;
	}
	if (r->signing_time != 0 && r->signing_time > first.gen + VERIFY_CADES_SKEW) {
		vc_set(v, VERIFY_CADES_TIMESTAMP, VERIFY_FAILED,
		       "the claimed signing-time %s lies after the time-stamp %s: the claim is "
		       "false",
		       vc_iso(r->signing_time, st), vc_iso(first.gen, when));
		return;
	}
	r->ts_time = first.gen;
	snprintf(r->tsa, sizeof(r->tsa), "%s", first.tsa);
	snprintf(r->ts_policy, sizeof(r->ts_policy), "%s", first.policy);
	snprintf(r->ts_serial, sizeof(r->ts_serial), "%s", first.serial);
	vc_set(v, VERIFY_CADES_TIMESTAMP, VERIFY_OK,
	       "%d token(s); genTime %s from TSA \"%s\", policy %s, serial %s, imprint %s of "
	       "the signature value, %s binds the TSA certificate (critical EKU timeStamping, "
	       "chains to the TSA CA now)",
	       r->timestamps, vc_iso(first.gen, when), first.tsa, first.policy, first.serial,
	       first.alg, first.ess);
}

/* ---- 1b. algorithms (after the time-stamp: an old RSA-2048 seal may pass) ---- */

/* The key's type and size ("EC P-256", "RSA 3072") and whether TR-02102-1 allows it. */
static enum verify_status vc_key(struct vc *v, char *why, size_t whylen)
{
	EVP_PKEY *pk = X509_get0_pubkey(v->signer);
	int bits = pk ? EVP_PKEY_get_bits(pk) : 0;
	char group[64] = "";
	const char *nist;

	if (pk == NULL) {
		snprintf(why, whylen, "the signer's public key cannot be read");
		return VERIFY_FAILED;
	}
	if (EVP_PKEY_is_a(pk, "RSA") || EVP_PKEY_is_a(pk, "RSA-PSS")) {
		snprintf(v->r->key, sizeof(v->r->key), "RSA %d", bits);
		if (bits >= 3000)
			return VERIFY_OK;
		if (bits >= 2000 && v->r->timestamps > 0 && v->r->ts_time != 0 &&
		    v->r->ts_time < VERIFY_CADES_RSA2000_UNTIL) {
			snprintf(why, whylen,
				 "RSA %d bit: conform to TR-02102-1 only until 2023; the "
				 "time-stamp proves this signature is older",
				 bits);
			return VERIFY_WARN;
		}
		snprintf(why, whylen, "RSA %d bit is below TR-02102-1 (RSA >= 3000 bit%s)", bits,
			 bits >= 2000 ? "; >= 2000 bit only until 2023, and no time-stamp proves "
					"an earlier signature"
				      : "");
		return VERIFY_FAILED;
	}
	if (EVP_PKEY_is_a(pk, "EC")) {
		EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					       NULL);
		nist = EC_curve_nid2nist(OBJ_sn2nid(group));
		snprintf(v->r->key, sizeof(v->r->key), "EC %s", nist ? nist : group);
	} else if (EVP_PKEY_is_a(pk, "ED25519") || EVP_PKEY_is_a(pk, "ED448")) {
		snprintf(v->r->key, sizeof(v->r->key), "%s", EVP_PKEY_get0_type_name(pk));
	} else {
		snprintf(v->r->key, sizeof(v->r->key), "%s %d",
			 EVP_PKEY_get0_type_name(pk) ? EVP_PKEY_get0_type_name(pk) : "?", bits);
		snprintf(why, whylen, "key type %s is not allowed for seals here (RSA or EC)",
			 v->r->key);
		return VERIFY_FAILED;
	}
	if (bits < 250) {
		snprintf(why, whylen, "%s (%d bit) is below TR-02102-1 (EC >= 250 bit)", v->r->key,
			 bits);
		return VERIFY_FAILED;
	}
	return VERIFY_OK;
}

/* digestAlgorithm SHA-2, the signature algorithm consistent with it, the key strong. */
static void vc_algorithms(struct vc *v)
{
	X509_ALGOR *dig = NULL, *sig = NULL;
	const ASN1_OBJECT *o;
	char why[400] = "", sname[80];
	int signid, mdnid = NID_undef, pknid = NID_undef;
	enum verify_status ks;

	CMS_SignerInfo_get0_algs(v->si, NULL, NULL, &dig, &sig);
	X509_ALGOR_get0(&o, NULL, NULL, sig);
	signid = OBJ_obj2nid(o);
	OBJ_obj2txt(sname, sizeof(sname), o, 0);
	ks = vc_key(v, why, sizeof(why));
	if (!vc_md_ok(v->md_nid)) {
		vc_set(v, VERIFY_CADES_ALGORITHMS, VERIFY_FAILED,
		       "digest algorithm %s: TR-02102-1 requires SHA-256, SHA-384 or SHA-512",
		       vc_md_name(v->md_nid));
		return;
	}
	if (OBJ_find_sigid_algs(signid, &mdnid, &pknid) && mdnid != NID_undef &&
	    mdnid != v->md_nid) {
		vc_set(v, VERIFY_CADES_ALGORITHMS, VERIFY_FAILED,
		       "signature algorithm %s does not fit the digest algorithm %s", sname,
		       vc_md_name(v->md_nid));
		return;
	}
	if (ks == VERIFY_FAILED) {
		vc_set(v, VERIFY_CADES_ALGORITHMS, VERIFY_FAILED, "%s", why);
		return;
	}
	vc_set(v, VERIFY_CADES_ALGORITHMS, ks, "%s, %s, %s key%s%s", vc_md_name(v->md_nid), sname,
	       v->r->key, ks == VERIFY_WARN ? ": " : " (TR-02102-1 conform)",
	       ks == VERIFY_WARN ? why : "");
}

/* ---- 5. the signer's certificate ---- */

/* keyUsage digitalSignature or nonRepudiation (no extension: unrestricted). */
static int vc_key_usage(X509 *c, char *out, size_t outlen)
{
	uint32_t ku = X509_get_key_usage(c);

	if (ku == UINT32_MAX) {
		snprintf(out, outlen, "no keyUsage extension (unrestricted)");
		return 0;
	}
	if ((ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0)
		return -1;
	snprintf(out, outlen, "keyUsage%s%s", ku & KU_DIGITAL_SIGNATURE ? " digitalSignature" : "",
		 ku & KU_NON_REPUDIATION ? " nonRepudiation" : "");
	return 0;
}

/* Chain to the trust anchor at the signature's time; keyUsage. */
static void vc_certificate(struct vc *v)
{
	struct verify_cades_result *r = v->r;
	STACK_OF(X509) *untrusted = CMS_get1_certs(v->cms), *chain;
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	time_t now = time(NULL), when;
	const char *basis;
	char at[32], until[32], ku[96], root[256] = "", note[160] = "";
	int err, depth;

	if (r->timestamps > 0 && r->ts_time != 0) {
		when = r->ts_time;
		basis = "the time-stamp's genTime";
	} else if (r->signing_time != 0) {
		when = r->signing_time;
		basis = "the claimed signing-time";
	} else {
		when = now;
		basis = "now (no signing time)";
	}
	vc_iso(when, at);
	if (ctx == NULL || !X509_STORE_CTX_init(ctx, v->t->ca, v->signer, untrusted)) {
		vc_set(v, VERIFY_CADES_CERTIFICATE, VERIFY_FAILED,
		       "cannot set up the chain check (out of memory)");
		goto out;
	}
	X509_STORE_CTX_set_time(ctx, 0, when);
	if (X509_verify_cert(ctx) != 1) {
		err = X509_STORE_CTX_get_error(ctx);
		depth = X509_STORE_CTX_get_error_depth(ctx);
		if (err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID)
			vc_set(v, VERIFY_CADES_CERTIFICATE, VERIFY_FAILED,
			       "the %s certificate was %s at %s (%s)",
			       depth == 0 ? "signer's" : "issuing CA's",
			       err == X509_V_ERR_CERT_HAS_EXPIRED ? "expired" : "not yet valid", at,
			       basis);
		else if (err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
			 err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
			 err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
			 err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
			 err == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE)
			vc_set(v, VERIFY_CADES_CERTIFICATE, VERIFY_FAILED,
			       "the signer's certificate does not chain to the trusted CA (%s)",
			       X509_verify_cert_error_string(err));
		else
			vc_set(v, VERIFY_CADES_CERTIFICATE, VERIFY_FAILED,
			       "the certificate chain is invalid at depth %d: %s", depth,
			       X509_verify_cert_error_string(err));
		goto out;
	}
	if (vc_key_usage(v->signer, ku, sizeof(ku)) == -1) {
		vc_set(v, VERIFY_CADES_CERTIFICATE, VERIFY_FAILED,
		       "the signer's certificate may not sign: its keyUsage has neither "
		       "digitalSignature nor nonRepudiation");
		goto out;
	}
	chain = X509_STORE_CTX_get0_chain(ctx);
	if (chain != NULL && sk_X509_num(chain) > 0 &&
	    vc_cn(X509_get_subject_name(sk_X509_value(chain, sk_X509_num(chain) - 1)), root,
		  sizeof(root)) == -1)
		vc_name(X509_get_subject_name(sk_X509_value(chain, sk_X509_num(chain) - 1)), root,
			sizeof(root));
	if (X509_cmp_time(X509_get0_notAfter(v->signer), &now) < 0)
		snprintf(note, sizeof(note), "; expired since %s, after the signature",
			 vc_iso(vc_time(X509_get0_notAfter(v->signer)), until));
	vc_set(v, VERIFY_CADES_CERTIFICATE, VERIFY_OK,
	       "\"%s\" (serial %s) chains to \"%s\" in %d step(s); valid at %s (%s)%s; %s; %s; "
	       "revocation not checked (no CRL or OCSP data)",
	       r->subject, r->serial, root, chain ? sk_X509_num(chain) - 1 : 0, at, basis, note, ku,
	       r->test_pki ? "TEST PKI (not qualified)" : "not the TEST PKI");
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(untrusted, X509_free);
}

/* Describe the signer for the report. */
static void vc_describe(struct vc *v)
{
	struct verify_cades_result *r = v->r;

	vc_name(X509_get_subject_name(v->signer), r->subject, sizeof(r->subject));
	vc_name(X509_get_issuer_name(v->signer), r->issuer, sizeof(r->issuer));
	if (vc_cn(X509_get_subject_name(v->signer), r->common_name, sizeof(r->common_name)) == -1)
		snprintf(r->common_name, sizeof(r->common_name), "%.255s", r->subject);
	vc_hex_int(X509_get0_serialNumber(v->signer), r->serial, sizeof(r->serial));
	r->test_pki = verify_cades_is_test_name(X509_get_subject_name(v->signer)) ||
		      verify_cades_is_test_name(X509_get_issuer_name(v->signer));
}

int verify_cades(const unsigned char *sig, size_t len, BIO *content,
		 const struct verify_cades_trust *t, struct verify_cades_result *r)
{
	struct vc v;
	X509_ALGOR *dig = NULL;
	const ASN1_OBJECT *o;
	int i;

	memset(r, 0, sizeof(*r));
	memset(&v, 0, sizeof(v));
	v.r = r;
	v.t = t;
	for (i = 0; i < VERIFY_CADES_NCHECKS; i++) {
		r->checks[i].name = vc_names[i];
		r->checks[i].status = VERIFY_NONE;
		snprintf(r->checks[i].detail, sizeof(r->checks[i].detail),
			 "not checked: the signature's structure is unusable");
	}
	ERR_clear_error();
	if (vc_structure(&v, sig, len) == 0) {
		CMS_SignerInfo_get0_algs(v.si, NULL, NULL, &dig, NULL);
		X509_ALGOR_get0(&o, NULL, NULL, dig);
		v.md_nid = OBJ_obj2nid(o);
		v.md = v.md_nid != NID_undef ? EVP_get_digestbynid(v.md_nid) : NULL;
		snprintf(r->digest, sizeof(r->digest), "%s", vc_md_name(v.md_nid));
		vc_describe(&v);
	}
	vc_content(&v, content); /* also for a broken signature: the caller wants the SHA-256 */
	if (v.si != NULL) {
		vc_digest(&v);
		vc_attributes(&v);
		/* without the signer's certificate (structure FAILED) the checks that need
		 * it stay "not checked" (fuzz/regressions/cades) */
		if (v.signer != NULL) {
			vc_signing_cert(&v);
			vc_signature(&v);
		}
		vc_timestamps(&v);
		vc_algorithms(&v);
		if (v.signer != NULL)
			vc_certificate(&v);
		if (r->checks[VERIFY_CADES_TIMESTAMP].status == VERIFY_FAILED)
			r->timestamps = 0;
		if (v.ts_present)
			r->level = "CAdES-B-T";
		else if (vc_attr_count(v.si, NID_pkcs9_signingTime) > 0 &&
			 vc_attr_count(v.si, NID_id_smime_aa_signingCertificateV2) +
				 vc_attr_count(v.si, NID_id_smime_aa_signingCertificate) >
			     0)
			r->level = "CAdES-B-B";
	}
	for (i = 0; i < VERIFY_CADES_NCHECKS; i++) {
		if (r->checks[i].status == VERIFY_FAILED)
			r->failed++;
		else if (r->checks[i].status == VERIFY_WARN)
			r->warned++;
	}
	ERR_clear_error();
	CMS_ContentInfo_free(v.cms);
	return r->failed;
}
