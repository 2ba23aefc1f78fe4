/*
 * bench/admission: accepted utilisation under QAS versus WCET-based
 * reservation, and the host decision time per admission (libqas, admission/).
 *
 * One fixed candidate stream (seed 42) of up to 24 tasks, harmonic periods
 * 10/20/40 ms, mean utilisation 0.04..0.08 per task, mandatory share
 * 15..25 % of it, one optional part, truncated normals with coefficient of
 * variation 0.3..0.5 cut at mean +- 3 sd (WCET = (1 + 3 cv) mean), q = 0.9.
 * For n = 4, 8, ..., 24 the first n candidates are offered one at a time in
 * each mode (a refused candidate is dropped, the next tried: the same
 * procedure as tests/host/test_qas_validate.c), the whole set being
 * re-analysed at every step, as the admission server will. Every
 * qas_analyse call of the stream is timed with CLOCK_MONOTONIC.
 *
 * QAS is sized with the validation test's 1-point margin (q + 0.01), so that
 * a 10,000-job simulation's sampling error stays above q; the QAS-admitted
 * set is then simulated (qas_simulate, 10,000 periods of 40 ms: at least
 * 10,000 jobs per task) and the lowest observed quality minus q is reported.
 *
 * Output: one `BENCH admission ...` line and one `# ...` line per n on
 * stdout; CSV rows (no header) on the file given as argv[1], if any.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>

#include "qas.h"
#include "qas_sim.h"

#define MS 1000000ull
#define MAXN 24
#define SEED 42
#define RES_NS 10000 /* 10 us grid, as the validation test's admission streams */
#define MARGIN 0.01
#define SIM_PERIODS 10000

struct gen {
    uint64_t period;
    double u, mf, cv, q;
};

static void normal_part(struct qas_spec *s, double mean, double cv)
{
    struct qas_err e;
    double sd = cv * mean, lo = mean - 3 * sd;
    if (qas_spec_normal(s, mean, sd, lo > 0 ? lo : 0, mean + 3 * sd, &e) != QAS_OK) {
        fprintf(stderr, "bench_admission: %s\n", e.msg);
        exit(1);
    }
}

static void make_task(struct qas_task *t, const struct gen *g, size_t i)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "t%zu", i);
    t->period_ns = g->period;
    t->wcet_quantile = 1;
    double mean = g->u * (double)g->period, m = mean * g->mf;
    normal_part(&t->mandatory, m, g->cv);
    t->noptional = 1;
    normal_part(&t->optional[0], mean - m, g->cv);
    t->quality[0] = g->q;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

struct stream_result {
    size_t admitted;
    double util;     /* mean utilisation of the admitted set */
    double us_total; /* wall-clock in qas_analyse over the stream */
    unsigned calls;
};

/* Offer cand[0..n-1] one by one; ts ends up holding the admitted set, res its
 * analysis results. */
static void admit_stream(const struct qas_task *cand, size_t n, enum qas_mode mode, double margin,
                         struct qas_taskset *ts, struct qas_task_result *res, struct stream_result *sr)
{
    struct qas_config cfg;
    qas_config_default(&cfg);
    cfg.mode = mode;
    cfg.resolution_ns = RES_NS;
    cfg.margin = margin;
    struct qas_verdict v;
    struct qas_err e;
    memset(sr, 0, sizeof *sr);
    qas_taskset_init(ts);
    for (size_t i = 0; i < n; i++) {
        if (qas_taskset_add(ts, &cand[i]) != QAS_OK) {
            fprintf(stderr, "bench_admission: out of memory\n");
            exit(1);
        }
        double t0 = now_us();
        int rc = qas_analyse(ts, &cfg, res, &v, &e);
        sr->us_total += now_us() - t0;
        sr->calls++;
        if (rc != QAS_OK) {
            fprintf(stderr, "bench_admission: %s analysis failed: %s\n", qas_mode_name(mode), e.msg);
            exit(1);
        }
        if (!v.admitted) qas_taskset_pop(ts);
    }
    /* Final analysis of the admitted set (its results; not timed). */
    if (qas_analyse(ts, &cfg, res, &v, &e) != QAS_OK || !v.admitted) {
        fprintf(stderr, "bench_admission: the admitted %s set does not re-admit\n", qas_mode_name(mode));
        exit(1);
    }
    sr->admitted = ts->ntasks;
    sr->util = v.mean_util;
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    FILE *csv = NULL;
    if (argc > 1 && !(csv = fopen(argv[1], "w"))) {
        perror(argv[1]);
        return 1;
    }

