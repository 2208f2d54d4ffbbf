/*
 * resign_db.c - var/resign.db; see resign_db.h.
 */
#include "resign_db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "fileio.h"
#include "timefmt.h"
#include "xalloc.h"

struct resign_db {
	sqlite3 *db;
	sqlite3_stmt *get_letter; /* kept: its strings live until the next call */
};

static const char resign_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS runs("
    " id INTEGER PRIMARY KEY, kind TEXT NOT NULL"
    "  CHECK(kind IN ('initial','timestamp','hashtree')),"
    " digest TEXT NOT NULL, state TEXT NOT NULL CHECK(state IN ('open','stamped','done')),"
    " started TEXT NOT NULL, stamped TEXT, finished TEXT,"
    " root BLOB, token BLOB, gen_time INTEGER, tsa TEXT, tsa_not_after INTEGER,"
    " key_type TEXT, key_bits INTEGER, sig_digest TEXT);"
    "CREATE TABLE IF NOT EXISTS leaves("
    " run INTEGER NOT NULL REFERENCES runs(id), idx INTEGER NOT NULL, value BLOB NOT NULL,"
    " PRIMARY KEY(run, idx));"
    "CREATE TABLE IF NOT EXISTS members("
    " run INTEGER NOT NULL REFERENCES runs(id), job TEXT NOT NULL, leaf INTEGER NOT NULL,"
    " grp BLOB, prev_run INTEGER, done INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(run, job));"
    "CREATE TABLE IF NOT EXISTS letters("
    " job TEXT PRIMARY KEY, dir TEXT NOT NULL, files TEXT NOT NULL, digest TEXT NOT NULL,"
    " chains INTEGER NOT NULL DEFAULT 0, ats INTEGER NOT NULL DEFAULT 0,"
    " last_run INTEGER, pending_run INTEGER);"
    "CREATE INDEX IF NOT EXISTS letters_last ON letters(last_run);";

resign_db *resign_db_open(const char *path, int readonly, char *err, size_t errlen)
{
	resign_db *d = xcalloc(1, sizeof(*d));
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	char *msg = NULL;

	/* SQLite would create it (and its -wal, -shm with the same mode) 0644 */
	if (!readonly && fio_private(path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return resign_db_close(d);
	}
	if (sqlite3_open_v2(path, &d->db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(d->db));
		return resign_db_close(d);
	}
	sqlite3_busy_timeout(d->db, 30000);
	if (!readonly && sqlite3_exec(d->db, resign_schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errmsg(d->db));
		sqlite3_free(msg);
		return resign_db_close(d);
	}
	return d;
}

resign_db *resign_db_close(resign_db *d)
{
	if (d == NULL)
		return NULL;
	sqlite3_finalize(d->get_letter);
	sqlite3_close(d->db);
	free(d);
	return NULL;
}

const char *resign_db_error(resign_db *d)
{
	return sqlite3_errmsg(d->db);
}

int resign_db_begin(resign_db *d)
{
	return sqlite3_exec(d->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int resign_db_commit(resign_db *d)
{
	return sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

void resign_db_rollback(resign_db *d)
{
	sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Prepare sql; NULL on error. */
static sqlite3_stmt *resign_prep(resign_db *d, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	return st;
}

/* Step a statement that returns no rows and finalize it. 0 or -1. */
static int resign_done(sqlite3_stmt *st)
{
	int r = sqlite3_step(st);

	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : -1;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
	if (p != NULL)
		sqlite3_bind_blob64(st, i, p, n, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void bind_id(sqlite3_stmt *st, int i, long long id)
{
	if (id > 0)
		sqlite3_bind_int64(st, i, id);
	else
		sqlite3_bind_null(st, i);
}

/* Copy a text column into out. */
static void col_text(sqlite3_stmt *st, int i, char *out, size_t outlen)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(out, outlen, "%s", s ? (const char *)s : "");
}

void resign_run_clear(struct resign_run *r)
{
	free(r->token);
	memset(r, 0, sizeof(*r));
}

long long resign_db_run_new(resign_db *d, const char *kind, const char *digest)
{
	sqlite3_stmt *st = resign_prep(
	    d, "INSERT INTO runs(kind, digest, state, started) VALUES(?, ?, 'open', ?)");
	char now[TIMEFMT_ISO_MAX];

	if (st == NULL)
		return -1;
	bind_text(st, 1, kind);
	bind_text(st, 2, digest);
	bind_text(st, 3, timefmt_now(now));
	if (resign_done(st) == -1)
		return -1;
	return sqlite3_last_insert_rowid(d->db);
}

/* Fill r from a runs row (columns of RUN_COLS). */
#define RUN_COLS                                                                                   \
	"id, kind, digest, state, started, token, gen_time, tsa, tsa_not_after, key_type, "        \
	"key_bits, sig_digest, (SELECT count(*) FROM members m WHERE m.run = runs.id), "           \
	"(SELECT count(*) FROM leaves l WHERE l.run = runs.id)"
static void resign_run_row(sqlite3_stmt *st, struct resign_run *r)
{
	const void *tok;
	int n;

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	col_text(st, 1, r->kind, sizeof(r->kind));
	col_text(st, 2, r->digest, sizeof(r->digest));
	col_text(st, 3, r->state, sizeof(r->state));
	col_text(st, 4, r->started, sizeof(r->started));
	if ((tok = sqlite3_column_blob(st, 5)) != NULL && (n = sqlite3_column_bytes(st, 5)) > 0) {
		r->token = xmalloc((size_t)n);
		memcpy(r->token, tok, (size_t)n);
		r->token_len = (size_t)n;
	}
	r->gen_time = (time_t)sqlite3_column_int64(st, 6);
	col_text(st, 7, r->tsa, sizeof(r->tsa));
	r->tsa_not_after = (time_t)sqlite3_column_int64(st, 8);
	col_text(st, 9, r->key_type, sizeof(r->key_type));
	r->key_bits = sqlite3_column_int(st, 10);
	col_text(st, 11, r->sig_digest, sizeof(r->sig_digest));
	r->members = (long)sqlite3_column_int64(st, 12);
	r->leaves = (long)sqlite3_column_int64(st, 13);
}

int resign_db_run_get(resign_db *d, long long id, struct resign_run *r)
{
	sqlite3_stmt *st = resign_prep(d, "SELECT " RUN_COLS " FROM runs WHERE id = ?");
	int rc;

	memset(r, 0, sizeof(*r));
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		resign_run_row(st, r);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int resign_db_runs(resign_db *d, int (*cb)(const struct resign_run *r, void *arg), void *arg)
{
	sqlite3_stmt *st =
	    resign_prep(d, "SELECT " RUN_COLS " FROM runs WHERE token IS NOT NULL ORDER BY id");
	struct resign_run r;
	int rc, stop = 0;

	if (st == NULL)
		return -1;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		resign_run_row(st, &r);
		stop = cb(&r, arg);
		resign_run_clear(&r);
	}
	sqlite3_finalize(st);
	if (stop)
		return stop;
	return rc == SQLITE_DONE ? 0 : -1;
}

int resign_db_newest(resign_db *d, struct resign_run *r)
{
	sqlite3_stmt *st = resign_prep(d, "SELECT " RUN_COLS " FROM runs WHERE token IS NOT NULL"
					  " ORDER BY gen_time DESC, id DESC LIMIT 1");
	int rc;

	memset(r, 0, sizeof(*r));
	if (st == NULL)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		resign_run_row(st, r);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int resign_db_run_stamped(resign_db *d, long long id, const unsigned char *root, size_t rootlen,
			  const unsigned char *tok, size_t toklen, time_t gen_time, const char *tsa,
			  time_t not_after, const char *key_type, int key_bits,
			  const char *sig_digest)
{
	sqlite3_stmt *st = resign_prep(
	    d, "UPDATE runs SET state = 'stamped', stamped = ?, root = ?, token = ?, gen_time = ?,"
	       " tsa = ?, tsa_not_after = ?, key_type = ?, key_bits = ?, sig_digest = ?"
	       " WHERE id = ? AND state = 'open'");
	char now[TIMEFMT_ISO_MAX];

	if (st == NULL)
		return -1;
	bind_text(st, 1, timefmt_now(now));
	bind_blob(st, 2, root, rootlen);
	bind_blob(st, 3, tok, toklen);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)gen_time);
	bind_text(st, 5, tsa);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)not_after);
	bind_text(st, 7, key_type);
	sqlite3_bind_int(st, 8, key_bits);
	bind_text(st, 9, sig_digest);
	sqlite3_bind_int64(st, 10, id);
	if (resign_done(st) == -1)
		return -1;
	return sqlite3_changes(d->db) == 1 ? 0 : -1;
}

int resign_db_run_done(resign_db *d, long long id)
{
	sqlite3_stmt *st =
	    resign_prep(d, "UPDATE runs SET state = 'done', finished = ? WHERE id = ?");
	char now[TIMEFMT_ISO_MAX];

	if (st == NULL)
		return -1;
	bind_text(st, 1, timefmt_now(now));
	sqlite3_bind_int64(st, 2, id);
	return resign_done(st);
}

int resign_db_unfinished(resign_db *d, long long *out, int max)
{
	sqlite3_stmt *st = resign_prep(d, "SELECT id FROM runs WHERE state != 'done' ORDER BY id");
	int n = 0, r;

	if (st == NULL)
		return -1;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		if (n < max)
			out[n++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? n : -1;
}

int resign_db_leaf_add(resign_db *d, long long run, long idx, const unsigned char *v, size_t len)
{
	sqlite3_stmt *st = resign_prep(d, "INSERT INTO leaves(run, idx, value) VALUES(?, ?, ?)");

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_int64(st, 2, idx);
	bind_blob(st, 3, v, len);
	return resign_done(st);
}

int resign_db_leaves(resign_db *d, long long run, size_t hlen, unsigned char **out, size_t *n)
{
	sqlite3_stmt *st =
	    resign_prep(d, "SELECT idx, value FROM leaves WHERE run = ? ORDER BY idx");
	size_t cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, run);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 0) != (sqlite3_int64)*n ||
		    (size_t)sqlite3_column_bytes(st, 1) != hlen) {
			r = SQLITE_CORRUPT;
			break;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*out = xrealloc(*out, cap * hlen);
		}
		memcpy(*out + *n * hlen, sqlite3_column_blob(st, 1), hlen);
		(*n)++;
	}
	sqlite3_finalize(st);
	if (r != SQLITE_DONE) {
		free(*out);
		*out = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

int resign_db_member_add(resign_db *d, long long run, const char *job, long leaf,
			 const unsigned char *grp, size_t grplen, long long prev_run)
{
	sqlite3_stmt *st = resign_prep(
	    d, "INSERT INTO members(run, job, leaf, grp, prev_run) VALUES(?, ?, ?, ?, ?)");

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, run);
	bind_text(st, 2, job);
	sqlite3_bind_int64(st, 3, leaf);
	bind_blob(st, 4, grp, grplen);
	bind_id(st, 5, prev_run);
	return resign_done(st);
}

int resign_db_members(resign_db *d, long long run,
		      int (*cb)(const struct resign_member *m, void *arg), void *arg)
{
	sqlite3_stmt *st = resign_prep(
	    d, "SELECT job, leaf, grp, prev_run, done FROM members WHERE run = ? ORDER BY job");
	struct resign_member m;
	int r, stop = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, run);
	while (!stop && (r = sqlite3_step(st)) == SQLITE_ROW) {
		m.job = (const char *)sqlite3_column_text(st, 0);
		m.leaf = (long)sqlite3_column_int64(st, 1);
		m.grp = sqlite3_column_blob(st, 2);
		m.grplen = (size_t)sqlite3_column_bytes(st, 2);
		m.prev_run = sqlite3_column_int64(st, 3);
		m.done = sqlite3_column_int(st, 4);
		stop = cb(&m, arg);
	}
	sqlite3_finalize(st);
	if (stop)
		return stop;
	return r == SQLITE_DONE ? 0 : -1;
}

int resign_db_member_done(resign_db *d, long long run, const char *job, int done)
{
	sqlite3_stmt *st =
	    resign_prep(d, "UPDATE members SET done = ? WHERE run = ? AND job = ? AND done < ?");

	if (st == NULL)
		return -1;
	sqlite3_bind_int(st, 1, done);
	sqlite3_bind_int64(st, 2, run);
	bind_text(st, 3, job);
	sqlite3_bind_int(st, 4, done);
	return resign_done(st);
}

int resign_db_letter_known(resign_db *d, const char *job)
{
	sqlite3_stmt *st = resign_prep(d, "SELECT 1 FROM letters WHERE job = ?");
	int r;

	if (st == NULL)
		return -1;
	bind_text(st, 1, job);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -1;
}

int resign_db_letter_add(resign_db *d, const char *job, const char *dir, const char *files,
			 const char *digest, long long pending_run)
{
	sqlite3_stmt *st = resign_prep(
	    d, "INSERT INTO letters(job, dir, files, digest, pending_run) VALUES(?, ?, ?, ?, ?)");

	if (st == NULL)
		return -1;
	bind_text(st, 1, job);
	bind_text(st, 2, dir);
	bind_text(st, 3, files);
	bind_text(st, 4, digest);
	bind_id(st, 5, pending_run);
	return resign_done(st);
}

int resign_db_letter_pending(resign_db *d, const char *job, long long run)
{
	sqlite3_stmt *st = resign_prep(d, "UPDATE letters SET pending_run = ? WHERE job = ?");

	if (st == NULL)
		return -1;
	bind_id(st, 1, run);
	bind_text(st, 2, job);
	return resign_done(st);
}

int resign_db_letter_written(resign_db *d, const char *job, const char *digest, long chains,
			     long ats, long long last_run)
{
	sqlite3_stmt *st = resign_prep(d, "UPDATE letters SET digest = ?, chains = ?, ats = ?,"
					  " last_run = ?, pending_run = NULL WHERE job = ?");

	if (st == NULL)
		return -1;
	bind_text(st, 1, digest);
	sqlite3_bind_int64(st, 2, chains);
	sqlite3_bind_int64(st, 3, ats);
	bind_id(st, 4, last_run);
	bind_text(st, 5, job);
	return resign_done(st);
}

/* Fill l from a letters row: job, dir, files, digest, chains, ats, last_run, pending_run. */
static void resign_letter_row(sqlite3_stmt *st, struct resign_letter *l)
{
	l->job = (const char *)sqlite3_column_text(st, 0);
	l->dir = (const char *)sqlite3_column_text(st, 1);
	l->files = (const char *)sqlite3_column_text(st, 2);
	l->digest = (const char *)sqlite3_column_text(st, 3);
	l->chains = (long)sqlite3_column_int64(st, 4);
	l->ats = (long)sqlite3_column_int64(st, 5);
	l->last_run = sqlite3_column_int64(st, 6);
	l->pending_run = sqlite3_column_int64(st, 7);
}

#define LETTER_COLS "job, dir, files, digest, chains, ats, last_run, pending_run"

int resign_db_letter_get(resign_db *d, const char *job, struct resign_letter *l)
{
	int r;

	memset(l, 0, sizeof(*l));
	sqlite3_finalize(d->get_letter);
	if ((d->get_letter = resign_prep(d, "SELECT " LETTER_COLS " FROM letters WHERE job = ?")) ==
	    NULL)
		return -1;
	bind_text(d->get_letter, 1, job);
	if ((r = sqlite3_step(d->get_letter)) == SQLITE_ROW)
		resign_letter_row(d->get_letter, l);
	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -1;
}

int resign_db_letters(resign_db *d, int (*cb)(const struct resign_letter *l, void *arg), void *arg)
{
	sqlite3_stmt *st =
	    resign_prep(d, "SELECT " LETTER_COLS " FROM letters WHERE last_run IS NOT NULL AND"
			   " pending_run IS NULL ORDER BY job");
	struct resign_letter l;
	int r, stop = 0;

	if (st == NULL)
		return -1;
	while (!stop && (r = sqlite3_step(st)) == SQLITE_ROW) {
		resign_letter_row(st, &l);
		stop = cb(&l, arg);
	}
	sqlite3_finalize(st);
	if (stop)
		return stop;
	return r == SQLITE_DONE ? 0 : -1;
}
