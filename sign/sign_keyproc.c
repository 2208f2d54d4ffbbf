/*
 * sign_keyproc.c - the key holder process; see sign_keyproc.h.
 *
 * Everything here runs in the child that sign_key_open() forks. Messages that go
 * back to the parent name the configuration key to fix; none carries the PIN.
 */
#define _GNU_SOURCE /* close_range, CLONE_THREAD */
#include "sign_keyproc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <libp11.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "buf.h"
#include "fault.h"
#include "fileio.h"
#include "log.h"

#define KEYPROC_PIN_MAX 1024
#define KEYPROC_DEFAULT_USER "nobody"

/* What the holder holds. */
struct keyproc {
	const struct sign_key_conf *c;
	X509 *cert;
	EVP_PKEY *pkey;	 /* the PEM key, or libp11's handle to the token key */
	PKCS11_CTX *p11; /* token keys only */
	PKCS11_SLOT *slots;
	unsigned int nslots;
	int token;     /* 1: PKCS#11 */
	char user[64]; /* the user the holder switched to, "" if it did not */
	char describe[128];
};

/* The PIN (passphrase of a PEM key, user PIN of a token). */
struct keyproc_pin {
	char text[KEYPROC_PIN_MAX];
	int have;
};

static void kp_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Format a message into err. */
static void kp_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The reason of the newest OpenSSL/libp11 error (never contains a PIN); clears the queue. */
static const char *kp_ossl_reason(void)
{
	static char msg[160];
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	snprintf(msg, sizeof(msg), "%s", r != NULL ? r : "no detail");
	ERR_clear_error();
	return msg;
}

/* The fault hook before every key operation. 0, or -1 with a message. */
static int kp_fault(const char *what, char *err, size_t errlen)
{
	if (fault_point("token") == 0)
		return 0;
	kp_errf(err, errlen, "%s failed: %s (injected fault)", what, strerror(errno));
	return -1;
}

int sign_keyproc_is_uri(const char *key)
{
	return key != NULL && strncmp(key, "pkcs11:", 7) == 0;
}

/* Value of one hex digit, or -1. */
static int kp_hex(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) into out (max bytes). Returns the length, or -1. */
static long kp_pct_decode(const char *s, size_t n, unsigned char *out, size_t max)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '%') {
			if (i + 2 >= n || (hi = kp_hex(s[i + 1])) == -1 ||
			    (lo = kp_hex(s[i + 2])) == -1)
				return -1;
			ch = (unsigned char)(hi * 16 + lo);
			i += 2;
		}
		if (o == max)
			return -1;
		out[o++] = ch;
	}
	return (long)o;
}

/* Decode one text attribute into out (NUL-terminated, no NUL inside). */
static int kp_uri_text(const char *name, const char *v, size_t n, char *out, size_t outlen,
		       char *err, size_t errlen)
{
	long len;

	if (out[0] != '\0') {
		kp_errf(err, errlen, "key: the pkcs11: URI names %s twice", name);
		return -1;
	}
	if ((len = kp_pct_decode(v, n, (unsigned char *)out, outlen - 1)) <= 0 ||
	    memchr(out, '\0', (size_t)len) != NULL) {
		kp_errf(err, errlen,
			"key: %s= in the pkcs11: URI is empty, too long (max %zu) or badly "
			"%%-encoded",
			name, outlen - 1);
		out[0] = '\0';
		return -1;
	}
	out[len] = '\0';
	return 0;
}

