/*
 * libqas analysis: response-time analysis on textbook task sets, QAS
 * predictions on tiny sets worked out by hand (uniform and harmonic
 * periods), QRMS and WCET reservations, priority bands, the mapping to
 * struct abi_rt_params, and the refusal messages.
 */
#include <math.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "qas.h"
#include "qas_rta.h"
#include "qas_sim.h"
#include "tap.h"

#define MS 1000000ull

static int near(double a, double b, double tol)
{
    return fabs(a - b) <= tol;
}

static void rta_textbook(void)
{
    /* Burns & Wellings: (C,T) = (3,7), (3,12), (5,20) -> R = 3, 6, 20. */
    struct qas_rta_load hp[3] = {{3, 7}, {3, 12}, {5, 20}};
    uint64_t r;
    ok(qas_rta(3, 0, hp, 0, 7, &r) && r == 3, "highest priority: R = C = 3");
    ok(qas_rta(3, 0, hp, 1, 12, &r) && r == 6, "second: R = 6");
    ok(qas_rta(5, 0, hp, 2, 20, &r) && r == 20, "third: R = 20, exactly at its deadline");
    ok(!qas_rta(5, 0, hp, 2, 19, &r) && r == 20, "with deadline 19 it fails; the iterate is 20");
    /* (1,4), (2,6), (3,13): R3 goes 6, 7, 9, 10, 10. */
    struct qas_rta_load b[2] = {{1, 4}, {2, 6}};
    ok(qas_rta(2, 0, b, 1, 6, &r) && r == 3, "(2,6) under (1,4): R = 3");
    ok(qas_rta(3, 0, b, 2, 13, &r) && r == 10, "(3,13) under (1,4),(2,6): R = 10");
    /* Blocking adds to the demand: (3,12) with B = 2 under (3,7): 8 -> 11. */
    ok(qas_rta(3, 2, hp, 1, 12, &r) && r == 11, "blocking 2: R = 11");
    /* Overload: (21,50) under (20,40) diverges past the deadline. */
    struct qas_rta_load o[1] = {{20, 40}};
    ok(!qas_rta(21, 0, o, 1, 50, &r) && r == 61, "(21,50) under (20,40): fails, first iterate above 50 is 61");
    ok(qas_rta(20, 0, o, 1, 50, &r) && r == 40, "(20,50) under (20,40): R = 40");
}

/* Task builders. */
static void task(struct qas_task *t, const char *name, uint64_t period_ms, double mand_ms)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->period_ns = period_ms * MS;
    t->wcet_quantile = 1;
    struct qas_err e;
    qas_spec_const(&t->mandatory, mand_ms * 1e6, &e);
}

/* Optional part with two equally likely values a and b (ms) on a 1 ms grid. */
static void two_point(struct qas_task *t, double a, double b, double q)
{
    double edge[64] = {0}, w[63] = {0};
    size_t n = (size_t)b;
    for (size_t k = 0; k <= n; k++) edge[k] = (double)k * 1e6;
    w[(size_t)a - 1] += 0.5;
    w[(size_t)b - 1] += 0.5;
    struct qas_err e;
    unsigned j = t->noptional++;
    qas_spec_hist_probs(&t->optional[j], edge, w, n, &e);
    t->quality[j] = q;
}

static void add(struct qas_taskset *ts, struct qas_task *t)
{
    qas_taskset_add(ts, t);
    qas_spec_free(&t->mandatory);
    for (unsigned j = 0; j < t->noptional; j++) qas_spec_free(&t->optional[j]);
}

static struct qas_config cfg_ms(enum qas_mode m)
{
    struct qas_config c;
    qas_config_default(&c);
    c.mode = m;
    c.resolution_ns = MS;
    return c;
}

/*
 * Uniform periods, T = 10, 1 ms grid. A: mandatory 2, optional 2 or 4
 * (each 1/2); B: mandatory 1, optional 3 or 5. Mandatory band: A 250, B
 * 249; optional band: A 248, B 247. A's optional part sees the mandatory
 * demand 3, so it always fits: with q_A = 0.9 its budget is 4, quality 1.
 * B's optional sees 3 + Y_A: Y_A = 2 -> 5 + Y_B <= 10 always; Y_A = 4 ->
 * only Y_B = 3. Quality of B with budget 5: 1/2 + 1/4 = 0.75.
 */
