/*
 * timefmt.c - ISO 8601 UTC timestamps; see timefmt.h.
 */
#include "timefmt.h"

#include <stdio.h>
#include <string.h>

char *timefmt_iso(time_t t, char out[TIMEFMT_ISO_MAX])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, TIMEFMT_ISO_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

char *timefmt_now(char out[TIMEFMT_ISO_MAX])
{
	return timefmt_iso(time(NULL), out);
}

time_t timefmt_parse(const char *s)
{
	struct tm tm;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || s[n] != '\0')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}
