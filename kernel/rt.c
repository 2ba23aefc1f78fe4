/*
 * Reservation-based scheduling in the kernel (see rt.h).
 *
 * rt-sched's core holds each real-time thread's model (slices, budgets,
 * period, job); this file is the only place that calls it. After every call
 * it applies the core's view with sync(): the thread's priority (that of
 * its current slice), whether it may run (not between next_period and its
 * next release), its notifications (handed to the preempter if that waits),
 * and its next event (kept in a sorted list the one-shot timer serves).
 */
#include "rt.h"
#include "abi/errors.h"
#include "abi/sched.h"
#include "arch_trap.h"
#include "cap_table.h"
#include "console.h"
#include "ipc.h"
#include "kmem.h"
#include "sched.h"
#include "syscall.h"
#include "task.h"
#include "thread.h"

/* --- job records: a ring, the oldest overwritten when full ------------- */

#define TRACE_RECORDS 512u
static struct abi_rt_job_record *trace;
static uint64_t trace_head, trace_count, trace_lost, next_thread_id = 1;

static void trace_sink(void *ctx, const struct abi_rt_job_record *rec)
{
    (void)ctx;
    trace[(trace_head + trace_count) % TRACE_RECORDS] = *rec;
    if (trace_count < TRACE_RECORDS) {
        trace_count++;
    } else {
        trace_head = (trace_head + 1) % TRACE_RECORDS;
        trace_lost++;
    }
}

void rt_kernel_init(void)
{
    trace = kmalloc(TRACE_RECORDS * sizeof *trace);
    if (!trace) panic("no memory for the job trace");
}

void rt_thread_init(struct thread *t) { rt_init(&t->rt, next_thread_id++, trace_sink, NULL); }

/* --- events ----------------------------------------------------------------
 * Deadlines and releases of all real-time threads sit in a list sorted by
 * time; the budget end of the one thread on the CPU is kept apart, so taking
 * and leaving the CPU does not touch the list. */

static struct thread *events;
static uint64_t budget_end = RT_NEVER; /* of `current`, when it runs in a slice */

/* Timer anticipation ("gravity"): the release of a waiting thread is served
 * that much early, so the path from the interrupt to the thread is walked
 * before the release instant, and rt_hold keeps the thread in the kernel
 * until the instant itself: a job never starts early, and the CPU spends at
 * most the gravity per release waiting. The calibrated value is the
 * shortest path seen on the first releases after boot (timer due to the
 * thread in rt_hold); until then nothing is anticipated. */
#define GRAVITY_SAMPLES 16u
static uint64_t gravity, gravity_calibrated;
static bool gravity_fixed; /* set by ABI_RT_GRAVITY, not following the calibration */
static unsigned gravity_samples;
static uint64_t gravity_min = ~0ull;

uint64_t rt_gravity(void) { return gravity; }

static void ev_remove(struct thread *t)
{
    if (!t->rt_event_armed) return;
    if (t->rt_ev_prev) t->rt_ev_prev->rt_ev_next = t->rt_ev_next;
    else events = t->rt_ev_next;
    if (t->rt_ev_next) t->rt_ev_next->rt_ev_prev = t->rt_ev_prev;
    t->rt_ev_next = t->rt_ev_prev = NULL;
    t->rt_event_armed = false;
}

static void ev_update(struct thread *t)
{
    uint64_t when = t->rt_on ? rt_period_event(&t->rt) : RT_NEVER;
    /* Waiting: the event is its release, served by the gravity early. */
    uint64_t g = t->state == TS_RT_WAIT && when != RT_NEVER ? (when > gravity ? gravity : when) : 0;
    when -= g;
    if (t == current) budget_end = t->rt_on ? rt_budget_end(&t->rt) : RT_NEVER;
    if (t->rt_event_armed && t->rt_event_ns == when && t->rt_ev_gravity == g) return;
    ev_remove(t);
    if (when == RT_NEVER) return;
    t->rt_event_ns = when;
    t->rt_ev_gravity = g;
    t->rt_event_armed = true;
    struct thread **p = &events, *prev = NULL;
    while (*p && (*p)->rt_event_ns <= when) prev = *p, p = &(*p)->rt_ev_next;
    t->rt_ev_next = *p;
    t->rt_ev_prev = prev;
    if (*p) (*p)->rt_ev_prev = t;
    *p = t;
}

static uint64_t group_deadline = ~0ull; /* the earliest group event */

uint64_t rt_next_deadline(void)
{
    uint64_t e = events ? events->rt_event_ns : ~0ull;
    if (budget_end < e) e = budget_end;
    return e < group_deadline ? e : group_deadline;
}

