#!/usr/bin/env bash
# attach --container and --pid, for real: a private dockerd started inside
# the fake internet's client namespace (its host network is the fake
# internet), an image imported from the cached nspawn rootfs (it has curl),
# a container on docker's default bridge (a network namespace of its own,
# whose 127.0.0.1 is not ours), and `cgfw-loader attach --container NAME`.
# Shown from inside the container: an allowed name resolves and connects, a
# blocked one does not resolve, a blocked IP is refused, a URL rule passes
# one path and not another (the proxies listen in the container's network
# namespace), and the events name the container's processes.  Then podman
# (through its API service, as cgfw asks it), and --pid.  Everything
# (containers, daemons, their directories and cgroups) goes in the trap.
. "$(dirname "$0")/lib.sh"
require_root
command -v dockerd >/dev/null || skip "dockerd missing (make deps: docker.io)"
command -v docker >/dev/null || skip "docker missing (make deps: docker.io)"
command -v podman >/dev/null || skip "podman missing (make deps: podman)"

ROOTFS=$("$TOP/tests/tools/nspawn-rootfs.sh") || { not_ok "cannot build the nspawn rootfs"; exit 1; }
fi_up

mnt=$(cgroup2_mnt)
CGP=cgfw-test-ct-$$ # the engines' cgroup parent, in every hierarchy
DK=$T/dk
DPID=""
CT=cgfw-ct-$$
PM=$T/pm
PPID_=""
NS_P=""
CGT=""

