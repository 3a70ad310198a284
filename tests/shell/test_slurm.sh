#!/usr/bin/env bash
# migctl slurm gres | task-prolog (issue 14), against the simulator: the gres.conf records of
# the live layout, --output's atomic write, --check, the Gres= value, every refusal; the task
# prolog's mapping of Slurm's indexes to MIG UUIDs and its failures; Slurm's own parser
# (slurmd -G) reading back every type name. Then real Slurm 22.05 clusters (Debian's munged,
# slurmctld, slurmd; one node, and two nodes in network and mount namespaces of their own with
# their own simulated GPUs): jobs asking for profiles get exactly the MIG device of that
# profile, a profile no node has is refused by Slurm, a stale gres.conf fails the task, and
# under ConstrainDevices=yes a task opens only its own MIG device's nodes.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGSIM_TRACE MIGSIM_ROOT
unset SLURM_STEP_GPUS SLURM_JOB_GPUS CUDA_VISIBLE_DEVICES
export MIGCTL_CONF="$TEST_TMP/none.conf" # never the machine's /etc/migctl/migctl.conf
export MIGCTL_LOCK="$TEST_TMP/apply.lock" MIGCTL_JOURNAL="$TEST_TMP/journal.json"
ROOT="$MIGSIM_STATE.root"

sim() { "$MIGSIM" "$@"; }



# one A100 in MIG mode (3g.20gb, 2g.10gb, 1g.5gb, 1g.5gb) and one with MIG off
setup_node() {
	sim init 2xA100-SXM4-40GB >/dev/null
	mc 0 -i 0 mode enable
	mc 0 -i 0 create 3g.20gb,2g.10gb,1g.5gb,1g.5gb -C
}

# devices GPU|all: "GI CI UUID PROFILE" of each MIG device, from list --json
devices() {
	"$MIGCTL" --sim --json list | python3 -c '
import json, sys
for gpu in json.load(sys.stdin)["gpus"]:
    if sys.argv[1] != "all" and gpu["index"] != int(sys.argv[1]): continue
    for gi in gpu["gpu_instances"]:
        for ci in gi["compute_instances"]: print(gi["id"], ci["id"], ci["uuid"], ci["profile"])
' "$1"
}

# uuid_of GPU GI CI: the MIG device's UUID
uuid_of() {
	devices "$1" | awk -v gi="$2" -v ci="$3" '$1==gi && $2==ci {print $3}'
}

gpu_uuid() {
	"$MIGCTL" --sim --json list | python3 -c 'import json,sys; print(json.load(sys.stdin)["gpus"][int(sys.argv[1])]["uuid"])' "$1"
}

t_gres_records_follow_the_layout() {
	setup_node
	expect_rc 0 "$MIGCTL" --sim slurm gres
	local recs
	recs=$(grep -v '^#' <<<"$OUT")
	expect_eq "$(wc -l <<<"$recs")" 5 "records"
	expect_eq "$(sed -n 1p <<<"$recs")" \
		"Name=gpu Type=3g.20gb MultipleFiles=/dev/nvidia0,/dev/nvidia-caps/nvidia-cap21,/dev/nvidia-caps/nvidia-cap22"
	expect_eq "$(sed -n 5p <<<"$recs")" "Name=gpu Type=a100-sxm4-40gb File=/dev/nvidia1"
	expect_contains "$OUT" "# Gres=gpu:3g.20gb:1,gpu:2g.10gb:1,gpu:1g.5gb:2,gpu:a100-sxm4-40gb:1"
	# every record's capability numbers are the driver's mig-minors lines of its GI and CI
	local minors="$ROOT/proc/driver/nvidia-caps/mig-minors" gi ci
	while read -r gi ci; do
		expect_contains "$recs" "nvidia-cap$(awk -v k="gpu0/gi$gi/access" '$1==k{print $2}' "$minors"),"
		expect_contains "$recs" "nvidia-cap$(awk -v k="gpu0/gi$gi/ci$ci/access" '$1==k{print $2}' "$minors")"
		expect_contains "$OUT" "$(uuid_of 0 "$gi" "$ci")"
	done < <(devices 0 | cut -d' ' -f1,2)
	expect_rc 0 "$MIGCTL" --sim slurm gres --gres-value
	expect_eq "$OUT" "gpu:3g.20gb:1,gpu:2g.10gb:1,gpu:1g.5gb:2,gpu:a100-sxm4-40gb:1"
	expect_rc 0 "$MIGCTL" --sim --json slurm gres
	expect_eq "$(json_eval 'len(d["records"])' <<<"$OUT")" 5
	expect_eq "$(json_eval 'd["records"][3]["type"]' <<<"$OUT")" "1g.5gb"
	expect_eq "$(json_eval 'd["records"][4]["gpu_instance"]' <<<"$OUT")" "null"
	# a compute instance smaller than its GPU instance is typed by its own profile
	mc 0 -i 0 destroy --all
	mc 0 -i 0 create 3g.20gb
	mc 0 -i 0 create-ci --gi 2 1c.3g.20gb,1c.3g.20gb
	expect_rc 0 "$MIGCTL" --sim slurm gres --gres-value
	expect_contains "$OUT" "gpu:1c.3g.20gb:2,gpu:a100-sxm4-40gb:1"
}

