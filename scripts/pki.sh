#!/bin/sh
# pki.sh VARDIR - create the TEST PKI of mailroom in VARDIR/pki/.
#
#   ca.pem  / ca.key    root CA "mailroom TEST Root CA - NOT QUALIFIED - test only"
#   seal.pem / seal.key ECDSA P-256 seal certificate "Stadt Musterstadt (TEST SEAL -
#                       not qualified)", keyUsage digitalSignature+nonRepudiation, no EKU,
#                       so `openssl cms -verify` (purpose smimesign) and GnuTLS
#                       `certtool --p7-verify` accept it without extra options
#   tsa.pem / tsa.key   time-stamping certificate (extendedKeyUsage critical
#                       timeStamping) for the TSA of a later issue
#
# Nothing here has legal value: mailroom-sign marks seals from this CA as
# "test_pki": true. Idempotent: files that exist are kept (a missing certificate is
# re-issued for its existing key). Keys are mode 0600, the directory 0700.
set -eu

if [ $# -ne 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
	echo "usage: $0 VARDIR    (creates VARDIR/pki/{ca,seal,tsa}.{pem,key})" >&2
	exit 64
fi
command -v openssl >/dev/null 2>&1 || { echo "pki.sh: openssl not found (apt-get install openssl)" >&2; exit 69; }

PKI="$1/pki"
umask 077
mkdir -p "$PKI"
chmod 700 "$PKI"
WORK=$(mktemp -d "$PKI/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM

CA_SUBJ="/C=DE/O=mailroom TEST PKI/CN=mailroom TEST Root CA - NOT QUALIFIED - test only"
SEAL_SUBJ="/C=DE/L=Musterstadt/O=Stadt Musterstadt/CN=Stadt Musterstadt (TEST SEAL - not qualified)"
TSA_SUBJ="/C=DE/O=mailroom TEST PKI/CN=mailroom TEST TSA - NOT QUALIFIED - test only"

cat >"$WORK/ext.cnf" <<'EOF'
[req]
distinguished_name = req_dn
[req_dn]

[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[seal]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[tsa]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

# newkey FILE: an EC P-256 key, written atomically, unless FILE exists.
newkey() {
	if [ -s "$1" ]; then
		return 0
	fi
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/key.pem"
	chmod 600 "$WORK/key.pem"
	mv "$WORK/key.pem" "$1"
	echo "pki.sh: created $1"
}

# serial: 128 random bits, positive.
serial() {
	echo "0x7$(openssl rand -hex 15)"
}

# issue NAME SUBJECT DAYS: NAME.pem for NAME.key, signed by the CA, unless it exists.
issue() {
	if [ -s "$PKI/$1.pem" ]; then
		return 0
	fi
	openssl req -new -key "$PKI/$1.key" -subj "$2" -out "$WORK/$1.csr"
	openssl x509 -req -in "$WORK/$1.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
		-set_serial "$(serial)" -days "$3" -sha256 \
		-extfile "$WORK/ext.cnf" -extensions "$1" -out "$WORK/$1.pem" 2>/dev/null
	chmod 644 "$WORK/$1.pem"
	mv "$WORK/$1.pem" "$PKI/$1.pem"
	echo "pki.sh: created $PKI/$1.pem"
}

newkey "$PKI/ca.key"
if [ ! -s "$PKI/ca.pem" ]; then
	openssl req -new -x509 -key "$PKI/ca.key" -subj "$CA_SUBJ" -days 3650 -sha256 \
		-set_serial "$(serial)" -config "$WORK/ext.cnf" -extensions ca \
		-out "$WORK/ca.pem" 2>/dev/null
	chmod 644 "$WORK/ca.pem"
	mv "$WORK/ca.pem" "$PKI/ca.pem"
	echo "pki.sh: created $PKI/ca.pem"
fi
newkey "$PKI/seal.key"
issue seal "$SEAL_SUBJ" 1095
newkey "$PKI/tsa.key"
issue tsa "$TSA_SUBJ" 1095

chmod 600 "$PKI"/*.key
openssl verify -CAfile "$PKI/ca.pem" "$PKI/seal.pem" "$PKI/tsa.pem" >/dev/null
echo "pki.sh: TEST PKI ready in $PKI (not qualified - for tests only)"
