/*
 * classify_ocr_test.c - unit tests of the OCR engine wrapper on rendered pages:
 * page orientation (a German letter turned by 90, 180 and 270 degrees is found
 * turned, read upright in the early and the full pass, and recorded; an upright
 * page costs no OSD and no extra pass), the searchable PDF shows the upright
 * page, grainy pages are median-filtered and clean ones left alone; the early
 * pass reads at a resolution it estimates when the image declares none, reads a
 * small slip whole, and its second look reads the rest of page 1.
 *
 * The page is tests/data/classify/brief.tr rendered like the integration tests
 * do (groff + ghostscript, 300 dpi G4 TIFF); exits 77 (skipped) without groff or
 * gs. Needs tesseract's deu, eng and osd data (scripts/deps.sh).
 */
#include <leptonica/allheaders.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "classify_ocr.h"
#include "fileio.h"
#include "log.h"

static char dir[] = "/tmp/mailroom-ocr-test.XXXXXX";

/* 1 if text contains every word of the NULL-terminated list (reported when not). */
static int has_words(const char *what, const char *text, const char *const *words)
{
	int ok = 1;

	for (; *words != NULL; words++) {
		if (text == NULL || strstr(text, *words) == NULL) {
			fprintf(stderr, "%s: \"%s\" not in the text\n", what, *words);
			ok = 0;
		}
	}
	return ok;
}

