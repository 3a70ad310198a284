#!/usr/bin/env bash
# Every error a migctl user can hit, on the simulator: the exit status (1 failure, 2 usage,
# 3 MIG mode change pending), a message that says what is wrong and what to do, and a node
# that is exactly as it was before (compared with `migsim show --json`, without the
# simulator's bookkeeping). With --json a failure also prints {"error": {"message": ...}}.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB

A100_PROFILES="1g.5gb (19), 2g.10gb (14), 3g.20gb (9), 4g.20gb (5), 7g.40gb (0), 1g.5gb+me (20), 1g.10gb (15)"
PERMISSION_HINT="needs root or read access to /proc/driver/nvidia/capabilities/mig/config"

init_ok() {
	"$MIGSIM" init "$@" >/dev/null 2>"$TEST_TMP/init.err" || fail "migsim init $*: $(cat "$TEST_TMP/init.err")"
}

# refused RC ARGS...: migctl --sim ARGS exits RC with a message on stderr, and the node is
# unchanged. Without --json stdout stays empty; usage errors point at 'migctl help'.
refused() {
	local rc=$1
	shift
	state_save
	expect_rc "$rc" "$MIGCTL" --sim "$@"
	[ -n "$ERR" ] || fail "'migctl $*' failed without a message"
	case " $* " in
	*" --json "*) ;;
	*) [ -z "$OUT" ] || fail "'migctl $*' failed but printed on stdout: $OUT" ;;
	esac
	[ "$rc" -ne 2 ] || expect_contains "$ERR" "Try 'migctl help'."
	expect_state_unchanged "the node after 'migctl $*'"
}

sim() {
	"$MIGSIM" "$@" >"$TEST_TMP/sim.out" 2>&1 || fail "migsim $*: $(cat "$TEST_TMP/sim.out")"
	cat "$TEST_TMP/sim.out"
}

# An A100 with MIG on, 3g.20gb at 4:4 (GI 2) with its compute instance; MIG_UUID is its UUID.
a100_with_3g() {
	init_ok A100-SXM4-40GB
	mc 0 mode enable
	mc 0 create 3g.20gb -C
	MIG_UUID=$("$MIGSIM" show --json | json_eval "d['gpus'][0]['gpu_instances'][0]['compute_instances'][0]['uuid']")
}

# ---- profiles ------------------------------------------------------------------------------

t_profile_the_gpu_lacks() {
	a100_with_3g
	refused 1 create 2g.5gb
	expect_contains "$ERR" "GPU 0 (NVIDIA A100-SXM4-40GB) has no profile '2g.5gb'"
	expect_contains "$ERR" "did you mean 2g.10gb?"
	expect_contains "$ERR" "$A100_PROFILES"
	refused 1 create 3g.10gb -C
	expect_contains "$ERR" "did you mean 3g.20gb?"
	# an A30 profile on an A100, and an A100 profile on an H100
	refused 1 create 1g.6gb
	expect_contains "$ERR" "did you mean 1g.5gb?"
	refused 1 mig -cgi 1g.6gb -C
	expect_contains "$ERR" "did you mean 1g.5gb?"
	refused 1 --json create 2g.5gb
	expect_json_error "did you mean 2g.10gb?"
	expect_contains "$OUT" "1g.10gb (15)"
	init_ok H100-SXM5-80GB
	mc 0 mode enable
	refused 1 create 1g.5gb
	expect_contains "$ERR" "GPU 0 (NVIDIA H100 80GB HBM3) has no profile '1g.5gb'"
	expect_contains "$ERR" "did you mean 1g.10gb?"
	expect_contains "$ERR" "1g.10gb (19), 2g.20gb (14), 3g.40gb (9), 4g.40gb (5), 7g.80gb (0), 1g.10gb+me (20), 1g.20gb (15)"
}

t_profile_the_gpu_lacks_on_a_mixed_node() {
	init_ok A100-SXM4-40GB,A30
	mc 0 mode enable
	# fits the A100, not the A30: refused for both, nothing created on the A100
	refused 1 create 1g.5gb -C
	expect_contains "$ERR" "GPU 1 (NVIDIA A30) has no profile '1g.5gb'; did you mean 1g.6gb?"
	expect_contains "$ERR" "1g.6gb (14), 2g.12gb (5), 4g.24gb (0), 1g.6gb+me (21), 2g.12gb+me (6)"
	refused 1 mig -cgi 19
	expect_contains "$ERR" "GPU 1 (NVIDIA A30) has no profile with ID 19"
}

t_unknown_profile_syntax() {
	a100_with_3g
	local bad
	for bad in foo 3g 3g.20 20gb g.5gb; do
		refused 1 create "$bad"
		expect_contains "$ERR" "'$bad' is not a MIG profile name"
		expect_contains "$ERR" "expected [<c>c.]<g>g.<mem>gb"
		expect_contains "$ERR" "$A100_PROFILES"
	done
	refused 1 create 3g.20gb+xx
	expect_contains "$ERR" "'3g.20gb+xx' has an unknown suffix '+xx'; accepted: +me, +me.all, -me, +gfx"
	expect_contains "$ERR" "$A100_PROFILES"
	refused 1 mig -cgi foo
	expect_contains "$ERR" "'foo' is not a MIG profile name"
	# lists that are not lists
	for bad in "1g.5gb," ",1g.5gb" "1g.5gb,,2g.10gb" "," "1g.5gb,1g.5gb,1g.5gb,1g.5gb,1g.5gb,1g.5gb,1g.5gb,1g.5gb,1g.5gb"; do
		refused 2 create "$bad"
		expect_contains "$ERR" "is not a list of profiles: give up to 8, separated by commas"
	done
}

