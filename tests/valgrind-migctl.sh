#!/bin/sh
# migctl under valgrind, for `make valgrind`: the shell tests call it in place of migctl, so a
# memcheck error or a definite leak in any command they run fails the test (exit 99).
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	"${MIGCTL_REAL:?set by make valgrind}" "$@"
