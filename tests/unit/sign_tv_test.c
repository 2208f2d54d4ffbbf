/*
 * sign_tv_test.c - the Transfervermerk writer: golden file, XSD, refusals.
 *
 * tests/data/sign/tv-job.json (a classified letter's record) plus a fixed quality
 * check, seal and times must give exactly tests/data/sign/tv.ref, which must
 * validate against sign/transfervermerk.xsd. A record with invalid UTF-8 or a
 * missing required field is refused; a document the schema forbids is rejected;
 * a colour scan states pictorial match, a gray one does not.
 * On a mismatch the actual output is left in /tmp/sign_tv_test.out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <libxml/parser.h>

#include "buf.h"
#include "check.h"
#include "fileio.h"
#include "job.h"
#include "log.h"
#include "sign_qs.h"
#include "sign_tv.h"

#define JOB_ID "20261121T224431Z-7f3a9c2e1b004d5a"

/* A job whose record is the test data (no files). */
static job *load_job(void)
{
	json_object *in = json_object_from_file(SIGN_TEST_DATA "/tv-job.json");
	job *j = job_new(JOB_ID, "/nonexistent");

	if (in == NULL) {
		fprintf(stderr, "cannot read tv-job.json\n");
		exit(2);
	}
	json_object_object_foreach(in, k, v)
	{
		json_object_object_add(job_meta(j), k, json_object_get(v));
	}
	json_object_put(in);
	return j;
}

/* Build into out with the fixed inputs; returns the builder's result. */
static int build(const job *j, struct sign_qs *qs, buf *out, char *err, size_t errlen)
{
	static const struct sign_tv_file files[] = {
	    {"scan.tiff", "Scanprodukt",
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 123456,
	     "scan.tiff.p7s"},
	    {"ocr.pdf", "durchsuchbare Textwiedergabe (OCR)",
	     "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 4242, NULL}};
	static const struct sign_tv_seal seal = {
	    "CAdES-B-B",
	    "CN=Stadt Musterstadt (TEST SEAL - not qualified),O=Stadt Musterstadt,C=DE",
	    "CN=mailroom TEST Root CA - NOT QUALIFIED - test only,C=DE", "7A1B2C", 1};
	struct sign_tv_input in;

	memset(&in, 0, sizeof(in));
	in.j = j;
	in.qs = qs;
	in.procedure_name = "Verfahrensdokumentation Posteingang";
	in.procedure_version = "1.2";
	in.software = "mailroom-sign";
	in.software_version = "0.1.0";
	in.sealed_at = 1795300000; /* 2026-11-21T22:26:40Z */
	in.files = files;
	in.n_files = 2;
	in.seal = &seal;
	buf_reset(out);
	return sign_tv_build(&in, out, err, errlen);
}

int main(void)
{
	struct sign_qs_page pages[2];
	struct sign_qs qs;
	xmlschema *schema;
	job *j = load_job();
	buf out, ref;
	char err[1024];

	log_init("sign_tv_test");
	xmlInitParser();
	memset(pages, 0, sizeof(pages));
	memset(&qs, 0, sizeof(qs));
	pages[0] = (struct sign_qs_page){2480, 3508, 8, 1, 0, "", "", 1};
	pages[1] = (struct sign_qs_page){2480, 3508, 8, 1, 0, "", "", 1};
	memset(pages[0].sha256, '1', 64);
	memset(pages[1].sha256, '2', 64);
	qs.at = 1795299990;
	qs.expected_pages = 2;
	qs.found_pages = 2;
	qs.pages = pages;
	qs.complete = qs.digests_ok = qs.passed = 1;
	qs.colour = 0;
	buf_init(&out, SIGN_TV_MAX);
	buf_init(&ref, SIGN_TV_MAX);

	schema = xmlschema_load(SIGN_TEST_XSD, err, sizeof(err));
	CHECK(schema != NULL);
	if (schema == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}

	/* golden file */
	CHECK(build(j, &qs, &out, err, sizeof(err)) == 0);
	CHECK(fio_read_file(SIGN_TEST_DATA "/tv.ref", SIGN_TV_MAX, &ref) == 0);
	CHECK(out.len == ref.len && ref.data != NULL && memcmp(out.data, ref.data, out.len) == 0);
	if (out.len != ref.len || ref.data == NULL || memcmp(out.data, ref.data, out.len) != 0) {
		FILE *f = fopen("/tmp/sign_tv_test.out", "w");

		if (f != NULL) {
			fwrite(out.data, 1, out.len, f);
			fclose(f);
		}
		fprintf(stderr, "output differs from tv.ref; see /tmp/sign_tv_test.out\n");
	}
	CHECK(sign_tv_validate(schema, out.data, out.len, err, sizeof(err)) == 0);
	CHECK(strstr(out.data, "bildlich=\"false\"") != NULL);
	CHECK(strstr(out.data, "Haftnotiz &lt;entfernt&gt; &amp; abgelegt") != NULL);

	/* colour: pictorial and content match */
	qs.colour = 1;
	pages[0].colour = pages[1].colour = 1;
	CHECK(build(j, &qs, &out, err, sizeof(err)) == 0);
	CHECK(strstr(out.data, "bildlich und inhaltlich überein") != NULL);
	CHECK(strstr(out.data, "<Hinweis>") == NULL);
	CHECK(sign_tv_validate(schema, out.data, out.len, err, sizeof(err)) == 0);

	/* a failed quality check is never written as a Transfervermerk to seal */
	snprintf(qs.reason, sizeof(qs.reason), "page 2: pixel data differ");
	qs.passed = 0;
	CHECK(build(j, &qs, &out, err, sizeof(err)) == -1);
	CHECK(strstr(err, "quality check failed") != NULL);
	qs.reason[0] = '\0';
	qs.passed = 1;

	/* the schema rejects what it must */
	CHECK(sign_tv_validate(schema, "<Transfervermerk/>", 18, err, sizeof(err)) == -1);
	CHECK(build(j, &qs, &out, err, sizeof(err)) == 0);
	{
		char *p = strstr(out.data, "<Bindung");
		char *q = strstr(out.data, "</Bindung>");

		CHECK(p != NULL && q != NULL);
		if (p != NULL && q != NULL) {
			memmove(p, q + strlen("</Bindung>"), strlen(q + strlen("</Bindung>")) + 1);
			CHECK(sign_tv_validate(schema, out.data, strlen(out.data), err,
					       sizeof(err)) == -1);
			CHECK(strstr(err, "Siegel") != NULL || strstr(err, "Bindung") != NULL);
		}
	}

	/* invalid UTF-8 in the record */
	json_object_object_add(json_object_object_get(job_meta(j), "capture"), "operator",
			       json_object_new_string("scan-op-\xff"));
	CHECK(build(j, &qs, &out, err, sizeof(err)) == -1);
	CHECK(strstr(err, "capture.operator") != NULL);
	/* a control character */
	json_object_object_add(json_object_object_get(job_meta(j), "capture"), "operator",
			       json_object_new_string("scan\x01op"));
	CHECK(build(j, &qs, &out, err, sizeof(err)) == -1);
	/* a missing required field */
	json_object_object_del(json_object_object_get(job_meta(j), "capture"), "operator");
	CHECK(build(j, &qs, &out, err, sizeof(err)) == -1);
	CHECK(strstr(err, "job.json has no capture.operator") != NULL);

	buf_free(&out);
	buf_free(&ref);
	xmlschema_free(schema);
	job_free(j);
	xmlCleanupParser();
	return check_done();
}
