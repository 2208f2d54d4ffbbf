/*
 * scan_sep_test.c - the separator sheet payload (scan/scan_sep.c): the grammar
 * accepted exactly, the bounds of every field, hostile bytes (NUL, control
 * characters, UTF-8, overlong input, injected keys), the formatter's refusals,
 * and the round trip formatter -> parser for every shape of payload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "scan_sep.h"

/* Parse a C string; 0 or -1. */
static int parse(const char *s, struct scan_sep *out)
{
	char err[256];

	return scan_sep_parse((const unsigned char *)s, strlen(s), out, err, sizeof(err));
}

/* Parse s and expect an error whose text contains want. */
static int refused(const char *s, const char *want)
{
	struct scan_sep p;
	char err[256] = "";
	int r = scan_sep_parse((const unsigned char *)s, strlen(s), &p, err, sizeof(err));

	if (r != -1 || err[0] == '\0' || (want != NULL && strstr(err, want) == NULL)) {
		fprintf(stderr, "  '%s' -> %d '%s' (wanted an error with '%s')\n", s, r, err,
			want ? want : "");
		return 0;
	}
	return p.batch[0] == '\0' && p.sheet == 0 && p.type[0] == '\0' && p.office[0] == '\0';
}

static void test_valid(void)
{
	struct scan_sep p;

	CHECK(parse("MAILROOM-SEP/1;batch=B1;sheet=1", &p) == 0);
	CHECK_STR(p.batch, "B1");
	CHECK(p.sheet == 1 && p.type[0] == '\0' && p.office[0] == '\0');
	CHECK(parse("MAILROOM-SEP/1;batch=20261122-025748-a1b2;sheet=999999;type=rechnung;"
		    "office=kaemmerei",
		    &p) == 0);
	CHECK_STR(p.batch, "20261122-025748-a1b2");
	CHECK(p.sheet == 999999);
	CHECK_STR(p.type, "rechnung");
	CHECK_STR(p.office, "kaemmerei");
	CHECK(parse("MAILROOM-SEP/1;batch=x_Y-9;sheet=42;office=amt-20", &p) == 0);
	CHECK(p.sheet == 42 && p.type[0] == '\0');
	CHECK_STR(p.office, "amt-20");
	CHECK(parse("MAILROOM-SEP/1;batch=a;sheet=7;type=bescheid", &p) == 0);
	CHECK_STR(p.type, "bescheid");
	/* 32 characters are allowed in every name */
	CHECK(parse("MAILROOM-SEP/1;batch=ABCDEFGHIJKLMNOPQRSTUVWXYZ012345;sheet=1;"
		    "type=abcdefghijklmnopqrstuvwxyz012345;office=abcdefghijklmnopqrstuvwxyz_-0123",
		    &p) == 0);
	CHECK(strlen(p.batch) == 32 && strlen(p.type) == 32 && strlen(p.office) == 32);
	CHECK(scan_sep_is_ours((const unsigned char *)"MAILROOM-SEP/9", 14) == 1);
	CHECK(scan_sep_is_ours((const unsigned char *)"MAILROOM-SEP", 12) == 0);
	CHECK(scan_sep_is_ours((const unsigned char *)"BCD\n001\n1\nSCT", 14) == 0);
	CHECK(scan_sep_is_ours(NULL, 0) == 0);
}

static void test_grammar(void)
{
	CHECK(refused("", "does not begin"));
	CHECK(refused("mailroom-sep/1;batch=B;sheet=1", "does not begin"));
	CHECK(refused("MAILROOM-SEP/", "no version"));
	CHECK(refused("MAILROOM-SEP/x;batch=B;sheet=1", "no version"));
	CHECK(refused("MAILROOM-SEP/2;batch=B;sheet=1", "version 2 is not supported"));
	CHECK(refused("MAILROOM-SEP/10;batch=B;sheet=1", "version 10"));
	CHECK(refused("MAILROOM-SEP/01;batch=B;sheet=1", "version 01"));
	CHECK(refused("MAILROOM-SEP/1234567;batch=B;sheet=1", "no version"));
	CHECK(refused("MAILROOM-SEP/1", "';batch='"));
	CHECK(refused("MAILROOM-SEP/1;", "';batch='"));
	CHECK(refused("MAILROOM-SEP/1;sheet=1;batch=B", "';batch='"));
	CHECK(refused("MAILROOM-SEP/1;batch=B", "';sheet='"));
	CHECK(refused("MAILROOM-SEP/1;batch=;sheet=1", "0 characters"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=", "not a number"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=0", "not a number"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=01", "not a number"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=-1", "not a number"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=+1", "not a number"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=1x", "not a number"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=1000000", "above 999999"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=99999999999999999999999", "above"));
	/* order, repetition, unknown keys, trailing bytes */
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=1;office=o;type=t", "unexpected"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=1;type=t;type=u", "unexpected"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=1;sheet=2", "unexpected"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=1;batch=C", "unexpected"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=1;doc=x", "unexpected"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=1;", "unexpected"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=1 ", "not a number"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=1;type=", "0 characters"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=1;type=t;office=", "0 characters"));
	CHECK(refused("MAILROOM-SEP/1;BATCH=B;sheet=1", "';batch='"));
}

