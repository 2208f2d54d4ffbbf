#!/bin/bash
# pipeline_corrupt.sh - bad input never stops the line: a corrupt TIFF, a truncated
# job record and a silently altered scan each end in their stage's corrupt/ with a
# message naming the letter and the fix; the other letters go through; a repaired
# letter is retried with `mailroom requeue`.
. "$(dirname "$0")/lib.sh"
need_shared xsd
pki
render_letters "$T/letters"
mkdir -p "$T/import"
# a corrupt TIFF: a valid header, then garbage
printf 'II*\000\010\000\000\000' >"$T/import/00-kaputt.tif"
head -c 3000 /dev/urandom >>"$T/import/00-kaputt.tif"
cp "$T/letters/01-rechnung.pdf" "$T/letters/06-brief.pdf" "$T/letters/02-widerspruch.pdf" "$T/import/"
scan_import "$T/import" 2>"$T/scan.err" || true
check "the corrupt TIFF is quarantined in scan/corrupt" [ "$(count "$VAR/spool/scan/corrupt/*")" -eq 1 ]
q=$(ls -d "$VAR"/spool/scan/corrupt/*)
check "its reason names the file" grep -q "00-kaputt.tif" "$q/QUARANTINE.txt"
check "the original bytes are kept with it" [ "$(count "$q/original.*")" -eq 1 ]
check "the good letters after it went through" [ "$(count "$VAR/spool/classify/incoming/*")" -eq 3 ]
check "mailroom status lists the quarantined letter" sh -c "'$MAILROOM_BIN/mailroom' -c '$CONF' status | grep -q '$(basename "$q")'"

set -- "$VAR"/spool/classify/incoming/*
trunc=$(basename "$1")
alter=$(basename "$2")
# a truncated job record (a crash of a foreign tool, a full disk)
truncate -s 100 "$VAR/spool/classify/incoming/$trunc/job.json"
stage classify 2>"$T/classify.err"
check "the truncated job is in classify/corrupt" [ -d "$VAR/spool/classify/corrupt/$trunc" ]
check "with a message saying what is wrong" grep -q "job.json" "$VAR/spool/classify/corrupt/$trunc/QUARANTINE.txt"
check "the log names the letter" grep -q "$trunc: quarantined" "$T/classify.err"
check "the other letters went on to sign" [ "$(count "$VAR/spool/sign/incoming/*")" -eq 2 ]

# a scan altered after classification: sign refuses to seal it
printf 'X' | dd of="$VAR/spool/sign/incoming/$alter/scan.tiff" bs=1 seek=200 conv=notrunc 2>/dev/null
stage sign 2>"$T/sign.err"
check "the altered scan is not sealed: sign/corrupt" [ -d "$VAR/spool/sign/corrupt/$alter" ]
check "reason: digest mismatch" grep -q "scan.tiff: content does not match" "$VAR/spool/sign/corrupt/$alter/QUARANTINE.txt"
check "no seal was written for it" [ "$(count "$VAR/spool/sign/corrupt/$alter/*.p7s")" -eq 0 ]
check "the third letter was sealed and went on" [ "$(count "$VAR/spool/export/incoming/*")" -eq 1 ]
stage dms-export
check "and was delivered" [ "$(count "$VAR/vis-inbox/*/*.zip")" -eq 1 ]

# requeue without repair: it comes back to corrupt, nothing is lost
mailroom requeue "$trunc" >/dev/null
check "requeue moves it back to classify/incoming" [ -d "$VAR/spool/classify/incoming/$trunc" ]
check "the requeue is journaled" [ "$(sql "SELECT count(*) FROM events WHERE job='$trunc' AND action='requeued'")" -eq 1 ]
stage classify 2>/dev/null
check "unrepaired, it is quarantined again" [ -d "$VAR/spool/classify/corrupt/$trunc" ]
check "every letter is somewhere: 4 letters, each once" \
	[ "$(count "$VAR/spool/*/*/* $VAR/archive/*")" -eq 4 ]
finish
