/*
 * System test: the limits of reservation scheduling, and its records.
 *
 *  1. Parameter validation and the priority limit: every field of
 *     abi_rt_params is checked (period 0, budgets 0, above the period or
 *     overflowing when summed, too many or no slices, unknown mode, a first
 *     release whose deadline overflows) and neither a slice, best-effort or
 *     plain priority nor a maximum controlled priority may exceed the
 *     caller's maximum controlled priority.
 *  2. The budget bound: a thread that spins through five periods without
 *     ever calling next_period gets its 2 ms budget per 10 ms period and
 *     never more than RT_BUDGET_SLACK_NS beyond it (the timer interrupt's
 *     path until the kernel takes the CPU away; docs/architecture.md), and
 *     nothing below a CPU hog once the budget is gone.
 *  3. Minimal inter-release mode: after next_period the next job is
 *     released at the later of the period end and a message; a message
 *     during the job does not count.
 *  5. Timer anticipation (gravity): with a release served 50 us early no
 *     job starts before its release (read in user mode) and each starts
 *     within the gravity after it; the gravity is bounded, readable, and
 *     the kernel calibrated its own on the releases since boot.
 *  4. The job records are printed as JOB lines; rt_limits.t turns them into
 *     CSV with tools/rt-jobs-csv.sh and checks the rows on the host. The
 *     thread spins and never calls next_period, so every job ends by a
 *     forced new period and is recorded as a miss.
 */
#include "drops/ipc.h"
#include "drops/rt.h"
#include "drops/spawn.h"
#include "drops/tap.h"

#define US 1000ull
#define MS 1000000ull
/* How far a spinning thread may run past its budget: the path from the
 * budget-end interrupt to the switch, a few us under -icount, with room for
 * an interrupts-off section in progress. */
#define RT_BUDGET_SLACK_NS (20 * US)

static uint8_t stacks[4][16384] __attribute__((aligned(16)));
static volatile uint64_t hog_count, spin_count;
static volatile uint64_t mir_runs[8];
static volatile unsigned mir_jobs;

static void hog(uint64_t arg)
{
    for (;;) hog_count++;
}

static void spinner(uint64_t arg)
{
    for (;;) spin_count++;
}

/* Minimal inter-release: each job notes when it runs and takes the
 * message that released it. */
static void mir_body(uint64_t arg)
{
    for (;;) {
        sys_rt_next_period();
        if (mir_jobs < 8) mir_runs[mir_jobs] = now_ns();
        mir_jobs++;
        ipc_wait(ABI_TIMEOUT_ZERO);
    }
}

/* Gravity: each job notes when it starts running. */
#define GRAVITY_TEST_NS (50 * US)
#define GRAVITY_JOBS 40u
static volatile uint64_t grav_start, grav_runs[GRAVITY_JOBS];
static volatile unsigned grav_jobs;

static void grav_body(uint64_t arg)
{
    sys_rt_next_period(); /* the first release */
    for (;;) {
        if (grav_jobs < GRAVITY_JOBS) grav_runs[grav_jobs] = now_ns();
        grav_jobs++;
        sys_rt_next_period();
    }
}

static uint64_t grav_worst(void)
{
    uint64_t w = 0;
    for (unsigned k = 0; k < GRAVITY_JOBS; k++)
        if (grav_runs[k] - (grav_start + k * MS) > w) w = grav_runs[k] - (grav_start + k * MS);
    return w;
}

static struct abi_rt_params base(void)
{
    struct abi_rt_params p = {0};
    p.period_ns = 10 * MS;
    p.mode = ABI_RT_STRICT_PERIODIC;
    p.nslices = 1;
    p.be_prio = 20;
    p.slice[0].budget_ns = 2 * MS;
    p.slice[0].prio = 140;
    return p;
}

static int64_t configure(abi_cap_t t, const struct abi_rt_params *p)
{
    return sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_CONFIGURE, t, (uint64_t)p, 0).err;
}

static abi_cap_t rt_thread(unsigned utcb_page)
{
    abi_cap_t t = cap_alloc();
    sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_THREAD, t, 0, 0);
    sys_thread_bind(t, ABI_CAP_SELF_TASK, ABI_ROOT_UTCB_ADDR + utcb_page * 4096);
    return t;
}

