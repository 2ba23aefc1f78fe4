/*
 * Discrete-event simulation of rt-sched's reservation scheduling (model in
 * qas_sim.h). Deliberately naive: at every step pick the highest-priority
 * thread that has work, run it until the next release, the end of its work
 * or the end of its budget, whichever comes first. Nothing here uses the
 * analysis' grid or convolutions.
 */
#include "qas_sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

struct thread {
    const struct qas_task *task;
    const struct abi_rt_params *par;
    gsl_ran_discrete_t *bins[1 + QAS_MAX_OPTIONAL]; /* histogram parts: bin choice */
    uint64_t next_release;
    uint64_t deadline;
    int active;           /* has a job with work left */
    unsigned slice;       /* current slice; == nslices: best effort */
    unsigned part;        /* 0 mandatory, j optional part j */
    uint64_t budget_left; /* of the current slice */
    uint64_t work[1 + QAS_MAX_OPTIONAL];
};

static double sample(gsl_rng *rng, const struct qas_spec *s, gsl_ran_discrete_t *bins)
{
    switch (s->kind) {
    case QAS_SPEC_CONST:
        return s->lo_ns;
    case QAS_SPEC_UNIFORM:
        return gsl_ran_flat(rng, s->lo_ns, s->hi_ns);
    case QAS_SPEC_NORMAL:
        /* Rejection from the untruncated normal while that accepts often
         * enough; otherwise inversion of the truncated CDF. */
        if (s->norm_mass > 0.05) {
            for (;;) {
                double x = s->mean_ns + gsl_ran_gaussian(rng, s->sd_ns);
                if (x >= s->lo_ns && x <= s->hi_ns) return x;
            }
        } else {
            double plo = gsl_cdf_gaussian_P(s->lo_ns - s->mean_ns, s->sd_ns);
            double u = plo + gsl_rng_uniform_pos(rng) * s->norm_mass;
            double x = s->mean_ns + gsl_cdf_gaussian_Pinv(u, s->sd_ns);
            return x < s->lo_ns ? s->lo_ns : x > s->hi_ns ? s->hi_ns : x;
        }
    case QAS_SPEC_HIST: {
        size_t j = gsl_ran_discrete(rng, bins);
        return gsl_ran_flat(rng, s->edge[j], s->edge[j + 1]);
    }
    }
    return 0;
}

static uint64_t to_ns(double x)
{
    return x <= 0 ? 0 : (uint64_t)ceil(x);
}

static void release(struct thread *t, gsl_rng *rng)
{
    const struct qas_task *task = t->task;
    t->active = 1;
    t->slice = 0;
    t->part = 0;
    t->budget_left = t->par->slice[0].budget_ns;
    t->deadline = t->next_release + t->par->period_ns;
    t->next_release += t->par->period_ns;
    t->work[0] = to_ns(sample(rng, &task->mandatory, t->bins[0]));
    for (unsigned j = 1; j <= task->noptional; j++)
        t->work[j] = to_ns(sample(rng, &task->optional[j - 1], t->bins[j]));
}

static unsigned prio_of(const struct thread *t)
{
    return t->slice < t->par->nslices ? t->par->slice[t->slice].prio : t->par->be_prio;
}

/* rt-sched's next_reservation / overrun: on to the next slice. */
static void next_slice(struct thread *t)
{
    t->slice++;
    t->budget_left = t->slice < t->par->nslices ? t->par->slice[t->slice].budget_ns : UINT64_MAX;
}

static void part_done(struct thread *t, struct qas_sim_stats *st)
{
    if (t->part == 0)
        st->mandatory_done++;
    else
        st->completed[t->part - 1]++;
    if (t->part == t->task->noptional) {
        t->active = 0; /* next_period */
        return;
    }
    t->part++;
    /* A mandatory part that overran already sits in a later slice: the
     * first optional part continues there. Otherwise next_reservation. */
    if (t->slice < t->part) next_slice(t);
}

