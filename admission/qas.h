/*
 * libqas: admission analysis for Quality-Assuring Scheduling (Hamann et al.,
 * RTSS 2001) and Quality Rate-Monotonic Scheduling (Hamann et al., ECRTS
 * 2007), with WCET-based reservation as the comparison mode.
 *
 * Task model: periodic task i with period T_i (deadline = period), one
 * mandatory part with execution time X_i and 0..QAS_MAX_OPTIONAL optional
 * parts Y_i1, Y_i2, ... run in that order (part j starts only when part j-1
 * completed), each with a requested quality q_ij: the long-run fraction of
 * jobs whose part j completes by the deadline.
 *
 * The result for every task is an rt-sched reservation (struct
 * abi_rt_params): slice 0 the mandatory part (budget = WCET, in the
 * mandatory priority band), slice j optional part j (budget sized by the
 * analysis, in the optional band below all mandatory slices); both bands are
 * rate-monotonic. The analysis is pure computation: no I/O, no globals, so
 * the same sources serve the host CLI, the tests and the admission server.
 * README.md beside this file gives the formulas.
 */
#ifndef ADMISSION_QAS_H
#define ADMISSION_QAS_H

#include <stddef.h>
#include <stdint.h>

#include "abi/sched.h"
#include "qas_dist.h"

#define QAS_MAX_OPTIONAL (ABI_RT_MAX_SLICES - 1)
#define QAS_NAME_MAX 32

struct qas_task {
    char name[QAS_NAME_MAX];
    uint64_t period_ns;            /* > 0; also the deadline */
    uint64_t blocking_ns;          /* B of the mandatory part's response-time analysis */
    double wcet_quantile;          /* C = this quantile of X (1: max of the support) */
    struct qas_spec mandatory;
    unsigned noptional;
    struct qas_spec optional[QAS_MAX_OPTIONAL];
    double quality[QAS_MAX_OPTIONAL]; /* requested q in (0,1] */
    int line;                      /* where it was defined (0: built in code) */
};

struct qas_taskset {
    size_t ntasks, cap;
    struct qas_task *tasks;
    uint64_t resolution_ns;        /* analysis grid; 0: automatic */
};

void qas_taskset_init(struct qas_taskset *ts);
void qas_taskset_free(struct qas_taskset *ts);
/* Appends a copy of *t (specs are deep-copied; t stays the caller's). */
int qas_taskset_add(struct qas_taskset *ts, const struct qas_task *t);
/* Removes the last task (the admission of an experimental newcomer failed). */
void qas_taskset_pop(struct qas_taskset *ts);
/* Checks the model constraints a parser or an IPC decoder must enforce:
 * period > 0, q in (0,1], quantile in (0,1], parts within bounds. */
int qas_task_validate(const struct qas_task *t, struct qas_err *err);

enum qas_mode {
    QAS_MODE_AUTO = 0, /* QAS for uniform or harmonic periods, QRMS otherwise */
    QAS_MODE_QAS,      /* exact-model analysis, uniform or harmonic periods only */
    QAS_MODE_QRMS,     /* quantile reservations checked by RTA, any periods */
    QAS_MODE_WCET,     /* every part reserved at its WCET */
};

const char *qas_mode_name(enum qas_mode m);

struct qas_config {
    enum qas_mode mode;
    uint64_t resolution_ns; /* overrides the task set's; 0: the set's or automatic */
    uint8_t prio_top;       /* priority of the first mandatory slice; bands count down */
    uint8_t be_prio;        /* best-effort priority after the last slice; below both bands */
    size_t fft_min;         /* convolution switches to FFT above this length (0: default) */
    double margin;          /* size optional parts for min(1, q + margin): headroom for the
                             * variance of a finite run (0: exactly q) */
};

/* prio_top 250, be_prio ABI_PRIO_DEFAULT - 1 (99), automatic grid, AUTO mode,
 * no margin. */
void qas_config_default(struct qas_config *cfg);

/* Automatic grid: T_min / 5000, coarsened so that T_max spans at most
 * 131072 steps; at least 1 ns. */
uint64_t qas_auto_resolution(const struct qas_taskset *ts);

/* Uniform or harmonic: every period divides every longer one. */
int qas_periods_harmonic(const struct qas_taskset *ts);

/* Per part: [0] mandatory, [j] optional part j (= rt-sched slice j). */
struct qas_part_result {
    uint64_t budget_ns;
    uint8_t prio;
    int ok;                  /* meets its deadline (mandatory) / its quality (optional) */
    double requested;        /* optional: q */
    double predicted;        /* optional: predicted quality (mandatory: 1 if ok) */
    uint64_t response_ns;    /* worst-case response time where an RTA applies (else 0) */
};

struct qas_task_result {
    uint64_t wcet_ns;        /* C of the mandatory part */
    struct qas_part_result part[1 + QAS_MAX_OPTIONAL];
    struct abi_rt_params params;
    double mean_util;        /* (E[X] + sum_j E[Y_j]) / T */
    double reserved_util;    /* sum of budgets / T */
};

enum qas_failure {
    QAS_FAIL_NONE = 0,
    QAS_FAIL_DEADLINE,       /* a response time exceeds the deadline */
    QAS_FAIL_QUALITY,        /* a predicted quality is below the requested one */
};

struct qas_verdict {
    int admitted;
    enum qas_mode mode;      /* the mode actually used (AUTO resolved) */
    uint64_t resolution_ns;
    /* The first failing part in priority order (when !admitted). */
    enum qas_failure failure;
    size_t task;
    unsigned part;
    uint64_t response_ns, deadline_ns;  /* QAS_FAIL_DEADLINE */
    double predicted, requested;        /* QAS_FAIL_QUALITY */
    char reason[256];
    /* Totals over the whole set. */
    double mean_util, reserved_util;
};

/*
 * Analyse the whole task set: assign priorities, check the mandatory parts
 * by response-time analysis, size the optional reservations, predict the
 * qualities, fill results[0..ntasks-1] (parameters for every task, also on a
 * refusal: they show what was tried) and the verdict. Returns QAS_OK when the
 * analysis ran (the verdict says admitted or not), or an error status with a
 * message in err: QAS_ENOTHARMONIC for mode QAS on non-harmonic periods,
 * QAS_ERANGE when the priority range is too small, QAS_EINVAL, QAS_ENOMEM.
 */
int qas_analyse(const struct qas_taskset *ts, const struct qas_config *cfg, struct qas_task_result *results,
                struct qas_verdict *v, struct qas_err *err);

/* Rate-monotonic order of the tasks (period, then index): order[r] = task. */
void qas_rm_order(const struct qas_taskset *ts, size_t *order);

#endif
