/*
 * scan_device.h - the device process: every SANE call of a scan runs in a child
 * process that the batch engine can kill.
 *
 * scan_device_start forks a child (its own process group, killed with its parent
 * through PR_SET_PDEATHSIG, stdin /dev/null, stdout redirected to stderr) that
 * opens the scanner (scan_sane.h), sets the options and scans frame after frame
 * until the feeder is empty, a status ends it, or its frame limit is reached. It
 * streams everything to the parent over a pipe in small framed messages:
 *
 *	header	uint32 type, uint32 length (host order; the pipe never leaves the host)
 *	OPENED	JSON {"device": {name, vendor, model, type}, "settings": {...},
 *		"feeder": bool, "duplex": bool, "xres": n, "yres": n}
 *	OPEN_FAILED  the reason (text)
 *	FRAME	six int32: format, last_frame, bytes_per_line, pixels_per_line, lines, depth
 *	DATA	image bytes as sane_read delivered them (at most 64 KiB)
 *	FRAME_END
 *	STATUS	int32 SANE status, int32 call (1 start, 2 parameters, 3 read), text
 *	DONE	the frame limit was reached
 *
 * NO_DOCS from sane_start after pages were scanned is asked once more (a second
 * sane_start) before it is sent: some backends (escl) report a jam or an open cover
 * as NO_DOCS first and only the next start as JAMMED / COVER_OPEN, while an empty
 * feeder says NO_DOCS again. Not for backends whose feeder refills itself when
 * started again (SANE's test backend).
 *
 * After STATUS or DONE the child cancels, closes and exits. The parent reads with
 * poll and a time limit: no message within timeout_seconds (a backend hanging in
 * sane_start or sane_read) is reported as SCAN_DEV_HANG after the child was
 * killed; a child that dies without a status (a crash in the backend) as
 * SCAN_DEV_DIED; a malformed message as SCAN_DEV_BROKEN. scan_device_stop gives
 * the child cancel_seconds to finish on its own (sane_cancel can hang as well),
 * then kills its process group with SIGKILL. What the parent received before
 * stays valid: pages finished before a hang or a crash are kept by the caller.
 *
 * Test stacks: sheet options ("SHEET[f|b][@ATTEMPT]:name=value") are set by the
 * child before the frame of that sheet (f, b: one side only; @N: only when the
 * sheet is fed for the Nth time, without: every time) and put back to their
 * previous value for the next frame. With SANE's test backend they make one sheet
 * of a stack blank (test-picture=Solid white: what is on the paper stays on it
 * when the sheet is fed again), jam it once (@1:read-return-value=
 * SANE_STATUS_JAMMED: the re-fed sheet goes through) or slow it down (read-delay).
 */
#ifndef MAILROOM_SCAN_DEVICE_H
#define MAILROOM_SCAN_DEVICE_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include <sane/sane.h>

#include "scan_sane.h"

#define SCAN_DEVICE_MAX_SHEETOPTS 64

/* One parsed sheet option. */
struct scan_device_sheetopt {
	long sheet;	    /* 1-based sheet number of the batch */
	int side;	    /* 0 both, 1 front, 2 back */
	int attempt;	    /* 0: every feed; 1: the first feed, 2: the re-feed after a fault */
	const char *option; /* "name=value", borrowed */
};

/* Parse "SHEET[f|b][@ATTEMPT]:name=value". 0, or -1 with err. */
int scan_device_sheetopt_parse(const char *text, struct scan_device_sheetopt *o, char *err,
			       size_t errlen);

struct scan_device_cfg {
	const struct scan_sane_req *rq;
	long first_sheet;    /* batch number of the first sheet this process scans */
	int attempt;	     /* how often first_sheet has been fed (1: first time) */
	long pages_left;     /* frames to scan (0: flatbed 1, feeder until empty) */
	long max_left;	     /* hard limit of frames for this process */
	int duplex_frames;   /* frames are front, back even if the device does not say so */
	double timeout;	     /* seconds without a message from the child: a hang */
	double cancel_grace; /* seconds the child gets to stop on its own */
	const struct scan_device_sheetopt *sheetopts;
	size_t n_sheetopts;
	volatile sig_atomic_t *stop; /* set by a signal handler: return SCAN_DEV_STOPPED */
};

enum scan_device_type {
	SCAN_DEV_OPENED = 1,
	SCAN_DEV_OPEN_FAILED,
	SCAN_DEV_FRAME,
	SCAN_DEV_DATA,
	SCAN_DEV_FRAME_END,
	SCAN_DEV_STATUS,
	SCAN_DEV_DONE,
	/* made by the parent */
	SCAN_DEV_HANG,	  /* no message within the timeout; the child was killed */
	SCAN_DEV_DIED,	  /* the child ended without a status (text: how) */
	SCAN_DEV_BROKEN,  /* a malformed message; the child was killed */
	SCAN_DEV_STOPPED, /* *cfg.stop was set while waiting */
};

/* The SANE call a STATUS came from. */
enum scan_device_call { SCAN_DEV_CALL_START = 1, SCAN_DEV_CALL_PARAMS, SCAN_DEV_CALL_READ };

struct scan_device_msg {
	enum scan_device_type type;
	SANE_Parameters params;	    /* FRAME */
	SANE_Status status;	    /* STATUS */
	enum scan_device_call call; /* STATUS */
	const unsigned char *data;  /* DATA: bytes; other types: NUL-terminated text */
	size_t len;		    /* bytes in data */
};

typedef struct scan_device scan_device;

/* Fork the device process. NULL with err if it cannot be started. */
scan_device *scan_device_start(const struct scan_device_cfg *cfg, char *err, size_t errlen);
/* The next message; m's data stays valid until the next call. */
void scan_device_next(scan_device *d, struct scan_device_msg *m);
/* The child's process id (0 once it was reaped). */
pid_t scan_device_pid(const scan_device *d);
/*
 * End the device process: wait up to cfg.cancel_grace seconds for it to exit (at
 * once with now: the parent gives up on it), then kill its process group. *killed
 * (may be NULL) is 1 if it had to be killed. Accepts NULL; returns NULL.
 */
scan_device *scan_device_stop(scan_device *d, int now, int *killed);
/* The text of a SANE call. */
const char *scan_device_call_name(enum scan_device_call c);

#endif
