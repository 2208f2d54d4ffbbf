#!/bin/sh
# run.sh BUILD - the evidence record benchmark (make bench-resign; issue 7).
#
# In one run on this machine, with the TEST TSA of scripts/tsa.sh (HTTP on
# 127.0.0.1, a fresh test PKI):
#   ers      LEAVES (default 100,000) leaf hashes given -> one hash tree -> ONE
#            time-stamp over its root -> one evidence record per leaf, each written
#            to its own file (mailroom-bench-resign ers: common/ers.c + common/tsa.c,
#            the functions mailroom-resign uses). Target: <= 5 s with one TSA call.
#   renew    those LEAVES records read and parsed, their last time-stamps hashed,
#            one tree over the distinct ones, ONE time-stamp, the new archive
#            time-stamp appended to every chain and written (timestamp renewal).
#            Target: <= 5 s.
#   rehash   LETTERS archived letters (default 32) with a scan of MB MB (default 32)
#            each (mailroom-bench-resign mkletters: job.json as dms-export leaves it),
#            stamped by mailroom-resign, then the real mailroom-resign doing the
#            hash-tree renewal (every covered file read and hashed again, the new
#            chain, one time-stamp, records and journal written) timed against
#            `openssl dgst` over the same files (one process, the limit): to
#            SHA-256 (sha384 chains -> renewal_digest sha256, the comparison the
#            issue names) and to SHA-512 (sha256 chains -> sha512, the default
#            policy). Target: MB/s >= 0.8 of openssl dgst. Both read from the page
#            cache (the files are read once before).
# A few records of each kind are checked with `mailroom verify`.
# Everything lives on /dev/shm (tmpfs) when there is one: the figures are the
# hashing and the record building, not the disk; fsyncs are cheap there.
# Report also in BUILD/bench-work/resign/report.txt (BENCH_WORK elsewhere).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$top/$build" ;; esac
bin=$build/bin/mailroom-bench-resign
resign=$build/bin/mailroom-resign
mailroom=$build/bin/mailroom
leaves=${LEAVES:-100000}
letters=${LETTERS:-32}
mb=${MB:-32}
for tool in openssl sqlite3; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "bench-resign: $tool not found (sh scripts/deps.sh installs it)" >&2
		exit 69
	}
done
for b in "$bin" "$resign" "$mailroom" "$build/bin/mailroom-test-tsa"; do
	[ -x "$b" ] || {
		echo "bench-resign: $b not built (make build; mailroom-bench-resign needs its lines in bench/CMakeLists.txt)" >&2
		exit 69
	}
done
work=${BENCH_WORK:-$build/bench-work/resign}
report=$work/report.txt
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=/tmp
T=$(mktemp -d "$shm/mailroom-bench-resign.XXXXXX")
V=$T/var
export MAILROOM_BIN="$build/bin"
trap 'sh "$top/scripts/tsa.sh" stop "$V" >/dev/null 2>&1; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$work" "$T/ers" "$T/renewed"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

sh "$top/scripts/pki.sh" "$V" >/dev/null
url=$(sh "$top/scripts/tsa.sh" start "$V" 0)
ca=$V/pki/ca.pem
tsa_calls() { grep -c 'POST / .* granted' "$V/tsa/tsa.log" || true; }

{
	echo "bench-resign: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n), $(nproc) cores," \
		"$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "$(openssl version); work on $shm; TSA: mailroom-test-tsa (ECDSA P-256) at $url"
} | tee "$report"

# --- ers: LEAVES records, one TSA call ------------------------------------------
c0=$(tsa_calls)
out=$("$bin" ers --leaves "$leaves" --tsa "$url" --ca "$ca" --out "$T/ers")
c1=$(tsa_calls)
ok=0
for f in $(ls "$T/ers" | awk 'NR == 1 || NR % 33333 == 0'); do
	"$mailroom" verify --tsa-ca "$ca" "$T/ers/$f" >/dev/null 2>&1 && ok=$((ok + 1))
done
tot=$(field "$out" total)
awk -v n="$leaves" -v t="$tot" -v tr="$(field "$out" tree)" -v ts="$(field "$out" tsa)" \
	-v en="$(field "$out" encode)" -v wr="$(field "$out" write)" -v calls=$((c1 - c0)) \
	-v avg="$(field "$out" avg_record)" -v ok="$ok" 'BEGIN {
	printf "\nevidence records for %d leaves: %.3f s (tree %.3f, TSA %.3f, encode %.3f, write %.3f), %d TSA call(s), %d bytes per record, %.0f records/s; %d sampled records verify\n", n, t, tr, ts, en, wr, calls, avg, n / t, ok
	printf "  target <= 5 s with one TSA call: %s\n", (t <= 5 && calls == 1) ? "met" : "NOT met"
}' | tee -a "$report"

