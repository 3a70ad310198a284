#!/usr/bin/env bash
# The simulator's state is one file shared by every process: changes made by one process
# are seen by others, concurrent writers never double-book a slice or lose an update,
# a writer killed at any instant leaves a whole state file, and fault counts and
# latencies apply across processes.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL_BUILD:?run through make check}"
NVMLCTL="$MIGCTL_BUILD/tests/helpers/nvmlctl"
export MIGSIM_LIB
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED

init_ok() {
	"$MIGSIM" init "$@" >/dev/null 2>"$TEST_TMP/init.err" || fail "migsim init $*: $(cat "$TEST_TMP/init.err")"
}

nvml() {
	local out
	out=$("$NVMLCTL" "$@" 2>&1) || fail "nvmlctl $*: $out"
	echo "$out"
}

# An A100-SXM4-40GB (seven 1g slots) in MIG mode.
a100_mig() {
	init_ok A100-SXM4-40GB
	nvml enable 0 >/dev/null
}

# check_state_loads: the strict loader accepts the file (it rejects any double-booked
# slice, overlap, bad id or dangling reference); GI_LINES gets the GI lines of GPU 0.
check_state_loads() {
	local out
	if ! out=$("$MIGSIM" show 2>&1); then
		fail "the state file does not load: $out"
		GI_LINES=""
		return 1
	fi
	GI_LINES=$(echo "$out" | awk '/^GPU 0:/ {on = 1; next} /^GPU / {on = 0} on && /^    GI / {print}')
	return 0
}

# ---- (a) changes cross process boundaries ------------------------------------------------

t_two_processes_see_each_other() {
	a100_mig
	local d="$TEST_TMP/sync-a"
	mkdir -p "$d"
	# A keeps one NVML session open throughout; B acts between A's looks.
	"$NVMLCTL" create-gi 0 9 0:4 -- touch "$d/a_created" -- wait "$d/b_destroyed" -- count-gis 0 \
		-- touch "$d/a_counted" -- wait "$d/b_created" -- list-gis 0 -- destroy-gi 0 11 \
		-- touch "$d/a_destroyed" >"$d/a.out" 2>&1 &
	local a=$!
	"$NVMLCTL" wait "$d/a_created" -- list-gis 0 -- destroy-gi 0 1 -- touch "$d/b_destroyed" \
		-- wait "$d/a_counted" -- create-gi 0 19 4:1 -- touch "$d/b_created" -- wait "$d/a_destroyed" -- count-gis 0 \
		>"$d/b.out" 2>&1
	local brc=$? arc=0
	wait "$a" || arc=$?
	expect_eq "$arc" 0 "exit status of process A ($(cat "$d/a.out"))"
	expect_eq "$brc" 0 "exit status of process B ($(cat "$d/b.out"))"
	expect_eq "$(cat "$d/a.out")" "gi 1 placement 0:4
0
gi 11 profile 19 placement 4:1
destroyed gi 11" "what process A saw"
	expect_eq "$(cat "$d/b.out")" "gi 1 profile 9 placement 0:4
destroyed gi 1
gi 11 placement 4:1
0" "what process B saw"
	# migsim, a third program, agrees.
	check_state_loads
	expect_eq "$GI_LINES" "" "GIs left"
}

t_migsim_changes_reach_a_live_nvml_session() {
	a100_mig
	local d="$TEST_TMP/sync-m"
	mkdir -p "$d"
	"$NVMLCTL" mig-mode 0 -- touch "$d/ready" -- wait "$d/rebooted" -- mig-mode 0 -- wait "$d/user" \
		-- create-gi 0 19 >"$d/out" 2>&1 &
	local pid=$! rc=0
	"$NVMLCTL" wait "$d/ready" >/dev/null || fail "the NVML session did not start"
	"$MIGSIM" init H100 >/dev/null || fail "migsim init"
	"$MIGSIM" reboot >/dev/null || fail "migsim reboot"
	touch "$d/rebooted"
	"$MIGSIM" caller user >/dev/null || fail "migsim caller user"
	touch "$d/user"
	wait "$pid" || rc=$?
	expect_eq "$rc" 1 "exit status of the NVML session"
	expect_eq "$(cat "$d/out")" "current 1 pending 1
current 0 pending 0
nvmlDeviceCreateGpuInstance: error 4 (Insufficient Permissions)" "what the session saw"
}

# ---- (b) concurrent creators ----------------------------------------------------------------

