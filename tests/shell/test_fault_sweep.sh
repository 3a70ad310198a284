#!/usr/bin/env bash
# Fault-injection sweep: for every NVML call that a representative apply makes, fail that
# call with each plausible error, then check what apply did about it.
#
# The apply: node "A100-SXM4-40GB,H100-SXM5-80GB,A30", from config "start" to "target" of
# tests/fixtures/reliability/mixed.yaml (keeps 4 GPU instances, destroys 4 with their compute
# instances, enables MIG on the A30, creates 6 GPU and 6 compute instances: 21 operations,
# about 730 NVML calls). Its calls are enumerated with the simulator's trace
# (MIGSIM_TRACE): each line is one call, and the Nth line naming FUNCTION is the call that
# `migsim fault add FUNCTION ERROR --nth N` fails (fault counts run from when the fault is
# armed, across every process, and a name without a _vN suffix also counts its versioned
# symbols; apply is the only process that calls NVML while the fault is armed, and its
# calls are deterministic). nvmlShutdown and nvmlErrorString cannot be failed and are left
# out.
#
# For each (call, error) pair, from the "start" layout:
#   1. apply with the fault armed: it must not crash or hang, and it exits non-zero, unless
#      it tolerated the failure and the node is exactly as configured anyway ("tolerated");
#   2. the simulator's state is valid (migsim show --json loads);
#   3. the fault was reached (the call sequence is the traced one);
#   4. after `migsim fault clear`, apply again: exit 0, `migctl assert` exits 0, and every
#      instance the target keeps has the same GPU instance, compute instances and MIG UUIDs
#      as at the start.
# And, checked in tests of their own (2 and 3):
#   5. the message names the GPU (for calls about one GPU), the step (a context before the
#      NVML error; for a failed operation, its kind), the cause (NVML's error string), and,
#      when the node was changed before the failure, says so;
#   6. the node is left without orphaned GPU instances (a GPU instance with no compute
#      instance; the target has none).
#
# make check runs a bounded sweep (FAULT_SWEEP=check, the default): every distinct function
# x every error at its first occurrence, every occurrence of the five mutating functions
# with an error rotated over the six, the two calls after each of those (which read the change
# back) with TIMEOUT and UNKNOWN, and every 16th remaining call with a rotated error.
# FAULT_SWEEP=full tries every (call, error) pair (scripts/reliability-report.sh). Workers:
# FAULT_SWEEP_JOBS (default: nproc, at most 4).
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGSIM_TRACE

HERE=$(cd "$(dirname "$0")" && pwd)
FIX=$(cd "$HERE/../fixtures/reliability" && pwd)
export SWEEP_CONFIG="$FIX/mixed.yaml" SWEEP_NODE="A100-SXM4-40GB,H100-SXM5-80GB,A30"
export SWEEP_MODE=${FAULT_SWEEP:-check}
_jobs=$(nproc 2>/dev/null || echo 2)
[ "$_jobs" -gt 4 ] && _jobs=4
export SWEEP_JOBS=${FAULT_SWEEP_JOBS:-$_jobs}
export MIGCTL MIGSIM TEST_TMP
RESULTS="$TEST_TMP/sweep-results.json"

cat >"$TEST_TMP/sweep.py" <<'PY'
import json, os, shutil, subprocess, sys, threading

MIGCTL, MIGSIM, TMP = os.environ["MIGCTL"], os.environ["MIGSIM"], os.environ["TEST_TMP"]
CONFIG, NODE, MODE = os.environ["SWEEP_CONFIG"], os.environ["SWEEP_NODE"], os.environ["SWEEP_MODE"]
JOBS = max(1, int(os.environ.get("SWEEP_JOBS", "2")))
ERRORS = ["INSUFFICIENT_RESOURCES", "IN_USE", "NO_PERMISSION", "GPU_IS_LOST", "UNKNOWN", "TIMEOUT"]
ERRTEXT = {"INSUFFICIENT_RESOURCES": "Insufficient Resources", "IN_USE": "In use by another client",
           "NO_PERMISSION": "Insufficient Permissions", "GPU_IS_LOST": "GPU is lost",
           "UNKNOWN": "Unknown Error", "TIMEOUT": "Timeout"}
