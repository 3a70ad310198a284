#!/usr/bin/env bash
# migctl slurm reconfigure (issue 14): a MIG layout change on a node of a real Slurm 22.05
# cluster (Debian's munged, slurmctld and slurmd, started here; tests/shell/slurm_cluster.sh),
# with the node's jobs: a job on a MIG device the new layout keeps runs on, untouched; one on a
# device it destroys is waited for with the node drained, and a short --timeout stops with the
# node drained and the reason in Slurm's Reason=. Bad input (no scontrol, Slurm unreachable,
# another node, a planted symbolic link, a directory that cannot be written) changes nothing.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGSIM_TRACE MIGSIM_ROOT
unset SLURM_STEP_GPUS SLURM_JOB_GPUS CUDA_VISIBLE_DEVICES
export MIGCTL_CONF="$TEST_TMP/none.conf"
export MIGCTL_LOCK="$TEST_TMP/apply.lock" MIGCTL_JOURNAL="$TEST_TMP/journal.json"
ROOT="$MIGSIM_STATE.root"

sim() { "$MIGSIM" "$@"; }
. "$(dirname "$0")/slurm_cluster.sh"

HOST=$(hostname -s)

# GPU 0 in MIG mode with 3g.20gb, 2g.10gb, 1g.5gb, 1g.5gb; GPU 1 with MIG off
setup_node() {
	sim init 2xA100-SXM4-40GB >/dev/null
	mc 0 -i 0 mode enable
	mc 0 -i 0 create 3g.20gb,2g.10gb,1g.5gb,1g.5gb -C
}

# the configs: "keep" keeps the 3g.20gb, splits the 2g.10gb in two compute instances and drops
# a 1g.5gb (five GPUs for Slurm before and after); "whole" makes GPU 0 one 7g.40gb (destroys
# everything on it; two GPUs for Slurm)
write_configs() {
	cat >"$TEST_TMP/mig.yaml" <<'YAML'
version: v1
mig-configs:
  keep:
    - devices: [0]
      mig-enabled: true
      mig-devices: {"3g.20gb": 1, "1c.2g.10gb": 2, "1g.5gb": 1}
    - devices: [1]
      mig-enabled: false
  grow:
    - devices: [0]
      mig-enabled: true
      mig-devices: {"3g.20gb": 1, "1g.5gb": 4}
    - devices: [1]
      mig-enabled: false
  whole:
    - devices: [0]
      mig-enabled: true
      mig-devices: {"7g.40gb": 1}
    - devices: [1]
      mig-enabled: false
YAML
	chmod 644 "$TEST_TMP/mig.yaml"
}

# cluster_test [NODE_LINE]: where no cluster can run here, skip (and return 1); else this
# node, its configs and the cluster (NODE_LINE: another node for slurm.conf) are up.
cluster_test() {
	local why
	why=$(cluster_missing)
	[ -z "$why" ] || { skip "$why"; return 1; }
	setup_node
	write_configs
	cluster_up "$@"
}

# devices: "GI CI UUID PROFILE" of GPU 0's MIG devices
devices() {
	"$MIGCTL" --sim --json list | python3 -c '
import json, sys
for gi in json.load(sys.stdin)["gpus"][0]["gpu_instances"]:
    for ci in gi["compute_instances"]: print(gi["id"], ci["id"], ci["uuid"], ci["profile"])'
}

# reconf ARGS...: slurm reconfigure of this host's node, its gres.conf and the cluster's slurm.conf
reconf() {
	"$MIGCTL" --sim slurm reconfigure -f "$TEST_TMP/mig.yaml" --gres-conf "$CL/$HOST/etc/gres.conf" \
		--slurm-conf "$CL/etc/slurm.conf" "$@"
}

