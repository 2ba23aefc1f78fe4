/*
 * System call dispatch and the object calls that are not IPC or memory.
 *
 * Each handler follows the same order: decode arguments, look up
 * capabilities with the rights the operation needs, check parameters (all of
 * this changes nothing), then act. Errors go back in rax.
 */
#include "syscall.h"
#include "abi/errors.h"
#include "abi/syscalls.h"
#include "arch_cpu.h"
#include "arch_trap.h"
#include "cap_table.h"
#include "console.h"
#include "factory.h"
#include "fault.h"
#include "gate.h"
#include "ipc.h"
#include "irq.h"
#include "kmem.h"
#include "memory.h"
#include "sched.h"
#include "stats.h"
#include "task.h"
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
    while (need_resched || current->state != TS_RUNNING) schedule();
    irqoff_section_end();
}

static struct thread *thread_arg(uint64_t sel, uint8_t rights, int64_t *err)
{
    struct cap *c = task_cap(current->task, sel, ABI_OBJ_THREAD, rights, err);
    return c ? (struct thread *)c->obj : NULL;
}

static struct task *task_arg(uint64_t sel, uint8_t rights, int64_t *err)
{
    struct cap *c = task_cap(current->task, sel, ABI_OBJ_TASK, rights, err);
    return c ? (struct task *)c->obj : NULL;
}

void sys_factory_create(struct trap_frame *f)
{
    int64_t err = ABI_E_OK;
    struct task *self = current->task;
    struct cap *fc = task_cap(self, f->rdi, ABI_OBJ_FACTORY, ABI_R_CTRL, &err);
    struct cap *dst = cap_slot(&self->caps, f->rdx);
    uint64_t type = f->rsi, a0 = f->r10, a1 = f->r8;
    struct thread *bind_to = NULL;
    if (!fc) goto out;
    if (!dst) {
        err = ABI_E_INVALID_CAP;
        goto out;
    }
    if (!cap_is_empty(dst)) {
        err = ABI_E_SLOT_OCCUPIED;
        goto out;
    }
    if (type == ABI_OBJ_GATE && !(bind_to = thread_arg(a0, ABI_R_CTRL, &err))) goto out;
    if (type == ABI_OBJ_TASK && (a0 == 0 || a0 > ABI_MAX_CAP_SLOTS)) {
        err = ABI_E_INVALID_ARG;
        goto out;
    }

    struct factory *fac = (struct factory *)fc->obj;
    struct kobj *o = NULL;
    switch (type) {
    case ABI_OBJ_TASK:
        o = (struct kobj *)task_create(fac, (uint32_t)a0);
        break;
    case ABI_OBJ_THREAD:
        o = (struct kobj *)thread_create(fac);
        break;
    case ABI_OBJ_GATE:
        o = (struct kobj *)gate_create(fac, bind_to, a1);
        break;
    case ABI_OBJ_FACTORY: {
        if (!factory_charge(fac, a0)) break;
        struct factory *n = obj_alloc(fac, sizeof *n, ABI_OBJ_FACTORY);
        if (!n) {
            factory_uncharge(fac, a0);
            break;
        }
        n->parent = fac;
        n->quota = a0;
        o = &n->obj;
        break;
    }
    default:
        err = ABI_E_INVALID_ARG;
        goto out;
    }
    if (!o) {
        err = ABI_E_NO_MEMORY;
        goto out;
    }
    cap_install_original(dst, o, (uint8_t)type, ABI_R_ALL);
out:
    f->rax = (uint64_t)err;
}

void sys_cap_copy(struct trap_frame *f)
{
    int64_t err = ABI_E_OK;
    struct task *dst_task = task_arg(f->rdi, ABI_R_CTRL, &err);
    struct cap *src = dst_task ? task_cap(current->task, f->rsi, ABI_OBJ_NONE, ABI_R_COPY, &err) : NULL;
    if (src) {
        struct cap *dst = cap_slot(&dst_task->caps, f->rdx);
        if (!dst) err = ABI_E_INVALID_CAP;
        else if (!cap_is_empty(dst)) err = ABI_E_SLOT_OCCUPIED;
        else if (f->r10 & ~(uint64_t)ABI_R_ALL) err = ABI_E_INVALID_ARG;
        else cap_derive(src, dst, (uint8_t)f->r10);
    }
    f->rax = (uint64_t)err;
}