UNFAULTABLE = {"nvmlShutdown", "nvmlErrorString"}
NODE_LEVEL = ("nvmlInit", "nvmlDeviceGetCount", "nvmlSystemGet")
MUTATING = {"nvmlComputeInstanceDestroy": ("destroy-ci",), "nvmlGpuInstanceDestroy": ("destroy-gi",),
            "nvmlDeviceSetMigMode": ("enable-mig", "disable-mig"),
            "nvmlDeviceCreateGpuInstance": ("create-gi",), "nvmlDeviceCreateGpuInstanceWithPlacement": ("create-gi",),
            "nvmlGpuInstanceCreateComputeInstance": ("create-ci",),
            "nvmlGpuInstanceCreateComputeInstanceWithPlacement": ("create-ci",)}
# words the message must contain for a failed operation of each kind
OPWORDS = {"destroy-ci": ("destroy", "compute instance"), "destroy-gi": ("destroy", "GPU instance"),
           "enable-mig": ("MIG mode",), "disable-mig": ("MIG mode",),
           "create-gi": ("create", "GPU instance"), "create-ci": ("create", "compute instance")}

def fault_matches(armed, fn):
    # sim/nvml.c: an armed name also matches its _vN versions
    if not fn.startswith(armed):
        return False
    rest = fn[len(armed):]
    return rest == "" or (len(rest) == 3 and rest[:2] == "_v" and rest[2] in "123456789")

def env_for(d):
    e = dict(os.environ)
    e.update(MIGSIM_STATE=d + "/state.json", MIGCTL_LOCK=d + "/apply.lock", MIGCTL_JOURNAL=d + "/journal.json",
             MIGSIM_QUIET="1")
    e.pop("MIGSIM_TRACE", None)
    return e

def run(args, env, timeout=60):
    try:
        p = subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           universal_newlines=True)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return 124, "", "timed out after %d s" % timeout

def must(args, env):
    rc, out, err = run(args, env)
    if rc != 0:
        sys.exit("setup: %s exited %d: %s" % (" ".join(args), rc, err.strip()))
    return out

def apply(env):
    return run([MIGCTL, "--sim", "apply", "-f", CONFIG, "-c", "target"], env)

def show(env):
    rc, out, err = run([MIGSIM, "show", "--json"], env)
    if rc != 0:
        return None, err.strip()
    try:
        return json.loads(out), None
    except ValueError as e:
        return None, "not JSON: %s" % e

def layout(doc):
    return [(g["mig_mode"]["current"], sorted((gi["id"], gi["profile"], gi["placement"]["start"],
             tuple(sorted((c["id"], c["uuid"]) for c in gi["compute_instances"]))) for gi in g["gpu_instances"] or []))
            for g in doc["gpus"]]

# ---- setup: the start layout, the plan, the trace ------------------------------------------
base = TMP + "/sweep-base"
os.makedirs(base, exist_ok=True)
benv = env_for(base)
must([MIGSIM, "init", NODE], benv)
must([MIGCTL, "--sim", "apply", "-f", CONFIG, "-c", "start"], benv)
shutil.copy(base + "/state.json", base + "/start.json")
start_doc, _ = show(benv)
start_layout = layout(start_doc)
plan = json.loads(must([MIGCTL, "--sim", "--json", "plan", "-f", CONFIG, "-c", "target"], benv))
ops = plan["operations"]
kept = {}  # (gpu, gi id) -> its CIs and UUIDs at the start
starts = {g["index"]: {gi["id"]: gi for gi in g["gpu_instances"] or []} for g in start_doc["gpus"]}
for g in plan["gpus"]:
    for a in g["after"]:
        if a.get("gpu_instance") is not None:
            gi = starts[g["index"]][a["gpu_instance"]]
            kept[(g["index"], gi["id"])] = (gi["placement"]["start"], sorted((c["id"], c["uuid"]) for c in gi["compute_instances"]))
