#!/bin/sh
# make-seeds.sh [BUILD] - (re)make the seed corpora fuzz/corpus/<name>/ from the
# project's own material: conf/, tests/data/, scripts/pki.sh, the test TSA
# (scripts/tsa.sh), the evidence-record builder (fuzz_seed_ers) and images made
# with ghostscript and the libtiff tools. Nothing is taken from ../shared.
# Existing seeds are replaced by the ones made here; inputs that scripts/fuzz.sh
# merged into a corpus (files named by their SHA-1) are kept.
#
# BUILD: the normal build directory (default build/) with mailroom-test-tsa and
# tests/fuzz_seed_ers. Needs openssl, curl, jq, gs, tiffcp, zip.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$top/build}
C=$top/fuzz/corpus
T=$(mktemp -d "${TMPDIR:-/tmp}/mailroom-seeds.XXXXXX")
trap 'MAILROOM_BIN=$BUILD/bin sh "$top/scripts/tsa.sh" stop "$T" >/dev/null 2>&1 || true; rm -rf "$T"' EXIT INT TERM
for n in tiff import conf scankonzept job tsa cades receipt sep ers; do
	mkdir -p "$C/$n" "$top/fuzz/regressions/$n"
done
CONTENT="mailroom fuzz content
" # the fixed content of fuzz_cades.c and fuzz_ers.c
printf '%s' "$CONTENT" >"$T/content"

# --- sep: payloads as `mailroom sheets` prints them, and near misses
i=0
for p in 'MAILROOM-SEP/1;batch=B-2026-11-22_01;sheet=1' \
	'MAILROOM-SEP/1;batch=abc;sheet=999999;type=widerspruch;office=bauamt' \
	'MAILROOM-SEP/1;batch=x;sheet=42;office=ordnungsamt' \
	'MAILROOM-SEP/2;batch=x;sheet=1' 'MAILROOM-SEP/1;batch=x;sheet=01' \
	'https://example.org/not-ours'; do
	i=$((i + 1))
	printf '%s' "$p" >"$C/sep/seed-$i"
done

