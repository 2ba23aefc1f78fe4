/*
 * System calls on capabilities themselves: copy with fewer rights, delete
 * (an original takes its object with it), revoke the copies, inspect.
 * The tree operations are in cap_table.c; object destruction in object.c.
 */
#include "abi/errors.h"
#include "arch_trap.h"
#include "cap_table.h"
#include "factory.h"
#include "object.h"
#include "sched.h"
#include "syscall.h"
#include "task.h"
#include "thread.h"

void sys_cap_copy(struct trap_frame *f)
{
    int64_t err = ABI_E_OK;
    struct task *dst_task = task_from_cap(f->rdi, ABI_R_CTRL, &err);
    struct cap *src = dst_task ? task_cap(current->task, f->rsi, ABI_OBJ_NONE, ABI_R_COPY, &err) : NULL;
    if (src) {
        if (!factory_prepare(f)) return; /* a new page of slots */
        struct cap *dst = task_slot_alloc(dst_task, f->rdx, &err);
        if (!dst) {
        } else if (!cap_is_empty(dst)) err = ABI_E_SLOT_OCCUPIED;
        else if (f->r10 & ~(uint64_t)ABI_R_ALL) err = ABI_E_INVALID_ARG;
        else if (!cap_derive(src, dst, (uint8_t)f->r10)) err = ABI_E_INVALID_ARG;
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
