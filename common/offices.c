/*
 * offices.c - load and check conf/offices.yaml; see offices.h.
 */
#include "offices.h"

#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "xalloc.h"

/* 1 if s is a valid office id. */
static int offices_id_valid(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > 32)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* Read a {schluessel, praefix} map. */
static int offices_bk(const conf_node *map, const char **s, const char **p, conf_err *e)
{
	static const char *const keys[] = {"schluessel", "praefix", NULL};
	const conf_node *bk = conf_get(map, "behoerdenkennung");

	if (conf_check_keys(bk, keys, "behoerdenkennung", e) == -1 ||
	    conf_str(bk, "schluessel", 1, NULL, s, e) == -1 ||
	    conf_str(bk, "praefix", 1, NULL, p, e) == -1)
		return -1;
	return 0;
}

int offices_load(const char *conf_dir, offices *o, conf_err *e)
{
	static const char *const top[] = {"city", "offices", NULL};
	static const char *const city_keys[] = {"name", "behoerdenkennung", NULL};
	static const char *const keys[] = {"id",    "name",    "number",  "pilot", "addressee",
					   "inbox", "message", "behoerdenkennung", NULL};
	static const char *const messages[] = {"0101", "0605", NULL};
	const conf_node *city, *list;
	char *file = fio_join(conf_dir, "offices.yaml");
	size_t i, k;

	memset(o, 0, sizeof(*o));
	o->root = conf_load(file, e);
	free(file);
	if (o->root == NULL)
		return -1;
	if (conf_check_keys(o->root, top, "offices.yaml", e) == -1)
		goto fail;
	city = conf_get(o->root, "city");
	if (conf_check_keys(city, city_keys, "city", e) == -1 ||
	    conf_str(city, "name", 1, NULL, &o->city_name, e) == -1 ||
	    offices_bk(city, &o->city_bk_schluessel, &o->city_bk_praefix, e) == -1)
		goto fail;
	list = conf_get(o->root, "offices");
	if (conf_expect(list, CONF_SEQ, "offices", e) == -1)
		goto fail;
	if (list->n == 0) {
		conf_fail(e, list, "no offices defined (expected at least one)");
		goto fail;
	}
	o->v = xcalloc(list->n, sizeof(*o->v));
	for (i = 0; i < list->n; i++) {
		const conf_node *m = list->items[i];
		struct office *of = &o->v[i];
		int msg;

		if (conf_check_keys(m, keys, "office", e) == -1 ||
		    conf_str(m, "id", 1, NULL, &of->id, e) == -1 ||
		    conf_str(m, "name", 1, NULL, &of->name, e) == -1 ||
		    conf_str(m, "number", 0, "", &of->number, e) == -1 ||
		    conf_bool(m, "pilot", 1, 0, &of->pilot, e) == -1 ||
		    conf_strlist(m, "addressee", &of->addressee, &of->n_addressee, e) == -1 ||
		    conf_str(m, "inbox", 0, NULL, &of->inbox, e) == -1 ||
		    conf_enum(m, "message", 0, 0, messages, &msg, e) == -1 ||
		    offices_bk(m, &of->bk_schluessel, &of->bk_praefix, e) == -1)
			goto fail_n;
		o->n = i + 1;
		of->message = messages[msg];
		if (!offices_id_valid(of->id)) {
			conf_fail(e, conf_get(m, "id"),
				  "office id '%s' is not valid (expected a-z, 0-9 and -)", of->id);
			goto fail;
		}
		if (of->inbox == NULL)
			of->inbox = of->id;
		if (strstr(of->inbox, "..") != NULL || of->inbox[0] == '/') {
			conf_fail(e, conf_get(m, "inbox"),
				  "inbox '%s' must be a folder name below paths.inbox", of->inbox);
			goto fail;
		}
		for (k = 0; k < i; k++) {
			if (strcmp(o->v[k].id, of->id) == 0) {
				conf_fail(e, conf_get(m, "id"), "office id '%s' defined twice",
					  of->id);
				goto fail;
			}
		}
	}
	return 0;
fail_n:
	o->n = i + 1; /* free the addressee list of the partly read office too */
fail:
	offices_free(o);
	return -1;
}

void offices_free(offices *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		free(o->v[i].addressee);
	free(o->v);
	conf_free(o->root);
	memset(o, 0, sizeof(*o));
}

const struct office *offices_find(const offices *o, const char *id)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (strcmp(o->v[i].id, id) == 0)
			return &o->v[i];
	return NULL;
}
