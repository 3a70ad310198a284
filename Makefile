# migctl: build, test and sanitizer targets. GNU Make, C11.
#   make            build everything into build/
#   make check      install missing Debian packages, build, run every test
#   make asan       the same suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make valgrind   the C test programs under valgrind (memcheck, leaks are errors)
#   make CC=clang   build with clang (warnings are errors with both compilers)
#   V=1             show the commands

CC ?= cc
BUILD ?= build
PREFIX ?= /usr/local
# Where make install puts things (DESTDIR in front of each). migctl finds libmig through the
# run path $ORIGIN/../lib, so LIBDIR must stay $(PREFIX)/lib for an installed migctl to find
# it without ld.so.conf; the systemd unit goes where systemd looks for units of a PREFIX
# (/usr/lib/systemd/system, /usr/local/lib/systemd/system).
BINDIR = $(PREFIX)/bin
LIBDIR = $(PREFIX)/lib
INCLUDEDIR = $(PREFIX)/include
MANDIR = $(PREFIX)/share/man
PKGCONFIGDIR = $(LIBDIR)/pkgconfig
SYSTEMDUNITDIR = $(PREFIX)/lib/systemd/system

ifeq ($(origin CC),default)
CC := cc
endif

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wundef -Wvla -Wnull-dereference -Wimplicit-fallthrough
CFLAGS ?= -O2 -g
BASE_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -fPIC -fvisibility=hidden \
	-MMD -MP $(WARNINGS)
SAN_FLAGS :=
ifdef SAN
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
BASE_CFLAGS += $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)
endif

PKGS := jansson uuid yaml-0.1
DEPS_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
DEPS_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -ljansson -luuid)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)
# migctl serve (cli/cmd_serve.c): the HTTP server and systemd's socket activation and notify;
# the lease commands as clients of that service (cli/client.c): libcurl. migctl alone links
# them, never libmig
CLI_PKGS := libmicrohttpd libsystemd libcurl
CLI_CFLAGS = $(shell pkg-config --cflags $(CLI_PKGS) 2>/dev/null)
CLI_LIBS = $(shell pkg-config --libs $(CLI_PKGS) 2>/dev/null || echo -lmicrohttpd -lsystemd -lcurl) -lpthread -lm

ifeq ($(V),1)
Q :=
else
Q := @
endif

ALL_CFLAGS = $(BASE_CFLAGS) $(DEPS_CFLAGS) $(CLI_CFLAGS) $(CFLAGS)

# ---- the simulator ---------------------------------------------------------------
SIM_CORE_SRC := sim/models.c sim/models_data.c sim/engine.c sim/state.c sim/store.c sim/procfs.c
SIM_CORE_OBJ := $(SIM_CORE_SRC:%.c=$(BUILD)/%.o)
SIM_LIB := $(BUILD)/sim/libnvidia-ml.so.1
MIGSIM := $(BUILD)/migsim

