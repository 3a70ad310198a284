#!/usr/bin/env bash
# Crash proof: kill -9 apply at random instants on an 8-GPU simulated node with driver
# latency, many times; every time, the next apply converges and the instances the target
# keeps keep their MIG UUIDs.
#
# The node is 8 x A100-SXM4-40GB; apply goes back and forth between configs "a" and "b" of
# tests/fixtures/reliability/eight.yaml (71 operations each way: destroys, creates, MIG mode
# on GPU 7, 36 GPU instances kept). Each round starts an apply, kills it with SIGKILL after
# a random delay within one apply's duration (seeded: CRASH_SEED, printed), then checks:
#   - the simulator's state loads (never torn);
#   - the next apply of the same target exits 0 (reporting the interrupted one when it had
#     written its journal), leaves no journal, and `migctl assert` exits 0;
#   - every GPU instance the plan kept (taken from `plan --json` at the start of the round)
#     is still there with the same placement, compute instances and MIG UUIDs;
#   - no GPU instance is left without compute instances.
# Then the next round goes the other way. make check: CRASH_KILLS=20 (default); the full
# run (scripts/reliability-report.sh) uses 200. test_declarative.sh already kills apply at
# fixed journal points on one plan; this adds random instants (also before the journal,
# during planning and during MIG mode changes) and both directions.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGSIM_TRACE


HERE=$(cd "$(dirname "$0")" && pwd)
CFG="$(cd "$HERE/../fixtures/reliability" && pwd)/eight.yaml"
KILLS=${CRASH_KILLS:-20}
SEED=${CRASH_SEED:-20251125}
export MIGCTL_LOCK="$TEST_TMP/apply.lock" MIGCTL_JOURNAL="$TEST_TMP/journal.json"

cat >"$TEST_TMP/check.py" <<'PY'
import json, sys

def load(p):
    with open(p) as f:
        return json.load(f)

def gis(doc):
    return {g["index"]: {gi["id"]: gi for gi in g["gpu_instances"] or []} for g in doc["gpus"]}

cmd = sys.argv[1]
if cmd == "kept":        # PLAN SHOW: the GIs the plan keeps, with their CIs' UUIDs (JSON)
    plan, now = load(sys.argv[2]), gis(load(sys.argv[3]))
    out = []
    for g in plan["gpus"]:
        for a in g["after"]:
            if a.get("gpu_instance") is not None:
                gi = now[g["index"]][a["gpu_instance"]]
                out.append([g["index"], gi["id"], gi["placement"]["start"],
                            sorted([c["id"], c["uuid"]] for c in gi["compute_instances"])])
    print(json.dumps(out))
elif cmd == "check":     # KEPT SHOW: what is wrong now ("" when nothing)
    kept, now = load(sys.argv[2]), gis(load(sys.argv[3]))
    out = []
    for gpu, gid, start, cis in kept:
        gi = now.get(gpu, {}).get(gid)
        if gi is None or gi["placement"]["start"] != start:
            out.append("GPU %d GI %d is gone or moved" % (gpu, gid))
        elif sorted([c["id"], c["uuid"]] for c in gi["compute_instances"]) != cis:
            out.append("GPU %d GI %d: its MIG devices changed" % (gpu, gid))
    for g, m in now.items():
        for gid, gi in m.items():
            if not gi["compute_instances"]:
                out.append("GPU %d GI %d has no compute instance" % (g, gid))
    print("; ".join(out))
PY

