#!/usr/bin/env bash
# Unconnected UDP (sendmsg4) and the cgroup_skb egress backstop: a raw ICMP
# socket gets past connect/sendmsg hooks, so only egress can stop it.
. "$(dirname "$0")/lib.sh"
fi_up

out=$(cgfw run --user nobody --log-file "$T/ev.json" --allow-list 203.0.113.10 -- \
	sh -c "$PROBE udp-sendto 203.0.113.10 9; $PROBE udp-sendto 198.51.100.7 9; $PROBE udp-connect 198.51.100.8 9")
expect_match "sendto an allowed IP gets the echo" "result=ok" "$(echo "$out" | sed -n 1p)"
expect_match "sendto a blocked IP is EPERM" "result=EPERM" "$(echo "$out" | sed -n 2p)"
expect_match "connected UDP to a blocked IP is EPERM" "result=EPERM" "$(echo "$out" | sed -n 3p)"
expect_eq "sendto block is from sendmsg4" sendmsg4 \
	"$(ev_field '.ip == "198.51.100.7"' hook)"
expect_eq "sendto block proto udp" udp "$(ev_field '.ip == "198.51.100.7"' proto)"
expect_eq "connected UDP block is from connect4" connect4 \
	"$(ev_field '.ip == "198.51.100.8"' hook)"

# Raw ICMP needs root: --user root, said explicitly.
out=$(in_client $PROBE icmp 198.51.100.7)
expect_match "baseline: ICMP answered without cgfw" "result=ok" "$out"

# By default a raw socket is refused at creation, even to root.
out=$(cgfw run --user root --log-file "$T/ev3.json" --allow-list 203.0.113.10 -- \
	$PROBE icmp 203.0.113.10)
expect_match "a raw socket is refused at creation" "result=EPERM" "$out"
expect_eq "... reported at socket()" socket "$(ev_field '.hook == "sock_create"' blockedAt "$T/ev3.json")"
expect_eq "... because RawSocketRefused" RawSocketRefused \
	"$(ev_field '.hook == "sock_create"' because "$T/ev3.json")"
expect_eq "... naming the process" "$(echo "$out" | sed 's/^pid=\([0-9]*\).*/\1/')" \
	"$(ev_field '.hook == "sock_create"' pid "$T/ev3.json")"

# --allow-raw-sockets: raw sockets exist, and egress judges every packet.
out=$(cgfw run --user root --allow-raw-sockets --log-file "$T/ev2.json" --allow-list 203.0.113.10 -- \
	sh -c "$PROBE icmp 203.0.113.10; $PROBE icmp 198.51.100.7")
expect_match "ICMP to an allowed IP passes egress" "result=ok" "$(echo "$out" | sed -n 1p)"
expect_match "ICMP to a blocked IP is dropped at egress" "result=(EPERM|TIMEOUT)" \
	"$(echo "$out" | sed -n 2p)"
expect_eq "egress drop reported with blockedAt=packet" packet \
	"$(ev_field '.ip == "198.51.100.7"' blockedAt "$T/ev2.json")"
expect_eq "egress drop proto icmp" icmp "$(ev_field '.ip == "198.51.100.7"' proto "$T/ev2.json")"
expect_eq "egress drop hook" egress "$(ev_field '.ip == "198.51.100.7"' hook "$T/ev2.json")"
expect_eq "egress drop because" IPNotAllowed "$(ev_field '.ip == "198.51.100.7"' because "$T/ev2.json")"
expect_eq "egress drop names the process (owner recorded at socket())" \
	"$(echo "$out" | sed -n '2s/^pid=\([0-9]*\).*/\1/p')" "$(ev_field '.ip == "198.51.100.7"' pid "$T/ev2.json")"

no_leftovers
finish
