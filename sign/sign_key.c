/*
 * sign_key.c - the seal key behind a "sign this digest" interface; see sign_key.h.
 *
 * XXX The key still lives in the worker process. The next step (STYLE.md §7) moves
 * sign_key_open/sign_key_sign into a key-holder child that drops privileges and
 * answers only struct sign_key_request messages over a socketpair.
 */
#include "sign_key.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "fileio.h"
#include "log.h"
#include "xalloc.h"

#define SIGN_KEY_PIN_MAX 1024

struct sign_key {
	EVP_PKEY *pkey;
	X509 *cert;
	STACK_OF(X509) * chain;
	char describe[64];
};

/* The passphrase for the PEM callback. */
struct sign_key_pin {
	char text[SIGN_KEY_PIN_MAX];
	int have;
};

static void sign_key_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Format a message into err. */
static void sign_key_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void sign_key_log_errors(const char *tag)
{
	unsigned long e;
	const char *file, *func, *data;
	int line, flags;
	char msg[256];

	while ((e = ERR_get_error_all(&file, &line, &func, &data, &flags)) != 0) {
		ERR_error_string_n(e, msg, sizeof(msg));
		log_errorx("%s: openssl: %s%s%s", tag, msg,
			   (flags & ERR_TXT_STRING) && data != NULL ? ": " : "",
			   (flags & ERR_TXT_STRING) && data != NULL ? data : "");
	}
}

/* PEM passphrase callback: hands over the configured PIN, refuses if there is none. */
static int sign_key_pin_cb(char *out, int size, int rwflag, void *u)
{
	struct sign_key_pin *pin = u;
	size_t n;

	(void)rwflag;
	if (pin == NULL || !pin->have)
		return -1;
	n = strlen(pin->text);
	if (n > (size_t)size)
		return -1;
	memcpy(out, pin->text, n);
	return (int)n;
}

/* Read the PIN from pin_env or pin_file (trailing newline removed). 0 or -1. */
static int sign_key_pin_load(const struct sign_key_conf *c, struct sign_key_pin *pin, char *err,
			     size_t errlen)
{
	buf b;
	const char *v;
	int rc = -1;

	memset(pin, 0, sizeof(*pin));
	buf_init(&b, SIGN_KEY_PIN_MAX - 1);
	if (c->pin_env != NULL) {
		if ((v = getenv(c->pin_env)) == NULL) {
			sign_key_errf(err, errlen,
				      "pin_env: the environment variable %s is not set; export it "
				      "before starting mailroom-sign, or remove pin_env",
				      c->pin_env);
			goto out;
		}
		if (strlen(v) >= sizeof(pin->text)) {
			sign_key_errf(err, errlen, "pin_env: %s is too long", c->pin_env);
			goto out;
		}
		snprintf(pin->text, sizeof(pin->text), "%s", v);
		pin->have = 1;
	} else if (c->pin_file != NULL) {
		if (fio_read_file(c->pin_file, SIGN_KEY_PIN_MAX - 1, &b) == -1) {
			sign_key_errf(err, errlen, "pin_file %s: %s", c->pin_file,
				      errno == E2BIG ? "too long" : strerror(errno));
			goto out;
		}
		while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
			b.data[--b.len] = '\0';
		snprintf(pin->text, sizeof(pin->text), "%s", b.data ? b.data : "");
		pin->have = 1;
	}
	rc = 0;
out:
	if (b.data != NULL)
		OPENSSL_cleanse(b.data, b.cap);
	buf_free(&b);
	return rc;
}

/* Read every PEM certificate in path onto sk. Returns how many, or -1. */
static int sign_key_read_certs(const char *path, STACK_OF(X509) * sk)
{
	BIO *in;
	X509 *x;
	int n = 0;

	if ((in = BIO_new_file(path, "r")) == NULL)
		return -1;
	while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			n = -1;
			break;
		}
		n++;
	}
	ERR_clear_error(); /* the read that ends the loop leaves "no start line" */
	BIO_free(in);
	return n;
}