static void qas_uniform_by_hand(void)
{
    struct qas_taskset ts;
    qas_taskset_init(&ts);
    struct qas_task t;
    task(&t, "A", 10, 2);
    two_point(&t, 2, 4, 0.9);
    add(&ts, &t);
    task(&t, "B", 10, 1);
    two_point(&t, 3, 5, 0.75);
    add(&ts, &t);

    struct qas_config c = cfg_ms(QAS_MODE_AUTO);
    struct qas_task_result res[2];
    struct qas_verdict v;
    struct qas_err e = {0};
    ok(qas_analyse(&ts, &c, res, &v, &e) == QAS_OK, "analysis runs");
    ok(v.admitted && v.mode == QAS_MODE_QAS, "uniform periods: QAS chosen, admitted");
    is(res[0].part[0].prio, 250, "A mandatory priority 250");
    is(res[1].part[0].prio, 249, "B mandatory priority 249");
    is(res[0].part[1].prio, 248, "A optional priority 248 (below all mandatory)");
    is(res[1].part[1].prio, 247, "B optional priority 247");
    is(res[0].part[0].budget_ns, 2 * MS, "A mandatory budget = WCET 2 ms");
    is(res[1].part[0].response_ns, 3 * MS, "B mandatory response time 3 ms");
    is(res[0].part[1].budget_ns, 4 * MS, "A optional budget 4 ms");
    ok(near(res[0].part[1].predicted, 1.0, 1e-12), "A predicted quality 1");
    is(res[1].part[1].budget_ns, 5 * MS, "B optional budget 5 ms");
    ok(near(res[1].part[1].predicted, 0.75, 1e-12), "B predicted quality 0.75 (by hand: 1/2 + 1/4)");

    const struct abi_rt_params *p = &res[1].params;
    ok(p->period_ns == 10 * MS && p->nslices == 2 && p->mode == ABI_RT_STRICT_PERIODIC && p->be_prio == 99 &&
           p->slice[0].budget_ns == 1 * MS && p->slice[0].prio == 249 && p->slice[1].budget_ns == 5 * MS &&
           p->slice[1].prio == 247,
       "B's rt-sched parameters: period 10 ms, slices (249, 1 ms), (247, 5 ms)");

    /* The simulation agrees exactly: these demands are on the grid. */
    struct abi_rt_params par[2] = {res[0].params, res[1].params};
    struct qas_sim_stats st[2];
    struct qas_sim_config sc = {20000, 5};
    ok(qas_simulate(&ts, par, &sc, st, &e) == QAS_OK, "simulation runs");
    is(st[0].jobs, 20000, "20000 jobs each");
    ok(st[0].completed[0] == st[0].jobs, "A's optional part always completes");
    ok(near(st[1].observed[0], 0.75, 0.01), "B observed %.4f, predicted 0.75", st[1].observed[0]);

    /* Lower A's request to 0.5: budget 2 suffices, A always consumes 2, so
     * B always fits (3 + 2 + 5 = 10). */
    ts.tasks[0].quality[0] = 0.5;
    ts.tasks[1].quality[0] = 1.0;
    qas_analyse(&ts, &c, res, &v, &e);
    ok(v.admitted && res[0].part[1].budget_ns == 2 * MS && near(res[0].part[1].predicted, 0.5, 1e-12),
       "q_A = 0.5: A's budget 2 ms, quality 0.5");
    ok(near(res[1].part[1].predicted, 1.0, 1e-12), "then B fits always: quality 1");

    /* Ask 0.8 of B under q_A = 0.9: refused, B reaches only 0.75. */
    ts.tasks[0].quality[0] = 0.9;
    ts.tasks[1].quality[0] = 0.8;
    qas_analyse(&ts, &c, res, &v, &e);
    ok(!v.admitted && v.failure == QAS_FAIL_QUALITY && v.task == 1 && v.part == 1, "q_B = 0.8: refused, task B");
    ok(near(v.predicted, 0.75, 1e-12) && near(v.requested, 0.8, 1e-12), "predicted 0.75 against 0.8");
    ok(strstr(v.reason, "task 'B' optional part 1") && strstr(v.reason, "short by 5.00 percentage points"),
       "the reason names task and shortfall: %s", v.reason);

    /* A margin makes the sizing aim above q: q_B = 0.7 with margin 0.1 is
     * 0.8 again, refused. */
    ts.tasks[1].quality[0] = 0.7;
    c.margin = 0.1;
    qas_analyse(&ts, &c, res, &v, &e);
    ok(!v.admitted && strstr(v.reason, "margin"), "margin 0.1 on q 0.7 is refused like 0.8: %s", v.reason);
    c.margin = 0;

    /* WCET mode: every optional part reserved at its maximum. */
    ts.tasks[1].quality[0] = 0.8;
    c.mode = QAS_MODE_WCET;
    qas_analyse(&ts, &c, res, &v, &e);
    ok(res[0].part[1].budget_ns == 4 * MS && res[1].part[1].budget_ns == 5 * MS, "WCET mode: budgets 4 and 5 ms");
    ok(!v.admitted && v.failure == QAS_FAIL_DEADLINE && v.task == 1 && v.part == 1,
       "WCET mode refuses: B's reservation needs 2 + 1 + 4 + 5 = 12 ms > 10: %s", v.reason);
    is(v.response_ns, 12 * MS, "reservation response 12 ms");

    /* QRMS: budgets are quantiles (A: q 0.9 -> 4; B: q 0.8 -> 5), checked
     * as guaranteed reservations: the same 12 ms, refused. */
    c.mode = QAS_MODE_QRMS;
    qas_analyse(&ts, &c, res, &v, &e);
    ok(res[0].part[1].budget_ns == 4 * MS && !v.admitted && v.failure == QAS_FAIL_DEADLINE,
       "QRMS: quantile budgets, refused by the reservation RTA");
    ts.tasks[0].quality[0] = 0.5; /* A's 50% quantile is 2 */
    qas_analyse(&ts, &c, res, &v, &e);
    ok(v.admitted && res[0].part[1].budget_ns == 2 * MS && near(res[0].part[1].predicted, 0.5, 1e-12),
       "QRMS with q_A 0.5: budget 2, predicted P(Y <= 2) = 0.5, admitted (3 + 2 + 5 = 10)");
    qas_taskset_free(&ts);
}

