/*
 * tsa_test.c - the RFC 3161 client (tsa) and the CAdES-B-T upgrade
 * (sign_cades_add_timestamp) against the real mailroom-test-tsa over HTTP.
 *
 * Makes a fresh test PKI with scripts/pki.sh (and a second one as the "wrong CA"),
 * starts build/bin/mailroom-test-tsa on 127.0.0.1 port 0 and checks:
 *   - a stamp verifies with OpenSSL's TS API on its own (and not for other data),
 *     carries ESSCertIDv2, the test policy, consecutive serial numbers; SHA-384;
 *   - a proxy between client and TSA (forked per request) that forwards honestly
 *     (positive control) or alters the nonce or the imprint of the request, flips
 *     a byte of the signed TSTInfo, answers 503, HTML, junk or an endless body:
 *     each is caught and classed LATER or PERMANENT;
 *   - unreachable and silent TSAs are LATER, a wrong CA, a wrong policy and a
 *     wrong path are PERMANENT, bad configurations are refused at open;
 *   - MAILROOM_FAULT=tsa:1:fail fails the first call and not the second;
 *   - a B-B .p7s from sign_cades_file becomes B-T: the signature and every signed
 *     byte stay, the signature still verifies, the embedded token verifies over
 *     the signature value; a second upgrade says "already" without asking the
 *     TSA; a dead TSA leaves the file as it was; a damaged .p7s is PERMANENT.
 *
 * With arguments it is the helper of tests/integration/tsa.sh:
 *   tsa_test make-bb KEY CERT CA CONTENT P7S    a CAdES-B-B with sign_cades_file
 *   tsa_test upgrade URL TSA_CA P7S             sign_cades_file_add_timestamp
 *   tsa_test stamp URL TSA_CA DATA TOKEN        tsa_stamp over a file
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include "buf.h"
#include "check.h"
#include "fileio.h"
#include "log.h"
#include "sign_cades.h"
#include "sign_key.h"
#include "tsa.h"

#define TEST_POLICY "1.3.6.1.4.1.99999.1"

static char tdir[] = "/tmp/tsa_test.XXXXXX";
static int tsa_port;

/* A path in the test directory (static buffer rotation). */
static const char *tpath(const char *name)
{
	static char bufs[8][512];
	static int k;

	k = (k + 1) % 8;
	snprintf(bufs[k], sizeof(bufs[k]), "%s/%s", tdir, name);
	return bufs[k];
}

/* A URL on 127.0.0.1 (static buffer rotation). */
static const char *url(int port, const char *path)
{
	static char bufs[4][128];
	static int k;

	k = (k + 1) % 4;
	snprintf(bufs[k], sizeof(bufs[k]), "http://127.0.0.1:%d%s", port, path);
	return bufs[k];
}

/* With TSA_TEST_VERBOSE=1, print each expected error message (to read them). */
static void show(const char *what, const char *err)
{
	if (getenv("TSA_TEST_VERBOSE") != NULL)
		fprintf(stderr, "[%s] %s\n", what, err);
}

/* Open a client; NULL with err printed. */
static tsa_client *open_tsa(const char *u, const char *ca, const char *policy, const char *digest,
			    long timeout)
{
	struct tsa_conf c;
	char err[512];
	tsa_client *t;

	memset(&c, 0, sizeof(c));
	c.url = u;
	c.ca_path = ca;
	c.policy = policy;
	c.digest = digest;
	c.timeout_seconds = timeout;
	c.proxy = "";
	if ((t = tsa_open(&c, err, sizeof(err))) == NULL)
		fprintf(stderr, "tsa_open: %s\n", err);
	return t;
}

/* Read a whole file into a buf (max 1 MiB); exits on failure. */
static void slurp(const char *path, buf *b)
{
	buf_init(b, 1u << 20);
	if (fio_read_file(path, 1u << 20, b) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(2);
	}
}

