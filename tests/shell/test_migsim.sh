#!/usr/bin/env bash
# migsim, the simulator's control command: every command, every error a user can hit, the
# exit codes (0 ok, 1 failure, 2 usage) and what the messages say. A state file that is
# corrupt, foreign or unsafe to use is refused with a message naming it, and left untouched.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL_BUILD:?run through make check}"
NVMLCTL="$MIGCTL_BUILD/tests/helpers/nvmlctl"
export MIGSIM_LIB
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED

MODEL_KEYS="A100-SXM4-40GB A100-SXM4-80GB A30 H100-SXM5-80GB H100-PCIE-80GB H100-NVL H200 B200 RTX-PRO-6000 GH200-144GB GH200-96GB GB200 GB300 B300 H20 PG506-96GB GB200-189GB DGX-Display"

# init_ok LIST: a fresh simulated node, or a test failure.
init_ok() {
	"$MIGSIM" init "$@" >/dev/null 2>"$TEST_TMP/init.err" || fail "migsim init $*: $(cat "$TEST_TMP/init.err")"
}

# nvml OPS...: the NVML helper, which must succeed.
nvml() {
	local out
	out=$("$NVMLCTL" "$@" 2>&1) || fail "nvmlctl $*: $out"
	echo "$out"
}

show_json() {
	"$MIGSIM" show --json
}

# gpu_field INDEX KEY: a field of one GPU in 'show --json'.
gpu_field() {
	show_json | json_eval "d['gpus'][$1]['$2']"
}

# An A100 in MIG mode with one 1g GI (id 7) holding one CI; MIG_UUID is that MIG device's.
mig_device() {
	init_ok A100-SXM4-40GB
	nvml enable 0 -- create-gi 0 19 0:1 -- create-ci 0 7 0 >/dev/null
	MIG_UUID=$(show_json | json_eval "d['gpus'][0]['gpu_instances'][0]['compute_instances'][0]['uuid']")
}

# ---- help and dispatch ----------------------------------------------------------------

t_help_lists_every_command() {
	local c
	expect_rc 0 "$MIGSIM" help
	for c in init show models path proc reset reboot caller fault latency help; do
		expect_contains "$OUT" "  $c "
	done
	expect_contains "$OUT" "MIGSIM_STATE"
	expect_contains "$OUT" "MIGSIM_GPUS"
	expect_contains "$OUT" "Exit status: 0 ok, 1 the operation failed, 2 usage error"
	local help=$OUT
	expect_rc 0 "$MIGSIM" --help
	expect_eq "$OUT" "$help" "--help output"
	expect_rc 0 "$MIGSIM" -h
	expect_eq "$OUT" "$help" "-h output"
	[ -e "$MIGSIM_STATE" ] && fail "help created the state file"
}

t_usage_errors_exit_2() {
	expect_rc 2 "$MIGSIM"
	expect_contains "$ERR" "no command given"
	expect_contains "$ERR" "Try 'migsim help'"
	expect_rc 2 "$MIGSIM" frobnicate
	expect_contains "$ERR" "unknown command 'frobnicate'"
	expect_contains "$ERR" "Try 'migsim help'"
	expect_rc 2 "$MIGSIM" --frobnicate show
	expect_contains "$ERR" "unknown command '--frobnicate'"
	expect_rc 2 "$MIGSIM" --state
	expect_contains "$ERR" "--state needs a path"
	expect_rc 2 "$MIGSIM" --state "$TEST_TMP/x.json"
	expect_contains "$ERR" "no command given"
	expect_eq "$OUT" "" "stdout of a usage error"
	[ -e "$MIGSIM_STATE" ] && fail "a usage error created the state file"
	[ -e "$TEST_TMP/x.json" ] && fail "a usage error created the --state file"
}

t_usage_errors_leave_state_untouched() {
	init_ok A100-SXM4-40GB
	local before
	before=$(file_sum "$MIGSIM_STATE")
	expect_rc 2 "$MIGSIM" show --yaml
	expect_rc 2 "$MIGSIM" init A30 A100
	expect_rc 2 "$MIGSIM" caller admin
	expect_rc 2 "$MIGSIM" proc start --gpu 0 --mib lots
	expect_rc 2 "$MIGSIM" reset --gpu
	expect_rc 2 "$MIGSIM" fault add nvmlDeviceCreateGpuInstance IN_USE --nth 0
	expect_rc 2 "$MIGSIM" latency set gi-create soon
	expect_eq "$(file_sum "$MIGSIM_STATE")" "$before" "state file after usage errors"
}

# ---- init ----------------------------------------------------------------

t_init_one_gpu() {
	expect_rc 0 "$MIGSIM" init A100-SXM4-40GB
	expect_eq "$OUT" "Simulated 1 GPU(s) in $MIGSIM_STATE" "init output"
	[ -f "$MIGSIM_STATE" ] || fail "init wrote no state file"
	expect_eq "$(stat -c %a "$MIGSIM_STATE")" "600" "state file mode"
	expect_rc 0 "$MIGSIM" show
	expect_contains "$OUT" "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-"
	expect_contains "$OUT" "00000000:07:00.0"
	expect_contains "$OUT" "MIG mode: current disabled, pending disabled"
	expect_not_contains "$OUT" "GPU 1:"
	expect_contains "$OUT" "caller: root"
	expect_eq "$(gpu_field 0 model)" "A100-SXM4-40GB" "model"
}

t_init_counted_list() {
	expect_rc 0 "$MIGSIM" init 8xA100-SXM4-40GB
	expect_eq "$OUT" "Simulated 8 GPU(s) in $MIGSIM_STATE" "init output"
	expect_rc 0 "$MIGSIM" show
	expect_contains "$OUT" "GPU 7: NVIDIA A100-SXM4-40GB"
	expect_not_contains "$OUT" "GPU 8:"
	local uuids buses
	uuids=$(show_json | json_eval "len(set(g['uuid'] for g in d['gpus']))")
	buses=$(show_json | json_eval "len(set(g['pci_bus_id'] for g in d['gpus']))")
	expect_eq "$uuids" 8 "distinct GPU UUIDs"
	expect_eq "$buses" 8 "distinct PCI bus ids"
	# The same list gives the same UUIDs: a node is reproducible.
	local first
	first=$(show_json | json_eval "[g['uuid'] for g in d['gpus']]")
	init_ok 8xA100-SXM4-40GB
	expect_eq "$(show_json | json_eval "[g['uuid'] for g in d['gpus']]")" "$first" "UUIDs after a second init"
}

t_init_mixed_list() {
	expect_rc 0 "$MIGSIM" init 2xH100-SXM5-80GB,A30
	expect_eq "$OUT" "Simulated 3 GPU(s) in $MIGSIM_STATE" "init output"
	expect_eq "$(show_json | json_eval "[g['model'] for g in d['gpus']]")" \
		'["H100-SXM5-80GB", "H100-SXM5-80GB", "A30"]' "models in order"
	expect_rc 0 "$MIGSIM" show
	expect_contains "$OUT" "GPU 0: NVIDIA H100 80GB HBM3"
	expect_contains "$OUT" "GPU 2: NVIDIA A30"
	# NVML sees the same node.
	expect_rc 0 "$NVMLCTL" mig-mode 2
	expect_rc 1 "$NVMLCTL" mig-mode 3
	expect_contains "$OUT" "error 2"
}