/*
 * Harmonic periods with backlog, 1 ms grid. A: T 5, mandatory 1, optional
 * 1 or 3 (1/2 each). B: T 10, mandatory 6. A's windows: [0,5) has
 * mandatory 1 + 6 = 7 > 5, so nothing is left and 2 ms of B spill into
 * [5,10), which then holds 2 + 1 = 3 and leaves 2: Y_A = 1 fits, 3 does
 * not. A's quality = (0 + 1/2) / 2 = 0.25 with budget 1.
 */
static void qas_harmonic_by_hand(void)
{
    struct qas_taskset ts;
    qas_taskset_init(&ts);
    struct qas_task t;
    task(&t, "A", 5, 1);
    two_point(&t, 1, 3, 0.25);
    add(&ts, &t);
    task(&t, "B", 10, 6);
    add(&ts, &t);

    struct qas_config c = cfg_ms(QAS_MODE_QAS);
    struct qas_task_result res[2];
    struct qas_verdict v;
    struct qas_err e = {0};
    ok(qas_analyse(&ts, &c, res, &v, &e) == QAS_OK && v.admitted, "harmonic set admitted");
    is(res[1].part[0].response_ns, 8 * MS, "B's mandatory response: 6 + 2 x 1 = 8 ms");
    is(res[0].part[1].budget_ns, 1 * MS, "A's optional budget 1 ms");
    ok(near(res[0].part[1].predicted, 0.25, 1e-12), "A's predicted quality 0.25 (by hand)");
    ts.tasks[0].quality[0] = 0.3;
    qas_analyse(&ts, &c, res, &v, &e);
    ok(!v.admitted && near(v.predicted, 0.25, 1e-12), "asking 0.3 is refused: 0.25 is the most A can get");

    ts.tasks[0].quality[0] = 0.25;
    struct abi_rt_params par[2] = {res[0].params, res[1].params};
    qas_analyse(&ts, &c, res, &v, &e);
    par[0] = res[0].params;
    par[1] = res[1].params;
    struct qas_sim_stats st[2];
    struct qas_sim_config sc = {20000, 9};
    qas_simulate(&ts, par, &sc, st, &e);
    ok(near(st[0].observed[0], 0.25, 0.01), "simulation: A observed %.4f", st[0].observed[0]);
    ok(st[1].mandatory_done == st[1].jobs && st[1].jobs == 20000, "B's mandatory parts all met their deadlines");
    qas_taskset_free(&ts);
}

/*
 * Two optional parts in a chain, one task, T 10, mandatory 2, 1 ms grid:
 * part 1 is 2 or 4 (q 1: budget 4), part 2 is 3 or 5 and runs only after
 * part 1 completed. rt-sched's budgets together must fit the period, so
 * part 2 gets at most 10 - 2 - 4 = 4 ms: only Y2 = 3 can complete, and
 * then always (2 + 4 + 3 <= 10): quality 1/2 with budget 3.
 */
