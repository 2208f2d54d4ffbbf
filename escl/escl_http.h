/*
 * escl_http.h - the HTTP/1.1 of the eSCL emulator: one request per connection.
 *
 * escl_http_read reads one request (request line, header, a Content-Length body)
 * from a connected socket within a time limit (give it a non-blocking socket, so
 * that a send to a client that stopped reading cannot block past the limit), with
 * bounded sizes: at most
 * ESCL_HTTP_MAX_HEADER bytes of header and ESCL_HTTP_MAX_BODY of body; chunked
 * bodies are refused. "Expect: 100-continue" is answered. Every answer says
 * "Connection: close" and the caller closes the socket after it: a keep-alive
 * client (libcurl) simply opens the next connection.
 */
#ifndef MAILROOM_ESCL_HTTP_H
#define MAILROOM_ESCL_HTTP_H

#include <stddef.h>

#define ESCL_HTTP_MAX_HEADER 8192
#define ESCL_HTTP_MAX_BODY (64u << 10)

struct escl_req {
	char method[16];
	char target[256]; /* path and query as sent, NUL-terminated */
	char line[128];	  /* printable request line for the log */
	char *body;	  /* owned, NUL-terminated, NULL when empty */
	size_t body_len;
};

/*
 * Read one request from fd within timeout_ms. 0 on success. -1 when the request is
 * unusable: *code is the HTTP status to answer (400, 408, 413), with *why a static
 * reason, or 0 when the peer closed the connection and nothing is to be answered.
 */
int escl_http_read(int fd, struct escl_req *rq, int timeout_ms, int *code, const char **why);
/* Free the body of rq (rq itself is the caller's). */
void escl_http_req_free(struct escl_req *rq);
/*
 * Send a complete answer: status line, Content-Type (when ctype is not NULL),
 * Content-Length, the lines in extra (each ending in CRLF, may be NULL),
 * Connection: close, then len bytes of body. 0, or -1 when the peer went away or
 * did not take the answer within timeout_ms.
 */
int escl_http_respond(int fd, int code, const char *ctype, const char *extra, const void *body,
		      size_t len, int timeout_ms);
/* The reason phrase of an HTTP status code ("Not Found"). */
const char *escl_http_reason(int code);

#endif
