#!/bin/bash
# enospc.sh - a full disk in the middle of a batch (issue 8): var/ (spool, archive,
# vis-inbox, journal) on a size-limited tmpfs, filled by a filler file so that a
# stage runs out of space after a letter or two. Each stage must stop cleanly:
# exit EX_OK with the letters deferred, or EX_IOERR/EX_TEMPFAIL; a log line naming
# the letter; letters stay where they were (or are deferred with a reason), none
# half-written is handed on (every job in the next queue reads back against its
# digests), no temporary file is left in the next queue. Then the filler is
# deleted, the deferred letters released, the stage run again: everything
# completes exactly once. Last, the SQLite journal alone on a full filesystem:
# no letter leaves without its event.
# Needs mount(2) for the tmpfs (root or CAP_SYS_ADMIN); skipped (77) otherwise.
. "$(dirname "$0")/lib.sh"
need_shared xsd
if ! mount -t tmpfs -o size=16m,mode=0700 tmpfs "$VAR" 2>"$T/mount.err"; then
	echo "SKIP: mount -t tmpfs is not permitted here ($(head -n 1 "$T/mount.err")); the ENOSPC test needs a small filesystem (run as root)" >&2
	exit 77
fi
JFS=$T/jfs
enospc_cleanup() {
	[ -f "$T/tsav/tsa/pid" ] && sh "$MAILROOM_SOURCE/scripts/tsa.sh" stop "$T/tsav" >/dev/null 2>&1
	mountpoint -q "$JFS" 2>/dev/null && umount "$JFS"
	mountpoint -q "$VAR" && umount "$VAR"
	cleanup
}
trap enospc_cleanup EXIT
for tool in fallocate jq sha256sum; do
	command -v "$tool" >/dev/null || { echo "FAIL: missing tool $tool" >&2; exit 1; }
done

sed -i "s/^  pdf_dpi: .*/  pdf_dpi: 150/" "$CONF/scan.yaml"
sed -i -E "s/^  (normal|hoch): B-B/  \1: B-T/" "$CONF/signing.yaml"
sh "$MAILROOM_SOURCE/scripts/pki.sh" "$VAR" >/dev/null
mkdir -p "$T/tsav" # the TSA is another machine: not on the full disk
cp -a "$VAR/pki" "$T/tsav/pki"
url=$(MAILROOM_FAULT= sh "$MAILROOM_SOURCE/scripts/tsa.sh" start "$T/tsav" 0) ||
	{ echo "FAIL: cannot start the test TSA" >&2; exit 1; }
sed -i "s|^  url: .*|  url: $url|" "$CONF/signing.yaml"
render_letters "$T/letters"
mkdir -p "$T/import"
for f in 01-rechnung 02-widerspruch 04-werbung 05-bewerbung 06-brief 07-gericht; do
	cp "$T/letters/$f.pdf" "$T/import/"
done

# fill BYTES: leave about BYTES free on the tmpfs (a filler file)
fill() {
	local avail
	rm -f "$VAR/filler"
	avail=$(df -B1 --output=avail "$VAR" | tail -n 1)
	if [ "$avail" -gt "$1" ]; then fallocate -l $((avail - $1)) "$VAR/filler"; fi
}
unfill() { rm -f "$VAR/filler"; }

# job_ok DIR: job.json complete (end marker last) and every listed file matches
job_ok() {
	local d=$1 name sha
	jq -e '(keys_unsorted | last) == "end"' "$d/job.json" >/dev/null 2>&1 ||
		{ echo "$d: job.json incomplete" >&2; return 1; }
	while read -r name sha; do
		[ "$(sha256sum <"$d/$name" | cut -d' ' -f1)" = "$sha" ] ||
			{ echo "$d/$name: does not match its digest" >&2; return 1; }
	done < <(jq -r '.files | to_entries[] | "\(.key) \(.value.sha256)"' "$d/job.json")
}
queue_ok() { # queue_ok SPOOL: every job in its incoming/ is whole, no temporary files
	local d
	for d in "$VAR/spool/$1/incoming"/*; do
		[ -d "$d" ] || continue
		job_ok "$d" || return 1
		[ "$(count "$d/*.tmp")" -eq 0 ] || { echo "$d: temporary files" >&2; return 1; }
	done
}
letters() { count "$VAR/spool/*/incoming/* $VAR/spool/*/active/* $VAR/spool/*/corrupt/* $VAR/archive/*"; }
release() { # release SPOOL: cut the wait of deferred letters short
	local d
	for d in "$VAR/spool/$1/incoming"/*; do
		[ -f "$d/RETRY.txt" ] && mailroom requeue "${d##*/}" --now >/dev/null
	done
	return 0
}

