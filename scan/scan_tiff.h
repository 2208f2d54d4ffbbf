/*
 * scan_tiff.h - the scan product: one multi-page, lossless TIFF (scan.tiff).
 *
 * Pages stream in row by row (libtiff scanline writing); nothing holds a whole
 * page in memory. Bilevel pages are always CCITT G4 (MINISWHITE: 1 is black, as
 * SANE packs lineart); gray and colour pages Deflate (default) or LZW with
 * horizontal predictor, or JPEG (8-bit only, Photometric RGB or MinIsBlack, never
 * YCbCr) when the scan profile asks for it; never JBIG2. Every page carries its
 * capture tags (resolution, page number, Make/Model, Software, DateTime, Artist)
 * and an ImageDescription with compact JSON: page number, source, settings and,
 * for lossless pages, the SHA-256 of the page's rows as written (the page digest
 * of common/tiffpage.h, which the sign stage recomputes from the file). A JPEG
 * page's digest can only be taken from the file after it is written
 * (scan_tiff_file_digests); its description says "lossy": "jpeg" instead. A page that is aborted
 * half way (paper jam) leaves no trace in the file: the writer truncates it back to the last
 * complete page. Files are read back with tiffpage_open (common/tiffpage.h).
 */
#ifndef MAILROOM_SCAN_TIFF_H
#define MAILROOM_SCAN_TIFF_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define SCAN_TIFF_SHA_HEX 65

typedef struct scan_tiff scan_tiff;

/* What is the same on every page of one document. Strings are copied. */
struct scan_tiff_meta {
	const char *make;     /* device vendor, or "import" */
	const char *model;    /* device model, or the import decoder */
	const char *software; /* "mailroom-scan <version>" */
	const char *artist;   /* operator pseudonym */
	const char *source;   /* ImageDescription "source": device name or file name */
};

/* Compression of gray and colour pages (bilevel pages are always G4). */
enum scan_tiff_comp {
	SCAN_TIFF_DEFLATE = 0, /* the default */
	SCAN_TIFF_LZW,
	SCAN_TIFF_JPEG, /* 8-bit pages of known height only; others fall back to Deflate */
};

/* The layout of one page. bits 1 (samples 1 only), 8 or 16; samples 1 or 3. */
struct scan_tiff_page {
	uint32_t width;
	uint32_t height; /* 0: unknown (hand scanner); taken from the rows written */
	int bits;
	int samples;
	double xres, yres;		 /* dots per inch */
	enum scan_tiff_comp compression; /* gray and colour pages */
	int quality; /* JPEG quality 1..100 (0: 85); Deflate level 1..9 (0: 6) */
};

/* One finished page, as recorded in job.json capture.pages[]. */
struct scan_tiff_done {
	int n;
	uint32_t width, height;
	double xres, yres;
	int bits, samples;
	const char *compression;	/* "g4", "deflate", "lzw" or "jpeg" (static) */
	char sha256[SCAN_TIFF_SHA_HEX]; /* "" for a JPEG page: see scan_tiff_file_digests */
};

/*
 * Create path (O_EXCL|O_NOFOLLOW, 0600) for writing. NULL with err set.
 * max_alloc bounds libtiff's single allocations (0: libtiff default).
 */
scan_tiff *scan_tiff_create(const char *path, const struct scan_tiff_meta *meta, size_t max_alloc,
			    char *err, size_t errlen);
/* Do not fsync the file at close: the caller makes it durable later (the page
 * files of a scan batch: one syncfs before any letter of the batch is submitted). */
void scan_tiff_nosync(scan_tiff *t);
/* Start a page; settings (may be NULL, borrowed) goes into its ImageDescription. */
int scan_tiff_page_begin(scan_tiff *t, const struct scan_tiff_page *p, json_object *settings);
/* Bytes of one row for the current page (the scanline size). */
size_t scan_tiff_row_bytes(const scan_tiff *t);
/*
 * Append one row of row_bytes bytes (1-bit: 1 is black; 16-bit: host order). The
 * padding bits after its last pixel are cleared (tiffpage_clear_pad) in what is
 * written and hashed; row itself is not changed.
 */
int scan_tiff_page_row(scan_tiff *t, const void *row);
/* Finish the page: tags, digest, TIFFWriteDirectory (checked). */
int scan_tiff_page_end(scan_tiff *t);
/*
 * Append the only page of the TIFF file src, written by a scan_tiff writer with
 * lossless compression (G4, Deflate, LZW) and the layout p, without decoding it:
 * its compressed strips are copied as they are (the pixels, and so the page
 * digest sha256 of src, do not change); tags as scan_tiff_page_begin would set
 * them, settings (may be NULL) into the description. 0 or -1 (scan_tiff_error).
 */
int scan_tiff_page_copy(scan_tiff *t, const char *src, const struct scan_tiff_page *p,
			const char *sha256, json_object *settings);
/*
 * Append the only page of the TIFF file src (layout p) decoded and encoded again
 * with p's compression, turned by rotation degrees clockwise (0, 90, 180, 270;
 * losslessly, width/height and x/y resolution swapped for 90 and 270). The page
 * digest is taken over the rows written. 0 or -1 (scan_tiff_error; after a failed
 * page no further page can be added, as after scan_tiff_page_abort).
 */
int scan_tiff_page_transcode(scan_tiff *t, const char *src, const struct scan_tiff_page *p,
			     int rotation, json_object *settings);
/* Drop the current unfinished page: the file goes back to its last complete page. */
int scan_tiff_page_abort(scan_tiff *t);
/* Number of complete pages. */
int scan_tiff_pages(const scan_tiff *t);
/* Complete page i (0-based); owned by the writer. */
const struct scan_tiff_done *scan_tiff_page_info(const scan_tiff *t, int i);
/* The last error message; owned by the writer. */
const char *scan_tiff_error(const scan_tiff *t);
/* errno of the first write to the file that failed (disk full, I/O error), or 0:
 * tells our own failure from a bad input. */
int scan_tiff_io_errno(const scan_tiff *t);
/*
 * Close the file (fsync, close checked); an unfinished page is aborted first.
 * Returns 0 or -1 (err set); t is freed in every case.
 */
int scan_tiff_close(scan_tiff *t, char *err, size_t errlen);

/*
 * The page digests of every page of the file at path, as the sign stage computes
 * them (tiffpage_digest), into hex[0..n-1]. 0 when the file has exactly n pages,
 * -1 with err otherwise.
 */
int scan_tiff_file_digests(const char *path, size_t max_alloc, char (*hex)[SCAN_TIFF_SHA_HEX],
			   int n, char *err, size_t errlen);

#endif
