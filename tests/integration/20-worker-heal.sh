#!/usr/bin/env bash
# Workers heal: a worker that dies is started again with the same sockets and
# maps, its traffic failing (never passing) meanwhile; every death and restart
# is an event; the monitor takes the proxies along; a crash loop backs off and
# then `run` ends with 125.
. "$(dirname "$0")/lib.sh"
fi_up

# worker NAME: the pid of the loader's worker NAME (cgfw-dnsproxy, ...).
worker() {
	local p
	for p in $(cat /proc/$LPID/task/*/children 2>/dev/null); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$1" ] && echo "$p" && return
	done
}
# respawned NAME OLDPID: bounded wait for a new NAME that answers.
respawned() {
	local i p
	for i in $(seq 1 100); do
		p=$(worker "$1")
		[ -n "$p" ] && [ "$p" != "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# The command resolves a name each time it is told to, printing the answer.
cat >"$W/loop.sh" <<EOF
echo \$\$ >$W/cmd.pid
i=0
while [ \$i -lt 3 ]; do
	while [ ! -e $W/go\$i ]; do sleep 0.05; done
	getent hosts example.com >$W/ans\$i 2>&1 || echo "failed \$?" >>$W/ans\$i
	$PROBE tcp 198.51.100.7 80 >$W/blk\$i
	i=\$((i + 1))
done
EOF
cgfw_bg run --user nobody --log-file "$T/ev.json" --allow-list example.com -- sh "$W/loop.sh" 2>"$T/err"
check "the command started" wait_file "$W/cmd.pid"
touch "$W/go0"
check "a lookup before anything dies" wait_file "$W/blk0"
expect_match "... is answered" "203.0.113.10" "$(cat "$W/ans0")"

dns=$(worker cgfw-dnsproxy)
kill -KILL "$dns"
check "the DNS proxy is started again" respawned cgfw-dnsproxy "$dns"
touch "$W/go1"
check "a lookup after it died" wait_file "$W/blk1"
expect_match "... is answered by the new one" "203.0.113.10" "$(cat "$W/ans1")"

mon=$(worker cgfw-monitor)
dns=$(worker cgfw-dnsproxy)
kill -KILL "$mon"
check "the monitor is started again" respawned cgfw-monitor "$mon"
check "... and the proxies with it" respawned cgfw-dnsproxy "$dns"
touch "$W/go2"
check "a lookup and a blocked connect after the monitor died" wait_file "$W/blk2"
expect_match "... the lookup is answered" "203.0.113.10" "$(cat "$W/ans2")"
wait "$LPID"
expect_eq "the run still exits with the command's status" 0 $?
events() { jq -c 'select(.msg == "'"$1"'") | .ruleSourceComment' "$T/ev.json"; }
expect_match "WORKER DIED for the DNS proxy" "cgfw-dnsproxy died \\(KilledBySignal9\\)" "$(events "WORKER DIED")"
expect_match "WORKER DIED for the monitor, written by the next one" "cgfw-monitor died \\(KilledBySignal9\\)" \
	"$(events "WORKER DIED")"
expect_eq "a WORKER RESTARTED for each" 2 "$(events "WORKER RESTARTED" | wc -l)"
expect_eq "the blocked connect after the monitor's restart is on record" \
	"$(sed 's/^pid=\([0-9]*\).*/\1/' "$W/blk2")" \
	"$(jq -r 'select(.blocked and .ip == "198.51.100.7") | .pid' "$T/ev.json" | tail -n 1)"
check "the log is JSON lines throughout" sh -c "jq -e -s 'length > 0' '$T/ev.json' >/dev/null"

# A crash loop: the DNS proxy killed each time it comes back.  cgfw backs off,
# then gives up: the command is stopped and run exits 125.
rm -f "$W/cmd.pid"
cgfw_bg run --user nobody --log-file "$T/ev2.json" --allow-list example.com -- \
	sh -c 'echo $$ >'"$W"'/cmd.pid; exec sleep 60' 2>"$T/err2"
check "the command started" wait_file "$W/cmd.pid"
for n in $(seq 1 30); do
	kill -0 "$LPID" 2>/dev/null || break
	p=$(worker cgfw-dnsproxy)
	[ -n "$p" ] && kill -KILL "$p"
	sleep 0.1
done
wait "$LPID"
expect_eq "a crash loop ends the run with 125" 125 $?
check "... and the command with it" test ! -d "/proc/$(cat "$W/cmd.pid")"
expect_match "... saying why" "died too often" "$(cat "$T/err2")"

no_leftovers
finish
