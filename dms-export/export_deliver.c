/*
 * export_deliver.c - atomic, exactly-once delivery into an inbox folder; see
 * export_deliver.h.
 *
 * States a package can be found in after any crash, and what a new run does:
 *   final name exists, complete          -> an earlier run delivered it: record, finish
 *   final name exists, not ours/damaged  -> never overwritten: refuse (a person looks)
 *   .tmp exists, delivery not begun      -> stale leftover of ours: removed, rewritten
 *   .tmp exists, delivery begun          -> checked and linked (or rewritten if damaged)
 *   nothing there, delivery begun        -> delivered and since taken by the DMS
 *   nothing there, not begun             -> written now
 */
#include "export_deliver.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export_zip.h"
#include "fault.h"
#include "fileio.h"
#include "log.h"

static void edel_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Format a reason into err. */
static void edel_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Describe a write failure in an inbox folder in words an operator can act on. */
static void edel_io_reason(char *reason, size_t rlen, const char *dir, const char *what, int e)
{
	if (e == EROFS || e == EACCES || e == EPERM)
		edel_errf(reason, rlen,
			  "inbox %s is read-only (%s: %s): check the VIS share's mount and "
			  "permissions; will retry",
			  dir, what, strerror(e));
	else if (e == ENOSPC || e == EDQUOT)
		edel_errf(reason, rlen,
			  "inbox %s is full (%s: %s): free space on the VIS share; will retry", dir,
			  what, strerror(e));
	else
		edel_errf(reason, rlen, "inbox %s: %s: %s; will retry", dir, what, strerror(e));
}

/* Make sure the inbox folder exists (creating it if allowed). 0, or -1 with reason. */
static int edel_folder(const struct export_target *t, const char *dir, char *reason, size_t rlen)
{
	struct stat st;

	if (stat(t->inbox_root, &st) == -1) {
		if (errno != ENOENT || !t->create) {
			edel_errf(
			    reason, rlen,
			    "inbox root %s is missing (%s): mount the VIS share or create the "
			    "folder; will retry",
			    t->inbox_root, strerror(errno));
			return -1;
		}
	}
	if (stat(dir, &st) == -1) {
		if (errno == ENOENT && t->create) {
			if (fio_mkdirs(dir, 0700) == 0)
				return 0;
			edel_io_reason(reason, rlen, dir, "mkdir", errno);
			return -1;
		}
		edel_errf(
		    reason, rlen,
		    "inbox %s is missing (%s): mount the VIS share or create the folder; will "
		    "retry",
		    dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		edel_errf(reason, rlen, "inbox %s is not a folder: fix the VIS share; will retry",
			  dir);
		return -1;
	}
	return 0;
}

/* Check a file already under the final name: EXPORT_FOUND or EXPORT_REFUSE. */
static enum export_delivery edel_existing(const char *final, const struct xdomea_pkg *p,
					  char *reason, size_t rlen)
{
	struct stat st;
	char why[512];

	if (lstat(final, &st) == 0 && S_ISREG(st.st_mode) &&
	    export_zip_check(final, p, why, sizeof(why)) == 1)
		return EXPORT_FOUND;
	if (!S_ISREG(st.st_mode))
		snprintf(why, sizeof(why), "not a regular file");
	edel_errf(reason, rlen,
		  "%s exists in the inbox but is not a complete package of this letter (%s); it is "
		  "never overwritten: check it, move it away, then 'mailroom requeue' the letter",
		  final, why);
	return EXPORT_REFUSE;
}

/* Write the package into tmp: 0, or -1 with reason and *refuse for a build failure. */
static int edel_write_tmp(const struct export_target *t, const char *dir, const char *tmp,
			  const struct export_delivery_ops *ops, int *refuse, char *reason,
			  size_t rlen)
{
	char err[1024] = "";
	int fd, rc, e;

	*refuse = 0;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, t->mode)) == -1) {
		edel_io_reason(reason, rlen, dir, "create", errno);
		return -1;
	}
	rc = ops->write(fd, ops->arg, err, sizeof(err));
	e = errno;
	if (rc == EXPORT_ZIP_BUILD) {
		*refuse = 1;
		edel_errf(reason, rlen, "cannot build the package: %s", err);
		goto fail;
	}
	if (rc != 0) {
		edel_io_reason(reason, rlen, dir, "write", e);
		goto fail;
	}
	if (fio_fsync(fd) == -1) {
		e = errno;
		edel_io_reason(reason, rlen, dir, "fsync", e);
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		e = errno;
		edel_io_reason(reason, rlen, dir, "close", e);
		goto fail;
	}
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

