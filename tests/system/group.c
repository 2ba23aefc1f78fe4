/*
 * System test: the best-effort group cap. Two CPU hogs at priority 120 share
 * group 1, capped at 2 ms per 10 ms; a "slack" thread at priority 110, below
 * them, must get the rest of the CPU. Without the cap the hogs starve it.
 */
#include "drops/ipc.h"
#include "drops/spawn.h"
#include "drops/tap.h"

#define MS 1000000ul

static uint8_t stacks[3][16384] __attribute__((aligned(16)));
static volatile uint64_t count[3];
static volatile int run_hogs;

static void counter(uint64_t i)
{
    for (;;) {
        if (i != 2 && !run_hogs) {
            sleep_ns(MS); /* hogs wait off the CPU until they are wanted */
            continue;
        }
        count[i]++;
    }
}

static uint64_t window(uint64_t ms, uint64_t out[3])
{
    uint64_t before[3] = {count[0], count[1], count[2]};
    sleep_ns(ms * MS);
    for (int i = 0; i < 3; i++) out[i] = count[i] - before[i];
    return ms;
}

int main(void)
{
    sys_thread_sched(ABI_CAP_SELF_THREAD, 200, 255);
    struct child self = {.task = ABI_CAP_SELF_TASK};
    child_thread(&self, counter, 2, (uint64_t)(stacks[2] + 16384), 110);
    abi_cap_t hogs[2];
    for (int i = 0; i < 2; i++) {
        child_thread(&self, counter, (uint64_t)i, (uint64_t)(stacks[i] + 16384), 120);
        hogs[i] = self.thread;
    }
    uint64_t c[3];

    /* The slack thread alone: its rate per millisecond is the yardstick. */
    window(10, c);
    uint64_t per_ms = c[2] / 10;
    ok(per_ms > 0, "the slack thread alone counts %lu per ms", per_ms);

    /* Uncapped hogs at 120 starve the slack thread at 110. */
    run_hogs = 1;
    sleep_ns(2 * MS); /* the hogs wake from their waiting sleeps */
    window(50, c);
    ok(c[2] == 0 && c[0] + c[1] > 0, "uncapped hogs take all the CPU (slack got %lu)", c[2]);
    /* Their loop is not the slack thread's: they get their own yardstick. */
    uint64_t hog_per_ms = (c[0] + c[1]) / 50;

    is(sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_GROUP_CONFIGURE, 0, 2 * MS, 10 * MS).err, ABI_E_INVALID_ARG,
       "group 0 cannot be capped");
    is(sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_GROUP_CONFIGURE, 1, 20 * MS, 10 * MS).err, ABI_E_INVALID_ARG,
       "a budget above the period is refused");
    is(sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_GROUP_CONFIGURE, 1, 2 * MS, 10 * MS).err, 0,
       "cap group 1 at 2 ms per 10 ms");
    for (int i = 0; i < 2; i++) sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_GROUP_JOIN, hogs[i], 1, 0);
    is(sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_GROUP_JOIN, hogs[0], ABI_RT_GROUPS, 0).err, ABI_E_INVALID_ARG,
       "joining a group that does not exist is refused");

    window(20, c); /* settle into the windows */
    window(200, c);
    uint64_t hog_ms = (c[0] + c[1]) / hog_per_ms, slack_ms = c[2] / per_ms;
    printf("# 200 ms with the cap: hogs %lu ms (%lu + %lu), slack %lu ms\n", hog_ms, c[0] / hog_per_ms,
           c[1] / hog_per_ms, slack_ms);
    ok(hog_ms <= 2 * 20 + 2 + 2, "the hogs together got at most their 2 ms per 10 ms (%lu of 200 ms)", hog_ms);
    ok(hog_ms >= 2 * 20 - 6, "... and did get their budget (%lu ms)", hog_ms);
    ok(c[0] > 0 && c[1] > 0, "both hogs ran");
    ok(slack_ms >= 140, "the slack thread below them got the rest (%lu ms)", slack_ms);

    /* Leaving the group lifts the cap for that thread. */
    sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_GROUP_JOIN, hogs[0], 0, 0);
    sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_GROUP_JOIN, hogs[1], 0, 0);
    window(20, c);
    ok(c[2] == 0, "after leaving the group the hogs starve the slack thread again");
    /* The cap can be removed too. */
    sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_GROUP_JOIN, hogs[0], 1, 0);
    is(sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_GROUP_CONFIGURE, 1, 0, 0).err, 0, "remove the cap of group 1");
    window(20, c);
    ok(c[2] == 0, "an uncapped group does not hold its threads back");
    run_hogs = 0;
    tap_done();
}
