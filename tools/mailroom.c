/*
 * mailroom.c - the operator's and administrator's command: where letters are,
 * what happened to them, and the few safe interventions (requeue, review).
 * The postsuper/postcat of this system.
 *
 * SYNOPSIS
 *	mailroom [-c DIR] status [--json] [--verify-journal]
 *	mailroom [-c DIR] show JOB [--json]
 *	mailroom [-c DIR] requeue JOB [--now]
 *	mailroom [-c DIR] review [--json]
 *	mailroom [-c DIR] review JOB --type T [--office O] --by NAME [--note TEXT]
 *	mailroom [-c DIR] verify [--ca FILE] [--tsa-ca FILE] [-v] [--json]
 *	                         FILE.p7s... | FILE... | PACKAGE.zip | JOBDIR
 *	mailroom [-c DIR] sheets [--batch ID] [--count N] [--start N] [--type T]
 *	                         [--office O] --png DIR | --pdf FILE
 *
 *	Options may stand before or after the subcommand. -c names the
 *	configuration directory (default $MAILROOM_CONF, else the source conf/);
 *	$MAILROOM_VAR overrides paths.var.
 *
 * SPOOL DIRECTORIES
 *	status, show: read every spool/<stage>/{tmp,incoming,active,corrupt},
 *	archive/ and routing/; nothing is moved.
 *	requeue: renames spool/<stage>/corrupt/<id> to spool/<stage>/incoming/<id>
 *	(spool_requeue); with --now rewrites RETRY.txt of a deferred letter in
 *	spool/<stage>/incoming/<id> so the stage takes it at once.
 *	review: claims spool/review/incoming/<id> into review/active (holding the
 *	review spool's lock), rewrites job.json and hands the letter to
 *	spool/sign/incoming.
 *	verify: reads the files named; writes nothing.
 *	sheets: reads conf/ only; writes the PNG files or the PDF named.
 *	Every intervention is recorded in the journal (stage "mailroom").
 *
 * SECURITY
 *	Runs as the spool's owner. Job ids from the command line are validated
 *	(ident_job_valid) before they become paths. Text from spool files, the
 *	journal and job records is printed with control characters neutralised,
 *	so a hostile letter cannot drive the operator's terminal. Document content
 *	and OCR text are never printed.
 *
 * EXIT STATUS
 *	0 success; 1 a check ran and failed (verify, status --verify-journal);
 *	EX_USAGE bad command line; EX_DATAERR the letter is not where the command
 *	needs it or a decision is invalid; EX_NOINPUT unknown letter or file;
 *	EX_CONFIG bad configuration (sheets: an unknown type or office);
 *	EX_CANTCREAT sheets cannot be written; EX_IOERR / EX_SOFTWARE on I/O or
 *	library errors; EX_TEMPFAIL another review is being recorded.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "fileio.h"
#include "log.h"
#include "tool.h"
#include "tool_sheets.h"
#include "verify.h"
#include "xalloc.h"

enum {
	OPT_JSON = 1 << 0,
	OPT_VERIFY_JOURNAL = 1 << 1,
	OPT_NOW = 1 << 2,
	OPT_TYPE = 1 << 3,
	OPT_OFFICE = 1 << 4,
	OPT_BY = 1 << 5,
	OPT_NOTE = 1 << 6,
	OPT_CA = 1 << 7,
	OPT_TSA_CA = 1 << 8,
	OPT_VERBOSE = 1 << 9,
	OPT_BATCH = 1 << 10,
	OPT_COUNT = 1 << 11,
	OPT_START = 1 << 12,
	OPT_PNG = 1 << 13,
	OPT_PDF = 1 << 14,
};

/* One subcommand: name, options it accepts, positional argument counts; run gets the
 * context (settings, journal, spools); a command without run needs none (sheets). */
struct tool_cmd {
	const char *name;
	int (*run)(struct tool_ctx *c);
	unsigned opts;
	int min_args, max_args;
};

