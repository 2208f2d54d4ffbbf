/*
 * classify_dup.c - duplicate detection by bytes and page fingerprint; see
 * classify_dup.h.
 */
#include "classify_dup.h"

#include <leptonica/allheaders.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

#define DUP_BUSY_MS 10000

struct classify_dup {
	sqlite3 *db;
};

classify_dup *classify_dup_close(classify_dup *d)
{
	if (d == NULL)
		return NULL;
	sqlite3_close(d->db);
	free(d);
	return NULL;
}

classify_dup *classify_dup_open(const char *path, char *err, size_t errlen)
{
	static const char schema[] =
	    "PRAGMA journal_mode=WAL;"
	    "CREATE TABLE IF NOT EXISTS letters ("
	    " job TEXT PRIMARY KEY, bytes TEXT, pages INTEGER NOT NULL,"
	    " fingerprints TEXT NOT NULL, created TEXT NOT NULL DEFAULT "
	    "(strftime('%Y-%m-%dT%H:%M:%SZ','now')));"
	    "CREATE INDEX IF NOT EXISTS letters_bytes ON letters(bytes);"
	    "CREATE INDEX IF NOT EXISTS letters_pages ON letters(pages);";
	classify_dup *d = xcalloc(1, sizeof(*d));
	char *msg = NULL;
	int rc;

	if (sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path, sqlite3_errmsg(d->db));
		return classify_dup_close(d);
	}
	sqlite3_busy_timeout(d->db, DUP_BUSY_MS);
	/* Workers open the database at the same moment. Switching a new file to WAL and
	 * creating the table can meet another connection's lock in a way SQLite does not
	 * wait for (the busy handler is skipped where waiting could deadlock): SQLITE_BUSY
	 * at once. The schema is idempotent, so it is tried again within DUP_BUSY_MS. */
	for (int waited = 0;; waited += 20) {
		rc = sqlite3_exec(d->db, schema, NULL, NULL, &msg);
		if (rc == SQLITE_OK || (rc & 0xff) != SQLITE_BUSY || waited >= DUP_BUSY_MS)
			break;
		sqlite3_free(msg);
		msg = NULL;
		sqlite3_sleep(20);
	}
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot create the table: %s", path,
			 msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return classify_dup_close(d);
	}
	return d;
}

int classify_dup_distance(const uint64_t *a, const uint64_t *b)
{
	int i, d = 0;

	for (i = 0; i < CLASSIFY_DUP_WORDS; i++)
		d += __builtin_popcountll(a[i] ^ b[i]);
	return d;
}

/* The dHash of one page into h[CLASSIFY_DUP_WORDS]: binarised, cropped to the
 * printed area, 17x16 gray, one bit per horizontal neighbour pair. An empty page
 * hashes to zero. */
static void dup_dhash(PIX *page, uint64_t *h)
{
	PIX *b = NULL, *c = NULL, *g = NULL, *s = NULL;
	l_uint32 v1, v2;
	int x, y, k = 0;

	memset(h, 0, CLASSIFY_DUP_WORDS * sizeof(*h));
	if ((b = pixConvertTo1(page, 128)) == NULL)
		goto out;
	if (pixClipToForeground(b, &c, NULL) != 0 || c == NULL)
		goto out; /* nothing printed */
	if ((g = pixConvertTo8(c, 0)) == NULL || (s = pixScaleToSize(g, 17, 16)) == NULL ||
	    pixGetWidth(s) != 17 || pixGetHeight(s) != 16)
		goto out;
	for (y = 0; y < 16; y++)
		for (x = 0; x < 16; x++, k++) {
			pixGetPixel(s, x, y, &v1);
			pixGetPixel(s, x + 1, y, &v2);
			if (v1 > v2)
				h[k / 64] |= (uint64_t)1 << (k % 64);
		}
out:
	pixDestroy(&b);
	pixDestroy(&c);
	pixDestroy(&g);
	pixDestroy(&s);
}

int classify_dup_fingerprint(const char *image, uint64_t *fp, size_t max, size_t *n, char *err,
			     size_t errlen)
{
	l_int32 format = IFF_UNKNOWN;
	size_t off = 0;

	*n = 0;
	if (findFileFormat(image, &format) != 0) {
		snprintf(err, errlen, "%s: cannot read the image format", image);
		return -1;
	}
	do {
		PIX *page;

		if (*n >= max) {
			snprintf(err, errlen, "%s: more than %zu pages", image, max);
			return -1;
		}
		page = format == IFF_TIFF || format == IFF_TIFF_G4 || format == IFF_TIFF_G3 ||
			       format == IFF_TIFF_LZW || format == IFF_TIFF_ZIP ||
			       format == IFF_TIFF_PACKBITS || format == IFF_TIFF_RLE ||
			       format == IFF_TIFF_JPEG
			   ? pixReadFromMultipageTiff(image, &off)
			   : (off = 0, pixRead(image));
		if (page == NULL) {
			snprintf(err, errlen, "%s: cannot decode page %zu", image, *n + 1);
			return -1;
		}
		dup_dhash(page, fp + CLASSIFY_DUP_WORDS * (*n)++);
		pixDestroy(&page);
	} while (off != 0);
	return 0;
}

