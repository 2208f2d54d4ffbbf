/*
 * scan_sane.h - capture pages from a SANE scanner into a scan_tiff writer.
 *
 * One session is one document: sane_init + sane_open, options set by name, then
 * sane_start / sane_get_parameters / sane_read per page until the batch ends
 * (flatbed: one page or --pages; feeder: until SANE_STATUS_NO_DOCS or the page
 * limit). Rows stream into the TIFF; no page is held in memory. Every other
 * status is a fault reported with sane_strstatus, the device name and what the
 * operator should do; pages finished before it stay in the TIFF, a page cut off
 * by it is taken back. A watchdog (SIGALRM) cancels a scanner that stops
 * delivering data; SIGINT/SIGTERM cancel the scan (the handlers only set a flag
 * and call sane_cancel, which SANE allows from a signal handler).
 */
#ifndef MAILROOM_SCAN_SANE_H
#define MAILROOM_SCAN_SANE_H

#include <stddef.h>

#include <json-c/json.h>

#include "scan_tiff.h"

typedef struct scan_sane scan_sane;

/* What to scan and how. Strings are borrowed for the session's lifetime. */
struct scan_sane_req {
	const char *device;   /* SANE device name, e.g. "test" or "fujitsu:fi-7160:1234" */
	const char *source;   /* NULL: the device's default */
	const char *mode;     /* Gray, Color, Lineart (Lineart on a device without it:
				 Gray at depth 1); NULL: default */
	long resolution;      /* dpi; 0: default */
	long depth;	      /* 0: default */
	long pages;	      /* stop after this many pages; 0: flatbed 1, feeder until empty */
	long max_pages;	      /* hard limit of one batch */
	long timeout_seconds; /* watchdog: a page that delivers no data this long is given up */
	int given;	      /* SCAN_SANE_GIVEN_* bits: settings the operator asked for;
				 the others are defaults, skipped on a device without them */
	const char *const *options; /* "name=value" set after the ones above */
	size_t n_options;
};

#define SCAN_SANE_GIVEN_SOURCE 1
#define SCAN_SANE_GIVEN_MODE 2
#define SCAN_SANE_GIVEN_RESOLUTION 4
#define SCAN_SANE_GIVEN_DEPTH 8

struct scan_sane_device {
	char name[256], vendor[128], model[128], type[128];
};

/*
 * sane_init, sane_open and set the options. NULL with the reason (and what the
 * operator should do) in err; SANE is then already shut down again.
 */
scan_sane *scan_sane_open(const struct scan_sane_req *rq, char *err, size_t errlen);
/* The device's identity; owned by the session. */
const struct scan_sane_device *scan_sane_device(const scan_sane *s);
/* The settings in effect after all options were set (source, mode, depth,
 * resolution, extra options), as read back from the device; owned by the session. */
json_object *scan_sane_settings(const scan_sane *s);
/* The resolution in effect (dpi). */
double scan_sane_resolution(const scan_sane *s);
/*
 * Scan the batch into t. 0 when it ended normally. -1 on a fault: err says what
 * happened, on which page, and what to do; the pages completed before the fault
 * are in t (scan_tiff_pages).
 */
int scan_sane_run(scan_sane *s, scan_tiff *t, char *err, size_t errlen);
/* Cancel, sane_close and sane_exit; accepts NULL; returns NULL. */
scan_sane *scan_sane_close(scan_sane *s);

#endif