t_compute_instance_profile_given_to_create() {
	a100_with_3g
	refused 1 create 1c.3g.20gb
	expect_contains "$ERR" "'1c.3g.20gb' names a compute instance profile; give the GPU instance profile (3g.20gb) here"
	refused 1 mig -cgi 2c.3g.20gb -C
	expect_contains "$ERR" "give the GPU instance profile (3g.20gb) here"
	# and to create-ci the GPU instance's own name works (the full-size CI), others are listed
	refused 1 create-ci --gi 2 4c.3g.20gb
	expect_contains "$ERR" "GPU instance 2 (3g.20gb) on GPU 0 offers no compute instance profile '4c.3g.20gb'"
	expect_contains "$ERR" "it offers: 1c.3g.20gb (0), 2c.3g.20gb (1), 3g.20gb (2)"
}

t_numeric_profile_id_not_on_the_gpu() {
	a100_with_3g
	local id
	for id in 21 6 99 1000; do
		refused 1 create "$id"
		expect_contains "$ERR" "GPU 0 (NVIDIA A100-SXM4-40GB) has no profile with ID $id"
		expect_contains "$ERR" "$A100_PROFILES"
	done
	refused 1 mig -cgi 21,19 -C
	expect_contains "$ERR" "no profile with ID 21"
}

# ---- room ----------------------------------------------------------------------------------

t_no_room_names_the_blocking_instances() {
	a100_with_3g
	mc 0 create 3g.20gb -C # the second half: GI 1 at 0:4
	refused 1 create 2g.10gb
	expect_contains "$ERR" "no room for 2g.10gb on GPU 0 (NVIDIA A100-SXM4-40GB, 00000000:07:00.0)"
	expect_contains "$ERR" "in use: GI 1 (3g.20gb) at 0:4, GI 2 (3g.20gb) at 4:4"
	expect_contains "$ERR" "2g.10gb fits at 0:2 after destroying GI 1"
	expect_contains "$ERR" "2g.10gb fits at 4:2 after destroying GI 2"
	expect_contains "$ERR" "nothing was changed"
	refused 1 create 7g.40gb -C
	expect_contains "$ERR" "7g.40gb fits at 0:8 after destroying GI 1, GI 2"
	refused 1 mig -cgi 19 -C
	expect_contains "$ERR" "no room for 1g.5gb"
	refused 1 --json create 1g.10gb
	expect_json_error "1g.10gb fits at 6:2 after destroying GI 2"
}

# A limit (not an overlap) blocks the profile: the message must name the instance that holds
# the limit, never claim a spot "fits after destroying nothing".
t_no_room_because_of_a_profile_limit() {
	a100_with_3g
	mc 0 create 1g.5gb+me -C
	local gi
	gi=$("$MIGSIM" show --json | json_eval "[i['id'] for i in d['gpus'][0]['gpu_instances'] if i['profile'] == '1g.5gb+me'][0]")
	refused 1 create 1g.5gb+me
	expect_contains "$ERR" "no room for 1g.5gb+me"
	expect_contains "$ERR" "GI $gi (1g.5gb+me)"
	expect_not_contains "$ERR" "after destroying nothing"
}

t_profiles_that_cannot_fit_together() {
	init_ok A100-SXM4-40GB
	mc 0 mode enable
	refused 1 create 7g.40gb,1g.5gb
	expect_contains "$ERR" "7g.40gb,1g.5gb do not fit together on GPU 0 (NVIDIA A100-SXM4-40GB, 00000000:07:00.0) in any order or placement"
	expect_contains "$ERR" "nothing was changed"
	refused 1 create 4g.20gb,4g.20gb -C
	expect_contains "$ERR" "do not fit together"
	refused 1 create 1g.5gb+me,1g.5gb+me
	expect_contains "$ERR" "do not fit together"
	refused 1 create 3g.20gb,3g.20gb,1g.5gb
	expect_contains "$ERR" "do not fit together"
	mc 0 create 3g.20gb --placement 4 -C
	refused 1 mig -cgi 9,9 -C
	expect_contains "$ERR" "do not fit together"
	expect_contains "$ERR" "in use: GI 2 (3g.20gb) at 4:4"
}

# Beside an instance: name it, and say that destroying it would make room.
t_profiles_that_cannot_fit_beside_an_instance() {
	a100_with_3g
	refused 1 create 2g.10gb,2g.10gb,2g.10gb -C
	expect_contains "$ERR" "do not fit together"
	expect_contains "$ERR" "in use: GI 2 (3g.20gb) at 4:4"
	expect_contains "$ERR" "destroy"
}

t_placement_not_listed_or_occupied() {
	a100_with_3g
	refused 1 create 3g.20gb --placement 2
	expect_contains "$ERR" "3g.20gb has no placement starting at 2 on GPU 0 (NVIDIA A100-SXM4-40GB, 00000000:07:00.0); its placements are 0:4, 4:4"
	refused 1 create 1g.10gb --placement 1 -C
	expect_contains "$ERR" "its placements are 0:2, 2:2, 4:2, 6:2"
	refused 1 create 7g.40gb --placement 4
	expect_contains "$ERR" "its placements are 0:8"
	refused 1 create 1g.5gb --placement 5
	expect_contains "$ERR" "no room for 1g.5gb at 5:1"
	expect_contains "$ERR" "GI 2"
}

# A listed placement taken by GI 2: say so, and that 0:4 is free (no limit blocks it).
t_placement_occupied() {
	a100_with_3g
	refused 1 create 3g.20gb --placement 4 -C
	expect_contains "$ERR" "no room for 3g.20gb at 4:4 on GPU 0"
	expect_contains "$ERR" "GI 2 (3g.20gb) at 4:4"
	expect_contains "$ERR" "0:4"
	expect_contains "$ERR" "nothing was changed"
	expect_not_contains "$ERR" "a profile limit blocks it"
	expect_not_contains "$ERR" "after destroying nothing"
}

