#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench: what cgfw costs, side by side with the same work in a plain
# cgroup v2 directory, in a fake internet of two network namespaces.
# Each benchmark is one bench_* function that ends in one or more `row`s;
# add a function to BENCHES to add a row.  The connect-rate and HTTP rows are
# also measured from the kernel's side: bpf_stats of cgfw's programs during
# them (bench/bpf_cost.c).  make bench first installs the packages of
# packaging/debian/bench-deps (bench/deps.sh).  Knobs (environment):
#   BENCH_RUNS=5         runs per side (medians are reported)
#   BENCH_CONNECTS=20000 connect+close per connect-rate run
#   BENCH_IPERF_SECS=3   seconds per iperf3 run
#   BENCH_EVENTS="1x100000 4x250000"  blocked-connect floods: processes x connects
#   BENCH_MONFMT_EVENTS=1000000  synthetic events per monitor-writer run
#   BENCH_MONFMT_BASE=3a8325e    the commit whose writer is that row's baseline
#   BENCH_DNS_SECS=5     seconds per dnsperf run (bench/dns.sh)
#   CGFW_LOADER=PATH     loader to measure (default build/cgfw-loader)
#   BENCH_ONLY="bench_http bench_events"  only these of BENCHES (default: all)
#   BENCH_PROFILE=DIR    perf/strace profiles of the HTTP, DNS and start-up rows
#                        into DIR (bench/lib.sh, prof_begin; docs/performance.md)
# Needs root; without it, says so and exits 0.  Exits 1 if a measurement
# failed.

# The bench_* and *_once functions are called indirectly (BENCHES, compare).
# shellcheck disable=SC2317
set -u

if [ "$(id -u)" != 0 ]; then
	echo "bench: skipped (needs root)"
	exit 0
fi

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

RUNS=${BENCH_RUNS:-5}
CONNECTS=${BENCH_CONNECTS:-20000}
IPERF_SECS=${BENCH_IPERF_SECS:-3}
for v in "$RUNS" "$CONNECTS" "$IPERF_SECS"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_* must be positive integers" >&2; exit 1; }
done
CONNECT_PORT=9
IPERF_PORT=5201
# Upper bound on any server's life: the whole run takes well under this.
SERVER_SECS=600

# ---------------------------------------------------------------------------
# Sanity: the loader really enforces here, or the numbers measure nothing.
# A connect outside the allow list must fail at once with EPERM.

check_enforced() {
	local out
	if out=$(run_in cgfw "$T/connect_rate" 192.0.2.1 "$CONNECT_PORT" 1 5 2>&1) ||
	    ! grep -q "Operation not permitted" <<<"$out"; then
		err "under cgfw, a connect to 192.0.2.1 (not allowed) must fail with EPERM; got: $out"
		return 1
	fi
	say "cgfw blocks what is not allowed: good"
}

# ---------------------------------------------------------------------------
# 1. connect()/close() rate, one connection at a time, to an accept-and-close
# server: the per-connection cost of the connect4 and egress hooks.

connect_rate_once() {
	local mode=$1 i=$2 out
	if ! out=$(run_in "$mode" "$T/connect_rate" "$SERVER_IP" "$CONNECT_PORT" "$CONNECTS" 60 \
	    2>"$T/connect-$mode-$i.err"); then
		tail -n 3 "$T/connect-$mode-$i.err" >&2
		return 1
	fi
	awk '/connects\/s/ { print $1; exit }' <<<"$out"
}

