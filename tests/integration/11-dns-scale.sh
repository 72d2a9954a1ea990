#!/usr/bin/env bash
# DNS at scale and over time: a one-million-name hosts-file block list, the
# owner of each of 50 concurrent lookups, and TTL expiry (a new connect after
# the deadline is refused, an open connection keeps working).
. "$(dirname "$0")/lib.sh"
fi_up

status() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' | head -n 1; }

# A public-blocklist-shaped file: a header, comments, 1,000,000 hosts lines.
{
	printf '# a hosts-format block list\n127.0.0.1 localhost\n::1 ip6-localhost\n\n'
	awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "0.0.0.0 ads%d.tracker%d.example  # n%d\n", i, i % 97, i }'
	printf '0.0.0.0 google.com\n'
} >"$T/big.hosts"
start=$(date +%s%N)
out=$(cgfw run --user nobody --log-file "$T/ev.json" --block-list-file "$T/big.hosts" -- \
	sh -c 'dig +time=3 +tries=1 ads999999.tracker26.example; dig +time=3 +tries=1 www.google.com; dig +time=3 +tries=1 example.com')
end=$(date +%s%N)
echo "# 1M-name list: loader start to exit $(((end - start) / 1000000)) ms (three lookups included)"
expect_eq "the millionth name is blocked" REFUSED "$(echo "$out" | status)"
expect_eq "the last line's name (and subdomains) blocked" REFUSED \
	"$(echo "$out" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p' | sed -n 2p)"
expect_eq "names not on the list resolve" NOERROR \
	"$(echo "$out" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p' | sed -n 3p)"
expect_match "the event names file and line" "big.hosts:1000005" \
	"$(ev_field '.domains == "www.google.com"' ruleSourceComment)"

printf 'good.example\nbad line with spaces\n' >"$T/bad.list"
cgfw run --user nobody --allow-list-file "$T/bad.list" -- touch "$W/ran" 2>"$T/err"
check "a bad list line is refused" test $? -ne 0
expect_match "... naming file and line" "bad.list:2" "$(cat "$T/err")"
check "... and nothing ran" test ! -e "$W/ran"

# 50 lookups at once from 50 processes: each event names its own pid.
cgfw run --user nobody --log-file "$T/ev2.json" --block-list google.com -- \
	sh -c 'for i in $(seq 1 50); do sh -c "echo \$\$ q\$0.google.com; exec dig +time=5 +tries=1 +short q\$0.google.com >/dev/null" $i & done; wait' \
	>"$T/pids" 2>/dev/null
bad=0
while read -r pid name; do
	got=$(jq -r "select(.domains == \"$name\") | .pid" "$T/ev2.json" | head -n 1)
	[ "$got" = "$pid" ] || { bad=$((bad + 1)); echo "# $name: pid $pid, event says '$got'"; }
done <"$T/pids"
expect_eq "50 concurrent lookups" 50 "$(wc -l <"$T/pids")"
expect_eq "every event names the pid that asked" 0 "$bad"

# TTL: short.example.net has TTL 2; with --dns-min-ttl 1 it expires after 2 s.
out=$(cgfw run --user nobody --log-file "$T/ev3.json" --allow-list short.example.net --dns-min-ttl 1 -- \
	$PROBE hold short.example.net 4)
expect_match "before expiry: connected" "first=ok" "$out"
expect_match "after expiry: the open connection keeps working" "held=ok" "$out"
expect_match "after expiry: a new connect is refused" "new=EPERM" "$out"

# The floor: the same with the default 300 s floor keeps the address admitted.
out=$(cgfw run --user nobody --allow-list short.example.net -- $PROBE hold short.example.net 3)
expect_match "the --dns-min-ttl floor keeps it admitted" "new=ok" "$out"

no_leftovers
finish
