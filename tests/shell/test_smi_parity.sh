#!/usr/bin/env bash
# nvidia-smi mig habits and refusals that explain themselves (issue 15): -lcipp, --force on
# -dci/-dgi, help that exits 0 (mig -h, COMMAND --help), nvidia-smi's words for empty listings
# and for MIG disabled, the hint after -cgi without -C, the per-profile instance limit ("N
# asked, at most M fit"), the +me/+me.all rules, a reset-required GPU's real next step, and
# the PCI device ids that a device-filter takes.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB

sim() { "$MIGSIM" "$@"; }

node() {
	sim init "$1" >/dev/null || fail "migsim init $1"
}

# ---- help ---------------------------------------------------------------------------------

t_mig_help_exits_0() {
	local h
	for h in -h --help; do
		mc 0 mig "$h"
		expect_contains "$OUT" "-lcipp, --list-compute-instance-possible-placements"
		expect_contains "$OUT" "--force"
		expect_eq "$ERR" "" "mig $h stderr"
	done
}

t_every_command_help_exits_0() {
	local cmd
	for cmd in list status mode profiles placements ci-profiles create create-ci destroy plan apply assert export; do
		mc 0 "$cmd" --help
		expect_contains "$OUT" "Usage: migctl [OPTIONS] $cmd"
		mc 0 help "$cmd"
		expect_contains "$OUT" "Usage: migctl [OPTIONS] $cmd"
	done
	mc 0 apply -f /nonexistent -h
	expect_contains "$OUT" "--mode-only"
	mc 2 help frobnicate
	expect_contains "$ERR" "unknown command 'frobnicate'"
}

t_help_has_no_blank_argument_lines() {
	mc 0 help
	# a command without arguments is one line: no line of only spaces in the command list
	if grep -qE '^ +$' <<<"$OUT"; then
		fail "migctl help has a line of only spaces: $(grep -nE '^ +$' <<<"$OUT" | head -3)"
	fi
	expect_contains "$OUT" "  list         GPUs and their MIG devices"
}

# ---- listings, nvidia-smi's words ---------------------------------------------------------

t_lgi_with_mig_disabled_says_so() {
	node A100-SXM4-40GB
	local a
	for a in -lgi -lci -lcipp -dci -dgi; do
		mc 1 mig "$a"
		expect_contains "$ERR" "No MIG-enabled devices found. MIG mode is disabled on GPU 0"
		expect_contains "$ERR" "migctl mode enable -i 0"
	done
	mc 1 --json mig -lgi
	expect_json_error "No MIG-enabled devices found"
}

t_after_cgi_without_C() {
	node A100-SXM4-40GB
	mc 0 mode enable
	mc 0 mig -cgi 9
	mc 1 mig -lci
	expect_contains "$ERR" "No compute instances found: Not Found"
	expect_contains "$ERR" "GPU 0 GPU instance 2 (3g.20gb) has no compute instance"
	expect_contains "$ERR" "migctl mig -cci -gi 2"
	mc 1 mig -dci
	expect_contains "$ERR" "No compute instances found: Not Found"
	expect_not_contains "$ERR" "no MIG instances"
	expect_contains "$ERR" "migctl mig -cci -gi 2"
	mc 0 mig -cci -gi 2
	mc 0 mig -lci
	expect_contains "$OUT" "MIG 3g.20gb"
	mc 0 mig -dci
	mc 0 mig -dgi
	mc 1 mig -lgi
	expect_contains "$ERR" "No GPU instances found: Not Found"
	mc 1 mig -dgi
	expect_contains "$ERR" "No GPU instances found: Not Found"
}

t_lcipp() {
	node A100-SXM4-40GB
	mc 0 mode enable
	mc 0 mig -cgi 9,19 -C
	mc 0 mig -lcipp
	expect_contains "$OUT" "GPU  0 GI  2 Profile ID  0 (1c.3g.20gb) Placements: {0,1,2}:1"
	expect_contains "$OUT" "GPU  0 GI  2 Profile ID  2 (3g.20gb) Placements: {0}:3"
	mc 0 mig -lcipp -gi 2
	expect_not_contains "$OUT" "1g.5gb"
	mc 0 --json mig --list-compute-instance-possible-placements -gi 2
	expect_eq "$(echo "$OUT" | json_eval "[(r['profile'], [p['start'] for p in r['placements']]) for r in d['compute_instance_placements']]")" \
		'[["1c.3g.20gb", [0, 1, 2]], ["2c.3g.20gb", [0]], ["3g.20gb", [0]]]' "-lcipp --json"
}

# -gip and -cip restrict the profile listings, as nvidia-smi's do.
t_gip_cip() {
	node A100-SXM4-40GB
	mc 0 mig -lgip -gip 19,9
	expect_contains "$OUT" "1g.5gb"
	expect_contains "$OUT" "3g.20gb"
	expect_not_contains "$OUT" "2g.10gb"
	mc 0 --json mig --list-gpu-instance-possible-placements --gpu-instance-profile 14
	expect_eq "$(echo "$OUT" | json_eval "[p['name'] for p in d['gpus'][0]['profiles']]")" '["2g.10gb"]' "-lgipp -gip 14"
	mc 0 profiles --profile 0
	expect_contains "$OUT" "7g.40gb"
	expect_not_contains "$OUT" "1g.5gb "
	mc 1 mig -lgip -gip 99
	expect_contains "$ERR" "no GPU instance profile with the ID given"
	mc 2 mig -lgi -gip 9
	expect_contains "$ERR" "-gip applies to -lgip and -lgipp only"
	mc 2 mig -lgip -gip x
	mc 0 mode enable
	mc 0 mig -cgi 9 -C
	mc 0 mig -lcip -cip 0
	expect_contains "$OUT" "1c.3g.20gb"
	expect_not_contains "$OUT" "2c.3g.20gb"
	mc 0 mig -lcipp -cip 1
	expect_eq "$OUT" "GPU  0 GI  2 Profile ID  1 (2c.3g.20gb) Placements: {0}:2" "-lcipp -cip 1"
	mc 0 ci-profiles --profile 2
	expect_contains "$OUT" "3g.20gb"
	expect_not_contains "$OUT" "1c.3g.20gb"
}

