/*
 * Execution-time distributions: validation of parametric and measured forms,
 * discretisation on the analysis grid, and the discrete operations (direct
 * and FFT convolution, capping, quantiles). See qas_dist.h for the grid
 * convention (round up, so every sum is pessimistic).
 */
#include "qas_dist.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_fft_halfcomplex.h>
#include <gsl/gsl_fft_real.h>
#include <gsl/gsl_randist.h>

void qas_err_set(struct qas_err *err, const char *fmt, ...)
{
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

/* ---- parametric and measured specifications ---------------------------- */

static int spec_fail(struct qas_err *err, const char *what)
{
    qas_err_set(err, "%s", what);
    return QAS_EINVAL;
}

static int finite_nonneg(double x)
{
    return isfinite(x) && x >= 0;
}

int qas_spec_const(struct qas_spec *s, double c_ns, struct qas_err *err)
{
    memset(s, 0, sizeof *s);
    if (!finite_nonneg(c_ns)) return spec_fail(err, "const: execution time must be a finite value >= 0");
    s->kind = QAS_SPEC_CONST;
    s->lo_ns = s->hi_ns = s->mean_ns = c_ns;
    return QAS_OK;
}

int qas_spec_uniform(struct qas_spec *s, double lo_ns, double hi_ns, struct qas_err *err)
{
    memset(s, 0, sizeof *s);
    if (!finite_nonneg(lo_ns) || !finite_nonneg(hi_ns))
        return spec_fail(err, "uniform(lo,hi): bounds must be finite values >= 0");
    if (lo_ns > hi_ns) return spec_fail(err, "uniform(lo,hi): lo must not exceed hi");
    s->kind = lo_ns == hi_ns ? QAS_SPEC_CONST : QAS_SPEC_UNIFORM;
    s->lo_ns = lo_ns;
    s->hi_ns = hi_ns;
    s->mean_ns = (lo_ns + hi_ns) / 2;
    return QAS_OK;
}

int qas_spec_normal(struct qas_spec *s, double mean_ns, double sd_ns, double lo_ns, double hi_ns,
                    struct qas_err *err)
{
    memset(s, 0, sizeof *s);
    if (!isfinite(mean_ns) || !isfinite(sd_ns) || !finite_nonneg(lo_ns) || !finite_nonneg(hi_ns))
        return spec_fail(err, "normal(mean,sd,lo,hi): parameters must be finite, lo and hi >= 0");
    if (sd_ns <= 0) return spec_fail(err, "normal(mean,sd,lo,hi): sd must be > 0");
    if (lo_ns >= hi_ns) return spec_fail(err, "normal(mean,sd,lo,hi): lo must be below hi");
    double mass = gsl_cdf_gaussian_P(hi_ns - mean_ns, sd_ns) - gsl_cdf_gaussian_P(lo_ns - mean_ns, sd_ns);
    if (!(mass > 1e-9))
        return spec_fail(err, "normal(mean,sd,lo,hi): the truncation interval holds no probability mass");
    s->kind = QAS_SPEC_NORMAL;
    s->lo_ns = lo_ns;
    s->hi_ns = hi_ns;
    s->mean_ns = mean_ns;
    s->sd_ns = sd_ns;
    s->norm_mass = mass;
    return QAS_OK;
}

static int hist_init(struct qas_spec *s, const double *edge, const double *w, size_t nbins, int counts,
                     struct qas_err *err)
{
    memset(s, 0, sizeof *s);
    if (nbins == 0) return spec_fail(err, "histogram: no bins");
    if (!finite_nonneg(edge[0])) return spec_fail(err, "histogram: bin edges must be finite values >= 0");
    for (size_t j = 0; j < nbins; j++) {
        if (!isfinite(edge[j + 1]) || edge[j + 1] <= edge[j])
            return spec_fail(err, "histogram: bin edges must increase strictly");
    }
    double total = 0;
    for (size_t j = 0; j < nbins; j++) {
        if (!isfinite(w[j])) {
            qas_err_set(err, "histogram: bin %zu is not a finite number", j + 1);
            return QAS_EINVAL;
        }
        if (w[j] < 0) {
            qas_err_set(err, "histogram: bin %zu is negative (%g)", j + 1, w[j]);
            return QAS_EINVAL;
        }
        total += w[j];
    }
    if (!(total > 0)) return spec_fail(err, "histogram: all bins are zero");
    if (!counts && fabs(total - 1) > QAS_NORM_TOL) {
        qas_err_set(err, "probabilities are not normalised: they sum to %.9g, not 1", total);
        return QAS_EINVAL;
    }
    s->edge = malloc((nbins + 1) * sizeof *s->edge);
    s->mass = malloc(nbins * sizeof *s->mass);
    s->cum = malloc((nbins + 1) * sizeof *s->cum);
    if (!s->edge || !s->mass || !s->cum) {
        qas_spec_free(s);
        return spec_fail(err, "out of memory");
    }
    memcpy(s->edge, edge, (nbins + 1) * sizeof *edge);
    double acc = 0, mean = 0;
    for (size_t j = 0; j < nbins; j++) {
        s->mass[j] = w[j] / total;
        s->cum[j] = acc;
        acc += s->mass[j];
        mean += s->mass[j] * (edge[j] + edge[j + 1]) / 2;
    }
    s->cum[nbins] = 1;
    s->kind = QAS_SPEC_HIST;
    s->nbins = nbins;
    /* Leading empty bins do not count towards the support. */
    size_t first = 0, last = nbins - 1;
    while (s->mass[first] == 0) first++;
    while (s->mass[last] == 0) last--;
    s->lo_ns = edge[first];
    s->hi_ns = edge[last + 1];
    s->mean_ns = mean;
    return QAS_OK;
}

int qas_spec_hist_counts(struct qas_spec *s, const double *edge, const double *count, size_t nbins,
                         struct qas_err *err)
{
    return hist_init(s, edge, count, nbins, 1, err);
}

int qas_spec_hist_probs(struct qas_spec *s, const double *edge, const double *prob, size_t nbins,
                        struct qas_err *err)
{
    return hist_init(s, edge, prob, nbins, 0, err);
}

int qas_spec_copy(struct qas_spec *dst, const struct qas_spec *src)
{
    *dst = *src;
    dst->edge = dst->mass = dst->cum = NULL;
    if (src->kind != QAS_SPEC_HIST) return QAS_OK;
    size_t n = src->nbins;
    dst->edge = malloc((n + 1) * sizeof *dst->edge);
    dst->mass = malloc(n * sizeof *dst->mass);
    dst->cum = malloc((n + 1) * sizeof *dst->cum);
    if (!dst->edge || !dst->mass || !dst->cum) {
        qas_spec_free(dst);
        return QAS_ENOMEM;
    }
    memcpy(dst->edge, src->edge, (n + 1) * sizeof *dst->edge);
    memcpy(dst->mass, src->mass, n * sizeof *dst->mass);
    memcpy(dst->cum, src->cum, (n + 1) * sizeof *dst->cum);
    return QAS_OK;
}

void qas_spec_free(struct qas_spec *s)
{
    free(s->edge);
    free(s->mass);
    free(s->cum);
    s->edge = s->mass = s->cum = NULL;
    s->nbins = 0;
}

double qas_spec_cdf(const struct qas_spec *s, double x)
{
    if (x < s->lo_ns) return 0;
    if (x >= s->hi_ns) return 1;
    switch (s->kind) {
    case QAS_SPEC_CONST:
        return 1;
    case QAS_SPEC_UNIFORM:
        return (x - s->lo_ns) / (s->hi_ns - s->lo_ns);
    case QAS_SPEC_NORMAL:
        return (gsl_cdf_gaussian_P(x - s->mean_ns, s->sd_ns) - gsl_cdf_gaussian_P(s->lo_ns - s->mean_ns, s->sd_ns)) /
               s->norm_mass;
    case QAS_SPEC_HIST: {
        /* Binary search for the bin (edge[j], edge[j+1]] holding x. */
        size_t lo = 0, hi = s->nbins;
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (s->edge[mid] < x)
                lo = mid;
            else
                hi = mid;
        }
        double frac = (x - s->edge[lo]) / (s->edge[lo + 1] - s->edge[lo]);
        if (frac < 0) frac = 0;
        if (frac > 1) frac = 1;
        return s->cum[lo] + s->mass[lo] * frac;
    }
    }
    return 1;
}

