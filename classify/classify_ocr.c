/*
 * classify_ocr.c - OCR with the tesseract C API; see classify_ocr.h.
 *
 * Pages are read one at a time with leptonica (a multi-page TIFF is never held in
 * memory as a whole); a TIFF is first opened with libtiff under a memory limit so a
 * damaged or hostile file is refused with libtiff's own message. Every string the
 * engine returns is freed with TessDeleteText.
 *
 * Bounds on a hostile image: libtiff's allocation limit, OCR_MAX_SIDE pixels per
 * side, the per-page time limit here; the per-letter wall-clock limit and the
 * RLIMIT_AS of the worker process in common/stage.c (conf/classify.yaml).
 */
#include "classify_ocr.h"

#include <errno.h>
#include <leptonica/allheaders.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tesseract/capi.h>
#include <tiffio.h>
#include <unistd.h>

#include "log.h"
#include "xalloc.h"

#define OCR_PAGE_TIMEOUT_MS 120000	/* recognition time limit per page */
#define OCR_TIFF_MAX_ALLOC (256u << 20) /* libtiff: largest single allocation */
#define OCR_MAX_SIDE 20000		/* pixels; 1.6 m at 300 dpi */
#define OCR_DEFAULT_DPI 300		/* for images that do not say */

struct classify_ocr {
	TessBaseAPI *api;
	TessBaseAPI *early; /* the early pass: the first language only, about 1/3 cheaper */
	char *langs;
};

/* Write a formatted message into err. */
static void ocr_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void ocr_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void classify_ocr_prepare(char **argv)
{
	const char *v = getenv("OMP_THREAD_LIMIT");

	if (v != NULL && strcmp(v, "1") == 0)
		return;
	setenv("OMP_THREAD_LIMIT", "1", 1);
	execv("/proc/self/exe", argv);
	log_warn("cannot re-execute with OMP_THREAD_LIMIT=1; OCR will use several threads");
}

classify_ocr *classify_ocr_open(const char *langs, char *err, size_t errlen)
{
	classify_ocr *o = xcalloc(1, sizeof(*o));

	if (langs == NULL)
		langs = CLASSIFY_OCR_LANGS;
	/* One thread per engine (see classify_ocr_prepare); for child processes. */
	setenv("OMP_THREAD_LIMIT", "1", 1);
	setMsgSeverity(L_SEVERITY_NONE); /* our own messages name file and fix */
	o->langs = xstrdup(langs);
	if ((o->api = TessBaseAPICreate()) == NULL) {
		ocr_err(err, errlen, "cannot create the tesseract engine");
		return classify_ocr_close(o);
	}
	if (TessBaseAPIInit3(o->api, NULL, langs) != 0) {
		ocr_err(err, errlen,
			"tesseract cannot load the languages '%s' (install the "
			"tesseract-ocr-deu and tesseract-ocr-eng data, or set TESSDATA_PREFIX)",
			langs);
		return classify_ocr_close(o);
	}
	if (getenv("MAILROOM_DEBUG") == NULL)
		TessBaseAPISetVariable(o->api, "debug_file", "/dev/null");
	/* Recognising with deu+eng runs the English model as well on every word the
	 * German one is unsure of; the early pass only needs the German words of the
	 * letterhead and subject. Without a second engine it uses the first. */
	{
		char first[64];
		size_t n = strcspn(langs, "+");

		if (n < sizeof(first) && langs[n] == '+') {
			memcpy(first, langs, n);
			first[n] = '\0';
			if ((o->early = TessBaseAPICreate()) != NULL &&
			    TessBaseAPIInit3(o->early, NULL, first) != 0) {
				log_warnx(
				    "tesseract cannot load '%s' alone; the early pass uses '%s'",
				    first, langs);
				TessBaseAPIDelete(o->early);
				o->early = NULL;
			}
			if (o->early != NULL && getenv("MAILROOM_DEBUG") == NULL)
				TessBaseAPISetVariable(o->early, "debug_file", "/dev/null");
		}
	}
	return o;
}

classify_ocr *classify_ocr_close(classify_ocr *o)
{
	if (o == NULL)
		return NULL;
	if (o->api != NULL) {
		TessBaseAPIEnd(o->api);
		TessBaseAPIDelete(o->api);
	}
	if (o->early != NULL) {
		TessBaseAPIEnd(o->early);
		TessBaseAPIDelete(o->early);
	}
	free(o->langs);
	free(o);
	return NULL;
}

