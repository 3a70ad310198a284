#!/usr/bin/env bash
# Privilege and files (migctl(8) SECURITY): a user who may not change MIG is refused before
# anything happens (no lock, no journal, no hook, no NVML change), read-only commands keep
# working; apply keeps its lock and journal only in private directories, never through a
# symbolic link; run as root, it refuses a config or hooks file that another user owns or can
# write. Tests that need root (to chown files and to run migctl as nobody with setpriv) are
# reported as TAP "# SKIP" without it.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGCTL_HOOKS_FILE

REFUSED="needs root or read access to /proc/driver/nvidia/capabilities/mig/config"
CFG="$TEST_TMP/two.yaml"
printf '%s\n' 'version: v1' 'mig-configs:' '  two:' '    - devices: all' '      mig-enabled: true' \
	'      mig-devices: {"3g.20gb": 2}' '  none:' '    - devices: all' '      mig-enabled: true' \
	'      mig-devices: {}' >"$CFG"
chmod 644 "$CFG"

# Where apply keeps its files in these tests (unless a test says otherwise).
RUN_DIR="$TEST_TMP/run"
mkdir -p "$RUN_DIR"
chmod 700 "$RUN_DIR"
export MIGCTL_LOCK="$RUN_DIR/apply.lock" MIGCTL_JOURNAL="$RUN_DIR/journal.json"

SKIP_MARK="# skipping: "
skip() { echo "$SKIP_MARK$*"; }

# need_root: true when running as root; otherwise says why the test is skipped.
need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		skip "needs root (chown, setpriv)"
		return 1
	fi
	command -v setpriv >/dev/null 2>&1 || {
		skip "needs setpriv"
		return 1
	}
	return 0
}

init_ok() {
	"$MIGSIM" init "$@" >/dev/null 2>"$TEST_TMP/init.err" || fail "migsim init $*: $(cat "$TEST_TMP/init.err")"
}

mc() {
	local rc=$1
	shift
	expect_rc "$rc" "$MIGCTL" --sim "$@"
}

# An A100 with MIG on, one 3g.20gb GPU instance (GI 2, at 4) with its compute instance, and
# one bare 1g.5gb (GI 7, at 0).
a100_node() {
	rm -f "$MIGCTL_LOCK" "$MIGCTL_JOURNAL" "$TEST_TMP/hook-ran"
	init_ok A100-SXM4-40GB
	mc 0 mode enable
	mc 0 create 3g.20gb -C
	mc 0 create 1g.5gb --placement 0
	# every change takes the node lock: start the checks without one
	rm -f "$MIGCTL_LOCK" "$MIGCTL_JOURNAL"
}

no_apply_files() { # WHAT
	[ ! -e "$MIGCTL_LOCK" ] || fail "$1 created the apply lock"
	[ ! -e "$MIGCTL_JOURNAL" ] || fail "$1 created the apply journal"
	[ ! -e "$TEST_TMP/hook-ran" ] || fail "$1 ran a hook"
}

hooks_file() { # FILE: an apply-start hook that leaves $TEST_TMP/hook-ran
	printf '%s\n' 'version: v1' 'hooks:' '  apply-start:' "    - command: /bin/touch" \
		"      args: [\"$TEST_TMP/hook-ran\"]" >"$1"
	chmod 644 "$1"
}

# ---- an unprivileged caller ------------------------------------------------------------------