# --- conf and scankonzept: the shipped configuration
for f in "$top"/conf/*.yaml; do
	cp "$f" "$C/conf/seed-$(basename "$f")"
done
cp "$top/conf/scankonzept.yaml" "$C/scankonzept/seed-scankonzept.yaml"
printf 'anchor: &a [1]\nalias: *a\n' >"$C/conf/seed-alias.yaml"

# --- job: the test records, made to match fuzz_job.c's job (id, one payload file)
id=20260101T000000Z-fuzz0001
sha=$(printf 'fuzz\n' | sha256sum | cut -d' ' -f1)
for f in "$top"/tests/data/export/job-*.json "$top"/tests/data/sign/tv-job.json; do
	jq --arg id "$id" --arg sha "$sha" \
		'del(.end, .files) | .format = "mailroom-job/1" | .id = $id
		 | .files = {"ocr.txt": {"sha256": $sha, "size": 5}} | .end = "mailroom-job/1"' \
		"$f" >"$C/job/seed-$(basename "$f")"
done

# --- receipt: the test receipts of dms-export
cp "$top"/tests/data/export/receipts/*.xml "$C/receipt/"
for f in "$top"/tests/data/export/receipts/*.xml; do # as a container (.zip)
	rm -f "$C/receipt/seed-$(basename "$f" .xml).zip"
	zip -q -j -X "$C/receipt/seed-$(basename "$f" .xml).zip" "$f"
done

# --- tiff and import: pages as the scanner and importers produce them
# ghostscript renders a small page into every format (no ImageMagick needed)
PAGE='/Helvetica findfont 14 scalefont setfont 4 20 moveto (Amt 12345) show 0.5 setgray 2 2 30 10 rectfill showpage'
render() { # render DEVICE OUT [gs options]
	dev=$1
	out=$2
	shift 2
	gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE="$dev" -r24 -dDEVICEWIDTHPOINTS=100 \
		-dDEVICEHEIGHTPOINTS=60 "$@" -sOutputFile="$out" -c "$PAGE"
}
render tiffg4 "$T/bw.tif"
render tiffgray "$T/gray.tif"
render tiff24nc "$T/rgb.tif"
render tiff48nc "$T/rgb16.tif"
render tifflzw "$T/lzw.tif"
render tiffpack "$T/packbits.tif"
tiffcp "$T/bw.tif" "$T/gray.tif" "$T/rgb.tif" "$T/multi.tif"
tiffcp -t -w 16 -l 16 "$T/gray.tif" "$T/tiled.tif"
tiffcp -c zip "$T/rgb.tif" "$T/zip.tif"
tiffcp -p separate "$T/rgb.tif" "$T/planar.tif"
tiffcp -c jpeg "$T/rgb.tif" "$T/jpeg.tif"
for f in bw gray rgb rgb16 lzw packbits multi tiled zip planar jpeg; do
	cp "$T/$f.tif" "$C/tiff/seed-$f.tif"
done
cp "$T/multi.tif" "$C/import/seed-multi.tif"
cp "$T/jpeg.tif" "$C/import/seed-jpeg.tif"
render pnggray "$C/import/seed-gray.png"
render pngalpha "$C/import/seed-rgba.png"
render pngmono "$C/import/seed-bw.png"
render png16m "$C/import/seed-rgb.png"
render jpeg "$C/import/seed-rgb.jpg" -dJPEGQ=70
render jpeggray "$C/import/seed-gray.jpg"
gs -q -dNOPAUSE -dBATCH -sDEVICE=pdfwrite -dDEVICEWIDTHPOINTS=144 -dDEVICEHEIGHTPOINTS=100 \
	-sOutputFile="$C/import/seed-text.pdf" \
	-c '/Helvetica findfont 12 scalefont setfont 10 50 moveto (Widerspruch) show showpage' \
	-c '10 10 moveto 100 80 lineto stroke showpage'

# --- tsa, cades, ers: the test PKI and the test TSA
sh "$top/scripts/pki.sh" "$T" >/dev/null
url=$(MAILROOM_BIN=$BUILD/bin sh "$top/scripts/tsa.sh" start "$T" 0)
stamp() { # stamp OUT QUERY-ARGS...: TimeStampResp for a query into OUT
	out=$1
	shift
	openssl ts -query "$@" -sha256 -cert -out "$T/q.tsq" 2>/dev/null
	curl -s -f -H 'Content-Type: application/timestamp-query' --data-binary @"$T/q.tsq" \
		-o "$out" "$url"
}
stamp "$C/tsa/seed-reply.tsr" -data "$T/content"
stamp "$T/nocert.tsr" -data "$T/content" -no_nonce
cp "$T/nocert.tsr" "$C/tsa/seed-reply-nononce.tsr"
openssl ts -reply -in "$C/tsa/seed-reply.tsr" -token_out -out "$C/tsa/seed-token.der" 2>/dev/null
# a rejection as the TSA sends it: PKIStatus rejection (2), no token
printf '\060\005\060\003\002\001\002' >"$C/tsa/seed-rejection.tsr"

openssl cms -sign -binary -cades -in "$T/content" -signer "$T/pki/seal.pem" \
	-inkey "$T/pki/seal.key" -certfile "$T/pki/ca.pem" -outform DER \
	-out "$C/cades/seed-cades-bb.p7s"
openssl cms -sign -binary -in "$T/content" -signer "$T/pki/seal.pem" -inkey "$T/pki/seal.key" \
	-nocerts -noattr -outform DER -out "$C/cades/seed-plain.p7s"
openssl cms -sign -binary -cades -in "$T/content" -signer "$T/pki/seal.pem" \
	-inkey "$T/pki/seal.key" -outform PEM -out "$C/cades/seed-cades-bb.pem"

printf 'other letter\n' >"$T/other"
root=$("$BUILD/tests/fuzz_seed_ers" root "$T/content" "$T/other")
stamp "$T/root.tsr" -digest "$root"
openssl ts -reply -in "$T/root.tsr" -token_out -out "$T/root.tok" 2>/dev/null
"$BUILD/tests/fuzz_seed_ers" record "$T/content" "$T/other" "$T/root.tok" >"$C/ers/seed-tree.ers"
stamp "$T/data.tsr" -data "$T/content"
openssl ts -reply -in "$T/data.tsr" -token_out -out "$T/data.tok" 2>/dev/null
"$BUILD/tests/fuzz_seed_ers" single "$T/data.tok" >"$C/ers/seed-single.ers"

echo "seeds made in $C: $(find "$C" -type f ! -name .keep | wc -l) files," \
	"$(du -sk "$C" | cut -f1) KiB"