t_init_aliases_are_case_insensitive() {
	local spec want
	while read -r spec want; do
		expect_rc 0 "$MIGSIM" init "$spec"
		expect_eq "$(show_json | json_eval "[g['model'] for g in d['gpus']]")" "$want" "models of '$spec'"
	done <<'EOF'
a100-sxm4-40gb ["A100-SXM4-40GB"]
A100 ["A100-SXM4-40GB"]
a100-40GB ["A100-SXM4-40GB"]
h100 ["H100-SXM5-80GB"]
H100-sxm ["H100-SXM5-80GB"]
a30-24gb ["A30"]
2xh100,A30 ["H100-SXM5-80GB", "H100-SXM5-80GB", "A30"]
rtxpro6000 ["RTX-PRO-6000"]
h200-141gb ["H200"]
EOF
	# Blanks around items are ignored.
	expect_rc 0 "$MIGSIM" init " A30 , 2xA100 "
	expect_eq "$(show_json | json_eval "[g['model'] for g in d['gpus']]")" \
		'["A30", "A100-SXM4-40GB", "A100-SXM4-40GB"]' "models of a list with blanks"
}

t_init_flags() {
	expect_rc 0 "$MIGSIM" init A100:swapped,A30:reset-required,H100:swapped:reset-required,A30
	expect_eq "$(show_json | json_eval "[(g['swapped_halves'], g['reset_required']) for g in d['gpus']]")" \
		'[[true, false], [false, true], [true, true], [false, false]]' "flags per GPU"
	expect_rc 0 "$MIGSIM" show
	expect_contains "$OUT" "pending disabled, swapped halves"
	expect_contains "$OUT" "pending disabled, reset required"
	expect_contains "$OUT" "pending disabled, reset required, swapped halves"
	# reset-required: enabling MIG waits for a reset.
	expect_rc 0 "$NVMLCTL" enable 1 -- mig-mode 1
	expect_contains "$OUT" "activation 16"
	expect_contains "$OUT" "current 0 pending 1"
}

t_init_replaces_the_node() {
	init_ok 2xA30
	"$MIGSIM" proc start --gpu 1 >/dev/null || fail "proc start"
	"$MIGSIM" fault add nvmlDeviceGetCount IN_USE >/dev/null || fail "fault add"
	expect_rc 0 "$MIGSIM" init H100
	expect_eq "$OUT" "Simulated 1 GPU(s) in $MIGSIM_STATE" "init output"
	expect_eq "$(show_json | json_eval "(len(d['gpus']), d['gpus'][0]['model'], d['processes'], d['faults'])")" \
		'[1, "H100-SXM5-80GB", [], []]' "the new node"
}

t_init_unknown_model_lists_known_ones() {
	init_ok A30
	local before key
	before=$(file_sum "$MIGSIM_STATE")
	expect_rc 1 "$MIGSIM" init Z100-SXM9
	expect_contains "$ERR" "unknown GPU model 'Z100-SXM9'"
	expect_contains "$ERR" "known models:"
	for key in $MODEL_KEYS; do
		expect_contains "$ERR" "$key"
	done
	expect_eq "$OUT" "" "stdout of a failed init"
	expect_eq "$(file_sum "$MIGSIM_STATE")" "$before" "state file after a failed init"
	expect_rc 1 "$MIGSIM" init 2xA30,Z100
	expect_contains "$ERR" "unknown GPU model 'Z100'"
	expect_rc 1 "$MIGSIM" init 8x
	expect_contains "$ERR" "unknown GPU model ''"
	expect_eq "$(file_sum "$MIGSIM_STATE")" "$before" "state file after failed inits"
	# Without a state file, a failed init creates none.
	rm -f "$MIGSIM_STATE"
	expect_rc 1 "$MIGSIM" init Z100
	[ -e "$MIGSIM_STATE" ] && fail "a failed init created the state file"
}

t_init_gpu_counts() {
	local spec
	for spec in 0xA30 17xA30 9xA30,8xA100 16xA30,A30 99999999999999999999xA30; do
		expect_rc 1 "$MIGSIM" init "$spec"
		expect_contains "$ERR" "a simulated node has 1 to 16"
		[ -e "$MIGSIM_STATE" ] && fail "init $spec created the state file"
	done
	# Zero GPUs are not "too many".
	expect_rc 1 "$MIGSIM" init 0xA30
	expect_not_contains "$ERR" "too many"
	expect_rc 0 "$MIGSIM" init 16xA30
	expect_eq "$OUT" "Simulated 16 GPU(s) in $MIGSIM_STATE" "init of 16"
	expect_rc 0 "$MIGSIM" init 8xA30,8xA100
	expect_eq "$OUT" "Simulated 16 GPU(s) in $MIGSIM_STATE" "init of 8+8"
	expect_eq "$(show_json | json_eval "len(set(g['pci_bus_id'] for g in d['gpus']))")" 16 "distinct buses"
}

t_init_empty_items_refused() {
	local spec
	for spec in "A30,,A30" "A30, ,A30" ",A30" "A30," ","; do
		expect_rc 1 "$MIGSIM" init "$spec"
		[ -e "$MIGSIM_STATE" ] && fail "init '$spec' created the state file ($OUT)"
		rm -f "$MIGSIM_STATE"
	done
	expect_rc 1 "$MIGSIM" init "A30,,A30"
	expect_contains "$ERR" "empty GPU name"
	expect_rc 1 "$MIGSIM" init "A30, ,A30"
	expect_contains "$ERR" "empty GPU name"
}

t_init_unknown_flag() {
	expect_rc 1 "$MIGSIM" init A30:mirrored
	expect_contains "$ERR" "unknown option ':mirrored' after 'A30'"
	expect_contains "$ERR" "accepted: :swapped, :reset-required"
	expect_rc 1 "$MIGSIM" init A30:swapped:Swapped
	expect_contains "$ERR" "unknown option ':Swapped'"
	[ -e "$MIGSIM_STATE" ] && fail "a refused init created the state file"
}

t_init_usage() {
	expect_rc 2 "$MIGSIM" init A30 A100
	expect_contains "$ERR" "one GPU list"
	expect_contains "$ERR" "got 'A100' too"
	expect_rc 2 "$MIGSIM" init --gpus A30
	expect_contains "$ERR" "init: unknown option '--gpus'"
	[ -e "$MIGSIM_STATE" ] && fail "a usage error created the state file"
}

t_migsim_gpus_for_a_new_state_file() {
	# A missing state file is created from MIGSIM_GPUS by whoever looks first.
	expect_rc 0 env MIGSIM_GPUS=2xA30 "$MIGSIM" show
	expect_contains "$OUT" "GPU 1: NVIDIA A30"
	# ... and only then: an existing file is not replaced.
	expect_rc 0 env MIGSIM_GPUS=H100 "$MIGSIM" show
	expect_contains "$OUT" "GPU 1: NVIDIA A30"
	expect_not_contains "$OUT" "H100"
	# NVML creates it the same way.
	rm -f "$MIGSIM_STATE"
	expect_rc 0 env MIGSIM_GPUS=A30,H100 "$NVMLCTL" mig-mode 1
	expect_eq "$(show_json | json_eval "[g['model'] for g in d['gpus']]")" '["A30", "H100-SXM5-80GB"]' "NVML-created node"
	# 'init' without a list takes MIGSIM_GPUS too, and the default is one A100-SXM4-40GB.
	expect_rc 0 env MIGSIM_GPUS=3xA30 "$MIGSIM" init
	expect_eq "$OUT" "Simulated 3 GPU(s) in $MIGSIM_STATE" "init from MIGSIM_GPUS"
	expect_rc 0 "$MIGSIM" init
	expect_eq "$(show_json | json_eval "[g['model'] for g in d['gpus']]")" '["A100-SXM4-40GB"]' "default node"
	rm -f "$MIGSIM_STATE"
	expect_rc 0 "$MIGSIM" show
	expect_contains "$OUT" "GPU 0: NVIDIA A100-SXM4-40GB"
}

