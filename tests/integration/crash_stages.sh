#!/bin/bash
# crash_stages.sh - kill every stage in the middle of a letter, at every fsync and
# rename it makes (MAILROOM_FAULT=op:N:exit, the same as a kill -9 at that point)
# and with a real SIGKILL at a random moment, restart it, and check after every
# crash: each letter is in exactly one place, nothing is lost, nothing is exported
# twice, and the journal agrees with the files.
. "$(dirname "$0")/lib.sh"
need_shared xsd
pki
render_letters "$T/letters"
mkdir -p "$T/import"
for f in 01-rechnung 05-bewerbung 06-brief; do cp "$T/letters/$f.pdf" "$T/import/"; done
ids=""
one_place() { :; }
crashes=0
# Run stage S with a fault at the Nth OP, N = 1, 2, ... until a run gets through.
# Extra arguments go to the program (scan: --import DIR).
sweep() {
	local s=$1 op=$2 n=1 rc
	shift 2
	while :; do
		rc=0
		MAILROOM_FAULT="$op:$n:exit" "$MAILROOM_BIN/mailroom-$s" -c "$CONF" --once "$@" \
			>"$T/last.log" 2>&1 || rc=$?
		if [ "$rc" -eq 99 ]; then
			crashes=$((crashes + 1))
			one_place || { bad "$s: after a crash at $op #$n a letter is not in exactly one place"; return; }
			n=$((n + 1))
			[ "$n" -le 400 ] || { bad "$s: still crashing after 400 $op points"; return; }
			continue
		fi
		[ "$rc" -eq 0 ] || { bad "$s: exit $rc after crash at $op #$n: $(tail -n 3 "$T/last.log")"; return; }
		ok "$s: crashed at each of $((n - 1)) ${op} points, then finished"
		return
	done
}

# scan: killed at every fsync, rename and write while importing, then restarted
for op in fsync rename; do
	rm -rf "$VAR" "$T/import.$op"
	mkdir -p "$VAR"
	pki
	cp -a "$T/import" "$T/import.$op"
	sweep scan $op --import "$T/import.$op"
	check "scan crashed at each $op: 3 letters captured, none twice" \
		[ "$(count "$VAR/spool/classify/incoming/*")" -eq 3 ]
	check "scan crashed at each $op: import folder empty, nothing quarantined" \
		[ "$(count "$T/import.$op/* $VAR/spool/scan/corrupt/* $VAR/spool/scan/tmp/*")" -eq 0 ]
	check "scan crashed at each $op: 3 captured events" \
		[ "$(sql "SELECT count(DISTINCT job) FROM events WHERE action='captured' AND outcome='ok'")" -eq 3 ]
done
ids=$(ls "$VAR/spool/classify/incoming")
nletters=$(echo "$ids" | wc -w)
check "3 letters captured" [ "$nletters" -eq 3 ]

# Every letter exactly once in the spool areas or the archive.
one_place() {
	local id n
	for id in $ids; do
		n=$(count "$VAR/spool/*/tmp/$id $VAR/spool/*/incoming/$id $VAR/spool/*/active/$id $VAR/spool/*/corrupt/$id $VAR/archive/$id")
		if [ "$n" -ne 1 ]; then echo "letter $id is in $n places" >&2; return 1; fi
	done
	return 0
}


snapshot() { rm -rf "$T/snap.$1"; cp -a "$VAR" "$T/snap.$1"; }
restore() { rm -rf "$VAR"; cp -a "$T/snap.$1" "$VAR"; }

# Each letter delivered or routed exactly once, files and journal agree.
exactly_once() {
	what=$1
	check "$what: every letter archived" [ "$(count "$VAR/archive/*")" -eq "$nletters" ]
	check "$what: no corrupt letters" [ "$(count "$VAR/spool/*/corrupt/*")" -eq 0 ]
	packages=$(count "$VAR/vis-inbox/*/*.zip")
	slips=$(count "$VAR/routing/*/*")
	check "$what: each letter delivered or routed once ($packages packages, $slips slips)" \
		[ $((packages + slips)) -eq "$nletters" ]
	check "$what: no temporary files in the inboxes" [ "$(count "$VAR/vis-inbox/*/.*.tmp")" -eq 0 ]
	for id in $ids; do
		n=$(sql "SELECT count(*) FROM events WHERE job='$id' AND action IN ('delivered','routed') AND outcome='ok'")
		check "$what: journal says letter $id left once (got $n)" [ "$n" -eq 1 ]
	done
	for zip in "$VAR"/vis-inbox/*/*.zip; do
		check "$what: package $(basename "$zip") is valid" check_package "$zip"
		if unzip -l "$zip" | grep -q '\.p7s$'; then
			check "$what: package $(basename "$zip") seals verify" \
				mailroom verify --ca "$VAR/pki/ca.pem" "$zip"
		fi
	done
	check "$what: journal chain intact" mailroom status --verify-journal
}

# classify: every fsync (OCR is slow: one sweep)
sweep classify fsync
check "after classify: every letter in one place" one_place
check "classify queue drained" [ "$(count "$VAR/spool/classify/incoming/* $VAR/spool/classify/active/*")" -eq 0 ]
snapshot classified
# sign and export are cheap: every fsync and every rename, each from the same start
for op in rename fsync; do
	restore classified
	sweep sign $op
	check "after sign ($op): every letter in one place" one_place
done
snapshot signed
for op in fsync rename delivered; do
	restore signed
	sweep dms-export $op
	exactly_once "export crashed at each $op"
done

# A real SIGKILL at a random moment in a daemon, then a restart: the letters of a
# second batch still end exactly once.
mkdir -p "$T/import2"
for f in 02-widerspruch 03-bauantrag; do cp "$T/letters/$f.pdf" "$T/import2/"; done
scan_import "$T/import2"
ids=$(ls "$VAR/spool/classify/incoming" "$VAR/archive" | grep -E '^[0-9]{8}T')
for s in classify sign dms-export; do
	"$MAILROOM_BIN/mailroom-$s" -c "$CONF" >"$T/daemon.log" 2>&1 &
	pid=$!
	sleep "0.$((RANDOM % 9 + 1))"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	crashes=$((crashes + 1))
	check "after SIGKILL of $s: every letter in one place" one_place
	stage "$s" >/dev/null 2>&1
done
check "second batch: no letter left in a queue" [ "$(letters_in_spool)" -eq 0 ]
check "5 letters delivered or routed exactly once" \
	[ $(($(count "$VAR/vis-inbox/*/*.zip") + $(count "$VAR/routing/*/*"))) -eq 5 ]
echo "crashes: $crashes"
finish
