/*
 * Capability tables and the capability derivation tree.
 *
 * A task's capability table is an array of slots. A slot holds a pointer to a
 * kernel object, the object's type and the rights this capability grants.
 * Every copy (cap_copy, cap item in IPC) becomes a child of its source in a
 * derivation tree threaded through the slots themselves; a capability made by
 * a factory has no parent and is the object's *original*.
 *
 * Revocation removes descendants leaf first (cap_find_leaf, then
 * cap_unlink), one O(depth) step at a time, so the kernel can stop at a
 * preemption point between any two steps and simply start again later: the
 * tree itself is the progress record, no cursor survives a preemption.
 *
 * Pure data-structure code: includes nothing from the rest of the kernel and
 * builds on the host for tests/host/test_cap_table.c. The policy (who may
 * copy what, what happens to an object when its original goes) is the
 * caller's.
 */
#ifndef KERNEL_CAP_TABLE_H
#define KERNEL_CAP_TABLE_H

#include <stdbool.h>
#include <stdint.h>

struct kobj;

struct cap {
    struct kobj *obj; /* NULL: empty slot */
    uint8_t type;     /* enum abi_obj_type */
    uint8_t rights;   /* ABI_R_* */
    uint16_t depth;   /* 0 for an original, parent's + 1 for a copy */
    uint32_t pad1;
    struct cap *parent; /* NULL for an original */
    struct cap *child;  /* first child */
    struct cap *next;   /* siblings */
    struct cap *prev;
};

/* A table is a directory of pages of slots, allocated when a slot in them
 * is first filled: creating a task with a large table costs a small
 * directory, not zeroing the whole table with interrupts off. */
#define CAP_PAGE_SLOTS 64u /* a power of two: the IPC fast path indexes with shifts */
#define CAP_PAGE_BYTES (CAP_PAGE_SLOTS * sizeof(struct cap))

struct cap_table {
    struct cap **pages; /* one per CAP_PAGE_SLOTS slots; NULL: all empty */
    uint32_t size;
};

static inline uint32_t cap_table_pages(uint32_t size) { return (uint32_t)((size + CAP_PAGE_SLOTS - 1) / CAP_PAGE_SLOTS); }

/* Use `pages` (cap_table_pages(size) NULL pointers) as the directory. */
void cap_table_init(struct cap_table *t, struct cap **pages, uint32_t size);

static inline bool cap_sel_valid(const struct cap_table *t, uint64_t sel) { return sel != 0 && sel < t->size; }

/* The slot at index `sel`, or NULL if sel is 0, out of range, or in a page
 * not allocated yet (all of whose slots are empty). May be empty. */
struct cap *cap_slot(struct cap_table *t, uint64_t sel);

/* The slot at `sel`, allocating its page with alloc(ctx) (CAP_PAGE_BYTES,
 * zeroed) if needed; NULL if sel is invalid or the allocation fails. */
struct cap *cap_slot_alloc(struct cap_table *t, uint64_t sel, void *(*alloc)(void *ctx), void *ctx);

/* The slot at index `sel` if it holds a capability, else NULL. */
struct cap *cap_lookup(struct cap_table *t, uint64_t sel);

static inline bool cap_is_empty(const struct cap *c) { return c->obj == 0; }
static inline bool cap_is_original(const struct cap *c) { return c->parent == 0; }

/* Fill the empty slot `dst` with an original capability. */
void cap_install_original(struct cap *dst, struct kobj *obj, uint8_t type, uint8_t rights);

/* Copies of copies nest at most this deep: revocation finds leaves by
 * walking down from the revoked capability, and that walk must stay short
 * between two preemption points however a task arranges its copies. */
#define CAP_MAX_DEPTH 32u

/* Fill the empty slot `dst` with a child of `src` holding src's rights masked
 * by `rights_mask`; false (and dst untouched) if src is already at
 * CAP_MAX_DEPTH. */
bool cap_derive(struct cap *src, struct cap *dst, uint8_t rights_mask);

/* The first leaf reached by following first children from c (c itself if it
 * has no children). */
struct cap *cap_find_leaf(struct cap *c);

/* Remove a capability without children from its tree and empty its slot. */
void cap_unlink(struct cap *c);

/* Number of descendants of c (tests and debugging; O(subtree)). */
uint64_t cap_count_descendants(const struct cap *c);

/* Index of the first empty slot in [first, first + count) within the table
 * (a slot in an unallocated page counts as empty), or 0 if there is none. */
uint64_t cap_find_free(struct cap_table *t, uint64_t first, uint64_t count);

#endif
