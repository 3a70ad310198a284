#!/usr/bin/env bash
# A plan written down (plan --output) and carried out later (apply --plan): exactly what was
# planned, or refused with nothing changed when the GPUs moved in between; every bad input.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG
SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
A100="$SRC_DIR/examples/a100-40gb.yaml"
export MIGCTL_LOCK="$TEST_TMP/lock" MIGCTL_JOURNAL="$TEST_TMP/journal.json"

t_a_plan_round_trips_and_runs_as_written() {
	"$MIGSIM" init A100-SXM4-40GB >/dev/null || fail "migsim init"
	mc 0 plan -f "$A100" -c all-balanced --output "$TEST_TMP/p.json"
	expect_contains "$OUT" "Plan written to $TEST_TMP/p.json"
	json_valid <"$TEST_TMP/p.json" || fail "the plan is not JSON"
	expect_eq "$(json_eval "(d['format'], d['version'], len(d['operations']))" <"$TEST_TMP/p.json")" \
		'["migctl-plan", 1, 9]' "the plan document"
	# the same plan on standard output, and nothing else
	mc 0 plan -f "$A100" -c all-balanced -o -
	expect_eq "$(echo "$OUT" | json_eval "len(d['operations'])")" 9 "plan -o -"
	local before
	before=$(sim_snapshot)
	mc 0 apply --plan "$TEST_TMP/p.json"
	expect_contains "$OUT" "Plan carried out successfully (9 operations)"
	mc 0 assert -f "$A100" -c all-balanced
	[ ! -e "$MIGCTL_JOURNAL" ] || fail "apply --plan left its journal"
	# run again: the GPU is no longer as the plan saw it
	local after
	after=$(sim_snapshot)
	mc 1 apply --plan "$TEST_TMP/p.json"
	expect_contains "$ERR" "changed since the plan was made"
	expect_contains "$ERR" "nothing was changed"
	expect_unchanged "$after" "the node after a stale plan"
	[ "$before" != "$after" ] || fail "the plan changed nothing"
}

t_a_plan_made_stale_by_another_change_is_refused() {
	"$MIGSIM" init A100-SXM4-40GB >/dev/null || fail "migsim init"
	mc 0 mode enable
	mc 0 --json plan -f "$A100" -c all-1g.5gb --output "$TEST_TMP/p.json"
	mc 0 create 3g.20gb -C
	local after
	after=$(sim_snapshot)
	mc 1 --json apply --plan "$TEST_TMP/p.json"
	expect_json_error "GPU 0 changed since the plan was made"
	expect_unchanged "$after" "the node after a stale plan"
}

t_bad_plan_files() {
	"$MIGSIM" init A100-SXM4-40GB >/dev/null || fail "migsim init"
	local before
	before=$(sim_snapshot)
	mc 1 apply --plan "$TEST_TMP/none.json"
	expect_contains "$ERR" "cannot open plan $TEST_TMP/none.json: No such file or directory"
	echo '{"format": "migctl-plan", "version": 1' >"$TEST_TMP/cut.json"
	mc 1 apply --plan "$TEST_TMP/cut.json"
	expect_contains "$ERR" "not a plan (format migctl-plan): line"
	expect_contains "$ERR" "make one with: migctl plan -f CONFIG -c NAME --output FILE"
	echo '{"format": "migctl-plan", "version": 7, "gpus": [], "operations": [], "mode_operations": 0}' >"$TEST_TMP/new.json"
	mc 1 apply --plan "$TEST_TMP/new.json"
	expect_contains "$ERR" "a plan of format version 7; this libmig reads version 1"
	echo '{"format": "migctl-plan", "version": 1, "mode_operations": 0, "gpus": [], "operations": [{"op": "explode"}]}' >"$TEST_TMP/op.json"
	mc 1 apply --plan "$TEST_TMP/op.json"
	expect_contains "$ERR" "op must be one of destroy_ci, destroy_gi, disable_mig, enable_mig, create_gi, create_ci"
	# a GPU this node does not have
	mc 0 plan -f "$A100" -c all-balanced -o "$TEST_TMP/p.json"
	sed 's/"uuid": "GPU-[^"]*"/"uuid": "GPU-00000000-0000-0000-0000-000000000000"/; s/"gpu_uuid": "GPU-[^"]*"/"gpu_uuid": "GPU-00000000-0000-0000-0000-000000000000"/' \
		"$TEST_TMP/p.json" >"$TEST_TMP/other.json"
	mc 1 apply --plan "$TEST_TMP/other.json"
	expect_contains "$ERR" "which this node does not have; nothing was changed"
	expect_unchanged "$before" "the node after refused plans"
	# usage
	mc 2 apply --plan "$TEST_TMP/p.json" -f "$A100"
	expect_contains "$ERR" "--plan carries out a plan made earlier; it takes no config"
	mc 2 plan -f "$A100" --output
	expect_contains "$ERR" "unknown or incomplete argument '--output'"
}

run_tests