# ---- libmig ---------------------------------------------------------------------
LIB_SRC := $(wildcard lib/*/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBMIG := $(BUILD)/libmig.a
# The version is written once, in include/mig.h (MIG_VERSION_MAJOR/MINOR/PATCH); the shared
# library's names and mig.pc take it from there (tests/shell/test_library.sh checks).
mig_version_part = $(shell sed -n 's/^[#]define MIG_VERSION_$(1) \([0-9][0-9]*\).*/\1/p' include/mig.h)
MIG_VERSION := $(call mig_version_part,MAJOR).$(call mig_version_part,MINOR).$(call mig_version_part,PATCH)
LIBMIG_SONAME := libmig.so.$(call mig_version_part,MAJOR)
LIBMIG_SO := $(BUILD)/libmig.so.$(MIG_VERSION)
MIG_PC := $(BUILD)/mig.pc
# what libmig links against (only those it uses end up NEEDED), also mig.pc's Requires.private
LIB_PKGS := $(PKGS)
LIB_LIBS = $(DEPS_LIBS) -ldl

# ---- migctl -------------------------------------------------------------------------
CLI_SRC := $(wildcard cli/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
MIGCTL := $(BUILD)/migctl
# migctl answers to nvidia-mig-parted's command line when invoked by that name (cli/cmd_parted.c)
PARTED_LINK := $(BUILD)/nvidia-mig-parted

# ---- tests -------------------------------------------------------------------------
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
SIMTEST_SRC := $(wildcard tests/sim/test_*.c)
SIMTEST_BIN := $(SIMTEST_SRC:tests/sim/%.c=$(BUILD)/tests/sim/%)
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPER_BIN := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/tests/helpers/%)
ABI_CLIENT := $(BUILD)/tests/abi-client/client
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

ALL_BINS := $(LIBMIG) $(LIBMIG_SO) $(MIG_PC) $(MIGCTL) $(PARTED_LINK) $(SIM_LIB) $(MIGSIM) $(UNIT_BIN) $(SIMTEST_BIN) $(HELPER_BIN) $(ABI_CLIENT) \
	$(BENCH_BIN)
include fuzz/fuzz.mk
include lint.mk

.PHONY: all deps check asan valgrind clean install install-systemd test-only demo bench fuzz lint
.DEFAULT_GOAL := all
# Keep the objects of pattern-built programs, so a second make rebuilds nothing.
.SECONDARY:

all: $(ALL_BINS)

deps:
	@./scripts/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# libmig's stages include "internal.h" from lib/
$(BUILD)/lib/%.o: lib/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -Ilib -c -o $@ $<

$(BUILD)/libmigsim-core.a: $(SIM_CORE_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBMIG): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# libmig.so.MAJOR.MINOR.PATCH, SONAME libmig.so.MAJOR, and the links libmig.so.MAJOR and libmig.so
$(LIBMIG_SO): $(LIB_OBJ) lib/libmig.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,$(LIBMIG_SONAME) -Wl,--version-script=lib/libmig.map -Wl,-z,defs \
		$(LDFLAGS) -o $@ $(LIB_OBJ) -Wl,--as-needed $(LIB_LIBS) -Wl,--no-as-needed
	$(Q)ln -sf $(notdir $@) $(BUILD)/$(LIBMIG_SONAME)
	$(Q)ln -sf $(LIBMIG_SONAME) $(BUILD)/libmig.so

# The ABI libmig.so.0 promises (include/mig.h, "ABI"): abi/libmig.abi, recorded with libabigail
# from the public header's types. tests/shell/test_abi.sh compares each build with it; after an
# intended addition (a function, a field carved from a struct's reserved words), record it anew
# with `make abi-update` and commit the file with the change.
ABIDW_FLAGS := --headers-dir include --no-corpus-path --drop-private-types
libmig: $(LIBMIG_SO)
abi-update: $(LIBMIG_SO)
	abidw $(ABIDW_FLAGS) $(BUILD)/$(LIBMIG_SONAME) >abi/libmig.abi
.PHONY: libmig abi-update

# mig.pc for a prefix: $(call mig_pc,prefix,libdir,includedir) on stdin lib/mig.pc.in
mig_pc = sed -e 's|@PREFIX@|$(1)|g' -e 's|@LIBDIR@|$(2)|g' -e 's|@INCLUDEDIR@|$(3)|g' \
	-e 's|@VERSION@|$(MIG_VERSION)|g' -e 's|@REQUIRES_PRIVATE@|$(LIB_PKGS)|g' lib/mig.pc.in

$(MIG_PC): lib/mig.pc.in include/mig.h Makefile
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$(call mig_pc,$(PREFIX),$(LIBDIR),$(INCLUDEDIR)) >$@

$(SIM_LIB): $(BUILD)/sim/nvml.o $(BUILD)/libmigsim-core.a sim/libnvidia-ml.map
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libnvidia-ml.so.1 -Wl,--version-script=sim/libnvidia-ml.map -Wl,-z,defs \
		$(LDFLAGS) -o $@ $(BUILD)/sim/nvml.o $(BUILD)/libmigsim-core.a $(DEPS_LIBS) -lpthread
	$(Q)ln -sf libnvidia-ml.so.1 $(BUILD)/sim/libnvidia-ml.so

# migctl uses libmig.so: $ORIGIN finds build/libmig.so.0 beside build/migctl, $ORIGIN/../lib
# finds $(PREFIX)/lib/libmig.so.0 from $(PREFIX)/bin/migctl (a RUNPATH: LD_LIBRARY_PATH wins).
$(MIGCTL): $(CLI_OBJ) $(LIBMIG_SO)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIBMIG_SO) \
		-Wl,--enable-new-dtags,-rpath,'$$ORIGIN:$$ORIGIN/../lib' $(DEPS_LIBS) $(CLI_LIBS)

