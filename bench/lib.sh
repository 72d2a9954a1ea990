# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Sourced by bench/run.sh: the fake internet, the two ways of running a
# client (plain cgroup vs cgfw), medians and the result table.
#
#   [client netns]  c0 192.0.2.2/24 ==veth== i0 192.0.2.1/24  [inet netns]
#    default via 192.0.2.1                     lo: 203.0.113.10/32 (servers)
# Both namespaces are created here and removed in the EXIT trap; nothing
# routes off the machine.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=$TOP/build
LOADER=${CGFW_LOADER:-$B/cgfw-loader}
SERVER_IP=203.0.113.10
BENCH_USER=nobody

T=""
NS_C=""
NS_I=""
CG=""
PIDS=()
ROWS=()
N_ERR=0
# The medians of the last compare (baseline, cgfw).
CMP_BASE=""
CMP_CGFW=""
# The running bpf_cost watcher's pid, if any.
BPF_WATCH=""

say() {
	echo "bench: $*" >&2
}

# err MESSAGE: a measurement failed; the table still prints, make bench fails.
err() {
	echo "bench: error: $*" >&2
	N_ERR=$((N_ERR + 1))
}

cleanup() {
	local p i
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	[ -n "$NS_C" ] && ip netns del "$NS_C" 2>/dev/null
	[ -n "$NS_I" ] && ip netns del "$NS_I" 2>/dev/null
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		# A client killed mid-run could leave something behind.
		[ -e "$CG/cgroup.kill" ] && echo 1 >"$CG/cgroup.kill" 2>/dev/null
		for i in 1 2 3 4 5 6 7 8 9 10; do
			rmdir "$CG" 2>/dev/null && break
			sleep 0.1
		done
		[ -d "$CG" ] && echo "bench: cannot remove cgroup $CG" >&2
	fi
	[ -n "$T" ] && rm -rf "$T"
}

cgroup2_mnt() {
	awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo
}

# setup: temp dir, plain cgroup, the two namespaces.  Fatal on failure.
setup() {
	local mnt self
	T=$(mktemp -d /tmp/cgfw-bench.XXXXXX) || exit 1
	chmod 755 "$T"
	trap cleanup EXIT
	trap 'exit 130' INT TERM

	mnt=$(cgroup2_mnt)
	[ -n "$mnt" ] || { echo "bench: no cgroup2 mount in /proc/self/mountinfo" >&2; exit 1; }
	# Beside the loader's own run cgroups, which go under our cgroup too.
	self=$(awk -F: '$1 == "0" { print $3; exit }' /proc/self/cgroup)
	CG=$mnt${self%/}/cgfw-bench-$$
	mkdir "$CG" || exit 1

	NS_C=cgfwbc-$$
	NS_I=cgfwbi-$$
	ip netns add "$NS_C" || exit 1
	ip netns add "$NS_I" || exit 1
	ip link add c0 netns "$NS_C" type veth peer name i0 netns "$NS_I" || exit 1
	ip -n "$NS_C" link set lo up
	ip -n "$NS_C" link set c0 up
	ip -n "$NS_C" addr add 192.0.2.2/24 dev c0
	ip -n "$NS_C" route add default via 192.0.2.1 || exit 1
	ip -n "$NS_I" link set lo up
	ip -n "$NS_I" link set i0 up
	ip -n "$NS_I" addr add 192.0.2.1/24 dev i0
	ip -n "$NS_I" addr add "$SERVER_IP/32" dev lo || exit 1
	# Hundreds of thousands of short connections.  Closed client sockets skip
	# TIME_WAIT (FIN still sent): tens of thousands of them pile up otherwise,
	# and the port search slows later runs by up to 40 %.  The server keeps a
	# deep accept queue.  All of these are per-netns.
	in_client sh -c 'echo 0 >/proc/sys/net/ipv4/tcp_max_tw_buckets &&
		echo "1024 65535" >/proc/sys/net/ipv4/ip_local_port_range' || exit 1
	in_inet sh -c 'echo 0 >/proc/sys/net/ipv4/tcp_max_tw_buckets &&
		echo 8192 >/proc/sys/net/core/somaxconn &&
		echo 8192 >/proc/sys/net/ipv4/tcp_max_syn_backlog' || exit 1
}

in_client() {
	nsenter --net="/run/netns/$NS_C" -- "$@"
}

in_inet() {
	nsenter --net="/run/netns/$NS_I" -- "$@"
}

# start_server NAME CMD...: a daemon in the inet netns, killed by pid at exit;
# its output goes to $T/NAME.log.
start_server() {
	local name=$1
	shift
	nsenter --net="/run/netns/$NS_I" -- "$@" >"$T/$name.log" 2>&1 &
	PIDS+=($!)
}

