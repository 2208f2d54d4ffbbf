/*
 * fuzz_receipt.c - libFuzzer target: xdomea import receipts from a DMS's reply
 * folder (dms-export), validated against the real xdomea 3.0.0 schema of
 * ../shared/xsd (read in place). The bytes go through export_receipt_parse
 * directly, then as a file of a scratch reply folder through export_replies_scan,
 * as mailroom-dms-export reads it: r.zip (a container, unpacked by libzip with
 * its bounds) when they start like a ZIP, else r.xml; matched by ProzessID
 * against an index that knows the ProzessID of tests/data/export/receipts, moved
 * to done/, bad/ or unknown/ and journaled (a scratch journal).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export_receipt.h"
#include "export_replies.h"
#include "fileio.h"
#include "fuzz_util.h"
#include "journal.h"
#include "xmlschema.h"

#define FUZZ_PID "3f2b8c1e-9a4d-4e7b-8c21-5d6e7f8a9b0c" /* tests/data/export/receipts */

static char fz_replies[600], fz_index[600], fz_archive[600];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static xmlschema *s;
	static journal *jr;
	struct export_receipt r;
	struct export_replies_env env;
	struct export_replies_office o;
	struct export_replies_counts c;
	char err[1024], path[700];

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
		snprintf(fz_replies, sizeof(fz_replies), "%s/replies", fuzz_dir());
		snprintf(fz_index, sizeof(fz_index), "%s/index", fuzz_dir());
		snprintf(fz_archive, sizeof(fz_archive), "%s/archive", fuzz_dir());
		snprintf(path, sizeof(path), "%s/journal.db", fuzz_dir());
		if (fio_mkdirs(fz_index, 0700) == -1 || fio_mkdirs(fz_archive, 0700) == -1 ||
		    (jr = journal_open(path, err, sizeof(err))) == NULL ||
		    export_index_put(fz_index, FUZZ_PID, "20260101T000000Z-fuzz0001", "fuzzamt",
				     "fuzz.zip", "00") == -1)
			abort();
	}
	if (export_receipt_parse(s, (const char *)data, size, &r, err, sizeof(err)) == 0)
		(void)export_receipt_code_text(r.dms_id);

	fio_rmtree(fz_replies);
	if (fio_mkdirs(fz_replies, 0700) == -1)
		abort();
	snprintf(path, sizeof(path), "%s/%s", fz_replies,
		 size >= 4 && memcmp(data, "PK\003\004", 4) == 0 ? "r.zip" : "r.xml");
	fuzz_write(path + strlen(fuzz_dir()) + 1, data, size);
	memset(&env, 0, sizeof(env));
	env.jr = jr;
	env.schema = s;
	env.index_dir = fz_index;
	env.archive_dir = fz_archive;
	env.create = 1;
	memset(&o, 0, sizeof(o));
	o.office = "fuzzamt";
	o.replies = fz_replies;
	memset(&c, 0, sizeof(c));
	(void)export_replies_scan(&env, &o, &c);
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr,
			"fuzz_receipt: receipts %d rejected %d duplicates %d unknown %d bad %d "
			"failed %d\n",
			c.receipts, c.rejected, c.duplicates, c.unknown, c.bad, c.failed);
	return 0;
}
