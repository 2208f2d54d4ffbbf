#!/bin/bash
# sign_keyiso.sh - the process that reads the letters never holds the seal key.
#
# Runs mailroom-sign as a daemon on a temporary tree, lets it seal a letter (so it
# has decoded the TIFF and had a signature made), then reads the memory of
# mailroom-sign and of its key holder (/proc/PID/maps + /proc/PID/mem, by
# `sign_key_test --memsearch`) and searches both for the private EC scalar of the
# seal (big-endian as in the key file, little-endian as in an OpenSSL BIGNUM).
#   PEM key:   the holder's memory must contain the scalar (positive control: the
#              search works), mailroom-sign's must not; mailroom-sign's must
#              contain the certificate's public point (its memory was really read).
#   SoftHSM2:  the same key in a token (scripts/softhsm.sh), PIN given by pin_env
#              (pin_file in sanitizer builds). The holder only has a handle, so the
#              PIN is the marker: the holder must hold it (libp11 keeps it for
#              re-login), mailroom-sign must hold neither the PIN (its copy of the
#              environment is wiped) nor the scalar.
# Exit 77 when the kernel does not let us read another process's memory.
# shellcheck disable=SC2015 source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
set +e

SIGN="$MAILROOM_BIN/mailroom-sign"
MKJOB="$MAILROOM_BIN/../tests/sign_mkjob"
KT="$MAILROOM_BIN/../tests/sign_key_test"
MODULE=/usr/lib/softhsm/libsofthsm2.so
[ -x "$SIGN" ] && [ -x "$MKJOB" ] && [ -x "$KT" ] && [ -x "$MAILROOM_BIN/mailroom" ] ||
	{ echo "FAIL: build mailroom-sign, mailroom, sign_mkjob and sign_key_test first" >&2; exit 1; }
command -v openssl >/dev/null || { echo "FAIL: openssl missing (scripts/deps.sh)" >&2; exit 1; }

