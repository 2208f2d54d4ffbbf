/*
 * fuzz_import.c - libFuzzer target: files dropped into the import folder, as
 * mailroom-scan imports them (scan/scan_import.c): the type detected from the
 * first bytes (TIFF, PNG, JPEG, PDF), every page decoded with the import limits
 * and streamed into a scan_tiff writer (SCAN_TIFF_MAX_ALLOC, as scan.c). The
 * page and pixel limits are those of conf/scan.yaml `import:` made smaller (4
 * pages of 4 megapixels, PDF at 72 dpi) so that one input stays within the
 * fuzzer's time limit; the code that enforces them is the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "scan_import.h"
#include "scan_job.h"
#include "scan_tiff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	static const struct scan_import_limits lim = {
	    .max_pixels = 4000000L,
	    .max_pages = 4,
	    .pdf_dpi = 72,
	    .default_dpi = 300,
	    .max_alloc = SCAN_TIFF_MAX_ALLOC,
	};
	struct scan_tiff_meta meta;
	enum scan_import_kind k;
	char err[1024], out[600];
	const char *path;
	scan_tiff *t;

	if (!init) {
		fuzz_quiet();
		init = 1;
	}
	path = fuzz_write("import.bin", data, size);
	if ((k = scan_import_detect(path, err, sizeof(err))) == SCAN_IMPORT_UNKNOWN)
		return 0;
	snprintf(out, sizeof(out), "%s/scan.tiff", fuzz_dir());
	unlink(out);
	memset(&meta, 0, sizeof(meta));
	meta.make = "import";
	meta.model = scan_import_name(k);
	meta.software = "mailroom-fuzz";
	meta.artist = "fuzz";
	meta.source = "import.bin";
	if ((t = scan_tiff_create(out, &meta, SCAN_TIFF_MAX_ALLOC, err, sizeof(err))) == NULL)
		return 0;
	scan_tiff_nosync(t);
	if (scan_import_decode(path, k, &lim, t, NULL, "fuzz", err, sizeof(err)) == -1 &&
	    getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "fuzz_import: %s: %s\n", scan_import_name(k), err);
	(void)scan_tiff_close(t, err, sizeof(err));
	return 0;
}
