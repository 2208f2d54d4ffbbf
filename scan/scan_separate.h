/*
 * scan_separate.h - splitting a scan batch into documents, sheet by sheet, and the
 * plausibility checks that send a batch to review instead of guessing.
 *
 * The engine hands over each sheet once it is complete (simplex: its page; duplex:
 * front and back) with the analysis of every side, and gets back what each side
 * is (a page of the document, a blank page dropped, a separator) and whether a
 * document ends before or after the sheet. Modes:
 *   none       the whole batch is one document
 *   separator  a sheet with a separator QR code on either side ends the document
 *              before it; both its sides are separator images, not document pages.
 *              Separators carry a sequence number: each must be the previous one
 *              plus 1 (a gap: a separator sheet missing, two documents merged; a
 *              repeat: a sheet fed twice); their batch names must agree; a QR code
 *              with the separator prefix that does not parse is unreadable. Each
 *              is a problem: the batch goes to review.
 *   pages:N    a document is N captured pages (blank pages dropped from it count);
 *   blank      a sheet that is blank on every side (below the drop threshold) ends
 *              the document before it and is a separator itself.
 * In every mode: a blank page (drop) is not a document page; a document longer
 * than max_document_pages is a problem. Pure logic, no I/O (unit tested).
 */
#ifndef MAILROOM_SCAN_SEPARATE_H
#define MAILROOM_SCAN_SEPARATE_H

#include <stddef.h>

#include "scan_page.h"

enum scan_sep_mode { SCAN_SEP_NONE, SCAN_SEP_SEPARATOR, SCAN_SEP_PAGES, SCAN_SEP_BLANK };

struct scan_sep_cfg {
	enum scan_sep_mode mode;
	long pages;		 /* SCAN_SEP_PAGES: pages per document */
	long max_document_pages; /* 0: no limit */
};

/* One side of a complete sheet. */
struct scan_sep_side {
	int present;			  /* the side was captured (duplex back, or the front) */
	const struct scan_page_result *r; /* its analysis */
};

/* What a side of the sheet is. */
enum scan_sep_role { SCAN_SEP_ROLE_PAGE, SCAN_SEP_ROLE_DROPPED, SCAN_SEP_ROLE_SEPARATOR };

struct scan_sep_verdict {
	int close_before;		 /* the document open before this sheet is complete */
	int close_after;		 /* ... the document is complete with this sheet */
	enum scan_sep_role role[2];	 /* front, back */
	const struct scan_page_sep *sep; /* the separator read on this sheet, or NULL */
	char problem[512];		 /* non-empty: a plausibility problem (batch to review) */
};

typedef struct scan_separate scan_separate;

/* A splitter for one batch (never NULL). */
scan_separate *scan_separate_new(const struct scan_sep_cfg *c);
scan_separate *scan_separate_free(scan_separate *s);
/* The next complete sheet (number sheet, sides front and back). */
void scan_separate_sheet(scan_separate *s, long sheet, const struct scan_sep_side side[2],
			 struct scan_sep_verdict *v);
/* Pages in the open document (0: none open). */
long scan_separate_open_pages(const scan_separate *s);
/* Parse "separator|pages:N|blank|none" into c->mode/c->pages. 0 or -1. */
int scan_separate_mode_parse(const char *text, struct scan_sep_cfg *c);
/* The mode as text ("separator", "pages:5", ...) into out. */
void scan_separate_mode_name(const struct scan_sep_cfg *c, char *out, size_t outlen);

#endif
