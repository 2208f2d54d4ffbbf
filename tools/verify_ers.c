/*
 * verify_ers.c - evidence records in `mailroom verify`; see verify_ers.h.
 */
#include "verify_ers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/err.h>

#include "buf.h"
#include "ers.h"
#include "fileio.h"
#include "job.h"
#include "timefmt.h"
#include "xalloc.h"

#define VERIFY_ERS_SIDECAR_MAX (64u << 10)

int verify_ers_present(const char *dir)
{
	char *p = fio_join(dir, VERIFY_ERS_FILE);
	int r = fio_exists(p) == 1;

	free(p);
	return r;
}

X509_STORE *verify_ers_anchors(const char *pem)
{
	X509_STORE *s = X509_STORE_new();

	if (s == NULL || pem == NULL || X509_STORE_load_file(s, pem) != 1) {
		X509_STORE_free(s);
		ERR_clear_error();
		return NULL;
	}
	return s;
}

/* The note of a valid record: chains, time-stamps, first and last TSA time. */
static void verify_ers_note(const struct ers_result *res, int anchored, struct verify_ers_result *r)
{
	char first[TIMEFMT_ISO_MAX] = "?", last[TIMEFMT_ISO_MAX] = "?";
	const struct ers_ats_report *a = res->nats ? &res->ats_info[0] : NULL;
	const struct ers_ats_report *z = res->nats ? &res->ats_info[res->nats - 1] : NULL;

	if (a != NULL && a->tok_ok)
		timefmt_iso(a->tok.gen_time, first);
	if (z != NULL && z->tok_ok)
		timefmt_iso(z->tok.gen_time, last);
	snprintf(r->note, sizeof(r->note),
		 "RFC 4998 evidence record over %zu object(s): %zu chain(s), %zu time-stamp(s), "
		 "%s, first time-stamp %s, last %s by %s%s",
		 r->objects, res->nchains, res->nats, z ? ers_md_name(z->alg_nid) : "?", first,
		 last, z && z->tok_ok ? z->tok.tsa : "?",
		 anchored ? "" : "; TSA certificates NOT validated (no trust anchor)");
}

/* Verify the record bytes against the objects into r. */
static void verify_ers_run(const buf *er, const struct ers_object *objs, size_t n,
			   X509_STORE *anchors, struct verify_ers_result *r)
{
	struct ers_verify_opts o = {0};
	struct ers_result res;
	char err[512] = "";

	o.anchors = anchors;
	r->objects = n;
	if (ers_verify_der((const unsigned char *)er->data, er->len, objs, n, &o, &res, err,
			   sizeof(err)) != ERS_OK) {
		r->status = VERIFY_FAILED;
		snprintf(r->detail, sizeof(r->detail), "cannot check: %s", err);
		ers_result_free(&res);
		return;
	}
	snprintf(r->verdict, sizeof(r->verdict), "%s", res.verdict);
	if (res.code != ERS_VALID) {
		r->status = VERIFY_FAILED;
		snprintf(r->detail, sizeof(r->detail), "%s: %s", res.verdict, res.detail);
	} else {
		verify_ers_note(&res, anchors != NULL, r);
		r->status = anchors != NULL ? VERIFY_OK : VERIFY_WARN;
		snprintf(r->detail, sizeof(r->detail),
			 "%s: every object covered, every tree evaluates to its time-stamp, every "
			 "token verifies%s",
			 res.verdict,
			 anchors != NULL ? " and chains to the TSA trust anchor at its time"
					 : "; the TSA certificates were NOT validated (give "
					   "--tsa-ca FILE)");
	}
	ers_result_free(&res);
}

