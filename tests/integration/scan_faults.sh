#!/bin/bash
# scan_faults.sh - faults in the middle of a batch with SANE's real test backend:
# a jam (read-return-value on one sheet of the stack) continued from the terminal,
# cover open and device busy continued through the control FIFO and SIGUSR1, an
# I/O error with --on-fault stop (the last, incomplete document held alone, then
# released), NO_DOCS after a start ended with "q", a backend that hangs (its device
# process stopped with SIGSTOP) killed after capture.timeout_seconds and a backend
# that crashes (SIGSEGV), a jam on the back side of a duplex sheet (the front is
# given up and the whole sheet fed again), and a slow scanner (read-delay). Each
# time: the pages before the fault are kept, no page is lost or doubled, and the
# batch record and the letters' capture metadata tell what happened.
. "$(dirname "$0")/lib.sh"
set +e # the exit status of every command is checked
PAGEC=$MAILROOM_BIN/../tests/scan_pagecheck
export SANE_CONFIG_DIR=$CONF/sane
IN=$VAR/spool/classify/incoming
BATCHES=$VAR/spool/scan/batches
CORRUPT=$VAR/spool/scan/corrupt
sed -i 's/^  timeout_seconds: .*/  timeout_seconds: 2/; s/^  cancel_seconds: .*/  cancel_seconds: 1/' "$CONF/scan.yaml"
scan() { "$MAILROOM_BIN/mailroom-scan" -c "$CONF" "$@"; }
clean() { rm -rf "$VAR/spool" "$VAR/journal.db"* "$T/ev.json"; }
events() { grep "\"event\":\"$1\"" "$T/ev.json"; }
rec() { jq -r "$1" "$BATCHES"/*/batch.json; } # the (only) batch record
wait_event() { # wait_event PATTERN: up to 20 s for a line of ev.json
	local i
	for i in $(seq 200); do
		grep -q "$1" "$T/ev.json" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
device_pid() { events device | tail -1 | jq -r .pid; }
# every page sheet+side of the letters exactly once, in order: 1..N
sheets_once() { # sheets_once N
	[ "$(jq -r '[.pages[] | select(.role == "page") | .sheet] | join(",")' "$BATCHES"/*/batch.json)" = "$(seq -s, 1 "$1")" ]
}

# (1) a jam at sheet 4, continued at the terminal (--interactive, Enter)
printf '\n' | scan --sane test --batch --source ADF --resolution 50 --separation pages:3 \
	--sheet-option "4@1:read-return-value=SANE_STATUS_JAMMED" --interactive --json >"$T/ev.json" 2>"$T/err"
check "jam, continued: exit 0" [ $? -eq 0 ]
check "the operator is told what to do" grep -q "Papierstau bei Blatt 4: Stau beheben, Blatt 4 und folgende wieder einlegen" "$T/err"
check "... and asked" grep -q "Enter = weiter, q = Stapel beenden" "$T/err"
check "a second device process starts at sheet 4, attempt 2" [ "$(events device | tail -1 | jq -r '"\(.sheet)/\(.attempt)"')" = 4/2 ]
check "13 sheets (3, then the backend's 10 again), each once" sheets_once 13
check "the fault is recorded as resumed" [ "$(rec '.faults[0] | "\(.status) \(.sheet) \(.outcome)"')" = "JAMMED 4 resumed" ]
L=$(rec '.documents[1].letter')
check "letter 2 starts with sheet 4, second feed" [ "$(jq -r '.capture.pages[0] | "\(.sheet) \(.attempt)"' "$IN/$L/job.json")" = "4 2" ]
check "... with the fault and an anomaly for the Transfervermerk" \
	sh -c "jq -e '.capture.faults[0].status == \"JAMMED\"' '$IN/$L/job.json' >/dev/null && jq -e '.capture.anomalies[] | select(.text | test(\"Blatt 4 nach Störung \\\\(Papierstau\\\\)\"))' '$IN/$L/job.json' >/dev/null"
