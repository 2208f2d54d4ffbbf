/*
 * stage.h - the loop every consuming stage runs: claim a letter from its
 * incoming/, check its record, let the stage work on it, and move it on.
 *
 * A stage supplies one process() callback and says where its letters go next.
 * The loop owns everything around it: the stage lock, recovery of active/ at
 * start, reading and checking job.json (a bad record goes to corrupt/ with the
 * reason), writing the record back, the hand-off (fsync + rename), the journal
 * event for every outcome, deferral with backoff, and --once versus daemon mode
 * (inotify wake-up plus a timer rescan). A letter whose record says this stage
 * already finished it (the previous run died between writing the record and the
 * hand-off) is handed on without being processed again.
 */
#ifndef MAILROOM_STAGE_H
#define MAILROOM_STAGE_H

#include <stddef.h>

#include "job.h"
#include "journal.h"
#include "settings.h"
#include "spool.h"

enum stage_verdict {
	STAGE_NEXT,	  /* done here: hand on to the next stage */
	STAGE_REVIEW,	  /* a person must decide: to the review queue */
	STAGE_DEFER,	  /* temporary problem (TSA down, share missing): retry later */
	STAGE_QUARANTINE, /* the letter cannot be processed: corrupt/ with the reason */
	STAGE_FINISHED	  /* the letter leaves the pipeline: moved to finish_dest */
};

struct stage_result {
	enum stage_verdict verdict;
	const char *action;   /* journal action on success, e.g. "classified" */
	char detail[1024];    /* journal detail (no document content) */
	char reason[1024];    /* review/defer/quarantine: what happened and the fix */
	const char *state;    /* letter state on success (default "queued") */
	const char *doc_type; /* letter row updates, may stay NULL */
	const char *scan_mode;
	const char *office;
	char finish_dest[4096];	   /* STAGE_FINISHED: destination path of the job directory */
	char finish_location[512]; /* STAGE_FINISHED: location shown in status */
};

struct stage_env {
	const char *name; /* this stage, e.g. "classify" */
	settings set;
	journal *jr;
	spool *in;     /* spool/<name> */
	spool *next;   /* spool/<next>, NULL for the last stage */
	spool *review; /* spool/review */
};

struct stage_ops {
	const char *name;
	const char *next; /* name of the next stage's spool, NULL if none */
	/* Work on the claimed letter j (its directory is active/<id>). */
	int (*process)(void *ctx, struct stage_env *env, job *j, struct stage_result *r);
	void *ctx;
	/*
	 * Worker processes (0: the loop runs in this process, as every stage but
	 * classify does). With workers >= 1 the process takes the lock, recovers
	 * active/ once and forks that many workers; each runs worker_init (if set;
	 * -1 ends the worker with EX_SOFTWARE and the stage stops), then the
	 * claim/process loop. The parent restarts a worker that dies abnormally
	 * (with backoff) and re-queues or quarantines the letter it was working on
	 * (see docs/SPOOL-FORMAT.md "Workers").
	 */
	int workers;
	int (*worker_init)(void *ctx, struct stage_env *env);
	unsigned letter_seconds; /* workers: wall-clock limit per letter (0: none) */
	unsigned long memory_mb; /* workers: RLIMIT_AS of a worker in MiB (0: none) */
};

/* Load settings from conf_dir, open journal and spools. -1 with a message logged. */
int stage_env_open(struct stage_env *env, const char *conf_dir, const char *name, const char *next);
void stage_env_close(struct stage_env *env);

/* Run the loop: once drains incoming/ and returns; otherwise until SIGTERM/SIGINT.
 * Returns a sysexits code. */
int stage_run(const struct stage_ops *ops, struct stage_env *env, int once);

/* Number of online CPUs (at least 1). */
int stage_cpus(void);

/* Set the result to a verdict with a formatted reason; returns 0 for convenience. */
int stage_set(struct stage_result *r, enum stage_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* From a process callback: finish this letter, claim no more, and make stage_run
 * (of this process) return code, e.g. EX_TEMPFAIL when the process cannot go on
 * (mailroom-sign's key holder died) and its supervisor must restart it. */
void stage_request_stop(int code);

/* 1 once SIGTERM or SIGINT was received (after stage_signals()). */
int stage_stopping(void);
void stage_signals(void);

#endif
