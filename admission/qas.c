/*
 * The admission analysis: priority bands, response-time analysis of the
 * mandatory parts, and the three ways to reserve the optional parts (QAS,
 * QRMS, WCET). The formulas are in README.md; the comments here say why the
 * computation is arranged the way it is.
 */
#include "qas.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qas_rta.h"

#define MS 1e6

/* ---- task sets ---------------------------------------------------------- */

void qas_taskset_init(struct qas_taskset *ts)
{
    memset(ts, 0, sizeof *ts);
}

static void task_free(struct qas_task *t)
{
    qas_spec_free(&t->mandatory);
    for (unsigned j = 0; j < t->noptional; j++) qas_spec_free(&t->optional[j]);
}

void qas_taskset_free(struct qas_taskset *ts)
{
    for (size_t i = 0; i < ts->ntasks; i++) task_free(&ts->tasks[i]);
    free(ts->tasks);
    qas_taskset_init(ts);
}

int qas_taskset_add(struct qas_taskset *ts, const struct qas_task *t)
{
    if (ts->ntasks == ts->cap) {
        size_t cap = ts->cap ? 2 * ts->cap : 8;
        struct qas_task *nt = realloc(ts->tasks, cap * sizeof *nt);
        if (!nt) return QAS_ENOMEM;
        ts->tasks = nt;
        ts->cap = cap;
    }
    struct qas_task *d = &ts->tasks[ts->ntasks];
    *d = *t;
    d->noptional = 0;
    if (qas_spec_copy(&d->mandatory, &t->mandatory)) return QAS_ENOMEM;
    for (unsigned j = 0; j < t->noptional; j++) {
        if (qas_spec_copy(&d->optional[j], &t->optional[j])) {
            task_free(d);
            return QAS_ENOMEM;
        }
        d->noptional = j + 1;
    }
    ts->ntasks++;
    return QAS_OK;
}

void qas_taskset_pop(struct qas_taskset *ts)
{
    if (ts->ntasks) task_free(&ts->tasks[--ts->ntasks]);
}

int qas_task_validate(const struct qas_task *t, struct qas_err *err)
{
    if (t->period_ns == 0) {
        qas_err_set(err, "task '%s': period must be > 0", t->name);
        return QAS_EINVAL;
    }
    if (!(t->wcet_quantile > 0 && t->wcet_quantile <= 1)) {
        qas_err_set(err, "task '%s': wcet_quantile must be in (0,1]", t->name);
        return QAS_EINVAL;
    }
    if (t->noptional > QAS_MAX_OPTIONAL) {
        qas_err_set(err, "task '%s': at most %u optional parts", t->name, QAS_MAX_OPTIONAL);
        return QAS_EINVAL;
    }
    if (!t->mandatory.kind) {
        qas_err_set(err, "task '%s': no mandatory part", t->name);
        return QAS_EINVAL;
    }
    for (unsigned j = 0; j < t->noptional; j++) {
        if (!(t->quality[j] > 0 && t->quality[j] <= 1)) {
            qas_err_set(err, "task '%s': quality of optional part %u must be in (0,1], not %g", t->name, j + 1,
                        t->quality[j]);
            return QAS_EINVAL;
        }
        if (!t->optional[j].kind) {
            qas_err_set(err, "task '%s': optional part %u has no distribution", t->name, j + 1);
            return QAS_EINVAL;
        }
    }
    return QAS_OK;
}

/* ---- configuration ------------------------------------------------------ */

const char *qas_mode_name(enum qas_mode m)
{
    switch (m) {
    case QAS_MODE_AUTO: return "auto";
    case QAS_MODE_QAS: return "qas";
    case QAS_MODE_QRMS: return "qrms";
    case QAS_MODE_WCET: return "wcet";
    }
    return "?";
}

void qas_config_default(struct qas_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->mode = QAS_MODE_AUTO;
    cfg->prio_top = 250;
    cfg->be_prio = 99;
}

