# Sourced by the Slurm tests (after lib.sh): a real Slurm 22.05 cluster of Debian's daemons,
# started and stopped by the test. Needs sim() and $ROOT of the sourcing test.

# ---- a real Slurm cluster ----------------------------------------------------------------
# munged, slurmctld and slurmd of Debian's packages, with keys, sockets, state and logs under
# $TEST_TMP, stopped by their pids. Each slurmd runs in a mount namespace of its own whose
# /dev is its simulator's root/dev (made with mknod: the GPU, control and capability nodes,
# and null, zero, urandom, tty), so the gres.conf paths (/dev/nvidia0, /dev/nvidia-caps/...)
# are the ones migctl writes, and whose gres.conf and TaskProlog script are its own; one node
# on loopback, or two, each in a network namespace of its own joined to this host by a veth
# pair (removed with the namespace).
# CL_PROCTRACK, CL_TASKPLUGIN and CL_CGROUP_CONF (cgroup.conf's text), when set as the cluster
# starts, replace proctrack/linuxproc, task/none and the absent cgroup.conf.
CL="$TEST_TMP/cluster"
CL_PIDS=()
CL_NETNS=()
stop_cluster() {
	local p
	for p in "${CL_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${CL_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	CL_PIDS=()
	for p in "${CL_NETNS[@]}"; do
		ip netns del "$p" 2>/dev/null # takes its end of the veth pair, and so the pair, along
	done
	CL_NETNS=()
}
trap 'stop_cluster; rm -rf "$TEST_TMP"' EXIT

# why the cluster cannot run here (empty when it can)
cluster_missing() {
	[ "$(id -u)" -eq 0 ] || { echo "not root"; return; }
	local b
	for b in munged slurmctld slurmd srun sinfo scontrol unshare nsenter; do
		command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || { echo "no $b (scripts/install-deps.sh)"; return; }
	done
	mknod "$TEST_TMP/probe" c 1 3 2>/dev/null || { echo "mknod refused"; return; }
	rm -f "$TEST_TMP/probe"
	unshare -m true 2>/dev/null || echo "no mount namespaces (unshare -m refused)"
}

