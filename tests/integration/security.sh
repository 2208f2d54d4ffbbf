#!/bin/bash
# security.sh - the security guarantees of issue 8, each proven against the real
# programs (docs/RELIABILITY-security.md lists them):
#   1. modes: after a whole pipeline run (SANE scan and import, classify, sign with
#      a PKCS#11 token, export, review, routing, resign) every directory below var/
#      is 0700 and every file 0600, except the VIS inbox packages (package_mode).
#   2. logs: a unique word of a letter and the token PIN appear in no stage's stderr
#      nor in the journal at the default level; the PIN not even at MAILROOM_DEBUG=1.
# The spool attacks, the journal chain and the limits are in security_spool.sh,
# security_journal.sh and security_limits.sh.
. "$(dirname "$0")/lib.sh"
need_shared xsd
pki
sed -i "s|^  url: .*|  url: $(sed -n "s/^  url: //p" "$CONF/signing.yaml")|" "$CONF/resign.yaml"

MODULE=/usr/lib/softhsm/libsofthsm2.so
if [ ! -f "$MODULE" ] || ! command -v softhsm2-util >/dev/null; then
	bad "SoftHSM2 is not installed ($MODULE, softhsm2-util): sh scripts/deps.sh"
	finish
	exit 1
fi
SIGN=$MAILROOM_BIN/mailroom-sign
MARK=Quittenbaumallee
LOGS=$T/logs
absent() { ! grep -qF -- "$1" "$2"; } # absent STRING FILE
mkdir -p "$LOGS"

# --- the letters: the samples plus one carrying the marker word --------------------
mkdir -p "$T/mk/scripts" "$T/mk/samples/letters"
cp "$MAILROOM_SOURCE/scripts/sample-letters.sh" "$T/mk/scripts/"
cp "$MAILROOM_SOURCE"/samples/letters/0[1-4]*.txt "$MAILROOM_SOURCE"/samples/letters/07*.txt "$T/mk/samples/letters/"
sed -e "s/^Anfrage zu .*/Anfrage $MARK Termin/" \
	-e "s/^kommen kann, /kommen kann, Adresse $MARK 7, /" \
	"$MAILROOM_SOURCE/samples/letters/06-brief.txt" >"$T/mk/samples/letters/06-brief.txt"
sh "$T/mk/scripts/sample-letters.sh" "$T/letters" >/dev/null

# --- the seal on a SoftHSM2 token, PIN from a file ---------------------------------
softhsm_token
sed -i -e "s|^key: .*|key: \"$URI\"|" -e "s|^# pkcs11_module: $MODULE|pkcs11_module: $MODULE|" \
	-e "s|^# pin_env: .*|pin_file: $T/tok/user.pin|" "$CONF/signing.yaml"
