#!/usr/bin/env bash
# Allow-list by IP and by CIDR: allowed traffic flows, everything else gets
# EPERM from connect() at once (curl exit 7, not a timeout), with an event.
. "$(dirname "$0")/lib.sh"
fi_up

# curl's errors in $out; the loader's (and its mode line) apart.
out=$(cgfw run --user nobody --log-file "$T/ev.json" --allow-list 203.0.113.10 -- \
	sh -c 'exec curl -sS -m 5 http://203.0.113.10/ 2>&1' 2>"$T/loader.err")
expect_eq "allowed IP answers" "hello from 203.0.113.10" "$out"

cgfw run --user nobody --log-file "$T/ev.json" --allow-list 203.0.113.10 -- \
	curl -sS -m 5 http://198.51.100.7/ >"$T/out" 2>&1
expect_eq "unlisted IP: curl fails to connect at once (exit 7, not 28)" 7 $?

out=$(cgfw run --user nobody --log-file "$T/ev.json" --allow-list 203.0.113.10 -- \
	$PROBE tcp 198.51.100.7 80)
expect_match "unlisted IP: connect() returns EPERM" "result=EPERM" "$out"
pid=${out#pid=}
pid=${pid%% *}
expect_eq "blocked event names the connecting pid" "$pid" \
	"$(ev_field ".blocked and .ip == \"198.51.100.7\" and .comm == \"python3\"" pid)"
expect_eq "because=IPNotAllowed" IPNotAllowed \
	"$(ev_field ".pid == $pid" because)"
expect_eq "blockedAt=connect" connect "$(ev_field ".pid == $pid" blockedAt)"
expect_eq "event port" 80 "$(ev_field ".pid == $pid" port)"
expect_eq "event proto" tcp "$(ev_field ".pid == $pid" proto)"
expect_eq "event uid is the command's" 65534 "$(ev_field ".pid == $pid" uid)"
expect_match "event cmd is the command line" "probe.py tcp 198.51.100.7 80" \
	"$(ev_field ".pid == $pid" cmd)"
check "allowed connections are not reported without --debug" \
	test -z "$(jq -c 'select(.blocked == false)' "$T/ev.json")"

# CIDR
out=$(cgfw run --user nobody --log-file "$T/ev2.json" --allow-list 198.51.100.0/24 -- \
	sh -c "$PROBE tcp 198.51.100.7 80; $PROBE tcp 198.51.100.8 80; $PROBE tcp 203.0.113.10 80")
expect_match "CIDR allows .7" "^pid=[0-9]+ result=ok" "$(echo "$out" | sed -n 1p)"
expect_match "CIDR allows .8" "^pid=[0-9]+ result=ok" "$(echo "$out" | sed -n 2p)"
expect_match "outside the CIDR is EPERM" "result=EPERM" "$(echo "$out" | sed -n 3p)"

# Most specific wins: an exact block inside an allowed CIDR.
out=$(cgfw run --user nobody --log-file "$T/ev3.json" --allow-list 198.51.100.0/24 \
	--block-list 198.51.100.8 -- \
	sh -c "$PROBE tcp 198.51.100.7 80; $PROBE tcp 198.51.100.8 80")
expect_match "CIDR-allowed .7 still allowed" "result=ok" "$(echo "$out" | sed -n 1p)"
expect_match "exact block beats the CIDR allow" "result=EPERM" "$(echo "$out" | sed -n 2p)"
expect_eq "the event names the block rule" "198.51.100.8" \
	"$(ev_field '.blocked' rule "$T/ev3.json")"
expect_eq "because=MatchedBlockListIP" MatchedBlockListIP \
	"$(ev_field '.blocked' because "$T/ev3.json")"

# With --debug the allowed connection is reported too.
cgfw run --user nobody --debug --log-file "$T/ev4.json" --allow-list 203.0.113.0/24 -- \
	$PROBE tcp 203.0.113.10 80 >/dev/null 2>&1
expect_eq "--debug reports the allowed connection" "MatchedAllowListCIDR" \
	"$(ev_field '.blocked == false and .ip == "203.0.113.10"' because "$T/ev4.json")"
expect_eq "allowed events are INFO" INFO \
	"$(ev_field '.blocked == false and .ip == "203.0.113.10"' level "$T/ev4.json")"

no_leftovers
finish
