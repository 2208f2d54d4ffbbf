/*
 * scan_import.c - decode imported TIFF, PNG, JPEG and PDF files page by page
 * into scan.tiff; see scan_import.h.
 *
 * Raster formats are read row by row where the format allows it (TIFF strips,
 * non-interlaced PNG, JPEG); the rest (tiled or unusual TIFFs through libtiff's
 * RGBA interface, interlaced PNG, rendered PDF pages) are held as one page at a
 * time, never larger than max_pixels. libpng and libjpeg report errors by
 * longjmp: each decoder runs in a guarded function without locals of its own,
 * all state lives in a context struct.
 */
#include "scan_import.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo.h>
#include <jpeglib.h>
#include <png.h>
#include <poppler.h>

#include "log.h"
#include "tiffpage.h"
#include "xalloc.h"

#define SCAN_PNG_CHUNK_MAX (8u << 20) /* bytes of one PNG chunk (an ICC profile: < 1 MiB) */
#define SCAN_PNG_CHUNK_CACHE 128      /* ancillary chunks (text, sPLT) kept */

/* Ancillary PNG chunks that are never read (5 bytes each: name and NUL). */
static const png_byte scan_png_skip[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT\0eXIf\0hIST\0tIME";

/* Format a reason into err. */
static int scan_import_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int scan_import_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

enum scan_import_kind scan_import_detect(const char *path, char *err, size_t errlen)
{
	unsigned char b[1024];
	ssize_t n;
	size_t i;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		scan_import_fail(err, errlen, "cannot open: %s", strerror(errno));
		return SCAN_IMPORT_UNKNOWN;
	}
	do
		n = read(fd, b, sizeof(b));
	while (n == -1 && errno == EINTR);
	close(fd);
	if (n == -1) {
		scan_import_fail(err, errlen, "cannot read: %s", strerror(errno));
		return SCAN_IMPORT_UNKNOWN;
	}
	if (n == 0) {
		scan_import_fail(err, errlen,
				 "the file is empty (0 bytes): the transfer was probably "
				 "interrupted; get the document again and put it into the import "
				 "folder");
		return SCAN_IMPORT_UNKNOWN;
	}
	if (n >= 4 && ((memcmp(b, "II*\0", 4) == 0 || memcmp(b, "MM\0*", 4) == 0 ||
			memcmp(b, "II+\0", 4) == 0 || memcmp(b, "MM\0+", 4) == 0)))
		return SCAN_IMPORT_TIFF;
	if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
		return SCAN_IMPORT_PNG;
	if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return SCAN_IMPORT_JPEG;
	/* PDF readers accept a header anywhere in the first 1024 bytes */
	for (i = 0; i + 5 <= (size_t)n; i++)
		if (memcmp(b + i, "%PDF-", 5) == 0)
			return SCAN_IMPORT_PDF;
	scan_import_fail(err, errlen,
			 "unsupported file type (not TIFF, PNG, JPEG or PDF by its content): "
			 "convert it to PDF or TIFF and import it again, or print and scan it");
	return SCAN_IMPORT_UNKNOWN;
}

const char *scan_import_ext(enum scan_import_kind k)
{
	switch (k) {
	case SCAN_IMPORT_TIFF:
		return "tif";
	case SCAN_IMPORT_PNG:
		return "png";
	case SCAN_IMPORT_JPEG:
		return "jpg";
	case SCAN_IMPORT_PDF:
		return "pdf";
	default:
		return "bin";
	}
}

const char *scan_import_name(enum scan_import_kind k)
{
	switch (k) {
	case SCAN_IMPORT_TIFF:
		return "tiff";
	case SCAN_IMPORT_PNG:
		return "png";
	case SCAN_IMPORT_JPEG:
		return "jpeg";
	case SCAN_IMPORT_PDF:
		return "pdf";
	default:
		return "unknown";
	}
}

/* -1 with a reason if a page of w x h pixels breaks the pixel limit. */
static int scan_import_check_size(const struct scan_import_limits *lim, int page, double w,
				  double h, char *err, size_t errlen)
{
	if (w < 1 || h < 1)
		return scan_import_fail(err, errlen, "page %d has no pixels (%.0f x %.0f)", page, w,
					h);
	if (w * h > (double)lim->max_pixels || w > 1000000 || h > 1000000)
		return scan_import_fail(
		    err, errlen,
		    "page %d is %.0f x %.0f pixels, more than import.max_pixels "
		    "(%ld): reduce its resolution and import it again, or raise "
		    "the limit in scan.yaml",
		    page, w, h, lim->max_pixels);
	return 0;
}

