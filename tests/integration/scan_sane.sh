#!/bin/bash
# scan_sane.sh - mailroom-scan --sane with SANE's test backend on a temporary tree:
# a feeder batch of 10 pages (until SANE_STATUS_NO_DOCS) becomes one letter in
# spool/classify/incoming whose job.json passes job_read and whose scan.tiff has
# 10 pages; flatbed, colour 16-bit and lineart (G4) pages; a jam gives a clear
# error naming the device and leaves nothing behind; a wrong config key stops the
# program with file:line; a job left in scan/tmp by a crash goes to scan/corrupt;
# a second instance is refused while the lock is held.
set -u
BIN=${MAILROOM_BIN:?}
SRC=${MAILROOM_SOURCE:?}
CHECK=$BIN/../tests/scan_jobcheck
TMP=$(mktemp -d /tmp/scan_sane.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cp -r "$SRC/conf" "$TMP/conf"
export MAILROOM_VAR=$TMP/var
export SANE_CONFIG_DIR=$TMP/conf/sane
VAR=$TMP/var
IN=$VAR/spool/classify/incoming
scan() { "$BIN/mailroom-scan" -c "$TMP/conf" "$@" </dev/null; } # never asks an operator
count() { find "$1" -mindepth 1 -maxdepth 1 | wc -l; }
pages() { tiffinfo "$1" 2>/dev/null | grep -c '^TIFF Directory'; }

# (a) feeder: 10 pages until the feeder is empty, one letter
scan --sane test --source "Automatic Document Feeder" --mode Gray --resolution 75 \
	--operator op-test 2>"$TMP/err" || fail "ADF scan exited $?: $(cat "$TMP/err")"
[ "$(count "$IN")" = 1 ] || fail "expected one job in classify/incoming"
JOB=$(ls "$IN")
"$CHECK" "$IN/$JOB" >/dev/null || fail "job.json does not pass job_read"
[ "$("$CHECK" "$IN/$JOB" capture.page_count)" = 10 ] || fail "page_count is not 10"
[ "$(pages "$IN/$JOB/scan.tiff")" = 10 ] || fail "scan.tiff does not have 10 pages"
[ "$("$CHECK" "$IN/$JOB" source.kind)" = sane ] || fail "source.kind"
[ "$("$CHECK" "$IN/$JOB" capture.device.vendor)" = Noname ] || fail "device vendor"
[ "$("$CHECK" "$IN/$JOB" capture.operator)" = op-test ] || fail "operator"
[ "$("$CHECK" "$IN/$JOB" capture.settings.source)" = "Automatic Document Feeder" ] ||
	fail "settings.source"
"$CHECK" "$IN/$JOB" uuid | grep -Eq '^[0-9a-f-]{36}$' || fail "uuid"
tiffinfo "$IN/$JOB/scan.tiff" 2>/dev/null | grep -q 'Artist: op-test' || fail "Artist tag"
tiffinfo "$IN/$JOB/scan.tiff" 2>/dev/null | grep -q 'Software: mailroom-scan' || fail "Software tag"
tiffinfo "$IN/$JOB/scan.tiff" 2>/dev/null | grep -q '"sha256":"' || fail "page digest tag"
grep -q "$JOB: 10 pages from test" "$TMP/err" || fail "log line with the job id"
[ "$(sqlite3 "$VAR/journal.db" "select count(*) from events where job='$JOB' and \
stage='scan' and action='captured' and outcome='ok'")" = 1 ] || fail "journal event"
[ "$(sqlite3 "$VAR/journal.db" "select state || ' ' || location from letters where \
job='$JOB'")" = "queued spool/classify/incoming" ] || fail "journal letter row"
[ "$(count "$VAR/spool/scan/tmp")" = 0 ] || fail "scan/tmp not empty"

# flatbed default: one page; colour 16 bit; lineart stored as G4 (the test
# backend has no Lineart mode: Gray at depth 1)
scan --sane test --mode Color --depth 16 --sane-option "test-picture=Color pattern" \
	2>"$TMP/err" || fail "colour scan: $(cat "$TMP/err")"
scan --sane - --mode Lineart --sane-option test-picture=Grid 2>"$TMP/err" ||
	fail "lineart scan via scan.yaml device: $(cat "$TMP/err")"
[ "$(count "$IN")" = 3 ] || fail "expected three jobs"
for j in "$IN"/*; do "$CHECK" "$j" >/dev/null || fail "$j does not pass job_read"; done
tiffinfo "$IN"/*/scan.tiff 2>/dev/null | grep -q 'Compression Scheme: CCITT Group 4' ||
	fail "no G4 page"
tiffinfo "$IN"/*/scan.tiff 2>/dev/null | grep -q 'Bits/Sample: 16' || fail "no 16-bit page"
tiffinfo "$IN"/*/scan.tiff 2>/dev/null | grep -q 'Photometric Interpretation: RGB' ||
	fail "no RGB page"
! tiffinfo "$IN"/*/scan.tiff 2>/dev/null | grep -Eq 'Compression Scheme: (JPEG|JBIG)' ||
	fail "lossy compression used"

# the conf's sane_config_dir is used when the environment does not set it
env -u SANE_CONFIG_DIR "$BIN/mailroom-scan" -c "$TMP/conf" --sane test </dev/null 2>"$TMP/err" ||
	fail "scan without SANE_CONFIG_DIR in the environment: $(cat "$TMP/err")"
[ "$(count "$IN")" = 4 ] || fail "expected four jobs"

# (b) a paper jam: clear error naming the device, nothing half-written anywhere
EV=$(sqlite3 "$VAR/journal.db" "select count(*) from events")
scan --sane test --sane-option read-return-value=SANE_STATUS_JAMMED 2>"$TMP/err"
rc=$?
[ $rc = 74 ] || fail "jam: exit $rc, expected 74 (EX_IOERR)"
grep -q 'scanner test: Document feeder jammed' "$TMP/err" || fail "jam message: $(cat "$TMP/err")"
grep -q 'clear the paper jam' "$TMP/err" || fail "jam message has no advice"
[ "$(count "$IN")" = 4 ] || fail "jam left something in classify/incoming"
[ "$(count "$VAR/spool/scan/tmp")" = 0 ] || fail "jam left something in scan/tmp"
[ "$(count "$VAR/spool/scan/corrupt")" = 0 ] || fail "jam left something in scan/corrupt"
[ "$(sqlite3 "$VAR/journal.db" "select count(*) from events")" = "$EV" ] ||
	fail "jam recorded a letter that does not exist"

# a fault after page 1 of a batch: the page scanned before it is kept as a letter
# marked incomplete (the pnm backend delivers one image, then SANE_STATUS_EOF at
# the next sane_start); the fault is reported with the device and exit 74.
# (A page cut off in the middle is taken back out of scan.tiff: scan_tiff_test.)
printf 'P5\n120 90\n255\n' >"$TMP/page.pgm"
head -c 10800 /dev/urandom >>"$TMP/page.pgm"
scan --sane pnm:0 --pages 2 --sane-option "filename=$TMP/page.pgm" 2>"$TMP/err"
rc=$?
[ $rc = 74 ] || fail "fault after page 1: exit $rc, expected 74: $(cat "$TMP/err")"
grep -q 'scanner pnm:0: End of file reached during page 2' "$TMP/err" ||
	fail "fault message: $(cat "$TMP/err")"
J=$(grep -o '[0-9]\{8\}T[0-9]\{6\}Z-[0-9a-f]\{16\}: 1 page scanned before the fault was kept' \
	"$TMP/err" | cut -d: -f1)
[ -n "$J" ] || fail "fault after page 1: kept page not reported: $(cat "$TMP/err")"
[ "$(count "$IN")" = 5 ] || fail "fault after page 1: expected a fifth job"
"$CHECK" "$IN/$J" >/dev/null || fail "fault after page 1: job.json does not pass job_read"
[ "$("$CHECK" "$IN/$J" capture.complete)" = false ] || fail "capture.complete not false"
"$CHECK" "$IN/$J" capture.fault | grep -q 'End of file' || fail "capture.fault"
[ "$(pages "$IN/$J/scan.tiff")" = 1 ] || fail "fault after page 1: scan.tiff not 1 page"
# the page digest is over the scanner's pixels exactly as delivered
WANT=$(tail -c 10800 "$TMP/page.pgm" | sha256sum | cut -d' ' -f1)
"$CHECK" "$IN/$J" capture.pages | grep -q "\"sha256\":\"$WANT\"" ||
	fail "page sha256 is not the digest of the scanned pixels"
tiffinfo "$IN/$J/scan.tiff" 2>/dev/null | grep -q "\"sha256\":\"$WANT\"" ||
	fail "ImageDescription sha256 is not the digest of the scanned pixels"
tiffinfo -d "$IN/$J/scan.tiff" >/dev/null 2>"$TMP/tiff.err" && [ ! -s "$TMP/tiff.err" ] ||
	fail "fault after page 1: scan.tiff not clean: $(cat "$TMP/tiff.err")"
sqlite3 "$VAR/journal.db" "select detail from events where job='$J'" |
	grep -q 'stopped by a fault' || fail "fault after page 1: journal detail does not say so"

# a device that does not exist, an option value it does not offer
scan --sane nosuchdevice 2>"$TMP/err"; rc=$?
[ $rc = 69 ] || fail "unknown device: exit $rc, expected 69"
grep -q 'cannot open scanner nosuchdevice' "$TMP/err" || fail "unknown device message"
scan --sane test --mode Sepia 2>"$TMP/err"; rc=$?
[ $rc = 69 ] || fail "bad mode: exit $rc, expected 69"
grep -q "'Sepia' is not one of: Gray, Color" "$TMP/err" || fail "bad mode message"

# a wrong key in scan.yaml stops the program with file:line
cp "$TMP/conf/scan.yaml" "$TMP/scan.yaml.orig"
printf 'import:\n  stable_secnds: 3\n' >>"$TMP/conf/scan.yaml"
scan --sane test 2>"$TMP/err"; rc=$?
[ $rc = 78 ] || fail "bad config: exit $rc, expected 78 (EX_CONFIG)"
grep -Eq 'scan.yaml:[0-9]+:' "$TMP/err" || fail "config error has no file:line: $(cat "$TMP/err")"
cp "$TMP/scan.yaml.orig" "$TMP/conf/scan.yaml"

# a job left in scan/tmp by a crashed run goes to scan/corrupt with the reason
LEFT=20260101T000000Z-00000000deadbeef
mkdir -p "$VAR/spool/scan/tmp/$LEFT" && echo partial >"$VAR/spool/scan/tmp/$LEFT/scan.tiff"
scan --sane test 2>"$TMP/err" || fail "scan after crash: $(cat "$TMP/err")"
[ "$(count "$IN")" = 6 ] || fail "scan after crash: expected a sixth job"
[ -f "$VAR/spool/scan/corrupt/$LEFT/QUARANTINE.txt" ] || fail "leftover not quarantined"
[ -f "$VAR/spool/scan/corrupt/$LEFT/scan.tiff" ] || fail "leftover content lost"
grep -q 'interrupted' "$VAR/spool/scan/corrupt/$LEFT/QUARANTINE.txt" || fail "leftover reason"
[ "$(count "$VAR/spool/scan/tmp")" = 0 ] || fail "scan/tmp not empty after recovery"

# one instance at a time
( flock -x 9; sleep 3 ) 9>"$VAR/spool/scan/.lock" &
HOLDER=$!
sleep 0.5
scan --sane test 2>"$TMP/err"; rc=$?
wait $HOLDER
[ $rc = 75 ] || fail "second instance: exit $rc, expected 75 (EX_TEMPFAIL)"
grep -q 'another mailroom-scan is running' "$TMP/err" || fail "lock message"

echo "scan_sane: ok"
