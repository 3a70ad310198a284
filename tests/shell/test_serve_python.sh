#!/usr/bin/env bash
# The example client, examples/migctl_client.py (Python standard library only), against the
# real `migctl serve` on the simulator (issue 13): as a module (lease, renew, release, list,
# capacity, the context manager) and as a command; what it leases is seen by migctl, and
# ends with it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_leases.sh"

need_serve() {
	if ! serve_supported; then
		skip "this migctl has no serve command"
		return 1
	fi
}

# py SCRIPT: run a Python script (on stdin) that imports the client; its last line of stdout
# is "ok" or what went wrong.
py() {
	python3 - "$SERVE_SOCK" "$@" 2>&1
}

t_module() {
	need_serve || return
	setup A100-SXM4-40GB
	serve_start || return
	OUT=$(py <<'EOF'
import subprocess, sys
from migctl_client import Client, MigctlError
c = Client(sys.argv[1])
bad = []
def want(cond, what):
    if not cond:
        bad.append(what)
h = c.health()
want(h["status"] == "ok" and h["version"], "health %r" % h)
want(c.leases() == [], "leases at the start: %r" % c.leases())
free = {x["profile"]: x["now"] for x in c.capacity() if x["gpu"] == 0}
want(free.get("1g.5gb") == 7, "1g.5gb capacity at the start: %r" % free)
# the context manager holds a lease for its block
with c.leased(profile="1g.5gb") as lease:
    uuid = lease["mig_uuid"]
    want(lease["state"] == "active" and lease["profile"] == "1g.5gb", "lease %r" % lease)
    want(lease["env"] == "CUDA_VISIBLE_DEVICES=" + uuid, "env %r" % lease["env"])
    import os
    want(lease["owner"] and lease["owner"]["pid"] == os.getpid(), "owner %r (this process is %d)" % (lease["owner"], os.getpid()))
    want([l["id"] for l in c.leases()] == [lease["id"]], "leases while held")
    want(c.get(lease["id"])["mig_uuid"] == uuid, "get")
    mig = [ci["uuid"] for g in c.node()["gpus"] for gi in g.get("gpu_instances", []) for ci in gi["compute_instances"]]
    want(mig == [uuid], "node while held: %r" % mig)
    free2 = {x["profile"]: x["now"] for x in c.capacity() if x["gpu"] == 0}
    want(free2["1g.5gb"] == 6, "1g.5gb capacity while held: %r" % free2)
want(c.leases() == [], "leases after the block: %r" % c.leases())
mig = [ci for g in c.node()["gpus"] for gi in g.get("gpu_instances", []) for ci in gi["compute_instances"]]
want(mig == [], "node after the block: %r" % mig)
# an exception inside the block releases too, and goes on
try:
    with c.leased(memory_mib=9000) as lease:
        want(lease["profile"] == "1g.10gb", "profile for 9000 MiB: %r" % lease["profile"])
        raise KeyError("inside")
except KeyError:
    pass
want(c.leases() == [], "leases after an exception in the block")
# a TTL lease: renew moves its expiry; release ends it
t = c.lease(slices=2, ttl=30, name="job")
want(t["owner"] is None and t["name"] == "job" and t["profile"] == "2g.10gb", "ttl lease %r" % t)
t2 = c.lease(slices=2, ttl=30, name="job")
want(t2["id"] == t["id"] and t2["reused"] is True, "the same name again: %r" % t2)
r = c.renew(t["id"], ttl=600)
want(r["id"] == t["id"] and r["expires"] > t["expires"] + 500, "renew: %r -> %r" % (t["expires"], r["expires"]))
r2 = c.renew(t["id"])
want(r2["expires"] >= r["expires"] - 1, "renew with its own ttl")
rel = c.release(t["id"])
want(rel["released"] == t["id"] and rel["instance"] == "destroyed" and rel["destroyed"] is True, "release %r" % rel)
# errors are MigctlError with the service's status
for f, st, code in ((lambda: c.get(t["id"]), "not_found", 404),
                    (lambda: c.release(t["id"]), "not_found", 404),
                    (lambda: c.lease(profile="7g.40gb", ttl=60, model="H100"), "not_found", 404),
                    (lambda: c.lease(profile="1g.5gb", ttl=-3), "invalid", 400),
                    (lambda: c.lease(), "invalid", 400)):
    try:
        f()
        bad.append("no error where %s was expected" % st)
    except MigctlError as e:
        want(e.status == st and e.http_status == code and e.message, "error %s/%s, expected %s/%d" % (e.status, e.http_status, st, code))
held = [c.lease(profile="3g.20gb", ttl=60) for _ in range(2)]
try:
    c.lease(profile="1g.5gb", ttl=60)
    bad.append("a lease on a full GPU")
except MigctlError as e:
    want(e.status == "no_capacity" and e.http_status == 409, "full GPU: %s %s" % (e.status, e.http_status))
for l in held:
    c.release(l["id"])
m = c.metrics()
want("migctl_requests_total" in m, "metrics: %r" % m[:200])
print("; ".join(bad) or "ok")
EOF
)
	expect_eq "$(echo "$OUT" | tail -1)" ok "the client module"
	expect_eq "$(node_count)" 0 "MIG devices at the end"
	serve_stop
}

