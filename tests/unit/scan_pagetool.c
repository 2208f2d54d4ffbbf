/*
 * scan_pagetool.c - helper of the page analysis scripts (scan_page.sh,
 * scan_acceptance.sh); not a test itself. It runs the real analysis
 * (scan_page.c, common/osd.c) on image files and prepares page images the way a
 * scanner would deliver them.
 *
 *	scan_pagetool analyse [--no-osd] [--no-qr] [--drop X] [--flag X] FILE...
 *		one line per file: "FILE ink=I blank=keep|flag|drop rotation=R
 *		conf=C osd=DEG/CONF/SCRIPT sep=none|found|valid[:BATCH:SHEET:TYPE:OFFICE]
 *		ms=BLANK/SEP/OSD"
 *	scan_pagetool osd FILE...
 *		common/osd.c alone: "FILE deg=D conf=C script=S trusted=0|1 ms=M",
 *		"FILE none" when the page has too little text
 *	scan_pagetool prep IN OUT [--rotate DEG] [--scanner SEED] [--dpi N]
 *			  [--to-dpi M]
 *		IN as an 8-bit gray page, turned DEG degrees clockwise, with
 *		--scanner a scanned sheet's faults (grayish paper with noise, dust
 *		specks, a dark edge line and the dark band beyond the sheet), taken at
 *		resolution N (default: IN's, else 150) and scaled to M, written as
 *		PNM (OUT *.pgm) or PNG (OUT *.png)
 *	scan_pagetool qr TEXT OUT
 *		a blank A4 page at 150 dpi with a QR code of TEXT (1 mm modules, as
 *		`mailroom sheets` prints them) written as PNG: separators with any
 *		payload, foreign codes
 *	scan_pagetool match REFLIST TIFF...
 *		which reference each page of each TIFF is: REFLIST has lines "LABEL
 *		PATH"; pages and references are compared as gray thumbnails (mean
 *		absolute difference). One line per page: "TIFF N LABEL DIFF NEXT"
 *		(NEXT: the difference to the second best reference)
 *
 * Exit 0, 1 when a file cannot be read or analysed, 2 on usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <leptonica/allheaders.h>
#include <qrencode.h>

#include "log.h"
#include "osd.h"
#include "scan_page.h"

#define THUMB_W 248 /* thumbnails for match: A4 at 30 dpi */

