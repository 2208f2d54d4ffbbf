#!/bin/sh
# run.sh BUILD - the end-to-end pipeline benchmark (make bench-pipeline).
#
# Over the 20 pages of ../shared/ocr-pages (300 dpi TIFFs with their exact text in
# gt_NN.txt), in one run on this machine:
#   mailroom     the real binaries on a temporary tree with a test PKI
#                (scripts/pki.sh) and the shipped conf/: mailroom-scan --import,
#                mailroom-classify (early type decision, full OCR to text +
#                searchable PDF; conf/classify.yaml workers: auto = one worker
#                process with its own engine per core), mailroom-sign (seal),
#                mailroom-dms-export (xdomea package), each --once, one after
#                the other;
#   tesseract    the bare CLI, "tesseract PAGE OUT -l deu+eng", OMP_THREAD_LIMIT=1,
#                two pages at a time (xargs -P2) on the 2 cores;
#   OCRmyPDF     "ocrmypdf --output-type pdf --jobs 2 -l deu+eng" on one 20-page
#                TIFF (tiffcp), as shipped (its own thread settings), with
#                --sidecar for the text.
# Wall time and CPU (user+sys of every process, getrusage(RUSAGE_CHILDREN) through
# BUILD/bin/mailroom-bench-run), pages per minute, CPU per page, and OCR word
# recall against gt_NN.txt (the share of the ground truth's words, counted with
# multiplicity and stripped of punctuation, that the OCR text contains).
# Skips with a message (exit 0) when ../shared/ocr-pages is absent; an absent
# ocrmypdf only drops its row. KEEP=1 keeps the temporary tree.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$top/$build" ;; esac
shared=${MAILROOM_SHARED:-$top/../shared}
pages=$shared/ocr-pages
bin=$build/bin
run=$bin/mailroom-bench-run

if [ ! -f "$pages/page_01.tif" ]; then
	echo "bench-pipeline: SKIPPED: no OCR pages at $pages (the shared test material is not beside this checkout; set MAILROOM_SHARED)"
	exit 0
fi
for tool in tesseract tiffcp jq xargs; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "bench-pipeline: $tool not found (sh scripts/deps.sh installs it)" >&2
		exit 69
	}
done
for b in mailroom-bench-run mailroom-scan mailroom-classify mailroom-sign mailroom-dms-export; do
	[ -x "$bin/$b" ] || { echo "bench-pipeline: $bin/$b not built (make build)" >&2; exit 69; }
done