uint64_t qas_auto_resolution(const struct qas_taskset *ts)
{
    uint64_t tmin = UINT64_MAX, tmax = 0;
    for (size_t i = 0; i < ts->ntasks; i++) {
        uint64_t t = ts->tasks[i].period_ns;
        if (t < tmin) tmin = t;
        if (t > tmax) tmax = t;
    }
    if (!ts->ntasks) return 1000;
    /* 5000 steps for the shortest period keep the round-up bias of a sum of
     * some tens of parts within a few tenths of a percent of the period. */
    uint64_t res = tmin / 5000;
    uint64_t coarse = (tmax + 131071) / 131072;
    if (res < coarse) res = coarse;
    return res ? res : 1;
}

int qas_periods_harmonic(const struct qas_taskset *ts)
{
    for (size_t a = 0; a < ts->ntasks; a++) {
        for (size_t b = 0; b < ts->ntasks; b++) {
            uint64_t ta = ts->tasks[a].period_ns, tb = ts->tasks[b].period_ns;
            if (ta <= tb && tb % ta) return 0;
        }
    }
    return 1;
}

void qas_rm_order(const struct qas_taskset *ts, size_t *order)
{
    for (size_t i = 0; i < ts->ntasks; i++) order[i] = i;
    /* Insertion sort: stable and without qsort's need for a global to
     * reach the task set, so the library stays reentrant. */
    for (size_t i = 1; i < ts->ntasks; i++) {
        size_t x = order[i], k = i;
        while (k > 0) {
            size_t y = order[k - 1];
            uint64_t tx = ts->tasks[x].period_ns, ty = ts->tasks[y].period_ns;
            if (ty < tx || (ty == tx && y < x)) break;
            order[k] = y;
            k--;
        }
        order[k] = x;
    }
}

/* ---- analysis context --------------------------------------------------- */

struct ctx {
    const struct qas_taskset *ts;
    const struct qas_config *cfg;
    struct qas_task_result *res;
    struct qas_verdict *v;
    struct qas_err *err;
    size_t n;
    uint64_t res_ns;
    size_t fft;
    size_t *order, *rank;
    uint64_t tmax;
    /* QAS mode only, per task: */
    struct qas_dist *mcap;    /* min(X, C) on the grid */
    struct qas_dist *chain;   /* optional-band consumption of one job, budgets fixed */
    struct qas_dist *y;       /* [i * QAS_MAX_OPTIONAL + j]: part j+1 (part 1 includes X's excess over C) */
};

static void fail_deadline(struct ctx *c, size_t i, unsigned part, uint64_t r, uint64_t d, int diverged)
{
    struct qas_verdict *v = c->v;
    if (v->failure != QAS_FAIL_NONE) return;
    v->failure = QAS_FAIL_DEADLINE;
    v->task = i;
    v->part = part;
    v->response_ns = r;
    v->deadline_ns = d;
    const char *name = c->ts->tasks[i].name;
    char what[48];
    if (part == 0)
        snprintf(what, sizeof what, "mandatory part");
    else
        snprintf(what, sizeof what, "optional part %u reservation", part);
    snprintf(v->reason, sizeof v->reason,
             "task '%s' %s: worst-case response time %s%.3f ms exceeds its deadline %.3f ms by %s%.3f ms", name,
             what, diverged ? "at least " : "", r / MS, d / MS, diverged ? "at least " : "", (r - d) / MS);
}

/* What the sizing aims at: the requested quality plus the margin. */
static double target(const struct ctx *c, double q)
{
    double t = q + c->cfg->margin;
    return t > 1 ? 1 : t;
}

static void fail_quality(struct ctx *c, size_t i, unsigned part, double pred, double req)
{
    struct qas_verdict *v = c->v;
    if (v->failure != QAS_FAIL_NONE) return;
    v->failure = QAS_FAIL_QUALITY;
    v->task = i;
    v->part = part;
    v->predicted = pred;
    v->requested = req;
    char margin[48] = "";
    if (c->cfg->margin > 0) snprintf(margin, sizeof margin, " + margin %.4f", c->cfg->margin);
    snprintf(v->reason, sizeof v->reason,
             "task '%s' optional part %u: predicted quality %.4f is below the requested %.4f%s (short by %.2f "
             "percentage points)",
             c->ts->tasks[i].name, part, pred, req, margin, 100 * (target(c, req) - pred));
}

