#!/usr/bin/env bash
# migctl run --isolate (issue 12): the command runs in a cgroup v1 devices cgroup that allows
# only its MIG device's nodes, the control nodes and the harmless ones.
#
# There is no driver here, so nothing can really open an NVIDIA node; but the cgroup's verdict
# comes first: a node the cgroup allows fails with ENXIO ("No such device or address", no
# driver behind its major), a node it denies with EPERM ("Operation not permitted"). The nodes
# are made with mknod under the simulator's root (migsim devices, and migctl's own mknod of the
# capability nodes). Needs root, a mounted cgroup v1 devices controller and mknod; skips,
# saying which is missing, otherwise. The refusals (no devices controller, a cgroup that
# cannot be created) are tested everywhere, through MIGCTL_CGROUP_MOUNTS.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGSIM_TRACE \
	MIGCTL_CGROUP_MOUNTS

export MIGCTL_LOCK="$TEST_TMP/apply.lock" MIGCTL_JOURNAL="$TEST_TMP/journal.json"
export MIGCTL_LEASES="$TEST_TMP/leases.json" MIGCTL_CONF="$TEST_TMP/migctl.conf"
export MIGSIM_ROOT="$TEST_TMP/root"

m() { "$MIGCTL" --sim "$@"; }

# The probe the command runs: each path, then OK or the errno's name of opening it.
cat >"$TEST_TMP/probe.py" <<'EOF'
import errno, os, sys
for p in sys.argv[1:]:
    try:
        os.close(os.open(p, os.O_RDONLY))
        print(p, "OK")
    except OSError as e:
        print(p, errno.errorcode.get(e.errno, str(e.errno)))
EOF

DEVICES_MNT=$(awk '$3 == "cgroup" && ("," $4 ",") ~ /,devices,/ { print $2; exit }' /proc/self/mounts)
# where migctl makes its cgroups: under its own cgroup of the devices hierarchy
if [ -n "$DEVICES_MNT" ]; then
	DEVICES_MNT=$DEVICES_MNT$(awk -F: '("," $2 ",") ~ /,devices,/ { if ($3 != "/") print $3; exit }' /proc/self/cgroup)
fi

# why_not: the reason the real isolation cannot be tested here, or nothing.
why_not() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "needs root (cgroups and mknod)"
	elif [ -z "$DEVICES_MNT" ]; then
		echo "no cgroup v1 devices controller is mounted here"
	elif ! MIGSIM_ROOT="$TEST_TMP/probe-root" "$MIGSIM" devices >/dev/null 2>&1; then
		echo "mknod is refused here (migsim devices)"
	fi
}

# setup: two A100s with MIG, the driver's nodes, and another MIG device on GPU 0 whose
# capability nodes exist (OTHER_GI, OTHER_CI: their paths under the root).
setup() {
	rm -rf "$MIGSIM_ROOT" "$MIGCTL_LEASES"
	"$MIGSIM" init 2xA100-SXM4-40GB >/dev/null || fail "migsim init"
	m mode enable >/dev/null || fail "mode enable"
	"$MIGSIM" devices >/dev/null || fail "migsim devices"
	m -i 0 create 3g.20gb -C >/dev/null || fail "create the other MIG device"
	m cdi generate --mknod --output "$TEST_TMP/cdi.yaml" >/dev/null || fail "cdi generate --mknod"
	OTHER=$(grep -o '/dev/nvidia-caps/nvidia-cap[0-9]*' "$TEST_TMP/cdi.yaml" | sort -u | tr '\n' ' ')
	set -- $OTHER
	[ $# -eq 2 ] || fail "the other MIG device has two capability nodes: '$OTHER'"
}

# alive PID: the process runs (a zombie waiting for its reaper does not)
alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

node_count() {
	m list --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(len(gi.get("compute_instances", [])) for g in d["gpus"] for gi in g.get("gpu_instances", [])))'
}

# verdict PATH: what the probe said about PATH (from $OUT)
verdict() {
	echo "$OUT" | awk -v p="$MIGSIM_ROOT$1" '$1 == p { print $2; exit }'
}

# run_probe [--isolate]: a run whose command probes its own nodes (MIGCTL_DEVICE_NODES), GPU 0's
# and GPU 1's nodes, the other MIG device's capability nodes and /dev/null; results in $OUT.
run_probe() {
	local other_gi other_ci
	read -r other_gi other_ci <<<"$OTHER"
	expect_rc 0 m -i 0 run "$@" --profile 1g.5gb -- sh -c '
		t=$1 py=$2
		grep devices /proc/self/cgroup >"$t/cgroup"
		echo "$MIGCTL_DEVICE_NODES" >"$t/nodes"
		paths=
		for p in $MIGCTL_DEVICE_NODES; do paths="$paths $t/root$p"; done
		exec "$py" "$t/probe.py" $paths "$t/root/dev/nvidia0" "$t/root/dev/nvidiactl" "$t/root/dev/nvidia1" \
			"$t/root$3" "$t/root$4" /dev/null' sh "$TEST_TMP" "$PYTHON3" "$other_gi" "$other_ci"
}