    /* The candidate stream. */
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, SEED);
    struct gen g[MAXN];
    struct qas_task cand[MAXN];
    double offered[MAXN + 1] = {0};
    for (size_t i = 0; i < MAXN; i++) {
        g[i].period = (10 * MS) << gsl_rng_uniform_int(r, 3);
        g[i].u = 0.04 + 0.04 * gsl_rng_uniform(r);
        g[i].mf = 0.15 + 0.1 * gsl_rng_uniform(r);
        g[i].cv = 0.3 + 0.2 * gsl_rng_uniform(r);
        g[i].q = 0.9;
        make_task(&cand[i], &g[i], i);
        offered[i + 1] = offered[i] + g[i].u;
    }
    gsl_rng_free(r);

    printf("# candidates: harmonic periods 10/20/40 ms, util 0.04..0.08 each, mandatory 15..25 %%, "
           "cv 0.3..0.5, q 0.9; grid %u us; QAS margin %.2f (as tests/host/test_qas_validate.c)\n",
           RES_NS / 1000, MARGIN);
    for (size_t n = 4; n <= MAXN; n += 4) {
        struct qas_taskset qts, wts;
        struct qas_task_result qres[MAXN], wres[MAXN];
        struct stream_result q, w;
        admit_stream(cand, n, QAS_MODE_QAS, MARGIN, &qts, qres, &q);
        admit_stream(cand, n, QAS_MODE_WCET, 0, &wts, wres, &w);
        double gain = w.util > 0 ? q.util / w.util : 0;
        double decide_us = q.us_total / q.calls;

        /* Simulate the QAS-admitted set. */
        struct abi_rt_params par[MAXN];
        for (size_t i = 0; i < qts.ntasks; i++) par[i] = qres[i].params;
        struct qas_sim_stats st[MAXN];
        struct qas_sim_config sc = {SIM_PERIODS, SEED + n};
        struct qas_err e;
        if (qas_simulate(&qts, par, &sc, st, &e) != QAS_OK) {
            fprintf(stderr, "bench_admission: simulation failed: %s\n", e.msg);
            return 1;
        }
        double lowest = 1;
        uint64_t fewest_jobs = UINT64_MAX;
        int mandatory_ok = 1;
        for (size_t i = 0; i < qts.ntasks; i++) {
            double d = st[i].observed[0] - qts.tasks[i].quality[0];
            if (d < lowest) lowest = d;
            if (st[i].jobs < fewest_jobs) fewest_jobs = st[i].jobs;
            if (st[i].mandatory_done != st[i].jobs) mandatory_ok = 0;
        }

        printf("BENCH admission tasks=%zu qas_util=%.3f wcet_util=%.3f gain=%.2f decide_us=%.0f\n", n, q.util,
               w.util, gain, decide_us);
        printf("# tasks=%zu offered=%.3f: QAS admits %zu (util %.3f), WCET %zu (util %.3f, %.0f us/decision); "
               "simulation %u periods (>= %llu jobs/task): lowest observed-q %+.2f points, mandatory %s -> %s\n",
               n, offered[n], q.admitted, q.util, w.admitted, w.util, w.us_total / w.calls, SIM_PERIODS,
               (unsigned long long)fewest_jobs, 100 * lowest, mandatory_ok ? "all met" : "MISSED",
               lowest >= 0 && mandatory_ok ? "ok" : "FAIL");
        if (csv)
            fprintf(csv, "%zu,%.4f,%.4f,%.3f,%.1f,%.4f\n", n, q.util, w.util, gain, decide_us, lowest);
        qas_taskset_free(&qts);
        qas_taskset_free(&wts);
    }
    for (size_t i = 0; i < MAXN; i++) {
        qas_spec_free(&cand[i].mandatory);
        qas_spec_free(&cand[i].optional[0]);
    }
    if (csv && fclose(csv) != 0) {
        perror(argv[1]);
        return 1;
    }
    return 0;
}