const char *classify_ocr_version(void)
{
	return TessVersion();
}

const char *classify_ocr_langs(const classify_ocr *o)
{
	return o->langs;
}

void classify_ocr_result_free(struct classify_ocr_result *res)
{
	buf_free(&res->text);
	buf_free(&res->top);
	free(res->conf);
	res->conf = NULL;
	res->n_pages = 0;
}

int classify_ocr_clean_utf8(const char *s, size_t n, buf *out)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	int replaced = 0;

	while (p < end) {
		const unsigned char *start = p;
		unsigned c = *p, cp;
		size_t len, i;
		int bad = 0;

		if (c < 0x80) {
			len = 1;
		} else {
			if (c >= 0xc2 && c <= 0xdf)
				len = 2, cp = c & 0x1f;
			else if (c >= 0xe0 && c <= 0xef)
				len = 3, cp = c & 0x0f;
			else if (c >= 0xf0 && c <= 0xf4)
				len = 4, cp = c & 0x07;
			else
				len = 1, cp = 0, bad = 1;
			for (i = 1; !bad && i < len; i++) {
				if (p + i >= end || (p[i] & 0xc0) != 0x80)
					bad = 1;
				else
					cp = (cp << 6) | (p[i] & 0x3f);
			}
			if (!bad && ((len == 3 && cp < 0x800) ||
				     (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
				     (cp >= 0xd800 && cp <= 0xdfff)))
				bad = 1;
		}
		if (bad) {
			if (buf_add(out, "\xef\xbf\xbd", 3) == -1)
				return -1;
			replaced = 1;
			p = start + 1;
			continue;
		}
		if (buf_add(out, p, len) == -1)
			return -1;
		p += len;
	}
	if (out->data == NULL && buf_add(out, "", 0) == -1)
		return -1;
	return replaced;
}

/* libtiff error handler for one handle: keep the first message. */
static int ocr_tiff_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	char *msg = user;

	(void)tif;
	if (msg[0] == '\0') {
		size_t l;

		snprintf(msg, 256, "%s: ", module != NULL ? module : "libtiff");
		l = strlen(msg);
		vsnprintf(msg + l, 256 - l, fmt, ap);
	}
	return 1;
}

/* libtiff warnings are not worth a line per tag; keep them at debug level. */
static int ocr_tiff_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	char msg[256];

	(void)tif;
	(void)user;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_debug("libtiff: %s: %s", module != NULL ? module : "", msg);
	return 1;
}

/* Check a TIFF with libtiff (memory limit, sane sizes); count its pages. */
static int ocr_tiff_check(const char *path, size_t *pages, char *why, size_t whylen)
{
	char msg[256] = "";
	TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
	TIFF *tif = NULL;
	size_t n = 0;
	int rc = -1;

	TIFFOpenOptionsSetMaxSingleMemAlloc(opts, OCR_TIFF_MAX_ALLOC);
	TIFFOpenOptionsSetErrorHandlerExtR(opts, ocr_tiff_error, msg);
	TIFFOpenOptionsSetWarningHandlerExtR(opts, ocr_tiff_warning, NULL);
	if ((tif = TIFFOpenExt(path, "r", opts)) == NULL) {
		snprintf(why, whylen, "%s", msg[0] ? msg : "not a TIFF file");
		goto out;
	}
	do {
		uint32_t w = 0, h = 0;

		if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w) ||
		    !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h) || w == 0 || h == 0) {
			snprintf(why, whylen, "page %zu has no usable size (%ux%u pixels)", n + 1,
				 (unsigned)w, (unsigned)h);
			goto out;
		}
		if (w > OCR_MAX_SIDE || h > OCR_MAX_SIDE) {
			snprintf(why, whylen,
				 "page %zu is %ux%u pixels, larger than the limit of %d pixels per "
				 "side (%.2f m at 300 dpi): not a scanned letter",
				 n + 1, (unsigned)w, (unsigned)h, OCR_MAX_SIDE,
				 OCR_MAX_SIDE / 300.0 * 0.0254);
			goto out;
		}
		if (++n > CLASSIFY_OCR_MAX_PAGES) {
			snprintf(why, whylen, "more than %d pages", CLASSIFY_OCR_MAX_PAGES);
			goto out;
		}
	} while (TIFFReadDirectory(tif));
	if (msg[0] != '\0') {
		snprintf(why, whylen, "%s", msg);
		goto out;
	}
	*pages = n;
	rc = 0;
