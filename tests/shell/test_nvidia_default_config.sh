#!/usr/bin/env bash
# NVIDIA's default mig-parted config, by its shape (tests/fixtures/nvidia-default/: the same 81
# named configs, profiles, counts and device ids): on every simulated model, each config either
# plans exactly what it asks for that GPU or fails with an error naming the reason (nothing is
# ever planned wrongly); every config plans on at least one model it names; and on the first
# such model each config applies, asserts, and applies again as a no-op. A GPU without MIG
# (DGX-Display) beside an A100 is skipped by "devices: all" configs, as in mig-parted.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGCTL_HOOKS_FILE
export MIGCTL_LOCK="$TEST_TMP/apply.lock" MIGCTL_JOURNAL="$TEST_TMP/journal.json"

HERE=$(cd "$(dirname "$0")" && pwd)
FIXTURE="$HERE/../fixtures/nvidia-default/config-default-shape.yaml"

# The whole matrix in one python3 process (about 1500 migctl runs at a few ms each).
matrix() {
	python3 - "$MIGCTL" "$MIGSIM" "$FIXTURE" "$TEST_TMP/chosen" <<'EOF'
import collections, json, subprocess, sys

migctl, migsim, fixture, chosen_path = sys.argv[1:5]
models = [m["model"] for m in json.loads(subprocess.run([migsim, "models", "--json"], capture_output=True,
                                                        text=True, check=True).stdout)]
# the configs and what each asks, read by migctl itself (plan --json of every config on an A100
# would refuse most): the fixture is plain enough for a tiny reader of its flow mappings
configs = collections.OrderedDict()
anchors = {}
name = None
for line in open(fixture):
    s = line.strip()
    if line.startswith("  ") and not line.startswith("   ") and s.endswith(":"):
        name = s[:-1]
        configs[name] = []
    elif s.startswith("- ") and name:
        configs[name].append({})
    if name and configs[name] and ":" in s and not s.startswith("#"):
        key, _, val = s.lstrip("- ").partition(": ")
        if val.startswith("&"):  # an anchored device-filter list, and later its aliases
            anchor, _, val = val.partition(" ")
            anchors[anchor[1:]] = val
        elif val.startswith("*"):
            val = anchors[val[1:]]
        configs[name][-1][key] = val
fails = 0
chosen = {}
for model in models:
    subprocess.run([migsim, "init", model], capture_output=True, check=True)
    ids = json.loads(subprocess.run([migctl, "--sim", "--json", "list"], capture_output=True, text=True,
                                    check=True).stdout)["gpus"][0]
    for cfg, entries in configs.items():
        r = subprocess.run([migctl, "--sim", "--json", "plan", "-f", fixture, "-c", cfg], capture_output=True,
                           text=True)
        if r.returncode != 0:
            err = json.loads(r.stdout)["error"]["message"]
            if not any(w in err for w in ("has no profile", "selects no GPU", "cannot fit", "does not support MIG")):
                print("# FAIL: %s on %s: unexplained refusal: %s" % (cfg, model, err))
                fails += 1
            continue
        plan = json.loads(r.stdout)
        if ids["mig_mode"]["current"] == "unsupported":
            # a GPU without MIG: "devices: all" skips it, nothing is planned
            if plan["gpus"] or plan["operations"]:
                print("# FAIL: %s on %s plans changes on a GPU without MIG" % (cfg, model))
                fails += 1
            continue
        # what the config asks of this GPU: the first entry whose filter takes its device id
        want = None
        for e in entries:
            f = e.get("device-filter", "")
            if not f or ids["pci_device_id"] in f:
                want = e
                break
        if want is None:
            print("# FAIL: %s on %s planned, but no entry names device id %s" % (cfg, model, ids["pci_device_id"]))
            fails += 1
            continue
        asked = collections.Counter()
        for item in want.get("mig-devices", "{}").strip("{}").split(","):
            if item.strip():
                prof, _, n = item.partition(":")
                asked[prof.strip().strip('"')] += int(n)
        got = collections.Counter(a["profile"] for g in plan["gpus"] for a in g["after"])
        if want["mig-enabled"] == "false":
            asked = collections.Counter()
        if got != asked:
            print("# FAIL: %s on %s plans %s, the config asks %s" % (cfg, model, dict(got), dict(asked)))
            fails += 1
        else:
            chosen.setdefault(cfg, model)
for cfg in configs:
    if cfg not in chosen:
        print("# FAIL: %s plans on no simulated model" % cfg)
        fails += 1
with open(chosen_path, "w") as f:
    for cfg, model in chosen.items():
        f.write("%s %s\n" % (cfg, model))
print("# %d configs x %d models planned; %d configs have a model" % (len(configs), len(models), len(chosen)))
sys.exit(1 if fails else 0)
EOF
}

