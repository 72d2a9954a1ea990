#!/usr/bin/env bash
# The event stream: every field of the original plus the new ones, valid JSON
# for a hostile command line (quotes, newlines, invalid UTF-8), the text line
# on stderr; the command's stdout stays its own (JSON there only with
# --log-file -).
. "$(dirname "$0")/lib.sh"
fi_up

hostile=$(printf 'q"uote\\back\nnew\tline \xff\xfe end')
cgfw run --user nobody --log-file "$T/ev.json" --allow-list 203.0.113.10 -- \
	/usr/bin/python3 "$TOP/tests/tools/probe.py" tcp 198.51.100.7 80 "$hostile" \
	>/dev/null 2>"$T/err"
check "every line is valid JSON" quiet jq -e . "$T/ev.json"
expect_eq "one JSON object per line" "$(wc -l <"$T/ev.json")" "$(jq -c . "$T/ev.json" | wc -l)"
cmd=$(jq -r '.cmd' "$T/ev.json")
expect_match "cmd keeps quotes and backslashes" 'q"uote\\back' "$cmd"
check "cmd keeps the newline" grep -q '^new' <<<"$cmd"
expect_match "invalid UTF-8 becomes U+FFFD" $'\xef\xbf\xbd\xef\xbf\xbd end' "$cmd"
for f in time level msg because blocked blockedAt domains ruleSource ruleSourceComment \
	pid port ip originalIp url cmd schema comm uid cgroup proto rule; do
	check "field $f present" quiet jq -e "has(\"$f\")" "$T/ev.json"
done
expect_match "time is RFC 3339 UTC" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z$' \
	"$(jq -r .time "$T/ev.json")"
expect_eq "msg" "PACKET BLOCKED" "$(jq -r .msg "$T/ev.json")"
expect_eq "level" WARN "$(jq -r .level "$T/ev.json")"
expect_eq "schema" 1 "$(jq -r .schema "$T/ev.json")"
expect_eq "comm" python3 "$(jq -r .comm "$T/ev.json")"
check "cgroup is a number" quiet jq -e '.cgroup | type == "number"' "$T/ev.json"

line=$(grep 'PACKET BLOCKED' "$T/err")
expect_match "text line for people on stderr" \
	'^WARN PACKET BLOCKED because=IPNotAllowed blocked=true blockedAt=connect ip=198\.51\.100\.7 port=80 ' \
	"$line"
expect_match "text line quotes cmd" 'cmd=".*python3 .*q\\"uote' "$line"
expect_eq "text line is one line" 1 "$(grep -c 'PACKET BLOCKED' "$T/err")"

# No --log-file: the command's stdout is its own, byte for byte; the event is
# on stderr for people (and on the event socket, 25-stream).
cgfw run --user nobody --allow-list 203.0.113.10 -- \
	sh -c "$PROBE tcp 198.51.100.7 80 >/dev/null; printf abc" >"$T/stdout" 2>"$T/err2"
check "without --log-file the command's stdout is exactly its own" cmp -s "$T/stdout" <(printf abc)
check "... and the event is on stderr" grep -q '^WARN PACKET BLOCKED .*ip=198\.51\.100\.7' "$T/err2"
# --log-file -: JSON lines on stdout, asked for (mixed with the command's output).
cgfw run --user nobody --log-file - --allow-list 203.0.113.10 -- \
	$PROBE tcp 198.51.100.7 80 >"$T/stdout" 2>/dev/null
check "--log-file - writes the events as JSON on stdout" \
	quiet jq -e 'select(.msg == "PACKET BLOCKED")' <(grep '^{' "$T/stdout")

# An existing log file is appended to, never truncated.
before=$(wc -l <"$T/ev.json")
cgfw run --user nobody --log-file "$T/ev.json" --allow-list 203.0.113.10 -- \
	$PROBE tcp 198.51.100.8 80 >/dev/null 2>&1
expect_eq "log file appended" $((before + 1)) "$(wc -l <"$T/ev.json")"

# A symlinked log file is refused (O_NOFOLLOW), before anything runs.
ln -s "$T/ev.json" "$T/link.json"
cgfw run --user nobody --log-file "$T/link.json" -- touch "$W/ran" 2>"$T/err"
check "symlinked --log-file refused" test $? -ne 0
check "... and the command did not run" test ! -e "$W/ran"
expect_match "... naming the file" "link.json" "$(cat "$T/err")"

no_leftovers
finish
