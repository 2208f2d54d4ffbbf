/*
 * verify_fix.c - fixtures for the verify tests; see verify_fix.h.
 */
#include "verify_fix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ts.h>

/* TS_RESP_CTX serial callback: a random positive 64-bit serial. */
static ASN1_INTEGER *vfix_serial(TS_RESP_CTX *ctx, void *data)
{
	ASN1_INTEGER *s = ASN1_INTEGER_new();
	unsigned char r[8];
	uint64_t v = 0;
	int i;

	(void)ctx;
	(void)data;
	if (s == NULL || RAND_bytes(r, sizeof(r)) != 1) {
		ASN1_INTEGER_free(s);
		return NULL;
	}
	for (i = 0; i < 8; i++)
		v = v << 8 | r[i];
	ASN1_INTEGER_set_uint64(s, v >> 1);
	return s;
}

/* TS_RESP_CTX time callback: the fixed genTime. */
static int vfix_time(TS_RESP_CTX *ctx, void *data, long *sec, long *usec)
{
	(void)ctx;
	*sec = (long)*(const time_t *)data;
	*usec = 0;
	return 1;
}

/* A TS_REQ for the SHA-256 digest dg, DER in a memory BIO. */
static BIO *vfix_request(const unsigned char *dg)
{
	TS_REQ *rq = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_INTEGER *nonce = vfix_serial(NULL, NULL);
	BIO *b = BIO_new(BIO_s_mem());
	int ok;

	ok = rq && mi && alg && nonce && b &&
	     X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) &&
	     TS_MSG_IMPRINT_set_algo(mi, alg) &&
	     TS_MSG_IMPRINT_set_msg(mi, (unsigned char *)dg, 32) && TS_REQ_set_version(rq, 1) &&
	     TS_REQ_set_msg_imprint(rq, mi) && TS_REQ_set_nonce(rq, nonce) &&
	     TS_REQ_set_cert_req(rq, 1) && i2d_TS_REQ_bio(b, rq);
	TS_REQ_free(rq);
	TS_MSG_IMPRINT_free(mi);
	X509_ALGOR_free(alg);
	ASN1_INTEGER_free(nonce);
	if (!ok) {
		BIO_free(b);
		return NULL;
	}
	return b;
}

/* A token from OpenSSL's TS responder. DER (OPENSSL_free) or NULL. */
static unsigned char *vfix_token_resp(const struct vfix_tsa *t, const unsigned char *dg, int *len,
				      char *err, size_t errlen)
{
	TS_RESP_CTX *ctx = TS_RESP_CTX_new();
	BIO *req = vfix_request(dg);
	TS_RESP *resp = NULL;
	ASN1_OBJECT *pol = OBJ_txt2obj(VFIX_POLICY, 1);
	unsigned char *der = NULL;
	time_t at = t->at;

	if (ctx == NULL || req == NULL || pol == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (!TS_RESP_CTX_set_signer_cert(ctx, t->cert)) {
		snprintf(err, errlen,
			 "TS_RESP_CTX refuses the TSA certificate (no EKU timeStamping)");
		goto out;
	}
	if (!TS_RESP_CTX_set_signer_key(ctx, t->key) || !TS_RESP_CTX_set_def_policy(ctx, pol) ||
	    !TS_RESP_CTX_add_md(ctx, EVP_sha256()) ||
	    !TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256()) ||
	    !TS_RESP_CTX_set_ess_cert_id_digest(ctx, EVP_sha256()) ||
	    !TS_RESP_CTX_set_accuracy(ctx, 1, 0, 0) ||
	    (t->chain != NULL && !TS_RESP_CTX_set_certs(ctx, t->chain))) {
		snprintf(err, errlen, "cannot configure the TS responder");
		goto out;
	}
	TS_RESP_CTX_set_serial_cb(ctx, vfix_serial, NULL);
	if (at != 0)
		TS_RESP_CTX_set_time_cb(ctx, vfix_time, &at);
	if ((resp = TS_RESP_create_response(ctx, req)) == NULL ||
	    ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp))) != 0) {
		snprintf(err, errlen, "the TS responder did not grant the request");
		goto out;
	}
	if ((*len = i2d_PKCS7(TS_RESP_get_token(resp), &der)) <= 0) {
		der = NULL;
		snprintf(err, errlen, "cannot encode the token");
	}
