/*
 * spool.c - queue directories with the fsync + rename hand-off; see spool.h
 * and docs/SPOOL-FORMAT.md.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fileio.h"
#include "ident.h"
#include "log.h"
#include "xalloc.h"

static const char *const spool_area_names[] = {"tmp", "incoming", "active", "corrupt"};

struct spool {
	char *stage;
	char *root;       /* spool/<stage> */
	char *dirs[4];
	int lock_fd;
	int ino_fd;
};

spool *spool_open(const char *spool_root, const char *stage)
{
	spool *sp = xcalloc(1, sizeof(*sp));
	int i;

	sp->stage = xstrdup(stage);
	sp->root = fio_join(spool_root, stage);
	sp->lock_fd = -1;
	sp->ino_fd = -1;
	for (i = 0; i < 4; i++) {
		sp->dirs[i] = fio_join(sp->root, spool_area_names[i]);
		if (fio_mkdirs(sp->dirs[i], 0700) == -1) {
			int e = errno;

			log_warn("spool: cannot create %s", sp->dirs[i]);
			spool_close(sp);
			errno = e;
			return NULL;
		}
	}
	return sp;
}

spool *spool_close(spool *sp)
{
	int i;

	if (sp == NULL)
		return NULL;
	if (sp->lock_fd != -1)
		close(sp->lock_fd);
	if (sp->ino_fd != -1)
		close(sp->ino_fd);
	for (i = 0; i < 4; i++)
		free(sp->dirs[i]);
	free(sp->root);
	free(sp->stage);
	free(sp);
	return NULL;
}

const char *spool_stage(const spool *sp) { return sp->stage; }
const char *spool_dir(const spool *sp, enum spool_area a) { return sp->dirs[a]; }

char *spool_path(const spool *sp, enum spool_area a, const char *id)
{
	if (!ident_job_valid(id))
		log_panic("spool_path: invalid job id");
	return fio_join(sp->dirs[a], id);
}

int spool_lock(spool *sp)
{
	char *p = fio_join(sp->root, ".lock");

	sp->lock_fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	free(p);
	if (sp->lock_fd == -1)
		return -1;
	if (flock(sp->lock_fd, LOCK_EX | LOCK_NB) == -1) {
		int e = errno;

		close(sp->lock_fd);
		sp->lock_fd = -1;
		errno = e;
		return -1;
	}
	return 0;
}

/* Move area a's <id> to area b's <id> (both ours). */
static int spool_move(spool *sp, enum spool_area a, const char *id, const spool *to,
		      enum spool_area b)
{
	char *from = spool_path(sp, a, id), *dest = spool_path(to, b, id);
	int rc = fio_rename(from, dest);
	int e = errno;

	free(from);
	free(dest);
	errno = e;
	return rc;
}

int spool_recover(spool *sp)
{
	char **ids = spool_list(sp, SPOOL_ACTIVE, 0, NULL);
	int n = 0, i;

	if (ids == NULL)
		return -1;
	for (i = 0; ids[i] != NULL; i++) {
		if (spool_move(sp, SPOOL_ACTIVE, ids[i], sp, SPOOL_INCOMING) == -1) {
			log_warn("%s: cannot recover from %s/active", ids[i], sp->stage);
			continue;
		}
		log_info("%s: recovered from %s/active after an interrupted run", ids[i],
			 sp->stage);
		n++;
	}
	spool_list_free(ids);
	return n;
}

static int spool_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int spool_entry_ok(const spool *sp, enum spool_area a, const char *id)
{
	char *p = spool_path(sp, a, id);
	struct stat st;
	const char *why = NULL;
	int rc = lstat(p, &st);

	free(p);
	if (rc == -1)
		return -1;
	if (S_ISLNK(st.st_mode))
		why = "a symbolic link";
	else if (!S_ISDIR(st.st_mode))
		why = "not a directory";
	else if (st.st_uid != geteuid())
		why = "owned by another user";
	if (why == NULL)
		return 0;
	log_warnx("%s: refusing spool entry in %s/%s: %s; left in place, not read. Remove it, or "
		  "move the real job directory there",
		  id, sp->stage, spool_area_names[a], why);
	errno = EPERM;
	return -1;
}

/* Retry time of a deferred job in dir (0 if not deferred). */
static time_t spool_retry_time(const char *jobdir)
{
	char *p = fio_join(jobdir, SPOOL_RETRY);
	buf b;
	time_t t = 0;

	buf_init(&b, 4096);
	if (fio_read_file(p, 4096, &b) == 0 && b.data != NULL)
		t = (time_t)strtoll(b.data, NULL, 10);
	buf_free(&b);
	free(p);
	return t;
}

