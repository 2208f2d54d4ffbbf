#!/bin/bash
# bench_smoke.sh - the benchmarks still run and print their figures: bench/classify
# on the first 2 corpus documents (clean and rot180, with the tesseract CLI) and
# bench/pipeline on the first 2 OCR pages, both into a temporary directory (the
# real reports in <build>/bench-work are left alone). Figures from so few pages
# mean nothing; `make bench-classify` / `make bench-pipeline` give them.
set -u
: "${MAILROOM_SOURCE:?run through ctest}" "${MAILROOM_BIN:?run through ctest}"
failures=0
fail() { failures=$((failures + 1)); echo "FAIL: $*" >&2; }
SHARED=${MAILROOM_SHARED:-$MAILROOM_SOURCE/../shared}
[ -f "$SHARED/corpus/PAGES.tsv" ] && [ -f "$SHARED/ocr-pages/page_01.tif" ] || {
	echo "SKIP: the shared test material ($SHARED/corpus, $SHARED/ocr-pages) is absent"
	exit 77
}
build=$(cd "$MAILROOM_BIN/.." && pwd)
W=$(mktemp -d /tmp/bench_smoke.XXXXXX)
trap 'rm -rf "$W"' EXIT

BENCH_WORK=$W/classify BENCH_DOCS=2 MAILROOM_SHARED=$SHARED \
	sh "$MAILROOM_SOURCE/bench/classify/run.sh" "$build" --variants clean,rot180 >"$W/c.out" 2>&1 ||
	{ cat "$W/c.out"; fail "bench/classify/run.sh failed"; }
r=$W/classify/report.txt
[ -s "$r" ] || fail "bench/classify wrote no report"
grep -q '^corpus: .*(2 documents' "$r" || fail "bench/classify did not take 2 documents: $(grep corpus: "$r")"
grep -q 'early pass (page 1 at about 120 dpi' "$r" || fail "no early-pass CPU figure against the CLI"
grep -q 'precision on decided documents' "$r" || fail "no precision figure"
grep -q 'RSS peak' "$r" || fail "no RSS figure"
[ "$(tail -n +2 "$W/classify/results.tsv" | wc -l)" -eq 4 ] || fail "expected 4 result rows (2 documents x 2 variants)"
awk -F '\t' 'NR > 1 && ($11 < 0 || $10 <= 0) { bad = 1 } END { exit bad }' "$W/classify/results.tsv" ||
	fail "a result row lacks the classify or the CLI CPU"

BENCH_WORK=$W/pipeline BENCH_PAGES=2 MAILROOM_SHARED=$SHARED \
	sh "$MAILROOM_SOURCE/bench/pipeline/run.sh" "$build" >"$W/p.out" 2>&1 ||
	{ cat "$W/p.out"; fail "bench/pipeline/run.sh failed"; }
r=$W/pipeline/report.txt
[ -s "$r" ] || fail "bench/pipeline wrote no report"
grep -q '^mailroom (stage after stage)' "$r" || fail "no mailroom row"
grep -q '^tesseract CLI' "$r" || fail "no CLI row"
grep -q 'in review, 0 quarantined, of 2$' "$r" || fail "the 2 pages did not go through: $(grep outcome "$r")"
grep -q 'CPU/page vs the bare CLI' "$r" || fail "no CPU target line"

[ $failures -eq 0 ] || { cat "$W/c.out" "$W/p.out" >&2; echo "$failures failure(s)" >&2; exit 1; }
echo "benchmarks run and report"
