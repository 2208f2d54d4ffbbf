#!/bin/bash
# escl_faults.sh - scanner faults through SANE's real escl backend (sane-backends
# 1.2.1): what scanimage and mailroom-scan see when mailroom-escl-emulator jams,
# opens its cover, is busy, hangs, drops the connection or is slow. Each case
# records the exact status the backend produces; the emulator's served.log shows
# which sheets really went through the scanner.
#   - a jam at sheet 3: the batch ends as if the feeder were empty
#     (NO_DOCS after 2 pages); only the next session gets SANE_STATUS_JAMMED;
#     after POST /control/clear the rest follows: no page lost or doubled
#   - the same through mailroom-scan: one more sane_start finds the jam: a letter of
#     2 pages marked incomplete, exit 74
#   - cover open, 503 busy at job creation (retried) and at NextDocument
#   - sane_cancel (end of --pages) pulls the remaining sheets out of the feeder
#   - a hanging NextDocument: mailroom-scan kills its device process after
#     timeout_seconds; the pages before are kept (exit 74)
#   - a dropped connection: the backend crashes (SIGSEGV) in the device process;
#     mailroom-scan keeps the pages before
#   - --slow: the time per page
#   - one more sane_start after the batch ended tells an empty feeder from a jam
set -u
. "$(dirname "$0")/escl_lib.sh"
ADF=(--source ADF --mode Color --resolution 150)

# (1) jam at sheet 3, scanimage
emu "$TMP/stack" --dpi 150 --jam-at 3
scan "$TMP/j1" "${ADF[@]}"
[ $RC = 0 ] || fail "jam: scanimage exit $RC (the backend reports the jam as an empty feeder)"
grep -q 'sane_start: Document feeder out of documents' "$TMP/j1/stderr" || fail "jam status: $(cat "$TMP/j1/stderr")"
grep -q 'Batch terminated, 2 pages scanned' "$TMP/j1/stderr" || fail "jam pages: $(cat "$TMP/j1/stderr")"
grep -qx 'sheet 3 jammed' "$V/escl/served.log" || fail "no jam in served.log"
scan "$TMP/j2" "${ADF[@]}"
[ $RC = 6 ] || fail "second session: exit $RC, expected 6"
grep -q 'sane_start: Document feeder jammed' "$TMP/j2/stderr" || fail "JAMMED: $(cat "$TMP/j2/stderr")"
[ "$(pages "$TMP/j2")" = 0 ] || fail "pages while jammed"
sh "$ESCL_SH" clear "$V" >/dev/null || fail "escl.sh clear"
scan "$TMP/j3" "${ADF[@]}"
[ $RC = 0 ] && [ "$(pages "$TMP/j3")" = 3 ] || fail "after clear: $(cat "$TMP/j3/stderr")"
same "$TMP/j3/p1.pnm" "$TMP/stack/0003.ppm" flip || fail "after clear, page 1 is not sheet 3"
same "$TMP/j3/p3.pnm" "$TMP/stack/0005.ppm" flip || fail "after clear, page 3 is not sheet 5"
printf 'sheet %d side front served\n' 1 2 3 4 5 >"$TMP/want"
served | diff - "$TMP/want" >/dev/null || fail "lost or doubled: $(cat "$V/escl/served.log")"
ok "jam at 3: 'Document feeder out of documents' after 2 pages (exit 0); next session 'Document feeder jammed' (exit 6); after clear sheets 3-5; none lost or doubled"

# (2) jam at sheet 3, mailroom-scan: one more sane_start after NO_DOCS (the device
# process, scan_device.c) finds the jam: the 2 pages before are kept as a letter
# marked incomplete, exit 74
cp -r "$SRC/conf" "$TMP/conf"
sed -i '/^  depth: /d; s/^  timeout_seconds: .*/  timeout_seconds: 5/' "$TMP/conf/scan.yaml"
export MAILROOM_VAR=$TMP/var
IN=$TMP/var/spool/classify/incoming
CHECK=$BIN/../tests/scan_jobcheck
mscan() {
	SANE_CONFIG_DIR=$V/sane env "$SANE_ASAN" timeout 120 "$BIN/mailroom-scan" -c "$TMP/conf" --sane "$DEV" \
		"${ADF[@]}" "$@" >"$TMP/ms.out" 2>"$TMP/ms.err"
	RC=$?
}
emu "$TMP/stack" --dpi 150 --jam-at 3
mscan
[ $RC = 74 ] || fail "mailroom-scan jam: exit $RC: $(cat "$TMP/ms.err")"
grep -q "scanner $DEV: Document feeder jammed during page 3 (start): clear the paper jam" "$TMP/ms.err" ||
	fail "jam message: $(cat "$TMP/ms.err")"
