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
 */
#ifndef MAILROOM_SIGN_CADES_H
#define MAILROOM_SIGN_CADES_H

#include <stddef.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>

#include "digest.h"
#include "sign_key.h"

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

#endif