node_field() { # FIELD: the node's FIELD= in scontrol -o show node
	scontrol -o show node "$HOST" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# job_on PROFILE SECONDS: a job holding one MIG device of PROFILE for SECONDS; prints
# "JOBID UUID" once it runs
job_on() {
	local f="$TEST_TMP/job.$RANDOM"
	srun --gres="gpu:$1:1" sh -c 'echo "JOB=$SLURM_JOB_ID CVD=$CUDA_VISIBLE_DEVICES"; exec sleep '"$2" >"$f" 2>&1 </dev/null &
	JOB_PIDS+=($!)
	wait_for 20 grep -q '^JOB=' "$f" || { echo "no job: $(cat "$f")"; return 1; }
	sed -n 's/^JOB=\([0-9]*\) CVD=\(.*\)/\1 \2/p' "$f"
}
JOB_PIDS=()
end_jobs() {
	local p
	for p in "${JOB_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	JOB_PIDS=()
}
trap 'end_jobs; stop_cluster; rm -rf "$TEST_TMP"' EXIT

t_refusals_without_slurm() {
	setup_node
	write_configs
	local before
	before=$(sim_snapshot)
	expect_rc 2 "$MIGCTL" --sim slurm reconfigure -c keep
	expect_contains "$ERR" "which config? -f FILE -c NAME"
	expect_rc 2 "$MIGCTL" --sim slurm reconfigure -f "$TEST_TMP/mig.yaml" -c keep --timeout soon
	expect_contains "$ERR" "--timeout takes seconds"
	expect_rc 2 "$MIGCTL" --sim slurm reconfigure -f "$TEST_TMP/mig.yaml" -c keep --gres-conf gres.conf
	expect_contains "$ERR" "--gres-conf needs an absolute path"
	expect_rc 2 "$MIGCTL" --sim -i 0 slurm reconfigure -f "$TEST_TMP/mig.yaml" -c keep
	expect_contains "$ERR" "-i is not accepted"
	# no scontrol in PATH
	mkdir -p "$TEST_TMP/bin"
	ln -sf "$(command -v python3)" "$TEST_TMP/bin/python3"
	expect_rc 1 env PATH="$TEST_TMP/bin" "$MIGCTL" --sim slurm reconfigure -f "$TEST_TMP/mig.yaml" -c keep --node n1
	expect_contains "$ERR" "scontrol is not in PATH ($TEST_TMP/bin): install Slurm's client commands"
	expect_contains "$ERR" "nothing was changed"
	expect_rc 1 env PATH="$TEST_TMP/bin" "$MIGCTL" --sim --json slurm reconfigure -f "$TEST_TMP/mig.yaml" -c keep --node n1
	expect_contains "$(json_eval 'd["error"]' <<<"$OUT")" "scontrol is not in PATH"
	expect_eq "$(sim_snapshot)" "$before" "the GPUs after the refusals"
}

# A stand-in scontrol (no Slurm, no root): how the jobs' lines are read. Host lists with
# ranges, several nodes a job, IDX ranges, other GRES, jobs that hold nothing (completed,
# pending); the node's reason and drain as scontrol is asked for them.
t_jobs_read_from_scontrol() {
	setup_node
	write_configs
	mkdir -p "$TEST_TMP/fake" "$TEST_TMP/etc"
	"$MIGCTL" --sim slurm gres --output "$TEST_TMP/etc/gres.conf" >/dev/null
	cat >"$TEST_TMP/fake/scontrol" <<FAKE
#!/bin/sh
echo "\$*" >>"$TEST_TMP/scontrol.log"
case "\$*" in
"-o show node n5") echo "NodeName=n5 Arch=x86_64 Gres=gpu:x:1 NodeAddr=10.9.9.9 NodeHostName=$HOST State=MIXED Partitions=p Reason=none" ;;
"-o show job -d")
	echo "JobId=7 JobName=a JobState=RUNNING Reason=None NodeList=n[1-5,9] NumNodes=5 JOB_GRES=gpu:4   Nodes=n[1-4] CPU_IDs=0 Mem=0 GRES=gpu:3g.20gb:1(IDX:0)   Nodes=n[3-5],n9 CPU_IDs=0-1 Mem=0 GRES=mps:100(IDX:0),gpu:1g.5gb:2(IDX:2-3) MinCPUsNode=1"
	echo "JobId=8 JobName=b JobState=COMPLETED Reason=None NodeList=n5 NumNodes=1   Nodes=n5 CPU_IDs=0 Mem=0 GRES=gpu:2g.10gb:1(IDX:1) MinCPUsNode=1"
	echo "JobId=9 JobName=c JobState=PENDING Reason=Resources NodeList=(null) NumNodes=1 MinCPUsNode=1"
	echo "JobId=10 JobName=d JobState=RUNNING Reason=None NodeList=n05 NumNodes=1   Nodes=n05 CPU_IDs=0 Mem=0 GRES=gpu:2g.10gb:1(IDX:1) MinCPUsNode=1" ;;
