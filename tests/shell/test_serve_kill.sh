#!/usr/bin/env bash
# kill -9 of `migctl serve` at random moments while clients lease, renew and release through
# it (issue 13): >= 100 rounds (SERVE_KILL_ROUNDS, default 105). In each round the service is
# killed while its clients (tests/serve/churn_client.py) are busy, now and then a client is
# killed too, then the clients are paused, the service is started again and, after its
# reconcile, the leases, the pool (1g.5gb, two at most) and the node must be consistent:
#   - the service's GET /v1/leases and `migctl leases --json` list the same entries;
#   - every entry's MIG device exists on the node and belongs to that entry alone;
#   - every MIG device on the node belongs to an entry (nothing a lease created is left
#     without one, nothing half-made is left: no entry is "creating");
#   - every lease owned by a process is owned by a live client (a killed client's are gone);
#   - no journal is left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_leases.sh"
ROUNDS=${SERVE_KILL_ROUNDS:-105}
NCLIENTS=3
CLIENTS=()

start_client() { # SLOT
	"${PYTHON3:-python3}" "$SRCDIR/tests/serve/churn_client.py" "$SERVE_SOCK" "$1" 2>>"$TEST_TMP/clients.err" &
	CLIENTS[$1]=$!
}
signal_clients() { # SIGNAL
	local p
	for p in "${CLIENTS[@]}"; do
		kill "-$1" "$p" 2>/dev/null
	done
}

# check_round WHAT: the consistency above, in one python; prints "ENDED ORPHANS verdict".
check_round() {
	python3 - "$SERVE_SOCK" "$MIGCTL" "$MIGCTL_LEASES" "${CLIENTS[*]}" <<'EOF'
import json, os, subprocess, sys
from migctl_client import Client, MigctlError
sock, migctl, table_path, clients = sys.argv[1], sys.argv[2], sys.argv[3], set(map(int, sys.argv[4].split()))
bad = []
try:
    served = Client(sock, timeout=30).call("GET", "/v1/leases")  # the service's reconcile first
except MigctlError as e:
    print("0 0 GET /v1/leases: %s" % e)
    sys.exit(0)
def run(*a):
    r = subprocess.run((migctl, "--sim") + a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode:
        bad.append("migctl %s: exit %d: %s" % (" ".join(a), r.returncode, r.stderr.strip()))
        return None
    return json.loads(r.stdout)
cli = run("leases", "--json")
node = run("list", "--json")
if cli is None or node is None:
    print("0 0 " + "; ".join(bad))
    sys.exit(0)
key = lambda l: (l["id"], l["state"], l["mig_uuid"], json.dumps(l["owner"]), l["name"])
if sorted(map(key, served["leases"])) != sorted(map(key, cli["leases"])):
    bad.append("the service and migctl disagree: %s / %s" % (sorted(map(key, served["leases"])), sorted(map(key, cli["leases"]))))
uuids = sorted(c["uuid"] for g in node["gpus"] for gi in g.get("gpu_instances", []) for c in gi.get("compute_instances", []))
entries = cli["leases"]
named = [e["mig_uuid"] for e in entries]
if len(set(named)) != len(named):
    bad.append("one MIG device in two entries: %s" % sorted(named))
if sorted(named) != uuids:
    bad.append("entries %s, node %s" % (sorted(named), uuids))
table = json.load(open(table_path)) if os.path.exists(table_path) else {"entries": []}
if sorted(e["mig_uuid"] for e in table["entries"]) != sorted(named):
    bad.append("the table file names %s" % sorted(e["mig_uuid"] for e in table["entries"]))
for e in entries:
    if e["state"] not in ("active", "pooled", "draining"):
        bad.append("%s is %s" % (e["id"], e["state"]))
    if e["owner"] and e["owner"]["pid"] not in clients:
        bad.append("%s is owned by pid %d, no live client" % (e["id"], e["owner"]["pid"]))
r = served["reconciled"]
print("%d %d %s" % (r["ended"], r["orphans"], "; ".join(bad) or "ok"))
EOF
}

t_kill_rounds() {
	if ! serve_supported; then
		skip "this migctl has no serve command"
		return
	fi
	setup 2xA100-SXM4-40GB
	# released 1g.5gb instances stay warm, two at most: the pool is checked with the rest
	printf 'lease-pool = 1g.5gb\nlease-pool-max = 2\n' >"$MIGCTL_CONF"
	"$MIGSIM" latency set gi-create 3 >/dev/null
	"$MIGSIM" latency set ci-create 2 >/dev/null
	"$MIGSIM" latency set gi-destroy 2 >/dev/null
	serve_start --rate 0 || return
	local slot round verdict ended=0 orphans=0 victims=0 leases=0
	for slot in $(seq 0 $((NCLIENTS - 1))); do
		start_client "$slot"
	done
	for round in $(seq 1 "$ROUNDS"); do
		sleep "0.0$(printf %02d $((RANDOM % 80)))"
		if [ $((round % 3)) = 0 ]; then
			# a client dies too, at a random moment before the service: its own leases end
			slot=$((RANDOM % NCLIENTS))
			kill -9 "${CLIENTS[$slot]}" 2>/dev/null
			wait "${CLIENTS[$slot]}" 2>/dev/null
			victims=$((victims + 1))
			sleep "0.0$(printf %02d $((RANDOM % 30)))"
		fi
		serve_stop KILL
		signal_clients STOP
		[ $((round % 3)) = 0 ] && start_client "$slot" && kill -STOP "${CLIENTS[$slot]}"
		serve_start --rate 0 || break
		verdict=$(check_round)
		set -- $verdict
		ended=$((ended + $1))
		orphans=$((orphans + $2))
		shift 2
		[ "$*" = ok ] || fail "round $round: not consistent: $*"
		[ -e "$MIGCTL_JOURNAL" ] && fail "round $round: a journal stayed"
		leases=$((leases + $(table_uuids | wc -w)))
		signal_clients CONT
		[ "$_failures" -eq 0 ] || break
	done
	# how often a kill landed where it matters (informational: the moments are random)
	echo "# $round rounds, $victims clients killed: $ended leases ended at the next reconcile, $orphans entries of killed requests dropped, $leases table entries checked"
	# the clients did work (not only waited for the service)
	[ "$leases" -gt "$round" ] || fail "only $leases table entries in $round rounds: the clients hardly leased"
	grep -v '^$' "$TEST_TMP/clients.err" | head -5 | sed 's/^/# client: /'
	expect_eq "$(grep -c . "$TEST_TMP/clients.err")" 0 "unexpected errors the clients saw"
	# once the clients are gone, only their named TTL leases stay; released, nothing is left
	signal_clients KILL
	wait "${CLIENTS[@]}" 2>/dev/null
	expect_rc 0 client leases
	expect_eq "$(jget "len([l for l in d if l['owner']])")" 0 "leases of dead clients"
	local id
	for id in $(jget "' '.join(l['id'] for l in d if l['state'] == 'active')"); do
		client release "$id" >/dev/null || fail "release $id"
	done
	expect_rc 0 client leases
	expect_eq "$(jget "sorted(set(l['state'] for l in d))" | tr -d ' ')" '["pooled"]' "entries left: the pool"
	expect_eq "$(node_count)" "$(jget "len(d)")" "MIG devices once every lease ended: the pool's"
	serve_stop
}

run_tests
serve_stop KILL
signal_clients KILL
exit 0