t_placement_usage() {
	a100_with_3g
	refused 2 create 3g.20gb,1g.5gb --placement 0
	expect_contains "$ERR" "--placement applies to one profile; for several, migctl finds placements itself"
	local bad
	for bad in x -1 65 "" 4x; do
		refused 2 create 1g.5gb --placement "$bad"
		expect_contains "$ERR" "--placement takes the start slice of a placement"
	done
	refused 2 create 1g.5gb --placement
}

# ---- MIG mode ------------------------------------------------------------------------------

t_mig_disabled() {
	init_ok A100-SXM4-40GB
	local cmd
	for cmd in "create 1g.5gb" "create 3g.20gb -C" "create 1g.5gb --placement 0" "create-ci --gi 2" \
		"mig -cgi 19 -C" "mig -cci -gi 2"; do
		# shellcheck disable=SC2086
		refused 1 $cmd
		expect_contains "$ERR" "MIG mode is disabled on GPU 0 (NVIDIA A100-SXM4-40GB, 00000000:07:00.0)"
		expect_contains "$ERR" "migctl mode enable -i 0"
	done
	refused 1 --json create 1g.5gb
	expect_json_error "migctl mode enable -i 0"
	# nothing to list or destroy: nvidia-smi's words, and what to do
	refused 1 mig -lgi
	expect_contains "$ERR" "No MIG-enabled devices found. MIG mode is disabled on GPU 0"
	expect_contains "$ERR" "migctl mode enable -i 0"
	refused 1 destroy --gi 1
	expect_contains "$ERR" "GPU instance"
	mc 0 destroy --all
	expect_contains "$OUT" "Nothing to destroy"
	# on a mixed node the one disabled GPU is named
	init_ok 2xA100-SXM4-40GB
	mc 0 -i 0 mode enable
	refused 1 create 1g.5gb
	expect_contains "$ERR" "MIG mode is disabled on GPU 1"
	expect_contains "$ERR" "migctl mode enable -i 1"
}

t_mig_enable_pending_while_in_use() {
	init_ok A100-SXM4-40GB
	local pid
	pid=$(sim proc start --gpu 0)
	expect_eq "$pid" 4100 "first fake pid"
	mc 3 mode enable
	expect_contains "$OUT" "Warning: MIG mode is in pending enable state for GPU 00000000:07:00.0"
	expect_contains "$OUT" "in use by processes $pid"
	expect_contains "$OUT" "migctl mode enable -i 0"
	expect_not_contains "$OUT" "All done."
	expect_eq "$("$MIGSIM" show --json | json_eval "d['gpus'][0]['mig_mode']")" \
		'{"current": "disabled", "pending": "enabled"}' "MIG mode after a pending enable"
	mc 3 --json mode enable
	expect_eq "$(echo "$OUT" | json_eval "[(g['result'], g['reason'], g['mig_mode']) for g in d['gpus']]")" \
		'[["pending", "in use", {"current": "disabled", "pending": "enabled"}]]' "--json mode enable"
	expect_contains "$(echo "$OUT" | json_eval "d['gpus'][0]['next_step']")" "$pid"
	mc 0 status
	expect_contains "$OUT" "MIG mode: disabled (enable pending"
	# while it waits, nothing can be created, and the message says why
	refused 1 create 1g.5gb -C
	expect_contains "$ERR" "MIG mode enable is pending on GPU 0"
	expect_contains "$ERR" "stop its processes or reset the GPU"
	expect_contains "$ERR" "nothing was changed"
	sim proc stop "$pid" >/dev/null
	mc 0 mode enable
	expect_contains "$OUT" "Enabled MIG Mode for GPU 00000000:07:00.0"
}

t_mig_enable_pending_until_reset() {
	init_ok A100-SXM4-40GB:reset-required
	mc 3 mode enable
	expect_contains "$OUT" "pending enable state"
	expect_contains "$OUT" "needs a reset"
	expect_contains "$OUT" "nvidia-smi --gpu-reset -i 0"
	mc 3 --json mode enable
	expect_eq "$(echo "$OUT" | json_eval "d['gpus'][0]['reason']")" "reset required" "reason"
	refused 1 create 1g.5gb
	expect_contains "$ERR" "reset the GPU"
	sim reset --gpu 0 >/dev/null
	mc 0 mode enable
	expect_contains "$OUT" "already enabled"
}

t_disable_with_instances() {
	a100_with_3g
	refused 1 mode disable
	expect_contains "$ERR" "GPU 0 (NVIDIA A100-SXM4-40GB, 00000000:07:00.0) still has 1 GPU instance"
	expect_contains "$ERR" "destroy them first (migctl destroy --all -i 0)"
	expect_contains "$ERR" "nothing was changed"
	refused 1 --json mode disable
	expect_json_error "destroy them first"
	# on a node, no GPU is changed when one of them has instances
	init_ok 2xA100-SXM4-40GB
	mc 0 mode enable
	mc 0 -i 1 create 1g.5gb
	refused 1 mode disable
	expect_contains "$ERR" "GPU 1 (NVIDIA A100-SXM4-40GB, 00000000:0F:00.0) still has 1 GPU instance"
	expect_contains "$ERR" "migctl destroy --all -i 1"
}

t_mode_usage() {
	init_ok A100-SXM4-40GB
	refused 2 mode
	expect_contains "$ERR" "mode: say 'enable' or 'disable'"
	refused 2 mode on
	refused 2 mode 1
	refused 2 mode enable disable
	expect_contains "$ERR" "(one word)"
}

# ---- permissions ---------------------------------------------------------------------------

