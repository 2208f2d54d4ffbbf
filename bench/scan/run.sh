#!/bin/sh
# run.sh BUILD - the capture benchmark (make bench-scan): what mailroom-scan costs per
# page on top of SANE, against `scanimage --batch` on the same backend and settings,
# in the same run.
#
# Both read PAGES pages (default 100) from SANE's test backend: Flatbed (its
# feeder stops after 10 sheets), Gray, 8 bit, 300 dpi, test-picture Grid (PICTURE=
# to change), the backend's largest area 200 x 200 mm (2362 x 2362 pixels, close
# to A4's 210 x 297). Each tool runs under mailroom-bench-run (wall time, CPU of
# the tool and every process it waited for, peak RSS) and `timeout` (scanimage
# with the test backend can hang after the last page of a batch):
#   scanimage pnm    scanimage --batch --format=pnm (raw pixels, nothing else)
#   scanimage tiff   scanimage --batch --format=tiff (uncompressed TIFF)
#   mailroom         mailroom-scan --batch --separation none: device process, every
#                    page to its own Deflate page file (fsync once at the end) and
#                    an analysis image (blank score), one letter scan.tiff (the
#                    page files' strips copied) + job.json, submitted to classify,
#                    the batch record kept
#   mailroom pages:10  the same split into letters of 10 pages
# A warm-up of 5 pages each comes first. Overhead per page = (mailroom -
# scanimage pnm) / PAGES. Outputs are checked: PAGES files from scanimage; the
# letters' page counts and page digests (scan_pagecheck) from mailroom.
# Work files go to BENCH_WORK (default BUILD/bench-work/scan, on disk); the report
# to BENCH_WORK/report.txt.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$top/$build" ;; esac
pages=${PAGES:-100}
picture=${PICTURE:-Grid}
bin=$build/bin
for tool in scanimage timeout tiffinfo jq; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "bench-scan: $tool not found (sh scripts/deps.sh installs it)" >&2
		exit 69
	}
done
for b in mailroom-scan mailroom-bench-run; do
	[ -x "$bin/$b" ] || { echo "bench-scan: $bin/$b not built (make build)" >&2; exit 69; }
done
[ -x "$build/tests/scan_pagecheck" ] || { echo "bench-scan: $build/tests/scan_pagecheck not built" >&2; exit 69; }
work=${BENCH_WORK:-$build/bench-work/scan}
report=$work/report.txt
mkdir -p "$work"
T=$(mktemp -d "$work/run.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
cp -r "$top/conf" "$T/conf"
export SANE_CONFIG_DIR="$T/conf/sane" MAILROOM_VAR="$T/var"
unset MAILROOM_CONF MAILROOM_FAULT
res=$T/results.txt
: >"$res"

si() { # LABEL FORMAT N DIR
	mkdir -p "$4"
	timeout 600 "$bin/mailroom-bench-run" -o "$res" -l "$1" -- scanimage -d test --source Flatbed \
		--mode Gray --depth 8 --resolution 300 --test-picture "$picture" -l 0 -t 0 -x 200 -y 200 \
		--format="$2" --batch="$4/p%04d.$2" --batch-count="$3" >/dev/null 2>"$T/si.err" || {
		echo "bench-scan: scanimage failed or hung: $(tail -2 "$T/si.err")" >&2
		exit 1
	}
	n=$(ls "$4" | wc -l)
	[ "$n" -eq "$3" ] || { echo "bench-scan: scanimage wrote $n of $3 pages" >&2; exit 1; }
}
mr() { # LABEL N SEPARATION
	rm -rf "$T/var"
	timeout 900 "$bin/mailroom-bench-run" -o "$res" -l "$1" -- "$bin/mailroom-scan" -c "$T/conf" \
		--sane test --batch --source Flatbed --pages "$2" --mode Gray --depth 8 --resolution 300 \
		--page-size 200x200 --sane-option "test-picture=$picture" --separation "$3" \
		</dev/null 2>"$T/mr.err" || {
		echo "bench-scan: mailroom-scan failed: $(tail -3 "$T/mr.err")" >&2
		exit 1
	}
	got=0
	for l in "$T/var/spool/classify/incoming"/*; do
		"$build/tests/scan_pagecheck" "$l" >/dev/null || { echo "bench-scan: $l: page digests" >&2; exit 1; }
		got=$((got + $(jq .capture.page_count "$l/job.json")))
	done
	[ "$got" -eq "$2" ] || { echo "bench-scan: mailroom captured $got of $2 pages" >&2; exit 1; }
	du -sk "$T/var/spool/classify/incoming" | cut -f1 >"$T/$1.kb"
	du -sk "$T/var/spool/scan/batches" | cut -f1 >"$T/$1.batch.kb"
}

# warm-up (page cache, shared libraries), not reported
si warm pnm 5 "$T/w1"
mr warm 5 none
rm -rf "$T/w1"
: >"$res"
si "scanimage-pnm" pnm "$pages" "$T/si-pnm"
pnm_kb=$(du -sk "$T/si-pnm" | cut -f1)
rm -rf "$T/si-pnm"
si "scanimage-tiff" tiff "$pages" "$T/si-tiff"
tiff_kb=$(du -sk "$T/si-tiff" | cut -f1)
rm -rf "$T/si-tiff"
mr "mailroom" "$pages" none
mr "mailroom-pages10" "$pages" pages:10

{
	echo "bench-scan: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n), $(nproc) cores," \
		"$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "$(scanimage --version | head -1); SANE test backend, Flatbed, Gray 8 bit, 300 dpi," \
		"200 x 200 mm (2362 x 2362), test-picture $picture, $pages pages; work on $work"
	awk -v n="$pages" -v pk="$pnm_kb" -v tk="$tiff_kb" -v mk="$(cat "$T/mailroom.kb")" \
		-v bk="$(cat "$T/mailroom.batch.kb")" '
	{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[$1, kv[1]] = kv[2] }
		order[++m] = $1
	}
	END {
		printf "\n%-18s %9s %9s %9s %9s %10s\n", "", "wall s", "ms/page", "CPU s", "CPU ms/pg", "peak MB"
		for (i = 1; i <= m; i++) {
			l = order[i]
			printf "%-18s %9.3f %9.2f %9.3f %9.2f %10.1f\n", l, v[l, "wall"], 1000 * v[l, "wall"] / n,
				v[l, "cpu"], 1000 * v[l, "cpu"] / n, v[l, "maxrss_mb"]
		}
		printf "\noverhead of mailroom-scan per page over scanimage --batch (pnm): %.2f ms wall, %.2f ms CPU\n",
			1000 * (v["mailroom", "wall"] - v["scanimage-pnm", "wall"]) / n,
			1000 * (v["mailroom", "cpu"] - v["scanimage-pnm", "cpu"]) / n
		printf "  (over scanimage tiff: %.2f ms wall; split into letters of 10: %.2f ms wall)\n",
			1000 * (v["mailroom", "wall"] - v["scanimage-tiff", "wall"]) / n,
			1000 * (v["mailroom-pages10", "wall"] - v["scanimage-pnm", "wall"]) / n
		printf "output: scanimage pnm %.1f MB, tiff %.1f MB; mailroom letters %.1f MB (Deflate) + batch record %.1f MB (page files, Deflate, copied into the letters strip by strip)\n",
			pk / 1024, tk / 1024, mk / 1024, bk / 1024
	}' "$res"
} | tee "$report"
echo "(report in $report)"