/* The writer's error as the reason. */
static int scan_import_tiff_err(scan_tiff *t, int page, char *err, size_t errlen)
{
	return scan_import_fail(err, errlen, "page %d: cannot write scan.tiff: %s", page,
				scan_tiff_error(t));
}

/* Invert n bytes of 1-bit or 8-bit data, or n/2 16-bit samples. */
static void scan_import_invert(unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)~p[i];
}

/* ---- TIFF ---- */

/* Resolution of the current directory in dpi (default when absent). */
static void scan_tiff_res(TIFF *tif, long def, double *xres, double *yres)
{
	float x = 0, y = 0;
	uint16_t unit = RESUNIT_INCH;

	TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
	if (!TIFFGetField(tif, TIFFTAG_XRESOLUTION, &x) || x <= 0 || unit == RESUNIT_NONE)
		x = 0;
	if (!TIFFGetField(tif, TIFFTAG_YRESOLUTION, &y) || y <= 0 || unit == RESUNIT_NONE)
		y = x;
	if (unit == RESUNIT_CENTIMETER) {
		x *= 2.54f;
		y *= 2.54f;
	}
	*xres = x > 0 ? x : (double)def;
	*yres = y > 0 ? y : *xres;
}

/* Copy one TIFF page with strips we can take row by row. */
static int scan_tiff_page_rows(TIFF *tif, scan_tiff *t, const struct scan_tiff_page *pg, int invert,
			       int page, char *err, size_t errlen)
{
	tmsize_t sl = TIFFScanlineSize(tif);
	unsigned char *row = NULL;
	uint32_t r;
	int rc = -1;

	if (sl <= 0 || (size_t)sl != scan_tiff_row_bytes(t)) {
		scan_import_fail(err, errlen, "page %d: unexpected row size", page);
		goto out;
	}
	row = xmalloc((size_t)sl);
	for (r = 0; r < pg->height; r++) {
		if (TIFFReadScanline(tif, row, r, 0) != 1) {
			scan_import_fail(err, errlen,
					 "page %d row %u cannot be decoded: the file is damaged; "
					 "get the document again",
					 page, r);
			goto out;
		}
		if (invert)
			scan_import_invert(row, (size_t)sl);
		if (scan_tiff_page_row(t, row) == -1) {
			scan_import_tiff_err(t, page, err, errlen);
			goto out;
		}
	}
	rc = 0;
out:
	free(row);
	return rc;
}

/* Copy any other TIFF page through libtiff's RGBA interface, as 8-bit RGB. */
static int scan_tiff_page_rgba(TIFF *tif, scan_tiff *t, const struct scan_tiff_page *pg, int page,
			       char *err, size_t errlen)
{
	char emsg[1024];
	uint32_t *raster = NULL, x, y;
	unsigned char *row = NULL;
	int rc = -1;

	if (!TIFFRGBAImageOK(tif, emsg)) {
		scan_import_fail(err, errlen,
				 "page %d uses an image layout that cannot be read (%s): convert "
				 "it to PDF and import it again",
				 page, emsg);
		goto out;
	}
	raster = malloc((size_t)pg->width * pg->height * sizeof(*raster));
	if (raster == NULL) {
		scan_import_fail(err, errlen, "page %d: out of memory", page);
		goto out;
	}
	if (!TIFFReadRGBAImageOriented(tif, pg->width, pg->height, raster, ORIENTATION_TOPLEFT,
				       0)) {
		scan_import_fail(err, errlen,
				 "page %d cannot be decoded: the file is damaged; get the "
				 "document again",
				 page);
		goto out;
	}
	row = xmalloc((size_t)pg->width * 3);
	for (y = 0; y < pg->height; y++) {
		const uint32_t *px = raster + (size_t)y * pg->width;

		/* XXX alpha is ignored; documents with transparency are rare here */
		for (x = 0; x < pg->width; x++) {
			row[3 * x] = (unsigned char)TIFFGetR(px[x]);
			row[3 * x + 1] = (unsigned char)TIFFGetG(px[x]);
			row[3 * x + 2] = (unsigned char)TIFFGetB(px[x]);
		}
		if (scan_tiff_page_row(t, row) == -1) {
			scan_import_tiff_err(t, page, err, errlen);
			goto out;
		}
	}
	rc = 0;
out:
	free(row);
	free(raster);
	return rc;
}

