/*
 * conf.c - YAML configuration tree with line marks; see conf.h.
 */
#include "conf.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "buf.h"
#include "fileio.h"
#include "xalloc.h"

#define CONF_MAX_FILE (4u << 20) /* a config file larger than 4 MiB is a mistake */
#define CONF_MAX_DEPTH 32

int conf_fail(conf_err *e, const conf_node *n, const char *fmt, ...)
{
	char what[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (n != NULL)
		snprintf(e->msg, sizeof(e->msg), "%s:%d: %s", n->file, n->line, what);
	else
		snprintf(e->msg, sizeof(e->msg), "%s", what);
	return -1;
}

static conf_node *conf_node_new(enum conf_kind k, const char *file, const yaml_event_t *ev)
{
	conf_node *n = xcalloc(1, sizeof(*n));

	n->kind = k;
	n->file = file;
	n->line = (int)ev->start_mark.line + 1;
	return n;
}

/* Free a subtree (not the file name). */
static void conf_node_free(conf_node *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->n; i++) {
		conf_node_free(n->items[i]);
		if (n->keys != NULL)
			free(n->keys[i]);
	}
	free(n->items);
	free(n->keys);
	free(n->value);
	free(n);
}

conf_node *conf_free(conf_node *root)
{
	char *file;

	if (root == NULL)
		return NULL;
	file = (char *)root->file;
	conf_node_free(root);
	free(file);
	return NULL;
}

struct conf_parse {
	yaml_parser_t p;
	const char *file;
	conf_err *e;
};

/* Next event; -1 with a message on a YAML syntax error. */
static int conf_next(struct conf_parse *cp, yaml_event_t *ev)
{
	if (yaml_parser_parse(&cp->p, ev))
		return 0;
	snprintf(cp->e->msg, sizeof(cp->e->msg), "%s:%zu: YAML syntax error: %s%s%s", cp->file,
		 cp->p.problem_mark.line + 1, cp->p.problem ? cp->p.problem : "unknown",
		 cp->p.context ? " " : "", cp->p.context ? cp->p.context : "");
	return -1;
}

static conf_node *conf_parse_node(struct conf_parse *cp, yaml_event_t *ev, int depth);

/* Append child to a map or sequence node. */
static void conf_push(conf_node *n, char *key, conf_node *child)
{
	n->items = xrealloc(n->items, (n->n + 1) * sizeof(*n->items));
	if (n->kind == CONF_MAP) {
		n->keys = xrealloc(n->keys, (n->n + 1) * sizeof(*n->keys));
		n->keys[n->n] = key;
	}
	n->items[n->n++] = child;
}

/* Build the node that starts with event ev (consumed). */
static conf_node *conf_parse_node(struct conf_parse *cp, yaml_event_t *ev, int depth)
{
	conf_node *n = NULL;
	yaml_event_t sub;

	if (depth > CONF_MAX_DEPTH) {
		snprintf(cp->e->msg, sizeof(cp->e->msg), "%s:%zu: nested too deeply (max %d)",
			 cp->file, ev->start_mark.line + 1, CONF_MAX_DEPTH);
		yaml_event_delete(ev);
		goto fail;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n = conf_node_new(CONF_SCALAR, cp->file, ev);
		n->value = xstrdup((const char *)ev->data.scalar.value);
		if (strlen(n->value) != ev->data.scalar.length) {
			conf_fail(cp->e, n, "NUL byte in a value");
			yaml_event_delete(ev);
			goto fail;
		}
		yaml_event_delete(ev);
		return n;
	case YAML_SEQUENCE_START_EVENT:
		n = conf_node_new(CONF_SEQ, cp->file, ev);
		yaml_event_delete(ev);
		for (;;) {
			conf_node *c;

			if (conf_next(cp, &sub) == -1)
				goto fail;
			if (sub.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&sub);
				return n;
			}
			if ((c = conf_parse_node(cp, &sub, depth + 1)) == NULL)
				goto fail;
			conf_push(n, NULL, c);
		}
	case YAML_MAPPING_START_EVENT:
		n = conf_node_new(CONF_MAP, cp->file, ev);
		yaml_event_delete(ev);
		for (;;) {
			conf_node *c;
			char *key;
			size_t i;
			int kline;

			if (conf_next(cp, &sub) == -1)
				goto fail;
			if (sub.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&sub);
				return n;
			}
			kline = (int)sub.start_mark.line + 1;
			if (sub.type != YAML_SCALAR_EVENT) {
				snprintf(cp->e->msg, sizeof(cp->e->msg),
					 "%s:%d: a key must be a plain word", cp->file, kline);
				yaml_event_delete(&sub);
				goto fail;
			}
			key = xstrdup((const char *)sub.data.scalar.value);
			yaml_event_delete(&sub);
			for (i = 0; i < n->n; i++) {
				if (strcmp(n->keys[i], key) == 0) {
					snprintf(cp->e->msg, sizeof(cp->e->msg),
						 "%s:%d: key '%s' given twice (first at line %d)",
						 cp->file, kline, key, n->items[i]->line);
					free(key);
					goto fail;
				}
			}
			if (conf_next(cp, &sub) == -1) {
				free(key);
				goto fail;
			}
			if ((c = conf_parse_node(cp, &sub, depth + 1)) == NULL) {
				free(key);
				goto fail;
			}
			c->line = c->kind == CONF_SCALAR ? c->line : kline;
			conf_push(n, key, c);
		}
	case YAML_ALIAS_EVENT:
		snprintf(cp->e->msg, sizeof(cp->e->msg),
			 "%s:%zu: YAML aliases (*name) are not allowed in mailroom configuration",
			 cp->file, ev->start_mark.line + 1);
		break;
	default:
		snprintf(cp->e->msg, sizeof(cp->e->msg), "%s:%zu: unexpected YAML structure",
			 cp->file, ev->start_mark.line + 1);
		break;
	}
	yaml_event_delete(ev);
	return NULL;