out:
	if (tif != NULL)
		TIFFClose(tif);
	TIFFOpenOptionsFree(opts);
	return rc;
}

/* Append the text lines of the recognised page that start in its top region. */
static int ocr_top_region(TessBaseAPI *api, int height, buf *top)
{
	TessResultIterator *it = TessBaseAPIGetIterator(api);
	const TessPageIterator *pit;
	int rc = 0;

	if (it == NULL)
		return 0;
	pit = TessResultIteratorGetPageIteratorConst(it);
	do {
		int l, t, r, b;
		char *s;

		if (!TessPageIteratorBoundingBox(pit, RIL_TEXTLINE, &l, &t, &r, &b) ||
		    t >= (int)(height * CLASSIFY_OCR_TOP_FRACTION))
			continue;
		if ((s = TessResultIteratorGetUTF8Text(it, RIL_TEXTLINE)) == NULL)
			continue;
		if (classify_ocr_clean_utf8(s, strlen(s), top) == -1)
			rc = -1;
		TessDeleteText(s);
	} while (rc == 0 && TessResultIteratorNext(it, RIL_TEXTLINE));
	TessResultIteratorDelete(it);
	return rc;
}

/* Read the next page of image; tiff_off is leptonica's position in a TIFF. */
static PIX *ocr_read_page(const char *image, int is_tiff, size_t *tiff_off)
{
	if (is_tiff)
		return pixReadFromMultipageTiff(image, tiff_off);
	return pixRead(image);
}

/* Check that image can be read; *is_tiff and *pages set. 0 or CLASSIFY_OCR_UNREADABLE. */
static int ocr_check_image(const char *image, const char *display, int *is_tiff, size_t *pages,
			   char *err, size_t errlen)
{
	l_int32 fmt = IFF_UNKNOWN;
	char why[512];

	*pages = 1;
	if (access(image, R_OK) == -1) {
		ocr_err(err, errlen, "%s: cannot open: %s", display, strerror(errno));
		return CLASSIFY_OCR_UNREADABLE;
	}
	if (findFileFormat(image, &fmt) != 0 || fmt == IFF_UNKNOWN || fmt == IFF_PS ||
	    fmt == IFF_LPDF) {
		ocr_err(err, errlen,
			"%s: not an image tesseract can read (expected TIFF, PNG, JPEG or PNM); "
			"rescan the letter",
			display);
		return CLASSIFY_OCR_UNREADABLE;
	}
	*is_tiff = (fmt >= IFF_TIFF && fmt <= IFF_TIFF_ZIP) || fmt == IFF_TIFF_JPEG;
	if (*is_tiff && ocr_tiff_check(image, pages, why, sizeof(why)) == -1) {
		ocr_err(err, errlen, "%s: the TIFF cannot be read (%s); rescan the letter", display,
			why);
		return CLASSIFY_OCR_UNREADABLE;
	}
	if (!*is_tiff) { /* the size from the header, before anything is decoded */
		l_int32 f, w = 0, h = 0, bps, spp, cmap;

		if (pixReadHeader(image, &f, &w, &h, &bps, &spp, &cmap) != 0 || w <= 0 || h <= 0) {
			ocr_err(err, errlen,
				"%s: the image header cannot be read; rescan the letter", display);
			return CLASSIFY_OCR_UNREADABLE;
		}
		if (w > OCR_MAX_SIDE || h > OCR_MAX_SIDE) {
			ocr_err(err, errlen,
				"%s: the image is %dx%d pixels, larger than the limit of %d pixels "
				"per side (%.2f m at 300 dpi): not a scanned letter; rescan it",
				display, w, h, OCR_MAX_SIDE, OCR_MAX_SIDE / 300.0 * 0.0254);
			return CLASSIFY_OCR_UNREADABLE;
		}
	}
	return 0;
}

double classify_ocr_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0.0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

