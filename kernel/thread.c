/* Thread objects: creation, binding to a task, start, halt, teardown. */
#include "thread.h"
#include "arch_trap.h"
#include "cap_table.h"
#include "syscall.h"
#include "abi/errors.h"
#include "console.h"
#include "factory.h"
#include "gate.h"
#include "ipc.h"
#include "irq.h"
#include "kip.h"
#include "kmem.h"
#include "rt.h"
#include "sched.h"
#include "task.h"

#include "lib.h"

struct thread *thread_create(struct factory *f)
{
    struct thread *t = obj_alloc(f, sizeof *t, ABI_OBJ_THREAD);
    if (!t) return NULL;
    t->kstack = factory_alloc_pages(f, KSTACK_ORDER);
    if (!t->kstack) {
        obj_free(&t->obj, sizeof *t);
        return NULL;
    }
    t->state = TS_UNBOUND;
    t->prio = ABI_PRIO_DEFAULT;
    rt_thread_init(t);
    t->mcp = 0;
    t->msg = NULL;
    arch_fpu_init_state(&t->fpu);

    /* First switch: arch_switch pops six callee-saved registers and returns
     * into the trampoline, which leaves through the user frame above. */
    uint64_t top = (uint64_t)t->kstack + KSTACK_SIZE;
    t->frame = (struct trap_frame *)(top - sizeof(struct trap_frame));
    t->frame->cs = GDT_USER_CS;
    t->frame->ss = GDT_USER_DS;
    t->frame->rflags = RFLAGS_IF | RFLAGS_FIXED;
    uint64_t *sp = (uint64_t *)t->frame;
    *--sp = (uint64_t)arch_thread_trampoline;
    for (int i = 0; i < 6; i++) *--sp = 0;
    t->ksp = (uint64_t)sp;
    return t;
}

/* Runs once on a thread's first switch, before it enters user mode. */
void thread_first_run(void)
{
    if (current->task && current->task->is_root && !kip->root_start_tsc) kip->root_start_tsc = arch_rdtsc();
    irqoff_section_end();
}

int64_t thread_bind(struct thread *t, struct task *task, uint64_t utcb_uaddr)
{
    if (t->task) return ABI_E_BUSY;
    if (utcb_uaddr & 0xfff || utcb_uaddr >= USER_ADDR_END) return ABI_E_INVALID_ARG;
    struct arch_pte_ref r = arch_pte_ensure(&task->space, utcb_uaddr, (arch_pt_alloc_fn)factory_alloc_pages,
                                            task->obj.factory);
    if (!r.pte) return ABI_E_NO_MEMORY;
    if (arch_pte_present(*r.pte)) return ABI_E_BUSY;
    struct abi_utcb *u = factory_alloc_pages(t->obj.factory, 0);
    if (!u) return ABI_E_NO_MEMORY;
    /* The UTCB is kernel memory lent to the task: no mapping-database node,
     * so it can be neither mapped on nor unmapped by the user. */
    arch_pte_write(&task->space, utcb_uaddr, r.pte, arch_pte_make(virt_to_phys(u), ABI_MAP_R | ABI_MAP_W));
    t->utcb = u;
    t->utcb_uaddr = utcb_uaddr;
    /* The runtime finds its UTCB through gs (abi/utcb.h). */
    u->user[0] = utcb_uaddr;
    t->gs_base = utcb_uaddr;
    t->msg = u->mr;
    t->watch_pte = NULL; /* it pointed into the previous task's tables */
    t->task = task;
    t->task_prev = NULL;
    t->task_next = task->threads;
    if (task->threads) task->threads->task_prev = t;
    task->threads = t;
    t->state = TS_HALTED;
    return ABI_E_OK;
}

void thread_start(struct thread *t)
{
    if (t->state != TS_HALTED || !t->task || t->task->obj.dead) return;
    /* A real-time thread halted between next_period and its release
     * resumes waiting for that release. */
    if (t->rt_on && !rt_runnable(&t->rt)) t->state = TS_RT_WAIT;
    else sched_ready(t);
}

void thread_halt(struct thread *t)
{
    switch (t->state) {
    case TS_READY:
        sched_unready(t);
        break;
    case TS_SEND:
    case TS_RECV:
        thread_ipc_abort(t, ABI_E_ABORTED);
        sched_unready(t);
        t->exregs_abort = true;
        break;
    default:
        break;
    }
    timeout_cancel(t);
    if (t->state != TS_UNBOUND) t->state = TS_HALTED;
    if (t == current) need_resched = true;
}

/* Threads that depend on t (its senders, those waiting for its reply) must
 * not wait for a partner that will never come. */
