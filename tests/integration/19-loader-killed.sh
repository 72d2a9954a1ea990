#!/usr/bin/env bash
# A loader killed outright (SIGKILL: no cleanup at all): the command dies with
# it, the cgroup stays filtered by the pins, `status` calls the instance
# stale, `cleanup` removes it, and a new attach to the same cgroup replaces
# the stale pins without an unfiltered moment.
. "$(dirname "$0")/lib.sh"
fi_up
mnt=$(cgroup2_mnt)

# in_cg DIR CMD...: run CMD inside cgroup DIR, in the client netns, as nobody.
in_cg() {
	in_client sh -c 'echo $$ > "$0/cgroup.procs" &&
		exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"' "$@"
}
gone() { # gone PID: bounded wait for a process to disappear
	for i in $(seq 1 100); do [ -d "/proc/$1" ] || return 0; sleep 0.05; done
	return 1
}

cgfw_bg run --user nobody --allow-list 203.0.113.10 -- sh -c 'echo $$ >'"$W"'/cmd.pid; exec sleep 60' 2>"$T/err"
check "the command started" wait_file "$W/cmd.pid"
CMD=$(cat "$W/cmd.pid")
CG=$mnt$(sed -n 's/^0:://p' "/proc/$CMD/cgroup")
ID=$(stat -c %i "$CG")
CLEANUPS+=("echo 1 > '$CG/cgroup.kill'; rmdir '$CG'; rm -rf '/sys/fs/bpf/cgfw/$ID'")
KEEPER=$(for p in $(cat /proc/$LPID/task/*/children); do
	[ "$(cat /proc/$p/comm 2>/dev/null)" = cgfw-keeper ] && echo "$p"; done)
check "the loader has its keeper" test -n "$KEEPER"
kill -KILL "$LPID"
wait "$LPID"
check "the command died with the loader" gone "$CMD"
check "the keeper went too (EOF), removing nothing" gone "$KEEPER"
check "the pins stay" test -d "/sys/fs/bpf/cgfw/$ID"
out=$(in_cg "$CG" $PROBE tcp 198.51.100.7 80)
expect_match "the cgroup stays filtered" "result=EPERM" "$out"
out=$(cgfw status)
expect_match "status calls it stale" "^$ID stale cgroup $CG" "$(grep "^$ID " <<<"$out")"
expect_match "... by its name too (its status file outlived it)" \
	"^run-$LPID: stale: cgfw-loader pid $LPID is gone" "$out"
KPID=$LPID
out=$(cgfw cleanup "$ID")
expect_match "cleanup removes it with its cgroup" "^$ID removed with $CG" "$(grep "^$ID " <<<"$out")"
check "... no pins left" test ! -e "/sys/fs/bpf/cgfw/$ID"
check "... no cgroup left" test ! -e "$CG"

# The keeper killed (a root command could): the loader still stops, says
# what is left, and cleanup removes it.
cgfw_bg run --user nobody --allow-list 203.0.113.10 -- \
	sh -c 'sleep 60 & echo $! >'"$W"'/bg.pid; echo $$ >'"$W"'/cmd2.pid; exec sleep 60' 2>"$T/errk"
check "another command started" wait_file "$W/cmd2.pid"
CG2=$mnt$(sed -n 's/^0:://p' "/proc/$(cat "$W/cmd2.pid")/cgroup")
ID2=$(stat -c %i "$CG2")
CLEANUPS+=("echo 1 > '$CG2/cgroup.kill'; rmdir '$CG2'; rm -rf '/sys/fs/bpf/cgfw/$ID2'")
KEEPER=$(for p in $(cat /proc/$LPID/task/*/children); do
	[ "$(cat /proc/$p/comm 2>/dev/null)" = cgfw-keeper ] && echo "$p"; done)
