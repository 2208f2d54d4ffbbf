/*
 * tsa.h - RFC 3161 time-stamp client (HTTP/HTTPS over libcurl).
 *
 * tsa_stamp() asks the configured Time-Stamping Authority for a token over
 * some bytes (for CAdES-B-T: the signature value of a SignerInfo) and returns the
 * TimeStampToken (a CMS ContentInfo, DER, exactly as the TSA sent it) only after
 * it checked the answer: HTTP 200 with Content-Type application/timestamp-reply,
 * at most TSA_MAX_RESPONSE bytes, a TimeStampResp whose status is granted
 * (or grantedWithMods), a token that verifies with OpenSSL's TS_VERIFY_CTX (the
 * message imprint and our 64-bit random nonce, the policy when one is configured,
 * the signature, the TSA certificate chaining to ca_path and carrying a critical
 * extendedKeyUsage timeStamping) and that binds its signer certificate with an
 * ESS signing-certificate attribute (ESSCertIDv2 per RFC 5816, or ESSCertID).
 * The request always has certReq true, so the token carries the TSA certificate.
 *
 * Every request first passes fault_point("tsa") (util/fault.h), so tests can fail
 * or kill the Nth TSA call with MAILROOM_FAULT=tsa:N[:fail|:exit].
 *
 * The return codes tell the caller whether waiting helps:
 *   TSA_LATER      the TSA is unreachable, slow (timeout), answered HTTP 5xx /
 *                       408 / 429, said "waiting" or systemFailure /
 *                       timeNotAvailable, or a fault was injected: defer the letter.
 *   TSA_PERMANENT  the configuration is wrong (URL path, CA, policy) or the
 *                       answer is wrong (not a time-stamp reply, rejected, does not
 *                       verify, nonce or imprint mismatch): retrying the same
 *                       request will not help; a person must look.
 * Every message in err names the TSA URL and what to do.
 */
#ifndef MAILROOM_TSA_H
#define MAILROOM_TSA_H

#include <stddef.h>
#include <time.h>

#define TSA_MAX_RESPONSE (128u << 10) /* a reply with a long chain is < 16 KiB */
#define TSA_DEFAULT_TIMEOUT 30	      /* seconds for one whole request */

typedef struct tsa_client tsa_client;

/* What tsa_stamp() and tsa_token_info() return. */
enum tsa_rc {
	TSA_OK = 0,
	TSA_LATER = -1,	   /* temporary: try again later */
	TSA_PERMANENT = -2 /* configuration or a wrong answer: retrying does not help */
};

/* The TSA and how to trust it. Strings are copied by tsa_open(). */
struct tsa_conf {
	const char *url;      /* http:// or https:// URL of the RFC 3161 service */
	const char *ca_path;  /* PEM file: trust anchor(s) for the TSA certificate */
	const char *policy;   /* policy OID to request ("1.2.3.4"), or NULL: TSA default */
	const char *digest;   /* message imprint digest: sha256 | sha384 | sha512; NULL: sha256 */
	long timeout_seconds; /* limit for one request (connect + answer); 0: default */
	const char *tls_ca_path; /* PEM CA file for an https URL, or NULL: the system store */
	const char *proxy;	 /* HTTP proxy URL, "" for none, NULL: libcurl's environment */
};

/* What a verified token says (from its TSTInfo). */
struct tsa_info {
	time_t gen_time;    /* genTime, whole seconds UTC */
	char serial[80];    /* serialNumber, hex */
	char policy[80];    /* policy OID, dotted */
	char digest[16];    /* message imprint algorithm ("sha256") */
	int ess_cert_v2;    /* 1: ESSCertIDv2 (RFC 5816), 0: ESSCertID (SHA-1) */
	char tsa_cert[256]; /* subject of the TSA certificate (one line) */
};

/*
 * Check the configuration and load the CA; NULL with a message in err that names
 * the setting (unknown digest, bad policy OID, unreadable CA file, not an http(s)
 * URL). The curl handle is created here and reused for every request.
 */
tsa_client *tsa_open(const struct tsa_conf *c, char *err, size_t errlen);
/* Free the handle; accepts NULL, returns NULL. */
tsa_client *tsa_close(tsa_client *t);
/* The configured URL (owned by the handle). */
const char *tsa_url(const tsa_client *t);

/*
 * Time-stamp len bytes at data. On TSA_OK *token_der holds the verified
 * TimeStampToken (DER ContentInfo as the TSA sent it; the caller frees it with
 * free()) and *token_len its size. Otherwise TSA_LATER or TSA_PERMANENT
 * with err set (OpenSSL's reasons included; the error queue is left empty) and
 * *token_der NULL. Nothing is logged here: the caller logs err with the job id.
 */
int tsa_stamp(tsa_client *t, const unsigned char *data, size_t len, unsigned char **token_der,
	      size_t *token_len, char *err, size_t errlen);

/*
 * Check reply (rlen bytes, a TimeStampResp) as tsa_stamp() checks the TSA's answer,
 * against a new request over data (with its own random nonce): for tests and
 * fuzzing, the same code as tsa_stamp() after the HTTP exchange. Results as
 * tsa_stamp().
 */
int tsa_check_reply(const tsa_client *t, const unsigned char *data, size_t len,
		    const unsigned char *reply, size_t rlen, unsigned char **token_der,
		    size_t *token_len, char *err, size_t errlen);
/*
 * Describe a TimeStampToken (DER) without verifying it: genTime, serial, policy,
 * imprint algorithm, ESS version, TSA subject. TSA_OK or TSA_PERMANENT
 * (not a token) with err set.
 */
int tsa_token_info(const unsigned char *der, size_t len, struct tsa_info *info, char *err,
		   size_t errlen);

#endif
