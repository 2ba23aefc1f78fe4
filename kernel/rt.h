/*
 * The kernel side of reservation-based scheduling: rt-sched (rt-sched/)
 * decides, this glue applies its decisions to threads, the ready queues and
 * the one-shot timer, delivers notifications to preempter threads as IPC,
 * and keeps the ring of per-job records that user level reads.
 */
#ifndef KERNEL_RT_H
#define KERNEL_RT_H

#include <stdint.h>

struct thread;

void rt_kernel_init(void);
void rt_thread_init(struct thread *t);
/* t is being destroyed: no events, no preempter links. */
void rt_thread_forget(struct thread *t);

/* A real-time thread leaves the CPU (before the scheduler decides what
 * runs next, so releases and wake-ups it causes take part) / takes it. */
void rt_leave_cpu(struct thread *t, uint64_t now);
void rt_enter_cpu(struct thread *t, uint64_t now);
/* The earliest rt-sched event, for the timer. */
uint64_t rt_next_deadline(void);
/* The timer fired: process every thread whose event is due. */
void rt_timer_due(uint64_t now);
/* t's best-effort group has no budget left: t is throttled (TS_THROTTLED,
 * released at the replenishment) instead of queued. True if so. */
int rt_group_throttles(struct thread *t);
/* A message is being sent to t (minimal inter-release releases). */
void rt_message(struct thread *t);
/* The released thread `current` resumes in the scheduler: hold it until its
 * release instant (it was served up to the gravity early), in interrupt
 * windows; returns early when something more important became ready. */
void rt_hold(struct thread *t);
/* The timer anticipation of releases in force, in ns. */
uint64_t rt_gravity(void);
/* t receives openly: hand it one pending notification; true if it got one. */
int rt_deliver_pending(struct thread *t);

#endif