$(PARTED_LINK): $(MIGCTL)
	$(Q)ln -sf migctl $@

$(MIGSIM): $(BUILD)/sim/migsim.o $(BUILD)/libmigsim-core.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEPS_LIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIBMIG) $(BUILD)/libmigsim-core.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEPS_LIBS) $(CMOCKA_LIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIBMIG) $(BUILD)/libmigsim-core.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEPS_LIBS) -lm

$(BUILD)/tests/sim/%: $(BUILD)/tests/sim/%.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) -ldl

$(BUILD)/tests/helpers/%: $(BUILD)/tests/helpers/%.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -ldl

# The outside client: its own declarations, no project header, no project flags but -Werror.
$(ABI_CLIENT): tests/abi-client/client.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -std=c11 -D_POSIX_C_SOURCE=200809L $(WARNINGS) $(CFLAGS) \
		$(SAN_FLAGS) -o $@ $< -ldl

# ---- running the tests ---------------------------------------------------------------
TEST_ENV = MIGCTL_BUILD=$(abspath $(BUILD)) MIGSIM=$(abspath $(MIGSIM)) MIGCTL=$(abspath $(MIGCTL)) \
	MIGSIM_LIB=$(abspath $(SIM_LIB)) MIGSIM_QUIET=1

test-only: all
	$(Q)$(TEST_ENV) ./tests/run-tests.sh $(UNIT_BIN) $(SIMTEST_BIN) $(FUZZ_REPLAY_BIN) tests/shell/test_*.sh

check: deps
	$(Q)$(MAKE) --no-print-directory test-only

# The stress loops run at full strength in make check; under the sanitizers a few rounds of
# each find what memory errors there are, and keep CI within its time.
asan: deps
	$(Q)LEASE_ROUNDS=25 SERVE_KILL_ROUNDS=25 CONC_ROUNDS=1 $(MAKE) --no-print-directory BUILD=$(BUILD)/asan SAN=1 test-only

valgrind: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(TEST_ENV) TEST_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect" \
		./tests/run-tests.sh $(UNIT_BIN) $(SIMTEST_BIN) $(FUZZ_REPLAY_BIN)
	@# every migctl command, through the golden and walkthrough tests, with migctl under valgrind
	$(Q)$(TEST_ENV) MIGCTL_REAL=$(abspath $(MIGCTL)) MIGCTL=$(abspath tests/valgrind-migctl.sh) \
		./tests/run-tests.sh tests/shell/test_migctl_golden.sh tests/shell/test_migctl_walkthrough.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./scripts/demo.sh $(BUILD)

# Benchmarks print figures; they are not tests and make check does not run them.
bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(BUILD)/bench/status_bench $(abspath $(MIGCTL)) $(abspath $(SIM_LIB)) 50
	$(Q)$(BUILD)/bench/apply_bench $(abspath $(SIM_LIB)) $(or $(LATENCY_MS),200)
	$(Q)$(BUILD)/bench/churn_bench
	$(Q)$(BUILD)/bench/cdi_bench $(abspath $(MIGCTL)) $(abspath $(SIM_LIB)) 50
	$(Q)$(BUILD)/bench/lease_bench $(abspath $(MIGCTL)) $(abspath $(SIM_LIB)) $(or $(LATENCY_MS),200) 20 8 5
	$(Q)$(BUILD)/bench/serve_bench $(abspath $(MIGCTL)) $(abspath $(SIM_LIB)) 0 500 8 50
	$(Q)$(BUILD)/bench/serve_bench $(abspath $(MIGCTL)) $(abspath $(SIM_LIB)) $(or $(LATENCY_MS),200) 10 8 5

