#!/usr/bin/env bash
# Concurrency: several applies, creates and destroys at once from separate processes.
#
# test_declarative.sh already shows two applies taking turns through the lock (and a waiter
# going on when the holder is killed); test_multiprocess.sh shows the simulator's own NVML
# writers never double-booking a slice or losing an update. This file adds, on an 8 x A100
# node (tests/fixtures/reliability/eight.yaml, four mutually distinct configs a-d):
#   1. four applies of four configs started at the same instant, round after round: every
#      one exits 0, and afterwards the node is exactly one of the four configs (`migctl
#      assert` exits 0 for exactly one), never a mix;
#   2. every command that changes the node (create, create-ci, destroy, mode, apply) takes
#      the one node lock: held elsewhere, each waits and changes nothing; racing an apply,
#      the apply always succeeds and the node ends as one of the two orders leaves it.
# make check: CONC_ROUNDS=3 (default); the full run (scripts/reliability-report.sh) more.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGSIM_TRACE

HERE=$(cd "$(dirname "$0")" && pwd)
CFG="$(cd "$HERE/../fixtures/reliability" && pwd)/eight.yaml"
ROUNDS=${CONC_ROUNDS:-3}
CONFIGS="a b c d"
export MIGCTL_LOCK="$TEST_TMP/apply.lock" MIGCTL_JOURNAL="$TEST_TMP/journal.json"

node8() {
	"$MIGSIM" init 8xA100-SXM4-40GB >/dev/null || fail "migsim init"
	"$MIGSIM" latency set gi-create 3 >/dev/null
	"$MIGSIM" latency set ci-create 2 >/dev/null
	"$MIGSIM" latency set mig-mode 10 >/dev/null
}

# poll_state STOPFILE OUT: until STOPFILE exists, check that the state file is whole JSON (read
# directly, as any reader may) and that migsim loads it (its strict checks: no slice booked
# twice, no dangling instance); writes "polls bad" to OUT.
poll_state() {
	python3 - "$1" "$2" "$MIGSIM_STATE" "$MIGSIM" <<'PY'
import json, os, subprocess, sys, time
stop, out, state, migsim = sys.argv[1:5]
polls = bad = 0
while not os.path.exists(stop):
    polls += 1
    try:
        with open(state) as f:
            json.load(f)
    except (OSError, ValueError) as e:
        bad += 1
        print("# poll %d: the state file is not whole JSON: %s" % (polls, e))
        continue
    p = subprocess.run([migsim, "show", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode != 0:
        bad += 1
        print("# poll %d: migsim show --json: %s" % (polls, p.stderr.strip()))
    time.sleep(0.005)
with open(out, "w") as f:
    f.write("%d %d\n" % (polls, bad))
PY
}

# matching: the configs that assert says the node has, space separated.
matching() {
	local c m=""
	for c in $CONFIGS; do
		"$MIGCTL" --sim assert -f "$CFG" -c "$c" >/dev/null 2>&1 && m="$m${m:+ }$c"
	done
	echo "$m"
}

# clean_failure RC ERRFILE WHAT: RC is 0, or 1 with a message on stderr.
clean_failure() {
	case "$1" in
	0) ;;
	1) grep -q '^migctl: ' "$2" || fail "$3 exited 1 without a message: $(head -c 300 "$2")" ;;
	*) fail "$3 exited $1: $(head -c 300 "$2")" ;;
	esac
}

APPLIES=0
POLLS=0

