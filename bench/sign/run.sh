#!/bin/sh
# run.sh BUILD - the sealing benchmark (make bench-sign).
#
# In one run on this machine, for an ECDSA P-256 and an RSA-3072 seal key (test
# certificates made here, never qualified):
#   small  N copies of one A4 letter page as a bilevel G4 TIFF at 300 dpi (about
#          40 KB, rendered from samples/letters with groff + ghostscript), each
#          copy made distinct by 8 appended bytes;
#          mailroom-bench-sign (sign_key_open + sign_cades_bio, one process, the key
#          opened once) against a shell loop of
#          `openssl cms -sign -binary -cades -md sha256 -outform DER` over the same
#          files (one process per file, as a script would seal them);
#          also mailroom with --durable (fsync + rename of every .p7s, as the stage).
#   large  M colour scans, A4 at 150 dpi, 24 bit uncompressed (about 6.5 MB each);
#          mailroom-bench-sign against `openssl dgst -sha256` over the same files
#          (the hashing limit: sealing reads every byte once).
# Every .p7s of both tools is then checked with `openssl cms -verify`.
# Targets (issue 4): small >= 20x the loop's files per second; large <= 1.2x the
# time of openssl dgst. Report also in BUILD/bench-work/sign/report.txt
# (BENCH_WORK elsewhere). SMALL=N LARGE=M change the counts (default 1000, 20).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$top/$build" ;; esac
bin=$build/bin/mailroom-bench-sign
small=${SMALL:-1000}
large=${LARGE:-20}
for tool in openssl groff gs tiffinfo; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "bench-sign: $tool not found (sh scripts/deps.sh installs it)" >&2
		exit 69
	}
done
[ -x "$bin" ] || { echo "bench-sign: $bin not built (make build)" >&2; exit 69; }
work=${BENCH_WORK:-$build/bench-work/sign}
report=$work/report.txt
# Documents and signatures live on a tmpfs (/dev/shm) when there is one: the figure
# is the sealing, not ext4's inode allocator, which perf showed dominating both
# tools' file creation on a busy /tmp. The --durable run writes to disk (fsync).
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=/tmp
T=$(mktemp -d "$shm/mailroom-bench-sign.XXXXXX")
D=$(mktemp -d /var/tmp/mailroom-bench-sign-disk.XXXXXX)
trap 'rm -rf "$T" "$D"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$work" "$T/small" "$T/large"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }

# Keys and certificates: a test CA, an EC P-256 and an RSA-3072 seal.
cat >"$T/ext.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
[seal]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
EOF
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
	-subj "/CN=bench-sign TEST CA" -days 2 -out "$T/ca.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.key" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$T/rsa.key" 2>/dev/null
for k in ec rsa; do
	openssl req -new -key "$T/$k.key" -subj "/CN=bench-sign TEST seal $k" -out "$T/$k.csr"
	openssl x509 -req -in "$T/$k.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
		-days 2 -extfile "$T/ext.cnf" -extensions seal -out "$T/$k.pem" 2>/dev/null
done

# The documents.
sh "$top/scripts/sample-letters.sh" "$T/letters" >/dev/null
gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=tiffg4 -r300 -sPAPERSIZE=a4 -dFirstPage=1 -dLastPage=1 \
	-o "$T/page.tif" "$T/letters/01-rechnung.pdf"
gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=tiff24nc -r150 -sPAPERSIZE=a4 -dFirstPage=1 -dLastPage=1 \
	-o "$T/colour.tif" "$T/letters/01-rechnung.pdf"
i=0
while [ $i -lt "$small" ]; do
	f=$(printf '%s/small/s%05d.tif' "$T" $i)
	cp "$T/page.tif" "$f"
	printf '%08d' $i >>"$f"
	i=$((i + 1))
done
i=0
while [ $i -lt "$large" ]; do
	f=$(printf '%s/large/l%03d.tif' "$T" $i)
	cp "$T/colour.tif" "$f"
	printf '%08d' $i >>"$f"
	i=$((i + 1))
done
small_kb=$(( $(wc -c <"$T/small/s00000.tif") / 1024 ))
large_kb=$(( $(wc -c <"$T/large/l000.tif") / 1024 ))

{
	echo "bench-sign: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n), $(nproc) cores," \
		"$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "work on $shm (tmpfs), --durable on /var/tmp (disk)"
	echo "$(openssl version); small: $small files of $small_kb KB (G4 page); large: $large files of $large_kb KB (colour A4, 150 dpi, uncompressed)"
} | tee "$report"

