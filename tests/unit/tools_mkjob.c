/*
 * tools_mkjob.c - test helper for the `mailroom` tool tests: builds real job
 * directories with the job API (job_new / job_add_file / job_write), and
 * appends real journal events (journal_record), so the integration script can
 * put letters into any spool area without running the other stages.
 *
 * SYNOPSIS
 *	tools_mkjob job DIR [--id ID] [--file NAME TEXT]... [--copy SRC NAME]...
 *	            [--set SECTION.KEY=VALUE]... [--num SECTION.KEY=NUMBER]...
 *	            [--stage STAGE]...
 *		creates DIR/<id>/ with the files and job.json; prints the id.
 *	tools_mkjob event JOURNAL JOB STAGE ACTION OUTCOME STATE LOCATION [REASON]
 *		appends one journal event.
 *
 * EXIT STATUS
 *	0 done; EX_USAGE bad arguments; EX_IOERR on write errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "fileio.h"
#include "ident.h"
#include "job.h"
#include "journal.h"
#include "log.h"
#include "xalloc.h"

/* Set section.key in the record to a string or a number. */
static int mk_set(job *j, const char *spec, int number)
{
	char sect[128], key[128];
	const char *dot = strchr(spec, '.'), *eq = strchr(spec, '=');

	if (dot == NULL || eq == NULL || eq < dot || (size_t)(dot - spec) >= sizeof(sect) ||
	    (size_t)(eq - dot - 1) >= sizeof(key))
		return -1;
	snprintf(sect, sizeof(sect), "%.*s", (int)(dot - spec), spec);
	snprintf(key, sizeof(key), "%.*s", (int)(eq - dot - 1), dot + 1);
	if (number && strchr(eq + 1, '.') == NULL)
		json_object_object_add(job_section(j, sect), key,
				       json_object_new_int64(strtoll(eq + 1, NULL, 10)));
	else if (number)
		json_object_object_add(job_section(j, sect), key,
				       json_object_new_double(strtod(eq + 1, NULL)));
	else
		job_set_str(j, sect, key, eq + 1);
	return 0;
}

/* `job` mode: build one job directory. */
static int mk_job(int argc, char **argv)
{
	char id[IDENT_JOB_MAX], uuid[IDENT_UUID_LEN], *dir;
	job *j;
	int i;

	if (argc < 1)
		return EX_USAGE;
	ident_job_new(id);
	for (i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--id") == 0)
			snprintf(id, sizeof(id), "%s", argv[i + 1]);
	if (!ident_job_valid(id))
		return EX_USAGE;
	dir = fio_join(argv[0], id);
	if (mkdir(dir, 0700) == -1) {
		perror(dir);
		return EX_IOERR;
	}
	j = job_new(id, dir);
	ident_uuid_v4(uuid);
	job_set_str(j, NULL, "uuid", uuid);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--id") == 0 && i + 1 < argc) {
			i++;
		} else if (strcmp(argv[i], "--file") == 0 && i + 2 < argc) {
			char *p = fio_join(dir, argv[i + 1]);

			if (fio_write_atomic(p, argv[i + 2], strlen(argv[i + 2]), 0600) == -1 ||
			    job_add_file(j, argv[i + 1]) == -1) {
				perror(p);
				return EX_IOERR;
			}
			free(p);
			i += 2;
		} else if (strcmp(argv[i], "--copy") == 0 && i + 2 < argc) {
			char *p = fio_join(dir, argv[i + 2]);

			if (fio_copy_file(argv[i + 1], p, 0600) == -1 ||
			    job_add_file(j, argv[i + 2]) == -1) {
				perror(p);
				return EX_IOERR;
			}
			free(p);
			i += 2;
		} else if ((strcmp(argv[i], "--set") == 0 || strcmp(argv[i], "--num") == 0) &&
			   i + 1 < argc) {
			if (mk_set(j, argv[i + 1], argv[i][2] == 'n') == -1)
				return EX_USAGE;
			i++;
		} else if (strcmp(argv[i], "--stage") == 0 && i + 1 < argc) {
			job_mark_stage(j, argv[++i], "ok");
		} else {
			fprintf(stderr, "tools_mkjob: bad argument %s\n", argv[i]);
			return EX_USAGE;
		}
	}
	if (job_write(j) == -1) {
		perror("job_write");
		return EX_IOERR;
	}
	printf("%s\n", id);
	job_free(j);
	free(dir);
	return 0;
}

/* `event` mode: append one journal event. */
static int mk_event(int argc, char **argv)
{
	struct journal_event ev;
	char err[512];
	journal *jr;
	int rc;

	if (argc < 7)
		return EX_USAGE;
	if ((jr = journal_open(argv[0], err, sizeof(err))) == NULL) {
		fprintf(stderr, "tools_mkjob: %s\n", err);
		return EX_IOERR;
	}
	memset(&ev, 0, sizeof(ev));
	ev.job = argv[1];
	ev.stage = argv[2];
	ev.action = argv[3];
	ev.outcome = argv[4];
	ev.state = argv[5];
	ev.location = argv[6];
	ev.reason = argc > 7 ? argv[7] : NULL;
	ev.detail = ev.reason;
	rc = journal_record(jr, &ev) == 0 ? 0 : EX_IOERR;
	journal_close(jr);
	return rc;
}

int main(int argc, char **argv)
{
	log_init("tools_mkjob");
	if (argc >= 2 && strcmp(argv[1], "job") == 0)
		return mk_job(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "event") == 0)
		return mk_event(argc - 2, argv + 2);
	fprintf(stderr, "usage: tools_mkjob job DIR [...] | event JOURNAL JOB STAGE ACTION "
			"OUTCOME STATE LOCATION [REASON]\n");
	return EX_USAGE;
}
