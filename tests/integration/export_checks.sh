#!/bin/bash
# export_checks.sh - the independent checks on real packages of the pipeline.
#
# Letters are made as classify leaves them (tests/sign_mkjob) and go through the
# real mailroom-sign (TEST PKI: Transfervermerk + CAdES seals) and
# mailroom-dms-export. Then, with tools that share no code with mailroom:
#   every package passes `unzip -t`; its message validates with
#   `xmllint --schema` against the official xdomea.xsd; every SignaturSiegelDatei
#   it names is in the package and every .p7s verifies with `openssl cms -verify`
#   over its file; `mailroom verify` accepts the package (exit 0)
# and, on the same run:
#   ersetzend: Medium 001, the Transfervermerk as an Anlage; kopierend: Medium 002
#   Hybrid and "das Papieroriginal folgt"
#   an evidence record (scan.tiff.ers, as the nightly re-signing will add) is
#   packaged as a second SignaturSiegelDatei of the scan, byte for byte
#   routing records: routing: both -> slip + xdomea record (Medium 003 Papier, no
#   Primaerdokument) in the office's inbox folder; routing: xdomea with a
#   routing_folder -> only the record, in that folder; slip (default) -> no record
# Negative controls: a package with one byte changed fails unzip -t or the seal
# check; a message with the Medium code removed fails xmllint.
. "$(dirname "$0")/lib.sh"
need_shared xsd
XSD=$MAILROOM_SHARED/xsd/xdomea_3.0.0/xdomea.xsd
MKSIGN=$MAILROOM_BIN/../tests/sign_mkjob
MKJOB=$MAILROOM_BIN/../tests/export_mkjob
for b in "$MKSIGN" "$MKJOB" "$MAILROOM_BIN/mailroom-sign" "$MAILROOM_BIN/mailroom-dms-export"; do
	[ -x "$b" ] || { echo "FAIL: $b not built" >&2; exit 1; }
done
for tool in unzip xmllint openssl gs sqlite3; do
	command -v $tool >/dev/null || { echo "FAIL: $tool missing (scripts/deps.sh)" >&2; exit 1; }
done
sh "$MAILROOM_SOURCE/scripts/pki.sh" "$VAR" >/dev/null
CA=$VAR/pki/ca.pem
q() { "$@" >/dev/null 2>&1; } # run quietly: check "what" q command...
INBOX=$VAR/vis-inbox
EIN=$VAR/spool/export/incoming

# routing records per office
cat >>"$CONF/export.yaml" <<'EOF'
  personalamt:
    routing: both
  ordnungsamt:
    routing: xdomea
    routing_folder: registratur
EOF

printf '%%!PS\n/Helvetica findfont 20 scalefont setfont 72 700 moveto (Rechnung 4711) show showpage\n' >"$T/l.ps"
gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=pdfwrite -sOutputFile="$T/l.pdf" "$T/l.ps"

# --- letters through the real sign stage ---
A=$("$MKSIGN" -c "$CONF" --gray --pages 2 --ocr-pdf "$T/l.pdf")     # ersetzend
B=$("$MKSIGN" -c "$CONF" --mode kopierend --pages 1 --ocr-pdf "$T/l.pdf")
E=$("$MKSIGN" -c "$CONF" --bilevel --pages 1 --ocr-pdf "$T/l.pdf") # gets an .ers
stage sign 2>"$T/sign.log" || { bad "mailroom-sign: $(tail -3 "$T/sign.log")"; }
for id in $A $B $E; do
	check "$id sealed into export/incoming" [ -f "$EIN/$id/job.json" ]
done
check "A is sealed (scan.tiff.p7s, transfervermerk.xml.p7s)" \
	[ -f "$EIN/$A/scan.tiff.p7s" -a -f "$EIN/$A/transfervermerk.xml.p7s" ]

