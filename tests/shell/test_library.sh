#!/usr/bin/env bash
# libmig as others use it: the shared library exports exactly the functions of include/mig.h,
# its version agrees everywhere it is written, make install lays out a library, header,
# mig.pc, man pages and the boot unit, and a program built with pkg-config against the
# INSTALLED files (the example of libmig(3), extracted from the page) reads the simulator.
. "$(dirname "$0")/lib.sh"
: "${MIGCTL_BUILD:?run through make check}"
unset MIGSIM_GPUS MIGSIM_UNPRIVILEGED MIGCTL_NVML_LIB LD_LIBRARY_PATH
SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
HEADER="$SRC_DIR/include/mig.h"
EXAMPLE="$SRC_DIR/tests/pkgconfig-client/example.c"
SO="$MIGCTL_BUILD/libmig.so.0"

skip() {
	echo "# SKIP $*"
}

header_version() { # MAJOR|MINOR|PATCH
	sed -n "s/^#define MIG_VERSION_$1 \([0-9][0-9]*\).*/\1/p" "$HEADER"
}

# sanitizer flags for a program that loads this build's libmig (make asan builds it with them)
san_flags() {
	if readelf -d "$SO" 2>/dev/null | grep -q 'libasan'; then
		echo "-fsanitize=address,undefined"
	fi
}

# resolved_libmig PROGRAM [LD_LIBRARY_PATH]: the file the dynamic linker loads for libmig.so.0.
resolved_libmig() {
	local p
	p=$(LD_LIBRARY_PATH="${2:-}" ldd "$1" | awk '$1 ~ /^libmig\.so/ { print $3 }')
	[ -n "$p" ] && readlink -f "$p"
}

# The functions mig.h declares with external linkage: what gcc's -aux-info lists as "extern"
# from mig.h (static inline helpers, macros and function pointers in structs are not
# functions to export); without gcc, every mig_* identifier followed by "(" in the
# preprocessed header.
declared_functions() {
	if gcc -std=c11 -fsyntax-only -aux-info "$TEST_TMP/aux.txt" -x c "$HEADER" 2>/dev/null; then
		grep -F "/* $HEADER:" "$TEST_TMP/aux.txt" | grep -F ' */ extern ' |
			grep -oE '\bmig_[A-Za-z0-9_]+ \(' | tr -d ' (' | sort -u
	else
		cc -std=c11 -E -P -x c "$HEADER" | grep -oE '\bmig_[A-Za-z0-9_]+[[:space:]]*\(' | tr -d ' (' | sort -u
	fi
}

# The symbols the library defines in its dynamic table, without the version node.
exported_symbols() {
	nm -D --defined-only "$1" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u
}

# man_example PAGE: the C program in the EXAMPLES section of libmig(3), roff escapes undone.
man_example() {
	awk '/^\.SH EXAMPLES/ { sec = 1; next } /^\.SH / { sec = 0 }
		sec && /^\.EX/ && !done { on = 1; next } on && /^\.EE/ { on = 0; done = 1 } on' "$1" |
		sed -e 's/\\-/-/g' -e 's/^\\&//' -e 's/\\e/\\/g'
}

t_exports_exactly_the_functions_of_mig_h() {
	local declared exported
	declared=$(declared_functions)
	exported=$(exported_symbols "$SO")
	[ "$(echo "$declared" | wc -l)" -ge 30 ] || fail "found only $(echo "$declared" | wc -l) declarations in mig.h: $declared"
	local missing extra
	missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
	extra=$(comm -13 <(echo "$declared") <(echo "$exported"))
	[ -z "$missing" ] || fail "declared in mig.h but not exported: $(echo $missing)"
	[ -z "$extra" ] || fail "exported but not declared in mig.h: $(echo $extra)"
	# every export carries the version node of lib/libmig.map
	local unversioned
	unversioned=$(nm -D --defined-only "$SO" | awk '$2 != "A" && $3 !~ /@@MIG_0$/ { print $3 }')
	[ -z "$unversioned" ] || fail "exports without the MIG_0 version: $unversioned"
	# and the check can fail: libmig.a holds internal functions that the .so must hide
	local internal
	internal=$(nm --defined-only "$MIGCTL_BUILD/libmig.a" 2>/dev/null | awk '$2 == "T" { print $3 }' |
		grep -E '^mig_' | sort -u | comm -23 - <(echo "$declared") | head -1)
	[ -n "$internal" ] || fail "libmig.a has no internal mig_ function to prove the hiding with"
	echo "$exported" | grep -qx "$internal" && fail "internal function $internal is exported"
}

