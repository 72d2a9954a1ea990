# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Sourced by bench/run.sh: the HTTP and HTTPS rows.  nginx in the inet netns
# answers "hello" on SERVER_IP:80 and :443 (a certificate for web.bench.example
# from a throwaway mkcert CA); a dnsmasq on HTTP_DNS_IP knows the name.
# Under cgfw the client runs with URL rules for web.bench.example, so its
# connections to :80 and :443 are redirected to cgfw-httpproxy, which checks
# every request (and, for HTTPS, terminates TLS with a leaf from cgfw's CA and
# verifies nginx against the mkcert CA): what is measured is the full
# interception.  Every pair in a row uses the same client tool on both sides:
#   direct vs cgfw     wrk -t1 -c8 (keep-alive); the direct side asks
#                      SERVER_IP with a Host header (the client netns has no
#                      resolver of its own; nginx has one certificate, so SNI
#                      does not matter there).  wrk does not verify TLS.
#   squid vs cgfw      ab -k -c 8: wrk cannot use a forward proxy, ab can (-X).
#                      squid runs in the client netns, cache off.
#   new connection per request, direct / squid vs cgfw: bench/tls_conn.c
#                      (on the system's OpenSSL, as curl), 8 threads each
#                      doing TCP connect, a full TLS handshake (no session
#                      offered; verified: the mkcert CA direct, squid's CA,
#                      cgfw's CA via SSL_CERT_FILE from `run`), one GET with
#                      "Connection: close", close.  The "resumed" pair: the
#                      same, but each thread offers the newest session it was
#                      given, as browsers and curl do (tls_conn -R; how many
#                      resumed is said).  squid is Debian's
#                      squid-openssl with ssl-bump (bump at CONNECT, leaf
#                      certificates minted from its own EC P-256 CA, like
#                      cgfw's, and cached in memory), in the client netns,
#                      cache off, verifying nginx against the mkcert CA.
#   mitmproxy vs cgfw  curl --parallel, 8 connections, keep-alive, a fixed
#                      number of requests: ab does not do CONNECT, wrk no
#                      proxy at all.  mitmdump in regular (explicit proxy)
#                      mode in the client netns; curl trusts its CA (and
#                      cgfw's under cgfw, via SSL_CERT_FILE from `run`).  Both
#                      proxies verify nginx against the mkcert CA.  curl
#                      is a slower client than wrk (about 10k req/s straight
#                      to nginx here), so cgfw's side of this row is partly
#                      the client's limit; mitmproxy's is not.
# Latency: wrk's mean; for ab and curl, concurrency x time / requests (the
# mean by Little's law, the pipe being full all the time), as ab's
# "Time per request (mean)" is.  Any non-2xx answer or error fails the run.
# Knobs: BENCH_HTTP_SECS=3 seconds per wrk and ab run (3, not 5, so that the
# 4 pairs x RUNS x 2 sides stay near two minutes); BENCH_HTTP_CURL_REQS=3000
# requests per curl run (4-5 s through mitmproxy).
# The http_* and bench_http functions are called indirectly (BENCHES).
# shellcheck disable=SC2317

HTTP_SECS=${BENCH_HTTP_SECS:-3}
HTTP_CURL_REQS=${BENCH_HTTP_CURL_REQS:-3000}
HTTP_CONC=8
HTTP_NAME=web.bench.example
HTTP_DNS_IP=203.0.113.54
SQUID_PORT=3128
SQUID_TLS_PORT=3129
MITM_PORT=8080
# Only /hello is allowed under cgfw: a 403 for another path shows that the
# requests really go through the proxy's URL check.
HTTP_PATH=/hello

# http_run plain|cgfw CMD...: CMD as $BENCH_USER in the client netns, either
# in the plain cgroup or under cgfw with the URL rules for HTTP_NAME.
http_run() {
	local mode=$1
	shift
	if [ "$mode" = cgfw ]; then
		in_client "$LOADER" run --user "$BENCH_USER" --upstream "$HTTP_DNS_IP" \
		    --state-dir "$T/state" --upstream-ca "$T/upca/rootCA.pem" \
		    --allow-list "http://$HTTP_NAME$HTTP_PATH,https://$HTTP_NAME$HTTP_PATH" \
		    --log-file "$T/events.json" -- "$@"
	else
		run_in plain "$@"
	fi
}

# wait_listen_at NETNS-RUNNER ADDR:PORT: bounded (10 s).
wait_listen_at() {
	local i
	for i in $(seq 1 200); do
		"$1" ss -Hltn "src $2" 2>/dev/null | grep -q . && return 0
		sleep 0.05
	done
	return 1
}

