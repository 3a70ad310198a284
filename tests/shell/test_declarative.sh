#!/usr/bin/env bash
# The declarative commands, end to end on the simulator: plan, apply, assert and export with
# mig-parted's v1 configs.
#
# What is checked after every apply: it did exactly the operations its plan listed (the
# simulator counts the NVML calls that change something), every instance the plan keeps is
# still there with the same ids, placement and MIG UUIDs, assert exits 0, plan has nothing
# to do, and a second apply does nothing. Since the simulator's MIG UUIDs are derived from
# (GPU, GI id, CI id), an instance destroyed and re-created in place would keep its UUID:
# the call counts are what prove that a kept instance was never touched.
#
# Safety: a per-node lock ($MIGCTL_LOCK) makes concurrent applies take turns; a journal
# ($MIGCTL_JOURNAL) lets an apply that was killed or failed half-way be reported and finished
# by the next run, without disturbing what the target keeps. Every test has its own lock and
# journal under $TEST_TMP.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG


HERE=$(cd "$(dirname "$0")" && pwd)
EXAMPLES=$(cd "$HERE/../../examples" && pwd)
FIX=$(cd "$HERE/../fixtures/declarative" && pwd)
A100="$EXAMPLES/a100-40gb.yaml"
H100="$EXAMPLES/h100-80gb.yaml"
A30="$EXAMPLES/a30.yaml"
MIXED="$FIX/mixed-node.yaml"
SWEEP="$FIX/sweep.yaml"
COMPUTE="$FIX/a100-compute.yaml"
MIXED_NODE="A100-SXM4-40GB,A30,H100-SXM5-80GB"

# The NVML functions behind the operations: destroy-ci, destroy-gi, mode, create-gi, create-ci.
FN_DCI=nvmlComputeInstanceDestroy
FN_DGI=nvmlGpuInstanceDestroy
FN_MODE=nvmlDeviceSetMigMode
FN_CGI=nvmlDeviceCreateGpuInstanceWithPlacement
FN_CGI2=nvmlDeviceCreateGpuInstance
FN_CCI=nvmlGpuInstanceCreateComputeInstanceWithPlacement
FN_CCI2=nvmlGpuInstanceCreateComputeInstance

# ---- helpers ---------------------------------------------------------------------------

# no_bare_gpu_instances WHAT: no GPU instance of the node is without a compute instance.
no_bare_gpu_instances() {
	local bare
	bare=$("$MIGSIM" show --json | json_eval "[(g['index'], gi['id']) for g in d['gpus'] for gi in g['gpu_instances'] if not gi['compute_instances']]")
	expect_eq "$bare" "[]" "GPU instances without compute instances, $1"
}

# node GPUS: a fresh simulated node, and the calling test's own apply lock and journal.
node() {
	export MIGCTL_LOCK="$TEST_TMP/${FUNCNAME[1]}.lock"
	export MIGCTL_JOURNAL="$TEST_TMP/${FUNCNAME[1]}.journal.json"
	rm -f "$MIGCTL_LOCK" "$MIGCTL_JOURNAL"
	"$MIGSIM" init "$1" >/dev/null 2>"$TEST_TMP/init.err" || fail "migsim init $1: $(cat "$TEST_TMP/init.err")"
}

# sim ARGS...: migsim ARGS must succeed; prints its output.
sim() {
	"$MIGSIM" "$@" >"$TEST_TMP/sim.out" 2>&1 || fail "migsim $*: $(cat "$TEST_TMP/sim.out")"
	cat "$TEST_TMP/sim.out"
}

# listing FILE: `migctl list --json` into FILE.
listing() {
	"$MIGCTL" --sim list --json >"$1" 2>"$TEST_TMP/list.err" || fail "migctl list --json: $(cat "$TEST_TMP/list.err")"
}

# mig_uuid GPU GI [CI]: the MIG UUID of a compute instance (CI 0 by default), from list --json.
mig_uuid() {
	"$MIGCTL" --sim list --json | json_eval "[c['uuid'] for g in d['gpus'] if g['index'] == $1 for gi in g['gpu_instances'] if gi['id'] == $2 for c in gi['compute_instances'] if c['id'] == ${3:-0}][0]"
}

