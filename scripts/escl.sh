#!/bin/sh
# escl.sh start|stop|status|clear|reset DIR [STACK [OPTIONS...]] - the TEST eSCL
# scanner (build/bin/mailroom-escl-emulator on 127.0.0.1) for tests and the demo,
# scanned through SANE's real escl backend.
#
#   start DIR STACK [OPTIONS]  starts the emulator on a free port with the page
#           images of STACK (a directory 0001.png 0002.png ... or a manifest file;
#           OPTIONS go to the emulator: --dpi N, --formats png|jpeg|png,jpeg,
#           --jam-at N, --cover-open-at N, --busy-at N, --busy-count K,
#           --hang-at N, --drop-at N, --slow MS, --job-timeout S, --error-body),
#           waits until it answers, writes DIR/sane/dll.conf ("escl") and
#           DIR/sane/escl.conf ("device http://127.0.0.1:PORT MODEL") and prints the
#           SANE device name, escl:http://127.0.0.1:PORT. Scan with
#           SANE_CONFIG_DIR=DIR/sane.
#   stop    stops it (SIGTERM, SIGKILL after 5 s); "not running" is no error.
#   status  prints the device name and pid and exits 0 if it runs, else exits 3.
#   clear   the operator clears the jam / closes the feeder cover (the sheet that
#           jammed is fed again).
#   reset   the whole stack back into the feeder, faults armed again.
#
# Files in DIR/escl/: pid, port, escl.log (one line per request and event),
# served.log (one line "sheet N side front|back served" per image delivered, and
# the fault events). The binary: $MAILROOM_BIN/mailroom-escl-emulator, else
# build/bin/ of this checkout.
#
# NOTE: sane-backends 1.2.1 (Debian 12) lists escl.conf devices in "scanimage -L"
# only when avahi-daemon answers on the system D-Bus (without it, the backend's
# sane_get_devices fails with SANE_STATUS_INVAL and lists nothing). Opening the
# device by name ("scanimage -d escl:http://127.0.0.1:PORT") works either way.
set -eu

usage() {
	echo "usage: $0 start DIR STACK [OPTIONS...] | stop|status|clear|reset DIR" >&2
	exit 64
}
[ $# -ge 2 ] || usage
cmd=$1
VAR=$2
shift 2
top=$(cd "$(dirname "$0")/.." && pwd)
EMU=${MAILROOM_BIN:-$top/build/bin}/mailroom-escl-emulator
D=$VAR/escl

NAME=mailroom-escl-emulator
. "$top/scripts/daemon-lib.sh"

device() { echo "escl:http://127.0.0.1:$(cat "$D/port")"; }

case $cmd in
start)
	[ $# -ge 1 ] || usage
	STACK=$1
	shift
	if daemon_running; then
		echo "escl.sh: already running as pid $pid ($(device)); stop it first" >&2
		exit 75
	fi
	[ -x "$EMU" ] || { echo "escl.sh: $EMU not found: build first (make build)" >&2; exit 69; }
	[ -e "$STACK" ] || { echo "escl.sh: $STACK: no such stack directory or manifest" >&2; exit 66; }
	mkdir -p "$D" "$VAR/sane"
	rm -f "$D/pid" "$D/port"
	nohup "$EMU" --stack "$STACK" --port 0 --port-file "$D/port" --pid-file "$D/pid" \
		--log "$D/served.log" "$@" >>"$D/escl.log" 2>&1 </dev/null &
	daemon_wait_up $! "$D/escl.log" "$EMU" --probe
	printf '# written by scripts/escl.sh: the TEST eSCL emulator only\nescl\n' \
		>"$VAR/sane/dll.conf"
	printf '# written by scripts/escl.sh (TEST eSCL emulator, pid %s)\ndevice http://127.0.0.1:%s "%s"\n' \
		"$(cat "$D/pid")" "$(cat "$D/port")" "mailroom eSCL emulator" >"$VAR/sane/escl.conf"
	device
	;;
stop)
	daemon_stop escl.sh
	;;
status)
	if daemon_running && [ -s "$D/port" ]; then
		echo "running: $(device) (pid $pid)"
		exit 0
	fi
	echo "not running"
	exit 3
	;;
clear | reset)
	daemon_running && [ -s "$D/port" ] || { echo "escl.sh: not running" >&2; exit 3; }
	"$EMU" "--$cmd" "$(cat "$D/port")" || { echo "escl.sh: $cmd: no answer" >&2; exit 69; }
	;;
*)
	usage
	;;
esac
