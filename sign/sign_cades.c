/*
 * sign_cades.c - detached CMS / CAdES-B-B signatures; see sign_cades.h.
 *
 * OpenSSL's CMS_final() would sign with an EVP_PKEY in this process. We build the
 * SignerInfo with the certificate's public key instead (CMS_PARTIAL), add the four
 * signed attributes ourselves, DER-encode them as the SET OF that is signed
 * (RFC 5652 §5.4: universal SET tag, DER order) and ask the key holder to sign
 * the digest of that encoding. The signature is checked with the certificate's
 * public key before the .p7s is written, so a faulty key holder cannot produce a
 * seal that does not verify.
 *
 * The B-T upgrade parses the finished .p7s, proves that OpenSSL re-encodes it to
 * the same bytes, adds the signature-time-stamp with CMS_unsigned_add1_attr and
 * encodes it again; only SignerInfo.unsignedAttrs and the enclosing lengths change.
 */
#include "sign_cades.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/objects.h>

#include "buf.h"
#include "fileio.h"
#include "log.h"
#include "xalloc.h"

#define CADES_MAX_ATTRS 16
#define CADES_MAX_DER (256u << 10) /* a .p7s is a few KiB; anything bigger is a bug */
#define CADES_BLOCK 65536

static void cades_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Format a message into err. */
static void cades_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* One DER-encoded attribute while sorting. */
struct cades_enc {
	unsigned char *p;
	int len;
};

/* DER order of SET OF elements, as OpenSSL's own encoder sorts them. */
static int cades_enc_cmp(const void *a, const void *b)
{
	const struct cades_enc *x = a, *y = b;
	int n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, (size_t)n);

	return c != 0 ? c : x->len - y->len;
}

/* The DER of the signed attributes as signed: SET OF Attribute (tag 0x31). Caller frees. */
static unsigned char *cades_attrs_der(CMS_SignerInfo *si, size_t *lenp)
{
	struct cades_enc enc[CADES_MAX_ATTRS];
	int i, n = CMS_signed_get_attr_count(si);
	size_t total = 0, hdr, off;
	unsigned char *der = NULL;

	if (n < 1 || n > CADES_MAX_ATTRS)
		return NULL;
	memset(enc, 0, sizeof(enc));
	for (i = 0; i < n; i++) {
		if ((enc[i].len = i2d_X509_ATTRIBUTE(CMS_signed_get_attr(si, i), &enc[i].p)) <= 0)
			goto out;
		total += (size_t)enc[i].len;
	}
	qsort(enc, (size_t)n, sizeof(enc[0]), cades_enc_cmp);
	hdr = total < 0x80 ? 2 : total < 0x100 ? 3 : total < 0x10000 ? 4 : 5;
	if (total >= 0x1000000 || (der = OPENSSL_malloc(hdr + total)) == NULL)
		goto out;
	der[0] = 0x31;
	if (hdr == 2) {
		der[1] = (unsigned char)total;
	} else {
		size_t k, nb = hdr - 2;

		der[1] = (unsigned char)(0x80 | nb);
		for (k = 0; k < nb; k++)
			der[2 + k] = (unsigned char)(total >> (8 * (nb - 1 - k)));
	}
	off = hdr;
	for (i = 0; i < n; i++) {
		memcpy(der + off, enc[i].p, (size_t)enc[i].len);
		off += (size_t)enc[i].len;
	}
	*lenp = off;
out:
	for (i = 0; i < n; i++)
		OPENSSL_free(enc[i].p);
	return der;
}

/* Add the ESS signing-certificate-v2 attribute (SHA-256 ESSCertIDv2 with issuerSerial). */
static int cades_add_signing_cert_v2(CMS_SignerInfo *si, X509 *cert)
{
	ESS_SIGNING_CERT_V2 *sc = NULL;
	ASN1_STRING *seq = NULL;
	unsigned char *der = NULL;
	int len, rc = -1;

	if ((sc = OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), cert, NULL, 1)) == NULL)
		goto out;
	if ((len = i2d_ESS_SIGNING_CERT_V2(sc, &der)) <= 0)
		goto out;
	if ((seq = ASN1_STRING_new()) == NULL || !ASN1_STRING_set(seq, der, len))
		goto out;
	if (!CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE,
					 seq, -1))
		goto out;
	rc = 0;
