/*
 * tool_show.c - `mailroom show JOB`: everything about one letter: where it is
 * now (every spool area, archive, routing slips), its journal row and event
 * history, what the DMS answered (received, imported, REJECTED with its reason),
 * and a summary of its record (job.json) with files and digests.
 *
 * A record that fails job_read() (digest mismatch, no end marker) is still
 * shown, marked UNVERIFIED with the reason, because that is exactly the
 * letter an operator needs to look at.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <json-c/json.h>

#include "buf.h"
#include "fileio.h"
#include "ident.h"
#include "job.h"
#include "log.h"
#include "timefmt.h"
#include "tool.h"
#include "xalloc.h"

/* Add a string or null to obj. */
static void show_add_str(json_object *obj, const char *key, const char *s)
{
	json_object_object_add(obj, key, s != NULL ? json_object_new_string(s) : NULL);
}

/* The value at a dotted path ("capture.page_count"), or NULL. Owned by root. */
static json_object *show_get(json_object *root, const char *path)
{
	char key[128];
	const char *p = path, *dot;
	json_object *o = root;

	while ((dot = strchr(p, '.')) != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - p), p);
		if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		p = dot + 1;
	}
	if (!json_object_object_get_ex(o, p, &o))
		return NULL;
	return o;
}

/* The value at path as text (numbers and booleans converted), or NULL. */
static const char *show_str(json_object *root, const char *path)
{
	json_object *o = show_get(root, path);

	if (o == NULL || json_object_is_type(o, json_type_object) ||
	    json_object_is_type(o, json_type_array))
		return NULL;
	return json_object_get_string(o);
}

/* Journal callback: the letter row as a JSON object. */
static int show_letter_cb(const struct journal_letter *l, void *arg)
{
	json_object *o = json_object_new_object();

	show_add_str(o, "stage", l->stage);
	show_add_str(o, "state", l->state);
	show_add_str(o, "location", l->location);
	show_add_str(o, "doc_type", l->doc_type);
	show_add_str(o, "scan_mode", l->scan_mode);
	show_add_str(o, "office", l->office);
	show_add_str(o, "reason", l->reason);
	show_add_str(o, "created", l->created);
	show_add_str(o, "updated", l->updated);
	*(json_object **)arg = o;
	return 1;
}

/* Journal callback: one event appended to a JSON array. */
static int show_event_cb(const struct journal_entry *e, void *arg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "seq", json_object_new_int64(e->seq));
	show_add_str(o, "at", e->at);
	show_add_str(o, "stage", e->stage);
	show_add_str(o, "who", e->who);
	show_add_str(o, "action", e->action);
	show_add_str(o, "outcome", e->outcome);
	show_add_str(o, "detail", e->detail);
	json_object_array_add(arg, o);
	return 0;
}

/* Journal callback: remember the last answer of the DMS (receipt / rejected). */
static int show_dms_cb(const struct journal_entry *e, void *arg)
{
	json_object **last = arg;

	if (strcmp(e->stage, "export") != 0 ||
	    (strcmp(e->action, "receipt") != 0 && strcmp(e->action, "rejected") != 0))
		return 0;
	json_object_put(*last);
	*last = json_object_new_object();
	show_add_str(*last, "action", e->action);
	show_add_str(*last, "at", e->at);
	show_add_str(*last, "detail", e->detail);
	return 0;
}

/* Read the letter's record: verified through job_read, else the raw JSON for display. */
static json_object *show_record(const char *dir, const char *id)
{
	json_object *rec = json_object_new_object(), *raw = NULL;
	char err[1024], *path;
	job *j;
	buf b;

	if ((j = job_read(dir, id, err, sizeof(err))) != NULL) {
		json_object_object_add(rec, "verified", json_object_new_boolean(1));
		json_object_object_add(rec, "job", json_object_get(job_meta(j)));
		job_free(j);
		return rec;
	}
	json_object_object_add(rec, "verified", json_object_new_boolean(0));
	show_add_str(rec, "error", err);
	buf_init(&b, JOB_MAX_RECORD);
	path = fio_join(dir, JOB_RECORD);
	if (fio_read_file(path, JOB_MAX_RECORD, &b) == 0)
		raw = json_tokener_parse(b.data ? b.data : "");
	buf_free(&b);
	free(path);
	if (raw != NULL && json_object_is_type(raw, json_type_object))
		json_object_object_add(rec, "job", raw);
	else
		json_object_put(raw);
	return rec;
}

/* One "  label: value" line, value sanitised; nothing if value is NULL. */
static void show_line(const char *label, const char *value)
{
	char clean[2048];

	if (value == NULL)
		return;
	printf("  %-14s %s\n", label, tool_clean(value, clean, sizeof(clean)));
}

