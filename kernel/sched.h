/*
 * The scheduler: fixed priorities 0..255, round robin within a priority,
 * tickless. The one-shot timer is programmed for the earliest of the next IPC
 * timeout and the end of the current time slice (only when another thread of
 * the same priority waits for the CPU).
 */
#ifndef KERNEL_SCHED_H
#define KERNEL_SCHED_H

#include <stdbool.h>
#include <stdint.h>

struct thread;

extern struct thread *current;
extern bool need_resched;

void sched_init(struct thread *idle);
void sched_ready(struct thread *t);
void sched_unready(struct thread *t);
/* t was released (rt.c): ready, and if it preempts, taken directly. */
void sched_release(struct thread *t);
/* Give the CPU to the best ready thread; returns when the caller runs again. */
void schedule(void);
/* The current thread blocks and just made t runnable: run t right away
 * unless something more important waits (direct switch, no queueing). */
void sched_handoff(struct thread *t);
bool sched_may_handoff(const struct thread *t);
/* Switch to t, which sched_may_handoff just approved. */
void sched_switch_direct(struct thread *t);
/* The running thread is preempted by t, which sched_may_handoff approved:
 * queue it as schedule() would and switch to t directly. */
void sched_preempt_direct(struct thread *t);
void sched_yield(void);
/* t is being destroyed: drop every scheduler reference to it. */
void sched_forget(struct thread *t);
void sched_set_prio(struct thread *t, uint8_t prio);

/* Kernel clock: nanoseconds since boot. */
void clock_init(uint64_t tsc_khz, uint64_t lapic_per_ms);
uint64_t clock_now_ns(void);
uint64_t clock_deadline(uint64_t timeout_ns);

void timeout_arm(struct thread *t, uint64_t deadline_ns);
void timeout_cancel(struct thread *t);
void timer_interrupt(void);
/* An event the timer serves may have changed: program it on the way out. */
void timer_reprogram(void);
/* Program the one-shot timer for the earliest event, if something changed;
 * called on every way out of the kernel and before every interrupt window. */
void timer_commit(void);
/* The idle thread runs. */
bool sched_idle(void);

/* Preemption point for long operations: open an interrupt window and tell
 * whether a more important thread now waits for the CPU. */
bool preemption_point(void);

uint64_t clock_tsc_to_ns(uint64_t tsc);

/* Interrupts-off accounting: the kernel runs with interrupts disabled from
 * entry to exit and between preemption points; the longest stretch is kept
 * in stats.irqoff_max_tsc. */
void irqoff_section_begin(void);
void irqoff_section_end(void);

#define SCHED_SLICE_NS 10000000ull

#endif
