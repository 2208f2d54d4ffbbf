/*
 * sign_qs.c - page count and page digest check of scan.tiff; see sign_qs.h.
 */
#include "sign_qs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

#include "tiffpage.h"
#include "xalloc.h"

#define SIGN_QS_MAX_ALLOC (256u << 20) /* libtiff's largest single allocation */

/* Fail the check with a reason (the first reason wins). */
static void sign_qs_fail(struct sign_qs *qs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sign_qs_fail(struct sign_qs *qs, const char *fmt, ...)
{
	va_list ap;

	qs->passed = 0;
	if (qs->reason[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(qs->reason, sizeof(qs->reason), fmt, ap);
	va_end(ap);
}

/* Digest the current directory's pixel data into p (tiffpage). 0 or -1 with qs failed. */
static int sign_qs_page(TIFF *tif, long n, struct sign_qs_page *p, struct sign_qs *qs)
{
	struct tiffpage_info pi;
	int rc = tiffpage_digest(tif, &pi, p->sha256);

	p->width = (long)pi.width;
	p->height = (long)pi.height;
	p->bits = pi.bits;
	p->samples = pi.samples;
	p->colour = pi.photometric == PHOTOMETRIC_RGB || pi.photometric == PHOTOMETRIC_YCBCR ||
		    pi.photometric == PHOTOMETRIC_SEPARATED ||
		    pi.photometric == PHOTOMETRIC_PALETTE || pi.samples >= 3;
	switch (rc) {
	case TIFFPAGE_OK:
		return 0;
	case TIFFPAGE_TILED:
		sign_qs_fail(qs, "page %ld of scan.tiff is tiled; the scan stage writes strips", n);
		break;
	case TIFFPAGE_SIZE:
		sign_qs_fail(qs, "page %ld of scan.tiff has an unusable size (%ux%u)", n, pi.width,
			     pi.height);
		break;
	case TIFFPAGE_DECODE:
		sign_qs_fail(qs, "page %ld of scan.tiff: row %u cannot be decoded", n, pi.bad_row);
		break;
	default:
		sign_qs_fail(qs, "page %ld of scan.tiff: SHA-256 unavailable", n);
		break;
	}
	return -1;
}

/* The expected digest of page i (0-based) from capture.pages, into out ("" if none). */
static void sign_qs_expected(json_object *pages, size_t i, char out[DIGEST_SHA256_HEX])
{
	json_object *pg, *h;

	out[0] = '\0';
	if (pages == NULL || i >= json_object_array_length(pages))
		return;
	pg = json_object_array_get_idx(pages, i);
	if (json_object_object_get_ex(pg, "sha256", &h) && json_object_is_type(h, json_type_string))
		snprintf(out, DIGEST_SHA256_HEX, "%s", json_object_get_string(h));
}

void sign_qs_run(const char *tiff_path, json_object *capture, struct sign_qs *qs, const char *tag)
{
	struct tiffpage_errs msg;
	TIFF *tif = NULL;
	json_object *o, *pages = NULL;
	size_t cap = 0, i, n_expected = 0;

	memset(qs, 0, sizeof(*qs));
	memset(&msg, 0, sizeof(msg));
	msg.tag = tag;
	qs->at = time(NULL);
	qs->expected_pages = -1;
	qs->passed = 1;
	qs->colour = 1;
	if (capture != NULL && json_object_object_get_ex(capture, "page_count", &o) &&
	    json_object_is_type(o, json_type_int))
		qs->expected_pages = (long)json_object_get_int64(o);
	if (capture != NULL && json_object_object_get_ex(capture, "pages", &o) &&
	    json_object_is_type(o, json_type_array)) {
		pages = o;
		n_expected = json_object_array_length(pages);
	}
	if ((tif = tiffpage_open(tiff_path, SIGN_QS_MAX_ALLOC, &msg)) == NULL) {
		sign_qs_fail(qs, "scan.tiff is not a readable TIFF (%s)", msg.msg);
		goto out;
	}
	do {
		struct sign_qs_page *p;

		if (qs->found_pages >= SIGN_QS_MAX_PAGES) {
			sign_qs_fail(qs, "scan.tiff has more than %d pages", SIGN_QS_MAX_PAGES);
			goto out;
		}
		if ((size_t)qs->found_pages == cap) {
			cap = cap ? 2 * cap : 8;
			qs->pages = xrealloc(qs->pages, cap * sizeof(*qs->pages));
		}
		p = &qs->pages[qs->found_pages];
		memset(p, 0, sizeof(*p));
		qs->found_pages++;
		if (sign_qs_page(tif, qs->found_pages, p, qs) == -1)
			goto out;
		sign_qs_expected(pages, (size_t)qs->found_pages - 1, p->expected);
		p->match = p->expected[0] != '\0' && strcmp(p->sha256, p->expected) == 0;
		if (!p->colour)
			qs->colour = 0;
	} while (TIFFReadDirectory(tif));
	if (msg.errors > 0) /* e.g. a damaged directory chain ended the loop early */
		sign_qs_fail(qs, "scan.tiff: %s", msg.msg);
out:
	qs->complete = qs->expected_pages >= 0 && qs->expected_pages == qs->found_pages &&
		       n_expected == (size_t)qs->found_pages;
	qs->digests_ok = qs->found_pages > 0;
	for (i = 0; i < (size_t)qs->found_pages; i++)
		if (!qs->pages[i].match)
			qs->digests_ok = 0;
	if (qs->found_pages == 0)
		qs->colour = 0;
	if (qs->expected_pages < 0)
		sign_qs_fail(qs, "job.json has no capture.page_count; the completeness check "
				 "needs it");
	else if (qs->expected_pages != qs->found_pages)
		sign_qs_fail(qs, "incomplete: scan.tiff has %ld page(s), the capture recorded %ld",
			     qs->found_pages, qs->expected_pages);
	else if (n_expected != (size_t)qs->found_pages)
		sign_qs_fail(qs, "capture.pages lists %zu page(s), scan.tiff has %ld", n_expected,
			     qs->found_pages);
	for (i = 0; i < (size_t)qs->found_pages; i++)
		if (!qs->pages[i].match)
			sign_qs_fail(qs, "page %zu: %s", i + 1,
				     qs->pages[i].expected[0] ? "pixel data differ from the capture"
							      : "no digest recorded at capture");
	if (!qs->complete || !qs->digests_ok)
		qs->passed = 0;
	if (tif != NULL)
		TIFFClose(tif);
}

void sign_qs_free(struct sign_qs *qs)
{
	free(qs->pages);
	qs->pages = NULL;
	qs->found_pages = 0;
}