# Before lib.sh's cleanup: the containers, the daemons (by pid), whatever
# is left in their cgroups, the cgroups, the overlay.
ct_cleanup() {
	local i p h
	if [ -n "$DPID" ]; then
		docker rm -f "$CT" >/dev/null 2>&1
		kill "$DPID" 2>/dev/null
		for i in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DPID" 2>/dev/null
		# Its containerd, should dockerd have died without stopping it.
		p=$(cat "$DK/exec/containerd/containerd.pid" 2>/dev/null)
		[ -n "$p" ] && grep -q containerd /proc/"$p"/comm 2>/dev/null && kill -KILL "$p"
	fi
	if [ -n "$PPID_" ]; then
		podman --remote rm -f -t 0 "$CT-p" >/dev/null 2>&1
		kill "$PPID_" 2>/dev/null
		for i in $(seq 1 100); do kill -0 "$PPID_" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PPID_" 2>/dev/null
	fi
	for h in /sys/fs/cgroup/*/"$CGP" "$mnt/$CGP" "$CGT"; do
		[ -n "$h" ] && [ -d "$h" ] || continue
		[ -e "$h/cgroup.kill" ] && echo 1 >"$h/cgroup.kill"
		for p in $(cat $(find "$h" -name cgroup.procs) 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		for i in $(seq 1 50); do
			[ -z "$(cat $(find "$h" -name cgroup.procs) 2>/dev/null)" ] && break
			sleep 0.1
		done
		find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	mountpoint -q "$T/pod-root" 2>/dev/null && umount -l "$T/pod-root"
	[ -n "$NS_P" ] && ip netns del "$NS_P" 2>/dev/null
	cleanup
}
trap ct_cleanup EXIT

# --- docker -------------------------------------------------------------
# A private dockerd: its own data, exec root, socket, pidfile and cgroup
# parent, /etc/docker a tmpfs of its own mount namespace (it writes its key
# there), inside the client netns.  The loader finds it by $DOCKER_HOST.
mkdir -p "$DK"
echo '{}' >"$DK/daemon.json"
export DOCKER_HOST=unix://$DK/docker.sock
(exec unshare --mount --propagation private sh -c \
	'{ [ ! -d /etc/docker ] || mount -t tmpfs -o mode=0755 tmpfs /etc/docker; } &&
	 exec nsenter --net="$0" dockerd --config-file "$1/daemon.json" --data-root "$1/data" \
		--exec-root "$1/exec" -H "unix://$1/docker.sock" --pidfile "$1/docker.pid" \
		--exec-opt native.cgroupdriver=cgroupfs --cgroup-parent "/$2" --log-level warn' \
	"/run/netns/$NS_C" "$DK" "$CGP") >"$DK/dockerd.log" 2>&1 &
DPID=$!
for i in $(seq 1 200); do
	docker version >/dev/null 2>&1 && break
	kill -0 "$DPID" 2>/dev/null || break
	sleep 0.1
done
docker version >/dev/null 2>&1 || { not_ok "dockerd did not start: $(tail -3 "$DK/dockerd.log")"; exit 1; }

# The image: the cached rootfs, without what a container never reads.
tar -C "$ROOTFS" -c --exclude=./usr/share/doc --exclude=./usr/share/man \
	--exclude=./usr/share/locale --exclude=./var/cache --exclude=./var/lib/apt . |
	docker import - "cgfw-test-ct:$$" >/dev/null ||
	{ not_ok "docker import failed"; exit 1; }
docker run -d --name "$CT" --dns 203.0.113.53 "cgfw-test-ct:$$" sleep infinity >/dev/null ||
	{ not_ok "docker run failed"; exit 1; }
CPID=$(docker container inspect --format '{{.State.Pid}}' "$CT")
CID=$(docker container inspect --format '{{.Id}}' "$CT")

# dx CMD...: run CMD in the container.
dx() {
	docker exec "$CT" "$@"
}
out=$(dx curl -sS -m 5 http://google.com/ 2>&1)
expect_eq "the container reaches the fake internet through docker's bridge" \
	"hello from 198.51.100.20" "$out"
check "... from a network namespace of its own" \
	test "$(stat -L -c %i /proc/"$CPID"/ns/net)" != "$(stat -L -c %i /run/netns/"$NS_C")"

cgfw_bg attach --log-file "$T/ev.json" --state-dir "$T/state" \
	--allow-list example.com,http://untrusted.example.net/ok --container "$CT" 2>"$T/err"
for i in $(seq 1 200); do grep -q "enforcing on" "$T/err" && break; sleep 0.05; done
expect_match "attach --container enforces on the container's own cgroup" \
	"enforcing on $mnt/$CGP/$CID" "$(cat "$T/err")"

out=$(dx curl -sS -m 5 http://example.com/ 2>&1)
expect_eq "inside: an allowed name resolves and connects" "hello from 203.0.113.10" "$out"
out=$(dx curl -sS -m 5 http://google.com/ 2>&1)
expect_match "inside: a blocked name does not resolve" "Could not resolve host: google.com" "$out"
out=$(dx curl -sS -m 5 http://198.51.100.7/ 2>&1)
expect_match "inside: a blocked IP is refused at once" "Couldn't connect|Failed to connect" "$out"
out=$(dx curl -sS -m 5 http://untrusted.example.net/ok 2>&1)
expect_eq "inside: a URL rule's path passes the HTTP proxy" "hello from 198.51.100.8" "$out"
out=$(dx curl -s -m 5 -w ' %{http_code}' http://untrusted.example.net/no 2>&1)
expect_match "inside: another path gets the proxy's 403" "403$" "$out"
out=$(dx getent hosts example.com)
expect_match "inside: glibc's resolver gets its answer back from the server it asked" \
	"^203.0.113.10 " "$out"

kill -TERM "$LPID"
wait "$LPID"
expect_status "attach --container exits 0 on SIGTERM" 0 $? "$T/err"
cgid=$(stat -c %i "$mnt/$CGP/$CID")
expect_eq "DNS BLOCKED names the container's curl" "curl -sS -m 5 http://google.com/" \
	"$(ev_field '.msg == "DNS BLOCKED" and .domains == "google.com"' cmd)"
expect_eq "... and the container's cgroup" "$cgid" \
	"$(ev_field '.msg == "DNS BLOCKED" and .domains == "google.com"' cgroup)"
p=$(ev_field '.msg == "DNS BLOCKED" and .domains == "google.com"' pid)
expect_match "... and a pid of the host's (not the container's own numbering)" "^[0-9]+$" "$p"
expect_eq "PACKET BLOCKED for the blocked IP" "198.51.100.7" \
	"$(ev_field '.msg == "PACKET BLOCKED"' ip)"
expect_eq "HTTP BLOCKED with the URL" "http://untrusted.example.net/no" \
	"$(ev_field '.msg == "HTTP BLOCKED"' url)"
out=$(dx curl -sS -m 5 http://google.com/ 2>&1)
expect_eq "after detach the container is unfiltered again" "hello from 198.51.100.20" "$out"

# The original's spelling, and a short id.
cgfw_bg attach --log-file "$T/ev2.json" --block-list 198.51.100.7 --docker-container "${CID:0:12}" \
	--container-engine docker 2>"$T/err2"
for i in $(seq 1 200); do grep -q "enforcing on" "$T/err2" && break; sleep 0.05; done
out=$(dx curl -sS -m 5 http://198.51.100.7/ 2>&1)
expect_match "--docker-container with a short id works" "Couldn't connect|Failed to connect" "$out"
kill -INT "$LPID"
wait "$LPID"
expect_status "... and exits 0 on SIGINT" 0 $? "$T/err2"

out=$(cgfw attach --allow-list example.com --container "no-such-ct-$$" 2>&1)
expect_match "an unknown container: an error naming it and what each engine said" \
	"--container no-such-ct-$$: not found \(docker: .*[Nn]o such container.*; podman: " "$out"
out=$(cgfw attach --allow-list example.com --container '-H=unix:///x' 2>&1)
expect_match "a container name that could be an option is refused" "is not a container name" "$out"
# An engine's answer is a pid and an id and nothing else; one that hangs is killed.
mkdir -p "$T/bin"
printf '#!/bin/sh\necho "12 /etc/passwd"\n' >"$T/bin/docker"
chmod 755 "$T/bin/docker"
out=$(export PATH=$T/bin:$PATH && cgfw attach --allow-list example.com --container "$CT" 2>&1)
expect_match "an engine's answer that is not \"PID ID\" is refused, quoted" \
	'docker: unexpected answer "12 /etc/passwd"' "$out"
printf '#!/bin/sh\nexec sleep 60\n' >"$T/bin/docker"
SECONDS_0=$SECONDS
out=$(export PATH=$T/bin:$PATH && cgfw attach --allow-list example.com --container "$CT" \
	--container-engine docker 2>&1)
expect_match "an engine that does not answer is given up on" "docker did not answer in 10 s" "$out"
check "... after its deadline, not later" test $((SECONDS - SECONDS_0)) -lt 20
docker stop -t 0 "$CT" >/dev/null
out=$(cgfw attach --allow-list example.com --container "$CT" --container-engine docker 2>&1)
expect_match "a stopped container: not running" "--container $CT: not running" "$out"

# --- podman -------------------------------------------------------------
# cgfw asks podman as a client of its API service (podman itself takes a
# root without CAP_SYS_ADMIN for a rootless user): a private service, its
# storage and run directories in $PM, in a mount namespace of its own; the
# container runs from an overlay of the rootfs, in a network namespace of
# the test's (no CNI), where the DNS proxy must listen.
mkdir -p "$PM" "$T/pod-up" "$T/pod-work" "$T/pod-root"
mount -t overlay overlay -o "lowerdir=$ROOTFS,upperdir=$T/pod-up,workdir=$T/pod-work" "$T/pod-root" ||
	{ not_ok "cannot mount an overlay of $ROOTFS"; exit 1; }
NS_P=cgfwp-$$
ip netns add "$NS_P"
ip -n "$NS_P" link set lo up
ip -n "$NS_P" link add d0 type veth peer name d1
ip -n "$NS_P" link set d0 up
ip -n "$NS_P" link set d1 up
ip -n "$NS_P" addr add 192.0.2.66/24 dev d0
ip -n "$NS_P" route add default dev d0
(exec unshare --mount --propagation private env -u CONTAINER_HOST podman --root "$PM/root" --runroot "$PM/run" \
	--tmpdir "$PM/tmp" --cgroup-manager cgroupfs --runtime runc --events-backend file \
	--network-config-dir "$PM/cni" system service --time=0 "unix://$PM/podman.sock") \
	>"$PM/service.log" 2>&1 &
PPID_=$!
export CONTAINER_HOST=unix://$PM/podman.sock
for i in $(seq 1 200); do
	podman --remote version >/dev/null 2>&1 && break
	kill -0 "$PPID_" 2>/dev/null || break
	sleep 0.1
done
# Root here lacks CAP_SYS_RESOURCE: podman's default rlimits are above the hard ones.
podman --remote run -d --name "$CT-p" --rootfs --network "ns:/run/netns/$NS_P" \
	--dns 203.0.113.53 --cgroup-parent "/$CGP" --ulimit nofile=1024:1024 \
	--ulimit nproc=1024:1024 "$T/pod-root" sleep infinity >"$PM/run.log" 2>&1 ||
	{ not_ok "podman run failed: $(tail -3 "$PM/run.log") $(tail -3 "$PM/service.log")"; exit 1; }
PCID=$(podman --remote container inspect --format '{{.Id}}' "$CT-p")
cgfw_bg attach --log-file "$T/ev3.json" --allow-list example.com --container "$CT-p" 2>"$T/err3"
for i in $(seq 1 200); do grep -q "enforcing on" "$T/err3" && break; sleep 0.05; done
expect_match "attach --container finds a podman container (docker first, then podman)" \
	"enforcing on $mnt/$CGP/.*$PCID" "$(cat "$T/err3")"
out=$(podman --remote exec "$CT-p" getent hosts example.com)
expect_match "inside podman's: an allowed name resolves" "^203.0.113.10 " "$out"
out=$(podman --remote exec "$CT-p" getent hosts google.com)
st=$?
expect_eq "inside podman's: a blocked name does not" "2 " "$st $out"
kill -TERM "$LPID"
wait "$LPID"
expect_status "attach to podman's exits 0" 0 $? "$T/err3"
expect_eq "... and its DNS BLOCKED names getent" "getent hosts google.com" \
	"$(ev_field '.msg == "DNS BLOCKED" and .domains == "google.com"' cmd "$T/ev3.json")"

# --- --pid --------------------------------------------------------------
# A process in a cgroup of the test's, in the client netns (the loader's):
# its cgroup is found from /proc/PID, and processes that join it are filtered.
CGT=$mnt/cgfw-test-pid-$$
mkdir "$CGT"
(exec unshare --mount --propagation private sh -c "$IN_CLIENT_SH" "$T/resolv.conf" \
	"/run/netns/$NS_C" sh -c 'echo $$ > "$0/cgroup.procs" && exec sleep 600' "$CGT") &
SPID=$!
PIDS+=("$SPID")
for i in $(seq 1 100); do grep -q "cgfw-test-pid-$$" /proc/"$SPID"/cgroup 2>/dev/null && break; sleep 0.05; done
cgfw_bg attach --log-file "$T/ev4.json" --allow-list example.com --pid "$SPID" 2>"$T/err4"
for i in $(seq 1 200); do grep -q "enforcing on" "$T/err4" && break; sleep 0.05; done
expect_match "attach --pid enforces on the process's cgroup" "enforcing on $CGT" "$(cat "$T/err4")"
out=$(in_client sh -c 'echo $$ > "$0/cgroup.procs" &&
	exec setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "curl -sS -m 5 http://example.com/; curl -sS -m 5 http://google.com/"' "$CGT" 2>&1)
expect_match "... an allowed name connects" "hello from 203.0.113.10" "$out"
expect_match "... a blocked one does not resolve" "Could not resolve host: google.com" "$out"
kill -TERM "$LPID"
wait "$LPID"
expect_status "attach --pid exits 0" 0 $? "$T/err4"
kill "$SPID"
wait "$SPID" 2>/dev/null

out=$(cgfw attach --allow-list example.com --pid 999999999 2>&1)
expect_match "--pid of no process: an error naming it" "--pid 999999999: no such process" "$out"
out=$(cgfw attach --allow-list example.com --pid 2 2>&1)
expect_match "--pid of a kernel thread is refused" "--pid 2: a kernel thread" "$out"
if [ "$(sed -n 's/^0:://p' /proc/1/cgroup)" = / ]; then
	out=$(cgfw attach --allow-list example.com --pid 1 2>&1)
	expect_match "--pid of a process in the root cgroup is refused" "--pid 1: .*root cgroup" "$out"
fi
out=$(cgfw attach --allow-list example.com --pid "$SPID" --cgroup "$CGT" 2>&1)
expect_match "--pid and --cgroup are exclusive" "only one of --cgroup, --unit, --pid and --container" "$out"

no_leftovers
echo "# $TESTNAME: ${SECONDS}s"
finish
