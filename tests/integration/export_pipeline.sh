#!/bin/bash
# export_pipeline.sh - mailroom-dms-export on a temporary tree with real files:
# a TIFF, a PDF, a Transfervermerk and CMS seals made with a throwaway key.
#
#  A  ersetzend -> kaemmerei (0101): package in var/vis-inbox/kaemmerei, unzip -t,
#     the XML validates with xmllint against the real schema, the seals verify
#     inside the package, letter in var/archive, one "delivered" journal event,
#     job.json "export" with the package's SHA-256
#  B  kopierend -> rechtsamt (0605): Medium Hybrid, paper-follows note
#  C  non-pilot office -> routing slip, no package; D nicht_scannen -> slip
#  E  crash right after the delivery (fault injection): the re-run finds the
#     package and records it; no second package, one "delivered" event
#  F  the same letter put back into incoming after it was finished: no second
#     package (quarantined as a duplicate)
#  G  read-only inbox: deferred (RETRY.txt, still in incoming, journal
#     "deferred"), delivered once writable
#  H  full inbox (ENOSPC injected) and I  missing configured share: deferred
#  J  configuration errors stop the program with EX_CONFIG
set -euo pipefail

: "${MAILROOM_SOURCE:?}" "${MAILROOM_BIN:?}"
SHARED=${MAILROOM_SHARED:-$MAILROOM_SOURCE/../shared}
XSD=$SHARED/xsd/xdomea_3.0.0/xdomea.xsd
if [ ! -r "$XSD" ]; then
	echo "SKIP: $XSD not found (the shared xdomea schemas are absent)" >&2
	exit 77
fi
EXPORT=$MAILROOM_BIN/mailroom-dms-export
MKJOB=$MAILROOM_BIN/../tests/export_mkjob
DATA=$MAILROOM_SOURCE/tests/data/export
for b in "$EXPORT" "$MKJOB"; do
	[ -x "$b" ] || { echo "FAIL: $b not built (cmake --build ... --target mailroom-dms-export export_mkjob)" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/export_pipeline.XXXXXX)
trap 'rc=$?; if [ $rc -eq 0 ]; then rm -rf "$TMP"; else echo "left $TMP for inspection" >&2; fi' EXIT
cp -r "$MAILROOM_SOURCE/conf" "$TMP/conf"
sed -i "s|^xsd:.*|xsd: $XSD|" "$TMP/conf/export.yaml"
export MAILROOM_VAR=$TMP/var
unset MAILROOM_FAULT MAILROOM_CONF
VAR=$TMP/var
IN=$VAR/spool/export/incoming
INBOX=$VAR/vis-inbox
fails=0

fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
run() { "$EXPORT" -c "$TMP/conf" --once "$@"; }
events() { sqlite3 "$VAR/journal.db" "select count(*) from events where job='$1' and action='$2'"; }

# --- material: a throwaway seal key, a real TIFF and PDF ---
M=$TMP/material
mkdir -p "$M" "$IN"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=mailroom export test seal (throwaway)" \
	-keyout "$M/seal.key" -out "$M/seal.pem" 2>/dev/null
{ printf 'P5\n64 32\n255\n'; head -c 2048 /dev/urandom; } >"$M/page.pgm"
ppm2tiff -c zip "$M/page.pgm" "$M/scan.tiff"
printf '%%!PS\n/Helvetica findfont 12 scalefont setfont 72 720 moveto (Rechnung) show showpage\n' >"$M/p.ps"
gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=pdfwrite -sOutputFile="$M/ocr.pdf" "$M/p.ps"

# mkletter ID MODE OFFICE [seal]: a job in spool/export/incoming; prints the uuid
mkletter() {
	local id=$1 mode=$2 office=$3 seal=${4:-}
	local d=$TMP/build/$id
	mkdir -p "$d"
	cp "$M/scan.tiff" "$M/ocr.pdf" "$d/"
	local tpl=$DATA/job-kopierend.json
	if [ "$seal" = seal ]; then
		tpl=$DATA/job-ersetzend.json
		printf '<?xml version="1.0" encoding="UTF-8"?>\n<transfervermerk job="%s"/>\n' "$id" >"$d/transfervermerk.xml"
		for f in scan.tiff transfervermerk.xml; do
			openssl cms -sign -binary -in "$d/$f" -signer "$M/seal.pem" -inkey "$M/seal.key" \
				-outform DER -out "$d/$f.p7s"
		done
	fi
	"$MKJOB" "$d" "$tpl" classification.scan_mode="$mode" classification.office="$office"
	mv "$d" "$IN/$id"
}

