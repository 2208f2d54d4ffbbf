/*
 * scan_pagecheck.c - test helper for the scan integration scripts: recomputes the
 * page digest of every page of a job's scan.tiff the way the sign stage does
 * (tiffpage_digest) and compares it with capture.pages[].sha256 of job.json; also
 * checks that capture.page_count matches. Not a test itself.
 *
 *	scan_pagecheck DIR   exit 0 and "N pages ok", or 1 with the first mismatch
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <tiffio.h>

#include "log.h"
#include "tiffpage.h"

int main(int argc, char **argv)
{
	char path[4096], hex[DIGEST_SHA256_HEX];
	struct tiffpage_errs msg;
	struct tiffpage_info info;
	json_object *j, *c, *pages, *pc;
	TIFF *tif;
	size_t i = 0, n;

	log_init("scan_pagecheck");
	if (argc != 2) {
		fprintf(stderr, "usage: scan_pagecheck DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/job.json", argv[1]);
	if ((j = json_object_from_file(path)) == NULL ||
	    !json_object_object_get_ex(j, "capture", &c) ||
	    !json_object_object_get_ex(c, "pages", &pages) ||
	    !json_object_object_get_ex(c, "page_count", &pc)) {
		fprintf(stderr, "scan_pagecheck: %s: no capture.pages\n", path);
		return 1;
	}
	n = json_object_array_length(pages);
	if ((size_t)json_object_get_int(pc) != n) {
		fprintf(stderr, "scan_pagecheck: page_count %d, pages[] %zu\n",
			json_object_get_int(pc), n);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/scan.tiff", argv[1]);
	memset(&msg, 0, sizeof(msg));
	msg.tag = "scan_pagecheck";
	if ((tif = tiffpage_open(path, 0, &msg)) == NULL) {
		fprintf(stderr, "scan_pagecheck: %s: %s\n", path, msg.msg);
		return 1;
	}
	do {
		json_object *h;

		if (i >= n) {
			fprintf(stderr, "scan_pagecheck: scan.tiff has more than %zu pages\n", n);
			return 1;
		}
		if (tiffpage_digest(tif, &info, hex) != TIFFPAGE_OK) {
			fprintf(stderr, "scan_pagecheck: page %zu cannot be decoded\n", i + 1);
			return 1;
		}
		if (!json_object_object_get_ex(json_object_array_get_idx(pages, i), "sha256", &h) ||
		    strcmp(json_object_get_string(h), hex) != 0) {
			fprintf(stderr, "scan_pagecheck: page %zu: digest %s, recorded %s\n", i + 1,
				hex, h ? json_object_get_string(h) : "(none)");
			return 1;
		}
		i++;
	} while (TIFFReadDirectory(tif));
	TIFFClose(tif);
	if (i != n) {
		fprintf(stderr, "scan_pagecheck: scan.tiff has %zu pages, the record %zu\n", i, n);
		return 1;
	}
	printf("%zu pages ok\n", n);
	json_object_put(j);
	return 0;
}
