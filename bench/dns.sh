# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Sourced by bench/run.sh: the DNS rows.  An authoritative dnsmasq with a
# 10,000-name zone in the inet netns is the upstream; dnsperf (from the client
# netns) asks it straight, through cgfw-dnsproxy (the queries redirected by
# connect4, the answers admitted into the allow map), and through a dnsmasq
# forwarder with its cache off, the tool a user would otherwise pick.
# Then the name table: load time and memory of a one-million-name list.
# The dns_* and bench_dns* functions are called indirectly (BENCHES, compare).
# shellcheck disable=SC2317

DNS_SECS=${BENCH_DNS_SECS:-5}
DNS_NAMES=10000
FWD_PORT=5300

dns_setup() {
	[ -e "$T/zone.hosts" ] && return 0
	command -v dnsperf >/dev/null || { err "dnsperf missing (make deps)"; return 1; }
	command -v dnsmasq >/dev/null || { err "dnsmasq missing (make deps)"; return 1; }
	awk -v n="$DNS_NAMES" 'BEGIN { for (i = 0; i < n; i++)
		printf "203.0.113.%d name%d.bench.example\n", 1 + i % 250, i }' >"$T/zone.hosts"
	awk -v n="$DNS_NAMES" 'BEGIN { for (i = 0; i < n; i++) printf "name%d.bench.example A\n", i }' \
	    >"$T/queries.txt"
	chmod 644 "$T/zone.hosts" "$T/queries.txt"
	start_server dns-upstream dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts \
	    --bind-interfaces --listen-address="$SERVER_IP" --user=root --group=root --pid-file= \
	    --addn-hosts="$T/zone.hosts" --local-ttl=300 --dns-forward-max=1000
	# The forwarder under test: in the client netns, cache off.
	nsenter --net="/run/netns/$NS_C" -- dnsmasq -k --conf-file=/dev/null --no-resolv \
	    --no-hosts --bind-interfaces --listen-address=192.0.2.2 --port="$FWD_PORT" \
	    --user=root --group=root --pid-file= --server="$SERVER_IP" --cache-size=0 \
	    --dns-forward-max=1000 >"$T/dns-forwarder.log" 2>&1 &
	PIDS+=($!)
	local i
	for i in $(seq 1 100); do
		in_client dig +short +time=1 +tries=1 @"$SERVER_IP" name1.bench.example 2>/dev/null |
		    grep -q . &&
		    in_client dig +short +time=1 +tries=1 -p "$FWD_PORT" @192.0.2.2 \
		    name1.bench.example 2>/dev/null | grep -q . && return 0
		sleep 0.05
	done
	err "the DNS servers did not come up"
	return 1
}

# dnsperf_run WHERE SERVER PORT: prints "qps latency_us" from one run.
dnsperf_run() {
	local where=$1 server=$2 port=$3 out
	local -a cmd=(dnsperf -s "$server" -p "$port" -d "$T/queries.txt" -l "$DNS_SECS" -c 4 -q 64
	    -t 2)
	if [ "$where" = cgfw ]; then
		out=$(in_client "$LOADER" run --user "$BENCH_USER" --upstream "$SERVER_IP" \
		    --allow-list bench.example --log-file "$T/events.json" -- "${cmd[@]}" 2>&1) ||
		    return 1
	else
		out=$(run_in plain "${cmd[@]}" 2>&1) || return 1
	fi
	awk '/Queries per second:/ { q = $4 } /Average Latency \(s\):/ { l = $4 * 1e6 }
	    /Queries lost:/ { lost = $3 } END { if (q == "") exit 1; print q, l, lost }' <<<"$out"
}

