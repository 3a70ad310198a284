# Helpers of the lease tests (test_leases.sh) and the node service's tests (test_serve_*.sh),
# sourced after lib.sh: a private lease table, lock and config per test file, lease owners,
# the node's MIG devices, and a `migctl serve` on a private socket.
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGSIM_TRACE

export MIGCTL_LOCK="$TEST_TMP/apply.lock" MIGCTL_JOURNAL="$TEST_TMP/journal.json"
export MIGCTL_LEASES="$TEST_TMP/leases.json" MIGCTL_CONF="$TEST_TMP/migctl.conf"

m() { "$MIGCTL" --sim "$@"; }

OWNERS=()
# owner: start a process to own leases; its pid in $OWNER
owner() {
	sleep 300 &
	OWNER=$!
	OWNERS+=("$OWNER")
}
kill_owner() { # PID
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
# kill_owners: the owners the tests started and left (a failed test leaves them)
kill_owners() {
	local t
	for t in "${OWNERS[@]}"; do
		kill -9 "$t" 2>/dev/null
	done
}

setup() { # [GPUS]
	rm -f "$MIGCTL_LEASES" "$MIGCTL_CONF"
	"$MIGSIM" init "${1:-A100-SXM4-40GB}" >/dev/null || fail "migsim init"
	m mode enable >/dev/null || fail "mode enable"
}

jget() { # EXPR: from $OUT
	echo "$OUT" | json_eval "$1"
}

# The node's MIG devices (compute instances), as the simulator holds them.
node_uuids() {
	m list --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(sorted(c["uuid"] for g in d["gpus"] for gi in g.get("gpu_instances", [])
                      for c in gi.get("compute_instances", []))))'
}

node_count() {
	local u
	u=$(node_uuids)
	set -- $u
	echo $#
}

# table_uuids: the MIG UUIDs the lease table names (all states), sorted.
table_uuids() {
	[ -e "$MIGCTL_LEASES" ] || return 0
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(sorted(e["mig_uuid"] for e in d["entries"])))' "$MIGCTL_LEASES"
}

# ---- the node service ---------------------------------------------------------------------

SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLIENT_PY="$SRCDIR/examples/migctl_client.py"
export PYTHONPATH="$SRCDIR/examples${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
SERVE_SOCK="$TEST_TMP/migctl.sock"
SERVE_PID=""

# serve_supported: migctl has the serve command (else the caller skips).
serve_supported() {
	"$MIGCTL" help 2>&1 | grep -qw serve
}

# serve_wait [SECONDS]: until the service on $SERVE_SOCK answers GET /v1/health (1), or its
# process $SERVE_PID is gone (fails).
serve_wait() {
	python3 - "$SERVE_SOCK" "${SERVE_PID:-0}" "${1:-20}" <<'EOF'
import os, sys, time
from migctl_client import Client, MigctlError
sock, pid, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
c = Client(sock, timeout=5)
end = time.monotonic() + limit
while time.monotonic() < end:
    if pid:
        try:
            os.kill(pid, 0)
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    sys.exit("migctl serve (pid %d) exited" % pid)
        except OSError:
            sys.exit("migctl serve (pid %d) exited" % pid)
    try:
        if c.health().get("status") == "ok":
            sys.exit(0)
    except MigctlError:
        pass
    time.sleep(0.005)
sys.exit("migctl serve did not answer on %s within %g s" % (sock, limit))
EOF
}

# serve_start [ARGS...]: migctl --sim serve --socket $SERVE_SOCK ARGS in the background (pid in
# $SERVE_PID, its messages appended to $TEST_TMP/serve.log), once it answers.
serve_start() {
	"$MIGCTL" --sim serve --socket "$SERVE_SOCK" "$@" >>"$TEST_TMP/serve.log" 2>&1 &
	SERVE_PID=$!
	serve_wait || {
		fail "migctl serve did not start: $(tail -5 "$TEST_TMP/serve.log" | tr '\n' ' ')"
		return 1
	}
}

# serve_stop [SIGNAL]: end the service (TERM by default; KILL for a crash) and reap it.
serve_stop() {
	[ -n "$SERVE_PID" ] || return 0
	kill "-${1:-TERM}" "$SERVE_PID" 2>/dev/null
	wait "$SERVE_PID" 2>/dev/null
	SERVE_PID=""
}

# client ARGS...: the example client's command against the service ($OUT, $ERR as expect_rc).
client() {
	python3 "$CLIENT_PY" --socket "$SERVE_SOCK" "$@"
}
