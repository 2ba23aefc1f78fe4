/*
 * Scenario tests for rt-sched on the one-CPU simulator (rt-sched/rt_sim.c):
 * real-time threads with slices, best-effort threads and a capped group,
 * under exact timers and timers up to one granularity late. The observer
 * in test_rtsched_common.h checks priorities, budgets, records and the
 * group cap on every interval; each scenario adds its own exact checks.
 */
#include "test_rtsched_common.h"
#include "tap.h"

static struct obs O; /* large: keep it off the stack */

static uint64_t fire(uint64_t e, uint64_t g)
{
    return g && e % g ? e + g - e % g : e;
}

static void clean(struct obs *o, const char *what)
{
    ok(o->prio_bad == 0 && o->slice_bad == 0 && o->exact_bad == 0 && o->rec_bad == 0,
       "%s: priorities, budgets and records consistent (%u/%u/%u/%u)", what, o->prio_bad, o->slice_bad,
       o->exact_bad, o->rec_bad);
}

/* A spinning thread: every slice ends within one granularity of its budget,
 * overrun notifications name slices 0, 1, 2 at the exact exhaustion times,
 * and the best-effort phase runs at be_prio (here below a hog). */
static void test_spinner(uint64_t g)
{
    static const uint8_t pr[] = {90, 80, 70};
    static const uint64_t bu[] = {300, 200, 100};
    obs_init(&O, g, 0);
    struct rt_sim_rt_spec sp = rt_spec(1000, ABI_RT_STRICT_PERIODIC, 5, 3, pr, bu, 1);
    int rt = obs_add_rt(&O, &sp);
    O.demand[rt][0] = RT_SIM_SPIN;
    int hog = rt_sim_add_be(&O.sim, 20, -1);
    ok(rt == 0 && hog == 1, "g=%llu: spinner and hog added", (unsigned long long)g);
    is(rt_sim_run(&O.sim, 50500), 0, "g=%llu: 50 periods simulated", (unsigned long long)g);
    clean(&O, "spinner");

    is(O.nrecs, 50, "g=%llu: 50 job records", (unsigned long long)g);
    bool budgets = true, notes = O.nnotes >= O.nrecs * 4, be_zero = true;
    unsigned k = 0;
    for (unsigned j = 0; j < O.nrecs; j++) {
        const struct abi_rt_job_record *r = &O.recs[j].rec;
        for (unsigned i = 0; i < 3; i++)
            if (r->slice_ns[i] < bu[i] || r->slice_ns[i] > bu[i] + g) budgets = false;
        if (r->be_ns) be_zero = false;
        /* expected notifications: overruns of 0,1,2 then the miss */
        uint64_t t = fire(r->release_ns, g);
        for (unsigned i = 0; i < 3; i++, k++) {
            uint64_t e = t + bu[i];
            const struct abi_rt_notification *n = &O.notes[k].n;
            if (k >= O.nnotes || n->type != ABI_RT_EV_OVERRUN || n->slice != i || n->time_ns != e) notes = false;
            t = fire(e, g);
        }
        const struct abi_rt_notification *n = &O.notes[k++].n;
        if (k > O.nnotes || n->type != ABI_RT_EV_DEADLINE_MISS || n->slice != 3 || n->time_ns != r->deadline_ns)
            notes = false;
    }
    ok(budgets, "g=%llu: each slice ran between its budget and budget + g", (unsigned long long)g);
    ok(notes, "g=%llu: OVERRUN for slices 0,1,2 at the exact exhaustion times, then DEADLINE_MISS",
       (unsigned long long)g);
    ok(be_zero, "g=%llu: at be_prio 5 the spinner never beat the hog at 20", (unsigned long long)g);
    uint64_t expect_hog = 50500 - O.sim.th[rt].cpu_ns;
    is(O.sim.th[hog].cpu_ns, expect_hog, "g=%llu: the hog got every other nanosecond", (unsigned long long)g);
    if (g == 0) {
        bool exact = true;
        for (unsigned j = 0; j < O.nrecs; j++)
            if (O.recs[j].rec.slice_ns[0] != 300 || O.recs[j].rec.slice_ns[1] != 200 ||
                O.recs[j].rec.slice_ns[2] != 100 || !O.recs[j].rec.missed ||
                O.recs[j].rec.release_ns != 1000 * j)
                exact = false;
        ok(exact, "g=0: exactly 300/200/100 per job, every job missed, released at 1000*k");
    }
}

/* The mandatory part ends early (next_reservation), the optional part
 * overruns its slice and finishes in best effort. */