/* Refuse key types and sizes below BSI TR-02102-1; fill k->describe. */
static int sign_key_check_strength(sign_key *k, const char *path, char *err, size_t errlen)
{
	int bits = EVP_PKEY_get_bits(k->pkey);
	char group[48] = "";
	size_t glen = 0;

	if (EVP_PKEY_is_a(k->pkey, "RSA")) {
		snprintf(k->describe, sizeof(k->describe), "RSA %d", bits);
		if (bits < SIGN_KEY_MIN_RSA_BITS) {
			sign_key_errf(err, errlen,
				      "%s: RSA key of %d bits is too weak (BSI TR-02102-1 requires "
				      "at least %d); create a stronger key",
				      path, bits, SIGN_KEY_MIN_RSA_BITS);
			return -1;
		}
		return 0;
	}
	if (EVP_PKEY_is_a(k->pkey, "EC")) {
		EVP_PKEY_get_utf8_string_param(k->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
					       sizeof(group), &glen);
		snprintf(k->describe, sizeof(k->describe), "EC %s",
			 glen > 0 ? group : "(explicit curve)");
		if (bits < SIGN_KEY_MIN_EC_BITS) {
			sign_key_errf(err, errlen,
				      "%s: EC key of %d bits is too weak (BSI TR-02102-1 requires "
				      "at least %d); use P-256 or stronger",
				      path, bits, SIGN_KEY_MIN_EC_BITS);
			return -1;
		}
		return 0;
	}
	sign_key_errf(err, errlen,
		      "%s: unsupported key type %s (the seal needs an RSA or ECDSA key)", path,
		      EVP_PKEY_get0_type_name(k->pkey) ? EVP_PKEY_get0_type_name(k->pkey) : "?");
	return -1;
}

