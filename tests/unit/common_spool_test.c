/*
 * common_spool_test.c - job records and the spool hand-off: a letter is in
 * exactly one place, damaged records are refused, recovery and deferral work.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "digest.h"
#include "fileio.h"
#include "job.h"
#include "log.h"
#include "spool.h"
#include "xalloc.h"

static char root[256];

/* Number of places (areas of both spools) where id exists. */
static int places(spool *a, spool *b, const char *id)
{
	int n = 0, i;
	spool *s[2] = {a, b};

	for (i = 0; i < 2; i++) {
		enum spool_area ar;

		for (ar = SPOOL_TMP; ar <= SPOOL_CORRUPT; ar++) {
			char *p = spool_path(s[i], ar, id);

			n += fio_exists(p) == 1;
			free(p);
		}
	}
	return n;
}

static void write_file(const char *path, const char *text)
{
	CHECK(fio_write_atomic(path, text, strlen(text), 0600) == 0);
}

static void test_job_roundtrip(spool *a, spool *b)
{
	char id[IDENT_JOB_MAX], err[512];
	char *dir, *p;
	job *j, *r;

	ident_job_new(id);
	CHECK(ident_job_valid(id));
	dir = spool_create(a, id);
	CHECK(dir != NULL);
	p = fio_join(dir, "scan.tiff");
	write_file(p, "pretend image bytes");
	j = job_new(id, dir);
	job_set_str(j, "classification", "type", "rechnung");
	CHECK(job_add_file(j, "scan.tiff") == 0);
	CHECK(job_add_file(j, "../etc/passwd") == -1);
	CHECK(job_write(j) == 0);
	job_free(j);

	r = job_read(dir, id, err, sizeof(err));
	CHECK(r != NULL);
	if (r != NULL) {
		CHECK_STR(job_get_str(r, "classification.type"), "rechnung");
		CHECK(job_has_file(r, "scan.tiff"));
		CHECK(strlen(job_file_sha256(r, "scan.tiff")) == 64);
		job_free(r);
	}
	/* the wrong id is refused */
	CHECK(job_read(dir, "20260101T000000Z-0000000000000000", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "another job") != NULL);

	/* a changed payload byte is detected */
	write_file(p, "pretend image bytEs");
	CHECK(job_read(dir, id, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "scan.tiff: content does not match") != NULL);
	write_file(p, "pretend image bytes");

	/* announced replacement (job_expect_file): either content is accepted until a
	 * job_write sees the new one; an unannounced third content is not */
	{
		static const char newer[] = "pretend image bytes, stamped";
		unsigned char md[DIGEST_SHA256_LEN];
		char hex[DIGEST_SHA256_HEX];

		digest_sha256(newer, strlen(newer), md);
		digest_hex(md, sizeof(md), hex);
		j = job_read(dir, id, err, sizeof(err));
		CHECK(j != NULL);
		if (j != NULL) {
			CHECK(job_expect_file(j, "nothere", hex, strlen(newer)) == -1);
			CHECK(job_expect_file(j, "scan.tiff", hex, strlen(newer)) == 0);
			CHECK(job_write(j) == 0); /* the announcement is durable */
			job_free(j);
		}
		r = job_read(dir, id, err, sizeof(err)); /* crash before the rename */
		CHECK(r != NULL);
		job_free(r);
		write_file(p, newer);			 /* the rename */
		r = job_read(dir, id, err, sizeof(err)); /* crash after it */
		CHECK(r != NULL);
		if (r != NULL) {
			CHECK(job_write(r) == 0); /* forgets the announcement */
			job_free(r);
		}
		write_file(p, "pretend image bytes"); /* the old content is no longer accepted */
		CHECK(job_read(dir, id, err, sizeof(err)) == NULL);
		write_file(p, "pretend image bytEs, stamped");
		CHECK(job_read(dir, id, err, sizeof(err)) == NULL);
		write_file(p, newer);
		r = job_read(dir, id, err, sizeof(err));
		CHECK(r != NULL);
		job_free(r);
	}

	/* submit: now in b/incoming and nowhere else */
	CHECK(spool_submit(a, id, b) == 0);
	CHECK(places(a, b, id) == 1);
	CHECK(spool_claim(b, id) == 1);
	CHECK(spool_claim(b, id) == 0); /* lost race: already claimed */
	CHECK(places(a, b, id) == 1);
	/* crash while active: recovery puts it back */
	CHECK(spool_recover(b) == 1);
	{
		char *inc = spool_path(b, SPOOL_INCOMING, id);

		CHECK(fio_exists(inc) == 1);
		free(inc);
	}
	CHECK(spool_claim(b, id) == 1);
	/* defer: back in incoming, invisible until its time */
	{
		int attempt = 0;
		time_t next = 0;
		char **ids;

		CHECK(spool_defer(b, id, "inbox missing", &attempt) == 0);
		CHECK(attempt == 1);
		ids = spool_list(b, SPOOL_INCOMING, 1, &next);
		CHECK(ids != NULL && ids[0] == NULL);
		CHECK(next > time(NULL));
		spool_list_free(ids);
		ids = spool_list(b, SPOOL_INCOMING, 0, NULL);
		CHECK(ids != NULL && ids[0] != NULL && strcmp(ids[0], id) == 0);
		spool_list_free(ids);
	}
	CHECK(spool_claim(b, id) == 1);
	CHECK(spool_defer(b, id, "again", NULL) == 0);
	CHECK(spool_claim(b, id) == 1);
	/* quarantine with reason, then requeue */
	CHECK(spool_quarantine(b, SPOOL_ACTIVE, id, "damaged record: test") == 0);
	{
		char reason[256];

		CHECK(spool_reason(b, id, reason, sizeof(reason)) == 0);
		CHECK_STR(reason, "damaged record: test");
	}
	CHECK(places(a, b, id) == 1);
	CHECK(spool_requeue(b, id) == 0);
	CHECK(places(a, b, id) == 1);
	{
		char reason[256];
		char *rp = spool_path(b, SPOOL_INCOMING, id), *rf = fio_join(rp, SPOOL_REASON);

		CHECK(spool_reason(b, id, reason, sizeof(reason)) == -1);
		CHECK(fio_exists(rf) == 0);
		free(rf);
		free(rp);
	}
	free(p);
	free(dir);
}

