# lib.sh - shared setup for the integration tests (sourced, not run).
#
# Creates a temporary tree with a copy of conf/, points MAILROOM_VAR at it, and
# offers the stage commands and checks. Everything a test leaves behind is
# removed at exit unless KEEP=1.
set -eu
: "${MAILROOM_SOURCE:?run through ctest}" "${MAILROOM_BIN:?run through ctest}"
MAILROOM_SHARED=${MAILROOM_SHARED:-$MAILROOM_SOURCE/../shared}
T=$(mktemp -d /tmp/mailroom-it.XXXXXX)
CONF=$T/conf
VAR=$T/var
export MAILROOM_VAR=$VAR
unset MAILROOM_CONF MAILROOM_FAULT
cp -r "$MAILROOM_SOURCE/conf" "$CONF"
# The shipped conf points at ../../shared for the xdomea schemas; from the copy, point at the real one.
# imports need not wait for a file to settle in tests
sed -i "s/^  stable_seconds: .*/  stable_seconds: 0/" "$CONF/scan.yaml"
if [ -f "$CONF/export.yaml" ]; then
	sed -i "s|^xsd:.*|xsd: $MAILROOM_SHARED/xsd/xdomea_3.0.0/xdomea.xsd|" "$CONF/export.yaml"
fi
mkdir -p "$VAR"
cleanup() {
	[ -f "$VAR/tsa/pid" ] && sh "$MAILROOM_SOURCE/scripts/tsa.sh" stop "$VAR" >/dev/null 2>&1
	[ "${KEEP:-0}" = 1 ] && echo "kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT

fails=0
passes=0
ok() { passes=$((passes + 1)); echo "ok: $*"; }
bad() { fails=$((fails + 1)); echo "FAIL: $*" >&2; }
check() { # check "description" command...
	local d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
finish() {
	echo "$passes passed, $fails failed"
	[ "$fails" -eq 0 ]
}
need_shared() {
	if [ ! -d "$MAILROOM_SHARED/$1" ]; then
		echo "SKIP: $MAILROOM_SHARED/$1 is absent (the shared test material is not beside this checkout)" >&2
		exit 77
	fi
}

# pki: the TEST PKI in $VAR/pki and a TEST TSA of this tree on a free port (stopped
# at exit), with conf/signing.yaml's tsa url pointed at it.
pki() {
	local url
	sh "$MAILROOM_SOURCE/scripts/pki.sh" "$VAR" >/dev/null
	url=$(MAILROOM_FAULT= sh "$MAILROOM_SOURCE/scripts/tsa.sh" start "$VAR" 0) || {
		echo "FAIL: cannot start the test TSA (scripts/tsa.sh)" >&2
		exit 1
	}
	sed -i "s|^  url: .*|  url: $url|" "$CONF/signing.yaml"
}
# softhsm_token: the test seal key on a SoftHSM2 token in $T/tok (scripts/softhsm.sh);
# sets URI (RFC 7512) and PIN; as root the token files belong to nobody, the user
# the key holder runs as. Ends the test when the token cannot be made.
softhsm_token() {
	export SOFTHSM2_CONF="$T/tok/softhsm2.conf"
	URI=$(sh "$MAILROOM_SOURCE/scripts/softhsm.sh" "$T/tok" "$VAR" 2>"$T/softhsm.err") ||
		{ bad "softhsm.sh: $(cat "$T/softhsm.err")"; finish; exit 1; }
	PIN=$(head -n 1 "$T/tok/user.pin")
	if [ "$(id -u)" = 0 ]; then
		chmod 711 "$T"
		chown -R nobody "$T/tok"
	fi
}
scan_import() { "$MAILROOM_BIN/mailroom-scan" -c "$CONF" --once --import "$1"; }
stage() { # stage classify|sign|dms-export [args]
	local s=$1
	shift
	"$MAILROOM_BIN/mailroom-$s" -c "$CONF" --once "$@"
}
pipeline() { stage classify && stage sign && stage dms-export; }
mailroom() { "$MAILROOM_BIN/mailroom" -c "$CONF" "$@"; }
sql() { sqlite3 "$VAR/journal.db" "$1"; }
count() { # count GLOB: number of existing paths
	local f c=0
	for f in $1; do [ -e "$f" ] && c=$((c + 1)); done
	echo $c
}
# Every letter in exactly one final place: a package, a routing slip, review or corrupt.
letters_in_spool() { count "$VAR/spool/*/incoming/* $VAR/spool/*/active/* $VAR/spool/*/tmp/*"; }
render_letters() { sh "$MAILROOM_SOURCE/scripts/sample-letters.sh" "$1" >/dev/null; }
# xdomea package checks: unzip -t, XSD, every signature against the CA.
check_package() {
	local zip=$1 d xml
	d=$(mktemp -d "$T/pkg.XXXXXX")
	unzip -tq "$zip" >/dev/null || { echo "unzip -t failed: $zip" >&2; return 1; }
	unzip -q "$zip" -d "$d"
	for xml in "$d"/*.xml; do
		grep -q 'urn:xoev-de:xdomea:schema' "$xml" || continue
		xmllint --noout --schema "$MAILROOM_SHARED/xsd/xdomea_3.0.0/xdomea.xsd" "$xml" 2>&1 ||
			{ echo "XSD invalid: $xml" >&2; return 1; }
	done
	return 0
}
