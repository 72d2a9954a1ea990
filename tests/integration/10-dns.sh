#!/usr/bin/env bash
# DNS names: every way a program resolves goes through cgfw-dnsproxy, which
# enforces the name rules, answers as the server the client asked, and admits
# the A records of allowed names with their TTL.
. "$(dirname "$0")/lib.sh"
fi_up

# status of a dig run: NOERROR, REFUSED, ...
status() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' | head -n 1; }
status_n() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' | sed -n "$1p"; }

# Block by name, and the label boundary.
out=$(cgfw run --user nobody --log-file "$T/ev.json" --block-list google.com -- \
	sh -c 'dig +time=3 +tries=1 google.com; dig +time=3 +tries=1 www.google.com; dig +time=3 +tries=1 notgoogle.com')
expect_eq "blocked name gets REFUSED" REFUSED "$(echo "$out" | status)"
expect_eq "its subdomain too" REFUSED "$(echo "$out" | status_n 2)"
expect_eq "label boundary: notgoogle.com resolves" NOERROR "$(echo "$out" | status_n 3)"
check "notgoogle.com's address is relayed" grep -q '198.51.100.21' <<<"$out"
check "the answer appears to come from the server asked" grep -q 'SERVER: 203.0.113.53#53' <<<"$out"
expect_eq "DNS BLOCKED event" "MatchedBlockListDomain" \
	"$(ev_field '.msg == "DNS BLOCKED" and .domains == "google.com"' because)"
expect_eq "blockedAt dns" dns "$(ev_field '.msg == "DNS BLOCKED"' blockedAt)"
expect_eq "the event names the rule" google.com "$(ev_field '.domains == "www.google.com"' rule)"
expect_match "ruleSourceComment names rule and origin" "www.google.com matched block list rule google.com \(--block-list\)" \
	"$(ev_field '.domains == "www.google.com"' ruleSourceComment)"
expect_eq "qtype" A "$(ev_field '.msg == "DNS BLOCKED"' qtype)"
expect_match "event cmd is dig (its command line, or comm if it already exited)" "^dig" "$(ev_field '.domains == "google.com"' cmd)"
expect_eq "originalIp is the server asked" 203.0.113.53 "$(ev_field '.domains == "google.com"' originalIp)"

# Case and trailing dot, NXDOMAIN as the block response.
out=$(cgfw run --user nobody --block-list 'GOOGLE.com.' --dns-block-response nxdomain -- \
	dig +time=3 +tries=1 Www.Google.COM.)
expect_eq "case and trailing dot ignored, NXDOMAIN on request" NXDOMAIN "$(echo "$out" | status)"

# Allow by name: resolve and connect; other names refused; IPs not resolved stay blocked.
out=$(cgfw run --user nobody --log-file "$T/ev2.json" --allow-list example.com -- \
	sh -c 'curl -sS -m 5 http://example.com/; curl -sS -m 5 http://www.example.com/; curl -sS -m 5 http://google.com/ 2>&1; curl -sS -m 5 http://198.51.100.7/ 2>&1')
expect_eq "allowed name: curl gets the page" "hello from 203.0.113.10" "$(echo "$out" | sed -n 1p)"
expect_eq "subdomain of the allowed name" "hello from 203.0.113.10" "$(echo "$out" | sed -n 2p)"
expect_match "other names do not resolve" "Could not resolve host: google.com" "$(echo "$out" | sed -n 3p)"
expect_match "unresolved IPs are blocked" "Failed to connect" "$(echo "$out" | sed -n 4p)"
expect_eq "DNS BLOCKED NotInAllowList" NotInAllowList \
	"$(ev_field '.msg == "DNS BLOCKED" and .domains == "google.com"' because "$T/ev2.json")"

# --debug: the allowed query and the connection name the domain.
cgfw run --user nobody --debug --log-file "$T/ev3.json" --allow-list example.com -- \
	curl -sS -m 5 http://example.com/ >/dev/null 2>&1
expect_eq "DNS ALLOWED event lists the answer" 203.0.113.10 \
	"$(jq -r 'select(.msg == "DNS ALLOWED" and .qtype == "A") | .answers[0]' "$T/ev3.json" | head -n1)"
