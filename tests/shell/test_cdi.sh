#!/usr/bin/env bash
# Device nodes and CDI specs (issue 11), against the simulator: its /proc side (mig-minors,
# /proc/devices, per-instance capability files), the nodes libmig reads from it (status,
# list --json), migctl cdi generate|list (content, atomic write, every refusal), and the
# spec kept current after every change when migctl.conf asks for it (create, destroy,
# a failed change, apply killed with -9, nvidia-ctk). Real podman: test_cdi_podman.sh.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGSIM_TRACE MIGSIM_ROOT
export MIGCTL_CONF="$TEST_TMP/none.conf" # never the machine's /etc/migctl/migctl.conf
export MIGCTL_LOCK="$TEST_TMP/apply.lock" MIGCTL_JOURNAL="$TEST_TMP/journal.json"
HERE=$(cd "$(dirname "$0")" && pwd)
EXAMPLES="$HERE/../../examples"
ROOT="$MIGSIM_STATE.root"

sim() { "$MIGSIM" "$@"; }


# run_tests, with skips

# two A100s, MIG on, GPU 0: 3g.20gb + 1g.5gb (GI 2 and 7 with CI 0 each)
setup_two() {
	sim init 2xA100-SXM4-40GB >/dev/null
	mc 0 mode enable
	mc 0 -i 0 create 3g.20gb,1g.5gb -C
}

is_root_with_mknod() {
	[ "$(id -u)" -eq 0 ] || return 1
	mknod "$TEST_TMP/probe" c 1 3 2>/dev/null || return 1
	rm -f "$TEST_TMP/probe"
}

t_sim_root_has_the_driver_tables() {
	sim init 2xA100-SXM4-40GB >/dev/null
	expect_rc 0 sim root
	expect_eq "$OUT" "$ROOT" "migsim root"
	local minors="$ROOT/proc/driver/nvidia-caps/mig-minors"
	[ -f "$minors" ] || fail "no $minors"
	expect_eq "$(head -2 "$minors" | tr '\n' ' ')" "config 1 monitor 2 " "first lines"
	expect_eq "$(wc -l <"$minors")" "$((2 + 2 * 135))" "lines for 2 GPUs"
	expect_eq "$(grep -c . "$minors")" "272"
	# the facts' examples: gpu0/gi2 -> 21, gpu0/gi2/ci0 -> 22; gpu1/gi14/ci7 -> 3+135+126+8
	expect_contains "$(cat "$minors")" $'gpu0/gi2/access 21\ngpu0/gi2/ci0/access 22'
	expect_contains "$(cat "$minors")" "gpu1/gi14/ci7/access 272"
	expect_contains "$(cat "$ROOT/proc/devices")" "237 nvidia-caps"
	expect_contains "$(cat "$ROOT/proc/devices")" "508 nvidia-uvm"
	[ -e "$ROOT/proc/driver/nvidia/capabilities/mig/config" ] || fail "no mig/config capability file"
	# MIGSIM_ROOT moves it
	expect_eq "$(MIGSIM_ROOT="$TEST_TMP/elsewhere" sim root)" "$TEST_TMP/elsewhere" "MIGSIM_ROOT"
	[ -f "$TEST_TMP/elsewhere/proc/driver/nvidia-caps/mig-minors" ] || fail "MIGSIM_ROOT not filled"
}

t_sim_capability_files_follow_instances() {
	setup_two
	local caps="$ROOT/proc/driver/nvidia/capabilities/gpu0/mig"
	for f in gi2/access gi2/ci0/access gi7/access gi7/ci0/access; do
		[ -f "$caps/$f" ] || fail "no $caps/$f after create"
	done
	expect_contains "$(cat "$caps/gi2/access")" "DeviceFileMinor: 21"
	expect_contains "$(cat "$caps/gi2/access")" "DeviceFileMode: 292"
	expect_contains "$(cat "$caps/gi2/ci0/access")" "DeviceFileMinor: 22"
	mc 0 -i 0 destroy --gi 7
	[ -e "$caps/gi7" ] && fail "gi7 capability files stay after destroy"
	[ -f "$caps/gi2/ci0/access" ] || fail "gi2 went with gi7"
	mc 0 -i 0 destroy --gi 2 --ci 0
	[ -e "$caps/gi2/ci0" ] && fail "ci0 capability file stays after destroy-ci"
	[ -f "$caps/gi2/access" ] || fail "the GI's file went with its CI"
	sim reset --gpu 0 >/dev/null
	[ -n "$(ls "$caps")" ] && fail "capability files stay after a GPU reset: $(ls "$caps")"
}

