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

# Not root: refused before anything else.
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$LOADER" run -- true 2>&1)
expect_match "non-root is refused" "must run as root" "$out"

no_leftovers
finish