# wait_listen PORT: until something listens on SERVER_IP:PORT (bounded, 5 s).
wait_listen() {
	local i
	for i in $(seq 1 100); do
		in_inet ss -Hltn "src $SERVER_IP:$1" 2>/dev/null | grep -q . && return 0
		sleep 0.05
	done
	return 1
}

# run_in MODE CMD...: CMD in the client netns as $BENCH_USER, either
#   plain  in our own cgroup v2 directory (joined before exec), or
#   cgfw   under cgfw-loader run, allowed to reach SERVER_IP only.
# The loader's events go to a file so that CMD's stdout stays clean.
run_in() {
	local mode=$1
	shift
	case "$mode" in
	plain)
		# shellcheck disable=SC2016 # $$ is the inner shell's pid
		in_client sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" \
		    setpriv --reuid="$BENCH_USER" --regid="$(id -g "$BENCH_USER")" --clear-groups \
		    -- "$@"
		;;
	cgfw)
		in_client "$LOADER" run --user "$BENCH_USER" --allow-list "$SERVER_IP" \
		    --log-file "$T/events.json" -- "$@"
		;;
	*)
		echo "run_in: bad mode $mode" >&2
		return 2
		;;
	esac
}

# median: of the numbers on stdin, one per line.
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		if (NR % 2) printf "%.6g\n", v[(NR + 1) / 2]
		else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

is_number() {
	[[ $1 =~ ^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]
}

# compare METRIC UNIT FN: runs "FN plain I" and "FN cgfw I" RUNS times each,
# interleaved (and which goes first alternating) so that drift hits both
# alike; each call prints one number.  The medians become a row.  A failed
# call makes the row an error.
compare() {
	local metric=$1 unit=$2 fn=$3 i mode v order
	local -a plain=() cgfw=()
	for ((i = 1; i <= RUNS; i++)); do
		order="plain cgfw"
		((i % 2)) || order="cgfw plain"
		for mode in $order; do
			if ! v=$("$fn" "$mode" "$i") || ! is_number "$v"; then
				err "$metric: $mode run $i failed${v:+ (output: $v)}"
				row "$metric" error error "$unit"
				return 1
			fi
			say "$metric: $mode run $i/$RUNS: $(fmt "$v") $unit"
			if [ "$mode" = plain ]; then plain+=("$v"); else cgfw+=("$v"); fi
		done
	done
	CMP_BASE=$(printf '%s\n' "${plain[@]}" | median)
	CMP_CGFW=$(printf '%s\n' "${cgfw[@]}" | median)
	row "$metric" "$CMP_BASE" "$CMP_CGFW" "$unit"
}

# fmt NUMBER: 3-4 significant digits without exponent.
fmt() {
	is_number "$1" || { printf '%s' "$1"; return; }
	awk -v v="$1" 'BEGIN {
		a = v < 0 ? -v : v
		if (a >= 1000) printf "%.0f", v
		else if (a >= 100) printf "%.1f", v
		else if (a >= 10) printf "%.2f", v
		else printf "%.3f", v }'
}

# row NAME BASE CGFW UNIT: one line of the table (ratio = cgfw / baseline).
row() {
	local name=$1 base=$2 cg=$3 unit=$4 ratio=n/a
	if is_number "$base" && is_number "$cg"; then
		ratio=$(awk -v b="$base" -v c="$cg" 'BEGIN { if (b > 0) printf "%.3f", c / b; else print "n/a" }')
	fi
	ROWS+=("$(printf '%-38s | %18s | %18s | %6s' "$name" "$(cell "$base" "$unit")" \
	    "$(cell "$cg" "$unit")" "$ratio")")
}

# cell VALUE UNIT: "12.3 unit", or VALUE alone when it is a word ("error").
cell() {
	if is_number "$1"; then printf '%s %s' "$(fmt "$1")" "$2"; else printf '%s' "$1"; fi
}

print_table() {
	local r
	printf '%-38s | %18s | %18s | %6s\n' metric baseline cgfw ratio
	printf '%s\n' "---------------------------------------+--------------------+--------------------+-------"
	for r in "${ROWS[@]}"; do
		printf '%s\n' "$r"
	done
}

# bpf_watch_start NAME: from now on, the run time of the BPF programs of
# every loader run of this build is counted (bench/bpf_cost.c; it turns the
# kernel's bpf_stats on while it runs, and off again when it ends).
bpf_watch_start() {
	"$T/bpf_cost" "$LOADER" "$T/bpf-$1.txt" 2>"$T/bpf-$1.err" &
	BPF_WATCH=$!
	PIDS+=("$BPF_WATCH")
}