t_version_agrees_everywhere() {
	local major minor patch want
	major=$(header_version MAJOR)
	minor=$(header_version MINOR)
	patch=$(header_version PATCH)
	[ -n "$major" ] && [ -n "$minor" ] && [ -n "$patch" ] || fail "mig.h: no MIG_VERSION_MAJOR/MINOR/PATCH"
	want="$major.$minor.$patch"
	# the file, its SONAME and the links
	[ -f "$MIGCTL_BUILD/libmig.so.$want" ] || fail "no $MIGCTL_BUILD/libmig.so.$want"
	expect_eq "$(readlink "$MIGCTL_BUILD/libmig.so.$major")" "libmig.so.$want" "libmig.so.$major link"
	expect_eq "$(readlink "$MIGCTL_BUILD/libmig.so")" "libmig.so.$major" "libmig.so link"
	expect_eq "$(readelf -d "$SO" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')" "libmig.so.$major" "SONAME"
	# mig.pc
	expect_eq "$(sed -n 's/^Version: //p' "$MIGCTL_BUILD/mig.pc")" "$want" "mig.pc Version"
	# mig_version() at run time, and the version migctl was linked against
	cc -std=c11 $(san_flags) -I"$SRC_DIR/include" -o "$TEST_TMP/example" "$EXAMPLE" "$SO" \
		-Wl,-rpath,"$MIGCTL_BUILD" 2>"$TEST_TMP/cc.err" ||
		fail "the example does not build: $(cat "$TEST_TMP/cc.err")"
	expect_rc 0 "$TEST_TMP/example" "$MIGSIM_LIB"
	expect_eq "$(echo "$OUT" | head -1)" "libmig $want, compiled with mig.h $major.$minor" "mig_version()"
	expect_contains "$(readelf -d "$MIGCTL" | grep NEEDED)" "[libmig.so.$major]"
	# the man pages name the version in their footers
	grep -q "^\.TH LIBMIG 3 .* \"migctl $major.$minor\"" "$SRC_DIR/man/libmig.3" || fail "libmig.3's .TH does not say migctl $major.$minor"
}

t_migctl_finds_the_library_beside_it() {
	expect_eq "$(readelf -d "$MIGCTL" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')" '$ORIGIN:$ORIGIN/../lib' "migctl's RUNPATH"
	expect_eq "$(resolved_libmig "$MIGCTL")" "$(readlink -f "$SO")" "the libmig build/migctl loads"
}

t_man_page_formats_and_holds_the_example() {
	local page="$SRC_DIR/man/libmig.3" out
	if command -v groff >/dev/null 2>&1; then
		out=$(LC_ALL=C.UTF-8 groff -man -ww -z "$page" 2>&1)
		expect_eq "$out" "" "groff's warnings about libmig.3"
	else
		echo "# groff is not installed: libmig.3 not linted (scripts/install-deps.sh installs man-db, which needs it)"
	fi
	man_example "$page" >"$TEST_TMP/from-page.c"
	cmp -s "$TEST_TMP/from-page.c" "$EXAMPLE" ||
		fail "libmig.3's example differs from tests/pkgconfig-client/example.c: $(diff "$TEST_TMP/from-page.c" "$EXAMPLE" | head -10 | tr '\n' ' ')"
	grep -q 'mig_txn_begin' "$page" || fail "libmig.3 does not describe the transaction"
}

