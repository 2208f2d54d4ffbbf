/*
 * export_receipt_test.c - unit tests of the DMS's answers: the receipt parser
 * (export_receipt.c) on receipts made to the xdomea 3.0.0 schema
 * (tests/data/export/receipts, each checked with xmllint by export_receipts.sh)
 * and on hostile variants of them; the ProzessID index; and one scan of a reply
 * and an error folder against a real journal (export_replies.c): received,
 * imported, rejected, seen before, unknown, bad, the DMS's own files untouched.
 *
 * Needs $MAILROOM_SHARED/xsd/xdomea_3.0.0/xdomea.xsd; exits 77 (skipped) without it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "export_receipt.h"
#include "export_replies.h"
#include "export_xdomea.h"
#include "fileio.h"
#include "journal.h"
#include "log.h"
#include "xalloc.h"

#define FIX_PID "3f2b8c1e-9a4d-4e7b-8c21-5d6e7f8a9b0c"
#define JOB_A "20261122T081500Z-00000000000000a1"

static char tmproot[] = "/tmp/export_receipt_test.XXXXXX";

/* A fixture of tests/data/export/receipts as a string (caller frees). */
static char *fixture(const char *name)
{
	char *p = xasprintf("%s/tests/data/export/receipts/%s", MAILROOM_SOURCE_DIR, name);
	buf b;

	buf_init(&b, 1 << 20);
	if (fio_read_file(p, 1 << 20, &b) == -1)
		log_fatalx(1, "%s", p);
	free(p);
	return buf_detach(&b);
}

