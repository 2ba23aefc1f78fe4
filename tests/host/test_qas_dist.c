/*
 * libqas distributions: validation and normalisation of parametric and
 * measured forms, discretisation on the grid (round up), capping and
 * quantiles, and the two convolutions (direct and GSL FFT), which must agree.
 */
#include <math.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>

#include "qas_dist.h"
#include "tap.h"

#define MS 1e6

static int near(double a, double b, double tol)
{
    return fabs(a - b) <= tol;
}

static void spec_validation(void)
{
    struct qas_spec s;
    struct qas_err e = {0};
    ok(qas_spec_uniform(&s, 1 * MS, 2 * MS, &e) == QAS_OK, "uniform(1,2) is valid");
    ok(qas_spec_uniform(&s, 3 * MS, 2 * MS, &e) == QAS_EINVAL && strstr(e.msg, "lo must not exceed hi"),
       "uniform with lo > hi is refused: %s", e.msg);
    ok(qas_spec_uniform(&s, -1, 2 * MS, &e) == QAS_EINVAL, "uniform with a negative bound is refused");
    ok(qas_spec_uniform(&s, 2 * MS, 2 * MS, &e) == QAS_OK && s.kind == QAS_SPEC_CONST,
       "uniform(2,2) degenerates to a constant");
    ok(qas_spec_const(&s, NAN, &e) == QAS_EINVAL, "const(NaN) is refused");
    ok(qas_spec_normal(&s, 5 * MS, 0, 1 * MS, 9 * MS, &e) == QAS_EINVAL && strstr(e.msg, "sd must be > 0"),
       "normal with sd 0 is refused: %s", e.msg);
    ok(qas_spec_normal(&s, 5 * MS, 1 * MS, 9 * MS, 9 * MS, &e) == QAS_EINVAL, "normal with lo == hi is refused");
    ok(qas_spec_normal(&s, 5 * MS, 0.1 * MS, 50 * MS, 60 * MS, &e) == QAS_EINVAL && strstr(e.msg, "no probability"),
       "normal truncated far into its tail is refused: %s", e.msg);
    ok(qas_spec_normal(&s, 5 * MS, 1 * MS, 2 * MS, 8 * MS, &e) == QAS_OK, "normal(5,1,2,8) is valid");
    ok(near(qas_spec_mean(&s), 5 * MS, 1), "symmetric truncation keeps the mean");
    ok(qas_spec_sd(&s) < 1 * MS && qas_spec_sd(&s) > 0.95 * MS, "truncation at 3 sd shrinks sd slightly (%.0f ns)",
       qas_spec_sd(&s));

    double edge[4] = {0, 1 * MS, 2 * MS, 3 * MS};
    double counts[3] = {1, 2, 1}, neg[3] = {1, -2, 1}, zero[3] = {0, 0, 0};
    double probs_bad[3] = {0.2, 0.3, 0.4}, probs_ok[3] = {0.25, 0.5, 0.25};
    ok(qas_spec_hist_counts(&s, edge, counts, 3, &e) == QAS_OK, "histogram of counts is valid");
    ok(near(s.mass[0], 0.25, 1e-15) && near(s.mass[1], 0.5, 1e-15) && near(s.mass[2], 0.25, 1e-15),
       "counts are normalised to probabilities");
    ok(near(qas_spec_mean(&s), 1.5 * MS, 1e-6), "histogram mean is the mass-weighted bin centre");
    qas_spec_free(&s);
    ok(qas_spec_hist_counts(&s, edge, neg, 3, &e) == QAS_EINVAL && strstr(e.msg, "bin 2 is negative"),
       "a negative count is refused: %s", e.msg);
    ok(qas_spec_hist_counts(&s, edge, zero, 3, &e) == QAS_EINVAL && strstr(e.msg, "all bins are zero"),
       "an all-zero histogram is refused: %s", e.msg);
    ok(qas_spec_hist_probs(&s, edge, probs_bad, 3, &e) == QAS_EINVAL && strstr(e.msg, "not normalised"),
       "probabilities summing to 0.9 are refused: %s", e.msg);
    ok(qas_spec_hist_probs(&s, edge, probs_ok, 3, &e) == QAS_OK, "probabilities summing to 1 are accepted");
    qas_spec_free(&s);
    double bad_edge[4] = {0, 2 * MS, 1 * MS, 3 * MS};
    ok(qas_spec_hist_counts(&s, bad_edge, counts, 3, &e) == QAS_EINVAL && strstr(e.msg, "increase"),
       "decreasing bin edges are refused");

    double p_ok[3] = {0.5, 0.25, 0.25}, p_neg[3] = {1.2, -0.2, 0}, p_sum[2] = {0.5, 0.4};
    ok(qas_dist_validate(p_ok, 3, &e) == QAS_OK, "a normalised vector validates");
    ok(qas_dist_validate(p_neg, 3, &e) == QAS_EINVAL && strstr(e.msg, "negative"), "a negative entry fails: %s",
       e.msg);
    ok(qas_dist_validate(p_sum, 2, &e) == QAS_EINVAL && strstr(e.msg, "not normalised"),
       "a vector summing to 0.9 fails: %s", e.msg);
    double w[3] = {2, 6, 2};
    ok(qas_dist_normalise(w, 3, &e) == QAS_OK && near(w[1], 0.6, 1e-15), "weights normalise to probabilities");
}