int qas_simulate(const struct qas_taskset *ts, const struct abi_rt_params *params, const struct qas_sim_config *cfg,
                 struct qas_sim_stats *stats, struct qas_err *err)
{
    size_t n = ts->ntasks;
    uint64_t tmax = 0;
    for (size_t i = 0; i < n; i++) {
        const struct abi_rt_params *p = &params[i];
        if (p->period_ns == 0 || p->nslices != 1 + ts->tasks[i].noptional || p->nslices > ABI_RT_MAX_SLICES) {
            qas_err_set(err, "task '%s': parameters do not match the task (period %llu ns, %u slices)",
                        ts->tasks[i].name, (unsigned long long)p->period_ns, p->nslices);
            return QAS_EINVAL;
        }
        if (p->period_ns > tmax) tmax = p->period_ns;
    }
    if (cfg->periods == 0 || tmax > UINT64_MAX / cfg->periods) {
        qas_err_set(err, "simulation length out of range");
        return QAS_EINVAL;
    }
    uint64_t horizon = cfg->periods * tmax;

    struct thread *th = calloc(n, sizeof *th);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    int rc = th && rng ? QAS_OK : QAS_ENOMEM;
    if (rng) gsl_rng_set(rng, cfg->seed);
    memset(stats, 0, n * sizeof *stats);
    for (size_t i = 0; i < n && !rc; i++) {
        th[i].task = &ts->tasks[i];
        th[i].par = &params[i];
        for (unsigned j = 0; j <= ts->tasks[i].noptional && !rc; j++) {
            const struct qas_spec *s = j ? &ts->tasks[i].optional[j - 1] : &ts->tasks[i].mandatory;
            if (s->kind != QAS_SPEC_HIST) continue;
            th[i].bins[j] = gsl_ran_discrete_preproc(s->nbins, s->mass);
            if (!th[i].bins[j]) rc = QAS_ENOMEM;
        }
    }

    uint64_t now = 0;
    while (!rc && now < horizon) {
        /* Releases due now; an unfinished job is abandoned at its deadline
         * (which is this release). */
        for (size_t i = 0; i < n; i++) {
            if (th[i].next_release != now) continue;
            if (now > 0) stats[i].jobs++;
            if (now + th[i].par->period_ns <= horizon)
                release(&th[i], rng);
            else
                th[i].active = 0, th[i].next_release = UINT64_MAX;
        }
        uint64_t next = horizon;
        for (size_t i = 0; i < n; i++)
            if (th[i].next_release < next) next = th[i].next_release;
        struct thread *run = NULL;
        for (size_t i = 0; i < n; i++) {
            if (th[i].active && (!run || prio_of(&th[i]) > prio_of(run))) run = &th[i];
        }
        if (!run) {
            now = next;
            continue;
        }
        uint64_t step = next - now;
        uint64_t *work = &run->work[run->part];
        if (*work < step) step = *work;
        if (run->budget_left < step) step = run->budget_left;
        now += step;
        *work -= step;
        if (run->budget_left != UINT64_MAX) run->budget_left -= step;
        stats[run - th].busy_ns += (double)step;
        if (*work == 0) {
            part_done(run, &stats[run - th]);
        } else if (run->budget_left == 0) {
            if (run->part == 0) {
                next_slice(run);
            } else {
                stats[run - th].overruns[run->part - 1]++;
                run->active = 0; /* the optional part is aborted; the job ends */
            }
        }
    }
    /* Jobs whose deadline is the horizon were counted at no release. */
    for (size_t i = 0; i < n && !rc; i++) {
        if (th[i].deadline == horizon) stats[i].jobs++;
        for (unsigned j = 0; j < ts->tasks[i].noptional; j++)
            stats[i].observed[j] = stats[i].jobs ? (double)stats[i].completed[j] / (double)stats[i].jobs : 0;
    }
    if (th)
        for (size_t i = 0; i < n; i++)
            for (unsigned j = 0; j <= QAS_MAX_OPTIONAL; j++)
                if (th[i].bins[j]) gsl_ran_discrete_free(th[i].bins[j]);
    free(th);
    if (rng) gsl_rng_free(rng);
    if (rc == QAS_ENOMEM) qas_err_set(err, "out of memory");
    return rc;
}