# journal_done: the "done" count of the apply journal.
journal_done() {
	local j
	j=$(<"$MIGCTL_JOURNAL")
	[[ $j =~ \"done\":\ ([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}

no_journal() {
	[ ! -e "$MIGCTL_JOURNAL" ] || fail "${1:-apply} left its journal behind: $(head -c 300 "$MIGCTL_JOURNAL")"
}

# converged FILE CONFIG: assert exits 0, plan has nothing to do, and apply does nothing (the
# node is unchanged) and leaves no journal.
converged() {
	mc 0 assert -f "$1" -c "$2"
	expect_eq "$OUT" "Selected MIG configuration currently applied" "assert -c $2 after apply"
	mc 0 plan -f "$1" -c "$2"
	expect_contains "$OUT" "Nothing to do."
	expect_not_contains "$OUT" "Operations, in order"
	state_save
	mc 0 apply -f "$1" -c "$2"
	expect_contains "$OUT" "Nothing to do: the GPUs match the configuration."
	expect_not_contains "$OUT" "Operations, in order"
	expect_state_unchanged "the node after a second apply of $2"
	no_journal "a second apply of $2"
}

# watch_calls: count, from now on, the simulator's calls that change MIG state.
watch_calls() {
	"$MIGSIM" fault clear >/dev/null
	local fn
	for fn in $FN_DCI $FN_DGI $FN_MODE $FN_CGI $FN_CGI2 $FN_CCI $FN_CCI2; do
		sim fault add "$fn" UNKNOWN --nth 1000000000 >/dev/null
	done
}

# calls: "dci=N dgi=N mode=N cgi=N cci=N", the calls made since watch_calls.
calls() {
	"$MIGSIM" show --json | python3 "$TEST_TMP/check.py" sim-calls
}

# apply_keeping FILE CONFIG KEEP_GIS NOPS: plan (JSON) keeps KEEP_GIS GPU instances and has
# NOPS operations in a valid order; apply does exactly those operations (counted by the
# simulator); every instance it keeps is untouched; the node then matches (converged).
apply_keeping() {
	local file=$1 config=$2 keep=$3 nops=$4 pre post
	listing "$TEST_TMP/before.json"
	mc 0 --json plan -f "$file" -c "$config"
	echo "$OUT" >"$TEST_TMP/plan.json"
	pre=$(python3 "$TEST_TMP/check.py" pre "$TEST_TMP/plan.json" "$keep" "$nops")
	[ -z "$pre" ] || fail "plan -c $config: $pre"
	watch_calls
	mc 0 apply -f "$file" -c "$config"
	if [ "$nops" -eq 0 ]; then
		expect_contains "$OUT" "Nothing to do: the GPUs match the configuration."
	else
		local plural=s
		[ "$nops" -eq 1 ] && plural=
		expect_contains "$OUT" "MIG configuration applied successfully ($nops operation$plural)"
	fi
	"$MIGSIM" show --json >"$TEST_TMP/sim.json"
	"$MIGSIM" fault clear >/dev/null
	no_journal "apply -c $config"
	listing "$TEST_TMP/after.json"
	post=$(python3 "$TEST_TMP/check.py" post "$TEST_TMP/before.json" "$TEST_TMP/plan.json" "$TEST_TMP/after.json" "$TEST_TMP/sim.json")
	[ -z "$post" ] || fail "apply -c $config: $post"
	converged "$file" "$config"
}

# The Python side: comparisons over JSON documents.
cat >"$TEST_TMP/check.py" <<'PY'
import json, sys

KIND = {"destroy-ci": "dci", "destroy-gi": "dgi", "disable-mig": "mode", "enable-mig": "mode",
        "create-gi": "cgi", "create-ci": "cci"}
RANK = {"destroy-ci": 0, "destroy-gi": 1, "disable-mig": 2, "enable-mig": 2, "create-gi": 3, "create-ci": 4}
FN = {"nvmlComputeInstanceDestroy": "dci", "nvmlGpuInstanceDestroy": "dgi", "nvmlDeviceSetMigMode": "mode",
      "nvmlDeviceCreateGpuInstanceWithPlacement": "cgi", "nvmlDeviceCreateGpuInstance": "cgi",
      "nvmlGpuInstanceCreateComputeInstance": "cci", "nvmlGpuInstanceCreateComputeInstanceWithPlacement": "cci"}

def load(path):
    with open(path) as f:
        return json.load(f)

def fmt(counts):
    return " ".join("%s=%d" % (k, counts.get(k, 0)) for k in ("dci", "dgi", "mode", "cgi", "cci"))

def gis(doc):
    return {g["index"]: {gi["id"]: gi for gi in g.get("gpu_instances") or []} for g in doc["gpus"]}

def where(gi):
    return "%s at %d:%d" % (gi["profile"], gi["placement"]["start"], gi["placement"]["size"])

def sim_calls(doc):
    counts = {}
    for f in doc.get("faults", []):
        k = FN.get(f["function"])
        if k:
            counts[k] = counts.get(k, 0) + f["calls"]
    return fmt(counts)

def plan_calls(plan):
    counts = {}
    for op in plan["operations"]:
        counts[KIND[op["op"]]] = counts.get(KIND[op["op"]], 0) + 1
    return fmt(counts)

def order(plan):
    out, last, gpu_seen = [], {}, []
    need = {"destroy-ci": {"gpu_instance", "compute_instance", "profile"},
            "destroy-gi": {"gpu_instance", "placement", "profile"},
            "create-gi": {"profile", "profile_id", "placement"},
            "create-ci": {"profile", "gpu_instance", "gpu_instance_placement"},
            "enable-mig": set(), "disable-mig": set()}
    created = set()
    # the mode phase comes first: mode changes, and the destroys a GPU leaving MIG mode needs
    ops = plan["operations"]
    leaving = {op.get("gpu") for op in ops if op.get("op") == "disable-mig"}
    m = 0
    while m < len(ops) and (ops[m].get("op") in ("enable-mig", "disable-mig") or
                            (ops[m].get("op") in ("destroy-ci", "destroy-gi") and ops[m].get("gpu") in leaving)):
        m += 1
    for i, op in enumerate(ops):
        if i == m:
            last, gpu_seen = {}, []
        name, gpu = op.get("op"), op.get("gpu")
        if i >= m and name in ("enable-mig", "disable-mig"):
            out.append("operation %d (%s on GPU %s) comes after the mode phase" % (i + 1, name, gpu))
        if name not in RANK:
            out.append("operation %d has an unknown op %r" % (i + 1, name)); continue
        missing = need[name] - set(op)
        if missing:
            out.append("operation %d (%s) lacks %s" % (i + 1, name, sorted(missing)))
        if name in ("enable-mig", "disable-mig") and "profile" in op:
            out.append("operation %d (%s) names a profile" % (i + 1, name))
        if gpu_seen and gpu_seen[-1] != gpu and gpu in gpu_seen:
            out.append("operation %d: GPU %s's operations are not together" % (i + 1, gpu))
        if not gpu_seen or gpu_seen[-1] != gpu:
            gpu_seen.append(gpu)
        if RANK[name] < last.get(gpu, 0):
            out.append("operation %d (%s on GPU %s) comes after a later kind of operation" % (i + 1, name, gpu))
        last[gpu] = RANK[name]
        if name == "create-gi":
            created.add((gpu, op["placement"]["start"], op["placement"]["size"]))
        if name == "create-ci" and op["gpu_instance"] is None:
            p = op["gpu_instance_placement"]
            if (gpu, p["start"], p["size"]) not in created:
                out.append("operation %d: create-ci in a new GPU instance at %d:%d that no create-gi made"
                           % (i + 1, p["start"], p["size"]))
    for g in plan["gpus"]:
        for k in ("index", "uuid", "changes", "keep", "destroy", "create", "after"):
            if k not in g:
                out.append("plan gpus[] entry lacks %s" % k)
    return out

def kept(before, plan, after):
    b, a = gis(before), gis(after)
    modes_b = {g["index"]: g["mig_mode"] for g in before["gpus"]}
    modes_a = {g["index"]: g["mig_mode"] for g in after["gpus"]}
    planned = {g["index"]: g for g in plan["gpus"]}
    dci = {(o["gpu"], o["gpu_instance"], o["compute_instance"]) for o in plan["operations"] if o["op"] == "destroy-ci"}
    dgi = {(o["gpu"], o["gpu_instance"]) for o in plan["operations"] if o["op"] == "destroy-gi"}
    out = []
    for gpu in b:
        gp = planned.get(gpu)
        untouched = gp is None or not gp["changes"]
        if untouched and modes_a.get(gpu) != modes_b[gpu]:
            out.append("GPU %d's MIG mode changed although the plan left it alone" % gpu)
        keep = None if untouched else {x["gpu_instance"] for x in gp["after"] if x["gpu_instance"] is not None}
        for gid, gi in b[gpu].items():
            if keep is not None and gid not in keep:
                if (gpu, gid) not in dgi:
                    out.append("GPU %d GI %d (%s) is neither kept nor destroyed by the plan" % (gpu, gid, where(gi)))
                continue
            if (gpu, gid) in dgi:
                out.append("the plan keeps GPU %d GI %d but also destroys it" % (gpu, gid))
            now = a.get(gpu, {}).get(gid)
            if now is None or now["placement"] != gi["placement"] or now["profile"] != gi["profile"]:
                out.append("GPU %d GI %d (%s) was to be kept, but is now %s" % (gpu, gid, where(gi), now and where(now)))
                continue
            cis = {c["id"]: c["uuid"] for c in now["compute_instances"]}
            for c in gi["compute_instances"]:
                if (gpu, gid, c["id"]) in dci:
                    continue
                if cis.get(c["id"]) != c["uuid"]:
                    out.append("GPU %d GI %d CI %d (%s) was to be kept, now %s" % (gpu, gid, c["id"], c["uuid"], cis.get(c["id"])))
    return out

cmd = sys.argv[1]
if cmd == "pre":                 # PLAN KEEP NOPS: the plan's counts and order
    plan = load(sys.argv[2])
    out = []
    k = sum(g["keep"]["gpu_instances"] for g in plan["gpus"])
    if str(k) != sys.argv[3]:
        out.append("keeps %d GPU instances, expected %s" % (k, sys.argv[3]))
    if str(len(plan["operations"])) != sys.argv[4]:
        out.append("has %d operations, expected %s" % (len(plan["operations"]), sys.argv[4]))
    print("; ".join(out + order(plan)))
elif cmd == "post":              # BEFORE PLAN AFTER SIM: calls made as planned, kept instances kept
    before, plan, after, simdoc = (load(x) for x in sys.argv[2:6])
    out = []
    got, want = sim_calls(simdoc), plan_calls(plan)
    if got != want:
        out.append("NVML calls made: %s; the plan's operations: %s" % (got, want))
    print("; ".join(out + kept(before, plan, after)))
elif cmd == "sim-calls":           # migsim show --json on stdin
    print(sim_calls(json.load(sys.stdin)))
elif cmd == "order":             # PLAN
    print("; ".join(order(load(sys.argv[2]))))
elif cmd == "same-uuids":        # BEFORE AFTER GPU:GI,...: these GIs' CIs and UUIDs are the same
    b, a = gis(load(sys.argv[2])), gis(load(sys.argv[3]))
    out = []
    for spec in sys.argv[4].split(","):
        gpu, gid = map(int, spec.split(":"))
        x, y = b.get(gpu, {}).get(gid), a.get(gpu, {}).get(gid)
        if x is None:
            out.append("GPU %d GI %d was not there to begin with" % (gpu, gid)); continue
        if y is None:
            out.append("GPU %d GI %d (%s) is gone" % (gpu, gid, where(x))); continue
        if (x["placement"], x["profile"]) != (y["placement"], y["profile"]):
            out.append("GPU %d GI %d moved: %s -> %s" % (gpu, gid, where(x), where(y)))
        ux = sorted((c["id"], c["uuid"]) for c in x["compute_instances"])
        uy = sorted((c["id"], c["uuid"]) for c in y["compute_instances"])
        if ux != uy:
            out.append("GPU %d GI %d: MIG devices %s -> %s" % (gpu, gid, ux, uy))
    print("; ".join(out))
elif cmd == "op-functions":      # PLAN: for each operation, "FUNCTION NTH" (the call that performs it)
    names = {"destroy-ci": "nvmlComputeInstanceDestroy", "destroy-gi": "nvmlGpuInstanceDestroy",
             "disable-mig": "nvmlDeviceSetMigMode", "enable-mig": "nvmlDeviceSetMigMode",
             "create-gi": "nvmlDeviceCreateGpuInstanceWithPlacement",
             "create-ci": "nvmlGpuInstanceCreateComputeInstanceWithPlacement"}
    seen = {}
    for op in load(sys.argv[2])["operations"]:
        fn = names[op["op"]]
        seen[fn] = seen.get(fn, 0) + 1
        print(fn, seen[fn], op["op"])
PY

# same_uuids FILE GPU:GI,... [WHAT]: those GPU instances are as they were in FILE (list
# --json): same placement, profile, compute instance ids and MIG UUIDs.
same_uuids() {
	listing "$TEST_TMP/now.json"
	local problems
	problems=$(python3 "$TEST_TMP/check.py" same-uuids "$1" "$TEST_TMP/now.json" "$2")
	[ -z "$problems" ] || fail "${3:-kept instances}: $problems"
}

# op_kinds: the op names of the plan JSON in $OUT, one line.
op_kinds() {
	echo "$OUT" | json_eval "' '.join(o['op'] + ':' + str(o['gpu']) for o in d['operations'])"
}

# ---- 1. transitions that keep, destroy and create ----------------------------------------

t_a100_balanced_to_all_1g_keeps_the_two_1g_instances() {
	node A100-SXM4-40GB
	apply_keeping "$A100" all-balanced 0 9
	listing "$TEST_TMP/balanced.json"
	local u9 u10 u2 u3
	u9=$(mig_uuid 0 9)
	u10=$(mig_uuid 0 10)
	u2=$(mig_uuid 0 2)
	u3=$(mig_uuid 0 3)
	apply_keeping "$A100" all-1g.5gb 2 14
	# the two 1g instances stay: same GI ids, placements and MIG UUIDs
	same_uuids "$TEST_TMP/balanced.json" 0:9,0:10 "the 1g instances of the balanced layout"
	expect_eq "$(mig_uuid 0 9)" "$u9" "GI 9's MIG UUID"
	expect_eq "$(mig_uuid 0 10)" "$u10" "GI 10's MIG UUID"
	local all
	all=$("$MIGCTL" --sim list --json | json_eval "' '.join(sorted(c['uuid'] for g in d['gpus'] for gi in g['gpu_instances'] for c in gi['compute_instances']))")
	expect_not_contains "$all" "$u2"
	expect_not_contains "$all" "$u3"
	expect_eq "$(echo "$all" | wc -w)" 7 "MIG devices after all-1g.5gb"
}

t_a100_all_1g_to_3g_2g_and_two_1g() {
	node A100-SXM4-40GB
	apply_keeping "$A100" all-1g.5gb 0 15
	listing "$TEST_TMP/all1g.json"
	# seven 1g -> 3g + 2g + 1g x2: two of the 1g stay, five go, two are created
	apply_keeping "$A100" all-balanced 2 14
	local kept
	kept=$("$MIGCTL" --sim list --json | json_eval "','.join('0:%d' % gi['id'] for gi in d['gpus'][0]['gpu_instances'] if gi['profile'] == '1g.5gb')")
	same_uuids "$TEST_TMP/all1g.json" "$kept" "the 1g instances kept from all-1g.5gb"
	# and back: the two stay again
	apply_keeping "$A100" all-1g.5gb 2 14
	# no 1g in 2g x3: everything goes
	apply_keeping "$A100" all-2g.10gb 0 20
	# 2g x3 -> balanced: the 2g at 0:2 stays, the 3g goes to 4:4 beside it
	apply_keeping "$A100" all-balanced 1 10
	apply_keeping "$A100" all-3g.20gb 1 8
	apply_keeping "$A100" pinned 1 6
	apply_keeping "$A100" shared-4g 1 9
}

t_a100_enabled_disabled_enabled() {
	node A100-SXM4-40GB
	apply_keeping "$A100" all-balanced 0 9
	mc 0 --json plan -f "$A100" -c all-disabled
	expect_eq "$(op_kinds)" "destroy-ci:0 destroy-ci:0 destroy-ci:0 destroy-ci:0 destroy-gi:0 destroy-gi:0 destroy-gi:0 destroy-gi:0 disable-mig:0" "ops to disable"
	apply_keeping "$A100" all-disabled 0 9
	expect_eq "$("$MIGSIM" show --json | json_eval "d['gpus'][0]['mig_mode']")" '{"current": "disabled", "pending": "disabled"}' "MIG mode"
	mc 0 --json plan -f "$A100" -c all-enabled
	expect_eq "$(op_kinds)" "enable-mig:0" "ops to enable"
	apply_keeping "$A100" all-enabled 0 1
	apply_keeping "$A100" all-disabled 0 1
	apply_keeping "$A100" all-balanced 0 9
	expect_eq "$("$MIGSIM" show --json | json_eval "len(d['gpus'][0]['gpu_instances'])")" 4 "GPU instances"
}

t_h100_transitions() {
	node H100-SXM5-80GB
	apply_keeping "$H100" all-balanced 0 9
	listing "$TEST_TMP/balanced.json"
	# 3g + 1g x2 stay; the 2g becomes a 1g+me
	apply_keeping "$H100" inference 3 4
	same_uuids "$TEST_TMP/balanced.json" 0:2,0:9,0:10
	apply_keeping "$H100" all-1g.20gb 0 16
	apply_keeping "$H100" all-1g.10gb 0 22
	apply_keeping "$H100" all-balanced 2 14
	apply_keeping "$H100" all-disabled 0 9
	apply_keeping "$H100" inference 0 9
}

t_a30_transitions() {
	node A30
	apply_keeping "$A30" all-1g.6gb 0 9
	listing "$TEST_TMP/all1g.json"
	apply_keeping "$A30" all-balanced 2 6
	same_uuids "$TEST_TMP/all1g.json" 0:3,0:4
	apply_keeping "$A30" media 2 4
	apply_keeping "$A30" all-2g.12gb 1 6
	apply_keeping "$A30" all-1g.6gb 0 12
	apply_keeping "$A30" all-disabled 0 9
}

t_mixed_node_transitions() {
	node "$MIXED_NODE"
	apply_keeping "$MIXED" balanced 0 25
	listing "$TEST_TMP/balanced.json"
	# A100: 1g x2 stay, A30: the 2g stays, H100: 3g and 1g x2 stay
	apply_keeping "$MIXED" small 6 24
	same_uuids "$TEST_TMP/balanced.json" 0:9,0:10,1:1,2:2,2:9,2:10
	apply_keeping "$MIXED" a100-off 1 35
	# the H100's 3g at 4:4 (GI 2) was in every layout so far
	same_uuids "$TEST_TMP/balanced.json" 2:2 "the H100's 3g"
	# A100: MIG on, 4 new; A30: two 1g stay; H100 3g x2: the 3g at 4:4 stays (balanced puts
	# its 3g there), the one at 0:4 makes room for 2g + 1g x2
	apply_keeping "$MIXED" balanced 3 23
	# -i narrows what the config selects: only the A30 changes
	mc 0 --json -i 1 plan -f "$MIXED" -c small
	expect_eq "$(echo "$OUT" | json_eval "[g['index'] for g in d['gpus']]")" "[1]" "GPUs planned with -i 1"
	listing "$TEST_TMP/before-i.json"
	mc 0 -i 1 apply -f "$MIXED" -c small
	same_uuids "$TEST_TMP/before-i.json" 0:2,0:3,0:9,0:10,2:2,2:3,2:9,2:10 "GPUs 0 and 2 (not selected)"
	mc 4 assert -f "$MIXED" -c small
	mc 0 -i 1 assert -f "$MIXED" -c small
}

# ---- 2. minimal disruption around busy instances -------------------------------------------

t_busy_instance_the_target_keeps_is_kept() {
	node A100-SXM4-40GB
	mc 0 apply -f "$A100" -c all-balanced
	listing "$TEST_TMP/balanced.json"
	local pid u9
	u9=$(mig_uuid 0 9)
	pid=$(sim proc start --uuid "$u9")
	apply_keeping "$A100" all-1g.5gb 2 14
	same_uuids "$TEST_TMP/balanced.json" 0:9
	expect_eq "$("$MIGSIM" show --json | json_eval "[(p['pid'], p['mig_uuid']) for p in d['processes']]")" "[[$pid, \"$u9\"]]" "processes"
	# a busy 3g the target keeps: all-3g.20gb keeps GI 2 at 4:4 and its process
	node A100-SXM4-40GB
	mc 0 apply -f "$A100" -c all-balanced
	local u2
	u2=$(mig_uuid 0 2)
	pid=$(sim proc start --uuid "$u2")
	apply_keeping "$A100" all-3g.20gb 1 8
	expect_eq "$(mig_uuid 0 2)" "$u2" "the busy 3g's MIG UUID"
	expect_eq "$("$MIGSIM" show --json | json_eval "[(p['pid'], p['mig_uuid']) for p in d['processes']]")" "[[$pid, \"$u2\"]]" "processes"
}

t_busy_instance_the_target_drops_is_refused() {
	node A100-SXM4-40GB
	mc 0 apply -f "$A100" -c all-balanced
	local u2 pid before
	u2=$(mig_uuid 0 2)
	pid=$(sim proc start --uuid "$u2")
	before=$(sim_snapshot)
	local config
	for config in all-1g.5gb all-2g.10gb all-disabled; do
		mc 1 apply -f "$A100" -c "$config"
		expect_contains "$ERR" "GPU 0 GPU instance 2 (3g.20gb at 4:4) runs process $pid on compute instance 0 ($u2)"
		expect_contains "$ERR" "Stop its processes, or pass --force"
		expect_eq "$OUT" "" "stdout of the refused apply -c $config"
		expect_unchanged "$before" "the node after the refused apply -c $config"
		no_journal "the refused apply -c $config"
		mc 1 plan -f "$A100" -c "$config"
		expect_contains "$ERR" "runs process $pid"
		# assert reports a difference, not an error
		mc 4 assert -f "$A100" -c "$config"
	done
	mc 1 apply -f "$A100" -c all-disabled
	expect_contains "$ERR" "disabling MIG would destroy it"
	mc 1 apply -f "$A100" -c all-1g.5gb
	expect_contains "$ERR" "the target has no place for it"
	# --force plans the destroy; the driver still refuses while the process runs, before
	# anything was changed (the busy instance's compute instance is the first operation)
	mc 0 plan --force -f "$A100" -c all-1g.5gb
	expect_contains "$OUT" "1. GPU 0: destroy compute instance 0 (3g.20gb) in GPU instance 2"
	mc 1 apply --force -f "$A100" -c all-1g.5gb
	expect_contains "$ERR" "In use by another client"
	expect_contains "$ERR" "0 of 14 operations were done"
	expect_unchanged "$before" "the node after apply --force with the process running"
	# once the process is gone, the same apply goes through
	sim proc stop "$pid" >/dev/null
	mc 0 apply -f "$A100" -c all-1g.5gb
	expect_contains "$OUT" "An earlier apply"
	converged "$A100" all-1g.5gb
}

# A busy instance pins the layout; every other instance that fits beside it must stay too.
# all-1g.5gb with a process on the 1g at 3:1 -> all-balanced: the only layout with a 1g at 3:1
# is 2g 0:2, 1g 2:1, 1g 3:1, 3g 4:4, so the idle 1g at 2:1 (GI 9) can stay as well: keep 2,
# destroy 5, create 2 (14 operations).
t_busy_instance_still_keeps_the_most() {
	node A100-SXM4-40GB
	mc 0 apply -f "$A100" -c all-1g.5gb
	listing "$TEST_TMP/all1g.json"
	local u10 pid
	u10=$(mig_uuid 0 10)
	pid=$(sim proc start --uuid "$u10")
	mc 0 --json plan -f "$A100" -c all-balanced
	expect_eq "$(echo "$OUT" | json_eval "sorted(x['gpu_instance'] for x in d['gpus'][0]['after'] if x['gpu_instance'] is not None)")" \
		"[9, 10]" "GPU instances kept beside the busy GI 10"
	expect_eq "$(echo "$OUT" | json_eval "len(d['operations'])")" 14 "operations"
	mc 0 apply -f "$A100" -c all-balanced
	same_uuids "$TEST_TMP/all1g.json" 0:10 "the busy 1g"
	expect_eq "$("$MIGSIM" show --json | json_eval "[(p['pid'], p['mig_uuid']) for p in d['processes']]")" "[[$pid, \"$u10\"]]" "processes"
	converged "$A100" all-balanced
}

# The same without any process: two 3g -> balanced. Balanced's 3g goes to 4:4, where the
# second 3g (GI 2) already is: keep it, destroy the 3g at 0:4, create 2g + 1g x2 (8
# operations), rather than destroy both and create a 3g at 4:4 again (12).
t_idle_instance_the_target_contains_is_kept() {
	node A100-SXM4-40GB
	mc 0 apply -f "$A100" -c all-3g.20gb
	apply_keeping "$A100" all-balanced 1 8
	node H100-SXM5-80GB
	mc 0 mode enable
	mc 0 create 3g.40gb,3g.40gb -C
	apply_keeping "$H100" all-balanced 1 8
}

# Compute instances change inside GPU instances that stay.
t_compute_instances_change_inside_kept_gpu_instances() {
	node A100-SXM4-40GB
	mc 0 apply -f "$A100" -c shared-4g
	listing "$TEST_TMP/shared.json"
	apply_keeping "$COMPUTE" 4g-1c-1c-2c 2 3
	same_uuids "$TEST_TMP/shared.json" 0:2 "the 3g"
	apply_keeping "$COMPUTE" 4g-2c-2c 2 3
	apply_keeping "$COMPUTE" 4g-whole 2 3
	apply_keeping "$COMPUTE" 4g-1c-x4 2 5
	same_uuids "$TEST_TMP/shared.json" 0:2 "the 3g"
	# which compute instances stay decides whether the new one fits: with 1c at slices 0, 2
	# and 3, a 2c fits only at 0:2, so the 1c at 0 must go and those at 2 and 3 stay
	mc 0 destroy --gi 1 --ci 1
	local u_ci2 u_ci3
	u_ci2=$(mig_uuid 0 1 2)
	u_ci3=$(mig_uuid 0 1 3)
	mc 0 apply -f "$COMPUTE" -c 4g-1c-1c-2c
	expect_contains "$OUT" "1. GPU 0: destroy compute instance 0 (1c.4g.20gb) in GPU instance 1"
	expect_contains "$OUT" "MIG configuration applied successfully (2 operations)"
	no_journal "apply 4g-1c-1c-2c with holes"
	local now
	now=$("$MIGCTL" --sim list --json | json_eval "' '.join(c['uuid'] for gi in d['gpus'][0]['gpu_instances'] for c in gi['compute_instances'])")
	expect_contains "$now" "$u_ci2"
	expect_contains "$now" "$u_ci3"
	converged "$COMPUTE" 4g-1c-1c-2c
}

# ---- 3. plan output -------------------------------------------------------------------------

t_plan_text_lists_operations_in_order_with_pictures() {
	node A100-SXM4-40GB
	mc 0 apply -f "$A100" -c all-balanced
	state_save
	mc 0 plan -f "$A100" -c all-1g.5gb
	expect_eq "$OUT" "GPU 0: NVIDIA A100-SXM4-40GB: keep 2 GPU and 2 compute instances, destroy 2 and 2, create 5 and 5
    before [  3][  3][  9][ 10][  2][  2][  2][  2]
    after  [new][new][  9][ 10][new][new][new][ . ]
Operations, in order:
   1. GPU 0: destroy compute instance 0 (3g.20gb) in GPU instance 2
   2. GPU 0: destroy compute instance 0 (2g.10gb) in GPU instance 3
   3. GPU 0: destroy GPU instance 2 (3g.20gb at 4:4)
   4. GPU 0: destroy GPU instance 3 (2g.10gb at 0:2)
   5. GPU 0: create GPU instance 1g.5gb (profile ID 19) at placement 0:1
   6. GPU 0: create GPU instance 1g.5gb (profile ID 19) at placement 1:1
   7. GPU 0: create GPU instance 1g.5gb (profile ID 19) at placement 4:1
   8. GPU 0: create GPU instance 1g.5gb (profile ID 19) at placement 5:1
   9. GPU 0: create GPU instance 1g.5gb (profile ID 19) at placement 6:1
  10. GPU 0: create compute instance 1g.5gb in the new GPU instance at 0:1
  11. GPU 0: create compute instance 1g.5gb in the new GPU instance at 1:1
  12. GPU 0: create compute instance 1g.5gb in the new GPU instance at 4:1
  13. GPU 0: create compute instance 1g.5gb in the new GPU instance at 5:1
  14. GPU 0: create compute instance 1g.5gb in the new GPU instance at 6:1" "plan balanced -> all-1g.5gb"
	# compute instances only: the 4g stays, its compute instances change
	mc 0 apply -f "$A100" -c shared-4g
	mc 0 plan -f "$A100" -c all-balanced
	expect_contains "$OUT" "GPU 0: NVIDIA A100-SXM4-40GB: keep 1 GPU and 1 compute instances"
	mc 0 plan -f "$A100" -c shared-4g
	expect_eq "$OUT" "GPU 0: NVIDIA A100-SXM4-40GB: already as configured
Nothing to do." "plan of the current layout"
	# a GPU with MIG off has no picture rows to draw from, only "new"
	node 2xA100-SXM4-40GB
	mc 0 -i 1 apply -f "$A100" -c all-3g.20gb
	mc 0 plan -f "$A100" -c all-3g.20gb
	expect_contains "$OUT" "GPU 0: NVIDIA A100-SXM4-40GB: keep 0 GPU and 0 compute instances, destroy 0 and 0, create 2 and 2
    before [ . ][ . ][ . ][ . ][ . ][ . ][ . ][ . ]
    after  [new][new][new][new][new][new][new][new]
GPU 1: NVIDIA A100-SXM4-40GB: already as configured
Operations, in order:
   1. GPU 0: enable MIG mode
   2. GPU 0: create GPU instance 3g.20gb (profile ID 9) at placement 0:4"
}

t_plan_json_shape() {
	node "$MIXED_NODE"
	mc 0 apply -f "$SWEEP" -c start
	mc 0 --json plan -f "$SWEEP" -c target
	echo "$OUT" | json_valid || fail "plan --json is not JSON: $OUT"
	echo "$OUT" >"$TEST_TMP/plan.json"
	local order
	order=$(python3 "$TEST_TMP/check.py" order "$TEST_TMP/plan.json")
	[ -z "$order" ] || fail "plan --json: $order"
	expect_eq "$(echo "$OUT" | json_eval "sorted(d)")" '["gpus", "operations"]' "top-level keys"
	expect_eq "$(echo "$OUT" | json_eval "sorted(set(o['op'] for o in d['operations']))")" \
		'["create-ci", "create-gi", "destroy-ci", "destroy-gi", "disable-mig", "enable-mig"]' "op names"
	expect_eq "$(echo "$OUT" | json_eval "[(g['index'], g['changes'], g['keep'], g['destroy'], g['create']) for g in d['gpus']]")" \
		'[[0, true, {"gpu_instances": 2, "compute_instances": 2}, {"gpu_instances": 2, "compute_instances": 2}, {"gpu_instances": 5, "compute_instances": 5}], [1, true, {"gpu_instances": 0, "compute_instances": 0}, {"gpu_instances": 0, "compute_instances": 0}, {"gpu_instances": 4, "compute_instances": 4}], [2, true, {"gpu_instances": 0, "compute_instances": 0}, {"gpu_instances": 4, "compute_instances": 4}, {"gpu_instances": 0, "compute_instances": 0}]]' \
		"per-GPU counts"
	expect_eq "$(echo "$OUT" | json_eval "[g['uuid'] for g in d['gpus']]")" \
		"$("$MIGSIM" show --json | json_eval "[g['uuid'] for g in d['gpus']]")" "GPU UUIDs"
	expect_eq "$(echo "$OUT" | json_eval "d['gpus'][0]['after'][:2]")" \
		'[{"gpu_instance": 9, "profile": "1g.5gb", "placement": {"start": 2, "size": 1}}, {"gpu_instance": 10, "profile": "1g.5gb", "placement": {"start": 3, "size": 1}}]' \
		"kept instances in after[]"
	expect_eq "$(echo "$OUT" | json_eval "d['operations'][0]")" \
		'{"op": "enable-mig", "gpu": 1}' "first operation (the mode phase comes first)"
	expect_eq "$(echo "$OUT" | json_eval "[o for o in d['operations'] if o['op'] in ('enable-mig', 'disable-mig')]")" \
		'[{"op": "enable-mig", "gpu": 1}, {"op": "disable-mig", "gpu": 2}]' "mode operations"
	expect_eq "$(echo "$OUT" | json_eval "[o for o in d['operations'] if o['op'] == 'create-gi'][0]")" \
		'{"op": "create-gi", "gpu": 0, "profile": "1g.5gb", "profile_id": 19, "placement": {"start": 0, "size": 1}}' "a create-gi"
	expect_eq "$(echo "$OUT" | json_eval "len(d['operations'])")" 32 "operations"
	# a compute instance into a kept GPU instance names it
	node A100-SXM4-40GB
	mc 0 apply -f "$A100" -c shared-4g
	mc 0 --json plan -f "$COMPUTE" -c 4g-whole
	expect_eq "$(echo "$OUT" | json_eval "d['operations'][4]")" \
		'{"op": "create-ci", "gpu": 0, "profile": "4g.20gb", "gpu_instance": 1, "gpu_instance_placement": {"start": 0, "size": 4}}' \
		"a compute instance in a kept GPU instance"
	# nothing to do: no operations, changes false
	mc 0 --json plan -f "$A100" -c shared-4g
	expect_eq "$(echo "$OUT" | json_eval "(d['operations'], [g['changes'] for g in d['gpus']])")" '[[], [false]]' "plan of the current layout"
}

t_apply_dry_run_changes_nothing() {
	node "$MIXED_NODE"
	mc 0 apply -f "$MIXED" -c balanced
	state_save
	rm -f "$MIGCTL_LOCK"
	mc 0 apply --dry-run -f "$MIXED" -c small
	expect_contains "$OUT" "Operations, in order:"
	expect_contains "$OUT" "Dry run: nothing was changed."
	expect_state_unchanged "the node after apply --dry-run"
	no_journal "apply --dry-run"
	[ ! -e "$MIGCTL_LOCK" ] || fail "apply --dry-run took the apply lock"
	mc 0 --json apply --dry-run -f "$MIXED" -c small
	expect_eq "$(echo "$OUT" | json_eval "(d['applied'], len(d['operations']))")" "[false, 24]" "apply --json --dry-run"
	expect_state_unchanged "the node after apply --json --dry-run"
	mc 0 plan -f "$MIXED" -c a100-off
	expect_state_unchanged "the node after plan"
	# --json apply for real says how many operations it did
	mc 0 --json apply -f "$MIXED" -c small
	expect_eq "$(echo "$OUT" | json_eval "d")" '{"applied": true, "operations_done": 24}' "apply --json"
	converged "$MIXED" small
}

# ---- 4. assert --------------------------------------------------------------------------------

t_assert_exit_codes() {
	node A100-SXM4-40GB
	mc 0 apply -f "$A100" -c all-balanced
	state_save
	mc 0 assert -f "$A100" -c all-balanced
	expect_eq "$OUT" "Selected MIG configuration currently applied" "assert output"
	mc 4 assert -f "$A100" -c all-1g.5gb
	expect_contains "$OUT" "The GPUs differ from the configuration; applying it would:"
	expect_contains "$OUT" "GPU 0: NVIDIA A100-SXM4-40GB: keep 2 GPU and 2 compute instances, destroy 2 and 2, create 5 and 5"
	expect_contains "$OUT" "3. GPU 0: destroy GPU instance 2 (3g.20gb at 4:4)"
	mc 4 assert -f "$A100" -c all-disabled
	expect_contains "$OUT" "disable MIG mode"
	mc 0 --json assert -f "$A100" -c all-balanced
	expect_eq "$(echo "$OUT" | json_eval "(d['matches'], d['operations'])")" "[true, []]" "assert --json, matching"
	# keys written otherwise, a zero count: still the same layout (mig-parted compares the
	# raw keys and would never match these)
	printf 'version: v1\nmig-configs:\n  other-words:\n  - devices: [0]\n    mig-enabled: true\n    mig-devices: {"1c.1g.5gb": 2, "2c.2g.10gb": 1, "MIG 3g.20gb": 1, "7g.40gb": 0}\n' >"$TEST_TMP/words.yaml"
	mc 0 assert -f "$TEST_TMP/words.yaml"
	mc 0 plan -f "$TEST_TMP/words.yaml"
	expect_contains "$OUT" "Nothing to do."
	mc 4 --json assert -f "$A100" -c all-1g.5gb
	expect_eq "$(echo "$OUT" | json_eval "(d['matches'], len(d['operations']))")" "[false, 14]" "assert --json, differing"
	# a bad config, an unknown config name, a profile the GPU lacks: 1
	printf 'version: v1\nmig-configs:\n  x:\n  - devices: all\n    mig-enabled: true\n    mig-devices: {"1g.5gb": 7\n' >"$TEST_TMP/broken.yaml"
	mc 1 assert -f "$TEST_TMP/broken.yaml"
	expect_contains "$ERR" "$TEST_TMP/broken.yaml:"
	printf 'version: v1\nmig-configs:\n  x:\n  - devices: all\n    mig-enable: true\n' >"$TEST_TMP/typo.yaml"
	mc 1 assert -f "$TEST_TMP/typo.yaml"
	expect_contains "$ERR" "typo.yaml:5:5: unexpected field 'mig-enable'"
	mc 1 assert -f "$A100" -c nope
	expect_contains "$ERR" "has no config 'nope'; it defines: all-disabled, all-enabled, all-1g.5gb, all-2g.10gb, all-3g.20gb, all-balanced, custom-config, shared-4g, pinned"
	mc 1 assert -f "$H100" -c inference
	expect_contains "$ERR" "has no profile '3g.40gb'"
	mc 1 assert -f "$H100" -c all-1g.10gb
	expect_contains "$ERR" "7 x 1g.10gb cannot fit together on GPU 0"
	expect_contains "$ERR" "1g.10gb: 7 asked, at most 4 fit"
	mc 1 assert -f "$TEST_TMP/missing.yaml"
	expect_contains "$ERR" "cannot open config file $TEST_TMP/missing.yaml"
	mc 2 assert
	expect_contains "$ERR" "which config file?"
	mc 1 --json assert -f "$A100" -c nope
	expect_json_error "has no config 'nope'"
	expect_state_unchanged "the node after assert"
}

# ---- 5. export ---------------------------------------------------------------------------------

# roundtrip WHAT: export (YAML, YAML with --placements, JSON) reads back through -f - and
# describes the node: plan has nothing to do, assert exits 0, apply changes nothing.
roundtrip() {
	local what=$1 flags fmt
	state_save
	for flags in "" "--placements" "--json" "--json --placements"; do
		# shellcheck disable=SC2086
		"$MIGCTL" --sim export $flags >"$TEST_TMP/export.out" 2>"$TEST_TMP/export.err" || {
			fail "export $flags ($what): $(cat "$TEST_TMP/export.err")"
			continue
		}
		fmt="export $flags of $what"
		case "$flags" in
		*--json*) json_valid <"$TEST_TMP/export.out" || fail "$fmt is not JSON: $(cat "$TEST_TMP/export.out")" ;;
		*) expect_contains "$(head -3 "$TEST_TMP/export.out")" "version: v1" ;;
		esac
		expect_rc 0 "$MIGCTL" --sim plan -f - <"$TEST_TMP/export.out"
		if [ "$OUT" != "${OUT/Operations/}" ]; then
			fail "$fmt: the export does not describe the node; plan -f - would change it: $(echo "$OUT" | tr '\n' ' ')
  the export: $(tr '\n' ' ' <"$TEST_TMP/export.out")"
			expect_rc 4 "$MIGCTL" --sim assert -f - <"$TEST_TMP/export.out"
			continue
		fi
		expect_contains "$OUT" "Nothing to do."
		expect_rc 0 "$MIGCTL" --sim assert -f - <"$TEST_TMP/export.out"
		expect_rc 0 "$MIGCTL" --sim apply -f - <"$TEST_TMP/export.out"
		expect_contains "$OUT" "Nothing to do: the GPUs match the configuration."
		expect_state_unchanged "the node after '$fmt | apply -f -'"
	done
}

t_export_roundtrips() {
	node A100-SXM4-40GB
	roundtrip "MIG off"
	mc 0 export
	expect_eq "$OUT" "---
version: v1
mig-configs:
  current:
  - devices: all
    mig-enabled: false" "export of a GPU without MIG"
	local config
	for config in all-enabled all-balanced all-1g.5gb pinned shared-4g all-3g.20gb; do
		mc 0 apply -f "$A100" -c "$config"
		roundtrip "$config"
	done
	mc 0 export --placements
	expect_eq "$OUT" "---
version: v1
mig-configs:
  current:
  - devices: all
    mig-enabled: true
    mig-devices:
      \"3g.20gb\": 2
    placements:
      \"3g.20gb\": [0, 4]" "export --placements of all-3g.20gb"
	# instances at placements of their own (not where apply would put them)
	node A100-SXM4-40GB
	mc 0 mode enable
	mc 0 create 1g.5gb --placement 0 -C
	mc 0 create 2g.10gb --placement 4 -C
	mc 0 create 1g.5gb --placement 6 -C
	roundtrip "1g at 0 and 6, 2g at 4"
	mc 0 export --placements
	expect_contains "$OUT" "\"1g.5gb\": [0, 6]"
	expect_contains "$OUT" "\"2g.10gb\": [4]"
	# a 3g split into compute instances of other sizes: keys per compute instance
	node A100-SXM4-40GB
	mc 0 mode enable
	mc 0 create 3g.20gb --placement 0
	mc 0 create 3g.20gb --placement 4 -C
	mc 0 create-ci --gi 1 2c.3g.20gb,1c.3g.20gb
	mc 0 export
	expect_contains "$OUT" "\"1c.3g.20gb\": 1"
	expect_contains "$OUT" "\"2c.3g.20gb\": 1"
	roundtrip "a 3g split 1c + 2c"
	# several GPUs, several layouts: entries by index
	node 3xA100-SXM4-40GB
	mc 0 -i 0 apply -f "$A100" -c all-balanced
	mc 0 -i 2 apply -f "$A100" -c shared-4g
	mc 0 export
	expect_contains "$OUT" "- devices: [1]
    mig-enabled: false"
	roundtrip "three A100s: balanced, off, shared-4g"
	mc 0 -i 1 apply -f "$A100" -c all-balanced
	mc 0 export
	expect_contains "$OUT" "- devices: [0, 1]"
	roundtrip "three A100s: balanced, balanced, shared-4g"
	node "$MIXED_NODE"
	for config in balanced small a100-off; do
		mc 0 apply -f "$MIXED" -c "$config"
		roundtrip "the mixed node, $config"
	done
	node H100-SXM5-80GB
	for config in inference all-1g.20gb; do
		mc 0 apply -f "$H100" -c "$config"
		roundtrip "H100 $config"
	done
	node A30
	mc 0 apply -f "$A30" -c media
	roundtrip "A30 media"
	# export --json: the same content as the YAML
	mc 0 --json export
	expect_eq "$(echo "$OUT" | json_eval "d")" \
		'{"version": "v1", "mig-configs": {"current": [{"devices": "all", "mig-enabled": true, "mig-devices": {"2g.12gb": 1, "1g.6gb": 1, "1g.6gb+me": 1}}]}}' \
		"export --json of A30 media"
	# a GPU instance without a compute instance cannot be exported: said on stderr
	node A100-SXM4-40GB
	mc 0 mode enable
	mc 0 create 3g.20gb -C
	mc 0 create 1g.5gb
	mc 0 export
	expect_contains "$ERR" "1 GPU instance(s) without a compute instance are not in the export"
}

# Layouts whose compute instances are grouped differently from how apply fills GPU instances:
# the export still has to describe the node (assert 0, nothing to apply).
# (mig-parted's format counts compute instances per profile; mig-parted's own assert compares
# those counts, so it takes both layouts here as matching their export.)
t_export_roundtrips_compute_instances_grouped_otherwise() {
	node A100-SXM4-40GB
	mc 0 mode enable
	mc 0 create 3g.20gb,3g.20gb
	mc 0 create-ci --gi 1 1c.3g.20gb,1c.3g.20gb
	mc 0 create-ci --gi 2 1c.3g.20gb,1c.3g.20gb
	mc 0 export
	expect_contains "$OUT" "\"1c.3g.20gb\": 4"
	roundtrip "two 3g, each with two 1c"
	node A100-SXM4-40GB
	mc 0 mode enable
	mc 0 create 3g.20gb,3g.20gb
	mc 0 create-ci --gi 1 1c.3g.20gb
	mc 0 create-ci --gi 2 2c.3g.20gb,1c.3g.20gb
	roundtrip "two 3g: 1c, and 2c + 1c"
}

# An H100 1g.20gb GPU instance offers two one-slice compute instances: 1g.20gb (profile 7,
# the default) and 1c.1g.20gb (profile 0), which 'migctl create-ci' tells apart. An export of
# a node with the second must still describe the node.
t_export_roundtrips_h100_one_slice_compute_instance() {
	node H100-SXM5-80GB
	mc 0 mode enable
	mc 0 create 1g.20gb,1g.20gb -C
	mc 0 create 1g.20gb
	mc 0 create-ci --gi 3 1c.1g.20gb
	roundtrip "H100 1g.20gb with its 1c.1g.20gb compute instance"
}

# ---- 6. where the config comes from ---------------------------------------------------------

t_config_from_stdin() {
	node A100-SXM4-40GB
	# apply reads the config once: its check afterwards must not read standard input again
	expect_rc 0 "$MIGCTL" --sim apply -f - -c all-balanced <"$A100"
	expect_contains "$OUT" "MIG configuration applied successfully (9 operations)"
	no_journal "apply -f -"
	rm -f "$MIGCTL_JOURNAL"
	expect_rc 0 "$MIGCTL" --sim assert -f - -c all-balanced <"$A100"
	expect_rc 4 "$MIGCTL" --sim assert -f - -c all-1g.5gb <"$A100"
	expect_rc 0 "$MIGCTL" --sim plan --config-file - --selected-config all-balanced <"$A100"
	expect_contains "$OUT" "Nothing to do."
	state_save
	expect_rc 1 "$MIGCTL" --sim apply -f - <"$A100"
	expect_contains "$ERR" "<stdin> defines 9 configs; choose one with -c"
	expect_rc 1 "$MIGCTL" --sim apply -f - </dev/null
	expect_contains "$ERR" "<stdin>"
	printf 'version: v1\nmig-configs:\n  x:\n  - devices: all\n    mig-enabled: maybe\n' >"$TEST_TMP/maybe.yaml"
	expect_rc 1 "$MIGCTL" --sim apply -f - <"$TEST_TMP/maybe.yaml"
	expect_contains "$ERR" "<stdin>:5:18: mig-enabled must be true or false"
	expect_state_unchanged "the node after failed applies from stdin"
}

t_config_from_the_environment() {
	node A100-SXM4-40GB
	MIGCTL_CONFIG_FILE="$A100" MIGCTL_SELECTED_CONFIG=all-3g.20gb expect_rc 0 "$MIGCTL" --sim apply
	expect_contains "$OUT" "MIG configuration applied successfully (5 operations)"
	MIGCTL_CONFIG_FILE="$A100" MIGCTL_SELECTED_CONFIG=all-3g.20gb expect_rc 0 "$MIGCTL" --sim assert
	MIGCTL_CONFIG_FILE="$A100" MIGCTL_SELECTED_CONFIG=all-3g.20gb expect_rc 0 "$MIGCTL" --sim plan
	expect_contains "$OUT" "Nothing to do."
	# -c beats MIGCTL_SELECTED_CONFIG, -f beats MIGCTL_CONFIG_FILE
	MIGCTL_CONFIG_FILE="$A100" MIGCTL_SELECTED_CONFIG=all-3g.20gb expect_rc 4 "$MIGCTL" --sim assert -c all-balanced
	MIGCTL_CONFIG_FILE="$TEST_TMP/missing.yaml" MIGCTL_SELECTED_CONFIG=only-3g expect_rc 0 "$MIGCTL" --sim assert -f "$FIX/single.yaml"
	MIGCTL_CONFIG_FILE="$A100" expect_rc 0 "$MIGCTL" --sim assert -c all-3g.20gb
	MIGCTL_SELECTED_CONFIG=all-3g.20gb expect_rc 0 "$MIGCTL" --sim assert -f "$A100"
	MIGCTL_CONFIG_FILE="$TEST_TMP/missing.yaml" expect_rc 1 "$MIGCTL" --sim assert
	expect_contains "$ERR" "cannot open config file $TEST_TMP/missing.yaml"
	# a file with one config needs no -c
	expect_rc 0 "$MIGCTL" --sim assert -f "$FIX/single.yaml"
	MIGCTL_CONFIG_FILE="$FIX/single.yaml" expect_rc 0 "$MIGCTL" --sim apply
	expect_contains "$OUT" "Nothing to do"
	# several configs and no -c: an error that lists them
	state_save
	local cmd
	for cmd in plan apply assert; do
		MIGCTL_CONFIG_FILE="$A100" expect_rc 1 "$MIGCTL" --sim "$cmd"
		expect_eq "$ERR" "migctl: $A100 defines 9 configs; choose one with -c: all-disabled, all-enabled, all-1g.5gb, all-2g.10gb, all-3g.20gb, all-balanced, custom-config, shared-4g, pinned" "$cmd without -c"
		expect_rc 1 "$MIGCTL" --sim "$cmd" -f "$MIXED"
		expect_contains "$ERR" "defines 3 configs; choose one with -c: balanced, small, a100-off"
		expect_rc 2 "$MIGCTL" --sim "$cmd"
		expect_contains "$ERR" "$cmd: which config file? -f FILE (or - for standard input, or \$MIGCTL_CONFIG_FILE)"
	done
	MIGCTL_SELECTED_CONFIG=nope expect_rc 1 "$MIGCTL" --sim apply -f "$A100"
	expect_contains "$ERR" "has no config 'nope'"
	expect_state_unchanged "the node after applies without a usable config"
	no_journal "refused applies"
}

# ---- 7. safety: lock, journal, kills ---------------------------------------------------------

# wait_holder PID: until PID has written itself into the apply lock (5 s at most).
wait_holder() {
	local i
	for ((i = 0; i < 500; i++)); do
		[ "$(cat "$MIGCTL_LOCK" 2>/dev/null)" = "$1" ] && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.01
	done
	fail "apply (pid $1) never took the lock $MIGCTL_LOCK"
	return 1
}

CONCURRENT_RUNS=0

# waited_msg FILE HOLDER: FILE (stderr of the apply that waited) is the waiting message alone.
# Whether it names HOLDER's pid when both start at the same instant is checked, many times
# over, by t_lock_holder_is_named_when_both_start_together; here another pid is only noted.
waited_msg() {
	local msg
	msg=$(cat "$1")
	case "$msg" in
	"migctl: waiting for another change to this node (pid $2) to finish...") ;;
	"migctl: waiting for another change to this node (pid "*") to finish...") echo "# the apply that waited for pid $2 said: $msg" ;;
	*) fail "stderr of the apply that waited for pid $2: $msg" ;;
	esac
}

