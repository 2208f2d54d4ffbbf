/*
 * scan_separate_test.c - unit tests of the batch splitter (scan/scan_separate.c):
 * documents by separator sheet, page count and blank sheet; blank pages dropped;
 * the plausibility problems (separator gap, repeat, other batch, unreadable code,
 * document too long) with positive controls where nothing is wrong.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "log.h"
#include "scan_separate.h"

/* A page result: ink, blank decision, optional separator number (-1: none,
 * 0: found but unreadable). */
static struct scan_page_result page(enum scan_page_blank blank, long sep, const char *batch)
{
	struct scan_page_result r;

	memset(&r, 0, sizeof(r));
	r.blank = blank;
	r.ink = blank == SCAN_PAGE_DROP ? 0 : 0.1;
	if (sep >= 0) {
		r.sep.found = 1;
		r.sep.valid = sep > 0;
		r.sep.sheet = sep;
		if (batch != NULL)
			snprintf(r.sep.batch, sizeof(r.sep.batch), "%s", batch);
		snprintf(r.sep.raw, sizeof(r.sep.raw), "MRSEP:%ld", sep);
	}
	return r;
}

/* Feed one sheet (front, and back if back != NULL). */
static void sheet(scan_separate *s, long n, const struct scan_page_result *front,
		  const struct scan_page_result *back, struct scan_sep_verdict *v)
{
	struct scan_sep_side sides[2];

	memset(sides, 0, sizeof(sides));
	sides[0].present = 1;
	sides[0].r = front;
	if (back != NULL) {
		sides[1].present = 1;
		sides[1].r = back;
	}
	scan_separate_sheet(s, n, sides, v);
}

static void test_separator_duplex(void)
{
	struct scan_sep_cfg c = {SCAN_SEP_SEPARATOR, 0, 10};
	scan_separate *s = scan_separate_new(&c);
	struct scan_page_result text = page(SCAN_PAGE_KEEP, -1, NULL);
	struct scan_page_result white = page(SCAN_PAGE_DROP, -1, NULL);
	struct scan_page_result sep1 = page(SCAN_PAGE_KEEP, 1, "B7"),
				sep2 = page(SCAN_PAGE_KEEP, 2, "B7");
	struct scan_sep_verdict v;

	/* a leading separator: nothing to close, both sides are the separator */
	sheet(s, 1, &sep1, &white, &v);
	CHECK(!v.close_before && !v.close_after);
	CHECK(v.role[0] == SCAN_SEP_ROLE_SEPARATOR && v.role[1] == SCAN_SEP_ROLE_SEPARATOR);
	CHECK(v.sep != NULL && v.sep->sheet == 1);
	CHECK(v.problem[0] == '\0');
	/* a document: text front, blank back dropped */
	sheet(s, 2, &text, &white, &v);
	CHECK(!v.close_before && v.role[0] == SCAN_SEP_ROLE_PAGE &&
	      v.role[1] == SCAN_SEP_ROLE_DROPPED);
	sheet(s, 3, &text, &text, &v);
	CHECK(v.role[0] == SCAN_SEP_ROLE_PAGE && v.role[1] == SCAN_SEP_ROLE_PAGE);
	CHECK(scan_separate_open_pages(s) == 3);
	/* the next separator (in sequence) closes it; positive control: no problem */
	sheet(s, 4, &sep2, &white, &v);
	CHECK(v.close_before && v.problem[0] == '\0');
	CHECK(scan_separate_open_pages(s) == 0);
	/* a separator on the back side counts too */
	sheet(s, 5, &text, NULL, &v);
	{
		struct scan_page_result sep3 = page(SCAN_PAGE_KEEP, 3, "B7");

		sheet(s, 6, &white, &sep3, &v);
		CHECK(v.close_before && v.role[0] == SCAN_SEP_ROLE_SEPARATOR &&
		      v.role[1] == SCAN_SEP_ROLE_SEPARATOR && v.problem[0] == '\0');
	}
	scan_separate_free(s);
}

