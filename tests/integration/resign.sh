#!/bin/bash
# resign.sh - mailroom-resign end to end on a temporary tree (tests/integration/lib.sh):
# real sealed letters (sign_mkjob -> mailroom-sign -> mailroom-dms-export ->
# var/archive), the TEST TSA of scripts/tsa.sh on 127.0.0.1.
#
#  A  --dry-run before anything: N sealed letters waiting, nothing written
#  B  the initial run: one TSA call, evidence.ers + evidence.json for every sealed
#     letter (none for the kopierend one), one journal event each; `mailroom
#     verify` of every letter directory passes with the record; independent
#     checks: Bouncy Castle's RFC 4998 code (ErsCheck.java, Debian
#     libbcpkix-java) accepts every record, `openssl ts -verify` accepts every
#     token against the root kept in resign.db; negative controls: a changed
#     file or a changed record fails in mailroom verify AND in Bouncy Castle
#  C  a second run changes nothing and asks the TSA nothing
#  D  a letter sealed later gets its own run; earlier records stay byte for byte
#  E  a letter whose files no longer match job.json is refused (exit 65), the
#     others are stamped
#  F  kill at every fault point (tsa, write, fsync, rename) of an initial run,
#     of a timestamp renewal and of a hash-tree renewal, then restart: every
#     record exactly once (verifies, right chain/time-stamp count), one journal
#     event per letter and run, the TSA asked once per tree; "fail" faults too
#  G  timestamp renewal with --now in the future: a second time-stamp in chain 0,
#     verified by mailroom and Bouncy Castle; the same TSA is not asked again
#     for a renewal that would be due at once (exit 65, said in the report)
#  H  hash-tree renewal (policy: sha256 ends soon): chain 1 with SHA-512 over
#     the documents read again; verified by both; a changed document fails
#  I  the TSA down: exit 75, the run stays open; TSA back: it finishes
#  J  the lock: a second instance exits 75
#  K  the dry-run report: due counts and the next renewal, --json
. "$(dirname "$0")/lib.sh"
set +e # exit codes are what this test looks at
need_shared xsd/xdomea_3.0.0
for tool in openssl jq sqlite3 perl flock; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool missing (scripts/deps.sh)" >&2; exit 1; }
done
MKJOB=$MAILROOM_BIN/../tests/sign_mkjob
RESIGN=$MAILROOM_BIN/mailroom-resign
for b in "$MKJOB" "$RESIGN" "$MAILROOM_BIN/mailroom-sign" "$MAILROOM_BIN/mailroom-dms-export"; do
	[ -x "$b" ] || { echo "FAIL: $b not built" >&2; exit 1; }
done
pki
sed -i "s|^  url: .*|  url: $(sed -n 's/^  url: //p' "$CONF/signing.yaml")|" "$CONF/resign.yaml"
BCCP=/usr/share/java/bcprov.jar:/usr/share/java/bcpkix.jar:/usr/share/java/bcutil.jar
ERSCHECK=$MAILROOM_SOURCE/tests/integration/ErsCheck.java
have_bc=0
# a JDK (the source launcher needs jdk.compiler) and Debian's libbcpkix-java
if command -v java >/dev/null && [ -r /usr/share/java/bcpkix.jar ] && [ -r /usr/share/java/bcutil.jar ] &&
	java -cp "$BCCP" "$ERSCHECK" "$VAR/pki/ca.pem" >/dev/null 2>&1; then
	have_bc=1
else
	echo "note: no JDK or no libbcpkix-java: the Bouncy Castle cross-check is SKIPPED" >&2
fi

