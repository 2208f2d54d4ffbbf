/*
 * scan_profile_test.c - unit tests of scan.yaml loading (scan/scan_profile.c): the
 * shipped conf/scan.yaml loads with its profiles; JBIG2, G4 for gray, JPEG for
 * bilevel and 16-bit pages, an odd page count with duplex and bad blank thresholds
 * are refused with file:line; the synonym tables of scan_sane.c (sources, modes,
 * page sizes), the sheet option syntax, and the blank score of scan_page.c on
 * white, speckled, black and text-like pages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <leptonica/allheaders.h>

#include "check.h"
#include "fileio.h"
#include "log.h"
#include "scan_device.h"
#include "scan_page.h"
#include "scan_profile.h"

static char dir[] = "/tmp/scan_profile_test.XXXXXX";
static settings set;

/* Load a scan.yaml with text; 0 or -1 with e. */
static int load(const char *text, struct scan_conf *sc, conf_err *e)
{
	char *p = fio_join(dir, "scan.yaml");
	FILE *f = fopen(p, "w");

	fputs(text, f);
	fclose(f);
	free(p);
	return scan_conf_load(dir, &set, sc, e);
}

/* 1 if loading text fails with a message containing want and a file:line. */
static int refused(const char *text, const char *want)
{
	struct scan_conf sc;
	conf_err e;
	int ok;

	memset(&e, 0, sizeof(e));
	ok = load(text, &sc, &e) == -1 && strstr(e.msg, want) != NULL &&
	     strstr(e.msg, "scan.yaml:") != NULL;
	if (!ok)
		fprintf(stderr, "not refused as expected (%s): %s\n", want, e.msg);
	scan_conf_free(&sc);
	return ok;
}

static void test_shipped(void)
{
	struct scan_conf sc;
	struct scan_batch_cfg bc;
	const struct scan_profile *p;
	conf_err e;

	{
		char *conf = fio_join(getenv("MAILROOM_SOURCE"), "conf");

		memset(&e, 0, sizeof(e));
		CHECK(scan_conf_load(conf, &set, &sc, &e) == 0);
		if (e.msg[0])
			fprintf(stderr, "%s\n", e.msg);
		free(conf);
	}
	CHECK((p = scan_profile_find(&sc, "brief")) != NULL);
	if (p != NULL) {
		CHECK(p->compression == SCAN_TIFF_JPEG && p->quality == 90);
		CHECK(scan_sane_source_class(p->source) == SCAN_SANE_SRC_DUPLEX);
		CHECK(p->sep.mode == SCAN_SEP_SEPARATOR && p->sep.max_document_pages == 50);
		CHECK(p->page_w == 210 && p->page_h == 297);
		memset(&bc, 0, sizeof(bc));
		CHECK(scan_profile_apply(&sc, p, &bc) == 0);
		CHECK_STR(bc.rq.mode, "Color");
		CHECK(bc.rq.given & SCAN_SANE_GIVEN_SOURCE);
		CHECK(bc.page.blank_drop > 0 && bc.page.blank_flag >= bc.page.blank_drop);
	}
	CHECK((p = scan_profile_find(&sc, "einzelblatt")) != NULL &&
	      p->sep.mode == SCAN_SEP_PAGES && p->sep.pages == 1);
	CHECK(scan_profile_find(&sc, "nosuch") == NULL);
	CHECK(strstr(scan_profile_names(&sc), "kopie") != NULL);
	/* without a profile: defaults: and batch: */
	memset(&bc, 0, sizeof(bc));
	CHECK(scan_profile_apply(&sc, NULL, &bc) == 0);
	CHECK(bc.rq.given == 0 && bc.sep.mode == SCAN_SEP_SEPARATOR && bc.max_pages == 500);
	scan_conf_free(&sc);
}