static void test_separator_problems(void)
{
	struct scan_sep_cfg c = {SCAN_SEP_SEPARATOR, 0, 3};
	scan_separate *s = scan_separate_new(&c);
	struct scan_page_result text = page(SCAN_PAGE_KEEP, -1, NULL);
	struct scan_page_result s1 = page(SCAN_PAGE_KEEP, 1, "B1"),
				s3 = page(SCAN_PAGE_KEEP, 3, "B1");
	struct scan_page_result s3b = page(SCAN_PAGE_KEEP, 3, "B1"),
				bad = page(SCAN_PAGE_KEEP, 0, NULL);
	struct scan_page_result other = page(SCAN_PAGE_KEEP, 4, "B2");
	struct scan_sep_verdict v;

	sheet(s, 1, &s1, NULL, &v);
	CHECK(v.problem[0] == '\0');
	sheet(s, 2, &text, NULL, &v);
	/* gap: 1 then 3 */
	sheet(s, 3, &s3, NULL, &v);
	CHECK(v.close_before);
	CHECK(strstr(v.problem, "separator no. 3 after no. 1") != NULL);
	CHECK(strstr(v.problem, "missing") != NULL);
	/* repeat: 3 again (fed twice) */
	sheet(s, 4, &s3b, NULL, &v);
	CHECK(strstr(v.problem, "repeats separator no. 3") != NULL);
	/* unreadable */
	sheet(s, 5, &bad, NULL, &v);
	CHECK(strstr(v.problem, "cannot be read") != NULL);
	CHECK(v.role[0] == SCAN_SEP_ROLE_SEPARATOR);
	/* another batch's separator */
	sheet(s, 6, &other, NULL, &v);
	CHECK(strstr(v.problem, "batch 'B2' in a stack of batch 'B1'") != NULL);
	/* too long: 4 pages with max 3, reported once */
	sheet(s, 7, &text, NULL, &v);
	sheet(s, 8, &text, NULL, &v);
	sheet(s, 9, &text, NULL, &v);
	CHECK(v.problem[0] == '\0');
	sheet(s, 10, &text, NULL, &v);
	CHECK(strstr(v.problem, "more than 3 pages") != NULL);
	sheet(s, 11, &text, NULL, &v);
	CHECK(v.problem[0] == '\0');
	scan_separate_free(s);
}

static void test_pages_and_blank(void)
{
	struct scan_sep_cfg c = {SCAN_SEP_PAGES, 2, 0};
	scan_separate *s = scan_separate_new(&c);
	struct scan_page_result text = page(SCAN_PAGE_KEEP, -1, NULL);
	struct scan_page_result white = page(SCAN_PAGE_DROP, -1, NULL);
	struct scan_page_result flagged = page(SCAN_PAGE_FLAG, -1, NULL);
	struct scan_page_result sep = page(SCAN_PAGE_KEEP, 5, NULL);
	struct scan_sep_verdict v;

	/* pages:2 simplex: a document every two captured pages, blank ones counted */
	sheet(s, 1, &text, NULL, &v);
	CHECK(!v.close_after);
	sheet(s, 2, &white, NULL, &v);
	CHECK(v.close_after && v.role[0] == SCAN_SEP_ROLE_DROPPED);
	/* a separator code is just a page here */
	sheet(s, 3, &sep, NULL, &v);
	CHECK(v.role[0] == SCAN_SEP_ROLE_PAGE && !v.close_before && v.sep == NULL);
	sheet(s, 4, &flagged, NULL, &v);
	CHECK(v.close_after && v.role[0] == SCAN_SEP_ROLE_PAGE);
	scan_separate_free(s);

	c.mode = SCAN_SEP_BLANK;
	s = scan_separate_new(&c);
	sheet(s, 1, &text, &white, &v);
	CHECK(v.role[0] == SCAN_SEP_ROLE_PAGE && v.role[1] == SCAN_SEP_ROLE_DROPPED);
	/* a flagged side is not blank: no separator */
	sheet(s, 2, &flagged, &white, &v);
	CHECK(!v.close_before && v.role[0] == SCAN_SEP_ROLE_PAGE);
	/* blank on both sides: a separator sheet */
	sheet(s, 3, &white, &white, &v);
	CHECK(v.close_before && v.role[0] == SCAN_SEP_ROLE_SEPARATOR &&
	      v.role[1] == SCAN_SEP_ROLE_SEPARATOR);
	/* two blank sheets in a row: the second has nothing to close */
	sheet(s, 4, &white, &white, &v);
	CHECK(!v.close_before);
	scan_separate_free(s);

	c.mode = SCAN_SEP_NONE;
	s = scan_separate_new(&c);
	sheet(s, 1, &sep, NULL, &v);
	sheet(s, 2, &white, &white, &v);
	CHECK(!v.close_before && !v.close_after && v.role[0] == SCAN_SEP_ROLE_DROPPED);
	scan_separate_free(s);
}

static void test_mode_parse(void)
{
	struct scan_sep_cfg c;
	char name[32];

	memset(&c, 0, sizeof(c));
	CHECK(scan_separate_mode_parse("pages:7", &c) == 0 && c.mode == SCAN_SEP_PAGES &&
	      c.pages == 7);
	scan_separate_mode_name(&c, name, sizeof(name));
	CHECK_STR(name, "pages:7");
	CHECK(scan_separate_mode_parse("separator", &c) == 0 && c.mode == SCAN_SEP_SEPARATOR);
	CHECK(scan_separate_mode_parse("blank", &c) == 0 && c.mode == SCAN_SEP_BLANK);
	CHECK(scan_separate_mode_parse("none", &c) == 0 && c.mode == SCAN_SEP_NONE);
	CHECK(scan_separate_mode_parse("pages:0", &c) == -1);
	CHECK(scan_separate_mode_parse("pages:", &c) == -1);
	CHECK(scan_separate_mode_parse("qr", &c) == -1);
}

int main(void)
{
	log_init("scan_separate_test");
	test_separator_duplex();
	test_separator_problems();
	test_pages_and_blank();
	test_mode_parse();
	return check_done();
}