out:
	ASN1_STRING_free(seq);
	OPENSSL_free(der);
	ESS_SIGNING_CERT_V2_free(sc);
	return rc;
}

/* Stream content through md (and SHA-256 for the caller: the same pass when md is
 * SHA-256, which hashes every byte once). 0 or -1 (read error). */
static int cades_digest_content(BIO *content, const EVP_MD *md, unsigned char *dg,
				unsigned int *dglen, struct sign_cades_out *res)
{
	int same = EVP_MD_get_type(md) == NID_sha256;
	EVP_MD_CTX *c = EVP_MD_CTX_new(), *s = same ? NULL : EVP_MD_CTX_new();
	unsigned char *blk = OPENSSL_malloc(CADES_BLOCK);
	unsigned int slen;
	int r, rc = -1;

	res->size = 0;
	if (c == NULL || (!same && s == NULL) || blk == NULL || !EVP_DigestInit_ex(c, md, NULL) ||
	    (!same && !EVP_DigestInit_ex(s, EVP_sha256(), NULL)))
		goto out;
	while ((r = BIO_read(content, blk, CADES_BLOCK)) > 0) {
		if (!EVP_DigestUpdate(c, blk, (size_t)r) ||
		    (!same && !EVP_DigestUpdate(s, blk, (size_t)r)))
			goto out;
		res->size += (unsigned long long)r;
	}
	if (r < 0) /* a file BIO reports a read error as -1 */
		goto out;
	if (!EVP_DigestFinal_ex(c, dg, dglen))
		goto out;
	if (same)
		memcpy(res->sha256, dg, DIGEST_SHA256_LEN);
	else if (!EVP_DigestFinal_ex(s, res->sha256, &slen))
		goto out;
	rc = 0;
out:
	OPENSSL_free(blk);
	EVP_MD_CTX_free(c);
	EVP_MD_CTX_free(s);
	return rc;
}

int sign_cades_bio(sign_key *k, const EVP_MD *md, time_t t, BIO *content, BIO *out,
		   struct sign_cades_out *res, const char *tag, char *err, size_t errlen)
{
	X509 *cert = sign_key_cert(k);
	STACK_OF(X509) *chain = sign_key_chain(k);
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	ASN1_TIME *st = NULL;
	EVP_PKEY_CTX *vctx = NULL;
	struct sign_key_request rq;
	struct sign_key_response rs;
	unsigned char dg[EVP_MAX_MD_SIZE], *attrs = NULL;
	unsigned int dglen = 0;
	size_t alen = 0;
	int i, len, rc = -1;

	memset(&rq, 0, sizeof(rq));
	memset(res, 0, sizeof(*res));
	if (cades_digest_content(content, md, dg, &dglen, res) == -1) {
		cades_errf(err, errlen, "cannot read the content to sign");
		goto ossl;
	}
	if ((cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_DETACHED | CMS_BINARY)) ==
		NULL ||
	    !CMS_set_detached(cms, 1))
		goto ossl;
	/* The public key stands in for the private one: the signature comes from k. */
	if ((si = CMS_add1_signer(cms, cert, X509_get0_pubkey(cert), md,
				  CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP)) == NULL)
		goto ossl;
	for (i = 0; i < sk_X509_num(chain); i++)
		if (CMS_add1_cert(cms, sk_X509_value(chain, i)) <= 0)
			goto ossl;
	if ((st = ASN1_TIME_set(NULL, t)) == NULL)
		goto ossl;
	if (!CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
					 OBJ_nid2obj(NID_pkcs7_data), -1) ||
	    !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, st->type, st, -1) ||
	    !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING, dg,
					 (int)dglen) ||
	    cades_add_signing_cert_v2(si, cert) == -1)
		goto ossl;
	if ((attrs = cades_attrs_der(si, &alen)) == NULL)
		goto ossl;
	rq.md_nid = EVP_MD_get_type(md);
	if (!EVP_Digest(attrs, alen, rq.digest, &rq.len, md, NULL))
		goto ossl;
	if (sign_key_sign(k, &rq, &rs, err, errlen) == -1)
		goto out;
	/* Check the key holder's answer before anything is written. */
	if ((vctx = EVP_PKEY_CTX_new_from_pkey(NULL, X509_get0_pubkey(cert), NULL)) == NULL ||
	    EVP_PKEY_verify_init(vctx) <= 0 || EVP_PKEY_CTX_set_signature_md(vctx, md) <= 0 ||
	    (EVP_PKEY_is_a(X509_get0_pubkey(cert), "RSA") &&
	     EVP_PKEY_CTX_set_rsa_padding(vctx, RSA_PKCS1_PADDING) <= 0))
		goto ossl;
	if (EVP_PKEY_verify(vctx, rs.sig, rs.len, rq.digest, rq.len) != 1) {
		cades_errf(err, errlen, "the key returned a signature that does not verify");
		goto ossl;
	}
	if (!ASN1_STRING_set(CMS_SignerInfo_get0_signature(si), rs.sig, (int)rs.len))
		goto ossl;
	if ((len = i2d_CMS_bio(out, cms)) <= 0 || BIO_flush(out) <= 0)
		goto ossl;
	res->der_len = (size_t)BIO_number_written(out);
	rc = 0;
	goto out;
