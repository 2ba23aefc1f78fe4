/*
 * Real-time scheduling parameters, shared by the kernel's reservation
 * scheduler (rt-sched/), the admission server (admission/) and user land.
 * These types are the only thing admission and rt-sched share, so analysis
 * and enforcement are checked against each other instead of sharing bugs.
 *
 * Model (DROPS / Fiasco real-time extension): a periodic thread owns an
 * ordered list of timeslices, each a (priority, budget) pair, all sharing
 * the thread's one period. Slice 0 is the mandatory part, slices 1..n-1 the
 * optional parts; after the last slice the thread falls back to best-effort
 * priority `be_prio` until its next release. Its priority is always the
 * priority of its current slice.
 */
#ifndef ABI_SCHED_H
#define ABI_SCHED_H

#include "types.h"

#define ABI_RT_MAX_SLICES 8u

enum abi_rt_mode {
    ABI_RT_STRICT_PERIODIC = 1,   /* releases at start + k * period, never stretched */
    ABI_RT_MIN_INTERRELEASE = 2,  /* a period starts at the later of the timer and a message */
};

struct abi_rt_slice {
    uint64_t budget_ns; /* > 0, and the budgets together <= period */
    uint8_t prio;       /* <= the caller's maximum controlled priority */
    uint8_t pad[7];
};

struct abi_rt_params {
    uint64_t period_ns;  /* > 0 */
    uint64_t start_ns;   /* first release, kernel clock; 0: now */
    uint32_t mode;       /* enum abi_rt_mode */
    uint32_t nslices;    /* 1 .. ABI_RT_MAX_SLICES */
    uint8_t be_prio;     /* best-effort priority after the last slice */
    uint8_t pad[7];
    struct abi_rt_slice slice[ABI_RT_MAX_SLICES];
};

enum abi_rt_event_type {
    ABI_RT_EV_OVERRUN = 1,       /* a slice's budget ran out: the thread moved to the next slice */
    ABI_RT_EV_DEADLINE_MISS = 2, /* the period ended before next_period: a new period was forced */
};

/* What a preempter thread receives (message words), without ever blocking
 * the monitored thread; `lost` counts events coalesced into this one. */
struct abi_rt_notification {
    uint64_t time_ns;
    uint32_t slice;
    uint32_t type; /* enum abi_rt_event_type */
    uint32_t lost;
    uint32_t pad;
};

/* One record per job, for the trace buffer and the per-job CSV. */
struct abi_rt_job_record {
    uint64_t thread_id;
    uint64_t job;            /* 0, 1, 2, ... */
    uint64_t release_ns;
    uint64_t first_run_ns;
    uint64_t completion_ns;  /* next_period, or the forced new period on a miss */
    uint64_t deadline_ns;    /* release + period */
    uint64_t slice_ns[ABI_RT_MAX_SLICES]; /* time consumed per slice */
    uint64_t be_ns;          /* time consumed at best-effort priority */
    uint32_t slice_switches;
    uint32_t missed;         /* 1: deadline miss */
};

_Static_assert(sizeof(struct abi_rt_slice) == 16, "rt slice layout");
_Static_assert(sizeof(struct abi_rt_params) == 32 + 16 * ABI_RT_MAX_SLICES, "rt params layout");
_Static_assert(offsetof(struct abi_rt_params, slice) == 32, "rt params slices");
_Static_assert(sizeof(struct abi_rt_notification) == 24, "rt notification layout");
_Static_assert(sizeof(struct abi_rt_job_record) == 56 + 8 * ABI_RT_MAX_SLICES + 8, "job record layout");

#endif
