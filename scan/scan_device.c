/*
 * scan_device.c - the device process and its message pipe; see scan_device.h.
 */
#include "scan_device.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "xalloc.h"

#define SCAN_DEVICE_CHUNK (64 * 1024)	  /* DATA bytes per message */
#define SCAN_DEVICE_MAX_MSG (1024 * 1024) /* any payload */
#define SCAN_DEVICE_BUF (2 * SCAN_DEVICE_MAX_MSG + 64)

struct scan_device {
	struct scan_device_cfg cfg;
	pid_t pid;
	int fd;		    /* read end */
	int exited;	    /* reaped */
	int status;	    /* wait status once reaped */
	unsigned char *buf; /* received bytes not yet handed out */
	size_t pos, len;
	char text[1024]; /* messages made by the parent */
	char *big;	 /* the last OPENED / OPEN_FAILED text */
};

struct scan_device_hdr {
	uint32_t type, len;
};

const char *scan_device_call_name(enum scan_device_call c)
{
	switch (c) {
	case SCAN_DEV_CALL_START:
		return "start";
	case SCAN_DEV_CALL_PARAMS:
		return "parameters";
	case SCAN_DEV_CALL_READ:
		return "reading";
	}
	return "?";
}

int scan_device_sheetopt_parse(const char *text, struct scan_device_sheetopt *o, char *err,
			       size_t errlen)
{
	const char *p = text;
	char *end;
	long n;

	memset(o, 0, sizeof(*o));
	errno = 0;
	n = strtol(p, &end, 10);
	if (errno || end == p || n < 1 || n > 1000000)
		goto bad;
	o->sheet = n;
	p = end;
	if (*p == 'f' || *p == 'b') {
		o->side = *p == 'f' ? 1 : 2;
		p++;
	}
	o->attempt = 0;
	if (*p == '@') {
		p++;
		n = strtol(p, &end, 10);
		if (end == p || n < 1 || n > 1000)
			goto bad;
		o->attempt = (int)n;
		p = end;
	}
	if (*p != ':' || strchr(p + 1, '=') == NULL || p[1] == '=')
		goto bad;
	o->option = p + 1;
	return 0;
bad:
	snprintf(err, errlen,
		 "--sheet-option '%s': expected SHEET[f|b][@ATTEMPT]:name=value, e.g. "
		 "4:test-picture=Solid white or 7@1:read-return-value=SANE_STATUS_JAMMED",
		 text);
	return -1;
}

/* ---- the child ---- */

/* Send one message; the child exits when the parent is gone. */
static void scan_device_send(int fd, uint32_t type, const void *p, size_t n)
{
	struct scan_device_hdr h;

	h.type = type;
	h.len = (uint32_t)n;
	if (fio_write_all(fd, &h, sizeof(h)) == -1 || (n > 0 && fio_write_all(fd, p, n) == -1))
		_exit(3);
}

/* Send a STATUS message. */
static void scan_device_send_status(int fd, SANE_Status st, enum scan_device_call call,
				    const char *text)
{
	unsigned char b[1024];
	int32_t v[2] = {(int32_t)st, (int32_t)call};
	size_t n = strlen(text);

	if (n > sizeof(b) - sizeof(v) - 1)
		n = sizeof(b) - sizeof(v) - 1;
	memcpy(b, v, sizeof(v));
	memcpy(b + sizeof(v), text, n);
	scan_device_send(fd, SCAN_DEV_STATUS, b, sizeof(v) + n);
}

/* Options the sheet script changed, with the value to put back. */
struct scan_device_saved {
	char name[128];
	char value[256];
	int active; /* changed for the current frame */
};

