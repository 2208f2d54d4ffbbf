/*
 * export_mkjob.c - test helper (not a test): turn a directory of payload files into
 * a complete job with the real job API, so shell tests need no jq.
 *
 *	export_mkjob JOBDIR TEMPLATE.json [section.key=value ...]
 *
 * The record starts from TEMPLATE.json (sections such as capture, classification,
 * extraction, signing), gets id = basename(JOBDIR) and a fresh "uuid", the
 * overrides (string values), and every regular file in JOBDIR as a payload file;
 * then job_write computes the digests and writes job.json with its end marker.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "ident.h"
#include "job.h"
#include "log.h"

int main(int argc, char **argv)
{
	char uuid[IDENT_UUID_LEN], dirbuf[4096], *id;
	json_object *tpl;
	struct dirent *de;
	DIR *d;
	job *j;
	int i;

	log_init("export_mkjob");
	if (argc < 3)
		log_fatalx(EX_USAGE,
			   "usage: export_mkjob JOBDIR TEMPLATE.json [section.key=value ...]");
	snprintf(dirbuf, sizeof(dirbuf), "%s", argv[1]);
	id = strrchr(dirbuf, '/') ? strrchr(dirbuf, '/') + 1 : dirbuf;
	if (!ident_job_valid(id))
		log_fatalx(EX_USAGE, "%s is not a job id", id);
	if ((tpl = json_object_from_file(argv[2])) == NULL)
		log_fatalx(EX_DATAERR, "%s: not JSON", argv[2]);
	j = job_new(id, argv[1]);
	json_object_object_foreach(tpl, k, v)
	{
		if (strcmp(k, "format") == 0 || strcmp(k, "id") == 0 || strcmp(k, "files") == 0 ||
		    strcmp(k, "end") == 0 || strcmp(k, "created") == 0)
			continue;
		json_object_object_add(job_meta(j), k, json_object_get(v));
	}
	ident_uuid_v4(uuid);
	job_set_str(j, NULL, "uuid", uuid);
	for (i = 3; i < argc; i++) {
		char key[256], *eq = strchr(argv[i], '='), *dot;

		if (eq == NULL || (size_t)(eq - argv[i]) >= sizeof(key))
			log_fatalx(EX_USAGE, "override %s: expected section.key=value", argv[i]);
		snprintf(key, sizeof(key), "%.*s", (int)(eq - argv[i]), argv[i]);
		if ((dot = strchr(key, '.')) == NULL) {
			job_set_str(j, NULL, key, eq + 1);
			continue;
		}
		*dot = '\0';
		job_set_str(j, key, dot + 1, eq + 1);
	}
	if ((d = opendir(argv[1])) == NULL)
		log_fatalx(EX_NOINPUT, "%s", argv[1]);
	while ((de = readdir(d)) != NULL) {
		char p[8192];
		struct stat st;

		snprintf(p, sizeof(p), "%s/%s", argv[1], de->d_name);
		if (de->d_name[0] == '.' || strcmp(de->d_name, JOB_RECORD) == 0 ||
		    lstat(p, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (job_add_file(j, de->d_name) == -1)
			log_fatalx(EX_DATAERR, "%s: not a valid payload file name", de->d_name);
	}
	closedir(d);
	if (job_write(j) == -1)
		log_fatalx(EX_IOERR, "cannot write %s/job.json", argv[1]);
	printf("%s\n", uuid);
	json_object_put(tpl);
	job_free(j);
	return 0;
}
