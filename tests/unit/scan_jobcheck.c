/*
 * scan_jobcheck.c - test helper for the scan integration scripts: reads a job
 * directory with job_read() (end marker, id, every payload digest), as the next
 * stage will, and prints one field of the record.
 *
 *	scan_jobcheck DIR [PATH]   exit 0 and print PATH ("capture.page_count" ...)
 *	                           when the record passes, 1 with the reason if not
 */
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "job.h"
#include "log.h"

int main(int argc, char **argv)
{
	char err[1024], copy[4096];
	const char *id;
	job *j;

	log_init("scan_jobcheck");
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: scan_jobcheck DIR [PATH]\n");
		return 2;
	}
	snprintf(copy, sizeof(copy), "%s", argv[1]);
	id = basename(copy);
	if ((j = job_read(argv[1], id, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scan_jobcheck: %s: %s\n", argv[1], err);
		return 1;
	}
	if (argc == 3) {
		json_object *o = job_meta(j);
		char key[128];
		const char *p = argv[2], *dot;

		/* walk a.b.c through objects; print the value as JSON text */
		while (o != NULL) {
			dot = strchr(p, '.');
			snprintf(key, sizeof(key), "%.*s", dot ? (int)(dot - p) : (int)strlen(p),
				 p);
			if (!json_object_object_get_ex(o, key, &o))
				o = NULL;
			if (dot == NULL)
				break;
			p = dot + 1;
		}
		if (o == NULL) {
			fprintf(stderr, "scan_jobcheck: %s: no %s\n", argv[1], argv[2]);
			job_free(j);
			return 1;
		}
		printf("%s\n", json_object_is_type(o, json_type_string)
				   ? json_object_get_string(o)
				   : json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	}
	job_free(j);
	return 0;
}
