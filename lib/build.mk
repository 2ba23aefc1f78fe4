# The user-level runtime (lib/) and the native programs built with it.
#
# Programs: tests/system/<name>.c -> $(BUILD)/user/test_<name>.elf,
#           apps/<name>/*.c       -> $(BUILD)/user/<name>.elf,
#           bench/<name>/*.c      -> $(BUILD)/user/bench_<name>.elf.
# Each is a static ELF at 0x400000, started by the kernel (root) or a loader.

GCC_INCLUDE := $(shell $(CC) -print-file-name=include)
USER_CFLAGS := -std=gnu11 -ffreestanding -nostdinc -isystem $(GCC_INCLUDE) \
	-fno-pie -fno-pic -fno-stack-protector -fno-asynchronous-unwind-tables \
	-O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-Iinclude -Ilib/include -MMD -MP
USER_LDFLAGS := -nostdlib -static -no-pie -Wl,-z,noexecstack -Wl,--build-id=none

LIB_C_SRCS := $(sort $(wildcard lib/*.c))
LIB_OBJS   := $(LIB_C_SRCS:%.c=$(BUILD)/%.o)
LIB_CRT0   := $(BUILD)/lib/crt0.o
LIB_ARCHIVE := $(BUILD)/lib/libdrops.a

$(BUILD)/lib/%.o: lib/%.c | deps-build
	@mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -c -o $@ $<
$(BUILD)/lib/%.o: lib/%.S | deps-build
	@mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -c -o $@ $<
$(LIB_ARCHIVE): $(LIB_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

# Objects of programs outside lib/ (tests, apps, bench).
$(BUILD)/user-obj/%.o: %.c | deps-build
	@mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -c -o $@ $<

# user_program NAME, SOURCES (USER_LIBS_<NAME>: archives linked before
# libdrops, e.g. libdsi.a; set with a prerequisite in their build.mk)
define user_program
USER_PROGRAMS += $(BUILD)/user/$(1).elf
$(BUILD)/user/$(1).elf: $(2:%.c=$(BUILD)/user-obj/%.o) $(LIB_CRT0) $(LIB_ARCHIVE)
	@mkdir -p $$(@D)
	$$(Q)$(CC) $(USER_LDFLAGS) -o $$@ $(LIB_CRT0) $(2:%.c=$(BUILD)/user-obj/%.o) $$(USER_LIBS_$(1)) $(LIB_ARCHIVE) -lgcc
-include $(2:%.c=$(BUILD)/user-obj/%.d)
endef

USER_PROGRAMS :=
$(foreach t,$(sort $(wildcard tests/system/*.c)),\
  $(eval $(call user_program,test_$(basename $(notdir $(t))),$(t))))
$(foreach a,$(sort $(filter-out $(patsubst %build.mk,%main.c,$(wildcard apps/*/build.mk)),$(wildcard apps/*/main.c))),\
  $(eval $(call user_program,$(notdir $(patsubst %/,%,$(dir $(a)))),$(sort $(wildcard $(dir $(a))*.c)))))
$(foreach b,$(sort $(wildcard bench/*/main.c)),\
  $(eval $(call user_program,bench_$(notdir $(patsubst %/,%,$(dir $(b)))),$(sort $(wildcard $(dir $(b))*.c)))))

-include $(LIB_OBJS:.o=.d)