trace = base + "/trace"
tenv = dict(benv, MIGSIM_TRACE=trace)
rc, out, err = run([MIGCTL, "--sim", "apply", "-f", CONFIG, "-c", "target"], tenv)
if rc != 0:
    sys.exit("setup: the traced apply exited %d: %s" % (rc, err))
calls = [l.strip() for l in open(trace) if l.strip()]
points = []  # (function, nth, index in the trace)
for i, fn in enumerate(calls):
    if fn in UNFAULTABLE:
        continue
    nth = sum(1 for f in calls[:i + 1] if fault_matches(fn, f))
    points.append((fn, nth, i))
functions = sorted({p[0] for p in points})

# ---- which pairs --------------------------------------------------------------------------
pairs = []
if MODE == "full":
    pairs = [(fn, nth, e) for fn, nth, _ in points for e in ERRORS]
else:
    chosen = set()
    for fn, nth, _ in points:
        if nth == 1:
            for e in ERRORS:
                chosen.add((fn, nth, e))
    rest = [(fn, nth) for fn, nth, _ in points if nth > 1]
    k = 0
    for j, (fn, nth) in enumerate(rest):
        if fn in MUTATING or j % 16 == 0:
            chosen.add((fn, nth, ERRORS[k % len(ERRORS)]))
            k += 1
    # the two calls after each change, which read it back (where a failure must not leave a
    # half-made change behind), with TIMEOUT and UNKNOWN
    at = {i: (fn, nth) for fn, nth, i in points}
    for fn, nth, i in points:
        if fn in MUTATING:
            for j in (i + 1, i + 2):
                if j in at:
                    for e in ("TIMEOUT", "UNKNOWN"):
                        chosen.add(at[j] + (e,))
    order = {(fn, nth): i for fn, nth, i in points}
    pairs = sorted(chosen, key=lambda p: (order[(p[0], p[1])], ERRORS.index(p[2])))