t_gres_output_is_atomic_and_check_compares() {
	setup_node
	local f="$TEST_TMP/etc/gres.conf"
	mkdir -p "$TEST_TMP/etc"
	expect_rc 4 "$MIGCTL" --sim slurm gres --output "$f" --check
	expect_contains "$OUT" "does not exist"
	[ ! -e "$f" ] || fail "--check wrote the file"
	expect_rc 0 "$MIGCTL" --sim slurm gres --output "$f"
	expect_contains "$OUT" "Wrote $f: 5 GPU record(s)"
	expect_contains "$OUT" "Gres=gpu:3g.20gb:1,gpu:2g.10gb:1,gpu:1g.5gb:2,gpu:a100-sxm4-40gb:1"
	expect_eq "$(stat -c %a "$f")" 644 "mode"
	expect_eq "$(cat "$f")" "$("$MIGCTL" --sim slurm gres)" "file = standard output"
	expect_eq "$(ls -A "$TEST_TMP/etc")" "gres.conf" "no temporary file left"
	local ino
	ino=$(stat -c %i "$f")
	expect_rc 0 "$MIGCTL" --sim slurm gres --output "$f"
	expect_contains "$OUT" "Kept $f"
	expect_eq "$(stat -c %i "$f")" "$ino" "a current file is not rewritten"
	expect_rc 0 "$MIGCTL" --sim slurm gres --output "$f" --check
	expect_contains "$OUT" "is current"
	expect_rc 0 "$MIGCTL" --sim --json slurm gres --output "$f" --check
	expect_eq "$(json_eval 'd["current"]' <<<"$OUT")" true
	# a change makes it stale; --check says so, exit 4, and leaves it
	mc 0 -i 0 destroy --all
	mc 0 -i 0 create 7g.40gb -C
	local before
	before=$(file_sum "$f")
	expect_rc 4 "$MIGCTL" --sim slurm gres --output "$f" --check
	expect_contains "$OUT" "differs from the node from line 3"
	expect_rc 4 "$MIGCTL" --sim --json slurm gres --output "$f" --check
	expect_eq "$(json_eval 'd["current"]' <<<"$OUT")" false
	expect_eq "$(file_sum "$f")" "$before" "--check changed the file"
	expect_rc 0 "$MIGCTL" --sim --json slurm gres --output "$f"
	expect_eq "$(json_eval 'd["changed"]' <<<"$OUT")" true
	expect_eq "$(json_eval 'd["gres"]' <<<"$OUT")" "gpu:7g.40gb:1,gpu:a100-sxm4-40gb:1"
	expect_contains "$(cat "$f")" "Name=gpu Type=7g.40gb MultipleFiles=/dev/nvidia0,"
}

