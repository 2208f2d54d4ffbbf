#!/bin/bash
# export_receipts.sh - what the DMS answers, end to end with the real programs.
#
# Packages are delivered by mailroom-dms-export into the local VIS inbox; receipts
# made to the xdomea 3.0.0 schema (tests/data/export/receipts, given the letters'
# ProzessIDs, each checked with xmllint first) are put into the offices' reply
# folders, a package into an error folder, as the DMS would. Then:
#   A 0102 (received)               -> event receipt ok, state received
#   B 0630 with errors              -> event rejected, state rejected, the DMS's
#                                      reason in `mailroom status` (text and --json)
#                                      and `mailroom show`
#   C 0629, then 0630 in a ZIP      -> received, then imported (DMS id recorded)
#   D package in the error folder   -> rejected
#   a receipt for an unknown ProzessID -> unknown/ with a reason; garbage -> bad/
#   a crash between the journal and the move to done/ (fault injection) and the
#   same receipt sent twice -> journaled once
#   daemon mode: a second process reads the reply folders every rescan; SIGTERM
#   stops both
. "$(dirname "$0")/lib.sh"
need_shared xsd
XSD=$MAILROOM_SHARED/xsd/xdomea_3.0.0/xdomea.xsd
MKJOB=$MAILROOM_BIN/../tests/export_mkjob
RCPT=$MAILROOM_SOURCE/tests/data/export/receipts
FIX_PID=3f2b8c1e-9a4d-4e7b-8c21-5d6e7f8a9b0c
for tool in xmllint sqlite3 zip ppm2tiff; do
	command -v $tool >/dev/null || { echo "FAIL: $tool missing (scripts/deps.sh)" >&2; exit 1; }
done
INBOX=$VAR/vis-inbox
EIN=$VAR/spool/export/incoming
ANS=$INBOX/antwort
ERR=$INBOX/fehler
q() { "$@" >/dev/null 2>&1; }
mkdir -p "$EIN"

# reply and error folders for kaemmerei (0101) and rechtsamt (0605)
sed -i "s|^    ablageort: rechtsamt$|    ablageort: rechtsamt\n    replies: antwort/rechtsamt\n    errors: fehler/rechtsamt|" \
	"$CONF/export.yaml"
cat >>"$CONF/export.yaml" <<'EOF'
  kaemmerei:
    replies: antwort/kaemmerei
    errors: fehler/kaemmerei
EOF
sed -i 's/^receipt_settle_seconds: .*/receipt_settle_seconds: 0/' "$CONF/export.yaml"
sed -i 's/^  rescan_seconds: .*/  rescan_seconds: 1/' "$CONF/mailroom.yaml"
grep -q 'replies: antwort/rechtsamt' "$CONF/export.yaml" || { echo "FAIL: cannot configure" >&2; exit 1; }

{ printf 'P5\n64 32\n255\n'; head -c 2048 /dev/urandom; } >"$T/page.pgm"
ppm2tiff "$T/page.pgm" "$T/scan.tiff"
# letter ID OFFICE: a kopierend letter in export/incoming; prints its uuid
letter() {
	mkdir -p "$T/build/$1"
	cp "$T/scan.tiff" "$T/build/$1/"
	"$MKJOB" "$T/build/$1" "$MAILROOM_SOURCE/tests/data/export/job-kopierend.json" \
		classification.office="$2" classification.scan_mode=kopierend
	mv "$T/build/$1" "$EIN/$1"
}
# receipt FIXTURE UUID OUT: the fixture for this letter, checked with xmllint
receipt() {
	sed "s/$FIX_PID/$2/" "$RCPT/$1" >"$3"
	check "receipt $(basename "$3") validates with xmllint against xdomea.xsd" \
		q xmllint --noout --schema "$XSD" "$3"
}
state() { sql "SELECT state FROM letters WHERE job='$1'"; }
events() { sql "SELECT count(*) FROM events WHERE job='$1' AND action='$2'"; }

A=20261122T100000Z-00000000000000a1
B=20261122T100100Z-00000000000000b1
C=20261122T100200Z-00000000000000c1
D=20261122T100300Z-00000000000000d1
UA=$(letter $A kaemmerei)
UB=$(letter $B rechtsamt)
UC=$(letter $C rechtsamt)
UD=$(letter $D kaemmerei)
stage dms-export 2>"$T/e1.log" || bad "first run: $(tail -3 "$T/e1.log")"
for id in $A $B $C $D; do
	check "$id delivered" [ "$(state $id)" = delivered ]