/* Every directory of a TIFF file becomes a page. */
static int scan_import_tiff(const char *path, const struct scan_import_limits *lim, scan_tiff *t,
			    json_object *settings, const char *tag, char *err, size_t errlen)
{
	struct tiffpage_errs te;
	TIFF *tif;
	int page = 0, rc = -1;

	memset(&te, 0, sizeof(te));
	te.tag = tag;
	te.quiet = 1; /* foreign files: unknown tags and the like are no news */
	if ((tif = tiffpage_open(path, lim->max_alloc, &te)) == NULL)
		return scan_import_fail(err, errlen,
					"not a readable TIFF file (%s): the file is damaged; get "
					"the document again",
					te.msg);
	do {
		uint32_t w = 0, h = 0;
		uint16_t bps = 1, spp = 1, photo = 0, planar = PLANARCONFIG_CONTIG;
		struct scan_tiff_page pg;
		int fast = 0, invert = 0;

		page++;
		if (page > lim->max_pages) {
			scan_import_fail(
			    err, errlen,
			    "more than import.max_pages (%ld) pages: split the document "
			    "or raise the limit in scan.yaml",
			    lim->max_pages);
			goto out;
		}
		TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
		TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
		TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
		TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
		TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
		if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo))
			photo = bps == 1 ? PHOTOMETRIC_MINISWHITE : PHOTOMETRIC_MINISBLACK;
		if (scan_import_check_size(lim, page, w, h, err, errlen) == -1)
			goto out;
		memset(&pg, 0, sizeof(pg));
		pg.width = w;
		pg.height = h;
		scan_tiff_res(tif, lim->default_dpi, &pg.xres, &pg.yres);
		if (!TIFFIsTiled(tif) && (spp == 1 || planar == PLANARCONFIG_CONTIG)) {
			if (spp == 1 && bps == 1 &&
			    (photo == PHOTOMETRIC_MINISWHITE || photo == PHOTOMETRIC_MINISBLACK)) {
				fast = 1;
				invert = photo == PHOTOMETRIC_MINISBLACK;
			} else if (spp == 1 && (bps == 8 || bps == 16) &&
				   (photo == PHOTOMETRIC_MINISWHITE ||
				    photo == PHOTOMETRIC_MINISBLACK)) {
				fast = 1;
				invert = photo == PHOTOMETRIC_MINISWHITE;
			} else if (spp == 3 && (bps == 8 || bps == 16) &&
				   photo == PHOTOMETRIC_RGB) {
				fast = 1;
			}
		}
		pg.bits = fast ? bps : 8;
		pg.samples = fast ? spp : 3;
		if (scan_tiff_page_begin(t, &pg, settings) == -1) {
			scan_import_tiff_err(t, page, err, errlen);
			goto out;
		}
		if (fast ? scan_tiff_page_rows(tif, t, &pg, invert, page, err, errlen)
			 : scan_tiff_page_rgba(tif, t, &pg, page, err, errlen))
			goto out;
		if (scan_tiff_page_end(t) == -1) {
			scan_import_tiff_err(t, page, err, errlen);
			goto out;
		}
	} while (TIFFReadDirectory(tif) == 1);
	if (te.msg[0] != '\0') {
		scan_import_fail(err, errlen,
				 "the page list after page %d is damaged (%s): get the document "
				 "again",
				 page, te.msg);
		goto out;
	}
	rc = 0;
out:
	TIFFClose(tif);
	return rc;
}

/* ---- PNG ---- */

struct scan_png {
	png_structp png;
	png_infop info;
	FILE *f;
	unsigned char *image; /* interlaced: the whole page */
	png_bytep *rows;
	unsigned char *row;
	const struct scan_import_limits *lim;
	scan_tiff *t;
	json_object *settings;
	const char *tag;
	char msg[256];
	char *err;
	size_t errlen;
};

/* libpng error: keep the message and unwind to the guard. */
static void scan_png_error(png_structp png, png_const_charp msg)
{
	struct scan_png *c = png_get_error_ptr(png);

	snprintf(c->msg, sizeof(c->msg), "%s", msg);
	png_longjmp(png, 1);
}

/* libpng warning: debug log. */
static void scan_png_warning(png_structp png, png_const_charp msg)
{
	struct scan_png *c = png_get_error_ptr(png);

	log_debug("%s: libpng warning: %s", c->tag, msg);
}

/* 1 on a little-endian host (PNG's 16-bit samples are big-endian). */
static int scan_host_le(void)
{
	const uint16_t one = 1;

	return *(const unsigned char *)&one == 1;
}

