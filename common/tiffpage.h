/*
 * tiffpage.h - reading TIFF files with limits, and the page digest of scan.tiff.
 *
 * Opening: TIFFOpenExt with TIFFOpenOptions (largest single allocation bounded),
 * libtiff's errors and warnings routed to the log per handle, each line starting
 * with a tag (the job id), the first error kept for the caller's reason.
 *
 * The page digest is the SHA-256 of a page's pixel data: its decoded scanlines in
 * row order, TIFFScanlineSize bytes per row (for separate planes, plane after
 * plane), the padding bits after the last pixel of a row cleared (bilevel and
 * other rows that do not end on a byte). The scan stage hashes the rows it writes
 * with tiffpage_hash_*, the sign stage recomputes the digest of every page with
 * tiffpage_digest: both go through the same code, so a good scan passes the
 * quality check.
 */
#ifndef MAILROOM_TIFFPAGE_H
#define MAILROOM_TIFFPAGE_H

#include <stddef.h>
#include <stdint.h>

#include <tiffio.h>

#include "digest.h"

#define TIFFPAGE_MAX_LINE (16u << 20) /* bytes per decoded scanline */

/* Where a reading handle's libtiff messages go; must outlive the handle. */
struct tiffpage_errs {
	const char *tag; /* job id (or file name) that starts each log line */
	char msg[512];	 /* the first error libtiff reported */
	int errors;	 /* how many errors libtiff reported */
	int quiet;	 /* 1: warnings only at debug level (foreign files), 0: as warnings */
};

/*
 * Open path for reading with TIFFOpenExt: single allocations bounded by max_alloc
 * (0: libtiff's default), errors and warnings routed to the log, the first error
 * kept in errs (msg and errors are reset here). NULL on error (errs->msg says why).
 * Close with TIFFClose.
 */
TIFF *tiffpage_open(const char *path, size_t max_alloc, struct tiffpage_errs *errs);

/* Bits of image data in one row: width * bits * samples (samples 1 for one plane). */
uint64_t tiffpage_row_bits(uint32_t width, unsigned int bits, unsigned int samples);
/*
 * Clear the padding bits after the last pixel of a row of row_bytes bytes holding
 * row_bits bits of image data (the low bits of the last byte, when the row does not
 * end on a byte and is packed without gaps). Decoders (CCITT G4) need not write them.
 */
void tiffpage_clear_pad(unsigned char *row, size_t row_bytes, uint64_t row_bits);

typedef struct tiffpage_hash tiffpage_hash;

/* A page digest in progress (never NULL: fatal when out of memory). */
tiffpage_hash *tiffpage_hash_new(void);
/* Free a page digest; accepts NULL, returns NULL. */
tiffpage_hash *tiffpage_hash_free(tiffpage_hash *h);
/* Start a page whose rows hold row_bits bits of image data in row_bytes bytes. 0 or -1. */
int tiffpage_hash_begin(tiffpage_hash *h, uint64_t row_bits, size_t row_bytes);
/* Add the next row (row_bytes bytes); its padding bits are cleared in place first. 0 or -1. */
int tiffpage_hash_row(tiffpage_hash *h, unsigned char *row);
/* Finish the page: lowercase hex SHA-256 into hex. 0 or -1. */
int tiffpage_hash_end(tiffpage_hash *h, char hex[DIGEST_SHA256_HEX]);

/* Results of tiffpage_digest (0 is success). */
enum tiffpage_result {
	TIFFPAGE_OK = 0,
	TIFFPAGE_ERROR = -1,  /* SHA-256 unavailable */
	TIFFPAGE_TILED = -2,  /* tiled, not strips: no scanlines to read */
	TIFFPAGE_SIZE = -3,   /* no width or height, or rows too long */
	TIFFPAGE_DECODE = -4, /* a row cannot be decoded (info->bad_row) */
};

/* The layout of a page, as tiffpage_digest found it. */
struct tiffpage_info {
	uint32_t width, height;
	uint16_t bits, samples, photometric, planar;
	uint32_t bad_row; /* with TIFFPAGE_DECODE: the row that cannot be decoded */
};

/*
 * The page digest of the current directory of tif into hex; its layout into info
 * (filled whatever the result). TIFFPAGE_OK, or a negative tiffpage_result.
 */
int tiffpage_digest(TIFF *tif, struct tiffpage_info *info, char hex[DIGEST_SHA256_HEX]);

#endif
