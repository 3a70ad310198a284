#!/usr/bin/env bash
# apply's hooks (migctl(8) HOOKS, -k/--hooks-file, MIGCTL_HOOKS_FILE): mig-parted's hooks file
# format, the four points (apply-start, pre-apply-mode, pre-apply-config, apply-exit), their
# order and what each sees, the environment they get, what a failing hook does, where their
# output goes, errors in the hooks file, and the ownership rules when run as root.
#
# Every hook here is $REC (below): it appends its tag to $LOG, saves its exact environment,
# whether it saw the apply lock held and the journal written, a snapshot of the simulated GPUs,
# and its working directory; it prints a line on stdout and one on stderr, and exits with the
# status it is given. So every assertion is on something a hook really did or saw.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGCTL_HOOKS_FILE


HERE=$(cd "$(dirname "$0")" && pwd)
EXAMPLES=$(cd "$HERE/../../examples" && pwd)
A100="$EXAMPLES/a100-40gb.yaml"
LOG="$TEST_TMP/hooks.log"
REC="$TEST_TMP/rec.sh"
HOOKS="$TEST_TMP/hooks.yaml"
FIXED_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export MIGCTL_LOCK="$TEST_TMP/apply.lock"
export MIGCTL_JOURNAL="$TEST_TMP/journal.json"
# hooks must not inherit this (they get a fixed environment)
export MIGCTL_TEST_LEAK=leaked

# rec.sh TAG [STATUS]: what every hook in this file runs. Hooks get no environment of ours,
# so the paths it needs are written into it.
cat >"$REC" <<EOF
#!/bin/sh
tag=\$1
echo "\$tag" >>"$LOG"
tr '\\0' '\\n' </proc/\$\$/environ | LC_ALL=C sort >"$TEST_TMP/env.\$tag"
if flock -n -E 99 "$MIGCTL_LOCK" true 2>/dev/null; then lock=free; elif [ \$? -eq 99 ]; then lock=held; else lock=none; fi
if [ -e "$MIGCTL_JOURNAL" ]; then journal=yes; else journal=no; fi
echo "lock=\$lock journal=\$journal cwd=\$(pwd)" >"$TEST_TMP/facts.\$tag"
MIGSIM_STATE="$MIGSIM_STATE" MIGSIM_QUIET=1 "$MIGSIM" show --json >"$TEST_TMP/snap.\$tag" 2>&1
echo "hook stdout \$tag"
echo "hook stderr \$tag" >&2
exit \${2:-0}
EOF
chmod 755 "$REC"

# ---- helpers ---------------------------------------------------------------------------

# node GPUS: a fresh simulated node, no lock, journal or hook traces left by an earlier test.
node() {
	rm -f "$MIGCTL_LOCK" "$MIGCTL_JOURNAL" "$LOG" "$TEST_TMP"/env.* "$TEST_TMP"/facts.* "$TEST_TMP"/snap.*
	"$MIGSIM" init "$1" >/dev/null 2>"$TEST_TMP/init.err" || fail "migsim init $1: $(cat "$TEST_TMP/init.err")"
}

# write_hooks FILE: the hooks file from stdin, root's and not writable by others.
write_hooks() {
	cat >"$1"
	chmod 644 "$1"
}

# all_points FILE [FAILING_POINT [STATUS]]: one $REC hook at each point, tagged with the point;
# the one at FAILING_POINT exits STATUS (default 7).
all_points() {
	local p s
	{
		echo "version: v1"
		echo "hooks:"
		for p in apply-start pre-apply-mode pre-apply-config apply-exit; do
			s=0
			[ "$p" = "${2:-}" ] && s=${3:-7}
			echo "  $p:"
			echo "    - command: $REC"
			echo "      args: [$p, \"$s\"]"
		done
	} | write_hooks "$1"
}

# ran: the tags the hooks logged, in order, on one line ("" when none ran).
ran() {
	if [ -e "$LOG" ]; then
		tr '\n' ' ' <"$LOG" | sed 's/ $//'
	fi
}

expect_ran() { # WANT [WHAT]
	expect_eq "$(ran)" "$1" "${2:-hooks run}"
}

# snap_gpu0 TAG: "MODE GIS" of GPU 0 as the hook TAG saw it ("current" MIG mode, GPU instances).
snap_gpu0() {
	json_eval "'%s %d' % (d['gpus'][0]['mig_mode']['current'], len(d['gpus'][0].get('gpu_instances') or []))" \
		<"$TEST_TMP/snap.$1" 2>/dev/null || echo "no snapshot from $1: $(head -c 200 "$TEST_TMP/snap.$1" 2>/dev/null)"
}

# env_of TAG: the environment hook TAG got, one NAME=VALUE per line, sorted.
env_of() {
	cat "$TEST_TMP/env.$1" 2>/dev/null || echo "hook $1 did not run"
}

# facts TAG: "lock=held|free|none journal=yes|no cwd=DIR" as hook TAG saw them.
facts() {
	cat "$TEST_TMP/facts.$1" 2>/dev/null || echo "hook $1 did not run"
}

# skip REASON: the calling test does not apply here; reported as TAP "# SKIP REASON".
skip() {
	echo "${FUNCNAME[1]} $*" >>"$TEST_TMP/skipped"
}

# a valid hooks file whose apply-start would log: used to prove that nothing ran
LOGGING_START="  apply-start: [{command: $REC, args: [apply-start]}]"

# ---- 1. the points, their order and what each sees --------------------------------------

