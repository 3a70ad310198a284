#!/usr/bin/env bash
# CDI specs proven with real podman (issue 11): Debian's podman 4.3.1 with runc, as root,
# against the simulator with device nodes made by mknod. Settings from
# ../shared/reference/real-consumers.md: runc and cgroupfs (crun refuses hybrid cgroups), a
# containers.conf with default_ulimits = [] (setrlimit is refused here), a busybox root file
# system imported from busybox-static (no image can be pulled), --network none, and the spec
# in /var/run/cdi (podman 4.3.1 reads /etc/cdi and /var/run/cdi only). Images and containers
# live in a private storage root under the test's directory; the specs the test writes in
# /var/run/cdi are removed when it ends. Skipped, saying why, when not root, without mknod or
# without podman, runc or busybox (scripts/install-deps.sh installs them; .ci/run is root).
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGSIM_TRACE MIGSIM_ROOT
export MIGCTL_CONF="$TEST_TMP/none.conf"
export MIGCTL_LOCK="$TEST_TMP/apply.lock" MIGCTL_JOURNAL="$TEST_TMP/journal.json"
ROOT="$MIGSIM_STATE.root"
SPEC="/var/run/cdi/migctl-test-$$.yaml"

skip_all() {
	echo "1..1"
	echo "ok 1 # SKIP $*"
	exit 0
}

[ "$(id -u)" -eq 0 ] || skip_all "not root: podman with device nodes needs root (.ci/run runs it as root)"
for p in podman runc busybox; do
	command -v "$p" >/dev/null 2>&1 || skip_all "$p is not installed (scripts/install-deps.sh installs podman, runc, busybox-static)"
