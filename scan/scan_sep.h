/*
 * scan_sep.h - the payload of a separator sheet's QR code: its grammar, a strict
 * parser and the formatter. `mailroom sheets` prints what scan_sep_format makes;
 * mailroom-scan's page analysis reads it back with scan_sep_parse. Pure functions
 * on bytes (libc only: no allocation, no I/O, no global state), so a fuzz target
 * can call scan_sep_parse on anything and `mailroom` can link this file alone.
 *
 *	payload = "MAILROOM-SEP/" version ";batch=" id ";sheet=" number
 *		  [ ";type=" name ] [ ";office=" name ]
 *	version = "1"
 *	id      = 1*32 ( ALPHA / DIGIT / "-" / "_" )          the batch of sheets
 *	number  = 1..999999, decimal, no sign, no leading zero  the separator's
 *		  sequence number within its batch (1, 2, 3 ...)
 *	name    = 1*32 ( lowercase / DIGIT / "-" / "_" )       a document type of
 *		  conf/scankonzept.yaml, an office id of conf/offices.yaml
 *
 * The fields come in this order, each at most once; no other key, nothing after
 * the last field, at most SCAN_SEP_MAX bytes in all. Anything that starts with the
 * prefix but breaks the grammar (another version included) is a mailroom separator
 * that cannot be read: the batch goes to review instead of guessing where the
 * document begins (scan_separate.h).
 */
#ifndef MAILROOM_SCAN_SEP_H
#define MAILROOM_SCAN_SEP_H

#include <stddef.h>

#define SCAN_SEP_PREFIX "MAILROOM-SEP/"
#define SCAN_SEP_VERSION 1
#define SCAN_SEP_MAX 160	   /* bytes of a payload */
#define SCAN_SEP_FIELD_MAX 32	   /* bytes of an id or name */
#define SCAN_SEP_SHEET_MAX 999999L /* highest sequence number */

/* A parsed payload. */
struct scan_sep {
	char batch[SCAN_SEP_FIELD_MAX + 1];
	long sheet;
	char type[SCAN_SEP_FIELD_MAX + 1];   /* "" when the payload has none */
	char office[SCAN_SEP_FIELD_MAX + 1]; /* "" when the payload has none */
};

/* 1 if the len bytes at data begin with SCAN_SEP_PREFIX (a mailroom separator,
 * readable or not), else 0. */
int scan_sep_is_ours(const unsigned char *data, size_t len);
/*
 * Parse the len bytes at data (not NUL-terminated; a NUL byte is an error). 0 with
 * *s filled, or -1 with *s cleared and the reason in err (which names the offset
 * and what was expected there).
 */
int scan_sep_parse(const unsigned char *data, size_t len, struct scan_sep *s, char *err,
		   size_t errlen);
/*
 * The payload of s into out (NUL-terminated). Returns its length, or -1 with the
 * reason in err when a field breaks the grammar or out is too small.
 */
int scan_sep_format(const struct scan_sep *s, char *out, size_t outlen, char *err, size_t errlen);
/* 1 if s is a valid batch id (1-32 of A-Z a-z 0-9 - _). */
int scan_sep_valid_id(const char *s);
/* 1 if s is a valid type or office name (1-32 of a-z 0-9 - _). */
int scan_sep_valid_name(const char *s);
/* The len bytes at data as text for logs and records: at most outlen - 1 bytes,
 * printable ASCII kept, every other byte as '?'. */
void scan_sep_printable(const unsigned char *data, size_t len, char *out, size_t outlen);

#endif
