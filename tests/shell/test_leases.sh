#!/usr/bin/env bash
# Leases (issue 12): lease, release, leases, run, capacity, on the simulator.
#
# Every lease here is owned by a process the test started (a sleep) or by a name with a TTL;
# owners are killed with kill -9 at random moments (>= 100 rounds in t_owner_death_rounds),
# and after each round the lease table, the pool and the node must agree: no lease of a dead
# owner, no instance without its lease, and the instance of a live lease untouched.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_leases.sh"
ROUNDS=${LEASE_ROUNDS:-105}

t_lease_by_profile_and_by_memory() {
	setup
	owner
	expect_rc 0 m lease --profile 1g.5gb --owner "$OWNER" --json
	expect_eq "$(jget "d['lease']['state']")" active "state"
	expect_eq "$(jget "d['lease']['profile']")" 1g.5gb "profile"
	local uuid
	uuid=$(jget "d['lease']['mig_uuid']")
	expect_eq "$(jget "d['lease']['env']")" "CUDA_VISIBLE_DEVICES=$uuid" "env"
	expect_eq "$(jget "d['lease']['cdi']")" "nvidia.com/mig=$uuid" "cdi"
	expect_eq "$(jget "d['lease']['owner']['pid']")" "$OWNER" "owner"
	expect_contains "$(node_uuids)" "$uuid"
	# the driver's id and NVML's spelling are profiles too
	expect_rc 0 m lease --profile "MIG 1g.5gb" --owner "$OWNER" --json
	expect_eq "$(jget "d['lease']['profile']")" 1g.5gb "profile by NVML name"
	expect_rc 0 m lease --profile 19 --owner "$OWNER" --json
	expect_eq "$(jget "d['lease']['profile']")" 1g.5gb "profile by id"
	# by need: 9 GiB is the smallest profile with that much memory, 1g.10gb
	expect_rc 0 m lease --memory 9gb --owner "$OWNER" --json
	expect_eq "$(jget "d['lease']['profile']")" 1g.10gb "profile for 9 GiB"
	expect_rc 0 m lease --slices 2 --owner "$OWNER" --json
	expect_eq "$(jget "d['lease']['profile']")" 2g.10gb "profile for 2 slices"
	# text output names the device and its environment
	expect_rc 0 m leases
	expect_contains "$OUT" "$uuid"
	# mistakes
	expect_rc 1 m lease --profile 2g.5gb --owner "$OWNER"
	expect_contains "$ERR" "2g.5gb"
	expect_rc 2 m lease --owner "$OWNER"
	expect_contains "$ERR" "what to lease"
	expect_rc 2 m lease --profile 1g.5gb --memory 10gb --owner "$OWNER"
	expect_rc 2 m lease --profile 1g.5gb --name x
	expect_contains "$ERR" "needs --ttl"
	expect_rc 1 m lease --memory 100gb --owner "$OWNER"
	expect_contains "$ERR" "no profile"
	kill_owner "$OWNER"
}

t_release() {
	setup
	owner
	expect_rc 0 m lease --profile 2g.10gb --owner "$OWNER" --json
	local id uuid
	id=$(jget "d['lease']['id']")
	uuid=$(jget "d['lease']['mig_uuid']")
	expect_rc 0 m release "$id"
	expect_contains "$OUT" "its instance was destroyed"
	expect_not_contains "$(node_uuids)" "$uuid"
	expect_eq "$(node_count)" 0 "MIG devices after release"
	expect_rc 1 m release "$id"
	expect_contains "$ERR" "no lease $id"
	expect_rc 2 m release
	kill_owner "$OWNER"
}

# The placement policy through leases: 2g.10gb first goes where 4g.20gb (only at 0:4) still fits.
t_open_gpu_2g_then_4g() {
	setup
	owner
	expect_rc 0 m lease --profile 2g.10gb --owner "$OWNER" --json
	expect_eq "$(jget "d['lease']['placement']['start']")" 4 "2g.10gb placed beside the 4g.20gb placement"
	expect_rc 0 m lease --profile 4g.20gb --owner "$OWNER" --json
	expect_eq "$(jget "d['lease']['placement']['start']")" 0 "4g.20gb"
	kill_owner "$OWNER"
}