t_gres_refusals() {
	setup_node
	expect_rc 2 "$MIGCTL" --sim slurm gres --check
	expect_contains "$ERR" "--check compares the node with a file: add --output FILE"
	expect_rc 2 "$MIGCTL" --sim slurm gres --output
	expect_contains "$ERR" "--output needs a file"
	expect_rc 2 "$MIGCTL" --sim slurm gres --bogus
	expect_contains "$ERR" "unexpected argument '--bogus'"
	expect_rc 2 "$MIGCTL" --sim -i 0 slurm gres
	expect_contains "$ERR" "-i is not accepted"
	expect_rc 2 "$MIGCTL" --sim slurm
	expect_contains "$ERR" "expected 'slurm gres"
	expect_rc 2 "$MIGCTL" --sim slurm gres --output "$TEST_TMP/x" --check --gres-value
	# a directory, a directory that does not exist: nothing written, the reason given
	mkdir -p "$TEST_TMP/d"
	expect_rc 1 "$MIGCTL" --sim slurm gres --output "$TEST_TMP/d"
	expect_contains "$ERR" "is a directory"
	expect_rc 1 "$MIGCTL" --sim slurm gres --output "$TEST_TMP/nowhere/gres.conf"
	expect_contains "$ERR" "cannot write in $TEST_TMP/nowhere"
	# the driver's tables unreadable (a root without them): no gres.conf with guessed numbers
	expect_rc 1 "$MIGCTL" --sim --root "$TEST_TMP/empty-root" slurm gres --output "$TEST_TMP/g.conf"
	expect_contains "$ERR" "cannot tell the device files"
	[ ! -e "$TEST_TMP/g.conf" ] || fail "a gres.conf was written without device numbers"
}

# migctl.conf's slurm-gres: every change rewrites gres.conf inside its transaction; a failed
# write is a warning that leaves the change and its exit status alone
t_migctl_conf_keeps_gres_conf_current() {
	setup_node
	local g="$TEST_TMP/slurm/gres.conf"
	mkdir -p "$TEST_TMP/slurm"
	printf 'slurm-gres = %s\n' "$g" >"$TEST_TMP/keep.conf"
	MIGCTL_CONF="$TEST_TMP/keep.conf" expect_rc 0 "$MIGCTL" --sim -i 1 mode enable
	expect_contains "$ERR" "$g rewritten for the new MIG layout (Gres=gpu:3g.20gb:1,gpu:2g.10gb:1,gpu:1g.5gb:2)"
	expect_eq "$(cat "$g")" "$("$MIGCTL" --sim slurm gres)" "gres.conf after mode enable"
	MIGCTL_CONF="$TEST_TMP/keep.conf" expect_rc 0 "$MIGCTL" --sim -i 1 create 7g.40gb -C
	expect_eq "$(cat "$g")" "$("$MIGCTL" --sim slurm gres)" "gres.conf after create"
	expect_contains "$(cat "$g")" "Type=7g.40gb"
	# a read-only command leaves a current file alone
	local ino
	ino=$(stat -c %i "$g")
	MIGCTL_CONF="$TEST_TMP/keep.conf" expect_rc 0 "$MIGCTL" --sim list
	expect_eq "$ERR" "" "list's warnings"
	expect_eq "$(stat -c %i "$g")" "$ino" "a current gres.conf was rewritten"
	# a change made behind migctl's back is repaired by the next command
	"$MIGCTL" --sim -i 1 destroy --all >/dev/null
	MIGCTL_CONF="$TEST_TMP/keep.conf" expect_rc 0 "$MIGCTL" --sim list
	expect_eq "$(cat "$g")" "$("$MIGCTL" --sim slurm gres)" "gres.conf repaired by list"
	# cannot write: a warning, the change stands
	printf 'slurm-gres = %s\n' "$TEST_TMP/nowhere/gres.conf" >"$TEST_TMP/bad.conf"
	MIGCTL_CONF="$TEST_TMP/bad.conf" expect_rc 0 "$MIGCTL" --sim -i 1 create 7g.40gb -C
	expect_contains "$ERR" "warning: keeping Slurm's gres.conf current: cannot write in $TEST_TMP/nowhere"
	# a relative path is refused by the configuration's parser
	printf 'slurm-gres = gres.conf\n' >"$TEST_TMP/rel.conf"
	MIGCTL_CONF="$TEST_TMP/rel.conf" expect_rc 0 "$MIGCTL" --sim list
	expect_contains "$ERR" "slurm-gres = 'gres.conf': expected an absolute path"
}

# prolog VAR=VALUE...: run the task prolog with Slurm's variables (and nothing else of them)
prolog() {
	expect_rc "$1" env -u SLURM_STEP_GPUS -u SLURM_JOB_GPUS -u CUDA_VISIBLE_DEVICES "${@:2}" \
		"$MIGCTL" --sim slurm task-prolog --gres-conf "$TEST_TMP/gres.conf"
}

