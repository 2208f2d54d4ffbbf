#!/bin/bash
# ok() always succeeds, so "test && ok || fail" is an if-then-else here.
# shellcheck disable=SC2015
# sign_tsa.sh - the test TSA, the RFC 3161 client and CAdES-B-T with outside tools.
#
# Makes the TEST PKI, starts mailroom-test-tsa with scripts/tsa.sh (port 0) and
# checks: start is idempotent and status tells; the HTTP front refuses GET (405),
# a wrong Content-Type (400), a missing Content-Length (400), an oversized body
# (413); a token from tsa_stamp verifies with `openssl ts -verify` (and not
# for other data) and names the test policy; a CAdES-B-B from sign_cades_file,
# upgraded to B-T, still verifies with `openssl cms -verify` and GnuTLS
# `certtool --p7-verify`, and its embedded token (cut out with `openssl
# asn1parse`) verifies with `openssl ts -verify` over the signature value (and not
# over the content); a second upgrade says "already B-T" and changes nothing;
# MAILROOM_FAULT=tsa:1:exit kills the upgrade before the request with the file
# untouched; with the TSA stopped the upgrade is "later" (75); a restart keeps
# counting serial numbers; stop and status round trip.
set -u

SRC=${MAILROOM_SOURCE:?MAILROOM_SOURCE not set}
BIN=${MAILROOM_BIN:?MAILROOM_BIN not set}
HELPER="$BIN/../tests/sign_tsa_test"
export MAILROOM_BIN=$BIN
unset MAILROOM_FAULT

for tool in openssl certtool perl sha256sum; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool missing (scripts/deps.sh)" >&2; exit 1; }
done
[ -x "$HELPER" ] && [ -x "$BIN/mailroom-test-tsa" ] ||
	{ echo "FAIL: build sign_tsa_test and mailroom-test-tsa first" >&2; exit 1; }

TMP=$(mktemp -d)
V="$TMP/var"
P="$V/pki"
trap 'sh "$SRC/scripts/tsa.sh" stop "$V" >/dev/null 2>&1; rm -rf "$TMP"' EXIT
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@" >"$TMP/out" 2>"$TMP/err"; then ok "$what"; else fail "$what: $(head -c 600 "$TMP/err")"; fi
}
check_not() { # the command must fail
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then fail "$what (it succeeded)"; else ok "$what"; fi
}
tsa() { sh "$SRC/scripts/tsa.sh" "$@"; }
ts_verify() { # DATA TOKEN
	openssl ts -verify -data "$1" -in "$2" -token_in -CAfile "$P/ca.pem" -untrusted "$P/tsa.pem"
}
cms_verify() { # CONTENT P7S
	openssl cms -verify -binary -inform DER -content "$1" -in "$2" -CAfile "$P/ca.pem" \
		-purpose any -out /dev/null
}
gnutls_verify() { # CONTENT P7S
	certtool --p7-verify --load-ca-certificate "$P/ca.pem" --load-data "$1" --infile "$2" --inder
}
http() { # PORT REQUEST-BYTES: the status code of the answer
	local code
	exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf '%b' "$2" >&3
	read -r _ code _ <&3
	exec 3<&-
	echo "$code"
}