int classify_ocr_early(classify_ocr *o, const char *log_id, const char *image, const char *display,
		       struct classify_ocr_result *res, char *err, size_t errlen)
{
	size_t pages = 1, off = 0;
	int is_tiff = 0, rc, c;
	PIX *pix = NULL, *top = NULL, *small = NULL;
	BOX *box = NULL;
	char *txt;
	l_int32 w, h;
	TessBaseAPI *api = o->early != NULL ? o->early : o->api;

	if (display == NULL)
		display = image;
	memset(res, 0, sizeof(*res));
	buf_init(&res->text, CLASSIFY_OCR_TEXT_MAX);
	buf_init(&res->top, CLASSIFY_OCR_TEXT_MAX);
	if ((rc = ocr_check_image(image, display, &is_tiff, &pages, err, errlen)) != 0)
		return rc;
	rc = CLASSIFY_OCR_UNREADABLE;
	if ((pix = ocr_read_page(image, is_tiff, &off)) == NULL) {
		ocr_err(err, errlen, "%s: page 1 cannot be decoded; rescan the letter", display);
		goto out;
	}
	w = pixGetWidth(pix);
	h = pixGetHeight(pix);
	if (pixGetXRes(pix) <= 0 || pixGetYRes(pix) <= 0)
		pixSetResolution(pix, OCR_DEFAULT_DPI, OCR_DEFAULT_DPI);
	box = boxCreate(0, 0, w, (l_int32)(h * CLASSIFY_OCR_TOP_FRACTION));
	if (box == NULL || (top = pixClipRectangle(pix, box, NULL)) == NULL ||
	    (small = pixScale(top, CLASSIFY_OCR_EARLY_SCALE, CLASSIFY_OCR_EARLY_SCALE)) == NULL) {
		ocr_err(err, errlen, "%s: page 1 cannot be reduced for the early pass", display);
		rc = CLASSIFY_OCR_FAILED;
		goto out;
	}
	pixSetResolution(small, (l_int32)(pixGetXRes(pix) * CLASSIFY_OCR_EARLY_SCALE),
			 (l_int32)(pixGetYRes(pix) * CLASSIFY_OCR_EARLY_SCALE));
	/* automatic layout: the letterhead, address and information blocks are
	 * separate columns; reading them as one block costs a third more */
	TessBaseAPISetPageSegMode(api, PSM_AUTO);
	TessBaseAPISetImage2(api, small);
	TessBaseAPISetSourceResolution(api, pixGetXRes(small));
	if (TessBaseAPIRecognize(api, NULL) != 0 || (txt = TessBaseAPIGetUTF8Text(api)) == NULL) {
		ocr_err(err, errlen, "%s: the top of page 1 could not be recognised", display);
		rc = CLASSIFY_OCR_FAILED;
		goto out;
	}
	c = classify_ocr_clean_utf8(txt, strlen(txt), &res->text);
	if (c != -1)
		c = classify_ocr_clean_utf8(txt, strlen(txt), &res->top) == -1 ? -1 : c;
	TessDeleteText(txt);
	if (c == -1) {
		ocr_err(err, errlen, "%s: OCR text larger than %u bytes", display,
			CLASSIFY_OCR_TEXT_MAX);
		goto out;
	}
	res->cleaned = c == 1;
	res->conf = xcalloc(1, sizeof(*res->conf));
	res->conf[0] = TessBaseAPIMeanTextConf(api);
	res->n_pages = 1;
	res->pages_total = pages;
	log_debug("%s: early pass: %zu bytes, confidence %.0f", log_id, res->text.len,
		  res->conf[0]);
	rc = 0;
out:
	TessBaseAPIClear(api);
	boxDestroy(&box);
	pixDestroy(&small);
	pixDestroy(&top);
	pixDestroy(&pix);
	return rc;
}

