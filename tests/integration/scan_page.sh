#!/bin/bash
# scan_page.sh - mailroom-scan's page analysis (scan/scan_page.c, common/osd.c) on
# real page images: the German sample letters rendered with groff/ghostscript and
# rasterised by pdftoppm, pages drawn in PostScript (a handwritten initial, a
# stamp, a pen dot), separator sheets printed by `mailroom sheets`, each as a
# scanner delivers it (grayish paper with noise, dust, a sheet edge, the dark band
# beyond the sheet: scan_pagetool prep --scanner).
#   - blank score: noisy empty pages are dropped, a pen dot too; a page with only
#     a handwritten initial is flagged, never dropped (TR-03138 A.SC.8), at 150
#     and 300 dpi; a stamp is not dropped; letters are kept
#   - separators: sheets from `mailroom sheets` (PNG and PDF) are read at 300, 150
#     and 100 dpi and turned; a mailroom code of another version is found but not
#     valid; a foreign QR code (a GiroCode zbarimg reads) is no separator
#   - orientation: letters turned by 90, 180 and 270 degrees are turned back,
#     upright pages stay; below 140 dpi nothing is turned; a page without text is
#     left alone; milliseconds per page are printed
#   - `mailroom sheets` refuses unknown types and offices and bad numbers
. "$(dirname "$0")/lib.sh"
set +e
PT=$MAILROOM_BIN/../tests/scan_pagetool
for t in gs pdftoppm groff; do
	command -v $t >/dev/null || { echo "SKIP: $t is not installed" >&2; exit 77; }
done
[ -s /usr/share/tesseract-ocr/5/tessdata/osd.traineddata ] ||
	{ echo "SKIP: tesseract-ocr-osd is not installed" >&2; exit 77; }
D=$T/img
mkdir -p "$D"
# field NAME LINE: the value of NAME=... in a line of scan_pagetool analyse
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
an() { "$PT" analyse "$@" 2>&1; }
t() { eval "$1"; } # t 'CONDITION': for check with a compound condition

# ---- the images ----
ps() { # ps NAME DPI POSTSCRIPT: an A4 page rendered by ghostscript
	printf '%%!PS\n<< /PageSize [595 842] >> setpagedevice\n%s\nshowpage\n' "$3" >"$D/$1.ps"
	gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=pgmraw -r"$2" -sOutputFile="$D/$1.pgm" "$D/$1.ps"
}
INITIAL='0.1 setgray 1.1 setlinewidth 1 setlinecap 1 setlinejoin
430 150 moveto 433 172 437 176 439 158 curveto 441 140 444 176 448 168 curveto 451 160 452 150 454 149 curveto stroke
456 152 moveto 462 150 468 156 474 153 curveto stroke'
STAMP='0.35 setgray 2 setlinewidth 380 700 130 50 rectstroke /Helvetica-Bold findfont 11 scalefont setfont
390 730 moveto (EINGEGANGEN) show 390 712 moveto (12. MRZ. 2025) show'
DOT='0 setgray 300 400 1.2 0 360 arc fill'
for r in 150 300; do
	ps white$r $r ''
	ps initial$r $r "$INITIAL"
