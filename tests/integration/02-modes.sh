#!/usr/bin/env bash
# Block-list mode (a listed IP or CIDR is blocked: the original allowed it),
# log-only mode (nothing blocked, everything reported), and the
# block-list-with-names default (hard-coded IPs blocked).
. "$(dirname "$0")/lib.sh"
fi_up

out=$(cgfw run --user nobody --log-file "$T/ev.json" --block-list 198.51.100.7 -- \
	sh -c "$PROBE tcp 198.51.100.7 80; $PROBE tcp 203.0.113.10 80")
expect_match "block-listed IP is EPERM" "result=EPERM" "$(echo "$out" | sed -n 1p)"
expect_match "other IPs pass in block-list mode" "result=ok" "$(echo "$out" | sed -n 2p)"
expect_eq "because=MatchedBlockListIP" MatchedBlockListIP "$(ev_field '.blocked' because)"
expect_eq "ruleSource names the rule kind" MatchedBlockListIP "$(ev_field '.blocked' ruleSource)"
expect_match "ruleSourceComment names rule and origin" "198.51.100.7.*--block-list" \
	"$(ev_field '.blocked' ruleSourceComment)"
expect_eq "mode=block-list" block-list "$(ev_field '.blocked' mode)"
expect_eq "one event only" 1 "$(jq -s length "$T/ev.json")"

out=$(cgfw run --user nobody --log-file "$T/ev2.json" --block-list 198.51.100.0/25 -- \
	$PROBE tcp 198.51.100.8 80)
expect_match "block-listed CIDR is EPERM" "result=EPERM" "$out"
expect_eq "because=MatchedBlockListCIDR" MatchedBlockListCIDR \
	"$(ev_field '.blocked' because "$T/ev2.json")"

# Log-only: no list at all.
out=$(cgfw run --user nobody --log-file "$T/ev3.json" -- \
	sh -c "$PROBE tcp 198.51.100.7 80; $PROBE tcp 203.0.113.10 80")
expect_match "log-only: first connection passes" "result=ok" "$(echo "$out" | sed -n 1p)"
expect_match "log-only: second connection passes" "result=ok" "$(echo "$out" | sed -n 2p)"
expect_eq "log-only: both reported" 2 \
	"$(jq -s '[.[] | select(.because == "LogOnly" and .blocked == false)] | length' "$T/ev3.json")"
expect_eq "log-only: mode field" log-only "$(ev_field 'true' mode "$T/ev3.json")"

# Block list with a name: an IP not resolved for an allowed name is refused.
out=$(cgfw run --user nobody --log-file "$T/ev4.json" --block-list example.com -- \
	$PROBE tcp 203.0.113.10 80)
expect_match "block list with a name blocks hard-coded IPs" "result=EPERM" "$out"
expect_eq "because=IPNotResolvedForAllowedDomain" IPNotResolvedForAllowedDomain \
	"$(ev_field '.blocked' because "$T/ev4.json")"

# Loopback is always allowed, even in allow-list mode.
out=$(cgfw run --user nobody --log-file "$T/ev5.json" --allow-list 203.0.113.10 -- \
	$PROBE udp-sendto 127.0.0.1 9)
check "loopback is not blocked" test "$(echo "$out" | grep -c EPERM)" = 0

no_leftovers
finish