int classify_ocr_run(classify_ocr *o, const char *log_id, const char *image, const char *display,
		     const char *pdf_base, struct classify_ocr_result *res, char *err,
		     size_t errlen)
{
	TessResultRenderer *rend = NULL;
	size_t pages = 1, off = 0, i;
	int is_tiff = 0, rc = CLASSIFY_OCR_FAILED;
	PIX *pix = NULL;

	if (display == NULL)
		display = image;
	memset(res, 0, sizeof(*res));
	buf_init(&res->text, CLASSIFY_OCR_TEXT_MAX);
	buf_init(&res->top, CLASSIFY_OCR_TEXT_MAX);
	if ((rc = ocr_check_image(image, display, &is_tiff, &pages, err, errlen)) != 0)
		return rc;
	rc = CLASSIFY_OCR_FAILED;
	res->pages_total = pages;
	res->conf = xcalloc(pages, sizeof(*res->conf));
	if (pdf_base != NULL) {
		if ((rend = TessPDFRendererCreate(pdf_base, TessBaseAPIGetDatapath(o->api), 0)) ==
			NULL ||
		    !TessResultRendererBeginDocument(rend, "mailroom OCR")) {
			ocr_err(err, errlen, "ocr.pdf: cannot start the PDF rendition");
			goto out;
		}
	}
	for (i = 0; i < pages; i++) {
		char *txt;
		size_t before;
		int c;

		if ((pix = ocr_read_page(image, is_tiff, &off)) == NULL) {
			ocr_err(err, errlen, "%s: page %zu cannot be decoded; rescan the letter",
				display, i + 1);
			rc = CLASSIFY_OCR_UNREADABLE;
			goto out;
		}
		if (pixGetXRes(pix) <= 0 || pixGetYRes(pix) <= 0) {
			log_debug("%s: page %zu has no resolution; assuming %d dpi", log_id, i + 1,
				  OCR_DEFAULT_DPI);
			pixSetResolution(pix, OCR_DEFAULT_DPI, OCR_DEFAULT_DPI);
		}
		if (!TessBaseAPIProcessPage(o->api, pix, (int)i, image, NULL, OCR_PAGE_TIMEOUT_MS,
					    NULL)) {
			ocr_err(err, errlen,
				"%s: page %zu could not be recognised (damaged image or over the "
				"time limit of %d s); rescan the letter",
				display, i + 1, OCR_PAGE_TIMEOUT_MS / 1000);
			rc = CLASSIFY_OCR_UNREADABLE;
			goto out;
		}
		if (rend != NULL && !TessResultRendererAddImage(rend, o->api)) {
			ocr_err(err, errlen, "ocr.pdf: cannot write page %zu of the PDF rendition",
				i + 1);
			goto out;
		}
		if ((txt = TessBaseAPIGetUTF8Text(o->api)) == NULL) {
			ocr_err(err, errlen, "%s: no text for page %zu", display, i + 1);
			goto out;
		}
		before = res->text.len;
		c = (i > 0 && buf_add(&res->text, "\f", 1) == -1)
			? -1
			: classify_ocr_clean_utf8(txt, strlen(txt), &res->text);
		TessDeleteText(txt);
		if (c == -1) {
			ocr_err(err, errlen, "%s: OCR text larger than %u bytes", display,
				CLASSIFY_OCR_TEXT_MAX);
			rc = CLASSIFY_OCR_UNREADABLE;
			goto out;
		}
		if (c == 1) {
			log_warnx("%s: page %zu: the OCR text was not valid UTF-8; invalid bytes "
				  "replaced by U+FFFD",
				  log_id, i + 1);
			res->cleaned = 1;
		}
		res->conf[i] = TessBaseAPIMeanTextConf(o->api);
		log_debug("%s: page %zu: %zu bytes of text, confidence %.0f", log_id, i + 1,
			  res->text.len - before, res->conf[i]);
		if (i == 0 && ocr_top_region(o->api, pixGetHeight(pix), &res->top) == -1) {
			ocr_err(err, errlen, "%s: top region text too large", display);
			rc = CLASSIFY_OCR_UNREADABLE;
			goto out;
		}
		res->n_pages = i + 1;
		TessBaseAPIClear(o->api);
		pixDestroy(&pix);
	}
	if (rend != NULL && !TessResultRendererEndDocument(rend)) {
		ocr_err(err, errlen, "ocr.pdf: cannot finish the PDF rendition");
		goto out;
	}
	if (res->text.data == NULL)
		buf_add(&res->text, "", 0);
	if (res->top.data == NULL)
		buf_add(&res->top, "", 0);
	rc = 0;
out:
	if (pix != NULL)
		pixDestroy(&pix);
	if (rend != NULL)
		TessDeleteResultRenderer(rend);
	TessBaseAPIClear(o->api);
	return rc;
}
