/*
 * buf.h - a growable byte buffer with an explicit maximum (curl's dynbuf).
 *
 * Everything sized by input (OCR text, XML, file contents) goes here; growing past
 * the maximum is an error (-1, errno E2BIG), never unbounded growth. The data is
 * always NUL-terminated so text can be used as a C string.
 */
#ifndef MAILROOM_BUF_H
#define MAILROOM_BUF_H

#include <stddef.h>

typedef struct buf {
	char *data;   /* owned; NUL-terminated; NULL while empty */
	size_t len;   /* bytes used, without the NUL */
	size_t cap;   /* bytes allocated */
	size_t max;   /* maximum len */
} buf;

void buf_init(buf *b, size_t max);
/* Append n bytes; -1 with errno E2BIG when the maximum would be passed. */
int buf_add(buf *b, const void *p, size_t n);
int buf_adds(buf *b, const char *s);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(buf *b);
/* Free the storage; the buf may be reused after buf_init. */
void buf_free(buf *b);
/* Hand the data to the caller (who frees it) and reset the buf. */
char *buf_detach(buf *b);

#endif