/* Check that the certificate chains to the configured trust anchor. */
static int sign_key_check_chain(sign_key *k, const char *ca_path, char *err, size_t errlen)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	int rc = -1;

	if ((store = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL)
		goto ossl;
	if (X509_STORE_load_file(store, ca_path) != 1) {
		sign_key_errf(err, errlen,
			      "ca %s: cannot load the CA certificate; create the test PKI with "
			      "scripts/pki.sh VARDIR, or set ca: in conf/signing.yaml",
			      ca_path);
		ERR_clear_error();
		goto out;
	}
	if (X509_STORE_CTX_init(ctx, store, k->cert, k->chain) != 1)
		goto ossl;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SMIME_SIGN);
	if (X509_verify_cert(ctx) != 1) {
		sign_key_errf(err, errlen,
			      "the seal certificate does not verify against %s: %s (fix the "
			      "certificate, chain: or ca: in conf/signing.yaml)",
			      ca_path,
			      X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		ERR_clear_error();
		goto out;
	}
	rc = 0;
	goto out;
ossl:
	sign_key_log_errors("sign_key");
	sign_key_errf(err, errlen, "cannot check the certificate chain (OpenSSL error)");
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

/* A missing file is the most common start-up error; name the fix. */
static int sign_key_need_file(const char *what, const char *path, char *err, size_t errlen)
{
	if (fio_exists(path) == 1)
		return 0;
	sign_key_errf(err, errlen,
		      "%s file %s does not exist: create the test PKI with scripts/pki.sh VARDIR, "
		      "or set %s: in conf/signing.yaml",
		      what, path, what);
	return -1;
}

sign_key *sign_key_open(const struct sign_key_conf *c, char *err, size_t errlen)
{
	struct sign_key_pin pin;
	sign_key *k = xcalloc(1, sizeof(*k));
	BIO *in = NULL;
	size_t i;

	memset(&pin, 0, sizeof(pin));
	if ((k->chain = sk_X509_new_null()) == NULL)
		log_fatalx(EX_OSERR, "out of memory");
	if (sign_key_need_file("key", c->key_path, err, errlen) == -1 ||
	    sign_key_need_file("cert", c->cert_path, err, errlen) == -1)
		goto fail;
	if (sign_key_pin_load(c, &pin, err, errlen) == -1)
		goto fail;
	if ((in = BIO_new_file(c->key_path, "r")) == NULL) {
		sign_key_errf(err, errlen, "key %s: cannot open: %s", c->key_path, strerror(errno));
		goto fail;
	}
	k->pkey = PEM_read_bio_PrivateKey(in, NULL, sign_key_pin_cb, &pin);
	OPENSSL_cleanse(&pin, sizeof(pin));
	if (k->pkey == NULL) {
		ERR_clear_error(); /* may name the passphrase problem; never log the PIN */
		sign_key_errf(err, errlen,
			      "key %s: cannot read the private key (not PEM, or encrypted and "
			      "pin_file/pin_env missing or wrong)",
			      c->key_path);
		goto fail;
	}
	BIO_free(in);
	if ((in = BIO_new_file(c->cert_path, "r")) == NULL ||
	    (k->cert = PEM_read_bio_X509(in, NULL, NULL, NULL)) == NULL) {
		ERR_clear_error();
		sign_key_errf(err, errlen, "cert %s: not a PEM certificate", c->cert_path);
		goto fail;
	}
	for (i = 0; i < c->n_chain; i++) {
		if (sign_key_need_file("chain", c->chain_paths[i], err, errlen) == -1)
			goto fail;
		if (sign_key_read_certs(c->chain_paths[i], k->chain) < 1 ||
		    sk_X509_num(k->chain) > SIGN_KEY_MAX_CHAIN) {
			sign_key_errf(err, errlen,
				      "chain %s: no PEM certificate in it (or more than %d in all)",
				      c->chain_paths[i], SIGN_KEY_MAX_CHAIN);
			goto fail;
		}
	}
	if (sign_key_check_strength(k, c->key_path, err, errlen) == -1)
		goto fail;
	if (X509_check_private_key(k->cert, k->pkey) != 1) {
		ERR_clear_error();
		sign_key_errf(err, errlen,
			      "key %s does not belong to the certificate %s; configure the "
			      "matching pair",
			      c->key_path, c->cert_path);
		goto fail;
	}
	if (c->ca_path != NULL) {
		if (sign_key_need_file("ca", c->ca_path, err, errlen) == -1 ||
		    sign_key_check_chain(k, c->ca_path, err, errlen) == -1)
			goto fail;
	}
	BIO_free(in);
	return k;
fail:
	OPENSSL_cleanse(&pin, sizeof(pin));
	BIO_free(in);
	return sign_key_close(k);
}

sign_key *sign_key_close(sign_key *k)
{
	if (k == NULL)
		return NULL;
	EVP_PKEY_free(k->pkey); /* clears the key material */
	X509_free(k->cert);
	sk_X509_pop_free(k->chain, X509_free);
	free(k);
	return NULL;
}

X509 *sign_key_cert(const sign_key *k)
{
	return k->cert;
}
STACK_OF(X509) * sign_key_chain(const sign_key *k)
{
	return k->chain;
}
const char *sign_key_describe(const sign_key *k)
{
	return k->describe;
}

int sign_key_sign(sign_key *k, const struct sign_key_request *rq, struct sign_key_response *rs,
		  char *err, size_t errlen)
{
	const EVP_MD *md;
	EVP_PKEY_CTX *ctx = NULL;
	size_t len;
	int rc = -1;

	memset(rs, 0, sizeof(*rs));
	if ((rq->md_nid != NID_sha256 && rq->md_nid != NID_sha384 && rq->md_nid != NID_sha512) ||
	    (md = EVP_get_digestbynid(rq->md_nid)) == NULL ||
	    rq->len != (unsigned int)EVP_MD_get_size(md)) {
		sign_key_errf(err, errlen, "sign request with a bad digest algorithm or length");
		return -1;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) <= 0 || EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0)
		goto ossl;
	if (EVP_PKEY_is_a(k->pkey, "RSA") &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
		goto ossl;
	if (EVP_PKEY_sign(ctx, NULL, &len, rq->digest, rq->len) <= 0)
		goto ossl;
	if (len > sizeof(rs->sig)) {
		sign_key_errf(err, errlen, "signature larger than %zu bytes", sizeof(rs->sig));
		goto out;
	}
	if (EVP_PKEY_sign(ctx, rs->sig, &len, rq->digest, rq->len) <= 0)
		goto ossl;
	rs->len = (unsigned int)len;
	rc = 0;
	goto out;
ossl:
	sign_key_log_errors("sign_key");
	sign_key_errf(err, errlen, "the key could not sign (OpenSSL error, see above)");
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}
