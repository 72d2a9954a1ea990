#!/usr/bin/env bash
# The bypass suite: the confined command plays the attacker (as nobody and as
# root) with build/tests/attack.  For each way out it asserts that the attack
# failed, that nothing arrived at the far side (tests/tools/sink.py records
# every arrival in the fake internet), and, where the kernel lets cgfw see
# the attempt, that the event names the process.  tests/tools/attack-selftest.sh
# shows that the same attacks do arrive without cgfw.
. "$(dirname "$0")/lib.sh"
fi_up

A=$B/tests/attack
[ -x "$A" ] || { not_ok "build/tests/attack missing (make)"; exit 1; }
BLK=198.51.100.7 # no rule allows it

# The sink: TCP 8001, UDP 9001 (and 53: "another resolver"), UDP 80/443
# (QUIC), ICMP echo.  Ping sockets allowed in the client netns, as on many
# distributions, so the ping case tests cgfw and not the default sysctl.
nsenter --net="/run/netns/$NS_I" /usr/bin/python3 "$TOP/tests/tools/sink.py" --log "$T/sink.log" \
	--ready "$T/sink.ready" --tcp 8001 --udp 9001,80,443 --icmp >"$T/sink.err" 2>&1 &
PIDS+=($!)
wait_file "$T/sink.ready" || { not_ok "sink did not come up: $(cat "$T/sink.err")"; exit 1; }
nsenter --net="/run/netns/$NS_C" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
ip -n "$NS_I" -6 addr add fe80::1/64 dev i0 nodad

arrived() { grep -c . "$T/sink.log" 2>/dev/null || true; }
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2" | head -n 1; }

# attack_case NAME USER WANT_EVENT_FILTER ATTACK ARGS...: run one attack as the
# command; it must fail, nothing may arrive, and when WANT_EVENT_FILTER is not
# empty an event matching it must name the attacking process.
N=0
attack_case() {
	local name=$1 user=$2 filter=$3 before out res pid ev
	shift 3
	N=$((N + 1))
	before=$(arrived)
	out=$(cgfw run --user "$user" --log-file "$T/ev$N.json" --allow-list 203.0.113.10 -- "$A" "$@" 2>>"$T/err")
	sleep 0.3 # a frame in flight reaches the sink's log well within this
	res=$(field result "$out")
	if [ -n "$res" ] && [ "$res" != ok ]; then ok "$name ($user): $res"; else
		not_ok "$name ($user): the attack worked or did not run: $out"; fi
	expect_eq "$name ($user): nothing arrived" "$before" "$(arrived)"
	if [ -n "$filter" ]; then
		pid=$(field pid "$out")
		ev=$(jq -r "select($filter) | .pid" "$T/ev$N.json" 2>/dev/null | head -n 1)
		expect_eq "$name ($user): the event names the process" "$pid" "$ev"
	fi
}

for u in nobody root; do
	attack_case "connect" $u ".blocked and .hook == \"connect4\"" tcp $BLK 8001
	attack_case "sendto" $u ".blocked and .hook == \"sendmsg4\"" udp $BLK 9001
	attack_case "sendmmsg" $u ".blocked and .hook == \"sendmsg4\"" sendmmsg $BLK 9001
	attack_case "TCP Fast Open" $u ".blocked and .ip == \"$BLK\"" tfo $BLK 8001
	# io_uring's socket and connect ops never meet seccomp: the ring is refused.
	attack_case "io_uring connect" $u '.because == "IoUringRefused"' uring-connect $BLK 8001
	attack_case "io_uring sendmsg" $u '.because == "IoUringRefused"' uring-sendmsg $BLK 9001
	attack_case "IPv4-mapped IPv6 connect" $u ".blocked and .hook == \"connect6\" and .ip == \"$BLK\"" \
		tcp "::ffff:$BLK" 8001
	# udpv6_sendmsg() hands a mapped destination to udp_sendmsg(): sendmsg4 decides.
	attack_case "IPv4-mapped IPv6 sendto" $u ".blocked and .proto == \"udp\" and .ip == \"$BLK\"" \
		udp "::ffff:$BLK" 9001
	attack_case "IPv6" $u ".blocked and .because == \"IPv6AlwaysBlocked\"" tcp 2001:db8::10 8001
	attack_case "IPv6 link-local" $u ".blocked and .because == \"IPv6AlwaysBlocked\"" tcp "fe80::1%c0" 8001
	attack_case "DNS to a non-53 port of the resolver" $u ".blocked and .ip == \"203.0.113.53\"" \
		udp 203.0.113.53 9001
	attack_case "ping socket" $u ".blocked and .proto == \"icmp\"" ping $BLK
