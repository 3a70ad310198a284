#!/usr/bin/env bash
# The user's scenario (shared/seed-walkthrough.md) end to end with migctl on a simulated
# A100-SXM4-40GB: look at the GPU, enable MIG, list the profiles, make the walkthrough's
# mistakes (2g.5gb and 3g.10gb are not A100 profiles) and get told the right names, create
# the two instances, see their MIG devices in nvidia-smi -L's shape, tear everything down in
# the walkthrough's order and disable MIG. Once in migctl's words, once in nvidia-smi's.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB

A100_PROFILES="1g.5gb 1g.5gb+me 1g.10gb 2g.10gb 3g.20gb 4g.20gb 7g.40gb"
UUID_RE='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

a100() {
	"$MIGSIM" init A100-SXM4-40GB >/dev/null 2>&1 || fail "migsim init A100-SXM4-40GB"
}

# expect_lines TEXT REGEX...: TEXT has exactly these lines, each matching its extended regex.
expect_lines() {
	local text=$1 n=0 line re
	shift
	local want=$#
	while IFS= read -r line; do
		n=$((n + 1))
		if [ "$n" -le "$want" ]; then
			re=${!n}
			[[ "$line" =~ ^${re}$ ]] || fail "line $n '$line' does not match /^$re\$/"
		fi
	done <<<"$text"
	[ "$n" -eq "$want" ] || fail "expected $want lines, got $n: $text"
}

# The MIG devices of GPU 0 from --json list: "profile uuid" per line, in MIG index order.
mig_devices() {
	"$MIGCTL" --sim --json list | json_eval "'\n'.join('%s %s' % (c['profile'], c['uuid']) for c in sorted((c for gi in d['gpus'][0]['gpu_instances'] for c in gi['compute_instances']), key=lambda c: c['mig_index']))"
}

# the wrong profiles of the walkthrough: refused, nothing changed, the right name suggested
# and the GPU's profiles listed. Each case: "BAD GOOD ARGS...".
wrong_profiles_are_refused() {
	local before p bad good args
	before=$(sim_snapshot)
	while read -r bad good args; do
		# shellcheck disable=SC2086
		mc 1 $args
		expect_contains "$ERR" "no profile '$bad'"
		expect_contains "$ERR" "did you mean $good?"
		for p in $A100_PROFILES; do
			expect_contains "$ERR" "$p"
		done
		expect_contains "$ERR" "3g.20gb (9)"
		expect_eq "$OUT" "" "stdout of '$args'"
	done <<'EOF2'
2g.5gb 2g.10gb create 2g.5gb
3g.10gb 3g.20gb create 3g.10gb
2g.5gb 2g.10gb create 2g.5gb -C
2g.5gb 2g.10gb create 2g.5gb,3g.10gb -C
3g.10gb 3g.20gb create 2g.10gb,3g.10gb -C
2g.5gb 2g.10gb mig -i 0 -cgi 2g.5gb
3g.10gb 3g.20gb mig -i 0 --create-gpu-instance 3g.10gb -C
EOF2
	expect_unchanged "$before" "the GPU after the wrong profiles"
}