t_1_concurrent_applies_end_in_exactly_one_config() {
	node8
	local round c pids rc m order=0
	for ((round = 1; round <= ROUNDS; round++)); do
		rm -f "$TEST_TMP/stop"
		poll_state "$TEST_TMP/stop" "$TEST_TMP/polls" &
		local poller=$!
		pids=()
		for c in $CONFIGS; do
			"$MIGCTL" --sim apply --lock-timeout 120 -f "$CFG" -c "$c" >"$TEST_TMP/$c.out" 2>"$TEST_TMP/$c.err" &
			pids+=($!)
		done
		local i=0
		for c in $CONFIGS; do
			rc=0
			wait "${pids[$i]}" || rc=$?
			i=$((i + 1))
			APPLIES=$((APPLIES + 1))
			expect_eq "$rc" 0 "round $round: exit status of apply -c $c ($(head -c 300 "$TEST_TMP/$c.err"))"
		done
		touch "$TEST_TMP/stop"
		wait "$poller"
		read -r p b <"$TEST_TMP/polls"
		POLLS=$((POLLS + p))
		expect_eq "$b" 0 "round $round: polls that found a torn or invalid state (of $p)"
		m=$(matching)
		case "$m" in
		a | b | c | d) ;;
		*) fail "round $round: the node matches '$m', expected exactly one of: $CONFIGS" ;;
		esac
		# how many waited depends on timing (an apply with nothing to do may be done before
		# another one has started), so it is only reported
		echo "# round $round: $(cat "$TEST_TMP"/?.err | grep -c 'waiting for another change to this node') of 4 applies waited for the lock"
		[ -e "$MIGCTL_JOURNAL" ] && fail "round $round: a journal stayed"
		echo "# round $round: the node ends as config $m"
		order=$((order + 1))
	done
	echo "# figures: concurrent_apply_rounds=$ROUNDS applies=$APPLIES state_polls=$POLLS"
}

TWO="$(cd "$HERE/../fixtures/txn" && pwd)/two.yaml"

# snapshot_json: the node's layout (GPUs, modes, instances) as one line, for comparisons.
layout() {
	"$MIGCTL" --sim list --json | json_eval "[(g['index'], g['mig_mode']['current'], sorted((i['profile'], i['placement']['start'], sorted(c['profile'] for c in i['compute_instances'])) for i in g['gpu_instances'])) for g in d['gpus']]"
}

# gi_on GPU PROFILE: the id of the first GPU instance of PROFILE on GPU, or nothing.
gi_on() {
	"$MIGCTL" --sim list --json | json_eval "([i['id'] for g in d['gpus'] if g['index'] == $1 for i in g['gpu_instances'] if i['profile'] == '$2'] + [''])[0]"
}

