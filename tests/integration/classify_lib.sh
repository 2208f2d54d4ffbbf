# classify_lib.sh - helpers for the classify integration tests (sourced).
#
# classify_setup        make $TMP (removed at exit), copy the shipped conf there
# classify_render SRC OUT   groff letter source -> 300 dpi G4 TIFF (multi-page)
# fail MSG              print and count a failure
# classify_conf_error WHAT PATTERN   mailroom-classify --once on $TMP/conf stops with
#                       exit 78 and a message "classify.yaml:LINE: ...PATTERN"

set -u
: "${MAILROOM_SOURCE:?MAILROOM_SOURCE must be set (run through ctest)}"
: "${MAILROOM_BIN:?MAILROOM_BIN must be set (run through ctest)}"
CLASSIFY="$MAILROOM_BIN/mailroom-classify"
DATA="$MAILROOM_SOURCE/tests/data/classify"
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

classify_setup() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/mailroom-classify-test.XXXXXX")
	trap 'rm -rf "$TMP"' EXIT
	cp -r "$MAILROOM_SOURCE/conf" "$TMP/conf"
	export MAILROOM_VAR="$TMP/var"
	for tool in groff gs jq; do
		command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
	done
	[ -x "$CLASSIFY" ] || { echo "missing $CLASSIFY (build mailroom-classify)" >&2; exit 1; }
}

classify_render() {
	groff -Kutf8 -Tps -dpaper=a4 -P-pa4 "$1" |
		gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=tiffg4 -r300 -sPAPERSIZE=a4 -o "$2" - ||
		{ echo "cannot render $1" >&2; exit 1; }
}

classify_conf_error() {
	local rc
	"$CLASSIFY" -c "$TMP/conf" --once 2>"$TMP/conf.err"
	rc=$?
	[ $rc -eq 78 ] || fail "$1: exit $rc, want 78 (EX_CONFIG)"
	grep -q "classify.yaml:[0-9]*:.*$2" "$TMP/conf.err" ||
		fail "$1: config error without file:line: $(cat "$TMP/conf.err")"
}
