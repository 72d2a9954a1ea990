#!/usr/bin/env bash
# Hostile request heads through cgfw-httpproxy, over HTTP and HTTPS: an
# absolute-form target must agree with the connection (scheme), the Host
# header (host, port) and the SNI, or it is refused and never reaches the
# server; CONNECT and OPTIONS * are refused; a head over 64 KiB gets exactly
# one 431 and a malformed one exactly one 400, one event each, then the
# connection is closed and nothing after it is parsed.
. "$(dirname "$0")/lib.sh"
fi_up

CASE=0

# raw ALLOW-RULE plain|tls [RAWHTTP-OPTIONS] REQUEST...: one run of
# tests/tools/rawhttp.py in the cgroup, to example.com:80, or :443 over TLS.
# Sets OUT (its lines) and EV (that run's event log).
raw() {
	local rules=$1 tls=$2 port=80
	shift 2
	CASE=$((CASE + 1))
	EV=$T/ev$CASE.json
	if [ "$tls" = tls ]; then
		port=443
		set -- --tls "$@"
	fi
	OUT=$(cgfw run --user nobody --debug "${HS[@]}" --log-file "$EV" --allow-list "$rules" -- \
		python3 "$TOP/tests/tools/rawhttp.py" --host example.com --port $port "$@" \
		2>"$T/err$CASE")
}

# In the last run: the number of responses and of HTTP events.
n_responses() { printf '%s\n' "$OUT" | grep -c '^HTTP/'; }
n_http_events() { jq -s '[.[] | select(.hook == "http")] | length' "$EV"; }
# One field of the last run's HTTP event.
hev() { ev_field '.hook == "http"' "$1" "$EV"; }
no_hello() { ! printf '%s\n' "$OUT" | grep -q 'hello from'; }

# refused WHAT STATUS-LINE BECAUSE URL: one refusal, one event, the connection
# closed by the proxy, and the server never answered.
refused() {
	local what=$1 status=$2 because=$3 url=$4 code
	code=$(echo "$status" | cut -d' ' -f2)
	expect_eq "$what: $status" "$status" "$(printf '%s\n' "$OUT" | sed -n 1p | cut -d'|' -f1)"
	expect_eq "$what: exactly one response" 1 "$(n_responses)"
	expect_eq "$what: then the proxy closes the connection" end=eof \
		"$(printf '%s\n' "$OUT" | grep '^end=')"
	check "$what: the server never answered" no_hello
	expect_eq "$what: exactly one HTTP event" 1 "$(n_http_events)"
	expect_eq "$what: the event is HTTP BLOCKED" "HTTP BLOCKED" "$(hev msg)"
	expect_eq "$what: because $because" "$because" "$(hev because)"
	expect_eq "$what: the event's status" "$code" "$(hev status)"
	[ -z "$url" ] || expect_eq "$what: the event's url" "$url" "$(hev url)"
}

CRLF='\r\n'
H="Host: example.com$CRLF"
HS=(--state-dir "$T/state")

# ---- plain HTTP ----
A=http://example.com/allowed

raw $A plain "GET http://blocked.test/allowed/x HTTP/1.1$CRLF$H$CRLF"
refused "http: absolute-form naming another host" "HTTP/1.1 403 Forbidden" AuthorityNotHost \
	http://blocked.test/allowed/x
expect_eq "http: the event's domains is the Host" example.com "$(hev domains)"
expect_eq "http: the body names the reason" "cgfw: blocked by policy: AuthorityNotHost" \
	"$(printf '%s\n' "$OUT" | sed -n 1p | cut -d'|' -f2)"

raw $A plain "GET https://example.com/allowed/x HTTP/1.1$CRLF$H$CRLF"
refused "http: an https:// target on a plain connection" "HTTP/1.1 403 Forbidden" \
	SchemeNotConnection https://example.com/allowed/x