done
PA=$INBOX/kaemmerei/${UA}_Information.Information.0101.zip
PD=$INBOX/kaemmerei/${UD}_Information.Information.0101.zip
check "A asks for a receipt (Empfangsbestaetigung true: kaemmerei has a reply folder)" \
	q sh -c "unzip -p '$PA' '*.xml' | grep -q '<xdomea:Empfangsbestaetigung>true<'"
check "B (0605) asks for a receipt" \
	q sh -c "unzip -p '$INBOX/rechtsamt/${UB}_FVDaten.SGOAblegen.0605.zip' '*.xml' | grep -q '<xdomea:Empfangsbestaetigung>true<'"
check "the delivery recorded ProzessID -> letter in var/dms/sent" \
	q grep -q "^job $A\$" "$VAR/dms/sent/$UA"
check "the delivered event names the ProzessID" \
	q sh -c "sqlite3 '$VAR/journal.db' \"SELECT detail FROM events WHERE job='$A' AND action='delivered'\" | grep -q 'ProzessID $UA'"
mailroom status >"$T/status0.txt"
check "status before any answer: nothing rejected" q grep -q '^Rejected by the DMS: 0$' "$T/status0.txt"

# --- the DMS answers ---
mkdir -p "$ANS/kaemmerei" "$ANS/rechtsamt" "$ERR/kaemmerei"
receipt receipt-0102.xml "$UA" "$ANS/kaemmerei/$UA-0102.xml"
receipt receipt-0630-rejected.xml "$UB" "$ANS/rechtsamt/$UB-0630.xml"
receipt receipt-0629.xml "$UC" "$ANS/rechtsamt/a-$UC-0629.xml"
receipt receipt-0630-ok.xml "$UC" "$T/${UC}_FVDaten.ImportBestaetigen.0630.xml"
(cd "$T" && zip -q "$ANS/rechtsamt/b-${UC}_FVDaten.ImportBestaetigen.0630.zip" "${UC}_FVDaten.ImportBestaetigen.0630.xml")
mv "$PD" "$ERR/kaemmerei/"
receipt receipt-0102.xml 0badc0de-0000-4000-8000-000000000001 "$ANS/kaemmerei/unknown-0102.xml"
printf 'this is no receipt' >"$ANS/kaemmerei/garbage.xml"
stage dms-export 2>"$T/e2.log" || bad "receipt run: $(tail -3 "$T/e2.log")"

check "A: 0102 journaled as receipt" [ "$(events $A receipt)" -eq 1 ]
check "A: state received" [ "$(state $A)" = received ]
check "A: the receipt moved to done/" [ -f "$ANS/kaemmerei/done/$UA-0102.xml" -a ! -e "$ANS/kaemmerei/$UA-0102.xml" ]
check "B: 0630 with errors journaled as rejected" [ "$(events $B rejected)" -eq 1 ]
check "B: state rejected" [ "$(state $B)" = rejected ]
check "B: the DMS's reason recorded" \
	q sh -c "sqlite3 '$VAR/journal.db' \"SELECT reason FROM letters WHERE job='$B'\" | grep -q '0605001: die ID des Containers'"
check "C: 0629 and the zipped 0630 journaled" [ "$(events $C receipt)" -eq 2 ]
check "C: state imported" [ "$(state $C)" = imported ]
check "C: the DMS's document id recorded" \
	q sh -c "sqlite3 '$VAR/journal.db' \"SELECT detail FROM events WHERE job='$C' AND action='receipt'\" | grep -q 'as DMS document 9d1c2b3a'"
check "D: the package in the error folder journaled as rejected" [ "$(events $D rejected)" -eq 1 ]
check "D: state rejected, moved to done/ of the error folder" \
	[ "$(state $D)" = rejected -a -f "$ERR/kaemmerei/done/$(basename "$PD")" ]
check "unknown ProzessID set aside with its reason" \
	q grep -q 'matches no letter' "$ANS/kaemmerei/unknown/unknown-0102.xml.reason.txt"
check "garbage set aside into bad/ with its reason" \
	q grep -q 'not well-formed' "$ANS/kaemmerei/bad/garbage.xml.reason.txt"
check "the stage logged the rejection" q grep -q "$B: REJECTED by the DMS" "$T/e2.log"

