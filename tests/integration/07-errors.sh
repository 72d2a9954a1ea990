#!/usr/bin/env bash
# Bad input gets a clear error naming it, and nothing runs.
. "$(dirname "$0")/lib.sh"
fi_up

refused() {  # refused DESC REGEX ARGS...: non-zero, message matches, command not run
	local desc=$1 re=$2
	shift 2
	rm -f "$W/ran"
	cgfw "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	# 125: cgfw failed, whatever the input path (never a status the command could have).
	expect_eq "$desc: exit 125" 125 "$rc"
	expect_match "$desc: message" "$re" "$(cat "$T/err")"
	check "$desc: nothing ran" test ! -e "$W/ran"
}

refused "bad IP" 'invalid rule "1\.2\.3\.256" in --allow-list: not a valid IPv4 address' \
	run --user nobody --allow-list 203.0.113.10,1.2.3.256 -- touch "$W/ran"
refused "host bits" 'invalid rule "198\.51\.100\.7/24" in --block-list: host bits' \
	run --user nobody --block-list 198.51.100.7/24 -- touch "$W/ran"
refused "bad prefix" 'invalid rule "10\.0\.0\.0/33"' \
	run --user nobody --allow-list 10.0.0.0/33 -- touch "$W/ran"
refused "bad name" 'invalid rule "exa mple\.com".*invalid character' \
	run --user nobody --allow-list 'exa mple.com' -- touch "$W/ran"
refused "empty rule" 'empty rule in --allow-list' \
	run --user nobody --allow-list '203.0.113.10,,' -- touch "$W/ran"
refused "IPv6 rule" 'IPv6 rules are not supported' \
	run --user nobody --allow-list 2001:db8::1 -- touch "$W/ran"
refused "bad URL" 'invalid rule "ftp://example\.com/".*http or https' \
	run --user nobody --allow-list ftp://example.com/ -- touch "$W/ran"
refused "unknown option" 'unrecognized option' \
	run --user nobody --allow-lsit 203.0.113.10 -- touch "$W/ran"
refused "no such user" 'no such user "no-such-user-cgfw"' \
	run --user no-such-user-cgfw -- touch "$W/ran"
refused "no command" 'no command given' run --user nobody
refused "unknown subcommand" 'unknown command "frobnicate"' frobnicate

mnt=$(cgroup2_mnt)
cgfw attach --cgroup /sys/fs/cgroup/not-a-cgroup-cgfw >"$T/out" 2>"$T/err"
check "attach to a missing cgroup fails" test $? -ne 0
expect_match "... naming the path and cgroup2's mount" \
	"--cgroup /sys/fs/cgroup/not-a-cgroup-cgfw: not a cgroup v2 directory \(cgroup2 is mounted at $mnt\)" \
	"$(cat "$T/err")"
cgfw attach --cgroup-path /tmp >"$T/out" 2>"$T/err"
check "attach to a non-cgroup directory fails (--cgroup-path)" test $? -ne 0
expect_match "... clearly" "not a cgroup v2 directory" "$(cat "$T/err")"

# Config file: unknown keys and bad rules are named with the file.
printf '[cgfw]\nallow-list = 203.0.113.10\nallow-lsit = 1.2.3.4\n' >"$T/bad.conf"
refused "config unknown key" "bad\.conf: allow-lsit: unknown key \(line 3\)" \
	--config "$T/bad.conf" run --user nobody -- touch "$W/ran"
printf 'block-list = 300.1.1.1\n' >"$T/bad2.conf"
refused "config bad rule" 'invalid rule "300\.1\.1\.1" in .*bad2\.conf: block-list' \
	--config "$T/bad2.conf" run --user nobody -- touch "$W/ran"

# A config that works, and CLI lists that replace its list.
printf '# cgfw\n[cgfw]\nallow-list = 198.51.100.7\nuser = nobody\n' >"$T/good.conf"
out=$(cgfw --config "$T/good.conf" run -- $PROBE tcp 198.51.100.7 80)
expect_match "config allow-list applies" "result=ok" "$out"
out=$(cgfw --config "$T/good.conf" run --allow-list 203.0.113.10 -- $PROBE tcp 198.51.100.7 80)
expect_match "the CLI list replaces the config's" "result=EPERM" "$out"
out=$(cgfw --config "$T/good.conf" run -- id -u)
expect_eq "config user applies" 65534 "$out"

# Every input is checked whole, whatever wins in the end (issue 8).
# A NUL once cut the value: only 198.51.100.8 was blocked, silently.
printf '[cgfw]\nuser = nobody\nblock-list = 198.51.100.8\0,198.51.100.7\n' >"$T/nul.conf"
refused "NUL in the config" \
	'nul\.conf:3: control character \\x00 in "block-list = 198\.51\.100\.8\\x00,198\.51\.100\.7"' \
	--config "$T/nul.conf" run -- touch "$W/ran"
