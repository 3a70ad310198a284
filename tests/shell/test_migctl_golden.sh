#!/usr/bin/env bash
# migctl --json against golden files. For each simulated machine (an A100-SXM4-40GB, an A30,
# an H100-SXM5-80GB and a mixed node of the three) a fixed sequence of migctl commands runs:
# every read command with MIG off, mode enable, creates with and without -C, create-ci, a
# fake process, every `mig` spelling, destroys, a few refusals, mode disable. The transcript
# (each command, its exit status and its stdout, byte for byte) must equal
# tests/golden/migctl/<machine>.txt. The output is deterministic: GPU and MIG UUIDs are
# name-based, fake pids start at 4100 in a fresh state file, the driver version is fixed.
#
# Besides the byte comparison, every step's stdout must be one JSON document, stderr must be
# empty unless the step fails, a failure must carry {"error": {"message": ...}}, and a
# checker compares the values with the hardware facts written out below by hand (profile
# ids, names, memory, SMs, instance counts, placements; GPU instance ids from placements;
# MIG mode words; UUID shapes), so a golden file regenerated from wrong output still fails.
#
# Regenerating the golden files after an intended change of the output:
#     UPDATE_GOLDEN=1 make check                       (or make test-only)
#     UPDATE_GOLDEN=1 MIGSIM=... MIGSIM_LIB=... MIGCTL=... MIGCTL_BUILD=... \
#         bash tests/shell/test_migctl_golden.sh
# then read `git diff tests/golden` line by line before committing it.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB

GOLDEN_DIR="$(cd "$(dirname "$0")/.." && pwd)/golden/migctl"
TRANSCRIPT="$TEST_TMP/transcript.txt"
STEPS="$TEST_TMP/steps"

# begin GPUS: a fresh simulated node and an empty transcript.
begin() {
	: >"$TRANSCRIPT"
	rm -rf "$STEPS"
	mkdir -p "$STEPS"
	_step=0
	"$MIGSIM" init "$1" >/dev/null 2>"$TEST_TMP/init.err" || fail "migsim init $1: $(cat "$TEST_TMP/init.err")"
	printf '# machine: %s\n' "$1" >>"$TRANSCRIPT"
}

# step RC ARGS...: run `migctl --sim --json ARGS`, expect exit RC, add it to the transcript.
# (Whether stdout is JSON, with error.message on failure, is checked by check_facts.)
step() {
	local want=$1 rc
	shift
	_step=$((_step + 1))
	local out
	out="$STEPS/$(printf %03d $_step)"
	"$MIGCTL" --sim --json "$@" >"$out.json" 2>"$TEST_TMP/step.err"
	rc=$?
	echo "$rc" >"$out.rc"
	printf '\n$ migctl --json %s\n# exit %d\n' "$*" "$rc" >>"$TRANSCRIPT"
	cat "$out.json" >>"$TRANSCRIPT"
	if [ "$rc" -ne "$want" ]; then
		fail "step $_step 'migctl --json $*' exited $rc, expected $want; stderr: $(cat "$TEST_TMP/step.err")"
	elif [ "$rc" -eq 1 ] && [ ! -s "$TEST_TMP/step.err" ]; then
		fail "step $_step 'migctl --json $*' failed without a word on stderr"
	elif [ "$rc" -ne 1 ] && [ -s "$TEST_TMP/step.err" ]; then
		fail "step $_step 'migctl --json $*' (exit $rc) wrote to stderr: $(cat "$TEST_TMP/step.err")"
	fi
}

# sim ARGS...: a migsim command, noted in the transcript with what it printed (a pid).
sim() {
	local out
	out=$("$MIGSIM" "$@" 2>&1) || fail "migsim $*: $out"
	printf '\n# migsim %s%s\n' "$*" "${out:+ -> $out}" >>"$TRANSCRIPT"
}

# mig_uuid GPU GI CI: a MIG device's UUID from the simulator's own view.
mig_uuid() {
	"$MIGSIM" show --json | json_eval "[c['uuid'] for g in d['gpus'] if g['index'] == $1 for i in g['gpu_instances'] if i['id'] == $2 for c in i['compute_instances'] if c['id'] == $3][0]"
}