fail:
	conf_node_free(n);
	return NULL;
}

conf_node *conf_load_mem(const char *name, const char *data, size_t len, conf_err *e)
{
	struct conf_parse cp;
	yaml_event_t ev;
	conf_node *root = NULL;
	char *file = xstrdup(name);

	memset(&cp, 0, sizeof(cp));
	cp.file = file;
	cp.e = e;
	e->msg[0] = '\0';
	if (!yaml_parser_initialize(&cp.p)) {
		snprintf(e->msg, sizeof(e->msg), "%s: cannot initialise the YAML parser", name);
		free(file);
		return NULL;
	}
	yaml_parser_set_input_string(&cp.p, (const unsigned char *)data, len);
	/* stream start, document start */
	if (conf_next(&cp, &ev) == -1)
		goto fail;
	yaml_event_delete(&ev);
	if (conf_next(&cp, &ev) == -1)
		goto fail;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		snprintf(e->msg, sizeof(e->msg), "%s:1: the file is empty", name);
		goto fail;
	}
	yaml_event_delete(&ev);
	if (conf_next(&cp, &ev) == -1)
		goto fail;
	if ((root = conf_parse_node(&cp, &ev, 0)) == NULL)
		goto fail;
	if (conf_next(&cp, &ev) == -1) /* document end */
		goto fail;
	yaml_event_delete(&ev);
	if (conf_next(&cp, &ev) == -1)
		goto fail;
	if (ev.type != YAML_STREAM_END_EVENT) {
		snprintf(e->msg, sizeof(e->msg), "%s:%zu: only one YAML document is allowed", name,
			 ev.start_mark.line + 1);
		yaml_event_delete(&ev);
		goto fail;
	}
	yaml_event_delete(&ev);
	yaml_parser_delete(&cp.p);
	return root;
fail:
	yaml_parser_delete(&cp.p);
	if (root != NULL)
		conf_node_free(root);
	free(file);
	return NULL;
}

conf_node *conf_load(const char *path, conf_err *e)
{
	buf b;
	conf_node *root;

	buf_init(&b, CONF_MAX_FILE);
	if (fio_read_file(path, CONF_MAX_FILE, &b) == -1) {
		snprintf(e->msg, sizeof(e->msg), "%s: cannot read: %s", path,
			 errno == E2BIG ? "larger than 4 MiB" : strerror(errno));
		buf_free(&b);
		return NULL;
	}
	root = conf_load_mem(path, b.data ? b.data : "", b.len, e);
	buf_free(&b);
	return root;
}

const conf_node *conf_get(const conf_node *map, const char *key)
{
	size_t i;

	if (map == NULL || map->kind != CONF_MAP)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (strcmp(map->keys[i], key) == 0)
			return map->items[i];
	return NULL;
}

static const char *conf_kind_name(enum conf_kind k)
{
	return k == CONF_SCALAR ? "a single value" : k == CONF_MAP ? "a map of key: value" : "a list";
}

int conf_expect(const conf_node *n, enum conf_kind k, const char *what, conf_err *e)
{
	if (n == NULL)
		return conf_fail(e, NULL, "%s is missing", what);
	if (n->kind != k)
		return conf_fail(e, n, "%s must be %s, not %s", what, conf_kind_name(k),
				 conf_kind_name(n->kind));
	return 0;
}

int conf_check_keys(const conf_node *map, const char *const *allowed, const char *what,
		    conf_err *e)
{
	size_t i, j;

	if (conf_expect(map, CONF_MAP, what, e) == -1)
		return -1;
	for (i = 0; i < map->n; i++) {
		int ok = 0;

		for (j = 0; allowed[j] != NULL; j++)
			if (strcmp(map->keys[i], allowed[j]) == 0)
				ok = 1;
		if (!ok) {
			buf b;

			buf_init(&b, 600);
			for (j = 0; allowed[j] != NULL; j++)
				if (buf_printf(&b, "%s%s", j ? ", " : "", allowed[j]) == -1)
					break;
			conf_fail(e, map->items[i], "unknown key '%s' in %s (expected one of: %s)",
				  map->keys[i], what, b.data ? b.data : "");
			buf_free(&b);
			return -1;
		}
	}
	return 0;
}

