#!/usr/bin/env bash
# The lease commands as clients of the node service (issue 13): a user who is not root runs
# `migctl lease|release|leases|capacity|run`, which talk to `migctl serve` on its socket
# (MIGCTL_SOCKET here) instead of the library; root's commands go to the library directly,
# on the same lock and lease table. Each sees and honours the other's leases; the output is
# the same documents; run's lease belongs to the migctl run process (its end, or kill -9,
# ends it); every error a client can meet has its message and exit status. Other users
# through setpriv, as in test_serve.sh; everything against the simulator.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGSIM_TRACE \
	MIGCTL_SOCKET

export MIGCTL_LOCK="$TEST_TMP/apply.lock" MIGCTL_JOURNAL="$TEST_TMP/journal.json"
export MIGCTL_LEASES="$TEST_TMP/leases.json" MIGCTL_CONF="$TEST_TMP/migctl.conf"
SOCK="$TEST_TMP/run/migctl.sock"
GID=4243      # the service group
MEMBER=4242   # primary group GID
OUTSIDER=4250 # no group of the service
SERVER=""

m() { "$MIGCTL" --sim "$@"; }

setup() {
	rm -f "$MIGCTL_LEASES" "$MIGCTL_CONF"
	"$MIGSIM" init A100-SXM4-40GB >/dev/null || fail "migsim init"
	m mode enable >/dev/null || fail "mode enable"
	mkdir -p "$TEST_TMP/run"
	BIN=$(others_bin) # migctl as other users may run it; $TEST_TMP passable (0711)
	mkdir -p -m 1777 "$TEST_TMP/pub"
}

as_member=(setpriv --reuid="$MEMBER" --regid="$GID" --clear-groups)
as_outsider=(setpriv --reuid="$OUTSIDER" --regid="$OUTSIDER" --clear-groups)

# member RC ARGS...: migctl ARGS as the member, with the service's socket in MIGCTL_SOCKET
# (--sim too: were it to go to the library, it would be the simulator's)
member() {
	local rc=$1
	shift
	expect_rc "$rc" env MIGCTL_SOCKET="$SOCK" "${as_member[@]}" "$BIN/migctl" --sim "$@"
}

outsider() {
	local rc=$1
	shift
	expect_rc "$rc" env MIGCTL_SOCKET="$SOCK" "${as_outsider[@]}" "$BIN/migctl" --sim "$@"
}

node_count() {
	m list --json | json_eval 'sum(len(gi.get("compute_instances", [])) for g in d["gpus"] for gi in g.get("gpu_instances", []))'
}

jq_() { # EXPR over $OUT
	echo "$OUT" | json_eval "$1"
}

# shape: the keys and value types of a JSON document, recursively (lists by their first item)
shape() {
	python3 -c '
import json, sys
def s(v):
    if isinstance(v, dict):
        return {k: s(x) for k, x in v.items()}
    if isinstance(v, list):
        return [s(v[0])] if v else []
    return "number" if isinstance(v, (int, float)) and not isinstance(v, bool) else type(v).__name__
print(json.dumps(s(json.load(sys.stdin)), sort_keys=True))'
}

# ---- one table: the member through the service, root through the library -----------------

t_member_and_root_share_the_table() {
	have_tools || return
	setup
	start_server --rate 0 || return
	member 0 lease --profile 1g.5gb --ttl 600
	expect_contains "$OUT" "Lease l-"
	expect_contains "$OUT" "(1g.5gb on GPU 0"
	expect_contains "$OUT" "environment: CUDA_VISIBLE_DEVICES=MIG-"
	local mid ruuid rid
	mid=$(echo "$OUT" | sed -n 's/^Lease \(l-[0-9a-f]*\):.*/\1/p')
	[ -n "$mid" ] || fail "no lease id in: $OUT"
	# root, directly: the member's lease, with the member's uid
	expect_rc 0 m leases --json
	expect_eq "$(jq_ "[(l['id'], l['uid']) for l in d['leases']]")" "[[\"$mid\", $MEMBER]]" "root sees the member's lease"
	expect_rc 0 m lease --profile 2g.10gb --ttl 600 --json
	rid=$(jq_ "d['lease']['id']")
	ruuid=$(jq_ "d['lease']['mig_uuid']")
	# the member, through the service: both, the same lines as root's (one table, one printer)
	member 0 leases
	local member_text=$OUT
	expect_contains "$member_text" "$rid"
	expect_contains "$member_text" "$ruuid"
	expect_contains "$member_text" "uid $MEMBER"
	expect_rc 0 m leases
	expect_eq "$member_text" "$OUT" "migctl leases: the member's (service) and root's (library) text"
	# the service honours root's lease: not the member's to release, and nothing changes
	member 1 release "$rid"
	expect_contains "$ERR" "$rid"
	expect_rc 0 m leases --json
	expect_eq "$(jq_ "len(d['leases'])")" 2 "leases after a refused release"
	# root may release the member's lease directly; the member releases its own ... after root
	# made another, which the member sees go away through root's release
	member 0 release "$mid"
	expect_contains "$OUT" "Released lease $mid"
	expect_contains "$OUT" "its instance was destroyed"
	member 1 release "$mid"
	expect_contains "$ERR" "$mid"
	expect_rc 0 m release "$rid"
	member 0 leases --json
	expect_eq "$(jq_ "d['leases']")" "[]" "the member's view after both releases"
	expect_eq "$(node_count)" 0 "MIG devices"
	# and root releases a member's lease made through the service
	member 0 lease --profile 1g.5gb --ttl 600 --json
	mid=$(jq_ "d['lease']['id']")
	expect_eq "$(jq_ "d['lease']['uid']")" "$MEMBER" "the lease's uid"
	expect_rc 0 m release "$mid"
	expect_eq "$(node_count)" 0 "MIG devices"
	stop_server
}

