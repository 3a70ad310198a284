#!/usr/bin/env bash
# migctl serve (issue 13): the node service on a Unix socket in this test's directory, against
# the simulator, with the lease table, lock and journal of the test. Every endpoint and every
# error of docs/serve.md; other users through setpriv (uids and groups that need no account);
# a stalled client, a client gone mid-request, leases shared with the CLI, a restart. Each
# server is stopped by its pid (SIGTERM) and must exit 0 and remove its socket.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGSIM_TRACE

export MIGCTL_LOCK="$TEST_TMP/apply.lock" MIGCTL_JOURNAL="$TEST_TMP/journal.json"
export MIGCTL_LEASES="$TEST_TMP/leases.json" MIGCTL_CONF="$TEST_TMP/migctl.conf"
SOCK="$TEST_TMP/run/migctl.sock"
ROOT_DIR=$(cd "$(dirname "$0")/../.." && pwd)
# uids and gids of the other users (setpriv needs no account for them)
GID=4243          # the service group
MEMBER=4242       # primary group GID
SUPP=4244         # its own primary group, GID as a supplementary one
OUTSIDER=4250     # no group of the service
SERVER=""

m() { "$MIGCTL" --sim "$@"; }

setup() { # [GPUS]
	rm -f "$MIGCTL_LEASES" "$MIGCTL_CONF"
	"$MIGSIM" init "${1:-A100-SXM4-40GB}" >/dev/null || fail "migsim init"
	m mode enable >/dev/null || fail "mode enable"
	mkdir -p "$TEST_TMP/run"
	# other users reach the socket through this directory (its files stay root's, 0600)
	chmod 0711 "$TEST_TMP"
}

# api [AS...] -- METHOD PATH [BODY]: one request; CODE, BODY, HEADERS. AS: a command prefix
# (setpriv ...) that runs curl as another user.
api() {
	local as=()
	while [ "$1" != "--" ]; do
		as+=("$1")
		shift
	done
	shift
	local method=$1 path=$2 out
	local data=()
	[ $# -ge 3 ] && data=(-H 'Content-Type: application/json' --data-binary "$3")
	# the headers go to a file the user may write (curl may run as another uid)
	local hdr="$TEST_TMP/pub/headers.$RANDOM$RANDOM"
	mkdir -p -m 1777 "$TEST_TMP/pub"
	out=$("${as[@]}" curl -s --max-time 60 -D "$hdr" --unix-socket "$SOCK" -w '\n%{http_code}' \
		-X "$method" "${data[@]}" "http://localhost$path" 2>&1)
	CODE=${out##*$'\n'}
	BODY=${out%$'\n'*}
	HEADERS=$(cat "$hdr" 2>/dev/null)
	rm -f "$hdr"
}

# as_member / as_supp / as_outsider: command prefixes
as_member=(setpriv --reuid="$MEMBER" --regid="$GID" --clear-groups)
as_supp=(setpriv --reuid="$SUPP" --regid="$SUPP" --groups="$GID")
as_outsider=(setpriv --reuid="$OUTSIDER" --regid="$OUTSIDER" --clear-groups)

bget() { # EXPR over $BODY
	echo "$BODY" | json_eval "$1"
}

expect_code() { # WANT [STATUS]: the HTTP code, and for errors the JSON error's status
	expect_eq "$CODE" "$1" "HTTP status (body: $BODY)"
	if [ $# -ge 2 ]; then
		expect_eq "$(bget "d['error']['status']")" "$2" "error status"
		[ -n "$(bget "d['error']['message']")" ] || fail "an error without a message: $BODY"
	fi
}

node_count() {
	m list --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(len(gi.get("compute_instances", [])) for g in d["gpus"] for gi in g.get("gpu_instances", [])))'
}

table_count() { # entries of the lease table
	[ -e "$MIGCTL_LEASES" ] || { echo 0; return; }
	python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["entries"]))' "$MIGCTL_LEASES"
}

# ---- endpoints ----------------------------------------------------------------

