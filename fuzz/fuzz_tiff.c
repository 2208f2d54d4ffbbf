/*
 * fuzz_tiff.c - libFuzzer target: scan.tiff as the sign stage ingests it
 * (sign/sign_qs.c on common/tiffpage.c): tiffpage_open with the stage's
 * TIFFOpenOptions (largest single allocation SIGN_QS_MAX_ALLOC, errors routed to
 * the log), every directory walked, every page decoded row by row and digested
 * (tiffpage_digest). libtiff reads a path, so the bytes become a scratch file.
 */
#include <json-c/json.h>

#include "fuzz_util.h"
#include "sign_qs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct sign_qs qs;
	const char *path;
	json_object *capture;

	if (!init) {
		fuzz_quiet();
		init = 1;
	}
	path = fuzz_write("scan.tiff", data, size);
	/* a capture record that expects one page, with no digest */
	capture = json_tokener_parse("{\"page_count\": 1, \"pages\": [{}]}");
	sign_qs_run(path, capture, &qs, "fuzz");
	sign_qs_free(&qs);
	json_object_put(capture);
	return 0;
}
