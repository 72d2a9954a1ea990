#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Proves build/tests/attack and tests/tools/sink.py work with NO firewall, so
# that the bypass suite seeing nothing arrive under cgfw means something.  Run
# by hand as root (not part of make check):  bash tests/tools/attack-selftest.sh
#
#   [near netns] c0 192.0.2.2/24 ==veth== i0 192.0.2.1/24 [far netns, sink.py]
#    2001:db8:1::2/64, fe80::2     2001:db8:1::1/64, fe80::1
#    default routes via the far side           lo: 198.51.100.7, 2001:db8::10
#
# Every network attack runs in the near netns and must show up in the sink's
# log; the process, cgroup and BPF attacks run against things this script
# started or created.  Prints ok/not ok lines like tests/integration/lib.sh;
# everything is torn down in an EXIT trap.

set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
A=$TOP/build/tests/attack
NAME=attack-selftest
N_FAIL=0
T=""
NS_N=""
NS_F=""
CG=""
BPFDIR=""
PIDS=()

ok() {
	echo "ok - $NAME: $*"
}

not_ok() {
	echo "not ok - $NAME: $*"
	N_FAIL=$((N_FAIL + 1))
}

skip() {
	echo "# SKIP $NAME: $*"
	exit 77
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	[ -n "$BPFDIR" ] && rm -rf "$BPFDIR"
	[ -n "$CG" ] && rmdir "$CG/inner" "$CG" 2>/dev/null
	[ -n "$NS_N" ] && ip netns del "$NS_N" 2>/dev/null
	[ -n "$NS_F" ] && ip netns del "$NS_F" 2>/dev/null
	[ -n "$T" ] && rm -rf "$T"
}

wait_file() {
	local i
	for i in $(seq 1 100); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

hex() {
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
}

# expect DESCRIPTION REGEX OUTPUT: one test line, with the attack's output.
expect() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then
		ok "$1: ${3#pid=* tid=* }"
	else
		not_ok "$1 (want /$2/, got '$3')"
	fi
}

near() {
	nsenter --net="/run/netns/$NS_N" -- "$@"
}

# arrives DESCRIPTION LOGREGEX ATTACK ARGS...: the attack says ok and the sink saw it.
arrives() {
	local what=$1 re=$2 out i
	shift 2
	out=$(near "$A" "$@" 2>&1)
	expect "$what: attack $*" "result=ok" "$out"
	for i in $(seq 1 60); do
		grep -Eq -- "$re" "$T/sink.log" && break
		sleep 0.05
	done
	if grep -Eq -- "$re" "$T/sink.log"; then
		ok "$what: arrived: $(grep -E -- "$re" "$T/sink.log" | head -n 1)"
	else
		not_ok "$what: nothing in the sink log matches /$re/"
	fi
}

[ "$(id -u)" = 0 ] || skip "needs root"
[ -x "$A" ] || skip "build first ($A missing)"
command -v ip >/dev/null || skip "no ip(8)"
trap cleanup EXIT
T=$(mktemp -d /tmp/cgfw-attack.XXXXXX)
chmod 755 "$T"
mkdir -m 1777 "$T/w"

# --- the two namespaces
NS_N=atkn-$$
NS_F=atkf-$$
ip netns add "$NS_N" || skip "cannot create network namespaces"
ip netns add "$NS_F"
for ns in "$NS_N" "$NS_F"; do
	# No DAD: the link-local addresses are usable at once.
	nsenter --net="/run/netns/$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0
done
# Ping sockets: a new netns allows no group ("1 0").
nsenter --net="/run/netns/$NS_N" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
ip link add c0 netns "$NS_N" type veth peer name i0 netns "$NS_F"
ip -n "$NS_N" link set lo up
ip -n "$NS_N" link set c0 up
ip -n "$NS_N" addr add 192.0.2.2/24 dev c0
ip -n "$NS_N" -6 addr add 2001:db8:1::2/64 dev c0 nodad
ip -n "$NS_N" -6 addr add fe80::2/64 dev c0 nodad
ip -n "$NS_N" route add default via 192.0.2.1
ip -n "$NS_N" -6 route add default via 2001:db8:1::1
ip -n "$NS_F" link set lo up
ip -n "$NS_F" link set i0 up
ip -n "$NS_F" addr add 192.0.2.1/24 dev i0
ip -n "$NS_F" -6 addr add 2001:db8:1::1/64 dev i0 nodad
ip -n "$NS_F" -6 addr add fe80::1/64 dev i0 nodad
ip -n "$NS_F" addr add 198.51.100.7/32 dev lo
ip -n "$NS_F" -6 addr add 2001:db8::10/128 dev lo nodad
MAC_F=$(ip -n "$NS_F" -o link show i0 | grep -Eo 'link/ether [0-9a-f:]+' | cut -d' ' -f2)