t_all_four_points_run_once_in_order_around_the_operations() {
	node A100-SXM4-40GB
	all_points "$HOOKS"
	mc 0 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_contains "$OUT" "MIG configuration applied successfully (9 operations)"
	expect_ran "apply-start pre-apply-mode pre-apply-config apply-exit"
	# apply-start: the lock is held, the plan is not made yet (no journal), nothing changed
	expect_eq "$(facts apply-start)" "lock=held journal=no cwd=$PWD" "apply-start saw"
	expect_eq "$(snap_gpu0 apply-start)" "disabled 0" "GPU 0 at apply-start"
	# pre-apply-*: after the journal is written, before the first operation
	expect_eq "$(facts pre-apply-mode)" "lock=held journal=yes cwd=$PWD" "pre-apply-mode saw"
	expect_eq "$(snap_gpu0 pre-apply-mode)" "disabled 0" "GPU 0 at pre-apply-mode"
	expect_eq "$(facts pre-apply-config)" "lock=held journal=yes cwd=$PWD" "pre-apply-config saw"
	# pre-apply-config: after the mode phase (MIG on), before any instance is made
	expect_eq "$(snap_gpu0 pre-apply-config)" "enabled 0" "GPU 0 at pre-apply-config"
	# apply-exit: after the verification (journal removed), lock still held
	expect_eq "$(facts apply-exit)" "lock=held journal=no cwd=$PWD" "apply-exit saw"
	expect_eq "$(snap_gpu0 apply-exit)" "enabled 4" "GPU 0 at apply-exit"
	grep -qx 'MIGCTL_APPLY_STATUS=success' "$TEST_TMP/env.apply-exit" || fail "apply-exit: $(env_of apply-exit)"
	# the lock is released afterwards
	flock -n "$MIGCTL_LOCK" true || fail "the apply lock is still held after apply"
}

t_mode_change_only_skips_pre_apply_config() {
	node A100-SXM4-40GB
	all_points "$HOOKS"
	mc 0 --json plan -f "$A100" -c all-enabled
	expect_eq "$(echo "$OUT" | json_eval "[o['op'] for o in d['operations']]")" '["enable-mig"]' "plan for all-enabled"
	mc 0 apply -f "$A100" -c all-enabled -k "$HOOKS"
	expect_ran "apply-start pre-apply-mode apply-exit"
	expect_eq "$(snap_gpu0 pre-apply-mode)" "disabled 0" "GPU 0 at pre-apply-mode"
	expect_eq "$(snap_gpu0 apply-exit)" "enabled 0" "GPU 0 at apply-exit"
}

t_instance_change_only_skips_pre_apply_mode() {
	node A100-SXM4-40GB
	mc 0 apply -f "$A100" -c all-balanced
	all_points "$HOOKS"
	mc 0 apply -f "$A100" -c all-1g.5gb -k "$HOOKS"
	expect_contains "$OUT" "MIG configuration applied successfully"
	expect_ran "apply-start pre-apply-config apply-exit"
	expect_eq "$(snap_gpu0 pre-apply-config)" "enabled 4" "GPU 0 at pre-apply-config"
	expect_eq "$(snap_gpu0 apply-exit)" "enabled 7" "GPU 0 at apply-exit"
}

t_nothing_to_do_runs_apply_start_and_apply_exit() {
	node A100-SXM4-40GB
	mc 0 apply -f "$A100" -c all-balanced
	all_points "$HOOKS"
	state_save
	mc 0 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_contains "$OUT" "Nothing to do: the GPUs match the configuration."
	expect_ran "apply-start apply-exit"
	grep -qx 'MIGCTL_APPLY_STATUS=success' "$TEST_TMP/env.apply-exit" || fail "apply-exit: $(env_of apply-exit)"
	expect_state_unchanged "the node after an apply with nothing to do"
}

t_commands_of_a_point_run_in_order_and_stop_at_the_first_failure() {
	node A100-SXM4-40GB
	write_hooks "$HOOKS" <<EOF
version: v1
hooks:
  apply-start:
    - {command: $REC, args: [first]}
    - {command: $REC, args: [second]}
    - {command: $REC, args: [third]}
  apply-exit:
    - {command: $REC, args: [exit-1]}
    - {command: $REC, args: [exit-2]}
EOF
	mc 0 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_ran "first second third exit-1 exit-2"
	grep -qx 'MIGCTL_HOOK=apply-start' "$TEST_TMP/env.third" || fail "third: $(env_of third)"
	grep -qx 'MIGCTL_HOOK=apply-exit' "$TEST_TMP/env.exit-2" || fail "exit-2: $(env_of exit-2)"
	# the second one fails: the third is not run, nor anything else but apply-exit
	node A100-SXM4-40GB
	write_hooks "$HOOKS" <<EOF
version: v1
hooks:
  apply-start:
    - {command: $REC, args: [first]}
    - {command: $REC, args: [second, "9"]}
    - {command: $REC, args: [third]}
  pre-apply-mode: [{command: $REC, args: [mode]}]
  apply-exit: [{command: $REC, args: [exit-1]}]
EOF
	state_save
	mc 1 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_ran "first second exit-1"
	expect_contains "$ERR" "hook apply-start: $REC failed (exit status 9)"
	expect_state_unchanged "the node after a failed apply-start hook"
}

# ---- 2. the environment ----------------------------------------------------------------------

