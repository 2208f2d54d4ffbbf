#!/bin/sh
# run.sh BUILD - the delivery benchmark (make bench-export).
#
# In one run on this machine:
#   input  N letters (LETTERS=N, default 200) as classify leaves them
#          (tests/sign_mkjob: page 1 of samples/letters 01-rechnung as a 300 dpi
#          8-bit gray LZW TIFF, about 0.5 MB, and the letter's PDF as the searchable
#          rendition; ersetzend, office kaemmerei), sealed by the real mailroom-sign with the
#          TEST PKI of scripts/pki.sh (Transfervermerk + CAdES-B-B seals). A copy
#          of the sealed letters is kept for the peer.
#   mailroom  mailroom-dms-export --once over all N: per letter the job record
#          checked (every digest), the xdomea 0101 message built and validated
#          against the official xdomea.xsd, the ZIP built, written as .tmp,
#          fsynced, linked to its name, the folder fsynced (in a child process
#          bounded by share_timeout_seconds), job.json rewritten (fsync), the
#          journal events (SQLite, synchronous=FULL), the move to the archive
#          (rename + fsync of both folders).
#   peer   a shell loop over the same letters: `zip -q -j` the letter's files
#          (payload and job.json), `cp` the ZIP into an inbox folder, `sync`;
#          and the same with `sync FILE` (fsync of the one copy) instead.
# Wall time and CPU (user+sys of the command and all its children) come from
# mailroom-bench-run (bench/pipeline). Then the independent checks on every
# package mailroom wrote: `unzip -t`,
# `xmllint --schema` against the official xdomea.xsd, `mailroom verify --ca`
# (the whole package: seals, manifest, Transfervermerk) and `openssl cms -verify`
# on every .p7s the message names. Figures: packages per second, ms per package,
# package size; report also in BUILD/bench-work/export/report.txt (BENCH_WORK
# elsewhere). Skips (exit 0) without ../shared (MAILROOM_SHARED elsewhere).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$top/$build" ;; esac
n=${LETTERS:-200}
shared=${MAILROOM_SHARED:-$top/../shared}
xsd=$shared/xsd/xdomea_3.0.0/xdomea.xsd
if [ ! -r "$xsd" ]; then
	echo "bench-export: $xsd not found (the shared xdomea schemas are absent); skipped"
	exit 0
fi
for tool in openssl zip unzip xmllint gs groff sync; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "bench-export: $tool not found (sh scripts/deps.sh installs it)" >&2
		exit 69
	}
done
for b in bin/mailroom-sign bin/mailroom-dms-export bin/mailroom bin/mailroom-bench-run tests/sign_mkjob; do
	[ -x "$build/$b" ] || { echo "bench-export: $build/$b not built (make build)" >&2; exit 69; }