check "letter 1 (sheets 1-3) has no fault" [ "$(jq -r '.capture.faults | length' "$IN/$(rec '.documents[0].letter')/job.json")" = 0 ]
for l in "$IN"/*; do "$PAGEC" "$l" >/dev/null || bad "$l: page digests"; done

# (2) cover open (sheet 3) and device busy (sheet 6): wait-for-resume, continued by
# the control FIFO and by SIGUSR1
clean
scan --sane test --batch --source ADF --resolution 50 --separation none --on-fault wait-for-resume \
	--control "$T/ctl" --sheet-option "3@1:read-return-value=SANE_STATUS_COVER_OPEN" \
	--sheet-option "6@1:read-return-value=SANE_STATUS_DEVICE_BUSY" --json </dev/null >"$T/ev.json" 2>"$T/err" &
P=$!
wait_event '"status":"COVER_OPEN"'
check "cover open: a fault event that waits" [ "$(events fault | head -1 | jq -r .waiting)" = true ]
echo continue >"$T/ctl"
wait_event '"status":"DEVICE_BUSY"'
kill -USR1 "$(events fault | tail -1 | jq -r .pid)" # mailroom-scan itself, not the shell
wait $P
check "two faults continued: exit 0" [ $? -eq 0 ]
check "resume events for sheets 3 and 6" [ "$(events resume | jq -r .sheet | tr '\n' ' ')" = "3 6 " ]
check "15 sheets, each once" sheets_once 15
check "German messages for both" sh -c "grep -q 'Abdeckung offen bei Blatt 3: Abdeckung schließen' '$T/err' && grep -q 'Scanner belegt bei Blatt 6' '$T/err'"

# (3) an I/O error at sheet 5, --on-fault stop: sheets 1-3 are a letter, sheet 4
# (the incomplete document) is held alone until an operator releases it
clean
scan --sane test --batch --source ADF --resolution 50 --separation pages:3 --on-fault stop \
	--sheet-option "5@1:read-return-value=SANE_STATUS_IO_ERROR" --json </dev/null >"$T/ev.json" 2>"$T/err"
check "stopped by a fault: exit 74" [ $? -eq 74 ]
check "one letter in classify (sheets 1-3)" [ "$(count "$IN/*")" -eq 1 ]
H=$(ls "$CORRUPT")
check "the incomplete document is held in scan/corrupt" [ "$(count "$CORRUPT/*")" -eq 1 -a -f "$CORRUPT/$H/job.json" ]
check "... marked incomplete with the fault" \
	[ "$(jq -r '[.capture.complete, (.capture.fault | test("Error during device I/O"))] | join(" ")' "$CORRUPT/$H/job.json")" = "false true" ]
check "... with the reason and how to go on" grep -q "mailroom requeue $H" "$CORRUPT/$H/QUARANTINE.txt"
check "batch.json: stopped, fault stopped" [ "$(rec '"\(.state) \(.faults[0].outcome)"')" = "stopped stopped" ]
check "a stop event" [ "$(events stop | wc -l)" -eq 1 ]
mailroom requeue "$H" >/dev/null
scan --release </dev/null 2>"$T/err"
check "released into classify" [ -d "$IN/$H" -a "$(count "$CORRUPT/*")" -eq 0 ]

# (4) NO_DOCS after a start (sheet 2), the operator ends the stack with q
clean
printf 'q\n' | scan --sane test --batch --source ADF --resolution 50 --separation none \
	--sheet-option "2@1:read-return-value=SANE_STATUS_NO_DOCS" --interactive 2>"$T/err"
check "q ends the stack: exit 74" [ $? -eq 74 ]
check "the message says the feeder ran empty in a sheet" grep -q "Einzug leer mitten im Blatt bei Blatt 2" "$T/err"
check "sheet 1 is held as an incomplete letter" [ "$(count "$CORRUPT/*")" -eq 1 -a "$(count "$IN/*")" -eq 0 ]

# (5) a backend that hangs (device process stopped) is killed; continued by SIGUSR1
clean
scan --sane test --batch --source ADF --resolution 100 --separation none --on-fault wait-for-resume \
	--sheet-option "5@1:test-picture=Grid" --sheet-option "5@1:read-delay=yes" \
	--sheet-option "5@1:read-delay-duration=200000" --json </dev/null >"$T/ev.json" 2>"$T/err" &
P=$!
wait_event '"sheet":4,"side"'
D=$(device_pid)
kill -STOP "$D"
T0=$(date +%s.%N)
wait_event '"event":"fault"'
T1=$(date +%s.%N)
check "hang detected after the 2 s timeout" awk -v a="$T0" -v b="$T1" 'BEGIN { exit !(b - a >= 1.5 && b - a < 10) }'
check "the hung device process is gone" sh -c "! kill -0 $D 2>/dev/null"
kill -USR1 "$(events fault | tail -1 | jq -r .pid)"
wait $P
check "hang, continued: exit 0" [ $? -eq 0 ]
check "fault HANG at sheet 5" [ "$(rec '.faults[0] | "\(.status) \(.sheet)"')" = "HANG 5" ]
check "14 sheets (4, then 10 again), each once" sheets_once 14

# (6) a backend that crashes (SIGSEGV in the device process), --on-fault stop
clean
scan --sane test --batch --source ADF --resolution 100 --separation none --on-fault stop \
	--sheet-option "5@1:test-picture=Grid" --sheet-option "5@1:read-delay=yes" \
	--sheet-option "5@1:read-delay-duration=200000" --json </dev/null >"$T/ev.json" 2>"$T/err" &
P=$!
wait_event '"sheet":4,"side"'
kill -SEGV "$(device_pid)"
wait $P
check "crash: exit 74" [ $? -eq 74 ]
# (a sanitizer build's handler turns the SIGSEGV into an exit status)
check "the log says how the device process ended" grep -Eq "killed by signal 11|exited with status" "$T/err"
check "fault CRASH at sheet 5, the 4 pages before kept" \
	[ "$(rec '"\(.faults[0].status) \(.faults[0].sheet) \([.pages[] | select(.role == "page")] | length)"')" = "CRASH 5 4" ]
H=$(ls "$CORRUPT")
check "held letter with those 4 pages" [ "$(jq -r .capture.page_count "$CORRUPT/$H/job.json")" = 4 ]

# (7) duplex: a jam on the back of sheet 3; its front is given up, sheet 3 is fed
# again, and it comes once in the letter
clean
printf '\n' | scan --sane test --batch --source ADF --resolution 50 --duplex-frames --separation none \
	--sheet-option "3b@1:read-return-value=SANE_STATUS_JAMMED" --interactive --json >"$T/ev.json" 2>"$T/err"
check "duplex jam, continued: exit 0" [ $? -eq 0 ]
check "the first front of sheet 3 is superseded and kept" \
	[ "$(rec '[.pages[] | select(.sheet == 3) | "\(.side):\(.attempt):\(.role)"] | join(" ")')" = "front:1:superseded front:2:page back:2:page" ]
L=$(ls "$IN")
check "the letter: sheets 1-7 front and back, each once" \
	[ "$(jq -r '[.capture.pages[] | "\(.sheet)\(.side | .[0:1])"] | join(" ")' "$IN/$L/job.json")" = "1f 1b 2f 2b 3f 3b 4f 4b 5f 5b 6f 6b 7f 7b" ]
check "the fault discarded 1 frame beyond the jammed one" [ "$(rec '.faults[0].discarded_frames')" = 2 ]

# (8) a slow scanner (read-delay) is slow, not hung
clean
S0=$(date +%s.%N)
scan --sane test --batch --source Flatbed --pages 3 --resolution 50 --separation none \
	--sane-option test-picture=Grid --sane-option read-delay=yes \
	--sane-option read-delay-duration=100000 </dev/null 2>"$T/err"
rc=$?
S1=$(date +%s.%N)
check "slow scanner: exit 0, no fault" [ $rc -eq 0 -a "$(rec '.faults | length')" = 0 ]
check "... and it took its time (>= 1.2 s for 3 pages)" awk -v a="$S0" -v b="$S1" 'BEGIN { exit !(b - a >= 1.2) }'
finish
