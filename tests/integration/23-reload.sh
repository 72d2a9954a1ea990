#!/usr/bin/env bash
# Reload: SIGHUP to attach reads the config file again and swaps the policy
# atomically.  New connects and DNS follow the new rules at once; learned
# addresses the new policy still allows stay, the others go; an open
# connection to a server still allowed keeps working, one to a server now
# blocked stops; a broken config keeps the policy in force, on stderr
# (FILE:LINE) and as a RELOAD FAILED event, and the loader runs on.  Under
# run, SIGHUP is the command's.
. "$(dirname "$0")/lib.sh"
fi_up

mnt=$(cgroup2_mnt)
CG=$mnt/cgfw-test-reload-$$
mkdir "$CG"
CLEANUPS+=("rmdir '$CG'")

# in_cg CMD...: run CMD inside $CG, in the client netns, as nobody.
in_cg() {
	in_client sh -c 'echo $$ > "$0/cgroup.procs" &&
		exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"' "$CG" "$@"
}

# Open connections to the echo port 7 of each address, one exchange each,
# "ready"; then wait for $W/go and exchange again (2 s for the answer).
cat >"$T/hold.py" <<'EOF'
import os, socket, sys, time
out, go, addrs = sys.argv[1], sys.argv[2], sys.argv[3:]
def echo(s):
    s.sendall(b"ping\n")
    return "ok" if s.recv(16) == b"ping\n" else "bad"
def res(fn):
    try:
        return fn()
    except socket.timeout:
        return "TIMEOUT"
    except OSError as e:
        return e.__class__.__name__
conns, lines = [], []
for a in addrs:
    s = socket.create_connection((a, 7), timeout=2)
    conns.append(s)
    lines.append("%s before=%s" % (a, res(lambda: echo(s))))
with open(out, "w") as f:
    f.write("ready\n")
while not os.path.exists(go):
    time.sleep(0.05)
for i, s in enumerate(conns):
    lines[i] += " after=%s" % res(lambda: echo(s))
with open(out + ".tmp", "w") as f:
    f.write("\n".join(lines) + "\n")
os.rename(out + ".tmp", out + ".done")
EOF
chmod 644 "$T/hold.py"

# resolve NAME: the answer's status and addresses, as dig in the cgroup gets them.
resolve() {
	in_cg dig +time=3 +tries=1 "$1" 2>&1 | awk '/status:/ { sub(",", "", $6); s = $6 }
		/^[^;].*\tIN\tA\t/ { a = a " " $5 } END { print s a }'
}

# wait_event MSG [N]: until the N-th event with that msg is in the log.
wait_event() {
	local i
	for i in $(seq 1 200); do
		[ "$(jq -s --arg m "$1" '[.[] | select(.msg == $m)] | length' "$T/ev.json" 2>/dev/null)" \
			-ge "${2:-1}" ] && return 0
		sleep 0.05
	done
	return 1
}

cat >"$T/cgfw.conf" <<EOF
[cgfw]
allow-list = 203.0.113.10, 198.51.100.7, google.com, notgoogle.com
EOF
chmod 600 "$T/cgfw.conf"
cgfw_bg --config "$T/cgfw.conf" attach --log-file "$T/ev.json" --cgroup "$CG" 2>"$T/err"
for i in $(seq 1 200); do grep -q "enforcing on" "$T/err" && break; sleep 0.05; done
expect_match "attach says SIGHUP reloads" "reload with SIGHUP" "$(cat "$T/err")"

expect_match "before: 198.51.100.7 (listed) connects" "result=ok" "$(in_cg $PROBE tcp 198.51.100.7 80)"
expect_match "before: 198.51.100.8 (not listed) is refused" "result=EPERM" \
	"$(in_cg $PROBE tcp 198.51.100.8 80)"
expect_eq "before: google.com resolves" "NOERROR 198.51.100.20" "$(resolve google.com)"
expect_eq "before: notgoogle.com resolves" "NOERROR 198.51.100.21" "$(resolve notgoogle.com)"
expect_eq "before: blocked.test is refused" "REFUSED" "$(resolve blocked.test)"
expect_match "before: notgoogle.com's learned address connects" "result=ok" \
	"$(in_cg $PROBE tcp 198.51.100.21 80)"

# Long-lived connections: one to a server the new policy keeps (by IP), one
# to a learned address it keeps (google.com stays), one to a server it blocks.
in_cg /usr/bin/python3 "$T/hold.py" "$W/hold" "$W/go" 203.0.113.10 198.51.100.20 198.51.100.7 \
	>"$T/hold.log" 2>&1 &
HPID=$!
PIDS+=("$HPID")
wait_file "$W/hold"
expect_eq "three connections are open" ready "$(cat "$W/hold" 2>/dev/null)"

# The new policy: 198.51.100.7 and notgoogle.com out, 198.51.100.8 and blocked.test in.
cat >"$T/cgfw.conf" <<EOF
[cgfw]
allow-list = 203.0.113.10, 198.51.100.8, google.com, blocked.test
EOF
kill -HUP "$LPID"
check "the reload is on record: POLICY RELOADED" wait_event "POLICY RELOADED"
check "the loader runs on" kill -0 "$LPID"
expect_eq "... at level INFO, with its rule counts" \
	"INFO generation 1: allow-list mode, 2 IP, 0 CIDR, 2 name and 0 URL rule(s)" \
	"$(jq -r 'select(.msg == "POLICY RELOADED") | .level + " " + .ruleSourceComment' "$T/ev.json")"