/* --- notifications ------------------------------------------------------ */

static void put_notification(struct thread *t, struct thread *p)
{
    struct abi_rt_notification n = {0};
    rt_pop_notification(&t->rt, &n);
    p->msg[0] = n.time_ns;
    p->msg[1] = n.slice | (uint64_t)n.type << 32;
    p->msg[2] = n.lost;
}

static void notify(struct thread *t)
{
    struct thread *p = t->preempter;
    /* Only a preempter waiting openly takes it now; the monitored thread
     * never waits for its preempter. */
    if (!p || !rt_notifications_pending(&t->rt) || p->state != TS_RECV || p->partner || p->msg_kernel) return;
    put_notification(t, p);
    ipc_wake_with(p, ABI_TAG(ABI_PROTO_RT_NOTIFY, 3, 0), t->preempter_label);
}

int rt_deliver_pending(struct thread *p)
{
    for (struct thread *t = p->monitored; t; t = t->monitored_next) {
        if (!rt_notifications_pending(&t->rt)) continue;
        put_notification(t, p);
        p->rcv_tag = ABI_TAG(ABI_PROTO_RT_NOTIFY, 3, 0);
        p->rcv_label = t->preempter_label;
        return 1;
    }
    return 0;
}

/* --- best-effort groups ------------------------------------------------ */

/* Group 0 means "none"; groups 1..RT_GROUPS-1 can be capped. All threads of
 * a group together get at most its budget per period (rt_group in
 * rt-sched); while the budget is used up they are TS_THROTTLED. */
#define RT_GROUPS ABI_RT_GROUPS
static struct rt_group groups[RT_GROUPS];
static struct thread *members[RT_GROUPS];

static void group_deadline_update(void)
{
    group_deadline = ~0ull;
    for (unsigned g = 1; g < RT_GROUPS; g++) {
        if (!groups[g].enabled) continue;
        uint64_t e = rt_group_next_event(&groups[g]);
        if (e < group_deadline) group_deadline = e;
    }
    timer_reprogram();
}

int rt_group_throttles(struct thread *t)
{
    struct rt_group *g = &groups[t->group];
    if (!g->enabled || !rt_group_exhausted(g)) return 0;
    t->state = TS_THROTTLED;
    return 1;
}

/* Apply a group's state to its members. */
static void group_sync(unsigned gi)
{
    bool out = groups[gi].enabled && rt_group_exhausted(&groups[gi]);
    for (struct thread *t = members[gi]; t; t = t->group_next) {
        if (out && t->state == TS_READY) {
            sched_unready(t);
            t->state = TS_THROTTLED;
        } else if (out && t->state == TS_RUNNING) {
            t->state = TS_THROTTLED; /* leaves the CPU at the kernel exit */
            need_resched = true;
        } else if (!out && t->state == TS_THROTTLED) {
            sched_ready(t);
        }
    }
    group_deadline_update();
}

static void group_leave(struct thread *t)
{
    unsigned gi = t->group;
    if (!gi) return;
    if (t == current && groups[gi].enabled) rt_group_stop_running(&groups[gi], clock_now_ns());
    for (struct thread **q = &members[gi]; *q; q = &(*q)->group_next)
        if (*q == t) {
            *q = t->group_next;
            break;
        }
    t->group = 0;
    t->group_next = NULL;
    t->sched_hooks &= (uint8_t)~THREAD_HOOK_GROUP;
    if (t->state == TS_THROTTLED) sched_ready(t);
    group_deadline_update();
}

static void group_join(struct thread *t, unsigned gi)
{
    group_leave(t);
    if (!gi) return;
    t->group = (uint8_t)gi;
    t->group_next = members[gi];
    members[gi] = t;
    t->sched_hooks |= THREAD_HOOK_GROUP;
    if (t == current && groups[gi].enabled) rt_group_start_running(&groups[gi], clock_now_ns());
    group_sync(gi);
}

/* --- applying the core's view ------------------------------------------- */

static void sync(struct thread *t)
{
    if (t->rt_on) {
        uint8_t p = rt_priority(&t->rt);
        if (p != t->prio) sched_set_prio(t, p);
        bool run = rt_runnable(&t->rt);
        if (!run && (t->state == TS_READY || t->state == TS_RUNNING)) {
            sched_unready(t);
            t->state = TS_RT_WAIT;
            if (t == current) need_resched = true;
        } else if (run && t->state == TS_RT_WAIT) {
            sched_release(t);
        }
    }
    notify(t);
    ev_update(t);
    timer_reprogram();
}

