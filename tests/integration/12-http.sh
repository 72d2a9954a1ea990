#!/usr/bin/env bash
# URL rules over plain HTTP: connections to :80 of a host with URL rules go
# through cgfw-httpproxy, every request is checked (keep-alive included), a
# blocked one gets 403 naming cgfw and the rule; other ports of a host allowed
# only by URL rules stay shut; a URL block rule leaves other ports alone.
. "$(dirname "$0")/lib.sh"
fi_up

code() { curl -s -o /dev/null -w '%{http_code}' -m 5 "$@"; }

out=$(cgfw run --user nobody --state-dir "$T/state" --log-file "$T/ev.json" --allow-list http://example.com/allowed -- \
	sh -c 'curl -sS -m 5 http://example.com/allowed; curl -s -m 5 -w " %{http_code}" http://example.com/other')
expect_eq "the allowed URL is fetched" "hello from 203.0.113.10" "$(echo "$out" | sed -n 1p)"
expect_eq "another path on the host: 403 naming cgfw" "cgfw: blocked by policy: URLNotInAllowList  403 " \
	"$(echo "$out" | sed -n '2,$p' | tr '\n' ' ')"
expect_eq "HTTP BLOCKED event with the url" "http://example.com/other" \
	"$(ev_field '.msg == "HTTP BLOCKED"' url)"
expect_eq "blockedAt http" http "$(ev_field '.msg == "HTTP BLOCKED"' blockedAt)"
expect_eq "the event names the method" GET "$(ev_field '.msg == "HTTP BLOCKED"' method)"
expect_match "the event names the command" "^curl .*example.com/other" "$(ev_field '.msg == "HTTP BLOCKED"' cmd)"

out=$(cgfw run --user nobody --state-dir "$T/state" --log-file "$T/evx.json" --allow-list http://example.com/news -- \
	sh -c 'for p in /news /news/uk /newsfeed /news/../admin "/%6Eews/x" "/news?q=1"; do
		curl -s -o /dev/null -m 5 -w "%{http_code} " --path-as-is "http://example.com$p"; done')
expect_eq "segment boundaries, normalisation, query ignored" "200 200 403 403 200 200 " "$out"

out=$(cgfw run --user nobody --state-dir "$T/state" --log-file "$T/ev2.json" --allow-list http://example.com/allowed -- \
	curl -s -m 5 -w '\n%{http_code}\n' http://example.com/allowed http://example.com/other)
expect_match "keep-alive: the first request passes" "hello from 203.0.113.10" "$out"
expect_match "keep-alive: the second, on the same connection, gets 403" "^403$" "$(echo "$out" | tail -n 1)"
expect_eq "one connection for both" 1 \
	"$(jq -s '[.[] | select(.hook == "http")] | length' "$T/ev2.json")"

# The three port cases of the original.
out=$(cgfw run --user nobody --state-dir "$T/state" --log-file "$T/evx.json" --allow-list http://example.com/allowed -- \
	sh -c "curl -s -o /dev/null -m 5 http://example.com/allowed; $PROBE tcp 203.0.113.10 22")
expect_match "a URL rule does not open ssh" "result=EPERM" "$out"
out=$(cgfw run --user nobody --state-dir "$T/state" --log-file "$T/evx.json" --allow-list example.com,http://example.com/allowed -- \
	sh -c "curl -s -o /dev/null -m 5 http://example.com/allowed; $PROBE tcp 203.0.113.10 22")
expect_match "name + URL rule: ssh open" "result=ok" "$out"
out=$(cgfw run --user nobody --state-dir "$T/state" --log-file "$T/evx.json" --block-list http://example.com/ads -- \
	sh -c 'curl -s -o /dev/null -m 5 -w "%{http_code} " http://example.com/ads; curl -s -o /dev/null -m 5 -w "%{http_code} " http://example.com/ok; '"$PROBE tcp 203.0.113.10 22")
expect_match "URL block rule: that path 403, others pass, ssh open" "^403 200 pid=[0-9]+ result=ok" "$out"

# Host must pass the name policy; a body is streamed through.
out=$(cgfw run --user nobody --state-dir "$T/state" --log-file "$T/evx.json" --allow-list http://example.com/allowed -- \
	sh -c 'curl -s -o /dev/null -m 5 http://example.com/allowed; curl -s -m 5 -o /dev/null -w "%{http_code}" -H "Host: google.com" http://example.com/allowed')
expect_eq "a Host the policy does not allow is refused" 403 "$out"
head -c 20000000 /dev/zero >"$W/body"
out=$(cgfw run --user nobody --state-dir "$T/state" --log-file "$T/evx.json" --allow-list http://example.com/upload -- \
	curl -s -m 20 --data-binary @"$W/body" -w ' %{http_code}' http://example.com/upload)
expect_eq "a 20 MB upload streams through" "received  200 " "$(echo "$out" | tr '\n' ' ')"

no_leftovers
finish
