/*
 * test_tsa.c - mailroom-test-tsa: a small RFC 3161 Time-Stamping Authority on
 * 127.0.0.1 for the tests and the demo. TEST ONLY: its tokens have no legal value
 * (not qualified, eIDAS Art. 42), its key lies unprotected in a file.
 *
 * SYNOPSIS
 *	mailroom-test-tsa --pki DIR [--listen 127.0.0.1:PORT] [--port-file FILE]
 *			  [--serial-file FILE] [--pid-file FILE]
 *	mailroom-test-tsa --probe 127.0.0.1:PORT
 *
 *	Serves time-stamps until SIGTERM or SIGINT. --listen defaults to
 *	127.0.0.1:3180; port 0 picks a free port, which is written to --port-file
 *	(one line) once the socket listens. --pki names the directory that
 *	scripts/pki.sh fills: tsa.pem / tsa.key sign, ca.pem goes into answers to
 *	requests with certReq. --serial-file (default DIR/tsa.serial) holds the last
 *	serial number issued, saved (write, fsync, rename) before each token is
 *	signed, so serial numbers stay unique across restarts. --pid-file gets the
 *	process id; both files are removed at a clean stop.
 *	--probe sends "GET /" to a running instance and exits 0 if an HTTP answer
 *	comes back (scripts/tsa.sh waits with it).
 *
 * PROTOCOL
 *	HTTP/1.x, one request per connection (answers say "Connection: close"):
 *	POST / with Content-Type application/timestamp-query and a Content-Length of
 *	at most 64 KiB -> 200, Content-Type application/timestamp-reply, a DER
 *	TimeStampResp (RFC 3161 3.4; a malformed query gets a "rejection" reply, as
 *	the RFC wants). Otherwise 400 (malformed, no Content-Length, chunked, wrong
 *	Content-Type), 404 (path), 405 (method), 408 (request not complete within
 *	5 s), 413 (body too large). One line per request goes to stderr.
 *
 * TOKENS
 *	SHA-256 signature by tsa.key; ESS signing-certificate-v2 with a SHA-256
 *	ESSCertIDv2 (RFC 5816); policy 1.3.6.1.4.1.99999.1 (TSA_TEST_POLICY: an OID
 *	under a private enterprise arc picked for tests - it is not registered to
 *	mailroom and must never appear in a real token); accuracy 1 s; imprints
 *	SHA-256, SHA-384 or SHA-512; a request naming another policy is rejected
 *	(unacceptedPolicy). Faults are not injected here: the client has
 *	MAILROOM_FAULT=tsa:N (util/fault.h), and the variable is removed from this
 *	program's environment at start.
 *
 * SECURITY
 *	Binds 127.0.0.0/8 only; any other --listen address is refused. Reads at most
 *	8 KiB of header and 64 KiB of body per request, with a 5 s limit, and hands
 *	the body to OpenSSL's DER decoder only. Never logs key material.
 *
 * EXIT STATUS
 *	0 after SIGTERM/SIGINT (or a successful --probe); EX_USAGE for bad options or
 *	a non-loopback address; EX_CONFIG when the PKI or the serial file is unusable;
 *	EX_OSERR when the socket cannot be set up; EX_UNAVAILABLE when --probe gets no
 *	answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include "buf.h"
#include "fileio.h"
#include "log.h"
#include "netio.h"
#include "xalloc.h"

#define TSA_TEST_POLICY "1.3.6.1.4.1.99999.1" /* test-only; see TOKENS above */
#define TSA_DEFAULT_LISTEN "127.0.0.1:3180"
#define TSA_MAX_HEADER 8192
#define TSA_MAX_BODY (64u << 10)
#define TSA_READ_TIMEOUT_MS 5000
#define TSA_CT_QUERY "application/timestamp-query"
#define TSA_CT_REPLY "application/timestamp-reply"

struct tsa {
	TS_RESP_CTX *ctx;
	const char *serial_path;
	unsigned long long serial; /* last serial number issued */
};

static volatile sig_atomic_t tsa_stop;
static int tsa_wake[2] = {-1, -1}; /* self-pipe: the signal handler wakes poll() */

