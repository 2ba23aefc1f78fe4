# DROPS-style real-time OS distribution: top-level build.
#
#   make            build kernel and boot modules
#   make run        boot the default scenario in QEMU (SCENARIO=<name> for another)
#   make test       host unit tests and system tests, through prove
#   make bench      every benchmark; make bench-<name> for one
#   make iso        GRUB rescue image booting the default scenario
#   make check      every scenario parses and names only built programs
#
# Missing Debian packages are installed by tools/deps.sh (as root), or named.

BUILD      ?= build
SCENARIO   ?= default
CC         := gcc
LD         := ld
OBJCOPY    := objcopy
HOSTCC     := gcc

.DEFAULT_GOAL := all
# Quiet by default: each compile shows as "  CC file"; V=1 shows commands.
ifeq ($(V),1)
Q :=
else
Q = @printf '  %-4s %s\n' $(if $(filter %.elf %.bin,$@),LD,CC) $@;
endif
.PHONY: all run test test-host test-system bench iso clean deps-build deps-run deps-test

DEPS = tools/deps.sh

deps-build:
	@$(DEPS) build
deps-run:
	@$(DEPS) build run
deps-test:
	@$(DEPS) build run test

# Freestanding cores that also build on the host (each may add host tests);
# rt-sched comes first: the kernel links it.
include rt-sched/build.mk
include kernel/build.mk
include lib/build.mk
include components/build.mk
include tools/build.mk
-include dsi/build.mk
-include admission/build.mk
-include admission/target.mk
include tests/build.mk
include bench/build.mk

all: deps-build $(KERNEL_BIN) $(USER_PROGRAMS) $(SCENARIO_CHECK)

QEMU_MACHINE := -M q35 -cpu max -m 512M -accel tcg -icount shift=3,sleep=off \
	-display none -serial stdio -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=4

run: deps-run all
	@tools/boot.sh $(BUILD) $(SCENARIO)

iso: deps-run all
	@tools/mkiso.sh $(BUILD) $(SCENARIO)

clean:
	rm -rf $(BUILD)
