/*
 * System call dispatch: a table generated from abi/syscalls.h, plus the
 * exit path back to user mode. The handlers live with their objects
 * (thread.c, task.c, factory.c, capability.c, memory.c, ipc.c, irq.c,
 * machine.c); each follows the same order: decode arguments, look up
 * capabilities with the rights the operation needs, check parameters (all
 * of this changes nothing), then act. Errors go back in rax.
 */
#include "syscall.h"
#include "abi/errors.h"
#include "abi/syscalls.h"
#include "arch_trap.h"
#include "console.h"
#include "fault.h"
#include "ipc.h"
#include "sched.h"
#include "thread.h"

typedef void (*syscall_fn)(struct trap_frame *);

/* Read by the entry code to pick the short register-saving path. */
__attribute__((used)) const uint64_t syscall_count = ABI_SYS_COUNT;

static const syscall_fn syscall_table[ABI_SYS_COUNT] = {
#define SYSCALL_ENTRY(num, name, nargs) [num] = sys_##name,
    ABI_SYSCALLS(SYSCALL_ENTRY)
#undef SYSCALL_ENTRY
};

void syscall_entry(struct trap_frame *f)
{
    irqoff_section_begin();
    uint64_t nr = f->rax - ABI_SYSCALL_BASE;
    if (nr == ABI_SYS_ipc && ipc_fastpath(f)) {
        /* We blocked and were switched back in: whoever did that ran the
         * scheduler's decision, so there is nothing left to reschedule. */
        irqoff_section_end();
        return;
    }
    if (nr < ABI_SYS_COUNT)
        syscall_table[nr](f);
    else
        fault_exception(current, ABI_EXC_SYSCALL, 0, 0);
    kernel_exit();
}

void kernel_exit(void)
{
    /* A little of any queued kernel message goes out on the way. */
    if (console_pending()) console_drain(16);
    while (need_resched || current->state != TS_RUNNING) schedule();
    timer_commit();
    irqoff_section_end();
}
