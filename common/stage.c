/*
 * stage.c - the claim / process / hand-off loop shared by the stages; see stage.h.
 */
#include "stage.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "log.h"
#include "xalloc.h"

static volatile sig_atomic_t stage_stop;

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

int stage_env_open(struct stage_env *env, const char *conf_dir, const char *name,
		   const char *next)
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

/* Record an event; a journal failure is logged, never silent. */
static void stage_journal(struct stage_env *env, const char *id, const char *action,
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
	if (journal_record(env->jr, &ev) == -1)
		log_errorx("%s: could not write the journal event '%s'", id, action);
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
		if (r.verdict == STAGE_FINISHED && journal_has_event(env->jr, id, action, "ok") == 1)
			log_info("%s: %s already recorded by an earlier run", id, action);
		else
			stage_journal(env, id, action, "ok", r.detail, r.state ? r.state : "queued",
				      loc, &r, NULL);
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
		if (job_write(j) == -1 || spool_handoff(env->in, id, env->review) == -1) {
			log_error("%s: cannot move to review", id);
			rc = -1;
			goto out;
		}
		log_warnx("%s: needs review: %s", id, r.reason);
		stage_journal(env, id, r.action ? r.action : "review", "review", r.detail, "review",
			      "spool/review/incoming", &r, r.reason);
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
		int c = spool_claim(env->in, ids[i]);

		if (c == 0)
			continue; /* another worker took it */
		if (c == -1) {
			log_error("%s: cannot claim", ids[i]);
			continue;
		}
		if (stage_one(ops, env, ids[i]) == -1) {
			spool_list_free(ids);
			return -1;
		}
	}
	spool_list_free(ids);
	return 0;
}

int stage_run(const struct stage_ops *ops, struct stage_env *env, int once)
{
	int n;

	stage_signals();
	if (spool_lock(env->in) == -1) {
		log_errorx("another mailroom-%s is already running on %s (lock held)", env->name,
			   env->set.spool_dir);
		return EX_TEMPFAIL;
	}
	if ((n = spool_recover(env->in)) > 0)
		log_info("recovered %d letter(s) from an interrupted run", n);
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
	return EX_OK;
}
