/*
 * Host tests for rt-sched's state machine (rt-sched/rt_sched.c and
 * rt_group.c), driven call by call with a fake clock: every time below is
 * a plain number of nanoseconds the test passes in, so each event's exact
 * time can be asserted. Scheduling under load is test_rtsched_sim.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "abi/errors.h"
#include "rt_sched.h"
#include "tap.h"

/* ---- helpers ---------------------------------------------------------------- */

#define MAX_RECS 64
static struct abi_rt_job_record recs[MAX_RECS];
static unsigned nrecs;

static void sink(void *ctx, const struct abi_rt_job_record *rec)
{
    (void)ctx;
    if (nrecs < MAX_RECS) recs[nrecs] = *rec;
    nrecs++;
}

/* period, mode, be_prio, then nslices (prio, budget) pairs. */
static struct abi_rt_params params(uint64_t period, uint32_t mode, uint8_t be_prio, unsigned n,
                                   const uint8_t *prio, const uint64_t *budget)
{
    struct abi_rt_params p;
    memset(&p, 0, sizeof p);
    p.period_ns = period;
    p.mode = mode;
    p.be_prio = be_prio;
    p.nslices = n;
    for (unsigned i = 0; i < n && i < ABI_RT_MAX_SLICES; i++) {
        p.slice[i].prio = prio[i];
        p.slice[i].budget_ns = budget[i];
    }
    return p;
}

/* The thread used by most tests: period 1000, slices (50, 300), (40, 200), be 10. */
static const uint8_t P2[] = {50, 40};
static const uint64_t B2[] = {300, 200};

static void setup(struct rt_thread *t, uint32_t mode, uint64_t now)
{
    nrecs = 0;
    rt_init(t, 7, sink, NULL);
    struct abi_rt_params p = params(1000, mode, 10, 2, P2, B2);
    int rc = rt_configure(t, &p, 255, now);
    if (rc != ABI_E_OK) printf("# setup: rt_configure failed %d\n", rc);
}

static bool pop(struct rt_thread *t, uint32_t type, uint64_t time, uint32_t slice, uint32_t lost)
{
    struct abi_rt_notification n;
    if (!rt_pop_notification(t, &n)) {
        printf("#   no notification\n");
        return false;
    }
    if (n.type != type || n.time_ns != time || n.slice != slice || n.lost != lost) {
        printf("#   got type %u time %llu slice %u lost %u\n", n.type, (unsigned long long)n.time_ns, n.slice,
               n.lost);
        return false;
    }
    return true;
}

/* ---- parameter validation ------------------------------------------------------ */