t_concurrent_applies_take_turns() {
	node A100-SXM4-40GB
	sim latency set gi-create 150 >/dev/null
	local a b arc brc
	"$MIGCTL" --sim apply -f "$A100" -c all-1g.5gb >"$TEST_TMP/a.out" 2>"$TEST_TMP/a.err" &
	a=$!
	wait_holder "$a"
	"$MIGCTL" --sim apply -f "$A100" -c all-3g.20gb >"$TEST_TMP/b.out" 2>"$TEST_TMP/b.err" &
	b=$!
	wait "$a"
	arc=$?
	wait "$b"
	brc=$?
	CONCURRENT_RUNS=$((CONCURRENT_RUNS + 1))
	expect_eq "$arc" 0 "first apply's exit status ($(cat "$TEST_TMP/a.err"))"
	expect_eq "$brc" 0 "second apply's exit status ($(cat "$TEST_TMP/b.err"))"
	expect_contains "$(cat "$TEST_TMP/a.out")" "MIG configuration applied successfully (15 operations)"
	expect_not_contains "$(cat "$TEST_TMP/a.err")" "waiting"
	expect_eq "$(cat "$TEST_TMP/b.err")" "migctl: waiting for another change to this node (pid $a) to finish..." "second apply's stderr"
	# the second planned from the first one's finished layout, not from a mix
	expect_contains "$(cat "$TEST_TMP/b.out")" "GPU 0: NVIDIA A100-SXM4-40GB: keep 0 GPU and 0 compute instances, destroy 7 and 7, create 2 and 2
    before [  7][  8][  9][ 10][ 11][ 12][ 13][ . ]"
	expect_contains "$(cat "$TEST_TMP/b.out")" "MIG configuration applied successfully (18 operations)"
	sim latency clear >/dev/null
	converged "$A100" all-3g.20gb
	no_journal "the two applies"

	# started together: one waits for the other; the node ends as the later one's target
	local round first second cfg_a cfg_b
	for round in 1 2; do
		node A100-SXM4-40GB
		mc 0 apply -f "$A100" -c all-balanced
		sim latency set gi-create 100 >/dev/null
		cfg_a=all-1g.5gb cfg_b=all-2g.10gb
		[ "$round" = 2 ] && cfg_a=all-2g.10gb cfg_b=all-1g.5gb
		"$MIGCTL" --sim apply -f "$A100" -c "$cfg_a" >"$TEST_TMP/a.out" 2>"$TEST_TMP/a.err" &
		a=$!
		"$MIGCTL" --sim apply -f "$A100" -c "$cfg_b" >"$TEST_TMP/b.out" 2>"$TEST_TMP/b.err" &
		b=$!
		wait "$a"
		arc=$?
		wait "$b"
		brc=$?
		CONCURRENT_RUNS=$((CONCURRENT_RUNS + 1))
		expect_eq "$arc:$brc" "0:0" "exit status of two applies started together ($(cat "$TEST_TMP/a.err" "$TEST_TMP/b.err"))"
		if grep -q "waiting for another change to this node" "$TEST_TMP/a.err"; then
			second=$cfg_a first=$cfg_b
			expect_not_contains "$(cat "$TEST_TMP/b.err")" "waiting"
			waited_msg "$TEST_TMP/a.err" "$b"
		elif grep -q "waiting for another change to this node" "$TEST_TMP/b.err"; then
			second=$cfg_b first=$cfg_a
			expect_not_contains "$(cat "$TEST_TMP/a.err")" "waiting"
			waited_msg "$TEST_TMP/b.err" "$a"
		else
			fail "neither of two concurrent applies waited: $(cat "$TEST_TMP/a.err" "$TEST_TMP/b.err")"
			continue
		fi
		sim latency clear >/dev/null
		mc 4 assert -f "$A100" -c "$first"
		converged "$A100" "$second"
	done

	# the same target twice: the second finds nothing to do
	node "2xA100-SXM4-40GB"
	sim latency set gi-create 50 >/dev/null
	"$MIGCTL" --sim apply -f "$A100" -c all-balanced >"$TEST_TMP/a.out" 2>"$TEST_TMP/a.err" &
	a=$!
	"$MIGCTL" --sim apply -f "$A100" -c all-balanced >"$TEST_TMP/b.out" 2>"$TEST_TMP/b.err" &
	b=$!
	wait "$a"
	arc=$?
	wait "$b"
	brc=$?
	CONCURRENT_RUNS=$((CONCURRENT_RUNS + 1))
	expect_eq "$arc:$brc" "0:0" "exit status of two identical applies"
	expect_eq "$(cat "$TEST_TMP/a.out" "$TEST_TMP/b.out" | grep -c "MIG configuration applied successfully (18 operations)")" 1 "applies that did the work"
	expect_eq "$(cat "$TEST_TMP/a.err" "$TEST_TMP/b.err" | grep -c "waiting for another change to this node")" 1 "applies that waited"
	expect_eq "$(cat "$TEST_TMP/a.out" "$TEST_TMP/b.out" | grep -c "Nothing to do: the GPUs match the configuration.")" 1 "applies that found nothing to do"
	sim latency clear >/dev/null
	converged "$A100" all-balanced

	# the lock holder is killed while another apply waits: the waiter goes on, reports the
	# interrupted apply, and brings the node to its own target
	node A100-SXM4-40GB
	mc 0 apply -f "$A100" -c all-balanced
	sim latency set gi-create 100 >/dev/null
	"$MIGCTL" --sim apply -f "$A100" -c all-1g.5gb >"$TEST_TMP/a.out" 2>"$TEST_TMP/a.err" &
	a=$!
	wait_holder "$a"
	"$MIGCTL" --sim apply -f "$A100" -c all-2g.10gb >"$TEST_TMP/b.out" 2>"$TEST_TMP/b.err" &
	b=$!
	local n
	for ((n = 0; n < 300; n++)); do
		[ "$(journal_done 2>/dev/null)" -ge 6 ] 2>/dev/null && break
		sleep 0.01
	done
	kill -9 "$a"
	{ wait "$a"; } 2>/dev/null
	arc=$?
	wait "$b"
	brc=$?
	CONCURRENT_RUNS=$((CONCURRENT_RUNS + 1))
	expect_eq "$arc:$brc" "137:0" "exit status of the killed holder and the waiter ($(cat "$TEST_TMP/b.err"))"
	expect_contains "$(cat "$TEST_TMP/b.err")" "waiting for another change to this node (pid $a) to finish"
	expect_contains "$(cat "$TEST_TMP/b.out")" "An earlier apply (started "
	expect_contains "$(cat "$TEST_TMP/b.out")" "of 14 operations; planning again from the GPUs as they are now."
	expect_contains "$(cat "$TEST_TMP/b.out")" "MIG configuration applied successfully"
	sim latency clear >/dev/null
	converged "$A100" all-2g.10gb
	echo "# concurrent applies exercised: $CONCURRENT_RUNS"
}