# E gets an evidence record: the job rebuilt with scan.tiff.ers listed (real job API)
E2=20261122T090000Z-00000000000000e5
mkdir -p "$T/build/$E2"
for f in "$EIN/$E"/*; do [ "$(basename "$f")" = job.json ] || cp "$f" "$T/build/$E2/"; done
printf '\x30\x03\x02\x01\x01' >"$T/build/$E2/scan.tiff.ers" # DER: EvidenceRecord starts SEQ{INTEGER 1}
"$MKJOB" "$T/build/$E2" "$EIN/$E/job.json" >/dev/null
rm -rf "${EIN:?}/$E"
mv "$T/build/$E2" "$EIN/$E2"
E=$E2

# letters for the routing records (no files needed)
R1=20261122T090100Z-00000000000000f1 # personalamt: slip + record
R2=20261122T090200Z-00000000000000f2 # ordnungsamt: record only, in registratur/
R3=20261122T090300Z-00000000000000f3 # kaemmerei, nicht scannen: slip only (default)
for x in "$R1 personalamt ersetzend" "$R2 ordnungsamt kopierend" "$R3 kaemmerei nicht_scannen"; do
	set -- $x
	mkdir -p "$T/build/$1"
	"$MKJOB" "$T/build/$1" "$MAILROOM_SOURCE/tests/data/export/job-kopierend.json" \
		classification.office="$2" classification.scan_mode="$3" >/dev/null
	mv "$T/build/$1" "$EIN/$1"
done

stage dms-export 2>"$T/export.log" || bad "mailroom-dms-export: $(tail -3 "$T/export.log")"
check "every letter left export/incoming" [ "$(count "$EIN/*")" -eq 0 ]
check "nothing quarantined" [ "$(count "$VAR/spool/export/corrupt/*")" -eq 0 ]

# --- the independent checks, on every package ---
pkg_of() { sed -n 's/.*"package": *"\([^"]*\)".*/\1/p' "$VAR/archive/$1/job.json" | head -1; }
X=$T/x
npkg=0 nsig=0
for id in $A $B $E; do
	zip=$(pkg_of "$id")
	[ -n "$zip" ] && [ -f "$zip" ] || { bad "$id: no package recorded"; continue; }
	npkg=$((npkg + 1))
	check "$id: unzip -t" q unzip -tq "$zip"
	rm -rf "$X" && mkdir -p "$X" && unzip -q "$zip" -d "$X"
	xml=$(ls "$X"/*_Information.Information.0101.xml)
	check "$id: xmllint --schema xdomea.xsd" q xmllint --noout --schema "$XSD" "$xml"
	for s in $(sed -n 's/.*<xdomea:SignaturSiegelDatei>\([^<]*\)<.*/\1/p' "$xml"); do
		check "$id: $s named in the message is in the package" [ -f "$X/$s" ]
		case $s in
		*.p7s)
			check "$id: openssl cms -verify $s" q openssl cms -verify -binary -inform DER \
				-in "$X/$s" -content "$X/${s%.p7s}" -CAfile "$CA" -purpose any -out /dev/null
			nsig=$((nsig + 1))
			;;
		esac
	done
	check "$id: mailroom verify accepts the package" q mailroom verify --ca "$CA" "$zip"
done
check "3 packages checked" [ $npkg -eq 3 ]
check "every sealed file verified (A: 2, E: 2)" [ $nsig -eq 4 ]

# --- what the messages say ---
xml_of() { unzip -p "$(pkg_of "$1")" "*.xml" 2>/dev/null | sed -n '/<xdomea:Information.Information.0101/,$p'; }
xml_of "$A" >"$T/a.xml"
check "A: Medium 001 Elektronisch" grep -q '<name>Elektronisch</name>' "$T/a.xml"
check "A: the Transfervermerk is an Anlage" grep -q '<xdomea:Typ>Transfervermerk</xdomea:Typ>' "$T/a.xml"
check "A: no receipt asked for (no reply folder configured)" \
	grep -q '<xdomea:Empfangsbestaetigung>false<' "$T/a.xml"
