#!/bin/sh
# fuzz.sh - run the libFuzzer targets of fuzz/ (issue 8): build build-fuzz with
# clang-14 (-DMAILROOM_FUZZ=ON: libFuzzer, ASan, UBSan), then run each target
# for FUZZ_SECONDS on a copy of its corpus, one at a time, and print per target
# the executions, exec/s, coverage (cov: edges, ft: features) and what it found.
#
#   FUZZ_SECONDS=60        seconds per target (-max_total_time)
#   FUZZ_TARGETS="tiff job" the targets to run (default: every fuzz/fuzz_*.c)
#   FUZZ_MERGE=1           merge the inputs that add coverage back into
#                          fuzz/corpus/<name>/ (-merge=1: only new coverage)
#   FUZZ_MINIMIZE=1        rewrite fuzz/corpus/<name>/ as the minimal set of its
#                          own files with the same coverage (-merge=1), no fuzzing
#   FUZZ_BUILD=build-fuzz  the build directory; FUZZ_WORK: where runs keep their
#                          corpus copies and logs (default a temporary directory)
#
# Limits of every run: -rss_limit_mb=2048 -timeout=10 (a slower input is a hang).
# A crash, leak, timeout or out-of-memory ends that target's run; its input is
# copied to fuzz/regressions/<name>/ named <kind>-<what>-<function>-<sha1:8>
# (e.g. crash-SEGV-job_read-1a2b3c4d), so ctest replays it from then on (see
# fuzz/README.md). Installs nothing beyond scripts/deps.sh.
#
# EXIT STATUS: 0 nothing found; 1 a target found something; 2 build failure.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_PER=${FUZZ_SECONDS:-60}
B=${FUZZ_BUILD:-$top/build-fuzz}
case $SECONDS_PER in '' | *[!0-9]*) echo "fuzz.sh: FUZZ_SECONDS must be a number" >&2; exit 64 ;; esac
if [ -n "${FUZZ_TARGETS:-}" ]; then
	TARGETS=$FUZZ_TARGETS
else
	TARGETS=$(cd "$top/fuzz" && ls fuzz_*.c | sed -e 's/^fuzz_//' -e 's/\.c$//' | grep -v '^util$')
fi
CC_FUZZ=${CC_FUZZ:-clang-14}
command -v "$CC_FUZZ" >/dev/null 2>&1 || { echo "fuzz.sh: $CC_FUZZ not found (scripts/deps.sh installs it)" >&2; exit 2; }

if ! { CC=$CC_FUZZ cmake -S "$top" -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAILROOM_FUZZ=ON >"$top/.fuzz-cmake.log" 2>&1 &&
	cmake --build "$B" -j2 --target fuzz_targets >>"$top/.fuzz-cmake.log" 2>&1; }; then
	tail -30 "$top/.fuzz-cmake.log" >&2
	echo "fuzz.sh: the fuzz build failed (log: .fuzz-cmake.log)" >&2
	exit 2
fi
rm -f "$top/.fuzz-cmake.log"

if [ -n "${FUZZ_WORK:-}" ]; then
	W=$FUZZ_WORK
	mkdir -p "$W"
else
	W=$(mktemp -d "${TMPDIR:-/tmp}/mailroom-fuzz-run.XXXXXX")
	trap 'rm -rf "$W"' EXIT INT TERM
