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

# The archive for components (musl programs): the core, the kernel-IPC
# environment and the control protocol (dsi_ctl.c, both ends), compiled with
# musl-gcc. Components link it with
#   MUSL_LIBS_<name> := $(BUILD)/dsi-musl/libdsi.a
#   $(BUILD)/user/<name>.elf: $(BUILD)/dsi-musl/libdsi.a
# and see dsi/'s headers through DSI_MUSL_DIRS below.
DSI_MUSL_LIB := $(BUILD)/dsi-musl/libdsi.a
DSI_MUSL_OBJS := $(MUSL_OBJ)/dsi/dsi.o $(MUSL_OBJ)/dsi/dsi_env_drops.o $(MUSL_OBJ)/dsi/dsi_ctl.o
$(DSI_MUSL_LIB): $(DSI_MUSL_OBJS)
	@mkdir -p $(@D)
	@rm -f $@
	$(Q)ar rcs $@ $^
-include $(DSI_MUSL_OBJS:.o=.d)
DSI_MUSL_DIRS := dsi components/dsi-source components/dsi-filter components/dsi-sink apps/dsi-chain
$(MUSL_OBJ)/dsi/%.o $(foreach d,$(DSI_MUSL_DIRS),$(MUSL_OBJ)/$(d)/%.o): MUSL_CFLAGS += -Idsi
all: $(DSI_MUSL_LIB)
# The controller of tests/system/dsi_components (a test component).
MUSL_LIBS_tc_dsi_control := $(DSI_MUSL_LIB)
$(BUILD)/user/tc_dsi_control.elf: $(DSI_MUSL_LIB)
$(MUSL_OBJ)/tests/system/components/dsi_%.o: MUSL_CFLAGS += -Idsi
