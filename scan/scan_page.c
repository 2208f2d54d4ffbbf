/*
 * scan_page.c - page analysis; see scan_page.h.
 *
 * Every page is first made into a gray copy at no more than 150 dpi (a page
 * scanned finer is scaled down by area averaging, so a thin pen stroke stays as
 * a gray line), then bilevel: ink is what is darker than the paper by
 * SP_INK_DELTA, the paper being the 90 % brightest gray value of the page (a
 * grayish recycled sheet has the same threshold relative to its tone).
 *
 * Blank score (r->ink): the share of the page that marks cover. A band of
 * SP_MARGIN_MM along the edges does not count (paper edges, the shadow of the
 * sheet, the feeder's rollers); neither do specks whose box is smaller than
 * SP_MIN_MARK_MM in both directions (dust, scanner noise, JPEG ringing) and thin
 * lines along that band (the edge of a sheet fed askew). Each remaining
 * connected component counts with the area of its bounding box: the score says
 * how much of the page carries something, whatever the pen's width or the
 * resolution. Measured (tests/integration/scan_page.sh): a letter page 0.03 to
 * 0.12, a stamp 0.017, a handwritten initial 0.0014 to 0.003 (its ink alone is
 * 0.0003 of the page: the old share-of-dark-pixels score dropped it), a printed
 * page number alone 0.00008, a pen dot 0.00002, an empty sheet with scanner
 * noise, dust and edges 0. With the shipped thresholds (conf/scan.yaml: drop
 * 0.0001, flag 0.005) a page with only an initial is kept and flagged for
 * review, one with a stamp kept; neither is dropped (TR-03138 A.SC.8: a page
 * with only an initial looks blank).
 *
 * Separators: zbar reads QR codes (no other symbology) on a bilevel copy at 100
 * dpi of every page that has marks. Only a code whose data begins with the
 * separator prefix counts (scan_sep.h); one that does not parse is found but not
 * valid. A separator sheet is not examined further.
 *
 * Orientation: tesseract OSD (common/osd.h) on the bilevel copy of a page that
 * is not dropped, not a separator and scanned at 140 dpi or more; turned only
 * when osd_trusted says so (confidence 6 for Latin, 10 otherwise).
 * rotation_conf is OSD's confidence in what was decided (upright included); 0
 * when OSD could not tell or was not trusted (osd_deg/osd_conf say what it saw).
 *
 * Cost per A4 page at 150 dpi on one core (measured, machine shared): blank score
 * 5-10 ms, zbar 20-35 ms, OSD 0.2-0.35 s; a page scanned at 300 dpi adds about
 * 40 ms for the scaling.
 */
#include "scan_page.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <leptonica/allheaders.h>
#include <zbar.h>

#include "osd.h"
#include "scan_sep.h"
#include "xalloc.h"

#define SP_ANALYSIS_DPI 150.0 /* pages finer than SP_SCALE_ABOVE are scaled to this */
#define SP_SCALE_ABOVE 175.0
#define SP_QR_DPI 100.0	     /* the copy zbar reads */
#define SP_OSD_MIN_DPI 140.0 /* below, OSD guesses (measured): the page stays as it is */
#define SP_MARGIN_MM 5.0     /* band along the edges that does not count */
#define SP_MIN_MARK_MM 0.8   /* a mark counts when its box is this wide or high */
#define SP_EDGE_LINE_MM 1.5  /* a line this thin touching the band is a sheet edge */
#define SP_INK_DELTA 64	     /* ink is darker than the paper by this much */
#define SP_THRESH_MIN 96     /* bounds of the ink threshold (dark and gray pages) */
#define SP_THRESH_MAX 200
#define SP_A4_SHORT_IN 8.27 /* for pages that state no resolution */

struct scan_page {
	struct scan_page_cfg cfg;
	zbar_image_scanner_t *zbar;
	osd *osd;
};

/* Monotonic milliseconds. */
static double sp_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