# ---- the output is the same documents --------------------------------------------------

t_json_is_the_direct_paths() {
	have_tools || return
	setup
	start_server --rate 0 || return
	local a b
	# lease: service vs library, same shape
	member 0 lease --profile 1g.5gb --ttl 600 --json
	a=$(echo "$OUT" | shape)
	local mid
	mid=$(jq_ "d['lease']['id']")
	expect_rc 0 m lease --profile 1g.5gb --ttl 600 --json
	b=$(echo "$OUT" | shape)
	expect_eq "$a" "$b" "lease --json shapes (service, library)"
	local rid
	rid=$(jq_ "d['lease']['id']")
	# a named lease asked for again is renewed (HTTP 200): the text says so, as directly
	member 0 lease --profile 1g.5gb --ttl 600 --name nightly
	member 0 lease --profile 1g.5gb --ttl 600 --name nightly
	expect_contains "$OUT" ", renewed"
	expect_contains "$OUT" "name: nightly, expires: in"
	local nid
	nid=$(echo "$OUT" | sed -n 's/^Lease \(l-[0-9a-f]*\):.*/\1/p')
	# leases: the very same document
	member 0 leases --json
	a=$OUT
	expect_rc 0 m leases --json
	expect_eq "$a" "$OUT" "leases --json (service, library)"
	expect_eq "$(echo "$a" | json_eval "sorted(l['id'] for l in d['leases'])")" \
		"$(printf '%s\n' "$mid" "$rid" "$nid" | sort | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().split()))')" \
		"the leases listed"
	# capacity: the same document and text, also with -i (matched against the service's node)
	member 0 capacity --json
	a=$OUT
	expect_rc 0 m capacity --json
	expect_eq "$a" "$OUT" "capacity --json (service, library)"
	member 0 capacity
	a=$OUT
	expect_rc 0 m capacity
	expect_eq "$a" "$OUT" "capacity text (service, library)"
	expect_contains "$a" "POOL RECLAIMED"
	local uuid
	uuid=$(m list --json | json_eval "d['gpus'][0]['uuid']")
	member 0 -i "$uuid" capacity --json
	a=$OUT
	expect_rc 0 m -i "$uuid" capacity --json
	expect_eq "$a" "$OUT" "capacity -i UUID --json (service, library)"
	[ "$(jq_ "len(d['capacity'])")" -gt 0 ] || fail "capacity -i UUID is empty: $OUT"
	member 1 -i 5 capacity
	expect_contains "$ERR" "5"
	# release: same shape
	member 0 release "$mid" --json
	a=$(echo "$OUT" | shape)
	expect_eq "$(jq_ "d['released']")" "$mid" "released"
	expect_rc 0 m release "$rid" --json
	b=$(echo "$OUT" | shape)
	expect_eq "$a" "$b" "release --json shapes (service, library)"
	# an error: {"error": {"message"}} on stdout, as directly
	member 1 release "$rid" --json
	expect_json_error "$rid"
	stop_server
}

# ---- run: the lease belongs to migctl run ----------------------------------------------

