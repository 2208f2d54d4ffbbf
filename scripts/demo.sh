#!/bin/sh
# demo.sh [BUILD] - run the whole pipeline once on the SANE test scanner and on the
# German sample letters, then show where every letter went and check every package.
#
# Uses the shipped conf/ and var/ (an earlier var/ is kept as var.prev-<time>/).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$top/$build" ;; esac
bin="$build/bin"
conf="$top/conf"
var="$top/var"
unset MAILROOM_VAR MAILROOM_CONF

say() { printf '\n== %s\n' "$*"; }

if [ -d "$var" ]; then
	prev="$var.prev-$(date +%Y%m%d%H%M%S)"
	mv "$var" "$prev"
	echo "demo: kept the previous run in $prev"
fi
mkdir -p "$var"

say "Test PKI (test-only, never qualified) in var/pki"
sh "$top/scripts/pki.sh" "$var"

say "Test TSA (RFC 3161, test-only) on 127.0.0.1:3180 for the CAdES-B-T seals"
sh "$top/scripts/tsa.sh" start "$var" 3180
trap 'sh "$top/scripts/tsa.sh" stop "$var" >/dev/null 2>&1' EXIT

say "Sample letters (rendered from samples/letters with groff + ghostscript)"
sh "$top/scripts/sample-letters.sh" "$var/samples" >/dev/null
mkdir -p "$var/import"
cp "$var"/samples/*.pdf "$var/import/"
ls "$var/import"

say "1 scan: one sheet from the SANE 'test' scanner, then the import folder"
"$bin/mailroom-scan" -c "$conf" --once --sane test --pages 1 \
	--sane-option test-picture=Grid --sane-option resolution=150
"$bin/mailroom-scan" -c "$conf" --once --import "$var/import"

say "2 classify: OCR (tesseract deu+eng) and the Scankonzept"
"$bin/mailroom-classify" -c "$conf" --once

say "3 sign: Transfervermerk and CAdES seal for replacing scans (B-T with a time-stamp for integrity 'sehr hoch')"
"$bin/mailroom-sign" -c "$conf" --once

say "4 dms-export: xdomea packages into the office inboxes, routing slips for paper"
"$bin/mailroom-dms-export" -c "$conf" --once

say "Where each letter went, and why"
sqlite3 "$var/journal.db" "
SELECT '* ' || l.job || char(10) ||
       '    from:  ' || coalesce((SELECT detail FROM events e WHERE e.job = l.job AND e.stage = 'scan'
                 AND e.action = 'captured' ORDER BY seq LIMIT 1), '?') || char(10) ||
       '    type:  ' || coalesce((SELECT detail FROM events e WHERE e.job = l.job
                 AND e.action IN ('classified', 'review') ORDER BY seq DESC LIMIT 1), '-') ||
       coalesce(' [' || l.scan_mode || ']', '') || char(10) ||
       '    now:   ' || l.state || ': ' || coalesce(l.location, '') ||
       CASE WHEN l.state IN ('delivered', 'routed') THEN char(10) || '    out:   ' ||
            coalesce((SELECT detail FROM events e WHERE e.job = l.job
                      AND e.action IN ('delivered', 'routed') ORDER BY seq DESC LIMIT 1), '')
            ELSE '' END ||
       CASE WHEN l.reason IS NOT NULL AND l.reason <> '' THEN char(10) || '    why:   ' || l.reason ELSE '' END
FROM letters l ORDER BY l.created, l.job;"

"$bin/mailroom" -c "$conf" status

say "Checking every package in var/vis-inbox"
fail=0
for zip in "$var"/vis-inbox/*/*.zip; do
	[ -e "$zip" ] || continue
	d=$(mktemp -d)
	if ! unzip -tq "$zip" >/dev/null; then echo "FAILED unzip -t $zip"; fail=1; fi
	unzip -q "$zip" -d "$d"
	for xml in "$d"/*.xml; do
		case $(head -c 400 "$xml") in *urn:xoev-de:xdomea*) ;; *) continue ;; esac
		if xmllint --noout --schema "$top/../shared/xsd/xdomea_3.0.0/xdomea.xsd" "$xml" 2>/dev/null; then
			echo "OK   xdomea XSD   $(basename "$zip")"
		else
			echo "FAILED xdomea XSD $(basename "$zip")"; fail=1
		fi
	done
	if unzip -l "$zip" | grep -q '\.p7s$'; then
		if "$bin/mailroom" -c "$conf" verify "$zip" >"$d.verify" 2>&1; then
			echo "OK   signatures   $(basename "$zip"): $(grep -c '^OK' "$d.verify") seal(s) verify"
		else
			echo "FAILED signatures $(basename "$zip"):"; cat "$d.verify"; fail=1
		fi
		rm -f "$d.verify"
	else
		echo "--   no seal      $(basename "$zip") (kopierend: the paper original is kept)"
	fi
	rm -rf "$d"
done
say "Results"
echo "packages:      $(ls "$var"/vis-inbox/*/*.zip 2>/dev/null | wc -l) in $var/vis-inbox/<office>/"
echo "routing slips: $(ls "$var"/routing/*/* 2>/dev/null | wc -l) in $var/routing/<office>/"
echo "review:        $(ls "$var"/spool/review/incoming 2>/dev/null | wc -l) (decide with: build/bin/mailroom review)"
echo "journal:       $var/journal.db ('build/bin/mailroom show JOB' tells one letter's story)"
exit $fail