expect_match "stderr says so" "policy reloaded: generation 1" "$(cat "$T/err")"
expect_match "... and how many learned addresses stayed" "1 learned address kept, 1 dropped" \
	"$(cat "$T/err")"

touch "$W/go"
wait_file "$W/hold.done"
held=$(cat "$W/hold.done" 2>/dev/null)
expect_match "the open connection to a server still allowed keeps working" \
	"203.0.113.10 before=ok after=ok" "$held"
expect_match "the open connection to a learned address still allowed keeps working" \
	"198.51.100.20 before=ok after=ok" "$held"
expect_match "the open connection to a server now blocked stops" \
	"198.51.100.7 before=ok after=TIMEOUT" "$held"
expect_match "after: 198.51.100.7 is refused" "result=EPERM" "$(in_cg $PROBE tcp 198.51.100.7 80)"
expect_match "after: 198.51.100.8 connects" "result=ok" "$(in_cg $PROBE tcp 198.51.100.8 80)"
expect_match "after: google.com's learned address still connects, without a new query" \
	"result=ok" "$(in_cg $PROBE tcp 198.51.100.20 80)"
expect_match "after: notgoogle.com's learned address is refused" "result=EPERM" \
	"$(in_cg $PROBE tcp 198.51.100.21 80)"
expect_eq "after: notgoogle.com is refused" "REFUSED" "$(resolve notgoogle.com)"
expect_eq "after: blocked.test resolves" "NOERROR 198.51.100.9" "$(resolve blocked.test)"
expect_match "... and its address connects" "result=ok" "$(in_cg $PROBE tcp 198.51.100.9 80)"
expect_match "the new block names its rule's reason" "IPNotAllowed" \
	"$(jq -r 'select(.msg == "PACKET BLOCKED" and .ip == "198.51.100.7") | .because' "$T/ev.json")"

# A broken config: the policy in force stays, and says why.
cat >"$T/cgfw.conf" <<EOF
[cgfw]
allow-list = 198.51.100.7
bogus-key = 1
EOF
kill -HUP "$LPID"
check "a broken config: RELOAD FAILED is on record" wait_event "RELOAD FAILED"
check "... the loader runs on" kill -0 "$LPID"
expect_match "... stderr names the file and line, as at start" \
	"$T/cgfw.conf: bogus-key: unknown key \(line 3\)" "$(cat "$T/err")"
expect_match "... so does the event" "cgfw.conf: bogus-key: unknown key \(line 3\)" \
	"$(ev_field '.msg == "RELOAD FAILED"' ruleSourceComment)"
expect_match "... the policy in force stays: 198.51.100.7 refused" "result=EPERM" \
	"$(in_cg $PROBE tcp 198.51.100.7 80)"
expect_match "... 198.51.100.8 connects" "result=ok" "$(in_cg $PROBE tcp 198.51.100.8 80)"
expect_eq "... blocked.test resolves" "NOERROR 198.51.100.9" "$(resolve blocked.test)"

# A list file that cannot be read fails the same way.
cat >"$T/cgfw.conf" <<EOF
[cgfw]
allow-list-file = $T/missing.txt
EOF
kill -HUP "$LPID"
check "a missing list file: RELOAD FAILED again" wait_event "RELOAD FAILED" 2
expect_match "... naming the file" "missing.txt" \
	"$(jq -r 'select(.msg == "RELOAD FAILED") | .ruleSourceComment' "$T/ev.json" | tail -n 1)"
expect_match "... the policy in force stays" "result=ok" "$(in_cg $PROBE tcp 198.51.100.8 80)"

# A good one again, into block-list mode: the mode changes with it.
cat >"$T/cgfw.conf" <<EOF
[cgfw]
block-list = 198.51.100.8
EOF
kill -HUP "$LPID"
check "block-list mode by reload" wait_event "POLICY RELOADED" 2
expect_match "... 198.51.100.8 is refused" "result=EPERM" "$(in_cg $PROBE tcp 198.51.100.8 80)"
expect_match "... 198.51.100.7 connects" "result=ok" "$(in_cg $PROBE tcp 198.51.100.7 80)"

kill -TERM "$LPID"
wait "$LPID"
expect_status "attach exits 0 on SIGTERM after reloads" 0 $? "$T/err"
check "the events are valid JSON" quiet events
check "no record the monitor could not read" sh -c '! grep -qi malformed "$0"' "$T/err"

# run: SIGHUP is the command's (forwarded, like SIGINT and SIGTERM), not a reload.
cgfw_bg run --user nobody --allow-list 203.0.113.10 -- \
	sh -c 'trap "echo hup >$0/hup; exit 3" HUP; echo up >$0/up; while :; do sleep 0.1; done' "$W" \
	2>"$T/err-run"
wait_file "$W/up"
kill -HUP "$LPID"
wait "$LPID"
expect_status "run: SIGHUP goes to the command, whose status run exits with" 3 $? "$T/err-run"
expect_eq "... which got it" hup "$(cat "$W/hup" 2>/dev/null)"

if [ "$N_FAIL" -gt 0 ]; then
	sed 's/^/#   hold: /' "$T/hold.log" 2>/dev/null
	grep -v ' BLOCKED \| ALLOWED ' "$T/err" | tail -n 40 | sed 's/^/#   /'
fi
no_leftovers
finish
