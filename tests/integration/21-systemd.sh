#!/usr/bin/env bash
# Per-service isolation under systemd, for real: a Debian 12 rootfs (built
# once and cached, tests/tools/nspawn-rootfs.sh) booted with systemd-nspawn
# inside the fake internet's client namespace, cgfw installed into it with
# `make install`, and a service protected by one line of its instance config
# (protect = web.service; cgfw-generator writes the slice and the drop-in).
# Shown: the service's first packet (ExecStartPre=) is filtered, allowed
# traffic works, it is still filtered after `systemctl restart`, `systemctl
# reload cgfw@web` swaps its policy (a broken config keeps it), another unit
# is not, stopping cgfw@web stops the service, and the events are in the
# journal of cgfw@web as structured entries, and on its event socket.  The booted tree is an overlay: the cache stays clean.
. "$(dirname "$0")/lib.sh"
require_root
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn missing (make deps: systemd-container)"
command -v debootstrap >/dev/null || skip "debootstrap missing (make deps)"

# The keys the generator reads are the loader's too, checked as strictly.
E=$(mktemp -d /tmp/cgfw-test.XXXXXX)
printf '[cgfw]\nallow-list = 203.0.113.10\nprotect = web.service x.socket\n' >"$E/bad.conf"
out=$("$LOADER" --config "$E/bad.conf" attach --unit cgfw-bad.slice 2>&1)
expect_match "protect = a non-service is a config error with its line" \
	'bad.conf: protect: "x.socket" is not a service name .*line 3' "$out"
out=$("$LOADER" attach --unit '-x.service' --allow-list 203.0.113.10 2>&1)
expect_match "--unit refuses what is not a unit name" 'is not a unit name' "$out"
# Two instance configs protecting one service: neither policy, and the
# service cannot start (a unit it Requires= fails, naming both configs).
mkdir -p "$E/conf" "$E/out"
printf '[cgfw]\nprotect = web.service dup.service\n' >"$E/conf/a.conf"
printf '[cgfw]\nprotect = dup.service\n' >"$E/conf/b.conf"
CGFW_CONF_DIR=$E/conf CGFW_GENERATOR_STDERR=1 sh "$TOP/packaging/systemd/cgfw-generator" "$E/out" 2>"$E/gen.err"
expect_status "the generator with two configs protecting one service" 0 $? "$E/gen.err"
expect_match "... says so, naming both configs" "dup\.service is protected by more than one cgfw instance \($E/conf/a\.conf and $E/conf/b\.conf\)" \
	"$(cat "$E/gen.err")"
expect_match "... its drop-in requires the failing unit" "^Requires=cgfw-conflict-dup\.service" \
	"$(cat "$E/out/dup.service.d/50-cgfw.conf" 2>&1)"
check "... and puts it in no instance's slice" sh -c "! grep -q '^Slice=\|^Requires=cgfw@' '$E/out/dup.service.d/50-cgfw.conf'"
expect_match "... the other service of a.conf is protected as usual" "^Slice=cgfw-a\.slice" \
	"$(cat "$E/out/web.service.d/50-cgfw.conf" 2>&1)"
rm -rf "$E"

ROOTFS=$("$TOP/tests/tools/nspawn-rootfs.sh") || { not_ok "cannot build the nspawn rootfs"; exit 1; }
fi_up

NSPID=""
LEADER=""
CG2=""
CGSD=""
MACHINE=cgfw-test-$$
# Before lib.sh's cleanup: the container (its pid namespace dies with its
# init), then its cgroups and the overlay.
sd_cleanup() {
	local i
	if [ -n "$LEADER" ]; then kill -KILL "$LEADER" 2>/dev/null; fi
	if [ -n "$NSPID" ]; then
		for i in $(seq 1 50); do kill -0 "$NSPID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$NSPID" 2>/dev/null
		wait "$NSPID" 2>/dev/null
	fi
	# Whatever of the container is left (its init, whoever its init was).
	if [ -n "$CG2" ] && [ -e "$CG2/cgroup.kill" ]; then
		echo 1 >"$CG2/cgroup.kill"
		for i in $(seq 1 50); do
			[ -z "$(cat $(find "$CG2" -name cgroup.procs) 2>/dev/null)" ] && break
			sleep 0.1
		done
	fi
	for d in "$CG2" "$CGSD"; do
		[ -n "$d" ] && [ -d "$d" ] || continue
		find "$d" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null
		rmdir "$d" 2>/dev/null
	done
	mountpoint -q "$T/root" 2>/dev/null && umount -l "$T/root"
	cleanup
}
trap sd_cleanup EXIT

