/*
 * settings.h - conf/mailroom.yaml: where things live and which station this is.
 *
 * The configuration directory is, in order: the -c option, $MAILROOM_CONF, the
 * conf/ of the source tree. Paths in mailroom.yaml are relative to that directory;
 * $MAILROOM_VAR overrides paths.var (tests run on a temporary tree).
 */
#ifndef MAILROOM_SETTINGS_H
#define MAILROOM_SETTINGS_H

#include "conf.h"

typedef struct settings {
	char *conf_dir;     /* absolute */
	char *var_dir;      /* var/: everything the pipeline writes */
	char *spool_dir;    /* var/spool */
	char *journal_path; /* paths.journal, default var/journal.db */
	char *archive_dir;  /* var/archive: letters that have left the pipeline */
	char *inbox_dir;    /* var/vis-inbox: default root of the office inboxes */
	char *import_dir;   /* var/import: watched folder for digital mail */
	char *station;      /* name of the scanning station */
	char *operator_name;/* pseudonym of the operator on duty */
	long rescan_seconds;/* daemon: timer rescan interval */
	conf_node *root;    /* the parsed mailroom.yaml */
} settings;

/* Load mailroom.yaml from conf_dir (NULL: see above). -1 with e set on error. */
int settings_load(const char *conf_dir, settings *s, conf_err *e);
void settings_free(settings *s);
/* conf_dir/name as a new string (caller frees). */
char *settings_conf_file(const settings *s, const char *name);
/* A path from a configuration file: "${var}/x" is x below the var directory (so it
 * follows $MAILROOM_VAR), an absolute path stays, anything else is relative to the
 * conf directory. A new string (caller frees). */
char *settings_path(const settings *s, const char *path);
/* Make path absolute relative to base (a new string, caller frees). */
char *settings_resolve(const char *base, const char *path);

#endif