# ---- one pair -----------------------------------------------------------------------------
def try_pair(wid, fn, nth, err):
    d = "%s/w%d" % (TMP, wid)
    os.makedirs(d, exist_ok=True)
    for f in ("journal.json",):
        try:
            os.unlink(d + "/" + f)
        except OSError:
            pass
    shutil.copy(base + "/start.json", d + "/state.json")
    env = env_for(d)
    r = {"function": fn, "nth": nth, "error": err, "problems": [], "message": [], "orphans": []}
    rc, out, _ = run([MIGSIM, "fault", "add", fn, err, "--nth", str(nth)], env)
    if rc != 0:
        r["problems"].append("fault add failed")
        return r
    rc, out, serr = apply(env)
    r["rc"], r["stderr"] = rc, serr.strip()
    doc, why = show(env)
    if doc is None:
        r["problems"].append("state does not load after the failed apply: " + why)
        return r
    f = [x for x in doc.get("faults", []) if x["function"] == fn]
    if not f or f[0]["calls"] < nth:
        r["problems"].append("the fault was not reached (%s calls of %d)" % (f and f[0]["calls"], nth))
    changed = layout(doc) != start_layout
    r["changed"] = changed
    for g in doc["gpus"]:
        for gi in g["gpu_instances"] or []:
            if not gi["compute_instances"]:
                r["orphans"].append("GPU %d GI %d (%s at %d)" % (g["index"], gi["id"], gi["profile"], gi["placement"]["start"]))
    m = None
    import re
    m = re.search(r"(\d+) of (\d+) operations were done", serr)
    done = int(m.group(1)) if m else None
    r["done"] = done
    if rc not in (0, 1):
        r["problems"].append("apply exited %d: %s" % (rc, serr.strip()[:300]))
    # the message (checked only when apply failed)
    if rc != 0:
        lines = [l for l in serr.splitlines() if l.strip()]
        msg = lines[0] if lines else ""
        if not lines:
            r["message"].append("no message on stderr")
        if ERRTEXT[err] not in serr:
            r["message"].append("does not give the cause (%r)" % ERRTEXT[err])
        ctx = msg[len("migctl: "):] if msg.startswith("migctl: ") else msg
        if ctx.startswith(ERRTEXT[err]) or ctx.strip() == "":
            r["message"].append("no step named before the error")
        if not fn.startswith(NODE_LEVEL) and not re.search(r"\bGPU \d+\b|GPU-[0-9a-f]{8}-", serr):
            r["message"].append("does not name the GPU")
        if fn in MUTATING:
            if done is None:
                r["message"].append("a failed operation without 'K of N operations were done'")
            elif done < len(ops):
                op = ops[done]
                if op["op"] not in MUTATING[fn]:
                    r["message"].append("operation %d is %s, not a %s" % (done + 1, op["op"], fn))
                if not re.search(r"\bGPU %d\b" % op["gpu"], msg):
                    r["message"].append("does not name GPU %d of operation %d" % (op["gpu"], done + 1))
                for w in OPWORDS[op["op"]]:
                    if w.lower() not in msg.lower():
                        r["message"].append("does not name the step (%r, operation %d %s)" % (w, done + 1, op["op"]))
        if changed and done is None:
            r["message"].append("the node was changed, but the message does not say so (exit status 1 means nothing changed unless it does)")
    # converge after the fault clears
    run([MIGSIM, "fault", "clear"], env)
    rc2, out2, err2 = apply(env)
    r["rc_rerun"] = rc2
    if rc2 != 0:
        r["problems"].append("the apply after the fault cleared exited %d: %s" % (rc2, err2.strip()[:300]))
    if rc == 0 and "Nothing to do" not in out2:
        r["problems"].append("apply exited 0 under the fault but the node was not as configured")
    if rc == 0:
        r["tolerated"] = True
    rc3, _, err3 = run([MIGCTL, "--sim", "assert", "-f", CONFIG, "-c", "target"], env)
    if rc3 != 0:
        r["problems"].append("assert exited %d after the rerun" % rc3)
    if os.path.exists(d + "/journal.json"):
        r["problems"].append("the rerun left its journal")
    doc, why = show(env)
    if doc is None:
        r["problems"].append("state does not load after the rerun: " + why)
        return r
    now = {g["index"]: {gi["id"]: gi for gi in g["gpu_instances"] or []} for g in doc["gpus"]}
    for (g, gid), (pstart, cis) in sorted(kept.items()):
        gi = now.get(g, {}).get(gid)
        if gi is None or gi["placement"]["start"] != pstart or \
                sorted((c["id"], c["uuid"]) for c in gi["compute_instances"]) != cis:
            r["problems"].append("kept GPU %d GI %d lost its identity (UUIDs)" % (g, gid))
    return r

results = [None] * len(pairs)
lock = threading.Lock()
nxt = [0]
def worker(wid):
    while True:
        with lock:
            i = nxt[0]
            nxt[0] += 1
        if i >= len(pairs):
            return
        results[i] = try_pair(wid, *pairs[i])

threads = [threading.Thread(target=worker, args=(w,)) for w in range(JOBS)]
for t in threads:
    t.start()
for t in threads:
    t.join()

summary = {
    "mode": MODE, "trace_calls": len(calls), "faultable_calls": len(points), "functions": functions,
    "operations": len(ops), "kept_gpu_instances": len(kept), "pairs": len(results),
    "passed": sum(1 for r in results if not r["problems"]),
    "tolerated": sum(1 for r in results if r.get("tolerated") and not r["problems"]),
    "message_ok": sum(1 for r in results if not r["message"]),
    "orphan_free": sum(1 for r in results if not r["orphans"]),
    "fully_ok": sum(1 for r in results if not r["problems"] and not r["message"] and not r["orphans"]),
    "results": results,
}
json.dump(summary, open(sys.argv[1], "w"), indent=1)
PY