# race_creators N PROFILE...: N processes (profiles assigned round robin) wait for one
# signal, then each create GIs until the GPU is full. Sets CREATED (total) and
# CREATED_BY_PROFILE ("profile:count" pairs); fails on any exit status but 0.
race_creators() {
	local n=$1 d i
	shift
	local -a profiles=("$@") pids=()
	d=$(mktemp -d "$TEST_TMP/race.XXXXXX")
	for ((i = 0; i < n; i++)); do
		local p=${profiles[$((i % ${#profiles[@]}))]}
		"$NVMLCTL" wait "$d/go" -- loop-create 0 "$p" >"$d/out.$i.$p" 2>&1 &
		pids+=($!)
	done
	touch "$d/go"
	CREATED=0
	CREATED_BY_PROFILE=""
	for ((i = 0; i < n; i++)); do
		local rc=0
		wait "${pids[$i]}" || rc=$?
		local f
		f=$(ls "$d"/out."$i".*)
		[ "$rc" -eq 0 ] || fail "creator $i exited $rc: $(cat "$f")"
		local got
		got=$(cat "$f")
		case "$got" in
		'' | *[!0-9]*) fail "creator $i printed '$got'" ;;
		*) CREATED=$((CREATED + got)) ;;
		esac
	done
	local p
	for p in $(printf '%s\n' "${profiles[@]}" | sort -u); do
		local sum=0 f
		for f in "$d"/out.*."$p"; do
			local n
			n=$(cat "$f")
			case "$n" in '' | *[!0-9]*) ;; *) sum=$((sum + n)) ;; esac
		done
		CREATED_BY_PROFILE="$CREATED_BY_PROFILE $p:$sum"
	done
	rm -rf "$d"
}

t_concurrent_creators_fill_exactly() {
	a100_mig
	local round starts
	for round in 1 2 3 4; do
		race_creators 8 19
		expect_eq "$CREATED" 7 "round $round: GIs created by 8 racing processes"
		check_state_loads || continue
		expect_eq "$(echo "$GI_LINES" | grep -c .)" 7 "round $round: GIs in the state"
		starts=$(echo "$GI_LINES" | sed -n 's/.*placement \([0-9]*\):1$/\1/p' | sort -n | tr '\n' ' ')
		expect_eq "$starts" "0 1 2 3 4 5 6 " "round $round: placements"
		expect_eq "$(nvml count-gis 0)" 7 "round $round: GIs NVML lists"
		"$MIGSIM" reset >/dev/null || fail "reset after round $round"
	done
}

t_concurrent_mixed_profiles_lose_nothing() {
	a100_mig
	local round
	for round in 1 2 3; do
		# 1g (19), 2g (14) and 3g (9) creators race; whatever wins, every success each
		# process counted is in the state, and the state is valid.
		race_creators 6 19 14 9
		check_state_loads || continue
		local p want got
		for want in $CREATED_BY_PROFILE; do
			p=${want%%:*}
			got=$(echo "$GI_LINES" | grep -cE "profile +$p +placement")
			expect_eq "$p:$got" "$want" "round $round: GIs of profile $p in the state vs successes reported"
		done
		expect_eq "$(echo "$GI_LINES" | grep -c .)" "$CREATED" "round $round: GIs in the state"
		# Full: nothing of any size fits any more.
		expect_rc 0 "$NVMLCTL" loop-create 0 19 -- loop-create 0 14 -- loop-create 0 9
		expect_eq "$OUT" "0
0
0" "round $round: room left after the race"
		"$MIGSIM" reset >/dev/null || fail "reset after round $round"
	done
}

t_concurrent_migsim_writers_lose_no_update() {
	init_ok 2xA30
	local i pids=() d="$TEST_TMP/procs"
	mkdir -p "$d"
	for i in 0 1 2 3 4 5; do
		(for _ in 1 2 3 4 5 6 7 8 9 10; do "$MIGSIM" proc start --gpu $((i % 2)) || exit 1; done) >"$d/$i" 2>&1 &
		pids+=($!)
	done
	for i in 0 1 2 3 4 5; do
		wait "${pids[$i]}" || fail "writer $i failed: $(cat "$d/$i")"
	done
	local all
	all=$(cat "$d"/? | sort -n)
	expect_eq "$(echo "$all" | grep -c .)" 60 "pids printed"
	expect_eq "$(echo "$all" | sort -u | grep -c .)" 60 "distinct pids printed"
	expect_rc 0 "$MIGSIM" show
	expect_eq "$(echo "$OUT" | grep -c '^process ')" 60 "processes in the state"
	expect_eq "$(echo "$OUT" | sed -n 's/^process \([0-9]*\) .*/\1/p' | sort -n)" "$all" "the same pids"
}

t_concurrent_first_use_creates_one_state() {
	# No state file yet: every process that starts wants to create it, each from its own
	# MIGSIM_GPUS. One wins, under the lock, and every process sees that one node.
	local i pids=() d="$TEST_TMP/first-use"
	mkdir -p "$d"
	for i in 1 2 3 4 5 6; do
		if [ $((i % 2)) -eq 0 ]; then
			MIGSIM_GPUS="${i}xA30" "$NVMLCTL" wait "$d/go" -- mig-mode $((i - 1)) >"$d/$i" 2>&1 &
		else
			MIGSIM_GPUS="${i}xA30" "$MIGSIM" show >"$d/$i" 2>&1 &
		fi
		pids+=($!)
	done
	touch "$d/go"
	for i in 0 1 2 3 4 5; do
		wait "${pids[$i]}" || echo "failed" >>"$d/$((i + 1))"
	done
	expect_rc 0 "$MIGSIM" show
	local ngpus
	ngpus=$(echo "$OUT" | grep -c '^GPU ')
	for i in 1 3 5; do
		expect_eq "$(grep -c '^GPU ' "$d/$i")" "$ngpus" "GPUs seen by migsim process $i"
	done
	for i in 2 4 6; do
		if [ "$i" -le "$ngpus" ]; then
			expect_eq "$(cat "$d/$i")" "current 0 pending 0" "NVML process $i (node of $ngpus GPUs)"
		else
			expect_contains "$(cat "$d/$i")" "nvmlDeviceGetHandleByIndex_v2: error 2"
		fi
	done
}

# ---- (c) kill -9 during writes ----------------------------------------------------------------

# generation: the state's generation as 'migsim show' prints it.
generation() {
	"$MIGSIM" show 2>/dev/null | sed -n 's/.*(generation \([0-9]*\)).*/\1/p'
}

t_kill_9_never_tears_the_state() {
	local SETSID=setsid
	command -v setsid >/dev/null 2>&1 || SETSID=""
	init_ok A100-SXM4-40GB,A30
	nvml enable 0 >/dev/null
	local kill_no prev gen writer procs
	prev=$(generation)
	for kill_no in $(seq 1 30); do
		# Two writers: NVML create/destroy cycles, and migsim starting and stopping processes.
		"$NVMLCTL" churn 0 19 0 >/dev/null 2>&1 &
		writer=$!
		# In a session of its own, so that kill -9 of the group also hits the migsim it runs.
		# shellcheck disable=SC2016
		$SETSID bash -c 'while :; do p=$("$0" proc start --gpu 1) && "$0" proc stop "$p"; done' \
			"$MIGSIM" >/dev/null 2>&1 &
		procs=$!
		sleep "0.0$((RANDOM % 6 + 2))"
		kill -9 "$writer" 2>/dev/null
		kill -9 -- "-$procs" 2>/dev/null || kill -9 "$procs" 2>/dev/null
		wait "$writer" "$procs" 2>/dev/null
		# Whatever instant the kills hit, the file is one whole state.
		if ! timeout 10 "$MIGSIM" show >"$TEST_TMP/show" 2>&1; then
			fail "after kill $kill_no the state does not load: $(cat "$TEST_TMP/show")"
			break
		fi
		gen=$(sed -n 's/.*(generation \([0-9]*\)).*/\1/p' "$TEST_TMP/show")
		[ "$gen" -ge "$prev" ] || fail "after kill $kill_no the generation went back from $prev to $gen"
		prev=$gen
		# The lock is free again: a writer gets through, and clears what the killed ones left.
		timeout 10 "$MIGSIM" reset --kill >/dev/null 2>&1 || fail "after kill $kill_no a writer is stuck or fails"
	done
	local strays
	strays=$(find "$(dirname "$MIGSIM_STATE")" -maxdepth 1 -name "$(basename "$MIGSIM_STATE").tmp.*" | wc -l)
	echo "# $strays stray temporary file(s) left by killed writers"
	# Stray temporary files break nothing: every reader and writer still works.
	expect_rc 0 "$MIGSIM" show --json
	echo "$OUT" | json_valid || fail "show --json after the kills is not valid JSON"
	expect_rc 0 "$NVMLCTL" loop-create 0 19 -- count-gis 0
	expect_eq "$OUT" "7
7" "GIs created after the kills"
	check_state_loads
	expect_eq "$(echo "$GI_LINES" | grep -c .)" 7 "GIs in the state after the kills"
}

t_stray_temp_files_are_harmless() {
	a100_mig
	local before
	before=$(file_sum "$MIGSIM_STATE")
	# What a writer killed mid-write leaves: a partial file beside the state.
	head -c 100 "$MIGSIM_STATE" >"$MIGSIM_STATE.tmp.999999"
	echo '{"format": "migsim-state", "tru' >"$MIGSIM_STATE.tmp.$$"
	expect_rc 0 "$MIGSIM" show
	expect_eq "$(file_sum "$MIGSIM_STATE")" "$before" "state after reading beside stray files"
	expect_rc 0 "$NVMLCTL" create-gi 0 19 -- count-gis 0
	expect_contains "$OUT" "gi 13 placement 6:1"
	expect_rc 0 "$MIGSIM" caller user
	check_state_loads
	expect_eq "$(echo "$GI_LINES" | grep -c .)" 1 "GIs after writing beside stray files"
}

# ---- (d) faults are counted across processes ------------------------------------------------

t_fault_counts_are_shared() {
	a100_mig
	"$MIGSIM" fault add nvmlDeviceCreateGpuInstance IN_USE --nth 3 >/dev/null || fail "fault add"
	local i
	for i in 1 2; do
		expect_rc 0 "$NVMLCTL" create-gi 0 19
		expect_contains "$OUT" "gi "
	done
	expect_rc 1 "$NVMLCTL" create-gi 0 19
	expect_eq "$OUT" "nvmlDeviceCreateGpuInstance: error 19 (In use by another client)" "the third process's create"
	expect_rc 0 "$NVMLCTL" create-gi 0 19
	expect_rc 0 "$MIGSIM" show --json
	expect_eq "$(echo "$OUT" | json_eval "[(f['calls'], f['nth']) for f in d['faults']]")" "[[3, 3]]" "fault calls counted"
	expect_eq "$(nvml count-gis 0)" 3 "GIs created"
}

t_fault_counts_are_shared_under_concurrency() {
	a100_mig
	"$MIGSIM" fault add nvmlDeviceCreateGpuInstance IN_USE --nth 3 >/dev/null || fail "fault add"
	local d="$TEST_TMP/fault-race" i pids=()
	mkdir -p "$d"
	for i in 0 1 2 3 4 5; do
		"$NVMLCTL" wait "$d/go" -- create-gi 0 19 >"$d/$i" 2>&1 &
		pids+=($!)
	done
	touch "$d/go"
	local ok=0 in_use=0 other=0 rc
	for i in 0 1 2 3 4 5; do
		rc=0
		wait "${pids[$i]}" || rc=$?
		if [ "$rc" -eq 0 ]; then
			ok=$((ok + 1))
		elif grep -q 'error 19' "$d/$i"; then
			in_use=$((in_use + 1))
		else
			other=$((other + 1))
			fail "creator $i: $(cat "$d/$i")"
		fi
	done
	expect_eq "$ok:$in_use:$other" "5:1:0" "successes:IN_USE:other among 6 racing creates"
	expect_eq "$(nvml count-gis 0)" 5 "GIs created"
}

# ---- (e) latency ----------------------------------------------------------------

t_latency_applies_in_other_processes() {
	a100_mig
	"$MIGSIM" latency set gi-create 200 >/dev/null || fail "latency set"
	local t0 t1
	t0=$(now_ms)
	expect_rc 0 "$NVMLCTL" -t create-gi 0 19
	t1=$(now_ms)
	[ $((t1 - t0)) -ge 200 ] || fail "create took $((t1 - t0)) ms of wall time, expected at least 200"
	local ms
	ms=$(echo "$OUT" | sed -n 's/^elapsed_ms //p')
	[ -n "$ms" ] && [ "$ms" -ge 200 ] || fail "the create call took '$ms' ms, expected at least 200"
	# The placement variant is a gi-create too.
	expect_rc 0 "$NVMLCTL" -t create-gi 0 19 0:1
	ms=$(echo "$OUT" | sed -n 's/^elapsed_ms //p')
	[ -n "$ms" ] && [ "$ms" -ge 200 ] || fail "create with placement took '$ms' ms, expected at least 200"
}

t_latency_serialises_concurrent_writers() {
	a100_mig
	# The delay is served under the state lock, as the driver serialises MIG changes:
	# two creates started together take at least twice the delay.
	"$MIGSIM" latency set gi-create 150 >/dev/null || fail "latency set"
	local d="$TEST_TMP/lat" t0 t1 a b rc
	mkdir -p "$d"
	"$NVMLCTL" wait "$d/go" -- create-gi 0 19 >"$d/a" 2>&1 &
	a=$!
	"$NVMLCTL" wait "$d/go" -- create-gi 0 19 >"$d/b" 2>&1 &
	b=$!
	sleep 0.2
	t0=$(now_ms)
	touch "$d/go"
	rc=0
	wait "$a" || rc=$?
	wait "$b" || rc=$?
	t1=$(now_ms)
	expect_eq "$rc" 0 "exit status of the creators ($(cat "$d/a" "$d/b"))"
	[ $((t1 - t0)) -ge 300 ] || fail "two concurrent creates took $((t1 - t0)) ms, expected at least 300"
	expect_eq "$(nvml count-gis 0)" 2 "GIs created"
}

run_tests
