#!/usr/bin/env bash
# attach: enforce on an existing cgroup until SIGTERM/SIGINT, then detach
# cleanly; while attached, processes that join the cgroup are filtered.
. "$(dirname "$0")/lib.sh"
fi_up

mnt=$(cgroup2_mnt)
CG=$mnt/cgfw-test-attach-$$
mkdir "$CG"
CLEANUPS+=("rmdir '$CG'")

# in_cg CMD...: run CMD inside $CG, in the client netns, as nobody.
in_cg() {
	in_client sh -c 'echo $$ > "$0/cgroup.procs" &&
		exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"' "$CG" "$@"
}

cgfw_bg attach --log-file "$T/ev.json" --allow-list 203.0.113.10 --cgroup "$CG" 2>"$T/err"
for i in $(seq 1 200); do grep -q "enforcing on" "$T/err" && break; sleep 0.05; done
expect_match "attach says where it enforces" "enforcing on $CG" "$(cat "$T/err")"

out=$(in_cg $PROBE tcp 198.51.100.7 80)
expect_match "a process joining the cgroup is filtered" "result=EPERM" "$out"
out=$(in_cg $PROBE tcp 203.0.113.10 80)
expect_match "allowed IP passes" "result=ok" "$out"
pid=$(echo "$out" | sed -n 's/^pid=\([0-9]*\).*/\1/p')
check "links are pinned while attached" test -n "$(ls /sys/fs/bpf/cgfw/ 2>/dev/null)"

kill -TERM "$LPID"
wait "$LPID"
expect_eq "attach exits 0 on SIGTERM" 0 $?
expect_eq "the block was reported" 1 "$(jq -s '[.[] | select(.blocked)] | length' "$T/ev.json")"
out=$(in_cg $PROBE tcp 198.51.100.7 80)
expect_match "after detach the cgroup is unfiltered again" "result=ok" "$out"
check "the cgroup itself is left in place" test -d "$CG"

# --cgroup-path (the original's spelling) and a path relative to the mount.
cgfw_bg attach --log-file "$T/ev2.json" --block-list 198.51.100.7 --cgroup-path "${CG#"$mnt"/}" 2>"$T/err2"
for i in $(seq 1 200); do grep -q "enforcing on" "$T/err2" && break; sleep 0.05; done
out=$(in_cg $PROBE tcp 198.51.100.7 80)
expect_match "--cgroup-path relative to the cgroup2 mount works" "result=EPERM" "$out"
kill -INT "$LPID"
wait "$LPID"
expect_eq "attach exits 0 on SIGINT" 0 $?

# Attaching twice to one cgroup is refused (the pins say it is taken).
cgfw_bg attach --allow-list 203.0.113.10 --cgroup "$CG" 2>"$T/err3"
for i in $(seq 1 200); do grep -q "enforcing on" "$T/err3" && break; sleep 0.05; done
cgfw attach --allow-list 203.0.113.10 --cgroup "$CG" 2>"$T/err4"
check "a second attach fails" test $? -ne 0
expect_match "... saying cgfw is already attached" "already attached" "$(cat "$T/err4")"
kill -TERM "$LPID"
wait "$LPID"

no_leftovers
finish
