/*
 * The machine object: the kernel console (SEND), and with CTRL the power to
 * stop the machine and to grant I/O ports. The root task holds the original
 * and hands out console-only copies.
 */
#include "abi/errors.h"
#include "arch_cpu.h"
#include "arch_trap.h"
#include "console.h"
#include "kmem.h"
#include "rt.h"
#include "sched.h"
#include "stats.h"
#include "syscall.h"
#include "task.h"
#include "thread.h"

void sys_machine(struct trap_frame *f)
{
    int64_t err = ABI_E_OK;
    uint64_t op = f->rsi, a0 = f->rdx, a1 = f->r10;
    uint8_t need = op == ABI_MACHINE_EXIT || op == ABI_MACHINE_IOPORTS ? ABI_R_CTRL : ABI_R_SEND;
    struct cap *c = task_cap(current->task, f->rdi, ABI_OBJ_MACHINE, need, &err);
    f->rdx = 0;
    if (c) {
        switch (op) {
        case ABI_MACHINE_PUTS: {
            /* The UART is polled, a character at a time: write in short
             * chunks with a preemption point between them, and restart the
             * call with what is left when preempted. */
            char buf[16]; /* about 2.5 us of polling per piece */
            if (a1 > 4096) {
                err = ABI_E_INVALID_ARG;
                break;
            }
            while (a1) {
                /* Queued kernel messages first: the log keeps its order. */
                if (console_pending()) {
                    console_drain(sizeof buf);
                } else {
                    uint64_t n = a1 < sizeof buf ? a1 : sizeof buf;
                    if (!task_copy_from_user(current->task, a0, buf, n)) {
                        err = ABI_E_INVALID_ARG;
                        break;
                    }
                    console_write(buf, n);
                    a0 += n, a1 -= n;
                }
                if (a1 && preemption_point()) {
                    f->rdx = a0, f->r10 = a1;
                    f->rip -= 2;
                    return;
                }
            }
            break;
        }
        case ABI_MACHINE_IOPORTS: {
            struct task *t = task_from_cap(a0, ABI_R_CTRL, &err);
            if (t) err = task_grant_ports(t, (unsigned)(a1 & 0xffff), (unsigned)((a1 >> 16) & 0x1ffff));
            break;
        }
        case ABI_MACHINE_EXIT:
            console_flush();
            console_buffer(false);
            kprintf("[kernel] machine exit requested by %s, status %lu\n", current->task->name, a0);
            arch_machine_exit((uint32_t)a0);
        case ABI_MACHINE_STATS:
            switch (a0) {
            case ABI_STAT_FREE_KERNEL_PAGES: f->rdx = kmem_free_pages_count(); break;
            case ABI_STAT_IRQOFF_MAX_NS: f->rdx = clock_tsc_to_ns(stats.irqoff_max_tsc); break;
            case ABI_STAT_CONTEXT_SWITCHES: f->rdx = stats.context_switches; break;
            case ABI_STAT_RT_GRAVITY_NS: f->rdx = rt_gravity(); break;
            case ABI_STAT_IRQOFF_RESET:
                f->rdx = clock_tsc_to_ns(stats.irqoff_max_tsc);
                stats.irqoff_max_tsc = 0;
                break;
            default: err = ABI_E_INVALID_ARG;
            }
            break;
        default:
            err = ABI_E_INVALID_ARG;
        }
    }
    f->rax = (uint64_t)err;
}
