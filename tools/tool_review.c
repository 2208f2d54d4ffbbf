/*
 * tool_review.c - `mailroom review`: the letters classify was unsure about,
 * and a person's decision on one of them.
 *
 * Listing reads spool/review/incoming (the truth) with each letter's reason
 * from the journal and the machine's proposal from job.json "classification".
 *
 * A decision holds the review spool's lock (two reviewers cannot interleave;
 * a decision interrupted by a crash is recovered from review/active first),
 * claims the letter, validates type and office against conf/scankonzept.yaml
 * and conf/offices.yaml, rewrites "classification" (the machine's proposal is
 * kept under classification.proposal), marks classify done, and hands the
 * letter to spool/sign/incoming; then the journal records who decided what.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <json-c/json.h>

#include "fileio.h"
#include "ident.h"
#include "job.h"
#include "log.h"
#include "timefmt.h"
#include "tool.h"
#include "xalloc.h"

#define REVIEW_NAME_MAX 128
#define REVIEW_NOTE_MAX 1000

/* Journal callback: copy a letter's reason. */
static int review_reason_cb(const struct journal_letter *l, void *arg)
{
	snprintf(arg, 1024, "%s", l->reason != NULL ? l->reason : "");
	return 1;
}

/* Copy a string-valued key of the proposal into obj (or null). */
static void review_copy(json_object *obj, json_object *cls, const char *key)
{
	json_object *v = NULL;

	if (cls != NULL && json_object_object_get_ex(cls, key, &v) && v != NULL &&
	    !json_object_is_type(v, json_type_object) && !json_object_is_type(v, json_type_array))
		json_object_object_add(obj, key, json_object_new_string(json_object_get_string(v)));
	else
		json_object_object_add(obj, key, NULL);
}