update*) ;;
*) echo "fake scontrol: \$*" >&2; exit 1 ;;
esac
FAKE
	chmod 755 "$TEST_TMP/fake/scontrol"
	local before u2 u3
	before=$(sim_snapshot)
	u2=$(grep '^# 2:' "$TEST_TMP/etc/gres.conf" | grep -o 'MIG-[0-9a-f-]*')
	u3=$(grep '^# 3:' "$TEST_TMP/etc/gres.conf" | grep -o 'MIG-[0-9a-f-]*')
	# "whole" destroys every MIG device of GPU 0: on n5, job 7 holds records 2 and 3 (n[3-5]),
	# not record 0 (n[1-4]); job 8 is completed, job 10 runs on n05, not n5
	PATH="$TEST_TMP/fake:$PATH" expect_rc 5 "$MIGCTL" --sim slurm reconfigure -f "$TEST_TMP/mig.yaml" -c whole \
		--node n5 --gres-conf "$TEST_TMP/etc/gres.conf" --timeout 0
	expect_contains "$ERR" "timed out after 0 s waiting: job 7 holds MIG device $u2 (GRES record 2); job 7 holds MIG device $u3 (GRES record 3)"
	expect_not_contains "$ERR" "job 8"
	expect_not_contains "$ERR" "job 10"
	expect_not_contains "$ERR" "record 0" # n5 is not in n[1-4]
	expect_eq "$(grep -c '^update NodeName=n5 State=DRAIN Reason=migctl reconfigure: ' "$TEST_TMP/scontrol.log")" 2 "drain, then the reason of the timeout"
	expect_contains "$(cat "$TEST_TMP/scontrol.log")" "Reason=migctl reconfigure: waiting for jobs 7 on MIG devices the new layout destroys"
	expect_not_contains "$(cat "$TEST_TMP/scontrol.log")" "RESUME"
	expect_eq "$(sim_snapshot)" "$before" "the GPUs"
	# n5 is at another machine's address under another host name: refused, nothing asked of Slurm
	sed -i "s/NodeHostName=$HOST/NodeHostName=elsewhere/" "$TEST_TMP/fake/scontrol"
	: >"$TEST_TMP/scontrol.log"
	PATH="$TEST_TMP/fake:$PATH" expect_rc 1 "$MIGCTL" --sim slurm reconfigure -f "$TEST_TMP/mig.yaml" -c whole \
		--node n5 --gres-conf "$TEST_TMP/etc/gres.conf"
	expect_contains "$ERR" "node n5 is not this machine: Slurm's node is at NodeAddr=10.9.9.9 NodeHostName=elsewhere"
	expect_eq "$(cat "$TEST_TMP/scontrol.log")" "-o show node n5" "what was asked of Slurm"
	expect_eq "$(sim_snapshot)" "$before" "the GPUs"
	# no job holds anything (not drained before), but the driver fails part way: the node is
	# drained then, with the reason, and gres.conf is left for the next run
	sed -i "s/NodeHostName=elsewhere/NodeHostName=$HOST/" "$TEST_TMP/fake/scontrol"
	sed -i 's/^"-o show job -d")$/"-o show job -d") exit 0 ;;\nnever)/' "$TEST_TMP/fake/scontrol"
	: >"$TEST_TMP/scontrol.log"
	local gres_before
	gres_before=$(file_sum "$TEST_TMP/etc/gres.conf")
	sim fault add nvmlDeviceCreateGpuInstanceWithPlacement UNKNOWN --nth 1 >/dev/null
	PATH="$TEST_TMP/fake:$PATH" expect_rc 5 "$MIGCTL" --sim slurm reconfigure -f "$TEST_TMP/mig.yaml" -c whole \
		--node n5 --gres-conf "$TEST_TMP/etc/gres.conf"
	expect_contains "$ERR" "the MIG change failed after"
	expect_contains "$ERR" "node n5 is left drained"
	expect_contains "$(cat "$TEST_TMP/scontrol.log")" "update NodeName=n5 State=DRAIN Reason=migctl reconfigure: the MIG change failed after"
	expect_not_contains "$(cat "$TEST_TMP/scontrol.log")" "RESUME"
	expect_eq "$(file_sum "$TEST_TMP/etc/gres.conf")" "$gres_before" "gres.conf"
}