char **spool_list(const spool *sp, enum spool_area a, int ready_only, time_t *next_retry)
{
	DIR *d;
	struct dirent *de;
	char **ids = NULL;
	size_t n = 0, cap = 0;
	time_t now = time(NULL), earliest = 0;

	if ((d = opendir(sp->dirs[a])) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = fio_join(sp->dirs[a], de->d_name);
		if (!ident_job_valid(de->d_name)) {
			log_warnx("spool %s/%s: ignoring '%s': not a job id", sp->stage,
				  spool_area_names[a], de->d_name);
			free(p);
			continue;
		}
		if (spool_entry_ok(sp, a, de->d_name) == -1) {
			free(p);
			continue;
		}
		if (ready_only) {
			time_t t = spool_retry_time(p);

			if (t > now) {
				if (earliest == 0 || t < earliest)
					earliest = t;
				free(p);
				continue;
			}
		}
		free(p);
		if (n + 1 >= cap) {
			cap = cap ? cap * 2 : 16;
			ids = xrealloc(ids, cap * sizeof(*ids));
		}
		ids[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (ids == NULL)
		ids = xcalloc(1, sizeof(*ids));
	ids[n] = NULL;
	qsort(ids, n, sizeof(*ids), spool_cmp);
	if (next_retry != NULL)
		*next_retry = earliest;
	return ids;
}

char **spool_list_free(char **ids)
{
	size_t i;

	if (ids == NULL)
		return NULL;
	for (i = 0; ids[i] != NULL; i++)
		free(ids[i]);
	free(ids);
	return NULL;
}

char *spool_create(spool *sp, const char *id)
{
	char *p = spool_path(sp, SPOOL_TMP, id);

	if (mkdir(p, 0700) == -1) {
		int e = errno;

		free(p);
		errno = e;
		return NULL;
	}
	return p;
}

int spool_submit(spool *sp, const char *id, spool *to)
{
	char *p = spool_path(sp, SPOOL_TMP, id);
	int rc = fio_fsync_dir(p);

	free(p);
	if (rc == -1)
		return -1;
	return spool_move(sp, SPOOL_TMP, id, to, SPOOL_INCOMING);
}

int spool_claim(spool *sp, const char *id)
{
	if (spool_entry_ok(sp, SPOOL_INCOMING, id) == -1)
		return errno == ENOENT ? 0 : -1;
	if (spool_move(sp, SPOOL_INCOMING, id, sp, SPOOL_ACTIVE) == -1)
		return errno == ENOENT ? 0 : -1;
	return 1;
}

int spool_clean_active(spool *sp, const char *id)
{
	char *dir = spool_path(sp, SPOOL_ACTIVE, id);
	DIR *d;
	struct dirent *de;

	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l > 4 && strcmp(de->d_name + l - 4, ".tmp") == 0) {
			char *p = fio_join(dir, de->d_name);

			log_info("%s: removing %s left by an interrupted run", id, de->d_name);
			fio_rmtree(p);
			free(p);
		}
	}
	closedir(d);
	free(dir);
	return 0;
}

/* Remove a control file (retry or reason) from a job directory. */
static void spool_unlink_in(const spool *sp, enum spool_area a, const char *id, const char *name)
{
	char *dir = spool_path(sp, a, id), *p = fio_join(dir, name);

	if (unlink(p) == 0)
		fio_fsync_dir(dir);
	free(p);
	free(dir);
}

int spool_handoff(spool *sp, const char *id, spool *to)
{
	char *p = spool_path(sp, SPOOL_ACTIVE, id);
	int rc;

	spool_unlink_in(sp, SPOOL_ACTIVE, id, SPOOL_RETRY);
	rc = fio_fsync_dir(p);
	free(p);
	if (rc == -1)
		return -1;
	return spool_move(sp, SPOOL_ACTIVE, id, to, SPOOL_INCOMING);
}

/* Write a small control file into area/<id>. */
static int spool_write_ctl(const spool *sp, enum spool_area a, const char *id, const char *name,
			   const char *text)
{
	char *dir = spool_path(sp, a, id), *p = fio_join(dir, name);
	int rc = fio_write_atomic(p, text, strlen(text), 0600);
	int e = errno;

	free(p);
	free(dir);
	errno = e;
	return rc;
}

int spool_quarantine(spool *sp, enum spool_area from, const char *id, const char *reason)
{
	char *text = xasprintf("%s\n", reason);
	int rc = spool_write_ctl(sp, from, id, SPOOL_REASON, text);

	free(text);
	if (rc == -1)
		return -1;
	return spool_move(sp, from, id, sp, SPOOL_CORRUPT);
}

int spool_defer(spool *sp, const char *id, const char *reason, int *attempt)
{
	char *dir = spool_path(sp, SPOOL_ACTIVE, id), *p = fio_join(dir, SPOOL_RETRY);
	buf b;
	long n = 0, delay;
	char *text;
	int rc;

	buf_init(&b, 4096);
	if (fio_read_file(p, 4096, &b) == 0 && b.data != NULL) {
		char *end;

		strtoll(b.data, &end, 10);
		n = strtol(end, NULL, 10);
	}
	buf_free(&b);
	free(p);
	free(dir);
	n++;
	/* 30 s, 1 min, 2 min ... capped at one hour */
	delay = n >= 8 ? 3600 : 30L << (n - 1);
	if (delay > 3600)
		delay = 3600;
	text = xasprintf("%lld %ld %s\n", (long long)(time(NULL) + delay), n, reason);
	rc = spool_write_ctl(sp, SPOOL_ACTIVE, id, SPOOL_RETRY, text);
	free(text);
	if (attempt != NULL)
		*attempt = (int)n;
	if (rc == -1)
		return -1;
	return spool_move(sp, SPOOL_ACTIVE, id, sp, SPOOL_INCOMING);
}

