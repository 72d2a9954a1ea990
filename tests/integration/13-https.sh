#!/usr/bin/env bash
# URL rules over HTTPS: cgfw-httpproxy terminates TLS with a leaf minted for
# the SNI name (signed by cgfw's CA, which `run` hands the command as its
# trust bundle), verifies the real server, and checks every request.
. "$(dirname "$0")/lib.sh"
fi_up

# Two servers: example.com with a certificate from an "upstream" CA the proxy
# is told to trust, and untrusted.example.net from a CA nobody trusts.
CAROOT=$T/upca mkcert -cert-file "$T/ex.pem" -key-file "$T/ex-key.pem" example.com \
	'*.example.com' >/dev/null 2>&1
CAROOT=$T/badca mkcert -cert-file "$T/bad.pem" -key-file "$T/bad-key.pem" \
	untrusted.example.net >/dev/null 2>&1
chmod 644 "$T"/upca/rootCA.pem
for s in "203.0.113.10 ex" "198.51.100.8 bad"; do
	set -- $s
	nsenter --net="/run/netns/$NS_I" python3 "$TOP/tests/tools/https_server.py" --addr "$1" \
		--cert "$T/$2.pem" --key "$T/$2-key.pem" --ready "$T/https-$2.ready" \
		>"$T/https-$2.log" 2>&1 &
	PIDS+=($!)
	wait_file "$T/https-$2.ready" || { not_ok "https server $2 did not start"; finish; }
done
HS=(--state-dir "$T/state" --upstream-ca "$T/upca/rootCA.pem")

out=$(cgfw run --user nobody "${HS[@]}" --log-file "$T/ev.json" --allow-list https://example.com/allowed -- \
	sh -c 'curl -sS -m 5 https://example.com/allowed; curl -s -m 5 -o /dev/null -w "%{http_code}" https://example.com/other')
expect_eq "an allowed HTTPS URL is fetched through the proxy" "hello from 203.0.113.10" \
	"$(echo "$out" | sed -n 1p)"
expect_eq "another path over HTTPS: 403" 403 "$(echo "$out" | sed -n 2p)"
expect_eq "HTTP BLOCKED names the https url" "https://example.com/other" \
	"$(ev_field '.msg == "HTTP BLOCKED"' url)"
check "cgfw's CA key is 0600" test "$(stat -c %a "$T/state/ca-key.pem")" = 600
expect_eq "cgfw-loader ca prints the CA" "$T/state/ca.pem" "$("$LOADER" ca --state-dir "$T/state")"
out=$(cgfw run --user nobody "${HS[@]}" --allow-list https://example.com/allowed -- \
	sh -c 'echo "$SSL_CERT_FILE $CURL_CA_BUNDLE $REQUESTS_CA_BUNDLE $NODE_EXTRA_CA_CERTS $GIT_SSL_CAINFO"')
check "the command gets the trust bundle in all five variables" \
	test "$(echo "$out" | tr ' ' '\n' | sort -u | wc -l)" = 1