t_unprivileged_mutating_commands_fail_before_anything() {
	a100_node
	hooks_file "$TEST_TMP/hooks.yaml"
	"$MIGSIM" caller user >/dev/null || fail "migsim caller user"
	local before cmd
	before=$(sim_snapshot)
	rm -f "$MIGCTL_LOCK" "$MIGCTL_JOURNAL" "$TEST_TMP/hook-ran"
	while read -r cmd; do
		# shellcheck disable=SC2086
		expect_rc 1 "$MIGCTL" --sim $cmd
		expect_contains "$ERR" "migctl: changing MIG"
		expect_contains "$ERR" "$REFUSED"
		expect_contains "$ERR" "run 'migsim caller root'"
		expect_eq "$OUT" "" "stdout of '$cmd'"
		expect_unchanged "$before" "the node after '$cmd'"
		no_apply_files "'$cmd'"
	done <<EOF
create 1g.5gb
create 1g.5gb -C
create 1g.5gb --placement 1
create-ci --gi 7
destroy --all
destroy --gi 7
destroy --gi 2 --ci 0
mode enable
mode disable
mig -cgi 19 -C
mig -cci -gi 7
mig -dci
mig -dgi -gi 7
apply -f $CFG -c two
apply -f $CFG -c two -k $TEST_TMP/hooks.yaml
apply -f $CFG -c none --force
EOF
	# mode says that a mode change needs root
	expect_rc 1 "$MIGCTL" --sim mode disable
	expect_contains "$ERR" "changing MIG mode needs root"
	# with --json: the error document, without nvml_return (no NVML call failed)
	expect_rc 1 "$MIGCTL" --sim --json apply -f "$CFG" -c two
	expect_eq "$(echo "$OUT" | json_eval "d['error']['message'].startswith('changing MIG configuration needs root')")" \
		true "--json error message"
	expect_eq "$(echo "$OUT" | json_eval "'nvml_return' in d['error']")" false "nvml_return in the --json error"
	expect_unchanged "$before" "the node after the refused commands"
	no_apply_files "the refused apply --json"
	# the same process-wide, with MIGSIM_UNPRIVILEGED
	"$MIGSIM" caller root >/dev/null || fail "migsim caller root"
	before=$(sim_snapshot)
	MIGSIM_UNPRIVILEGED=1 expect_rc 1 "$MIGCTL" --sim apply -f "$CFG" -c two -k "$TEST_TMP/hooks.yaml"
	expect_contains "$ERR" "$REFUSED"
	MIGSIM_UNPRIVILEGED=1 expect_rc 1 "$MIGCTL" --sim destroy --all
	expect_contains "$ERR" "$REFUSED"
	expect_unchanged "$before" "the node after MIGSIM_UNPRIVILEGED commands"
	no_apply_files "apply with MIGSIM_UNPRIVILEGED"
	# control: a privileged caller does all of it (lock, hook, change)
	mc 0 apply -f "$CFG" -c two -k "$TEST_TMP/hooks.yaml"
	[ -e "$MIGCTL_LOCK" ] || fail "a privileged apply took no lock"
	[ -e "$TEST_TMP/hook-ran" ] || fail "a privileged apply ran no hook"
	mc 0 assert -f "$CFG" -c two
}

t_unprivileged_read_only_commands_work() {
	a100_node
	"$MIGSIM" caller user >/dev/null || fail "migsim caller user"
	local before cmd
	before=$(sim_snapshot)
	for cmd in list status profiles placements ci-profiles "mig -lgi" "mig -lci" "mig -lgip" "mig -lgipp" "mig -lcip" \
		export "export --placements" "plan -f $CFG -c two" "apply --dry-run -f $CFG -c two"; do
		# shellcheck disable=SC2086
		expect_rc 0 "$MIGCTL" --sim $cmd
		[ -n "$OUT" ] || fail "'$cmd' printed nothing"
	done
	expect_rc 4 "$MIGCTL" --sim assert -f "$CFG" -c two
	expect_contains "$OUT" "The GPUs differ from the configuration"
	expect_rc 0 "$MIGCTL" --sim apply --dry-run -f "$CFG" -c two
	expect_contains "$OUT" "Dry run: nothing was changed."
	expect_unchanged "$before" "the node after read-only commands"
	no_apply_files "read-only commands"
}

# ---- config and hooks files, run as root -----------------------------------------------------

t_root_refuses_a_config_owned_by_another_user() {
	need_root || return 0
	a100_node
	local cfg="$TEST_TMP/theirs.yaml" before
	cp "$CFG" "$cfg"
	chown nobody "$cfg"
	chmod 644 "$cfg"
	before=$(sim_snapshot)
	expect_rc 1 "$MIGCTL" --sim apply -f "$cfg" -c two
	expect_contains "$ERR" "refusing config file $cfg: running as root, it must be owned by root and writable by no one else"
	expect_contains "$ERR" "it decides which instances apply destroys and creates"
	expect_contains "$ERR" "owned by uid 65534, mode 644"
	expect_contains "$ERR" "fix with: chown root $cfg && chmod go-w $cfg"
	expect_unchanged "$before" "the node after the refused apply"
	no_apply_files "the refused apply"
	# MIGCTL_CONFIG_FILE names the same file: the same refusal
	MIGCTL_CONFIG_FILE="$cfg" expect_rc 1 "$MIGCTL" --sim apply -c two
	expect_contains "$ERR" "refusing config file $cfg"
	# changing nothing, plan, assert and apply --dry-run read it
	mc 0 plan -f "$cfg" -c two
	mc 4 assert -f "$cfg" -c two
	mc 0 apply --dry-run -f "$cfg" -c two
	# standard input is the caller's own
	expect_rc 0 "$MIGCTL" --sim apply -f - -c two <"$cfg"
	expect_contains "$OUT" "MIG configuration applied successfully"
	# once root owns it, it is used
	chown root "$cfg"
	mc 0 apply -f "$cfg" -c two
	expect_contains "$OUT" "Nothing to do"
}