# check_consistent WHAT SENTINEL_UUID: after a reconcile, the only instance and the only lease
# is the live sentinel's (one python for the three views: leases, node, table file).
check_consistent() {
	expect_rc 0 m leases --json
	local node verdict
	node=$(m list --json) || fail "$1: list"
	verdict=$(python3 -c '
import json, sys
what, sentinel, leases, node, table = sys.argv[1:6]
d = json.loads(leases)
n = json.loads(node)
t = json.load(open(table))
uuids = sorted(c["uuid"] for g in n["gpus"] for gi in g.get("gpu_instances", []) for c in gi.get("compute_instances", []))
bad = []
if [l["mig_uuid"] for l in d["leases"]] != [sentinel]:
    bad.append("leases %s" % [l["mig_uuid"] for l in d["leases"]])
if uuids != [sentinel]:
    bad.append("node %s" % uuids)
if [e["mig_uuid"] for e in t["entries"]] != [sentinel]:
    bad.append("table %s" % [e["mig_uuid"] for e in t["entries"]])
r = d["reconciled"]
print("%d %d %s" % (r["ended"], r["orphans"], "; ".join(bad) or "ok"))' "$1" "$2" "$OUT" "$node" "$MIGCTL_LEASES")
	set -- "$1" $verdict
	ENDED=$((ENDED + $2))
	ORPHANS=$((ORPHANS + $3))
	shift 3
	[ "$*" = ok ] || fail "round: not consistent: $*"
	[ -e "$MIGCTL_JOURNAL" ] && fail "a journal stayed"
}

t_owner_death_rounds() {
	setup
	"$MIGSIM" latency set gi-create 3 >/dev/null
	"$MIGSIM" latency set ci-create 2 >/dev/null
	"$MIGSIM" latency set gi-destroy 2 >/dev/null
	local sentinel suuid round pid ms child
	ENDED=0 ORPHANS=0
	owner
	sentinel=$OWNER
	expect_rc 0 m lease --profile 3g.20gb --owner "$sentinel" --json
	suuid=$(jget "d['lease']['mig_uuid']")
	for round in $(seq 1 "$ROUNDS"); do
		ms=$((RANDOM % 40))
		case $((round % 3)) in
		0) # a named owner dies: before, during or after its lease command
			owner
			pid=$OWNER
			m lease --profile 1g.5gb --owner "$pid" >/dev/null 2>&1 &
			local lp=$!
			sleep "0.0$(printf %02d "$ms")"
			kill_owner "$pid"
			wait "$lp"
			;;
		1) # migctl run killed at a random moment (while leasing, running or releasing)
			rm -f "$TEST_TMP/child"
			"$MIGCTL" --sim run --profile 1g.5gb -- sh -c "echo \$\$ >'$TEST_TMP/child'; exec sleep 0.0$((RANDOM % 5))" \
				>/dev/null 2>&1 &
			pid=$!
			sleep "0.0$(printf %02d "$ms")"
			kill -9 "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			child=$(cat "$TEST_TMP/child" 2>/dev/null)
			[ -n "$child" ] && kill -9 "$child" 2>/dev/null
			;;
		2) # two leases of one owner; the owner dies while a second request runs
			owner
			pid=$OWNER
			m lease --profile 1g.5gb --owner "$pid" >/dev/null 2>&1
			m lease --memory 4gb --owner "$pid" >/dev/null 2>&1 &
			local lp2=$!
			sleep "0.0$(printf %02d "$ms")"
			kill_owner "$pid"
			wait "$lp2"
			;;
		esac
		check_consistent "round $round" "$suuid"
		[ "$_failures" -eq 0 ] || break
	done
	# how often a kill landed where it matters (informational: the moments are random)
	echo "# $round rounds: $ENDED leases ended at the next reconcile, $ORPHANS entries of killed requests dropped"
	kill_owner "$sentinel"
	expect_rc 0 m leases --json
	expect_eq "$(jget "len(d['leases'])")" 0 "leases once the sentinel died"
	expect_eq "$(node_count)" 0 "MIG devices once every owner died"
}

