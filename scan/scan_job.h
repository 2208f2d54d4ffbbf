/*
 * scan_job.h - building a letter's record in mailroom-scan: the job, its capture
 * section, the journal event and the submission to classify (shared by the file
 * import and the SANE batch engine).
 */
#ifndef MAILROOM_SCAN_JOB_H
#define MAILROOM_SCAN_JOB_H

#include <json-c/json.h>

#include "job.h"
#include "journal.h"
#include "settings.h"
#include "spool.h"

#include "scan_tiff.h"

#define SCAN_SOFTWARE "mailroom-scan " MAILROOM_VERSION
#define SCAN_TIFF_NAME "scan.tiff"
#define SCAN_TIFF_MAX_ALLOC (256L << 20) /* libtiff single allocation limit */

/* What every part of a run needs: configuration, journal, spools, operator. */
struct scan_env {
	const settings *set;
	journal *jr;
	spool *scan, *classify;
	const char *operator_name;
};

/* A new record for a letter in dir with its uuid. */
job *scan_job_new(const char *id, const char *dir);
/* The pages of t as the job.json capture.pages array (a new array). */
json_object *scan_job_pages(const scan_tiff *t);
/* Fill the capture section (device, settings and pages are taken over; pages may be
 * NULL for none). */
void scan_job_capture(const struct scan_env *env, job *j, const char *started, json_object *device,
		      json_object *sets, json_object *pages);
/* Append one journal event for job id; failures are logged (the spool is the truth). */
void scan_job_journal(const struct scan_env *env, const char *id, const char *action,
		      const char *outcome, const char *state, const char *location,
		      const char *detail, const char *reason);
/* Mark the scan stage done, write the record and submit tmp/<id> to classify. 0 or -1. */
int scan_job_submit(const struct scan_env *env, job *j);

#endif