static void test_validation(void)
{
    const uint8_t pr[] = {50, 40, 30};
    const uint64_t bu[] = {100, 200, 300};
    struct abi_rt_params good = params(1000, ABI_RT_STRICT_PERIODIC, 5, 3, pr, bu);
    struct abi_rt_params p;

    is(rt_check_params(&good, 255, 0), RT_PARAM_OK, "valid parameters pass");
    is(rt_check_params(&good, 50, 0), RT_PARAM_OK, "a priority equal to the mcp is allowed");

    p = good; p.period_ns = 0;
    is(rt_check_params(&p, 255, 0), RT_PARAM_PERIOD_ZERO, "period 0 refused");
    p = good; p.mode = 0;
    is(rt_check_params(&p, 255, 0), RT_PARAM_MODE, "mode 0 refused");
    p = good; p.mode = 3;
    is(rt_check_params(&p, 255, 0), RT_PARAM_MODE, "unknown mode 3 refused");
    p = good; p.nslices = 0;
    is(rt_check_params(&p, 255, 0), RT_PARAM_NSLICES, "no slices refused");
    p = good; p.nslices = ABI_RT_MAX_SLICES + 1;
    is(rt_check_params(&p, 255, 0), RT_PARAM_NSLICES, "more than ABI_RT_MAX_SLICES refused");
    p = good; p.slice[1].budget_ns = 0;
    is(rt_check_params(&p, 255, 0), RT_PARAM_BUDGET_ZERO, "a zero budget refused");
    p = good; p.period_ns = UINT64_MAX; p.slice[0].budget_ns = UINT64_MAX - 50; p.slice[1].budget_ns = 100;
    is(rt_check_params(&p, 255, 0), RT_PARAM_BUDGET_OVERFLOW, "budgets whose sum overflows refused");
    p = good; p.slice[2].budget_ns = 701;
    is(rt_check_params(&p, 255, 0), RT_PARAM_BUDGET_ABOVE_PERIOD, "budgets above the period refused");
    p = good; p.slice[2].budget_ns = 700;
    is(rt_check_params(&p, 255, 0), RT_PARAM_OK, "budgets summing to exactly the period allowed");
    p = good; p.slice[1].prio = 51;
    is(rt_check_params(&p, 50, 0), RT_PARAM_PRIORITY, "a slice priority above the mcp refused");
    p = good; p.be_prio = 51;
    is(rt_check_params(&p, 50, 0), RT_PARAM_PRIORITY, "a best-effort priority above the mcp refused");
    p = good; p.start_ns = UINT64_MAX - 999;
    is(rt_check_params(&p, 255, 0), RT_PARAM_TIME_OVERFLOW, "a first deadline beyond 2^64 refused");
    p = good;
    is(rt_check_params(&p, 255, UINT64_MAX - 10), RT_PARAM_TIME_OVERFLOW, "so is one from a late now");
    p = good; p.start_ns = 5;
    is(rt_check_params(&p, 255, 1000000), RT_PARAM_OK, "a start time in the past is allowed");

    is(rt_param_fault_error(RT_PARAM_OK), ABI_E_OK, "fault OK maps to ABI_E_OK");
    is(rt_param_fault_error(RT_PARAM_PRIORITY), ABI_E_PRIORITY, "priority fault maps to ABI_E_PRIORITY");
    bool all_invalid = true;
    for (int f = RT_PARAM_PERIOD_ZERO; f <= RT_PARAM_TIME_OVERFLOW; f++)
        if (f != RT_PARAM_PRIORITY && rt_param_fault_error((enum rt_param_fault)f) != ABI_E_INVALID_ARG)
            all_invalid = false;
    ok(all_invalid, "every other fault maps to ABI_E_INVALID_ARG");

    /* rt_configure refuses with the error and leaves the thread alone. */
    struct rt_thread t, before;
    setup(&t, ABI_RT_STRICT_PERIODIC, 100);
    before = t;
    p = good; p.slice[0].prio = 200;
    is(rt_configure(&t, &p, 100, 150), ABI_E_PRIORITY, "rt_configure: priority above mcp -> ABI_E_PRIORITY");
    p = good; p.period_ns = 0;
    is(rt_configure(&t, &p, 255, 150), ABI_E_INVALID_ARG, "rt_configure: period 0 -> ABI_E_INVALID_ARG");
    ok(memcmp(&t, &before, sizeof t) == 0, "a refused configuration changes nothing");
    is(nrecs, 0, "and emits no record");

    /* Start in the past: released now, strict periods from now. */
    rt_init(&t, 1, NULL, NULL);
    p = good; p.start_ns = 10;
    is(rt_configure(&t, &p, 255, 5000), ABI_E_OK, "start in the past accepted");
    is(rt_get_state(&t), RT_ACTIVE, "and the first job is released at once");
    is(rt_next_event(&t), 6000, "its deadline is now + period");
    p.start_ns = 0;
    rt_init(&t, 1, NULL, NULL);
    rt_configure(&t, &p, 255, 777);
    is(t.rec.release_ns, 777, "start 0 means now");
}

/* ---- slices, overruns, best effort, next_period --------------------------------- */

