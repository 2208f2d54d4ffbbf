/*
 * scan_page.h - page analysis for a scan batch: blank score, separator sheets,
 * orientation.
 *
 * The batch engine (scan_batch.c) calls scan_page_analyse once per captured page,
 * with the page as a leptonica PIX. The result decides whether the page is kept,
 * flagged or dropped as blank (the image of a dropped page is kept in the batch
 * record), whether the sheet is a separator sheet (a QR code with the mailroom
 * separator prefix; its payload parsed into struct scan_page_sep), and by how
 * many degrees the page must be turned to be upright (the engine turns the page
 * it stores itself, losslessly, at every depth; *upright is for callers that
 * want leptonica's copy). How each is decided, with the measurements behind the
 * thresholds: scan_page.c and common/osd.h; the separator payload: scan_sep.h.
 */
#ifndef MAILROOM_SCAN_PAGE_H
#define MAILROOM_SCAN_PAGE_H

#include <stddef.h>

struct Pix;

enum scan_page_blank { SCAN_PAGE_KEEP, SCAN_PAGE_FLAG, SCAN_PAGE_DROP };
struct scan_page_sep {		/* a separator sheet's QR payload (see scan_page_sep_parse) */
	int found;		/* a QR code with the mailroom separator prefix was seen */
	int valid;		/* ... and its payload parsed */
	char batch[64];
	long sheet;		/* sequence number printed on the sheet, 0 if none */
	char doc_type[64], office[64]; /* optional presets for the following document */
	char raw[512];
};
struct scan_page_result {
	double ink;		/* 0..1 share of ink: the blank score */
	enum scan_page_blank blank;
	int rotation;		/* degrees clockwise applied to make the page upright: 0/90/180/270 */
	double rotation_conf;	/* OSD confidence, 0 when not determined */
	struct scan_page_sep sep;
	/* what OSD said, trusted or not (osd_deg -1: not run or no answer) */
	int osd_deg;
	double osd_conf;
	char osd_script[32];
	double ms_blank, ms_separator, ms_orientation; /* time spent, milliseconds */
};
struct scan_page_cfg {
	double blank_drop;	/* ink below this: drop (image retained) */
	double blank_flag;	/* ink below this: flag for review */
	int orientation;	/* 1: detect and correct */
	int separators;		/* 1: look for separator QR codes */
};
typedef struct scan_page scan_page;
/* The analysis for one batch. NULL with err when the thresholds are inconsistent or
 * zbar or tesseract's OSD data (orientation) cannot be set up. */
scan_page *scan_page_open(const struct scan_page_cfg *c, char *err, size_t errlen);
/* Accepts NULL; returns NULL. */
scan_page *scan_page_close(scan_page *p);
/* Analyse one page (leptonica PIX, any depth). *upright gets a rotated copy when the page
 * was rotated (caller destroys it), else NULL. 0, or -1 with err set. */
int scan_page_analyse(scan_page *p, struct Pix *pix, struct scan_page_result *r,
		      struct Pix **upright, char *err, size_t errlen);

#endif
