/*
 * tool_types.c - the document types of conf/scankonzept.yaml, as far as a
 * review decision needs them: id, name, scan mode, office, protection.
 *
 * The classify stage owns the file and validates all of it (rules, thresholds);
 * here only the keys a decision copies into the record are checked, so a
 * decision can never carry an unknown scan mode or office into the pipeline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "tool.h"
#include "xalloc.h"

static const char *const tool_scan_modes[] = {"ersetzend", "kopierend", "nicht_scannen", NULL};

int tool_types_from_conf(conf_node *root, struct tool_types *t, conf_err *e)
{
	const conf_node *types;
	size_t i, k;

	memset(t, 0, sizeof(*t));
	if (root == NULL)
		return -1; /* the parser already said why, in e */
	t->root = root;
	if (conf_expect(root, CONF_MAP, "scankonzept.yaml", e) == -1)
		goto fail;
	if ((types = conf_get(root, "types")) == NULL) {
		conf_fail(e, root, "no 'types:' list (the document types of the Scankonzept)");
		goto fail;
	}
	if (conf_expect(types, CONF_SEQ, "types", e) == -1)
		goto fail;
	t->v = xcalloc(types->n ? types->n : 1, sizeof(*t->v));
	for (i = 0; i < types->n; i++) {
		const conf_node *m = types->items[i];
		struct tool_type *ty = &t->v[i];
		int mode;

		if (conf_expect(m, CONF_MAP, "a type", e) == -1 ||
		    conf_str(m, "id", 1, NULL, &ty->id, e) == -1 ||
		    conf_str(m, "name", 0, NULL, &ty->name, e) == -1 ||
		    conf_enum(m, "scan_mode", 1, 0, tool_scan_modes, &mode, e) == -1 ||
		    conf_str(m, "office", 1, NULL, &ty->office, e) == -1)
			goto fail;
		if (ty->name == NULL)
			ty->name = ty->id;
		ty->scan_mode = tool_scan_modes[mode];
		ty->node = m;
		for (k = 0; k < i; k++)
			if (strcmp(t->v[k].id, ty->id) == 0) {
				conf_fail(e, m, "type '%s' is defined twice", ty->id);
				goto fail;
			}
		t->n++;
	}
	return 0;
fail:
	tool_types_free(t);
	return -1;
}

int tool_types_load(const char *conf_dir, struct tool_types *t, conf_err *e)
{
	char *path = fio_join(conf_dir, "scankonzept.yaml");
	conf_node *root = conf_load(path, e);

	free(path);
	memset(t, 0, sizeof(*t));
	if (root == NULL)
		return -1;
	return tool_types_from_conf(root, t, e);
}

void tool_types_free(struct tool_types *t)
{
	conf_free(t->root);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

const struct tool_type *tool_types_find(const struct tool_types *t, const char *id)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].id, id) == 0)
			return &t->v[i];
	return NULL;
}

const struct office *tool_types_office(const struct tool_type *ty, const offices *o,
				       const char *explicit_office, char *err, size_t errlen)
{
	const struct office *of;
	const char *want = explicit_office;

	if (want == NULL) {
		if (strcmp(ty->office, "address") == 0) {
			snprintf(err, errlen,
				 "type '%s' is routed by the address block: say which office "
				 "receives the letter with --office",
				 ty->id);
			return NULL;
		}
		want = ty->office;
	}
	if ((of = offices_find(o, want)) == NULL) {
		if (explicit_office != NULL)
			snprintf(err, errlen, "unknown office '%s' (see conf/offices.yaml)", want);
		else
			snprintf(err, errlen,
				 "type '%s' names office '%s', which is not in conf/offices.yaml",
				 ty->id, want);
		return NULL;
	}
	return of;
}