# 2. Every command that changes the node takes the one node lock. First, held by another
# process (flock(1) on the same file), each command waits, says so, and changes nothing until
# it is released. Then each races a real apply, round after round: the apply always succeeds
# (nothing slipped in between its plan and its operations), the other command exits 0 or 1
# with a message, and the node ends in a state one of the two orders gives.
t_2_every_change_takes_the_node_lock() {
	"$MIGSIM" init 2xA100-SXM4-40GB >/dev/null || fail "migsim init"
	local cmd name before pid holder
	for name in create create-ci destroy mode-disable mode-enable apply; do
		expect_rc 0 "$MIGCTL" --sim apply -f "$TWO" -c "$([ "$name" = mode-enable ] && echo gpu1-off || echo start)"
		case $name in
		create) cmd="-i 1 create 1g.5gb -C" ;;
		create-ci) cmd="-i 1 create-ci --gi $(gi_on 1 3g.20gb) 1c.3g.20gb" ;;
		destroy) cmd="-i 1 destroy --all" ;;
		mode-disable)
			expect_rc 0 "$MIGCTL" --sim -i 1 destroy --all
			cmd="-i 1 mode disable"
			;;
		mode-enable) cmd="-i 1 mode enable" ;;
		apply) cmd="apply -f $TWO -c b" ;;
		esac
		before=$(layout)
		rm -f "$TEST_TMP/held"
		flock "$MIGCTL_LOCK" sh -c "touch '$TEST_TMP/held'; while [ ! -e '$TEST_TMP/release' ]; do sleep 0.02; done" &
		holder=$!
		while [ ! -e "$TEST_TMP/held" ]; do sleep 0.01; done
		# (a fresh file: the last command's message must not be read as this one's)
		rm -f "$TEST_TMP/x.out" "$TEST_TMP/x.err"
		# shellcheck disable=SC2086
		"$MIGCTL" --sim $cmd >"$TEST_TMP/x.out" 2>"$TEST_TMP/x.err" &
		pid=$!
		# until it says it waits (or, bounded, gives up polling: then the check below fails)
		local polls=0
		while ! grep -q "waiting for another change to this node" "$TEST_TMP/x.err" 2>/dev/null &&
			[ "$polls" -lt 3000 ]; do
			polls=$((polls + 1))
			sleep 0.02
		done
		expect_contains "$name: $(cat "$TEST_TMP/x.err" "$TEST_TMP/x.out") (holder $(kill -0 "$holder" 2>/dev/null && echo alive || echo gone), migctl $(kill -0 "$pid" 2>/dev/null && echo running || echo done), lock: $(ls -li "$MIGCTL_LOCK" 2>&1))" \
			"waiting for another change to this node"
		expect_eq "$(layout)" "$before" "$name: the node while another process holds the lock"
		touch "$TEST_TMP/release"
		wait "$holder"
		rm -f "$TEST_TMP/release"
		wait "$pid" || fail "$name exited $? after the lock was released: $(cat "$TEST_TMP/x.err")"
		[ "$(layout)" != "$before" ] || fail "$name changed nothing once it had the lock"
	done

	"$MIGSIM" latency set gi-create 4 >/dev/null
	"$MIGSIM" latency set ci-destroy 2 >/dev/null
	local round rca rcx waited_apply=0 waited_other=0 rounds=$((ROUNDS + 1)) after want_b half
	want_b=$(expect_rc 0 "$MIGCTL" --sim apply -f "$TWO" -c b >/dev/null; layout)
	for name in create create-ci destroy mode-disable mode-enable; do
		for ((round = 1; round <= rounds; round++)); do
			expect_rc 0 "$MIGCTL" --sim apply -f "$TWO" -c "$([ "$name" = mode-enable ] && echo gpu1-off || echo start)"
			[ "$name" = mode-disable ] && expect_rc 0 "$MIGCTL" --sim -i 1 destroy --all
			case $name in
			create) cmd="-i 1 create 1g.5gb -C" ;;
			create-ci) cmd="-i 1 create-ci --gi $(gi_on 1 3g.20gb) 1c.3g.20gb" ;;
			destroy) cmd="-i 1 destroy --all" ;;
			mode-disable) cmd="-i 1 mode disable" ;;
			mode-enable) cmd="-i 1 mode enable" ;;
			esac
			"$MIGCTL" --sim apply --lock-timeout 60 -f "$TWO" -c b >"$TEST_TMP/a.out" 2>"$TEST_TMP/a.err" &
			local pa=$!
			# the other one half a beat later in odd rounds, at once in even ones
			[ $((round % 2)) -eq 1 ] && sleep 0.05
			# shellcheck disable=SC2086
			"$MIGCTL" --sim $cmd >"$TEST_TMP/x.out" 2>"$TEST_TMP/x.err"
			rcx=$?
			wait "$pa"
			rca=$?
			expect_eq "$rca" 0 "$name round $round: the apply racing it ($(cat "$TEST_TMP/a.err"))"
			clean_failure "$rcx" "$TEST_TMP/x.err" "$name round $round"
			grep -q "waiting for another change" "$TEST_TMP/a.err" && waited_apply=$((waited_apply + 1))
			grep -q "waiting for another change" "$TEST_TMP/x.err" && waited_other=$((waited_other + 1))
			after=$(layout)
			# the apply last: exactly b; the other last: only destroy leaves b changed (GPU 1 emptied)
			if [ "$after" != "$want_b" ]; then
				half=$(echo "$want_b" | json_eval "[g if g[0] != 1 else [1, g[1], []] for g in d]")
				[ "$name" = destroy ] && [ "$rcx" -eq 0 ] && [ "$after" = "$half" ] ||
					fail "$name round $round: the node is in neither order's state: $after"
			fi
			[ -e "$MIGCTL_JOURNAL" ] && fail "$name round $round: a journal stayed"
		done
	done
	"$MIGSIM" latency clear >/dev/null 2>&1 || true
	echo "# figures: race_rounds=$((rounds * 5)) apply_waited=$waited_apply other_waited=$waited_other"
}

run_tests