enum export_delivery export_deliver(const struct export_target *t, const struct xdomea_pkg *p,
				    const struct export_delivery_ops *ops, char *path,
				    size_t pathlen, char sha256[DIGEST_SHA256_HEX], char *reason,
				    size_t rlen)
{
	char dir[PATH_MAX], tmp[PATH_MAX], why[512];
	enum export_delivery res;
	int have_tmp, refuse;

	sha256[0] = '\0';
	if (snprintf(dir, sizeof(dir), "%s/%s", t->inbox_root, t->folder) >= (int)sizeof(dir) ||
	    snprintf(path, pathlen, "%s/%s", dir, p->zip_name) >= (int)pathlen ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, p->zip_name) >= (int)sizeof(tmp)) {
		edel_errf(reason, rlen, "inbox path too long: %s", dir);
		return EXPORT_REFUSE;
	}
	if (edel_folder(t, dir, reason, rlen) == -1)
		return EXPORT_DEFER;
	if (fio_exists(path) == 1) {
		res = edel_existing(path, p, reason, rlen);
		goto done;
	}
	have_tmp = fio_exists(tmp) == 1;
	if (have_tmp && t->begun && export_zip_check(tmp, p, why, sizeof(why)) == 1) {
		log_info("%s: finishing the delivery begun by an earlier run", p->process_id);
		goto link;
	}
	if (!have_tmp && t->begun) {
		/* Linked and its tmp removed by an earlier run; the DMS has taken it since. */
		return EXPORT_TAKEN;
	}
	if (have_tmp) {
		log_info("%s: removing %s left by an interrupted run", p->process_id, tmp);
		if (unlink(tmp) == -1) {
			edel_io_reason(reason, rlen, dir, "unlink stale tmp", errno);
			return EXPORT_DEFER;
		}
	}
	if (edel_write_tmp(t, dir, tmp, ops, &refuse, reason, rlen) == -1)
		return refuse ? EXPORT_REFUSE : EXPORT_DEFER;
	if (ops->intent(ops->arg) == -1) {
		/* The tmp stays: a write that failed at its last step (the directory's
		 * fsync) may still have recorded "begun"; the next run then links this
		 * tmp, and without "begun" it removes it as stale. Removing it here made
		 * the next run take the package for one the DMS had taken: lost. */
		edel_errf(reason, rlen, "cannot record the delivery in job.json: %s; will retry",
			  strerror(errno));
		return EXPORT_DEFER;
	}
link:
	if (link(tmp, path) == -1) {
		if (errno == EEXIST) {
			res = edel_existing(path, p, reason, rlen);
			goto done;
		}
		/* The tmp stays: the next run links it (the job says the delivery began). */
		edel_io_reason(reason, rlen, dir, "link", errno);
		return EXPORT_DEFER;
	}
	if (fio_fsync_dir(dir) == -1) {
		edel_io_reason(reason, rlen, dir, "fsync", errno);
		return EXPORT_DEFER; /* the next run finds the package and records it */
	}
	if (unlink(tmp) == -1 || fio_fsync_dir(dir) == -1)
		log_warn("%s: cannot remove %s", p->process_id, tmp);
	fault_point("delivered"); /* crash tests: die right after the delivery */
	res = EXPORT_DELIVERED;
done:
	if (res == EXPORT_DELIVERED || res == EXPORT_FOUND) {
		/* A tmp beside a final package is a leftover of ours (crash after link). */
		if (unlink(tmp) == 0)
			fio_fsync_dir(dir);
		if (digest_sha256_file_hex(path, sha256, NULL) == -1) {
			edel_io_reason(reason, rlen, dir, "read back", errno);
			return EXPORT_DEFER;
		}
	}
	return res;
}
