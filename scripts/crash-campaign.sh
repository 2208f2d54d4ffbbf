#!/bin/bash
# crash-campaign.sh - kill every stage of the pipeline at every injection point
# and at random moments, restart it, and check after every cycle that no letter
# is lost or doubled (issue 8).
#
#   CRASH_KILLS=1000 CRASH_SEED=42 bash scripts/crash-campaign.sh   (make crash-campaign)
#
# A mixed batch (replacing scans sealed with a TSA time-stamp, copies, paper-only
# letters, a byte-identical twin, a corrupt file, a letter that goes to review) is
# driven through scan import -> classify -> sign -> dms-export once to take a
# snapshot of each stage's input and the reference outcome. Then, from that
# stage's snapshot, every stage is
#   - stopped at the Nth fsync / rename / write / tsa / token / delivered call by
#     MAILROOM_FAULT=op:N:exit (_exit(99), the same as a kill -9 there) and, as a
#     second variant, made to fail there with EIO (op:N:fail); the restart after
#     an exit point is killed once more at a random point (a crash in recovery);
#   - killed with a real SIGKILL at a random moment of its run;
#   - killed with a real SIGKILL on the Nth SQLite write (strace injects SIGKILL at
#     pwrite64: the journal and fingerprint databases) and, for sign, on the Nth
#     socket call of the TSA request (not with strace --seccomp-bpf: strace 6.1
#     then does not inject);
# then restarted (deferred letters released with `mailroom requeue --now`) until
# its queue is empty. After each crash: every letter is in exactly one place and
# left the pipeline at most once. After each restart: the stage's outcome equals
# the reference (each letter in the same place, same signatures, same packages),
# no temporary file is left, the journal chain verifies and the journal's
# location of each letter agrees with the files. dms-export cycles also check
# that no package exists twice (by ProzessID inside the xdomea message) and, every
# CRASH_FULL_EVERY-th cycle and at the end, every package against the xdomea XSD
# and every seal with `mailroom verify`.
#
# Budget: CRASH_KILLS kill cycles (exit points + real SIGKILLs; at least 20 % real
# SIGKILLs) plus CRASH_FAILS (default 1/8 of CRASH_KILLS) EIO cycles. When a stage
# has more injection points than the budget covers, they are sampled evenly
# (first and last always); the figures say how many of how many were hit.
# Environment: MAILROOM_SOURCE, MAILROOM_BIN (default: this checkout, build/bin),
# CRASH_SEED (default: the pid), CRASH_REPORT=FILE (figures also written there),
# CRASH_CLASSIFY_CAP (at most this many points per op in classify: OCR is slow),
# CRASH_SWEEP_ON=0 (do not sweep past the last traced point to find untraced
# ones), CRASH_FULL_EVERY (XSD + seal check every Nth export cycle, default 10).
# Exit status 0 when every check passed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
: "${MAILROOM_SOURCE:=$top}"
: "${MAILROOM_BIN:=$top/build/bin}"
export MAILROOM_SOURCE MAILROOM_BIN
. "$MAILROOM_SOURCE/tests/integration/lib.sh"
need_shared xsd
for tool in jq sqlite3 strace unzip xmllint groff gs; do
	command -v "$tool" >/dev/null || { echo "crash-campaign: missing tool $tool (scripts/deps.sh)" >&2; exit 1; }
done

KILLS=${CRASH_KILLS:-1000}
FAILS=${CRASH_FAILS:-$((KILLS / 8))}
SEED=${CRASH_SEED:-$$}
FULL_EVERY=${CRASH_FULL_EVERY:-10}
RANDOM=$SEED
START=$(date +%s)
TSAV=$T/tsa-var
campaign_cleanup() {
	[ -f "$TSAV/tsa/pid" ] && sh "$MAILROOM_SOURCE/scripts/tsa.sh" stop "$TSAV" >/dev/null 2>&1
	cleanup
}
trap campaign_cleanup EXIT

log() { echo "[$(($(date +%s) - START))s] $*"; }
spool_of() { [ "$1" = dms-export ] && echo export || echo "$1"; }

