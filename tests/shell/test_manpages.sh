#!/usr/bin/env bash
# The man pages, man/migctl.8, man/migctl-config.5 and man/migsim.1: they format without a
# single warning, and they document what the programs have: every command and option their
# own help lists, every simulated GPU model, every key of the JSON documents the commands
# print, and every key of the configuration files that lib/declare/config.c accepts.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB
MAN_DIR=$(cd "$(dirname "$0")/../../man" && pwd)
MIGCTL_PAGE="$MAN_DIR/migctl.8"
MIGSIM_PAGE="$MAN_DIR/migsim.1"
CONFIG_PAGE="$MAN_DIR/migctl-config.5"
SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
# apply's lock and journal stay in this test's directory, whoever runs it
export MIGCTL_LOCK="$TEST_TMP/apply.lock" MIGCTL_JOURNAL="$TEST_TMP/journal.json"
unset MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG

# lint PAGE: the formatter's warnings about PAGE (nothing when it is clean): those of
# 'man --warnings' (man-db), and every warning groff knows (-ww); at least one of the two
# must be installed.
lint() {
	local out rc ran=0
	if command -v man >/dev/null 2>&1; then
		ran=1
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 "$1" 2>&1 >/dev/null)
		rc=$?
		[ "$rc" -eq 0 ] || echo "man exited $rc"
		[ -z "$out" ] || echo "$out"
	fi
	if command -v groff >/dev/null 2>&1; then
		ran=1
		out=$(LC_ALL=C.UTF-8 groff -man -ww -z "$1" 2>&1)
		rc=$?
		[ "$rc" -eq 0 ] || echo "groff exited $rc"
		[ -z "$out" ] || echo "$out"
	fi
	[ "$ran" -eq 1 ] || echo "neither man (package man-db) nor groff (package groff-base) is installed"
}

# render PAGE: the page as plain text, 80 columns, section headings at column 0. (man-db
# formats with groff too, so without groff there is nothing to render: the lint test says so.)
render() {
	LC_ALL=C.UTF-8 groff -man -Tascii -P-cbou -rLL=80n "$1" 2>/dev/null
}

# section TEXTFILE NAME: the lines of one section (up to the next line at column 0).
section() {
	awk -v name="$2" '/^[^ ]/ { on = ($0 == name); next } on' "$1"
}

# usage_commands: the command names of a program's help ("  name  args" under "Commands:").
usage_commands() {
	awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on && /^  [a-z]/ { print $1 }'
}

# usage_args NAME: the argument synopsis of one command in a program's help.
usage_args() {
	awk -v name="$1" '/^Commands:/ { on = 1; next } on && /^$/ { exit }
		on && $1 == name { sub(/^  [^ ]+ +/, ""); print; exit }'
}

# options_in TEXT: every option word (-x, --long, -lgip) in TEXT, once each.
options_in() {
	grep -oE -- '(^|[^A-Za-z0-9-])-{1,2}[A-Za-z][A-Za-z-]*' <<<"$1" | sed 's/^[^-]*//' | sort -u
}

# has_option SECTIONTEXT OPT: OPT appears as a whole word (not as part of a longer option).
has_option() {
	grep -qE -- "(^|[] [(|,/])$2([] ),.;:=|/]|\$)" <<<"$1"
}

# has_entry SECTIONTEXT WORD: an entry (a .TP tag at the section's indent) starts with WORD.
has_entry() {
	grep -qE "^ {7}$2([ ,]|\$)" <<<"$1"
}

# json_keys: every object key in the JSON document on stdin, once each.
json_keys() {
	python3 -c '
import json, sys
def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            print(k)
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
walk(json.load(sys.stdin))' | sort -u
}

# check_keys WHAT DOCTEXT JSON: each key of JSON is shown as "key": in DOCTEXT.
check_keys() {
	local key
	if [ -z "$3" ]; then
		fail "$1 printed no JSON"
		return
	fi
	for key in $(json_keys <<<"$3"); do
		grep -qF "\"$key\":" <<<"$2" || fail "$1: JSON key '$key' is not documented"
	done
}

t_pages_exist_with_their_names() {
	local page
	for page in "$MIGCTL_PAGE" "$MIGSIM_PAGE" "$CONFIG_PAGE"; do
		[ -s "$page" ] || fail "$page is missing or empty"
	done
	grep -q '^\.TH MIGCTL 8 ' "$MIGCTL_PAGE" || fail "migctl.8: no '.TH MIGCTL 8' line"
	grep -q '^\.TH MIGSIM 1 ' "$MIGSIM_PAGE" || fail "migsim.1: no '.TH MIGSIM 1' line"
	grep -q '^\.TH MIGCTL\\-CONFIG 5 ' "$CONFIG_PAGE" || fail "migctl-config.5: no '.TH MIGCTL\\-CONFIG 5' line"
}