void verify_ers_dir(const char *dir, X509_STORE *anchors, struct verify_ers_result *r)
{
	struct ers_object objs[VERIFY_ERS_MAX_FILES];
	char *paths[VERIFY_ERS_MAX_FILES], *erp = fio_join(dir, VERIFY_ERS_FILE),
					   *scp = fio_join(dir, VERIFY_ERS_SIDECAR);
	const char *base = strrchr(dir, '/'), *fmt, *jid;
	json_object *side = NULL, *files, *v;
	size_t n = 0, i, k;
	buf er, sc;

	memset(r, 0, sizeof(*r));
	memset(objs, 0, sizeof(objs));
	base = base ? base + 1 : dir;
	buf_init(&er, ERS_MAX_DER);
	buf_init(&sc, VERIFY_ERS_SIDECAR_MAX);
	r->status = VERIFY_FAILED;
	if (fio_read_file(erp, ERS_MAX_DER, &er) == -1) {
		snprintf(r->detail, sizeof(r->detail), "cannot read %s: %s", VERIFY_ERS_FILE,
			 errno == E2BIG ? "too large for an evidence record" : strerror(errno));
		goto out;
	}
	if (fio_read_file(scp, VERIFY_ERS_SIDECAR_MAX, &sc) == -1 ||
	    (side = json_tokener_parse(sc.data ? sc.data : "")) == NULL) {
		snprintf(r->detail, sizeof(r->detail),
			 "%s is missing or not JSON: which files the record covers is unknown",
			 VERIFY_ERS_SIDECAR);
		goto out;
	}
	fmt = json_object_object_get_ex(side, "format", &v) ? json_object_get_string(v) : NULL;
	jid = json_object_object_get_ex(side, "job", &v) ? json_object_get_string(v) : NULL;
	if (fmt == NULL || strcmp(fmt, "mailroom-evidence/1") != 0 ||
	    !json_object_object_get_ex(side, "files", &files) ||
	    !json_object_is_type(files, json_type_array) || json_object_array_length(files) == 0 ||
	    json_object_array_length(files) > VERIFY_ERS_MAX_FILES) {
		snprintf(r->detail, sizeof(r->detail),
			 "%s is not a mailroom-evidence/1 file list (1..%d files)",
			 VERIFY_ERS_SIDECAR, VERIFY_ERS_MAX_FILES);
		goto out;
	}
	if (jid == NULL || strcmp(jid, base) != 0) {
		snprintf(r->detail, sizeof(r->detail), "%s belongs to letter %.80s, not to %.80s",
			 VERIFY_ERS_SIDECAR, jid ? jid : "(none)", base);
		goto out;
	}
	for (i = 0; i < json_object_array_length(files); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(files, i));

		if (name == NULL || !job_file_name_valid(name) || strcmp(name, JOB_RECORD) == 0) {
			snprintf(r->detail, sizeof(r->detail),
				 "%s names \"%.100s\": not a file of "
				 "the letter",
				 VERIFY_ERS_SIDECAR, name ? name : "");
			goto out_paths;
		}
		paths[n] = fio_join(dir, name);
		if (fio_exists(paths[n]) != 1) {
			snprintf(r->detail, sizeof(r->detail),
				 "%s is covered by the record but missing (removed after the "
				 "time-stamp)",
				 name);
			n++;
			goto out_paths;
		}
		objs[n].name = name;
		objs[n].path = paths[n];
		n++;
	}
	verify_ers_run(&er, objs, n, anchors, r);
out_paths:
	for (k = 0; k < n; k++)
		free(paths[k]);
out:
	json_object_put(side);
	buf_free(&er);
	buf_free(&sc);
	free(erp);
	free(scp);
}

void verify_ers_files(const char *er_path, char *const *data, size_t n, X509_STORE *anchors,
		      struct verify_ers_result *r)
{
	struct ers_object *objs = xcalloc(n ? n : 1, sizeof(*objs));
	size_t i;
	buf er;

	memset(r, 0, sizeof(*r));
	r->status = VERIFY_FAILED;
	buf_init(&er, ERS_MAX_DER);
	if (fio_read_file(er_path, ERS_MAX_DER, &er) == -1) {
		snprintf(r->detail, sizeof(r->detail), "cannot read %s: %s", er_path,
			 errno == E2BIG ? "too large for an evidence record" : strerror(errno));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (fio_exists(data[i]) != 1) {
			snprintf(r->detail, sizeof(r->detail), "the data file %s does not exist",
				 data[i]);
			goto out;
		}
		objs[i].name = data[i];
		objs[i].path = data[i];
	}
	verify_ers_run(&er, objs, n, anchors, r);
out:
	buf_free(&er);
	free(objs);
}