/* Print the model for a person. */
static void show_print(json_object *m)
{
	json_object *locs = show_get(m, "locations"), *letter = show_get(m, "letter"),
		    *events = show_get(m, "events"), *rec = show_get(m, "record");
	json_object *jb = rec ? show_get(rec, "job") : NULL, *files;
	const char *id = show_str(m, "id");
	char buf1[512];
	tool_table *t;
	size_t i, n = json_object_array_length(locs);

	printf("Letter %s\n\nWhere it is now\n", id);
	if (n == 0)
		printf("  nowhere in the spool, archive or routing (only in the journal)\n");
	if (n > 1)
		printf("  WARNING: found in %zu places; a letter must be in exactly one. Report "
		       "this.\n",
		       n);
	for (i = 0; i < n; i++) {
		json_object *l = json_object_array_get_idx(locs, i);

		show_line(show_str(l, "location"), show_str(l, "path"));
	}
	if (show_str(m, "quarantine_reason") != NULL) {
		show_line("quarantined:", show_str(m, "quarantine_reason"));
		printf("  %-14s mailroom requeue %s (after fixing the cause)\n", "to retry:", id);
	}
	if (show_get(m, "retry") != NULL) {
		snprintf(buf1, sizeof(buf1), "attempt %s, not before %s: %s",
			 show_str(m, "retry.attempt"), show_str(m, "retry.not_before"),
			 show_str(m, "retry.reason"));
		show_line("deferred:", buf1);
	}

	printf("\nJournal\n");
	if (letter == NULL) {
		printf("  no journal row for this letter\n");
	} else {
		if (show_get(m, "dms") != NULL) {
			const char *st = show_str(m, "dms.state");

			if (st != NULL && strcmp(st, "rejected") == 0) {
				show_line("DMS:", "REJECTED - the DMS did not import the package");
				show_line("why:", show_str(m, "dms.reason"));
				printf(
				    "  %-14s fix the cause, then have the package imported again "
				    "(dms-export/README.md)\n",
				    "to retry:");
			} else {
				show_line("DMS:", show_str(m, "dms.detail"));
			}
		}
		show_line("state:", show_str(letter, "state"));
		show_line("last stage:", show_str(letter, "stage"));
		show_line("location:", show_str(letter, "location"));
		show_line("type:", show_str(letter, "doc_type"));
		show_line("scan mode:", show_str(letter, "scan_mode"));
		show_line("office:", show_str(letter, "office"));
		show_line("reason:", show_str(letter, "reason"));
		show_line("first seen:", show_str(letter, "created"));
		show_line("updated:", show_str(letter, "updated"));
	}
	n = json_object_array_length(events);
	printf("\nHistory (%zu events)\n", n);
	t = tool_table_new(6, "llllll");
	tool_table_row(
	    t, (const char *const[]){"TIME", "STAGE", "WHO", "ACTION", "OUTCOME", "DETAIL"});
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(events, i);

		tool_table_row(t, (const char *const[]){
				      show_str(e, "at"), show_str(e, "stage"), show_str(e, "who"),
				      show_str(e, "action"), show_str(e, "outcome"),
				      show_str(e, "detail") ? show_str(e, "detail") : ""});
	}
	if (n > 0)
		tool_table_print(t, stdout, "  ");
	t = tool_table_free(t);

	if (rec == NULL)
		return;
	if (json_object_get_boolean(show_get(rec, "verified")))
		printf("\nRecord (job.json, all digests verified)\n");
	else
		printf("\nRecord (job.json) UNVERIFIED: %s\n",
		       tool_clean(show_str(rec, "error"), buf1, sizeof(buf1)));
	if (jb == NULL) {
		printf("  unreadable\n");
		return;
	}
	show_line("uuid:", show_str(jb, "uuid"));
	show_line("created:", show_str(jb, "created"));
	show_line("source:", show_str(jb, "source.kind"));
	show_line("original:", show_str(jb, "source.file"));
	show_line("pages:", show_str(jb, "capture.page_count"));
	show_line("operator:", show_str(jb, "capture.operator"));
	if (show_str(jb, "classification.type") != NULL) {
		snprintf(buf1, sizeof(buf1), "%s (%s)", show_str(jb, "classification.type"),
			 show_str(jb, "classification.type_name")
			     ? show_str(jb, "classification.type_name")
			     : "-");
		show_line("type:", buf1);
		show_line("scan mode:", show_str(jb, "classification.scan_mode"));
		snprintf(buf1, sizeof(buf1), "%s (%s)",
			 show_str(jb, "classification.office")
			     ? show_str(jb, "classification.office")
			     : "-",
			 show_str(jb, "classification.office_name")
			     ? show_str(jb, "classification.office_name")
			     : "-");
		show_line("office:", buf1);
		show_line("decided by:", show_str(jb, "classification.decided_by"));
		show_line("reviewer:", show_str(jb, "classification.reviewer"));
		show_line("score:", show_str(jb, "classification.score"));
		show_line("margin:", show_str(jb, "classification.margin"));
	}
	show_line("signing:", show_str(jb, "signing.level"));
	show_line("not signed:", show_str(jb, "signing.skipped"));
	show_line("package:", show_str(jb, "export.package"));
	show_line("inbox:", show_str(jb, "export.inbox"));
	show_line("delivered at:", show_str(jb, "export.delivered_at"));
	show_line("ProzessID:", show_str(jb, "export.process_id"));
	show_line("routing slip:", show_str(jb, "export.routing"));
	show_line("routing rec.:", show_str(jb, "export.record"));
	if ((files = show_get(jb, "files")) != NULL &&
	    json_object_is_type(files, json_type_object)) {
		printf("\n  Files\n");
		t = tool_table_new(3, "lrl");
		tool_table_row(t, (const char *const[]){"NAME", "SIZE", "SHA-256"});
		json_object_object_foreach(files, name, ent)
		{
			tool_table_row(t, (const char *const[]){name, show_str(ent, "size"),
								show_str(ent, "sha256")});
		}
		tool_table_print(t, stdout, "    ");
		t = tool_table_free(t);
	}
}

