#!/usr/bin/env bash
# The privilege boundary while a command runs: the monitor is unprivileged
# with no capability and no_new_privs; the loader's process, once it is
# cgfw-supervisor, keeps CAP_KILL only.
. "$(dirname "$0")/lib.sh"
fi_up

cgfw_bg run --user nobody --log-file "$T/ev.json" --allow-list 203.0.113.10 -- \
	sh -c 'echo $$ > '"$W"'/child.pid; exec sleep 30' 2>"$T/err"
check "the command started" wait_file "$W/child.pid"
mpid=$(cat "/proc/$LPID/task/$LPID/children" | tr ' ' '\n' | while read -r p; do
	[ -n "$p" ] && grep -q '^cgfw-monitor' "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done)
check "found the monitor" test -n "$mpid"

echo "# loader $LPID:"; grep '^Cap\|^Uid\|^NoNewPrivs\|^Seccomp:' "/proc/$LPID/status" | sed 's/^/#   /'
echo "# monitor $mpid:"; grep '^Cap\|^Uid\|^NoNewPrivs\|^Seccomp:' "/proc/$mpid/status" | sed 's/^/#   /'

muid=$(awk '/^Uid:/ { print $2 }' "/proc/$mpid/status")
check "monitor uid is not 0 ($muid)" test "$muid" != 0
expect_eq "monitor CapEff=0" 0000000000000000 "$(awk '/^CapEff:/ { print $2 }' "/proc/$mpid/status")"
expect_eq "monitor CapPrm=0" 0000000000000000 "$(awk '/^CapPrm:/ { print $2 }' "/proc/$mpid/status")"
expect_eq "monitor CapBnd=0" 0000000000000000 "$(awk '/^CapBnd:/ { print $2 }' "/proc/$mpid/status")"
expect_eq "monitor no_new_privs" 1 "$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$mpid/status")"
if [ -n "${CGFW_SAN:-}" ]; then
	echo "# SKIP monitor is in seccomp filter mode: the sanitizer build has none (CGFW_WEAK_SANDBOX)"
else
	expect_eq "monitor is in seccomp filter mode" 2 "$(awk '/^Seccomp:/ { print $2 }' "/proc/$mpid/status")"
fi
mcg=$(cat "/proc/$mpid/cgroup" | grep '^0::')
ccg=$(cat "/proc/$(cat "$W/child.pid")/cgroup" | grep '^0::')
check "monitor is outside the target cgroup ($mcg vs $ccg)" test "$mcg" != "$ccg"
mfds=$(ls "/proc/$mpid/fd" | wc -l)
echo "# monitor fds: $(ls -l "/proc/$mpid/fd" | awk 'NR > 1 { print $NF }' | tr '\n' ' ')"
check "monitor holds few fds ($mfds)" test "$mfds" -le 20

# CAP_KILL is bit 5, CAP_SETGID 6, CAP_SETUID 7: 0xe0 (restarting a worker as its user).
expect_eq "loader CapEff is CAP_KILL only (workers restart through their launchers)" 0000000000000020 \
	"$(awk '/^CapEff:/ { print $2 }' "/proc/$LPID/status")"
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$LPID/status")
check "loader runs as a reserved uid of its own ($uid), not root" \
	test "$uid" -ge $((0x7cf00000)) -a "$uid" -lt $((0x7cf10000))
expect_eq "... real, effective, saved and fs uid alike" "$uid $uid $uid $uid" \
	"$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$LPID/status")"
expect_eq "loader CapBnd is empty" 0000000000000000 \
	"$(awk '/^CapBnd:/ { print $2 }' "/proc/$LPID/status")"
# Set up, the loader executed cgfw-supervisor in its own process (lib/handover.h).
expect_eq "the loader's process now runs cgfw-supervisor" "cgfw-supervisor cgfw-supervisor" \
	"$(cat "/proc/$LPID/comm") $(basename "$(readlink "/proc/$LPID/exe")")"
