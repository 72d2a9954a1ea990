#!/usr/bin/env bash
# The event socket (docs/events.md): /run/cgfw/instances/NAME/events.sock.
# Two readers at once (`cgfw-loader events NAME --follow` and a raw socket
# client) get every line live, the same bytes as the log file; a third that
# never reads is cut off and counted (READER DROPPED) while the others, the
# log and enforcement go on; a plain user in the cgfw-log group may read, one
# outside it is told why not; bad requests are cut off.
. "$(dirname "$0")/lib.sh"
fi_up

# The group that may read events; made for the test when the machine has none
# (before the loader starts: it gives the socket that group).
if ! getent group cgfw-log >/dev/null; then
	groupadd --system cgfw-log || { not_ok "cannot create group cgfw-log"; finish; }
	CLEANUPS+=("groupdel cgfw-log")
fi
LOGGID=$(getent group cgfw-log | cut -d: -f3)

cat >"$T/reader.py" <<'EOF'
# reader.py MODE SOCKET [OUT]: a raw client of the event socket.
#   follow OUT  ask "follow", copy what comes to OUT until EOF
#   slow OUT    ask "follow", never read (touch OUT once asked)
#   bad         send a bad request: print "eof" if the monitor closes at once
#   many N      open N connections at once: print how many were closed at once
import os, socket, sys, time
mode, path = sys.argv[1], sys.argv[2]
if mode == "many":
    socks = []
    for _ in range(int(sys.argv[3])):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        socks.append(s)
    time.sleep(1)
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            closed += s.recv(1) == b""
        except BlockingIOError:
            pass
    print(closed)
    sys.exit(0)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
if mode == "slow":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
s.connect(path)
if mode == "bad":
    s.sendall(b"bogus\n")
    s.settimeout(2)
    print("eof" if s.recv(100) == b"" else "data")
    sys.exit(0)
s.sendall(b"follow\n")
if mode == "slow":
    open(sys.argv[3], "w").close()
    time.sleep(600)
with open(sys.argv[3], "wb") as out:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out.write(b)
        out.flush()
EOF

NAME=stream-$$
SOCK=/run/cgfw/instances/$NAME/events.sock
# Ten bursts of 500 blocked sendto()s: 5,000 events, ~3 MB of JSON, in steps a
# reader that reads keeps up with; the one that never reads falls 1 MiB behind.
cgfw_bg run --user nobody --name "$NAME" --log-file "$T/ev.json" --allow-list 203.0.113.10 -- sh -c "
	while [ ! -e $W/go ]; do sleep 0.05; done
	for i in 1 2 3 4 5 6 7 8 9 10; do $PROBE udp-burst 198.51.100.7 9 500; sleep 0.3; done
	touch $W/done
	while [ ! -e $W/end ]; do sleep 0.05; done" >"$T/out" 2>"$T/err"
check "the instance has its event socket" wait_until 30 test -S "$SOCK"
expect_eq "... root:cgfw-log, 0660" "0:$LOGGID 660" "$(stat -c '%u:%g %a' "$SOCK" 2>/dev/null)"

"$LOADER" events "$NAME" --follow >"$T/r1.json" 2>"$T/r1.err" &
R1=$!
PIDS+=("$R1")
python3 "$T/reader.py" follow "$SOCK" "$T/r2.json" &
R2=$!
PIDS+=("$R2")
python3 "$T/reader.py" slow "$SOCK" "$T/slow.asked" &
R3=$!
PIDS+=("$R3")
wait_until 10 test -e "$T/slow.asked"
sleep 0.5 # each reader's request is in
# The loader executed cgfw-ctl for it, which kept no capability (it runs as root here).
expect_eq "cgfw-loader events is cgfw-ctl, with no capability at all (root, cgfw-log)" \
	"cgfw-ctl 0000000000000000 0000000000000000 0000000000000000 $LOGGID" \
	"$(printf '%s %s %s %s %s' "$(cat /proc/$R1/comm)" \
		"$(awk '$1 == "CapEff:" { print $2 }' /proc/$R1/status)" \
		"$(awk '$1 == "CapPrm:" { print $2 }' /proc/$R1/status)" \
		"$(awk '$1 == "CapBnd:" { print $2 }' /proc/$R1/status)" \
		"$(awk '$1 == "Groups:" { print $2 }' /proc/$R1/status)")"
