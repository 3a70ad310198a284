# Fuzzing (included by the Makefile). See fuzz/README.md.
#   make check     replays every seed of fuzz/corpus/<target>/ (replay_<target> in the test list)
#   make fuzz      builds each target with clang -fsanitize=fuzzer,address,undefined into
#                  $(BUILD)/fuzz and runs it FUZZ_SECONDS (default 60) on a scratch copy of
#                  its corpus; fails if any target crashes, leaks or trips a sanitizer
#   make fuzz-merge   the same, then merges what it found that is new back into fuzz/corpus/
#   FUZZ_TARGETS=cli  only some targets; FUZZ_FLAGS=...  more libFuzzer flags

FUZZ_TARGETS ?= config profile_name cli sim_state settings serve
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_FLAGS ?=
FUZZ_BUILD := $(BUILD)/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# cli/ without the file holding main()
FUZZ_CLI_OBJ = $(filter-out $(BUILD)/cli/migctl.o,$(CLI_OBJ))

# ---- replaying the seeds as ordinary tests (project compiler and flags) ----------------
FUZZ_ALL := config profile_name cli sim_state settings serve
FUZZ_REPLAY_BIN := $(FUZZ_ALL:%=$(BUILD)/tests/fuzz/replay_%)
ALL_BINS += $(FUZZ_REPLAY_BIN)

$(BUILD)/tests/fuzz/fuzz_%.o: fuzz/fuzz_%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/fuzz/replay_%.o: fuzz/replay.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< ($*)")
	$(Q)$(CC) $(ALL_CFLAGS) -DREPLAY_CORPUS='"$(CURDIR)/fuzz/corpus/$*"' -c -o $@ $<

$(BUILD)/tests/fuzz/replay_cli: $(BUILD)/tests/fuzz/replay_cli.o $(BUILD)/tests/fuzz/fuzz_cli.o $(FUZZ_CLI_OBJ) \
		$(LIBMIG) $(BUILD)/libmigsim-core.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEPS_LIBS) $(CLI_LIBS)

# the service's request parser is cli/serve_request.c
$(BUILD)/tests/fuzz/replay_serve: $(BUILD)/tests/fuzz/replay_serve.o $(BUILD)/tests/fuzz/fuzz_serve.o \
		$(BUILD)/cli/serve_request.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEPS_LIBS) -lm

$(BUILD)/tests/fuzz/replay_%: $(BUILD)/tests/fuzz/replay_%.o $(BUILD)/tests/fuzz/fuzz_%.o $(LIBMIG) \
		$(BUILD)/libmigsim-core.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEPS_LIBS)

# ---- libFuzzer ----------------------------------------------------------------------------
# libmig, the simulator's core and cli/ rebuilt by clang with coverage and sanitizers in
# $(FUZZ_BUILD); the simulator library that fuzz_cli loads is the ordinary one ($(SIM_LIB)).
FUZZ_SUB_CLI_OBJ = $(FUZZ_CLI_OBJ:$(BUILD)/%=$(FUZZ_BUILD)/%)
FUZZ_BIN := $(FUZZ_ALL:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_SUBMAKE = $(MAKE) --no-print-directory $(if $(Q),-s) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) SAN=1 \
	CFLAGS="-O1 -g -fsanitize=fuzzer-no-link"

.PHONY: fuzz fuzz-build fuzz-merge fuzz-libs

fuzz-libs:
	+$(Q)$(FUZZ_SUBMAKE) $(FUZZ_BUILD)/libmig.a $(FUZZ_BUILD)/libmigsim-core.a $(FUZZ_SUB_CLI_OBJ)

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fake_node.h fuzz-libs
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(FUZZ_CC) $(filter-out -MMD -MP,$(BASE_CFLAGS)) $(DEPS_CFLAGS) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< \
		$(if $(filter cli,$*),$(FUZZ_SUB_CLI_OBJ)) $(if $(filter serve,$*),$(FUZZ_BUILD)/cli/serve_request.o) \
		$(FUZZ_BUILD)/libmig.a $(FUZZ_BUILD)/libmigsim-core.a $(DEPS_LIBS) $(if $(filter cli,$*),$(CLI_LIBS)) -lm

fuzz-build: $(FUZZ_BIN)

# Each target for FUZZ_SECONDS on a scratch copy of its corpus; new inputs go to
# $(FUZZ_BUILD)/work/<target>, crashes to $(FUZZ_BUILD)/crash-<target>-*.
fuzz: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
	$(Q)failed=""; for t in $(FUZZ_TARGETS); do \
		work=$(FUZZ_BUILD)/work/$$t; rm -rf $$work; mkdir -p $$work; cp fuzz/corpus/$$t/* $$work/; \
		echo "== fuzz_$$t: $(FUZZ_SECONDS) s, $$(ls $$work | wc -l) seeds"; \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		MIGSIM_LIB=$(abspath $(SIM_LIB)) \
		$(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -detect_leaks=1 -timeout=20 -rss_limit_mb=2048 \
			-max_len=$$([ $$t = profile_name ] && echo 128 || echo 8192) -print_final_stats=1 \
			$$([ $$t = cli ] && echo -close_fd_mask=3) \
			-artifact_prefix=$(FUZZ_BUILD)/crash-$$t- $(FUZZ_FLAGS) $$work \
			>$(FUZZ_BUILD)/fuzz_$$t.log 2>&1 || failed="$$failed $$t"; \
		grep -E '^#[0-9]+.*DONE|^stat::|^Done' $(FUZZ_BUILD)/fuzz_$$t.log | sed 's/^/    /'; \
		echo "    corpus: $$(ls $$work | wc -l) inputs, $$(du -sk --apparent-size $$work | cut -f1) KiB; log $(FUZZ_BUILD)/fuzz_$$t.log"; \
	done; \
	if [ -n "$$failed" ]; then \
		echo "fuzz: FAILED:$$failed (see $(FUZZ_BUILD)/fuzz_<target>.log and $(FUZZ_BUILD)/crash-*)"; exit 1; \
	fi; echo "fuzz: no crash, leak or sanitizer report in $(FUZZ_TARGETS)"

fuzz-merge: fuzz
	$(Q)for t in $(FUZZ_TARGETS); do \
		MIGSIM_LIB=$(abspath $(SIM_LIB)) $(FUZZ_BUILD)/fuzz_$$t -merge=1 $$([ $$t = cli ] && echo -close_fd_mask=3) \
			fuzz/corpus/$$t $(FUZZ_BUILD)/work/$$t >$(FUZZ_BUILD)/merge_$$t.log 2>&1 \
			|| { echo "merging $$t failed: $(FUZZ_BUILD)/merge_$$t.log"; exit 1; }; \
		echo "fuzz/corpus/$$t: $$(ls fuzz/corpus/$$t | wc -l) inputs"; \
	done