/* SIGTERM/SIGINT: note it and wake the accept loop. */
static void tsa_on_signal(int sig)
{
	int e = errno;

	(void)sig;
	tsa_stop = 1;
	if (write(tsa_wake[1], "x", 1) < 0) {
		/* the pipe is full: a wake-up is pending anyway */
	}
	errno = e;
}

/* Send one complete answer; the connection is closed by the caller. */
static void tsa_respond(int fd, int code, const char *ctype, const void *body, size_t len,
			long long deadline)
{
	char hdr[512];
	int n;

	n = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		     "Connection: close\r\nCache-Control: no-store\r\n\r\n",
		     code, netio_http_reason(code), ctype, len, code == 405 ? "Allow: POST\r\n" : "");
	if (netio_send_all(fd, hdr, (size_t)n, deadline) == -1 ||
	    (len > 0 && netio_send_all(fd, body, len, deadline) == -1))
		log_warn("sending the answer failed");
}

/* An error answer with a one-line text body; logs the request line. */
static int tsa_refuse(int fd, int code, const char *peer, const char *what, const char *why,
		      long long deadline)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "%s\n", why);

	tsa_respond(fd, code, "text/plain; charset=us-ascii", body, (size_t)n, deadline);
	log_info("%s \"%s\" -> %d (%s)", peer, what, code, why);
	return code;
}

/* 1 if value (after optional blanks) is the media type ct, parameters allowed. */
static int tsa_is_type(const char *value, const char *ct)
{
	size_t n = strlen(ct);

	while (*value == ' ' || *value == '\t')
		value++;
	return strncasecmp(value, ct, n) == 0 &&
	       (value[n] == '\0' || value[n] == ';' || value[n] == ' ' || value[n] == '\t');
}

/* Sign the query in body and send the reply. Returns the HTTP code sent. */
static int tsa_stamp(struct tsa *ts, int fd, const char *peer, const char *what,
		     const unsigned char *body, size_t len, long long deadline)
{
	BIO *in = BIO_new_mem_buf(body, (int)len);
	TS_RESP *resp = NULL;
	TS_TST_INFO *tst;
	unsigned char *der = NULL;
	int derlen;
	long status;
	char serial[64] = "-";

	if (in == NULL || (resp = TS_RESP_create_response(ts->ctx, in)) == NULL ||
	    (derlen = i2d_TS_RESP(resp, &der)) <= 0) {
		unsigned long e = ERR_peek_last_error();

		ERR_clear_error();
		BIO_free(in);
		TS_RESP_free(resp);
		tsa_respond(fd, 500, "text/plain", "no reply\n", 9, deadline);
		log_errorx("%s \"%s\" -> 500 (OpenSSL: %s)", peer, what,
			   e ? ERR_reason_error_string(e) : "?");
		return 500;
	}
	ERR_clear_error();
	status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp)));
	if ((tst = TS_RESP_get_tst_info(resp)) != NULL)
		snprintf(serial, sizeof(serial), "%ld",
			 ASN1_INTEGER_get(TS_TST_INFO_get_serial(tst)));
	tsa_respond(fd, 200, TSA_CT_REPLY, der, (size_t)derlen, deadline);
	log_info("%s \"%s\" -> 200 %s serial %s (%zu bytes in, %d out)", peer, what,
		 status == TS_STATUS_GRANTED ? "granted" : "rejection", serial, len, derlen);
	OPENSSL_free(der);
	TS_RESP_free(resp);
	BIO_free(in);
	return 200;
}