t_hooks_get_exactly_the_documented_environment() {
	node A100-SXM4-40GB
	write_hooks "$HOOKS" <<EOF
version: v1
hooks:
  apply-start: [{command: $REC, args: [apply-start], envs: {GREETING: "hello world", EMPTY: ""}}]
  pre-apply-mode: [{command: $REC, args: [pre-apply-mode]}]
  pre-apply-config: [{command: $REC, args: [pre-apply-config]}]
  apply-exit: [{command: $REC, args: [apply-exit], envs: {COUNT: 3}}]
EOF
	mc 0 apply -f "$A100" -c all-balanced -k "$HOOKS"
	# mig-parted's names too (one per apply flag), which NVIDIA's own hooks read
	local base="MIGCTL_CONFIG_FILE=$A100
MIGCTL_HOOK=%s
MIGCTL_SELECTED_CONFIG=all-balanced
MIG_PARTED_CONFIG_FILE=$A100
MIG_PARTED_HOOKS_FILE=$HOOKS
MIG_PARTED_MODE_CHANGE_ONLY=false
MIG_PARTED_SELECTED_CONFIG=all-balanced
MIG_PARTED_SKIP_RESET=true
PATH=$FIXED_PATH"
	# shellcheck disable=SC2059
	expect_eq "$(env_of apply-start)" "EMPTY=
GREETING=hello world
$(printf "$base" apply-start)" "apply-start's environment"
	# shellcheck disable=SC2059
	expect_eq "$(env_of pre-apply-mode)" "$(printf "$base" pre-apply-mode)" "pre-apply-mode's environment"
	# shellcheck disable=SC2059
	expect_eq "$(env_of pre-apply-config)" "$(printf "$base" pre-apply-config)" "pre-apply-config's environment"
	# shellcheck disable=SC2059
	# apply-exit also learns what changed: the GPU, the MIG devices made (none went)
	local gpu devices
	gpu=$("$MIGCTL" --sim list --json | json_eval "d['gpus'][0]['uuid']")
	devices=$("$MIGCTL" --sim list --json | json_eval "','.join(c['uuid'] for g in d['gpus'] for i in g['gpu_instances'] for c in i['compute_instances'])")
	[ "$(echo "$devices" | tr ',' '\n' | grep -c '^MIG-')" -eq 4 ] || fail "all-balanced made: $devices"
	# shellcheck disable=SC2059
	expect_eq "$(env_of apply-exit)" "$(printf '%s\n' "COUNT=3" "MIGCTL_APPLY_STATUS=success" "MIGCTL_CHANGED_GPUS=$gpu" \
		"MIGCTL_MIG_DEVICES_ADDED=$devices" "MIGCTL_MIG_DEVICES_REMOVED=" "$(printf "$base" apply-exit)" | LC_ALL=C sort)" \
		"apply-exit's environment"
	expect_not_contains "$(cat "$TEST_TMP"/env.*)" "MIGCTL_TEST_LEAK"
}

t_config_file_and_config_as_apply_was_given_them() {
	node A100-SXM4-40GB
	all_points "$HOOKS"
	# from the environment
	MIGCTL_CONFIG_FILE="$A100" MIGCTL_SELECTED_CONFIG=all-1g.5gb mc 0 apply -k "$HOOKS"
	expect_contains "$OUT" "MIG configuration applied successfully"
	grep -qx "MIGCTL_CONFIG_FILE=$A100" "$TEST_TMP/env.apply-start" || fail "apply-start: $(env_of apply-start)"
	grep -qx "MIGCTL_SELECTED_CONFIG=all-1g.5gb" "$TEST_TMP/env.apply-exit" || fail "apply-exit: $(env_of apply-exit)"
	# a relative path stays relative; no -c: MIGCTL_SELECTED_CONFIG is empty
	node A100-SXM4-40GB
	printf 'version: v1\nmig-configs:\n  only:\n    - devices: all\n      mig-enabled: true\n      mig-devices: {"3g.20gb": 2}\n' \
		>"$TEST_TMP/one.yaml"
	(cd "$TEST_TMP" && mc 0 apply -f one.yaml --hooks-file "$HOOKS" && [ "$_failures" -eq 0 ]) || fail "apply -f one.yaml"
	grep -qx "MIGCTL_CONFIG_FILE=one.yaml" "$TEST_TMP/env.pre-apply-config" || fail "pre-apply-config: $(env_of pre-apply-config)"
	grep -qx "MIGCTL_SELECTED_CONFIG=" "$TEST_TMP/env.apply-exit" || fail "apply-exit: $(env_of apply-exit)"
	expect_eq "$(facts apply-start)" "lock=held journal=no cwd=$TEST_TMP" "apply-start (run in migctl's directory)"
	# standard input
	node A100-SXM4-40GB
	mc 0 apply -f - -c all-balanced -k "$HOOKS" <"$A100"
	grep -qx "MIGCTL_CONFIG_FILE=-" "$TEST_TMP/env.apply-exit" || fail "apply-exit: $(env_of apply-exit)"
}

t_args_envs_and_workdir_reach_the_command() {
	node A100-SXM4-40GB
	mkdir -p "$TEST_TMP/work dir"
	write_hooks "$HOOKS" <<EOF
version: v1
hooks:
  apply-start:
    - command: /bin/sh
      args: [-c, 'printf "%s|" "\$0" "\$@" "\$PWD" "\$A" >>"$LOG"; echo >>"$LOG"', zero, "two words", "", '\$HOME *']
      envs: {A: "x=y z"}
      workdir: $TEST_TMP/work dir
EOF
	mc 0 apply -f "$A100" -c all-enabled -k "$HOOKS"
	expect_eq "$(cat "$LOG")" "zero|two words||\$HOME *|$TEST_TMP/work dir|x=y z|" "what the hook got"
	# the most that fits: 63 arguments, NAME=value of 511 characters, 64 envs, all passed whole
	local long envs
	long=$(printf 'y%.0s' $(seq 506))
	envs=$(for i in $(seq 63); do printf 'E%d: v%d, ' "$i" "$i"; done)
	write_hooks "$HOOKS" <<EOF
version: v1
hooks:
  apply-start:
    - command: /bin/sh
      args: [-c, 'echo "\$# \${60} \${#LONG} \$E1 \$E63" >"$LOG"', zero, $(seq -s, 60)]
      envs: {${envs}LONG: $long}
EOF
	mc 0 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_eq "$(cat "$LOG")" "60 60 506 v1 v63" "what the hook got at the limits"
}