static uint64_t ceil_ns(double x)
{
    double c = ceil(x - 1e-6);
    return c < 1 ? 1 : (uint64_t)c;
}

/* Grid steps covering t ns, rounded up (a budget or a demand). */
static size_t steps_up(const struct ctx *c, uint64_t t)
{
    return (size_t)((t + c->res_ns - 1) / c->res_ns);
}

/* Grid steps inside t ns, rounded down (a capacity). */
static size_t steps_down(const struct ctx *c, uint64_t t)
{
    return (size_t)(t / c->res_ns);
}

/* ---- priorities and mandatory parts ------------------------------------- */

static int assign_priorities(struct ctx *c)
{
    size_t slots = c->n;
    for (size_t i = 0; i < c->n; i++) slots += c->ts->tasks[i].noptional;
    int top = c->cfg->prio_top, lowest = top - (int)slots + 1;
    if (lowest <= c->cfg->be_prio) {
        qas_err_set(c->err, "%zu real-time slices need priorities %d..%d, which reach the best-effort priority %d",
                    slots, lowest, top, c->cfg->be_prio);
        return QAS_ERANGE;
    }
    /* Mandatory band: one priority per task, rate-monotonic. */
    for (size_t r = 0; r < c->n; r++) c->res[c->order[r]].part[0].prio = (uint8_t)(top - (int)r);
    /* Optional band below it, rate-monotonic; a task's parts in order, so a
     * task's higher-priority interference in the optional band always comes
     * from tasks with periods no longer than its own. */
    int p = top - (int)c->n;
    for (size_t r = 0; r < c->n; r++) {
        size_t i = c->order[r];
        for (unsigned j = 1; j <= c->ts->tasks[i].noptional; j++) c->res[i].part[j].prio = (uint8_t)p--;
    }
    return QAS_OK;
}

static int check_mandatory(struct ctx *c)
{
    struct qas_rta_load *hp = calloc(c->n, sizeof *hp);
    if (!hp) return QAS_ENOMEM;
    for (size_t r = 0; r < c->n; r++) {
        size_t i = c->order[r];
        const struct qas_task *t = &c->ts->tasks[i];
        uint64_t resp = 0;
        int ok = qas_rta(c->res[i].wcet_ns, t->blocking_ns, hp, r, t->period_ns, &resp);
        struct qas_part_result *pr = &c->res[i].part[0];
        pr->budget_ns = c->res[i].wcet_ns;
        pr->response_ns = resp;
        pr->ok = ok;
        pr->requested = pr->predicted = ok ? 1 : 0;
        if (!ok) fail_deadline(c, i, 0, resp, t->period_ns, 1);
        hp[r].c_ns = c->res[i].wcet_ns;
        hp[r].t_ns = t->period_ns;
    }
    free(hp);
    return QAS_OK;
}

/* ---- QRMS and WCET: reservations checked by RTA ------------------------- */

/* Response time of task i's optional part j (its whole job up to the end of
 * slice j) when every slice is a guaranteed reservation: own mandatory and
 * earlier optional budgets, all other tasks' mandatory budgets, and the
 * optional budgets of tasks ranked above it in the optional band. */