verify_all() { # DIR: every *.p7s in DIR/out-* against its file; prints the failures
	bad=0
	for s in "$1"/*.p7s; do
		f=$2/$(basename "$s" .p7s)
		openssl cms -verify -binary -inform DER -in "$s" -content "$f" -CAfile "$T/ca.pem" \
			-purpose any -out /dev/null 2>/dev/null || bad=$((bad + 1))
	done
	echo $bad
}

for k in ec rsa; do
	# Each run writes into a new directory: creating files where many were just
	# deleted costs ext4 far more than the sealing (seen with perf).
	# mailroom, small files
	mkdir -p "$T/$k-mr" "$D/$k-durable" "$T/$k-loop" "$T/$k-large"
	t0=$(now)
	"$bin" --key "$T/$k.key" --cert "$T/$k.pem" --out "$T/$k-mr" "$T"/small/*.tif >"$T/mr.txt"
	t1=$(now)
	mr_small=$(elapsed "$t0" "$t1")
	key=$(sed 's/.*key="\([^"]*\)".*/\1/' "$T/mr.txt")
	mr_bad=$(verify_all "$T/$k-mr" "$T/small")
	t0=$(now)
	"$bin" --durable --key "$T/$k.key" --cert "$T/$k.pem" --out "$D/$k-durable" "$T"/small/*.tif >/dev/null
	t1=$(now)
	mr_durable=$(elapsed "$t0" "$t1")
	# the openssl loop
	t0=$(now)
	for f in "$T"/small/*.tif; do
		openssl cms -sign -binary -cades -md sha256 -nosmimecap -in "$f" -signer "$T/$k.pem" \
			-inkey "$T/$k.key" -outform DER -out "$T/$k-loop/$(basename "$f").p7s"
	done
	t1=$(now)
	loop_small=$(elapsed "$t0" "$t1")
	loop_bad=$(verify_all "$T/$k-loop" "$T/small")
	# large: mailroom vs openssl dgst
	cat "$T"/large/*.tif >/dev/null # both read from the page cache
	t0=$(now)
	"$bin" --key "$T/$k.key" --cert "$T/$k.pem" --out "$T/$k-large" "$T"/large/*.tif >/dev/null
	t1=$(now)
	mr_large=$(elapsed "$t0" "$t1")
	large_bad=$(verify_all "$T/$k-large" "$T/large")
	t0=$(now)
	for f in "$T"/large/*.tif; do openssl dgst -sha256 "$f" >/dev/null; done
	t1=$(now)
	dgst_large=$(elapsed "$t0" "$t1")
	t0=$(now)
	openssl dgst -sha256 "$T"/large/*.tif >/dev/null
	t1=$(now)
	dgst_one=$(elapsed "$t0" "$t1")
	awk -v key="$key" -v n="$small" -v m="$large" -v mr="$mr_small" -v du="$mr_durable" \
		-v lp="$loop_small" -v ml="$mr_large" -v dl="$dgst_large" -v d1="$dgst_one" \
		-v mb="$mr_bad" -v lb="$loop_bad" -v gb="$large_bad" 'BEGIN {
		printf "\n%s\n", key
		printf "  small  mailroom            %8.3f s  %9.1f files/s  %7.3f ms/file  (%d of %d fail openssl cms -verify)\n", mr, n / mr, 1000 * mr / n, mb, n
		printf "  small  mailroom --durable  %8.3f s  %9.1f files/s  %7.3f ms/file  (on disk, fsync + rename each)\n", du, n / du, 1000 * du / n
		printf "  small  openssl cms loop    %8.3f s  %9.1f files/s  %7.3f ms/file  (%d of %d fail openssl cms -verify)\n", lp, n / lp, 1000 * lp / n, lb, n
		printf "  large  mailroom            %8.3f s  %9.1f files/s  (%d of %d fail verify)\n", ml, m / ml, gb, m
		printf "  large  openssl dgst -sha256 %7.3f s one process per file, %.3f s all in one process\n", dl, d1
		printf "  target small >= 20x the loop: %.1fx -> %s\n", lp / mr, (lp / mr >= 20 ? "met" : "NOT met")
		printf "  target large <= 1.2x openssl dgst: %.2fx per-file dgst, %.2fx one dgst process -> %s\n", ml / dl, ml / d1, (ml / d1 <= 1.2 ? "met" : "NOT met")
	}' | tee -a "$report"
done
# What one private-key operation costs here: the floor for a seal.
openssl speed -seconds 2 ecdsap256 rsa3072 2>/dev/null | grep -E '^ *(256 bits ecdsa|rsa 3072)' |
	awk '{ print "  openssl speed: " $0 }' | tee -a "$report"
echo "(report in $report)"
