#!/usr/bin/env bash
# Read-only commands with -i read only the GPUs the selector names (mig_node_read_gpus): the
# NVML calls for one GPU do not depend on how many GPUs the node has, and what they print is
# what a whole-node read prints for those GPUs (their real indices included).
. "$(dirname "$0")/lib.sh"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB

# calls ARGS...: the NVML calls migctl --sim -v ARGS made (it must succeed)
calls() {
	local out
	out=$("$MIGCTL" --sim -v "$@" 2>&1 >/dev/null) || fail "migctl $* failed: $out"
	echo "$out" | sed -n 's/.*, \([0-9]*\) NVML calls$/\1/p'
}

# GPU 5 of 8 A100s (or GPU 0 of one) with MIG on, a 3g.20gb and two 1g.5gb instances
node_with() { # GPUS GPU
	"$MIGSIM" init "$1" >/dev/null || fail "migsim init $1"
	mc 0 mode enable -i "$2"
	mc 0 create 3g.20gb,1g.5gb,1g.5gb -C -i "$2"
}

field() { # INDEX FIELD: a field of GPU INDEX from list --json of the whole node
	"$MIGCTL" --sim list --json | json_eval "[g for g in d['gpus'] if g['index'] == $1][0]['$2']"
}

t_one_gpu_costs_the_same_on_any_node() {
	node_with 8xA100-SXM4-40GB 5
	local uuid8 by_index8 by_uuid8 by_pci8 whole
	uuid8=$(field 5 uuid)
	by_index8=$(calls status --json -i 5)
	by_uuid8=$(calls status --json -i "$uuid8")
	by_pci8=$(calls status --json -i "$(field 5 pci_bus_id)")
	whole=$(calls status --json)
	node_with A100-SXM4-40GB 0
	local by_index1 by_uuid1
	by_index1=$(calls status --json -i 0)
	by_uuid1=$(calls status --json -i "$(field 0 uuid)")
	echo "# status --json: -i 5 of 8 GPUs $by_index8 calls, -i 0 of 1 GPU $by_index1, by UUID $by_uuid8 / $by_uuid1, by PCI bus id $by_pci8, whole node of 8 $whole"
	expect_eq "$by_index8" "$by_index1" "calls for one GPU by index, 8-GPU node against 1-GPU node"
	expect_eq "$by_uuid8" "$by_uuid1" "calls for one GPU by UUID, 8-GPU node against 1-GPU node"
	expect_eq "$by_pci8" "$by_uuid8" "calls for one GPU by PCI bus id against by UUID"
	[ -n "$whole" ] && [ "$by_index8" -lt "$whole" ] || fail "-i 5 made $by_index8 calls, the whole node $whole"
	# the other read-only commands too
	local cmd
	for cmd in list profiles placements ci-profiles; do
		node_with 8xA100-SXM4-40GB 5
		by_index8=$(calls "$cmd" --json -i 5)
		node_with A100-SXM4-40GB 0
		by_index1=$(calls "$cmd" --json -i 0)
		expect_eq "$by_index8" "$by_index1" "$cmd: calls for one GPU, 8-GPU node against 1-GPU node"
	done
}

# same_as_whole CMD SELECTOR INDICES: CMD --json -i SELECTOR prints the whole node's document
# restricted to the GPUs of those indices (a python list)
same_as_whole() {
	local want got
	want=$("$MIGCTL" --sim "$1" --json | json_eval "dict(d, gpus=[g for g in d['gpus'] if g['index'] in $3])")
	mc 0 "$1" --json -i "$2"
	got=$(echo "$OUT" | json_eval "d")
	expect_eq "$got" "$want" "$1 --json -i $2"
}

