#!/usr/bin/env bash
# nvidia-mig-parted compatibility (cli/cmd_parted.c; migctl(8) NVIDIA-MIG-PARTED): the binary
# from the build invoked as nvidia-mig-parted, called the way the GPU operator's mig-manager
# calls it (reconfigure-mig.sh / pkg/mig/reconfigure: assert --valid-config, assert, assert
# --mode-only, -d apply --mode-only, -d assert --mode-only, -d apply, export), with its hooks
# and MIG_PARTED_* variables; mig-parted's output lines and exit codes (0, or 1 for any
# failure); and that a reconfiguration keeps the instances the new layout still contains.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGCTL_HOOKS_FILE
unset MIG_PARTED_CONFIG_FILE MIG_PARTED_SELECTED_CONFIG MIG_PARTED_HOOKS_FILE MIG_PARTED_SKIP_RESET \
	MIG_PARTED_MODE_CHANGE_ONLY MIG_PARTED_VALID_CONFIG MIG_PARTED_OUTPUT_FORMAT MIG_PARTED_CONFIG_LABEL \
	MIG_PARTED_CHECKPOINT_FILE MIG_PARTED_DEBUG

PARTED="$(dirname "$MIGCTL")/nvidia-mig-parted"
# nvidia-mig-parted has no --sim: it loads the library MIGCTL_NVML_LIB names, the simulator here
export MIGCTL_NVML_LIB="$MIGSIM_LIB"
export MIGCTL_LOCK="$TEST_TMP/apply.lock" MIGCTL_JOURNAL="$TEST_TMP/journal.json"
# mig-parted resets GPUs whose mode change is pending; here the simulator's reset does it
export MIGCTL_RESET_COMMAND="$MIGSIM reset --gpu {index}"
CONFIG="$TEST_TMP/config.yaml"
HOOKS="$TEST_TMP/hooks.yaml"
LOG="$TEST_TMP/hooks.log"

cat >"$CONFIG" <<'EOF'
version: v1
mig-configs:
  all-disabled:
    - devices: all
      mig-enabled: false
  all-balanced:
    - devices: all
      mig-enabled: true
      mig-devices:
        "1g.5gb": 2
        "2g.10gb": 1
        "3g.20gb": 1
  custom-1g-3g:
    - devices: all
      mig-enabled: true
      mig-devices:
        "1g.5gb": 4
        "3g.20gb": 1
EOF
chmod 644 "$CONFIG"

# NVIDIA's hooks-default.yaml shape: bash -c with the variable in the argument, expanded by
# the shell the hook runs, as NVIDIA's hooks.sh does to persist the selected config.
cat >"$HOOKS" <<EOF
version: v1
hooks:
  apply-start:
    - workdir: "$TEST_TMP"
      command: "/bin/bash"
      args: ["-c", "echo \"apply-start \${MIG_PARTED_SELECTED_CONFIG} \${MIGCTL_SELECTED_CONFIG} \${MIG_PARTED_CONFIG_FILE} \${MIG_PARTED_HOOKS_FILE} skip=\${MIG_PARTED_SKIP_RESET} mode=\${MIG_PARTED_MODE_CHANGE_ONLY}\" >>$LOG"]
  pre-apply-mode:
    - command: "/bin/bash"
      args: ["-c", "echo \"pre-apply-mode \${MIG_PARTED_SELECTED_CONFIG}\" >>$LOG"]
  pre-apply-config:
    - command: "/bin/bash"
      args: ["-c", "echo \"pre-apply-config \${MIG_PARTED_SELECTED_CONFIG}\" >>$LOG"]
  apply-exit:
    - command: "/bin/bash"
      args: ["-c", "echo \"apply-exit \${MIG_PARTED_SELECTED_CONFIG} \${MIGCTL_APPLY_STATUS}\" >>$LOG"]
EOF
chmod 644 "$HOOKS"