t_lock_timeout() {
	node A100-SXM4-40GB
	sim latency set gi-create 300 >/dev/null
	local a arc
	"$MIGCTL" --sim apply -f "$A100" -c all-1g.5gb >"$TEST_TMP/a.out" 2>"$TEST_TMP/a.err" &
	a=$!
	wait_holder "$a"
	mc 1 apply --lock-timeout 0 -f "$A100" -c all-3g.20gb
	CONCURRENT_RUNS=$((CONCURRENT_RUNS + 1))
	# the whole of stderr: it gave up at its first try, without the line that a wait prints
	# first (no assertion on wall time: what it printed shows whether it waited)
	expect_eq "$ERR" "migctl: another change to this node (pid $a) holds $MIGCTL_LOCK; gave up after 0.0 s (raise --lock-timeout, or wait for it)" "apply --lock-timeout 0"
	expect_eq "$OUT" "" "stdout of the apply that gave up"
	# a short wait waits (and says so), then gives up
	mc 1 apply --lock-timeout 0.2 -f "$A100" -c all-3g.20gb
	CONCURRENT_RUNS=$((CONCURRENT_RUNS + 1))
	expect_contains "$ERR" "migctl: waiting for another change to this node (pid $a) to finish..."
	expect_contains "$ERR" "holds $MIGCTL_LOCK; gave up after 0.2 s"
	mc 1 --json apply --lock-timeout 0.1 -f "$A100" -c all-3g.20gb
	CONCURRENT_RUNS=$((CONCURRENT_RUNS + 1))
	expect_json_error "another change to this node (pid $a) holds"
	wait "$a"
	arc=$?
	expect_eq "$arc" 0 "the lock holder's exit status ($(cat "$TEST_TMP/a.err"))"
	sim latency clear >/dev/null
	# the applies that gave up changed nothing: the holder's target is what the node has
	converged "$A100" all-1g.5gb
	mc 2 apply --lock-timeout soon -f "$A100" -c all-1g.5gb
	expect_contains "$ERR" "--lock-timeout takes seconds"
	mc 2 apply --lock-timeout -1 -f "$A100" -c all-1g.5gb
	# a lock or journal that cannot be kept: refused before anything changes
	state_save
	MIGCTL_LOCK="$TEST_TMP/no/such/dir/lock" expect_rc 1 "$MIGCTL" --sim apply -f "$A100" -c all-balanced
	expect_contains "$ERR" "cannot open the node lock $TEST_TMP/no/such/dir/lock"
	MIGCTL_JOURNAL="$TEST_TMP/no/such/dir/journal.json" expect_rc 1 "$MIGCTL" --sim apply -f "$A100" -c all-balanced
	expect_contains "$ERR" "cannot open the journal $TEST_TMP/no/such/dir/journal.json"
	expect_state_unchanged "the node after applies that could not lock or journal"
}

