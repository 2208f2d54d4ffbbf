/*
 * scan_rotate_test.c - unit tests of the lossless page rotation (scan/scan_rotate.c)
 * at 1, 8 and 16 bits, gray and RGB: where a marked pixel goes for 90, 180 and 270
 * degrees clockwise, and that four quarter turns give the page back bit for bit.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "log.h"
#include "scan_rotate.h"

/* A width x height page whose only set pixel is (x, y); px bytes per pixel. */
static unsigned char *mark(uint32_t w, uint32_t h, int bits, int samples, uint32_t x, uint32_t y)
{
	size_t rb = scan_rotate_row_bytes(w, bits, samples);
	unsigned char *p = calloc(h, rb);

	if (bits == 1)
		p[y * rb + x / 8] |= (unsigned char)(0x80u >> (x % 8));
	else
		memset(p + y * rb + (size_t)x * (size_t)(bits / 8 * samples), 0xab,
		       (size_t)(bits / 8 * samples));
	return p;
}

/* 1 if pixel (x, y) of the page is set. */
static int is_set(const unsigned char *p, uint32_t w, int bits, int samples, uint32_t x, uint32_t y)
{
	size_t rb = scan_rotate_row_bytes(w, bits, samples);

	if (bits == 1)
		return (p[y * rb + x / 8] >> (7 - x % 8)) & 1;
	return p[y * rb + (size_t)x * (size_t)(bits / 8 * samples)] == 0xab;
}

static void test_layout(int bits, int samples)
{
	const uint32_t w = 13, h = 7, x = 2, y = 1;
	unsigned char *src = mark(w, h, bits, samples, x, y), *d = NULL, *a, *b;
	uint32_t dw, dh, w2, h2;
	size_t rb = scan_rotate_row_bytes(w, bits, samples);
	int i;

	CHECK(scan_rotate(src, w, h, bits, samples, 90, &d, &dw, &dh) == 0);
	CHECK(dw == h && dh == w);
	/* 90 clockwise: (x, y) -> (h-1-y, x) */
	CHECK(is_set(d, dw, bits, samples, h - 1 - y, x));
	CHECK(!is_set(d, dw, bits, samples, y, x));
	free(d);
	CHECK(scan_rotate(src, w, h, bits, samples, 180, &d, &dw, &dh) == 0);
	CHECK(dw == w && dh == h && is_set(d, dw, bits, samples, w - 1 - x, h - 1 - y));
	free(d);
	CHECK(scan_rotate(src, w, h, bits, samples, 270, &d, &dw, &dh) == 0);
	CHECK(dw == h && dh == w && is_set(d, dw, bits, samples, y, w - 1 - x));
	free(d);
	/* four quarter turns: the same bytes */
	a = malloc(h * rb);
	memcpy(a, src, h * rb);
	w2 = w;
	h2 = h;
	for (i = 0; i < 4; i++) {
		CHECK(scan_rotate(a, w2, h2, bits, samples, 90, &b, &dw, &dh) == 0);
		free(a);
		a = b;
		w2 = dw;
		h2 = dh;
	}
	CHECK(w2 == w && h2 == h && memcmp(a, src, h * rb) == 0);
	free(a);
	free(src);
}

int main(void)
{
	unsigned char *d;
	uint32_t dw, dh;
	unsigned char one = 0x80;

	log_init("scan_rotate_test");
	test_layout(1, 1);
	test_layout(8, 1);
	test_layout(16, 1);
	test_layout(8, 3);
	test_layout(16, 3);
	CHECK(scan_rotate(&one, 1, 1, 1, 1, 45, &d, &dw, &dh) == -1);
	CHECK(scan_rotate(&one, 1, 1, 1, 3, 90, &d, &dw, &dh) == -1);
	CHECK(scan_rotate(&one, 0, 1, 8, 1, 90, &d, &dw, &dh) == -1);
	return check_done();
}