t_slurm_not_reachable() {
	command -v scontrol >/dev/null 2>&1 || { skip "no scontrol (scripts/install-deps.sh)"; return; }
	setup_node
	write_configs
	local before
	before=$(sim_snapshot)
	# a controller nobody runs, on a port nobody listens on
	cat >"$TEST_TMP/nobody.conf" <<CONF
ClusterName=nobody
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=9
AuthType=auth/none
MessageTimeout=2
NodeName=$HOST CPUs=1
PartitionName=p Nodes=ALL
CONF
	expect_rc 1 env SLURM_CONF="$TEST_TMP/nobody.conf" "$MIGCTL" --sim slurm reconfigure -f "$TEST_TMP/mig.yaml" -c keep
	expect_contains "$ERR" "'scontrol -o show node $HOST' failed"
	expect_contains "$ERR" "Slurm's controller is not reachable"
	expect_contains "$ERR" "nothing was changed"
	expect_eq "$(sim_snapshot)" "$before" "the GPUs"
}

# A job on the 3g.20gb (which "keep" keeps) runs through the change, on the same MIG device.
# Slurm 22.05 takes a node's new GPU GRES only when slurmctld starts: the first run applies,
# writes gres.conf and slurm.conf and leaves the node drained saying so; after the restart, the
# second run has slurmd read gres.conf and resumes the node, and new jobs get the new devices.
# Then "whole" would destroy the busy 3g.20gb: the node is drained (Reason= says why) until
# the job ends, and only then changed.
t_cluster_reconfigure_around_running_jobs() {
	cluster_test || return
	local job uuid keep_gi new_gres="gpu:3g.20gb:1,gpu:1c.2g.10gb:2,gpu:1g.5gb:1,gpu:a100-sxm4-40gb:1"
	read -r job uuid <<<"$(job_on 3g.20gb 300)" || { fail "the long job did not start"; stop_cluster; return; }
	expect_eq "$(devices | awk -v u="$uuid" '$3==u {print $4}')" 3g.20gb "the long job's device"
	keep_gi=$(devices | awk -v u="$uuid" '$3==u {print $1, $2}')
	expect_rc 5 reconf -c keep --timeout 30
	expect_not_contains "$OUT" "Drained" # no job holds what goes: no wait
	expect_contains "$OUT" "MIG configuration applied (5 operations)"
	expect_contains "$OUT" "Wrote $CL/$HOST/etc/gres.conf: 5 GPU record(s), Gres=$new_gres"
	expect_contains "$OUT" "Set Gres=$new_gres on $HOST's line in $CL/etc/slurm.conf"
	expect_contains "$ERR" "Slurm takes a new Gres= of GPUs with File= only when slurmctld starts: restart slurmctld, then run this command again"
	expect_contains "$(node_field State)" DRAIN
	expect_contains "$(scontrol -o show node "$HOST")" "Reason=migctl reconfigure: the node's GPUs changed (Gres=$new_gres"
	expect_contains "$(grep "^NodeName=$HOST " "$CL/etc/slurm.conf")" " Gres=$new_gres"
	expect_rc 0 "$MIGCTL" --sim slurm gres --output "$CL/$HOST/etc/gres.conf" --check
	expect_eq "$(squeue -h -j "$job" -o %T)" RUNNING "the long job"
	restart_slurmctld || fail "slurmctld did not come back"
	expect_rc 0 reconf -c keep --timeout 30
	expect_contains "$OUT" "MIG configuration applied (0 operations)"
	expect_contains "$OUT" "Kept $CL/$HOST/etc/gres.conf"
	expect_contains "$OUT" "scontrol reconfigure: Slurm shows $HOST with Gres=$new_gres"
	expect_contains "$OUT" "Resumed $HOST"
	expect_not_contains "$(node_field State)" DRAIN
	expect_eq "$(node_field Gres)" "$new_gres" "Slurm's Gres="
	# the job ran on through it all, on the same MIG device (GPU instance, compute instance, UUID)
	expect_eq "$(squeue -h -j "$job" -o %T)" RUNNING "the long job"
	expect_eq "$(devices | awk -v u="$uuid" '$3==u {print $1, $2}')" "$keep_gi" "the long job's GI and CI"
	# new jobs see the new layout: both new compute instances at once, each once
	expect_rc 0 srun --gres=gpu:1c.2g.10gb:2 sh -c 'echo "CVD=$CUDA_VISIBLE_DEVICES"'
	expect_eq "$(sed -n 's/^CVD=//p' <<<"$OUT" | tr ',' '\n' | sort)" "$(devices | awk '$4=="1c.2g.10gb" {print $3}' | sort)" \
		"the two 1c.2g.10gb"
	# the 3g.20gb is still the long job's: Slurm does not hand it out twice
	expect_rc 1 srun --immediate=2 --gres=gpu:3g.20gb:1 true
	# "grow" keeps the 3g.20gb too, but Slurm's GPU count changes (5 to 6): slurmctld kills the
	# node's GPU jobs as it starts with another count, so the message says to wait for them
	expect_rc 5 reconf -c grow
	expect_contains "$ERR" "restart slurmctld once jobs $job ended (they hold GPUs here, and Slurm 22.05 kills the jobs of a node whose GPU count changed when slurmctld starts)"
	expect_eq "$(squeue -h -j "$job" -o %T)" RUNNING "the long job"
	expect_eq "$(devices | awk -v u="$uuid" '$3==u {print $1, $2}')" "$keep_gi" "the long job's GI and CI"
	# "whole" destroys the busy 3g.20gb: drain, wait for the job, then apply
	reconf -c whole --timeout 60 >"$TEST_TMP/r.out" 2>"$TEST_TMP/r.err" &
	local rpid=$!
	wait_for 20 sh -c "scontrol -o show node $HOST | grep -q 'Reason=migctl reconfigure: waiting for jobs $job on MIG devices the new layout destroys'" ||
		fail "no reason for the job: $(scontrol -o show node "$HOST")"
	expect_contains "$(node_field State)" DRAIN
	expect_eq "$(devices | awk '{print $4}' | sort | tr '\n' ' ')" "1g.5gb 1g.5gb 1g.5gb 1g.5gb 3g.20gb " "layout while waiting"
	expect_rc 1 srun --immediate=2 --gres=gpu:1g.5gb:1 true # drained: no new job
	expect_eq "$(squeue -h -j "$job" -o %T)" RUNNING "the long job while waiting"
	scancel "$job"
	wait "$rpid"
	expect_eq "$?" 5 "reconfigure after the job ended ($(cat "$TEST_TMP/r.err"))"
	OUT=$(cat "$TEST_TMP/r.out")
	expect_contains "$OUT" "Drained $HOST: job $job holds MIG device $uuid (GRES record 0), which the new layout destroys"
	expect_contains "$OUT" "Jobs $job ended"
	expect_eq "$(devices | awk '{print $4}')" 7g.40gb "layout"
	restart_slurmctld || fail "slurmctld did not come back"
	expect_rc 0 reconf -c whole
	expect_contains "$OUT" "Resumed $HOST"
	expect_eq "$(node_field Gres)" "gpu:7g.40gb:1,gpu:a100-sxm4-40gb:1" "Slurm's Gres="
	expect_rc 0 srun --gres=gpu:7g.40gb:1 sh -c 'echo "CVD=$CUDA_VISIBLE_DEVICES"'
	expect_eq "$OUT" "CVD=$(devices | awk '{print $3}')"
	end_jobs
	stop_cluster
}