ossl:
	sign_key_log_errors(tag);
	if (err[0] == '\0')
		cades_errf(err, errlen, "building the CMS signature failed (OpenSSL error)");
out:
	OPENSSL_cleanse(&rs, sizeof(rs));
	EVP_PKEY_CTX_free(vctx);
	OPENSSL_free(attrs);
	ASN1_TIME_free(st);
	CMS_ContentInfo_free(cms);
	return rc;
}

int sign_cades_file(sign_key *k, const EVP_MD *md, time_t t, const char *content_path,
		    const char *p7s_path, struct sign_cades_out *res, const char *tag, char *err,
		    size_t errlen)
{
	BIO *in = NULL, *mem = NULL;
	char *data;
	long n;
	int rc = -1;

	err[0] = '\0';
	errno = 0;
	if ((in = BIO_new_file(content_path, "rb")) == NULL) {
		int e = errno;

		ERR_clear_error();
		cades_errf(err, errlen, "%s: cannot open: %s", content_path, strerror(e));
		errno = e;
		goto out;
	}
	if ((mem = BIO_new(BIO_s_mem())) == NULL) {
		sign_key_log_errors(tag);
		cades_errf(err, errlen, "out of memory");
		goto out;
	}
	if (sign_cades_bio(k, md, t, in, mem, res, tag, err, errlen) == -1) {
		errno = 0;
		goto out;
	}
	n = BIO_get_mem_data(mem, &data);
	if (n <= 0 || (unsigned long)n > CADES_MAX_DER) {
		cades_errf(err, errlen, "CMS signature of %ld bytes out of bounds", n);
		errno = 0;
		goto out;
	}
	/* A stale .tmp of an interrupted run is removed by spool_clean_active at claim. */
	if (fio_write_atomic(p7s_path, data, (size_t)n, 0600) == -1) {
		int e = errno;

		cades_errf(err, errlen, "%s: cannot write: %s", p7s_path, strerror(e));
		errno = e;
		goto out;
	}
	rc = 0;
out:
	BIO_free(in);
	BIO_free(mem);
	return rc;
}

/* The signing-time attribute of si as time_t; (time_t)-1 if absent or unreadable. */
static time_t cades_signing_time(CMS_SignerInfo *si)
{
	int i = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
	ASN1_TYPE *at;
	struct tm tm;

	if (i < 0 || (at = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, i), 0)) == NULL ||
	    (at->type != V_ASN1_UTCTIME && at->type != V_ASN1_GENERALIZEDTIME) ||
	    ASN1_TIME_to_tm(at->value.asn1_string, &tm) != 1)
		return (time_t)-1;
	return timegm(&tm);
}

/*
 * Parse p7s as a detached SignedData with at least one SignerInfo whose signature
 * verifies over its signed attributes with the certificate it names. NULL with
 * err set (PERMANENT) otherwise.
 */