/* Decode the PNG (runs under the guard; all state in c). */
static int scan_png_body(struct scan_png *c)
{
	png_uint_32 w, h, y, xppu = 0, yppu = 0;
	int depth, color, interlace, unit = 0, keep1 = 0, passes;
	struct scan_tiff_page pg;
	size_t rb;

	png_init_io(c->png, c->f);
	png_set_user_limits(c->png, 1000000, 1000000);
	/* libpng reads a text, ICC or palette chunk whole into memory as long as its
	 * header claims, whatever chunk_malloc_max says (a 2 KiB file claimed a 1.6 GB
	 * tEXt: fuzz/regressions/import): those chunks are skipped, never read, as we
	 * use none of them; the others are bounded */
	png_set_keep_unknown_chunks(c->png, PNG_HANDLE_CHUNK_NEVER, scan_png_skip,
				    (int)(sizeof(scan_png_skip) / 5));
	png_set_chunk_malloc_max(c->png, SCAN_PNG_CHUNK_MAX);
	png_set_chunk_cache_max(c->png, SCAN_PNG_CHUNK_CACHE);
	png_read_info(c->png, c->info);
	png_get_IHDR(c->png, c->info, &w, &h, &depth, &color, &interlace, NULL, NULL);
	if (scan_import_check_size(c->lim, 1, w, h, c->err, c->errlen) == -1)
		return -1;
	if (color == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(c->png);
	if (color == PNG_COLOR_TYPE_GRAY && depth == 1 &&
	    !png_get_valid(c->png, c->info, PNG_INFO_tRNS))
		keep1 = 1; /* bilevel stays bilevel (G4) */
	else if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(c->png);
	if (png_get_valid(c->png, c->info, PNG_INFO_tRNS))
		png_set_tRNS_to_alpha(c->png);
	if ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(c->png, c->info, PNG_INFO_tRNS)) {
		/* transparent parts are paper: composite on white */
		png_color_16 white = {0, 255, 255, 255, 255};

		png_set_strip_16(c->png);
		png_set_background(c->png, &white, PNG_BACKGROUND_GAMMA_SCREEN, 0, 1.0);
	}
	if (depth == 16 && scan_host_le())
		png_set_swap(c->png);
	passes = png_set_interlace_handling(c->png);
	png_read_update_info(c->png, c->info);
	memset(&pg, 0, sizeof(pg));
	if (png_get_pHYs(c->png, c->info, &xppu, &yppu, &unit) && unit == PNG_RESOLUTION_METER &&
	    xppu > 0) {
		pg.xres = floor(xppu * 0.0254 + 0.5);
		pg.yres = yppu > 0 ? floor(yppu * 0.0254 + 0.5) : pg.xres;
	} else {
		pg.xres = pg.yres = (double)c->lim->default_dpi;
	}
	pg.width = w;
	pg.height = h;
	pg.bits = keep1 ? 1 : png_get_bit_depth(c->png, c->info);
	pg.samples = png_get_channels(c->png, c->info);
	if (scan_tiff_page_begin(c->t, &pg, c->settings) == -1)
		return scan_import_tiff_err(c->t, 1, c->err, c->errlen);
	rb = png_get_rowbytes(c->png, c->info);
	if (rb != scan_tiff_row_bytes(c->t))
		return scan_import_fail(c->err, c->errlen, "PNG row layout not supported");
	if (passes > 1) {
		c->image = xmalloc(rb * h);
		c->rows = xmalloc(h * sizeof(*c->rows));
		for (y = 0; y < h; y++)
			c->rows[y] = c->image + (size_t)y * rb;
		png_read_image(c->png, c->rows);
	} else {
		c->row = xmalloc(rb);
	}
	for (y = 0; y < h; y++) {
		unsigned char *r = passes > 1 ? c->rows[y] : c->row;

		if (passes <= 1)
			png_read_row(c->png, r, NULL);
		if (keep1) /* PNG: 0 is black; TIFF MINISWHITE: 1 is black */
			scan_import_invert(r, rb);
		if (scan_tiff_page_row(c->t, r) == -1)
			return scan_import_tiff_err(c->t, 1, c->err, c->errlen);
	}
	png_read_end(c->png, NULL);
	if (scan_tiff_page_end(c->t) == -1)
		return scan_import_tiff_err(c->t, 1, c->err, c->errlen);
	return 0;
}

/* Run scan_png_body with libpng's longjmp caught. */
static int scan_png_guard(struct scan_png *c)
{
	if (setjmp(png_jmpbuf(c->png)))
		return scan_import_fail(c->err, c->errlen,
					"the PNG file is damaged (%s): get the document again",
					c->msg);
	return scan_png_body(c);
}

/* A PNG file is one page. */
static int scan_import_png(const char *path, const struct scan_import_limits *lim, scan_tiff *t,
			   json_object *settings, const char *tag, char *err, size_t errlen)
{
	struct scan_png c;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.lim = lim;
	c.t = t;
	c.settings = settings;
	c.tag = tag;
	c.err = err;
	c.errlen = errlen;
	if ((c.f = fopen(path, "rbe")) == NULL)
		return scan_import_fail(err, errlen, "cannot open: %s", strerror(errno));
	c.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, scan_png_error, scan_png_warning);
	if (c.png == NULL || (c.info = png_create_info_struct(c.png)) == NULL) {
		scan_import_fail(err, errlen, "libpng: out of memory");
		goto out;
	}
	rc = scan_png_guard(&c);
