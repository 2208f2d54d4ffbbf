#!/bin/bash
# export_share.sh - a difficult VIS share, made real (root only; 77 otherwise).
#
#  full  paths.inbox on a 1 MiB tmpfs, nearly filled: the write fails with ENOSPC,
#        the letter waits (RETRY.txt "is full", journal "deferred"), nothing under
#        the package's name and no .tmp left; once space is freed it is delivered
#        exactly once.
#  hung  paths.inbox on a loop-mounted ext4 frozen with fsfreeze(8): every write
#        blocks in the kernel (uninterruptibly, as on a hard NFS mount that lost
#        its server). share_timeout_seconds: 3. The run still ends within seconds:
#        the letter for the frozen share is deferred with "does not answer", a
#        letter routed to paper in the same run is finished (the stage is not
#        blocked); `mailroom status` shows the reason. After thawing, the killed
#        delivery process is gone, and the next run delivers the package exactly
#        once (a stale .tmp of the killed attempt is removed, never linked).
#  Positive controls: the same letters are delivered once the share is healthy.
. "$(dirname "$0")/lib.sh"
need_shared xsd
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (mount tmpfs, a loop device, fsfreeze)" >&2
	exit 77
fi
for tool in mkfs.ext4 fsfreeze mount umount ppm2tiff unzip sqlite3; do
	command -v $tool >/dev/null || { echo "SKIP: $tool missing" >&2; exit 77; }
done
MKJOB=$MAILROOM_BIN/../tests/export_mkjob
EIN=$VAR/spool/export/incoming
FULL=$T/full
HUNG=$T/hung
frozen=0
share_cleanup() {
	[ $frozen = 1 ] && fsfreeze -u "$HUNG" 2>/dev/null
	umount "$HUNG" 2>/dev/null || true
	umount "$FULL" 2>/dev/null || true
}
trap 'share_cleanup; cleanup' EXIT
mkdir -p "$EIN" "$FULL" "$HUNG"
q() { "$@" >/dev/null 2>&1; }
state() { sql "SELECT state FROM letters WHERE job='$1'"; }
due() { sed -i 's/^[0-9]* /0 /' "$EIN/$1/RETRY.txt"; } # its retry time has come
# letter ID OFFICE MODE: a letter with a 600 KB scan (incompressible) in export/incoming
{ printf 'P5\n800 800\n255\n'; head -c 640000 /dev/urandom; } >"$T/page.pgm"
ppm2tiff "$T/page.pgm" "$T/scan.tiff"
letter() {
	mkdir -p "$T/build/$1"
	cp "$T/scan.tiff" "$T/build/$1/"
	"$MKJOB" "$T/build/$1" "$MAILROOM_SOURCE/tests/data/export/job-kopierend.json" \
		classification.office="$2" classification.scan_mode="$3"
	mv "$T/build/$1" "$EIN/$1"
}
conf_share() { # conf_share DIR: a copy of the configuration with paths.inbox DIR
	rm -rf "$T/conf-$2"
	cp -r "$CONF" "$T/conf-$2"
	sed -i "s|^  # inbox: .*|  inbox: $1|" "$T/conf-$2/mailroom.yaml"
	sed -i 's/^share_timeout_seconds: .*/share_timeout_seconds: 3/' "$T/conf-$2/export.yaml"
	grep -q "^  inbox: $1" "$T/conf-$2/mailroom.yaml" &&
		grep -q '^share_timeout_seconds: 3$' "$T/conf-$2/export.yaml" || { echo "FAIL: cannot configure the share" >&2; exit 1; }
}

# --- full ---
if ! mount -t tmpfs -o size=1m tmpfs "$FULL" 2>/dev/null; then
	echo "SKIP: cannot mount a tmpfs" >&2
	exit 77
fi
mkdir "$FULL/kaemmerei"
head -c 600000 /dev/urandom >"$FULL/kaemmerei/filler.bin" # the DMS has not taken its mail
conf_share "$FULL" full
F=20261122T110000Z-00000000000000f1
UF=$(letter $F kaemmerei kopierend)
"$MAILROOM_BIN/mailroom-dms-export" -c "$T/conf-full" --once 2>"$T/full1.log" || bad "full: exit $?"
check "full: deferred, the reason says the inbox is full" q grep -q 'is full' "$EIN/$F/RETRY.txt"
check "full: journal says deferred" [ "$(state $F)" = deferred ]
check "full: nothing under the package's name, no .tmp left" \
	[ "$(ls -A "$FULL/kaemmerei")" = filler.bin ]