static void discretisation(void)
{
    struct qas_spec s;
    struct qas_dist d = {0};
    struct qas_err e = {0};

    qas_spec_const(&s, 2 * MS, &e);
    ok(qas_dist_from_spec(&d, &s, 1 * MS, 0, &e) == QAS_OK && d.n == 3 && d.p[2] == 1,
       "const(2) on a 1 ms grid is all mass at step 2");
    qas_dist_free(&d);
    qas_spec_const(&s, 2.5 * MS, &e);
    qas_dist_from_spec(&d, &s, 1 * MS, 0, &e);
    ok(d.n == 4 && d.p[3] == 1, "const(2.5) rounds up to step 3");
    qas_dist_free(&d);

    qas_spec_uniform(&s, 0, 10 * MS, &e);
    qas_dist_from_spec(&d, &s, 1 * MS, 0, &e);
    int flat = d.n == 11 && d.p[0] == 0;
    for (size_t k = 1; k < d.n; k++) flat = flat && near(d.p[k], 0.1, 1e-12);
    ok(flat, "uniform(0,10) on a 1 ms grid: 0.1 at each of steps 1..10");
    ok(near(qas_dist_mean(&d), 5.5, 1e-12), "rounding up shifts the mean by half a step (5.5)");
    is(qas_dist_quantile(&d, 0.3), 3, "30%% quantile is step 3");
    is(qas_dist_quantile(&d, 1.0), 10, "100%% quantile is the support's max");
    is(qas_dist_max(&d), 10, "max of the support");
    qas_dist_cap(&d, 6);
    ok(d.n == 7 && near(d.p[6], 0.5, 1e-12), "capping at 6 moves the upper mass to 6");
    qas_dist_free(&d);

    /* The part of uniform(0,10) beyond a budget of 6: 0 with 0.6, 1..4 with 0.1. */
    qas_dist_from_spec(&d, &s, 1 * MS, 6 * MS, &e);
    ok(d.n == 5 && near(d.p[0], 0.6, 1e-12) && near(d.p[1], 0.1, 1e-12) && near(d.p[4], 0.1, 1e-12),
       "excess over a budget: (X - 6)^+");
    qas_dist_free(&d);

    qas_spec_normal(&s, 5 * MS, 1 * MS, 2 * MS, 8 * MS, &e);
    qas_dist_from_spec(&d, &s, 0.01 * MS, 0, &e);
    ok(near(qas_dist_mass(&d), 1, 1e-12), "normal on a fine grid: total mass 1");
    ok(near(qas_dist_mean(&d) * 0.01 * MS, 5 * MS + 0.005 * MS, 0.001 * MS), "mean = 5 ms + half a step");
    ok(d.p[200] == 0 && d.p[201] > 0 && qas_dist_max(&d) == 800, "support is (2, 8] ms");
    qas_dist_free(&d);

    double edge[3] = {0, 2 * MS, 4 * MS}, counts[2] = {1, 3};
    qas_spec_hist_counts(&s, edge, counts, 2, &e);
    qas_dist_from_spec(&d, &s, 1 * MS, 0, &e);
    ok(d.n == 5 && near(d.p[1], 0.125, 1e-12) && near(d.p[2], 0.125, 1e-12) && near(d.p[3], 0.375, 1e-12) &&
           near(d.p[4], 0.375, 1e-12),
       "histogram bins spread uniformly over finer grid steps");
    qas_dist_free(&d);
    qas_spec_free(&s);
}