t_migsim_gpus_invalid() {
	expect_rc 1 env MIGSIM_GPUS=Z100 "$MIGSIM" show
	expect_contains "$ERR" "MIGSIM_GPUS=Z100"
	expect_contains "$ERR" "unknown GPU model 'Z100'"
	[ -e "$MIGSIM_STATE" ] && fail "a bad MIGSIM_GPUS created the state file"
	expect_rc 1 env MIGSIM_GPUS=17xA30 "$MIGSIM" caller user
	expect_contains "$ERR" "1 to 16"
	[ -e "$MIGSIM_STATE" ] && fail "a bad MIGSIM_GPUS created the state file"
	expect_rc 1 env MIGSIM_GPUS=Z100 "$NVMLCTL" mig-mode 0
	expect_contains "$OUT" "nvmlInit_v2: error 999"
	expect_contains "$OUT" "unknown GPU model 'Z100'"
	[ -e "$MIGSIM_STATE" ] && fail "a bad MIGSIM_GPUS created the state file through NVML"
	# 'init' with an explicit list ignores MIGSIM_GPUS.
	expect_rc 0 env MIGSIM_GPUS=Z100 "$MIGSIM" init A30
}

# ---- show, models, path ----------------------------------------------------------------

t_show_text() {
	mig_device
	local uuid=$MIG_UUID pid
	pid=$("$MIGSIM" proc start --uuid "$uuid" --mib 3000 --name train.py) || fail "proc start"
	"$MIGSIM" fault add nvmlDeviceCreateGpuInstance IN_USE --nth 2 >/dev/null || fail "fault add"
	"$MIGSIM" fault add nvmlDeviceGetCount 3 --nth 4 --always >/dev/null || fail "fault add"
	"$MIGSIM" latency set gi-create 5 >/dev/null || fail "latency set"
	"$MIGSIM" caller user >/dev/null || fail "caller user"
	expect_rc 0 "$MIGSIM" show
	expect_contains "$OUT" "state $MIGSIM_STATE (generation "
	expect_contains "$OUT" "caller: user"
	expect_contains "$OUT" "MIG mode: current enabled, pending enabled"
	expect_contains "$OUT" "slices  [ 7][ .][ .][ .][ .][ .][ .][ .]"
	expect_contains "$OUT" "GI  7  1g.5gb           profile 19  placement 0:1"
	expect_contains "$OUT" "CI 0  1g.5gb"
	expect_contains "$OUT" "$uuid"
	expect_contains "$OUT" "process $pid train.py on GPU 0 GI 7 CI 0, 3000 MiB"
	expect_contains "$OUT" "fault: nvmlDeviceCreateGpuInstance call 2 -> NVML_ERROR_IN_USE (0 calls so far)"
	expect_contains "$OUT" "fault: nvmlDeviceGetCount call 4 and after -> NVML_ERROR_NOT_SUPPORTED"
	expect_contains "$OUT" "latency: gi-create 5 ms"
	expect_eq "$ERR" "" "stderr of show"
}

t_show_json() {
	mig_device
	local uuid=$MIG_UUID pid
	pid=$("$MIGSIM" proc start --uuid "$uuid" --mib 3000) || fail "proc start"
	"$MIGSIM" fault add nvmlDeviceCreateGpuInstance IN_USE --nth 2 >/dev/null || fail "fault add"
	"$MIGSIM" latency set '*' 7 >/dev/null || fail "latency set"
	expect_rc 0 "$MIGSIM" show --json
	echo "$OUT" | json_valid || fail "show --json is not valid JSON: $OUT"
	local got
	got=$(echo "$OUT" | json_eval "(d['state'], d['caller'], len(d['gpus']), d['gpus'][0]['mig_mode'],
		[(g['id'], g['profile'], g['profile_id'], g['placement']) for g in d['gpus'][0]['gpu_instances']])")
	expect_eq "$got" "[\"$MIGSIM_STATE\", \"root\", 1, {\"current\": \"enabled\", \"pending\": \"enabled\"}, [[7, \"1g.5gb\", 19, {\"start\": 0, \"size\": 1}]]]" "show --json"
	got=$(echo "$OUT" | json_eval "[(p['pid'], p['gpu'], p['used_mib'], p['name'], p['gpu_instance_id'], p['compute_instance_id'], p['mig_uuid']) for p in d['processes']]")
	expect_eq "$got" "[[$pid, 0, 3000, \"python3\", 7, 0, \"$uuid\"]]" "processes in show --json"
	got=$(echo "$OUT" | json_eval "(d['faults'], d['latencies'])")
	expect_eq "$got" '[[{"function": "nvmlDeviceCreateGpuInstance", "error": "NVML_ERROR_IN_USE", "nth": 2, "always": false, "calls": 0}], [{"op": "*", "ms": 7}]]' "faults and latencies"
	# Every change bumps the generation.
	local g1 g2
	g1=$(show_json | json_eval "d['generation']")
	"$MIGSIM" caller user >/dev/null || fail "caller user"
	g2=$(show_json | json_eval "d['generation']")
	[ "$g2" -gt "$g1" ] || fail "generation went from $g1 to $g2 on a change"
	expect_rc 2 "$MIGSIM" show --yaml
	expect_contains "$ERR" "show: unknown argument '--yaml'"
	expect_rc 2 "$MIGSIM" show --json --yaml
}

t_show_json_of_big_node_is_valid() {
	init_ok 8xA100-SXM4-40GB,4xH100,2xA30,B200,RTX-PRO-6000
	expect_rc 0 "$MIGSIM" show --json
	echo "$OUT" | json_valid || fail "show --json of 16 GPUs is not valid JSON"
	expect_eq "$(echo "$OUT" | json_eval "len(d['gpus'])")" 16 "GPUs in show --json"
}

t_models() {
	local key
	expect_rc 0 "$MIGSIM" models
	for key in $MODEL_KEYS; do
		expect_contains "$OUT" "$key "
	done
	expect_contains "$OUT" "NVIDIA A100-SXM4-40GB"
	expect_contains "$OUT" "1g.5gb 1g.5gb+me 1g.10gb 2g.10gb 3g.20gb 4g.20gb 7g.40gb"
	expect_eq "$(echo "$OUT" | wc -l)" 18 "lines of models"
	expect_rc 0 "$MIGSIM" models --json
	echo "$OUT" | json_valid || fail "models --json is not valid JSON"
	expect_eq "$(echo "$OUT" | json_eval "' '.join(m['model'] for m in d)")" "$MODEL_KEYS" "models --json keys"
	expect_eq "$(echo "$OUT" | json_eval "[m for m in d if m['model'] == 'A100-SXM4-40GB'][0]['memory_mib']")" 40960 "A100 memory"
	expect_rc 2 "$MIGSIM" models --yaml
	expect_contains "$ERR" "models: unknown argument '--yaml'"
	expect_rc 2 "$MIGSIM" models --json extra
	expect_contains "$ERR" "models: unknown argument 'extra'"
	[ -e "$MIGSIM_STATE" ] && fail "models created the state file"
}

