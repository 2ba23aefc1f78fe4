/*
 * System test component: the controller of the admission test
 * (tests/system/admission.scenario).
 *
 *   tc_adm_ctl PHASE_MS      (virtual milliseconds per measured phase)
 *
 * 1. Invalid descriptions are refused with a message saying what is wrong.
 * 2. Workloads 0 and 1 admit themselves; their predictions are queried and
 *    phase TWO runs PHASE_MS with both.
 * 3. Refusals: a newcomer that would push an admitted task below its
 *    quality is refused naming that task and the shortfall; one whose own
 *    mandatory part cannot meet its deadline is refused with the overrun;
 *    neither changes the admitted reservations. Another component may not
 *    release a task it did not admit.
 * 4. Workload 2 is admitted (the first two are re-sized), predictions are
 *    queried again, and phase THREE runs PHASE_MS with all three.
 * 5. The observed quality of every task in every measured phase must lie
 *    within 3 percentage points of the prediction, the first two must stay
 *    at or above their requested quality with the third present, and no
 *    mandatory part may miss its deadline in any phase (the admissions,
 *    re-sizings and refusals included).
 * 6. After the workloads released their reservations, the request refused
 *    in 3 fits; it is admitted and released.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adm_test.h"
#include "drops/admission.h"
#include "drops/ctap.h"
#include "drops/services.h"


#define MS 1000000ull
#define WL_MEASURED 3u
#define MIN_JOBS 300u
#define BOUND_POINTS 3.0

static abi_cap_t server;
static struct adm_shared *sh;
static struct drops_adm_reply rep;

static struct drops_adm_task task(const char *name, uint64_t period, struct drops_adm_dist m)
{
    struct drops_adm_task t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    t.period_ns = period;
    t.part[0] = m;
    return t;
}

static struct drops_adm_dist uniform(uint64_t lo, uint64_t hi) { return (struct drops_adm_dist){DROPS_ADM_UNIFORM, lo, hi, 0, 0}; }

static void expect_invalid(const struct drops_adm_task *t, abi_cap_t thread, const char *needle, const char *what)
{
    int64_t e = drops_adm_admit(server, t, thread, &rep);
    ok(e == DROPS_ADM_INVALID && strstr(rep.message, needle), "%s: refused as invalid, message names '%s'", what,
       needle);
    printf("#   status %ld: %s\n", (long)e, rep.message);
}

static void wait_state(unsigned w, uint32_t state)
{
    for (int i = 0; i < 20000 && sh->wl[w].state != state && sh->wl[w].state != WL_REFUSED; i++) sleep_ns(MS);
}

/* Predictions per workload and phase: optional part's ppm. */
static uint64_t predicted[ADM_TEST_WORKLOADS][PH_COUNT];

static void query_all(unsigned phase, unsigned nwl)
{
    for (unsigned w = 0; w < nwl; w++) {
        int64_t e = drops_adm_query(server, sh->wl[w].name, &rep);
        if (e == DROPS_ADM_OK) predicted[w][phase] = rep.grant.slice[1].predicted_ppm;
        ok(e == DROPS_ADM_OK, "query '%s' for phase %u: mandatory %lu us at %lu, optional %lu us at %lu, "
                              "predicted quality %.4f", sh->wl[w].name, phase,
           (unsigned long)rep.grant.slice[0].budget_ns / 1000, (unsigned long)rep.grant.slice[0].prio,
           (unsigned long)rep.grant.slice[1].budget_ns / 1000, (unsigned long)rep.grant.slice[1].prio,
           rep.grant.slice[1].predicted_ppm / 1e6);
    }
}