t_every_config_plans_right_or_says_why() {
	local n
	n=$(grep -cE '^  [a-z0-9].*:$' "$FIXTURE")
	expect_eq "$n" 81 "named configs in the fixture"
	matrix || fail "the matrix above"
}

# Each config on the first model it names: apply, assert, apply again changes nothing.
t_every_config_applies_asserts_and_reapplies_as_a_no_op() {
	[ -s "$TEST_TMP/chosen" ] || matrix >/dev/null || true
	local cfg model count=0
	while read -r cfg model; do
		"$MIGSIM" init "$model" >/dev/null
		mc 0 apply -f "$FIXTURE" -c "$cfg"
		# all-disabled is already so on a fresh GPU
		[ "$cfg" = all-disabled ] || expect_contains "$OUT" "MIG configuration applied successfully"
		mc 0 assert -f "$FIXTURE" -c "$cfg"
		expect_eq "$OUT" "Selected MIG configuration currently applied" "assert $cfg on $model"
		mc 0 apply -f "$FIXTURE" -c "$cfg"
		expect_contains "$OUT" "Nothing to do"
		count=$((count + 1))
	done <"$TEST_TMP/chosen"
	expect_eq "$count" 81 "configs applied"
}

# A DGX Station: a MIG GPU and a display GPU without MIG. "devices: all" skips the display GPU;
# naming it with mig-enabled: true is an error.
t_non_mig_gpu_is_skipped() {
	"$MIGSIM" init A100-SXM4-80GB,DGX-Display >/dev/null
	mc 0 apply -f "$FIXTURE" -c all-1g.10gb
	mc 0 assert -f "$FIXTURE" -c all-1g.10gb
	mc 0 --json list
	expect_eq "$(echo "$OUT" | json_eval "[g['mig_mode']['current'] for g in d['gpus']]")" '["enabled", "unsupported"]' "modes"
	printf 'version: v1\nmig-configs:\n  c:\n    - devices: [1]\n      mig-enabled: true\n      mig-devices: {}\n' >"$TEST_TMP/display.yaml"
	mc 1 plan -f "$TEST_TMP/display.yaml"
	expect_contains "$ERR" "GPU 1 (NVIDIA DGX Display) does not support MIG"
	# naming it with MIG off is fine (mig-parted skips it too): nothing to do
	printf 'version: v1\nmig-configs:\n  c:\n    - devices: [1]\n      mig-enabled: false\n' >"$TEST_TMP/display-off.yaml"
	mc 0 apply -f "$TEST_TMP/display-off.yaml"
	expect_contains "$OUT" "Nothing to do"
	# a filter for the display GPU alone (the DGX Station file's second entry) selects it
	printf 'version: v1\nmig-configs:\n  c:\n    - device-filter: "0x1FB010DE"\n      devices: all\n      mig-enabled: false\n' \
		>"$TEST_TMP/display-filter.yaml"
	mc 0 assert -f "$TEST_TMP/display-filter.yaml"
}

run_tests