static const struct tool_cmd tool_cmds[] = {
    {"status", tool_status_run, OPT_JSON | OPT_VERIFY_JOURNAL, 0, 0},
    {"show", tool_show_run, OPT_JSON, 1, 1},
    {"requeue", tool_requeue_run, OPT_NOW, 1, 1},
    {"review", tool_review_run, OPT_JSON | OPT_TYPE | OPT_OFFICE | OPT_BY | OPT_NOTE, 0, 1},
    {"verify", tool_verify_run, OPT_JSON | OPT_CA | OPT_TSA_CA | OPT_VERBOSE, 1, 4096},
    {"sheets", NULL, OPT_BATCH | OPT_COUNT | OPT_START | OPT_TYPE | OPT_OFFICE | OPT_PNG | OPT_PDF,
     0, 0},
};

/* A count option's value: 1 to 999999. 0 or -1. */
static int tool_number(const char *text, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(text, &end, 10);
	return errno || end == text || *end != '\0' || *out < 1 || *out > 999999 ? -1 : 0;
}

/* Print the usage to fp. */
static void usage(FILE *fp)
{
	fprintf(
	    fp,
	    "usage: mailroom [-c DIR] COMMAND [options]\n"
	    "\n"
	    "  status [--json] [--verify-journal]   letters per stage, quarantined, review,\n"
	    "                                       deferred; journal counts and chain check\n"
	    "  show JOB [--json]                    where a letter is, its journal history\n"
	    "                                       and its record\n"
	    "  requeue JOB                          retry a quarantined letter (corrupt/ ->\n"
	    "                                       incoming/) after fixing the cause\n"
	    "  requeue JOB --now                    retry a deferred letter immediately\n"
	    "  review [--json]                      letters waiting for a person\n"
	    "  review JOB --type T [--office O] --by NAME [--note TEXT]\n"
	    "                                       record a decision; the letter goes to sign\n"
	    "  verify [--ca FILE] [--tsa-ca FILE] [-v] [--json] FILE.p7s... | PACKAGE.zip | JOBDIR\n"
	    "                                       check seals (CAdES-B-B/-B-T), time-stamps,\n"
	    "                                       certificate chains, digests and bindings;\n"
	    "                                       -v every check of every file\n"
	    "  sheets [--batch ID] [--count N] [--start N] [--type T] [--office O]\n"
	    "         --png DIR | --pdf FILE        separator sheets to print (QR code and text,\n"
	    "                                       A4, 300 dpi), numbered from --start\n"
	    "\n"
	    "  -c DIR      configuration directory (default $MAILROOM_CONF, else %s)\n"
	    "  -h, --help  this text\n",
	    MAILROOM_DEFAULT_CONF);
}

