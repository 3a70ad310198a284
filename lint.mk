# Static analysis (included by the Makefile). make lint fails on any report of either tool:
#   cppcheck      over the C sources of LINT_DIRS (whole-program: not run with -j, which would
#                 turn its cross-file checks off); suppressions inline ("// cppcheck-suppress
#                 id" with why) or in lint/cppcheck.supp (with why)
#   scan-build    the clang static analyzer over a clean build of everything (make all) in
#                 $(BUILD)/scan; the HTML reports of a failing run stay in $(BUILD)/scan-report
#   make lint-cppcheck, make lint-scan-build   one of them (without make deps)

LINT_DIRS := lib cli sim bench fuzz tests
LINT_BUILD := $(BUILD)/scan
LINT_REPORT := $(BUILD)/scan-report
CPPCHECK_FLAGS := --quiet --std=c11 --enable=warning,style,performance,portability --inline-suppr \
	--suppressions-list=lint/cppcheck.supp --suppress=missingIncludeSystem --error-exitcode=1 \
	-I include -I nvml -I lib --template='{file}:{line}: {severity}: {message} [{id}]'

.PHONY: lint-cppcheck lint-scan-build

lint: deps
	$(Q)$(MAKE) --no-print-directory lint-cppcheck
	+$(Q)$(MAKE) --no-print-directory lint-scan-build
	@echo "lint: cppcheck and scan-build found nothing"

lint-cppcheck:
	@echo "  CPPCHECK $(LINT_DIRS)"
	$(Q)cppcheck $(CPPCHECK_FLAGS) $(LINT_DIRS)

# Every file analysed: the build dir starts empty. The command is a plain "make", which
# scan-build recognises and gives CC=<its compiler wrapper> last on the command line (over any
# CC given to this make); --use-cc makes that wrapper compile with clang.
lint-scan-build:
	@echo "  SCAN-BUILD $(LINT_BUILD)"
	$(Q)rm -rf $(LINT_BUILD) $(LINT_REPORT)
	+$(Q)scan-build --status-bugs --use-cc=clang -o $(LINT_REPORT) \
		make --no-print-directory BUILD=$(LINT_BUILD) all
