/* Task objects: creation, capability lookup, teardown. */
#include "task.h"
#include "cap_table.h"
#include "abi/errors.h"
#include "abi/kip.h"
#include "factory.h"
#include "kip.h"
#include "kmem.h"
#include "lib.h"
#include "arch_cpu.h"
#include "memory.h"
#include "sched.h"
#include "thread.h"

static void *pt_alloc(void *ctx, unsigned order) { return factory_alloc_pages(ctx, order); }
static void pt_free(void *ctx, void *p, unsigned order) { factory_free_pages(ctx, p, order); }

struct task *task_create(struct factory *f, uint32_t slots)
{
    if (slots == 0 || slots > ABI_MAX_CAP_SLOTS) return NULL;
    struct task *t = obj_alloc(f, sizeof *t, ABI_OBJ_TASK);
    if (!t) return NULL;
    struct cap **storage = factory_alloc(f, cap_table_pages(slots) * sizeof(struct cap *));
    if (!storage) goto fail;
    cap_table_init(&t->caps, storage, slots);
    if (!arch_space_init(&t->space, pt_alloc, f)) goto fail;
    if (!mem_map_kernel_page(t, ABI_KIP_ADDR, kip_phys(), ABI_MAP_R)) goto fail;
    task_set_name(t, "task");
    return t;
fail:
    if (t->space.pml4)
        for (uint64_t cursor = 0; !arch_space_destroy_step(&t->space, &cursor, pt_free, f);) {
        }
    if (storage) factory_free(f, storage, cap_table_pages(slots) * sizeof(struct cap *));
    obj_free(&t->obj, sizeof *t);
    return NULL;
}

int64_t task_grant_ports(struct task *t, unsigned first, unsigned count)
{
    if (count == 0 || first + count > 65536) return ABI_E_INVALID_ARG;
    if (!t->io_bitmap) {
        t->io_bitmap = factory_alloc(t->obj.factory, ARCH_IO_BITMAP_BYTES);
        if (!t->io_bitmap) return ABI_E_NO_MEMORY;
        memset(t->io_bitmap, 0xff, ARCH_IO_BITMAP_BYTES);
    }
    for (unsigned p = first; p < first + count; p++) t->io_bitmap[p / 8] &= (uint8_t)~(1u << (p % 8));
    /* The TSS copy is stale now; reload at once if the task is running. */
    arch_forget_io_bitmap(t->io_bitmap);
    if (current->task == t) arch_set_io_bitmap(t->io_bitmap);
    return ABI_E_OK;
}

void task_set_name(struct task *t, const char *name)
{
    unsigned i = 0;
    for (; name[i] && i < sizeof t->name - 1; i++) t->name[i] = name[i];
    t->name[i] = 0;
}

static void *cap_page_alloc(void *factory) { return factory_alloc(factory, CAP_PAGE_BYTES); }

struct cap *task_slot_alloc(struct task *t, uint64_t sel, int64_t *err)
{
    if (!cap_sel_valid(&t->caps, sel)) {
        *err = ABI_E_INVALID_CAP;
        return NULL;
    }
    struct cap *c = cap_slot_alloc(&t->caps, sel, cap_page_alloc, t->obj.factory);
    if (!c) *err = ABI_E_NO_MEMORY;
    return c;
}

struct cap *task_cap(struct task *t, uint64_t sel, uint8_t type, uint8_t rights, int64_t *err)
{
    struct cap *c = cap_lookup(&t->caps, sel);
    if (!c) {
        *err = ABI_E_INVALID_CAP;
        return NULL;
    }
    if (type != ABI_OBJ_NONE && c->type != type) {
        *err = ABI_E_WRONG_TYPE;
        return NULL;
    }
    if ((c->rights & rights) != rights) {
        *err = ABI_E_NO_RIGHTS;
        return NULL;
    }
    return c;
}

void task_destroy_begin(struct task *t)
{
    /* Stop its threads now; their objects live on with their own originals. */
    while (t->threads) thread_unbind(t->threads);
    t->reap_slot = 1;
    t->reap_va = 0;
}

