#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench's deps step: installs what packaging/debian/bench-deps lists and
# is missing (apt-get, as root).  `make deps` does not install these.
# Installing starts no service here: the bench runs its own squid, nginx,
# dnsmasq and mitmproxy with private configs and never touches the system's.
set -u
list=${1:-$(dirname "$0")/../packaging/debian/bench-deps}
missing=$(sed -e 's/#.*//' "$list" | while read -r p; do
	[ -n "$p" ] || continue
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || echo "$p"
done)
if [ -z "$missing" ]; then
	echo "bench deps: all installed"
	exit 0
fi
echo "bench deps: installing" "$(echo "$missing" | tr '\n' ' ')"
if [ "$(id -u)" != 0 ]; then
	echo "bench deps: run as root (apt-get)" >&2
	exit 1
fi
# shellcheck disable=SC2086 # one word per package
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends $missing