static CMS_ContentInfo *cades_parse_signed(const unsigned char *p7s, size_t len,
					   CMS_SignerInfo **sip, char *err, size_t errlen)
{
	const unsigned char *p = p7s;
	CMS_ContentInfo *cms;
	STACK_OF(CMS_SignerInfo) * sis;

	if (len == 0 || len > CADES_MAX_DER ||
	    (cms = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL) {
		cades_errf(err, errlen, "not a DER CMS structure (%zu bytes)", len);
		return NULL;
	}
	if (p != p7s + len || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
	    CMS_is_detached(cms) != 1 || (sis = CMS_get0_SignerInfos(cms)) == NULL ||
	    sk_CMS_SignerInfo_num(sis) < 1) {
		cades_errf(err, errlen, "not a detached SignedData with a SignerInfo");
		goto fail;
	}
	*sip = sk_CMS_SignerInfo_value(sis, 0);
	/* Finds each signer's certificate among SignedData.certificates. */
	if (CMS_set1_signers_certs(cms, NULL, 0) < 1 || CMS_SignerInfo_verify(*sip) != 1) {
		cades_errf(err, errlen,
			   "its signature does not verify over the signed attributes (damaged?): "
			   "seal the letter again");
		goto fail;
	}
	return cms;
fail:
	CMS_ContentInfo_free(cms);
	return NULL;
}

int sign_cades_add_timestamp(tsa_client *t, const unsigned char *p7s, size_t p7s_len,
			     unsigned char **out, size_t *out_len, const char *tag, char *err,
			     size_t errlen)
{
	CMS_ContentInfo *cms = NULL, *check = NULL;
	CMS_SignerInfo *si = NULL, *si2 = NULL;
	ASN1_OCTET_STRING *sig;
	struct tsa_info info;
	unsigned char *re = NULL, *tok = NULL, *der = NULL, *sigcopy = NULL;
	size_t toklen = 0;
	time_t st;
	int relen, derlen = 0, siglen, rc = SIGN_CADES_BT_PERMANENT;
	char why[256];

	err[0] = '\0';
	*out = NULL;
	*out_len = 0;
	if ((cms = cades_parse_signed(p7s, p7s_len, &si, why, sizeof(why))) == NULL) {
		cades_errf(err, errlen, "cannot add a time-stamp: %s", why);
		goto out;
	}
	if (CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1) >= 0) {
		rc = SIGN_CADES_BT_ALREADY;
		goto out;
	}
	/* Only if OpenSSL writes the parsed structure back byte for byte can adding an
	 * unsigned attribute leave everything signed untouched. */
	if ((relen = i2d_CMS_ContentInfo(cms, &re)) <= 0 || (size_t)relen != p7s_len ||
	    memcmp(re, p7s, p7s_len) != 0) {
		cades_errf(err, errlen,
			   "cannot add a time-stamp: the signature is not in the DER form "
			   "mailroom-sign writes; seal the letter again");
		goto out;
	}
	sig = CMS_SignerInfo_get0_signature(si);
	siglen = ASN1_STRING_length(sig);
	sigcopy = xmalloc((size_t)siglen);
	memcpy(sigcopy, ASN1_STRING_get0_data(sig), (size_t)siglen);
	/* The imprint covers the value of SignerInfo.signature (EN 319 122-1 5.3). */
	if ((rc = tsa_stamp(t, sigcopy, (size_t)siglen, &tok, &toklen, err, errlen)) != TSA_OK)
		goto out;
	rc = SIGN_CADES_BT_PERMANENT;
	if (toklen > INT_MAX ||
	    !CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, tok,
					   (int)toklen) ||
	    (derlen = i2d_CMS_ContentInfo(cms, &der)) <= 0 || (size_t)derlen > CADES_MAX_DER) {
		sign_key_log_errors(tag);
		cades_errf(err, errlen, "cannot add the time-stamp to the SignedData (OpenSSL)");
		goto out;
	}
	/* Check the result as a verifier would see it: same signature, still valid. */
	if ((check = cades_parse_signed(der, (size_t)derlen, &si2, why, sizeof(why))) == NULL ||
	    ASN1_STRING_length(CMS_SignerInfo_get0_signature(si2)) != siglen ||
	    memcmp(ASN1_STRING_get0_data(CMS_SignerInfo_get0_signature(si2)), sigcopy,
		   (size_t)siglen) != 0 ||
	    CMS_unsigned_get_attr_count(si2) != CMS_unsigned_get_attr_count(si)) {
		cades_errf(err, errlen, "the time-stamped SignedData does not check out (bug)");
		goto out;
	}
	if (tsa_token_info(tok, toklen, &info, why, sizeof(why)) == TSA_OK &&
	    (st = cades_signing_time(si)) != (time_t)-1 && info.gen_time + 60 < st)
		log_warnx("%s: signing-time is %lld s after the TSA's time: the seal host's clock "
			  "runs ahead (check NTP); verifiers may flag the signature",
			  tag, (long long)(st - info.gen_time));
	*out = xmalloc((size_t)derlen);
	memcpy(*out, der, (size_t)derlen);
	*out_len = (size_t)derlen;
	rc = SIGN_CADES_BT_ADDED;
