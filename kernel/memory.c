/* Map, grant, unmap over the mapping database (see memory.h and mapdb.h). */
#include "memory.h"
#include "abi/errors.h"
#include "abi/ipc.h"
#include "abi/kip.h"
#include "arch_paging.h"
#include "console.h"
#include "factory.h"
#include "kmem.h"
#include "mapdb.h"
#include "sched.h"
#include "task.h"
#include "thread.h"

static struct mapdb db;
static uint8_t *root_owned; /* bitmap: frames the root task may take */
static uint64_t frames;

void memory_init(uint64_t phys_end)
{
    frames = phys_end >> 12;
    struct mapping **roots = kmalloc(frames * sizeof *roots);
    root_owned = kmalloc((frames + 7) / 8);
    if (!roots || !root_owned) panic("no memory for the mapping database (%lu frames)", frames);
    mapdb_init(&db, roots, frames);
}

void memory_give_to_root(uint64_t base, uint64_t size)
{
    for (uint64_t p = (base + 4095) >> 12; p < (base + size) >> 12 && p < frames; p++)
        root_owned[p / 8] |= (uint8_t)(1u << (p % 8));
}

static bool is_root_owned(uint64_t pfn) { return pfn < frames && (root_owned[pfn / 8] >> (pfn % 8)) & 1; }

static void *pt_alloc(void *ctx, unsigned order) { return factory_alloc_pages(ctx, order); }

static struct mapping *node_at(struct task *t, uint64_t va)
{
    struct arch_pte_ref r = arch_pte_lookup(&t->space, va);
    if (!r.pte || !arch_pte_present(*r.pte)) return NULL;
    return *r.shadow;
}

/* Root's pages in its physical window come into existence on first use. */
static struct mapping *sigma0_node(struct task *root, uint64_t va, int64_t *err)
{
    *err = ABI_E_NOT_MAPPED;
    if (va < ABI_PHYS_WINDOW) return NULL;
    uint64_t pfn = (va - ABI_PHYS_WINDOW) >> 12;
    if (!is_root_owned(pfn)) return NULL;
    struct arch_pte_ref r = arch_pte_ensure(&root->space, va, pt_alloc, root->obj.factory);
    *err = ABI_E_NO_MEMORY;
    if (!r.pte) return NULL;
    struct mapping *m = factory_alloc(root->obj.factory, sizeof *m);
    if (!m) return NULL;
    if (!mapdb_insert_root(&db, m, pfn, root, va & ~0xfffull, ABI_MAP_RWX)) {
        /* Already held elsewhere (given away by grant): not root's to take again. */
        factory_free(root->obj.factory, m, sizeof *m);
        *err = ABI_E_NOT_MAPPED;
        return NULL;
    }
    *r.shadow = m;
    arch_pte_write(&root->space, va, r.pte, arch_pte_make(pfn << 12, ABI_MAP_RWX));
    *err = ABI_E_OK;
    return m;
}

bool mem_sigma0_fault(struct task *root, uint64_t va)
{
    int64_t err;
    if (node_at(root, va)) return false; /* present: a rights fault, not ours to fix */
    /* Its tables and node come zeroed ahead; preempted, the access just
     * faults again and carries on from there. */
    while (kmem_prezero_step())
        if (preemption_point()) return true;
    return sigma0_node(root, va, &err) != NULL;
}

bool mem_map_kernel_page(struct task *t, uint64_t va, uint64_t phys, unsigned rights)
{
    struct arch_pte_ref r = arch_pte_ensure(&t->space, va, pt_alloc, t->obj.factory);
    if (!r.pte) return false;
    arch_pte_write(&t->space, va, r.pte, arch_pte_make(phys, rights));
    return true;
}