static void test_slices_and_overrun(void)
{
    struct rt_thread t;
    setup(&t, ABI_RT_STRICT_PERIODIC, 1000);
    ok(rt_enabled(&t) && rt_runnable(&t), "configured thread is enabled and runnable");
    is(rt_priority(&t), 50, "released in slice 0 at its priority");
    is(rt_next_event(&t), 2000, "not running: next event is the deadline");
    rt_start_running(&t, 1000);
    is(rt_next_event(&t), 1300, "running: next event is the budget end");
    rt_timer(&t, 1299);
    is(rt_slice(&t), 0, "nothing happens before the budget end");
    rt_timer(&t, 1300);
    is(rt_slice(&t), 1, "budget end moves the thread to slice 1");
    is(rt_priority(&t), 40, "at slice 1's priority");
    ok(rt_runnable(&t), "an overrun does not block");
    ok(pop(&t, ABI_RT_EV_OVERRUN, 1300, 0, 0), "OVERRUN notification for slice 0 at 1300");
    is(rt_next_event(&t), 1500, "slice 1's budget ends at 1500");
    rt_stop_running(&t, 1400);
    is(rt_next_event(&t), 2000, "preempted: only the deadline remains");
    is(rt_budget_left(&t), 100, "with 100 left in slice 1");
    rt_start_running(&t, 1600);
    is(rt_next_event(&t), 1700, "budget accounting resumes where it stopped");
    rt_timer(&t, 1700);
    is(rt_slice(&t), 2, "after the last slice: best-effort phase");
    is(rt_priority(&t), 10, "at be_prio");
    ok(pop(&t, ABI_RT_EV_OVERRUN, 1700, 1, 0), "OVERRUN notification for slice 1 at 1700");
    is(rt_next_event(&t), 2000, "best effort: next event is the deadline");
    is(rt_next_period(&t, 1800), ABI_E_OK, "next_period");
    ok(!rt_runnable(&t), "waits for the next release");
    is(nrecs, 1, "one job record");
    struct abi_rt_job_record *r = &recs[0];
    ok(r->thread_id == 7 && r->job == 0, "record names thread 7, job 0");
    ok(r->release_ns == 1000 && r->first_run_ns == 1000 && r->completion_ns == 1800 && r->deadline_ns == 2000,
       "release 1000, first run 1000, completion 1800, deadline 2000");
    ok(r->slice_ns[0] == 300 && r->slice_ns[1] == 200 && r->be_ns == 100, "per-slice 300/200, best effort 100");
    ok(r->slice_switches == 2 && r->missed == 0, "2 slice switches, not missed");
    is(rt_next_event(&t), 2000, "next event is the release");
    rt_stop_running(&t, 1800);
    rt_timer(&t, 2000);
    ok(rt_runnable(&t) && rt_priority(&t) == 50 && rt_job_index(&t) == 1, "job 1 released at 2000 in slice 0");
    is(t.rec.release_ns, 2000, "with release 2000");
    is(rt_notifications_pending(&t), 0, "no more notifications");
}

static void test_late_timer(void)
{
    struct rt_thread t;
    setup(&t, ABI_RT_STRICT_PERIODIC, 1000);
    rt_start_running(&t, 1000);
    rt_timer(&t, 1350); /* the kernel noticed the budget end 50 late */
    ok(pop(&t, ABI_RT_EV_OVERRUN, 1300, 0, 0), "late timer: the notification carries the exact budget end");
    is(t.rec.slice_ns[0], 350, "the overshoot is charged to the slice that ran");
    is(rt_next_event(&t), 1550, "the next slice still gets its full budget");
    /* A deadline that passed unnoticed: time after it counts for the new job. */
    rt_timer(&t, 1550);
    rt_timer(&t, 2100);
    is(nrecs, 1, "the missed job's record");
    ok(recs[0].missed && recs[0].completion_ns == 2000, "missed, completion at the deadline 2000");
    is(recs[0].be_ns, 450, "best-effort time charged up to the deadline only");
    is(t.rec.slice_ns[0], 100, "the 100 after the deadline went to the new job's slice 0");
    is(t.rec.first_run_ns, 2000, "which started running at its release");
}