# --- A: ersetzend to a pilot office (0101) ---
A=20261121T100000Z-00000000000000a1
UA=$(mkletter $A ersetzend kaemmerei seal)
cp -a "$IN/$A" "$TMP/snapshot-$A"
run
PKG=$INBOX/kaemmerei/${UA}_Information.Information.0101.zip
if [ -f "$PKG" ]; then ok "A: package $PKG"; else fail "A: no package $PKG"; ls -laR "$INBOX" >&2 || true; fi
unzip -tq "$PKG" >/dev/null && ok "A: unzip -t" || fail "A: unzip -t"
X=$TMP/x-$A
mkdir -p "$X" && unzip -q "$PKG" -d "$X"
XML=$X/${UA}_Information.Information.0101.xml
xmllint --noout --schema "$XSD" "$XML" 2>"$TMP/xmllint.err" && ok "A: xmllint validates" ||
	{ fail "A: xmllint"; cat "$TMP/xmllint.err" >&2; }
grep -q "<xdomea:ProzessID>$UA</xdomea:ProzessID>" "$XML" || fail "A: ProzessID"
grep -q '<code>001</code>' "$XML" || fail "A: Medium Elektronisch"
# every seal in the package verifies over its file in the package
nseal=0
for s in "$X"/*.p7s; do
	openssl cms -verify -binary -inform DER -in "$s" -content "${s%.p7s}" \
		-CAfile "$M/seal.pem" -purpose any -out /dev/null 2>/dev/null || fail "A: seal $s"
	grep -q "<xdomea:SignaturSiegelDatei>$(basename "$s")<" "$XML" || fail "A: $s not in message"
	nseal=$((nseal + 1))
done
[ $nseal -eq 2 ] && ok "A: 2 seals verify inside the package" || fail "A: $nseal seals"
cmp -s "$X/$(sed -n 's/.*<xdomea:Dateiname>\(.*\.tiff\)<.*/\1/p' "$XML")" "$M/scan.tiff" ||
	fail "A: scan.tiff in the package differs"
[ -d "$VAR/archive/$A" ] && [ ! -e "$IN/$A" ] && ok "A: archived" || fail "A: not in archive"
[ "$(events $A delivered)" = 1 ] && ok "A: one delivered event" || fail "A: delivered events"
grep -q "\"sha256\": *\"$(sha256sum "$PKG" | cut -d' ' -f1)\"" "$VAR/archive/$A/job.json" &&
	ok "A: job.json export.sha256 matches" || fail "A: export.sha256"
grep -q '"message_type": *"0101"' "$VAR/archive/$A/job.json" || fail "A: message_type"
ls -A "$INBOX/kaemmerei" | grep -q '\.tmp$' && fail "A: tmp left in inbox"
[ "$(sqlite3 "$VAR/journal.db" "select state from letters where job='$A'")" = delivered ] ||
	fail "A: letter state"

# --- B: kopierend to the 0605 office ---
B=20261121T100100Z-00000000000000b1
UB=$(mkletter $B kopierend rechtsamt)
run
PKGB=$INBOX/rechtsamt/${UB}_FVDaten.SGOAblegen.0605.zip
unzip -tq "$PKGB" >/dev/null && ok "B: 0605 package" || fail "B: no 0605 package"
unzip -p "$PKGB" "${UB}_FVDaten.SGOAblegen.0605.xml" >"$TMP/b.xml"
xmllint --noout --schema "$XSD" "$TMP/b.xml" 2>/dev/null && ok "B: xmllint validates" || fail "B: xmllint"
grep -q '<name>Hybrid</name>' "$TMP/b.xml" && grep -q 'Papieroriginal folgt' "$TMP/b.xml" &&
	ok "B: Hybrid, paper follows" || fail "B: Hybrid note"

# --- C, D: routing slips ---
C=20261121T100200Z-00000000000000c1
mkletter $C ersetzend personalamt seal >/dev/null
D=20261121T100300Z-00000000000000d1
mkletter $D nicht_scannen kaemmerei >/dev/null
run
SC=$(ls "$VAR/routing/personalamt/"*"_$C.txt" 2>/dev/null || true)
[ -n "$SC" ] && grep -q 'Personalamt' "$SC" && grep -q 'must NOT be destroyed' "$SC" &&
	ok "C: routing slip $SC" || fail "C: routing slip"
