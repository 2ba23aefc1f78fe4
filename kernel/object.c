/*
 * Object destruction and the reaper (see object.h).
 *
 * Destruction happens in two halves. obj_destroy runs when the original
 * capability goes: it cuts every link through which the object could still
 * be reached or run (threads halted, IPC partners woken with ABI_E_ABORTED,
 * gates unbound). The reaper then frees the memory in bounded steps, so a
 * task with thousands of capabilities and pages never holds the CPU with
 * interrupts off for long.
 */
#include "object.h"
#include "abi/errors.h"
#include "cap_table.h"
#include "factory.h"
#include "gate.h"
#include "irq.h"
#include "sched.h"
#include "task.h"
#include "thread.h"

static struct kobj *reap_head, *reap_tail;

static void reap_enqueue(struct kobj *o)
{
    o->reap_next = NULL;
    if (reap_tail) reap_tail->reap_next = o;
    else reap_head = o;
    reap_tail = o;
}

void obj_destroy(struct kobj *o)
{
    if (o->dead) return;
    o->dead = true;
    switch (o->type) {
    case ABI_OBJ_THREAD:
        thread_destroy_begin((struct thread *)o);
        reap_enqueue(o);
        break;
    case ABI_OBJ_TASK:
        task_destroy_begin((struct task *)o);
        reap_enqueue(o);
        break;
    case ABI_OBJ_GATE:
        gate_destroy((struct gate *)o);
        obj_free(o, sizeof(struct gate));
        break;
    case ABI_OBJ_IRQ:
        irq_destroy((struct irq *)o);
        obj_free(o, sizeof(struct irq));
        break;
    case ABI_OBJ_FACTORY:
        factory_destroy((struct factory *)o);
        break;
    default:
        break; /* boot-time singletons (machine, irq control) are never freed */
    }
}

bool reap_pending(void) { return reap_head != NULL; }

bool reap_step(void)
{
    struct kobj *o = reap_head;
    if (!o) return false;
    struct kobj *next = o->reap_next;
    bool done = false;
    if (o->type == ABI_OBJ_THREAD) done = thread_reap_step((struct thread *)o);
    else if (o->type == ABI_OBJ_TASK) done = task_reap_step((struct task *)o);
    if (done) {
        /* o is freed: only the link saved before the step is used. */
        reap_head = next;
        if (reap_head == NULL) reap_tail = NULL;
    } else if (o->type == ABI_OBJ_THREAD && o->reap_next) {
        /* The running thread cannot be freed now: move it behind the others. */
        reap_head = o->reap_next;
        reap_enqueue(o);
    }
    return reap_head != NULL;
}

/* The part of destruction that grows with what is attached to the object
 * (a task's threads, a thread's gates and blocked senders), done while its
 * original capability still exists, one item per preemption point; false
 * if preempted, and called again to go on. Until the capability goes, the
 * object stays usable: what is attached meanwhile is detached here too.
 * The calling thread, if it belongs to the task, is unbound last, by
 * task_destroy_begin: once halted it would never come back to finish. */
static bool destroy_prepare(struct kobj *o)
{
    if (o->type == ABI_OBJ_TASK) {
        struct task *t = (struct task *)o;
        for (;;) {
            struct thread *th = t->threads == current ? current->task_next : t->threads;
            if (!th) return true;
            thread_unbind(th);
            if (preemption_point()) return false;
        }
    }
    if (o->type == ABI_OBJ_THREAD) {
        struct thread *t = (struct thread *)o;
        while (t->gates || t->senders) {
            if (t->gates) gate_unbind(t->gates);
            else thread_ipc_abort(t->senders, ABI_E_ABORTED);
            if (preemption_point()) return false;
        }
    }
    return true;
}

bool cap_delete_subtree(struct cap *c)
{
    for (;;) {
        struct cap *leaf = cap_find_leaf(c);
        struct kobj *obj = leaf->obj;
        bool original = cap_is_original(leaf);
        if (original && !destroy_prepare(obj)) return false;
        cap_unlink(leaf);
        if (original) obj_destroy(obj);
        if (leaf == c) return true;
        if (preemption_point()) return false;
    }
}
