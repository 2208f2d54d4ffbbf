/*
 * scan_import_test.c - unit tests of the import decoders (scan/scan_import.c):
 * type detection by content, TIFF (multi-page, 1-bit min-is-black inverted to
 * min-is-white, 8-bit gray round trip), PNG (gray, RGBA composited on white,
 * 1-bit), JPEG, PDF (rendered with poppler), the pixel and page limits, and
 * damaged files. The inputs are written here with libtiff, libpng, libjpeg and
 * cairo, so the expected pixels are known.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <jpeglib.h>
#include <json-c/json.h>
#include <png.h>
#include <tiffio.h>

#include "buf.h"
#include "fileio.h"
#include "log.h"
#include "scan_import.h"
#include "scan_tiff.h"
#include "tiffpage.h"

static int failures;

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);      \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static char tmpdir[] = "/tmp/scan_import_test.XXXXXX";
static int seq;
static const struct scan_import_limits lim = {10000000, 50, 72, 300, 64 << 20};

/* A new path in the test directory (caller frees). */
static char *tpath(const char *name)
{
	return fio_join(tmpdir, name);
}

/* Write bytes to a file. */
static void put_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(p, 1, n, f) != n)
		abort();
	fclose(f);
}

/* Decode src into a fresh scan.tiff; returns the writer's page count or -1; err set. */
static int decode(const char *src, enum scan_import_kind k, const struct scan_import_limits *l,
		  char *out_path, size_t outlen, char *err, size_t errlen)
{
	struct scan_tiff_meta meta = {"import", "t", "test", "op", "src"};
	char name[64];
	char *p;
	scan_tiff *t;
	int rc, n;

	snprintf(name, sizeof(name), "out%d.tiff", seq++);
	p = tpath(name);
	snprintf(out_path, outlen, "%s", p);
	free(p);
	if ((t = scan_tiff_create(out_path, &meta, 0, err, errlen)) == NULL)
		return -1;
	rc = scan_import_decode(src, k, l, t, NULL, "test", err, errlen);
	n = scan_tiff_pages(t);
	scan_tiff_close(t, NULL, 0);
	return rc == 0 ? n : -1;
}

/* Open an output TIFF at page i. */
static TIFF *open_page(const char *path, int i)
{
	struct tiffpage_errs e = {.tag = "test"};
	TIFF *tif = tiffpage_open(path, 0, &e);

	if (tif != NULL && TIFFSetDirectory(tif, (tdir_t)i) != 1) {
		TIFFClose(tif);
		return NULL;
	}
	return tif;
}

/* Read row y of the current page (compressed strips are read from their start). */
static int read_row(TIFF *tif, uint32_t y, unsigned char *row)
{
	uint32_t r;

	for (r = 0; r <= y; r++)
		if (TIFFReadScanline(tif, row, r, 0) != 1)
			return 0;
	return 1;
}

/* Fields of the current directory. */
static void page_fields(TIFF *tif, uint32_t *w, uint32_t *h, uint16_t *bps, uint16_t *spp)
{
	TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, w);
	TIFFGetField(tif, TIFFTAG_IMAGELENGTH, h);
	TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, bps);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, spp);
}

static void test_detect(void)
{
	char err[512];
	char *p = tpath("d");

	put_file(p, "", 0);
	CHECK(scan_import_detect(p, err, sizeof(err)) == SCAN_IMPORT_UNKNOWN);
	CHECK(strstr(err, "empty") != NULL);
	put_file(p, "II*\0\0\0\0\0", 8);
	CHECK(scan_import_detect(p, err, sizeof(err)) == SCAN_IMPORT_TIFF);
	put_file(p, "MM\0*\0\0\0\0", 8);
	CHECK(scan_import_detect(p, err, sizeof(err)) == SCAN_IMPORT_TIFF);
	put_file(p, "\x89PNG\r\n\x1a\nxxxx", 12);
	CHECK(scan_import_detect(p, err, sizeof(err)) == SCAN_IMPORT_PNG);
	put_file(p, "\xff\xd8\xff\xe0", 4);
	CHECK(scan_import_detect(p, err, sizeof(err)) == SCAN_IMPORT_JPEG);
	put_file(p, "junk\n%PDF-1.7\n", 14);
	CHECK(scan_import_detect(p, err, sizeof(err)) == SCAN_IMPORT_PDF);
	put_file(p, "Sehr geehrte Damen und Herren", 29);
	CHECK(scan_import_detect(p, err, sizeof(err)) == SCAN_IMPORT_UNKNOWN);
	CHECK(strstr(err, "unsupported") != NULL);
	CHECK(strcmp(scan_import_ext(SCAN_IMPORT_PDF), "pdf") == 0);
	free(p);
}

