#!/usr/bin/env bash
# Loss is on the record: the log stays JSON lines when its disk fills, and
# events that could not be written, like those the full ring buffer refused,
# come back as EVENTS LOST lines with a count and a reason.  Every event of
# a run is either a line or in a count.
#
# The small disk is a tmpfs mounted in a private mount namespace that the
# whole test runs in; the loader's own namespace (lib.sh) is a copy of it.
if [ "$(id -u)" = 0 ] && [ -z "${CGFW_IN_MNTNS:-}" ] && unshare --mount true 2>/dev/null; then
	CGFW_IN_MNTNS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
fi_up
[ -n "${CGFW_IN_MNTNS:-}" ] || skip "cannot make a private mount namespace"

n_text() {
	grep -c "^WARN PACKET BLOCKED" "$1"
}

text_at_least() {
	[ "$(n_text "$1")" -ge "$2" ]
}

# The sum of the EVENTS LOST counts for a because.
lost_sum() {
	jq -s "[.[] | select(.msg == \"EVENTS LOST\" and .because == \"$2\") | .count] | add // 0" "$1"
}

# The whole file parses as JSON lines.
jsonl() {
	jq -c . "$1" >/dev/null
}

# The EVENTS LOST lines of a file all have field $2.
lost_has() {
	jq -s -e "map(select(.msg == \"EVENTS LOST\")) | length > 0 and all(has(\"$2\"))" "$1" >/dev/null
}

n_blocked() {
	jq -s '[.[] | select(.msg == "PACKET BLOCKED")] | length' "$1"
}

# The command's steps wait for files the test makes ($W is the command's to read).
wait_for() {
	echo "while [ ! -e $W/$1 ]; do sleep 0.05; done"
}

BURST="$PROBE udp-burst"

# ---- (a) the log's disk fills, then has room again

mkdir "$T/log"
mount -t tmpfs -o size=64k,mode=0755 cgfw-test-log "$T/log" || {
	not_ok "cannot mount a tmpfs"
	finish
}
CLEANUPS+=("umount '$T/log'")
LOG=$T/log/ev.json

cgfw_bg run --user nobody --log-file "$LOG" --allow-list 203.0.113.10 -- sh -c "
	$BURST 198.51.100.7 9 2; touch $W/p0; $(wait_for g1)
	$BURST 198.51.100.7 9 12; touch $W/p1; $(wait_for g2)
	$BURST 198.51.100.8 9 3" >"$T/out" 2>"$T/err"
wait_until 10 test -e "$W/p0" && wait_until 10 text_at_least "$T/err" 2
expect_eq "two events before the disk fills" 2 "$(n_blocked "$LOG")"
# The log's page is part used; the rest of the disk is taken.
dd if=/dev/zero of="$T/log/fill" bs=4k 2>/dev/null
check "the disk is full" test "$(df --output=avail -B1 "$T/log" | tail -n 1)" -eq 0
touch "$W/g1"
wait_until 10 test -e "$W/p1" && wait_until 10 text_at_least "$T/err" 14
check "while the disk is full the log parses as JSON lines" jsonl "$LOG"
expect_eq "... and ends with a whole line" "0a" "$(tail -c 1 "$LOG" | od -An -tx1 | tr -d ' ')"
full=$(n_blocked "$LOG")
check "some of the 12 events did not fit ($full of 14 written)" test "$full" -lt 14
check "the monitor said so on stderr" grep -q "cannot write to the log file.*No space left on device" "$T/err"
check "stderr still had every event" test "$(n_text "$T/err")" -eq 14

rm "$T/log/fill"
touch "$W/g2"
wait "$LPID"
expect_eq "a run that lost events exits 125" 125 $?
check "the log parses as JSON lines" jsonl "$LOG"
expect_eq "one object per line" "$(wc -l <"$LOG")" "$(jq -c . "$LOG" | wc -l)"
lost=$(lost_sum "$LOG" LogUnwritable)
check "an EVENTS LOST line counts the unwritten events ($lost)" test "$lost" -gt 0
expect_eq "every event is a line or counted" 17 $(($(n_blocked "$LOG") + lost))
expect_match "the reason names the device error" "^log file: No space left on device$" \
	"$(ev_field '.msg == "EVENTS LOST"' reason "$LOG")"