# check_facts MODEL...: every step's JSON against the hardware facts; MODEL per GPU index.
check_facts() {
	local report
	report=$(python3 - "$STEPS" "$@" <<'EOF'
import json, os, re, sys

# Written by hand from shared/facts/mig-profiles.json: name, driver id, NVML index, slices,
# memory MiB, SMs, max instances, placement starts, placement size.
FACTS = {
    "A100-SXM4-40GB": {
        "name": "NVIDIA A100-SXM4-40GB", "memory_mib": 40960, "grid": 8,
        "profiles": [
            ("1g.5gb", 19, 0, 1, 4864, 14, 7, [0, 1, 2, 3, 4, 5, 6], 1),
            ("2g.10gb", 14, 1, 2, 9856, 28, 3, [0, 2, 4], 2),
            ("3g.20gb", 9, 2, 3, 19968, 42, 2, [0, 4], 4),
            ("4g.20gb", 5, 3, 4, 19968, 56, 1, [0], 4),
            ("7g.40gb", 0, 4, 7, 40192, 98, 1, [0], 8),
            ("1g.5gb+me", 20, 7, 1, 4864, 14, 1, [0, 1, 2, 3, 4, 5, 6], 1),
            ("1g.10gb", 15, 9, 1, 9856, 14, 4, [0, 2, 4, 6], 2),
        ],
    },
    "A30": {
        "name": "NVIDIA A30", "memory_mib": 24576, "grid": 4,
        "profiles": [
            ("1g.6gb", 14, 0, 1, 5952, 14, 4, [0, 1, 2, 3], 1),
            ("2g.12gb", 5, 1, 2, 11968, 28, 2, [0, 2], 2),
            ("4g.24gb", 0, 3, 4, 24000, 56, 1, [0], 4),
            ("1g.6gb+me", 21, 7, 1, 5952, 14, 1, [0, 1, 2, 3], 1),
            ("2g.12gb+me", 6, 8, 2, 11968, 28, 1, [0, 2], 2),
        ],
    },
    "H100-SXM5-80GB": {
        "name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559, "grid": 8,
        "profiles": [
            ("1g.10gb", 19, 0, 1, 9984, 16, 7, [0, 1, 2, 3, 4, 5, 6], 1),
            ("2g.20gb", 14, 1, 2, 20096, 32, 3, [0, 2, 4], 2),
            ("3g.40gb", 9, 2, 3, 40448, 60, 2, [0, 4], 4),
            ("4g.40gb", 5, 3, 4, 40448, 64, 1, [0], 4),
            ("7g.80gb", 0, 4, 7, 81152, 132, 1, [0], 8),
            ("1g.10gb+me", 20, 7, 1, 9984, 16, 1, [0, 1, 2, 3, 4, 5, 6], 1),
            ("1g.20gb", 15, 9, 1, 20096, 26, 4, [0, 2, 4, 6], 2),
        ],
    },
}
steps_dir, models = sys.argv[1], sys.argv[2:]
gpus = [FACTS[m] for m in models]
errors = []
MIG_UUID = re.compile(r"^MIG-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
GPU_UUID = re.compile(r"^GPU-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

def err(where, msg):
    errors.append("%s: %s" % (where, msg))

def gi_id(grid, start, size):
    if grid == 8:
        return {8: 0, 4: 1 + start // 4, 2: 3 + start // 2, 1: 7 + start}[size]
    return {4: 0, 2: 1 + start // 2, 1: 3 + start}[size]

def profile(g, name):
    return next((p for p in g["profiles"] if p[0] == name), None)

def check_gi(where, gpu, gi):
    g = gpus[gpu]
    pl = gi["placement"]
    p = profile(g, gi["profile"])
    if p is None:
        return err(where, "GPU %d has no profile %s" % (gpu, gi["profile"]))
    if gi["profile_id"] != p[1]:
        err(where, "%s has profile id %d, not %d" % (gi["profile"], gi["profile_id"], p[1]))
    if pl["start"] not in p[7] or pl["size"] != p[8]:
        err(where, "%s at %d:%d is not one of its placements" % (gi["profile"], pl["start"], pl["size"]))
    want = gi_id(g["grid"], pl["start"], pl["size"])
    if gi["id"] != want:
        err(where, "GI at %d:%d has id %d, the placement gives %d" % (pl["start"], pl["size"], gi["id"], want))

def check_ci(where, gpu, gi, ci):
    if not MIG_UUID.match(ci["uuid"]):
        err(where, "MIG UUID %r" % ci["uuid"])
    p = profile(gpus[gpu], gi["profile"])
    pl = ci["placement"]
    if p and pl["start"] + pl["size"] > p[3]:
        err(where, "CI at %d:%d overflows a %d-slice GI" % (pl["start"], pl["size"], p[3]))
    if p and "memory_mib" in ci and ci["memory_mib"] != p[4]:
        err(where, "CI memory %d, its GI's profile has %d" % (ci["memory_mib"], p[4]))
    if "sms" in ci and ci["sms"] > (p[5] if p else 1000):
        err(where, "CI has %d SMs, more than its GI's %d" % (ci["sms"], p[5]))

def check_gpu(where, o):
    g = gpus[o["index"]]
    if o["name"] != g["name"]:
        err(where, "name %r, expected %r" % (o["name"], g["name"]))
    if o["memory_mib"] != g["memory_mib"]:
        err(where, "memory %d, expected %d" % (o["memory_mib"], g["memory_mib"]))
    if not GPU_UUID.match(o["uuid"]):
        err(where, "GPU UUID %r" % o["uuid"])
    for k in ("current", "pending"):
        if o["mig_mode"][k] not in ("enabled", "disabled"):
            err(where, "mig_mode.%s is %r" % (k, o["mig_mode"][k]))
    for p in o.get("profiles", []):
        f = profile(g, p["name"])
        if f is None:
            err(where, "unexpected profile %s" % p["name"])
            continue
        got = (p["name"], p["id"], p["index"], p["slices"], p["memory_mib"], p["sms"], p["instances"]["total"],
               [x["start"] for x in p["placements"]], {x["size"] for x in p["placements"]})
        want = f[:7] + (f[7], {f[8]})
        if got != want:
            err(where, "profile %s is %r, the facts say %r" % (p["name"], got, want))
        free = p["instances"]["free"]
        if o["mig_mode"]["current"] == "enabled":
            if not isinstance(free, int) or free > p["instances"]["total"]:
                err(where, "%s free %r of %d" % (p["name"], free, p["instances"]["total"]))
        elif free is not None:
            err(where, "%s free count %r with MIG off" % (p["name"], free))
    if "profiles" in o:
        names = sorted(p["name"] for p in o["profiles"])
        if names != sorted(p[0] for p in g["profiles"]):
            err(where, "profiles %r" % names)
    for gi in o.get("gpu_instances", []):
        check_gi(where, o["index"], gi)
        for ci in gi.get("compute_instances", []):
            check_ci(where, o["index"], gi, ci)

for name in sorted(n for n in os.listdir(steps_dir) if n.endswith(".json")):
    where = "step " + name[:3]
    rc = int(open(os.path.join(steps_dir, name[:3] + ".rc")).read())
    try:
        d = json.load(open(os.path.join(steps_dir, name)))
    except ValueError as e:
        err(where, "stdout is not one JSON document (%s)" % e)
        continue
    if not isinstance(d, dict):
        err(where, "stdout is not a JSON object")
        continue
    if rc == 1 and not (isinstance(d.get("error"), dict) and d["error"].get("message")):
        err(where, "failed without {\"error\": {\"message\": ...}} on stdout")
    if rc != 1 and "error" in d:
        err(where, "exit %d with an error document" % rc)
    try:
        if "driver_version" in d and d["driver_version"] != "580.82.07":
            err(where, "driver version %r" % d["driver_version"])
        for o in d.get("gpus", []) if isinstance(d.get("gpus"), list) else []:
            if "name" in o:
                check_gpu(where, o)
            elif "gpu_instances" in o:  # ci-profiles
                for gi in o["gpu_instances"]:
                    if sum(1 for c in gi["compute_instance_profiles"] if c["default"]) != 1:
                        err(where, "GI %d has not exactly one default CI profile" % gi["id"])
            if "requested" in o:  # mode
                for k in ("current", "pending"):
                    if o["mig_mode"][k] not in ("enabled", "disabled"):
                        err(where, "mig_mode.%s is %r" % (k, o["mig_mode"][k]))
        for c in d.get("created", []):
            gi = c["gpu_instance"]
            if isinstance(gi, dict):
                check_gi(where, c["gpu"], gi)
            if c.get("compute_instance") and isinstance(gi, dict):
                check_ci(where, c["gpu"], gi, c["compute_instance"])
            elif c.get("compute_instance"):
                if not MIG_UUID.match(c["compute_instance"]["uuid"]):
                    err(where, "MIG UUID %r" % c["compute_instance"]["uuid"])
        for row in d.get("gpu_instances", []) if isinstance(d.get("gpu_instances"), list) else []:
            check_gi(where, row["gpu"], row)
        for row in d.get("compute_instances", []) if isinstance(d.get("compute_instances"), list) else []:
            if not MIG_UUID.match(row["uuid"]):
                err(where, "MIG UUID %r" % row["uuid"])
        for row in d.get("destroyed", {}).get("compute_instances", []):
            if not MIG_UUID.match(row["uuid"]):
                err(where, "MIG UUID %r" % row["uuid"])
    except (KeyError, TypeError, IndexError) as e:
        err(where, "unexpected shape (%r)" % e)
print("\n".join(errors))
EOF
)
	if [ -n "$report" ]; then
		fail "values that contradict the facts:"
		echo "$report" | sed 's/^/#   /'
	fi
}

# finish NAME: compare the transcript with tests/golden/migctl/NAME.txt (or write it).
finish() {
	local golden="$GOLDEN_DIR/$1.txt"
	if [ -n "${UPDATE_GOLDEN:-}" ]; then
		mkdir -p "$GOLDEN_DIR"
		cp "$TRANSCRIPT" "$golden"
		echo "# UPDATE_GOLDEN: wrote $golden; review it (git diff) before committing"
		return
	fi
	if [ ! -f "$golden" ]; then
		fail "no golden file $golden (generate it with UPDATE_GOLDEN=1, then review it)"
		return
	fi
	if ! cmp -s "$TRANSCRIPT" "$golden"; then
		fail "migctl --json output differs from $golden (- golden, + now):"
		diff -u "$golden" "$TRANSCRIPT" | head -60 | sed 's/^/#   /'
	fi
}

# ---- machines ------------------------------------------------------------------------------

t_golden_a100_sxm4_40gb() {
	begin A100-SXM4-40GB
	# MIG off: the read commands
	step 0 list
	step 0 status
	step 0 profiles
	step 0 placements
	step 1 ci-profiles
	step 1 mig -lgi
	step 1 create 1g.5gb
	step 0 mode enable
	step 0 mode enable
	step 0 profiles
	# 3g at 4:4 (GI 2) and 2g at 0:2 (GI 3), each with its full-size compute instance
	step 0 create 3g.20gb,2g.10gb -C
	# slices 2 and 3 and two compute slices left: 1g 2, 1g+me 1, 1g.10gb 1, 2g 1, the rest 0
	step 0 profiles
	# a 1g at slice 3 (GI 10) without a compute instance, then its default one
	step 0 create 1g.5gb --placement 3
	step 0 create-ci --gi 10
	# nvidia-smi spelling, by profile id: the last free slice, 2 (GI 9)
	step 0 mig -cgi 19 -C
	step 1 create 1g.5gb
	sim proc start --uuid "$(mig_uuid 0 2 0)" --mib 2048
	step 0 list
	step 0 status
	step 0 profiles
	step 0 placements
	step 0 ci-profiles
	step 0 ci-profiles --gi 2
	step 0 mig -lgip
	step 0 mig -lgipp
	step 0 mig -lcip
	step 0 mig -lcip -gi 3
	step 0 mig -lgi
	step 0 mig -lci
	step 0 mig -lci -gi 2
	# refused: a process runs on GI 2; MIG cannot go off with instances
	step 1 destroy --gi 2
	step 1 mode disable
	# destroy a GI with its compute instance, then rebuild it the nvidia-smi way with two 1c CIs
	step 0 destroy --gi 3
	step 0 mig -cgi 2g.10gb
	step 0 mig -cci 0,0 -gi 3
	step 0 mig -lci -gi 3
	step 0 mig -dci -gi 3 -ci 1
	step 0 mig -dci -gi 3
	step 0 mig -dgi -gi 3
	step 1 create-ci --gi 10 1c.1g.5gb
	step 0 destroy --gi 9 --ci 0
	step 0 mig -lci
	sim proc stop 4100
	step 0 destroy --all
	step 0 destroy --all
	step 0 mode disable
	step 0 list
	step 0 status
	check_facts A100-SXM4-40GB
	finish A100-SXM4-40GB
}

t_golden_a30() {
	begin A30
	step 0 list
	step 0 profiles
	step 0 placements
	step 0 mode enable
	# 2g at 0:2 or 2:2 (GI 1 or 2), then the 1g quarters of the other half (GIs 3+start)
	step 0 create 2g.12gb,1g.6gb,1g.6gb -C
	step 0 status
	step 0 profiles
	step 0 placements
	step 0 ci-profiles
	step 0 mig -lgi
	step 0 mig -lci
	step 1 create 1g.6gb
	sim proc start --uuid "$(mig_uuid 0 1 0)"
	step 0 status
	step 1 destroy --all
	sim proc stop 4100
	step 0 destroy --all
	# by profile id: 2g.12gb+me (6) at 2:2 is GI 2, then a 1g.6gb (14) at 0 is GI 3
	step 0 create 6 --placement 2
	step 0 mig -cgi 14 -C
	step 0 create-ci --gi 2 1c.2g.12gb+me,1c.2g.12gb+me
	step 0 mig -lci
	step 0 ci-profiles --gi 2
	step 0 destroy --gi 2,3
	# the whole GPU: 4g.24gb is GI 0
	step 0 create 4g.24gb
	step 0 mig -cci -gi 0
	step 0 mig -lcip
	step 0 mig -dci
	step 0 mig -dgi
	step 0 mode disable
	step 0 status
	check_facts A30
	finish A30
}

t_golden_h100_sxm5_80gb() {
	begin H100-SXM5-80GB
	step 0 list
	step 0 profiles
	step 0 placements
	step 0 mode enable
	# 4g at 0:4 is GI 1; the 1g.20gb (two memory slices, one compute slice) and a 1g.10gb go
	# into the upper half
	step 0 create 4g.40gb,1g.20gb,1g.10gb -C
	step 0 status
	step 0 profiles
	step 0 placements
	step 0 ci-profiles
	step 0 mig -lgi
	step 0 mig -lci
	# the 4g holds a 4c CI: no room for another one, and 3g.40gb has no room left anywhere
	step 1 create-ci --gi 1 1c.4g.40gb
	step 1 create 3g.40gb
	sim proc start --uuid "$(mig_uuid 0 1 0)" --mib 30000
	step 0 list
	step 0 mig -dci -gi 6,11
	step 0 mig -dgi -gi 6,11
	step 1 destroy --gi 1
	sim proc stop 4100
	step 0 destroy --gi 1
	# the whole GPU: 7g.80gb is GI 0, with four compute instances of three sizes
	step 0 mig -cgi 7g.80gb
	step 0 mig -cci 3c.7g.80gb,2c.7g.80gb,1c.7g.80gb,1c.7g.80gb -gi 0
	step 0 ci-profiles --gi 0
	step 0 mig -lci
	step 0 status
	step 0 destroy --all
	step 0 mode disable
	step 0 list
	check_facts H100-SXM5-80GB
	finish H100-SXM5-80GB
}

t_golden_mixed_node() {
	begin A100-SXM4-40GB,A30,H100-SXM5-80GB
	step 0 list
	step 0 status
	# a process on the A30 while MIG is off: enabling waits for it there (exit 3)
	sim proc start --gpu 1 --mib 512
	step 0 status
	step 3 mode enable
	step 0 status -i 1
	sim proc stop 4100
	step 0 mode enable
	step 0 profiles
	step 0 placements -i 1
	# 1g.5gb is no A30 profile: refused on the whole node before anything is created
	step 1 create 1g.5gb -C
	step 0 create 3g.20gb -C -i 0
	# one 3g at 4:4 on an A100-40GB leaves 1g 4, 1g+me 1, 1g.10gb 2, 2g 2, 3g 1, 4g 1, 7g 0
	step 0 profiles -i 0
	step 0 create 2g.12gb --placement 0 -i 1
	step 0 create 3g.40gb -C -i 2
	# profile id 19 is 1g.5gb on the A100 and 1g.10gb on the H100
	step 0 create 19 -C -i 0,2
	step 0 list
	step 0 status
	step 0 mig -lgi
	step 0 mig -lci
	step 0 ci-profiles -i 1
	step 1 create-ci --gi 1
	step 0 create-ci --gi 1 -i 1 1c.2g.12gb
	step 0 mig -lci -i 00000000:0F:00.0
	step 0 destroy --all -i 0
	step 0 mig -lgi
	step 1 mode disable
	step 0 destroy --all
	step 0 mode disable -i 0,1
	step 0 mode disable
	step 0 list
	check_facts A100-SXM4-40GB A30 H100-SXM5-80GB
	finish mixed-node
}

t_golden_reset_required() {
	begin H100-SXM5-80GB:reset-required
	step 3 mode enable
	step 0 status
	step 1 create 1g.10gb -C
	sim reset --gpu 0
	step 0 status
	step 0 mode enable
	step 0 create 1g.10gb -C
	step 0 list
	check_facts H100-SXM5-80GB
	finish H100-SXM5-80GB-reset-required
}

run_tests