static void start(abi_cap_t t, void (*fn)(uint64_t), uint8_t *stack)
{
    uint64_t *sp = (uint64_t *)(stack + 16384);
    *--sp = 0;
    *--sp = (uint64_t)fn;
    extern char thread_entry[];
    sys_thread_exregs(t, (uint64_t)thread_entry, (uint64_t)sp, ABI_EXREGS_SET_IP | ABI_EXREGS_SET_SP | ABI_EXREGS_START);
}

int main(void)
{
    struct child self = {.task = ABI_CAP_SELF_TASK};
    /* Everything below runs under a limit of 150; the root keeps 240 to watch. */
    is(sys_thread_sched(ABI_CAP_SELF_THREAD, 240, 150).err, 0, "lower our maximum controlled priority to 150");

    /* 1. Validation and the priority limit. */
    abi_cap_t v = rt_thread(64);
    struct abi_rt_params p = base();
    p.period_ns = 0;
    is(configure(v, &p), ABI_E_INVALID_ARG, "period 0: INVALID_ARG");
    p = base();
    p.slice[0].budget_ns = 0;
    is(configure(v, &p), ABI_E_INVALID_ARG, "budget 0: INVALID_ARG");
    p = base();
    p.slice[0].budget_ns = p.period_ns + 1;
    is(configure(v, &p), ABI_E_INVALID_ARG, "budget above the period: INVALID_ARG");
    p = base();
    p.nslices = 2;
    p.slice[0].budget_ns = ~0ull - 10;
    p.slice[1].budget_ns = 100;
    p.slice[1].prio = 130;
    p.period_ns = ~0ull;
    is(configure(v, &p), ABI_E_INVALID_ARG, "budgets whose sum overflows 64 bits: INVALID_ARG");
    p = base();
    p.nslices = 0;
    is(configure(v, &p), ABI_E_INVALID_ARG, "no slices: INVALID_ARG");
    p = base();
    p.nslices = ABI_RT_MAX_SLICES + 1;
    is(configure(v, &p), ABI_E_INVALID_ARG, "more slices than ABI_RT_MAX_SLICES: INVALID_ARG");
    p = base();
    p.mode = 3;
    is(configure(v, &p), ABI_E_INVALID_ARG, "unknown mode: INVALID_ARG");
    p = base();
    p.start_ns = ~0ull - MS;
    is(configure(v, &p), ABI_E_INVALID_ARG, "first release + period overflows: INVALID_ARG");
    p = base();
    p.slice[0].prio = 151;
    is(configure(v, &p), ABI_E_PRIORITY, "slice priority 151 above our limit 150: PRIORITY");
    p = base();
    p.be_prio = 151;
    is(configure(v, &p), ABI_E_PRIORITY, "best-effort priority 151 above our limit: PRIORITY");
    p = base();
    p.nslices = 2;
    p.slice[1].budget_ns = MS;
    p.slice[1].prio = 255;
    is(configure(v, &p), ABI_E_PRIORITY, "an optional slice at 255 above our limit: PRIORITY");
    is(sys_thread_sched(v, 151, 100).err, ABI_E_PRIORITY, "plain priority 151 above our limit: PRIORITY");
    is(sys_thread_sched(v, 100, 151).err, ABI_E_PRIORITY, "maximum controlled priority 151 above ours: PRIORITY");
    is(sys_thread_sched(ABI_CAP_SELF_THREAD, 240, 200).err, ABI_E_PRIORITY, "nor can we raise our own limit");
    is(sys_thread_sched(v, 150, 150).err, 0, "priority and limit equal to ours are fine");
    p = base();
    p.slice[0].prio = 150;
    p.be_prio = 150;
    is(configure(v, &p), 0, "a slice at our limit is accepted");
    is(sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_DISABLE, v, 0, 0).err, 0, "... and disabled again");

    /* 2. The budget bound: a spinner against a hog at 100. */
    child_thread(&self, hog, 0, (uint64_t)(stacks[0] + 16384), 100);
    abi_cap_t sp = rt_thread(65);
    p = base();
    uint64_t s = now_ns() + 2 * MS;
    p.start_ns = s;
    is(configure(sp, &p), 0, "spinner: 2 ms at 140 every 10 ms, then best effort at 20 below a hog at 100");
    start(sp, spinner, stacks[1]);
    while (now_ns() < s + 50 * MS) sleep_ns(MS);
    sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_DISABLE, sp, 0, 0);
    sys_thread_exregs(sp, 0, 0, ABI_EXREGS_HALT);
    static struct abi_rt_job_record recs[64];
    struct sys_ret r = sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_TRACE_READ, (uint64_t)recs, 64, 0);
    unsigned jobs = 0, within = 0, used = 0, late_first = 0;
    uint64_t worst = 0;
    for (unsigned i = 0; i < r.v0; i++) {
        struct abi_rt_job_record *j = &recs[i];
        if (j->release_ns < s || j->job >= 5) continue; /* the last one is cut short by the disable */
        jobs++;
        /* Past the budget it runs at best effort until the kernel has
         * switched away: that time counts as its overshoot too. */
        uint64_t run = j->slice_ns[0] + j->be_ns;
        uint64_t over = run > 2 * MS ? run - 2 * MS : 0;
        if (over > worst) worst = over;
        within += over <= RT_BUDGET_SLACK_NS;
        used += j->slice_ns[0] >= 2 * MS;
        late_first += j->first_run_ns - j->release_ns > 20 * US;
    }
    is(jobs, 5, "five complete jobs of the spinner");
    is(within, 5, "none ran more than %llu us past its 2 ms budget (worst %lu ns over)", RT_BUDGET_SLACK_NS / US,
       worst);
    is(used, 5, "each used its whole budget");
    is(late_first, 0, "each started within 20 us of its release");
    ok(hog_count > 0, "the hog ran in the rest of each period");

    /* 3. Minimal inter-release mode. */
    abi_cap_t m = rt_thread(66);
    p = base();
    p.mode = ABI_RT_MIN_INTERRELEASE;
    p.period_ns = 5 * MS;
    p.slice[0].budget_ns = MS;
    p.slice[0].prio = 145; /* above the hog */
    p.be_prio = 145;       /* it reaches its first next_period whatever the hog does */
    is(configure(m, &p), 0, "minimal inter-release thread: at least 5 ms between releases");
    start(m, mir_body, stacks[2]);
    /* Job 0 started with the configuration and ended with the first
     * next_period; from its period end on, only a message releases job 1. */
    sleep_ns(6 * MS);
    uint64_t t_first = now_ns();
    ipc_send(m, ABI_TAG(ABI_PROTO_USER, 0, 0), ABI_TIMEOUT_ZERO);
    sleep_ns(MS);
    ok(mir_jobs == 1 && mir_runs[0] - t_first < 100 * US, "a message releases the first job at once (%lu us)",
       (unsigned long)((mir_runs[0] - t_first) / US));
    /* During the waiting period, before its end: released at the period end. */
    ipc_send(m, ABI_TAG(ABI_PROTO_USER, 0, 0), ABI_TIMEOUT_ZERO);
    sleep_ns(8 * MS);
    /* Job 1 was released by the message sent just after t_first. */
    ok(mir_jobs == 2 && mir_runs[1] >= t_first + 5 * MS && mir_runs[1] - t_first < 5 * MS + 100 * US,
       "a message before the period end releases at the period end (%lu us after the message of job 1)",
       (unsigned long)((mir_runs[1] - t_first) / US));
    /* No message: no release, however long the period is over. */
    sleep_ns(20 * MS);
    is(mir_jobs, 2, "without a message no further job is released");
    uint64_t t_late = now_ns();
    ipc_send(m, ABI_TAG(ABI_PROTO_USER, 0, 0), ABI_TIMEOUT_ZERO);
    sleep_ns(MS);
    ok(mir_jobs == 3 && mir_runs[2] - t_late < 100 * US, "a message after the period end releases at once (%lu us)",
       (unsigned long)((mir_runs[2] - t_late) / US));
    sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_DISABLE, m, 0, 0);
    sys_thread_exregs(m, 0, 0, ABI_EXREGS_HALT);
    r = sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_TRACE_READ, (uint64_t)recs, 64, 0);
    unsigned spaced = 0, mjobs = 0;
    for (unsigned i = 0; i < r.v0; i++) {
        if (i > 0 && recs[i].thread_id == recs[i - 1].thread_id) {
            mjobs++;
            spaced += recs[i].release_ns >= recs[i - 1].release_ns + 5 * MS;
        }
    }
    ok(mjobs >= 2 && spaced == mjobs, "releases in the job records are at least one period apart (%u of %u)", spaced,
       mjobs);

    /* 5. Timer anticipation (gravity): a release is served early, the
     * thread held in the kernel until the release instant. */
    is(sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_GRAVITY, ABI_RT_GRAVITY_MAX_NS + 1, 0, 0).err, ABI_E_INVALID_ARG,
       "a gravity above ABI_RT_GRAVITY_MAX_NS: INVALID_ARG");
    is(sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_GRAVITY, GRAVITY_TEST_NS, 0, 0).err, 0,
       "a gravity of %llu us", GRAVITY_TEST_NS / US);
    is(sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_STATS, ABI_STAT_RT_GRAVITY_NS, 0).v0, GRAVITY_TEST_NS,
       "ABI_STAT_RT_GRAVITY_NS reads it back");
    abi_cap_t g = rt_thread(68);
    p = base();
    p.period_ns = MS;
    p.slice[0].budget_ns = 200 * US;
    p.slice[0].prio = 145; /* above the hog */
    p.be_prio = 145;
    grav_start = now_ns() + 2 * MS;
    p.start_ns = grav_start;
    is(configure(g, &p), 0, "a 1 ms thread noting when each job starts, against the hog");
    start(g, grav_body, stacks[2]);
    while (grav_jobs < GRAVITY_JOBS) sleep_ns(5 * MS);
    sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_DISABLE, g, 0, 0);
    sys_thread_exregs(g, 0, 0, ABI_EXREGS_HALT);
    unsigned early = 0, prompt = 0;
    for (unsigned k = 0; k < GRAVITY_JOBS; k++) {
        uint64_t release = grav_start + k * MS;
        early += grav_runs[k] < release;
        prompt += grav_runs[k] - release < GRAVITY_TEST_NS;
    }
    is(early, 0, "no job started before its release (%u jobs)", GRAVITY_JOBS);
    is(prompt, GRAVITY_JOBS, "and each within the gravity after it (worst %lu ns)", grav_worst());
    struct sys_ret gr = sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_GRAVITY, ABI_RT_GRAVITY_CALIBRATED, 0, 0);
    is(gr.v0, GRAVITY_TEST_NS, "setting the calibrated value returns the one before");
    ok(gr.v1 > 0 && gr.v1 < GRAVITY_TEST_NS, "the kernel calibrated the gravity on the releases since boot (%lu ns)",
       gr.v1);
    is(sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_STATS, ABI_STAT_RT_GRAVITY_NS, 0).v0, gr.v1,
       "and the calibrated value is in force again");
    r = sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_TRACE_READ, (uint64_t)recs, 64, 0);
    unsigned charged_early = 0;
    for (unsigned i = 0; i < r.v0; i++) charged_early += recs[i].first_run_ns < recs[i].release_ns;
    is(charged_early, 0, "no job record has the job running before its release");

    /* 4. JOB lines for rt_limits.t: one more strictly periodic run, short jobs. */
    abi_cap_t c = rt_thread(67);
    p = base();
    p.period_ns = 2 * MS;
    p.slice[0].budget_ns = 500 * US;
    p.slice[0].prio = 145;
    s = now_ns() + MS;
    p.start_ns = s;
    is(configure(c, &p), 0, "a 2 ms thread spinning 500 us per period for the CSV");
    spin_count = 0;
    start(c, spinner, stacks[3]);
    while (now_ns() < s + 10 * MS + MS) sleep_ns(MS);
    sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_DISABLE, c, 0, 0);
    sys_thread_exregs(c, 0, 0, ABI_EXREGS_HALT);
    long printed = rt_trace_dump(ABI_CAP_SCHED_CONTROL);
    ok(printed >= 5, "printed %ld JOB lines", printed);
    printf("# JOB lines: %ld\n", printed);
    tap_done();
}
