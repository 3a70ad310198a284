# Starting and stopping `migctl serve` for the service's tests (sourced after lib.sh): the
# server listens on $SOCK for the group $GID; its pid is $SERVER, its messages go to
# $TEST_TMP/serve.log.

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