raw $A plain "GET http://example.com:8080/allowed/x HTTP/1.1$CRLF$H$CRLF"
refused "http: a port the Host does not have" "HTTP/1.1 403 Forbidden" AuthorityNotHost \
	http://example.com:8080/allowed/x

raw $A plain "GET http://example.com@blocked.test/allowed/x HTTP/1.1$CRLF$H$CRLF"
refused "http: userinfo in the target" "HTTP/1.1 403 Forbidden" AuthorityHasUserinfo ""

raw $A plain "GET http://blocked.test/allowed/x HTTP/1.1$CRLF$H$CRLF" \
	"GET /allowed HTTP/1.1$CRLF${H}Connection: close$CRLF$CRLF"
refused "http: a forged request with an allowed one behind it" "HTTP/1.1 403 Forbidden" \
	AuthorityNotHost ""

# Every HTTP event of the last run: "MSG BECAUSE STATUS," each.
all_events() {
	jq -r 'select(.hook == "http") | "\(.msg) \(.because) \(.status)"' "$EV" | tr '\n' ,
}

raw $A plain "GET /allowed HTTP/1.1$CRLF$H$CRLF" \
	"GET http://blocked.test/allowed/x HTTP/1.1$CRLF$H$CRLF"
want="HTTP/1.1 200 OK|hello from 203.0.113.10,"
want+="HTTP/1.1 403 Forbidden|cgfw: blocked by policy: AuthorityNotHost,end=eof,"
expect_eq "http: pipelined, allowed then forged: the first is served, the second refused" \
	"$want" "$(printf '%s\n' "$OUT" | sed -n 1,3p | tr '\n' ,)"
expect_eq "http: ... one event each" \
	"HTTP ALLOWED MatchedAllowListURL 0,HTTP BLOCKED AuthorityNotHost 403," "$(all_events)"

raw $A plain "GET http://EXAMPLE.com./allowed/x HTTP/1.1$CRLF${H}Connection: close$CRLF$CRLF"
expect_match "http: a matching absolute-form target passes" \
	"^HTTP/1.1 200 OK\|hello from 203.0.113.10" "$OUT"
expect_eq "http: ... HTTP ALLOWED with the url from the target" \
	"HTTP ALLOWED http://example.com/allowed/x MatchedAllowListURL" \
	"$(hev msg) $(hev url) $(hev because)"

raw $A plain "GET http://example.com:80/other HTTP/1.1$CRLF${H}Connection: close$CRLF$CRLF"
refused "http: a matching target is judged by its own path" "HTTP/1.1 403 Forbidden" \
	URLNotInAllowList http://example.com/other

raw $A plain "CONNECT example.com:80 HTTP/1.1$CRLF${H}$CRLF"
refused "http: CONNECT" "HTTP/1.1 403 Forbidden" ConnectNotSupported ""

raw $A plain "OPTIONS * HTTP/1.1$CRLF${H}$CRLF"
refused "http: OPTIONS *" "HTTP/1.1 403 Forbidden" AsteriskFormNotSupported ""

raw $A plain --pad 200000 "GET /allowed HTTP/1.1$CRLF${H}Connection: close$CRLF$CRLF"
refused "http: a 200 KB head" "HTTP/1.1 431 Request Header Fields Too Large" \
	RequestHeadTooLarge http://203.0.113.10/
expect_eq "http: ... which the proxy read to the end before closing" sent=all \
	"$(printf '%s\n' "$OUT" | grep '^sent=')"

raw $A plain --tail 200000 "GET /allowed HTTP/1.1$CRLF${H}No colon here$CRLF$CRLF" \
	"GET /allowed HTTP/1.1$CRLF${H}Connection: close$CRLF$CRLF"
refused "http: a malformed header, a good request and 200 KB behind it" \
	"HTTP/1.1 400 Bad Request" BadRequest http://203.0.113.10/

