/*
 * Fixed-priority scheduler with a tickless one-shot timer (see sched.h).
 *
 * The running thread is not in a ready queue. A thread that loses the CPU
 * because a more important one became ready goes back to the head of its
 * queue; one whose slice ended goes to the tail.
 */
#include "sched.h"
#include "abi/errors.h"
#include "arch_apic.h"
#include "arch_cpu.h"
#include "rt.h"
#include "stats.h"
#include "task.h"
#include "thread.h"
#include "thread_queue.h"

struct thread *current;
struct kernel_stats stats;
bool need_resched;

static struct thread *ready[256];
static uint64_t ready_bits[4];
static struct thread *idle_thread;
static struct thread *timeouts; /* sorted by wakeup_ns, circular */
static struct thread *fpu_owner;
static uint64_t timer_deadline = ~0ull; /* what the LAPIC is armed for */

static uint64_t tsc_mult; /* ns = tsc * tsc_mult >> 32 */
static uint64_t lapic_mult; /* ticks = ns * lapic_mult >> 32 */

void clock_init(uint64_t tsc_khz, uint64_t lapic_per_ms)
{
    tsc_mult = (1000000ull << 32) / tsc_khz;
    lapic_mult = (lapic_per_ms << 32) / 1000000ull;
}

uint64_t clock_tsc_to_ns(uint64_t tsc) { return (uint64_t)(((unsigned __int128)tsc * tsc_mult) >> 32); }

uint64_t clock_now_ns(void) { return clock_tsc_to_ns(arch_rdtsc()); }

/* 32 bits of TSC are enough: no kernel section lasts seconds, and the
 * entry path stays short. */
static uint32_t section_start;

void irqoff_section_begin(void) { section_start = (uint32_t)arch_rdtsc(); }

void irqoff_section_end(void)
{
    uint32_t d = (uint32_t)arch_rdtsc() - section_start;
    if (d > stats.irqoff_max_tsc) stats.irqoff_max_tsc = d;
}

uint64_t clock_deadline(uint64_t timeout_ns)
{
    uint64_t now = clock_now_ns();
    return timeout_ns > ~0ull - now ? ~0ull : now + timeout_ns;
}

static unsigned ready_words; /* bit w: ready_bits[w] != 0 */

static int highest_ready(void)
{
    if (!ready_words) return -1;
    int w = 31 - __builtin_clz(ready_words);
    return w * 64 + 63 - __builtin_clzll(ready_bits[w]);
}

/* A released thread more important than the running one and everything
 * queued, kept out of the ready queues: the next schedule() takes it
 * without a round trip through them (sched_release). Set only with
 * need_resched, so nothing switches before schedule() sees it; readying a
 * thread at least as important puts it into its queue first. */
static struct thread *ready_first;

static void ready_first_flush(void)
{
    struct thread *t = ready_first;
    ready_first = NULL;
    sched_ready(t);
}

void sched_ready(struct thread *t)
{
    if (__builtin_expect(ready_first != NULL, 0) && t->prio >= ready_first->prio && t != ready_first)
        ready_first_flush();
    if (t->queued || t == ready_first) return;
    /* A member of an exhausted best-effort group waits for its budget. */
    if (__builtin_expect(t->group, 0) && rt_group_throttles(t)) return;
    unsigned p = t->prio;
    t->state = TS_READY;
    if (!ready[p]) {
        ready[p] = t->q_next = t->q_prev = t;
        t->queued = true;
        ready_bits[p / 64] |= 1ull << (p % 64);
        ready_words |= 1u << (p / 64);
    } else {
        tq_insert_before(ready[p], t); /* the tail */
        if (t->preempted) ready[p] = t; /* back to the head */
    }
    t->preempted = false;
    if (current && p > current->prio) need_resched = true;
}

void sched_release(struct thread *t)
{
    if (!ready_first && !t->group && t->prio > current->prio && (int)t->prio > highest_ready()) {
        ready_first = t;
        t->state = TS_READY;
        t->preempted = false;
        need_resched = true;
        return;
    }
    sched_ready(t);
}

void sched_unready(struct thread *t)
{
    if (t == ready_first) {
        ready_first = NULL;
        return;
    }
    if (t->state != TS_READY || !t->queued) return;
    unsigned p = t->prio;
    tq_remove(&ready[p], t);
    if (!ready[p] && !(ready_bits[p / 64] &= ~(1ull << (p % 64)))) ready_words &= ~(1u << (p / 64));
}

