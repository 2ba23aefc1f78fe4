/*
 * rt_sim: a discrete-event simulator of one CPU scheduled by rt-sched.
 *
 * It plays the kernel's part exactly as the kernel will: fixed priorities
 * (highest runnable first; round robin among equals after `rr_quantum`,
 * 0 = never), one one-shot timer programmed for the earliest rt_next_event
 * and rt_group_next_event, rt_start_running/rt_stop_running on every switch.
 * A timer fires `granularity` late at most: event times are rounded up to a
 * multiple of it (0: exact), which models timer latency.
 *
 * Threads:
 *  - real-time threads run jobs of `nparts` parts. Part i's demand (CPU
 *    time) comes from hooks.demand; when part i is done and more parts
 *    follow, the thread calls next_reservation(i) (ignoring "out of sync"
 *    after an overrun moved it on), and after the last part next_period.
 *    A forced new period (deadline miss) abandons the rest of the old job,
 *    as a preempter aborting it would. Demand RT_SIM_SPIN never ends.
 *    Message times (sorted) feed rt_message_arrived, for minimal
 *    inter-release mode.
 *  - best-effort threads spin forever at a fixed priority, optionally as
 *    members of a capped group.
 *
 * Freestanding like the core (no allocation, no libc), so the admission
 * server can compare its predictions with it on the host.
 */
#ifndef RT_SIM_H
#define RT_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/sched.h"
#include "rt_sched.h"

#define RT_SIM_MAX_THREADS 16u
#define RT_SIM_MAX_GROUPS 4u
#define RT_SIM_SPIN UINT64_MAX /* a demand that never completes */
#define RT_SIM_IDLE (-1)       /* s->running when no thread runs */

struct rt_sim;

struct rt_sim_hooks {
    void *ctx;
    /* CPU time part `part` of job `job` of thread `tid` needs; NULL: RT_SIM_SPIN. */
    uint64_t (*demand)(void *ctx, unsigned tid, uint64_t job, unsigned part);
    /* tid ran during [from, to); the simulator's state is that of the interval. */
    void (*ran)(void *ctx, const struct rt_sim *s, unsigned tid, uint64_t from, uint64_t to);
    /* a job record left rt-sched (rec->thread_id is the tid). */
    void (*job)(void *ctx, unsigned tid, const struct abi_rt_job_record *rec);
    /* the preempter of tid received n. */
    void (*notify)(void *ctx, unsigned tid, const struct abi_rt_notification *n);
};

struct rt_sim_rt_spec {
    struct abi_rt_params params;
    uint8_t mcp;              /* caller's maximum controlled priority */
    unsigned nparts;          /* parts per job, 1..nslices (0 means 1) */
    bool preempter;           /* notifications are taken (else they stay queued) */
    const uint64_t *msg_times;/* sorted message arrival times */
    size_t nmsg;
};

struct rt_sim_thread {
    bool is_rt;
    uint8_t fixed_prio;  /* best-effort thread: its priority */
    int group;              /* best-effort thread: group index, or -1 */
    bool preempter;
    struct rt_thread rt;
    unsigned nparts;
    const uint64_t *msg_times;
    size_t nmsg, msg_next;
    /* the thread's program */
    bool in_job;
    uint64_t job;
    unsigned part;
    uint64_t left;          /* demand left in the current part */
    bool need_demand;       /* left is still to be asked from hooks.demand */
    /* bookkeeping */
    uint64_t last_ran;      /* when it last lost the CPU (round robin) */
    uint64_t cpu_ns;
};

struct rt_sim {
    uint64_t now;
    uint64_t granularity, rr_quantum, quantum_end;
    int running;            /* tid, or RT_SIM_IDLE */
    unsigned nthreads, ngroups;
    uint64_t switches;
    struct rt_sim_hooks hooks;
    struct rt_sim_thread th[RT_SIM_MAX_THREADS];
    struct rt_group grp[RT_SIM_MAX_GROUPS];
};

/* Empty simulation at time 0; hooks may be NULL. */
void rt_sim_init(struct rt_sim *s, uint64_t granularity, uint64_t rr_quantum, const struct rt_sim_hooks *hooks);
/* Add a capped best-effort group, windows from now: its index, or -ABI_E_* . */
int rt_sim_add_group(struct rt_sim *s, uint64_t budget, uint64_t period);
/* Add a real-time thread configured now with spec: its tid, or -ABI_E_* (validation included). */
int rt_sim_add_rt(struct rt_sim *s, const struct rt_sim_rt_spec *spec);
/* Add a spinning best-effort thread (group -1: none): its tid, or -ABI_E_*. */
int rt_sim_add_be(struct rt_sim *s, uint8_t prio, int group);
/* Priority thread tid has now. */
uint8_t rt_sim_priority(const struct rt_sim *s, unsigned tid);
/* Whether tid may run now (real-time: not waiting; group member: group not exhausted). */
bool rt_sim_runnable(const struct rt_sim *s, unsigned tid);
/* Simulate up to `until`: 0, or -1 if it stops making progress (a bug in the core). */
int rt_sim_run(struct rt_sim *s, uint64_t until);

#endif