resign() { "$RESIGN" -c "$CONF" "$@"; }
tsa_calls() { grep -c 'POST / .* granted' "$VAR/tsa/tsa.log" || true; }
letters() { # sealed letters in the archive
	local d
	for d in "$VAR"/archive/*/; do
		grep -q '"level":"CAdES' "$d/job.json" && echo "${d%/}"
	done
}
new_letters() { # new_letters N [sign_mkjob options]: N sealed, delivered letters
	local n=$1 i
	shift
	for i in $(seq 1 "$n"); do "$MKJOB" -c "$CONF" --pages 1 "$@" >/dev/null; done
	stage sign 2>/dev/null && stage dms-export 2>/dev/null
}
files_of() { jq -r '.files[]' "$1/evidence.json" | sed "s|^|$1/|"; }
verify_all() { # mailroom verify of every sealed letter, one process
	mailroom verify $(letters) >"$T/verify.out" 2>&1
}
bc_check() { # Bouncy Castle over every sealed letter's record
	local d args=()
	[ $have_bc = 1 ] || return 0
	for d in $(letters); do
		args+=("$d/evidence.ers" $(files_of "$d") --)
	done
	java -cp "$BCCP" "$ERSCHECK" "$VAR/pki/ca.pem" "${args[@]}" >"$T/bc.out" 2>&1
}
chains_ats() { # "chains ats" of a letter, from mailroom verify's note
	mailroom verify "$1" | sed -n 's/.*evidence.ers .*: \([0-9]*\) chain(s), \([0-9]*\) time-stamp(s).*/\1 \2/p'
}
ev() { sql "select count(*) from events where stage='resign' and action='$1'"; }
dup_events() { # journal events of the same run for the same letter more than once
	sql "select job, substr(detail, 1, instr(detail, ':')) r, count(*) from events
	     where stage='resign' group by job, r having count(*) > 1" | wc -l
}
snap() {
	rm -rf "$T/snap"
	mkdir -p "$T/snap"
	cp -a "$VAR/archive" "$VAR"/resign.db* "$VAR"/journal.db* "$T/snap/" 2>/dev/null || true
	cp -a "$CONF/resign.yaml" "$T/snap/"
}
restore() {
	rm -rf "$VAR/archive" "$VAR"/resign.db* "$VAR"/journal.db*
	cp -a "$T/snap/archive" "$VAR/"
	for f in "$T"/snap/resign.db* "$T"/snap/journal.db*; do [ -e "$f" ] && cp -a "$f" "$VAR/"; done
	cp -a "$T/snap/resign.yaml" "$CONF/"
}

# --- A: letters, dry run ------------------------------------------------------
new_letters 4
new_letters 1 --mode kopierend
n=$(letters | wc -l)
check "4 sealed letters archived" [ "$n" -eq 4 ]
resign --dry-run >"$T/dry.out" 2>&1
rc=$?
check "dry run exits 0" [ $rc -eq 0 ]
check "dry run: 4 letters without a record" grep -q "initial archive time-stamp: 4 sealed letter" "$T/dry.out"
check "dry run writes nothing" eval '[ ! -e "$VAR/resign.db" ] && [ "$(count "$VAR/archive/*/evidence.ers")" -eq 0 ]'

# --- B: the initial run ---------------------------------------------------------
t0=$(tsa_calls)
resign >"$T/run.out" 2>&1
rc=$?
check "initial run exits 0" [ $rc -eq 0 ]
check "one TSA call for 4 letters" [ $(($(tsa_calls) - t0)) -eq 1 ]
check "a record and a sidecar per sealed letter" eval '[ "$(count "$VAR/archive/*/evidence.ers")" -eq 4 ] && [ "$(count "$VAR/archive/*/evidence.json")" -eq 4 ]'
check "one journal event per letter" eval '[ "$(ev evidence)" -eq 4 ] && [ "$(dup_events)" -eq 0 ]'
verify_all
rc=$?
check "mailroom verify: every letter with its record" eval '[ $rc -eq 0 ] && [ "$(grep -c '\''^OK   evidence.ers'\'' "$T/verify.out")" -eq 4 ]'
check "the sidecar names the seals, not job.json" bash -c "jq -e '.files | index(\"scan.tiff.p7s\") and (index(\"job.json\") | not)' $(letters | head -1)/evidence.json >/dev/null"
if [ $have_bc = 1 ]; then
	bc_check
	rc=$?
	check "Bouncy Castle accepts every record (4)" eval '[ $rc -eq 0 ] && [ "$(grep -c BC-OK "$T/bc.out")" -eq 4 ]'
fi
# openssl: every token verifies against the TSA CA, with the root in resign.db as imprint
root=$(sqlite3 "$VAR/resign.db" "select hex(root) from runs where id=1")
d1=$(letters | head -1)
off=$(openssl asn1parse -inform DER -in "$d1/evidence.ers" | awk -F: '/:pkcs7-signedData/ { print prev } { prev = $1 }' | head -1 | tr -d ' ')
openssl asn1parse -inform DER -in "$d1/evidence.ers" -strparse "$off" -noout -out "$T/tok.der" 2>/dev/null
check "openssl ts -verify: the token time-stamps the root in resign.db" \
	eval 'openssl ts -verify -digest "$root" -in "$T/tok.der" -token_in -CAfile "$VAR/pki/ca.pem" -untrusted "$VAR/pki/tsa.pem" >/dev/null 2>&1'
