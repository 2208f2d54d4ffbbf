/*
 * tool_where.c - find a letter in the spool areas, the archive and the routing
 * slips, and read a deferred letter's RETRY.txt. The spool directories are the
 * truth about where a letter is; this module only looks, it never moves.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "fileio.h"
#include "ident.h"
#include "tool.h"
#include "xalloc.h"

static const char *const tool_area_names[] = {"tmp", "incoming", "active", "corrupt"};

const char *tool_where_area_name(enum spool_area a)
{
	return tool_area_names[a];
}

void tool_where_location(const char *stage, enum spool_area a, char *out, size_t outlen)
{
	snprintf(out, outlen, "spool/%s/%s", stage, tool_area_names[a]);
}

/* 1 if path is a real directory (not a symlink). */
static int tool_is_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Add a place to out if there is room; always counts it. */
static void tool_where_add(struct tool_place *out, int max, int *n, const char *stage,
			   enum spool_area a, const char *location, const char *path)
{
	if (*n < max) {
		out[*n].stage = stage;
		out[*n].area = a;
		snprintf(out[*n].location, sizeof(out[*n].location), "%s", location);
		out[*n].path = xstrdup(path);
	}
	(*n)++;
}

/* Look for routing slips "<date>_<id>.txt" under var/routing/<office>/. */
static void tool_where_routing(const struct tool_ctx *c, const char *id, struct tool_place *out,
			       int max, int *n)
{
	char *root = fio_join(c->set.var_dir, "routing");
	char suffix[IDENT_JOB_MAX + 8];
	DIR *d, *od;
	struct dirent *de, *fe;
	size_t sl;

	snprintf(suffix, sizeof(suffix), "_%s.txt", id);
	sl = strlen(suffix);
	if ((d = opendir(root)) == NULL) {
		free(root);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char *odir;

		if (de->d_name[0] == '.')
			continue;
		odir = fio_join(root, de->d_name);
		if (tool_is_dir(odir) && (od = opendir(odir)) != NULL) {
			while ((fe = readdir(od)) != NULL) {
				size_t l = strlen(fe->d_name);

				if (l > sl && strcmp(fe->d_name + l - sl, suffix) == 0) {
					char loc[TOOL_LOC_MAX], *p = fio_join(odir, fe->d_name);

					snprintf(loc, sizeof(loc), "routing/%.100s", de->d_name);
					tool_where_add(out, max, n, NULL, SPOOL_TMP, loc, p);
					free(p);
				}
			}
			closedir(od);
		}
		free(odir);
	}
	closedir(d);
	free(root);
}

int tool_where_find(const struct tool_ctx *c, const char *id, struct tool_place *out, int max)
{
	int n = 0, i, a;
	char *p;

	if (!ident_job_valid(id))
		return 0;
	for (i = 0; i < TOOL_NSTAGES; i++) {
		for (a = SPOOL_TMP; a <= SPOOL_CORRUPT; a++) {
			char loc[TOOL_LOC_MAX];

			p = spool_path(c->sp[i], (enum spool_area)a, id);
			if (tool_is_dir(p)) {
				tool_where_location(tool_stage_names[i], (enum spool_area)a, loc,
						    sizeof(loc));
				tool_where_add(out, max, &n, tool_stage_names[i],
					       (enum spool_area)a, loc, p);
			}
			free(p);
		}
	}
	p = fio_join(c->set.archive_dir, id);
	if (tool_is_dir(p))
		tool_where_add(out, max, &n, NULL, SPOOL_TMP, "archive", p);
	free(p);
	tool_where_routing(c, id, out, max, &n);
	return n;
}

void tool_where_free(struct tool_place *p, int n)
{
	int i;

	for (i = 0; i < n && i < TOOL_WHERE_MAX; i++) {
		free(p[i].path);
		p[i].path = NULL;
	}
}

int tool_retry_parse(const char *text, struct tool_retry *r)
{
	const char *p = text;
	char *end;
	long long t;
	size_t l;

	memset(r, 0, sizeof(*r));
	errno = 0;
	t = strtoll(p, &end, 10);
	if (end == p || errno != 0 || t < 0 || *end != ' ')
		return -1;
	p = end + 1;
	r->attempt = strtol(p, &end, 10);
	if (end == p || errno != 0 || r->attempt < 0 || (*end != ' ' && *end != '\n' && *end))
		return -1;
	r->not_before = (time_t)t;
	if (*end == ' ')
		end++;
	snprintf(r->reason, sizeof(r->reason), "%s", end);
	l = strlen(r->reason);
	while (l > 0 && (r->reason[l - 1] == '\n' || r->reason[l - 1] == '\r'))
		r->reason[--l] = '\0';
	return 0;
}

int tool_retry_read(const char *jobdir, struct tool_retry *r)
{
	char *p = fio_join(jobdir, SPOOL_RETRY);
	buf b;
	int rc;

	buf_init(&b, 8192);
	if (fio_read_file(p, 8192, &b) == -1)
		rc = errno == ENOENT ? 0 : -1;
	else
		rc = tool_retry_parse(b.data ? b.data : "", r) == 0 ? 1 : -1;
	buf_free(&b);
	free(p);
	return rc;
}

long tool_where_count_dir(const char *dir)
{
	DIR *d;
	struct dirent *de;
	long n = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char *p;

		if (de->d_name[0] == '.' || !ident_job_valid(de->d_name))
			continue;
		p = fio_join(dir, de->d_name);
		if (tool_is_dir(p))
			n++;
		free(p);
	}
	closedir(d);
	return n;
}