static void test_refused(void)
{
	struct scan_conf sc;
	conf_err e;

	/* positive control: a small valid file */
	CHECK(load("profiles:\n  a:\n    mode: Lineart\n    compression: g4\n"
		   "  b:\n    mode: Gray\n    depth: 8\n    compression: jpeg\n"
		   "    jpeg_quality: 70\n    separation: pages:3\n",
		   &sc, &e) == 0);
	CHECK(sc.nprofiles == 2 && sc.profiles[1].quality == 70);
	scan_conf_free(&sc);
	CHECK(refused("profiles:\n  a:\n    compression: jbig2\n", "TR-03138 A.SC.12"));
	CHECK(refused("batch:\n  compression: JBIG2\n", "not allowed"));
	CHECK(refused("profiles:\n  a:\n    mode: Gray\n    depth: 8\n    compression: g4\n",
		      "for bilevel pages"));
	CHECK(refused("profiles:\n  a:\n    mode: Lineart\n    compression: jpeg\n",
		      "cannot hold bilevel"));
	CHECK(refused("profiles:\n  a:\n    mode: Color\n    depth: 16\n    compression: jpeg\n",
		      "8-bit pages only"));
	CHECK(refused("profiles:\n  a:\n    source: ADF Duplex\n    separation: pages:3\n",
		      "even number"));
	CHECK(refused("profiles:\n  a:\n    blank:\n      drop: 0.2\n      flag: 0.1\n",
		      "must not be below drop"));
	CHECK(refused("profiles:\n  a:\n    separation: qr\n", "expected separator"));
	CHECK(refused("profiles:\n  a:\n    mode: Sepia\n", "not a scan mode"));
	CHECK(refused("profiles:\n  a:\n    colour: yes\n", "colour"));
	CHECK(refused("profiles:\n  a:\n    page_size: B0\n", "page_size"));
	CHECK(refused("capture:\n  on_fault: retry\n", "on_fault"));
}

static void test_synonyms(void)
{
	double w, h;
	struct scan_device_sheetopt o;
	char err[256];

	CHECK(scan_sane_source_class("Flatbed") == SCAN_SANE_SRC_FLATBED);
	CHECK(scan_sane_source_class("FlatBed") == SCAN_SANE_SRC_FLATBED);
	CHECK(scan_sane_source_class("Document Table") == SCAN_SANE_SRC_FLATBED);
	CHECK(scan_sane_source_class("ADF") == SCAN_SANE_SRC_ADF);
	CHECK(scan_sane_source_class("ADF Front") == SCAN_SANE_SRC_ADF);
	CHECK(scan_sane_source_class("Automatic Document Feeder") == SCAN_SANE_SRC_ADF);
	CHECK(scan_sane_source_class("ADF Back") == SCAN_SANE_SRC_OTHER);
	CHECK(scan_sane_source_class("ADF Duplex") == SCAN_SANE_SRC_DUPLEX);
	CHECK(scan_sane_source_class("Duplex") == SCAN_SANE_SRC_DUPLEX);
	CHECK(scan_sane_source_class("Automatic Document Feeder(left aligned,Duplex)") ==
	      SCAN_SANE_SRC_DUPLEX);
	CHECK(scan_sane_source_class("Transparency Adapter") == SCAN_SANE_SRC_OTHER);
	CHECK(scan_sane_mode_class("Colour") == 'C' && scan_sane_mode_class("Color24") == 'C');
	CHECK(scan_sane_mode_class("Grayscale") == 'G' && scan_sane_mode_class("Gray256") == 'G');
	CHECK(scan_sane_mode_class("Binary") == 'L' &&
	      scan_sane_mode_class("Black & White") == 'L');
	CHECK(scan_sane_mode_class("Lineart") == 'L' && scan_sane_mode_class("Halftone") == 'H');
	CHECK(scan_sane_mode_class("Color Lineart") == 0);
	CHECK(scan_sane_page_size("A4", &w, &h) == 0 && w == 210 && h == 297);
	CHECK(scan_sane_page_size("letter", &w, &h) == 0 && w > 215 && w < 216);
	CHECK(scan_sane_page_size("100x150", &w, &h) == 0 && w == 100 && h == 150);
	CHECK(scan_sane_page_size("100x150mm", &w, &h) == 0);
	CHECK(scan_sane_page_size("A9", &w, &h) == -1 && scan_sane_page_size("5x5", &w, &h) == -1);
	CHECK(scan_device_sheetopt_parse("4:test-picture=Solid white", &o, err, sizeof(err)) == 0 &&
	      o.sheet == 4 && o.side == 0 && o.attempt == 0 &&
	      strcmp(o.option, "test-picture=Solid white") == 0);
	CHECK(scan_device_sheetopt_parse("12b@2:read-delay=yes", &o, err, sizeof(err)) == 0 &&
	      o.sheet == 12 && o.side == 2 && o.attempt == 2);
	CHECK(scan_device_sheetopt_parse("3:foo", &o, err, sizeof(err)) == -1);
	CHECK(scan_device_sheetopt_parse("x:a=b", &o, err, sizeof(err)) == -1);
	CHECK(scan_device_sheetopt_parse("0:a=b", &o, err, sizeof(err)) == -1);
}

