#!/usr/bin/env bash
# A stalled monitor never stalls the proxies: with cgfw-monitor stopped, every
# DNS lookup and HTTP request of the command is still answered; the events the
# proxies could not queue are counted and an EVENTS LOST line accounts for
# them once the monitor runs again.  A failing upstream is a WARN event
# without --debug, and the client gets SERVFAIL or what the upstream said.
. "$(dirname "$0")/lib.sh"
fi_up

BURST=6000 # more events than the socket and the proxy's queue hold together
HBURST=600 # more HTTP events than the socket holds (a blocking send would wait)

# monitor_pid: the loader's child named cgfw-monitor (waits for it).
monitor_pid() {
	local i p
	for i in $(seq 1 200); do
		for p in $(cat /proc/"$LPID"/task/*/children 2>/dev/null); do
			if [ "$(cat /proc/"$p"/comm 2>/dev/null)" = cgfw-monitor ]; then
				echo "$p"
				return 0
			fi
		done
		sleep 0.05
	done
	return 1
}

# status of a dig run: NOERROR, SERVFAIL, ...
status() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' | head -n 1; }

# wait_for FILE SECONDS
wait_for() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# stalled LOG ARGS... -- sh $W/stalled.sh $W WORK: runs the shell script WORK
# as the command (cgfw run --debug ARGS), with cgfw-monitor stopped from before
# WORK starts until after it ended; the command then waits for the monitor to
# be continued before it exits, so the loader shuts down a running monitor.
cat >"$W/stalled.sh" <<'EOF'
dir=$1
shift
touch "$dir/ready"
while [ ! -e "$dir/start" ]; do sleep 0.05; done
sh "$@"
touch "$dir/done"
while [ ! -e "$dir/go" ]; do sleep 0.05; done
EOF
stalled() {
	local log=$1 mpid
	shift
	rm -f "$W/ready" "$W/start" "$W/done" "$W/go"
	cgfw_bg run --user nobody --debug --allow-event-loss --log-file "$log" "$@" >"$T/out" 2>"$T/err"
	wait_for "$W/ready" 30 || { not_ok "the command did not start"; finish; }
	mpid=$(monitor_pid) || { not_ok "no cgfw-monitor among the loader's children"; finish; }
	CLEANUPS+=("kill -CONT $mpid")
	kill -STOP "$mpid"
	touch "$W/start"
	if wait_for "$W/done" 90; then ok "the command finished with the monitor stopped"; else
		not_ok "the command did not finish with the monitor stopped"
	fi
	kill -CONT "$mpid"
	touch "$W/go"
	wait "$LPID"
	expect_eq "cgfw exits 0 (the losses are on the record: --allow-event-loss)" 0 "$?"
	check "the log is JSON lines" quiet jq -e . "$log"
}

# ---- DNS with the monitor stopped ----
# 6 lookups by dig and getent (one A query each) around the burst.
cat >"$W/dns.sh" <<EOF
for n in 1 2 3; do dig +time=3 +tries=1 +short d\$n.example.com >$W/dig\$n 2>&1; done
getent ahostsv4 example.com >$W/getent 2>&1
python3 $TOP/tests/tools/dnsburst.py 203.0.113.53 $BURST example.com 16 3 >$W/burst 2>&1
for n in 4 5; do dig +time=3 +tries=1 +short d\$n.example.com >$W/dig\$n 2>&1; done
EOF
stalled "$T/ev.json" --allow-list example.com -- sh "$W/stalled.sh" "$W" "$W/dns.sh"

for n in 1 2 3 4 5; do
	expect_eq "dig $n answered while the monitor was stopped" 203.0.113.10 "$(cat "$W/dig$n")"
done
expect_match "getent answered while the monitor was stopped" "^203\.0\.113\.10 " "$(cat "$W/getent")"
expect_eq "every query of the burst answered, NOERROR" \
	"sent=$BURST answered=$BURST noerror=$BURST servfail=0 other=0 unanswered=0" "$(cat "$W/burst")"
n_dns=$(jq -s '[.[] | select(.msg | startswith("DNS "))] | length' "$T/ev.json")
n_lost=$(jq -s '[.[] | select(.msg == "EVENTS LOST" and .reason == "dnsproxy queue full") | .count] | add // 0' "$T/ev.json")
expect_eq "DNS events + EVENTS LOST counts = queries ($n_dns + $n_lost)" $((BURST + 6)) $((n_dns + n_lost))
check "events were dropped (the queue is bounded)" test "$n_lost" -gt 0
expect_eq "EVENTS LOST is an ERROR" ERROR "$(ev_field '.msg == "EVENTS LOST"' level)"
for f in time count reason schema cgroup mode; do
	check "EVENTS LOST has $f" quiet jq -e -s "[.[] | select(.msg == \"EVENTS LOST\")] | length > 0 and all(has(\"$f\"))" "$T/ev.json"
done
expect_eq "the proxy said so once, not once per lost event" 1 \
	"$(grep -c 'cgfw-dnsproxy.*the monitor is not reading' "$T/err")"

# ---- HTTP with the monitor stopped ----
seq "$HBURST" | sed 's|.*|url = "http://example.com/s&"\noutput = /dev/null|' >"$W/curl.conf"
cat >"$W/http.sh" <<EOF
curl -4 -s -Z --parallel-max 16 --max-time 5 -w '%{http_code}\n' -K $W/curl.conf >$W/http 2>&1
EOF
stalled "$T/ev2.json" --allow-list http://example.com/ -- sh "$W/stalled.sh" "$W" "$W/http.sh"
expect_eq "every HTTP request answered 200 while the monitor was stopped" "$HBURST" \
	"$(grep -c '^200$' "$W/http")"
n_http=$(jq -s '[.[] | select(.msg | startswith("HTTP "))] | length' "$T/ev2.json")
n_hlost=$(jq -s '[.[] | select(.msg == "EVENTS LOST" and .reason == "httpproxy queue full") | .count] | add // 0' "$T/ev2.json")
expect_eq "HTTP events + EVENTS LOST counts = requests ($n_http + $n_hlost)" "$HBURST" $((n_http + n_hlost))

# ---- upstream failures: on record without --debug, the client always answered ----
# Nothing listens on UDP 53 of 198.51.100.7 (fakeinet: UDP 9 only, dnsmasq:
# 203.0.113.53 only): ICMP port unreachable.  203.0.113.99 is no host of the
# fake internet, which does not forward: silence.  dnsrcode.py on
# 198.51.100.8 answers SERVFAIL on port 53 and REFUSED on port 54.
out=$(in_client dig +time=1 +tries=1 @198.51.100.7 example.com)
check "baseline: nothing answers DNS on 198.51.100.7" test -z "$(echo "$out" | status)"
nsenter --net="/run/netns/$NS_I" python3 "$TOP/tests/tools/dnsrcode.py" \
	--ready "$T/dnsrcode.ready" 198.51.100.8 53:2 54:5 >"$T/dnsrcode.log" 2>&1 &
PIDS+=($!)
wait_file "$T/dnsrcode.ready" || not_ok "dnsrcode.py did not come up"

# upstream_fails UPSTREAM WANT_RCODE WANT_BECAUSE
upstream_fails() {
	local log=$T/up-${1//[:.]/_}.json out
	out=$(cgfw run --user nobody --upstream "$1" --log-file "$log" --allow-list example.com -- \
		dig +time=8 +tries=1 example.com 2>"$T/up.err")
	expect_eq "upstream $1: the client gets $2" "$2" "$(echo "$out" | status)"
	expect_eq "upstream $1: a DNS UPSTREAM FAILED event without --debug" "$3" \
		"$(ev_field '.msg == "DNS UPSTREAM FAILED"' because "$log")"
	expect_eq "... at WARN" WARN "$(ev_field '.msg == "DNS UPSTREAM FAILED"' level "$log")"
	expect_eq "... naming the query" example.com "$(ev_field '.msg == "DNS UPSTREAM FAILED"' domains "$log")"
	expect_eq "... and what the client got" "$2" "$(ev_field '.msg == "DNS UPSTREAM FAILED"' rcode "$log")"
	expect_eq "... not blocked" false "$(ev_field '.msg == "DNS UPSTREAM FAILED"' blocked "$log")"
	expect_eq "... with the rule that allowed it" example.com \
		"$(ev_field '.msg == "DNS UPSTREAM FAILED"' rule "$log")"
	expect_match "... and a sentence for people" \
		"^example.com matched allow list rule example.com \(--allow-list\); .+, the client got $2\$" \
		"$(ev_field '.msg == "DNS UPSTREAM FAILED"' ruleSourceComment "$log")"
}
upstream_fails 198.51.100.7 SERVFAIL UpstreamUnreachable
upstream_fails 203.0.113.99 SERVFAIL UpstreamTimeout
upstream_fails 198.51.100.8 SERVFAIL UpstreamServfail
upstream_fails 198.51.100.8:54 REFUSED UpstreamRefused

# An upstream that answers is no failure: without --debug, nothing is written.
cgfw run --user nobody --log-file "$T/up-ok.json" --allow-list example.com -- \
	dig +time=3 +tries=1 example.com >/dev/null 2>"$T/up.err"
expect_eq "an answered query writes no event without --debug" 0 "$(wc -l <"$T/up-ok.json")"

no_leftovers
finish