http_setup() {
	local t
	[ -e "$T/http.ready" ] && return 0
	for t in nginx mkcert dnsmasq wrk ab curl; do
		command -v "$t" >/dev/null || { err "$t missing (make deps)"; return 1; }
	done
	mkdir -p "$T/nginx" "$T/upca"
	if ! CAROOT=$T/upca mkcert -cert-file "$T/nginx/web.pem" -key-file "$T/nginx/web-key.pem" \
	    "$HTTP_NAME" >"$T/mkcert.log" 2>&1; then
		err "mkcert failed: $(tail -n 3 "$T/mkcert.log")"
		return 1
	fi
	chmod 644 "$T/upca/rootCA.pem"
	cat >"$T/nginx/nginx.conf" <<EOF
worker_processes 1;
user root;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	keepalive_requests 1000000;
	keepalive_timeout 60s;
	server {
		listen $SERVER_IP:80;
		listen $SERVER_IP:443 ssl;
		server_name $HTTP_NAME;
		ssl_certificate $T/nginx/web.pem;
		ssl_certificate_key $T/nginx/web-key.pem;
		location / { return 200 "hello\n"; }
	}
}
EOF
	start_server nginx nginx -c "$T/nginx/nginx.conf" -g 'daemon off;'
	ip -n "$NS_I" addr add "$HTTP_DNS_IP/32" dev lo 2>/dev/null
	start_server http-dns dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts \
	    --bind-interfaces --listen-address="$HTTP_DNS_IP" --user=root --group=root --pid-file= \
	    --host-record="$HTTP_NAME,$SERVER_IP" --local-ttl=300
	if ! wait_listen 80 || ! wait_listen 443; then
		err "nginx did not start: $(tail -n 3 "$T/nginx.log" "$T/nginx/error.log" 2>/dev/null)"
		return 1
	fi
	if ! wait_listen_at in_inet "$HTTP_DNS_IP:53"; then
		err "dnsmasq for $HTTP_NAME did not start: $(tail -n 3 "$T/http-dns.log")"
		return 1
	fi
	# cgfw really intercepts: /hello passes, another path gets cgfw's 403.
	local out
	# shellcheck disable=SC2016 # the command's shell expands these
	out=$(http_run cgfw sh -c 'for u; do curl -s -m 5 -o /dev/null -w "%{http_code} " "$u"; done' \
	    - "http://$HTTP_NAME$HTTP_PATH" "http://$HTTP_NAME/other" "https://$HTTP_NAME$HTTP_PATH" \
	    "https://$HTTP_NAME/other" 2>"$T/http-check.err")
	if [ "$out" != "200 403 200 403 " ]; then
		err "under cgfw, $HTTP_PATH must pass and /other get 403 over HTTP and HTTPS; got: $out $(tail -n 3 "$T/http-check.err")"
		return 1
	fi
	say "cgfw intercepts HTTP and HTTPS for $HTTP_NAME: good"
	touch "$T/http.ready"
}

squid_setup() {
	[ -e "$T/squid.ready" ] && return 0
	command -v squid >/dev/null || { err "squid missing (make deps)"; return 1; }
	mkdir -p "$T/squid"
	cat >"$T/squid/squid.conf" <<EOF
http_port 192.0.2.2:$SQUID_PORT
acl localnet src 192.0.2.0/24 127.0.0.0/8
http_access allow localnet
http_access deny all
cache deny all
cache_mem 0 MB
dns_nameservers $HTTP_DNS_IP
pid_filename $T/squid/squid.pid
access_log none
cache_store_log none
cache_log $T/squid/cache.log
coredump_dir $T/squid
netdb_filename none
shutdown_lifetime 0 seconds
EOF
	# squid drops to its default user (proxy) for its files.
	chown -R proxy: "$T/squid" 2>/dev/null || chmod 777 "$T/squid"
	# nsenter itself in the background (not in_client, a function: its
	# subshell's pid would be registered, and squid outlive the kill).
	nsenter --net="/run/netns/$NS_C" -- squid -N -f "$T/squid/squid.conf" >"$T/squid.log" 2>&1 &
	PIDS+=($!)
	if ! wait_listen_at in_client "192.0.2.2:$SQUID_PORT"; then
		err "squid did not start: $(tail -n 3 "$T/squid.log" "$T/squid/cache.log" 2>/dev/null)"
		return 1
	fi
	touch "$T/squid.ready"
}