t_pages_format_without_warnings() {
	local page out
	for page in "$MIGCTL_PAGE" "$MIGSIM_PAGE" "$CONFIG_PAGE"; do
		out=$(lint "$page")
		[ -z "$out" ] || fail "$(basename "$page"): $out"
	done
}

t_pages_have_the_usual_sections() {
	local page name txt="$TEST_TMP/page.txt"
	for page in "$MIGCTL_PAGE" "$MIGSIM_PAGE"; do
		render "$page" >"$txt"
		for name in NAME SYNOPSIS DESCRIPTION OPTIONS COMMANDS "EXIT STATUS" ENVIRONMENT FILES EXAMPLES \
			"SEE ALSO"; do
			grep -qx "$name" "$txt" || fail "$(basename "$page") has no $name section"
		done
	done
	render "$MIGCTL_PAGE" >"$txt"
	for name in "PROFILE NAMES" "GPU SELECTORS" HOOKS "JSON OUTPUT"; do
		grep -qx "$name" "$txt" || fail "migctl.8 has no $name section"
	done
	render "$MIGSIM_PAGE" >"$txt"
	for name in "GPU LISTS" MODELS; do
		grep -qx "$name" "$txt" || fail "migsim.1 has no $name section"
	done
	render "$CONFIG_PAGE" >"$txt"
	for name in NAME SYNOPSIS DESCRIPTION "TOP LEVEL" ENTRIES "PROFILE NAMES" "CHOOSING GPUS" \
		"FROM NAMES TO INSTANCES" ERRORS COMPATIBILITY EXAMPLES "SEE ALSO"; do
		grep -qx "$name" "$txt" || fail "migctl-config.5 has no $name section"
	done
}

# The two migctl pages point at each other.
t_migctl_pages_refer_to_each_other() {
	local txt="$TEST_TMP/page.txt"
	render "$MIGCTL_PAGE" >"$txt"
	section "$txt" "SEE ALSO" | grep -q 'migctl-config(5)' || fail "migctl.8 SEE ALSO does not name migctl-config(5)"
	render "$CONFIG_PAGE" >"$txt"
	section "$txt" "SEE ALSO" | grep -q 'migctl(8)' || fail "migctl-config.5 SEE ALSO does not name migctl(8)"
}

t_migctl_page_documents_every_command() {
	local txt="$TEST_TMP/migctl.txt" help cmds cmd opt commands
	render "$MIGCTL_PAGE" >"$txt"
	commands=$(section "$txt" COMMANDS)
	help=$("$MIGCTL" help) || fail "migctl help failed"
	cmds=$(usage_commands <<<"$help")
	[ "$(wc -w <<<"$cmds")" -ge 10 ] || fail "found only '$cmds' in 'migctl help'"
	for cmd in plan apply assert export; do
		grep -qx "$cmd" <<<"$cmds" || fail "'migctl help' does not list '$cmd'"
	done
	for cmd in $cmds; do
		has_entry "$commands" "$cmd" || fail "migctl.8 COMMANDS has no entry for '$cmd'"
		for opt in $(options_in "$(usage_args "$cmd" <<<"$help")"); do
			has_option "$commands" "$opt" || fail "migctl.8 COMMANDS does not mention '$cmd $opt'"
		done
	done
}

t_migctl_page_documents_every_global_option() {
	local txt="$TEST_TMP/migctl.txt" options opts opt
	render "$MIGCTL_PAGE" >"$txt"
	options=$(section "$txt" OPTIONS)
	# "  -i, --gpu SELECTOR  GPUs to act on ...": the words before the two-space gap
	opts=$("$MIGCTL" help | awk '/^Options/ { on = 1; next } on && /^$/ { exit } on' |
		sed 's/^  //; s/  .*//')
	opts=$(options_in "$opts")
	[ "$(wc -w <<<"$opts")" -ge 6 ] || fail "found only '$opts' in the options of 'migctl help'"
	for opt in $opts; do
		has_option "$options" "$opt" || fail "migctl.8 OPTIONS does not document '$opt'"
	done
}

