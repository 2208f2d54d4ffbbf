/*
 * conf.h - configuration files: YAML (libyaml) into a tree with file:line marks,
 * plus typed, checked accessors.
 *
 * Every accessor that fails writes "file:line: what was wrong (expected ...)" into
 * a conf_err, so a wrong key or value stops a program at start with a message that
 * names the place and the fix. conf_check_keys() rejects unknown keys, which catches
 * typos. Anchors, aliases and duplicate keys are refused.
 */
#ifndef MAILROOM_CONF_H
#define MAILROOM_CONF_H

#include <stddef.h>

enum conf_kind { CONF_SCALAR, CONF_MAP, CONF_SEQ };

typedef struct conf_node conf_node;
struct conf_node {
	enum conf_kind kind;
	const char *file;  /* shared by all nodes of a file; owned by the root */
	int line;          /* 1-based line of the node's start */
	char *value;       /* CONF_SCALAR: the text */
	size_t n;          /* CONF_MAP / CONF_SEQ: number of entries */
	char **keys;       /* CONF_MAP: n keys */
	conf_node **items; /* CONF_MAP: n values; CONF_SEQ: n items */
};

typedef struct conf_err {
	char msg[1024];
} conf_err;

/* Parse a YAML file. NULL on error with e->msg set. Free with conf_free. */
conf_node *conf_load(const char *path, conf_err *e);
/* Parse YAML from memory (name is used in messages); for tests and fuzzing. */
conf_node *conf_load_mem(const char *name, const char *data, size_t len, conf_err *e);
conf_node *conf_free(conf_node *root);

/* Set e->msg to "file:line: ..." for node n; always returns -1. */
int conf_fail(conf_err *e, const conf_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The value of key in a map, or NULL (also when map is NULL). */
const conf_node *conf_get(const conf_node *map, const char *key);
/* -1 unless n is of kind k ("what" names it in the message). */
int conf_expect(const conf_node *n, enum conf_kind k, const char *what, conf_err *e);
/* -1 if map has a key not in the NULL-terminated list allowed. */
int conf_check_keys(const conf_node *map, const char *const *allowed, const char *what,
		    conf_err *e);

/*
 * Typed getters. Return 0 with *out set, or -1 with e set. When the key is absent
 * the default is used if required is 0, else it is an error.
 * Strings returned are owned by the tree.
 */
int conf_str(const conf_node *map, const char *key, int required, const char *def,
	     const char **out, conf_err *e);
int conf_long(const conf_node *map, const char *key, int required, long def, long min,
	      long max, long *out, conf_err *e);
int conf_double(const conf_node *map, const char *key, int required, double def, double min,
		double max, double *out, conf_err *e);
int conf_bool(const conf_node *map, const char *key, int required, int def, int *out,
	      conf_err *e);
/* One of a NULL-terminated list of words; *out is its index. */
int conf_enum(const conf_node *map, const char *key, int required, int def,
	      const char *const *choices, int *out, conf_err *e);
/* A sequence of scalars (or one scalar, taken as a list of one); NULL-terminated
 * array in *out, caller frees the array (not the strings). Absent: empty list. */
int conf_strlist(const conf_node *map, const char *key, const char ***out, size_t *n,
		 conf_err *e);

#endif
