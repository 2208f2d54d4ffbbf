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

# running: 0 if the pid file names a live mailroom-test-tsa (not a reused pid).
running() {
	[ -s "$D/pid" ] || return 1
	pid=$(cat "$D/pid")
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q mailroom-test-tsa
}

url() { echo "http://127.0.0.1:$(cat "$D/port")/"; }

case $cmd in
start)
	if running && [ -s "$D/port" ]; then
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
	child=$!
	i=0
	while :; do
		if [ -s "$D/port" ] && "$TSA" --probe "127.0.0.1:$(cat "$D/port")" 2>/dev/null; then
			break
		fi
		if ! kill -0 "$child" 2>/dev/null || [ $i -ge 100 ]; then
			kill "$child" 2>/dev/null || true
			echo "tsa.sh: the test TSA did not start; its log ($D/tsa.log):" >&2
			tail -n 5 "$D/tsa.log" >&2
			exit 69
		fi
		i=$((i + 1))
		sleep 0.1
	done
	url
	;;
stop)
	if ! running; then
		echo "tsa.sh: not running"
		rm -f "$D/pid" "$D/port"
		exit 0
	fi
	kill -TERM "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "tsa.sh: pid $pid ignored SIGTERM; sending SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$D/pid" "$D/port"
	echo "tsa.sh: stopped (pid $pid)"
	;;
status)
	if running && [ -s "$D/port" ]; then
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