t_root_refuses_a_config_others_can_write() {
	need_root || return 0
	a100_node
	local cfg="$TEST_TMP/open.yaml" before mode
	cp "$CFG" "$cfg"
	chown root "$cfg"
	before=$(sim_snapshot)
	for mode in 666 664 646 622; do
		chmod "$mode" "$cfg"
		expect_rc 1 "$MIGCTL" --sim apply -f "$cfg" -c two
		expect_contains "$ERR" "refusing config file $cfg"
		expect_contains "$ERR" "owned by uid 0, mode $mode"
		expect_contains "$ERR" "chmod go-w $cfg"
		expect_unchanged "$before" "the node after apply of a mode $mode config"
		no_apply_files "apply of a mode $mode config"
	done
	chmod 644 "$cfg"
	mc 0 apply -f "$cfg" -c two
	expect_contains "$OUT" "MIG configuration applied successfully"
	mc 0 assert -f "$cfg" -c two
}

t_root_refuses_a_hooks_file_others_can_write() {
	need_root || return 0
	a100_node
	local hooks="$TEST_TMP/hooks-open.yaml" before
	hooks_file "$hooks"
	chmod 666 "$hooks"
	before=$(sim_snapshot)
	expect_rc 1 "$MIGCTL" --sim apply -f "$CFG" -c two -k "$hooks"
	expect_contains "$ERR" "refusing hooks file $hooks"
	expect_contains "$ERR" "its commands run as root"
	expect_contains "$ERR" "chmod go-w $hooks"
	chmod 644 "$hooks"
	chown nobody "$hooks"
	expect_rc 1 "$MIGCTL" --sim apply -f "$CFG" -c two -k "$hooks"
	expect_contains "$ERR" "refusing hooks file $hooks"
	expect_contains "$ERR" "owned by uid 65534"
	expect_unchanged "$before" "the node after applies with untrusted hooks"
	no_apply_files "apply with untrusted hooks"
}

# ---- the lock and the journal -----------------------------------------------------------------

t_lock_dir_others_can_write_is_refused() {
	need_root || return 0
	a100_node
	local dir="$TEST_TMP/shared" before
	mkdir -p "$dir"
	chmod 1777 "$dir"
	before=$(sim_snapshot)
	MIGCTL_LOCK="$dir/apply.lock" expect_rc 1 "$MIGCTL" --sim apply -f "$CFG" -c two
	expect_contains "$ERR" "refusing to keep the node lock in $dir: group or others can write it"
	chmod 0770 "$dir"
	MIGCTL_JOURNAL="$dir/journal.json" expect_rc 1 "$MIGCTL" --sim apply -f "$CFG" -c two
	expect_contains "$ERR" "refusing to keep the journal in $dir: group or others can write it"
	# a directory another user owns
	chmod 0755 "$dir"
	chown nobody "$dir"
	MIGCTL_LOCK="$dir/apply.lock" expect_rc 1 "$MIGCTL" --sim apply -f "$CFG" -c two
	expect_contains "$ERR" "refusing to keep the node lock in $dir: it is owned by another user"
	expect_eq "$(ls -A "$dir")" "" "the refused directory"
	expect_unchanged "$before" "the node after applies refused for their lock or journal"
	[ ! -e "$MIGCTL_JOURNAL" ] || fail "an apply refused for its lock or journal wrote a journal"
	[ ! -e "$TEST_TMP/hook-ran" ] || fail "an apply refused for its lock or journal ran a hook"
}