t_sim_devices_mknod_or_says_why() {
	sim init A100-SXM4-40GB >/dev/null
	if is_root_with_mknod; then
		expect_rc 0 sim devices
		local st
		st=$(stat -c '%F %t:%T' "$ROOT/dev/nvidia0")
		expect_eq "$st" "character special file c3:0" "/dev/nvidia0"
		expect_eq "$(stat -c '%t:%T' "$ROOT/dev/nvidiactl")" "c3:ff" "nvidiactl"
		expect_eq "$(stat -c '%t:%T' "$ROOT/dev/nvidia-uvm")" "1fc:0" "nvidia-uvm"
	else
		expect_rc 1 sim devices
		expect_contains "$ERR" "refused"
	fi
	# refused for real: a root where nodes cannot be made (a file in the way)
	MIGSIM_ROOT="$TEST_TMP/blocked" sim root >/dev/null
	rm -rf "$TEST_TMP/blocked/dev"
	echo x >"$TEST_TMP/blocked/dev"
	MIGSIM_ROOT="$TEST_TMP/blocked" expect_rc 1 sim devices
	expect_contains "$ERR" "cannot create"
}

t_status_and_list_show_device_nodes() {
	setup_two
	mc 0 list --json
	expect_eq "$(echo "$OUT" | json_eval "d['gpus'][0]['minor']")" "0" "GPU 0 minor"
	expect_eq "$(echo "$OUT" | json_eval "d['gpus'][0]['gpu_instances'][0]['compute_instances'][0]['device_nodes']['gpu_instance']['minor']")" "21"
	expect_eq "$(echo "$OUT" | json_eval "d['gpus'][0]['gpu_instances'][0]['compute_instances'][0]['device_nodes']['compute_instance']['path']")" "/dev/nvidia-caps/nvidia-cap22"
	expect_eq "$(echo "$OUT" | json_eval "d['gpus'][0]['gpu_instances'][1]['compute_instances'][0]['device_nodes']['gpu']['path']")" "/dev/nvidia0"
	expect_eq "$(echo "$OUT" | json_eval "d['device_nodes']['nvidia_caps_major']")" "237"
	expect_eq "$(echo "$OUT" | json_eval "[n['path'] for n in d['device_nodes']['control']]")" '["/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"]'
	mc 0 status
	expect_contains "$OUT" "device nodes: /dev/nvidia0 (195:0), /dev/nvidia-caps/nvidia-cap21 (237:21), /dev/nvidia-caps/nvidia-cap22 (237:22)"
}

t_minor_not_index() {
	# GPU 0 with device minor 3 (as when /dev/nvidia0 belongs to a GPU NVML lists later)
	setup_two
	python3 - "$MIGSIM_STATE" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["gpus"][0]["minor"] = 3
json.dump(d, open(p, "w"))
PY
	rm -rf "$ROOT" # the simulator refills it from the state
	mc 0 list --json
	expect_eq "$(echo "$OUT" | json_eval "d['gpus'][0]['minor']")" "3"
	# gpu3/gi2 -> 3 + 135*3 + 18 = 426, ci0 -> 427
	expect_eq "$(echo "$OUT" | json_eval "d['gpus'][0]['gpu_instances'][0]['compute_instances'][0]['device_nodes']['gpu']['path']")" "/dev/nvidia3"
	expect_eq "$(echo "$OUT" | json_eval "d['gpus'][0]['gpu_instances'][0]['compute_instances'][0]['device_nodes']['gpu_instance']['minor']")" "426"
}

