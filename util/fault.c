/*
 * fault.c - the MAILROOM_FAULT injection hook; see fault.h.
 */
#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAULT_MAX_OPS 16

static struct fault_op {
	char name[16];
	unsigned long count;
} fault_ops[FAULT_MAX_OPS];
static int fault_nops;

/* Count op and return its new count. */
static unsigned long fault_count(const char *op)
{
	int i;

	for (i = 0; i < fault_nops; i++)
		if (strcmp(fault_ops[i].name, op) == 0)
			return ++fault_ops[i].count;
	if (fault_nops == FAULT_MAX_OPS)
		return 0;
	snprintf(fault_ops[fault_nops].name, sizeof(fault_ops[0].name), "%s", op);
	fault_ops[fault_nops].count = 1;
	return fault_ops[fault_nops++].count;
}

/* MAILROOM_FAULT_TRACE=FILE: append "<pid> <op> <n>" for every counted call, so a
 * test can learn how many injection points a run passes (raw write(2): the hook
 * must not count itself). */
static void fault_trace(const char *op, unsigned long n)
{
	const char *path = getenv("MAILROOM_FAULT_TRACE");
	char line[64];
	int fd, len, e = errno;

	if (path == NULL || *path == '\0')
		return;
	len = snprintf(line, sizeof(line), "%ld %s %lu\n", (long)getpid(), op, n);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) != -1) {
		if (len > 0 && write(fd, line, (size_t)len) != len)
			len = -1; /* a lost trace line only makes the count smaller */
		close(fd);
	}
	errno = e;
}

int fault_point(const char *op)
{
	const char *spec = getenv("MAILROOM_FAULT");
	const char *trace = getenv("MAILROOM_FAULT_TRACE");
	char copy[256], *save = NULL, *item;
	unsigned long n;

	if ((spec == NULL || *spec == '\0') && (trace == NULL || *trace == '\0'))
		return 0;
	n = fault_count(op);
	fault_trace(op, n);
	if (spec == NULL || *spec == '\0')
		return 0;
	snprintf(copy, sizeof(copy), "%s", spec);
	for (item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		char *c1 = strchr(item, ':'), *c2, *end;
		unsigned long want;

		if (c1 == NULL)
			continue;
		*c1++ = '\0';
		if (strcmp(item, op) != 0)
			continue;
		c2 = strchr(c1, ':');
		if (c2 != NULL)
			*c2++ = '\0';
		want = strtoul(c1, &end, 10);
		if (*end != '\0' || want != n)
			continue;
		if (c2 == NULL || strcmp(c2, "exit") == 0) {
			fprintf(stderr, "fault: injected exit at %s #%lu\n", op, n);
			_exit(99);
		}
		fprintf(stderr, "fault: injected failure at %s #%lu\n", op, n);
		errno = (strcmp(c2, "enospc") == 0) ? ENOSPC : EIO;
		return -1;
	}
	return 0;
}