__attribute__((noinline, cold)) void rt_leave_cpu(struct thread *t, uint64_t now)
{
    if (t->rt_on) {
        rt_stop_running(&t->rt, now);
        sync(t); /* not running: no budget end */
    }
    if (t->group && groups[t->group].enabled) {
        rt_group_stop_running(&groups[t->group], now);
        group_sync(t->group);
    }
}

/* On the path from a release to the thread running: kept short. */
__attribute__((noinline)) void rt_enter_cpu(struct thread *t, uint64_t now)
{
    /* No rescheduling from here: anything that became due is also due for
     * the timer, whose interrupt follows at once and decides properly. */
    if (t->rt_on) {
        rt_start_running(&t->rt, now);
        t->prio = rt_priority(&t->rt);
        budget_end = rt_budget_end(&t->rt);
        /* The list changes only if starting made something due. */
        if (!t->rt_event_armed || t->rt_event_ns != rt_period_event(&t->rt)) ev_update(t);
    }
    if (t->group && groups[t->group].enabled) {
        rt_group_start_running(&groups[t->group], now);
        group_deadline_update();
    }
    timer_reprogram();
}

void rt_timer_due(uint64_t now)
{
    if (group_deadline <= now)
        for (unsigned g = 1; g < RT_GROUPS; g++)
            if (groups[g].enabled && rt_group_next_event(&groups[g]) <= now) {
                rt_group_timer(&groups[g], now);
                group_sync(g);
            }
    if (budget_end <= now) { /* only ever set for a real-time `current` */
        rt_timer(&current->rt, now);
        sync(current);
    }
    while (events && events->rt_event_ns <= now) {
        struct thread *t = events;
        ev_remove(t);
        /* A release served early: rt-sched sees it at its instant, and
         * rt_hold keeps the thread until then. */
        uint64_t at = t->rt_event_ns + t->rt_ev_gravity;
        if (at > now) t->rt_release_ns = at;
        else at = now;
        if (__builtin_expect(gravity_samples < GRAVITY_SAMPLES, 0) && t->state == TS_RT_WAIT) {
            t->rt_release_ns = at; /* to measure the path */
            t->rt_fired_ns = t->rt_event_ns;
        }
        rt_timer(&t->rt, at);
        sync(t);
    }
}

void rt_hold(struct thread *t)
{
    uint64_t now = clock_now_ns();
    /* The release path: the timer due to the thread back here. Longer than
     * a gravity may be, the thread waited for a more important one. */
    uint64_t path = now - t->rt_fired_ns;
    if (t->rt_fired_ns && gravity_samples < GRAVITY_SAMPLES && path <= ABI_RT_GRAVITY_MAX_NS) {
        if (path < gravity_min) gravity_min = path;
        if (++gravity_samples == GRAVITY_SAMPLES) {
            gravity_calibrated = gravity_min;
            if (!gravity_fixed) gravity = gravity_min;
        }
    }
    t->rt_fired_ns = 0;
    while (now < t->rt_release_ns) {
        if (preemption_point()) return; /* held again when it comes back */
        now = clock_now_ns();
    }
    t->rt_release_ns = 0;
}

void rt_message(struct thread *t)
{
    if (t->rt_on && t->state == TS_RT_WAIT && rt_message_arrived(&t->rt, clock_now_ns())) sync(t);
}

static void unlink_monitored(struct thread *t)
{
    struct thread *p = t->preempter;
    if (!p) return;
    for (struct thread **q = &p->monitored; *q; q = &(*q)->monitored_next)
        if (*q == t) {
            *q = t->monitored_next;
            break;
        }
    t->preempter = NULL;
    t->monitored_next = NULL;
}

void rt_thread_forget(struct thread *t)
{
    ev_remove(t);
    if (t == current) budget_end = RT_NEVER;
    group_leave(t);
    unlink_monitored(t);
    while (t->monitored) unlink_monitored(t->monitored);
}

/* --- system calls -------------------------------------------------------- */

