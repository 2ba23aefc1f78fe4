/*
 * Native threads for components: a thread of its own priority (up to the
 * component's `priority` in the scenario), created by the root's `threads`
 * service, for real-time loops that use native IPC and DSI rather than
 * libc. It shares the main thread's libc thread state (errno, TLS), so
 * libc calls that keep per-thread state belong in POSIX threads.
 *
 * The thread runs fn(arg) on the stack the caller provides and ends when fn
 * returns (or calls drops_thread_exit()). Its capability is at
 * DROPS_CAP_THREAD_BASE + index, e.g. to hand it to the admission server.
 */
#ifndef DROPS_THREAD_H
#define DROPS_THREAD_H

#include <stddef.h>

#include "drops/services.h"

struct drops_thread {
    uint64_t tid;
    unsigned index; /* its capability: DROPS_CAP_THREAD_BASE + index */
};

/* End the calling thread: Linux exit(0), served by the root's backend. */
static inline _Noreturn void drops_thread_exit(void)
{
    for (;;) __asm__ volatile("syscall" : : "a"(60), "D"(0) : "rcx", "r11", "memory");
}

static inline int64_t drops_thread_create(struct drops_thread *t, void (*fn)(void *), void *arg, unsigned prio,
                                          void *stack, size_t stack_size)
{
    /* fn starts as if called: 16-byte aligned + 8, returning to the exit. */
    uint64_t top = ((uint64_t)(uintptr_t)stack + stack_size) & ~15ull;
    top -= 8;
    *(uint64_t *)(uintptr_t)top = (uint64_t)(uintptr_t)drops_thread_exit;
    uint64_t *mr = utcb()->mr;
    mr[0] = DROPS_THREAD_CREATE, mr[1] = (uint64_t)(uintptr_t)fn, mr[2] = top, mr[3] = prio;
    mr[4] = (uint64_t)(uintptr_t)arg;
    int64_t e = drops_root_result(drops_root_call(DROPS_CAP_THREADS, 5));
    if (!e) t->tid = mr[1], t->index = (unsigned)mr[2];
    return e;
}

#endif