t_health_node_capacity() {
	have_tools || return
	setup
	start_server || return
	api -- GET /v1/health
	expect_code 200
	expect_eq "$(bget "d['status']")" ok "health"
	expect_eq "$(bget "d['version']")" "$(sed -n 's/^#define MIG_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' \
		"$ROOT_DIR/include/mig.h" | paste -sd.)" "version"
	expect_contains "$HEADERS" "Content-Type: application/json"
	api -- GET /v1/node
	expect_code 200
	expect_eq "$(bget "[g['uuid'] for g in d['gpus']]")" "$(m list --json | json_eval "[g['uuid'] for g in d['gpus']]")" \
		"GPUs of /v1/node and migctl list --json"
	expect_eq "$(bget "d['gpus'][0]['mig_mode']['current']")" enabled "MIG mode"
	api -- GET /v1/capacity
	expect_code 200
	expect_eq "$(bget "d['capacity']")" "$(m capacity --json | json_eval "d['capacity']")" \
		"/v1/capacity and migctl capacity --json"
	expect_contains "$BODY" '"profile":"1g.5gb","now":7'
	stop_server
}

t_lease_get_renew_release() {
	have_tools || return
	setup
	start_server || return
	api -- POST /v1/leases '{"profile": "2g.10gb", "ttl": 60}'
	expect_code 201
	local id uuid expires
	id=$(bget "d['lease']['id']")
	uuid=$(bget "d['lease']['mig_uuid']")
	expires=$(bget "d['lease']['expires']")
	expect_eq "$(bget "d['lease']['state']")" active "state"
	expect_eq "$(bget "d['lease']['profile']")" 2g.10gb "profile"
	expect_eq "$(bget "d['lease']['uid']")" 0 "uid (the peer's)"
	expect_eq "$(bget "d['lease']['env']")" "CUDA_VISIBLE_DEVICES=$uuid" "env"
	expect_contains "$HEADERS" "Location: /v1/leases/$id"
	expect_eq "$(node_count)" 1 "MIG devices"
	api -- GET "/v1/leases/$id"
	expect_code 200
	expect_eq "$(bget "d['lease']['mig_uuid']")" "$uuid" "GET by id"
	api -- GET /v1/leases
	expect_code 200
	expect_eq "$(bget "[l['id'] for l in d['leases']]")" "[\"$id\"]" "the list"
	expect_eq "$(bget "d['reconciled']['ended']")" 0 "reconciled"
	# renew: a new TTL, then the lease's own again
	api -- POST "/v1/leases/$id/renew" '{"ttl": 600}'
	expect_code 200
	expect_eq "$(bget "d['lease']['ttl']")" 600.0 "renewed TTL"
	python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) + 500 else 1)" \
		"$(bget "d['lease']['expires']")" "$expires" || fail "renew did not move the expiry"
	api -- POST "/v1/leases/$id/renew"
	expect_code 200
	expect_eq "$(bget "d['lease']['ttl']")" 600.0 "renewed with its own TTL"
	api -- POST "/v1/leases/$id/renew" '{"ttl": "soon"}'
	expect_code 400 invalid
	expect_contains "$BODY" 'field \"ttl\": expected a number of seconds, got a string'
	api -- POST "/v1/leases/$id/renew" '{"until": 5}'
	expect_code 400 invalid
	expect_contains "$BODY" 'unknown field \"until\"'
	# release: the same document as migctl release --json
	api -- DELETE "/v1/leases/$id"
	expect_code 200
	expect_eq "$(bget "d['released']")" "$id" "released"
	expect_eq "$(bget "d['mig_uuid']")" "$uuid" "released MIG device"
	expect_eq "$(bget "d['instance']")" destroyed "instance"
	expect_eq "$(node_count)" 0 "MIG devices after the release"
	api -- GET "/v1/leases/$id"
	expect_code 404 not_found
	api -- DELETE "/v1/leases/$id"
	expect_code 404 not_found
	expect_contains "$(bget "d['error']['message']")" "no lease $id"
	api -- POST "/v1/leases/$id/renew" '{}'
	expect_code 404 not_found
	# a named lease asked for again is renewed: 200, the same lease
	api -- POST /v1/leases '{"profile": "1g.5gb", "name": "nightly", "ttl": 30}'
	expect_code 201
	id=$(bget "d['lease']['id']")
	api -- POST /v1/leases '{"profile": "1g.5gb", "name": "nightly", "ttl": 90}'
	expect_code 200
	expect_eq "$(bget "d['lease']['id']")" "$id" "the named lease"
	expect_eq "$(bget "d['lease']['ttl']")" 90.0 "its new TTL"
	expect_eq "$(node_count)" 1 "MIG devices (one named lease)"
	# the metrics saw all this
	api -- GET /metrics
	expect_code 200
	expect_contains "$HEADERS" "Content-Type: text/plain; version=0.0.4"
	expect_contains "$BODY" 'migctl_requests_total{method="POST",path="/v1/leases",code="201"} 2'
	expect_contains "$BODY" 'migctl_requests_total{method="DELETE",path="/v1/leases/{id}",code="404"} 1'
	expect_contains "$BODY" 'migctl_leases{profile="1g.5gb",state="active"} 1'
	expect_contains "$BODY" 'migctl_pool_instances 0'
	expect_contains "$BODY" 'migctl_lease_rejections_total{cause="not_found"} 3'
	expect_contains "$BODY" 'migctl_request_duration_seconds_bucket{le="+Inf"}'
	expect_contains "$BODY" 'migctl_request_duration_seconds_count'
	stop_server
}