int spool_retry_now(spool *sp, const char *id)
{
	char *dir = spool_path(sp, SPOOL_INCOMING, id), *p = fio_join(dir, SPOOL_RETRY);
	buf b;
	char *rest = NULL, *text;
	long attempt = 0;
	int rc = -1;

	buf_init(&b, 4096);
	if (spool_entry_ok(sp, SPOOL_INCOMING, id) == -1 || fio_read_file(p, 4096, &b) == -1 ||
	    b.data == NULL)
		goto out;
	strtoll(b.data, &rest, 10);
	attempt = strtol(rest, &rest, 10);
	while (*rest == ' ')
		rest++;
	text = xasprintf("%lld %ld %s", (long long)time(NULL), attempt, rest);
	rc = fio_write_atomic(p, text, strlen(text), 0600);
	free(text);
	/* a new timestamp on the job directory wakes a stage waiting on inotify */
	if (rc == 0 && utimensat(AT_FDCWD, dir, NULL, 0) == -1)
		rc = -1;
out:
	buf_free(&b);
	free(p);
	free(dir);
	return rc;
}

int spool_finish(spool *sp, const char *id, const char *dest)
{
	char *p = spool_path(sp, SPOOL_ACTIVE, id);
	int rc;

	spool_unlink_in(sp, SPOOL_ACTIVE, id, SPOOL_RETRY);
	rc = fio_rename(p, dest);
	free(p);
	return rc;
}

int spool_requeue(spool *sp, const char *id)
{
	if (spool_entry_ok(sp, SPOOL_CORRUPT, id) == -1)
		return -1;
	spool_unlink_in(sp, SPOOL_CORRUPT, id, SPOOL_REASON);
	spool_unlink_in(sp, SPOOL_CORRUPT, id, SPOOL_RETRY);
	return spool_move(sp, SPOOL_CORRUPT, id, sp, SPOOL_INCOMING);
}

int spool_reason(const spool *sp, const char *id, char *out, size_t outlen)
{
	char *dir = spool_path(sp, SPOOL_CORRUPT, id), *p = fio_join(dir, SPOOL_REASON);
	buf b;
	int rc = -1;

	buf_init(&b, 8192);
	if (fio_read_file(p, 8192, &b) == 0 && b.data != NULL) {
		while (b.len > 0 && b.data[b.len - 1] == '\n')
			b.data[--b.len] = '\0';
		snprintf(out, outlen, "%s", b.data);
		rc = 0;
	}
	buf_free(&b);
	free(p);
	free(dir);
	return rc;
}

int spool_find(const char *spool_root, const char *archive_dir, const char *id, char *where,
	       size_t wherelen)
{
	static const enum spool_area areas[] = {SPOOL_INCOMING, SPOOL_ACTIVE, SPOOL_CORRUPT};
	DIR *d;
	struct dirent *de;
	char *p;
	int found = 0;
	size_t i;

	if (!ident_job_valid(id))
		log_panic("spool_find: invalid job id");
	p = fio_join(archive_dir, id);
	if (fio_exists(p) == 1) {
		snprintf(where, wherelen, "archive");
		found = 1;
	}
	free(p);
	if (found || (d = opendir(spool_root)) == NULL)
		return found;
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		for (i = 0; i < sizeof(areas) / sizeof(areas[0]) && !found; i++) {
			p = xasprintf("%s/%s/%s/%s", spool_root, de->d_name,
				      spool_area_names[areas[i]], id);
			if (fio_exists(p) == 1) {
				snprintf(where, wherelen, "%s/%s", de->d_name,
					 spool_area_names[areas[i]]);
				found = 1;
			}
			free(p);
		}
	}
	closedir(d);
	return found;
}

int spool_wait(spool *sp, int timeout_ms)
{
	struct pollfd pfd;
	char evbuf[4096];
	int r;

	if (sp->ino_fd == -1) {
		sp->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (sp->ino_fd == -1 ||
		    inotify_add_watch(sp->ino_fd, sp->dirs[SPOOL_INCOMING],
				      IN_MOVED_TO | IN_CREATE | IN_ATTRIB) == -1) {
			/* the timer rescan still guarantees progress */
			log_warn("spool %s: inotify unavailable, polling only", sp->stage);
			if (sp->ino_fd != -1)
				close(sp->ino_fd);
			sp->ino_fd = -1;
			poll(NULL, 0, timeout_ms);
			return 0;
		}
	}
	pfd.fd = sp->ino_fd;
	pfd.events = POLLIN;
	r = poll(&pfd, 1, timeout_ms);
	if (r > 0) {
		while (read(sp->ino_fd, evbuf, sizeof(evbuf)) > 0)
			;
		return 1;
	}
	return 0;
}