t_cdi_generate_yaml_and_json() {
	setup_two
	mc 0 cdi generate --output "$TEST_TMP/cdi/"
	expect_contains "$OUT" "Wrote $TEST_TMP/cdi/nvidia.com-mig.yaml"
	local f="$TEST_TMP/cdi/nvidia.com-mig.yaml"
	expect_eq "$(stat -c %a "$f")" "644" "spec mode"
	expect_eq "$(ls -A "$TEST_TMP/cdi" | tr '\n' ' ')" "nvidia.com-mig.yaml " "only the spec in the directory"
	python3 - "$f" "$ROOT" <<'PY' || fail "YAML spec content"
import sys, yaml
spec = yaml.safe_load(open(sys.argv[1]))
root = sys.argv[2]
assert spec["cdiVersion"] == "0.5.0", spec["cdiVersion"]
assert spec["kind"] == "nvidia.com/mig"
devs = {d["name"]: d["containerEdits"] for d in spec["devices"]}
names = list(devs)
assert names[:2] == ["0", spec["devices"][1]["name"]] and names[1].startswith("GPU-"), names
assert "0:0" in devs and "0:1" in devs and "1" in devs and "all" in devs, names
e = devs["0:0"]
assert [n["path"] for n in e["deviceNodes"]] == ["/dev/nvidia0", "/dev/nvidia-caps/nvidia-cap21", "/dev/nvidia-caps/nvidia-cap22"], e
assert [(n["major"], n["minor"]) for n in e["deviceNodes"]] == [(195, 0), (237, 21), (237, 22)]
assert all(n["type"] == "c" and n["hostPath"] == root + n["path"] for n in e["deviceNodes"])
uuid = e["env"][0].split("=", 1)[1]
assert uuid.startswith("MIG-") and devs[uuid] == e, uuid
assert devs["0:1"]["deviceNodes"][2]["minor"] == 67
assert len(devs["all"]["deviceNodes"]) == 6, devs["all"]  # nvidia0, nvidia1 and 4 capabilities
ctl = [n["path"] for n in spec["containerEdits"]["deviceNodes"]]
assert ctl == ["/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"], ctl
PY
	mc 0 cdi generate --format json --output "$TEST_TMP/cdi/x.json" --vendor example.com --class gpu --no-gpus
	echo "$(cat "$TEST_TMP/cdi/x.json")" | json_valid || fail "JSON spec"
	expect_eq "$(json_eval "d['kind']" <"$TEST_TMP/cdi/x.json")" "example.com/gpu"
	expect_eq "$(json_eval "[x['name'] for x in d['devices']][0]" <"$TEST_TMP/cdi/x.json")" "0:0" "--no-gpus"
	mc 0 --json cdi list
	expect_eq "$(echo "$OUT" | json_eval "d['devices'][2]")" "nvidia.com/mig=0:0"
	mc 0 cdi generate --output -
	expect_contains "$OUT" 'cdiVersion: "0.5.0"'
}

t_cdi_driver_root_mounts() {
	setup_two
	local dr="$TEST_TMP/driver"
	mkdir -p "$dr/usr/lib/x86_64-linux-gnu" "$dr/usr/bin"
	: >"$dr/usr/lib/x86_64-linux-gnu/libcuda.so.580.82.07"
	ln -s libcuda.so.580.82.07 "$dr/usr/lib/x86_64-linux-gnu/libcuda.so.1"
	ln -s libcuda.so.1 "$dr/usr/lib/x86_64-linux-gnu/libcuda.so"
	: >"$dr/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.580.82.07"
	: >"$dr/usr/lib/x86_64-linux-gnu/libunrelated.so.1"
	: >"$dr/usr/bin/nvidia-smi"
	mc 0 cdi generate --format json --driver-root "$dr" --output "$TEST_TMP/s.json"
	expect_eq "$(json_eval "[m['containerPath'] for m in d['containerEdits']['mounts']]" <"$TEST_TMP/s.json")" \
		'["/usr/lib/x86_64-linux-gnu/libcuda.so.1", "/usr/lib/x86_64-linux-gnu/libcuda.so.580.82.07", "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.580.82.07", "/usr/bin/nvidia-smi"]'
	expect_eq "$(json_eval "d['containerEdits']['mounts'][0]['hostPath']" <"$TEST_TMP/s.json")" "$dr/usr/lib/x86_64-linux-gnu/libcuda.so.1"
	expect_eq "$(json_eval "d['containerEdits']['mounts'][0]['options']" <"$TEST_TMP/s.json")" '["ro", "nosuid", "nodev", "bind"]'
	mc 1 cdi generate --driver-root "$TEST_TMP/nodriver" --output "$TEST_TMP/t.yaml"
	expect_contains "$ERR" "driver root $TEST_TMP/nodriver is not a directory"
	[ -e "$TEST_TMP/t.yaml" ] && fail "a spec was written"
	mkdir -p "$TEST_TMP/emptydriver"
	mc 1 cdi generate --driver-root "$TEST_TMP/emptydriver" --output "$TEST_TMP/t.yaml"
	expect_contains "$ERR" "no driver files"
}

