/*
 * tool_sheets.c - `mailroom sheets`: separator sheets to print (see tool_sheets.h).
 *
 * Each sheet is an A4 page: the words "TRENNBLATT - nicht scannen als Dokument",
 * a QR code with the separator payload (scan_sep_format: batch, sequence number,
 * optionally the document type and office the next document is preset to), and
 * the same in words: the number large, the batch, type and office by name. The
 * QR code has error correction level M and modules of 12 dots at 300 dpi (1 mm),
 * so it survives a copier, a crease and a scan at 100 dpi. Output: --png DIR,
 * one 8-bit gray PNG per sheet at 300 dpi (pHYs set), named
 * trennblatt-<batch>-<number>.png; or --pdf FILE, one page per sheet, the code as
 * vector squares. Files are written whole or not at all (fio_write_atomic).
 *
 * The document type must be one of conf/scankonzept.yaml (and one that is
 * scanned), the office one of conf/offices.yaml: a sheet never carries a preset
 * the pipeline does not know.
 */
#include "tool_sheets.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <png.h>
#include <qrencode.h>

#include "buf.h"
#include "fileio.h"
#include "log.h"
#include "scan_sep.h"
#include "tool.h"
#include "xalloc.h"

#define SH_DPI 300
#define SH_W 2480 /* A4 in dots at 300 dpi */
#define SH_H 3508
#define SH_MODULE 12	  /* dots per QR module (1.016 mm) */
#define SH_QR_TOP 780	  /* dots from the top edge (66 mm) */
#define SH_MAX_COUNT 1000 /* sheets per run */
#define SH_MAX_FILE (256u << 20)
#define SH_FONT "DejaVu Sans"
#define SH_MONO "DejaVu Sans Mono"

/* What one sheet shows besides the code. */
struct sh_sheet {
	const char *batch;
	long number;
	const char *type_id, *type_name;     /* NULL: no preset */
	const char *office_id, *office_name; /* NULL: no preset */
	const char *payload;
};

/* Text centred at x on the baseline y (dots); size in points. */
static void sh_text(cairo_t *cr, double x, double y, const char *font, int bold, double pt,
		    const char *s)
{
	cairo_text_extents_t e;

	cairo_select_font_face(cr, font, CAIRO_FONT_SLANT_NORMAL,
			       bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, pt * SH_DPI / 72.0);
	cairo_text_extents(cr, s, &e);
	cairo_move_to(cr, x - (e.width / 2 + e.x_bearing), y);
	cairo_show_text(cr, s);
}

/* Draw one sheet in dots (the caller scales to its surface). */
static void sh_draw(cairo_t *cr, const QRcode *q, const struct sh_sheet *s)
{
	double size = (double)q->width * SH_MODULE,
	       x0 = (double)((SH_W - q->width * SH_MODULE) / 2), y0 = SH_QR_TOP, y;
	char line[256];
	int x, yy;

	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_set_source_rgb(cr, 0, 0, 0);
	sh_text(cr, SH_W / 2.0, 420, SH_FONT, 1, 54, "TRENNBLATT");
	sh_text(cr, SH_W / 2.0, 560, SH_FONT, 0, 20,
		"\xe2\x80\x93 nicht scannen als Dokument \xe2\x80\x93");
	for (yy = 0; yy < q->width; yy++)
		for (x = 0; x < q->width; x++)
			if (q->data[yy * q->width + x] & 1)
				cairo_rectangle(cr, x0 + x * SH_MODULE, y0 + yy * SH_MODULE,
						SH_MODULE, SH_MODULE);
	cairo_fill(cr);
	y = y0 + size + 330;
	snprintf(line, sizeof(line), "Nr. %ld", s->number);
	sh_text(cr, SH_W / 2.0, y, SH_FONT, 1, 60, line);
	y += 200;
	snprintf(line, sizeof(line), "Stapel %s", s->batch);
	sh_text(cr, SH_W / 2.0, y, SH_FONT, 0, 18, line);
	if (s->type_id != NULL) {
		y += 110;
		snprintf(line, sizeof(line), "Dokumenttyp: %s (%s)", s->type_name, s->type_id);
		sh_text(cr, SH_W / 2.0, y, SH_FONT, 0, 18, line);
	}
	if (s->office_id != NULL) {
		y += 110;
		snprintf(line, sizeof(line), "Amt: %s (%s)", s->office_name, s->office_id);
		sh_text(cr, SH_W / 2.0, y, SH_FONT, 0, 18, line);
	}
	sh_text(cr, SH_W / 2.0, SH_H - 420, SH_FONT, 0, 11,
		"Vor jedes Dokument ein Trennblatt legen, in der Reihenfolge der Nummern.");
	sh_text(cr, SH_W / 2.0, SH_H - 350, SH_FONT, 0, 11,
		"Das Trennblatt wird beim Scannen erkannt und nicht Teil des Dokuments.");
	sh_text(cr, SH_W / 2.0, SH_H - 230, SH_MONO, 0, 8, s->payload);
}

