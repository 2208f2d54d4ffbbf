#!/bin/bash
# enospc_eio.sh - I/O errors at chosen points (issue 8), without root: each stage
# gets EIO (MAILROOM_FAULT=op:N:fail) and ENOSPC (op:N:enospc) at its first, a
# middle and its last write and fsync. It must stop or defer cleanly: a documented
# exit status (0 with the letter deferred, 65 only for a bad input, 74, 75), a log
# line naming the letter (or the import file) with the error, no letter
# quarantined for our own I/O error, none lost or doubled, nothing half-written
# in the next queue. Then it runs again without the fault (deferred letters
# released) and the result equals a run without errors.
. "$(dirname "$0")/lib.sh"
need_shared xsd
pki
sed -i "s/^  pdf_dpi: .*/  pdf_dpi: 150/" "$CONF/scan.yaml"
sed -i "s/^workers: .*/workers: 1/" "$CONF/classify.yaml"
render_letters "$T/letters"
IMPORT=$T/import
mkdir -p "$IMPORT"
for f in 01-rechnung 04-werbung 07-gericht; do cp "$T/letters/$f.pdf" "$IMPORT/"; done

snapshot() { rm -rf "$T/snap.$1"; mkdir -p "$T/snap.$1"; cp -a "$VAR" "$IMPORT" "$T/snap.$1/"; }
restore() {
	rm -rf "$VAR" "$IMPORT"
	cp -a "$T/snap.$1/var" "$VAR"
	cp -a "$T/snap.$1/import" "$IMPORT"
}
run() { # run STAGE [env...]: exit status; stderr in $T/err
	local s=$1 rc=0
	shift
	if [ "$s" = scan ]; then
		"$@" "$MAILROOM_BIN/mailroom-scan" -c "$CONF" --once --import "$IMPORT" 2>"$T/err" || rc=$?
	else
		"$@" "$MAILROOM_BIN/mailroom-$s" -c "$CONF" --once 2>"$T/err" || rc=$?
	fi
	return $rc
}
spool_of() { [ "$1" = dms-export ] && echo export || echo "$1"; }
next_of() { case $1 in scan) echo classify ;; classify) echo sign ;; sign) echo export ;; *) echo export ;; esac; }
job_ok() {
	local d=$1 name sha
	jq -e '(keys_unsorted | last) == "end"' "$d/job.json" >/dev/null 2>&1 || return 1
	while read -r name sha; do
		[ "$(sha256sum <"$d/$name" | cut -d' ' -f1)" = "$sha" ] || return 1
	done < <(jq -r '.files | to_entries[] | "\(.key) \(.value.sha256)"' "$d/job.json")
}
queue_ok() {
	local d
	for d in "$VAR/spool/$1/incoming"/*; do
		[ -d "$d" ] || continue
		job_ok "$d" || { echo "$d: not whole" >&2; return 1; }
		[ "$(count "$d/*.tmp")" -eq 0 ] || return 1
	done
}
# state: where every letter is, by source file (ids of a scan differ per run)
state() {
	local d
	for d in "$VAR"/spool/*/incoming/* "$VAR"/spool/*/active/* "$VAR"/spool/*/corrupt/* "$VAR"/archive/*; do
		[ -f "$d/job.json" ] || continue
		echo "$(jq -r .source.file "$d/job.json") ${d#"$VAR"/}" | sed -E 's|/[0-9]{8}T[0-9]{6}Z-[0-9a-f]{16}$||'
	done | sort
	(cd "$VAR" && find vis-inbox routing -type f 2>/dev/null | sed -E 's/[0-9]{8}T[0-9]{6}Z-[0-9a-f]{16}/ID/' | sort)
	ls "$IMPORT"
}

# letters_ok: each of the 3 files is one letter or still in the import folder, once
letters_ok() {
	local srcs
	srcs=$(cat /dev/null "$VAR"/spool/*/incoming/*/job.json "$VAR"/spool/*/active/*/job.json \
		"$VAR"/spool/*/corrupt/*/job.json "$VAR"/archive/*/job.json 2>/dev/null | jq -r .source.file | sort)
	[ -z "$(echo "$srcs" | uniq -d)" ] || { echo "a file became two letters: $srcs" >&2; return 1; }
	[ "$( (echo "$srcs"; ls "$IMPORT") | grep . | sort -u | wc -l)" -eq 3 ] ||
		{ echo "a letter is lost: $srcs / $(ls "$IMPORT")" >&2; return 1; }
}

