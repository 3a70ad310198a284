#!/usr/bin/env bash
# Runs test programs and scripts that speak TAP (cmocka with CMOCKA_MESSAGE_OUTPUT=TAP, and
# the shell tests through tests/shell/lib.sh), and ends with one line "N passed, N failed".
# A program that exits non-zero without reporting a failing test counts as one failure, so
# a crash or a sanitizer report cannot pass unnoticed.
# TEST_WRAPPER (e.g. valgrind ...) is put in front of compiled test programs.
set -u
export CMOCKA_MESSAGE_OUTPUT=TAP
# The logs go to TEST_LOG_DIR (kept), else to a temporary directory that is removed when every
# suite passed and kept, and named, when one failed.
log_dir=${TEST_LOG_DIR:-}
own_log_dir=0
if [ -z "$log_dir" ]; then
	log_dir=$(mktemp -d "${TMPDIR:-/tmp}/migctl-tests.XXXXXX") || exit 1
	own_log_dir=1
	trap 'echo "interrupted: logs in $log_dir" >&2; exit 130' INT TERM
fi
mkdir -p "$log_dir" || exit 1
passed=0
failed=0
todo=0
failed_suites=()
known_bugs=()

for t in "$@"; do
	name=$(basename "$t")
	log="$log_dir/$name.log"
	case "$t" in
	*.sh) bash "$t" >"$log" 2>&1 ;;
	*) ${TEST_WRAPPER:-} "$t" >"$log" 2>&1 ;;
	esac
	rc=$?
	ok=$(grep -cE '^ok [0-9]+' "$log")
	nok=$(grep -E '^not ok [0-9]+' "$log" | grep -cv '# TODO')
	ntodo=$(grep -cE '^not ok [0-9]+.*# TODO' "$log")
	todo=$((todo + ntodo))
	while IFS= read -r line; do
		known_bugs+=("$name: ${line#*# TODO }")
	done < <(grep -E '^not ok [0-9]+.*# TODO' "$log")
	if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		nok=1
	fi
	if [ "$ok" -eq 0 ] && [ "$nok" -eq 0 ] && [ "$ntodo" -eq 0 ]; then
		nok=1 # a suite that ran no test is a broken suite
	fi
	passed=$((passed + ok))
	failed=$((failed + nok))
	if [ "$nok" -gt 0 ]; then
		failed_suites+=("$name")
		printf '%-28s %4d passed, %d FAILED (exit %d)\n' "$name" "$ok" "$nok" "$rc"
		grep -E '^not ok|^# |ERROR|Sanitizer|runtime error' "$log" | head -40 | sed 's/^/    /'
	else
		printf '%-28s %4d passed\n' "$name" "$ok"
	fi
done

if [ ${#known_bugs[@]} -gt 0 ]; then
	echo "known open bugs (tests marked TODO, counted as skipped):"
	printf '    %s\n' "${known_bugs[@]}"
fi
if [ ${#failed_suites[@]} -gt 0 ]; then
	echo "failing suites: ${failed_suites[*]} (logs in $log_dir)"
fi
echo "$passed passed, $failed failed, $todo skipped"
if [ "$failed" -eq 0 ] && [ "$own_log_dir" -eq 1 ]; then
	rm -rf "$log_dir"
fi
[ "$failed" -eq 0 ]
