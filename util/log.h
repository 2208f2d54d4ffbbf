/*
 * log.h - one logging module for every mailroom program.
 *
 * Lines go to stderr as "program: level: message". Every line about a letter starts
 * with its job id ("JOB: ..."), so one grep follows a letter through every stage.
 * Never log document content, OCR text or a PIN above debug level.
 */
#ifndef MAILROOM_LOG_H
#define MAILROOM_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* Set the program name shown on each line (not copied: pass a static string). */
void log_init(const char *progname);
/* Only lines at or above lvl are printed (default info; MAILROOM_DEBUG=1 gives debug). */
/* The program name given to log_init. */
const char *log_progname(void);
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The plain variants print the message; log_warn/log_error append ": strerror(errno)". */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print and exit with status (a sysexits code). */
void log_fatalx(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
/* Interface misuse: print and abort with a core. */
void log_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