/* Read one HTTP request from fd and answer it. */
static void tsa_serve(struct tsa *ts, int fd, const char *peer)
{
	long long deadline = netio_deadline(TSA_READ_TIMEOUT_MS);
	char hdr[TSA_MAX_HEADER + 1], what[128] = "", *end = NULL, *line, *next, *sp1, *sp2;
	unsigned char *body = NULL;
	size_t hlen = 0, have, clen = 0;
	int has_len = 0, type_ok = 0, chunked = 0, expect = 0;
	ssize_t r;

	while (end == NULL) {
		if (hlen == TSA_MAX_HEADER) {
			tsa_refuse(fd, 400, peer, "?", "request header larger than 8 KiB",
				   deadline);
			return;
		}
		if ((r = netio_recv(fd, hdr + hlen, TSA_MAX_HEADER - hlen, deadline)) <= 0) {
			if (r == -1 && errno == ETIMEDOUT)
				tsa_refuse(fd, 408, peer, "?", "request not complete within 5 s",
					   deadline + 1000);
			else
				log_info("%s closed the connection before a request", peer);
			return;
		}
		hlen += (size_t)r;
		hdr[hlen] = '\0';
		end = netio_header_end(hdr, hlen);
	}
	if (memchr(hdr, '\0', (size_t)(end - hdr)) != NULL) {
		tsa_refuse(fd, 400, peer, "?", "NUL byte in the header", deadline);
		return;
	}
	*end = '\0';
	have = hlen - (size_t)(end + 4 - hdr); /* body bytes already read */
	/* Request line: METHOD SP TARGET SP HTTP/1.x */
	line = hdr;
	if ((next = strstr(line, "\r\n")) != NULL) {
		*next = '\0';
		next += 2;
	}
	netio_printable(line, what, sizeof(what));
	if ((sp1 = strchr(line, ' ')) == NULL || (sp2 = strchr(sp1 + 1, ' ')) == NULL ||
	    strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		tsa_refuse(fd, 400, peer, what, "malformed request line", deadline);
		return;
	}
	*sp1 = '\0';
	*sp2 = '\0';
	if (strcmp(line, "POST") != 0) {
		tsa_refuse(fd, 405, peer, what, "only POST is served", deadline);
		return;
	}
	if (strcmp(sp1 + 1, "/") != 0) {
		tsa_refuse(fd, 404, peer, what, "the time-stamp service is at /", deadline);
		return;
	}
	/* Header fields. */
	for (line = next; line != NULL && *line != '\0'; line = next) {
		char *name, *v;
		unsigned long long n = clen;

		if ((next = strstr(line, "\r\n")) != NULL) {
			*next = '\0';
			next += 2;
		}
		if (netio_header_field(line, &name, &v) == -1) {
			tsa_refuse(fd, 400, peer, what, "malformed header field", deadline);
			return;
		}
		if (strcasecmp(name, "Content-Length") == 0) {
			if (netio_content_length(v, &has_len, &n) == -1) {
				tsa_refuse(fd, 400, peer, what, "bad Content-Length", deadline);
				return;
			}
			if (n > TSA_MAX_BODY) {
				tsa_refuse(fd, 413, peer, what, "a time-stamp query is < 64 KiB",
					   deadline);
				return;
			}
			clen = (size_t)n;
		} else if (strcasecmp(name, "Content-Type") == 0) {
			type_ok = tsa_is_type(v, TSA_CT_QUERY);
		} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
			chunked = 1;
		} else if (strcasecmp(name, "Expect") == 0) {
			expect = strcasecmp(v, "100-continue") == 0;
		}
	}
	if (chunked || !has_len) {
		tsa_refuse(fd, 400, peer, what, "Content-Length required (no chunked bodies)",
			   deadline);
		return;
	}
	if (!type_ok) {
		tsa_refuse(fd, 400, peer, what, "Content-Type must be " TSA_CT_QUERY, deadline);
		return;
	}
	if (have > clen) {
		tsa_refuse(fd, 400, peer, what, "more bytes than Content-Length", deadline);
		return;
	}
	if (expect && have < clen &&
	    netio_send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, deadline) == -1)
		return;
	body = xmalloc(clen + 1);
	memcpy(body, end + 4, have);
	while (have < clen) {
		if ((r = netio_recv(fd, body + have, clen - have, deadline)) <= 0) {
			if (r == -1 && errno == ETIMEDOUT)
				tsa_refuse(fd, 408, peer, what, "body not complete within 5 s",
					   deadline + 1000);
			else
				log_info("%s \"%s\": connection closed inside the body", peer,
					 what);
			free(body);
			return;
		}
		have += (size_t)r;
	}
	tsa_stamp(ts, fd, peer, what, body, clen, deadline + 1000);
	free(body);
}