rm "$FULL/kaemmerei/filler.bin"
due $F
"$MAILROOM_BIN/mailroom-dms-export" -c "$T/conf-full" --once 2>"$T/full2.log" || bad "full 2: exit $?"
PF=$FULL/kaemmerei/${UF}_Information.Information.0101.zip
check "full: delivered once space was freed" q unzip -tq "$PF"
check "full: exactly one file in the inbox" [ "$(ls -A "$FULL/kaemmerei" | wc -l)" -eq 1 ]
check "full: one delivered event" \
	[ "$(sql "SELECT count(*) FROM events WHERE job='$F' AND action='delivered'")" -eq 1 ]

# --- hung ---
dd if=/dev/zero of="$T/ext4.img" bs=1M count=16 2>/dev/null
mkfs.ext4 -q -F "$T/ext4.img" >/dev/null 2>&1
if ! mount -o loop "$T/ext4.img" "$HUNG" 2>/dev/null; then
	echo "SKIP: cannot mount a loop device" >&2
	exit 77
fi
mkdir "$HUNG/kaemmerei" "$HUNG/control"
conf_share "$HUNG" hung
K=20261122T110100Z-00000000000000a2
P=20261122T110200Z-00000000000000b2
UK=$(letter $K kaemmerei kopierend)
letter $P personalamt ersetzend >/dev/null # not a pilot office: a routing slip, local
fsfreeze -f "$HUNG" && frozen=1
set +e
timeout -s KILL 2 sh -c "echo probe >'$HUNG/control/probe'"
rc=$?
set -e
check "hung: control: a plain write into the frozen share blocks (killed after 2 s, rc $rc)" [ $rc -eq 137 ]
t0=$(date +%s)
set +e
timeout 90 "$MAILROOM_BIN/mailroom-dms-export" -c "$T/conf-hung" --once 2>"$T/hung1.log"
rc=$?
set -e
t1=$(date +%s)
check "hung: the run ends on its own (rc $rc, $((t1 - t0)) s)" [ $rc -eq 0 -a $((t1 - t0)) -lt 30 ]
check "hung: the letter is deferred: the inbox does not answer" \
	q grep -q 'does not answer within 3 s' "$EIN/$K/RETRY.txt"
check "hung: the letter routed to paper in the same run is finished" \
	[ -d "$VAR/archive/$P" -a "$(count "$VAR/routing/personalamt/*_$P.txt")" -eq 1 ]
check "hung: nothing under the package's name" \
	[ ! -e "$HUNG/kaemmerei/${UK}_Information.Information.0101.zip" ]
set +e
timeout 30 "$MAILROOM_BIN/mailroom-dms-export" -c "$T/conf-hung" --once 2>"$T/hung1b.log"
rc=$?
set -e
check "hung: a new run starts while the killed delivery still hangs (it holds no lock; rc $rc)" \
	[ $rc -eq 0 ]
check "hung: control: the killed delivery process still hangs" q pgrep -f -- "-c $T/conf-hun[g]"
mailroom status >"$T/status.txt"
check "hung: mailroom status shows why it waits" q grep -q "$K .*does not answer" "$T/status.txt"
fsfreeze -u "$HUNG" && frozen=0
for _ in $(seq 1 50); do pgrep -f -- "-c $T/conf-hun[g]" >/dev/null || break; sleep 0.1; done
check "hung: after the thaw the killed delivery process is gone" q sh -c "! pgrep -f -- '-c $T/conf-hun[g]'"
due $K
"$MAILROOM_BIN/mailroom-dms-export" -c "$T/conf-hung" --once 2>"$T/hung2.log" || bad "hung 2: exit $?"
PK=$HUNG/kaemmerei/${UK}_Information.Information.0101.zip
check "hung: delivered once the share answers" q unzip -tq "$PK"
check "hung: exactly the package in the inbox (no stale .tmp): $(ls -A "$HUNG/kaemmerei" | tr "\n" " ")" [ "$(ls -A "$HUNG/kaemmerei")" = "$(basename "$PK")" ]
check "hung: one delivered event" \
	[ "$(sql "SELECT count(*) FROM events WHERE job='$K' AND action='delivered'")" -eq 1 ]
finish