int main(int argc, char **argv)
{
    uint64_t phase_ns = (argc > 1 ? strtoull(argv[1], NULL, 10) : 5000) * MS;
    const char *route = getenv("DROPS_CAP_admission");
    server = route ? (abi_cap_t)atoi(route) : 0;
    ok(server >= DROPS_CAP_ROUTES, "route to the admission server in slot %u", (unsigned)server);
    uint64_t addr = 0, size = 0;
    int64_t e = drops_mem_share(ADM_TEST_DS, ADM_TEST_DS_SIZE, &addr, &size);
    if (e) {
        printf("Bail out! no shared page (%s)\n", sys_error_name(e));
        return 1;
    }
    sh = (struct adm_shared *)addr;
    abi_cap_t me = DROPS_CAP_THREAD_BASE; /* a thread to name in requests that must fail */

    /* 1. Invalid descriptions */
    struct drops_adm_task t = task("bad", 0, uniform(MS, 2 * MS));
    expect_invalid(&t, me, "period", "period 0");
    t = task("bad", 10 * MS, uniform(MS, 2 * MS));
    t.noptional = 1;
    t.part[1] = uniform(MS, 2 * MS);
    t.quality_ppm[0] = 1500000;
    expect_invalid(&t, me, "quality", "quality 1.5");
    t.quality_ppm[0] = 0;
    expect_invalid(&t, me, "quality", "quality 0");
    t = task("bad", 10 * MS, uniform(3 * MS, 2 * MS));
    expect_invalid(&t, me, "mandatory", "uniform with lo > hi");
    t = task("bad", 10 * MS, (struct drops_adm_dist){9, MS, 0, 0, 0});
    expect_invalid(&t, me, "unknown distribution kind", "distribution kind 9");
    t = task("bad", 10 * MS, (struct drops_adm_dist){DROPS_ADM_NORMAL, MS, MS / 10, 5 * MS, 6 * MS});
    expect_invalid(&t, me, "mandatory", "normal truncated where it has no mass");
    t = task("bad", 10 * MS, uniform(MS, 2 * MS));
    t.noptional = 8;
    expect_invalid(&t, me, "at most 7", "8 optional parts");
    t = task("", 10 * MS, uniform(MS, 2 * MS));
    expect_invalid(&t, me, "name", "empty name");
    t = task("bad", 10 * MS, uniform(MS, 2 * MS));
    expect_invalid(&t, 0, "thread capability", "no thread capability");
    t = task("bad", 10 * MS, (struct drops_adm_dist){DROPS_ADM_HIST, 100000, 20, 0, 0});
    snprintf(t.dataspace, sizeof t.dataspace, "no-such-dataspace");
    expect_invalid(&t, me, "cannot attach", "histogram in a dataspace that does not exist");
    snprintf(t.dataspace, sizeof t.dataspace, "%s", ADM_TEST_DS);
    t.part[0].c = ADM_TEST_DS_SIZE - 8;
    expect_invalid(&t, me, "inside dataspace", "histogram beyond the end of its dataspace");

    /* 2. Two workloads */
    wait_state(0, WL_ADMITTED);
    wait_state(1, WL_ADMITTED);
    if (!ok(sh->wl[0].state == WL_ADMITTED && sh->wl[1].state == WL_ADMITTED, "workloads '%s' and '%s' admitted",
            sh->wl[0].name, sh->wl[1].name))
        ctap_done();
    t = task(sh->wl[0].name, 10 * MS, uniform(MS, 2 * MS));
    expect_invalid(&t, me, "admitted already", "a second task of an admitted task's name");
    query_all(PH_TWO, 2);
    fflush(stdout);
    sh->phase = PH_TWO;
    sleep_ns(phase_ns);

    /* 3. Refusals */
    sh->phase = PH_CHANGE;
    struct drops_adm_reply before, after;
    drops_adm_query(server, sh->wl[1].name, &before);
    t = task("hog", 5 * MS, (struct drops_adm_dist){DROPS_ADM_CONST, 1200000, 0, 0, 0});
    e = drops_adm_admit(server, &t, me, &rep);
    ok(e == DROPS_ADM_REFUSED && rep.refusal.failure == DROPS_ADM_FAIL_QUALITY &&
           (!strcmp(rep.refusal.task, sh->wl[0].name) || !strcmp(rep.refusal.task, sh->wl[1].name)) &&
           rep.refusal.part == 1 && rep.refusal.got < rep.refusal.want,
       "'hog' refused: admitted '%s' optional part %lu would fall to %.4f, below %.4f (short by %.2f points)",
       rep.refusal.task, (unsigned long)rep.refusal.part, rep.refusal.got / 1e6, rep.refusal.want / 1e6,
       ((double)rep.refusal.want - (double)rep.refusal.got) / 1e4);
    printf("#   reason: %s\n#   decision %lu us, %lu cycles\n", rep.refusal.reason,
           (unsigned long)rep.refusal.decision_ns / 1000, (unsigned long)rep.refusal.decision_cycles);
    t = task("big", 5 * MS, uniform(3 * MS, 4500000));
    e = drops_adm_admit(server, &t, me, &rep);
    ok(e == DROPS_ADM_REFUSED && rep.refusal.failure == DROPS_ADM_FAIL_DEADLINE && !strcmp(rep.refusal.task, "big") &&
           rep.refusal.part == 0 && rep.refusal.got > rep.refusal.want,
       "'big' refused: its mandatory part's response %lu us exceeds its deadline %lu us by %lu us",
       (unsigned long)rep.refusal.got / 1000, (unsigned long)rep.refusal.want / 1000,
       (unsigned long)(rep.refusal.got - rep.refusal.want) / 1000);
    printf("#   reason: %s\n", rep.refusal.reason);
    drops_adm_query(server, sh->wl[1].name, &after);
    ok(!memcmp(&before.grant, &after.grant, sizeof before.grant), "the refusals left '%s' as it was",
       sh->wl[1].name);
    is(drops_adm_release(server, sh->wl[0].handle, &rep), DROPS_ADM_NOT_OWNER,
       "releasing another component's task is refused");
    is(drops_adm_release(server, 9999, &rep), DROPS_ADM_UNKNOWN, "releasing an unknown handle: unknown");

    /* 4. The third workload joins. */
    sh->phase = PH_JOIN;
    wait_state(2, WL_ADMITTED);
    if (!ok(sh->wl[2].state == WL_ADMITTED, "workload '%s' admitted beside the two", sh->wl[2].name)) ctap_done();
    sleep_ns(50 * MS); /* every re-programmed task reached a new release */
    query_all(PH_THREE, 3);
    fflush(stdout);
    sh->phase = PH_THREE;
    sleep_ns(phase_ns);
    sh->phase = PH_END;
    for (unsigned w = 0; w < WL_MEASURED; w++) wait_state(w, WL_DONE);

    /* 5. Observed against predicted */
    for (unsigned p = PH_TWO; p <= PH_THREE; p += PH_THREE - PH_TWO) {
        for (unsigned w = 0; w < (p == PH_TWO ? 2u : 3u); w++) {
            struct adm_wl_stats *st = &sh->wl[w].st[p];
            double obs = st->jobs ? (double)st->opt_done / st->jobs : 0, pred = predicted[w][p] / 1e6;
            double q = sh->wl[w].q_ppm / 1e6;
            ok(st->jobs >= MIN_JOBS && fabs(obs - pred) * 100 <= BOUND_POINTS,
               "phase %u '%s': observed quality %.4f over %lu jobs, predicted %.4f (%+.2f points)", p,
               sh->wl[w].name, obs, (unsigned long)st->jobs, pred, (obs - pred) * 100);
            if (p == PH_THREE && w < 2)
                ok(obs >= q, "phase %u '%s': with the third task present, still at or above q = %.2f", p,
                   sh->wl[w].name, q);
        }
    }

    /* The server programs from the slack (its analysis runs below every
     * slice), so even the re-sizing never cuts into a mandatory part. */
    for (unsigned w = 0; w < WL_MEASURED; w++) {
        uint64_t jobs = 0, miss = 0;
        for (unsigned p = 0; p < PH_COUNT; p++) jobs += sh->wl[w].st[p].jobs, miss += sh->wl[w].st[p].mand_miss;
        is(miss, 0, "'%s': none of its %lu mandatory parts missed its deadline, admissions and refusals included",
           sh->wl[w].name, (unsigned long)jobs);
    }

    /* 6. Released capacity is free again. */
    t = task("hog", 5 * MS, (struct drops_adm_dist){DROPS_ADM_CONST, 1200000, 0, 0, 0});
    e = drops_adm_admit(server, &t, me, &rep);
    ok(e == DROPS_ADM_OK, "after the workloads left, 'hog' is admitted (decision %lu us, %lu cycles)",
       (unsigned long)rep.grant.decision_ns / 1000, (unsigned long)rep.grant.decision_cycles);
    if (e == DROPS_ADM_OK) {
        uint64_t h = rep.grant.handle;
        is(drops_adm_release(server, h, &rep), DROPS_ADM_OK, "and released");
        is(drops_adm_release(server, h, &rep), DROPS_ADM_UNKNOWN, "a second release: unknown handle");
    }
    ctap_done();
}
