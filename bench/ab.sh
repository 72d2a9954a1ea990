#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/ab.sh BASE-LOADER NEW-LOADER: two builds of cgfw side by side on the
# rows a change is meant to move (HTTP and HTTPS keep-alive with wrk, DNS with
# dnsperf, `run true`), runs alternating between the builds (which goes first
# too), medians of BENCH_RUNS (default 5); the direct side runs in every
# round as well, so that drift shows.  Each loader runs the workers beside it
# (copy a build's cgfw-* elsewhere to keep it).  No bpf_stats, no profiler.
# Needs root and the bench deps; run it under the integration lock.
#   BENCH_AB_ROWS="http https dns startup"   which rows
# The ab_* functions are called indirectly.
# shellcheck disable=SC2317
set -u
if [ "$(id -u)" != 0 ] || [ $# != 2 ]; then
	echo "usage: bench/ab.sh BASE-LOADER NEW-LOADER (as root)" >&2
	exit 2
fi
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
RUNS=${BENCH_RUNS:-5}
AB_BASE=$(realpath "$1") AB_NEW=$(realpath "$2")
# shellcheck source=bench/dns.sh
. "$(dirname "$0")/dns.sh"
# shellcheck source=bench/http.sh
. "$(dirname "$0")/http.sh"

ab_http() { wrk_once "$1" http | cut -d' ' -f1; }
ab_https() { wrk_once "$1" https | cut -d' ' -f1; }
ab_dns() {
	if [ "$1" = cgfw ]; then dnsperf_run cgfw "$SERVER_IP" 53 | cut -d' ' -f1
	else dnsperf_run plain "$SERVER_IP" 53 | cut -d' ' -f1; fi
}
ab_startup() {
	local t0 t1
	t0=$(date +%s%N)
	if [ "$1" = cgfw ]; then
		in_client "$LOADER" run --user "$BENCH_USER" --log-file "$T/events.json" true \
		    >/dev/null 2>&1 || return 1
	else
		in_client true || return 1
	fi
	t1=$(date +%s%N)
	awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f\n", d / 1e6 }'
}

setup
http_setup || exit 1
dns_setup || exit 1
for r in ${BENCH_AB_ROWS:-http https dns startup}; do
	declare -a d=() b=() n=()
	for ((i = 1; i <= RUNS; i++)); do
		order="base new"
		((i % 2)) || order="new base"
		d+=("$(ab_"$r" plain)")
		for w in $order; do
			[ "$w" = base ] && LOADER=$AB_BASE || LOADER=$AB_NEW
			v=$(ab_"$r" cgfw) || { err "$r: $w run $i failed"; continue; }
			say "$r run $i: $w $v (direct ${d[-1]})"
			if [ "$w" = base ]; then b+=("$v"); else n+=("$v"); fi
		done
	done
	md=$(printf '%s\n' "${d[@]}" | median) mb=$(printf '%s\n' "${b[@]}" | median)
	mn=$(printf '%s\n' "${n[@]}" | median)
	printf '%-8s direct %10s  base %10s (%s)  new %10s (%s)  new/base %s\n' "$r" "$md" "$mb" \
	    "$(awk -v a="$mb" -v b="$md" 'BEGIN { printf "%.3f", a / b }')" "$mn" \
	    "$(awk -v a="$mn" -v b="$md" 'BEGIN { printf "%.3f", a / b }')" \
	    "$(awk -v a="$mn" -v b="$mb" 'BEGIN { printf "%.3f", a / b }')"
	echo "  $r runs: direct ${d[*]} | base ${b[*]} | new ${n[*]}"
done
exit "$((N_ERR > 0))"