out:
	png_destroy_read_struct(c.png ? &c.png : NULL, c.info ? &c.info : NULL, NULL);
	fclose(c.f);
	free(c.image);
	free(c.rows);
	free(c.row);
	return rc;
}

/* ---- JPEG ---- */

struct scan_jpeg {
	struct jpeg_decompress_struct cinfo;
	struct jpeg_error_mgr jerr;
	jmp_buf jb;
	FILE *f;
	unsigned char *row;
	const struct scan_import_limits *lim;
	scan_tiff *t;
	json_object *settings;
	const char *tag;
	char msg[JMSG_LENGTH_MAX];
	char *err;
	size_t errlen;
};

/* libjpeg fatal error: keep the message and unwind to the guard. */
static void scan_jpeg_error(j_common_ptr cinfo)
{
	struct scan_jpeg *c = (struct scan_jpeg *)cinfo;

	(*cinfo->err->format_message)(cinfo, c->msg);
	longjmp(c->jb, 1);
}

/* libjpeg warnings (corrupt data is a warning to libjpeg, an error to us). */
static void scan_jpeg_message(j_common_ptr cinfo, int level)
{
	struct scan_jpeg *c = (struct scan_jpeg *)cinfo;

	if (level < 0) {
		/* damaged data: libjpeg would fill in gray; we refuse the file */
		(*cinfo->err->format_message)(cinfo, c->msg);
		longjmp(c->jb, 1);
	}
}

/* Decode the JPEG (runs under the guard; all state in c). */
static int scan_jpeg_body(struct scan_jpeg *c)
{
	struct jpeg_decompress_struct *ci = &c->cinfo;
	struct scan_tiff_page pg;
	JSAMPROW rows[1];

	jpeg_stdio_src(ci, c->f);
	jpeg_read_header(ci, TRUE);
	if (scan_import_check_size(c->lim, 1, ci->image_width, ci->image_height, c->err,
				   c->errlen) == -1)
		return -1;
	if (ci->num_components == 1)
		ci->out_color_space = JCS_GRAYSCALE;
	else if (ci->num_components == 3)
		ci->out_color_space = JCS_RGB;
	else
		return scan_import_fail(c->err, c->errlen,
					"CMYK JPEG files are not supported: convert it to RGB "
					"or PDF and import it again");
	jpeg_start_decompress(ci);
	memset(&pg, 0, sizeof(pg));
	pg.width = ci->output_width;
	pg.height = ci->output_height;
	pg.bits = 8;
	pg.samples = ci->output_components;
	if (ci->density_unit == 1 && ci->X_density > 0) {
		pg.xres = ci->X_density;
		pg.yres = ci->Y_density > 0 ? ci->Y_density : ci->X_density;
	} else if (ci->density_unit == 2 && ci->X_density > 0) {
		pg.xres = floor(ci->X_density * 2.54 + 0.5);
		pg.yres = ci->Y_density > 0 ? floor(ci->Y_density * 2.54 + 0.5) : pg.xres;
	} else {
		pg.xres = pg.yres = (double)c->lim->default_dpi;
	}
	if (scan_tiff_page_begin(c->t, &pg, c->settings) == -1)
		return scan_import_tiff_err(c->t, 1, c->err, c->errlen);
	c->row = xmalloc((size_t)pg.width * (size_t)pg.samples);
	rows[0] = c->row;
	while (ci->output_scanline < ci->output_height) {
		if (jpeg_read_scanlines(ci, rows, 1) != 1)
			return scan_import_fail(c->err, c->errlen,
						"the JPEG file ends early: get the document again");
		if (scan_tiff_page_row(c->t, c->row) == -1)
			return scan_import_tiff_err(c->t, 1, c->err, c->errlen);
	}
	jpeg_finish_decompress(ci);
	if (scan_tiff_page_end(c->t) == -1)
		return scan_import_tiff_err(c->t, 1, c->err, c->errlen);
	return 0;
}

/* Run scan_jpeg_body with libjpeg's longjmp caught. */
static int scan_jpeg_guard(struct scan_jpeg *c)
{
	if (setjmp(c->jb))
		return scan_import_fail(c->err, c->errlen,
					"the JPEG file is damaged (%s): get the document again",
					c->msg);
	return scan_jpeg_body(c);
}

/* A JPEG file is one page (decoded losslessly from what it holds; it stays JPEG
 * only in original.jpg). */
