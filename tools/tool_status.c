/*
 * tool_status.c - `mailroom status`: how many letters are where, which ones
 * need a person (quarantined, waiting for review, deferred, rejected by the DMS)
 * and why, the journal's counts per state and, on request, the journal's hash
 * chain.
 *
 * The counts come from the spool directories, which are the truth; reasons
 * come from QUARANTINE.txt, RETRY.txt and the journal (a rejection by the DMS is
 * only in the journal: the letter itself is in the archive). One model (a json-c
 * object) is built first and then printed either as JSON or as tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <json-c/json.h>

#include "log.h"
#include "timefmt.h"
#include "tool.h"
#include "xalloc.h"

/* Journal callback: copy a letter's reason. */
static int status_letter_reason(const struct journal_letter *l, void *arg)
{
	char **out = arg;

	*out = xstrdup(l->reason != NULL ? l->reason : "");
	return 1;
}

/* The journal's last reason for a letter (caller frees), or NULL. */
static char *status_journal_reason(struct tool_ctx *c, const char *id)
{
	char *reason = NULL;

	if (journal_letter(c->jr, id, status_letter_reason, &reason) != 0) {
		free(reason);
		return NULL;
	}
	if (reason != NULL && reason[0] == '\0') {
		free(reason);
		return NULL;
	}
	return reason;
}

/* Add a string or null to obj. */
static void status_add_str(json_object *obj, const char *key, const char *s)
{
	json_object_object_add(obj, key, s != NULL ? json_object_new_string(s) : NULL);
}

/* Count one stage's areas; fill the quarantined, deferred and review lists. Returns -1 on error. */
static int status_stage(struct tool_ctx *c, int si, json_object *stages, json_object *quar,
			json_object *deferred, json_object *review)
{
	const char *name = tool_stage_names[si];
	spool *sp = c->sp[si];
	json_object *st = json_object_new_object();
	char **ids = NULL;
	time_t now = time(NULL);
	long ready = 0, def = 0;
	int a, i, rc = -1;

	json_object_object_add(st, "stage", json_object_new_string(name));
	json_object_array_add(stages, st);
	/* incoming: ready or deferred */
	if ((ids = spool_list(sp, SPOOL_INCOMING, 0, NULL)) == NULL)
		goto out;
	for (i = 0; ids[i] != NULL; i++) {
		char *dir = spool_path(sp, SPOOL_INCOMING, ids[i]);
		struct tool_retry r;
		int got = tool_retry_read(dir, &r);

		free(dir);
		if (got != 0) {
			json_object *d = json_object_new_object();
			char at[TIMEFMT_ISO_MAX];

			if (got == -1) {
				memset(&r, 0, sizeof(r));
				snprintf(r.reason, sizeof(r.reason),
					 "RETRY.txt is unreadable or malformed");
			}
			if (r.not_before > now)
				def++;
			else
				ready++;
			status_add_str(d, "id", ids[i]);
			status_add_str(d, "stage", name);
			status_add_str(d, "retry_at", timefmt_iso(r.not_before, at));
			json_object_object_add(d, "due",
					       json_object_new_boolean(r.not_before <= now));
			json_object_object_add(d, "attempt", json_object_new_int64(r.attempt));
			status_add_str(d, "reason", r.reason);
			json_object_array_add(deferred, d);
		} else {
			ready++;
		}
		if (review != NULL) {
			json_object *rv = json_object_new_object();
			char *reason = status_journal_reason(c, ids[i]);

			status_add_str(rv, "id", ids[i]);
			status_add_str(rv, "reason", reason);
			json_object_array_add(review, rv);
			free(reason);
		}
	}
	ids = spool_list_free(ids);
	json_object_object_add(st, "ready", json_object_new_int64(ready));
	json_object_object_add(st, "deferred", json_object_new_int64(def));
	for (a = SPOOL_TMP; a <= SPOOL_CORRUPT; a++) {
		if (a == SPOOL_INCOMING)
			continue;
		if ((ids = spool_list(sp, (enum spool_area)a, 0, NULL)) == NULL)
			goto out;
		for (i = 0; ids[i] != NULL; i++)
			;
		json_object_object_add(st, tool_where_area_name((enum spool_area)a),
				       json_object_new_int64(i));
		for (i = 0; a == SPOOL_CORRUPT && ids[i] != NULL; i++) {
			json_object *q = json_object_new_object();
			char reason[2048];

			if (spool_reason(sp, ids[i], reason, sizeof(reason)) == -1)
				snprintf(reason, sizeof(reason),
					 "no QUARANTINE.txt; see mailroom show %s", ids[i]);
			status_add_str(q, "id", ids[i]);
			status_add_str(q, "stage", name);
			status_add_str(q, "reason", reason);
			json_object_array_add(quar, q);
		}
		ids = spool_list_free(ids);
	}
	rc = 0;
out:
	if (rc == -1)
		log_error("spool %s", name);
	spool_list_free(ids);
	return rc;
}

