#!/bin/sh
# run.sh BUILD [options] - the classify benchmark (make bench-classify).
#
# Renders every page of ../shared/corpus listed in PAGES.tsv at 300 dpi
# (pdftoppm -gray, LZW TIFF; the JPEG scans are used as they are), labels each
# document from LABELS.tsv, and runs BUILD/bin/mailroom-bench-classify over them
# in five variants (clean, noise, skew, rot90, rot180) with the tesseract CLI on
# the same pages. Options go to the program, e.g. "--pages 1000" for the RSS soak,
# "--variants clean" or "--no-cli". Renders and variants are cached in
# BUILD/bench-work/classify/; the report is also written to
# BUILD/bench-work/classify/report.txt (report-soak.txt for --pages; per-document
# rows: results.tsv).
# BENCH_DOCS=N takes the first N documents only (the smoke test in ctest; the
# figures want all of them).
# Skips with a message (exit 0) when ../shared/corpus is absent.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
[ $# -gt 0 ] && shift
case $build in /*) ;; *) build="$top/$build" ;; esac
shared=${MAILROOM_SHARED:-$top/../shared}
corpus=$shared/corpus
bin=$build/bin/mailroom-bench-classify

if [ ! -f "$corpus/PAGES.tsv" ] || [ ! -f "$corpus/LABELS.tsv" ]; then
	echo "bench-classify: SKIPPED: no corpus at $corpus (the shared test material is not beside this checkout; set MAILROOM_SHARED)"
	exit 0
fi
for tool in pdftoppm tesseract; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "bench-classify: $tool not found (sh scripts/deps.sh installs it)" >&2
		exit 69
	}
done
[ -x "$bin" ] || { echo "bench-classify: $bin not built (make build, or cmake --build $build)" >&2; exit 69; }

work=${BENCH_WORK:-$build/bench-work/classify} # BENCH_WORK: elsewhere (the smoke test)
mkdir -p "$work/render"
manifest=$work/manifest.tsv
: >"$manifest"
tab=$(printf '\t')
# PAGES.tsv: file page page_type document_type; the document's label is LABELS.tsv's.
ndocs=0
last=
tail -n +2 "$corpus/PAGES.tsv" | while IFS="$tab" read -r file page _ _; do
	if [ "$file" != "$last" ]; then
		ndocs=$((ndocs + 1))
		last=$file
		[ "$ndocs" -le "${BENCH_DOCS:-100000}" ] || break
	fi
	label=$(awk -F "$tab" -v f="$file" '$1 == f { print $2; exit }' "$corpus/LABELS.tsv")
	[ -n "$label" ] || { echo "bench-classify: $file has no label in LABELS.tsv" >&2; exit 65; }
	case $file in
	*.pdf | *.PDF)
		out=$work/render/$(printf '%s' "$file" | tr -c 'A-Za-z0-9._-' '_')_p$page
		if [ ! -s "$out.tif" ]; then
			pdftoppm -r 300 -gray -tiff -tiffcompression lzw -f "$page" -l "$page" \
				-singlefile "$corpus/$file" "$out"
		fi
		img=$out.tif
		;;
	*) img=$corpus/$file ;; # scans (JPEG) as they are
	esac
	printf '%s\t%s\t%s\n' "$file" "$label" "$img" >>"$manifest"
done

report=$work/report.txt
for a in "$@"; do case $a in --pages*) report=$work/report-soak.txt ;; esac; done
{
	echo "bench-classify: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n), $(nproc) cores," \
		"$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "corpus: $corpus ($(cut -f1 "$manifest" | sort -u | wc -l) documents, $(wc -l <"$manifest") pages)"
	echo "tesseract CLI: $(tesseract --version 2>&1 | head -1), OMP_THREAD_LIMIT=1"
} | tee "$report"
OMP_THREAD_LIMIT=1 "$bin" -c "$top/conf" --manifest "$manifest" --work "$work/variants" \
	--tsv "$work/results.tsv" "$@" | tee -a "$report"