# The three ways, run in turns; medians of qps and latency.
bench_dns() {
	local i w v rc
	local -a dq=() dl=() cq=() cl=() fq=() fl=()
	dns_setup || { row "DNS queries/s" error error q/s; return 1; }
	for ((i = 1; i <= RUNS; i++)); do
		for w in direct cgfw fwd; do
			prof_begin dns "$w" "$i"
			case $w in
			direct) v=$(dnsperf_run plain "$SERVER_IP" 53) ;;
			cgfw) v=$(dnsperf_run cgfw "$SERVER_IP" 53) ;;
			fwd) v=$(dnsperf_run plain 192.0.2.2 "$FWD_PORT") ;;
			esac
			rc=$?
			prof_end "$i" "$v"
			[ "$rc" = 0 ] || { err "dnsperf ($w) run $i failed"; row "DNS queries/s" error error q/s; return 1; }
			say "DNS $w run $i/$RUNS: $(fmt "${v%% *}") q/s, $(echo "$v" | cut -d' ' -f2) us, lost $(echo "$v" | cut -d' ' -f3)"
			case $w in
			direct) dq+=("${v%% *}") dl+=("$(echo "$v" | cut -d' ' -f2)") ;;
			cgfw) cq+=("${v%% *}") cl+=("$(echo "$v" | cut -d' ' -f2)") ;;
			fwd) fq+=("${v%% *}") fl+=("$(echo "$v" | cut -d' ' -f2)") ;;
			esac
		done
	done
	local mdq mdl mcq mcl mfq mfl
	mdq=$(printf '%s\n' "${dq[@]}" | median)
	mdl=$(printf '%s\n' "${dl[@]}" | median)
	mcq=$(printf '%s\n' "${cq[@]}" | median)
	mcl=$(printf '%s\n' "${cl[@]}" | median)
	mfq=$(printf '%s\n' "${fq[@]}" | median)
	mfl=$(printf '%s\n' "${fl[@]}" | median)
	row "DNS q/s: direct vs cgfw" "$mdq" "$mcq" q/s
	row "DNS q/s: dnsmasq fwd vs cgfw" "$mfq" "$mcq" q/s
	row "DNS latency: direct vs cgfw" "$mdl" "$mcl" us
	row "DNS latency: dnsmasq vs cgfw" "$mfl" "$mcl" us
}

# One million names: the table build alone (np_load), and what a run with the
# list costs: loader wall time and the DNS proxy's RSS, against no list.
bench_dns_list() {
	local out ms rss0 rss1 t0 t1 base cg
	if ! cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$TOP" -I"$B" -I"$B/proto" -o "$B/bench/np_load" \
	    "$TOP/bench/np_load.c" "$B/libcgfw.a" -lhttp_parser; then
		err "cannot build np_load"
		return 1
	fi
	out=$("$B/bench/np_load" 1000000) || { err "np_load failed"; return 1; }
	say "$(echo "$out" | head -n 1)"
	ms=$(sed -n 's/^load 1000000 names: \([0-9.]*\) ms.*/\1/p' <<<"$out")
	row "1M-name list: build+seal+open" n/a "$ms" ms
	awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "0.0.0.0 ads%d.tracker%d.example\n", i, i % 97 }' \
	    >"$T/big.hosts"
	chmod 644 "$T/big.hosts"
	# The DNS proxy is the loader's child (the command's parent): find it
	# by /proc/PID/stat, which anyone may read.
	# shellcheck disable=SC2016 # expanded by the command's shell
	local probe='for s in /proc/[0-9]*/stat; do
		read -r pid comm state ppid rest <"$s" 2>/dev/null || continue
		[ "$comm" = "(cgfw-dnsproxy)" ] && [ "$ppid" = "$PPID" ] &&
		awk "/^VmRSS:/ { print \$2 }" "/proc/$pid/status"; done; true'
	t0=$(date +%s%N)
	rss0=$(in_client "$LOADER" run --user "$BENCH_USER" --upstream "$SERVER_IP" \
	    --log-file "$T/events.json" -- sh -c "$probe") || { err "loader without list failed"; return 1; }
	t1=$(date +%s%N)
	base=$(((t1 - t0) / 1000000))
	t0=$(date +%s%N)
	rss1=$(in_client "$LOADER" run --user "$BENCH_USER" --upstream "$SERVER_IP" \
	    --block-list-file "$T/big.hosts" --log-file "$T/events.json" -- sh -c "$probe") ||
	    { err "loader with the 1M list failed"; return 1; }
	t1=$(date +%s%N)
	cg=$(((t1 - t0) / 1000000))
	row "run with no list vs 1M names" "$base" "$cg" ms
	row "dnsproxy RSS: no list vs 1M" "$((rss0 / 1024))" "$((rss1 / 1024))" MiB
}
