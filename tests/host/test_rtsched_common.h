/*
 * Shared observer for the rt-sched simulation tests (test_rtsched_sim.c,
 * test_rtsched_random.c): it collects job records and notifications from
 * the simulator and checks invariants on every interval a thread runs:
 *
 *  - the running thread has the highest priority of all runnable threads
 *    (so best-effort threads run only in slack);
 *  - time observed per (thread, job, slice) never exceeds the slice budget
 *    by more than the timer granularity, and (granularity 0) equals what
 *    the job record says;
 *  - every job record is consistent (see check_record);
 *  - a capped group never runs more than its budget in a window plus the
 *    granularity, nor more than k budgets in k windows plus the granularity.
 *
 * Violations are counted, and the first few printed as TAP comments.
 */
#ifndef TEST_RTSCHED_COMMON_H
#define TEST_RTSCHED_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "abi/errors.h"
#include "rt_sched.h"
#include "rt_sim.h"

#define OBS_MAX_RECS 4096u
#define OBS_MAX_NOTES 16384u
#define OBS_MAX_WINDOWS 4096u
#define OBS_SLOTS (ABI_RT_MAX_SLICES + 1u) /* slices, then best effort */

struct obs_rec {
    unsigned tid;
    struct abi_rt_job_record rec;
};

struct obs_note {
    unsigned tid;
    struct abi_rt_notification n;
};

struct obs {
    struct rt_sim sim;
    /* demand: fixed per (thread, part), or a function when set */
    uint64_t demand[RT_SIM_MAX_THREADS][ABI_RT_MAX_SLICES];
    uint64_t (*demand_fn)(struct obs *o, unsigned tid, uint64_t job, unsigned part);
    void *user;
    struct abi_rt_params params[RT_SIM_MAX_THREADS];
    struct obs_rec recs[OBS_MAX_RECS];
    unsigned nrecs, lost_recs;
    struct obs_note notes[OBS_MAX_NOTES];
    unsigned nnotes;
    /* per-thread observation of its current job */
    uint64_t obs_job[RT_SIM_MAX_THREADS];
    bool obs_valid[RT_SIM_MAX_THREADS];
    uint64_t observed[RT_SIM_MAX_THREADS][OBS_SLOTS];
    uint64_t rec_exec[RT_SIM_MAX_THREADS]; /* execution time in records so far */
    /* per-group usage per window */
    uint64_t gwin[RT_SIM_MAX_GROUPS][OBS_MAX_WINDOWS];
    uint64_t gbudget[RT_SIM_MAX_GROUPS], gperiod[RT_SIM_MAX_GROUPS], gstart[RT_SIM_MAX_GROUPS];
    /* violations */
    unsigned prio_bad, slice_bad, exact_bad, rec_bad, said;
};

#define OBS_SAY(o, ...)                                                                                        \
    do {                                                                                                       \
        if ((o)->said++ < 8) {                                                                                 \
            printf("#   ");                                                                                    \
            printf(__VA_ARGS__);                                                                               \
            printf("\n");                                                                                      \
        }                                                                                                      \
    } while (0)

static inline uint64_t obs_demand(void *ctx, unsigned tid, uint64_t job, unsigned part)
{
    struct obs *o = ctx;
    if (o->demand_fn) return o->demand_fn(o, tid, job, part);
    return o->demand[tid][part];
}

/* A job record on its own: times ordered, time split consistently. */
static inline bool check_record(struct obs *o, unsigned tid, const struct abi_rt_job_record *r)
{
    const struct abi_rt_params *p = &o->params[tid];
    uint64_t exec = r->be_ns;
    for (unsigned i = 0; i < ABI_RT_MAX_SLICES; i++) {
        exec += r->slice_ns[i];
        if (i >= p->nslices && r->slice_ns[i]) return false;
    }
    if (r->thread_id != tid) return false;
    if (r->deadline_ns != r->release_ns + p->period_ns) return false;
    if (r->completion_ns < r->release_ns || r->completion_ns > r->deadline_ns) return false;
    if (r->missed && r->completion_ns != r->deadline_ns) return false;
    if (exec > r->completion_ns - r->release_ns) return false; /* one CPU */
    if (exec && (r->first_run_ns < r->release_ns || exec > r->completion_ns - r->first_run_ns)) return false;
    if (r->slice_switches > p->nslices) return false;
    return true;
}

static inline void obs_job(void *ctx, unsigned tid, const struct abi_rt_job_record *r)
{
    struct obs *o = ctx;
    uint64_t exec = r->be_ns;
    for (unsigned i = 0; i < ABI_RT_MAX_SLICES; i++) exec += r->slice_ns[i];
    o->rec_exec[tid] += exec;
    if (!check_record(o, tid, r)) {
        o->rec_bad++;
        OBS_SAY(o, "bad record tid %u job %llu: release %llu first %llu completion %llu deadline %llu missed %u",
                tid, (unsigned long long)r->job, (unsigned long long)r->release_ns,
                (unsigned long long)r->first_run_ns, (unsigned long long)r->completion_ns,
                (unsigned long long)r->deadline_ns, r->missed);
    }
    /* Exact timers: what the simulator saw run is what the record says. */
    if (o->sim.granularity == 0) {
        bool seen = o->obs_valid[tid] && o->obs_job[tid] == r->job;
        bool same = true;
        for (unsigned i = 0; i < ABI_RT_MAX_SLICES; i++)
            if (r->slice_ns[i] != (seen ? o->observed[tid][i] : 0)) same = false;
        if (r->be_ns != (seen ? o->observed[tid][ABI_RT_MAX_SLICES] : 0)) same = false;
        if (!same) {
            o->exact_bad++;
            OBS_SAY(o, "tid %u job %llu: record differs from observed time", tid, (unsigned long long)r->job);
        }
    }
    if (o->nrecs < OBS_MAX_RECS) {
        o->recs[o->nrecs].tid = tid;
        o->recs[o->nrecs].rec = *r;
        o->nrecs++;
    } else {
        o->lost_recs++;
    }
}