scan_page *scan_page_open(const struct scan_page_cfg *c, char *err, size_t errlen)
{
	scan_page *p;

	if (c->blank_drop < 0 || c->blank_flag < c->blank_drop || c->blank_flag > 1) {
		snprintf(err, errlen, "blank thresholds: expected 0 <= drop <= flag <= 1");
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->cfg = *c;
	if (c->separators) {
		if ((p->zbar = zbar_image_scanner_create()) == NULL) {
			snprintf(err, errlen, "zbar: cannot create a scanner");
			free(p);
			return NULL;
		}
		zbar_image_scanner_set_config(p->zbar, 0, ZBAR_CFG_ENABLE, 0);
		zbar_image_scanner_set_config(p->zbar, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
	}
	if (c->orientation && (p->osd = osd_open(NULL, err, errlen)) == NULL) {
		scan_page_close(p);
		return NULL;
	}
	return p;
}

scan_page *scan_page_close(scan_page *p)
{
	if (p == NULL)
		return NULL;
	if (p->zbar != NULL)
		zbar_image_scanner_destroy(p->zbar);
	osd_close(p->osd);
	free(p);
	return NULL;
}

/* The resolution of pix, or an estimate from its size (an A4 sheet). */
static double sp_dpi(PIX *pix)
{
	l_int32 xr = pixGetXRes(pix), w = pixGetWidth(pix), h = pixGetHeight(pix);
	double r = xr > 0 ? (double)xr : (double)(w < h ? w : h) / SP_A4_SHORT_IN;

	return r < 10 ? 10 : r > 2400 ? 2400 : r;
}

/* A gray copy of pix at no more than SP_ANALYSIS_DPI; *ares gets its resolution. */
static PIX *sp_gray(PIX *pix, double res, double *ares)
{
	double f = res > SP_SCALE_ABOVE ? SP_ANALYSIS_DPI / res : 1.0;
	PIX *g, *s;

	if (f < 1.0 / 16)
		f = 1.0 / 16;
	*ares = res * f;
	if (pixGetDepth(pix) == 1)
		return f < 1.0 ? pixScaleToGray(pix, (l_float32)f)
			       : pixConvert1To8(NULL, pix, 255, 0);
	if ((g = pixConvertTo8(pix, 0)) == NULL)
		return NULL;
	if (f >= 1.0)
		return g;
	s = pixScaleAreaMap(g, (l_float32)f, (l_float32)f);
	pixDestroy(&g);
	return s;
}

/* The ink threshold of a gray page: darker than its paper by SP_INK_DELTA. */
static int sp_threshold(PIX *gray)
{
	l_uint32 paper = 255;
	int t;

	if (pixGetRankValue(gray, 2, 0.9f, &paper) != 0)
		paper = 255;
	t = (int)paper - SP_INK_DELTA;
	return t < SP_THRESH_MIN ? SP_THRESH_MIN : t > SP_THRESH_MAX ? SP_THRESH_MAX : t;
}

/* The blank score of the bilevel page bin at ares dpi (see the file header). */
static double sp_ink(PIX *bin, double ares)
{
	l_int32 w = pixGetWidth(bin), h = pixGetHeight(bin), iw = w, ih = h, i, n;
	int m = (int)lround(SP_MARGIN_MM / 25.4 * ares);
	double minpx = SP_MIN_MARK_MM / 25.4 * ares, edgepx = SP_EDGE_LINE_MM / 25.4 * ares;
	double covered = 0;
	PIX *inner;
	BOXA *boxa;

	if (minpx < 2)
		minpx = 2;
	if (m > 0 && w > 4 * m && h > 4 * m) {
		BOX *b = boxCreate(m, m, w - 2 * m, h - 2 * m);

		inner = pixClipRectangle(bin, b, NULL);
		boxDestroy(&b);
		iw = w - 2 * m;
		ih = h - 2 * m;
	} else {
		inner = pixClone(bin);
	}
	if (inner == NULL)
		return 0;
	boxa = pixConnCompBB(inner, 8);
	pixDestroy(&inner);
	if (boxa == NULL)
		return 0;
	n = boxaGetCount(boxa);
	for (i = 0; i < n; i++) {
		l_int32 bx, by, bw, bh, thin, lng;

		if (boxaGetBoxGeometry(boxa, i, &bx, &by, &bw, &bh) != 0)
			continue;
		if (bw < minpx && bh < minpx)
			continue; /* a speck */
		thin = bw < bh ? bw : bh;
		lng = bw < bh ? bh : bw;
		if ((bx == 0 || by == 0 || bx + bw == iw || by + bh == ih) && thin <= edgepx &&
		    lng >= 8 * thin)
			continue; /* the edge of a sheet */
		covered += (double)bw * (double)bh;
	}
	boxaDestroy(&boxa);
	covered /= (double)iw * (double)ih;
	return covered > 1 ? 1 : covered;
}

/* Look for a separator QR code on the gray page (ares dpi, ink threshold t). */
static void sp_qr(scan_page *p, PIX *gray, double ares, int t, struct scan_page_sep *sep)
{
	PIX *s = NULL, *b = NULL;
	zbar_image_t *img = NULL;
	const zbar_symbol_t *sym;
	unsigned char *buf = NULL;
	l_int32 w, h, y, x, wpl;
	l_uint32 *data;

	if (ares > SP_QR_DPI * 1.2) {
		double f = SP_QR_DPI / ares;

		s = pixScaleAreaMap(gray, (l_float32)f, (l_float32)f);
	} else {
		s = pixClone(gray);
	}
	if (s == NULL || (b = pixThresholdToBinary(s, t)) == NULL)
		goto out;
	w = pixGetWidth(b);
	h = pixGetHeight(b);
	wpl = pixGetWpl(b);
	data = pixGetData(b);
	buf = xmalloc((size_t)w * (size_t)h);
	for (y = 0; y < h; y++) {
		const l_uint32 *line = data + (size_t)y * (size_t)wpl;

		for (x = 0; x < w; x++)
			buf[(size_t)y * (size_t)w + (size_t)x] = GET_DATA_BIT(line, x) ? 0 : 255;
	}
	if ((img = zbar_image_create()) == NULL)
		goto out;
	zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
	zbar_image_set_size(img, (unsigned)w, (unsigned)h);
	zbar_image_set_data(img, buf, (unsigned long)w * (unsigned long)h, NULL);
	if (zbar_scan_image(p->zbar, img) <= 0)
		goto out;
	for (sym = zbar_image_first_symbol(img); sym != NULL; sym = zbar_symbol_next(sym)) {
		const unsigned char *d = (const unsigned char *)zbar_symbol_get_data(sym);
		size_t len = zbar_symbol_get_data_length(sym);
		struct scan_sep ps;
		char perr[256];

		if (zbar_symbol_get_type(sym) != ZBAR_QRCODE || !scan_sep_is_ours(d, len))
			continue;
		if (!sep->found)
			scan_sep_printable(d, len, sep->raw, sizeof(sep->raw));
		sep->found = 1;
		if (scan_sep_parse(d, len, &ps, perr, sizeof(perr)) == -1)
			continue;
		sep->valid = 1;
		scan_sep_printable(d, len, sep->raw, sizeof(sep->raw));
		snprintf(sep->batch, sizeof(sep->batch), "%s", ps.batch);
		sep->sheet = ps.sheet;
		snprintf(sep->doc_type, sizeof(sep->doc_type), "%s", ps.type);
		snprintf(sep->office, sizeof(sep->office), "%s", ps.office);
		break;
	}
out:
	if (img != NULL)
		zbar_image_destroy(img);
	free(buf);
	pixDestroy(&s);
	pixDestroy(&b);
}

int scan_page_analyse(scan_page *p, struct Pix *pix, struct scan_page_result *r,
		      struct Pix **upright, char *err, size_t errlen)
{
	PIX *gray = NULL, *bin = NULL;
	l_int32 w, h, d;
	double res, ares, t0;
	int t, rc = -1;

	memset(r, 0, sizeof(*r));
	r->osd_deg = -1;
	if (upright != NULL)
		*upright = NULL;
	if (pix == NULL || pixGetDimensions(pix, &w, &h, &d) != 0 || w <= 0 || h <= 0) {
		snprintf(err, errlen, "page analysis: no image");
		return -1;
	}
	t0 = sp_ms();
	res = sp_dpi(pix);
	if ((gray = sp_gray(pix, res, &ares)) == NULL) {
		snprintf(err, errlen, "page analysis: cannot convert a %d-bit page to gray", d);
		goto out;
	}
	t = sp_threshold(gray);
	if ((bin = pixThresholdToBinary(gray, t)) == NULL) {
		snprintf(err, errlen, "page analysis: cannot binarise the page");
		goto out;
	}
	pixSetResolution(bin, (l_int32)lround(ares), (l_int32)lround(ares));
	r->ink = sp_ink(bin, ares);
	if (r->ink < p->cfg.blank_drop)
		r->blank = SCAN_PAGE_DROP;
	else if (r->ink < p->cfg.blank_flag)
		r->blank = SCAN_PAGE_FLAG;
	else
		r->blank = SCAN_PAGE_KEEP;
	r->ms_blank = sp_ms() - t0;
	if (p->zbar != NULL && r->ink > 0) {
		t0 = sp_ms();
		sp_qr(p, gray, ares, t, &r->sep);
		r->ms_separator = sp_ms() - t0;
	}
	if (p->osd != NULL && !r->sep.found && r->blank != SCAN_PAGE_DROP &&
	    ares >= SP_OSD_MIN_DPI) {
		struct osd_result o;
		char oerr[256];

		t0 = sp_ms();
		if (osd_detect(p->osd, bin, &o, oerr, sizeof(oerr)) == 1) {
			r->osd_deg = o.deg;
			r->osd_conf = o.conf;
			snprintf(r->osd_script, sizeof(r->osd_script), "%s", o.script);
			if (o.deg == 0 || osd_trusted(&o)) {
				r->rotation = o.deg;
				r->rotation_conf = o.conf;
			}
		}
		r->ms_orientation = sp_ms() - t0;
	}
	if (r->rotation != 0 && upright != NULL &&
	    (*upright = pixRotateOrth(pix, r->rotation / 90)) == NULL) {
		snprintf(err, errlen, "page analysis: cannot turn the page by %d degrees",
			 r->rotation);
		goto out;
	}
	rc = 0;
out:
	pixDestroy(&gray);
	pixDestroy(&bin);
	return rc;
}
