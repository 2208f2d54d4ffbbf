/*
 * sign_key.c - the seal key behind a "sign this digest" interface; see sign_key.h.
 *
 * This is the parent's side: it reads the certificates (public data), forks the
 * key holder (sign_keyproc.c) and talks to it over a SOCK_SEQPACKET socketpair,
 * one fixed-size message each way. It never opens the key file or the PIN file.
 */
#include "sign_key.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/wait.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "fileio.h"
#include "log.h"
#include "sign_keyproc.h"
#include "xalloc.h"

struct sign_key {
	int sock;  /* to the key holder; -1 once it is gone */
	pid_t pid; /* the key holder; -1 once reaped */
	unsigned timeout;
	X509 *cert;
	STACK_OF(X509) * chain;
	char describe[128];
	char gone[160]; /* how the holder ended, once it did */
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

/* Milliseconds of the monotonic clock. */
static long long sign_key_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Close the socket and reap the holder (SIGKILL first with kill_it, or when it
 * does not end within 3 s of EOF); note how it ended in k->gone.
 */
static void sign_key_reap(sign_key *k, int kill_it)
{
	struct timespec tick = {0, 10 * 1000 * 1000};
	int st, i, sig;
	pid_t r;

	if (k->sock != -1)
		close(k->sock);
	k->sock = -1;
	if (k->pid <= 0)
		return;
	if (kill_it)
		kill(k->pid, SIGKILL);
	for (i = 0;; i++) {
		if ((r = waitpid(k->pid, &st, WNOHANG)) == k->pid)
			break;
		if (r == -1 && errno != EINTR) { /* someone else reaped it */
			snprintf(k->gone, sizeof(k->gone), "pid %ld ended", (long)k->pid);
			k->pid = -1;
			return;
		}
		if (i == 300)
			kill(k->pid, SIGKILL);
		nanosleep(&tick, NULL);
	}
	if (WIFSIGNALED(st)) {
		sig = WTERMSIG(st);
		snprintf(k->gone, sizeof(k->gone), "pid %ld killed by signal %d (%s)", (long)k->pid,
			 sig, strsignal(sig));
	} else {
		snprintf(k->gone, sizeof(k->gone), "pid %ld exited with status %d", (long)k->pid,
			 WEXITSTATUS(st));
	}
	k->pid = -1;
}

/*
 * Receive one message of exactly size bytes within timeout seconds. 0; -1 with a
 * message in why when the holder closed the socket, sent something else or did not
 * answer in time (then it is killed). Either way after -1 the holder is gone.
 */
static int sign_key_recv(sign_key *k, void *msg, size_t size, unsigned timeout, char *why,
			 size_t whylen)
{
	long long deadline = sign_key_now_ms() + (long long)timeout * 1000, left;
	struct pollfd pfd;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;
	int r;

	for (;;) {
		left = deadline - sign_key_now_ms();
		if (left <= 0) {
			sign_key_reap(k, 1);
			sign_key_errf(why, whylen, "it did not answer within %u s and was stopped",
				      timeout);
			return -1;
		}
		pfd.fd = k->sock;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if ((r = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left)) == -1 &&
		    errno != EINTR) {
			sign_key_reap(k, 1);
			sign_key_errf(why, whylen, "poll: %s", strerror(errno));
			return -1;
		}
		if (r <= 0)
			continue;
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = msg;
		iov.iov_len = size;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if ((n = recvmsg(k->sock, &mh, MSG_DONTWAIT)) == -1 &&
		    (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == (ssize_t)size && !(mh.msg_flags & MSG_TRUNC))
			return 0;
		if (n > 0) {
			sign_key_reap(k, 1);
			sign_key_errf(why, whylen, "it sent a malformed message of %zd bytes", n);
			return -1;
		}
		sign_key_reap(k, 0);
		sign_key_errf(why, whylen, "%s", k->gone);
		return -1;
	}
}

/* Wipe the PIN from this process's environment: only the holder may keep it. */
static void sign_key_wipe_env(const char *name)
{
	char *v;

	if (name == NULL || (v = getenv(name)) == NULL)
		return;
	OPENSSL_cleanse(v, strlen(v));
	unsetenv(name);
}

/* Start the key holder and wait for its hello. 0, or -1 with a message. */
static int sign_key_start(sign_key *k, const struct sign_key_conf *c, char *err, size_t errlen)
{
	struct sign_keyproc_hello h;
	char why[256];
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		sign_key_errf(err, errlen, "socketpair for the key holder: %s", strerror(errno));
		return -1;
	}
	fflush(NULL); /* nothing buffered twice */
	if ((pid = fork()) == -1) {
		sign_key_errf(err, errlen, "cannot start the key holder: fork: %s",
			      strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		sign_keyproc_main(sv[1], c, k->cert);
	}
	close(sv[1]);
	k->sock = sv[0];
	k->pid = pid;
	sign_key_wipe_env(c->pin_env);
	memset(&h, 0, sizeof(h));
	if (sign_key_recv(k, &h, sizeof(h), k->timeout, why, sizeof(why)) == -1) {
		sign_key_errf(err, errlen, "the key holder did not start: %s", why);
		return -1;
	}
	h.msg[sizeof(h.msg) - 1] = '\0';
	h.describe[sizeof(h.describe) - 1] = '\0';
	if (h.status != 0) {
		sign_key_errf(err, errlen, "%s", h.msg[0] ? h.msg : "the key holder failed");
		sign_key_reap(k, 0);
		return -1;
	}
	snprintf(k->describe, sizeof(k->describe), "%s", h.describe);
	return 0;
}

sign_key *sign_key_open(const struct sign_key_conf *c, char *err, size_t errlen)
{
	sign_key *k = xcalloc(1, sizeof(*k));
	BIO *in = NULL;
	size_t i;

	k->sock = -1;
	k->pid = -1;
	k->timeout = c->timeout > 0 ? c->timeout : SIGN_KEY_TIMEOUT;
	if ((k->chain = sk_X509_new_null()) == NULL)
		log_fatalx(EX_OSERR, "out of memory");
	if (c->key_path == NULL || c->cert_path == NULL)
		log_panic("sign_key_open: key_path and cert_path are required");
	if (sign_key_need_file("cert", c->cert_path, err, errlen) == -1)
		goto fail;
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
	if (c->ca_path != NULL) {
		if (sign_key_need_file("ca", c->ca_path, err, errlen) == -1 ||
		    sign_key_check_chain(k, c->ca_path, err, errlen) == -1)
			goto fail;
	}
	if (sign_key_start(k, c, err, errlen) == -1)
		goto fail;
	BIO_free(in);
	return k;
fail:
	BIO_free(in);
	return sign_key_close(k);
}

sign_key *sign_key_close(sign_key *k)
{
	if (k == NULL)
		return NULL;
	sign_key_reap(k, 0); /* EOF ends the holder */
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
int sign_key_alive(const sign_key *k)
{
	return k != NULL && k->sock != -1;
}
pid_t sign_key_holder_pid(const sign_key *k)
{
	return k != NULL && k->sock != -1 ? k->pid : -1;
}

int sign_key_sign(sign_key *k, const struct sign_key_request *rq, struct sign_key_response *rs,
		  char *err, size_t errlen)
{
	struct sign_keyproc_reply rp;
	const EVP_MD *md;
	char why[256];
	ssize_t n;
	int rc = -1;

	memset(rs, 0, sizeof(*rs));
	if ((rq->md_nid != NID_sha256 && rq->md_nid != NID_sha384 && rq->md_nid != NID_sha512) ||
	    (md = EVP_get_digestbynid(rq->md_nid)) == NULL ||
	    rq->len != (unsigned int)EVP_MD_get_size(md)) {
		sign_key_errf(err, errlen, "sign request with a bad digest algorithm or length");
		return -1;
	}
	if (k->sock == -1) {
		sign_key_errf(err, errlen,
			      "the key holder is gone (%s); the letter is retried later - restart "
			      "mailroom-sign to start a new key holder",
			      k->gone);
		return -1;
	}
	do
		n = send(k->sock, rq, sizeof(*rq), MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(*rq)) {
		sign_key_reap(k, 1);
		sign_key_errf(err, errlen,
			      "the key holder is gone (%s); the letter is retried later - restart "
			      "mailroom-sign to start a new key holder",
			      k->gone);
		return -1;
	}
	memset(&rp, 0, sizeof(rp));
	if (sign_key_recv(k, &rp, sizeof(rp), k->timeout, why, sizeof(why)) == -1) {
		sign_key_errf(err, errlen,
			      "the key holder failed: %s; the letter is retried later - restart "
			      "mailroom-sign to start a new key holder",
			      why);
		return -1;
	}
	rp.msg[sizeof(rp.msg) - 1] = '\0';
	if (rp.status != 0) {
		sign_key_errf(err, errlen, "the key could not sign: %s", rp.msg);
		goto out;
	}
	if (rp.rs.len == 0 || rp.rs.len > sizeof(rp.rs.sig)) {
		sign_key_reap(k, 1);
		sign_key_errf(err, errlen, "the key holder answered a signature of %u bytes",
			      rp.rs.len);
		goto out;
	}
	*rs = rp.rs;
	rc = 0;
out:
	OPENSSL_cleanse(&rp, sizeof(rp));
	return rc;
}