t_pool_in_metrics_and_release() {
	have_tools || return
	setup
	printf 'lease-pool = 1g.5gb\n' >"$MIGCTL_CONF"
	start_server || return
	api -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60}'
	expect_code 201
	api -- DELETE "/v1/leases/$(bget "d['lease']['id']")"
	expect_code 200
	expect_eq "$(bget "d['instance']")" pooled "released into the pool"
	api -- GET /metrics
	expect_contains "$BODY" 'migctl_pool_instances 1'
	expect_contains "$BODY" 'migctl_leases{profile="1g.5gb",state="pooled"} 1'
	api -- POST /v1/leases '{"memory_mib": 4096, "ttl": 60}'
	expect_code 201
	expect_eq "$(bget "d['lease']['reused']")" true "served from the pool"
	stop_server
}

# ---- the CLI and the service share the table ---------------------------------------

t_cli_and_service_see_each_other() {
	have_tools || return
	setup
	start_server || return
	api -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60}'
	expect_code 201
	local sid cid
	sid=$(bget "d['lease']['id']")
	expect_rc 0 m leases --json
	expect_contains "$OUT" "\"$sid\""
	expect_rc 0 m lease --profile 3g.20gb --ttl 60 --name cli --json
	cid=$(echo "$OUT" | json_eval "d['lease']['id']")
	api -- GET "/v1/leases/$cid"
	expect_code 200
	expect_eq "$(bget "d['lease']['name']")" cli "the CLI's lease through the service"
	# each honours the other's: the service releases the CLI's lease, the CLI the service's
	api -- DELETE "/v1/leases/$cid"
	expect_code 200
	expect_rc 0 m release "$sid"
	api -- GET /v1/leases
	expect_eq "$(bget "d['leases']")" "[]" "leases after both releases"
	expect_eq "$(node_count)" 0 "MIG devices"
	stop_server
}

t_restart_finds_the_leases() {
	have_tools || return
	setup
	start_server || return
	api -- POST /v1/leases '{"profile": "2g.10gb", "ttl": 600}'
	local id uuid
	id=$(bget "d['lease']['id']")
	uuid=$(bget "d['lease']['mig_uuid']")
	stop_server
	expect_rc 0 m leases --json
	expect_contains "$OUT" "$uuid"
	start_server || return
	api -- GET "/v1/leases/$id"
	expect_code 200
	expect_eq "$(bget "d['lease']['mig_uuid']")" "$uuid" "the lease after a restart"
	# a server killed -9 leaves a stale socket: the next one takes its place
	kill -9 "$SERVER"
	wait "$SERVER" 2>/dev/null
	SERVER=""
	[ -S "$SOCK" ] || fail "expected the killed server's socket to remain"
	start_server || return
	api -- GET "/v1/leases/$id"
	expect_code 200
	stop_server
}

# ---- the peer owns a lease without a TTL -------------------------------------------