# The server answers a chunked POST at once (it reads no body); a bad chunk
# after that closes the connection, and no 400 is spliced into its answer.
raw $A plain --gap 1 "POST /allowed HTTP/1.1$CRLF${H}Transfer-Encoding: chunked$CRLF$CRLF" \
	"zz$CRLF"
expect_eq "http: a bad chunk after the server answered: its answer only, then the close" \
	"HTTP/1.1 200 OK|received,end=eof," "$(printf '%s\n' "$OUT" | sed -n 1,2p | tr '\n' ,)"
expect_eq "http: ... and an event with no status" \
	"HTTP ALLOWED MatchedAllowListURL 0,HTTP BLOCKED BadRequest 0," "$(all_events)"

# ---- HTTPS ----
CAROOT=$T/upca mkcert -cert-file "$T/ex.pem" -key-file "$T/ex-key.pem" example.com \
	'*.example.com' >/dev/null 2>&1
chmod 644 "$T"/upca/rootCA.pem
nsenter --net="/run/netns/$NS_I" python3 "$TOP/tests/tools/https_server.py" --addr 203.0.113.10 \
	--cert "$T/ex.pem" --key "$T/ex-key.pem" --ready "$T/https.ready" >"$T/https.log" 2>&1 &
PIDS+=($!)
wait_file "$T/https.ready" || { not_ok "https server did not start"; finish; }
HS=(--state-dir "$T/state" --upstream-ca "$T/upca/rootCA.pem")
A=https://example.com/allowed

raw $A tls "GET https://blocked.test/allowed/x HTTP/1.1$CRLF$H$CRLF"
refused "https: absolute-form naming another host" "HTTP/1.1 403 Forbidden" AuthorityNotHost \
	https://blocked.test/allowed/x
expect_eq "https: the event's domains is the Host" example.com "$(hev domains)"

raw $A tls "GET http://example.com/allowed/x HTTP/1.1$CRLF$H$CRLF"
refused "https: an http:// target inside TLS" "HTTP/1.1 403 Forbidden" SchemeNotConnection \
	http://example.com/allowed/x

raw $A tls "GET https://www.example.com/allowed/x HTTP/1.1${CRLF}Host: www.example.com$CRLF$CRLF"
refused "https: target and Host agree, the SNI does not" "HTTP/1.1 403 Forbidden" \
	AuthorityNotSNI https://www.example.com/allowed/x

raw $A tls "GET https://example.com:444/allowed/x HTTP/1.1$CRLF$H$CRLF"
refused "https: a port the Host does not have" "HTTP/1.1 403 Forbidden" AuthorityNotHost \
	https://example.com:444/allowed/x

raw $A tls "GET https://example.com/allowed/x HTTP/1.1$CRLF${H}Connection: close$CRLF$CRLF"
expect_match "https: a matching absolute-form target passes" \
	"^HTTP/1.1 200 OK\|hello from 203.0.113.10" "$OUT"
expect_eq "https: ... HTTP ALLOWED with the url from the target" \
	"HTTP ALLOWED https://example.com/allowed/x MatchedAllowListURL" \
	"$(hev msg) $(hev url) $(hev because)"

raw $A tls "CONNECT blocked.test:443 HTTP/1.1${CRLF}Host: blocked.test:443$CRLF$CRLF"
refused "https: CONNECT" "HTTP/1.1 403 Forbidden" ConnectNotSupported ""

raw $A tls --pad 200000 "GET /allowed HTTP/1.1$CRLF${H}Connection: close$CRLF$CRLF"
refused "https: a 200 KB head" "HTTP/1.1 431 Request Header Fields Too Large" \
	RequestHeadTooLarge https://example.com/

raw $A tls --tail 200000 "GET /allowed HTTP/1.1$CRLF${H}No colon here$CRLF$CRLF" \
	"GET /allowed HTTP/1.1$CRLF${H}Connection: close$CRLF$CRLF"
refused "https: a malformed header, a good request and 200 KB behind it" \
	"HTTP/1.1 400 Bad Request" BadRequest https://example.com/

no_leftovers
finish
