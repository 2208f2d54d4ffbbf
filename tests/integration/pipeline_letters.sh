#!/bin/bash
# pipeline_letters.sh - the whole pipeline on the German sample letters: each one
# ends exactly once where the Scankonzept sends it (a package in its office's
# inbox, or a routing slip for the paper), every package passes unzip -t, the
# official xdomea XSD and openssl cms -verify of every seal.
. "$(dirname "$0")/lib.sh"
need_shared xsd
pki
render_letters "$T/letters"
mkdir -p "$T/import"
cp "$T"/letters/*.pdf "$T/import/"
scan_import "$T/import"
check "import folder is empty after the import" [ "$(count "$T/import/*")" -eq 0 ]
check "7 letters queued for classify" [ "$(count "$VAR/spool/classify/incoming/*")" -eq 7 ]
pipeline
check "no letter left in any spool queue" [ "$(letters_in_spool)" -eq 0 ]
check "7 letters archived" [ "$(count "$VAR/archive/*")" -eq 7 ]

# file -> expected "type scan_mode office state"
expect() {
	f=$1 want=$2
	job=$(grep -l "\"file\": *\"$f\"" "$VAR"/archive/*/job.json 2>/dev/null | head -n 1)
	if [ -z "$job" ]; then bad "$f: not in the archive"; return; fi
	got=$(jq -r '[.classification.type, .classification.scan_mode, .classification.office,
		(if .export.package then "package" elif .export.routing then "routing" else "none" end)] | join(" ")' "$job")
	check "$f -> $want (got: $got)" [ "$got" = "$want" ]
}
expect 01-rechnung.pdf "rechnung ersetzend kaemmerei package"
expect 02-widerspruch.pdf "widerspruch ersetzend rechtsamt package"
expect 03-bauantrag.pdf "antrag ersetzend bauamt package"
expect 04-werbung.pdf "werbung nicht_scannen hauptamt routing"
expect 05-bewerbung.pdf "personal kopierend personalamt routing"
expect 06-brief.pdf "brief ersetzend buergeramt package"
expect 07-gericht.pdf "gericht kopierend rechtsamt package"

check "5 packages in the inboxes" [ "$(count "$VAR/vis-inbox/*/*.zip")" -eq 5 ]
check "2 routing slips" [ "$(count "$VAR/routing/*/*")" -eq 2 ]
check "rechtsamt gets 0605 FVDaten.SGOAblegen" [ "$(count "$VAR/vis-inbox/rechtsamt/*FVDaten.SGOAblegen.0605.zip")" -eq 2 ]
for zip in "$VAR"/vis-inbox/*/*.zip; do
	check "package $(basename "$(dirname "$zip")")/$(basename "$zip"): unzip -t and XSD" check_package "$zip"
	if unzip -l "$zip" | grep -q '\.p7s$'; then
		check "package $(basename "$zip"): every seal verifies (mailroom verify)" \
			mailroom verify --ca "$VAR/pki/ca.pem" "$zip"
	fi
done
# every seal of the replacing scans, with openssl directly, in the archive
for p7s in "$VAR"/archive/*/*.p7s; do
	data=${p7s%.p7s}
	check "openssl cms -verify $(basename "$(dirname "$p7s")")/$(basename "$p7s")" \
		openssl cms -verify -binary -inform DER -content "$data" -in "$p7s" \
		-CAfile "$VAR/pki/ca.pem" -out /dev/null
done
# Transfervermerk of every replacing scan validates against its schema
for tv in "$VAR"/archive/*/transfervermerk.xml; do
	check "Transfervermerk $(basename "$(dirname "$tv")") validates" \
		xmllint --noout --schema "$MAILROOM_SOURCE/sign/transfervermerk.xsd" "$tv"
done
# the kopierend package says Hybrid, the replacing ones Elektronisch
d=$(mktemp -d "$T/g.XXXX")
gjob=$(grep -l '"file": *"07-gericht.pdf"' "$VAR"/archive/*/job.json | head -n 1)
gzip=$(jq -r .export.package "$gjob")
unzip -q "$gzip" -d "$d"
medium() { grep -A3 '<xdomea:Medium' "$1"/*.xml | grep -o '<code>[0-9]*</code>' | head -n 1; }
check "kopierend letter is Medium 002 Hybrid" [ "$(medium "$d")" = "<code>002</code>" ]
check "kopierend letter carries no seal" [ "$(count "$d/*.p7s")" -eq 0 ]
r=$(mktemp -d "$T/r.XXXX")
rjob=$(grep -l '"file": *"01-rechnung.pdf"' "$VAR"/archive/*/job.json | head -n 1)
unzip -q "$(jq -r .export.package "$rjob")" -d "$r"
check "replacing letter is Medium 001 Elektronisch" [ "$(medium "$r")" = "<code>001</code>" ]
# journal: one delivery or routing per letter, chain intact
check "7 deliveries/routings in the journal" \
	[ "$(sql "SELECT count(*) FROM events WHERE action IN ('delivered','routed') AND outcome='ok'")" -eq 7 ]
check "journal hash chain intact" mailroom status --verify-journal
finish
