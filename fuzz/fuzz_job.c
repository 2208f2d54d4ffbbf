/*
 * fuzz_job.c - libFuzzer target: job records (common/job.c). Every stage reads
 * job.json of the letters it claims with job_read (end marker, format, id, the
 * digests of the payload files); the bytes become job.json in a scratch job
 * directory and job_read checks them, then the getters the stages use run on
 * what it accepted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fuzz_util.h"
#include "job.h"

#define FUZZ_JOB_ID "20260101T000000Z-fuzz0001"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[512];
	char err[512], name[600];
	job *j;

	if (dir[0] == '\0') {
		fuzz_quiet();
		snprintf(dir, sizeof(dir), "%s/" FUZZ_JOB_ID, fuzz_dir());
		if (mkdir(dir, 0700) == -1)
			abort();
		/* a payload file the seeds record, so the digest check runs */
		snprintf(name, sizeof(name), FUZZ_JOB_ID "/ocr.txt");
		fuzz_write(name, (const uint8_t *)"fuzz\n", 5);
	}
	snprintf(name, sizeof(name), FUZZ_JOB_ID "/" JOB_RECORD);
	fuzz_write(name, data, size);
	if ((j = job_read(dir, FUZZ_JOB_ID, err, sizeof(err))) == NULL)
		return 0;
	(void)job_get_str(j, "source.kind");
	(void)job_get_str(j, "classify.type");
	(void)job_get_str(j, "a.b.c.d");
	(void)job_stage_done(j, "scan");
	(void)job_has_file(j, "scan.tiff");
	(void)job_file_sha256(j, "ocr.txt");
	job_free(j);
	return 0;
}
