/*
 * tool.h - the modules of the `mailroom` operator command (status, show,
 * requeue, review, verify) and the helpers they share.
 *
 * tool_where: where a letter is (every spool area, archive, routing slips) and
 *             what its RETRY.txt says.
 * tool_table: aligned, sanitised text tables for people.
 * tool_types: the document types of conf/scankonzept.yaml as review needs them.
 * tool_<cmd>: one subcommand each; they return a sysexits code (or 1 for
 *             "checked and found broken", like cmp(1)).
 */
#ifndef MAILROOM_TOOL_H
#define MAILROOM_TOOL_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "conf.h"
#include "journal.h"
#include "offices.h"
#include "settings.h"
#include "spool.h"

/* The spool names, in pipeline order; review last. */
#define TOOL_NSTAGES 5
extern const char *const tool_stage_names[TOOL_NSTAGES];
/* Exit status when a check ran and found a failure (verify, --verify-journal). */
#define TOOL_EXIT_FAILED 1

/* Options of all subcommands; main checks which ones a subcommand accepts. */
struct tool_opts {
	const char *conf_dir;
	int json;
	int verify_journal;
	int now;
	const char *type, *office, *by, *note, *ca;
	char **args; /* positional arguments after the subcommand */
	int nargs;
};

/* What every subcommand works with: settings, the journal and all spools. */
struct tool_ctx {
	settings set;
	journal *jr;
	spool *sp[TOOL_NSTAGES];
	const struct tool_opts *opt;
};

/* Open settings, journal and spools. Returns 0 or a sysexits code (message logged). */
int tool_ctx_open(struct tool_ctx *c, const struct tool_opts *o);
void tool_ctx_close(struct tool_ctx *c);
/* The spool of a stage by name, or NULL. Owned by the context. */
spool *tool_ctx_spool(const struct tool_ctx *c, const char *stage);

int tool_status_run(struct tool_ctx *c);
int tool_show_run(struct tool_ctx *c);
int tool_requeue_run(struct tool_ctx *c);
int tool_review_run(struct tool_ctx *c);
int tool_verify_run(struct tool_ctx *c);

/* ---- tool_where.c ---- */

#define TOOL_WHERE_MAX 16
#define TOOL_LOC_MAX 128

/* One place a letter was found. */
struct tool_place {
	const char *stage;	     /* spool name (static), or NULL for archive/routing */
	enum spool_area area;	     /* valid when stage != NULL */
	char location[TOOL_LOC_MAX]; /* "spool/sign/corrupt", "archive", "routing/kaemmerei" */
	char *path;		     /* absolute path; owned by the place */
};

/* Find every place job id is in (spool areas, archive, routing slips). Returns
 * the count (at most max are filled; free them with tool_where_free). */
int tool_where_find(const struct tool_ctx *c, const char *id, struct tool_place *out, int max);
void tool_where_free(struct tool_place *p, int n);
/* "spool/<stage>/<area>" into out. */
void tool_where_location(const char *stage, enum spool_area a, char *out, size_t outlen);
/* Name of a spool area ("incoming" ...). */
const char *tool_where_area_name(enum spool_area a);

/* A parsed RETRY.txt: "<not-before epoch> <attempt> <reason>". */
struct tool_retry {
	time_t not_before;
	long attempt;
	char reason[1024];
};
/* Parse RETRY.txt text; 0 or -1 if it is not in that form. */
int tool_retry_parse(const char *text, struct tool_retry *r);
/* Read jobdir/RETRY.txt: 1 read, 0 none, -1 unreadable or malformed. */
int tool_retry_read(const char *jobdir, struct tool_retry *r);
/* Number of job directories in dir (0 if dir does not exist). */
long tool_where_count_dir(const char *dir);

/* ---- tool_table.c ---- */

typedef struct tool_table tool_table;

/* A table with ncols columns; align is one char per column, 'l' or 'r'. */
tool_table *tool_table_new(int ncols, const char *align);
tool_table *tool_table_free(tool_table *t);
/* Add one row of ncols cells (copied and sanitised; NULL prints as "-"). */
void tool_table_row(tool_table *t, const char *const *cells);
/* Number of rows added (the header counts when added as a row). */
size_t tool_table_rows(const tool_table *t);
/* Print with each column padded to its widest cell; the last one is not padded. */
void tool_table_print(const tool_table *t, FILE *fp, const char *indent);
/* Copy s into out with control characters made harmless (newline, tab -> space). */
char *tool_clean(const char *s, char *out, size_t outlen);
/* Display width of a UTF-8 string (code points). */
size_t tool_width(const char *s);

/* ---- tool_types.c ---- */

/* One document type of the Scankonzept, pointing into the conf tree. */
struct tool_type {
	const char *id, *name, *scan_mode, *office; /* office may be "address" */
	const conf_node *node; /* the type's map (protection, qs_sample_rate ...) */
};

struct tool_types {
	conf_node *root; /* owned */
	struct tool_type *v;
	size_t n;
};

/* Read the types of a parsed scankonzept.yaml (takes ownership of root). */
int tool_types_from_conf(conf_node *root, struct tool_types *t, conf_err *e);
/* Load conf_dir/scankonzept.yaml. -1 with e set. */
int tool_types_load(const char *conf_dir, struct tool_types *t, conf_err *e);
void tool_types_free(struct tool_types *t);
const struct tool_type *tool_types_find(const struct tool_types *t, const char *id);
/*
 * The office a review decision sends the letter to: the explicit one, else the
 * type's own office unless the type routes by "address". NULL with a message in
 * err when there is none or the office is unknown.
 */
const struct office *tool_types_office(const struct tool_type *ty, const offices *o,
				       const char *explicit_office, char *err, size_t errlen);

/* ---- tool_verify.c (pure helper) ---- */

/* The signed file's name for a signature name "X.p7s" into out; -1 if not *.p7s. */
int tool_verify_target(const char *p7s, char *out, size_t outlen);

#endif