# A second squid, with ssl-bump, all of it in $T/squidtls: its CA, its
# certificate database (security_file_certgen), its logs.
squid_tls_setup() {
	local d=$T/squidtls certgen=/usr/lib/squid/security_file_certgen
	[ -e "$T/squidtls.ready" ] && return 0
	command -v squid >/dev/null || { err "squid missing (bench deps: squid-openssl)"; return 1; }
	if ! squid -v | grep -q -- --with-openssl || [ ! -x "$certgen" ]; then
		err "this squid cannot bump TLS (bench deps: squid-openssl)"
		return 1
	fi
	command -v openssl >/dev/null || { err "openssl missing (bench deps)"; return 1; }
	mkdir -p "$d"
	if ! openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -days 2 -subj "/CN=cgfw bench squid CA" -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" -keyout "$d/ca.key" -out "$d/ca.pem" \
	    >"$d/openssl.log" 2>&1; then
		err "cannot make squid's CA: $(tail -n 2 "$d/openssl.log")"
		return 1
	fi
	if ! "$certgen" -c -s "$d/ssl_db" -M 16MB >"$d/certgen.log" 2>&1; then
		err "cannot make squid's certificate database: $(tail -n 2 "$d/certgen.log")"
		return 1
	fi
	cat >"$d/squid.conf" <<EOF
http_port 192.0.2.2:$SQUID_TLS_PORT ssl-bump tls-cert=$d/ca.pem tls-key=$d/ca.key generate-host-certificates=on dynamic_cert_mem_cache_size=16MB
sslcrtd_program $certgen -s $d/ssl_db -M 16MB
sslcrtd_children 4 startup=1 idle=1
ssl_bump bump all
tls_outgoing_options cafile=$T/upca/rootCA.pem
acl localnet src 192.0.2.0/24 127.0.0.0/8
http_access allow localnet
http_access deny all
cache deny all
cache_mem 0 MB
dns_nameservers $HTTP_DNS_IP
pid_filename $d/squid.pid
access_log none
cache_store_log none
cache_log $d/cache.log
coredump_dir $d
netdb_filename none
pinger_enable off
shutdown_lifetime 0 seconds
EOF
	chown -R proxy: "$d" 2>/dev/null || chmod -R a+rwX "$d"
	chmod 644 "$d/ca.pem"
	chmod 755 "$d"
	nsenter --net="/run/netns/$NS_C" -- squid -N -f "$d/squid.conf" >"$T/squidtls.log" 2>&1 &
	PIDS+=($!)
	if ! wait_listen_at in_client "192.0.2.2:$SQUID_TLS_PORT"; then
		err "squid (ssl-bump) did not start: $(tail -n 3 "$T/squidtls.log" "$d/cache.log" 2>/dev/null)"
		return 1
	fi
	touch "$T/squidtls.ready"
}

mitm_setup() {
	[ -e "$T/mitm.ready" ] && return 0
	command -v mitmdump >/dev/null || { err "mitmdump missing (make deps: mitmproxy)"; return 1; }
	mkdir -p "$T/mitm"
	echo "nameserver $HTTP_DNS_IP" >"$T/mitm/resolv.conf"
	# shellcheck disable=SC2016 # the inner shell expands these
	# mitmproxy resolves with the system resolver: give it one that knows
	# HTTP_NAME, in a private mount namespace.
	unshare --mount --propagation private sh -c \
	    'mount --bind "$0" /etc/resolv.conf && ns=$1 && shift && exec nsenter --net="$ns" -- "$@"' \
	    "$T/mitm/resolv.conf" "/run/netns/$NS_C" \
	    mitmdump --listen-host 192.0.2.2 --listen-port "$MITM_PORT" --set confdir="$T/mitm" \
	    --set ssl_verify_upstream_trusted_ca="$T/upca/rootCA.pem" -q >"$T/mitm.log" 2>&1 &
	PIDS+=($!)
	if ! wait_listen_at in_client "192.0.2.2:$MITM_PORT"; then
		err "mitmdump did not start: $(tail -n 3 "$T/mitm.log")"
		return 1
	fi
	local i
	for i in $(seq 1 100); do
		[ -s "$T/mitm/mitmproxy-ca-cert.pem" ] && break
		sleep 0.05
	done
	chmod 755 "$T/mitm"
	chmod 644 "$T/mitm/mitmproxy-ca-cert.pem" || { err "no mitmproxy CA"; return 1; }
	touch "$T/mitm.ready"
}

# The *_once functions print "req/s mean-latency-us" for one run.

# wrk_once plain|cgfw http|https
wrk_once() {
	local mode=$1 scheme=$2 out url
	local -a hdr=()
	# A Lua done() prints exact numbers: req/s, mean latency (us), errors.
	cat >"$T/wrk-done.lua" <<'EOF'
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT %.3f %.3f %d\n",
		summary.requests / (summary.duration / 1e6), latency.mean,
		e.connect + e.read + e.write + e.status + e.timeout))