t_walkthrough_in_migctl_words() {
	a100
	# nvidia-smi -L with MIG off: the GPU alone
	mc 0 list
	expect_lines "$OUT" "GPU 0: NVIDIA A100-SXM4-40GB \(UUID: GPU-$UUID_RE\)"
	local first_list=$OUT
	mc 0 status
	expect_contains "$OUT" "MIG mode: disabled"

	mc 0 mode enable
	expect_contains "$OUT" "Enabled MIG Mode for GPU 00000000:07:00.0"
	mc 0 status
	expect_contains "$OUT" "MIG mode: enabled"
	expect_contains "$OUT" "no GPU instances (create some: migctl create PROFILE -C -i 0)"

	# the profiles, with nvidia-smi's IDs and free/total counts
	mc 0 profiles
	local row
	for row in "1g.5gb +19 +7/7" "1g.5gb\+me +20 +1/1" "1g.10gb +15 +4/4" "2g.10gb +14 +3/3" \
		"3g.20gb +9 +2/2" "4g.20gb +5 +1/1" "7g.40gb +0 +1/1"; do
		grep -Eq "^  $row " <<<"$OUT" || fail "no profile row like '$row' in: $OUT"
	done
	expect_not_contains "$OUT" "2g.5gb"
	expect_not_contains "$OUT" "3g.10gb"

	wrong_profiles_are_refused

	# the right ones, each with its compute instance; the 2g goes to 4:2, where it leaves
	# the 4g.20gb's only placement (0:4) free, and the 3g then takes that half
	mc 0 create 2g.10gb -C
	expect_contains "$OUT" "Created GPU instance 5 (2g.10gb, profile ID 14) on GPU 0 at placement 4:2"
	[[ "$OUT" =~ Created\ compute\ instance\ 0\ \(2g.10gb\)\ in\ GPU\ instance\ 5\ on\ GPU\ 0:\ MIG\ device\ (MIG-$UUID_RE) ]] ||
		fail "no compute instance line in: $OUT"
	local uuid_2g=${BASH_REMATCH[1]}
	expect_contains "$OUT" "CUDA_VISIBLE_DEVICES=$uuid_2g"
	mc 0 create 3g.20gb -C
	expect_contains "$OUT" "Created GPU instance 1 (3g.20gb, profile ID 9) on GPU 0 at placement 0:4"
	[[ "$OUT" =~ Created\ compute\ instance\ 0\ \(3g.20gb\)\ in\ GPU\ instance\ 1\ on\ GPU\ 0:\ MIG\ device\ (MIG-$UUID_RE) ]] ||
		fail "no compute instance line in: $OUT"
	local uuid_3g=${BASH_REMATCH[1]}
	[ "$uuid_2g" != "$uuid_3g" ] || fail "both MIG devices have UUID $uuid_2g"

	# nvidia-smi -L's shape: MIG devices in index order (GI 1 before GI 5), their own UUIDs
	mc 0 list
	expect_lines "$OUT" "GPU 0: NVIDIA A100-SXM4-40GB \(UUID: GPU-$UUID_RE\)" \
		"  MIG 3g\.20gb +Device  0: \(UUID: $uuid_3g\)" \
		"  MIG 2g\.10gb +Device  1: \(UUID: $uuid_2g\)"
	expect_eq "$(head -1 <<<"$OUT")" "$first_list" "the GPU line"
	expect_eq "$(mig_devices)" "3g.20gb $uuid_3g
2g.10gb $uuid_2g" "MIG devices in --json list"
	mc 0 -i 0 list
	expect_contains "$OUT" "Device  1: (UUID: $uuid_2g)"
	mc 0 status
	expect_contains "$OUT" "$uuid_3g"
	expect_contains "$OUT" "$uuid_2g"

	# compute instances first, then GPU instances
	mc 0 destroy --gi 5 --ci 0
	expect_contains "$OUT" "Destroyed compute instance 0 (2g.10gb) in GPU instance 5 on GPU 0 ($uuid_2g)"
	expect_not_contains "$OUT" "Destroyed GPU instance"
	mc 0 destroy --gi 1 --ci 0
	expect_contains "$OUT" "Destroyed compute instance 0 (3g.20gb) in GPU instance 1 on GPU 0 ($uuid_3g)"
	mc 0 list
	expect_eq "$OUT" "$first_list" "list with GPU instances but no compute instances"
	mc 0 status
	expect_contains "$OUT" "(no compute instance: migctl create-ci --gi 1 -i 0)"
	expect_contains "$OUT" "(no compute instance: migctl create-ci --gi 5 -i 0)"
	mc 0 destroy --gi 5
	expect_eq "$OUT" "Destroyed GPU instance 5 (2g.10gb) on GPU 0" "destroy --gi 5"
	mc 0 destroy --gi 1
	expect_eq "$OUT" "Destroyed GPU instance 1 (3g.20gb) on GPU 0" "destroy --gi 1"

	mc 0 mode disable
	expect_contains "$OUT" "Disabled MIG Mode for GPU 00000000:07:00.0"
	mc 0 list
	expect_eq "$OUT" "$first_list" "list at the end"
	expect_eq "$("$MIGSIM" show --json | json_eval "(d['gpus'][0]['mig_mode'], d['gpus'][0]['gpu_instances'])")" \
		'[{"current": "disabled", "pending": "disabled"}, []]' "the GPU at the end"
}

