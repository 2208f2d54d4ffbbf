/*
 * digest.c - SHA-256 via OpenSSL EVP; see digest.h.
 */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log.h"

int digest_sha256_file(const char *path, unsigned char out[DIGEST_SHA256_LEN], uint64_t *size)
{
	unsigned char blk[1 << 16];
	EVP_MD_CTX *ctx;
	uint64_t total = 0;
	int fd, e, rc = -1;
	ssize_t r;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		log_panic("EVP_MD_CTX_new failed");
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		log_panic("EVP_DigestInit_ex(sha256) failed");
	for (;;) {
		r = read(fd, blk, sizeof(blk));
		if (r == 0)
			break;
		if (r == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		EVP_DigestUpdate(ctx, blk, (size_t)r);
		total += (uint64_t)r;
	}
	EVP_DigestFinal_ex(ctx, out, NULL);
	if (size != NULL)
		*size = total;
	rc = 0;
out:
	e = errno;
	EVP_MD_CTX_free(ctx);
	close(fd);
	errno = e;
	return rc;
}

void digest_sha256(const void *p, size_t n, unsigned char out[DIGEST_SHA256_LEN])
{
	if (EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL) != 1)
		log_panic("EVP_Digest(sha256) failed");
}

void digest_hex(const unsigned char *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int digest_sha256_file_hex(const char *path, char out[DIGEST_SHA256_HEX], uint64_t *size)
{
	unsigned char d[DIGEST_SHA256_LEN];

	if (digest_sha256_file(path, d, size) == -1)
		return -1;
	digest_hex(d, sizeof(d), out);
	return 0;
}

const char *digest_self_exe_hex(void)
{
	static char hex[DIGEST_SHA256_HEX];
	static int done;
	uint64_t size;

	if (!done) {
		char path[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

		/* the file it names (the digest opens without following links) */
		hex[0] = '\0';
		if (n > 0) {
			path[n] = '\0';
			if (digest_sha256_file_hex(path, hex, &size) == -1)
				hex[0] = '\0';
		}
		done = 1;
	}
	return hex;
}