/* Apply the sheet options of (sheet, side, attempt); put back the others. */
static void scan_device_script(scan_sane *s, const struct scan_device_cfg *cfg,
			       struct scan_device_saved *saved, size_t *nsaved, long sheet,
			       int side, int attempt)
{
	char err[512], nv[512];
	size_t i, k;

	for (k = 0; k < *nsaved; k++)
		saved[k].active = 0;
	for (i = 0; i < cfg->n_sheetopts; i++) {
		const struct scan_device_sheetopt *o = &cfg->sheetopts[i];
		const char *eq = strchr(o->option, '=');
		char name[128];

		if (o->sheet != sheet || (o->attempt != 0 && o->attempt != attempt) ||
		    (o->side != 0 && o->side != side + 1))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(eq - o->option), o->option);
		for (k = 0; k < *nsaved && strcmp(saved[k].name, name) != 0; k++)
			;
		if (k == *nsaved) {
			if (k == SCAN_DEVICE_MAX_SHEETOPTS)
				continue;
			snprintf(saved[k].name, sizeof(saved[k].name), "%s", name);
			scan_sane_get_option(s, name, saved[k].value, sizeof(saved[k].value));
			(*nsaved)++;
		}
		saved[k].active = 1;
		if (scan_sane_set_option(s, o->option, err, sizeof(err)) == -1)
			log_warnx("sheet %ld: %s", sheet, err);
		else
			log_debug("sheet %ld%c: %s", sheet, side ? 'b' : 'f', o->option);
	}
	/* put back in the reverse order of setting: an option set first may enable
	 * the ones set after it (read-delay before read-delay-duration) */
	for (k = *nsaved; k-- > 0;) {
		if (saved[k].active || saved[k].value[0] == '\0')
			continue;
		snprintf(nv, sizeof(nv), "%s=%s", saved[k].name, saved[k].value);
		if (scan_sane_set_option(s, nv, err, sizeof(err)) == -1)
			log_warnx("sheet %ld: cannot put back %s: %s", sheet, nv, err);
		saved[k].value[0] = '\0'; /* taken again from the device when next changed */
	}
	/* drop entries that were put back, so their value is read afresh next time */
	for (k = 0, i = 0; k < *nsaved; k++)
		if (saved[k].active)
			saved[i++] = saved[k];
	*nsaved = i;
}

/* 1 if the backend's feeder refills itself when started again after NO_DOCS: SANE's
 * test backend hands out ten more sheets at once (an operator who never stops
 * reloading), so asking again would never end its stack. */
static int scan_device_refills(const char *name)
{
	return strcmp(name, "test") == 0 || strncmp(name, "test:", 5) == 0;
}

