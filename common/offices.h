/*
 * offices.h - conf/offices.yaml: the offices (Ämter) that receive mail, shared by
 * classify (routing by the address block) and dms-export (inbox, message type).
 */
#ifndef MAILROOM_OFFICES_H
#define MAILROOM_OFFICES_H

#include <stddef.h>

#include "conf.h"

struct office {
	const char *id;       /* [a-z0-9-]+ */
	const char *name;
	const char *number;
	int pilot;            /* 1: digital delivery into VIS */
	const char **addressee; /* NULL-terminated */
	size_t n_addressee;
	const char *inbox;    /* relative to paths.inbox */
	const char *message;  /* "0101" or "0605" */
	const char *bk_schluessel, *bk_praefix; /* Behördenkennung */
};

typedef struct offices {
	conf_node *root;
	const char *city_name;
	const char *city_bk_schluessel, *city_bk_praefix;
	struct office *v;
	size_t n;
} offices;

/* Load conf_dir/offices.yaml. -1 with e set (file:line) on error. */
int offices_load(const char *conf_dir, offices *o, conf_err *e);
void offices_free(offices *o);
/* The office with this id, or NULL. */
const struct office *offices_find(const offices *o, const char *id);

#endif