t_run_through_the_service() {
	have_tools || return
	setup
	start_server --rate 0 || return
	# the command asks the service (as the member) who owns its lease: the migctl run process,
	# its parent
	cat >"$TEST_TMP/pub/cmd.sh" <<-EOF
		echo "uuid=\$CUDA_VISIBLE_DEVICES lease=\$MIGCTL_LEASE ppid=\$PPID"
		MIGCTL_SOCKET="$SOCK" "$BIN/migctl" leases --json >"$TEST_TMP/pub/during.json"
		exit 7
	EOF
	chmod 0755 "$TEST_TMP/pub/cmd.sh"
	member 7 run --profile 1g.5gb -- sh "$TEST_TMP/pub/cmd.sh"
	expect_contains "$OUT" "uuid=MIG-"
	local lease ppid
	lease=$(echo "$OUT" | sed -n 's/.* lease=\(l-[0-9a-f]*\) .*/\1/p')
	ppid=$(echo "$OUT" | sed -n 's/.* ppid=\([0-9]*\)$/\1/p')
	local during
	during=$(json_eval "[(l['id'], l['uid'], l['owner']['pid'], l['ttl']) for l in d['leases']]" <"$TEST_TMP/pub/during.json")
	expect_eq "$during" "[[\"$lease\", $MEMBER, $ppid, 0.0]]" "the lease while the command ran (owner: migctl run)"
	# it ended with the command
	expect_rc 0 m leases --json
	expect_eq "$(jq_ "d['leases']")" "[]" "leases after run"
	expect_eq "$(node_count)" 0 "MIG devices after run"
	# the options after "--" are the command's, not migctl's; --socket=PATH before it is migctl's
	expect_rc 0 env "${as_member[@]}" "$BIN/migctl" --sim run --socket="$SOCK" --profile 1g.5gb -- \
		echo --no-service --socket x --service
	expect_eq "$OUT" "--no-service --socket x --service" "the command's own arguments"
	expect_eq "$(node_count)" 0 "MIG devices after run"
	stop_server
}

t_run_killed_ends_its_lease() {
	have_tools || return
	setup
	start_server --rate 0 || return
	env MIGCTL_SOCKET="$SOCK" "${as_member[@]}" "$BIN/migctl" --sim run --profile 1g.5gb -- sleep 300 \
		>"$TEST_TMP/run.out" 2>&1 &
	local run=$! i owner="" child
	for i in $(seq 1 200); do
		owner=$(m leases --json | json_eval "[l['owner']['pid'] for l in d['leases']]")
		[ "$owner" != "[]" ] && break
		sleep 0.05
	done
	expect_eq "$owner" "[$run]" "the lease's owner (setpriv execs migctl run: the same pid)"
	child=$(pgrep -P "$run")
	kill -9 "$run"
	wait "$run" 2>/dev/null
	[ -n "$child" ] && kill "$child" 2>/dev/null
	# the next lease operation ends the lease of the dead owner
	member 0 leases --json
	expect_eq "$(jq_ "d['leases']")" "[]" "leases after kill -9 of migctl run"
	expect_eq "$(jq_ "d['reconciled']['ended']")" 1 "leases ended by the reconcile"
	expect_eq "$(node_count)" 0 "MIG devices after kill -9 of migctl run"
	stop_server
}

t_run_isolate_is_refused() {
	have_tools || return
	setup
	start_server --rate 0 || return
	state_save
	member 125 run --isolate --profile 1g.5gb -- true
	expect_contains "$ERR" "run --isolate: the device cgroup needs root"
	expect_contains "$ERR" "nothing was leased"
	expect_state_unchanged "the node after run --isolate through the service"
	stop_server
}

# ---- errors ----------------------------------------------------------------------------

t_service_down_or_absent() {
	have_tools || return
	setup
	start_server --rate 0 || return
	kill -9 "$SERVER"
	wait "$SERVER" 2>/dev/null
	SERVER=""
	[ -S "$SOCK" ] || { fail "expected the killed server's socket to remain"; return; }
	state_save
	member 1 lease --profile 1g.5gb --ttl 60
	expect_contains "$ERR" "nobody answers on the node service's socket $SOCK"
	expect_contains "$ERR" "systemctl start migctl-serve.socket"
	member 1 leases --json
	expect_json_error "the service is not running"
	member 1 run --profile 1g.5gb -- true
	expect_contains "$ERR" "nobody answers"
	rm -f "$SOCK"
	# no socket: the member goes to the library (which refuses a non-root user here) unless
	# --service forces the service
	member 1 leases --service
	expect_contains "$ERR" "the node service's socket $SOCK does not exist"
	member 1 capacity --socket "$TEST_TMP/run/other.sock"
	expect_contains "$ERR" "$TEST_TMP/run/other.sock does not exist"
	expect_state_unchanged "the node after the refused requests"
	expect_eq "$(node_count)" 0 "MIG devices"
}

t_who_may_use_it() {
	have_tools || return
	setup
	start_server --rate 0 || return
	state_save
	# a user outside the group cannot connect to the 0660 socket
	outsider 1 lease --profile 1g.5gb --ttl 60
	expect_contains "$ERR" "permission denied on the node service's socket $SOCK"
	expect_contains "$ERR" "usermod -aG migctl"
	# opened to all, the service itself refuses: 403 -> exit 1 with its message
	chmod 0666 "$SOCK"
	outsider 1 lease --profile 1g.5gb --ttl 60
	expect_contains "$ERR" "is not root and not a member of the group $GID"
	outsider 1 leases --json
	expect_json_error "not a member of the group"
	expect_state_unchanged "the node after the outsider's requests"
	stop_server
}