/* Journal callback: a letter the DMS rejected, appended to the array. */
static int status_rejected(const struct journal_letter *l, void *arg)
{
	json_object *o = json_object_new_object();

	status_add_str(o, "id", l->job);
	status_add_str(o, "office", l->office);
	status_add_str(o, "since", l->updated);
	status_add_str(o, "location", l->location);
	status_add_str(o, "reason", l->reason);
	json_object_array_add(arg, o);
	return 0;
}

/* Journal callback: one state count. */
static int status_count(const char *state, long long n, void *arg)
{
	json_object_object_add(arg, state != NULL ? state : "?", json_object_new_int64(n));
	return 0;
}

/* Print the model as tables for an operator. */
static void status_print(json_object *m)
{
	json_object *stages, *quar, *deferred, *review, *rejected, *jc, *jv, *o;
	tool_table *t;
	size_t i, n;
	char num[6][32];

	json_object_object_get_ex(m, "stages", &stages);
	json_object_object_get_ex(m, "quarantined", &quar);
	json_object_object_get_ex(m, "deferred", &deferred);
	json_object_object_get_ex(m, "review", &review);
	json_object_object_get_ex(m, "rejected", &rejected);
	json_object_object_get_ex(m, "journal", &jc);
	printf("mailroom status at %s (var: %s)\n\n",
	       json_object_get_string(json_object_object_get(m, "generated")),
	       json_object_get_string(json_object_object_get(m, "var")));

	t = tool_table_new(7, "lrrrrrl");
	tool_table_row(
	    t, (const char *const[]){"STAGE", "READY", "DEFERRED", "ACTIVE", "CORRUPT", "TMP", ""});
	for (i = 0; i < json_object_array_length(stages); i++) {
		static const char *const keys[] = {"ready", "deferred", "active", "corrupt", "tmp"};
		const char *row[7];
		int k;

		o = json_object_array_get_idx(stages, i);
		row[0] = json_object_get_string(json_object_object_get(o, "stage"));
		for (k = 0; k < 5; k++) {
			snprintf(
			    num[k], sizeof(num[k]), "%lld",
			    (long long)json_object_get_int64(json_object_object_get(o, keys[k])));
			row[k + 1] = num[k];
		}
		row[6] = strcmp(row[0], "review") == 0 ? "(waiting for a person)" : "";
		tool_table_row(t, row);
	}
	snprintf(num[5], sizeof(num[5]), "%lld",
		 (long long)json_object_get_int64(json_object_object_get(m, "archive")));
	tool_table_row(
	    t, (const char *const[]){"archive", num[5], "", "", "", "", "(left the pipeline)"});
	tool_table_print(t, stdout, "  ");
	t = tool_table_free(t);

	n = json_object_array_length(quar);
	printf("\nQuarantined: %zu%s\n", n,
	       n ? " - fix the cause, then retry with: mailroom requeue ID" : "");
	if (n > 0) {
		t = tool_table_new(3, "lll");
		tool_table_row(t, (const char *const[]){"ID", "STAGE", "REASON"});
		for (i = 0; i < n; i++) {
			o = json_object_array_get_idx(quar, i);
			tool_table_row(
			    t, (const char *const[]){
				   json_object_get_string(json_object_object_get(o, "id")),
				   json_object_get_string(json_object_object_get(o, "stage")),
				   json_object_get_string(json_object_object_get(o, "reason"))});
		}
		tool_table_print(t, stdout, "  ");
		t = tool_table_free(t);
	}

	n = json_object_array_length(review);
	printf("\nWaiting for review: %zu%s\n", n,
	       n ? " - decide with: mailroom review ID --type T [--office O] --by NAME" : "");
	if (n > 0) {
		t = tool_table_new(2, "ll");
		tool_table_row(t, (const char *const[]){"ID", "REASON"});
		for (i = 0; i < n; i++) {
			o = json_object_array_get_idx(review, i);
			tool_table_row(
			    t, (const char *const[]){
				   json_object_get_string(json_object_object_get(o, "id")),
				   json_object_get_string(json_object_object_get(o, "reason"))});
		}
		tool_table_print(t, stdout, "  ");
		t = tool_table_free(t);
	}

	n = json_object_array_length(deferred);
	printf("\nDeferred: %zu%s\n", n,
	       n ? " - retried automatically; at once with: mailroom requeue ID --now" : "");
	if (n > 0) {
		t = tool_table_new(5, "llrll");
		tool_table_row(
		    t, (const char *const[]){"ID", "STAGE", "ATTEMPT", "RETRY AT", "REASON"});
		for (i = 0; i < n; i++) {
			o = json_object_array_get_idx(deferred, i);
			snprintf(
			    num[0], sizeof(num[0]), "%lld",
			    (long long)json_object_get_int64(json_object_object_get(o, "attempt")));
			tool_table_row(
			    t,
			    (const char *const[]){
				json_object_get_string(json_object_object_get(o, "id")),
				json_object_get_string(json_object_object_get(o, "stage")), num[0],
				json_object_get_boolean(json_object_object_get(o, "due"))
				    ? "due now"
				    : json_object_get_string(json_object_object_get(o, "retry_at")),
				json_object_get_string(json_object_object_get(o, "reason"))});
		}
		tool_table_print(t, stdout, "  ");
		t = tool_table_free(t);
	}

	n = json_object_array_length(rejected);
	printf("\nRejected by the DMS: %zu%s\n", n,
	       n ? " - the DMS did not import the package: fix the cause, then have it "
		   "imported again (dms-export/README.md)"
		 : "");
	if (n > 0) {
		t = tool_table_new(4, "llll");
		tool_table_row(t, (const char *const[]){"ID", "OFFICE", "SINCE", "REASON"});
		for (i = 0; i < n; i++) {
			o = json_object_array_get_idx(rejected, i);
			tool_table_row(
			    t, (const char *const[]){
				   json_object_get_string(json_object_object_get(o, "id")),
				   json_object_get_string(json_object_object_get(o, "office")),
				   json_object_get_string(json_object_object_get(o, "since")),
				   json_object_get_string(json_object_object_get(o, "reason"))});
		}
		tool_table_print(t, stdout, "  ");
		t = tool_table_free(t);
	}

	printf("\nJournal: letters per state\n");
	if (json_object_object_length(jc) == 0)
		printf("  (no letters recorded)\n");
	t = tool_table_new(2, "lr");
	json_object_object_foreach(jc, state, cnt)
	{
		snprintf(num[0], sizeof(num[0]), "%lld", (long long)json_object_get_int64(cnt));
		tool_table_row(t, (const char *const[]){state, num[0]});
	}
	tool_table_print(t, stdout, "  ");
	t = tool_table_free(t);

	if (json_object_object_get_ex(m, "journal_verify", &jv)) {
		long long ev = json_object_get_int64(json_object_object_get(jv, "events"));

		if (json_object_get_boolean(json_object_object_get(jv, "intact")))
			printf("\njournal intact: %lld events\n", ev);
		else
			printf("\njournal BROKEN: %s (%lld events verified before it)\n",
			       json_object_get_string(json_object_object_get(jv, "error")), ev);
	}
}