t_peer_owned_lease_ends_with_the_peer() {
	have_tools || return
	setup
	start_server || return
	# a client that stays: python over AF_UNIX, waiting on stdin
	mkfifo "$TEST_TMP/hold"
	cat >"$TEST_TMP/peer.py" <<-'EOF'
		import http.client, os, socket, sys
		class C(http.client.HTTPConnection):
		    def connect(self):
		        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(sys.argv[1])
		c = C("localhost"); c.request("POST", "/v1/leases", body='{"profile": "1g.5gb"}')
		r = c.getresponse(); print(r.status, os.getpid(), r.read().decode(), flush=True)
		sys.stdin.read()
	EOF
	python3 "$TEST_TMP/peer.py" "$SOCK" <"$TEST_TMP/hold" >"$TEST_TMP/peer.out" &
	local peer=$!
	exec 7>"$TEST_TMP/hold"
	local i
	for i in $(seq 1 200); do
		[ -s "$TEST_TMP/peer.out" ] && break
		sleep 0.05
	done
	local line
	line=$(cat "$TEST_TMP/peer.out")
	expect_eq "${line%% *}" 201 "the peer's lease"
	BODY=${line#* * }
	local id owner pypid
	id=$(bget "d['lease']['id']")
	owner=$(bget "d['lease']['owner']['pid']")
	pypid=${line#* }
	pypid=${pypid%% *}
	expect_eq "$owner" "$pypid" "owner: the peer process (SO_PEERCRED)"
	expect_eq "$(bget "d['lease']['ttl']")" 0.0 "no TTL"
	api -- GET "/v1/leases/$id"
	expect_code 200
	exec 7>&-
	wait "$peer"
	api -- GET /v1/leases
	expect_eq "$(bget "d['leases']")" "[]" "leases once the peer exited"
	expect_eq "$(bget "d['reconciled']['ended']")" 1 "ended by the reconcile"
	expect_eq "$(node_count)" 0 "MIG devices"
	# curl's own lease ends as curl exits; renewing one without a TTL needs a TTL
	api -- POST /v1/leases '{"profile": "1g.5gb"}'
	expect_code 201
	api -- GET /v1/leases
	expect_eq "$(bget "d['leases']")" "[]" "curl's lease after curl"
	stop_server
}

# ---- errors ----------------------------------------------------------------

t_bad_requests() {
	have_tools || return
	setup
	start_server || return
	api -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60'
	expect_code 400 invalid
	expect_contains "$BODY" "malformed JSON at line 1"
	api -- POST /v1/leases '{"profile": "1g.5gb", "ttl": "60"}'
	expect_code 400 invalid
	expect_eq "$(bget "d['error']['message']")" 'field "ttl": expected a number of seconds, got a string' "message"
	api -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60, "colour": "red"}'
	expect_code 400 invalid
	expect_contains "$BODY" 'unknown field \"colour\"'
	api -- POST /v1/leases '{"profile": 19}'
	expect_code 400 invalid
	expect_contains "$BODY" 'field \"profile\": expected a profile name'
	api -- POST /v1/leases '[]'
	expect_code 400 invalid
	api -- POST /v1/leases ''
	expect_code 400 invalid
	expect_contains "$BODY" "the request body is empty"
	api -- POST /v1/leases '{"ttl": 60}'
	expect_code 400 invalid
	expect_contains "$BODY" "what to lease?"
	api -- POST /v1/leases '{"profile": "1g.5gb", "slices": 2, "ttl": 60}'
	expect_code 400 invalid
	api -- POST /v1/leases '{"profile": "1g.5gb", "name": "x"}'
	expect_code 400 invalid
	expect_contains "$BODY" 'needs \"ttl\"'
	api -- POST /v1/leases '{"profile": "1g.5gb", "ttl": -1}'
	expect_code 400 invalid
	api -- POST /v1/leases $'{"profile": "\xff"}'
	expect_code 400 invalid
	# a profile no GPU of the node has, and a misspelt one
	api -- POST /v1/leases '{"profile": "2g.5gb", "ttl": 60}'
	expect_code 404 not_found
	expect_contains "$BODY" "did you mean 2g.10gb"
	api -- POST /v1/leases '{"profile": "banana", "ttl": 60}'
	expect_code 400 invalid
	expect_contains "$BODY" "is not a MIG profile name"
	api -- POST /v1/leases '{"profile": "1g.5gb", "gpus": "x", "ttl": 60}'
	expect_code 400 invalid
	expect_contains "$BODY" "is not a GPU selector"
	api -- POST /v1/leases '{"memory_mib": 1000000, "ttl": 60}'
	expect_code 404 not_found
	api -- POST /v1/leases '{"profile": "1g.5gb", "gpus": "7", "ttl": 60}'
	expect_code 404 not_found
	# paths and methods
	api -- GET /v2/leases
	expect_code 404 not_found
	expect_contains "$BODY" "no such path /v2/leases"
	api -- GET "/v1/leases/l-1234/extra"
	expect_code 404 not_found
	api -- GET "/v1/leases/..%2f"
	expect_code 404 not_found
	api -- DELETE /v1/leases
	expect_code 405 invalid
	expect_contains "$HEADERS" "Allow: GET, POST"
	api -- PUT /v1/leases/l-1234
	expect_code 405 invalid
	expect_contains "$HEADERS" "Allow: GET, DELETE"
	api -- GET /v1/leases/l-1234/renew
	expect_code 405 invalid
	expect_contains "$HEADERS" "Allow: POST"
	api -- POST /metrics '{}'
	expect_code 405 invalid
	# too large: by Content-Length before anything is read, and chunked without one
	head -c 70000 /dev/zero | tr '\0' ' ' >"$TEST_TMP/big"
	api -- POST /v1/leases "@$TEST_TMP/big"
	expect_code 413 invalid
	expect_contains "$BODY" "65536"
	local out
	out=$(curl -s --max-time 60 --unix-socket "$SOCK" -w '\n%{http_code}' -H 'Transfer-Encoding: chunked' \
		--data-binary "@$TEST_TMP/big" http://localhost/v1/leases)
	expect_eq "${out##*$'\n'}" 413 "a chunked body over the limit"
	# a broken migctl.conf is the service's error, not the client's
	printf 'lease-max-per-user = many\n' >"$MIGCTL_CONF"
	api -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60}'
	expect_code 500 io
	expect_contains "$BODY" "lease-max-per-user"
	rm -f "$MIGCTL_CONF"
	expect_eq "$(node_count)" 0 "MIG devices after every refusal"
	expect_eq "$(table_count)" 0 "lease table entries after every refusal"
	stop_server
}

t_no_capacity_and_fragmented() {
	have_tools || return
	setup
	local p
	for p in 0 2 4 6; do
		m create 1g.5gb --placement "$p" -C >/dev/null || fail "create at $p"
	done
	start_server || return
	api -- POST /v1/leases '{"profile": "2g.10gb", "ttl": 60}'
	expect_code 409 fragmented
	api -- POST /v1/leases '{"profile": "4g.20gb", "ttl": 60}'
	expect_code 409 no_capacity
	api -- POST /v1/leases '{"slices": 2, "ttl": 60}'
	expect_code 409 fragmented
	api -- GET /metrics
	expect_contains "$BODY" 'migctl_lease_rejections_total{cause="fragmented"} 2'
	expect_contains "$BODY" 'migctl_lease_rejections_total{cause="no_capacity"} 1'
	expect_contains "$BODY" 'migctl_requests_total{method="POST",path="/v1/leases",code="409"} 3'
	expect_eq "$(node_count)" 4 "MIG devices (only the four made before)"
	stop_server
}

t_per_user_limit() {
	have_tools || return
	setup
	printf 'lease-max-per-user = 1\n' >"$MIGCTL_CONF"
	start_server || return
	api -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60}'
	expect_code 201
	api -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60}'
	expect_code 403 permission
	expect_contains "$BODY" "holds 1 leases"
	# another user has a limit of their own
	api "${as_member[@]}" -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60}'
	expect_code 201
	api -- GET /metrics
	expect_contains "$BODY" 'migctl_lease_rejections_total{cause="limit"} 1'
	expect_eq "$(node_count)" 2 "MIG devices"
	stop_server
}

