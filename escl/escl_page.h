/*
 * escl_page.h - one page image of the emulator's stack, made into what a scan job
 * asked for (leptonica).
 *
 * The stack image (any format leptonica reads: PNG, PNM, TIFF, JPEG ...) is taken
 * as the paper: its own resolution (PNG pHYs, TIFF tags) or, when it states none,
 * the default dpi given. It is converted to the job's colour mode (RGB24: 8-bit
 * RGB; Grayscale8: luminance; BlackAndWhite1: luminance thresholded at 128),
 * scaled to the job's resolution, clipped to the job's scan region (a region larger
 * than the paper gives the paper: an ADF scans the sheet, not the glass) and
 * encoded as PNG (lossless: what the backend decodes is exactly the converted
 * image), JPEG (quality 90; 1-bit pages are sent as 8-bit gray) or, for
 * --render, PNM. An input of more than ESCL_PAGE_MAX_PIXELS or larger than
 * ESCL_PAGE_MAX_FILE bytes is refused before it is decoded.
 */
#ifndef MAILROOM_ESCL_PAGE_H
#define MAILROOM_ESCL_PAGE_H

#include <stddef.h>

#define ESCL_PAGE_MAX_PIXELS 100000000L
#define ESCL_PAGE_MAX_FILE (256L << 20)

enum escl_page_format { ESCL_PAGE_PNG, ESCL_PAGE_JPEG, ESCL_PAGE_PNM };

struct escl_page_req {
	const char *color;	      /* "RGB24", "Grayscale8" or "BlackAndWhite1" */
	int xres, yres;		      /* dpi of the result */
	enum escl_page_format format; /* encoding of the result */
	/* scan region in 1/300 inch; width or height <= 0: the whole page */
	int rx, ry, rw, rh;
	int default_dpi; /* resolution of a stack image that states none */
};

/*
 * Render the image at path as rq asks. 0 with the encoded bytes in *data (free
 * them with escl_page_free) and their number in *len, the pixel size in *w / *h;
 * -1 with the reason (naming path) in err.
 */
int escl_page_render(const char *path, const struct escl_page_req *rq, unsigned char **data,
		     size_t *len, int *w, int *h, char *err, size_t errlen);
/* Free what escl_page_render returned; accepts NULL. */
void escl_page_free(unsigned char *data);
/* 1 if color names a colour mode escl_page_render knows. */
int escl_page_color_ok(const char *color);

#endif