/* The scalar for key, NULL if absent; -1 if present but not a scalar. */
static int conf_scalar(const conf_node *map, const char *key, const conf_node **out, conf_err *e)
{
	const conf_node *n = conf_get(map, key);

	*out = n;
	if (n != NULL && n->kind != CONF_SCALAR)
		return conf_fail(e, n, "'%s' must be a single value, not %s", key,
				 conf_kind_name(n->kind));
	return 0;
}

/* Absent key: error if required. */
static int conf_absent(const conf_node *map, const char *key, int required, conf_err *e)
{
	if (required)
		return conf_fail(e, map, "required key '%s' is missing", key);
	return 0;
}

int conf_str(const conf_node *map, const char *key, int required, const char *def,
	     const char **out, conf_err *e)
{
	const conf_node *n;

	if (conf_scalar(map, key, &n, e) == -1)
		return -1;
	if (n == NULL) {
		*out = def;
		return conf_absent(map, key, required, e);
	}
	*out = n->value;
	return 0;
}

int conf_long(const conf_node *map, const char *key, int required, long def, long min,
	      long max, long *out, conf_err *e)
{
	const conf_node *n;
	char *end;
	long v;

	if (conf_scalar(map, key, &n, e) == -1)
		return -1;
	if (n == NULL) {
		*out = def;
		return conf_absent(map, key, required, e);
	}
	errno = 0;
	v = strtol(n->value, &end, 10);
	if (errno != 0 || end == n->value || *end != '\0')
		return conf_fail(e, n, "'%s: %s' is not a whole number (expected %ld..%ld)", key,
				 n->value, min, max);
	if (v < min || v > max)
		return conf_fail(e, n, "'%s: %ld' is out of range (expected %ld..%ld)", key, v,
				 min, max);
	*out = v;
	return 0;
}

int conf_double(const conf_node *map, const char *key, int required, double def, double min,
		double max, double *out, conf_err *e)
{
	const conf_node *n;
	char *end;
	double v;

	if (conf_scalar(map, key, &n, e) == -1)
		return -1;
	if (n == NULL) {
		*out = def;
		return conf_absent(map, key, required, e);
	}
	errno = 0;
	v = strtod(n->value, &end);
	if (errno != 0 || end == n->value || *end != '\0' || !isfinite(v))
		return conf_fail(e, n, "'%s: %s' is not a number (expected %g..%g)", key, n->value,
				 min, max);
	if (v < min || v > max)
		return conf_fail(e, n, "'%s: %g' is out of range (expected %g..%g)", key, v, min,
				 max);
	*out = v;
	return 0;
}

int conf_bool(const conf_node *map, const char *key, int required, int def, int *out,
	      conf_err *e)
{
	const conf_node *n;

	if (conf_scalar(map, key, &n, e) == -1)
		return -1;
	if (n == NULL) {
		*out = def;
		return conf_absent(map, key, required, e);
	}
	if (strcasecmp(n->value, "true") == 0 || strcasecmp(n->value, "yes") == 0)
		*out = 1;
	else if (strcasecmp(n->value, "false") == 0 || strcasecmp(n->value, "no") == 0)
		*out = 0;
	else
		return conf_fail(e, n, "'%s: %s' is not a yes/no value (expected true or false)",
				 key, n->value);
	return 0;
}

int conf_enum(const conf_node *map, const char *key, int required, int def,
	      const char *const *choices, int *out, conf_err *e)
{
	const conf_node *n;
	buf b;
	int i;

	if (conf_scalar(map, key, &n, e) == -1)
		return -1;
	if (n == NULL) {
		*out = def;
		return conf_absent(map, key, required, e);
	}
	for (i = 0; choices[i] != NULL; i++) {
		if (strcmp(n->value, choices[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	buf_init(&b, 600);
	for (i = 0; choices[i] != NULL; i++)
		if (buf_printf(&b, "%s%s", i ? ", " : "", choices[i]) == -1)
			break;
	conf_fail(e, n, "'%s: %s' is not allowed (expected one of: %s)", key, n->value,
		  b.data ? b.data : "");
	buf_free(&b);
	return -1;
}

int conf_strlist(const conf_node *map, const char *key, const char ***out, size_t *n,
		 conf_err *e)
{
	const conf_node *l = conf_get(map, key);
	const char **v;
	size_t i;

	*out = NULL;
	*n = 0;
	if (l == NULL) {
		*out = xcalloc(1, sizeof(**out));
		return 0;
	}
	if (l->kind == CONF_SCALAR) {
		v = xcalloc(2, sizeof(*v));
		v[0] = l->value;
		*out = v;
		*n = 1;
		return 0;
	}
	if (l->kind != CONF_SEQ)
		return conf_fail(e, l, "'%s' must be a list of values", key);
	v = xcalloc(l->n + 1, sizeof(*v));
	for (i = 0; i < l->n; i++) {
		if (l->items[i]->kind != CONF_SCALAR) {
			free(v);
			return conf_fail(e, l->items[i], "'%s' must be a list of single values",
					 key);
		}
		v[i] = l->items[i]->value;
	}
	*out = v;
	*n = l->n;
	return 0;
}