/* s with the first occurrence of from replaced by to (caller frees). */
static char *replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);

	if (at == NULL)
		log_fatalx(1, "fixture has no '%s'", from);
	return xasprintf("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}

/* Parse xml; the result code, r filled, err set. */
static int parse(xmlschema *s, const char *xml, struct export_receipt *r, char *err, size_t errlen)
{
	err[0] = '\0';
	return export_receipt_parse(s, xml, strlen(xml), r, err, errlen);
}

/* The good receipts: what each says. */
static void test_good(xmlschema *s)
{
	struct export_receipt r;
	char err[1024], *x;

	x = fixture("receipt-0102.xml");
	CHECK(parse(s, x, &r, err, sizeof(err)) == 0);
	CHECK_STR(r.message, "0102");
	CHECK_STR(r.message_name, "Information.EmpfangBestaetigen");
	CHECK_STR(r.process_id, FIX_PID);
	CHECK(r.kind == EXPORT_RECEIPT_RECEIVED);
	CHECK_STR(r.created, "2026-11-22T08:15:00Z");
	free(x);

	x = fixture("receipt-0629.xml");
	CHECK(parse(s, x, &r, err, sizeof(err)) == 0);
	CHECK_STR(r.message, "0629");
	CHECK(r.kind == EXPORT_RECEIPT_RECEIVED);
	free(x);

	x = fixture("receipt-0630-ok.xml");
	CHECK(parse(s, x, &r, err, sizeof(err)) == 0);
	CHECK_STR(r.message, "0630");
	CHECK(r.kind == EXPORT_RECEIPT_IMPORTED);
	CHECK_STR(r.dms_id, "9d1c2b3a-4e5f-4a6b-8c7d-0e1f2a3b4c5d");
	CHECK_STR(r.reason, "");
	free(x);

	x = fixture("receipt-0630-rejected.xml");
	CHECK(parse(s, x, &r, err, sizeof(err)) == 0);
	CHECK(r.kind == EXPORT_RECEIPT_REJECTED);
	CHECK(strstr(r.reason, "0605001: die ID des Containers ist im DMS unbekannt") != NULL);
	CHECK(strstr(r.reason, "SonstigeFehlermeldung: Postkorb 4711 ist gesperrt") != NULL);
	CHECK(strstr(r.reason, "0605005") != NULL); /* the parameter-level error */
	CHECK_STR(r.dms_id, "");
	free(x);
}

/* Variants the parser must judge correctly, each next to its positive control. */
static void test_variants(xmlschema *s)
{
	struct export_receipt r;
	char err[1024], *x = fixture("receipt-0630-ok.xml"), *v, *v2;
	char *x102 = fixture("receipt-0102.xml");

	/* a general error code: rejected with the code list's words */
	v = replace(x, "<code>0000000</code>", "<code>0000008</code>");
	CHECK(parse(s, v, &r, err, sizeof(err)) == 0 && r.kind == EXPORT_RECEIPT_REJECTED);
	CHECK(strstr(r.reason, "AllgemeineRueckmeldung 0000008: die XML-Struktur") != NULL);
	free(v);
	/* a name given by the DMS wins over the list's words */
	v = replace(x, "<code>0000000</code>", "<code>0000499</code><name>Platte voll</name>");
	CHECK(parse(s, v, &r, err, sizeof(err)) == 0 && strstr(r.reason, "Platte voll") != NULL);
	free(v);
	/* success at the message level, failure at the parameter level: rejected */
	v = replace(x, "<xdomea:Erfolgreich>true<", "<xdomea:Erfolgreich>false<");
	CHECK(parse(s, v, &r, err, sizeof(err)) == 0 && r.kind == EXPORT_RECEIPT_REJECTED);
	CHECK(strstr(r.reason, "Erfolgreich = false") != NULL);
	free(v);
	/* an upper-case ProzessID is the same process */
	v = replace(x102, FIX_PID, "3F2B8C1E-9A4D-4E7B-8C21-5D6E7F8A9B0C");
	CHECK(parse(s, v, &r, err, sizeof(err)) == 0);
	CHECK_STR(r.process_id, FIX_PID);
	free(v);

	/* not well-formed (cut in the middle) */
	v = xasprintf("%.*s", (int)(strlen(x) / 2), x);
	CHECK(parse(s, v, &r, err, sizeof(err)) == -1 && strstr(err, "well-formed") != NULL);
	free(v);
	/* a DTD with an entity (billion laughs starts like this): refused */
	v = replace(x102, "<xdomea:Information",
		    "<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>\n"
		    "<xdomea:Information");
	CHECK(parse(s, v, &r, err, sizeof(err)) == -1 && strstr(err, "DTD") != NULL);
	free(v);
	/* an external entity (would read a local file): refused, nothing read */
	v = replace(
	    x102, "<xdomea:Information",
	    "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>\n<xdomea:Information");
	v2 = replace(v, "<xdomea:Produktname>VIS-Suite<", "<xdomea:Produktname>&e;<");
	CHECK(parse(s, v2, &r, err, sizeof(err)) == -1);
	CHECK(strstr(err, "root:") == NULL);
	free(v);
	free(v2);
	/* invalid against the schema: the ProzessID missing */
	v = replace(x102, "<xdomea:ProzessID>" FIX_PID "</xdomea:ProzessID>", "");
	CHECK(parse(s, v, &r, err, sizeof(err)) == -1 && strstr(err, "schema") != NULL);
	free(v);
	/* valid xdomea elsewhere but not a receipt: another root */
	v = replace(x102, "Information.EmpfangBestaetigen.0102 xmlns",
		    "Aktenplan.EmpfangBestaetigen.0302 xmlns");
	v2 = replace(v, "</xdomea:Information.EmpfangBestaetigen.0102>",
		     "</xdomea:Aktenplan.EmpfangBestaetigen.0302>");
	CHECK(parse(s, v2, &r, err, sizeof(err)) == -1 && strstr(err, "not an xdomea") != NULL);
	free(v);
	free(v2);
	/* another namespace (xdomea 4.0.0): not ours */
	v = replace(x102, "schema:3.0.0", "schema:4.0.0");
	CHECK(parse(s, v, &r, err, sizeof(err)) == -1 && strstr(err, "not an xdomea") != NULL);
	free(v);
	/* the header's message type disagrees with the root element */
	v = replace(x102, "<code>0102</code>", "<code>0629</code>");
	CHECK(parse(s, v, &r, err, sizeof(err)) == -1 && strstr(err, "Nachrichtentyp") != NULL);
	free(v);
	/* too large */
	CHECK(export_receipt_parse(s, x, EXPORT_RECEIPT_MAX + 1, &r, err, sizeof(err)) == -1 &&
	      strstr(err, "larger") != NULL);
	/* words of codes */
	CHECK(export_receipt_code_text("0605001") != NULL);
	CHECK(export_receipt_code_text("1234567") == NULL);
	free(x);
	free(x102);
}

/* Write text to dir/name. */
static void put(const char *dir, const char *name, const char *text)
{
	char *p = fio_join(dir, name);

	if (fio_mkdirs(dir, 0700) == -1 || fio_write_atomic(p, text, strlen(text), 0600) == -1)
		log_fatalx(1, "cannot write %s", p);
	free(p);
}

/* Count of events of job with this action. */
struct count_arg {
	const char *action;
	int n;
	char last_detail[2048];
};
static int count_cb(const struct journal_entry *e, void *arg)
{
	struct count_arg *a = arg;

	if (strcmp(e->action, a->action) == 0) {
		a->n++;
		snprintf(a->last_detail, sizeof(a->last_detail), "%s", e->detail ? e->detail : "");
	}
	return 0;
}
static int count(journal *jr, const char *job_id, const char *action, char *detail, size_t dlen)
{
	struct count_arg a;

	memset(&a, 0, sizeof(a));
	a.action = action;
	journal_events(jr, job_id, count_cb, &a);
	if (detail != NULL)
		snprintf(detail, dlen, "%s", a.last_detail);
	return a.n;
}

/* The letter's state into out. */
static int state_cb(const struct journal_letter *l, void *arg)
{
	snprintf(arg, 64, "%s", l->state ? l->state : "");
	return 1;
}

/* The index and one scan of reply and error folders with a real journal. */
static void test_scan(xmlschema *s)
{
	char *idx = fio_join(tmproot, "sent"), *arch = fio_join(tmproot, "archive");
	char *rep = fio_join(tmproot, "replies"), *errs = fio_join(tmproot, "errors");
	char *jp = fio_join(tmproot, "journal.db"), *x, *v, *p, err[1024], jid[64], state[64] = "",
	     detail[2048], *v2;
	const char *other_pid = "0b5e7c1a-1111-4222-8333-944455556666";
	const char *job_b = "20261122T081600Z-00000000000000b2";
	struct export_replies_env env;
	struct export_replies_office o;
	struct export_replies_counts c;
	struct journal_event ev;
	journal *jr;

	if ((jr = journal_open(jp, err, sizeof(err))) == NULL)
		log_fatalx(1, "%s", err);
	/* the index: put, find (any case), not found */
	CHECK(export_index_put(idx, FIX_PID, JOB_A, "rechtsamt", "x.zip", "ab") == 0);
	CHECK(export_index_find(idx, arch, "3F2B8C1E-9A4D-4E7B-8C21-5D6E7F8A9B0C", jid,
				sizeof(jid)) == 1);
	CHECK_STR(jid, JOB_A);
	CHECK(export_index_find(idx, arch, other_pid, jid, sizeof(jid)) == 0);
	CHECK(export_index_put(idx, "not-a-uuid", JOB_A, NULL, NULL, NULL) == -1);
	CHECK(export_index_find(idx, arch, "../../etc/passwd", jid, sizeof(jid)) == 0);
	/* a letter only in the archive is found there, and the index repaired */
	v = xasprintf("{\"id\": \"%s\", \"uuid\": \"%s\"}", job_b, other_pid);
	p = xasprintf("%s/%s", arch, job_b);
	put(p, "job.json", v);
	free(v);
	free(p);
	CHECK(export_index_find(idx, arch, other_pid, jid, sizeof(jid)) == 1);
	CHECK_STR(jid, job_b);
	p = xasprintf("%s/%s", idx, other_pid);
	CHECK(fio_exists(p) == 1);
	free(p);

	/* the letters were delivered (journal rows as the stage leaves them) */
	memset(&ev, 0, sizeof(ev));
	ev.job = JOB_A;
	ev.stage = "export";
	ev.action = "delivered";
	ev.outcome = "ok";
	ev.state = "delivered";
	CHECK(journal_record(jr, &ev) == 0);
	ev.job = job_b;
	CHECK(journal_record(jr, &ev) == 0);

	memset(&env, 0, sizeof(env));
	env.jr = jr;
	env.schema = s;
	env.index_dir = idx;
	env.archive_dir = arch;
	env.settle_seconds = 0;
	env.create = 1;
	o.office = "rechtsamt";
	o.replies = rep;
	o.errors = errs;

	/* received, then rejected; one unknown, one bad, one not a receipt */
	x = fixture("receipt-0629.xml");
	put(rep, "a-0629.xml", x);
	free(x);
	x = fixture("receipt-0630-rejected.xml");
	put(rep, "b-0630.xml", x);
	v = replace(x, FIX_PID, "deadbeef-0000-4000-8000-000000000000");
	put(rep, "c-unknown.xml", v);
	free(v);
	free(x);
	put(rep, "d-bad.xml", "<xdomea:FVDaten.ImportBestaetigen.0630");
	put(rep, "e-notes.txt", "hello");
	put(rep, ".f-being-written.xml", "<");
	/* error folder: a package of letter b, and a file of the DMS's own */
	put(errs, other_pid, "x"); /* no .zip: not ours */
	v = xasprintf("%s_FVDaten.SGOAblegen.0605.zip", other_pid);
	put(errs, v, "PK not really a zip, the digest is what counts");
	put(errs, "import.log", "DMS log");
	memset(&c, 0, sizeof(c));
	CHECK(export_replies_scan(&env, &o, &c) == 0);
	CHECK(c.receipts == 1 && c.rejected == 2 && c.unknown == 1 && c.bad == 2 &&
	      c.duplicates == 0 && c.failed == 0);
	if (!(c.receipts == 1 && c.rejected == 2 && c.unknown == 1 && c.bad == 2))
		fprintf(stderr, "counts: %d %d %d %d %d %d\n", c.receipts, c.rejected, c.duplicates,
			c.unknown, c.bad, c.failed);
	CHECK(count(jr, JOB_A, "receipt", NULL, 0) == 1);
	CHECK(count(jr, JOB_A, "rejected", detail, sizeof(detail)) == 1);
	CHECK(strstr(detail, "0605001") != NULL && strstr(detail, "sha256 ") != NULL);
	journal_letter(jr, JOB_A, state_cb, state);
	CHECK_STR(state, "rejected");
	CHECK(count(jr, job_b, "rejected", detail, sizeof(detail)) == 1);
	CHECK(strstr(detail, "error folder") != NULL);
	p = xasprintf("%s/done/a-0629.xml", rep);
	CHECK(fio_exists(p) == 1);
	free(p);
	p = xasprintf("%s/unknown/c-unknown.xml.reason.txt", rep);
	CHECK(fio_exists(p) == 1);
	free(p);
	p = xasprintf("%s/bad/d-bad.xml", rep);
	CHECK(fio_exists(p) == 1);
	free(p);
	p = xasprintf("%s/bad/e-notes.txt", rep);
	CHECK(fio_exists(p) == 1);
	free(p);
	p = xasprintf("%s/.f-being-written.xml", rep);
	CHECK(fio_exists(p) == 1); /* hidden: left alone */
	free(p);
	p = xasprintf("%s/done/%s", errs, v);
	CHECK(fio_exists(p) == 1);
	free(p);
	p = xasprintf("%s/import.log", errs);
	CHECK(fio_exists(p) == 1); /* not ours: left alone */
	free(p);

	/* the same receipt again (a crash before the move, or the DMS sends it twice):
	 * moved to done/ under another name, not journaled twice */
	x = fixture("receipt-0630-rejected.xml");
	put(rep, "b-0630.xml", x);
	free(x);
	/* a plain "received" after the rejection does not hide it */
	x = fixture("receipt-0102.xml");
	put(rep, "g-0102.xml", x);
	free(x);
	memset(&c, 0, sizeof(c));
	CHECK(export_replies_scan(&env, &o, &c) == 0);
	CHECK(c.duplicates == 1 && c.receipts == 1 && c.rejected == 0);
	CHECK(count(jr, JOB_A, "rejected", NULL, 0) == 1);
	CHECK(count(jr, JOB_A, "receipt", NULL, 0) == 2);
	journal_letter(jr, JOB_A, state_cb, state);
	CHECK_STR(state, "rejected");
	p = xasprintf("%s/done/b-0630.xml.1", rep);
	CHECK(fio_exists(p) == 1);
	free(p);

	/* a file name with control characters never reaches the journal as they are */
	x = fixture("receipt-0102.xml");
	v2 = replace(x, "2026-11-22T08:15:00Z", "2026-11-22T09:15:00Z");
	put(rep, "k-\x1b[31m\nINJECTED.xml", v2);
	free(x);
	free(v2);
	memset(&c, 0, sizeof(c));
	CHECK(export_replies_scan(&env, &o, &c) == 0 && c.receipts == 1);
	CHECK(count(jr, JOB_A, "receipt", detail, sizeof(detail)) == 3);
	CHECK(strchr(detail, '\x1b') == NULL && strchr(detail, '\n') == NULL);
	CHECK(strstr(detail, "k- [31m INJECTED.xml") != NULL);

	/* a receipt that is malformed but young waits (the DMS may still write it) */
	env.settle_seconds = 3600;
	put(rep, "h-young.xml", "<xdomea:");
	memset(&c, 0, sizeof(c));
	CHECK(export_replies_scan(&env, &o, &c) == 0 && c.bad == 0);
	p = xasprintf("%s/h-young.xml", rep);
	CHECK(fio_exists(p) == 1);
	free(p);

	/* a missing folder on a share is reported, never created */
	env.create = 0;
	o.replies = "/nonexistent/mailroom-replies";
	o.errors = NULL;
	memset(&c, 0, sizeof(c));
	CHECK(export_replies_scan(&env, &o, &c) == -1 && c.failed == 1);
	CHECK(fio_exists("/nonexistent/mailroom-replies") == 0);

	free(v);
	journal_close(jr);
	free(idx);
	free(arch);
	free(rep);
	free(errs);
	free(jp);
}

int main(void)
{
	const char *shared = getenv("MAILROOM_SHARED");
	char *xsd, err[2048];
	xmlschema *s;
	int rc;

	log_init("export_receipt_test");
	if (shared == NULL || *shared == '\0')
		shared = MAILROOM_SOURCE_DIR "/../shared";
	xsd = xasprintf("%s/xsd/xdomea_3.0.0/xdomea.xsd", shared);
	if (access(xsd, R_OK) == -1) {
		fprintf(stderr, "SKIP: %s not found (the shared xdomea schemas are absent)\n", xsd);
		free(xsd);
		return 77;
	}
	if (mkdtemp(tmproot) == NULL)
		log_fatalx(1, "mkdtemp");
	if ((s = xdomea_schema_load(xsd, err, sizeof(err))) == NULL)
		log_fatalx(1, "%s", err);
	test_good(s);
	test_variants(s);
	test_scan(s);
	xmlschema_free(s);
	free(xsd);
	rc = check_done();
	if (rc == 0)
		fio_rmtree(tmproot);
	else
		fprintf(stderr, "left %s\n", tmproot);
	return rc;
}
