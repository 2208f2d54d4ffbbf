/*
 * ident.c - job ids and UUIDs from getrandom(2); see ident.h.
 */
#include "ident.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "digest.h"
#include "log.h"

void ident_random(void *p, size_t n)
{
	unsigned char *c = p;

	while (n > 0) {
		ssize_t r = getrandom(c, n, 0);

		if (r == -1) {
			if (errno == EINTR)
				continue;
			log_panic("getrandom failed: %s", strerror(errno));
		}
		c += r;
		n -= (size_t)r;
	}
}

void ident_job_new(char out[IDENT_JOB_MAX])
{
	unsigned char r[8];
	char hx[17];
	struct tm tm;
	time_t now = time(NULL);

	ident_random(r, sizeof(r));
	digest_hex(r, sizeof(r), hx);
	gmtime_r(&now, &tm);
	snprintf(out, IDENT_JOB_MAX, "%04d%02d%02dT%02d%02d%02dZ-%s", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, hx);
}

int ident_job_valid(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || s[0] == '-')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= IDENT_JOB_MAX - 1)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

void ident_uuid_v4(char out[IDENT_UUID_LEN])
{
	unsigned char r[16];
	char hx[33];

	ident_random(r, sizeof(r));
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	digest_hex(r, sizeof(r), hx);
	snprintf(out, IDENT_UUID_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", hx, hx + 8, hx + 12, hx + 16,
		 hx + 20);
}
