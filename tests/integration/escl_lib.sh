# shellcheck shell=bash disable=SC2034
# escl_lib.sh - shared setup of the escl_* tests (sourced, not run): SANE's real
# escl backend (libsane-escl, sane-backends 1.2.1 on Debian 12) against
# mailroom-escl-emulator, started with scripts/escl.sh on a free 127.0.0.1 port.
#
# Skips (77) when the escl backend or scanimage is missing. Everything lives in
# $TMP (removed at exit unless KEEP=1); the emulator and a private avahi-daemon
# (see escl_avahi_start) are stopped by pid at exit.
set -u
BIN=${MAILROOM_BIN:?run through ctest}
SRC=${MAILROOM_SOURCE:?run through ctest}
TOOL=$BIN/../tests/escl_pnmtool
ESCL_SH=$SRC/scripts/escl.sh

ESCL_SO=""
for d in /usr/lib/x86_64-linux-gnu/sane /usr/lib/*/sane /usr/lib/sane /usr/lib64/sane; do
	[ -e "$d/libsane-escl.so.1" ] && { ESCL_SO=$d/libsane-escl.so.1; break; }
done
if [ -z "$ESCL_SO" ]; then
	echo "SKIP: SANE's escl backend (libsane-escl.so.1, package libsane1) is not installed"
	exit 77
fi
command -v scanimage >/dev/null 2>&1 || { echo "SKIP: scanimage (sane-utils) is not installed"; exit 77; }
[ -x "$BIN/mailroom-escl-emulator" ] && [ -x "$TOOL" ] ||
	{ echo "FAIL: build mailroom-escl-emulator and escl_pnmtool first" >&2; exit 1; }

TMP=$(mktemp -d /tmp/escl_test.XXXXXX)
V=$TMP/v
mkdir -p "$V/escl"
AVAHI_PID=""
DBUS_PID=""
escl_cleanup() {
	sh "$ESCL_SH" stop "$V" >/dev/null 2>&1
	escl_avahi_stop
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap escl_cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
# ASan builds: SANE's dll backend dlcloses libsane-escl at sane_exit, so
# LeakSanitizer cannot name (or suppress) what the escl backend, libcurl and libxml2
# keep ("<unknown module>"). The SANE frontends of these tests (mailroom-scan,
# escl_sanebatch) run without leak checking; scan_sane.sh checks mailroom-scan's
# SANE path for leaks with the test backend. The emulator keeps it.
SANE_ASAN="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

# emu STACK [OPTIONS]: (re)start the emulator with an empty served.log; sets DEV.
emu() {
	sh "$ESCL_SH" stop "$V" >/dev/null
	: >"$V/escl/served.log"
	DEV=$(sh "$ESCL_SH" start "$V" "$@") || fail "scripts/escl.sh start $*"
}
# served: the lines "sheet N side S served" of this emulator run, one per line.
served() { grep ' served$' "$V/escl/served.log"; }
# scan OUT [SCANIMAGE OPTIONS]: an ADF/flatbed batch into OUT/p1.pnm ...; sets RC.
# stdout and stderr of scanimage go to OUT/stdout, OUT/stderr.
scan() {
	local out=$1
	shift
	rm -rf "$out"
	mkdir -p "$out"
	(cd "$out" && SANE_CONFIG_DIR="$V/sane" timeout 90 scanimage -d "$DEV" \
		--batch=p%d.pnm --format=pnm "$@" >stdout 2>stderr)
	RC=$?
}
# pages OUT: number of pages scanimage wrote into OUT.
pages() { find "$1" -maxdepth 1 -name 'p*.pnm' | wc -l; }
# same GOT WANT [flip] [tol T]: the pixels of GOT equal WANT (see escl_pnmtool cmp).
same() { "$TOOL" cmp "$@" >/dev/null; }
# ms: the monotonic clock in milliseconds.
ms() { echo $(($(date +%s%N) / 1000000)); }

# A private D-Bus system bus with avahi-daemon on loopback only (no publishing):
# the escl backend of sane-backends 1.2.1 lists escl.conf devices only when it can
# reach avahi-daemon. Started only when avahi-daemon and dbus-daemon exist, we are
# root (avahi-daemon insists) and no avahi-daemon runs yet. 0 if it runs.
escl_avahi_start() {
	local d=$TMP/avahi i=0
	command -v avahi-daemon >/dev/null 2>&1 && command -v dbus-daemon >/dev/null 2>&1 ||
		return 1
	[ "$(id -u)" = 0 ] || return 1
	[ -s /run/avahi-daemon/pid ] && kill -0 "$(cat /run/avahi-daemon/pid)" 2>/dev/null &&
		return 1
	mkdir -p "$d"
	cat >"$d/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$d/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/>
    <allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
	printf '[server]\nallow-interfaces=lo\nuse-ipv4=yes\nuse-ipv6=no\nenable-dbus=yes\n[publish]\ndisable-publishing=yes\n[wide-area]\nenable-wide-area=no\n' \
		>"$d/avahi.conf"
	DBUS_PID=$(dbus-daemon --config-file="$d/bus.conf" --fork --print-pid) || return 1
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$d/bus avahi-daemon --no-drop-root --no-chroot \
		--no-rlimits -f "$d/avahi.conf" >"$d/avahi.log" 2>&1 &
	AVAHI_PID=$!
	while ! grep -q 'Server startup complete' "$d/avahi.log" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 50 ] || ! kill -0 "$AVAHI_PID" 2>/dev/null; then
			escl_avahi_stop
			return 1
		fi
		sleep 0.1
	done
	export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$d/bus
	return 0
}
escl_avahi_stop() {
	[ -n "$AVAHI_PID" ] && kill "$AVAHI_PID" 2>/dev/null
	[ -n "$DBUS_PID" ] && kill "$DBUS_PID" 2>/dev/null
	AVAHI_PID=""
	DBUS_PID=""
	unset DBUS_SYSTEM_BUS_ADDRESS
}

# The stack: 5 sheets, 300 x 400 pixels at 150 dpi (2 x 2.67 in), different content.
mkdir -p "$TMP/stack"
for i in 1 2 3 4 5; do
	"$TOOL" make 300 400 "$i" "$TMP/stack/000$i.ppm" || fail "escl_pnmtool make"
done
