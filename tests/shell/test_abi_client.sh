#!/usr/bin/env bash
# The outside client finds the simulator by SONAME through LD_LIBRARY_PATH, as any
# third-party NVML program would, and walks the whole MIG lifecycle.
. "$(dirname "$0")/lib.sh"

t_outside_client_walkthrough() {
	"$MIGSIM" init A100-SXM4-40GB >/dev/null || fail "migsim init"
	LD_LIBRARY_PATH="$(dirname "$MIGSIM_LIB")" "$MIGCTL_BUILD/tests/abi-client/client" >"$TEST_TMP/client.tap" 2>&1
	local rc=$?
	sed 's/^/# /' "$TEST_TMP/client.tap"
	[ "$rc" -eq 0 ] || fail "the outside client reported failures (exit $rc)"
	grep -q '^not ok' "$TEST_TMP/client.tap" && fail "a client check failed"
	local n
	n=$(grep -c '^ok' "$TEST_TMP/client.tap")
	[ "$n" -ge 30 ] || fail "only $n client checks ran"
	expect_rc 0 "$MIGSIM" show --json
	expect_contains "$OUT" '"gpu_instances": []'
}

t_client_without_library_path_fails_cleanly() {
	# Without the simulator on the search path: no libnvidia-ml.so.1 here, or, on a machine
	# with NVIDIA's driver, the real one, which the client refuses before any call
	# (tests/shell/test_sim_guard.sh shows that refusal on a stand-in library).
	env -u LD_LIBRARY_PATH "$MIGCTL_BUILD/tests/abi-client/client" >"$TEST_TMP/out" 2>&1
	[ $? -ne 0 ] || fail "client succeeded without the simulator"
	grep -qE '^not ok 1 - dlopen|^Bail out! .* not migctl.s simulator' "$TEST_TMP/out" ||
		fail "expected the dlopen check to fail or the client to refuse: $(cat "$TEST_TMP/out")"
}

run_tests