t_task_prolog_maps_indexes_to_uuids() {
	setup_node
	"$MIGCTL" --sim slurm gres --output "$TEST_TMP/gres.conf" >/dev/null
	local gis
	gis=$(devices 0)
	# records: 0 3g.20gb, 1 2g.10gb, 2 and 3 1g.5gb, 4 GPU 1
	local u0 u2 u3 gpu1
	u0=$(grep -m1 -A1 '^# 0:' "$TEST_TMP/gres.conf" | grep -o 'MIG-[0-9a-f-]*')
	u2=$(grep '^# 2:' "$TEST_TMP/gres.conf" | grep -o 'MIG-[0-9a-f-]*')
	u3=$(grep '^# 3:' "$TEST_TMP/gres.conf" | grep -o 'MIG-[0-9a-f-]*')
	gpu1=$(gpu_uuid 1)
	expect_contains "$gis" "$u0 3g.20gb"
	prolog 0 SLURM_STEP_GPUS=0 CUDA_VISIBLE_DEVICES=0
	expect_eq "$OUT" "export CUDA_VISIBLE_DEVICES=$u0"
	prolog 0 SLURM_STEP_GPUS=2,3
	expect_eq "$OUT" "export CUDA_VISIBLE_DEVICES=$u2,$u3"
	prolog 0 SLURM_JOB_GPUS=2-3
	expect_eq "$OUT" "export CUDA_VISIBLE_DEVICES=$u2,$u3"
	prolog 0 SLURM_STEP_GPUS=4
	expect_eq "$OUT" "export CUDA_VISIBLE_DEVICES=$gpu1"
	# under ConstrainDevices CUDA_VISIBLE_DEVICES is renumbered: SLURM_STEP_GPUS wins
	prolog 0 SLURM_STEP_GPUS=3 CUDA_VISIBLE_DEVICES=0
	expect_eq "$OUT" "export CUDA_VISIBLE_DEVICES=$u3"
	# no GPUs from Slurm (a CUDA_VISIBLE_DEVICES of the user's own), or UUIDs already: nothing
	prolog 0 CUDA_VISIBLE_DEVICES=2
	expect_eq "$OUT" ""
	prolog 0
	expect_eq "$OUT" ""
	prolog 0 CUDA_VISIBLE_DEVICES="$u2"
	expect_eq "$OUT" ""
}

t_task_prolog_failures() {
	setup_node
	local g="$TEST_TMP/gres.conf"
	"$MIGCTL" --sim slurm gres --output "$g" >/dev/null
	prolog 1 SLURM_STEP_GPUS=5
	expect_contains "$OUT" "print migctl slurm task-prolog: SLURM_STEP_GPUS=5 names GPU 5, but $g has 5 gpu record(s)"
	expect_contains "$ERR" "regenerate it"
	prolog 1 SLURM_STEP_GPUS=x
	expect_contains "$OUT" "SLURM_STEP_GPUS='x' is not a list of GPU indexes"
	prolog 1 SLURM_STEP_GPUS=1,
	expect_rc 1 env SLURM_STEP_GPUS=0 "$MIGCTL" --sim slurm task-prolog --gres-conf "$TEST_TMP/missing.conf"
	expect_contains "$OUT" "cannot read $TEST_TMP/missing.conf"
	expect_rc 2 "$MIGCTL" --sim slurm task-prolog --gres-conf
	expect_rc 2 "$MIGCTL" --sim slurm task-prolog --what
	expect_rc 2 "$MIGCTL" --sim --json slurm task-prolog
	# the layout changed after gres.conf was written: record 2's GI is gone
	local gi2
	gi2=$(grep '^# 2:' "$g" | sed 's/.*GPU instance \([0-9]*\) .*/\1/')
	mc 0 -i 0 destroy --gi "$gi2"
	prolog 1 SLURM_STEP_GPUS=2
	expect_contains "$OUT" "print migctl slurm task-prolog: $g:"
	expect_contains "$OUT" "Type=1g.5gb, /dev/nvidia0) matches no MIG device on the node now"
	expect_contains "$OUT" "the MIG layout changed after gres.conf was written"
	# ... or holds another profile on the same files
	mc 0 -i 0 destroy --all
	mc 0 -i 0 mode disable
	prolog 1 SLURM_STEP_GPUS=0
	expect_contains "$OUT" "matches no MIG device"
	# a whole GPU that is in MIG mode now
	mc 0 -i 1 mode enable
	prolog 1 SLURM_STEP_GPUS=4
	expect_contains "$OUT" "Type=a100-sxm4-40gb, /dev/nvidia1) matches no whole GPU on the node now"
	# hand-written records migctl cannot number for certain
	printf 'Name=gpu Type=x File=/dev/nvidia[0-1]\n' >"$TEST_TMP/ranges.conf"
	expect_rc 1 env SLURM_STEP_GPUS=0 "$MIGCTL" --sim slurm task-prolog --gres-conf "$TEST_TMP/ranges.conf"
	expect_contains "$OUT" "$TEST_TMP/ranges.conf:1: a gpu record without one device's files"
	printf 'Name=gpu Type=x junk\n' >"$TEST_TMP/junk.conf"
	expect_rc 1 env SLURM_STEP_GPUS=0 "$MIGCTL" --sim slurm task-prolog --gres-conf "$TEST_TMP/junk.conf"
	expect_contains "$OUT" "junk.conf:1: 'junk' is not KEY=VALUE"
}

