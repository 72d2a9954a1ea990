#!/usr/bin/env bash
# DNS hardening: a CNAME chain through a name the policy blocks blocks the
# whole answer (nothing admitted, the event names the link), and
# --allow-dns-request changes only what happens to blocked names: the others
# are admitted exactly as without it.  The fake internet (lib.sh) has
# blocked.test -> 198.51.100.9 and cname.example.com CNAME blocked.test.
. "$(dirname "$0")/lib.sh"
fi_up

status() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' | head -n 1; }
status_n() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' | sed -n "$1p"; }
DIG="dig +time=3 +tries=1"

out=$(in_client $DIG cname.example.com)
check "baseline: cname.example.com is a CNAME of blocked.test" \
	grep -Eq 'cname\.example\.com\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+CNAME[[:space:]]+blocked\.test\.' <<<"$out"
check "baseline: ... with blocked.test's address" grep -q '198.51.100.9' <<<"$out"

# 1. A chain through an explicitly blocked name, in allow-list mode.
out=$(cgfw run --user nobody --log-file "$T/ev.json" --allow-list example.com --block-list blocked.test -- \
	sh -c "$DIG cname.example.com; $PROBE tcp 198.51.100.9 80; $DIG www.example.com; $PROBE tcp 203.0.113.10 80")
expect_eq "CNAME to a blocked name: REFUSED" REFUSED "$(echo "$out" | status)"
check "... and the client sees no address of it" test -z "$(grep '198\.51\.100\.9[[:space:]]*$' <<<"$out")"
expect_match "... which is not admitted: connect is EPERM" "result=EPERM" "$(echo "$out" | grep result= | sed -n 1p)"
expect_eq "an allowed name without such a chain still resolves" NOERROR "$(echo "$out" | status_n 2)"
expect_match "... and is reachable" "result=ok" "$(echo "$out" | grep result= | sed -n 2p)"
sel='.msg == "DNS BLOCKED" and .domains == "cname.example.com"'
expect_eq "DNS BLOCKED because CNAMEBlocked" CNAMEBlocked "$(ev_field "$sel" because)"
expect_eq "... names the chain link that matched" blocked.test "$(ev_field "$sel" cname)"
expect_eq "... and its rule" blocked.test "$(ev_field "$sel" rule)"
expect_eq "... ruleSource is the block rule" MatchedBlockListDomain "$(ev_field "$sel" ruleSource)"
expect_match "... ruleSourceComment names the link, the rule and its origin" \
	"^cname\.example\.com is an alias \(CNAME\) of blocked\.test, which matched block list rule blocked\.test \(--block-list\)$" \
	"$(ev_field "$sel" ruleSourceComment)"
expect_eq "... rcode REFUSED" REFUSED "$(ev_field "$sel" rcode)"
expect_eq "... no answers, nothing admitted" "0 false" \
	"$(jq -r "select($sel) | \"\(.answers | length) \(.admitted)\"" "$T/ev.json" | head -n 1)"
expect_eq "the connect is reported as never admitted" IPNotAllowed \
	"$(ev_field '.msg == "PACKET BLOCKED" and .ip == "198.51.100.9"' because)"

# The same over TCP, with NXDOMAIN as the block response.
out=$(cgfw run --user nobody --dns-block-response nxdomain --allow-list example.com --block-list blocked.test -- \
	sh -c "$DIG +tcp cname.example.com; $PROBE tcp 198.51.100.9 80")
expect_eq "over TCP, NXDOMAIN configured: NXDOMAIN" NXDOMAIN "$(echo "$out" | status)"
expect_match "... and still not admitted" "result=EPERM" "$out"

# Block-list mode: the chain is judged the same way.
out=$(cgfw run --user nobody --log-file "$T/ev2.json" --block-list blocked.test -- \
	sh -c "$DIG cname.example.com; $PROBE tcp 198.51.100.9 80; $PROBE tcp example.com 80")
expect_eq "block-list mode: CNAME to a blocked name REFUSED" REFUSED "$(echo "$out" | status)"
expect_match "... not admitted" "result=EPERM" "$(echo "$out" | grep result= | sed -n 1p)"
expect_match "... other names still reachable" "result=ok" "$(echo "$out" | grep result= | sed -n 2p)"
expect_eq "... event names the link" "CNAMEBlocked blocked.test" \
	"$(jq -r 'select(.msg == "DNS BLOCKED") | "\(.because) \(.cname)"' "$T/ev2.json" | head -n 1)"