/* The device process: open, then frames until a status or the limit. Never returns. */
static void scan_device_child(const struct scan_device_cfg *cfg, int fd)
{
	static struct scan_device_saved saved[SCAN_DEVICE_MAX_SHEETOPTS];
	unsigned char *chunk = xmalloc(SCAN_DEVICE_CHUNK);
	size_t nsaved = 0;
	char err[1024];
	scan_sane *s;
	long frames = 0, limit, sheet = cfg->first_sheet;
	int side = 0, duplex;

	if ((s = scan_sane_open(cfg->rq, err, sizeof(err))) == NULL) {
		scan_device_send(fd, SCAN_DEV_OPEN_FAILED, err, strlen(err));
		_exit(0);
	}
	{
		json_object *o = json_object_new_object(), *dev = json_object_new_object();
		const struct scan_sane_device *d = scan_sane_device(s);
		const char *txt;

		json_object_object_add(dev, "name", json_object_new_string(d->name));
		json_object_object_add(dev, "vendor", json_object_new_string(d->vendor));
		json_object_object_add(dev, "model", json_object_new_string(d->model));
		json_object_object_add(dev, "type", json_object_new_string(d->type));
		json_object_object_add(o, "device", dev);
		json_object_object_add(o, "settings", json_object_get(scan_sane_settings(s)));
		json_object_object_add(o, "feeder", json_object_new_boolean(scan_sane_feeder(s)));
		json_object_object_add(o, "duplex", json_object_new_boolean(scan_sane_duplex(s)));
		json_object_object_add(o, "xres", json_object_new_double(scan_sane_xres(s)));
		json_object_object_add(o, "yres", json_object_new_double(scan_sane_yres(s)));
		txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		if (strlen(txt) > SCAN_DEVICE_MAX_MSG / 2) {
			snprintf(err, sizeof(err), "scanner %s: its settings are too large",
				 cfg->rq->device);
			scan_device_send(fd, SCAN_DEV_OPEN_FAILED, err, strlen(err));
			_exit(0);
		}
		scan_device_send(fd, SCAN_DEV_OPENED, txt, strlen(txt));
		json_object_put(o);
	}
	duplex = scan_sane_duplex(s) || cfg->duplex_frames;
	if (cfg->pages_left > 0)
		limit = cfg->pages_left;
	else
		limit = scan_sane_feeder(s) ? cfg->max_left : 1;
	if (limit > cfg->max_left)
		limit = cfg->max_left;
	for (;;) {
		SANE_Parameters p;
		SANE_Status st;
		const char *during;
		int32_t v[6];
		int n;

		if (frames >= limit) {
			scan_device_send(fd, SCAN_DEV_DONE, NULL, 0);
			break;
		}
		if (cfg->n_sheetopts > 0)
			scan_device_script(s, cfg, saved, &nsaved, sheet, side,
					   sheet == cfg->first_sheet ? cfg->attempt : 1);
		st = scan_sane_start(s, &p, &during);
		if (st == SANE_STATUS_NO_DOCS && frames > 0 && strcmp(during, "start") == 0 &&
		    !scan_device_refills(scan_sane_device(s)->name))
			/* an empty feeder after pages: ask once more. Some backends
			 * (escl) report a jam or an open cover as NO_DOCS first and
			 * only the next start as JAMMED / COVER_OPEN; an empty feeder
			 * says NO_DOCS again, a transient error lets the stack go on.
			 * XXX a backend set to wait for paper in sane_start (an
			 * adf-wait option) waits here until timeout_seconds */
			st = scan_sane_start(s, &p, &during);
		if (st != SANE_STATUS_GOOD) {
			scan_device_send_status(fd, st,
						strcmp(during, "start") == 0 ? SCAN_DEV_CALL_START
									     : SCAN_DEV_CALL_PARAMS,
						sane_strstatus(st));
			break;
		}
		v[0] = (int32_t)p.format;
		v[1] = (int32_t)p.last_frame;
		v[2] = (int32_t)p.bytes_per_line;
		v[3] = (int32_t)p.pixels_per_line;
		v[4] = (int32_t)p.lines;
		v[5] = (int32_t)p.depth;
		scan_device_send(fd, SCAN_DEV_FRAME, v, sizeof(v));
		for (;;) {
			st = scan_sane_read(s, chunk, SCAN_DEVICE_CHUNK, &n);
			if (st == SANE_STATUS_EOF)
				break;
			if (st != SANE_STATUS_GOOD) {
				scan_device_send_status(fd, st, SCAN_DEV_CALL_READ,
							sane_strstatus(st));
				goto out;
			}
			if (n > 0 && n <= SCAN_DEVICE_CHUNK)
				scan_device_send(fd, SCAN_DEV_DATA, chunk, (size_t)n);
		}
		scan_device_send(fd, SCAN_DEV_FRAME_END, NULL, 0);
		frames++;
		if (duplex && side == 0) {
			side = 1;
		} else {
			side = 0;
			sheet++;
		}
	}
out:
	/* the parent has everything; a backend that hangs here is killed from outside */
	scan_sane_close(s);
	free(chunk);
	_exit(0);
}

/* ---- the parent ---- */

/* Monotonic time in seconds. */
static double scan_device_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

scan_device *scan_device_start(const struct scan_device_cfg *cfg, char *err, size_t errlen)
{
	scan_device *d;
	int p[2], devnull;
	pid_t parent = getpid(), pid;

	if (pipe(p) == -1 || fcntl(p[0], F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(p[1], F_SETFD, FD_CLOEXEC) == -1) {
		snprintf(err, errlen, "cannot start the device process: pipe: %s", strerror(errno));
		return NULL;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "cannot start the device process: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	if (pid == 0) {
		struct sigaction sa;

		close(p[0]);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(3);
		memset(&sa, 0, sizeof(sa));
		sigemptyset(&sa.sa_mask);
		sa.sa_handler = SIG_IGN;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGPIPE, &sa, NULL);
		sigaction(SIGUSR1, &sa, NULL);
		sigaction(SIGUSR2, &sa, NULL);
		sigaction(SIGTTOU, &sa, NULL);
		sigaction(SIGTTIN, &sa, NULL);
		sa.sa_handler = SIG_DFL;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGALRM, &sa, NULL);
		sigaction(SIGCHLD, &sa, NULL);
		if ((devnull = open("/dev/null", O_RDONLY)) != -1) {
			dup2(devnull, STDIN_FILENO);
			if (devnull != STDIN_FILENO)
				close(devnull);
		}
		dup2(STDERR_FILENO, STDOUT_FILENO); /* stdout carries --json events */
		scan_device_child(cfg, p[1]);
	}
	setpgid(pid, pid); /* also done by the child; whichever runs first */
	close(p[1]);
	d = xcalloc(1, sizeof(*d));
	d->cfg = *cfg;
	d->pid = pid;
	d->fd = p[0];
	d->buf = xmalloc(SCAN_DEVICE_BUF);
	log_debug("device process %ld started for %s (sheet %ld, attempt %d)", (long)pid,
		  cfg->rq->device, cfg->first_sheet, cfg->attempt);
	return d;
}

