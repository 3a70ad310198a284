#!/usr/bin/env bash
# Correctness of leases under load (issue 12): CLIENTS concurrent clients, each running CYCLES
# times `migctl run --profile P -- CMD` (P drawn from 1g.5gb and 2g.10gb), on a simulated
# 2 x A100-SXM4-40GB with a pool (lease-pool = all, lease-pool-max = 4), at LATENCY_MS per GI/CI
# create or destroy. Each CMD records, on entry and on exit, the time, its lease id
# (MIGCTL_LEASE) and its MIG UUID (CUDA_VISIBLE_DEVICES), then holds the device a few ms.
# Afterwards the checker verifies:
#   - no MIG device was in two live leases at once (no two commands of different leases on one
#     UUID overlap in time; a command runs inside its lease's lifetime, so an overlap of two
#     leases on one device shows as one whenever their commands overlap);
#   - every lease id had one UUID, every command that started ended;
#   - nothing leaked: after the run (and the reconcile of `migctl leases`) no lease is left,
#     every MIG device on the node is a pooled entry of the table and the other way round,
#     the pool holds at most lease-pool-max, and no journal stayed.
# It prints the figures: runs, refusals (a request that did not fit when it came: exit 1 with
# "no capacity"/"fragmented"), pool hits, wall time, and the verdicts. Exit 0 when correct.
#
# usage: bench/lease_load.sh [CLIENTS [CYCLES [LATENCY_MS]]]   (after make; run it with nice)
set -u
CLIENTS=${1:-8}
CYCLES=${2:-500}
LATENCY=${3:-0}
here=$(cd "$(dirname "$0")/.." && pwd)
MIGCTL=${MIGCTL:-$here/build/migctl}
MIGSIM=${MIGSIM:-$here/build/migsim}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export MIGSIM_STATE="$TMP/state.json" MIGSIM_QUIET=1
export MIGCTL_LOCK="$TMP/apply.lock" MIGCTL_JOURNAL="$TMP/journal.json"
export MIGCTL_LEASES="$TMP/leases.json" MIGCTL_CONF="$TMP/migctl.conf"
unset MIGSIM_GPUS MIGCTL_NVML_LIB MIGSIM_TRACE MIGSIM_TIMELINE

"$MIGSIM" init 2xA100-SXM4-40GB >/dev/null || exit 1
"$MIGCTL" --sim mode enable >/dev/null || exit 1
for op in gi-create gi-destroy ci-create ci-destroy; do
	"$MIGSIM" latency set "$op" "$LATENCY" >/dev/null || exit 1
done
printf 'lease-pool = all\nlease-pool-max = 4\n' >"$MIGCTL_CONF"

# One client: its runs; the exit status of each run in $TMP/rc.N
client() { # N
	local n=$1 i p rc
	for i in $(seq 1 "$CYCLES"); do
		if [ $((RANDOM % 2)) -eq 0 ]; then p=1g.5gb; else p=2g.10gb; fi
		"$MIGCTL" --sim run --profile "$p" -- bash -c '
			echo "S $EPOCHREALTIME $MIGCTL_LEASE $CUDA_VISIBLE_DEVICES" >>"$0"
			sleep 0.00$((RANDOM % 10))
			echo "E $EPOCHREALTIME $MIGCTL_LEASE $CUDA_VISIBLE_DEVICES" >>"$0"' "$TMP/log" \
			>/dev/null 2>>"$TMP/err.$n"
		rc=$?
		echo "$rc" >>"$TMP/rc.$n"
	done
}

start=$(date +%s.%N)
for n in $(seq 1 "$CLIENTS"); do
	client "$n" &
done
wait
end=$(date +%s.%N)

"$MIGCTL" --sim leases --json >"$TMP/leases.out" 2>"$TMP/leases.err" || { cat "$TMP/leases.err"; exit 1; }
"$MIGCTL" --sim list --json >"$TMP/node.json" || exit 1