t_node_lock_held_is_503() {
	have_tools || return
	command -v flock >/dev/null || { skip "flock is not installed (util-linux)"; return; }
	setup
	start_server --lock-timeout 1 || return
	# another change holds the node lock (as migctl apply would): this shell, on fd 8
	exec 8>>"$MIGCTL_LOCK"
	flock 8 || fail "flock"
	api -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60}'
	expect_code 503 locked
	expect_contains "$HEADERS" "Retry-After: "
	api -- GET /v1/health
	expect_code 200
	exec 8>&-
	api -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60}'
	expect_code 201
	stop_server
}

# ---- who may do what ----------------------------------------------------------------

t_members_owners_and_outsiders() {
	have_tools || return
	setup
	start_server || return
	local mode
	mode=$(stat -c '%a %g' "$SOCK")
	expect_eq "$mode" "660 $GID" "socket mode and group"
	api -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60}'
	local root_id
	root_id=$(bget "d['lease']['id']")
	# a member by primary group, and one by a supplementary group
	api "${as_member[@]}" -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60}'
	expect_code 201
	local member_id
	member_id=$(bget "d['lease']['id']")
	expect_eq "$(bget "d['lease']['uid']")" "$MEMBER" "the lease's uid"
	api "${as_supp[@]}" -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60}'
	expect_code 201
	local supp_id
	supp_id=$(bget "d['lease']['id']")
	api "${as_member[@]}" -- GET /v1/leases
	expect_code 200
	expect_contains "$BODY" "$root_id"
	# not the owner: refused, and the lease stays
	api "${as_member[@]}" -- DELETE "/v1/leases/$root_id"
	expect_code 403 permission
	expect_contains "$BODY" "belongs to user 0"
	api "${as_member[@]}" -- POST "/v1/leases/$supp_id/renew" '{"ttl": 5}'
	expect_code 403 permission
	api "${as_supp[@]}" -- DELETE "/v1/leases/$member_id"
	expect_code 403 permission
	# the owner may; root may release anyone's
	api "${as_member[@]}" -- POST "/v1/leases/$member_id/renew" '{"ttl": 120}'
	expect_code 200
	api "${as_member[@]}" -- DELETE "/v1/leases/$member_id"
	expect_code 200
	api -- DELETE "/v1/leases/$supp_id"
	expect_code 200
	api -- GET /v1/leases
	expect_eq "$(bget "[l['id'] for l in d['leases']]")" "[\"$root_id\"]" "what is left"
	# an outsider cannot even connect to the 0660 socket ...
	"${as_outsider[@]}" curl -s --max-time 10 --unix-socket "$SOCK" http://localhost/v1/health >/dev/null 2>&1
	local rc=$?
	expect_eq "$rc" 7 "curl's exit status for an outsider (cannot connect)"
	# ... and when the socket is opened to all, the service still refuses what needs membership
	chmod 0666 "$SOCK"
	api "${as_outsider[@]}" -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60}'
	expect_code 403 permission
	expect_contains "$BODY" "not a member of the group $GID"
	api "${as_outsider[@]}" -- GET /v1/leases
	expect_code 403 permission
	api "${as_outsider[@]}" -- GET /v1/capacity
	expect_code 403 permission
	api "${as_outsider[@]}" -- DELETE "/v1/leases/$root_id"
	expect_code 403 permission
	api "${as_outsider[@]}" -- GET /v1/health
	expect_code 200
	expect_eq "$(node_count)" 1 "MIG devices (root's lease)"
	stop_server
}

