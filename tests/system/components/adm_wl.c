/*
 * System test component: a synthetic periodic workload for the admission
 * test. It describes itself to the admission server, hands over its main
 * thread, and then runs one job per period: a mandatory part and an
 * optional part whose execution times are drawn from the described
 * distributions (own generator, fixed seed), spun on the CPU.
 *
 *   tc_adm_wl SLOT NAME PERIOD_US MANDATORY OPTIONAL Q_PPM SEED WAIT_PHASE
 *
 * Distributions in microseconds: c:X, u:LO:HI, n:MEAN:SD:LO:HI (truncated
 * normal), h:WIDTH:C1,C2,... (histogram counts; sent through a dataspace).
 * The workload registers once the controller's phase reaches WAIT_PHASE.
 *
 * Execution time is spun as a number of loop iterations calibrated at
 * start: under QEMU's -icount an instruction is a fixed amount of virtual
 * time, so an iteration count is CPU time, whatever preempts the loop.
 * The loop also watches the job's deadline: work never spills into the
 * next period. A job's optional part counts as done when the spin finished
 * and the thread is still in slice 1 (sys_rt_next_reservation(1) succeeds):
 * within its budget and before its deadline, the QAS model's definition.
 * Counts per phase go to the shared page; the controller compares them
 * with the server's predictions.
 *
 * An optional part that outruns its budget is not stopped at once (the
 * workload has no preempter thread): it goes on at best-effort priority,
 * below every reserved slice, until its spin ends or the deadline comes,
 * and counts as not done. Likewise the short step from
 * sys_rt_next_reservation(1) to sys_rt_next_period() runs at best-effort
 * priority and may only get the CPU after the deadline: the kernel then
 * records a deadline miss and starts the next job, which this loop simply
 * continues with. Neither takes time from a reserved slice.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adm_test.h"
#include "drops/admission.h"
#include "drops/ctap.h"
#include "drops/services.h"


/* --- random numbers: splitmix64 --- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double rng_unit(void) { return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0; }

/* --- distributions --- */

#define HIST_MAX 64

struct dist {
    struct drops_adm_dist wire;
    double lo, hi, mean, sd; /* ns */
    double width;
    unsigned nbins;
    uint64_t count[HIST_MAX];
    uint64_t total;
};

static int parse_dist(const char *s, struct dist *d)
{
    memset(d, 0, sizeof *d);
    double v[5] = {0};
    int n = 0;
    char kind = s[0];
    const char *p = s + 1;
    if (kind == 'h') {
        if (*p != ':') return -1;
        d->width = strtod(p + 1, (char **)&p) * 1000;
        if (*p != ':') return -1;
        p++;
        while (*p && d->nbins < HIST_MAX) {
            d->count[d->nbins] = strtoull(p, (char **)&p, 10);
            d->total += d->count[d->nbins++];
            if (*p == ',') p++;
            else if (*p) return -1;
        }
        d->wire = (struct drops_adm_dist){DROPS_ADM_HIST, (uint64_t)d->width, d->nbins, 0, 0};
        return d->total ? 0 : -1;
    }
    while (*p == ':' && n < 5) v[n++] = strtod(p + 1, (char **)&p) * 1000;
    if (*p) return -1;
    if (kind == 'c' && n == 1) {
        d->lo = d->hi = v[0];
        d->wire = (struct drops_adm_dist){DROPS_ADM_CONST, (uint64_t)v[0], 0, 0, 0};
    } else if (kind == 'u' && n == 2) {
        d->lo = v[0], d->hi = v[1];
        d->wire = (struct drops_adm_dist){DROPS_ADM_UNIFORM, (uint64_t)v[0], (uint64_t)v[1], 0, 0};
    } else if (kind == 'n' && n == 4) {
        d->mean = v[0], d->sd = v[1], d->lo = v[2], d->hi = v[3];
        d->wire = (struct drops_adm_dist){DROPS_ADM_NORMAL, (uint64_t)v[0], (uint64_t)v[1], (uint64_t)v[2],
                                          (uint64_t)v[3]};
    } else {
        return -1;
    }
    return 0;
}

