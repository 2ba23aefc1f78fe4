/*
 * rt-sched: the reservation scheduler core, the one header the kernel uses.
 *
 * A freestanding, event-driven state machine. It knows nothing about the
 * kernel's threads, queues or timers: the kernel embeds a `struct rt_thread`
 * in each thread object (a `struct rt_group` in each best-effort group),
 * tells it what happened (the thread started or stopped running, a timer
 * fired, the thread called next_period or next_reservation, a message
 * arrived) with the current time, and reads back what it must do: the
 * priority to use now, whether the thread may run, the absolute time of the
 * next event to program the one-shot timer for, and queued notifications
 * for the thread's preempter. Completed jobs are handed to a sink callback
 * (the kernel's trace buffer). The same sources build on the host, where
 * tests drive them with a fake clock (see rt_sim.h).
 *
 * Model (brief section 4, include/abi/sched.h). A real-time thread owns
 * slices 0..n-1, each (prio, budget), sharing one period T. Job k is
 * released at r_k and has deadline d_k = r_k + T. At release the thread is
 * in slice 0 (the mandatory part). It leaves a slice voluntarily with
 * next_reservation (and learns the budget it left unused) or involuntarily
 * when the budget runs out (OVERRUN notification, no blocking). After slice
 * n-1 it runs at be_prio until the job ends. The job ends either by
 * next_period (the thread waits for the next release) or, if the deadline
 * comes first, by a forced new period: DEADLINE_MISS notification, the next
 * job released at d_k, back to slice 0.
 *
 *   strictly periodic, n = 2:
 *
 *     r_k                                           d_k = r_{k+1}
 *      |<-------------------- period T --------------->|
 *      | slice 0  |  slice 1     | be_prio  | waiting  | slice 0 ...
 *      |  used 3  |  used B1=4   |          | (not     |
 *      |  (B0=5)  |  -> OVERRUN  |          | runnable)|
 *      +----------+--------------+----------+----------+-----------
 *                 ^              ^          ^          ^
 *      next_reservation(0)   budget of   next_period  release r_{k+1}
 *      returns left = 2      slice 1     (completion, = r_k + T, never
 *                            ran out:     on time)     stretched
 *                            OVERRUN(t, slice 1)
 *
 *   deadline miss (the period ends before next_period):
 *
 *     r_k                      d_k = r_{k+1}
 *      | slice 0 | slice 1 | be |  slice 0 of job k+1 ...
 *      +---------+---------+----+-------------------------
 *                               ^ DEADLINE_MISS(d_k, slice n = be),
 *                                 job k recorded with completion d_k,
 *                                 missed = 1; job k+1 released at d_k
 *
 *   minimal inter-release time: after next_period the release waits for
 *   both the period end d_k and a message (rt_message_arrived), whichever
 *   is later; the new job's deadline is its own release + T. Only a message
 *   that arrives while waiting counts (one during the job is its own input):
 *
 *     r_k          next_period   d_k        message m     r_{k+1} = max(d_k, m)
 *      | slice 0 ... |  waiting   |  waiting   |  slice 0 ...
 *
 *   Before the first release (start_ns in the future) the thread is not in a
 *   job and runs at be_prio; next_period then waits for the first release.
 *   A start time at or before `now` (0 included) releases job 0 at `now`.
 *
 * Ties at one instant. A thread's own calls (next_period,
 * next_reservation) act before timer events due exactly at that instant:
 * a thread that calls next_period at d_k is on time, and next_reservation
 * when the budget is exactly used up returns 0 left without an overrun.
 * rt_timer, rt_message_arrived and the running hooks process every event
 * due at or before `now`.
 *
 * Accounting. Time between rt_start_running and rt_stop_running is charged
 * to the slice the thread was in while it ran: if the kernel notices the
 * budget's end late, the overshoot is charged to the exhausted slice (so
 * records show the real overrun; the next slice still gets its full budget).
 * Time after a deadline counts for the new job. Event times in notifications
 * and records are exact (the instant the budget ran out, the deadline, the
 * release), not the time the kernel got round to processing them.
 *
 * Any call may process events that are due, so the kernel reads
 * rt_priority, rt_runnable and rt_notifications_pending again after each
 * call, not only after rt_timer.
 *
 * Calls are not reentrant per object; the kernel serialises them (one CPU,
 * interrupts off). Times are nanoseconds on one monotonic clock; a `now`
 * smaller than a previous one is treated as that previous one.
 */
