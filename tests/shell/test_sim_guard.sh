#!/usr/bin/env bash
# No test may change a real GPU: every test program that changes MIG state proves, before
# its first NVML call, that the library it loaded is migctl's simulator, and refuses
# otherwise. Here each of them meets a stand-in libnvidia-ml.so.1 that exports NVML's names
# (not the simulator's) and records every call: each must refuse, say why, and call nothing.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL_BUILD:?run through make check}"
SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
STANDIN_DIR="$TEST_TMP/standin"
STANDIN="$STANDIN_DIR/libnvidia-ml.so.1"
export STANDIN_LOG="$TEST_TMP/standin-calls.log"

# A library with NVIDIA's SONAME and every NVML function libmig knows (nvml/nvml_abi.h),
# each succeeding and appending its name to $STANDIN_LOG: what a real driver's library looks
# like to a client, without the simulator's migsim* symbols.
build_standin() {
	[ -f "$STANDIN" ] && return 0
	mkdir -p "$STANDIN_DIR"
	{
		echo '#include <stdio.h>'
		echo '#include <stdlib.h>'
		echo 'static void note(const char *n) { const char *p = getenv("STANDIN_LOG"); FILE *f = p ? fopen(p, "a") : NULL; if (f) { fprintf(f, "%s\n", n); fclose(f); } }'
		echo 'const char *nvmlErrorString(int r) { (void)r; note("nvmlErrorString"); return "stand-in"; }'
		sed -n 's/^[[:space:]]*X(\(nvml[A-Za-z0-9_]*\),.*/\1/p' "$SRC_DIR/nvml/nvml_abi.h" | sort -u |
			sed 's/.*/int &(void) { note("&"); return 0; }/'
	} >"$STANDIN_DIR/standin.c"
	cc -shared -fPIC -w -Wl,-soname,libnvidia-ml.so.1 -o "$STANDIN" "$STANDIN_DIR/standin.c" \
		2>"$TEST_TMP/cc.err" || fail "cannot build the stand-in: $(cat "$TEST_TMP/cc.err")"
	nm -D --defined-only "$STANDIN" | grep -q ' nvmlDeviceCreateGpuInstance$' || fail "the stand-in lacks NVML's names"
	nm -D --defined-only "$STANDIN" | grep -q migsim && fail "the stand-in exports a simulator symbol"
}

# expect_refused WHAT: the last command (expect_rc) failed before any NVML call, saying why.
expect_refused() {
	expect_contains "$OUT$ERR" "$2"
	if [ -s "$STANDIN_LOG" ]; then
		fail "$1 called the stand-in before refusing: $(tr '\n' ' ' <"$STANDIN_LOG")"
	fi
	rm -f "$STANDIN_LOG"
}

t_the_stand_in_records_calls() {
	# the guard tests below mean something only if a call to the stand-in would show
	build_standin
	rm -f "$STANDIN_LOG"
	python3 -c 'import ctypes, sys; ctypes.CDLL(sys.argv[1]).nvmlInit_v2()' "$STANDIN" ||
		fail "cannot call the stand-in"
	expect_eq "$(cat "$STANDIN_LOG" 2>/dev/null)" "nvmlInit_v2" "what the stand-in recorded"
	rm -f "$STANDIN_LOG"
}

t_abi_client_refuses_a_library_that_is_not_the_simulator() {
	build_standin
	LD_LIBRARY_PATH="$STANDIN_DIR" expect_rc 1 "$MIGCTL_BUILD/tests/abi-client/client"
	expect_contains "$OUT" "ok 1 - dlopen"
	expect_contains "$OUT" "not ok 2 - the library is migctl's simulator"
	expect_refused "the ABI client" "Bail out! the libnvidia-ml.so.1 found is not migctl's simulator"
}

t_nvmlctl_refuses_a_library_that_is_not_the_simulator() {
	build_standin
	MIGSIM_LIB="$STANDIN" expect_rc 3 "$MIGCTL_BUILD/tests/helpers/nvmlctl" enable 0
	expect_refused "nvmlctl" "is not migctl's simulator"
	# by SONAME, as when MIGSIM_LIB is not set
	(unset MIGSIM_LIB; LD_LIBRARY_PATH="$STANDIN_DIR" "$MIGCTL_BUILD/tests/helpers/nvmlctl" enable 0) \
		>"$TEST_TMP/out" 2>"$TEST_TMP/err"
	OUT=$(cat "$TEST_TMP/out") ERR=$(cat "$TEST_TMP/err")
	expect_refused "nvmlctl (by SONAME)" "is not migctl's simulator"
}

t_libmig_unit_test_refuses_without_the_simulator() {
	build_standin
	local t="$MIGCTL_BUILD/tests/unit/test_libmig"
	MIGSIM_LIB="$STANDIN" expect_rc 1 "$t"
	expect_refused "test_libmig" "is not migctl's simulator"
	(unset MIGSIM_LIB; LD_LIBRARY_PATH="$STANDIN_DIR" "$t") >"$TEST_TMP/out" 2>"$TEST_TMP/err"
	OUT=$(cat "$TEST_TMP/out") ERR=$(cat "$TEST_TMP/err")
	expect_refused "test_libmig without MIGSIM_LIB" "MIGSIM_LIB is not set"
}

t_benches_refuse_a_library_that_is_not_the_simulator() {
	build_standin
	expect_rc 1 "$MIGCTL_BUILD/bench/apply_bench" "$STANDIN" 0
	expect_refused "apply_bench" "is not migctl's simulator"
	expect_rc 1 "$MIGCTL_BUILD/bench/status_bench" "$MIGCTL" "$STANDIN" 1
	expect_refused "status_bench" "is not migctl's simulator"
}

t_fuzz_cli_replay_refuses_a_library_that_is_not_the_simulator() {
	build_standin
	local t="$MIGCTL_BUILD/tests/fuzz/replay_cli"
	[ -x "$t" ] || {
		echo "# SKIP $t is not built"
		return
	}
	MIGSIM_LIB="$STANDIN" expect_rc 1 "$t"
	expect_refused "replay_cli" "is not migctl's simulator"
}

t_simulator_api_tests_refuse_a_library_that_is_not_the_simulator() {
	build_standin
	local t
	for t in "$MIGCTL_BUILD"/tests/sim/test_*; do
		[ -x "$t" ] || continue
		MIGSIM_LIB="$STANDIN" "$t" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
		[ $? -ne 0 ] || fail "$(basename "$t") passed on a library that is not the simulator"
		OUT=$(cat "$TEST_TMP/out") ERR=$(cat "$TEST_TMP/err")
		expect_refused "$(basename "$t")" "migsimGetLastError"
	done
}

t_shell_tests_refuse_a_library_that_is_not_the_simulator() {
	build_standin
	MIGSIM_LIB="$STANDIN" expect_rc 1 bash "$SRC_DIR/tests/shell/test_abi_client.sh"
	expect_refused "a shell test (lib.sh)" "Bail out! MIGSIM_LIB=$STANDIN is not migctl's simulator"
	expect_not_contains "$OUT" "ok 1"
}

run_tests
