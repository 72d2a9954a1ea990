#!/bin/sh
# SPDX-License-Identifier: MIT
# Print the path of a Debian 12 (bookworm) minbase rootfs with systemd and the
# libraries cgfw needs, for booting with systemd-nspawn (tests/integration/
# 21-systemd.sh).  Built once with debootstrap (about a minute) and cached in
# $CGFW_ROOTFS_CACHE (default /var/cache/cgfw-test), keyed by a hash of the
# suite, the package list and LAYOUT (bump it when the steps after
# debootstrap change), so changing either builds a new one and removes the
# older ones.  The cached tree is never booted itself: the test boots an
# overlay of it.
#
# The archive is the one apt already uses: the first bookworm "main" source
# of /etc/apt/sources.list(.d); no host name is written here.
set -eu

PKGS="systemd systemd-sysv dbus iproute2 curl ca-certificates libbpf1 libelf1 zlib1g
libuv1 libc-ares2 libprotobuf-c1 libcap-ng0 libseccomp2 libinih1 libhttp-parser2.9
android-libboringssl libasan8 libubsan1"
SUITE=bookworm
LAYOUT=1
CACHE=${CGFW_ROOTFS_CACHE:-/var/cache/cgfw-test}

# The mirror: deb822 .sources stanzas first, then one-line "deb" entries.
apt_mirror() {
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v suite="$SUITE" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") &&
				    (" " comps " ") ~ / main /)
					{ split(uris, u, " "); print u[1]; found = 1; exit }
				types = uris = suites = comps = ""
			}
			/^[ \t]*$/ { flush(); next }
			/^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
			/^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0 }
			/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
			/^Components:/ { sub(/^Components:[ \t]*/, ""); comps = $0 }
			END { if (!found) flush() }' "$f"
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk -v suite="$SUITE" '$1 == "deb" {
			line = $0
			sub(/^deb[ \t]+(\[[^]]*\][ \t]+)?/, "", line)
			n = split(line, f, /[ \t]+/)
			if (f[2] == suite) for (j = 3; j <= n; j++) if (f[j] == "main") { print f[1]; exit }
		}'
}

key=$(echo "$SUITE $LAYOUT $PKGS" | sha256sum | cut -c1-16)
ROOT=$CACHE/rootfs-$key
if [ -x "$ROOT/lib/systemd/systemd" ]; then
	echo "$ROOT"
	exit 0
fi
command -v debootstrap >/dev/null || { echo "nspawn-rootfs: debootstrap missing (make deps)" >&2; exit 1; }
MIRROR=$(apt_mirror | head -n 1)
[ -n "$MIRROR" ] || { echo "nspawn-rootfs: no bookworm main source in /etc/apt" >&2; exit 1; }
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
[ -x "$ROOT/lib/systemd/systemd" ] && { echo "$ROOT"; exit 0; }
TMP=$CACHE/.build-$key-$$
rm -rf "$CACHE"/.build-* # a build that was killed (we hold the lock)
echo "nspawn-rootfs: debootstrap $SUITE into $ROOT (once; about a minute)" >&2
if ! debootstrap --variant=minbase --include="$(echo $PKGS | tr ' ' ,)" \
	"$SUITE" "$TMP" "$MIRROR" >"$CACHE/debootstrap-$key.log" 2>&1; then
	echo "nspawn-rootfs: debootstrap failed; see $CACHE/debootstrap-$key.log" >&2
	tail -n 5 "$CACHE/debootstrap-$key.log" >&2
	rm -rf "$TMP"
	exit 1
fi
# A fresh machine id at every boot of an overlay.
rm -f "$TMP/etc/machine-id" "$TMP/var/lib/dbus/machine-id"
: >"$TMP/etc/machine-id"
chroot "$TMP" apt-get clean >/dev/null 2>&1 || true
mv "$TMP" "$ROOT"
for old in "$CACHE"/rootfs-*; do
	[ "$old" = "$ROOT" ] || rm -rf "$old"
done
rm -f "$CACHE"/debootstrap-*.log
echo "$ROOT"
