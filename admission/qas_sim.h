/*
 * Discrete-event simulation of a task set under rt-sched's reservation
 * scheduling, to check the analysis against something that shares none of
 * its code: execution times are sampled from the continuous distributions
 * (GSL's Mersenne Twister, fixed seed), never from the discretised grid, and
 * time advances in integer nanoseconds.
 *
 * Per task the simulator takes only what rt-sched would get, the struct
 * abi_rt_params (period, slices of (priority, budget)), and plays the
 * thread's side of the protocol:
 *
 *  - strictly periodic releases at k * period, all tasks starting at 0;
 *    every release refills all slice budgets and starts in slice 0;
 *  - the thread runs at its current slice's priority, highest priority
 *    first (ties: lower task index);
 *  - mandatory part done: next_reservation to slice 1 (the rest of slice 0
 *    is given up); optional part j done: on to slice j+1, or next_period
 *    after the last part;
 *  - budget exhausted (overrun): rt-sched moves the thread to its next
 *    slice. A mandatory part keeps running there (after the last slice at
 *    best-effort priority); an optional part is aborted and the job ends
 *    (the later parts build on it);
 *  - the period ends (deadline): whatever is unfinished is abandoned and
 *    counted as missed.
 */
#ifndef ADMISSION_QAS_SIM_H
#define ADMISSION_QAS_SIM_H

#include <stdint.h>

#include "qas.h"

struct qas_sim_config {
    uint64_t periods;     /* simulate periods * (longest period) of time */
    unsigned long seed;   /* GSL mt19937 seed */
};

struct qas_sim_stats {
    uint64_t jobs;                          /* jobs whose deadline lies within the run */
    uint64_t mandatory_done;                /* mandatory parts finished by the deadline */
    uint64_t completed[QAS_MAX_OPTIONAL];   /* optional parts finished by the deadline */
    uint64_t overruns[QAS_MAX_OPTIONAL];    /* optional parts aborted at their budget */
    double observed[QAS_MAX_OPTIONAL];      /* completed / jobs */
    double busy_ns;                         /* processor time this task used */
};

/* params[i] for ts->tasks[i]; stats[i] filled. Returns QAS_OK, QAS_EINVAL
 * (inconsistent parameters, message in err) or QAS_ENOMEM. */
int qas_simulate(const struct qas_taskset *ts, const struct abi_rt_params *params, const struct qas_sim_config *cfg,
                 struct qas_sim_stats *stats, struct qas_err *err);

#endif
