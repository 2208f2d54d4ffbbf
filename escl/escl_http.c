/*
 * escl_http.c - the emulator's minimal HTTP/1.1 server side; see escl_http.h.
 */
#include "escl_http.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "netio.h"
#include "xalloc.h"

const char *escl_http_reason(int code)
{
	return netio_http_reason(code);
}

/* Set *code / *why and return -1. */
static int escl_http_bad(int *code, const char **why, int c, const char *w)
{
	*code = c;
	*why = w;
	return -1;
}

int escl_http_read(int fd, struct escl_req *rq, int timeout_ms, int *code, const char **why)
{
	long long deadline = netio_now() + timeout_ms;
	char hdr[ESCL_HTTP_MAX_HEADER + 1], *end = NULL, *line, *next, *sp1, *sp2;
	size_t hlen = 0, have, clen = 0;
	int has_len = 0, chunked = 0, expect = 0;
	ssize_t r;

	memset(rq, 0, sizeof(*rq));
	*code = 0;
	*why = "";
	while (end == NULL) {
		if (hlen == ESCL_HTTP_MAX_HEADER)
			return escl_http_bad(code, why, 400, "request header larger than 8 KiB");
		if ((r = netio_recv(fd, hdr + hlen, ESCL_HTTP_MAX_HEADER - hlen, deadline)) <=
		    0) {
			if (r == -1 && errno == ETIMEDOUT && hlen > 0)
				return escl_http_bad(code, why, 408,
						     "request not complete in time");
			return escl_http_bad(code, why, 0, "connection closed before a request");
		}
		hlen += (size_t)r;
		hdr[hlen] = '\0';
		end = netio_header_end(hdr, hlen);
	}
	if (memchr(hdr, '\0', (size_t)(end - hdr)) != NULL)
		return escl_http_bad(code, why, 400, "NUL byte in the header");
	*end = '\0';
	have = hlen - (size_t)(end + 4 - hdr);
	line = hdr;
	if ((next = strstr(line, "\r\n")) != NULL) {
		*next = '\0';
		next += 2;
	}
	netio_printable(line, rq->line, sizeof(rq->line));
	if ((sp1 = strchr(line, ' ')) == NULL || (sp2 = strchr(sp1 + 1, ' ')) == NULL ||
	    strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return escl_http_bad(code, why, 400, "malformed request line");
	*sp1 = '\0';
	*sp2 = '\0';
	if (strlen(line) >= sizeof(rq->method) || strlen(sp1 + 1) >= sizeof(rq->target))
		return escl_http_bad(code, why, 400, "method or target too long");
	memcpy(rq->method, line, strlen(line) + 1);
	memcpy(rq->target, sp1 + 1, strlen(sp1 + 1) + 1);
	for (line = next; line != NULL && *line != '\0'; line = next) {
		char *name, *v;
		unsigned long long n = clen;

		if ((next = strstr(line, "\r\n")) != NULL) {
			*next = '\0';
			next += 2;
		}
		if (netio_header_field(line, &name, &v) == -1)
			return escl_http_bad(code, why, 400, "malformed header field");
		if (strcasecmp(name, "Content-Length") == 0) {
			if (netio_content_length(v, &has_len, &n) == -1)
				return escl_http_bad(code, why, 400, "bad Content-Length");
			if (n > ESCL_HTTP_MAX_BODY)
				return escl_http_bad(code, why, 413, "body larger than 64 KiB");
			clen = (size_t)n;
		} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
			chunked = 1;
		} else if (strcasecmp(name, "Expect") == 0) {
			expect = strcasecmp(v, "100-continue") == 0;
		}
	}
	if (chunked)
		return escl_http_bad(code, why, 400, "chunked bodies are not accepted");
	if (have > clen)
		return escl_http_bad(code, why, 400, "more bytes than Content-Length");
	if (expect && have < clen &&
	    netio_send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, deadline) == -1)
		return escl_http_bad(code, why, 0, "connection lost");
	if (clen == 0)
		return 0;
	rq->body = xmalloc(clen + 1);
	memcpy(rq->body, end + 4, have);
	while (have < clen) {
		if ((r = netio_recv(fd, rq->body + have, clen - have, deadline)) <= 0) {
			escl_http_req_free(rq);
			if (r == -1 && errno == ETIMEDOUT)
				return escl_http_bad(code, why, 408, "body not complete in time");
			return escl_http_bad(code, why, 0, "connection closed inside the body");
		}
		have += (size_t)r;
	}
	rq->body[clen] = '\0';
	rq->body_len = clen;
	return 0;
}

void escl_http_req_free(struct escl_req *rq)
{
	free(rq->body);
	rq->body = NULL;
	rq->body_len = 0;
}

int escl_http_respond(int fd, int code, const char *ctype, const char *extra, const void *body,
		      size_t len, int timeout_ms)
{
	long long deadline = netio_now() + timeout_ms;
	char hdr[1024];
	int n;

	n = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.1 %d %s\r\nServer: mailroom-escl-emulator\r\n%s%s%sContent-Length: "
		     "%zu\r\n%sCache-Control: no-store\r\nConnection: close\r\n\r\n",
		     code, escl_http_reason(code), ctype ? "Content-Type: " : "",
		     ctype ? ctype : "", ctype ? "\r\n" : "", len, extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return -1;
	if (netio_send_all(fd, hdr, (size_t)n, deadline) == -1)
		return -1;
	if (len > 0 && netio_send_all(fd, body, len, deadline) == -1)
		return -1;
	return 0;
}