static void test_mandatory_optional(void)
{
    static const uint8_t pr[] = {90, 60};
    static const uint64_t bu[] = {300, 200};
    obs_init(&O, 0, 0);
    struct rt_sim_rt_spec sp = rt_spec(1000, ABI_RT_STRICT_PERIODIC, 30, 2, pr, bu, 2);
    int rt = obs_add_rt(&O, &sp);
    O.demand[rt][0] = 120;
    O.demand[rt][1] = 250;
    rt_sim_add_be(&O.sim, 20, -1);
    is(rt_sim_run(&O.sim, 10000), 0, "mandatory/optional: simulated");
    clean(&O, "mandatory/optional");
    bool recs = O.nrecs == 10;
    for (unsigned j = 0; j < O.nrecs; j++) {
        const struct abi_rt_job_record *r = &O.recs[j].rec;
        if (r->release_ns != 1000 * j || r->first_run_ns != r->release_ns || r->slice_ns[0] != 120 ||
            r->slice_ns[1] != 200 || r->be_ns != 50 || r->slice_switches != 2 || r->missed ||
            r->completion_ns != r->release_ns + 370)
            recs = false;
    }
    ok(recs, "records: mandatory 120, optional 200, best effort 50, completion at release + 370");
    bool notes = O.nnotes == 10;
    for (unsigned j = 0; j < O.nnotes; j++)
        if (O.notes[j].n.type != ABI_RT_EV_OVERRUN || O.notes[j].n.slice != 1 || O.notes[j].n.time_ns != 1000 * j + 320)
            notes = false;
    ok(notes, "one OVERRUN per job, slice 1, at release + 320 (no notification for the voluntary switch)");
}

/* Strict periods under load and late timers: releases on the grid. */
static uint64_t varying(struct obs *o, unsigned tid, uint64_t job, unsigned part)
{
    (void)o;
    return 40 + (job * 37 + tid * 11 + part * 5) % 150;
}

static void test_strict_grid(void)
{
    static const uint8_t p0[] = {200, 100}, p1[] = {190, 90}, p2[] = {180};
    static const uint64_t b0[] = {200, 100}, b1[] = {200, 200}, b2[] = {300};
    obs_init(&O, 13, 0);
    O.demand_fn = varying;
    struct rt_sim_rt_spec s0 = rt_spec(1000, ABI_RT_STRICT_PERIODIC, 10, 2, p0, b0, 2);
    struct rt_sim_rt_spec s1 = rt_spec(1500, ABI_RT_STRICT_PERIODIC, 10, 2, p1, b1, 2);
    struct rt_sim_rt_spec s2 = rt_spec(2500, ABI_RT_STRICT_PERIODIC, 10, 1, p2, b2, 1);
    s1.params.start_ns = 700;
    obs_add_rt(&O, &s0);
    obs_add_rt(&O, &s1);
    obs_add_rt(&O, &s2);
    rt_sim_add_be(&O.sim, 5, -1);
    is(rt_sim_run(&O.sim, 75000), 0, "strict grid: simulated");
    clean(&O, "strict grid");
    const uint64_t period[] = {1000, 1500, 2500}, start[] = {0, 700, 0};
    uint64_t next_job[3] = {0, 0, 0};
    bool grid = true, missed = false;
    for (unsigned j = 0; j < O.nrecs; j++) {
        unsigned t = O.recs[j].tid;
        const struct abi_rt_job_record *r = &O.recs[j].rec;
        if (r->job != next_job[t] || r->release_ns != start[t] + r->job * period[t]) grid = false;
        next_job[t]++;
        if (r->missed) missed = true;
    }
    ok(grid, "every release at start + k*period, jobs numbered in order");
    ok(!missed, "no deadline missed (utilisation below 1)");
    ok(next_job[0] >= 75 && next_job[1] >= 49 && next_job[2] >= 30, "every job due by the end recorded (%llu %llu %llu)",
       (unsigned long long)next_job[0], (unsigned long long)next_job[1], (unsigned long long)next_job[2]);
}

/* Minimal inter-release: each period starts at the later of the period end
 * and a message. */
static void test_min_interrelease(void)
{
    static const uint8_t pr[] = {100};
    static const uint64_t bu[] = {300};
    static const uint64_t msgs[] = {1500, 1800, 4200, 4300, 6000};
    obs_init(&O, 0, 0);
    struct rt_sim_rt_spec sp = rt_spec(1000, ABI_RT_MIN_INTERRELEASE, 10, 1, pr, bu, 1);
    sp.msg_times = msgs;
    sp.nmsg = 5;
    int rt = obs_add_rt(&O, &sp);
    O.demand[rt][0] = 100;
    is(rt_sim_run(&O.sim, 10000), 0, "min inter-release: simulated");
    clean(&O, "min inter-release");
    static const uint64_t want[] = {0, 1500, 2500, 4200, 5200, 6200};
    bool rel = O.nrecs == 6;
    for (unsigned j = 0; j < O.nrecs && j < 6; j++)
        if (O.recs[j].rec.release_ns != want[j] || O.recs[j].rec.completion_ns != want[j] + 100 ||
            O.recs[j].rec.deadline_ns != want[j] + 1000)
            rel = false;
    ok(rel, "releases 0, 1500 (message), 2500 (period end after an early message), 4200, 5200, 6200");
    ok(!rt_runnable(&O.sim.th[rt].rt), "without further messages it waits");
}

