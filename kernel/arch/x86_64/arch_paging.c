/* x86-64 page tables for user address spaces (see arch_paging.h). */
#include "arch_paging.h"
#include "arch_cpu.h"

#include <stddef.h>

#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_U 0x4ull
#define PTE_PS 0x80ull
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

/* ABI_MAP_* values, repeated here because arch code does not include the ABI. */
#define MAP_R 1u
#define MAP_W 2u
#define MAP_X 4u

extern uint64_t boot_pml4[512];

static const struct arch_space *active;

static inline unsigned idx(uint64_t va, unsigned level) { return (va >> (12 + 9 * level)) & 511; }

/* The kernel half's present PML4 entries, found once: a new space copies
 * only these (a loop over all 256 took 10 us under -icount). */
static uint16_t kernel_slots[256];
static unsigned kernel_nslots;

void arch_kernel_space_init(void)
{
    /* The identity map of the first GiB was only for the jump to the higher half. */
    boot_pml4[0] = 0;
    for (unsigned i = 256; i < 512; i++)
        if (boot_pml4[i] & PTE_P) kernel_slots[kernel_nslots++] = (uint16_t)i;
    __asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
}

bool arch_space_init(struct arch_space *s, arch_pt_alloc_fn alloc, void *ctx)
{
    s->pml4 = alloc(ctx, 0);
    if (!s->pml4) return false;
    s->pml4_phys = virt_to_phys(s->pml4);
    for (unsigned i = 0; i < kernel_nslots; i++) s->pml4[kernel_slots[i]] = boot_pml4[kernel_slots[i]];
    return true;
}

static uint64_t *table_of(uint64_t e) { return phys_to_virt(e & PTE_ADDR); }

bool arch_space_destroy_step(struct arch_space *s, uint64_t *cursor, arch_pt_free_fn free, void *ctx)
{
    /* Free page tables deepest first, resuming at *cursor (the indices i,
     * j, k of the next entry to look at in the PML4, PDPT and PD; all
     * before it is gone): up to 32 entries looked at, or one table freed
     * (up to 2.7 us under -icount, with the buddy merges) and what is
     * looked at before, and the PML4 in a step of its own. A table is
     * freed once all its entries have been looked at. */
    unsigned i = (unsigned)(*cursor >> 20), j = (*cursor >> 10) & 1023, k = *cursor & 1023;
    int budget = 32;
    for (; i < 256; i++, j = 0) {
        if (!(s->pml4[i] & PTE_P)) {
            if (--budget <= 0) goto pause;
            continue;
        }
        uint64_t *pdpt = table_of(s->pml4[i]);
        for (; j < 512; j++, k = 0) {
            if (--budget <= 0) goto pause;
            if (!(pdpt[j] & PTE_P)) continue;
            uint64_t *pd = table_of(pdpt[j]);
            for (; k < 512; k++) {
                if (--budget <= 0) goto pause;
                if (pd[k] & PTE_P) free(ctx, table_of(pd[k]), 1), pd[k] = 0, budget = 0;
            }
            free(ctx, pd, 0);
            pdpt[j] = 0, budget = 0;
        }
        free(ctx, pdpt, 0);
        s->pml4[i] = 0, budget = 0;
    }
    if (budget < 32) goto pause;
    if (active == s) {
        active = NULL;
        __asm__ volatile("mov %0, %%cr3" ::"r"(virt_to_phys(boot_pml4)) : "memory");
    }
    free(ctx, s->pml4, 0);
    s->pml4 = NULL;
    return true;
pause:
    *cursor = (uint64_t)i << 20 | j << 10 | k;
    return false;
}

void arch_space_activate(const struct arch_space *s)
{
    if (active == s) return;
    active = s;
    __asm__ volatile("mov %0, %%cr3" ::"r"(s->pml4_phys) : "memory");
}


struct arch_pte_ref arch_pte_lookup(const struct arch_space *s, uint64_t va)
{
    struct arch_pte_ref r = {NULL, NULL};
    uint64_t *t = s->pml4;
    for (unsigned level = 3; level > 0; level--) {
        uint64_t e = t[idx(va, level)];
        if (!(e & PTE_P)) return r;
        t = table_of(e);
    }
    r.pte = &t[idx(va, 0)];
    r.shadow = (void **)(t + 512) + idx(va, 0);
    return r;
}

struct arch_pte_ref arch_pte_ensure(struct arch_space *s, uint64_t va, arch_pt_alloc_fn alloc, void *ctx)
{
    struct arch_pte_ref r = {NULL, NULL};
    uint64_t *t = s->pml4;
    for (unsigned level = 3; level > 0; level--) {
        uint64_t *e = &t[idx(va, level)];
        if (!(*e & PTE_P)) {
            /* Leaf tables come with their shadow page: an order-1 block. */
            void *n = alloc(ctx, level == 1 ? 1 : 0);
            if (!n) return r;
            *e = virt_to_phys(n) | PTE_P | PTE_W | PTE_U;
        }
        t = table_of(*e);
    }
    r.pte = &t[idx(va, 0)];
    r.shadow = (void **)(t + 512) + idx(va, 0);
    return r;
}

uint64_t arch_pte_make(uint64_t phys, unsigned rights)
{
    uint64_t e = (phys & PTE_ADDR) | PTE_P | PTE_U;
    if (rights & MAP_W) e |= PTE_W;
    if (!(rights & MAP_X) && arch_features.nx) e |= PTE_NX;
    return e;
}

unsigned arch_pte_rights(uint64_t pte)
{
    if (!(pte & PTE_P)) return 0;
    unsigned r = MAP_R;
    if (pte & PTE_W) r |= MAP_W;
    if (!(pte & PTE_NX)) r |= MAP_X;
    return r;
}

void arch_pte_write(const struct arch_space *s, uint64_t va, uint64_t *pte, uint64_t value)
{
    uint64_t old = *pte;
    *pte = value;
    /* Other spaces have no cached translations: without PCIDs every CR3 load flushes them. */
    if (s == active && (old & PTE_P)) __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
}

struct arch_scan arch_next_table_va(const struct arch_space *s, uint64_t from, unsigned budget)
{
    /* Scan each level's entries in place instead of walking down from the
     * root for every skipped region, and stop after `budget` entry checks
     * so that a caller with preemption points never scans for long. */
    from &= ~0xfffull;
    if (from >= (1ull << 47)) return (struct arch_scan){~0ull, false};
    unsigned i4 = idx(from, 3), i3 = idx(from, 2), i2 = idx(from, 1);
    for (; i4 < 256; i4++, i3 = 0, i2 = 0) {
        if (!budget--) goto out_of_budget;
        if (!(s->pml4[i4] & PTE_P)) continue;
        const uint64_t *pdpt = table_of(s->pml4[i4]);
        for (; i3 < 512; i3++, i2 = 0) {
            if (!budget--) goto out_of_budget;
            if (!(pdpt[i3] & PTE_P)) continue;
            const uint64_t *pd = table_of(pdpt[i3]);
            for (; i2 < 512; i2++) {
                if (!budget--) goto out_of_budget;
                if (!(pd[i2] & PTE_P)) continue;
                uint64_t va = ((uint64_t)i4 << 39) | ((uint64_t)i3 << 30) | ((uint64_t)i2 << 21);
                return (struct arch_scan){va > from ? va : from, true};
            }
        }
    }
    return (struct arch_scan){~0ull, false};
out_of_budget:;
    uint64_t at = ((uint64_t)i4 << 39) | ((uint64_t)i3 << 30) | ((uint64_t)i2 << 21);
    return (struct arch_scan){at > from ? at : from, false};
}
