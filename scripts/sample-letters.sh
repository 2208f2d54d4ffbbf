#!/bin/sh
# sample-letters.sh OUTDIR - render the German sample letters in samples/letters/
# to A4 PDFs with groff and ghostscript, laid out like a DIN 5008 business letter.
# Each *.txt has five blocks separated by "==" lines: letterhead, address block,
# place and date, subject, body.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: sample-letters.sh OUTDIR}
mkdir -p "$out"
for txt in "$top"/samples/letters/*.txt; do
	name=$(basename "$txt" .txt)
	pdf="$out/$name.pdf"
	if [ -s "$pdf" ] && [ "$pdf" -nt "$txt" ]; then
		continue
	fi
	awk '
	BEGIN { block = 0 }
	function esc(s) { gsub(/\\/, "\\e", s); if (s ~ /^[.'\'']/) s = "\\&" s; return s }
	/^==$/ { block++; next }
	{ text[block] = text[block] esc($0) "\n" }
	END {
		print ".pl 29.7c"; print ".po 2.5c"; print ".ll 16.5c"; print ".fam H"
		print ".ps 11"; print ".vs 14p"; print ".nf"; print ".sp 1c"
		print ".ps 8"; print ".vs 10p"; printf "%s", text[0]; print ".ps 11"; print ".vs 14p"
		print ".sp 2.2c"; printf "%s", text[1]
		print ".sp 1.5c"; n = split(text[2], d, "\n"); print ".rj " (n - 1); printf "%s", text[2]
		print ".sp 1c"; print ".ft B"; printf "%s", text[3]; print ".ft R"
		print ".sp 0.8c"; printf "%s", text[4]
	}' "$txt" > "$out/$name.tr"
	groff -Kutf8 -Tps -P-pa4 "$out/$name.tr" > "$out/$name.ps"
	gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=pdfwrite -sPAPERSIZE=a4 \
		-sOutputFile="$pdf.tmp" "$out/$name.ps"
	mv "$pdf.tmp" "$pdf"
	rm -f "$out/$name.tr" "$out/$name.ps"
	echo "sample: $pdf"
done