# make install [PREFIX=/usr/local] [DESTDIR=]: the programs, libmig (shared, its links, static),
# mig.h, mig.pc, the man pages, the simulator's library, and the boot unit (disabled; the
# defaults file it reads is installed only where none exists, so an admin's edits survive).
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/migctl $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)/etc/default
	install -m 0755 $(MIGCTL) $(DESTDIR)$(BINDIR)/migctl
	ln -sf migctl $(DESTDIR)$(BINDIR)/nvidia-mig-parted
	install -m 0755 $(MIGSIM) $(DESTDIR)$(BINDIR)/migsim
	install -m 0755 $(LIBMIG_SO) $(DESTDIR)$(LIBDIR)/$(notdir $(LIBMIG_SO))
	ln -sf $(notdir $(LIBMIG_SO)) $(DESTDIR)$(LIBDIR)/$(LIBMIG_SONAME)
	ln -sf $(LIBMIG_SONAME) $(DESTDIR)$(LIBDIR)/libmig.so
	install -m 0644 $(LIBMIG) $(DESTDIR)$(LIBDIR)/libmig.a
	install -m 0644 include/mig.h $(DESTDIR)$(INCLUDEDIR)/mig.h
	$(call mig_pc,$(PREFIX),$(LIBDIR),$(INCLUDEDIR)) >$(DESTDIR)$(PKGCONFIGDIR)/mig.pc
	install -m 0644 $(SIM_LIB) $(DESTDIR)$(LIBDIR)/migctl/libnvidia-ml.so.1
	install -m 0644 man/migctl.8 $(DESTDIR)$(MANDIR)/man8/migctl.8
	install -m 0644 man/migctl-config.5 $(DESTDIR)$(MANDIR)/man5/migctl-config.5
	install -m 0644 man/migctl.conf.5 $(DESTDIR)$(MANDIR)/man5/migctl.conf.5
	install -m 0644 man/migsim.1 $(DESTDIR)$(MANDIR)/man1/migsim.1
	install -m 0644 man/libmig.3 $(DESTDIR)$(MANDIR)/man3/libmig.3
	sed 's|/usr/local/bin/migctl|$(BINDIR)/migctl|' deploy/systemd/migctl.service \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/migctl.service
	sed 's|/usr/local/bin/migctl|$(BINDIR)/migctl|' deploy/systemd/migctl-serve.service \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/migctl-serve.service
	install -m 0644 deploy/systemd/migctl-serve.socket $(DESTDIR)$(SYSTEMDUNITDIR)/migctl-serve.socket
	[ -e $(DESTDIR)/etc/default/migctl ] || install -m 0644 deploy/systemd/migctl.default $(DESTDIR)/etc/default/migctl

install-systemd: install
	install -d $(DESTDIR)/etc/systemd/system $(DESTDIR)/etc/default
	sed 's|/usr/local/bin/migctl|$(PREFIX)/bin/migctl|' deploy/systemd/migctl.service \
		> $(DESTDIR)/etc/systemd/system/migctl.service
	sed 's|/usr/local/bin/migctl|$(PREFIX)/bin/migctl|' deploy/systemd/migctl-serve.service \
		> $(DESTDIR)/etc/systemd/system/migctl-serve.service
	install -m 0644 deploy/systemd/migctl-serve.socket $(DESTDIR)/etc/systemd/system/migctl-serve.socket
	[ -e $(DESTDIR)/etc/default/migctl ] || install -m 0644 deploy/systemd/migctl.default $(DESTDIR)/etc/default/migctl

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