t_path() {
	expect_rc 0 "$MIGSIM" path
	expect_eq "$OUT" "$MIGSIM_STATE" "path"
	[ -e "$MIGSIM_STATE" ] && fail "path created the state file"
	expect_rc 0 "$MIGSIM" --state "$TEST_TMP/other.json" path
	expect_eq "$OUT" "$TEST_TMP/other.json" "path with --state"
	expect_rc 0 env MIGSIM_STATE="$TEST_TMP/env.json" "$MIGSIM" path
	expect_eq "$OUT" "$TEST_TMP/env.json" "path from MIGSIM_STATE"
	expect_rc 2 "$MIGSIM" path extra
	expect_contains "$ERR" "path: takes no arguments (got 'extra')"
}

t_empty_state_path_is_a_usage_error() {
	# An empty --state is no path: it must not fall through to a file named "" (and a
	# stray ".lock" in the working directory).
	mkdir -p "$TEST_TMP/cwd"
	(
		cd "$TEST_TMP/cwd" || exit 1
		expect_rc 2 "$MIGSIM" --state "" init A30
		expect_contains "$ERR" "--state needs a path"
		expect_rc 2 "$MIGSIM" --state "" show
		expect_contains "$ERR" "--state needs a path"
		expect_eq "$(ls -A)" "" "files created in the working directory"
		exit "$_failures"
	) || _failures=$((_failures + 1))
	rm -rf "$TEST_TMP/cwd"
}

t_state_option_selects_the_file() {
	expect_rc 0 "$MIGSIM" --state "$TEST_TMP/other.json" init A30
	expect_eq "$OUT" "Simulated 1 GPU(s) in $TEST_TMP/other.json" "init with --state"
	[ -e "$MIGSIM_STATE" ] && fail "--state still wrote MIGSIM_STATE"
	expect_rc 0 "$MIGSIM" --state "$TEST_TMP/other.json" show
	expect_contains "$OUT" "NVIDIA A30"
}

# ---- processes ----------------------------------------------------------------

t_proc_start_stop_on_gpu() {
	init_ok 2xA30
	expect_rc 0 "$MIGSIM" proc start --gpu 1 --mib 2048 --name trainer
	local p1=$OUT
	expect_eq "$p1" 4100 "first pid"
	expect_rc 0 "$MIGSIM" proc start --gpu 0
	local p2=$OUT
	expect_eq "$p2" 4101 "second pid"
	local uuid
	uuid=$(gpu_field 0 uuid)
	expect_rc 0 "$MIGSIM" proc start --uuid "$uuid"
	local p3=$OUT
	expect_rc 0 "$MIGSIM" show
	expect_contains "$OUT" "process $p1 trainer on GPU 1, 2048 MiB"
	expect_contains "$OUT" "process $p2 python3 on GPU 0, 1024 MiB"
	expect_contains "$OUT" "process $p3 python3 on GPU 0, 1024 MiB"
	expect_rc 0 "$MIGSIM" proc stop "$p1"
	expect_eq "$OUT" "" "stdout of proc stop"
	expect_rc 0 "$MIGSIM" show
	expect_not_contains "$OUT" "process $p1 "
	expect_contains "$OUT" "process $p2 "
	# pids are not reused
	expect_rc 0 "$MIGSIM" proc start --gpu 1
	expect_eq "$OUT" 4103 "pid after a stop"
	expect_rc 1 "$MIGSIM" proc stop "$p1"
	expect_contains "$ERR" "no simulated process $p1"
}

t_proc_stop_unknown_pid() {
	init_ok A30
	local before
	before=$(file_sum "$MIGSIM_STATE")
	expect_rc 1 "$MIGSIM" proc stop 12345
	expect_contains "$ERR" "no simulated process 12345"
	expect_eq "$(file_sum "$MIGSIM_STATE")" "$before" "state after a failed stop"
}

t_proc_on_mig_device() {
	mig_device
	local uuid=$MIG_UUID
	case "$uuid" in MIG-????????-????-????-????-????????????) ;; *) fail "MIG UUID looks wrong: '$uuid'" ;; esac
	local before
	before=$(file_sum "$MIGSIM_STATE")
	expect_rc 1 "$MIGSIM" proc start --gpu 0
	expect_contains "$ERR" "GPU 0 is in MIG mode"
	expect_contains "$ERR" "--uuid MIG-"
	expect_eq "$(file_sum "$MIGSIM_STATE")" "$before" "state after a refused start"
	expect_rc 0 "$MIGSIM" proc start --uuid "$uuid" --mib 500
	local pid=$OUT
	expect_rc 0 "$MIGSIM" show
	expect_contains "$OUT" "process $pid python3 on GPU 0 GI 7 CI 0, 500 MiB"
	# UUIDs compare without case, as NVML's do.
	expect_rc 0 "$MIGSIM" proc start --uuid "$(echo "$uuid" | tr '[:lower:]' '[:upper:]')"
	# The process pins its MIG device: NVML cannot destroy the CI under it.
	expect_rc 1 "$NVMLCTL" destroy-ci 0 7 0
	expect_contains "$OUT" "nvmlComputeInstanceDestroy: error 19"
}

t_proc_start_unknown_uuid() {
	mig_device
	local before
	before=$(file_sum "$MIGSIM_STATE")
	expect_rc 1 "$MIGSIM" proc start --uuid MIG-00000000-0000-0000-0000-000000000000
	expect_contains "$ERR" "no GPU or MIG device has UUID MIG-00000000-0000-0000-0000-000000000000"
	expect_contains "$ERR" "migsim show"
	expect_rc 1 "$MIGSIM" proc start --uuid garbage
	expect_contains "$ERR" "no GPU or MIG device has UUID garbage"
	# The UUID of a MIG device that is gone is unknown too.
	local uuid
	uuid=$(show_json | json_eval "d['gpus'][0]['gpu_instances'][0]['compute_instances'][0]['uuid']")
	nvml destroy-ci 0 7 0 >/dev/null
	before=$(file_sum "$MIGSIM_STATE")
	expect_rc 1 "$MIGSIM" proc start --uuid "$uuid"
	expect_contains "$ERR" "no GPU or MIG device has UUID $uuid"
	expect_eq "$(file_sum "$MIGSIM_STATE")" "$before" "state after refused starts"
}

t_proc_start_bad_gpu() {
	init_ok A30
	expect_rc 1 "$MIGSIM" proc start --gpu 5
	expect_contains "$ERR" "no GPU 5; the simulated node has 1"
	expect_rc 2 "$MIGSIM" proc start --gpu 16
	expect_contains "$ERR" "--gpu takes a GPU index (got '16')"
	expect_rc 2 "$MIGSIM" proc start --gpu -1
	expect_contains "$ERR" "--gpu takes a GPU index (got '-1')"
	expect_rc 2 "$MIGSIM" proc start --gpu zero
	expect_contains "$ERR" "--gpu takes a GPU index (got 'zero')"
}

