# tests/system/musl/build.mk -- the musl-linked program of the musl_hello
# system test: a static x86-64 ELF built with Debian's musl-gcc wrapper
# (musl-tools, over musl-dev's libc.a), loaded by the test's root task.
# Included by the top Makefile before `all`, so USER_PROGRAMS sees it.

MUSL_CC := musl-gcc

# The musl packages are the `user` group of tools/deps.sh.
.PHONY: deps-musl-hello
deps-musl-hello: deps-build
	@$(DEPS) user

USER_PROGRAMS += $(BUILD)/user/musl_hello.elf
$(BUILD)/user/musl_hello.elf: tests/system/musl/hello.c tests/system/musl/build.mk | deps-musl-hello
	@mkdir -p $(@D)
	$(Q)$(MUSL_CC) -static -O2 -Wall -Wextra -Werror -o $@ $<
