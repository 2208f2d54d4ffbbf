/*
 * tools_logic.c - unit tests for the pure parts of the `mailroom` tool:
 * RETRY.txt parsing, text neutralising and widths, the aligned table, the
 * Scankonzept types a review decision uses (and the office it resolves to),
 * and the signature -> signed file name rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "offices.h"
#include "tool.h"

static int failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

/* RETRY.txt: "<epoch> <attempt> <reason>". */
static void test_retry(void)
{
	struct tool_retry r;

	CHECK(tool_retry_parse("1790000000 3 TSA unreachable: will retry\n", &r) == 0);
	CHECK(r.not_before == 1790000000);
	CHECK(r.attempt == 3);
	CHECK(strcmp(r.reason, "TSA unreachable: will retry") == 0);
	CHECK(tool_retry_parse("1790000000 1\n", &r) == 0);
	CHECK(r.attempt == 1 && r.reason[0] == '\0');
	CHECK(tool_retry_parse("", &r) == -1);
	CHECK(tool_retry_parse("soon 1 x", &r) == -1);
	CHECK(tool_retry_parse("-5 1 x", &r) == -1);
	CHECK(tool_retry_parse("12x 1 x", &r) == -1);
	CHECK(tool_retry_parse("12 y x", &r) == -1);
	CHECK(tool_retry_parse("99999999999999999999999 1 x", &r) == -1);
}

/* Control characters never reach the terminal; UTF-8 is kept whole. */
static void test_clean(void)
{
	char out[64];

	CHECK(strcmp(tool_clean("a\nb\tc", out, sizeof(out)), "a b c") == 0);
	CHECK(strcmp(tool_clean("\x1b[2Jx\x7f", out, sizeof(out)), "?[2Jx?") == 0);
	CHECK(strcmp(tool_clean(NULL, out, sizeof(out)), "") == 0);
	/* cut inside "ä" (2 bytes) must not leave half of it */
	CHECK(strcmp(tool_clean("abä", out, 4), "ab") == 0);
	CHECK(strcmp(tool_clean("Kämmerei", out, sizeof(out)), "Kämmerei") == 0);
	CHECK(tool_width("Kämmerei") == 8);
	CHECK(tool_width("") == 0);
}

/* Columns are aligned by display width, numbers right-aligned, no trailing blanks. */
static void test_table(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	tool_table *t = tool_table_new(3, "lrl");

	tool_table_row(t, (const char *const[]){"STAGE", "N", "NOTE"});
	tool_table_row(t, (const char *const[]){"Kämmerei", "12", NULL});
	tool_table_row(t, (const char *const[]){"x", "3", "two\nlines"});
	CHECK(tool_table_rows(t) == 3);
	tool_table_print(t, fp, "  ");
	fclose(fp);
	CHECK(strcmp(text, "  STAGE      N  NOTE\n"
			   "  Kämmerei  12  -\n"
			   "  x          3  two lines\n") == 0);
	if (failures)
		fprintf(stderr, "table was:\n%s", text);
	free(text);
	tool_table_free(t);
	CHECK(tool_table_free(NULL) == NULL);
}

static const char scankonzept[] =
    "types:\n"
    "  - id: rechnung\n"
    "    name: Rechnung\n"
    "    scan_mode: ersetzend\n"
    "    office: kaemmerei\n"
    "    protection: {integrity: hoch, confidentiality: normal, availability: normal}\n"
    "  - id: brief\n"
    "    scan_mode: ersetzend\n"
    "    office: address\n"
    "  - id: geheim\n"
    "    scan_mode: kopierend\n"
    "    office: nirgendwo\n";