node() {
	rm -f "$MIGCTL_LOCK" "$MIGCTL_JOURNAL" "$LOG"
	"$MIGSIM" init "$1" >/dev/null || fail "migsim init $1"
}

# pp RC ARGS...: nvidia-mig-parted ARGS must exit RC ($OUT, $ERR).
pp() {
	local rc=$1
	shift
	expect_rc "$rc" "$PARTED" "$@"
}

# mig_uuids PROFILE: the MIG device UUIDs of that profile on GPU 0, sorted.
mig_uuids() {
	"$MIGCTL" list --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(sorted(ci["uuid"] for gi in d["gpus"][0]["gpu_instances"] if gi["profile"] == sys.argv[1]
                      for ci in gi["compute_instances"])))' "$1"
}

# reconfigure NAME: the mig-manager's sequence of nvidia-mig-parted calls for config NAME,
# with the config, hooks and selected config in the environment as the mig-manager sets them.
# Leaves the apply's output in $APPLY_OUT.
reconfigure() {
	export MIG_PARTED_CONFIG_FILE="$CONFIG" MIG_PARTED_HOOKS_FILE="$HOOKS" MIG_PARTED_SELECTED_CONFIG="$1"
	pp 0 assert --valid-config -f "$CONFIG" -c "$1"
	expect_eq "$OUT" "Selected MIG configuration is valid" "assert --valid-config stdout"
	expect_rc 1 "$PARTED" assert -f "$CONFIG" -c "$1"
	expect_contains "$ERR" "Assertion failure: selected configuration not currently applied"
	expect_eq "$OUT" "" "a failed assert's stdout"
	"$PARTED" assert --mode-only -f "$CONFIG" -c "$1" >/dev/null 2>&1
	pp 0 -d apply --mode-only -f "$CONFIG" -c "$1"
	expect_eq "$OUT" "MIG configuration applied successfully" "apply --mode-only stdout"
	pp 0 -d assert --mode-only -f "$CONFIG" -c "$1"
	expect_eq "$OUT" "Selected MIG mode settings from configuration currently applied" "assert --mode-only stdout"
	pp 0 -d apply -f "$CONFIG" -c "$1"
	expect_eq "$OUT" "MIG configuration applied successfully" "apply stdout"
	APPLY_OUT=$ERR
	pp 0 assert -f "$CONFIG" -c "$1"
	expect_eq "$OUT" "Selected MIG configuration currently applied" "assert stdout after apply"
	unset MIG_PARTED_CONFIG_FILE MIG_PARTED_HOOKS_FILE MIG_PARTED_SELECTED_CONFIG
}

# ---- the mig-manager's sequence --------------------------------------------------------------

t_mig_manager_sequence_keeps_instances() {
	node A100-SXM4-40GB
	reconfigure all-balanced
	expect_eq "$(mig_uuids 1g.5gb | wc -w)" 2 "1g.5gb instances after all-balanced"
	local kept_1g kept_3g gone_2g
	kept_1g=$(mig_uuids 1g.5gb)
	kept_3g=$(mig_uuids 3g.20gb)
	gone_2g=$(mig_uuids 2g.10gb)
	pp 0 export
	expect_contains "$OUT" '"3g.20gb": 1'
	expect_contains "$OUT" '"1g.5gb": 2'

	# the next label: 4 x 1g.5gb + 3g.20gb keeps the 3g and both 1g, destroys only the 2g
	rm -f "$LOG"
	reconfigure custom-1g-3g
	expect_eq "$(mig_uuids 3g.20gb)" "$kept_3g" "the 3g.20gb instance (kept)"
	local now_1g
	now_1g=$(mig_uuids 1g.5gb)
	expect_eq "$(echo "$now_1g" | wc -w)" 4 "1g.5gb instances after custom-1g-3g"
	for u in $kept_1g; do
		expect_contains "$now_1g" "$u"
	done
	expect_eq "$(mig_uuids 2g.10gb)" "" "2g.10gb instances after custom-1g-3g"
	expect_contains "$APPLY_OUT" "keep 3 GPU and 3 compute instances"
	expect_not_contains "$(cat "$LOG")" "pre-apply-mode" # the mode did not change
	expect_contains "$(cat "$LOG")" "pre-apply-config custom-1g-3g"
	[ -n "$gone_2g" ] || fail "all-balanced had no 2g.10gb instance"
}

