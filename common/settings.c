/*
 * settings.c - load conf/mailroom.yaml; see settings.h.
 */
#include "settings.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "xalloc.h"

#ifndef MAILROOM_DEFAULT_CONF
#define MAILROOM_DEFAULT_CONF "conf"
#endif

char *settings_resolve(const char *base, const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	return xasprintf("%s/%s", base, path);
}

char *settings_path(const settings *s, const char *path)
{
	if (strncmp(path, "${var}/", 7) == 0)
		return fio_join(s->var_dir, path + 7);
	if (strcmp(path, "${var}") == 0)
		return xstrdup(s->var_dir);
	return settings_resolve(s->conf_dir, path);
}

char *settings_conf_file(const settings *s, const char *name)
{
	return fio_join(s->conf_dir, name);
}

/* Absolute, symlink-free form of a directory that must exist. */
static char *settings_realdir(const char *dir, conf_err *e)
{
	char rp[PATH_MAX];

	if (realpath(dir, rp) == NULL) {
		snprintf(e->msg, sizeof(e->msg), "%s: configuration directory: %s", dir,
			 strerror(errno));
		return NULL;
	}
	return xstrdup(rp);
}

int settings_load(const char *conf_dir, settings *s, conf_err *e)
{
	static const char *const top_keys[] = {"paths", "station", "daemon", NULL};
	static const char *const path_keys[] = {"var", "inbox", "import", "journal", NULL};
	static const char *const station_keys[] = {"name", "operator", NULL};
	static const char *const daemon_keys[] = {"rescan_seconds", NULL};
	const conf_node *paths, *station, *daemon;
	const char *var, *inbox, *import, *jpath, *name, *op, *env;
	char *file;

	memset(s, 0, sizeof(*s));
	if (conf_dir == NULL)
		conf_dir = getenv("MAILROOM_CONF");
	if (conf_dir == NULL || *conf_dir == '\0')
		conf_dir = MAILROOM_DEFAULT_CONF;
	if ((s->conf_dir = settings_realdir(conf_dir, e)) == NULL)
		return -1;
	file = fio_join(s->conf_dir, "mailroom.yaml");
	s->root = conf_load(file, e);
	free(file);
	if (s->root == NULL)
		goto fail;
	if (conf_check_keys(s->root, top_keys, "mailroom.yaml", e) == -1)
		goto fail;
	paths = conf_get(s->root, "paths");
	station = conf_get(s->root, "station");
	daemon = conf_get(s->root, "daemon");
	if ((paths && conf_check_keys(paths, path_keys, "paths", e) == -1) ||
	    (station && conf_check_keys(station, station_keys, "station", e) == -1) ||
	    (daemon && conf_check_keys(daemon, daemon_keys, "daemon", e) == -1))
		goto fail;
	if (conf_str(paths, "var", 0, "../var", &var, e) == -1 ||
	    conf_str(paths, "inbox", 0, NULL, &inbox, e) == -1 ||
	    conf_str(paths, "import", 0, NULL, &import, e) == -1 ||
	    conf_str(paths, "journal", 0, NULL, &jpath, e) == -1 ||
	    conf_str(station, "name", 1, NULL, &name, e) == -1 ||
	    conf_str(station, "operator", 1, NULL, &op, e) == -1 ||
	    conf_long(daemon, "rescan_seconds", 0, 30, 1, 3600, &s->rescan_seconds, e) == -1)
		goto fail;
	if ((env = getenv("MAILROOM_VAR")) != NULL && *env != '\0')
		var = env;
	s->var_dir = settings_resolve(s->conf_dir, var);
	if (fio_mkdirs(s->var_dir, 0700) == -1) {
		snprintf(e->msg, sizeof(e->msg), "%s: cannot create the var directory: %s",
			 s->var_dir, strerror(errno));
		goto fail;
	}
	{
		char rp[PATH_MAX];

		if (realpath(s->var_dir, rp) != NULL) {
			free(s->var_dir);
			s->var_dir = xstrdup(rp);
		}
	}
	s->spool_dir = fio_join(s->var_dir, "spool");
	s->journal_path =
	    jpath ? settings_resolve(s->conf_dir, jpath) : fio_join(s->var_dir, "journal.db");
	s->archive_dir = fio_join(s->var_dir, "archive");
	s->inbox_dir = inbox ? settings_resolve(s->conf_dir, inbox) : fio_join(s->var_dir, "vis-inbox");
	s->import_dir = import ? settings_resolve(s->conf_dir, import) : fio_join(s->var_dir, "import");
	s->station = xstrdup(name);
	s->operator_name = xstrdup(op);
	return 0;
fail:
	settings_free(s);
	return -1;
}

void settings_free(settings *s)
{
	free(s->conf_dir);
	free(s->var_dir);
	free(s->spool_dir);
	free(s->journal_path);
	free(s->archive_dir);
	free(s->inbox_dir);
	free(s->import_dir);
	free(s->station);
	free(s->operator_name);
	conf_free(s->root);
	memset(s, 0, sizeof(*s));
}
