/*
 * verify_fix.h - test fixtures for `mailroom verify`: turn a CAdES-B-B signature
 * into B-T with a real RFC 3161 token, and make the broken variants the negative
 * controls need. Used by tests/unit/verify_test.c and the helper verify_mkfix.
 *
 * A token is made the way a TSA makes it: OpenSSL's TS responder (TS_RESP_CTX,
 * SHA-256, ESSCertIDv2, accuracy 1 s, the test policy 1.3.6.1.4.1.99999.1) answers
 * a TS_REQ whose imprint is the SHA-256 of the SignerInfo's signature value; the
 * token is added as the unsigned attribute signature-time-stamp (id-aa-
 * signatureTimeStampToken). TS_RESP_CTX refuses a signer without the critical
 * EKU timeStamping, so "raw" tokens (the negative control of that check) are a
 * TSTInfo signed with CMS_sign (CAdES: ESS signing-certificate-v2) instead.
 */
#ifndef MAILROOM_VERIFY_FIX_H
#define MAILROOM_VERIFY_FIX_H

#include <stddef.h>
#include <time.h>

#include <openssl/cms.h>
#include <openssl/x509.h>

#define VFIX_POLICY "1.3.6.1.4.1.99999.1" /* test-only policy arc */

/* The TSA and what to put into the token. */
struct vfix_tsa {
	X509 *cert;		/* TSA certificate */
	EVP_PKEY *key;		/* its key */
	STACK_OF(X509) * chain; /* more certificates for the token, or NULL */
	time_t at;		/* genTime, 0: now */
	const char *imprint_of; /* stamp these bytes instead of the signature value */
	int raw;		/* sign the TSTInfo with CMS_sign (any certificate) */
};

/* Add a signature-time-stamp to the (only) SignerInfo of cms. 0, or -1 with err. */
int vfix_stamp(CMS_ContentInfo *cms, const struct vfix_tsa *t, char *err, size_t errlen);

/* Move the signing-time attribute by one second, leaving the signature as it is. 0/-1. */
int vfix_tamper_signing_time(CMS_ContentInfo *cms);

/*
 * The first signature-time-stamp token as DER (*der, caller frees with
 * OPENSSL_free) and the SHA-256 of the signature value it should stamp. 0/-1.
 */
int vfix_token(CMS_ContentInfo *cms, unsigned char **der, int *len, unsigned char dg[32]);

/* Read a DER CMS file; NULL on error. */
CMS_ContentInfo *vfix_read(const char *path);
/* Write cms as DER. 0/-1. */
int vfix_write(CMS_ContentInfo *cms, const char *path);
/* DER of cms into a malloc'ed buffer (*len bytes). NULL on error. */
unsigned char *vfix_der(CMS_ContentInfo *cms, size_t *len);

#endif
