/*
 * export_watch.c - work on a share in a child process with a deadline; see
 * export_watch.h.
 *
 * Protocol on the two pipes: the child sends 'Q' <question> and reads one answer
 * byte, or 'R' <32-bit length> <bytes> once with its result, then exits.
 */
#include "export_watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct export_watch {
	int rfd, wfd; /* in the child: answers in, messages out */
};

#define WATCH_EX_ORPHAN 70 /* the parent died before the child started */

static pid_t watch_stuck[EXPORT_WATCH_MAX_STUCK];

/* The number of a /proc/self/fd entry, or -1 ("." and ".." included). */
static int export_watch_fd_name(const char *name)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(name, &end, 10);
	if (errno != 0 || end == name || *end != '\0' || v < 0 || v > INT_MAX)
		return -1;
	return (int)v;
}

/* A pipe whose ends are closed on exec. 0 or -1. */
static int watch_pipe(int fds[2])
{
	if (pipe(fds) == -1)
		return -1;
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	return 0;
}

void export_watch_close_fds(int keep1, int keep2)
{
	int fds[1024], n = 0, i, fd;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (d == NULL) { /* no /proc: the usual range */
		for (fd = 3; fd < 1024; fd++)
			if (fd != keep1 && fd != keep2)
				close(fd);
		return;
	}
	/* only the open ones (a loop to _SC_OPEN_MAX costs a million calls) */
	while ((de = readdir(d)) != NULL && n < (int)(sizeof(fds) / sizeof(fds[0]))) {
		fd = export_watch_fd_name(de->d_name);
		if (fd >= 3 && fd != dirfd(d) && fd != keep1 && fd != keep2)
			fds[n++] = fd;
	}
	closedir(d);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

void export_watch_close_path(const char *path)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char link[64], target[4096], real[PATH_MAX];
	ssize_t n;

	if (d == NULL)
		return;
	if (realpath(path, real) != NULL) /* readlink gives the resolved path */
		path = real;
	while ((de = readdir(d)) != NULL) {
		int fd = export_watch_fd_name(de->d_name);

		if (fd < 3 || fd == dirfd(d))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		if ((n = readlink(link, target, sizeof(target) - 1)) <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, path) == 0)
			close(fd);
	}
	closedir(d);
}

/* Milliseconds on the monotonic clock. */
static long long watch_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read exactly n bytes before deadline: 1 done, 0 end of file, -1 timeout or error. */
static int watch_read(int fd, void *p, size_t n, long long deadline)
{
	char *c = p;

	while (n > 0) {
		struct pollfd pfd = {fd, POLLIN, 0};
		long long left = deadline - watch_now_ms();
		ssize_t r;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r == -1 && errno != EINTR)
			return -1;
		if (r <= 0)
			continue;
		r = read(fd, c, n);
		if (r == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		if (r == 0)
			return 0;
		c += r;
		n -= (size_t)r;
	}
	return 1;
}

/* Write all n bytes (the pipes block; the other side is reading). 0 or -1. */
static int watch_write(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

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

/* Remember a killed child that has not exited yet. */
static void watch_remember(pid_t pid)
{
	int i;

	for (i = 0; i < EXPORT_WATCH_MAX_STUCK; i++)
		if (watch_stuck[i] == 0) {
			watch_stuck[i] = pid;
			return;
		}
	/* all slots taken (cannot happen: no child starts then); init reaps it */
}

int export_watch_reap(void)
{
	int i, n = 0, st;
	pid_t r;

	for (i = 0; i < EXPORT_WATCH_MAX_STUCK; i++) {
		if (watch_stuck[i] == 0)
			continue;
		if ((r = waitpid(watch_stuck[i], &st, WNOHANG)) == watch_stuck[i] ||
		    (r == -1 && errno == ECHILD)) {
			log_info("the process stopped on a share (pid %ld) has ended",
				 (long)watch_stuck[i]);
			watch_stuck[i] = 0;
		} else {
			n++;
		}
	}
	return n;
}

/* Wait for pid to exit until deadline (ms): 1 reaped (*status set), 0 not. */
static int watch_wait(pid_t pid, long long deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 1;
		if (r == -1 && errno != EINTR)
			return 0;
		if (watch_now_ms() >= deadline)
			return 0;
		poll(NULL, 0, 10);
	}
}

/* An injected crash in the child (MAILROOM_FAULT, status 99) is a crash of the stage. */
static void watch_fault(int status)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 99 && getenv("MAILROOM_FAULT") != NULL) {
		fflush(NULL);
		_exit(99);
	}
}