done
mknod "$TEST_TMP/probe" c 1 3 2>/dev/null || skip_all "mknod is refused here (no CAP_MKNOD, or a nodev file system)"
rm -f "$TEST_TMP/probe"
for d in /etc/cdi /var/run/cdi; do
	if grep -qs 'kind: "\?nvidia.com/mig' "$d"/*.yaml "$d"/*.json 2>/dev/null; then
		skip_all "$d already has a spec of kind nvidia.com/mig (not this test's); podman would see two"
	fi
done

trap 'rm -f "$SPEC" /var/run/cdi/.migctl-test-$$.yaml.tmp.*; rm -rf "$TEST_TMP"' EXIT

cat >"$TEST_TMP/containers.conf" <<'EOF'
[containers]
default_ulimits = []
EOF
export CONTAINERS_CONF="$TEST_TMP/containers.conf"
PODMAN=(podman --root "$TEST_TMP/storage" --runroot "$TEST_TMP/runroot" --storage-driver vfs --runtime runc
	--cgroup-manager cgroupfs)

mkdir -p "$TEST_TMP/rootfs/bin"
cp "$(command -v busybox)" "$TEST_TMP/rootfs/bin/busybox"
for x in sh ls env cat stat; do ln -s busybox "$TEST_TMP/rootfs/bin/$x"; done
tar -C "$TEST_TMP/rootfs" -cf "$TEST_TMP/bb.tar" . || skip_all "cannot build the busybox root file system"
"${PODMAN[@]}" import "$TEST_TMP/bb.tar" localhost/migctl-bb:1 >/dev/null 2>"$TEST_TMP/import.err" ||
	skip_all "podman import failed: $(head -1 "$TEST_TMP/import.err")"

sim() { "$MIGSIM" "$@"; }

# in_container DEVICE...: run one container with these CDI devices; prints, one per line,
# "path major:minor" (hex, as stat says) of every NVIDIA node it sees, then its
# CUDA_VISIBLE_DEVICES. Sets $RC, $OUT and $ERR.
in_container() {
	local args=() d
	for d in "$@"; do args+=(--device "$d"); done
	"${PODMAN[@]}" run --rm --network none "${args[@]}" localhost/migctl-bb:1 sh -c \
		'for f in /dev/nvidia* /dev/nvidia-caps/*; do [ -c "$f" ] && stat -c "%n %t:%T" "$f"; done; echo "CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"' \
		>"$TEST_TMP/out" 2>"$TEST_TMP/err"
	RC=$?
	OUT=$(cat "$TEST_TMP/out")
	ERR=$(cat "$TEST_TMP/err")
}

hex() { printf '%x:%x' "$1" "$2"; }

# the node: GPU 0 with 3g.20gb (GI 2) and 1g.5gb (GI 7), GPU 1 with 2g.10gb (GI 5, at 4:2 where
# the placement policy keeps room for a 4g); nodes made
setup_node() {
	sim init 2xA100-SXM4-40GB >/dev/null
	mc 0 mode enable
	mc 0 -i 0 create 3g.20gb,1g.5gb -C
	mc 0 -i 1 create 2g.10gb -C
	expect_rc 0 sim devices
	mc 0 cdi generate --mknod --output "$SPEC"
}

# the MIG UUID of name (e.g. 0:1) from the spec
uuid_of() {
	python3 -c '
import sys, yaml
for d in yaml.safe_load(open(sys.argv[1]))["devices"]:
    if d["name"] == sys.argv[2]:
        print(d["containerEdits"]["env"][0].split("=", 1)[1])' "$SPEC" "$1"
}

t_one_mig_device_sees_exactly_its_nodes() {
	setup_node
	local uuid
	uuid=$(uuid_of 0:1)
	expect_contains "$uuid" "MIG-"
	local name
	for name in nvidia.com/mig=0:1 "nvidia.com/mig=$uuid"; do
		in_container "$name"
		expect_eq "$RC" 0 "podman run --device $name (stderr: $ERR)"
		# 0:1 is GI 7 / CI 0 on GPU 0: gpu0/gi7 -> 66, its ci0 -> 67
		expect_eq "$(echo "$OUT" | grep '^/dev/nvidia-caps/' | sort | tr '\n' ' ')" \
			"/dev/nvidia-caps/nvidia-cap66 $(hex 237 66) /dev/nvidia-caps/nvidia-cap67 $(hex 237 67) " "$name capability nodes"
		expect_contains "$OUT" "/dev/nvidia0 $(hex 195 0)"
		expect_contains "$OUT" "/dev/nvidiactl $(hex 195 255)"
		expect_contains "$OUT" "/dev/nvidia-uvm $(hex 508 0)"
		expect_contains "$OUT" "/dev/nvidia-uvm-tools $(hex 508 1)"
		expect_not_contains "$OUT" "/dev/nvidia1 "
		expect_contains "$OUT" "CUDA_VISIBLE_DEVICES=$uuid"
	done
	in_container nvidia.com/mig=1:0
	expect_eq "$(echo "$OUT" | grep '^/dev/nvidia-caps/' | sort | tr '\n' ' ')" \
		"/dev/nvidia-caps/nvidia-cap183 $(hex 237 183) /dev/nvidia-caps/nvidia-cap184 $(hex 237 184) " "GPU 1's 2g.10gb (placed at 4:2, so GI 5: gpu1/gi5 -> 183, its ci0 -> 184)"
	expect_contains "$OUT" "/dev/nvidia1 $(hex 195 1)"
	expect_not_contains "$OUT" "/dev/nvidia0 "
	in_container nvidia.com/mig=9:9
	[ "$RC" -ne 0 ] || fail "an unknown name resolved"
	expect_contains "$ERR" "unresolvable CDI devices nvidia.com/mig=9:9"
}

t_two_containers_see_disjoint_capabilities() {
	setup_node
	in_container nvidia.com/mig=0:0
	local a b
	a=$(echo "$OUT" | grep '^/dev/nvidia-caps/' | sort)
	in_container nvidia.com/mig=0:1
	b=$(echo "$OUT" | grep '^/dev/nvidia-caps/' | sort)
	expect_eq "$(echo "$a" | wc -l) $(echo "$b" | wc -l)" "2 2" "capability nodes per container"
	expect_eq "$(comm -12 <(echo "$a") <(echo "$b"))" "" "capability nodes both containers see"
}

t_apply_new_layout_kept_new_and_destroyed() {
	sim init A100-SXM4-40GB >/dev/null
	expect_rc 0 sim devices
	cat >"$TEST_TMP/migctl.conf" <<EOF
cdi = yes
cdi-output = $SPEC
cdi-mknod = yes
EOF
	export MIGCTL_CONF="$TEST_TMP/migctl.conf"
	cat >"$TEST_TMP/layouts.yaml" <<'EOF'
version: v1
mig-configs:
  a:
    - devices: all
      mig-enabled: true
      mig-devices: { "1g.5gb": 7 }
  b:
    - devices: all
      mig-enabled: true
      mig-devices: { "1g.5gb": 3, "3g.20gb": 1 }
EOF
	mc 0 apply -f "$TEST_TMP/layouts.yaml" -c a
	local before
	before=$(python3 -c '
import sys, yaml
for d in yaml.safe_load(open(sys.argv[1]))["devices"]:
    if d["name"].startswith("MIG-"):
        print(d["name"], " ".join(str(n["minor"]) for n in d["containerEdits"]["deviceNodes"]))' "$SPEC")
	expect_eq "$(echo "$before" | wc -l)" 7 "MIG devices after apply a"
	local seen
	in_container "nvidia.com/mig=$(echo "$before" | head -1 | cut -d' ' -f1)"
	expect_eq "$RC" 0 "a device of layout a resolves (stderr: $ERR)"
	mc 0 apply -f "$TEST_TMP/layouts.yaml" -c b
	local kept=0 gone=0 line uuid minors
	while read -r uuid minors; do
		if grep -q "\"$uuid\"" "$SPEC"; then
			kept=$((kept + 1))
			in_container "nvidia.com/mig=$uuid"
			expect_eq "$RC" 0 "kept $uuid resolves (stderr: $ERR)"
			seen=$(echo "$OUT" | grep '^/dev/nvidia-caps/' | sed 's/.*nvidia-cap\([0-9]*\) .*/\1/' | sort -n | tr '\n' ' ')
			expect_eq "0 ${seen% }" "$minors" "$uuid keeps its nodes (GPU minor, GI and CI capability minors)"
		else
			gone=$((gone + 1))
			in_container "nvidia.com/mig=$uuid"
			[ "$RC" -ne 0 ] || fail "destroyed $uuid still resolves"
			expect_contains "$ERR" "unresolvable CDI devices nvidia.com/mig=$uuid"
		fi
	done <<<"$before"
	expect_eq "$kept $gone" "3 4" "kept and destroyed 1g.5gb devices"
	# the new 3g.20gb resolves, with GI 1 (placement 4) capabilities
	mc 0 list --json
	local new
	new=$(echo "$OUT" | json_eval "[c['uuid'] for gi in d['gpus'][0]['gpu_instances'] if gi['profile'] == '3g.20gb' for c in gi['compute_instances']][0]")
	in_container "nvidia.com/mig=$new"
	expect_eq "$RC" 0 "the new 3g.20gb resolves (stderr: $ERR)"
	expect_contains "$OUT" "CUDA_VISIBLE_DEVICES=$new"
	export MIGCTL_CONF="$TEST_TMP/none.conf"
}

