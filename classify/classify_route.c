/*
 * classify_route.c - office routing of a classified letter; see classify_route.h.
 *
 * XXX without an address region (no postal code line found) the whole top region
 * is searched, letterhead included: a sender that is itself an office of the city
 * may then be taken for the addressee; two offices found go to review, so this
 * never routes silently to the wrong one of two.
 */
#include "classify_route.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"

int classify_route(const offices *of, const struct classify_type *t, const char *top,
		   struct classify_route *out)
{
	buf folded, names;
	size_t i, k, found = 0;
	int rc = 1;

	memset(out, 0, sizeof(*out));
	if (t->office != NULL) {
		out->how = "type";
		if ((out->office = offices_find(of, t->office)) == NULL) {
			/* the rules were checked against offices.yaml at load */
			snprintf(out->reason, sizeof(out->reason),
				 "office '%s' of type %s is not in offices.yaml", t->office, t->id);
			return 1;
		}
		return 0;
	}
	out->how = "address";
	buf_init(&folded, CLASSIFY_TEXT_MAX + 1);
	buf_init(&names, 256);
	if (classify_rules_fold(top != NULL ? top : "", &folded) == -1) {
		snprintf(out->reason, sizeof(out->reason),
			 "the address block is too large to search; decide with mailroom review");
		goto out;
	}
	for (i = 0; i < of->n; i++) {
		const struct office *o = &of->v[i];

		for (k = 0; k < o->n_addressee; k++) {
			buf term;
			int hit;

			buf_init(&term, 1024);
			hit = classify_rules_fold(o->addressee[k], &term) == 0 && term.len > 0 &&
			      classify_rules_find(folded.data, term.data, NULL);
			buf_free(&term);
			if (!hit)
				continue;
			if (found++ == 0) {
				out->office = o;
				snprintf(out->matched, sizeof(out->matched), "%s", o->addressee[k]);
			}
			buf_printf(&names, "%s%s", names.len ? ", " : "", o->id);
			break;
		}
	}
	if (found == 0) {
		snprintf(out->reason, sizeof(out->reason),
			 "%s: no office found in the address block; decide with mailroom review",
			 t->id);
		goto out;
	}
	if (found > 1) {
		snprintf(out->reason, sizeof(out->reason),
			 "%s: the address block names %zu offices (%s); decide with mailroom "
			 "review",
			 t->id, found, names.data);
		out->office = NULL;
		out->matched[0] = '\0';
		goto out;
	}
	rc = 0;
out:
	buf_free(&folded);
	buf_free(&names);
	return rc;
}

int classify_route_letter(const offices *of, const struct classify_type *t, const char *text,
			  const char *top, struct classify_route *out)
{
	struct classify_regions rg;
	buf guess;
	const char *block;
	int rc;

	buf_init(&guess, CLASSIFY_TEXT_MAX + 1);
	classify_regions_find(text, &rg);
	if (rg.address.len > 0) {
		block = rg.address.data;
	} else if (top != NULL) {
		block = top;
	} else {
		if (classify_rules_top_guess(text, &guess) == -1)
			buf_reset(&guess);
		block = guess.data != NULL ? guess.data : "";
	}
	rc = classify_route(of, t, block, out);
	out->block = rg.address.len > 0 ? "address" : "top";
	classify_regions_free(&rg);
	buf_free(&guess);
	return rc;
}
