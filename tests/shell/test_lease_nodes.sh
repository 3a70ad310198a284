#!/usr/bin/env bash
# A lease's device nodes (issue 12, item 1): `migctl lease` (text and --json), `leases --json`
# and `release --json` name the MIG device's /dev/nvidia<minor> and its two capability nodes
# with the numbers of the simulator's driver tables (mig-minors by the GPU's minor number,
# majors from /proc/devices), and the control nodes; where the tables are missing or lack the
# instance the lease is still made and says why, with no number.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGSIM_TRACE MIGSIM_ROOT
export MIGCTL_LOCK="$TEST_TMP/apply.lock" MIGCTL_JOURNAL="$TEST_TMP/journal.json"
export MIGCTL_LEASES="$TEST_TMP/leases.json" MIGCTL_CONF="$TEST_TMP/none.conf"
ROOT="$MIGSIM_STATE.root"
MINORS="$ROOT/proc/driver/nvidia-caps/mig-minors"

m() { "$MIGCTL" --sim "$@"; }
jget() { echo "$OUT" | json_eval "$1"; }

# Two A100s, MIG on, whose device minors are not their indexes: GPU 0 is /dev/nvidia1 and
# GPU 1 is /dev/nvidia0 (the simulator's state file says so; its next save rewrites the tables).
setup_swapped() {
	rm -f "$MIGCTL_LEASES"
	"$MIGSIM" init 2xA100-SXM4-40GB >/dev/null || fail "migsim init"
	python3 - "$MIGSIM_STATE" <<'EOF' || fail "swapping the minors"
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["gpus"][0]["minor"], d["gpus"][1]["minor"] = 1, 0
json.dump(d, open(p, "w"))
EOF
	m mode enable >/dev/null || fail "mode enable"
	grep -q '^gpu1/gi0/access ' "$MINORS" || fail "the simulator did not rewrite $MINORS"
}

# major NAME: its number in the simulated /proc/devices.
major() { awk -v n="$1" '$2 == n { print $1 }' "$ROOT/proc/devices"; }
# table_minor GPU_MINOR GI [CI]: the minor mig-minors gives the capability.
table_minor() {
	local key="gpu$1/gi$2${3:+/ci$3}/access"
	awk -v k="$key" '$1 == k { print $2 }' "$MINORS"
}

# expect_nodes GPU_MINOR PREFIX GI CI: the lease (or release) document at PREFIX in $OUT names
# the nodes of the tables for that GPU minor, GPU instance and compute instance.
expect_nodes() {
	local gm=$1 p=$2 gi=$3 ci=$4 caps uvm want
	caps=$(major nvidia-caps)
	uvm=$(major nvidia-uvm)
	[ -n "$caps" ] && [ -n "$uvm" ] || fail "no nvidia-caps / nvidia-uvm line in $ROOT/proc/devices"
	want=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' \
		"/dev/nvidia$gm" "$(major nvidia-frontend)" "$gm" \
		"/dev/nvidia-caps/nvidia-cap$(table_minor "$gm" "$gi")" "$caps" "$(table_minor "$gm" "$gi")" \
		"/dev/nvidia-caps/nvidia-cap$(table_minor "$gm" "$gi" "$ci")" "$caps" "$(table_minor "$gm" "$gi" "$ci")")
	expect_eq "$(jget "json.dumps([str(x) for n in $p['device_nodes'] for x in (n['path'], n['major'], n['minor'])])")" \
		"$want" "device nodes of GPU minor $gm, GI $gi, CI $ci"
	expect_eq "$(jget "$p['device_nodes_error']")" null "no error"
	expect_eq "$(jget "' '.join('%s=%d:%d' % (n['path'], n['major'], n['minor']) for n in $p['control_nodes'])")" \
		"/dev/nvidiactl=195:255 /dev/nvidia-uvm=$uvm:0 /dev/nvidia-uvm-tools=$uvm:1" "control nodes"
}

t_lease_json_and_text_name_the_nodes_by_minor() {
	setup_swapped
	# GPU 1 is minor 0
	expect_rc 0 m -i 1 lease --profile 3g.20gb --ttl 600 --json
	expect_eq "$(jget "d['lease']['gpu']")" 1 "GPU"
	local gi ci
	gi=$(jget "d['lease']['gi']")
	ci=$(jget "d['lease']['ci']")
	expect_nodes 0 "d['lease']" "$gi" "$ci"
	# the facts' example: GPU minor 0, GI 2 -> nvidia-cap21, its CI 0 -> nvidia-cap22
	expect_eq "$gi:$ci" "2:0" "the 3g.20gb's ids"
	expect_eq "$(jget "[n['minor'] for n in d['lease']['device_nodes']][1:]")" "[21, 22]" "the facts' minors"
	expect_eq "$(jget "[n['exists'] for n in d['lease']['device_nodes']]")" "[false, false, false]" \
		"no node made under the simulator's root"
	# GPU 0 is minor 1: its own table lines, never GPU 1's
	expect_rc 0 m -i 0 lease --profile 3g.20gb --ttl 600
	local caps text_gi text_ci
	caps=$(major nvidia-caps)
	text_gi=$(table_minor 1 2)
	text_ci=$(table_minor 1 2 0)
	expect_contains "$OUT" "3g.20gb on GPU 0, GPU instance 2, compute instance 0"
	expect_contains "$OUT" "  device nodes: /dev/nvidia1 c 195:1 (missing), /dev/nvidia-caps/nvidia-cap$text_gi c $caps:$text_gi (missing), /dev/nvidia-caps/nvidia-cap$text_ci c $caps:$text_ci (missing)"
	expect_contains "$OUT" "  control nodes: /dev/nvidiactl c 195:255 (missing), /dev/nvidia-uvm c $(major nvidia-uvm):0 (missing), /dev/nvidia-uvm-tools c $(major nvidia-uvm):1 (missing)"
	expect_eq "$text_gi:$text_ci" "156:157" "gpu1/gi2 in the simulator's table"
}