static void check_reservation(struct ctx *c, size_t i, unsigned j, struct qas_rta_load *hp)
{
    const struct qas_task *t = &c->ts->tasks[i];
    uint64_t own = c->res[i].wcet_ns;
    for (unsigned l = 1; l <= j; l++) own += c->res[i].part[l].budget_ns;
    size_t n = 0;
    for (size_t r = 0; r < c->n; r++) {
        size_t m = c->order[r];
        if (m == i) continue;
        uint64_t load = c->res[m].wcet_ns;
        if (c->rank[m] < c->rank[i])
            for (unsigned l = 1; l <= c->ts->tasks[m].noptional; l++) load += c->res[m].part[l].budget_ns;
        hp[n].c_ns = load;
        hp[n].t_ns = c->ts->tasks[m].period_ns;
        n++;
    }
    uint64_t resp = 0;
    int ok = qas_rta(own, t->blocking_ns, hp, n, t->period_ns, &resp);
    struct qas_part_result *pr = &c->res[i].part[j];
    pr->response_ns = resp;
    if (!ok) {
        pr->ok = 0;
        fail_deadline(c, i, j, resp, t->period_ns, 1);
    }
}

static int reserve_quantiles(struct ctx *c)
{
    int wcet = c->v->mode == QAS_MODE_WCET;
    for (size_t r = 0; r < c->n; r++) {
        size_t i = c->order[r];
        const struct qas_task *t = &c->ts->tasks[i];
        double before = 1; /* probability that parts 1..j-1 all completed */
        for (unsigned j = 1; j <= t->noptional; j++) {
            struct qas_part_result *pr = &c->res[i].part[j];
            pr->requested = t->quality[j - 1];
            if (wcet) {
                pr->budget_ns = ceil_ns(qas_spec_quantile(&t->optional[j - 1], 1));
                pr->predicted = 1;
                pr->ok = 1;
                continue;
            }
            /* Part j completes iff every part up to j fits its budget, and
             * the reservations are guaranteed by the RTA below: quality =
             * prod_l P(Y_l <= b_l). Part 1 also carries the mandatory
             * demand beyond C. */
            struct qas_dist y = {0}, ex = {0};
            int rc = qas_dist_from_spec(&y, &t->optional[j - 1], (double)c->res_ns, 0, c->err);
            if (!rc && j == 1 && c->res[i].wcet_ns < t->mandatory.hi_ns) {
                rc = qas_dist_from_spec(&ex, &t->mandatory, (double)c->res_ns, (double)c->res[i].wcet_ns, c->err);
                if (!rc) rc = qas_convolve_into(&y, &ex, 0, c->fft);
            }
            qas_dist_free(&ex);
            if (rc) {
                qas_dist_free(&y);
                return rc;
            }
            double need = target(c, pr->requested) / before;
            size_t b = need <= 1 ? qas_dist_quantile(&y, need) : y.n - 1;
            if (b == 0) b = 1;
            double got = 0;
            for (size_t k = 0; k <= b && k < y.n; k++) got += y.p[k];
            qas_dist_free(&y);
            pr->budget_ns = (uint64_t)b * c->res_ns;
            pr->predicted = before * (got > 1 ? 1 : got);
            pr->ok = pr->predicted >= target(c, pr->requested) - 1e-12;
            if (!pr->ok) fail_quality(c, i, j, pr->predicted, pr->requested);
            before = pr->predicted;
        }
    }
    struct qas_rta_load *hp = calloc(c->n, sizeof *hp);
    if (!hp) return QAS_ENOMEM;
    for (size_t r = 0; r < c->n; r++) {
        size_t i = c->order[r];
        for (unsigned j = 1; j <= c->ts->tasks[i].noptional; j++) check_reservation(c, i, j, hp);
    }
    free(hp);
    return QAS_OK;
}

/* ---- QAS: uniform and harmonic periods ---------------------------------- */

/*
 * Everything of higher priority than task i's optional parts that runs in
 * one of i's periods (a "window"), averaged over the K = T_max / T_i windows
 * of a hyperperiod: the mandatory band's demand there. Within a window the
 * mandatory band executes min(T_i, backlog + released) (it is busy whenever
 * it has work, and only jobs of longer-period tasks can still be pending at
 * the window's end), and what is left is the next window's backlog. Each
 * window's demand is truncated at the window's capacity N: beyond it no
 * optional part of i can complete, so that mass is dropped (defective).
 * The average over windows is a mixture, and convolution is linear, so the
 * mixture can be convolved once with the rest instead of once per window.
 */