static int scan_import_jpeg(const char *path, const struct scan_import_limits *lim, scan_tiff *t,
			    json_object *settings, const char *tag, char *err, size_t errlen)
{
	struct scan_jpeg *c = xcalloc(1, sizeof(*c));
	int rc;

	c->lim = lim;
	c->t = t;
	c->settings = settings;
	c->tag = tag;
	c->err = err;
	c->errlen = errlen;
	if ((c->f = fopen(path, "rbe")) == NULL) {
		free(c);
		return scan_import_fail(err, errlen, "cannot open: %s", strerror(errno));
	}
	c->cinfo.err = jpeg_std_error(&c->jerr);
	c->jerr.error_exit = scan_jpeg_error;
	c->jerr.emit_message = scan_jpeg_message;
	jpeg_create_decompress(&c->cinfo);
	rc = scan_jpeg_guard(c);
	jpeg_destroy_decompress(&c->cinfo);
	fclose(c->f);
	free(c->row);
	free(c);
	return rc;
}

/* ---- PDF ---- */

/* Write a rendered RGB24 surface as one page: gray when every pixel is gray. */
static int scan_pdf_write(cairo_surface_t *s, double dpi, scan_tiff *t, json_object *settings,
			  int page, char *err, size_t errlen)
{
	const unsigned char *data = cairo_image_surface_get_data(s);
	int stride = cairo_image_surface_get_stride(s);
	uint32_t w = (uint32_t)cairo_image_surface_get_width(s);
	uint32_t h = (uint32_t)cairo_image_surface_get_height(s), x, y;
	struct scan_tiff_page pg;
	unsigned char *row = NULL;
	int gray = 1, rc = -1;

	for (y = 0; y < h && gray; y++) {
		const uint32_t *px = (const uint32_t *)(const void *)(data + (size_t)y * stride);

		for (x = 0; x < w; x++) {
			uint32_t v = px[x];

			if (((v >> 16) & 0xff) != (v & 0xff) || ((v >> 8) & 0xff) != (v & 0xff)) {
				gray = 0;
				break;
			}
		}
	}
	memset(&pg, 0, sizeof(pg));
	pg.width = w;
	pg.height = h;
	pg.bits = 8;
	pg.samples = gray ? 1 : 3;
	pg.xres = pg.yres = dpi;
	if (scan_tiff_page_begin(t, &pg, settings) == -1) {
		scan_import_tiff_err(t, page, err, errlen);
		goto out;
	}
	row = xmalloc((size_t)w * 3);
	for (y = 0; y < h; y++) {
		const uint32_t *px = (const uint32_t *)(const void *)(data + (size_t)y * stride);

		for (x = 0; x < w; x++) {
			if (gray) {
				row[x] = (unsigned char)(px[x] & 0xff);
			} else {
				row[3 * x] = (unsigned char)(px[x] >> 16);
				row[3 * x + 1] = (unsigned char)(px[x] >> 8);
				row[3 * x + 2] = (unsigned char)px[x];
			}
		}
		if (scan_tiff_page_row(t, row) == -1) {
			scan_import_tiff_err(t, page, err, errlen);
			goto out;
		}
	}
	if (scan_tiff_page_end(t) == -1) {
		scan_import_tiff_err(t, page, err, errlen);
		goto out;
	}
	rc = 0;
out:
	free(row);
	return rc;
}

