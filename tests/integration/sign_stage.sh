#!/bin/bash
# ok() always succeeds, so "test && ok || fail" is an if-then-else here.
# shellcheck disable=SC2015
# sign_stage.sh - mailroom-sign end to end on a temporary spool.
#
# Creates the TEST PKI with scripts/pki.sh, puts classified letters into
# spool/sign/incoming (tests/sign_mkjob), runs `mailroom-sign --once` and checks:
# sealed letters are in spool/export/incoming; every .p7s verifies with
# `openssl cms -verify` AND GnuTLS `certtool --p7-verify`; the Transfervermerk
# validates with xmllint against sign/transfervermerk.xsd; one changed byte makes
# verification fail; kopierend passes unsealed; failed quality checks go to review;
# a damaged job.json and a letter without classification land in sign/corrupt with
# QUARANTINE.txt; a rerun reseals without duplicates; bad keys stop the start.
set -u

SRC=${MAILROOM_SOURCE:?MAILROOM_SOURCE not set}
BIN=${MAILROOM_BIN:?MAILROOM_BIN not set}
MKJOB="$BIN/../tests/sign_mkjob"
SIGN="$BIN/mailroom-sign"
XSD="$SRC/sign/transfervermerk.xsd"

for tool in openssl certtool xmllint gs sqlite3; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool missing (scripts/deps.sh)" >&2; exit 1; }
done
[ -x "$MKJOB" ] && [ -x "$SIGN" ] || { echo "FAIL: build mailroom-sign and sign_mkjob first" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'sh "$SRC/scripts/tsa.sh" stop "$TMP/var" >/dev/null 2>&1; rm -rf "$TMP"' EXIT
cp -r "$SRC/conf" "$TMP/conf"
export MAILROOM_VAR="$TMP/var"
V="$TMP/var"
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@" >/dev/null 2>"$TMP/err"; then ok "$what"; else fail "$what: $(head -c 600 "$TMP/err")"; fi
}
check_not() { # the command must fail
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then fail "$what (it succeeded)"; else ok "$what"; fi
}
verify_openssl() { # FILE P7S
	openssl cms -verify -binary -inform DER -content "$1" -in "$2" -CAfile "$V/pki/ca.pem" -out /dev/null
}
verify_gnutls() { # FILE P7S
	certtool --p7-verify --load-ca-certificate "$V/pki/ca.pem" --load-data "$1" --infile "$2" --inder
}

# --- the test PKI ---------------------------------------------------------------
check "pki.sh creates the test PKI" "$SRC/scripts/pki.sh" "$V"
for f in ca seal tsa; do
	[ -s "$V/pki/$f.pem" ] && [ -s "$V/pki/$f.key" ] || fail "pki: $f.pem/$f.key missing"
	[ "$(stat -c %a "$V/pki/$f.key")" = 600 ] || fail "pki: $f.key is not mode 0600"
