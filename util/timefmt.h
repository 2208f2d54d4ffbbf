/*
 * timefmt.h - timestamps as text: ISO 8601 UTC with seconds ("2026-11-21T22:44:31Z").
 */
#ifndef MAILROOM_TIMEFMT_H
#define MAILROOM_TIMEFMT_H

#include <time.h>

#define TIMEFMT_ISO_MAX 32

/* Format t as ISO 8601 UTC into out[TIMEFMT_ISO_MAX]; returns out. */
char *timefmt_iso(time_t t, char out[TIMEFMT_ISO_MAX]);
/* The current time, formatted. */
char *timefmt_now(char out[TIMEFMT_ISO_MAX]);
/* Parse an ISO 8601 UTC timestamp as written by timefmt_iso; -1 on error. */
time_t timefmt_parse(const char *s);

#endif
