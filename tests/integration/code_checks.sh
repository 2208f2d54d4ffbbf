#!/bin/bash
# code_checks.sh - functions that are never used in mailroom's programs (issue 8;
# STYLE.md): unbounded string writers (strcpy, strcat, sprintf, vsprintf, gets),
# conversions without error reporting (atoi, atol, atoll, atof), the shell
# (system, popen), racy temporary names (tmpnam, tempnam, mktemp), non-reentrant
# or non-cryptographic helpers (strtok, rand, srand). Checked over the production
# directories (tests and benchmarks may use system() to clean up). A positive
# control first proves the pattern finds a planted call. Each header compiling on
# its own is checked by the build itself (cmake/HeaderCheck.cmake).
set -u
: "${MAILROOM_SOURCE:?run through ctest}"
BANNED='strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|atof|system|popen|tmpnam|tempnam|mktemp|strtok|rand|srand'
# a call: the name not preceded by an identifier character, '.', '>' or '_' (so
# snprintf, strtok_r, RAND_bytes, x.system, p->rand do not count), then '('
PATTERN="(^|[^A-Za-z0-9_.>])($BANNED)[[:space:]]*\\("
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0

printf 'static void f(char *d) { strcpy(d, "x"); (void)atoi(d); snprintf(d, 1, "y"); }\n' >"$T/planted.c"
n=$(grep -cE "$PATTERN" "$T/planted.c")
[ "$n" = 1 ] || { echo "FAIL: the pattern does not find the planted calls ($n lines)" >&2; fails=$((fails + 1)); }
grep -E "$PATTERN" "$T/planted.c" | grep -q 'snprintf' && grep -oE "$PATTERN" "$T/planted.c" | grep -q snprintf &&
	{ echo "FAIL: snprintf counted as sprintf" >&2; fails=$((fails + 1)); }

cd "$MAILROOM_SOURCE" || exit 1
dirs=""
for d in util common scan classify sign dms-export tools tsa escl resign; do
	[ -d "$d" ] && dirs="$dirs $d"
done
# comments are not code: strip /* ... */ on one line and // ... before matching
# shellcheck disable=SC2086
# (and lines inside a block comment: they start with "*" or "/*")
hits=$(grep -nE "$PATTERN" --include='*.c' --include='*.h' -r $dirs |
	grep -vE '^[^:]+:[0-9]+:[[:space:]]*(\*|/\*)' |
	sed -E 's#/\*.*\*/##g; s#//.*$##' | grep -E "$PATTERN" || true)
if [ -n "$hits" ]; then
	echo "FAIL: banned functions in production code (use snprintf, strtol/strtoul with checks, fork+exec, mkstemp, strtok_r, RAND_bytes):" >&2
	echo "$hits" >&2
	fails=$((fails + 1))
fi
# shellcheck disable=SC2086
files=$(find $dirs -name '*.[ch]' | wc -l)
[ "$fails" -eq 0 ] || exit 1
echo "code_checks: no banned function in $files source files"