expect_eq "the EVENTS LOST line is an ERROR" ERROR "$(ev_field '.msg == "EVENTS LOST"' level "$LOG")"
for f in time schema cgroup mode count reason because; do
	check "EVENTS LOST has $f" lost_has "$LOG" "$f"
done
# The losses are told before the events that follow them.
last_lost=$(jq -s 'to_entries | map(select(.value.msg == "EVENTS LOST")) | last.key' "$LOG")
first_after=$(jq -s 'to_entries | map(select(.value.ip == "198.51.100.8")) | first.key' "$LOG")
check "EVENTS LOST comes before the events written after it" test "$last_lost" -lt "$first_after"
expect_eq "the events after the disk had room are all there" 3 \
	"$(jq -s '[.[] | select(.ip == "198.51.100.8")] | length' "$LOG")"
expect_eq "one text line for people per EVENTS LOST line" \
	"$(jq -s '[.[] | select(.msg == "EVENTS LOST")] | length' "$LOG")" \
	"$(grep -Ec '^ERROR EVENTS LOST count=[0-9]+ reason="log file: No space left on device"$' "$T/err")"

# ---- (b) the ring buffer overflows: the monitor is stopped while a burst runs

rm -f "$W"/p* "$W"/g*
cgfw_bg run --user nobody --allow-event-loss --log-file "$T/ev.json" --allow-list 203.0.113.10 -- sh -c "
	touch $W/started
	$(wait_for go)
	for i in 1 2 3 4; do $BURST 198.51.100.7 9 60000 & done; wait; touch $W/done
	$(wait_for end)" >"$T/out2" 2>"$T/err2"
mon=""
find_monitor() {
	local p
	for p in $(ps -o pid= --ppid "$LPID"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = cgfw-monitor ] && mon=$p && return 0
	done
	return 1
}
# The command starts once every worker said READY: stopping the monitor any
# earlier would stall its handshake, and the loader gives up on it (125).
wait_until 30 test -e "$W/started"
wait_until 10 find_monitor
check "the monitor runs (pid $mon)" test -n "$mon"
# The 4 MiB ring holds about 47,000 events: 240,000 overflow it.
[ -n "$mon" ] && kill -STOP "$mon"
touch "$W/go"
wait_until 60 test -e "$W/done"
[ -n "$mon" ] && kill -CONT "$mon"
check "a RingBufferFull line comes while the command still runs" \
	wait_until 30 grep -q '"because":"RingBufferFull"' "$T/ev.json"
touch "$W/end"
wait "$LPID"
expect_eq "with --allow-event-loss the run keeps the command's status" 0 $?
sed 's/^/17(b) loader stderr: /' "$T/err2" >&2 # in the check's stderr log, for a failure
check "the log parses as JSON lines" jsonl "$T/ev.json"
ring=$(lost_sum "$T/ev.json" RingBufferFull)
check "EVENTS LOST counts the events the ring buffer refused ($ring)" test "$ring" -gt 0
expect_eq "its reason" "ring buffer full" \
	"$(ev_field '.because == "RingBufferFull"' reason "$T/ev.json")"
eperm=$(sed -n 's/.* eperm=\([0-9]*\)$/\1/p' "$T/out2" | awk '{ s += $1 } END { print s + 0 }')
expect_eq "the bursts were blocked" 240000 "$eperm"
expect_eq "every blocked sendto is a line or counted" "$eperm" \
	$(($(n_blocked "$T/ev.json") + ring))
check "the monitor's account at exit" \
	grep -q "events were lost: $ring the ring buffer was full, 0 not written" "$T/err2"

no_leftovers
finish
