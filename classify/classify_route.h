/*
 * classify_route.h - which office receives a classified letter.
 *
 * A type of the Scankonzept names its office, or says "address": then the office
 * is the one whose addressee words (offices.yaml) appear in the top region of
 * page 1 (the address block). No office, or more than one, is not guessed: the
 * letter goes to review with the reason.
 */
#ifndef MAILROOM_CLASSIFY_ROUTE_H
#define MAILROOM_CLASSIFY_ROUTE_H

#include <stddef.h>

#include "classify_rules.h"
#include "offices.h"

struct classify_route {
	const struct office *office; /* NULL when not routed; owned by the offices */
	const char *how;	     /* "type" or "address" */
	char matched[128];	     /* the addressee word found (routing by address) */
	const char *block;	     /* "address" or "top": the text that was searched */
	char reason[512];	     /* why it was not routed */
};

/* Route a letter of type t whose page-1 top region is top. 0 routed, 1 review. */
int classify_route(const offices *of, const struct classify_type *t, const char *top,
		   struct classify_route *out);

/*
 * Route a letter by its text: the address region of page 1 (classify_regions_find)
 * when the layout heuristic finds one, else the top region (top; NULL: guessed).
 * out->block says which was searched ("address" or "top"). 0 routed, 1 review.
 */
int classify_route_letter(const offices *of, const struct classify_type *t, const char *text,
			  const char *top, struct classify_route *out);

#endif
