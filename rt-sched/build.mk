# rt-sched: the reservation scheduler core. Freestanding: the kernel links
# RT_SCHED_SRCS (through rt_sched.h only); the host tests link them too,
# with the one-CPU simulator rt_sim.c.

RT_SCHED_SRCS := rt-sched/rt_sched.c rt-sched/rt_group.c
RT_SIM_SRCS   := $(RT_SCHED_SRCS) rt-sched/rt_sim.c

HOST_TEST_SRCS_rtsched        := $(RT_SCHED_SRCS)
HOST_TEST_SRCS_rtsched_sim    := $(RT_SIM_SRCS)
HOST_TEST_SRCS_rtsched_random := $(RT_SIM_SRCS)

# The core must build with the kernel's flags (freestanding, no SSE, no
# libc): compiled here on its own so a slip shows before integration.
RT_SCHED_KOBJS := $(RT_SCHED_SRCS:%.c=$(BUILD)/rt-sched-kcheck/%.o)

$(BUILD)/rt-sched-kcheck/%.o: %.c | deps-build
	@mkdir -p $(@D)
	$(Q)$(CC) $(KERNEL_CFLAGS) -c -o $@ $<

.PHONY: rt-sched-kcheck
rt-sched-kcheck: $(RT_SCHED_KOBJS)

-include $(RT_SCHED_KOBJS:.o=.d)
