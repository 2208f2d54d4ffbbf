/*
 * fuzz_sep.c - libFuzzer target: the QR payload of a separator sheet
 * (scan/scan_sep.c), as mailroom-scan's page analysis reads what zbar decoded.
 * A payload that parses must format back to the same bytes (the grammar has
 * one spelling per payload).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "scan_sep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_sep s;
	char err[256], out[SCAN_SEP_MAX + 1], shown[64];
	int n;

	(void)scan_sep_is_ours(data, size);
	scan_sep_printable(data, size, shown, sizeof(shown));
	if (scan_sep_parse(data, size, &s, err, sizeof(err)) == -1)
		return 0;
	if (!scan_sep_valid_id(s.batch) || s.sheet < 1 || s.sheet > SCAN_SEP_SHEET_MAX)
		abort(); /* the parser accepted what the grammar forbids */
	n = scan_sep_format(&s, out, sizeof(out), err, sizeof(err));
	if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0)
		abort(); /* parse and format disagree */
	return 0;
}