t_cdi_mknod_creates_missing_capability_nodes() {
	setup_two
	if ! is_root_with_mknod; then
		mc 1 cdi generate --mknod --output "$TEST_TMP/cdi-mknod/"
		expect_contains "$ERR" "needs root"
		return
	fi
	mc 0 cdi generate --mknod --output "$TEST_TMP/cdi-mknod/"
	expect_eq "$(stat -c '%F %t:%T %a' "$ROOT/dev/nvidia-caps/nvidia-cap22")" "character special file ed:16 444"
	mc 0 list --json
	expect_eq "$(echo "$OUT" | json_eval "d['gpus'][0]['gpu_instances'][0]['compute_instances'][0]['device_nodes']['compute_instance']['exists']")" "true"
	# the mode the proc file gives
	sed -i 's/DeviceFileMode: 292/DeviceFileMode: 256/' "$ROOT/proc/driver/nvidia/capabilities/gpu0/mig/gi7/ci0/access"
	rm -f "$ROOT/dev/nvidia-caps/nvidia-cap67"
	mc 0 cdi generate --mknod --output "$TEST_TMP/cdi-mknod/"
	expect_eq "$(stat -c '%a' "$ROOT/dev/nvidia-caps/nvidia-cap67")" "400" "mode from DeviceFileMode"
}

t_error_unreadable_mig_minors() {
	setup_two
	mc 0 cdi generate --output "$TEST_TMP/cdi-unreadable/"
	local before
	before=$(file_sum "$TEST_TMP/cdi-unreadable/nvidia.com-mig.yaml")
	rm "$ROOT/proc/driver/nvidia-caps/mig-minors"
	mkdir "$ROOT/proc/driver/nvidia-caps/mig-minors" # there, but not a readable file
	mc 1 cdi generate --output "$TEST_TMP/cdi-unreadable/"
	expect_contains "$ERR" "cannot read $ROOT/proc/driver/nvidia-caps/mig-minors"
	expect_contains "$ERR" "nothing written"
	expect_eq "$(file_sum "$TEST_TMP/cdi-unreadable/nvidia.com-mig.yaml")" "$before" "the old spec"
	expect_eq "$(ls -A "$TEST_TMP/cdi-unreadable" | wc -l)" "1" "no temporary file left"
	mc 1 --json cdi generate --output "$TEST_TMP/cdi-unreadable/"
	expect_json_error "mig-minors"
	mc 0 status
	expect_contains "$OUT" "device nodes unknown: cannot read"
}

t_error_capability_missing_from_mig_minors() {
	setup_two
	sed -i '/^gpu0\/gi7\/ci0\/access /d' "$ROOT/proc/driver/nvidia-caps/mig-minors"
	mc 1 cdi generate --output "$TEST_TMP/cdi-missing/"
	expect_contains "$ERR" "has no line for gpu0/gi7/ci0/access"
	expect_contains "$ERR" "nothing written"
	[ -e "$TEST_TMP/cdi-missing/nvidia.com-mig.yaml" ] && fail "a spec was written"
	sed -i '/^gpu0\/gi2\/access /d' "$ROOT/proc/driver/nvidia-caps/mig-minors"
	mc 1 cdi generate --output "$TEST_TMP/cdi-missing/"
	expect_contains "$ERR" "has no line for gpu0/gi2/access"
}

t_error_forbidden_vendor_or_class() {
	setup_two
	mc 2 cdi generate --vendor 9nvidia.com --output "$TEST_TMP/cdi-forbidden/"
	expect_contains "$ERR" "CDI vendor '9nvidia.com' does not start with a letter"
	mc 2 cdi generate --class mig.x --output "$TEST_TMP/cdi-forbidden/"
	expect_contains "$ERR" "has a character other than letters, digits, '-' and '_'"
	mc 2 cdi list --vendor 'a/b'
	expect_contains "$ERR" "CDI vendor 'a/b'"
	mc 2 cdi generate --format toml
	expect_contains "$ERR" "expected yaml or json"
	mc 2 cdi frobnicate
	mc 2 cdi generate --bogus
	[ -e "$TEST_TMP/cdi-forbidden" ] && fail "something was written"
	return 0
}