bad=$(echo "$root" | tr 0-9A-F 1-9A-F0)
check "openssl ts -verify: not for another root (positive control)" \
	bash -c "! openssl ts -verify -digest $bad -in $T/tok.der -token_in -CAfile $VAR/pki/ca.pem -untrusted $VAR/pki/tsa.pem >/dev/null 2>&1"
# negative controls: a changed file, a changed record
cp "$d1/transfervermerk.xml" "$T/tv.bak"
sed -i 's/</ </' "$d1/transfervermerk.xml"
mailroom verify "$d1" >"$T/v.out" 2>&1
check "a changed file fails (mailroom verify)" grep -q "FAILED evidence.ers: evidence-record: INVALID:DATA_NOT_COVERED@c0a0" "$T/v.out"
if [ $have_bc = 1 ]; then
	java -cp "$BCCP" "$ERSCHECK" "$VAR/pki/ca.pem" "$d1/evidence.ers" $(files_of "$d1") >"$T/bc1.out" 2>&1
	check "a changed file fails (Bouncy Castle)" grep -q "BC-FAIL" "$T/bc1.out"
fi
cp "$T/tv.bak" "$d1/transfervermerk.xml"
cp "$d1/evidence.ers" "$T/er.bak"
# flip one byte of the first hash value of the reduced hash tree
perl -e 'open(F, "+<", $ARGV[0]) or die; binmode F; local $/; my $d = <F>;
	my $i = index($d, "\xa2"); my $j = index($d, "\x04\x20", $i) + 2;
	substr($d, $j, 1) = chr(ord(substr($d, $j, 1)) ^ 1); seek(F, 0, 0); print F $d' "$d1/evidence.ers"
mailroom verify "$d1" >"$T/v.out" 2>&1
check "a changed record fails (mailroom verify)" grep -q "FAILED evidence.ers: evidence-record: INVALID:" "$T/v.out"
if [ $have_bc = 1 ]; then
	java -cp "$BCCP" "$ERSCHECK" "$VAR/pki/ca.pem" "$d1/evidence.ers" $(files_of "$d1") >"$T/bc1.out" 2>&1
	check "a changed record fails (Bouncy Castle)" grep -q "BC-FAIL" "$T/bc1.out"
fi
cp "$T/er.bak" "$d1/evidence.ers"
mailroom verify --tsa-ca "$VAR/pki/ca.pem" "$d1/evidence.ers" $(files_of "$d1") >"$T/v.out" 2>&1
check "verify FILE.ers DATA...: the detached form" grep -q "^OK   .*evidence.ers" "$T/v.out"
mailroom verify --tsa-ca "$VAR/pki/ca.pem" "$d1/evidence.ers" "$d1/job.json" >"$T/v.out" 2>&1
check "verify FILE.ers DATA...: job.json is not covered" grep -q "DATA_NOT_COVERED" "$T/v.out"

# --- C: nothing new --------------------------------------------------------------
t0=$(tsa_calls)
sum0=$(cat "$VAR"/archive/*/evidence.ers | sha256sum)
resign >"$T/run.out" 2>&1
rc=$?
check "second run exits 0, no TSA call, records unchanged" eval '[ $rc -eq 0 ] && [ "$(tsa_calls)" -eq "$t0" ] && [ "$(cat "$VAR"/archive/*/evidence.ers | sha256sum)" = "$sum0" ] && [ "$(ev evidence)" -eq 4 ]'

# --- D: a letter sealed later -------------------------------------------------------
old_ers=$(ls "$VAR"/archive/*/evidence.ers)
sum0=$(cat $old_ers | sha256sum)
new_letters 1
t0=$(tsa_calls)
resign >"$T/run.out" 2>&1
rc=$?
check "a later letter: its own run, one TSA call" eval '[ $rc -eq 0 ] && [ $(($(tsa_calls) - t0)) -eq 1 ] && [ "$(count "$VAR/archive/*/evidence.ers")" -eq 5 ] && [ "$(ev evidence)" -eq 5 ]'
check "earlier records unchanged byte for byte" eval '[ "$(cat $old_ers | sha256sum)" = "$sum0" ]'

