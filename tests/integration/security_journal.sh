#!/bin/bash
# security_journal.sh - `mailroom status --verify-journal` walks the journal's hash
# chain (issue 8; docs/RELIABILITY-security.md): intact it exits 0; in a copy of the
# journal where one row's detail was changed, a row deleted, two rows swapped, a row
# deleted and the rest renumbered, the last rows deleted, or a timestamp moved, it exits 1 and names the
# first broken event. The append-only triggers are dropped first in each copy, as
# someone with write access to the file could.
. "$(dirname "$0")/lib.sh"
render_letters "$T/letters"
mkdir -p "$T/imp"
cp "$T/letters/01-rechnung.pdf" "$T/letters/04-werbung.pdf" "$T/letters/06-brief.pdf" "$T/imp/"
scan_import "$T/imp" 2>/dev/null
stage classify 2>/dev/null
# one more letter a second later: its capture is the journal's last event and the only
# one with its letter's update stamp (the stamps have one-second resolution)
sleep 1.1
cp "$T/letters/02-widerspruch.pdf" "$T/imp/"
scan_import "$T/imp" 2>/dev/null
n=$(sql "SELECT count(*) FROM events")
check "the journal has events to tamper with ($n)" [ "$n" -ge 8 ]

# verify DIR: mailroom status --verify-journal on the var tree DIR; output in $T/v.out,
# exit status in $T/v.rc
verify() {
	local rc=0
	MAILROOM_VAR=$1 "$MAILROOM_BIN/mailroom" -c "$CONF" status --verify-journal >"$T/v.out" 2>&1 || rc=$?
	echo $rc >"$T/v.rc"
}
verify "$VAR"
check "intact journal: exit 0 ($(cat "$T/v.rc"))" [ "$(cat "$T/v.rc")" = 0 ]
check "intact journal: says so with the number of events" grep -q "intact.*$n\|$n.*intact" "$T/v.out"
# tamper NAME SQL: a copy of var/ with SQL applied to its journal
tamper() {
	rm -rf "$T/$1"
	mkdir -p "$T/$1"
	sqlite3 "$VAR/journal.db" ".backup '$T/$1/journal.db'"
	sqlite3 "$T/$1/journal.db" "DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete; $2"
}
# broken NAME PATTERN: exit 1 and the message matches PATTERN
broken() {
	verify "$T/$1"
	check "$1: exit 1 ($(cat "$T/v.rc"))" [ "$(cat "$T/v.rc")" = 1 ]
	check "$1: names the first broken event ($(grep -i 'event' "$T/v.out" | head -n 1))" grep -q -- "$2" "$T/v.out"
}
job5=$(sql "SELECT job FROM events WHERE seq=5")
tamper detail "UPDATE events SET detail = coalesce(detail,'') || ' (edited)' WHERE seq = 5"
broken detail "event 5 (job $job5) was changed after it was written"
tamper outcome "UPDATE events SET outcome = outcome || '-x' WHERE seq = 6"
broken outcome "event 6 .*was changed"
tamper at "UPDATE events SET at = '2020-01-01T00:00:00Z' WHERE seq = 7"
broken at "event 7 .*was changed"
tamper delete "DELETE FROM events WHERE seq = 5"
broken delete "event 5 is missing"
tamper renumber "DELETE FROM events WHERE seq = 5; UPDATE events SET seq = seq - 1 WHERE seq > 5"
broken renumber "event 5 does not link to event 4"
# swap rows 4 and 5 (content and chain fields), keeping the numbers
tamper reorder "UPDATE events SET seq = -4 WHERE seq = 4; UPDATE events SET seq = 4 WHERE seq = 5;
	UPDATE events SET seq = 5 WHERE seq = -4"
broken reorder "event 4 does not link to event 3"
tamper who "UPDATE events SET who = 'mallory' WHERE seq = 2"
broken who "event 2 .*was changed"
tamper hash "UPDATE events SET hash = '$(printf '0%.0s' $(seq 64))' WHERE seq = 3"
broken hash "event 3 .*was changed"
# the chain cannot see rows cut off its end; the letters' update stamps can
last=$(sql "SELECT max(seq) FROM events")
jl=$(sql "SELECT job FROM events WHERE seq=$last")
tamper tail "DELETE FROM events WHERE seq = $last"
broken tail "the last event of job $jl .*is missing"
tamper tail3 "DELETE FROM events WHERE seq > $last - 3"
broken tail3 "the last event of job .*is missing"
# positive control: the copy mechanism itself keeps an intact journal intact
tamper copy "SELECT 1"
verify "$T/copy"
check "an untouched copy verifies (the copy is not what breaks it)" [ "$(cat "$T/v.rc")" = 0 ]
finish