out:
	free(tok);
	free(sigcopy);
	OPENSSL_free(re);
	OPENSSL_free(der);
	CMS_ContentInfo_free(check);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return rc;
}

int sign_cades_file_add_timestamp(tsa_client *t, const char *p7s_path, const char *tag, char *err,
				  size_t errlen)
{
	unsigned char *out = NULL;
	size_t out_len = 0;
	buf b;
	int rc, e;
	char why[512];

	err[0] = '\0';
	buf_init(&b, CADES_MAX_DER);
	errno = 0;
	if (fio_read_file(p7s_path, CADES_MAX_DER, &b) == -1) {
		e = errno;
		cades_errf(err, errlen, "%s: cannot read: %s", p7s_path,
			   e == E2BIG ? "larger than a signature can be" : strerror(e));
		rc = (e == ENOENT || e == E2BIG) ? SIGN_CADES_BT_PERMANENT : SIGN_CADES_BT_LATER;
		errno = rc == SIGN_CADES_BT_LATER ? e : 0;
		goto out;
	}
	rc = sign_cades_add_timestamp(t, (const unsigned char *)b.data, b.len, &out, &out_len, tag,
				      why, sizeof(why));
	if (rc != SIGN_CADES_BT_ADDED) {
		if (rc != SIGN_CADES_BT_ALREADY)
			cades_errf(err, errlen, "%s: %s", p7s_path, why);
		errno = 0;
		goto out;
	}
	if (fio_write_atomic(p7s_path, out, out_len, 0600) == -1) {
		e = errno;
		cades_errf(err, errlen, "%s: cannot write the time-stamped signature: %s", p7s_path,
			   strerror(e));
		rc = SIGN_CADES_BT_LATER;
		errno = e;
		goto out;
	}
	errno = 0;
out:
	free(out);
	buf_free(&b);
	return rc;
}

int sign_cades_timestamp_info(const unsigned char *p7s, size_t len, struct tsa_info *info,
			      char *err, size_t errlen)
{
	const unsigned char *p = p7s;
	STACK_OF(CMS_SignerInfo) * sis;
	CMS_ContentInfo *cms = NULL;
	X509_ATTRIBUTE *a;
	ASN1_TYPE *v;
	unsigned char *der = NULL;
	int i, n, rc = -1;

	memset(info, 0, sizeof(*info));
	if (len > LONG_MAX || (cms = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL ||
	    (sis = CMS_get0_SignerInfos(cms)) == NULL || sk_CMS_SignerInfo_num(sis) < 1) {
		snprintf(err, errlen, "not a CMS SignedData");
		goto out;
	}
	i = CMS_unsigned_get_attr_by_NID(sk_CMS_SignerInfo_value(sis, 0),
					 NID_id_smime_aa_timeStampToken, -1);
	if (i < 0) {
		rc = 0; /* no signature-time-stamp */
		goto out;
	}
	a = CMS_unsigned_get_attr(sk_CMS_SignerInfo_value(sis, 0), i);
	if ((v = X509_ATTRIBUTE_get0_type(a, 0)) == NULL || v->type != V_ASN1_SEQUENCE) {
		snprintf(err, errlen, "signature-time-stamp attribute without a token");
		goto out;
	}
	if ((n = i2d_ASN1_TYPE(v, &der)) <= 0) {
		snprintf(err, errlen, "cannot encode the signature-time-stamp token");
		goto out;
	}
	if (tsa_token_info(der, (size_t)n, info, err, errlen) != TSA_OK)
		goto out;
	rc = 1;
out:
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return rc;
}