touch "$W/go"
check "the command's bursts ran" wait_until 90 test -e "$W/done"
sleep 1
expect_eq "enforcement went on: every sendto was refused" 5000 \
	"$(sed -n 's/.* eperm=\([0-9]*\)$/\1/p' "$T/out" | awk '{ s += $1 } END { print s + 0 }')"
expect_eq "the log file has every event" 5000 \
	"$(jq -s '[.[] | select(.msg == "PACKET BLOCKED")] | length' "$T/ev.json")"
check "the reader that never read was cut off: READER DROPPED in the log" \
	quiet jq -s -e 'any(.[]; .msg == "READER DROPPED" and .because == "ReaderTooSlow" and .count == 1)' "$T/ev.json"
expect_match "... saying who" "reader \\(uid 0, pid $R3\\) fell 1024 KiB behind" \
	"$(ev_field '.msg == "READER DROPPED"' reason "$T/ev.json")"

# `events --last N` while it runs: the last N lines it kept, then the end.
last=$("$LOADER" events "$NAME" --last 3 2>"$T/last.err")
expect_status "events --last 3 exits 0" 0 $? "$T/last.err"
expect_eq "... with the last 3 lines of the log" "$(tail -n 3 "$T/ev.json")" "$last"

# A plain user: in group cgfw-log it may read; outside it, it is told why not.
out=$(setpriv --reuid=65534 --regid=65534 --groups="$LOGGID" "$LOADER" events "$NAME" --last 1 2>"$T/user.err")
expect_status "a user in cgfw-log reads the events" 0 $? "$T/user.err"
expect_eq "... the last line" "$(tail -n 1 "$T/ev.json")" "$out"
setpriv --reuid=65534 --regid=65534 --clear-groups "$LOADER" events "$NAME" --last 1 >/dev/null 2>"$T/user2.err"
expect_eq "a user outside cgfw-log cannot" 1 $?
expect_match "... told the socket and the group to join" \
	"$SOCK: Permission denied; reading events takes the group cgfw-log" "$(cat "$T/user2.err")"

# Bad requests and too many readers are cut off at once; events refuses what is not there.
expect_eq "a bad request: the monitor closes the connection" eof "$(python3 "$T/reader.py" bad "$SOCK")"
closed=$(python3 "$T/reader.py" many "$SOCK" 70)
check "more than 64 readers at once: the rest are refused ($closed of 70 closed)" test "${closed:-0}" -ge 6
"$LOADER" events "nosuch-$$" >/dev/null 2>"$T/nosuch.err"
expect_eq "events for no such instance exits 1" 1 $?
expect_match "... naming it and the ones running" "no instance nosuch-$$ .*running: .*$NAME" "$(cat "$T/nosuch.err")"

kill "$R3" 2>/dev/null
touch "$W/end"
wait "$LPID"
expect_status "the run exits 0" 0 $? "$T/err"
wait "$R1"
expect_eq "events --follow exits 0 when the instance stops" 0 $?
expect_match "... and says so" "instance $NAME stopped" "$(cat "$T/r1.err")"
wait "$R2"
check "cgfw-loader events --follow got the same bytes as the log file" cmp -s "$T/ev.json" "$T/r1.json"
check "the raw reader got the same bytes as the log file" cmp -s "$T/ev.json" "$T/r2.json"
expect_eq "... every event" 5000 "$(jq -s '[.[] | select(.msg == "PACKET BLOCKED")] | length' "$T/r2.json")"
check "the readers saw the READER DROPPED line" grep -q '"msg":"READER DROPPED"' "$T/r1.json"
expect_match "the loader reports the cut-off and refused readers" \
	"event socket: 1 readers cut off for falling behind, [0-9]+ refused" "$(cat "$T/err")"
check "the socket is gone with the instance" test ! -e "$SOCK"

no_leftovers
finish