t_migsim_page_documents_every_command() {
	local txt="$TEST_TMP/migsim.txt" help cmds cmd opt commands options
	render "$MIGSIM_PAGE" >"$txt"
	commands=$(section "$txt" COMMANDS)
	options=$(section "$txt" OPTIONS)
	help=$("$MIGSIM" help) || fail "migsim help failed"
	cmds=$(usage_commands <<<"$help")
	[ "$(wc -w <<<"$cmds")" -ge 10 ] || fail "found only '$cmds' in 'migsim help'"
	for cmd in $cmds; do
		has_entry "$commands" "$cmd" || fail "migsim.1 COMMANDS has no entry for '$cmd'"
		for opt in $(options_in "$(usage_args "$cmd" <<<"$help")"); do
			has_option "$commands" "$opt" || fail "migsim.1 COMMANDS does not mention '$cmd $opt'"
		done
	done
	# the options before the command, from "Usage: migsim [--state PATH] COMMAND [ARGS]"
	for opt in $(options_in "$(grep '^Usage:' <<<"$help")"); do
		has_option "$options" "$opt" || fail "migsim.1 OPTIONS does not document '$opt'"
	done
}

t_migsim_page_lists_every_model() {
	local txt="$TEST_TMP/migsim.txt" models keys key
	render "$MIGSIM_PAGE" >"$txt"
	models=$(section "$txt" MODELS)
	keys=$("$MIGSIM" models | awk '{ print $1 }')
	[ "$(wc -w <<<"$keys")" -ge 1 ] || fail "'migsim models' listed nothing"
	for key in $keys; do
		has_entry "$models" "$key" || fail "migsim.1 MODELS has no entry for $key"
	done
}

t_migsim_page_documents_the_environment() {
	local txt="$TEST_TMP/migsim.txt" env var
	render "$MIGSIM_PAGE" >"$txt"
	env=$(section "$txt" ENVIRONMENT)
	for var in MIGSIM_STATE MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGSIM_QUIET MIGSIM_FSYNC LD_LIBRARY_PATH; do
		has_entry "$env" "$var" || fail "migsim.1 ENVIRONMENT has no entry for $var"
	done
	render "$MIGCTL_PAGE" >"$txt"
	env=$(section "$txt" ENVIRONMENT)
	for var in MIGCTL_NVML_LIB MIGSIM_STATE MIGSIM_GPUS MIGCTL_CONFIG_FILE MIGCTL_SELECTED_CONFIG MIGCTL_LOCK \
		MIGCTL_JOURNAL; do
		has_entry "$env" "$var" || fail "migctl.8 ENVIRONMENT has no entry for $var"
	done
	# and every MIGCTL_ variable migctl's sources read
	for var in $(grep -ohE 'getenv\("MIGCTL_[A-Z_]+"\)' "$SRC_DIR"/cli/*.c "$SRC_DIR"/lib/*/*.c |
		sed 's/getenv("//; s/")//' | sort -u); do
		has_entry "$env" "$var" || fail "migctl.8 ENVIRONMENT has no entry for $var (read by migctl)"
	done
}

# parser_keys FUNCTION: the keys a function of lib/declare/config.c compares with strcmp(key, "...").
parser_keys() {
	awk -v fn="$1" '$0 ~ "^static int " fn "\\(" { on = 1 } on { print } on && /^}/ { exit }' \
		"$SRC_DIR/lib/declare/config.c" | grep -oE 'strcmp\(key, "[^"]+"\)' | sed 's/.*"\(.*\)".*/\1/' | sort -u
}

# page_keys SECTIONTEXT: the keys documented in a section, one ".TP" tag "key: ..." each:
# a line at the section's indent that starts with "key:" and is followed by the tag's text,
# indented further (every key's tag is longer than the tag indent, so its text starts on
# the next line; paragraphs of the section go on at the section's indent).
page_keys() {
	awk -v tag='^       [a-z][a-z-]*:' -v body='^              [^ ]' \
		'prev ~ tag && $0 ~ body { k = prev; sub(/^ +/, "", k); sub(/:.*/, "", k); print k } { prev = $0 }' \
		<<<"$1" | sort -u
}