# Two applies started at the same instant, the second with --lock-timeout 0: the one that
# gives up names the one that holds the lock (its pid), never "?" or an earlier holder.
t_lock_holder_is_named_when_both_start_together() {
	node A100-SXM4-40GB
	sim latency set '*' 3 >/dev/null
	local round a b arc brc loser winner msg wrong=0
	for round in 1 2 3 4 5 6 7 8 9 10; do
		"$MIGCTL" --sim apply --lock-timeout 0 -f "$A100" -c all-disabled >/dev/null 2>"$TEST_TMP/a.err" &
		a=$!
		"$MIGCTL" --sim apply --lock-timeout 0 -f "$A100" -c all-disabled >/dev/null 2>"$TEST_TMP/b.err" &
		b=$!
		wait "$a"
		arc=$?
		wait "$b"
		brc=$?
		CONCURRENT_RUNS=$((CONCURRENT_RUNS + 1))
		case "$arc:$brc" in
		0:1) loser=b winner=$a ;;
		1:0) loser=a winner=$b ;;
		0:0) continue ;; # one finished before the other tried
		*)
			fail "round $round: exit statuses $arc and $brc ($(cat "$TEST_TMP/a.err" "$TEST_TMP/b.err"))"
			continue
			;;
		esac
		msg=$(cat "$TEST_TMP/$loser.err")
		if [ "$msg" != "migctl: another change to this node (pid $winner) holds $MIGCTL_LOCK; gave up after 0.0 s (raise --lock-timeout, or wait for it)" ]; then
			wrong=$((wrong + 1))
			echo "# round $round: the holder was pid $winner; the apply that gave up said: $msg"
		fi
	done
	[ "$wrong" -eq 0 ] || fail "$wrong of 10 applies that gave up did not name the lock holder's pid (\"?\", or an earlier apply's)"
	sim latency clear >/dev/null
	converged "$A100" all-disabled
}

