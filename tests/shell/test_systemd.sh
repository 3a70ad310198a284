#!/bin/bash
# The boot unit: systemd accepts it, make install-systemd installs it pointing at the
# installed migctl, and the command it runs, with the environment file it reads, applies
# the named config (and treats a pending mode change as the documented exit 3).
. "$(dirname "$0")/lib.sh"

UNIT=$(cd "$(dirname "$0")/../.." && pwd)/deploy/systemd/migctl.service
DEFAULTS=$(cd "$(dirname "$0")/../.." && pwd)/deploy/systemd/migctl.default
export MIGCTL_LOCK="$TEST_TMP/apply.lock" MIGCTL_JOURNAL="$TEST_TMP/journal.json"

# the unit's value of KEY (the last one, as systemd takes it)
unit_value() {
	sed -n "s/^$2=//p" "$1" | tail -n 1
}

t_systemd_analyze_verifies_the_unit() {
	if ! command -v systemd-analyze >/dev/null; then
		echo "# SKIP systemd-analyze is not installed (scripts/install-deps.sh installs it)"
		return
	fi
	# verify resolves ExecStart: point it at the migctl just built
	sed "s|^ExecStart=/usr/local/bin/migctl|ExecStart=$MIGCTL|" "$UNIT" >"$TEST_TMP/migctl.service"
	expect_rc 0 systemd-analyze verify --man=no "$TEST_TMP/migctl.service"
	expect_eq "$ERR" "" "systemd-analyze's complaints"
	# and it does complain about a broken unit: the check can fail
	sed 's/^Type=oneshot/Type=oneshot-please/' "$TEST_TMP/migctl.service" >"$TEST_TMP/bad.service"
	systemd-analyze verify --man=no "$TEST_TMP/bad.service" >"$TEST_TMP/out" 2>&1
	expect_contains "$(cat "$TEST_TMP/out")" "Failed to parse service type"
}

t_unit_runs_once_before_gpu_clients_with_a_time_limit() {
	expect_eq "$(unit_value "$UNIT" Type)" oneshot "Type"
	expect_eq "$(unit_value "$UNIT" RemainAfterExit)" yes "RemainAfterExit"
	expect_eq "$(unit_value "$UNIT" SuccessExitStatus)" 3 "SuccessExitStatus (a pending mode change)"
	expect_eq "$(unit_value "$UNIT" EnvironmentFile)" /etc/default/migctl "EnvironmentFile"
	local before limit
	before=$(unit_value "$UNIT" Before)
	for client in kubelet.service containerd.service docker.service nvidia-dcgm.service slurmd.service; do
		expect_contains "$before" "$client"
	done
	expect_contains "$(unit_value "$UNIT" After)" nvidia-persistenced.service
	limit=$(unit_value "$UNIT" TimeoutStartSec)
	[ -n "$limit" ] && [ "$limit" -gt 0 ] || fail "TimeoutStartSec is '$limit', expected a time limit"
	# the lock wait fits in the unit's time limit
	local wait
	wait=$(unit_value "$UNIT" ExecStart | sed -n 's/.*--lock-timeout \([0-9]*\).*/\1/p')
	[ -n "$wait" ] && [ "$wait" -lt "$limit" ] || fail "--lock-timeout '$wait' is not below TimeoutStartSec $limit"
}

t_install_systemd_points_the_unit_at_the_installed_migctl() {
	local root="$TEST_TMP/root"
	make -s -C "$(dirname "$UNIT")/../.." BUILD="$MIGCTL_BUILD" DESTDIR="$root" PREFIX=/opt/migctl install-systemd \
		>"$TEST_TMP/out" 2>&1 || fail "make install-systemd failed: $(cat "$TEST_TMP/out")"
	expect_eq "$(unit_value "$root/etc/systemd/system/migctl.service" ExecStart)" \
		"/opt/migctl/bin/migctl apply --lock-timeout 120" "installed ExecStart"
	[ -x "$root/opt/migctl/bin/migctl" ] || fail "migctl is not installed where ExecStart points"
	cmp -s "$root/etc/default/migctl" "$DEFAULTS" || fail "/etc/default/migctl is not the shipped defaults"
	# an admin's edited defaults survive a reinstall
	echo "MIGCTL_SELECTED_CONFIG=mine" >"$root/etc/default/migctl"
	make -s -C "$(dirname "$UNIT")/../.." BUILD="$MIGCTL_BUILD" DESTDIR="$root" PREFIX=/opt/migctl install-systemd \
		>/dev/null 2>&1
	expect_eq "$(cat "$root/etc/default/migctl")" "MIGCTL_SELECTED_CONFIG=mine" "/etc/default/migctl after a reinstall"
}

# Run ExecStart's command as systemd would: the environment file's variables only.
boot_apply() {
	local exec
	exec=$(unit_value "$UNIT" ExecStart | sed "s|^/usr/local/bin/migctl|$MIGCTL --sim|")
	# shellcheck disable=SC2086
	env -i PATH="$PATH" MIGSIM_STATE="$MIGSIM_STATE" MIGSIM_QUIET=1 MIGCTL_NVML_LIB="$MIGSIM_LIB" \
		MIGCTL_LOCK="$MIGCTL_LOCK" MIGCTL_JOURNAL="$MIGCTL_JOURNAL" \
		$(grep -v '^#' "$TEST_TMP/default" | grep .) $exec
}

t_boot_command_applies_the_configured_set() {
	cp "$(dirname "$UNIT")/../../examples/a100-40gb.yaml" "$TEST_TMP/config.yaml"
	sed "s|^MIGCTL_CONFIG_FILE=.*|MIGCTL_CONFIG_FILE=$TEST_TMP/config.yaml|" "$DEFAULTS" >"$TEST_TMP/default"
	MIGSIM_GPUS=2xA100-SXM4-40GB "$MIGSIM" init >/dev/null
	expect_rc 0 boot_apply
	expect_contains "$OUT" "MIG configuration applied successfully"
	expect_rc 0 "$MIGCTL" --sim assert -f "$TEST_TMP/config.yaml" -c all-balanced
	# the next boot finds nothing to do
	expect_rc 0 boot_apply
	expect_contains "$OUT" "Nothing to do"
	# a bad config name: the unit fails, nothing changes
	sed -i 's/^MIGCTL_SELECTED_CONFIG=.*/MIGCTL_SELECTED_CONFIG=no-such-set/' "$TEST_TMP/default"
	local before
	before=$("$MIGSIM" show --json)
	expect_rc 1 boot_apply
	expect_contains "$ERR" "no-such-set"
	expect_eq "$("$MIGSIM" show --json)" "$before" "the node after a failed boot apply"
}

t_boot_on_hopper_after_a_reboot_exits_3_until_reset() {
	# Hopper forgets MIG mode at reboot; enabling it then waits for a GPU reset: exit 3,
	# which the unit counts as success (SuccessExitStatus=3)
	cp "$(dirname "$UNIT")/../../examples/h100-80gb.yaml" "$TEST_TMP/config.yaml"
	sed -e "s|^MIGCTL_CONFIG_FILE=.*|MIGCTL_CONFIG_FILE=$TEST_TMP/config.yaml|" "$DEFAULTS" >"$TEST_TMP/default"
	MIGSIM_GPUS=H100-SXM5-80GB:reset-required "$MIGSIM" init >/dev/null
	expect_rc 3 boot_apply
	expect_contains "$ERR" "reset"
	"$MIGSIM" reset >/dev/null
	expect_rc 0 boot_apply
	expect_contains "$OUT" "MIG configuration applied successfully"
}

run_tests
