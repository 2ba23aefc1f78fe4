/*
 * Factory: creates kernel objects and charges their memory to a quota.
 *
 * The root task's factory holds the whole kernel pool; a factory can carve a
 * smaller one out of its own quota for a subsystem, so a component can exhaust
 * only what it was given and gets ABI_E_NO_MEMORY, never a kernel panic.
 */
#ifndef KERNEL_FACTORY_H
#define KERNEL_FACTORY_H

#include "object.h"

struct factory {
    struct kobj obj;
    struct factory *parent; /* quota came from here and returns here */
    uint64_t quota;         /* bytes this factory may have outstanding */
    uint64_t used;
    uint64_t objects;       /* live objects charged here (keeps the factory's memory alive) */
};

struct factory *factory_create_root(uint64_t quota);
bool factory_charge(struct factory *f, uint64_t bytes);
void factory_uncharge(struct factory *f, uint64_t bytes);

/* Page-table and mapping-node memory of a task, charged like objects. */
void *factory_alloc(struct factory *f, size_t size);
void factory_free(struct factory *f, void *p, size_t size);
void *factory_alloc_pages(struct factory *f, unsigned order);
void factory_free_pages(struct factory *f, void *p, unsigned order);

void factory_destroy(struct factory *f);

struct trap_frame;
/* The first thing a system call that allocates kernel memory does: zero
 * ahead, with preemption points, the blocks its allocations may need
 * (kmem_prezero_step), so that none is zeroed with interrupts off. False
 * when preempted: the call is set up to restart (nothing was done yet) and
 * its handler returns at once. */
bool factory_prepare(struct trap_frame *f);

#endif
