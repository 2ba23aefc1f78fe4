# dsi/ -- the DROPS Streaming Interface library (see dsi/README.md).
#
# One set of sources, two builds: dsi/dsi.c freestanding for the target
# ($(BUILD)/dsi/libdsi.a, user-land flags, part of `make`), and hosted with
# dsi/dsi_host.c for the host tests and the host benchmark.
#
#   make dsi-bench-host   build $(BUILD)/host/dsi_bench (DSI ring vs pipe on the
#                         host); run it to print its BENCH lines

DSI_LIB := $(BUILD)/dsi/libdsi.a

$(BUILD)/dsi/%.o: dsi/%.c | deps-build
	@mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -c -o $@ $<
# The target archive: the core and the environment on kernel IPC
# (dsi_env_drops.c, which needs lib/'s headers and now_ns from libdrops).
$(DSI_LIB): $(BUILD)/dsi/dsi.o $(BUILD)/dsi/dsi_env_drops.o
	@rm -f $@
	$(Q)ar rcs $@ $^
-include $(BUILD)/dsi/dsi.d $(BUILD)/dsi/dsi_env_drops.d

# Programs that use DSI: the system tests tests/system/dsi_*.c and the
# benchmark bench/dsi/ see dsi/'s headers and link libdsi.a before libdrops.
DSI_PROGRAMS := $(patsubst tests/system/%.c,test_%,$(wildcard tests/system/dsi_*.c)) \
	$(if $(wildcard bench/dsi/main.c),bench_dsi)
$(foreach p,$(DSI_PROGRAMS),$(eval USER_LIBS_$(p) := $(DSI_LIB)))
$(DSI_PROGRAMS:%=$(BUILD)/user/%.elf): $(DSI_LIB)
$(BUILD)/user-obj/tests/system/dsi_%.o $(BUILD)/user-obj/bench/dsi/%.o: USER_CFLAGS += -Idsi

all: $(DSI_LIB)

# Host tests (tests/host/test_dsi*.c).
DSI_HOST_SRCS := dsi/dsi.c dsi/dsi_host.c
HOST_TEST_SRCS_dsi         := $(DSI_HOST_SRCS)
HOST_TEST_SRCS_dsi_threads := $(DSI_HOST_SRCS)
HOST_TEST_SRCS_dsi_proc    := $(DSI_HOST_SRCS)
HOST_TEST_SRCS_dsi_fuzz    := $(DSI_HOST_SRCS)
HOST_TEST_LIBS_dsi_threads := -lpthread
HOST_TEST_LIBS_dsi_fuzz    := -lpthread

# Host benchmark: optimised, no sanitizers.
DSI_BENCH_HOST := $(BUILD)/host/dsi_bench
.PHONY: dsi-bench-host
dsi-bench-host: $(DSI_BENCH_HOST)
$(DSI_BENCH_HOST): dsi/bench_host.c $(DSI_HOST_SRCS) dsi/dsi.h dsi/dsi_host.h | deps-build
	@mkdir -p $(@D)
	$(HOSTCC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -Idsi -Iinclude -o $@ \
		dsi/bench_host.c $(DSI_HOST_SRCS) -lpthread