SWEEP_SECONDS=0
# sweep_once: run the sweep (once per file run) into $RESULTS.
sweep_once() {
	[ -s "$RESULTS" ] && return 0
	local t0
	t0=$(date +%s)
	python3 "$TEST_TMP/sweep.py" "$RESULTS" >"$TEST_TMP/sweep.log" 2>&1 || {
		fail "the sweep itself failed: $(tail -5 "$TEST_TMP/sweep.log")"
		return 1
	}
	SWEEP_SECONDS=$(($(date +%s) - t0))
	# FAULT_SWEEP_RESULTS=PATH keeps every pair's outcome (scripts/reliability-report.sh)
	[ -z "${FAULT_SWEEP_RESULTS:-}" ] || cp "$RESULTS" "$FAULT_SWEEP_RESULTS"
}

# summary EXPR: a figure of the summary.
summary() {
	json_eval "$1" <"$RESULTS"
}

# report KEY TITLE: the pairs whose KEY list is not empty, grouped by what was found.
report() {
	python3 - "$RESULTS" "$1" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
key, title = sys.argv[2], sys.argv[3]
bad = [r for r in doc["results"] if r.get(key)]
groups = {}
for r in bad:
    for p in r[key]:
        groups.setdefault(p, []).append(r)
if bad:
    print("# %s: %d of %d pairs" % (title, len(bad), len(doc["results"])))
for p, rs in sorted(groups.items(), key=lambda x: -len(x[1])):
    ex = rs[0]
    print("#   %4d x %s; e.g. %s %s --nth %d: %s" % (len(rs), p, ex["function"], ex["error"], ex["nth"],
                                               (ex.get("stderr") or "").replace("\n", " | ")[:240]))
PY
}

t_1_sweep_exit_state_and_convergence() {
	sweep_once || return
	local pairs passed
	pairs=$(summary "d['pairs']")
	passed=$(summary "d['passed']")
	echo "# mode $(summary "d['mode']"): $(summary "d['trace_calls']") NVML calls traced, $(summary "d['faultable_calls']") that can be failed, $(summary "len(d['functions'])") distinct functions; $(summary "d['operations']") operations; ${SWEEP_SECONDS}s"
	echo "# figures: pairs=$pairs passed=$passed tolerated=$(summary "d['tolerated']") message_ok=$(summary "d['message_ok']") orphan_free=$(summary "d['orphan_free']") fully_ok=$(summary "d['fully_ok']")"
	report problems "failed (exit, state, convergence, kept UUIDs)"
	# the tolerated ones: apply exited 0 under the fault with the node as configured
	python3 - "$RESULTS" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
t = {}
for r in doc["results"]:
    if r.get("tolerated"):
        t.setdefault(r["function"], set()).add(r["error"])
for fn, errs in sorted(t.items()):
    print("# tolerated (exit 0, node as configured): %s (%s)" % (fn, ", ".join(sorted(errs))))
PY
	[ "$pairs" -gt 0 ] || fail "no pair was tried"
	[ "$passed" -eq "$pairs" ] || fail "$((pairs - passed)) of $pairs (call, error) pairs failed"
	# every function the apply calls was failed with every error at least once
	local missing
	missing=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
seen = {(r["function"], r["error"]) for r in d["results"]}
print(" ".join("%s/%s" % (f, e) for f in d["functions"] for e in ["INSUFFICIENT_RESOURCES", "IN_USE", "NO_PERMISSION", "GPU_IS_LOST", "UNKNOWN", "TIMEOUT"] if (f, e) not in seen))' "$RESULTS")
	expect_eq "$missing" "" "(function, error) pairs never tried"
}

t_2_sweep_messages_name_gpu_step_and_cause() {
	sweep_once || return
	report message "message falls short"
	local ok pairs
	ok=$(summary "d['message_ok']")
	pairs=$(summary "d['pairs']")
	[ "$ok" -eq "$pairs" ] || fail "$((pairs - ok)) of $pairs messages fall short"
}

