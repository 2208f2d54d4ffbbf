/*
 * verify_cades.h - check one detached CAdES signature (CMS SignedData, DER or
 * PEM) against its content, check by check, so a person can see which property
 * holds and which does not (ETSI EN 319 122-1 baseline B-B and B-T, RFC 5652,
 * RFC 3161/5816, BSI TR-02102-1).
 *
 * The checks, in the order they are reported (enum verify_cades_check):
 *   structure            SignedData, detached, encapsulated type id-data, exactly
 *                        one SignerInfo, the signer's certificate included
 *   algorithms           digest SHA-256/384/512; signature algorithm consistent
 *                        with it; key RSA >= 3000 or EC >= 250 bit (TR-02102-1)
 *   message-digest       the signed message-digest equals the digest of the
 *                        content as streamed (the hash binding)
 *   signed-attributes    content-type id-data and signing-time present, once each
 *   signing-certificate  ESS signing-certificate-v2 (or v1): its hash and its
 *                        issuerSerial name the signer's certificate
 *   signature            the signature value verifies over the DER of the signed
 *                        attributes with the signer's public key
 *   certificate          the signer's certificate chains to the trust anchor and
 *                        was valid at the signature's time (the time-stamp's
 *                        genTime when one verifies, else the claimed signing-time);
 *                        keyUsage digitalSignature or nonRepudiation
 *   time-stamp           each signature-time-stamp (unsigned attribute
 *                        1.2.840.113549.1.9.16.2.14): an RFC 3161 token whose
 *                        imprint is the hash of this SignerInfo's signature value,
 *                        signed by a TSA certificate with a critical extendedKeyUsage
 *                        timeStamping that chains to the TSA trust anchor now and
 *                        is bound by ESSCertIDv2/ESSCertID; genTime not before the
 *                        claimed signing-time (VERIFY_CADES_SKEW allowed)
 *
 * Status per check: OK, FAILED, WARN (passes; said so) or NONE (not applicable:
 * no time-stamp, or not reached after an earlier failure made it meaningless).
 * Decision on weak algorithms: SHA-1/MD5 and EC < 250 bit FAIL always. RSA keys
 * of 2000-2999 bit were conform to TR-02102-1 until the end of 2023; such a
 * signature is WARN when a verified time-stamp proves it existed before
 * 2024-01-01, FAILED otherwise (signing-time is only the signer's claim).
 * XXX revocation (CRL, OCSP) is not checked: mailroom's signatures carry no
 * revocation data yet (CAdES-B-LT is a later step); the detail says so.
 *
 * Nothing is logged; the OpenSSL error queue is left empty.
 */
#ifndef MAILROOM_VERIFY_CADES_H
#define MAILROOM_VERIFY_CADES_H

#include <stddef.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#define VERIFY_DETAIL_MAX 640
#define VERIFY_CADES_SKEW 300 /* seconds signing-time may lie after the time-stamp */
/* Until this time (2024-01-01T00:00:00Z) RSA keys of >= 2000 bit were conform. */
#define VERIFY_CADES_RSA2000_UNTIL ((time_t)1704067200)

enum verify_status {
	VERIFY_OK = 0,
	VERIFY_WARN = 1,
	VERIFY_FAILED = 2,
	VERIFY_NONE = 3, /* not applicable or not reached */
};

/* One named check and what it found (text from certificates is raw UTF-8). */
struct verify_check {
	const char *name; /* static */
	enum verify_status status;
	char detail[VERIFY_DETAIL_MAX];
};

enum verify_cades_check {
	VERIFY_CADES_STRUCTURE,
	VERIFY_CADES_ALGORITHMS,
	VERIFY_CADES_DIGEST,
	VERIFY_CADES_ATTRIBUTES,
	VERIFY_CADES_SIGNING_CERT,
	VERIFY_CADES_SIGNATURE,
	VERIFY_CADES_CERTIFICATE,
	VERIFY_CADES_TIMESTAMP,
	VERIFY_CADES_NCHECKS
};

/* Whom to trust. The stores are only read; give them no purpose of their own. */
struct verify_cades_trust {
	X509_STORE *ca;	    /* trust anchor(s) of the signer's certificate */
	X509_STORE *tsa_ca; /* trust anchor(s) of TSA certificates; NULL: use ca */
};

/* Everything one verification found. */
struct verify_cades_result {
	struct verify_check checks[VERIFY_CADES_NCHECKS];
	int failed, warned;	  /* checks FAILED / WARN */
	const char *level;	  /* the form: "CAdES-B-T" (a signature-time-stamp is there),
				     "CAdES-B-B" (signing-time and signing-certificate),
				     NULL (plain CMS); it holds only when failed is 0 */
	char subject[512];	  /* signer certificate, RFC 2253 */
	char common_name[256];	  /* its CN (or the subject when it has none) */
	char issuer[512];	  /* RFC 2253 */
	char serial[80];	  /* uppercase hex */
	int test_pki;		  /* a CN of the signer or its issuer says TEST */
	char digest[32];	  /* "SHA-256" */
	char key[80];		  /* "EC P-256", "RSA 3072" (a group name is < 64) */
	time_t signing_time;	  /* claimed signing-time, 0 if absent */
	int timestamps;		  /* signature-time-stamps that verified */
	time_t ts_time;		  /* earliest verified genTime */
	char tsa[512];		  /* its TSA (TSTInfo tsa name, else its certificate subject) */
	char ts_policy[80];	  /* its policy OID */
	char ts_serial[80];	  /* its serial number, hex */
	unsigned char sha256[32]; /* SHA-256 of the content as streamed */
	unsigned long long size;  /* bytes of content */
	int content_read;	  /* 1 when the content was read to its end */
};

/*
 * Check the signature sig (len bytes) over content, which is read to its end
 * (64 KiB at a time, never held in memory). Fills r; returns r->failed, so 0
 * means every check passed (WARN and NONE included).
 */
int verify_cades(const unsigned char *sig, size_t len, BIO *content,
		 const struct verify_cades_trust *t, struct verify_cades_result *r);

/* Name of a status: "OK", "FAILED", "WARN", "-". */
const char *verify_status_name(enum verify_status s);

/* 1 if a distinguished name's CN holds the word TEST (scripts/pki.sh names so). */
int verify_cades_is_test_name(const X509_NAME *n);

#endif