/* fps as hex, 16 digits per word, into a new string. */
static char *dup_hex(const uint64_t *fp, size_t n)
{
	size_t i, words = n * CLASSIFY_DUP_WORDS;
	char *s = xmalloc(words * 16 + 1);

	for (i = 0; i < words; i++)
		snprintf(s + 16 * i, 17, "%016llx", (unsigned long long)fp[i]);
	s[words * 16] = '\0';
	return s;
}

/* 1 and the largest page distance if stored hex fps matches fp[0..n). */
static int dup_fp_match(const char *hex, const uint64_t *fp, size_t n, int *worst)
{
	size_t i;

	*worst = 0;
	if (hex == NULL || strlen(hex) != n * 16 * CLASSIFY_DUP_WORDS)
		return 0;
	for (i = 0; i < n; i++) {
		uint64_t w[CLASSIFY_DUP_WORDS];
		char part[17];
		int dd, k;

		for (k = 0; k < CLASSIFY_DUP_WORDS; k++) {
			memcpy(part, hex + 16 * (i * CLASSIFY_DUP_WORDS + (size_t)k), 16);
			part[16] = '\0';
			w[k] = strtoull(part, NULL, 16);
		}
		dd = classify_dup_distance(w, fp + i * CLASSIFY_DUP_WORDS);
		if (dd > CLASSIFY_DUP_MAX_BITS)
			return 0;
		if (dd > *worst)
			*worst = dd;
	}
	return 1;
}

/* A letter checked again (its run died after recording it, before the hand-off)
 * compares only with letters recorded before it: otherwise it would find the twin
 * recorded in between, and both twins would be flagged as copies of each other. */
#define DUP_EARLIER                                                                    \
	"AND rowid < coalesce((SELECT rowid FROM letters WHERE job = ?2), "              \
	"9223372036854775807) "

int classify_dup_check(classify_dup *d, const char *job, const char *bytes_key,
		       const uint64_t *fp, size_t n, struct classify_dup_match *m, char *err,
		       size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char *hex = dup_hex(fp, n);
	int rc = -1, found = 0;

	memset(m, 0, sizeof(*m));
	/* Look-up and insert are one write transaction: two workers checking twins at
	 * the same moment would otherwise both find nothing and both record. */
	if (sqlite3_exec(d->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "fingerprints database: %s", sqlite3_errmsg(d->db));
		free(hex);
		return -1;
	}
	if (bytes_key != NULL) {
		if (sqlite3_prepare_v2(d->db,
				       "SELECT job FROM letters WHERE bytes = ?1 AND job <> ?2 "
				       DUP_EARLIER "ORDER BY rowid LIMIT 1",
				       -1, &st, NULL) != SQLITE_OK)
			goto dberr;
		sqlite3_bind_text(st, 1, bytes_key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, job, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			snprintf(m->job, sizeof(m->job), "%s",
				 (const char *)sqlite3_column_text(st, 0));
			m->kind = "bytes";
			found = 1;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (!found && n > 0) {
		if (sqlite3_prepare_v2(d->db,
				       "SELECT job, fingerprints FROM letters WHERE pages = ?1 AND "
				       "job <> ?2 " DUP_EARLIER "ORDER BY rowid",
				       -1, &st, NULL) != SQLITE_OK)
			goto dberr;
		sqlite3_bind_int64(st, 1, (sqlite3_int64)n);
		sqlite3_bind_text(st, 2, job, -1, SQLITE_STATIC);
		while (!found && sqlite3_step(st) == SQLITE_ROW) {
			int worst;

			if (dup_fp_match((const char *)sqlite3_column_text(st, 1), fp, n, &worst)) {
				snprintf(m->job, sizeof(m->job), "%s",
					 (const char *)sqlite3_column_text(st, 0));
				m->kind = "fingerprint";
				m->distance = worst;
				found = 1;
			}
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (sqlite3_prepare_v2(d->db,
			       "INSERT OR IGNORE INTO letters (job, bytes, pages, fingerprints) "
			       "VALUES (?1, ?2, ?3, ?4)",
			       -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
	if (bytes_key != NULL)
		sqlite3_bind_text(st, 2, bytes_key, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)n);
	sqlite3_bind_text(st, 4, hex, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto dberr;
	rc = found;
	goto out;
dberr:
	snprintf(err, errlen, "fingerprints database: %s", sqlite3_errmsg(d->db));
	sqlite3_finalize(st);
	st = NULL;
	sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
out:
	sqlite3_finalize(st);
	free(hex);
	return rc;
}
