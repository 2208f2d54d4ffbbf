/*
 * journal.h - the SQLite journal: one row per letter, an append-only event chain.
 *
 * Every stage appends events (who, what, when, outcome, detail). Each event
 * stores the SHA-256 of the previous event and its own hash over all its fields,
 * so a changed, inserted or deleted row breaks the chain and journal_verify()
 * finds it. The letters table is a summary (where each letter is, its type,
 * office, last reason) kept in the same transaction as its event.
 * The database runs in WAL mode; several stage processes write concurrently.
 */
#ifndef MAILROOM_JOURNAL_H
#define MAILROOM_JOURNAL_H

#include <stddef.h>

typedef struct journal journal;

/* Open (create) the journal at path. NULL with a message in err on error. */
journal *journal_open(const char *path, char *err, size_t errlen);
journal *journal_close(journal *j);

/* One event; the letter fields that are not NULL update the letter's row. */
struct journal_event {
	const char *job;     /* required */
	const char *stage;   /* required: scan, classify, sign, export, mailroom */
	const char *action;  /* required: captured, claimed, classified, sealed, delivered ... */
	const char *outcome; /* required: ok, review, quarantined, deferred, failed */
	const char *detail;  /* free text (no document content) */
	/* letter row updates */
	const char *state;     /* queued, review, quarantined, deferred, delivered, routed */
	const char *location;  /* e.g. spool/sign/incoming, archive/<id> */
	const char *doc_type;
	const char *scan_mode;
	const char *office;
	const char *reason;    /* why it is where it is (quarantine, review, deferral) */
};

/* Append an event (and update the letter) in one transaction. 0 or -1. */
int journal_record(journal *j, const struct journal_event *ev);
/* 1 if the job has an event with this action and outcome, 0 if not, -1 on error. */
int journal_has_event(journal *j, const char *job, const char *action, const char *outcome);

/* A letter's summary row, as text columns (NULL where empty). */
struct journal_letter {
	const char *job, *created, *updated, *stage, *state, *location, *doc_type, *scan_mode,
	    *office, *reason;
};
typedef int (*journal_letter_cb)(const struct journal_letter *l, void *arg);
/* Call cb for each letter (state NULL: all), oldest first. Stops when cb returns non-zero. */
int journal_letters(journal *j, const char *state, journal_letter_cb cb, void *arg);
/* Fill one letter's row through cb; 0 found, 1 not found, -1 error. */
int journal_letter(journal *j, const char *job, journal_letter_cb cb, void *arg);

struct journal_entry {
	long long seq;
	const char *job, *at, *stage, *who, *action, *outcome, *detail, *hash;
};
typedef int (*journal_event_cb)(const struct journal_entry *e, void *arg);
/* Call cb for each event of job (NULL: all), in order. */
int journal_events(journal *j, const char *job, journal_event_cb cb, void *arg);
/* Counts of letters per state; cb gets (state, count). */
int journal_counts(journal *j, int (*cb)(const char *state, long long n, void *arg), void *arg);

/*
 * Imports: which file of the import folder became which letter, so a crash between
 * submitting a letter and removing its file never imports it twice. A row is
 * written (state "importing") before the letter is built and set to "done" once
 * the file has left the import folder.
 */
int journal_import_begin(journal *j, const char *job, const char *path, const char *sha256);
int journal_import_done(journal *j, const char *job);
/* The unfinished import of this file (same path and content): 1 with its job id in
 * job[64], 0 if none, -1 on error. */
int journal_import_pending(journal *j, const char *path, const char *sha256, char *job,
			   size_t joblen);
/* The path and digest of job's unfinished import: 1 found, 0 none, -1 error. */
int journal_import_of(journal *j, const char *job, char *path, size_t pathlen, char *sha256,
		      size_t shalen);

/* Check the whole hash chain. 0 intact; 1 broken (err says where); -1 error. */
int journal_verify(journal *j, long long *checked, char *err, size_t errlen);

/* SQLite's text of the last failed write ("database or disk is full"). */
const char *journal_error(const journal *j);

#endif