J1=$(ls "$IN")
[ "$("$CHECK" "$IN/$J1" capture.page_count)" = 2 ] || fail "jam letter page_count"
"$CHECK" "$IN/$J1" capture.complete 2>/dev/null | grep -q false || fail "not marked incomplete"
mscan
[ $RC = 74 ] || fail "mailroom-scan while jammed: exit $RC: $(cat "$TMP/ms.err")"
grep -q "scanner $DEV: Document feeder jammed during page 1 (start): clear the paper jam" "$TMP/ms.err" ||
	fail "jam message: $(cat "$TMP/ms.err")"
sh "$ESCL_SH" clear "$V" >/dev/null
mscan
[ $RC = 0 ] || fail "mailroom-scan after clear: exit $RC"
[ "$(ls "$IN" | wc -l)" = 2 ] || fail "expected two letters"
J2=""
for j in "$IN"/*; do [ "${j##*/}" != "$J1" ] && J2=${j##*/}; done
[ "$("$CHECK" "$IN/$J2" capture.page_count)" = 3 ] || fail "second letter page_count"
"$TOOL" tiffpage "$IN/$J2/scan.tiff" 1 "$TMP/t.pnm" && same "$TMP/t.pnm" "$TMP/stack/0003.ppm" flip ||
	fail "second letter starts with sheet 3"
served | diff - "$TMP/want" >/dev/null || fail "mailroom-scan: lost or doubled"
ok "mailroom-scan, jam at 3: letter of 2 pages marked incomplete, exit 74 'Document feeder jammed during page 3'; while jammed exit 74; after clear a letter of sheets 3-5"

# (3) cover open at sheet 2: the same pattern with SANE_STATUS_COVER_OPEN
emu "$TMP/stack" --dpi 150 --cover-open-at 2
scan "$TMP/c1" "${ADF[@]}"
[ $RC = 0 ] && [ "$(pages "$TMP/c1")" = 1 ] || fail "cover: $(cat "$TMP/c1/stderr")"
grep -q 'sane_start: Document feeder out of documents' "$TMP/c1/stderr" || fail "cover status"
scan "$TMP/c2" "${ADF[@]}"
[ $RC = 8 ] && grep -q 'sane_start: Scanner cover is open' "$TMP/c2/stderr" ||
	fail "cover second session: exit $RC $(cat "$TMP/c2/stderr")"
ok "cover open at 2: 'Document feeder out of documents' after 1 page; next session 'Scanner cover is open' (exit 8)"

# (4) busy: 503 to the job creation is retried (3 times, 250 us apart) ...
emu "$TMP/stack" --dpi 150 --busy-at 1 --busy-count 3
scan "$TMP/b1" "${ADF[@]}"
[ $RC = 0 ] && [ "$(pages "$TMP/b1")" = 5 ] || fail "busy x3: $(cat "$TMP/b1/stderr")"
emu "$TMP/stack" --dpi 150 --busy-at 1 --busy-count 4
scan "$TMP/b2" "${ADF[@]}"
[ $RC = 3 ] && grep -q 'sane_start: Device busy' "$TMP/b2/stderr" || fail "busy x4: exit $RC"
[ "$(grep -c 'busy (503 to the new job)' "$V/escl/served.log")" = 4 ] || fail "POST attempts"
# ... but a 503 to NextDocument is not: an empty 503 ends the batch like an empty
# feeder, and sane_cancel then pulls the rest of the stack through the scanner
emu "$TMP/stack" --dpi 150 --busy-at 3
scan "$TMP/b3" "${ADF[@]}"
[ $RC = 0 ] && grep -q 'Batch terminated, 2 pages scanned' "$TMP/b3/stderr" ||
	fail "busy at 3: exit $RC $(cat "$TMP/b3/stderr")"
[ "$(served | wc -l)" = 5 ] || fail "busy at 3: the remaining sheets were not drained"
emu "$TMP/stack" --dpi 150 --busy-at 3 --error-body
scan "$TMP/b4" "${ADF[@]}"
[ $RC = 4 ] && grep -q 'sane_start: Invalid argument' "$TMP/b4/stderr" ||
	fail "busy at 3 with a body: exit $RC $(cat "$TMP/b4/stderr")"
ok "busy: POST 503 x3 retried, x4 'Device busy' (exit 3); NextDocument 503 empty: 'out of documents' after 2 pages and sheets 3-5 ejected by sane_cancel; with a body: 'Invalid argument' (exit 4)"

# (5) sane_cancel mid-batch (mailroom-scan --pages 2) ejects the rest of the feeder
emu "$TMP/stack" --dpi 150
rm -rf "${TMP:?}/var"
mscan --pages 2
[ $RC = 0 ] || fail "--pages 2: exit $RC"
J=$(ls "$IN")
[ "$("$CHECK" "$IN/$J" capture.page_count)" = 2 ] || fail "--pages 2 letter"
[ "$(served | wc -l)" = 5 ] || fail "--pages 2: sane_cancel did not drain: $(cat "$V/escl/served.log")"
ok "mailroom-scan --pages 2: letter of 2 pages; sane_cancel pulled sheets 3-5 through the scanner (discarded)"

