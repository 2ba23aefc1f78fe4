/*
 * The one-CPU simulator (see rt_sim.h). Each step: let the running thread
 * act if its work is done, deliver due messages and timers, pick the best
 * runnable thread and switch to it, then advance time to the earliest next
 * event (work completion, timer, message, round-robin quantum end).
 */
#include "rt_sim.h"

#include "abi/errors.h"

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > RT_NEVER - b ? RT_NEVER : a + b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static void sim_sink(void *ctx, const struct abi_rt_job_record *rec)
{
    struct rt_sim *s = ctx;
    if (s->hooks.job) s->hooks.job(s->hooks.ctx, (unsigned)rec->thread_id, rec);
}

void rt_sim_init(struct rt_sim *s, uint64_t granularity, uint64_t rr_quantum, const struct rt_sim_hooks *hooks)
{
    *s = (struct rt_sim){0};
    s->granularity = granularity;
    s->rr_quantum = rr_quantum;
    s->running = RT_SIM_IDLE;
    if (hooks) s->hooks = *hooks;
}

int rt_sim_add_group(struct rt_sim *s, uint64_t budget, uint64_t period)
{
    if (s->ngroups >= RT_SIM_MAX_GROUPS) return -ABI_E_NO_MEMORY;
    int rc = rt_group_configure(&s->grp[s->ngroups], budget, period, s->now);
    if (rc != ABI_E_OK) return -rc;
    return (int)s->ngroups++;
}

/* The thread's program learns of a new job (a release, or a forced new
 * period that abandons the old job's remaining work). */
static void sync_program(struct rt_sim *s, unsigned tid)
{
    struct rt_sim_thread *th = &s->th[tid];
    if (!th->is_rt) return;
    if (rt_get_state(&th->rt) != RT_ACTIVE) {
        th->in_job = false;
        return;
    }
    uint64_t job = rt_job_index(&th->rt);
    if (th->in_job && th->job == job) return;
    th->in_job = true;
    th->job = job;
    th->part = 0;
    th->need_demand = true;
}

/* Demands are asked for lazily, at the next simulation step, so a caller
 * may set up its workload after adding the thread. */
static void fetch_demand(struct rt_sim *s, unsigned tid)
{
    struct rt_sim_thread *th = &s->th[tid];
    if (!th->need_demand) return;
    th->need_demand = false;
    th->left = s->hooks.demand ? s->hooks.demand(s->hooks.ctx, tid, th->job, th->part) : RT_SIM_SPIN;
}

int rt_sim_add_rt(struct rt_sim *s, const struct rt_sim_rt_spec *spec)
{
    if (s->nthreads >= RT_SIM_MAX_THREADS) return -ABI_E_NO_MEMORY;
    unsigned tid = s->nthreads;
    struct rt_sim_thread *th = &s->th[tid];
    *th = (struct rt_sim_thread){0};
    rt_init(&th->rt, tid, sim_sink, s);
    int rc = rt_configure(&th->rt, &spec->params, spec->mcp, s->now);
    if (rc != ABI_E_OK) return -rc;
    th->is_rt = true;
    th->group = -1;
    th->preempter = spec->preempter;
    th->nparts = spec->nparts ? spec->nparts : 1;
    if (th->nparts > spec->params.nslices) th->nparts = spec->params.nslices;
    th->msg_times = spec->msg_times;
    th->nmsg = spec->msg_times ? spec->nmsg : 0;
    /* A thread whose first release lies ahead waits for it (Fiasco's
     * pattern: set the parameters, then next_period). */
    if (rt_get_state(&th->rt) == RT_IDLE) rt_next_period(&th->rt, s->now);
    sync_program(s, tid);
    s->nthreads++;
    return (int)tid;
}

int rt_sim_add_be(struct rt_sim *s, uint8_t prio, int group)
{
    if (s->nthreads >= RT_SIM_MAX_THREADS) return -ABI_E_NO_MEMORY;
    if (group >= (int)s->ngroups) return -ABI_E_INVALID_ARG;
    struct rt_sim_thread *th = &s->th[s->nthreads];
    *th = (struct rt_sim_thread){0};
    th->fixed_prio = prio;
    th->group = group < 0 ? -1 : group;
    th->left = RT_SIM_SPIN;
    return (int)s->nthreads++;
}

