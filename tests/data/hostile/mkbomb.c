/*
 * mkbomb.c - write hostile but valid TIFF files for the limit tests
 * (tests/integration/security_limits.sh): decompression bombs (a tiny file that
 * decodes to gigabytes) and huge pages.
 *
 * SYNOPSIS
 *	mkbomb OUT WIDTH HEIGHT BITS COMPRESSION FILL [ROWS_PER_STRIP]
 *	BITS 1 (bilevel, min-is-white) or 8 (gray); COMPRESSION g4 (bits 1 only),
 *	deflate or none; FILL zero (white/black, compresses to almost nothing), noise
 *	(seeded random pixels) or text (rows of letter-like glyphs: slow to recognise);
 *	ROWS_PER_STRIP default 64 (HEIGHT: one strip for the whole page).
 *
 * EXIT STATUS
 *	0 written; 64 usage; 1 libtiff failed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

/* One row of pseudo-text: glyph-sized blocks of random strokes on lines. */
static void text_row(unsigned char *row, uint32_t w, uint32_t y, int bits, uint32_t *seed)
{
	uint32_t line = y % 48, x;

	memset(row, 0, bits == 1 ? (w + 7) / 8 : w);
	if (line < 8 || line > 36)
		return; /* the gap between lines */
	for (x = 40; x + 30 < w; x += 30) {
		uint32_t gx, glyph = (x / 30) * 2654435761u ^ (y / 48) * 40503u;

		if (glyph % 7 == 0)
			continue; /* a space between words */
		for (gx = 2; gx < 24; gx++) {
			int on;

			*seed = *seed * 1103515245u + 12345u;
			/* vertical strokes and a bar: letter-like shapes */
			on = ((gx + glyph) % 9 < 3) || (line == 20 + glyph % 6) ||
			     ((*seed >> 16) % 23 == 0);
			if (!on)
				continue;
			if (bits == 1)
				row[(x + gx) / 8] |= (unsigned char)(0x80 >> ((x + gx) % 8));
			else
				row[x + gx] = 0;
		}
	}
	if (bits == 8) { /* gray: white paper, black ink */
		for (x = 0; x < w; x++)
			row[x] = row[x] == 0 && x >= 40 ? row[x] : 255;
	}
}

int main(int argc, char **argv)
{
	uint32_t w, h, rps, y, seed = 42;
	int bits;
	uint16_t comp;
	unsigned char *row;
	size_t rowlen;
	TIFF *t;

	if (argc < 7 || argc > 8) {
		fprintf(stderr,
			"usage: mkbomb OUT WIDTH HEIGHT 1|8 g4|deflate|none zero|noise|text "
			"[ROWS_PER_STRIP]\n");
		return 64;
	}
	w = (uint32_t)strtoul(argv[2], NULL, 10);
	h = (uint32_t)strtoul(argv[3], NULL, 10);
	bits = (int)strtol(argv[4], NULL, 10);
	rps = argc == 8 ? (uint32_t)strtoul(argv[7], NULL, 10) : 64;
	if (w == 0 || h == 0 || (bits != 1 && bits != 8) || rps == 0)
		return 64;
	if (strcmp(argv[5], "g4") == 0 && bits == 1)
		comp = COMPRESSION_CCITTFAX4;
	else if (strcmp(argv[5], "deflate") == 0)
		comp = COMPRESSION_ADOBE_DEFLATE;
	else if (strcmp(argv[5], "none") == 0)
		comp = COMPRESSION_NONE;
	else
		return 64;
	if ((t = TIFFOpen(argv[1], "w8")) == NULL)
		return 1;
	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, (uint16_t)bits);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)1);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC,
		     bits == 1 ? PHOTOMETRIC_MINISWHITE : PHOTOMETRIC_MINISBLACK);
	TIFFSetField(t, TIFFTAG_COMPRESSION, comp);
	TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, rps > h ? h : rps);
	TIFFSetField(t, TIFFTAG_XRESOLUTION, 300.0);
	TIFFSetField(t, TIFFTAG_YRESOLUTION, 300.0);
	TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
	rowlen = bits == 1 ? (w + 7) / 8 : w;
	if ((row = calloc(1, rowlen)) == NULL)
		return 1;
	if (bits == 8 && strcmp(argv[6], "zero") == 0)
		memset(row, 255, rowlen); /* white paper */
	for (y = 0; y < h; y++) {
		if (strcmp(argv[6], "noise") == 0) {
			size_t i;

			for (i = 0; i < rowlen; i++) {
				seed = seed * 1103515245u + 12345u;
				row[i] = (unsigned char)(seed >> 16);
			}
		} else if (strcmp(argv[6], "text") == 0) {
			text_row(row, w, y, bits, &seed);
		}
		if (TIFFWriteScanline(t, row, y, 0) < 0) {
			TIFFClose(t);
			return 1;
		}
	}
	free(row);
	if (!TIFFWriteDirectory(t)) {
		TIFFClose(t);
		return 1;
	}
	TIFFClose(t);
	return 0;
}