static double max_diff(const struct qas_dist *a, const struct qas_dist *b)
{
    if (a->n != b->n) return INFINITY;
    double m = 0;
    for (size_t k = 0; k < a->n; k++)
        if (fabs(a->p[k] - b->p[k]) > m) m = fabs(a->p[k] - b->p[k]);
    return m;
}

static void random_dist(struct qas_dist *d, size_t n, gsl_rng *r)
{
    qas_dist_alloc(d, n);
    for (size_t k = 0; k < n; k++) d->p[k] = gsl_rng_uniform(r) < 0.2 ? 0 : gsl_rng_uniform(r);
    d->p[n - 1] += 0.1;
    struct qas_err e;
    qas_dist_normalise(d->p, d->n, &e);
}

static void convolution(void)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 12345);
    static const size_t sizes[][3] = {{1, 1, 0},     {1, 7, 0},      {3, 5, 0},      {64, 65, 0},
                                      {100, 1000, 0}, {1000, 1000, 0}, {4096, 3001, 0}, {2000, 3000, 1500},
                                      {513, 9000, 4000}};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        struct qas_dist a = {0}, b = {0}, x = {0}, y = {0};
        random_dist(&a, sizes[t][0], r);
        random_dist(&b, sizes[t][1], r);
        size_t maxlen = sizes[t][2];
        ok(qas_convolve_direct(&a, &b, &x, maxlen) == QAS_OK && qas_convolve_fft(&a, &b, &y, maxlen) == QAS_OK,
           "convolve %zu x %zu (maxlen %zu) both ways", a.n, b.n, maxlen);
        double d = max_diff(&x, &y);
        ok(d < 1e-12, "direct and FFT agree within 1e-12 (max difference %.2g)", d);
        size_t full = a.n + b.n - 1;
        is(x.n, maxlen ? maxlen : full, "result length");
        if (!maxlen) ok(near(qas_dist_mass(&y), 1, 1e-9), "mass is preserved");
        qas_dist_free(&a);
        qas_dist_free(&b);
        qas_dist_free(&x);
        qas_dist_free(&y);
    }
    gsl_rng_free(r);

    /* Two uniforms on 1..10 make the triangle on 2..20 with peak 0.1 at 11. */
    struct qas_spec s;
    struct qas_err e;
    struct qas_dist u = {0}, t = {0};
    qas_spec_uniform(&s, 0, 10 * MS, &e);
    qas_dist_from_spec(&u, &s, 1 * MS, 0, &e);
    qas_convolve(&u, &u, &t, 0, 4);
    ok(t.n == 21 && t.p[1] == 0 && near(t.p[2], 0.01, 1e-12) && near(t.p[11], 0.1, 1e-12) &&
           near(t.p[20], 0.01, 1e-12),
       "uniform * uniform (through FFT) is the exact triangle");
    qas_dist_free(&t);
    qas_convolve(&u, &u, &t, 0, 1000);
    ok(near(t.p[11], 0.1, 1e-15), "the same through the direct product");
    qas_dist_free(&t);
    qas_convolve(&u, &u, &t, 12, 0);
    ok(t.n == 12 && near(qas_dist_mass(&t), 0.55, 1e-12), "truncated at 12 entries: defective mass P(sum <= 11)");
    qas_dist_free(&t);
    qas_dist_free(&u);
}

int main(void)
{
    gsl_set_error_handler_off();
    spec_validation();
    discretisation();
    convolution();
    return done_testing();
}