/* Write p as a TIFF named name in the test directory; its path (static). */
static const char *write_page(PIX *p, const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (pixWrite(path, p, pixGetDepth(p) == 1 ? IFF_TIFF_G4 : IFF_TIFF_LZW) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
	return path;
}

/* Write p as a PNG named name in the test directory (leptonica writes every TIFF with a
 * resolution, 300 dpi when p has none; a PNG then has none); its path (static). */
static const char *write_png(PIX *p, const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (pixWrite(path, p, IFF_PNG) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
	return path;
}

/* The clockwise turn classify applies to a page scanned turned clockwise by deg. */
static int upright_turn(int deg)
{
	return (360 - deg) % 360;
}

/* "/MediaBox [0 0 W H]" of the first page of a PDF file: 1 portrait, 0 landscape, -1 unknown. */
static int pdf_portrait(const char *path)
{
	FILE *f = fopen(path, "rb");
	char data[1 << 16], *p;
	size_t n;
	double w, h;

	if (f == NULL)
		return -1;
	n = fread(data, 1, sizeof(data) - 1, f);
	fclose(f);
	data[n] = '\0';
	for (p = data; p < data + n; p += strlen(p) + 1) {
		char *m = strstr(p, "/MediaBox");

		if (m != NULL && sscanf(m, "/MediaBox [0 0 %lf %lf]", &w, &h) == 2)
			return h > w;
	}
	return -1;
}

/* The upright page: rotation 0, no OSD, one pass, in both passes. */
static void test_upright(classify_ocr *o, const char *path)
{
	static const char *const words[] = {"Bürgeramt", "Samstag", "Musterstadt", NULL};
	struct classify_ocr_result e, r;
	char err[1024];

	CHECK(classify_ocr_early(o, "upright", path, NULL, &e, err, sizeof(err)) == 0);
	CHECK(e.osd == 1);
	CHECK(e.n_pages == 1 && e.page != NULL);
	if (e.page != NULL) {
		CHECK(e.page[0].rotation == 0);
		CHECK(e.page[0].passes == 1);
		CHECK(e.page[0].osd_conf < 0.0);
		CHECK(e.page[0].denoised == 0);
	}
	CHECK(has_words("upright early", e.text.data, (const char *const[]){"Musterstadt", NULL}));
	classify_ocr_result_free(&e);
	CHECK(classify_ocr_run(o, "upright", path, NULL, NULL, &r, err, sizeof(err)) == 0);
	CHECK(r.n_pages == 1 && r.page != NULL);
	if (r.page != NULL) {
		CHECK(r.page[0].rotation == 0);
		CHECK(r.page[0].passes == 1);
		CHECK(r.page[0].osd_conf < 0.0);
		CHECK(r.page[0].denoised == 0);
	}
	CHECK(r.rotated == 0);
	CHECK(has_words("upright", r.text.data, words));
	classify_ocr_result_free(&r);
}

/*
 * The page scanned turned clockwise by deg: the early pass finds it and reads
 * the top region upright, the full pass starts from that and needs one pass;
 * without the early pass the full pass finds it itself. The PDF is upright.
 */
static void test_turned(classify_ocr *o, PIX *page, int deg)
{
	static const char *const words[] = {"Bürgeramt", "Samstag", "Musterstadt", NULL};
	struct classify_ocr_result e, r;
	char err[1024], name[64], what[64], base[4096], pdf[4200];
	const char *path;
	PIX *t = pixRotateOrth(page, deg / 90);

	snprintf(name, sizeof(name), "rot%d.tif", deg);
	snprintf(what, sizeof(what), "turned %d", deg);
	pixSetResolution(t, 300, 300);
	path = write_page(t, name);
	pixDestroy(&t);

	CHECK(classify_ocr_early(o, what, path, NULL, &e, err, sizeof(err)) == 0);
	if (e.page != NULL) {
		if (e.page[0].rotation != upright_turn(deg))
			fprintf(stderr, "%s early: rotation %d, expected %d\n", what,
				e.page[0].rotation, upright_turn(deg));
		CHECK(e.page[0].rotation == upright_turn(deg));
		CHECK(e.page[0].osd_conf >= 2.0);
		CHECK(e.page[0].passes == 2);
	}
	CHECK(e.rotated == 1);
	CHECK(has_words(what, e.top.data, (const char *const[]){"Musterstadt", NULL}));
	classify_ocr_result_free(&e);

	snprintf(base, sizeof(base), "%s/ocr%d", dir, deg);
	snprintf(pdf, sizeof(pdf), "%s.pdf", base);
	CHECK(classify_ocr_run(o, what, path, NULL, base, &r, err, sizeof(err)) == 0);
	if (r.page != NULL) {
		CHECK(r.page[0].rotation == upright_turn(deg));
		CHECK(r.page[0].passes == 1); /* the early pass's finding is reused */
	}
	CHECK(r.rotated == 1);
	CHECK(has_words(what, r.text.data, words));
	CHECK(has_words(what, r.top.data, (const char *const[]){"Bürgeramt", NULL}));
	CHECK(pdf_portrait(pdf) == 1);
	classify_ocr_result_free(&r);

	/* without the early pass: the full pass finds it (a pass as it lies, OSD, a pass turned) */
	CHECK(classify_ocr_run(o, what, path, NULL, NULL, &r, err, sizeof(err)) == 0);
	if (r.page != NULL) {
		if (r.page[0].rotation != upright_turn(deg))
			fprintf(stderr, "%s full: rotation %d, expected %d\n", what,
				r.page[0].rotation, upright_turn(deg));
		CHECK(r.page[0].rotation == upright_turn(deg));
		CHECK(r.page[0].osd_conf >= 2.0);
		CHECK(r.page[0].passes == 2);
	}
	CHECK(has_words(what, r.text.data, words));
	classify_ocr_result_free(&r);
}

/* A gray page under sigma-30 noise is median-filtered and still read. */
static void test_grainy(classify_ocr *o, PIX *page)
{
	static const char *const words[] = {"Bürgeramt", "Samstag", NULL};
	struct classify_ocr_result r;
	char err[1024];
	PIX *g = pixConvertTo8(page, 0), *n;
	const char *path;

	n = pixAddGaussianNoise(g, 30.0);
	pixSetResolution(n, 300, 300);
	path = write_page(n, "grainy.tif");
	pixDestroy(&g);
	pixDestroy(&n);
	CHECK(classify_ocr_run(o, "grainy", path, NULL, NULL, &r, err, sizeof(err)) == 0);
	if (r.page != NULL) {
		CHECK(r.page[0].denoised == 1);
		CHECK(r.page[0].rotation == 0);
	}
	CHECK(has_words("grainy", r.text.data, words));
	classify_ocr_result_free(&r);
}

/* p (the letter at some resolution) written without one: the early pass estimates
 * a resolution in [lo, hi], reduces to about 120 dpi and reads the letter. */
static void test_early_estimated(classify_ocr *o, PIX *p, const char *name, int lo, int hi)
{
	struct classify_ocr_result e;
	char err[1024];
	const char *path;

	pixSetXRes(p, 0);
	pixSetYRes(p, 0);
	path = write_png(p, name);
	CHECK(classify_ocr_early(o, name, path, NULL, &e, err, sizeof(err)) == 0);
	if (e.early.estimated != 1 || e.early.dpi < lo || e.early.dpi > hi)
		fprintf(stderr, "%s: dpi %d (estimated %d, characters %.0f px), want %d-%d\n", name,
			e.early.dpi, e.early.estimated, e.early.char_px, lo, hi);
	CHECK(e.early.estimated == 1 && e.early.dpi >= lo && e.early.dpi <= hi);
	/* the scale brings the estimate to 120 dpi (at most 1) */
	CHECK(e.early.scale > 0.9 * 120.0 / hi && e.early.scale < 1.1 * 120.0 / lo + 0.01);
	CHECK(has_words(name, e.text.data, (const char *const[]){"Musterstadt", NULL}));
	classify_ocr_early_release(o);
	classify_ocr_result_free(&e);
}

/*
 * What the early pass reads: a 300 dpi page is reduced to 120 dpi and its first look
 * stops at 40 % of the height; the second look reads the rest (a page whose only text
 * is at the bottom); a page without a resolution gets one from its characters (the
 * page at 300 and at 150 dpi; a blank one is taken as 300 dpi); a narrow slip is
 * read whole in the first look.
 */
static void test_early_views(classify_ocr *o, PIX *page)
{
	struct classify_ocr_result e;
	char err[1024];
	const char *path;
	l_int32 w = pixGetWidth(page), h = pixGetHeight(page);
	PIX *p;
	BOX *box;

	/* the letter as rendered: 300 dpi declared */
	path = write_page(page, "views-300.tif");
	CHECK(classify_ocr_early(o, "views 300", path, NULL, &e, err, sizeof(err)) == 0);
	CHECK(e.early.dpi == 300 && e.early.estimated == 0);
	CHECK(e.early.scale > 0.39 && e.early.scale < 0.41);
	CHECK(e.early.top_percent >= 38 && e.early.top_percent <= 42);
	CHECK(classify_ocr_early_has_rest(o) == 1);
	classify_ocr_early_release(o);
	CHECK(classify_ocr_early_has_rest(o) == 0);
	classify_ocr_result_free(&e);

	/* only the bottom of the page has text: the first look finds none, the second does */
	p = pixCreate(w, h, 1);
	pixSetResolution(p, 300, 300);
	pixRasterop(p, 0, h - 1100, w, 1000, PIX_SRC, page, 0, 0);
	path = write_page(p, "views-bottom.tif");
	pixDestroy(&p);
	CHECK(classify_ocr_early(o, "views bottom", path, NULL, &e, err, sizeof(err)) == 0);
	CHECK(e.text.data == NULL || strstr(e.text.data, "Musterstadt") == NULL);
	CHECK(classify_ocr_early_has_rest(o) == 1);
	CHECK(classify_ocr_early_rest(o, "views bottom", &e, err, sizeof(err)) == 0);
	CHECK(e.early.rest == 1);
	CHECK(has_words("views bottom, second look", e.text.data,
			(const char *const[]){"Musterstadt", "Rathausplatz", NULL}));
	CHECK(e.top.data == NULL || strstr(e.top.data, "Musterstadt") == NULL);
	CHECK(classify_ocr_early_has_rest(o) == 0);
	classify_ocr_result_free(&e);

	/* no resolution in the file: estimated from the characters, at 300 and at 150 dpi */
	p = pixCopy(NULL, page);
	test_early_estimated(o, p, "views-nores-300.png", 220, 400);
	pixDestroy(&p);
	p = pixScaleToGray2(page);
	test_early_estimated(o, p, "views-nores-150.png", 110, 200);
	pixDestroy(&p);

	/* nothing to measure (a blank page without a resolution): taken as 300 dpi */
	p = pixCreate(w, h, 1);
	pixSetXRes(p, 0);
	pixSetYRes(p, 0);
	path = write_png(p, "views-blank.png");
	pixDestroy(&p);
	CHECK(classify_ocr_early(o, "views blank", path, NULL, &e, err, sizeof(err)) == 0);
	CHECK(e.early.estimated == 1 && e.early.char_px == 0.0 && e.early.dpi == 300);
	classify_ocr_early_release(o);
	classify_ocr_result_free(&e);

	/* a slip 9 cm wide and 25 cm long: read whole in the first look */
	box = boxCreate(0, 0, 1063, 2953);
	p = pixClipRectangle(page, box, NULL);
	boxDestroy(&box);
	pixSetResolution(p, 300, 300);
	path = write_page(p, "views-slip.tif");
	pixDestroy(&p);
	CHECK(classify_ocr_early(o, "views slip", path, NULL, &e, err, sizeof(err)) == 0);
	CHECK(e.early.top_percent == 100);
	CHECK(classify_ocr_early_has_rest(o) == 0);
	classify_ocr_result_free(&e);
}

int main(int argc, char **argv)
{
	const char *src = getenv("MAILROOM_SOURCE");
	char tr[4096], tif[4096], cmd[12288], err[1024];
	classify_ocr *o;
	PIX *page;
	int rc;

	(void)argc;
	log_init("classify_ocr_test");
	classify_ocr_prepare(argv); /* one OpenMP thread, as in the workers */
	if (src == NULL)
		src = MAILROOM_SOURCE_FALLBACK;
	if (system("command -v groff >/dev/null 2>&1") != 0) {
		fprintf(stderr, "SKIP: groff is absent (scripts/deps.sh installs it)\n");
		return 77;
	}
	if (system("command -v gs >/dev/null 2>&1") != 0) {
		fprintf(stderr, "SKIP: gs (ghostscript) is absent (scripts/deps.sh installs it)\n");
		return 77;
	}
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tr, sizeof(tr), "%s/tests/data/classify/brief.tr", src);
	snprintf(tif, sizeof(tif), "%s/brief.tif", dir);
	snprintf(cmd, sizeof(cmd),
		 "groff -Kutf8 -Tps -dpaper=a4 -P-pa4 '%s' | gs -q -dBATCH -dNOPAUSE -dSAFER "
		 "-sDEVICE=tiffg4 -r300 -sPAPERSIZE=a4 -o '%s' -",
		 tr, tif);
	if (system(cmd) != 0 || (page = pixRead(tif)) == NULL) {
		fprintf(stderr, "cannot render %s\n", tr);
		fio_rmtree(dir);
		return 1;
	}
	pixSetResolution(page, 300, 300);
	if ((o = classify_ocr_open(NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		pixDestroy(&page);
		fio_rmtree(dir);
		return 1;
	}
	test_upright(o, tif);
	test_turned(o, page, 90);
	test_turned(o, page, 180);
	test_turned(o, page, 270);
	test_grainy(o, page);
	test_early_views(o, page);
	classify_ocr_close(o);
	pixDestroy(&page);
	fio_rmtree(dir);
	rc = check_done();
	return rc;
}
