/*
 * The native system call list, written once.
 *
 * SYSCALL(index, name, nargs) is expanded by the kernel into its dispatch
 * table and by lib/ into the user stubs. A native call is `syscall` with
 * rax = ABI_SYSCALL_BASE + index. Any other rax value is not a kernel call:
 * it is delivered as an exception IPC (vector ABI_EXC_SYSCALL) to the thread's
 * exception handler, which is how Linux system calls from musl reach the
 * user-level libc backend. Linux numbers stay far below the base (and x32
 * numbers far above the table), so one unsigned compare separates the two.
 *
 * Register convention (as Linux): arguments in rdi, rsi, rdx, r10, r8, r9.
 * Results: rax = enum abi_error, rdx = first value, rsi = second value.
 * rcx and r11 are clobbered by the instruction itself.
 */
#ifndef ABI_SYSCALLS_H
#define ABI_SYSCALLS_H

#define ABI_SYSCALL_BASE 0x1000u

/*       index name            nargs   arguments -> results */
#define ABI_SYSCALLS(SYSCALL)                                                                  \
    SYSCALL(0, ipc, 6)            /* snd_cap, rcv_cap, tag, snd_to, rcv_to, flags -> tag, label */\
    SYSCALL(1, factory_create, 5) /* factory, type, dst_slot, a0, a1 */                        \
    SYSCALL(2, cap_copy, 4)       /* dst_task, src_slot, dst_slot, rights_mask */              \
    SYSCALL(3, cap_delete, 1)     /* slot (and all caps derived from it) */                   \
    SYSCALL(4, cap_revoke, 1)     /* slot: delete all derived caps, keep slot */               \
    SYSCALL(5, cap_info, 1)       /* slot -> type, rights */                                   \
    SYSCALL(6, task_map, 5)       /* dst_task, src_addr, dst_addr, pages, rights (restartable) */\
    SYSCALL(7, unmap, 3)          /* addr, pages, flags (restartable) */                      \
    SYSCALL(8, thread_bind, 3)    /* thread, task, utcb_addr */                                \
    SYSCALL(9, thread_config, 3)  /* thread, pager_slot, exc_handler_slot (in its task) */     \
    SYSCALL(10, thread_exregs, 4) /* thread, ip, sp, flags -> old ip, old sp */                \
    SYSCALL(11, thread_sched, 3)  /* thread, priority, max controlled priority */              \
    SYSCALL(12, thread_yield, 0)  /* */                                                        \
    SYSCALL(13, irq_control, 4)   /* cap, op, a0, a1 */                                        \
    SYSCALL(14, machine, 4)       /* cap, op, a0, a1 -> value, value */                        \
    SYSCALL(15, rt_control, 5)    /* sched_cap, op, a0, a1, a2 -> value, value */              \
    SYSCALL(16, rt_next_period, 0) /* end this job, wait for the next release */              \
    SYSCALL(17, rt_next_reservation, 1) /* expected slice -> time left in it (ns) */

enum abi_syscall {
#define ABI_SYSCALL_ENUM(num, name, nargs) ABI_SYS_##name = num,
    ABI_SYSCALLS(ABI_SYSCALL_ENUM)
#undef ABI_SYSCALL_ENUM
    ABI_SYS_COUNT
};

#endif
