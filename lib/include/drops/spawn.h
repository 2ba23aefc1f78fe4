/*
 * Children for tests and demos: a task that shares this program's image
 * (mapped from the parent) and runs one function of it in a new thread.
 *
 * Capability slots in the child follow the root's layout: ABI_CAP_SELF_TASK,
 * ABI_CAP_SELF_THREAD, ABI_CAP_MACHINE (console only). The parent keeps the
 * originals of the task and the thread.
 */
#ifndef DROPS_SPAWN_H
#define DROPS_SPAWN_H

#include "drops/sys.h"

struct child {
    abi_cap_t task, thread; /* parent's slots */
    uint64_t utcb;
};

/* Next free slot in the caller's capability table (simple bump allocator). */
abi_cap_t cap_alloc(void);

/* Create a task sharing our image; 0 or an abi_error. */
int64_t child_task(struct child *c, unsigned cap_slots);
/* Start fn(arg) in a new thread of task c (or of our own task when c->task is
 * ABI_CAP_SELF_TASK) with the given priority; `stack_top` in that space. */
int64_t child_thread(struct child *c, void (*fn)(uint64_t), uint64_t arg, uint64_t stack_top, unsigned prio);
/* The same, but not started yet (c->thread names it), so that it can be
 * configured first (pager, exception handler, reservations); start it with
 * sys_thread_exregs(c->thread, 0, 0, ABI_EXREGS_START). */
int64_t child_thread_prepare(struct child *c, void (*fn)(uint64_t), uint64_t arg, uint64_t stack_top, unsigned prio);
/* Physical memory for a native root program's experiments: `bytes` from
 * the largest free RAM range of the KIP, aligned to `align` (a power of
 * two), never handed out twice; 0 when it does not fit. The root sees it at
 * ABI_PHYS_WINDOW + the result. */
uint64_t free_ram_reserve(uint64_t bytes, uint64_t align);
/* Map [phys, phys + bytes) read-write into `task` at `va`; 0 or an abi_error. */
int64_t task_map_ram(abi_cap_t task, uint64_t phys, uint64_t va, uint64_t bytes);

/* Stop the calling thread for good. */
_Noreturn void thread_exit(void);

/* Image bounds from the linker. */
extern char __executable_start[], _end[];

#endif