# bpf_watch_stop: the counts go to $T/bpf-NAME.txt, "prog run_cnt run_time_ns progs".
bpf_watch_stop() {
	[ -n "$BPF_WATCH" ] || return 1
	kill -TERM "$BPF_WATCH" 2>/dev/null
	wait "$BPF_WATCH"
	BPF_WATCH=""
}

# bpf_per NAME FILE: mean ns per run of program NAME (15 characters at most).
bpf_per() {
	awk -v n="$1" '$1 == n && $2 > 0 { printf "%.1f\n", $3 / $2; ok = 1 } END { exit !ok }' "$2"
}

# bpf_rows LABEL NAME: the per-connect (connect4, and sock_create for the
# socket before it) and per-packet (egress) rows from bpf_cost's counts of
# the rows LABEL names.
bpf_rows() {
	local label=$1 f=$T/bpf-$2.txt v p
	if [ ! -s "$f" ]; then
		err "no BPF statistics for $label: $(tail -n 2 "$T/bpf-$2.err" 2>/dev/null)"
		row "BPF connect4 ns/call ($label)" n/a error ns
		row "BPF sock_create ns/call ($label)" n/a error ns
		row "BPF egress ns/packet ($label)" n/a error ns
		return 1
	fi
	say "BPF run counts ($label): $(awk '{ printf "%s%s %s runs %s ns", s, $1, $2, $3; s = "; " }' "$f")"
	for p in "egress_connect4 BPF connect4 ns/call" "egress_sock_cre BPF sock_create ns/call" \
	    "egress_skb BPF egress ns/packet"; do
		v=$(bpf_per "${p%% *}" "$f") || { err "no runs of ${p%% *} ($label)"; v=error; }
		row "${p#* } ($label)" n/a "$v" ns
	done
}

# BENCH_PROFILE=DIR: where the time of the HTTP, DNS and start-up rows goes
# (docs/performance.md reads these).  Run 1 of each side of a pair is recorded
# system-wide with `perf record -a -g` (cpu-clock, 999 Hz: the VM has no
# hardware counters), run 2 with `perf trace -s -a` (syscalls per thread; it
# slows the run, so its rate is not the row's), run 3 with `perf stat -a`.
# Each run's own result line goes beside them, and prof_report writes the
# text summaries (.comm.txt: CPU by process and object; .sym.txt: symbols).
# Use BENCH_RUNS=3; later runs are not recorded.
PROFILE=${BENCH_PROFILE:-}
PROF_PID=""
PROF_TAG=""

# prof_begin NAME SIDE RUN: start the recorder for this run (or nothing).
prof_begin() {
	[ -n "$PROFILE" ] || return 0
	local tag
	tag=$(printf '%s-%s' "$1" "$2" | tr -c 'A-Za-z0-9_\n-' '_' | tr -s _)
	PROF_TAG=$PROFILE/$tag
	case $3 in
	1) perf record -q -a -g -e cpu-clock -F 999 -o "$PROF_TAG.data" >/dev/null 2>&1 & ;;
	2) perf trace -s -a -o "$PROF_TAG.trace.txt" >/dev/null 2>&1 & ;;
	3) perf stat -a -e task-clock,context-switches,cpu-migrations,raw_syscalls:sys_enter \
	    -o "$PROF_TAG.stat.txt" >/dev/null 2>&1 & ;;
	*) PROF_TAG="" && return 0 ;;
	esac
	PROF_PID=$!
	PIDS+=("$PROF_PID")
	# perf needs a moment to open its events on every CPU.
	sleep 0.5
}

# prof_end RUN RESULT: stop the recorder; the run's result goes beside it.
prof_end() {
	[ -n "$PROF_PID" ] || return 0
	kill -INT "$PROF_PID" 2>/dev/null
	wait "$PROF_PID" 2>/dev/null
	PROF_PID=""
	echo "run $1: $2" >>"$PROF_TAG.result"
}

# prof_report: text summaries of every perf.data in BENCH_PROFILE.
prof_report() {
	[ -n "$PROFILE" ] || return 0
	local f
	for f in "$PROFILE"/*.data; do
		[ -e "$f" ] || continue
		perf report -i "$f" --stdio --no-children -g none --sort comm,dso --percent-limit 0.5 \
		    2>/dev/null | grep -v '^$' >"${f%.data}.comm.txt"
		perf report -i "$f" --stdio --no-children -g none --sort comm,sym --percent-limit 0.3 \
		    2>/dev/null | grep -v '^$' >"${f%.data}.sym.txt"
	done
	say "profiles in $PROFILE"
}
