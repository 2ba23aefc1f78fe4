/* Factory objects and kernel-memory quotas (see factory.h). */
#include "factory.h"
#include "abi/errors.h"
#include "arch_trap.h"
#include "cap_table.h"
#include "gate.h"
#include "sched.h"
#include "syscall.h"
#include "task.h"
#include "thread.h"
#include "kmem.h"

struct factory *factory_create_root(uint64_t quota)
{
    struct factory *f = kmalloc(sizeof *f);
    if (!f) return NULL;
    f->obj.type = ABI_OBJ_FACTORY;
    f->quota = quota;
    return f;
}

bool factory_charge(struct factory *f, uint64_t bytes)
{
    if (!f || f->used + bytes > f->quota || f->used + bytes < f->used) return false;
    f->used += bytes;
    return true;
}

void factory_uncharge(struct factory *f, uint64_t bytes)
{
    if (f) f->used -= bytes < f->used ? bytes : f->used;
}

void *factory_alloc(struct factory *f, size_t size)
{
    size_t c = kmem_charge(size);
    if (!factory_charge(f, c)) return NULL;
    void *p = kmalloc(size);
    if (!p) factory_uncharge(f, c);
    return p;
}

void factory_free(struct factory *f, void *p, size_t size)
{
    if (!p) return;
    kfree(p, size);
    factory_uncharge(f, kmem_charge(size));
}

void *factory_alloc_pages(struct factory *f, unsigned order)
{
    uint64_t c = (uint64_t)KMEM_PAGE_SIZE << order;
    if (!factory_charge(f, c)) return NULL;
    void *p = kmem_alloc_pages(order);
    if (!p) factory_uncharge(f, c);
    return p;
}

void factory_free_pages(struct factory *f, void *p, unsigned order)
{
    if (!p) return;
    kmem_free_pages(p, order);
    factory_uncharge(f, (uint64_t)KMEM_PAGE_SIZE << order);
}

void *obj_alloc(struct factory *f, size_t size, uint8_t type)
{
    struct kobj *o = factory_alloc(f, size);
    if (!o) return NULL;
    o->type = type;
    o->factory = f;
    o->charge = (uint32_t)kmem_charge(size);
    f->objects++;
    return o;
}

/* A dead factory's own memory stays until the last object charged to it is
 * gone; then its quota returns to the parent, which may in turn be released. */
static void factory_release(struct factory *f)
{
    if (!f->obj.dead || f->objects) return;
    factory_uncharge(f->parent, f->quota);
    if (f->obj.factory)
        obj_free(&f->obj, sizeof *f);
}

void obj_free(struct kobj *o, size_t size)
{
    struct factory *f = o->factory;
    kfree(o, size);
    factory_uncharge(f, kmem_charge(size));
    if (f) {
        f->objects--;
        factory_release(f);
    }
}

void factory_destroy(struct factory *f)
{
    f->obj.dead = true;
    factory_release(f);
}

bool factory_prepare(struct trap_frame *f)
{
    while (kmem_prezero_step())
        if (preemption_point()) {
            f->rip -= 2;
            return false;
        }
    return true;
}

/* --- system call --- */

void sys_factory_create(struct trap_frame *f)
{
    int64_t err = ABI_E_OK;
    struct task *self = current->task;
    struct cap *fc = task_cap(self, f->rdi, ABI_OBJ_FACTORY, ABI_R_CTRL, &err);
    uint64_t type = f->rsi, a0 = f->r10, a1 = f->r8;
    struct thread *bind_to = NULL;
    if (!fc) goto out;
    if (!factory_prepare(f)) return;
    struct cap *dst = task_slot_alloc(self, f->rdx, &err);
    if (!dst) goto out;
    if (!cap_is_empty(dst)) {
        err = ABI_E_SLOT_OCCUPIED;
        goto out;
    }
    if (type == ABI_OBJ_GATE && !(bind_to = thread_from_cap(a0, ABI_R_CTRL, &err))) goto out;
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
    case ABI_OBJ_THREAD: {
        struct thread *t = thread_create(fac);
        /* A new thread never outranks what its creator could run at or
         * grant: otherwise creating threads would escape the mcp limit. */
        if (t) {
            uint8_t limit = current->mcp > current->prio ? current->mcp : current->prio;
            t->prio = limit < ABI_PRIO_DEFAULT ? limit : ABI_PRIO_DEFAULT;
        }
        o = (struct kobj *)t;
        break;
    }
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
