/* System call entry and the kernel's exit path back to user mode. */
#ifndef KERNEL_SYSCALL_H
#define KERNEL_SYSCALL_H

#include <stdbool.h>

struct trap_frame;
struct cap;

void syscall_entry(struct trap_frame *f);
/* Reschedule if needed before the current thread returns to user mode. */
void kernel_exit(void);
bool cap_delete_subtree(struct cap *c);

#define SYSCALL_DECLARE(num, name, nargs) void sys_##name(struct trap_frame *f);
#include "abi/syscalls.h"
ABI_SYSCALLS(SYSCALL_DECLARE)
#undef SYSCALL_DECLARE

#endif