nsenter --net="/run/netns/$NS_F" python3 "$TOP/tests/tools/sink.py" --log "$T/sink.log" \
	--ready "$T/sink.ready" --tcp 8001,8002,8003,8004,8005,8006,8007 \
	--udp 9001,9002,9003,9004,9005,9006,9007,9008,9009,9010 --icmp 2>"$T/sink.err" &
PIDS+=($!)
if wait_file "$T/sink.ready"; then ok "sink is up"; else
	not_ok "sink did not come up: $(cat "$T/sink.err")"
	exit 1
fi

# --- network: everything must arrive
D=$(hex cgfw-udp)
arrives "tcp IPv4" "proto=tcp src=192.0.2.2:[0-9]+ dst=198.51.100.7:8001 " tcp 198.51.100.7 8001
arrives "tcp IPv6" "proto=tcp src=2001:db8:1::2:[0-9]+ dst=2001:db8::10:8002 " tcp 2001:db8::10 8002
arrives "tcp link-local" "proto=tcp src=fe80::[0-9a-f:]+ dst=fe80::1:8003 " tcp fe80::1%c0 8003
arrives "tcp v4-mapped" "proto=tcp src=192.0.2.2:[0-9]+ dst=198.51.100.7:8004 " \
	tcp ::ffff:198.51.100.7 8004
arrives "io_uring connect" "proto=tcp src=192.0.2.2:[0-9]+ dst=198.51.100.7:8005 " \
	uring-connect 198.51.100.7 8005
arrives "io_uring connect IPv6" "proto=tcp src=2001:db8:1::2:[0-9]+ dst=2001:db8::10:8006 " \
	uring-connect 2001:db8::10 8006
arrives "TCP Fast Open" "proto=tcp .* dst=198.51.100.7:8007 data=$(hex cgfw-tfo)$" \
	tfo 198.51.100.7 8007
expect "TCP Fast Open data rode in the SYN" "syn_data=1" "$(near "$A" tfo 198.51.100.7 8007)"
arrives "udp IPv4" "proto=udp src=192.0.2.2:[0-9]+ dst=198.51.100.7:9001 data=$D$" \
	udp 198.51.100.7 9001
arrives "udp IPv6" "proto=udp src=2001:db8:1::2:[0-9]+ dst=2001:db8::10:9002 data=$D$" \
	udp 2001:db8::10 9002
arrives "udp link-local" "proto=udp src=fe80::[0-9a-f:]+ dst=fe80::1:9003 data=$D$" \
	udp fe80::1%c0 9003
arrives "udp v4-mapped" "proto=udp src=192.0.2.2:[0-9]+ dst=198.51.100.7:9004 data=$D$" \
	udp ::ffff:198.51.100.7 9004
arrives "io_uring sendmsg" "proto=udp .* dst=198.51.100.7:9005 data=$(hex cgfw-uring)$" \
	uring-sendmsg 198.51.100.7 9005
arrives "sendmmsg" "proto=udp .* dst=198.51.100.7:9006 data=$(hex cgfw-mmsg-1)$" \
	sendmmsg 198.51.100.7 9006
expect "sendmmsg: the second datagram arrived" "data=$(hex cgfw-mmsg-2)" \
	"$(grep ":9006 .*=$(hex cgfw-mmsg-2)" "$T/sink.log")"
arrives "raw UDP IPv4" "proto=udp src=192.0.2.2:[0-9]+ dst=198.51.100.7:9007 data=$(hex cgfw-raw)$" \
	raw 198.51.100.7 9007
arrives "raw UDP IPv6" "proto=udp .* dst=2001:db8::10:9008 data=$(hex cgfw-raw)$" \
	raw 2001:db8::10 9008
arrives "AF_PACKET to the peer's MAC" \
	"proto=udp src=192.0.2.2:[0-9]+ dst=198.51.100.7:9009 data=$(hex cgfw-packet)$" \
	packet c0 192.0.2.2 198.51.100.7 9009 "$MAC_F"
