/*
 * spool.h - the queue directories that hand letters from stage to stage.
 *
 * Each stage owns spool/<stage>/{tmp,incoming,active,corrupt}. A letter is one
 * job directory that moves by rename(2) and so is in exactly one place at any
 * moment: a producer builds it in its own tmp/<id>/ and submits it to the next
 * stage's incoming/; the consumer claims it into active/ (rename; ENOENT means
 * another worker won), works inside it, and hands it on to the next incoming/,
 * puts it in corrupt/ with a reason, or finishes it into a destination outside
 * the spool. Every rename is followed by an fsync of both directories.
 * At start, active/ is recovered into incoming/ (the previous run died). A lock
 * file keeps two instances of one stage apart. Protocol: docs/SPOOL-FORMAT.md.
 */
#ifndef MAILROOM_SPOOL_H
#define MAILROOM_SPOOL_H

#include <stddef.h>
#include <time.h>

enum spool_area { SPOOL_TMP, SPOOL_INCOMING, SPOOL_ACTIVE, SPOOL_CORRUPT };

#define SPOOL_REASON "QUARANTINE.txt" /* reason file inside a corrupt job */
#define SPOOL_RETRY "RETRY.txt"       /* "not-before count reason" of a deferred job */

typedef struct spool spool;

/* Open (and create, mode 0700) spool/<stage>. NULL with errno on error. */
spool *spool_open(const char *spool_root, const char *stage);
spool *spool_close(spool *sp);
const char *spool_stage(const spool *sp);
/* The directory of an area; owned by the spool. */
const char *spool_dir(const spool *sp, enum spool_area a);
/* area/<id> as a new string (caller frees). */
char *spool_path(const spool *sp, enum spool_area a, const char *id);

/* Take the stage's exclusive lock; -1 with EWOULDBLOCK if another instance holds it. */
int spool_lock(spool *sp);
/* Move everything in active/ back to incoming/; returns how many were moved, or -1. */
int spool_recover(spool *sp);

/*
 * List the job ids in an area, oldest first (ids sort by time), into a
 * NULL-terminated array (caller frees with spool_list_free). Entries that are not
 * valid job ids, symlinks or not owned by us are skipped with a warning.
 * With ready_only, deferred jobs whose retry time has not come are left out and
 * *next_retry (if not NULL) gets the earliest such time (0 if none).
 */
char **spool_list(const spool *sp, enum spool_area a, int ready_only, time_t *next_retry);
char **spool_list_free(char **ids);

/* 0 if area/<id> is a real directory of ours; else -1 with errno (EPERM: a symlink,
 * not a directory or another owner's, logged with the id; ENOENT: absent). Every
 * function below that takes a job from incoming/ or corrupt/ checks it. */
int spool_entry_ok(const spool *sp, enum spool_area a, const char *id);

/* Create tmp/<id> for a new job; returns the path (caller frees) or NULL. */
char *spool_create(spool *sp, const char *id);
/* Move our tmp/<id> into to's incoming/<id>. */
int spool_submit(spool *sp, const char *id, spool *to);
/* Claim incoming/<id> into active/<id>: 1 claimed, 0 lost the race, -1 error. */
int spool_claim(spool *sp, const char *id);
/* Remove leftovers (*.tmp) of an interrupted run from a claimed job. */
int spool_clean_active(spool *sp, const char *id);
/* Hand our active/<id> to to's incoming/<id>. */
int spool_handoff(spool *sp, const char *id, spool *to);
/* Put active/<id> (or, with area, another area's job) into corrupt/ with a reason. */
int spool_quarantine(spool *sp, enum spool_area from, const char *id, const char *reason);
/* Defer active/<id>: back to incoming/ with a retry time (exponential backoff). */
int spool_defer(spool *sp, const char *id, const char *reason, int *attempt);
/* Make a deferred incoming/<id> due now (attempt count kept) and wake the stage;
 * -1 with ENOENT if it is not deferred (or was claimed meanwhile). */
int spool_retry_now(spool *sp, const char *id);
/* Move active/<id> to dest (a path outside the spool, same filesystem). */
int spool_finish(spool *sp, const char *id, const char *dest);
/* Move corrupt/<id> back to incoming/ (reason file removed). */
int spool_requeue(spool *sp, const char *id);
/* Read the reason of a corrupt job into out; -1 if none. */
int spool_reason(const spool *sp, const char *id, char *out, size_t outlen);

/*
 * Find a letter anywhere below spool_root (every stage's incoming, active and
 * corrupt; not tmp) or in archive_dir. 1 found (where gets e.g. "sign/incoming" or
 * "archive"), 0 not found.
 */
int spool_find(const char *spool_root, const char *archive_dir, const char *id, char *where,
	       size_t wherelen);

/* Wait up to timeout_ms for something new in incoming/ (inotify); 1 woke, 0 timeout. */
int spool_wait(spool *sp, int timeout_ms);

#endif