# --node-name: every record names the node, for a gres.conf shared by several nodes; the task
# prolog counts that node's records only
t_gres_node_name() {
	setup_node
	expect_rc 0 "$MIGCTL" --sim slurm gres --node-name n7 --output "$TEST_TMP/gres.conf"
	local recs
	recs=$(grep -v '^#' "$TEST_TMP/gres.conf")
	expect_eq "$(grep -c '^NodeName=n7 Name=gpu Type=' <<<"$recs")" 5 "records naming n7"
	expect_eq "$(sed 's/^NodeName=n7 //' <<<"$recs")" "$("$MIGCTL" --sim slurm gres | grep -v '^#')" "the records"
	local u0
	u0=$(grep -m1 -o 'MIG-[0-9a-f-]*' "$TEST_TMP/gres.conf")
	prolog 0 SLURM_STEP_GPUS=0 SLURMD_NODENAME=n7
	expect_eq "$OUT" "export CUDA_VISIBLE_DEVICES=$u0"
	prolog 1 SLURM_STEP_GPUS=0 SLURMD_NODENAME=n8
	expect_contains "$OUT" "names GPU 0, but $TEST_TMP/gres.conf has 0 gpu record(s) for this node"
	expect_rc 2 "$MIGCTL" --sim slurm gres --node-name
	expect_contains "$ERR" "--node-name needs the node's name"
	expect_rc 2 "$MIGCTL" --sim slurm gres --node-name "n[1-2]"
	expect_contains "$ERR" "--node-name takes one node name"
}

t_task_prolog_reads_hand_written_records() {
	setup_node
	# File=a,b is two GPUs; records of other nodes and other GRES are not numbered; the node
	# is SLURMD_NODENAME (slurmd -N) when Slurm sets it, else the host's name
	local g="$TEST_TMP/gres.conf" rec0
	rec0=$("$MIGCTL" --sim slurm gres | grep -v '^#' | sed -n 1p)
	{
		echo "NodeName=othernode Name=gpu File=/dev/nvidia7"
		echo "Name=mps Count=100"
		echo "Name=gpu Type=a100-sxm4-40gb File=/dev/nvidia1,/dev/nvidia9 # two"
		echo "$rec0"
	} >"$g"
	local gpu1 u0
	gpu1=$(gpu_uuid 1)
	u0=$(uuid_of 0 "$("$MIGCTL" --sim --json slurm gres | json_eval 'd["records"][0]["gpu_instance"]')" 0)
	prolog 0 SLURM_STEP_GPUS=0,2
	expect_eq "$OUT" "export CUDA_VISIBLE_DEVICES=$gpu1,$u0"
	prolog 1 SLURM_STEP_GPUS=1
	expect_contains "$OUT" "Type=a100-sxm4-40gb, /dev/nvidia9) matches no whole GPU"
	# on othernode, its record is GPU 0 (and names a GPU this node lacks)
	prolog 1 SLURM_STEP_GPUS=0 SLURMD_NODENAME=othernode
	expect_contains "$OUT" "(record 0, Type=, /dev/nvidia7) matches no whole GPU"
}

. "$(dirname "$0")/slurm_cluster.sh"

