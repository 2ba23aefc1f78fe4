/*
 * The mapping database: for every physical page frame, the tree of mappings
 * through which it was passed on.
 *
 * The root task (sigma0 role) holds the root mapping of each frame it has
 * touched. Mapping a page from A to B makes B's mapping a child of A's;
 * granting moves A's node to B in place (children stay); unmapping removes the
 * rights from every descendant, or removes the descendants altogether. A
 * child never holds rights its parent lacks, which is what lets a
 * partially-done unmap restart safely: mapdb_find_leaf only descends into
 * nodes that still hold rights being removed, so processed subtrees are
 * skipped and the tree itself records the progress.
 *
 * Pure data-structure code: page-table updates are the caller's job. Builds
 * on the host for tests/host/test_mapdb.c.
 */
#ifndef KERNEL_MAPDB_H
#define KERNEL_MAPDB_H

#include <stdbool.h>
#include <stdint.h>

struct mapping {
    struct mapping *parent; /* NULL for a frame's root mapping */
    struct mapping *child;  /* first child */
    struct mapping *next;   /* siblings */
    struct mapping *prev;
    void *space;            /* the address space (task) holding this mapping */
    uint64_t vaddr;         /* page-aligned virtual address in that space */
    uint64_t pfn;           /* physical frame number */
    uint32_t rights;        /* ABI_MAP_R | ABI_MAP_W | ABI_MAP_X */
    uint32_t depth;         /* 0 for a root, parent's + 1 below */
};

struct mapdb {
    struct mapping **roots; /* one slot per frame, NULL when nobody holds it */
    uint64_t frames;
};

/* Use `roots` (frames zeroed pointers) as the per-frame root table. */
void mapdb_init(struct mapdb *db, struct mapping **roots, uint64_t frames);

struct mapping *mapdb_root(struct mapdb *db, uint64_t pfn);

/* Make `node` the root mapping of frame pfn. Fails (false) if pfn is out of
 * range or the frame already has a root. */
bool mapdb_insert_root(struct mapdb *db, struct mapping *node, uint64_t pfn, void *space,
                       uint64_t vaddr, uint32_t rights);

/* Make `node` a child of `parent` with parent's rights masked by `rights`. */
void mapdb_insert_child(struct mapping *parent, struct mapping *node, void *space,
                        uint64_t vaddr, uint32_t rights);

/* Move `node` to (space, vaddr) keeping its place in the tree (grant). */
void mapdb_move(struct mapping *node, void *space, uint64_t vaddr);

/* Deepest node below `top` (or top itself when include_top) that holds at
 * least one of `rights` and whose children hold none of them; NULL when no
 * such node remains (the unmap of top is complete). */
struct mapping *mapdb_find_leaf(struct mapping *top, uint32_t rights, bool include_top);

/* Remove a node without children from its tree (clearing the frame's root
 * slot if it was the root). */
void mapdb_unlink(struct mapdb *db, struct mapping *node);

uint64_t mapdb_count_descendants(const struct mapping *node);

#endif