# envs may replace PATH (one PATH, theirs) but not the MIGCTL_ variables migctl sets.
t_envs_replace_path_but_not_migctl_variables() {
	node A100-SXM4-40GB
	write_hooks "$HOOKS" <<EOF
version: v1
hooks:
  apply-start:
    - command: /bin/sh
      args: [-c, '/usr/bin/env | /bin/grep -c "^PATH=" >"$LOG"; echo "\$PATH" >>"$LOG"']
      envs: {PATH: /opt/hooks/bin}
EOF
	mc 0 apply -f "$A100" -c all-enabled -k "$HOOKS"
	expect_eq "$(cat "$LOG")" "1
/opt/hooks/bin" "PATH as the hook saw it"
	write_hooks "$HOOKS" <<EOF
version: v1
hooks:
  apply-start:
    - command: /bin/true
      envs: {MIGCTL_HOOK: mine}
EOF
	state_save
	mc 1 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_contains "$ERR" "$HOOKS:5:14: envs cannot set MIGCTL_HOOK: the MIGCTL_ variables are set by the change itself"
	expect_state_unchanged "the node after a hooks file that sets MIGCTL_HOOK"
}

# As root, the command a hook runs obeys the hooks file's rule: root's, writable by no one else.
t_root_refuses_a_hook_command_others_can_write() {
	if [ "$(id -u)" -ne 0 ]; then
		skip "needs root"
		return
	fi
	node A100-SXM4-40GB
	local cmd="$TEST_TMP/hook-cmd.sh"
	printf '#!/bin/sh\necho ran >>"%s"\n' "$LOG" >"$cmd"
	chmod 755 "$cmd"
	write_hooks "$HOOKS" <<EOF
version: v1
hooks:
  apply-start: [{command: $cmd}]
EOF
	state_save
	chmod 777 "$cmd"
	mc 1 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_contains "$ERR" "$HOOKS:3:27: refusing hook command $cmd: running as root, it must be owned by root"
	expect_contains "$ERR" "mode 777"
	chmod 755 "$cmd"
	chown nobody "$cmd"
	mc 1 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_contains "$ERR" "owned by uid $(id -u nobody)"
	[ ! -e "$LOG" ] || fail "a refused hook command ran: $(cat "$LOG")"
	expect_state_unchanged "the node after refused hook commands"
	chown root "$cmd"
	mc 0 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_eq "$(cat "$LOG")" "ran" "the hook command, once root's"
}

t_apply_exit_gets_failure_when_an_operation_fails() {
	node A100-SXM4-40GB
	all_points "$HOOKS"
	"$MIGSIM" fault add nvmlDeviceCreateGpuInstanceWithPlacement UNKNOWN --nth 2 >/dev/null || fail "migsim fault add"
	mc 1 apply -f "$A100" -c all-balanced -k "$HOOKS"
	"$MIGSIM" fault clear >/dev/null
	expect_contains "$ERR" "operations were done"
	expect_ran "apply-start pre-apply-mode pre-apply-config apply-exit"
	grep -qx 'MIGCTL_APPLY_STATUS=failure' "$TEST_TMP/env.apply-exit" || fail "apply-exit: $(env_of apply-exit)"
	# the GPU instance made before the failure had no compute instance yet: rolled back
	expect_eq "$(snap_gpu0 apply-exit)" "enabled 0" "GPU 0 at apply-exit (stopped part way, rolled back)"
	# and success once it goes through
	rm -f "$LOG"
	mc 0 apply -f "$A100" -c all-balanced -k "$HOOKS"
	grep -qx 'MIGCTL_APPLY_STATUS=success' "$TEST_TMP/env.apply-exit" || fail "apply-exit: $(env_of apply-exit)"
}

t_apply_exit_gets_failure_when_a_mode_change_stays_pending() {
	node A100-SXM4-40GB:reset-required
	all_points "$HOOKS"
	mc 3 apply -f "$A100" -c all-1g.5gb -k "$HOOKS"
	expect_contains "$ERR" "pending on GPU 0 (reset required)"
	expect_ran "apply-start pre-apply-mode pre-apply-config apply-exit"
	grep -qx 'MIGCTL_APPLY_STATUS=failure' "$TEST_TMP/env.apply-exit" || fail "apply-exit: $(env_of apply-exit)"
}

t_apply_exit_gets_failure_when_the_plan_cannot_be_made() {
	node A100-SXM4-40GB
	all_points "$HOOKS"
	state_save
	mc 1 apply -f "$A100" -c no-such-config -k "$HOOKS"
	expect_contains "$ERR" "has no config 'no-such-config'"
	expect_ran "apply-start apply-exit"
	grep -qx 'MIGCTL_APPLY_STATUS=failure' "$TEST_TMP/env.apply-exit" || fail "apply-exit: $(env_of apply-exit)"
	expect_state_unchanged
}