uint8_t rt_sim_priority(const struct rt_sim *s, unsigned tid)
{
    const struct rt_sim_thread *th = &s->th[tid];
    return th->is_rt ? rt_priority(&th->rt) : th->fixed_prio;
}

bool rt_sim_runnable(const struct rt_sim *s, unsigned tid)
{
    const struct rt_sim_thread *th = &s->th[tid];
    if (th->is_rt) return rt_runnable(&th->rt);
    return th->group < 0 || !rt_group_exhausted(&s->grp[th->group]);
}

/* When a timer set for `e` fires: up to one granularity late. */
static uint64_t fire_time(const struct rt_sim *s, uint64_t e)
{
    uint64_t g = s->granularity;
    if (e == RT_NEVER || g == 0 || e % g == 0) return e;
    return add_sat(e, g - e % g);
}

static bool quantum_over(const struct rt_sim *s)
{
    return s->rr_quantum && s->now >= s->quantum_end;
}

/* Is a a better choice than b (b < 0: nobody)? Highest priority; among
 * equals the running thread until its quantum is over, then the one that
 * has waited longest. */
static bool better(const struct rt_sim *s, unsigned a, int b)
{
    if (b < 0) return true;
    uint8_t pa = rt_sim_priority(s, a), pb = rt_sim_priority(s, (unsigned)b);
    if (pa != pb) return pa > pb;
    bool keep_a = (int)a == s->running && !quantum_over(s);
    bool keep_b = b == s->running && !quantum_over(s);
    if (keep_a != keep_b) return keep_a;
    uint64_t la = (int)a == s->running ? s->now : s->th[a].last_ran;
    uint64_t lb = b == s->running ? s->now : s->th[b].last_ran;
    if (la != lb) return la < lb;
    return (int)a < b;
}

static int pick(const struct rt_sim *s)
{
    int best = -1;
    for (unsigned i = 0; i < s->nthreads; i++)
        if (rt_sim_runnable(s, i) && better(s, i, best)) best = (int)i;
    return best;
}

static void stop(struct rt_sim *s, unsigned tid)
{
    struct rt_sim_thread *th = &s->th[tid];
    if (th->is_rt) rt_stop_running(&th->rt, s->now);
    else if (th->group >= 0) rt_group_stop_running(&s->grp[th->group], s->now);
    th->last_ran = s->now;
}

static void start(struct rt_sim *s, unsigned tid)
{
    struct rt_sim_thread *th = &s->th[tid];
    if (th->is_rt) rt_start_running(&th->rt, s->now);
    else if (th->group >= 0) rt_group_start_running(&s->grp[th->group], s->now);
    s->quantum_end = add_sat(s->now, s->rr_quantum);
}

/* The running thread finished a part: it moves to the next reservation or
 * ends its job. Bounded: every pass ends a part or the job. */
static void act(struct rt_sim *s, unsigned tid)
{
    struct rt_sim_thread *th = &s->th[tid];
    for (unsigned pass = 0; pass <= ABI_RT_MAX_SLICES; pass++) {
        fetch_demand(s, tid);
        if (!th->in_job || th->left != 0) break;
        if (th->part + 1 < th->nparts) {
            uint64_t time_left;
            /* Out of sync after an overrun: the thread is already further on. */
            (void)rt_next_reservation(&th->rt, th->part, s->now, &time_left);
            th->part++;
            th->need_demand = true;
        } else {
            rt_next_period(&th->rt, s->now);
            th->in_job = false;
        }
        sync_program(s, tid);
    }
}