t_kill_during_apply_leaves_no_vanished_device() {
	sim init A100-SXM4-40GB >/dev/null
	expect_rc 0 sim devices
	printf 'cdi = yes\ncdi-output = %s\ncdi-mknod = yes\n' "$SPEC" >"$TEST_TMP/migctl.conf"
	export MIGCTL_CONF="$TEST_TMP/migctl.conf"
	local cfg="$(dirname "$0")/../../examples/a100-40gb.yaml"
	mc 0 apply -f "$cfg" -c all-1g.5gb
	local old
	old=$(grep -o '"MIG-[^"]*"' "$SPEC" | sort -u | tr -d '"')
	sim latency set gi-destroy 250 >/dev/null
	"$MIGCTL" --sim apply -f "$cfg" -c all-3g.20gb >/dev/null 2>&1 &
	local pid=$! i
	for i in $(seq 100); do
		[ -e "$ROOT/proc/driver/nvidia/capabilities/gpu0/mig/gi13" ] || break
		sleep 0.05
	done
	sleep 0.3
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	sim latency clear >/dev/null
	mc 0 status # the next migctl command
	mc 0 list --json
	local live uuid
	live=$(echo "$OUT" | json_eval "' '.join(c['uuid'] for g in d['gpus'] for gi in g['gpu_instances'] for c in gi['compute_instances'])")
	for uuid in $(grep -o '"MIG-[^"]*"' "$SPEC" | sort -u | tr -d '"'); do
		expect_contains " $live " " $uuid "
	done
	local vanished=0
	for uuid in $old; do
		case " $live " in
		*" $uuid "*) ;;
		*)
			vanished=$((vanished + 1))
			[ "$vanished" -eq 1 ] || continue
			in_container "nvidia.com/mig=$uuid"
			expect_contains "$ERR" "unresolvable CDI devices nvidia.com/mig=$uuid"
			;;
		esac
	done
	[ "$vanished" -gt 0 ] || fail "the killed apply destroyed nothing: the test did not kill it in the middle"
	export MIGCTL_CONF="$TEST_TMP/none.conf"
}

