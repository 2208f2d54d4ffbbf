/*
 * fault.c - the MAILROOM_FAULT injection hook; see fault.h.
 */
#include "fault.h"

#include <errno.h>
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

int fault_point(const char *op)
{
	const char *spec = getenv("MAILROOM_FAULT");
	char copy[256], *save = NULL, *item;
	unsigned long n;

	if (spec == NULL || *spec == '\0')
		return 0;
	n = fault_count(op);
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
