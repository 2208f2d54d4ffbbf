/*
 * stage.c - the claim / process / hand-off loop shared by the stages; see stage.h.
 */
#include "stage.h"

#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <poll.h>

#include "log.h"
#include "xalloc.h"

static volatile sig_atomic_t stage_stop;
static int stage_stop_code = EX_OK; /* stage_request_stop: what stage_run returns */

/* Workers: each worker's slot in memory shared with the parent names the letter
 * it is claiming or working on ("" when idle). NULL without workers. */
#define STAGE_SLOT_LEN 128
struct stage_slot {
	volatile char id[STAGE_SLOT_LEN];
};
static struct stage_slot *stage_myslot;
static struct stage_slot *stage_slots0; /* workers: the first slot (for numbering) */

/* Write id (or "" with NULL) into this worker's slot. */
static void stage_slot_set(const char *id)
{
	size_t i, n;

	if (stage_myslot == NULL)
		return;
	if (id == NULL) {
		stage_myslot->id[0] = '\0';
		__sync_synchronize();
		return;
	}
	n = strlen(id);
	if (n >= STAGE_SLOT_LEN)
		n = STAGE_SLOT_LEN - 1;
	stage_myslot->id[0] = '\0';
	__sync_synchronize();
	for (i = n; i > 0; i--) /* the first byte last: never a torn id */
		stage_myslot->id[i] = i == n ? '\0' : id[i];
	__sync_synchronize();
	stage_myslot->id[0] = n > 0 ? id[0] : '\0';
	__sync_synchronize();
}

static void stage_on_signal(int sig)
{
	(void)sig;
	stage_stop = 1;
}

void stage_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = stage_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void stage_request_stop(int code)
{
	stage_stop_code = code;
	stage_stop = 1;
}

int stage_stopping(void)
{
	return stage_stop != 0;
}

int stage_set(struct stage_result *r, enum stage_verdict v, const char *fmt, ...)
{
	va_list ap;

	r->verdict = v;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	return 0;
}

int stage_env_open(struct stage_env *env, const char *conf_dir, const char *name, const char *next)
{
	conf_err ce;
	char err[1024];

	memset(env, 0, sizeof(*env));
	env->name = name;
	if (settings_load(conf_dir, &env->set, &ce) == -1) {
		log_errorx("configuration: %s", ce.msg);
		return -1;
	}
	if ((env->jr = journal_open(env->set.journal_path, err, sizeof(err))) == NULL) {
		log_errorx("journal: %s", err);
		goto fail;
	}
	if ((env->in = spool_open(env->set.spool_dir, name)) == NULL ||
	    (next != NULL && (env->next = spool_open(env->set.spool_dir, next)) == NULL) ||
	    (env->review = spool_open(env->set.spool_dir, "review")) == NULL) {
		log_error("spool %s", env->set.spool_dir);
		goto fail;
	}
	return 0;
fail:
	stage_env_close(env);
	return -1;
}

void stage_env_close(struct stage_env *env)
{
	env->in = spool_close(env->in);
	env->next = spool_close(env->next);
	env->review = spool_close(env->review);
	env->jr = journal_close(env->jr);
	settings_free(&env->set);
}

/* Record an event; a journal failure is logged, never silent. 0, or -1 on failure. */
static int stage_journal(struct stage_env *env, const char *id, const char *action,
			 const char *outcome, const char *detail, const char *state,
			 const char *location, const struct stage_result *r, const char *reason)
{
	struct journal_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.job = id;
	ev.stage = env->name;
	ev.action = action;
	ev.outcome = outcome;
	ev.detail = detail;
	ev.state = state;
	ev.location = location;
	ev.reason = reason;
	if (r != NULL) {
		ev.doc_type = r->doc_type;
		ev.scan_mode = r->scan_mode;
		ev.office = r->office;
	}
	if (journal_record(env->jr, &ev) == -1) {
		log_errorx("%s: could not write the journal event '%s'", id, action);
		return -1;
	}
	return 0;
}

/* Quarantine active/<id> with a reason, journaled. */
static void stage_quarantine(struct stage_env *env, const char *id, const char *reason)
{
	char loc[256];

	log_errorx("%s: quarantined in %s/corrupt: %s", id, env->name, reason);
	snprintf(loc, sizeof(loc), "spool/%s/corrupt", env->name);
	if (spool_quarantine(env->in, SPOOL_ACTIVE, id, reason) == -1) {
		log_error("%s: cannot move to %s/corrupt; left in active", id, env->name);
		return;
	}
	stage_journal(env, id, "quarantined", "quarantined", reason, "quarantined", loc, NULL,
		      reason);
}

