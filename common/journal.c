/*
 * journal.c - SQLite journal with a hash-chained event table; see journal.h.
 */
#include "journal.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "buf.h"
#include "digest.h"
#include "fileio.h"
#include "log.h"
#include "timefmt.h"
#include "xalloc.h"

#define JOURNAL_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

struct journal {
	sqlite3 *db;
	char who[128];
	char err[256]; /* SQLite's text of the last failed write */
};

static const char journal_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS letters("
    " job TEXT PRIMARY KEY, created TEXT NOT NULL, updated TEXT NOT NULL,"
    " stage TEXT NOT NULL, state TEXT NOT NULL, location TEXT, doc_type TEXT,"
    " scan_mode TEXT, office TEXT, reason TEXT);"
    "CREATE TABLE IF NOT EXISTS events("
    " seq INTEGER PRIMARY KEY, job TEXT NOT NULL, at TEXT NOT NULL, stage TEXT NOT NULL,"
    " who TEXT NOT NULL, action TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT,"
    " prev TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS events_job ON events(job);"
    "CREATE TABLE IF NOT EXISTS imports("
    " job TEXT PRIMARY KEY, path TEXT NOT NULL, sha256 TEXT NOT NULL, state TEXT NOT NULL,"
    " at TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS imports_file ON imports(sha256, path);"
    "CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events"
    " BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events"
    " BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END;";

journal *journal_open(const char *path, char *err, size_t errlen)
{
	journal *j = xcalloc(1, sizeof(*j));
	struct passwd *pw = getpwuid(geteuid());
	char *msg = NULL;

	/* SQLite would create it (and its -wal, -shm with the same mode) 0644 */
	if (fio_private(path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
						  SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(j->db));
		goto fail;
	}
	sqlite3_busy_timeout(j->db, 30000);
	if (sqlite3_exec(j->db, journal_schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errmsg(j->db));
		sqlite3_free(msg);
		goto fail;
	}
	snprintf(j->who, sizeof(j->who), "%s/%s", log_progname(), pw ? pw->pw_name : "?");
	return j;
fail:
	journal_close(j);
	return NULL;
}

journal *journal_close(journal *j)
{
	if (j == NULL)
		return NULL;
	sqlite3_close(j->db);
	free(j);
	return NULL;
}

/* Hash of one event: SHA-256 over its fields, each followed by a 0 byte. */
static void journal_hash(long long seq, const char *job, const char *at, const char *stage,
			 const char *who, const char *action, const char *outcome,
			 const char *detail, const char *prev, char out[DIGEST_SHA256_HEX])
{
	const char *f[9];
	char seqs[32];
	unsigned char d[DIGEST_SHA256_LEN];
	buf b;
	int i;

	snprintf(seqs, sizeof(seqs), "%lld", seq);
	f[0] = seqs; f[1] = job; f[2] = at; f[3] = stage; f[4] = who;
	f[5] = action; f[6] = outcome; f[7] = detail ? detail : ""; f[8] = prev;
	buf_init(&b, 1u << 20);
	for (i = 0; i < 9; i++)
		if (buf_add(&b, f[i], strlen(f[i]) + 1) == -1)
			log_panic("journal: event too large");
	digest_sha256(b.data, b.len, d);
	digest_hex(d, sizeof(d), out);
	buf_free(&b);
}

/* Bind text or NULL. */
static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static int journal_exec(journal *j, const char *sql)
{
	if (sqlite3_exec(j->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(j->err, sizeof(j->err), "%s", sqlite3_errmsg(j->db));
		log_warnx("journal: %s: %s", sql, j->err);
		return -1;
	}
	return 0;
}

const char *journal_error(const journal *j)
{
	return j->err[0] ? j->err : "unknown error";
}

int journal_record(journal *j, const struct journal_event *ev)
{
	sqlite3_stmt *st = NULL;
	char prev[DIGEST_SHA256_HEX] = JOURNAL_GENESIS, hash[DIGEST_SHA256_HEX];
	char now[TIMEFMT_ISO_MAX];
	long long seq = 1;
	int rc = -1;

	if (ev->job == NULL || ev->stage == NULL || ev->action == NULL || ev->outcome == NULL)
		log_panic("journal_record: missing field");
	timefmt_now(now);
	if (journal_exec(j, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (sqlite3_prepare_v2(j->db, "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0) + 1;
		snprintf(prev, sizeof(prev), "%s", (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	st = NULL;
	journal_hash(seq, ev->job, now, ev->stage, j->who, ev->action, ev->outcome, ev->detail,
		     prev, hash);
	if (sqlite3_prepare_v2(j->db,
			       "INSERT INTO events(seq,job,at,stage,who,action,outcome,detail,prev,"
			       "hash) VALUES(?,?,?,?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, seq);
	bind_text(st, 2, ev->job);
	bind_text(st, 3, now);
	bind_text(st, 4, ev->stage);
	bind_text(st, 5, j->who);
	bind_text(st, 6, ev->action);
	bind_text(st, 7, ev->outcome);
	bind_text(st, 8, ev->detail);
	bind_text(st, 9, prev);
	bind_text(st, 10, hash);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(
		j->db,
		"INSERT INTO letters(job,created,updated,stage,state,location,doc_type,scan_mode,"
		"office,reason) VALUES(?1,?2,?2,?3,coalesce(?4,'queued'),?5,?6,?7,?8,?9) "
		"ON CONFLICT(job) DO UPDATE SET updated=?2, stage=?3,"
		" state=coalesce(?4,state), location=coalesce(?5,location),"
		" doc_type=coalesce(?6,doc_type), scan_mode=coalesce(?7,scan_mode),"
		" office=coalesce(?8,office),"
		" reason=CASE WHEN ?4 IS NULL THEN reason ELSE ?9 END",
		-1, &st, NULL) != SQLITE_OK)
		goto out;
	bind_text(st, 1, ev->job);
	bind_text(st, 2, now);
	bind_text(st, 3, ev->stage);
	bind_text(st, 4, ev->state);
	bind_text(st, 5, ev->location);
	bind_text(st, 6, ev->doc_type);
	bind_text(st, 7, ev->scan_mode);
	bind_text(st, 8, ev->office);
	bind_text(st, 9, ev->reason);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	rc = 0;
out:
	if (rc == -1) {
		snprintf(j->err, sizeof(j->err), "%s", sqlite3_errmsg(j->db));
		log_warnx("%s: journal: %s", ev->job, j->err);
	}
	sqlite3_finalize(st);
	if (rc == 0 && journal_exec(j, "COMMIT") == -1)
		rc = -1;
	if (rc == -1)
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int journal_has_event(journal *j, const char *job, const char *action, const char *outcome)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(j->db,
			       "SELECT 1 FROM events WHERE job=? AND action=? AND outcome=? LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	bind_text(st, 1, job);
	bind_text(st, 2, action);
	bind_text(st, 3, outcome);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

#define COL(i) ((const char *)sqlite3_column_text(st, i))

/* Run a letters query and call cb per row. */
static int journal_letter_rows(sqlite3_stmt *st, journal_letter_cb cb, void *arg, int *found)
{
	int r;

	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct journal_letter l = {COL(0), COL(1), COL(2), COL(3), COL(4),
					   COL(5), COL(6), COL(7), COL(8), COL(9)};

		if (found != NULL)
			*found = 1;
		if (cb(&l, arg) != 0)
			return 0;
	}
	return r == SQLITE_DONE ? 0 : -1;
}

#define LETTER_COLS "job,created,updated,stage,state,location,doc_type,scan_mode,office,reason"

int journal_letters(journal *j, const char *state, journal_letter_cb cb, void *arg)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(j->db,
			       "SELECT " LETTER_COLS " FROM letters WHERE ?1 IS NULL OR state=?1 "
			       "ORDER BY created, job",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	bind_text(st, 1, state);
	rc = journal_letter_rows(st, cb, arg, NULL);
	sqlite3_finalize(st);
	return rc;
}

int journal_letter(journal *j, const char *job, journal_letter_cb cb, void *arg)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (sqlite3_prepare_v2(j->db, "SELECT " LETTER_COLS " FROM letters WHERE job=?", -1, &st,
			       NULL) != SQLITE_OK)
		return -1;
	bind_text(st, 1, job);
	rc = journal_letter_rows(st, cb, arg, &found);
	sqlite3_finalize(st);
	return rc == -1 ? -1 : found ? 0 : 1;
}

int journal_events(journal *j, const char *job, journal_event_cb cb, void *arg)
{
	sqlite3_stmt *st;
	int r;

	if (sqlite3_prepare_v2(j->db,
			       "SELECT seq,job,at,stage,who,action,outcome,detail,hash FROM events "
			       "WHERE ?1 IS NULL OR job=?1 ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	bind_text(st, 1, job);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct journal_entry e = {sqlite3_column_int64(st, 0), COL(1), COL(2), COL(3),
					  COL(4), COL(5), COL(6), COL(7), COL(8)};

		if (cb(&e, arg) != 0)
			break;
	}
	sqlite3_finalize(st);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : -1;
}

int journal_counts(journal *j, int (*cb)(const char *state, long long n, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int r;

	if (sqlite3_prepare_v2(j->db, "SELECT state, count(*) FROM letters GROUP BY state ORDER BY state",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		if (cb(COL(0), sqlite3_column_int64(st, 1), arg) != 0)
			break;
	sqlite3_finalize(st);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : -1;
}

/* Run one statement with up to three text parameters; -1 on error. */
static int journal_run(journal *j, const char *sql, const char *a, const char *b, const char *c,
		       const char *d)
{
	sqlite3_stmt *st;
	int r;

	if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("journal: %s", sqlite3_errmsg(j->db));
		return -1;
	}
	bind_text(st, 1, a);
	bind_text(st, 2, b);
	bind_text(st, 3, c);
	bind_text(st, 4, d);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE) {
		log_warnx("journal: %s", sqlite3_errmsg(j->db));
		return -1;
	}
	return 0;
}

int journal_import_begin(journal *j, const char *job, const char *path, const char *sha256)
{
	char now[TIMEFMT_ISO_MAX];

	return journal_run(j,
			   "INSERT OR REPLACE INTO imports(job,path,sha256,state,at) "
			   "VALUES(?1,?2,?3,'importing',?4)",
			   job, path, sha256, timefmt_now(now));
}

int journal_import_done(journal *j, const char *job)
{
	return journal_run(j, "UPDATE imports SET state='done' WHERE job=?1", job, NULL, NULL,
			   NULL);
}

int journal_import_pending(journal *j, const char *path, const char *sha256, char *job,
			   size_t joblen)
{
	sqlite3_stmt *st;
	int r;

	if (sqlite3_prepare_v2(j->db,
			       "SELECT job FROM imports WHERE path=?1 AND sha256=?2 AND "
			       "state='importing' ORDER BY at DESC LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	bind_text(st, 1, path);
	bind_text(st, 2, sha256);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		snprintf(job, joblen, "%s", COL(0));
	sqlite3_finalize(st);
	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -1;
}

int journal_import_of(journal *j, const char *job, char *path, size_t pathlen, char *sha256,
		      size_t shalen)
{
	sqlite3_stmt *st;
	int r;

	if (sqlite3_prepare_v2(j->db,
			       "SELECT path, sha256 FROM imports WHERE job=?1 AND state='importing'",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	bind_text(st, 1, job);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		snprintf(path, pathlen, "%s", COL(0));
		snprintf(sha256, shalen, "%s", COL(1));
	}
	sqlite3_finalize(st);
	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -1;
}

int journal_verify(journal *j, long long *checked, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	char prev[DIGEST_SHA256_HEX] = JOURNAL_GENESIS, h[DIGEST_SHA256_HEX];
	long long expect = 1;
	int r, rc = 0;

	*checked = 0;
	if (sqlite3_prepare_v2(j->db,
			       "SELECT seq,job,at,stage,who,action,outcome,detail,prev,hash "
			       "FROM events ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "journal: %s", sqlite3_errmsg(j->db));
		return -1;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		long long seq = sqlite3_column_int64(st, 0);

		if (seq != expect) {
			snprintf(err, errlen, "event %lld is missing (next is %lld): rows deleted",
				 expect, seq);
			rc = 1;
			break;
		}
		if (COL(8) == NULL || strcmp(COL(8), prev) != 0) {
			snprintf(err, errlen, "event %lld does not link to event %lld", seq, seq - 1);
			rc = 1;
			break;
		}
		journal_hash(seq, COL(1) ? COL(1) : "", COL(2) ? COL(2) : "", COL(3) ? COL(3) : "",
			     COL(4) ? COL(4) : "", COL(5) ? COL(5) : "", COL(6) ? COL(6) : "",
			     COL(7), prev, h);
		if (COL(9) == NULL || strcmp(COL(9), h) != 0) {
			snprintf(err, errlen, "event %lld (job %s) was changed after it was written",
				 seq, COL(1) ? COL(1) : "?");
			rc = 1;
			break;
		}
		snprintf(prev, sizeof(prev), "%s", h);
		expect++;
		(*checked)++;
	}
	if (rc == 0 && r != SQLITE_DONE) {
		snprintf(err, errlen, "journal: %s", sqlite3_errmsg(j->db));
		rc = -1;
	}
	sqlite3_finalize(st);
	/* The chain cannot see rows cut off its end; each event also stamps its letter's
	 * row with the same time, so a letter updated after its latest event lost it.
	 * XXX a chain head kept outside the file (or time-stamped) would catch a
	 * rewrite of the whole chain. */
	if (rc == 0 &&
	    sqlite3_prepare_v2(j->db,
			       "SELECT l.job, l.updated FROM letters l WHERE l.updated > "
			       "coalesce((SELECT max(e.at) FROM events e WHERE e.job = l.job), '') "
			       "ORDER BY l.updated LIMIT 1",
			       -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			snprintf(err, errlen,
				 "the last event of job %s (at %s) is missing: rows deleted at "
				 "the end of the journal",
				 COL(0) ? COL(0) : "?", COL(1) ? COL(1) : "?");
			rc = 1;
		}
		sqlite3_finalize(st);
	}
	return rc;
}