# full STAGE SPOOL NEXT LEAVE: the stage on a disk with LEAVE bytes free, then freed
full() {
	local s=$1 sp=$2 next=$3 leave=$4 rc=0 before after i
	before=$(letters)
	fill "$leave"
	if [ "$s" = scan ]; then
		scan_import "$T/import" 2>"$T/$s.err" || rc=$?
	else
		stage "$s" 2>"$T/$s.err" || rc=$?
	fi
	check "$s on a full disk: exit 0, EX_IOERR or EX_TEMPFAIL (got $rc)" \
		sh -c "[ $rc -eq 0 ] || [ $rc -eq 74 ] || [ $rc -eq 75 ]"
	check "$s on a full disk: the log names a letter and the lack of space" \
		grep -Eq '[0-9]{8}T[0-9]{6}Z-[0-9a-f]{16}: .*(No space left|disk is full|is full)' "$T/$s.err"
	check "$s on a full disk: it did run out of space (not everything went through)" \
		sh -c "[ $(count "$VAR/spool/$sp/incoming/* $VAR/spool/$sp/active/* $T/import/*") -gt 0 ]"
	check "$s on a full disk: no crash, no panic" sh -c "! grep -q 'panic\|Assertion\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' '$T/$s.err'"
	[ "$s" = scan ] || check "$s on a full disk: no letter lost or doubled ($before before)" [ "$(letters)" -eq "$before" ]
	check "$s on a full disk: nothing half-written handed on to $next" queue_ok "$next"
	check "$s on a full disk: nothing quarantined" [ "$(count "$VAR/spool/$sp/corrupt/*")" -eq 0 ]
	if grep -q 'deferred' "$T/$s.err"; then
		check "$s on a full disk: deferred letters carry the reason" \
			sh -c "grep -lq 'space\|full' '$VAR'/spool/$sp/incoming/*/RETRY.txt"
	fi
	unfill
	for i in 1 2 3; do
		release "$sp"
		rc=0
		if [ "$s" = scan ]; then scan_import "$T/import" 2>>"$T/$s.err2" || rc=$?; else stage "$s" 2>>"$T/$s.err2" || rc=$?; fi
		[ "$(count "$VAR/spool/$sp/incoming/* $VAR/spool/$sp/active/*")" -eq 0 ] && break
	done
	check "$s with space again: exit 0 (got $rc)" [ "$rc" -eq 0 ]
	check "$s with space again: its queue is empty" \
		[ "$(count "$VAR/spool/$sp/incoming/* $VAR/spool/$sp/active/* $VAR/spool/$sp/tmp/*")" -eq 0 ]
	check "$s with space again: every job handed on is whole" queue_ok "$next"
}

full scan scan classify 300000
check "scan: the import folder is empty" [ "$(count "$T/import/*")" -eq 0 ]
check "scan: 6 letters in classify, each file once" \
	[ "$(cat "$VAR"/spool/classify/incoming/*/job.json | jq -r .source.file | sort -u | wc -l)" -eq 6 ]
check "scan: 6 letters in classify" [ "$(count "$VAR/spool/classify/incoming/*")" -eq 6 ]
full classify classify sign 400000
full sign sign export 40000
full dms-export export export 300000
check "6 letters archived" [ "$(count "$VAR/archive/*")" -eq 6 ]
check "4 packages and 2 routing slips" \
	[ $(($(count "$VAR/vis-inbox/*/*.zip") * 10 + $(count "$VAR/routing/*/*"))) -eq 42 ]
check "no temporary file in the inboxes" [ "$(find "$VAR/vis-inbox" -name '*.tmp' | wc -l)" -eq 0 ]
for zip in "$VAR"/vis-inbox/*/*.zip; do
	check "package $(basename "$zip"): valid, seals verify" \
		sh -c "'$MAILROOM_BIN/mailroom' -c '$CONF' verify --ca '$VAR/pki/ca.pem' '$zip' >/dev/null"
	check "package $(basename "$zip"): xdomea XSD" check_package "$zip"
done
for id in $(ls "$VAR/archive"); do
	check "journal: $id left once" \
		[ "$(sql "SELECT count(*) FROM events WHERE job='$id' AND action IN ('delivered','routed') AND outcome='ok'")" -eq 1 ]
done
check "journal chain intact" mailroom status --verify-journal

# The SQLite journal alone on a full filesystem: the spool has room, the journal
# none. No letter may leave a stage without its event.
mkdir -p "$JFS"
mount -t tmpfs -o size=2m,mode=0700 tmpfs "$JFS"
mv "$VAR"/journal.db* "$JFS"/
sed -i "s|^  var: .*|&\n  journal: $JFS/journal.db|" "$CONF/mailroom.yaml"
grep -q "^  journal: $JFS/journal.db" "$CONF/mailroom.yaml" || bad "paths.journal not set in the test conf"
sql() { sqlite3 "$JFS/journal.db" "$1"; }
mkdir -p "$T/import"
cp "$T/letters/03-bauantrag.pdf" "$T/import/"
for s in scan classify sign; do
	rc=0
	if [ $s = scan ]; then scan_import "$T/import" 2>"$T/j$s.err" || rc=$?; else stage $s 2>"$T/j$s.err" || rc=$?; fi
	check "journal on its own filesystem, with room: $s (exit $rc)" [ $rc -eq 0 ] ||
		tail -n 3 "$T/j$s.err" >&2
done
jid=$(ls "$VAR/spool/export/incoming")
# From no space at all up: the journal cannot be opened (the stage stops before
# touching a letter), then it opens but a commit fails (the letter stays), at
# last everything fits. Never a letter archived without its event.
held=0
for leave in 0 8192 16384 24576 32768 40960 49152 65536 98304 131072 262144; do
	rm -f "$JFS/filler"
	avail=$(df -B1 --output=avail "$JFS" | tail -n 1)
	[ "$avail" -gt "$leave" ] && fallocate -l $((avail - leave)) "$JFS/filler"
	rc=0
	stage dms-export 2>"$T/journal.err" || rc=$?
	n=$(sql "SELECT count(*) FROM events WHERE job='$jid' AND action IN ('delivered','routed') AND outcome='ok'" 2>/dev/null || echo "?")
	if [ -d "$VAR/archive/$jid" ]; then
		check "journal with $leave bytes: archived with its event (exit $rc)" [ "$n" = 1 ]
		break
	fi
	check "journal with $leave bytes: dms-export stops (EX_IOERR or EX_TEMPFAIL, got $rc)" \
		sh -c "[ $rc -eq 74 ] || [ $rc -eq 75 ]"
	check "journal with $leave bytes: the letter is still in export" \
		[ "$(count "$VAR/spool/export/incoming/$jid $VAR/spool/export/active/$jid")" -eq 1 ]
	if grep -q "$jid: stays in spool/export/active: the journal .* free space in" "$T/journal.err"; then
		held=$((held + 1))
	fi
done
check "journal full: at least once the delivery was done but the letter held back for its event ($held)" \
	[ "$held" -ge 1 ]
rm -f "$JFS/filler"
rc=0
stage dms-export 2>/dev/null || rc=$?
check "journal with space again: dms-export finishes" [ "$rc" -eq 0 ]
check "journal with space again: the letter is archived" [ -d "$VAR/archive/$jid" ]
check "journal with space again: its departure recorded once" \
	[ "$(sql "SELECT count(*) FROM events WHERE job='$jid' AND action IN ('delivered','routed') AND outcome='ok'")" -eq 1 ]
check "journal with space again: one package for it" [ "$(count "$VAR/vis-inbox/*/*.zip")" -eq 5 ]
check "journal chain intact" mailroom status --verify-journal
finish