t_journal_left_over_is_reported_then_removed() {
	node A100-SXM4-40GB
	mc 0 apply -f "$A100" -c all-balanced
	local note="An earlier apply (started 2025-01-02T03:04:05Z) stopped after 3 of 5 operations; planning again from the GPUs as they are now."
	# dry runs neither report nor remove it
	cp "$FIX/journal-left-over.json" "$MIGCTL_JOURNAL"
	mc 0 apply --dry-run -f "$A100" -c all-1g.5gb
	expect_not_contains "$OUT" "An earlier apply"
	cmp -s "$FIX/journal-left-over.json" "$MIGCTL_JOURNAL" || fail "apply --dry-run touched the journal"
	# a refused apply reports it and keeps it
	local pid
	pid=$(sim proc start --uuid "$(mig_uuid 0 2)")
	mc 1 apply -f "$A100" -c all-1g.5gb
	expect_contains "$OUT" "$note"
	cmp -s "$FIX/journal-left-over.json" "$MIGCTL_JOURNAL" || fail "a refused apply changed the journal"
	sim proc stop "$pid" >/dev/null
	# a successful apply reports it, then removes it
	mc 0 apply -f "$A100" -c all-1g.5gb
	expect_eq "$(echo "$OUT" | head -1)" "$note" "first line of apply"
	expect_contains "$OUT" "MIG configuration applied successfully (14 operations)"
	no_journal "a successful apply"
	# so does one with nothing to do
	cp "$FIX/journal-left-over.json" "$MIGCTL_JOURNAL"
	mc 0 apply -f "$A100" -c all-1g.5gb
	expect_eq "$OUT" "$note
GPU 0: NVIDIA A100-SXM4-40GB: already as configured
Nothing to do: the GPUs match the configuration." "apply with nothing to do and a journal"
	no_journal "an apply with nothing to do"
	converged "$A100" all-1g.5gb
	# a real one: stopped by a driver error at operation 7 of 14 (the second GPU instance
	# destroyed, after five compute instances and one GPU instance)
	sim fault add "$FN_DGI" UNKNOWN --nth 2 >/dev/null
	mc 1 apply -f "$A100" -c all-balanced
	expect_contains "$ERR" "6 of 14 operations were done; run apply again to finish"
	# the GPU instance whose compute instance went is not left without one
	expect_contains "$ERR" "operation 7 of 14 failed (GPU 0: destroy GPU instance"
	expect_contains "$ERR" "so that no GPU instance is left without compute instances: 0 new one(s) removed, 1 given their compute instances back, 3 destroyed as planned"
	no_bare_gpu_instances "after the failed apply"
	[ -e "$MIGCTL_JOURNAL" ] || fail "the failed apply left no journal"
	expect_eq "$(json_eval "(d['done'], len(d['plan']['operations']), d['selected_config'], d['config_file'])" <"$MIGCTL_JOURNAL")" \
		"[6, 14, \"all-balanced\", \"$A100\"]" "the journal"
	mc 4 assert -f "$A100" -c all-balanced
	mc 0 apply -f "$A100" -c all-balanced
	expect_contains "$OUT" "stopped after 6 of 14 operations; planning again from the GPUs as they are now."
	expect_contains "$OUT" "MIG configuration applied successfully (6 operations)"
	no_journal "the apply that finished the work"
	converged "$A100" all-balanced
	# a journal that is not JSON does not stop apply, and is replaced/removed
	echo "garbage" >"$MIGCTL_JOURNAL"
	mc 0 apply -f "$A100" -c all-3g.20gb
	no_journal "apply over a garbled journal"
	converged "$A100" all-3g.20gb
}