/* Every PDF page is rendered at pdf_dpi and becomes a page. */
static int scan_import_pdf(const char *path, const struct scan_import_limits *lim, scan_tiff *t,
			   json_object *settings, char *err, size_t errlen)
{
	PopplerDocument *doc = NULL;
	GError *ge = NULL;
	char *uri = NULL, abs[PATH_MAX];
	int n, i, rc = -1;
	double dpi = (double)lim->pdf_dpi;

	if (realpath(path, abs) == NULL)
		return scan_import_fail(err, errlen, "%s: %s", path, strerror(errno));
	if ((uri = g_filename_to_uri(abs, NULL, &ge)) == NULL) {
		scan_import_fail(err, errlen, "%s", ge ? ge->message : "bad file name");
		goto out;
	}
	if ((doc = poppler_document_new_from_file(uri, NULL, &ge)) == NULL) {
		if (ge != NULL && ge->domain == POPPLER_ERROR &&
		    ge->code == POPPLER_ERROR_ENCRYPTED)
			scan_import_fail(err, errlen,
					 "the PDF is password protected: ask the sender for an "
					 "unprotected copy, or print and scan it");
		else
			scan_import_fail(
			    err, errlen,
			    "the PDF cannot be read (%s): the file is damaged; get the "
			    "document again",
			    ge ? ge->message : "unknown error");
		goto out;
	}
	n = poppler_document_get_n_pages(doc);
	if (n < 1) {
		scan_import_fail(err, errlen, "the PDF has no pages");
		goto out;
	}
	if (n > lim->max_pages) {
		scan_import_fail(err, errlen,
				 "the PDF has %d pages, more than import.max_pages (%ld): split "
				 "it or raise the limit in scan.yaml",
				 n, lim->max_pages);
		goto out;
	}
	for (i = 0; i < n; i++) {
		PopplerPage *p = poppler_document_get_page(doc, i);
		cairo_surface_t *s = NULL;
		cairo_t *cr;
		double wpt = 0, hpt = 0, wpx, hpx;
		int prc;

		if (p == NULL) {
			scan_import_fail(err, errlen, "PDF page %d cannot be read", i + 1);
			goto out;
		}
		poppler_page_get_size(p, &wpt, &hpt);
		wpx = ceil(wpt * dpi / 72.0);
		hpx = ceil(hpt * dpi / 72.0);
		if (scan_import_check_size(lim, i + 1, wpx, hpx, err, errlen) == -1) {
			g_object_unref(p);
			goto out;
		}
		s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)wpx, (int)hpx);
		if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
			cairo_surface_destroy(s);
			g_object_unref(p);
			scan_import_fail(err, errlen, "PDF page %d: out of memory", i + 1);
			goto out;
		}
		cr = cairo_create(s);
		cairo_set_source_rgb(cr, 1, 1, 1); /* the paper */
		cairo_paint(cr);
		cairo_scale(cr, dpi / 72.0, dpi / 72.0);
		/* as printed: what a person would have received on paper */
		poppler_page_render_for_printing(p, cr);
		cairo_destroy(cr);
		cairo_surface_flush(s);
		prc = scan_pdf_write(s, dpi, t, settings, i + 1, err, errlen);
		cairo_surface_destroy(s);
		g_object_unref(p);
		if (prc == -1)
			goto out;
	}
	rc = 0;
out:
	if (ge != NULL)
		g_error_free(ge);
	if (doc != NULL)
		g_object_unref(doc);
	g_free(uri);
	return rc;
}

int scan_import_decode(const char *path, enum scan_import_kind k,
		       const struct scan_import_limits *lim, scan_tiff *t, json_object *settings,
		       const char *tag, char *err, size_t errlen)
{
	switch (k) {
	case SCAN_IMPORT_TIFF:
		return scan_import_tiff(path, lim, t, settings, tag, err, errlen);
	case SCAN_IMPORT_PNG:
		return scan_import_png(path, lim, t, settings, tag, err, errlen);
	case SCAN_IMPORT_JPEG:
		return scan_import_jpeg(path, lim, t, settings, tag, err, errlen);
	case SCAN_IMPORT_PDF:
		return scan_import_pdf(path, lim, t, settings, err, errlen);
	default:
		return scan_import_fail(err, errlen, "unsupported file type");
	}
}

/* ---- signed PDFs ---- */

/* /ByteRange entries in the raw bytes of path (every PDF signature has one). -1 on error. */
static long scan_pdf_byteranges(const char *path)
{
	static const char key[] = "/ByteRange";
	const size_t klen = sizeof(key) - 1;
	char buf[65536 + sizeof(key)];
	size_t keep = 0;
	long n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd == -1)
		return -1;
	for (;;) {
		char *p, *end;

		r = read(fd, buf + keep, sizeof(buf) - keep);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		end = buf + keep + (size_t)r;
		for (p = buf; (size_t)(end - p) >= klen;) {
			char *hit = memchr(p, '/', (size_t)(end - p) - klen + 1);

			if (hit == NULL)
				break;
			if (memcmp(hit, key, klen) == 0) {
				n++;
				p = hit + klen;
			} else {
				p = hit + 1;
			}
		}
		/* the last klen-1 bytes may start a key cut by the buffer's end */
		keep = (size_t)(end - buf) < klen - 1 ? (size_t)(end - buf) : klen - 1;
		memmove(buf, end - keep, keep);
	}
	close(fd);
	return r == -1 ? -1 : n;
}

static const char *scan_pdf_sig_status(PopplerSignatureStatus s)
{
	switch (s) {
	case POPPLER_SIGNATURE_VALID:
		return "valid";
	case POPPLER_SIGNATURE_INVALID:
		return "invalid";
	case POPPLER_SIGNATURE_DIGEST_MISMATCH:
		return "digest-mismatch";
	case POPPLER_SIGNATURE_DECODING_ERROR:
		return "decoding-error";
	case POPPLER_SIGNATURE_NOT_FOUND:
		return "not-found";
	case POPPLER_SIGNATURE_NOT_VERIFIED:
		return "not-verified";
	default:
		return "error";
	}
}

