#!/bin/bash
# classify_spool.sh - mailroom-classify as a stage on a temporary spool: letters
# imported by mailroom-scan are OCR'd and classified; a clear invoice goes to
# spool/sign with ocr.txt, ocr.pdf and its classification in job.json; an unclear
# note goes to review with the reason, an advertisement (nicht_scannen) is handed
# on like the invoice; a letter
# whose image cannot be decoded is quarantined; leftovers of a crashed run are
# removed; a letter already classified is handed on without a second OCR; the
# daemon picks up new letters and stops cleanly on SIGTERM.
. "$(dirname "$0")/classify_lib.sh"
classify_setup
SCAN="$MAILROOM_BIN/mailroom-scan"
[ -x "$SCAN" ] || { echo "missing $SCAN (build mailroom-scan: the spool test imports letters with it)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "missing tool: sqlite3" >&2; exit 1; }
SPOOL="$MAILROOM_VAR/spool"
sed -i 's/stable_seconds: [0-9]*/stable_seconds: 0/' "$TMP/conf/scan.yaml"

mkdir -p "$TMP/import"
for name in rechnung notiz werbung antrag; do
	classify_render "$DATA/$name.tr" "$TMP/import/$name.tif"
done
cp "$TMP/import/rechnung.tif" "$TMP/import/kaputt.tif"
"$SCAN" -c "$TMP/conf" --once --import "$TMP/import" 2>"$TMP/scan.err" ||
	{ cat "$TMP/scan.err" >&2; fail "mailroom-scan --import failed"; exit 1; }

# job id of the letter imported from file $1, searched in spool area $2
job_of() {
	local d
	for d in "$SPOOL"/$2/*/; do
		[ -f "$d/job.json" ] || continue
		if [ "$(jq -r .source.file "$d/job.json")" = "$1" ]; then
			basename "$d"
			return
		fi
	done
}
[ "$(ls "$SPOOL/classify/incoming" | wc -l)" -eq 5 ] || fail "expected 5 jobs from mailroom-scan"
rid=$(job_of rechnung.tif classify/incoming)
kid=$(job_of kaputt.tif classify/incoming)
[ -n "$rid" ] && [ -n "$kid" ] || { fail "imported jobs not found"; exit 1; }

# damage kaputt's image so that it cannot be decoded, but keep its record
# consistent (the digest matches): only the OCR can find out
k="$SPOOL/classify/incoming/$kid"
head -c 400 "$k/scan.tiff" >"$k/scan.tiff.new" && mv "$k/scan.tiff.new" "$k/scan.tiff"
sum=$(sha256sum "$k/scan.tiff" | cut -d' ' -f1)
jq --arg s "$sum" --argjson n 400 '.files["scan.tiff"] = {sha256: $s, size: $n}' \
	"$k/job.json" >"$TMP/j" && cp "$TMP/j" "$k/job.json"

# leftovers of a run that died while rendering the OCR of the invoice
mkdir "$SPOOL/classify/incoming/$rid/ocr.tmp"
echo junk >"$SPOOL/classify/incoming/$rid/ocr.tmp/ocr.pdf"
echo junk >"$SPOOL/classify/incoming/$rid/ocr.txt.tmp"

"$CLASSIFY" -c "$TMP/conf" --once 2>"$TMP/classify.err"
rc=$?
[ $rc -eq 0 ] || { cat "$TMP/classify.err" >&2; fail "mailroom-classify --once exited with $rc"; }
[ "$(ls "$SPOOL/classify/incoming" "$SPOOL/classify/active" | grep -c '^2')" -eq 0 ] ||
	fail "letters left in classify/incoming or active"

# the invoice: in sign/incoming, complete and consistent
r="$SPOOL/sign/incoming/$rid"
if [ ! -d "$r" ]; then
	fail "invoice not handed to sign"
else
	jq -e '.classification | .type == "rechnung" and .office == "kaemmerei" and
	       .scan_mode == "ersetzend" and .decided_by == "rules" and .pilot == true and
	       (.trace | length > 0) and (.ocr.confidence | length == 1) and
	       .protection.integrity == "hoch"' "$r/job.json" >/dev/null ||
		fail "invoice: wrong classification: $(jq -c '.classification | del(.trace)' "$r/job.json")"
	jq -e '.extraction.references | map(.value) | index("RE-2026-0815") != null' \
		"$r/job.json" >/dev/null || fail "invoice: Rechnungsnummer not extracted"
	jq -e '[.history[] | select(.stage == "classify" and .outcome == "ok")] | length == 1' \
		"$r/job.json" >/dev/null || fail "invoice: history has no classify entry"
	jq -e 'keys_unsorted[-1] == "end" and keys_unsorted[-2] == "files"' "$r/job.json" \
		>/dev/null || fail "invoice: files/end not last in job.json"
	for f in ocr.txt ocr.pdf scan.tiff; do
		[ "$(sha256sum "$r/$f" | cut -d' ' -f1)" = "$(jq -r ".files[\"$f\"].sha256" "$r/job.json")" ] ||
			fail "invoice: $f missing from the record or digest mismatch"
		[ "$(stat -c %a "$r/$f")" = 600 ] || fail "invoice: $f is not mode 0600"
	done
	grep -q Rechnungsnummer "$r/ocr.txt" || fail "invoice: ocr.txt lacks the text"
	pdftotext "$r/ocr.pdf" - 2>/dev/null | grep -q Rechnungsnummer ||
		fail "invoice: ocr.pdf is not searchable"
	[ ! -e "$r/ocr.tmp" ] && [ ! -e "$r/ocr.txt.tmp" ] || fail "invoice: crash leftovers remain"
fi
ev=$(sqlite3 "$MAILROOM_VAR/journal.db" \
	"select action||':'||outcome from events where job='$rid' and stage='classify' order by seq" | tr '\n' ' ')
[ "$ev" = "claimed:ok classified:ok " ] || fail "invoice: journal events '$ev'"
[ "$(sqlite3 "$MAILROOM_VAR/journal.db" "select doc_type||'/'||office||'/'||scan_mode from letters where job='$rid'")" = \
	"rechnung/kaemmerei/ersetzend" ] || fail "invoice: journal letter row not updated"

# the note: to review, the reason names "unsure"; the journal has the reason
nid=$(job_of notiz.tif review/incoming)
if [ -z "$nid" ]; then
	fail "note not in review"
else
	jq -e '.classification.type == null and (.classification.review_reason | startswith("unsure"))' \
		"$SPOOL/review/incoming/$nid/job.json" >/dev/null || fail "note: no 'unsure' reason"
	[ -f "$SPOOL/review/incoming/$nid/ocr.txt" ] || fail "note: ocr.txt missing in review"
	sqlite3 "$MAILROOM_VAR/journal.db" "select state||' '||reason from letters where job='$nid'" |
		grep -q '^review unsure' || fail "note: journal has no review reason"
fi
# the advertisement: decided as nicht_scannen, handed on (dms-export writes the
# routing slip for the paper)
wid=$(job_of werbung.tif sign/incoming)
[ -n "$wid" ] && jq -e '.classification | .type == "werbung" and .scan_mode == "nicht_scannen" and
	.office == "hauptamt"' "$SPOOL/sign/incoming/$wid/job.json" >/dev/null ||
	fail "advertisement not handed on as werbung/nicht_scannen"
# the two-page application: pages split by form feed, one confidence per page
aid=$(job_of antrag.tif sign/incoming)
if [ -z "$aid" ]; then
	fail "application not handed to sign"
else
	jq -e '.classification | .type == "antrag" and .office == "sozialamt" and
	       .routed_by == "address" and (.ocr.confidence | length == 2)' \
		"$SPOOL/sign/incoming/$aid/job.json" >/dev/null || fail "application: wrong classification"
	[ "$(tr -cd '\f' <"$SPOOL/sign/incoming/$aid/ocr.txt" | wc -c)" -eq 1 ] ||
		fail "application: ocr.txt pages not separated by one form feed"
fi
# the damaged image: quarantined with a reason that names the file and the fix
if [ ! -f "$SPOOL/classify/corrupt/$kid/QUARANTINE.txt" ]; then
	fail "damaged image not quarantined"
else
	grep -q "scan.tiff" "$SPOOL/classify/corrupt/$kid/QUARANTINE.txt" &&
		grep -qi "rescan" "$SPOOL/classify/corrupt/$kid/QUARANTINE.txt" ||
		fail "quarantine reason: $(cat "$SPOOL/classify/corrupt/$kid/QUARANTINE.txt")"
fi

# at-least-once delivery: the invoice comes back (a crash before the hand-off was
# recorded); it is handed on again without a second OCR
pdfsum=$(sha256sum "$r/ocr.pdf" | cut -d' ' -f1)
mv "$r" "$SPOOL/classify/incoming/$rid"
"$CLASSIFY" -c "$TMP/conf" --once 2>"$TMP/again.err" || fail "second run failed"
grep -q "$rid: classify already done" "$TMP/again.err" || fail "second run did not recognise the finished letter"
grep -q "$rid: OCR" "$TMP/again.err" && fail "second run ran the OCR again"
[ "$(sha256sum "$r/ocr.pdf" 2>/dev/null | cut -d' ' -f1)" = "$pdfsum" ] || fail "invoice changed by the second run"

# a letter sent back from review is classified again: its old OCR files are
# replaced, the record stays consistent (no quarantine)
if [ -n "$nid" ]; then
	mv "$SPOOL/review/incoming/$nid" "$SPOOL/classify/incoming/$nid"
	"$CLASSIFY" -c "$TMP/conf" --once 2>"$TMP/requeue.err" || fail "run after requeue failed"
	[ -f "$SPOOL/review/incoming/$nid/job.json" ] || fail "requeued note did not return to review"
	jq -e '([.history[] | select(.stage == "classify")] | length == 2) and
	       (.files | has("ocr.txt") and has("ocr.pdf"))' "$SPOOL/review/incoming/$nid/job.json" \
		>/dev/null || fail "requeued note: history or files wrong"
fi

# daemon: a new letter is picked up without --once; SIGTERM ends it with 0
"$CLASSIFY" -c "$TMP/conf" 2>"$TMP/daemon.err" &
dpid=$!
classify_render "$DATA/brief.tr" "$TMP/import/brief.tif"
"$SCAN" -c "$TMP/conf" --once --import "$TMP/import" 2>>"$TMP/scan.err" || fail "second import failed"
for _ in $(seq 1 120); do
	bid=$(job_of brief.tif sign/incoming)
	[ -n "$bid" ] && break
	sleep 0.5
done
[ -n "$bid" ] || { fail "daemon did not classify the new letter"; cat "$TMP/daemon.err" >&2; }
kill -TERM "$dpid"
wait "$dpid"
rc=$?
[ $rc -eq 0 ] || fail "daemon exited with $rc after SIGTERM"

[ $failures -eq 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
echo "spool stage ok"
