/* Exceptions and interrupts (see fault.h). */
#include "fault.h"
#include "abi/errors.h"
#include "abi/exception.h"
#include "arch_apic.h"
#include "arch_cpu.h"
#include "arch_trap.h"
#include "cap_table.h"
#include "console.h"
#include "gate.h"
#include "ipc.h"
#include "irq.h"
#include "kmem.h"
#include "memory.h"
#include "sched.h"
#include "stats.h"
#include "syscall.h"
#include "task.h"
#include "thread.h"

static const char *exc_name(uint64_t v)
{
    switch (v) {
    case ABI_EXC_DE: return "divide error";
    case ABI_EXC_BP: return "breakpoint";
    case ABI_EXC_UD: return "invalid opcode";
    case ABI_EXC_GP: return "general protection fault";
    case ABI_EXC_PF: return "page fault";
    case ABI_EXC_SYSCALL: return "unknown system call";
    default: return "exception";
    }
}

/* The thread a fault message goes to: a gate (with its label) or a thread. */
static struct thread *handler_of(struct thread *t, uint64_t slot, uint64_t *label)
{
    if (!slot) return NULL;
    int64_t err;
    struct cap *c = task_cap(t->task, slot, ABI_OBJ_NONE, ABI_R_SEND, &err);
    if (!c) return NULL;
    struct thread *h = NULL;
    *label = 0;
    if (c->type == ABI_OBJ_GATE) {
        h = ((struct gate *)c->obj)->thread;
        *label = ((struct gate *)c->obj)->label;
    } else if (c->type == ABI_OBJ_THREAD) {
        h = (struct thread *)c->obj;
    }
    if (!h || h == t || !h->task) return NULL;
    return h;
}

void fault_exception(struct thread *t, uint64_t vector, uint64_t error, uint64_t addr)
{
    uint64_t label;
    struct thread *h = handler_of(t, t->exc_slot, &label);
    if (h) {
        struct abi_exc_state *s = (struct abi_exc_state *)t->kmsg;
        thread_get_user_state(t, s);
        s->vector = vector;
        s->error_code = error;
        s->fault_addr = addr;
        int64_t err = ipc_kernel_call(t, h, label, ABI_TAG(ABI_PROTO_EXCEPTION, ABI_EXC_WORDS, 0));
        if (err == ABI_E_OK) {
            if (ABI_TAG_WORDS(t->rcv_tag) == ABI_EXC_WORDS) thread_set_user_state(t, s);
            return;
        }
        if (t->exregs_abort) return;
        kprintf("[kernel] %s: exception handler IPC failed (error %ld)\n", t->task->name, err);
    }
    kprintf("[kernel] %s: unhandled %s (vector %lu) at ip 0x%lx, address 0x%lx, error 0x%lx: thread halted\n",
            t->task->name, exc_name(vector), vector, t->frame->rip, addr, error);
    if (t->task->is_root) {
        kprintf("[kernel] the root task cannot continue; stopping the machine\n");
        console_flush();
        arch_machine_exit(3);
    }
    thread_halt(t);
}

static void page_fault(struct thread *t, struct trap_frame *f)
{
    uint64_t addr = arch_read_cr2();
    if (t->task->is_root && mem_sigma0_fault(t->task, addr)) return;
    uint64_t label;
    struct thread *pager = handler_of(t, t->pager_slot, &label);
    if (pager) {
        t->kmsg[0] = addr;
        t->kmsg[1] = f->rip;
        t->kmsg[2] = f->error;
        int64_t err = ipc_kernel_call(t, pager, label, ABI_TAG(ABI_PROTO_PAGE_FAULT, 3, 0));
        if (err == ABI_E_OK || t->exregs_abort) return;
        kprintf("[kernel] %s: pager IPC failed (error %ld)\n", t->task->name, err);
    }
    fault_exception(t, ABI_EXC_PF, f->error, addr);
}

void trap_entry(struct trap_frame *f)
{
    bool user = trap_from_user(f);
    /* From the kernel, an interrupt comes in an interrupt window, where no
     * section is open. */
    irqoff_section_begin();
    uint64_t v = f->vector;
    if (v == VEC_TIMER) {
        arch_lapic_eoi();
        timer_interrupt();
    } else if (v >= VEC_GSI_BASE && v < VEC_GSI_BASE + 24) {
        irq_fire((unsigned)(v - VEC_GSI_BASE));
        arch_lapic_eoi();
    } else if (v == VEC_SPURIOUS || (v >= VEC_PIC_BASE && v < VEC_PIC_BASE + 16)) {
        /* spurious: nothing to acknowledge */
    } else if (v < 32) {
        if (!user)
            panic("exception %lu in the kernel at ip 0x%lx, address 0x%lx, error 0x%lx", v, f->rip,
                  arch_read_cr2(), f->error);
        if (v == ABI_EXC_PF) page_fault(current, f);
        else fault_exception(current, v, f->error, 0);
    }
    /* The idle thread switches to what the interrupt woke right here, not
     * after a return into its loop. Other kernel code is interrupted only
     * at its preemption points, which look at need_resched themselves. */
    if (user || sched_idle()) kernel_exit();
}

_Noreturn void idle_loop(void)
{
    irqoff_section_begin(); /* boot itself is not a section worth reporting */
    console_buffer(true);
    for (;;) {
        while (console_pending() && !need_resched) {
            console_drain(16);
            preemption_point();
        }
        while (reap_pending() && !need_resched) {
            reap_step();
            preemption_point();
        }
        /* Zero ahead what allocations take (kmem_prezero_step), so that
         * system calls find it ready rather than doing it themselves. */
        while (!need_resched && kmem_prezero_step()) preemption_point();
        if (need_resched) {
            schedule();
        } else {
            timer_commit();
            irqoff_section_end();
            arch_wait_for_interrupt();
            irqoff_section_begin();
        }
    }
}
