#!/bin/bash
# classify_workers.sh - mailroom-classify with worker processes, the early type
# decision and the limits per letter (conf/classify.yaml), on a temporary spool:
#  1. three workers drain a batch: every letter is claimed and classified exactly
#     once (journal), none is left behind;
#  2. the early decision is recorded in job.json (decided_from, early.*); a
#     nicht_scannen letter decided early gets no full-text OCR (no ocr.pdf), an
#     unclear one is decided from the full text;
#  3. a 100,000-pixel-wide TIFF is refused with a clear message and quarantined,
#     the other letters go on;
#  4. a worker killed with SIGKILL in the middle of a letter is replaced, its
#     letter is re-queued and classified (once);
#  5. a letter over the wall-clock limit is quarantined with the reason, its
#     worker replaced, the next letter goes on;
#  6. a configuration error in classify.yaml stops the program with file:line;
#  7. a letter over the memory limit (RLIMIT_AS) is quarantined, the worker is
#     replaced, the next letter goes on.
. "$(dirname "$0")/classify_lib.sh"
classify_setup
SCAN="$MAILROOM_BIN/mailroom-scan"
[ -x "$SCAN" ] || { echo "missing $SCAN (build mailroom-scan)" >&2; exit 1; }
for tool in sqlite3 tiffset tiffcp; do
	command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done
SPOOL="$MAILROOM_VAR/spool"
CC="$TMP/conf/classify.yaml"
sed -i 's/stable_seconds: [0-9]*/stable_seconds: 0/' "$TMP/conf/scan.yaml"
[ -f "$CC" ] || { fail "conf/classify.yaml is not shipped"; exit 1; }
sql() { sqlite3 "$MAILROOM_VAR/journal.db" "$1"; }
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
# import the files in $TMP/import
import() {
	"$SCAN" -c "$TMP/conf" --once --import "$TMP/import" 2>>"$TMP/scan.err" ||
		{ cat "$TMP/scan.err" >&2; fail "mailroom-scan --import failed"; exit 1; }
}
# replace scan.tiff of classify/incoming/$1 by file $2, keeping the record consistent
swap_image() {
	local k="$SPOOL/classify/incoming/$1" sum size
	cp "$2" "$k/scan.tiff"
	sum=$(sha256sum "$k/scan.tiff" | cut -d' ' -f1)
	size=$(stat -c %s "$k/scan.tiff")
	jq --arg s "$sum" --argjson n "$size" '.files["scan.tiff"] = {sha256: $s, size: $n}' \
		"$k/job.json" >"$TMP/j" && cp "$TMP/j" "$k/job.json"
}
set_conf() { sed -i "s/^\( *$1:\).*/\1 $2/" "$CC"; }

mkdir -p "$TMP/import" "$TMP/img"
for name in rechnung notiz werbung antrag brief widerspruch; do
	classify_render "$DATA/$name.tr" "$TMP/img/$name.tif"
	cp "$TMP/img/$name.tif" "$TMP/import/"
done
cp "$TMP/img/werbung.tif" "$TMP/import/breit.tif"
import
# a 100,000-pixel-wide TIFF (the header says so; libtiff would have to allocate
# 100000 x 3508 pixels to decode it)
cp "$TMP/img/werbung.tif" "$TMP/img/breit.tif"
tiffset -s 256 100000 "$TMP/img/breit.tif" || fail "tiffset cannot widen the TIFF"
bid=$(job_of breit.tif classify/incoming)
[ -n "$bid" ] || { fail "wide letter not imported"; exit 1; }
swap_image "$bid" "$TMP/img/breit.tif"

# 1. three workers drain the batch
set_conf workers 3
"$CLASSIFY" -c "$TMP/conf" --once 2>"$TMP/batch.err"
rc=$?
[ $rc -eq 0 ] || { cat "$TMP/batch.err" >&2; fail "--once with 3 workers exited with $rc"; }
[ "$(grep -c 'worker [0-9] (pid [0-9]*) ready' "$TMP/batch.err")" -eq 3 ] ||
	fail "expected 3 workers: $(grep -c 'ready' "$TMP/batch.err") started"
[ -z "$(ls "$SPOOL/classify/incoming" "$SPOOL/classify/active" | grep '^2')" ] ||
	fail "letters left in classify/incoming or active"
ids=$(sql "SELECT DISTINCT job FROM events WHERE action='captured'")
[ "$(echo "$ids" | wc -w)" -eq 7 ] || fail "expected 7 captured letters"
for id in $ids; do
	[ "$id" = "$bid" ] && continue
	n=$(sql "SELECT count(*) FROM events WHERE job='$id' AND stage='classify' AND action='classified'")
	c=$(sql "SELECT count(*) FROM events WHERE job='$id' AND stage='classify' AND action='claimed'")
	[ "$n" -eq 1 ] && [ "$c" -eq 1 ] || fail "$id: classified $n times, claimed $c times (want 1, 1)"
	[ -d "$SPOOL/sign/incoming/$id" ] || [ -d "$SPOOL/review/incoming/$id" ] ||
		fail "$id: neither in sign nor in review"