static int mandatory_mixture(struct ctx *c, size_t i, struct qas_dist *mix)
{
    const struct qas_task *t = &c->ts->tasks[i];
    uint64_t ti = t->period_ns;
    size_t cap = steps_down(c, ti), K = (size_t)(c->tmax / ti);
    struct qas_dist a = {0}, mb = {0}, s = {0};
    int rc = qas_dist_point(&a, 0);
    if (!rc) rc = qas_dist_point(&mb, 0);
    if (!rc) rc = qas_dist_alloc(mix, cap + 1);
    /* Jobs released in every window: tasks with periods up to T_i. */
    for (size_t m = 0; m < c->n && !rc; m++) {
        uint64_t tm = c->ts->tasks[m].period_ns;
        if (tm > ti) continue;
        for (uint64_t k = 0; k < ti / tm && !rc; k++) rc = qas_convolve_into(&a, &c->mcap[m], 0, c->fft);
    }
    for (size_t k = 0; k < K && !rc; k++) {
        rc = qas_convolve(&mb, &a, &s, 0, c->fft);
        /* Longer-period tasks release a job at the windows that start
         * their periods. */
        for (size_t m = 0; m < c->n && !rc; m++) {
            uint64_t tm = c->ts->tasks[m].period_ns;
            if (tm > ti && (k * ti) % tm == 0) rc = qas_convolve_into(&s, &c->mcap[m], 0, c->fft);
        }
        if (rc) break;
        for (size_t v = 0; v <= cap && v < s.n; v++) mix->p[v] += s.p[v] / (double)K;
        qas_dist_free(&mb);
        size_t nb = s.n > cap + 1 ? s.n - cap : 1;
        rc = qas_dist_alloc(&mb, nb);
        if (rc) break;
        for (size_t v = 0; v <= cap && v < s.n; v++) mb.p[0] += s.p[v];
        for (size_t v = 1; v < nb; v++) mb.p[v] = s.p[v + cap];
    }
    qas_dist_free(&a);
    qas_dist_free(&mb);
    qas_dist_free(&s);
    if (rc) qas_dist_free(mix);
    return rc;
}

static int prepare_parts(struct ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        const struct qas_task *t = &c->ts->tasks[i];
        struct qas_dist x = {0}, ex = {0};
        int rc = qas_dist_from_spec(&x, &t->mandatory, (double)c->res_ns, 0, c->err);
        if (rc) return rc;
        qas_dist_cap(&x, steps_up(c, c->res[i].wcet_ns));
        c->mcap[i] = x;
        for (unsigned j = 0; j < t->noptional; j++) {
            struct qas_dist *y = &c->y[i * QAS_MAX_OPTIONAL + j];
            rc = qas_dist_from_spec(y, &t->optional[j], (double)c->res_ns, 0, c->err);
            if (rc) return rc;
        }
        if (t->noptional && c->res[i].wcet_ns < t->mandatory.hi_ns) {
            /* The mandatory work beyond its budget continues in slice 1:
             * it adds to optional part 1's demand. */
            rc = qas_dist_from_spec(&ex, &t->mandatory, (double)c->res_ns, (double)c->res[i].wcet_ns, c->err);
            if (!rc) rc = qas_convolve_into(&c->y[i * QAS_MAX_OPTIONAL], &ex, 0, c->fft);
            qas_dist_free(&ex);
            if (rc) return rc;
        }
    }
    return QAS_OK;
}

/*
 * Size task i's optional budgets top-down and predict their quality. Part j
 * completes iff parts 1..j-1 completed, Y_j <= b_j, and everything of higher
 * priority in the window plus Y_j fits into the window:
 *
 *   q_ij(b) = sum_{y <= b} P(Y_j = y) * P(M + W + Z_{<j} <= N - y)
 *
 * M the mandatory mixture, W the other higher-priority optional chains,
 * Z_{<j} the defective distribution of i's own parts before j completing.
 * q_ij(b) grows with b while lower parts only lose by a larger b, so the
 * smallest b reaching q_ij is the right choice for everybody below.
 */
