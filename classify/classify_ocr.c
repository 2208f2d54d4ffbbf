/*
 * classify_ocr.c - OCR with the tesseract C API; see classify_ocr.h.
 *
 * Pages are read one at a time with leptonica (a multi-page TIFF is never held in
 * memory as a whole); a TIFF is first opened with libtiff under a memory limit so a
 * damaged or hostile file is refused with libtiff's own message. Every string the
 * engine returns is freed with TessDeleteText.
 *
 * Bounds on a hostile image: libtiff's allocation limit, OCR_MAX_SIDE pixels per
 * side and OCR_MAX_PAGE_BYTES decoded per page, the per-page time limit here; the
 * per-letter wall-clock limit and the RLIMIT_AS of the worker process in
 * common/stage.c (conf/classify.yaml).
 *
 * Memory: the worker stays flat because (1) grainy pages are smoothed
 * before recognition - on a sparse page under sigma-30 noise tesseract otherwise
 * segments tens of thousands of speckle blobs, grows the heap by about 300 MB and
 * runs into the page time limit - and (2) after a letter that left more than
 * OCR_TRIM_FREE of free heap (a large page), glibc is told to hand it back
 * (malloc_trim). Measured with mallinfo2 after such a page: heap 339 MB, of it
 * 56 MB in use and 283 MB free but kept (freed chunks lie below live ones), RSS
 * 356 MB; trimmed 88 MB. In use stays flat from letter to letter (no leak).
 */
#include "classify_ocr.h"

#include <errno.h>
#include <leptonica/allheaders.h>
#include <malloc.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/stat.h>
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
/* decoded bytes per page (width x height x bits per pixel): a tiny compressed file
 * that decodes to more is a bomb; A3 in colour at 600 dpi is 200 MiB */
#define OCR_MAX_PAGE_BYTES (256ull << 20)

/*
 * The early pass (see CLASSIFY_OCR_EARLY_DPI). A page that does not declare CLASSIFY_OCR_MIN_DPI
 * or more gets a resolution from the median size (the longer side) of its character-like
 * components: OCR_CHAR_PX_300 is that median for print at 300 dpi (the corpus renders:
 * 12-28, median 22; sroie's 150 dpi receipts 8-16); from fewer than OCR_CHAR_MIN_COUNT of
 * them the page is taken as OCR_DEFAULT_DPI. The first look reads at most OCR_EARLY_AREA
 * pixels of the reduced page (the top 40% of A4 at 120 dpi) and the whole page when that
 * covers OCR_EARLY_WHOLE of it; a region read unreduced or nearly so (scale above
 * OCR_EARLY_CLEAN_SCALE) is smoothed first if grainy, as the full pass does.
 */
#define OCR_CHAR_PX_300 22
#define OCR_CHAR_MIN_COUNT 100
#define OCR_EST_MIN_DPI 70
#define OCR_EST_MAX_DPI 1200
#define OCR_EARLY_AREA                                                                             \
	((8.27 * CLASSIFY_OCR_EARLY_DPI) *                                                         \
	 (11.69 * CLASSIFY_OCR_EARLY_DPI * CLASSIFY_OCR_TOP_FRACTION))
#define OCR_EARLY_WHOLE 0.8
#define OCR_EARLY_CLEAN_SCALE 0.5

/*
 * When a page is shown to orientation detection: its mean word confidence is below
 * OCR_POOR_CONF (full pass; upright pages of the benchmark corpus, clean, grainy or
 * skewed by 2-5 degrees, read at 75 or more, turned ones at 33-59) or
 * OCR_POOR_CONF_EARLY (the reduced top region: upright 56 or more, upside down 45 or
 * less), or the layout analysis found most of the text in lines that are not upright
 * (a page turned by 90 degrees: tesseract reads such lines sideways, often with a good
 * confidence). OSD's verdict is taken from OCR_OSD_MIN_CONF on (its confidence is the
 * margin over the next orientation; about 15 is sure, receipts reach only 6-10), and
 * only if the turned page then reads better than before (OSD said 180 or 270 with
 * at most 0.6 for upright pages of the corpus, 1.0-30 for most turned ones).
 */
#define OCR_POOR_CONF 65
#define OCR_POOR_CONF_EARLY 50
#define OCR_OSD_MIN_CONF 1.0
/*
 * Grain: the median absolute difference of horizontally adjacent light pixels. Clean
 * renders read 0, real scans and photographed receipts 0-3, sigma-30 noise 9-17. From
 * OCR_NOISE_MEDIAN on, the page is smoothed (see ocr_clean_page) before recognition.
 */
#define OCR_NOISE_MEDIAN 6
#define OCR_NOISE_ROW_STEP 4 /* the estimate reads every fourth row: about 4 ms a page */
/*
 * After a letter, free heap memory beyond this is handed back to the system.
 * A letter leaves about 35 MB free between live chunks; trimming that every time
 * costs 3-8 % CPU (the next page faults the pages in again), so only what a
 * large page left behind is returned.
 */
