#!/bin/bash
# classify_letters.sh - render German letters (groff + ghostscript, 300 dpi TIFF),
# classify them with mailroom-classify --explain --json and check type, scan mode,
# office and the abstentions. rechnung_ocr is the invoice with OCR-like misspellings
# of its keywords ("Rechnungsnumrner", "Rechnurg"): fuzzy matching still decides it. Also checks that a broken Scankonzept stops the
# program with EX_CONFIG and file:line.
. "$(dirname "$0")/classify_lib.sh"
classify_setup

# name  expected-type  expected-office  expected-scan-mode
expect='rechnung     rechnung     kaemmerei   ersetzend
widerspruch  widerspruch  rechtsamt   ersetzend
antrag       antrag       sozialamt   ersetzend
gericht      gericht      rechtsamt   kopierend
bewerbung    personal     personalamt kopierend
brief        brief        buergeramt  ersetzend
werbung      werbung      hauptamt    nicht_scannen
notiz        null         null        null
rechnung_ocr rechnung     kaemmerei   ersetzend'

files=()
while read -r name _; do
	classify_render "$DATA/$name.tr" "$TMP/$name.tif"
	files+=("$TMP/$name.tif")
done <<<"$expect"

# All letters in one process: the OCR engine is initialised once.
if ! "$CLASSIFY" -c "$TMP/conf" --explain --json "${files[@]}" >"$TMP/out.jsonl" 2>"$TMP/err"; then
	cat "$TMP/err" >&2
	fail "mailroom-classify --explain exited with $?"
fi
[ "$(wc -l <"$TMP/out.jsonl")" -eq 9 ] || fail "expected 9 JSON lines"

while read -r name type office mode; do
	line=$(jq -c --arg f "$TMP/$name.tif" 'select(.file == $f)' "$TMP/out.jsonl")
	[ -n "$line" ] || { fail "$name: no result"; continue; }
	got=$(jq -r '[.type, .office, .scan_mode] | map(tostring) | join(" ")' <<<"$line")
	if [ "$got" != "$type $office $mode" ]; then
		fail "$name: got '$got', expected '$type $office $mode'"
		jq -c '{candidate, score, second_type, second_score, review_reason, trace}' \
			<<<"$line" >&2
	else
		echo "ok: $name -> $got (score $(jq .score <<<"$line"), margin $(jq .margin <<<"$line"))"
	fi
	# every decision carries its trace, the OCR engine and per-page confidence
	jq -e '(.trace | type == "array") and (.ocr.engine | length > 0) and
	       (.ocr.languages == "deu+eng") and ((.ocr.confidence | length) == .ocr.pages)' \
		<<<"$line" >/dev/null || fail "$name: incomplete classification record"
	if [ "$type" != null ]; then
		jq -e '.type as $t | .decided_by == "rules" and .score >= .min_score and
		       .margin >= .min_margin and ([.trace[] | select(.type == $t)] | length > 0)' <<<"$line" >/dev/null ||
			fail "$name: decision without trace or below thresholds"
	fi
done <<<"$expect"

# specific expectations
q() { jq -r --arg f "$TMP/$1.tif" "select(.file == \$f) | $2" "$TMP/out.jsonl"; }
[ "$(q notiz '.review_reason | startswith("unsure: ")')" = true ] || fail "notiz: no 'unsure' reason"
[ "$(q werbung '.review_reason')" = null ] ||
	fail "werbung: a decided nicht_scannen letter goes on, not to review"
[ "$(q antrag '.routed_by + " " + .addressee')" != "" ] || fail "antrag: routing not recorded"
[ "$(q antrag '.routed_by')" = address ] || fail "antrag: expected routing by address block"
[ "$(q antrag '.ocr.pages')" = 2 ] || fail "antrag: expected 2 pages"
[ "$(q antrag '.extraction.subject')" = "Antrag auf Wohngeld (Mietzuschuss)" ] ||
	fail "antrag: subject '$(q antrag '.extraction.subject')'"
[ "$(q antrag '.extraction.date')" = 2026-11-21 ] || fail "antrag: date '$(q antrag '.extraction.date')'"
[ "$(q rechnung '[.extraction.references[] | select(.kind == "rechnungsnummer") | .value][0]')" = RE-2026-0815 ] ||
	fail "rechnung: Rechnungsnummer not extracted"
[ "$(q gericht '[.extraction.references[] | select(.kind == "aktenzeichen") | .value][0]')" = "3 K 1234/26" ] ||
	fail "gericht: Aktenzeichen not extracted"
[ "$(q brief '[.trace[] | select(.kind == "not")] | length')" = 0 ] || fail "brief: unexpected veto"
[ "$(q rechnung '[.trace[] | select(.type == "brief" and .kind == "not")] | length')" = 1 ] ||
	fail "rechnung: brief should be vetoed by Rechnungsnummer"

