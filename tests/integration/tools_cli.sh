#!/bin/bash
# tools_cli.sh - integration test of the `mailroom` command on a temporary tree:
# status (counts, quarantined, review, deferred, journal chain check), show,
# requeue (corrupt -> incoming, and --now for deferred letters), review (list
# and decision -> spool/sign/incoming) and verify (detached CMS signatures on
# files, in a job directory and in a ZIP package; a changed byte must fail).
#
# Letters are built with tests/unit/tools_mkjob.c (the real job and journal
# APIs) and moved into spool areas the way the stages would leave them.
set -u

MR="$MAILROOM_BIN/mailroom"
MK="$MAILROOM_BIN/../tests/tools_mkjob"
[ -x "$MR" ] || { echo "FAIL: $MR not built" >&2; exit 1; }
[ -x "$MK" ] || { echo "FAIL: $MK not built (cmake --build ... --target tools_mkjob)" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/tools_cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
cp -r "$MAILROOM_SOURCE/conf" "$T/conf"
export MAILROOM_VAR="$T/var"
V="$MAILROOM_VAR"
S="$V/spool"
DB="$V/journal.db"
OUT="$T/out.txt"
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
mr() { "$MR" -c "$T/conf" "$@"; }
# run mailroom, keep stdout+stderr in $OUT, return its exit status
run() { mr "$@" >"$OUT" 2>&1; }
expect_rc() { # expected-rc description command...
	local want=$1 what=$2; shift 2
	run "$@"; local rc=$?
	[ "$rc" -eq "$want" ] || { fail "$what: exit $rc, expected $want"; sed 's/^/    /' "$OUT" >&2; }
}
has() { grep -Eq -- "$1" "$OUT" || { fail "$2: output lacks /$1/"; sed 's/^/    /' "$OUT" >&2; }; }
hasnt() { ! grep -Eq -- "$1" "$OUT" || { fail "$2: output has /$1/"; sed 's/^/    /' "$OUT" >&2; }; }
events() { sqlite3 "$DB" "SELECT count(*) FROM events WHERE job='$1' AND stage='$2' AND action='$3' AND outcome='$4'"; }

# ---- an empty tree: status creates the spool and says all is quiet --------------
expect_rc 0 "status on an empty tree" status
has "^  sign +0 +0 +0 +0 +0$" "empty status table"
has "Quarantined: 0" "empty status"
mkdir -p "$T/build"

# ---- a quarantined letter in sign/corrupt ---------------------------------------
Q=$("$MK" job "$T/build" --file scan.tiff "II*-not-really-a-tiff" --set classification.type=rechnung \
	--set classification.office=kaemmerei --num capture.page_count=2 --stage scan --stage classify) \
	|| { echo "FAIL: tools_mkjob" >&2; exit 1; }
mv "$T/build/$Q" "$S/sign/corrupt/$Q"
printf 'signing key unreadable: /etc/mailroom/seal.key: Permission denied. Fix the key, then mailroom requeue %s\n' "$Q" \
	>"$S/sign/corrupt/$Q/QUARANTINE.txt"
"$MK" event "$DB" "$Q" scan captured ok queued spool/classify/incoming
"$MK" event "$DB" "$Q" sign quarantined quarantined quarantined spool/sign/corrupt "signing key unreadable"

expect_rc 0 "status with a quarantined letter" status
has "^  sign +0 +0 +0 +1 +0$" "sign row counts the corrupt letter"
has "Quarantined: 1 - fix the cause, then retry with: mailroom requeue ID" "quarantine header"
has "^  $Q +sign +signing key unreadable: /etc/mailroom/seal.key: Permission denied" "quarantined letter with reason"
has "^  quarantined +1$" "journal state count"
expect_rc 0 "status --json" status --json
has "\"id\":\"$Q\"" "json lists the letter"
has "\"corrupt\":1" "json counts"

expect_rc 0 "show quarantined letter" show "$Q"
has "^  spool/sign/corrupt +$S/sign/corrupt/$Q$" "show: location"
has "^  quarantined: +signing key unreadable" "show: quarantine reason"
has "mailroom requeue $Q" "show: how to retry"
has "History \(2 events\)" "show: history count"
has " scan +tools_mkjob/[^ ]+ +captured +ok" "show: scan event"
has " sign +tools_mkjob/[^ ]+ +quarantined +quarantined +signing key unreadable" "show: sign event"
has "Record \(job.json, all digests verified\)" "show: record verified"
sum=$(sha256sum "$S/sign/corrupt/$Q/scan.tiff" | cut -d' ' -f1)
has "^    scan.tiff +21 +$sum$" "show: file with size and sha256"
has "^  type: +rechnung \(-\)" "show: type"
has "^  pages: +2$" "show: pages"
expect_rc 0 "show --json" show "$Q" --json
has "\"verified\":true" "show json: record verified"
has "\"action\":\"quarantined\"" "show json: events"

expect_rc 65 "show refuses a bad id" show "../../etc"
has "is not a job id" "show: bad id message"
expect_rc 66 "show unknown letter" show 20260101T000000Z-0000000000000000
expect_rc 64 "an option that does not apply" show "$Q" --now

# ---- requeue: corrupt -> incoming, journaled -------------------------------------
expect_rc 0 "requeue" requeue "$Q"
has "$Q: requeued: spool/sign/corrupt -> spool/sign/incoming" "requeue message"
[ -d "$S/sign/incoming/$Q" ] || fail "requeue: letter not in sign/incoming"
[ -e "$S/sign/corrupt/$Q" ] && fail "requeue: letter still in sign/corrupt"
[ -e "$S/sign/incoming/$Q/QUARANTINE.txt" ] && fail "requeue: QUARANTINE.txt kept"
[ "$(events "$Q" mailroom requeued ok)" = 1 ] || fail "requeue: no journal event"
[ "$(sqlite3 "$DB" "SELECT state||' '||location FROM letters WHERE job='$Q'")" = "queued spool/sign/incoming" ] \
	|| fail "requeue: letter row not updated"
expect_rc 65 "requeue of a letter that is not quarantined" requeue "$Q"
has "not quarantined, nothing to requeue \(it is in spool/sign/incoming\)" "requeue: clear message"
expect_rc 0 "show after requeue" show "$Q"
has "^  spool/sign/incoming " "show: new location"
has "mailroom +mailroom/[^ ]+ +requeued +ok +from spool/sign/corrupt \(was: signing key unreadable" "show: requeue event"

# ---- a deferred letter in export/incoming ----------------------------------------
D=$("$MK" job "$T/build" --file scan.tiff "deferred letter")
mv "$T/build/$D" "$S/export/incoming/$D"
later=$(( $(date +%s) + 1800 ))
echo "$later 2 inbox /mnt/vis/kaemmerei is missing: mount the VIS share; will retry" >"$S/export/incoming/$D/RETRY.txt"
"$MK" event "$DB" "$D" dms-export deferred deferred deferred spool/export/incoming "inbox missing"
expect_rc 0 "status with a deferred letter" status
has "^  export +0 +1 +0 +0 +0$" "export row counts the deferred letter"
has "Deferred: 1 - retried automatically; at once with: mailroom requeue ID --now" "deferred header"
has "^  $D +export +2 +[0-9T:-]+Z +inbox /mnt/vis/kaemmerei is missing" "deferred letter with attempt, time and reason"
expect_rc 65 "requeue of a deferred letter without --now" requeue "$D"
has "requeue ID --now" "hint to --now"
expect_rc 0 "requeue --now" requeue "$D" --now
has "released for immediate retry in spool/export/incoming" "requeue --now message"
read -r nb att _ <"$S/export/incoming/$D/RETRY.txt"
[ "$nb" -le "$(date +%s)" ] || fail "requeue --now: retry time still in the future ($nb)"
[ "$att" = 2 ] || fail "requeue --now: attempt count not kept ($att)"
[ "$(events "$D" mailroom requeued ok)" = 1 ] || fail "requeue --now: no journal event"
expect_rc 0 "status after --now" status
has "^  export +1 +0 +0 +0 +0$" "letter is ready now"
has "due now" "deferred list says due"
expect_rc 65 "requeue --now of a letter that is not deferred" requeue "$Q" --now

# ---- review: list and decision -------------------------------------------------
if [ ! -f "$T/conf/scankonzept.yaml" ]; then
	echo "note: conf/scankonzept.yaml not in the source tree yet; using a minimal one" >&2
	cat >"$T/conf/scankonzept.yaml" <<'EOF'
types:
  - id: rechnung
    name: Rechnung
    scan_mode: ersetzend
    office: kaemmerei
    protection: {integrity: hoch, confidentiality: normal, availability: normal}
  - id: quittung
    name: Quittung
    scan_mode: ersetzend
    office: kaemmerei
EOF
fi
R=$("$MK" job "$T/build" --file scan.tiff "letter for review" --file ocr.txt "Rechnung Nr 1" \
	--set classification.type=quittung --num classification.score=3.0 \
	--set classification.second_type=rechnung --num classification.second_score=2.5 \
	--num classification.margin=0.5 --set classification.office=kaemmerei \
	--set classification.decided_by=rules --stage scan)
mv "$T/build/$R" "$S/review/incoming/$R"
"$MK" event "$DB" "$R" classify review review review spool/review/incoming \
	"unsure: quittung 3.0 vs rechnung 2.5, margin 0.5 < 1.0; decide with mailroom review"
expect_rc 0 "review list" review
has "Waiting for review: 1" "review list count"
has "^  $R +quittung +3(\.0+)? +rechnung +2\.50* +0\.50* +kaemmerei +unsure: quittung 3.0 vs rechnung 2.5" "review row"
expect_rc 0 "review --json" review --json
has "\"second_type\":\"rechnung\"" "review json"
expect_rc 0 "status lists the review letter" status
has "^  $R +unsure: quittung 3.0 vs rechnung 2.5" "status review list"

expect_rc 65 "review with an unknown type" review "$R" --type keinTyp --by "Frau Muster"
has "unknown type 'keinTyp'" "unknown type message"
expect_rc 65 "review with an unknown office" review "$R" --type rechnung --office mond --by "Frau Muster"
expect_rc 64 "review without --by" review "$R" --type rechnung
[ -d "$S/review/incoming/$R" ] || fail "a refused decision moved the letter"
expect_rc 0 "review decision" review "$R" --type rechnung --office kaemmerei --by "Frau Muster" --note "Rechnungsnummer im Kopf"
has "$R: reviewed: type rechnung \(ersetzend\), office kaemmerei by Frau Muster -> spool/sign/incoming" "decision message"
[ -d "$S/sign/incoming/$R" ] || fail "review: letter not in sign/incoming"
[ -e "$S/review/incoming/$R" ] || [ -e "$S/review/active/$R" ] && fail "review: letter still in review"
J="$S/sign/incoming/$R/job.json"
grep -q '"decided_by":"review"' "$J" || fail "review: decided_by review missing"
grep -q '"reviewer":"Frau Muster"' "$J" || fail "review: reviewer missing"
grep -q '"office_name":"Kämmerei"' "$J" || fail "review: office_name missing"
grep -q '"note":"Rechnungsnummer im Kopf"' "$J" || fail "review: note missing"
grep -Eq '"proposal":\{' "$J" || fail "review: proposal not kept"
tr -d ' \n' <"$J" | grep -q '"proposal":{"type":"quittung"' || fail "review: proposal is not the machine's"
tr -d ' \n' <"$J" | grep -q '"stage":"classify","at":"[^"]*","outcome":"ok"' || fail "review: classify not marked done"
[ "$(events "$R" mailroom reviewed ok)" = 1 ] || fail "review: no journal event"
[ "$(sqlite3 "$DB" "SELECT detail FROM events WHERE job='$R' AND action='reviewed'")" = "type rechnung, office kaemmerei by Frau Muster" ] \
	|| fail "review: journal detail"
[ "$(sqlite3 "$DB" "SELECT state||' '||doc_type||' '||office||' '||location FROM letters WHERE job='$R'")" = \
	"queued rechnung kaemmerei spool/sign/incoming" ] || fail "review: letter row"
expect_rc 1 "the reviewed record verifies; the letter is not sealed yet" verify "$S/sign/incoming/$R"
has "^OK   job.json " "reviewed record ok"
has "^FAILED scan.tiff: sealed: " "reviewed letter: not sealed yet"
expect_rc 65 "second decision on the same letter" review "$R" --type rechnung --by X
has "not waiting for review" "second decision message"

# ---- verify: detached CMS signatures ---------------------------------------------
P="$T/pki"; mkdir -p "$P"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/ca.key" -out "$P/ca.pem" \
	-days 2 -subj "/CN=tools test CA" -addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || fail "openssl: CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/seal.key" -out "$P/seal.csr" \
	-subj "/O=Stadt Musterstadt/CN=tools test seal" 2>/dev/null || fail "openssl: csr"
printf 'keyUsage=critical,digitalSignature,nonRepudiation\n' >"$P/ext.cnf"
openssl x509 -req -in "$P/seal.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial -days 2 \
	-extfile "$P/ext.cnf" -out "$P/seal.pem" 2>/dev/null || fail "openssl: seal cert"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/other.key" -out "$P/other.pem" \
	-days 2 -subj "/CN=some other CA" 2>/dev/null || fail "openssl: other CA"
sign() { openssl cms -sign -binary -cades -in "$1" -signer "$P/seal.pem" -inkey "$P/seal.key" -outform DER -out "$1.p7s"; }

W="$T/work"; mkdir -p "$W"
head -c 300000 /dev/urandom >"$W/scan.tiff"
sign "$W/scan.tiff" || fail "openssl cms -sign"
expect_rc 0 "verify a good signature" verify --ca "$P/ca.pem" "$W/scan.tiff.p7s"
has "^OK   $W/scan.tiff  \(CAdES-B-B, seal \"tools test seal\", signing time 20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:]+Z\)$" "verify OK line"
has "^all 1 file\(s\) OK: 8 checks passed$" "verify summary"
expect_rc 0 "verify FILE (finds FILE.p7s)" verify --ca "$P/ca.pem" "$W/scan.tiff"
expect_rc 1 "verify against another CA" verify --ca "$P/other.pem" "$W/scan.tiff.p7s"
has "^FAILED $W/scan.tiff: certificate: the signer's certificate does not chain to the trusted CA" "untrusted signer"
expect_rc 0 "verify --json" verify --json --ca "$P/ca.pem" "$W/scan.tiff.p7s"
has "\"ok\":true" "verify json ok"
has "\"signer\":\"CN=tools test seal,O=Stadt Musterstadt\"" "verify json signer"

# signing.yaml `ca:` is used without --ca
if [ -f "$T/conf/signing.yaml" ]; then
	ca_rel=$(sed -n 's/^ca:[[:space:]]*//p' "$T/conf/signing.yaml" | tr -d '"'"'" | head -1)
else
	ca_rel=../var/pki/ca.pem
	printf '# minimal signing.yaml for the tools test\nca: %s\n' "$ca_rel" >"$T/conf/signing.yaml"
fi
case "$ca_rel" in
/*) ca_abs=$ca_rel ;;
'${var}/'*) ca_abs="$MAILROOM_VAR/${ca_rel#'${var}/'}" ;;
*) ca_abs="$T/conf/$ca_rel" ;;
esac
if [ -n "$ca_rel" ] && mkdir -p "$(dirname "$ca_abs")" && cp "$P/ca.pem" "$ca_abs"; then
	expect_rc 0 "verify with the CA from signing.yaml" verify "$W/scan.tiff.p7s"
else
	fail "cannot place the CA where conf/signing.yaml ca: points ($ca_rel)"
fi

# a job directory: record, digests and every .p7s
G=$("$MK" job "$T/build" --copy "$W/scan.tiff" scan.tiff --file anlage.xml "<a/>")
sign "$T/build/$G/anlage.xml"
cp "$W/scan.tiff.p7s" "$T/build/$G/scan.tiff.p7s"
expect_rc 0 "verify a job directory" verify --ca "$P/ca.pem" "$T/build/$G"
has "^OK   job.json  \(record complete" "jobdir record"
has "^OK   scan.tiff  \(CAdES-B-B, seal \"tools test seal\"" "jobdir scan signature"
has "^OK   anlage.xml  \(CAdES-B-B, seal \"tools test seal\"" "jobdir xml signature"
has "^all 3 file\(s\) OK: 19 checks passed$" "jobdir summary"

# ZIP package: X.p7s next to X
(cd "$W" && cp "$T/build/$G/anlage.xml" tv.xml && cp "$T/build/$G/anlage.xml.p7s" tv.xml.p7s \
	&& echo '<xdomea/>' >msg.xml && zip -q pkg.zip scan.tiff scan.tiff.p7s tv.xml tv.xml.p7s msg.xml) || fail "zip"
expect_rc 0 "verify a package" verify --ca "$P/ca.pem" "$W/pkg.zip"
has "^OK   scan.tiff  \(CAdES-B-B" "zip scan signature"
has "^OK   tv.xml  \(CAdES-B-B" "zip tv signature"
has "^OK   msg.xml  \(not sealed\)$" "zip unsigned file"

# one changed byte must fail, in every form
printf '\x00' | dd of="$W/scan.tiff" bs=1 seek=1000 conv=notrunc status=none
cmp -s "$W/scan.tiff" "$T/build/$G/scan.tiff" && fail "test setup: byte not changed"
expect_rc 1 "verify a changed file" verify --ca "$P/ca.pem" "$W/scan.tiff.p7s"
has "^FAILED $W/scan.tiff: message-digest: the file does not match its signature" "changed file fails"
hasnt "^OK " "nothing OK for a changed file"
(cd "$W" && rm -f pkg2.zip && zip -q pkg2.zip scan.tiff scan.tiff.p7s) || fail "zip 2"
expect_rc 1 "verify a package with a changed file" verify --ca "$P/ca.pem" "$W/pkg2.zip"
has "^FAILED scan.tiff: message-digest: the file does not match its signature" "changed zip entry fails"
cp "$W/scan.tiff" "$T/build/$G/scan.tiff"
expect_rc 1 "verify a job directory with a changed file" verify --ca "$P/ca.pem" "$T/build/$G"
has "^FAILED job.json: record: scan.tiff: content does not match its recorded SHA-256" "jobdir record fails"
has "^       FAILED record: SHA-256 or size differs from job.json" "jobdir digest fails"
has "^FAILED scan.tiff: message-digest: the file does not match its signature" "jobdir signature fails"
has "^OK   anlage.xml  \(CAdES-B-B" "the unchanged file still verifies"
expect_rc 1 "verify a plain file without signature" verify --ca "$P/ca.pem" "$W/msg.xml"
expect_rc 78 "verify without a usable CA" verify --ca "$T/nonexistent.pem" "$W/pkg.zip"

# ---- the journal's hash chain ------------------------------------------------------
expect_rc 0 "verify-journal on an intact journal" status --verify-journal
n=$(sqlite3 "$DB" "SELECT count(*) FROM events")
has "^journal intact: $n events$" "journal intact line"
sqlite3 "$DB" "DROP TRIGGER events_no_update; UPDATE events SET detail='nothing happened' WHERE seq=2;" \
	|| fail "sqlite3 tamper"
expect_rc 1 "verify-journal on a tampered journal" status --verify-journal
has "^journal BROKEN: event 2 \(job $Q\) was changed after it was written \(1 events verified before it\)$" "broken event named"
expect_rc 1 "verify-journal --json on a tampered journal" status --verify-journal --json
has "\"intact\":false" "json intact false"

# ---- with the real stages (a full build): a letter through the pipeline -----------
# Checks that show and verify read what scan, classify, sign and dms-export write.
XSD="$MAILROOM_SHARED/xsd/xdomea_3.0.0/xdomea.xsd"
if [ -x "$MAILROOM_BIN/mailroom-scan" ] && [ -x "$MAILROOM_BIN/mailroom-classify" ] &&
	[ -x "$MAILROOM_BIN/mailroom-sign" ] && [ -x "$MAILROOM_BIN/mailroom-dms-export" ] &&
	[ -f "$XSD" ] && [ -f "$MAILROOM_SOURCE/scripts/pki.sh" ]; then
	E="$T/e2e"
	mkdir -p "$E" && cp -r "$MAILROOM_SOURCE/conf" "$E/conf"
	export MAILROOM_VAR="$E/var"
	sed -i "s|^xsd:.*|xsd: $XSD|" "$E/conf/export.yaml"
	bash "$MAILROOM_SOURCE/scripts/pki.sh" "$E/var" >/dev/null 2>&1 || fail "e2e: scripts/pki.sh"
	TSAURL=$(sh "$MAILROOM_SOURCE/scripts/tsa.sh" start "$E/var" 0) || fail "e2e: scripts/tsa.sh start"
	trap 'sh "$MAILROOM_SOURCE/scripts/tsa.sh" stop "$E/var" >/dev/null 2>&1; rm -rf "$T"' EXIT
	sed -i "s|^  url: .*|  url: $TSAURL|" "$E/conf/signing.yaml"
	mkdir -p "$E/var/import"
	printf '.ps 12\nStadtwerke Musterstadt GmbH\n.sp\nStadt Musterstadt, K\\[:a]mmerei, Rechnungseingang\n.sp\nRechnung\n.sp\nRechnungsnummer: RE-2026-0042\n.br\nRechnungsbetrag: 1.234,56 EUR, zahlbar bis 30.12.2026.\n.br\nNettobetrag 1.037,44 EUR, USt-IdNr DE123456789, IBAN DE02120300000000202051\n' |
		groff -Tps 2>/dev/null | gs -q -sDEVICE=pdfwrite -o "$E/var/import/rechnung.pdf" - || fail "e2e: render letter"
	# a letter the classifier cannot decide: it must wait for review
	printf '.ps 12\nHallo,\n.sp\nanbei wie besprochen.\n.sp\nGruss\n' |
		groff -Tps 2>/dev/null | gs -q -sDEVICE=pdfwrite -o "$E/var/import/zettel.pdf" - || fail "e2e: render note"
	"$MAILROOM_BIN/mailroom-scan" -c "$E/conf" --import --once >"$E/stages.log" 2>&1 || fail "e2e: scan"
	"$MAILROOM_BIN/mailroom-classify" -c "$E/conf" --once >>"$E/stages.log" 2>&1 || fail "e2e: classify"
	rid=$(ls "$E/var/spool/review/incoming" 2>/dev/null | head -1)
	if [ -n "$rid" ]; then
		"$MR" -c "$E/conf" review "$rid" --type brief --office hauptamt --by "e2e reviewer" >>"$E/stages.log" 2>&1 ||
			fail "e2e: review decision on a real classify output"
	else
		fail "e2e: the undecidable letter did not go to review"
	fi
	for st in sign dms-export; do
		"$MAILROOM_BIN/mailroom-$st" -c "$E/conf" --once >>"$E/stages.log" 2>&1 || fail "e2e: $st"
	done
	[ "$(ls "$E/var/archive" | wc -l)" = 2 ] || { fail "e2e: expected 2 letters in the archive"; sed 's/^/    /' "$E/stages.log" >&2; }
	if [ -n "$rid" ]; then
		[ -d "$E/var/archive/$rid" ] || fail "e2e: the reviewed letter was not delivered"
		grep -q '"decided_by":"review"' "$E/var/archive/$rid/job.json" 2>/dev/null || fail "e2e: reviewed record"
		ls "$E"/var/vis-inbox/hauptamt/*.zip >/dev/null 2>&1 || fail "e2e: no package for the reviewed letter in hauptamt"
	fi
	eid=$(ls "$E/var/archive" 2>/dev/null | grep -vx "${rid:-none}" | head -1)
	if [ -z "$eid" ]; then
		fail "e2e: the letter did not reach the archive"
		sed 's/^/    /' "$E/stages.log" >&2
	else
		mre() { "$MR" -c "$E/conf" "$@" >"$OUT" 2>&1 || { local rc=$?; sed 's/^/    /' "$OUT" >&2; return $rc; }; }
		mre show "$eid"; [ $? -eq 0 ] || fail "e2e: show"
		has "^  archive +$E/var/archive/$eid$" "e2e show: archived"
		has "^  state: +delivered$" "e2e show: delivered"
		has "^  signing: +CAdES-B-B" "e2e show: signing level"
		mre verify "$E/var/archive/$eid"; [ $? -eq 0 ] || fail "e2e: verify the archived letter"
		has "^OK   scan.tiff  \(CAdES-B-B, seal \".*TEST SEAL.*\", TEST PKI" "e2e verify: scan.tiff sealed"
		has "^OK   transfervermerk.xml  \(CAdES-B-B, .*XSD valid" "e2e verify: transfervermerk sealed"
		pkg=$(ls "$E"/var/vis-inbox/kaemmerei/*.zip 2>/dev/null | head -1)
		if [ -n "$pkg" ]; then
			mre verify "$pkg"; [ $? -eq 0 ] || fail "e2e: verify the xdomea package"
			has "^OK   [0-9a-f-]+\.tiff  \(scan\.tiff: CAdES-B-B" "e2e verify: package scan sealed"
		else
			fail "e2e: no package in the VIS inbox"
		fi
	fi
	export MAILROOM_VAR="$V"
else
	echo "note: end-to-end part skipped (needs mailroom-scan, -classify, -sign, -dms-export in $MAILROOM_BIN and $XSD)" >&2
fi

if [ "$failures" -ne 0 ]; then
	echo "tools_cli: $failures failure(s)" >&2
	exit 1
fi
echo "tools_cli: all checks passed"