# --- renew: timestamp renewal of those chains -----------------------------------
c0=$(tsa_calls)
out=$("$bin" renew --tsa "$url" --ca "$ca" --in "$T/ers" --out "$T/renewed")
c1=$(tsa_calls)
ok=0
for f in $(ls "$T/renewed" | awk 'NR == 1 || NR % 33333 == 0'); do
	"$mailroom" verify --tsa-ca "$ca" "$T/renewed/$f" 2>/dev/null | grep -q "2 time-stamp(s)" && ok=$((ok + 1))
done
tot=$(field "$out" total)
awk -v n="$(field "$out" chains)" -v t="$tot" -v rp="$(field "$out" read_parse_hash)" \
	-v tr="$(field "$out" tree)" -v ts="$(field "$out" tsa)" -v ew="$(field "$out" encode_write)" \
	-v calls=$((c1 - c0)) -v ok="$ok" 'BEGIN {
	printf "\ntimestamp renewal of %d chains: %.3f s (read+parse+hash %.3f, tree %.3f, TSA %.3f, encode+write %.3f), %d TSA call(s); %d sampled records verify with 2 time-stamps\n", n, t, rp, tr, ts, ew, calls, ok
	printf "  target <= 5 s: %s\n", (t <= 5 && calls == 1) ? "met" : "NOT met"
}' | tee -a "$report"
rm -rf "$T/ers" "$T/renewed"

# --- rehash: hash-tree renewal by mailroom-resign vs openssl dgst ------------------
H=$T/h
mkdir -p "$H"
cp -r "$top/conf" "$H/conf"
sed -i "s|^  url: .*|  url: $url|; s|^  ca: .*|  ca: $ca|" "$H/conf/resign.yaml"
"$bin" mkletters --archive "$H/var/archive" --letters "$letters" --mb "$mb" >/dev/null
files=$(ls "$H"/var/archive/*/scan.tiff "$H"/var/archive/*/*.p7s "$H"/var/archive/*/transfervermerk.xml)
bytes=$(cat $files | wc -c)
rehash() { # FROM TO: chains in FROM, renewal to TO; prints seconds
	rm -rf "$H/var/resign.db"* "$H/var/journal.db"* "$H"/var/archive/*/evidence.*
	sed -i "s/^digest: .*/digest: $1/; s/^renewal_digest: .*/renewal_digest: $2/" "$H/conf/resign.yaml"
	sed -i "s/^    $1: .*/    $1: 2031-12-31/" "$H/conf/resign.yaml"
	MAILROOM_VAR=$H/var "$resign" -c "$H/conf" >/dev/null 2>&1
	sed -i "s/^    $1: .*/    $1: 2027-06-30/" "$H/conf/resign.yaml" # FROM ends soon
	cat $files >/dev/null
	t0=$(now)
	MAILROOM_VAR=$H/var "$resign" -c "$H/conf" --now 2026-12-31 >"$T/rehash.out" 2>&1 || true
	t1=$(now)
	sed -i "s/^    $1: .*/    $1: 2031-12-31/" "$H/conf/resign.yaml"
	grep -q "$letters hash-tree renewal" "$T/rehash.out" || { echo "bench-resign: the hash-tree renewal did not run:" >&2; cat "$T/rehash.out" >&2; exit 1; }
	elapsed "$t0" "$t1"
}
dgst() { # ALG: seconds of one openssl dgst process over the files
	cat $files >/dev/null
	t0=$(now)
	openssl dgst "-$1" $files >/dev/null
	t1=$(now)
	elapsed "$t0" "$t1"
}
r256=$(rehash sha384 sha256)
d256=$(dgst sha256)
r512=$(rehash sha256 sha512)
d512=$(dgst sha512)
vok=$(MAILROOM_VAR=$H/var "$mailroom" -c "$H/conf" verify "$H"/var/archive/* 2>/dev/null | grep -c "^OK   evidence.ers.*2 chain(s), 2 time-stamp(s), sha512" || true)
awk -v m="$letters" -v mb="$mb" -v b="$bytes" -v r256="$r256" -v d256="$d256" -v r512="$r512" -v d512="$d512" -v vok="$vok" 'BEGIN {
	mbs = b / 1048576
	printf "\nhash-tree renewal of %d letters (%.0f MB: a %d MB scan, a Transfervermerk and 2 seals each), mailroom-resign end to end vs one openssl dgst process:\n", m, mbs, mb
	printf "  to SHA-256: mailroom-resign %.3f s = %.0f MB/s, openssl dgst -sha256 %.3f s = %.0f MB/s: %.2f of it\n", r256, mbs / r256, d256, mbs / d256, d256 / r256
	printf "  to SHA-512: mailroom-resign %.3f s = %.0f MB/s, openssl dgst -sha512 %.3f s = %.0f MB/s: %.2f of it\n", r512, mbs / r512, d512, mbs / d512, d512 / r512
	printf "  target >= 0.8 of openssl dgst -sha256: %s (%.2f); %d of %d renewed letters verify (2 chains)\n", (d256 / r256 >= 0.8 ? "met" : "NOT met"), d256 / r256, vok, m
}' | tee -a "$report"
echo "(report in $report)"
