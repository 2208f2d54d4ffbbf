#!/bin/bash
# pipeline_corpus.sh - real third-party pages from ../shared/corpus through every
# stage: born-digital PDFs rendered like scans (pdftoppm, 300 dpi gray) and real
# receipt scans (JPEG). Every letter ends exactly once: in an inbox, as a routing
# slip, or waiting for review; none is lost, none quarantined; a decided letter
# has the type the corpus labels say (a wrong type fails, abstaining does not);
# every package is valid and every seal verifies.
. "$(dirname "$0")/lib.sh"
need_shared corpus
need_shared xsd
C=$MAILROOM_SHARED/corpus
pki
mkdir -p "$T/import"
n=0
# first page of labelled PDFs, rendered as a scanner would deliver it
while IFS="$(printf '\t')" read -r file label _; do
	case $label in rechnung | antrag | brief) ;; *) continue ;; esac
	base=$(basename "$file" .pdf)
	pdftoppm -r 300 -gray -tiff -tiffcompression lzw -f 1 -l 1 -singlefile "$C/$file" \
		"$T/import/$label--$base"
	n=$((n + 1))
	[ "$n" -lt 8 ] || break
done < <(tail -n +2 "$C/LABELS.tsv" | sort -t "$(printf '\t')" -k2,2 -k1,1)
# two real receipt scans, as they are
for f in softmatic-vision-data/A_real_15042020_04_01946.jpg softmatic-vision-data/A_toom_04042020_03_04877.jpg; do
	cp "$C/$f" "$T/import/quittung--$(basename "$f")"
	n=$((n + 1))
done
scan_import "$T/import"
check "$n corpus pages captured" [ "$(count "$VAR/spool/classify/incoming/*")" -eq "$n" ]
pipeline
check "no letter left in a processing queue" \
	[ "$(count "$VAR/spool/classify/incoming/* $VAR/spool/sign/incoming/* $VAR/spool/export/incoming/* $VAR/spool/*/active/*")" -eq 0 ]
check "no letter quarantined" [ "$(count "$VAR/spool/*/corrupt/*")" -eq 0 ]
done_n=$(count "$VAR/archive/*")
review_n=$(count "$VAR/spool/review/incoming/*")
check "every letter archived or in review ($done_n + $review_n = $n)" [ $((done_n + review_n)) -eq "$n" ]
right=0 wrong=0
for j in "$VAR"/archive/*/job.json "$VAR"/spool/review/incoming/*/job.json; do
	[ -e "$j" ] || continue
	want=$(jq -r .source.file "$j" | sed 's/--.*//')
	got=$(jq -r '.classification.type // "review"' "$j")
	if [ "$got" = review ]; then continue; fi
	if [ "$got" = "$want" ]; then right=$((right + 1)); else
		wrong=$((wrong + 1))
		echo "wrong type: $(jq -r .source.file "$j") classified as $got" >&2
	fi
done
echo "decided right: $right, wrong: $wrong, review: $review_n of $n"
check "no decided letter has a wrong type" [ "$wrong" -eq 0 ]
check "most letters are decided" [ "$right" -ge $((n / 2)) ]
packages=$(count "$VAR/vis-inbox/*/*.zip")
slips=$(count "$VAR/routing/*/*")
check "each archived letter delivered or routed once" [ $((packages + slips)) -eq "$done_n" ]
for zip in "$VAR"/vis-inbox/*/*.zip; do
	[ -e "$zip" ] || continue
	check "$(basename "$zip"): unzip -t and xdomea XSD" check_package "$zip"
	if unzip -l "$zip" | grep -q '\.p7s$'; then
		check "$(basename "$zip"): seals verify" mailroom verify --ca "$VAR/pki/ca.pem" "$zip"
	fi
done
finish