t_rate_limit_per_uid() {
	have_tools || return
	setup
	# one request in 1000 s after a burst of 2: the third is refused however slow this machine
	start_server --rate 0.001 --burst 2 || return
	api -- GET /v1/leases
	api -- GET /v1/capacity
	api -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60}'
	expect_code 429 rate_limited
	expect_contains "$HEADERS" "Retry-After: "
	local after
	after=$(echo "$HEADERS" | sed -n 's/^Retry-After: \([0-9]*\).*/\1/p')
	[ -n "$after" ] && [ "$after" -ge 1 ] || fail "Retry-After '$after'"
	expect_eq "$(node_count)" 0 "MIG devices (the limited request did nothing)"
	# another uid has its own budget
	api "${as_member[@]}" -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60}'
	expect_code 201
	stop_server
	expect_rc 2 m serve --socket "$SOCK" --rate fast
	expect_contains "$ERR" "--rate takes a number"
}

# 8 clients at once, each leasing and releasing 5 times: every request answered as it should
# (the service serialises them on the node lock), nothing left behind
t_concurrent_clients() {
	have_tools || return
	setup 2xA100-SXM4-80GB # 14 1g.10gb fit: each client's lease always has room
	start_server || return
	local k pids=()
	for k in 1 2 3 4 5 6 7 8; do
		(
			for i in 1 2 3 4 5; do
				api -- POST /v1/leases '{"profile": "1g.10gb", "ttl": 120}'
				echo "create $CODE $(bget "d.get('lease', {}).get('mig_uuid', '')")"
				api -- DELETE "/v1/leases/$(bget "d.get('lease', {}).get('id', 'none')")"
				echo "release $CODE"
			done >"$TEST_TMP/client.$k"
		) &
		pids+=($!)
	done
	for k in "${pids[@]}"; do
		wait "$k"
	done
	expect_eq "$(cat "$TEST_TMP"/client.* | grep -c '^create 201 MIG-')" 40 \
		"leases made (answers: $(cat "$TEST_TMP"/client.* | cut -d' ' -f1,2 | sort | uniq -c | tr '\n' ' '))"
	expect_eq "$(cat "$TEST_TMP"/client.* | grep -c '^release 200')" 40 "leases released"
	api -- GET /v1/leases
	expect_eq "$(bget "d['leases']")" "[]" "leases after the clients"
	expect_eq "$(node_count)" 0 "MIG devices after the clients"
	api -- GET /metrics
	expect_contains "$BODY" 'migctl_requests_total{method="POST",path="/v1/leases",code="201"} 40'
	stop_server
}