/* The blank score of a 8-bit page: gray background, optional dots and a block. */
static void test_blank(void)
{
	struct scan_page_cfg c = {0.0005, 0.005, 0, 0};
	struct scan_page_result r;
	char oerr[128];
	scan_page *p = scan_page_open(&c, oerr, sizeof(oerr));
	PIX *pix = pixCreate(1000, 1000, 8), *up = NULL;
	char err[256];
	int i;

	pixSetAllArbitrary(pix, 245); /* paper */
	CHECK(scan_page_analyse(p, pix, &r, &up, err, sizeof(err)) == 0);
	CHECK(r.ink == 0 && r.blank == SCAN_PAGE_DROP && up == NULL && r.rotation == 0);
	/* dust: 200 specks of 2x2 pixels are despeckled away */
	for (i = 0; i < 200; i++)
		pixRasterop(pix, (i * 37) % 990, (i * 91) % 990, 2, 2, PIX_CLR, NULL, 0, 0);
	CHECK(scan_page_analyse(p, pix, &r, &up, err, sizeof(err)) == 0);
	CHECK(r.ink == 0 && r.blank == SCAN_PAGE_DROP);
	/* a short line of "text" (0.2 % ink): flagged, not dropped */
	pixRasterop(pix, 100, 100, 400, 5, PIX_CLR, NULL, 0, 0);
	CHECK(scan_page_analyse(p, pix, &r, &up, err, sizeof(err)) == 0);
	CHECK(r.ink > 0.0015 && r.ink < 0.0025 && r.blank == SCAN_PAGE_FLAG);
	/* a text block: kept */
	pixRasterop(pix, 100, 200, 500, 100, PIX_CLR, NULL, 0, 0);
	CHECK(scan_page_analyse(p, pix, &r, &up, err, sizeof(err)) == 0 &&
	      r.blank == SCAN_PAGE_KEEP);
	pixDestroy(&pix);
	/* 1 bpp and 32 bpp pages are taken as well */
	pix = pixCreate(100, 100, 1);
	pixSetAll(pix);
	CHECK(scan_page_analyse(p, pix, &r, &up, err, sizeof(err)) == 0 && r.ink == 1.0);
	pixDestroy(&pix);
	pix = pixCreate(100, 100, 32);
	pixSetAllArbitrary(pix, 0xffffff00);
	CHECK(scan_page_analyse(p, pix, &r, &up, err, sizeof(err)) == 0 && r.ink == 0);
	pixDestroy(&pix);
	scan_page_close(p);
}

int main(void)
{
	log_init("scan_profile_test");
	if (mkdtemp(dir) == NULL)
		return 1;
	memset(&set, 0, sizeof(set));
	set.conf_dir = dir;
	set.var_dir = dir;
	test_shipped();
	test_refused();
	test_synonyms();
	test_blank();
	fio_rmtree(dir);
	return check_done();
}