/* libpng and cairo write into a buf. */
static void sh_png_write(png_structp png, png_bytep data, png_size_t n)
{
	if (buf_add(png_get_io_ptr(png), data, n) == -1)
		png_error(png, "too large");
}

static void sh_png_flush(png_structp png)
{
	(void)png;
}

static cairo_status_t sh_cairo_write(void *closure, const unsigned char *data, unsigned int n)
{
	return buf_add(closure, data, n) == -1 ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

/* The image surface as an 8-bit gray PNG at 300 dpi into out. 0 or -1. */
static int sh_png(cairo_surface_t *sf, buf *out)
{
	const unsigned char *data = cairo_image_surface_get_data(sf);
	int stride = cairo_image_surface_get_stride(sf), y, x, rc = -1;
	png_structp png = NULL;
	png_infop info = NULL;
	unsigned char *row = xmalloc(SH_W);

	cairo_surface_flush(sf);
	if ((png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL)) == NULL ||
	    (info = png_create_info_struct(png)) == NULL)
		goto out;
	if (setjmp(png_jmpbuf(png)))
		goto out;
	png_set_write_fn(png, out, sh_png_write, sh_png_flush);
	png_set_IHDR(png, info, SH_W, SH_H, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_set_pHYs(png, info, 11811, 11811, PNG_RESOLUTION_METER); /* 300 dpi */
	png_write_info(png, info);
	for (y = 0; y < SH_H; y++) {
		const uint32_t *px = (const uint32_t *)(data + (size_t)y * (size_t)stride);

		for (x = 0; x < SH_W; x++)
			row[x] = (unsigned char)((px[x] >> 8) & 0xff); /* green of xRGB */
		png_write_row(png, row);
	}
	png_write_end(png, info);
	rc = 0;
out:
	png_destroy_write_struct(&png, &info);
	free(row);
	return rc;
}

/* A new id for a batch of sheets: date, time and 4 random hex digits. */
static void sh_batch_id(char *out, size_t outlen)
{
	unsigned char r[2] = {0, 0};
	time_t now = time(NULL);
	struct tm tm;
	FILE *f = fopen("/dev/urandom", "rb");
	char ts[16];

	if (f != NULL) {
		if (fread(r, 1, sizeof(r), f) != sizeof(r))
			r[0] = r[1] = 0;
		fclose(f);
	}
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%d-%H%M%S", &tm);
	snprintf(out, outlen, "%s-%02x%02x", ts, r[0], r[1]);
}

int tool_sheets_run(const struct tool_sheets_opts *o)
{
	struct tool_types types;
	const struct tool_type *ty = NULL;
	const struct office *of = NULL;
	offices offs;
	settings set;
	conf_err ce;
	char batch[SCAN_SEP_FIELD_MAX + 1], payload[SCAN_SEP_MAX + 1], err[512];
	cairo_surface_t *pdf = NULL;
	cairo_t *pcr = NULL;
	buf pdfbuf;
	long count = o->count > 0 ? o->count : 1, start = o->start > 0 ? o->start : 1, i;
	int rc = EX_SOFTWARE, have_types = 0, have_offices = 0;

	memset(&set, 0, sizeof(set));
	buf_init(&pdfbuf, SH_MAX_FILE);
	if ((o->png == NULL) == (o->pdf == NULL)) {
		log_errorx("mailroom sheets: give either --png DIR or --pdf FILE");
		return EX_USAGE;
	}
	if (o->count < 0 || count > SH_MAX_COUNT || o->start < 0 ||
	    start > SCAN_SEP_SHEET_MAX - count + 1) {
		log_errorx(
		    "mailroom sheets: --count 1 to %d, --start 1 to %ld (sheet numbers up to "
		    "%ld)",
		    SH_MAX_COUNT, SCAN_SEP_SHEET_MAX, SCAN_SEP_SHEET_MAX);
		return EX_USAGE;
	}
	if (o->batch != NULL) {
		if (!scan_sep_valid_id(o->batch)) {
			log_errorx("mailroom sheets: --batch '%.40s': 1 to %d of A-Z a-z 0-9 - _",
				   o->batch, SCAN_SEP_FIELD_MAX);
			return EX_USAGE;
		}
		snprintf(batch, sizeof(batch), "%s", o->batch);
	} else {
		sh_batch_id(batch, sizeof(batch));
	}
	if (settings_load(o->conf_dir, &set, &ce) == -1) {
		log_errorx("configuration: %s", ce.msg);
		return EX_CONFIG;
	}
	if (o->type != NULL) {
		if (tool_types_load(set.conf_dir, &types, &ce) == -1) {
			log_errorx("scankonzept.yaml: %s", ce.msg);
			rc = EX_CONFIG;
			goto out;
		}
		have_types = 1;
		if ((ty = tool_types_find(&types, o->type)) == NULL) {
			log_errorx("mailroom sheets: --type '%.40s' is not a document type of "
				   "conf/scankonzept.yaml",
				   o->type);
			rc = EX_CONFIG;
			goto out;
		}
		if (strcmp(ty->scan_mode, "nicht_scannen") == 0) {
			log_errorx("mailroom sheets: documents of type '%s' are not scanned "
				   "(scan_mode nicht_scannen): no separator sheet for them",
				   ty->id);
			rc = EX_CONFIG;
			goto out;
		}
		if (!scan_sep_valid_name(ty->id)) {
			log_errorx("mailroom sheets: type id '%.40s' cannot be put on a separator "
				   "(1 to %d of a-z 0-9 - _)",
				   ty->id, SCAN_SEP_FIELD_MAX);
			rc = EX_CONFIG;
			goto out;
		}
	}
	if (o->office != NULL) {
		if (offices_load(set.conf_dir, &offs, &ce) == -1) {
			log_errorx("offices.yaml: %s", ce.msg);
			rc = EX_CONFIG;
			goto out;
		}
		have_offices = 1;
		if ((of = offices_find(&offs, o->office)) == NULL) {
			log_errorx("mailroom sheets: --office '%.40s' is not an office of "
				   "conf/offices.yaml",
				   o->office);
			rc = EX_CONFIG;
			goto out;
		}
		if (!scan_sep_valid_name(of->id)) {
			log_errorx(
			    "mailroom sheets: office id '%.40s' cannot be put on a separator",
			    of->id);
			rc = EX_CONFIG;
			goto out;
		}
	}
	if (o->png != NULL && fio_mkdirs(o->png, 0755) == -1) {
		log_error("mailroom sheets: cannot create %s", o->png);
		rc = EX_CANTCREAT;
		goto out;
	}
	if (o->pdf != NULL) {
		pdf = cairo_pdf_surface_create_for_stream(
		    sh_cairo_write, &pdfbuf, SH_W * 72.0 / SH_DPI, SH_H * 72.0 / SH_DPI);
		pcr = cairo_create(pdf);
		cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_TITLE, "Trennblätter");
		cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_CREATOR,
					       "mailroom sheets " MAILROOM_VERSION);
		cairo_scale(pcr, 72.0 / SH_DPI, 72.0 / SH_DPI);
	}
	for (i = start; i < start + count; i++) {
		struct scan_sep sp;
		struct sh_sheet sh;
		QRcode *q;

		memset(&sp, 0, sizeof(sp));
		snprintf(sp.batch, sizeof(sp.batch), "%s", batch);
		sp.sheet = i;
		if (ty != NULL)
			snprintf(sp.type, sizeof(sp.type), "%s", ty->id);
		if (of != NULL)
			snprintf(sp.office, sizeof(sp.office), "%s", of->id);
		if (scan_sep_format(&sp, payload, sizeof(payload), err, sizeof(err)) == -1) {
			log_errorx("mailroom sheets: %s", err);
			rc = EX_SOFTWARE;
			goto out;
		}
		if ((q = QRcode_encodeString8bit(payload, 0, QR_ECLEVEL_M)) == NULL) {
			log_error("mailroom sheets: libqrencode cannot encode '%s'", payload);
			rc = EX_SOFTWARE;
			goto out;
		}
		memset(&sh, 0, sizeof(sh));
		sh.batch = batch;
		sh.number = i;
		sh.payload = payload;
		if (ty != NULL) {
			sh.type_id = ty->id;
			sh.type_name = ty->name;
		}
		if (of != NULL) {
			sh.office_id = of->id;
			sh.office_name = of->name;
		}
		if (pcr != NULL) {
			sh_draw(pcr, q, &sh);
			cairo_show_page(pcr);
		} else {
			cairo_surface_t *sf =
			    cairo_image_surface_create(CAIRO_FORMAT_RGB24, SH_W, SH_H);
			cairo_t *cr = cairo_create(sf);
			char name[128], *path;
			buf pb;
			int bad;

			sh_draw(cr, q, &sh);
			buf_init(&pb, SH_MAX_FILE);
			bad = cairo_status(cr) != CAIRO_STATUS_SUCCESS || sh_png(sf, &pb) == -1;
			cairo_destroy(cr);
			cairo_surface_destroy(sf);
			snprintf(name, sizeof(name), "trennblatt-%s-%06ld.png", batch, i);
			path = fio_join(o->png, name);
			if (bad || fio_write_atomic(path, pb.data, pb.len, 0644) == -1) {
				log_error("mailroom sheets: cannot write %s", path);
				free(path);
				buf_free(&pb);
				QRcode_free(q);
				rc = EX_CANTCREAT;
				goto out;
			}
			free(path);
			buf_free(&pb);
		}
		QRcode_free(q);
	}
	if (pcr != NULL) {
		cairo_status_t st = cairo_status(pcr);

		cairo_destroy(pcr);
		pcr = NULL;
		cairo_surface_finish(pdf);
		if (st != CAIRO_STATUS_SUCCESS ||
		    cairo_surface_status(pdf) != CAIRO_STATUS_SUCCESS ||
		    fio_write_atomic(o->pdf, pdfbuf.data, pdfbuf.len, 0644) == -1) {
			log_error("mailroom sheets: cannot write %s", o->pdf);
			rc = EX_CANTCREAT;
			goto out;
		}
	}
	printf("batch %s: separator sheets %ld-%ld%s%s%s%s -> %s\n", batch, start,
	       start + count - 1, ty ? ", type " : "", ty ? ty->id : "", of ? ", office " : "",
	       of ? of->id : "", o->png ? o->png : o->pdf);
	rc = EX_OK;
out:
	if (pcr != NULL)
		cairo_destroy(pcr);
	if (pdf != NULL)
		cairo_surface_destroy(pdf);
	buf_free(&pdfbuf);
	if (have_types)
		tool_types_free(&types);
	if (have_offices)
		offices_free(&offs);
	settings_free(&set);
	/* cairo's and fontconfig's caches live until exit: free them, so that leak
	 * checkers see only what is ours */
	cairo_debug_reset_static_data();
	FcFini();
	return rc;
}