t_ttl_expiry_and_renewal() {
	setup
	expect_rc 0 m lease --profile 1g.5gb --name job --ttl 3600 --json
	local id
	id=$(jget "d['lease']['id']")
	expect_eq "$(jget "d['lease']['owner']")" null "a named lease has no owner process"
	expect_rc 0 m lease --profile 1g.5gb --name job --ttl 3600 --json
	expect_eq "$(jget "d['lease']['id']")" "$id" "the name renews the same lease"
	expect_eq "$(node_count)" 1 "MIG devices after a renewal"
	# a tiny TTL: the lease ends at a reconcile after it ran out (polled, never timed)
	expect_rc 0 m lease --profile 1g.5gb --name short --ttl 0.2 --json
	local i gone=0
	for i in $(seq 1 200); do
		OUT=$(m leases --json) || fail "leases failed"
		if [ "$(jget "len([l for l in d['leases'] if l['name'] == 'short'])")" = 0 ]; then
			gone=1
			break
		fi
		sleep 0.05
	done
	expect_eq "$gone" 1 "the short lease ended"
	expect_eq "$(jget "d['reconciled']['ended'] + 0")" 1 "ended at that reconcile"
	expect_eq "$(node_count)" 1 "MIG devices: only the long lease's"
	expect_rc 0 m release "$id"
}

t_pool_reuse_and_reclaim() {
	setup
	printf 'lease-pool = 1g.5gb\nlease-pool-max = 2\n' >"$MIGCTL_CONF"
	owner
	expect_rc 0 m lease --profile 1g.5gb --owner "$OWNER" --json
	local id uuid
	id=$(jget "d['lease']['id']")
	uuid=$(jget "d['lease']['mig_uuid']")
	expect_rc 0 m release "$id"
	expect_contains "$OUT" "stays warm in the pool"
	expect_contains "$(node_uuids)" "$uuid"
	expect_rc 0 m leases --json
	expect_eq "$(jget "d['leases'][0]['state']")" pooled "state after release"
	# the next request of that profile gets the warm instance
	expect_rc 0 m lease --profile 1g.5gb --owner "$OWNER" --json
	expect_eq "$(jget "d['lease']['mig_uuid']")" "$uuid" "reused MIG device"
	expect_eq "$(jget "d['lease']['reused']")" true "reused"
	id=$(jget "d['lease']['id']")
	# a profile the pool does not take is destroyed on release
	expect_rc 0 m lease --profile 2g.10gb --owner "$OWNER" --json
	expect_rc 0 m release "$(jget "d['lease']['id']")"
	expect_contains "$OUT" "destroyed"
	# an owner's death pools too
	kill_owner "$OWNER"
	expect_rc 0 m leases --json
	expect_eq "$(jget "d['reconciled']['pooled']")" 1 "pooled at the owner's death"
	# capacity: 7g.40gb fits only once the pool is reclaimed
	expect_rc 0 m capacity --json
	expect_eq "$(jget "[c['now'] for c in d['capacity'] if c['profile'] == '7g.40gb'][0]")" 0 "7g.40gb now"
	expect_eq "$(jget "[c['reclaimed'] for c in d['capacity'] if c['profile'] == '7g.40gb'][0]")" 1 "7g.40gb reclaimed"
	expect_rc 0 m capacity
	expect_contains "$OUT" "POOL RECLAIMED"
	# a request that fits only after the pool is reclaimed destroys the pooled instance
	owner
	expect_rc 0 m lease --profile 7g.40gb --owner "$OWNER" --json
	expect_not_contains "$(node_uuids)" "$uuid"
	expect_eq "$(node_count)" 1 "MIG devices: the 7g.40gb"
	expect_eq "$(table_uuids)" "$(jget "d['lease']['mig_uuid']")" "the table after the reclaim"
	kill_owner "$OWNER"
}

t_fragmented_and_no_capacity() {
	setup
	local p
	for p in 0 2 4 6; do
		m create 1g.5gb --placement "$p" -C >/dev/null || fail "create at $p"
	done
	local before
	before=$(node_uuids)
	owner
	expect_rc 1 m lease --profile 2g.10gb --owner "$OWNER"
	expect_contains "$ERR" "fragmented"
	expect_rc 1 m lease --profile 4g.20gb --owner "$OWNER"
	expect_contains "$ERR" "no capacity"
	# by need: every size tried, none fits; the smallest one's cause is given
	expect_rc 1 m lease --slices 2 --owner "$OWNER" --json
	expect_json_error "fragmented"
	# leases never touch what they did not create
	expect_eq "$(node_uuids)" "$before" "instances not created by leases"
	expect_rc 0 m leases
	expect_eq "$(node_uuids)" "$before" "instances not created by leases, after a reconcile"
	kill_owner "$OWNER"
}

