/*
 * sign_key_test.c - the key holder (sign_key.c, sign_keyproc.c) with a PEM key and
 * with a SoftHSM2 token.
 *
 * The test PKI comes from scripts/pki.sh, the token from scripts/softhsm.sh in a
 * temporary directory (SOFTHSM2_CONF points there). For each kind of key: open it,
 * sign SHA-256/384/512 digests and verify every signature here with the public
 * key of the certificate file (positive control; a changed digest must then fail
 * to verify), and check the refusals: wrong PIN, missing object or token, weak
 * RSA-2048 key, key of another certificate, PIN inside the URI. The holder runs
 * as another process, without our descriptors, with seccomp and no_new_privs (as
 * nobody when we are root); a holder killed with SIGKILL or stopped gives an error
 * on the next signature instead of a hang, and a new sign_key_open starts a new
 * one. MAILROOM_FAULT=token:N fails or ends the Nth key operation. The RFC 7512
 * parser is tested on its own.
 *
 * Also a tool for tests/integration/sign_keyiso.sh:
 *   sign_key_test --memsearch PID HEX...
 * reads the memory of process PID (/proc/PID/maps + /proc/PID/mem) and prints, for
 * each HEX byte string, "HEX COUNT" with the number of places it occurs; exit 77
 * when the kernel does not let us read that memory (no ptrace permission).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "fileio.h"
#include "log.h"
#include "sign_key.h"
#include "sign_keyproc.h"

#ifndef SIGN_TEST_SOURCE
#define SIGN_TEST_SOURCE "."
#endif
#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"

static char tdir[] = "/tmp/sign_key_test.XXXXXX";

/* A path in the test directory (static buffer rotation). */
static const char *tpath(const char *name)
{
	static char bufs[8][512];
	static int k;

	k = (k + 1) % 8;
	snprintf(bufs[k], sizeof(bufs[k]), "%s/%s", tdir, name);
	return bufs[k];
}

