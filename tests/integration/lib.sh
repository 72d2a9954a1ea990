# SPDX-License-Identifier: MIT
# Shared by tests/integration/NN-*.sh: a fake internet in two network
# namespaces, the real loader, and ok/not ok lines that tests/run.sh counts.
#
#   [client netns]  c0 192.0.2.2/24 ==veth== i0 192.0.2.1/24  [inet netns]
#    default via 192.0.2.1, fd00::1             lo: 203.0.113.10 (web), 198.51.100.7,
#                                                   198.51.100.8, 203.0.113.53,
#                                                   2001:db8::10
# Nothing routes off the machine: a missed block can only reach the inet netns.
# Everything is torn down in an EXIT trap, pass or fail.

set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The build under test: CGFW_BUILD (relative to the top or absolute), else build/.
B=${CGFW_BUILD:-build}
[ "${B#/}" != "$B" ] || B=$TOP/$B
LOADER=$B/cgfw-loader
TESTNAME=$(basename "$0" .sh)
N_FAIL=0
T=""
NS_C=""
NS_I=""
PIDS=()
CLEANUPS=()

skip() {
	echo "# SKIP $TESTNAME: $*"
	exit 77
}

ok() {
	echo "ok - $TESTNAME: $*"
}

not_ok() {
	echo "not ok - $TESTNAME: $*"
	N_FAIL=$((N_FAIL + 1))
}

# check DESCRIPTION CMD...: one test line from a command's status.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# quiet CMD...: CMD's status without its output (check "..." quiet jq -e ...),
# so the ok/not ok line itself is never sent to /dev/null with it.
quiet() {
	"$@" >/dev/null
}

# expect_status DESCRIPTION WANT GOT ERRFILE: expect_eq, and on a mismatch the
# loader's stderr as comments, so the reason is in the test's output.
expect_status() {
	expect_eq "$1" "$2" "$3"
	[ "$2" = "$3" ] || sed 's/^/#   /' "$4" 2>/dev/null | tail -n 20
}

# expect_eq DESCRIPTION WANT GOT
expect_eq() {
	if [ -n "$2" ] && [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (want '$2', got '$3')"; fi
}

# expect_match DESCRIPTION REGEX TEXT
expect_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then ok "$1"; else
		not_ok "$1 (no match for /$2/ in: $(printf '%s' "$3" | head -c 600))"
	fi
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	for p in "${CLEANUPS[@]}"; do
		eval "$p" 2>/dev/null
	done
	[ -n "$NS_C" ] && ip netns del "$NS_C" 2>/dev/null
	[ -n "$NS_I" ] && ip netns del "$NS_I" 2>/dev/null
	[ -n "$T" ] && rm -rf "$T"
}

finish() {
	exit $((N_FAIL > 0))
}

require_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	[ -x "$LOADER" ] || skip "build first ($LOADER missing)"
	grep -q ' - cgroup2 ' /proc/self/mountinfo || skip "no cgroup2 mount"
	command -v ip >/dev/null || skip "no ip(8)"
	ip netns add "cgfw-probe-$$" 2>/dev/null || skip "cannot create network namespaces"
	ip netns del "cgfw-probe-$$"
}

cgroup2_mnt() {
	awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo
}

# Wait (bounded) for a file that a daemon writes once it is ready.
wait_file() {
	local f=$1 i
	for i in $(seq 1 200); do
		[ -s "$f" ] && return 0
		sleep 0.05
	done
	return 1
}

fi_up() {
	require_root
	# Pins that exist already (a loader killed elsewhere) are not this test's.
	PINS_BEFORE=$(ls /sys/fs/bpf/cgfw 2>/dev/null)
	T=$(mktemp -d /tmp/cgfw-test.XXXXXX)
	chmod 755 "$T"
	# W: where commands running as nobody may write.
	W=$T/w
	mkdir -m 1777 "$W"
	trap cleanup EXIT
	NS_C=cgfwc-$$
	NS_I=cgfwi-$$
	ip netns add "$NS_C"
	ip netns add "$NS_I"
	ip link add c0 netns "$NS_C" type veth peer name i0 netns "$NS_I"
	ip -n "$NS_C" link set lo up
	ip -n "$NS_C" link set c0 up
	ip -n "$NS_C" addr add 192.0.2.2/24 dev c0
	ip -n "$NS_C" -6 addr add fd00::2/64 dev c0 nodad
	ip -n "$NS_C" route add default via 192.0.2.1
	ip -n "$NS_C" -6 route add default via fd00::1
	ip -n "$NS_I" link set lo up
	ip -n "$NS_I" link set i0 up
	ip -n "$NS_I" addr add 192.0.2.1/24 dev i0
	ip -n "$NS_I" -6 addr add fd00::1/64 dev i0 nodad
	local a
	for a in 203.0.113.10 198.51.100.7 198.51.100.8 203.0.113.53 198.51.100.20 \
		198.51.100.21 203.0.113.30 198.51.100.9; do
		ip -n "$NS_I" addr add "$a/32" dev lo
	done
	ip -n "$NS_I" -6 addr add 2001:db8::10/128 dev lo nodad
	echo "nameserver 203.0.113.53" >"$T/resolv.conf"
	: >"$T/empty.conf"

	nsenter --net="/run/netns/$NS_I" python3 "$TOP/tests/tools/fakeinet.py" \
		--ready "$T/fakeinet.ready" >"$T/fakeinet.log" 2>&1 &
	PIDS+=($!)
	wait_file "$T/fakeinet.ready" || { not_ok "fake internet did not come up"; exit 1; }
	dns_up
}