done
ps stamp150 150 "$STAMP"
ps dot150 150 "$DOT"
for s in 1 2 3; do "$PT" prep "$D/white150.pgm" "$D/noise$s.pgm" --scanner $s --dpi 150; done
"$PT" prep "$D/white300.pgm" "$D/noise300.pgm" --scanner 4 --dpi 300
"$PT" prep "$D/initial150.pgm" "$D/initial150n.pgm" --scanner 5 --dpi 150
"$PT" prep "$D/initial300.pgm" "$D/initial300n.pgm" --scanner 6 --dpi 300
"$PT" prep "$D/initial300.pgm" "$D/initial300r.pgm" --rotate 180 --scanner 7 --dpi 300
"$PT" prep "$D/stamp150.pgm" "$D/stamp150n.pgm" --scanner 8 --dpi 150
"$PT" prep "$D/dot150.pgm" "$D/dot150n.pgm" --scanner 9 --dpi 150
render_letters "$T/pdf"
for f in "$T"/pdf/*.pdf; do
	n=$(basename "$f" .pdf)
	pdftoppm -r 300 -gray -singlefile "$f" "$D/L$n"
done
check "seven letters rendered" [ "$(count "$D/L*.pgm")" -eq 7 ]

# ---- (1) blank score ----
for f in noise1 noise2 noise3 noise300; do
	l=$(an --no-osd "$D/$f.pgm")
	check "$f: an empty sheet with scanner noise, dust and edges is dropped ($(field ink "$l"))" \
		[ "$(field blank "$l")" = drop ]
done
l=$(an --no-osd "$D/white150.pgm")
check "a clean white page scores 0" [ "$(field ink "$l")" = 0.000000 ]
l=$(an --no-osd "$D/dot150n.pgm")
check "a single pen dot (1 mm) is dropped ($(field ink "$l"))" [ "$(field blank "$l")" = drop ]
check "control: the dot is seen (score above 0)" [ "$(field ink "$l")" != 0.000000 ]
for f in initial150n initial300n initial300r; do
	l=$(an --no-osd "$D/$f.pgm")
	check "$f: only a handwritten initial: flagged, not dropped ($(field ink "$l"))" \
		[ "$(field blank "$l")" = flag ]
done
# positive control: the same initial under the placeholder's rule (ink share below 0.0005
# dropped) would be lost: its pixels cover far less than 0.05 % of the page
px=$(gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=inkcov -r150 -o - "$D/initial150.ps" | awk '{print $4}')
check "control: the initial's ink share is below 0.05 % ($px of black)" \
	awk -v k="$px" 'BEGIN { exit !(k < 0.0005) }'
l=$(an --no-osd "$D/stamp150n.pgm")
check "a stamp alone is not dropped ($(field blank "$l"), $(field ink "$l"))" [ "$(field blank "$l")" != drop ]
for f in "$D"/L*.pgm; do
	l=$(an --no-osd --no-qr "$f")
	[ "$(field blank "$l")" = keep ] || bad "letter $f: $l"
done
ok "every letter page is kept"
l=$(an --no-osd --drop 0.01 --flag 0.02 "$D/initial150n.pgm")
check "thresholds come from the configuration (drop 0.01: the initial is dropped)" \
	[ "$(field blank "$l")" = drop ]

# ---- (2) separator sheets ----
mailroom sheets --batch S-7 --start 4 --count 2 --type rechnung --office kaemmerei \
	--png "$D/sheets" >"$T/sheets.out"
rc=$?
check "mailroom sheets --png: exit 0, two files" t '[ $rc -eq 0 ] && [ "$(count "$D/sheets/*.png")" -eq 2 ]'
S=$D/sheets/trennblatt-S-7-000004.png
# IHDR width and height, pHYs pixels per metre (11811: 300 dpi)
check "the sheet is A4 at 300 dpi (2480 x 3508, pHYs)" \
	t '[ "$(od -An -tu1 -j16 -N8 "$S" | tr -s " ")" = " 0 0 9 176 0 0 13 180" ] && grep -q pHYs "$S"' 
if command -v zbarimg >/dev/null; then
	check "zbarimg reads the payload" \
		[ "$(zbarimg -q --raw "$S" 2>/dev/null)" = "MAILROOM-SEP/1;batch=S-7;sheet=4;type=rechnung;office=kaemmerei" ]
fi
l=$(an "$S")
check "300 dpi: separator no. 4 of batch S-7, type and office" [ "$(field sep "$l")" = valid:S-7:4:rechnung:kaemmerei ]
check "a separator sheet is not given to OSD" [ "$(field osd "$l")" = -1/0.00/- ]
"$PT" prep "$D/sheets/trennblatt-S-7-000005.png" "$D/s150.pgm" --scanner 11 --to-dpi 150
"$PT" prep "$D/sheets/trennblatt-S-7-000005.png" "$D/s100r.pgm" --rotate 180 --scanner 12 --to-dpi 100
"$PT" prep "$D/sheets/trennblatt-S-7-000005.png" "$D/s150r.pgm" --rotate 90 --scanner 13 --to-dpi 150
for f in s150 s100r s150r; do
	l=$(an "$D/$f.pgm")
	check "$f: separator no. 5 read ($(field ms "$l") ms blank/qr/osd)" \
		[ "$(field sep "$l")" = valid:S-7:5:rechnung:kaemmerei ]
done
mailroom sheets --batch P1 --count 3 --pdf "$D/sheets.pdf" >/dev/null
check "mailroom sheets --pdf: 3 pages" t 'pdfinfo "$D/sheets.pdf" | grep -q "^Pages: *3"'
check "the PDF says what the sheet is" \
	t 'pdftotext "$D/sheets.pdf" - | grep -q "nicht scannen als Dokument" && pdftotext "$D/sheets.pdf" - | grep -q "Nr. 3"' 
pdftoppm -r 150 -gray -f 2 -l 2 -singlefile "$D/sheets.pdf" "$D/pdf2"
l=$(an "$D/pdf2.pgm")
check "the PDF's page 2 is separator no. 2 of batch P1" [ "$(field sep "$l")" = valid:P1:2:: ]
"$PT" qr "MAILROOM-SEP/2;batch=P1;sheet=3" "$D/v2.png"
"$PT" qr "MAILROOM-SEP/1;batch=P1;sheet=03" "$D/bad.png"
"$PT" qr "$(printf 'BCD\n002\n1\nSCT\n\nStadtkasse Musterstadt\nDE02120300000000202051\nEUR12.50')" "$D/giro.png"
l=$(an "$D/v2.png")
check "a mailroom code of version 2: found, not valid" [ "$(field sep "$l")" = found ]
l=$(an "$D/bad.png")
check "a mailroom code breaking the grammar: found, not valid" [ "$(field sep "$l")" = found ]
l=$(an "$D/giro.png")
check "a foreign QR code is no separator" [ "$(field sep "$l")" = none ]
if command -v zbarimg >/dev/null; then
	check "control: zbarimg reads the foreign code" t 'zbarimg -q --raw "$D/giro.png" 2>/dev/null | grep -q "^BCD"' 
fi
mailroom sheets --type werbung --png "$D/x" 2>"$T/err"
rc=$?
check "a type that is not scanned (werbung): refused" t '[ $rc -eq 78 ] && grep -q "not scanned" "$T/err"'
mailroom sheets --type nosuchtype --png "$D/x" 2>"$T/err"
rc=$?
check "an unknown type: refused (EX_CONFIG)" t '[ $rc -eq 78 ] && grep -q "not a document type" "$T/err"'
mailroom sheets --office nirgendwo --png "$D/x" 2>"$T/err"
rc=$?
check "an unknown office: refused (EX_CONFIG)" t '[ $rc -eq 78 ] && grep -q "not an office" "$T/err"' 
mailroom sheets --batch 'a/b' --png "$D/x" 2>"$T/err"
check "a batch id with '/': refused (EX_USAGE)" [ $? -eq 64 ]
mailroom sheets --count 0 --png "$D/x" 2>"$T/err"
check "--count 0: refused" [ $? -eq 64 ]
mailroom sheets --start 999999 --count 2 --png "$D/x" 2>"$T/err"
check "numbers beyond 999999: refused" [ $? -eq 64 ]
mailroom sheets --count 1 2>"$T/err"
check "neither --png nor --pdf: refused" [ $? -eq 64 ]
check "nothing written by refused runs" [ ! -e "$D/x" ]
mailroom sheets --png "$D/auto" >"$T/auto.out"
id=$(sed -n 's/^batch \([^:]*\):.*/\1/p' "$T/auto.out")
l=$(an "$D/auto/trennblatt-$id-000001.png")
check "without --batch: a new batch id ($id) on the sheet" [ "$(field sep "$l")" = "valid:$id:1::" ]