t_proc_usage() {
	init_ok A30
	expect_rc 2 "$MIGSIM" proc
	expect_contains "$ERR" "proc: say 'start' or 'stop'"
	expect_rc 2 "$MIGSIM" proc kill 4100
	expect_contains "$ERR" "proc: unknown action 'kill'"
	expect_rc 2 "$MIGSIM" proc start
	expect_contains "$ERR" "give exactly one of --gpu INDEX or --uuid UUID"
	expect_rc 2 "$MIGSIM" proc start --gpu 0 --uuid GPU-x
	expect_contains "$ERR" "give exactly one of --gpu INDEX or --uuid UUID"
	expect_rc 2 "$MIGSIM" proc start --gpu
	expect_contains "$ERR" "'--gpu' needs a value"
	expect_rc 2 "$MIGSIM" proc start --gpu 0 --name
	expect_contains "$ERR" "'--name' needs a value"
	expect_rc 2 "$MIGSIM" proc start --gpu 0 --mib lots
	expect_contains "$ERR" "--mib takes a size in MiB (got 'lots')"
	expect_rc 2 "$MIGSIM" proc start --gpu 0 --colour red
	expect_contains "$ERR" "proc start: unknown option '--colour'"
	expect_rc 2 "$MIGSIM" proc stop
	expect_contains "$ERR" "proc stop: give one pid (got 'nothing')"
	expect_rc 2 "$MIGSIM" proc stop abc
	expect_contains "$ERR" "got 'abc'"
	expect_rc 2 "$MIGSIM" proc stop 4100 4101
	expect_rc 2 "$MIGSIM" proc stop -5
	expect_eq "$(show_json | json_eval "d['processes']")" "[]" "processes after usage errors"
}

# ---- reset, reboot, caller ----------------------------------------------------------------

t_reset_refuses_busy_gpu_unless_kill() {
	init_ok 2xA30
	local pid
	pid=$("$MIGSIM" proc start --gpu 0) || fail "proc start"
	"$MIGSIM" proc start --gpu 0 >/dev/null || fail "proc start"
	local before
	before=$(file_sum "$MIGSIM_STATE")
	expect_rc 1 "$MIGSIM" reset
	expect_contains "$ERR" "GPU 0 is in use by 2 process(es); stop them or pass --kill"
	expect_rc 1 "$MIGSIM" reset --gpu 0
	expect_contains "$ERR" "GPU 0 is in use by 2 process(es)"
	expect_eq "$(file_sum "$MIGSIM_STATE")" "$before" "state after a refused reset"
	expect_rc 0 "$MIGSIM" reset --gpu 1
	expect_eq "$(show_json | json_eval "len(d['processes'])")" 2 "processes after resetting the other GPU"
	expect_rc 0 "$MIGSIM" reset --kill
	expect_eq "$(show_json | json_eval "d['processes']")" "[]" "processes after reset --kill"
	expect_rc 1 "$MIGSIM" proc stop "$pid"
}

t_reset_of_all_gpus_is_all_or_nothing() {
	init_ok A100,A30
	nvml enable 0 -- create-gi 0 19 >/dev/null
	"$MIGSIM" proc start --gpu 1 >/dev/null || fail "proc start"
	local before
	before=$(file_sum "$MIGSIM_STATE")
	expect_rc 1 "$MIGSIM" reset
	expect_contains "$ERR" "GPU 1 is in use by 1 process(es)"
	expect_eq "$(file_sum "$MIGSIM_STATE")" "$before" "state after a refused reset"
	expect_rc 0 "$NVMLCTL" count-gis 0
	expect_eq "$OUT" 1 "GIs on GPU 0 after a refused reset of every GPU"
}

t_reset_applies_pending_mode_and_destroys_instances() {
	init_ok A100:reset-required,A100
	nvml enable 0 -- enable 1 -- create-gi 1 9 -- create-gi 1 14 >/dev/null
	expect_rc 0 "$NVMLCTL" mig-mode 0 -- count-gis 1
	expect_eq "$OUT" "current 0 pending 1
2" "before the reset"
	expect_rc 0 "$MIGSIM" reset --gpu 0
	expect_rc 0 "$NVMLCTL" mig-mode 0 -- count-gis 1
	expect_eq "$OUT" "current 1 pending 1
2" "after resetting GPU 0"
	expect_rc 0 "$MIGSIM" reset
	expect_rc 0 "$NVMLCTL" count-gis 0 -- count-gis 1 -- mig-mode 1
	expect_eq "$OUT" "0
0
current 1 pending 1" "after resetting every GPU"
}

t_reset_usage() {
	init_ok A30
	expect_rc 1 "$MIGSIM" reset --gpu 3
	expect_contains "$ERR" "no GPU 3; the simulated node has 1"
	expect_rc 2 "$MIGSIM" reset --gpu
	expect_contains "$ERR" "reset: unknown argument '--gpu'"
	expect_rc 2 "$MIGSIM" reset --gpu x
	expect_rc 2 "$MIGSIM" reset --gpu 16
	expect_rc 2 "$MIGSIM" reset --force
	expect_contains "$ERR" "reset: unknown argument '--force'; use [--gpu INDEX] [--kill]"
}

t_reboot() {
	init_ok H100-SXM5-80GB,A100-SXM4-40GB
	nvml enable 0 -- enable 1 -- create-gi 0 19 -- create-gi 1 19 0:1 -- create-ci 1 7 0 >/dev/null
	local uuid
	uuid=$(show_json | json_eval "d['gpus'][1]['gpu_instances'][0]['compute_instances'][0]['uuid']")
	"$MIGSIM" proc start --uuid "$uuid" >/dev/null || fail "proc start on MIG"
	expect_rc 0 "$MIGSIM" reboot
	expect_eq "$OUT" "" "stdout of reboot"
	expect_eq "$(show_json | json_eval "([g['mig_mode'] for g in d['gpus']], [len(g['gpu_instances']) for g in d['gpus']], d['processes'])")" \
		'[[{"current": "disabled", "pending": "disabled"}, {"current": "enabled", "pending": "enabled"}], [0, 0], []]' \
		"after reboot: H100 MIG off, A100 MIG kept, no instances, no processes"
	expect_rc 0 "$NVMLCTL" mig-mode 0 -- mig-mode 1 -- count-gis 1
	expect_eq "$OUT" "current 0 pending 0
current 1 pending 1
0" "NVML after reboot"
	expect_rc 2 "$MIGSIM" reboot now
	expect_contains "$ERR" "reboot: takes no arguments (got 'now')"
}

t_caller() {
	init_ok A100
	expect_rc 0 "$MIGSIM" caller user
	expect_rc 0 "$MIGSIM" show
	expect_contains "$OUT" "caller: user"
	expect_rc 1 "$NVMLCTL" enable 0
	expect_contains "$OUT" "nvmlDeviceSetMigMode: error 4"
	expect_rc 0 "$NVMLCTL" mig-mode 0
	expect_rc 0 "$MIGSIM" caller root
	expect_rc 0 "$MIGSIM" show
	expect_contains "$OUT" "caller: root"
	expect_rc 0 "$NVMLCTL" enable 0
	expect_rc 1 env MIGSIM_UNPRIVILEGED=1 "$NVMLCTL" create-gi 0 19
	expect_contains "$OUT" "error 4"
	expect_rc 2 "$MIGSIM" caller
	expect_contains "$ERR" "caller: say 'root' or 'user' (got 'nothing')"
	expect_rc 2 "$MIGSIM" caller admin
	expect_contains "$ERR" "(got 'admin')"
	expect_rc 2 "$MIGSIM" caller user root
}

# ---- faults and latency ----------------------------------------------------------------