static int size_task(struct ctx *c, size_t i, const struct qas_dist *g0)
{
    const struct qas_task *t = &c->ts->tasks[i];
    uint64_t ti = t->period_ns;
    size_t cap = steps_down(c, ti);
    struct qas_dist run = {0}, stop = {0}, g = {0}, tmp = {0};
    double *fg = NULL;
    int rc = QAS_OK;

    if (!rc) rc = qas_dist_point(&run, 0);
    if (!rc) rc = qas_dist_alloc(&stop, 1);
    if (!rc) fg = malloc((cap + 1) * sizeof *fg);
    if (!rc && !fg) rc = QAS_ENOMEM;

    uint64_t used = c->res[i].wcet_ns;
    for (unsigned j = 1; j <= t->noptional && !rc; j++) {
        struct qas_part_result *pr = &c->res[i].part[j];
        const struct qas_dist *y = &c->y[i * QAS_MAX_OPTIONAL + j - 1];
        pr->requested = t->quality[j - 1];
        rc = qas_convolve(g0, &run, &g, cap + 1, c->fft);
        if (rc) break;
        double acc = 0;
        for (size_t v = 0; v <= cap; v++) {
            acc += v < g.n ? g.p[v] : 0;
            fg[v] = acc;
        }
        /* Room left for this slice: budgets together stay within the period. */
        size_t room = used < ti ? steps_down(c, ti - used) : 0;
        size_t ylim = y->n - 1 < room ? y->n - 1 : room;
        if (ylim > cap) ylim = cap;
        double q = 0;
        size_t b = 0;
        int reached = 0;
        for (size_t v = 0; v <= ylim; v++) {
            q += y->p[v] * fg[cap - v];
            b = v;
            if (q >= target(c, pr->requested) - 1e-12) {
                reached = 1;
                break;
            }
        }
        /* A part that cannot reach its quality keeps the largest budget
         * it could use (b = ylim): the refusal then shows the best it
         * could get, and the parameters show what was tried. */
        if (b == 0) {
            b = 1; /* rt-sched budgets are > 0 */
            if (y->n > 1 && ylim >= 1) q += y->p[1] * fg[cap - 1];
        }
        if (room == 0) q = 0, reached = 0; /* no budget fits into the period any more */
        pr->budget_ns = (uint64_t)b * c->res_ns;
        pr->predicted = q > 1 ? 1 : q;
        pr->ok = reached;
        if (!pr->ok) fail_quality(c, i, j, pr->predicted, pr->requested);
        used += pr->budget_ns;

        /* Own chain: part j aborts (consuming b) with P(Y_j > b), otherwise
         * it completes and the chain runs on. */
        double over = 0;
        for (size_t v = b + 1; v < y->n; v++) over += y->p[v];
        if (over > 0) {
            size_t need = run.n + b;
            if (stop.n < need) {
                struct qas_dist bigger = {0};
                rc = qas_dist_alloc(&bigger, need);
                if (rc) break;
                memcpy(bigger.p, stop.p, stop.n * sizeof *stop.p);
                qas_dist_free(&stop);
                stop = bigger;
            }
            for (size_t v = 0; v < run.n; v++) stop.p[v + b] += run.p[v] * over;
        }
        struct qas_dist fit = {0};
        rc = qas_dist_copy(&fit, y);
        if (rc) break;
        qas_dist_truncate(&fit, b + 1);
        rc = qas_convolve(&run, &fit, &tmp, 0, c->fft);
        qas_dist_free(&fit);
        if (rc) break;
        qas_dist_free(&run);
        run = tmp;
        tmp = (struct qas_dist){0};
    }
    if (!rc) {
        /* One job's consumption in the optional band: stopped + still running. */
        size_t n = run.n > stop.n ? run.n : stop.n;
        rc = qas_dist_alloc(&c->chain[i], n);
        for (size_t v = 0; !rc && v < n; v++)
            c->chain[i].p[v] = (v < run.n ? run.p[v] : 0) + (v < stop.n ? stop.p[v] : 0);
    }
    free(fg);
    qas_dist_free(&g);
    qas_dist_free(&run);
    qas_dist_free(&stop);
    qas_dist_free(&tmp);
    return rc;
}