void sched_init(struct thread *idle)
{
    idle_thread = idle;
    current = idle;
    idle->state = TS_RUNNING;
}

/* Set when an event the timer serves may have changed: the LAPIC is
 * programmed once, on the way out of the kernel (timer_commit), however many
 * events one kernel entry changes. */
static bool timer_dirty;

/* Inlined into the IPC fast path: its call and frame would cost as much as
 * some of the work it does. The fast path passes commit = false: it never
 * changes an event, and every way out of the kernel commits, so the timer is
 * never dirty there. */
static inline __attribute__((always_inline)) void switch_to(struct thread *next, bool commit)
{
    struct thread *prev = current;
    current = next;
    next->state = TS_RUNNING;
    stats.context_switches++;
    if (next->task) {
        arch_space_activate(&next->task->space);
        arch_set_io_bitmap(next->task->io_bitmap);
        if (fpu_owner != next) {
            if (fpu_owner) arch_fpu_save(&fpu_owner->fpu);
            arch_fpu_load(&next->fpu);
            fpu_owner = next;
        }
        arch_set_fs_base(next->fs_base);
        arch_set_gs_base(next->gs_base);
    }
    arch_set_kernel_stack((uint64_t)next->kstack + KSTACK_SIZE);
    if (__builtin_expect(next->sched_hooks & THREAD_HOOKS_CPU, 0)) rt_enter_cpu(next, clock_now_ns());
    /* Before the switch: a new thread leaves through its trampoline, and a
     * thread blocked in the IPC fast path through it, not through
     * kernel_exit. The slice end matters only when another thread of this
     * priority waits; a slice end still armed for the previous thread may
     * fire once, finds nothing due, and disarms the timer. A new timeout
     * marks the timer dirty only when it is earlier than what the timer is
     * armed for (timeout_arm), so blocking with the usual timeouts does not
     * reprogram it every time. */
    if (ready[next->prio]) {
        timer_dirty = true;
        timer_commit();
    } else if (commit || timer_dirty) {
        timer_commit();
    }
    arch_switch(&prev->ksp, next->ksp);
}

void schedule(void)
{
    struct thread *prev = current;
    if (prev->sched_hooks & THREAD_HOOKS_CPU) rt_leave_cpu(prev, clock_now_ns());
    need_resched = false;
    if (prev->state == TS_RUNNING && prev != idle_thread) {
        prev->preempted = clock_now_ns() < prev->slice_end_ns;
        sched_ready(prev);
    }
    struct thread *next = ready_first;
    if (next) {
        ready_first = NULL;
    } else {
        int p = highest_ready();
        next = p < 0 ? idle_thread : ready[p];
        if (p >= 0) sched_unready(next);
    }
    if (next != prev) {
        /* A fresh slice matters only when another thread of this priority waits. */
        if (ready[next->prio]) {
            uint64_t now = clock_now_ns();
            if (next->slice_end_ns <= now) next->slice_end_ns = now + SCHED_SLICE_NS;
        }
        switch_to(next, true);
    } else {
        next->state = TS_RUNNING;
        if (next->sched_hooks & THREAD_HOOKS_CPU) rt_enter_cpu(next, clock_now_ns());
        timer_dirty = true; /* the slice end may matter now, or no longer */
    }
    /* We run again. A thread released by the timer waits here, in the
     * kernel, for its release instant (rt.c, gravity); a thread waiting for
     * its release sleeps only in this function, called from kernel_exit. */
    if (__builtin_expect(current->rt_release_ns != 0, 0)) rt_hold(current);
}

bool sched_may_handoff(const struct thread *t) { return highest_ready() <= (int)t->prio && !need_resched; }

void sched_switch_direct(struct thread *t) { switch_to(t, false); }

void sched_preempt_direct(struct thread *t)
{
    struct thread *prev = current;
    /* As schedule() decides it; with nobody else at its priority, the
     * queue position does not matter and the clock need not be read. */
    prev->preempted = !ready[prev->prio] || clock_now_ns() < prev->slice_end_ns;
    sched_ready(prev);
    switch_to(t, false);
}

void sched_handoff(struct thread *t)
{
    if (ready_first) ready_first_flush();
    if (current->sched_hooks & THREAD_HOOKS_CPU) {
        /* Charge it and let what that wakes compete, before deciding. */
        rt_leave_cpu(current, clock_now_ns());
        need_resched = false;
    }
    if (highest_ready() > (int)t->prio || current->state == TS_RUNNING) {
        sched_ready(t);
        schedule();
        return;
    }
    need_resched = false;
    switch_to(t, true);
}

