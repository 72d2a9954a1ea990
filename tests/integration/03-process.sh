#!/usr/bin/env bash
# The command: its exit status and signals, the user it runs as, one argument
# through /bin/sh -c versus several as argv, and the pid in events.
. "$(dirname "$0")/lib.sh"
fi_up

cgfw run --user nobody -- 'exit 3' 2>/dev/null
expect_eq "exit status is the command's" 3 $?

cgfw run --user nobody -- sh -c 'kill -TERM $$' 2>/dev/null
expect_eq "killed by SIGTERM -> 143" 143 $?

cgfw run --user nobody -- sh -c 'kill -KILL $$' 2>/dev/null
expect_eq "killed by SIGKILL -> 137" 137 $?

cgfw run --user nobody -- /nonexistent/cmd arg 2>"$T/err"
expect_eq "a command that is not there -> 127" 127 $?
expect_match "and the loader says why" "cannot run /nonexistent/cmd" "$(cat "$T/err")"
printf 'not a program\n' >"$W/noexec"
chmod 644 "$W/noexec"
cgfw run --user nobody -- "$W/noexec" arg 2>"$T/err"
expect_eq "a command that cannot be executed -> 126" 126 $?
cgfw run --user nobody --allow-list 1.2.3.4/33 -- true 2>"$T/err"
expect_eq "a bad rule -> 125, not a status the command could have" 125 $?

# A signal to the loader reaches the command.
cgfw_bg run --user nobody -- sh -c 'echo $$ > '"$W"'/child.pid; exec sleep 30' 2>/dev/null
check "the command started" wait_file "$W/child.pid"
# Set up, the loader's process runs cgfw-supervisor, named with the instance.
expect_eq "LPID is the loader, now cgfw-supervisor" "cgfw-supervisor run-$LPID" \
	"$(tr '\0' ' ' <"/proc/$LPID/cmdline" | sed 's/ $//')"
kill -TERM "$LPID"
wait "$LPID"
expect_eq "SIGTERM to the loader is forwarded (128+15)" 143 $?
check "the command is gone" test ! -d "/proc/$(cat "$W/child.pid")"

# The invoking user (sudo's SUDO_UID/SUDO_GID), never silently root.
out=$(SUDO_UID=4242 SUDO_GID=4343 cgfw run -- sh -c 'id -u; id -g')
expect_eq "runs as SUDO_UID" 4242 "$(echo "$out" | sed -n 1p)"
expect_eq "runs as SUDO_GID" 4343 "$(echo "$out" | sed -n 2p)"
out=$(cgfw run --user nobody -- id -u)
expect_eq "--user nobody" 65534 "$out"
out=$(env -u SUDO_UID -u SUDO_GID "$LOADER" run -- id -u 2>"$T/err")
expect_eq "no SUDO_UID and no --user: root" 0 "$out"
expect_match "... and the loader says so" "running the command as root" "$(cat "$T/err")"
out=$(cgfw run --user nobody -- grep NoNewPrivs /proc/self/status)
expect_match "the command has no_new_privs" "NoNewPrivs:[[:space:]]+1" "$out"

# One argument is a shell command line; several are argv, not re-split.
out=$(cgfw run --user nobody -- 'echo a; echo b' | tr '\n' ' ')
expect_eq "one argument goes through /bin/sh -c" "a b " "$out"
out=$(cgfw run --user nobody -- printf '%s|' 'a b' 'c;d')
expect_eq "several arguments are exec'd as argv" "a b|c;d|" "$out"

# The command runs in the new cgroup, and the event pid is the real pid.
# Seen from the host it is cgfw/run-PID; from inside, its own cgroup
# namespace makes that cgroup the root, with nothing above it to write to.
cgfw_bg run --user nobody -- sh -c 'grep ^0:: /proc/self/cgroup >'"$W"'/cg.in; echo $$ >'"$W"'/cg.pid; exec sleep 30'
check "the command started" wait_file "$W/cg.pid"
expect_match "the command runs in a cgfw cgroup" "^0::.*/cgfw/run-[0-9]+$" \
	"$(grep ^0:: "/proc/$(cat "$W/cg.pid")/cgroup")"
expect_eq "... which is the root of its cgroup namespace" "0::/" "$(cat "$W/cg.in")"
kill -TERM "$LPID"
wait "$LPID"
# Two processes at once, each printing its pid to a file of its own.
cgfw run --user nobody --log-file "$T/ev.json" --allow-list 203.0.113.10 -- \
	sh -c "$PROBE tcp 198.51.100.7 80 >$W/p7 & $PROBE tcp 198.51.100.8 80 >$W/p8 & wait" 2>/dev/null
for n in 7 8; do
	pid=$(jq -r "select(.ip == \"198.51.100.$n\") | .pid" "$T/ev.json")
	expect_match "the event's pid for 198.51.100.$n ($pid) is the pid that connected" \
		"^pid=$pid result=EPERM$" "$(cat "$W/p$n")"
done

no_leftovers
finish
