/*
 * scan_tiff_test.c - unit tests of the scan.tiff writer (scan/scan_tiff.c): pages
 * of 1, 8 and 16 bits, gray and RGB are written, read back with libtiff and
 * checked pixel by pixel, tag by tag and against their recorded SHA-256; an
 * aborted page must leave no trace; an incomplete page is refused; pages copied
 * from page files strip by strip keep their pixels and digest, pages transcoded
 * and turned by 90/180/270 degrees have their pixels where they belong, and LZW
 * and JPEG pages read back with the digests scan_tiff_file_digests reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "digest.h"
#include "fileio.h"
#include "log.h"
#include "scan_tiff.h"
#include "scan_rotate.h"
#include "tiffpage.h"

static int failures;

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);      \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

struct layout {
	uint32_t w, h;
	int bits, samples;
	double res;
};

static const struct layout layouts[] = {
    {77, 31, 1, 1, 300}, /* width not a multiple of 8 */
    {64, 40, 8, 1, 200}, {33, 20, 8, 3, 150}, {20, 10, 16, 1, 600}, {12, 9, 16, 3, 300},
};
#define NLAYOUTS (sizeof(layouts) / sizeof(layouts[0]))

/* Bytes of one row. */
static size_t row_bytes(const struct layout *l)
{
	return ((size_t)l->w * (size_t)l->bits * (size_t)l->samples + 7) / 8;
}

/* Deterministic test pixels for row y of a page (pad bits of 1-bit rows cleared). */
static void fill_row(const struct layout *l, int page, uint32_t y, unsigned char *row)
{
	size_t i, n = row_bytes(l);

	for (i = 0; i < n; i++)
		row[i] = (unsigned char)(i * 7 + y * 13 + (size_t)page * 29);
	if (l->bits == 1 && l->w % 8 != 0)
		row[l->w / 8] &= (unsigned char)(0xff << (8 - l->w % 8));
}

/* SHA-256 hex of all rows of a page as fill_row makes them. */
static void expect_sha(const struct layout *l, int page, char hex[DIGEST_SHA256_HEX])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char row[4096], d[32];
	unsigned int dl;
	uint32_t y;

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (y = 0; y < l->h; y++) {
		fill_row(l, page, y, row);
		EVP_DigestUpdate(md, row, row_bytes(l));
	}
	EVP_DigestFinal_ex(md, d, &dl);
	EVP_MD_CTX_free(md);
	digest_hex(d, 32, hex);
}

/* Write pages [0, n) of layouts into path; abort_extra starts one more and aborts it. */
static int write_file(const char *path, size_t n, int abort_extra)
{
	struct scan_tiff_meta meta = {"Vendor", "Model 1", "mailroom-scan test", "op-7", "unit"};
	char err[512];
	scan_tiff *t = scan_tiff_create(path, &meta, 64 << 20, err, sizeof(err));
	json_object *settings = json_object_new_object();
	unsigned char row[4096];
	size_t i;
	uint32_t y;

	if (t == NULL) {
		fprintf(stderr, "create: %s\n", err);
		return -1;
	}
	json_object_object_add(settings, "mode", json_object_new_string("Gray"));
	for (i = 0; i < n; i++) {
		const struct layout *l = &layouts[i];
		struct scan_tiff_page pg = {l->w,   i == 1 ? 0 : l->h, l->bits, l->samples, l->res,
					    l->res, SCAN_TIFF_DEFLATE, 0};

		CHECK(scan_tiff_page_begin(t, &pg, settings) == 0);
		CHECK(scan_tiff_row_bytes(t) == row_bytes(l));
		for (y = 0; y < l->h; y++) {
			fill_row(l, (int)i, y, row);
			CHECK(scan_tiff_page_row(t, row) == 0);
		}
		CHECK(scan_tiff_page_end(t) == 0);
	}
	if (abort_extra) {
		struct scan_tiff_page pg = {100, 50, 8, 1, 300, 300, SCAN_TIFF_DEFLATE, 0};

		CHECK(scan_tiff_page_begin(t, &pg, NULL) == 0);
		memset(row, 0x55, sizeof(row));
		for (y = 0; y < 20; y++)
			CHECK(scan_tiff_page_row(t, row) == 0);
		CHECK(scan_tiff_page_abort(t) == 0);
		/* no new page after an abort */
		CHECK(scan_tiff_page_begin(t, &pg, NULL) == -1);
	}
	CHECK(scan_tiff_pages(t) == (int)n);
	CHECK(strcmp(scan_tiff_page_info(t, 0)->compression, "g4") == 0);
	for (i = 0; i < n; i++) {
		char hex[DIGEST_SHA256_HEX];

		expect_sha(&layouts[i], (int)i, hex);
		CHECK(strcmp(scan_tiff_page_info(t, (int)i)->sha256, hex) == 0);
		CHECK(scan_tiff_page_info(t, (int)i)->height == layouts[i].h);
	}
	json_object_put(settings);
	if (scan_tiff_close(t, err, sizeof(err)) == -1) {
		fprintf(stderr, "close: %s\n", err);
		return -1;
	}
	return 0;
}