void sys_cap_delete(struct trap_frame *f)
{
    int64_t err = ABI_E_OK;
    struct cap *c = task_cap(current->task, f->rdi, ABI_OBJ_NONE, 0, &err);
    if (c) {
        if (!cap_delete_subtree(c)) {
            f->rip -= 2; /* preempted: restart and continue with what is left */
            return;
        }
        while (reap_pending() && !preemption_point()) reap_step();
    }
    f->rax = (uint64_t)err;
}

void sys_cap_revoke(struct trap_frame *f)
{
    int64_t err = ABI_E_OK;
    struct cap *c = task_cap(current->task, f->rdi, ABI_OBJ_NONE, 0, &err);
    while (c && c->child) {
        struct cap *leaf = cap_find_leaf(c);
        cap_unlink(leaf); /* a descendant is never an original */
        if (c->child && preemption_point()) {
            f->rip -= 2;
            return;
        }
    }
    f->rax = (uint64_t)err;
}

void sys_cap_info(struct trap_frame *f)
{
    int64_t err = ABI_E_OK;
    struct cap *c = task_cap(current->task, f->rdi, ABI_OBJ_NONE, 0, &err);
    f->rax = (uint64_t)err;
    f->rdx = c ? c->type : 0;
    f->rsi = c ? c->rights : 0;
}

void sys_thread_bind(struct trap_frame *f)
{
    int64_t err = ABI_E_OK;
    struct thread *t = thread_arg(f->rdi, ABI_R_CTRL, &err);
    struct task *task = t ? task_arg(f->rsi, ABI_R_CTRL, &err) : NULL;
    if (task) err = task->obj.dead ? ABI_E_ABORTED : thread_bind(t, task, f->rdx);
    f->rax = (uint64_t)err;
}

void sys_thread_config(struct trap_frame *f)
{
    int64_t err = ABI_E_OK;
    struct thread *t = thread_arg(f->rdi, ABI_R_CTRL, &err);
    if (t && (f->rsi >= ABI_MAX_CAP_SLOTS || f->rdx >= ABI_MAX_CAP_SLOTS)) err = ABI_E_INVALID_ARG, t = NULL;
    if (t) {
        t->pager_slot = f->rsi;
        t->exc_slot = f->rdx;
    }
    f->rax = (uint64_t)err;
}

void sys_thread_exregs(struct trap_frame *f)
{
    int64_t err = ABI_E_OK;
    struct thread *t = thread_arg(f->rdi, ABI_R_CTRL, &err);
    uint64_t ip = f->rsi, sp = f->rdx, flags = f->r10;
    if (t && ((flags & ~(uint64_t)0xf) || ((flags & ABI_EXREGS_SET_IP) && ip >= USER_ADDR_END) ||
              ((flags & ABI_EXREGS_SET_SP) && sp > USER_ADDR_END)))
        err = ABI_E_INVALID_ARG, t = NULL;
    if (t && (flags & ABI_EXREGS_START) && !t->task) err = ABI_E_BUSY, t = NULL;
    if (!t) {
        f->rax = (uint64_t)err;
        return;
    }
    uint64_t old_ip = t->frame->rip, old_sp = t->frame->rsp;
    if (flags & ABI_EXREGS_HALT) thread_halt(t);
    if (flags & ABI_EXREGS_SET_IP) t->frame->rip = ip;
    if (flags & ABI_EXREGS_SET_SP) t->frame->rsp = sp;
    if (flags & ABI_EXREGS_START) thread_start(t);
    f->rax = ABI_E_OK;
    f->rdx = old_ip;
    f->rsi = old_sp;
}

