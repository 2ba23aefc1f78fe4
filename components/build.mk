# components/build.mk -- how components and apps are built. Included by the
# top Makefile after lib/build.mk.
#
# Each directory components/<name>/, apps/<name>/ and bench/<name>/ that has a build.mk
# says in it what it is, with one of:
#   $(eval $(call user_program,<name>,<sources>))   freestanding native
#       program on lib/ (the root task; programs started as raw modules)
#   $(eval $(call musl_program,<name>,<sources>))   a component: static
#       x86-64 ELF linked with Debian's musl libc.a (musl-gcc) and started
#       by components/root; it talks to the root through drops/services.h
# Both give $(BUILD)/user/<name>.elf. Directories without build.mk in apps/
# are native programs built from their *.c (lib/build.mk).

MUSL_CC ?= musl-gcc
MUSL_CFLAGS := -std=gnu11 -static -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-Iinclude -Ilib/include -MMD -MP
MUSL_OBJ := $(BUILD)/musl-obj

# The musl packages are the `user` group of tools/deps.sh.
.PHONY: deps-user
deps-user: deps-build
	@$(DEPS) user

$(MUSL_OBJ)/%.o: %.c | deps-user
	@mkdir -p $(@D)
	$(Q)$(MUSL_CC) $(MUSL_CFLAGS) -c -o $@ $<

# The parts of lib/ a component links besides libc: the clock behind
# now_ns() and the kernel's error names (the rest of lib/ is headers).
LIB_MUSL_SRCS := lib/clock.c lib/errors.c
LIB_MUSL := $(BUILD)/lib-musl/libdrops.a
$(LIB_MUSL): $(LIB_MUSL_SRCS:%.c=$(MUSL_OBJ)/%.o)
	@mkdir -p $(@D)
	@rm -f $@
	$(Q)ar rcs $@ $^

# musl_program NAME, SOURCES
define musl_program
USER_PROGRAMS += $(BUILD)/user/$(1).elf
$(BUILD)/user/$(1).elf: $(2:%.c=$(MUSL_OBJ)/%.o) $(LIB_MUSL)
	@mkdir -p $$(@D)
	$$(Q)$(MUSL_CC) $(MUSL_CFLAGS) -o $$@ $(2:%.c=$(MUSL_OBJ)/%.o) $$(MUSL_LIBS_$(1)) $(LIB_MUSL)
-include $(2:%.c=$(MUSL_OBJ)/%.d)
endef

include $(sort $(wildcard components/*/build.mk apps/*/build.mk bench/*/build.mk)) tests/system/components/build.mk