# ---- (3) orientation ----
right=0 wrong=0 kept=0 n=0
for f in "$D"/L*.pgm; do
	for a in 0 90 180 270; do
		"$PT" prep "$f" "$D/o.pgm" --rotate $a --dpi 300 --to-dpi 150
		l=$(an --no-qr "$D/o.pgm")
		want=$(((360 - a) % 360))
		rot=$(field rotation "$l")
		n=$((n + 1))
		if [ "$rot" = "$want" ]; then
			right=$((right + 1))
		elif [ "$rot" = 0 ]; then
			kept=$((kept + 1)) # not trusted: left as scanned
		else
			wrong=$((wrong + 1))
			bad "$(basename "$f") turned by $a: analysis turns it by $rot ($l)"
		fi
		[ $a = 0 ] && [ "$rot" != 0 ] && bad "upright $(basename "$f") turned by $rot"
		[ $a != 0 ] && [ "$rot" = "$want" ] && [ "$(field upright "$l")" != yes ] && bad "no upright copy"
		echo "  $(basename "$f") +$a: rotation $rot, osd $(field osd "$l"), $(field ms "$l") ms blank/qr/osd"
	done
done
check "orientation: $right of $n letter pages right, $kept left as scanned, none turned wrongly" \
	t '[ "$wrong" -eq 0 ] && [ "$right" -ge $((n * 3 / 4)) ]'
"$PT" prep "$D/L06-brief.pgm" "$D/o100.pgm" --rotate 180 --dpi 300 --to-dpi 100
l=$(an --no-qr "$D/o100.pgm")
check "below 140 dpi OSD is not asked: an upside-down page at 100 dpi stays" \
	t '[ "$(field rotation "$l")" = 0 ] && [ "$(field osd "$l")" = -1/0.00/- ]' 
"$MAILROOM_BIN/../tests/escl_pnmtool" make 1240 1754 5 "$D/synth.pgm" gray
"$PT" prep "$D/synth.pgm" "$D/synth180.pgm" --rotate 180 --dpi 150
l=$(an --no-qr "$D/synth180.pgm")
check "a page without text (blocks, gradient) is not turned" [ "$(field rotation "$l")" = 0 ]
o=$("$PT" osd "$D/o.pgm")
check "common/osd.c alone: the last page (turned 270) needs 90 clockwise ($o)" \
	t 'grep -q "deg=90 .*trusted=1" <<<"$o"' 
o=$("$PT" osd "$D/noise1.pgm")
check "common/osd.c: an empty page has too little text" [ "$o" = "$D/noise1.pgm none" ]
finish