#ifndef RT_SCHED_H
#define RT_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/sched.h"

/* "No event": what rt_next_event returns when nothing is scheduled. */
#define RT_NEVER UINT64_MAX
/* Notifications waiting for the preempter, per thread; more are coalesced. */
#define RT_NOTIFY_QUEUE_LEN 4u

enum rt_state {
    RT_OFF = 0,  /* not a real-time thread: the kernel uses its own priority */
    RT_IDLE,     /* configured, first release still ahead; runs at be_prio */
    RT_ACTIVE,   /* in a job: slice `cur` (or best effort when cur == nslices) */
    RT_WAITING,  /* after next_period: not runnable until the next release */
};

/* Why parameters were refused; rt_param_fault_error maps each to an ABI error. */
enum rt_param_fault {
    RT_PARAM_OK = 0,
    RT_PARAM_PERIOD_ZERO,        /* period_ns == 0 */
    RT_PARAM_MODE,               /* mode is not an enum abi_rt_mode */
    RT_PARAM_NSLICES,            /* nslices 0 or above ABI_RT_MAX_SLICES */
    RT_PARAM_BUDGET_ZERO,        /* a slice with budget 0 */
    RT_PARAM_BUDGET_OVERFLOW,    /* the budgets' sum does not fit in 64 bits */
    RT_PARAM_BUDGET_ABOVE_PERIOD,/* the budgets together exceed the period */
    RT_PARAM_PRIORITY,           /* a slice or be_prio above the caller's mcp */
    RT_PARAM_TIME_OVERFLOW,      /* first release + period does not fit in 64 bits */
};

/* Receives each finished job's record; called from inside rt_* calls. */
typedef void (*rt_job_sink)(void *ctx, const struct abi_rt_job_record *rec);

/* Per-thread state, embedded in the kernel's thread object. Fields are
 * private to rt_sched.c; read them through the functions below. */
struct rt_thread {
    /* configuration, fixed by rt_configure */
    uint64_t period;
    uint64_t budget[ABI_RT_MAX_SLICES];
    uint8_t prio[ABI_RT_MAX_SLICES];
    uint8_t be_prio, nslices, mode, state;
    /* execution */
    bool running;          /* between rt_start_running and rt_stop_running */
    bool msg_needed;       /* RT_WAITING in min-inter-release mode */
    bool msg_arrived;
    uint8_t note_count;
    uint32_t cur;          /* current slice; nslices: best effort */
    uint64_t used;         /* charged to slice `cur` in this job */
    uint64_t run_since;    /* charged up to here while running */
    uint64_t last_now;     /* latest time seen (the clock never goes back) */
    uint64_t deadline;     /* RT_ACTIVE: end of the current period */
    uint64_t next_release; /* RT_IDLE, RT_WAITING: earliest next release */
    uint64_t job;          /* index of the current job, or of the next one */
    struct abi_rt_job_record rec; /* the current job's record in progress */
    struct abi_rt_notification notes[RT_NOTIFY_QUEUE_LEN];
    rt_job_sink sink;
    void *sink_ctx;
};

/* Best-effort group cap: all threads of the group together get at most
 * `budget` of CPU in every window [start + k*period, start + (k+1)*period).
 * The budget is replenished at each window boundary (a deferrable server:
 * up to 2*budget may run back to back across a boundary); an overshoot
 * caused by a late timer is paid back from the next window. */
struct rt_group {
    uint64_t period, budget;
    uint64_t window_start;  /* start of the current window */
    uint64_t used;          /* charged in the current window (debt included) */
    uint64_t run_since;
    uint64_t last_now;
    bool enabled, running;
};

/* ---- real-time threads ---------------------------------------------- */

/* Initialise t as not real-time; `thread_id` goes into job records, `sink` (may be NULL) receives them. */
void rt_init(struct rt_thread *t, uint64_t thread_id, rt_job_sink sink, void *sink_ctx);
/* Check parameters against the caller's maximum controlled priority; changes nothing. */
enum rt_param_fault rt_check_params(const struct abi_rt_params *p, uint8_t caller_mcp, uint64_t now);
/* The ABI error for a fault: ABI_E_PRIORITY for RT_PARAM_PRIORITY, ABI_E_INVALID_ARG otherwise, ABI_E_OK for none. */
int rt_param_fault_error(enum rt_param_fault f);
/* Validate and apply p (error: t unchanged); a job in progress ends as if by next_period; job numbers restart at 0. */
int rt_configure(struct rt_thread *t, const struct abi_rt_params *p, uint8_t caller_mcp, uint64_t now);
/* Stop real-time scheduling of t (a job in progress ends as if by next_period); queued notifications stay. */
void rt_disable(struct rt_thread *t, uint64_t now);

