/*
 * Randomised test of rt-sched on the simulator: many generated thread sets
 * (fixed seeds, so every run is the same) with 1..5 real-time threads of
 * 1..4 slices in both periodic modes, spinning and varying workloads,
 * overload included, best-effort threads, sometimes a capped group, exact
 * and late timers. Each set must keep these invariants:
 *
 *  - the observer's (test_rtsched_common.h): highest priority runs, no
 *    slice beyond budget + granularity, records consistent and (exact
 *    timers) equal to the time seen running, group within its cap;
 *  - accounting is complete: per thread, CPU time seen by the simulator ==
 *    execution time in its records + the job in progress;
 *  - releases: strict mode exactly start + k*period; minimal inter-release
 *    mode max(previous deadline, first message at or after completion),
 *    or the previous deadline after a miss; jobs numbered 0, 1, 2, ...;
 *  - notifications: one DEADLINE_MISS per missed job at its deadline, and
 *    no more OVERRUNs in a job than it has slice switches.
 */
#include "test_rtsched_common.h"
#include "tap.h"

#ifndef SETS
#define SETS 2000u /* about 0.5 s under ASan */
#endif
#define MAX_MSGS 128u

static struct obs O;
static uint64_t msgs[RT_SIM_MAX_THREADS][MAX_MSGS];
static size_t nmsgs[RT_SIM_MAX_THREADS];
static uint64_t set_seed;

static uint64_t rng_state;

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t rnd(uint64_t n) /* 0 .. n-1 */
{
    rng_state = mix(rng_state);
    return n ? rng_state % n : 0;
}

/* The workload: about the part's budget, sometimes far above; a few threads spin. */
static bool spinning[RT_SIM_MAX_THREADS];

static uint64_t demand(struct obs *o, unsigned tid, uint64_t job, unsigned part)
{
    if (spinning[tid]) return RT_SIM_SPIN;
    const struct abi_rt_params *p = &o->params[tid];
    uint64_t h = mix(set_seed ^ mix(tid * 1000003ull + job * 131ull + part));
    uint64_t b = p->slice[part < p->nslices ? part : 0].budget_ns;
    switch (h % 8) {
    case 0: return 0;
    case 1: return b * 3; /* overrun */
    default: return (h >> 8) % (b + b / 4 + 1);
    }
}

struct expect {
    uint64_t start;
    unsigned nslices;
};

static unsigned fails_run, fails_obs, fails_acct, fails_release, fails_jobs, fails_notes, fails_group;
static unsigned long long total_jobs, total_missed, total_overruns, total_lost;

static void fail(unsigned *counter, unsigned set, const char *what)
{
    if ((*counter)++ < 3) printf("#   set %u: %s\n", set, what);
}