/* Read path back and check every page against layouts. */
static void check_file(const char *path, size_t n)
{
	struct tiffpage_errs errs = {.tag = "unit"};
	TIFF *tif = tiffpage_open(path, 64 << 20, &errs);
	unsigned char row[4096], want[4096];
	size_t i;

	CHECK(tif != NULL);
	if (tif == NULL)
		return;
	CHECK(TIFFNumberOfDirectories(tif) == n);
	for (i = 0; i < n; i++) {
		const struct layout *l = &layouts[i];
		uint32_t w = 0, h = 0, y;
		uint16_t bps = 0, spp = 0, photo = 0, comp = 0, unit = 0, pn = 99, pt = 99;
		float xr = 0, yr = 0;
		char *s = NULL, hex[DIGEST_SHA256_HEX];
		json_object *desc, *v;

		CHECK(TIFFSetDirectory(tif, (tdir_t)i) == 1);
		TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
		TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
		TIFFGetField(tif, TIFFTAG_BITSPERSAMPLE, &bps);
		TIFFGetField(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
		TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo);
		TIFFGetField(tif, TIFFTAG_COMPRESSION, &comp);
		TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xr);
		TIFFGetField(tif, TIFFTAG_YRESOLUTION, &yr);
		TIFFGetField(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
		TIFFGetField(tif, TIFFTAG_PAGENUMBER, &pn, &pt);
		CHECK(w == l->w && h == l->h);
		CHECK(bps == l->bits && spp == l->samples);
		CHECK(xr == (float)l->res && yr == (float)l->res && unit == RESUNIT_INCH);
		CHECK(pn == i);
		if (l->bits == 1) {
			CHECK(comp == COMPRESSION_CCITTFAX4);
			CHECK(photo == PHOTOMETRIC_MINISWHITE);
		} else {
			CHECK(comp == COMPRESSION_ADOBE_DEFLATE);
			CHECK(photo ==
			      (l->samples == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK));
		}
		CHECK(TIFFGetField(tif, TIFFTAG_MAKE, &s) == 1 && strcmp(s, "Vendor") == 0);
		CHECK(TIFFGetField(tif, TIFFTAG_MODEL, &s) == 1 && strcmp(s, "Model 1") == 0);
		CHECK(TIFFGetField(tif, TIFFTAG_SOFTWARE, &s) == 1 &&
		      strcmp(s, "mailroom-scan test") == 0);
		CHECK(TIFFGetField(tif, TIFFTAG_ARTIST, &s) == 1 && strcmp(s, "op-7") == 0);
		CHECK(TIFFGetField(tif, TIFFTAG_DATETIME, &s) == 1 && strlen(s) == 19);
		for (y = 0; y < l->h; y++) {
			CHECK(TIFFReadScanline(tif, row, y, 0) == 1);
			fill_row(l, (int)i, y, want);
			if (l->bits == 1 && l->w % 8 != 0)
				row[l->w / 8] &= (unsigned char)(0xff << (8 - l->w % 8));
			CHECK(memcmp(row, want, row_bytes(l)) == 0);
		}
		CHECK(TIFFGetField(tif, TIFFTAG_IMAGEDESCRIPTION, &s) == 1);
		desc = json_tokener_parse(s);
		CHECK(desc != NULL);
		expect_sha(l, (int)i, hex);
		CHECK(json_object_object_get_ex(desc, "sha256", &v) &&
		      strcmp(json_object_get_string(v), hex) == 0);
		CHECK(json_object_object_get_ex(desc, "page", &v) &&
		      json_object_get_int(v) == (int)i + 1);
		CHECK(json_object_object_get_ex(desc, "source", &v) &&
		      strcmp(json_object_get_string(v), "unit") == 0);
		CHECK(json_object_object_get_ex(desc, "settings", &v) &&
		      json_object_is_type(v, json_type_object));
		json_object_put(desc);
	}
	TIFFClose(tif);
}