# reference: each stage's input and result, and its number of writes and fsyncs
declare -A npts
for s in scan classify sign dms-export; do
	snapshot "$s"
	rm -f "$T/trace"
	run "$s" env MAILROOM_FAULT_TRACE="$T/trace" || { bad "reference $s: $(tail -n 2 "$T/err")"; finish; }
	state >"$T/ref.$s"
	for op in write fsync; do
		npts["$s $op"]=$(awk -v op="$op" '$2 == op && $3 > m { m = $3 } END { print m + 0 }' "$T/trace")
	done
done
check "reference: 2 packages and 1 routing slip" \
	[ "$(($(count "$VAR/vis-inbox/*/*.zip") * 10 + $(count "$VAR/routing/*/*")))" -eq 21 ]

for s in ${EIO_STAGES:-scan classify sign dms-export}; do
	sp=$(spool_of "$s")
	next=$(next_of "$s")
	for op in write fsync; do
		p=${npts["$s $op"]}
		[ "$p" -gt 0 ] || continue
		for n in $(printf '%s\n' 1 $(((p + 1) / 2)) "$p" | sort -un); do
			for v in fail enospc; do
				what="$s $op:$n:$v"
				restore "$s"
				rc=0
				run "$s" env MAILROOM_FAULT="$op:$n:$v" || rc=$?
				grep -q "fault: injected" "$T/err" || continue
				[ "$v" = fail ] && want="Input/output error" || want="No space left|full"
				check "$what: exit 0, 74 or 75 (got $rc)" sh -c "[ $rc -eq 0 ] || [ $rc -eq 74 ] || [ $rc -eq 75 ]"
				# (an error that changed nothing, e.g. the import folder's fsync
				# after the file left it, need not be reported)
				if [ "$rc" -eq 0 ] && [ "$(state)" = "$(cat "$T/ref.$s")" ]; then
					ok "$what: no effect on the result"
				elif grep -Eq "([0-9]{8}T[0-9]{6}Z-[0-9a-f]{16}|\.pdf).*($want)" "$T/err"; then
					ok "$what: the log names the letter or file and the error"
				else
					bad "$what: the log names the letter or file and the error"
					grep -v ': info:' "$T/err" | tail -n 5 >&2
				fi
				check "$what: nothing quarantined" [ "$(count "$VAR/spool/*/corrupt/*")" -eq 0 ]
				check "$what: nothing half-written in $next" queue_ok "$next"
				check "$what: no letter lost or doubled" letters_ok
				for i in 1 2 3; do
					for d in "$VAR/spool/$sp/incoming"/*; do
						[ -f "$d/RETRY.txt" ] && mailroom requeue "${d##*/}" --now >/dev/null
					done
					rc=0
					run "$s" || rc=$?
					[ "$(count "$VAR/spool/$sp/incoming/* $VAR/spool/$sp/active/* $IMPORT/*")" -eq 0 ] && break
				done
				if [ "$(state)" = "$(cat "$T/ref.$s")" ]; then
					ok "$what, then without the fault: the same result as without errors"
				else
					bad "$what, then without the fault: the same result as without errors"
					diff "$T/ref.$s" <(state) >&2 || true
					grep -v ': info:' "$T/err" | tail -n 5 >&2
				fi
				check "$what: no temporary files" \
					[ "$(find "$VAR/spool" "$VAR/vis-inbox" -name '*.tmp' | wc -l)" -eq 0 ]
			done
		done
	done
done
check "journal chain intact" mailroom status --verify-journal
finish