grep -q "^pin_file: $T/tok/user.pin" "$CONF/signing.yaml" || bad "signing.yaml: no pin_env example to replace"
check "the PIN is long enough to be searched for (${#PIN} characters)" [ ${#PIN} -ge 6 ]

# --- the whole pipeline, every stage's stderr kept ---------------------------------
# run NAME CMD...: stderr into $LOGS/NAME.log (appended)
run() {
	local n=$1
	shift
	"$@" 2>>"$LOGS/$n.log" >>"$LOGS/$n.out"
}
chmod 700 "$VAR" # made by lib.sh; settings_load creates an absent var/ 0700
mkdir -p "$T/import"
cp "$T"/letters/0[13467]*.pdf "$T/import/"
run scan "$MAILROOM_BIN/mailroom-scan" -c "$CONF" --once --import "$T/import"
run scan-sane "$MAILROOM_BIN/mailroom-scan" -c "$CONF" --once --sane test --pages 2 \
	--sane-option test-picture=Grid --sane-option resolution=100 --operator "op-sec"
run classify stage classify
# the grid picture waits for review: a person decides
for d in "$VAR"/spool/review/incoming/*; do
	[ -d "$d" ] || continue
	run review mailroom review "$(basename "$d")" --type brief --office hauptamt --by "Test"
done
run sign stage sign
run export stage dms-export
run resign "$MAILROOM_BIN/mailroom-resign" -c "$CONF"
run status mailroom status
run status-verify mailroom status --verify-journal
for a in "$VAR"/archive/*; do
	run show mailroom show "$(basename "$a")"
	run verify mailroom verify --ca "$VAR/pki/ca.pem" "$a"
done
check "no letter left in any spool queue" [ "$(letters_in_spool)" -eq 0 ]
check "6 letters archived" [ "$(count "$VAR/archive/*")" -eq 6 ]
check "packages delivered" [ "$(count "$VAR/vis-inbox/*/*.zip")" -ge 4 ]
check "a routing slip was printed" [ "$(count "$VAR/routing/*/*")" -ge 1 ]
check "the token sealed the letters" grep -q "mailroom-seal" "$LOGS/sign.log"
check "resign ran (resign.db exists)" [ -f "$VAR/resign.db" ]

# --- 1. modes -----------------------------------------------------------------------
# The VIS inbox packages have package_mode (conf/export.yaml, default 0640: the
# importer reads them through its group); everything else is ours alone.
pm=$(sed -n 's/^package_mode: *"\{0,1\}\([0-7]*\)"\{0,1\}.*/\1/p' "$CONF/export.yaml")
pm=${pm:-0640}
# badmodes: every path below var/ with another mode (pki/ and tsa/ are the tests' own)
badmodes() {
	cd "$VAR" && {
		find . -path ./pki -prune -o -path ./tsa -prune -o -type d ! -perm 0700 -printf 'dir %m %p\n'
		find . -path ./pki -prune -o -path ./tsa -prune -o -path './vis-inbox/*/*.zip' -prune \
			-o -type f ! -perm 0600 -printf 'file %m %p\n'
		find . -path './vis-inbox/*/*.zip' -type f ! -perm "$pm" -printf 'package %m %p\n'
		find . -path ./pki -prune -o -path ./tsa -prune -o ! -type f ! -type d -printf 'other %y %p\n'
	}
}
out=$(badmodes)
check "every directory below var/ is 0700, every file 0600 (packages $pm)${out:+: $(echo "$out" | head -n 20)}" \
	[ -z "$out" ]
# the journal's -wal and -shm exist while a stage runs
"$MAILROOM_BIN/mailroom-dms-export" -c "$CONF" 2>>"$LOGS/export.log" &
xpid=$!
for i in $(seq 50); do [ -e "$VAR/journal.db-wal" ] && [ -e "$VAR/journal.db-shm" ] && break; sleep 0.1; done
out=$(badmodes)
check "while a stage runs: journal.db-wal and -shm exist" test -e "$VAR/journal.db-wal" -a -e "$VAR/journal.db-shm"
check "while a stage runs: still every directory 0700, every file 0600${out:+: $(echo "$out" | head -n 20)}" \
	[ -z "$out" ]
kill "$xpid"
wait "$xpid" || true
for p in journal.db archive vis-inbox routing spool/review spool/classify/corrupt resign.db; do
	check "var/$p exists (the mode check saw it)" [ -e "$VAR/$p" ]
done
check "classify's PDF was checked" [ "$(count "$VAR/archive/*/ocr.pdf")" -ge 1 ]
check "scan's TIFFs were checked" [ "$(count "$VAR/archive/*/scan.tiff")" -ge 1 ]

# --- 2. logs ------------------------------------------------------------------------
check "positive control: OCR read the marker word" grep -qr "$MARK" "$VAR"/archive/*/ocr.txt
sqlite3 "$VAR/journal.db" .dump >"$LOGS/journal.dump"
for f in "$LOGS"/*.log "$LOGS/journal.dump"; do
	n=$(basename "$f")
	check "$n: no document content (marker word)${n:+}" absent "$MARK" "$f"
	check "$n: no PIN" absent "$PIN" "$f"
done
# MAILROOM_DEBUG=1: one more letter through every stage, the PIN still nowhere
mkdir -p "$T/import2"
cp "$T"/letters/02*.pdf "$T/import2/"
export MAILROOM_DEBUG=1
run dbg-scan scan_import "$T/import2"
run dbg-classify stage classify
run dbg-sign stage sign
run dbg-export stage dms-export
unset MAILROOM_DEBUG
check "debug run: the letter was sealed and delivered" [ "$(count "$VAR/archive/*")" -eq 7 ]
check "debug run: debug lines were logged" grep -q "debug" "$LOGS/dbg-sign.log"
for f in "$LOGS"/dbg-*.log; do
	check "MAILROOM_DEBUG=1 $(basename "$f"): no PIN" absent "$PIN" "$f"
done
check "stderr was captured (classify logged something)" [ -s "$LOGS/classify.log" ]
finish