arrives "AF_PACKET to broadcast" \
	"proto=udp src=192.0.2.2:[0-9]+ dst=198.51.100.7:9010 data=$(hex cgfw-packet)$" \
	packet c0 192.0.2.2 198.51.100.7 9010
arrives "ping socket IPv4" "proto=icmp src=192.0.2.2:[0-9]+ dst=198.51.100.7:0 data=$(hex cgfw-ping)$" \
	ping 198.51.100.7
arrives "ping socket IPv6" "proto=icmp .* dst=2001:db8::10:0 data=$(hex cgfw-ping)$" \
	ping 2001:db8::10
arrives "raw ICMP IPv4" "proto=icmp src=192.0.2.2:[0-9]+ dst=198.51.100.7:0 data=$(hex cgfw-rawicmp)$" \
	rawicmp 198.51.100.7
arrives "raw ICMPv6" "proto=icmp .* dst=2001:db8::10:0 data=$(hex cgfw-rawicmp)$" \
	rawicmp 2001:db8::10
expect "a closed port is ECONNREFUSED" "result=ECONNREFUSED step=connect" \
	"$(near "$A" tcp 198.51.100.7 8999)"
expect "a parse error is a usage error (exit 2)" "^2$" "$("$A" tcp nonsense 1 2>/dev/null; echo $?)"

# --- processes: root may, nobody may not (unless it is its own, dumpable process)
sleep 300 >/dev/null 2>&1 &
SPID=$!
PIDS+=("$SPID")
setpriv --reuid=65534 --regid=65534 --clear-groups sleep 300 >/dev/null 2>&1 &
NPID=$!
PIDS+=("$NPID")
setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c \
	'import ctypes, sys, time
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0, as cgfw workers
open(sys.argv[1], "w").write("x")
time.sleep(300)' "$T/w/nodump.ready" >/dev/null 2>&1 &
DPID=$!
PIDS+=("$DPID")
wait_file "$T/w/nodump.ready" || not_ok "the non-dumpable process did not start"

expect "root ptraces root" "result=ok$" "$("$A" ptrace "$SPID")"
expect "root reads /proc/PID/mem" "result=ok addr=" "$("$A" procmem "$SPID")"
expect "root takes fd 1 (pidfd_getfd)" "result=ok what=/dev/null" "$("$A" getfd "$SPID" 1)"
expect "root takes all fds" "result=ok got=[1-9]" "$("$A" getfd "$SPID" all)"
expect "root signals" "result=ok" "$("$A" kill "$SPID" 0)"
expect "root's sleeper survived the ptrace" "^S" "$(ps -o stat= -p "$SPID")"
expect "nobody cannot ptrace root" "result=EPERM step=seize" \
	"$("$A" setuid nobody -- ptrace "$SPID")"
expect "nobody cannot open root's /proc/PID/mem" "result=EACCES step=open-mem" \
	"$("$A" setuid nobody -- procmem "$SPID")"
expect "nobody cannot take root's fds" "result=EPERM got=0 fds=- step=pidfd_getfd" \
	"$("$A" setuid nobody -- getfd "$SPID" all)"
expect "nobody cannot signal root" "result=EPERM step=kill" \
	"$("$A" setuid nobody -- kill "$SPID" TERM)"
expect "root setuids to nobody and ptraces nobody" "result=ok$" \
	"$("$A" setuid nobody -- ptrace "$NPID")"
expect "root setuids to nobody and reads its memory" "result=ok addr=" \
	"$("$A" setuid 65534 -- procmem "$NPID")"
expect "root setuids to nobody and takes its fds" "result=ok got=" \
	"$("$A" setuid nobody -- getfd "$NPID" all)"
expect "a non-dumpable process of the same uid: no ptrace" "result=EPERM step=seize" \
	"$("$A" setuid nobody -- ptrace "$DPID")"
expect "a non-dumpable process of the same uid: no /proc/PID/mem" "result=EACCES step=open-mem" \
	"$("$A" setuid nobody -- procmem "$DPID")"
expect "a non-dumpable process of the same uid: no pidfd_getfd" "result=EPERM" \
	"$("$A" setuid nobody -- getfd "$DPID" all)"
expect "root still may (CAP_SYS_PTRACE)" "result=ok$" "$("$A" ptrace "$DPID")"