done
# AF_VSOCK reaches the hypervisor, never the cgroup hooks: refused at
# socket(), before anything could be sent (this test sends nothing).
cat >"$W/vsock.py" <<'EOF'
import os, socket
try:
    socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    r = "ok"
except OSError as e:
    r = __import__("errno").errorcode.get(e.errno, str(e.errno))
print("pid=%d result=%s" % (os.getpid(), r))
EOF
for u in nobody root; do
	out=$(cgfw run --user $u --log-file "$T/vsock-$u.json" -- /usr/bin/python3 "$W/vsock.py" 2>>"$T/err")
	expect_match "AF_VSOCK ($u): refused" "result=EPERM" "$out"
	expect_eq "AF_VSOCK ($u): the event names the process and the family" \
		"$(field pid "$out") SocketFamilyRefused" \
		"$(jq -r 'select(.hook == "sock_create") | "\(.pid) \(.because)"' "$T/vsock-$u.json")"
done

# Raw and packet sockets: the command's seccomp filter hands the socket()
# call to cgfw-monitor, which refuses it and reports it (without that, the
# missing CAP_NET_RAW would refuse it before any hook could).
for u in nobody root; do
	attack_case "raw IP socket" $u '.hook == "sock_create" and .blockedAt == "socket"' raw $BLK 9001
	attack_case "raw ICMP socket" $u '.hook == "sock_create" and .proto == "icmp"' rawicmp $BLK
	attack_case "AF_PACKET frame" $u '.hook == "sock_create" and .because == "RawSocketRefused"' \
		packet c0 192.0.2.2 $BLK 9001
done

# --allow-raw-sockets: raw sockets exist and egress judges their packets,
# naming the process (owner recorded at socket()); AF_PACKET stays refused.
out=$(cgfw run --user root --allow-raw-sockets --log-file "$T/raw.json" --allow-list 203.0.113.10 -- \
	sh -c "$A rawicmp $BLK; $A packet c0 192.0.2.2 $BLK 9001; $A caps" 2>>"$T/err")
sleep 0.3
expect_match "--allow-raw-sockets: raw ICMP to a blocked IP fails" "result=(EPERM|TIMEOUT)" "$(sed -n 1p <<<"$out")"
expect_eq "... dropped at egress, naming the process" "$(field pid "$(sed -n 1p <<<"$out")")" \
	"$(ev_field '.hook == "egress" and .proto == "icmp"' pid "$T/raw.json")"
expect_match "--allow-raw-sockets: AF_PACKET is still refused" "result=EPERM" "$(sed -n 2p <<<"$out")"
expect_eq "... and on record" "$(field pid "$(sed -n 2p <<<"$out")")" \
	"$(ev_field '.hook == "sock_create" and .because == "RawSocketRefused"' pid "$T/raw.json")"
expect_eq "nothing arrived" 0 "$(arrived)"

# DNS to another resolver goes to cgfw-dnsproxy: 198.51.100.7 runs no DNS
# server, yet the answer comes, and the event says which server was asked.
out=$(cgfw run --user nobody --debug --log-file "$T/dns.json" --allow-list example.com -- \
	dig +short +time=2 +tries=1 @$BLK example.com 2>>"$T/err")
expect_eq "DNS to another resolver is answered by cgfw" 203.0.113.10 "$out"
expect_eq "... and on record with the server asked" $BLK \
	"$(ev_field '.msg == "DNS ALLOWED"' originalIp "$T/dns.json")"

# DNS from an AF_INET6 socket to ::ffff:IP:53 goes to cgfw-dnsproxy like IPv4,
# and the answer appears to come from the server asked.
out=$(cgfw run --user nobody --log-file "$T/dns6.json" --allow-list example.com -- \
	sh -c "/usr/bin/python3 $TOP/tests/tools/dns6.py $BLK; $PROBE tcp 203.0.113.10 80" 2>>"$T/err")
