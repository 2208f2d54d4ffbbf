/*
 * common_journal_test.c - the journal's hash chain finds changed and deleted rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "check.h"
#include "fileio.h"
#include "journal.h"
#include "log.h"

static int count_cb(const struct journal_entry *e, void *arg)
{
	(void)e;
	(*(int *)arg)++;
	return 0;
}

static int letter_cb(const struct journal_letter *l, void *arg)
{
	snprintf(arg, 256, "%s|%s|%s|%s", l->state, l->doc_type ? l->doc_type : "-",
		 l->office ? l->office : "-", l->reason ? l->reason : "-");
	return 0;
}

/* Run SQL directly on the database (as an attacker or a broken tool would). */
static int raw(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

int main(void)
{
	char dir[] = "/tmp/mailroom-journal-test-XXXXXX", err[512], row[256];
	char *path;
	journal *j;
	long long n;
	int i, events = 0;
	struct journal_event ev;

	log_init("common_journal_test");
	if (mkdtemp(dir) == NULL)
		return 2;
	path = fio_join(dir, "journal.db");
	j = journal_open(path, err, sizeof(err));
	CHECK(j != NULL);
	for (i = 0; i < 5; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.job = i < 3 ? "20260101T000000Z-0000000000000001" : "20260101T000000Z-0000000000000002";
		ev.stage = "classify";
		ev.action = "classified";
		ev.outcome = "ok";
		ev.detail = "rechnung";
		ev.state = "queued";
		ev.doc_type = i == 1 ? "rechnung" : NULL;
		CHECK(journal_record(j, &ev) == 0);
	}
	memset(&ev, 0, sizeof(ev));
	ev.job = "20260101T000000Z-0000000000000001";
	ev.stage = "sign";
	ev.action = "quarantined";
	ev.outcome = "quarantined";
	ev.state = "quarantined";
	ev.reason = "bad seal key";
	CHECK(journal_record(j, &ev) == 0);
	CHECK(journal_letter(j, "20260101T000000Z-0000000000000001", letter_cb, row) == 0);
	CHECK_STR(row, "quarantined|rechnung|-|bad seal key");
	CHECK(journal_has_event(j, "20260101T000000Z-0000000000000001", "quarantined",
				"quarantined") == 1);
	CHECK(journal_has_event(j, "20260101T000000Z-0000000000000002", "quarantined",
				"quarantined") == 0);
	CHECK(journal_events(j, "20260101T000000Z-0000000000000001", count_cb, &events) == 0);
	CHECK(events == 4);
	CHECK(journal_verify(j, &n, err, sizeof(err)) == 0 && n == 6);
	journal_close(j);

	/* append-only: UPDATE and DELETE are refused by triggers */
	CHECK(raw(path, "UPDATE events SET detail='x' WHERE seq=2") == -1);
	CHECK(raw(path, "DELETE FROM events WHERE seq=2") == -1);
	/* with the triggers dropped a change is still found by the chain */
	CHECK(raw(path, "DROP TRIGGER events_no_update; UPDATE events SET detail='quittung' "
			"WHERE seq=2") == 0);
	j = journal_open(path, err, sizeof(err));
	CHECK(journal_verify(j, &n, err, sizeof(err)) == 1);
	CHECK(strstr(err, "event 2") != NULL && strstr(err, "changed") != NULL);
	journal_close(j);
	/* journal_open restored the triggers; an attacker drops them again */
	CHECK(raw(path, "DROP TRIGGER events_no_update; UPDATE events SET detail='rechnung' "
			"WHERE seq=2; DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq=3") == 0);
	j = journal_open(path, err, sizeof(err));
	CHECK(journal_verify(j, &n, err, sizeof(err)) == 1);
	CHECK(strstr(err, "event 3 is missing") != NULL);
	journal_close(j);
	free(path);
	fio_rmtree(dir);
	return check_done();
}
