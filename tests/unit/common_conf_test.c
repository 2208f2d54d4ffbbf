/*
 * common_conf_test.c - the YAML configuration tree and its checked accessors:
 * every error names file:line and what was expected.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "conf.h"
#include "log.h"

static conf_node *load(const char *text, conf_err *e)
{
	return conf_load_mem("test.yaml", text, strlen(text), e);
}

static void test_values(void)
{
	conf_err e;
	conf_node *r = load("name: Kämmerei\ncount: 42\nratio: 0.5\nflag: yes\n"
			    "mode: kopierend\nlist: [a, b]\none: x\n",
			    &e);
	static const char *const modes[] = {"ersetzend", "kopierend", "nicht_scannen", NULL};
	const char *s, **l;
	long n;
	double d;
	int b, m;
	size_t ln;

	CHECK(r != NULL);
	CHECK(conf_str(r, "name", 1, NULL, &s, &e) == 0);
	CHECK_STR(s, "Kämmerei");
	CHECK(conf_long(r, "count", 1, 0, 0, 100, &n, &e) == 0 && n == 42);
	CHECK(conf_double(r, "ratio", 1, 0, 0, 1, &d, &e) == 0 && d == 0.5);
	CHECK(conf_bool(r, "flag", 1, 0, &b, &e) == 0 && b == 1);
	CHECK(conf_enum(r, "mode", 1, 0, modes, &m, &e) == 0 && m == 1);
	CHECK(conf_strlist(r, "list", &l, &ln, &e) == 0 && ln == 2);
	CHECK_STR(l[1], "b");
	free(l);
	CHECK(conf_strlist(r, "one", &l, &ln, &e) == 0 && ln == 1);
	free(l);
	CHECK(conf_long(r, "absent", 0, 7, 0, 10, &n, &e) == 0 && n == 7);
	CHECK(conf_long(r, "absent", 1, 7, 0, 10, &n, &e) == -1);
	CHECK(strstr(e.msg, "required key 'absent'") != NULL);
	conf_free(r);
}

static void test_errors(void)
{
	static const char *const allowed[] = {"paths", "station", NULL};
	static const char *const modes[] = {"ersetzend", "kopierend", NULL};
	conf_err e;
	conf_node *r;
	long n;
	int m;

	r = load("paths: {}\nstaton: x\n", &e);
	CHECK(r != NULL);
	CHECK(conf_check_keys(r, allowed, "mailroom.yaml", &e) == -1);
	CHECK(strstr(e.msg, "test.yaml:2:") == e.msg);
	CHECK(strstr(e.msg, "unknown key 'staton'") != NULL);
	CHECK(strstr(e.msg, "expected one of: paths, station") != NULL);
	conf_free(r);

	r = load("a: 1\nb: zwölf\nc: 500\nmode: ersetzen\n", &e);
	CHECK(conf_long(r, "b", 1, 0, 0, 100, &n, &e) == -1);
	CHECK(strstr(e.msg, "test.yaml:2: 'b: zwölf' is not a whole number") != NULL);
	CHECK(conf_long(r, "c", 1, 0, 0, 100, &n, &e) == -1);
	CHECK(strstr(e.msg, "test.yaml:3:") != NULL && strstr(e.msg, "out of range") != NULL);
	CHECK(conf_enum(r, "mode", 1, 0, modes, &m, &e) == -1);
	CHECK(strstr(e.msg, "test.yaml:4:") != NULL &&
	      strstr(e.msg, "expected one of: ersetzend, kopierend") != NULL);
	conf_free(r);

	CHECK(load("a: 1\na: 2\n", &e) == NULL);
	CHECK(strstr(e.msg, "test.yaml:2: key 'a' given twice") != NULL);
	CHECK(load("a: &x 1\nb: *x\n", &e) == NULL);
	CHECK(strstr(e.msg, "aliases") != NULL);
	CHECK(load("a: [1, 2\n", &e) == NULL);
	CHECK(strstr(e.msg, "YAML syntax error") != NULL);
	CHECK(load("", &e) == NULL);
	CHECK(strstr(e.msg, "empty") != NULL);
	CHECK(load("a: 1\n---\nb: 2\n", &e) == NULL);
	CHECK(strstr(e.msg, "only one YAML document") != NULL);
}

int main(void)
{
	log_init("common_conf_test");
	test_values();
	test_errors();
	return check_done();
}