t_isolate_allows_only_its_own_device() {
	local why
	why=$(why_not)
	[ -n "$why" ] && { skip "$why"; return; }
	setup
	local other_gi other_ci before
	read -r other_gi other_ci <<<"$OTHER"
	before=$(node_count)
	run_probe --isolate
	# in a cgroup of its own, named after migctl's pid and the lease
	expect_contains "$(cat "$TEST_TMP/cgroup")" ":devices:"
	expect_contains "$(cat "$TEST_TMP/cgroup")" "/migctl-run."
	# its nodes: the GPU's, its GPU and compute instance capabilities, and the control nodes
	local nodes
	nodes=$(cat "$TEST_TMP/nodes")
	set -- $nodes
	expect_eq "$#" 6 "allowed nvidia nodes ($nodes)"
	expect_eq "$1" /dev/nvidia0 "the GPU's node"
	expect_contains "$nodes" "/dev/nvidiactl"
	expect_contains "$nodes" "/dev/nvidia-uvm"
	expect_contains "$nodes" "/dev/nvidia-uvm-tools"
	expect_not_contains "$nodes" "$other_gi "
	local p
	for p in $nodes; do
		expect_eq "$(verdict "$p")" ENXIO "$p (allowed: no driver behind it)"
	done
	# the other MIG device and the other GPU: denied by the cgroup
	expect_eq "$(verdict "$other_gi")" EPERM "the other MIG device's GPU instance capability"
	expect_eq "$(verdict "$other_ci")" EPERM "the other MIG device's compute instance capability"
	expect_eq "$(verdict /dev/nvidia1)" EPERM "the other GPU's node"
	expect_contains "$OUT" "/dev/null OK"
	# afterwards: no cgroup left, the lease released, its instance gone
	expect_eq "$(ls -d "$DEVICES_MNT"/migctl-run.* 2>/dev/null)" "" "cgroups left"
	expect_eq "$(node_count)" "$before" "MIG devices after the run"
	expect_rc 0 m leases --json
	expect_eq "$(echo "$OUT" | json_eval "len(d['leases'])")" 0 "leases after the run"
}

t_without_isolate_the_cgroup_allows_everything() {
	local why
	why=$(why_not)
	[ -n "$why" ] && { skip "$why"; return; }
	setup
	local other_gi other_ci
	read -r other_gi other_ci <<<"$OTHER"
	run_probe
	# CUDA_VISIBLE_DEVICES only selects: the other device's nodes open as far as the driver
	expect_eq "$(verdict "$other_gi")" ENXIO "the other MIG device's GPU instance capability"
	expect_eq "$(verdict "$other_ci")" ENXIO "the other MIG device's compute instance capability"
	expect_eq "$(verdict /dev/nvidia1)" ENXIO "the other GPU's node"
	expect_eq "$(cat "$TEST_TMP/nodes")" "" "MIGCTL_DEVICE_NODES without --isolate"
}

t_isolate_passes_the_exit_status_and_removes_leftovers() {
	local why
	why=$(why_not)
	[ -n "$why" ] && { skip "$why"; return; }
	setup
	expect_rc 7 m run --isolate --profile 1g.5gb -- sh -c 'exit 7'
	# a process the command leaves behind is killed with the cgroup: it could reach the device
	expect_rc 0 m run --isolate --profile 1g.5gb -- sh -c "sleep 300 & echo \$! >'$TEST_TMP/left'"
	local left
	left=$(cat "$TEST_TMP/left")
	sleep 0.1
	alive "$left" && fail "the process left in the cgroup still runs"
	expect_eq "$(ls -d "$DEVICES_MNT"/migctl-run.* 2>/dev/null)" "" "cgroups left"
}

t_isolate_cgroup_of_a_killed_run_is_removed_next_time() {
	local why
	why=$(why_not)
	[ -n "$why" ] && { skip "$why"; return; }
	setup
	rm -f "$TEST_TMP/child"
	"$MIGCTL" --sim run --isolate --profile 1g.5gb -- sh -c "echo \$\$ >'$TEST_TMP/child'; exec sleep 300" &
	local pid=$! i child cg
	for i in $(seq 1 200); do
		[ -s "$TEST_TMP/child" ] && break
		sleep 0.02
	done
	child=$(cat "$TEST_TMP/child")
	[ -n "$child" ] || fail "the command did not start"
	cg=$(ls -d "$DEVICES_MNT/migctl-run.$pid".* 2>/dev/null)
	[ -n "$cg" ] || fail "no cgroup for run $pid"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	# migctl is gone; its command still runs, confined, in the cgroup
	expect_contains "$(cat "$cg/cgroup.procs" 2>/dev/null)" "$child"
	# the next run --isolate removes the cgroup and ends what runs in it (its lease ended)
	expect_rc 0 m run --isolate --profile 1g.5gb -- true
	[ -e "$cg" ] && fail "the cgroup $cg of the killed run is still there"
	sleep 0.1
	alive "$child" && { fail "the killed run's command still runs"; kill -9 "$child"; }
	expect_rc 0 m leases --json
	expect_eq "$(echo "$OUT" | json_eval "len(d['leases'])")" 0 "leases after the reconcile"
}