int tool_status_run(struct tool_ctx *c)
{
	json_object *m = json_object_new_object(), *stages = json_object_new_array(),
		    *quar = json_object_new_array(), *deferred = json_object_new_array(),
		    *review = json_object_new_array(), *rejected = json_object_new_array(),
		    *jc = json_object_new_object();
	char now[TIMEFMT_ISO_MAX], err[1024];
	long long checked = 0;
	int i, rc = EX_OK;

	status_add_str(m, "generated", timefmt_now(now));
	status_add_str(m, "var", c->set.var_dir);
	json_object_object_add(m, "stages", stages);
	json_object_object_add(m, "quarantined", quar);
	json_object_object_add(m, "review", review);
	json_object_object_add(m, "deferred", deferred);
	json_object_object_add(m, "rejected", rejected);
	json_object_object_add(m, "journal", jc);
	for (i = 0; i < TOOL_NSTAGES; i++)
		if (status_stage(c, i, stages, quar, deferred,
				 strcmp(tool_stage_names[i], "review") == 0 ? review : NULL) ==
		    -1) {
			rc = EX_IOERR;
			goto out;
		}
	json_object_object_add(m, "archive",
			       json_object_new_int64(tool_where_count_dir(c->set.archive_dir)));
	/* letters the DMS rejected (receipt 0630 with errors, or its error folder):
	 * recorded by mailroom-dms-export as the letter's state */
	if (journal_letters(c->jr, "rejected", status_rejected, rejected) == -1) {
		log_errorx("journal: cannot read the rejected letters");
		rc = EX_IOERR;
		goto out;
	}
	if (journal_counts(c->jr, status_count, jc) == -1) {
		log_errorx("journal: cannot read the letter counts");
		rc = EX_IOERR;
		goto out;
	}
	if (c->opt->verify_journal) {
		json_object *jv = json_object_new_object();
		int v = journal_verify(c->jr, &checked, err, sizeof(err));

		if (v == -1) {
			log_errorx("journal: %s", err);
			json_object_put(jv);
			rc = EX_IOERR;
			goto out;
		}
		json_object_object_add(jv, "intact", json_object_new_boolean(v == 0));
		json_object_object_add(jv, "events", json_object_new_int64(checked));
		if (v == 1) {
			status_add_str(jv, "error", err);
			rc = TOOL_EXIT_FAILED;
		}
		json_object_object_add(m, "journal_verify", jv);
	}
	if (c->opt->json)
		printf("%s\n", json_object_to_json_string_ext(
				   m, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		status_print(m);
out:
	json_object_put(m);
	return rc;
}