kill -KILL "$KEEPER"
check "the keeper is gone" gone "$KEEPER"
kill -TERM "$LPID"
wait "$LPID"
expect_eq "the loader stops as asked (the command's SIGTERM: 143)" 143 $?
expect_match "... saying cleanup removes what is left" "keeper .*cleanup" "$(cat "$T/errk")"
check "... having killed what was left in the command's cgroup itself (CAP_KILL)" gone "$(cat "$W/bg.pid")"
check "... the pins stay (nobody unpinned them)" test -d "/sys/fs/bpf/cgfw/$ID2"
out=$(in_cg "$CG2" $PROBE tcp 198.51.100.7 80)
expect_match "... so its cgroup stays filtered" "result=EPERM" "$out"
LK=$LPID
out=$(cgfw cleanup "$ID2")
expect_match "cleanup removes it" "^$ID2 removed with $CG2" "$(grep "^$ID2 " <<<"$out")"
check "its instance directory, emptied, is left (only the keeper may remove it)" \
	test -d "/run/cgfw/instances/run-$LK"
out=$(cgfw cleanup)
expect_match "... until a full cleanup" "removed /run/cgfw/instances/run-$LK " "$out"
expect_match "... and the SIGKILLed run's, files and all (its dead uid's directory)" \
	"removed /run/cgfw/instances/run-$KPID " "$out"
# cleanup is cgfw-ctl's: as root it keeps CAP_DAC_OVERRIDE alone (for such directories).
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	strace -f -qq -o "$T/cl" -e trace=capset,execve -e signal=none "$LOADER" cleanup 1 >/dev/null 2>&1
check "cleanup executes cgfw-ctl" grep -q 'execve(".*/cgfw-ctl", \["cgfw-ctl", "cleanup", "1"\]' "$T/cl"
expect_match "... which keeps CAP_DAC_OVERRIDE alone" \
	'effective=1<<CAP_DAC_OVERRIDE, permitted=1<<CAP_DAC_OVERRIDE, inheritable=0\}\) = 0$' \
	"$(grep 'capset(' "$T/cl" | tail -1)"

# attach, killed: the next attach to that cgroup replaces the stale pins.
CGA=$mnt/cgfw-test-kill-$$
mkdir "$CGA"
CLEANUPS+=("rmdir '$CGA'")
cgfw_bg attach --allow-list 203.0.113.10 --cgroup "$CGA" 2>"$T/err1"
for i in $(seq 1 200); do grep -q "enforcing on" "$T/err1" && break; sleep 0.05; done
kill -KILL "$LPID"
wait "$LPID"
out=$(in_cg "$CGA" $PROBE tcp 198.51.100.7 80)
expect_match "a killed attach leaves the cgroup filtered" "result=EPERM" "$out"
cgfw_bg attach --log-file "$T/ev2.json" --allow-list 203.0.113.10 --cgroup "$CGA" 2>"$T/err2"
for i in $(seq 1 200); do grep -q "enforcing on" "$T/err2" && break; sleep 0.05; done
expect_match "the next attach replaces the stale pins" "replacing the pins of a cgfw that died" "$(cat "$T/err2")"
out=$(in_cg "$CGA" $PROBE tcp 198.51.100.7 80)
expect_match "... and filters" "result=EPERM" "$out"
cgfw attach --allow-list 203.0.113.10 --cgroup "$CGA" 2>"$T/err3"
expect_eq "a second live attach is refused (125)" 125 $?
expect_match "... naming the running one" "cgfw \\(pid [0-9]+\\) is already attached" "$(cat "$T/err3")"
kill -TERM "$LPID"
wait "$LPID"
expect_status "attach exits 0" 0 $? "$T/err2"
check "no pins left for it" test ! -e "/sys/fs/bpf/cgfw/$(stat -c %i "$CGA")"
out=$(in_cg "$CGA" $PROBE tcp 198.51.100.7 80)
expect_match "after a clean exit the cgroup is unfiltered" "result=ok" "$out"
cgfw cleanup "$(stat -c %i "$CGA")" >/dev/null # the workers' cgroups of the killed loaders
# With nothing running, a full cleanup also removes the shared exempt map.
if [ -z "$("$LOADER" status --json | jq -r 'select(.state != "stale") | .cgroupId')" ]; then
	cgfw cleanup >/dev/null
	check "a full cleanup with no instance left removes cgfw_exempt" \
		test ! -e /sys/fs/bpf/cgfw/cgfw_exempt
	check "... and the directory of the killed run's instance" test ! -e "/run/cgfw/instances/run-$KPID"
fi

no_leftovers
finish