# Decision (docs/policy.md): a chain target that is only not allowed does not block.
out=$(cgfw run --user nobody --allow-list example.com -- \
	sh -c "$DIG cname.example.com; $PROBE tcp 198.51.100.9 80")
expect_eq "allow-list mode, target merely not allowed: answered" NOERROR "$(echo "$out" | status)"
expect_match "... and admitted, as the allowed name's address" "result=ok" "$out"

# 2. --allow-dns-request changes nothing for names the policy does not block.
out=$(cgfw run --user nobody --debug --log-file "$T/ev3.json" --allow-dns-request --block-list blocked.test -- \
	sh -c "$DIG example.com; $PROBE tcp example.com 22; curl -sS -m 5 http://example.com/;
		$DIG blocked.test; $PROBE tcp blocked.test 80; $DIG cname.example.com; $PROBE tcp 198.51.100.9 22")
expect_eq "--allow-dns-request: an unblocked name resolves" NOERROR "$(echo "$out" | status_n 1)"
expect_match "... its port 22 is reachable" "result=ok" "$(echo "$out" | grep result= | sed -n 1p)"
expect_match "... and http" "hello from 203.0.113.10" "$out"
expect_eq "... admitted, as without the flag" "true NotInBlockList" \
	"$(jq -r 'select(.msg == "DNS ALLOWED" and .domains == "example.com" and .qtype == "A") | "\(.admitted) \(.because)"' "$T/ev3.json" | head -n 1)"
expect_eq "a blocked name is answered" NOERROR "$(echo "$out" | status_n 2)"
check "... with its address" grep -Eq 'blocked\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+198\.51\.100\.9' <<<"$out"
expect_match "... but connecting to it is EPERM" "result=EPERM" "$(echo "$out" | grep result= | sed -n 2p)"
sel='.msg == "PACKET BLOCKED" and .ip == "198.51.100.9" and .port == "80"'
expect_eq "... and the event names the domain" blocked.test "$(ev_field "$sel" domains "$T/ev3.json")"
expect_eq "... because it was never admitted" IPNotResolvedForAllowedDomain "$(ev_field "$sel" because "$T/ev3.json")"
expect_eq "the DNS event says it was answered, not admitted" "AllowDNSRequest false blocked.test" \
	"$(jq -r 'select(.domains == "blocked.test" and .qtype == "A") | "\(.because) \(.admitted) \(.rule)"' "$T/ev3.json" | head -n 1)"
expect_eq "a CNAME to a blocked name is answered too" NOERROR "$(echo "$out" | status_n 3)"
expect_match "... but not admitted" "result=EPERM" "$(echo "$out" | grep result= | sed -n 3p)"
expect_eq "... and the event names the link" "AllowDNSRequest false blocked.test" \
	"$(jq -r 'select(.domains == "cname.example.com" and .qtype == "A") | "\(.because) \(.admitted) \(.cname)"' "$T/ev3.json" | head -n 1)"
check "no connection to example.com was refused" \
	test -z "$(jq -r 'select(.msg == "PACKET BLOCKED" and .ip == "203.0.113.10") | .port' "$T/ev3.json")"

# A URL rule's host still goes through the HTTP proxy with the flag.
code() { echo 'curl -s -o /dev/null -m 5 -w "%{http_code} "' "$@"; }
out=$(cgfw run --user nobody --state-dir "$T/state" --log-file "$T/ev4.json" --allow-dns-request \
	--block-list http://example.com/x -- \
	sh -c "$(code http://example.com/x); $(code http://example.com/ok); $PROBE tcp example.com 22")
expect_match "--allow-dns-request, URL block rule: that path 403, others pass, ssh open" \
	"^403 200 pid=[0-9]+ result=ok" "$out"
expect_eq "... the 403 came from the HTTP proxy" "http://example.com/x" \
	"$(ev_field '.msg == "HTTP BLOCKED"' url "$T/ev4.json")"

no_leftovers
finish
