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

ifeq ($(V),1)
Q :=
else
Q := @
endif

ALL_CFLAGS = $(BASE_CFLAGS) $(DEPS_CFLAGS) $(CFLAGS)

# ---- the simulator ---------------------------------------------------------------
SIM_CORE_SRC := sim/models.c sim/models_data.c sim/engine.c sim/state.c sim/store.c
SIM_CORE_OBJ := $(SIM_CORE_SRC:%.c=$(BUILD)/%.o)
SIM_LIB := $(BUILD)/sim/libnvidia-ml.so.1
MIGSIM := $(BUILD)/migsim

# ---- libmig ---------------------------------------------------------------------
LIB_SRC := $(wildcard lib/*/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBMIG := $(BUILD)/libmig.a

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

ALL_BINS := $(LIBMIG) $(MIGCTL) $(PARTED_LINK) $(SIM_LIB) $(MIGSIM) $(UNIT_BIN) $(SIMTEST_BIN) $(HELPER_BIN) $(ABI_CLIENT) \
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

$(SIM_LIB): $(BUILD)/sim/nvml.o $(BUILD)/libmigsim-core.a sim/libnvidia-ml.map
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libnvidia-ml.so.1 -Wl,--version-script=sim/libnvidia-ml.map -Wl,-z,defs \
		$(LDFLAGS) -o $@ $(BUILD)/sim/nvml.o $(BUILD)/libmigsim-core.a $(DEPS_LIBS) -lpthread
	$(Q)ln -sf libnvidia-ml.so.1 $(BUILD)/sim/libnvidia-ml.so

$(MIGCTL): $(CLI_OBJ) $(LIBMIG)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEPS_LIBS)

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
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEPS_LIBS)

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

asan: deps
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SAN=1 test-only

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

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/migctl $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(MIGCTL) $(DESTDIR)$(PREFIX)/bin/migctl
	ln -sf migctl $(DESTDIR)$(PREFIX)/bin/nvidia-mig-parted
	install -m 0755 $(MIGSIM) $(DESTDIR)$(PREFIX)/bin/migsim
	install -m 0644 $(SIM_LIB) $(DESTDIR)$(PREFIX)/lib/migctl/libnvidia-ml.so.1
	install -d $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 0644 man/migctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/migctl.8
	install -m 0644 man/migctl-config.5 $(DESTDIR)$(PREFIX)/share/man/man5/migctl-config.5
	install -m 0644 man/migsim.1 $(DESTDIR)$(PREFIX)/share/man/man1/migsim.1

install-systemd: install
	install -d $(DESTDIR)/etc/systemd/system $(DESTDIR)/etc/default
	sed 's|/usr/local/bin/migctl|$(PREFIX)/bin/migctl|' deploy/systemd/migctl.service \
		> $(DESTDIR)/etc/systemd/system/migctl.service
	[ -e $(DESTDIR)/etc/default/migctl ] || install -m 0644 deploy/systemd/migctl.default $(DESTDIR)/etc/default/migctl

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