t_cluster_jobs_get_the_mig_device_of_their_profile() {
	local why
	why=$(cluster_missing)
	[ -z "$why" ] || { skip "$why"; return; }
	# setup_node's two GPUs, and a third with a +me profile and a GPU instance split in two
	sim init 3xA100-SXM4-40GB >/dev/null
	mc 0 -i 0,2 mode enable
	mc 0 -i 0 create 3g.20gb,2g.10gb,1g.5gb,1g.5gb -C
	mc 0 -i 2 create 1g.5gb+me -C
	mc 0 -i 2 create 3g.20gb
	local split
	split=$("$MIGCTL" --sim --json list | python3 -c '
import json, sys
print([g["id"] for g in json.load(sys.stdin)["gpus"][2]["gpu_instances"] if g["profile"] == "3g.20gb"][0])')
	mc 0 -i 2 create-ci --gi "$split" 1c.3g.20gb,1c.3g.20gb
	cluster_up || return
	expect_rc 0 sinfo -h -N -o "%N %T %G"
	expect_contains "$OUT" "idle"
	expect_contains "$OUT" "gpu:3g.20gb:1"
	local p want got
	for p in 3g.20gb 2g.10gb 1g.5gb 1g.5gb+me 1c.3g.20gb; do
		expect_rc 0 srun --gres="gpu:$p:1" sh -c 'echo "CVD=$CUDA_VISIBLE_DEVICES STEP=$SLURM_STEP_GPUS"'
		got=$(sed -n 's/^CVD=\([^ ]*\) .*/\1/p' <<<"$OUT")
		case "$got" in
		MIG-*,* | "") fail "$p: CUDA_VISIBLE_DEVICES='$got' ($OUT $ERR)" ;;
		MIG-*) ;;
		*) fail "$p: CUDA_VISIBLE_DEVICES='$got' is not a MIG UUID" ;;
		esac
		want=$(devices all | awk -v u="$got" '$3==u {print $4}')
		expect_eq "$want" "$p" "profile of the MIG device the $p job got"
	done
	# two of a kind: both 1g.5gb devices, each once
	expect_rc 0 srun --gres=gpu:1g.5gb:2 sh -c 'echo "CVD=$CUDA_VISIBLE_DEVICES"'
	got=$(sed -n 's/^CVD=//p' <<<"$OUT")
	expect_eq "$(tr ',' '\n' <<<"$got" | sort)" "$(devices 0 | awk '$4=="1g.5gb" {print $3}' | sort)" "the 1g.5gb pair"
	# the GPU with MIG off, as a whole
	expect_rc 0 srun --gres=gpu:a100-sxm4-40gb:1 sh -c 'echo "CVD=$CUDA_VISIBLE_DEVICES"'
	expect_eq "$OUT" "CVD=$(gpu_uuid 1)"
	# a job asking for no GPU gets none, also with a CUDA_VISIBLE_DEVICES of the user's own
	# (which Slurm drops on a node with GPU GRES)
	expect_rc 0 srun sh -c 'echo "CVD=${CUDA_VISIBLE_DEVICES-unset}"'
	expect_eq "$OUT" "CVD=unset"
	expect_rc 0 env CUDA_VISIBLE_DEVICES=0 srun sh -c 'echo "CVD=${CUDA_VISIBLE_DEVICES-unset}"'
	expect_eq "$OUT" "CVD=unset"
	# a profile this node does not have: Slurm itself refuses the job
	expect_rc 1 srun --gres=gpu:7g.40gb:1 true
	expect_contains "$ERR" "Requested node configuration is not available"
	stop_cluster
}