T=$(mktemp -d /tmp/mailroom-bench.XXXXXX)
tsas=""
cleanup() {
	for v in $tsas; do MAILROOM_BIN=$bin sh "$top/scripts/tsa.sh" stop "$v" >/dev/null 2>&1; done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
times=$T/times
report=${BENCH_WORK:-$build/bench-work/pipeline}/report.txt # BENCH_WORK: elsewhere (the smoke test)
mkdir -p "$(dirname "$report")" "$T/pages"
: >"$times"
# BENCH_PAGES=N takes the first N pages only (a quick try; the figures want all 20).
n=0
for p in "$pages"/page_*.tif; do
	[ -f "${p%/page_*}/gt_$(basename "$p" .tif | sed 's/page_//').txt" ] || continue
	cp "$p" "$T/pages/"
	n=$((n + 1))
	[ "$n" -lt "${BENCH_PAGES:-1000}" ] || break
done
(cd "$T/pages" && ls page_*.tif) >"$T/list"

# tree DIR: a mailroom installation for the benchmark: conf copy, var, test PKI.
tree() {
	mkdir -p "$1/var/import"
	cp -r "$top/conf" "$1/conf"
	sed -i "s/^  stable_seconds: .*/  stable_seconds: 0/" "$1/conf/scan.yaml"
	sed -i "s|^xsd:.*|xsd: $shared/xsd/xdomea_3.0.0/xdomea.xsd|" "$1/conf/export.yaml"
	sh "$top/scripts/pki.sh" "$1/var" >/dev/null
	# the TEST TSA of this tree (CAdES-B-T letters), on a free port
	url=$(MAILROOM_BIN=$bin sh "$top/scripts/tsa.sh" start "$1/var" 0)
	sed -i "s|^  url: .*|  url: $url|" "$1/conf/signing.yaml"
	tsas="$tsas $1/var"
}
# stages DIR LABEL: run the four stages --once on the tree, each timed.
stages() {
	for s in scan classify sign dms-export; do
		extra=""
		if [ $s = scan ]; then extra="--import $1/var/import"; fi
		# shellcheck disable=SC2086 # $extra is two words or none; paths have no blanks
		MAILROOM_VAR=$1/var "$run" -o "$times" -l "$2:$s" -- \
			"$bin/mailroom-$s" -c "$1/conf" --once $extra 2>>"$T/stages.log" || {
			echo "bench-pipeline: mailroom-$s failed on $1 (log: $T/stages.log)" >&2
			KEEP=1
			exit 70
		}
	done
}
# field LABEL KEY: a figure from the times file (summed over lines starting with LABEL).
field() {
	awk -v l="$1" -v k="$2" '
		index($1, l) == 1 { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) s += kv[2] } }
		END { printf "%.3f", s }' "$times"
}
# recall GT OCR: "matched total" words of GT found in OCR (multiset, punctuation stripped).
recall() {
	awk '
		function norm(w) { gsub(/^[][(){}.,;:!?"'"'"'`\/|*+-]+|[][(){}.,;:!?"'"'"'`\/|*+-]+$/, "", w); return w }
		FNR == 1 { f++ }
		{ for (i = 1; i <= NF; i++) { w = norm($i); if (w == "") continue; if (f == 1) gt[w]++; else ocr[w]++ } }
		END { for (w in gt) { t += gt[w]; m += (ocr[w] < gt[w] ? ocr[w] : gt[w]) } print m + 0, t + 0 }' "$1" "$2"
}
# recall_dir DIR: summed recall over the pages, DIR/page_NN.txt holding each page's OCR text.
recall_dir() {
	m=0 t=0
	for p in $(cat "$T/list"); do
		nn=${p#page_}
		nn=${nn%.tif}
		f=$1/page_$nn.txt
		[ -f "$f" ] || f=/dev/null
		r=$(recall "$pages/gt_$nn.txt" "$f")
		m=$((m + ${r% *})) t=$((t + ${r#* }))
	done
	awk -v m=$m -v t=$t 'BEGIN { printf "%.4f (%d of %d words)", t ? m / t : 0, m, t }'
}

echo "bench-pipeline: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n), $(nproc) cores," \
	"$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$report"
echo "pages: $n from $pages; $(tesseract --version 2>&1 | head -1)" | tee -a "$report"

# 1. mailroom: the four stages --once, one after the other (classify with its workers).
echo "running mailroom (4 stages, --once each) ..." >&2
tree "$T/mr"
cp "$T"/pages/*.tif "$T/mr/var/import/"
stages "$T/mr" mailroom
mkdir -p "$T/mr/ocr"
delivered=0 review=0
for j in "$T"/mr/var/archive/*/job.json "$T"/mr/var/spool/review/incoming/*/job.json; do
	[ -e "$j" ] || continue
	case $j in */archive/*) delivered=$((delivered + 1)) ;; *) review=$((review + 1)) ;; esac
	src=$(jq -r '.source.file // empty' "$j")
	[ -n "$src" ] && [ -f "$(dirname "$j")/ocr.txt" ] && cp "$(dirname "$j")/ocr.txt" "$T/mr/ocr/${src%.tif}.txt"
done
corrupt=$(find "$T"/mr/var/spool/*/corrupt -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
packages=$(find "$T"/mr/var/vis-inbox -name '*.zip' 2>/dev/null | wc -l)
slips=$(find "$T"/mr/var/routing -type f 2>/dev/null | wc -l)

# 3. the bare tesseract CLI, two pages at a time.
echo "running the tesseract CLI (xargs -P2) ..." >&2
mkdir -p "$T/cli"
"$run" -o "$times" -l cli -- sh -c "cd '$T/pages' && xargs -P2 -I{} env OMP_THREAD_LIMIT=1 \
	tesseract {} '$T/cli/{}' -l deu+eng <'$T/list' >/dev/null 2>&1"
for f in "$T"/cli/*.tif.txt; do mv "$f" "${f%.tif.txt}.txt"; done

# 4. OCRmyPDF, one 20-page document, --jobs 2.
if command -v ocrmypdf >/dev/null 2>&1; then
	echo "running OCRmyPDF (--jobs 2) ..." >&2
	mkdir -p "$T/omp"
	tiffcp "$T"/pages/page_*.tif "$T/omp/in.tif"
	"$run" -o "$times" -l ocrmypdf -- ocrmypdf -q --output-type pdf --jobs 2 -l deu+eng \
		--sidecar "$T/omp/side.txt" "$T/omp/in.tif" "$T/omp/out.pdf" || echo "bench-pipeline: ocrmypdf failed" >&2
	i=0
	for p in $(cat "$T/list"); do
		i=$((i + 1))
		awk -v RS='\f' -v n=$i 'NR == n { print; exit }' "$T/omp/side.txt" >"$T/omp/${p%.tif}.txt"
	done
	have_omp=1
else
	echo "bench-pipeline: ocrmypdf not installed (apt-get install ocrmypdf); its row is left out" | tee -a "$report"
	have_omp=0
fi

# The table.
mr_wall=$(field mailroom: wall)
mr_cpu=$(field mailroom: cpu)
cli_wall=$(field cli wall)
cli_cpu=$(field cli cpu)
{
	echo
	printf '%-34s %9s %9s %10s %10s  %s\n' "" "wall s" "CPU s" "pages/min" "CPU/page" "OCR word recall"
	row() { # name wall cpu recall
		awk -v name="$1" -v w="$2" -v c="$3" -v n="$n" -v r="$4" 'BEGIN {
			printf "%-34s %9.1f %9.1f %10.1f %10.2f  %s\n", name, w, c, n * 60 / w, c / n, r }'
	}
	row "mailroom (stage after stage)" "$mr_wall" "$mr_cpu" "$(recall_dir "$T/mr/ocr")"
	for s in scan classify sign dms-export; do
		printf '  %-32s %9.1f %9.1f %10s %10.2f\n' "$s" "$(field mailroom:$s wall)" \
			"$(field mailroom:$s cpu)" "" "$(awk -v c="$(field mailroom:$s cpu)" -v n=$n 'BEGIN { print c / n }')"
	done
	row "tesseract CLI (-P2, OMP 1 thread)" "$cli_wall" "$cli_cpu" "$(recall_dir "$T/cli")"
	if [ $have_omp = 1 ]; then
		row "OCRmyPDF --jobs 2" "$(field ocrmypdf wall)" "$(field ocrmypdf cpu)" "$(recall_dir "$T/omp")"
	fi
	echo
	echo "mailroom outcome: $delivered archived ($packages packages, $slips routing slips), $review in review, $corrupt quarantined, of $n"
	echo
	echo "Targets (issue 3):"
	if [ $have_omp = 1 ]; then
		awk -v a="$mr_wall" -v b="$(field ocrmypdf wall)" 'BEGIN {
			printf "  pages/min vs OCRmyPDF: %.2fx (target >= 5x) -> %s\n",
				b / a, (b / a >= 5 ? "met" : "NOT met") }'
	fi
	awk -v a="$mr_cpu" -v b="$cli_cpu" 'BEGIN {
		printf "  CPU/page vs the bare CLI: %.2fx (target <= 1.25x) -> %s\n", a / b, (a / b <= 1.25 ? "met" : "NOT met") }'
	mr_r=$(recall_dir "$T/mr/ocr")
	cli_r=$(recall_dir "$T/cli")
	awk -v a="${mr_r%% *}" -v b="${cli_r%% *}" -v ar="$mr_r" -v br="$cli_r" 'BEGIN {
		printf "  OCR word recall: mailroom %s, CLI %s (must not be worse) -> %s\n", ar, br,
			(a + 0 >= b + 0 ? "met" : "NOT met") }'
} | tee -a "$report"
echo "(figures also in $report)"