pki
hexof() { od -An -v -tx1 | tr -d ' \n'; }
reverse() { fold -w2 | tac | tr -d '\n'; }
# the private scalar: "priv:" block of openssl pkey -text, 32 bytes (a leading 00 dropped)
BE=$(openssl pkey -in "$VAR/pki/seal.key" -text -noout | awk '/^priv:/{f=1;next} /^[a-zA-Z]/{f=0} f' | tr -d ' :\n')
BE=${BE: -64}
LE=$(printf %s "$BE" | reverse)
# the public point (65 bytes, uncompressed): in every process that has the certificate
PUB=$(openssl x509 -in "$VAR/pki/seal.pem" -noout -pubkey | openssl pkey -pubin -outform DER | tail -c 65 | hexof)
[ ${#BE} = 64 ] && [ ${#PUB} = 130 ] && ok "scalar and public point of seal.key read" || { bad "cannot read seal.key"; finish; exit 1; }

SPID=
stop_sign() {
	[ -n "$SPID" ] || return 0
	kill -TERM "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SPID=
}
trap 'stop_sign; cleanup' EXIT

# start_sign LOG: mailroom-sign as a daemon; seals one new letter; sets SPID and HPID.
start_sign() {
	local id p
	id=$("$MKJOB" -c "$CONF" --color --pages 2) || { bad "sign_mkjob"; return 1; }
	"$SIGN" -c "$CONF" 2>"$1" &
	SPID=$!
	for _ in $(seq 1 300); do
		[ -f "$VAR/spool/export/incoming/$id/scan.tiff.p7s" ] && break
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -f "$VAR/spool/export/incoming/$id/scan.tiff.p7s" ]; then
		bad "mailroom-sign did not seal $id: $(head -c 800 "$1")"
		return 1
	fi
	openssl cms -verify -binary -inform DER -content "$VAR/spool/export/incoming/$id/scan.tiff" \
		-in "$VAR/spool/export/incoming/$id/scan.tiff.p7s" -CAfile "$VAR/pki/ca.pem" -out /dev/null 2>/dev/null &&
		ok "the daemon sealed a letter that verifies" || bad "the seal of $id does not verify"
	HPID=
	for p in /proc/[0-9]*; do
		[ "$(awk '{print $4}' "$p/stat" 2>/dev/null)" = "$SPID" ] && HPID=${p#/proc/}
	done
	[ -n "$HPID" ] && ok "key holder pid $HPID under mailroom-sign pid $SPID" || { bad "no key holder process"; return 1; }
}

# count OUTPUT HEX: the count memsearch printed for HEX
count_of() { printf '%s\n' "$1" | awk -v h="$2" '$1 == h {print $2}'; }

# search PID HEX...: memsearch output into $OUT; exits 77 when memory cannot be read
search() {
	local rc
	OUT=$("$KT" --memsearch "$@" 2>"$T/memsearch.err")
	rc=$?
	if [ $rc = 77 ]; then
		echo "SKIP: cannot read the memory of pid $1 ($(cat "$T/memsearch.err")): ptrace is not permitted here (run as root or with CAP_SYS_PTRACE)" >&2
		stop_sign
		exit 77
	fi
	[ $rc = 0 ] || { bad "memsearch $1 failed: $(cat "$T/memsearch.err")"; OUT=; }
}

# --- PEM key ---------------------------------------------------------------------
if start_sign "$T/sign-pem.log"; then
	search "$HPID" "$BE" "$LE" "$PUB"
	h=$(( $(count_of "$OUT" "$BE") + $(count_of "$OUT" "$LE") ))
	[ "$h" -gt 0 ] && ok "PEM: the key holder's memory holds the scalar ($h times; the search works)" ||
		bad "PEM: scalar not found in the key holder - the search is broken: $OUT"
	search "$SPID" "$BE" "$LE" "$PUB"
	s=$(( $(count_of "$OUT" "$BE") + $(count_of "$OUT" "$LE") ))
	[ "$(count_of "$OUT" "$PUB")" -gt 0 ] && ok "PEM: mailroom-sign's memory was read (public point found)" ||
		bad "PEM: public point not found in mailroom-sign: $OUT"
	[ "$s" = 0 ] && ok "PEM: mailroom-sign's memory does not hold the private scalar" ||
		bad "PEM: the private scalar is in mailroom-sign's memory ($s times)"
	grep -q "seal: EC prime256v1" "$T/sign-pem.log" || bad "PEM: no seal line in the log"

	# a key holder killed under a running daemon: the next letter is deferred, not lost
	kill -KILL "$HPID"
	id=$("$MKJOB" -c "$CONF" --pages 1)
	for _ in $(seq 1 100); do
		grep -q "$id: deferred" "$T/sign-pem.log" && break
		sleep 0.1
	done
	grep -q "$id: deferred.*retried later" "$T/sign-pem.log" && [ -f "$VAR/spool/sign/incoming/$id/RETRY.txt" ] &&
		ok "killed key holder: the letter is deferred with a clear reason" ||
		bad "killed key holder: $id not deferred: $(tail -n 3 "$T/sign-pem.log")"
	stop_sign
	mailroom requeue "$id" --now >/dev/null 2>&1 || bad "mailroom requeue $id --now"
	"$SIGN" -c "$CONF" --once 2>"$T/sign-restart.log"
	[ -f "$VAR/spool/export/incoming/$id/scan.tiff.p7s" ] &&
		ok "a restarted mailroom-sign (new key holder) seals the deferred letter" ||
		bad "deferred letter not sealed after the restart: $(cat "$T/sign-restart.log")"
fi
stop_sign

# --- SoftHSM2 token, PIN from the environment -------------------------------------
if [ ! -f "$MODULE" ] || ! command -v softhsm2-util >/dev/null; then
	bad "SoftHSM2 is not installed ($MODULE, softhsm2-util): sh scripts/deps.sh"
	finish
	exit 1
fi
softhsm_token
# A sanitizer runtime keeps its own copy of the start environment (it reads
# /proc/self/environ at start-up), out of our reach: there the PIN comes from a file.
if grep -qa __asan_init "$SIGN"; then
	PINCONF="pin_file: $T/tok/user.pin"
	echo "note: sanitizer build - PIN from pin_file (the runtime copies the environment)"
else
	PINCONF="pin_env: MAILROOM_SEAL_PIN"
fi
sed -i -e "s|^key: .*|key: \"$URI\"|" -e "s|^# pkcs11_module: $MODULE|pkcs11_module: $MODULE|" \
	-e "s|^# pin_env: .*|$PINCONF|" "$CONF/signing.yaml"
grep -q "^pkcs11_module: $MODULE" "$CONF/signing.yaml" || bad "signing.yaml has no pkcs11_module example to enable"
PINHEX=$(printf %s "$PIN" | hexof)
case $PINCONF in pin_env*) export MAILROOM_SEAL_PIN="$PIN" ;; esac
start_sign "$T/sign-token.log"
ok_started=$?
unset MAILROOM_SEAL_PIN
if [ $ok_started = 0 ]; then
	grep -q "on token 'mailroom-seal'" "$T/sign-token.log" && ok "token: mailroom-sign uses the SoftHSM2 key" ||
		bad "token: the log does not name the token: $(cat "$T/sign-token.log")"
	search "$HPID" "$PINHEX" "$BE" "$LE"
	[ "$(count_of "$OUT" "$PINHEX")" -gt 0 ] && ok "token: the key holder's memory holds the PIN (the search works)" ||
		bad "token: PIN not found in the key holder - the search is broken: $OUT"
	search "$SPID" "$PINHEX" "$BE" "$LE" "$PUB"
	[ "$(count_of "$OUT" "$PUB")" -gt 0 ] && ok "token: mailroom-sign's memory was read (public point found)" ||
		bad "token: public point not found in mailroom-sign: $OUT"
	[ "$(count_of "$OUT" "$PINHEX")" = 0 ] && ok "token: mailroom-sign's memory does not hold the PIN" ||
		bad "token: the PIN is in mailroom-sign's memory"
	[ $(( $(count_of "$OUT" "$BE") + $(count_of "$OUT" "$LE") )) = 0 ] &&
		ok "token: mailroom-sign's memory does not hold the private scalar" || bad "token: scalar in mailroom-sign"
	grep -q "$PIN" "$T/sign-token.log" && bad "token: the PIN is in the log"
	stop_sign
	[ ! -e "/proc/$HPID" ] && ok "SIGTERM: mailroom-sign ends and reaps its key holder" ||
		bad "the key holder $HPID outlived mailroom-sign: $(cat "/proc/$HPID/stat" 2>/dev/null)"
fi
stop_sign

# --- start-up errors name the fix and never the PIN ----------------------------------
# expect_config DESCRIPTION PATTERN: mailroom-sign --once must stop with EX_CONFIG
expect_config() {
	local rc
	"$SIGN" -c "$CONF" --once 2>"$T/bad.log"
	rc=$?
	if [ $rc = 78 ] && grep -q -- "$2" "$T/bad.log" && ! grep -q "$PIN" "$T/bad.log"; then ok "$1"; else
		bad "$1: exit $rc, $(cat "$T/bad.log")"
	fi
}
cp "$CONF/signing.yaml" "$T/signing.good"
echo "Zz-Wrong-Pin-Zz" >"$T/wrong.pin"
sed -i -e "s|^pin_env: .*|pin_file: $T/wrong.pin|" -e "s|^pin_file: .*|pin_file: $T/wrong.pin|" "$CONF/signing.yaml"
expect_config "wrong token PIN stops the start" "login failed"
grep -q "Zz-Wrong-Pin-Zz" "$T/bad.log" && bad "the wrong PIN is echoed"
cp "$T/signing.good" "$CONF/signing.yaml"
sed -i "s|^pkcs11_module: .*||" "$CONF/signing.yaml"
expect_config "pkcs11: key without pkcs11_module names signing.yaml:line" "signing.yaml:[0-9]*: key: is a pkcs11: URI"
cp "$T/signing.good" "$CONF/signing.yaml"
sed -i -e "s|^key: .*|key: \"pkcs11:token=mailroom-seal;object=nosuch\"|" \
	-e "s|^pin_env: .*|pin_file: $T/tok/user.pin|" "$CONF/signing.yaml"
expect_config "a missing token object names the keys there" "no private key matches.*'seal' id %01"
finish