/* A 3-page TIFF: page 1 1-bit min-is-black, page 2 8-bit gray, page 3 8-bit RGB. */
static void test_tiff(void)
{
	char *p = tpath("in.tif"), out[512], err[512];
	TIFF *tif = TIFFOpen(p, "w");
	unsigned char row[64];
	uint32_t y, w, h;
	uint16_t bps, spp, photo;
	int pg;

	CHECK(tif != NULL);
	for (pg = 0; pg < 3; pg++) {
		int bits = pg == 0 ? 1 : 8, samples = pg == 2 ? 3 : 1;

		TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, 16);
		TIFFSetField(tif, TIFFTAG_IMAGELENGTH, 4);
		TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, bits);
		TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, samples);
		TIFFSetField(tif, TIFFTAG_PHOTOMETRIC,
			     samples == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
		TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
		TIFFSetField(tif, TIFFTAG_COMPRESSION,
			     pg == 1 ? COMPRESSION_LZW : COMPRESSION_NONE);
		TIFFSetField(tif, TIFFTAG_XRESOLUTION, 80.0f); /* per cm: 203.2 dpi */
		TIFFSetField(tif, TIFFTAG_YRESOLUTION, 80.0f);
		TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER);
		for (y = 0; y < 4; y++) {
			memset(row, (int)(y * 40 + 3), sizeof(row));
			TIFFWriteScanline(tif, row, y, 0);
		}
		TIFFWriteDirectory(tif);
	}
	TIFFClose(tif);
	CHECK(scan_import_detect(p, err, sizeof(err)) == SCAN_IMPORT_TIFF);
	CHECK(decode(p, SCAN_IMPORT_TIFF, &lim, out, sizeof(out), err, sizeof(err)) == 3);
	tif = open_page(out, 0);
	CHECK(tif != NULL);
	if (tif != NULL) {
		float xr = 0;

		page_fields(tif, &w, &h, &bps, &spp);
		CHECK(w == 16 && h == 4 && bps == 1 && spp == 1);
		TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo);
		CHECK(photo == PHOTOMETRIC_MINISWHITE);
		TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xr);
		CHECK(xr > 203.1f && xr < 203.3f);
		/* min-is-black input inverted into min-is-white: same picture */
		CHECK(read_row(tif, 1, row));
		CHECK(row[0] == (unsigned char)~43 && row[1] == (unsigned char)~43);
		CHECK(TIFFSetDirectory(tif, 1) == 1);
		page_fields(tif, &w, &h, &bps, &spp);
		CHECK(bps == 8 && spp == 1);
		CHECK(read_row(tif, 2, row) && row[5] == 83);
		CHECK(TIFFSetDirectory(tif, 2) == 1);
		page_fields(tif, &w, &h, &bps, &spp);
		CHECK(bps == 8 && spp == 3);
		CHECK(read_row(tif, 3, row) && row[47] == 123);
		TIFFClose(tif);
	}
	/* the page limit */
	{
		struct scan_import_limits l2 = lim;

		l2.max_pages = 2;
		CHECK(decode(p, SCAN_IMPORT_TIFF, &l2, out, sizeof(out), err, sizeof(err)) == -1);
		CHECK(strstr(err, "max_pages") != NULL);
		l2 = lim;
		l2.max_pixels = 50;
		CHECK(decode(p, SCAN_IMPORT_TIFF, &l2, out, sizeof(out), err, sizeof(err)) == -1);
		CHECK(strstr(err, "max_pixels") != NULL);
	}
	/* damaged: cut in the middle of the image data, and garbage after the header */
	{
		buf b;
		char *q = tpath("cut.tif");

		buf_init(&b, 1 << 20);
		CHECK(fio_read_file(p, 1 << 20, &b) == 0);
		put_file(q, b.data, 40);
		CHECK(decode(q, SCAN_IMPORT_TIFF, &lim, out, sizeof(out), err, sizeof(err)) == -1);
		CHECK(strstr(err, "damaged") != NULL);
		put_file(q, "II*\0\xff\xff\xff\x7fgarbagegarbage", 22);
		CHECK(decode(q, SCAN_IMPORT_TIFF, &lim, out, sizeof(out), err, sizeof(err)) == -1);
		CHECK(strstr(err, "damaged") != NULL);
		buf_free(&b);
		free(q);
	}
	free(p);
}