void sys_thread_sched(struct trap_frame *f)
{
    int64_t err = ABI_E_OK;
    struct thread *t = thread_arg(f->rdi, ABI_R_CTRL, &err);
    uint64_t prio = f->rsi, mcp = f->rdx;
    if (t && (prio > ABI_PRIO_MAX || mcp > ABI_PRIO_MAX)) err = ABI_E_INVALID_ARG, t = NULL;
    if (t && (prio > current->mcp || mcp > current->mcp)) err = ABI_E_PRIORITY, t = NULL;
    if (t) {
        t->mcp = (uint8_t)mcp;
        sched_set_prio(t, (uint8_t)prio);
    }
    f->rax = (uint64_t)err;
}

void sys_thread_yield(struct trap_frame *f)
{
    sched_yield();
    f->rax = ABI_E_OK;
}

void sys_irq_control(struct trap_frame *f)
{
    int64_t err = ABI_E_OK;
    struct task *self = current->task;
    uint64_t op = f->rsi, a0 = f->rdx, a1 = f->r10;
    if (op == ABI_IRQ_CREATE) {
        struct cap *ctl = task_cap(self, f->rdi, ABI_OBJ_IRQ_CONTROL, ABI_R_CTRL, &err);
        struct cap *dst = ctl ? cap_slot(&self->caps, a1) : NULL;
        if (ctl && !dst) err = ABI_E_INVALID_CAP;
        else if (dst && !cap_is_empty(dst)) err = ABI_E_SLOT_OCCUPIED;
        else if (dst) {
            /* IRQ objects are charged to the root factory: the control cap stands for it. */
            struct irq *q = irq_create(((struct kobj *)ctl->obj)->factory, (unsigned)a0, &err);
            if (q) cap_install_original(dst, &q->obj, ABI_OBJ_IRQ, ABI_R_ALL);
        }
        f->rax = (uint64_t)err;
        return;
    }
    struct cap *c = task_cap(self, f->rdi, ABI_OBJ_IRQ, ABI_R_CTRL, &err);
    struct irq *q = c ? (struct irq *)c->obj : NULL;
    if (q) {
        switch (op) {
        case ABI_IRQ_BIND: {
            struct thread *t = thread_arg(a0, ABI_R_CTRL, &err);
            if (t) err = irq_bind(q, t, a1);
            break;
        }
        case ABI_IRQ_UNMASK:
            irq_unmask(q);
            break;
        case ABI_IRQ_UNBIND:
            irq_unbind(q);
            break;
        default:
            err = ABI_E_INVALID_ARG;
        }
    }
    f->rax = (uint64_t)err;
}

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
            char buf[256];
            if (a1 > 4096) {
                err = ABI_E_INVALID_ARG;
                break;
            }
            while (a1) {
                uint64_t n = a1 < sizeof buf ? a1 : sizeof buf;
                if (!task_copy_from_user(current->task, a0, buf, n)) {
                    err = ABI_E_INVALID_ARG;
                    break;
                }
                console_write(buf, n);
                a0 += n, a1 -= n;
            }
            break;
        }
        case ABI_MACHINE_IOPORTS: {
            struct task *t = task_arg(a0, ABI_R_CTRL, &err);
            if (t) err = task_grant_ports(t, (unsigned)(a1 & 0xffff), (unsigned)((a1 >> 16) & 0x1ffff));
            break;
        }
        case ABI_MACHINE_EXIT:
            kprintf("[kernel] machine exit requested by %s, status %lu\n", current->task->name, a0);
            arch_machine_exit((uint32_t)a0);
        case ABI_MACHINE_STATS:
            switch (a0) {
            case ABI_STAT_FREE_KERNEL_PAGES: f->rdx = kmem_free_pages_count(); break;
            case ABI_STAT_IRQOFF_MAX_NS: f->rdx = clock_tsc_to_ns(stats.irqoff_max_tsc); break;
            case ABI_STAT_CONTEXT_SWITCHES: f->rdx = stats.context_switches; break;
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