/* Monotonic milliseconds. */
static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* analyse: the real page analysis on each file. */
static int cmd_analyse(int argc, char **argv)
{
	struct scan_page_cfg c = {0.0005, 0.005, 1, 1};
	scan_page *p;
	char err[512];
	int i, rc = 0;

	for (i = 0; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--no-osd") == 0)
			c.orientation = 0;
		else if (strcmp(argv[i], "--no-qr") == 0)
			c.separators = 0;
		else if (strcmp(argv[i], "--drop") == 0 && i + 1 < argc)
			c.blank_drop = atof(argv[++i]);
		else if (strcmp(argv[i], "--flag") == 0 && i + 1 < argc)
			c.blank_flag = atof(argv[++i]);
		else
			return 2;
	}
	if ((p = scan_page_open(&c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scan_pagetool: %s\n", err);
		return 1;
	}
	for (; i < argc; i++) {
		struct scan_page_result r;
		PIX *pix = pixRead(argv[i]), *up = NULL;

		if (pix == NULL || scan_page_analyse(p, pix, &r, &up, err, sizeof(err)) == -1) {
			fprintf(stderr, "scan_pagetool: %s: %s\n", argv[i],
				pix ? err : "cannot read");
			pixDestroy(&pix);
			rc = 1;
			continue;
		}
		printf("%s ink=%.6f blank=%s rotation=%d conf=%.2f osd=%d/%.2f/%s ", argv[i], r.ink,
		       r.blank == SCAN_PAGE_DROP   ? "drop"
		       : r.blank == SCAN_PAGE_FLAG ? "flag"
						   : "keep",
		       r.rotation, r.rotation_conf, r.osd_deg, r.osd_conf,
		       r.osd_script[0] ? r.osd_script : "-");
		if (!r.sep.found)
			printf("sep=none");
		else if (!r.sep.valid)
			printf("sep=found");
		else
			printf("sep=valid:%s:%ld:%s:%s", r.sep.batch, r.sep.sheet, r.sep.doc_type,
			       r.sep.office);
		printf(" ms=%.0f/%.0f/%.0f upright=%s\n", r.ms_blank, r.ms_separator,
		       r.ms_orientation, up ? "yes" : "no");
		pixDestroy(&up);
		pixDestroy(&pix);
	}
	scan_page_close(p);
	return rc;
}

/* osd: common/osd.c on each file. */
static int cmd_osd(int argc, char **argv)
{
	char err[512];
	osd *o = osd_open(NULL, err, sizeof(err));
	int i, rc = 0;

	if (o == NULL) {
		fprintf(stderr, "scan_pagetool: %s\n", err);
		return 1;
	}
	for (i = 0; i < argc; i++) {
		struct osd_result r;
		PIX *pix = pixRead(argv[i]);
		double t0 = now_ms();
		int k;

		if (pix == NULL) {
			fprintf(stderr, "scan_pagetool: %s: cannot read\n", argv[i]);
			rc = 1;
			continue;
		}
		k = osd_detect(o, pix, &r, err, sizeof(err));
		if (k == 1)
			printf("%s deg=%d conf=%.2f script=%s trusted=%d ms=%.0f\n", argv[i], r.deg,
			       r.conf, r.script, osd_trusted(&r), now_ms() - t0);
		else if (k == 0)
			printf("%s none\n", argv[i]);
		else {
			fprintf(stderr, "scan_pagetool: %s: %s\n", argv[i], err);
			rc = 1;
		}
		pixDestroy(&pix);
	}
	osd_close(o);
	return rc;
}

/* A deterministic pseudo-random number 0..n-1. */
static unsigned rnd(unsigned long *s, unsigned n)
{
	*s = *s * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)((*s >> 33) % n);
}

/* A scanned sheet's faults on the 8-bit page pix (in place). */
static void scanner_faults(PIX *pix, unsigned long seed)
{
	l_int32 w = pixGetWidth(pix), h = pixGetHeight(pix), x, y, i, wpl = pixGetWpl(pix);
	l_uint32 *data = pixGetData(pix);
	unsigned long s = seed * 2654435761UL + 1;
	long specks = (long)w * h / 40000;

	for (y = 0; y < h; y++) {
		l_uint32 *line = data + (size_t)y * (size_t)wpl;

		for (x = 0; x < w; x++) {
			int v = (int)GET_DATA_BYTE(line, x);

			/* grayish paper, sensor noise (+-8) */
			v = v * 236 / 255 + (int)rnd(&s, 17) - 8;
			SET_DATA_BYTE(line, x, v < 0 ? 0 : v > 255 ? 255 : v);
		}
	}
	/* dust: specks of 1 to 3 pixels */
	for (i = 0; i < specks; i++) {
		l_int32 sz = 1 + (l_int32)rnd(&s, 3);

		pixRasterop(pix, (l_int32)rnd(&s, (unsigned)(w - 3)),
			    (l_int32)rnd(&s, (unsigned)(h - 3)), sz, sz, PIX_CLR, NULL, 0, 0);
	}
	/* the sheet's left edge: a dark line 2 pixels in; the band beyond the right edge */
	pixRasterop(pix, 2, 0, 2, h, PIX_CLR, NULL, 0, 0);
	pixRasterop(pix, w - w / 150, 0, w / 150, h, PIX_CLR, NULL, 0, 0);
	/* a shadow along the top edge */
	for (x = 0; x < w; x++)
		pixSetPixel(pix, x, 1, 90);
}

/* prep: a page image as a scanner would deliver it. */
static int cmd_prep(int argc, char **argv)
{
	PIX *in, *g, *r;
	int rot = 0, dpi = 0, to = 0, i, scanner = 0, ok;
	unsigned long seed = 0;
	size_t n;

	if (argc < 2)
		return 2;
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--rotate") == 0 && i + 1 < argc)
			rot = atoi(argv[++i]);
		else if (strcmp(argv[i], "--scanner") == 0 && i + 1 < argc) {
			scanner = 1;
			seed = strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--dpi") == 0 && i + 1 < argc)
			dpi = atoi(argv[++i]);
		else if (strcmp(argv[i], "--to-dpi") == 0 && i + 1 < argc)
			to = atoi(argv[++i]);
		else
			return 2;
	}
	if (rot % 90 != 0 || rot < 0 || rot > 270)
		return 2;
	if ((in = pixRead(argv[0])) == NULL) {
		fprintf(stderr, "scan_pagetool: %s: cannot read\n", argv[0]);
		return 1;
	}
	g = pixConvertTo8(in, 0);
	pixDestroy(&in);
	if (g == NULL)
		return 1;
	if (pixGetColormap(g) != NULL) {
		PIX *t = pixRemoveColormap(g, REMOVE_CMAP_TO_GRAYSCALE);

		pixDestroy(&g);
		g = t;
	}
	r = pixRotateOrth(g, rot / 90);
	pixDestroy(&g);
	if (dpi <= 0)
		dpi = pixGetXRes(r) > 0 ? pixGetXRes(r) : 150;
	if (to > 0 && to != dpi) {
		PIX *t = pixScaleAreaMap(r, (l_float32)to / dpi, (l_float32)to / dpi);

		pixDestroy(&r);
		if ((r = t) == NULL)
			return 1;
		dpi = to;
	}
	pixSetResolution(r, dpi, dpi);
	if (scanner)
		scanner_faults(r, seed);
	n = strlen(argv[1]);
	ok =
	    pixWrite(argv[1], r, n > 4 && strcmp(argv[1] + n - 4, ".png") == 0 ? IFF_PNG : IFF_PNM);
	pixDestroy(&r);
	return ok == 0 ? 0 : 1;
}

/* qr: a page with a QR code of any text. */
static int cmd_qr(const char *text, const char *out)
{
	QRcode *q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
	PIX *pix = pixCreate(1240, 1754, 8);
	int x, y, m = 6, rc;

	if (q == NULL || pix == NULL)
		return 1;
	pixSetAllArbitrary(pix, 255);
	for (y = 0; y < q->width; y++)
		for (x = 0; x < q->width; x++)
			if (q->data[y * q->width + x] & 1)
				pixRasterop(pix, 400 + x * m, 400 + y * m, m, m, PIX_CLR, NULL, 0,
					    0);
	pixSetResolution(pix, 150, 150);
	rc = pixWrite(out, pix, IFF_PNG) == 0 ? 0 : 1;
	QRcode_free(q);
	pixDestroy(&pix);
	return rc;
}

/* A gray thumbnail THUMB_W wide of pix. */
static PIX *thumb(PIX *pix)
{
	PIX *g = pixConvertTo8(pix, 0), *t;
	double f;

	if (g == NULL)
		return NULL;
	f = (double)THUMB_W / pixGetWidth(g);
	t = pixScaleAreaMap(g, (l_float32)f, (l_float32)f);
	pixDestroy(&g);
	return t;
}

/* Mean absolute difference of two thumbnails (1e9 when their sizes differ). */
static double thumb_diff(PIX *a, PIX *b)
{
	l_int32 wa = pixGetWidth(a), ha = pixGetHeight(a), wb = pixGetWidth(b),
		hb = pixGetHeight(b), x, y;
	double sum = 0;

	if (abs(wa - wb) > 1 || abs(ha - hb) > 1)
		return 1e9;
	if (wb < wa)
		wa = wb;
	if (hb < ha)
		ha = hb;
	for (y = 0; y < ha; y++) {
		const l_uint32 *la = pixGetData(a) + (size_t)y * (size_t)pixGetWpl(a);
		const l_uint32 *lb = pixGetData(b) + (size_t)y * (size_t)pixGetWpl(b);

		for (x = 0; x < wa; x++)
			sum += abs((int)GET_DATA_BYTE(la, x) - (int)GET_DATA_BYTE(lb, x));
	}
	return sum / ((double)wa * ha);
}

/* match: which reference each TIFF page is. */
static int cmd_match(int argc, char **argv)
{
	FILE *f;
	char line[4200], (*label)[64] = NULL;
	PIX **ref = NULL;
	size_t nref = 0, cap = 0, k;
	int i, rc = 0;

	if (argc < 2 || (f = fopen(argv[0], "r")) == NULL)
		return 2;
	while (fgets(line, sizeof(line), f) != NULL) {
		char lab[64], path[4096];
		PIX *p;

		if (sscanf(line, "%63s %4095s", lab, path) != 2)
			continue;
		if ((p = pixRead(path)) == NULL) {
			fprintf(stderr, "scan_pagetool: %s: cannot read\n", path);
			fclose(f);
			return 1;
		}
		if (nref == cap) {
			cap = cap ? 2 * cap : 64;
			ref = realloc(ref, cap * sizeof(*ref));
			label = realloc(label, cap * sizeof(*label));
			if (ref == NULL || label == NULL)
				return 1;
		}
		ref[nref] = thumb(p);
		snprintf(label[nref], sizeof(label[nref]), "%s", lab);
		nref++;
		pixDestroy(&p);
	}
	fclose(f);
	for (i = 1; i < argc; i++) {
		l_int32 n = 0, pg;
		FILE *tf = fopen(argv[i], "rb");

		if (tf == NULL || tiffGetCount(tf, &n) != 0 || n <= 0) {
			if (tf != NULL)
				fclose(tf);
			fprintf(stderr, "scan_pagetool: %s: not a TIFF\n", argv[i]);
			rc = 1;
			continue;
		}
		fclose(tf);
		for (pg = 0; pg < n; pg++) {
			PIX *p = pixReadTiff(argv[i], pg), *t;
			double best = 1e18, next = 1e18;
			size_t bi = 0;

			if (p == NULL || (t = thumb(p)) == NULL) {
				fprintf(stderr, "scan_pagetool: %s page %d: cannot read\n", argv[i],
					pg + 1);
				pixDestroy(&p);
				rc = 1;
				continue;
			}
			for (k = 0; k < nref; k++) {
				double d = thumb_diff(t, ref[k]);

				if (d < best) {
					next = best;
					best = d;
					bi = k;
				} else if (d < next) {
					next = d;
				}
			}
			printf("%s %d %s %.2f %.2f\n", argv[i], pg + 1, nref ? label[bi] : "-",
			       best, next);
			pixDestroy(&t);
			pixDestroy(&p);
		}
	}
	for (k = 0; k < nref; k++)
		pixDestroy(&ref[k]);
	free(ref);
	free(label);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 2;

	log_init("scan_pagetool");
	setLeptDebugOK(0);
	if (argc >= 3 && strcmp(argv[1], "analyse") == 0)
		rc = cmd_analyse(argc - 2, argv + 2);
	else if (argc >= 3 && strcmp(argv[1], "osd") == 0)
		rc = cmd_osd(argc - 2, argv + 2);
	else if (argc >= 4 && strcmp(argv[1], "prep") == 0)
		rc = cmd_prep(argc - 2, argv + 2);
	else if (argc == 4 && strcmp(argv[1], "qr") == 0)
		rc = cmd_qr(argv[2], argv[3]);
	else if (argc >= 4 && strcmp(argv[1], "match") == 0)
		rc = cmd_match(argc - 2, argv + 2);
	if (rc == 2)
		fprintf(stderr,
			"usage: scan_pagetool analyse|osd|prep|qr|match ... (see the source)\n");
	return rc;
}