static void test_next_reservation(void)
{
    struct rt_thread t;
    uint64_t left = 99;
    setup(&t, ABI_RT_STRICT_PERIODIC, 1000);
    rt_start_running(&t, 1000);
    is(rt_next_reservation(&t, 1, 1100, &left), ABI_E_BUSY, "expected slice 1 while in slice 0: out of sync");
    is(left, 0, "time_left 0 on failure");
    is(rt_next_reservation(&t, 2, 1100, &left), ABI_E_INVALID_ARG, "expected slice beyond the last: invalid");
    is(rt_slice(&t), 0, "failures change nothing");
    is(rt_next_reservation(&t, 0, 1100, &left), ABI_E_OK, "mandatory -> optional at 1100");
    is(left, 200, "time left in the mandatory slice: 300 - 100");
    is(rt_priority(&t), 40, "now at the optional slice's priority");
    is(rt_next_event(&t), 1300, "with the optional slice's full budget from 1100");
    is(rt_notifications_pending(&t), 0, "voluntary switch: no notification");
    is(rt_next_reservation(&t, 1, 1250, &left), ABI_E_OK, "leave the last slice voluntarily");
    ok(left == 50 && rt_priority(&t) == 10, "50 left; best effort now");
    is(rt_next_reservation(&t, 2, 1260, &left), ABI_E_INVALID_ARG, "nothing to leave in the best-effort phase");
    rt_next_period(&t, 1300);
    ok(recs[0].slice_ns[0] == 100 && recs[0].slice_ns[1] == 150 && recs[0].be_ns == 50 &&
           recs[0].slice_switches == 2,
       "record: 100 / 150 / be 50, 2 switches");
    is(rt_next_reservation(&t, 0, 1400, &left), ABI_E_BUSY, "waiting for the release: busy");

    /* Budget used up exactly when the thread moves on: its call wins. */
    setup(&t, ABI_RT_STRICT_PERIODIC, 1000);
    rt_start_running(&t, 1000);
    is(rt_next_reservation(&t, 0, 1300, &left), ABI_E_OK, "next_reservation at the exact budget end");
    ok(left == 0 && rt_notifications_pending(&t) == 0, "returns 0 left, no overrun");

    /* After an overrun the thread is out of sync. */
    setup(&t, ABI_RT_STRICT_PERIODIC, 1000);
    rt_start_running(&t, 1000);
    is(rt_next_reservation(&t, 0, 1301, &left), ABI_E_BUSY, "next_reservation(0) after the overrun: busy");
    is(rt_slice(&t), 1, "the call processed the overrun first");
    ok(pop(&t, ABI_RT_EV_OVERRUN, 1300, 0, 0), "and notified it");

    struct rt_thread off;
    rt_init(&off, 1, NULL, NULL);
    is(rt_next_reservation(&off, 0, 10, &left), ABI_E_BUSY, "not real-time: busy");
    is(rt_next_period(&off, 10), ABI_E_BUSY, "next_period when not real-time: busy");
}

