/*
 * netio.h - deadline-bounded socket I/O and small HTTP/1.1 helpers for the loopback
 * test servers (the RFC 3161 test TSA, the eSCL scanner emulator).
 *
 * Deadlines are CLOCK_MONOTONIC times in milliseconds (netio_deadline). Every call
 * gives up with errno ETIMEDOUT once the deadline passed, so a client that stops
 * reading or writing cannot hold a server.
 */
#ifndef MAILROOM_NETIO_H
#define MAILROOM_NETIO_H

#include <stddef.h>
#include <sys/types.h>

/* The monotonic clock in ms. */
long long netio_now(void);
/* The monotonic clock in ms plus ms. */
long long netio_deadline(int ms);
/* Wait until fd is ready for ev (POLLIN, POLLOUT) or deadline passes. 0, or -1
 * (errno ETIMEDOUT, or poll's). */
int netio_wait(int fd, short ev, long long deadline);
/* Read what is there (at most n bytes) before deadline: >0, 0 at end of file, -1. */
ssize_t netio_recv(int fd, void *p, size_t n, long long deadline);
/* Send all n bytes before deadline (no SIGPIPE). 0 or -1. */
int netio_send_all(int fd, const void *p, size_t n, long long deadline);
/* The CRLF CRLF that ends an HTTP header in the n bytes at p, or NULL. */
char *netio_header_end(char *p, size_t n);
/* A printable, bounded copy of s for a log line (control bytes become '?'). */
void netio_printable(const char *s, char *out, size_t outlen);
/* Split an HTTP header field line in place: *name (before ':') and *value (after
 * it, leading blanks skipped). 0, or -1 when the line has no ':'. */
int netio_header_field(char *line, char **name, char **value);
/* Parse a Content-Length value; a repeated header (*has_len set) must agree with
 * *len. 0 (*len, *has_len set), or -1 when malformed or disagreeing. */
int netio_content_length(const char *v, int *has_len, unsigned long long *len);
/* The reason phrase of an HTTP status code the servers send. */
const char *netio_http_reason(int code);

#endif
