/*
 * System test: reservation-based scheduling in the kernel.
 *
 * A periodic thread (period 10 ms; mandatory slice 2 ms at priority 200,
 * optional slice 3 ms at 150, best effort at 20 afterwards) runs a fixed
 * sequence of jobs against a CPU hog at priority 100:
 *   job 0: 1 ms of work           -> on time, no notification
 *   job 1: 4 ms                   -> overrun of slice 0 at release + 2 ms
 *   job 2: 11.5 ms                -> overruns of slices 0 and 1, deadline miss
 *                                    at release + 10 ms (a new period is forced)
 *   job 3: the rest of job 2's work, then next_period
 *   job 4: 0.5 ms, next_reservation(0) -> about 1.5 ms left; then next_period
 *   job 5: 1 ms
 * A preempter thread collects the notifications; the job trace is read back.
 * Also: parameter validation and the priority limit.
 */
#include "drops/ipc.h"
#include "drops/spawn.h"
#include "drops/tap.h"

#define MS 1000000ull
#define PERIOD (10 * MS)
#define NOTES_MAX 16

static uint8_t stacks[4][16384] __attribute__((aligned(16)));
static volatile uint64_t start_ns, hog_count, left_ns, rt_done, preempter_stop;
static volatile int reservation_err = -1;
static struct abi_rt_notification notes[NOTES_MAX];
static volatile unsigned nnotes;
static volatile uint64_t note_label;

static void spin_until(uint64_t t)
{
    while (now_ns() < t) {
    }
}

static void spin(uint64_t ns) { spin_until(now_ns() + ns); }

static void rt_body(uint64_t arg)
{
    /* Started before its first release at best-effort priority 20, below
     * the hog: it first runs at the release of job 0, in slice 0. */
    spin(1 * MS); /* job 0 */
    sys_rt_next_period();
    spin(4 * MS); /* job 1 */
    sys_rt_next_period();
    spin_until(start_ns + 2 * PERIOD + 11 * MS + MS / 2); /* job 2 runs into job 3 */
    sys_rt_next_period();
    spin(MS / 2); /* job 4 */
    struct sys_ret r = sys_rt_next_reservation(0);
    reservation_err = (int)r.err;
    left_ns = r.v0;
    spin(MS / 2);
    sys_rt_next_period();
    spin(1 * MS); /* job 5: ended by the root disabling the reservation */
    rt_done = 1;
    thread_exit();
}

static void hog(uint64_t arg)
{
    for (;;) hog_count++;
}

static void preempter(uint64_t arg)
{
    while (!preempter_stop) {
        struct sys_ret r = ipc_wait(5 * MS);
        if (r.err || ABI_TAG_PROTO(r.v0) != ABI_PROTO_RT_NOTIFY) continue;
        struct abi_utcb *u = utcb();
        if (nnotes < NOTES_MAX) {
            notes[nnotes].time_ns = u->mr[0];
            notes[nnotes].slice = (uint32_t)u->mr[1];
            notes[nnotes].type = (uint32_t)(u->mr[1] >> 32);
            notes[nnotes].lost = (uint32_t)u->mr[2];
            nnotes++;
        }
        note_label = r.v1;
    }
    thread_exit();
}

static struct abi_rt_params params(uint64_t start)
{
    struct abi_rt_params p = {0};
    p.period_ns = PERIOD;
    p.start_ns = start;
    p.mode = ABI_RT_STRICT_PERIODIC;
    p.nslices = 2;
    p.be_prio = 20;
    p.slice[0].budget_ns = 2 * MS;
    p.slice[0].prio = 200;
    p.slice[1].budget_ns = 3 * MS;
    p.slice[1].prio = 150;
    return p;
}

static int near(uint64_t got, uint64_t want) { return got + 20000 >= want && got <= want + 20000; }

/* Budgets are CPU time: the root's polling (every 250 us at a higher
 * priority) takes a little of it, so a budget runs out a little after
 * release + budget, never before. */
static int after(uint64_t got, uint64_t want) { return got >= want && got <= want + 150000; }

