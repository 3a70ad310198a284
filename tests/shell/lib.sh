# Shared helpers for the shell tests: TAP output, a private simulator state per test file,
# and assertions that print what they expected when they fail.
# Each test file: source this, define functions named t_*, call run_tests.
set -u
: "${MIGSIM:?run through make check}"
: "${MIGSIM_LIB:?run through make check}"
TEST_TMP=$(mktemp -d)
export MIGSIM_STATE="$TEST_TMP/state.json"
export MIGSIM_QUIET=1
trap 'rm -rf "$TEST_TMP"' EXIT

_failures=0

fail() {
	echo "# FAIL: $*"
	_failures=$((_failures + 1))
}

# expect_rc WANT CMD...: run CMD, keep stdout in $OUT and stderr in $ERR, check exit code.
expect_rc() {
	local want=$1
	shift
	"$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
	local rc=$?
	OUT=$(cat "$TEST_TMP/out")
	ERR=$(cat "$TEST_TMP/err")
	if [ "$rc" -ne "$want" ]; then
		fail "'$*' exited $rc, expected $want; stderr: $ERR"
	fi
}

expect_contains() { # HAYSTACK NEEDLE
	case "$1" in
	*"$2"*) ;;
	*) fail "expected to find '$2' in: $1" ;;
	esac
}

expect_eq() { # GOT WANT [WHAT]
	if [ "$1" != "$2" ]; then
		fail "${3:-value}: got '$1', expected '$2'"
	fi
}

run_tests() {
	local n=0 t
	local tests
	tests=$(declare -F | awk '{print $3}' | grep '^t_')
	echo "1..$(echo "$tests" | wc -l)"
	for t in $tests; do
		n=$((n + 1))
		_failures=0
		rm -f "$MIGSIM_STATE"
		"$t"
		if [ "$_failures" -eq 0 ]; then
			echo "ok $n - $t"
		else
			echo "not ok $n - $t"
		fi
	done
}