int64_t mem_map(struct task *src, uint64_t src_va, struct task *dst, uint64_t dst_va, unsigned rights, bool grant)
{
    int64_t err = ABI_E_NOT_MAPPED;
    if (src_va >= USER_ADDR_END || dst_va >= USER_ADDR_END) return ABI_E_INVALID_ARG;
    /* Every mapping can be read: unmap relies on it (removing read removes all). */
    if (!(rights & ABI_MAP_R)) return ABI_E_INVALID_ARG;
    src_va &= ~0xfffull;
    dst_va &= ~0xfffull;
    if (src == dst && src_va == dst_va) return ABI_E_INVALID_ARG;
    struct mapping *m = node_at(src, src_va);
    if (!m && src->is_root) m = sigma0_node(src, src_va, &err);
    if (!m) return err;
    rights &= m->rights;
    if (!rights) return ABI_E_NOT_MAPPED;
    if (!grant && m->depth >= MAP_MAX_DEPTH) return ABI_E_INVALID_ARG;

    struct arch_pte_ref r = arch_pte_ensure(&dst->space, dst_va, pt_alloc, dst->obj.factory);
    if (!r.pte) return ABI_E_NO_MEMORY;
    if (arch_pte_present(*r.pte)) {
        struct mapping *old = *r.shadow;
        if (!old) return ABI_E_BUSY; /* kernel page (UTCB, KIP) */
        if (old->parent == m && old->pfn == m->pfn && !grant) {
            /* Re-map of the same page: only upgrade within the parent's rights. */
            old->rights |= rights;
            arch_pte_write(&dst->space, dst_va, r.pte, arch_pte_make(old->pfn << 12, old->rights));
            return ABI_E_OK;
        }
        if (old->child) return ABI_E_BUSY; /* passed on from there: unmap it first */
        mapdb_unlink(&db, old);
        factory_free(((struct task *)old->space)->obj.factory, old, sizeof *old);
        *r.shadow = NULL;
        arch_pte_write(&dst->space, dst_va, r.pte, 0);
    }

    if (grant) {
        if (rights != m->rights && m->child) return ABI_E_BUSY;
        /* A node is charged to the factory of the task that holds it (strip and
         * the replacement above free it there): its charge moves with it. */
        if (src->obj.factory != dst->obj.factory) {
            if (!factory_charge(dst->obj.factory, kmem_charge(sizeof *m))) return ABI_E_NO_MEMORY;
            factory_uncharge(src->obj.factory, kmem_charge(sizeof *m));
        }
        struct arch_pte_ref s = arch_pte_lookup(&src->space, src_va);
        *s.shadow = NULL;
        arch_pte_write(&src->space, src_va, s.pte, 0);
        mapdb_move(m, dst, dst_va);
        m->rights = rights;
        *r.shadow = m;
        arch_pte_write(&dst->space, dst_va, r.pte, arch_pte_make(m->pfn << 12, rights));
        return ABI_E_OK;
    }
    struct mapping *n = factory_alloc(dst->obj.factory, sizeof *n);
    if (!n) return ABI_E_NO_MEMORY;
    mapdb_insert_child(m, n, dst, dst_va, rights);
    *r.shadow = n;
    arch_pte_write(&dst->space, dst_va, r.pte, arch_pte_make(m->pfn << 12, n->rights));
    return ABI_E_OK;
}

/* Apply the removal of `rights` to one node: page table, then tree. */
static void strip(struct mapping *n, unsigned rights)
{
    struct task *t = n->space;
    struct arch_pte_ref r = arch_pte_lookup(&t->space, n->vaddr);
    n->rights &= ~rights;
    /* Without read there is no x86 mapping at all. */
    if (!(n->rights & ABI_MAP_R)) n->rights = 0;
    if (n->rights) {
        arch_pte_write(&t->space, n->vaddr, r.pte, arch_pte_make(n->pfn << 12, n->rights));
        return;
    }
    *r.shadow = NULL;
    arch_pte_write(&t->space, n->vaddr, r.pte, 0);
    mapdb_unlink(&db, n);
    factory_free(t->obj.factory, n, sizeof *n);
}

int64_t mem_unmap_page(struct task *t, uint64_t va, unsigned rights, bool self)
{
    struct mapping *top = node_at(t, va);
    if (!top) return ABI_E_OK;
    /* Read covers everything: a page without read is no page. */
    if (rights & ABI_MAP_R) rights = ABI_MAP_RWX;
    for (;;) {
        struct mapping *n = mapdb_find_leaf(top, rights, self);
        if (!n) return ABI_E_OK;
        bool last = n == top;
        strip(n, rights);
        if (last) return ABI_E_OK;
        if (preemption_point()) return ABI_E_BUSY;
    }
}

/* Preemption stops a long operation early; the user thread re-executes the
 * system call with the arguments advanced past the work already done. */
static void restart_syscall(struct trap_frame *f) { f->rip -= 2; }