# ---- slow, stalled and vanishing clients ------------------------------------------------

# stall SECONDS BYTES: a client that sends BYTES of a request and keeps the connection open
stall_client() {
	python3 - "$SOCK" "$1" "$2" <<-'EOF' &
		import socket, sys, time
		s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
		s.sendall(sys.argv[3].encode()); time.sleep(float(sys.argv[2]))
	EOF
	STALLED+=($!)
}

t_stalled_clients_block_no_one() {
	have_tools || return
	setup
	start_server || return
	STALLED=()
	local i
	# half a header, and a whole header with half its body, several times over
	for i in 1 2 3; do
		stall_client 120 $'POST /v1/leases HTTP/1.1\r\nHost: x\r\nContent-Le'
		stall_client 120 $'POST /v1/leases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n{"profile": "1g.'
	done
	sleep 0.5
	api -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60}'
	expect_code 201
	local id
	id=$(bget "d['lease']['id']")
	api -- GET /v1/health
	expect_code 200
	api -- DELETE "/v1/leases/$id"
	expect_code 200
	for i in "${STALLED[@]}"; do
		kill "$i" 2>/dev/null
		wait "$i" 2>/dev/null
	done
	api -- GET /v1/leases
	expect_eq "$(bget "d['leases']")" "[]" "no lease from the stalled clients"
	expect_eq "$(node_count)" 0 "MIG devices"
	# a stalled client is dropped after --timeout; a SIGTERM does not wait for it either
	STALLED=()
	stall_client 300 $'GET /v1/hea'
	sleep 0.3
	stop_server
	kill "${STALLED[0]}" 2>/dev/null
	wait "${STALLED[0]}" 2>/dev/null
}

