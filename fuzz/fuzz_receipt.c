/*
 * fuzz_receipt.c - libFuzzer target: xdomea import receipts from a DMS's reply
 * folder (dms-export/export_receipt.c), parsed and validated against the real
 * xdomea 3.0.0 schema of ../shared/xsd (read in place) as export_replies does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "export_receipt.h"
#include "fuzz_util.h"
#include "xmlschema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static xmlschema *s;
	struct export_receipt r;
	char err[1024];

	if (s == NULL) {
		const char *p = fuzz_shared_file("xsd/xdomea_3.0.0/xdomea.xsd");

		fuzz_quiet();
		if (access(p, R_OK) == -1) {
			fprintf(stderr, "fuzz_receipt: %s: not there; skipped\n", p);
			exit(77); /* ctest: SKIP_RETURN_CODE */
		}
		if ((s = xmlschema_load(p, err, sizeof(err))) == NULL) {
			fprintf(stderr, "fuzz_receipt: %s: %s\n", p, err);
			abort();
		}
	}
	if (export_receipt_parse(s, (const char *)data, size, &r, err, sizeof(err)) == 0)
		(void)export_receipt_code_text(r.dms_id);
	return 0;
}
