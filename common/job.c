/*
 * job.c - read, check and write job.json; see job.h.
 */
#include "job.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "digest.h"
#include "fileio.h"
#include "log.h"
#include "timefmt.h"
#include "xalloc.h"

struct job {
	char id[IDENT_JOB_MAX];
	char *dir;
	json_object *root;
};

static void job_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void job_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int job_file_name_valid(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0' || name[0] == '.' || strlen(name) > 128)
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return strcmp(name, JOB_RECORD) != 0;
}

job *job_new(const char *id, const char *dir)
{
	job *j = xcalloc(1, sizeof(*j));
	char now[TIMEFMT_ISO_MAX];

	if (!ident_job_valid(id))
		log_panic("job_new: invalid job id");
	snprintf(j->id, sizeof(j->id), "%s", id);
	j->dir = xstrdup(dir);
	j->root = json_object_new_object();
	json_object_object_add(j->root, "format", json_object_new_string(JOB_FORMAT));
	json_object_object_add(j->root, "id", json_object_new_string(id));
	json_object_object_add(j->root, "created", json_object_new_string(timefmt_now(now)));
	json_object_object_add(j->root, "history", json_object_new_array());
	json_object_object_add(j->root, "files", json_object_new_object());
	return j;
}

job *job_free(job *j)
{
	if (j == NULL)
		return NULL;
	json_object_put(j->root);
	free(j->dir);
	free(j);
	return NULL;
}

const char *job_id(const job *j)
{
	return j->id;
}
const char *job_dir(const job *j)
{
	return j->dir;
}
json_object *job_meta(job *j)
{
	return j->root;
}

json_object *job_section(job *j, const char *key)
{
	json_object *o;

	if (json_object_object_get_ex(j->root, key, &o) && json_object_is_type(o, json_type_object))
		return o;
	o = json_object_new_object();
	json_object_object_add(j->root, key, o);
	return o;
}

char *job_path(const job *j, const char *name)
{
	return fio_join(j->dir, name);
}

/* The "files" object. */
static json_object *job_files(const job *j)
{
	json_object *f = NULL;

	json_object_object_get_ex(j->root, "files", &f);
	return f;
}

int job_add_file(job *j, const char *name)
{
	json_object *files = job_files(j), *ent;

	if (!job_file_name_valid(name)) {
		errno = EINVAL;
		return -1;
	}
	if (json_object_object_get_ex(files, name, &ent))
		return 0;
	ent = json_object_new_object();
	json_object_object_add(ent, "sha256", json_object_new_string(""));
	json_object_object_add(ent, "size", json_object_new_int64(0));
	json_object_object_add(files, name, ent);
	return 0;
}

int job_expect_file(job *j, const char *name, const char *sha256_hex, uint64_t size)
{
	json_object *ent, *next;

	if (!json_object_object_get_ex(job_files(j), name, &ent))
		return -1;
	next = json_object_new_object();
	json_object_object_add(next, "sha256", json_object_new_string(sha256_hex));
	json_object_object_add(next, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(ent, "next", next);
	return 0;
}

void job_drop_file(job *j, const char *name)
{
	json_object_object_del(job_files(j), name);
}

/* 1 if o is there and its text is s (a JSON null is no text: fuzz/regressions/job). */
static int job_str_eq(json_object *o, const char *s)
{
	return o != NULL && strcmp(json_object_get_string(o), s) == 0;
}

int job_has_file(const job *j, const char *name)
{
	return json_object_object_get_ex(job_files(j), name, NULL);
}

const char *job_file_sha256(const job *j, const char *name)
{
	json_object *ent, *h;

	if (!json_object_object_get_ex(job_files(j), name, &ent) ||
	    !json_object_object_get_ex(ent, "sha256", &h))
		return NULL;
	return json_object_get_string(h);
}

void job_mark_stage(job *j, const char *stage, const char *outcome)
{
	json_object *hist, *e;
	char now[TIMEFMT_ISO_MAX];

	if (!json_object_object_get_ex(j->root, "history", &hist)) {
		hist = json_object_new_array();
		json_object_object_add(j->root, "history", hist);
	}
	e = json_object_new_object();
	json_object_object_add(e, "stage", json_object_new_string(stage));
	json_object_object_add(e, "at", json_object_new_string(timefmt_now(now)));
	json_object_object_add(e, "outcome", json_object_new_string(outcome));
	json_object_object_add(e, "version", json_object_new_string(MAILROOM_VERSION));
	json_object_array_add(hist, e);
}

int job_stage_done(const job *j, const char *stage)
{
	json_object *hist, *e, *s, *o;
	size_t i, n;

	if (!json_object_object_get_ex(j->root, "history", &hist) ||
	    !json_object_is_type(hist, json_type_array))
		return 0;
	n = json_object_array_length(hist);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(hist, i);
		if (json_object_object_get_ex(e, "stage", &s) &&
		    json_object_object_get_ex(e, "outcome", &o) &&
		    job_str_eq(s, stage) && job_str_eq(o, "ok"))
			return 1;
	}
	return 0;
}