/* A loopback TCP listener on a free port. */
static int listen_any(int *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(fd, 4) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) == -1) {
		perror("listen");
		exit(2);
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Start mailroom-test-tsa for pki; returns its pid, port in *port. */
static pid_t start_tsa(const char *bin, const char *pki, int *port)
{
	char exe[600], portfile[600];
	pid_t pid;
	int i, fd;
	FILE *f;

	snprintf(exe, sizeof(exe), "%s/mailroom-test-tsa", bin);
	snprintf(portfile, sizeof(portfile), "%s", tpath("tsa.port"));
	if ((pid = fork()) == 0) {
		fd = open(tpath("tsa.log"), O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 2);
		execl(exe, exe, "--pki", pki, "--listen", "127.0.0.1:0", "--port-file", portfile,
		      "--serial-file", tpath("tsa.serial"), (char *)NULL);
		perror(exe);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		if ((f = fopen(portfile, "r")) != NULL) {
			int ok = fscanf(f, "%d", port) == 1;

			fclose(f);
			if (ok)
				return pid;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break;
		usleep(50000);
	}
	fprintf(stderr, "mailroom-test-tsa did not start (see %s)\n", tpath("tsa.log"));
	exit(2);
}

/* --- a tampering proxy: one request, forked --------------------------------- */

enum px_mode { PX_PASS, PX_NONCE, PX_IMPRINT, PX_FLIP, PX_503, PX_HTML, PX_JUNK, PX_ENDLESS };

/* Write all bytes (the proxy's peer may be gone: errors end the child). */
static void px_write(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t r;

	while (n > 0) {
		if ((r = send(fd, c, n, MSG_NOSIGNAL)) <= 0)
			_exit(0);
		c += r;
		n -= (size_t)r;
	}
}

/* Read an HTTP request (header + Content-Length body) into b; body offset in *off. */
static void px_read_request(int fd, buf *b, size_t *off)
{
	char blk[4096], *end, *cl;
	size_t need;
	ssize_t r;

	for (;;) {
		if ((r = recv(fd, blk, sizeof(blk), 0)) <= 0 || buf_add(b, blk, (size_t)r) == -1)
			_exit(3);
		if ((end = strstr(b->data, "\r\n\r\n")) != NULL)
			break;
	}
	*off = (size_t)(end + 4 - b->data);
	for (cl = b->data; cl != NULL && strncasecmp(cl, "Content-Length:", 15) != 0;)
		if ((cl = strstr(cl, "\r\n")) != NULL)
			cl += 2;
	if (cl == NULL)
		_exit(3);
	need = *off + strtoul(cl + 15, NULL, 10);
	while (b->len < need) {
		if ((r = recv(fd, blk, sizeof(blk), 0)) <= 0 || buf_add(b, blk, (size_t)r) == -1)
			_exit(3);
	}
}

/* Change the request as the mode says; returns the new DER (OPENSSL_malloc). */
static unsigned char *px_alter(enum px_mode m, const unsigned char *der, size_t len, int *outlen)
{
	const unsigned char *p = der;
	TS_REQ *rq = d2i_TS_REQ(NULL, &p, (long)len);
	unsigned char *out = NULL, copy[EVP_MAX_MD_SIZE];

	if (rq == NULL)
		_exit(4);
	if (m == PX_NONCE) {
		BIGNUM *bn = ASN1_INTEGER_to_BN(TS_REQ_get_nonce(rq), NULL);
		ASN1_INTEGER *n;

		BN_add_word(bn, 1);
		n = BN_to_ASN1_INTEGER(bn, NULL);
		TS_REQ_set_nonce(rq, n);
		ASN1_INTEGER_free(n);
		BN_free(bn);
	} else if (m == PX_IMPRINT) {
		TS_MSG_IMPRINT *mi = TS_REQ_get_msg_imprint(rq);
		ASN1_OCTET_STRING *d = TS_MSG_IMPRINT_get_msg(mi);
		int n = ASN1_STRING_length(d);

		memcpy(copy, ASN1_STRING_get0_data(d), (size_t)n);
		copy[0] ^= 0x01;
		TS_MSG_IMPRINT_set_msg(mi, copy, n);
	}
	*outlen = i2d_TS_REQ(rq, &out);
	TS_REQ_free(rq);
	return out;
}

/* The child: serve one connection on lfd in mode m, forwarding to the TSA. */
static void px_child(int lfd, enum px_mode m) __attribute__((noreturn));
static void px_child(int lfd, enum px_mode m)
{
	struct sockaddr_in sa;
	char hdr[256], blk[4096];
	unsigned char *q = NULL;
	buf req, resp;
	size_t off, i;
	int fd, up, qlen, n;
	ssize_t r;

	buf_init(&req, 1u << 16);
	buf_init(&resp, 1u << 20);
	if ((fd = accept(lfd, NULL, NULL)) == -1)
		_exit(3);
	px_read_request(fd, &req, &off);
	switch (m) {
	case PX_503:
		n = snprintf(hdr, sizeof(hdr),
			     "HTTP/1.1 503 Service Unavailable\r\n"
			     "Content-Length: 0\r\nConnection: close\r\n\r\n");
		px_write(fd, hdr, (size_t)n);
		_exit(0);
	case PX_HTML:
		n = snprintf(hdr, sizeof(hdr),
			     "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
			     "Content-Length: 6\r\nConnection: close\r\n\r\n<html>");
		px_write(fd, hdr, (size_t)n);
		_exit(0);
	case PX_JUNK:
		n = snprintf(hdr, sizeof(hdr),
			     "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\n"
			     "Content-Length: 8\r\nConnection: close\r\n\r\n");
		px_write(fd, hdr, (size_t)n);
		px_write(fd, "0\x82\x01\x00junk", 8); /* a SEQUENCE that claims 256 bytes */
		_exit(0);
	case PX_ENDLESS: /* no Content-Length: only the client's own bound stops it */
		n = snprintf(hdr, sizeof(hdr),
			     "HTTP/1.1 200 OK\r\nContent-Type: "
			     "application/timestamp-reply\r\nConnection: close\r\n\r\n");
		px_write(fd, hdr, (size_t)n);
		memset(blk, 'A', sizeof(blk));
		for (i = 0; i < 64; i++) /* 256 KiB */
			px_write(fd, blk, sizeof(blk));
		_exit(0);
	default:
		break;
	}
	if (m == PX_NONCE || m == PX_IMPRINT)
		q = px_alter(m, (unsigned char *)req.data + off, req.len - off, &qlen);
	/* forward to the real TSA */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((unsigned short)tsa_port);
	if ((up = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(up, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		_exit(5);
	if (q == NULL) {
		px_write(up, req.data, req.len);
	} else {
		n = snprintf(hdr, sizeof(hdr),
			     "POST / HTTP/1.1\r\nContent-Type: application/timestamp-query\r\n"
			     "Content-Length: %d\r\n\r\n",
			     qlen);
		px_write(up, hdr, (size_t)n);
		px_write(up, q, (size_t)qlen);
	}
	while ((r = recv(up, blk, sizeof(blk), 0)) > 0)
		if (buf_add(&resp, blk, (size_t)r) == -1)
			_exit(6);
	close(up);
	if (m == PX_FLIP) { /* genTime is the only GeneralizedTime (tag 0x18, 15 bytes) */
		for (i = 0; i + 16 < resp.len; i++)
			if ((unsigned char)resp.data[i] == 0x18 && resp.data[i + 1] == 0x0f) {
				resp.data[i + 15] = resp.data[i + 15] == '0' ? '1' : '0';
				break;
			}
		if (i + 16 >= resp.len)
			_exit(7);
	}
	px_write(fd, resp.data, resp.len);
	close(fd);
	_exit(0);
}

/* Start a one-shot proxy in mode m; its port in *port. */
static pid_t px_start(enum px_mode m, int *port)
{
	int lfd = listen_any(port);
	pid_t pid = fork();

	if (pid == 0)
		px_child(lfd, m);
	close(lfd);
	return pid;
}

/* Stamp through a proxy in mode m; returns the client's code, message in err. */
static int stamp_via(enum px_mode m, const char *ca, char *err, size_t errlen)
{
	static const unsigned char data[] = "signature value stand-in";
	unsigned char *tok = NULL;
	size_t toklen = 0;
	tsa_client *t;
	int port, rc, st = 0;
	pid_t pid = px_start(m, &port);

	t = open_tsa(url(port, "/"), ca, NULL, NULL, 10);
	rc = t ? tsa_stamp(t, data, sizeof(data), &tok, &toklen, err, errlen) : 99;
	CHECK(rc == TSA_OK ? tok != NULL : tok == NULL);
	free(tok);
	tsa_close(t);
	show("proxy", rc == TSA_OK ? "ok" : err);
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return rc;
}

/* --- independent checks with OpenSSL's TS API ---------------------------------- */

/* 1 if token verifies over data (imprint SHA-256 of data) and chains to ca. */
static int ts_verify_over(const unsigned char *tok, size_t toklen, const unsigned char *data,
			  size_t len, const char *ca, const EVP_MD *md)
{
	const unsigned char *p = tok;
	PKCS7 *token = d2i_PKCS7(NULL, &p, (long)toklen);
	TS_VERIFY_CTX *vc = TS_VERIFY_CTX_new();
	X509_STORE *st = X509_STORE_new();
	unsigned char dg[EVP_MAX_MD_SIZE], *imp;
	unsigned int dglen;
	int ok = 0;

	if (token != NULL && vc != NULL && st != NULL && X509_STORE_load_file(st, ca) == 1 &&
	    EVP_Digest(data, len, dg, &dglen, md, NULL)) {
		imp = OPENSSL_memdup(dg, dglen);
		TS_VERIFY_CTX_set_imprint(vc, imp, dglen);
		TS_VERIFY_CTX_set_store(vc, st);
		st = NULL;
		TS_VERIFY_CTX_set_flags(vc, TS_VFY_SIGNATURE | TS_VFY_IMPRINT | TS_VFY_VERSION);
		ok = TS_RESP_verify_token(vc, token) == 1;
	}
	ERR_clear_error();
	X509_STORE_free(st);
	TS_VERIFY_CTX_free(vc);
	PKCS7_free(token);
	return ok;
}

/* The DER children of the constructed element at p (len bytes): up to max spans. */
static int der_children(const unsigned char *p, long len, const unsigned char **kid, long *kidlen,
			int max)
{
	const unsigned char *q = p, *end, *start;
	long l;
	int tag, xc, n = 0;

	if (ASN1_get_object(&q, &l, &tag, &xc, len) != V_ASN1_CONSTRUCTED)
		return -1;
	end = q + l;
	while (q < end && n < max) {
		start = q;
		if (ASN1_get_object(&q, &l, &tag, &xc, end - q) & 0x80)
			return -1;
		q += l;
		kid[n] = start;
		kidlen[n++] = q - start;
	}
	return n;
}

/* 1 if spans a and b hold the same bytes. */
static int same(const unsigned char *a, long al, const unsigned char *b, long bl)
{
	return al == bl && memcmp(a, b, (size_t)al) == 0;
}

/*
 * Compare a B-B and its B-T byte for byte below the lengths that had to change:
 * every SignedData field before signerInfos, every SignerInfo field; the B-T has
 * exactly one more SignerInfo field, [1] unsignedAttrs. Also returns the token.
 */
static int bt_keeps_bb(const buf *bb, const buf *bt, const unsigned char **tok, long *toklen)
{
	const unsigned char *k1[8], *k2[8], *s1[8], *s2[8], *x1[8], *x2[8];
	long l1[8], l2[8], m1[8], m2[8], y1[8], y2[8];
	int n1, n2, i;

	/* ContentInfo { OID, [0] { SignedData } } */
	if (der_children((const unsigned char *)bb->data, (long)bb->len, k1, l1, 8) != 2 ||
	    der_children((const unsigned char *)bt->data, (long)bt->len, k2, l2, 8) != 2 ||
	    !same(k1[0], l1[0], k2[0], l2[0]))
		return 0;
	if (der_children(k1[1], l1[1], x1, y1, 8) != 1 ||
	    der_children(k2[1], l2[1], x2, y2, 8) != 1)
		return 0;
	/* SignedData { version, digestAlgorithms, encap, [0] certificates, signerInfos } */
	n1 = der_children(x1[0], y1[0], s1, m1, 8);
	n2 = der_children(x2[0], y2[0], s2, m2, 8);
	if (n1 < 4 || n1 != n2)
		return 0;
	for (i = 0; i < n1 - 1; i++)
		if (!same(s1[i], m1[i], s2[i], m2[i]))
			return 0;
	/* signerInfos SET { SignerInfo } */
	if (der_children(s1[n1 - 1], m1[n1 - 1], x1, y1, 8) != 1 ||
	    der_children(s2[n2 - 1], m2[n2 - 1], x2, y2, 8) != 1)
		return 0;
	n1 = der_children(x1[0], y1[0], k1, l1, 8);
	n2 = der_children(x2[0], y2[0], k2, l2, 8);
	if (n1 != 6 || n2 != 7 || k2[6][0] != 0xa1)
		return 0;
	for (i = 0; i < n1; i++)
		if (!same(k1[i], l1[i], k2[i], l2[i]))
			return 0;
	/* [1] { Attribute { OID id-aa-signatureTimeStampToken, SET { token } } } */
	if (der_children(k2[6], l2[6], x2, y2, 8) != 1 ||
	    der_children(x2[0], y2[0], s2, m2, 8) != 2)
		return 0;
	{
		const unsigned char *o = s2[0];
		ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &o, m2[0]);
		int nid = obj ? OBJ_obj2nid(obj) : NID_undef;

		ASN1_OBJECT_free(obj);
		if (nid != NID_id_smime_aa_timeStampToken)
			return 0;
	}
	if (der_children(s2[1], m2[1], x2, y2, 8) != 1)
		return 0;
	*tok = x2[0];
	*toklen = y2[0];
	return 1;
}

/* 1 if p7s verifies over content against the CA (OpenSSL CMS_verify). */
static int cms_verifies(const char *content, const char *p7s, const char *ca)
{
	BIO *in = BIO_new_file(p7s, "rb"), *data = BIO_new_file(content, "rb");
	X509_STORE *st = X509_STORE_new();
	CMS_ContentInfo *cms = d2i_CMS_bio(in, NULL);
	int ok;

	X509_STORE_load_file(st, ca);
	ok = cms != NULL && CMS_verify(cms, NULL, st, data, NULL, CMS_BINARY) == 1;
	ERR_clear_error();
	CMS_ContentInfo_free(cms);
	X509_STORE_free(st);
	BIO_free(in);
	BIO_free(data);
	return ok;
}

/* The signature value of the first SignerInfo of a DER SignedData, into out. */
static int signature_value(const buf *p7s, buf *out)
{
	const unsigned char *p = (const unsigned char *)p7s->data;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)p7s->len);
	CMS_SignerInfo *si;
	ASN1_OCTET_STRING *s;
	int rc = -1;

	buf_init(out, 4096);
	if (cms != NULL && (si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0)) != NULL) {
		s = CMS_SignerInfo_get0_signature(si);
		rc = buf_add(out, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
	}
	CMS_ContentInfo_free(cms);
	return rc;
}

/* --- the helper modes of the integration test ------------------------------- */

/* make-bb / upgrade / stamp; exit status 0, 1 (already B-T: "upgrade"), 75, 65. */
static int helper(int argc, char **argv)
{
	char err[1024];
	int rc;

	err[0] = '\0';
	if (argc == 7 && strcmp(argv[1], "make-bb") == 0) {
		struct sign_key_conf kc;
		struct sign_cades_out res;
		sign_key *k;

		memset(&kc, 0, sizeof(kc));
		kc.key_path = argv[2];
		kc.cert_path = argv[3];
		kc.ca_path = argv[4];
		if ((k = sign_key_open(&kc, err, sizeof(err))) == NULL ||
		    sign_cades_file(k, EVP_sha256(), time(NULL), argv[5], argv[6], &res, "it", err,
				    sizeof(err)) == -1) {
			fprintf(stderr, "make-bb: %s\n", err);
			sign_key_close(k);
			return 65;
		}
		sign_key_close(k);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "upgrade") == 0) {
		tsa_client *t = open_tsa(argv[2], argv[3], NULL, NULL, 10);

		if (t == NULL)
			return 78;
		rc = sign_cades_file_add_timestamp(t, argv[4], "it", err, sizeof(err));
		tsa_close(t);
		if (rc == SIGN_CADES_BT_ADDED)
			printf("added\n");
		else if (rc == SIGN_CADES_BT_ALREADY)
			printf("already B-T\n");
		else
			fprintf(stderr, "upgrade: %s\n", err);
		return rc == SIGN_CADES_BT_ADDED     ? 0
		       : rc == SIGN_CADES_BT_ALREADY ? 1
		       : rc == SIGN_CADES_BT_LATER   ? 75
						     : 65;
	}
	if (argc == 6 && strcmp(argv[1], "stamp") == 0) {
		tsa_client *t = open_tsa(argv[2], argv[3], NULL, NULL, 10);
		unsigned char *tok = NULL;
		size_t toklen = 0;
		buf d;

		if (t == NULL)
			return 78;
		slurp(argv[4], &d);
		rc = tsa_stamp(t, (unsigned char *)d.data, d.len, &tok, &toklen, err, sizeof(err));
		tsa_close(t);
		buf_free(&d);
		if (rc != TSA_OK) {
			fprintf(stderr, "stamp: %s\n", err);
			return rc == TSA_LATER ? 75 : 65;
		}
		rc = fio_write_atomic(argv[5], tok, toklen, 0644) == 0 ? 0 : 74;
		free(tok);
		return rc;
	}
	fprintf(stderr, "usage: tsa_test [make-bb KEY CERT CA CONTENT P7S | upgrade URL "
			"TSA_CA P7S | stamp URL TSA_CA DATA TOKEN]\n");
	return 64;
}

/* --- the suite ------------------------------------------------------------------ */

/* Client against the real TSA: stamps, token content, configuration errors. */
static void test_client(const char *ca, const char *other_ca)
{
	static const unsigned char data[] = "the signature value of a seal";
	struct tsa_info info, info2;
	unsigned char *tok = NULL, *tok2 = NULL;
	size_t toklen = 0, toklen2 = 0;
	char err[1024];
	tsa_client *t;
	time_t now = time(NULL);
	int lfd, port;

	t = open_tsa(url(tsa_port, "/"), ca, NULL, NULL, 10);
	CHECK(t != NULL);
	CHECK_STR(tsa_url(t), url(tsa_port, "/"));
	CHECK(tsa_stamp(t, data, sizeof(data), &tok, &toklen, err, sizeof(err)) == TSA_OK);
	CHECK(tok != NULL && toklen > 500);
	/* independent check, positive and negative */
	CHECK(ts_verify_over(tok, toklen, data, sizeof(data), ca, EVP_sha256()) == 1);
	CHECK(ts_verify_over(tok, toklen, data, sizeof(data) - 1, ca, EVP_sha256()) == 0);
	CHECK(ts_verify_over(tok, toklen, data, sizeof(data), other_ca, EVP_sha256()) == 0);
	CHECK(tsa_token_info(tok, toklen, &info, err, sizeof(err)) == TSA_OK);
	CHECK_STR(info.policy, TEST_POLICY);
	CHECK_STR(info.digest, "sha256");
	CHECK(info.ess_cert_v2 == 1);
	CHECK(info.gen_time >= now - 60 && info.gen_time <= now + 60);
	CHECK(strstr(info.tsa_cert, "TEST TSA") != NULL);
	/* the handle is reused; serial numbers count up */
	CHECK(tsa_stamp(t, data, sizeof(data), &tok2, &toklen2, err, sizeof(err)) == TSA_OK);
	CHECK(tsa_token_info(tok2, toklen2, &info2, err, sizeof(err)) == TSA_OK);
	CHECK(strtoul(info2.serial, NULL, 16) == strtoul(info.serial, NULL, 16) + 1);
	CHECK(tsa_token_info((const unsigned char *)"\x30\x03\x02\x01\x01", 5, &info, err,
			     sizeof(err)) == TSA_PERMANENT);
	free(tok);
	free(tok2);
	tok = tok2 = NULL;
	/* MAILROOM_FAULT=tsa:1:fail fails the first call; the second goes through */
	setenv("MAILROOM_FAULT", "tsa:1:fail", 1);
	CHECK(tsa_stamp(t, data, sizeof(data), &tok, &toklen, err, sizeof(err)) == TSA_LATER);
	CHECK(tok == NULL && strstr(err, "injected") != NULL);
	CHECK(tsa_stamp(t, data, sizeof(data), &tok, &toklen, err, sizeof(err)) == TSA_OK);
	unsetenv("MAILROOM_FAULT");
	free(tok);
	tok = NULL;
	t = tsa_close(t);

	/* SHA-384 imprint; the policy asked for explicitly */
	t = open_tsa(url(tsa_port, "/"), ca, TEST_POLICY, "sha384", 10);
	CHECK(t != NULL &&
	      tsa_stamp(t, data, sizeof(data), &tok, &toklen, err, sizeof(err)) == TSA_OK);
	CHECK(tok != NULL && ts_verify_over(tok, toklen, data, sizeof(data), ca, EVP_sha384()));
	CHECK(tsa_token_info(tok, toklen, &info, err, sizeof(err)) == TSA_OK &&
	      strcmp(info.digest, "sha384") == 0);
	free(tok);
	tok = NULL;
	t = tsa_close(t);

	/* a policy the TSA does not serve: rejected, PERMANENT */
	t = open_tsa(url(tsa_port, "/"), ca, "1.2.3.4", NULL, 10);
	CHECK(t != NULL &&
	      tsa_stamp(t, data, sizeof(data), &tok, &toklen, err, sizeof(err)) == TSA_PERMANENT);
	CHECK(strstr(err, "unacceptedPolicy") != NULL);
	show("unacceptedPolicy", err);
	t = tsa_close(t);

	/* the wrong CA: PERMANENT, says so */
	t = open_tsa(url(tsa_port, "/"), other_ca, NULL, NULL, 10);
	CHECK(t != NULL &&
	      tsa_stamp(t, data, sizeof(data), &tok, &toklen, err, sizeof(err)) == TSA_PERMANENT);
	CHECK(strstr(err, "does not chain") != NULL && tok == NULL);
	show("does not chain", err);
	t = tsa_close(t);

	/* a wrong path: HTTP 404, PERMANENT */
	t = open_tsa(url(tsa_port, "/tsa"), ca, NULL, NULL, 10);
	CHECK(t != NULL &&
	      tsa_stamp(t, data, sizeof(data), &tok, &toklen, err, sizeof(err)) == TSA_PERMANENT);
	CHECK(strstr(err, "HTTP 404") != NULL);
	show("HTTP 404", err);
	t = tsa_close(t);

	/* nobody listens: LATER, with the hint */
	close(listen_any(&port));
	t = open_tsa(url(port, "/"), ca, NULL, NULL, 10);
	CHECK(t != NULL &&
	      tsa_stamp(t, data, sizeof(data), &tok, &toklen, err, sizeof(err)) == TSA_LATER);
	CHECK(strstr(err, "unreachable") != NULL &&
	      strstr(err, "check the URL in conf/signing.yaml `tsa:`") != NULL);
	show("unreachable", err);
	t = tsa_close(t);

	/* a TSA that takes the connection and never answers: LATER after the timeout */
	lfd = listen_any(&port);
	t = open_tsa(url(port, "/"), ca, NULL, NULL, 1);
	CHECK(t != NULL &&
	      tsa_stamp(t, data, sizeof(data), &tok, &toklen, err, sizeof(err)) == TSA_LATER);
	CHECK(strstr(err, "no answer within 1 s") != NULL);
	show("no answer within 1 s", err);
	t = tsa_close(t);
	close(lfd);

	/* configurations refused at open */
	CHECK(open_tsa("ftp://127.0.0.1/", ca, NULL, NULL, 10) == NULL);
	CHECK(open_tsa(url(tsa_port, "/"), ca, NULL, "md5", 10) == NULL);
	CHECK(open_tsa(url(tsa_port, "/"), ca, "not an oid", NULL, 10) == NULL);
	CHECK(open_tsa(url(tsa_port, "/"), tpath("missing-ca.pem"), NULL, NULL, 10) == NULL);
	CHECK(open_tsa(url(tsa_port, "/"), NULL, NULL, NULL, 10) == NULL);
}

/* Answers altered between client and TSA are caught and classed. */
static void test_tampering(const char *ca)
{
	char err[1024];

	CHECK(stamp_via(PX_PASS, ca, err, sizeof(err)) == TSA_OK); /* positive control */
	CHECK(stamp_via(PX_NONCE, ca, err, sizeof(err)) == TSA_PERMANENT);
	CHECK(strstr(err, "nonce mismatch") != NULL);
	CHECK(stamp_via(PX_IMPRINT, ca, err, sizeof(err)) == TSA_PERMANENT);
	CHECK(strstr(err, "message imprint mismatch") != NULL);
	CHECK(stamp_via(PX_FLIP, ca, err, sizeof(err)) == TSA_PERMANENT);
	CHECK(strstr(err, "does not verify") != NULL);
	CHECK(stamp_via(PX_503, ca, err, sizeof(err)) == TSA_LATER);
	CHECK(strstr(err, "HTTP 503") != NULL);
	CHECK(stamp_via(PX_HTML, ca, err, sizeof(err)) == TSA_PERMANENT);
	CHECK(strstr(err, "text/html") != NULL);
	CHECK(stamp_via(PX_JUNK, ca, err, sizeof(err)) == TSA_PERMANENT);
	CHECK(strstr(err, "not a DER TimeStampResp") != NULL);
	CHECK(stamp_via(PX_ENDLESS, ca, err, sizeof(err)) == TSA_PERMANENT);
	CHECK(strstr(err, "more than") != NULL);
}

/* B-B from sign_cades_file, upgraded to B-T. */
static void test_cades_bt(const char *ca)
{
	struct sign_key_conf kc;
	struct sign_cades_out res;
	char key[300], cert[300], err[1024];
	const unsigned char *tok;
	long toklen;
	buf bb, bt, bt2, sig;
	sign_key *k;
	tsa_client *t, *dead;
	FILE *f;
	int port, i;

	snprintf(key, sizeof(key), "%s/var/pki/seal.key", tdir);
	snprintf(cert, sizeof(cert), "%s/var/pki/seal.pem", tdir);
	memset(&kc, 0, sizeof(kc));
	kc.key_path = key;
	kc.cert_path = cert;
	kc.ca_path = ca;
	k = sign_key_open(&kc, err, sizeof(err));
	CHECK(k != NULL);
	if (k == NULL)
		return;
	f = fopen(tpath("letter.bin"), "wb");
	for (i = 0; i < 100000; i++)
		fputc(i * 7 + (i >> 8), f);
	fclose(f);
	CHECK(sign_cades_file(k, EVP_sha256(), time(NULL), tpath("letter.bin"),
			      tpath("letter.bin.p7s"), &res, "test", err, sizeof(err)) == 0);
	k = sign_key_close(k);
	slurp(tpath("letter.bin.p7s"), &bb);

	t = open_tsa(url(tsa_port, "/"), ca, NULL, NULL, 10);
	close(listen_any(&port));
	dead = open_tsa(url(port, "/"), ca, NULL, NULL, 10);
	CHECK(t != NULL && dead != NULL);
	/* a dead TSA: LATER, the file stays B-B */
	CHECK(sign_cades_file_add_timestamp(dead, tpath("letter.bin.p7s"), "test", err,
					    sizeof(err)) == SIGN_CADES_BT_LATER);
	CHECK(strstr(err, "letter.bin.p7s") != NULL && strstr(err, "unreachable") != NULL);
	show("letter.bin.p7s", err);
	slurp(tpath("letter.bin.p7s"), &bt);
	CHECK(same((unsigned char *)bb.data, (long)bb.len, (unsigned char *)bt.data, (long)bt.len));
	buf_free(&bt);
	/* the upgrade */
	CHECK(sign_cades_file_add_timestamp(t, tpath("letter.bin.p7s"), "test", err, sizeof(err)) ==
	      SIGN_CADES_BT_ADDED);
	CHECK(fio_exists(tpath("letter.bin.p7s.tmp")) == 0);
	slurp(tpath("letter.bin.p7s"), &bt);
	CHECK(bt.len > bb.len + 500);
	CHECK(cms_verifies(tpath("letter.bin"), tpath("letter.bin.p7s"), ca) == 1);
	CHECK(bt_keeps_bb(&bb, &bt, &tok, &toklen) == 1);
	/* negative control of the byte comparison: B-B against itself has no [1] */
	CHECK(bt_keeps_bb(&bb, &bb, &tok, &toklen) == 0);
	CHECK(bt_keeps_bb(&bb, &bt, &tok, &toklen) == 1);
	CHECK(signature_value(&bt, &sig) == 0);
	/* the token covers the signature value, not the content */
	CHECK(ts_verify_over(tok, toklen, (unsigned char *)sig.data, sig.len, ca, EVP_sha256()));
	CHECK(!ts_verify_over(tok, toklen, (unsigned char *)bb.data, bb.len, ca, EVP_sha256()));
	buf_free(&sig);
	/* again: "already", even with a dead TSA (nothing asked), nothing written */
	CHECK(sign_cades_file_add_timestamp(dead, tpath("letter.bin.p7s"), "test", err,
					    sizeof(err)) == SIGN_CADES_BT_ALREADY);
	CHECK(sign_cades_file_add_timestamp(t, tpath("letter.bin.p7s"), "test", err, sizeof(err)) ==
	      SIGN_CADES_BT_ALREADY);
	slurp(tpath("letter.bin.p7s"), &bt2);
	CHECK(
	    same((unsigned char *)bt.data, (long)bt.len, (unsigned char *)bt2.data, (long)bt2.len));
	buf_free(&bt2);
	/* the content changed: the B-T no longer verifies (CMS_verify is a real check) */
	f = fopen(tpath("letter.bin"), "r+b");
	fseek(f, 5000, SEEK_SET);
	fputc('X', f);
	fclose(f);
	CHECK(cms_verifies(tpath("letter.bin"), tpath("letter.bin.p7s"), ca) == 0);
	/* a damaged signature value is PERMANENT and not stamped */
	bb.data[bb.len - 5] ^= 0x40;
	CHECK(fio_write_atomic(tpath("bad.p7s"), bb.data, bb.len, 0600) == 0);
	CHECK(sign_cades_file_add_timestamp(t, tpath("bad.p7s"), "test", err, sizeof(err)) ==
	      SIGN_CADES_BT_PERMANENT);
	CHECK(strstr(err, "does not verify") != NULL);
	show("does not verify", err);
	/* not a signature at all, and a missing file */
	CHECK(fio_write_atomic(tpath("junk.p7s"), "junk", 4, 0600) == 0);
	CHECK(sign_cades_file_add_timestamp(t, tpath("junk.p7s"), "test", err, sizeof(err)) ==
	      SIGN_CADES_BT_PERMANENT);
	CHECK(sign_cades_file_add_timestamp(t, tpath("none.p7s"), "test", err, sizeof(err)) ==
	      SIGN_CADES_BT_PERMANENT);
	buf_free(&bb);
	buf_free(&bt);
	tsa_close(t);
	tsa_close(dead);
}

int main(int argc, char **argv)
{
	const char *bin = getenv("MAILROOM_BIN"), *src = getenv("MAILROOM_SOURCE");
	char cmd[1400], pki[256], ca[300], other_ca[300];
	pid_t tsa;
	int st = 0;

	log_init("tsa_test");
	if (argc > 1)
		return helper(argc, argv);
	if (bin == NULL || src == NULL) {
		fprintf(stderr,
			"SKIP: MAILROOM_BIN / MAILROOM_SOURCE not set (run through ctest)\n");
		return 77;
	}
	unsetenv("MAILROOM_FAULT");
	if (mkdtemp(tdir) == NULL)
		return 2;
	snprintf(cmd, sizeof(cmd),
		 "sh '%s/scripts/pki.sh' '%s/var' >/dev/null && "
		 "sh '%s/scripts/pki.sh' '%s/other' >/dev/null",
		 src, tdir, src, tdir);
	if (system(cmd) != 0) {
		fprintf(stderr, "scripts/pki.sh failed\n");
		return 2;
	}
	snprintf(pki, sizeof(pki), "%s/var/pki", tdir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
	snprintf(other_ca, sizeof(other_ca), "%s/other/pki/ca.pem", tdir);
	tsa = start_tsa(bin, pki, &tsa_port);

	test_client(ca, other_ca);
	test_tampering(ca);
	test_cades_bt(ca);

	/* SIGTERM stops the TSA cleanly and it removes its port file */
	kill(tsa, SIGTERM);
	CHECK(waitpid(tsa, &st, 0) == tsa && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(fio_exists(tpath("tsa.port")) == 0);
	if (check_failed != 0) {
		snprintf(cmd, sizeof(cmd), "cat '%s'", tpath("tsa.log"));
		if (system(cmd) != 0)
			fprintf(stderr, "(no TSA log)\n");
	}
	fio_rmtree(tdir);
	return check_done();
}