t_leases_and_release_json_per_lease() {
	setup_swapped
	expect_rc 0 m -i 0 lease --profile 1g.5gb --ttl 600 --json
	local a b
	a=$(jget "d['lease']['id']")
	expect_rc 0 m -i 1 lease --profile 2g.10gb --ttl 600 --json
	b=$(jget "d['lease']['id']")
	expect_rc 0 m leases --json
	local doc=$OUT i id gm gi ci
	for i in 0 1; do
		OUT=$doc
		id=$(jget "d['leases'][$i]['id']")
		gm=$([ "$(jget "d['leases'][$i]['gpu']")" = 0 ] && echo 1 || echo 0)
		gi=$(jget "d['leases'][$i]['gi']")
		ci=$(jget "d['leases'][$i]['ci']")
		expect_nodes "$gm" "d['leases'][$i]" "$gi" "$ci"
		[ "$id" = "$a" ] || [ "$id" = "$b" ] || fail "unknown lease $id"
	done
	# release: the nodes it had (to revoke), though its instance is gone
	OUT=$doc
	gi=$(jget "[l for l in d['leases'] if l['id'] == '$a'][0]['gi']")
	ci=$(jget "[l for l in d['leases'] if l['id'] == '$a'][0]['ci']")
	expect_rc 0 m release "$a" --json
	expect_eq "$(jget "d['destroyed']")" true "destroyed"
	expect_nodes 1 "d" "$gi" "$ci"
	expect_rc 0 m release "$b"
	expect_contains "$OUT" "Released lease $b"
}

t_nodes_exist_once_made() {
	if [ "$(id -u)" -ne 0 ] || ! mknod "$TEST_TMP/probe" c 1 3 2>/dev/null; then
		skip "making device nodes needs root with CAP_MKNOD on a file system that allows them"
		return
	fi
	rm -f "$TEST_TMP/probe"
	setup_swapped
	expect_rc 0 m -i 1 lease --profile 1g.5gb --ttl 600
	"$MIGSIM" devices >/dev/null || fail "migsim devices"
	m cdi generate --mknod --output "$TEST_TMP/cdi/" >/dev/null || fail "cdi generate --mknod"
	expect_rc 0 m leases --json
	expect_eq "$(jget "[n['exists'] for n in d['leases'][0]['device_nodes'] + d['leases'][0]['control_nodes']]")" \
		"[true, true, true, true, true, true]" "every node made under the root"
	expect_rc 0 m -i 1 lease --profile 1g.5gb --ttl 600
	expect_contains "$OUT" "  control nodes: /dev/nvidiactl c 195:255, "
}

t_unknown_when_mig_minors_cannot_be_read() {
	setup_swapped
	rm "$MINORS"
	mkdir "$MINORS" # there, but not a readable file (the simulator does not refill it then)
	expect_rc 0 m -i 0 lease --profile 1g.5gb --ttl 600 --json
	expect_eq "$(jget "d['lease']['state']")" active "the lease is made"
	expect_eq "$(jget "d['lease']['device_nodes']")" null "no device nodes"
	expect_contains "$(jget "d['lease']['device_nodes_error']")" "cannot read $MINORS"
	expect_eq "$(jget "len(d['lease']['control_nodes'])")" 3 "control nodes (/proc/devices is there)"
	local id
	id=$(jget "d['lease']['id']")
	expect_rc 0 m -i 0 lease --profile 1g.5gb --ttl 600
	expect_contains "$OUT" "  device nodes unknown: cannot read $MINORS"
	expect_not_contains "$OUT" "/dev/nvidia-caps/"
	expect_rc 0 m leases --json
	expect_eq "$(jget "[l['device_nodes'] for l in d['leases']]")" "[null, null]" "leases --json"
	expect_rc 0 m release "$id" --json
	expect_eq "$(jget "d['device_nodes']")" null "release --json"
	# the table back: the same leases' nodes are known again
	rmdir "$MINORS"
	expect_rc 0 m leases --json
	expect_eq "$(jget "[l['device_nodes_error'] for l in d['leases']]")" "[null]" "known again"
	expect_nodes 1 "d['leases'][0]" "$(jget "d['leases'][0]['gi']")" "$(jget "d['leases'][0]['ci']")"
}

t_unknown_when_the_table_lacks_the_instance() {
	setup_swapped
	expect_rc 0 m -i 0 lease --profile 2g.10gb --ttl 600 --json
	local gi
	gi=$(jget "d['lease']['gi']")
	# the driver's table and NVML disagree (listing changes nothing, so nothing rewrites it)
	sed -i "/^gpu1\/gi$gi\/access /d" "$MINORS"
	expect_rc 0 m leases --json
	expect_eq "$(jget "d['leases'][0]['device_nodes']")" null "no device nodes"
	expect_contains "$(jget "d['leases'][0]['device_nodes_error']")" "has no line for gpu1/gi$gi/access"
	expect_eq "$(jget "d['leases'][0]['state']")" active "the lease stands"
}

t_unknown_when_proc_devices_lacks_nvidia_caps() {
	setup_swapped
	expect_rc 0 m -i 1 lease --profile 1g.5gb --ttl 600
	sed -i '/ nvidia-caps$/d' "$ROOT/proc/devices"
	expect_rc 0 m leases --json
	expect_eq "$(jget "d['leases'][0]['device_nodes']")" null "no made-up major"
	expect_contains "$(jget "d['leases'][0]['device_nodes_error']")" "has no nvidia-caps line"
}

run_tests