void sys_rt_control(struct trap_frame *f)
{
    int64_t err = ABI_E_OK;
    uint64_t op = f->rsi, a0 = f->rdx, a1 = f->r10, a2 = f->r8;
    struct cap *c = task_cap(current->task, f->rdi, ABI_OBJ_SCHED_CONTROL, ABI_R_CTRL, &err);
    f->rdx = f->rsi = 0;
    if (!c) goto out;
    if (op == ABI_RT_TRACE_READ) {
        uint64_t n = 0;
        while (n < a1 && trace_count) {
            if (!task_copy_to_user(current->task, a0 + n * sizeof *trace, &trace[trace_head], sizeof *trace)) {
                err = n ? ABI_E_OK : ABI_E_INVALID_ARG;
                break;
            }
            trace_head = (trace_head + 1) % TRACE_RECORDS;
            trace_count--;
            n++;
            /* A short read is fine (the caller asks again): stop where
             * something more important wants the CPU. */
            if (preemption_point()) break;
        }
        f->rdx = n;
        f->rsi = trace_lost;
        trace_lost = 0;
        goto out;
    }
    if (op == ABI_RT_GROUP_CONFIGURE) {
        if (a0 == 0 || a0 >= RT_GROUPS) {
            err = ABI_E_INVALID_ARG;
            goto out;
        }
        struct rt_group *g = &groups[a0];
        uint64_t now = clock_now_ns();
        bool running = current->group == a0 && g->enabled;
        if (running) rt_group_stop_running(g, now);
        if (a1 == 0) {
            rt_group_disable(g);
        } else {
            err = rt_group_configure(g, a1, a2, now);
            if (!err && current->group == a0) rt_group_start_running(g, now);
        }
        group_sync((unsigned)a0);
        goto out;
    }
    if (op == ABI_RT_GRAVITY) {
        if (a0 != ABI_RT_GRAVITY_CALIBRATED && a0 > ABI_RT_GRAVITY_MAX_NS) {
            err = ABI_E_INVALID_ARG;
            goto out;
        }
        f->rdx = gravity;
        f->rsi = gravity_calibrated;
        gravity_fixed = a0 != ABI_RT_GRAVITY_CALIBRATED;
        gravity = gravity_fixed ? a0 : gravity_calibrated;
        goto out; /* events already armed keep their time: at most one release each */
    }
    struct thread *t = thread_from_cap(a0, ABI_R_CTRL, &err);
    if (!t) goto out;
    if (op == ABI_RT_GROUP_JOIN) {
        if (a1 >= RT_GROUPS) err = ABI_E_INVALID_ARG;
        else group_join(t, (unsigned)a1);
        goto out;
    }
    uint64_t now = clock_now_ns();
    switch (op) {
    case ABI_RT_CONFIGURE: {
        struct abi_rt_params p;
        if (!task_copy_from_user(current->task, a1, &p, sizeof p)) {
            err = ABI_E_INVALID_ARG;
            break;
        }
        /* The running thread's time is charged around the change. */
        bool cur = t == current;
        if (cur && t->rt_on) rt_stop_running(&t->rt, now);
        err = rt_configure(&t->rt, &p, current->mcp, now);
        if (cur && (t->rt_on || !err)) rt_start_running(&t->rt, now);
        if (err) break;
        if (!t->rt_on) t->base_prio = t->prio;
        t->rt_on = true;
        t->sched_hooks |= THREAD_HOOK_RT;
        sync(t);
        /* An interrupt window before the way out, which may switch to the
         * thread just released: both together were 8 us. */
        preemption_point();
        break;
    }
    case ABI_RT_DISABLE:
        if (!t->rt_on) break;
        rt_disable(&t->rt, now);
        t->rt_on = false;
        t->sched_hooks &= (uint8_t)~THREAD_HOOK_RT;
        if (t->state == TS_RT_WAIT) sched_ready(t);
        sched_set_prio(t, t->base_prio);
        sync(t);
        preemption_point(); /* as for CONFIGURE */
        break;
    case ABI_RT_PREEMPTER: {
        struct thread *p = NULL;
        if (a1 && !(p = thread_from_cap(a1, ABI_R_SEND, &err))) break;
        if (p == t) {
            err = ABI_E_INVALID_ARG;
            break;
        }
        unlink_monitored(t);
        if (p) {
            t->preempter = p;
            t->preempter_label = a2;
            t->monitored_next = p->monitored;
            p->monitored = t;
        }
        break;
    }
    default:
        err = ABI_E_INVALID_ARG;
    }
out:
    f->rax = (uint64_t)err;
}

void sys_rt_next_period(struct trap_frame *f)
{
    struct thread *t = current;
    int64_t err = t->rt_on ? rt_next_period(&t->rt, clock_now_ns()) : ABI_E_BUSY;
    f->rax = (uint64_t)err;
    if (err) return;
    sync(t); /* not runnable now: kernel_exit switches away until the release */
    /* The job's end and the switch away are each a few microseconds with
     * interrupts off: an interrupt window between them halves the section. */
    preemption_point();
}

void sys_rt_next_reservation(struct trap_frame *f)
{
    struct thread *t = current;
    uint64_t left = 0;
    int64_t err = t->rt_on ? rt_next_reservation(&t->rt, (unsigned)f->rdi, clock_now_ns(), &left) : ABI_E_BUSY;
    if (!err) sync(t);
    f->rax = (uint64_t)err;
    f->rdx = left;
}
