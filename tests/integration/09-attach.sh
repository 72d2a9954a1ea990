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
expect_status "attach exits 0 on SIGTERM" 0 $? "$T/err"
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
expect_status "attach exits 0 on SIGINT" 0 $? "$T/err2"

# Attaching twice to one cgroup is refused (the pins say it is taken).
NAME=t-attach-$$
cgfw_bg attach --name "$NAME" --allow-list 203.0.113.10 --cgroup "$CG" 2>"$T/err3"
for i in $(seq 1 200); do grep -q "enforcing on" "$T/err3" && break; sleep 0.05; done
cgfw attach --allow-list 203.0.113.10 --cgroup "$CG" 2>"$T/err4"
check "a second attach fails" test $? -ne 0
expect_match "... saying cgfw is already attached" "already attached" "$(cat "$T/err4")"
# Named instances: /run/cgfw/instances/NAME is the instance's, 0750, and the
# name cannot be taken by another instance while it runs.
expect_match "the instance says its name" "instance $NAME enforcing on $CG" "$(cat "$T/err3")"
expect_eq "its directory is 0750, setgid (what the loader writes there is the group's)" \
	2750 "$(stat -c '%a' "/run/cgfw/instances/$NAME")"
owner=$(stat -c '%u' "/run/cgfw/instances/$NAME")
check "... and the loader's own reserved uid's ($owner), the uid it runs as now" \
	test "$owner" -ge $((0x7cf00000)) -a "$owner" -lt $((0x7cf10000)) -a \
	"$owner" = "$(awk '/^Uid:/ { print $2 }' "/proc/$(cat "/run/cgfw/instances/$NAME/lock")/status")"
CGN=$mnt/cgfw-test-name-$$
mkdir "$CGN"
CLEANUPS+=("rmdir '$CGN'")
cgfw attach --name "$NAME" --allow-list 203.0.113.10 --cgroup "$CGN" 2>"$T/err5"
expect_status "a second instance of the same name is refused" 125 $? "$T/err5"
expect_match "... saying the name is in use" "instance name $NAME is in use" "$(cat "$T/err5")"
cgfw attach --name ../x --allow-list 203.0.113.10 --cgroup "$CGN" 2>"$T/err5"
expect_status "a name with a slash is refused" 125 $? "$T/err5"
expect_match "... naming the option" "--name: \"../x\" is not an instance name" "$(cat "$T/err5")"
kill -TERM "$LPID"
wait "$LPID"
check "the instance's directory goes with it" test ! -e "/run/cgfw/instances/$NAME"

# A service manager restarting a unit removes its cgroup and makes a new one,
# which has none of our programs: the loader notices, records it and exits 1.
CG3=$mnt/cgfw-test-gone-$$
mkdir "$CG3"
CLEANUPS+=("rmdir '$CG3'")
cgfw_bg attach --log-file "$T/ev6.json" --allow-list 203.0.113.10 --cgroup "$CG3" 2>"$T/err6"
for i in $(seq 1 200); do grep -q "enforcing on" "$T/err6" && break; sleep 0.05; done
rmdir "$CG3" && mkdir "$CG3"
for i in $(seq 1 100); do kill -0 "$LPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$LPID" 2>/dev/null && { not_ok "the loader ran on after its cgroup was removed"; kill -TERM "$LPID"; }
wait "$LPID"
expect_eq "a removed attach cgroup ends the loader with status 125" 125 $?
expect_match "... saying it was re-created unfiltered" "was removed and re-created unfiltered" "$(cat "$T/err6")"
expect_eq "... and an ATTACH LOST event" CgroupRemoved "$(ev_field '.msg == "ATTACH LOST"' because "$T/ev6.json")"

# Two instances: one runs a command from inside cgroup P, the other attaches
# to P/cgfw, the parent of the first one's workers, with a policy that would
# refuse their upstream DNS.  Every instance's workers are exempt in every
# instance's programs, so the first one's allowed name still resolves.
P=$mnt/cgfw-test-two-$$
mkdir "$P"
CLEANUPS+=("rmdir '$P/cgfw' '$P'")
mkdir "$P/cgfw"
cgfw_bg attach --log-file "$T/ev7.json" --allow-list 203.0.113.10 --cgroup "$P/cgfw" 2>"$T/err7"
for i in $(seq 1 200); do grep -q "enforcing on" "$T/err7" && break; sleep 0.05; done
out=$(in_client sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$P" \
	"$LOADER" run --user nobody --allow-list example.com -- \
	sh -c 'exec curl -sS -m 5 http://example.com/ 2>&1' 2>"$T/err8")
expect_eq "an instance attached above another's workers leaves them alone" \
	"hello from 203.0.113.10" "$out"
expect_eq "... and saw no DNS of theirs" 0 "$(jq -s '[.[] | select(.msg | startswith("DNS"))] | length' "$T/ev7.json")"
kill -TERM "$LPID"
wait "$LPID"

# The target is an ancestor of the loader (as when attaching to a login
# session): the workers live in a cgroup below it, exempted by id, so the DNS
# proxy's own upstream queries are neither filtered nor looped to itself.
CG2=$mnt/cgfw-test-anc-$$
mkdir "$CG2"
CLEANUPS+=("rmdir '$CG2/cgfw' '$CG2'")
(exec unshare --mount --propagation private sh -c \
	'mount --bind "$0" /etc/resolv.conf && echo $$ > "$1/cgroup.procs" && shift &&
	 exec nsenter --net="$1" -- "$2" attach --log-file "$3" --allow-list example.com --cgroup "$4"' \
	"$T/resolv.conf" "$CG2" "/run/netns/$NS_C" "$LOADER" "$T/ev5.json" "$CG2" 2>"$T/err5") &
LPID=$!
PIDS+=("$LPID")
for i in $(seq 1 200); do grep -q "enforcing on" "$T/err5" && break; sleep 0.05; done
check "the loader runs inside the target" grep -q "${CG2#"$mnt"}" "/proc/$LPID/cgroup"
out=$(in_client sh -c 'echo $$ > "$0/cgroup.procs" &&
	exec setpriv --reuid=65534 --regid=65534 --clear-groups curl -sS -m 5 http://example.com/' "$CG2" 2>&1)
expect_eq "attach to an ancestor of the loader: DNS and the connection work" \
	"hello from 203.0.113.10" "$out"
out=$(in_client sh -c 'echo $$ > "$0/cgroup.procs" &&
	exec setpriv --reuid=65534 --regid=65534 --clear-groups dig +time=3 +tries=1 google.com' "$CG2" 2>&1)
expect_match "... and the policy still applies" "status: REFUSED" "$out"
kill -TERM "$LPID"
wait "$LPID"
expect_eq "attach exits 0" 0 $?

no_leftovers
finish