fi
# scratch files of the targets on tmpfs when there is one
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
export MAILROOM_SOURCE="$top"
export MAILROOM_SHARED="${MAILROOM_SHARED:-$top/../shared}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$top/fuzz/lsan.supp}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# name_of BIN ARTIFACT: <kind>-<what>-<function>, from libFuzzer's file name and
# the sanitizer's report of a second run on the artifact with full stacks (so a
# leak allocated inside a library still names the project's function).
name_of() {
	kind=$(basename "$2" | sed 's/-.*//')
	ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0" "$1" -rss_limit_mb=2048 -timeout=10 \
		"$2" >"$2.replay" 2>&1 || true
	what=$(sed -n -e 's/.*ERROR: AddressSanitizer: \([a-zA-Z-]*\).*/\1/p' \
		-e 's/.*ERROR: LeakSanitizer: detected memory leaks.*/leak/p' \
		-e 's/.*runtime error: \([a-z]*\( [a-z]*\)\{0,2\}\).*/ub-\1/p' \
		-e 's/.*ERROR: libFuzzer: \([a-z-]*\).*/\1/p' "$2.replay" | head -1 | tr ' ' '-')
	[ "$what" = "$kind" ] && what=""
	fn=$(sed -n 's/.* in \([A-Za-z_][A-Za-z0-9_]*\) [^ ]*\/\(util\|common\|scan\|classify\|sign\|tools\|dms-export\)\/[A-Za-z0-9_]*\.c:.*/\1/p' \
		"$2.replay" | head -1)
	rm -f "$2.replay"
	echo "$kind${what:+-$what}${fn:+-$fn}"
}

status=0
printf '%-12s %10s %8s %7s %7s %6s  %s\n' target execs exec/s cov ft corpus found
for t in $TARGETS; do
	bin=$B/bin/fuzz_$t
	[ -x "$bin" ] || { echo "fuzz.sh: no target $t" >&2; status=1; continue; }
	seeds=$top/fuzz/corpus/$t
	regr=$top/fuzz/regressions/$t
	mkdir -p "$seeds" "$regr"
	if [ "${FUZZ_MINIMIZE:-0}" = 1 ]; then
		rm -rf "$W/$t.min"
		mkdir -p "$W/$t.min"
		"$bin" -merge=1 -rss_limit_mb=2048 -timeout=10 "$W/$t.min" "$seeds" >"$W/$t.min.log" 2>&1
		before=$(find "$seeds" -type f ! -name '.*' | wc -l)
		find "$seeds" -type f ! -name '.*' -delete
		cp "$W/$t.min"/* "$seeds/" 2>/dev/null || true
		echo "$t: corpus minimised, $before -> $(find "$seeds" -type f ! -name '.*' | wc -l) files"
		continue
	fi
	rm -rf "$W/$t"
	mkdir -p "$W/$t/corpus" "$W/$t/artifacts"
	cp -R "$seeds/." "$W/$t/corpus/"
	log=$W/$t/fuzz.log
	"$bin" -max_total_time="$SECONDS_PER" -rss_limit_mb=2048 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$W/$t/artifacts/" \
		"$W/$t/corpus" "$regr" >"$log" 2>&1 || true
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	ncorp=$(find "$W/$t/corpus" -type f | wc -l)
	found=""
	for a in "$W/$t/artifacts"/*; do
		[ -f "$a" ] || continue
		sum=$(sha1sum "$a" | cut -c1-8)
		case $a in *.replay) continue ;; esac
		name="$(name_of "$bin" "$a")-$sum"
		cp "$a" "$regr/$name"
		cp "$log" "$W/$t/$name.log"
		found="$found $name"
		status=1
	done
	printf '%-12s %10s %8s %7s %7s %6s  %s\n' "$t" "${execs:-?}" "${eps:-?}" "${cov:-?}" \
		"${ft:-?}" "$ncorp" "${found:-none}"
	if [ -n "$found" ]; then
		grep -E 'ERROR|SUMMARY|runtime error|#[0-9] ' "$log" | head -20 | sed 's/^/    /'
		echo "    regression file(s) in fuzz/regressions/$t/; full log: $W/$t/fuzz.log (kept with FUZZ_WORK)"
	fi
	if [ "${FUZZ_MERGE:-0}" = 1 ]; then
		"$bin" -merge=1 -rss_limit_mb=2048 -timeout=10 "$seeds" "$W/$t/corpus" >"$W/$t/merge.log" 2>&1 || true
		echo "    merged: $(grep -o 'added [0-9]* new units' "$W/$t/merge.log" | tail -1)"
	fi
done
exit $status
