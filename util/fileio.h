/*
 * fileio.h - durable file operations: write + fsync + rename, bounded reads.
 *
 * Every write, fsync and rename passes a fault_point() so crash tests can stop
 * the program at each one. Files are created O_CREAT|O_EXCL|O_NOFOLLOW.
 * All functions return 0 or -1 with errno set.
 */
#ifndef MAILROOM_FILEIO_H
#define MAILROOM_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/* write(2) until all n bytes are written. */
int fio_write_all(int fd, const void *p, size_t n);
/* fsync(2) with a fault point. */
int fio_fsync(int fd);
/* fsync a regular file by path (for files another library wrote). */
int fio_fsync_file(const char *path);
/* fsync a directory by path. */
int fio_fsync_dir(const char *dir);
/* fsync the directory that holds path. */
int fio_fsync_parent(const char *path);
/* rename(2) with a fault point, then fsync both parent directories. */
int fio_rename(const char *from, const char *to);
/* Write data to path atomically: path.tmp, fsync, close, rename, fsync dir. */
int fio_write_atomic(const char *path, const void *data, size_t n, mode_t mode);
/* Copy a file durably to a new path (to.tmp then rename); to must not exist. */
int fio_copy_file(const char *from, const char *to, mode_t mode);
/* Read a whole file into out (appended); E2BIG if it is larger than max. */
int fio_read_file(const char *path, size_t max, buf *out);
/* Make path a private file for a library that creates it itself (SQLite): create it
 * 0600 if absent (never through a symlink), take group and other rights away if
 * present. 0, or -1 with errno (ELOOP for a symlink). */
int fio_private(const char *path);
/* mkdir -p with mode for the directories it creates. */
int fio_mkdirs(const char *path, mode_t mode);
/* Remove a tree (files and directories, never following symlinks). */
int fio_rmtree(const char *path);
/* 1 if path exists (lstat), 0 if not, -1 on other errors. */
int fio_exists(const char *path);
/* Join dir and name into a new string (caller frees). */
char *fio_join(const char *dir, const char *name);

#endif
