#!/usr/bin/env bash
# MIG mode enabled on demand by a lease (issue 12, safety): only with lease-enable-mig = yes in
# migctl.conf, only on an idle GPU, only when no GPU with MIG enabled can take the request;
# a change the driver leaves pending (reset required) is reported (exit 3), nothing leased.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGSIM_TRACE

export MIGCTL_LOCK="$TEST_TMP/apply.lock" MIGCTL_JOURNAL="$TEST_TMP/journal.json"
export MIGCTL_LEASES="$TEST_TMP/leases.json" MIGCTL_CONF="$TEST_TMP/migctl.conf"

m() { "$MIGCTL" --sim "$@"; }

setup() { # GPUS [CONF]
	rm -f "$MIGCTL_LEASES" "$MIGCTL_CONF"
	"$MIGSIM" init "$1" >/dev/null || fail "migsim init"
	[ -n "${2:-}" ] && printf '%s\n' "$2" >"$MIGCTL_CONF"
	sleep 300 &
	OWNER=$!
}

done_owner() {
	kill -9 "$OWNER" 2>/dev/null
	wait "$OWNER" 2>/dev/null
}

modes() { # the MIG modes of the GPUs, as the simulator holds them
	"$MIGSIM" show --json | json_eval "[(g['mig_mode']['current'], g['mig_mode']['pending']) for g in d['gpus']]"
}

nleases() {
	m leases --json | json_eval "len(d['leases'])"
}

t_not_configured_never_enables() {
	setup A100-SXM4-40GB
	local before
	before=$(sim_snapshot)
	expect_rc 1 m lease --profile 1g.5gb --owner "$OWNER"
	expect_contains "$ERR" "no GPU has MIG mode enabled, and leases may not enable it here"
	expect_contains "$ERR" "lease-enable-mig = yes in migctl.conf"
	expect_eq "$(sim_snapshot)" "$before" "the node after the refusal"
	# said explicitly: the same
	printf 'lease-enable-mig = no\n' >"$MIGCTL_CONF"
	expect_rc 1 m run --profile 1g.5gb -- true
	expect_contains "$ERR" "lease-enable-mig = yes in migctl.conf"
	expect_eq "$(sim_snapshot)" "$before" "the node after the refusal"
	done_owner
}

t_configured_enables_an_idle_gpu_and_leases() {
	setup A100-SXM4-40GB "lease-enable-mig = yes"
	expect_rc 0 m lease --profile 3g.20gb --owner "$OWNER" --json
	expect_eq "$(echo "$OUT" | json_eval "d['lease']['state']")" active "state"
	expect_eq "$(echo "$OUT" | json_eval "d['lease']['profile']")" 3g.20gb "profile"
	expect_eq "$(modes)" '[["enabled", "enabled"]]' "MIG mode after the lease"
	expect_eq "$(nleases)" 1 "leases"
	# run too; its lease goes, the mode stays
	expect_rc 0 m run --profile 1g.5gb -- sh -c 'case "$CUDA_VISIBLE_DEVICES" in MIG-*) ;; *) exit 1;; esac'
	expect_eq "$(nleases)" 1 "leases after run"
	done_owner
}

t_configured_enables_only_when_needed() {
	setup 2xA100-SXM4-40GB "lease-enable-mig = yes"
	m -i 0 mode enable >/dev/null || fail "mode enable GPU 0"
	# GPU 0 has MIG enabled and room: GPU 1 is left alone
	expect_rc 0 m lease --profile 4g.20gb --owner "$OWNER" --json
	expect_eq "$(echo "$OUT" | json_eval "d['lease']['gpu']")" 0 "GPU of the first lease"
	expect_eq "$(modes)" '[["enabled", "enabled"], ["disabled", "disabled"]]' "MIG modes"
	# GPU 0 cannot take another 4g.20gb: GPU 1 is enabled for it
	expect_rc 0 m lease --profile 4g.20gb --owner "$OWNER" --json
	expect_eq "$(echo "$OUT" | json_eval "d['lease']['gpu']")" 1 "GPU of the second lease"
	expect_eq "$(modes)" '[["enabled", "enabled"], ["enabled", "enabled"]]' "MIG modes"
	done_owner
}

