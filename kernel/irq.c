/* Interrupts as IPC (see irq.h). */
#include "irq.h"
#include "arch_trap.h"
#include "cap_table.h"
#include "sched.h"
#include "syscall.h"
#include "task.h"
#include "abi/errors.h"
#include "abi/ipc.h"
#include "arch_apic.h"
#include "ipc.h"
#include "thread.h"

#define IRQ_MAX_GSI 24u

static struct irq *by_gsi[IRQ_MAX_GSI];

void irq_init(void) {}

struct irq *irq_create(struct factory *f, unsigned gsi, int64_t *err)
{
    if (gsi >= IRQ_MAX_GSI || gsi >= arch_ioapic_gsi_count()) {
        *err = ABI_E_INVALID_ARG;
        return NULL;
    }
    if (by_gsi[gsi]) {
        *err = ABI_E_BUSY;
        return NULL;
    }
    struct irq *q = obj_alloc(f, sizeof *q, ABI_OBJ_IRQ);
    if (!q) {
        *err = ABI_E_NO_MEMORY;
        return NULL;
    }
    q->gsi = gsi;
    by_gsi[gsi] = q;
    return q;
}

int64_t irq_bind(struct irq *q, struct thread *t, uint64_t label)
{
    if (q->thread) irq_unbind(q);
    q->thread = t;
    q->label = label;
    q->next = t->irqs;
    t->irqs = q;
    arch_ioapic_mask(q->gsi, false);
    return ABI_E_OK;
}

void irq_unbind(struct irq *q)
{
    struct thread *t = q->thread;
    arch_ioapic_mask(q->gsi, true);
    q->pending = false;
    if (!t) return;
    for (struct irq **p = &t->irqs; *p; p = &(*p)->next)
        if (*p == q) {
            *p = q->next;
            break;
        }
    q->thread = NULL;
    q->next = NULL;
}

void irq_unmask(struct irq *q)
{
    if (q->thread) arch_ioapic_mask(q->gsi, false);
}

void irq_destroy(struct irq *q)
{
    irq_unbind(q);
    by_gsi[q->gsi] = NULL;
}

void irq_fire(unsigned gsi)
{
    if (gsi >= IRQ_MAX_GSI) return;
    struct irq *q = by_gsi[gsi];
    arch_ioapic_mask(gsi, true);
    if (!q || !q->thread) return;
    struct thread *t = q->thread;
    if (t->state == TS_RECV && t->partner == NULL) ipc_wake_with(t, ABI_TAG(ABI_PROTO_IRQ, 0, 0), q->label);
    else q->pending = true;
}

bool irq_deliver_pending(struct thread *t)
{
    for (struct irq *q = t->irqs; q; q = q->next) {
        if (!q->pending) continue;
        q->pending = false;
        t->rcv_tag = ABI_TAG(ABI_PROTO_IRQ, 0, 0);
        t->rcv_label = q->label;
        return true;
    }
    return false;
}

/* --- system call --- */

void sys_irq_control(struct trap_frame *f)
{
    int64_t err = ABI_E_OK;
    struct task *self = current->task;
    uint64_t op = f->rsi, a0 = f->rdx, a1 = f->r10;
    if (op == ABI_IRQ_CREATE) {
        struct cap *ctl = task_cap(self, f->rdi, ABI_OBJ_IRQ_CONTROL, ABI_R_CTRL, &err);
        struct cap *dst = ctl ? task_slot_alloc(self, a1, &err) : NULL;
        if (dst && !cap_is_empty(dst)) err = ABI_E_SLOT_OCCUPIED;
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
            struct thread *t = thread_from_cap(a0, ABI_R_CTRL, &err);
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