# NVIDIA's hooks read MIG_PARTED_SELECTED_CONFIG (and the other flag variables); migctl's
# own names are set as well.
t_hooks_get_mig_parted_variables() {
	node A100-SXM4-40GB
	pp 0 apply -f "$CONFIG" -c all-balanced -k "$HOOKS"
	local log
	log=$(cat "$LOG")
	expect_contains "$log" "apply-start all-balanced all-balanced $CONFIG $HOOKS skip=false mode=false"
	expect_contains "$log" "pre-apply-mode all-balanced"
	expect_contains "$log" "pre-apply-config all-balanced"
	expect_contains "$log" "apply-exit all-balanced success"
	rm -f "$LOG"
	pp 0 apply -f "$CONFIG" -c all-disabled -k "$HOOKS" --mode-only --skip-reset
	expect_contains "$(cat "$LOG")" "apply-start all-disabled all-disabled $CONFIG $HOOKS skip=true mode=true"
}

# The same variables under migctl's own apply -k (the defect: only MIGCTL_SELECTED_CONFIG).
t_migctl_apply_hooks_get_mig_parted_variables() {
	node A100-SXM4-40GB
	mc 0 apply -f "$CONFIG" -c all-balanced -k "$HOOKS"
	expect_contains "$(cat "$LOG")" "apply-start all-balanced all-balanced $CONFIG $HOOKS"
	expect_contains "$(cat "$LOG")" "apply-exit all-balanced success"
}

# ---- flags, variables, output, exit codes ----------------------------------------------------

t_already_applied_runs_only_start_and_exit_hooks() {
	node A100-SXM4-40GB
	pp 0 apply -f "$CONFIG" -c all-balanced
	rm -f "$LOG"
	pp 0 apply -f "$CONFIG" -c all-balanced -k "$HOOKS"
	expect_eq "$OUT" "MIG configuration applied successfully"
	expect_eq "$(cut -d' ' -f1 "$LOG" | tr '\n' ' ')" "apply-start apply-exit " "hooks of a no-op apply"
}

t_environment_instead_of_flags() {
	node A100-SXM4-40GB
	MIG_PARTED_CONFIG_FILE="$CONFIG" MIG_PARTED_SELECTED_CONFIG=all-balanced expect_rc 0 "$PARTED" apply
	expect_eq "$OUT" "MIG configuration applied successfully"
	MIG_PARTED_CONFIG_FILE="$CONFIG" MIG_PARTED_SELECTED_CONFIG=all-balanced expect_rc 0 "$PARTED" assert
	# a flag wins over its variable
	MIG_PARTED_CONFIG_FILE="$CONFIG" MIG_PARTED_SELECTED_CONFIG=all-disabled expect_rc 0 "$PARTED" assert -c all-balanced
	MIG_PARTED_MODE_CHANGE_ONLY=true MIG_PARTED_CONFIG_FILE="$CONFIG" expect_rc 0 "$PARTED" assert -c custom-1g-3g
	expect_eq "$OUT" "Selected MIG mode settings from configuration currently applied"
	MIG_PARTED_VALID_CONFIG=1 expect_rc 0 "$PARTED" assert -f "$CONFIG" -c custom-1g-3g
	expect_eq "$OUT" "Selected MIG configuration is valid"
}

