/*
 * xalloc.h - allocation that never returns NULL (fatal instead).
 * For control structures only; anything sized by input goes into a bounded buf.
 */
#ifndef MAILROOM_XALLOC_H
#define MAILROOM_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* printf into a new string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