/* An incomplete page (fewer rows than announced) is refused. */
static void check_incomplete(const char *path)
{
	struct scan_tiff_meta meta = {"V", "M", "S", "", "unit"};
	char err[512];
	scan_tiff *t = scan_tiff_create(path, &meta, 0, err, sizeof(err));
	struct scan_tiff_page pg = {16, 10, 8, 1, 300, 300, SCAN_TIFF_DEFLATE, 0};
	unsigned char row[16] = {0};
	int y;

	CHECK(t != NULL);
	if (t == NULL)
		return;
	CHECK(scan_tiff_page_begin(t, &pg, NULL) == 0);
	for (y = 0; y < 5; y++)
		CHECK(scan_tiff_page_row(t, row) == 0);
	CHECK(scan_tiff_page_end(t) == -1);
	CHECK(strstr(scan_tiff_error(t), "incomplete") != NULL);
	scan_tiff_close(t, NULL, 0);
	/* the file must not exist twice: create refuses an existing path */
	CHECK(scan_tiff_create(path, &meta, 0, err, sizeof(err)) == NULL);
}

/* Write page l (fill_row page 0) alone into path; its digest into hex. */
static int page_file(const char *path, const struct layout *l, char hex[SCAN_TIFF_SHA_HEX])
{
	struct scan_tiff_meta meta = {"V", "M", "S", "op", "unit"};
	struct scan_tiff_page pg = {l->w,   l->h,	l->bits,	   l->samples,
				    l->res, l->res / 2, SCAN_TIFF_DEFLATE, 0};
	char err[256];
	unsigned char row[4096];
	scan_tiff *t = scan_tiff_create(path, &meta, 0, err, sizeof(err));
	uint32_t y;

	if (t == NULL)
		return -1;
	CHECK(scan_tiff_page_begin(t, &pg, NULL) == 0);
	for (y = 0; y < l->h; y++) {
		fill_row(l, 0, y, row);
		CHECK(scan_tiff_page_row(t, row) == 0);
	}
	CHECK(scan_tiff_page_end(t) == 0);
	snprintf(hex, SCAN_TIFF_SHA_HEX, "%s", scan_tiff_page_info(t, 0)->sha256);
	return scan_tiff_close(t, err, sizeof(err));
}