# --- E: a letter whose files no longer match ------------------------------------
new_letters 2
for d in $(letters); do [ -f "$d/evidence.ers" ] || last="$d"; done
printf 'x' >>"$last/scan.tiff"
resign >"$T/run.out" 2>&1
rc=$?
check "a tampered letter is refused (exit 65), the other is stamped" eval '[ $rc -eq 65 ] && [ ! -f "$last/evidence.ers" ] && [ "$(count "$VAR/archive/*/evidence.ers")" -eq 6 ] && grep -q "refused $(basename "$last")" "$T/run.out"'
rm -rf "$last" # out of the way for what follows

# --- F: kill at every fault point, restart ------------------------------------------
want_rc=0 # what a run that was not killed exits with
crash_loop() { # crash_loop NAME CHECKFN [resign args]: every op and N
	local name=$1 fn=$2 op nn rc pts total=0
	shift 2
	for op in tsa write fsync rename; do
		pts=0
		for nn in $(seq 1 60); do
			restore
			t0=$(tsa_calls)
			MAILROOM_FAULT=$op:$nn:exit resign "$@" >"$T/crash.out" 2>&1
			rc=$?
			if [ $rc -ne 99 ]; then
				[ $rc -eq "$want_rc" ] || bad "$name: $op:$nn: no fault left, but exit $rc: $(tail -3 "$T/crash.out")"
				break
			fi
			pts=$((pts + 1))
			resign "$@" >"$T/crash2.out" 2>&1
			rc=$?
			if [ $rc -ne "$want_rc" ]; then
				bad "$name: after $op:$nn the restart exits $rc: $(tail -3 "$T/crash2.out")"
				continue
			fi
			if [ $(($(tsa_calls) - t0)) -ne 1 ]; then
				bad "$name: $op:$nn: the TSA was asked $(($(tsa_calls) - t0)) times for one tree"
			fi
			$fn "$name $op:$nn" || true
		done
		total=$((total + pts))
		echo "  $name: $op: killed at $pts point(s)"
	done
	ok "$name: killed at $total fault points, each restart completed"
}
n_sealed=$(letters | wc -l)
snap_new() { new_letters 3; snap; }
check_initial() { # every letter: one record, 1 chain 1 ATS, one event of the run
	local what=$1 d
	verify_all || { bad "$what: mailroom verify fails: $(grep FAILED "$T/verify.out" | head -2)"; return 1; }
	[ "$(count "$VAR/archive/*/evidence.ers")" -eq "$(letters | wc -l)" ] || { bad "$what: records missing"; return 1; }
	[ "$(dup_events)" -eq 0 ] || { bad "$what: a journal event twice"; return 1; }
	[ "$(ev evidence)" -eq "$(letters | wc -l)" ] || { bad "$what: $(ev evidence) journal events for $(letters | wc -l) letters"; return 1; }
	[ "$(sqlite3 "$VAR/resign.db" "select count(*) from runs where state != 'done'")" -eq 0 ] || { bad "$what: a run not done"; return 1; }
	[ "$(sqlite3 "$VAR/resign.db" "select count(*) from letters where chains != 1 or ats != 1")" -eq 0 ] || { bad "$what: chain counts"; return 1; }
	return 0
}
snap_new
crash_loop initial check_initial
restore
MAILROOM_FAULT=write:2:fail resign >"$T/crash.out" 2>&1
rc=$?
resign >"$T/crash2.out" 2>&1
rc2=$?
check "a failing write (EIO): exit 74, the restart finishes" eval '[ $rc -eq 74 ] && [ $rc2 -eq 0 ] && check_initial "write fail"'

# --- G: timestamp renewal --------------------------------------------------------
restore
resign >/dev/null 2>&1
n_sealed=$(letters | wc -l)
# the test TSA's certificate expires in 3 years: at 2029-01-01 (horizon 12 months)
# every chain is due
resign --dry-run --now 2029-01-01 >"$T/dry.out" 2>&1
check "dry run at 2029-01-01: timestamp renewal due for every letter" grep -q "timestamp renewal due now: $n_sealed letter" "$T/dry.out"
snap
check_ts() {
	local what=$1
	verify_all || { bad "$what: mailroom verify fails: $(grep FAILED "$T/verify.out" | head -2)"; return 1; }
	[ "$(dup_events)" -eq 0 ] && [ "$(ev evidence-renewed)" -eq "$n_sealed" ] || { bad "$what: $(ev evidence-renewed) renewal events for $n_sealed letters"; return 1; }
	[ "$(sqlite3 "$VAR/resign.db" "select count(*) from letters where chains != 1 or ats != 2")" -eq 0 ] || { bad "$what: not 1 chain / 2 time-stamps"; return 1; }
	return 0
}
crash_loop timestamp-renewal check_ts --now 2029-01-01
restore
t0=$(tsa_calls)
resign --now 2029-01-01 >"$T/run.out" 2>&1
rc=$?
check "timestamp renewal: exit 0, one TSA call" eval '[ $rc -eq 0 ] && [ $(($(tsa_calls) - t0)) -eq 1 ] && check_ts "timestamp renewal"'
check "chain 0 holds 2 time-stamps" [ "$(chains_ats "$d1")" = "1 2" ]
if [ $have_bc = 1 ]; then
	bc_check
	rc=$?
	check "Bouncy Castle accepts every renewed record" eval '[ $rc -eq 0 ] && [ "$(grep -c '\''BC-OK.* 1 2$'\'' "$T/bc.out")" -eq "$n_sealed" ]'
fi
# the same TSA certificate again: the new time-stamp is just as due
t0=$(tsa_calls)
resign --now 2029-01-01 >"$T/run.out" 2>&1
rc=$?
check "renewing again with the same TSA certificate is not done (exit 65, said)" eval '[ $rc -eq 65 ] && [ "$(tsa_calls)" -eq "$t0" ] && grep -q "newest time-stamp is itself due" "$T/run.out"'
# the TSA gets a new certificate (10 years); once a token from it is seen (the next
# initial run), the renewal follows
sh "$MAILROOM_SOURCE/scripts/tsa.sh" stop "$VAR" >/dev/null
printf '[tsa]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, nonRepudiation\nextendedKeyUsage = critical, timeStamping\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n' >"$T/tsa.cnf"
openssl req -new -key "$VAR/pki/tsa.key" -subj "/C=DE/O=mailroom TEST PKI/CN=mailroom TEST TSA 2 - NOT QUALIFIED - test only" -out "$T/tsa.csr" 2>/dev/null
openssl x509 -req -in "$T/tsa.csr" -CA "$VAR/pki/ca.pem" -CAkey "$VAR/pki/ca.key" -set_serial 0x$(openssl rand -hex 15) \
	-days 3650 -sha256 -extfile "$T/tsa.cnf" -extensions tsa -out "$VAR/pki/tsa.pem" 2>/dev/null
url=$(MAILROOM_FAULT= sh "$MAILROOM_SOURCE/scripts/tsa.sh" start "$VAR" 0)
sed -i "s|^  url: .*|  url: $url|" "$CONF/resign.yaml"
new_letters 1
resign --now 2029-01-01 >"$T/run.out" 2>&1
rc=$?
check "a new letter is stamped by the new TSA certificate (the renewal still waits: 65)" eval '[ $rc -eq 65 ] && [ "$(count "$VAR/archive/*/evidence.ers")" -eq $((n_sealed + 1)) ]'
t0=$(tsa_calls)
resign --now 2029-01-01 >"$T/run.out" 2>&1
rc=$?
check "then the renewal with the new certificate: exit 0, one TSA call, 3 time-stamps" eval '[ $rc -eq 0 ] && [ $(($(tsa_calls) - t0)) -eq 1 ] && [ "$(chains_ats "$d1")" = "1 3" ]'
t0=$(tsa_calls)
resign --now 2029-01-01 >"$T/run.out" 2>&1
rc=$?
check "after that nothing is due at 2029-01-01" eval '[ $rc -eq 0 ] && [ "$(tsa_calls)" -eq "$t0" ]'
n_sealed=$(letters | wc -l)
verify_all
rc=$?
check "every letter verifies" [ $rc -eq 0 ]

# --- H: hash-tree renewal ------------------------------------------------------
# sha256 ends 2029-06-30 in this policy: at 2028-09-01 the chains' hash is due; the
# TSA's SHA-256 signature is due as well, which the next run renews
sed -i 's/^    sha256: .*/    sha256: 2029-06-30/' "$CONF/resign.yaml"
resign --dry-run --now 2028-09-01 >"$T/dry.out" 2>&1
check "dry run at 2028-09-01 (sha256 ends 2029-06-30): hash-tree renewal due" grep -q "hash-tree renewal due now: $n_sealed letter(s) (to sha512)" "$T/dry.out"
snap
check_hash() {
	local what=$1
	verify_all || { bad "$what: mailroom verify fails: $(grep FAILED "$T/verify.out" | head -2)"; return 1; }
	[ "$(dup_events)" -eq 0 ] && [ "$(ev evidence-rehashed)" -eq "$n_sealed" ] || { bad "$what: $(ev evidence-rehashed) events for $n_sealed letters"; return 1; }
	[ "$(sqlite3 "$VAR/resign.db" "select count(*) from letters where chains != 2 or ats != 1 or digest != 'sha512'")" -eq 0 ] || { bad "$what: not 2 chains"; return 1; }
	return 0
}
crash_loop hashtree-renewal check_hash --now 2028-09-01
restore
resign --now 2028-09-01 >"$T/run.out" 2>&1
rc=$?
check "hash-tree renewal: exit 0, every record renewed" eval '[ $rc -eq 0 ] && check_hash "hash-tree renewal"'
check "2 chains, the new one SHA-512" eval 'mailroom verify "$d1" | grep -q "evidence.ers .*2 chain(s), 4 time-stamp(s), sha512"'
if [ $have_bc = 1 ]; then
	bc_check
	rc=$?
	check "Bouncy Castle accepts every record after the hash-tree renewal" eval '[ $rc -eq 0 ] && [ "$(grep -c BC-OK "$T/bc.out")" -eq "$n_sealed" ]'
fi
t0=$(tsa_calls)
resign --now 2028-09-01 >"$T/run.out" 2>&1
rc=$?
check "next run: the SHA-256 signed time-stamp is renewed in the SHA-512 chain" eval '[ $rc -eq 0 ] && [ $(($(tsa_calls) - t0)) -eq 1 ] && [ "$(chains_ats "$d1")" = "2 5" ]'
printf 'x' >>"$d1/scan.tiff.p7s"
mailroom verify "$d1" >"$T/v.out" 2>&1
check "a changed seal fails after the renewals" grep -q "evidence.ers: evidence-record: INVALID:DATA_NOT_COVERED@c0a0" "$T/v.out"
truncate -s -1 "$d1/scan.tiff.p7s"
sed -i 's/^    sha256: .*/    sha256: 2031-12-31/' "$CONF/resign.yaml"

# --- I: the TSA down ------------------------------------------------------------------
sh "$MAILROOM_SOURCE/scripts/tsa.sh" stop "$VAR" >/dev/null
new_letters 1
resign >"$T/run.out" 2>&1
rc=$?
check "TSA down: exit 75, the run stays open" eval '[ $rc -eq 75 ] && [ "$(sqlite3 "$VAR/resign.db" "select count(*) from runs where state='\''open'\''")" -eq 1 ]'
resign --dry-run >"$T/dry.out" 2>&1
check "dry run names the open run" grep -q "unfinished run .*open" "$T/dry.out"
url=$(MAILROOM_FAULT= sh "$MAILROOM_SOURCE/scripts/tsa.sh" start "$VAR" 0)
sed -i "s|^  url: .*|  url: $url|" "$CONF/resign.yaml"
resign >"$T/run.out" 2>&1
rc=$?
check "TSA back: the open run finishes" eval '[ $rc -eq 0 ] && [ "$(sqlite3 "$VAR/resign.db" "select count(*) from runs where state!='\''done'\''")" -eq 0 ] && [ "$(count "$VAR/archive/*/evidence.ers")" -eq "$(letters | wc -l)" ]'

# --- J: the lock ---------------------------------------------------------------------------
flock "$VAR/resign.lock" sleep 3 &
sleep 0.5
resign >"$T/run.out" 2>&1
rc=$?
check "a second instance exits 75 while the lock is held" [ $rc -eq 75 ]
wait

# --- K: the report -------------------------------------------------------------------------
resign --dry-run --json >"$T/plan.json" 2>/dev/null
check "dry run --json: a plan with the next renewal" eval 'jq -e ".plan.next_renewal.at and .plan.letters_with_records > 0 and .dry_run" "$T/plan.json" >/dev/null'
check "dry run --json: nothing due now" eval 'jq -e ".plan.timestamp_renewal.due == 0 and .plan.hashtree_renewal.due == 0 and .plan.initial.letters == 0" "$T/plan.json" >/dev/null'
resign --dry-run --json --now 2031-01-01 >"$T/plan.json" 2>/dev/null
check "dry run --json at 2031-01-01: every chain due (sha512 and SHA-256 end 2031-12-31)" eval 'jq -e ".plan.hashtree_renewal.due + .plan.hashtree_renewal.blocked_by_policy == .plan.letters_with_records" "$T/plan.json" >/dev/null' 
finish