[ -z "$(ls "$INBOX/personalamt" 2>/dev/null)" ] && ok "C: no package" || fail "C: package for non-pilot"
[ "$(events $C routed)" = 1 ] && [ -d "$VAR/archive/$C" ] || fail "C: routed event / archive"
SD=$(ls "$VAR/routing/kaemmerei/"*"_$D.txt" 2>/dev/null || true)
[ -n "$SD" ] && grep -q 'Nicht scannen' "$SD" && ok "D: nicht_scannen slip" || fail "D: slip"
[ "$(ls "$INBOX/kaemmerei" | wc -l)" = 1 ] || fail "D: extra package in kaemmerei"

# --- E: crash right after the delivery ---
E=20261121T100400Z-00000000000000e1
UE=$(mkletter $E ersetzend bauamt seal)
set +e
MAILROOM_FAULT=delivered:1 run 2>"$TMP/e.err"
rc=$?
set -e
[ $rc = 99 ] && ok "E: crashed after delivery (rc 99)" || fail "E: rc $rc, expected the injected exit"
[ -d "$VAR/spool/export/active/$E" ] || fail "E: letter not left in active"
PKGE=$INBOX/bauamt/${UE}_Information.Information.0101.zip
SUME=$(sha256sum "$PKGE" | cut -d' ' -f1)
run 2>"$TMP/e2.err"
[ "$(ls "$INBOX/bauamt" | wc -l)" = 1 ] && [ "$(sha256sum "$PKGE" | cut -d' ' -f1)" = "$SUME" ] &&
	ok "E: no second package, the first untouched" || fail "E: package rewritten or duplicated"
[ -d "$VAR/archive/$E" ] && [ "$(events $E delivered)" = 1 ] && ok "E: recorded once, archived" ||
	fail "E: archive / delivered events $(events $E delivered)"
grep -q '"earlier_run": *"package found complete' "$VAR/archive/$E/job.json" || fail "E: job.json does not say earlier run"

# --- F: a finished letter put back into incoming ---
cp -a "$TMP/snapshot-$A" "$IN/$A"
run 2>"$TMP/f.err" || fail "F: exit status $?"
[ "$(ls "$INBOX/kaemmerei" | wc -l)" = 1 ] && ok "F: no second package" || fail "F: second package"
[ -d "$VAR/spool/export/corrupt/$A" ] && grep -q 'already archived' "$VAR/spool/export/corrupt/$A/QUARANTINE.txt" &&
	ok "F: duplicate quarantined" || fail "F: duplicate not quarantined"
[ "$(events $A delivered)" = 1 ] || fail "F: delivered events"

# --- K: crash after job.json says done, before the move to the archive ---
K=20261121T100450Z-00000000000000a2
mkletter $K ersetzend hauptamt seal >/dev/null
set +e
MAILROOM_FAULT=rename:4 run 2>"$TMP/k.err" # claim, intent, record, archive move
rc=$?
set -e
[ $rc = 99 ] && [ -d "$VAR/spool/export/active/$K" ] &&
	grep -q '"stage": *"export"' "$VAR/spool/export/active/$K/job.json" ||
	fail "K: precondition: expected a crash at the archive move (rc $rc; did the rename count change?)"
run 2>"$TMP/k2.err"
[ -d "$VAR/archive/$K" ] && [ "$(events $K delivered)" = 1 ] && [ "$(ls "$INBOX/hauptamt" | wc -l)" = 1 ] &&
	ok "K: finished at restart, one package, one delivered event" || fail "K: not finished"
# the archived (finished) letter copied back into incoming: never delivered again
cp -a "$VAR/archive/$K" "$IN/$K"
rm -rf "$IN/$K/RETRY.txt"
mv "$VAR/archive/$K" "$TMP/archived-$K" && cp -a "$TMP/archived-$K" "$VAR/archive/$K"
run 2>"$TMP/k3.err"
[ -d "$VAR/spool/export/corrupt/$K" ] && [ "$(ls "$INBOX/hauptamt" | wc -l)" = 1 ] &&
	[ "$(events $K delivered)" = 1 ] && ok "K: finished letter put back: quarantined, no second package" ||
	fail "K: finished letter put back"