# --- setup: configuration, PKI, TSA, letters ------------------------------------
sed -i "s/^  pdf_dpi: .*/  pdf_dpi: 150/" "$CONF/scan.yaml" # small pages: cheap OCR
sed -i -E "s/^  (normal|hoch): B-B/  \1: B-T/" "$CONF/signing.yaml" # every seal with a TSA token
sed -i "s/^workers: .*/workers: 2/" "$CONF/classify.yaml"
sh "$MAILROOM_SOURCE/scripts/pki.sh" "$VAR" >/dev/null
mkdir -p "$TSAV"
cp -a "$VAR/pki" "$TSAV/pki"
url=$(MAILROOM_FAULT= sh "$MAILROOM_SOURCE/scripts/tsa.sh" start "$TSAV" 0) ||
	{ echo "FAIL: cannot start the test TSA" >&2; exit 1; }
sed -i "s|^  url: .*|  url: $url|" "$CONF/signing.yaml"

render_letters "$T/letters"
IMPORT=$T/import
mkdir -p "$IMPORT"
for f in 01-rechnung 02-widerspruch 04-werbung 05-bewerbung 07-gericht; do
	cp "$T/letters/$f.pdf" "$IMPORT/"
done
cp "$T/letters/01-rechnung.pdf" "$IMPORT/08-rechnung-twin.pdf" # a duplicate
groff -Kutf8 -Tps -dpaper=a4 -P-pa4 "$MAILROOM_SOURCE/tests/data/classify/notiz.tr" |
	gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=pdfwrite -sPAPERSIZE=a4 -o "$IMPORT/09-notiz.pdf" - # review
printf 'II*\000\010\000\000\000' >"$IMPORT/00-kaputt.tif" # corrupt
head -c 3000 /dev/urandom >>"$IMPORT/00-kaputt.tif"
GOOD_FILES=$(cd "$IMPORT" && ls | grep -v kaputt | sort | tr '\n' ' ')

SNAP=$T/snap
snapshot() {
	rm -rf "$SNAP/$1"
	mkdir -p "$SNAP/$1"
	cp -a "$VAR" "$SNAP/$1/var"
	cp -a "$IMPORT" "$SNAP/$1/import"
}
restore() {
	rm -rf "$VAR" "$IMPORT"
	cp -a "$SNAP/$1/var" "$VAR"
	cp -a "$SNAP/$1/import" "$IMPORT"
}

# run_stage S: one --once run of stage S; output in $T/run.log; exit status returned
run_stage() {
	local s=$1 rc=0
	shift
	if [ "$s" = scan ]; then
		"$@" "$MAILROOM_BIN/mailroom-scan" -c "$CONF" --once --import "$IMPORT" >"$T/run.log" 2>&1 || rc=$?
	else
		"$@" "$MAILROOM_BIN/mailroom-$s" -c "$CONF" --once >"$T/run.log" 2>&1 || rc=$?
	fi
	return $rc
}

# --- the places of letters --------------------------------------------------------
# where_all: "<id> <place>" for every letter directory (place: spool/<stage>/<area> or archive)
where_all() {
	local d
	for d in "$VAR"/spool/*/tmp/* "$VAR"/spool/*/incoming/* "$VAR"/spool/*/active/* \
		"$VAR"/spool/*/corrupt/* "$VAR"/archive/*; do
		[ -d "$d" ] || continue
		case $d in "$VAR"/archive/*) echo "${d##*/} archive" ;; *)
			local a=${d%/*}
			echo "${d##*/} spool/${a#"$VAR"/spool/}"
			;;
		esac
	done | grep -E '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{16} ' | sort
}