/* Milliseconds of the monotonic clock. */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run a shell command; its exit status. */
static int run(const char *cmd)
{
	int st = system(cmd);

	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/* The first line a shell command prints, into out. 0 or -1. */
static int capture(const char *cmd, char *out, size_t outlen)
{
	FILE *p = popen(cmd, "r");
	size_t n;

	out[0] = '\0';
	if (p == NULL)
		return -1;
	if (fgets(out, (int)outlen, p) == NULL)
		out[0] = '\0';
	n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	return pclose(p) == 0 && n > 0 ? 0 : -1;
}

/* Write text to a file in the test directory. */
static void put(const char *name, const char *text)
{
	FILE *f = fopen(tpath(name), "w");

	if (f == NULL) {
		perror(name);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

/* A self-signed certificate for key (enough for pairing and strength checks). */
static void write_selfsigned(EVP_PKEY *key, const char *keyfile, const char *certfile)
{
	X509 *x = X509_new();
	FILE *f;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
				   (const unsigned char *)"sign_key_test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L);
	X509_set_pubkey(x, key);
	X509_sign(x, key, EVP_sha256());
	if (keyfile != NULL) {
		f = fopen(tpath(keyfile), "w");
		PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
		fclose(f);
	}
	f = fopen(tpath(certfile), "w");
	PEM_write_X509(f, x);
	fclose(f);
	X509_free(x);
}

/* Does sig verify over digest with the public key of the certificate file? */
static int verify_with_cert(const char *certfile, const EVP_MD *md, const unsigned char *dg,
			    size_t dglen, const unsigned char *sig, size_t siglen)
{
	FILE *f = fopen(certfile, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	EVP_PKEY_CTX *v = NULL;
	int ok;

	if (f != NULL)
		fclose(f);
	if (x == NULL)
		return 0;
	ok = (v = EVP_PKEY_CTX_new_from_pkey(NULL, X509_get0_pubkey(x), NULL)) != NULL &&
	     EVP_PKEY_verify_init(v) > 0 && EVP_PKEY_CTX_set_signature_md(v, md) > 0 &&
	     (!EVP_PKEY_is_a(X509_get0_pubkey(x), "RSA") ||
	      EVP_PKEY_CTX_set_rsa_padding(v, RSA_PKCS1_PADDING) > 0) &&
	     EVP_PKEY_verify(v, sig, siglen, dg, dglen) == 1;
	EVP_PKEY_CTX_free(v);
	X509_free(x);
	ERR_clear_error();
	return ok;
}

/* Sign a random digest with every allowed algorithm; verify each with the cert. */
static void check_signs(sign_key *k, const char *certfile)
{
	static const int nids[] = {NID_sha256, NID_sha384, NID_sha512};
	struct sign_key_request rq;
	struct sign_key_response rs;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(nids) / sizeof(nids[0]); i++) {
		const EVP_MD *md = EVP_get_digestbynid(nids[i]);

		memset(&rq, 0, sizeof(rq));
		rq.md_nid = nids[i];
		rq.len = (unsigned int)EVP_MD_get_size(md);
		RAND_bytes(rq.digest, (int)rq.len);
		err[0] = '\0';
		CHECK(sign_key_sign(k, &rq, &rs, err, sizeof(err)) == 0);
		if (err[0])
			fprintf(stderr, "sign: %s\n", err);
		CHECK(rs.len > 0 && rs.len <= sizeof(rs.sig));
		CHECK(verify_with_cert(certfile, md, rq.digest, rq.len, rs.sig, rs.len));
		rq.digest[0] ^= 1; /* the control: another digest must not verify */
		CHECK(!verify_with_cert(certfile, md, rq.digest, rq.len, rs.sig, rs.len));
	}
}

/* One SHA-256 signature; 0 or -1 with the message in err. */
static int sign_once(sign_key *k, char *err, size_t errlen)
{
	struct sign_key_request rq;
	struct sign_key_response rs;

	memset(&rq, 0, sizeof(rq));
	rq.md_nid = NID_sha256;
	rq.len = 32;
	RAND_bytes(rq.digest, 32);
	err[0] = '\0';
	return sign_key_sign(k, &rq, &rs, err, errlen);
}

/* A key configuration with the test CA. */
static struct sign_key_conf conf(const char *key, const char *cert)
{
	struct sign_key_conf c;

	memset(&c, 0, sizeof(c));
	c.key_path = key;
	c.cert_path = cert;
	return c;
}

/* Open, expecting failure with a message containing want (and never the PIN). */
static void check_refused(const struct sign_key_conf *c, const char *want, const char *pin)
{
	char err[1024] = "";
	sign_key *k = sign_key_open(c, err, sizeof(err));

	CHECK(k == NULL);
	CHECK(strstr(err, want) != NULL);
	if (strstr(err, want) == NULL)
		fprintf(stderr, "expected \"%s\" in: %s\n", want, err);
	if (pin != NULL)
		CHECK(strstr(err, pin) == NULL);
	sign_key_close(k);
}

/* A field of /proc/PID/status ("Uid:", "Seccomp:"), as a number; -1 if absent. */
static long proc_status(pid_t pid, const char *field)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, strlen(field)) == 0) {
			v = strtol(line + strlen(field), NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Number of open descriptors of pid, or -1 if /proc does not tell us. */
static int proc_fds(pid_t pid)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* The holder is another process, locked down (and nobody when we are root). */
static void check_holder(sign_key *k, int pem)
{
	pid_t pid = sign_key_holder_pid(k);
	struct passwd *pw;

	CHECK(pid > 0 && pid != getpid());
	CHECK(proc_status(pid, "NoNewPrivs:") == 1);
	CHECK(proc_status(pid, "Seccomp:") == 2);
	if (geteuid() == 0 && (pw = getpwnam("nobody")) != NULL)
		CHECK(proc_status(pid, "Uid:") == (long)pw->pw_uid);
	if (pem && proc_fds(pid) != -1)
		CHECK(proc_fds(pid) == 4); /* stdin, stdout (/dev/null), stderr, the socket */
}

/* SIGKILL and SIGSTOP of the holder: errors, not hangs; then a new holder works. */
static void check_dead_holder(const struct sign_key_conf *c0)
{
	struct sign_key_conf c = *c0;
	char err[1024];
	long long t;
	sign_key *k;
	pid_t pid;

	k = sign_key_open(&c, err, sizeof(err));
	CHECK(k != NULL);
	if (k == NULL)
		return;
	CHECK(sign_once(k, err, sizeof(err)) == 0);
	pid = sign_key_holder_pid(k);
	CHECK(kill(pid, SIGKILL) == 0);
	t = now_ms();
	CHECK(sign_once(k, err, sizeof(err)) == -1);
	CHECK(now_ms() - t < 5000);
	CHECK(strstr(err, "retried later") != NULL);
	CHECK(strstr(err, "signal 9") != NULL);
	CHECK(!sign_key_alive(k));
	CHECK(sign_once(k, err, sizeof(err)) == -1); /* and stays an error */
	CHECK(strstr(err, "gone") != NULL);
	CHECK(kill(pid, 0) == -1 && errno == ESRCH); /* reaped, not a zombie */
	k = sign_key_close(k);

	/* a stopped holder: the timeout ends the wait and the holder */
	c.timeout = 2;
	k = sign_key_open(&c, err, sizeof(err));
	CHECK(k != NULL);
	if (k == NULL)
		return;
	pid = sign_key_holder_pid(k);
	CHECK(kill(pid, SIGSTOP) == 0);
	t = now_ms();
	CHECK(sign_once(k, err, sizeof(err)) == -1);
	CHECK(now_ms() - t >= 1900 && now_ms() - t < 8000);
	CHECK(strstr(err, "did not answer") != NULL);
	CHECK(kill(pid, 0) == -1 && errno == ESRCH);
	k = sign_key_close(k);

	/* the next open starts a new holder */
	k = sign_key_open(c0, err, sizeof(err));
	CHECK(k != NULL && sign_key_alive(k) && sign_key_holder_pid(k) != pid);
	CHECK(k != NULL && sign_once(k, err, sizeof(err)) == 0);
	sign_key_close(k);
}

/* MAILROOM_FAULT=token:N in the holder (counted per holder process). */
static void check_faults(const struct sign_key_conf *c)
{
	char err[1024];
	sign_key *k;

	setenv("MAILROOM_FAULT", "token:2:fail", 1); /* #1 reads the key, #2 the test signature */
	check_refused(c, "injected fault", NULL);
	setenv("MAILROOM_FAULT", "token:3:fail", 1); /* the first real signature */
	k = sign_key_open(c, err, sizeof(err));
	CHECK(k != NULL);
	if (k != NULL) {
		CHECK(sign_once(k, err, sizeof(err)) == -1 && strstr(err, "injected") != NULL);
		CHECK(sign_key_alive(k));
		CHECK(sign_once(k, err, sizeof(err)) == 0);
		k = sign_key_close(k);
	}
	setenv("MAILROOM_FAULT", "token:3:exit", 1);
	k = sign_key_open(c, err, sizeof(err));
	CHECK(k != NULL);
	if (k != NULL) {
		CHECK(sign_once(k, err, sizeof(err)) == -1 && strstr(err, "status 99") != NULL);
		CHECK(!sign_key_alive(k));
		k = sign_key_close(k);
	}
	unsetenv("MAILROOM_FAULT");
}

/* The RFC 7512 parser alone. */
static void check_uri(void)
{
	struct sign_keyproc_uri u;
	char err[512];

	CHECK(sign_keyproc_parse_uri("pkcs11:token=My%20Token;object=seal;id=%01%fF;type=private",
				     &u, err, sizeof(err)) == 0);
	CHECK_STR(u.token, "My Token");
	CHECK_STR(u.object, "seal");
	CHECK(u.have_id && u.id_len == 2 && u.id[0] == 0x01 && u.id[1] == 0xff);
	CHECK(sign_keyproc_parse_uri("pkcs11:slot-id=3;id=%02", &u, err, sizeof(err)) == 0);
	CHECK(u.have_slot_id && u.slot_id == 3 && u.object[0] == '\0');
	CHECK(sign_keyproc_parse_uri("pkcs11:object=seal?pin-value=1234", &u, err, sizeof(err)) ==
	      -1);
	CHECK(strstr(err, "pin_file") != NULL && strstr(err, "1234") == NULL);
	CHECK(sign_keyproc_parse_uri("pkcs11:object=seal?module-path=/x.so", &u, err,
				     sizeof(err)) == -1);
	CHECK(strstr(err, "pkcs11_module") != NULL);
	CHECK(sign_keyproc_parse_uri("pkcs11:token=t", &u, err, sizeof(err)) == -1);
	CHECK(strstr(err, "names no key") != NULL);
	CHECK(sign_keyproc_parse_uri("pkcs11:object=a;type=cert", &u, err, sizeof(err)) == -1);
	CHECK(sign_keyproc_parse_uri("pkcs11:object=a;object=b", &u, err, sizeof(err)) == -1);
	CHECK(sign_keyproc_parse_uri("pkcs11:object=a;colour=red", &u, err, sizeof(err)) == -1);
	CHECK(sign_keyproc_parse_uri("pkcs11:id=%0", &u, err, sizeof(err)) == -1);
	CHECK(sign_keyproc_parse_uri("pkcs11:id=%G1", &u, err, sizeof(err)) == -1);
	CHECK(sign_keyproc_parse_uri("pkcs11:object=a%00b", &u, err, sizeof(err)) == -1);
	CHECK(sign_keyproc_parse_uri("pkcs11:object", &u, err, sizeof(err)) == -1);
	CHECK(sign_keyproc_parse_uri("/etc/seal.key", &u, err, sizeof(err)) == -1);
	CHECK(sign_keyproc_is_uri("pkcs11:object=a") && !sign_keyproc_is_uri("/x/pkcs11:y"));
}

/* The PEM key of the test PKI. */
static void check_pem(void)
{
	struct sign_key_conf c = conf(tpath("var/pki/seal.key"), tpath("var/pki/seal.pem"));
	struct sign_key_request rq;
	struct sign_key_response rs;
	EVP_PKEY *weak, *other, *seal;
	char err[1024];
	sign_key *k;
	FILE *f;

	c.ca_path = tpath("var/pki/ca.pem");
	k = sign_key_open(&c, err, sizeof(err));
	CHECK(k != NULL);
	if (k == NULL) {
		fprintf(stderr, "PEM open: %s\n", err);
		return;
	}
	CHECK_STR(sign_key_describe(k), "EC prime256v1");
	CHECK(sign_key_cert(k) != NULL);
	check_holder(k, 1);
	check_signs(k, c.cert_path);
	/* requests the holder must never see */
	memset(&rq, 0, sizeof(rq));
	rq.md_nid = NID_sha1;
	rq.len = 20;
	CHECK(sign_key_sign(k, &rq, &rs, err, sizeof(err)) == -1);
	rq.md_nid = NID_sha256;
	rq.len = 20;
	CHECK(sign_key_sign(k, &rq, &rs, err, sizeof(err)) == -1);
	rq.len = 64;
	CHECK(sign_key_sign(k, &rq, &rs, err, sizeof(err)) == -1);
	CHECK(sign_key_alive(k) && sign_once(k, err, sizeof(err)) == 0);
	k = sign_key_close(k);

	/* refusals */
	weak = EVP_RSA_gen(2048);
	write_selfsigned(weak, "weak.key", "weak.pem");
	other = EVP_EC_gen("P-256");
	write_selfsigned(other, "other.key", "other.pem");
	c = conf(tpath("weak.key"), tpath("weak.pem"));
	check_refused(&c, "too weak", NULL);
	c = conf(tpath("other.key"), tpath("var/pki/seal.pem"));
	check_refused(&c, "does not belong", NULL);
	c = conf(tpath("missing.key"), tpath("var/pki/seal.pem"));
	check_refused(&c, "does not exist", NULL);
	c = conf(tpath("var/pki/seal.key"), tpath("missing.pem"));
	check_refused(&c, "does not exist", NULL);
	c = conf(tpath("var/pki/seal.key"), tpath("var/pki/seal.pem"));
	c.key_user = "no-such-user-here";
	if (geteuid() == 0)
		check_refused(&c, "key_user no-such-user-here", NULL);

	/* an encrypted PEM key: PIN from a file, then from the environment */
	f = fopen(tpath("var/pki/seal.key"), "r");
	seal = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (f != NULL)
		fclose(f);
	CHECK(seal != NULL);
	f = fopen(tpath("enc.key"), "w");
	PEM_write_PrivateKey(f, seal, EVP_aes_256_cbc(), (const unsigned char *)"Pem-Pin-4711", 12,
			     NULL, NULL);
	fclose(f);
	put("pem.pin", "Pem-Pin-4711\n");
	put("bad.pin", "Zz-Wrong-Pin-Zz\n");
	c = conf(tpath("enc.key"), tpath("var/pki/seal.pem"));
	c.pin_file = tpath("pem.pin");
	k = sign_key_open(&c, err, sizeof(err));
	CHECK(k != NULL);
	if (k != NULL)
		check_signs(k, c.cert_path);
	k = sign_key_close(k);
	c.pin_file = tpath("bad.pin");
	check_refused(&c, "cannot read the private key", "Zz-Wrong-Pin-Zz");
	c.pin_file = NULL;
	check_refused(&c, "pin_file/pin_env", NULL);
	setenv("SIGN_KEY_TEST_PIN", "Pem-Pin-4711", 1);
	c.pin_env = "SIGN_KEY_TEST_PIN";
	k = sign_key_open(&c, err, sizeof(err));
	CHECK(k != NULL);
	CHECK(getenv("SIGN_KEY_TEST_PIN") == NULL); /* wiped here: only the holder had it */
	if (k != NULL)
		CHECK(sign_once(k, err, sizeof(err)) == 0);
	k = sign_key_close(k);
	check_refused(&c, "SIGN_KEY_TEST_PIN is not set", NULL);

	/* stdin and stdout closed: the socketpair gets descriptors 0 and 1 */
	c = conf(tpath("var/pki/seal.key"), tpath("var/pki/seal.pem"));
	{
		int in = dup(0), out = dup(1);

		fflush(stdout);
		close(0);
		close(1);
		k = sign_key_open(&c, err, sizeof(err));
		CHECK(k != NULL);
		if (k != NULL)
			CHECK(sign_once(k, err, sizeof(err)) == 0);
		k = sign_key_close(k);
		dup2(in, 0);
		dup2(out, 1);
		close(in);
		close(out);
	}
	check_dead_holder(&c);
	check_faults(&c);
	EVP_PKEY_free(weak);
	EVP_PKEY_free(other);
	EVP_PKEY_free(seal);
}

/* The same key in a SoftHSM2 token. Returns 77 when SoftHSM2 is missing. */
static int check_token(void)
{
	struct sign_key_conf c;
	char cmd[2048], uri[512], pin[128], err[1024];
	EVP_PKEY *weak;
	sign_key *k;
	FILE *f;

	if (access(SOFTHSM_MODULE, R_OK) != 0 || run("command -v softhsm2-util >/dev/null") != 0) {
		fprintf(stderr,
			"SKIP: SoftHSM2 (%s, softhsm2-util) is not installed; run sh "
			"scripts/deps.sh\n",
			SOFTHSM_MODULE);
		return 77;
	}
	setenv("SOFTHSM2_CONF", tpath("tok/softhsm2.conf"), 1);
	snprintf(cmd, sizeof(cmd), "sh %s/scripts/softhsm.sh %s %s 2>/dev/null", SIGN_TEST_SOURCE,
		 tpath("tok"), tpath("var"));
	CHECK(capture(cmd, uri, sizeof(uri)) == 0);
	CHECK_STR(uri, "pkcs11:token=mailroom-seal;object=seal;id=%01;type=private");
	CHECK(capture(cmd, err, sizeof(err)) == 0 && strcmp(err, uri) == 0); /* idempotent */
	f = fopen(tpath("tok/user.pin"), "r");
	CHECK(f != NULL && fgets(pin, sizeof(pin), f) != NULL);
	if (f != NULL)
		fclose(f);
	pin[strcspn(pin, "\n")] = '\0';
	CHECK(strlen(pin) >= 8);
	/* the holder re-reads the token files after it became nobody */
	if (geteuid() == 0) {
		snprintf(cmd, sizeof(cmd), "chmod 755 %s && chown -R nobody %s", tdir,
			 tpath("tok"));
		CHECK(run(cmd) == 0);
	}

	c = conf(uri, tpath("var/pki/seal.pem"));
	c.ca_path = tpath("var/pki/ca.pem");
	c.pkcs11_module = SOFTHSM_MODULE;
	c.pin_file = tpath("tok/user.pin");
	k = sign_key_open(&c, err, sizeof(err));
	CHECK(k != NULL);
	if (k == NULL) {
		fprintf(stderr, "token open: %s\n", err);
		return 0;
	}
	CHECK_STR(sign_key_describe(k), "EC prime256v1 on token 'mailroom-seal'");
	check_holder(k, 0);
	check_signs(k, c.cert_path);
	k = sign_key_close(k);

	/* the PIN from the environment */
	setenv("SIGN_KEY_TEST_TOKEN_PIN", pin, 1);
	c.pin_file = NULL;
	c.pin_env = "SIGN_KEY_TEST_TOKEN_PIN";
	k = sign_key_open(&c, err, sizeof(err));
	CHECK(k != NULL && sign_once(k, err, sizeof(err)) == 0);
	CHECK(getenv("SIGN_KEY_TEST_TOKEN_PIN") == NULL);
	k = sign_key_close(k);
	c.pin_env = NULL;
	c.pin_file = tpath("tok/user.pin");

	/* refusals */
	c.pin_file = tpath("bad.pin");
	check_refused(&c, "login failed", "Zz-Wrong-Pin-Zz");
	c.pin_file = NULL;
	check_refused(&c, "needs the user PIN", NULL);
	c.pin_file = tpath("tok/user.pin");
	c.key_path = "pkcs11:token=mailroom-seal;object=nosuch;type=private";
	check_refused(&c, "no private key matches", NULL);
	c.key_path = "pkcs11:token=mailroom-seal;object=seal;id=%02";
	check_refused(&c, "no private key matches", NULL);
	c.key_path = "pkcs11:token=no-such-token;object=seal";
	check_refused(&c, "no token matches", NULL);
	c.key_path = "pkcs11:token=mailroom-seal;object=seal?pin-value=1234";
	check_refused(&c, "pin_file or pin_env", "1234");
	c.key_path = uri;
	c.pkcs11_module = tpath("no-such-module.so");
	check_refused(&c, "pkcs11_module", NULL);
	c.pkcs11_module = NULL;
	check_refused(&c, "pkcs11_module", NULL);
	c.pkcs11_module = SOFTHSM_MODULE;
	c.cert_path = tpath("other.pem");
	c.ca_path = NULL;
	check_refused(&c, "does not belong", NULL);
	c.cert_path = tpath("var/pki/seal.pem");

	/* a weak RSA-2048 key on the token */
	f = fopen(tpath("weak.p8"), "w");
	weak = NULL;
	if (f != NULL) {
		FILE *in = fopen(tpath("weak.key"), "r");

		weak = in ? PEM_read_PrivateKey(in, NULL, NULL, NULL) : NULL;
		if (in != NULL)
			fclose(in);
		if (weak != NULL)
			PEM_write_PKCS8PrivateKey(f, weak, NULL, NULL, 0, NULL, NULL);
		fclose(f);
	}
	EVP_PKEY_free(weak);
	snprintf(cmd, sizeof(cmd),
		 "softhsm2-util --import %s --token mailroom-seal --label weak --id 02 --pin '%s' "
		 ">/dev/null",
		 tpath("weak.p8"), pin);
	CHECK(run(cmd) == 0);
	c.key_path = "pkcs11:token=mailroom-seal;object=weak;id=%02;type=private";
	c.cert_path = tpath("weak.pem");
	c.ca_path = NULL;
	check_refused(&c, "too weak", NULL);

	c = conf(uri, tpath("var/pki/seal.pem"));
	c.pkcs11_module = SOFTHSM_MODULE;
	c.pin_file = tpath("tok/user.pin");
	check_dead_holder(&c);
	/* #1 module load, #2 slot list, #3 session, #4 login, #5 key look-up */
	setenv("MAILROOM_FAULT", "token:4:fail", 1);
	check_refused(&c, "logging in to the token failed", NULL);
	unsetenv("MAILROOM_FAULT");
	return 0;
}

/* --memsearch PID HEX...: count each byte string in the readable memory of PID. */
static int memsearch(int argc, char **argv)
{
	enum { MAXPAT = 8, CHUNK = 1 << 20 };
	unsigned char pat[MAXPAT][256], *mem;
	size_t plen[MAXPAT], maxlen = 0;
	unsigned long count[MAXPAT] = {0}, regions = 0;
	char path[64], line[512];
	int npat = argc - 3, i, fd;
	FILE *maps;

	if (argc < 4 || npat > MAXPAT)
		return 2;
	for (i = 0; i < npat; i++) {
		size_t n = strlen(argv[3 + i]) / 2, j;

		if (n == 0 || n > sizeof(pat[0]))
			return 2;
		for (j = 0; j < n; j++) {
			unsigned int b;

			if (sscanf(argv[3 + i] + 2 * j, "%2x", &b) != 1)
				return 2;
			pat[i][j] = (unsigned char)b;
		}
		plen[i] = n;
		if (n > maxlen)
			maxlen = n;
	}
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[2]);
	if ((fd = open(path, O_RDONLY)) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return errno == EACCES || errno == EPERM ? 77 : 1;
	}
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[2]);
	if ((maps = fopen(path, "r")) == NULL) {
		close(fd);
		return 1;
	}
	mem = malloc(CHUNK + maxlen);
	while (fgets(line, sizeof(line), maps) != NULL) {
		unsigned long lo, hi, off;
		char perms[8] = "";
		size_t keep = 0;

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r' ||
		    strstr(line, "[vvar") != NULL || strstr(line, "[vsyscall]") != NULL)
			continue;
		if (hi - lo > (1UL << 30)) /* sanitizer shadow and reserved space */
			continue;
		regions++;
		for (off = lo; off < hi;) {
			size_t want = hi - off < CHUNK ? hi - off : CHUNK, have, j;
			ssize_t n = pread(fd, mem + keep, want, (off_t)off);

			if (n <= 0)
				break;
			have = keep + (size_t)n;
			/* a match lying wholly in the kept bytes was counted with the last chunk */
			for (i = 0; i < npat; i++)
				for (j = 0; j + plen[i] <= have; j++)
					if (j + plen[i] > keep && mem[j] == pat[i][0] &&
					    memcmp(mem + j, pat[i], plen[i]) == 0)
						count[i]++;
			off += (unsigned long)n;
			keep = have < maxlen - 1 ? have : maxlen - 1;
			memmove(mem, mem + have - keep, keep);
		}
	}
	fclose(maps);
	close(fd);
	free(mem);
	if (regions == 0)
		return 77;
	for (i = 0; i < npat; i++)
		printf("%s %lu\n", argv[3 + i], count[i]);
	return 0;
}

int main(int argc, char **argv)
{
	char cmd[1024];
	int rc;

	if (argc >= 2 && strcmp(argv[1], "--memsearch") == 0)
		return memsearch(argc, argv);
	log_init("sign_key_test");
	if (mkdtemp(tdir) == NULL)
		return 2;
	snprintf(cmd, sizeof(cmd), "sh %s/scripts/pki.sh %s >/dev/null", SIGN_TEST_SOURCE,
		 tpath("var"));
	if (run(cmd) != 0) {
		fprintf(stderr, "scripts/pki.sh failed\n");
		return 1;
	}
	check_uri();
	check_pem();
	rc = check_token();
	fio_rmtree(tdir);
	if (rc == 77 && check_failed == 0) {
		check_done();
		return 77;
	}
	return check_done();
}