int sign_keyproc_parse_uri(const char *uri, struct sign_keyproc_uri *u, char *err, size_t errlen)
{
	const char *p, *end, *q, *eq;
	char type[16] = "", slot[24] = "";
	long len;
	char *e;

	memset(u, 0, sizeof(*u));
	if (!sign_keyproc_is_uri(uri)) {
		kp_errf(err, errlen, "key: '%.80s' is not a pkcs11: URI", uri ? uri : "");
		return -1;
	}
	p = uri + 7;
	q = strchr(p, '?');
	if (q != NULL) {
		/* query attributes: only the ones about PINs and modules exist; none is ours */
		if (strstr(q, "pin-value") != NULL || strstr(q, "pin-source") != NULL)
			kp_errf(
			    err, errlen,
			    "key: the pkcs11: URI carries the PIN (pin-value/pin-source); remove "
			    "it and put the PIN into pin_file or pin_env (it must not sit in "
			    "the configuration)");
		else if (strstr(q, "module-") != NULL)
			kp_errf(
			    err, errlen,
			    "key: the pkcs11: URI names a module; remove module-name/module-path "
			    "and set pkcs11_module: in conf/signing.yaml");
		else
			kp_errf(err, errlen,
				"key: unsupported query in the pkcs11: URI: '%.60s' (remove it)",
				q);
		return -1;
	}
	end = p + strlen(p);
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *aend = semi != NULL ? semi : end;
		size_t nlen;
		const char *v;
		size_t vlen;

		if ((eq = memchr(p, '=', (size_t)(aend - p))) == NULL) {
			kp_errf(err, errlen,
				"key: '%.*s' in the pkcs11: URI is not name=value (RFC 7512)",
				(int)(aend - p > 60 ? 60 : aend - p), p);
			return -1;
		}
		nlen = (size_t)(eq - p);
		v = eq + 1;
		vlen = (size_t)(aend - v);
#define KP_IS(s) (nlen == sizeof(s) - 1 && strncmp(p, s, nlen) == 0)
		if (KP_IS("token")) {
			if (kp_uri_text("token", v, vlen, u->token, sizeof(u->token), err,
					errlen) == -1)
				return -1;
		} else if (KP_IS("manufacturer")) {
			if (kp_uri_text("manufacturer", v, vlen, u->manufacturer,
					sizeof(u->manufacturer), err, errlen) == -1)
				return -1;
		} else if (KP_IS("serial")) {
			if (kp_uri_text("serial", v, vlen, u->serial, sizeof(u->serial), err,
					errlen) == -1)
				return -1;
		} else if (KP_IS("model")) {
			if (kp_uri_text("model", v, vlen, u->model, sizeof(u->model), err,
					errlen) == -1)
				return -1;
		} else if (KP_IS("object")) {
			if (kp_uri_text("object", v, vlen, u->object, sizeof(u->object), err,
					errlen) == -1)
				return -1;
		} else if (KP_IS("type")) {
			if (kp_uri_text("type", v, vlen, type, sizeof(type), err, errlen) == -1)
				return -1;
		} else if (KP_IS("slot-id")) {
			if (kp_uri_text("slot-id", v, vlen, slot, sizeof(slot), err, errlen) == -1)
				return -1;
		} else if (KP_IS("id")) {
			if (u->have_id) {
				kp_errf(err, errlen, "key: the pkcs11: URI names id twice");
				return -1;
			}
			if ((len = kp_pct_decode(v, vlen, u->id, sizeof(u->id))) <= 0) {
				kp_errf(
				    err, errlen,
				    "key: id= in the pkcs11: URI is empty, longer than %zu bytes "
				    "or badly %%-encoded (write each byte as %%XX)",
				    sizeof(u->id));
				return -1;
			}
			u->id_len = (size_t)len;
			u->have_id = 1;
		} else {
			kp_errf(err, errlen,
				"key: attribute '%.*s' of the pkcs11: URI is not supported (use "
				"token, manufacturer, serial, model, slot-id, object, id, type)",
				(int)(nlen > 40 ? 40 : nlen), p);
			return -1;
		}
#undef KP_IS
		p = aend + 1;
	}
	if (type[0] != '\0' && strcmp(type, "private") != 0) {
		kp_errf(err, errlen,
			"key: type=%s in the pkcs11: URI; the seal needs type=private (or no type)",
			type);
		return -1;
	}
	if (slot[0] != '\0') {
		errno = 0;
		u->slot_id = strtoul(slot, &e, 10);
		if (errno != 0 || *e != '\0' || slot[0] == '-') {
			kp_errf(err, errlen, "key: slot-id=%s in the pkcs11: URI is not a number",
				slot);
			return -1;
		}
		u->have_slot_id = 1;
	}
	if (u->object[0] == '\0' && !u->have_id) {
		kp_errf(err, errlen,
			"key: the pkcs11: URI names no key; add object=<label> and/or id=<%%XX...> "
			"(p11tool --list-privkeys --login shows them)");
		return -1;
	}
	return 0;
}