t_client_gone_mid_request_leaves_no_lease() {
	have_tools || return
	setup
	start_server || return
	# half a body, then gone
	python3 - "$SOCK" <<-'EOF'
		import socket, sys
		s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
		s.sendall(b'POST /v1/leases HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{"profile": "1g.5gb", "t')
		s.close()
	EOF
	# a whole request without a TTL, gone before the answer: the lease (if made) is the
	# vanished peer's and ends with it
	python3 - "$SOCK" <<-'EOF'
		import socket, sys
		s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
		b = b'{"profile": "2g.10gb"}'
		s.sendall(b'POST /v1/leases HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % len(b) + b)
		s.close()
	EOF
	api -- GET /v1/health
	api -- GET /v1/leases
	expect_code 200
	api -- GET /v1/leases
	expect_eq "$(bget "d['leases']")" "[]" "leases of clients gone mid-request"
	expect_eq "$(node_count)" 0 "MIG devices"
	expect_eq "$(table_count)" 0 "lease table entries"
	stop_server
}

# ---- the socket and systemd ----------------------------------------------------------------

t_socket_refusals() {
	have_tools || return
	setup
	start_server || return
	expect_rc 1 m serve --socket "$SOCK" --group "$GID"
	expect_contains "$ERR" "another server already listens on $SOCK"
	stop_server
	: >"$SOCK"
	expect_rc 1 m serve --socket "$SOCK"
	expect_contains "$ERR" "is not a socket"
	rm -f "$SOCK"
	expect_rc 2 m serve --socket "$SOCK" --group no-such-group-here
	expect_contains "$ERR" "no such group"
	expect_rc 2 m serve --socket "$SOCK" --port 80
	expect_contains "$ERR" "unknown option '--port'"
	[ -e "$SOCK" ] && fail "a refused server left $SOCK"
	return 0
}

t_systemd_units_verify() {
	have_tools || return
	command -v systemd-analyze >/dev/null || { skip "systemd-analyze is not installed"; return; }
	local d="$TEST_TMP/units"
	mkdir -p "$d"
	sed "s|/usr/local/bin/migctl|$MIGCTL|" "$ROOT_DIR/deploy/systemd/migctl-serve.service" >"$d/migctl-serve.service"
	cp "$ROOT_DIR/deploy/systemd/migctl-serve.socket" "$d/"
	expect_rc 0 systemd-analyze verify --man=no "$d/migctl-serve.socket" "$d/migctl-serve.service"
	expect_eq "$ERR" "" "systemd-analyze's complaints"
	expect_contains "$(cat "$d/migctl-serve.socket")" "ListenStream=/run/migctl/migctl.sock"
	expect_contains "$(cat "$d/migctl-serve.service")" "Type=notify"
	# and it does complain about a broken unit: the check can fail
	sed 's/^Type=notify/Type=notify-please/' "$d/migctl-serve.service" >"$d/bad.service"
	systemd-analyze verify --man=no "$d/bad.service" >"$TEST_TMP/out" 2>&1
	expect_contains "$(cat "$TEST_TMP/out")" "Failed to parse service type"
	# make install puts both where systemd looks, pointing at the installed migctl
	local root="$TEST_TMP/root"
	make -s -C "$ROOT_DIR" BUILD="$MIGCTL_BUILD" DESTDIR="$root" PREFIX=/opt/migctl install >"$TEST_TMP/out" 2>&1 ||
		fail "make install: $(cat "$TEST_TMP/out")"
	expect_contains "$(grep '^ExecStart=' "$root/opt/migctl/lib/systemd/system/migctl-serve.service")" \
		"/opt/migctl/bin/migctl serve"
	[ -e "$root/opt/migctl/lib/systemd/system/migctl-serve.socket" ] || fail "migctl-serve.socket not installed"
}

t_socket_activation() {
	have_tools || return
	command -v systemd-socket-activate >/dev/null || { skip "systemd-socket-activate is not installed"; return; }
	setup
	# systemd-socket-activate binds the socket and passes it (LISTEN_FDS) at the first connection
	systemd-socket-activate -l "$SOCK" -E MIGSIM_STATE -E MIGSIM_QUIET -E MIGCTL_LOCK -E MIGCTL_JOURNAL \
		-E MIGCTL_LEASES -E MIGCTL_CONF "$MIGCTL" --sim serve --group "$GID" 2>>"$TEST_TMP/serve.log" &
	local act=$! i
	for i in $(seq 1 200); do
		[ -S "$SOCK" ] && break
		sleep 0.05
	done
	api -- POST /v1/leases '{"profile": "1g.5gb", "ttl": 60}'
	expect_code 201
	api -- GET /v1/leases
	expect_code 200
	expect_contains "$(cat "$TEST_TMP/serve.log")" "listening on the socket systemd passed"
	kill -TERM "$act"
	wait "$act" 2>/dev/null
	# a TCP socket passed the same way (LISTEN_FDS, LISTEN_PID) is refused: never TCP
	expect_rc 1 python3 -c '
import os, socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
os.dup2(s.fileno(), 3); os.set_inheritable(3, True)
os.execve(sys.argv[1], sys.argv[1:], dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid())))' \
		"$MIGCTL" --sim serve
	expect_contains "$ERR" "never listens on TCP"
	rm -f "$SOCK"
}

run_tests
if [ -n "$SERVER" ]; then kill -TERM "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; fi
exit 0
