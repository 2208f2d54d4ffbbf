/*
 * tool_sheets.h - `mailroom sheets`: separator sheets to print, one per document
 * of a stack, each with a QR code that mailroom-scan reads (payload grammar:
 * scan/scan_sep.h) and the same in words for the operator.
 */
#ifndef MAILROOM_TOOL_SHEETS_H
#define MAILROOM_TOOL_SHEETS_H

/* The command line of `mailroom sheets`; mailroom.c fills it. */
struct tool_sheets_opts {
	const char *conf_dir; /* -c, or NULL */
	const char *batch;    /* --batch, or NULL: a new id */
	long count, start;    /* --count (default 1), --start (default 1) */
	const char *type;     /* --type: a document type of conf/scankonzept.yaml, or NULL */
	const char *office;   /* --office: an office of conf/offices.yaml, or NULL */
	const char *png;      /* --png DIR: one 300 dpi PNG per sheet */
	const char *pdf;      /* --pdf FILE: one page per sheet */
};

/* Make the sheets. Returns a sysexits code (EX_USAGE, EX_CONFIG, EX_CANTCREAT ...). */
int tool_sheets_run(const struct tool_sheets_opts *o);

#endif
