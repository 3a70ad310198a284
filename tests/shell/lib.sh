# Shared helpers for the shell tests: TAP output, a private simulator state per test file,
# and assertions that print what they expected when they fail.
# Each test file: source this, define functions named t_*, call run_tests.
set -u
: "${MIGSIM:?run through make check}"
: "${MIGSIM_LIB:?run through make check}"
# No test may change a real GPU: tests that name a library use $MIGSIM_LIB (and migctl --sim
# loads the simulator built or installed beside migctl). Prove it is the simulator (only it
# exports migsimGetLastError) before anything runs.
if ! nm -D --defined-only "$MIGSIM_LIB" 2>/dev/null | grep -q ' migsimGetLastError'; then
	echo "Bail out! MIGSIM_LIB=$MIGSIM_LIB is not migctl's simulator (no migsimGetLastError): refusing to run"
	exit 1
fi
# Under the sanitizers a report must not pass for an expected "exit 1".
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=86"

# Call the interpreter itself rather than a wrapper script that finds it (pyenv's shims
# cost ~50 ms a call); json_eval and sim_snapshot go through this too.
PYTHON3=$(command python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
if [ -n "$PYTHON3" ] && [ -x "$PYTHON3" ]; then
	python3() { "$PYTHON3" "$@"; }
fi

TEST_TMP=$(mktemp -d)
export MIGSIM_STATE="$TEST_TMP/state.json"
export MIGSIM_QUIET=1
trap 'rm -rf "$TEST_TMP"' EXIT

_failures=0

# known_bug TEXT: this test asserts correct behaviour that migctl does not have yet (an open
# bug, named in TEXT). Its failure is reported as TAP "# TODO", not counted as a failure, and
# listed by the runner; once it passes, the marker must go.
known_bug() {
	_todo="$*"
}

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

# skip REASON: this test cannot run here (not root, no mknod, no podman, ...); run_tests
# reports it as TAP "ok N # SKIP REASON", never as a pass.
skip() { _skip="$*"; }

run_tests() {
	local n=0 t
	local tests
	tests=$(declare -F | awk '{print $3}' | grep '^t_')
	echo "1..$(echo "$tests" | wc -l)"
	for t in $tests; do
		n=$((n + 1))
		_failures=0
		_todo=""
		_skip=""
		rm -f "$MIGSIM_STATE"
		"$t"
		if [ "$_failures" -eq 0 ] && [ -n "$_todo" ]; then
			echo "not ok $n - $t (passes now: remove its known_bug marker)"
		elif [ "$_failures" -eq 0 ] && [ -n "$_skip" ]; then
			echo "ok $n - $t # SKIP $_skip"
		elif [ "$_failures" -eq 0 ]; then
			echo "ok $n - $t"
		elif [ -n "$_todo" ]; then
			echo "not ok $n - $t # TODO $_todo"
		else
			echo "not ok $n - $t"
		fi
	done
}

# ---- added helpers (do not change the ones above) ---------------------------------------

expect_not_contains() { # HAYSTACK NEEDLE
	case "$1" in
	*"$2"*) fail "did not expect '$2' in: $1" ;;
	*) ;;
	esac
}

# file_sum FILE: a checksum of FILE's bytes ("missing" when it does not exist).
file_sum() {
	if [ -e "$1" ]; then
		sha256sum <"$1" | cut -d' ' -f1
	else
		echo missing
	fi
}

# json_valid: succeeds when stdin is one valid JSON document (python3, else jq).
json_valid() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import json, sys; json.load(sys.stdin)' 2>/dev/null
	elif command -v jq >/dev/null 2>&1; then
		jq -e . >/dev/null 2>&1
	else
		echo "# json_valid: neither python3 nor jq is installed"
		return 1
	fi
}

# json_eval EXPR: evaluate a Python expression over the JSON document on stdin (bound to d);
# prints strings as they are and anything else as JSON. Needs python3.
json_eval() {
	python3 -c '
import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(r if isinstance(r, str) else json.dumps(r))' "$1"
}

# now_ms: milliseconds since the epoch.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# sim_snapshot: the simulated node as the driver holds it (caller, GPUs with MIG mode and
# instances, processes), without the bookkeeping that every call changes (generation,
# fault counters, latencies). Compare two snapshots to prove that nothing changed.
sim_snapshot() {
	"$MIGSIM" show --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(json.dumps({k: d.get(k) for k in ("caller", "gpus", "processes")}, indent=1, sort_keys=True))'
}

# expect_unchanged BEFORE [WHAT]: the node's snapshot is still BEFORE (from sim_snapshot).
expect_unchanged() {
	local now
	now=$(sim_snapshot)
	if [ "$now" != "$1" ]; then
		fail "${2:-the simulated node} changed: $(diff <(echo "$1") <(echo "$now") | head -20 | tr '\n' ' ')"
	fi
}

# expect_json_error WANT_SUBSTRING: stdout ($OUT) is {"error": {"message": ...}} containing it.
expect_json_error() {
	echo "$OUT" | json_valid || {
		fail "stdout is not one JSON document: $OUT"
		return
	}
	local msg
	msg=$(echo "$OUT" | json_eval "d['error']['message']" 2>/dev/null) || {
		fail "no error.message in: $OUT"
		return
	}
	expect_contains "$msg" "$1"
}

# state_save / expect_state_unchanged [WHAT]: the same check as sim_snapshot/expect_unchanged,
# cheaper: the state file is copied, and only when its bytes differ afterwards are the two
# compared by content (the copy is read with migsim --state).
state_save() {
	cp "$MIGSIM_STATE" "$TEST_TMP/saved-state.json" 2>/dev/null || rm -f "$TEST_TMP/saved-state.json"
}

expect_state_unchanged() {
	if [ ! -e "$TEST_TMP/saved-state.json" ]; then
		[ -e "$MIGSIM_STATE" ] && fail "${1:-the simulated node}: the state file was created"
		return 0
	fi
	cmp -s "$MIGSIM_STATE" "$TEST_TMP/saved-state.json" && return 0
	local before
	before=$(MIGSIM_STATE="$TEST_TMP/saved-state.json" sim_snapshot)
	expect_unchanged "$before" "$@"
}

# mc RC ARGS...: migctl --sim ARGS must exit RC ($OUT, $ERR as in expect_rc).
mc() {
	local rc=$1
	shift
	expect_rc "$rc" "$MIGCTL" --sim "$@"
}

# others_bin: a directory with copies of migctl (libmig.so.0 beside it, where its run path
# looks, and the simulator in sim/, where --sim looks) and migsim that any user can run, for
# tests that run them as another user (nobody): the build may sit in a directory only its
# owner can enter (a clone in /root). Makes $TEST_TMP passable (0711) for other users.
# Prints the directory.
others_bin() {
	local d="$TEST_TMP/others-bin" real=${MIGCTL_REAL:-$MIGCTL}
	chmod 711 "$TEST_TMP"
	if [ ! -x "$d/migctl" ]; then
		mkdir -p "$d/sim"
		cp "$real" "$d/migctl"
		cp "$MIGSIM" "$d/migsim"
		[ -e "$(dirname "$real")/libmig.so.0" ] && cp -L "$(dirname "$real")/libmig.so.0" "$d/libmig.so.0"
		cp "$MIGSIM_LIB" "$d/sim/libnvidia-ml.so.1"
		chmod -R a+rX "$d"
	fi
	echo "$d"
}