t_install_and_build_a_client_with_pkg_config() {
	if ! command -v pkg-config >/dev/null 2>&1; then
		skip "pkg-config is not installed (scripts/install-deps.sh installs it)"
		return
	fi
	local root="$TEST_TMP/root" ver
	ver="$(header_version MAJOR).$(header_version MINOR).$(header_version PATCH)"
	make -s -C "$SRC_DIR" BUILD="$MIGCTL_BUILD" DESTDIR="$root" PREFIX=/usr install >"$TEST_TMP/make.out" 2>&1 ||
		fail "make install failed: $(tail -5 "$TEST_TMP/make.out")"
	local f
	for f in usr/bin/migctl usr/bin/migsim "usr/lib/libmig.so.$ver" usr/lib/libmig.a usr/include/mig.h \
		usr/lib/pkgconfig/mig.pc usr/lib/migctl/libnvidia-ml.so.1 usr/share/man/man3/libmig.3 \
		usr/share/man/man8/migctl.8 usr/share/man/man5/migctl-config.5 usr/share/man/man1/migsim.1 \
		usr/lib/systemd/system/migctl.service etc/default/migctl; do
		[ -f "$root/$f" ] || fail "make install did not install /$f"
	done
	expect_eq "$(readlink "$root/usr/lib/libmig.so.0")" "libmig.so.$ver" "installed libmig.so.0"
	expect_eq "$(readlink "$root/usr/lib/libmig.so")" "libmig.so.0" "installed libmig.so"
	expect_eq "$(sed -n 's/^ExecStart=//p' "$root/usr/lib/systemd/system/migctl.service")" \
		"/usr/bin/migctl apply --lock-timeout 120" "installed unit's ExecStart"
	expect_eq "$(sed -n 's/^prefix=//p' "$root/usr/lib/pkgconfig/mig.pc")" "/usr" "mig.pc prefix"

	# a client that sees only what was installed: the example, from the installed page
	mkdir -p "$TEST_TMP/client"
	man_example "$root/usr/share/man/man3/libmig.3" >"$TEST_TMP/client/example.c"
	local flags
	flags=$(PKG_CONFIG_PATH="$root/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root" pkg-config --cflags --libs mig) || fail "pkg-config --cflags --libs mig failed"
	expect_contains "$flags" "-I$root/usr/include"
	expect_contains "$flags" "-L$root/usr/lib"
	expect_contains "$flags" "-lmig"
	(cd "$TEST_TMP/client" && cc -std=c11 -Wall -Wextra -Werror $(san_flags) -o example example.c $flags) \
		>"$TEST_TMP/cc.err" 2>&1 || fail "the example does not build with pkg-config's flags: $(cat "$TEST_TMP/cc.err")"
	expect_eq "$(resolved_libmig "$TEST_TMP/client/example" "$root/usr/lib")" "$root/usr/lib/libmig.so.$ver" \
		"the libmig the client loads"

	# run on the installed simulator: the GPUs it prints are the node's
	"$MIGSIM" init 2xH100-SXM5-80GB >/dev/null || fail "migsim init failed"
	mc 0 mode enable -i 1
	mc 0 create 1g.10gb,3g.40gb -C -i 1
	local want
	want=$("$MIGCTL" --sim list --json | json_eval \
		"'\n'.join('GPU %d: %s %s MIG %s, %d GPU instances' % (g['index'], g['name'], g['uuid'], 'enabled' if g['mig_mode']['current'] == 'enabled' else 'disabled', len(g.get('gpu_instances', []))) for g in d['gpus'])" 2>/dev/null)
	LD_LIBRARY_PATH="$root/usr/lib" expect_rc 0 "$TEST_TMP/client/example" "$root/usr/lib/migctl/libnvidia-ml.so.1"
	expect_eq "$(echo "$OUT" | head -1)" "libmig $ver, compiled with mig.h $(header_version MAJOR).$(header_version MINOR)" "version line"
	expect_eq "$(echo "$OUT" | sed -n '/^GPU /p')" "$want" "the GPUs the installed client read"
	expect_contains "$OUT" "NVML calls"

	# the installed migctl finds the installed libmig through its run path
	expect_eq "$(resolved_libmig "$root/usr/bin/migctl")" "$root/usr/lib/libmig.so.$ver" "the libmig installed migctl loads"
	expect_rc 0 "$root/usr/bin/migctl" --nvml-lib "$root/usr/lib/migctl/libnvidia-ml.so.1" list
	expect_contains "$OUT" "H100"

	# and statically, with what mig.pc says libmig.a needs
	local static_libs
	static_libs=$(PKG_CONFIG_PATH="$root/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root" pkg-config --static --libs mig | sed 's/ -lmig / /')
	(cd "$TEST_TMP/client" && cc -std=c11 $(san_flags) -I"$root/usr/include" -o example-static example.c \
		"$root/usr/lib/libmig.a" $static_libs) >"$TEST_TMP/cc.err" 2>&1 ||
		fail "the example does not link statically with pkg-config --static: $(cat "$TEST_TMP/cc.err")"
	expect_rc 0 "$TEST_TMP/client/example-static" "$root/usr/lib/migctl/libnvidia-ml.so.1"
	expect_eq "$(echo "$OUT" | sed -n '/^GPU /p')" "$want" "the GPUs the static client read"
}

run_tests