#define OCR_TRIM_FREE (64u << 20)

/* The orientation the last early pass found for page 1 of a file (see classify_ocr_run). */
struct ocr_hint {
	int valid;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct classify_ocr_page page;
};

struct classify_ocr {
	TessBaseAPI *api;
	TessBaseAPI *early; /* the early pass: the first language only, about 1/3 cheaper */
	TessBaseAPI *osd;   /* orientation detection ("osd", legacy engine); NULL without it */
	char *langs;
	struct ocr_hint hint;
	/* the early pass's first look keeps page 1 for the second (classify_ocr_early_rest) */
	PIX *early_page;    /* page 1 upright, at its own resolution; NULL when none is kept */
	l_int32 early_y;    /* rows of early_page the first look read */
	double early_scale; /* the factor it read them at */
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
	/* OSD needs the legacy engine and its own model: about 31 MB more per worker,
	 * loaded here so that the worker's memory does not step up at the first
	 * turned page */
	if ((o->osd = TessBaseAPICreate()) != NULL &&
	    TessBaseAPIInit2(o->osd, NULL, "osd", OEM_TESSERACT_ONLY) != 0) {
		log_warnx("tesseract cannot load 'osd' (install tesseract-ocr-osd): pages turned "
			  "by 90 or 180 degrees are read as they lie");
		TessBaseAPIDelete(o->osd);
		o->osd = NULL;
	}
	if (o->osd != NULL) {
		TessBaseAPISetPageSegMode(o->osd, PSM_OSD_ONLY);
		if (getenv("MAILROOM_DEBUG") == NULL)
			TessBaseAPISetVariable(o->osd, "debug_file", "/dev/null");
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
	if (o->osd != NULL) {
		TessBaseAPIEnd(o->osd);
		TessBaseAPIDelete(o->osd);
	}
	classify_ocr_early_release(o);
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
	free(res->page);
	res->page = NULL;
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
		uint16_t bps = 1, spp = 1;
		unsigned long long bytes;

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
		TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
		TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
		if ((bytes = (unsigned long long)w * h * bps * spp / 8) > OCR_MAX_PAGE_BYTES) {
			snprintf(
			    why, whylen,
			    "page %zu (%ux%u pixels, %u bit) decodes to %llu MiB, more than the "
			    "limit of %llu MiB per page: not a scanned letter (a decompression "
			    "bomb?)",
			    n + 1, (unsigned)w, (unsigned)h, (unsigned)bps * spp, bytes >> 20,
			    OCR_MAX_PAGE_BYTES >> 20);
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

/* Read the next page of image; tiff_off is leptonica's position in a TIFF. NULL with
 * errno ENOMEM when memory ran out. */
static PIX *ocr_read_page(const char *image, int is_tiff, size_t *tiff_off)
{
	errno = 0;
	if (is_tiff)
		return pixReadFromMultipageTiff(image, tiff_off);
	return pixRead(image);
}

/* Why page n could not be decoded, for the quarantine reason. */
static void ocr_decode_err(char *err, size_t errlen, const char *display, size_t n)
{
	struct rlimit rl;

	if (errno == ENOMEM && getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		ocr_err(err, errlen,
			"%s: page %zu cannot be decoded: it needs more memory than the worker's "
			"limit of %llu MiB (limits.memory_mb in classify.yaml); raise the limit "
			"or rescan the letter at a lower resolution",
			display, n, (unsigned long long)(rl.rlim_cur >> 20));
	else if (errno == ENOMEM)
		ocr_err(err, errlen,
			"%s: page %zu cannot be decoded: out of memory; rescan the letter at a "
			"lower resolution",
			display, n);
	else
		ocr_err(err, errlen, "%s: page %zu cannot be decoded; rescan the letter", display,
			n);
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
		if ((unsigned long long)w * h * (bps > 0 ? bps : 8) * (spp > 0 ? spp : 1) / 8 >
		    OCR_MAX_PAGE_BYTES) {
			ocr_err(
			    err, errlen,
			    "%s: the image (%dx%d pixels) decodes to more than the limit of %llu "
			    "MiB per page: not a scanned letter; rescan it",
			    display, w, h, OCR_MAX_PAGE_BYTES >> 20);
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

/*
 * The grain of the page's light paper: the median absolute difference of
 * horizontally adjacent pixels that are both light (>= 128), on every
 * OCR_NOISE_ROW_STEP-th row. Text edges are mostly excluded by the lightness
 * test, and a median ignores the rest. 0 for depths it does not read (binary,
 * colour-mapped, 16 bpp): those are left alone.
 */
static int ocr_noise_level(PIX *pix)
{
	l_int32 w = pixGetWidth(pix), h = pixGetHeight(pix), wpl = pixGetWpl(pix);
	l_int32 d = pixGetDepth(pix), x, y;
	l_uint32 *data = pixGetData(pix);
	unsigned long hist[256] = {0}, n = 0, acc = 0;
	int v;

	if ((d != 8 && d != 32) || pixGetColormap(pix) != NULL || data == NULL)
		return 0;
	for (y = 0; y < h; y += OCR_NOISE_ROW_STEP) {
		l_uint32 *line = data + (size_t)y * (size_t)wpl;
		int prev = -1, cur;

		for (x = 0; x < w; x++) {
			if (d == 8) {
				cur = GET_DATA_BYTE(line, x);
			} else {
				l_int32 r, g, b;

				extractRGBValues(line[x], &r, &g, &b);
				cur = (77 * r + 150 * g + 29 * b) >> 8;
			}
			if (prev >= 128 && cur >= 128) {
				hist[abs(cur - prev)]++;
				n++;
			}
			prev = cur;
		}
	}
	for (v = 0; v < 256 && n > 0; v++) {
		acc += hist[v];
		if (2 * acc >= n)
			return v;
	}
	return 0;
}

/*
 * The page to recognise: a grainy page smoothed (3x3 mean) to 8-bit gray
 * (*denoised set), any other a new reference to pix. NULL if smoothing failed.
 * On the 20 sigma-30 pages of ../shared/ocr-pages the mean keeps the word recall
 * (0.969) and CPU of the unfiltered pages; a 3x3 median loses recall (0.950) and
 * costs 0.28 s more a page. Both turn a sparse grainy page from 127 s into 0.4 s.
 */
static PIX *ocr_clean_page(const char *log_id, size_t page, PIX *pix, int *denoised)
{
	PIX *g, *m;
	int level = ocr_noise_level(pix);

	*denoised = 0;
	if (level < OCR_NOISE_MEDIAN)
		return pixClone(pix);
	if ((g = pixConvertTo8(pix, 0)) == NULL)
		return NULL;
	m = pixBlockconvGray(g, NULL, 1, 1);
	pixDestroy(&g);
	if (m == NULL)
		return NULL;
	pixCopyResolution(m, pix);
	*denoised = 1;
	log_debug("%s: page %zu is grainy (%d); smoothed before recognition", log_id, page, level);
	return m;
}

/* pix turned clockwise by rotation degrees (0, 90, 180, 270): a new reference, or NULL. */
static PIX *ocr_turn(PIX *pix, int rotation)
{
	PIX *r;

	if (rotation == 0)
		return pixClone(pix);
	if ((r = pixRotateOrth(pix, rotation / 90)) == NULL)
		return NULL;
	if (rotation == 180)
		pixCopyResolution(r, pix);
	else
		pixSetResolution(r, pixGetYRes(pix), pixGetXRes(pix));
	return r;
}

/*
 * Ask tesseract's orientation detection how pix lies: 0 with *deg (the
 * clockwise turn of the text in pix: 0, 90, 180, 270) and *conf; when it cannot
 * tell (too few letters) *deg and *conf are 0. -1 without the osd model.
 */
static int ocr_osd(classify_ocr *o, PIX *pix, int *deg, double *conf)
{
	float oc = 0.0f, sc = 0.0f;
	int d = -1, ok;

	if (o->osd == NULL)
		return -1;
	TessBaseAPISetImage2(o->osd, pix);
	TessBaseAPISetSourceResolution(o->osd,
				       pixGetYRes(pix) > 0 ? pixGetYRes(pix) : OCR_DEFAULT_DPI);
	/* XXX capi.h says to free the script name with TessDeleteText, but it points into
	 * the engine's character set (baseapi.cpp): not asked for at all. */
	ok = TessBaseAPIDetectOrientationScript(o->osd, &d, &oc, NULL, &sc);
	TessBaseAPIClear(o->osd);
	if (!ok || d < 0 || d >= 360 || d % 90 != 0 || oc < 0.0f) {
		d = 0;
		oc = 0.0f;
	}
	*deg = d;
	*conf = oc;
	return 0;
}

/*
 * 1 if most text lines of the last recognition run down the image rather than
 * across it: on a page turned by 90 degrees tesseract finds the lines, turns
 * them itself and reads them with a good confidence (the layout then reports
 * them upright), but their boxes stay tall and narrow. A line counts when one
 * side is more than twice the other, so single characters do not.
 */
static int ocr_lines_turned(TessBaseAPI *api)
{
	TessResultIterator *it = TessBaseAPIGetIterator(api);
	TessPageIterator *pit;
	long across = 0, down = 0;

	if (it == NULL)
		return 0;
	pit = TessResultIteratorGetPageIterator(it);
	do {
		TessOrientation orient = ORIENTATION_PAGE_UP;
		TessWritingDirection wd;
		TessTextlineOrder order;
		float deskew;
		int l, t, r, b, w, h;

		if (!TessPageIteratorBoundingBox(pit, RIL_TEXTLINE, &l, &t, &r, &b))
			continue;
		TessPageIteratorOrientation(pit, &orient, &wd, &order, &deskew);
		w = r - l;
		h = b - t;
		if (orient == ORIENTATION_PAGE_RIGHT || orient == ORIENTATION_PAGE_LEFT)
			down++;
		else if (h > 2 * w)
			down++;
		else if (w > 2 * h)
			across++;
	} while (TessPageIteratorNext(pit, RIL_TEXTLINE));
	TessResultIteratorDelete(it);
	return down > across;
}

/* How well the last recognition on api reads: its mean confidence and whether
 * its lines run down the image. */
struct ocr_reading {
	int conf;
	int turned;
};

/* Judge the last recognition on api; 1 if it reads badly enough to ask OSD (see
 * OCR_POOR_CONF). */
static int ocr_reads_badly(TessBaseAPI *api, int poor_conf, struct ocr_reading *rd)
{
	rd->conf = TessBaseAPIMeanTextConf(api);
	rd->turned = ocr_lines_turned(api);
	return rd->conf < poor_conf || rd->turned;
}

/* 1 if reading b (of the page turned as OSD said) is better than a: lines across
 * the image beat lines down it, then the higher confidence wins. */
static int ocr_reads_better(const struct ocr_reading *b, const struct ocr_reading *a)
{
	if (a->turned != b->turned)
		return a->turned;
	return b->conf > a->conf;
}

/*
 * Set how page 1 of image lies for the next classify_ocr_run on the same file;
 * without a stat of the file no hint is kept.
 */
static void ocr_hint_set(classify_ocr *o, const char *image, const struct classify_ocr_page *pg)
{
	struct stat st;

	o->hint.valid = 0;
	if (stat(image, &st) == -1)
		return;
	o->hint.dev = st.st_dev;
	o->hint.ino = st.st_ino;
	o->hint.size = st.st_size;
	o->hint.mtime = st.st_mtim;
	o->hint.page = *pg;
	o->hint.valid = 1;
}

/* Take the hint for page 1 of image if the early pass left one for this very file. */
static int ocr_hint_take(classify_ocr *o, const char *image, struct classify_ocr_page *pg)
{
	struct stat st;
	int match;

	if (!o->hint.valid)
		return 0;
	o->hint.valid = 0;
	match = stat(image, &st) == 0 && st.st_dev == o->hint.dev && st.st_ino == o->hint.ino &&
		st.st_size == o->hint.size && st.st_mtim.tv_sec == o->hint.mtime.tv_sec &&
		st.st_mtim.tv_nsec == o->hint.mtime.tv_nsec;
	if (match) {
		pg->rotation = o->hint.page.rotation;
		pg->osd_conf = o->hint.page.osd_conf;
	}
	return match;
}

static int ocr_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/*
 * The median size in pixels of pix's character-like components (longer side 6-120
 * pixels, at most three times the shorter: letters and digits, not rules, dots or
 * speckle), found at half resolution (after Otsu's threshold unless bilevel); 0 if fewer than
 * OCR_CHAR_MIN_COUNT. Orientation does not matter (the longer side). Tens of ms an A4 page
 * (57 ms CPU with the decoding of a 300 dpi gray TIFF).
 */
static double ocr_char_size(PIX *pix)
{
	PIX *g = NULL, *half = NULL, *bin = NULL;
	BOXA *boxa = NULL;
	int *v = NULL, n, k = 0, i;
	double m = 0.0;

	if (pixGetDepth(pix) == 1) {
		/* a bilevel page stays bilevel: 8 bits a pixel would be 8 times its size */
		if ((bin = pixReduceRankBinary2(pix, 1, NULL)) == NULL)
			goto out;
	} else if ((g = pixConvertTo8(pix, 0)) == NULL || (half = pixScaleAreaMap2(g)) == NULL ||
		   pixOtsuAdaptiveThreshold(half, pixGetWidth(half), pixGetHeight(half), 0, 0, 0.1,
					    NULL, &bin) != 0 ||
		   bin == NULL) {
		goto out;
	}
	if ((boxa = pixConnCompBB(bin, 8)) == NULL)
		goto out;
	n = boxaGetCount(boxa);
	v = xcalloc((size_t)n + 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		l_int32 x, y, w, h, lo, hi;

		if (boxaGetBoxGeometry(boxa, i, &x, &y, &w, &h) != 0)
			continue;
		hi = w > h ? w : h;
		lo = w > h ? h : w;
		if (hi >= 3 && hi <= 60 && hi <= 3 * lo)
			v[k++] = hi;
	}
	if (k >= OCR_CHAR_MIN_COUNT) {
		qsort(v, (size_t)k, sizeof(*v), ocr_cmp_int);
		m = 2.0 * v[k / 2];
	}
out:
	free(v);
	boxaDestroy(&boxa);
	pixDestroy(&bin);
	pixDestroy(&half);
	pixDestroy(&g);
	return m;
}

/*
 * How the early pass reads pix (page 1 as decoded): fills view's dpi, estimated and
 * char_px, gives pix that resolution when it declared none worth taking, and
 * returns the scale that brings it to about CLASSIFY_OCR_EARLY_DPI (at most 1).
 */
static double ocr_early_scale(PIX *pix, struct classify_ocr_early_view *view)
{
	l_int32 dpi = pixGetXRes(pix);
	double m;

	if (dpi < CLASSIFY_OCR_MIN_DPI || pixGetYRes(pix) < CLASSIFY_OCR_MIN_DPI) {
		m = ocr_char_size(pix);
		dpi = OCR_DEFAULT_DPI;
		if (m > 0.0) {
			dpi = (l_int32)(OCR_DEFAULT_DPI * m / OCR_CHAR_PX_300 + 0.5);
			dpi = dpi < OCR_EST_MIN_DPI   ? OCR_EST_MIN_DPI
			      : dpi > OCR_EST_MAX_DPI ? OCR_EST_MAX_DPI
						      : dpi;
		}
		pixSetResolution(pix, dpi, dpi);
		view->estimated = 1;
		view->char_px = m;
	}
	view->dpi = dpi;
	return dpi > CLASSIFY_OCR_EARLY_DPI ? (double)CLASSIFY_OCR_EARLY_DPI / dpi : 1.0;
}

/* The rows of page (upright) the first look reads at scale: OCR_EARLY_AREA of the reduced
 * page, or all of them when that covers OCR_EARLY_WHOLE of it. */
static l_int32 ocr_early_rows(PIX *page, double scale)
{
	l_int32 h = pixGetHeight(page);
	double rows = OCR_EARLY_AREA / (pixGetWidth(page) * scale) / scale;

	return rows >= h * OCR_EARLY_WHOLE ? h : rows < 1.0 ? 1 : (l_int32)rows;
}

/* Rows [y0, y1) of page reduced by scale (smoothed first when grainy and read nearly
 * unreduced): a new PIX, or NULL. */
static PIX *ocr_early_region(const char *log_id, PIX *page, l_int32 y0, l_int32 y1, double scale)
{
	PIX *part = NULL, *small = NULL, *clean;
	BOX *box;
	int denoised;

	if ((box = boxCreate(0, y0, pixGetWidth(page), y1 - y0)) == NULL)
		return NULL;
	if ((part = pixClipRectangle(page, box, NULL)) != NULL) {
		if (scale < 1.0) {
			if ((small = pixScale(part, (float)scale, (float)scale)) != NULL)
				pixSetResolution(small, (l_int32)(pixGetXRes(page) * scale + 0.5),
						 (l_int32)(pixGetYRes(page) * scale + 0.5));
		} else {
			small = pixClone(part);
		}
	}
	if (small != NULL && scale > OCR_EARLY_CLEAN_SCALE) {
		clean = ocr_clean_page(log_id, 1, small, &denoised);
		pixDestroy(&small);
		small = clean;
	}
	boxDestroy(&box);
	pixDestroy(&part);
	return small;
}

/* Recognise rows [y0, y1) of page (upright) at scale on api: the text (TessDeleteText),
 * NULL. The result stays on api for ocr_reads_badly until TessBaseAPIClear. */
static char *ocr_early_read(TessBaseAPI *api, const char *log_id, PIX *page, l_int32 y0, l_int32 y1,
			    double scale)
{
	PIX *small;
	char *txt = NULL;

	if ((small = ocr_early_region(log_id, page, y0, y1, scale)) == NULL)
		return NULL;
	/* automatic layout: the letterhead, address and information blocks are
	 * separate columns; reading them as one block costs a third more */
	TessBaseAPISetPageSegMode(api, PSM_AUTO);
	TessBaseAPISetImage2(api, small);
	TessBaseAPISetSourceResolution(api, pixGetXRes(small));
	if (TessBaseAPIRecognize(api, NULL) == 0)
		txt = TessBaseAPIGetUTF8Text(api);
	pixDestroy(&small);
	return txt;
}

void classify_ocr_early_release(classify_ocr *o)
{
	pixDestroy(&o->early_page);
	o->early_y = 0;
	o->early_scale = 0.0;
}

int classify_ocr_early_has_rest(const classify_ocr *o)
{
	return o->early_page != NULL && o->early_y < pixGetHeight(o->early_page);
}

int classify_ocr_early(classify_ocr *o, const char *log_id, const char *image, const char *display,
		       struct classify_ocr_result *res, char *err, size_t errlen)
{
	size_t pages = 1, off = 0;
	int is_tiff = 0, rc, c, deg = 0, denoised = 0;
	struct ocr_reading rd = {0, 0}, rd2;
	PIX *pix = NULL, *clean = NULL, *page = NULL, *page2 = NULL;
	l_int32 y = 0, y2;
	char *txt = NULL, *txt2;
	double oc = -1.0, scale;
	struct classify_ocr_page pg = {0, -1.0, 1, 0};
	TessBaseAPI *api = o->early != NULL ? o->early : o->api;

	if (display == NULL)
		display = image;
	classify_ocr_early_release(o);
	memset(res, 0, sizeof(*res));
	buf_init(&res->text, CLASSIFY_OCR_TEXT_MAX);
	buf_init(&res->top, CLASSIFY_OCR_TEXT_MAX);
	res->osd = o->osd != NULL;
	o->hint.valid = 0;
	if ((rc = ocr_check_image(image, display, &is_tiff, &pages, err, errlen)) != 0)
		return rc;
	rc = CLASSIFY_OCR_UNREADABLE;
	if ((pix = ocr_read_page(image, is_tiff, &off)) == NULL) {
		ocr_decode_err(err, errlen, display, 1);
		goto out;
	}
	scale = ocr_early_scale(pix, &res->early);
	res->early.scale = scale;
	rc = CLASSIFY_OCR_FAILED;
	page = pixClone(pix);
	y = ocr_early_rows(page, scale);
	if ((txt = ocr_early_read(api, log_id, page, 0, y, scale)) == NULL) {
		ocr_err(err, errlen, "%s: the top of page 1 could not be recognised", display);
		goto out;
	}
	/* the orientation is decided on the whole page, before the top region is cut */
	if (ocr_reads_badly(api, OCR_POOR_CONF_EARLY, &rd) && o->osd != NULL) {
		TessBaseAPIClear(api);
		if ((clean = ocr_clean_page(log_id, 1, pix, &denoised)) != NULL &&
		    ocr_osd(o, clean, &deg, &oc) == 0) {
			pg.osd_conf = oc;
			log_debug("%s: early pass: page 1 reads badly (confidence %d%s); OSD: "
				  "turned %d degrees, confidence %.1f",
				  log_id, rd.conf, rd.turned ? ", lines run down" : "", deg, oc);
		}
		pixDestroy(&clean); /* a colour A4 page is 36 MB: hold no more copies than needed */
		if (pg.osd_conf >= OCR_OSD_MIN_CONF && deg != 0 &&
		    (page2 = ocr_turn(pix, (360 - deg) % 360)) != NULL) {
			pg.passes++;
			y2 = ocr_early_rows(page2, scale);
			if ((txt2 = ocr_early_read(api, log_id, page2, 0, y2, scale)) != NULL) {
				ocr_reads_badly(api, OCR_POOR_CONF_EARLY, &rd2);
				if (ocr_reads_better(&rd2, &rd)) {
					TessDeleteText(txt);
					txt = txt2;
					rd = rd2;
					pg.rotation = (360 - deg) % 360;
					pixDestroy(&page);
					page = page2;
					page2 = NULL;
					y = y2;
				} else {
					TessDeleteText(txt2);
				}
			}
		}
	}
	pixDestroy(&pix); /* page holds what is kept */
	c = classify_ocr_clean_utf8(txt, strlen(txt), &res->text);
	if (c != -1)
		c = classify_ocr_clean_utf8(txt, strlen(txt), &res->top) == -1 ? -1 : c;
	if (c == -1) {
		ocr_err(err, errlen, "%s: OCR text larger than %u bytes", display,
			CLASSIFY_OCR_TEXT_MAX);
		rc = CLASSIFY_OCR_UNREADABLE;
		goto out;
	}
	res->cleaned = c == 1;
	res->conf = xcalloc(1, sizeof(*res->conf));
	res->conf[0] = rd.conf;
	res->page = xcalloc(1, sizeof(*res->page));
	res->page[0] = pg;
	res->rotated = pg.rotation != 0;
	res->n_pages = 1;
	res->pages_total = pages;
	res->early.top_percent = (int)(100.0 * y / pixGetHeight(page) + 0.5);
	if (res->early.top_percent < 1)
		res->early.top_percent = 1;
	ocr_hint_set(o, image, &pg);
	log_debug("%s: early pass: %zu bytes from the top %d%% of page 1 at %d dpi%s x %.2f, "
		  "confidence %.0f, %d pass(es), page 1 turned %d degrees clockwise",
		  log_id, res->text.len, res->early.top_percent, res->early.dpi,
		  res->early.estimated ? " (estimated)" : "", scale, res->conf[0], pg.passes,
		  pg.rotation);
	if (y < pixGetHeight(page)) {
		/* kept for the second look: the upright page, not a copy */
		o->early_page = page;
		o->early_y = y;
		o->early_scale = scale;
		page = NULL;
	}
	rc = 0;
out:
	if (txt != NULL)
		TessDeleteText(txt);
	TessBaseAPIClear(api);
	pixDestroy(&page2);
	pixDestroy(&page);
	pixDestroy(&clean);
	pixDestroy(&pix);
	return rc;
}

int classify_ocr_early_rest(classify_ocr *o, const char *log_id, struct classify_ocr_result *res,
			    char *err, size_t errlen)
{
	TessBaseAPI *api = o->early != NULL ? o->early : o->api;
	size_t len = res->text.len;
	char *txt;
	int rc = CLASSIFY_OCR_FAILED, c;

	if (!classify_ocr_early_has_rest(o)) {
		classify_ocr_early_release(o);
		return 0;
	}
	if ((txt = ocr_early_read(api, log_id, o->early_page, o->early_y,
				  pixGetHeight(o->early_page), o->early_scale)) == NULL) {
		ocr_err(err, errlen, "%s: the rest of page 1 could not be recognised", log_id);
		goto out;
	}
	if ((len > 0 && res->text.data[len - 1] != '\n' && buf_add(&res->text, "\n", 1) == -1) ||
	    (c = classify_ocr_clean_utf8(txt, strlen(txt), &res->text)) == -1) {
		res->text.len = len; /* the first look's text as it was */
		if (res->text.data != NULL)
			res->text.data[len] = '\0';
		ocr_err(err, errlen, "%s: OCR text larger than %u bytes", log_id,
			CLASSIFY_OCR_TEXT_MAX);
		goto out;
	}
	res->cleaned |= c == 1;
	res->early.rest = 1;
	log_debug("%s: early pass: the rest of page 1 (rows %ld-%ld): %zu bytes", log_id,
		  (long)o->early_y, (long)pixGetHeight(o->early_page), res->text.len - len);
	rc = 0;
out:
	if (txt != NULL)
		TessDeleteText(txt);
	TessBaseAPIClear(api);
	classify_ocr_early_release(o);
	return rc;
}

/* Hand free heap memory back to the system when a letter left much of it (OCR_TRIM_FREE). */
static void ocr_trim(const char *log_id)
{
	struct mallinfo2 mi = mallinfo2();

	if (mi.fordblks <= OCR_TRIM_FREE)
		return;
	malloc_trim(0);
	log_debug("%s: %zu MB of free heap handed back", log_id, mi.fordblks >> 20);
}

/* Recognise pix on the main engine within the page time limit; name is the file
 * the PDF renderer may copy JPEG or PNG data from (NULL: it encodes pix). */
static int ocr_recognise(classify_ocr *o, PIX *pix, size_t i, const char *name)
{
	return TessBaseAPIProcessPage(o->api, pix, (int)i, name, NULL, OCR_PAGE_TIMEOUT_MS, NULL)
		   ? 0
		   : -1;
}

/* *pix turned clockwise by a further delta degrees, replacing it (a 32-bpp A4 page at
 * 300 dpi is 36 MB: never hold two turns of it). -1 if turning failed (*pix then NULL). */
static int ocr_turn_in_place(PIX **pix, int delta)
{
	PIX *t;

	if (delta % 360 == 0)
		return 0;
	t = ocr_turn(*pix, (delta + 360) % 360);
	pixDestroy(pix);
	*pix = t;
	return t != NULL ? 0 : -1;
}

/*
 * Recognise page i into the main engine, upright. *pix is the page as decoded;
 * this takes it over (ocr_clean_page applied, turned in place) and leaves in
 * *pix the image the engine holds (the caller destroys it). pg->rotation is the
 * orientation to try first and becomes the one kept; with osd_done OSD is not
 * asked again. 0, or -1 when a pass failed.
 */
static int ocr_page(classify_ocr *o, const char *log_id, PIX **pix, size_t i, const char *image,
		    int osd_done, struct classify_ocr_page *pg)
{
	PIX *clean;
	int deg = 0, rot2;
	struct ocr_reading rd = {0, 0}, rd2;
	double oc = -1.0;

	clean = ocr_clean_page(log_id, i + 1, *pix, &pg->denoised);
	pixDestroy(pix);
	*pix = clean;
	if (clean == NULL || ocr_turn_in_place(pix, pg->rotation) == -1)
		return -1;
	pg->passes = 1;
	if (ocr_recognise(o, *pix, i, pg->rotation == 0 && !pg->denoised ? image : NULL) == -1)
		return -1;
	if (osd_done || o->osd == NULL || !ocr_reads_badly(o->api, OCR_POOR_CONF, &rd) ||
	    ocr_osd(o, *pix, &deg, &oc) == -1)
		return 0;
	pg->osd_conf = oc;
	log_debug("%s: page %zu reads badly (confidence %d%s); OSD: turned %d degrees, "
		  "confidence %.1f",
		  log_id, i + 1, rd.conf, rd.turned ? ", lines run down" : "", deg, oc);
	if (deg == 0 || oc < OCR_OSD_MIN_CONF)
		return 0;
	rot2 = (pg->rotation + 360 - deg) % 360;
	pg->passes++;
	if (ocr_turn_in_place(pix, rot2 - pg->rotation) == -1 ||
	    ocr_recognise(o, *pix, i, rot2 == 0 && !pg->denoised ? image : NULL) == -1)
		return -1;
	ocr_reads_badly(o->api, OCR_POOR_CONF, &rd2);
	if (ocr_reads_better(&rd2, &rd)) {
		pg->rotation = rot2;
		return 0;
	}
	/* OSD was wrong: read the page as it was again (rare: the engine holds one reading) */
	log_debug("%s: page %zu turned %d degrees reads worse (%d); kept as it was", log_id, i + 1,
		  rot2, rd2.conf);
	pg->passes++;
	if (ocr_turn_in_place(pix, pg->rotation - rot2) == -1 ||
	    ocr_recognise(o, *pix, i, pg->rotation == 0 && !pg->denoised ? image : NULL) == -1)
		return -1;
	return 0;
}

int classify_ocr_run(classify_ocr *o, const char *log_id, const char *image, const char *display,
		     const char *pdf_base, struct classify_ocr_result *res, char *err,
		     size_t errlen)
{
	TessResultRenderer *rend = NULL;
	size_t pages = 1, off = 0, i;
	int is_tiff = 0, rc = CLASSIFY_OCR_FAILED, rotation = 0;
	PIX *pix = NULL;

	if (display == NULL)
		display = image;
	memset(res, 0, sizeof(*res));
	buf_init(&res->text, CLASSIFY_OCR_TEXT_MAX);
	buf_init(&res->top, CLASSIFY_OCR_TEXT_MAX);
	res->osd = o->osd != NULL;
	if ((rc = ocr_check_image(image, display, &is_tiff, &pages, err, errlen)) != 0) {
		o->hint.valid = 0;
		return rc;
	}
	rc = CLASSIFY_OCR_FAILED;
	res->pages_total = pages;
	res->conf = xcalloc(pages, sizeof(*res->conf));
	res->page = xcalloc(pages, sizeof(*res->page));
	if (pdf_base != NULL) {
		if ((rend = TessPDFRendererCreate(pdf_base, TessBaseAPIGetDatapath(o->api), 0)) ==
			NULL ||
		    !TessResultRendererBeginDocument(rend, "mailroom OCR")) {
			ocr_err(err, errlen, "ocr.pdf: cannot start the PDF rendition");
			goto out;
		}
	}
	for (i = 0; i < pages; i++) {
		struct classify_ocr_page *pg = &res->page[i];
		char *txt;
		size_t before;
		int c, osd_done = 0;

		if ((pix = ocr_read_page(image, is_tiff, &off)) == NULL) {
			ocr_decode_err(err, errlen, display, i + 1);
			rc = CLASSIFY_OCR_UNREADABLE;
			goto out;
		}
		if (pixGetXRes(pix) <= 0 || pixGetYRes(pix) <= 0) {
			log_debug("%s: page %zu has no resolution; assuming %d dpi", log_id, i + 1,
				  OCR_DEFAULT_DPI);
			pixSetResolution(pix, OCR_DEFAULT_DPI, OCR_DEFAULT_DPI);
		}
		/* page 1 from the early pass's finding, later pages as the page before */
		pg->rotation = rotation;
		pg->osd_conf = -1.0;
		if (i == 0)
			osd_done = ocr_hint_take(o, image, pg) && pg->osd_conf >= 0.0;
		if (ocr_page(o, log_id, &pix, i, image, osd_done, pg) == -1) {
			ocr_err(err, errlen,
				"%s: page %zu could not be recognised (damaged image or over the "
				"time limit of %d s); rescan the letter",
				display, i + 1, OCR_PAGE_TIMEOUT_MS / 1000);
			rc = CLASSIFY_OCR_UNREADABLE;
			goto out;
		}
		rotation = pg->rotation;
		if (pg->rotation != 0) {
			res->rotated++;
			if (pg->osd_conf >= 0.0)
				log_info("%s: page %zu lies turned: read after turning it %d "
					 "degrees clockwise (OSD confidence %.1f)",
					 log_id, i + 1, pg->rotation, pg->osd_conf);
			else
				log_info("%s: page %zu read turned %d degrees clockwise, like the "
					 "page before",
					 log_id, i + 1, pg->rotation);
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
		log_debug("%s: page %zu: %zu bytes of text, confidence %.0f, %d pass(es)", log_id,
			  i + 1, res->text.len - before, res->conf[i], pg->passes);
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
	o->hint.valid = 0;
	pixDestroy(&pix);
	if (rend != NULL)
		TessDeleteResultRenderer(rend);
	TessBaseAPIClear(o->api);
	ocr_trim(log_id);
	return rc;
}