int tool_show_run(struct tool_ctx *c)
{
	const char *id = c->opt->args[0];
	struct tool_place pl[TOOL_WHERE_MAX];
	json_object *m = NULL, *locs, *letter = NULL, *events;
	const char *recdir = NULL;
	int n, i, rc = EX_OK, lr;

	if (!ident_job_valid(id)) {
		log_errorx("'%s' is not a job id (expected e.g. 20261121T224431Z-7f3a9c2e1b004d5a)",
			   id);
		return EX_DATAERR;
	}
	n = tool_where_find(c, id, pl, TOOL_WHERE_MAX);
	m = json_object_new_object();
	show_add_str(m, "id", id);
	locs = json_object_new_array();
	json_object_object_add(m, "locations", locs);
	for (i = 0; i < n && i < TOOL_WHERE_MAX; i++) {
		json_object *l = json_object_new_object();

		show_add_str(l, "location", pl[i].location);
		show_add_str(l, "path", pl[i].path);
		json_object_array_add(locs, l);
		if (strncmp(pl[i].location, "routing/", 8) == 0)
			continue;
		if (recdir == NULL)
			recdir = pl[i].path;
		if (pl[i].stage != NULL && pl[i].area == SPOOL_CORRUPT) {
			char reason[2048];

			if (spool_reason(tool_ctx_spool(c, pl[i].stage), id, reason,
					 sizeof(reason)) == 0)
				show_add_str(m, "quarantine_reason", reason);
		}
		if (pl[i].stage != NULL && pl[i].area == SPOOL_INCOMING) {
			struct tool_retry r;

			if (tool_retry_read(pl[i].path, &r) == 1) {
				json_object *o = json_object_new_object();
				char at[TIMEFMT_ISO_MAX];

				show_add_str(o, "not_before", timefmt_iso(r.not_before, at));
				json_object_object_add(o, "attempt",
						       json_object_new_int64(r.attempt));
				show_add_str(o, "reason", r.reason);
				json_object_object_add(m, "retry", o);
			}
		}
	}
	if ((lr = journal_letter(c->jr, id, show_letter_cb, &letter)) == -1) {
		log_errorx("%s: cannot read the journal", id);
		rc = EX_IOERR;
		goto out;
	}
	json_object_object_add(m, "letter", letter);
	events = json_object_new_array();
	json_object_object_add(m, "events", events);
	if (journal_events(c->jr, id, show_event_cb, events) == -1) {
		log_errorx("%s: cannot read the journal events", id);
		rc = EX_IOERR;
		goto out;
	}
	/* What the DMS answered (mailroom-dms-export journals receipts and rejections):
	 * the letter's state and reason, and the last answer's event. */
	{
		json_object *last = NULL;

		if (journal_events(c->jr, id, show_dms_cb, &last) == 0 && last != NULL) {
			show_add_str(last, "state", letter ? show_str(letter, "state") : NULL);
			show_add_str(last, "reason",
				     letter && show_str(letter, "state") &&
					     strcmp(show_str(letter, "state"), "rejected") == 0
					 ? show_str(letter, "reason")
					 : NULL);
			json_object_object_add(m, "dms", last);
		} else {
			json_object_put(last);
		}
	}
	if (n == 0 && lr == 1) {
		log_errorx("%s: unknown letter: not in any spool area, the archive or the journal",
			   id);
		rc = EX_NOINPUT;
		goto out;
	}
	if (recdir != NULL)
		json_object_object_add(m, "record", show_record(recdir, id));
	if (c->opt->json)
		printf("%s\n", json_object_to_json_string_ext(
				   m, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		show_print(m);
out:
	json_object_put(m);
	tool_where_free(pl, n);
	return rc;
}
