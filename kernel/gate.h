/*
 * IPC gate: an endpoint bound to one receiving thread, with a label. A
 * message sent through a gate arrives at the bound thread carrying the label,
 * so a server can tell its clients (and a pager its children) apart without
 * trusting anything they send.
 */
#ifndef KERNEL_GATE_H
#define KERNEL_GATE_H

#include "object.h"

struct thread;

struct gate {
    struct kobj obj;
    struct thread *thread; /* NULL when the thread is gone */
    uint64_t label;
    struct gate *next; /* in thread->gates */
};

struct gate *gate_create(struct factory *f, struct thread *t, uint64_t label);
void gate_unbind(struct gate *g);
void gate_destroy(struct gate *g);

#endif