static void release_partners(struct thread *t)
{
    while (t->senders) thread_ipc_abort(t->senders, ABI_E_ABORTED);
    if (t->caller && t->caller->state == TS_RECV && t->caller->partner == t)
        thread_ipc_abort(t->caller, ABI_E_ABORTED);
    t->caller = NULL;
    ipc_forget_partner(t);
}

void thread_unbind(struct thread *t)
{
    struct task *task = t->task;
    if (!task) return;
    thread_halt(t);
    release_partners(t);
    struct arch_pte_ref r = arch_pte_lookup(&task->space, t->utcb_uaddr);
    if (r.pte) arch_pte_write(&task->space, t->utcb_uaddr, r.pte, 0);
    factory_free_pages(t->obj.factory, t->utcb, 0);
    t->utcb = NULL;
    t->msg = NULL;
    if (t->task_prev) t->task_prev->task_next = t->task_next;
    else task->threads = t->task_next;
    if (t->task_next) t->task_next->task_prev = t->task_prev;
    t->task = NULL;
    t->state = TS_UNBOUND;
}

void thread_destroy_begin(struct thread *t)
{
    thread_unbind(t);
    sched_forget(t);
    rt_thread_forget(t);
    release_partners(t);
    while (t->gates) gate_unbind(t->gates);
    while (t->irqs) irq_unbind(t->irqs);
    t->state = TS_UNBOUND;
}

bool thread_reap_step(struct thread *t)
{
    /* A thread cannot free the stack it runs on; someone else reaps it. */
    if (t == current) return false;
    factory_free_pages(t->obj.factory, t->kstack, KSTACK_ORDER);
    obj_free(&t->obj, sizeof *t);
    return true;
}

void thread_get_user_state(const struct thread *t, struct abi_exc_state *s)
{
    const struct trap_frame *f = t->frame;
    s->rax = f->rax, s->rbx = f->rbx, s->rcx = f->rcx, s->rdx = f->rdx;
    s->rsi = f->rsi, s->rdi = f->rdi, s->rbp = f->rbp, s->rsp = f->rsp;
    s->r8 = f->r8, s->r9 = f->r9, s->r10 = f->r10, s->r11 = f->r11;
    s->r12 = f->r12, s->r13 = f->r13, s->r14 = f->r14, s->r15 = f->r15;
    s->rip = f->rip, s->rflags = f->rflags;
    s->fs_base = t->fs_base, s->gs_base = t->gs_base;
}

static bool canonical_user(uint64_t a) { return a < (1ull << 47); }

/* The handler may change everything a user program could change itself. */
void thread_set_user_state(struct thread *t, const struct abi_exc_state *s)
{
    struct trap_frame *f = t->frame;
    f->rax = s->rax, f->rbx = s->rbx, f->rcx = s->rcx, f->rdx = s->rdx;
    f->rsi = s->rsi, f->rdi = s->rdi, f->rbp = s->rbp, f->rsp = s->rsp;
    f->r8 = s->r8, f->r9 = s->r9, f->r10 = s->r10, f->r11 = s->r11;
    f->r12 = s->r12, f->r13 = s->r13, f->r14 = s->r14, f->r15 = s->r15;
    if (canonical_user(s->rip)) f->rip = s->rip;
    f->rflags = (s->rflags & RFLAGS_USER_MASK) | RFLAGS_IF | RFLAGS_FIXED;
    if (canonical_user(s->fs_base)) t->fs_base = s->fs_base;
    if (canonical_user(s->gs_base)) t->gs_base = s->gs_base;
    if (t == current) {
        arch_set_fs_base(t->fs_base);
        arch_set_gs_base(t->gs_base);
    }
}

/* --- system calls on threads --- */

struct thread *thread_from_cap(uint64_t sel, uint8_t rights, int64_t *err)
{
    struct cap *c = task_cap(current->task, sel, ABI_OBJ_THREAD, rights, err);
    return c ? (struct thread *)c->obj : NULL;
}

void sys_thread_bind(struct trap_frame *f)
{
    int64_t err = ABI_E_OK;
    struct thread *t = thread_from_cap(f->rdi, ABI_R_CTRL, &err);
    struct task *task = t ? task_from_cap(f->rsi, ABI_R_CTRL, &err) : NULL;
    if (task && !factory_prepare(f)) return; /* the UTCB and its page tables */
    if (task) err = task->obj.dead ? ABI_E_ABORTED : thread_bind(t, task, f->rdx);
    f->rax = (uint64_t)err;
}

void sys_thread_config(struct trap_frame *f)
{
    int64_t err = ABI_E_OK;
    struct thread *t = thread_from_cap(f->rdi, ABI_R_CTRL, &err);
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
    struct thread *t = thread_from_cap(f->rdi, ABI_R_CTRL, &err);
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
    struct thread *t = thread_from_cap(f->rdi, ABI_R_CTRL, &err);
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