t_output_is_the_whole_reads_for_those_gpus() {
	"$MIGSIM" init A100-SXM4-40GB,H100-SXM5-80GB,A30,A100-SXM4-40GB >/dev/null || fail "migsim init"
	mc 0 mode enable -i 1,2
	mc 0 create 3g.40gb,1g.10gb -C -i 1
	mc 0 create 2g.12gb -C -i 2
	local uuid2 pci1 cmd
	uuid2=$(field 2 uuid)
	pci1=$(field 1 pci_bus_id)
	for cmd in list status profiles placements ci-profiles; do
		same_as_whole "$cmd" 1 "[1]"
		same_as_whole "$cmd" "$uuid2" "[2]"
		same_as_whole "$cmd" "$pci1" "[1]"
		# a list: once each, in index order, however it is written
		same_as_whole "$cmd" "2,$pci1,1,$uuid2" "[1, 2]"
		# GPUs without instances have no compute instance profiles: ci-profiles says so
		[ "$cmd" = ci-profiles ] || same_as_whole "$cmd" "3,0" "[0, 3]"
	done
	# the text says the real index
	mc 0 status -i 2
	expect_contains "$OUT" "GPU 2: NVIDIA A30"
	expect_not_contains "$OUT" "GPU 0:"
	mc 0 list -i "$uuid2"
	expect_contains "$OUT" "GPU 2: NVIDIA A30 (UUID: $uuid2)"
	mc 0 ci-profiles -i 1
	expect_contains "$OUT" "GPU 1 GPU instance "
	expect_not_contains "$OUT" "GPU 2 GPU instance "
	# "all" is the whole node
	same_as_whole status all "[0, 1, 2, 3]"
}

t_selector_errors_are_those_of_a_whole_read() {
	"$MIGSIM" init 2xA100-SXM4-40GB >/dev/null || fail "migsim init"
	mc 1 status -i 2
	expect_eq "$ERR" "migctl: no GPU 2: this node has 2 GPUs (0-1)" "an index past the end"
	mc 1 list -i GPU-00000000-0000-0000-0000-000000000000
	expect_eq "$ERR" "migctl: no GPU has UUID GPU-00000000-0000-0000-0000-000000000000"
	mc 1 profiles -i 00000000:99:00.0
	expect_eq "$ERR" "migctl: no GPU at PCI bus id 00000000:99:00.0"
	# a selector that can name no GPU is a usage error, found before anything is read
	mc 2 status -i first
	expect_contains "$ERR" "'first' is not a GPU selector"
	mc 2 status -i 0,,1
	expect_contains "$ERR" "migctl: empty item in GPU selector '0,,1'"
	# a MIG device's UUID is not a GPU, although NVML finds a handle for it
	mc 0 mode enable -i 0
	mc 0 create 7g.40gb -C -i 0
	local mig
	mig=$("$MIGCTL" --sim list --json | json_eval "d['gpus'][0]['gpu_instances'][0]['compute_instances'][0]['uuid']" 2>/dev/null)
	case "$mig" in
	MIG-*)
		mc 1 status -i "$mig"
		expect_eq "$ERR" "migctl: no GPU has UUID $mig"
		;;
	*) fail "no MIG device UUID in list --json (got '$mig')" ;;
	esac
	# the same words as a command that reads the whole node
	mc 1 mode enable -i 2
	expect_eq "$ERR" "migctl: no GPU 2: this node has 2 GPUs (0-1)" "mode enable -i 2"
}

t_changes_still_read_the_whole_node() {
	# commands that change GPUs choose them by position in a whole read: -i 1 is GPU 1
	"$MIGSIM" init 2xA100-SXM4-40GB >/dev/null || fail "migsim init"
	mc 0 mode enable -i 1
	mc 0 create 1g.5gb -C -i 1
	mc 0 list --json
	expect_eq "$(echo "$OUT" | json_eval "[len(g['gpu_instances']) for g in d['gpus']]")" "[0, 1]" "instances per GPU"
	mc 0 destroy --all -i 1
	mc 0 status --json -i 1
	expect_eq "$(echo "$OUT" | json_eval "len(d['gpus'][0]['gpu_instances'])")" "0" "GPU 1's instances after destroy"
}

run_tests
