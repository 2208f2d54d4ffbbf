#!/bin/bash
# security_limits.sh - hostile images end in quarantine with a reason naming the
# limit, and the other letters go on (issue 8; docs/RELIABILITY-security.md):
#   A. decompression bombs (tiny TIFFs that decode to gigabytes, made by
#      tests/data/hostile/mkbomb.c) imported by mailroom-scan;
#   B. the same placed directly as a letter in classify's incoming/ (a letter that
#      did not come through scan);
#   C. a legal page that takes longer than limits.letter_seconds: the worker is
#      stopped and replaced, the next letter is classified;
#   D. a legal page that needs more memory than limits.memory_mb (RLIMIT_AS); the
#      limits are read from /proc/<worker>/limits while the worker runs
#      (skipped in an AddressSanitizer build, where RLIMIT_AS cannot be set);
#   E. mailroom requeue takes a quarantined letter back after the cause is fixed.
. "$(dirname "$0")/lib.sh"
MKBOMB=$MAILROOM_BIN/../tests/hostile_mkbomb
CLASSIFY=$MAILROOM_BIN/mailroom-classify
[ -x "$MKBOMB" ] || { echo "FAIL: $MKBOMB not built" >&2; exit 1; }
B=$T/bombs
mkdir -p "$B" "$T/imp"
render_letters "$T/letters"
"$MKBOMB" "$B/g4-100k.tif" 100000 100000 1 g4 zero
"$MKBOMB" "$B/g4-100k-1strip.tif" 100000 100000 1 g4 zero 100000
"$MKBOMB" "$B/deflate-19k.tif" 19000 19000 8 deflate zero
"$MKBOMB" "$B/deflate-19k-1strip.tif" 19000 19000 8 deflate zero 19000
"$MKBOMB" "$B/deflate-14k.tif" 14000 14000 8 deflate zero
"$MKBOMB" "$B/slow.tif" 2800 4000 1 g4 text # about 25 s of OCR: far over the limit below
for f in "$B"/*.tif; do
	check "$(basename "$f") is a small file ($(stat -c %s "$f") bytes)" [ "$(stat -c %s "$f")" -lt 2000000 ]
done
# quarantined_with ID|- SPOOL PATTERN: the letter (or the only one) is in SPOOL/corrupt and
# QUARANTINE.txt matches PATTERN
reason_of() { cat "$VAR/spool/$2/corrupt/$1/QUARANTINE.txt" 2>/dev/null; }
sanitized=0
grep -qa __asan_init "$CLASSIFY" && sanitized=1

# --- A. bombs imported by mailroom-scan ------------------------------------------------
cp "$B"/g4-100k.tif "$B"/g4-100k-1strip.tif "$B"/deflate-19k.tif "$B"/deflate-19k-1strip.tif "$T/imp/"
cp "$T/letters/01-rechnung.pdf" "$T/imp/"
/usr/bin/time -f %M -o "$T/scan.rss" "$MAILROOM_BIN/mailroom-scan" -c "$CONF" --once --import "$T/imp" \
	2>"$T/scan.log" || true
check "import: the folder is empty afterwards" [ "$(count "$T/imp/*")" -eq 0 ]
check "import: the real letter goes on to classify" [ "$(count "$VAR/spool/classify/incoming/*")" -eq 1 ]
check "import: the 4 bombs are quarantined in scan/corrupt" [ "$(count "$VAR/spool/scan/corrupt/*")" -eq 4 ]
for d in "$VAR"/spool/scan/corrupt/*; do
	id=$(basename "$d")
	f=$(jq -r .source.file "$d/job.json" 2>/dev/null)
	check "import: $f quarantined naming the limit ($(reason_of "$id" scan | head -c 200))" \
		sh -c "grep -qi 'max_pixels\|limit' '$d/QUARANTINE.txt'"
	check "import: the log names $f's letter and the reason" grep -q "$id.*quarantined\|$id.*limit" "$T/scan.log"
done
rss=$(tail -n 1 "$T/scan.rss")
check "import: peak memory of mailroom-scan stays small ($rss KiB < 400 MiB)" [ "$rss" -lt 409600 ]
good=$(ls "$VAR/spool/classify/incoming")
mv "$VAR/spool/classify/incoming/$good" "$T/template"

# --- B. bombs placed as letters in classify/incoming -------------------------------------
# place IMAGE: a letter with IMAGE as its scan.tiff in classify/incoming; prints its id
place() {
	local id
	id=$(date -u +%Y%m%dT%H%M%SZ)-$(openssl rand -hex 8)
	cp -a "$T/template" "$VAR/spool/classify/incoming/$id"
	cp "$1" "$VAR/spool/classify/incoming/$id/scan.tiff"
	jq --arg id "$id" --arg sha "$(sha256sum <"$1" | cut -d' ' -f1)" --argjson size "$(stat -c %s "$1")" \
		'.id = $id | .files["scan.tiff"].sha256 = $sha | .files["scan.tiff"].size = $size' \
		"$T/template/job.json" >"$VAR/spool/classify/incoming/$id/job.json"
	echo "$id"
}
# limits SECONDS MB WORKERS: conf/classify.yaml's limits and workers for the next run
limits() {
	sed -i -e "s/^  letter_seconds: .*/  letter_seconds: $1/" -e "s/^  memory_mb: .*/  memory_mb: $2/" \
		-e "s/^workers: .*/workers: $3/" "$CONF/classify.yaml"
}
limits 600 2048 1
b1=$(place "$B/g4-100k.tif")
b2=$(place "$B/g4-100k-1strip.tif")
b3=$(place "$B/deflate-19k-1strip.tif")
sleep 1.1 # the real letter's id sorts after the bombs
g1=$(place "$T/template/scan.tiff")
"$CLASSIFY" -c "$CONF" --once 2>"$T/classify-b.log" || true
for id in $b1 $b2; do
	check "classify: a 100000x100000 bilevel bomb is quarantined naming the limit ($(reason_of "$id" classify | head -c 160))" \
		sh -c "grep -q 'larger than the limit of 20000 pixels' '$VAR/spool/classify/corrupt/$id/QUARANTINE.txt'"