/* acc = acc * d^k (truncated to maxlen), by repeated squaring. */
static int convolve_power(struct qas_dist *acc, const struct qas_dist *d, uint64_t k, size_t maxlen, size_t fft)
{
    struct qas_dist base = {0};
    int rc = qas_dist_copy(&base, d);
    while (!rc && k) {
        if (k & 1) rc = qas_convolve_into(acc, &base, maxlen, fft);
        k >>= 1;
        if (!rc && k) {
            struct qas_dist sq = {0};
            rc = qas_convolve(&base, &base, &sq, maxlen, fft);
            qas_dist_free(&base);
            base = sq;
        }
    }
    qas_dist_free(&base);
    return rc;
}

/*
 * Tasks are sized in rate-monotonic order. The higher-priority demand in a
 * window of task i, G0 = (mandatory mixture) * (optional chains of the
 * tasks ranked above i, T_i / T_m jobs each), grows by one chain from one
 * task to the next of the same period, and is rebuilt only when the period
 * changes: O(n) convolutions instead of O(n^2).
 */
static int reserve_qas(struct ctx *c)
{
    int rc = prepare_parts(c);
    struct qas_dist g0 = {0};
    uint64_t g0_period = 0;
    for (size_t r = 0; r < c->n && !rc; r++) {
        size_t i = c->order[r];
        uint64_t ti = c->ts->tasks[i].period_ns;
        size_t maxlen = steps_down(c, ti) + 1;
        if (ti != g0_period) {
            qas_dist_free(&g0);
            rc = mandatory_mixture(c, i, &g0);
            for (size_t h = 0; h < r && !rc; h++) {
                size_t m = c->order[h];
                if (c->ts->tasks[m].noptional)
                    rc = convolve_power(&g0, &c->chain[m], ti / c->ts->tasks[m].period_ns, maxlen, c->fft);
            }
            g0_period = ti;
        } else {
            size_t prev = c->order[r - 1];
            if (c->ts->tasks[prev].noptional) rc = qas_convolve_into(&g0, &c->chain[prev], maxlen, c->fft);
        }
        if (!rc) rc = size_task(c, i, &g0);
    }
    qas_dist_free(&g0);
    return rc;
}

/* ---- the whole analysis ------------------------------------------------- */

static void fill_params(struct ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        const struct qas_task *t = &c->ts->tasks[i];
        struct qas_task_result *res = &c->res[i];
        struct abi_rt_params *p = &res->params;
        memset(p, 0, sizeof *p);
        p->period_ns = t->period_ns;
        p->start_ns = 0;
        p->mode = ABI_RT_STRICT_PERIODIC;
        p->nslices = 1 + t->noptional;
        p->be_prio = c->cfg->be_prio;
        double mean = qas_spec_mean(&t->mandatory), reserved = 0;
        for (unsigned j = 0; j < p->nslices; j++) {
            p->slice[j].budget_ns = res->part[j].budget_ns;
            p->slice[j].prio = res->part[j].prio;
            reserved += (double)res->part[j].budget_ns;
            if (j) mean += qas_spec_mean(&t->optional[j - 1]);
        }
        res->mean_util = mean / (double)t->period_ns;
        res->reserved_util = reserved / (double)t->period_ns;
        c->v->mean_util += res->mean_util;
        c->v->reserved_util += res->reserved_util;
    }
}