done

# 2. the early decision in job.json
rid=$(job_of rechnung.tif sign/incoming)
if [ -z "$rid" ]; then
	fail "invoice not in sign"
else
	jq -e '.classification | .type == "rechnung" and .decided_from == "early" and
	       .early.safe == true and .early.candidate == "rechnung" and
	       .early.confirmed_by_full_text == true and
	       .early.margin >= .early.early_margin and .early.cpu_seconds > 0 and
	       .ocr.full_text == true and .ocr.cpu_seconds > 0' \
		"$SPOOL/sign/incoming/$rid/job.json" >/dev/null ||
		fail "invoice: early decision not recorded: $(jq -c '.classification | del(.trace)' "$SPOOL/sign/incoming/$rid/job.json")"
	[ -f "$SPOOL/sign/incoming/$rid/ocr.pdf" ] || fail "invoice: no searchable PDF"
fi
wid=$(job_of werbung.tif sign/incoming)
if [ -z "$wid" ]; then
	fail "advertisement not in sign"
else
	w="$SPOOL/sign/incoming/$wid"
	jq -e '.classification | .type == "werbung" and .scan_mode == "nicht_scannen" and
	       .decided_from == "early" and .ocr.full_text == false and
	       (.ocr.skipped | test("nicht_scannen")) and .ocr.cpu_seconds == null and
	       .office != null' "$w/job.json" >/dev/null ||
		fail "advertisement: full OCR not skipped: $(jq -c '.classification | del(.trace)' "$w/job.json")"
	jq -e '.files | has("ocr.pdf") or has("ocr.txt") | not' "$w/job.json" >/dev/null &&
		[ ! -e "$w/ocr.pdf" ] || fail "advertisement: has OCR files although skipped"
	grep -q "$wid: early pass .*nicht_scannen: no full-text OCR" "$TMP/batch.err" ||
		fail "advertisement: the log does not say the full OCR was skipped"
	grep -q "$wid: OCR of" "$TMP/batch.err" && fail "advertisement: full OCR ran"
fi
nid=$(job_of notiz.tif review/incoming)
[ -n "$nid" ] && jq -e '.classification.decided_from == "full"' \
	"$SPOOL/review/incoming/$nid/job.json" >/dev/null ||
	fail "note: not in review or not decided from the full text"

# 3. the wide TIFF: quarantined with a message naming the file, the size and the limit
q="$SPOOL/classify/corrupt/$bid/QUARANTINE.txt"
if [ ! -f "$q" ]; then
	fail "wide TIFF not quarantined"
else
	grep -q "scan.tiff" "$q" && grep -q "100000x3508" "$q" && grep -q "limit" "$q" ||
		fail "wide TIFF: unclear reason: $(cat "$q")"
	[ "$(sql "SELECT state FROM letters WHERE job='$bid'")" = quarantined ] ||
		fail "wide TIFF: journal state not quarantined"
fi