# outcome: the stage-independent result of the files: each letter's place with what it
# carries (signatures, package or slip), the inbox listing, the import folder
outcome() {
	local id place files=() places=()
	while read -r id place; do
		case $place in */tmp) continue ;; esac
		if [ "$place" = archive ]; then d=$VAR/archive/$id; else d=$VAR/$place/$id; fi
		places+=("$id $place $(cd "$d" && ls | grep -v '^RETRY.txt$' | tr '\n' ' ')")
		[ -f "$d/job.json" ] && files+=("$d/job.json")
	done < <(where_all)
	{
		# one jq for all: id -> the decisions in its record
		[ ${#files[@]} -eq 0 ] || jq -r '[(input_filename | split("/") | .[-2]), .source.file,
			.classification.type, .classification.office,
			.signing.level, .signing.skipped, .export.message_type] | map(. // "-") | join(" ")' \
			"${files[@]}" 2>/dev/null | sed 's/^/J /'
		printf 'P %s\n' "${places[@]}"
	} | awk '$1 == "J" { k[$2] = $3; for (i = 4; i <= NF; i++) k[$2] = k[$2] " " $i; next }
		$1 == "P" { id = $2; $1 = ""; $2 = ""; print (id in k ? k[id] : id " (no job.json)") $0 }' | sort
	# which of the twins is flagged depends on the order the workers take them:
	# exactly one is
	[ ${#files[@]} -eq 0 ] || echo "duplicates flagged: $(jq -r '.classification.duplicate_kind // empty' "${files[@]}" 2>/dev/null | wc -l)"
	(cd "$VAR" && find vis-inbox routing -type f 2>/dev/null | sort)
	ls "$IMPORT"
}

# one_place: after a crash every known letter is in exactly one place, and none
# left the pipeline twice (journal: delivered/routed at most once)
one_place() {
	local dup all
	all=$(where_all | awk '{print $1}')
	dup=$(echo "$all" | uniq -d)
	if [ -n "$dup" ]; then
		echo "letter(s) in two places: $dup" >&2
		dups=$((dups + 1))
		return 1
	fi
	if [ -n "$CHECK_IDS" ]; then
		local n
		n=$(echo "$all" | grep -cFf <(echo "$CHECK_IDS" | tr ' ' '\n' | grep .) || true)
		if [ "$n" -ne "$(echo "$CHECK_IDS" | wc -w)" ]; then
			echo "$n of $(echo "$CHECK_IDS" | wc -w) letters found" >&2
			where_all >&2
			lost=$((lost + 1))
			return 1
		fi
	fi
	dup=$(sql "SELECT job FROM events WHERE action IN ('delivered','routed') AND outcome='ok' GROUP BY job HAVING count(*) > 1")
	if [ -n "$dup" ]; then
		echo "left the pipeline twice (journal): $dup" >&2
		dups=$((dups + 1))
		return 1
	fi
	return 0
}

# scan_files_ok: every import file is still in the folder or became a letter (not both
# once the letter is submitted, never two letters)
scan_files_ok() {
	local srcs f n
	srcs=$(cat /dev/null "$VAR"/spool/classify/incoming/*/job.json "$VAR"/spool/scan/corrupt/*/job.json 2>/dev/null |
		jq -r '.source.file // empty' 2>/dev/null | sort)
	for f in $GOOD_FILES 00-kaputt.tif; do
		n=$(echo "$srcs" | grep -cx "$f" || true)
		if [ "$n" -gt 1 ]; then
			echo "$f became $n letters" >&2
			dups=$((dups + 1))
			return 1
		fi
		if [ "$n" -eq 0 ] && [ ! -e "$IMPORT/$f" ]; then
			echo "$f is lost: not in the import folder, no letter" >&2
			lost=$((lost + 1))
			return 1
		fi
	done
	return 0
}

# journal_agrees: the journal's location of each letter is where its files are, the
# chain verifies, and departures/quarantines/reviews have their events
journal_agrees() {
	local id place loc n bad=0
	declare -A jloc jout jq_ jrev
	mailroom status --verify-journal >/dev/null 2>&1 || { echo "journal chain broken" >&2; return 1; }
	while IFS='|' read -r id loc; do jloc[$id]=$loc; done < <(sql "SELECT job, location FROM letters")
	while IFS='|' read -r id n; do jout[$id]=$n; done < <(sql "SELECT job, count(*) FROM events WHERE action IN ('delivered','routed') AND outcome='ok' GROUP BY job")
	while IFS='|' read -r id n; do jq_[$id]=$n; done < <(sql "SELECT job, count(*) FROM events WHERE outcome='quarantined' GROUP BY job")
	while read -r id place; do
		loc=${jloc[$id]:-}
		loc=${loc%/"$id"}
		if [ "$loc" != "$place" ]; then
			echo "$id: journal says '$loc', files say '$place'" >&2
			bad=1
		fi
		n=${jout[$id]:-0}
		if [ "$place" = archive ] && [ "$n" -ne 1 ]; then
			echo "$id: archived with $n delivered/routed events" >&2
			bad=1
		fi
		case $place in *corrupt)
			[ -s "$VAR/$place/$id/QUARANTINE.txt" ] || { echo "$id: quarantined without a reason" >&2; bad=1; }
			[ "${jq_[$id]:-0}" -ge 1 ] || { echo "$id: quarantined without an event" >&2; bad=1; }
			;;
		spool/review/incoming)
			grep -q '"review_reason": *"[^"]' "$VAR/$place/$id/job.json" ||
				{ echo "$id: in review without a reason" >&2; bad=1; }
			;;
		esac
	done < <(where_all)
	return $bad
}

no_temp() {
	local t
	t=$(find "$VAR/spool" "$VAR/archive" "$VAR/vis-inbox" "$VAR/routing" -name '*.tmp' 2>/dev/null; ls -d "$VAR"/spool/*/tmp/* 2>/dev/null || true)
	[ -z "$t" ] || { echo "temporary files left: $t" >&2; return 1; }
}

# packages_once: no ProzessID (the letter's uuid) in two packages
packages_once() {
	local z pids
	pids=$(for z in "$VAR"/vis-inbox/*/*.zip; do
		[ -f "$z" ] || continue
		unzip -p "$z" '*.xml' 2>/dev/null | grep -o '<xdomea:ProzessID>[^<]*' | sort -u
	done | sort | uniq -d)
	[ -z "$pids" ] || { echo "a letter in two packages: $pids" >&2; dups=$((dups + 1)); return 1; }
}

packages_valid() {
	local z
	for z in "$VAR"/vis-inbox/*/*.zip; do
		[ -f "$z" ] || continue
		check_package "$z" || return 1
		if unzip -l "$z" | grep -q '\.p7s$'; then
			mailroom verify --ca "$VAR/pki/ca.pem" "$z" >/dev/null 2>&1 ||
				{ echo "seals do not verify: $z" >&2; return 1; }
		fi
	done
}

# finish_stage S: restart S until its queue is empty (deferred letters released)
finish_stage() {
	local s=$1 sp i rc id
	sp=$(spool_of "$s")
	for i in 1 2 3 4 5 6; do
		rc=0
		run_stage "$s" || rc=$?
		restarts=$((restarts + 1))
		case $rc in 0 | 65) ;; *) echo "restart $i of $s: exit $rc: $(tail -n 2 "$T/run.log")" >>"$T/restart.log" ;; esac
		for id in $(cd "$VAR/spool/$sp/incoming" && ls); do
			[ -f "$VAR/spool/$sp/incoming/$id/RETRY.txt" ] && mailroom requeue "$id" --now >/dev/null 2>&1
		done
		if [ "$(count "$VAR/spool/$sp/incoming/* $VAR/spool/$sp/active/*")" -eq 0 ] &&
			{ [ "$s" != scan ] || [ "$(count "$IMPORT/*")" -eq 0 ]; }; then
			return 0
		fi
	done
	echo "$s: queue not empty after 6 restarts" >&2
	return 1
}

# stage_done_ok S WHAT: the checks after a restart of S ran to the end
cycles=0
stage_done_ok() {
	local s=$1 what=$2 got
	cycles=$((cycles + 1))
	got=$(outcome)
	if [ "$got" != "$(cat "$SNAP/ref.$s")" ]; then
		bad "$what: outcome differs from the reference"
		diff <(cat "$SNAP/ref.$s") <(echo "$got") | head -n 20 >&2
		return
	fi
	no_temp || { bad "$what: temporary files left"; return; }
	journal_agrees || { bad "$what: journal and files disagree"; return; }
	if [ "$s" = scan ]; then
		scan_files_ok || { bad "$what: import files"; return; }
	fi
	if [ "$s" = dms-export ]; then
		packages_once || { bad "$what: a package twice"; return; }
		if [ $((cycles % FULL_EVERY)) -eq 0 ]; then
			packages_valid || { bad "$what: invalid package"; return; }
			full_checks=$((full_checks + 1))
		fi
	fi
	good_cycles=$((good_cycles + 1))
}

# after_crash S WHAT: the checks right after a crash or failure
after_crash() {
	local s=$1 what=$2
	CHECK_IDS=${ids_of[$s]}
	if ! one_place; then
		bad "$what: a letter is not in exactly one place"
		return 1
	fi
	if [ "$s" = scan ] && ! scan_files_ok; then
		bad "$what: an import file is lost or doubled"
		return 1
	fi
	return 0
}

declare -A kills_by fails_by points_of hit_of ids_of dur_ms
restarts=0
lost=0
dups=0
CHECK_IDS=""
good_cycles=0
full_checks=0
nkills=0
nfails=0

# --- the reference run ------------------------------------------------------------
# trace_points S: the injection points of the run just made (from $T/trace)
trace_points() {
	local s=$1 op n
	for op in fsync rename write tsa token delivered; do
		# counts are per process (workers, the key holder): the highest N that fires.
		# The key holder counts "token" behind seccomp (no trace): found by sweeping on.
		n=$(awk -v op="$op" '$2 == op && $3 > m { m = $3 } END { print m + 0 }' "$T/trace" 2>/dev/null)
		[ "$n" -gt 0 ] && points_of["$s $op"]=$n
	done
	return 0
}
log "reference run (seed $SEED)"
for s in scan classify sign dms-export; do
	snapshot "$s"
	ids_of[$s]=$(where_all | awk '{print $1}' | tr '\n' ' ')
	[ "$s" = scan ] && ids_of[$s]="" # new ids every run: checked by file name
	rm -f "$T/trace"
	rc=0
	t0=$(date +%s%N)
	run_stage "$s" env MAILROOM_FAULT_TRACE="$T/trace" || rc=$?
	dur_ms[$s]=$((($(date +%s%N) - t0) / 1000000))
	case $rc in 0 | 65) ;; *) echo "FAIL: reference run of $s: exit $rc" >&2; cat "$T/run.log" >&2; exit 1 ;; esac
	cp "$T/run.log" "$T/ref-run.$s.log"
	trace_points "$s"
	outcome >"$SNAP/ref.$s"
done
IDS=$(where_all | awk '{print $1}' | tr '\n' ' ')
NIDS=$(echo "$IDS" | wc -w)
check "reference: 8 letters (7 good, 1 corrupt)" [ "$NIDS" -eq 8 ]
check "reference: 4 packages" [ "$(count "$VAR/vis-inbox/*/*.zip")" -eq 4 ]
check "reference: 2 routing slips" [ "$(count "$VAR/routing/*/*")" -eq 2 ]
check "reference: one letter in review" [ "$(count "$VAR/spool/review/incoming/*")" -eq 1 ]
check "reference: one letter in scan/corrupt" [ "$(count "$VAR/spool/scan/corrupt/*")" -eq 1 ]
check "reference: packages valid, seals verify" packages_valid
check "reference: journal agrees" journal_agrees
# OCR is the cost: classify is crashed on four of the letters (the twin pair, the
# advertisement, the note for review); sign and export get all of them
mv "$SNAP/classify" "$SNAP/classify-all"
restore classify-all
for d in "$VAR"/spool/classify/incoming/*; do
	case $(jq -r .source.file "$d/job.json") in
	01-rechnung.pdf | 08-rechnung-twin.pdf | 09-notiz.pdf | 04-werbung.pdf) ;;
	*) rm -rf "$d" ;;
	esac
done
snapshot classify
ids_of[classify]=$(where_all | awk '{print $1}' | tr '\n' ' ')
rm -f "$T/trace"
for k in "${!points_of[@]}"; do case $k in "classify "*) unset "points_of[$k]" ;; esac; done
t0=$(date +%s%N)
run_stage classify env MAILROOM_FAULT_TRACE="$T/trace" || { echo "FAIL: classify on the four letters" >&2; exit 1; }
dur_ms[classify]=$((($(date +%s%N) - t0) / 1000000))
trace_points classify
outcome >"$SNAP/ref.classify"
for s in scan classify sign dms-export; do
	log "stage $s: ${dur_ms[$s]} ms; points: $(for k in "${!points_of[@]}"; do case $k in "$s "*) echo -n "${k#* }=${points_of[$k]} " ;; esac; done)"
done
# SQLite writes (pwrite64) per run: 90..180 in these stages; an N beyond the run is
# simply drawn again
declare -A sqlw=([scan]=170 [classify]=120 [sign]=90 [dms-export]=90)
tsa_calls=20

# --- plan: which injection points ------------------------------------------------
# cap: the largest per-(stage, op) count such that all exit points fit in the budget
RAND_KILLS=$((KILLS / 5 > 4 ? KILLS / 5 : 4))
EXIT_BUDGET=$((KILLS - RAND_KILLS))
pick_cap() { # pick_cap BUDGET -> cap
	local budget=$1 cap=1 sum k
	while :; do
		sum=0
		for k in "${!points_of[@]}"; do
			sum=$((sum + (points_of[$k] < cap ? points_of[$k] : cap)))
		done
		if [ "$sum" -ge "$budget" ] || [ "$cap" -gt 2000 ]; then
			echo "$cap"
			return
		fi
		cap=$((cap + 1))
	done
}
# points P CAP: CAP points evenly over 1..P (all when P <= CAP)
points() {
	local p=$1 c=$2 i
	if [ "$p" -le "$c" ]; then seq 1 "$p"; return; fi
	if [ "$c" -le 1 ]; then echo $(((p + 1) / 2)); return; fi
	for ((i = 0; i < c; i++)); do echo $((1 + i * (p - 1) / (c - 1))); done | uniq
}
total_points=0
for k in "${!points_of[@]}"; do total_points=$((total_points + points_of[$k])); done
CAP_EXIT=$(pick_cap $((EXIT_BUDGET * 6 / 10))) # a point cycle kills ~1.7 times (its restart too)
CAP_FAIL=$(pick_cap "$FAILS")
log "plan: $total_points injection points per variant; exit cap $CAP_EXIT per stage/op, fail cap $CAP_FAIL; $RAND_KILLS real SIGKILLs"

# inject S OP N VARIANT: one cycle
inject() {
	local s=$1 op=$2 n=$3 v=$4 rc=0 what="$1 $2:$3:$4"
	restore "$s"
	run_stage "$s" env MAILROOM_FAULT="$op:$n:$v" || rc=$?
	if ! grep -q "fault: injected" "$T/run.log"; then
		return 1 # no such point in this run
	fi
	hit_of["$s $op $v"]=$((${hit_of["$s $op $v"]:-0} + 1))
	if [ "$v" = exit ]; then
		nkills=$((nkills + 1))
		kills_by["$s $op"]=$((${kills_by["$s $op"]:-0} + 1))
		# a token point kills the key holder only: sign must notice and stop or defer
		if [ "$rc" -ne 99 ] && [ "$op" != token ]; then
			bad "$what: exit $rc, not the injected 99"
		fi
		# (token #1, #2: the key holder's start; sign stops with EX_CONFIG)
		case $op:$rc in token:0 | token:73 | token:74 | token:75 | token:78 | *:99) ;; *) bad "$what: exit $rc" ;; esac
	else
		nfails=$((nfails + 1))
		fails_by["$s $op"]=$((${fails_by["$s $op"]:-0} + 1))
		case $op:$rc in *:0 | *:65 | *:73 | *:74 | *:75 | token:78) ;; *) bad "$what: exit $rc after an I/O error: $(grep -v ': info:' "$T/run.log" | tail -n 2)" ;; esac
		if grep -q 'panic\|Assertion\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$T/run.log"; then bad "$what: crashed on an I/O error"; fi
	fi
	if ! after_crash "$s" "$what"; then
		return 0
	fi
	# exit variant: the restart is killed too, at a random point of a random op
	if [ "$v" = exit ]; then
		local ops=() o m rc2=0
		for o in fsync rename write tsa token delivered; do
			[ -n "${points_of["$s $o"]:-}" ] && ops+=("$o")
		done
		o=${ops[$((RANDOM % ${#ops[@]}))]}
		m=$((RANDOM % points_of["$s $o"] + 1))
		run_stage "$s" env MAILROOM_FAULT="$o:$m:exit" || rc2=$?
		if grep -q "fault: injected" "$T/run.log"; then
			nkills=$((nkills + 1))
			kills_by["$s restart-$o"]=$((${kills_by["$s restart-$o"]:-0} + 1))
			after_crash "$s" "$what, then restart $o:$m:exit" || return 0
		fi
	fi
	finish_stage "$s" || bad "$what: restart did not finish"
	stage_done_ok "$s" "$what"
	return 0
}

for v in exit fail; do
	for s in scan classify sign dms-export; do
		[ $v = exit ] && cap=$CAP_EXIT || cap=$CAP_FAIL
		if [ "$s" = classify ] && [ -n "${CRASH_CLASSIFY_CAP:-}" ] && [ "$cap" -gt "$CRASH_CLASSIFY_CAP" ]; then
			cap=$CRASH_CLASSIFY_CAP
		fi
		for op in fsync rename write tsa token delivered; do
			p=${points_of["$s $op"]:-0}
			[ "$p" -gt 0 ] || continue
			[ $v = fail ] && [ "$op" = delivered ] && continue # an exit-only point
			# a point that does not fire ends the sweep after three misses in a row
			# (with classify's workers the count per process varies a little)
			last=0
			miss=0
			for n in $(points "$p" "$cap"); do
				if inject "$s" "$op" "$n" "$v"; then
					last=$n
					miss=0
				else
					miss=$((miss + 1))
					[ "$miss" -lt 3 ] || break
				fi
			done
			# the trace may undercount (token): go on while points still fire
			if [ "$last" -eq "$p" ] && [ "${CRASH_SWEEP_ON:-1}" = 1 ]; then
				n=$((p + 1))
				while inject "$s" "$op" "$n" "$v"; do n=$((n + 1)); done
			fi
			log "$s $op:$v: ${hit_of["$s $op $v"]:-0} points hit (of ~$p); kills $nkills, failures $nfails, fails so far $fails"
		done
	done
done

# --- real SIGKILLs --------------------------------------------------------------
# kind: 0 random moment, 1 SQLite write (strace), 2 TSA request (strace, sign)
sigkill_cycle() {
	local s=$1 kind=$2 rc=0 pid ms what
	restore "$s"
	case $kind in
	0)
		ms=$((RANDOM * 32768 + RANDOM))
		ms=$((ms % (dur_ms[$s] * 95 / 100 + 1)))
		what="$s SIGKILL after ${ms} ms"
		if [ "$s" = scan ]; then
			"$MAILROOM_BIN/mailroom-scan" -c "$CONF" --once --import "$IMPORT" >"$T/run.log" 2>&1 &
		else
			"$MAILROOM_BIN/mailroom-$s" -c "$CONF" --once >"$T/run.log" 2>&1 &
		fi
		pid=$!
		sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
		if kill -9 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null || true
		else
			wait "$pid" 2>/dev/null || true
			return 1 # it had finished
		fi
		;;
	1)
		[ "${sqlw[$s]}" -gt 0 ] || return 1
		local nth=$((RANDOM % sqlw[$s] + 1))
		what="$s SIGKILL at SQLite write #$nth"
		run_stage "$s" strace -f -q -o "$T/strace.log" -e trace=pwrite64 \
			-e inject=pwrite64:signal=KILL:when=$nth || rc=$?
		grep -q 'killed by SIGKILL' "$T/strace.log" || return 1
		;;
	2)
		[ "$tsa_calls" -gt 0 ] || return 1
		local nth=$((RANDOM % 20 + 1)) sc
		case $((RANDOM % 3)) in 0) sc=connect ;; 1) sc=sendto ;; *) sc=recvfrom ;; esac
		what="sign SIGKILL at $sc #$nth (TSA request or key holder)"
		run_stage sign strace -f -q -o "$T/strace.log" -e trace=$sc \
			-e inject=$sc:signal=KILL:when=$nth || rc=$?
		grep -q 'killed by SIGKILL' "$T/strace.log" || return 1
		;;
	esac
	# strace counts per process: every worker reaching its Nth call dies, so one
	# run may kill several processes
	local nk=1 key
	[ "$kind" = 0 ] || nk=$(grep -c 'killed by SIGKILL' "$T/strace.log")
	nkills=$((nkills + nk))
	real_kills=$((real_kills + nk))
	case $kind in 0) key="$s sigkill" ;; 1) key="$s sigkill-sqlite" ;; 2) key="$s sigkill-tsa" ;; esac
	kills_by["$key"]=$((${kills_by["$key"]:-0} + nk))
	# a letter whose worker was killed twice is quarantined by design (a poison
	# letter): released as an operator would, it must then go through normally
	local q
	for q in "$VAR"/spool/"$(spool_of "$s")"/corrupt/*; do
		[ -f "$q/QUARANTINE.txt" ] && grep -q 'the second time' "$q/QUARANTINE.txt" || continue
		mailroom requeue "${q##*/}" >/dev/null 2>&1 || bad "$what: cannot requeue ${q##*/}"
		kills_by["$s released-after-2-kills"]=$((${kills_by["$s released-after-2-kills"]:-0} + 1))
	done
	if after_crash "$s" "$what"; then
		finish_stage "$s" || bad "$what: restart did not finish"
		stage_done_ok "$s" "$what"
	fi
	return 0
}
stages=(scan classify sign dms-export)
tries=0
real_kills=0
while { [ "$nkills" -lt "$KILLS" ] || [ "$real_kills" -lt "$RAND_KILLS" ]; } && [ "$tries" -lt $((KILLS * 4 + 20)) ]; do
	tries=$((tries + 1))
	s=${stages[$((RANDOM % 4))]}
	case $((RANDOM % 10)) in
	0 | 1 | 2) kind=1 ;;
	3) [ "$s" = sign ] && kind=2 || kind=0 ;;
	*) kind=0 ;;
	esac
	sigkill_cycle "$s" "$kind" || true
	[ $((tries % 25)) -eq 0 ] && log "SIGKILLs: kills $nkills of $KILLS"