t_mig_mode_never_enabled() {
	"$MIGSIM" init A100-SXM4-40GB >/dev/null
	rm -f "$MIGCTL_LEASES"
	owner
	expect_rc 1 m lease --profile 1g.5gb --owner "$OWNER"
	expect_contains "$ERR" "leases may not enable it here"
	expect_eq "$(m status --json | json_eval "d['gpus'][0]['mig_mode']['current']")" disabled "MIG mode"
	kill_owner "$OWNER"
}

t_user_limit() {
	setup
	printf 'lease-max-per-user = 2\n' >"$MIGCTL_CONF"
	owner
	expect_rc 0 m lease --profile 1g.5gb --owner "$OWNER"
	expect_rc 0 m lease --profile 1g.5gb --owner "$OWNER"
	expect_rc 1 m lease --profile 1g.5gb --owner "$OWNER"
	expect_contains "$ERR" "holds 2 leases"
	expect_eq "$(node_count)" 2 "MIG devices"
	printf 'lease-max-per-user = many\n' >"$MIGCTL_CONF"
	expect_rc 1 m lease --profile 1g.5gb --owner "$OWNER"
	expect_contains "$ERR" "lease-max-per-user"
	kill_owner "$OWNER"
}

t_release_by_another_user_refused() {
	if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1; then
		skip "needs root and setpriv to run migctl as nobody"
		return
	fi
	setup
	owner
	expect_rc 0 m lease --profile 1g.5gb --owner "$OWNER" --json
	local id bin
	id=$(jget "d['lease']['id']")
	bin=$(others_bin)
	chmod 644 "$MIGSIM_STATE"
	expect_rc 1 setpriv --reuid=nobody --regid=nogroup --clear-groups env MIGSIM_STATE="$MIGSIM_STATE" \
		MIGCTL_LEASES="$MIGCTL_LEASES" MIGCTL_LOCK="$TEST_TMP/nobody.lock" "$bin/migctl" --sim release "$id"
	expect_rc 0 m leases --json
	expect_eq "$(jget "d['leases'][0]['id']")" "$id" "the lease after nobody's release"
	expect_eq "$(node_count)" 1 "MIG devices"
	kill_owner "$OWNER"
}

t_corrupt_table() {
	setup
	owner
	expect_rc 0 m lease --profile 1g.5gb --owner "$OWNER"
	kill_owner "$OWNER" # its instance would be destroyed at the next reconcile
	local before
	before=$(node_uuids)
	echo '{"format": "migctl-leases", "version": 1, "entries": [{"id": 3}]}' >"$MIGCTL_LEASES"
	expect_rc 1 m leases
	expect_contains "$ERR" "is corrupt"
	expect_rc 1 m lease --profile 1g.5gb --name x --ttl 60 --json
	expect_json_error "is corrupt"
	printf 'not json' >"$MIGCTL_LEASES"
	expect_rc 1 m release l-00000000
	expect_contains "$ERR" "is corrupt"
	expect_eq "$(node_uuids)" "$before" "nothing destroyed"
}

t_apply_refuses_leased() {
	setup
	owner
	expect_rc 0 m lease --profile 3g.20gb --owner "$OWNER" --json
	local uuid cfg="$TEST_TMP/none.yaml"
	uuid=$(jget "d['lease']['mig_uuid']")
	printf '%s\n' 'version: v1' 'mig-configs:' '  none:' '    - devices: all' '      mig-enabled: true' \
		'      mig-devices: {}' >"$cfg"
	expect_rc 1 m apply -f "$cfg" -c none --force
	expect_contains "$ERR" "is leased"
	expect_contains "$(node_uuids)" "$uuid"
	# a plan made while the instance was not leased is refused too
	kill_owner "$OWNER"
	m leases >/dev/null
	expect_rc 0 m create 3g.20gb -C
	expect_rc 0 m plan -f "$cfg" -c none --output "$TEST_TMP/plan.json"
	m destroy --all >/dev/null
	owner
	expect_rc 0 m lease --profile 3g.20gb --owner "$OWNER" --json
	expect_rc 1 m apply --plan "$TEST_TMP/plan.json"
	expect_contains "$ERR" "which is leased"
	uuid=$(jget "d['lease']['mig_uuid']")
	expect_contains "$(node_uuids)" "$uuid"
	kill_owner "$OWNER"
	m leases >/dev/null
	expect_rc 0 m apply -f "$cfg" -c none
}