end
EOF
	chmod 644 "$T/wrk-done.lua"
	if [ "$mode" = cgfw ]; then
		url=$scheme://$HTTP_NAME$HTTP_PATH
	else
		url=$scheme://$SERVER_IP$HTTP_PATH
		hdr=(-H "Host: $HTTP_NAME")
	fi
	out=$(http_run "$mode" wrk -t1 -c"$HTTP_CONC" -d"${HTTP_SECS}s" "${hdr[@]}" \
	    -s "$T/wrk-done.lua" "$url" 2>&1) || { echo "wrk: $out" | tail -n 3 >&2; return 1; }
	awk '/^RESULT / { if ($4 != 0) { print "wrk: " $4 " errors" > "/dev/stderr"; exit 1 }
	    print $2, $3; ok = 1 } END { exit !ok }' <<<"$out" || { echo "wrk: $out" | tail -n 3 >&2; return 1; }
}

# ab_once plain|cgfw: plain is through squid.  -n only bounds ab's arrays.
ab_once() {
	local mode=$1 out
	local -a px=()
	[ "$mode" = plain ] && px=(-X "192.0.2.2:$SQUID_PORT")
	out=$(http_run "$mode" ab -q -k -c "$HTTP_CONC" -t "$HTTP_SECS" -n 1000000 "${px[@]}" \
	    "http://$HTTP_NAME$HTTP_PATH" 2>&1) || { echo "ab: $out" | tail -n 3 >&2; return 1; }
	awk -v c="$HTTP_CONC" '/^Complete requests:/ { n = $3 } /^Failed requests:/ { f = $3 }
	    /^Non-2xx responses:/ { x = $3 } /^Time taken for tests:/ { t = $5 }
	    END { if (n == "" || n == 0 || f != 0 || x != "") exit 1
		printf "%.3f %.3f\n", n / t, c * t / n * 1e6 }' <<<"$out" ||
	    { echo "ab: $out" | tail -n 5 >&2; return 1; }
}