t_error_cdi_dir_symlink_of_another_user() {
	setup_two
	[ "$(id -u)" -eq 0 ] || {
		skip "not root: only root can plant a link owned by another user (.ci/run runs it as root)"
		return 0
	}
	mkdir -p "$TEST_TMP/target"
	ln -s "$TEST_TMP/target" "$TEST_TMP/planted"
	chown -h nobody "$TEST_TMP/planted"
	mc 1 cdi generate --output "$TEST_TMP/planted"
	expect_contains "$ERR" "is a symbolic link owned by user $(id -u nobody)"
	expect_contains "$ERR" "nothing written"
	expect_eq "$(ls -A "$TEST_TMP/target" | wc -l)" "0" "files in the link's target"
	# root's own link is followed
	ln -s "$TEST_TMP/target" "$TEST_TMP/mine"
	mc 0 cdi generate --output "$TEST_TMP/mine"
	[ -f "$TEST_TMP/target/nvidia.com-mig.yaml" ] || fail "not written through root's own link"
	# a directory everyone can write
	mkdir -p "$TEST_TMP/open" && chmod 0777 "$TEST_TMP/open"
	mc 1 cdi generate --output "$TEST_TMP/open/"
	expect_contains "$ERR" "writable by everyone"
}

t_error_cdi_dir_not_writable() {
	setup_two
	if [ "$(id -u)" -ne 0 ]; then
		mkdir -p "$TEST_TMP/ro" && chmod 0555 "$TEST_TMP/ro"
		mc 1 cdi generate --output "$TEST_TMP/ro/"
		expect_contains "$ERR" "cannot write to the CDI directory $TEST_TMP/ro"
		return
	fi
	command -v setpriv >/dev/null || {
		skip "setpriv (util-linux) is missing: cannot run as nobody to meet a directory root owns"
		return 0
	}
	# as nobody, with a simulated node of nobody's own, into root's directory
	local home="$TEST_TMP/nobody"
	mkdir -p "$home" "$TEST_TMP/rootonly"
	chmod 0755 "$TEST_TMP/rootonly"
	chown nobody "$home"
	chmod 0711 "$TEST_TMP"
	local as=(setpriv --reuid=nobody --regid=nogroup --clear-groups env MIGSIM_STATE="$home/s.json")
	"${as[@]}" "$MIGSIM" init A100-SXM4-40GB >/dev/null || fail "migsim init as nobody"
	"${as[@]}" "$MIGCTL" --sim mode enable >/dev/null 2>&1
	"${as[@]}" "$MIGCTL" --sim create 1g.5gb -C >/dev/null 2>&1
	expect_rc 1 "${as[@]}" "$MIGCTL" --sim cdi generate --output "$TEST_TMP/rootonly/"
	expect_contains "$ERR" "cannot write to the CDI directory $TEST_TMP/rootonly: Permission denied"
	expect_contains "$ERR" "(--output PATH)"
	expect_contains "$ERR" "nothing written"
	expect_eq "$(ls -A "$TEST_TMP/rootonly" | wc -l)" "0" "files left"
	expect_rc 0 "${as[@]}" "$MIGCTL" --sim cdi generate --output "$home/cdi/"
	chmod 0700 "$TEST_TMP"
}

# ---- kept current after every change (migctl.conf) ----------------------------------------

write_conf() {
	cat >"$TEST_TMP/migctl.conf" <<EOF
# test configuration
cdi = yes
cdi-output = $TEST_TMP/run-cdi
$*
EOF
	export MIGCTL_CONF="$TEST_TMP/migctl.conf"
}

spec_names() {
	python3 -c '
import sys, yaml
print(" ".join(d["name"] for d in yaml.safe_load(open(sys.argv[1]))["devices"] if ":" in d["name"]))' \
		"$TEST_TMP/run-cdi/nvidia.com-mig.yaml"
}