printf '[cgfw]\n# a comment\x1b[2J\nuser = nobody\n' >"$T/esc.conf"
refused "an escape sequence in a config comment" 'esc\.conf:2: control character \\x1b' \
	--config "$T/esc.conf" run -- touch "$W/ran"
grep -q "$(printf '\x1b')" "$T/err"
check "... and the message carries no raw escape byte" test $? -ne 0
printf '[cgfw]\r\nallow-list = 198.51.100.7\r\nuser = nobody\r\n' >"$T/crlf.conf"
out=$(cgfw --config "$T/crlf.conf" run -- $PROBE tcp 198.51.100.7 80)
expect_match "CRLF line ends are fine" "result=ok" "$out"
# inih splits a line longer than its buffer (199 bytes): the tail of this
# comment was read as a key, and opened everything.
{ printf '[cgfw]\nuser = nobody\nallow-list = 198.51.100.7\n# '; head -c 197 /dev/zero | tr '\0' x
	printf 'allow-list = 0.0.0.0/0\n'; } >"$T/long.conf"
refused "a config line longer than inih reads" 'long\.conf:4: line longer than 198 bytes' \
	--config "$T/long.conf" run -- touch "$W/ran"
# Values the command line overrides are checked all the same.
printf 'allow-list = 1.2.3.4/33\n' >"$T/ov.conf"
refused "a bad config list the CLI replaces" 'invalid rule "1\.2\.3\.4/33" in .*ov\.conf: allow-list' \
	--config "$T/ov.conf" run --user nobody --allow-list 203.0.113.10 -- touch "$W/ran"
printf 'dns-min-ttl = soon\n' >"$T/ov2.conf"
refused "a bad config value the CLI replaces" 'ov2\.conf: dns-min-ttl: expected seconds' \
	--config "$T/ov2.conf" run --user nobody --dns-min-ttl 5 -- touch "$W/ran"
printf '203.0.113.10\n' >"$T/good.list"
printf 'allow-list-file = %s\n' "$T/missing.list" >"$T/ov3.conf"
refused "a missing config list file the CLI replaces" 'missing\.list: cannot open' \
	--config "$T/ov3.conf" run --user nobody --allow-list-file "$T/good.list" -- touch "$W/ran"
refused "--config naming a directory" "config $T: not a regular file" \
	--config "$T" run --user nobody -- touch "$W/ran"
# state-dir and upstream-ca have keys too: checked, and the command line wins.
printf '[cgfw]\nstate-dir = relative/state\n' >"$T/sd.conf"
refused "a relative state-dir in the config" 'sd\.conf: state-dir: "relative/state" is not an absolute path \(line 2\)' \
	--config "$T/sd.conf" run --user nobody -- touch "$W/ran"
refused "... even when --state-dir replaces it" 'sd\.conf: state-dir: "relative/state" is not an absolute path' \
	--config "$T/sd.conf" run --user nobody --state-dir "$T/cli-state" -- touch "$W/ran"
printf '[cgfw]\nupstream-ca = %s/no-such-ca.pem\n' "$T" >"$T/uca.conf"
refused "a missing upstream-ca in the config" "uca\.conf: upstream-ca: cannot read \"$T/no-such-ca\.pem\": No such file or directory \(line 2\)" \
	--config "$T/uca.conf" run --user nobody -- touch "$W/ran"
printf '[cgfw]\nstate-dir = %s/conf-state\n' "$T" >"$T/sd2.conf"
expect_eq "state-dir in the config: cgfw-loader ca makes the CA there" "$T/conf-state/ca.pem" \
	"$("$LOADER" --config "$T/sd2.conf" ca 2>"$T/err")"
expect_eq "... --state-dir wins over it" "$T/cli-state/ca.pem" \
	"$("$LOADER" --config "$T/sd2.conf" ca --state-dir "$T/cli-state" 2>"$T/err")"
# List files: control bytes anywhere, naming file and line.
printf '203.0.113.10\n198.51.100.8\0,198.51.100.7\n' >"$T/nul.list"
refused "NUL in a list file" 'nul\.list:2: control character \\x00' \
	run --user nobody --block-list-file "$T/nul.list" -- touch "$W/ran"
# Escaped, capped quoting of bad input on the command line.
refused "a control byte in a CLI rule" 'invalid rule "a\\x1b\[31m\.example"' \
	run --user nobody --allow-list "$(printf 'a\x1b[31m.example')" -- touch "$W/ran"
refused "a long bad rule is cut" 'invalid rule "x{200}\.\.\." in --allow-list' \
	run --user nobody --allow-list "$(head -c 300 /dev/zero | tr '\0' x)" -- touch "$W/ran"

# An empty list file (a truncated download, /dev/null) never means "block nothing".
: >"$T/empty.list"
printf '# only comments\n\n   \n\t# and blanks\n' >"$T/comments.list"
refused "an empty allow-list file" 'empty\.list: no rules.*--allow-empty' \
	run --user nobody --allow-list-file "$T/empty.list" -- touch "$W/ran"
