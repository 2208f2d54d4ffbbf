/*
 * scan_sane.h - one SANE scanner: open it, set its options by capability and by
 * the names different backends use, and deliver frames.
 *
 * This module makes the SANE calls; in mailroom-scan it runs only inside the device
 * process (scan_device.h), which the batch engine can kill when a backend hangs or
 * crashes. It never writes files.
 *
 * Settings are asked for in mailroom's words and mapped to what the device offers:
 *   source  Flatbed | ADF | ADF Duplex, matched against the backend's list
 *           ("Flatbed", "FlatBed", "Document Table"; "ADF", "ADF Front",
 *           "Automatic Document Feeder"; "ADF Duplex", "Duplex", "...(Duplex)"), or
 *           a feeder plus the backend's own duplex switch (bool "duplex",
 *           "adf-mode=Duplex"). A value the device lists itself is taken as is.
 *   mode    Color | Gray | Lineart, matched against "Colour", "Color24", "RGB",
 *           "Grayscale", "Gray256", "Binary", "Black & White", "Halftone" ...;
 *           a device without a bilevel mode scans Gray at depth 1.
 *   page    width x height in mm: page-width/page-height when the backend has them
 *           (sheet-fed scanners), then tl-x/tl-y/br-x/br-y, each clamped to the
 *           device's range (the clamping is logged and shows in the settings).
 * Every value in effect is read back from the device into the settings object
 * that becomes capture.settings.
 */
#ifndef MAILROOM_SCAN_SANE_H
#define MAILROOM_SCAN_SANE_H

#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>
#include <sane/sane.h>

typedef struct scan_sane scan_sane;

/* What to scan and how. Strings are borrowed for the session's lifetime. */
struct scan_sane_req {
	const char *device;    /* SANE device name, e.g. "test" or "fujitsu:fi-7160:1234" */
	const char *source;    /* Flatbed, ADF, ADF Duplex or the device's own; NULL: default */
	const char *mode;      /* Color, Gray, Lineart (or a synonym); NULL: default */
	long resolution;       /* dpi; 0: default */
	long depth;	       /* 0: default */
	double page_w, page_h; /* page size in mm; 0: the device's default area */
	int given;	       /* SCAN_SANE_GIVEN_* bits: settings the operator asked for;
				  the others are defaults, skipped on a device without them */
	const char *const *options; /* "name=value" set after the ones above */
	size_t n_options;
};

#define SCAN_SANE_GIVEN_SOURCE 1
#define SCAN_SANE_GIVEN_MODE 2
#define SCAN_SANE_GIVEN_RESOLUTION 4
#define SCAN_SANE_GIVEN_DEPTH 8
#define SCAN_SANE_GIVEN_PAGE 16

struct scan_sane_device {
	char name[256], vendor[128], model[128], type[128];
};

/* The source classes of the synonym table. */
enum scan_sane_source {
	SCAN_SANE_SRC_OTHER,
	SCAN_SANE_SRC_FLATBED,
	SCAN_SANE_SRC_ADF,
	SCAN_SANE_SRC_DUPLEX
};

/*
 * sane_init, sane_open and set the options. NULL with the reason (and what the
 * operator should do) in err; SANE is then already shut down again.
 */
scan_sane *scan_sane_open(const struct scan_sane_req *rq, char *err, size_t errlen);
/* The device's identity; owned by the session. */
const struct scan_sane_device *scan_sane_device(const scan_sane *s);
/* The settings in effect, read back from the device; owned by the session. */
json_object *scan_sane_settings(const scan_sane *s);
/* The resolution in effect (dpi): x and y. */
double scan_sane_xres(const scan_sane *s);
double scan_sane_yres(const scan_sane *s);
/* 1 if the source in effect is a document feeder. */
int scan_sane_feeder(const scan_sane *s);
/* 1 if the device delivers both sides of a sheet as consecutive frames. */
int scan_sane_duplex(const scan_sane *s);

/* Set one option "name=value" (a missing option is an error). 0, or -1 with err. */
int scan_sane_set_option(scan_sane *s, const char *name_value, char *err, size_t errlen);
/* The current value of option name as text into out ("" if absent). 0 or -1. */
int scan_sane_get_option(scan_sane *s, const char *name, char *out, size_t outlen);

/* sane_start and sane_get_parameters: SANE_STATUS_GOOD with *p, or the status;
 * *during says which call failed ("start" or "parameters"). */
SANE_Status scan_sane_start(scan_sane *s, SANE_Parameters *p, const char **during);
/* sane_read. */
SANE_Status scan_sane_read(scan_sane *s, unsigned char *buf, int max, int *len);
/* sane_cancel (ends a batch and stops a faulted frame; may hang in a broken backend:
 * only the device process calls it). */
void scan_sane_cancel(scan_sane *s);
/* Cancel, sane_close and sane_exit; accepts NULL; returns NULL. */
scan_sane *scan_sane_close(scan_sane *s);

/* What the operator should do about a status (English, for the log). */
const char *scan_sane_advice(SANE_Status st);
/* The source class of a backend's source name (synonym table and keywords). */
enum scan_sane_source scan_sane_source_class(const char *name);
/* The mode class of a mode name: 'C' colour, 'G' gray, 'L' lineart, 'H' halftone, 0. */
int scan_sane_mode_class(const char *name);
/* A page size: "A4", "A5", "A3", "Letter", "Legal" or "WxH" in mm. 0 or -1. */
int scan_sane_page_size(const char *text, double *w, double *h);

/*
 * --list: every device SANE finds (name, vendor, model, type), one per line, or a
 * JSON array with json. 0, or -1 with err.
 */
int scan_sane_list(FILE *out, int json, char *err, size_t errlen);
/* --list-options DEVICE: every option with its type, constraint and value. */
int scan_sane_list_options(const char *device, FILE *out, char *err, size_t errlen);

#endif