void sys_task_map(struct trap_frame *f)
{
    int64_t err;
    struct thread *self = current;
    struct cap *c = task_cap(self->task, f->rdi, ABI_OBJ_TASK, ABI_R_CTRL, &err);
    uint64_t src = f->rsi, dst = f->rdx, pages = f->r10;
    unsigned rights = (unsigned)f->r8;
    if (c && ((src | dst) & 0xfff || (rights & ~ABI_MAP_RWX) || pages > (USER_ADDR_END >> 12) ||
              src >= USER_ADDR_END || dst >= USER_ADDR_END || src + pages * 4096 > USER_ADDR_END ||
              dst + pages * 4096 > USER_ADDR_END))
        err = ABI_E_INVALID_ARG, c = NULL;
    if (!c) {
        f->rax = (uint64_t)err;
        return;
    }
    struct task *target = (struct task *)c->obj;
    err = ABI_E_OK;
    while (pages) {
        /* Zero the tables and node pages mem_map may need ahead, a
         * little per step (see kmem_prezero_step). */
        if (kmem_prezero_step()) {
            if (preemption_point()) {
                f->rsi = src, f->rdx = dst, f->r10 = pages;
                restart_syscall(f);
                return;
            }
            continue;
        }
        /* A root page used for the first time gets its node (and the
         * root's tables) in a step of its own: with the destination's side
         * in the same step, it was one of the longest interrupts-off
         * sections under load (5.6 us, 7.4 with fresh tables on both sides). */
        if (self->task->is_root && mem_sigma0_fault(self->task, src) && preemption_point()) {
            f->rsi = src, f->rdx = dst, f->r10 = pages;
            restart_syscall(f);
            return;
        }
        int64_t e = mem_map(self->task, src, target, dst, rights, false);
        if (e != ABI_E_OK && e != ABI_E_NOT_MAPPED) {
            err = e;
            break;
        }
        src += 4096, dst += 4096, pages--;
        if (pages && preemption_point()) {
            f->rsi = src, f->rdx = dst, f->r10 = pages;
            restart_syscall(f);
            return;
        }
    }
    f->rax = (uint64_t)err;
    f->rdx = f->r10 - pages; /* pages done in this last run */
}

void sys_unmap(struct trap_frame *f)
{
    struct thread *self = current;
    uint64_t va = f->rdi, pages = f->rsi, flags = f->rdx;
    if ((va & 0xfff) || (flags & ~(uint64_t)(ABI_MAP_RWX | ABI_UNMAP_SELF)) || pages > (USER_ADDR_END >> 12) ||
        va >= USER_ADDR_END || va + pages * 4096 > USER_ADDR_END) {
        f->rax = ABI_E_INVALID_ARG;
        return;
    }
    unsigned rights = flags & ABI_MAP_RWX;
    bool self_too = flags & ABI_UNMAP_SELF;
    while (pages) {
        /* Skip unpopulated regions in one step instead of page by page. */
        struct arch_scan sc = arch_next_table_va(&self->task->space, va, 256);
        if (sc.va >= va + pages * 4096) break;
        if (sc.va > va) {
            pages -= (sc.va - va) >> 12;
            va = sc.va;
        }
        if (!sc.found) {
            if (preemption_point()) {
                f->rdi = va, f->rsi = pages;
                restart_syscall(f);
                return;
            }
            continue;
        }
        if (mem_unmap_page(self->task, va, rights, self_too) == ABI_E_BUSY) {
            f->rdi = va, f->rsi = pages;
            restart_syscall(f);
            return;
        }
        va += 4096, pages--;
        if (pages && preemption_point()) {
            f->rdi = va, f->rsi = pages;
            restart_syscall(f);
            return;
        }
    }
    f->rax = ABI_E_OK;
}

bool mem_install_root_page(struct task *root, uint64_t va, uint64_t phys, unsigned rights)
{
    struct arch_pte_ref r = arch_pte_ensure(&root->space, va, pt_alloc, root->obj.factory);
    if (r.pte && arch_pte_present(*r.pte) && *r.shadow) {
        /* Two ELF segments share the page: it gets the rights of both. */
        struct mapping *old = *r.shadow;
        old->rights |= rights;
        arch_pte_write(&root->space, va, r.pte, arch_pte_make(old->pfn << 12, old->rights));
        return true;
    }
    struct mapping *m = factory_alloc(root->obj.factory, sizeof *m);
    if (!r.pte || !m || !mapdb_insert_root(&db, m, phys >> 12, root, va, rights)) return false;
    *r.shadow = m;
    arch_pte_write(&root->space, va, r.pte, arch_pte_make(phys, rights));
    return true;
}

bool mem_reap_step(struct task *t)
{
    struct arch_scan sc = arch_next_table_va(&t->space, t->reap_va, 32);
    if (sc.va == ~0ull) return true;
    if (!sc.found) {
        t->reap_va = sc.va;
        return false;
    }
    /* A bounded slice of one leaf table per step, up to the first present
     * page: each may carry a subtree of mappings in other tasks, and the
     * reaper must reach a preemption point often. Entries of one table are
     * consecutive, so one walk serves the whole slice. */
    uint64_t va = sc.va, end = (va | 0x1fffff) + 1;
    struct arch_pte_ref r = arch_pte_lookup(&t->space, va);
    unsigned present = 0, scanned = 0;
    for (; va < end && !present && scanned < 16; va += 4096, r.pte++, r.shadow++, scanned++) {
        if (!arch_pte_present(*r.pte)) continue;
        present++;
        if (*r.shadow) {
            if (mem_unmap_page(t, va, ABI_MAP_RWX, true) == ABI_E_BUSY) {
                t->reap_va = va;
                return false;
            }
        } else {
            arch_pte_write(&t->space, va, r.pte, 0); /* kernel page lent to the task */
        }
    }
    t->reap_va = va;
    return va >= USER_ADDR_END;
}
