/*
 * verify.h - the options of `mailroom verify` that struct tool_opts does not
 * carry: --tsa-ca FILE (trust anchor for time-stamp tokens; default the --ca
 * file) and -v / --verbose (every check of every file, not only failures).
 * mailroom.c hands them over with tool_verify_options() while it parses the
 * command line, before tool_verify_run() runs. Not called: defaults.
 */
#ifndef MAILROOM_VERIFY_H
#define MAILROOM_VERIFY_H

struct verify_options {
	const char *tsa_ca; /* PEM file, or NULL: the same trust anchor as the seal */
	int verbose;	    /* print every check, also of files that passed */
};

/* Remember o (copied) for the next tool_verify_run(). */
void tool_verify_options(const struct verify_options *o);

#endif