# A short --timeout: the node stays drained with the reason, nothing changed on the GPUs. The
# next run (the job gone) adopts the node migctl drained. Without --slurm-conf the message
# says what to put in slurm.conf.
t_cluster_reconfigure_timeout_leaves_the_node_drained() {
	cluster_test || return
	local job uuid before
	read -r job uuid <<<"$(job_on 2g.10gb 300)" || { fail "the job did not start"; stop_cluster; return; }
	before=$(sim_snapshot)
	expect_rc 5 reconf -c whole --timeout 1
	expect_contains "$ERR" "timed out after 1 s waiting: job $job holds MIG device $uuid"
	expect_contains "$ERR" "nothing was changed on the GPUs; node $HOST is left drained"
	expect_eq "$(sim_snapshot)" "$before" "the GPUs after the timeout"
	expect_contains "$(node_field State)" DRAIN
	expect_contains "$(scontrol -o show node "$HOST")" "Reason=migctl reconfigure: timed out after 1 s waiting: job $job"
	expect_eq "$(squeue -h -j "$job" -o %T)" RUNNING "the job"
	# --json: the error document, the same exit status
	expect_rc 5 reconf -c whole --timeout 0 --json
	expect_contains "$(json_eval 'd["error"]' <<<"$OUT")" "timed out after 0 s"
	scancel "$job"
	wait_for 20 sh -c "[ -z \"\$(squeue -h -j $job -o %T 2>/dev/null)\" ]"
	# without --slurm-conf: the change is made, gres.conf true to the GPUs, the node drained
	expect_rc 5 "$MIGCTL" --sim slurm reconfigure -f "$TEST_TMP/mig.yaml" -c whole --gres-conf "$CL/$HOST/etc/gres.conf"
	expect_contains "$ERR" "the node's GPUs changed (Gres=gpu:7g.40gb:1,gpu:a100-sxm4-40gb:1, was gpu:3g.20gb:1,gpu:2g.10gb:1,gpu:1g.5gb:2,gpu:a100-sxm4-40gb:1"
	expect_contains "$ERR" "set that Gres= on the node's line in slurm.conf, restart slurmctld"
	expect_contains "$(node_field State)" DRAIN
	expect_rc 0 "$MIGCTL" --sim slurm gres --output "$CL/$HOST/etc/gres.conf" --check
	sed -i "s/^\(NodeName=$HOST .*\) Gres=[^ ]*/\1 Gres=gpu:7g.40gb:1,gpu:a100-sxm4-40gb:1/" "$CL/etc/slurm.conf"
	restart_slurmctld || fail "slurmctld did not come back"
	expect_rc 0 reconf -c whole --json
	expect_eq "$(json_eval 'd["resumed"]' <<<"$OUT")" true
	expect_eq "$(json_eval 'd["operations_done"]' <<<"$OUT")" 0
	expect_eq "$(json_eval 'd["gres"]' <<<"$OUT")" "gpu:7g.40gb:1,gpu:a100-sxm4-40gb:1"
	expect_not_contains "$(node_field State)" DRAIN
	# a job on GPU 1, which "keep" keeps but which is record 4, not 1, in the new gres.conf
	# (Slurm tracks a job's GPUs by number): the GPUs are changed, gres.conf waits for the job
	read -r job uuid <<<"$(job_on a100-sxm4-40gb 300)" || { fail "the GPU job did not start"; stop_cluster; return; }
	expect_rc 5 reconf -c keep --timeout 1
	expect_contains "$ERR" "timed out after 1 s: job $job holds GPU $uuid (GRES record 1), and it gets another number in the new gres.conf; the MIG change is applied, gres.conf not rewritten"
	expect_rc 4 "$MIGCTL" --sim slurm gres --output "$CL/$HOST/etc/gres.conf" --check
	expect_eq "$(devices | awk '{print $4}' | sort | tr '\n' ' ')" "1c.2g.10gb 1c.2g.10gb 1g.5gb 3g.20gb " "the layout"
	expect_eq "$(squeue -h -j "$job" -o %T)" RUNNING "the job on GPU 1"
	expect_contains "$(node_field State)" DRAIN
	scancel "$job"
	wait_for 20 sh -c "[ -z \"\$(squeue -h -j $job -o %T 2>/dev/null)\" ]"
	expect_rc 5 reconf -c keep --timeout 10
	expect_contains "$OUT" "MIG configuration applied (0 operations)"
	expect_contains "$ERR" "restart slurmctld, then run this command again"
	expect_rc 0 "$MIGCTL" --sim slurm gres --output "$CL/$HOST/etc/gres.conf" --check
	# a process NVML sees on a MIG device the layout destroys (no Slurm job): waited for too
	local pid u3g
	u3g=$(devices | awk '$4=="3g.20gb" {print $3}')
	pid=$(sim proc start --uuid "$u3g")
	before=$(sim_snapshot)
	expect_rc 5 reconf -c whole --timeout 0
	expect_contains "$ERR" "timed out after 0 s waiting: process $pid runs on $u3g"
	expect_eq "$(sim_snapshot)" "$before" "the GPUs"
	expect_contains "$(node_field State)" DRAIN
	sim proc stop "$pid" >/dev/null
	end_jobs
	stop_cluster
}