t_unprivileged_caller() {
	# GPU 0: MIG on, GI 2 (3g) with a CI and GI 7 (1g) without; GPU 1: MIG off; GPU 2: MIG on, empty
	init_ok 3xA100-SXM4-40GB
	mc 0 mode enable -i 0,2
	mc 0 -i 0 create 3g.20gb -C
	mc 0 -i 0 create 1g.5gb --placement 0
	sim caller user >/dev/null
	local cmd
	# refused before any change is tried (mig_ctx_check_admin), in the administrator's words
	while read -r cmd; do
		# shellcheck disable=SC2086
		refused 1 $cmd
		expect_contains "$ERR" "$PERMISSION_HINT"
		expect_contains "$ERR" "run 'migsim caller root'"
	done <<'EOF'
-i 0 create 1g.5gb
-i 0 create 1g.5gb -C
-i 0 create 1g.5gb --placement 3
-i 0 create-ci --gi 7
-i 0 destroy --all
-i 0 destroy --gi 2
-i 0 destroy --gi 7
-i 0 destroy --gi 2 --ci 0
-i 0 destroy --gi 2 --force
-i 1 mode enable
-i 2 mode disable
-i 0 mig -cgi 19 -C
-i 0 mig -cci -gi 7
-i 0 mig -dci
-i 0 mig -dci -gi 2 -ci 0
-i 0 mig -dgi -gi 7
EOF
	refused 1 --json -i 1 mode enable
	expect_json_error "changing MIG mode needs root"
	expect_eq "$(echo "$OUT" | json_eval "d['error'].get('nvml_return', 'none')")" none "nvml_return (no NVML call failed)"
	# the driver's own refusal still says what to do
	sim caller root >/dev/null
	sim fault add nvmlDeviceSetMigMode NO_PERMISSION >/dev/null
	refused 1 --json -i 1 mode enable
	expect_json_error "Insufficient Permissions"
	expect_eq "$(echo "$OUT" | json_eval "d['error']['nvml_return']")" 4 "nvml_return of NO_PERMISSION"
	expect_contains "$ERR" "changing MIG mode needs root"
	sim fault clear >/dev/null
	sim caller user >/dev/null
	# reading works
	for cmd in list status profiles placements ci-profiles "mig -lgi" "mig -lci" "mig -lgip" "mig -lgipp" "mig -lcip"; do
		# shellcheck disable=SC2086
		mc 0 -i 0 $cmd
	done
	mc 0 -i 0 list
	expect_contains "$OUT" "MIG 3g.20gb"
}

t_unprivileged_process() {
	a100_with_3g
	local before
	before=$(sim_snapshot)
	MIGSIM_UNPRIVILEGED=1 expect_rc 1 "$MIGCTL" --sim create 1g.5gb -C
	expect_contains "$ERR" "$PERMISSION_HINT"
	MIGSIM_UNPRIVILEGED=1 expect_rc 1 "$MIGCTL" --sim destroy --all
	expect_contains "$ERR" "$PERMISSION_HINT"
	expect_unchanged "$before" "the node after unprivileged commands"
	MIGSIM_UNPRIVILEGED=1 expect_rc 0 "$MIGCTL" --sim status
}

# ---- the NVML library ----------------------------------------------------------------------

t_nvml_library_missing() {
	init_ok A100-SXM4-40GB
	local before
	before=$(sim_snapshot)
	expect_rc 1 "$MIGCTL" --nvml-lib /nonexistent/libnvidia-ml.so.1 list
	expect_contains "$ERR" "cannot load the NVML library /nonexistent/libnvidia-ml.so.1"
	expect_contains "$ERR" "MIGCTL_NVML_LIB"
	expect_contains "$ERR" "--sim"
	expect_eq "$OUT" "" "stdout"
	expect_rc 1 "$MIGCTL" --nvml-lib=/nonexistent/libnvidia-ml.so.1 create 1g.5gb -C
	expect_contains "$ERR" "MIGCTL_NVML_LIB"
	MIGCTL_NVML_LIB=/nonexistent/libnvidia-ml.so.1 expect_rc 1 "$MIGCTL" list
	expect_contains "$ERR" "cannot load the NVML library /nonexistent/libnvidia-ml.so.1"
	expect_contains "$ERR" "MIGCTL_NVML_LIB"
	expect_contains "$ERR" "--sim"
	MIGCTL_NVML_LIB=/nonexistent/libnvidia-ml.so.1 expect_rc 1 "$MIGCTL" --json mode enable
	expect_json_error "MIGCTL_NVML_LIB"
	# a file that is no shared object at all
	echo "not a library" >"$TEST_TMP/libnvidia-ml.so.1"
	expect_rc 1 "$MIGCTL" --nvml-lib "$TEST_TMP/libnvidia-ml.so.1" status
	expect_contains "$ERR" "cannot load the NVML library $TEST_TMP/libnvidia-ml.so.1"
	# --sim names the library itself: MIGCTL_NVML_LIB does not matter then
	MIGCTL_NVML_LIB=/nonexistent/libnvidia-ml.so.1 expect_rc 0 "$MIGCTL" --sim list
	expect_unchanged "$before" "the node"
}

t_library_that_is_not_nvml() {
	init_ok A100-SXM4-40GB
	expect_rc 1 "$MIGCTL" --nvml-lib libc.so.6 list
	expect_contains "$ERR" "libc.so.6 is not an NVML library"
	expect_contains "$ERR" "MIGCTL_NVML_LIB"
	MIGCTL_NVML_LIB=libc.so.6 expect_rc 1 "$MIGCTL" --json status
	expect_json_error "is not an NVML library"
}

# An empty path names nothing: a usage error (as for --sim=), not "migctl:  is not an NVML
# library".
t_empty_nvml_lib_path() {
	init_ok A100-SXM4-40GB
	expect_rc 2 "$MIGCTL" --nvml-lib= list
	expect_contains "$ERR" "--nvml-lib"
	expect_not_contains "$ERR" "migctl:  is not"
}