/* Write path atomically with the text s (a stale path.tmp of a crash is removed). */
static int tsa_write_small(const char *path, const char *s)
{
	char *tmp = xasprintf("%s.tmp", path);

	unlink(tmp);
	free(tmp);
	return fio_write_atomic(path, s, strlen(s), 0644);
}

/* Save the serial number: the next token may only be signed after this worked. */
static int tsa_serial_save(const struct tsa *ts)
{
	char s[32];

	snprintf(s, sizeof(s), "%llu\n", ts->serial);
	return tsa_write_small(ts->serial_path, s);
}

/* TS_RESP_CTX serial callback: the next number, saved first. NULL refuses the token. */
static ASN1_INTEGER *tsa_serial_cb(TS_RESP_CTX *ctx, void *arg)
{
	struct tsa *ts = arg;
	ASN1_INTEGER *n;

	ts->serial++;
	if (tsa_serial_save(ts) == -1) {
		log_error("%s: cannot save the serial number", ts->serial_path);
		ts->serial--;
		TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION,
					    "serial number store not writable");
		TS_RESP_CTX_add_failure_info(ctx, TS_INFO_SYSTEM_FAILURE);
		return NULL;
	}
	if ((n = ASN1_INTEGER_new()) == NULL || !ASN1_INTEGER_set_uint64(n, ts->serial)) {
		ASN1_INTEGER_free(n);
		TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION, "out of memory");
		TS_RESP_CTX_add_failure_info(ctx, TS_INFO_SYSTEM_FAILURE);
		return NULL;
	}
	return n;
}

/* Load the last serial number; a missing file means none issued yet. 0 or -1. */
static int tsa_serial_load(struct tsa *ts)
{
	buf b;
	char *e;
	int rc = -1;

	buf_init(&b, 64);
	if (fio_read_file(ts->serial_path, 64, &b) == -1) {
		if (errno == ENOENT) {
			ts->serial = 0;
			rc = 0;
		} else {
			log_error("%s: cannot read the serial number file", ts->serial_path);
		}
		goto out;
	}
	errno = 0;
	ts->serial = strtoull(b.data ? b.data : "", &e, 10);
	if (b.data == NULL || e == b.data || errno != 0 || (*e != '\n' && *e != '\0')) {
		log_errorx("%s: not a serial number (one decimal line expected)", ts->serial_path);
		goto out;
	}
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

/* Read one PEM object file; exits EX_CONFIG with a hint when it fails. */
static void *tsa_pem(const char *dir, const char *name, int key)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	void *obj = NULL;

	if (f != NULL) {
		obj = key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL)
			  : (void *)PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (obj == NULL)
		log_fatalx(EX_CONFIG,
			   "%s: cannot read (%s); make the test PKI with: "
			   "scripts/pki.sh VARDIR",
			   path, f == NULL ? strerror(errno) : "not PEM");
	free(path);
	return obj;
}

