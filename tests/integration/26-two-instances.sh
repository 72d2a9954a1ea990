#!/usr/bin/env bash
# Two instances at once share nothing by accident: two `attach` instances on
# two cgroups, with opposite policies (what A allows B blocks, for IPs, DNS
# names and URLs), started at the same moment with one state directory (one
# CA, made once).  Each cgroup gets its own policy only; proxies, pins and
# instance directories differ; `status` lists both (as root, and as a plain
# user of the cgfw-log group; anyone else is refused); stopping one leaves
# the other enforcing with everything of its own in place.
. "$(dirname "$0")/lib.sh"
fi_up

# The group that may read the instances' status; made for the test if missing
# (before the loaders start: they give their directories to it).
if ! getent group cgfw-log >/dev/null; then
	groupadd --system cgfw-log || { not_ok "cannot create the group cgfw-log"; finish; }
	CLEANUPS+=("groupdel cgfw-log")
fi
LOG_GID=$(getent group cgfw-log | cut -d: -f3)

mnt=$(cgroup2_mnt)
CA=$mnt/cgfw-test-two-a-$$
CB=$mnt/cgfw-test-two-b-$$
mkdir "$CA" "$CB"
CLEANUPS+=("rmdir '$CA' '$CB'")
NA=t26a-$$
NB=t26b-$$

# in_cg CG CMD...: run CMD inside CG, in the client netns, as nobody.
in_cg() {
	local cg=$1
	shift
	in_client sh -c 'echo $$ > "$0/cgroup.procs" &&
		exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"' "$cg" "$@"
}

code() { in_cg "$1" curl -s -o /dev/null -w '%{http_code}' -m 5 "$2"; }

# A: allow-list, from a config file (its name, target and state-dir keys too).
cat >"$T/a.conf" <<EOT
[cgfw]
name = $NA
cgroup = $CA
state-dir = $T/state
allow-list = 203.0.113.10, example.com, http://google.com/a
EOT
# B: block-list, the same things blocked, on the command line; same state dir.
cgfw_bg --config "$T/a.conf" attach --log-file "$T/eva.json" 2>"$T/erra"
LA=$LPID
cgfw_bg attach --name "$NB" --cgroup "$CB" --state-dir "$T/state" --log-file "$T/evb.json" \
	--block-list 203.0.113.10,example.com,http://google.com/a 2>"$T/errb"
LB=$LPID
for i in $(seq 1 200); do
	grep -q "enforcing on" "$T/erra" && grep -q "enforcing on" "$T/errb" && break
	sleep 0.05
done
expect_match "instance A starts" "instance $NA enforcing on $CA" "$(cat "$T/erra")"
expect_match "instance B starts at the same time" "instance $NB enforcing on $CB" "$(cat "$T/errb")"
expect_eq "... and the CA they share was made once, whole" 1 \
	"$(cat "$T/erra" "$T/errb" | grep -c 'created the CA')"

# Each cgroup gets its own policy only.
expect_match "IP: A allows 203.0.113.10" "result=ok" "$(in_cg "$CA" $PROBE tcp 203.0.113.10 80)"
expect_match "IP: B blocks it" "result=EPERM" "$(in_cg "$CB" $PROBE tcp 203.0.113.10 80)"
expect_match "IP: A blocks 198.51.100.7" "result=EPERM" "$(in_cg "$CA" $PROBE tcp 198.51.100.7 80)"
# B is in block-list mode with name rules: an address no DNS answer gave it
# could be a blocked name's, so B refuses it too (docs/policy.md); a name B
# does not block works.
expect_match "IP: B refuses it as well (unresolved)" "result=EPERM" "$(in_cg "$CB" $PROBE tcp 198.51.100.7 80)"
expect_eq "B reaches what it resolved (notgoogle.com), A does not" "hello from 198.51.100.21 000" \
	"$(in_cg "$CB" curl -s -m 5 http://notgoogle.com/) $(code "$CA" http://notgoogle.com/)"
expect_match "DNS: A answers example.com" "203\.0\.113\.10" \
	"$(in_cg "$CA" dig +short +time=3 +tries=1 example.com)"
expect_match "DNS: B refuses it" "status: REFUSED" "$(in_cg "$CB" dig +time=3 +tries=1 example.com)"
expect_match "DNS: A refuses notgoogle.com" "status: REFUSED" \
	"$(in_cg "$CA" dig +time=3 +tries=1 notgoogle.com)"
expect_match "DNS: B answers it" "198\.51\.100\.21" \
	"$(in_cg "$CB" dig +short +time=3 +tries=1 notgoogle.com)"