/* Write a PNG of w x h with the given color type/depth from rows. */
static void write_png(const char *path, uint32_t w, uint32_t h, int color, int depth,
		      unsigned char **rows)
{
	FILE *f = fopen(path, "wb");
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);

	if (f == NULL || png == NULL || info == NULL || setjmp(png_jmpbuf(png)))
		abort();
	png_init_io(png, f);
	png_set_IHDR(png, info, w, h, depth, color, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_set_pHYs(png, info, 11811, 11811, PNG_RESOLUTION_METER); /* 300 dpi */
	png_write_info(png, info);
	png_write_image(png, rows);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	fclose(f);
}

static void test_png(void)
{
	char *p = tpath("in.png"), out[512], err[512];
	unsigned char data[8][32], *rows[8], row[64];
	uint32_t y, w, h;
	uint16_t bps, spp;
	float xr = 0;
	TIFF *tif;
	int x;

	for (y = 0; y < 8; y++) {
		for (x = 0; x < 32; x++)
			data[y][x] = (unsigned char)(y * 8 + (unsigned)x);
		rows[y] = data[y];
	}
	/* 8-bit gray */
	write_png(p, 32, 8, PNG_COLOR_TYPE_GRAY, 8, rows);
	CHECK(decode(p, SCAN_IMPORT_PNG, &lim, out, sizeof(out), err, sizeof(err)) == 1);
	if ((tif = open_page(out, 0)) != NULL) {
		page_fields(tif, &w, &h, &bps, &spp);
		CHECK(w == 32 && h == 8 && bps == 8 && spp == 1);
		TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xr);
		CHECK(xr == 300.0f);
		CHECK(read_row(tif, 3, row) && memcmp(row, data[3], 32) == 0);
		TIFFClose(tif);
	}
	/* RGBA: 8 x 8; alpha 0 becomes white paper, alpha 255 keeps the colour */
	for (y = 0; y < 8; y++)
		for (x = 0; x < 8; x++) {
			data[y][4 * x] = 200;
			data[y][4 * x + 1] = 10;
			data[y][4 * x + 2] = 20;
			data[y][4 * x + 3] = x < 4 ? 0 : 255;
		}
	write_png(p, 8, 8, PNG_COLOR_TYPE_RGB_ALPHA, 8, rows);
	CHECK(decode(p, SCAN_IMPORT_PNG, &lim, out, sizeof(out), err, sizeof(err)) == 1);
	if ((tif = open_page(out, 0)) != NULL) {
		page_fields(tif, &w, &h, &bps, &spp);
		CHECK(w == 8 && h == 8 && bps == 8 && spp == 3);
		CHECK(read_row(tif, 0, row));
		CHECK(row[0] == 255 && row[1] == 255 && row[2] == 255);
		CHECK(row[15] == 200 && row[16] == 10 && row[17] == 20);
		TIFFClose(tif);
	}
	/* 1-bit gray stays bilevel: PNG 0 is black, TIFF min-is-white 1 is black */
	for (y = 0; y < 8; y++)
		data[y][0] = 0x0f, data[y][1] = 0xf0;
	write_png(p, 16, 8, PNG_COLOR_TYPE_GRAY, 1, rows);
	CHECK(decode(p, SCAN_IMPORT_PNG, &lim, out, sizeof(out), err, sizeof(err)) == 1);
	if ((tif = open_page(out, 0)) != NULL) {
		page_fields(tif, &w, &h, &bps, &spp);
		CHECK(bps == 1 && spp == 1);
		CHECK(read_row(tif, 5, row) && row[0] == 0xf0 && row[1] == 0x0f);
		TIFFClose(tif);
	}
	/* truncated */
	{
		buf b;

		buf_init(&b, 1 << 20);
		CHECK(fio_read_file(p, 1 << 20, &b) == 0);
		put_file(p, b.data, b.len / 2);
		buf_free(&b);
		CHECK(decode(p, SCAN_IMPORT_PNG, &lim, out, sizeof(out), err, sizeof(err)) == -1);
		CHECK(strstr(err, "damaged") != NULL);
	}
	free(p);
}

