/*
 * fuzz_scankonzept.c - libFuzzer target: the Scankonzept (conf/scankonzept.yaml)
 * as mailroom-classify loads it: conf_load_mem, classify_rules_load against the
 * shipped conf/offices.yaml, and a loaded rule set scores a fixed letter (regexes
 * compiled from the input run, fuzzy matching, the trace).
 */
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "classify_rules.h"
#include "conf.h"
#include "fuzz_util.h"
#include "offices.h"

static const char fuzz_letter[] =
    "Stadt Musterstadt\nBürgeramt\nMusterstraße 1\n12345 Musterstadt\n\n"
    "Max Mustermann\nBeispielweg 5\n12345 Musterstadt\n\n01.02.2026\n"
    "Betreff: Widerspruch gegen den Bescheid vom 10.01.2026\n\n"
    "Sehr geehrte Damen und Herren,\nhiermit lege ich Widerspruch ein. Rechnung Nr. 4711\n"
    "Antrag auf Wohngeld, Bewerbung, Gericht, Aktenzeichen 2 K 123/26\n"
    "Mit freundlichen Grüßen\nMax Mustermann\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static offices of;
	static int init;
	conf_node *root;
	classify_rules *cr;
	struct classify_decision d;
	conf_err e;

	if (!init) {
		char dir[1024];

		fuzz_quiet();
		snprintf(dir, sizeof(dir), "%s", fuzz_source_file("conf"));
		if (offices_load(dir, &of, &e) == -1) {
			fprintf(stderr, "fuzz_scankonzept: %s\n", e.msg);
			abort();
		}
		init = 1;
	}
	if ((root = conf_load_mem("scankonzept.yaml", (const char *)data, size, &e)) == NULL)
		return 0;
	if ((cr = classify_rules_load(root, &of, &e)) != NULL) {
		if (classify_rules_score(cr, fuzz_letter, NULL, &d) == 0) {
			json_object *t = classify_decision_trace(cr, &d);

			json_object_put(t);
		}
		classify_decision_free(&d);
		classify_rules_free(cr);
	}
	conf_free(root);
	return 0;
}