done
before=$(cat "$V"/pki/* | sha256sum)
check "pki.sh is idempotent" "$SRC/scripts/pki.sh" "$V"
[ "$before" = "$(cat "$V"/pki/* | sha256sum)" ] && ok "pki.sh kept existing files" || fail "pki.sh replaced files"
# the TEST TSA of this tree, on a free port (for the B-T letters)
TSAURL=$(sh "$SRC/scripts/tsa.sh" start "$V" 0) || fail "scripts/tsa.sh start"
sed -i "s|^  url: .*|  url: $TSAURL|" "$TMP/conf/signing.yaml"
openssl x509 -in "$V/pki/tsa.pem" -noout -ext extendedKeyUsage | grep -q "critical" &&
	openssl x509 -in "$V/pki/tsa.pem" -noout -ext extendedKeyUsage | grep -q "Time Stamping" &&
	ok "tsa.pem has critical EKU timeStamping" || fail "tsa.pem EKU"

# --- letters ------------------------------------------------------------------------
cat >"$TMP/letter.ps" <<'EOF'
%!PS
/Helvetica findfont 28 scalefont setfont
72 700 moveto (Rechnung Nr. 4711) show
72 660 moveto (Rechnungsbetrag 119,00 EUR) show showpage
72 700 moveto (Seite 2 - Zahlbar bis 30.11.2026) show showpage
EOF
gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=tiffg4 -r150 -sOutputFile="$TMP/letter.tif" "$TMP/letter.ps" ||
	fail "gs tiffg4"
gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=pdfwrite -sOutputFile="$TMP/letter.pdf" "$TMP/letter.ps" ||
	fail "gs pdfwrite"

MK() { "$MKJOB" -c "$TMP/conf" "$@" || { fail "sign_mkjob $*"; echo none; }; }
A=$(MK --gray --pages 2 --ocr-pdf "$TMP/letter.pdf")                # plain ersetzend, gray
B=$(MK --tiff "$TMP/letter.tif" --import "$TMP/letter.pdf" --note "Haftnotiz auf Seite 1 entfernt")
C=$(MK --color --pages 1 --integrity sehr_hoch)                     # colour, CAdES-B-T
L=$(MK --bilevel --pages 4)                                          # G4, odd widths
D=$(MK --mode kopierend --pages 1)                                   # passes unsealed
E=$(MK --pages 1)                                                    # job.json damaged below
F=$(MK --pages 1 --no-classification)                                # no classification
G=$(MK --pages 2 --claim-pages 3)                                    # page missing
H=$(MK --pages 2 --bad-digest 2)                                     # page 2 differs
IN="$V/spool/sign/incoming"
head -c 200 "$IN/$E/job.json" >"$TMP/trunc" && cat "$TMP/trunc" >"$IN/$E/job.json"
# the OCR found page 2 of L upside down (classify records it; the Transfervermerk lists it)
jq -c '.classification.ocr.rotation = [0, 180, 0, 0]' "$IN/$L/job.json" >"$TMP/rot.json" &&
	cat "$TMP/rot.json" >"$IN/$L/job.json" || fail "cannot add the rotation to $L"

"$SIGN" -c "$TMP/conf" --once 2>"$TMP/sign.log"
rc=$?
[ $rc = 0 ] && ok "mailroom-sign --once exits 0" || fail "mailroom-sign --once exit $rc: $(cat "$TMP/sign.log")"
grep -q "TEST PKI" "$TMP/sign.log" && ok "warns about the TEST PKI" || fail "no TEST PKI warning"

OUT="$V/spool/export/incoming"
for id in $A $B $C $D $L; do
	[ -f "$OUT/$id/job.json" ] && ok "$id in export/incoming" || fail "$id not in export/incoming"
done

# --- sealed letters -------------------------------------------------------------
for id in $A $B $C $L; do
	d="$OUT/$id"
	level=CAdES-B-B
	[ "$id" = "$C" ] && level=CAdES-B-T
	grep -q "\"level\":\"$level\"" "$d/job.json" || fail "$id: signing.level is not $level"
	grep -q '"test_pki":true' "$d/job.json" || fail "$id: signing.test_pki"
	grep -q '"scan.tiff.p7s":{' "$d/job.json" || fail "$id: scan.tiff.p7s not in files"
	grep -q '"transfervermerk.xml":{' "$d/job.json" || fail "$id: transfervermerk.xml not in files"
	check "$id: transfervermerk.xml validates against the XSD" xmllint --noout --schema "$XSD" "$d/transfervermerk.xml"
	n=0
	for p7s in "$d"/*.p7s; do
		f=${p7s%.p7s}
		n=$((n + 1))
		check "$id: openssl cms -verify $(basename "$p7s")" verify_openssl "$f" "$p7s"
		check "$id: certtool --p7-verify $(basename "$p7s")" verify_gnutls "$f" "$p7s"
	done
	[ $n -ge 2 ] || fail "$id: only $n signatures"
	# the four signed attributes of CAdES-B-B
	attrs=$(openssl cms -cmsout -print -inform DER -in "$d/scan.tiff.p7s")
	for a in contentType signingTime messageDigest id-smime-aa-signingCertificateV2; do
		echo "$attrs" | grep -q "object: $a " || fail "$id: signed attribute $a missing"
	done
	echo "$attrs" | grep -q "eContent: <ABSENT>" || fail "$id: signature is not detached"
done
ok "signed attributes checked"

# one changed byte must break the seal (scan.tiff and transfervermerk.xml)
cp "$OUT/$A/scan.tiff" "$TMP/tampered.tiff"
printf '\x5a' | dd of="$TMP/tampered.tiff" bs=1 seek=300 conv=notrunc status=none
cmp -s "$TMP/tampered.tiff" "$OUT/$A/scan.tiff" && printf '\xa5' | dd of="$TMP/tampered.tiff" bs=1 seek=300 conv=notrunc status=none
check_not "openssl rejects a changed scan.tiff" verify_openssl "$TMP/tampered.tiff" "$OUT/$A/scan.tiff.p7s"
check_not "certtool rejects a changed scan.tiff" verify_gnutls "$TMP/tampered.tiff" "$OUT/$A/scan.tiff.p7s"
sed 's/scan-op-01/scan-op-02/' "$OUT/$A/transfervermerk.xml" >"$TMP/tampered.xml"
check_not "openssl rejects a changed Transfervermerk" verify_openssl "$TMP/tampered.xml" "$OUT/$A/transfervermerk.xml.p7s"

grep -q '<Auffaelligkeit art="drehung" seite="2">' "$OUT/$L/transfervermerk.xml" &&
	ok "L: the turned page 2 is an anomaly in the Transfervermerk" || fail "L: rotation anomaly missing"
grep -q 'art="drehung"' "$OUT/$A/transfervermerk.xml" && fail "A: rotation anomaly without a rotation"

# content of the Transfervermerk
tv="$OUT/$A/transfervermerk.xml"
grep -q '<Pseudonym>scan-op-01</Pseudonym>' "$tv" || fail "A: operator missing"
grep -q 'bildlich="false" inhaltlich="true"' "$tv" || fail "A: gray scan must not claim pictorial match"
grep -q '<Vollstaendigkeit erwartet="2" vorgefunden="2" ergebnis="bestanden"/>' "$tv" || fail "A: completeness"
grep -q 'name="ocr.pdf"' "$tv" || fail "A: ocr.pdf not bound"
[ ! -e "$OUT/$A/ocr.pdf.p7s" ] || fail "A: ocr.pdf should be bound, not signed separately"
grep -q "sha256=\"$(sha256sum <"$OUT/$A/scan.tiff" | cut -c1-64)\"" "$tv" || fail "A: scan.tiff digest not bound"
grep -q '<Auffaelligkeiten/>' "$tv" || fail "A: expected no anomalies"
tv="$OUT/$B/transfervermerk.xml"
grep -q 'art="import"' "$tv" || fail "B: import anomaly missing"
grep -q 'art="seite" seite="1">Haftnotiz' "$tv" || fail "B: page note missing"
[ -f "$OUT/$B/original.pdf.p7s" ] && ok "B: original.pdf sealed" || fail "B: original.pdf.p7s missing"
grep -q 'bildlich="true" inhaltlich="true"' "$OUT/$C/transfervermerk.xml" || fail "C: colour scan should claim pictorial match"
grep -q '"required_level":"CAdES-B-T"' "$OUT/$C/job.json" && ok "C: B-T required" || fail "C: required_level"
grep -q '"timestamps_pending"' "$OUT/$C/job.json" && fail "C: still pending"
for p7s in "$OUT/$C"/*.p7s; do
	openssl cms -cmsout -print -inform DER -in "$p7s" | grep -q "object: id-smime-aa-timeStampToken" ||
		fail "C: $(basename "$p7s") has no signature-time-stamp"
	[ "$(jq -r --arg p "$(basename "$p7s")" '.signing.timestamps[$p].serial // empty' "$OUT/$C/job.json")" != "" ] ||
		fail "C: job.json has no time-stamp record for $(basename "$p7s")"
done
grep -q 'CAdES-B-T' "$OUT/$C/transfervermerk.xml" && ok "C: Transfervermerk names CAdES-B-T" || fail "C: Transfervermerk level"

# --- TSA outage: sealed once, deferred, only the time-stamps asked again ----------
sh "$SRC/scripts/tsa.sh" stop "$V" >/dev/null
Z=$(MK --pages 1 --integrity sehr_hoch)
"$SIGN" -c "$TMP/conf" --once 2>"$TMP/outage.log"
[ -f "$IN/$Z/job.json" ] && ok "TSA down: the letter waits in sign/incoming" || fail "TSA down: letter not deferred"
[ -f "$IN/$Z/RETRY.txt" ] && grep -q "time-stamp" "$IN/$Z/RETRY.txt" && ok "TSA down: RETRY.txt says why" ||
	fail "TSA down: no RETRY.txt reason"
jq -e '.signing.timestamps_pending == true and .files["scan.tiff.p7s"] != null' "$IN/$Z/job.json" >/dev/null &&
	ok "TSA down: the B-B seals are recorded, time-stamps pending" || fail "TSA down: record"
sig1=$(openssl cms -cmsout -print -inform DER -in "$IN/$Z/scan.tiff.p7s" | sed -n '/signature:/,/unsignedAttrs/p' | sha256sum)
TSAURL2=$(sh "$SRC/scripts/tsa.sh" start "$V" 0) || fail "tsa restart"
sed -i "s|^  url: .*|  url: $TSAURL2|" "$TMP/conf/signing.yaml"
"$MAILROOM_BIN/mailroom" -c "$TMP/conf" requeue "$Z" --now >/dev/null 2>&1 || fail "requeue --now $Z"
"$SIGN" -c "$TMP/conf" --once 2>>"$TMP/outage.log"
if [ -f "$OUT/$Z/job.json" ]; then
	ok "TSA back: the letter went on"
	sig2=$(openssl cms -cmsout -print -inform DER -in "$OUT/$Z/scan.tiff.p7s" | sed -n '/signature:/,/unsignedAttrs/p' | sha256sum)
	[ "$sig1" = "$sig2" ] && ok "TSA back: the seal of the first attempt was kept (not sealed twice)" ||
		fail "TSA back: the letter was sealed again"
	jq -e '.signing.level == "CAdES-B-T" and (.signing | has("timestamps_pending") | not)' "$OUT/$Z/job.json" >/dev/null &&
		ok "TSA back: CAdES-B-T" || fail "TSA back: level"
	check "TSA back: the time-stamped seal verifies" verify_openssl "$OUT/$Z/scan.tiff" "$OUT/$Z/scan.tiff.p7s"
	check "TSA back: certtool accepts it" verify_gnutls "$OUT/$Z/scan.tiff" "$OUT/$Z/scan.tiff.p7s"
	[ "$(sqlite3 "$V/journal.db" "select count(*) from events where job='$Z' and action='sealed'")" = 0 ] &&
		[ "$(sqlite3 "$V/journal.db" "select count(*) from events where job='$Z' and action='time-stamped'")" = 1 ] &&
		ok "journal: deferred, then time-stamped (no second 'sealed')" || fail "journal events of $Z: $(sqlite3 "$V/journal.db" "select action from events where job='$Z'" | tr '\n' ' ')"
else
	fail "TSA back: $Z did not go on: $(cat "$TMP/outage.log" | tail -3)"
fi

# --- kopierend ------------------------------------------------------------------
ls "$OUT/$D"/*.p7s >/dev/null 2>&1 && fail "D: kopierend letter was sealed"
[ -e "$OUT/$D/transfervermerk.xml" ] && fail "D: kopierend letter got a Transfervermerk"
grep -q '"skipped":"kopierend: paper original is kept; no replacing scan"' "$OUT/$D/job.json" &&
	ok "D: kopierend passed unsealed" || fail "D: signing.skipped"

# --- quarantine and review ------------------------------------------------------
COR="$V/spool/sign/corrupt"
[ -f "$COR/$E/QUARANTINE.txt" ] && grep -q "job.json" "$COR/$E/QUARANTINE.txt" &&
	ok "E: damaged job.json quarantined" || fail "E: not in sign/corrupt with QUARANTINE.txt"
[ -f "$COR/$F/QUARANTINE.txt" ] && grep -q "classification" "$COR/$F/QUARANTINE.txt" &&
	ok "F: letter without classification quarantined" || fail "F: not quarantined"
REV="$V/spool/review/incoming"
[ -d "$REV/$G" ] && grep -q "incomplete" "$TMP/sign.log" && ok "G: missing page sent to review" ||
	fail "G: not in review"
[ -d "$REV/$H" ] && ok "H: page digest mismatch sent to review" || fail "H: not in review"
for id in $G $H; do
	ls "$REV/$id"/*.p7s >/dev/null 2>&1 && fail "$id: sealed despite failed QS"
done

# --- journal --------------------------------------------------------------------
n=$(sqlite3 "$V/journal.db" "select count(*) from events where stage='sign' and action='sealed'")
[ "$n" = 4 ] && ok "journal: 4 sealed events" || fail "journal: $n sealed events"

# --- idempotency: a handed-on letter is not sealed twice; a rerun reseals in place
mv "$OUT/$A" "$IN/$A"
sum=$(sha256sum <"$IN/$A/scan.tiff.p7s")
"$SIGN" -c "$TMP/conf" --once 2>"$TMP/sign2.log" || fail "second run"
[ "$sum" = "$(sha256sum <"$OUT/$A/scan.tiff.p7s")" ] && grep -q "already done" "$TMP/sign2.log" &&
	ok "a letter already sealed is handed on unchanged" || fail "letter resealed or lost"
mv "$OUT/$A" "$IN/$A"
sed -i 's/"stage":"sign"/"stage":"sign-crashed"/' "$IN/$A/job.json" # as if the record was never finished
touch "$IN/$A/scan.tiff.p7s.tmp"
"$SIGN" -c "$TMP/conf" --once 2>"$TMP/sign3.log" || fail "third run"
[ "$(find "$OUT/$A" -name '*.p7s' | wc -l)" = 2 ] && [ "$(find "$OUT/$A" -name '*.tmp' | wc -l)" = 0 ] &&
	ok "a rerun overwrites its own outputs" || fail "rerun left duplicates: $(ls "$OUT/$A")"
check "resealed scan.tiff verifies" verify_openssl "$OUT/$A/scan.tiff" "$OUT/$A/scan.tiff.p7s"

# --- start-up checks ------------------------------------------------------------
expect_config() { # DESCRIPTION PATTERN
	local rc
	"$SIGN" -c "$TMP/bad" --once 2>"$TMP/bad.log"
	rc=$?
	if [ $rc = 78 ] && grep -q -- "$2" "$TMP/bad.log"; then ok "$1"; else
		fail "$1: exit $rc, $(cat "$TMP/bad.log")"
	fi
}
cp -r "$TMP/conf" "$TMP/bad"
sed -i 's#^key: .*#key: ../var/pki/nonexistent.key#' "$TMP/bad/signing.yaml"
expect_config "missing key stops the start (EX_CONFIG)" "scripts/pki.sh"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/weak.key" 2>/dev/null
openssl req -new -x509 -key "$TMP/weak.key" -subj "/CN=weak" -days 2 -out "$TMP/weak.pem" 2>/dev/null
sed -i -e "s#^key: .*#key: $TMP/weak.key#" -e "s#^cert: .*#cert: $TMP/weak.pem#" -e 's#^ca: .*##' "$TMP/bad/signing.yaml"
expect_config "RSA-2048 key refused (TR-02102-1)" "too weak"
cp "$TMP/conf/signing.yaml" "$TMP/bad/signing.yaml"
echo "tsa_url: http://localhost" >>"$TMP/bad/signing.yaml"
expect_config "unknown key in signing.yaml names file:line" "signing.yaml:[0-9]"
cp "$TMP/conf/signing.yaml" "$TMP/bad/signing.yaml"
sed -i 's#^digest: .*#digest: sha1#' "$TMP/bad/signing.yaml"
expect_config "digest sha1 refused" "sha256"

# --- every configuration key of sign.c is documented in conf/signing.yaml ----------
# shellcheck disable=SC2013
for k in $(sed -n 's/^#define VAR_SIGN_[A-Z_]* *"\([a-z_]*\)".*/\1/p' "$SRC/sign/sign.c"); do
	grep -Eq "^#? ?$k:" "$SRC/conf/signing.yaml" || fail "signing.yaml does not document '$k'"
done
ok "signing.yaml documents every key"

if [ $fails -ne 0 ]; then
	echo "sign_stage: $fails failure(s)" >&2
	exit 1
fi
echo "sign_stage: all checks passed"