t_flag_spellings() {
	node A100-SXM4-40GB
	pp 0 apply --config-file="$CONFIG" --selected-config=all-balanced
	pp 0 assert --config-file "$CONFIG" --selected-config all-balanced
	pp 0 assert -f="$CONFIG" -c=all-balanced --mode-only=true
	expect_eq "$OUT" "Selected MIG mode settings from configuration currently applied"
	pp 0 assert -ma -f "$CONFIG" -c all-balanced # combined short booleans
	expect_eq "$OUT" "Selected MIG configuration is valid"
	pp 0 --debug assert -f "$CONFIG" -c all-balanced
}

t_errors_exit_1() {
	node A100-SXM4-40GB
	local before
	before=$(sim_snapshot)
	pp 1 apply -c all-balanced
	expect_contains "$ERR" "Missing required flags 'config-file'"
	expect_contains "$ERR" "--config-file value, -f value"
	pp 1 assert -f "$CONFIG" -c no-such-config
	expect_contains "$ERR" "no-such-config"
	pp 1 assert --valid-config -f "$CONFIG" -c no-such-config
	pp 1 apply -f "$CONFIG" -c all-balanced --no-such-flag
	expect_contains "$ERR" "flag provided but not defined: -no-such-flag"
	pp 1 apply -f "$CONFIG" -c all-balanced extra
	expect_contains "$ERR" "takes no arguments"
	pp 1 apply -f "$CONFIG"
	expect_contains "$ERR" "choose one with -c"
	pp 1 apply -f "$CONFIG" -c all-balanced -c
	expect_contains "$ERR" "flag needs an argument"
	pp 1 assert -f "$CONFIG" -c all-balanced --mode-only=maybe
	expect_contains "$ERR" "invalid boolean value 'maybe' for -mode-only"
	MIG_PARTED_SKIP_RESET=maybe expect_rc 1 "$PARTED" apply -f "$CONFIG" -c all-balanced
	expect_contains "$ERR" "as bool value from env MIG_PARTED_SKIP_RESET"
	pp 1 assert -f "$TEST_TMP/missing.yaml" -c all-balanced
	pp 1 frobnicate
	expect_contains "$ERR" "the commands are apply, assert, export"
	pp 1 export -o xml
	expect_contains "$ERR" "Unrecognized output format: xml"
	expect_unchanged "$before" "failed nvidia-mig-parted calls"
}

t_help_and_version_exit_0() {
	pp 0 --help
	expect_contains "$OUT" "COMMANDS:"
	expect_contains "$OUT" "apply"
	pp 0 -h
	pp 0 apply --help
	expect_contains "$OUT" "MIG_PARTED_SKIP_RESET"
	pp 0 assert -h
	expect_contains "$OUT" "--valid-config, -a"
	pp 0 --version
	expect_contains "$OUT" "nvidia-mig-parted version"
	# the same through migctl parted
	mc 0 parted --help
	expect_contains "$OUT" "migctl parted"
}

t_export_formats_and_label() {
	node A100-SXM4-40GB
	pp 0 apply -f "$CONFIG" -c all-balanced
	pp 0 export -o json -l mylabel
	expect_eq "$(echo "$OUT" | json_eval "sorted(d['mig-configs']['mylabel'][0]['mig-devices'].items())")" \
		'[["1g.5gb", 2], ["2g.10gb", 1], ["3g.20gb", 1]]' "export -o json -l mylabel"
	MIG_PARTED_OUTPUT_FORMAT=yaml MIG_PARTED_CONFIG_LABEL=exported expect_rc 0 "$PARTED" export
	expect_contains "$OUT" "exported:"
	# an export applies back as a no-op
	echo "$OUT" >"$TEST_TMP/exported.yaml"
	pp 0 assert -f "$TEST_TMP/exported.yaml"
	expect_eq "$OUT" "Selected MIG configuration currently applied"
}