/* Parse argv into o; returns the subcommand or NULL (exit code in *rc). */
static const struct tool_cmd *tool_parse(int argc, char **argv, struct tool_opts *o,
					 struct tool_sheets_opts *so, int *rc)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
	    {"json", no_argument, NULL, 'j'},	      {"verify-journal", no_argument, NULL, 'J'},
	    {"now", no_argument, NULL, 'n'},	      {"type", required_argument, NULL, 't'},
	    {"office", required_argument, NULL, 'o'}, {"by", required_argument, NULL, 'b'},
	    {"note", required_argument, NULL, 'N'},   {"ca", required_argument, NULL, 'C'},
	    {"version", no_argument, NULL, 'V'},      {"tsa-ca", required_argument, NULL, 'T'},
	    {"verbose", no_argument, NULL, 'v'},      {"batch", required_argument, NULL, 'B'},
	    {"count", required_argument, NULL, 'K'},  {"start", required_argument, NULL, 'S'},
	    {"png", required_argument, NULL, 'P'},    {"pdf", required_argument, NULL, 'F'},
	    {NULL, 0, NULL, 0},
	};
	const struct tool_cmd *cmd = NULL;
	struct verify_options vo;
	unsigned seen = 0;
	size_t i;
	int ch;

	memset(o, 0, sizeof(*o));
	memset(so, 0, sizeof(*so));
	memset(&vo, 0, sizeof(vo));
	while ((ch = getopt_long(argc, argv, "c:hVv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->conf_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			*rc = EX_OK;
			return NULL;
		case 'V':
			printf("mailroom %s\n", MAILROOM_VERSION);
			*rc = EX_OK;
			return NULL;
		case 'j':
			o->json = 1;
			seen |= OPT_JSON;
			break;
		case 'J':
			o->verify_journal = 1;
			seen |= OPT_VERIFY_JOURNAL;
			break;
		case 'n':
			o->now = 1;
			seen |= OPT_NOW;
			break;
		case 't':
			o->type = optarg;
			seen |= OPT_TYPE;
			break;
		case 'o':
			o->office = optarg;
			seen |= OPT_OFFICE;
			break;
		case 'b':
			o->by = optarg;
			seen |= OPT_BY;
			break;
		case 'N':
			o->note = optarg;
			seen |= OPT_NOTE;
			break;
		case 'C':
			o->ca = optarg;
			seen |= OPT_CA;
			break;
		case 'T':
			vo.tsa_ca = optarg;
			seen |= OPT_TSA_CA;
			break;
		case 'v':
			vo.verbose = 1;
			seen |= OPT_VERBOSE;
			break;
		case 'B':
			so->batch = optarg;
			seen |= OPT_BATCH;
			break;
		case 'K':
		case 'S':
			if (tool_number(optarg, ch == 'K' ? &so->count : &so->start) == -1) {
				log_errorx("--%s '%s': expected a number 1 to 999999",
					   ch == 'K' ? "count" : "start", optarg);
				*rc = EX_USAGE;
				return NULL;
			}
			seen |= ch == 'K' ? OPT_COUNT : OPT_START;
			break;
		case 'P':
			so->png = optarg;
			seen |= OPT_PNG;
			break;
		case 'F':
			so->pdf = optarg;
			seen |= OPT_PDF;
			break;
		default:
			usage(stderr);
			*rc = EX_USAGE;
			return NULL;
		}
	}
	*rc = EX_USAGE;
	if (optind >= argc) {
		usage(stderr);
		return NULL;
	}
	for (i = 0; i < sizeof(tool_cmds) / sizeof(tool_cmds[0]); i++)
		if (strcmp(argv[optind], tool_cmds[i].name) == 0)
			cmd = &tool_cmds[i];
	if (cmd == NULL) {
		log_errorx("unknown command '%s' (try mailroom --help)", argv[optind]);
		return NULL;
	}
	if ((seen & ~cmd->opts) != 0) {
		log_errorx("mailroom %s: an option given does not apply to this command "
			   "(try mailroom --help)",
			   cmd->name);
		return NULL;
	}
	o->args = argv + optind + 1;
	o->nargs = argc - optind - 1;
	if (o->nargs < cmd->min_args || o->nargs > cmd->max_args) {
		log_errorx("mailroom %s: wrong number of arguments (try mailroom --help)",
			   cmd->name);
		return NULL;
	}
	tool_verify_options(&vo);
	so->conf_dir = o->conf_dir;
	so->type = o->type;
	so->office = o->office;
	*rc = EX_OK;
	return cmd;
}

int main(int argc, char **argv)
{
	struct tool_opts o;
	struct tool_sheets_opts so;
	struct tool_ctx c;
	const struct tool_cmd *cmd;
	int rc;

	log_init("mailroom");
	if ((cmd = tool_parse(argc, argv, &o, &so, &rc)) == NULL)
		return rc;
	if (cmd->run == NULL) {
		rc = tool_sheets_run(&so);
	} else {
		if ((rc = tool_ctx_open(&c, &o)) != EX_OK)
			return rc;
		rc = cmd->run(&c);
		tool_ctx_close(&c);
	}
	if (fflush(stdout) == EOF || ferror(stdout)) {
		log_error("writing the output");
		if (rc == EX_OK)
			rc = EX_IOERR;
	}
	return rc;
}