enum export_watch_result export_watch_run(const struct export_watch_ops *ops, unsigned seconds,
					  void *result, size_t reslen, int *status)
{
	struct export_watch w;
	int c2p[2] = {-1, -1}, p2c[2] = {-1, -1}, st = -1, e;
	enum export_watch_result res = EXPORT_WATCH_DIED;
	long long deadline;
	pid_t parent = getpid(), pid;

	*status = -1;
	if (export_watch_reap() >= EXPORT_WATCH_MAX_STUCK)
		return EXPORT_WATCH_BUSY;
	if (watch_pipe(c2p) == -1 || watch_pipe(p2c) == -1)
		goto fork_failed;
	fflush(NULL);
	if ((pid = fork()) == -1)
		goto fork_failed;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a killed stage takes its child along */
		if (getppid() != parent)
			_exit(WATCH_EX_ORPHAN);
		close(c2p[0]);
		close(p2c[1]);
		/* a child that hangs on a share must not keep the stage's lock open
		 * for a restarted stage */
		if (ops->close_all)
			export_watch_close_fds(p2c[0], c2p[1]);
		else if (ops->close_path != NULL)
			export_watch_close_path(ops->close_path);
		w.rfd = p2c[0];
		w.wfd = c2p[1];
		_exit(ops->child(&w, ops->arg));
	}
	close(c2p[1]);
	close(p2c[0]);
	c2p[1] = p2c[0] = -1;
	deadline = watch_now_ms() + (long long)seconds * 1000;
	for (;;) {
		unsigned char type, q, a;
		uint32_t len;
		int r = watch_read(c2p[0], &type, 1, deadline);

		if (r == -1) {
			res = EXPORT_WATCH_TIMEOUT;
			break;
		}
		if (r == 0) {
			res = EXPORT_WATCH_DIED;
			break;
		}
		if (type == 'Q') {
			if ((r = watch_read(c2p[0], &q, 1, deadline)) != 1) {
				res = r == -1 ? EXPORT_WATCH_TIMEOUT : EXPORT_WATCH_DIED;
				break;
			}
			a = (unsigned char)(ops->answer != NULL ? ops->answer(ops->arg, q) : 0);
			if (watch_write(p2c[1], &a, 1) == -1) {
				res = EXPORT_WATCH_DIED;
				break;
			}
			continue;
		}
		if (type != 'R' || (r = watch_read(c2p[0], &len, sizeof(len), deadline)) != 1 ||
		    len != reslen || (r = watch_read(c2p[0], result, reslen, deadline)) != 1) {
			res = r == -1 ? EXPORT_WATCH_TIMEOUT : EXPORT_WATCH_DIED;
			break;
		}
		res = EXPORT_WATCH_DONE;
		break;
	}
	close(c2p[0]);
	close(p2c[1]);
	if (res == EXPORT_WATCH_TIMEOUT) {
		kill(pid, SIGKILL);
		if (!watch_wait(pid, watch_now_ms() + 200, &st)) {
			log_warnx(
			    "the process working on the share (pid %ld) hangs in the kernel (a "
			    "share that does not answer); it ends when the share lets it go",
			    (long)pid);
			watch_remember(pid);
			return res;
		}
		*status = st;
		return res;
	}
	/* the child has sent its result or closed its pipe: it is on its way out */
	if (!watch_wait(pid, watch_now_ms() + 5000, &st)) {
		kill(pid, SIGKILL);
		if (!watch_wait(pid, watch_now_ms() + 200, &st)) {
			watch_remember(pid);
			return res;
		}
	}
	*status = st;
	watch_fault(st);
	return res;
fork_failed:
	e = errno;
	if (c2p[0] != -1)
		close(c2p[0]);
	if (c2p[1] != -1)
		close(c2p[1]);
	if (p2c[0] != -1)
		close(p2c[0]);
	if (p2c[1] != -1)
		close(p2c[1]);
	errno = e;
	return EXPORT_WATCH_FORK;
}

int export_watch_ask(export_watch *w, int question)
{
	unsigned char m[2] = {'Q', (unsigned char)question}, a;
	ssize_t r;

	if (watch_write(w->wfd, m, sizeof(m)) == -1)
		return -1;
	do
		r = read(w->rfd, &a, 1);
	while (r == -1 && errno == EINTR);
	return r == 1 ? a : -1;
}

int export_watch_reply(export_watch *w, const void *result, size_t len)
{
	unsigned char t = 'R';
	uint32_t l = (uint32_t)len;

	if (watch_write(w->wfd, &t, 1) == -1 || watch_write(w->wfd, &l, sizeof(l)) == -1)
		return -1;
	return watch_write(w->wfd, result, len);
}
