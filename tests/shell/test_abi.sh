#!/usr/bin/env bash
# libmig's ABI, checked with libabigail against the one recorded in abi/libmig.abi: the built
# library must match it exactly (an addition must be recorded with make abi-update), and the
# check must tell a break from a compatible growth: a field inserted into struct mig_gpu moves
# offsets (a break), a field carved from its reserved words does not (mig.h, "ABI").
. "$(dirname "$0")/lib.sh"
: "${MIGCTL_BUILD:?run through make check}"
SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
BASELINE="$SRC_DIR/abi/libmig.abi"
ABIDW_FLAGS=(--headers-dir include --no-corpus-path --drop-private-types)

have_abigail() {
	command -v abidw >/dev/null && command -v abidiff >/dev/null
}

# abi_dump SRC LIBRARY: the library's ABI as abidw records it, public types from SRC/include.
abi_dump() {
	(cd "$1" && abidw "${ABIDW_FLAGS[@]}" "$2")
}

# abi_verdict OLD NEW: "same", "added" (only new functions or variables) or "breaks"; the
# report goes to $TEST_TMP/abidiff.txt.
abi_verdict() {
	local rc=0
	abidiff "$1" "$2" >"$TEST_TMP/abidiff.txt" 2>&1 || rc=$?
	if [ $((rc & 1)) -ne 0 ]; then
		echo "abidiff failed (rc $rc)"
		return
	fi
	if [ $((rc & 8)) -ne 0 ] || grep -qE '\b[1-9][0-9]* (Removed|Changed)' "$TEST_TMP/abidiff.txt"; then
		echo breaks
	elif [ "$rc" -ne 0 ]; then
		echo added
	else
		echo same
	fi
}

# variant_verdict NAME SED-SCRIPT: build libmig from a copy of the sources whose mig.h had
# SED-SCRIPT applied, and print abi_verdict of the recorded ABI against it.
variant_verdict() {
	local src="$TEST_TMP/$1"
	mkdir -p "$src/fuzz"
	cp -r "$SRC_DIR/Makefile" "$SRC_DIR/lint.mk" "$SRC_DIR/lib" "$SRC_DIR/include" "$SRC_DIR/nvml" "$src/"
	cp "$SRC_DIR/fuzz/fuzz.mk" "$src/fuzz/"
	sed -i "$2" "$src/include/mig.h"
	if cmp -s "$SRC_DIR/include/mig.h" "$src/include/mig.h"; then
		echo "the edit '$2' changed nothing in mig.h"
		return
	fi
	if ! make -s -C "$src" BUILD="$src/build" CFLAGS="-O0 -g -w" libmig >"$TEST_TMP/$1.log" 2>&1; then
		echo "could not build the variant: $(tail -3 "$TEST_TMP/$1.log")"
		return
	fi
	abi_dump "$src" "$src/build/libmig.so.0" >"$TEST_TMP/$1.abi" || { echo "abidw failed"; return; }
	abi_verdict "$BASELINE" "$TEST_TMP/$1.abi"
}

# expect_variant NAME SED-SCRIPT VERDICT
expect_variant() {
	if ! have_abigail; then
		skip "abidw/abidiff missing: install abigail-tools (scripts/install-deps.sh)"
		return 0
	fi
	local v
	v=$(variant_verdict "$1" "$2")
	[ "$v" = "$3" ] || { cat "$TEST_TMP/abidiff.txt" >&2; fail "verdict '$v', expected $3"; return; }
	[ "$3" = same ] || grep -q "abi_probe" "$TEST_TMP/abidiff.txt" || fail "the report does not name the field"
}

t_1() {
	echo "the built libmig.so.0 has the ABI recorded in abi/libmig.abi"
	if ! have_abigail; then
		skip "abidw/abidiff missing: install abigail-tools (scripts/install-deps.sh)"
		return 0
	fi
	[ -f "$BASELINE" ] || { fail "no recorded ABI at $BASELINE"; return; }
	abi_dump "$SRC_DIR" "$MIGCTL_BUILD/libmig.so.0" >"$TEST_TMP/now.abi" || { fail "abidw failed"; return; }
	local v
	v=$(abi_verdict "$BASELINE" "$TEST_TMP/now.abi")
	case "$v" in
	same) ;;
	added)
		cat "$TEST_TMP/abidiff.txt" >&2
		fail "libmig gained functions or variables abi/libmig.abi does not record: run make abi-update and commit it" ;;
	*)
		cat "$TEST_TMP/abidiff.txt" >&2
		fail "libmig.so.0's ABI broke against abi/libmig.abi ($v): keep old offsets and functions (mig.h, ABI), or bump MIG_VERSION_MAJOR" ;;
	esac
}

t_2() {
	echo "a field inserted into struct mig_gpu is reported as a break"
	expect_variant inserted '/^struct mig_gpu {/,/^};/ s/^\tunsigned int index;$/&\n\tunsigned int abi_probe;/' breaks
}

t_3() {
	echo "a field carved from struct mig_gpu's reserved words keeps the ABI"
	expect_variant carved '/^struct mig_gpu {/,/^};/ s/^\tMIG_RESERVED(8);$/\tunion {\n\t\tuint64_t mig_reserved_[8];\n\t\tstruct {\n\t\t\tunsigned int abi_probe;\n\t\t};\n\t};/' same
}

run_tests