/* Set up the TS_RESP_CTX from the PKI directory; exits EX_CONFIG on failure. */
static void tsa_setup(struct tsa *ts, const char *pki)
{
	X509 *cert = tsa_pem(pki, "tsa.pem", 0), *ca = tsa_pem(pki, "ca.pem", 0);
	EVP_PKEY *key = tsa_pem(pki, "tsa.key", 1);
	STACK_OF(X509) *certs = sk_X509_new_null();
	ASN1_OBJECT *policy = OBJ_txt2obj(TSA_TEST_POLICY, 1);
	TS_RESP_CTX *c;

	if (!X509_check_private_key(cert, key))
		log_fatalx(EX_CONFIG, "%s/tsa.key does not belong to %s/tsa.pem", pki, pki);
	if ((c = TS_RESP_CTX_new()) == NULL || certs == NULL || policy == NULL ||
	    !sk_X509_push(certs, ca))
		log_fatalx(EX_OSERR, "out of memory");
	/* set_signer_cert checks for the critical extendedKeyUsage timeStamping. */
	if (!TS_RESP_CTX_set_signer_cert(c, cert))
		log_fatalx(EX_CONFIG,
			   "%s/tsa.pem is not a time-stamping certificate (needs "
			   "extendedKeyUsage critical timeStamping)",
			   pki);
	if (!TS_RESP_CTX_set_signer_key(c, key) || !TS_RESP_CTX_set_certs(c, certs) ||
	    !TS_RESP_CTX_set_signer_digest(c, EVP_sha256()) ||
	    !TS_RESP_CTX_set_ess_cert_id_digest(c, EVP_sha256()) ||
	    !TS_RESP_CTX_set_def_policy(c, policy) || !TS_RESP_CTX_add_md(c, EVP_sha256()) ||
	    !TS_RESP_CTX_add_md(c, EVP_sha384()) || !TS_RESP_CTX_add_md(c, EVP_sha512()) ||
	    !TS_RESP_CTX_set_accuracy(c, 1, 0, 0))
		log_fatalx(EX_CONFIG, "OpenSSL refuses the TSA settings");
	TS_RESP_CTX_set_serial_cb(c, tsa_serial_cb, ts);
	ts->ctx = c;
	/* The context holds its own references now. */
	ASN1_OBJECT_free(policy);
	sk_X509_pop_free(certs, X509_free);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* Parse "127.x.y.z:PORT" (or "localhost:PORT"). 0, or -1 with a message logged. */
static int tsa_parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64], *colon, *e;
	unsigned long port;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (strlen(s) >= sizeof(host) || (colon = strrchr(s, ':')) == NULL) {
		log_errorx("\"%s\": want 127.0.0.1:PORT", s);
		return -1;
	}
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &e, 10);
	if (colon[1] == '\0' || *e != '\0' || errno != 0 || port > 65535) {
		log_errorx("\"%s\": bad port", s);
		return -1;
	}
	sa->sin_port = htons((unsigned short)port);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1 ||
	    (ntohl(sa->sin_addr.s_addr) >> 24) != 127) {
		log_errorx("\"%s\": the test TSA listens on loopback (127.0.0.0/8) only", s);
		return -1;
	}
	return 0;
}

/* --probe: 0 if an HTTP answer comes back from addr within 3 s. */
static int tsa_probe(const struct sockaddr_in *sa)
{
	static const char q[] = "GET / HTTP/1.0\r\n\r\n";
	long long deadline = netio_deadline(3000);
	char ans[1024];
	size_t n = 0;
	int fd, rc = -1;
	ssize_t r;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == -1 ||
	    netio_send_all(fd, q, sizeof(q) - 1, deadline) == -1)
		goto out;
	/* Read the whole (short) answer, so the server never writes into a closed socket. */
	while (n < sizeof(ans) && (r = netio_recv(fd, ans + n, sizeof(ans) - n, deadline)) > 0)
		n += (size_t)r;
	if (n >= 8 && memcmp(ans, "HTTP/1.", 7) == 0)
		rc = 0;
out:
	close(fd);
	return rc;
}

/* Write "value\n" to path (pid or port file). Exits EX_OSERR when it cannot. */
static void tsa_write_number(const char *path, unsigned long v)
{
	char s[32];

	snprintf(s, sizeof(s), "%lu\n", v);
	if (tsa_write_small(path, s) == -1)
		log_fatalx(EX_OSERR, "%s: cannot write: %s", path, strerror(errno));
}