t_fault_add_accepts_error_spellings() {
	init_ok A100
	local e
	for e in IN_USE NVML_ERROR_IN_USE ERROR_IN_USE in_use 19; do
		expect_rc 0 "$MIGSIM" fault add nvmlDeviceCreateGpuInstance "$e"
	done
	expect_eq "$(show_json | json_eval "sorted(set(f['error'] for f in d['faults'])) + [len(d['faults'])]")" \
		'["NVML_ERROR_IN_USE", 5]' "faults armed"
	expect_rc 0 "$MIGSIM" fault clear
	expect_eq "$(show_json | json_eval "d['faults']")" "[]" "faults after clear"
	expect_rc 2 "$MIGSIM" fault clear all
}

t_fault_add_validation() {
	init_ok A100
	local before
	before=$(file_sum "$MIGSIM_STATE")
	expect_rc 2 "$MIGSIM" fault
	expect_contains "$ERR" "fault add FUNCTION ERROR [--nth N] [--always]"
	expect_rc 2 "$MIGSIM" fault add nvmlDeviceCreateGpuInstance
	expect_contains "$ERR" "fault add FUNCTION ERROR"
	expect_rc 2 "$MIGSIM" fault remove nvmlDeviceCreateGpuInstance IN_USE
	expect_rc 2 "$MIGSIM" fault add DeviceCreateGpuInstance IN_USE
	expect_contains "$ERR" "'DeviceCreateGpuInstance' is not an NVML function name"
	expect_rc 2 "$MIGSIM" fault add "nvml$(printf 'x%.0s' $(seq 1 70))" IN_USE
	expect_contains "$ERR" "is not an NVML function name"
	expect_rc 2 "$MIGSIM" fault add nvmlDeviceCreateGpuInstance NOT_AN_ERROR
	expect_contains "$ERR" "'NOT_AN_ERROR' is not an NVML error"
	expect_contains "$ERR" "NVML_ERROR_IN_USE"
	expect_rc 2 "$MIGSIM" fault add nvmlDeviceCreateGpuInstance SUCCESS
	expect_contains "$ERR" "'SUCCESS' is not an NVML error"
	expect_rc 2 "$MIGSIM" fault add nvmlDeviceCreateGpuInstance 0
	expect_rc 2 "$MIGSIM" fault add nvmlDeviceCreateGpuInstance 12345
	expect_contains "$ERR" "'12345' is not an NVML error"
	expect_rc 2 "$MIGSIM" fault add nvmlDeviceCreateGpuInstance IN_USE --nth 0
	expect_contains "$ERR" "unknown or incomplete option '--nth'"
	expect_contains "$ERR" "--nth N (from 1)"
	expect_rc 2 "$MIGSIM" fault add nvmlDeviceCreateGpuInstance IN_USE --nth
	expect_contains "$ERR" "'--nth'"
	expect_rc 2 "$MIGSIM" fault add nvmlDeviceCreateGpuInstance IN_USE --nth -2
	expect_rc 2 "$MIGSIM" fault add nvmlDeviceCreateGpuInstance IN_USE --nth two
	expect_rc 2 "$MIGSIM" fault add nvmlDeviceCreateGpuInstance IN_USE --sometimes
	expect_contains "$ERR" "unknown or incomplete option '--sometimes'"
	expect_eq "$(file_sum "$MIGSIM_STATE")" "$before" "state after refused faults"
}

t_fault_limit() {
	init_ok A30
	local i
	for i in $(seq 1 32); do
		"$MIGSIM" fault add "nvmlFn$i" IN_USE >/dev/null 2>&1 || fail "fault $i refused"
	done
	local before
	before=$(file_sum "$MIGSIM_STATE")
	expect_rc 1 "$MIGSIM" fault add nvmlFn33 IN_USE
	expect_contains "$ERR" "at most 32 faults"
	expect_contains "$ERR" "migsim fault clear"
	expect_eq "$(file_sum "$MIGSIM_STATE")" "$before" "state after a refused fault"
}

t_fault_nth_and_always() {
	init_ok A100
	"$MIGSIM" fault add nvmlDeviceSetMigMode IN_USE --nth 2 >/dev/null || fail "fault add"
	"$MIGSIM" fault add nvmlDeviceGetMigMode 3 --nth 2 --always >/dev/null || fail "fault add"
	expect_rc 0 "$NVMLCTL" enable 0
	expect_rc 1 "$NVMLCTL" enable 0
	expect_contains "$OUT" "nvmlDeviceSetMigMode: error 19 (In use by another client)"
	expect_rc 0 "$NVMLCTL" enable 0
	expect_rc 0 "$NVMLCTL" mig-mode 0
	expect_rc 1 "$NVMLCTL" mig-mode 0
	expect_contains "$OUT" "nvmlDeviceGetMigMode: error 3"
	expect_rc 1 "$NVMLCTL" mig-mode 0
	expect_contains "$OUT" "nvmlDeviceGetMigMode: error 3"
	expect_eq "$(show_json | json_eval "[(f['function'], f['calls']) for f in d['faults']]")" \
		'[["nvmlDeviceSetMigMode", 2], ["nvmlDeviceGetMigMode", 3]]' "calls counted"
}

t_latency_set_and_clear() {
	init_ok A100
	expect_rc 0 "$MIGSIM" latency set gi-create 0
	expect_rc 0 "$MIGSIM" latency set '*' 1
	expect_rc 0 "$MIGSIM" latency set nvmlDeviceGetCount_v2 600000
	expect_rc 0 "$MIGSIM" latency set gi-create 20
	local op
	for op in gi-destroy ci-create ci-destroy mig-mode; do
		expect_rc 0 "$MIGSIM" latency set "$op" 2
	done
	expect_eq "$(show_json | json_eval "[(l['op'], l['ms']) for l in d['latencies']]")" \
		'[["gi-create", 20], ["*", 1], ["nvmlDeviceGetCount_v2", 600000], ["gi-destroy", 2], ["ci-create", 2], ["ci-destroy", 2], ["mig-mode", 2]]' \
		"latencies (a second set replaces)"
	expect_rc 0 "$MIGSIM" show
	expect_contains "$OUT" "latency: gi-create 20 ms"
	expect_rc 0 "$MIGSIM" latency clear
	expect_eq "$(show_json | json_eval "d['latencies']")" "[]" "latencies after clear"
}

t_latency_validation() {
	init_ok A100
	local before
	before=$(file_sum "$MIGSIM_STATE")
	expect_rc 2 "$MIGSIM" latency
	expect_contains "$ERR" "latency: use 'latency set OP MS' or 'latency clear'"
	expect_rc 2 "$MIGSIM" latency set gi-create
	expect_contains "$ERR" "latency set OP MS"
	expect_rc 2 "$MIGSIM" latency set gi-create 5 extra
	expect_rc 2 "$MIGSIM" latency clear now
	expect_rc 2 "$MIGSIM" latency get gi-create 5
	expect_rc 2 "$MIGSIM" latency set gi-creat 5
	expect_contains "$ERR" "'gi-creat' is neither an NVML function name nor one of gi-create, gi-destroy, ci-create, ci-destroy, mig-mode, *"
	expect_rc 2 "$MIGSIM" latency set gi-create soon
	expect_contains "$ERR" "'soon' is not a number of milliseconds (0 to 600000)"
	expect_rc 2 "$MIGSIM" latency set gi-create 600001
	expect_contains "$ERR" "'600001' is not a number of milliseconds"
	expect_rc 2 "$MIGSIM" latency set gi-create -5
	expect_rc 2 "$MIGSIM" latency set gi-create ""
	expect_eq "$(file_sum "$MIGSIM_STATE")" "$before" "state after refused latencies"
}

