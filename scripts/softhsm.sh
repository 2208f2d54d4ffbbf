#!/bin/sh
# softhsm.sh DIR VARDIR - put the TEST seal key into a SoftHSM2 token of its own.
#
#   DIR/softhsm2.conf   SoftHSM2 configuration with its token store in DIR/tokens
#                       (export SOFTHSM2_CONF=DIR/softhsm2.conf before using the token)
#   DIR/user.pin        the user PIN, mode 0600 (random, or $MAILROOM_TOKEN_PIN);
#                       give it to mailroom-sign as pin_file: DIR/user.pin
#   DIR/so.pin          the security officer PIN, mode 0600
#   token "mailroom-seal" holding VARDIR/pki/seal.key (from scripts/pki.sh) as the
#   private key "seal" with id 01, its public key and the certificate seal.pem.
#
# Prints the RFC 7512 URI of the key on stdout, e.g.
#   pkcs11:token=mailroom-seal;object=seal;id=%01;type=private
# which goes into conf/signing.yaml as key:, with pkcs11_module: set to the SoftHSM2
# module (found below, or $SOFTHSM_MODULE). Idempotent: an existing token, PIN and
# key are kept. Test material only: the key was a file before, so this token proves
# the PKCS#11 path, not the protection a real seal card or HSM gives.
set -eu

if [ $# -ne 2 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
	echo "usage: $0 DIR VARDIR   (token in DIR, key from VARDIR/pki/seal.key; prints the pkcs11: URI)" >&2
	exit 64
fi
DIR=$1
VARDIR=$2
LABEL=${MAILROOM_TOKEN_LABEL:-mailroom-seal}
OBJECT=seal
ID=01

for tool in softhsm2-util pkcs11-tool openssl; do
	command -v "$tool" >/dev/null 2>&1 ||
		{ echo "softhsm.sh: $tool not found (sh scripts/deps.sh installs softhsm2 and opensc)" >&2; exit 69; }
done
MODULE=${SOFTHSM_MODULE:-}
if [ -z "$MODULE" ]; then
	for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so /usr/lib64/softhsm/libsofthsm2.so \
		/usr/local/lib/softhsm/libsofthsm2.so; do
		if [ -f "$m" ]; then
			MODULE=$m
			break
		fi
	done
fi
if [ -z "$MODULE" ] || [ ! -f "$MODULE" ]; then
	echo "softhsm.sh: libsofthsm2.so not found; install softhsm2 or set SOFTHSM_MODULE" >&2
	exit 69
fi
if [ ! -s "$VARDIR/pki/seal.key" ] || [ ! -s "$VARDIR/pki/seal.pem" ]; then
	echo "softhsm.sh: $VARDIR/pki/seal.key or seal.pem missing; run scripts/pki.sh $VARDIR first" >&2
	exit 66
fi

umask 077
mkdir -p "$DIR/tokens"
DIR=$(cd "$DIR" && pwd)
chmod 700 "$DIR" "$DIR/tokens"
if [ ! -s "$DIR/softhsm2.conf" ]; then
	cat >"$DIR/softhsm2.conf.tmp" <<EOF
# SoftHSM2 configuration written by mailroom scripts/softhsm.sh (test token)
directories.tokendir = $DIR/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
slots.mechanisms = ALL
library.reset_on_fork = false
EOF
	mv "$DIR/softhsm2.conf.tmp" "$DIR/softhsm2.conf"
fi
SOFTHSM2_CONF=$DIR/softhsm2.conf
export SOFTHSM2_CONF

# newpin FILE: a random PIN (or $MAILROOM_TOKEN_PIN for the user PIN) unless FILE exists.
newpin() {
	if [ ! -s "$1" ]; then
		if [ "$2" = user ] && [ -n "${MAILROOM_TOKEN_PIN:-}" ]; then
			printf '%s\n' "$MAILROOM_TOKEN_PIN" >"$1.tmp"
		else
			openssl rand -hex 12 >"$1.tmp"
		fi
		chmod 600 "$1.tmp"
		mv "$1.tmp" "$1"
	fi
}
newpin "$DIR/user.pin" user
newpin "$DIR/so.pin" so
PIN=$(head -n 1 "$DIR/user.pin")
SOPIN=$(head -n 1 "$DIR/so.pin")

if ! softhsm2-util --show-slots 2>/dev/null | grep -q "Label: *$LABEL *\$"; then
	softhsm2-util --init-token --free --label "$LABEL" --so-pin "$SOPIN" --pin "$PIN" >/dev/null
	echo "softhsm.sh: created token $LABEL in $DIR/tokens" >&2
fi

# objects TYPE: the labels of the token's objects of that type (privkey, pubkey, cert).
objects() {
	pkcs11-tool --module "$MODULE" --token-label "$LABEL" --login --pin "$PIN" \
		--list-objects --type "$1" 2>/dev/null | sed -n 's/^ *label: *//p'
}
if ! objects privkey | grep -qx "$OBJECT"; then
	# softhsm2-util wants PKCS#8; pki.sh writes that already, convert to be sure.
	openssl pkcs8 -topk8 -nocrypt -in "$VARDIR/pki/seal.key" -out "$DIR/seal.p8.tmp"
	softhsm2-util --import "$DIR/seal.p8.tmp" --token "$LABEL" --label "$OBJECT" --id "$ID" \
		--pin "$PIN" >/dev/null || { rm -f "$DIR/seal.p8.tmp"; exit 1; }
	rm -f "$DIR/seal.p8.tmp"
	echo "softhsm.sh: imported $VARDIR/pki/seal.key as $OBJECT (id $ID)" >&2
fi
if ! objects cert | grep -qx "$OBJECT"; then
	openssl x509 -in "$VARDIR/pki/seal.pem" -outform DER -out "$DIR/seal.der.tmp"
	pkcs11-tool --module "$MODULE" --token-label "$LABEL" --login --pin "$PIN" \
		--write-object "$DIR/seal.der.tmp" --type cert --id "$ID" --label "$OBJECT" >/dev/null 2>&1 ||
		{ rm -f "$DIR/seal.der.tmp"; echo "softhsm.sh: cannot store seal.pem in the token" >&2; exit 1; }
	rm -f "$DIR/seal.der.tmp"
fi
objects privkey | grep -qx "$OBJECT" ||
	{ echo "softhsm.sh: the key $OBJECT is not in token $LABEL after the import" >&2; exit 1; }
echo "softhsm.sh: module $MODULE; export SOFTHSM2_CONF=$SOFTHSM2_CONF; PIN in $DIR/user.pin" >&2
echo "pkcs11:token=$LABEL;object=$OBJECT;id=%$ID;type=private"