/* After its slices the thread runs at be_prio: above a hog at 20 it
 * finishes its job; below a hog at 40 it starves and misses. */
static void test_be_fallback(uint8_t hog_prio)
{
    static const uint8_t pr[] = {90};
    static const uint64_t bu[] = {200};
    obs_init(&O, 0, 0);
    struct rt_sim_rt_spec sp = rt_spec(1000, ABI_RT_STRICT_PERIODIC, 30, 1, pr, bu, 1);
    int rt = obs_add_rt(&O, &sp);
    O.demand[rt][0] = 500;
    int hog = rt_sim_add_be(&O.sim, hog_prio, -1);
    is(rt_sim_run(&O.sim, 10000), 0, "be fallback (hog %u): simulated", hog_prio);
    clean(&O, "be fallback");
    bool recs = O.nrecs == 10;
    for (unsigned j = 0; j < O.nrecs; j++) {
        const struct abi_rt_job_record *r = &O.recs[j].rec;
        if (hog_prio < 30 && (r->slice_ns[0] != 200 || r->be_ns != 300 || r->missed)) recs = false;
        if (hog_prio > 30 && (r->slice_ns[0] != 200 || r->be_ns != 0 || !r->missed)) recs = false;
    }
    if (hog_prio < 30) {
        ok(recs, "hog at %u: 200 in the slice, 300 at be_prio 30, no miss", hog_prio);
        is(O.sim.th[hog].cpu_ns, 5000, "the hog ran only after each job (500 per period)");
    } else {
        ok(recs, "hog at %u: 200 in the slice, nothing at be_prio 30, every job missed", hog_prio);
        is(O.sim.th[hog].cpu_ns, 8000, "the hog ran everything but the slices");
    }
}

/* Several real-time threads with mandatory and optional slices, and two
 * best-effort hogs: the hogs run only in slack. */
static void test_slack_only(void)
{
    static const uint8_t p0[] = {210, 110}, p1[] = {205, 105}, p2[] = {200, 100};
    static const uint64_t b0[] = {200, 200}, b1[] = {200, 200}, b2[] = {200, 200};
    obs_init(&O, 0, 100);
    O.demand_fn = varying;
    struct rt_sim_rt_spec s0 = rt_spec(1000, ABI_RT_STRICT_PERIODIC, 1, 2, p0, b0, 2);
    struct rt_sim_rt_spec s1 = rt_spec(2000, ABI_RT_STRICT_PERIODIC, 1, 2, p1, b1, 2);
    struct rt_sim_rt_spec s2 = rt_spec(4000, ABI_RT_STRICT_PERIODIC, 1, 2, p2, b2, 2);
    obs_add_rt(&O, &s0);
    obs_add_rt(&O, &s1);
    obs_add_rt(&O, &s2);
    int h0 = rt_sim_add_be(&O.sim, 50, -1);
    int h1 = rt_sim_add_be(&O.sim, 50, -1);
    is(rt_sim_run(&O.sim, 40000), 0, "slack: simulated");
    clean(&O, "slack");
    uint64_t rt_exec = O.sim.th[0].cpu_ns + O.sim.th[1].cpu_ns + O.sim.th[2].cpu_ns;
    bool missed = false;
    for (unsigned j = 0; j < O.nrecs; j++)
        if (O.recs[j].rec.missed) missed = true;
    ok(!missed, "no real-time job missed");
    uint64_t hogs = O.sim.th[h0].cpu_ns + O.sim.th[h1].cpu_ns;
    is(hogs + rt_exec, 40000, "hogs got exactly the slack (40000 - real-time execution)");
    ok(O.sim.th[h0].cpu_ns > 0 && O.sim.th[h1].cpu_ns > 0, "and shared it round robin (%llu / %llu)",
       (unsigned long long)O.sim.th[h0].cpu_ns, (unsigned long long)O.sim.th[h1].cpu_ns);
}

/* A capped group of best-effort hogs above an uncapped one, with a
 * real-time thread above both: the group gets its budget per window, no more. */