t_walkthrough_in_nvidia_smi_words() {
	a100
	mc 0 list
	local first_list=$OUT
	mc 0 mode enable
	mc 0 mig -i 0 --list-gpu-instance-profiles
	expect_contains "$OUT" "3g.20gb"
	grep -Eq '^  2g\.10gb +14 ' <<<"$OUT" || fail "no 2g.10gb row with ID 14 in: $OUT"
	mc 0 mig -i 0 -lgipp
	expect_contains "$OUT" "3g.20gb            ID   9  Placements: {0,4}:4"

	wrong_profiles_are_refused

	# the GPU instance first, then its compute instance, as in the walkthrough
	mc 0 mig -i 0 -cgi 3g.20gb
	expect_eq "$OUT" "Successfully created GPU instance ID  2 on GPU  0 using profile MIG 3g.20gb (ID  9)" "-cgi"
	mc 0 mig -i 0 -cci -gi 2
	expect_eq "$OUT" \
		"Successfully created compute instance ID  0 on GPU  0 GPU instance ID  2 using profile MIG 3g.20gb (ID  2)" "-cci"
	# the second one in one go, by profile id, with -C
	mc 0 mig -i 0 -cgi 14 -C
	expect_eq "$OUT" "Successfully created GPU instance ID  3 on GPU  0 using profile MIG 2g.10gb (ID 14)
Successfully created compute instance ID  0 on GPU  0 GPU instance ID  3 using profile MIG 2g.10gb (ID  1)" "-cgi 14 -C"

	mc 0 mig -i 0 -lgi
	grep -Eq '^\| +0 MIG 3g\.20gb +9 +2 +4:4 \|$' <<<"$OUT" || fail "no GI 2 row in: $OUT"
	grep -Eq '^\| +0 MIG 2g\.10gb +14 +3 +0:2 \|$' <<<"$OUT" || fail "no GI 3 row in: $OUT"
	mc 0 mig -i 0 -lci
	grep -Eq '^\| +0 +2 MIG 3g\.20gb +2 +0 +0:3 \|$' <<<"$OUT" || fail "no CI row for GI 2 in: $OUT"
	grep -Eq '^\| +0 +3 MIG 2g\.10gb +1 +0 +0:2 \|$' <<<"$OUT" || fail "no CI row for GI 3 in: $OUT"

	mc 0 list
	expect_lines "$OUT" "GPU 0: NVIDIA A100-SXM4-40GB \(UUID: GPU-$UUID_RE\)" \
		"  MIG 3g\.20gb +Device  0: \(UUID: MIG-$UUID_RE\)" \
		"  MIG 2g\.10gb +Device  1: \(UUID: MIG-$UUID_RE\)"

	# the walkthrough's teardown order: CI, GI, CI, GI
	mc 0 mig -i 0 -dci -ci 0 -gi 2
	expect_eq "$OUT" "Successfully destroyed compute instance ID  0 from GPU  0 GPU instance ID  2" "-dci"
	mc 0 mig -i 0 -dgi -gi 2
	expect_eq "$OUT" "Successfully destroyed GPU instance ID  2 from GPU  0" "-dgi"
	mc 0 mig -i 0 --destroy-compute-instance --gpu-instance-id 3 --compute-instance-id 0
	expect_eq "$OUT" "Successfully destroyed compute instance ID  0 from GPU  0 GPU instance ID  3" "long -dci"
	mc 0 mig -i 0 --destroy-gpu-instance --gpu-instance-id 3
	expect_eq "$OUT" "Successfully destroyed GPU instance ID  3 from GPU  0" "long -dgi"
	mc 1 mig -i 0 -lgi
	expect_contains "$ERR" "No GPU instances found"

	mc 0 mode disable
	mc 0 list
	expect_eq "$OUT" "$first_list" "list at the end"
}

# `migctl list` prints exactly nvidia-smi -L's lines: the profile padded to 12 columns
# including the space before "Device" ("  MIG 3g.20gb     Device  0:", "  MIG 1g.5gb      Device  1:").
t_list_matches_nvidia_smi_L_spacing() {
	a100
	mc 0 mode enable
	mc 0 create 3g.20gb,1g.5gb,1g.10gb -C
	mc 0 list
	expect_lines "$OUT" "GPU 0: NVIDIA A100-SXM4-40GB \(UUID: GPU-$UUID_RE\)" \
		"  MIG 3g\.20gb     Device  0: \(UUID: MIG-$UUID_RE\)" \
		"  MIG 1g\.(5gb |10gb)     ?Device  1: \(UUID: MIG-$UUID_RE\)" \
		"  MIG 1g\.(5gb |10gb)     ?Device  2: \(UUID: MIG-$UUID_RE\)"
	grep -q '^  MIG 1g\.5gb      Device  [12]: ' <<<"$OUT" || fail "no '  MIG 1g.5gb      Device' line in: $OUT"
	grep -q '^  MIG 1g\.10gb     Device  [12]: ' <<<"$OUT" || fail "no '  MIG 1g.10gb     Device' line in: $OUT"
}

