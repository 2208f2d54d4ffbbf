/*
 * scan_separate.c - splitting a batch into documents; see scan_separate.h.
 */
#include "scan_separate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct scan_separate {
	struct scan_sep_cfg cfg;
	long open_pages;     /* document pages of the open document */
	long captured;	     /* captured pages since the document began (dropped too) */
	int over_reported;   /* the open document's length problem was reported */
	long last_sep;	     /* sequence number of the last separator (0: none yet) */
	long last_sep_sheet; /* the batch sheet it was on */
	char sep_batch[64];  /* the batch name the separators carry */
};

scan_separate *scan_separate_new(const struct scan_sep_cfg *c)
{
	scan_separate *s = xcalloc(1, sizeof(*s));

	s->cfg = *c;
	return s;
}

scan_separate *scan_separate_free(scan_separate *s)
{
	free(s);
	return NULL;
}

long scan_separate_open_pages(const scan_separate *s)
{
	return s->open_pages;
}

/* Append a problem sentence to v->problem. */
static void scan_separate_problem(struct scan_sep_verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void scan_separate_problem(struct scan_sep_verdict *v, const char *fmt, ...)
{
	size_t n = strlen(v->problem);
	va_list ap;

	if (n > 0 && n + 2 < sizeof(v->problem)) {
		memcpy(v->problem + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(v->problem + n, sizeof(v->problem) - n, fmt, ap);
	va_end(ap);
}

/* The separator checks of one separator sheet. */
static void scan_separate_check(scan_separate *s, long sheet, const struct scan_page_sep *sep,
				struct scan_sep_verdict *v)
{
	if (!sep->valid) {
		scan_separate_problem(v,
				      "sheet %ld is a separator sheet whose code cannot be read "
				      "(\"%.80s\"): which document it starts is not known",
				      sheet, sep->raw);
		return;
	}
	if (sep->batch[0] != '\0') {
		if (s->sep_batch[0] == '\0')
			snprintf(s->sep_batch, sizeof(s->sep_batch), "%s", sep->batch);
		else if (strcmp(s->sep_batch, sep->batch) != 0)
			scan_separate_problem(
			    v,
			    "sheet %ld is a separator of batch '%s' in a stack of "
			    "batch '%s': two stacks were mixed",
			    sheet, sep->batch, s->sep_batch);
	}
	if (sep->sheet > 0) {
		if (s->last_sep > 0 && sep->sheet == s->last_sep)
			scan_separate_problem(v,
					      "sheet %ld repeats separator no. %ld (sheet %ld): a "
					      "sheet was fed twice",
					      sheet, sep->sheet, s->last_sep_sheet);
		else if (s->last_sep > 0 && sep->sheet != s->last_sep + 1)
			scan_separate_problem(v,
					      "sheet %ld is separator no. %ld after no. %ld (sheet "
					      "%ld): separator %s",
					      sheet, sep->sheet, s->last_sep, s->last_sep_sheet,
					      sep->sheet > s->last_sep ? "sheets are missing, "
									 "documents may be merged"
								       : "sheets are out of order");
		s->last_sep = sep->sheet;
		s->last_sep_sheet = sheet;
	}
}

void scan_separate_sheet(scan_separate *s, long sheet, const struct scan_sep_side side[2],
			 struct scan_sep_verdict *v)
{
	const struct scan_page_sep *sep = NULL;
	int i, is_sep = 0, present = 0, blank = 1;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < 2; i++) {
		if (!side[i].present)
			continue;
		present++;
		if (side[i].r->blank != SCAN_PAGE_DROP)
			blank = 0;
		if (sep == NULL && side[i].r->sep.found)
			sep = &side[i].r->sep;
	}
	if (present == 0)
		return;
	if (s->cfg.mode == SCAN_SEP_SEPARATOR && sep != NULL)
		is_sep = 1;
	else if (s->cfg.mode == SCAN_SEP_BLANK && blank)
		is_sep = 1;
	if (is_sep) {
		v->close_before = s->captured > 0;
		v->role[0] = v->role[1] = SCAN_SEP_ROLE_SEPARATOR;
		if (sep != NULL && s->cfg.mode == SCAN_SEP_SEPARATOR) {
			v->sep = sep;
			scan_separate_check(s, sheet, sep, v);
		}
		s->open_pages = s->captured = 0;
		s->over_reported = 0;
		return;
	}
	for (i = 0; i < 2; i++) {
		if (!side[i].present)
			continue;
		s->captured++;
		if (side[i].r->blank == SCAN_PAGE_DROP) {
			v->role[i] = SCAN_SEP_ROLE_DROPPED;
			continue;
		}
		v->role[i] = SCAN_SEP_ROLE_PAGE;
		s->open_pages++;
	}
	if (s->cfg.max_document_pages > 0 && s->open_pages > s->cfg.max_document_pages &&
	    !s->over_reported) {
		s->over_reported = 1;
		scan_separate_problem(v,
				      "the document reaching to sheet %ld has more than %ld pages "
				      "(max_document_pages): a separator may be missing",
				      sheet, s->cfg.max_document_pages);
	}
	if (s->cfg.mode == SCAN_SEP_PAGES && s->captured >= s->cfg.pages) {
		v->close_after = 1;
		s->open_pages = s->captured = 0;
		s->over_reported = 0;
	}
}

int scan_separate_mode_parse(const char *text, struct scan_sep_cfg *c)
{
	char *end;
	long n;

	if (strcmp(text, "separator") == 0)
		c->mode = SCAN_SEP_SEPARATOR;
	else if (strcmp(text, "blank") == 0)
		c->mode = SCAN_SEP_BLANK;
	else if (strcmp(text, "none") == 0)
		c->mode = SCAN_SEP_NONE;
	else if (strncmp(text, "pages:", 6) == 0) {
		errno = 0;
		n = strtol(text + 6, &end, 10);
		if (errno || end == text + 6 || *end != '\0' || n < 1 || n > 10000)
			return -1;
		c->mode = SCAN_SEP_PAGES;
		c->pages = n;
	} else
		return -1;
	return 0;
}

void scan_separate_mode_name(const struct scan_sep_cfg *c, char *out, size_t outlen)
{
	switch (c->mode) {
	case SCAN_SEP_NONE:
		snprintf(out, outlen, "none");
		break;
	case SCAN_SEP_SEPARATOR:
		snprintf(out, outlen, "separator");
		break;
	case SCAN_SEP_PAGES:
		snprintf(out, outlen, "pages:%ld", c->pages);
		break;
	case SCAN_SEP_BLANK:
		snprintf(out, outlen, "blank");
		break;
	}
}
