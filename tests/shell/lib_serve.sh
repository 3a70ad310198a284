# Starting and stopping `migctl serve` for the service's tests (sourced after lib.sh): the
# server listens on $SOCK for the group $GID; its pid is $SERVER, its messages go to
# $TEST_TMP/serve.log.

# have_tools: curl, setpriv and root, which the service's tests need (else they skip, saying why).
have_tools() {
	command -v curl >/dev/null || { skip "curl is not installed (scripts/install-deps.sh installs it)"; return 1; }
	command -v setpriv >/dev/null || { skip "setpriv is not installed (util-linux)"; return 1; }
	[ "$(id -u)" = 0 ] || { skip "needs root: the test runs clients as other uids with setpriv"; return 1; }
	return 0
}

# start_server [OPTION...]: migctl serve on $SOCK; waits until it answers.
start_server() {
	"$MIGCTL" --sim serve --socket "$SOCK" --group "$GID" "$@" 2>>"$TEST_TMP/serve.log" &
	SERVER=$!
	local i
	for i in $(seq 1 200); do
		[ -S "$SOCK" ] && curl -s --max-time 5 --unix-socket "$SOCK" http://localhost/v1/health >/dev/null && return 0
		kill -0 "$SERVER" 2>/dev/null || break
		sleep 0.05
	done
	fail "the server did not start: $(cat "$TEST_TMP/serve.log")"
	return 1
}

# stop_server: SIGTERM by pid; it exits 0 and removes its socket.
stop_server() {
	[ -n "$SERVER" ] || return 0
	kill -TERM "$SERVER"
	wait "$SERVER"
	local rc=$?
	expect_eq "$rc" 0 "the server's exit status after SIGTERM"
	[ -e "$SOCK" ] && fail "the server left its socket $SOCK behind"
	SERVER=""
}
