#!/bin/bash
# pipeline_sane.sh - one sheet from the SANE `test` scanner through every stage.
# Its grid picture has no text: classify must abstain (review, never a guess); a
# person decides with `mailroom review`; then it is sealed and delivered as a
# package whose XML validates and whose seals verify.
. "$(dirname "$0")/lib.sh"
need_shared xsd
pki
"$MAILROOM_BIN/mailroom-scan" -c "$CONF" --once --sane test --pages 2 \
	--sane-option test-picture=Grid --sane-option resolution=100 --operator "op-test-7"
id=$(ls "$VAR/spool/classify/incoming")
check "one letter captured" [ "$(count "$VAR/spool/classify/incoming/*")" -eq 1 ]
J="$VAR/spool/classify/incoming/$id/job.json"
check "capture metadata names device and operator" \
	[ "$(jq -r '[.source.kind, .capture.operator, .capture.page_count] | join(" ")' "$J")" = "sane op-test-7 2" ]
check "scan.tiff has 2 pages" [ "$(tiffinfo "$VAR/spool/classify/incoming/$id/scan.tiff" 2>/dev/null | grep -c 'TIFF Directory')" -eq 2 ]

stage classify
check "the text-less page waits for review" [ -d "$VAR/spool/review/incoming/$id" ]
check "the review reason is in the journal" \
	[ -n "$(sql "SELECT reason FROM letters WHERE job='$id' AND state='review'")" ]
mailroom review | grep -q "$id"
check "mailroom review lists it" [ $? -eq 0 ]
mailroom review "$id" --type brief --office hauptamt --by "Sachbearbeiterin Test" >/dev/null
check "the decision sends it to sign" [ -d "$VAR/spool/sign/incoming/$id" ]
stage sign
stage dms-export
check "delivered to hauptamt" [ "$(count "$VAR/vis-inbox/hauptamt/*.zip")" -eq 1 ]
for zip in "$VAR"/vis-inbox/hauptamt/*.zip; do
	check "package passes unzip -t and the xdomea XSD" check_package "$zip"
	check "every seal in the package verifies" mailroom verify --ca "$VAR/pki/ca.pem" "$zip"
done
check "decided_by review is recorded" \
	[ "$(jq -r .classification.decided_by "$VAR/archive/$id/job.json")" = "review" ]
check "Transfervermerk names the operator" grep -q "op-test-7" "$VAR/archive/$id/transfervermerk.xml"
check "show tells the story" sh -c "'$MAILROOM_BIN/mailroom' -c '$CONF' show '$id' | grep -q reviewed"
finish