/* `mailroom review` without a job: list what is waiting. */
static int review_list(struct tool_ctx *c)
{
	spool *rv = tool_ctx_spool(c, "review");
	char **ids = spool_list(rv, SPOOL_INCOMING, 0, NULL);
	json_object *arr = json_object_new_array();
	tool_table *t = NULL;
	size_t i;

	if (ids == NULL) {
		log_error("spool review/incoming");
		json_object_put(arr);
		return EX_IOERR;
	}
	for (i = 0; ids[i] != NULL; i++) {
		json_object *o = json_object_new_object(), *cls = NULL;
		char reason[1024] = "", err[1024];
		char *dir = spool_path(rv, SPOOL_INCOMING, ids[i]);
		job *j = job_read(dir, ids[i], err, sizeof(err));

		json_object_object_add(o, "id", json_object_new_string(ids[i]));
		if (journal_letter(c->jr, ids[i], review_reason_cb, reason) != 0 || !reason[0])
			snprintf(reason, sizeof(reason), "(no reason in the journal)");
		json_object_object_add(o, "reason", json_object_new_string(reason));
		if (j == NULL)
			json_object_object_add(o, "record_error", json_object_new_string(err));
		else
			json_object_object_get_ex(job_meta(j), "classification", &cls);
		review_copy(o, cls, "type");
		review_copy(o, cls, "score");
		review_copy(o, cls, "second_type");
		review_copy(o, cls, "second_score");
		review_copy(o, cls, "margin");
		review_copy(o, cls, "office");
		json_object_array_add(arr, o);
		job_free(j);
		free(dir);
	}
	spool_list_free(ids);
	if (c->opt->json) {
		printf("%s\n", json_object_to_json_string_ext(
				   arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(arr);
		return EX_OK;
	}
	printf("Waiting for review: %zu\n", json_object_array_length(arr));
	if (json_object_array_length(arr) > 0) {
		t = tool_table_new(8, "llrlrrll");
		tool_table_row(t, (const char *const[]){"ID", "BEST", "SCORE", "SECOND", "SCORE",
							"MARGIN", "OFFICE", "REASON"});
		for (i = 0; i < json_object_array_length(arr); i++) {
			json_object *o = json_object_array_get_idx(arr, i), *v;
			const char *row[8];
			static const char *const keys[] = {"id",	  "type",	  "score",
							   "second_type", "second_score", "margin",
							   "office",	  "reason"};
			int k;

			for (k = 0; k < 8; k++)
				row[k] = json_object_object_get_ex(o, keys[k], &v)
					     ? json_object_get_string(v)
					     : NULL;
			if (json_object_object_get_ex(o, "record_error", &v))
				row[7] = json_object_get_string(v);
			tool_table_row(t, row);
		}
		tool_table_print(t, stdout, "  ");
		printf("\nDecide with: mailroom review ID --type T [--office O] --by NAME "
		       "[--note TEXT]\n");
		t = tool_table_free(t);
	}
	json_object_put(arr);
	return EX_OK;
}

/* 1 if s is acceptable as a reviewer name or note: non-empty, bounded, no control chars. */
static int review_text_ok(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* The Scankonzept type's protection map as a JSON object of strings. */
static json_object *review_protection(const struct tool_type *ty)
{
	const conf_node *p = conf_get(ty->node, "protection");
	json_object *o = json_object_new_object();
	size_t i;

	if (p != NULL && p->kind == CONF_MAP)
		for (i = 0; i < p->n; i++)
			if (p->items[i]->kind == CONF_SCALAR)
				json_object_object_add(o, p->keys[i],
						       json_object_new_string(p->items[i]->value));
	return o;
}

/* Rewrite the record's classification with the person's decision. */
static void review_apply(job *j, const struct tool_type *ty, const struct office *of,
			 const char *by, const char *note)
{
	json_object *root = job_meta(j), *old = NULL, *cls = json_object_new_object();
	const conf_node *qs = conf_get(ty->node, "qs_sample_rate");
	char now[TIMEFMT_ISO_MAX];

	if (json_object_object_get_ex(root, "classification", &old))
		json_object_get(old);
	json_object_object_add(cls, "type", json_object_new_string(ty->id));
	json_object_object_add(cls, "type_name", json_object_new_string(ty->name));
	json_object_object_add(cls, "scan_mode", json_object_new_string(ty->scan_mode));
	json_object_object_add(cls, "protection", review_protection(ty));
	if (qs != NULL && qs->kind == CONF_SCALAR)
		json_object_object_add(cls, "qs_sample_rate",
				       json_object_new_double(strtod(qs->value, NULL)));
	json_object_object_add(cls, "office", json_object_new_string(of->id));
	json_object_object_add(cls, "office_name",
			       json_object_new_string(of->name ? of->name : of->id));
	json_object_object_add(cls, "pilot", json_object_new_boolean(of->pilot));
	json_object_object_add(cls, "decided_by", json_object_new_string("review"));
	json_object_object_add(cls, "reviewer", json_object_new_string(by));
	json_object_object_add(cls, "reviewed_at", json_object_new_string(timefmt_now(now)));
	json_object_object_add(cls, "note", note ? json_object_new_string(note) : NULL);
	json_object_object_add(cls, "proposal", old);
	/* replaces (and releases) the old object; "files"/"end" are re-ordered by job_write */
	json_object_object_add(root, "classification", cls);
}

/* Record the decision in the journal. */
static int review_journal(struct tool_ctx *c, const char *id, const struct tool_type *ty,
			  const struct office *of, const char *by)
{
	struct journal_event ev;
	char detail[512];

	snprintf(detail, sizeof(detail), "type %s, office %s by %s", ty->id, of->id, by);
	memset(&ev, 0, sizeof(ev));
	ev.job = id;
	ev.stage = "mailroom";
	ev.action = "reviewed";
	ev.outcome = "ok";
	ev.detail = detail;
	ev.state = "queued";
	ev.location = "spool/sign/incoming";
	ev.doc_type = ty->id;
	ev.scan_mode = ty->scan_mode;
	ev.office = of->id;
	if (journal_record(c->jr, &ev) == -1) {
		log_errorx("%s: handed to sign, but the journal event could not be written", id);
		return -1;
	}
	return 0;
}

/* `mailroom review JOB --type T ...`: record a decision and send the letter on. */
static int review_decide(struct tool_ctx *c, const char *id)
{
	const struct tool_opts *o = c->opt;
	spool *rv = tool_ctx_spool(c, "review"), *sign = tool_ctx_spool(c, "sign");
	struct tool_types types;
	offices offs;
	const struct tool_type *ty;
	const struct office *of;
	conf_err ce;
	char err[1024];
	char *dir = NULL;
	job *j = NULL;
	int rc = EX_OK, claimed;

	memset(&types, 0, sizeof(types));
	memset(&offs, 0, sizeof(offs));
	if (!ident_job_valid(id)) {
		log_errorx("'%s' is not a job id", id);
		return EX_DATAERR;
	}
	if (o->type == NULL || o->by == NULL) {
		log_errorx("a decision needs --type T and --by NAME (try mailroom --help)");
		return EX_USAGE;
	}
	if (!review_text_ok(o->by, REVIEW_NAME_MAX) ||
	    (o->note != NULL && !review_text_ok(o->note, REVIEW_NOTE_MAX))) {
		log_errorx("--by (1..%d characters) and --note (1..%d) must be plain text without "
			   "control characters",
			   REVIEW_NAME_MAX, REVIEW_NOTE_MAX);
		return EX_USAGE;
	}
	/* check the decision before the letter is touched */
	if (tool_types_load(c->set.conf_dir, &types, &ce) == -1) {
		log_errorx("configuration: %s", ce.msg);
		return EX_CONFIG;
	}
	if (offices_load(c->set.conf_dir, &offs, &ce) == -1) {
		log_errorx("configuration: %s", ce.msg);
		rc = EX_CONFIG;
		goto out;
	}
	if ((ty = tool_types_find(&types, o->type)) == NULL) {
		log_errorx("%s: unknown type '%s' (the types are the ids in conf/scankonzept.yaml)",
			   id, o->type);
		rc = EX_DATAERR;
		goto out;
	}
	if ((of = tool_types_office(ty, &offs, o->office, err, sizeof(err))) == NULL) {
		log_errorx("%s: %s", id, err);
		rc = EX_DATAERR;
		goto out;
	}
	if (spool_lock(rv) == -1) {
		if (errno == EWOULDBLOCK)
			log_errorx("another review decision is being recorded; try again");
		else
			log_error("spool review: lock");
		rc = errno == EWOULDBLOCK ? EX_TEMPFAIL : EX_IOERR;
		goto out;
	}
	if (spool_recover(rv) > 0)
		log_info("recovered an interrupted review decision into review/incoming");
	if ((claimed = spool_claim(rv, id)) != 1) {
		int refused = claimed == -1 && errno == EPERM;

		if (claimed == 0)
			log_errorx("%s: not waiting for review (see mailroom review, mailroom show "
				   "%s)",
				   id, id);
		else if (refused)
			log_errorx("%s: not decided: review/incoming/%s is not a job directory of "
				   "ours (see above); nothing was moved",
				   id, id);
		else
			log_error("%s: cannot claim from review/incoming", id);
		rc = claimed == 0 || refused ? EX_DATAERR : EX_IOERR;
		goto out;
	}
	spool_clean_active(rv, id);
	dir = spool_path(rv, SPOOL_ACTIVE, id);
	if ((j = job_read(dir, id, err, sizeof(err))) == NULL) {
		char reason[1400];
		struct journal_event ev;

		snprintf(reason, sizeof(reason),
			 "damaged job record: %s. Check the files in the job directory; "
			 "'mailroom requeue %s' puts it back for review",
			 err, id);
		log_errorx("%s: quarantined in review/corrupt: %s", id, reason);
		rc = EX_DATAERR;
		if (spool_quarantine(rv, SPOOL_ACTIVE, id, reason) == -1) {
			log_error("%s: cannot move to review/corrupt; left in review/active", id);
			rc = EX_IOERR;
			goto out;
		}
		memset(&ev, 0, sizeof(ev));
		ev.job = id;
		ev.stage = "mailroom";
		ev.action = "quarantined";
		ev.outcome = "quarantined";
		ev.detail = reason;
		ev.state = "quarantined";
		ev.location = "spool/review/corrupt";
		ev.reason = reason;
		journal_record(c->jr, &ev);
		goto out;
	}
	review_apply(j, ty, of, o->by, o->note);
	job_mark_stage(j, "classify", "ok");
	if (job_write(j) == -1) {
		log_error("%s: cannot write the job record; the letter stays in review", id);
		rc = EX_IOERR;
		goto out;
	}
	if (spool_handoff(rv, id, sign) == -1) {
		log_error("%s: hand-off to sign failed; the letter stays in review/active and "
			  "returns to review/incoming with the next review command",
			  id);
		rc = EX_IOERR;
		goto out;
	}
	printf("%s: reviewed: type %s (%s), office %s by %s -> spool/sign/incoming\n", id, ty->id,
	       ty->scan_mode, of->id, o->by);
	if (review_journal(c, id, ty, of, o->by) == -1)
		rc = EX_IOERR;
out:
	/* a letter left in review/active (write failed) goes back for the next reviewer */
	if (dir != NULL && fio_exists(dir) == 1)
		spool_recover(rv);
	job_free(j);
	free(dir);
	offices_free(&offs);
	tool_types_free(&types);
	return rc;
}

int tool_review_run(struct tool_ctx *c)
{
	const struct tool_opts *o = c->opt;

	if (o->nargs == 0) {
		if (o->type || o->office || o->by || o->note) {
			log_errorx("--type, --office, --by and --note need a job id: "
				   "mailroom review JOB --type T --by NAME");
			return EX_USAGE;
		}
		return review_list(c);
	}
	if (o->json) {
		log_errorx("--json applies to the list (mailroom review --json)");
		return EX_USAGE;
	}
	return review_decide(c, o->args[0]);
}