bench_connect_rate() {
	local metric="TCP connect+close rate"
	start_server connect-server "$T/connect_rate" -s "$SERVER_IP" "$CONNECT_PORT" "$SERVER_SECS"
	if ! wait_listen "$CONNECT_PORT"; then
		err "connect server did not start: $(tail -n 3 "$T/connect-server.log")"
		row "$metric" error error conn/s
		return 1
	fi
	bpf_watch_start connect
	compare "$metric" conn/s connect_rate_once
	local r=$?
	bpf_watch_stop
	[ "$r" = 0 ] || return 1
	bpf_rows "connect rate" connect
	# Every program's time per connect against a whole connect without cgfw.
	local f=$T/bpf-connect.txt v
	v=$(awk '$1 ~ /^egress_/ { ns += $3 } $1 == "egress_connect4" { n = $2 }
	    END { if (n > 0) printf "%.1f\n", ns / n; else exit 1 }' "$f") || v=error
	row "BPF all hooks ns/connect vs connect" "$(awk -v r="$CMP_BASE" 'BEGIN { printf "%.1f\n", 1e9 / r }')" \
	    "$v" ns
}

# ---------------------------------------------------------------------------
# 2. TCP throughput with iperf3: the per-packet cost of the egress hook.

iperf_once() {
	local mode=$1 i=$2 json=$T/iperf-$1-$2.json _
	for _ in 1 2 3; do
		run_in "$mode" iperf3 -c "$SERVER_IP" -p "$IPERF_PORT" -t "$IPERF_SECS" -J \
		    >"$json" 2>"$T/iperf-$mode-$i.err" && break
		# Right after a test the server may still say "busy".
		sleep 0.5
	done
	if ! jq -e '.end.sum_received.bits_per_second / 1e9' "$json" 2>/dev/null; then
		echo "iperf3: $(jq -r '.error // empty' "$json" 2>/dev/null) $(tail -n 3 \
		    "$T/iperf-$mode-$i.err")" >&2
		return 1
	fi
}

bench_iperf() {
	local metric="TCP throughput (iperf3)"
	if ! command -v iperf3 >/dev/null; then
		say "no iperf3 (make deps), skipping"
		row "$metric" skipped skipped Gbit/s
		return 0
	fi
	start_server iperf3-server timeout "$SERVER_SECS" iperf3 -s -B "$SERVER_IP" -p "$IPERF_PORT"
	if ! wait_listen "$IPERF_PORT"; then
		err "iperf3 server did not start: $(tail -n 3 "$T/iperf3-server.log")"
		row "$metric" error error Gbit/s
		return 1
	fi
	compare "$metric" Gbit/s iperf_once
}

# ---------------------------------------------------------------------------
# 3. Wall time of `cgfw-loader run --user nobody true` against plain `true`:
# what cgfw adds to starting a command (cgroup, BPF load and attach, monitor,
# teardown).  Both run in the client netns, the loader's home in the other
# benchmarks.

wall_ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || return 1
	t1=$(date +%s%N)
	awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f\n", d / 1e6 }'
}

bench_startup() {
	local metric="wall time: run true" n=$((RUNS * 4)) json=$T/hyperfine.json
	local loader_cmd base cg i v
	local -a b=() c=()
	if command -v hyperfine >/dev/null; then
		say "$metric: hyperfine, $n runs each"
		loader_cmd=$(printf '%q ' "$LOADER" run --user "$BENCH_USER" \
		    --log-file "$T/events.json" true)
		if ! in_client hyperfine -N --style none --warmup 2 --runs "$n" \
		    --export-json "$json" -n true true -n cgfw "$loader_cmd" \
		    >"$T/hyperfine.log" 2>&1; then
			err "$metric: hyperfine failed: $(tail -n 5 "$T/hyperfine.log")"
			row "$metric" error error ms
			return 1
		fi
		base=$(jq -r '.results[0].median * 1000' "$json")
		cg=$(jq -r '.results[1].median * 1000' "$json")
	else
		say "$metric: no hyperfine, timing $n runs each with date(1)"
		for ((i = 1; i <= n; i++)); do
			b+=("$(wall_ms in_client true)")
			if ! v=$(wall_ms in_client "$LOADER" run --user "$BENCH_USER" \
			    --log-file "$T/events.json" true); then
				err "$metric: cgfw-loader run true failed"
				row "$metric" error error ms
				return 1
			fi
			c+=("$v")
		done
		base=$(printf '%s\n' "${b[@]}" | median)
		cg=$(printf '%s\n' "${c[@]}" | median)
	fi
	row "$metric" "$base" "$cg" ms
	[ -z "$PROFILE" ] || prof_startup
}

# prof_startup: with BENCH_PROFILE, where `run true` spends its time: 20 runs
# under `perf record -a -g`, one under `strace -f -c` (syscall counts and
# time) and one under `strace -f -tt -T` (the timeline; strace slows it).
prof_startup() {
	local -a cmd=(nsenter --net="/run/netns/$NS_C" -- "$LOADER" run --user "$BENCH_USER"
	    --log-file "$T/events.json" true)
	# shellcheck disable=SC2016 # the command's shell expands these
	perf record -q -a -g -e cpu-clock -F 999 -o "$PROFILE/startup.data" -- \
	    sh -c 'for i in $(seq 20); do "$@" || exit 1; done' - "${cmd[@]}" >/dev/null 2>&1 ||
	    say "perf record of run true failed"
	strace -f -c -o "$PROFILE/startup.strace-c.txt" "${cmd[@]}" >/dev/null 2>&1
	strace -f -tt -T -o "$PROFILE/startup.strace.txt" "${cmd[@]}" >/dev/null 2>&1
}

