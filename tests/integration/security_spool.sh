#!/bin/bash
# security_spool.sh - hostile entries in the spool and hostile ids given to the
# mailroom command (issue 8; docs/RELIABILITY-security.md). In every consuming
# stage's incoming/ (classify, sign, dms-export) and in review/ and corrupt/:
#   a job directory that is a symlink to a letter elsewhere or to /etc, one owned
#   by another uid, a job whose job.json is a symlink, a payload file that is a
#   symlink or a hard link to a file outside:
# each is refused with a message naming it, nothing is read through the link
# (the target's atime stays old), nothing outside var/ moves or changes, and the
# real letter in the same queue goes on (positive control). Then ids with "../"
# and odd characters given to mailroom show/requeue/review/verify.
. "$(dirname "$0")/lib.sh"
need_shared xsd
pki
OUT=$T/outside
mkdir -p "$OUT"
# another uid's job directories need root (chown); without it those checks are skipped
root=0
if [ "$(id -u)" = 0 ]; then root=1; else echo "SKIP: not root: the checks of another uid's job directories" >&2; fi
newid() { printf '20261122T000000Z-%s' "$(openssl rand -hex 8)"; }
# clone TEMPLATE DIR: a copy of a job directory under another id (job.json says so)
clone() {
	local id
	id=$(basename "$2")
	cp -a "$1" "$2"
	jq --arg id "$id" '.id = $id' "$1/job.json" >"$2/job.json"
}
# payload DIR: the first payload file of a job
payload() { jq -r '.files | keys[0]' "$1/job.json"; }
# state PATH: a fingerprint of a tree outside var/ (names, sizes, modes, contents)
state() { (cd "$1" && find . -printf '%p %s %m %n\n' | sort && find . -type f -exec sha256sum {} + | sort); }
# atime_old FILE: set the access time before the modification time (relatime then
# updates it on the next read); atime_same FILE: not read since
atime_old() { touch -a -d '2000-01-01 00:00:00' "$1"; }
atime_same() { [ "$(stat -c %X "$1")" = "$(date -d '2000-01-01 00:00:00' +%s)" ]; }