static void test_bounds_and_hostile(void)
{
	struct scan_sep p;
	unsigned char big[4096];
	char err[256], s[512];
	size_t n;

	/* 33 characters: one too many */
	CHECK(refused("MAILROOM-SEP/1;batch=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456;sheet=1",
		      "33 characters"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=1;type=abcdefghijklmnopqrstuvwxyz0123456",
		      "33 characters"));
	/* characters outside the sets */
	CHECK(refused("MAILROOM-SEP/1;batch=B/1;sheet=1", "0x2f"));
	CHECK(refused("MAILROOM-SEP/1;batch=../x;sheet=1", "0x2e"));
	CHECK(refused("MAILROOM-SEP/1;batch=B=C;sheet=1", "0x3d"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=1;type=Rechnung", "0x52"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=1;office=k\xc3\xa4mmerei", "0xc3"));
	CHECK(refused("MAILROOM-SEP/1;batch=B\n;sheet=1", "0x0a"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=1;type=a%n%s", "0x25"));
	CHECK(refused("MAILROOM-SEP/1;batch=B;sheet=1;type=a'--", "0x27"));
	/* an embedded NUL ends nothing: the bytes after it are still looked at */
	memcpy(s, "MAILROOM-SEP/1;batch=B;sheet=1\0;type=x", 39);
	CHECK(scan_sep_parse((const unsigned char *)s, 39, &p, err, sizeof(err)) == -1);
	memcpy(s, "MAILROOM-SEP/1;batch=B\0C;sheet=1", 32);
	CHECK(scan_sep_parse((const unsigned char *)s, 32, &p, err, sizeof(err)) == -1 &&
	      strstr(err, "0x00") != NULL);
	/* overlong input is refused before it is looked at */
	memset(big, 'A', sizeof(big));
	memcpy(big, "MAILROOM-SEP/1;batch=", 21);
	CHECK(scan_sep_parse(big, sizeof(big), &p, err, sizeof(err)) == -1 &&
	      strstr(err, "at most") != NULL);
	CHECK(scan_sep_parse(big, SCAN_SEP_MAX + 1, &p, err, sizeof(err)) == -1);
	CHECK(scan_sep_parse(NULL, 5, &p, err, sizeof(err)) == -1);
	/* every prefix of a valid payload is refused (no read past the end) */
	snprintf(s, sizeof(s), "MAILROOM-SEP/1;batch=B7;sheet=12;type=rechnung;office=kaemmerei");
	for (n = 0; n <= strlen(s); n++) {
		size_t sh = (size_t)(strstr(s, "sheet=") - s) + 6,
		       ty = (size_t)(strstr(s, "type=") - s) + 5,
		       of = (size_t)(strstr(s, "office=") - s) + 7;
		/* a prefix that ends inside a value (not empty) is a valid payload itself */
		int valid = (n > sh && n <= sh + 2) || (n > ty && n < of - 7) || n > of;
		unsigned char *cut = malloc(n ? n : 1);

		memcpy(cut, s, n);
		CHECK(scan_sep_parse(cut, n, &p, err, sizeof(err)) == (valid ? 0 : -1));
		free(cut);
	}
	/* a small err buffer is never overrun */
	CHECK(scan_sep_parse((const unsigned char *)"MAILROOM-SEP/2", 14, &p, err, 8) == -1 &&
	      strlen(err) < 8);
	/* printable copy for logs */
	scan_sep_printable((const unsigned char *)"A\nB\x01\xff"
						  "C",
			   6, s, sizeof(s));
	CHECK_STR(s, "A?B??C");
	scan_sep_printable((const unsigned char *)"ABCDEF", 6, s, 4);
	CHECK_STR(s, "ABC");
}

static void test_format(void)
{
	struct scan_sep in, out;
	char buf[SCAN_SEP_MAX + 1], err[256];
	int n;

	memset(&in, 0, sizeof(in));
	snprintf(in.batch, sizeof(in.batch), "B-1");
	in.sheet = 3;
	n = scan_sep_format(&in, buf, sizeof(buf), err, sizeof(err));
	CHECK(n > 0 && (size_t)n == strlen(buf));
	CHECK_STR(buf, "MAILROOM-SEP/1;batch=B-1;sheet=3");
	snprintf(in.type, sizeof(in.type), "rechnung");
	CHECK(scan_sep_format(&in, buf, sizeof(buf), err, sizeof(err)) > 0);
	CHECK_STR(buf, "MAILROOM-SEP/1;batch=B-1;sheet=3;type=rechnung");
	snprintf(in.office, sizeof(in.office), "kaemmerei");
	CHECK(scan_sep_format(&in, buf, sizeof(buf), err, sizeof(err)) > 0);
	CHECK_STR(buf, "MAILROOM-SEP/1;batch=B-1;sheet=3;type=rechnung;office=kaemmerei");
	in.type[0] = '\0';
	CHECK(scan_sep_format(&in, buf, sizeof(buf), err, sizeof(err)) > 0);
	CHECK_STR(buf, "MAILROOM-SEP/1;batch=B-1;sheet=3;office=kaemmerei");
	/* the round trip, the longest payload included */
	memset(in.batch, 'Z', SCAN_SEP_FIELD_MAX);
	in.batch[SCAN_SEP_FIELD_MAX] = '\0';
	memset(in.type, 't', SCAN_SEP_FIELD_MAX);
	in.type[SCAN_SEP_FIELD_MAX] = '\0';
	memset(in.office, 'o', SCAN_SEP_FIELD_MAX);
	in.office[SCAN_SEP_FIELD_MAX] = '\0';
	in.sheet = SCAN_SEP_SHEET_MAX;
	n = scan_sep_format(&in, buf, sizeof(buf), err, sizeof(err));
	CHECK(n > 0 && n <= SCAN_SEP_MAX);
	CHECK(scan_sep_parse((const unsigned char *)buf, (size_t)n, &out, err, sizeof(err)) == 0);
	CHECK(memcmp(&in, &out, sizeof(in)) == 0);
	/* refusals: bad values, a buffer too small */
	in.sheet = 0;
	CHECK(scan_sep_format(&in, buf, sizeof(buf), err, sizeof(err)) == -1);
	in.sheet = SCAN_SEP_SHEET_MAX + 1;
	CHECK(scan_sep_format(&in, buf, sizeof(buf), err, sizeof(err)) == -1);
	in.sheet = 1;
	CHECK(scan_sep_format(&in, buf, 20, err, sizeof(err)) == -1);
	snprintf(in.type, sizeof(in.type), "Rechnung");
	CHECK(scan_sep_format(&in, buf, sizeof(buf), err, sizeof(err)) == -1);
	snprintf(in.type, sizeof(in.type), "t;office=x");
	CHECK(scan_sep_format(&in, buf, sizeof(buf), err, sizeof(err)) == -1);
	in.type[0] = '\0';
	in.batch[0] = '\0';
	CHECK(scan_sep_format(&in, buf, sizeof(buf), err, sizeof(err)) == -1);
	snprintf(in.batch, sizeof(in.batch), "a b");
	CHECK(scan_sep_format(&in, buf, sizeof(buf), err, sizeof(err)) == -1);
	CHECK(scan_sep_valid_id("A-z_9") == 1 && scan_sep_valid_id("") == 0 &&
	      scan_sep_valid_id(NULL) == 0 && scan_sep_valid_id("a.b") == 0);
	CHECK(scan_sep_valid_name("amt-20") == 1 && scan_sep_valid_name("Amt") == 0);
}

int main(void)
{
	test_valid();
	test_grammar();
	test_bounds_and_hostile();
	test_format();
	return check_done();
}
