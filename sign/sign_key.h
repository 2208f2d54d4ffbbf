/*
 * sign_key.h - the seal key behind a "sign this digest" interface.
 *
 * The rest of mailroom-sign never touches the private key: it builds the CMS
 * structure itself, hashes the signed attributes and hands the digest to
 * sign_key_sign() as a fixed-size request, getting a fixed-size response back.
 * That is the message a separate key-holder process (OpenSMTPD ca.c, acme-client
 * keyproc.c) will answer over a socketpair in a later issue, and what a PKCS#11
 * token or a remote seal (CSC API) can serve; only this module changes then.
 *
 * Today the key is a PEM file (optionally encrypted: the passphrase comes from
 * pin_file or pin_env and is never logged). Keys weaker than BSI TR-02102-1
 * (RSA < 3000 bits, EC < 250 bits) and keys that do not match the certificate
 * are refused when the key is opened.
 */
#ifndef MAILROOM_SIGN_KEY_H
#define MAILROOM_SIGN_KEY_H

#include <stddef.h>

#include <openssl/x509.h>

/* BSI TR-02102-1 (2025) minimum key sizes for new signatures. */
#define SIGN_KEY_MIN_RSA_BITS 3000
#define SIGN_KEY_MIN_EC_BITS 250

#define SIGN_KEY_MAX_DIGEST 64 /* SHA-512 */
#define SIGN_KEY_MAX_SIG 1024  /* RSA-8192 or any ECDSA */
#define SIGN_KEY_MAX_CHAIN 8

typedef struct sign_key sign_key;

/* Where the key and its certificates come from (paths absolute). */
struct sign_key_conf {
	const char *key_path;	  /* PEM private key */
	const char *cert_path;	  /* PEM certificate of the key */
	const char **chain_paths; /* PEM intermediate certificates, n_chain of them */
	size_t n_chain;
	const char *ca_path;  /* PEM trust anchor to check the certificate against, or NULL */
	const char *pin_file; /* file holding the key's passphrase, or NULL */
	const char *pin_env;  /* environment variable holding it, or NULL */
};

/* One request to the key holder: sign this digest (fixed size, no pointers). */
struct sign_key_request {
	int md_nid;	  /* NID of the digest algorithm (NID_sha256, ...) */
	unsigned int len; /* bytes used in digest */
	unsigned char digest[SIGN_KEY_MAX_DIGEST];
};

/* The answer: the signature value as it goes into SignerInfo.signature. */
struct sign_key_response {
	unsigned int len;
	unsigned char sig[SIGN_KEY_MAX_SIG];
};

/*
 * Load and check the key and its certificates. NULL on error with a message in
 * err that names the file and the fix (missing file, wrong passphrase, weak key,
 * key does not match the certificate, certificate does not chain to ca).
 */
sign_key *sign_key_open(const struct sign_key_conf *c, char *err, size_t errlen);
/* Wipe and free the key; accepts NULL, returns NULL. */
sign_key *sign_key_close(sign_key *k);

/* The signer's certificate (owned by the key; do not free). */
X509 *sign_key_cert(const sign_key *k);
/* The intermediate certificates, possibly empty (owned by the key). */
STACK_OF(X509) * sign_key_chain(const sign_key *k);
/* A short description of the key ("EC P-256", "RSA 3072"); owned by the key. */
const char *sign_key_describe(const sign_key *k);

/* Sign one digest. 0, or -1 with a message in err (OpenSSL errors are logged). */
int sign_key_sign(sign_key *k, const struct sign_key_request *rq, struct sign_key_response *rs,
		  char *err, size_t errlen);

/* Log and clear the OpenSSL error queue, each line starting with tag (a job id). */
void sign_key_log_errors(const char *tag);

#endif