# ---- 3. failing hooks ------------------------------------------------------------------------

t_failing_apply_start_stops_before_anything_changes() {
	node A100-SXM4-40GB
	all_points "$HOOKS" apply-start 7
	state_save
	mc 1 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_contains "$ERR" "hook apply-start: $REC failed (exit status 7)"
	expect_not_contains "$OUT" "Operations, in order"
	expect_ran "apply-start apply-exit"
	grep -qx 'MIGCTL_APPLY_STATUS=failure' "$TEST_TMP/env.apply-exit" || fail "apply-exit: $(env_of apply-exit)"
	expect_state_unchanged "the node after a failed apply-start hook"
	[ ! -e "$MIGCTL_JOURNAL" ] || fail "a failed apply-start left a journal"
	flock -n "$MIGCTL_LOCK" true || fail "the apply lock is still held"
}

t_failing_pre_apply_mode_stops_before_any_operation() {
	node A100-SXM4-40GB
	all_points "$HOOKS" pre-apply-mode 3
	state_save
	mc 1 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_contains "$ERR" "hook pre-apply-mode: $REC failed (exit status 3)"
	expect_ran "apply-start pre-apply-mode apply-exit"
	grep -qx 'MIGCTL_APPLY_STATUS=failure' "$TEST_TMP/env.apply-exit" || fail "apply-exit: $(env_of apply-exit)"
	expect_state_unchanged "the node after a failed pre-apply-mode hook"
	# the journal stays (the apply stopped); the next apply says so and finishes
	all_points "$HOOKS"
	rm -f "$LOG"
	mc 0 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_contains "$OUT" "stopped after 0 of 9 operations"
	expect_contains "$OUT" "MIG configuration applied successfully (9 operations)"
	expect_ran "apply-start pre-apply-mode pre-apply-config apply-exit"
}

t_failing_pre_apply_config_stops_before_any_operation() {
	node A100-SXM4-40GB
	all_points "$HOOKS" pre-apply-config 1
	state_save
	mc 1 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_contains "$ERR" "hook pre-apply-config: $REC failed (exit status 1)"
	expect_ran "apply-start pre-apply-mode pre-apply-config apply-exit"
	grep -qx 'MIGCTL_APPLY_STATUS=failure' "$TEST_TMP/env.apply-exit" || fail "apply-exit: $(env_of apply-exit)"
	# pre-apply-config comes after the mode phase: MIG is on, no instance was made
	expect_eq "$("$MIGSIM" show --json | json_eval "[(g['mig_mode']['current'], len(g['gpu_instances'])) for g in d['gpus']]")" \
		'[["enabled", 0]]' "the node after a failed pre-apply-config hook"
	# the next apply finishes it, without the mode phase
	all_points "$HOOKS"
	mc 0 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_ran "apply-start pre-apply-mode pre-apply-config apply-exit apply-start pre-apply-config apply-exit"
}

t_failing_apply_exit_fails_an_apply_that_succeeded() {
	node A100-SXM4-40GB
	all_points "$HOOKS" apply-exit 4
	mc 1 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_contains "$ERR" "hook apply-exit: $REC failed (exit status 4)"
	expect_ran "apply-start pre-apply-mode pre-apply-config apply-exit"
	grep -qx 'MIGCTL_APPLY_STATUS=success' "$TEST_TMP/env.apply-exit" || fail "apply-exit: $(env_of apply-exit)"
	# the changes stay made: apply-exit runs after them
	mc 0 assert -f "$A100" -c all-balanced
	[ ! -e "$MIGCTL_JOURNAL" ] || fail "the journal was left behind"
}

t_failing_apply_exit_keeps_the_exit_status_of_a_failed_apply() {
	node A100-SXM4-40GB:reset-required
	all_points "$HOOKS" apply-exit 4
	mc 3 apply -f "$A100" -c all-1g.5gb -k "$HOOKS"
	expect_contains "$ERR" "pending on GPU 0 (reset required)"
	expect_ran "apply-start pre-apply-mode pre-apply-config apply-exit"
	grep -qx 'MIGCTL_APPLY_STATUS=failure' "$TEST_TMP/env.apply-exit" || fail "apply-exit: $(env_of apply-exit)"
}

t_failing_apply_exit_after_a_failed_apply_is_reported() {
	node A100-SXM4-40GB
	all_points "$HOOKS" apply-exit 4
	mc 1 apply -f "$A100" -c no-such-config -k "$HOOKS"
	expect_contains "$ERR" "has no config 'no-such-config'"
	expect_contains "$ERR" "hook apply-exit: $REC failed (exit status 4)"
}

t_hook_that_cannot_run_cannot_enter_its_workdir_or_is_killed() {
	node A100-SXM4-40GB
	write_hooks "$HOOKS" <<EOF
version: v1
hooks:
  apply-start: [{command: $TEST_TMP/no-such-command}]
  apply-exit: [{command: $REC, args: [apply-exit]}]
EOF
	state_save
	mc 1 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_contains "$ERR" "hook apply-start: $TEST_TMP/no-such-command could not be run (exit status 127)"
	expect_ran "apply-exit"
	expect_state_unchanged "the node after a hook that could not be run"
	write_hooks "$HOOKS" <<EOF
version: v1
hooks:
  pre-apply-config: [{command: $REC, args: [pre-apply-config], workdir: $TEST_TMP/no-such-dir}]
EOF
	rm -f "$LOG"
	mc 1 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_contains "$ERR" "hook pre-apply-config: $REC failed (exit status 126)"
	expect_ran ""
	expect_eq "$("$MIGSIM" show --json | json_eval "[len(g['gpu_instances']) for g in d['gpus']]")" "[0]" \
		"instances after a hook that could not enter its workdir"
	node A100-SXM4-40GB
	state_save
	write_hooks "$HOOKS" <<EOF
version: v1
hooks:
  pre-apply-mode: [{command: /bin/sh, args: [-c, 'kill -KILL \$\$']}]
EOF
	mc 1 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_contains "$ERR" "hook pre-apply-mode: /bin/sh was killed by signal 9"
	expect_state_unchanged "the node after a hook killed by a signal"
}