# curl_once plain|cgfw: plain is through mitmproxy.  HTTP_CURL_REQS requests
# on HTTP_CONC connections, timed inside the command.
curl_once() {
	local mode=$1 out
	local -a px=()
	[ "$mode" = plain ] && px=(-x "http://192.0.2.2:$MITM_PORT" --cacert "$T/mitm/mitmproxy-ca-cert.pem")
	# shellcheck disable=SC2016 # the command's shell expands these
	out=$(http_run "$mode" sh -c 'f=$(mktemp) || exit 1
		t0=$(date +%s%N)
		curl -sS --no-progress-meter --http1.1 -Z --parallel-immediate --parallel-max "$0" \
		    -o /dev/null -w "%{http_code}\n" "$@" >"$f" 2>"$f.err" ||
		    tail -n 2 "$f.err" | sed "s/^/curl: /"
		t1=$(date +%s%N)
		grep -vx 200 "$f" | sort | uniq -c | sort -rn | head -n 3 | sed "s/^/curl: /"
		echo "RESULT $(grep -cx 200 "$f") $(((t1 - t0) / 1000))"
		rm -f "$f" "$f.err"' "$HTTP_CONC" "${px[@]}" \
	    "https://$HTTP_NAME$HTTP_PATH?[1-$HTTP_CURL_REQS]" 2>&1) ||
	    { echo "curl: $out" | tail -n 3 >&2; return 1; }
	awk -v want="$HTTP_CURL_REQS" -v c="$HTTP_CONC" '/^RESULT / { n = $2; us = $3 }
	    END { if (n != want) exit 1; printf "%.3f %.3f\n", n / (us / 1e6), c * us / n }' <<<"$out" ||
	    { echo "curl: $out" | tail -n 3 >&2; return 1; }
}

# tlsconn_once plain|cgfw direct|squid [resume]: bench/tls_conn, a new
# connection per request; the plain side straight to nginx or through squid.
# resume: the client offers its newest session (-R); how many handshakes
# resumed goes to stderr.
tlsconn_once() {
	local mode=$1 via=$2 out
	local -a args=(-c "$HTTP_CONC" -d "$HTTP_SECS")
	[ "${3:-}" = resume ] && args+=(-R)
	if [ "$mode" = plain ] && [ "$via" = squid ]; then
		args+=(-x "192.0.2.2:$SQUID_TLS_PORT" -C "$T/squidtls/ca.pem")
	elif [ "$mode" = plain ]; then
		args+=(-r "$SERVER_IP" -C "$T/upca/rootCA.pem")
	fi
	out=$(http_run "$mode" "$T/tls_conn" "${args[@]}" "$HTTP_NAME" "$HTTP_PATH" 2>&1) ||
	    { echo "tls_conn: $out" | tail -n 3 >&2; return 1; }
	[ "${3:-}" = resume ] && awk '/^RESULT / { printf "bench: tls_conn -R: %d of %d handshakes resumed\n", $5, $4 }' \
	    <<<"$out" >&2
	awk '/^RESULT / { print $2, $3; ok = 1 } END { exit !ok }' <<<"$out" ||
	    { echo "tls_conn: $out" | tail -n 3 >&2; return 1; }
}

# http_pair BASE-NAME RPS-ROW LAT-ROW FN ARGS...: RUNS runs each of
# "FN plain ARGS" and "FN cgfw ARGS", interleaved, order alternating; medians.
http_pair() {
	local base=$1 rrow=$2 lrow=$3 fn=$4 i mode v order rc
	shift 4
	local -a pr=() pl=() cr=() cl=()
	for ((i = 1; i <= RUNS; i++)); do
		order="plain cgfw"
		((i % 2)) || order="cgfw plain"
		for mode in $order; do
			prof_begin "$rrow" "$mode" "$i"
			v=$("$fn" "$mode" "$@")
			rc=$?
			prof_end "$i" "$v"
			if [ "$rc" != 0 ] || ! is_number "${v%% *}" || ! is_number "${v#* }"; then
				err "$rrow: $mode run $i failed"
				row "$rrow" error error req/s
				row "$lrow" error error us
				return 1
			fi
			say "$rrow: $([ "$mode" = plain ] && echo "$base" || echo cgfw) run $i/$RUNS:" \
			    "$(fmt "${v%% *}") req/s, $(fmt "${v#* }") us"
			if [ "$mode" = plain ]; then
				pr+=("${v%% *}") pl+=("${v#* }")
			else
				cr+=("${v%% *}") cl+=("${v#* }")
			fi
		done
	done
	row "$rrow" "$(printf '%s\n' "${pr[@]}" | median)" "$(printf '%s\n' "${cr[@]}" | median)" req/s
	row "$lrow" "$(printf '%s\n' "${pl[@]}" | median)" "$(printf '%s\n' "${cl[@]}" | median)" us
}

bench_http() {
	local -a rows=("HTTP req/s: direct vs cgfw" "HTTP latency: direct vs cgfw"
	    "HTTP req/s: squid vs cgfw" "HTTP latency: squid vs cgfw"
	    "HTTPS req/s: direct vs cgfw" "HTTPS latency: direct vs cgfw"
	    "HTTPS req/s: mitmproxy vs cgfw" "HTTPS latency: mitm vs cgfw"
	    "HTTPS new-conn req/s: direct vs cgfw" "HTTPS new-conn latency: direct vs cgfw"
	    "HTTPS new-conn req/s: squid vs cgfw" "HTTPS new-conn latency: squid vs cgfw"
	    "HTTPS resumed req/s: squid vs cgfw" "HTTPS resumed latency: squid vs cgfw")
	bpf_watch_start http
	bench_http_rows "${rows[@]}"
	bpf_watch_stop
	bpf_rows "HTTP rows" http
}

bench_http_rows() {
	local -a rows=("$@")
	local r
	if ! http_setup; then
		for r in "${rows[@]}"; do
			row "$r" error error "$([[ $r == *req/s* ]] && echo req/s || echo us)"
		done
		return 1
	fi
	http_pair direct "${rows[0]}" "${rows[1]}" wrk_once http
	if squid_setup; then
		http_pair squid "${rows[2]}" "${rows[3]}" ab_once
	else
		row "${rows[2]}" error error req/s
		row "${rows[3]}" error error us
	fi
	http_pair direct "${rows[4]}" "${rows[5]}" wrk_once https
	if mitm_setup; then
		http_pair mitmproxy "${rows[6]}" "${rows[7]}" curl_once
	else
		row "${rows[6]}" error error req/s
		row "${rows[7]}" error error us
	fi
	http_pair direct "${rows[8]}" "${rows[9]}" tlsconn_once direct
	if squid_tls_setup; then
		http_pair squid "${rows[10]}" "${rows[11]}" tlsconn_once squid
		http_pair squid "${rows[12]}" "${rows[13]}" tlsconn_once squid resume
	else
		row "${rows[10]}" error error req/s
		row "${rows[11]}" error error us
		row "${rows[12]}" error error req/s
		row "${rows[13]}" error error us
	fi
}