static void chain_by_hand(void)
{
    struct qas_taskset ts;
    qas_taskset_init(&ts);
    struct qas_task t;
    task(&t, "C", 10, 2);
    two_point(&t, 2, 4, 1.0);
    two_point(&t, 3, 5, 0.5);
    add(&ts, &t);
    struct qas_config c = cfg_ms(QAS_MODE_QAS);
    struct qas_task_result res[1];
    struct qas_verdict v;
    struct qas_err e = {0};
    qas_analyse(&ts, &c, res, &v, &e);
    ok(v.admitted && res[0].part[1].budget_ns == 4 * MS && res[0].part[2].budget_ns == 3 * MS,
       "chain: part 1 budget 4 ms, part 2 budget 3 ms");
    ok(near(res[0].part[1].predicted, 1.0, 1e-12) && near(res[0].part[2].predicted, 0.5, 1e-12),
       "predicted 1 and 0.5 (by hand)");
    is(res[0].params.nslices, 3, "three slices");
    ts.tasks[0].quality[1] = 0.6;
    qas_analyse(&ts, &c, res, &v, &e);
    ok(!v.admitted && v.part == 2 && near(v.predicted, 0.5, 1e-12), "asking 0.6 of part 2 is refused (%s)",
       v.reason);
    qas_taskset_free(&ts);

    /* A mandatory WCET at a quantile: the excess runs in slice 1 and adds
     * to optional part 1's demand. Mandatory uniform(0,4) with C at its
     * 50% quantile (2 ms), optional const 1, T 10: part 1 needs
     * (X - 2)^+ + 1 <= budget. */
    qas_taskset_init(&ts);
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "Q");
    t.period_ns = 10 * MS;
    t.wcet_quantile = 0.5;
    qas_spec_uniform(&t.mandatory, 0, 4e6, &e);
    qas_spec_const(&t.optional[0], 1e6, &e);
    t.quality[0] = 0.75;
    t.noptional = 1;
    add(&ts, &t);
    qas_analyse(&ts, &c, res, &v, &e);
    is(res[0].part[0].budget_ns, 2 * MS, "mandatory budget = 50%% quantile = 2 ms");
    is(res[0].part[1].budget_ns, 2 * MS, "optional budget 2 ms covers P((X-2)^+ + 1 <= 2) = 0.75%s", "");
    ok(v.admitted && near(res[0].part[1].predicted, 0.75, 1e-12), "predicted 0.75");
    qas_taskset_free(&ts);
}

static void errors(void)
{
    struct qas_taskset ts;
    qas_taskset_init(&ts);
    struct qas_task t;
    task(&t, "A", 7, 1);
    two_point(&t, 1, 2, 0.9);
    add(&ts, &t);
    task(&t, "B", 10, 1);
    two_point(&t, 1, 2, 0.9);
    add(&ts, &t);
    struct qas_config c = cfg_ms(QAS_MODE_QAS);
    struct qas_task_result res[3];
    struct qas_verdict v;
    struct qas_err e = {0};
    ok(!qas_periods_harmonic(&ts), "7 and 10 are not harmonic");
    ok(qas_analyse(&ts, &c, res, &v, &e) == QAS_ENOTHARMONIC && strstr(e.msg, "QRMS"),
       "QAS mode refuses non-harmonic periods: %s", e.msg);
    c.mode = QAS_MODE_AUTO;
    ok(qas_analyse(&ts, &c, res, &v, &e) == QAS_OK && v.mode == QAS_MODE_QRMS, "auto picks QRMS for them");
    c.prio_top = 101;
    ok(qas_analyse(&ts, &c, res, &v, &e) == QAS_ERANGE && strstr(e.msg, "best-effort"),
       "4 slices do not fit between 101 and best-effort 99: %s", e.msg);
    c.prio_top = 250;

    /* Mandatory overload: the refusal names the task and the overrun. */
    task(&t, "C", 14, 12);
    add(&ts, &t);
    qas_analyse(&ts, &c, res, &v, &e);
    ok(!v.admitted && v.failure == QAS_FAIL_DEADLINE && v.task == 2 && v.part == 0,
       "mandatory overload: task C refused (12 + 2 + 2 = 16 > 14)");
    ok(strstr(v.reason, "task 'C' mandatory part") && strstr(v.reason, "exceeds its deadline 14.000 ms"),
       "reason: %s", v.reason);
    ts.tasks[0].quality[0] = 1.5;
    ok(qas_analyse(&ts, &c, res, &v, &e) == QAS_EINVAL && strstr(e.msg, "(0,1]"), "q 1.5 is invalid: %s", e.msg);
    ts.tasks[0].quality[0] = 0.9;
    ts.tasks[0].period_ns = 0;
    ok(qas_analyse(&ts, &c, res, &v, &e) == QAS_EINVAL && strstr(e.msg, "period"), "period 0 is invalid: %s",
       e.msg);
    qas_taskset_free(&ts);
}

int main(void)
{
    gsl_set_error_handler_off();
    rta_textbook();
    qas_uniform_by_hand();
    qas_harmonic_by_hand();
    chain_by_hand();
    errors();
    return done_testing();
}