python3 - "$TMP" "$CLIENTS" "$CYCLES" "$LATENCY" "$start" "$end" <<'EOF'
import collections, glob, json, os, sys
tmp, clients, cycles, latency, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5]), float(sys.argv[6])
rcs = collections.Counter()
for f in glob.glob(os.path.join(tmp, "rc.*")):
    for line in open(f):
        rcs[int(line)] += 1
errs = ""
for f in glob.glob(os.path.join(tmp, "err.*")):
    errs += open(f).read()
refused = sum(1 for l in errs.splitlines() if "no capacity" in l or "fragment" in l or "no legal placement" in l.lower())
other_errs = [l for l in errs.splitlines() if l.strip() and not ("no capacity" in l or "fragment" in l or "waiting for another change" in l or "no legal placement" in l.lower())]
starts, ends, uuid_of = {}, {}, {}
bad = []
for line in open(os.path.join(tmp, "log")) if os.path.exists(os.path.join(tmp, "log")) else []:
    kind, t, lease, uuid = line.split()
    t = float(t)
    if uuid_of.setdefault(lease, uuid) != uuid:
        bad.append("lease %s had two UUIDs" % lease)
    (starts if kind == "S" else ends)[lease] = t
for lease in starts:
    if lease not in ends:
        bad.append("lease %s: its command started and never ended" % lease)
by_uuid = collections.defaultdict(list)
for lease, t0 in starts.items():
    if lease in ends:
        by_uuid[uuid_of[lease]].append((t0, ends[lease], lease))
overlaps = 0
for uuid, iv in by_uuid.items():
    iv.sort()
    for a, b in zip(iv, iv[1:]):
        if b[0] < a[1]:
            overlaps += 1
            bad.append("%s in two live leases: %s and %s" % (uuid, a[2], b[2]))
d = json.load(open(os.path.join(tmp, "leases.out")))
node = json.load(open(os.path.join(tmp, "node.json")))
table = json.load(open(os.path.join(tmp, "leases.json")))
live = [l for l in d["leases"] if l["state"] != "pooled"]
pooled = sorted(l["mig_uuid"] for l in d["leases"] if l["state"] == "pooled")
on_node = sorted(c["uuid"] for g in node["gpus"] for gi in g.get("gpu_instances", []) for c in gi.get("compute_instances", []))
in_table = sorted(e["mig_uuid"] for e in table["entries"])
if live:
    bad.append("leases left: %s" % [l["id"] for l in live])
if on_node != pooled:
    bad.append("leaked: MIG devices on the node %s, pooled %s" % (on_node, pooled))
if in_table != pooled:
    bad.append("the table names %s, pooled %s" % (in_table, pooled))
if len(pooled) > 4:
    bad.append("the pool holds %d, more than lease-pool-max 4" % len(pooled))
if os.path.exists(os.path.join(tmp, "journal.json")):
    bad.append("a journal stayed")
runs = sum(rcs.values())
ok = rcs.get(0, 0)
print("%d clients x %d cycles of migctl run (1g.5gb or 2g.10gb), 2 x A100-SXM4-40GB, %s ms per GI/CI create/destroy, lease-pool = all (max 4)" % (clients, cycles, latency))
print("runs: %d, command ran: %d, refused (did not fit when asked): %d, other failures: %d" % (runs, ok, refused, runs - ok - refused))
print("distinct leases: %d on %d distinct MIG UUIDs; wall %.1f s (%.1f runs/s)" % (len(starts), len(by_uuid), end - start, runs / (end - start)))
print("same MIG device in two live leases: %d" % overlaps)
print("after the run: %d leases left, %d MIG devices on the node, %d pooled, journal %s" % (len(live), len(on_node), len(pooled), "left" if os.path.exists(os.path.join(tmp, "journal.json")) else "none"))
for l in other_errs[:5]:
    bad.append("error: " + l)
if runs != clients * cycles:
    bad.append("%d runs recorded, expected %d" % (runs, clients * cycles))
if runs - ok - refused:
    bad.append("%d runs failed for another reason than capacity" % (runs - ok - refused))
print("verdict: " + ("correct" if not bad else "WRONG: " + "; ".join(bad[:10])))
sys.exit(1 if bad else 0)
EOF
