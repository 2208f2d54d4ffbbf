/*
 * escl_pnmtool.c - helper of the escl_* integration scripts (not a test itself):
 * makes stack pages and compares what SANE delivered with them, independently of
 * the emulator's own image code.
 *
 *	escl_pnmtool make W H SEED OUT [gray]   a deterministic page (P6, or P5 with
 *	                                        "gray"): light gradient, dark "text"
 *	                                        blocks placed by SEED, a little noise
 *	escl_pnmtool cmp GOT WANT [flip] [tol T] compare two PNM images (P5/P6, 8 bit):
 *	                                        sizes must match; a colour image is
 *	                                        compared with a gray one by luminance;
 *	                                        "flip": WANT upside down. Prints
 *	                                        "identical" or "mean M max X"; exit 0
 *	                                        when the mean absolute difference is
 *	                                        <= T (default 0), else 1; 2 on errors
 *	escl_pnmtool tiffpage TIFF N OUT        page N (from 1) of a TIFF as PNM
 *	escl_pnmtool dims FILE                  "W H CHANNELS" of a PNM
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

struct pnm {
	int w, h, ch; /* ch 1 (P5) or 3 (P6) */
	unsigned char *px;
};

/* Read a P5/P6 file with maxval 255 (comments allowed). 0 or -1. */
static int pnm_read(const char *path, struct pnm *p)
{
	FILE *f = fopen(path, "rb");
	int c, v[3], i;
	char magic[3] = "";
	size_t n;

	memset(p, 0, sizeof(*p));
	if (f == NULL || fread(magic, 1, 2, f) != 2 || magic[0] != 'P' ||
	    (magic[1] != '5' && magic[1] != '6')) {
		fprintf(stderr, "%s: not a P5/P6 file\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	for (i = 0; i < 3; i++) {
		while ((c = fgetc(f)) != EOF &&
		       (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '#'))
			if (c == '#')
				while ((c = fgetc(f)) != EOF && c != '\n')
					;
		if (c == EOF || ungetc(c, f) == EOF || fscanf(f, "%d", &v[i]) != 1) {
			fprintf(stderr, "%s: bad header\n", path);
			fclose(f);
			return -1;
		}
	}
	fgetc(f); /* the single blank after maxval */
	if (v[0] <= 0 || v[1] <= 0 || v[0] > 100000 || v[1] > 100000 || v[2] != 255) {
		fprintf(stderr, "%s: unsupported size or maxval\n", path);
		fclose(f);
		return -1;
	}
	p->w = v[0];
	p->h = v[1];
	p->ch = magic[1] == '6' ? 3 : 1;
	n = (size_t)p->w * (size_t)p->h * (size_t)p->ch;
	if ((p->px = malloc(n)) == NULL || fread(p->px, 1, n, f) != n) {
		fprintf(stderr, "%s: short pixel data\n", path);
		free(p->px);
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

/* Write p as PNM. 0 or -1. */
static int pnm_write(const char *path, const struct pnm *p)
{
	FILE *f = fopen(path, "wb");
	size_t n = (size_t)p->w * (size_t)p->h * (size_t)p->ch;
	int ok;

	if (f == NULL)
		return -1;
	fprintf(f, "P%c\n%d %d\n255\n", p->ch == 3 ? '6' : '5', p->w, p->h);
	ok = fwrite(p->px, 1, n, f) == n;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* The gray value of pixel i of p. */
static int pnm_gray(const struct pnm *p, size_t i)
{
	const unsigned char *q = p->px + i * (size_t)p->ch;

	if (p->ch == 1)
		return q[0];
	return (q[0] * 299 + q[1] * 587 + q[2] * 114 + 500) / 1000;
}

/* A small deterministic generator (xorshift32). */
static unsigned rnd(unsigned *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* make W H SEED OUT [gray] */
static int cmd_make(int argc, char **argv)
{
	struct pnm p;
	unsigned seed;
	int x, y, c, b;

	if (argc < 6)
		return 2;
	p.w = atoi(argv[2]);
	p.h = atoi(argv[3]);
	seed = (unsigned)strtoul(argv[4], NULL, 10) * 2654435761u + 1u;
	p.ch = (argc > 6 && strcmp(argv[6], "gray") == 0) ? 1 : 3;
	if (p.w <= 0 || p.h <= 0 || p.w > 20000 || p.h > 20000)
		return 2;
	p.px = malloc((size_t)p.w * (size_t)p.h * (size_t)p.ch);
	if (p.px == NULL)
		return 2;
	for (y = 0; y < p.h; y++)
		for (x = 0; x < p.w; x++)
			for (c = 0; c < p.ch; c++)
				p.px[((size_t)y * (size_t)p.w + (size_t)x) * (size_t)p.ch +
				     (size_t)c] =
				    (unsigned char)(200 + (x * 30) / p.w + (y * 20) / p.h + c * 3 +
						    (int)(rnd(&seed) % 5));
	/* "lines of text": dark blocks, different for each seed */
	for (b = 0; b < 24; b++) {
		int bx = (int)(rnd(&seed) % (unsigned)(p.w * 3 / 4));
		int by = (int)(rnd(&seed) % (unsigned)(p.h * 7 / 8));
		int bw = p.w / 8 + (int)(rnd(&seed) % (unsigned)(p.w / 4 + 1));
		int bh = p.h / 40 + 2;
		int ink = (int)(rnd(&seed) % 60);

		for (y = by; y < by + bh && y < p.h; y++)
			for (x = bx; x < bx + bw && x < p.w; x++)
				for (c = 0; c < p.ch; c++)
					p.px[((size_t)y * (size_t)p.w + (size_t)x) * (size_t)p.ch +
					     (size_t)c] = (unsigned char)(ink + c * 10);
	}
	if (pnm_write(argv[5], &p) == -1) {
		fprintf(stderr, "%s: cannot write\n", argv[5]);
		free(p.px);
		return 2;
	}
	free(p.px);
	return 0;
}

/* cmp GOT WANT [flip] [tol T] */
static int cmd_cmp(int argc, char **argv)
{
	struct pnm a, b;
	int flip = 0, i, rc = 2, max = 0;
	double tol = 0, sum = 0, mean;
	size_t x, y, w, h;

	if (argc < 4)
		return 2;
	for (i = 4; i < argc; i++) {
		if (strcmp(argv[i], "flip") == 0)
			flip = 1;
		else if (strcmp(argv[i], "tol") == 0 && i + 1 < argc)
			tol = atof(argv[++i]);
		else
			return 2;
	}
	if (pnm_read(argv[2], &a) == -1)
		return 2;
	if (pnm_read(argv[3], &b) == -1)
		goto out_a;
	if (a.w != b.w || a.h != b.h) {
		printf("size %dx%d, want %dx%d\n", a.w, a.h, b.w, b.h);
		rc = 1;
		goto out;
	}
	w = (size_t)a.w;
	h = (size_t)a.h;
	for (y = 0; y < h; y++) {
		size_t yb = flip ? h - 1 - y : y;

		for (x = 0; x < w; x++) {
			int d;

			if (a.ch == b.ch) {
				int c;

				for (c = 0; c < a.ch; c++) {
					d = a.px[(y * w + x) * (size_t)a.ch + (size_t)c] -
					    b.px[(yb * w + x) * (size_t)b.ch + (size_t)c];
					d = d < 0 ? -d : d;
					sum += d;
					max = d > max ? d : max;
				}
			} else {
				d = pnm_gray(&a, y * w + x) - pnm_gray(&b, yb * w + x);
				d = d < 0 ? -d : d;
				sum += (double)d * a.ch;
				max = d > max ? d : max;
			}
		}
	}
	mean = sum / ((double)w * (double)h * (double)a.ch);
	if (max == 0)
		printf("identical\n");
	else
		printf("mean %.3f max %d\n", mean, max);
	rc = mean <= tol ? 0 : 1;
out:
	free(b.px);
out_a:
	free(a.px);
	return rc;
}

/* tiffpage TIFF N OUT: 8-bit gray or RGB page N (from 1) as PNM. */
static int cmd_tiffpage(int argc, char **argv)
{
	TIFF *t;
	struct pnm p;
	uint32_t w = 0, h = 0, y;
	uint16_t spp = 1, bps = 8;
	int n, rc = 2;

	if (argc < 5 || (n = atoi(argv[3])) < 1)
		return 2;
	if ((t = TIFFOpen(argv[2], "r")) == NULL)
		return 2;
	if (!TIFFSetDirectory(t, (tdir_t)(n - 1))) {
		fprintf(stderr, "%s: no page %d\n", argv[2], n);
		goto out;
	}
	TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
	TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
	TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
	TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bps);
	if (bps != 8 || (spp != 1 && spp != 3) || w == 0 || h == 0 ||
	    (size_t)TIFFScanlineSize(t) != (size_t)w * spp) {
		fprintf(stderr, "%s page %d: only 8-bit gray or RGB\n", argv[2], n);
		goto out;
	}
	p.w = (int)w;
	p.h = (int)h;
	p.ch = spp;
	if ((p.px = malloc((size_t)w * h * spp)) == NULL)
		goto out;
	for (y = 0; y < h; y++)
		if (TIFFReadScanline(t, p.px + (size_t)y * w * spp, y, 0) < 0) {
			free(p.px);
			goto out;
		}
	rc = pnm_write(argv[4], &p) == 0 ? 0 : 2;
	free(p.px);
out:
	TIFFClose(t);
	return rc;
}

int main(int argc, char **argv)
{
	struct pnm p;

	if (argc >= 2 && strcmp(argv[1], "make") == 0)
		return cmd_make(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "cmp") == 0)
		return cmd_cmp(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "tiffpage") == 0)
		return cmd_tiffpage(argc, argv);
	if (argc == 3 && strcmp(argv[1], "dims") == 0) {
		if (pnm_read(argv[2], &p) == -1)
			return 2;
		printf("%d %d %d\n", p.w, p.h, p.ch);
		free(p.px);
		return 0;
	}
	fprintf(stderr, "usage: escl_pnmtool make W H SEED OUT [gray] | cmp GOT WANT [flip] "
			"[tol T] | tiffpage TIFF N OUT | dims FILE\n");
	return 2;
}
