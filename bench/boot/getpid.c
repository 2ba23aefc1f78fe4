/*
 * bench/boot's component: the cost of one libc system call served by the
 * root's backend. getpid() is musl's `syscall` instruction, delivered by
 * the kernel as exception IPC to this thread's handler in the root, served
 * and answered with the full register state. Under -icount shift=3 every
 * guest instruction is 8 ns, so elapsed ns / 8 counts the instructions of
 * the whole round trip (kernel, root handler, back).
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define CALLS 10000

static uint64_t ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int main(void)
{
    pid_t first = getpid();
    /* The loop's own cost: the same loop without the call. */
    volatile pid_t sink = 0;
    uint64_t t0 = ns();
    for (int i = 0; i < CALLS; i++) sink += first;
    uint64_t t1 = ns();
    for (int i = 0; i < CALLS; i++) sink += getpid();
    uint64_t t2 = ns();
    uint64_t per = ((t2 - t1) - (t1 - t0)) / CALLS;
    printf("BENCH libc_syscall getpid_insns=%lu getpid_ns=%lu\n", (unsigned long)(per / 8), (unsigned long)per);
    return sink == (pid_t)(2 * CALLS) * first ? 0 : 1;
}