# (6) a NextDocument that is never answered: the SANE calls run in mailroom-scan's
# device process; after timeout_seconds (5) without an answer it is killed; the 2
# pages before are kept and submitted, the operator is told to re-feed sheet 3
emu "$TMP/stack" --dpi 150 --hang-at 3
rm -rf "${TMP:?}/var"
t0=$(ms)
mscan
t1=$(ms)
[ $RC = 74 ] || fail "hang: exit $RC: $(cat "$TMP/ms.err")"
grep -q 'no answer for 5.0 seconds; the device process was killed during page 3' "$TMP/ms.err" ||
	fail "hang message: $(cat "$TMP/ms.err")"
grep -q 'Blatt 3 und folgende wieder einlegen' "$TMP/ms.err" || fail "hang: no advice for the operator"
[ $((t1 - t0)) -ge 4500 ] && [ $((t1 - t0)) -lt 30000 ] || fail "hang took $((t1 - t0)) ms"
J=$(ls "$IN" 2>/dev/null | head -1)
[ -n "$J" ] && [ "$("$CHECK" "$IN/$J" capture.page_count)" = 2 ] || fail "hang: the 2 pages were not kept as a letter"
[ "$(ls "$TMP/var/spool/scan/tmp" | wc -l)" = 0 ] || fail "hang: something left in scan/tmp"
ok "hang at 3: device process killed after $((t1 - t0)) ms (timeout 5 s), 2 pages kept as a letter, operator told to re-feed sheet 3"

# (7) the connection drops during NextDocument: libsane-escl 1.2.1 crashes
# (escl_scan.c closes its temporary file twice); only the device process dies,
# mailroom-scan keeps the pages before and reports the fault
emu "$TMP/stack" --dpi 150 --drop-at 3
rm -rf "${TMP:?}/var"
mscan
[ $RC = 74 ] || fail "drop: exit $RC (expected 74: the backend crashed in the device process): $(cat "$TMP/ms.err")"
J=$(ls "$IN" 2>/dev/null | head -1)
[ -n "$J" ] && [ "$("$CHECK" "$IN/$J" capture.page_count)" = 2 ] || fail "drop: the 2 pages were not kept"
ok "dropped connection at 3: libsane-escl crashed in the device process; mailroom-scan kept the 2 pages"

# (8) a slow scanner: 300 ms per image
emu "$TMP/stack" --dpi 150 --slow 300
t0=$(ms)
scan "$TMP/s1" "${ADF[@]}"
t1=$(ms)
[ $RC = 0 ] && [ "$(pages "$TMP/s1")" = 5 ] || fail "slow: $(cat "$TMP/s1/stderr")"
[ $((t1 - t0)) -ge 1500 ] || fail "slow: only $((t1 - t0)) ms for 5 pages"
ok "slow 300 ms/page: 5 pages in $((t1 - t0)) ms"

# (9) asking again after the batch ended (SANE_STATUS_NO_DOCS): one more sane_start
# tells an empty feeder (NO_DOCS again) from a jam, an open cover or a transient
# 503 (then the batch simply goes on, nothing lost)
BATCH=$BIN/../tests/escl_sanebatch
[ -x "$BATCH" ] || fail "build escl_sanebatch"
probe() { SANE_CONFIG_DIR=$V/sane env "$SANE_ASAN" timeout 90 "$BATCH" "$DEV" ADF 1 >"$TMP/probe.out" 2>&1; }
emu "$TMP/stack" --dpi 150
probe && [ "$(cat "$TMP/probe.out")" = "pages 5, end Document feeder out of documents
extra 1: Document feeder out of documents" ] || fail "probe, empty: $(cat "$TMP/probe.out")"
emu "$TMP/stack" --dpi 150 --jam-at 3
probe && [ "$(cat "$TMP/probe.out")" = "pages 2, end Document feeder out of documents
extra 1: Document feeder jammed" ] || fail "probe, jam: $(cat "$TMP/probe.out")"
emu "$TMP/stack" --dpi 150 --cover-open-at 3
probe && grep -qx 'extra 1: Scanner cover is open' "$TMP/probe.out" || fail "probe, cover: $(cat "$TMP/probe.out")"
emu "$TMP/stack" --dpi 150 --busy-at 3
SANE_CONFIG_DIR=$V/sane env "$SANE_ASAN" timeout 90 "$BATCH" "$DEV" ADF 4 >"$TMP/probe.out" 2>&1 || fail "probe, busy"
[ "$(grep -c '^page ' "$TMP/probe.out")" = 3 ] && grep -qx 'extra 4: Document feeder out of documents' \
	"$TMP/probe.out" || fail "probe, busy: $(cat "$TMP/probe.out")"
served | diff - "$TMP/want" >/dev/null || fail "probe, busy: lost or doubled"
ok "one more sane_start after NO_DOCS: empty -> NO_DOCS, jam -> JAMMED, cover -> COVER_OPEN, 503 -> the batch goes on (sheets 3-5, none lost)"

echo "escl_faults: ok"