# The fake internet's authoritative DNS (dnsmasq) on 203.0.113.53:
#   example.com (+ AAAA) and *.example.com -> 203.0.113.10
#   google.com, *.google.com -> 198.51.100.20; notgoogle.com -> 198.51.100.21
#   short.example.net -> 203.0.113.30 with TTL 2; alias.example.org CNAME example.com
#   untrusted.example.net -> 198.51.100.8
#   big.example.com -> 40 A records (684 bytes: more than plain UDP's 512)
#   everything else NXDOMAIN.
dns_up() {
	command -v dnsmasq >/dev/null || { not_ok "dnsmasq missing (make deps)"; exit 1; }
	nsenter --net="/run/netns/$NS_I" dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts \
		--bind-interfaces --listen-address=203.0.113.53 --user=root --group=root \
		--pid-file= --local-ttl=60 --log-queries --log-facility=- \
		--host-record=example.com,203.0.113.10,2001:db8::10 \
		--address=/example.com/203.0.113.10 \
		--address=/google.com/198.51.100.20 \
		--address=/notgoogle.com/198.51.100.21 \
		--host-record=short.example.net,203.0.113.30,2 \
		--cname=alias.example.org,example.com \
		--host-record=untrusted.example.net,198.51.100.8 \
		--host-record=blocked.test,198.51.100.9 \
		--cname=cname.example.com,blocked.test \
		$(for i in $(seq 1 40); do printf -- '--address=/big.example.com/198.51.100.%d ' "$i"; done) \
		--address=/#/ >"$T/dnsmasq.log" 2>&1 &
	PIDS+=($!)
	local i
	for i in $(seq 1 100); do
		nsenter --net="/run/netns/$NS_I" dig +short +time=1 +tries=1 @203.0.113.53 \
			example.com 2>/dev/null | grep -q 203.0.113.10 && return 0
		sleep 0.05
	done
	not_ok "dnsmasq did not come up: $(tail -3 "$T/dnsmasq.log")"
	exit 1
}

# In a mount namespace of its own: the test's resolv.conf, and an empty
# /etc/cgfw.conf over the machine's if it has one (the tests never depend on
# a site config; 22-default-config gives its own), then the client netns.
# $0: the resolv.conf, $1: the netns, the rest: the command.
IN_CLIENT_SH='mount --bind "$0" /etc/resolv.conf &&
	{ [ ! -e /etc/cgfw.conf ] || mount --bind "${0%/*}/empty.conf" /etc/cgfw.conf; } &&
	ns=$1 && shift && exec nsenter --net="$ns" -- "$@"'

# in_client CMD...: run in the client netns with the test's own resolv.conf.
in_client() {
	unshare --mount --propagation private sh -c "$IN_CLIENT_SH" \
		"$T/resolv.conf" "/run/netns/$NS_C" "$@"
}

# cgfw ARGS...: the real loader, inside the client netns.
cgfw() {
	in_client "$LOADER" "$@"
}

# wait_until SECONDS CMD...: poll CMD every 50 ms, at most SECONDS.
wait_until() {
	local _ n=$(($1 * 20))
	shift
	for _ in $(seq 1 "$n"); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# cgfw_bg ARGS...: the loader in the background; LPID is the loader's own pid
# (unshare, sh and nsenter all exec), so signals sent to it reach the loader.
cgfw_bg() {
	(exec unshare --mount --propagation private sh -c "$IN_CLIENT_SH" \
		"$T/resolv.conf" "/run/netns/$NS_C" "$LOADER" "$@") &
	LPID=$!
	PIDS+=("$LPID")
}

# Events of the log file as compact JSON lines (fails on invalid JSON).
events() {
	jq -c . "${1:-$T/ev.json}"
}

# One field of the first event matching a jq filter.
ev_field() {
	local filter=$1 field=$2 file=${3:-$T/ev.json}
	jq -r "select($filter) | .$field" "$file" | head -n 1
}

PROBE="/usr/bin/python3 $TOP/tests/tools/probe.py"

# Pins made since the test began that no running loader holds: `status`
# knows (instance locks), so another test's loader running in parallel, or
# one between removing its cgroup and unpinning, is not counted.
new_dead_pins() {
	local id
	for id in $(comm -13 <(printf '%s\n' $PINS_BEFORE | sort) <(ls /sys/fs/bpf/cgfw 2>/dev/null | sort)); do
		# cgfw_exempt is shared by every instance and stays.
		case "$id" in *[!0-9]*) continue ;; esac
		"$LOADER" status --json 2>/dev/null | jq -r 'select(.state != "stale") | .cgroupId' |
			grep -qx "$id" || echo "$id"
	done
}

# dead_runs DIR...: those run-PID directories whose loader is gone (one still
# running, not ours: e.g. a benchmark, is not a leftover), each after a space.
dead_runs() {
	local d
	for d in "$@"; do
		[ -d "$d" ] && [ ! -d "/proc/${d##*/run-}" ] && printf ' %s' "$d"
	done
}

# No cgroup, pin or netns of ours may outlive a test.
no_leftovers() {
	local mnt
	mnt=$(cgroup2_mnt)
	local left
	left=$(dead_runs "$mnt"/cgfw/run-*)
	if [ -n "$left" ]; then
		not_ok "leftover run cgroups:$left"
	else
		ok "no run cgroup left behind"
	fi
	left=$(dead_runs /run/cgfw/instances/run-*)
	if [ -n "$left" ]; then
		not_ok "leftover instance directories:$left"
	else
		ok "no instance directory left behind"
	fi
	local pins
	pins=$(new_dead_pins)
	# A loader of another test may be between removing its cgroup and unpinning.
	[ -n "$pins" ] && sleep 1 && pins=$(new_dead_pins)
	if [ -n "$pins" ]; then
		not_ok "leftover pins: $(echo $pins)"
	else
		ok "no bpffs pin left behind"
	fi
}
