/*
 * export_replies.c - receipts and rejected packages from the DMS; see
 * export_replies.h.
 */
#include "export_replies.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <zip.h>

#include "buf.h"
#include "digest.h"
#include "export_receipt.h"
#include "export_xdomea.h"
#include "fileio.h"
#include "ident.h"
#include "job.h"
#include "log.h"
#include "xalloc.h"

#define REPLIES_MAX_FILES 4096 /* files looked at per folder and scan */
#define REPLIES_ZIP_ENTRIES 16 /* a receipt container holds one XML (and little else) */

/* ---- the index ---- */

/* 1 if s is a UUID (any case). */
static int rep_uuid(const char *s, size_t n)
{
	size_t i;

	if (n != IDENT_UUID_LEN - 1)
		return 0;
	for (i = 0; i < n; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = s[i];

		if (dash ? c != '-'
			 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			     (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

/* The index file of a ProzessID (lower case), into out. */
static void rep_index_path(const char *index_dir, const char *pid, char *out, size_t outlen)
{
	char low[IDENT_UUID_LEN];
	size_t i;

	for (i = 0; pid[i] != '\0' && i + 1 < sizeof(low); i++)
		low[i] = (char)((pid[i] >= 'A' && pid[i] <= 'Z') ? pid[i] + 32 : pid[i]);
	low[i] = '\0';
	snprintf(out, outlen, "%s/%s", index_dir, low);
}

int export_index_put(const char *index_dir, const char *process_id, const char *jobid,
		     const char *office, const char *package, const char *sha256)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], text[1024];
	int fd, n, e;

	if (!rep_uuid(process_id, strlen(process_id)) || !ident_job_valid(jobid)) {
		errno = EINVAL;
		return -1;
	}
	rep_index_path(index_dir, process_id, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = snprintf(text, sizeof(text), "job %s\noffice %s\npackage %s\nsha256 %s\n", jobid,
		     office ? office : "-", package ? package : "-", sha256 ? sha256 : "-");
	if (n < 0 || (size_t)n >= sizeof(text)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (fio_mkdirs(index_dir, 0700) == -1)
		return -1;
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return -1;
	/* no fsync: the index is a cache; an entry a crash loses (or leaves empty) is
	 * found again in the archive and rewritten (export_index_find) */
	if (write(fd, text, (size_t)n) != n) {
		e = errno ? errno : EIO;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

/* The job id in an index file: 1 found, 0 not. */
static int rep_index_read(const char *path, char *jobid, size_t joblen)
{
	char text[1024], *p, *nl;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	if (strncmp(text, "job ", 4) != 0)
		return 0;
	p = text + 4;
	if ((nl = strchr(p, '\n')) != NULL)
		*nl = '\0';
	if (!ident_job_valid(p) || strlen(p) >= joblen)
		return 0;
	snprintf(jobid, joblen, "%s", p);
	return 1;
}

/* Search the archive for the letter whose job.json "uuid" is pid: 1 found, 0 not. */
static int rep_archive_find(const char *archive_dir, const char *pid, char *jobid, size_t joblen)
{
	DIR *d;
	struct dirent *de;
	int found = 0;

	if ((d = opendir(archive_dir)) == NULL)
		return 0;
	while (!found && (de = readdir(d)) != NULL) {
		char *path;
		json_object *o, *u;
		buf b;

		if (!ident_job_valid(de->d_name) || strlen(de->d_name) >= joblen)
			continue;
		path = xasprintf("%s/%s/%s", archive_dir, de->d_name, JOB_RECORD);
		buf_init(&b, JOB_MAX_RECORD);
		if (fio_read_file(path, JOB_MAX_RECORD, &b) == 0 && b.data != NULL &&
		    (o = json_tokener_parse(b.data)) != NULL) {
			if (json_object_object_get_ex(o, "uuid", &u) &&
			    json_object_is_type(u, json_type_string) &&
			    strcasecmp(json_object_get_string(u), pid) == 0) {
				snprintf(jobid, joblen, "%s", de->d_name);
				found = 1;
			}
			json_object_put(o);
		}
		buf_free(&b);
		free(path);
	}
	closedir(d);
	return found;
}

int export_index_find(const char *index_dir, const char *archive_dir, const char *process_id,
		      char *jobid, size_t joblen)
{
	char path[PATH_MAX];

	if (!rep_uuid(process_id, strlen(process_id)))
		return 0;
	rep_index_path(index_dir, process_id, path, sizeof(path));
	if (rep_index_read(path, jobid, joblen))
		return 1;
	if (!rep_archive_find(archive_dir, process_id, jobid, joblen))
		return 0;
	/* a delivery of an earlier version, or a lost index entry: write it now */
	if (export_index_put(index_dir, process_id, jobid, NULL, NULL, NULL) == -1)
		log_warn("%s: cannot write the index entry %s", jobid, path);
	return 1;
}

/* ---- the journal ---- */

/* Search state for rep_seen_cb. */
struct rep_seen {
	const char *needle;
	int found;
};

/* journal_events callback: does an earlier receipt event carry the digest? */
static int rep_seen_cb(const struct journal_entry *e, void *arg)
{
	struct rep_seen *s = arg;

	if ((strcmp(e->action, "receipt") == 0 || strcmp(e->action, "rejected") == 0) &&
	    e->detail != NULL && strstr(e->detail, s->needle) != NULL) {
		s->found = 1;
		return 1;
	}
	return 0;
}

/* 1 if the letter's journal already has an event for the file with this digest,
 * 0 if not, -1 if the journal cannot be read. */
static int rep_seen(journal *jr, const char *jobid, const char *sha)
{
	char needle[DIGEST_SHA256_HEX + 16];
	struct rep_seen s = {needle, 0};

	snprintf(needle, sizeof(needle), "sha256 %s", sha);
	if (journal_events(jr, jobid, rep_seen_cb, &s) == -1)
		return -1;
	return s.found;
}

/* journal_letter callback: copy the state. */
static int rep_state_cb(const struct journal_letter *l, void *arg)
{
	snprintf(arg, 32, "%s", l->state ? l->state : "");
	return 1;
}

/* Record a receipt event on job. 0 or -1. */
static int rep_record(journal *jr, const char *jobid, const char *action, const char *outcome,
		      const char *state, const char *detail, const char *reason)
{
	struct journal_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.job = jobid;
	ev.stage = "export";
	ev.action = action;
	ev.outcome = outcome;
	ev.detail = detail;
	ev.state = state;
	ev.reason = state != NULL ? reason : NULL;
	return journal_record(jr, &ev);
}

/* ---- moving files ---- */

/* Move dir/name into dir/sub/ (created), never replacing a file there; the new
 * path into moved (may be NULL). 0 or -1 (logged). */
static int rep_move(const char *dir, const char *name, const char *sub, char *moved,
		    size_t movedlen)
{
	char from[PATH_MAX], todir[PATH_MAX], to[PATH_MAX + 16];
	int i;

	if (snprintf(from, sizeof(from), "%s/%s", dir, name) >= (int)sizeof(from) ||
	    snprintf(todir, sizeof(todir), "%s/%s", dir, sub) >= (int)sizeof(todir) ||
	    strlen(todir) + strlen(name) + 8 >= sizeof(to)) {
		log_warnx("%s: a path too long to move", dir);
		return -1;
	}
	if (fio_mkdirs(todir, 0750) == -1) {
		log_warn("cannot create %s", todir);
		return -1;
	}
	snprintf(to, sizeof(to), "%s/%s", todir, name);
	for (i = 1; fio_exists(to) == 1 && i < 1000; i++)
		snprintf(to, sizeof(to), "%s/%s.%d", todir, name, i);
	if (fio_rename(from, to) == -1) {
		log_warn("cannot move %s to %s", from, todir);
		return -1;
	}
	if (moved != NULL)
		snprintf(moved, movedlen, "%s", to);
	return 0;
}

/* Set a file aside into sub/ (unknown or bad) with <name>.reason.txt beside it. */
static void rep_aside(const char *dir, const char *name, const char *sub, const char *reason,
		      int *count, int *failed)
{
	char moved[PATH_MAX + 16], text[2048], cname[256], *why;

	xdomea_text(name, cname, sizeof(cname)); /* named by the DMS: no control chars */
	log_warnx("%s/%s: %s; set aside into %s/", dir, cname, reason, sub);
	if (rep_move(dir, name, sub, moved, sizeof(moved)) == -1) {
		(*failed)++;
		return;
	}
	(*count)++;
	why = xasprintf("%s.reason.txt", moved);
	snprintf(text, sizeof(text), "%s\n(set aside by mailroom-dms-export; it was %s/%s)\n",
		 reason, dir, cname);
	if (fio_write_atomic(why, text, strlen(text), 0640) == -1)
		log_warn("cannot write %s", why);
	free(why);
}

/* ---- reading a receipt ---- */

/* Read a regular file of at most max bytes into b without following links or
 * blocking on a FIFO. 0, or -1 with why set. */
static int rep_read(const char *path, size_t max, buf *b, time_t *mtime, char *why, size_t whylen)
{
	struct stat st;
	char blk[65536];
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		close(fd);
		return -1;
	}
	*mtime = st.st_mtime;
	if ((uint64_t)st.st_size > max) {
		snprintf(why, whylen, "larger than %zu bytes", max);
		close(fd);
		return -1;
	}
	while ((r = read(fd, blk, sizeof(blk))) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 || buf_add(b, blk, (size_t)r) == -1) {
			snprintf(why, whylen, r == -1 ? "read error" : "larger than %zu bytes",
				 max);
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

/* The one .xml entry of a receipt container (in memory) into xml. 0, or -1 with why. */
static int rep_unzip(const buf *zipped, buf *xml, char *why, size_t whylen)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *za;
	zip_int64_t n, i, found = -1;
	int rc = -1;

	zip_error_init(&ze);
	if ((src = zip_source_buffer_create(zipped->data, zipped->len, 0, &ze)) == NULL ||
	    (za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze)) == NULL) {
		snprintf(why, whylen, "not a readable ZIP: %s", zip_error_strerror(&ze));
		if (src != NULL)
			zip_source_free(src);
		zip_error_fini(&ze);
		return -1;
	}
	n = zip_get_num_entries(za, 0);
	if (n > REPLIES_ZIP_ENTRIES) {
		snprintf(why, whylen, "a ZIP of %lld entries (a receipt container holds one XML)",
			 (long long)n);
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
		size_t l = name ? strlen(name) : 0;

		if (l > 4 && strcasecmp(name + l - 4, ".xml") == 0) {
			if (found != -1) {
				snprintf(why, whylen, "a ZIP with more than one XML message");
				goto out;
			}
			found = i;
		}
	}
	if (found == -1) {
		snprintf(why, whylen, "a ZIP without an XML message");
		goto out;
	}
	{
		zip_file_t *zf = zip_fopen_index(za, (zip_uint64_t)found, 0);
		char blk[16384];
		zip_int64_t r;

		if (zf == NULL) {
			snprintf(why, whylen, "the XML in the ZIP cannot be read: %s",
				 zip_strerror(za));
			goto out;
		}
		while ((r = zip_fread(zf, blk, sizeof(blk))) > 0)
			if (buf_add(xml, blk, (size_t)r) == -1) {
				snprintf(why, whylen, "the XML in the ZIP is larger than %u bytes",
					 EXPORT_RECEIPT_MAX);
				zip_fclose(zf);
				goto out;
			}
		zip_fclose(zf);
		if (r < 0) {
			snprintf(why, whylen, "the XML in the ZIP is damaged");
			goto out;
		}
	}
	rc = 0;
out:
	zip_discard(za);
	zip_error_fini(&ze);
	return rc;
}

/* 1 if name ends with ext (case-insensitive). */
static int rep_ends(const char *name, const char *ext)
{
	size_t l = strlen(name), e = strlen(ext);

	return l > e && strcasecmp(name + l - e, ext) == 0;
}

/* One file in a reply folder. */
static void rep_receipt(const struct export_replies_env *env, const char *office, const char *dir,
			const char *name, struct export_replies_counts *c)
{
	struct export_receipt r;
	char path[PATH_MAX], why[1024], jobid[IDENT_JOB_MAX], state[32] = "", detail[1500];
	char reason[1700], sha[DIGEST_SHA256_HEX], what[200], cname[256], shown[PATH_MAX];
	unsigned char d[DIGEST_SHA256_LEN];
	const char *action, *outcome, *newstate;
	time_t mtime = 0;
	buf raw, xml;
	int seen;

	buf_init(&raw, EXPORT_RECEIPT_MAX);
	buf_init(&xml, EXPORT_RECEIPT_MAX);
	xdomea_text(name, cname, sizeof(cname)); /* the DMS names it: for journal and log */
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(shown, sizeof(shown), "%s/%s", dir, cname);
	if (!rep_ends(name, ".xml") && !rep_ends(name, ".zip")) {
		rep_aside(dir, name, "bad",
			  "not a receipt: expected an xdomea message (.xml) or container (.zip)",
			  &c->bad, &c->failed);
		goto out;
	}
	if (rep_read(path, EXPORT_RECEIPT_MAX, &raw, &mtime, why, sizeof(why)) == -1) {
		char msg[1200];

		snprintf(msg, sizeof(msg), "not a usable receipt: %s", why);
		rep_aside(dir, name, "bad", msg, &c->bad, &c->failed);
		goto out;
	}
	if (rep_ends(name, ".zip") && rep_unzip(&raw, &xml, why, sizeof(why)) == -1) {
		char msg[1200];

		if (time(NULL) - mtime < (time_t)env->settle_seconds) {
			log_debug("%s: not (yet) a receipt (%s); looked at again next time", shown,
				  why);
			goto out;
		}
		snprintf(msg, sizeof(msg), "not a usable receipt: %s", why);
		rep_aside(dir, name, "bad", msg, &c->bad, &c->failed);
		goto out;
	}
	if (rep_ends(name, ".xml") && buf_add(&xml, raw.data ? raw.data : "", raw.len) == -1) {
		rep_aside(dir, name, "bad", "not a usable receipt: too large", &c->bad, &c->failed);
		goto out;
	}
	if (export_receipt_parse(env->schema, xml.data ? xml.data : "", xml.len, &r, why,
				 sizeof(why)) == -1) {
		char msg[1200];

		if (time(NULL) - mtime < (time_t)env->settle_seconds) {
			log_debug("%s: not (yet) a receipt (%s); looked at again next time", shown,
				  why);
			goto out;
		}
		snprintf(msg, sizeof(msg), "not a usable xdomea receipt: %s", why);
		rep_aside(dir, name, "bad", msg, &c->bad, &c->failed);
		goto out;
	}
	if (!export_index_find(env->index_dir, env->archive_dir, r.process_id, jobid,
			       sizeof(jobid))) {
		char msg[400];

		snprintf(msg, sizeof(msg),
			 "%s %s for ProzessID %s, which matches no letter delivered by this "
			 "mailroom (office %s)",
			 r.message, r.message_name, r.process_id, office);
		rep_aside(dir, name, "unknown", msg, &c->unknown, &c->failed);
		goto out;
	}
	digest_sha256(raw.data ? raw.data : "", raw.len, d);
	digest_hex(d, sizeof(d), sha);
	if ((seen = rep_seen(env->jr, jobid, sha)) == -1) {
		log_errorx("%s: cannot read the journal; receipt %s left for the next scan", jobid,
			   path);
		c->failed++;
		goto out;
	}
	if (seen) {
		log_info("%s: receipt %s was recorded before; moving it to done/", jobid, shown);
		if (rep_move(dir, name, "done", NULL, 0) == 0)
			c->duplicates++;
		else
			c->failed++;
		goto out;
	}
	if (journal_letter(env->jr, jobid, rep_state_cb, state) == -1)
		state[0] = '\0';
	snprintf(what, sizeof(what), "%s %s %.100s", r.message, r.message_name, cname);
	reason[0] = '\0';
	switch (r.kind) {
	case EXPORT_RECEIPT_RECEIVED:
		action = "receipt";
		outcome = "ok";
		/* a plain "received" never hides a rejection or an import */
		newstate = strcmp(state, "rejected") == 0 || strcmp(state, "imported") == 0
			       ? NULL
			       : "received";
		snprintf(detail, sizeof(detail),
			 "%s from the DMS: received; ProzessID %s; sha256 %s", what, r.process_id,
			 sha);
		break;
	case EXPORT_RECEIPT_IMPORTED:
		action = "receipt";
		outcome = "ok";
		newstate = "imported";
		snprintf(detail, sizeof(detail),
			 "%s from the DMS: imported%s%s; ProzessID %s; sha256 %s", what,
			 r.dms_id[0] ? " as DMS document " : "", r.dms_id, r.process_id, sha);
		break;
	default:
		action = "rejected";
		outcome = "failed";
		newstate = "rejected";
		snprintf(detail, sizeof(detail),
			 "%s from the DMS: rejected: %s; ProzessID %s; sha256 %s", what, r.reason,
			 r.process_id, sha);
		snprintf(reason, sizeof(reason),
			 "rejected by the DMS (%s %s, %s): %s. Fix the cause (in the DMS, or "
			 "id_container / ablageort in conf/export.yaml), then have the package "
			 "imported again (dms-export/README.md, Rejected packages)",
			 r.message, r.message_name, cname, r.reason);
		break;
	}
	if (rep_record(env->jr, jobid, action, outcome, newstate, detail, reason) == -1) {
		log_errorx("%s: cannot journal receipt %s; left for the next scan", jobid, shown);
		c->failed++;
		goto out;
	}
	if (r.kind == EXPORT_RECEIPT_REJECTED) {
		c->rejected++;
		log_warnx("%s: REJECTED by the DMS: %s", jobid, r.reason);
	} else {
		c->receipts++;
		log_info("%s: %s", jobid, detail);
	}
	if (rep_move(dir, name, "done", NULL, 0) == -1)
		c->failed++; /* recorded: the digest keeps the next scan from counting it again */
out:
	buf_free(&raw);
	buf_free(&xml);
}

/* One file in an error folder: a package of ours the DMS could not import. */
static void rep_error_pkg(const struct export_replies_env *env, const char *office, const char *dir,
			  const char *name, struct export_replies_counts *c)
{
	char path[PATH_MAX], pid[IDENT_UUID_LEN], jobid[IDENT_JOB_MAX], sha[DIGEST_SHA256_HEX];
	char detail[1500], reason[1500], cname[256], shown[PATH_MAX];
	struct stat st;
	int seen;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	xdomea_text(name, cname, sizeof(cname)); /* the DMS's name: for journal and log */
	snprintf(shown, sizeof(shown), "%s/%s", dir, cname);
	if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode) || !rep_ends(name, ".zip") ||
	    !rep_uuid(name, IDENT_UUID_LEN - 1) || name[IDENT_UUID_LEN - 1] != '_')
		return; /* not a package of ours: the DMS's own files stay untouched */
	snprintf(pid, sizeof(pid), "%.*s", IDENT_UUID_LEN - 1, name);
	if (!export_index_find(env->index_dir, env->archive_dir, pid, jobid, sizeof(jobid))) {
		char msg[400];

		snprintf(msg, sizeof(msg),
			 "package for ProzessID %s in the error folder of office %s matches no "
			 "letter delivered by this mailroom",
			 pid, office);
		rep_aside(dir, name, "unknown", msg, &c->unknown, &c->failed);
		return;
	}
	if (digest_sha256_file_hex(path, sha, NULL) == -1) {
		log_warn("%s: cannot read %s; looked at again next time", jobid, shown);
		c->failed++;
		return;
	}
	if ((seen = rep_seen(env->jr, jobid, sha)) == -1) {
		c->failed++;
		return;
	}
	if (seen) {
		log_info("%s: rejected package %s was recorded before; moving it to done/", jobid,
			 shown);
		if (rep_move(dir, name, "done", NULL, 0) == 0)
			c->duplicates++;
		else
			c->failed++;
		return;
	}
	snprintf(detail, sizeof(detail),
		 "package %.200s in the DMS error folder %.400s: not imported; ProzessID %s; "
		 "sha256 %s",
		 cname, dir, pid, sha);
	snprintf(reason, sizeof(reason),
		 "rejected by the DMS: it moved the package %.200s into its error folder %.400s "
		 "(mailroom moved it on to done/ there). Look up why in the DMS's import log, fix "
		 "the cause, then move the package back into the office's inbox",
		 cname, dir);
	if (rep_record(env->jr, jobid, "rejected", "failed", "rejected", detail, reason) == -1) {
		log_errorx("%s: cannot journal the rejected package %s; left for the next scan",
			   jobid, shown);
		c->failed++;
		return;
	}
	c->rejected++;
	log_warnx("%s: REJECTED by the DMS: package %s is in its error folder", jobid, shown);
	if (rep_move(dir, name, "done", NULL, 0) == -1)
		c->failed++;
}

/* qsort comparator for file names. */
static int rep_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular-looking entries of dir (not hidden, not the subfolders), sorted. NULL
 * with errno if dir cannot be read; *n the count. */
static char **rep_list(const char *dir, size_t *n)
{
	DIR *d;
	struct dirent *de;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL && *n < REPLIES_MAX_FILES) {
		struct stat st;
		char p[PATH_MAX];

		if (de->d_name[0] == '.')
			continue; /* hidden: files the DMS is still writing */
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (lstat(p, &st) == -1 || S_ISDIR(st.st_mode))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), rep_cmp);
	if (v == NULL)
		v = xcalloc(1, sizeof(*v));
	return v;
}

/* Make sure a configured folder exists: 1 there, 0 missing (logged). */
static int rep_folder(const struct export_replies_env *env, const char *what, const char *dir,
		      const char *office)
{
	struct stat st;

	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 1;
	if (env->create && fio_mkdirs(dir, 0750) == 0)
		return 1;
	log_warnx("%s folder %s of office %s is missing or not a folder: mount the DMS share "
		  "or fix conf/export.yaml",
		  what, dir, office);
	return 0;
}

int export_replies_scan(const struct export_replies_env *env, const struct export_replies_office *o,
			struct export_replies_counts *c)
{
	char **names;
	size_t n, i;
	int rc = 0;

	if (o->replies != NULL && rep_folder(env, "reply", o->replies, o->office)) {
		if ((names = rep_list(o->replies, &n)) == NULL) {
			log_warn("reply folder %s", o->replies);
			c->failed++;
			rc = -1;
		} else {
			for (i = 0; i < n; i++) {
				rep_receipt(env, o->office, o->replies, names[i], c);
				free(names[i]);
			}
			free(names);
		}
	} else if (o->replies != NULL) {
		c->failed++;
		rc = -1;
	}
	if (o->errors != NULL && rep_folder(env, "error", o->errors, o->office)) {
		if ((names = rep_list(o->errors, &n)) == NULL) {
			log_warn("error folder %s", o->errors);
			c->failed++;
			rc = -1;
		} else {
			for (i = 0; i < n; i++) {
				rep_error_pkg(env, o->office, o->errors, names[i], c);
				free(names[i]);
			}
			free(names);
		}
	} else if (o->errors != NULL) {
		c->failed++;
		rc = -1;
	}
	return rc;
}