static void test_deadline_miss(void)
{
    struct rt_thread t;
    setup(&t, ABI_RT_STRICT_PERIODIC, 1000);
    rt_start_running(&t, 1000);
    rt_timer(&t, 1300);
    rt_timer(&t, 1500);
    (void)pop(&t, ABI_RT_EV_OVERRUN, 1300, 0, 0);
    (void)pop(&t, ABI_RT_EV_OVERRUN, 1500, 1, 0);
    is(rt_next_event(&t), 2000, "spinning in best effort: next event is the deadline");
    rt_timer(&t, 2000);
    ok(pop(&t, ABI_RT_EV_DEADLINE_MISS, 2000, 2, 0), "DEADLINE_MISS at 2000 from the best-effort slice (2)");
    is(nrecs, 1, "the missed job is recorded");
    ok(recs[0].missed == 1 && recs[0].completion_ns == 2000 && recs[0].be_ns == 500, "missed, completion 2000");
    ok(rt_get_state(&t) == RT_ACTIVE && rt_slice(&t) == 0 && rt_priority(&t) == 50, "forced new period: slice 0");
    ok(t.rec.release_ns == 2000 && t.rec.deadline_ns == 3000 && t.rec.job == 1, "released exactly at 2000");
    is(rt_next_event(&t), 2300, "with slice 0's full budget");

    /* Several periods pass unnoticed: each is a miss; periods never stretch. */
    rt_stop_running(&t, 2100);
    rt_timer(&t, 4500);
    is(nrecs, 3, "two more missed jobs");
    ok(recs[1].release_ns == 2000 && recs[1].missed && recs[2].release_ns == 3000 && recs[2].missed,
       "jobs released at 2000 and 3000 missed");
    is(recs[2].first_run_ns, UINT64_MAX, "a job that never ran has first_run_ns = never");
    ok(pop(&t, ABI_RT_EV_DEADLINE_MISS, 3000, 0, 0) && pop(&t, ABI_RT_EV_DEADLINE_MISS, 4000, 0, 0),
       "a miss notification per period, from slice 0");
    is(t.rec.release_ns, 4000, "current job released at 4000");

    /* next_period at the deadline instant is on time; after the timer, it is not. */
    setup(&t, ABI_RT_STRICT_PERIODIC, 1000);
    rt_start_running(&t, 1000);
    rt_timer(&t, 1300);
    rt_timer(&t, 1500);
    is(rt_next_period(&t, 2000), ABI_E_OK, "next_period exactly at the deadline");
    ok(recs[0].missed == 0 && recs[0].completion_ns == 2000, "is on time (completion == deadline)");
    setup(&t, ABI_RT_STRICT_PERIODIC, 1000);
    rt_timer(&t, 2000);
    ok(recs[0].missed == 1, "the timer at the deadline forces the miss first");
    rt_next_period(&t, 2000);
    ok(nrecs == 2 && recs[1].release_ns == 2000 && recs[1].completion_ns == 2000 && !recs[1].missed,
       "then next_period ends the new job at once");
}

static void test_strict_releases(void)
{
    struct rt_thread t;
    bool exact = true;
    setup(&t, ABI_RT_STRICT_PERIODIC, 1000);
    uint64_t now = 1000;
    for (unsigned k = 0; k < 20; k++) {
        /* run a varying amount, complete early, notice the release late */
        rt_start_running(&t, now);
        now += 50 + 37 * k % 400;
        rt_timer(&t, now);
        rt_next_period(&t, now);
        rt_stop_running(&t, now);
        now = 1000 + (k + 1) * 1000 + (k * 13) % 90;
        rt_timer(&t, now);
        if (t.rec.release_ns != 1000 + (k + 1) * 1000) exact = false;
    }
    ok(exact, "strict mode: releases exactly start + k*period, whenever the timer is noticed");
    bool rec_ok = nrecs == 20;
    for (unsigned k = 0; k < nrecs && k < MAX_RECS; k++)
        if (recs[k].release_ns != 1000 + k * 1000 || recs[k].deadline_ns != 2000 + k * 1000 || recs[k].missed)
            rec_ok = false;
    ok(rec_ok, "20 records with releases and deadlines on the grid, none missed");
}