/* One execution time in ns. */
static double draw(const struct dist *d)
{
    switch (d->wire.kind) {
    case DROPS_ADM_CONST:
        return d->lo;
    case DROPS_ADM_UNIFORM:
        return d->lo + (d->hi - d->lo) * rng_unit();
    case DROPS_ADM_NORMAL:
        for (;;) { /* Box-Muller, truncated by rejection */
            double x = d->mean + d->sd * sqrt(-2 * log(rng_unit())) * cos(2 * M_PI * rng_unit());
            if (x >= d->lo && x <= d->hi) return x;
        }
    default: { /* histogram: a bin by its weight, uniform inside it */
        uint64_t pick = rng_next() % d->total;
        unsigned j = 0;
        while (pick >= d->count[j]) pick -= d->count[j++];
        return d->width * (j + rng_unit());
    }
    }
}

/* --- spinning CPU time --- */

static double iters_per_ns;

/* Spin n iterations or until `deadline`; the iterations left (0: all done). */
__attribute__((noinline)) static uint64_t spin_iters(uint64_t n, uint64_t deadline)
{
    for (; n; n--)
        if (now_ns() >= deadline) return n;
    return 0;
}

static int spin(double ns, uint64_t deadline) { return spin_iters((uint64_t)(ns * iters_per_ns), deadline) == 0; }

static void calibrate(void)
{
    /* The least time of a few runs: the one nothing preempted. */
    const uint64_t n = 20000;
    uint64_t best = ~0ull;
    for (int i = 0; i < 7; i++) {
        uint64_t t0 = now_ns();
        spin_iters(n, ~0ull);
        uint64_t t = now_ns() - t0;
        if (t < best) best = t;
    }
    iters_per_ns = (double)n / (double)best;
}

