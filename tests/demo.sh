#!/usr/bin/env bash
# make demo: bring up the fake internet (two network namespaces, nothing
# routed off this machine), run one allowed and one blocked command under
# cgfw, and show the events.  Cleans up after itself.
. "$(dirname "$0")/integration/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "make demo needs root (it loads BPF and creates namespaces): sudo make demo" >&2
	exit 1
fi
fi_up
bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }

bold "The fake internet: 203.0.113.10 (example.com) and 198.51.100.7 serve HTTP, 203.0.113.53 serves DNS, in network namespaces."
bold "\$ cgfw-loader run --allow-list 203.0.113.10 --log-file events.json -- curl http://203.0.113.10/"
cgfw run --user nobody --allow-list 203.0.113.10 --log-file "$T/ev.json" --debug -- \
	curl -sS -m 5 http://203.0.113.10/
echo "(exit status $?)"

bold "\$ cgfw-loader run --allow-list 203.0.113.10 --log-file events.json -- curl http://198.51.100.7/"
cgfw run --user nobody --allow-list 203.0.113.10 --log-file "$T/ev.json" -- \
	curl -sS -m 5 http://198.51.100.7/
echo "(exit status $?)"

bold "\$ cgfw-loader run --block-list 198.51.100.0/24 -- sh -c 'curl 203.0.113.10; curl 198.51.100.7'"
cgfw run --user nobody --block-list 198.51.100.0/24 --log-file "$T/ev.json" -- \
	'curl -sS -m 5 http://203.0.113.10/; curl -sS -m 5 http://198.51.100.7/'
echo "(exit status $?)"

bold "\$ cgfw-loader run --allow-list example.com -- sh -c 'curl http://example.com/; curl http://google.com/'"
cgfw run --user nobody --allow-list example.com --log-file "$T/ev.json" -- \
	'curl -sS -m 5 http://example.com/; curl -sS -m 5 http://google.com/'
echo "(exit status $?)"

bold "The JSON events (events.json):"
jq -c . "$T/ev.json"
bold "Only the blocks, the way the original's jq recipes read them:"
echo "\$ jq -c 'select(.blocked) | {msg, ip, domains, because, rule, pid, cmd}' events.json"
jq -c 'select(.blocked) | {msg, ip, domains, because, rule, pid, cmd}' "$T/ev.json"
