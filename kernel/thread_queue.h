/*
 * Circular doubly-linked queues of threads through q_next/q_prev: the ready
 * queues (sched.c) and the IPC wait lists (ipc.c). A thread is in at most
 * one such queue at a time; `queued` records whether it is.
 */
#ifndef KERNEL_THREAD_QUEUE_H
#define KERNEL_THREAD_QUEUE_H

#include "thread.h"

static inline void tq_add_tail(struct thread **head, struct thread *t)
{
    if (!*head) {
        *head = t->q_next = t->q_prev = t;
    } else {
        t->q_next = *head;
        t->q_prev = (*head)->q_prev;
        (*head)->q_prev->q_next = t;
        (*head)->q_prev = t;
    }
    t->queued = true;
}

/* Insert t before p, which is in the queue. */
static inline void tq_insert_before(struct thread *p, struct thread *t)
{
    t->q_next = p;
    t->q_prev = p->q_prev;
    p->q_prev->q_next = t;
    p->q_prev = t;
    t->queued = true;
}

static inline void tq_remove(struct thread **head, struct thread *t)
{
    if (t->q_next == t) {
        *head = NULL;
    } else {
        t->q_prev->q_next = t->q_next;
        t->q_next->q_prev = t->q_prev;
        if (*head == t) *head = t->q_next;
    }
    t->q_next = t->q_prev = NULL;
    t->queued = false;
}

#endif
