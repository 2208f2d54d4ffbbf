/*
 * escl_page.c - convert, scale, clip and encode one stack image; see escl_page.h.
 */
#include "escl_page.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <leptonica/allheaders.h>

/* Format into err; returns -1. */
static int escl_page_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int escl_page_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int escl_page_color_ok(const char *color)
{
	return strcmp(color, "RGB24") == 0 || strcmp(color, "Grayscale8") == 0 ||
	       strcmp(color, "BlackAndWhite1") == 0;
}

/* Replace *pix by next (which may be NULL: then *pix stays and -1 is returned). */
static int escl_page_swap(PIX **pix, PIX *next)
{
	if (next == NULL)
		return -1;
	pixDestroy(pix);
	*pix = next;
	return 0;
}

/* Round v * num / den to the nearest integer (all non-negative). */
static int escl_page_muldiv(int v, int num, int den)
{
	return (int)(((long long)v * num + den / 2) / den);
}

int escl_page_render(const char *path, const struct escl_page_req *rq, unsigned char **data,
		     size_t *len, int *w, int *h, char *err, size_t errlen)
{
	l_int32 fmt = 0, pw = 0, ph = 0, bps = 0, spp = 0, cmap = 0, d;
	l_uint8 *out = NULL;
	size_t outlen = 0;
	struct stat st;
	PIX *pix = NULL;
	int xdpi, ydpi, rc = -1, bw = strcmp(rq->color, "BlackAndWhite1") == 0;

	*data = NULL;
	*len = 0;
	if (!escl_page_color_ok(rq->color))
		return escl_page_fail(err, errlen, "colour mode %s is not offered", rq->color);
	if (rq->xres <= 0 || rq->yres <= 0 || rq->default_dpi <= 0)
		return escl_page_fail(err, errlen, "resolution must be positive");
	if (stat(path, &st) == -1)
		return escl_page_fail(err, errlen, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size > ESCL_PAGE_MAX_FILE)
		return escl_page_fail(err, errlen, "%s: not a regular file of at most %ld bytes",
				      path, ESCL_PAGE_MAX_FILE);
	if (pixReadHeader(path, &fmt, &pw, &ph, &bps, &spp, &cmap) != 0 || pw <= 0 || ph <= 0)
		return escl_page_fail(err, errlen, "%s: not an image leptonica can read", path);
	if ((long long)pw * ph > ESCL_PAGE_MAX_PIXELS)
		return escl_page_fail(err, errlen, "%s: %dx%d pixels is more than %ld", path, pw,
				      ph, ESCL_PAGE_MAX_PIXELS);
	if ((pix = pixRead(path)) == NULL)
		return escl_page_fail(err, errlen, "%s: cannot decode the image", path);
	xdpi = pixGetXRes(pix) > 0 ? pixGetXRes(pix) : rq->default_dpi;
	ydpi = pixGetYRes(pix) > 0 ? pixGetYRes(pix) : xdpi;
	if (pixGetColormap(pix) != NULL &&
	    escl_page_swap(&pix, pixRemoveColormap(pix, REMOVE_CMAP_BASED_ON_SRC)) == -1) {
		escl_page_fail(err, errlen, "%s: cannot remove the colour map", path);
		goto out;
	}
	/* colour first (scaling a 1-bit page would not interpolate), 1 bit after scaling */
	if (strcmp(rq->color, "RGB24") == 0) {
		if (escl_page_swap(&pix, pixConvertTo32(pix)) == -1) {
			escl_page_fail(err, errlen, "%s: cannot convert to RGB", path);
			goto out;
		}
		pixSetSpp(pix, 3); /* an alpha channel is not scanned */
	} else if (escl_page_swap(&pix, pixConvertTo8(pix, 0)) == -1) {
		escl_page_fail(err, errlen, "%s: cannot convert to gray", path);
		goto out;
	}
	if ((xdpi != rq->xres || ydpi != rq->yres) &&
	    escl_page_swap(&pix, pixScale(pix, (l_float32)rq->xres / (l_float32)xdpi,
					  (l_float32)rq->yres / (l_float32)ydpi)) == -1) {
		escl_page_fail(err, errlen, "%s: cannot scale from %d to %d dpi", path, xdpi,
			       rq->xres);
		goto out;
	}
	pixGetDimensions(pix, &pw, &ph, &d);
	if (rq->rw > 0 && rq->rh > 0) {
		int x = escl_page_muldiv(rq->rx, rq->xres, 300);
		int y = escl_page_muldiv(rq->ry, rq->yres, 300);
		int cw = escl_page_muldiv(rq->rw, rq->xres, 300);
		int ch = escl_page_muldiv(rq->rh, rq->yres, 300);

		if (x >= pw || y >= ph || cw <= 0 || ch <= 0) {
			escl_page_fail(err, errlen, "%s: the scan region lies outside the page",
				       path);
			goto out;
		}
		if (x > 0 || y > 0 || x + cw < pw || y + ch < ph) {
			BOX *box = boxCreate(x, y, cw, ch);
			PIX *clip = box ? pixClipRectangle(pix, box, NULL) : NULL;

			boxDestroy(&box);
			if (escl_page_swap(&pix, clip) == -1) {
				escl_page_fail(err, errlen, "%s: cannot clip to the scan region",
					       path);
				goto out;
			}
		}
	}
	if (bw && (rq->format != ESCL_PAGE_JPEG) &&
	    escl_page_swap(&pix, pixConvertTo1(pix, 128)) == -1) {
		escl_page_fail(err, errlen, "%s: cannot threshold to 1 bit", path);
		goto out;
	}
	pixSetResolution(pix, rq->xres, rq->yres);
	pixGetDimensions(pix, &pw, &ph, &d);
	switch (rq->format) {
	case ESCL_PAGE_PNG:
		/* zlib level 1: a 300 dpi A4 colour page in well under a second, not 5 s */
		pixSetZlibCompression(pix, 1);
		rc = pixWriteMem(&out, &outlen, pix, IFF_PNG);
		break;
	case ESCL_PAGE_JPEG:
		rc = pixWriteMemJpeg(&out, &outlen, pix, 90, 0);
		break;
	default:
		rc = pixWriteMem(&out, &outlen, pix, IFF_PNM);
		break;
	}
	if (rc != 0 || out == NULL) {
		rc = -1;
		escl_page_fail(err, errlen, "%s: cannot encode the page", path);
		goto out;
	}
	*data = out;
	*len = outlen;
	*w = pw;
	*h = ph;
	rc = 0;
out:
	pixDestroy(&pix);
	return rc;
}

void escl_page_free(unsigned char *data)
{
	if (data != NULL)
		lept_free(data);
}
