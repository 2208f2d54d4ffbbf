/*
 * scan_job.c - letter records of mailroom-scan; see scan_job.h.
 */
#include "scan_job.h"

#include <string.h>

#include "digest.h"
#include "ident.h"
#include "log.h"

job *scan_job_new(const char *id, const char *dir)
{
	job *j = job_new(id, dir);
	char uuid[IDENT_UUID_LEN];

	ident_uuid_v4(uuid);
	json_object_object_add(job_meta(j), "uuid", json_object_new_string(uuid));
	return j;
}

json_object *scan_job_pages(const scan_tiff *t)
{
	json_object *a = json_object_new_array();
	int i;

	for (i = 0; i < scan_tiff_pages(t); i++) {
		const struct scan_tiff_done *d = scan_tiff_page_info(t, i);
		json_object *p = json_object_new_object();

		json_object_object_add(p, "n", json_object_new_int(d->n));
		json_object_object_add(p, "width", json_object_new_int64(d->width));
		json_object_object_add(p, "height", json_object_new_int64(d->height));
		json_object_object_add(p, "xres", json_object_new_double(d->xres));
		json_object_object_add(p, "yres", json_object_new_double(d->yres));
		json_object_object_add(p, "bits", json_object_new_int(d->bits));
		json_object_object_add(p, "samples", json_object_new_int(d->samples));
		json_object_object_add(p, "compression", json_object_new_string(d->compression));
		json_object_object_add(p, "sha256", json_object_new_string(d->sha256));
		json_object_array_add(a, p);
	}
	return a;
}

void scan_job_capture(const struct scan_env *env, job *j, const char *started, json_object *device,
		      json_object *sets, json_object *pages)
{
	json_object *c = job_section(j, "capture");

	json_object_object_add(c, "station", json_object_new_string(env->set->station));
	json_object_object_add(c, "operator", json_object_new_string(env->operator_name));
	json_object_object_add(c, "time", json_object_new_string(started));
	{
		json_object *sw = json_object_new_object();

		json_object_object_add(sw, "name", json_object_new_string("mailroom-scan"));
		json_object_object_add(sw, "version", json_object_new_string(MAILROOM_VERSION));
		json_object_object_add(sw, "sha256", json_object_new_string(digest_self_exe_hex()));
		json_object_object_add(c, "software", sw);
	}
	json_object_object_add(c, "device", device);
	json_object_object_add(c, "settings", sets);
	json_object_object_add(
	    c, "page_count", json_object_new_int(pages ? (int)json_object_array_length(pages) : 0));
	json_object_object_add(c, "pages", pages ? pages : json_object_new_array());
}

void scan_job_journal(const struct scan_env *env, const char *id, const char *action,
		      const char *outcome, const char *state, const char *location,
		      const char *detail, const char *reason)
{
	struct journal_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.job = id;
	ev.stage = "scan";
	ev.action = action;
	ev.outcome = outcome;
	ev.detail = detail;
	ev.state = state;
	ev.location = location;
	ev.reason = reason;
	if (journal_record(env->jr, &ev) == -1)
		log_errorx("%s: cannot record '%s' in the journal %s", id, action,
			   env->set->journal_path);
}

int scan_job_submit(const struct scan_env *env, job *j)
{
	job_mark_stage(j, "scan", "ok");
	if (job_write(j) == -1) {
		log_error("%s: cannot write %s", job_id(j), JOB_RECORD);
		return -1;
	}
	if (spool_submit(env->scan, job_id(j), env->classify) == -1) {
		log_error("%s: cannot submit to spool/classify/incoming", job_id(j));
		return -1;
	}
	return 0;
}