static void test_min_interrelease(void)
{
    struct rt_thread t;
    setup(&t, ABI_RT_MIN_INTERRELEASE, 1000);
    ok(!rt_message_arrived(&t, 1200), "a message during the job is not counted");
    rt_next_period(&t, 1500);
    ok(!rt_runnable(&t), "waiting after next_period");
    is(rt_next_event(&t), RT_NEVER, "no timer while no message has come");
    rt_timer(&t, 2000);
    ok(!rt_runnable(&t), "the period end alone does not release");
    ok(rt_message_arrived(&t, 2400), "a message after the period end is counted");
    ok(rt_runnable(&t) && t.rec.release_ns == 2400 && t.rec.deadline_ns == 3400,
       "and releases at once: release 2400, deadline 3400");

    rt_next_period(&t, 2600);
    ok(rt_message_arrived(&t, 2900), "a message before the period end is counted");
    ok(!rt_runnable(&t), "but the release waits for the period end");
    is(rt_next_event(&t), 3400, "timer at the period end 3400");
    ok(!rt_message_arrived(&t, 3000), "a second message adds nothing");
    rt_timer(&t, 3400);
    ok(rt_runnable(&t) && t.rec.release_ns == 3400, "released at 3400, the later of the two");
    /* A miss forces the new period without a message. */
    rt_timer(&t, 4400);
    ok(rt_runnable(&t) && t.rec.release_ns == 4400 && recs[nrecs - 1].missed, "a miss releases at the deadline");
}

static void test_future_start(void)
{
    struct rt_thread t;
    const uint8_t pr[] = {60};
    const uint64_t bu[] = {100};
    struct abi_rt_params p = params(500, ABI_RT_STRICT_PERIODIC, 3, 1, pr, bu);
    p.start_ns = 10000;
    nrecs = 0;
    rt_init(&t, 2, sink, NULL);
    is(rt_configure(&t, &p, 255, 100), ABI_E_OK, "start in the future");
    ok(rt_get_state(&t) == RT_IDLE && rt_runnable(&t) && rt_priority(&t) == 3,
       "before the first release: runnable at be_prio");
    is(rt_next_event(&t), 10000, "next event: the first release");
    rt_start_running(&t, 200);
    rt_stop_running(&t, 300);
    is(rt_next_period(&t, 300), ABI_E_OK, "next_period waits for the first release");
    ok(!rt_runnable(&t), "not runnable until then");
    is(rt_next_period(&t, 400), ABI_E_BUSY, "a second next_period while waiting: busy");
    rt_timer(&t, 10000);
    ok(rt_runnable(&t) && rt_priority(&t) == 60 && t.rec.job == 0 && t.rec.release_ns == 10000,
       "job 0 released at 10000");
    is(nrecs, 0, "time before the first release is no job");
}

static void test_notification_overflow(void)
{
    struct rt_thread t;
    const uint8_t pr[] = {9, 8, 7};
    const uint64_t bu[] = {10, 10, 10};
    struct abi_rt_params p = params(100, ABI_RT_STRICT_PERIODIC, 1, 3, pr, bu);
    nrecs = 0;
    rt_init(&t, 3, sink, NULL);
    rt_configure(&t, &p, 255, 0);
    rt_start_running(&t, 0);
    /* 3 overruns + a miss per period, never taken by a preempter */
    for (uint64_t now = 0; now <= 200; now += 5) rt_timer(&t, now);
    is(rt_notifications_pending(&t), RT_NOTIFY_QUEUE_LEN, "the queue holds RT_NOTIFY_QUEUE_LEN entries");
    ok(pop(&t, ABI_RT_EV_OVERRUN, 10, 0, 0) && pop(&t, ABI_RT_EV_OVERRUN, 20, 1, 0) &&
           pop(&t, ABI_RT_EV_OVERRUN, 30, 2, 0),
       "the first three are kept in order");
    /* events 4..8: miss 100, overruns 110 120 130, miss 200; 5..8 fold into the 4th */
    struct abi_rt_notification n;
    ok(rt_pop_notification(&t, &n), "the last entry");
    ok(n.type == ABI_RT_EV_DEADLINE_MISS && n.time_ns == 200 && n.slice == 3, "is the newest event (miss at 200)");
    is(n.lost, 4, "lost counts the 4 events coalesced into it");
    ok(!rt_pop_notification(&t, &n), "queue empty");
    rt_timer(&t, 210);
    ok(pop(&t, ABI_RT_EV_OVERRUN, 210, 0, 0), "after draining, new events queue normally with lost 0");
}