t_symlink_at_the_lock_or_journal_is_not_followed() {
	need_root || return 0
	a100_node
	local target="$TEST_TMP/precious" before sum
	echo "do not touch" >"$target"
	sum=$(file_sum "$target")
	before=$(sim_snapshot)
	ln -s "$target" "$MIGCTL_LOCK"
	expect_rc 1 "$MIGCTL" --sim apply -f "$CFG" -c two
	expect_contains "$ERR" "refusing the node lock $MIGCTL_LOCK: it is a symbolic link"
	[ -L "$MIGCTL_LOCK" ] || fail "the symlink at the lock was replaced"
	rm -f "$MIGCTL_LOCK"
	ln -s "$target" "$MIGCTL_JOURNAL"
	expect_rc 1 "$MIGCTL" --sim apply -f "$CFG" -c two
	expect_contains "$ERR" "refusing the journal $MIGCTL_JOURNAL: it is a symbolic link"
	[ -L "$MIGCTL_JOURNAL" ] || fail "the symlink at the journal was replaced"
	# a dangling link (a file it would create) is refused too
	rm -f "$MIGCTL_JOURNAL"
	ln -s "$TEST_TMP/not-yet" "$MIGCTL_JOURNAL"
	expect_rc 1 "$MIGCTL" --sim apply -f "$CFG" -c two
	expect_contains "$ERR" "it is a symbolic link"
	[ ! -e "$TEST_TMP/not-yet" ] || fail "apply created the file a journal symlink points to"
	rm -f "$MIGCTL_JOURNAL" "$MIGCTL_LOCK" # (the lock is taken before the journal is checked)
	ln -s "$TEST_TMP/not-yet" "$MIGCTL_LOCK"
	expect_rc 1 "$MIGCTL" --sim apply -f "$CFG" -c two
	[ ! -e "$TEST_TMP/not-yet" ] || fail "apply created the file a lock symlink points to"
	rm -f "$MIGCTL_LOCK"
	expect_eq "$(file_sum "$target")" "$sum" "the symlinks' target"
	expect_unchanged "$before" "the node after applies refused for symlinks"
	# a journal owned by someone else is not used either
	echo '{}' >"$MIGCTL_JOURNAL"
	chown nobody "$MIGCTL_JOURNAL"
	expect_rc 1 "$MIGCTL" --sim apply -f "$CFG" -c two
	expect_contains "$ERR" "refusing the journal $MIGCTL_JOURNAL: it is not a plain file of this user"
	rm -f "$MIGCTL_JOURNAL"
	expect_unchanged "$before" "the node after the refused applies"
	# control: with the links gone it works, and the files are private
	mc 0 apply -f "$CFG" -c two
	expect_eq "$(stat -c %a "$MIGCTL_LOCK")" 600 "mode of the lock file"
}

# A user's default directory ($XDG_RUNTIME_DIR/migctl), checked with migctl run as nobody.
t_default_dir_of_a_user_is_private() {
	need_root || return 0
	chmod 711 "$TEST_TMP" # nobody may reach its own directory below
	local home="$TEST_TMP/nobody" nb bin
	bin=$(others_bin) # the build may be where nobody cannot go
	mkdir -p "$home/xdg" "$home/elsewhere"
	chown -R nobody:nogroup "$home"
	chmod 700 "$home/xdg"
	nb=(setpriv --reuid=nobody --regid=nogroup --clear-groups env -u MIGCTL_LOCK -u MIGCTL_JOURNAL
		MIGSIM_STATE="$home/state.json" XDG_RUNTIME_DIR="$home/xdg")
	expect_rc 0 "${nb[@]}" "$bin/migsim" init A100-SXM4-40GB
	expect_rc 0 "${nb[@]}" "$bin/migctl" --sim mode enable
	# created private, and used
	expect_rc 0 "${nb[@]}" "$bin/migctl" --sim apply -f "$CFG" -c two
	expect_contains "$OUT" "MIG configuration applied successfully"
	expect_eq "$(stat -c '%a %U' "$home/xdg/migctl")" "700 nobody" "the default directory"
	expect_eq "$(stat -c '%a %U' "$home/xdg/migctl/apply.lock")" "600 nobody" "the lock file"
	[ ! -e "$home/xdg/migctl/journal.json" ] || fail "a finished apply left its journal"
	# refused: a symlink in its place, a directory others can write, one another user owns
	rm -rf "$home/xdg/migctl"
	ln -s "$home/elsewhere" "$home/xdg/migctl"
	expect_rc 1 "${nb[@]}" "$bin/migctl" --sim apply -f "$CFG" -c none --force
	expect_contains "$ERR" "refusing to keep the node lock in $home/xdg/migctl: it is a symbolic link"
	expect_eq "$(ls -A "$home/elsewhere")" "" "the symlink's target"
	rm -f "$home/xdg/migctl"
	mkdir "$home/xdg/migctl"
	chown nobody "$home/xdg/migctl"
	chmod 777 "$home/xdg/migctl"
	expect_rc 1 "${nb[@]}" "$bin/migctl" --sim apply -f "$CFG" -c none --force
	expect_contains "$ERR" "refusing to keep the node lock in $home/xdg/migctl: group or others can write it"
	chmod 755 "$home/xdg/migctl"
	chown root "$home/xdg/migctl"
	expect_rc 1 "${nb[@]}" "$bin/migctl" --sim apply -f "$CFG" -c none --force
	expect_contains "$ERR" "refusing to keep the node lock in $home/xdg/migctl: it is owned by another user"
	expect_eq "$(ls -A "$home/xdg/migctl")" "" "the refused directory"
	# nothing changed: the applies above that were refused would have destroyed both GIs
	expect_rc 0 "${nb[@]}" "$bin/migctl" --sim assert -f "$CFG" -c two
}

run_tests | awk -v m="$SKIP_MARK" '
	index($0, m) == 1 { reason = substr($0, length(m) + 1); next }
	/^ok / && reason != "" { $0 = $0 " # SKIP " reason }
	/^(not )?ok / { reason = "" }
	{ print }'