t_limit_and_capacity() {
	have_tools || return
	setup
	printf 'lease-max-per-user = 1\n' >"$MIGCTL_CONF"
	start_server --rate 0 || return
	member 0 lease --profile 1g.5gb --ttl 600
	member 1 lease --profile 1g.5gb --ttl 600
	expect_contains "$ERR" "holds 1 leases"
	printf 'lease-max-per-user = 0\n' >"$MIGCTL_CONF"
	member 0 lease --profile 4g.20gb --ttl 600 --json
	member 1 lease --profile 4g.20gb --ttl 600
	expect_contains "$ERR" "4g.20gb"
	member 1 lease --profile 7g.40gb --ttl 600 --json
	expect_json_error "7g.40gb"
	expect_eq "$(node_count)" 2 "MIG devices (the two leased)"
	member 1 lease --profile nosuch --ttl 60
	expect_contains "$ERR" "nosuch"
	# -i and --model go to the service as "gpus" and "model"
	member 1 -i 3 lease --profile 1g.5gb --ttl 60
	expect_contains "$ERR" "3"
	member 1 lease --profile 1g.5gb --model H100 --ttl 60
	local merr=$ERR
	expect_rc 1 m lease --profile 1g.5gb --model H100 --ttl 60
	expect_eq "$merr" "$ERR" "the message for --model H100 (service, library)"
	expect_contains "$merr" "lease-enable-mig = yes in migctl.conf"
	member 0 -i 0 lease --profile 1g.5gb --model A100 --ttl 60 --json
	expect_eq "$(jq_ "d['lease']['gpu']")" 0 "the GPU of a lease with -i 0"
	member 1 release l-00000000
	expect_contains "$ERR" "l-00000000"
	stop_server
}

t_pending_is_exit_3() {
	have_tools || return
	setup
	"$MIGSIM" init A100-SXM4-40GB:reset-required >/dev/null || fail "migsim init"
	printf 'lease-enable-mig = yes\n' >"$MIGCTL_CONF"
	start_server --rate 0 || return
	# the service's 503 "pending" is the direct path's exit status 3
	member 3 lease --profile 1g.5gb --ttl 60
	expect_contains "$ERR" "pending (the GPU needs a reset)"
	rm -f "$TEST_TMP/pub/ran"
	member 3 run --profile 1g.5gb -- touch "$TEST_TMP/pub/ran"
	[ -e "$TEST_TMP/pub/ran" ] && fail "run ran its command without a lease"
	member 0 leases --json
	expect_eq "$(jq_ "d['leases']")" "[]" "leases"
	stop_server
}

t_usage_through_the_service() {
	have_tools || return
	setup
	start_server --rate 0 || return
	state_save
	member 2 lease --profile 1g.5gb
	expect_contains "$ERR" "through the node service a lease needs --ttl SECONDS"
	member 2 lease --profile 1g.5gb --owner 1
	expect_contains "$ERR" "--owner"
	member 2 leases --service --no-service
	expect_contains "$ERR" "--no-service"
	member 2 leases --socket
	expect_contains "$ERR" "--socket needs the path"
	member 2 capacity --socket=
	expect_contains "$ERR" "--socket needs the path"
	member 2 release --no-service --socket "$SOCK" l-00000000
	expect_contains "$ERR" "--no-service goes to the library directly"
	expect_state_unchanged "the node after usage errors"
	stop_server
}

t_root_goes_direct_unless_told() {
	have_tools || return
	setup
	# no service at all: root's commands use the library (the socket variable is only a path)
	MIGCTL_SOCKET="$SOCK" expect_rc 0 m lease --profile 1g.5gb --ttl 600 --json
	local id
	id=$(jq_ "d['lease']['id']")
	# --service as root: through the service, here absent
	expect_rc 1 m leases --service --socket "$SOCK"
	expect_contains "$ERR" "does not exist"
	start_server --rate 0 || return
	expect_rc 0 m leases --service --socket "$SOCK" --json
	expect_eq "$(jq_ "[l['id'] for l in d['leases']]")" "[\"$id\"]" "root through the service"
	# a member may force the library (here it may not open the simulator's state: it went there)
	member 1 lease --no-service --profile 1g.5gb --ttl 60
	expect_contains "$ERR" "initialising NVML"
	expect_rc 0 m release "$id"
	stop_server
}

run_tests
if [ -n "$SERVER" ]; then kill -TERM "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; fi
exit 0