t_3_sweep_leaves_no_orphaned_gpu_instances() {
	sweep_once || return
	report orphans "GPU instances left without compute instances"
	local ok pairs
	ok=$(summary "d['orphan_free']")
	pairs=$(summary "d['pairs']")
	[ "$ok" -eq "$pairs" ] || fail "$((pairs - ok)) of $pairs failed applies left a GPU instance without compute instances"
}

# ---- targeted: failed queries must fail closed --------------------------------------------
# Found by the sweep (failures apply tolerated or misreported; fixed since): a query that
# fails must not change what apply decides, nor be reported as something else. Here the failure is armed --always, as a GPU that keeps failing.

# start_node: the sweep's node at its "start" layout, with this test's own lock and journal.
start_node() {
	export MIGCTL_LOCK="$TEST_TMP/t.lock" MIGCTL_JOURNAL="$TEST_TMP/t.journal.json"
	rm -f "$MIGCTL_LOCK" "$MIGCTL_JOURNAL"
	"$MIGSIM" init "$SWEEP_NODE" >/dev/null || fail "migsim init"
	expect_rc 0 "$MIGCTL" --sim apply -f "$SWEEP_CONFIG" -c start
}

t_4_failing_process_query_does_not_pass_as_idle() {
	start_node
	local uuid pid
	uuid=$("$MIGSIM" show --json | json_eval "[c['uuid'] for gi in d['gpus'][0]['gpu_instances'] if gi['profile'] == '3g.20gb' for c in gi['compute_instances']][0]")
	pid=$("$MIGSIM" proc start --uuid "$uuid" --name train) || fail "proc start"
	# without a fault: refused, naming the process
	expect_rc 1 "$MIGCTL" --sim plan -f "$SWEEP_CONFIG" -c target
	expect_contains "$ERR" "runs process $pid"
	"$MIGSIM" fault add nvmlDeviceGetComputeRunningProcesses UNKNOWN --always >/dev/null || fail "fault add"
	state_save
	# with the process list unreadable, plan must not pretend the instance is idle
	expect_rc 1 "$MIGCTL" --sim plan -f "$SWEEP_CONFIG" -c target
	expect_contains "$ERR" "Unknown Error"
	expect_rc 1 "$MIGCTL" --sim apply -f "$SWEEP_CONFIG" -c target
	expect_not_contains "$ERR" "Unable to destroy"
	expect_state_unchanged "the node after an apply that could not read processes"
	"$MIGSIM" fault clear >/dev/null
}

t_5_failing_pci_query_does_not_unselect_a_gpu() {
	start_node
	"$MIGSIM" fault add nvmlDeviceGetPciInfo UNKNOWN --always >/dev/null || fail "fault add"
	state_save
	expect_rc 1 "$MIGCTL" --sim assert -f "$SWEEP_CONFIG" -c target
	expect_contains "$ERR" "Unknown Error"
	expect_rc 1 "$MIGCTL" --sim apply -f "$SWEEP_CONFIG" -c target
	expect_not_contains "$OUT" "Nothing to do"
	expect_state_unchanged "the node after an apply that could not read PCI ids"
	"$MIGSIM" fault clear >/dev/null
	expect_rc 4 "$MIGCTL" --sim assert -f "$SWEEP_CONFIG" -c target
}

t_6_failing_placement_query_is_reported_as_such() {
	start_node
	"$MIGSIM" fault add nvmlDeviceGetGpuInstancePossiblePlacements TIMEOUT --nth 1 >/dev/null || fail "fault add"
	expect_rc 1 "$MIGCTL" --sim apply -f "$SWEEP_CONFIG" -c target
	expect_contains "$ERR" "Timeout"
	expect_not_contains "$ERR" "cannot fit together"
	"$MIGSIM" fault clear >/dev/null
}

run_tests