# --- the test TSA through scripts/tsa.sh -------------------------------------------
sh "$SRC/scripts/pki.sh" "$V" >/dev/null
check_not "tsa.sh status before start says not running" tsa status "$V"
URL=$(tsa start "$V" 0) && ok "tsa.sh start: $URL" || { fail "tsa.sh start"; exit 1; }
[[ $URL =~ ^http://127\.0\.0\.1:[0-9]+/$ ]] && ok "the URL is on loopback" || fail "URL $URL"
PORT=$(cat "$V/tsa/port")
[ "$(tsa start "$V" 0)" = "$URL" ] && ok "start when running prints the same URL" ||
	fail "second start gave another URL"
[ "$(pgrep -c -f "mailroom-test-tsa --pki $P")" = 1 ] && ok "one TSA process" || fail "TSA processes"
check "tsa.sh status says running" tsa status "$V"
grep -q "$URL" "$TMP/out" || fail "status does not name the URL"

# --- the HTTP front ----------------------------------------------------------------
[ "$(http "$PORT" 'GET / HTTP/1.0\r\n\r\n')" = 405 ] && ok "GET -> 405" || fail "GET not 405"
[ "$(http "$PORT" 'POST / HTTP/1.0\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\nx')" = 400 ] &&
	ok "wrong Content-Type -> 400" || fail "wrong Content-Type not 400"
[ "$(http "$PORT" 'POST / HTTP/1.0\r\nContent-Type: application/timestamp-query\r\n\r\n')" = 400 ] &&
	ok "no Content-Length -> 400" || fail "no Content-Length not 400"
[ "$(http "$PORT" 'POST / HTTP/1.0\r\nContent-Type: application/timestamp-query\r\nContent-Length: 70000\r\n\r\n')" = 413 ] &&
	ok "70000-byte body -> 413" || fail "oversized body not 413"
[ "$(http "$PORT" 'POST /x HTTP/1.0\r\nContent-Type: application/timestamp-query\r\nContent-Length: 1\r\n\r\nx')" = 404 ] &&
	ok "other path -> 404" || fail "other path not 404"

# --- a token from the client, checked by openssl ts --------------------------------
printf 'the bytes to stamp\n' >"$TMP/data.bin"
printf 'other bytes\n' >"$TMP/other.bin"
check "tsa_stamp gets a token" "$HELPER" stamp "$URL" "$P/ca.pem" "$TMP/data.bin" "$TMP/data.tst"
check "openssl ts -verify accepts the token" ts_verify "$TMP/data.bin" "$TMP/data.tst"
check_not "openssl ts -verify rejects it for other data" ts_verify "$TMP/other.bin" "$TMP/data.tst"
openssl ts -reply -in "$TMP/data.tst" -token_in -text >"$TMP/tst.txt" 2>/dev/null
grep -q "Policy OID: 1.3.6.1.4.1.99999.1" "$TMP/tst.txt" && ok "token has the test policy" ||
	fail "policy missing from the token"
grep -q "Nonce: 0x" "$TMP/tst.txt" && ok "token carries the nonce" || fail "no nonce in the token"
openssl cms -cmsout -print -inform DER -in "$TMP/data.tst" 2>/dev/null |
	grep -q "id-smime-aa-signingCertificateV2" && ok "token has ESSCertIDv2 (RFC 5816)" ||
	fail "no signing-certificate-v2 in the token"

# --- CAdES-B-B -> B-T ------------------------------------------------------------
head -c 300000 /dev/urandom >"$TMP/letter.pdf"
check "a B-B signature by sign_cades_file" "$HELPER" make-bb "$P/seal.key" "$P/seal.pem" \
	"$P/ca.pem" "$TMP/letter.pdf" "$TMP/letter.pdf.p7s"
check "B-B verifies (openssl cms)" cms_verify "$TMP/letter.pdf" "$TMP/letter.pdf.p7s"
cp "$TMP/letter.pdf.p7s" "$TMP/bb.p7s"
# a crash right before the request leaves the B-B as it was
MAILROOM_FAULT=tsa:1:exit "$HELPER" upgrade "$URL" "$P/ca.pem" "$TMP/letter.pdf.p7s" >/dev/null 2>&1
rc=$?
[ $rc = 99 ] && cmp -s "$TMP/bb.p7s" "$TMP/letter.pdf.p7s" &&
	ok "MAILROOM_FAULT=tsa:1:exit: killed before the request, file untouched" ||
	fail "fault exit: rc $rc or the file changed"
check "upgrade to B-T" "$HELPER" upgrade "$URL" "$P/ca.pem" "$TMP/letter.pdf.p7s"
grep -q added "$TMP/out" || fail "upgrade did not say added"
check "B-T verifies with openssl cms -verify" cms_verify "$TMP/letter.pdf" "$TMP/letter.pdf.p7s"
check "B-T verifies with GnuTLS certtool --p7-verify" gnutls_verify "$TMP/letter.pdf" "$TMP/letter.pdf.p7s"
cat "$TMP/out" "$TMP/err" | grep -q "Signature status: ok" || fail "certtool did not say 'Signature status: ok'"

# Cut the token and the signature value out with openssl asn1parse alone.
openssl asn1parse -inform DER -in "$TMP/letter.pdf.p7s" >"$TMP/asn1.txt"
off=$(awk '/:id-smime-aa-timeStampToken/ { f = 1; next }
	f == 1 && /cons: SET/ { f = 2; next }
	f == 2 { sub(/:.*/, "", $1); print $1; exit }' "$TMP/asn1.txt")
[ -n "$off" ] && ok "signature-time-stamp attribute present (token at offset $off)" ||
	fail "no id-smime-aa-timeStampToken in the B-T"
[ "$(grep -c ':id-smime-aa-timeStampToken' "$TMP/asn1.txt")" = 1 ] && ok "exactly one time-stamp" ||
	fail "not exactly one time-stamp"
openssl asn1parse -inform DER -in "$TMP/letter.pdf.p7s" -strparse "${off:-0}" -noout \
	-out "$TMP/embedded.tst" 2>/dev/null
awk '/cont \[ 1 \]/ { print prev; exit } /prim: OCTET STRING/ { prev = $0 }' "$TMP/asn1.txt" |
	sed 's/.*\[HEX DUMP\]://' | tr -d '\n' | perl -e 'local $/; print pack("H*", <STDIN>)' \
	>"$TMP/sigvalue.bin"
[ -s "$TMP/sigvalue.bin" ] && ok "signature value cut out ($(wc -c <"$TMP/sigvalue.bin") bytes)" ||
	fail "no signature value"
check "embedded token verifies over the signature value (openssl ts)" \
	ts_verify "$TMP/sigvalue.bin" "$TMP/embedded.tst"
check_not "embedded token does not verify over the content" ts_verify "$TMP/letter.pdf" "$TMP/embedded.tst"
# The B-B's signature value is the same bytes: nothing signed was re-made.
openssl asn1parse -inform DER -in "$TMP/bb.p7s" | awk '/prim: OCTET STRING/ { l = $0 } END { print l }' |
	sed 's/.*\[HEX DUMP\]://' | tr -d '\n' | perl -e 'local $/; print pack("H*", <STDIN>)' >"$TMP/bbsig.bin"
cmp -s "$TMP/bbsig.bin" "$TMP/sigvalue.bin" && ok "signature value unchanged by the upgrade" ||
	fail "signature value changed"

before=$(sha256sum <"$TMP/letter.pdf.p7s")
"$HELPER" upgrade "$URL" "$P/ca.pem" "$TMP/letter.pdf.p7s" >"$TMP/out" 2>&1
rc=$?
[ $rc = 1 ] && grep -q "already B-T" "$TMP/out" && ok "second upgrade: already B-T" ||
	fail "second upgrade: rc $rc $(cat "$TMP/out")"
[ "$before" = "$(sha256sum <"$TMP/letter.pdf.p7s")" ] && ok "second upgrade changed nothing" ||
	fail "second upgrade rewrote the file"
printf 'X' | dd of="$TMP/letter.pdf" bs=1 seek=1000 conv=notrunc status=none
check_not "a changed letter fails openssl cms -verify" cms_verify "$TMP/letter.pdf" "$TMP/letter.pdf.p7s"
check_not "a changed letter fails certtool" gnutls_verify "$TMP/letter.pdf" "$TMP/letter.pdf.p7s"

# --- stop, "later", restart, serial numbers ------------------------------------------
serial=$(cat "$V/tsa/serial")
check "tsa.sh stop" tsa stop "$V"
check_not "status after stop says not running" tsa status "$V"
check "stop when stopped is no error" tsa stop "$V"
cp "$TMP/bb.p7s" "$TMP/later.p7s"
"$HELPER" upgrade "$URL" "$P/ca.pem" "$TMP/later.p7s" >/dev/null 2>"$TMP/err"
rc=$?
[ $rc = 75 ] && grep -q "unreachable" "$TMP/err" && ok "TSA down: upgrade is 'later' (75)" ||
	fail "TSA down: rc $rc $(cat "$TMP/err")"
cmp -s "$TMP/bb.p7s" "$TMP/later.p7s" && ok "TSA down: file untouched" || fail "TSA down: file changed"
URL2=$(tsa start "$V" 0) && ok "restart: $URL2" || fail "restart"
check "upgrade after restart" "$HELPER" upgrade "$URL2" "$P/ca.pem" "$TMP/later.p7s"
[ "$(cat "$V/tsa/serial")" -gt "$serial" ] && ok "serial numbers go on after a restart" ||
	fail "serial file: $serial -> $(cat "$V/tsa/serial")"
grep -q '"POST / HTTP/1.1" -> 200 granted' "$V/tsa/tsa.log" && ok "one log line per request" ||
	fail "no request lines in tsa.log"
check "final stop" tsa stop "$V"

echo "sign_tsa: $fails failure(s)"
[ "$fails" -eq 0 ]
