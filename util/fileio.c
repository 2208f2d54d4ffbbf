/*
 * fileio.c - durable writes, renames and bounded reads; see fileio.h.
 */
#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "xalloc.h"

int fio_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w;

		if (fault_point("write") == -1)
			return -1;
		w = write(fd, c, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int fio_fsync(int fd)
{
	if (fault_point("fsync") == -1)
		return -1;
	return fsync(fd);
}

int fio_fsync_file(const char *path)
{
	int fd, rc, e;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	rc = fio_fsync(fd);
	e = errno;
	if (close(fd) == -1 && rc == 0)
		return -1;
	errno = e;
	return rc;
}

int fio_fsync_dir(const char *dir)
{
	int fd, rc, e;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fio_fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

int fio_fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return fio_fsync_dir(".");
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return fio_fsync_dir(dir);
}

int fio_rename(const char *from, const char *to)
{
	if (fault_point("rename") == -1)
		return -1;
	if (rename(from, to) == -1)
		return -1;
	if (fio_fsync_parent(to) == -1)
		return -1;
	return fio_fsync_parent(from);
}

/* Create path exclusively; a stale file of ours left by a crash is replaced once. */
static int fio_create(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd == -1 && errno == EEXIST) {
		if (unlink(path) == -1)
			return -1;
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	}
	return fd;
}

int fio_write_atomic(const char *path, const void *data, size_t n, mode_t mode)
{
	char *tmp = xasprintf("%s.tmp", path);
	int fd = -1, rc = -1, e;

	if ((fd = fio_create(tmp, mode)) == -1)
		goto out;
	if (fio_write_all(fd, data, n) == -1 || fio_fsync(fd) == -1)
		goto out;
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (fault_point("rename") == -1 || rename(tmp, path) == -1)
		goto out;
	rc = fio_fsync_parent(path);
out:
	e = errno;
	if (fd != -1)
		close(fd);
	if (rc == -1)
		unlink(tmp);
	free(tmp);
	errno = e;
	return rc;
}

int fio_copy_file(const char *from, const char *to, mode_t mode)
{
	char *tmp = xasprintf("%s.tmp", to);
	char blk[65536];
	int in = -1, out = -1, rc = -1, e;
	ssize_t r;

	if ((in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		goto out;
	if ((out = fio_create(tmp, mode)) == -1)
		goto out;
	while ((r = read(in, blk, sizeof(blk))) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (fio_write_all(out, blk, (size_t)r) == -1)
			goto out;
	}
	if (fio_fsync(out) == -1)
		goto out;
	if (close(out) == -1) {
		out = -1;
		goto out;
	}
	out = -1;
	if (link(tmp, to) == -1) /* never replaces an existing target */
		goto out;
	unlink(tmp);
	rc = fio_fsync_parent(to);
out:
	e = errno;
	if (in != -1)
		close(in);
	if (out != -1)
		close(out);
	if (rc == -1)
		unlink(tmp);
	free(tmp);
	errno = e;
	return rc;
}

int fio_read_file(const char *path, size_t max, buf *out)
{
	char blk[65536];
	int fd, e;
	ssize_t r;
	size_t start = out->len;
	size_t saved_max = out->max;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	if (out->max - start > max)
		out->max = start + max;
	for (;;) {
		r = read(fd, blk, sizeof(blk));
		if (r == 0)
			break;
		if (r == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (buf_add(out, blk, (size_t)r) == -1)
			goto fail;
	}
	out->max = saved_max;
	close(fd);
	return 0;
fail:
	e = errno;
	out->max = saved_max;
	close(fd);
	errno = e;
	return -1;
}

int fio_private(const char *path)
{
	struct stat st;
	int fd, rc = 0, e;

	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 ||
	    (S_ISREG(st.st_mode) && (st.st_mode & 077) != 0 && fchmod(fd, st.st_mode & 0700) == -1))
		rc = -1;
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

int fio_mkdirs(const char *path, mode_t mode)
{
	char p[PATH_MAX];
	char *s;

	if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(p, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int fio_rmtree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char *sub;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		sub = fio_join(path, de->d_name);
		if (fio_rmtree(sub) == -1)
			rc = -1;
		free(sub);
	}
	closedir(d);
	if (rc == 0 && rmdir(path) == -1)
		rc = -1;
	return rc;
}

int fio_exists(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

char *fio_join(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}