# The booted tree: an overlay of the cached rootfs.
mkdir -p "$T/up" "$T/work" "$T/root"
mount -t overlay overlay -o "lowerdir=$ROOTFS,upperdir=$T/up,workdir=$T/work" "$T/root" ||
	{ not_ok "cannot mount an overlay of $ROOTFS"; exit 1; }
R=$T/root
make -C "$TOP" --no-print-directory -s install DESTDIR="$R" PREFIX=/usr \
	${CGFW_SAN:+SAN=$CGFW_SAN} >"$T/install.log" 2>&1 ||
	{ not_ok "make install DESTDIR failed: $(tail -3 "$T/install.log")"; exit 1; }
ok "make install DESTDIR= installs the loader, units and generator"
systemd-sysusers --root="$R" >/dev/null 2>&1
echo "nameserver 203.0.113.53" >"$R/etc/resolv.conf"
echo "$MACHINE" >"$R/etc/hostname"

# The protected service and an unprotected one run the same probe: a blocked
# IP, an allowed IP, an allowed name (through cgfw's DNS proxy).  curl exits
# 7 when connect() is refused (EPERM), 0 when it got the page.
cat >"$R/usr/local/bin/web-probe" <<'EOT'
#!/bin/sh
curl -s -o /dev/null -m 5 http://198.51.100.7/; b=$?
curl -s -o /dev/null -m 5 http://203.0.113.10/; a=$?
curl -s -o /dev/null -m 5 http://example.com/; n=$?
echo "$1 blocked=$b allowed=$a name=$n" >>"/run/$2.log"
EOT
chmod 755 "$R/usr/local/bin/web-probe"
for u in web other; do
	cat >"$R/etc/systemd/system/$u.service" <<EOT
[Service]
ExecStartPre=-/usr/local/bin/web-probe pre $u
ExecStart=/bin/sh -c '/usr/local/bin/web-probe main $u; exec sleep infinity'
EOT
done
mkdir -p "$R/etc/cgfw"
cat >"$R/etc/cgfw/web.conf" <<'EOT'
# The one step: name the service; cgfw-generator does the rest.
[cgfw]
protect = web.service
allow-list = 203.0.113.10, example.com
EOT
# dup.service is protected by two instance configs: it must not start at all.
cat >"$R/etc/systemd/system/dup.service" <<'EOT'
[Service]
ExecStartPre=-/usr/local/bin/web-probe pre dup
ExecStart=/bin/sh -c '/usr/local/bin/web-probe main dup; exec sleep infinity'
EOT
printf '[cgfw]\nprotect = dup.service\nallow-list = 203.0.113.10\n' >"$R/etc/cgfw/dupa.conf"
printf '[cgfw]\nprotect = dup.service\nblock-list = 203.0.113.10\n' >"$R/etc/cgfw/dupb.conf"

# nspawn from cgroups of its own, in cgroup2 and in name=systemd (TESTING.md).
mnt=$(cgroup2_mnt)
CG2=$mnt/cgfw-test-nspawn-$$
mkdir "$CG2"
sdmnt=$(awk '$0 ~ / - cgroup / && $NF ~ /name=systemd/ { print $5; exit }' /proc/self/mountinfo)
if [ -n "$sdmnt" ]; then
	CGSD=$sdmnt/cgfw-test-nspawn-$$
	mkdir "$CGSD"
fi
(
	echo "$BASHPID" >"$CG2/cgroup.procs"
	[ -z "$CGSD" ] || echo "$BASHPID" >"$CGSD/cgroup.procs"
	exec env SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn -q -b -D "$R" \
		--machine="$MACHINE" --register=no --keep-unit --console=pipe \
		--network-namespace-path="/run/netns/$NS_C" --resolv-conf=off \
		--capability=CAP_BPF,CAP_PERFMON,CAP_NET_ADMIN \
		--system-call-filter='bpf perf_event_open'
) </dev/null >"$T/nspawn.log" 2>&1 &
NSPID=$!