# --skip-reset leaves a mode change pending (the mig-manager's systemd flow resets later);
# without it only the pending GPU is reset, never every GPU as mig-parted does.
t_skip_reset_and_reset_only_pending() {
	node "A100-SXM4-40GB,H100-SXM5-80GB:reset-required"
	cat >"$TEST_TMP/h100.yaml" <<'EOF'
version: v1
mig-configs:
  h100-on:
    - devices: [1]
      mig-enabled: true
      mig-devices: {}
    - devices: [0]
      mig-enabled: true
      mig-devices: {"7g.40gb": 1}
EOF
	chmod 644 "$TEST_TMP/h100.yaml"
	pp 0 apply -f "$TEST_TMP/h100.yaml" -c h100-on # resets GPU 1, whose enable was pending
	expect_contains "$ERR" "reset --gpu 1"
	local a100
	a100=$(mig_uuids 7g.40gb)
	[ -n "$a100" ] || fail "no 7g.40gb instance on GPU 0"
	node "A100-SXM4-40GB,H100-SXM5-80GB:reset-required"
	pp 0 apply --mode-only --skip-reset -f "$TEST_TMP/h100.yaml" -c h100-on
	expect_eq "$OUT" "MIG configuration applied successfully"
	expect_contains "$ERR" "pending"
	pp 1 assert --mode-only -f "$TEST_TMP/h100.yaml" -c h100-on
	# the second call resets the pending GPU (service.sh relies on this)
	pp 0 apply --mode-only -f "$TEST_TMP/h100.yaml" -c h100-on
	expect_contains "$ERR" "reset --gpu 1"
	expect_not_contains "$ERR" "reset --gpu 0"
	pp 0 assert --mode-only -f "$TEST_TMP/h100.yaml" -c h100-on
}

# checkpoint and restore: the layout with its placements, back after a change.
t_checkpoint_restore() {
	node A100-SXM4-40GB
	pp 0 apply -f "$CONFIG" -c all-balanced
	local before
	before=$("$MIGCTL" --sim export --placements)
	pp 0 checkpoint -f "$TEST_TMP/checkpoint.json"
	json_valid <"$TEST_TMP/checkpoint.json" || fail "the checkpoint is not JSON"
	pp 0 apply -f "$CONFIG" -c all-disabled
	pp 0 restore -f "$TEST_TMP/checkpoint.json"
	expect_eq "$OUT" "MIG configuration restored successfully"
	expect_eq "$("$MIGCTL" --sim export --placements)" "$before" "the layout after restore"
	pp 1 checkpoint
	expect_contains "$ERR" "Missing required flags 'checkpoint-file'"
}

# A config that selects no GPU fails, as mig-parted's does (no false success).
t_selects_nothing_fails() {
	node A100-SXM4-40GB
	cat >"$TEST_TMP/typo.yaml" <<'EOF'
version: v1
mig-configs:
  typo:
    - device-filter: "0x20B110DE"
      devices: all
      mig-enabled: true
      mig-devices: {"1g.5gb": 7}
EOF
	chmod 644 "$TEST_TMP/typo.yaml"
	pp 1 apply -f "$TEST_TMP/typo.yaml"
	expect_contains "$ERR" "selects no GPU"
	pp 1 assert -f "$TEST_TMP/typo.yaml"
	expect_not_contains "$OUT" "currently applied"
}

# A ConfigMap written the way go-yaml (mig-parted) reads it: anchors, merge keys inside and
# around mig-devices, YAML 1.1 booleans.
t_yaml_as_go_yaml_reads_it() {
	node A100-SXM4-40GB
	cat >"$TEST_TMP/merge.yaml" <<'EOF'
version: v1
mig-configs:
  small:
    - &base
      devices: all
      mig-enabled: yes
      mig-devices: &small
        "1g.5gb": 2
  bigger:
    - <<: *base
      mig-devices:
        <<: *small
        "3g.20gb": 1
EOF
	chmod 644 "$TEST_TMP/merge.yaml"
	pp 0 apply -f "$TEST_TMP/merge.yaml" -c bigger
	expect_eq "$(mig_uuids 1g.5gb | wc -w) $(mig_uuids 3g.20gb | wc -w)" "2 1" "1g.5gb and 3g.20gb instances"
	pp 0 assert -f "$TEST_TMP/merge.yaml" -c bigger
	pp 1 assert -f "$TEST_TMP/merge.yaml" -c small
}