done
work=${BENCH_WORK:-$build/bench-work/export}
report=$work/report.txt
T=$(mktemp -d /tmp/mailroom-bench-export.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$work"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }

# A tree of our own: conf copy, TEST PKI, the real schema.
cp -r "$top/conf" "$T/conf"
sed -i "s|^xsd:.*|xsd: $xsd|" "$T/conf/export.yaml"
export MAILROOM_VAR="$T/var"
unset MAILROOM_FAULT MAILROOM_CONF
sh "$top/scripts/pki.sh" "$T/var" >/dev/null
# One A4 letter page as a scanner delivers it: 300 dpi, 8-bit gray, LZW (about
# 0.5 MB), and the letter's PDF as the searchable rendition.
sh "$top/scripts/sample-letters.sh" "$T/letters" >/dev/null
cp "$T/letters/01-rechnung.pdf" "$T/l.pdf"
gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=tiffgray -sCompression=lzw -r300 -sPAPERSIZE=a4 \
	-dFirstPage=1 -dLastPage=1 -o "$T/page.tif" "$T/l.pdf"

echo "bench-export: making $n sealed letters (sign_mkjob + mailroom-sign) ..." >&2
i=0
while [ $i -lt "$n" ]; do
	"$build/tests/sign_mkjob" -c "$T/conf" --tiff "$T/page.tif" --ocr-pdf "$T/l.pdf" >/dev/null
	i=$((i + 1))
done
t0=$(now)
"$build/bin/mailroom-sign" -c "$T/conf" --once 2>"$T/sign.log"
t1=$(now)
sign_s=$(elapsed "$t0" "$t1")
in=$T/var/spool/export/incoming
got=$(ls "$in" | wc -l)
[ "$got" -eq "$n" ] || { echo "bench-export: only $got of $n letters sealed: $(tail -3 "$T/sign.log")" >&2; exit 1; }
cp -a "$in" "$T/peer-input"
letter_kb=$(du -sk "$T/peer-input" | awk -v n="$n" '{ printf "%.0f", $1 / n }')
cat "$in"/*/* >/dev/null # both read from the page cache

{
	echo "bench-export: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n), $(nproc) cores," \
		"$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "filesystem of $T: $(df -T "$T" | awk 'NR == 2 { print $2 }'); $n letters of about $letter_kb KB" \
		"(A4 300 dpi gray LZW TIFF, PDF, Transfervermerk, 2 seals); sealing them took ${sign_s} s"
} | tee "$report"

# run LABEL COMMAND...: wall and CPU (with every child) into $T/runs
run() {
	l=$1
	shift
	"$build/bin/mailroom-bench-run" -o "$T/runs" -l "$l" -- "$@"
}
field() { sed -n "s/^$1 .*$2=\([0-9.]*\).*/\1/p" "$T/runs"; }

# --- mailroom ---
sync
run mailroom "$build/bin/mailroom-dms-export" -c "$T/conf" --once 2>"$T/export.log"
mr=$(field mailroom wall)
mr_cpu=$(field mailroom cpu)
inbox=$T/var/vis-inbox/kaemmerei
npkg=$(ls "$inbox"/*.zip 2>/dev/null | wc -l)
pkg_kb=$(du -sk "$inbox" | awk -v n="$npkg" '{ printf "%.0f", (n ? $1 / n : 0) }')

# --- the peer: zip + cp + sync, and zip + cp + sync FILE ---
mkdir -p "$T/peer-inbox" "$T/peer-inbox2" "$T/peer-zip"
cat >"$T/peer.sh" <<'EOF'
# peer.sh INPUT ZIPDIR INBOX all|file
for d in "$1"/*; do
	id=$(basename "$d")
	zip -q -j "$2/$id.zip" "$d"/*
	cp "$2/$id.zip" "$3/"
	if [ "$4" = all ]; then sync; else sync "$3/$id.zip"; fi
done
EOF
sync
run peer sh "$T/peer.sh" "$T/peer-input" "$T/peer-zip" "$T/peer-inbox" all
rm -f "$T"/peer-zip/*
sync
run peer2 sh "$T/peer.sh" "$T/peer-input" "$T/peer-zip" "$T/peer-inbox2" file
peer=$(field peer wall)
peer_cpu=$(field peer cpu)
peer2=$(field peer2 wall)
peer2_cpu=$(field peer2 cpu)

# --- the independent checks on every package ---
echo "bench-export: checking $npkg packages (unzip -t, xmllint, mailroom verify, openssl cms) ..." >&2
unzip_ok=0 verify_ok=0 sig_ok=0 sig_all=0
mkdir -p "$T/xml"
for z in "$inbox"/*.zip; do
	b=$(basename "$z" .zip)
	unzip -tq "$z" >/dev/null 2>&1 && unzip_ok=$((unzip_ok + 1))
	unzip -p "$z" "$b.xml" >"$T/xml/$b.xml"
	"$build/bin/mailroom" -c "$T/conf" verify --ca "$T/var/pki/ca.pem" "$z" >/dev/null 2>&1 &&
		verify_ok=$((verify_ok + 1))
	rm -rf "$T/x" && mkdir "$T/x" && unzip -q "$z" -d "$T/x"
	for s in $(sed -n 's/.*<xdomea:SignaturSiegelDatei>\([^<]*\.p7s\)<.*/\1/p' "$T/xml/$b.xml"); do
		sig_all=$((sig_all + 1))
		openssl cms -verify -binary -inform DER -in "$T/x/$s" -content "$T/x/${s%.p7s}" \
			-CAfile "$T/var/pki/ca.pem" -purpose any -out /dev/null 2>/dev/null &&
			sig_ok=$((sig_ok + 1))
	done
done
xml_ok=$(xmllint --noout --schema "$xsd" "$T"/xml/*.xml 2>&1 | grep -c ' validates$' || true)

awk -v n="$n" -v np="$npkg" -v mr="$mr" -v pe="$peer" -v p2="$peer2" -v kb="$pkg_kb" \
	-v mc="$mr_cpu" -v pc="$peer_cpu" -v p2c="$peer2_cpu" \
	-v uz="$unzip_ok" -v xo="$xml_ok" -v vo="$verify_ok" -v so="$sig_ok" -v sa="$sig_all" 'BEGIN {
	printf "\n"
	printf "  mailroom-dms-export --once    %8.3f s  %8.1f packages/s  %7.2f ms/package  CPU %5.2f ms/package  (%d packages of about %d KB)\n", mr, np / mr, 1000 * mr / np, 1000 * mc / np, np, kb
	printf "  zip + cp + sync (loop)        %8.3f s  %8.1f packages/s  %7.2f ms/package  CPU %5.2f ms/package\n", pe, n / pe, 1000 * pe / n, 1000 * pc / n
	printf "  zip + cp + sync FILE (loop)   %8.3f s  %8.1f packages/s  %7.2f ms/package  CPU %5.2f ms/package\n", p2, n / p2, 1000 * p2 / n, 1000 * p2c / n
	printf "  mailroom vs zip+cp+sync: %.2fx the packages per second; vs sync FILE: %.2fx\n", (np / mr) / (n / pe), (np / mr) / (n / p2)
	printf "  checks: unzip -t %d of %d OK; xmllint --schema xdomea.xsd %d of %d valid;\n", uz, np, xo, np
	printf "          mailroom verify %d of %d OK; openssl cms -verify %d of %d seals named in the messages OK\n", vo, np, so, sa
}' | tee -a "$report"
echo "(report in $report)"
[ "$npkg" -eq "$n" ] && [ "$unzip_ok" -eq "$n" ] && [ "$xml_ok" -eq "$n" ] && [ "$verify_ok" -eq "$n" ] &&
	[ "$sig_ok" -eq "$sig_all" ] && [ "$sig_all" -eq $((2 * n)) ]