void sched_forget(struct thread *t)
{
    /* Its FPU registers are never needed again: do not save them into
     * memory that is about to be freed. */
    if (fpu_owner == t) fpu_owner = NULL;
}

void sched_yield(void)
{
    current->slice_end_ns = 0;
    need_resched = true;
}

void sched_set_prio(struct thread *t, uint8_t prio)
{
    if (t == ready_first) ready_first_flush(); /* it may no longer come first */
    bool was_queued = t->state == TS_READY && t->queued;
    if (was_queued) sched_unready(t);
    t->prio = prio;
    if (was_queued) sched_ready(t);
    if (t == current) need_resched = true;
}

/* Timeouts: a sorted circular list; the earliest is the head. */
void timeout_arm(struct thread *t, uint64_t deadline_ns)
{
    if (t->sched_hooks & THREAD_HOOK_TIMEOUT) timeout_cancel(t);
    if (deadline_ns == ~0ull) return;
    t->wakeup_ns = deadline_ns;
    t->sched_hooks |= THREAD_HOOK_TIMEOUT;
    /* Only a timeout earlier than the timer is armed for needs it moved; a
     * later one is served when the timer fires early and finds nothing. */
    if (deadline_ns < timer_deadline) timer_dirty = true;
    if (!timeouts) {
        timeouts = t->to_next = t->to_prev = t;
        return;
    }
    struct thread *p = timeouts;
    /* Timeouts of one length arrive in deadline order: the tail is the
     * common place, found without a walk. */
    if (deadline_ns < timeouts->to_prev->wakeup_ns) {
        do {
            if (p->wakeup_ns > deadline_ns) break;
            p = p->to_next;
        } while (p != timeouts);
    }
    /* insert before p */
    t->to_next = p;
    t->to_prev = p->to_prev;
    p->to_prev->to_next = t;
    p->to_prev = t;
    if (p == timeouts && deadline_ns < p->wakeup_ns) timeouts = t;
}

void timeout_cancel(struct thread *t)
{
    if (!(t->sched_hooks & THREAD_HOOK_TIMEOUT)) return;
    t->sched_hooks &= (uint8_t)~THREAD_HOOK_TIMEOUT;
    if (t->to_next == t) {
        timeouts = NULL;
    } else {
        t->to_prev->to_next = t->to_next;
        t->to_next->to_prev = t->to_prev;
        if (timeouts == t) timeouts = t->to_next;
    }
    t->to_next = t->to_prev = NULL;
}

void timer_reprogram(void) { timer_dirty = true; }

void timer_commit(void)
{
    if (!timer_dirty) return;
    timer_dirty = false;
    uint64_t next = rt_next_deadline();
    if (timeouts && timeouts->wakeup_ns < next) next = timeouts->wakeup_ns;
    /* Not once the switch is decided: a slice end in the past would re-arm
     * the timer at once after every tick, and a kernel preemption window
     * (sti; nop; cli) would never get past the interrupts. */
    if (current != idle_thread && ready[current->prio] && !need_resched && current->slice_end_ns < next)
        next = current->slice_end_ns;
    if (next == timer_deadline) return;
    timer_deadline = next;
    if (next == ~0ull) {
        arch_timer_arm(0);
        return;
    }
    uint64_t now = clock_now_ns();
    uint64_t delta = next > now ? next - now : 1;
    uint64_t ticks = (uint64_t)(((unsigned __int128)delta * lapic_mult) >> 32);
    if (ticks == 0) ticks = 1;
    if (ticks > 0xffffffffull) ticks = 0xffffffffull;
    arch_timer_arm((uint32_t)ticks);
}

void timer_interrupt(void)
{
    uint64_t now = clock_now_ns();
    timer_deadline = ~0ull; /* fired: whatever comes next must be armed anew */
    timer_dirty = true;
    while (timeouts && timeouts->wakeup_ns <= now) {
        struct thread *t = timeouts;
        timeout_cancel(t);
        thread_ipc_abort(t, ABI_E_TIMEOUT);
    }
    rt_timer_due(now);
    if (current != idle_thread && now >= current->slice_end_ns && ready[current->prio]) need_resched = true;
}

bool sched_idle(void) { return current == idle_thread; }

bool preemption_point(void)
{
    timer_commit(); /* a release due during the operation must interrupt it */
    irqoff_section_end();
    arch_irq_window();
    irqoff_section_begin();
    return need_resched;
}
