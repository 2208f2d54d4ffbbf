/*
 * classify_dup.h - duplicate detection: a letter that was submitted before.
 *
 * Two keys per letter, kept in a small SQLite database of its own
 * (var/fingerprints.db, table "letters"; not the journal):
 *  - bytes: SHA-256 over the page digests of capture.pages[] (decoded scanlines,
 *    independent of the TIFF container and its time stamps) or, without them, of
 *    the imported original file: the same scan or the same file imported twice;
 *  - fingerprint: per page a 256-bit difference hash (dHash) computed with
 *    leptonica: the page binarised, cropped to its printed area (so margins and
 *    scan offsets do not count), scaled to 17x16 gray, one bit per horizontal
 *    neighbour pair: the same paper scanned again, at another resolution or as
 *    another file format. Pages match when their hashes differ in at most
 *    CLASSIFY_DUP_MAX_BITS bits; letters match when they have the same number of
 *    pages and every page matches. Measured on the test letters: the same letter
 *    at 150/200/300 dpi differs in 7-10 bits, different letters in 42-74. (A 9x8
 *    hash of 64 bits was tried first: every DIN 5008 letter looks alike at that
 *    size - distances 0-8 between different letters.)
 * A duplicate is not dropped: the caller records duplicate_of / duplicate_kind and
 * the letter goes on.
 *
 * XXX a dHash sees the layout of a page, not its words: two letters printed from
 * one template with the same line lengths can collide, and a speck of dirt in a
 * corner changes the crop and so the hash. The flag says "resubmission?" for a
 * person to check; it never drops a letter.
 */
#ifndef MAILROOM_CLASSIFY_DUP_H
#define MAILROOM_CLASSIFY_DUP_H

#include <stddef.h>
#include <stdint.h>

#define CLASSIFY_DUP_FILE "fingerprints.db"
#define CLASSIFY_DUP_MAX_PAGES 500
#define CLASSIFY_DUP_WORDS 4	 /* 64-bit words per page fingerprint (17x16 dHash) */
#define CLASSIFY_DUP_MAX_BITS 24 /* per page, of 256 */

typedef struct classify_dup classify_dup;

struct classify_dup_match {
	char job[64];	  /* the earlier letter */
	const char *kind; /* "bytes" or "fingerprint" (static) */
	int distance;	  /* largest page distance in bits (0 for bytes) */
};

/* Open (create) the database at path. NULL with err set. */
classify_dup *classify_dup_open(const char *path, char *err, size_t errlen);
classify_dup *classify_dup_close(classify_dup *d);

/* The dHash of every page of image (TIFF, multi-page; or PNG/JPEG: one page) into
 * fp[0..max * CLASSIFY_DUP_WORDS), CLASSIFY_DUP_WORDS words per page; *n gets the
 * number of pages. 0, or -1 with err set. */
int classify_dup_fingerprint(const char *image, uint64_t *fp, size_t max, size_t *n, char *err,
			     size_t errlen);
/* Number of differing bits of two page fingerprints (CLASSIFY_DUP_WORDS words). */
int classify_dup_distance(const uint64_t *a, const uint64_t *b);

/*
 * Look for an earlier letter with the same bytes key (may be NULL) or the same
 * page fingerprints, then record this one (idempotent per job id: a second run
 * keeps the first record). 1 found (m filled), 0 not, -1 with err set.
 */
int classify_dup_check(classify_dup *d, const char *job, const char *bytes_key,
		       const uint64_t *fp, size_t n, struct classify_dup_match *m, char *err,
		       size_t errlen);

#endif