out:
	ERR_print_errors_fp(stderr);
	ASN1_OBJECT_free(pol);
	TS_RESP_free(resp);
	BIO_free(req);
	TS_RESP_CTX_free(ctx);
	return der;
}

/* A TSTInfo signed with CMS_sign by any certificate. DER (OPENSSL_free) or NULL. */
static unsigned char *vfix_token_raw(const struct vfix_tsa *t, const unsigned char *dg, int *len,
				     char *err, size_t errlen)
{
	TS_TST_INFO *tst = TS_TST_INFO_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_OBJECT *pol = OBJ_txt2obj(VFIX_POLICY, 1);
	ASN1_INTEGER *serial = vfix_serial(NULL, NULL);
	ASN1_GENERALIZEDTIME *gt = ASN1_GENERALIZEDTIME_set(NULL, t->at ? t->at : time(NULL));
	unsigned char *tder = NULL, *der = NULL;
	CMS_ContentInfo *cms = NULL;
	BIO *in = NULL;
	int tlen, i;

	if (!tst || !mi || !alg || !pol || !serial || !gt ||
	    !X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) ||
	    !TS_MSG_IMPRINT_set_algo(mi, alg) ||
	    !TS_MSG_IMPRINT_set_msg(mi, (unsigned char *)dg, 32) ||
	    !TS_TST_INFO_set_version(tst, 1) || !TS_TST_INFO_set_policy_id(tst, pol) ||
	    !TS_TST_INFO_set_msg_imprint(tst, mi) || !TS_TST_INFO_set_serial(tst, serial) ||
	    !TS_TST_INFO_set_time(tst, gt) || (tlen = i2d_TS_TST_INFO(tst, &tder)) <= 0 ||
	    (in = BIO_new_mem_buf(tder, tlen)) == NULL) {
		snprintf(err, errlen, "cannot build the TSTInfo");
		goto out;
	}
	if ((cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY)) == NULL ||
	    CMS_add1_signer(cms, t->cert, t->key, EVP_sha256(),
			    CMS_BINARY | CMS_NOSMIMECAP | CMS_CADES) == NULL ||
	    !CMS_set1_eContentType(cms, OBJ_nid2obj(NID_id_smime_ct_TSTInfo))) {
		snprintf(err, errlen, "cannot build the token's SignedData");
		goto out;
	}
	for (i = 0; t->chain != NULL && i < sk_X509_num(t->chain); i++)
		CMS_add1_cert(cms, sk_X509_value(t->chain, i));
	ERR_clear_error(); /* "certificate already present" is fine */
	if (!CMS_final(cms, in, NULL, CMS_BINARY) || (*len = i2d_CMS_ContentInfo(cms, &der)) <= 0) {
		der = NULL;
		snprintf(err, errlen, "cannot sign the TSTInfo");
	}
out:
	ERR_print_errors_fp(stderr);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	OPENSSL_free(tder);
	ASN1_GENERALIZEDTIME_free(gt);
	ASN1_INTEGER_free(serial);
	ASN1_OBJECT_free(pol);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	TS_TST_INFO_free(tst);
	return der;
}

/* The only SignerInfo of cms, or NULL. */
static CMS_SignerInfo *vfix_si(CMS_ContentInfo *cms)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);

	return sis && sk_CMS_SignerInfo_num(sis) == 1 ? sk_CMS_SignerInfo_value(sis, 0) : NULL;
}