expect_eq "DNS over an IPv4-mapped socket is answered by cgfw, as the server asked" \
	"src=::ffff:$BLK rcode=0 answers=1" "$(sed -n 1p <<<"$out")"
expect_match "... and the name's address is admitted" "result=ok" "$(sed -n 2p <<<"$out")"

# URL rules: an AF_INET6 socket to ::ffff:IP goes through the HTTP proxy like
# AF_INET, and UDP (QUIC) to the host's :443/:80 is refused.
cat >"$W/get6.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(("::ffff:" + sys.argv[1], 80))
s.sendall(b"GET /secret HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
print(s.recv(200).split(b"\r\n")[0].decode())
EOF
out=$(cgfw run --user nobody --log-file "$T/url.json" --allow-list http://example.com/allowed -- \
	sh -c "getent hosts example.com >/dev/null; /usr/bin/python3 $W/get6.py 203.0.113.10;
		$A udp 203.0.113.10 443; $A udp ::ffff:203.0.113.10 80" 2>>"$T/err")
expect_match "IPv4-mapped IPv6 to a URL-rule host: the proxy answers 403" "403" "$(sed -n 1p <<<"$out")"
expect_eq "... with an HTTP event" "http://example.com/secret" "$(ev_field '.msg == "HTTP BLOCKED"' url "$T/url.json")"
expect_match "UDP to :443 of a URL-rule host is refused" "result=EPERM" "$(sed -n 2p <<<"$out")"
expect_match "UDP to ::ffff:IP:80 of a URL-rule host is refused" "result=EPERM" "$(sed -n 3p <<<"$out")"
expect_eq "... because URLRuleHostNotTCP" URLRuleHostNotTCP \
	"$(ev_field '.port == "443"' because "$T/url.json")"
expect_eq "nothing arrived over UDP" 0 "$(arrived)"

# Two names on one address, one with URL rules: resolving the other name
# later must not take the address out of the HTTP proxy.
out=$(cgfw run --user nobody --log-file "$T/shared.json" --allow-list http://example.com/allowed,=www.example.com -- \
	sh -c 'getent hosts example.com >/dev/null; getent hosts www.example.com >/dev/null
		curl -s -o /dev/null -w "%{http_code}\n" -m 5 http://example.com/secret' 2>>"$T/err")
expect_eq "a URL-rule host stays intercepted after another name resolves to its address" 403 "$out"

# The workers, attacked from inside a root command (root without the
# capabilities cgfw takes away), as nobody (setuid from there), and as each
# worker's own uid (setuid to it): ptrace, /proc/PID/mem, pidfd_getfd.
cat >"$W/procs.sh" <<EOF
for i in \$(seq 1 200); do [ -s $W/workers ] && break; sleep 0.05; done
for w in \$(cat $W/workers); do
	wuid=\$(awk '/^Uid:/ { print \$2 }' /proc/\$w/status)
	for atk in ptrace procmem getfd; do
		a="\$atk \$w"; [ \$atk = getfd ] && a="getfd \$w all"
		echo "\$w root \$atk \$($A \$a)"
		echo "\$w nobody \$atk \$($A setuid 65534 -- \$a)"
		echo "\$w self \$atk \$($A setuid \$wuid -- \$a)"
	done
done >$W/procs.out
$A getfd \$(cat $W/loader.pid) all >$W/loader.out
EOF
cgfw_bg run --user root --log-file "$T/proc.json" --allow-list 203.0.113.10 -- \
	sh -c "echo \$\$ >$W/cmd.pid; sh $W/procs.sh; echo done >$W/procs.done; exec sleep 30" 2>>"$T/err"
check "the command started" wait_file "$W/cmd.pid"
# The workers, their launchers (the workers' uids) and the keeper (uid 0):
# every cgfw process the loader started, attacked alike.
workers=$(for p in $(cat /proc/$LPID/task/*/children); do
	case "$(cat /proc/$p/comm 2>/dev/null)" in cgfw-*) echo "$p" ;; esac; done)
expect_eq "seven cgfw processes found: three workers, three launchers, the keeper" \
	"cgfw-dnsproxy cgfw-httpproxy cgfw-keeper cgfw-launcher cgfw-launcher cgfw-launcher cgfw-monitor" \
	"$(for w in $workers; do cat /proc/$w/comm; done | sort | tr '\n' ' ' | sed 's/ $//')"
echo "$LPID" >"$W/loader.pid"
echo $workers >"$W/workers"
check "the attacks ran" wait_file "$W/procs.done"
uids=""
for w in $workers; do
	wuid=$(awk '/^Uid:/ { print $2 }' /proc/$w/status)
	name=$(cat /proc/$w/comm)
	case $name in
	cgfw-keeper) check "cgfw-keeper is uid 0 with no capability (run)" \
		test "$wuid" = 0 -a "$(awk '/^CapEff:/ { print $2 }' /proc/$w/status)" = 0000000000000000 ;;
	*) check "$name runs neither as nobody nor as root (uid $wuid)" test "$wuid" != 65534 -a "$wuid" != 0 ;;
	esac
	[ "$name" = cgfw-keeper ] || [ "$name" = cgfw-launcher ] || uids="$uids $wuid"
	while read -r _ who atk line; do
		res=$(field result "$line")
		if [ -n "$res" ] && [ "$res" != ok ]; then ok "$name: $atk as $who: $res"; else
			not_ok "$name: $atk as $who worked: $line"; fi
	done < <(grep "^$w " "$W/procs.out")
	expect_eq "$name: nine attacks tried" 9 "$(grep -c "^$w " "$W/procs.out")"
done
expect_eq "each worker has a uid of its own" 3 "$(echo $uids | tr ' ' '\n' | sort -u | wc -l)"
res=$(field result "$(cat "$W/loader.out")")
if [ -n "$res" ] && [ "$res" != ok ]; then ok "the loader's fds: $res"; else
	not_ok "the root command took the loader's fds: $(cat "$W/loader.out")"; fi
kill -TERM "$LPID"
wait "$LPID"

# Run as the command itself (its namespaces, its capabilities).
root_case() {
	local name=$1
	shift
	out=$(cgfw run --user root --log-file "$T/r$RANDOM.json" --allow-list 203.0.113.10 -- "$A" "$@" 2>>"$T/err")
	res=$(field result "$out")
	if [ -n "$res" ] && [ "$res" != ok ]; then ok "root command: $name: $res"; else
		not_ok "root command: $name worked: $out"; fi
}
root_case "detach every pinned link" bpf-detach-all /sys/fs/bpf
root_case "detach by link id" bpf-getid
root_case "write its pid into the host's parent cgroup" cgroup-escape "$(cgroup2_mnt)/cgfw/cgroup.procs"
root_case "open the root cgroup by file handle" cgroup-escape-handle "$(cgroup2_mnt)" 1
out=$(cgfw run --user root -- "$A" mounts 2>>"$T/err")
expect_match "no bpffs in the command's mount namespace" "^pid=[0-9]+ tid=[0-9]+ result=(ok|ENOENT)" "$out"
check "... (mounts: $(field mounts "$out"))" sh -c "! echo '$out' | grep -q 'bpf:'"

# The record: the log file is root's and the command cannot write it, as
# nobody (0640) nor as root (bound read-only in its mount namespace).
for u in nobody root; do
	cgfw run --user $u --log-file "$T/log-$u.json" --allow-list 203.0.113.10 -- \
		sh -c "$A tcp $BLK 8001; echo '{\"msg\":\"FORGED\"}' >>$T/log-$u.json; true >$T/log-$u.json" \
		>/dev/null 2>>"$T/err"
	expect_eq "$u command: the log is root's, 0640" "0 640" "$(stat -c '%u %a' "$T/log-$u.json")"
	expect_eq "$u command: no forged line, the block is there" "0 1" \
		"$(grep -c FORGED "$T/log-$u.json") $(jq -s '[.[] | select(.blocked)] | length' "$T/log-$u.json")"
done
touch "$W/theirs.json"
chown nobody "$W/theirs.json"
cgfw run --user nobody --log-file "$W/theirs.json" -- true 2>"$T/theirs.err"
expect_eq "an existing log file owned by another user is refused (125)" 125 $?
expect_match "... saying why" "theirs.json: owned by another user" "$(cat "$T/theirs.err")"

no_leftovers
finish
