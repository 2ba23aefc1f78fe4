/*
 * Exceptions and interrupts from the CPU: page faults go to the thread's
 * pager, other exceptions (and non-native system calls) to its exception
 * handler, both as IPC the kernel composes. What nobody handles halts the
 * thread with a message; it never takes the kernel down.
 */
#ifndef KERNEL_FAULT_H
#define KERNEL_FAULT_H

#include <stdint.h>

struct thread;
struct trap_frame;

void trap_entry(struct trap_frame *f);
void fault_exception(struct thread *t, uint64_t vector, uint64_t error, uint64_t addr);

_Noreturn void idle_loop(void);

#endif