double qas_spec_mean(const struct qas_spec *s)
{
    if (s->kind != QAS_SPEC_NORMAL) return s->mean_ns;
    double a = (s->lo_ns - s->mean_ns) / s->sd_ns, b = (s->hi_ns - s->mean_ns) / s->sd_ns;
    return s->mean_ns + s->sd_ns * (gsl_ran_ugaussian_pdf(a) - gsl_ran_ugaussian_pdf(b)) / s->norm_mass;
}

double qas_spec_sd(const struct qas_spec *s)
{
    switch (s->kind) {
    case QAS_SPEC_CONST:
        return 0;
    case QAS_SPEC_UNIFORM:
        return (s->hi_ns - s->lo_ns) / sqrt(12);
    case QAS_SPEC_NORMAL: {
        double a = (s->lo_ns - s->mean_ns) / s->sd_ns, b = (s->hi_ns - s->mean_ns) / s->sd_ns;
        double pa = gsl_ran_ugaussian_pdf(a), pb = gsl_ran_ugaussian_pdf(b), z = s->norm_mass;
        double m = (pa - pb) / z;
        double var = 1 + (a * pa - b * pb) / z - m * m;
        return var > 0 ? s->sd_ns * sqrt(var) : 0;
    }
    case QAS_SPEC_HIST: {
        double m2 = 0;
        for (size_t j = 0; j < s->nbins; j++) {
            double w = s->edge[j + 1] - s->edge[j], mid = (s->edge[j] + s->edge[j + 1]) / 2;
            m2 += s->mass[j] * (w * w / 12 + mid * mid);
        }
        double var = m2 - s->mean_ns * s->mean_ns;
        return var > 0 ? sqrt(var) : 0;
    }
    }
    return 0;
}

