/*
 * User address spaces as x86-64 4-level page tables.
 *
 * Each leaf page table is allocated together with a shadow page of the same
 * size that holds, per entry, a pointer for the generic kernel (the mapping
 * database node of that page). This makes "which mapping is at (space, va)"
 * an O(1) walk without any search. The upper half (kernel) is shared by all
 * spaces.
 */
#ifndef ARCH_PAGING_H
#define ARCH_PAGING_H

#include <stdbool.h>
#include <stdint.h>

struct arch_space {
    uint64_t *pml4; /* kernel-virtual */
    uint64_t pml4_phys;
};

/* Allocate zeroed page-table memory of 2^order pages, or NULL. */
typedef void *(*arch_pt_alloc_fn)(void *ctx, unsigned order);
typedef void (*arch_pt_free_fn)(void *ctx, void *p, unsigned order);

bool arch_space_init(struct arch_space *s, arch_pt_alloc_fn alloc, void *ctx);
/* Free the page tables of the user half a few at a time (mappings must
 * already be gone), resuming at *cursor (start with 0); true when
 * everything, the PML4 included, is freed. */
bool arch_space_destroy_step(struct arch_space *s, uint64_t *cursor, arch_pt_free_fn free, void *ctx);
void arch_space_activate(const struct arch_space *s);
void arch_kernel_space_init(void);

struct arch_pte_ref {
    uint64_t *pte;   /* NULL if no leaf table covers the address */
    void **shadow;   /* the generic kernel's pointer for this entry */
};

/* Leaf entry for va, without allocating. */
struct arch_pte_ref arch_pte_lookup(const struct arch_space *s, uint64_t va);
/* Leaf entry for va, allocating tables on the way (pte NULL if out of memory). */
struct arch_pte_ref arch_pte_ensure(struct arch_space *s, uint64_t va, arch_pt_alloc_fn alloc, void *ctx);

/* Rights are ABI_MAP_R/W/X bits; a user-accessible present entry. */
uint64_t arch_pte_make(uint64_t phys, unsigned rights);
static inline bool arch_pte_present(uint64_t pte) { return pte & 1u; }
static inline uint64_t arch_pte_phys(uint64_t pte) { return pte & 0x000ffffffffff000ull; }
unsigned arch_pte_rights(uint64_t pte);

/* Set a leaf entry and drop any stale translation for it. */
void arch_pte_write(const struct arch_space *s, uint64_t va, uint64_t *pte, uint64_t value);

/* Walk the user half for the next va >= from covered by a leaf table,
 * checking at most `budget` entries. found: va is that address (~0: none
 * left); not found: va is where to continue. Range operations use it to
 * skip unpopulated regions. */
struct arch_scan {
    uint64_t va;
    bool found;
};
struct arch_scan arch_next_table_va(const struct arch_space *s, uint64_t from, unsigned budget);

#endif
