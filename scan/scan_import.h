/*
 * scan_import.h - decoders for imported files: the pages of a TIFF (also
 * multi-page), PNG, JPEG or PDF (rasterised with poppler-glib + cairo) are
 * streamed into a scan_tiff writer.
 *
 * The type is taken from the file's first bytes, never from its name. Every
 * decoder is bounded: at most max_pages pages of at most max_pixels pixels, and
 * libtiff's single allocations at most max_alloc. A file that breaks a bound or
 * cannot be decoded is reported with a reason that names the problem and the fix;
 * the caller quarantines it. The bytes of the file are never changed.
 */
#ifndef MAILROOM_SCAN_IMPORT_H
#define MAILROOM_SCAN_IMPORT_H

#include <stddef.h>

#include <json-c/json.h>

#include "scan_tiff.h"

enum scan_import_kind {
	SCAN_IMPORT_UNKNOWN,
	SCAN_IMPORT_TIFF,
	SCAN_IMPORT_PNG,
	SCAN_IMPORT_JPEG,
	SCAN_IMPORT_PDF
};

struct scan_import_limits {
	long max_pixels;  /* per page */
	long max_pages;	  /* per file */
	long pdf_dpi;	  /* rasterisation of PDF pages */
	long default_dpi; /* images that do not say their resolution */
	size_t max_alloc; /* libtiff single allocation limit */
};

/*
 * The kind of the file at path by its first bytes. SCAN_IMPORT_UNKNOWN with a
 * reason in err for an empty, unreadable or unsupported file.
 */
enum scan_import_kind scan_import_detect(const char *path, char *err, size_t errlen);
/* File name extension for the kind ("tif", "png", "jpg", "pdf"; "bin" if unknown). */
const char *scan_import_ext(enum scan_import_kind k);
/* Name of the decoder ("tiff", "png", "jpeg", "pdf", "unknown"). */
const char *scan_import_name(enum scan_import_kind k);

/*
 * Decode every page of path into t (settings, may be NULL, goes into each page's
 * description; tag prefixes log lines). 0, or -1 with the reason in err.
 */
int scan_import_decode(const char *path, enum scan_import_kind k,
		       const struct scan_import_limits *lim, scan_tiff *t, json_object *settings,
		       const char *tag, char *err, size_t errlen);

/*
 * The electronic signatures a PDF carries (PAdES / PDF signatures): *out is NULL when
 * there is none, else {"fields": [...], "byte_ranges": n, "signatures": n} with one
 * object per signed signature field as poppler reads it ({"field", "signer", "time",
 * "status", "certificate"}; the signature is checked against the bytes it covers,
 * its certificate is not validated here) and n the /ByteRange entries found in the
 * raw bytes (a signature poppler cannot map to a field still counts). The file is
 * only read. 0, or -1 with err (the file cannot be read).
 */
int scan_import_pdf_signatures(const char *path, json_object **out, char *err, size_t errlen);

#endif
