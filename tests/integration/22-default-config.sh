#!/usr/bin/env bash
# /etc/cgfw.conf is the site's config: run, attach and ca read it when it
# exists and --config names no other file; a broken one stops cgfw with its
# name and line, and one that exists but cannot be read is never skipped.
# The machine's /etc is untouched (and its own cgfw.conf, if any, hidden):
# each run sees /etc through an overlay whose upper layer holds the test's
# cgfw.conf, in a mount namespace of its own.
. "$(dirname "$0")/lib.sh"
fi_up

# site CONTENT|-: the cgfw.conf the next runs see ("-": none at all, the
# machine's own hidden by an overlay whiteout).
site() {
	rm -rf "$T/etc-up" "$T/etc-work"
	mkdir -p "$T/etc-up" "$T/etc-work"
	if [ "$1" = - ]; then
		mknod "$T/etc-up/cgfw.conf" c 0 0
	else
		printf '%s\n' "$1" >"$T/etc-up/cgfw.conf"
	fi
}

# with_site ARGS...: the loader in the client netns, /etc/cgfw.conf as site() left it.
with_site() {
	unshare --mount --propagation private sh -c '
		mount -t overlay overlay -o "lowerdir=/etc,upperdir=$0/etc-up,workdir=$0/etc-work" /etc &&
		mount --bind "$0/resolv.conf" /etc/resolv.conf && ns=$1 && shift &&
		exec nsenter --net="$ns" -- "$@"' "$T" "/run/netns/$NS_C" "$LOADER" "$@"
}

site "[cgfw]
block-list = 198.51.100.7"
with_site run --user nobody -- curl -sS -m 5 http://198.51.100.7/ >"$T/out" 2>"$T/err"
expect_eq "the site's block list applies: curl cannot connect (exit 7)" 7 $?
expect_match "its mode line counts its rule" "block-list mode, 1 rule from 1 source" \
	"$(cat "$T/err")"
out=$(with_site run --user nobody -- curl -sS -m 5 http://203.0.113.10/ 2>"$T/err")
expect_eq "what it does not block still answers" "hello from 203.0.113.10" "$out"

cat >"$T/other.conf" <<EOF
allow-list = 198.51.100.7
EOF
out=$(with_site --config "$T/other.conf" run --user nobody -- \
	curl -sS -m 5 http://198.51.100.7/ 2>"$T/err")
expect_eq "--config FILE replaces the site's config" "hello from 198.51.100.7" "$out"
expect_match "... and its mode is the named file's" "allow-list mode, 1 rule" "$(cat "$T/err")"

site "[cgfw]
allow-list = 203.0.113.10
frobnicate = yes"
rm -f "$W/ran"
with_site run --user nobody -- touch "$W/ran" >"$T/out" 2>"$T/err"
expect_eq "a broken site config: exit 125" 125 $?
expect_match "... naming the file, the key and the line" \
	"/etc/cgfw.conf: frobnicate: unknown key \(line 3\)" "$(cat "$T/err")"
check "... and nothing ran" test ! -e "$W/ran"
with_site status >"$T/out" 2>"$T/err"
expect_eq "status does not read the config" 0 $?

site -
rm "$T/etc-up/cgfw.conf"
mkdir "$T/etc-up/cgfw.conf"
with_site run --user nobody -- touch "$W/ran" >"$T/out" 2>"$T/err"
expect_eq "a directory at /etc/cgfw.conf: exit 125, never skipped" 125 $?
expect_match "... naming it" "config /etc/cgfw.conf: not a regular file" "$(cat "$T/err")"

site -
rm "$T/etc-up/cgfw.conf"
ln -s "$T/no-such-file" "$T/etc-up/cgfw.conf"
with_site run --user nobody -- touch "$W/ran" >"$T/out" 2>"$T/err"
expect_eq "a dangling link at /etc/cgfw.conf: exit 125, never skipped" 125 $?
check "... and nothing ran" test ! -e "$W/ran"

site -
out=$(with_site run --user nobody --log-file "$T/ev.json" -- curl -sS -m 5 http://198.51.100.7/ \
	2>"$T/err")
expect_eq "no site config: log-only, traffic flows" "hello from 198.51.100.7" "$out"
expect_match "... and says so" "log-only mode" "$(cat "$T/err")"

no_leftovers
finish