done
check "classify: a 19000x19000 gray bomb is quarantined naming the limit ($(reason_of "$b3" classify | head -c 200))" \
	sh -c "grep -q 'decodes to 344 MiB, more than the limit of 256 MiB per page' '$VAR/spool/classify/corrupt/$b3/QUARANTINE.txt'"
check "classify: the real letter after them goes on" \
	sh -c "[ -d '$VAR/spool/sign/incoming/$g1' ] || [ -d '$VAR/spool/review/incoming/$g1' ]"
check "classify: each quarantine is logged with the letter's id" \
	sh -c "grep -q '$b1: quarantined' '$T/classify-b.log' && grep -q '$b3: quarantined' '$T/classify-b.log'"

# --- C. letter_seconds ------------------------------------------------------------------------
limits 8 2048 1 # a normal letter (1-2 s of OCR) stays well under it, even under ASan and load
s1=$(place "$B/slow.tif")
sleep 1.1
g2=$(place "$T/template/scan.tiff")
start=$(date +%s)
"$CLASSIFY" -c "$CONF" --once 2>"$T/classify-c.log" &
cpid=$!
# the worker's limits, read while it works on the slow letter
wpid=
for i in $(seq 100); do
	wpid=$(sed -n 's/.*worker 1 (pid \([0-9]*\)) ready.*/\1/p' "$T/classify-c.log" | head -n 1)
	[ -n "$wpid" ] && break
	sleep 0.1
