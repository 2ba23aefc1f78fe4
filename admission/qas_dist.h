/*
 * Execution-time distributions for the QAS analysis: parametric or measured
 * descriptions (struct qas_spec, in nanoseconds, continuous) and their
 * discretisation on a fixed time grid (struct qas_dist), plus the operations
 * the analysis needs on discrete distributions: convolution (direct or FFT
 * through GSL), capping, truncation, quantiles.
 *
 * Grid convention: index k stands for the time k * res. A continuous time x
 * is rounded up to the grid (k = ceil(x / res)), so the mass of k is
 * P((k-1) res < X <= k res). Sums of rounded-up times are never smaller than
 * the true sums, which keeps every prediction on the pessimistic side.
 *
 * A discrete distribution may be defective (total mass below 1): the
 * analysis drops events that cannot lead to success (a demand beyond the
 * period, an aborted part) instead of carrying them along.
 */
#ifndef ADMISSION_QAS_DIST_H
#define ADMISSION_QAS_DIST_H

#include <stddef.h>
#include <stdint.h>

/* Status codes of the admission library (0 or negative). */
enum qas_status {
    QAS_OK = 0,
    QAS_EINVAL = -1,        /* invalid input; the error message says why */
    QAS_ENOMEM = -2,
    QAS_ENOTHARMONIC = -3,  /* QAS mode needs uniform or harmonic periods */
    QAS_ERANGE = -4,        /* too many parts for the priority range, grid too fine */
};

/* An error message; `line` is set by the task-set parser (0: none). */
struct qas_err {
    int line;
    char msg[256];
};

void qas_err_set(struct qas_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Probabilities must sum to 1 within this tolerance to count as normalised. */
#define QAS_NORM_TOL 1e-6

enum qas_spec_kind {
    QAS_SPEC_CONST = 1,   /* always lo_ns (= hi_ns) */
    QAS_SPEC_UNIFORM,     /* uniform on [lo_ns, hi_ns] */
    QAS_SPEC_NORMAL,      /* normal(mean_ns, sd_ns) truncated to [lo_ns, hi_ns] */
    QAS_SPEC_HIST,        /* piecewise uniform: mass[j] spread over (edge[j], edge[j+1]] */
};

struct qas_spec {
    enum qas_spec_kind kind;
    double lo_ns, hi_ns;    /* support */
    double mean_ns, sd_ns;  /* normal: parameters before truncation */
    double norm_mass;       /* normal: Phi(hi) - Phi(lo), the truncation's mass */
    size_t nbins;           /* hist: bins, edge[0..nbins], mass[0..nbins-1] (owned) */
    double *edge;
    double *mass;
    double *cum;            /* hist: cum[j] = mass of the bins before j, cum[nbins] = 1 */
};

/* Constructors validate their parameters (times >= 0, lo <= hi, sd > 0, a
 * truncation interval holding mass, histogram masses non-negative and not
 * all zero) and return QAS_OK or QAS_EINVAL with a message in err. */
int qas_spec_const(struct qas_spec *s, double c_ns, struct qas_err *err);
int qas_spec_uniform(struct qas_spec *s, double lo_ns, double hi_ns, struct qas_err *err);
int qas_spec_normal(struct qas_spec *s, double mean_ns, double sd_ns, double lo_ns, double hi_ns,
                    struct qas_err *err);
/* Measured histogram: counts per bin (edges strictly increasing, edge[0] >=
 * 0), normalised here. */
int qas_spec_hist_counts(struct qas_spec *s, const double *edge, const double *count, size_t nbins,
                         struct qas_err *err);
/* Probabilities per bin: must already sum to 1 within QAS_NORM_TOL. */
int qas_spec_hist_probs(struct qas_spec *s, const double *edge, const double *prob, size_t nbins,
                        struct qas_err *err);
int qas_spec_copy(struct qas_spec *dst, const struct qas_spec *src);
void qas_spec_free(struct qas_spec *s);

double qas_spec_cdf(const struct qas_spec *s, double x_ns);
double qas_spec_mean(const struct qas_spec *s);
double qas_spec_sd(const struct qas_spec *s);
/* Smallest x with cdf(x) >= q (q in (0,1]); q = 1 gives the support's max. */
double qas_spec_quantile(const struct qas_spec *s, double q);
/* Writes a short description such as "normal(4,1.2,1,8)" (milliseconds). */
void qas_spec_describe(const struct qas_spec *s, char *buf, size_t len);

/* A discrete distribution on the grid: p[k] = P(X = k grid steps). */
struct qas_dist {
    double *p;
    size_t n;
};

int qas_dist_alloc(struct qas_dist *d, size_t n);   /* zeroed, n >= 1 */
void qas_dist_free(struct qas_dist *d);
int qas_dist_copy(struct qas_dist *dst, const struct qas_dist *src);
int qas_dist_point(struct qas_dist *d, size_t k);   /* all mass at k */

/* Checks p: finite, non-negative, summing to 1 within QAS_NORM_TOL. */
int qas_dist_validate(const double *p, size_t n, struct qas_err *err);
/* Scales p to total mass 1; QAS_EINVAL when negative or all zero. */
int qas_dist_normalise(double *p, size_t n, struct qas_err *err);

/* Discretise spec s on a grid of res_ns: (X - shift_ns)^+ rounded up to the
 * grid. shift_ns = 0 gives X itself; a shift gives the part of a mandatory
 * demand beyond its budget. The result is validated and normalised. */
int qas_dist_from_spec(struct qas_dist *d, const struct qas_spec *s, double res_ns, double shift_ns,
                       struct qas_err *err);

double qas_dist_mass(const struct qas_dist *d);
double qas_dist_mean(const struct qas_dist *d);      /* in grid steps, of the mass present */
size_t qas_dist_max(const struct qas_dist *d);       /* largest k with p[k] > 0 (0 if none) */
/* Smallest k with P(X <= k) >= q; n-1 if the mass never reaches q. */
size_t qas_dist_quantile(const struct qas_dist *d, double q);
/* min(X, k): the mass above k moves to k. */
void qas_dist_cap(struct qas_dist *d, size_t k);
/* Drop entries at and beyond n (the mass there is lost: a defective result). */
void qas_dist_truncate(struct qas_dist *d, size_t n);
/* Clamp rounding noise (tiny negative values from the FFT) to zero. */
void qas_dist_clamp(struct qas_dist *d);

/* out = a * b (convolution), keeping at most maxlen entries (0: all,
 * na + nb - 1). out may not alias a or b; its old contents are freed. */
int qas_convolve_direct(const struct qas_dist *a, const struct qas_dist *b, struct qas_dist *out,
                        size_t maxlen);
int qas_convolve_fft(const struct qas_dist *a, const struct qas_dist *b, struct qas_dist *out,
                     size_t maxlen);
/* Direct when the shorter operand has at most fft_min entries, FFT otherwise
 * (fft_min 0: QAS_FFT_MIN_DEFAULT). */
#define QAS_FFT_MIN_DEFAULT 64u
int qas_convolve(const struct qas_dist *a, const struct qas_dist *b, struct qas_dist *out, size_t maxlen,
                 size_t fft_min);
/* acc = acc * b, in place (through a temporary). */
int qas_convolve_into(struct qas_dist *acc, const struct qas_dist *b, size_t maxlen, size_t fft_min);

#endif