static void test_reconfigure_and_disable(void)
{
    struct rt_thread t;
    setup(&t, ABI_RT_STRICT_PERIODIC, 1000);
    rt_start_running(&t, 1000);
    const uint8_t pr[] = {70};
    const uint64_t bu[] = {100};
    struct abi_rt_params p = params(400, ABI_RT_STRICT_PERIODIC, 2, 1, pr, bu);
    is(rt_configure(&t, &p, 255, 1200), ABI_E_OK, "reconfigure mid-job");
    ok(nrecs == 1 && recs[0].completion_ns == 1200 && recs[0].slice_ns[0] == 200 && !recs[0].missed,
       "the running job ends as if by next_period");
    ok(t.rec.job == 0 && t.rec.release_ns == 1200 && rt_priority(&t) == 70, "new series: job 0 at 1200");
    is(rt_next_event(&t), 1300, "still running: new budget end");
    rt_disable(&t, 1250);
    ok(!rt_enabled(&t) && rt_priority(&t) == 0 && rt_runnable(&t), "disabled");
    is(rt_next_event(&t), RT_NEVER, "no more events");
    ok(nrecs == 2 && recs[1].slice_ns[0] == 50, "the job in progress was recorded");
    rt_timer(&t, 1000);
    is(t.last_now, 1250, "the clock never goes back");
}

/* ---- the best-effort group cap ---------------------------------------------------- */

static void test_group(void)
{
    struct rt_group g = {0};
    is(rt_group_configure(&g, 0, 1000, 0), ABI_E_INVALID_ARG, "group budget 0 refused");
    is(rt_group_configure(&g, 10, 0, 0), ABI_E_INVALID_ARG, "group period 0 refused");
    is(rt_group_configure(&g, 1001, 1000, 0), ABI_E_INVALID_ARG, "group budget above period refused");
    ok(!g.enabled && !rt_group_exhausted(&g), "refused: group untouched, never exhausted");
    is(rt_group_configure(&g, 300, 1000, 0), ABI_E_OK, "group 300 per 1000");
    is(rt_group_next_event(&g), RT_NEVER, "idle group: no event");
    rt_group_start_running(&g, 100);
    is(rt_group_next_event(&g), 400, "running: budget end at 400");
    rt_group_stop_running(&g, 250);
    rt_group_start_running(&g, 500);
    is(rt_group_next_event(&g), 650, "accounting spans threads of the group");
    rt_group_timer(&g, 650);
    ok(rt_group_exhausted(&g), "exhausted at 650");
    is(rt_group_next_event(&g), 1000, "until the replenishment at 1000");
    rt_group_stop_running(&g, 650);
    rt_group_timer(&g, 1000);
    ok(!rt_group_exhausted(&g) && rt_group_budget_left(&g) == 300, "replenished at the window boundary");

    /* a late timer: the overshoot is paid back from the next window */
    rt_group_start_running(&g, 1000);
    rt_group_timer(&g, 1340);
    ok(rt_group_exhausted(&g), "overshoot of 40");
    rt_group_stop_running(&g, 1340);
    rt_group_timer(&g, 2000);
    is(rt_group_budget_left(&g), 260, "the next window gets 300 - 40");
    rt_group_timer(&g, 3000);
    is(rt_group_budget_left(&g), 300, "then the full budget again");

    /* running across a window boundary is split at the boundary */
    rt_group_start_running(&g, 3900);
    rt_group_timer(&g, 4100);
    is(rt_group_budget_left(&g), 200, "100 before 4000 went to the old window, 100 to the new");
    rt_group_disable(&g);
    ok(!rt_group_exhausted(&g) && rt_group_next_event(&g) == RT_NEVER, "disabled: no cap");
}

int main(void)
{
    test_validation();
    test_slices_and_overrun();
    test_late_timer();
    test_next_reservation();
    test_deadline_miss();
    test_strict_releases();
    test_min_interrelease();
    test_future_start();
    test_notification_overflow();
    test_reconfigure_and_disable();
    test_group();
    return done_testing();
}
