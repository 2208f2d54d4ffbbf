#!/bin/bash
# classify_early.sh - the early type decision's two looks (conf/classify.yaml
# early.rest), through mailroom-classify --explain --json:
#  1. as shipped (rest: false), an advertising letter whose offer stands below the
#     top 40 % of page 1 is not decided by the first look; the full text decides
#     it (werbung) and the full-text OCR ran;
#  2. with rest: true the second look reads the rest of page 1 and decides it
#     early (nicht_scannen: no full-text OCR at all), the trace says so;
#  3. a letter decided from the top is decided by the first look alone either way
#     (and its record keeps what the first look read, though its text became the
#     letter's);
#  4. a wrong value of early.rest stops the program with file:line (exit 78).
. "$(dirname "$0")/classify_lib.sh"
classify_setup
CC="$TMP/conf/classify.yaml"
set_conf() { sed -i "s/^\( *$1:\).*/\1 $2/" "$CC"; }
explain() { "$CLASSIFY" -c "$TMP/conf" --explain --json "$1" 2>>"$TMP/err"; }

classify_render "$DATA/werbung_unten.tr" "$TMP/unten.tif"
classify_render "$DATA/werbung.tr" "$TMP/oben.tif"
grep -q '^  rest: false' "$CC" || fail "conf/classify.yaml does not ship early.rest: false"

# 1. as shipped
j=$(explain "$TMP/unten.tif")
echo "$j" | jq -e '.type == "werbung" and .decided_from == "full" and
	.early.safe == false and .early.region == "top 40% of page 1" and
	.early.dpi == 300 and .early.scale == 0.4 and .ocr.full_text == true' >/dev/null ||
	fail "rest off: not decided from the full text: $(echo "$j" | jq -c 'del(.trace, .extraction)')"

# 2. with the second look
set_conf rest true
j=$(explain "$TMP/unten.tif")
echo "$j" | jq -e '.type == "werbung" and .scan_mode == "nicht_scannen" and
	.decided_from == "early" and .early.safe == true and
	.early.region == "page 1 (top 40%, then the rest)" and .ocr.full_text == false' >/dev/null ||
	fail "rest on: not decided by the second look: $(echo "$j" | jq -c 'del(.trace, .extraction)')"
grep -q "early pass (page 1 (top 40%, then the rest) at 120 dpi): werbung" "$TMP/err" ||
	fail "the log does not say where the early pass read: $(tail -n 3 "$TMP/err")"

# 3. decided from the top: the first look is enough, with or without the second
for rest in true false; do
	set_conf rest $rest
	j=$(explain "$TMP/oben.tif")
	echo "$j" | jq -e '.type == "werbung" and .decided_from == "early" and
		.early.region == "top 40% of page 1" and .early.dpi == 300 and
		.early.confidence > 0 and .early.rotation == 0' >/dev/null ||
		fail "rest $rest: the top did not decide: $(echo "$j" | jq -c 'del(.trace, .extraction)')"
done

# 4. a wrong value names file:line
set_conf rest vielleicht
classify_conf_error "early.rest: vielleicht" rest

[ $failures -eq 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
echo "early decision, first and second look ok"
