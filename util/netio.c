/*
 * netio.c - deadline-bounded socket I/O for the loopback test servers; see netio.h.
 */
#include "netio.h"

#include <errno.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

long long netio_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long netio_deadline(int ms)
{
	return netio_now() + ms;
}

int netio_wait(int fd, short ev, long long deadline)
{
	struct pollfd p = {.fd = fd, .events = ev};
	long long left;
	int r;

	for (;;) {
		if ((left = deadline - netio_now()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if ((r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left)) > 0)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

ssize_t netio_recv(int fd, void *p, size_t n, long long deadline)
{
	ssize_t r;

	for (;;) {
		if (netio_wait(fd, POLLIN, deadline) == -1)
			return -1;
		if ((r = recv(fd, p, n, 0)) >= 0 || (errno != EINTR && errno != EAGAIN))
			return r;
	}
}

int netio_send_all(int fd, const void *p, size_t n, long long deadline)
{
	const char *c = p;
	ssize_t r;

	while (n > 0) {
		if (netio_wait(fd, POLLOUT, deadline) == -1)
			return -1;
		if ((r = send(fd, c, n, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

char *netio_header_end(char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 4 <= n; i++)
		if (memcmp(p + i, "\r\n\r\n", 4) == 0)
			return p + i;
	return NULL;
}

void netio_printable(const char *s, char *out, size_t outlen)
{
	size_t i;

	if (outlen == 0)
		return;
	for (i = 0; s[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
}

int netio_header_field(char *line, char **name, char **value)
{
	char *colon = strchr(line, ':'), *v;

	if (colon == NULL)
		return -1;
	*colon = '\0';
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	*name = line;
	*value = v;
	return 0;
}

int netio_content_length(const char *v, int *has_len, unsigned long long *len)
{
	unsigned long long n;
	char *e;

	errno = 0;
	n = strtoull(v, &e, 10);
	if (*v < '0' || *v > '9' || errno != 0 || (*e != '\0' && *e != ' ') ||
	    (*has_len && n != *len))
		return -1;
	*len = n;
	*has_len = 1;
	return 0;
}

const char *netio_http_reason(int code)
{
	switch (code) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}