int vfix_stamp(CMS_ContentInfo *cms, const struct vfix_tsa *t, char *err, size_t errlen)
{
	CMS_SignerInfo *si = vfix_si(cms);
	ASN1_OCTET_STRING *sv;
	unsigned char dg[32], *der;
	int len = 0, rc;

	if (si == NULL) {
		snprintf(err, errlen, "not a SignedData with one SignerInfo");
		return -1;
	}
	sv = CMS_SignerInfo_get0_signature(si);
	if (t->imprint_of != NULL)
		EVP_Digest(t->imprint_of, strlen(t->imprint_of), dg, NULL, EVP_sha256(), NULL);
	else
		EVP_Digest(ASN1_STRING_get0_data(sv), (size_t)ASN1_STRING_length(sv), dg, NULL,
			   EVP_sha256(), NULL);
	der = t->raw ? vfix_token_raw(t, dg, &len, err, errlen)
		     : vfix_token_resp(t, dg, &len, err, errlen);
	if (der == NULL)
		return -1;
	rc = CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, der,
					   len)
		 ? 0
		 : -1;
	if (rc == -1)
		snprintf(err, errlen, "cannot add the unsigned attribute");
	OPENSSL_free(der);
	return rc;
}

int vfix_tamper_signing_time(CMS_ContentInfo *cms)
{
	CMS_SignerInfo *si = vfix_si(cms);
	X509_ATTRIBUTE *a;
	ASN1_TYPE *ty;
	ASN1_TIME *t = NULL;
	struct tm tm;
	int i, rc = -1;

	if (si == NULL || (i = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1)) < 0 ||
	    (a = CMS_signed_get_attr(si, i)) == NULL ||
	    (ty = X509_ATTRIBUTE_get0_type(a, 0)) == NULL ||
	    ASN1_TIME_to_tm(ty->value.utctime, &tm) != 1 ||
	    (t = ASN1_TIME_set(NULL, timegm(&tm) + 1)) == NULL)
		goto out;
	X509_ATTRIBUTE_free(CMS_signed_delete_attr(si, i));
	if (CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, t->type, t, -1))
		rc = 0;
out:
	ASN1_TIME_free(t);
	return rc;
}

int vfix_token(CMS_ContentInfo *cms, unsigned char **der, int *len, unsigned char dg[32])
{
	CMS_SignerInfo *si = vfix_si(cms);
	X509_ATTRIBUTE *a;
	ASN1_TYPE *ty;
	ASN1_OCTET_STRING *sv;
	int i;

	if (si == NULL ||
	    (i = CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1)) < 0 ||
	    (a = CMS_unsigned_get_attr(si, i)) == NULL ||
	    (ty = X509_ATTRIBUTE_get0_type(a, 0)) == NULL || ty->type != V_ASN1_SEQUENCE)
		return -1;
	*len = ASN1_STRING_length(ty->value.sequence);
	if ((*der = OPENSSL_malloc((size_t)*len)) == NULL)
		return -1;
	memcpy(*der, ASN1_STRING_get0_data(ty->value.sequence), (size_t)*len);
	sv = CMS_SignerInfo_get0_signature(si);
	EVP_Digest(ASN1_STRING_get0_data(sv), (size_t)ASN1_STRING_length(sv), dg, NULL,
		   EVP_sha256(), NULL);
	return 0;
}

CMS_ContentInfo *vfix_read(const char *path)
{
	BIO *b = BIO_new_file(path, "rb");
	CMS_ContentInfo *cms = b ? d2i_CMS_bio(b, NULL) : NULL;

	BIO_free(b);
	return cms;
}

unsigned char *vfix_der(CMS_ContentInfo *cms, size_t *len)
{
	unsigned char *der = NULL, *copy;
	int n = i2d_CMS_ContentInfo(cms, &der);

	if (n <= 0)
		return NULL;
	copy = malloc((size_t)n);
	if (copy != NULL)
		memcpy(copy, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return copy;
}

int vfix_write(CMS_ContentInfo *cms, const char *path)
{
	BIO *b = BIO_new_file(path, "wb");
	int rc = b != NULL && i2d_CMS_bio(b, cms) > 0 && BIO_flush(b) > 0 ? 0 : -1;

	BIO_free(b);
	return rc;
}
