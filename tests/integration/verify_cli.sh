#!/bin/bash
# verify_cli.sh - `mailroom verify` on what the real stages write.
#
# The TEST PKI (scripts/pki.sh), letters from tests/sign_mkjob sealed by the real
# mailroom-sign (CAdES-B-B), the same upgraded to CAdES-B-T with a token from
# OpenSSL's TS responder (tests/verify_mkfix), xdomea packages from the real
# mailroom-dms-export (when ../shared has the xdomea schema). Positive controls:
# every good signature verifies with mailroom verify AND openssl cms -verify AND
# GnuTLS certtool --p7-verify, every token with openssl ts -verify. Negative
# controls, each failing its own named check: a content byte changed, a signed
# attribute changed, a certificate from another CA, a token over other data, a
# TSA certificate without the EKU, a TSA of another root (passes with --tsa-ca),
# a Transfervermerk whose binding does not match, one that violates its XSD, a
# missing .p7s, a missing document, an unsealed ersetzend letter; packages with a
# changed entry, without the scan's seal, without a named file. Exit codes 0, 1,
# 64, 66, 78; --json checked with jq.
. "$(dirname "$0")/lib.sh"

MK="$MAILROOM_BIN/../tests/sign_mkjob"
FX="$MAILROOM_BIN/../tests/verify_mkfix"
for tool in openssl certtool gs jq zip unzip; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool missing (scripts/deps.sh)" >&2; exit 1; }
done
for b in "$MK" "$FX" "$MAILROOM_BIN/mailroom" "$MAILROOM_BIN/mailroom-sign"; do
	[ -x "$b" ] || { echo "FAIL: $b not built" >&2; exit 1; }
done
pki
P="$VAR/pki"
OUT="$T/out.txt"
W="$T/w"
mkdir -p "$W"

