# daemon-lib.sh - start/stop of the loopback test servers by pid and port file
# (sourced by scripts/tsa.sh and scripts/escl.sh; POSIX sh).
#
# Each server writes DIR/pid and DIR/port itself once it listens. The caller sets
# D (that directory) and NAME (the program name, to tell a live server from a
# reused pid) before calling these.

# daemon_running: 0 if D/pid names a live NAME process; sets pid.
daemon_running() {
	[ -s "$D/pid" ] || return 1
	pid=$(cat "$D/pid")
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$NAME"
}

# daemon_wait_up CHILD LOG PROBE...: wait up to 10 s until D/port exists and
# "PROBE... PORT" succeeds; if CHILD dies or time runs out, kill it, show the
# end of LOG and exit 69.
daemon_wait_up() {
	_child=$1
	_log=$2
	shift 2
	_i=0
	while :; do
		if [ -s "$D/port" ] && "$@" "$(cat "$D/port")" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$_child" 2>/dev/null || [ $_i -ge 100 ]; then
			kill "$_child" 2>/dev/null || true
			echo "$NAME did not start; its log ($_log):" >&2
			tail -n 5 "$_log" >&2
			exit 69
		fi
		_i=$((_i + 1))
		sleep 0.1
	done
}

# daemon_stop LABEL: SIGTERM, SIGKILL after 5 s; "not running" is no error.
daemon_stop() {
	if ! daemon_running; then
		echo "$1: not running"
		rm -f "$D/pid" "$D/port"
		return 0
	fi
	kill -TERM "$pid"
	_i=0
	while kill -0 "$pid" 2>/dev/null && [ $_i -lt 50 ]; do
		_i=$((_i + 1))
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "$1: pid $pid ignored SIGTERM; sending SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$D/pid" "$D/port"
	echo "$1: stopped (pid $pid)"
}