xml_of "$B" >"$T/b.xml"
check "B (kopierend): Medium 002 Hybrid" grep -q '<code>002</code>' "$T/b.xml"
check "B (kopierend): the paper follows" grep -q 'das Papieroriginal folgt an' "$T/b.xml"
check "B (kopierend): not sealed" [ "$(grep -c SignaturSiegelDatei "$T/b.xml")" -eq 0 ]
# the evidence record: a second SignaturSiegelDatei of the scan, after its seal
zip=$(pkg_of "$E")
xml_of "$E" >"$T/e.xml"
scan=$(sed -n 's/.*<xdomea:Dateiname>\([^<]*\.tiff\)<.*/\1/p' "$T/e.xml")
seal_order() {
	grep -A8 "<xdomea:Dateiname>$scan<" "$T/e.xml" | tr -d ' \n' |
		grep -q "<xdomea:SignaturSiegelDatei>$scan.p7s</xdomea:SignaturSiegelDatei><xdomea:SignaturSiegelDatei>$scan.ers</xdomea:SignaturSiegelDatei>"
}
check "E: the scan names its seal and then its evidence record" seal_order
unzip -p "$zip" "$scan.ers" >"$T/e.ers"
check "E: the evidence record is in the package byte for byte" cmp -s "$T/e.ers" "$VAR/archive/$E/scan.tiff.ers"
check "E: job.json export.contents maps it" grep -q "\"$scan.ers\": *\"scan.tiff.ers\"" "$VAR/archive/$E/job.json"
check "A: no evidence record where the job has none" [ "$(grep -c '\.ers<' "$T/a.xml")" -eq 0 ]

# --- routing records ---
rec1=$(ls "$INBOX"/personalamt/*_Information.Information.0101.zip 2>/dev/null | head -1)
check "R1 (routing: both): a routing slip" [ "$(count "$VAR/routing/personalamt/*_$R1.txt")" -eq 1 ]
check "R1 (routing: both): an xdomea routing record in the office's inbox folder" [ -n "$rec1" ]
if [ -n "$rec1" ]; then
	check "R1: unzip -t" q unzip -tq "$rec1"
	unzip -p "$rec1" >"$T/r1.xml"
	check "R1: xmllint --schema" q xmllint --noout --schema "$XSD" "$T/r1.xml"
	check "R1: Medium 003 Papier" grep -q '<name>Papier</name>' "$T/r1.xml"
	check "R1: no Primaerdokument (paper only)" [ "$(grep -c Primaerdokument "$T/r1.xml")" -eq 0 ]
	check "R1: says where the paper goes and not to destroy it" grep -q 'NICHT vernichtet' "$T/r1.xml"
	check "R1: only the message in the ZIP" [ "$(unzip -Z1 "$rec1" | wc -l)" -eq 1 ]
fi
rec2=$(ls "$INBOX"/registratur/*_Information.Information.0101.zip 2>/dev/null | head -1)
check "R2 (routing: xdomea): the record in routing_folder registratur" [ -n "$rec2" ]
check "R2 (routing: xdomea): no slip" [ "$(count "$VAR/routing/ordnungsamt/*")" -eq 0 ]
[ -n "$rec2" ] && unzip -p "$rec2" >"$T/r2.xml" &&
	check "R2: xmllint --schema, kopierend: the paper follows" \
		q sh -c "xmllint --noout --schema '$XSD' '$T/r2.xml' && grep -q 'Papieroriginal folgt' '$T/r2.xml'"
check "R3 (default slip): slip, no record" \
	[ "$(count "$VAR/routing/kaemmerei/*_$R3.txt")" -eq 1 -a "$(count "$INBOX/kaemmerei/*")" -eq 3 ]
check "routed letters journaled once each" \
	[ "$(sql "SELECT count(*) FROM events WHERE action='routed' AND outcome='ok'")" -eq 3 ]
grep -q '"record": *"' "$VAR/archive/$R1/job.json" && grep -q '"routing": *"' "$VAR/archive/$R1/job.json" &&
	ok "R1: job.json names the slip and the record" || bad "R1: job.json export section"

# --- negative controls: the checks can fail ---
zip=$(pkg_of "$A")
cp "$zip" "$T/broken.zip"
size=$(stat -c %s "$T/broken.zip")
printf 'X' | dd of="$T/broken.zip" bs=1 seek=$((size / 3)) conv=notrunc 2>/dev/null
if unzip -tq "$T/broken.zip" >/dev/null 2>&1 && mailroom verify --ca "$CA" "$T/broken.zip" >/dev/null 2>&1; then
	bad "negative control: a changed byte passed unzip -t and mailroom verify"
else
	ok "negative control: a changed byte is caught"
fi
sed 's|<code>001</code>||' "$T/a.xml" >"$T/a-bad.xml"
if xmllint --noout --schema "$XSD" "$T/a-bad.xml" >/dev/null 2>&1; then
	bad "negative control: xmllint accepted a message without its Medium code"
else
	ok "negative control: xmllint rejects a damaged message"
fi
finish