expect_match "... which is in /run/cgfw, not /tmp" "^/run/cgfw/trust-[0-9]+\.pem " "$out"
check "... and is gone at exit" test ! -e "$(echo "$out" | cut -d' ' -f1)"
# The bundle is copied as the command's user: a root-only SSL_CERT_FILE is not
# copied into a file the command can read.
printf 'secret\n' >"$T/root-only.pem"
chmod 600 "$T/root-only.pem"
out=$(SSL_CERT_FILE=$T/root-only.pem cgfw run --user nobody "${HS[@]}" \
	--allow-list https://example.com/allowed -- sh -c 'cat "$SSL_CERT_FILE"' 2>"$T/err5")
expect_eq "a root-only SSL_CERT_FILE is refused (125)" 125 $?
expect_match "... saying why" "cannot read $T/root-only.pem as uid 65534" "$(cat "$T/err5")"
check "... and copied nowhere" test -z "$out"
out=$(cgfw run --user nobody "${HS[@]}" --allow-list https://example.com/allowed -- \
	sh -c 'openssl x509 -noout -issuer <<EOF
$(echo | timeout 5 openssl s_client -connect example.com:443 -servername example.com 2>/dev/null)
EOF')
expect_match "the leaf the client sees is cgfw's" "O ?= ?cgfw" "$out"

out=$(cgfw run --user nobody "${HS[@]}" --log-file "$T/ev2.json" \
	--allow-list https://untrusted.example.net/ -- \
	curl -s -m 5 -o /dev/null -w "%{http_code}" https://untrusted.example.net/)
expect_eq "an upstream that fails verification: 502" 502 "$out"
expect_eq "... and an event" UpstreamCertificateInvalid \
	"$(ev_field '.msg == "HTTP BLOCKED"' because "$T/ev2.json")"

out=$(cgfw run --user nobody "${HS[@]}" --log-file "$T/ev3.json" \
	--allow-list https://example.com/allowed,https://www.example.com/ -- \
	curl -s -m 5 -o /dev/null -w "%{http_code}" -H "Host: www.example.com" https://example.com/allowed)
expect_eq "Host other than the SNI name: refused" 403 "$out"
expect_eq "... because HostNotSNI" HostNotSNI "$(ev_field '.msg == "HTTP BLOCKED"' because "$T/ev3.json")"

out=$(cgfw run --user nobody "${HS[@]}" --log-file "$T/ev4.json" --allow-list https://example.com/allowed -- \
	sh -c "curl -s -o /dev/null -m 5 https://example.com/allowed; $PROBE tls-nosni 203.0.113.10 443")
expect_match "no SNI: the handshake is refused" "result=SSLError" "$out"
expect_eq "... and logged" NoSNI "$(ev_field '.msg == "HTTP BLOCKED"' because "$T/ev4.json")"

# Two allowed URLs in parallel; 100 MiB down and up through TLS with the
# proxy's memory flat (reading pauses at a 1 MiB high-water mark).
out=$(cgfw run --user nobody "${HS[@]}" --allow-list https://example.com/a,https://example.com/b -- \
	sh -c 'curl -s -m 5 https://example.com/a > '"$W"'/a & curl -s -m 5 https://example.com/b > '"$W"'/b & wait; cat '"$W"'/a '"$W"'/b')
expect_eq "two allowed URLs in parallel" "hello from 203.0.113.10 hello from 203.0.113.10" "$(echo $out)"
head -c $((100 << 20)) /dev/zero >"$W/up"
# shellcheck disable=SC2016 # the command's shell expands these
probe='for s in /proc/[0-9]*/stat; do read -r pid comm state ppid rest <"$s" 2>/dev/null || continue
	[ "$comm" = "(cgfw-httpproxy)" ] && [ "$ppid" = "$PPID" ] && awk "/^VmHWM:/ { print \$2 }" "/proc/$pid/status"; done'
out=$(cgfw run --user nobody "${HS[@]}" --allow-list https://example.com/big,https://example.com/upload -- \
	sh -c 'curl -s -m 60 -o /dev/null -w "%{size_download} " https://example.com/big;
	curl -s -m 60 -o /dev/null -w "%{http_code} " --data-binary @'"$W"'/up https://example.com/upload; '"$probe")
set -- $out
expect_eq "100 MiB download through the proxy" 104857600 "${1:-}"
expect_eq "100 MiB upload through the proxy" 200 "${2:-}"
echo "# cgfw-httpproxy peak RSS after 200 MiB through TLS: ${3:-?} KiB"
if [ -n "${CGFW_SAN:-}" ]; then
	# ASan keeps freed buffers in its quarantine (256 MiB): the plain build checks this.
	echo "# SKIP the proxy's memory stayed flat: a sanitizer build (peak RSS ${3:-?} KiB)"
else
	check "the proxy's memory stayed flat (peak RSS ${3:-?} KiB < 64 MiB)" test "${3:-999999}" -lt 65536
fi

no_leftovers
finish
