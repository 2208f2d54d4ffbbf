/*
 * sign_cades.h - detached CMS signatures, CAdES baseline B-B (ETSI EN 319 122-1).
 *
 * A SignedData without encapsulated content, DER, one SignerInfo with the signed
 * attributes content-type (id-data), message-digest, signing-time and ESS
 * signing-certificate-v2 (SHA-256 ESSCertIDv2 with issuerSerial), and the signer's
 * certificate plus chain in SignedData.certificates. The content is streamed once
 * through the digest; the signature itself comes from sign_key_sign() over the
 * DER of the signed attributes, so the key can live in another process.
 * The result verifies with `openssl cms -verify -binary -inform DER -content F
 * -in F.p7s -CAfile ca.pem` and GnuTLS `certtool --p7-verify`.
 *
 * CAdES-B-T: sign_cades_add_timestamp() takes such a B-B SignedData and adds the
 * unsigned attribute signature-time-stamp (id-aa-signatureTimeStampToken,
 * 1.2.840.113549.1.9.16.2.14) to the first SignerInfo: an RFC 3161 token over the
 * signature value (the contents of SignerInfo.signature) from tsa_stamp().
 * Everything signed stays byte for byte as it was: the input must re-encode to
 * exactly its own bytes (DER, as sign_cades_bio writes it) and its signature must
 * verify before anything is asked of the TSA, and the result is checked again.
 * A SignerInfo that already has a signature-time-stamp is left alone
 * (SIGN_CADES_BT_ALREADY), so a retry never stamps twice and never re-signs.
 */
#ifndef MAILROOM_SIGN_CADES_H
#define MAILROOM_SIGN_CADES_H

#include <stddef.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>

#include "digest.h"
#include "sign_key.h"
#include "tsa.h"

/* What signing one file produced, besides the signature. */
struct sign_cades_out {
	unsigned char sha256[DIGEST_SHA256_LEN]; /* SHA-256 of the content as streamed */
	unsigned long long size;		 /* bytes of content */
	size_t der_len;				 /* bytes of the .p7s */
};

/*
 * Read content to its end, sign it (digest md, signing-time t) and append the DER
 * SignedData to out. tag (the job id) prefixes log lines. 0, or -1 with err set.
 */
int sign_cades_bio(sign_key *k, const EVP_MD *md, time_t t, BIO *content, BIO *out,
		   struct sign_cades_out *res, const char *tag, char *err, size_t errlen);

/*
 * Sign the file content_path into p7s_path (written as p7s_path.tmp, fsynced and
 * renamed over any earlier signature). 0, or -1 with err set and errno kept from
 * a failed file operation (0 for a signing failure).
 */
int sign_cades_file(sign_key *k, const EVP_MD *md, time_t t, const char *content_path,
		    const char *p7s_path, struct sign_cades_out *res, const char *tag, char *err,
		    size_t errlen);

/* What sign_cades_add_timestamp() and sign_cades_file_add_timestamp() did. */
enum sign_cades_bt {
	SIGN_CADES_BT_ADDED = 0,   /* the signature-time-stamp is in place now */
	SIGN_CADES_BT_ALREADY = 1, /* it was there already: nothing asked, nothing written */
	/* The TSA cannot answer now, or a file operation failed (errno kept): retry later. */
	SIGN_CADES_BT_LATER = TSA_LATER,
	/* Not a B-B SignedData we can upgrade, its signature does not verify, or the
	 * TSA's answer is wrong or refused (see tsa.h): a person must look. */
	SIGN_CADES_BT_PERMANENT = TSA_PERMANENT
};

/*
 * Add a signature-time-stamp to the first SignerInfo of the DER SignedData p7s.
 * SIGN_CADES_BT_ADDED with *out (free() it) and *out_len set; SIGN_CADES_BT_ALREADY
 * with *out NULL; or LATER / PERMANENT with err set. tag (the job id) starts log
 * lines (a warning when the seal host's clock runs ahead of the TSA's).
 */
int sign_cades_add_timestamp(tsa_client *t, const unsigned char *p7s, size_t p7s_len,
			     unsigned char **out, size_t *out_len, const char *tag, char *err,
			     size_t errlen);

/*
 * The same for the file p7s_path: read (bounded), upgrade, write p7s_path.tmp,
 * fsync, rename over p7s_path. SIGN_CADES_BT_ALREADY leaves the file untouched.
 * A missing or oversized file is PERMANENT; other file errors are LATER with errno
 * kept (errno is 0 after a TSA or CMS failure).
 */
int sign_cades_file_add_timestamp(tsa_client *t, const char *p7s_path, const char *tag, char *err,
				  size_t errlen);

/*
 * What the signature-time-stamp of the first SignerInfo of the DER SignedData p7s
 * says (not verified: see tsa_stamp and mailroom verify). 1 with info
 * filled, 0 when there is none, -1 with err set when p7s is not a SignedData.
 */
int sign_cades_timestamp_info(const unsigned char *p7s, size_t len, struct tsa_info *info,
			      char *err, size_t errlen);

#endif
