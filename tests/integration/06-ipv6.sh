#!/usr/bin/env bash
# IPv6: real IPv6 is denied at once and logged as IPv6AlwaysBlocked; an
# IPv4-mapped address follows the IPv4 policy; ::1 is loopback.
. "$(dirname "$0")/lib.sh"
fi_up

# Without cgfw the v6 server answers, so a failure below is cgfw's doing.
out=$(in_client $PROBE tcp 2001:db8::10 80)
expect_match "baseline: IPv6 reachable without cgfw" "result=ok" "$out"

out=$(cgfw run --user nobody --log-file "$T/ev.json" --allow-list 203.0.113.10 -- \
	$PROBE tcp 2001:db8::10 80)
expect_match "IPv6 connect is EPERM" "result=EPERM" "$out"
expect_eq "because=IPv6AlwaysBlocked" IPv6AlwaysBlocked "$(ev_field '.blocked' because)"
expect_eq "event ip is the IPv6 address" 2001:db8::10 "$(ev_field '.blocked' ip)"
expect_eq "hook connect6" connect6 "$(ev_field '.blocked' hook)"

out=$(cgfw run --user nobody --log-file "$T/ev2.json" -- \
	$PROBE udp-sendto 2001:db8::10 9)
expect_match "IPv6 sendto is EPERM even in log-only mode" "result=EPERM" "$out"
expect_eq "hook sendmsg6" sendmsg6 "$(ev_field '.blocked' hook "$T/ev2.json")"

out=$(cgfw run --user nobody --log-file "$T/ev3.json" --allow-list 203.0.113.10 -- \
	sh -c "$PROBE tcp ::ffff:203.0.113.10 80; $PROBE tcp ::ffff:198.51.100.7 80")
expect_match "v4-mapped allowed IP passes" "result=ok" "$(echo "$out" | sed -n 1p)"
expect_match "v4-mapped other IP is EPERM" "result=EPERM" "$(echo "$out" | sed -n 2p)"
expect_eq "v4-mapped block is reported as IPv4" 198.51.100.7 \
	"$(ev_field '.blocked' ip "$T/ev3.json")"

out=$(cgfw run --user nobody --allow-list 203.0.113.10 -- curl -sS -m 5 -g 'http://[2001:db8::10]/' 2>&1)
expect_match "curl over IPv6 fails at once" "Couldn't connect|Failed to connect" "$out"

no_leftovers
finish
