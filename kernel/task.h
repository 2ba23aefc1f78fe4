/*
 * Task: an address space and a capability table. Threads run in a task; the
 * task does not own them (their originals may sit anywhere), it only keeps
 * the list of threads bound to it so that its destruction can stop them.
 */
#ifndef KERNEL_TASK_H
#define KERNEL_TASK_H

#include "arch_paging.h"
#include "cap_table.h"
#include "object.h"

struct thread;

struct task {
    struct kobj obj;
    struct arch_space space;
    struct cap_table caps;
    struct thread *threads; /* bound threads, via thread.task_next */
    bool is_root;           /* sigma0 role: faults in the physical window map RAM */
    uint8_t *io_bitmap;     /* I/O ports granted (bit clear = allowed), or NULL: none */
    char name[16];          /* for diagnostics */
    /* Teardown cursor (only used once dead). */
    uint64_t reap_slot;
    uint64_t reap_va;
    uint64_t reap_pt; /* page-table teardown cursor */
};

struct task *task_create(struct factory *f, uint32_t slots);
void task_destroy_begin(struct task *t);
/* One bounded teardown step; true when the task has been freed. */
bool task_reap_step(struct task *t);
void task_set_name(struct task *t, const char *name);
/* Allow the task the ports [first, first + count). */
int64_t task_grant_ports(struct task *t, unsigned first, unsigned count);

/* Resolve a selector in the task's table to a capability of the given type
 * (ABI_OBJ_NONE: any type) holding all `rights`. */
struct cap *task_cap(struct task *t, uint64_t sel, uint8_t type, uint8_t rights, int64_t *err);
/* A slot of the task's table to fill, its page allocated if needed
 * (ABI_E_INVALID_CAP for a bad selector, ABI_E_NO_MEMORY). May be occupied. */
struct cap *task_slot_alloc(struct task *t, uint64_t sel, int64_t *err);
/* Copy user memory of the task from/to the kernel through its page tables
 * (never faults); false if a page is missing, or not writable for to_user. */
bool task_copy_from_user(struct task *task, uint64_t uaddr, void *dst, size_t n);
bool task_copy_to_user(struct task *task, uint64_t uaddr, const void *src, size_t n);
/* The task named by a slot of the current task, with at least `rights`. */
struct task *task_from_cap(uint64_t sel, uint8_t rights, int64_t *err);

#endif