t_vanished_instance_reported() {
	setup
	owner
	expect_rc 0 m lease --profile 1g.5gb --owner "$OWNER" --json
	local id gi
	id=$(jget "d['lease']['id']")
	gi=$(jget "d['lease']['gi']")
	# migctl refuses to destroy it
	expect_rc 1 m destroy --gi "$gi" --force
	expect_contains "$ERR" "is leased; release its lease first"
	expect_rc 1 m destroy --all
	expect_contains "$ERR" "is leased"
	# the simulator's GPU reset does not ask
	"$MIGSIM" reset --gpu 0 >/dev/null || fail "migsim reset"
	expect_rc 0 m leases --json
	expect_eq "$(jget "d['reconciled']['vanished']")" "[\"$id\"]" "vanished"
	expect_contains "$ERR" "vanished"
	kill_owner "$OWNER"
}

# Nothing is destroyed while processes run on it: an ended lease's instance drains.
t_in_use_instance_drains() {
	setup
	owner
	expect_rc 0 m lease --profile 1g.5gb --owner "$OWNER" --json
	local uuid id proc
	uuid=$(jget "d['lease']['mig_uuid']")
	id=$(jget "d['lease']['id']")
	proc=$("$MIGSIM" proc start --uuid "$uuid" --mib 100) || fail "proc start"
	kill_owner "$OWNER"
	expect_rc 0 m leases --json
	expect_eq "$(jget "d['leases'][0]['state']")" draining "state while a process runs"
	expect_eq "$(jget "d['reconciled']['draining']")" 1 "draining"
	expect_contains "$(node_uuids)" "$uuid"
	"$MIGSIM" proc stop "$proc" >/dev/null || fail "proc stop"
	expect_rc 0 m leases --json
	expect_eq "$(jget "len(d['leases'])")" 0 "leases once idle"
	expect_eq "$(node_count)" 0 "MIG devices once idle"
	# released by its user while in use: the same
	owner
	expect_rc 0 m lease --profile 1g.5gb --owner "$OWNER" --json
	uuid=$(jget "d['lease']['mig_uuid']")
	id=$(jget "d['lease']['id']")
	proc=$("$MIGSIM" proc start --uuid "$uuid" --mib 100)
	expect_rc 0 m release "$id"
	expect_contains "$OUT" "processes still run on its instance"
	expect_contains "$(node_uuids)" "$uuid"
	"$MIGSIM" proc stop "$proc" >/dev/null
	kill_owner "$OWNER"
	expect_rc 0 m leases
	expect_eq "$(node_count)" 0 "MIG devices after the released one went idle"
}

t_run_status_and_signals() {
	setup
	expect_rc 7 m run --profile 1g.5gb -- sh -c 'case "$CUDA_VISIBLE_DEVICES" in MIG-*) exit 7;; esac; exit 1'
	expect_eq "$(node_count)" 0 "MIG devices after run"
	expect_rc 2 m run --profile 1g.5gb
	expect_contains "$ERR" "after '--'"
	expect_rc 127 m run --profile 1g.5gb -- /nonexistent/cmd
	# SIGTERM to migctl reaches the command, which exits 42
	rm -f "$TEST_TMP/ready"
	"$MIGCTL" --sim run --profile 1g.5gb -- sh -c "trap 'exit 42' TERM; touch '$TEST_TMP/ready'; while :; do sleep 0.02; done" &
	local pid=$! i
	for i in $(seq 1 500); do
		[ -e "$TEST_TMP/ready" ] && break
		sleep 0.02
	done
	kill -TERM "$pid"
	wait "$pid"
	expect_eq "$?" 42 "run's status after SIGTERM"
	expect_eq "$(node_count)" 0 "MIG devices after the signalled run"
	expect_rc 0 m run --profile 1g.5gb --json -- true
}


run_tests
kill_owners
exit 0