/* Process one claimed letter. Returns -1 only on errors that should stop the stage. */
static int stage_one(const struct stage_ops *ops, struct stage_env *env, const char *id)
{
	struct stage_result r;
	char err[1024], loc[512];
	const char *action;
	char *dir = spool_path(env->in, SPOOL_ACTIVE, id);
	job *j = NULL;
	int already, attempt = 0, rc = 0;

	spool_clean_active(env->in, id);
	if ((j = job_read(dir, id, err, sizeof(err))) == NULL) {
		char reason[1200];

		snprintf(reason, sizeof(reason),
			 "damaged job record: %s. Check the files in the job directory; "
			 "'mailroom requeue %s' retries it",
			 err, id);
		stage_quarantine(env, id, reason);
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.verdict = STAGE_NEXT;
	/* A letter this stage already finished (the run died before the hand-off) is
	 * handed on unprocessed. The last stage has no next spool: it processes again,
	 * which is safe because every stage is idempotent per job id. */
	already = env->next != NULL && job_stage_done(j, ops->name);
	if (already) {
		log_info("%s: %s already done by an earlier run; handing on", id, ops->name);
		snprintf(r.detail, sizeof(r.detail), "finished by an earlier run");
	} else {
		stage_journal(env, id, "claimed", "ok", NULL, "active", NULL, NULL, NULL);
		ops->process(ops->ctx, env, j, &r);
	}
	switch (r.verdict) {
	case STAGE_NEXT:
	case STAGE_FINISHED:
		if (!already) {
			job_mark_stage(j, ops->name, "ok");
			if (job_write(j) == -1) {
				snprintf(r.reason, sizeof(r.reason),
					 "cannot write the job record: %s; will retry",
					 strerror(errno));
				goto defer;
			}
		}
		/* The event is written before the letter moves, so a letter that moved
		 * always has it. After a crash between the two, the letter is here again:
		 * a middle stage hands it on as "resumed"; the last stage processes it
		 * again and must not record its departure twice. */
		if (r.verdict == STAGE_FINISHED)
			snprintf(loc, sizeof(loc), "%s", r.finish_location);
		else
			snprintf(loc, sizeof(loc), "spool/%s/incoming", spool_stage(env->next));
		action = already ? "resumed" : r.action ? r.action : "done";
		if (r.verdict == STAGE_FINISHED &&
		    journal_has_event(env->jr, id, action, "ok") == 1) {
			log_info("%s: %s already recorded by an earlier run", id, action);
		} else if (stage_journal(env, id, action, "ok", r.detail,
					 r.state ? r.state : "queued", loc, &r, NULL) == -1) {
			/* A letter never moves without its event (a full disk): it stays in
			 * active/ and is taken up again at the next start, done or not. */
			log_errorx("%s: stays in spool/%s/active: the journal %s cannot record "
				   "its '%s' (%s); free space in %s and restart the stage",
				   id, env->name, env->set.journal_path, action,
				   journal_error(env->jr), env->set.var_dir);
			rc = -1;
			goto out;
		}
		if (r.verdict == STAGE_FINISHED) {
			if (spool_finish(env->in, id, r.finish_dest) == -1) {
				log_error("%s: cannot move to %s", id, r.finish_dest);
				rc = -1;
				goto out;
			}
		} else if (spool_handoff(env->in, id, env->next) == -1) {
			log_error("%s: hand-off to %s failed", id, spool_stage(env->next));
			rc = -1;
			goto out;
		}
		log_info("%s: %s%s%s -> %s", id, action, r.detail[0] ? ": " : "", r.detail, loc);
		break;
	case STAGE_REVIEW:
		job_mark_stage(j, ops->name, "review");
		if (job_write(j) == -1) {
			log_error("%s: cannot write the job record for review", id);
			rc = -1;
			goto out;
		}
		/* the event before the move, as above: a crash between the two leaves the
		 * letter here, to be decided again; never in review without its event */
		if (stage_journal(env, id, r.action ? r.action : "review", "review", r.detail,
				  "review", "spool/review/incoming", &r, r.reason) == -1) {
			log_errorx("%s: stays in spool/%s/active: the journal %s cannot record "
				   "its review (%s); free space in %s and restart the stage",
				   id, env->name, env->set.journal_path, journal_error(env->jr),
				   env->set.var_dir);
			rc = -1;
			goto out;
		}
		if (spool_handoff(env->in, id, env->review) == -1) {
			log_error("%s: cannot move to review", id);
			rc = -1;
			goto out;
		}
		log_warnx("%s: needs review: %s", id, r.reason);
		break;
	case STAGE_DEFER:
	defer:
		if (spool_defer(env->in, id, r.reason, &attempt) == -1) {
			log_error("%s: cannot defer", id);
			rc = -1;
			goto out;
		}
		log_warnx("%s: deferred (attempt %d): %s", id, attempt, r.reason);
		snprintf(loc, sizeof(loc), "spool/%s/incoming", env->name);
		stage_journal(env, id, "deferred", "deferred", r.reason, "deferred", loc, &r,
			      r.reason);
		break;
	case STAGE_QUARANTINE:
		stage_quarantine(env, id, r.reason);
		break;
	}
out:
	job_free(j);
	free(dir);
	return rc;
}

/* Claim and process everything ready in incoming/. Returns -1 on a fatal error. */
static int stage_drain(const struct stage_ops *ops, struct stage_env *env, time_t *next_retry)
{
	char **ids;
	int i;

	if ((ids = spool_list(env->in, SPOOL_INCOMING, 1, next_retry)) == NULL) {
		log_error("spool %s/incoming", env->name);
		return -1;
	}
	for (i = 0; ids[i] != NULL && !stage_stop; i++) {
		int c, one;

		stage_slot_set(ids[i]); /* before the claim: see stage_worker_died */
		c = spool_claim(env->in, ids[i]);
		if (c == 0) {
			stage_slot_set(NULL);
			continue; /* another worker took it */
		}
		if (c == -1) {
			stage_slot_set(NULL);
			log_error("%s: cannot claim", ids[i]);
			continue;
		}
		if (ops->letter_seconds > 0)
			alarm(ops->letter_seconds); /* SIGALRM ends the worker; see stage_reap */
		one = stage_one(ops, env, ids[i]);
		alarm(0);
		stage_slot_set(NULL);
		if (one == -1) {
			spool_list_free(ids);
			return -1;
		}
	}
	spool_list_free(ids);
	return 0;
}

/* The claim/process loop of one process (the stage itself or a worker). */
static int stage_loop(const struct stage_ops *ops, struct stage_env *env, int once)
{
	while (!stage_stop) {
		time_t next_retry = 0;
		long wait_s;

		if (stage_drain(ops, env, &next_retry) == -1)
			return EX_IOERR;
		if (once)
			break;
		wait_s = env->set.rescan_seconds;
		if (next_retry != 0 && next_retry - time(NULL) < wait_s)
			wait_s = next_retry - time(NULL) > 0 ? next_retry - time(NULL) : 1;
		spool_wait(env->in, (int)(wait_s * 1000));
	}
	return stage_stop_code;
}

int stage_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

/* One worker process as the parent sees it. */
struct stage_worker {
	pid_t pid;	/* 0: not running */
	time_t restart; /* not running: start again at this time (0: do not) */
	time_t started; /* running: since when */
	int deaths;	/* abnormal ends in a row (backoff) */
};

/* A letter whose worker died, remembered so that a second death quarantines it. */
#define STAGE_KILLERS 64
static char stage_killers[STAGE_KILLERS][STAGE_SLOT_LEN];
/* In a worker: the journal connection inherited from the parent. */
static journal *volatile stage_parent_jr;

/* In the child: limits, a fresh journal, the init hook, the loop; never returns. */
static void stage_worker_main(const struct stage_ops *ops, struct stage_env *env, int once,
			      struct stage_slot *slot, pid_t parent)
{
	char err[1024];
	int rc;

	prctl(PR_SET_PDEATHSIG, SIGKILL); /* a killed parent takes its workers along */
	if (getppid() != parent)
		_exit(EX_SOFTWARE);
	signal(SIGALRM, SIG_DFL);
	stage_myslot = slot;
	/* SQLite connections must not cross fork(): the parent's is left alone (not
	 * closed, not used) and the worker opens its own. */
	stage_parent_jr = env->jr; /* kept, never used: closing it could touch its locks */
	env->jr = NULL;
	if ((env->jr = journal_open(env->set.journal_path, err, sizeof(err))) == NULL) {
		log_errorx("worker: journal: %s", err);
		_exit(EX_CANTCREAT);
	}
	if (ops->worker_init != NULL && ops->worker_init(ops->ctx, env) == -1)
		exit(EX_SOFTWARE);
	log_info("worker %d (pid %ld) ready", (int)(slot - stage_slots0) + 1, (long)getpid());
#if defined(__SANITIZE_ADDRESS__)
	/* ASan reserves terabytes of shadow address space at start: any RLIMIT_AS
	 * would make its next mapping fail */
	if (ops->memory_mb > 0)
		log_warnx("worker: no memory limit in a sanitizer build (ASan reserves the "
			  "address space RLIMIT_AS would bound)");
#else
	if (ops->memory_mb > 0) {
		struct rlimit rl;

		rl.rlim_cur = rl.rlim_max = (rlim_t)ops->memory_mb << 20;
		if (setrlimit(RLIMIT_AS, &rl) == -1)
			log_warn("worker: cannot set the memory limit of %lu MiB", ops->memory_mb);
	}
#endif
	rc = stage_loop(ops, env, once);
	env->jr = journal_close(env->jr);
	exit(rc);
}

/* Start worker i; -1 if fork failed. */
static int stage_start(const struct stage_ops *ops, struct stage_env *env, int once,
		       struct stage_slot *slots, struct stage_worker *w, int i)
{
	pid_t parent = getpid(), pid;

	slots[i].id[0] = '\0';
	fflush(NULL);
	if ((pid = fork()) == -1) {
		log_error("cannot start worker %d", i + 1);
		return -1;
	}
	if (pid == 0)
		stage_worker_main(ops, env, once, &slots[i], parent);
	w[i].pid = pid;
	w[i].restart = 0;
	w[i].started = time(NULL);
	return 0;
}

/* Worker i died abnormally (status st) holding slot id: re-queue the letter or,
 * when it hit a limit or killed a worker before, quarantine it. */
static void stage_worker_died(const struct stage_ops *ops, struct stage_env *env,
			      struct stage_slot *slots, int nw, int i, int st)
{
	char id[STAGE_SLOT_LEN], reason[1024], *dir;
	int sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0, k, again = 0, attempt = 0;

	__sync_synchronize();
	for (k = 0; k < STAGE_SLOT_LEN; k++)
		id[k] = slots[i].id[k];
	id[STAGE_SLOT_LEN - 1] = '\0';
	slots[i].id[0] = '\0';
	if (id[0] == '\0')
		return;
	/* A worker that lost the race for id died before clearing its slot: the
	 * winner has the same id in its slot and keeps the letter. */
	for (k = 0; k < nw; k++)
		if (k != i && strcmp((const char *)slots[k].id, id) == 0)
			return;
	dir = spool_path(env->in, SPOOL_ACTIVE, id);
	if (access(dir, F_OK) == -1) {
		free(dir);
		return; /* not claimed, or already handed on */
	}
	free(dir);
	for (k = 0; k < STAGE_KILLERS; k++)
		if (strcmp(stage_killers[k], id) == 0)
			again = 1;
	if (sig == SIGALRM)
		snprintf(reason, sizeof(reason),
			 "the letter took longer than the limit of %u s; its worker was "
			 "stopped and replaced. The image is probably damaged or hostile: check "
			 "it, then 'mailroom requeue %s' or rescan the letter",
			 ops->letter_seconds, id);
	else if (sig == SIGABRT || sig == SIGSEGV || sig == SIGBUS || again)
		snprintf(reason, sizeof(reason),
			 "the worker processing this letter died (%s%s%s%s); the image probably "
			 "needs more memory than the limit of %lu MiB or crashes the OCR. Check "
			 "it, then 'mailroom requeue %s' or rescan the letter",
			 sig ? "signal " : "exit status ", sig ? strsignal(sig) : "",
			 sig ? "" : "non-zero", again ? ", the second time" : "", ops->memory_mb,
			 id);
	else
		reason[0] = '\0';
	if (reason[0] != '\0') {
		stage_quarantine(env, id, reason);
		return;
	}
	for (k = 0; k < STAGE_KILLERS && stage_killers[k][0] != '\0'; k++)
		;
	snprintf(stage_killers[k < STAGE_KILLERS ? k : 0], STAGE_SLOT_LEN, "%s", id);
	snprintf(reason, sizeof(reason), "its worker died (%s); processed again",
		 sig ? strsignal(sig) : "abnormal exit");
	if (spool_defer(env->in, id, reason, &attempt) == -1 ||
	    spool_retry_now(env->in, id) == -1) {
		log_error("%s: cannot re-queue the letter of a dead worker", id);
		return;
	}
	log_warnx("%s: re-queued: %s", id, reason);
	{
		char loc[256];

		snprintf(loc, sizeof(loc), "spool/%s/incoming", env->name);
		stage_journal(env, id, "requeued", "deferred", reason, "queued", loc, NULL, reason);
	}
}

/* The parent of the workers: start, watch, restart, forward signals. */
static int stage_parent(const struct stage_ops *ops, struct stage_env *env, int once)
{
	int nw = ops->workers, i, live = 0, worst = EX_OK, forwarded = 0;
	struct stage_worker *w;
	struct stage_slot *slots;
	char **ids;

	/* --once: no more workers than letters waiting (each loads an engine) */
	if (once && (ids = spool_list(env->in, SPOOL_INCOMING, 1, NULL)) != NULL) {
		for (i = 0; ids[i] != NULL; i++)
			;
		if (i < nw)
			nw = i > 0 ? i : 1;
		spool_list_free(ids);
	}
	w = xcalloc((size_t)nw, sizeof(*w));

	slots = mmap(NULL, (size_t)nw * sizeof(*slots), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED) {
		log_error("cannot map the worker slots");
		free(w);
		return EX_OSERR;
	}
	memset(slots, 0, (size_t)nw * sizeof(*slots));
	stage_slots0 = slots;
	log_info("starting %d worker(s)", nw);
	for (i = 0; i < nw; i++)
		if (stage_start(ops, env, once, slots, w, i) == 0)
			live++;
	while (live > 0 || (!stage_stop && worst == EX_OK)) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		time_t now = time(NULL);
		int st;
		pid_t pid;

		if (stage_stop && !forwarded) {
			for (i = 0; i < nw; i++)
				if (w[i].pid > 0)
					kill(w[i].pid, SIGTERM);
			forwarded = 1;
		}
		for (i = 0; i < nw; i++)
			if (w[i].pid == 0 && w[i].restart != 0 && now >= w[i].restart) {
				if (stage_stop || worst != EX_OK) {
					w[i].restart = 0;
				} else if (stage_start(ops, env, once, slots, w, i) == 0) {
					log_info("worker %d restarted", i + 1);
					live++;
				} else {
					w[i].restart = now + 10;
				}
			}
		if (live == 0) {
			for (i = 0; i < nw && w[i].restart == 0; i++)
				;
			if (i == nw)
				break; /* nothing running, nothing to restart */
		}
		pid = waitpid(-1, &st, WNOHANG);
		if (pid <= 0) {
			nanosleep(&ts, NULL);
			continue;
		}
		for (i = 0; i < nw && w[i].pid != pid; i++)
			;
		if (i == nw)
			continue;
		w[i].pid = 0;
		live--;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 99 && getenv("MAILROOM_FAULT") != NULL) {
			/* an injected crash stands for a kill -9 of the whole stage */
			for (i = 0; i < nw; i++)
				if (w[i].pid > 0)
					kill(w[i].pid, SIGKILL);
			while (wait(NULL) > 0)
				;
			_exit(99);
		}
		if (WIFEXITED(st)) {
			if (WEXITSTATUS(st) != EX_OK) {
				log_errorx("worker %d ended with status %d; stopping", i + 1,
					   WEXITSTATUS(st));
				if (WEXITSTATUS(st) > worst)
					worst = WEXITSTATUS(st);
				stage_stop = 1;
			}
			continue;
		}
		if (now - w[i].started >= 60)
			w[i].deaths = 0; /* it worked for a while: no backoff */
		w[i].deaths++;
		log_errorx("worker %d (pid %ld) died: %s; starting a new one", i + 1, (long)pid,
			   WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "unknown status");
		stage_worker_died(ops, env, slots, nw, i, st);
		w[i].restart = now + (w[i].deaths > 6 ? 60 : (1 << (w[i].deaths - 1)));
		if (w[i].deaths == 1)
			w[i].restart = now; /* the first death: at once */
	}
	munmap(slots, (size_t)nw * sizeof(*slots));
	free(w);
	return worst;
}

int stage_run(const struct stage_ops *ops, struct stage_env *env, int once)
{
	int n, tries;

	stage_signals();
	/* A stage killed a moment ago may still have workers on their way out. */
	for (tries = 0; spool_lock(env->in) == -1; tries++) {
		if (tries == 20 || errno != EWOULDBLOCK) {
			log_errorx("another mailroom-%s is already running on %s (lock held)",
				   env->name, env->set.spool_dir);
			return EX_TEMPFAIL;
		}
		poll(NULL, 0, 100);
	}
	if ((n = spool_recover(env->in)) > 0)
		log_info("recovered %d letter(s) from an interrupted run", n);
	if (ops->workers > 0)
		return stage_parent(ops, env, once);
	return stage_loop(ops, env, once);
}