# a long letter: the invoice twelve times (12 pages, several seconds of OCR)
rm -f "$TMP/import"/*
tiffcp $(for _ in $(seq 12); do echo "$TMP/img/rechnung.tif"; done) "$TMP/import/lang.tif" ||
	fail "tiffcp failed"
cp "$TMP/img/werbung.tif" "$TMP/import/kurz.tif"
import
lid=$(job_of lang.tif classify/incoming)
kid=$(job_of kurz.tif classify/incoming)
[ -n "$lid" ] && [ -n "$kid" ] || { fail "long/short letters not imported"; exit 1; }

# 5. the wall-clock limit (3 s): the long letter is quarantined, the short one
# (nicht_scannen, decided early: well under a second) goes on
set_conf workers 1
set_conf letter_seconds 3
"$CLASSIFY" -c "$TMP/conf" --once 2>"$TMP/limit.err"
rc=$?
[ $rc -eq 0 ] || { cat "$TMP/limit.err" >&2; fail "--once with the time limit exited with $rc"; }
q="$SPOOL/classify/corrupt/$lid/QUARANTINE.txt"
[ -f "$q" ] && grep -q "longer than the limit of 3 s" "$q" ||
	fail "long letter not quarantined for the time limit: $(cat "$q" 2>/dev/null)"
grep -q "worker 1 (pid [0-9]*) died: Alarm clock" "$TMP/limit.err" ||
	fail "the parent did not report the stopped worker"
[ -d "$SPOOL/sign/incoming/$kid" ] || fail "short letter did not go on after the limit"
[ "$(sql "SELECT count(*) FROM events WHERE job='$kid' AND action='classified'")" -eq 1 ] ||
	fail "short letter: not classified exactly once"

# 4. SIGKILL of the worker in the middle of the long letter: re-queued, classified once
set_conf letter_seconds 600
mv "$SPOOL/classify/corrupt/$lid" "$SPOOL/classify/incoming/$lid"
rm -f "$SPOOL/classify/incoming/$lid/QUARANTINE.txt"
"$CLASSIFY" -c "$TMP/conf" 2>"$TMP/daemon.err" &
dpid=$!
killed=""
for _ in $(seq 1 300); do
	if [ -d "$SPOOL/classify/active/$lid" ] && grep -q "$lid: early pass" "$TMP/daemon.err"; then
		wpid=$(pgrep -P "$dpid" | head -n 1)
		[ -n "$wpid" ] && kill -KILL "$wpid" && killed=$wpid
		break
	fi
	sleep 0.1
done
[ -n "$killed" ] || fail "could not catch the worker in the middle of the letter"
for _ in $(seq 1 600); do
	[ -d "$SPOOL/sign/incoming/$lid" ] && break
	sleep 0.1
done
kill -TERM "$dpid"
wait "$dpid"
rc=$?
[ $rc -eq 0 ] || fail "daemon exited with $rc after SIGTERM"
[ -d "$SPOOL/sign/incoming/$lid" ] || { fail "killed worker's letter not classified"; cat "$TMP/daemon.err" >&2; }
grep -q "worker 1 (pid $killed) died: Killed" "$TMP/daemon.err" || fail "death not logged"
grep -q "worker 1 restarted" "$TMP/daemon.err" || fail "worker not restarted"
grep -q "$lid: re-queued" "$TMP/daemon.err" || fail "letter not re-queued"
[ "$(sql "SELECT count(*) FROM events WHERE job='$lid' AND action='requeued'")" -eq 1 ] ||
	fail "no requeued event in the journal"
[ "$(sql "SELECT count(*) FROM events WHERE job='$lid' AND action='classified' AND outcome='ok'")" -eq 1 ] ||
	fail "long letter not classified exactly once"
[ -z "$(ls "$SPOOL/classify/active")" ] || fail "active/ not empty"
[ "$(jq '.classification.ocr.pages' "$SPOOL/sign/incoming/$lid/job.json")" -eq 12 ] ||
	fail "long letter: not all 12 pages recognised"

# 7. the memory limit (256 MiB): a 19000 x 19000 page (under the size limit, 18 KB
# as G4) needs more; its worker dies, the letter is quarantined with the reason,
# the worker is replaced and the next letter goes on
gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=tiffg4 -r300 -g19000x19000 -o "$TMP/img/gross.tif" \
	-c "/Helvetica findfont 400 scalefont setfont 100 18000 moveto (Rechnung) show showpage" ||
	fail "cannot render the large page"
rm -f "$TMP/import"/*
cp "$TMP/img/brief.tif" "$TMP/import/gross.tif"
cp "$TMP/img/antrag.tif" "$TMP/import/danach.tif"
import
gid=$(job_of gross.tif classify/incoming)
did=$(job_of danach.tif classify/incoming)
[ -n "$gid" ] && [ -n "$did" ] || { fail "large/next letters not imported"; exit 1; }
swap_image "$gid" "$TMP/img/gross.tif"
set_conf memory_mb 256
"$CLASSIFY" -c "$TMP/conf" --once 2>"$TMP/mem.err"
rc=$?
[ $rc -eq 0 ] || { cat "$TMP/mem.err" >&2; fail "--once with the memory limit exited with $rc"; }
q="$SPOOL/classify/corrupt/$gid/QUARANTINE.txt"
if grep -qa __asan_init "$CLASSIFY"; then # ASan: no RLIMIT_AS (common/stage.c)
	echo "note: sanitizer build, the memory limit is not tested" >&2
else
	[ -f "$q" ] && grep -q "limit of 256 MiB" "$q" ||
		fail "large page not quarantined for the memory limit: $(cat "$q" 2>/dev/null)"
	grep -q "worker 1 restarted" "$TMP/mem.err" || fail "worker not replaced after the memory limit"
	[ -d "$SPOOL/sign/incoming/$did" ] ||
		fail "the next letter did not go on after the memory limit"
fi
set_conf memory_mb 2048

# 6. a configuration error names file:line
set_conf margin 0.1
classify_conf_error "early.margin below min_margin" min_margin

[ $failures -eq 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
echo "workers, early decision and limits ok"