refused "a comment-only allow-list file" 'comments\.list: no rules' \
	run --user nobody --allow-list-file "$T/comments.list" -- touch "$W/ran"
refused "/dev/null as the allow list" '/dev/null: no rules' \
	run --user nobody --allow-list-file /dev/null -- touch "$W/ran"
refused "an empty block-list file" 'empty\.list: no rules.*blocks nothing' \
	run --user nobody --block-list-file "$T/empty.list" -- touch "$W/ran"
printf 'allow-list-file = %s\n' "$T/empty.list" >"$T/ov4.conf"
refused "an empty file, even one the CLI replaces" 'empty\.list: no rules' \
	--config "$T/ov4.conf" run --user nobody --allow-list-file "$T/good.list" -- touch "$W/ran"
# With --allow-empty: still allow-list mode, so everything is blocked.
out=$(cgfw run --user nobody --allow-empty --allow-list-file "$T/empty.list" -- \
	$PROBE tcp 203.0.113.10 80 2>"$T/err")
expect_match "--allow-empty: an empty allow list blocks everything" "result=EPERM" "$out"
expect_match "... and says so" "allow-list mode, 0 rules from 1 source: everything is blocked" \
	"$(cat "$T/err")"
printf '[cgfw]\nallow-empty = yes\n' >"$T/ae.conf"
out=$(cgfw --config "$T/ae.conf" run --user nobody --allow-list-file "$T/comments.list" \
	--log-file "$T/ev-ae.json" -- \
	sh -c "$PROBE tcp 203.0.113.10 80; dig +time=2 +tries=1 example.com" 2>/dev/null)
expect_match "allow-empty in the config: blocked too" "result=EPERM" "$out"
expect_match "... names as well" "status: REFUSED" "$out"
out=$(cgfw run --user nobody --allow-empty --block-list-file "$T/empty.list" -- \
	$PROBE tcp 203.0.113.10 80 2>"$T/err")
expect_match "--allow-empty: an empty block list blocks nothing" "result=ok" "$out"
expect_match "... and says so" "block-list mode, 0 rules from 1 source: nothing is blocked" \
	"$(cat "$T/err")"

# The effective mode, at every start (IP rules counted once per address).
printf '198.51.100.7\n203.0.113.10\nexample.com\n' >"$T/mixed.list"
cgfw run --user nobody --allow-list 203.0.113.10,198.51.100.8 --allow-list-file "$T/mixed.list" \
	-- true 2>"$T/err"
expect_match "the mode line" "cgfw-loader\[[0-9]+\]: allow-list mode, 4 rules from 2 sources \(1 duplicate IP rule merged\)" \
	"$(cat "$T/err")"
# A root-only list loads (the loader opens it) though an unprivileged helper parses it.
chmod 600 "$T/mixed.list"
cgfw run --user nobody --allow-list-file "$T/mixed.list" -- true 2>"$T/err"
expect_match "a root-only (0600) list file loads" "allow-list mode, 3 rules from 1 source" \
	"$(cat "$T/err")"
cgfw run --user nobody -- true 2>"$T/err"
expect_match "the mode line: log-only" "log-only mode \(no rules\): nothing is blocked" "$(cat "$T/err")"

# Lists scale: 200,000 IPs (the maps held 65,536) load, sized from the input.
awk 'BEGIN { for (i = 0; i < 200000; i++) printf "10.%d.%d.%d\n", i / 65536, i / 256 % 256, i % 256;
	print "203.0.113.10" }' >"$T/ips.list"
start=$(date +%s%N)
out=$(cgfw run --user nobody --allow-list-file "$T/ips.list" --log-file "$T/ev-ips.json" -- \
	sh -c "$PROBE tcp 203.0.113.10 80; $PROBE tcp 198.51.100.7 80" 2>"$T/err")
echo "# 200k-IP allow list: loader start to exit $((($(date +%s%N) - start) / 1000000)) ms"
expect_match "a 200k-IP list loads: the listed IP is allowed" "result=ok" "$(echo "$out" | head -n 1)"
expect_match "... others are not" "result=EPERM" "$(echo "$out" | sed -n 2p)"
expect_match "... counted" "allow-list mode, 200001 rules from 1 source" "$(cat "$T/err")"
# Over the limit: at once, naming the file, the count and the limit.
awk 'BEGIN { for (i = 0; i <= 1048576; i++) printf "11.%d.%d.%d\n", i / 65536, i / 256 % 256, i % 256 }' \
	>"$T/over.list"
start=$(date +%s%N)
refused "a list over the map limit" \
	"too many IP rules.*: 1048577 after merging duplicates, over the limit of 1048576 per map.*from $T/over\.list \(1048577\)" \
	run --user nobody --allow-list-file "$T/over.list" -- touch "$W/ran"
echo "# over-limit list refused after $((($(date +%s%N) - start) / 1000000)) ms"

# Not root: refused before anything else.
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$LOADER" run -- true 2>&1)
expect_match "non-root is refused" "must run as root" "$out"

no_leftovers
finish