double qas_spec_quantile(const struct qas_spec *s, double q)
{
    if (q >= 1 || s->lo_ns == s->hi_ns) return s->hi_ns;
    if (q <= 0) return s->lo_ns;
    double lo = s->lo_ns, hi = s->hi_ns;
    for (int i = 0; i < 200 && hi - lo > 1e-6; i++) {
        double mid = (lo + hi) / 2;
        if (qas_spec_cdf(s, mid) >= q)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

void qas_spec_describe(const struct qas_spec *s, char *buf, size_t len)
{
    const double ms = 1e6;
    switch (s->kind) {
    case QAS_SPEC_CONST:
        snprintf(buf, len, "const(%g)", s->lo_ns / ms);
        break;
    case QAS_SPEC_UNIFORM:
        snprintf(buf, len, "uniform(%g,%g)", s->lo_ns / ms, s->hi_ns / ms);
        break;
    case QAS_SPEC_NORMAL:
        snprintf(buf, len, "normal(%g,%g,%g,%g)", s->mean_ns / ms, s->sd_ns / ms, s->lo_ns / ms, s->hi_ns / ms);
        break;
    case QAS_SPEC_HIST:
        snprintf(buf, len, "hist(%zu bins,%g..%g)", s->nbins, s->lo_ns / ms, s->hi_ns / ms);
        break;
    default:
        snprintf(buf, len, "?");
    }
}

/* ---- discrete distributions -------------------------------------------- */

int qas_dist_alloc(struct qas_dist *d, size_t n)
{
    d->n = n ? n : 1;
    d->p = calloc(d->n, sizeof *d->p);
    if (!d->p) {
        d->n = 0;
        return QAS_ENOMEM;
    }
    return QAS_OK;
}

void qas_dist_free(struct qas_dist *d)
{
    free(d->p);
    d->p = NULL;
    d->n = 0;
}

int qas_dist_copy(struct qas_dist *dst, const struct qas_dist *src)
{
    if (qas_dist_alloc(dst, src->n)) return QAS_ENOMEM;
    memcpy(dst->p, src->p, src->n * sizeof *src->p);
    return QAS_OK;
}

int qas_dist_point(struct qas_dist *d, size_t k)
{
    if (qas_dist_alloc(d, k + 1)) return QAS_ENOMEM;
    d->p[k] = 1;
    return QAS_OK;
}

int qas_dist_validate(const double *p, size_t n, struct qas_err *err)
{
    double total = 0;
    for (size_t k = 0; k < n; k++) {
        if (!isfinite(p[k])) {
            qas_err_set(err, "probability %zu is not a finite number", k);
            return QAS_EINVAL;
        }
        if (p[k] < 0) {
            qas_err_set(err, "probability %zu is negative (%g)", k, p[k]);
            return QAS_EINVAL;
        }
        total += p[k];
    }
    if (fabs(total - 1) > QAS_NORM_TOL) {
        qas_err_set(err, "probabilities are not normalised: they sum to %.9g, not 1", total);
        return QAS_EINVAL;
    }
    return QAS_OK;
}

int qas_dist_normalise(double *p, size_t n, struct qas_err *err)
{
    double total = 0;
    for (size_t k = 0; k < n; k++) {
        if (!isfinite(p[k]) || p[k] < 0) {
            qas_err_set(err, "weight %zu is negative or not finite (%g)", k, p[k]);
            return QAS_EINVAL;
        }
        total += p[k];
    }
    if (!(total > 0)) {
        qas_err_set(err, "all weights are zero");
        return QAS_EINVAL;
    }
    for (size_t k = 0; k < n; k++) p[k] /= total;
    return QAS_OK;
}

int qas_dist_from_spec(struct qas_dist *d, const struct qas_spec *s, double res_ns, double shift_ns,
                       struct qas_err *err)
{
    d->p = NULL;
    d->n = 0;
    if (!(res_ns > 0) || !finite_nonneg(shift_ns)) {
        qas_err_set(err, "grid resolution must be > 0");
        return QAS_EINVAL;
    }
    double span = s->hi_ns - shift_ns;
    double steps = span > 0 ? ceil(span / res_ns) : 0;
    if (steps > 1e8) {
        qas_err_set(err, "distribution spans %.0f grid steps: resolution too fine", steps);
        return QAS_ERANGE;
    }
    if (s->kind == QAS_SPEC_CONST) {
        /* The one atom: a value within a billionth of a step above a grid
         * point belongs to it, so const(2) on a 1 ms grid is not pushed a
         * step up by floating-point noise. */
        double k = span > 0 ? ceil(span / res_ns - 1e-9) : 0;
        return qas_dist_point(d, (size_t)k) ? QAS_ENOMEM : QAS_OK;
    }
    size_t n = (size_t)steps + 1;
    if (qas_dist_alloc(d, n)) return QAS_ENOMEM;
    /* Continuous forms: no atoms, so the grid points' own mass is zero. */
    double prev = qas_spec_cdf(s, shift_ns);
    d->p[0] = prev;
    for (size_t k = 1; k < n; k++) {
        double cur = k + 1 == n ? 1.0 : qas_spec_cdf(s, shift_ns + (double)k * res_ns);
        d->p[k] = cur - prev;
        prev = cur;
    }
    qas_dist_clamp(d);
    int rc = qas_dist_validate(d->p, d->n, err);
    if (rc == QAS_OK) rc = qas_dist_normalise(d->p, d->n, err);
    if (rc != QAS_OK) qas_dist_free(d);
    return rc;
}

double qas_dist_mass(const struct qas_dist *d)
{
    double t = 0;
    for (size_t k = 0; k < d->n; k++) t += d->p[k];
    return t;
}

double qas_dist_mean(const struct qas_dist *d)
{
    double t = 0, m = 0;
    for (size_t k = 0; k < d->n; k++) {
        t += d->p[k];
        m += (double)k * d->p[k];
    }
    return t > 0 ? m / t : 0;
}

size_t qas_dist_max(const struct qas_dist *d)
{
    for (size_t k = d->n; k-- > 0;)
        if (d->p[k] > 0) return k;
    return 0;
}

size_t qas_dist_quantile(const struct qas_dist *d, double q)
{
    double acc = 0;
    for (size_t k = 0; k < d->n; k++) {
        acc += d->p[k];
        /* Relative slack so that a sum meant to reach q exactly is not
         * refused over rounding in the last digits. */
        if (acc >= q - 1e-12) return k;
    }
    return d->n - 1;
}

void qas_dist_cap(struct qas_dist *d, size_t k)
{
    if (k + 1 >= d->n) return;
    double over = 0;
    for (size_t j = k + 1; j < d->n; j++) over += d->p[j];
    d->p[k] += over;
    d->n = k + 1;
}

void qas_dist_truncate(struct qas_dist *d, size_t n)
{
    if (n >= 1 && n < d->n) d->n = n;
}

void qas_dist_clamp(struct qas_dist *d)
{
    for (size_t k = 0; k < d->n; k++)
        if (d->p[k] < 0) d->p[k] = 0;
}

static size_t support_min(const struct qas_dist *d)
{
    for (size_t k = 0; k < d->n; k++)
        if (d->p[k] > 0) return k;
    return d->n;
}

static size_t conv_len(const struct qas_dist *a, const struct qas_dist *b, size_t maxlen)
{
    size_t n = a->n + b->n - 1;
    return maxlen && maxlen < n ? maxlen : n;
}

int qas_convolve_direct(const struct qas_dist *a, const struct qas_dist *b, struct qas_dist *out, size_t maxlen)
{
    size_t n = conv_len(a, b, maxlen);
    struct qas_dist r;
    if (qas_dist_alloc(&r, n)) return QAS_ENOMEM;
    for (size_t i = 0; i < a->n && i < n; i++) {
        double ai = a->p[i];
        if (ai == 0) continue;
        size_t jmax = b->n < n - i ? b->n : n - i;
        for (size_t j = 0; j < jmax; j++) r.p[i + j] += ai * b->p[j];
    }
    qas_dist_free(out);
    *out = r;
    return QAS_OK;
}

int qas_convolve_fft(const struct qas_dist *a, const struct qas_dist *b, struct qas_dist *out, size_t maxlen)
{
    size_t full = a->n + b->n - 1, n = conv_len(a, b, maxlen);
    if (full < 2) return qas_convolve_direct(a, b, out, maxlen);
    size_t len = 2;
    while (len < full) len *= 2;
    double *x = calloc(len, sizeof *x), *y = calloc(len, sizeof *y);
    struct qas_dist r = {0};
    if (!x || !y || qas_dist_alloc(&r, n)) {
        free(x);
        free(y);
        return QAS_ENOMEM;
    }
    memcpy(x, a->p, a->n * sizeof *x);
    memcpy(y, b->p, b->n * sizeof *y);
    int rc = gsl_fft_real_radix2_transform(x, 1, len);
    if (rc == GSL_SUCCESS) rc = gsl_fft_real_radix2_transform(y, 1, len);
    if (rc == GSL_SUCCESS) {
        /* Product of two spectra in GSL's half-complex packing: x[k] is the
         * real and x[len-k] the imaginary part of frequency k. */
        x[0] *= y[0];
        x[len / 2] *= y[len / 2];
        for (size_t k = 1; k < len / 2; k++) {
            double xr = x[k], xi = x[len - k], yr = y[k], yi = y[len - k];
            x[k] = xr * yr - xi * yi;
            x[len - k] = xr * yi + xi * yr;
        }
        rc = gsl_fft_halfcomplex_radix2_inverse(x, 1, len);
    }
    if (rc == GSL_SUCCESS) {
        memcpy(r.p, x, n * sizeof *x);
        qas_dist_clamp(&r);
        /* Round-off leaves tiny values where the exact product is 0; outside
         * the exact support [min a + min b, max a + max b] clear them, so
         * supports (qas_dist_max) are what the direct product gives. */
        size_t lo = support_min(a) + support_min(b), hi = qas_dist_max(a) + qas_dist_max(b);
        for (size_t k = 0; k < n; k++)
            if (k < lo || k > hi) r.p[k] = 0;
    }
    free(x);
    free(y);
    if (rc != GSL_SUCCESS) {
        qas_dist_free(&r);
        return QAS_EINVAL;
    }
    qas_dist_free(out);
    *out = r;
    return QAS_OK;
}

int qas_convolve(const struct qas_dist *a, const struct qas_dist *b, struct qas_dist *out, size_t maxlen,
                 size_t fft_min)
{
    if (!fft_min) fft_min = QAS_FFT_MIN_DEFAULT;
    size_t shorter = a->n < b->n ? a->n : b->n;
    if (shorter <= fft_min) return qas_convolve_direct(a, b, out, maxlen);
    return qas_convolve_fft(a, b, out, maxlen);
}

int qas_convolve_into(struct qas_dist *acc, const struct qas_dist *b, size_t maxlen, size_t fft_min)
{
    struct qas_dist r = {0};
    int rc = qas_convolve(acc, b, &r, maxlen, fft_min);
    if (rc) return rc;
    qas_dist_free(acc);
    *acc = r;
    return QAS_OK;
}
