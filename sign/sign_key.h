/*
 * sign_key.h - the seal key behind a "sign this digest" interface.
 *
 * The rest of mailroom-sign never touches the private key: it builds the CMS
 * structure itself, hashes the signed attributes and hands the digest to
 * sign_key_sign() as a fixed-size request, getting a fixed-size response back.
 *
 * The key lives in a separate key-holder process (sign_keyproc.h; OpenSMTPD ca.c,
 * acme-client keyproc.c): sign_key_open() forks it before the caller reads any
 * document, and from then on this process keeps only the socket to it, its pid,
 * the certificate and chain (public data) and a description. It never opens the
 * key file and never reads the PIN; a PIN given by pin_env is wiped from this
 * process's environment once the holder has it. The key is a PEM file
 * (optionally encrypted: the PIN is its passphrase) or an object on a PKCS#11
 * token named by an RFC 7512 pkcs11: URI (libp11, pkcs11_module; the PIN logs in).
 * The PIN comes from pin_file or pin_env, never from the URI, and is never logged.
 * Keys weaker than BSI TR-02102-1 (RSA < 3000 bits, EC < 250 bits) and keys that
 * do not match the certificate are refused when the key is opened.
 *
 * A holder that dies or hangs later makes sign_key_sign() fail with a message
 * saying the letter is retried later (the caller defers it); sign_key_alive()
 * tells the caller, which should then stop and be restarted: the next
 * sign_key_open() starts a new holder. Not for concurrent use: one request at a
 * time per sign_key (one socket, one holder).
 */
#ifndef MAILROOM_SIGN_KEY_H
#define MAILROOM_SIGN_KEY_H

#include <stddef.h>

#include <sys/types.h>

#include <openssl/x509.h>

/* BSI TR-02102-1 (2025) minimum key sizes for new signatures. */
#define SIGN_KEY_MIN_RSA_BITS 3000
#define SIGN_KEY_MIN_EC_BITS 250

#define SIGN_KEY_MAX_DIGEST 64 /* SHA-512 */
#define SIGN_KEY_MAX_SIG 1024  /* RSA-8192 or any ECDSA */
#define SIGN_KEY_MAX_CHAIN 8
#define SIGN_KEY_TIMEOUT 60 /* default seconds for the holder's start and one signature */

typedef struct sign_key sign_key;

/* Where the key and its certificates come from (paths absolute). */
struct sign_key_conf {
	const char *key_path;	  /* PEM private key, or an RFC 7512 "pkcs11:" URI */
	const char *cert_path;	  /* PEM certificate of the key */
	const char **chain_paths; /* PEM intermediate certificates, n_chain of them */
	size_t n_chain;
	const char *ca_path;	   /* PEM trust anchor to check the certificate against, or NULL */
	const char *pin_file;	   /* file holding the key's passphrase, or NULL */
	const char *pin_env;	   /* environment variable holding it, or NULL (wiped after use) */
	const char *pkcs11_module; /* PKCS#11 module (.so) for a pkcs11: key, else NULL */
	const char *key_user;	   /* user the holder runs as when started as root; NULL: nobody */
	unsigned timeout; /* seconds for the start and each signature; 0: SIGN_KEY_TIMEOUT */
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
 * Read the certificates, start the key holder and wait until it has opened and
 * checked the key. NULL on error with a message in err that names the file and
 * the fix (missing file, wrong passphrase or PIN, token or key not found, weak
 * key, key does not match the certificate, certificate does not chain to ca).
 */
sign_key *sign_key_open(const struct sign_key_conf *c, char *err, size_t errlen);
/* Close the socket (the holder exits at EOF) and reap the holder; accepts NULL,
 * returns NULL. */
sign_key *sign_key_close(sign_key *k);

/* The signer's certificate (owned by the key; do not free). */
X509 *sign_key_cert(const sign_key *k);
/* The intermediate certificates, possibly empty (owned by the key). */
STACK_OF(X509) * sign_key_chain(const sign_key *k);
/* A short description of the key ("EC prime256v1", "RSA 3072 on token 'seal'"); owned by
 * the key. */
const char *sign_key_describe(const sign_key *k);

/*
 * Sign one digest (md_nid sha256/384/512, len its size): ECDSA gives a DER
 * ECDSA-Sig-Value, RSA PKCS#1 v1.5 over the DigestInfo. 0, or -1 with a message in
 * err; a holder that is gone or does not answer within the timeout (conf, default
 * SIGN_KEY_TIMEOUT seconds) is an error too ("retried later"), never a hang.
 */
int sign_key_sign(sign_key *k, const struct sign_key_request *rq, struct sign_key_response *rs,
		  char *err, size_t errlen);

/* 1 while the key holder runs, 0 once it is gone (then restart: sign_key_open). */
int sign_key_alive(const sign_key *k);
/* The key holder's pid, or -1 once it is gone (for tests and the status line). */
pid_t sign_key_holder_pid(const sign_key *k);

/* Log and clear the OpenSSL error queue, each line starting with tag (a job id). */
void sign_key_log_errors(const char *tag);

#endif