expect_eq "... with no ambient or inheritable capability left (CAP_KILL crossed the exec)" \
	"0000000000000000 0000000000000000" \
	"$(awk '/^CapAmb:/ { a = $2 } /^CapInh:/ { i = $2 } END { print a, i }' "/proc/$LPID/status")"
expect_eq "... no_new_privs, not dumpable (its /proc files are root's)" "1 0" \
	"$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$LPID/status") $(stat -c %u "/proc/$LPID/fd")"
if [ -z "${CGFW_SAN:-}" ]; then
	expect_eq "... under a seccomp filter (no exec)" 2 \
		"$(awk '/^Seccomp:/ { print $2 }' "/proc/$LPID/status")"
fi
echo "# supervisor fds: $(ls -l "/proc/$LPID/fd" | awk 'NR > 1 { print $NF }' | tr '\n' ' ')"

kill -TERM "$LPID"
wait "$LPID"
check "monitor exited with the loader" test ! -d "/proc/$mpid"

# The order, from the loader's own syscalls: it executes cgfw-supervisor
# with CAP_KILL alone (its last capset), and only then does a worker get
# its first message; the command (made before, held) execs only after
# every worker's READY, that is after the supervisor has read them all.
# (LeakSanitizer cannot run under ptrace: leaks are checked in every other run.)
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	strace -f -qq -o "$T/st.raw" -e trace=capset,sendmsg,execve,execveat -e signal=none \
	"$LOADER" run --user nobody -- /bin/echo held >"$T/st-out" 2>"$T/st-err"
check "run under strace" test $? -eq 0
# A call another process interrupted ("<unfinished ...>", then "<... NAME resumed>")
# made whole again, where it began.
awk '/ <unfinished \.\.\.>$/ { p[$1] = NR; l[NR] = substr($0, 1, length($0) - 17); next }
	$2 == "<..." && ($1 in p) { r = $0; sub(/^[0-9]+ +<\.\.\. [a-z0-9_]+ resumed>/, "", r)
		l[p[$1]] = l[p[$1]] r; delete p[$1]; next }
	{ l[NR] = $0 } END { for (i = 1; i <= NR; i++) if (i in l) print l[i] }' "$T/st.raw" >"$T/st"