t_latency_limit() {
	init_ok A30
	local i
	for i in $(seq 1 32); do
		"$MIGSIM" latency set "nvmlFn$i" 1 >/dev/null 2>&1 || fail "latency $i refused"
	done
	expect_rc 0 "$MIGSIM" latency set nvmlFn5 9
	expect_rc 1 "$MIGSIM" latency set nvmlFn33 1
	expect_contains "$ERR" "at most 32 latencies"
	expect_contains "$ERR" "migsim latency clear"
}

# ---- a state file that cannot be trusted ----------------------------------------------------

# refused_everywhere WHAT: every command that reads the state file (and NVML) refuses it
# with exit 1 and a message naming the file and WHAT; the file keeps its exact bytes.
refused_everywhere() {
	local what=$1 before cmd
	before=$(file_sum "$MIGSIM_STATE")
	local -a cmds=(
		"show"
		"show --json"
		"caller user"
		"proc start --gpu 0"
		"proc stop 4100"
		"fault add nvmlDeviceGetCount IN_USE"
		"fault clear"
		"latency set gi-create 5"
		"latency clear"
		"reset --kill"
		"reboot"
	)
	for cmd in "${cmds[@]}"; do
		# shellcheck disable=SC2086
		expect_rc 1 env MIGSIM_GPUS=A30 "$MIGSIM" $cmd
		expect_contains "$ERR" "state file $MIGSIM_STATE is not a valid simulator state"
		expect_contains "$ERR" "$what"
		expect_contains "$ERR" "migsim init"
		expect_eq "$OUT" "" "stdout of 'migsim $cmd' on a bad state file"
		expect_eq "$(file_sum "$MIGSIM_STATE")" "$before" "state file after 'migsim $cmd'"
	done
	expect_rc 1 env MIGSIM_GPUS=A30 "$NVMLCTL" mig-mode 0
	expect_contains "$OUT" "nvmlInit_v2: error 999"
	expect_contains "$OUT" "$MIGSIM_STATE"
	expect_contains "$OUT" "$what"
	expect_eq "$(file_sum "$MIGSIM_STATE")" "$before" "state file after NVML init"
	ls "$MIGSIM_STATE".tmp.* >/dev/null 2>&1 && fail "a temporary file was left: $(ls "$MIGSIM_STATE".tmp.*)"
	# 'migsim init' is the way to start over, as the message says.
	expect_rc 0 "$MIGSIM" init A30
	expect_rc 0 "$MIGSIM" show
}

# edit_state PYTHON: change the state file's JSON in place (d is the document).
edit_state() {
	python3 - "$MIGSIM_STATE" "$1" <<'EOF' || fail "edit_state failed"
import json, sys
path, code = sys.argv[1], sys.argv[2]
with open(path) as f:
    d = json.load(f)
exec(code)
with open(path, "w") as f:
    json.dump(d, f, indent=1)
EOF
}

# A node with some content: MIG on, two GIs (3g at 0:4, 1g at 4:1), a CI, a process.
busy_state() {
	init_ok A100-SXM4-40GB
	nvml enable 0 -- create-gi 0 9 0:4 -- create-gi 0 19 4:1 -- create-ci 0 11 0 >/dev/null
	"$MIGSIM" proc start --uuid "$(show_json | json_eval "d['gpus'][0]['gpu_instances'][1]['compute_instances'][0]['uuid']")" \
		>/dev/null || fail "proc start"
	"$MIGSIM" show >/dev/null || fail "busy_state does not load"
}

t_corrupt_truncated_json() {
	busy_state
	local size
	size=$(stat -c %s "$MIGSIM_STATE")
	head -c $((size / 2)) "$MIGSIM_STATE" >"$TEST_TMP/half" && cat "$TEST_TMP/half" >"$MIGSIM_STATE"
	refused_everywhere "line "
}

t_corrupt_empty_file() {
	busy_state
	: >"$MIGSIM_STATE"
	refused_everywhere "line 1"
}

t_corrupt_garbage() {
	printf '\x00\x01garbage\xff' >"$MIGSIM_STATE"
	refused_everywhere "line 1"
}

t_corrupt_not_an_object() {
	echo '[1, 2, 3]' >"$MIGSIM_STATE"
	refused_everywhere "top level: must be an object"
}

t_corrupt_wrong_format() {
	busy_state
	edit_state 'd["format"] = "nvidia-smi-dump"'
	refused_everywhere "'format' is 'nvidia-smi-dump', not 'migsim-state': this is not a migsim state file"
}

t_corrupt_unsupported_version() {
	busy_state
	edit_state 'd["version"] = 2'
	refused_everywhere "state format version 2 is not supported"
}

t_corrupt_overlapping_gpu_instances() {
	busy_state
	# Move the 1g GI from 4:1 to 0:1 (id 7, as that placement has): inside the 3g GI at 0:4.
	edit_state 'gi = d["gpus"][0]["gpu_instances"][1]; gi["start"] = 0; gi["id"] = 7; gi["compute_instances"] = []; d["processes"] = []'
	refused_everywhere "gpus[0].gpu_instances[1]: profile 19 at 0:1 is not a valid placement or overlaps another instance"
}

t_corrupt_id_does_not_match_placement() {
	busy_state
	edit_state 'gi = d["gpus"][0]["gpu_instances"][1]; gi["start"] = 5; gi["compute_instances"] = []; d["processes"] = []'
	refused_everywhere "id 11 does not match placement 5:1"
}

t_corrupt_duplicate_gi_ids() {
	busy_state
	edit_state 'gis = d["gpus"][0]["gpu_instances"]; gis.append(dict(gis[1])); gis[2]["compute_instances"] = []'
	refused_everywhere "ids must be unique and ascending"
}

t_corrupt_too_many_slices() {
	busy_state
	# Two 4g GIs cannot coexist (4 + 4 compute slices > 7), whatever their placements.
	edit_state 'd["processes"] = []; d["gpus"][0]["gpu_instances"] = [
	    {"id": 1, "profile_id": 5, "start": 0, "size": 4, "compute_instances": []},
	    {"id": 2, "profile_id": 5, "start": 4, "size": 4, "compute_instances": []}]'
	refused_everywhere "gpus[0].gpu_instances[1]"
}

t_corrupt_instances_while_mig_disabled() {
	busy_state
	edit_state 'd["gpus"][0]["mig_current"] = 0; d["gpus"][0]["mig_pending"] = 0'
	refused_everywhere "has GPU instances while MIG is disabled"
}

t_corrupt_unknown_key() {
	busy_state
	edit_state 'd["colour"] = "green"'
	refused_everywhere "top level: unknown key 'colour'"
}

t_corrupt_unknown_key_in_gpu() {
	busy_state
	edit_state 'd["gpus"][0]["gpu_instances"][0]["memory"] = 5'
	refused_everywhere "gpus[0].gpu_instances[0]: unknown key 'memory'"
}

t_corrupt_missing_key() {
	busy_state
	edit_state 'del d["gpus"][0]["uuid"]'
	refused_everywhere "gpus[0]: missing key 'uuid'"
}