# B resolved notgoogle.com; A did not: its address is not learned in A.
expect_match "... and what B's DNS admitted is not admitted in A" "result=EPERM" \
	"$(in_cg "$CA" $PROBE tcp 198.51.100.21 80)"
expect_eq "URL: A allows http://google.com/a" 200 "$(code "$CA" http://google.com/a)"
expect_eq "URL: B blocks it" 403 "$(code "$CB" http://google.com/a)"
expect_eq "URL: A blocks http://google.com/b" 403 "$(code "$CA" http://google.com/b)"
expect_eq "URL: B allows it" 200 "$(code "$CB" http://google.com/b)"

# Nothing of one is the other's: proxy ports, pins, instance directories.
# worker_port LOADER-PID COMM: the TCP port its worker COMM listens on.
worker_port() {
	local p c
	for p in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$2" ] || continue
		nsenter --net="/run/netns/$NS_C" ss -Htlnp |
			awk -v p="pid=$p," 'index($0, p) { n = split($4, a, ":"); print a[n]; exit }'
	done
}
for w in cgfw-dnsproxy cgfw-httpproxy; do
	pa=$(worker_port "$LA" "$w")
	pb=$(worker_port "$LB" "$w")
	check "$w: A and B listen on ports of their own ($pa, $pb)" \
		test -n "$pa" -a -n "$pb" -a "$pa" != "$pb"
done
IA=$(stat -c %i "$CA")
IB=$(stat -c %i "$CB")
check "the pins of each are in a directory of its own" \
	test -d "/sys/fs/bpf/cgfw/$IA" -a -d "/sys/fs/bpf/cgfw/$IB" -a "$IA" != "$IB"
check "so are their instance directories" \
	test -f "/run/cgfw/instances/$NA/status" -a -f "/run/cgfw/instances/$NB/status"
ua=$(awk '/^Uid:/ { print $2 }' "/proc/$(cat "/run/cgfw/instances/$NA/lock")/status")
expect_eq "... 0750 (setgid) and the status file 0640, the loader's own uid's and cgfw-log's" \
	"2750 $ua cgfw-log 640 $ua cgfw-log" \
	"$(stat -c '%a %u %G' "/run/cgfw/instances/$NA" "/run/cgfw/instances/$NA/status" | tr '\n' ' ' | sed 's/ $//')"
ub=$(awk '/^Uid:/ { print $2 }' "/proc/$(cat "/run/cgfw/instances/$NB/lock")/status")
check "each loader runs as a reserved uid of its own ($ua, $ub)" \
	test "$ua" != "$ub" -a "$ua" -ge $((0x7cf00000)) -a "$ub" -ge $((0x7cf00000))
# Reserved uids are held by lock files: cleanup removes only those nobody holds.
check "A's and B's uid lock files exist" test -f "/run/cgfw/uid/$ua" -a -f "/run/cgfw/uid/$ub"
spare=$((0x7cf0fff0))
: >"/run/cgfw/uid/$spare"
out=$("$LOADER" cleanup 2>&1)
check "cleanup removes a lock file nobody holds" test ! -e "/run/cgfw/uid/$spare"
expect_match "... and says so" "removed [0-9]+ unused uid lock" "$out"
check "... and keeps A's and B's (held)" test -f "/run/cgfw/uid/$ua" -a -f "/run/cgfw/uid/$ub"

# status: both, with their names, cgroups and counters (written every 2 s).
# The DNS and HTTP counts come from each monitor's PROGRESS (every 2 s).
seen() {
	echo "$j" | jq -s -e "map(select(.name == \"$1\"))[0].counters | .dnsBlocked >= 1 and
		.httpBlocked >= 1 and .connectBlocked >= 1 and .events >= 3" >/dev/null 2>&1
}
for i in $(seq 1 50); do
	j=$("$LOADER" status --json 2>"$T/st.err")
	seen "$NA" && seen "$NB" && break
	sleep 0.2
done
if seen "$NA" && seen "$NB"; then
	ok "status --json: each counted its own blocked calls, queries, requests and events"
else
	not_ok "status --json: the counters of each: $j"
fi
expect_eq "status --json (root): A's cgroup and mode" "$CA allow-list enforcing" \
	"$(echo "$j" | jq -r "select(.name == \"$NA\") | \"\(.cgroup) \(.mode) \(.state)\"")"
expect_eq "... B's" "$CB block-list enforcing" \
	"$(echo "$j" | jq -r "select(.name == \"$NB\") | \"\(.cgroup) \(.mode) \(.state)\"")"
expect_eq "... A's pid and rules (3: 1 IP, 1 URL)" "$LA 3 1 1" \
	"$(echo "$j" | jq -r "select(.name == \"$NA\") | \"\(.pid) \(.rules.total) \(.rules.ip) \(.rules.url)\"")"