expect_eq "... and the command ran" held "$(cat "$T/st-out")"
lpid=$(head -1 "$T/st" | awk '{ print $1 }')
awk -v l="$lpid" '$1 == l && /capset\(/ { c = NR; eff = $0 } $1 == l && /sendmsg\(/ && !s { s = NR }
	$1 == l && /execve(at)?\(.*cgfw-supervisor/ { v = NR }
	/execve\("\/bin\/echo"/ { x = NR } END {
	print "last capset " c ", supervisor exec " v ", first sendmsg " s ", command exec " x; print eff }' "$T/st" | sed 's/^/# /'
first_send=$(awk -v l="$lpid" '$1 == l && /sendmsg\(/ { print NR; exit }' "$T/st")
sup_exec=$(awk -v l="$lpid" '$1 == l && /execve(at)?\(.*cgfw-supervisor.* = 0$/ { print NR; exit }' "$T/st")
check "the loader sent a worker something" test -n "$first_send"
check "it executed cgfw-supervisor before it greeted a worker" \
	test -n "$sup_exec" -a "${sup_exec:-0}" -lt "${first_send:-0}"
before=$(awk -v l="$lpid" -v f="${first_send:-0}" '$1 == l && /capset\(/ && NR < f { e = $0 } END { print e }' "$T/st")
after=$(awk -v l="$lpid" -v f="${first_send:-0}" '$1 == l && /capset\(/ && NR > f' "$T/st")
expect_match "the last capset before it greets a worker leaves CAP_KILL alone" \
	'effective=1<<CAP_KILL, permitted=1<<CAP_KILL, inheritable=0\}\) = 0$' "$before"
check "... and none comes after ($after)" test -z "$after"
# Each worker's READY is its last message of the handshake; the supervisor's
# last greeting (the third COMMIT) is the last sendmsg before the exec.
exec_line=$(awk '/execve\("\/bin\/echo"/ { print NR; exit }' "$T/st")
greets=$(awk -v l="$lpid" -v x="${exec_line:-0}" '$1 == l && /sendmsg\(/ && NR < x { n++ } END { print n + 0 }' "$T/st")
check "the command execs after the supervisor greeted all three workers" \
	test -n "$exec_line" -a "$greets" -ge 12

# With packaging's users (packaging/sysusers.d/cgfw.conf) the workers take
# them; a command may never run as one of them, nor as a reserved uid.
# (Without the host's own cgfw-* entries: `make demo` installs those users.)
grep -Ev '^cgfw-(mon|dns|http):' /etc/passwd >"$T/passwd"
grep -Ev '^cgfw-(mon|dns|http):' /etc/group >"$T/group"
for u in mon:60990 dns:60991 http:60992; do
	echo "cgfw-${u%%:*}:x:${u#*:}:${u#*:}::/nonexistent:/usr/sbin/nologin" >>"$T/passwd"
	echo "cgfw-${u%%:*}:x:${u#*:}:" >>"$T/group"
done
# with_users ARGS...: exec the loader seeing those users (call it in a subshell).
with_users() {
	exec unshare --mount --propagation private sh -c 'mount --bind "$0" /etc/passwd &&
		mount --bind "$1" /etc/group && mount --bind "$2" /etc/resolv.conf && ns=$3 &&
		shift 3 && exec nsenter --net="$ns" -- "$@"' \
		"$T/passwd" "$T/group" "$T/resolv.conf" "/run/netns/$NS_C" "$LOADER" "$@"
}
(with_users run --user nobody -- sh -c 'echo $$ >'"$W"'/u.pid; exec sleep 30') 2>"$T/err2" &
LPID=$!
PIDS+=("$LPID")
check "the command started" wait_file "$W/u.pid"
got=$(for p in $(cat /proc/$LPID/task/*/children); do
	case "$(cat /proc/$p/comm)" in cgfw-*) echo "$(cat /proc/$p/comm)=$(awk '/^Uid:/ { print $2 }' /proc/$p/status)" ;; esac
done | sort | tr '\n' ' ')
expect_eq "the workers, and the launchers that start them again, run as cgfw-mon, cgfw-dns, cgfw-http" \
	"cgfw-dnsproxy=60991 cgfw-httpproxy=60992 cgfw-keeper=0 cgfw-launcher=60990 cgfw-launcher=60991 cgfw-launcher=60992 cgfw-monitor=60990 " "$got"
# The keeper (uid 0) and the launchers run under a deny-list filter (lib/sandbox.c,
# sandbox_deny); a worker has the launcher's and its own allowlist.
if [ -z "${CGFW_SAN:-}" ]; then
	got=$(for p in $(cat /proc/$LPID/task/*/children); do
		case "$(cat /proc/$p/comm)" in cgfw-keeper | cgfw-launcher | cgfw-monitor)
			echo "$(cat /proc/$p/comm)=$(awk '$1 == "Seccomp:" { m = $2 } $1 == "Seccomp_filters:" { f = $2 } END { print m "/" f }' /proc/$p/status)" ;;
		esac
	done | sort | tr '\n' ' ')
	expect_eq "the keeper and the launchers have a seccomp filter, a worker two" \
		"cgfw-keeper=2/1 cgfw-launcher=2/1 cgfw-launcher=2/1 cgfw-launcher=2/1 cgfw-monitor=2/2 " "$got"
fi
kill -TERM "$LPID"
wait "$LPID"
(with_users run --user cgfw-dns -- true) 2>"$T/err3"
expect_eq "--user naming a worker's user is refused (125)" 125 $?
expect_match "... saying why" "is cgfw-dns, the user of cgfw-dnsproxy" "$(cat "$T/err3")"
cgfw run --user 2096103500 -- true 2>"$T/err4"
expect_eq "--user in the reserved range is refused (125)" 125 $?
expect_match "... saying why" "reserved range" "$(cat "$T/err4")"

no_leftovers
finish