pid_t scan_device_pid(const scan_device *d)
{
	return d->exited ? 0 : d->pid;
}

/* Kill the child's process group and reap it. */
static void scan_device_kill(scan_device *d)
{
	if (d->exited)
		return;
	kill(-d->pid, SIGKILL);
	kill(d->pid, SIGKILL);
	while (waitpid(d->pid, &d->status, 0) == -1 && errno == EINTR)
		;
	d->exited = 1;
}

/* Reap the child within grace seconds: 1 exited, 0 still running. */
static int scan_device_reap(scan_device *d, double grace)
{
	double until = scan_device_now() + grace;
	pid_t r;

	while (!d->exited) {
		r = waitpid(d->pid, &d->status, WNOHANG);
		if (r == d->pid) {
			d->exited = 1;
			break;
		}
		if (r == -1 && errno != EINTR) {
			d->exited = 1;
			break;
		}
		if (scan_device_now() >= until)
			return 0;
		poll(NULL, 0, 10);
	}
	return 1;
}

/* How the child ended, into d->text. */
static void scan_device_how(scan_device *d, const char *what)
{
	if (WIFSIGNALED(d->status))
		snprintf(d->text, sizeof(d->text),
			 "%s: the device process was killed by signal %d (%s)", what,
			 WTERMSIG(d->status), strsignal(WTERMSIG(d->status)));
	else if (WIFEXITED(d->status))
		snprintf(d->text, sizeof(d->text), "%s: the device process exited with status %d",
			 what, WEXITSTATUS(d->status));
	else
		snprintf(d->text, sizeof(d->text), "%s", what);
}

/*
 * Make sure want bytes are buffered, waiting until deadline. 1 ok, 0 end of file,
 * -1 deadline passed, -2 stopped by the flag, -3 read error.
 */
static int scan_device_fill(scan_device *d, size_t want, double deadline)
{
	while (d->len - d->pos < want) {
		struct pollfd pfd = {.fd = d->fd, .events = POLLIN};
		double left = deadline - scan_device_now();
		ssize_t r;
		int pr;

		if (d->cfg.stop != NULL && *d->cfg.stop)
			return -2;
		if (left <= 0)
			return -1;
		pr = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (pr == -1) {
			if (errno == EINTR)
				continue;
			return -3;
		}
		if (pr == 0)
			continue;
		if (d->pos > 0 && d->pos == d->len) {
			d->pos = d->len = 0;
		} else if (d->pos > SCAN_DEVICE_BUF / 2) {
			memmove(d->buf, d->buf + d->pos, d->len - d->pos);
			d->len -= d->pos;
			d->pos = 0;
		}
		r = read(d->fd, d->buf + d->len, SCAN_DEVICE_BUF - d->len);
		if (r == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -3;
		}
		if (r == 0)
			return 0;
		d->len += (size_t)r;
	}
	return 1;
}