# The container's init: among nspawn's children and grandchildren, the one
# that is pid 1 of a pid namespace of its own (nspawn's helpers in between
# come and go).
ct_init() {
	local c g
	for c in $(cat /proc/"$NSPID"/task/*/children 2>/dev/null); do
		for g in "$c" $(cat /proc/"$c"/task/*/children 2>/dev/null); do
			if [ "$(awk '/^NSpid:/ { print (NF > 2 ? $NF : "") }' /proc/"$g"/status 2>/dev/null)" = 1 ]; then
				echo "$g"
				return 0
			fi
		done
	done
	return 1
}
for i in $(seq 1 200); do
	LEADER=$(ct_init) && break
	sleep 0.05
done
[ -n "$LEADER" ] || { not_ok "systemd-nspawn did not start: $(tail -5 "$T/nspawn.log")"; exit 1; }

# in_ct CMD...: run CMD inside the container.
in_ct() {
	nsenter -t "$LEADER" -a -- "$@"
}
for i in $(seq 1 300); do
	in_ct test -S /run/systemd/private 2>/dev/null && break
	sleep 0.1
done
state=$(timeout 60 nsenter -t "$LEADER" -a -- systemctl is-system-running --wait 2>&1)
expect_match "the container boots (systemd under nspawn)" "^(running|degraded)" "$state"
[ "$state" = degraded ] && echo "# failed units: $(in_ct systemctl --failed --no-legend | head -5)"