# The busy hint says "pass --force": mig -dci/-dgi take it (and the driver still decides).
t_dci_force() {
	node A100-SXM4-40GB
	mc 0 mode enable
	mc 0 mig -cgi 9 -C
	local uuid pid
	uuid=$("$MIGCTL" --sim --json list | json_eval "d['gpus'][0]['gpu_instances'][0]['compute_instances'][0]['uuid']")
	pid=$(sim proc start --uuid "$uuid")
	mc 1 mig -dci
	expect_contains "$ERR" "or pass --force"
	mc 1 mig -dci --force
	expect_not_contains "$ERR" "unknown or incomplete argument"
	expect_contains "$ERR" "In use"
	sim proc stop "$pid" >/dev/null
	mc 0 mig -dci --force
	mc 0 mig -dgi --force
	mc 2 mig -lgi --force
	expect_contains "$ERR" "--force goes with -dci and -dgi"
}

# ---- refusals that explain themselves -----------------------------------------------------

t_me_profile_allows_one_instance() {
	node RTX-PRO-6000
	mc 0 mode enable
	mc 1 create 1g.24gb+me,1g.24gb+me
	expect_contains "$ERR" "1g.24gb+me: 2 asked, at most 1 fits (a GPU holds at most 1 1g.24gb+me instance)"
	expect_contains "$ERR" "nothing was changed"
}

t_me_all_exclusivity() {
	node RTX-PRO-6000
	mc 0 mode enable
	mc 1 create 1g.24gb+me.all,1g.24gb
	expect_contains "$ERR" "1g.24gb+me.all takes every media engine of the GPU, so beside it only profiles without media engines (-me) fit (1g.24gb-me, 2g.48gb-me); 1g.24gb has media engines"
	mc 0 create 1g.24gb+me.all
	mc 1 create 1g.24gb
	expect_contains "$ERR" "so a limit blocks it: 1g.24gb+me.all takes every media engine"
	mc 0 create 1g.24gb-me
}

t_n_asked_at_most_m_fit() {
	node A100-SXM4-80GB
	printf 'version: v1\nmig-configs:\n  c:\n    - devices: all\n      mig-enabled: true\n      mig-devices: {"1g.10gb": 8}\n' \
		>"$TEST_TMP/8x.yaml"
	mc 1 plan -f "$TEST_TMP/8x.yaml"
	expect_contains "$ERR" "8 x 1g.10gb cannot fit together"
	expect_contains "$ERR" "1g.10gb: 8 asked, at most 7 fit (a GPU holds at most 7 1g.10gb instances)"
	expect_not_contains "$ERR" "1g.10gb,1g.10gb"
	mc 0 mode enable
	mc 1 create 3g.40gb,3g.40gb,3g.40gb
	expect_contains "$ERR" "3g.40gb: 3 asked, at most 2 fit"
	mc 0 create 3g.40gb
	mc 1 create 3g.40gb,3g.40gb
	expect_contains "$ERR" "3g.40gb: 2 asked beside the 1 already there, at most 1 fits"
}

t_reset_required_status_says_reset() {
	node H100-SXM5-80GB:reset-required
	mc 3 mode enable
	mc 0 status
	expect_contains "$OUT" "enable pending: the GPU needs a reset: run 'nvidia-smi --gpu-reset -i 0' (or reboot the node)"
	expect_not_contains "$OUT" "stop the GPU's processes"
	# with a process on it, stopping it is the step
	node A100-SXM4-40GB
	local pid
	pid=$(sim proc start --gpu 0)
	mc 3 mode enable
	mc 0 status
	expect_contains "$OUT" "enable pending: the GPU runs process $pid; stop it, then run 'migctl mode enable -i 0' again"
}

# ---- PCI device ids -----------------------------------------------------------------------

t_pci_device_ids_are_shown() {
	node A100-SXM4-40GB,A30
	mc 0 --json list
	expect_eq "$(echo "$OUT" | json_eval "[g['pci_device_id'] for g in d['gpus']]")" '["0x20B010DE", "0x20B710DE"]' "list --json"
	mc 0 --json status
	expect_eq "$(echo "$OUT" | json_eval "d['gpus'][1]['pci_device_id']")" "0x20B710DE" "status --json"
	mc 0 status
	expect_contains "$OUT" "device id 0x20B710DE"
	local models
	models=$(sim models --json)
	expect_eq "$(echo "$models" | json_eval "[m['pci_device_id'] for m in d if m['model'] == 'A30']")" '["0x20B710DE"]' "migsim models --json"
	expect_contains "$(sim models)" "0x20B010DE"
}

run_tests