t_configured_refuses_a_busy_gpu() {
	setup 2xA100-SXM4-40GB "lease-enable-mig = yes"
	"$MIGSIM" proc start --gpu 0 >/dev/null || fail "proc start"
	"$MIGSIM" proc start --gpu 1 --mib 100 >/dev/null || fail "proc start"
	local before
	before=$(sim_snapshot)
	expect_rc 1 m lease --profile 1g.5gb --owner "$OWNER"
	expect_contains "$ERR" "no selected GPU has MIG mode enabled; GPU 0 has MIG mode disabled, but 1 process(es) run on it"
	expect_contains "$ERR" "a lease enables MIG mode only on an idle GPU; nothing was changed"
	expect_not_contains "$ERR" "--force"
	expect_eq "$(sim_snapshot)" "$before" "the node after the refusal"
	expect_eq "$(nleases)" 0 "leases"
	done_owner
}

t_configured_pending_reset_is_reported() {
	setup A100-SXM4-40GB:reset-required "lease-enable-mig = yes"
	expect_rc 3 m lease --profile 1g.5gb --owner "$OWNER"
	expect_contains "$ERR" "MIG mode was enabled on GPU 0 for this lease, but the change is pending (the GPU needs a reset)"
	expect_contains "$ERR" "nothing was leased"
	expect_eq "$(modes)" '[["disabled", "enabled"]]' "MIG mode: pending, not hidden"
	expect_eq "$(nleases)" 0 "leases"
	expect_eq "$(m list --json | json_eval "sum(len(g.get('gpu_instances', [])) for g in d['gpus'])")" 0 "GPU instances"
	# run says the same, and runs nothing
	rm -f "$TEST_TMP/ran"
	expect_rc 3 m run --profile 1g.5gb -- touch "$TEST_TMP/ran"
	expect_contains "$ERR" "pending (the GPU needs a reset)"
	[ -e "$TEST_TMP/ran" ] && fail "run ran its command without a lease"
	# once reset, the GPU takes the lease
	"$MIGSIM" reset >/dev/null || fail "migsim reset"
	expect_rc 0 m lease --profile 1g.5gb --owner "$OWNER" --json
	expect_eq "$(echo "$OUT" | json_eval "d['lease']['profile']")" 1g.5gb "profile after the reset"
	done_owner
}

# Killed between the enable and its create: MIG mode stays enabled (it is not undone), the
# request's entry is dropped at the next reconcile, and nothing else is left.
t_killed_after_the_enable() {
	setup A100-SXM4-40GB "lease-enable-mig = yes"
	"$MIGSIM" latency set gi-create 3000 >/dev/null
	"$MIGCTL" --sim lease --profile 1g.5gb --owner "$OWNER" >/dev/null 2>&1 &
	local pid=$! i
	for i in $(seq 1 250); do
		[ "$(modes)" = '[["enabled", "enabled"]]' ] && break
		sleep 0.02
	done
	expect_eq "$(modes)" '[["enabled", "enabled"]]' "MIG mode while the create waits"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	"$MIGSIM" latency clear >/dev/null
	expect_rc 0 m leases --json
	expect_eq "$(echo "$OUT" | json_eval "(len(d['leases']), d['reconciled']['orphans'])")" "[0, 1]" "leases, orphans"
	expect_eq "$(m list --json | json_eval "sum(len(g.get('gpu_instances', [])) for g in d['gpus'])")" 0 "GPU instances"
	expect_eq "$(modes)" '[["enabled", "enabled"]]' "MIG mode after the reconcile"
	expect_rc 0 m lease --profile 1g.5gb --owner "$OWNER"
	done_owner
}

t_bad_setting() {
	setup A100-SXM4-40GB "lease-enable-mig = maybe"
	expect_rc 1 m lease --profile 1g.5gb --owner "$OWNER"
	expect_contains "$ERR" "migctl.conf:1:20: lease-enable-mig = 'maybe': expected yes or no"
	expect_eq "$(modes)" '[["disabled", "disabled"]]' "MIG mode"
	done_owner
}

run_tests