/* Types and the office a decision resolves to. */
static void test_types(void)
{
	struct tool_types t;
	offices o;
	conf_err e;
	conf_node *root;
	const struct tool_type *ty;
	const struct office *of;
	char err[512];

	root = conf_load_mem("scankonzept.yaml", scankonzept, strlen(scankonzept), &e);
	CHECK(root != NULL);
	CHECK(tool_types_from_conf(root, &t, &e) == 0);
	CHECK(t.n == 3);
	CHECK(offices_load(MAILROOM_DEFAULT_CONF, &o, &e) == 0);

	ty = tool_types_find(&t, "rechnung");
	CHECK(ty != NULL && strcmp(ty->name, "Rechnung") == 0 &&
	      strcmp(ty->scan_mode, "ersetzend") == 0);
	of = tool_types_office(ty, &o, NULL, err, sizeof(err));
	CHECK(of != NULL && strcmp(of->id, "kaemmerei") == 0);
	of = tool_types_office(ty, &o, "rechtsamt", err, sizeof(err));
	CHECK(of != NULL && strcmp(of->id, "rechtsamt") == 0);
	of = tool_types_office(ty, &o, "mond", err, sizeof(err));
	CHECK(of == NULL && strstr(err, "unknown office 'mond'") != NULL);

	ty = tool_types_find(&t, "brief");
	CHECK(ty != NULL && strcmp(ty->name, "brief") == 0);
	of = tool_types_office(ty, &o, NULL, err, sizeof(err));
	CHECK(of == NULL && strstr(err, "--office") != NULL);
	of = tool_types_office(ty, &o, "bauamt", err, sizeof(err));
	CHECK(of != NULL && strcmp(of->id, "bauamt") == 0);

	ty = tool_types_find(&t, "geheim");
	of = tool_types_office(ty, &o, NULL, err, sizeof(err));
	CHECK(of == NULL && strstr(err, "not in conf/offices.yaml") != NULL);
	CHECK(tool_types_find(&t, "werbung") == NULL);
	tool_types_free(&t);
	offices_free(&o);
}

/* Bad Scankonzepts are refused with file:line. */
static void test_types_bad(void)
{
	static const char bad_mode[] = "types:\n  - id: x\n    scan_mode: faxen\n    office: a\n";
	static const char dup[] = "types:\n  - {id: x, scan_mode: kopierend, office: a}\n"
				  "  - {id: x, scan_mode: kopierend, office: a}\n";
	static const char none[] = "thresholds: {min_score: 1}\n";
	struct tool_types t;
	conf_err e;

	CHECK(tool_types_from_conf(conf_load_mem("s.yaml", bad_mode, strlen(bad_mode), &e), &t,
				   &e) == -1);
	CHECK(strstr(e.msg, "s.yaml:3") != NULL && strstr(e.msg, "faxen") != NULL);
	CHECK(tool_types_from_conf(conf_load_mem("s.yaml", dup, strlen(dup), &e), &t, &e) == -1);
	CHECK(strstr(e.msg, "defined twice") != NULL);
	CHECK(tool_types_from_conf(conf_load_mem("s.yaml", none, strlen(none), &e), &t, &e) == -1);
	CHECK(strstr(e.msg, "types") != NULL);
}

/* "scan.tiff.p7s" signs "scan.tiff". */
static void test_target(void)
{
	char out[64];

	CHECK(tool_verify_target("scan.tiff.p7s", out, sizeof(out)) == 0 &&
	      strcmp(out, "scan.tiff") == 0);
	CHECK(tool_verify_target("dir/a.xml.p7s", out, sizeof(out)) == 0 &&
	      strcmp(out, "dir/a.xml") == 0);
	CHECK(tool_verify_target(".p7s", out, sizeof(out)) == -1);
	CHECK(tool_verify_target("scan.tiff", out, sizeof(out)) == -1);
	CHECK(tool_verify_target("scan.tiff.p7s", out, 5) == -1);
}

int main(void)
{
	test_retry();
	test_clean();
	test_table();
	test_types();
	test_types_bad();
	test_target();
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("tools_logic: all checks passed\n");
	return 0;
}
