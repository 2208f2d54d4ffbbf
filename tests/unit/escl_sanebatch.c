/*
 * escl_sanebatch.c - helper of escl_faults.sh (not a test itself): a minimal SANE
 * frontend that scans a feeder batch the way scanimage and mailroom-scan do
 * (sane_start / sane_read until the batch ends) and then calls sane_start EXTRA
 * more times, to show what a frontend learns by asking again after the batch
 * ended with SANE_STATUS_NO_DOCS.
 *
 *	escl_sanebatch DEVICE SOURCE EXTRA
 *
 * Prints "pages N, end STATUS", then "extra K: STATUS" (and "page N" when an
 * extra start delivered one). Exit 0, or 1 when the device cannot be opened or
 * SOURCE cannot be set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sane/sane.h>
#include <sane/saneopts.h>

/* Set the string option name to value. 0 or -1. */
static int set_string(SANE_Handle h, const char *name, const char *value)
{
	SANE_Int n = 0, i;
	char v[128];

	if (sane_control_option(h, 0, SANE_ACTION_GET_VALUE, &n, NULL) != SANE_STATUS_GOOD)
		return -1;
	for (i = 1; i < n; i++) {
		const SANE_Option_Descriptor *d = sane_get_option_descriptor(h, i);

		if (d == NULL || d->name == NULL || strcmp(d->name, name) != 0 ||
		    d->type != SANE_TYPE_STRING || d->size > (SANE_Int)sizeof(v))
			continue;
		memset(v, 0, sizeof(v));
		snprintf(v, sizeof(v), "%s", value);
		return sane_control_option(h, i, SANE_ACTION_SET_VALUE, v, NULL) == SANE_STATUS_GOOD
			   ? 0
			   : -1;
	}
	return -1;
}

/* Read one page to its end. The status that ended it. */
static SANE_Status read_page(SANE_Handle h)
{
	static SANE_Byte buf[65536];
	SANE_Int len;
	SANE_Status st;

	while ((st = sane_read(h, buf, sizeof(buf), &len)) == SANE_STATUS_GOOD)
		;
	return st;
}

int main(int argc, char **argv)
{
	SANE_Handle h;
	SANE_Int version;
	SANE_Status st;
	int pages = 0, extra, i;

	if (argc != 4) {
		fprintf(stderr, "usage: escl_sanebatch DEVICE SOURCE EXTRA\n");
		return 2;
	}
	extra = atoi(argv[3]);
	if (sane_init(&version, NULL) != SANE_STATUS_GOOD)
		return 1;
	if ((st = sane_open(argv[1], &h)) != SANE_STATUS_GOOD) {
		printf("open: %s\n", sane_strstatus(st));
		sane_exit();
		return 1;
	}
	if (set_string(h, SANE_NAME_SCAN_SOURCE, argv[2]) == -1 ||
	    set_string(h, SANE_NAME_SCAN_MODE, SANE_VALUE_SCAN_MODE_COLOR) == -1) {
		printf("cannot set source %s / mode Color\n", argv[2]);
		sane_close(h);
		sane_exit();
		return 1;
	}
	while ((st = sane_start(h)) == SANE_STATUS_GOOD) {
		if ((st = read_page(h)) != SANE_STATUS_EOF)
			break;
		pages++;
	}
	printf("pages %d, end %s\n", pages, sane_strstatus(st));
	for (i = 1; i <= extra; i++) {
		st = sane_start(h);
		printf("extra %d: %s\n", i, sane_strstatus(st));
		if (st == SANE_STATUS_GOOD && read_page(h) == SANE_STATUS_EOF)
			printf("page %d\n", ++pages);
	}
	fflush(stdout);
	sane_cancel(h);
	sane_close(h);
	sane_exit();
	return 0;
}