# generate-config, which the mig-manager runs when it has no config file: configs from the
# GPUs' own profiles, each of which then applies and asserts on the node (the display GPU
# without MIG is left out).
t_generate_config() {
	node A100-SXM4-80GB,A30,DGX-Display
	pp 0 generate-config -f "$TEST_TMP/generated.yaml"
	chmod 644 "$TEST_TMP/generated.yaml"
	local text names name n=0
	text=$(cat "$TEST_TMP/generated.yaml")
	expect_contains "$text" "all-balanced:"
	expect_contains "$text" '"0x20B710DE"'
	expect_not_contains "$text" "0x1FB010DE"
	names=$(grep -E '^  [a-z]' "$TEST_TMP/generated.yaml" | tr -d ' :')
	expect_contains "$names" "all-1g.10gb.me"
	for name in $names; do
		pp 0 apply -f "$TEST_TMP/generated.yaml" -c "$name"
		pp 0 assert -f "$TEST_TMP/generated.yaml" -c "$name"
		n=$((n + 1))
	done
	expect_eq "$n" 15 "generated configs (disabled, enabled, balanced, 7 A100-80GB and 5 A30 profiles)"
	pp 0 generate-config -o json
	expect_eq "$(echo "$OUT" | json_eval "d['mig-configs']['all-balanced'][1]['mig-devices']")" '{"1g.6gb": 2, "2g.12gb": 1}' "A30 all-balanced"
	pp 1 generate-config -o xml
	expect_contains "$ERR" "Unrecognized 'output-format': xml"
	# one kind of GPU: no device filters
	node H100-SXM5-80GB
	pp 0 generate-config
	expect_not_contains "$OUT" "device-filter"
}

# migctl's own apply/assert --mode-only: MIG mode alone, instances neither created nor compared.
t_migctl_mode_only() {
	node A100-SXM4-40GB,A30
	printf 'version: v1\nmig-configs:\n  c:\n    - devices: [0]\n      mig-enabled: true\n      mig-devices: {"3g.20gb": 2}\n    - devices: [1]\n      mig-enabled: false\n' \
		>"$TEST_TMP/mode.yaml"
	mc 4 assert --mode-only -f "$TEST_TMP/mode.yaml"
	mc 0 apply --mode-only -f "$TEST_TMP/mode.yaml"
	mc 0 assert --mode-only -f "$TEST_TMP/mode.yaml"
	expect_eq "$(mig_uuids 3g.20gb)" "" "instances after apply --mode-only"
	mc 4 assert -f "$TEST_TMP/mode.yaml"
	mc 0 apply -f "$TEST_TMP/mode.yaml"
	# the mode is right: --mode-only does not look at instances, even ones the config lacks
	mc 0 -i 0 destroy --gi 1
	mc 0 apply --mode-only -f "$TEST_TMP/mode.yaml"
	expect_contains "$OUT" "Nothing to do"
	expect_eq "$(mig_uuids 3g.20gb | wc -w)" 1 "3g.20gb instances left as they were"
	mc 4 assert -f "$TEST_TMP/mode.yaml"
	# turning MIG off takes the instances with it
	printf 'version: v1\nmig-configs:\n  c:\n    - devices: all\n      mig-enabled: false\n' >"$TEST_TMP/off.yaml"
	mc 0 apply --mode-only -f "$TEST_TMP/off.yaml"
	mc 0 --json list
	expect_eq "$(echo "$OUT" | json_eval "[g['mig_mode']['current'] for g in d['gpus']]")" '["disabled", "disabled"]' "modes"
	mc 2 plan --mode-only -f "$TEST_TMP/off.yaml"
}

run_tests