/* True once configured and not disabled. */
bool rt_enabled(const struct rt_thread *t);
/* enum rt_state of t. */
enum rt_state rt_get_state(const struct rt_thread *t);
/* The priority the kernel must use now: the current slice's, else be_prio (0 when off). */
uint8_t rt_priority(const struct rt_thread *t);
/* False only while waiting for a release after next_period (the kernel must not run t). */
bool rt_runnable(const struct rt_thread *t);
/* Current slice index; nslices means the best-effort phase (meaningful in RT_ACTIVE). */
unsigned rt_slice(const struct rt_thread *t);
/* Index of the current job (RT_ACTIVE) or of the next one to be released. */
uint64_t rt_job_index(const struct rt_thread *t);
/* Budget left in the current slice as of the last call (0 outside a slice). */
uint64_t rt_budget_left(const struct rt_thread *t);

/* t now runs on the CPU: its time is charged from `now` on. */
void rt_start_running(struct rt_thread *t, uint64_t now);
/* t no longer runs: time up to `now` is charged, events due are processed. */
void rt_stop_running(struct rt_thread *t, uint64_t now);
/* Absolute time of t's next event (budget end if running, deadline, release), RT_NEVER if none; may be <= now.
 * It is the earlier of the two below, which a kernel may keep apart: only the thread on the CPU has a
 * budget end, so switching threads need not touch a sorted list of deadlines and releases. */
uint64_t rt_next_event(const struct rt_thread *t);
/* The end of the current slice's budget while running in a slice, else RT_NEVER. */
uint64_t rt_budget_end(const struct rt_thread *t);
/* The next deadline (in a job) or release (waiting), else RT_NEVER: independent of running. */
uint64_t rt_period_event(const struct rt_thread *t);
/* Process everything due at or before `now`; then read priority, runnable, notifications again. */
void rt_timer(struct rt_thread *t, uint64_t now);
/* End the current job (or, before the first release, wait for it): ABI_E_OK, or ABI_E_BUSY outside a job. */
int rt_next_period(struct rt_thread *t, uint64_t now);
/* Leave slice `expected_slice` for the next one, *time_left = its unused budget: ABI_E_OK, ABI_E_INVALID_ARG
 * if expected_slice >= nslices, ABI_E_BUSY if t is not in a job or not in that slice (out of sync). */
int rt_next_reservation(struct rt_thread *t, unsigned expected_slice, uint64_t now, uint64_t *time_left);
/* A message reached t: in min-inter-release mode while waiting it allows the release (now if the
 * period is over); returns whether it counted (otherwise the scheduler ignores it). */
bool rt_message_arrived(struct rt_thread *t, uint64_t now);
/* Number of notifications queued for the preempter. */
unsigned rt_notifications_pending(const struct rt_thread *t);
/* Take the oldest queued notification into *out; false when none. */
bool rt_pop_notification(struct rt_thread *t, struct abi_rt_notification *out);

/* ---- best-effort group cap ------------------------------------------- */

/* Cap the group at budget per period, windows starting at `now`: ABI_E_INVALID_ARG if period or
 * budget is 0 or budget > period (g unchanged), else ABI_E_OK. */
int rt_group_configure(struct rt_group *g, uint64_t budget, uint64_t period, uint64_t now);
/* Remove the cap (the group is never exhausted). */
void rt_group_disable(struct rt_group *g);
/* A thread of the group now runs (one at a time: one CPU). */
void rt_group_start_running(struct rt_group *g, uint64_t now);
/* The group's running thread stopped: its time is charged up to now. */
void rt_group_stop_running(struct rt_group *g, uint64_t now);
/* True while the window's budget is used up: the kernel must not run the group's threads. */
bool rt_group_exhausted(const struct rt_group *g);
/* Absolute time of the group's next event (budget end if running, replenishment if exhausted), or RT_NEVER. */
uint64_t rt_group_next_event(const struct rt_group *g);
/* Charge and replenish up to now; then read rt_group_exhausted again. */
void rt_group_timer(struct rt_group *g, uint64_t now);
/* Budget left in the current window as of the last call. */
uint64_t rt_group_budget_left(const struct rt_group *g);

#endif
