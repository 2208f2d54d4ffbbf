/*
 * export_watch.h - run work that touches a network share in a child process with a
 * deadline, so that a share that does not answer (a hung NFS or SMB mount, a frozen
 * filesystem) never blocks the stage.
 *
 * A write or stat on a hung hard NFS mount sleeps uninterruptibly: no signal
 * handler and no alarm() gets the process back. So the stage forks a child for
 * every delivery (and for every scan of the reply folders) and waits for it with a
 * deadline; on expiry the child is killed (SIGKILL; it dies as soon as the share
 * lets it go) and the caller defers the letter. The child can ask its parent to do
 * things on the local disk (the delivery's intent record in job.json) over a pipe,
 * so everything the journal and the spool see is still done by the stage process.
 *
 * The child closes inherited file descriptors first (see close_all), so one that
 * hangs does not hold the stage's lock: a restarted stage can run.
 * Children that could not be reaped after the kill are remembered and reaped later;
 * while EXPORT_WATCH_MAX_STUCK of them hang, no new child is started.
 */
#ifndef MAILROOM_EXPORT_WATCH_H
#define MAILROOM_EXPORT_WATCH_H

#include <stddef.h>

#define EXPORT_WATCH_MAX_STUCK 8

enum export_watch_result {
	EXPORT_WATCH_DONE,    /* the child sent its result and exited */
	EXPORT_WATCH_TIMEOUT, /* no result within the deadline: the child was killed */
	EXPORT_WATCH_DIED,    /* the child ended without a result (*status says how) */
	EXPORT_WATCH_BUSY,    /* too many earlier children still hang: not started */
	EXPORT_WATCH_FORK     /* fork or pipe failed (errno set) */
};

typedef struct export_watch export_watch;

struct export_watch_ops {
	/* Runs in the child; sends its result with export_watch_reply. Its return value
	 * is the child's exit status. */
	int (*child)(export_watch *w, void *arg);
	/* Runs in the parent when the child calls export_watch_ask; returns the
	 * answer (one byte, 0..255). NULL if the child never asks. */
	int (*answer)(void *arg, int question);
	void *arg;
	/* What the child closes first, so that one that hangs holds neither the
	 * stage's lock nor anything else a restarted stage needs: close_all: every
	 * inherited descriptor but its pipes (a child that uses no SQLite); else the
	 * descriptors open on close_path (the lock file) if not NULL. SQLite's
	 * descriptors must stay in a child that opens a journal connection: SQLite
	 * keeps per-process state about them. */
	int close_all;
	const char *close_path;
};

/*
 * Fork, run ops->child there and wait at most seconds for its result (reslen
 * bytes into result). *status gets the child's wait status when it was reaped
 * (-1 if not). A child that ended with status 99 while MAILROOM_FAULT is set
 * stands for a crash of the whole stage (fault injection): the parent then ends
 * with _exit(99) as well.
 */
enum export_watch_result export_watch_run(const struct export_watch_ops *ops, unsigned seconds,
					  void *result, size_t reslen, int *status);

/* In the child: ask the parent question (0..255) and wait for its answer; -1 if the
 * parent is gone. */
int export_watch_ask(export_watch *w, int question);
/* In the child: send the result (at most the parent's reslen bytes). 0 or -1. */
int export_watch_reply(export_watch *w, const void *result, size_t len);

/* Close every file descriptor from 3 up except keep1 and keep2 (-1: none): what a
 * child that may hang on a share must not hold (the stage's lock, the journal). */
void export_watch_close_fds(int keep1, int keep2);

/* Close the descriptors open on path (e.g. the stage's lock file). */
void export_watch_close_path(const char *path);

/* Reap children killed earlier that have exited since; returns how many still hang. */
int export_watch_reap(void);

#endif
