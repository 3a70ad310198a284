#!/usr/bin/env bash
# libmig speaks to programs, not to the people at migctl's command line: its sources never
# read the environment, never print or exit, never run migctl, and never name one of migctl's
# own options or commands in what they say. The options are taken from `migctl help` (and each
# command's usage), so a new option is checked the day it is added.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)

# the library's C sources, comments stripped (a comment may say why, naming the tool)
lib_strings() {
	find "$SRC_DIR/lib" -name '*.c' -o -name '*.h' | sort | while read -r f; do
		python3 - "$f" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
# drop comments, keep line numbers
def blank(m):
    return re.sub(r"[^\n]", " ", m.group(0))
code = re.sub(r"/\*.*?\*/", blank, text, flags=re.S)
code = re.sub(r"//[^\n]*", blank, code)
for no, line in enumerate(code.split("\n"), 1):
    for lit in re.findall(r'"((?:[^"\\]|\\.)*)"', line):
        print("%s:%d:%s" % (path[len(sys.argv[1]) - len(path):], no, lit))
PY
	done
}

lib_code() {
	find "$SRC_DIR/lib" -name '*.c' | sort | while read -r f; do
		python3 -c '
import re, sys
t = open(sys.argv[1]).read()
t = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), t, flags=re.S)
for no, line in enumerate(t.split("\n"), 1):
    print("%s:%d:%s" % (sys.argv[1], no, line))' "$f"
	done
}

t_no_environment_no_printing_no_exit() {
	local hits
	hits=$(lib_code | grep -E '\b(getenv|secure_getenv|printf|puts|putchar|perror|exit|abort)[[:space:]]*\(' |
		grep -vE '\b(s|sn|vsn|vs|f|vf|d)printf[[:space:]]*\(|_exit[[:space:]]*\(' )
	[ -z "$hits" ] || fail "libmig reads the environment, prints or exits: $hits"
	# the check can fail: it finds a planted call
	printf 'static void x(void) { const char *e = getenv("HOME"); (void)e; }\n' >"$TEST_TMP/planted.c"
	grep -qE '\bgetenv[[:space:]]*\(' "$TEST_TMP/planted.c" || fail "the pattern misses a planted getenv"
}

t_no_option_or_command_of_migctl_in_messages() {
	local opts cmds hits word
	# every long option migctl's help and usages name (--force, --lock-timeout, --nvml-lib, ...)
	opts=$({ "$MIGCTL" help; for c in $("$MIGCTL" help | awk '/^  [a-z-]+/ {print $1}' | sort -u); do
		"$MIGCTL" "$c" --help 2>&1; done; } | grep -oE -- '--[a-z][a-z-]+' | sort -u)
	[ "$(echo "$opts" | wc -l)" -ge 10 ] || fail "found only: $opts"
	echo "$opts" | grep -qx -- '--force' || fail "migctl's options were not read: $opts"
	lib_strings >"$TEST_TMP/strings"
	[ -s "$TEST_TMP/strings" ] || fail "no string literals found in lib/"
	hits=""
	for word in $opts; do
		hits="$hits$(grep -F -- "$word" "$TEST_TMP/strings" | grep -vE -- "nvidia-ctk|--output=%s" | sed 's/^/\n  /')"
	done
	# the tool by name, as a command to run ("see 'migctl status'", "migctl apply")
	hits="$hits$(grep -E "(^|[^a-z-])'?migctl [a-z]" "$TEST_TMP/strings" | sed 's/^/\n  /')"
	[ -z "$hits" ] || fail "libmig names migctl's options or commands:$hits"
	# the check can fail: a planted message is found
	echo 'lib/x.c:1:stop its processes, or pass --force' | grep -qF -- '--force' || fail "the check misses a planted flag"
}

run_tests