# --- one real letter per stage as templates ----------------------------------------
render_letters "$T/letters"
mkdir -p "$T/imp" "$T/tpl"
cp "$T/letters/01-rechnung.pdf" "$T/imp/"
scan_import "$T/imp" 2>/dev/null
mv "$VAR"/spool/classify/incoming/* "$T/tpl/classify"
cp "$T/letters/06-brief.pdf" "$T/letters/02-widerspruch.pdf" "$T/imp/"
scan_import "$T/imp" 2>/dev/null
stage classify 2>/dev/null
ids=$(ls "$VAR/spool/sign/incoming")
set -- $ids
check "two letters classified for the templates" [ $# -eq 2 ]
mv "$VAR/spool/sign/incoming/$1" "$T/tpl/sign"
stage sign 2>/dev/null
mv "$VAR/spool/export/incoming/$2" "$T/tpl/export"
check "templates for classify, sign and export" \
	test -f "$T/tpl/classify/job.json" -a -f "$T/tpl/sign/job.json" -a -f "$T/tpl/export/job.json"

# where ID: every place below var/ that holds ID
where() { (cd "$VAR" && find . -name "$1" -printf '%h\n' | sort | tr '\n' ' '); }

# attack SPOOL PROGRAM NEXTPLACE: plant the hostile entries in spool/SPOOL/incoming,
# run the stage once and check each refusal
attack() {
	local sp=$1 prog=$2 next=$3 in=$VAR/spool/$1/incoming tpl=$T/tpl/$1 log=$T/$1.log
	local L1 L2 F J P H good pf before etc_before
	L1=$(newid) L2=$(newid) F=$(newid) J=$(newid) P=$(newid) H=$(newid)
	good=$(jq -r .id "$tpl/job.json")
	pf=$(payload "$tpl")
	# a) a job directory that is a symlink to a letter elsewhere
	clone "$tpl" "$OUT/$L1"
	ln -s "$OUT/$L1" "$in/$L1"
	# b) ... to /etc
	ln -s /etc "$in/$L2"
	# c) a job directory owned by another uid
	[ $root = 1 ] && clone "$tpl" "$in/$F" && chown -R 65534 "$in/$F"
	# d) job.json a symlink to a record outside
	clone "$tpl" "$in/$J"
	mv "$in/$J/job.json" "$OUT/$J.json"
	ln -s "$OUT/$J.json" "$in/$J/job.json"
	# e) a payload file that is a symlink to a file outside (same bytes, digest matches)
	clone "$tpl" "$in/$P"
	mv "$in/$P/$pf" "$OUT/$P.$pf"
	ln -s "$OUT/$P.$pf" "$in/$P/$pf"
	# f) a payload file that is a hard link to a file outside
	clone "$tpl" "$in/$H"
	mv "$in/$H/$pf" "$OUT/$H.$pf"
	ln "$OUT/$H.$pf" "$in/$H/$pf"
	# the real letter
	mv "$tpl" "$in/$good"
	before=$(state "$OUT") # reads every file: the atimes are set after it
	atime_old "$OUT/$L1/job.json"
	atime_old "$OUT/$J.json"
	atime_old "$OUT/$P.$pf"
	etc_before=$(ls -la /etc | sha256sum)

	"$MAILROOM_BIN/$prog" -c "$CONF" --once 2>"$log" || true

	check "$sp: the real letter goes on ($next)" test -d "$VAR/$next/$good"
	check "$sp: a symlinked job dir is refused by name" \
		grep -q "$L1: refusing spool entry in $sp/incoming: a symbolic link" "$log"
	check "$sp: ... left as it was (still the symlink in incoming/, nowhere else)" \
		test -L "$in/$L1" -a "$(where "$L1")" = "./spool/$sp/incoming "
	check "$sp: ... nothing read through it (atime of the target's job.json)" atime_same "$OUT/$L1/job.json"
	check "$sp: a symlink to /etc is refused by name" \
		grep -q "$L2: refusing spool entry in $sp/incoming: a symbolic link" "$log"
	check "$sp: ... left as it was" test -L "$in/$L2" -a "$(readlink "$in/$L2")" = /etc
	if [ $root = 1 ]; then
		check "$sp: a job dir of another uid is refused by name" \
			grep -q "$F: refusing spool entry in $sp/incoming: owned by another user" "$log"
		check "$sp: ... left as it was" test "$(where "$F")" = "./spool/$sp/incoming " -a "$(stat -c %u "$in/$F")" = 65534
	fi
	check "$sp: a job.json symlink is quarantined with the reason" \
		grep -q "job.json is a symbolic link" "$VAR/spool/$sp/corrupt/$J/QUARANTINE.txt"
	check "$sp: ... not read through (atime)" atime_same "$OUT/$J.json"
	check "$sp: a payload symlink is quarantined with the reason" \
		grep -q "$pf is a symbolic link" "$VAR/spool/$sp/corrupt/$P/QUARANTINE.txt"
	check "$sp: ... not read through (atime)" atime_same "$OUT/$P.$pf"
	check "$sp: a payload hard link is quarantined with the reason" \
		grep -q "$pf has 2 hard links" "$VAR/spool/$sp/corrupt/$H/QUARANTINE.txt"
	check "$sp: the log names each quarantined letter" \
		sh -c "grep -q '$J: quarantined' '$log' && grep -q '$P: quarantined' '$log' && grep -q '$H: quarantined' '$log'"
	check "$sp: nothing outside var/ changed" test "$(state "$OUT")" = "$before"
	check "$sp: /etc untouched" test "$(ls -la /etc | sha256sum)" = "$etc_before"
	check "$sp: the symlinks stay symlinks in corrupt/" test -L "$VAR/spool/$sp/corrupt/$J/job.json" -a -L "$VAR/spool/$sp/corrupt/$P/$pf"
	# mailroom requeue refuses the planted entries in incoming (not quarantined)
	check "$sp: mailroom requeue of the symlinked job dir refuses" sh -c \
		"! '$MAILROOM_BIN/mailroom' -c '$CONF' requeue '$L1' 2>/dev/null"
	check "$sp: ... and it stays where it was" test -L "$in/$L1"
	if [ $root = 1 ]; then
		check "$sp: mailroom requeue of the foreign job dir refuses" sh -c \
			"! '$MAILROOM_BIN/mailroom' -c '$CONF' requeue '$F' 2>/dev/null"
		check "$sp: ... and it stays where it was" test "$(where "$F")" = "./spool/$sp/incoming "
	fi
	rm -f "$in/$L1" "$in/$L2"
	rm -rf "$in/$F"
}
# relatime/strictatime must update the atime on a read, or the atime checks prove nothing
echo x >"$OUT/probe"
atime_old "$OUT/probe"
cat "$OUT/probe" >/dev/null
if atime_same "$OUT/probe"; then
	echo "SKIP: $OUT is mounted noatime: the 'not read through' checks are not meaningful" >&2
	atime_same() { true; }
fi
rm -f "$OUT/probe"

attack classify mailroom-classify spool/sign/incoming
attack sign mailroom-sign spool/export/incoming
attack export mailroom-dms-export archive

# --- scan: links in the import folder ----------------------------------------------------
mkdir -p "$T/imp2"
cp "$T/letters/04-werbung.pdf" "$OUT/hard.pdf"
cp "$T/letters/03-bauantrag.pdf" "$OUT/soft.pdf"
ln -s /etc/passwd "$T/imp2/passwd.pdf"
ln -s "$OUT/soft.pdf" "$T/imp2/soft.pdf"
ln "$OUT/hard.pdf" "$T/imp2/hard.pdf"
before=$(state "$OUT")
atime_old "$OUT/soft.pdf"
cp "$T/letters/07-gericht.pdf" "$T/imp2/"
n0=$(count "$VAR/spool/classify/incoming/*")
scan_import "$T/imp2" 2>"$T/scan.log" || true
check "import: the real file is imported" [ "$(count "$VAR/spool/classify/incoming/*")" -eq $((n0 + 1)) ]
for f in passwd.pdf soft.pdf; do
	check "import: a symlink ($f) is refused by name" grep -q "import: refusing '$f': a symbolic link" "$T/scan.log"
	check "import: ... and stays in the folder" test -L "$T/imp2/$f"
done
check "import: a hard link is refused by name" grep -q "import: refusing 'hard.pdf': a hard link" "$T/scan.log"
check "import: ... and stays in the folder" test -f "$T/imp2/hard.pdf"
check "import: nothing read through the symlink (atime)" atime_same "$OUT/soft.pdf"
check "import: nothing quarantined for the links (not read at all)" [ "$(count "$VAR/spool/scan/corrupt/*")" -eq 0 ]
check "import: nothing outside changed" test "$(state "$OUT")" = "$before"
rm -f "$OUT/hard.pdf" "$OUT/soft.pdf"

# --- the mailroom command: planted entries in review/ and corrupt/ --------------------
tpl=$(ls -d "$VAR"/archive/* | head -n 1)
R1=$(newid) C1=$(newid) C2=$(newid)
clone "$tpl" "$OUT/$R1"
ln -s "$OUT/$R1" "$VAR/spool/review/incoming/$R1"
clone "$tpl" "$OUT/$C1"
echo "planted" >"$OUT/$C1/QUARANTINE.txt"
ln -s "$OUT/$C1" "$VAR/spool/classify/corrupt/$C1"
if [ $root = 1 ]; then
	clone "$tpl" "$VAR/spool/classify/corrupt/$C2"
	echo "planted" >"$VAR/spool/classify/corrupt/$C2/QUARANTINE.txt"
	chown -R 65534 "$VAR/spool/classify/corrupt/$C2"
fi
before=$(state "$OUT")
# tool CMD...: run mailroom, stderr in $T/tool.err, "rc=N" in $T/tool.rc
tool() {
	local rc=0
	"$MAILROOM_BIN/mailroom" -c "$CONF" "$@" >"$T/tool.out" 2>"$T/tool.err" || rc=$?
	echo $rc >"$T/tool.rc"
}
refused() { [ "$(cat "$T/tool.rc")" != 0 ] && grep -q -- "$1" "$T/tool.err"; }
tool review "$R1" --type brief --office hauptamt --by "Test"
check "review of a symlink in review/incoming is refused ($(cat "$T/tool.err"))" refused "$R1"
check "... it stays a symlink, nothing went to sign" \
	test -L "$VAR/spool/review/incoming/$R1" -a ! -e "$VAR/spool/sign/incoming/$R1"
tool review
check "mailroom review does not list the symlink" sh -c "! grep -q '$R1' '$T/tool.out'"
tool requeue "$C1"
check "requeue of a symlink in corrupt/ is refused ($(cat "$T/tool.err"))" refused "$C1"
check "... it stays where it was" test -L "$VAR/spool/classify/corrupt/$C1" -a ! -e "$VAR/spool/classify/incoming/$C1"
if [ $root = 1 ]; then
	tool requeue "$C2"
	check "requeue of another uid's job in corrupt/ is refused ($(cat "$T/tool.err"))" refused "$C2"
	check "... it stays where it was" test -d "$VAR/spool/classify/corrupt/$C2" -a ! -e "$VAR/spool/classify/incoming/$C2"
fi
tool show "$C1"
check "show does not follow the symlink in corrupt/" sh -c "! grep -q planted '$T/tool.out'"
check "nothing outside var/ changed" test "$(state "$OUT")" = "$before"

# --- ids with ../ and odd characters -------------------------------------------------------
long=$(printf 'a%.0s' $(seq 300))
touch "$T/canary"
for bad in "../../../$(basename "$T")/canary" "../$C1" "a/b" ".." "." "" "-x" "x y" "id;touch $T/pwned" \
	"$(printf 'a\nb')" "$long" '20261122T000000Z-*'; do
	for cmd in show requeue "review --type brief --office hauptamt --by Test"; do
		# shellcheck disable=SC2086
		tool ${cmd%% *} "$bad" ${cmd#${cmd%% *}}
		check "mailroom ${cmd%% *} '$(printf %s "$bad" | head -c 40 | tr '\n' '?')': refused, exit $(cat "$T/tool.rc")" \
			sh -c "[ \$(cat '$T/tool.rc') != 0 ] && grep -qi 'not a job id\|usage\|unknown option\|invalid option' '$T/tool.err'"
	done
	tool verify "$bad"
	check "mailroom verify '$(printf %s "$bad" | head -c 40 | tr '\n' '?')': refused, exit $(cat "$T/tool.rc")" \
		test "$(cat "$T/tool.rc")" != 0
done
check "no file was made by an id" test ! -e "$T/pwned"
check "the canary outside was not touched" test -f "$T/canary"
check "nothing outside var/ changed by the ids" test "$(state "$OUT")" = "$before"
finish
