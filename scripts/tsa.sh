#!/bin/sh
# tsa.sh start|stop|status VARDIR [PORT] - the TEST time-stamping authority
# (build/bin/mailroom-test-tsa, RFC 3161 over HTTP on 127.0.0.1) for tests and the
# demo. Its tokens are NOT qualified and have no legal value.
#
#   start   starts it in the background on 127.0.0.1:PORT (default 3180; 0 = any
#           free port), signing with VARDIR/pki/tsa.{pem,key} (make them with
#           scripts/pki.sh VARDIR); waits until it answers and prints its URL,
#           http://127.0.0.1:PORT/. If it already runs, prints the URL only.
#   stop    stops it (SIGTERM, SIGKILL after 5 s); "not running" is no error.
#   status  prints the URL and pid and exits 0 if it runs, else exits 3.
#
# Files in VARDIR/tsa/: pid, port, serial (last serial number issued; kept across
# restarts so serial numbers stay unique), tsa.log (one line per request).
# The binary: $MAILROOM_BIN/mailroom-test-tsa, else build/bin/ of this checkout.
set -eu

usage() {
	echo "usage: $0 start|stop|status VARDIR [PORT]" >&2
	exit 64
}
if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage; fi
cmd=$1
VAR=$2
PORT=${3:-3180}
case $PORT in '' | *[!0-9]*) usage ;; esac
top=$(cd "$(dirname "$0")/.." && pwd)
TSA=${MAILROOM_BIN:-$top/build/bin}/mailroom-test-tsa
D=$VAR/tsa

NAME=mailroom-test-tsa
. "$top/scripts/daemon-lib.sh"

url() { echo "http://127.0.0.1:$(cat "$D/port")/"; }
tsa_probe() { "$TSA" --probe "127.0.0.1:$1"; }

case $cmd in
start)
	if daemon_running && [ -s "$D/port" ]; then
		url
		exit 0
	fi
	[ -x "$TSA" ] || { echo "tsa.sh: $TSA not found: build first (make build)" >&2; exit 69; }
	for f in ca.pem tsa.pem tsa.key; do
		[ -s "$VAR/pki/$f" ] || {
			echo "tsa.sh: $VAR/pki/$f missing: make the test PKI with scripts/pki.sh $VAR" >&2
			exit 78
		}
	done
	mkdir -p "$D"
	chmod 700 "$D"
	rm -f "$D/pid" "$D/port"
	nohup "$TSA" --pki "$VAR/pki" --listen "127.0.0.1:$PORT" --port-file "$D/port" \
		--pid-file "$D/pid" --serial-file "$D/serial" >>"$D/tsa.log" 2>&1 </dev/null &
	daemon_wait_up $! "$D/tsa.log" tsa_probe
	url
	;;
stop)
	daemon_stop tsa.sh
	;;
status)
	if daemon_running && [ -s "$D/port" ]; then
		echo "running: $(url) (pid $pid)"
		exit 0
	fi
	echo "not running"
	exit 3
	;;
*)
	usage
	;;
esac