t_spec_follows_create_destroy_and_failures() {
	sim init A100-SXM4-40GB >/dev/null
	write_conf
	mc 0 mode enable
	[ -f "$TEST_TMP/run-cdi/nvidia.com-mig.yaml" ] || fail "no spec after mode enable"
	expect_eq "$(spec_names)" "" "no MIG devices yet"
	mc 0 create 3g.20gb,1g.5gb -C
	expect_eq "$(spec_names)" "0:0 0:1" "after create"
	mc 0 destroy --gi 7
	expect_eq "$(spec_names)" "0:0" "after destroy"
	# a failed change: the second GI fails; the first was made, and the spec names it
	sim fault add nvmlDeviceCreateGpuInstanceWithPlacement INSUFFICIENT_RESOURCES --nth 2 >/dev/null
	mc 1 create 1g.5gb,1g.5gb -C
	sim fault clear >/dev/null
	mc 0 list --json
	local n
	n=$(echo "$OUT" | json_eval "sum(len(g['compute_instances']) for g in d['gpus'][0]['gpu_instances'])")
	expect_eq "$(spec_names | wc -w)" "$n" "spec after a failed create"
	mc 0 destroy --all
	expect_eq "$(spec_names)" "" "after destroy --all"
	# a spec someone else changed is put back by the next command, even a read-only one
	echo garbage >"$TEST_TMP/run-cdi/nvidia.com-mig.yaml"
	mc 0 list
	expect_contains "$(cat "$TEST_TMP/run-cdi/nvidia.com-mig.yaml")" "cdiVersion"
	export MIGCTL_CONF="$TEST_TMP/none.conf"
}