int qas_analyse(const struct qas_taskset *ts, const struct qas_config *cfg, struct qas_task_result *results,
                struct qas_verdict *v, struct qas_err *err)
{
    struct qas_config defcfg;
    if (!cfg) {
        qas_config_default(&defcfg);
        cfg = &defcfg;
    }
    if (!(cfg->margin >= 0 && cfg->margin < 1)) {
        qas_err_set(err, "quality margin must be in [0,1)");
        return QAS_EINVAL;
    }
    memset(v, 0, sizeof *v);
    if (ts->ntasks == 0) {
        qas_err_set(err, "the task set is empty");
        return QAS_EINVAL;
    }
    for (size_t i = 0; i < ts->ntasks; i++) {
        int rc = qas_task_validate(&ts->tasks[i], err);
        if (rc) return rc;
    }
    memset(results, 0, ts->ntasks * sizeof *results);
    int harmonic = qas_periods_harmonic(ts);
    v->mode = cfg->mode == QAS_MODE_AUTO ? (harmonic ? QAS_MODE_QAS : QAS_MODE_QRMS) : cfg->mode;
    if (v->mode == QAS_MODE_QAS && !harmonic) {
        qas_err_set(err, "QAS needs uniform or harmonic periods (each period dividing every longer one); use "
                         "QRMS for arbitrary periods");
        return QAS_ENOTHARMONIC;
    }
    v->resolution_ns = cfg->resolution_ns ? cfg->resolution_ns
                       : ts->resolution_ns ? ts->resolution_ns
                                           : qas_auto_resolution(ts);

    struct ctx c = {.ts = ts, .cfg = cfg, .res = results, .v = v, .err = err, .n = ts->ntasks,
                    .res_ns = v->resolution_ns, .fft = cfg->fft_min};
    for (size_t i = 0; i < c.n; i++)
        if (ts->tasks[i].period_ns > c.tmax) c.tmax = ts->tasks[i].period_ns;
    if (c.tmax / c.res_ns > (1u << 22)) {
        qas_err_set(err, "the longest period spans %llu grid steps: the resolution %llu ns is too fine",
                    (unsigned long long)(c.tmax / c.res_ns), (unsigned long long)c.res_ns);
        return QAS_ERANGE;
    }
    c.order = calloc(c.n, sizeof *c.order);
    c.rank = calloc(c.n, sizeof *c.rank);
    int rc = c.order && c.rank ? QAS_OK : QAS_ENOMEM;
    if (!rc) {
        qas_rm_order(ts, c.order);
        for (size_t r = 0; r < c.n; r++) c.rank[c.order[r]] = r;
        rc = assign_priorities(&c);
    }
    if (!rc) {
        for (size_t i = 0; i < c.n; i++) {
            const struct qas_task *t = &ts->tasks[i];
            double q = v->mode == QAS_MODE_WCET ? 1 : t->wcet_quantile;
            results[i].wcet_ns = ceil_ns(qas_spec_quantile(&t->mandatory, q));
        }
        rc = check_mandatory(&c);
    }
    if (!rc) {
        if (v->mode == QAS_MODE_QAS) {
            c.mcap = calloc(c.n, sizeof *c.mcap);
            c.chain = calloc(c.n, sizeof *c.chain);
            c.y = calloc(c.n * QAS_MAX_OPTIONAL, sizeof *c.y);
            rc = c.mcap && c.chain && c.y ? reserve_qas(&c) : QAS_ENOMEM;
        } else {
            rc = reserve_quantiles(&c);
        }
    }
    if (!rc) {
        fill_params(&c);
        v->admitted = v->failure == QAS_FAIL_NONE;
    }
    if (c.mcap)
        for (size_t i = 0; i < c.n; i++) qas_dist_free(&c.mcap[i]);
    if (c.chain)
        for (size_t i = 0; i < c.n; i++) qas_dist_free(&c.chain[i]);
    if (c.y)
        for (size_t i = 0; i < c.n * QAS_MAX_OPTIONAL; i++) qas_dist_free(&c.y[i]);
    free(c.mcap);
    free(c.chain);
    free(c.y);
    free(c.order);
    free(c.rank);
    if (rc == QAS_ENOMEM) qas_err_set(err, "out of memory");
    return rc;
}