# ---- 4. output ------------------------------------------------------------------------------

t_hook_output_goes_to_standard_error() {
	node A100-SXM4-40GB
	all_points "$HOOKS"
	mc 0 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_not_contains "$OUT" "hook stdout"
	expect_not_contains "$OUT" "hook stderr"
	local p
	for p in apply-start pre-apply-mode pre-apply-config apply-exit; do
		expect_contains "$ERR" "hook stdout $p"
		expect_contains "$ERR" "hook stderr $p"
	done
	# --json: standard output is migctl's one document
	node A100-SXM4-40GB
	mc 0 --json apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_eq "$(echo "$OUT" | json_eval d)" '{"applied": true, "operations_done": 9}' "apply --json with hooks"
	expect_contains "$ERR" "hook stdout apply-exit"
	mc 0 --json apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_eq "$(echo "$OUT" | json_eval "d['applied']")" "false" "apply --json with nothing to do"
	# a failing hook: one JSON error document
	all_points "$HOOKS" apply-start 5
	mc 1 --json apply -f "$A100" -c all-1g.5gb -k "$HOOKS"
	expect_json_error "hook apply-start: $REC failed (exit status 5)"
}

t_json_apply_exit_failure_prints_one_document() {
	node A100-SXM4-40GB
	all_points "$HOOKS" apply-exit 4
	mc 1 --json apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_json_error "hook apply-exit: $REC failed (exit status 4)"
}

# ---- 5. the hooks file ------------------------------------------------------------------------

# bad_hooks WANT: the hooks file on stdin (after a valid apply-start) fails apply, and --dry-run,
# with WANT (FILE:LINE:COLUMN: ...) before anything runs, any lock is taken or anything changes.
bad_hooks() {
	local want=$1
	write_hooks "$TEST_TMP/bad.yaml"
	rm -f "$LOG" "$MIGCTL_LOCK"
	state_save
	mc 1 apply -f "$A100" -c all-balanced -k "$TEST_TMP/bad.yaml"
	expect_contains "$ERR" "migctl: $TEST_TMP/bad.yaml:$want"
	expect_ran "" "hooks run with a bad hooks file ($want)"
	[ ! -e "$MIGCTL_LOCK" ] || fail "the lock was taken with a bad hooks file ($want)"
	mc 1 apply --dry-run -f "$A100" -c all-balanced -k "$TEST_TMP/bad.yaml"
	expect_contains "$ERR" "migctl: $TEST_TMP/bad.yaml:$want"
	expect_not_contains "$OUT" "Dry run"
	expect_state_unchanged "the node after a bad hooks file ($want)"
}

