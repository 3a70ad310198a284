#!/usr/bin/env bash
# The placement policy (issue 12) through `migctl --sim`: `create` without --placement puts a
# new GPU instance where it costs the fewest further instances of the GPU's profiles, so a
# later, larger one still fits; `apply` places new instances the same way.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB

init_ok() {
	"$MIGSIM" init "$@" >/dev/null 2>"$TEST_TMP/init.err" || fail "migsim init $*: $(cat "$TEST_TMP/init.err")"
}

# the placements of GPU 0's instances, "profile start:size" per line, by start
layout() {
	"$MIGSIM" show --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
names = {19: "1g.5gb", 14: "2g.10gb", 9: "3g.20gb", 5: "4g.20gb", 0: "7g.40gb", 15: "1g.10gb"}
gis = sorted(d["gpus"][0]["gpu_instances"], key=lambda g: g["placement"]["start"])
print(" ".join("%s@%d:%d" % (names.get(g["profile_id"], g["profile_id"]), g["placement"]["start"],
                               g["placement"]["size"]) for g in gis))'
}

# On an empty A100 a 2g used to go to 0:2, the 4g.20gb's only placement, and the 4g failed.
t_2g_then_4g_fit() {
	init_ok A100-SXM4-40GB
	mc 0 mode enable
	mc 0 create 2g.10gb
	expect_contains "$OUT" "(2g.10gb, profile ID 14) on GPU 0 at placement 4:2"
	mc 0 create 4g.20gb
	expect_contains "$OUT" "(4g.20gb, profile ID 5) on GPU 0 at placement 0:4"
	expect_eq "$(layout)" "4g.20gb@0:4 2g.10gb@4:2" "the layout"
	# the last compute slice still takes a 1g, at 6
	mc 0 create 1g.5gb
	expect_contains "$OUT" "at placement 6:1"
}

# Single 1g instances fill one half first, keeping the other whole for a 3g or 4g.
t_1g_instances_keep_a_half_whole() {
	init_ok A100-SXM4-40GB
	mc 0 mode enable
	local i
	for i in 1 2 3; do
		mc 0 create 1g.5gb
	done
	mc 0 create 4g.20gb
	expect_contains "$OUT" "at placement 0:4"
}

# When no placement is free, the message still says why and nothing changes.
t_full_gpu_refused() {
	init_ok A100-SXM4-40GB
	mc 0 mode enable
	mc 0 create 4g.20gb
	mc 0 create 3g.20gb
	local before
	before=$(sim_snapshot)
	mc 1 create 1g.5gb
	expect_contains "$ERR" "no room for 1g.5gb"
	expect_contains "$ERR" "nothing was changed"
	expect_eq "$(sim_snapshot)" "$before" "the node after the refused create"
}

# apply places new instances by the same policy: 2g and 1g beside a kept 4g need the right half.
t_apply_places_by_policy() {
	init_ok A100-SXM4-40GB
	mc 0 mode enable
	cat >"$TEST_TMP/c.yaml" <<'YAML'
version: v1
mig-configs:
  small:
    - devices: all
      mig-enabled: true
      mig-devices:
        "2g.10gb": 1
  grow:
    - devices: all
      mig-enabled: true
      mig-devices:
        "2g.10gb": 1
        "4g.20gb": 1
        "1g.5gb": 1
YAML
	mc 0 apply -f "$TEST_TMP/c.yaml" -c small
	expect_eq "$(layout)" "2g.10gb@4:2" "after small"
	mc 0 apply -f "$TEST_TMP/c.yaml" -c grow
	expect_eq "$(layout)" "4g.20gb@0:4 2g.10gb@4:2 1g.5gb@6:1" "after grow: the 2g was kept"
}

run_tests