const char *job_get_str(const job *j, const char *path)
{
	char key[128];
	const char *p = path, *dot;
	json_object *o = j->root;

	while ((dot = strchr(p, '.')) != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - p), p);
		if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		p = dot + 1;
	}
	if (!json_object_object_get_ex(o, p, &o) || !json_object_is_type(o, json_type_string))
		return NULL;
	return json_object_get_string(o);
}

void job_set_str(job *j, const char *section, const char *key, const char *value)
{
	json_object *s = section ? job_section(j, section) : j->root;

	json_object_object_add(s, key, value ? json_object_new_string(value) : NULL);
}

/* 1 if ent announces a replacement (job_expect_file) with this digest and size. */
static int job_matches_next(json_object *ent, const char *hex, uint64_t size)
{
	json_object *next, *h, *sz;

	return json_object_object_get_ex(ent, "next", &next) &&
	       json_object_object_get_ex(next, "sha256", &h) &&
	       json_object_object_get_ex(next, "size", &sz) &&
	       json_object_is_type(h, json_type_string) &&
	       strcmp(json_object_get_string(h), hex) == 0 &&
	       json_object_get_int64(sz) == (int64_t)size;
}

int job_write(job *j)
{
	json_object *files = job_files(j), *end = NULL;
	const char *text;
	char *path;
	int rc;

	json_object_object_foreach(files, name, ent)
	{
		char hex[DIGEST_SHA256_HEX];
		uint64_t size;
		char *fp = job_path(j, name);

		rc = digest_sha256_file_hex(fp, hex, &size);
		if (rc == -1) {
			int e = errno;

			log_warn("%s: %s", j->id, fp);
			free(fp);
			errno = e;
			return -1;
		}
		free(fp);
		if (job_matches_next(ent, hex, size))
			json_object_object_del(ent, "next"); /* the replacement is done */
		json_object_object_add(ent, "sha256", json_object_new_string(hex));
		json_object_object_add(ent, "size", json_object_new_int64((int64_t)size));
	}
	/* "files" and the end marker always come last. */
	json_object_get(files);
	json_object_object_del(j->root, "files");
	json_object_object_del(j->root, "end");
	json_object_object_add(j->root, "files", files);
	end = json_object_new_string(JOB_FORMAT);
	json_object_object_add(j->root, "end", end);
	text = json_object_to_json_string_ext(j->root, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	path = job_path(j, JOB_RECORD);
	rc = fio_write_atomic(path, text, strlen(text), 0600);
	free(path);
	return rc;
}

/* Refuse a file of the job directory that is not a plain file of ours: a symlink,
 * a hard link (both could make a stage read or ship a file from elsewhere), another
 * type or another owner. 0, or -1 with err set. */
static int job_check_plain(const char *path, const char *name, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == -1) {
		job_errf(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		job_errf(err, errlen, "%s is a symbolic link (refused, not followed)", name);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		job_errf(err, errlen, "%s is not a regular file (refused)", name);
		return -1;
	}
	if (st.st_nlink != 1) {
		job_errf(err, errlen, "%s has %lu hard links (a link to a file elsewhere? refused)",
			 name, (unsigned long)st.st_nlink);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		job_errf(err, errlen, "%s is owned by uid %lu, not by us (refused)", name,
			 (unsigned long)st.st_uid);
		return -1;
	}
	return 0;
}

/* Check every recorded payload file against its digest. */
static int job_check_files(job *j, char *err, size_t errlen)
{
	json_object *files = job_files(j);

	if (files == NULL || !json_object_is_type(files, json_type_object)) {
		job_errf(err, errlen, "job.json has no \"files\" object");
		return -1;
	}
	json_object_object_foreach(files, name, ent)
	{
		json_object *h, *sz;
		char hex[DIGEST_SHA256_HEX];
		uint64_t size;
		char *fp;

		if (!job_file_name_valid(name)) {
			job_errf(err, errlen, "job.json names an unsafe file name");
			return -1;
		}
		if (!json_object_object_get_ex(ent, "sha256", &h) ||
		    !json_object_object_get_ex(ent, "size", &sz)) {
			job_errf(err, errlen, "job.json: file %s has no sha256/size", name);
			return -1;
		}
		fp = job_path(j, name);
		if (job_check_plain(fp, name, err, errlen) == -1) {
			free(fp);
			return -1;
		}
		if (digest_sha256_file_hex(fp, hex, &size) == -1) {
			job_errf(err, errlen, "%s: %s", name, strerror(errno));
			free(fp);
			return -1;
		}
		free(fp);
		if ((!job_str_eq(h, hex) ||
		     (int64_t)size != json_object_get_int64(sz)) &&
		    !job_matches_next(ent, hex, size)) {
			job_errf(err, errlen,
				 "%s: content does not match its recorded SHA-256 (altered or "
				 "truncated)",
				 name);
			return -1;
		}
	}
	return 0;
}

job *job_read(const char *dir, const char *id, char *err, size_t errlen)
{
	struct json_tokener *tok = NULL;
	json_object *root = NULL, *o;
	job *j = NULL;
	buf b;
	char *path;
	const char *last_key = NULL;

	buf_init(&b, JOB_MAX_RECORD);
	path = fio_join(dir, JOB_RECORD);
	if (!ident_job_valid(id)) {
		job_errf(err, errlen, "invalid job id");
		goto fail;
	}
	if (job_check_plain(path, JOB_RECORD, err, errlen) == -1)
		goto fail;
	if (fio_read_file(path, JOB_MAX_RECORD, &b) == -1) {
		job_errf(err, errlen, "job.json: %s",
			 errno == E2BIG ? "larger than 8 MiB" : strerror(errno));
		goto fail;
	}
	tok = json_tokener_new();
	root = json_tokener_parse_ex(tok, b.data ? b.data : "", (int)b.len);
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(root, json_type_object)) {
		job_errf(err, errlen, "job.json is not a complete JSON object (truncated?)");
		goto fail;
	}
	json_object_object_foreach(root, k, v)
	{
		(void)v;
		last_key = k;
	}
	if (last_key == NULL || strcmp(last_key, "end") != 0 ||
	    !json_object_object_get_ex(root, "end", &o) ||
	    !job_str_eq(o, JOB_FORMAT)) {
		job_errf(err, errlen, "job.json has no end marker (truncated or foreign)");
		goto fail;
	}
	if (!json_object_object_get_ex(root, "format", &o) || !job_str_eq(o, JOB_FORMAT)) {
		job_errf(err, errlen, "job.json: unknown format (expected %s)", JOB_FORMAT);
		goto fail;
	}
	if (!json_object_object_get_ex(root, "id", &o) || !job_str_eq(o, id)) {
		job_errf(err, errlen, "job.json belongs to another job");
		goto fail;
	}
	j = xcalloc(1, sizeof(*j));
	snprintf(j->id, sizeof(j->id), "%s", id);
	j->dir = xstrdup(dir);
	j->root = root;
	root = NULL;
	if (job_check_files(j, err, errlen) == -1)
		goto fail;
	json_tokener_free(tok);
	buf_free(&b);
	free(path);
	return j;
fail:
	if (tok != NULL)
		json_tokener_free(tok);
	json_object_put(root);
	job_free(j);
	buf_free(&b);
	free(path);
	return NULL;
}