t_hooks_file_errors_name_file_line_and_column() {
	node A100-SXM4-40GB
	bad_hooks "4:1: did not find expected ',' or ']'" <<EOF
version: v1
hooks:
  apply-start: [{command: $REC, args: [apply-start]}
EOF
	bad_hooks "3:3: unknown hook point 'pre-apply'; the points are apply-start, pre-apply-mode, pre-apply-config and apply-exit" <<EOF
version: v1
hooks:
  pre-apply: []
$LOGGING_START
EOF
	bad_hooks "2:1: unexpected field 'hook'" <<EOF
version: v1
hook: {}
EOF
	bad_hooks "1:10: a hooks file needs version: v1" <<EOF
version: v2
hooks:
$LOGGING_START
EOF
	bad_hooks "1:1: a hooks file needs version: v1" <<EOF
hooks:
$LOGGING_START
EOF
	bad_hooks "1:1: 'hooks' must map hook points to lists of commands" <<EOF
version: v1
EOF
	bad_hooks "4:3: hook point apply-start is given twice" <<EOF
version: v1
hooks:
$LOGGING_START
$LOGGING_START
EOF
	bad_hooks "4:15: hook point apply-exit takes a list of commands" <<EOF
version: v1
hooks:
$LOGGING_START
  apply-exit: {command: $REC}
EOF
	bad_hooks "5:7: unexpected or malformed field 'arg'" <<EOF
version: v1
hooks:
  apply-start:
    - command: $REC
      arg: [apply-start]
EOF
	bad_hooks "4:16: command must be an absolute path" <<EOF
version: v1
hooks:
  apply-exit:
    - command: true
$LOGGING_START
EOF
	bad_hooks "4:16: command must be an absolute path" <<EOF
version: v1
hooks:
  apply-exit:
    - command: [$REC]
$LOGGING_START
EOF
	bad_hooks "4:7: this hook has no command" <<EOF
version: v1
hooks:
  apply-exit:
    - args: [apply-exit]
$LOGGING_START
EOF
	bad_hooks "4:7: each hook is a mapping" <<EOF
version: v1
hooks:
  apply-exit:
    - $REC
$LOGGING_START
EOF
	bad_hooks "5:7: unexpected or malformed field 'args'" <<EOF
version: v1
hooks:
  apply-exit:
    - command: $REC
      args: apply-exit
$LOGGING_START
EOF
	bad_hooks "5:7: unexpected or malformed field 'envs'" <<EOF
version: v1
hooks:
  apply-exit:
    - command: $REC
      envs: [A=1]
$LOGGING_START
EOF
	bad_hooks "5:7: unexpected or malformed field 'workdir'" <<EOF
version: v1
hooks:
  apply-exit:
    - command: $REC
      workdir: [/]
$LOGGING_START
EOF
	# the types inside args and envs are checked with the rest, not when the hook runs
	bad_hooks "5:26: each argument in args must be a string" <<EOF
version: v1
hooks:
  apply-exit:
    - command: $REC
      args: [apply-exit, [nested]]
$LOGGING_START
EOF
	bad_hooks "5:17: envs maps variable names to strings" <<EOF
version: v1
hooks:
  apply-exit:
    - command: $REC
      envs: {A: [x]}
$LOGGING_START
EOF
	bad_hooks "5:14: envs maps variable names to strings" <<EOF
version: v1
hooks:
  apply-exit:
    - command: $REC
      envs: {A=B: x}
$LOGGING_START
EOF
	# limits: what does not fit is refused, not cut short when the hook runs
	bad_hooks "5:20: LONG is too long: NAME=value takes at most 511 characters" <<EOF
version: v1
hooks:
  apply-exit:
    - command: $REC
      envs: {LONG: $(printf 'x%.0s' $(seq 507))}
$LOGGING_START
EOF
	bad_hooks "5:13: a hook takes at most 63 arguments" <<EOF
version: v1
hooks:
  apply-exit:
    - command: $REC
      args: [$(seq -s, 64)]
$LOGGING_START
EOF
}

t_hooks_file_that_is_not_a_mapping_or_missing() {
	node A100-SXM4-40GB
	state_save
	: >"$TEST_TMP/empty.yaml"
	mc 1 apply -f "$A100" -c all-balanced -k "$TEST_TMP/empty.yaml"
	expect_contains "$ERR" "$TEST_TMP/empty.yaml: a hooks file is a mapping with version: v1 and hooks"
	printf -- '- command: %s\n' "$REC" >"$TEST_TMP/list.yaml"
	mc 1 apply -f "$A100" -c all-balanced -k "$TEST_TMP/list.yaml"
	expect_contains "$ERR" "$TEST_TMP/list.yaml: a hooks file is a mapping"
	mc 1 apply -f "$A100" -c all-balanced -k "$TEST_TMP/missing.yaml"
	expect_contains "$ERR" "cannot open hooks file $TEST_TMP/missing.yaml: No such file or directory"
	MIGCTL_HOOKS_FILE="$TEST_TMP/missing.yaml" mc 1 apply --dry-run -f "$A100" -c all-balanced
	expect_contains "$ERR" "cannot open hooks file $TEST_TMP/missing.yaml"
	# a directory
	mc 1 apply -f "$A100" -c all-balanced -k "$TEST_TMP"
	expect_contains "$ERR" "migctl: $TEST_TMP"
	expect_ran ""
	expect_state_unchanged "the node after unusable hooks files"
}

t_hooks_file_from_option_or_environment() {
	node A100-SXM4-40GB
	all_points "$HOOKS"
	write_hooks "$TEST_TMP/other.yaml" <<EOF
version: v1
hooks:
  apply-start: [{command: $REC, args: [other]}]
EOF
	MIGCTL_HOOKS_FILE="$HOOKS" mc 0 apply -f "$A100" -c all-enabled
	expect_ran "apply-start pre-apply-mode apply-exit" "hooks from MIGCTL_HOOKS_FILE"
	rm -f "$LOG"
	MIGCTL_HOOKS_FILE="$HOOKS" mc 0 apply -f "$A100" -c all-balanced -k "$TEST_TMP/other.yaml"
	expect_ran "other" "-k over MIGCTL_HOOKS_FILE"
	rm -f "$LOG"
	MIGCTL_HOOKS_FILE="$HOOKS" mc 0 apply -f "$A100" -c all-1g.5gb --hooks-file "$TEST_TMP/other.yaml"
	expect_ran "other" "--hooks-file over MIGCTL_HOOKS_FILE"
	rm -f "$LOG"
	MIGCTL_HOOKS_FILE="" mc 0 apply -f "$A100" -c all-balanced
	expect_contains "$OUT" "MIG configuration applied successfully"
	expect_ran "" "hooks with MIGCTL_HOOKS_FILE empty"
	# only apply takes hooks
	mc 2 plan -f "$A100" -c all-balanced -k "$HOOKS"
	expect_contains "$ERR" "'-k'"
	mc 2 apply -f "$A100" -c all-balanced -k
	expect_contains "$ERR" "'-k'"
	MIGCTL_HOOKS_FILE="$HOOKS" mc 0 plan -f "$A100" -c all-1g.5gb
	expect_ran "" "hooks run by plan"
}

t_dry_run_runs_no_hook() {
	node A100-SXM4-40GB
	all_points "$HOOKS"
	state_save
	mc 0 apply --dry-run -f "$A100" -c all-balanced -k "$HOOKS"
	expect_contains "$OUT" "Dry run: nothing was changed."
	expect_ran "" "hooks run by apply --dry-run"
	MIGCTL_HOOKS_FILE="$HOOKS" mc 0 --json apply --dry-run -f "$A100" -c all-balanced
	expect_eq "$(echo "$OUT" | json_eval "d['applied']")" "false" "apply --json --dry-run"
	expect_ran "" "hooks run by apply --dry-run (MIGCTL_HOOKS_FILE)"
	expect_state_unchanged "the node after apply --dry-run"
}

# ---- 6. ownership --------------------------------------------------------------------------

t_root_refuses_a_hooks_file_others_own_or_can_write() {
	if [ "$(id -u)" -ne 0 ]; then
		skip "needs root"
		return
	fi
	node A100-SXM4-40GB
	all_points "$HOOKS"
	state_save
	local mode
	for mode in 664 646 666 620 602; do
		chmod "$mode" "$HOOKS"
		mc 1 apply -f "$A100" -c all-balanced -k "$HOOKS"
		expect_contains "$ERR" "refusing hooks file $HOOKS: running as root, it must be owned by root and writable by no one else"
		expect_contains "$ERR" "mode $mode"
		expect_contains "$ERR" "chmod go-w $HOOKS"
		MIGCTL_HOOKS_FILE="$HOOKS" mc 1 apply --dry-run -f "$A100" -c all-balanced
		expect_contains "$ERR" "refusing hooks file $HOOKS"
	done
	chmod 644 "$HOOKS"
	chown nobody "$HOOKS"
	mc 1 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_contains "$ERR" "refusing hooks file $HOOKS"
	expect_contains "$ERR" "owned by uid $(id -u nobody)"
	expect_ran "" "hooks run from a refused hooks file"
	[ ! -e "$MIGCTL_LOCK" ] || fail "the lock was taken with a refused hooks file"
	expect_state_unchanged "the node after a refused hooks file"
	# root's, not writable by others: accepted, read-only or not
	chown root "$HOOKS"
	chmod 600 "$HOOKS"
	mc 0 apply -f "$A100" -c all-enabled -k "$HOOKS"
	expect_ran "apply-start pre-apply-mode apply-exit"
	chmod 444 "$HOOKS"
	rm -f "$LOG"
	mc 0 apply -f "$A100" -c all-balanced -k "$HOOKS"
	expect_ran "apply-start pre-apply-config apply-exit"
	chmod 644 "$HOOKS"
}

t_root_refuses_a_symlink_to_a_file_others_can_write() {
	if [ "$(id -u)" -ne 0 ]; then
		skip "needs root"
		return
	fi
	node A100-SXM4-40GB
	all_points "$TEST_TMP/target.yaml"
	chmod 666 "$TEST_TMP/target.yaml"
	ln -sf "$TEST_TMP/target.yaml" "$TEST_TMP/link.yaml"
	state_save
	mc 1 apply -f "$A100" -c all-balanced -k "$TEST_TMP/link.yaml"
	expect_contains "$ERR" "refusing hooks file $TEST_TMP/link.yaml"
	expect_contains "$ERR" "mode 666"
	expect_ran ""
	expect_state_unchanged "the node after a refused hooks file"
}

t_unprivileged_user_may_use_a_hooks_file_of_its_own() {
	if [ "$(id -u)" -ne 0 ]; then
		skip "needs root (to run migctl as nobody)"
		return
	fi
	if ! command -v setpriv >/dev/null 2>&1; then
		skip "no setpriv"
		return
	fi
	# nobody reads a copy of the node and a hooks file it owns and anyone can write; the
	# check is root's only, so --dry-run (which reads the file but runs no hook) accepts it
	local pub="$TEST_TMP/pub" bin
	bin=$(others_bin) # the build may be where nobody cannot go
	mkdir -p "$pub"
	chmod 711 "$TEST_TMP"
	chmod 755 "$pub"
	node A100-SXM4-40GB
	cp "$MIGSIM_STATE" "$pub/state.json"
	cp "$A100" "$pub/config.yaml"
	chmod 644 "$pub/state.json" "$pub/config.yaml"
	all_points "$pub/hooks.yaml"
	chown nobody "$pub/hooks.yaml"
	chmod 666 "$pub/hooks.yaml"
	expect_rc 0 setpriv --reuid=nobody --regid=nogroup --clear-groups env MIGSIM_STATE="$pub/state.json" \
		"$bin/migctl" --sim apply --dry-run -f "$pub/config.yaml" -c all-balanced -k "$pub/hooks.yaml"
	expect_contains "$OUT" "Dry run: nothing was changed."
	# the file is read all the same: an error in it is reported to nobody too
	echo "version: v2" >>"$pub/hooks.yaml"
	expect_rc 1 setpriv --reuid=nobody --regid=nogroup --clear-groups env MIGSIM_STATE="$pub/state.json" \
		"$bin/migctl" --sim apply --dry-run -f "$pub/config.yaml" -c all-balanced -k "$pub/hooks.yaml"
	expect_contains "$ERR" "$pub/hooks.yaml:"
	# root refuses that same file
	MIGSIM_STATE="$pub/state.json" mc 1 apply --dry-run -f "$A100" -c all-balanced -k "$pub/hooks.yaml"
	expect_contains "$ERR" "refusing hooks file $pub/hooks.yaml"
	chmod 700 "$TEST_TMP"
	rm -rf "$pub"
}

# run_tests, with "# SKIP REASON" added to the tests that called skip
run_tests | while IFS= read -r line; do
	case "$line" in
	"ok "*)
		name=${line#ok * - }
		reason=$(awk -v t="$name" '$1 == t { $1 = ""; sub(/^ /, ""); print; exit }' "$TEST_TMP/skipped" 2>/dev/null)
		[ -n "$reason" ] && line="$line # SKIP $reason"
		;;
	esac
	echo "$line"
done