t_sim_and_nvml_lib_together() {
	init_ok A100-SXM4-40GB
	refused 2 --nvml-lib "$MIGSIM_LIB" list
	expect_contains "$ERR" "--sim and --nvml-lib both name a library; give one"
	expect_rc 2 "$MIGCTL" --nvml-lib="$MIGSIM_LIB" --sim=A30 mode enable
	expect_contains "$ERR" "give one"
	expect_rc 2 "$MIGCTL" --sim= list
	expect_contains "$ERR" "--sim= needs a GPU list"
	expect_rc 2 "$MIGCTL" --sim --nvml-lib
	expect_contains "$ERR" "--nvml-lib needs the path of libnvidia-ml.so.1"
}

# ---- GPU selectors -------------------------------------------------------------------------

t_selectors_that_match_nothing() {
	init_ok 2xA100-SXM4-40GB
	mc 0 mode enable
	local sel want cmd
	while IFS='|' read -r sel want; do
		for cmd in list "create 1g.5gb -C" "mode disable" "destroy --all"; do
			# shellcheck disable=SC2086
			refused 1 -i "$sel" $cmd
			expect_contains "$ERR" "$want"
		done
	done <<'EOF'
7|no GPU 7: this node has 2 GPUs (0-1)
0,7|no GPU 7: this node has 2 GPUs (0-1)
GPU-00000000-0000-0000-0000-000000000000|no GPU has UUID GPU-00000000-0000-0000-0000-000000000000
00000000:99:00.0|no GPU at PCI bus id 00000000:99:00.0
EOF
	# a selector that cannot name a GPU at all is a usage error (exit 2, as migctl(8) says)
	while IFS='|' read -r sel want; do
		for cmd in list "create 1g.5gb -C" "mode disable" "destroy --all" "mig -lgi"; do
			# shellcheck disable=SC2086
			refused 2 -i "$sel" $cmd
			expect_contains "$ERR" "$want"
		done
	done <<'EOF'
foo|'foo' is not a GPU selector; use an index (0), a list (0,2), all, a GPU UUID or a PCI bus id
abc|'abc' is not a GPU selector
-1|'-1' is not a GPU selector
0,abc|'abc' is not a GPU selector
0,,1|empty item in GPU selector '0,,1'
1,|empty item in GPU selector '1,'
|empty GPU selector
EOF
	refused 1 --json --gpu=9 status
	expect_json_error "no GPU 9"
	refused 2 list -i
	expect_contains "$ERR" "-i needs a GPU selector"
	refused 2 --gpu
	# the selectors that do match
	mc 0 -i 0f:00.0 list
	expect_contains "$OUT" "GPU 1:"
	expect_not_contains "$OUT" "GPU 0:"
}

# ---- instances in use ----------------------------------------------------------------------

t_instance_in_use() {
	a100_with_3g
	mc 0 create 2g.10gb -C # GI 3 at 0:2, no process
	local pid
	pid=$(sim proc start --uuid "$MIG_UUID")
	local cmd
	for cmd in "destroy --gi 2" "destroy --all" "destroy --gi 2 --ci 0" "destroy --gi 2,3" "mig -dci" "mig -dci -gi 2 -ci 0"; do
		# shellcheck disable=SC2086
		refused 1 $cmd
		expect_contains "$ERR" "GPU 0 GPU instance 2 compute instance 0 ($MIG_UUID) runs process $pid"
		expect_contains "$ERR" "stop it first, or pass --force"
		expect_contains "$ERR" "nothing was changed"
	done
	refused 1 mig -dgi -gi 2
	expect_contains "$ERR" "GPU 0 GPU instance 2 still has 1 compute instance; destroy them first (migctl mig -dci -gi 2 -i 0)"
	# --force asks the driver, which refuses: its IN_USE is reported, and nothing is destroyed
	refused 1 destroy --gi 2 --force
	expect_contains "$ERR" "In use by another client"
	expect_contains "$ERR" "something still uses it"
	refused 1 --json destroy --gi 2 --force
	expect_eq "$(echo "$OUT" | json_eval "d['error']['nvml_return']")" 19 "nvml_return of IN_USE"
	# with several processes, all are named
	local pid2
	pid2=$(sim proc start --uuid "$MIG_UUID")
	refused 1 destroy --gi 2
	expect_contains "$ERR" "runs processes $pid, $pid2; stop them first"
}

# --force over a busy instance that comes after free ones: the free ones go, and the message
# says that something was destroyed (no "nothing was changed").
t_forced_destroy_reports_what_it_did() {
	a100_with_3g
	mc 0 create 2g.10gb -C
	local uuid3
	uuid3=$("$MIGSIM" show --json | json_eval "[c['uuid'] for i in d['gpus'][0]['gpu_instances'] if i['id'] == 3 for c in i['compute_instances']][0]")
	sim proc start --uuid "$uuid3" >/dev/null
	mc 1 destroy --all --force
	expect_contains "$ERR" "In use by another client"
	expect_contains "$ERR" "1 of 4 instances were destroyed before this; see 'migctl status'"
	expect_not_contains "$ERR" "nothing was changed"
	expect_contains "$OUT" "Destroyed compute instance 0 (3g.20gb) in GPU instance 2"
}

# ---- create-ci -----------------------------------------------------------------------------