done

# --- the end: one more export cycle with every check ------------------------------
restore dms-export
check "final: dms-export finishes" finish_stage dms-export
FULL_EVERY=1
before=$fails
stage_done_ok dms-export "final"
check "final: outcome as the reference, packages valid against the xdomea XSD, seals verify" [ "$fails" -eq "$before" ]

elapsed=$(($(date +%s) - START))
{
	echo "crash campaign: seed $SEED, $NIDS letters (7 good + 1 corrupt; classify crashed on 4 of them), $elapsed s"
	echo "kills: $nkills (injected exits + real SIGKILLs), injected I/O failures: $nfails"
	echo "restarts: $restarts, cycles checked clean: $good_cycles of $cycles, full package checks: $full_checks"
	echo "injection points per run (exit variant hit / fail variant hit / points):"
	for s in scan classify sign dms-export; do
		for op in fsync rename write tsa token delivered; do
			p=${points_of["$s $op"]:-}
			[ -n "$p" ] || continue
			printf '  %-10s %-9s %4d / %4d / %4s\n' "$s" "$op" "${hit_of["$s $op exit"]:-0}" \
				"${hit_of["$s $op fail"]:-0}" "$p"
		done
	done
	echo "kills by stage and kind:"
	for k in $(printf '%s\n' "${!kills_by[@]}" | tr ' ' ':' | sort); do
		printf '  %-28s %5d\n' "${k/:/ }" "${kills_by[${k/:/ }]}"
	done
	echo "lost: $lost, duplicated: $dups, failed checks: $fails"
} | tee "$T/figures"
[ -n "${CRASH_REPORT:-}" ] && cp "$T/figures" "$CRASH_REPORT"
[ -s "$T/restart.log" ] && { echo "restarts that did not end with 0/65 (first 10):"; head -n 10 "$T/restart.log"; }
finish