# the damaged invoice was decided through fuzzy matches, marked in the trace
[ "$(q rechnung_ocr '[.trace[] | select(.type == "rechnung" and .fuzzy == true)] | length')" -ge 2 ] ||
	fail "rechnung_ocr: no fuzzy rule in the trace"
[ "$(q rechnung_ocr '[.trace[] | select(.fuzzy == true) | .matched[]] | map(select(test("Rechnungsnummer ~ rechnungsnumrner"))) | length')" -ge 1 ] ||
	fail "rechnung_ocr: 'Rechnungsnumrner' not matched to 'Rechnungsnummer'"
[ "$(q rechnung_ocr '[.extraction.references[] | select(.kind == "rechnungsnummer") | .value][0]')" = RE-2026-0815 ] ||
	fail "rechnung_ocr: Rechnungsnummer not extracted from the damaged label"
# extraction with positions: the IBAN (checksum valid), the amounts with labels,
# the payment deadline with its date, the address region
[ "$(q rechnung '.extraction.ibans[0].value')" = DE89370400440532013000 ] || fail "rechnung: IBAN"
[ "$(q rechnung '[.extraction.amounts[] | select(.label == "Rechnungsbetrag") | .value][0]')" = 66.05 ] ||
	fail "rechnung: Rechnungsbetrag"
[ "$(q rechnung '[.extraction.deadlines[] | select(.kind == "zahlbar_bis") | .date][0]')" = 2026-12-21 ] ||
	fail "rechnung: zahlbar bis"
[ "$(q rechnung '.extraction.positions.sender | "\(.page) \(.line) \(.region)"')" = "1 1 letterhead" ] ||
	fail "rechnung: sender position $(q rechnung '.extraction.positions.sender')"

# the text form names type, office and the trace
"$CLASSIFY" -c "$TMP/conf" --explain "$TMP/rechnung.tif" >"$TMP/explain.txt" 2>/dev/null ||
	fail "--explain (text) failed"
grep -q 'type: *rechnung' "$TMP/explain.txt" && grep -q 'office: *kaemmerei' "$TMP/explain.txt" &&
	grep -q 'Rechnungsnummer' "$TMP/explain.txt" || fail "--explain text output incomplete"

# an unreadable file: EX_DATAERR (65), the others are still explained
printf 'not an image' >"$TMP/bad.tif"
"$CLASSIFY" -c "$TMP/conf" --explain --json "$TMP/bad.tif" "$TMP/notiz.tif" >"$TMP/out2" 2>"$TMP/err2"
rc=$?
[ $rc -eq 65 ] || fail "unreadable file: exit $rc, expected 65"
grep -q "bad.tif" "$TMP/err2" || fail "unreadable file not named in the message"
[ "$(wc -l <"$TMP/out2")" -eq 1 ] || fail "the readable file was not explained"

# a broken regex stops the program with EX_CONFIG (78) and file:line
cp -r "$TMP/conf" "$TMP/badconf"
line=$(grep -n "regex: '\\\\bDE" "$TMP/badconf/scankonzept.yaml" | cut -d: -f1)
sed -i "${line}s/regex: '\\\\bDE/regex: '(\\\\bDE/" "$TMP/badconf/scankonzept.yaml"
"$CLASSIFY" -c "$TMP/badconf" --explain "$TMP/notiz.tif" >/dev/null 2>"$TMP/err3"
rc=$?
[ $rc -eq 78 ] || fail "broken regex: exit $rc, expected 78 (EX_CONFIG)"
grep -q "scankonzept.yaml:$line:.*does not compile" "$TMP/err3" ||
	fail "broken regex: message without file:line: $(cat "$TMP/err3")"

# an office that offices.yaml does not know
cp -r "$TMP/conf" "$TMP/badconf2"
sed -i '0,/office: kaemmerei/s//office: finanzamt/' "$TMP/badconf2/scankonzept.yaml"
"$CLASSIFY" -c "$TMP/badconf2" --explain "$TMP/notiz.tif" >/dev/null 2>"$TMP/err4"
rc=$?
[ $rc -eq 78 ] && grep -q "scankonzept.yaml:[0-9]*:.*finanzamt" "$TMP/err4" ||
	fail "unknown office: exit $rc, $(cat "$TMP/err4")"

# usage errors
"$CLASSIFY" --explain >/dev/null 2>&1; [ $? -eq 64 ] || fail "--explain without files: expected 64"
"$CLASSIFY" --help | grep -q -- --explain || fail "--help does not mention --explain"

[ $failures -eq 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
echo "all letters classified as expected"