t_create_ci_errors() {
	a100_with_3g
	mc 0 create 2g.10gb # GI 3 without compute instances
	refused 1 create-ci --gi 5
	expect_contains "$ERR" "GPU 0 (NVIDIA A100-SXM4-40GB, 00000000:07:00.0) has no GPU instance 5; see 'migctl status -i 0'"
	refused 1 mig -cci 0 -gi 5
	expect_contains "$ERR" "has no GPU instance 5"
	refused 1 create-ci --gi 3 3c.2g.10gb
	expect_contains "$ERR" "GPU instance 3 (2g.10gb) on GPU 0 offers no compute instance profile '3c.2g.10gb'; it offers: 1c.2g.10gb (0), 2g.10gb (1)"
	refused 1 create-ci --gi 3 7
	expect_contains "$ERR" "offers no compute instance profile '7'"
	refused 1 create-ci --gi 3 1c.2g.10gb,bogus
	expect_contains "$ERR" "offers no compute instance profile 'bogus'"
	refused 1 mig -cci 5 -gi 3
	expect_contains "$ERR" "it offers: 1c.2g.10gb (0), 2g.10gb (1)"
	# more than the GI holds: refused before anything is created
	refused 1 create-ci --gi 3 1c.2g.10gb,1c.2g.10gb,1c.2g.10gb
	expect_contains "$ERR" "GPU instance 3 (2g.10gb) on GPU 0 has room for 2 more 1c.2g.10gb compute instances, not 3"
	# the driver refusing the second: the first is rolled back
	sim fault add nvmlGpuInstanceCreateComputeInstanceWithPlacement INSUFFICIENT_RESOURCES --nth 2 >/dev/null
	refused 1 create-ci --gi 3 1c.2g.10gb,1c.2g.10gb
	expect_contains "$ERR" "Insufficient Resources"
	expect_contains "$ERR" "rolled back the 1 compute instance(s)"
	sim fault clear >/dev/null
	# usage
	refused 2 create-ci
	expect_contains "$ERR" "create-ci: which GPU instance? --gi ID"
	refused 2 create-ci --gi 15
	expect_contains "$ERR" "--gi takes a GPU instance id (0-14), got '15'"
	refused 2 create-ci --gi x
	refused 2 create-ci --gi 3 1c.2g.10gb 2g.10gb
	expect_contains "$ERR" "one comma-separated list"
	refused 2 create-ci --gi 3 --bogus
	refused 2 create-ci --gi 3 1c.2g.10gb,
}

# A GI whose compute slices are all taken by its compute instance: say so and what to do,
# not only the driver's "Insufficient Resources".
t_create_ci_in_a_full_gpu_instance() {
	a100_with_3g
	refused 1 create-ci --gi 2
	expect_contains "$ERR" "GPU instance 2 (3g.20gb) on GPU 0 has room for 0 more 3g.20gb compute instances"
	expect_contains "$ERR" "its compute instances: 0 (3g.20gb at 0:3)"
	expect_contains "$ERR" "destroy"
	refused 1 create-ci --gi 2 1c.3g.20gb
	expect_contains "$ERR" "destroy"
}

t_create_ci_with_several_gpus_and_no_selector() {
	init_ok 2xA100-SXM4-40GB
	mc 0 mode enable
	mc 0 create 3g.20gb
	refused 1 create-ci --gi 2
	expect_contains "$ERR" "create-ci: instance ids are per GPU; choose one GPU with -i (this node has 2)"
	refused 1 mig -cci -gi 2
	expect_contains "$ERR" "choose one GPU with -i"
	mc 0 create-ci --gi 2 -i 1
}

# ---- destroy -------------------------------------------------------------------------------

t_destroy_missing_instances() {
	a100_with_3g
	refused 1 destroy --gi 5
	expect_contains "$ERR" "GPU instance 5"
	expect_contains "$ERR" "see 'migctl status'"
	refused 1 destroy --gi 2 --ci 3
	expect_contains "$ERR" "compute instance 3"
	refused 1 destroy --ci 4
	expect_contains "$ERR" "compute instance 4"
	refused 1 mig -dgi -gi 5
	expect_contains "$ERR" "GPU instance 5"
	refused 1 mig -dci -gi 2 -ci 5
	expect_contains "$ERR" "compute instance 5"
	refused 1 --json destroy --gi 9
	expect_json_error "GPU instance 9"
}

# One of the listed instances is missing: a typo must not destroy the others. Refuse the
# whole command (destroy checks every target first) and name the missing one.
t_destroy_list_with_a_missing_instance() {
	local cmd want
	while IFS='|' read -r cmd want; do
		a100_with_3g
		mc 0 create 1g.5gb --placement 0 # GI 7, no compute instance
		# shellcheck disable=SC2086
		refused 1 $cmd
		expect_contains "$ERR" "$want"
	done <<'EOF2'
destroy --gi 2,5|GPU instance 5
destroy --gi 7,5|GPU instance 5
destroy --gi 2 --ci 0,3|compute instance 3
mig -dgi -gi 7,5|GPU instance 5
mig -dci -gi 2 -ci 0,3|compute instance 3
EOF2
}

t_destroy_usage() {
	a100_with_3g
	refused 2 destroy
	expect_contains "$ERR" "destroy: say what: --gi ID, --ci ID (with or without --gi), or --all"
	refused 2 destroy --all --gi 2
	expect_contains "$ERR" "--all already means every instance; drop --gi/--ci"
	refused 2 destroy --gi x
	expect_contains "$ERR" "--gi takes GPU instance ids"
	refused 2 destroy --gi 2,
	refused 2 destroy --ci -1
	refused 2 destroy --gi
	expect_contains "$ERR" "unknown or incomplete argument '--gi'"
	refused 2 destroy --gi 2 --bogus
}

# ---- listing what is not there ------------------------------------------------------------