# ---------------------------------------------------------------------------
# 4. A one-million-IP allow list: the loader's share (ip_load: parse, merge
# duplicates, create and fill the maps, target under 1 s), and the wall time
# of `run true` with the list against no list, monitor handshake included.

bench_ip_list() {
	local out ms t0 t1 base cg
	if ! cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$TOP" -I"$B" -I"$B/proto" -o "$B/bench/ip_load" \
	    "$TOP/bench/ip_load.c" "$B/libcgfw.a" -lhttp_parser -lbpf; then
		err "cannot build ip_load"
		row "1M-IP list: parse+merge+maps" n/a error ms
		return 1
	fi
	out=$("$B/bench/ip_load" 1000000) || { err "ip_load failed"; row "1M-IP list: parse+merge+maps" n/a error ms; return 1; }
	say "$out"
	ms=$(sed -n 's/^load [0-9]* IP rules: \([0-9.]*\) ms.*/\1/p' <<<"$out")
	row "1M-IP list: parse+merge+maps" n/a "$ms" ms
	awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "10.%d.%d.%d\n", i / 65536, i / 256 % 256, i % 256 }' \
	    >"$T/big.ips"
	chmod 644 "$T/big.ips"
	t0=$(date +%s%N)
	in_client "$LOADER" run --user "$BENCH_USER" --upstream "$SERVER_IP" \
	    --log-file "$T/events.json" -- true 2>/dev/null || { err "loader without list failed"; return 1; }
	t1=$(date +%s%N)
	base=$(((t1 - t0) / 1000000))
	t0=$(date +%s%N)
	if ! in_client "$LOADER" run --user "$BENCH_USER" --upstream "$SERVER_IP" \
	    --allow-list-file "$T/big.ips" --log-file "$T/events.json" -- true 2>"$T/ip-list.err"; then
		err "loader with the 1M-IP list failed: $(tail -n 2 "$T/ip-list.err")"
		row "run with no list vs 1M IPs" "$base" error ms
		return 1
	fi
	t1=$(date +%s%N)
	cg=$(((t1 - t0) / 1000000))
	row "run with no list vs 1M IPs" "$base" "$cg" ms
}

# ---------------------------------------------------------------------------
# 5. Blocked-connect events: NPROC processes make blocked connects as fast as
# they can (event_flood); every one must become a PACKET BLOCKED line in the
# JSON log or be counted lost (EVENTS LOST lines, exit status 125).  Rows:
# the rate the connects were made against the rate lines reached the log,
# and the share of events that did not reach it.  Only cgfw has a side here.

EVENT_SETS=${BENCH_EVENTS:-1x100000 4x250000}
BLOCKED_IP=198.51.100.7

# events_once NPROC PER: prints "made/s written/s lost-%".
events_once() {
	local np=$1 per=$2 log=$T/flood.json out rc written lost total
	total=$((np * per))
	rm -f "$log" "$T/flood.err"
	install -m 0644 /dev/null "$log"
	out=$(in_client "$LOADER" run --user "$BENCH_USER" --allow-list "$SERVER_IP" \
	    --log-file "$log" -- "$T/event_flood" "$BLOCKED_IP" 9 "$np" "$per" "$log" 300 \
	    2>"$T/flood.err")
	rc=$?
	written=$(grep -c '"msg":"PACKET BLOCKED"' "$log")
	lost=$(grep '"msg":"EVENTS LOST"' "$log" | sed -n 's/.*"count":\([0-9]*\).*/\1/p' |
	    awk '{ s += $1 } END { print s + 0 }')
	# 125: the run lost events (the loader says so); anything else is a failure.
	if [ "$rc" != 0 ] && { [ "$rc" != 125 ] || [ "$written" = "$total" ]; }; then
		echo "event_flood: exit $rc: $(grep -v -e 'PACKET BLOCKED' -e 'EVENTS LOST' \
		    "$T/flood.err" | tail -n 3)" >&2
		return 1
	fi
	if [ "$((written + lost))" != "$total" ]; then
		say "warning: $total events: $written written + $lost in EVENTS LOST lines" \
		    "= $((written + lost))"
	fi
	awk -v w="$written" -v t="$total" '/^RESULT / {
	    printf "%s %s %.3f\n", $3, $5, (t - w) * 100 / t; ok = 1 } END { exit !ok }' <<<"$out" ||
	    { echo "event_flood: $out $(tail -n 3 "$T/flood.err")" >&2; return 1; }
	say "events ${np}x$per: $written of $total lines, $lost in EVENTS LOST lines, exit $rc"
	rm -f "$log" "$T/flood.err"
}