expect_eq "PACKET ALLOWED names the domain" example.com \
	"$(ev_field '.msg == "PACKET ALLOWED" and .ip == "203.0.113.10"' domains "$T/ev3.json")"
expect_eq "... and why" MatchedAllowListDomain \
	"$(ev_field '.msg == "PACKET ALLOWED" and .ip == "203.0.113.10"' because "$T/ev3.json")"

# Every client: drill (sendto), dig +tcp, dig @an address where no server runs.
out=$(cgfw run --user nobody --allow-list example.com -- drill example.com @203.0.113.53 2>&1)
expect_match "drill (unconnected UDP) gets the answer" "example.com\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+203\.0\.113\.10" "$out"
expect_match "drill accepts the reply source" "SERVER: 203.0.113.53" "$out"
out=$(cgfw run --user nobody --allow-list example.com -- dig +tcp +time=3 +tries=1 example.com)
expect_eq "dig +tcp answered" NOERROR "$(echo "$out" | status)"
check "dig +tcp got the address" grep -q '203.0.113.10' <<<"$out"
out=$(cgfw run --user nobody --allow-list example.com -- dig +time=3 +tries=1 @198.51.100.99 example.com)
expect_eq "dig @an address with no server is answered by the proxy" NOERROR "$(echo "$out" | status)"
check "... as 198.51.100.99" grep -q 'SERVER: 198.51.100.99#53' <<<"$out"
out=$(in_client dig +time=1 +tries=1 @198.51.100.99 example.com)
check "baseline: without cgfw nothing answers there" test -z "$(echo "$out" | status)"

out=$(cgfw run --user nobody --allow-list example.com -- $PROBE udp-peer 198.51.100.99 53)
expect_match "getpeername shows the server asked, not the proxy" "result=198.51.100.99:53$" "$out"

# An answer too big for the client's UDP: truncated, the client retries over TCP.
out=$(cgfw run --user nobody --allow-list example.com -- dig +noedns +time=3 +tries=1 big.example.com)
check "too big for UDP: the client is told to retry over TCP" grep -q 'Truncated, retrying in TCP mode' <<<"$out"
expect_match "... and gets all 40 records" "ANSWER: 40," "$out"

# AAAA stripped while IPv6 is unsupported, CNAME chains followed.
out=$(in_client dig +time=3 +tries=1 AAAA example.com)
check "baseline: example.com has an AAAA" grep -q '2001:db8::10' <<<"$out"
out=$(cgfw run --user nobody --allow-list example.com -- dig +time=3 +tries=1 AAAA example.com)
expect_eq "AAAA: empty NOERROR" NOERROR "$(echo "$out" | status)"
check "... with no AAAA record" test -z "$(echo "$out" | grep -i 'IN[[:space:]]*AAAA[[:space:]]')"
out=$(cgfw run --user nobody --allow-list alias.example.org -- curl -sS -m 5 http://alias.example.org/)
expect_eq "CNAME chain: the target's address is admitted" "hello from 203.0.113.10" "$out"

# --allow-dns-request: answered, nothing admitted, the packet layer blocks.
# curl's own stderr apart: the monitor's text lines share the loader's.
cgfw run --user nobody --log-file "$T/ev4.json" --block-list google.com --allow-dns-request -- \
	sh -c 'curl -sS -m 5 http://google.com/ 2>'"$W"'/curl4.err' 2>/dev/null
expect_match "--allow-dns-request: resolved, then blocked at connect" "Failed to connect to google.com" \
	"$(cat "$W/curl4.err")"
expect_eq "PACKET BLOCKED names the domain" google.com \
	"$(ev_field '.msg == "PACKET BLOCKED"' domains "$T/ev4.json")"

# Upstream down: SERVFAIL, never silence.
out=$(cgfw run --user nobody --upstream 203.0.113.99 --allow-list example.com -- \
	dig +time=8 +tries=1 example.com)
expect_eq "upstream down: SERVFAIL" SERVFAIL "$(echo "$out" | status)"

# glibc's resolver (getaddrinfo) through the proxy.
out=$(cgfw run --user nobody --allow-list example.com -- $PROBE resolve example.com)
expect_match "getaddrinfo gets the IPv4 address only" "result=203.0.113.10$" "$out"

no_leftovers
finish