t_listing_errors() {
	init_ok A100-SXM4-40GB
	mc 0 mode enable
	refused 1 ci-profiles
	expect_contains "$ERR" "no GPU instances on the selected GPUs"
	expect_contains "$ERR" "create one first (migctl create PROFILE)"
	refused 1 mig -lcip
	refused 1 mig -lgi
	expect_contains "$ERR" "No GPU instances found: Not Found"
	refused 1 --json mig -lci
	expect_json_error "No compute instances found"
	mc 0 create 3g.20gb
	refused 1 ci-profiles --gi 5
	expect_contains "$ERR" "no such GPU instance on the selected GPUs; see 'migctl status'"
	refused 1 mig -lcip -gi 5
	expect_contains "$ERR" "no such GPU instance"
	refused 1 mig -lci
	expect_contains "$ERR" "No compute instances found: Not Found"
	refused 1 mig -lgi -gi 5
	expect_contains "$ERR" "No GPU instances found"
}

# ---- the driver says no ------------------------------------------------------------------

t_driver_errors_get_a_hint() {
	a100_with_3g
	sim fault add nvmlDeviceGetHandleByIndex GPU_IS_LOST --always >/dev/null
	refused 1 list
	expect_contains "$ERR" "GPU is lost"
	expect_contains "$ERR" "the GPU has fallen off the bus: check dmesg, then reset the GPU or reboot"
	refused 1 --json create 1g.5gb
	expect_eq "$(echo "$OUT" | json_eval "d['error']['nvml_return']")" 15 "nvml_return of GPU_IS_LOST"
	sim fault clear >/dev/null
	sim fault add nvmlDeviceCreateGpuInstanceWithPlacement NOT_SUPPORTED >/dev/null
	mc 1 create 1g.5gb -C
	expect_contains "$ERR" "Not Supported"
	expect_contains "$ERR" "is MIG mode enabled on this GPU? See 'migctl status'"
	sim fault clear >/dev/null
	sim fault add nvmlGpuInstanceDestroy IN_USE >/dev/null
	mc 1 destroy --all
	expect_contains "$ERR" "In use by another client; something still uses it"
	expect_contains "$ERR" "1 of 2 instances were destroyed before this"
}

t_sim_without_simulator() {
	mkdir -p "$TEST_TMP/bin"
	cp "$MIGCTL" "$TEST_TMP/bin/migctl"
	# libmig.so.0 goes along (migctl finds it beside itself); the simulator does not
	[ -e "$(dirname "$MIGCTL")/libmig.so.0" ] && cp -L "$(dirname "$MIGCTL")/libmig.so.0" "$TEST_TMP/bin/"
	expect_rc 1 "$TEST_TMP/bin/migctl" --sim list
	expect_contains "$ERR" "--sim: no simulator next to this migctl"
	expect_contains "$ERR" "build it with 'make'"
	[ -e "$MIGSIM_STATE" ] && fail "a failed --sim created a state file"
}

# ---- usage ---------------------------------------------------------------------------------

t_unknown_command_or_option() {
	a100_with_3g
	refused 2 frobnicate
	expect_contains "$ERR" "unknown command 'frobnicate'"
	refused 2 --frobnicate list
	expect_contains "$ERR" "unknown command '--frobnicate'"
	refused 2 list --frobnicate
	expect_contains "$ERR" "list: unexpected argument '--frobnicate'"
	refused 2 status extra
	refused 2 profiles extra
	refused 2 placements extra
	refused 2 ci-profiles --gi x
	refused 2 ci-profiles extra
	refused 2 create
	expect_contains "$ERR" "create: which profiles?"
	refused 2 create 1g.5gb --bogus
	expect_contains "$ERR" "create: unknown option '--bogus'"
	refused 2 create 1g.5gb 2g.10gb
	expect_contains "$ERR" "one comma-separated list"
	refused 2 --json frobnicate
	expect_rc 2 "$MIGCTL"
	expect_contains "$ERR" "no command given"
	# help is no error
	mc 0 help
	expect_contains "$OUT" "Exit status: 0 ok, 1 failure"
	mc 0 --help
	mc 0 -h
}

t_mig_usage() {
	a100_with_3g
	refused 2 mig
	expect_contains "$ERR" "mig: which action? -lgip, -lgipp, -lcip, -lcipp, -lgi, -lci, -cgi, -cci, -dci or -dgi"
	refused 2 mig -lgi -lci
	expect_contains "$ERR" "mig: one action at a time ('-lci' after another)"
	refused 2 mig -cgi 19 -dgi
	expect_contains "$ERR" "one action at a time"
	refused 2 mig -C
	expect_contains "$ERR" "mig: -C goes with -cgi"
	refused 2 mig -lgi -C
	expect_contains "$ERR" "-C goes with -cgi"
	refused 2 mig -cci 0 -C -gi 2
	expect_contains "$ERR" "-C goes with -cgi"
	refused 2 mig -cci
	expect_contains "$ERR" "mig: -cci needs one GPU instance: -gi ID"
	refused 2 mig -cci 0
	expect_contains "$ERR" "-cci needs one GPU instance"
	refused 2 mig -cci -gi 2,3
	expect_contains "$ERR" "-cci needs one GPU instance"
	refused 2 mig -cgi
	expect_contains "$ERR" "mig: -cgi needs a list of profiles, e.g. -cgi 9,14 or -cgi 3g.20gb"
	refused 2 mig -cgi -C
	expect_contains "$ERR" "-cgi needs a list of profiles"
	refused 2 mig -dgi -ci 0
	expect_contains "$ERR" "-ci"
	refused 2 mig -lgi -gi x
	expect_contains "$ERR" "takes GPU instance ids"
	refused 2 mig -dci -ci x
	refused 2 mig -lgi --bogus
	expect_contains "$ERR" "mig: unknown or incomplete argument '--bogus'"
}

# ---- a fault half way ----------------------------------------------------------------------

