/*
 * digest.h - SHA-256 of files and memory, as raw bytes or lowercase hex.
 */
#ifndef MAILROOM_DIGEST_H
#define MAILROOM_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_SHA256_LEN 32
#define DIGEST_SHA256_HEX (2 * DIGEST_SHA256_LEN + 1)

/* SHA-256 of a file; size (may be NULL) gets its length. 0 or -1 with errno. */
int digest_sha256_file(const char *path, unsigned char out[DIGEST_SHA256_LEN], uint64_t *size);
void digest_sha256(const void *p, size_t n, unsigned char out[DIGEST_SHA256_LEN]);
/* Lowercase hex of n bytes into out (2n+1 bytes). */
void digest_hex(const unsigned char *p, size_t n, char *out);
/* Convenience: hex SHA-256 of a file into out[DIGEST_SHA256_HEX]. */
int digest_sha256_file_hex(const char *path, char out[DIGEST_SHA256_HEX], uint64_t *size);
/* SHA-256 (hex) of the running program (/proc/self/exe), computed once: the
 * software hash a Transfervermerk names (TR-03138 A.NB.4 b). "" if unreadable. */
const char *digest_self_exe_hex(void);

#endif