static void test_group_cap(uint64_t g)
{
    static const uint8_t pr[] = {100};
    static const uint64_t bu[] = {300};
    obs_init(&O, g, 50);
    int grp = obs_add_group(&O, 200, 1000);
    struct rt_sim_rt_spec sp = rt_spec(1000, ABI_RT_STRICT_PERIODIC, 1, 1, pr, bu, 1);
    sp.params.start_ns = 0;
    int rt = obs_add_rt(&O, &sp);
    O.demand[rt][0] = 250;
    int m0 = rt_sim_add_be(&O.sim, 60, grp);
    int m1 = rt_sim_add_be(&O.sim, 60, grp);
    int low = rt_sim_add_be(&O.sim, 10, -1);
    ok(grp == 0 && m0 >= 0 && m1 >= 0 && low >= 0, "g=%llu: group with two hogs, an outside hog",
       (unsigned long long)g);
    is(rt_sim_run(&O.sim, 100000), 0, "g=%llu: 100 windows simulated", (unsigned long long)g);
    clean(&O, "group cap");
    ok(obs_group_capped(&O, 0, 100), "g=%llu: at most 200 per window (+g), at most k*200 (+g) in k windows",
       (unsigned long long)g);
    uint64_t members = O.sim.th[m0].cpu_ns + O.sim.th[m1].cpu_ns;
    ok(members <= 100 * 200 + g && members + g >= 100 * 200,
       "g=%llu: the group used its share (%llu of 20000)", (unsigned long long)g, (unsigned long long)members);
    ok(O.sim.th[m0].cpu_ns > 0 && O.sim.th[m1].cpu_ns > 0, "g=%llu: both members ran", (unsigned long long)g);
    is(O.sim.th[low].cpu_ns + members + O.sim.th[rt].cpu_ns, 100000, "g=%llu: the outside hog got the rest",
       (unsigned long long)g);
    bool no_miss = true;
    for (unsigned j = 0; j < O.nrecs; j++)
        if (O.recs[j].rec.missed) no_miss = false;
    ok(no_miss, "g=%llu: the real-time thread never missed", (unsigned long long)g);
}

/* The caller's maximum controlled priority limits every slice and be_prio. */
static void test_priority_limit(void)
{
    static const uint8_t pr[] = {100, 120};
    static const uint64_t bu[] = {100, 100};
    obs_init(&O, 0, 0);
    struct rt_sim_rt_spec sp = rt_spec(1000, ABI_RT_STRICT_PERIODIC, 10, 2, pr, bu, 1);
    sp.mcp = 110;
    is(rt_sim_add_rt(&O.sim, &sp), -ABI_E_PRIORITY, "slice priority 120 above mcp 110 refused");
    sp.mcp = 120;
    is(rt_sim_add_rt(&O.sim, &sp), 0, "allowed with mcp 120");
    sp.params.be_prio = 121;
    is(rt_sim_add_rt(&O.sim, &sp), -ABI_E_PRIORITY, "be_prio above mcp refused");
    sp.params.be_prio = 10;
    sp.params.slice[1].budget_ns = 901;
    is(rt_sim_add_rt(&O.sim, &sp), -ABI_E_INVALID_ARG, "budgets above the period refused");
}

/* Without a preempter the queue fills and coalesces. */
static void test_unread_notifications(void)
{
    static const uint8_t pr[] = {100, 90};
    static const uint64_t bu[] = {100, 100};
    obs_init(&O, 0, 0);
    struct rt_sim_rt_spec sp = rt_spec(1000, ABI_RT_STRICT_PERIODIC, 10, 2, pr, bu, 1);
    sp.preempter = false;
    int rt = obs_add_rt(&O, &sp);
    O.demand[rt][0] = RT_SIM_SPIN;
    is(rt_sim_run(&O.sim, 10500), 0, "unread notifications: simulated");
    struct rt_thread *t = &O.sim.th[rt].rt;
    is(rt_notifications_pending(t), RT_NOTIFY_QUEUE_LEN, "the queue is full");
    struct abi_rt_notification n[RT_NOTIFY_QUEUE_LEN];
    for (unsigned i = 0; i < RT_NOTIFY_QUEUE_LEN; i++) rt_pop_notification(t, &n[i]);
    ok(n[0].lost == 0 && n[0].time_ns == 100 && n[2].type == ABI_RT_EV_DEADLINE_MISS, "oldest events kept in order");
    /* 10 full periods of 3 events, plus 2 overruns at 10100 and 10200 */
    is(n[3].lost, 32 - 4, "the last entry counts the 28 events coalesced into it");
    ok(n[3].type == ABI_RT_EV_OVERRUN && n[3].time_ns == 10200 && n[3].slice == 1, "and is the newest event");
}

int main(void)
{
    test_spinner(0);
    test_spinner(7);
    test_spinner(37);
    test_mandatory_optional();
    test_strict_grid();
    test_min_interrelease();
    test_be_fallback(20);
    test_be_fallback(40);
    test_slack_only();
    test_group_cap(0);
    test_group_cap(11);
    test_priority_limit();
    test_unread_notifications();
    return done_testing();
}
