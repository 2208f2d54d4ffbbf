#!/bin/bash
# scan_import.sh - mailroom-scan --import on a temporary tree: a PNG, a 3-page
# TIFF, a 2-page PDF and a JPEG become one job each in spool/classify/incoming
# (original byte for byte + scan.tiff with the right page count, job.json passing
# job_read); a corrupt TIFF and a 0-byte file become jobs in spool/scan/corrupt
# with QUARANTINE.txt and the original, and the good files after them still go
# through; --once then exits 65 (EX_DATAERR). Files are taken only once stable;
# without --once the folder is watched until SIGTERM.
set -u
BIN=${MAILROOM_BIN:?}
SRC=${MAILROOM_SOURCE:?}
CHECK=$BIN/../tests/scan_jobcheck
TMP=$(mktemp -d /tmp/scan_import.XXXXXX)
DAEMON=
cleanup() { [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# PDF rendering loads fontconfig, whose cache LeakSanitizer would report (ASan builds)
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$SRC/tests/data/scan/lsan.supp}
cp -r "$SRC/conf" "$TMP/conf"
sed -i 's/^  stable_seconds: .*/  stable_seconds: 0/; s/^  pdf_dpi: .*/  pdf_dpi: 100/' \
	"$TMP/conf/scan.yaml"
export MAILROOM_VAR=$TMP/var
VAR=$TMP/var
OUT=$VAR/spool/classify/incoming
BAD=$VAR/spool/scan/corrupt
IMP=$TMP/import
SAVE=$TMP/save
mkdir -p "$IMP" "$SAVE"
scan() { "$BIN/mailroom-scan" -c "$TMP/conf" "$@"; }
count() { find "$1" -mindepth 1 -maxdepth 1 | wc -l; }
pages() { tiffinfo "$1" 2>/dev/null | grep -c '^TIFF Directory'; }
# the job in dir whose source.file is name
job_of() {
	local j
	for j in "$1"/*; do
		[ "$("$CHECK" "$j" source.file)" = "$2" ] &&
			{ echo "$j"; return 0; }
	done
	return 1
}

# the inputs, made here with ghostscript
cat >"$TMP/doc.ps" <<'PS'
%!PS
/Helvetica findfont 24 scalefont setfont
72 700 moveto (Stadtverwaltung - Seite 1) show showpage
72 700 moveto (Seite 2) show 1 0 0 setrgbcolor 72 600 moveto (rot) show showpage
72 700 moveto (Seite 3) show showpage
PS
GS="gs -q -dSAFER -dBATCH -dNOPAUSE"
$GS -sDEVICE=png16m -r60 -dLastPage=1 -sOutputFile="$SAVE/c-letter.png" "$TMP/doc.ps" &&
$GS -sDEVICE=tiffg4 -r100 -sOutputFile="$SAVE/d-multi.tif" "$TMP/doc.ps" &&
$GS -sDEVICE=pdfwrite -dLastPage=2 -sOutputFile="$SAVE/e-doc.pdf" "$TMP/doc.ps" &&
$GS -sDEVICE=jpeg -r50 -dLastPage=1 -sOutputFile="$SAVE/f-photo.jpg" "$TMP/doc.ps" ||
	fail "ghostscript cannot make the test files"
[ "$(pages "$SAVE/d-multi.tif")" = 3 ] || fail "test TIFF is not 3 pages"
# corrupt: a TIFF header pointing at garbage; and an empty file
printf 'II*\000\010\000\000\000\377\377garbage-garbage-garbage' >"$SAVE/a-corrupt.tif"
: >"$SAVE/b-empty.pdf"
cp "$SAVE"/* "$IMP"/

scan --import "$IMP" --once 2>"$TMP/err"
rc=$?
[ $rc = 65 ] || fail "import with two bad files: exit $rc, expected 65: $(cat "$TMP/err")"
[ "$(count "$OUT")" = 4 ] || fail "expected 4 jobs in classify/incoming, got $(count "$OUT")"
[ "$(count "$BAD")" = 2 ] || fail "expected 2 jobs in scan/corrupt, got $(count "$BAD")"
[ "$(count "$IMP")" = 0 ] || fail "import folder not emptied: $(ls "$IMP")"
[ "$(count "$VAR/spool/scan/tmp")" = 0 ] || fail "scan/tmp not empty"

# good files: one job each, original byte for byte, pages as expected
check_good() { # name ext pages
	local j
	j=$(job_of "$OUT" "$1") || fail "no job for $1"
	"$CHECK" "$j" >/dev/null || fail "$1: job.json does not pass job_read"
	cmp -s "$SAVE/$1" "$j/original.$2" || fail "$1: original.$2 differs from the file"
	[ "$("$CHECK" "$j" source.original)" = "original.$2" ] || fail "$1: source.original"
	[ "$("$CHECK" "$j" source.kind)" = import ] || fail "$1: source.kind"
	[ "$("$CHECK" "$j" capture.page_count)" = "$3" ] || fail "$1: page_count"
	[ "$(pages "$j/scan.tiff")" = "$3" ] || fail "$1: scan.tiff has not $3 pages"
	"$CHECK" "$j" files | grep -q "\"original.$2\"" || fail "$1: original not in files"
	! tiffinfo "$j/scan.tiff" 2>/dev/null | grep -Eq 'Compression Scheme: (JPEG|JBIG)' ||
		fail "$1: lossy compression in scan.tiff"
}
check_good c-letter.png png 1
check_good d-multi.tif tif 3
check_good e-doc.pdf pdf 2
check_good f-photo.jpg jpg 1
J=$(job_of "$OUT" d-multi.tif)
tiffinfo "$J/scan.tiff" 2>/dev/null | grep -q 'Compression Scheme: CCITT Group 4' ||
	fail "bilevel TIFF not stored as G4"
J=$(job_of "$OUT" e-doc.pdf)
tiffinfo "$J/scan.tiff" 2>/dev/null | grep -q 'Resolution: 100, 100 pixels/inch' ||
	fail "PDF not rendered at import.pdf_dpi"

# bad files: quarantined with the reason and the original
check_bad() { # name ext words
	local j
	j=$(job_of "$BAD" "$1") || fail "no quarantined job for $1"
	[ -f "$j/QUARANTINE.txt" ] || fail "$1: no QUARANTINE.txt"
	grep -q "'$1'" "$j/QUARANTINE.txt" || fail "$1: reason does not name the file"
	grep -q "$3" "$j/QUARANTINE.txt" || fail "$1: reason lacks '$3': $(cat "$j/QUARANTINE.txt")"
	cmp -s "$SAVE/$1" "$j/original.$2" || fail "$1: original differs"
	[ ! -e "$j/scan.tiff" ] || fail "$1: partial scan.tiff left"
	ID=$(basename "$j")
	[ "$(sqlite3 "$VAR/journal.db" "select state || ' ' || location from letters where \
job='$ID'")" = "quarantined spool/scan/corrupt/$ID" ] || fail "$1: journal letter row"
	[ "$(sqlite3 "$VAR/journal.db" "select count(*) from events where job='$ID' and \
action='captured' and outcome='quarantined'")" = 1 ] || fail "$1: journal event"
}
check_bad a-corrupt.tif tif "damaged"
check_bad b-empty.pdf pdf "empty (0 bytes)"
[ "$(sqlite3 "$VAR/journal.db" "select count(*) from events where stage='scan' and \
action='captured' and outcome='ok'")" = 4 ] || fail "journal: expected 4 captured/ok events"
grep -q 'a-corrupt.tif' "$TMP/err" || fail "no log line for the corrupt file"

# nothing to do: exit 0; a symlink in the folder is refused and left alone
ln -s /etc/passwd "$IMP/link.pdf"
scan --import "$IMP" --once 2>"$TMP/err" || fail "empty run: exit $?"
[ -L "$IMP/link.pdf" ] || fail "symlink touched"
[ "$(count "$OUT")" = 4 ] || fail "symlink imported"
rm -f "$IMP/link.pdf"

# stability: a file is taken only after import.stable_seconds without change
sed -i 's/^  stable_seconds: .*/  stable_seconds: 2/' "$TMP/conf/scan.yaml"
cp "$SAVE/c-letter.png" "$IMP/g-late.png"
START=$(date +%s)
scan --import "$IMP" --once 2>"$TMP/err" || fail "stable run: exit $?: $(cat "$TMP/err")"
[ $(( $(date +%s) - START )) -ge 2 ] || fail "file taken before it was stable"
[ "$(count "$OUT")" = 5 ] || fail "stable file not imported"

# watching (default paths.import): a file dropped later is picked up; SIGTERM ends it
sed -i 's/^  stable_seconds: .*/  stable_seconds: 0/' "$TMP/conf/scan.yaml"
"$BIN/mailroom-scan" -c "$TMP/conf" 2>"$TMP/daemon.err" &
DAEMON=$!
sleep 1
cp "$SAVE/f-photo.jpg" "$VAR/import/h-watched.jpg"
for _ in $(seq 1 50); do
	[ "$(count "$OUT")" = 6 ] && break
	sleep 0.2
done
[ "$(count "$OUT")" = 6 ] || fail "watching: the dropped file was not imported"
kill -TERM "$DAEMON"
wait "$DAEMON"
rc=$?
DAEMON=
[ $rc = 0 ] || fail "watching: exit $rc after SIGTERM: $(cat "$TMP/daemon.err")"
job_of "$OUT" h-watched.jpg >/dev/null || fail "watched file's job"

# a signed PDF: detected, its signature recorded and checked against the signed
# bytes, the file kept byte for byte as the original; a tampered one is told apart;
# an unsigned PDF carries no such record
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-keyout "$TMP/sig.key" -out "$TMP/sig.crt" -subj "/CN=Erika Mustermann" 2>/dev/null ||
	fail "openssl cannot make the signer's key"
"$BIN/../tests/mkpdfsig" "$TMP/sig.key" "$TMP/sig.crt" "$SAVE/i-signed.pdf" &&
"$BIN/../tests/mkpdfsig" "$TMP/sig.key" "$TMP/sig.crt" "$SAVE/j-tampered.pdf" tamper ||
	fail "mkpdfsig cannot make the signed PDFs"
cp "$SAVE/i-signed.pdf" "$SAVE/j-tampered.pdf" "$IMP/"
scan --import "$IMP" --once 2>"$TMP/err" || fail "signed PDFs: exit $?: $(cat "$TMP/err")"
J=$(job_of "$OUT" i-signed.pdf) || fail "no job for the signed PDF"
cmp -s "$SAVE/i-signed.pdf" "$J/original.pdf" || fail "signed PDF not kept byte for byte"
[ "$(jq -r '.capture.signed_original | "\(.signatures) \(.byte_ranges) \(.fields[0].field) \(.fields[0].signer) \(.fields[0].status)"' "$J/job.json")" = \
	"1 1 Signatur1 Erika Mustermann valid" ] ||
	fail "signed PDF: signature not recorded: $(jq -c .capture.signed_original "$J/job.json")"
jq -e '.capture.anomalies[] | select(.kind == "signatur" and (.text | test("Erika Mustermann \\(valid\\)")) and (.text | test("original.pdf")))' \
	"$J/job.json" >/dev/null || fail "signed PDF: no anomaly for the Transfervermerk"
grep -q "electronic signature" "$TMP/err" || fail "signed PDF: not told in the log"
[ "$(sqlite3 "$VAR/journal.db" "select count(*) from events where job='$(basename "$J")' and \
action='captured' and detail like '%electronically signed%'")" = 1 ] || fail "signed PDF: journal"
J=$(job_of "$OUT" j-tampered.pdf) || fail "no job for the tampered PDF"
[ "$(jq -r '.capture.signed_original.fields[0].status' "$J/job.json")" = digest-mismatch ] ||
	fail "tampered PDF: $(jq -c .capture.signed_original "$J/job.json")"
J=$(job_of "$OUT" e-doc.pdf)
[ "$(jq -r '.capture.signed_original // "none"' "$J/job.json")" = none ] ||
	fail "unsigned PDF recorded as signed"

echo "scan_import: ok"
