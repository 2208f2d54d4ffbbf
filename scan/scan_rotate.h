/*
 * scan_rotate.h - turning a page by 90, 180 or 270 degrees clockwise, losslessly,
 * at every depth the scan product has (1-bit packed MSB first, 8 and 16 bits,
 * one or three samples). Used for pages that page analysis found upside down or
 * sideways; the pixels are only moved, never changed.
 */
#ifndef MAILROOM_SCAN_ROTATE_H
#define MAILROOM_SCAN_ROTATE_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of one packed row of width pixels. */
size_t scan_rotate_row_bytes(uint32_t width, int bits, int samples);
/*
 * Rotate src (height rows of scan_rotate_row_bytes(width) bytes) by deg degrees
 * clockwise (90, 180, 270) into a new buffer (*dst, caller frees) of *dw x *dh
 * pixels. 0, or -1 for a bad angle or layout.
 */
int scan_rotate(const unsigned char *src, uint32_t width, uint32_t height, int bits, int samples,
		int deg, unsigned char **dst, uint32_t *dw, uint32_t *dh);

#endif