KILL_POINTS=0
KILL_TRIES=0

# kill -9 apply at several points of a long plan (8 x A100, balanced -> all-1g.5gb, 112
# operations with a latency on each), then run apply again: it reports the interrupted run,
# finishes the work with the operations left (no more), and the sixteen 1g instances that
# both layouts contain keep their MIG UUIDs and are never destroyed.
t_kill_apply_and_run_again() {
	node 8xA100-SXM4-40GB
	mc 0 apply -f "$A100" -c all-balanced
	listing "$TEST_TMP/start.json"
	local kept="" g
	for g in 0 1 2 3 4 5 6 7; do kept="$kept${kept:+,}$g:9,$g:10"; done
	mc 0 --json plan -f "$A100" -c all-1g.5gb
	echo "$OUT" >"$TEST_TMP/plan.json"
	local total
	total=$(json_eval "len(d['operations'])" <"$TEST_TMP/plan.json")
	expect_eq "$total" 112 "operations from balanced to all-1g.5gb on 8 A100s"
	python3 "$TEST_TMP/check.py" op-functions "$TEST_TMP/plan.json" >"$TEST_TMP/op-fns"
	local op
	for op in gi-create gi-destroy ci-create ci-destroy; do
		sim latency set "$op" 5 >/dev/null
	done
	watch_calls
	cp "$MIGSIM_STATE" "$TEST_TMP/start-state.json"
	local k p rc done_ n j inflight line r
	for k in 1 3 9 20 40 57 75 95 110; do
		cp "$TEST_TMP/start-state.json" "$MIGSIM_STATE"
		rm -f "$MIGCTL_JOURNAL"
		KILL_TRIES=$((KILL_TRIES + 1))
		"$MIGCTL" --sim apply -f "$A100" -c all-1g.5gb >"$TEST_TMP/k.out" 2>"$TEST_TMP/k.err" &
		p=$!
		done_=-1
		for ((n = 0; n < 1000; n++)); do
			if [ -e "$MIGCTL_JOURNAL" ]; then
				j=$(<"$MIGCTL_JOURNAL")
				[[ $j =~ \"done\":\ ([0-9]+) ]] && done_=${BASH_REMATCH[1]}
				[ "$done_" -ge "$k" ] && break
			fi
			kill -0 "$p" 2>/dev/null || break
			sleep 0.003
		done
		kill -9 "$p" 2>/dev/null
		{ wait "$p"; } 2>/dev/null
		rc=$?
		if [ "$rc" -ne 137 ]; then
			echo "# kill point $k: apply ended by itself (exit $rc) before it could be killed"
			continue
		fi
		if [ ! -e "$MIGCTL_JOURNAL" ]; then
			echo "# kill point $k: killed before the journal was written"
			continue
		fi
		"$MIGSIM" show >/dev/null 2>&1 || fail "kill point $k: the state file does not load"
		done_=$(json_eval "d['done']" <"$MIGCTL_JOURNAL")
		expect_eq "$(json_eval "len(d['plan']['operations'])" <"$MIGCTL_JOURNAL")" "$total" "kill point $k: operations in the journal"
		KILL_POINTS=$((KILL_POINTS + 1))
		echo "# kill point $k: killed after $done_ of $total operations"
		sim latency clear >/dev/null
		[ "$done_" -ge $((total - 1)) ] || mc 4 assert -f "$A100" -c all-1g.5gb
		mc 0 apply -f "$A100" -c all-1g.5gb
		expect_contains "$OUT" "stopped after $done_ of $total operations; planning again from the GPUs as they are now."
		expect_not_contains "$ERR" "waiting"
		r=0
		[[ $OUT =~ applied\ successfully\ \(([0-9]+)\ operations\) ]] && r=${BASH_REMATCH[1]}
		# the operation in flight may have been done without the journal hearing of it
		if [ $((done_ + r)) -gt "$total" ] || [ $((done_ + r)) -lt $((total - 1)) ]; then
			fail "kill point $k: $done_ done before the kill + $r after it; the plan had $total"
		fi
		no_journal "the apply after kill point $k"
		mc 0 assert -f "$A100" -c all-1g.5gb
		same_uuids "$TEST_TMP/start.json" "$kept" "kill point $k: the 1g instances both layouts contain"
		# destroys: exactly the planned 16 + 16, plus the one in flight when killed
		line=$(sed -n "$((done_ + 1))p" "$TEST_TMP/op-fns")
		inflight=${line##* }
		local want_dci=16 want_dgi=16 got
		got=$(calls)
		[[ $got =~ dci=([0-9]+)\ dgi=([0-9]+) ]] || fail "kill point $k: no call counts ($got)"
		local dci=${BASH_REMATCH[1]} dgi=${BASH_REMATCH[2]}
		[ "$inflight" = destroy-ci ] && want_dci=17
		[ "$inflight" = destroy-gi ] && want_dgi=17
		{ [ "$dci" -ge 16 ] && [ "$dci" -le "$want_dci" ] && [ "$dgi" -ge 16 ] && [ "$dgi" -le "$want_dgi" ]; } ||
			fail "kill point $k: $dci compute and $dgi GPU instance destroys, expected 16 each (+1 for the $inflight in flight)"
	done
	echo "# kill points exercised: $KILL_POINTS of $KILL_TRIES"
	[ "$KILL_POINTS" -ge 5 ] || fail "only $KILL_POINTS of $KILL_TRIES kill points were exercised"
	"$MIGSIM" fault clear >/dev/null
	converged "$A100" all-1g.5gb
}

# Stop apply at every one of its 32 operations with a driver error (every kind: destroy-ci,
# destroy-gi, enable-mig, disable-mig, create-gi, create-ci), then run it again.
t_stop_at_every_operation_and_run_again() {
	node "$MIXED_NODE"
	mc 0 apply -f "$SWEEP" -c start
	listing "$TEST_TMP/start.json"
	mc 0 --json plan -f "$SWEEP" -c target
	echo "$OUT" >"$TEST_TMP/plan.json"
	local total
	total=$(json_eval "len(d['operations'])" <"$TEST_TMP/plan.json")
	expect_eq "$total" 32 "operations from start to target"
	python3 "$TEST_TMP/check.py" op-functions "$TEST_TMP/plan.json" >"$TEST_TMP/op-fns"
	cp "$MIGSIM_STATE" "$TEST_TMP/start-state.json"
	local k=0 fn nth kind stopped=0
	while read -r fn nth kind; do
		k=$((k + 1))
		cp "$TEST_TMP/start-state.json" "$MIGSIM_STATE"
		rm -f "$MIGCTL_JOURNAL"
		sim fault add "$fn" UNKNOWN --nth "$nth" >/dev/null
		mc 1 apply -f "$SWEEP" -c target
		expect_contains "$ERR" "$((k - 1)) of $total operations were done; run apply again to finish"
		if [ -e "$MIGCTL_JOURNAL" ]; then
			expect_eq "$(journal_done)" "$((k - 1))" "journal after stopping at operation $k ($kind)"
		else
			fail "stopping at operation $k ($kind) left no journal"
		fi
		no_bare_gpu_instances "stopping at operation $k ($kind)"
		mc 4 assert -f "$SWEEP" -c target
		mc 0 apply -f "$SWEEP" -c target
		expect_contains "$OUT" "stopped after $((k - 1)) of $total operations"
		# what is left, plus what a roll back put back or took away
		expect_contains "$OUT" "MIG configuration applied successfully ("
		no_journal "the apply after stopping at operation $k"
		mc 0 assert -f "$SWEEP" -c target
		same_uuids "$TEST_TMP/start.json" 0:9,0:10 "stopped at operation $k ($kind): the A100's 1g instances"
		stopped=$((stopped + 1))
	done <"$TEST_TMP/op-fns"
	echo "# stopped at each of $stopped operations"
	expect_eq "$stopped" "$total" "operations stopped at"
	converged "$SWEEP" target
}

# ---- 8. mig-parted's own examples on an 8 x A100 node --------------------------------------

t_mig_parted_all_balanced() {
	node 8xA100-SXM4-40GB
	mc 0 --json plan -f "$A100" -c all-balanced
	expect_eq "$(echo "$OUT" | json_eval "[o['gpu'] for o in d['operations'] if o['op'] == 'enable-mig']")" \
		"[0, 1, 2, 3, 4, 5, 6, 7]" "GPUs that get MIG enabled"
	apply_keeping "$A100" all-balanced 0 72
	apply_keeping "$A100" all-1g.5gb 16 112
	apply_keeping "$A100" all-balanced 16 112
}

t_mig_parted_custom_config() {
	node 8xA100-SXM4-40GB
	mc 0 apply -f "$A100" -c all-1g.5gb
	listing "$TEST_TMP/start.json"
	mc 0 --json plan -f "$A100" -c custom-config
	expect_eq "$(echo "$OUT" | json_eval "[g['index'] for g in d['gpus']]")" "[0, 1, 2, 3, 7]" "GPUs custom-config selects"
	expect_eq "$(echo "$OUT" | json_eval "[o['gpu'] for o in d['operations'] if o['op'] == 'disable-mig']")" "[0, 1, 2, 3]" "GPUs that get MIG disabled"
	apply_keeping "$A100" custom-config 2 74
	# GPUs 4-6 are not in the config: untouched
	same_uuids "$TEST_TMP/start.json" "4:7,4:8,4:9,4:10,4:11,4:12,4:13,5:7,5:13,6:7,6:13"
	expect_eq "$("$MIGSIM" show --json | json_eval "[g['mig_mode']['current'] for g in d['gpus']]")" \
		'["disabled", "disabled", "disabled", "disabled", "enabled", "enabled", "enabled", "enabled"]' "MIG modes"
	expect_eq "$("$MIGSIM" show --json | json_eval "[len(g['gpu_instances']) for g in d['gpus']]")" \
		"[0, 0, 0, 0, 7, 7, 7, 4]" "GPU instances per GPU"
	apply_keeping "$A100" all-balanced 10 78
}

t_mig_parted_dgx_station_filter() {
	# four A100-80GB (0x20B210DE, the DGX Station's) and four A100-40GB
	node 4xA100-SXM4-80GB,4xA100-SXM4-40GB
	local dgx="$FIX/dgx-station-80gb.yaml"
	mc 0 -i 4,5,6,7 apply -f "$A100" -c all-balanced
	listing "$TEST_TMP/start.json"
	mc 0 --json plan -f "$dgx"
	expect_eq "$(echo "$OUT" | json_eval "[g['index'] for g in d['gpus']]")" "[0, 1, 2, 3]" "GPUs the DGX Station filter selects"
	apply_keeping "$dgx" all-1g.10gb-dgx-station-80 0 60
	same_uuids "$TEST_TMP/start.json" "4:2,4:3,4:9,4:10,7:2,7:3,7:9,7:10" "the A100-40GB GPUs"
	# all-balanced's filter (0x20B010DE, 0x20F110DE) takes only the 40GB GPUs, already done
	mc 0 --json plan -f "$A100" -c all-balanced
	expect_eq "$(echo "$OUT" | json_eval "([g['index'] for g in d['gpus']], len(d['operations']))")" "[[4, 5, 6, 7], 0]" "all-balanced on the 40GB GPUs"
	converged "$A100" all-balanced
	converged "$dgx" all-1g.10gb-dgx-station-80
	# on a node of A100-40GB only, the DGX Station config selects nothing: an error that names
	# the filters and the GPUs' device ids (mig-parted fails there too), unless --allow-no-match
	node 8xA100-SXM4-40GB
	state_save
	mc 1 apply -f "$dgx"
	expect_contains "$ERR" "config 'all-1g.10gb-dgx-station-80' selects no GPU of this node"
	expect_contains "$ERR" "device-filter 0x20B210DE"
	expect_contains "$ERR" "the GPUs here: 8 x NVIDIA A100-SXM4-40GB (device id 0x20B010DE)"
	expect_contains "$ERR" "--allow-no-match"
	mc 1 assert -f "$dgx"
	expect_not_contains "$OUT" "currently applied"
	mc 1 --json assert -f "$dgx"
	expect_json_error "selects no GPU"
	mc 0 apply -f "$dgx" --allow-no-match
	mc 0 assert -f "$dgx" --allow-no-match
	expect_state_unchanged "an 8 x A100-40GB node after the DGX Station config"
}

# ---- 9. MIG mode ---------------------------------------------------------------------------

t_mode_change_pending_while_gpu_is_busy() {
	node 2xA100-SXM4-40GB
	local pid
	pid=$(sim proc start --gpu 1)
	mc 3 apply -f "$A100" -c all-balanced
	expect_contains "$ERR" "the MIG mode change is pending on GPU 1 (in use)"
	expect_contains "$ERR" "migctl: GPU 1 runs process $pid"
	expect_not_contains "$ERR" "GPU 0 runs"
	expect_contains "$ERR" "add --reset-pending to reset only them"
	expect_eq "$("$MIGSIM" show --json | json_eval "[g['mig_mode'] for g in d['gpus']]")" \
		'[{"current": "enabled", "pending": "enabled"}, {"current": "disabled", "pending": "enabled"}]' "MIG modes"
	mc 4 assert -f "$A100" -c all-balanced
	mc 3 apply -f "$A100" -c all-balanced
	expect_contains "$OUT" "stopped after 9 of 18 operations"
	expect_contains "$OUT" "GPU 0: NVIDIA A100-SXM4-40GB: already as configured"
	expect_contains "$ERR" "pending on GPU 1 (in use)"
	sim proc stop "$pid" >/dev/null
	mc 0 apply -f "$A100" -c all-balanced
	expect_contains "$OUT" "MIG configuration applied successfully (9 operations)"
	converged "$A100" all-balanced
	# disabling while a process runs on a MIG device is refused (the instance would go)
	pid=$(sim proc start --uuid "$(mig_uuid 1 3)")
	mc 1 apply -f "$A100" -c all-disabled
	expect_contains "$ERR" "runs process $pid"
}

t_mode_change_pending_until_reset() {
	node A100-SXM4-40GB:reset-required
	mc 3 apply -f "$A100" -c all-1g.5gb
	expect_contains "$ERR" "the MIG mode change is pending on GPU 0 (reset required)"
	expect_eq "$("$MIGSIM" show --json | json_eval "(d['gpus'][0]['mig_mode'], len(d['gpus'][0]['gpu_instances']))")" \
		'[{"current": "disabled", "pending": "enabled"}, 0]' "GPU 0 after the pending enable"
	mc 3 apply -f "$A100" -c all-1g.5gb
	expect_contains "$ERR" "pending on GPU 0 (reset required)"
	mc 4 assert -f "$A100" -c all-1g.5gb
	sim reset --gpu 0 >/dev/null
	mc 0 apply -f "$A100" -c all-1g.5gb
	expect_contains "$OUT" "An earlier apply"
	expect_contains "$OUT" "MIG configuration applied successfully (14 operations)"
	converged "$A100" all-1g.5gb
	# and back off: instances go, the disable waits for a reset
	mc 3 apply -f "$A100" -c all-disabled
	expect_contains "$ERR" "the MIG mode change is pending on GPU 0 (reset required)"
	expect_eq "$("$MIGSIM" show --json | json_eval "(d['gpus'][0]['mig_mode'], len(d['gpus'][0]['gpu_instances']))")" \
		'[{"current": "enabled", "pending": "disabled"}, 0]' "GPU 0 after the pending disable"
	mc 4 assert -f "$A100" -c all-disabled
	sim reset --gpu 0 >/dev/null
	mc 0 apply -f "$A100" -c all-disabled
	converged "$A100" all-disabled
}

t_mode_operations_only_where_the_mode_differs() {
	node 3xA100-SXM4-40GB
	mc 0 -i 0,2 mode enable
	mc 0 --json plan -f "$A100" -c all-balanced
	expect_eq "$(echo "$OUT" | json_eval "[(o['op'], o['gpu']) for o in d['operations'] if o['op'] in ('enable-mig', 'disable-mig')]")" \
		'[["enable-mig", 1]]' "mode operations for all-balanced"
	mc 0 --json plan -f "$A100" -c all-disabled
	expect_eq "$(op_kinds)" "disable-mig:0 disable-mig:2" "operations for all-disabled"
	mc 0 --json plan -f "$A100" -c all-enabled
	expect_eq "$(op_kinds)" "enable-mig:1" "operations for all-enabled"
	apply_keeping "$A100" all-balanced 0 25
	mc 0 --json plan -f "$A100" -c all-1g.5gb
	expect_not_contains "$OUT" "enable-mig"
	# custom-config: GPUs 0-2 are MIG on; only those the config turns off get an operation
	mc 1 plan -f "$A100" -c custom-config
	expect_contains "$ERR" "devices names GPU 3, but this node has 3 GPUs"
}

run_tests
echo "# concurrent apply pairs exercised: $CONCURRENT_RUNS; kill -9 points exercised: $KILL_POINTS of $KILL_TRIES tried"