static void process_due(struct rt_sim *s)
{
    if (s->running >= 0 && s->th[s->running].is_rt) act(s, (unsigned)s->running);
    for (unsigned i = 0; i < s->nthreads; i++) {
        struct rt_sim_thread *th = &s->th[i];
        if (!th->is_rt) continue;
        while (th->msg_next < th->nmsg && th->msg_times[th->msg_next] <= s->now) {
            rt_message_arrived(&th->rt, s->now);
            th->msg_next++;
        }
        if (fire_time(s, rt_next_event(&th->rt)) <= s->now) rt_timer(&th->rt, s->now);
        sync_program(s, i);
    }
    for (unsigned g = 0; g < s->ngroups; g++)
        if (fire_time(s, rt_group_next_event(&s->grp[g])) <= s->now) rt_group_timer(&s->grp[g], s->now);
    for (unsigned i = 0; i < s->nthreads; i++) {
        struct rt_sim_thread *th = &s->th[i];
        struct abi_rt_notification n;
        if (!th->is_rt || !th->preempter) continue;
        while (rt_pop_notification(&th->rt, &n))
            if (s->hooks.notify) s->hooks.notify(s->hooks.ctx, i, &n);
    }
}

/* Switch to the best runnable thread. Stopping and starting a thread may
 * process its overdue events (a late timer's deadline, say) and change its
 * priority, so choose again until the choice is stable. */
static void dispatch(struct rt_sim *s)
{
    for (unsigned i = 0; i < s->nthreads; i++)
        if (s->th[i].is_rt) fetch_demand(s, i);
    for (unsigned pass = 0; pass < 2 * RT_SIM_MAX_THREADS; pass++) {
        int next = pick(s);
        if (next == s->running) {
            if (next >= 0 && quantum_over(s)) s->quantum_end = add_sat(s->now, s->rr_quantum);
            return;
        }
        if (s->running >= 0) {
            stop(s, (unsigned)s->running);
            s->running = RT_SIM_IDLE;
            /* Charging the one that stopped may have exhausted its group. */
            next = pick(s);
        }
        s->running = next;
        if (next >= 0) start(s, (unsigned)next);
        s->switches++;
    }
}

static bool has_peer(const struct rt_sim *s)
{
    uint8_t p = rt_sim_priority(s, (unsigned)s->running);
    for (unsigned i = 0; i < s->nthreads; i++)
        if ((int)i != s->running && rt_sim_runnable(s, i) && rt_sim_priority(s, i) == p) return true;
    return false;
}

static uint64_t next_event(const struct rt_sim *s, uint64_t until)
{
    uint64_t t = until;
    if (s->running >= 0) {
        const struct rt_sim_thread *th = &s->th[s->running];
        if (th->is_rt && th->in_job && th->left != RT_SIM_SPIN) t = min_u64(t, add_sat(s->now, th->left));
        if (s->rr_quantum && has_peer(s)) t = min_u64(t, s->quantum_end);
    }
    for (unsigned i = 0; i < s->nthreads; i++) {
        const struct rt_sim_thread *th = &s->th[i];
        if (!th->is_rt) continue;
        t = min_u64(t, fire_time(s, rt_next_event(&th->rt)));
        if (th->msg_next < th->nmsg) t = min_u64(t, th->msg_times[th->msg_next]);
    }
    for (unsigned g = 0; g < s->ngroups; g++) t = min_u64(t, fire_time(s, rt_group_next_event(&s->grp[g])));
    return t < s->now ? s->now : t;
}

int rt_sim_run(struct rt_sim *s, uint64_t until)
{
    unsigned still = 0;
    while (s->now < until) {
        process_due(s);
        dispatch(s);
        uint64_t t = next_event(s, until);
        if (t == s->now) {
            /* Several things at one instant are fine; endless ones are not. */
            if (++still > 64u * (RT_SIM_MAX_THREADS + 1)) return -1;
            continue;
        }
        still = 0;
        if (s->running >= 0) {
            struct rt_sim_thread *th = &s->th[s->running];
            uint64_t dt = t - s->now;
            if (s->hooks.ran) s->hooks.ran(s->hooks.ctx, s, (unsigned)s->running, s->now, t);
            th->cpu_ns += dt;
            if (th->is_rt && th->in_job && th->left != RT_SIM_SPIN) th->left -= dt;
        }
        s->now = t;
    }
    /* Leave everything charged and due events handled at `until`. */
    process_due(s);
    dispatch(s);
    return 0;
}