/* Delete the capability in one slot, leaf first; false if preempted. */
bool cap_delete_subtree(struct cap *c);

bool task_reap_step(struct task *t)
{
    struct factory *f = t->obj.factory;
    if (t->reap_slot < t->caps.size) {
        /* Up to 16 slots a step, stopping after a capability deleted or a
         * page of slots freed (a page is freed as soon as the reaper has
         * emptied it; an absent page is skipped whole). */
        for (unsigned n = 0; n < 16 && t->reap_slot < t->caps.size; n++) {
            struct cap **page = &t->caps.pages[t->reap_slot / CAP_PAGE_SLOTS];
            struct cap *c = *page ? cap_slot(&t->caps, t->reap_slot) : NULL;
            bool work = c && c->obj;
            if (work && !cap_delete_subtree(c)) return false;
            t->reap_slot++;
            if (t->reap_slot % CAP_PAGE_SLOTS == 0 || t->reap_slot == t->caps.size || !*page) {
                if (*page) factory_free(f, *page, CAP_PAGE_BYTES), work = true;
                *page = NULL;
                t->reap_slot = (t->reap_slot + CAP_PAGE_SLOTS - 1) / CAP_PAGE_SLOTS * CAP_PAGE_SLOTS;
            }
            if (work) break;
        }
        return false;
    }
    /* Then the mappings, then the page tables, each phase in steps of
     * its own; reap_va ~0 marks the mappings gone. */
    if (t->space.pml4) {
        if (t->reap_va != ~0ull) {
            if (mem_reap_step(t)) t->reap_va = ~0ull;
        } else {
            arch_space_destroy_step(&t->space, &t->reap_pt, pt_free, f);
        }
        return false;
    }
    /* The last blocks, one per step: a free with its buddy merges takes up
     * to 2.7 us under -icount. */
    if (t->io_bitmap) {
        arch_forget_io_bitmap(t->io_bitmap);
        factory_free(f, t->io_bitmap, ARCH_IO_BITMAP_BYTES);
        t->io_bitmap = NULL;
        return false;
    }
    factory_free(f, t->caps.pages, cap_table_pages(t->caps.size) * sizeof(struct cap *));
    obj_free(&t->obj, sizeof *t);
    return true;
}

struct task *task_from_cap(uint64_t sel, uint8_t rights, int64_t *err)
{
    struct cap *c = task_cap(current->task, sel, ABI_OBJ_TASK, rights, err);
    return c ? (struct task *)c->obj : NULL;
}

/* Both directions of user-memory copies walk the page tables the same way
 * (no faults in the kernel: a missing page is an error, not an exception);
 * writing needs the page writable as well. */
static bool user_copy(struct task *task, uint64_t uaddr, uint8_t *kbuf, size_t n, bool to_user)
{
    while (n) {
        if (uaddr >= USER_ADDR_END) return false;
        struct arch_pte_ref r = arch_pte_lookup(&task->space, uaddr);
        if (!r.pte || !arch_pte_present(*r.pte) || (to_user && !(arch_pte_rights(*r.pte) & ABI_MAP_W))) return false;
        size_t off = uaddr & 0xfff, chunk = 4096 - off;
        if (chunk > n) chunk = n;
        uint8_t *page = (uint8_t *)phys_to_virt(arch_pte_phys(*r.pte)) + off;
        if (to_user) memcpy(page, kbuf, chunk);
        else memcpy(kbuf, page, chunk);
        kbuf += chunk;
        uaddr += chunk;
        n -= chunk;
    }
    return true;
}

bool task_copy_from_user(struct task *task, uint64_t uaddr, void *dst, size_t n)
{
    return user_copy(task, uaddr, dst, n, false);
}

bool task_copy_to_user(struct task *task, uint64_t uaddr, const void *src, size_t n)
{
    return user_copy(task, uaddr, (uint8_t *)src, n, true);
}