static void test_jpeg(void)
{
	char *p = tpath("in.jpg"), out[512], err[512];
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	unsigned char line[40 * 3], row[40 * 3];
	JSAMPROW r[1] = {line};
	uint32_t w, h;
	uint16_t bps, spp;
	float xr = 0;
	FILE *f = fopen(p, "wb");
	TIFF *tif;
	int y;

	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, f);
	c.image_width = 40;
	c.image_height = 24;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	c.density_unit = 1;
	c.X_density = c.Y_density = 150;
	jpeg_set_quality(&c, 95, TRUE);
	jpeg_start_compress(&c, TRUE);
	memset(line, 128, sizeof(line));
	for (y = 0; y < 24; y++)
		jpeg_write_scanlines(&c, r, 1);
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	fclose(f);
	CHECK(decode(p, SCAN_IMPORT_JPEG, &lim, out, sizeof(out), err, sizeof(err)) == 1);
	if ((tif = open_page(out, 0)) != NULL) {
		page_fields(tif, &w, &h, &bps, &spp);
		CHECK(w == 40 && h == 24 && bps == 8 && spp == 3);
		TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xr);
		CHECK(xr == 150.0f);
		CHECK(read_row(tif, 10, row) && row[30] > 120 && row[30] < 136);
		TIFFClose(tif);
	}
	put_file(p, "\xff\xd8\xff\xe0\x00\x10JFIF\0", 11);
	CHECK(decode(p, SCAN_IMPORT_JPEG, &lim, out, sizeof(out), err, sizeof(err)) == -1);
	CHECK(strstr(err, "damaged") != NULL);
	free(p);
}

static void test_pdf(void)
{
	char *p = tpath("in.pdf"), out[512], err[512];
	cairo_surface_t *s = cairo_pdf_surface_create(p, 144, 72); /* 2 x 1 inch */
	cairo_t *cr = cairo_create(s);
	unsigned char row[1024];
	uint32_t w, h;
	uint16_t bps, spp;
	TIFF *tif;

	/* page 1: black square at the left; page 2: red */
	cairo_set_source_rgb(cr, 0, 0, 0);
	cairo_rectangle(cr, 0, 0, 36, 72);
	cairo_fill(cr);
	cairo_show_page(cr);
	cairo_set_source_rgb(cr, 1, 0, 0);
	cairo_rectangle(cr, 0, 0, 36, 72);
	cairo_fill(cr);
	cairo_show_page(cr);
	cairo_destroy(cr);
	cairo_surface_destroy(s);
	CHECK(scan_import_detect(p, err, sizeof(err)) == SCAN_IMPORT_PDF);
	CHECK(decode(p, SCAN_IMPORT_PDF, &lim, out, sizeof(out), err, sizeof(err)) == 2);
	if ((tif = open_page(out, 0)) != NULL) {
		page_fields(tif, &w, &h, &bps, &spp);
		CHECK(w == 144 && h == 72 && bps == 8 && spp == 1); /* 72 dpi, gray */
		CHECK(read_row(tif, 36, row) && row[10] < 16 && row[100] > 240);
		CHECK(TIFFSetDirectory(tif, 1) == 1);
		page_fields(tif, &w, &h, &bps, &spp);
		CHECK(spp == 3); /* colour page */
		CHECK(read_row(tif, 36, row) && row[30] > 240 && row[31] < 16);
		TIFFClose(tif);
	}
	put_file(p, "%PDF-1.4\nbroken", 15);
	CHECK(decode(p, SCAN_IMPORT_PDF, &lim, out, sizeof(out), err, sizeof(err)) == -1);
	CHECK(strstr(err, "PDF") != NULL);
	free(p);
}

int main(void)
{
	log_init("scan_import_test");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	test_detect();
	test_tiff();
	test_png();
	test_jpeg();
	test_pdf();
	fio_rmtree(tmpdir);
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("scan_import_test: ok\n");
	return 0;
}
