/*
 * log.c - stderr logging with levels; see log.h.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *log_prog = "mailroom";
static enum log_level log_level_min = LOG_LVL_INFO;

/* Remember the program name and pick up MAILROOM_DEBUG. */
void log_init(const char *progname)
{
	const char *d = getenv("MAILROOM_DEBUG");

	log_prog = progname;
	if (d != NULL && *d != '\0' && strcmp(d, "0") != 0)
		log_level_min = LOG_LVL_DEBUG;
}

const char *log_progname(void)
{
	return log_prog;
}

void log_set_level(enum log_level lvl)
{
	log_level_min = lvl;
}

enum log_level log_get_level(void)
{
	return log_level_min;
}

/* Format one line; err >= 0 appends strerror(err). */
static void log_vemit(enum log_level lvl, const char *tag, int err, const char *fmt, va_list ap)
{
	char msg[2048];

	if (lvl < log_level_min)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err >= 0)
		fprintf(stderr, "%s: %s: %s: %s\n", log_prog, tag, msg, strerror(err));
	else
		fprintf(stderr, "%s: %s: %s\n", log_prog, tag, msg);
	fflush(stderr);
}

#define LOG_BODY(lvl, tag, err)                                                         \
	do {                                                                            \
		va_list ap;                                                             \
		va_start(ap, fmt);                                                      \
		log_vemit(lvl, tag, err, fmt, ap);                                      \
		va_end(ap);                                                             \
	} while (0)

void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LVL_DEBUG, "debug", -1); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_LVL_INFO, "info", -1); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, "warning", -1); }
void log_errorx(const char *fmt, ...) { LOG_BODY(LOG_LVL_ERROR, "error", -1); }

void log_warn(const char *fmt, ...)
{
	int e = errno;

	LOG_BODY(LOG_LVL_WARN, "warning", e);
	errno = e;
}

void log_error(const char *fmt, ...)
{
	int e = errno;

	LOG_BODY(LOG_LVL_ERROR, "error", e);
	errno = e;
}

void log_fatalx(int status, const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, "fatal", -1);
	exit(status);
}

void log_panic(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, "panic", -1);
	abort();
}