# wait_for SECONDS CMD...: until CMD succeeds (polling), 1 when it never did
wait_for() {
	local n=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

# start_munge: munged with a key, socket and logs of the test's own
start_munge() {
	rm -rf "$CL"
	mkdir -p "$CL/etc" "$CL/state" "$CL/munge" "$CL/log"
	chmod 700 "$CL/munge"
	head -c 1024 /dev/urandom >"$CL/munge/key"
	chmod 400 "$CL/munge/key"
	/usr/sbin/munged -F -f --socket="$CL/munge/sock" --key-file="$CL/munge/key" --pid-file="$CL/munge/pid" \
		--log-file="$CL/log/munged.log" --seed-file="$CL/munge/seed" >"$CL/log/munged.out" 2>&1 &
	CL_PIDS+=($!)
	wait_for 10 test -S "$CL/munge/sock"
}

# node_files NAME STATE: a node's gres.conf and task prolog (its simulated GPUs in STATE),
# and the /dev of its mount namespace; prints the Gres= value
node_files() {
	local name=$1 state=$2 root="$2.root" d
	mkdir -p "$CL/$name/etc" "$CL/spool/$name"
	MIGSIM_STATE=$state sim devices >/dev/null || return 1
	MIGSIM_STATE=$state "$MIGCTL" --sim slurm gres --mknod --output "$CL/$name/etc/gres.conf" >/dev/null || return 1
	for d in "null 1 3" "zero 1 5" "random 1 8" "urandom 1 9" "tty 5 0" "full 1 7"; do
		set -- $d
		[ -e "$root/dev/$1" ] || mknod -m 666 "$root/dev/$1" c "$2" "$3"
	done
	cat >"$CL/$name/prolog.sh" <<PROLOG
#!/bin/sh
exec env MIGSIM_STATE='$state' MIGSIM_QUIET=1 MIGCTL_CONF='$MIGCTL_CONF' '$MIGCTL' --nvml-lib '$MIGSIM_LIB' slurm task-prolog --gres-conf '$CL/$name/etc/gres.conf'
PROLOG
	chmod 755 "$CL/$name/prolog.sh"
	MIGSIM_STATE=$state "$MIGCTL" --sim slurm gres --gres-value
}

# slurm_conf HOST_ADDR PORT NODE_LINES...: slurm.conf (each slurmd reads it through a link in
# $CL/NAME/etc, beside that node's own gres.conf, which migctl rewrites there; the prolog is
# each node's own, bind-mounted in its mount namespace)
slurm_conf() {
	local addr=$1 port=$2
	shift 2
	touch "$CL/etc/gres.conf" "$CL/prolog.sh"
	cat >"$CL/etc/slurm.conf" <<CONF
ClusterName=migtest
SlurmctldHost=$(hostname -s)($addr)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$CL/munge/sock
StateSaveLocation=$CL/state
SlurmdSpoolDir=$CL/spool/%n
SlurmctldPidFile=$CL/slurmctld.pid
SlurmdPidFile=$CL/spool/%n/slurmd.pid
SlurmctldLogFile=$CL/log/slurmctld.log
SlurmdLogFile=$CL/log/slurmd-%n.log
ProctrackType=${CL_PROCTRACK:-proctrack/linuxproc}
TaskPlugin=${CL_TASKPLUGIN:-task/none}
TaskProlog=$CL/prolog.sh
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
MpiDefault=none
SlurmdParameters=config_overrides
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
SlurmdTimeout=30
$(printf '%s\n' "$@")
PartitionName=p Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
	export SLURM_CONF="$CL/etc/slurm.conf"
	[ -z "${CL_CGROUP_CONF:-}" ] || printf '%s\n' "$CL_CGROUP_CONF" >"$CL/etc/cgroup.conf"
}

# start_slurmctld [-i]: slurmctld of $SLURM_CONF (its pid in CL_CTLD, and CL_PIDS)
CL_CTLD=
start_slurmctld() {
	/usr/sbin/slurmctld -D "$@" -f "$SLURM_CONF" >>"$CL/log/slurmctld.out" 2>&1 &
	CL_CTLD=$!
	CL_PIDS+=($!)
}

# restart_slurmctld: stop it (it saves its state: jobs, node states) and start it again, as
# an admin does for a slurm.conf change that scontrol reconfigure does not take
restart_slurmctld() {
	kill "$CL_CTLD" && wait "$CL_CTLD" 2>/dev/null
	start_slurmctld
	wait_for 30 scontrol ping
}

# slurmd_in_ns NAME [NETNS]: slurmd for node NAME in a mount namespace of its own (its /dev,
# gres.conf and prolog), in network namespace NETNS when given
slurmd_in_ns() {
	local name=$1 root=$2 ns=${3:-}
	ln -sf "$SLURM_CONF" "$CL/$name/etc/slurm.conf"
	[ ! -e "$CL/etc/cgroup.conf" ] || ln -sf "$CL/etc/cgroup.conf" "$CL/$name/etc/cgroup.conf"
	local cmd="mount --make-rprivate / && mount --bind '$root/dev' /dev && mount --bind '$CL/$name/prolog.sh' '$CL/prolog.sh' && exec /usr/sbin/slurmd -D -f '$CL/$name/etc/slurm.conf' -N '$name'"
	if [ -n "$ns" ]; then
		nsenter --net="/run/netns/$ns" unshare -m sh -c "$cmd" >"$CL/log/slurmd-$name.out" 2>&1 &
	else
		unshare -m sh -c "$cmd" >"$CL/log/slurmd-$name.out" 2>&1 &
	fi
	CL_PIDS+=($!)
}

# start_two_nodes: nodes n1 and n2, each slurmd in network and mount namespaces of its own,
# joined to this host by a veth pair (10.213.X.1-2 and .5-6), with its own simulated GPUs
# (MIGSIM_STATE $TEST_TMP/n1.json, n2.json); slurmctld and munged here
start_two_nodes() {
	local port=$((20000 + ($$ % 10000) * 2)) o=$(($$ % 250)) i ns gres1 gres2
	start_munge || return 1
	for i in 1 2; do
		ns="migt$$n$i"
		ip netns add "$ns" || return 1
		CL_NETNS+=("$ns")
		ip link add "mgt$$h$i" type veth peer name "mgt$$n$i" || return 1
		ip link set "mgt$$n$i" netns "$ns" || return 1
		ip addr add "10.213.$o.$((i * 4 - 3))/30" dev "mgt$$h$i"
		ip link set "mgt$$h$i" up
		ip -n "$ns" addr add "10.213.$o.$((i * 4 - 2))/30" dev "mgt$$n$i"
		ip -n "$ns" link set "mgt$$n$i" up
		ip -n "$ns" link set lo up
		ip -n "$ns" route add default via "10.213.$o.$((i * 4 - 3))"
	done
	gres1=$(node_files n1 "$TEST_TMP/n1.json") || return 1
	gres2=$(node_files n2 "$TEST_TMP/n2.json") || return 1
	slurm_conf "10.213.$o.1" "$port" \
		"NodeName=n1 NodeAddr=10.213.$o.2 CPUs=4 RealMemory=1000 Gres=$gres1" \
		"NodeName=n2 NodeAddr=10.213.$o.6 CPUs=4 RealMemory=1000 Gres=$gres2"
	start_slurmctld -i
	slurmd_in_ns n1 "$TEST_TMP/n1.json.root" "migt$$n1"
	slurmd_in_ns n2 "$TEST_TMP/n2.json.root" "migt$$n2"
	wait_for 30 sh -c '[ "$(sinfo -h -N -o %T | grep -cx idle)" = 2 ]'
}

# start_cluster [NODE_LINE...]: one node on loopback, named after this host, its GPUs the
# simulator's ($MIGSIM_STATE), its slurmd in a mount namespace of its own; NODE_LINEs add
# nodes to slurm.conf that no slurmd serves
start_cluster() {
	local host gres port=$((20000 + ($$ % 10000) * 2))
	host=$(hostname -s)
	start_munge || return 1
	gres=$(node_files "$host" "$MIGSIM_STATE") || return 1
	slurm_conf 127.0.0.1 "$port" "NodeName=$host NodeAddr=127.0.0.1 CPUs=4 RealMemory=1000 Gres=$gres" "$@"
	start_slurmctld -i
	slurmd_in_ns "$host" "$ROOT"
	wait_for 30 sh -c "sinfo -h -N -o %T | grep -qx idle"
}

# cluster_up [NODE_LINE...]: start_cluster, or fail with the daemons' last words
cluster_up() {
	start_cluster "$@" && return 0
	fail "the cluster did not start: $(tail -n 5 "$CL"/log/* 2>/dev/null)"
	stop_cluster
	return 1
}