static inline void obs_notify(void *ctx, unsigned tid, const struct abi_rt_notification *n)
{
    struct obs *o = ctx;
    if (o->nnotes < OBS_MAX_NOTES) {
        o->notes[o->nnotes].tid = tid;
        o->notes[o->nnotes].n = *n;
        o->nnotes++;
    }
}

static inline void obs_ran(void *ctx, const struct rt_sim *s, unsigned tid, uint64_t from, uint64_t to)
{
    struct obs *o = ctx;
    uint8_t p = rt_sim_priority(s, tid);
    for (unsigned i = 0; i < s->nthreads; i++) {
        if (i != tid && rt_sim_runnable(s, i) && rt_sim_priority(s, i) > p) {
            o->prio_bad++;
            OBS_SAY(o, "[%llu,%llu) tid %u (prio %u) ran while tid %u (prio %u) was runnable",
                    (unsigned long long)from, (unsigned long long)to, tid, p, i, rt_sim_priority(s, i));
        }
    }
    if (!rt_sim_runnable(s, tid)) {
        o->prio_bad++;
        OBS_SAY(o, "tid %u ran while not runnable", tid);
    }
    const struct rt_sim_thread *th = &s->th[tid];
    if (th->is_rt && rt_get_state(&th->rt) == RT_ACTIVE) {
        uint64_t job = rt_job_index(&th->rt);
        if (!o->obs_valid[tid] || o->obs_job[tid] != job) {
            memset(o->observed[tid], 0, sizeof o->observed[tid]);
            o->obs_job[tid] = job;
            o->obs_valid[tid] = true;
        }
        unsigned sl = rt_slice(&th->rt);
        unsigned n = o->params[tid].nslices;
        o->observed[tid][sl < n ? sl : ABI_RT_MAX_SLICES] += to - from;
        if (sl < n && o->observed[tid][sl] > o->params[tid].slice[sl].budget_ns + s->granularity) {
            o->slice_bad++;
            OBS_SAY(o, "tid %u job %llu slice %u ran %llu > budget %llu + %llu", tid, (unsigned long long)job, sl,
                    (unsigned long long)o->observed[tid][sl],
                    (unsigned long long)o->params[tid].slice[sl].budget_ns,
                    (unsigned long long)s->granularity);
        }
    }
    if (!th->is_rt && th->group >= 0) {
        unsigned g = (unsigned)th->group;
        uint64_t t = from;
        while (t < to) {
            uint64_t w = (t - o->gstart[g]) / o->gperiod[g];
            uint64_t wend = o->gstart[g] + (w + 1) * o->gperiod[g];
            uint64_t end = to < wend ? to : wend;
            if (w < OBS_MAX_WINDOWS) o->gwin[g][w] += end - t;
            t = end;
        }
    }
}

static inline void obs_init(struct obs *o, uint64_t granularity, uint64_t rr_quantum)
{
    memset(o, 0, sizeof *o);
    struct rt_sim_hooks h = {.ctx = o, .demand = obs_demand, .ran = obs_ran, .job = obs_job, .notify = obs_notify};
    rt_sim_init(&o->sim, granularity, rr_quantum, &h);
}

static inline int obs_add_rt(struct obs *o, const struct rt_sim_rt_spec *spec)
{
    int tid = rt_sim_add_rt(&o->sim, spec);
    if (tid >= 0) o->params[tid] = spec->params;
    return tid;
}

static inline int obs_add_group(struct obs *o, uint64_t budget, uint64_t period)
{
    int g = rt_sim_add_group(&o->sim, budget, period);
    if (g >= 0) {
        o->gbudget[g] = budget;
        o->gperiod[g] = period;
        o->gstart[g] = o->sim.now;
    }
    return g;
}

/* Windows 0..nwin-1 of group g: each at most budget + granularity, any
 * prefix of k windows at most k * budget + granularity. */
static inline bool obs_group_capped(struct obs *o, unsigned g, unsigned nwin)
{
    uint64_t sum = 0, slack = o->sim.granularity;
    for (unsigned w = 0; w < nwin && w < OBS_MAX_WINDOWS; w++) {
        sum += o->gwin[g][w];
        if (o->gwin[g][w] > o->gbudget[g] + slack || sum > (w + 1) * o->gbudget[g] + slack) {
            OBS_SAY(o, "group %u window %u: %llu (total %llu), budget %llu", g, w,
                    (unsigned long long)o->gwin[g][w], (unsigned long long)sum, (unsigned long long)o->gbudget[g]);
            return false;
        }
    }
    return true;
}

/* Per (period, mode, be_prio, n, prio[], budget[]) spec with nparts parts. */
static inline struct rt_sim_rt_spec rt_spec(uint64_t period, uint32_t mode, uint8_t be_prio, unsigned n,
                                            const uint8_t *prio, const uint64_t *budget, unsigned nparts)
{
    struct rt_sim_rt_spec s;
    memset(&s, 0, sizeof s);
    s.params.period_ns = period;
    s.params.mode = mode;
    s.params.be_prio = be_prio;
    s.params.nslices = n;
    for (unsigned i = 0; i < n && i < ABI_RT_MAX_SLICES; i++) {
        s.params.slice[i].prio = prio[i];
        s.params.slice[i].budget_ns = budget[i];
    }
    s.mcp = 255;
    s.nparts = nparts;
    s.preempter = true;
    return s;
}

#endif