# Refusals: tested everywhere, they need neither root nor a devices controller.
t_isolate_refused_without_a_devices_controller() {
	"$MIGSIM" init A100-SXM4-40GB >/dev/null
	m mode enable >/dev/null
	printf 'cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n' >"$TEST_TMP/mounts-v2"
	rm -f "$TEST_TMP/ran"
	MIGCTL_CGROUP_MOUNTS="$TEST_TMP/mounts-v2" expect_rc 125 m run --isolate --profile 1g.5gb -- touch "$TEST_TMP/ran"
	expect_contains "$ERR" "no cgroup v1 devices controller is mounted"
	expect_contains "$ERR" "cgroup v2 only"
	expect_contains "$ERR" "supports only the cgroup v1 devices controller"
	expect_contains "$ERR" "nothing was leased"
	[ -e "$TEST_TMP/ran" ] && fail "the command ran without its isolation"
	expect_eq "$(node_count)" 0 "MIG devices"
	# no cgroup file system at all
	: >"$TEST_TMP/mounts-none"
	MIGCTL_CGROUP_MOUNTS="$TEST_TMP/mounts-none" expect_rc 125 m run --isolate --profile 1g.5gb -- true
	expect_contains "$ERR" "no cgroup v1 devices controller is mounted"
	expect_not_contains "$ERR" "v2 only"
	# --isolate is an option of run only
	expect_rc 2 m lease --isolate --profile 1g.5gb
	expect_contains "$ERR" "unknown option '--isolate'"
}

t_isolate_cgroup_refused_releases_the_lease() {
	"$MIGSIM" init A100-SXM4-40GB >/dev/null
	m mode enable >/dev/null
	rm -rf "$MIGSIM_ROOT"
	# the devices hierarchy "mounted" on a plain file: the cgroup cannot be made
	: >"$TEST_TMP/not-a-dir"
	printf 'cgroup %s cgroup rw,relatime,devices 0 0\n' "$TEST_TMP/not-a-dir" >"$TEST_TMP/mounts-file"
	rm -f "$TEST_TMP/ran"
	MIGCTL_CGROUP_MOUNTS="$TEST_TMP/mounts-file" expect_rc 125 m run --isolate --profile 1g.5gb -- touch "$TEST_TMP/ran"
	if [ "$(id -u)" -eq 0 ]; then
		expect_contains "$ERR" "cannot create the device cgroup $TEST_TMP/not-a-dir"
		expect_contains "$ERR" "Not a directory"
	else
		expect_contains "$ERR" "run --isolate: "
	fi
	expect_contains "$ERR" "was released; the command was not run"
	[ -e "$TEST_TMP/ran" ] && fail "the command ran without its isolation"
	expect_eq "$(node_count)" 0 "MIG devices after the refusal"
	expect_rc 0 m leases --json
	expect_eq "$(echo "$OUT" | json_eval "len(d['leases'])")" 0 "leases after the refusal"
}

t_isolate_rule_refused_removes_the_cgroup() {
	if [ "$(id -u)" -ne 0 ]; then
		skip "needs root: run --isolate makes the missing capability nodes (mknod) before its cgroup"
		return
	fi
	"$MIGSIM" init A100-SXM4-40GB >/dev/null
	m mode enable >/dev/null
	rm -rf "$MIGSIM_ROOT"
	# a plain directory where the devices hierarchy should be: the run's directory is made,
	# but it has no devices.deny to write (as a cgroup that refuses a rule)
	mkdir -p "$TEST_TMP/plain"
	printf 'cgroup %s cgroup rw,relatime,devices 0 0\n' "$TEST_TMP/plain" >"$TEST_TMP/mounts-plain"
	rm -f "$TEST_TMP/ran"
	MIGCTL_CGROUP_MOUNTS="$TEST_TMP/mounts-plain" expect_rc 125 m run --isolate --profile 1g.5gb -- touch "$TEST_TMP/ran"
	expect_contains "$ERR" "run --isolate: the device cgroup $TEST_TMP/plain/migctl-run."
	expect_contains "$ERR" "refused 'deny every device'"
	expect_contains "$ERR" "was released; the command was not run"
	[ -e "$TEST_TMP/ran" ] && fail "the command ran without its isolation"
	expect_eq "$(ls "$TEST_TMP/plain")" "" "what the refused run left in the hierarchy"
	expect_eq "$(node_count)" 0 "MIG devices after the refusal"
}

run_tests