/* The page (w x h) of directory dir of path, decoded, into a new buffer. */
static unsigned char *read_page(const char *path, int dir, uint32_t *w, uint32_t *h, float *xr,
				float *yr)
{
	struct tiffpage_errs msg;
	TIFF *tif;
	unsigned char *p;
	uint32_t y;
	tmsize_t sl;

	memset(&msg, 0, sizeof(msg));
	msg.tag = "read_page";
	if ((tif = tiffpage_open(path, 0, &msg)) == NULL || !TIFFSetDirectory(tif, (tdir_t)dir))
		return NULL;
	TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, w);
	TIFFGetField(tif, TIFFTAG_IMAGELENGTH, h);
	TIFFGetField(tif, TIFFTAG_XRESOLUTION, xr);
	TIFFGetField(tif, TIFFTAG_YRESOLUTION, yr);
	sl = TIFFScanlineSize(tif);
	p = malloc((size_t)sl * *h);
	for (y = 0; y < *h; y++)
		TIFFReadScanline(tif, p + (size_t)y * (size_t)sl, y, 0);
	TIFFClose(tif);
	return p;
}

/* Copy and transcode page files into one file and check every page. */
static void check_copy(const char *dir)
{
	struct scan_tiff_meta meta = {"V", "M", "S", "op", "unit"};
	static const int rots[] = {0, 90, 180, 270};
	char src[NLAYOUTS][SCAN_TIFF_SHA_HEX], err[256], hex[2 * NLAYOUTS][SCAN_TIFF_SHA_HEX];
	char *paths[NLAYOUTS], *out = fio_join(dir, "letter.tiff"),
			       *jp = fio_join(dir, "jpeg.tiff");
	scan_tiff *t;
	size_t i;
	int k = 0;

	for (i = 0; i < NLAYOUTS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "page%zu.tiff", i);
		paths[i] = fio_join(dir, name);
		CHECK(page_file(paths[i], &layouts[i], src[i]) == 0);
	}
	t = scan_tiff_create(out, &meta, 0, err, sizeof(err));
	for (i = 0; i < NLAYOUTS; i++) {
		const struct layout *l = &layouts[i];
		struct scan_tiff_page pg = {l->w,   l->h,	l->bits,	   l->samples,
					    l->res, l->res / 2, SCAN_TIFF_DEFLATE, 0};
		int rot = rots[i % 4];

		/* strips copied as they are: the same digest */
		CHECK(scan_tiff_page_copy(t, paths[i], &pg, src[i], NULL) == 0);
		CHECK(strcmp(scan_tiff_page_info(t, k++)->sha256, src[i]) == 0);
		/* decoded, turned, encoded as LZW */
		pg.compression = SCAN_TIFF_LZW;
		CHECK(scan_tiff_page_transcode(t, paths[i], &pg, rot, NULL) == 0);
		CHECK(strcmp(scan_tiff_page_info(t, k)->compression, l->bits == 1 ? "g4" : "lzw") ==
		      0);
		CHECK(rot != 0 || strcmp(scan_tiff_page_info(t, k)->sha256, src[i]) == 0);
		k++;
	}
	for (i = 0; i < (size_t)k; i++)
		snprintf(hex[i], SCAN_TIFF_SHA_HEX, "%s", scan_tiff_page_info(t, (int)i)->sha256);
	CHECK(scan_tiff_close(t, err, sizeof(err)) == 0);
	{
		char(*got)[SCAN_TIFF_SHA_HEX] = calloc((size_t)k, SCAN_TIFF_SHA_HEX);

		/* every digest recorded is the one a reader computes from the file */
		CHECK(scan_tiff_file_digests(out, 0, got, k, err, sizeof(err)) == 0);
		for (i = 0; i < (size_t)k; i++)
			CHECK(strcmp(got[i], hex[i]) == 0);
		CHECK(scan_tiff_file_digests(out, 0, got, k - 1, err, sizeof(err)) == -1);
		free(got);
	}
	/* the turned pages: pixel for pixel what scan_rotate makes of the original */
	for (i = 0; i < NLAYOUTS; i++) {
		const struct layout *l = &layouts[i];
		int rot = rots[i % 4];
		uint32_t w, h, ow, oh, dw, dh;
		float xr, yr, oxr, oyr;
		unsigned char *orig = read_page(out, (int)(2 * i), &ow, &oh, &oxr, &oyr);
		unsigned char *turned = read_page(out, (int)(2 * i + 1), &w, &h, &xr, &yr),
			      *want = NULL;

		CHECK(orig != NULL && turned != NULL && ow == l->w && oh == l->h);
		if (rot == 0) {
			CHECK(memcmp(orig, turned, row_bytes(l) * l->h) == 0);
		} else if (orig != NULL && turned != NULL) {
			CHECK(scan_rotate(orig, ow, oh, l->bits, l->samples, rot, &want, &dw,
					  &dh) == 0);
			CHECK(w == dw && h == dh);
			CHECK(want != NULL &&
			      memcmp(turned, want,
				     scan_rotate_row_bytes(dw, l->bits, l->samples) * dh) == 0);
			CHECK(rot == 180 ? (xr == oxr && yr == oyr) : (xr == oyr && yr == oxr));
		}
		free(want);
		free(orig);
		free(turned);
	}
	/* JPEG: 8-bit pages only (others stay lossless), digests from the file */
	t = scan_tiff_create(jp, &meta, 0, err, sizeof(err));
	k = 0;
	for (i = 0; i < NLAYOUTS; i++) {
		const struct layout *l = &layouts[i];
		struct scan_tiff_page pg = {l->w,   l->h,   l->bits,	    l->samples,
					    l->res, l->res, SCAN_TIFF_JPEG, 75};

		CHECK(scan_tiff_page_transcode(t, paths[i], &pg, 0, NULL) == 0);
		CHECK(strcmp(scan_tiff_page_info(t, k)->compression, l->bits == 8 ? "jpeg"
								     : l->bits == 1
									 ? "g4"
									 : "deflate") == 0);
		CHECK((l->bits == 8) == (scan_tiff_page_info(t, k)->sha256[0] == '\0'));
		k++;
	}
	CHECK(scan_tiff_close(t, err, sizeof(err)) == 0);
	{
		char(*got)[SCAN_TIFF_SHA_HEX] = calloc((size_t)k, SCAN_TIFF_SHA_HEX);

		CHECK(scan_tiff_file_digests(jp, 0, got, k, err, sizeof(err)) == 0);
		/* the lossless pages keep their digest, the JPEG ones get one */
		for (i = 0; i < NLAYOUTS; i++)
			CHECK(layouts[i].bits == 8 ? strlen(got[i]) == 64
						   : strcmp(got[i], src[i]) == 0);
		free(got);
	}
	for (i = 0; i < NLAYOUTS; i++)
		free(paths[i]);
	free(out);
	free(jp);
}

int main(void)
{
	char dir[] = "/tmp/scan_tiff_test.XXXXXX";
	char *a, *b, *c;

	log_init("scan_tiff_test");
	if (mkdtemp(dir) == NULL)
		return 1;
	a = fio_join(dir, "all.tiff");
	b = fio_join(dir, "abort.tiff");
	c = fio_join(dir, "short.tiff");
	CHECK(write_file(a, NLAYOUTS, 0) == 0);
	check_file(a, NLAYOUTS);
	/* two complete pages, a third aborted half way */
	CHECK(write_file(b, 2, 1) == 0);
	check_file(b, 2);
	{
		/* the aborted page left no bytes behind: same size as a clean 2-page file */
		char *c2 = fio_join(dir, "clean2.tiff");
		struct stat s1, s2;

		CHECK(write_file(c2, 2, 0) == 0);
		CHECK(stat(b, &s1) == 0 && stat(c2, &s2) == 0);
		CHECK(s1.st_size == s2.st_size);
		free(c2);
	}
	check_incomplete(c);
	check_copy(dir);
	fio_rmtree(dir);
	free(a);
	free(b);
	free(c);
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("scan_tiff_test: ok\n");
	return 0;
}
