# The kernel: freestanding C and assembly, linked in the top 2 GiB, shipped
# as a flat multiboot image (a.out kludge) plus the ELF for debugging.
# -nostdinc keeps user-land headers out: only the compiler's freestanding
# headers, include/abi and the kernel's own directories are visible.

KERNEL_ARCH_DIR := kernel/arch/x86_64
KERNEL_C_SRCS   := $(sort $(wildcard kernel/*.c $(KERNEL_ARCH_DIR)/*.c)) $(RT_SCHED_SRCS)
KERNEL_S_SRCS   := $(sort $(wildcard $(KERNEL_ARCH_DIR)/*.S))
KERNEL_OBJS     := $(KERNEL_C_SRCS:%.c=$(BUILD)/%.o) $(KERNEL_S_SRCS:%.S=$(BUILD)/%.o)
KERNEL_ELF      := $(BUILD)/kernel/kernel.elf
KERNEL_BIN      := $(BUILD)/kernel/kernel.bin

KERNEL_CFLAGS := -std=gnu11 -ffreestanding -nostdinc -isystem $(shell $(CC) -print-file-name=include) \
	-mno-red-zone -mno-sse -mno-sse2 -mno-mmx -mno-avx -mcmodel=kernel -fno-pic -fno-pie \
	-fno-stack-protector -fno-asynchronous-unwind-tables \
	-O2 -flto -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-Iinclude -Ikernel -I$(KERNEL_ARCH_DIR) -Irt-sched -MMD -MP

$(BUILD)/kernel/%.o: kernel/%.c | deps-build
	@mkdir -p $(@D)
	$(Q)$(CC) $(KERNEL_CFLAGS) -c -o $@ $<

$(BUILD)/rt-sched/%.o: rt-sched/%.c | deps-build
	@mkdir -p $(@D)
	$(Q)$(CC) $(KERNEL_CFLAGS) -c -o $@ $<

$(BUILD)/kernel/%.o: kernel/%.S | deps-build
	@mkdir -p $(@D)
	$(Q)$(CC) $(KERNEL_CFLAGS) -c -o $@ $<

$(KERNEL_ELF): $(KERNEL_OBJS) $(KERNEL_ARCH_DIR)/linker.ld
	$(Q)$(CC) $(KERNEL_CFLAGS) -nostdlib -static -Wl,-n,-z,noexecstack,--no-warn-rwx-segments,--build-id=none -T $(KERNEL_ARCH_DIR)/linker.ld -o $@ $(KERNEL_OBJS)

$(KERNEL_BIN): $(KERNEL_ELF)
	$(Q)$(OBJCOPY) -O binary $< $@

-include $(KERNEL_OBJS:.o=.d)

.PHONY: kernel-lines
# The kernel stays small: count it.
kernel-lines:
	@tools/count-lines.sh