t_cluster_two_nodes_in_namespaces() {
	local why
	why=$(cluster_missing)
	[ -z "$why" ] || { skip "$why"; return; }
	ip netns list >/dev/null 2>&1 || { skip "no ip netns (iproute2)"; return; }
	# n1: an A100 with 3g.20gb and 1g.5gb; n2: an H100 with 1g.10gb twice
	MIGSIM_STATE="$TEST_TMP/n1.json" sim init 1xA100-SXM4-40GB >/dev/null
	MIGSIM_STATE="$TEST_TMP/n1.json" mc 0 mode enable
	MIGSIM_STATE="$TEST_TMP/n1.json" mc 0 create 3g.20gb,1g.5gb -C
	MIGSIM_STATE="$TEST_TMP/n2.json" sim init 1xH100-SXM5-80GB >/dev/null
	MIGSIM_STATE="$TEST_TMP/n2.json" mc 0 mode enable
	MIGSIM_STATE="$TEST_TMP/n2.json" mc 0 create 1g.10gb,1g.10gb -C
	if ! start_two_nodes; then
		fail "the two nodes did not start: $(tail -n 5 "$CL"/log/* 2>/dev/null)"
		stop_cluster
		return
	fi
	expect_rc 0 sinfo -h -N -o "%N %G"
	expect_contains "$OUT" "n1 gpu:3g.20gb:1,gpu:1g.5gb:1"
	expect_contains "$OUT" "n2 gpu:1g.10gb:2"
	local p node got want
	for p in 3g.20gb:n1 1g.5gb:n1 1g.10gb:n2; do
		node=${p#*:}
		p=${p%:*}
		expect_rc 0 srun --gres="gpu:$p:1" sh -c 'echo "$SLURMD_NODENAME CVD=$CUDA_VISIBLE_DEVICES"'
		got=$(sed -n "s/^$node CVD=//p" <<<"$OUT")
		want=$(MIGSIM_STATE="$TEST_TMP/$node.json" devices 0 | awk -v u="$got" '$3==u {print $4}')
		expect_eq "$want" "$p" "the $p job ($OUT): the MIG device it got on $node"
	done
	# both of n2's devices, one job on each
	expect_rc 0 srun --gres=gpu:1g.10gb:2 sh -c 'echo "CVD=$CUDA_VISIBLE_DEVICES"'
	expect_eq "$(sed -n 's/^CVD=//p' <<<"$OUT" | tr ',' '\n' | sort)" \
		"$(MIGSIM_STATE="$TEST_TMP/n2.json" devices 0 | awk '{print $3}' | sort)" "n2's pair"
	# no node has a 7g.40gb
	expect_rc 1 srun --gres=gpu:7g.40gb:1 true
	expect_contains "$ERR" "Requested node configuration is not available"
	stop_cluster
}

t_cluster_stale_gres_conf_fails_the_task() {
	local why
	why=$(cluster_missing)
	[ -z "$why" ] || { skip "$why"; return; }
	setup_node
	cluster_up || return
	# the layout changes under Slurm: the 2g.10gb device becomes two 1g.5gb ones
	local gi
	gi=$(devices 0 | awk '$4=="2g.10gb" {print $1}')
	mc 0 -i 0 destroy --gi "$gi"
	mc 0 -i 0 create 1g.5gb,1g.5gb -C
	expect_rc 4 "$MIGCTL" --sim slurm gres --output "$CL/$(hostname -s)/etc/gres.conf" --check
	srun --gres=gpu:2g.10gb:1 sh -c 'echo "ran CVD=$CUDA_VISIBLE_DEVICES"' >"$TEST_TMP/out" 2>"$TEST_TMP/err"
	local rc=$?
	OUT=$(cat "$TEST_TMP/out")
	ERR=$(cat "$TEST_TMP/err")
	[ "$rc" -ne 0 ] || fail "a task on a device that is gone ran: $OUT"
	expect_not_contains "$OUT" "ran CVD"
	expect_contains "$OUT" "migctl slurm task-prolog: $CL/$(hostname -s)/etc/gres.conf:"
	expect_contains "$OUT" "Type=2g.10gb, /dev/nvidia0) matches no MIG device on the node now"
	# the devices that are still there still work
	expect_rc 0 srun --gres=gpu:3g.20gb:1 sh -c 'echo "CVD=$CUDA_VISIBLE_DEVICES"'
	expect_eq "$OUT" "CVD=$(devices 0 | awk '$4=="3g.20gb" {print $3}')"
	stop_cluster
}

# ConstrainDevices=yes (task/cgroup, proctrack/cgroup, cgroup v1's devices controller): a job's
# task may open exactly the device files of its gres.conf record. Without a driver, an allowed
# node opens with "No such device or address" and a denied one fails with "Operation not
# permitted" (the cgroup's refusal).
t_cluster_constrain_devices() {
	local why
	why=$(cluster_missing)
	[ -z "$why" ] || { skip "$why"; return; }
	[ -e /sys/fs/cgroup/devices/devices.allow ] ||
		{ skip "no cgroup v1 devices controller at /sys/fs/cgroup/devices (Slurm 22.05's cgroup/v1 ConstrainDevices needs it)"; return; }
	sim init 1xA100-SXM4-40GB >/dev/null
	mc 0 mode enable
	mc 0 create 3g.20gb,1g.5gb -C
	CL_PROCTRACK=proctrack/cgroup CL_TASKPLUGIN=task/cgroup
	export CL_PROCTRACK CL_TASKPLUGIN
	CL_CGROUP_CONF='CgroupPlugin=cgroup/v1
CgroupAutomount=no
ConstrainDevices=yes'
	export CL_CGROUP_CONF
	cluster_up
	local rc=$?
	unset CL_PROCTRACK CL_TASKPLUGIN CL_CGROUP_CONF
	[ "$rc" -eq 0 ] || return
	local p recs mine other f
	for p in 3g.20gb 1g.5gb; do
		recs=$("$MIGCTL" --sim --json slurm gres | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]: print(r["type"], " ".join(r["files"][1:]))')
		mine=$(awk -v p="$p" '$1==p {print $2, $3}' <<<"$recs")
		other=$(awk -v p="$p" '$1!=p {print $2, $3}' <<<"$recs")
		expect_rc 0 srun --gres="gpu:$p:1" sh -c 'grep devices: /proc/self/cgroup; for f in /dev/nvidia0 /dev/nvidia-caps/*; do (exec 3<"$f") 2>&1 | sed "s|^|$f: |"; done'
		expect_contains "$OUT" "/slurm_"
		expect_contains "$OUT" "/dev/nvidia0: "
		for f in /dev/nvidia0 $mine; do
			expect_contains "$(grep "^$f: " <<<"$OUT")" "No such device or address"
		done
		for f in $other; do
			expect_contains "$(grep "^$f: " <<<"$OUT")" "Operation not permitted"
		done
	done
	stop_cluster
}

# Every type name migctl writes, for every GPU model the simulator knows (each GI profile,
# and the model itself for a GPU with MIG off), read back by Slurm's own gres.conf parser
# (slurmd -G) with the Gres= value on the node's line: each record as migctl wrote it.
t_slurm_parses_every_type_name() {
	local why
	why=$(cluster_missing)
	[ -z "$why" ] || { skip "$why"; return; }
	local models model n profiles i host
	host=$(hostname -s)
	models=$(sim models --json | python3 -c '
import json, sys
for m in json.load(sys.stdin):
    if m.get("profiles"): print(m["model"] + "=" + ",".join(m["profiles"]))')
	[ -n "$models" ] || { fail "no models from migsim models --json"; return; }
	mkdir -p "$TEST_TMP/parse"
	for model in $models; do
		profiles=$(tr ',' ' ' <<<"${model#*=}")
		model=${model%%=*}
		n=$(wc -w <<<"$profiles")
		sim init "$((n + 1))x$model" >/dev/null
		"$MIGCTL" --sim mode enable >/dev/null 2>&1
		"$MIGCTL" --sim -i "$n" mode disable >/dev/null 2>&1
		i=0
		for p in $profiles; do
			mc 0 -i "$i" create "$p" -C
			i=$((i + 1))
		done
		sim devices >/dev/null
		"$MIGCTL" --sim slurm gres --mknod --output "$TEST_TMP/parse/gres.conf" >/dev/null
		"$MIGCTL" --sim --json slurm gres >"$TEST_TMP/parse/want.json"
		cat >"$TEST_TMP/parse/slurm.conf" <<CONF
ClusterName=parse
SlurmctldHost=$host(127.0.0.1)
GresTypes=gpu
SlurmdParameters=config_overrides
SlurmdSpoolDir=$TEST_TMP/parse/spool
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 Gres=$("$MIGCTL" --sim slurm gres --gres-value)
PartitionName=p Nodes=ALL
CONF
		[ -e "$ROOT/dev/null" ] || mknod -m 666 "$ROOT/dev/null" c 1 3
		unshare -m sh -c "mount --make-rprivate / && mount --bind '$ROOT/dev' /dev && exec timeout 20 /usr/sbin/slurmd -G -f '$TEST_TMP/parse/slurm.conf' -N '$host'" \
			>"$TEST_TMP/parse/out" 2>&1
		python3 - "$TEST_TMP/parse/want.json" "$TEST_TMP/parse/out" "$model" <<'PY' || fail "$model: $(cat "$TEST_TMP/parse/out")"
import json, re, sys
want = json.load(open(sys.argv[1]))["records"]
got = [(m.group(1), m.group(2), m.group(3)) for m in
       re.finditer(r"Gres Name=gpu Type=(\S+) Count=(\d+) .* File=(\S+)", open(sys.argv[2]).read())]
exp = [(r["type"], "1", ",".join(r["files"])) for r in want]
if got != exp:
    print("%s: Slurm read %s, migctl wrote %s" % (sys.argv[3], got, exp))
    sys.exit(1)
PY
	done
}

run_tests