expect_eq "... each counted the connections it blocked (2 each)" "2 2" \
	"$(echo "$j" | jq -r "select(.name == \"$NA\") | .counters.connectBlocked") $(echo "$j" | jq -r "select(.name == \"$NB\") | .counters.connectBlocked")"
expect_eq "... every worker up" "up up up" \
	"$(echo "$j" | jq -r "select(.name == \"$NB\") | [.workers[].state] | join(\" \")")"
out=$("$LOADER" status 2>&1)
expect_match "status (root) for people: A" "^$NA: enforcing on $CA: allow-list mode, 3 rules; [1-9][0-9]* blocked; workers up" "$out"
expect_match "... B" "^$NB: enforcing on $CB: block-list mode, 3 rules; [1-9][0-9]* blocked; workers up" "$out"
expect_match "... with its cgroup id" "cgroup $CB \(id $IB\)" "$out"
# only WHAT NOT TEXT: TEXT has a line for instance WHAT and none for NOT.
only() {
	if echo "$4" | grep -q "^$2: " && ! echo "$4" | grep -q "^$3: "; then ok "$1"; else
		not_ok "$1: $(echo "$4" | head -3)"; fi
}
only "status NAME: that one only" "$NB" "$NA" "$("$LOADER" status "$NB" 2>&1)"

# As a plain user in the cgfw-log group: the same; outside it: refused.
j=$(setpriv --reuid=65534 --regid=65534 --groups="$LOG_GID" "$LOADER" status --json 2>"$T/st.err")
expect_status "status --json as a plain user in cgfw-log" 0 $? "$T/st.err"
expect_eq "... lists both, by name and cgroup" "$NA $CA $NB $CB" \
	"$(echo "$j" | jq -r "select(.name == \"$NA\" or .name == \"$NB\") | \"\(.name) \(.cgroup)\"" | sort | tr '\n' ' ' | sed 's/ $//')"
out=$(setpriv --reuid=65534 --regid=65534 --groups="$LOG_GID" "$LOADER" status 2>&1)
expect_match "... and for people" "^$NB: enforcing on $CB: block-list mode" "$out"
# The last events come from the instance's event socket, as events --last 5 gives them.
expect_eq "status --json: the last 5 events of each, as the event socket gives them" \
	"$(setpriv --reuid=65534 --regid=65534 --groups="$LOG_GID" "$LOADER" events "$NA" --last 5 | jq -c .)" \
	"$(echo "$j" | jq -c "select(.name == \"$NA\") | .lastEvents[]")"
expect_match "status for people shows them too" '^    [{].*"blocked":true' \
	"$(echo "$out" | sed -n "/^$NB:/,\$p" | sed -n '/^  last events:$/,$p')"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$LOADER" status 2>&1)
expect_eq "a user outside cgfw-log is refused" 125 "$?"
expect_match "... clearly" "cannot read the status of .*root or membership in the cgfw-log group" "$out"

# STATUS= and status say the same: one function (status.c) makes both lines.
for n in "$NA" "$NB"; do
	check "status file of $n has the keys of docs/status.md" \
		grep -q '^rules_url=1$' "/run/cgfw/instances/$n/status"
done

# Stopping A leaves B enforcing, with its directories.
kill -TERM "$LA"
wait "$LA"
expect_status "A stops (exit 0)" 0 $? "$T/erra"
check "A's pins and instance directory are gone" \
	test ! -e "/sys/fs/bpf/cgfw/$IA" -a ! -e "/run/cgfw/instances/$NA"
check "... and so is its uid lock file" test ! -e "/run/cgfw/uid/$ua"
check "B's are in place" test -d "/sys/fs/bpf/cgfw/$IB" -a -f "/run/cgfw/instances/$NB/status"
expect_match "B still blocks its IP" "result=EPERM" "$(in_cg "$CB" $PROBE tcp 203.0.113.10 80)"
expect_match "... its name" "status: REFUSED" "$(in_cg "$CB" dig +time=3 +tries=1 example.com)"
expect_eq "... and its URL" 403 "$(code "$CB" http://google.com/a)"
expect_match "... A's cgroup is unfiltered again" "result=ok" "$(in_cg "$CA" $PROBE tcp 198.51.100.7 80)"
only "status lists B, not A" "$NB" "$NA" "$("$LOADER" status 2>&1)"
kill -TERM "$LB"
wait "$LB"
expect_status "B stops (exit 0)" 0 $? "$T/errb"
expect_eq "the CA made once is the one both used" 1 "$(ls "$T/state"/ca.pem | wc -l)"

no_leftovers
finish