mailroom status >"$T/status.txt"
check "status: 2 rejected by the DMS" q grep -q '^Rejected by the DMS: 2 ' "$T/status.txt"
check "status: B listed with the DMS's reason" q grep -q "$B .*rechtsamt.*0605001" "$T/status.txt"
check "status: D listed (error folder)" q grep -q "$D .*kaemmerei.*error folder" "$T/status.txt"
mailroom status --json >"$T/status.json"
sed -n '/"rejected": *\[/,/^  \]/p' "$T/status.json" >"$T/rejected.json"
check "status --json: rejected lists B and D" \
	[ "$(grep -c "\"id\": *\"\\($B\\|$D\\)\"" "$T/rejected.json")" -eq 2 ]
check "status --json: with the reason" q grep -q 'Postkorb 4711 ist gesperrt' "$T/rejected.json"
check "status --json: journal counts per state" \
	q sh -c "grep -q '\"rejected\": *2' '$T/status.json' && grep -q '\"received\": *1' '$T/status.json' && grep -q '\"imported\": *1' '$T/status.json'"
mailroom show "$B" >"$T/showb.txt"
check "show B: REJECTED with the reason" \
	q sh -c "grep -q 'DMS: *REJECTED' '$T/showb.txt' && grep -q 'why: .*0605001' '$T/showb.txt'"
mailroom show --json "$B" >"$T/showb.json"
check "show --json B: dms.state rejected" q grep -q '"state": *"rejected"' "$T/showb.json"
mailroom show "$A" >"$T/showa.txt"
check "show A: what the DMS answered" q grep -q 'DMS: .*0102 .*received' "$T/showa.txt"
check "show A: not marked rejected" [ "$(grep -c REJECTED "$T/showa.txt")" -eq 0 ]

# --- exactly once: a crash after the journal, before the move to done/ ---
receipt receipt-0102.xml "$UA" "$T/again.xml"
sed 's/2026-11-22T08:15:00Z/2026-11-22T09:00:00Z/' "$T/again.xml" >"$ANS/kaemmerei/$UA-0102-2.xml"
set +e
MAILROOM_FAULT=rename:1 "$MAILROOM_BIN/mailroom-dms-export" -c "$CONF" --once 2>"$T/crash.log"
rc=$?
set -e
check "fault injection: the receipt run crashed at the move (rc $rc)" [ "$rc" -eq 99 ]
check "after the crash: journaled, not yet moved" \
	[ "$(events $A receipt)" -eq 2 -a -f "$ANS/kaemmerei/$UA-0102-2.xml" ]
stage dms-export 2>"$T/e3.log"
check "after the restart: moved to done/, still journaled once" \
	[ "$(events $A receipt)" -eq 2 -a -f "$ANS/kaemmerei/done/$UA-0102-2.xml" -a ! -e "$ANS/kaemmerei/$UA-0102-2.xml" ]
# the DMS sends the same receipt again
cp "$ANS/rechtsamt/done/$UB-0630.xml" "$ANS/rechtsamt/$UB-0630.xml"
stage dms-export 2>"$T/e4.log"
check "the same receipt twice: journaled once, kept in done/ under a new name" \
	[ "$(events $B rejected)" -eq 1 -a -f "$ANS/rechtsamt/done/$UB-0630.xml.1" ]
check "journal chain intact" q mailroom status --verify-journal

# --- daemon mode: receipts read while it runs; SIGTERM stops it and its helper ---
F=20261122T100400Z-00000000000000f1
UF=$(letter $F kaemmerei)
"$MAILROOM_BIN/mailroom-dms-export" -c "$CONF" 2>"$T/daemon.log" &
dpid=$!
for _ in $(seq 1 100); do [ "$(state $F)" = delivered ] && break; sleep 0.1; done
check "daemon: F delivered" [ "$(state $F)" = delivered ]
rpid=$(pgrep -P $dpid | head -1 || true)
check "daemon: a receipts process runs beside the stage" [ -n "$rpid" ]
receipt receipt-0102.xml "$UF" "$ANS/kaemmerei/$UF-0102.xml"
for _ in $(seq 1 100); do [ "$(state $F)" = received ] && break; sleep 0.1; done
check "daemon: the receipt was read within seconds" [ "$(state $F)" = received ]
kill -TERM $dpid
for _ in $(seq 1 100); do kill -0 $dpid 2>/dev/null || break; sleep 0.1; done
set +e
wait $dpid
rc=$?
set -e
check "daemon: SIGTERM stops it (rc $rc)" [ "$rc" -eq 0 ]
check "daemon: the receipts process is gone" q sh -c "! kill -0 ${rpid:-999999}"
finish