done
sleep 0.5
cp "/proc/$wpid/limits" "$T/worker.limits" 2>/dev/null || true
wait "$cpid" || true
took=$(($(date +%s) - start))
check "time: the slow letter is quarantined naming the limit ($(reason_of "$s1" classify | head -c 160))" \
	sh -c "grep -q 'took longer than the limit of 8 s' '$VAR/spool/classify/corrupt/$s1/QUARANTINE.txt'"
check "time: the reason says how to retry" grep -q "mailroom requeue $s1" "$VAR/spool/classify/corrupt/$s1/QUARANTINE.txt"
check "time: its worker was replaced and the next letter classified" \
	sh -c "[ -d '$VAR/spool/sign/incoming/$g2' ] || [ -d '$VAR/spool/review/incoming/$g2' ]"
check "time: the run ended soon after the limit (${took} s)" [ "$took" -lt 60 ]
check "time: the journal has the quarantine with the reason" \
	[ "$(sql "SELECT count(*) FROM events WHERE job='$s1' AND action='quarantined' AND detail LIKE '%limit of 8 s%'")" -eq 1 ]
if [ $sanitized = 1 ]; then
	echo "SKIP: AddressSanitizer build: RLIMIT_AS is not applied (common/stage.c); memory checks skipped" >&2
else
	check "limits: /proc/<worker>/limits was read (pid $wpid)" [ -s "$T/worker.limits" ]
	check "limits: the worker runs under RLIMIT_AS = memory_mb ($(grep 'Max address space' "$T/worker.limits" | tr -s ' '))" \
		grep -q "Max address space *$((2048 << 20)) *$((2048 << 20))" "$T/worker.limits"
fi

# --- D. memory_mb ------------------------------------------------------------------------------
if [ $sanitized = 0 ]; then
	limits 600 256 1
	m1=$(place "$B/deflate-14k.tif")
	sleep 1.1
	g3=$(place "$T/template/scan.tiff")
	"$CLASSIFY" -c "$CONF" --once 2>"$T/classify-d.log" || true
	check "memory: the 187 MiB page is quarantined naming the memory limit ($(reason_of "$m1" classify | head -c 200))" \
		sh -c "grep -q 'memory.*256 MiB\|256 MiB.*memory' '$VAR/spool/classify/corrupt/$m1/QUARANTINE.txt'"
	check "memory: the next letter is classified" \
		sh -c "[ -d '$VAR/spool/sign/incoming/$g3' ] || [ -d '$VAR/spool/review/incoming/$g3' ]"
fi

# --- E. requeue after the cause is fixed --------------------------------------------------------
limits 120 2048 1
"$MAILROOM_BIN/mailroom" -c "$CONF" requeue "$s1" >"$T/requeue.out" 2>&1
check "requeue: the slow letter is back in classify/incoming" [ -d "$VAR/spool/classify/incoming/$s1" ]
check "requeue: its QUARANTINE.txt is gone" [ ! -e "$VAR/spool/classify/incoming/$s1/QUARANTINE.txt" ]
"$CLASSIFY" -c "$CONF" --once 2>"$T/classify-e.log" || true
check "requeue: with letter_seconds raised it is classified ($(grep "$s1" "$T/classify-e.log" | tail -n 1 | head -c 200))" \
	sh -c "[ -d '$VAR/spool/sign/incoming/$s1' ] || [ -d '$VAR/spool/review/incoming/$s1' ]"
check "requeue: the journal tells the story (quarantined, requeued, then classify's verdict)" \
	[ "$(sql "SELECT count(*) FROM events WHERE job='$s1' AND action IN ('quarantined','requeued')")" -ge 2 ]
check "no letter lost: every placed letter is in exactly one place" \
	[ "$(for id in $b1 $b2 $b3 $g1 $s1 $g2 ${m1:-} ${g3:-}; do find "$VAR" -maxdepth 4 -name "$id" -type d; done | wc -l)" -eq \
	"$(echo $b1 $b2 $b3 $g1 $s1 $g2 ${m1:-} ${g3:-} | wc -w)" ]
finish
