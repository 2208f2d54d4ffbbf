/*
 * scan_rotate.c - lossless page rotation; see scan_rotate.h.
 */
#include "scan_rotate.h"

#include <string.h>

#include "xalloc.h"

size_t scan_rotate_row_bytes(uint32_t width, int bits, int samples)
{
	return ((size_t)width * (size_t)bits * (size_t)samples + 7) / 8;
}

int scan_rotate(const unsigned char *src, uint32_t width, uint32_t height, int bits, int samples,
		int deg, unsigned char **dst, uint32_t *dw, uint32_t *dh)
{
	size_t srb = scan_rotate_row_bytes(width, bits, samples), drb, px;
	unsigned char *d;
	uint32_t x, y, nw, nh;

	*dst = NULL;
	if (!(deg == 90 || deg == 180 || deg == 270) || width == 0 || height == 0 ||
	    !((bits == 1 && samples == 1) ||
	      ((bits == 8 || bits == 16) && (samples == 1 || samples == 3))))
		return -1;
	nw = deg == 180 ? width : height;
	nh = deg == 180 ? height : width;
	drb = scan_rotate_row_bytes(nw, bits, samples);
	d = xcalloc((size_t)nh, drb);
	px = (size_t)bits * (size_t)samples / 8; /* bytes per pixel (0 for 1-bit) */
	for (y = 0; y < height; y++) {
		const unsigned char *row = src + (size_t)y * srb;

		for (x = 0; x < width; x++) {
			uint32_t tx, ty;

			if (deg == 90) {
				tx = height - 1 - y;
				ty = x;
			} else if (deg == 180) {
				tx = width - 1 - x;
				ty = height - 1 - y;
			} else {
				tx = y;
				ty = width - 1 - x;
			}
			if (bits == 1) {
				if (row[x >> 3] & (0x80u >> (x & 7)))
					d[(size_t)ty * drb + (tx >> 3)] |=
					    (unsigned char)(0x80u >> (tx & 7));
			} else {
				memcpy(d + (size_t)ty * drb + (size_t)tx * px, row + (size_t)x * px,
				       px);
			}
		}
	}
	*dst = d;
	*dw = nw;
	*dh = nh;
	return 0;
}
