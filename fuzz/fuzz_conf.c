/*
 * fuzz_conf.c - libFuzzer target: configuration files (common/conf.c), as every
 * program reads them at start: conf_load_mem on the bytes, then the same bytes
 * as conf/mailroom.yaml (settings_load) and conf/offices.yaml (offices_load),
 * read from a scratch configuration directory with $MAILROOM_VAR pointing into
 * it (settings_load creates paths.var: never let a fuzz input choose where).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzz_util.h"
#include "offices.h"
#include "settings.h"

/* Walk every node and call the typed getters on every map key. */
static void fuzz_walk(const conf_node *n, int depth)
{
	static const char *const words[] = {"a", "b", NULL};
	conf_err e;
	size_t i;

	if (n == NULL || depth > 64)
		return;
	if (n->kind == CONF_MAP) {
		for (i = 0; i < n->n; i++) {
			const char *s, **list = NULL;
			long l;
			double d;
			int b;
			size_t k;

			(void)conf_str(n, n->keys[i], 1, NULL, &s, &e);
			(void)conf_long(n, n->keys[i], 1, 0, -1000, 1000, &l, &e);
			(void)conf_double(n, n->keys[i], 1, 0, -1e9, 1e9, &d, &e);
			(void)conf_bool(n, n->keys[i], 1, 0, &b, &e);
			(void)conf_enum(n, n->keys[i], 1, 0, words, &b, &e);
			if (conf_strlist(n, n->keys[i], &list, &k, &e) == 0)
				free(list);
			fuzz_walk(n->items[i], depth + 1);
		}
		(void)conf_check_keys(n, words, "map", &e);
	} else if (n->kind == CONF_SEQ) {
		for (i = 0; i < n->n; i++)
			fuzz_walk(n->items[i], depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char confdir[512];
	conf_node *root;
	conf_err e;
	settings s;
	offices o;

	if (confdir[0] == '\0') {
		char var[600];

		fuzz_quiet();
		snprintf(confdir, sizeof(confdir), "%s", fuzz_dir());
		snprintf(var, sizeof(var), "%s/var", confdir);
		setenv("MAILROOM_VAR", var, 1);
	}
	if ((root = conf_load_mem("fuzz.yaml", (const char *)data, size, &e)) != NULL) {
		fuzz_walk(root, 0);
		conf_free(root);
	}
	fuzz_write("mailroom.yaml", data, size);
	if (settings_load(confdir, &s, &e) == 0)
		settings_free(&s);
	fuzz_write("offices.yaml", data, size);
	if (offices_load(confdir, &o, &e) == 0) {
		(void)offices_find(&o, "fuzz");
		offices_free(&o);
	}
	return 0;
}
