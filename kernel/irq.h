/*
 * IRQ: a device interrupt line delivered as IPC. The line is masked when it
 * fires and stays masked until the handler thread acknowledges it with
 * ABI_IRQ_UNMASK, so a slow handler sees one message per interrupt and the
 * kernel never queues more than one.
 */
#ifndef KERNEL_IRQ_H
#define KERNEL_IRQ_H

#include "object.h"

struct thread;

struct irq {
    struct kobj obj;
    unsigned gsi;
    struct thread *thread;
    uint64_t label;
    bool pending;
    struct irq *next; /* in thread->irqs */
};

void irq_init(void);
struct irq *irq_create(struct factory *f, unsigned gsi, int64_t *err);
int64_t irq_bind(struct irq *q, struct thread *t, uint64_t label);
void irq_unbind(struct irq *q);
void irq_unmask(struct irq *q);
void irq_destroy(struct irq *q);
/* From the interrupt entry: line `gsi` fired. */
void irq_fire(unsigned gsi);
/* Deliver a pending IRQ to t if it waits openly; true if one was delivered. */
bool irq_deliver_pending(struct thread *t);

#endif