/* Handle a failed fill: fills m with HANG, DIED, BROKEN or STOPPED. */
static void scan_device_lost(scan_device *d, int r, struct scan_device_msg *m)
{
	m->data = (const unsigned char *)d->text;
	if (r == -2) {
		m->type = SCAN_DEV_STOPPED;
		snprintf(d->text, sizeof(d->text), "stopped");
	} else if (r == -1) {
		m->type = SCAN_DEV_HANG;
		scan_device_kill(d);
		snprintf(d->text, sizeof(d->text),
			 "scanner %s: no answer for %.1f seconds; the device process was killed",
			 d->cfg.rq->device, d->cfg.timeout);
	} else {
		m->type = SCAN_DEV_DIED;
		if (!scan_device_reap(d, d->cfg.cancel_grace))
			scan_device_kill(d);
		scan_device_how(d, r == 0 ? "the scanner connection ended without a status"
					  : "the scanner connection failed");
	}
	m->len = strlen(d->text);
}

void scan_device_next(scan_device *d, struct scan_device_msg *m)
{
	struct scan_device_hdr h;
	double deadline = scan_device_now() + d->cfg.timeout;
	unsigned char *p;
	int r;

	memset(m, 0, sizeof(*m));
	if ((r = scan_device_fill(d, sizeof(h), deadline)) != 1) {
		scan_device_lost(d, r, m);
		return;
	}
	memcpy(&h, d->buf + d->pos, sizeof(h));
	if (h.type < SCAN_DEV_OPENED || h.type > SCAN_DEV_DONE || h.len > SCAN_DEVICE_MAX_MSG ||
	    (h.type == SCAN_DEV_FRAME && h.len != 6 * sizeof(int32_t)) ||
	    (h.type == SCAN_DEV_STATUS && h.len < 2 * sizeof(int32_t)) ||
	    (h.type == SCAN_DEV_DATA && (h.len == 0 || h.len > SCAN_DEVICE_CHUNK))) {
		scan_device_kill(d);
		m->type = SCAN_DEV_BROKEN;
		snprintf(d->text, sizeof(d->text),
			 "scanner %s: the device process sent a malformed message (type %u, "
			 "%u bytes); it was killed",
			 d->cfg.rq->device, h.type, h.len);
		m->data = (const unsigned char *)d->text;
		m->len = strlen(d->text);
		return;
	}
	if ((r = scan_device_fill(d, sizeof(h) + h.len, deadline)) != 1) {
		scan_device_lost(d, r, m);
		return;
	}
	p = d->buf + d->pos + sizeof(h);
	d->pos += sizeof(h) + h.len;
	m->type = (enum scan_device_type)h.type;
	switch (m->type) {
	case SCAN_DEV_FRAME: {
		int32_t v[6];

		memcpy(v, p, sizeof(v));
		m->params.format = (SANE_Frame)v[0];
		m->params.last_frame = v[1];
		m->params.bytes_per_line = v[2];
		m->params.pixels_per_line = v[3];
		m->params.lines = v[4];
		m->params.depth = v[5];
		break;
	}
	case SCAN_DEV_DATA:
		m->data = p;
		m->len = h.len;
		break;
	case SCAN_DEV_STATUS: {
		int32_t v[2];
		size_t n = h.len - sizeof(v);

		memcpy(v, p, sizeof(v));
		m->status = (SANE_Status)v[0];
		m->call = (enum scan_device_call)v[1];
		if (n >= sizeof(d->text))
			n = sizeof(d->text) - 1;
		memcpy(d->text, p + sizeof(v), n);
		d->text[n] = '\0';
		m->data = (const unsigned char *)d->text;
		m->len = n;
		break;
	}
	case SCAN_DEV_OPENED:
	case SCAN_DEV_OPEN_FAILED: {
		/* text: copied with a terminating NUL (the buffer has room: see fill) */
		unsigned char save = p[h.len];

		(void)save;
		memmove(d->buf + d->pos - h.len - sizeof(h), p, h.len);
		p = d->buf + d->pos - h.len - sizeof(h);
		p[h.len] = '\0';
		m->data = p;
		m->len = h.len;
		break;
	}
	default:
		break;
	}
}

scan_device *scan_device_stop(scan_device *d, int now, int *killed)
{
	if (killed != NULL)
		*killed = 0;
	if (d == NULL)
		return NULL;
	if (!d->exited && !scan_device_reap(d, now ? 0 : d->cfg.cancel_grace)) {
		scan_device_kill(d);
		if (killed != NULL && !now)
			*killed = 1;
	}
	close(d->fd);
	free(d->buf);
	free(d->big);
	free(d);
	return NULL;
}