static const char *scan_pdf_cert_status(PopplerCertificateStatus s)
{
	switch (s) {
	case POPPLER_CERTIFICATE_TRUSTED:
		return "trusted";
	case POPPLER_CERTIFICATE_UNTRUSTED_ISSUER:
		return "untrusted-issuer";
	case POPPLER_CERTIFICATE_UNKNOWN_ISSUER:
		return "unknown-issuer";
	case POPPLER_CERTIFICATE_REVOKED:
		return "revoked";
	case POPPLER_CERTIFICATE_EXPIRED:
		return "expired";
	case POPPLER_CERTIFICATE_NOT_VERIFIED:
		return "not-verified";
	default:
		return "error";
	}
}

/* One signature field as JSON, NULL when the field carries no signature. */
static json_object *scan_pdf_sig_field(PopplerFormField *f, int page)
{
	PopplerSignatureInfo *si;
	json_object *o;
	GError *ge = NULL;
	gchar *name;

	si = poppler_form_field_signature_validate_sync(f, 0, NULL, &ge);
	if (ge != NULL)
		g_error_free(ge);
	if (si == NULL)
		return NULL;
	if (poppler_signature_info_get_signature_status(si) == POPPLER_SIGNATURE_NOT_FOUND) {
		poppler_signature_info_free(si); /* an empty field, waiting to be signed */
		return NULL;
	}
	o = json_object_new_object();
	name = poppler_form_field_get_name(f);
	json_object_object_add(o, "field", json_object_new_string(name ? name : ""));
	g_free(name);
	json_object_object_add(o, "page", json_object_new_int(page));
	if (poppler_signature_info_get_signer_name(si) != NULL)
		json_object_object_add(
		    o, "signer", json_object_new_string(poppler_signature_info_get_signer_name(si)));
	{
		GDateTime *t = poppler_signature_info_get_local_signing_time(si);
		gchar *iso = t ? g_date_time_format_iso8601(t) : NULL;

		if (iso != NULL)
			json_object_object_add(o, "time", json_object_new_string(iso));
		g_free(iso);
	}
	json_object_object_add(
	    o, "status",
	    json_object_new_string(
		scan_pdf_sig_status(poppler_signature_info_get_signature_status(si))));
	json_object_object_add(
	    o, "certificate",
	    json_object_new_string(
		scan_pdf_cert_status(poppler_signature_info_get_certificate_status(si))));
	poppler_signature_info_free(si);
	return o;
}

int scan_import_pdf_signatures(const char *path, json_object **out, char *err, size_t errlen)
{
	PopplerDocument *doc;
	GError *ge = NULL;
	char *uri = NULL, abs[PATH_MAX];
	json_object *fields;
	long ranges;
	int n, i;

	*out = NULL;
	if ((ranges = scan_pdf_byteranges(path)) == -1)
		return scan_import_fail(err, errlen, "%s: %s", path, strerror(errno));
	if (realpath(path, abs) == NULL)
		return scan_import_fail(err, errlen, "%s: %s", path, strerror(errno));
	if ((uri = g_filename_to_uri(abs, NULL, &ge)) == NULL) {
		scan_import_fail(err, errlen, "%s", ge ? ge->message : "bad file name");
		g_clear_error(&ge);
		return -1;
	}
	doc = poppler_document_new_from_file(uri, NULL, &ge);
	g_free(uri);
	g_clear_error(&ge);
	fields = json_object_new_array();
	n = doc ? poppler_document_get_n_pages(doc) : 0;
	for (i = 0; i < n; i++) {
		PopplerPage *p = poppler_document_get_page(doc, i);
		GList *map, *l;

		if (p == NULL)
			continue;
		map = poppler_page_get_form_field_mapping(p);
		for (l = map; l != NULL; l = l->next) {
			PopplerFormFieldMapping *m = l->data;
			json_object *o;

			if (m->field == NULL ||
			    poppler_form_field_get_field_type(m->field) !=
				POPPLER_FORM_FIELD_SIGNATURE)
				continue;
			if ((o = scan_pdf_sig_field(m->field, i + 1)) != NULL)
				json_object_array_add(fields, o);
		}
		poppler_page_free_form_field_mapping(map);
		g_object_unref(p);
	}
	if (doc != NULL)
		g_object_unref(doc);
	if (json_object_array_length(fields) == 0 && ranges == 0) {
		json_object_put(fields);
		return 0;
	}
	*out = json_object_new_object();
	json_object_object_add(*out, "signatures",
			       json_object_new_int64((int64_t)(json_object_array_length(fields) >
								       (size_t)ranges
								   ? (long)json_object_array_length(fields)
								   : ranges)));
	json_object_object_add(*out, "byte_ranges", json_object_new_int64(ranges));
	json_object_object_add(*out, "fields", fields);
	return 0;
}
