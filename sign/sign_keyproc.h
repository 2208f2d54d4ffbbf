/*
 * sign_keyproc.h - the key holder: the only process that holds the seal key.
 *
 * sign_key_open() (sign_key.c) forks this process before mailroom-sign reads a
 * single document (OpenSMTPD ca.c, acme-client keyproc.c). The holder
 *   1. hardens itself: no core dumps, not ptrace-able by its own user (only
 *      by root with CAP_SYS_PTRACE): PR_SET_DUMPABLE 0, RLIMIT_CORE 0;
 *      SIGINT, SIGTERM, SIGHUP ignored (it ends when the parent closes the
 *      socket); every inherited descriptor closed but the socket and stderr
 *      (stdin and stdout become /dev/null);
 *   2. reads the PIN (pin_file or pin_env) - only here, never in the parent -
 *      and opens the key: a PEM file (the PIN is its passphrase) or a PKCS#11
 *      token through libp11 (pkcs11_module, RFC 7512 URI, PIN for C_Login),
 *      then wipes its copies of the PIN (libp11 keeps one for a re-login, inside
 *      this process);
 *   3. checks the certificate's public key: RSA >= 3000 or EC >= 250 bits
 *      (BSI TR-02102-1);
 *   4. drops privileges: when started as root setgroups/setgid/setuid to
 *      key_user (default "nobody"); always PR_SET_NO_NEW_PRIVS, RLIMIT_NPROC 0
 *      and a seccomp filter that refuses execve, ptrace, process_vm_*, fork;
 *      with a PEM key also RLIMIT_NOFILE 0 and no open/socket at all (a PKCS#11
 *      module may still need its files - SoftHSM2 re-reads its token files on
 *      every operation - or the pcscd socket);
 *   5. signs a random digest and verifies it with the certificate: the key
 *      belongs to it (also for a token key whose public half cannot be read),
 *      and signing works as the holder now runs;
 *   6. answers with one struct sign_keyproc_hello (status 0, or -1 and the
 *      message that names the fix), then serves: one struct sign_key_request in
 *      (SOCK_SEQPACKET, exactly that size, digest algorithm and length checked
 *      strictly - anything else ends the holder), one struct sign_keyproc_reply
 *      out; EOF ends it.
 * MAILROOM_FAULT "token:N" (util/fault.h) counts the key operations of each
 * holder: PKCS#11 module load, slot list, session, login, key look-up (a PEM key:
 * reading the file), the start-up test signature, then each signature.
 */
#ifndef MAILROOM_SIGN_KEYPROC_H
#define MAILROOM_SIGN_KEYPROC_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "sign_key.h"

#define SIGN_KEYPROC_MSG 1024 /* an error message in a hello or reply */

/* The holder's first message: ready, or why not. */
struct sign_keyproc_hello {
	int32_t status; /* 0 ready, -1 failed (msg says why and the fix) */
	char describe[128];
	char msg[SIGN_KEYPROC_MSG];
};

/* The holder's answer to one request. */
struct sign_keyproc_reply {
	int32_t status; /* 0 signed, -1 failed (msg says why) */
	char msg[256];
	struct sign_key_response rs;
};

/* The parts of an RFC 7512 pkcs11: URI the holder uses to find the key. */
struct sign_keyproc_uri {
	char token[65], manufacturer[65], serial[33], model[33]; /* "" = any */
	char object[257];					 /* CKA_LABEL, "" = any */
	unsigned char id[64];					 /* CKA_ID */
	size_t id_len;
	int have_id;
	unsigned long slot_id;
	int have_slot_id;
};

/* 1 if key names a PKCS#11 object ("pkcs11:..."), 0 for a PEM file path. */
int sign_keyproc_is_uri(const char *key);

/*
 * Parse a pkcs11: URI (RFC 7512: path attributes token, manufacturer, serial,
 * model, object, id, type, slot-id; %XX escapes). Refuses pin-value/pin-source
 * (the PIN belongs in pin_file or pin_env), module-name/module-path (that is
 * pkcs11_module), type other than private, unknown or repeated attributes and a
 * URI naming neither object nor id. 0, or -1 with a message in err.
 */
int sign_keyproc_parse_uri(const char *uri, struct sign_keyproc_uri *u, char *err, size_t errlen);

/*
 * The holder's main: run on sock (one end of a SOCK_SEQPACKET socketpair) in the
 * child right after fork. cert is the certificate the parent read (public data).
 * Never returns: _exit(0) at EOF, EX_CONFIG after a failed start (the hello said
 * why), EX_PROTOCOL on a malformed request, 99 for an injected "exit" fault.
 */
void sign_keyproc_main(int sock, const struct sign_key_conf *c, X509 *cert)
    __attribute__((noreturn));

#endif