static void test_truncated_record(spool *a)
{
	char id[IDENT_JOB_MAX], err[512];
	char *dir, *p;
	job *j;

	ident_job_new(id);
	dir = spool_create(a, id);
	j = job_new(id, dir);
	CHECK(job_write(j) == 0);
	job_free(j);
	p = fio_join(dir, JOB_RECORD);
	CHECK(truncate(p, 40) == 0);
	CHECK(job_read(dir, id, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "not a complete JSON object") != NULL);
	/* complete JSON but no end marker */
	write_file(p, "{\"format\":\"mailroom-job/1\",\"id\":\"x\",\"files\":{}}");
	CHECK(job_read(dir, id, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "no end marker") != NULL);
	free(p);
	free(dir);
}

static void test_refuses_foreign_entries(spool *a)
{
	char *bad = fio_join(spool_dir(a, SPOOL_INCOMING), "not a job!");
	char *link = fio_join(spool_dir(a, SPOOL_INCOMING), "20260101T000000Z-aaaaaaaaaaaaaaaa");
	char **ids;

	CHECK(mkdir(bad, 0700) == 0);
	CHECK(symlink("/etc", link) == 0);
	ids = spool_list(a, SPOOL_INCOMING, 0, NULL);
	CHECK(ids != NULL && ids[0] == NULL);
	spool_list_free(ids);
	CHECK(!ident_job_valid("../x"));
	CHECK(!ident_job_valid("-x"));
	CHECK(!ident_job_valid(""));
	free(bad);
	free(link);
}

int main(void)
{
	spool *a, *b;

	log_init("common_spool_test");
	snprintf(root, sizeof(root), "/tmp/mailroom-spool-test-XXXXXX");
	if (mkdtemp(root) == NULL)
		return 2;
	a = spool_open(root, "scan");
	b = spool_open(root, "classify");
	CHECK(a != NULL && b != NULL);
	CHECK(spool_lock(a) == 0);
	{
		spool *a2 = spool_open(root, "scan");

		CHECK(spool_lock(a2) == -1); /* a second instance is refused */
		spool_close(a2);
	}
	test_job_roundtrip(a, b);
	test_truncated_record(a);
	test_refuses_foreign_entries(a);
	spool_close(a);
	spool_close(b);
	fio_rmtree(root);
	return check_done();
}