# --- identity and mounts
expect "caps as root" "result=ok CapEff=0*[1-9a-f][0-9a-f]* uid=0" "$("$A" caps)"
expect "caps after setuid" "result=ok CapEff=0000000000000000 uid=65534" \
	"$("$A" setuid nobody -- caps)"
expect "mounts: bpffs and cgroup2 are visible here" "result=ok mounts=.*bpf:.*|result=ok mounts=.*cgroup2:" \
	"$("$A" mounts)"
expect "mounts: ENOENT once unmounted in a private mount namespace" "result=ENOENT$" \
	"$(unshare --mount --propagation private sh -c \
		'for m in $(awk "/ - (bpf|cgroup2?) /{print \$5}" /proc/self/mountinfo | sort -r); do
			umount -l "$m"; done; exec "$0" mounts' "$A")"

# --- cgroups
CGMNT=$(awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
if [ -z "$CGMNT" ]; then
	not_ok "no cgroup2 mount: cgroup and BPF attacks not tried"
	exit 1
fi
CG=$CGMNT/cgfw-attack-$$
mkdir -p "$CG/inner"
# in_cgroup DIR CMD...: run CMD as a process of cgroup DIR.
in_cgroup() {
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$@"
}
expect "cgroup-escape by cgroup.procs" "result=ok cgroup=/cgfw-attack-$$\$" \
	"$(in_cgroup "$CG/inner" "$A" cgroup-escape "$CG/cgroup.procs")"
expect "nobody cannot write root's cgroup.procs" "result=EACCES step=open cgroup=/cgfw-attack-$$/inner\$" \
	"$(in_cgroup "$CG/inner" "$A" setuid nobody -- cgroup-escape "$CG/cgroup.procs")"
expect "cgroup-escape-handle to the root (id 1)" "result=ok type=0x[0-9a-f]+ cgroup=/\$" \
	"$(in_cgroup "$CG/inner" "$A" cgroup-escape-handle "$CG/inner")"
expect "cgroup-escape-handle to a cgroup by id" "result=ok type=0x[0-9a-f]+ cgroup=/cgfw-attack-$$\$" \
	"$(in_cgroup "$CG/inner" "$A" cgroup-escape-handle "$CG/inner" "$(stat -c %i "$CG")")"
expect "nobody cannot open_by_handle_at" "result=EPERM .*step=open_by_handle_at" \
	"$(in_cgroup "$CG/inner" "$A" setuid nobody -- cgroup-escape-handle "$CG/inner")"

# --- BPF: an allow-all cgroup_skb link of our own, pinned in a bpffs dir of our own
BPFMNT=$(awk '$0 ~ / - bpf / { print $5; exit }' /proc/self/mountinfo)
BPFDIR=$BPFMNT/cgfw-attack-$$
mkdir -p "$BPFDIR/sub"
attached() {
	bpftool cgroup show "$CG/inner" 2>/dev/null | grep -c egress
}
expect "fixture: pin a link" "result=ok$" "$("$A" bpf-pin-link "$CG/inner" "$BPFDIR/link")"
expect "the link is attached" "^1$" "$(attached)"
expect "nobody cannot get the pinned link" "result=EACCES step=obj_get" \
	"$("$A" setuid nobody -- bpf-detach "$BPFDIR/link")"
expect "nobody cannot walk the ids" "result=EPERM" "$("$A" setuid nobody -- bpf-getid)"
expect "root gets fds by id" "result=ok link_id=[0-9]+ link_fd=ok" "$("$A" bpf-getid)"
expect "root detaches the pinned link" "result=ok link_id=[0-9]+$" \
	"$("$A" bpf-detach "$BPFDIR/link")"
expect "the link is detached" "^0$" "$(attached)"
rm -f "$BPFDIR/link"
expect "fixture: pin a link in a subdirectory" "result=ok$" \
	"$("$A" bpf-pin-link "$CG/inner" "$BPFDIR/sub/link")"
expect "bpf-detach-all finds and detaches it" "result=ok files=1 got=1 detached=1$" \
	"$("$A" bpf-detach-all "$BPFDIR")"
expect "the link is detached" "^0$" "$(attached)"
expect "bpf-detach on a missing pin" "result=ENOENT step=obj_get" \
	"$("$A" bpf-detach "$BPFDIR/nothing")"

exit $((N_FAIL > 0))
