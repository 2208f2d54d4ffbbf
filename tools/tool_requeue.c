/*
 * tool_requeue.c - `mailroom requeue JOB [--now]`: give a letter another try.
 *
 * Without --now the letter must be in some stage's corrupt/: it goes back to
 * that stage's incoming/ (spool_requeue, which removes QUARANTINE.txt). With
 * --now it must be a deferred letter in some incoming/ (RETRY.txt): its wait is
 * cut short by rewriting RETRY.txt with "now" as the time (the attempt count is
 * kept, so the backoff continues if it fails again), and the directory's
 * timestamp is touched so the stage's inotify watch wakes it.
 * Either way a journal event (stage "mailroom", action "requeued") records it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include "fileio.h"
#include "ident.h"
#include "log.h"
#include "tool.h"
#include "xalloc.h"

/* Record a requeue in the journal; a failure is reported, never silent. */
static int requeue_journal(struct tool_ctx *c, const char *id, const char *stage,
			   const char *detail)
{
	struct journal_event ev;
	char loc[TOOL_LOC_MAX];

	tool_where_location(stage, SPOOL_INCOMING, loc, sizeof(loc));
	memset(&ev, 0, sizeof(ev));
	ev.job = id;
	ev.stage = "mailroom";
	ev.action = "requeued";
	ev.outcome = "ok";
	ev.detail = detail;
	ev.state = "queued";
	ev.location = loc;
	if (journal_record(c->jr, &ev) == -1) {
		log_errorx("%s: moved to %s, but the journal event could not be written", id, loc);
		return -1;
	}
	return 0;
}

/* Explain where the letter is instead (for the "nothing to do" message). */
static void requeue_where(struct tool_ctx *c, const char *id, char *out, size_t outlen)
{
	struct tool_place pl[TOOL_WHERE_MAX];
	int n = tool_where_find(c, id, pl, TOOL_WHERE_MAX);

	if (n == 0)
		snprintf(out, outlen, "it is in no spool area and not in the archive");
	else
		snprintf(out, outlen, "it is in %s", pl[0].location);
	tool_where_free(pl, n);
}

/* corrupt/ -> incoming/ of the stage that quarantined it. */
static int requeue_corrupt(struct tool_ctx *c, const char *id)
{
	char reason[1024], detail[1400], where[256];
	int i, found = -1;

	for (i = 0; i < TOOL_NSTAGES; i++) {
		char *p = spool_path(c->sp[i], SPOOL_CORRUPT, id);
		int e = fio_exists(p);

		free(p);
		if (e == 1) {
			if (found != -1) {
				log_errorx(
				    "%s: in more than one corrupt/ (%s and %s); a letter must "
				    "be in one place. Resolve by hand.",
				    id, tool_stage_names[found], tool_stage_names[i]);
				return EX_SOFTWARE;
			}
			found = i;
		}
	}
	if (found == -1) {
		requeue_where(c, id, where, sizeof(where));
		log_errorx("%s: not quarantined, nothing to requeue (%s)%s", id, where,
			   strstr(where, "incoming") ? "; a deferred letter is retried at once "
						       "with: mailroom requeue ID --now"
						     : "");
		return EX_DATAERR;
	}
	if (spool_entry_ok(c->sp[found], SPOOL_CORRUPT, id) == -1) {
		log_errorx("%s: not requeued: spool/%s/corrupt/%s is not a job directory of ours "
			   "(see above); nothing was moved",
			   id, tool_stage_names[found], id);
		return EX_DATAERR;
	}
	if (spool_reason(c->sp[found], id, reason, sizeof(reason)) == -1)
		snprintf(reason, sizeof(reason), "no reason recorded");
	if (spool_requeue(c->sp[found], id) == -1) {
		log_error("%s: cannot move %s/corrupt to incoming", id, tool_stage_names[found]);
		return EX_IOERR;
	}
	tool_clean(reason, where, sizeof(where));
	snprintf(detail, sizeof(detail), "from spool/%s/corrupt (was: %s)", tool_stage_names[found],
		 where);
	printf("%s: requeued: spool/%s/corrupt -> spool/%s/incoming\n", id, tool_stage_names[found],
	       tool_stage_names[found]);
	return requeue_journal(c, id, tool_stage_names[found], detail) == -1 ? EX_IOERR : EX_OK;
}

/* A deferred letter in incoming/: cut its wait short. */
static int requeue_now(struct tool_ctx *c, const char *id)
{
	struct tool_retry r;
	char detail[1400], clean[1100], *dir = NULL;
	int i, found = -1, rc = EX_OK;

	for (i = 0; i < TOOL_NSTAGES && found == -1; i++) {
		free(dir);
		dir = spool_path(c->sp[i], SPOOL_INCOMING, id);
		if (fio_exists(dir) == 1)
			found = i;
	}
	if (found == -1 || tool_retry_read(dir, &r) != 1) {
		char where[256];

		requeue_where(c, id, where, sizeof(where));
		log_errorx("%s: not a deferred letter (no RETRY.txt in an incoming/; %s)%s", id,
			   where,
			   strstr(where, "corrupt") ? "; a quarantined letter is retried with: "
						      "mailroom requeue ID"
						    : "");
		rc = EX_DATAERR;
		goto out;
	}
	if (spool_retry_now(c->sp[found], id) == -1) {
		if (errno == ENOENT)
			log_errorx("%s: the %s stage took the letter meanwhile; nothing to do", id,
				   tool_stage_names[found]);
		else
			log_error("%s: cannot release the deferred letter in %s", id, dir);
		rc = errno == ENOENT ? EX_DATAERR : EX_IOERR;
		goto out;
	}
	snprintf(detail, sizeof(detail),
		 "deferred letter released for immediate retry in %s "
		 "(attempt %ld: %s)",
		 tool_stage_names[found], r.attempt, tool_clean(r.reason, clean, sizeof(clean)));
	printf("%s: released for immediate retry in spool/%s/incoming (was waiting after attempt "
	       "%ld)\n",
	       id, tool_stage_names[found], r.attempt);
	if (requeue_journal(c, id, tool_stage_names[found], detail) == -1)
		rc = EX_IOERR;
out:
	free(dir);
	return rc;
}

int tool_requeue_run(struct tool_ctx *c)
{
	const char *id = c->opt->args[0];

	if (!ident_job_valid(id)) {
		log_errorx("'%s' is not a job id (expected e.g. 20261121T224431Z-7f3a9c2e1b004d5a)",
			   id);
		return EX_DATAERR;
	}
	return c->opt->now ? requeue_now(c, id) : requeue_corrupt(c, id);
}