# run mailroom verify ARGS...; output in $OUT; expect exit RC
expect() { # expect RC DESCRIPTION ARGS...
	local want=$1 what=$2 rc=0
	shift 2
	"$MAILROOM_BIN/mailroom" -c "$CONF" verify "$@" >"$OUT" 2>&1 || rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$what"; else
		bad "$what: exit $rc, expected $want"
		sed 's/^/    /' "$OUT" >&2
	fi
}
has() { # has REGEX DESCRIPTION
	if grep -Eq -- "$1" "$OUT"; then ok "$2"; else
		bad "$2: output lacks /$1/"
		sed 's/^/    /' "$OUT" >&2
	fi
}
hasnt() {
	if ! grep -Eq -- "$1" "$OUT"; then ok "$2"; else
		bad "$2: output has /$1/"
		sed 's/^/    /' "$OUT" >&2
	fi
}
jqt() { # jqt FILTER DESCRIPTION: the filter is true on $OUT
	if [ "$(jq -r "$1" "$OUT" 2>&1)" = true ]; then ok "$2"; else bad "$2: jq '$1' is not true"; fi
}
ossl() { openssl cms -verify -binary -inform DER -content "$1" -in "$2" -CAfile "$P/ca.pem" -out /dev/null 2>/dev/null; }
gnutls() { certtool --p7-verify --load-ca-certificate "$P/ca.pem" --load-data "$1" --infile "$2" --inder >/dev/null 2>&1; }
agree() { # agree DIR: openssl and certtool accept every X.p7s over X
	local s n=0
	for s in "$1"/*.p7s; do
		n=$((n + 1))
		ossl "${s%.p7s}" "$s" || { echo "openssl cms -verify rejects $s" >&2; return 1; }
		gnutls "${s%.p7s}" "$s" || { echo "certtool --p7-verify rejects $s" >&2; return 1; }
	done
	[ $n -gt 0 ]
}
copy() { # copy ID NAME: a copy of a sealed job directory, printed
	mkdir -p "$W/$2"
	cp -r "$S/$1" "$W/$2/"
	echo "$W/$2/$1"
}
flip() { # flip FILE OFFSET: change one byte
	local before
	before=$(sha256sum <"$1")
	printf '\x5a' | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
	[ "$before" != "$(sha256sum <"$1")" ] || printf '\xa5' | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
stamp() { # stamp P7S [verify_mkfix options]: add a signature-time-stamp in place
	local f=$1
	shift
	"$FX" stamp "$f" "$f.new" "$@" && mv "$f.new" "$f"
}
TSA=(--tsa-cert "$P/tsa.pem" --tsa-key "$P/tsa.key" --chain "$P/ca.pem")

# ---- letters sealed by the real sign stage ----------------------------------------
gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=pdfwrite -sOutputFile="$T/letter.pdf" - <<'EOF' >/dev/null 2>&1
%!PS
/Helvetica findfont 24 scalefont setfont 72 700 moveto (Rechnung 4711) show showpage
EOF
A=$("$MK" -c "$CONF" --gray --pages 2 --ocr-pdf "$T/letter.pdf") # ersetzend, ocr.pdf bound
B=$("$MK" -c "$CONF" --pages 1 --import "$T/letter.pdf")         # original.pdf sealed too
K=$("$MK" -c "$CONF" --mode kopierend --pages 1)                  # not sealed by design
stage sign 2>"$T/sign.log" || { bad "mailroom-sign"; cat "$T/sign.log" >&2; }
C=$("$MK" -c "$CONF" --pages 1) # ersetzend, still waiting in sign/incoming
S="$VAR/spool/export/incoming"

expect 0 "a sealed letter (B-B) verifies" "$S/$A"
has "^OK   job.json  \(record complete; ersetzend, sealed CAdES-B-B\)$" "A: record line"
has "^OK   scan.tiff  \(CAdES-B-B, seal \"Stadt Musterstadt \(TEST SEAL - not qualified\)\", TEST PKI, signing time 20[0-9-]{8}T[0-9:]{8}Z\)$" "A: scan.tiff OK line"
has "^OK   transfervermerk.xml  \(CAdES-B-B, .*; XSD valid, binds 2 file\(s\)\)$" "A: Transfervermerk sealed, valid, binding"
has "^OK   ocr.pdf  \(not sealed itself: bound by SHA-256 in transfervermerk.xml\)$" "A: ocr.pdf bound"
has "^all 4 file\(s\) OK: [0-9]+ checks passed$" "A: summary"
check "A: openssl cms -verify and certtool --p7-verify accept every seal" agree "$S/$A"
expect 0 "an imported letter verifies" "$S/$B"
has "^OK   original.pdf  \(CAdES-B-B, " "B: the original is sealed"
expect 0 "a kopierend letter verifies (not sealed by design)" "$S/$K"
has "^OK   scan.tiff  \(not sealed: the letter is kopierend\)$" "K: not sealed, said so"
expect 0 "FILE finds FILE.p7s" "$S/$A/scan.tiff"
has "^OK   $S/$A/scan.tiff  \(CAdES-B-B" "FILE: OK line"

expect 0 "--json" --json "$S/$A"
jqt '.ok and .summary.files == 4 and .summary.checks_failed == 0' "json: ok and summary"
jqt '[.files[] | .checks[] | has("name") and has("ok") and has("detail")] | all' "json: every check has name, ok, detail"
jqt '.files[] | select(.file == "scan.tiff") | .level == "CAdES-B-B" and .test_pki and .signature == "scan.tiff.p7s"' "json: scan.tiff level, TEST PKI"
jqt '[.files[] | select(.file == "scan.tiff") | .checks[].name] == ["structure","algorithms","message-digest","signed-attributes","signing-certificate","signature","certificate","time-stamp","record","bound"]' "json: the named checks"

# ---- CAdES-B-T: a signature-time-stamp added to the real B-B seals -----------------
D=$(copy "$A" bt)
stamp "$D/scan.tiff.p7s" "${TSA[@]}" && stamp "$D/transfervermerk.xml.p7s" "${TSA[@]}" && "$FX" rehash "$D" ||
	bad "verify_mkfix stamp"
expect 0 "B-T letter verifies" "$D"
has "^OK   scan.tiff  \(CAdES-B-T, seal \"Stadt Musterstadt \(TEST SEAL - not qualified\)\", TEST PKI, TSA time 20[0-9-]{8}T[0-9:]{8}Z\)$" "B-T: scan.tiff OK line"
has "^OK   transfervermerk.xml  \(CAdES-B-T, " "B-T: Transfervermerk"
check "B-T: openssl cms -verify and certtool accept the upgraded seals" agree "$D"
h=$("$FX" token "$D/scan.tiff.p7s" "$T/tok.der") || bad "verify_mkfix token"
check "B-T: openssl ts -verify accepts the token over the signature value" \
	openssl ts -verify -digest "$h" -in "$T/tok.der" -token_in -CAfile "$P/ca.pem" -untrusted "$P/tsa.pem"
other=$(printf '%064d' 0)
if openssl ts -verify -digest "$other" -in "$T/tok.der" -token_in -CAfile "$P/ca.pem" >/dev/null 2>&1; then
	bad "B-T: openssl ts -verify accepted the token for other data"
else ok "B-T: openssl ts -verify rejects the token for other data"; fi
expect 0 "B-T --json" --json "$D"
jqt '.files[] | select(.file == "scan.tiff") | .level == "CAdES-B-T" and .timestamp.policy == "1.3.6.1.4.1.99999.1" and (.timestamp.tsa | test("TEST TSA"))' "json: time-stamp reported"

# ---- negative controls: each fails its own check ------------------------------------
D=$(copy "$A" byte)
flip "$D/scan.tiff" 200
expect 1 "a changed content byte fails" "$D"
has "^FAILED scan.tiff: message-digest: the file does not match its signature" "byte: message-digest named"
has "^       FAILED record: SHA-256 or size differs from job.json" "byte: record mismatch too"
has "^FAILED job.json: record: " "byte: job_read refuses the record"
check "byte: openssl cms -verify rejects it as well" bash -c "! openssl cms -verify -binary -inform DER -content '$D/scan.tiff' -in '$D/scan.tiff.p7s' -CAfile '$P/ca.pem' -out /dev/null 2>/dev/null"
"$FX" rehash "$D" # whoever changed it also rewrote job.json
expect 1 "a changed byte with a rewritten record still fails" "$D"
has "^FAILED scan.tiff: message-digest: " "rehash: message-digest"
has "^FAILED transfervermerk.xml: binding: binds scan.tiff with SHA-256 " "rehash: the Transfervermerk's binding"
has "^OK   job.json " "rehash: the record itself is consistent"

D=$(copy "$A" attr)
"$FX" tamper-time "$D/scan.tiff.p7s" "$D/scan.tiff.p7s" && "$FX" rehash "$D" || bad "tamper-time"
expect 1 "a changed signed attribute fails" "$D"
has "^FAILED scan.tiff: signature: the signature value does not verify over the signed attributes" "attr: signature named"
hasnt "^       FAILED message-digest" "attr: the content still matches"
check "attr: openssl cms -verify rejects it as well" bash -c "! openssl cms -verify -binary -inform DER -content '$D/scan.tiff' -in '$D/scan.tiff.p7s' -CAfile '$P/ca.pem' -out /dev/null 2>/dev/null"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/other.key" -out "$T/other.pem" \
	-days 2 -subj "/CN=some other CA" -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null || bad "openssl: other CA"
expect 1 "a seal checked against another CA fails" --ca "$T/other.pem" "$S/$A"
has "^FAILED scan.tiff: certificate: the signer's certificate does not chain to the trusted CA" "other CA: certificate named"

D=$(copy "$A" imprint)
stamp "$D/scan.tiff.p7s" "${TSA[@]}" --imprint-of "some other data" && "$FX" rehash "$D" || bad "stamp other data"
expect 1 "a token over other data fails" "$D"
has "^FAILED scan.tiff: time-stamp: token 1: the time-stamp is over other data" "imprint: time-stamp named"
check "imprint: openssl cms -verify ignores unsigned attributes (mailroom verify does not)" ossl "$D/scan.tiff" "$D/scan.tiff.p7s"

D=$(copy "$A" noeku)
stamp "$D/scan.tiff.p7s" --raw --tsa-cert "$P/seal.pem" --tsa-key "$P/seal.key" && "$FX" rehash "$D" || bad "stamp raw"
expect 1 "a token from a certificate without EKU timeStamping fails" "$D"
has "^FAILED scan.tiff: time-stamp: token 1: the TSA certificate .* lacks the critical extendedKeyUsage timeStamping" "no EKU: named"
D=$(copy "$A" raw)
stamp "$D/scan.tiff.p7s" --raw --tsa-cert "$P/tsa.pem" --tsa-key "$P/tsa.key" && "$FX" rehash "$D" || bad "stamp raw tsa"
expect 0 "positive control: the same raw token from the TSA certificate passes" "$D"

D=$(copy "$A" tvbind)
printf 'x' >>"$D/ocr.pdf"
"$FX" rehash "$D"
expect 1 "a file that differs from the Transfervermerk's binding fails" "$D"
has "^FAILED transfervermerk.xml: binding: binds ocr.pdf with SHA-256 " "tv binding: named"
has "^FAILED ocr.pdf: bound: differs from the SHA-256 that the sealed transfervermerk.xml binds" "tv binding: the file named"
has "^OK   scan.tiff  \(CAdES-B-B" "tv binding: the scan itself is fine"

D=$(copy "$A" tvxsd)
sed -i 's#<Seiten>\([0-9]*\)</Seiten>#<Seiten>0</Seiten>#' "$D/transfervermerk.xml"
openssl cms -sign -binary -cades -in "$D/transfervermerk.xml" -signer "$P/seal.pem" -inkey "$P/seal.key" \
	-outform DER -out "$D/transfervermerk.xml.p7s" 2>/dev/null && "$FX" rehash "$D" || bad "openssl cms -sign -cades"
expect 1 "a validly sealed Transfervermerk that violates its XSD fails" "$D"
has "^FAILED transfervermerk.xml: schema: does not validate against " "tv xsd: schema named"
hasnt "^       FAILED (signature|message-digest|signing-certificate)" "tv xsd: its seal is valid (openssl -cades)"

D=$(copy "$A" nosig)
rm "$D/scan.tiff.p7s"
expect 1 "a missing .p7s fails" "$D"
has "^FAILED scan.tiff: sealed: there is no scan.tiff.p7s: job.json records the letter as sealed" "nosig: sealed named"
"$FX" rehash "$D"
expect 1 "a missing .p7s fails also when the record was rewritten" "$D"
has "^FAILED scan.tiff: sealed: " "nosig rehash: sealed named"

D=$(copy "$B" nodoc)
rm "$D/original.pdf"
expect 1 "a signature without its document fails" "$D"
has "^FAILED original.pdf: file: missing: its signature is here, the signed file is not" "nodoc: named"

expect 1 "an ersetzend letter that was not sealed yet fails" "$VAR/spool/sign/incoming/$C"
has "^FAILED scan.tiff: sealed: there is no scan.tiff.p7s: the letter is ersetzend and has not been sealed" "unsealed: named"
has "^FAILED transfervermerk.xml: file: missing" "unsealed: no Transfervermerk"

# ---- exit codes ----------------------------------------------------------------------
expect 66 "a missing argument: EX_NOINPUT" "$T/nonexistent.p7s"
expect 78 "an unusable CA: EX_CONFIG" --ca "$T/nonexistent.pem" "$S/$A"
expect 1 "a file without a signature" "$T/letter.pdf"
has "^FAILED $T/letter.pdf: signature: no signature" "no signature: named"
rc=0
"$MAILROOM_BIN/mailroom" -c "$CONF" verify >/dev/null 2>&1 || rc=$?
check "no argument: EX_USAGE" [ "$rc" -eq 64 ]
cp -r "$CONF" "$T/badconf"
echo "schema: ../nonexistent.xsd" >>"$T/badconf/signing.yaml"
rc=0
"$MAILROOM_BIN/mailroom" -c "$T/badconf" verify "$S/$A" >"$OUT" 2>&1 || rc=$?
check "a missing Transfervermerk schema: EX_CONFIG" [ "$rc" -eq 78 ]
has "schema: the schema .*nonexistent.xsd cannot be loaded" "missing schema named"

# ---- -v and --tsa-ca (options of mailroom.c) ------------------------------------------
if "$MAILROOM_BIN/mailroom" --help 2>&1 | grep -q -- "--tsa-ca"; then
	expect 0 "-v" -v "$S/$A"
	has "^       structure +OK +CMS SignedData, detached" "-v: structure line"
	has "^       time-stamp +- +no signature-time-stamp \(CAdES-B-B\)" "-v: time-stamp line"
	has "^       binding +OK +binds by SHA-256 and size: scan.tiff, ocr.pdf$" "-v: binding line"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/troot.key" -out "$T/troot.pem" \
		-days 2 -subj "/CN=verify separate TSA root" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign" 2>/dev/null &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/tsa2.key" -out "$T/tsa2.csr" \
			-subj "/CN=verify TSA of its own root" 2>/dev/null &&
		printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n' >"$T/tsa2.ext" &&
		openssl x509 -req -in "$T/tsa2.csr" -CA "$T/troot.pem" -CAkey "$T/troot.key" -CAcreateserial -days 2 \
			-extfile "$T/tsa2.ext" -out "$T/tsa2.pem" 2>/dev/null || bad "openssl: separate TSA PKI"
	D=$(copy "$A" tsa2)
	stamp "$D/scan.tiff.p7s" --tsa-cert "$T/tsa2.pem" --tsa-key "$T/tsa2.key" && "$FX" rehash "$D" || bad "stamp tsa2"
	expect 1 "a TSA of another root fails against the seal's CA" "$D"
	has "^FAILED scan.tiff: time-stamp: token 1: the TSA certificate does not chain to the trusted TSA CA" "tsa2: named"
	expect 0 "the same passes with --tsa-ca" --tsa-ca "$T/troot.pem" "$D"
	has "^OK   scan.tiff  \(CAdES-B-T, " "tsa2: B-T with --tsa-ca"
else
	echo "note: mailroom has no -v/--tsa-ca yet (tools/mailroom.c must pass them, see tools/README.md); skipped" >&2
fi

# ---- xdomea packages from the real dms-export -------------------------------------------
if [ -x "$MAILROOM_BIN/mailroom-dms-export" ] && [ -f "$MAILROOM_SHARED/xsd/xdomea_3.0.0/xdomea.xsd" ]; then
	stage dms-export 2>"$T/export.log" || { bad "mailroom-dms-export"; cat "$T/export.log" >&2; }
	uuid_of() { sed -n 's/.*"uuid": *"\([^"]*\)".*/\1/p' "$VAR/archive/$1/job.json" | head -1; }
	ZA=$(ls "$VAR"/vis-inbox/*/"$(uuid_of "$A")"_*.zip)
	ZK=$(ls "$VAR"/vis-inbox/*/"$(uuid_of "$K")"_*.zip)
	expect 0 "a replacing package verifies" "$ZA"
	has "^OK   [^ ]+_Information\.Information\.0101\.xml  \(xdomea message 0101, replacing scan, 3 document file\(s\)\)$" "pkg: message line"
	has "^OK   [0-9a-f-]+\.tiff  \(scan\.tiff: CAdES-B-B, seal " "pkg: scan sealed"
	has "^OK   [0-9a-f-]+\.pdf  \(ocr\.pdf: not sealed itself: bound by SHA-256 in transfervermerk\.xml\)$" "pkg: ocr.pdf bound"
	has "^OK   [0-9a-f-]+\.xml  \(transfervermerk\.xml: CAdES-B-B, .*XSD valid, binds 2 file\(s\)\)$" "pkg: Transfervermerk"
	mkdir -p "$T/pkg" && unzip -q "$ZA" -d "$T/pkg"
	check "pkg: openssl and certtool accept every seal in the package" agree "$T/pkg"
	expect 0 "a copying (kopierend) package verifies with a warning" "$ZK"
	has "^       WARN sealed: no signatures in the package: a copying scan" "pkg kopierend: warned"

	tiff=$(cd "$T/pkg" && ls ./*.tiff | head -1)
	tiff=${tiff#./}
	pdf=$(cd "$T/pkg" && ls ./*.pdf | head -1)
	pdf=${pdf#./}
	cp "$ZA" "$T/nosig.zip" && zip -qd "$T/nosig.zip" "$tiff.p7s"
	expect 1 "a package without the scan's seal fails" "$T/nosig.zip"
	has "^FAILED [^ ]+\.0101\.xml: manifest: names the seal $tiff\.p7s of scan\.tiff, not in the package" "pkg nosig: manifest"
	has "^FAILED $tiff: sealed: no $tiff\.p7s" "pkg nosig: sealed"
	cp "$ZA" "$T/nopdf.zip" && zip -qd "$T/nopdf.zip" "$pdf"
	expect 1 "a package without a named file fails" "$T/nopdf.zip"
	has "manifest: names $pdf \(ocr\.pdf\), not in the package" "pkg nopdf: manifest"
	has "binding: binds ocr\.pdf, which is missing" "pkg nopdf: Transfervermerk binding"
	flip "$T/pkg/$tiff" 100
	cp "$ZA" "$T/changed.zip" && (cd "$T/pkg" && zip -q "$T/changed.zip" "$tiff")
	expect 1 "a package with a changed scan fails" "$T/changed.zip"
	has "^FAILED $tiff: message-digest: the file does not match its signature" "pkg changed: message-digest"
	has "^FAILED [0-9a-f-]+\.xml: binding: binds scan\.tiff with SHA-256" "pkg changed: binding"
	echo extra >"$T/extra.txt"
	cp "$ZA" "$T/extra.zip" && (cd "$T" && zip -q "$T/extra.zip" extra.txt)
	expect 0 "a package with an unnamed extra file passes with a warning" "$T/extra.zip"
	has "WARN manifest: the message does not name: extra\.txt" "pkg extra: warned"
else
	echo "note: package part skipped (needs mailroom-dms-export and $MAILROOM_SHARED/xsd)" >&2
fi

finish