static void usage(void) __attribute__((noreturn));
/* Print the synopsis and exit EX_USAGE. */
static void usage(void)
{
	fprintf(stderr,
		"usage: mailroom-test-tsa --pki DIR [--listen 127.0.0.1:PORT] [--port-file F]\n"
		"                         [--serial-file F] [--pid-file F]\n"
		"       mailroom-test-tsa --probe 127.0.0.1:PORT\n"
		"A TEST time-stamping authority (RFC 3161) on loopback; not qualified.\n");
	exit(EX_USAGE);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
					     {"pki", required_argument, NULL, 'k'},
					     {"port-file", required_argument, NULL, 'p'},
					     {"serial-file", required_argument, NULL, 's'},
					     {"pid-file", required_argument, NULL, 'P'},
					     {"probe", required_argument, NULL, 'b'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *listen_at = TSA_DEFAULT_LISTEN, *pki = NULL, *port_file = NULL;
	const char *pid_file = NULL, *probe = NULL;
	char *serial_default = NULL;
	struct sockaddr_in sa;
	struct sigaction act;
	struct tsa ts;
	socklen_t salen = sizeof(sa);
	int ch, lfd, one = 1;

	log_init("mailroom-test-tsa");
	/* Faults are injected in the client (op "tsa"); a crash test's MAILROOM_FAULT=fsync:N
	 * in the environment that started us must not kill the TSA at its serial file. */
	unsetenv("MAILROOM_FAULT");
	memset(&ts, 0, sizeof(ts));
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			listen_at = optarg;
			break;
		case 'k':
			pki = optarg;
			break;
		case 'p':
			port_file = optarg;
			break;
		case 's':
			ts.serial_path = optarg;
			break;
		case 'P':
			pid_file = optarg;
			break;
		case 'b':
			probe = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (probe != NULL) {
		if (tsa_parse_addr(probe, &sa) == -1)
			return EX_USAGE;
		return tsa_probe(&sa) == 0 ? 0 : EX_UNAVAILABLE;
	}
	if (pki == NULL)
		usage();
	if (tsa_parse_addr(listen_at, &sa) == -1)
		return EX_USAGE;
	if (ts.serial_path == NULL)
		ts.serial_path = serial_default = xasprintf("%s/tsa.serial", pki);
	if (tsa_serial_load(&ts) == -1)
		return EX_CONFIG;
	tsa_setup(&ts, pki);

	if (pipe(tsa_wake) == -1 || fcntl(tsa_wake[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(tsa_wake[1], F_SETFL, O_NONBLOCK) == -1)
		log_fatalx(EX_OSERR, "pipe: %s", strerror(errno));
	memset(&act, 0, sizeof(act));
	act.sa_handler = tsa_on_signal;
	sigemptyset(&act.sa_mask);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		log_fatalx(EX_OSERR, "socket: %s", strerror(errno));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(lfd, 16) == -1)
		log_fatalx(EX_OSERR, "%s: cannot listen: %s", listen_at, strerror(errno));
	if (getsockname(lfd, (struct sockaddr *)&sa, &salen) == -1)
		log_fatalx(EX_OSERR, "getsockname: %s", strerror(errno));
	if (pid_file != NULL)
		tsa_write_number(pid_file, (unsigned long)getpid());
	if (port_file != NULL)
		tsa_write_number(port_file, ntohs(sa.sin_port));
	log_info("TEST TSA (not qualified) at http://127.0.0.1:%u/ policy %s, serial file %s",
		 ntohs(sa.sin_port), TSA_TEST_POLICY, ts.serial_path);

	while (!tsa_stop) {
		struct pollfd p[2] = {{.fd = lfd, .events = POLLIN},
				      {.fd = tsa_wake[0], .events = POLLIN}};
		struct sockaddr_in peer;
		socklen_t plen = sizeof(peer);
		char name[64];
		int fd;

		if (poll(p, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_fatalx(EX_OSERR, "poll: %s", strerror(errno));
		}
		if (tsa_stop)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		if ((fd = accept(lfd, (struct sockaddr *)&peer, &plen)) == -1) {
			if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
				log_warn("accept");
			continue;
		}
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		snprintf(name, sizeof(name), "%s:%u", inet_ntoa(peer.sin_addr),
			 ntohs(peer.sin_port));
		tsa_serve(&ts, fd, name);
		close(fd);
	}
	log_info("stopping (signal)");
	close(lfd);
	if (pid_file != NULL)
		unlink(pid_file);
	if (port_file != NULL)
		unlink(port_file);
	TS_RESP_CTX_free(ts.ctx);
	free(serial_default);
	return 0;
}
