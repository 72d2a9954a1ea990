#!/usr/bin/env bash
# make check: the cmocka unit tests (TAP), the fuzz-corpus replays, then the
# integration tests as root.  Every test prints "ok"/"not ok" lines; this
# counts them and ends with one line: "N passed, N failed[, N skipped]".
# A skipped integration test (exit 77: no root, no cgroup2, BPF refused)
# counts as a failure when CGFW_NO_SKIP=1, as CI sets it.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=$TOP/build
ERRLOG=$B/check-stderr.log
pass=0
fail=0
skipped=0
failures=()
: >"$ERRLOG"

# report NAME RC OUTPUT: print and count the ok/not ok lines of one test program.
report() {
	local name=$1 rc=$2 out=$3 line
	printf '%s\n' "$out"
	while IFS= read -r line; do
		case "$line" in
		"ok "*) pass=$((pass + 1)) ;;
		"not ok "*)
			fail=$((fail + 1))
			failures+=("$line")
			;;
		esac
	done <<<"$out"
	if [ "$rc" -eq 77 ]; then
		if [ "${CGFW_NO_SKIP:-0}" = 1 ]; then
			fail=$((fail + 1))
			failures+=("not ok - $name: skipped, and CGFW_NO_SKIP=1 forbids it")
			echo "${failures[-1]}"
		else
			skipped=$((skipped + 1))
		fi
	elif [ "$rc" -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
		fail=$((fail + 1))
		failures+=("not ok - $name: exited $rc without a failing check")
		echo "${failures[-1]}"
	elif [ "$rc" -eq 0 ] && ! grep -q '^ok' <<<"$out"; then
		fail=$((fail + 1))
		failures+=("not ok - $name: ran no check")
		echo "${failures[-1]}"
	fi
}

echo "== unit tests"
for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>>"$ERRLOG" |
		sed -e "s/^ok [0-9]* - /ok - $name: /" -e "s/^not ok [0-9]* - /not ok - $name: /")
	report "$name" "${PIPESTATUS[0]}" "$out"
done

if ls "$B"/tests/fuzz_* >/dev/null 2>&1; then
	echo "== fuzz corpus replay"
	for f in "$B"/tests/fuzz_*; do
		name=$(basename "$f")
		dir=$TOP/tests/fuzz/corpus/${name#fuzz_}
		if [ ! -d "$dir" ] || [ -z "$(ls "$dir")" ]; then
			report "$name" 1 "not ok - $name: no seed corpus in $dir"
			continue
		fi
		if "$f" "$dir"/* >>"$ERRLOG" 2>&1; then
			report "$name" 0 "ok - $name: replayed $(ls "$dir" | wc -l) inputs"
		else
			report "$name" 1 "not ok - $name: a corpus input failed (see $ERRLOG)"
		fi
	done
fi

echo "== format"
if command -v clang-format >/dev/null && git -C "$TOP" rev-parse >/dev/null 2>&1; then
	bad=$(cd "$TOP" && git ls-files '*.c' '*.h' | xargs clang-format --dry-run 2>&1 |
		grep -Eo '^[^: ]+\.[ch]:[0-9]+:[0-9]+: (warning|error)' | cut -d: -f1 | sort -u)
	if [ -z "$bad" ]; then
		report format 0 "ok - format: sources match .clang-format"
	else
		report format 1 "not ok - format: clang-format differs in: $(echo $bad)"
	fi
fi

echo "== integration tests (stderr in $ERRLOG)"
for t in "$TOP"/tests/integration/[0-9][0-9]-*.sh; do
	name=$(basename "$t" .sh)
	echo "## $name" >>"$ERRLOG"
	out=$(bash "$t" 2>>"$ERRLOG")
	report "$name" $? "$out"
done

echo
if [ "$fail" -gt 0 ]; then
	echo "failures:"
	printf '  %s\n' "${failures[@]}"
fi
if [ "$skipped" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skipped skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