static void one_set(unsigned set)
{
    rng_state = mix(set * 7919ull + 1);
    set_seed = mix(rng_state);
    static const uint64_t grans[] = {0, 0, 1, 7, 100};
    static const uint64_t quanta[] = {0, 50, 1000};
    obs_init(&O, grans[rnd(5)], quanta[rnd(3)]);
    O.demand_fn = demand;
    uint64_t g = O.sim.granularity;

    unsigned nrt = 1 + (unsigned)rnd(5);
    bool harmonic = rnd(2);
    /* utilisation of budgets, in per mille, overload included */
    uint64_t util = 300 + rnd(900);
    struct expect ex[RT_SIM_MAX_THREADS];
    uint64_t max_period = 0;
    for (unsigned i = 0; i < nrt; i++) {
        uint64_t period = harmonic ? 1000ull << rnd(3) : 500 + 100 * rnd(46);
        unsigned n = 1 + (unsigned)rnd(4);
        uint64_t total = period * (util / nrt) / 1000;
        if (total < n) total = n;
        if (total > period) total = period;
        uint8_t prio[ABI_RT_MAX_SLICES];
        uint64_t budget[ABI_RT_MAX_SLICES], left = total;
        for (unsigned s = 0; s < n; s++) {
            prio[s] = (uint8_t)(20 + rnd(231));
            uint64_t share = s + 1 == n ? left : 1 + rnd(left - (n - s - 1));
            if (share > left - (n - s - 1)) share = left - (n - s - 1);
            budget[s] = share;
            left -= share;
        }
        uint32_t mode = rnd(10) < 3 ? ABI_RT_MIN_INTERRELEASE : ABI_RT_STRICT_PERIODIC;
        struct rt_sim_rt_spec sp = rt_spec(period, mode, (uint8_t)(1 + rnd(40)), n, prio, budget,
                                           1 + (unsigned)rnd(n));
        sp.params.start_ns = rnd(2) ? 0 : rnd(3000);
        sp.preempter = true;
        nmsgs[i] = 0;
        if (mode == ABI_RT_MIN_INTERRELEASE) {
            uint64_t t = 0;
            for (unsigned m = 0; m < MAX_MSGS; m++) {
                t += rnd(2 * period);
                msgs[i][nmsgs[i]++] = t;
            }
            sp.msg_times = msgs[i];
            sp.nmsg = nmsgs[i];
        }
        spinning[i] = rnd(12) == 0;
        int tid = obs_add_rt(&O, &sp);
        if (tid != (int)i) {
            fail(&fails_run, set, "a generated thread was refused");
            return;
        }
        ex[i].start = sp.params.start_ns;
        ex[i].nslices = n;
        if (period > max_period) max_period = period;
    }
    int grp = -1;
    if (rnd(2)) {
        uint64_t gp = 500 + 100 * rnd(20);
        grp = obs_add_group(&O, 1 + rnd(gp), gp);
    }
    unsigned nbe = (unsigned)rnd(4);
    for (unsigned b = 0; b < nbe; b++)
        rt_sim_add_be(&O.sim, (uint8_t)(1 + rnd(60)), grp >= 0 && rnd(3) ? grp : -1);

    uint64_t until = 20 * max_period;
    if (rt_sim_run(&O.sim, until) != 0) fail(&fails_run, set, "simulation stalled");
    if (O.prio_bad || O.slice_bad || O.exact_bad || O.rec_bad || O.lost_recs)
        fail(&fails_obs, set, "observer invariant broken");

    /* Accounting is complete: bring every thread up to `until` first. */
    for (unsigned i = 0; i < nrt; i++) {
        struct rt_thread *t = &O.sim.th[i].rt;
        rt_timer(t, until);
        struct abi_rt_notification n;
        while (rt_pop_notification(t, &n)) obs_notify(&O, i, &n);
        uint64_t current = 0;
        if (rt_get_state(t) == RT_ACTIVE) {
            current = t->rec.be_ns;
            for (unsigned s = 0; s < ABI_RT_MAX_SLICES; s++) current += t->rec.slice_ns[s];
        }
        if (O.rec_exec[i] + current != O.sim.th[i].cpu_ns) fail(&fails_acct, set, "cpu time != recorded time");
    }

    /* Releases and job numbers, per thread. */
    for (unsigned i = 0; i < nrt; i++) {
        const struct abi_rt_params *p = &O.params[i];
        uint64_t next_job = 0;
        const struct abi_rt_job_record *prev = NULL;
        for (unsigned j = 0; j < O.nrecs; j++) {
            if (O.recs[j].tid != i) continue;
            const struct abi_rt_job_record *r = &O.recs[j].rec;
            total_jobs++;
            total_missed += r->missed;
            if (r->job != next_job++) fail(&fails_jobs, set, "job numbers not consecutive");
            for (unsigned s = 0; s < p->nslices; s++)
                if (r->slice_ns[s] > p->slice[s].budget_ns + g) fail(&fails_obs, set, "record slice above budget + g");
            if (p->mode == ABI_RT_STRICT_PERIODIC) {
                if (r->release_ns != ex[i].start + r->job * p->period_ns)
                    fail(&fails_release, set, "strict release off the grid");
            } else if (!prev) {
                if (r->release_ns != ex[i].start) fail(&fails_release, set, "first release not at start");
            } else if (prev->missed) {
                if (r->release_ns != prev->deadline_ns) fail(&fails_release, set, "release after a miss not at deadline");
            } else {
                /* Released at the later of the deadline and the first message
                 * while waiting (one at the completion instant itself may have
                 * come just before next_period, and not count). */
                bool at_deadline_ok = false, is_msg = false, earlier_msg = false;
                for (size_t k = 0; k < nmsgs[i]; k++) {
                    uint64_t m = msgs[i][k];
                    if (m >= prev->completion_ns && m <= prev->deadline_ns) at_deadline_ok = true;
                    if (m == r->release_ns && m >= prev->completion_ns) is_msg = true;
                    if (m > prev->completion_ns && m < r->release_ns) earlier_msg = true;
                }
                bool good = r->release_ns == prev->deadline_ns ? at_deadline_ok
                                                               : r->release_ns > prev->deadline_ns && is_msg && !earlier_msg;
                if (!good) fail(&fails_release, set, "min inter-release release wrong");
            }
            prev = r;
        }
    }

    /* Notifications against records. */
    for (unsigned i = 0; i < nrt; i++) {
        unsigned j = 0; /* walks this thread's records */
        for (unsigned k = 0; k < O.nnotes; k++) {
            if (O.notes[k].tid != i) continue;
            const struct abi_rt_notification *n = &O.notes[k].n;
            total_lost += n->lost;
            /* the job this event belongs to: the earliest with release <= t <= deadline */
            while (j < O.nrecs && (O.recs[j].tid != i || O.recs[j].rec.deadline_ns < n->time_ns)) j++;
            if (n->type == ABI_RT_EV_DEADLINE_MISS) {
                if (j >= O.nrecs || !O.recs[j].rec.missed || O.recs[j].rec.deadline_ns != n->time_ns)
                    fail(&fails_notes, set, "DEADLINE_MISS without a missed job at that deadline");
                if (n->slice > O.params[i].nslices) fail(&fails_notes, set, "miss slice out of range");
            } else if (n->type == ABI_RT_EV_OVERRUN) {
                total_overruns++;
                if (n->slice >= O.params[i].nslices) fail(&fails_notes, set, "overrun slice out of range");
            } else {
                fail(&fails_notes, set, "unknown notification type");
            }
        }
        /* every missed job was notified (nothing was coalesced) */
        unsigned missed = 0, miss_notes = 0;
        for (unsigned r = 0; r < O.nrecs; r++) missed += O.recs[r].tid == i && O.recs[r].rec.missed;
        for (unsigned k = 0; k < O.nnotes; k++)
            miss_notes += O.notes[k].tid == i && O.notes[k].n.type == ABI_RT_EV_DEADLINE_MISS;
        if (missed != miss_notes) fail(&fails_notes, set, "missed jobs != DEADLINE_MISS notifications");
        /* overruns per job bounded by its slice switches */
        for (unsigned r = 0; r < O.nrecs; r++) {
            if (O.recs[r].tid != i) continue;
            const struct abi_rt_job_record *rec = &O.recs[r].rec;
            unsigned over = 0;
            for (unsigned k = 0; k < O.nnotes; k++) {
                const struct abi_rt_notification *n = &O.notes[k].n;
                /* an overrun at a release instant belongs to the job before:
                 * a fresh slice cannot be exhausted the instant it starts */
                if (O.notes[k].tid == i && n->type == ABI_RT_EV_OVERRUN && n->time_ns > rec->release_ns &&
                    n->time_ns <= rec->deadline_ns)
                    over++;
            }
            if (over > rec->slice_switches) fail(&fails_notes, set, "more overruns than slice switches");
        }
    }

    if (grp >= 0 && !obs_group_capped(&O, (unsigned)grp, (unsigned)(until / O.gperiod[grp])))
        fail(&fails_group, set, "group above its cap");
}

int main(void)
{
    for (unsigned set = 0; set < SETS; set++) one_set(set);
    printf("# %u sets, %llu jobs, %llu missed, %llu overruns, %llu notifications lost\n", SETS, total_jobs,
           total_missed, total_overruns, total_lost);
    is(fails_run, 0, "every set simulated without stalling");
    is(fails_obs, 0, "priority order, slice budgets (+ granularity), records: observer invariants hold");
    is(fails_acct, 0, "CPU time == recorded execution time, per thread");
    is(fails_jobs, 0, "jobs numbered 0, 1, 2, ... per thread");
    is(fails_release, 0, "releases: strict grid; min inter-release at max(deadline, message)");
    is(fails_notes, 0, "notifications match missed jobs; overruns within slice switches");
    is(fails_group, 0, "capped groups stayed within budget per window");
    ok(total_missed > 0 && total_overruns > 0 && total_lost == 0, "the sets exercised misses and overruns");
    return done_testing();
}