bench_events() {
	local set np per i v m w l metric lmetric
	local -a made wr lo
	for set in $EVENT_SETS; do
		np=${set%x*} per=${set#*x}
		metric="events/s ${set}: made vs JSON"
		lmetric="events lost ${set}"
		if ! [[ $np =~ ^[1-9][0-9]*$ && $per =~ ^[1-9][0-9]*$ ]]; then
			err "BENCH_EVENTS: $set is not NPROCxCONNECTS"
			continue
		fi
		made=() wr=() lo=()
		for ((i = 1; i <= RUNS; i++)); do
			if ! v=$(events_once "$np" "$per"); then
				err "$metric: run $i failed"
				row "$metric" error error events/s
				row "$lmetric" n/a error %
				continue 2
			fi
			read -r m w l <<<"$v"
			say "$metric: run $i/$RUNS: made $(fmt "$m")/s, written $(fmt "$w")/s, lost $l %"
			made+=("$m") wr+=("$w") lo+=("$l")
		done
		row "$metric" "$(printf '%s\n' "${made[@]}" | median)" \
		    "$(printf '%s\n' "${wr[@]}" | median)" events/s
		row "$lmetric" n/a "$(printf '%s\n' "${lo[@]}" | median)" %
	done
}

# ---------------------------------------------------------------------------
# 6. The monitor's own capacity for those events, without the kernel and the
# flood (bench/mon_format.c): synthetic ring-buffer records of blocked
# connects through monitor/events.c's writer, JSON and text lines to
# /dev/null.  Baseline: the same program built on the writer (monitor/events.c
# and lib/json.c) of commit MONFMT_BASE, the last one before it was made fast,
# with the same flags; both builds must first write the same bytes for the
# same records, a mixed set of every kind included.  Without git or that
# commit, only today's writer is measured.

MONFMT_BASE=${BENCH_MONFMT_BASE:-3a8325e}
MONFMT_EVENTS=${BENCH_MONFMT_EVENTS:-1000000}
MONFMT_CC=(gcc -O2 -g -std=gnu11 -D_GNU_SOURCE -fstack-protector-strong -fPIE -D_FORTIFY_SOURCE=2
    -DCGFW_RELEASE)
MONFMT_LIBS=(-lprotobuf-c -lhttp_parser -lcap-ng -lseccomp -lbpf -lelf -lz)

# mon_format_build OUT SRC-ROOT: bench/mon_format.c on SRC-ROOT's writer.
mon_format_build() {
	"${MONFMT_CC[@]}" -I"$2" -I"$TOP" -I"$B" -I"$B/proto" -o "$1" "$TOP/bench/mon_format.c" \
	    "$2/monitor/events.c" "$2/lib/json.c" "$B/libcgfw.a" "${MONFMT_LIBS[@]}"
}

mon_format_once() {
	local mode=$1 out
	out=$("$T/mon_format-$mode" flood "$MONFMT_EVENTS" /dev/null /dev/null) || return 1
	awk '/^RESULT / { print $4; exit }' <<<"$out"
}

bench_monitor() {
	local metric="monitor events/s: $MONFMT_BASE vs now" base="" i v
	local -a now=()
	if ! mon_format_build "$T/mon_format-cgfw" "$TOP"; then
		err "cannot build mon_format"
		row "$metric" error error events/s
		return 1
	fi
	# The tree may be another user's: git refuses those unless told.
	if command -v git >/dev/null &&
	    git -c safe.directory="$TOP" -C "$TOP" cat-file -e "$MONFMT_BASE^{commit}" 2>/dev/null &&
	    mkdir -p "$T/base" &&
	    git -c safe.directory="$TOP" -C "$TOP" archive "$MONFMT_BASE" lib monitor bpf |
	    tar -x -C "$T/base" && mon_format_build "$T/mon_format-plain" "$T/base"; then
		for v in "mixed 50000" "flood 20000"; do
			# shellcheck disable=SC2086 # two words
			if ! "$T/mon_format-plain" $v "$T/mf-base.json" "$T/mf-base.txt" >/dev/null ||
			    ! "$T/mon_format-cgfw" $v "$T/mf-now.json" "$T/mf-now.txt" >/dev/null ||
			    ! cmp -s "$T/mf-base.json" "$T/mf-now.json" ||
			    ! cmp -s "$T/mf-base.txt" "$T/mf-now.txt"; then
				err "$metric: the lines of '$v' differ from $MONFMT_BASE's"
				row "$metric" error error events/s
				return 1
			fi
		done
		say "$metric: the same lines as $MONFMT_BASE's writer (50000 mixed records, 22000 of the flood)"
		compare "$metric" events/s mon_format_once
		return
	fi
	say "$metric: no $MONFMT_BASE to build (git), measuring today's writer only"
	for ((i = 1; i <= RUNS; i++)); do
		v=$(mon_format_once cgfw) || { err "$metric: run $i failed"; row "$metric" n/a error events/s; return 1; }
		now+=("$v")
	done
	row "$metric" n/a "$(printf '%s\n' "${now[@]}" | median)" events/s
}

# shellcheck source=bench/dns.sh
. "$(dirname "$0")/dns.sh"

# shellcheck source=bench/http.sh
. "$(dirname "$0")/http.sh"

BENCHES=(bench_connect_rate bench_iperf bench_startup bench_dns bench_dns_list bench_ip_list
    bench_http bench_events bench_monitor)

# ---------------------------------------------------------------------------

for tool in ip nsenter setpriv ss jq gcc; do
	command -v "$tool" >/dev/null || { echo "bench: $tool missing (make deps)" >&2; exit 1; }
done
[ -x "$LOADER" ] || { echo "bench: $LOADER missing (make)" >&2; exit 1; }
id "$BENCH_USER" >/dev/null 2>&1 || { echo "bench: no user $BENCH_USER" >&2; exit 1; }

mkdir -p "$B/bench"
BENCH_CC=(gcc -O2 -g -Wall -Wextra -std=gnu11 -D_GNU_SOURCE)
"${BENCH_CC[@]}" -o "$B/bench/connect_rate" "$TOP/bench/connect_rate.c" || exit 1
"${BENCH_CC[@]}" -o "$B/bench/event_flood" "$TOP/bench/event_flood.c" || exit 1
"${BENCH_CC[@]}" -o "$B/bench/bpf_cost" "$TOP/bench/bpf_cost.c" -lbpf || exit 1
# The system's OpenSSL, as curl and most clients use it: Debian's BoringSSL
# (cgfw-httpproxy's) is built without assembly, and its P-256 verifies would
# make the client, not the proxies, the bottleneck of the new-connection rows.
"${BENCH_CC[@]}" -pthread -o "$B/bench/tls_conn" "$TOP/bench/tls_conn.c" -lssl -lcrypto || exit 1

if [ -n "${BENCH_PROFILE:-}" ]; then
	if ! command -v perf >/dev/null || ! command -v strace >/dev/null; then
		echo "bench: BENCH_PROFILE needs perf and strace (bench deps)" >&2
		exit 1
	fi
	mkdir -p "$BENCH_PROFILE" || exit 1
	PROFILE=$(cd "$BENCH_PROFILE" && pwd)
fi
setup
# $T is world-readable; the repo may not be, and clients run as $BENCH_USER.
for b in connect_rate event_flood bpf_cost tls_conn; do
	install -m 0755 "$B/bench/$b" "$T/$b"
done

T0=$(date +%s)
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD0" -v n="$(nproc)" 'BEGIN { exit !(l > n / 4) }'; then
	say "warning: load average $LOAD0 on $(nproc) CPUs; expect noisy numbers"
fi
if check_enforced; then
	for b in "${BENCHES[@]}"; do
		[ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $b "* ]] || continue
		"$b"
	done
fi

prof_report
echo
echo "cgfw bench: $(uname -r), $(nproc) CPUs, load $LOAD0; $RUNS runs per side (medians)," \
    "$CONNECTS connects per run, iperf3 -t $IPERF_SECS; $(($(date +%s) - T0)) s"
echo "baseline: the same client as $BENCH_USER in a plain cgroup v2 directory (wall time: plain"
echo "true); ratio = cgfw / baseline, so below 1 costs for rates and above 1 for times."
echo "BPF rows: kernel bpf_stats (run_time_ns / run_cnt) of cgfw's programs during those rows'"
echo "cgfw runs; 'all hooks ns/connect' sets every program's time per connect against a whole"
echo "plain connect+close.  events rows: blocked connects made per second against PACKET"
echo "BLOCKED lines reaching the JSON log per second; lost = events not in the log.  monitor"
echo "row: synthetic events through the monitor's writer into /dev/null, $MONFMT_BASE's against now"
if [ "${#ROWS[@]}" -gt 0 ]; then
	echo
	print_table
	echo
fi
if [ "$N_ERR" -gt 0 ]; then
	echo "bench: $N_ERR measurement(s) failed" >&2
	exit 1
fi
exit 0
