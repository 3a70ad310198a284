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
#   2. applies racing `migctl create` and `migctl destroy` (which take no lock) on the same
#      GPUs: every command exits 0 or 1 (never a usage error, a signal or a sanitizer's
#      status), a failure says why on stderr, the state file is whole JSON and loads in
#      `migsim show --json` at every poll while they run, and one apply afterwards brings
#      the node to a config.
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

t_2_creates_and_destroys_race_applies() {
	node8
	expect_rc 0 "$MIGCTL" --sim apply -f "$CFG" -c a
	local round w pids=() rc n_create=0 n_create_ok=0 n_destroy=0 n_destroy_ok=0 n_apply=0 n_apply_ok=0 polls=0 p b
	for ((round = 1; round <= ROUNDS; round++)); do
		rm -f "$TEST_TMP/stop" "$TEST_TMP"/w.*
		poll_state "$TEST_TMP/stop" "$TEST_TMP/polls" &
		local poller=$!
		pids=()
		# two applies (they take turns), and on GPUs 0-3 creators and destroyers that do not
		# take the lock
		"$MIGCTL" --sim apply --lock-timeout 120 -f "$CFG" -c b >"$TEST_TMP/ab.out" 2>"$TEST_TMP/ab.err" &
		local pab=$!
		"$MIGCTL" --sim apply --lock-timeout 120 -f "$CFG" -c c >"$TEST_TMP/ac.out" 2>"$TEST_TMP/ac.err" &
		local pac=$!
		for w in 0 1 2 3; do
			(
				for k in 1 2 3 4 5 6; do
					"$MIGCTL" --sim -i "$w" create 1g.5gb -C >/dev/null 2>"$TEST_TMP/w.c.$w.$k"
					echo "create $? $TEST_TMP/w.c.$w.$k"
					"$MIGCTL" --sim -i "$((3 - w))" destroy --all >/dev/null 2>"$TEST_TMP/w.d.$w.$k"
					echo "destroy $? $TEST_TMP/w.d.$w.$k"
				done
			) >"$TEST_TMP/w.log.$w" &
			pids+=($!)
		done
		local i rc_ab=0 rc_ac=0
		for i in "${pids[@]}"; do
			wait "$i"
		done
		wait "$pab" || rc_ab=$?
		wait "$pac" || rc_ac=$?
		touch "$TEST_TMP/stop"
		wait "$poller"
		read -r p b <"$TEST_TMP/polls"
		polls=$((polls + p))
		expect_eq "$b" 0 "round $round: polls that found a torn or invalid state (of $p)"
		local f kind erf
		clean_failure "$rc_ab" "$TEST_TMP/ab.err" "round $round: apply -c b"
		clean_failure "$rc_ac" "$TEST_TMP/ac.err" "round $round: apply -c c"
		n_apply=$((n_apply + 2))
		[ "$rc_ab" -eq 0 ] && n_apply_ok=$((n_apply_ok + 1))
		[ "$rc_ac" -eq 0 ] && n_apply_ok=$((n_apply_ok + 1))
		cat "$TEST_TMP/ab.err" "$TEST_TMP/ac.err" | grep -v 'waiting for another change to this node' | sed "s/^/# round $round: apply: /" | head -4
		while read -r kind rc erf; do
			clean_failure "$rc" "$erf" "round $round: migctl $kind"
			if [ "$kind" = create ]; then
				n_create=$((n_create + 1))
				[ "$rc" -eq 0 ] && n_create_ok=$((n_create_ok + 1))
			else
				n_destroy=$((n_destroy + 1))
				[ "$rc" -eq 0 ] && n_destroy_ok=$((n_destroy_ok + 1))
			fi
		done < <(cat "$TEST_TMP"/w.log.*)
		expect_rc 0 "$MIGSIM" show --json
		# afterwards, one apply brings the node to a config from whatever the race left
		expect_rc 0 "$MIGCTL" --sim apply -f "$CFG" -c a
		expect_rc 0 "$MIGCTL" --sim assert -f "$CFG" -c a
		[ -e "$MIGCTL_JOURNAL" ] && fail "round $round: the final apply left its journal"
	done
	echo "# figures: race_rounds=$ROUNDS applies=$n_apply applies_ok=$n_apply_ok creates=$n_create creates_ok=$n_create_ok destroys=$n_destroy destroys_ok=$n_destroy_ok state_polls=$polls"
}

run_tests