int main(int argc, char **argv)
{
    if (argc != 9) {
        printf("usage: tc_adm_wl SLOT NAME PERIOD_US MANDATORY OPTIONAL Q_PPM SEED WAIT_PHASE\n");
        return 2;
    }
    unsigned slot = (unsigned)atoi(argv[1]);
    const char *name = argv[2];
    uint64_t period = strtoull(argv[3], NULL, 10) * 1000;
    struct dist mand, opt;
    uint64_t q_ppm = strtoull(argv[6], NULL, 10);
    rng_state = strtoull(argv[7], NULL, 10);
    unsigned wait_phase = (unsigned)atoi(argv[8]);
    if (slot >= ADM_TEST_WORKLOADS || parse_dist(argv[4], &mand) || parse_dist(argv[5], &opt)) {
        printf("tc_adm_wl: bad arguments\n");
        return 2;
    }
    const char *route = getenv("DROPS_CAP_admission");
    abi_cap_t server = route ? (abi_cap_t)atoi(route) : 0;

    uint64_t addr = 0, size = 0;
    int64_t e = drops_mem_share(ADM_TEST_DS, ADM_TEST_DS_SIZE, &addr, &size);
    if (e) {
        printf("Bail out! %s: no shared page (%s)\n", name, sys_error_name(e));
        return 1;
    }
    struct adm_shared *sh = (struct adm_shared *)addr;
    snprintf(sh->wl[slot].name, sizeof sh->wl[slot].name, "%s", name);
    sh->wl[slot].q_ppm = (uint32_t)q_ppm;

    struct drops_adm_task t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    t.period_ns = period;
    t.noptional = 1;
    t.quality_ppm[0] = q_ppm;
    t.part[0] = mand.wire;
    t.part[1] = opt.wire;
    /* Histograms travel in a dataspace of our own. */
    if (mand.wire.kind == DROPS_ADM_HIST || opt.wire.kind == DROPS_ADM_HIST) {
        snprintf(t.dataspace, sizeof t.dataspace, "adm-hist-%s", name);
        uint64_t haddr, hsize;
        e = drops_mem_share(t.dataspace, 4096, &haddr, &hsize);
        if (e) {
            printf("Bail out! %s: no histogram dataspace (%s)\n", name, sys_error_name(e));
            return 1;
        }
        uint64_t *w = (uint64_t *)haddr, off = 0;
        for (unsigned p = 0; p < 2; p++) {
            struct dist *d = p ? &opt : &mand;
            if (d->wire.kind != DROPS_ADM_HIST) continue;
            d->wire.c = t.part[p].c = off * 8;
            memcpy(&w[off], d->count, d->nbins * 8);
            off += d->nbins;
        }
    }

    calibrate();
    printf("# %s: %.4f spin iterations per ns; waits for phase %u\n", name, iters_per_ns, wait_phase);
    fflush(stdout);
    /* Wait in the slack: below every reserved slice, above best effort. */
    unsigned prio = 0;
    for (unsigned p = 255; p > 0 && !prio; p--)
        if (!sys_thread_sched(DROPS_CAP_THREAD_BASE, p, p).err) prio = p;
    sys_thread_sched(DROPS_CAP_THREAD_BASE, 100, prio);
    while (sh->phase < wait_phase) sleep_ns(1000000);

    struct drops_adm_reply rep;
    e = drops_adm_admit(server, &t, DROPS_CAP_THREAD_BASE, &rep);
    if (!ok(e == DROPS_ADM_OK, "%s admitted", name)) {
        printf("#   status %ld: %s%s\n", (long)e, rep.message, e == DROPS_ADM_REFUSED ? rep.refusal.reason : "");
        sh->wl[slot].state = WL_REFUSED;
        ctap_done();
    }
    struct drops_adm_grant g = rep.grant;
    sh->wl[slot].handle = g.handle;
    sh->wl[slot].state = WL_ADMITTED;

    sys_rt_next_period(); /* the first release */
    for (;;) {
        uint64_t now = now_ns();
        uint32_t ph = sh->phase;
        if (ph >= PH_END) break;
        if (now < g.start_ns) { /* not in a job (a re-programming moved the start) */
            sys_rt_next_period();
            continue;
        }
        uint64_t deadline = g.start_ns + ((now - g.start_ns) / period + 1) * period;
        struct adm_wl_stats *st = &sh->wl[slot].st[ph];
        st->jobs++;
        /* The job's execution times; drawing them is part of the per-job
         * overhead the server adds to the mandatory part. */
        double x = draw(&mand), y = draw(&opt);
        uint64_t s0 = now_ns();
        int spun = spin(x, deadline);
        st->spun_ns += now_ns() - s0, st->drawn_ns += (uint64_t)x;
        if (!spun) {
            st->mand_miss++;
        } else {
            if (sys_rt_next_reservation(0).err) st->mand_over++;
            if (spin(y, deadline) && !sys_rt_next_reservation(1).err) st->opt_done++;
        }
        if (now_ns() < deadline) sys_rt_next_period();
    }

    e = drops_adm_release(server, g.handle, &rep);
    ok(e == DROPS_ADM_OK, "%s released its reservation", name);
    for (unsigned p = PH_TWO; p < PH_END; p++) {
        struct adm_wl_stats *st = &sh->wl[slot].st[p];
        if (st->jobs)
            printf("# %s phase %u: %lu jobs, optional done %lu (%.2f %%), mandatory misses %lu, mandatory overruns %lu, "
                   "mandatory spins %.2f %% longer than drawn\n",
                   name, p, (unsigned long)st->jobs, (unsigned long)st->opt_done, 100.0 * st->opt_done / st->jobs,
                   (unsigned long)st->mand_miss, (unsigned long)st->mand_over,
                   st->drawn_ns ? 100.0 * ((double)st->spun_ns / (double)st->drawn_ns - 1) : 0.0);
    }
    sh->wl[slot].state = WL_DONE;
    ctap_done();
}
