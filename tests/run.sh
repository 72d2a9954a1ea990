#!/usr/bin/env bash
# make check: the cmocka unit tests (TAP), the fuzz-corpus replays, then the
# integration tests as root.  Every test prints "ok"/"not ok" lines; this
# counts them and ends with one line: "N passed, N failed[, N skipped]".
# A skipped integration test (exit 77: no root, no cgroup2, BPF refused)
# counts as a failure when CGFW_NO_SKIP=1, as CI sets it.
#
# CGFW_BUILD names the build under test (default build/; make check-san:
# build-san/).  CGFW_SAN set (the sanitizer build) sends every sanitizer
# report of every process a test starts, the workers too (the loader passes
# *SAN_OPTIONS on to them in that build), to files in a directory of that
# test's own: any file there fails the test, whatever its exit status and
# wherever its stderr went.  The reports are appended to the stderr log.
# At-exit leaks of process-lifetime allocations in the integration tests are
# suppressed by the list in tests/lsan.supp; nothing else is.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${CGFW_BUILD:-build}
[ "${B#/}" != "$B" ] || B=$TOP/$B
export CGFW_BUILD=$B
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

SAN_DIR=""
if [ -n "${CGFW_SAN:-}" ]; then
	# Under /tmp, not the checkout: the workers' users must reach it.
	SAN_DIR=$(mktemp -d /tmp/cgfw-san.XXXXXX) || exit 1
	trap 'rm -rf "$SAN_DIR"' EXIT
	chmod 755 "$SAN_DIR"
	install -m 644 "$TOP/tests/lsan.supp" "$SAN_DIR/lsan.supp"
	echo "== sanitizers: $CGFW_SAN (reports in $SAN_DIR/<test>/, then in $ERRLOG)"
fi

# san_begin NAME [SUPPRESS]: a fresh report directory for one test program,
# which every process it starts can write (1777: the workers run as their own
# users); SUPPRESS=1 (the integration tests) applies tests/lsan.supp.
san_begin() {
	[ -n "$SAN_DIR" ] || return 0
	SAN_LOGS=$SAN_DIR/$1
	rm -rf "$SAN_LOGS"
	mkdir -m 1777 "$SAN_LOGS"
	export ASAN_OPTIONS="log_path=$SAN_LOGS/asan:halt_on_error=1:detect_leaks=1"
	export UBSAN_OPTIONS="log_path=$SAN_LOGS/ubsan:halt_on_error=1:print_stacktrace=1"
	if [ "${2:-0}" = 1 ]; then
		export LSAN_OPTIONS="suppressions=$SAN_DIR/lsan.supp:print_suppressions=0"
	else
		export LSAN_OPTIONS="print_suppressions=0"
	fi
}

# san_end NAME: "not ok" for each process that left a report; 0 if none did.
san_end() {
	local f bad=0 what
	[ -n "$SAN_DIR" ] || return 0
	for f in "$SAN_LOGS"/*; do
		[ -e "$f" ] || continue
		bad=1
		what=$(grep -m1 -Eo '(ERROR: [A-Za-z]+Sanitizer: [^(]*|runtime error: .*)' "$f")
		{
			echo "## sanitizer report $f"
			cat "$f"
		} >>"$ERRLOG"
		report "$1" 1 "not ok - $1: sanitizer report from pid ${f##*.}: ${what:-see $ERRLOG}"
	done
	unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
	return $bad
}

echo "== unit tests"
for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	san_begin "$name"
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>>"$ERRLOG" |
		sed -e "s/^ok [0-9]* - /ok - $name: /" -e "s/^not ok [0-9]* - /not ok - $name: /")
	report "$name" "${PIPESTATUS[0]}" "$out"
	san_end "$name"
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
		san_begin "$name"
		if "$f" "$dir"/* >>"$ERRLOG" 2>&1; then
			report "$name" 0 "ok - $name: replayed $(ls "$dir" | wc -l) inputs"
		else
			report "$name" 1 "not ok - $name: a corpus input failed (see $ERRLOG)"
		fi
		san_end "$name"
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

echo "== docs"
# docs/events.md's tables are printed from the tables the monitor writes
# events from (make docs rewrites them): the file must say what that prints.
if (set -o pipefail; "$B/tools/events-doc" <"$TOP/docs/events.md" 2>>"$ERRLOG" |
	cmp -s - "$TOP/docs/events.md"); then
	report docs 0 "ok - docs: docs/events.md's tables match the event writer's (make docs)"
else
	report docs 1 "not ok - docs: docs/events.md's tables differ from the event writer's: run make docs"
fi

echo "== integration tests (stderr in $ERRLOG)"
for t in "$TOP"/tests/integration/[0-9][0-9]-*.sh; do
	name=$(basename "$t" .sh)
	# CGFW_TESTS="01 03-process": run only the integration tests named (a prefix each).
	if [ -n "${CGFW_TESTS:-}" ]; then
		want=0
		for p in $CGFW_TESTS; do
			case "$name" in "$p"*) want=1 ;; esac
		done
		[ "$want" = 1 ] || continue
	fi
	echo "## $name" >>"$ERRLOG"
	san_begin "$name" 1
	out=$(bash "$t" 2>>"$ERRLOG")
	report "$name" $? "$out"
	san_end "$name"
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