t_fault_in_the_middle_of_a_create_rolls_back() {
	init_ok A100-SXM4-40GB
	mc 0 mode enable
	local before
	before=$(sim_snapshot)
	# the second GPU instance fails
	sim fault add nvmlDeviceCreateGpuInstanceWithPlacement INSUFFICIENT_RESOURCES --nth 2 >/dev/null
	mc 1 create 3g.20gb,2g.10gb -C
	expect_contains "$ERR" "Unable to create a GPU instance on GPU 0 using profile 14"
	expect_contains "$ERR" "Insufficient Resources"
	expect_contains "$ERR" "rolled back the 1 GPU instance(s) this command had created; nothing was changed"
	expect_eq "$OUT" "" "stdout"
	expect_unchanged "$before" "the GPU after a rolled-back create"
	# the second compute instance fails: both GPU instances go again
	sim fault clear >/dev/null
	sim fault add nvmlGpuInstanceCreateComputeInstanceWithPlacement UNKNOWN --nth 2 >/dev/null
	mc 1 --json create 3g.20gb,2g.10gb,1g.5gb -C
	expect_json_error "Unknown Error"
	expect_contains "$ERR" "rolled back the 2 GPU instance(s)"
	expect_unchanged "$before" "the GPU after a rolled-back create -C"
	# the nvidia-smi spelling rolls back the same way
	sim fault clear >/dev/null
	sim fault add nvmlDeviceCreateGpuInstanceWithPlacement INSUFFICIENT_RESOURCES --nth 3 >/dev/null
	mc 1 mig -cgi 19,19,19 -C
	expect_contains "$ERR" "rolled back the 2 GPU instance(s)"
	expect_unchanged "$before" "the GPU after a rolled-back mig -cgi"
	sim fault clear >/dev/null
	mc 0 create 3g.20gb,2g.10gb -C
}

t_fault_in_the_middle_of_create_ci_rolls_back() {
	a100_with_3g
	mc 0 create 3g.20gb --placement 0
	local before
	before=$(sim_snapshot)
	sim fault add nvmlGpuInstanceCreateComputeInstanceWithPlacement UNKNOWN --nth 3 >/dev/null
	mc 1 create-ci --gi 1 1c.3g.20gb,1c.3g.20gb,1c.3g.20gb
	expect_contains "$ERR" "Unknown Error"
	expect_contains "$ERR" "rolled back the 2 compute instance(s)"
	expect_unchanged "$before" "the GPU after a rolled-back create-ci"
}

# A roll back that itself fails must not claim that nothing changed.
t_failed_roll_back_is_reported() {
	init_ok A100-SXM4-40GB
	mc 0 mode enable
	sim fault add nvmlDeviceCreateGpuInstanceWithPlacement INSUFFICIENT_RESOURCES --nth 2 >/dev/null
	sim fault add nvmlGpuInstanceDestroy UNKNOWN --always >/dev/null
	mc 1 create 3g.20gb,2g.10gb
	expect_contains "$ERR" "Insufficient Resources"
	expect_contains "$ERR" "could not roll back 1 instance(s) this command had created"
	expect_not_contains "$ERR" "nothing was changed"
}

# A mode change on a node that fails on the second GPU says the first one was changed.
t_fault_in_a_node_wide_mode_change() {
	init_ok 2xA100-SXM4-40GB
	sim fault add nvmlDeviceSetMigMode UNKNOWN --nth 2 >/dev/null
	mc 1 mode enable
	expect_contains "$ERR" "enabling MIG mode on GPU 1: Unknown Error"
	expect_contains "$ERR" "1 GPU(s) before GPU 1 were changed; see 'migctl status'"
	expect_eq "$("$MIGSIM" show --json | json_eval "[g['mig_mode']['current'] for g in d['gpus']]")" \
		'["enabled", "disabled"]' "MIG modes after the fault"
}

# ---- the simulator's state file ------------------------------------------------------------

t_corrupt_state_file() {
	init_ok A100-SXM4-40GB
	printf '{"broken' >"$MIGSIM_STATE"
	local sum
	sum=$(file_sum "$MIGSIM_STATE")
	# the simulator says why on stderr (unless MIGSIM_QUIET)
	expect_rc 1 env -u MIGSIM_QUIET "$MIGCTL" --sim list
	expect_contains "$ERR" "is not a valid simulator state"
	expect_contains "$ERR" "line 1"
	expect_contains "$ERR" "$MIGSIM_STATE"
	env -u MIGSIM_QUIET "$MIGCTL" --sim create 1g.5gb -C >/dev/null 2>&1
	expect_eq "$?" 1 "exit status of create on a corrupt state"
	expect_eq "$(file_sum "$MIGSIM_STATE")" "$sum" "the corrupt state file after migctl"
	expect_rc 1 "$MIGCTL" --sim --json list
	expect_json_error "initialising NVML"
	expect_rc 1 "$MIGCTL" --sim mode enable
	expect_eq "$(file_sum "$MIGSIM_STATE")" "$sum" "the corrupt state file after migctl"
	# another file's format
	echo '{"hello": "world"}' >"$MIGSIM_STATE"
	sum=$(file_sum "$MIGSIM_STATE")
	expect_rc 1 env -u MIGSIM_QUIET "$MIGCTL" --sim status
	expect_contains "$ERR" "$MIGSIM_STATE"
	expect_eq "$(file_sum "$MIGSIM_STATE")" "$sum" "the foreign state file after migctl"
}

# migctl's own message carries the reason too (the simulator exports migsimGetLastError for
# this): where the simulator is quiet, and in --json, "Unknown Error" alone says nothing.
t_corrupt_state_reason_in_migctl_message() {
	init_ok A100-SXM4-40GB
	printf '{"broken' >"$MIGSIM_STATE"
	expect_rc 1 "$MIGCTL" --sim --json list
	expect_json_error "not a valid simulator state"
	expect_rc 1 "$MIGCTL" --sim mode enable
	expect_contains "$ERR" "not a valid simulator state"
}

run_tests
