#!/usr/bin/env bash
# Runs the full reliability checks and writes docs/reliability.md with their latest figures.
#
#   scripts/reliability-report.sh [BUILD]      (default: $BUILD, else build)
#
# 1. fault-injection sweep: every NVML call of a representative apply x six errors (REL_SWEEP=check: the bounded one)
#    (tests/shell/test_fault_sweep.sh with FAULT_SWEEP=full);
# 2. crash proof: CRASH_KILLS (default 200) kill -9 at random instants (tests/shell/test_crash.sh;
#    CRASH_SEED, default: random, printed);
# 3. concurrency: CONC_ROUNDS (default 20) rounds (tests/shell/test_concurrency.sh);
# 4. fuzzing: `make fuzz` with FUZZ_SECONDS (default 30) per target, when the target exists
#    and clang is installed (REL_FUZZ=0 skips it);
# 5. privilege and file safety (tests/shell/test_privilege.sh) and static analysis (a make
#    target named analyze, static-analysis, lint or cppcheck, or scripts/static-analysis.sh),
#    when present.
# Builds with make BUILD=... -j$JOBS (default 2). Exit status: 0 when every check passed (a
# known open bug, TAP "# TODO", does not count), 1 otherwise; the report is written either way.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${1:-${BUILD:-build}}
JOBS=${JOBS:-2}
KILLS=${CRASH_KILLS:-200}
SEED=${CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
ROUNDS=${CONC_ROUNDS:-20}
FUZZ_SECS=${FUZZ_SECONDS:-30}
OUTDOC=${REL_REPORT:-docs/reliability.md}
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/reliability.XXXXXX")
status=0

say() { echo "reliability: $*" >&2; }

say "building $BUILD (logs in $LOGS)"
if ! make --no-print-directory BUILD="$BUILD" -j"$JOBS" >"$LOGS/build.log" 2>&1; then
	say "build failed: $(tail -5 "$LOGS/build.log")"
	exit 1
fi
ABS=$(cd "$BUILD" && pwd)
export MIGCTL_BUILD="$ABS" MIGSIM="$ABS/migsim" MIGCTL="$ABS/migctl" MIGSIM_LIB="$ABS/sim/libnvidia-ml.so.1" MIGSIM_QUIET=1

# run_tap NAME FILE [ENV=VALUE...]: run one TAP test file; sets OK NOK TODO SKIP SECS and
# leaves its output in $LOGS/NAME.log.
run_tap() {
	local name=$1 file=$2 t0
	shift 2
	t0=$(date +%s)
	env "$@" bash "$file" >"$LOGS/$name.log" 2>&1
	local rc=$?
	SECS=$(($(date +%s) - t0))
	OK=$(grep -cE '^ok [0-9]+' "$LOGS/$name.log")
	NOK=$(grep -E '^not ok [0-9]+' "$LOGS/$name.log" | grep -cv '# TODO')
	TODO=$(grep -cE '^not ok [0-9]+.*# TODO' "$LOGS/$name.log")
	SKIP=$(grep -cE '^ok [0-9]+.*# SKIP|^# skipping' "$LOGS/$name.log")
	if [ "$rc" -ne 0 ] && [ "$NOK" -eq 0 ]; then NOK=1; fi
	[ "$NOK" -eq 0 ] || status=1
	say "$name: $OK ok, $NOK failed, $TODO known bugs (${SECS}s)"
}

# fig NAME KEY: the value of KEY=... on a "# figures:" line of NAME's log (the last one).
fig() {
	grep '^# figures:' "$LOGS/$1.log" | tr ' ' '\n' | sed -n "s/^$2=//p" | tail -1
}

verdict() { [ "$NOK" -eq 0 ] && echo "pass" || echo "**FAIL**"; }

# ---- 1. fault sweep ------------------------------------------------------------------------
say "fault sweep (${REL_SWEEP:-full})"
run_tap sweep tests/shell/test_fault_sweep.sh FAULT_SWEEP="${REL_SWEEP:-full}" FAULT_SWEEP_RESULTS="$LOGS/sweep.json"
SW_V=$(verdict) SW_S=$SECS SW_TODO=$TODO
SW_LINE=$(grep -m1 '^# mode ' "$LOGS/sweep.log" | sed 's/^# //')
SW_PAIRS=$(fig sweep pairs) SW_PASSED=$(fig sweep passed) SW_TOL=$(fig sweep tolerated)
SW_MSG=$(fig sweep message_ok) SW_ORPH=$(fig sweep orphan_free) SW_FULL=$(fig sweep fully_ok)
SW_DETAIL=$(grep -E '^# (tolerated|message falls short|GPU instances left|failed)|^#  +[0-9]+ x' "$LOGS/sweep.log" | sed 's/^# \{0,1\}//' | cut -c1-400)

# ---- 2. crash proof ------------------------------------------------------------------------
say "crash proof: $KILLS kills, seed $SEED"
run_tap crash tests/shell/test_crash.sh CRASH_KILLS="$KILLS" CRASH_SEED="$SEED"
CR_V=$(verdict) CR_S=$SECS
CR_KILLED=$(fig crash killed) CR_MID=$(fig crash mid_apply) CR_BJ=$(fig crash before_journal)
CR_FIRST=$(fig crash finished_first) CR_SURV=$(fig crash survived)
CR_SPAN=$(sed -n 's/.*an apply takes \([0-9]*\) ms.*/\1/p' "$LOGS/crash.log" | head -1)
CR_FAILS=$(grep '^# FAIL' "$LOGS/crash.log" | head -5 | cut -c1-300)

# ---- 3. concurrency ------------------------------------------------------------------------
say "concurrency: $ROUNDS rounds"
run_tap conc tests/shell/test_concurrency.sh CONC_ROUNDS="$ROUNDS"
CO_V=$(verdict) CO_S=$SECS
CO_ROUNDS=$(fig conc concurrent_apply_rounds) CO_APPLIES=$(grep '^# figures: concurrent' "$LOGS/conc.log" | tr ' ' '\n' | sed -n 's/^applies=//p')
CO_POLLS1=$(grep '^# figures: concurrent' "$LOGS/conc.log" | tr ' ' '\n' | sed -n 's/^state_polls=//p')
RACE=$(grep '^# figures: race' "$LOGS/conc.log" | sed 's/^# figures: //')
race() { echo "$RACE" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
CO_ENDS=$(sed -n 's/^# round [0-9]*: the node ends as config \(.\)$/\1/p' "$LOGS/conc.log" | sort | uniq -c | awk '{printf "%s%s x%s", (NR>1?", ":""), $2, $1}')

# ---- 4. fuzzing ----------------------------------------------------------------------------
FZ_STATE="not run"
FZ_BODY=""
if [ "${REL_FUZZ:-1}" = 0 ]; then
	FZ_STATE="skipped (REL_FUZZ=0)"
elif ! make -n --no-print-directory BUILD="$BUILD" fuzz >/dev/null 2>&1; then
	FZ_STATE="placeholder: there is no \`make fuzz\` target yet; this section is filled in when it exists"
elif ! command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1; then
	FZ_STATE="not run: ${FUZZ_CC:-clang} is not installed"
else
	say "fuzzing: make fuzz FUZZ_SECONDS=$FUZZ_SECS"
	t0=$(date +%s)
	if make --no-print-directory BUILD="$BUILD" FUZZ_SECONDS="$FUZZ_SECS" fuzz >"$LOGS/fuzz.log" 2>&1; then
		FZ_STATE="pass ($(($(date +%s) - t0)) s)"
	else
		FZ_STATE="**FAIL** ($(($(date +%s) - t0)) s; see the log)"
		status=1
	fi
	FZ_BODY=$(python3 - "$LOGS/fuzz.log" <<'PY'
import re, sys
rows, cur = [], None
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"== (fuzz_\S+): (\d+) s, (\d+) seeds", line)
    if m:
        cur = {"t": m.group(1), "s": m.group(2), "seeds": m.group(3), "runs": "?", "cov": "?", "corpus": "?"}
        rows.append(cur)
        continue
    if cur is None:
        continue
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", line)
    if m:
        cur["runs"] = m.group(1)
    m = re.search(r"#(\d+)\s+DONE\s+cov: (\d+)", line)
    if m:
        cur["runs"], cur["cov"] = m.group(1), m.group(2)
    m = re.search(r"corpus: (\d+) inputs", line)
    if m:
        cur["corpus"] = m.group(1)
if rows:
    print("| target | seconds | seeds | executions | coverage (edges) | corpus after |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %s | %s | %s | %s |" % (r["t"], r["s"], r["seeds"], r["runs"], r["cov"], r["corpus"]))
PY
)
	FZ_BODY="$FZ_BODY
$(grep -E '^fuzz: ' "$LOGS/fuzz.log" | tail -1)"
fi

# ---- 5. privilege, file safety, static analysis ---------------------------------------------
PV_STATE="placeholder: tests/shell/test_privilege.sh does not exist yet"
if [ -f tests/shell/test_privilege.sh ]; then
	run_tap priv tests/shell/test_privilege.sh
	PV_STATE="$(verdict): $OK passed, $NOK failed, $TODO known bugs, $SKIP skipped (need root) ($SECS s; run as $(id -un))"
fi
SA_STATE="placeholder: no static analysis target yet (looked for make analyze, static-analysis, lint, cppcheck and scripts/static-analysis.sh)"
for tgt in analyze static-analysis lint cppcheck; do
	if make -n --no-print-directory BUILD="$BUILD" "$tgt" >/dev/null 2>&1; then
		say "static analysis: make $tgt"
		if make --no-print-directory BUILD="$BUILD" "$tgt" >"$LOGS/static.log" 2>&1; then
			SA_STATE="pass: \`make $tgt\` reports nothing ($(grep -c . "$LOGS/static.log") lines of output)"
		else
			SA_STATE="**FAIL**: \`make $tgt\` exited non-zero; last lines: $(tail -3 "$LOGS/static.log" | tr '\n' ' ' | cut -c1-300)"
			status=1
		fi
		break
	fi
done
if [ -x scripts/static-analysis.sh ] && [ ! -s "$LOGS/static.log" ]; then
	if scripts/static-analysis.sh >"$LOGS/static.log" 2>&1; then
		SA_STATE="pass: scripts/static-analysis.sh"
	else
		SA_STATE="**FAIL**: scripts/static-analysis.sh; last lines: $(tail -3 "$LOGS/static.log" | tr '\n' ' ' | cut -c1-300)"
		status=1
	fi
fi

# ---- the report ----------------------------------------------------------------------------
COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
DIRTY=$(git status --porcelain 2>/dev/null | grep -c .)
[ "$DIRTY" -gt 0 ] && COMMIT="$COMMIT (+ $DIRTY uncommitted changes)"
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
MACHINE="$(nproc) CPU(s), $(uname -sm), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)"

mkdir -p "$(dirname "$OUTDOC")"
cat >"$OUTDOC" <<EOF
# Reliability

Generated by \`scripts/reliability-report.sh\` — do not edit by hand; run it again
(\`scripts/reliability-report.sh [BUILD]\`, environment: \`CRASH_KILLS\`, \`CRASH_SEED\`,
\`CONC_ROUNDS\`, \`FUZZ_SECONDS\`, \`REL_FUZZ=0\`).

- date: $NOW
- commit: $COMMIT
- machine: $MACHINE
- build: \`$BUILD\`

| check | what it proves | latest figures | result |
|---|---|---|---|
| fault sweep | every NVML call of an apply, failed with each of six errors: apply stops with a non-zero exit, the state stays valid, and the next apply converges keeping the kept instances' UUIDs | $SW_PASSED of $SW_PAIRS (call, error) pairs passed ($SW_TOL tolerated with exit 0 and the node as configured); messages complete in $SW_MSG; no orphaned GPU instance in $SW_ORPH | $SW_V, $SW_TODO known bug(s) |
| crash proof | kill -9 at random instants during apply on an 8-GPU node with driver latency: the next apply converges and kept instances keep their UUIDs | $CR_SURV of $KILLS kills survived (seed $SEED) | $CR_V |
| concurrency | concurrent applies end in exactly one requested config; every change (create, create-ci, destroy, mode, apply) takes the one node lock: it waits for a holder, and racing an apply it never leaves a mixed state; the simulator's state is never torn | $CO_APPLIES applies in $CO_ROUNDS rounds; $(race race_rounds) races of a command against an apply (the apply waited in $(race apply_waited), the other in $(race other_waited)); ${CO_POLLS1:-0} state polls | $CO_V |
| fuzzing | parsers and the simulator's state loader survive arbitrary input under ASan/UBSan | see below | $FZ_STATE |
| privilege and files | see below | | $PV_STATE |
| static analysis | see below | | $SA_STATE |

## 1. Fault-injection sweep (\`tests/shell/test_fault_sweep.sh\`, \`FAULT_SWEEP=${REL_SWEEP:-full}\`)

The apply: node \`A100-SXM4-40GB,H100-SXM5-80GB,A30\`, config \`start\` → \`target\` of
\`tests/fixtures/reliability/mixed.yaml\` (keeps 4 GPU instances, destroys 4 with their compute
instances, enables MIG on the A30, creates 6 GPU and 6 compute instances). Its NVML calls are
listed by the simulator's trace (\`MIGSIM_TRACE\`); the *N*th call of a function is the one
\`migsim fault add FUNCTION ERROR --nth N\` fails (fault counts run from when the fault is armed,
across all processes; a name without \`_vN\` also counts its versioned symbols). Errors:
INSUFFICIENT_RESOURCES, IN_USE, NO_PERMISSION, GPU_IS_LOST, UNKNOWN, TIMEOUT.

Each pair passes when: apply exits non-zero (or exits 0 having tolerated the failure with the
node exactly as configured), does not crash or hang, the state file loads, the fault was
reached; after \`migsim fault clear\` the next apply exits 0, \`migctl assert\` exits 0, no journal
stays, and every kept GPU instance has its placement, compute instances and MIG UUIDs.
Two further properties are counted apart (tests 2 and 3 of the file): the message names the
GPU, the step and the cause and says when operations were already done; and no GPU instance is
left without compute instances (apply rolls back a half-made or half-emptied one).

- $SW_LINE
- pairs tried: **$SW_PAIRS**, passed: **$SW_PASSED** (of which tolerated: $SW_TOL)
- messages complete: $SW_MSG of $SW_PAIRS; no orphaned GPU instance: $SW_ORPH of $SW_PAIRS; all properties: $SW_FULL of $SW_PAIRS

\`\`\`
$SW_DETAIL
\`\`\`

## 2. Crash proof (\`tests/shell/test_crash.sh\`)

8 × A100-SXM4-40GB, latencies gi-create/ci-create/gi-destroy/ci-destroy 8 ms and mig-mode
30 ms; apply alternates between configs \`a\` and \`b\` of \`tests/fixtures/reliability/eight.yaml\`
(71 operations each way, 36 GPU instances kept, MIG mode changed on GPU 7). Each round kills
apply with SIGKILL after a random delay up to one apply's duration (${CR_SPAN:-?} ms), then
checks that the state loads, the next apply exits 0 and reports the interrupted one, no
journal stays, \`assert\` exits 0, the kept instances keep their MIG UUIDs and no GPU instance
is left without compute instances.

- seed: $SEED (rerun with \`CRASH_SEED=$SEED CRASH_KILLS=$KILLS\`)
- kills: $KILLS; killed part way through (journal written): ${CR_MID:-?}; killed before the journal: ${CR_BJ:-?}; finished before the kill: ${CR_FIRST:-?}
- survived (converged, UUIDs kept): **${CR_SURV:-?} of $KILLS**; ${CR_S} s
$( [ -n "$CR_FAILS" ] && printf '\n```\n%s\n```\n' "$CR_FAILS")

## 3. Concurrency (\`tests/shell/test_concurrency.sh\`)

Four applies of four mutually distinct configs started at the same instant, $CO_ROUNDS rounds:
all exit 0 (they take turns through the lock) and the node then matches exactly one config.
Then every command that changes the node (\`create\`, \`create-ci\`, \`destroy\`, \`mode
disable\`, \`mode enable\`, \`apply\`): with the node lock held by another process each one
waits, says so and changes nothing until it is released; and each races a real apply, round
after round (at once, or half a beat later): the apply always succeeds, the other command
exits 0 or 1 with a message, and the node ends in the state one of the two orders leaves.

- concurrent apply rounds: ${CO_ROUNDS:-?}, applies: ${CO_APPLIES:-?}; final configs: ${CO_ENDS:-?}
- races of a command against an apply: $(race race_rounds); the apply waited for the other in $(race apply_waited), the other for the apply in $(race other_waited)
- state polls while the concurrent applies ran: ${CO_POLLS1:-0}, torn or invalid: 0 unless the result says FAIL; ${CO_S} s

## 4. Fuzzing (\`make fuzz\`, fuzz/)

$FZ_STATE

$FZ_BODY

## 5. Privilege and file safety (\`tests/shell/test_privilege.sh\`)

$PV_STATE

## 6. Static analysis

$SA_STATE

`make lint` runs cppcheck (warning, style, performance and portability checks; one documented
suppression in \`lint/cppcheck.supp\`) and clang's scan-build over a clean build of everything,
including the tests and fuzz replays; CI (\`.ci/run\`) fails on any report. Memory errors are
covered twice in CI: \`make asan\` runs the whole suite (every shell test included) with
ASan+UBSan builds of migctl, the simulator and the tests, and \`make valgrind\` runs the C tests
and fuzz replays under valgrind and every migctl command (the golden and walkthrough tests)
with migctl under valgrind (\`tests/valgrind-migctl.sh\`). The rest of the shell tests are not
run under valgrind: thousands of migctl runs at about 0.3 s each would take CI past half an hour.

## Known open bugs (TAP TODO in these tests)

\`\`\`
$(cat "$LOGS"/*.log | sed -n 's/^not ok [0-9]* - \(t_[a-z0-9_]*\) # TODO /\1: /p')
\`\`\`

## Existing tests these build on

\`tests/shell/test_declarative.sh\` (stop at every operation with a driver error; kill -9 at
fixed journal points; two applies taking turns), \`tests/shell/test_multiprocess.sh\` (the
simulator's writers never tear the state or lose an update under kill -9 and races).
EOF
say "wrote $OUTDOC (logs in $LOGS)"
exit "$status"