# Bad input against a running cluster: another node, a node Slurm lacks, a gres.conf that is a
# link another user planted, a directory that cannot be written, a node sharing its slurm.conf
# line. Each: exit 1, the node's state in Slurm and the GPUs unchanged.
t_cluster_reconfigure_refusals() {
	cluster_test "NodeName=ghost NodeAddr=10.255.255.1 CPUs=1 RealMemory=100" || return
	local before state
	before=$(sim_snapshot)
	state=$(node_field State)
	expect_rc 1 reconf -c keep --node ghost
	expect_contains "$ERR" "node ghost is not this machine: Slurm's node is at NodeAddr=10.255.255.1 NodeHostName=ghost"
	expect_contains "$ERR" "nothing was changed"
	expect_not_contains "$(scontrol -o show node ghost)" "migctl"
	expect_rc 1 reconf -c keep --node nosuch
	expect_contains "$ERR" "nosuch not found"
	# a symbolic link in place of gres.conf, planted by another user
	mkdir -p "$TEST_TMP/planted"
	echo "root's secret" >"$TEST_TMP/secret"
	ln -s "$TEST_TMP/secret" "$TEST_TMP/planted/gres.conf"
	chown -h nobody "$TEST_TMP/planted/gres.conf" 2>/dev/null
	expect_rc 1 reconf -c keep --gres-conf "$TEST_TMP/planted/gres.conf"
	expect_contains "$ERR" "gres.conf $TEST_TMP/planted/gres.conf is a symbolic link (owned by nobody"
	expect_contains "$ERR" "does not follow links"
	expect_eq "$(cat "$TEST_TMP/secret")" "root's secret" "the link's target"
	# a directory that cannot be written (read-only), or that does not exist
	mkdir -p "$TEST_TMP/ro"
	expect_rc 1 unshare -m sh -c "mount --bind '$TEST_TMP/ro' '$TEST_TMP/ro' && mount -o remount,bind,ro '$TEST_TMP/ro' && exec \"\$@\"" sh \
		"$MIGCTL" --sim slurm reconfigure -f "$TEST_TMP/mig.yaml" -c keep --gres-conf "$TEST_TMP/ro/gres.conf"
	expect_contains "$ERR" "gres.conf $TEST_TMP/ro/gres.conf cannot be written: cannot create a file in $TEST_TMP/ro: Read-only file system"
	expect_rc 1 reconf -c keep --gres-conf "$TEST_TMP/nowhere/gres.conf"
	expect_contains "$ERR" "cannot create a file in $TEST_TMP/nowhere"
	# slurm.conf without a line of this node's own
	sed "s/^NodeName=$HOST /NodeName=$HOST,ghost2 /" "$CL/etc/slurm.conf" >"$TEST_TMP/shared.conf"
	expect_rc 1 reconf -c keep --slurm-conf "$TEST_TMP/shared.conf"
	expect_contains "$ERR" "covers $HOST with other nodes: give $HOST a line of its own"
	# a config that does not exist: nothing drained
	expect_rc 1 reconf -c nosuchconfig
	expect_eq "$(node_field State)" "$state" "the node's state in Slurm"
	expect_eq "$(sim_snapshot)" "$before" "the GPUs"
	stop_cluster
}

run_tests
