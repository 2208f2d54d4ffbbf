#!/bin/bash
# classify_dup.sh - duplicate detection on a temporary spool: the same invoice
# imported twice (same page bytes), the same invoice rendered at another
# resolution (same page fingerprint, different bytes) and a different letter.
# The resubmissions are flagged (duplicate_of, duplicate_kind) and go on like
# the others; the journal says "resubmission of <id>"; the different letter is
# not flagged.
. "$(dirname "$0")/classify_lib.sh"
classify_setup
SCAN="$MAILROOM_BIN/mailroom-scan"
[ -x "$SCAN" ] || { echo "missing $SCAN" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "missing tool: sqlite3" >&2; exit 1; }
SPOOL="$MAILROOM_VAR/spool"
sed -i 's/stable_seconds: [0-9]*/stable_seconds: 0/' "$TMP/conf/scan.yaml"
# two workers: twins checked at the same moment must still find each other
sed -i "s/^workers: .*/workers: 2/" "$TMP/conf/classify.yaml"

mkdir -p "$TMP/import"
classify_render "$DATA/rechnung.tr" "$TMP/import/a-rechnung.tif"
cp "$TMP/import/a-rechnung.tif" "$TMP/import/b-rechnung-again.tif"
groff -Kutf8 -Tps -dpaper=a4 -P-pa4 "$DATA/rechnung.tr" |
	gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=tiffg4 -r200 -sPAPERSIZE=a4 \
		-o "$TMP/import/c-rechnung-200dpi.tif" - || fail "cannot render at 200 dpi"
classify_render "$DATA/brief.tr" "$TMP/import/d-brief.tif"
"$SCAN" -c "$TMP/conf" --once --import "$TMP/import" 2>"$TMP/scan.err" ||
	{ cat "$TMP/scan.err" >&2; fail "mailroom-scan --import failed"; exit 1; }
"$CLASSIFY" -c "$TMP/conf" --once 2>"$TMP/classify.err" ||
	{ cat "$TMP/classify.err" >&2; fail "mailroom-classify --once failed"; }

# "<source file> <job id> <duplicate_of> <duplicate_kind>" of every classified letter
for d in "$SPOOL"/sign/incoming/*/ "$SPOOL"/review/incoming/*/; do
	[ -f "$d/job.json" ] || continue
	jq -r '[.source.file, .id, (.classification.duplicate_of // "-"),
		(.classification.duplicate_kind // "-")] | join(" ")' "$d/job.json"
done | sort >"$TMP/dups"
cat "$TMP/dups"
[ "$(wc -l <"$TMP/dups")" -eq 4 ] || fail "expected 4 letters handed on (a duplicate is not dropped)"
flagged=$(grep -c 'rechnung.* [0-9]\{8\}T[^ ]* \(bytes\|fingerprint\)$' "$TMP/dups")
[ "$flagged" -eq 2 ] || fail "expected 2 of the 3 invoices flagged as resubmissions, got $flagged"
grep -q '^d-brief.tif [^ ]* - -$' "$TMP/dups" || fail "the different letter was flagged"
# the twin with the same bytes points at its twin, by bytes
a=$(awk '$1 == "a-rechnung.tif" {print $2" "$3" "$4}' "$TMP/dups")
b=$(awk '$1 == "b-rechnung-again.tif" {print $2" "$3" "$4}' "$TMP/dups")
set -- $a; aid=$1 adup=$2 akind=$3
set -- $b; bid=$1 bdup=$2 bkind=$3
{ [ "$adup" = "$bid" ] && [ "$akind" = bytes ]; } || { [ "$bdup" = "$aid" ] && [ "$bkind" = bytes ]; } ||
	fail "the twins are not linked by bytes: a=$a b=$b"
# the 200 dpi rendering is either the first one seen or flagged by fingerprint
c=$(awk '$1 == "c-rechnung-200dpi.tif" {print $4}' "$TMP/dups")
[ "$c" = fingerprint ] || [ "$c" = - ] || fail "200 dpi invoice: kind '$c'"
[ "$(grep -c ' fingerprint$' "$TMP/dups")" -ge 1 ] || fail "no fingerprint match at all"
# the journal tells it
n=$(sqlite3 "$MAILROOM_VAR/journal.db" \
	"select count(*) from events where stage='classify' and detail like 'resubmission of %'")
[ "$n" -eq 2 ] || fail "journal: $n events say 'resubmission of', expected 2"
[ -f "$MAILROOM_VAR/fingerprints.db" ] || fail "no var/fingerprints.db"
[ "$(sqlite3 "$MAILROOM_VAR/fingerprints.db" 'select count(*) from letters')" -eq 4 ] ||
	fail "fingerprints.db does not hold the 4 letters"

[ $failures -eq 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
echo "duplicates flagged as expected"