# every_profile_in_podman MODELS: on a node of these models, every profile of each, round after
# round, in a spec podman takes; the profile names seen are appended to $TEST_TMP/all-profiles.
every_profile_in_podman() {
	local models=$1
	sim init "$models" >/dev/null || fail "migsim init $models"
	mc 0 mode enable
	expect_rc 0 sim devices
	mc 0 --json profiles
	local n
	n=$(echo "$OUT" | json_eval "len(d['gpus'])")
	echo "$OUT" | json_eval "[[p['name'] for p in g['profiles']] for g in d['gpus']]" >"$TEST_TMP/profiles.json"
	local rounds r g p
	rounds=$(json_eval "max(len(x) for x in d)" <"$TEST_TMP/profiles.json")
	local last
	for r in $(seq 0 $((rounds - 1))); do
		mc 0 destroy --all
		for g in $(seq 0 $((n - 1))); do
			p=$(json_eval "d[$g][$r] if $r < len(d[$g]) else ''" <"$TEST_TMP/profiles.json")
			[ -n "$p" ] || continue
			mc 0 -i "$g" create "$p" -C
			last="$g:0 ($p)"
		done
		mc 0 cdi generate --mknod --output "$SPEC"
		in_container nvidia.com/mig=all
		expect_eq "$RC" 0 "round $r: podman takes the spec (stderr: $ERR)"
		in_container "nvidia.com/mig=${last%% *}"
		expect_eq "$RC" 0 "round $r: nvidia.com/mig=$last (stderr: $ERR)"
	done
	cat "$TEST_TMP/profiles.json" >>"$TEST_TMP/all-profiles"
}

t_spec_passes_podman_validation_for_every_model() {
	# a simulated node holds at most 16 GPUs: the MIG models in batches of 8
	local models
	models=$("$MIGSIM" models --json | json_eval "' '.join(m['model'] for m in d if m['profiles'])")
	set -- $models
	[ $# -ge 10 ] || fail "only $# MIG models: $models"
	: >"$TEST_TMP/all-profiles"
	while [ $# -gt 0 ]; do
		every_profile_in_podman "$(echo "${@:1:8}" | tr ' ' ',')"
		shift $(($# < 8 ? $# : 8))
	done
	expect_contains "$(cat "$TEST_TMP/all-profiles")" "+gfx"
	expect_contains "$(cat "$TEST_TMP/all-profiles")" "-me"
}

run_tests