t_kill_9_at_random_points_then_apply_converges() {
	"$MIGSIM" init 8xA100-SXM4-40GB >/dev/null || fail "migsim init"
	expect_rc 0 "$MIGCTL" --sim apply -f "$CFG" -c a
	local op
	for op in gi-create ci-create gi-destroy ci-destroy; do
		"$MIGSIM" latency set "$op" 8 >/dev/null
	done
	"$MIGSIM" latency set mig-mode 30 >/dev/null
	# one apply's duration, to draw the kill instants from
	local t0 span
	t0=$(now_ms)
	expect_rc 0 "$MIGCTL" --sim apply -f "$CFG" -c b
	span=$(($(now_ms) - t0))
	expect_rc 0 "$MIGCTL" --sim apply -f "$CFG" -c a
	echo "# seed $SEED (CRASH_SEED), $KILLS kills, an apply takes ${span} ms"
	RANDOM=$SEED
	local round target=b p rc delay killed=0 by_itself=0 before_journal=0 mid=0 survived=0 problems j done_ total
	for ((round = 1; round <= KILLS; round++)); do
		"$MIGCTL" --sim --json plan -f "$CFG" -c "$target" >"$TEST_TMP/plan.json" 2>/dev/null ||
			fail "round $round: plan -c $target failed"
		"$MIGSIM" show --json >"$TEST_TMP/show.json"
		python3 "$TEST_TMP/check.py" kept "$TEST_TMP/plan.json" "$TEST_TMP/show.json" >"$TEST_TMP/kept.json"
		delay=$(((RANDOM * 32768 + RANDOM) % (span + 1)))
		"$MIGCTL" --sim apply -f "$CFG" -c "$target" >"$TEST_TMP/k.out" 2>"$TEST_TMP/k.err" &
		p=$!
		sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
		kill -9 "$p" 2>/dev/null
		{ wait "$p"; } 2>/dev/null
		rc=$?
		done_="-"
		total="-"
		if [ "$rc" -eq 137 ]; then
			killed=$((killed + 1))
			if [ -e "$MIGCTL_JOURNAL" ]; then
				mid=$((mid + 1))
				j=$(<"$MIGCTL_JOURNAL")
				[[ $j =~ \"done\":\ ([0-9]+) ]] && done_=${BASH_REMATCH[1]}
			else
				before_journal=$((before_journal + 1))
			fi
		elif [ "$rc" -eq 0 ]; then
			by_itself=$((by_itself + 1))
		else
			fail "round $round: apply exited $rc before the kill: $(cat "$TEST_TMP/k.err")"
		fi
		if ! "$MIGSIM" show --json >"$TEST_TMP/show.json" 2>"$TEST_TMP/show.err"; then
			fail "round $round (killed after ${delay} ms): the state does not load: $(cat "$TEST_TMP/show.err")"
			break
		fi
		json_valid <"$TEST_TMP/show.json" || fail "round $round: show --json is not JSON"
		problems=""
		"$MIGCTL" --sim apply --lock-timeout 30 -f "$CFG" -c "$target" >"$TEST_TMP/r.out" 2>"$TEST_TMP/r.err" ||
			problems="the next apply exited $?: $(head -c 300 "$TEST_TMP/r.err")"
		if [ "$done_" != "-" ] && ! grep -q "An earlier apply (started" "$TEST_TMP/r.out"; then
			problems="$problems; the next apply did not report the interrupted one"
		fi
		[ -e "$MIGCTL_JOURNAL" ] && problems="$problems; the journal stayed"
		"$MIGCTL" --sim assert -f "$CFG" -c "$target" >/dev/null 2>&1 || problems="$problems; assert -c $target exited $?"
		"$MIGSIM" show --json >"$TEST_TMP/show.json"
		local bad
		bad=$(python3 "$TEST_TMP/check.py" check "$TEST_TMP/kept.json" "$TEST_TMP/show.json")
		[ -n "$bad" ] && problems="$problems; $bad"
		if [ -n "$problems" ]; then
			fail "round $round (seed $SEED, -> $target, killed after ${delay} ms, exit $rc, journal done $done_): $problems"
		else
			survived=$((survived + 1))
		fi
		[ "$target" = b ] && target=a || target=b
	done
	echo "# figures: kills=$KILLS killed=$killed mid_apply=$mid before_journal=$before_journal finished_first=$by_itself survived=$survived seed=$SEED"
	expect_eq "$survived" "$KILLS" "rounds that converged with kept UUIDs"
	[ "$mid" -ge $((KILLS / 3)) ] || fail "only $mid of $KILLS kills hit an apply part way through"
	"$MIGSIM" latency clear >/dev/null
}

run_tests
