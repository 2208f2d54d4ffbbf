/*
 * scan_page.c - page analysis; see scan_page.h.
 *
 * XXX issue 6: a minimal implementation of the blank score only, until the page
 * analysis module (blank score, QR separator decode with zbar, tesseract OSD
 * orientation, `mailroom sheets`) replaces this file. Here: the share of dark
 * pixels (gray below 128) after a 3x3 despeckle (connected components that fit
 * in 3x3 pixels are removed), over the whole page, scanner borders included.
 * Separators are never found and every page is taken as upright (rotation 0,
 * confidence 0).
 */
#include "scan_page.h"

#include <stdio.h>
#include <string.h>

#include <leptonica/allheaders.h>

#include "xalloc.h"

#define SCAN_PAGE_DARK 128 /* gray values below this are ink */

struct scan_page {
	struct scan_page_cfg cfg;
	l_int32 *tab8; /* leptonica's pixel count table */
};

scan_page *scan_page_open(const struct scan_page_cfg *c, char *err, size_t errlen)
{
	scan_page *p;

	if (c->blank_drop < 0 || c->blank_flag < c->blank_drop || c->blank_flag > 1) {
		snprintf(err, errlen, "blank thresholds: expected 0 <= drop <= flag <= 1");
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->cfg = *c;
	p->tab8 = makePixelSumTab8();
	return p;
}

scan_page *scan_page_close(scan_page *p)
{
	if (p == NULL)
		return NULL;
	LEPT_FREE(p->tab8);
	free(p);
	return NULL;
}

int scan_page_analyse(scan_page *p, struct Pix *pix, struct scan_page_result *r,
		      struct Pix **upright, char *err, size_t errlen)
{
	PIX *bin = NULL, *clean = NULL;
	l_int32 w, h, d, count = 0;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (upright != NULL)
		*upright = NULL;
	if (pix == NULL || pixGetDimensions(pix, &w, &h, &d) != 0 || w <= 0 || h <= 0) {
		snprintf(err, errlen, "page analysis: no image");
		return -1;
	}
	if (d == 1) {
		bin = pixClone(pix);
	} else {
		PIX *g = pixConvertTo8(pix, 0);

		if (g == NULL) {
			snprintf(err, errlen, "page analysis: cannot convert a %d-bit page to gray",
				 d);
			return -1;
		}
		bin = pixThresholdToBinary(g, SCAN_PAGE_DARK);
		pixDestroy(&g);
	}
	if (bin == NULL) {
		snprintf(err, errlen, "page analysis: cannot binarise the page");
		goto out;
	}
	/* despeckle: drop the specks that fit in 3x3 pixels (dust, noise) */
	clean = pixSelectBySize(bin, 4, 4, 8, L_SELECT_IF_EITHER, L_SELECT_IF_GTE, NULL);
	if (clean == NULL || pixCountPixels(clean, &count, p->tab8) != 0) {
		snprintf(err, errlen, "page analysis: cannot count the ink");
		goto out;
	}
	r->ink = (double)count / ((double)w * (double)h);
	if (r->ink < p->cfg.blank_drop)
		r->blank = SCAN_PAGE_DROP;
	else if (r->ink < p->cfg.blank_flag)
		r->blank = SCAN_PAGE_FLAG;
	else
		r->blank = SCAN_PAGE_KEEP;
	rc = 0;
out:
	pixDestroy(&bin);
	pixDestroy(&clean);
	return rc;
}
