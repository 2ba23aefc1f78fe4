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
$(DSI_LIB): $(BUILD)/dsi/dsi.o
	@rm -f $@
	$(Q)ar rcs $@ $^
-include $(BUILD)/dsi/dsi.d

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