# wait_log NAME N: until /run/NAME.log has N lines (bounded).
wait_log() {
	for i in $(seq 1 150); do
		[ "$(in_ct cat "/run/$1.log" 2>/dev/null | wc -l)" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

check "the generator wrote the drop-in" in_ct test -f /run/systemd/generator/web.service.d/50-cgfw.conf
expect_eq "web.service runs in cgfw-web.slice" cgfw-web.slice "$(in_ct systemctl show -P Slice web.service)"

in_ct systemctl start web.service 2>"$T/start.err"
expect_status "systemctl start web.service (cgfw@web starts first)" 0 $? "$T/start.err"
expect_eq "cgfw@web is active" active "$(in_ct systemctl is-active cgfw@web.service)"
wait_log web 2
log=$(in_ct cat /run/web.log 2>/dev/null)
expect_match "the first packet (ExecStartPre=) is already filtered" "^pre blocked=7 " "$log"
expect_match "allowed IP and allowed name work from the service" "main blocked=7 allowed=0 name=0" "$log"
st=$(in_ct systemctl show -P StatusText cgfw@web.service)
expect_match "systemctl status says what is enforced (STATUS=)" "^enforcing on cgfw-web.slice: allow-list mode, 2 rules" "$st"
# The counters in it are at most 2 s old.
for i in $(seq 1 40); do
	echo "$st" | grep -Eq '; [1-9][0-9]* blocked; ' && break
	sleep 0.1
	st=$(in_ct systemctl show -P StatusText cgfw@web.service)
done
expect_match "... how much it blocked, and that every worker is up" "; [1-9][0-9]* blocked; workers up$" "$st"
out=$(in_ct setpriv --reuid=65534 --regid=65534 --groups=cgfw-log /usr/sbin/cgfw-loader status web 2>&1)
expect_match "cgfw-loader status as a plain user of cgfw-log says the same" \
	"^web: enforcing on cgfw-web.slice: allow-list mode, 2 rules; [1-9][0-9]* blocked; workers up" "$out"
expect_match "... with the slice's cgroup" "cgroup /sys/fs/cgroup/(unified/)?cgfw.slice/cgfw-web.slice " "$out"
wd=$(in_ct systemctl show -P WatchdogTimestampMonotonic cgfw@web.service)
check "the watchdog is fed (WATCHDOG=1)" test -n "$wd" -a "$wd" != 0
lpid=$(in_ct systemctl show -P MainPID cgfw@web.service)

in_ct systemctl restart web.service 2>"$T/restart.err"
expect_status "systemctl restart web.service" 0 $? "$T/restart.err"
wait_log web 4
log=$(in_ct sed -n '3,$p' /run/web.log 2>/dev/null)
expect_match "after a restart (a new cgroup) ExecStartPre= is still filtered" "^pre blocked=7 " "$log"
expect_match "... and so is the service" "main blocked=7 allowed=0 name=0" "$log"
expect_eq "... by the same cgfw@web" "$lpid" "$(in_ct systemctl show -P MainPID cgfw@web.service)"

in_ct systemctl start dup.service 2>"$T/dup.err"
expect_status "two configs protect dup.service: systemctl start fails" 1 $? "$T/dup.err"
sleep 0.5
check "... and dup.service never ran (not even ExecStartPre=)" in_ct test ! -e /run/dup.log
expect_match "... the failed unit names both configs" \
	"dup\.service is protected by more than one cgfw instance \(/etc/cgfw/dupa\.conf and /etc/cgfw/dupb\.conf\)" \
	"$(in_ct journalctl -u cgfw-conflict-dup.service -o cat --no-pager 2>/dev/null)"
expect_eq "... neither instance was started for it" "inactive inactive" \
	"$(in_ct systemctl is-active cgfw@dupa.service cgfw@dupb.service | tr '\n' ' ' | sed 's/ $//')"

in_ct systemctl start other.service
wait_log other 2
expect_match "another unit is not filtered" "main blocked=0 allowed=0 name=0" "$(in_ct cat /run/other.log 2>/dev/null)"

# attach --unit NAME.service: the service's own cgroup, found through systemd;
# a restart re-creates it, and cgfw says so and stops (docs/systemd.md).
in_ct systemd-run --quiet --unit=cgfw-other -p Type=notify -p NotifyAccess=main \
	/usr/sbin/cgfw-loader attach --unit other.service --block-list 203.0.113.10 2>"$T/run.err"
expect_status "attach --unit other.service becomes ready (Type=notify)" 0 $? "$T/run.err"
expect_match "... on the service's own cgroup" "enforcing on other.service: block-list mode, 1 rule" \
	"$(in_ct systemctl show -P StatusText cgfw-other.service)"
in_ct systemctl restart other.service
for i in $(seq 1 50); do
	[ "$(in_ct systemctl is-active cgfw-other.service)" = active ] || break
	sleep 0.1
done
expect_match "... and stops when a restart re-creates that cgroup" "ATTACH LOST|was removed" \
	"$(in_ct journalctl -u cgfw-other.service -o cat --no-pager 2>/dev/null)"

j=$(in_ct journalctl -u cgfw@web.service -o json --no-pager 2>/dev/null)
expect_match "the blocked connection is in the journal of cgfw@web" '198\.51\.100\.7' "$j"
expect_match "... with the unit's fields" '"_SYSTEMD_UNIT":"cgfw@web.service"' "$j"
# A native entry with structured fields (docs/events.md, the journal).
e=$(in_ct journalctl -u cgfw@web.service -o json --no-pager CGFW_MSG="PACKET BLOCKED" \
	CGFW_IP=198.51.100.7 2>/dev/null | head -n 1)
expect_match "... as a structured entry: CGFW_MSG=PACKET BLOCKED" '"CGFW_MSG":"PACKET BLOCKED"' "$e"
for f in '"CGFW_BLOCKED":"true"' '"CGFW_BLOCKED_AT":"connect"' '"CGFW_BECAUSE":"IPNotAllowed"' \
	'"CGFW_PORT":"80"' '"CGFW_CMD":"curl ' '"CGFW_PID":"[0-9]+"' '"CGFW_HOOK":"connect4"' \
	'"CGFW_JSON":"\{' '"PRIORITY":"4"' '"MESSAGE":"WARN PACKET BLOCKED '; do
	expect_match "... with $f" "$f" "$e"
done
ev=$(in_ct /usr/sbin/cgfw-loader events web --last 50 2>"$T/events.err")
expect_status "cgfw-loader events web in the container" 0 $? "$T/events.err"
expect_match "... returns its events" '"msg":"PACKET BLOCKED".*"ip":"198\.51\.100\.7"' "$ev"

# systemctl reload: the instance config read again and swapped in while the
# service runs; its next probe meets the new policy (203.0.113.10, learned
# for example.com, goes with the name).  A broken file keeps the policy.
cp "$R/etc/cgfw/web.conf" "$T/web.conf.orig"
printf '[cgfw]\nprotect = web.service\nallow-list = 198.51.100.7\n' >"$R/etc/cgfw/web.conf"
in_ct systemctl reload cgfw@web.service 2>"$T/reload.err"
expect_status "systemctl reload cgfw@web" 0 $? "$T/reload.err"
for i in $(seq 1 100); do
	in_ct journalctl -u cgfw@web.service -o cat --no-pager 2>/dev/null | grep -q "POLICY RELOADED" && break
	sleep 0.1
done
expect_match "... POLICY RELOADED is in the journal" "POLICY RELOADED" \
	"$(in_ct journalctl -u cgfw@web.service -o cat --no-pager 2>/dev/null)"
expect_match "... STATUS= says the new policy" "^enforcing on cgfw-web.slice: allow-list mode, 1 rule; [0-9]+ blocked; workers up$" \
	"$(in_ct systemctl show -P StatusText cgfw@web.service)"
expect_eq "... by the same loader" "$lpid" "$(in_ct systemctl show -P MainPID cgfw@web.service)"
in_ct systemctl restart web.service
wait_log web 6
expect_match "the service meets the new policy" "main blocked=0 allowed=7 name=6" \
	"$(in_ct sed -n '5,$p' /run/web.log 2>/dev/null)"
printf '[cgfw]\nprotect = web.service\nallow-list = 198.51.100.7\nbogus = 1\n' >"$R/etc/cgfw/web.conf"
in_ct systemctl reload cgfw@web.service
for i in $(seq 1 100); do
	in_ct systemctl show -P StatusText cgfw@web.service | grep -q "reload failed" && break
	sleep 0.1
done
expect_match "a broken config: STATUS= says the reload failed, and why" \
	"^reload failed, the previous policy stays: /etc/cgfw/web.conf: bogus: unknown key \(line 4\)" \
	"$(in_ct systemctl show -P StatusText cgfw@web.service)"
expect_match "... RELOAD FAILED is in the journal" "RELOAD FAILED" \
	"$(in_ct journalctl -u cgfw@web.service -o cat --no-pager 2>/dev/null)"
expect_eq "... cgfw@web runs on" active "$(in_ct systemctl is-active cgfw@web.service)"
cp "$T/web.conf.orig" "$R/etc/cgfw/web.conf"

# Stopping cgfw never leaves the service running unfiltered: it stops first.
in_ct systemctl stop cgfw@web.service
expect_eq "systemctl stop cgfw@web stops web.service too" inactive "$(in_ct systemctl is-active web.service)"
# A cgfw that dies (SIGKILL: no clean-up) leaves its pins, and BindsTo= stops the service.
in_ct systemctl start web.service
lpid=$(in_ct systemctl show -P MainPID cgfw@web.service)
if [ -n "$lpid" ] && [ "$lpid" != 0 ]; then
	in_ct systemctl kill --kill-whom=main --signal=KILL cgfw@web.service
	for i in $(seq 1 50); do
		[ "$(in_ct systemctl is-active web.service)" = active ] || break
		sleep 0.1
	done
	expect_eq "a killed cgfw@web stops web.service (BindsTo=)" inactive "$(in_ct systemctl is-active web.service)"
else
	not_ok "web.service did not start again with cgfw@web"
fi

# The sanitizer build (make check-san): reports of cgfw's processes in the
# container went to its journal, where tests/run.sh does not look.
if [ -n "${CGFW_SAN:-}" ]; then
	san=$(in_ct journalctl -o cat --no-pager 2>/dev/null | grep -E 'ERROR: [A-Za-z]+Sanitizer|runtime error:|LeakSanitizer')
	if [ -n "$san" ]; then
		not_ok "sanitizer reports in the container's journal: $(echo "$san" | head -3)"
		in_ct journalctl -o cat --no-pager 2>/dev/null | grep -B2 -A30 -E 'Sanitizer|runtime error:' | head -200 >&2
	else
		ok "no sanitizer report in the container's journal"
	fi
fi
# For the record (stderr: the check log): what the journal says.
{
	echo "## 21-systemd: journal of cgfw@web and web.service"
	in_ct journalctl -u cgfw@web.service -u web.service -o short-monotonic --no-pager 2>/dev/null | tail -n 60
} >&2
echo "# $TESTNAME: ${SECONDS}s"
finish
