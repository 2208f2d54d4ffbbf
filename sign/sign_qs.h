/*
 * sign_qs.h - the automatic quality check before a seal (TR-03138 A.NB.3, A.NB.4 e).
 *
 * Completeness: the number of pages in scan.tiff equals capture.page_count, and
 * the SHA-256 of every page's pixel data equals capture.pages[i].sha256 as the
 * scan stage recorded it. A page's digest is taken over its decoded scanlines in
 * row order (TIFFReadScanline, TIFFScanlineSize bytes per row, the padding bits
 * after the last pixel of a row cleared; for separate planes, plane after plane)
 * - the bytes the scanner delivered and the writer was given. It is computed by
 * common/tiffpage.c (tiffpage_digest), the code the scan writer hashes its rows
 * with, so both sides follow one rule. The check also notes whether every page
 * is in colour, which decides whether pictorial match can be stated (TR-03138 FAQ 5.3).
 */
#ifndef MAILROOM_SIGN_QS_H
#define MAILROOM_SIGN_QS_H

#include <stddef.h>
#include <time.h>

#include <json-c/json.h>

#include "digest.h"

#define SIGN_QS_MAX_PAGES 5000

struct sign_qs_page {
	long width, height;
	int bits, samples;
	int colour;			  /* RGB, YCbCr, CMYK or palette */
	char sha256[DIGEST_SHA256_HEX];	  /* computed from the TIFF */
	char expected[DIGEST_SHA256_HEX]; /* from capture.pages; "" if not recorded */
	int match;			  /* sha256 equals expected */
};

struct sign_qs {
	time_t at;		    /* when the check ran */
	long expected_pages;	    /* capture.page_count; -1 if not recorded */
	long found_pages;	    /* directories in scan.tiff */
	struct sign_qs_page *pages; /* found_pages entries (owned; sign_qs_free) */
	int complete;		    /* page counts agree */
	int digests_ok;		    /* every page digest matches */
	int colour;		    /* every page is in colour */
	int passed;		    /* complete && digests_ok */
	char reason[512];	    /* why it failed (no document content) */
};

/* Check tiff_path against the capture section; fills qs (always; see qs->passed). */
void sign_qs_run(const char *tiff_path, json_object *capture, struct sign_qs *qs, const char *tag);
/* Free the page list. */
void sign_qs_free(struct sign_qs *qs);

#endif