t_corrupt_wrong_types() {
	busy_state
	edit_state 'd["unprivileged"] = "no"'
	refused_everywhere "'unprivileged' must be true or false"
	busy_state
	edit_state 'd["gpus"][0]["mig_current"] = "1"'
	refused_everywhere "gpus[0]: 'mig_current' must be an integer from 0 to 1"
	busy_state
	edit_state 'd["gpus"] = {}'
	refused_everywhere "'gpus' must be an array"
	busy_state
	edit_state 'd["next_pid"] = -4'
	refused_everywhere "'next_pid' must be an integer"
}

t_corrupt_duplicate_key() {
	busy_state
	# json.dump cannot write a duplicate key: insert one by text.
	sed -i '0,/"unprivileged": false/s//"unprivileged": false, "unprivileged": true/' "$MIGSIM_STATE"
	grep -q '"unprivileged": false, "unprivileged": true' "$MIGSIM_STATE" || fail "could not insert a duplicate key"
	refused_everywhere "duplicate"
}

t_corrupt_process_on_missing_mig_device() {
	busy_state
	edit_state 'd["processes"][0]["ci"] = 5'
	refused_everywhere "processes[0]: GPU 0 has no MIG device 11/5"
}

t_corrupt_unknown_model() {
	busy_state
	edit_state 'd["gpus"][0]["model"] = "V100"'
	refused_everywhere "gpus[0]: unknown GPU model 'V100'"
}

t_corrupt_no_gpus() {
	busy_state
	edit_state 'd["gpus"] = []; d["processes"] = []'
	refused_everywhere "a simulated node has 1 to 16 GPUs"
}

t_corrupt_bad_fault() {
	busy_state
	edit_state 'd["faults"] = [{"function": "nvmlDeviceGetCount", "nth": 0, "calls": 0, "error": "NVML_ERROR_IN_USE", "always": False}]'
	refused_everywhere "faults[0]: 'nth' counts calls from 1"
	busy_state
	edit_state 'd["faults"] = [{"function": "nvmlDeviceGetCount", "nth": 1, "calls": 0, "error": "NVML_SUCCESS", "always": False}]'
	refused_everywhere "faults[0]: 'error' must name an NVML error"
}

# ---- where the state file lives ----------------------------------------------------------------

t_state_file_is_a_symlink() {
	init_ok A30
	mv "$MIGSIM_STATE" "$TEST_TMP/real.json"
	ln -s "$TEST_TMP/real.json" "$MIGSIM_STATE"
	local before
	before=$(file_sum "$TEST_TMP/real.json")
	expect_rc 1 "$MIGSIM" show
	expect_contains "$ERR" "cannot open state file $MIGSIM_STATE"
	expect_rc 1 "$MIGSIM" caller user
	expect_contains "$ERR" "$MIGSIM_STATE"
	expect_rc 1 "$NVMLCTL" mig-mode 0
	expect_contains "$OUT" "error 999"
	expect_eq "$(file_sum "$TEST_TMP/real.json")" "$before" "symlink target"
	[ -L "$MIGSIM_STATE" ] || fail "the symlink was replaced"
}

t_state_file_is_a_directory() {
	mkdir "$MIGSIM_STATE"
	expect_rc 1 "$MIGSIM" show
	expect_contains "$ERR" "state file $MIGSIM_STATE is not a regular file"
	expect_rc 1 "$MIGSIM" caller user
	expect_contains "$ERR" "is not a regular file"
	[ -d "$MIGSIM_STATE" ] || fail "the directory is gone"
	rmdir "$MIGSIM_STATE"
}

t_state_dir_missing() {
	local path="$TEST_TMP/no/such/dir/state.json"
	expect_rc 1 env MIGSIM_STATE="$path" "$MIGSIM" show
	expect_contains "$ERR" "$path"
	expect_contains "$ERR" "No such file or directory"
	expect_rc 1 env MIGSIM_STATE="$path" "$MIGSIM" init A30
	expect_contains "$ERR" "$path"
	expect_rc 1 env MIGSIM_STATE="$path" "$NVMLCTL" mig-mode 0
	expect_contains "$OUT" "error 999"
	expect_contains "$OUT" "$path"
	[ -e "$TEST_TMP/no" ] && fail "a directory was created for a missing path"
}

t_default_dir_under_xdg_runtime_dir() {
	local xdg="$TEST_TMP/xdg-ok"
	mkdir "$xdg"
	expect_rc 0 env -u MIGSIM_STATE XDG_RUNTIME_DIR="$xdg" "$MIGSIM" path
	expect_eq "$OUT" "$xdg/migsim/state.json" "default path"
	expect_eq "$(stat -c %a "$xdg/migsim")" 700 "mode of the default directory"
	expect_rc 0 env -u MIGSIM_STATE XDG_RUNTIME_DIR="$xdg" "$MIGSIM" init A30
	expect_eq "$OUT" "Simulated 1 GPU(s) in $xdg/migsim/state.json" "init in the default place"
	expect_rc 0 env -u MIGSIM_STATE XDG_RUNTIME_DIR="$xdg" "$NVMLCTL" mig-mode 0
	[ -e "$MIGSIM_STATE" ] && fail "MIGSIM_STATE's file was written although it was unset"
}

t_default_dir_symlink_refused() {
	local xdg="$TEST_TMP/xdg-link"
	mkdir -p "$xdg" "$TEST_TMP/elsewhere"
	ln -s "$TEST_TMP/elsewhere" "$xdg/migsim"
	local cmd
	for cmd in show path "init A30" "caller user"; do
		# shellcheck disable=SC2086
		expect_rc 1 env -u MIGSIM_STATE XDG_RUNTIME_DIR="$xdg" "$MIGSIM" $cmd
		expect_contains "$ERR" "$xdg/migsim is not a directory (a symlink?)"
		expect_contains "$ERR" "set MIGSIM_STATE"
	done
	expect_rc 1 env -u MIGSIM_STATE XDG_RUNTIME_DIR="$xdg" "$NVMLCTL" mig-mode 0
	expect_contains "$OUT" "nvmlInit_v2: error 999"
	expect_contains "$OUT" "is not a directory (a symlink?)"
	expect_eq "$(ls -A "$TEST_TMP/elsewhere")" "" "the symlink's target directory"
	[ -L "$xdg/migsim" ] || fail "the symlink was replaced"
}

t_default_dir_not_private_refused() {
	local xdg="$TEST_TMP/xdg-open"
	mkdir -p "$xdg/migsim"
	chmod 0777 "$xdg/migsim"
	expect_rc 1 env -u MIGSIM_STATE XDG_RUNTIME_DIR="$xdg" "$MIGSIM" init A30
	expect_contains "$ERR" "$xdg/migsim is not a private directory of this user"
	expect_contains "$ERR" "set MIGSIM_STATE"
	chmod 0700 "$xdg/migsim"
	chown 12345 "$xdg/migsim" 2>/dev/null || return 0
	expect_rc 1 env -u MIGSIM_STATE XDG_RUNTIME_DIR="$xdg" "$MIGSIM" show
	expect_contains "$ERR" "$xdg/migsim is not a private directory of this user"
	expect_eq "$(ls -A "$xdg/migsim")" "" "the refused directory"
}

t_default_dir_is_a_file_refused() {
	local xdg="$TEST_TMP/xdg-file"
	mkdir -p "$xdg"
	echo hello >"$xdg/migsim"
	expect_rc 1 env -u MIGSIM_STATE XDG_RUNTIME_DIR="$xdg" "$MIGSIM" show
	expect_contains "$ERR" "$xdg/migsim is not a directory"
	expect_eq "$(cat "$xdg/migsim")" "hello" "the file in the way"
}

run_tests
