# tests/build.mk -- host unit tests and system tests, all run through prove
# (brief section 12: every test speaks TAP). Included by the top Makefile,
# which defines BUILD, HOSTCC and the targets all, deps-build, deps-test.
#
#   make test          host and system tests in one prove run
#   make test-host     host unit tests only
#   make test-system   system tests only (builds the system first)
#   PROVE_FLAGS=-v     prove's options (e.g. -v to see every TAP line)
#   PROVE_JOBS=2       tests run in parallel (each system test boots a QEMU)
#
# Host test: tests/host/test_<name>.c (TAP through tests/host/tap.h), built
# with ASan and UBSan into $(BUILD)/host/test_<name>.t and linked with the
# sources listed in HOST_TEST_SRCS_<name> (defined below; the list is read
# when the test is built, so it may also be set in a fragment included later).
# System test: an executable tests/system/<name>.t, typically
#   #!/bin/sh
#   exec tools/qemu-tap.sh <scenario> [timeout_seconds]
# run from the top directory with BUILD in its environment.

HOST_TEST_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror \
	-fsanitize=address,undefined \
	-Iinclude -Ikernel -Irt-sched -Idsi -Iadmission -Ilib/include
HOST_OBJ := $(BUILD)/host/obj

# Sources each host test links against (HOST_TEST_LIBS_<name>: extra
# libraries, e.g. -lgsl; both may also be set in a directory's build.mk).
HOST_TEST_SRCS_kmem      := kernel/kmem.c
HOST_TEST_SRCS_cap_table := kernel/cap_table.c
HOST_TEST_SRCS_mapdb     := kernel/mapdb.c
HOST_TEST_SRCS_scenario  := lib/scenario.c
HOST_TEST_SRCS_elf_check := components/root/elf_check.c

HOST_TEST_NAMES := $(patsubst tests/host/test_%.c,%,$(sort $(wildcard tests/host/test_*.c)))
HOST_TESTS      := $(HOST_TEST_NAMES:%=$(BUILD)/host/test_%.t)
SYSTEM_TESTS    := $(sort $(wildcard tests/system/*.t))
# Checks on the source tree itself (layering rules), TAP scripts.
CHECK_TESTS     := $(sort $(wildcard tests/checks/*.t))

PROVE_FLAGS ?=
PROVE_JOBS  ?= 2
# --exec '': every .t is an executable (ELF or script with #!), not Perl.
PROVE = BUILD='$(BUILD)' prove --exec '' -j$(PROVE_JOBS) $(PROVE_FLAGS)

# tests_prove NOTE,FILES: prove FILES, or print NOTE when there are none.
tests_prove = $(if $(strip $(2)),$(PROVE) $(strip $(2)),@echo "test: $(1)")

# One object per source file, shared by every test that links it.
$(HOST_OBJ)/%.o: %.c | deps-build
	@mkdir -p $(@D)
	$(HOSTCC) $(HOST_TEST_CFLAGS) -MMD -MP -c -o $@ $<

# Secondary expansion: HOST_TEST_SRCS_<name> is looked up when the test is
# built, after every makefile has been read.
.SECONDEXPANSION:
$(HOST_TESTS): $(BUILD)/host/test_%.t: $(HOST_OBJ)/tests/host/test_%.o \
		$$(addprefix $(HOST_OBJ)/,$$(HOST_TEST_SRCS_$$*:.c=.o))
	$(HOSTCC) $(HOST_TEST_CFLAGS) -o $@ $^ $(HOST_TEST_LIBS_$*)

-include $(shell find '$(HOST_OBJ)' -name '*.d' 2>/dev/null)

.PHONY: test test-host test-system

# tests/checks/scenarios.t runs the scenario checker.
test-host: deps-build $(HOST_TESTS) $(SCENARIO_CHECK)
	$(call tests_prove,no host unit tests (tests/host/test_*.c),$(HOST_TESTS) $(CHECK_TESTS))

test-system: all
	$(call tests_prove,no system tests (tests/system/*.t),$(SYSTEM_TESTS))

test: deps-test all $(HOST_TESTS)
	$(call tests_prove,no tests (tests/host/test_*.c tests/system/*.t),$(HOST_TESTS) $(CHECK_TESTS) $(SYSTEM_TESTS))