# --- G: read-only inbox ---
G=20261121T100500Z-00000000000000f1
UG=$(mkletter $G ersetzend buergeramt seal)
mkdir -p "$INBOX/buergeramt"
chmod 0500 "$INBOX/buergeramt"
if [ "$(id -u)" = 0 ]; then
	# root ignores permission bits: run as an unprivileged user in a user namespace
	# (our files appear owned by that user there).
	if unshare --user --map-user=1000 true 2>/dev/null; then
		unshare --user --map-user=1000 "$EXPORT" -c "$TMP/conf" --once 2>"$TMP/g.err"
	else
		echo "note: root without user namespaces: read-only simulated by EROFS injection is not possible; using ENOSPC" >&2
		MAILROOM_FAULT=write:1:enospc run 2>"$TMP/g.err"
	fi
else
	run 2>"$TMP/g.err"
fi
[ -f "$IN/$G/RETRY.txt" ] && ok "G: deferred: $(cut -d' ' -f3- "$IN/$G/RETRY.txt")" || fail "G: not deferred"
[ "$(events $G deferred)" = 1 ] || fail "G: deferred event"
[ -z "$(ls -A "$INBOX/buergeramt")" ] || fail "G: something written into the read-only inbox"
chmod 0700 "$INBOX/buergeramt"
sed -i 's/^[0-9]* /0 /' "$IN/$G/RETRY.txt" # the retry time has come
run
[ -f "$INBOX/buergeramt/${UG}_Information.Information.0101.zip" ] && [ -d "$VAR/archive/$G" ] &&
	[ "$(events $G delivered)" = 1 ] && ok "G: delivered once writable" || fail "G: not delivered after"

# --- H: full inbox ---
H=20261121T100600Z-0000000000000011
mkletter $H ersetzend sozialamt seal >/dev/null
MAILROOM_FAULT=write:1:enospc run 2>"$TMP/h.err"
grep -q 'is full' "$IN/$H/RETRY.txt" 2>/dev/null && ok "H: full inbox deferred" || fail "H: full inbox"
[ -z "$(ls -A "$INBOX/sozialamt" 2>/dev/null)" ] || fail "H: half-written file left in the inbox"

# --- I: a configured share that is not mounted ---
cp -r "$TMP/conf" "$TMP/conf-share"
sed -i "s|^  # inbox: .*|  inbox: $TMP/share|" "$TMP/conf-share/mailroom.yaml"
grep -q "inbox: $TMP/share" "$TMP/conf-share/mailroom.yaml" || fail "I: could not configure the share"
sed -i 's/^[0-9]* /0 /' "$IN/$H/RETRY.txt"
"$EXPORT" -c "$TMP/conf-share" --once 2>"$TMP/i.err"
grep -q 'mount the VIS share' "$IN/$H/RETRY.txt" && [ ! -e "$TMP/share" ] &&
	ok "I: missing share deferred, not created" || fail "I: missing share"

# --- J: configuration errors ---
cp -r "$TMP/conf" "$TMP/conf-bad"
echo "colour: blue" >>"$TMP/conf-bad/export.yaml"
set +e
"$EXPORT" -c "$TMP/conf-bad" --once 2>"$TMP/j.err"; rc=$?
set -e
[ $rc = 78 ] && grep -q "export.yaml:[0-9]*: unknown key 'colour'" "$TMP/j.err" &&
	ok "J: unknown key -> EX_CONFIG with file:line" || { fail "J: unknown key rc $rc"; cat "$TMP/j.err" >&2; }
sed -i '$d' "$TMP/conf-bad/export.yaml"
sed -i "s|^xsd:.*|xsd: /nonexistent/xdomea.xsd|" "$TMP/conf-bad/export.yaml"
set +e
"$EXPORT" -c "$TMP/conf-bad" --once 2>"$TMP/j2.err"; rc=$?
set -e
[ $rc = 78 ] && grep -q '/nonexistent/xdomea.xsd' "$TMP/j2.err" && ok "J: missing schema -> EX_CONFIG" ||
	{ fail "J: missing schema rc $rc"; cat "$TMP/j2.err" >&2; }

# nothing half-written under a final name, ever
for z in "$INBOX"/*/*.zip; do unzip -tq "$z" >/dev/null || fail "broken package $z"; done

if [ $fails -ne 0 ]; then
	echo "FAIL: $fails check(s) failed" >&2
	exit 1
fi
echo "PASS"