int main(void)
{
    struct child self = {.task = ABI_CAP_SELF_TASK};
    sys_thread_sched(ABI_CAP_SELF_THREAD, 240, 255); /* the checker outranks everything it watches */

    /* Validation */
    child_thread(&self, (void (*)(uint64_t))thread_exit, 0, (uint64_t)(stacks[3] + 16384), 100);
    abi_cap_t victim = self.thread;
    struct abi_rt_params p = params(0);
    p.period_ns = 0;
    is(sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_CONFIGURE, victim, (uint64_t)&p, 0).err, ABI_E_INVALID_ARG,
       "period 0 is refused");
    p = params(0);
    p.slice[1].budget_ns = 9 * MS;
    is(sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_CONFIGURE, victim, (uint64_t)&p, 0).err, ABI_E_INVALID_ARG,
       "budgets above the period are refused");
    p = params(0);
    p.nslices = 9;
    is(sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_CONFIGURE, victim, (uint64_t)&p, 0).err, ABI_E_INVALID_ARG,
       "more than 8 slices are refused");
    p = params(0);
    is(sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_CONFIGURE, victim, 0x10, 0).err, ABI_E_INVALID_ARG,
       "parameters at an unmapped address are refused");
    is(sys_rt_control(ABI_CAP_FACTORY, ABI_RT_CONFIGURE, victim, (uint64_t)&p, 0).err, ABI_E_WRONG_TYPE,
       "only the reservation-control capability configures real time");
    abi_cap_t weak = cap_alloc();
    sys_cap_copy(ABI_CAP_SELF_TASK, ABI_CAP_SCHED_CONTROL, weak, ABI_R_SEND);
    is(sys_rt_control(weak, ABI_RT_CONFIGURE, victim, (uint64_t)&p, 0).err, ABI_E_NO_RIGHTS,
       "... and only with its control right");
    is(sys_thread_sched(ABI_CAP_SELF_THREAD, 240, 150).err, 0, "lower our own maximum controlled priority to 150");
    is(sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_CONFIGURE, victim, (uint64_t)&p, 0).err, ABI_E_PRIORITY,
       "a slice priority (200) above the caller's limit (150) is refused");
    is(sys_rt_next_period().err, ABI_E_BUSY, "next_period of a thread without reservations: BUSY");
    /* (the root thread cannot raise its limit again: the rest runs at 150 and below) */

    /* The periodic thread, its preempter and a CPU hog. */
    child_thread(&self, preempter, 0, (uint64_t)(stacks[0] + 16384), 149);
    abi_cap_t pre = self.thread;
    child_thread(&self, hog, 0, (uint64_t)(stacks[1] + 16384), 100);
    p = params(0);
    p.slice[0].prio = 140;
    p.slice[1].prio = 130;
    struct abi_rt_params q = p;
    uint64_t t0 = now_ns();
    start_ns = t0 + 3 * MS;
    q.start_ns = start_ns;
    struct sys_ret r;
    abi_cap_t rt = cap_alloc();
    sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_THREAD, rt, 0, 0);
    sys_thread_bind(rt, ABI_CAP_SELF_TASK, ABI_ROOT_UTCB_ADDR + 64 * 4096);
    r = sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_CONFIGURE, rt, (uint64_t)&q, 0);
    is(r.err, 0, "configure the periodic thread: 10 ms, slices 2 ms at 140 and 3 ms at 130, best effort 20");
    is(sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_PREEMPTER, rt, pre, 0x77).err, 0, "register its preempter");
    uint64_t *sp = (uint64_t *)(stacks[2] + 16384);
    *--sp = 0;
    *--sp = (uint64_t)rt_body;
    extern char thread_entry[];
    sys_thread_exregs(rt, (uint64_t)thread_entry, (uint64_t)sp, ABI_EXREGS_SET_IP | ABI_EXREGS_SET_SP | ABI_EXREGS_START);

    while (!rt_done && now_ns() - t0 < 200 * MS) sleep_ns(MS / 4);
    is(sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_DISABLE, rt, 0, 0).err, 0,
       "disable the reservation: job 5 ends on time");
    preempter_stop = 1;
    sleep_ns(10 * MS);
    ok(rt_done, "the periodic thread ran its six jobs against a CPU hog at priority 100");
    ok(hog_count > 0, "the hog ran in the slack (%lu iterations)", hog_count);

    /* Notifications: job 1 overrun of slice 0; job 2 overruns of 0 and 1 and the miss. */
    uint64_t S = start_ns;
    printf("# %u notifications:\n", nnotes);
    for (unsigned i = 0; i < nnotes; i++)
        printf("#   t=release0+%lu us slice %u type %u lost %u\n", (notes[i].time_ns - S) / 1000, notes[i].slice,
               notes[i].type, notes[i].lost);
    is(nnotes, 4, "four notifications arrived");
    ok(nnotes > 0 && notes[0].type == ABI_RT_EV_OVERRUN && notes[0].slice == 0 && after(notes[0].time_ns, S + PERIOD + 2 * MS),
       "job 1: slice 0 overran once it had used its 2 ms");
    ok(nnotes > 1 && notes[1].type == ABI_RT_EV_OVERRUN && notes[1].slice == 0 && after(notes[1].time_ns, S + 2 * PERIOD + 2 * MS),
       "job 2: slice 0 overran once it had used its 2 ms");
    ok(nnotes > 2 && notes[2].type == ABI_RT_EV_OVERRUN && notes[2].slice == 1 && after(notes[2].time_ns, S + 2 * PERIOD + 5 * MS),
       "job 2: slice 1 overran once it had used its 3 ms more");
    ok(nnotes > 3 && notes[3].type == ABI_RT_EV_DEADLINE_MISS && near(notes[3].time_ns, S + 3 * PERIOD),
       "job 2: deadline missed at the end of its period, in the best-effort phase (slice %u)", nnotes > 3 ? notes[3].slice : 99);
    is(note_label, 0x77, "notifications carry the preempter label");
    is(reservation_err, 0, "next_reservation(0) in job 4 succeeded");
    ok(left_ns > 1400000 && left_ns < 1600000, "... leaving %lu us of the 2 ms mandatory budget (about 1500)", left_ns / 1000);

    /* The job trace. */
    static struct abi_rt_job_record recs[32];
    r = sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_TRACE_READ, (uint64_t)recs, 32, 0);
    is(r.err, 0, "read the job trace");
    unsigned n = (unsigned)r.v0, mine = 0, misses = 0;
    int releases_ok = 1, sums_ok = 1;
    for (unsigned i = 0; i < n; i++) {
        struct abi_rt_job_record *j = &recs[i];
        if (j->release_ns < S) continue;
        mine++;
        misses += j->missed;
        if (j->release_ns != S + j->job * PERIOD || j->deadline_ns != j->release_ns + PERIOD) releases_ok = 0;
        uint64_t sum = j->be_ns;
        for (unsigned k = 0; k < ABI_RT_MAX_SLICES; k++) sum += j->slice_ns[k];
        if (sum > j->completion_ns - j->release_ns + 100000) sums_ok = 0;
        printf("#   job %lu: release +%lu us, response %lu us, slices %lu/%lu us, be %lu us, missed %u\n", j->job,
               (j->release_ns - S) / 1000, (j->completion_ns - j->release_ns) / 1000, j->slice_ns[0] / 1000,
               j->slice_ns[1] / 1000, j->be_ns / 1000, j->missed);
    }
    is(mine, 6, "six job records");
    ok(n >= 3 && near(recs[n - 6 + 1].slice_ns[0], 2 * MS) && near(recs[n - 6 + 2].slice_ns[0], 2 * MS) &&
           near(recs[n - 6 + 2].slice_ns[1], 3 * MS),
       "overrunning jobs used exactly their budgets in the overrun slices (within one timer latency)");
    is(misses, 1, "exactly one of them missed its deadline");
    ok(releases_ok, "releases are exactly start + k * period, deadlines one period later (strictly periodic)");
    ok(sums_ok, "no job consumed more CPU than its response time");
    tap_done();
}
