/*
 * resign_db.h - var/resign.db, mailroom-resign's own state (SQLite, WAL).
 *
 * runs     one row per hash tree: kind (initial, timestamp, hashtree), its hash,
 *          state open -> stamped -> done, the root, and the token (DER), stored
 *          in the same transaction as "stamped" BEFORE any evidence record is
 *          written; what the token says (genTime, TSA, its certificate's
 *          notAfter, key type and size, signature hash) for the renewal policy.
 * leaves   the tree's leaves in order (distinct values), so the tree is rebuilt
 *          exactly after a crash without reading a document again.
 * members  which letter hangs on which leaf; its data group (the first hash
 *          list) for initial and hash-tree runs, the run whose token it renews
 *          for timestamp runs; done: 0 nothing yet, 1 record written, 2 journal
 *          event recorded.
 * letters  one row per letter with an evidence record (or one in progress):
 *          the covered files, the current chain's hash, chains and time-stamps,
 *          last_run (whose token is the record's last time-stamp) and
 *          pending_run (a run not finished for it: it joins no other run).
 * Membership is fixed when a run is created: letters sealed later wait for the
 * next run. All functions return 0 (or a count / 1 found) or -1 with the
 * SQLite message in err.
 */
#ifndef MAILROOM_RESIGN_DB_H
#define MAILROOM_RESIGN_DB_H

#include <stddef.h>
#include <time.h>

#define RESIGN_DB_FILE "resign.db"

typedef struct resign_db resign_db;

/* Open (create unless readonly) the database at path. NULL with err set. */
resign_db *resign_db_open(const char *path, int readonly, char *err, size_t errlen);
resign_db *resign_db_close(resign_db *db);
const char *resign_db_error(resign_db *db);

int resign_db_begin(resign_db *db);
int resign_db_commit(resign_db *db);
void resign_db_rollback(resign_db *db);

/* One run as stored. */
struct resign_run {
	long long id;
	char kind[16];	 /* initial | timestamp | hashtree */
	char digest[16]; /* hash name */
	char state[16];	 /* open | stamped | done */
	char started[32];
	long members, leaves;
	unsigned char *token; /* malloc'ed, or NULL before stamped */
	size_t token_len;
	time_t gen_time, tsa_not_after;
	char tsa[256], key_type[16], sig_digest[16];
	int key_bits;
};
void resign_run_clear(struct resign_run *r);

/* A new open run; its id. */
long long resign_db_run_new(resign_db *db, const char *kind, const char *digest);
int resign_db_run_get(resign_db *db, long long id, struct resign_run *r);
/* Store the token and what it says; state stamped. */
int resign_db_run_stamped(resign_db *db, long long id, const unsigned char *root, size_t rootlen,
			  const unsigned char *tok, size_t toklen, time_t gen_time, const char *tsa,
			  time_t not_after, const char *key_type, int key_bits,
			  const char *sig_digest);
int resign_db_run_done(resign_db *db, long long id);
/* Runs not done, oldest first: ids into out (at most max); the count. */
int resign_db_unfinished(resign_db *db, long long *out, int max);
/* Call cb for every stamped run (token stored), by id; stops when cb returns non-zero. */
int resign_db_runs(resign_db *db, int (*cb)(const struct resign_run *r, void *arg), void *arg);
/* The newest stamped run (highest gen_time): 1 found, 0 none. */
int resign_db_newest(resign_db *db, struct resign_run *r);

int resign_db_leaf_add(resign_db *db, long long run, long idx, const unsigned char *v, size_t len);
/* The leaves in order as one array (n * hlen bytes, malloc'ed). */
int resign_db_leaves(resign_db *db, long long run, size_t hlen, unsigned char **out, size_t *n);

int resign_db_member_add(resign_db *db, long long run, const char *job, long leaf,
			 const unsigned char *grp, size_t grplen, long long prev_run);
struct resign_member {
	const char *job;
	long leaf;
	const unsigned char *grp; /* NULL for timestamp runs */
	size_t grplen;
	long long prev_run;
	int done;
};
/* Call cb for each member (by job id); stops when cb returns non-zero (returned). */
int resign_db_members(resign_db *db, long long run,
		      int (*cb)(const struct resign_member *m, void *arg), void *arg);
int resign_db_member_done(resign_db *db, long long run, const char *job, int done);

/* One letter as stored. */
struct resign_letter {
	const char *job, *dir, *files, *digest;
	long chains, ats;
	long long last_run, pending_run; /* 0: none */
};
/* 1 if the letter has a row. */
int resign_db_letter_known(resign_db *db, const char *job);
int resign_db_letter_add(resign_db *db, const char *job, const char *dir, const char *files,
			 const char *digest, long long pending_run);
int resign_db_letter_pending(resign_db *db, const char *job, long long run);
/* After a record was written: the chain's hash, counts, last_run; pending cleared. */
int resign_db_letter_written(resign_db *db, const char *job, const char *digest, long chains,
			     long ats, long long last_run);
/* Fill l (strings valid until the next call on db) for job: 1 found, 0 not. */
int resign_db_letter_get(resign_db *db, const char *job, struct resign_letter *l);
/* Call cb for every letter with a record and no pending run, by job id. */
int resign_db_letters(resign_db *db, int (*cb)(const struct resign_letter *l, void *arg),
		      void *arg);

#endif