t_spec_follows_apply_and_repairs_after_kill() {
	sim init A100-SXM4-40GB >/dev/null
	write_conf
	mc 0 apply -f "$EXAMPLES/a100-40gb.yaml" -c all-1g.5gb
	expect_eq "$(spec_names | wc -w)" "7" "seven 1g.5gb devices"
	local old
	old=$(spec_names)
	# kill -9 in the middle of an apply that destroys them all
	sim latency set gi-destroy 300 >/dev/null
	"$MIGCTL" --sim apply -f "$EXAMPLES/a100-40gb.yaml" -c all-3g.20gb >/dev/null 2>&1 &
	local pid=$!
	local i
	for i in $(seq 100); do
		[ -e "$ROOT/proc/driver/nvidia/capabilities/gpu0/mig/gi13" ] || break
		sleep 0.05
	done
	sleep 0.2
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	sim latency clear >/dev/null
	# the spec may still name vanished devices now; the next migctl command repairs it
	mc 0 status
	mc 0 list --json
	local live
	live=$(echo "$OUT" | json_eval "' '.join(sorted(c['uuid'] for g in d['gpus'] for gi in g['gpu_instances'] for c in gi['compute_instances']))")
	local inspec
	inspec=$(python3 -c '
import sys, yaml
print(" ".join(sorted(d["name"] for d in yaml.safe_load(open(sys.argv[1]))["devices"] if d["name"].startswith("MIG-"))))' \
		"$TEST_TMP/run-cdi/nvidia.com-mig.yaml")
	expect_eq "$inspec" "$live" "MIG devices in the spec after the kill"
	[ "$(echo "$live" | wc -w)" -lt 7 ] || fail "the killed apply destroyed nothing: not killed in the middle"
	mc 0 apply -f "$EXAMPLES/a100-40gb.yaml" -c all-3g.20gb
	expect_eq "$(spec_names)" "0:0 0:1" "after finishing the apply"
	export MIGCTL_CONF="$TEST_TMP/none.conf"
}

t_stale_spec_removed_when_it_cannot_be_rebuilt() {
	setup_two
	write_conf
	mc 0 list
	[ -f "$TEST_TMP/run-cdi/nvidia.com-mig.yaml" ] || fail "no spec"
	rm "$ROOT/proc/driver/nvidia-caps/mig-minors"
	mkdir "$ROOT/proc/driver/nvidia-caps/mig-minors"
	mc 0 -i 0 destroy --gi 7
	expect_contains "$ERR" "migctl: warning: keeping consumers current ($TEST_TMP/migctl.conf): cannot tell the device nodes"
	expect_contains "$ERR" "removed the stale CDI spec $TEST_TMP/run-cdi/nvidia.com-mig.yaml"
	[ -e "$TEST_TMP/run-cdi/nvidia.com-mig.yaml" ] && fail "a spec that may name gone devices stays"
	rmdir "$ROOT/proc/driver/nvidia-caps/mig-minors"
	mc 0 list # the simulator refills its table; the next command writes the spec again
	expect_eq "$(spec_names)" "0:0" "after the table is back"
	export MIGCTL_CONF="$TEST_TMP/none.conf"
}

t_config_file_errors() {
	sim init A100-SXM4-40GB >/dev/null
	printf 'cdi = yes\ncdi-colour = blue\n' >"$TEST_TMP/bad.conf"
	MIGCTL_CONF="$TEST_TMP/bad.conf" mc 0 list
	expect_contains "$ERR" "$TEST_TMP/bad.conf:2:1: unknown key 'cdi-colour'; the keys are: cdi, cdi-output"
	printf 'cdi = maybe\n' >"$TEST_TMP/bad.conf"
	MIGCTL_CONF="$TEST_TMP/bad.conf" mc 0 list
	expect_contains "$ERR" "bad.conf:1:7: cdi = 'maybe': expected yes or no"
	printf 'cdi = yes\ncdi-class = a.b\n' >"$TEST_TMP/bad.conf"
	MIGCTL_CONF="$TEST_TMP/bad.conf" mc 0 list
	expect_contains "$ERR" "bad.conf:2:13: CDI class 'a.b'"
	printf 'cdi-output = relative/dir\n' >"$TEST_TMP/bad.conf"
	MIGCTL_CONF="$TEST_TMP/bad.conf" mc 0 list
	expect_contains "$ERR" "expected an absolute path"
	printf 'cdi = yes\ncdi = no\n' >"$TEST_TMP/bad.conf"
	MIGCTL_CONF="$TEST_TMP/bad.conf" mc 0 list
	expect_contains "$ERR" "bad.conf:2:1: 'cdi' is set twice"
	printf 'just words\n' >"$TEST_TMP/bad.conf"
	MIGCTL_CONF="$TEST_TMP/bad.conf" mc 0 list
	expect_contains "$ERR" "expected 'key = value'"
	if [ "$(id -u)" -eq 0 ]; then
		printf 'cdi = yes\n' >"$TEST_TMP/open.conf"
		chmod 0666 "$TEST_TMP/open.conf"
		MIGCTL_CONF="$TEST_TMP/open.conf" mc 0 list
		expect_contains "$ERR" "configuration file"
	fi
}

t_nvidia_ctk_rerun_or_skipped() {
	sim init A100-SXM4-40GB >/dev/null
	cat >"$TEST_TMP/nvidia-ctk" <<EOF
#!/bin/sh
echo "\$*" >>"$TEST_TMP/ctk.log"
EOF
	chmod 0755 "$TEST_TMP/nvidia-ctk"
	write_conf "nvidia-ctk = yes
nvidia-ctk-path = $TEST_TMP/nvidia-ctk
nvidia-ctk-output = $TEST_TMP/run-cdi/nvidia.yaml"
	mc 0 mode enable
	mc 0 create 1g.5gb -C
	expect_contains "$(cat "$TEST_TMP/ctk.log")" "cdi generate --output=$TEST_TMP/run-cdi/nvidia.yaml"
	local runs
	runs=$(wc -l <"$TEST_TMP/ctk.log")
	mc 0 list
	expect_eq "$(wc -l <"$TEST_TMP/ctk.log")" "$runs" "nvidia-ctk re-run without a change"
	# a failing nvidia-ctk is said, the change stands
	printf '#!/bin/sh\necho "boom: no driver" >&2\nexit 3\n' >"$TEST_TMP/nvidia-ctk"
	mc 0 create 1g.5gb -C
	expect_contains "$ERR" "cdi generate --output=$TEST_TMP/run-cdi/nvidia.yaml failed (exit 3): boom: no driver"
	# not installed: nothing breaks
	write_conf "nvidia-ctk = yes
nvidia-ctk-path = $TEST_TMP/not-installed"
	mc 0 create 1g.5gb -C
	expect_eq "$ERR" "" "stderr without nvidia-ctk"
	export MIGCTL_CONF="$TEST_TMP/none.conf"
}

t_conf_page_documents_every_key() {
	local page="$HERE/../../man/migctl.conf.5" src="$HERE/../../lib/notify/settings.c"
	if command -v groff >/dev/null 2>&1; then
		local w
		w=$(LC_ALL=C.UTF-8 groff -man -ww -z "$page" 2>&1)
		expect_eq "$w" "" "groff warnings in migctl.conf.5"
	else
		echo "# groff missing: migctl.conf.5 formatting not checked"
	fi
	local keys k
	keys=$(sed -n 's/^\tKEY("\([a-z-]*\)".*/\1/p' "$src")
	[ -n "$keys" ] || fail "no keys found in $src"
	for k in $keys; do
		grep -qxF ".B ${k//-/\\-}" "$page" || fail "migctl.conf.5 does not document '$k'"
	done
}

run_tests