# migctl-config.5 documents exactly the keys the parser accepts: TOP LEVEL those of
# parse_root, ENTRIES those of parse_entry.
t_config_page_documents_the_parsers_keys() {
	local txt="$TEST_TMP/config.txt" want have name fn
	render "$CONFIG_PAGE" >"$txt"
	for name in "TOP LEVEL:parse_root:2" "ENTRIES:parse_entry:5"; do
		fn=${name#*:}
		want=$(parser_keys "${fn%:*}")
		[ "$(wc -w <<<"$want")" -ge "${fn#*:}" ] ||
			fail "found only '$want' in ${fn%:*} of lib/declare/config.c; has the parser changed?"
		have=$(page_keys "$(section "$txt" "${name%%:*}")")
		[ "$want" = "$have" ] ||
			fail "migctl-config.5 ${name%%:*} documents [$(echo $have)], but ${fn%:*} accepts [$(echo $want)]"
	done
}

# migctl.8 HOOKS has an entry for every hook point of lib/txn/hooks.c.
t_migctl_page_documents_every_hook_point() {
	local txt="$TEST_TMP/migctl.txt" hooks points point
	render "$MIGCTL_PAGE" >"$txt"
	hooks=$(section "$txt" HOOKS)
	points=$(grep -E '^static const char \*const points\[\]' "$SRC_DIR/lib/txn/hooks.c" | grep -oE '"[a-z-]+"' | tr -d '"')
	[ "$(wc -w <<<"$points")" -ge 4 ] || fail "found only '$points' in lib/txn/hooks.c"
	for point in $points; do
		has_entry "$hooks" "$point" || fail "migctl.8 HOOKS has no entry for the hook point $point"
	done
}

# The example files the config page names exist, and it names every one of them.
t_config_page_names_the_example_files() {
	local txt="$TEST_TMP/config.txt" examples f
	render "$CONFIG_PAGE" >"$txt"
	examples=$(section "$txt" EXAMPLES)
	for f in "$SRC_DIR"/examples/*.yaml; do
		grep -qF "$(basename "$f")" <<<"$examples" || fail "migctl-config.5 EXAMPLES does not name examples/$(basename "$f")"
	done
	for f in $(grep -oE '[a-z0-9.-]+\.yaml' <<<"$examples" | sort -u); do
		[ "$f" = node.yaml ] || [ "$f" = current.yaml ] || [ -e "$SRC_DIR/examples/$f" ] ||
			fail "migctl-config.5 EXAMPLES names $f, which examples/ does not have"
	done
}

# Every key of every JSON document migctl prints, on a simulated A100, is in JSON OUTPUT.
t_migctl_page_documents_every_json_key() {
	local txt="$TEST_TMP/migctl.txt" doc pid gi uuid
	local m=("$MIGCTL" --nvml-lib "$MIGSIM_LIB" --json)
	render "$MIGCTL_PAGE" >"$txt"
	doc=$(section "$txt" "JSON OUTPUT")
	"$MIGSIM" init A100-SXM4-40GB >/dev/null || fail "migsim init failed"

	pid=$("$MIGSIM" proc start --gpu 0)
	expect_rc 3 "${m[@]}" mode enable
	check_keys "mode (pending)" "$doc" "$OUT"
	expect_rc 0 "${m[@]}" list
	check_keys "list (MIG disabled, a process)" "$doc" "$OUT"
	"$MIGSIM" proc stop "$pid"
	expect_rc 0 "${m[@]}" mode enable
	check_keys "mode" "$doc" "$OUT"

	expect_rc 0 "${m[@]}" profiles
	check_keys "profiles" "$doc" "$OUT"
	expect_rc 0 "${m[@]}" placements
	check_keys "placements" "$doc" "$OUT"
	expect_rc 0 "${m[@]}" create 3g.20gb,2g.10gb -C
	check_keys "create -C" "$doc" "$OUT"
	uuid=$(json_eval "d['created'][0]['compute_instance']['uuid']" <<<"$OUT")
	expect_rc 0 "${m[@]}" create 1g.5gb
	check_keys "create" "$doc" "$OUT"
	gi=$(json_eval "d['created'][0]['gpu_instance']['id']" <<<"$OUT")
	expect_rc 0 "${m[@]}" create-ci --gi "$gi"
	check_keys "create-ci" "$doc" "$OUT"
	expect_rc 0 "${m[@]}" ci-profiles
	check_keys "ci-profiles" "$doc" "$OUT"
	expect_rc 0 "${m[@]}" mig -lgi
	check_keys "mig -lgi" "$doc" "$OUT"
	expect_rc 0 "${m[@]}" mig -lci
	check_keys "mig -lci" "$doc" "$OUT"

	pid=$("$MIGSIM" proc start --uuid "$uuid")
	expect_rc 0 "${m[@]}" status
	check_keys "status (a process on a MIG device)" "$doc" "$OUT"
	expect_rc 1 "${m[@]}" destroy --all
	check_keys "destroy refused" "$doc" "$OUT"
	"$MIGSIM" proc stop "$pid"

	# an NVML call the driver refuses (an unprivileged caller is refused before any call)
	"$MIGSIM" fault add nvmlDeviceCreateGpuInstanceWithPlacement NO_PERMISSION
	expect_rc 1 "${m[@]}" create 1g.5gb
	check_keys "an NVML error" "$doc" "$OUT"
	expect_contains "$OUT" '"nvml_return"'
	"$MIGSIM" fault clear

	expect_rc 0 "${m[@]}" destroy --all
	check_keys "destroy" "$doc" "$OUT"
}

# The same for plan, assert, apply and export, through a declarative change on a simulated
# A100: from MIG disabled to one layout, then to another that keeps one GPU instance.
t_migctl_page_documents_the_declarative_json_keys() {
	local txt="$TEST_TMP/migctl.txt" doc first="$TEST_TMP/first.yaml" second="$TEST_TMP/second.yaml"
	local m=("$MIGCTL" --nvml-lib "$MIGSIM_LIB" --json)
	render "$MIGCTL_PAGE" >"$txt"
	doc=$(section "$txt" "JSON OUTPUT")
	"$MIGSIM" init A100-SXM4-40GB >/dev/null || fail "migsim init failed"
	printf '%s\n' 'version: v1' 'mig-configs:' '  layout:' '    - devices: all' '      mig-enabled: true' \
		'      mig-devices: {"3g.20gb": 1, "2g.10gb": 1, "1g.5gb": 2}' >"$first"
	printf '%s\n' 'version: v1' 'mig-configs:' '  layout:' '    - devices: all' '      mig-enabled: true' \
		'      mig-devices: {"3g.20gb": 1, "1c.4g.20gb": 4}' >"$second"

	expect_rc 0 "${m[@]}" plan -f "$first"
	check_keys "plan (enable MIG, create)" "$doc" "$OUT"
	expect_rc 0 "${m[@]}" apply -f "$first" --dry-run
	check_keys "apply --dry-run" "$doc" "$OUT"
	expect_rc 4 "${m[@]}" assert -f "$first"
	check_keys "assert (differs)" "$doc" "$OUT"
	expect_rc 0 "${m[@]}" apply -f "$first"
	check_keys "apply" "$doc" "$OUT"
	expect_rc 0 "${m[@]}" assert -f "$first"
	check_keys "assert (matches)" "$doc" "$OUT"
	expect_rc 0 "${m[@]}" apply -f "$first"
	check_keys "apply (nothing to do)" "$doc" "$OUT"
	expect_rc 0 "${m[@]}" plan -f "$second"
	check_keys "plan (keep, destroy, create)" "$doc" "$OUT"
	expect_rc 0 "${m[@]}" apply -f "$second"
	expect_rc 0 "${m[@]}" export --placements
	check_keys "export --placements" "$doc" "$OUT"
	expect_rc 1 "${m[@]}" plan -f "$TEST_TMP/missing.yaml"
	check_keys "plan (no such file)" "$doc" "$OUT"
}

# The same for migsim's own JSON: show --json and models --json.
t_migsim_page_documents_every_json_key() {
	local txt="$TEST_TMP/migsim.txt" commands
	render "$MIGSIM_PAGE" >"$txt"
	commands=$(section "$txt" COMMANDS)
	"$MIGSIM" init A100-SXM4-40GB >/dev/null || fail "migsim init failed"
	"$MIGCTL" --nvml-lib "$MIGSIM_LIB" mode enable >/dev/null
	"$MIGCTL" --nvml-lib "$MIGSIM_LIB" create 3g.20gb -C >/dev/null || fail "migctl create failed"
	"$MIGSIM" proc start --uuid "$("$MIGSIM" show --json | json_eval \
		"d['gpus'][0]['gpu_instances'][0]['compute_instances'][0]['uuid']")" >/dev/null
	"$MIGSIM" fault add nvmlGpuInstanceDestroy IN_USE
	"$MIGSIM" latency set gi-create 1
	expect_rc 0 "$MIGSIM" show --json
	check_keys "migsim show --json" "$commands" "$OUT"
	expect_rc 0 "$MIGSIM" models --json
	check_keys "migsim models --json" "$commands" "$OUT"
}

run_tests