t_command() {
	need_serve || return
	setup A100-SXM4-40GB
	serve_start || return
	# run: the command gets the MIG device, its status is run's, the lease ends with it
	expect_rc 7 client run --profile 1g.5gb -- sh -c 'echo "$CUDA_VISIBLE_DEVICES $MIGCTL_LEASE"; exit 7'
	expect_contains "$OUT" "MIG-"
	expect_contains "$OUT" " l-"
	expect_eq "$(node_count)" 0 "MIG devices after run"
	expect_rc 127 client run --profile 1g.5gb -- /nonexistent/cmd
	expect_contains "$ERR" "/nonexistent/cmd"
	expect_rc 2 client run --profile 1g.5gb
	expect_contains "$ERR" "after '--'"
	# lease (a TTL lease), get, renew, release
	expect_rc 0 client lease --profile 2g.10gb --ttl 60 --name cmd
	local id uuid
	id=$(jget "d['id']")
	uuid=$(jget "d['mig_uuid']")
	expect_eq "$(jget "d['profile']") $(jget "d['name']") $(jget "d['owner']")" "2g.10gb cmd null" "the lease"
	expect_rc 0 client get "$id"
	expect_eq "$(jget "d['mig_uuid']")" "$uuid" "get"
	expect_rc 0 client renew "$id" --ttl 120
	expect_eq "$(jget "d['ttl']")" 120.0 "renewed ttl"
	expect_rc 0 client leases
	expect_eq "$(jget "[l['id'] for l in d]")" "[\"$id\"]" "leases"
	expect_rc 0 client capacity
	expect_eq "$(jget "[c['now'] for c in d if c['profile'] == '7g.40gb'][0]")" 0 "7g.40gb capacity"
	expect_rc 0 client release "$id"
	expect_eq "$(jget "d['instance']")" destroyed "release"
	expect_rc 1 client release "$id"
	expect_contains "$ERR" "not_found"
	expect_contains "$ERR" "404"
	expect_rc 2 client lease --profile 1g.5gb
	expect_contains "$ERR" "--ttl"
	expect_rc 0 client metrics
	expect_contains "$OUT" "migctl_pool_instances"
	expect_eq "$(node_count)" 0 "MIG devices at the end"
	serve_stop
}

# A lease is in the library's table: migctl sees what the client leased, releases it, and a
# client that dies (kill -9) loses its lease at the next lease operation of anyone.
t_shared_with_migctl_and_ends_with_the_client() {
	need_serve || return
	setup A100-SXM4-40GB
	serve_start || return
	# (the interpreter itself, not lib.sh's python3 function, so that $! is the client's pid)
	"${PYTHON3:-python3}" - "$SERVE_SOCK" "$TEST_TMP/held" <<'EOF' &
import os, sys, time
from migctl_client import Client
c = Client(sys.argv[1])
with c.leased(profile="3g.20gb") as lease:
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write(lease["id"] + " " + lease["mig_uuid"] + "\n")
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    time.sleep(300)
EOF
	local holder=$! i
	OWNERS+=("$holder")
	for i in $(seq 1 500); do
		[ -e "$TEST_TMP/held" ] && break
		sleep 0.02
	done
	local id uuid
	read -r id uuid <"$TEST_TMP/held" || fail "the client got no lease"
	expect_rc 0 m leases --json
	expect_eq "$(jget "[l['mig_uuid'] for l in d['leases']]")" "[\"$uuid\"]" "migctl leases: the client's"
	expect_eq "$(jget "d['leases'][0]['owner']['pid']")" "$holder" "the owner is the client process"
	# a lease through migctl is seen by the service
	owner
	expect_rc 0 m lease --profile 3g.20gb --owner "$OWNER" --json
	local cli_id
	cli_id=$(jget "d['lease']['id']")
	expect_rc 0 client get "$cli_id"
	expect_eq "$(jget "d['owner']['pid']")" "$OWNER" "the service sees migctl's lease"
	# the GPU is full for both
	expect_rc 1 m lease --profile 1g.5gb --owner "$OWNER"
	expect_rc 1 client lease --profile 1g.5gb --ttl 60
	expect_contains "$ERR" "409"
	# migctl releases the lease made through the service
	expect_rc 0 client release "$cli_id"
	expect_rc 1 m release "$cli_id"
	# the client dies: its lease ends at the next lease operation, through the service too
	kill_owner "$holder"
	expect_rc 0 client leases
	expect_eq "$(jget "len(d)")" 0 "leases after the client died"
	expect_eq "$(node_count)" 0 "MIG devices after the client died"
	kill_owner "$OWNER"
	serve_stop
}

t_no_service() {
	rm -f "$SERVE_SOCK"
	expect_rc 1 client health
	expect_contains "$ERR" "cannot talk to migctl serve at $SERVE_SOCK"
	OUT=$(py <<'EOF'
import sys
from migctl_client import Client, MigctlError
try:
    Client(sys.argv[1]).leases()
    print("no error")
except MigctlError as e:
    print("ok" if e.status == "unreachable" and e.http_status is None else "status %s" % e.status)
EOF
)
	expect_eq "$OUT" ok "the error without a service"
}

run_tests
serve_stop KILL
kill_owners
exit 0