/* Read the PIN from pin_env or pin_file (trailing newline removed). 0 or -1. */
static int kp_pin_load(const struct sign_key_conf *c, struct keyproc_pin *pin, char *err,
		       size_t errlen)
{
	buf b;
	char *v;
	int rc = -1;

	memset(pin, 0, sizeof(*pin));
	buf_init(&b, KEYPROC_PIN_MAX - 1);
	if (c->pin_env != NULL) {
		if ((v = getenv(c->pin_env)) == NULL) {
			kp_errf(err, errlen,
				"pin_env: the environment variable %s is not set; export it "
				"before starting mailroom-sign, or use pin_file",
				c->pin_env);
			goto out;
		}
		if (strlen(v) >= sizeof(pin->text)) {
			kp_errf(err, errlen, "pin_env: %s is too long", c->pin_env);
			goto out;
		}
		snprintf(pin->text, sizeof(pin->text), "%s", v);
		pin->have = 1;
		/* this copy of the environment is the holder's: wipe it as well */
		OPENSSL_cleanse(v, strlen(v));
		unsetenv(c->pin_env);
	} else if (c->pin_file != NULL) {
		if (fio_read_file(c->pin_file, KEYPROC_PIN_MAX - 1, &b) == -1) {
			kp_errf(err, errlen, "pin_file %s: %s", c->pin_file,
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

/* PEM passphrase callback: hands over the configured PIN, refuses if there is none. */
static int kp_pin_cb(char *out, int size, int rwflag, void *u)
{
	struct keyproc_pin *pin = u;
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

/* Open a PEM key file. */
static int kp_open_pem(struct keyproc *kp, struct keyproc_pin *pin, char *err, size_t errlen)
{
	const char *path = kp->c->key_path;
	BIO *in;

	if (fio_exists(path) != 1) {
		kp_errf(err, errlen,
			"key file %s does not exist: create the test PKI with scripts/pki.sh "
			"VARDIR, or set key: in conf/signing.yaml",
			path);
		return -1;
	}
	if (kp_fault("reading the key", err, errlen) == -1)
		return -1;
	if ((in = BIO_new_file(path, "r")) == NULL) {
		ERR_clear_error();
		kp_errf(err, errlen, "key %s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	kp->pkey = PEM_read_bio_PrivateKey(in, NULL, kp_pin_cb, pin);
	BIO_free(in);
	if (kp->pkey == NULL) {
		ERR_clear_error(); /* may name the passphrase problem; never log the PIN */
		kp_errf(err, errlen,
			"key %s: cannot read the private key (not PEM, or encrypted and "
			"pin_file/pin_env missing or wrong)",
			path);
		return -1;
	}
	return 0;
}

/* 1 if the token of slot s matches the URI's token attributes. */
static int kp_token_matches(PKCS11_SLOT *s, const struct sign_keyproc_uri *u)
{
	PKCS11_TOKEN *t = s->token;

	if (t == NULL || !t->initialized)
		return 0;
	if ((u->token[0] && strcmp(u->token, t->label ? t->label : "") != 0) ||
	    (u->manufacturer[0] &&
	     strcmp(u->manufacturer, t->manufacturer ? t->manufacturer : "") != 0) ||
	    (u->serial[0] && strcmp(u->serial, t->serialnr ? t->serialnr : "") != 0) ||
	    (u->model[0] && strcmp(u->model, t->model ? t->model : "") != 0))
		return 0;
	if (u->have_slot_id && PKCS11_get_slotid_from_slot(s) != u->slot_id)
		return 0;
	return 1;
}

/* Append "label (id hex)" of a key to a list for an error message. */
static void kp_list_key(char *list, size_t listlen, const PKCS11_KEY *key)
{
	size_t n = strlen(list), i;

	snprintf(list + n, listlen - n, "%s'%s' id ", n ? ", " : "", key->label ? key->label : "");
	for (i = 0; i < key->id_len && i < 16; i++) {
		n = strlen(list);
		snprintf(list + n, listlen - n, "%%%02X", key->id[i]);
	}
}

/* Open the private key on a PKCS#11 token. */
static int kp_open_token(struct keyproc *kp, struct keyproc_pin *pin, char *err, size_t errlen)
{
	const struct sign_key_conf *c = kp->c;
	struct sign_keyproc_uri u;
	PKCS11_SLOT *slot = NULL;
	PKCS11_TOKEN *tok;
	PKCS11_KEY *keys = NULL, *key = NULL;
	unsigned int nkeys = 0, i;
	char list[512] = "";
	int found = 0, rc;

	if (sign_keyproc_parse_uri(c->key_path, &u, err, errlen) == -1)
		return -1;
	if (c->pkcs11_module == NULL) {
		kp_errf(err, errlen,
			"key: is a pkcs11: URI but pkcs11_module: is not set; set it in "
			"conf/signing.yaml to the token's PKCS#11 library (SoftHSM2: "
			"/usr/lib/softhsm/libsofthsm2.so)");
		return -1;
	}
	if (fio_exists(c->pkcs11_module) != 1) {
		kp_errf(err, errlen,
			"pkcs11_module %s does not exist: install the token's PKCS#11 library or "
			"fix pkcs11_module: in conf/signing.yaml",
			c->pkcs11_module);
		return -1;
	}
	if ((kp->p11 = PKCS11_CTX_new()) == NULL) {
		kp_errf(err, errlen, "out of memory");
		return -1;
	}
	if (kp_fault("loading the PKCS#11 module", err, errlen) == -1)
		return -1;
	if (PKCS11_CTX_load(kp->p11, c->pkcs11_module) != 0) {
		kp_errf(err, errlen,
			"pkcs11_module %s: cannot load or initialise it (%s); is it a PKCS#11 "
			"library, and is its own configuration (e.g. SOFTHSM2_CONF) right?",
			c->pkcs11_module, kp_ossl_reason());
		PKCS11_CTX_free(kp->p11);
		kp->p11 = NULL;
		return -1;
	}
	if (kp_fault("listing the PKCS#11 slots", err, errlen) == -1)
		return -1;
	if (PKCS11_enumerate_slots(kp->p11, &kp->slots, &kp->nslots) != 0) {
		kp_errf(err, errlen, "pkcs11_module %s: cannot list the slots (%s)",
			c->pkcs11_module, kp_ossl_reason());
		return -1;
	}
	for (i = 0; i < kp->nslots; i++) {
		PKCS11_SLOT *s = &kp->slots[i];

		if (s->token != NULL && s->token->initialized) {
			size_t n = strlen(list);

			snprintf(list + n, sizeof(list) - n, "%s'%s'", n ? ", " : "",
				 s->token->label ? s->token->label : "");
		}
		if (slot == NULL && kp_token_matches(s, &u))
			slot = s;
	}
	if (slot == NULL) {
		kp_errf(err, errlen,
			"key %s: no token matches (tokens present: %s); plug in the token or fix "
			"token= in key: of conf/signing.yaml",
			c->key_path, list[0] ? list : "none");
		return -1;
	}
	tok = slot->token;
	if (kp_fault("opening a session", err, errlen) == -1)
		return -1;
	if (PKCS11_open_session(slot, 0) != 0) {
		kp_errf(err, errlen, "token '%s': cannot open a session (%s)", tok->label,
			kp_ossl_reason());
		return -1;
	}
	if (tok->loginRequired) {
		if (!pin->have) {
			kp_errf(err, errlen,
				"token '%s' needs the user PIN: set pin_file or pin_env in "
				"conf/signing.yaml",
				tok->label);
			return -1;
		}
		if (tok->userPinLocked) {
			kp_errf(err, errlen,
				"token '%s': the user PIN is locked; unblock it with the SO PIN",
				tok->label);
			return -1;
		}
		if (kp_fault("logging in to the token", err, errlen) == -1)
			return -1;
		rc = PKCS11_login(slot, 0, pin->text);
		OPENSSL_cleanse(pin, sizeof(*pin));
		if (rc != 0) {
			kp_errf(err, errlen,
				"token '%s': login failed (%s): check the PIN in pin_file/pin_env "
				"(the token locks the PIN after a few wrong tries)",
				tok->label, kp_ossl_reason());
			return -1;
		}
	}
	if (kp_fault("finding the key on the token", err, errlen) == -1)
		return -1;
	if (PKCS11_enumerate_keys(tok, &keys, &nkeys) != 0) {
		kp_errf(err, errlen, "token '%s': cannot list the private keys (%s)", tok->label,
			kp_ossl_reason());
		return -1;
	}
	list[0] = '\0';
	for (i = 0; i < nkeys; i++) {
		PKCS11_KEY *k = &keys[i];

		if (!k->isPrivate)
			continue;
		kp_list_key(list, sizeof(list), k);
		if (u.object[0] != '\0' && strcmp(u.object, k->label ? k->label : "") != 0)
			continue;
		if (u.have_id && (k->id_len != u.id_len || memcmp(k->id, u.id, u.id_len) != 0))
			continue;
		if (key == NULL)
			key = k;
		found++;
	}
	if (found != 1) {
		kp_errf(err, errlen,
			"key %s: %s on token '%s' (private keys there: %s); fix object=/id= in "
			"key: of conf/signing.yaml",
			c->key_path,
			found ? "more than one private key matches" : "no private key matches",
			tok->label, list[0] ? list : "none");
		return -1;
	}
	if ((kp->pkey = PKCS11_get_private_key(key)) == NULL) {
		kp_errf(err, errlen, "key %s: libp11 cannot use the key (%s)", c->key_path,
			kp_ossl_reason());
		return -1;
	}
	kp->token = 1;
	snprintf(kp->describe, sizeof(kp->describe), "token '%.32s'", tok->label);
	return 0;
}

/* Refuse key types and sizes below BSI TR-02102-1 (on the certificate's public key). */
static int kp_check_strength(struct keyproc *kp, char *err, size_t errlen)
{
	EVP_PKEY *pub = X509_get0_pubkey(kp->cert);
	const char *name = kp->c->key_path;
	char group[48] = "", where[sizeof(kp->describe)];
	size_t glen = 0;
	int bits;

	snprintf(where, sizeof(where), "%s", kp->describe);
	if (pub == NULL) {
		kp_errf(err, errlen, "cert %s: cannot read its public key", kp->c->cert_path);
		return -1;
	}
	bits = EVP_PKEY_get_bits(pub);
	if (EVP_PKEY_is_a(pub, "RSA")) {
		snprintf(kp->describe, sizeof(kp->describe), "RSA %d%s%.80s", bits,
			 where[0] ? " on " : "", where);
		if (bits < SIGN_KEY_MIN_RSA_BITS) {
			kp_errf(err, errlen,
				"%s: RSA key of %d bits is too weak (BSI TR-02102-1 requires "
				"at least %d); create a stronger key",
				name, bits, SIGN_KEY_MIN_RSA_BITS);
			return -1;
		}
		return 0;
	}
	if (EVP_PKEY_is_a(pub, "EC")) {
		EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group,
					       sizeof(group), &glen);
		snprintf(kp->describe, sizeof(kp->describe), "EC %.40s%s%.80s",
			 glen > 0 ? group : "(explicit curve)", where[0] ? " on " : "", where);
		if (bits < SIGN_KEY_MIN_EC_BITS) {
			kp_errf(err, errlen,
				"%s: EC key of %d bits is too weak (BSI TR-02102-1 requires "
				"at least %d); use P-256 or stronger",
				name, bits, SIGN_KEY_MIN_EC_BITS);
			return -1;
		}
		return 0;
	}
	kp_errf(err, errlen, "%s: unsupported key type %s (the seal needs an RSA or ECDSA key)",
		name, EVP_PKEY_get0_type_name(pub) ? EVP_PKEY_get0_type_name(pub) : "?");
	return -1;
}

/* The digest algorithm of a request, or NULL if md_nid or len is not allowed. */
static const EVP_MD *kp_request_md(const struct sign_key_request *rq)
{
	const EVP_MD *md;

	if (rq->md_nid != NID_sha256 && rq->md_nid != NID_sha384 && rq->md_nid != NID_sha512)
		return NULL;
	if ((md = EVP_get_digestbynid(rq->md_nid)) == NULL ||
	    rq->len != (unsigned int)EVP_MD_get_size(md))
		return NULL;
	return md;
}

/* Sign one checked request with the key. 0, or -1 with a message. */
static int kp_sign(struct keyproc *kp, const EVP_MD *md, const struct sign_key_request *rq,
		   struct sign_key_response *rs, char *err, size_t errlen)
{
	EVP_PKEY_CTX *ctx = NULL;
	size_t len = 0;
	int rc = -1;

	memset(rs, 0, sizeof(*rs));
	if (kp_fault("signing", err, errlen) == -1)
		return -1;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, kp->pkey, NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) <= 0 || EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0)
		goto ossl;
	if (EVP_PKEY_is_a(kp->pkey, "RSA") &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
		goto ossl;
	if (EVP_PKEY_sign(ctx, NULL, &len, rq->digest, rq->len) <= 0)
		goto ossl;
	if (len > sizeof(rs->sig)) {
		kp_errf(err, errlen, "signature larger than %zu bytes", sizeof(rs->sig));
		goto out;
	}
	if (EVP_PKEY_sign(ctx, rs->sig, &len, rq->digest, rq->len) <= 0)
		goto ossl;
	rs->len = (unsigned int)len;
	rc = 0;
	goto out;
ossl:
	kp_errf(err, errlen, "the key could not sign (%s)", kp_ossl_reason());
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* Sign a test digest and verify it with the certificate: the key belongs to it. */
static int kp_check_pair(struct keyproc *kp, char *err, size_t errlen)
{
	struct sign_key_request rq;
	struct sign_key_response rs;
	EVP_PKEY *pub = X509_get0_pubkey(kp->cert);
	EVP_PKEY_CTX *v = NULL;
	char why[256];
	int ok;

	memset(&rq, 0, sizeof(rq));
	rq.md_nid = NID_sha256;
	rq.len = 32;
	if (RAND_bytes(rq.digest, (int)rq.len) != 1) {
		kp_errf(err, errlen, "no random bytes for the key check (%s)", kp_ossl_reason());
		return -1;
	}
	if (kp_sign(kp, EVP_sha256(), &rq, &rs, why, sizeof(why)) == -1) {
		kp_errf(err, errlen, "key %s: test signature failed: %s%s%s%s", kp->c->key_path,
			why, kp->user[0] ? " (the key holder runs as key_user " : "", kp->user,
			kp->user[0] ? ": can it reach the token's files or devices?)" : "");
		return -1;
	}
	ok = (v = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL)) != NULL &&
	     EVP_PKEY_verify_init(v) > 0 && EVP_PKEY_CTX_set_signature_md(v, EVP_sha256()) > 0 &&
	     (!EVP_PKEY_is_a(pub, "RSA") ||
	      EVP_PKEY_CTX_set_rsa_padding(v, RSA_PKCS1_PADDING) > 0) &&
	     EVP_PKEY_verify(v, rs.sig, rs.len, rq.digest, rq.len) == 1;
	EVP_PKEY_CTX_free(v);
	ERR_clear_error();
	if (!ok) {
		kp_errf(err, errlen,
			"key %s does not belong to the certificate %s; configure the matching "
			"pair",
			kp->c->key_path, kp->c->cert_path);
		return -1;
	}
	return 0;
}

/*
 * Close every descriptor but the socket and stderr; stdin and stdout become
 * /dev/null (and stderr too if it was closed). Returns the socket, moved above 2.
 */
static int kp_close_fds(int sock)
{
	long fd, max;
	int nul, s = sock;

	if (s <= 2 && (s = fcntl(sock, F_DUPFD_CLOEXEC, 3)) == -1)
		_exit(EX_OSERR);
	if (s != sock)
		close(sock);
	if ((nul = open("/dev/null", O_RDWR)) != -1) {
		dup2(nul, 0);
		dup2(nul, 1);
		if (fcntl(2, F_GETFD) == -1)
			dup2(nul, 2);
		if (nul > 2 && nul != s)
			close(nul);
	}
	if ((s > 3 && close_range(3, (unsigned int)s - 1, 0) == -1) ||
	    close_range((unsigned int)s + 1, ~0U, 0) == -1) {
		/* kernels before 5.9 */
		max = sysconf(_SC_OPEN_MAX);
		for (fd = 3; fd < (max > 0 ? max : 1024); fd++)
			if (fd != s)
				close((int)fd);
	}
	return s;
}

#if defined(__x86_64__)
#define KP_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define KP_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef KP_AUDIT_ARCH
/* Append "if nr == n return errno e" to a filter. */
static void kp_deny(struct sock_filter *f, size_t *n, unsigned int nr, unsigned int e)
{
	f[(*n)++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1);
	f[(*n)++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (e & 0xffff));
}

/*
 * A seccomp filter against the usual next steps of an exploit: no execve, no
 * ptrace or process_vm_* of other processes, no fork (threads stay allowed), and
 * with files_too no new files or sockets.
 */
static int kp_seccomp(int files_too)
{
	struct sock_filter f[64];
	struct sock_fprog prog;
	size_t n = 0;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, KP_AUDIT_ARCH, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
	/* x32 system calls (bit 30) would slip past the numbers below */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	kp_deny(f, &n, __NR_fork, EPERM);
	kp_deny(f, &n, __NR_vfork, EPERM);
	if (files_too) {
		kp_deny(f, &n, __NR_open, EPERM);
		kp_deny(f, &n, __NR_creat, EPERM);
	}
#endif
	kp_deny(f, &n, __NR_execve, EPERM);
	kp_deny(f, &n, __NR_execveat, EPERM);
	kp_deny(f, &n, __NR_ptrace, EPERM);
	kp_deny(f, &n, __NR_process_vm_readv, EPERM);
	kp_deny(f, &n, __NR_process_vm_writev, EPERM);
#ifdef __NR_clone3
	kp_deny(f, &n, __NR_clone3, ENOSYS); /* glibc falls back to clone */
#endif
	if (files_too) {
		kp_deny(f, &n, __NR_openat, EPERM);
#ifdef __NR_openat2
		kp_deny(f, &n, __NR_openat2, EPERM);
#endif
		kp_deny(f, &n, __NR_socket, EPERM);
		kp_deny(f, &n, __NR_socketpair, EPERM);
	}
	/* clone: a thread (CLONE_THREAD) is fine, a new process is not */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 3);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, args[0]));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog.len = (unsigned short)n;
	prog.filter = f;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}
#endif

/* Drop privileges and lock the holder down once the key is open. */
static int kp_drop(struct keyproc *kp, char *err, size_t errlen)
{
	const char *user = kp->c->key_user ? kp->c->key_user : KEYPROC_DEFAULT_USER;
	struct rlimit zero = {0, 0};
	struct passwd *pw;
	gid_t gid;

	if (geteuid() == 0) {
		errno = 0;
		if ((pw = getpwnam(user)) == NULL) {
			kp_errf(err, errlen,
				"key_user %s: no such user; create it or set key_user: in "
				"conf/signing.yaml to an unprivileged user",
				user);
			return -1;
		}
		if (pw->pw_uid == 0) {
			kp_errf(err, errlen,
				"key_user %s is root; set key_user: to an unprivileged user", user);
			return -1;
		}
		gid = pw->pw_gid;
		if (setgroups(1, &gid) == -1 || setgid(pw->pw_gid) == -1 ||
		    setuid(pw->pw_uid) == -1) {
			kp_errf(err, errlen, "cannot drop privileges to key_user %s: %s", user,
				strerror(errno));
			return -1;
		}
		if (setuid(0) != -1 || geteuid() == 0) {
			kp_errf(err, errlen,
				"the key holder could regain root after dropping to %s", user);
			return -1;
		}
		snprintf(kp->user, sizeof(kp->user), "%s", user);
	}
	/* a change of ids resets "dumpable": set it (again) after the drop */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		kp_errf(err, errlen, "prctl: %s", strerror(errno));
		return -1;
	}
	if (setrlimit(RLIMIT_NPROC, &zero) == -1 ||
	    (!kp->token && setrlimit(RLIMIT_NOFILE, &zero) == -1)) {
		kp_errf(err, errlen, "setrlimit: %s", strerror(errno));
		return -1;
	}
#ifdef KP_AUDIT_ARCH
	if (kp_seccomp(!kp->token) == -1) {
		kp_errf(err, errlen, "cannot install the seccomp filter: %s", strerror(errno));
		return -1;
	}
#endif
	return 0;
}

/* Send one fixed-size message. 0 or -1. */
static int kp_send(int sock, const void *msg, size_t size)
{
	ssize_t n;

	do
		n = send(sock, msg, size, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return n == (ssize_t)size ? 0 : -1;
}

/* Release the token and the key (nothing else is freed: the process ends). */
static void kp_release(struct keyproc *kp)
{
	EVP_PKEY_free(kp->pkey);
	kp->pkey = NULL;
	if (kp->p11 != NULL) {
		if (kp->slots != NULL)
			PKCS11_release_all_slots(kp->p11, kp->slots, kp->nslots);
		PKCS11_CTX_unload(kp->p11);
		PKCS11_CTX_free(kp->p11);
		kp->p11 = NULL;
	}
}

/* Open and check the key; fills the hello. 0 or -1. */
static int kp_start(struct keyproc *kp, struct sign_keyproc_hello *h)
{
	struct keyproc_pin pin;
	struct rlimit zero = {0, 0};
	int rc;

	/* before the key is read: no core file, no ptrace by the same user */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1 || setrlimit(RLIMIT_CORE, &zero) == -1) {
		kp_errf(h->msg, sizeof(h->msg), "cannot disable core dumps: %s", strerror(errno));
		return -1;
	}
	if (kp->c->key_path == NULL || kp->c->cert_path == NULL || kp->cert == NULL) {
		kp_errf(h->msg, sizeof(h->msg), "key: and cert: must be set in conf/signing.yaml");
		return -1;
	}
	if (kp_pin_load(kp->c, &pin, h->msg, sizeof(h->msg)) == -1)
		return -1;
	if (sign_keyproc_is_uri(kp->c->key_path))
		rc = kp_open_token(kp, &pin, h->msg, sizeof(h->msg));
	else
		rc = kp_open_pem(kp, &pin, h->msg, sizeof(h->msg));
	OPENSSL_cleanse(&pin, sizeof(pin));
	/* the test signature comes last: it must work as the holder will run */
	if (rc == -1 || kp_check_strength(kp, h->msg, sizeof(h->msg)) == -1 ||
	    kp_drop(kp, h->msg, sizeof(h->msg)) == -1 ||
	    kp_check_pair(kp, h->msg, sizeof(h->msg)) == -1)
		return -1;
	snprintf(h->describe, sizeof(h->describe), "%s", kp->describe);
	return 0;
}

void sign_keyproc_main(int sock, const struct sign_key_conf *c, X509 *cert)
{
	struct sign_keyproc_hello h;
	struct sign_keyproc_reply rp;
	struct sign_key_request rq;
	struct keyproc kp;
	struct msghdr mh;
	struct iovec iov;
	const EVP_MD *md;
	ssize_t n;

	signal(SIGINT, SIG_IGN); /* a ^C or stop signal ends the parent; EOF ends us */
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sock = kp_close_fds(sock);
	memset(&kp, 0, sizeof(kp));
	memset(&h, 0, sizeof(h));
	kp.c = c;
	kp.cert = cert;
	if (kp_start(&kp, &h) == -1) {
		h.status = -1;
		kp_release(&kp);
		kp_send(sock, &h, sizeof(h));
		_exit(EX_CONFIG);
	}
	h.status = 0;
	if (kp_send(sock, &h, sizeof(h)) == -1)
		_exit(EX_OK); /* the parent is gone */
	for (;;) {
		memset(&rq, 0, sizeof(rq));
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = &rq;
		iov.iov_len = sizeof(rq);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if ((n = recvmsg(sock, &mh, 0)) == -1 && errno == EINTR)
			continue;
		if (n == 0 || (n == -1 && errno == ECONNRESET))
			break; /* EOF: mailroom-sign is done */
		if (n != (ssize_t)sizeof(rq) || (mh.msg_flags & MSG_TRUNC) ||
		    (md = kp_request_md(&rq)) == NULL) {
			log_errorx("key holder: malformed request (%zd bytes); stopping", n);
			kp_release(&kp);
			_exit(EX_PROTOCOL);
		}
		memset(&rp, 0, sizeof(rp));
		if (kp_sign(&kp, md, &rq, &rp.rs, rp.msg, sizeof(rp.msg)) == -1) {
			rp.status = -1;
			log_errorx("key holder: %s", rp.msg);
		}
		n = kp_send(sock, &rp, sizeof(rp));
		OPENSSL_cleanse(&rp, sizeof(rp));
		if (n == -1)
			break;
	}
	kp_release(&kp);
	_exit(EX_OK);
}