# The long spellings create the same thing.
t_walkthrough_long_options() {
	a100
	mc 0 mode enable
	mc 0 mig --gpu 0 --create-gpu-instance 3g.20gb --default-compute-instance
	expect_contains "$OUT" "Successfully created GPU instance ID  2 on GPU  0 using profile MIG 3g.20gb (ID  9)"
	expect_contains "$OUT" "Successfully created compute instance ID  0 on GPU  0 GPU instance ID  2"
	mc 0 mig --create-gpu-instance 2g.10gb
	mc 0 mig --create-compute-instance 0,0 --gpu-instance-id 3
	expect_eq "$OUT" "Successfully created compute instance ID  0 on GPU  0 GPU instance ID  3 using profile MIG 1c.2g.10gb (ID  0)
Successfully created compute instance ID  1 on GPU  0 GPU instance ID  3 using profile MIG 1c.2g.10gb (ID  0)" "--create-compute-instance 0,0"
	mc 0 mig --list-compute-instances --gpu-instance-id 3
	expect_contains "$OUT" "MIG 1c.2g.10gb"
	expect_not_contains "$OUT" "MIG 3g.20gb"
	mc 0 mig --list-compute-instance-profiles --gpu-instance-id 2
	expect_contains "$OUT" "GPU 0 GPU instance 2 (3g.20gb)"
	mc 0 list
	expect_lines "$OUT" "GPU 0: NVIDIA A100-SXM4-40GB \(UUID: GPU-$UUID_RE\)" \
		"  MIG 3g\.20gb +Device  0: \(UUID: MIG-$UUID_RE\)" \
		"  MIG 1c\.2g\.10gb +Device  1: \(UUID: MIG-$UUID_RE\)" \
		"  MIG 1c\.2g\.10gb +Device  2: \(UUID: MIG-$UUID_RE\)"
}

# The walkthrough's own command lines: instance ids are not the caller's to choose, and
# there is no --gpu-instance-profile option. Usage errors, nothing changed.
t_walkthrough_command_lines_as_written() {
	a100
	mc 0 mode enable
	local before
	before=$(sim_snapshot)
	mc 2 mig -i 0 --create-gpu-instance 1 --gpu-instance-profile 2g.5gb
	expect_contains "$ERR" "--gpu-instance-profile"
	expect_contains "$ERR" "Try 'migctl help'"
	mc 2 mig -i 0 --create-compute-instance 1 --gpu-instance 1
	expect_contains "$ERR" "--gpu-instance"
	expect_unchanged "$before" "the GPU after the walkthrough's command lines"
}

# nvidia-smi's `-cgi 19,19,14,9` fails on an empty A100 because the driver places each
# instance greedily; migctl places the set together, and all four fit.
t_four_profiles_fit_together() {
	a100
	mc 0 mode enable
	mc 0 --json create 1g.5gb,1g.5gb,2g.10gb,3g.20gb -C
	echo "$OUT" | json_valid || fail "create --json: not JSON: $OUT"
	local layout
	layout=$(echo "$OUT" | json_eval "sorted((c['gpu_instance']['profile'], c['gpu_instance']['placement']['start'], c['gpu_instance']['placement']['size'], c['gpu_instance']['id'], c['compute_instance'] is not None) for c in d['created'])")
	# no two instances share a memory slice, every one has its compute instance, GI ids
	# follow the placements
	python3 - "$layout" <<'EOF' || fail "bad layout: $layout"
import json, sys
rows = json.loads(sys.argv[1])
assert len(rows) == 4, rows
assert sorted(r[0] for r in rows) == ["1g.5gb", "1g.5gb", "2g.10gb", "3g.20gb"], rows
used = set()
for name, start, size, gid, has_ci in rows:
    span = set(range(start, start + size))
    assert not (span & used), rows
    used |= span
    assert has_ci, rows
    assert gid == {8: 0, 4: 1 + start // 4, 2: 3 + start // 2, 1: 7 + start}[size], rows
EOF
	mc 0 list
	[ "$(grep -c '^  MIG ' <<<"$OUT")" -eq 4 ] || fail "expected 4 MIG devices in: $OUT"
	mc 0 --json profiles
	expect_eq "$(echo "$OUT" | json_eval "sum(p['instances']['free'] for p in d['gpus'][0]['profiles'])")" 0 \
		"free instances left on the full GPU"
}

run_tests
