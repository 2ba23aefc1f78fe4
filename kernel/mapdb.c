/*
 * The mapping database (see mapdb.h).
 *
 * Tree shape as in the capability tree: parent pointer, first child, doubly
 * linked siblings whose head has prev == NULL, new children at the head.
 *
 * Invariant: a child's rights are a subset of its parent's. insert_child
 * establishes it by masking, and unmapping preserves it because rights are
 * only ever taken away leaf first. mapdb_find_leaf leans on it twice: a node
 * lacking every right being removed has no descendant holding one, so its
 * subtree can be skipped; and a subtree already stripped is therefore skipped
 * too, which is what makes an interrupted unmap restartable from the top.
 *
 * No recursion anywhere: trees may be thousands of levels deep (a chain of
 * tasks each mapping the page on), and kernel stacks are small.
 */
#include "mapdb.h"

#include <stddef.h>

void mapdb_init(struct mapdb *db, struct mapping **roots, uint64_t frames)
{
    db->roots = roots;
    db->frames = frames;
}

struct mapping *mapdb_root(struct mapdb *db, uint64_t pfn)
{
    if (pfn >= db->frames)
        return NULL;
    return db->roots[pfn];
}

static void mapping_set(struct mapping *node, uint64_t pfn, void *space, uint64_t vaddr,
                        uint32_t rights)
{
    node->parent = NULL;
    node->child = NULL;
    node->next = NULL;
    node->prev = NULL;
    node->space = space;
    node->vaddr = vaddr;
    node->pfn = pfn;
    node->rights = rights;
    node->depth = 0;
}

bool mapdb_insert_root(struct mapdb *db, struct mapping *node, uint64_t pfn, void *space,
                       uint64_t vaddr, uint32_t rights)
{
    if (pfn >= db->frames || db->roots[pfn] != NULL)
        return false;
    mapping_set(node, pfn, space, vaddr, rights);
    db->roots[pfn] = node;
    return true;
}

/*
 * Callers must not insert a child that ends up with no rights at all: unmap
 * never visits such a node (it holds none of the rights being removed), so
 * it would stay behind and keep its parent from being unlinked.
 */
void mapdb_insert_child(struct mapping *parent, struct mapping *node, void *space,
                        uint64_t vaddr, uint32_t rights)
{
    mapping_set(node, parent->pfn, space, vaddr, parent->rights & rights);
    node->parent = parent;
    node->depth = parent->depth + 1;
    node->next = parent->child;
    if (parent->child != NULL)
        parent->child->prev = node;
    parent->child = node;
}

void mapdb_move(struct mapping *node, void *space, uint64_t vaddr)
{
    node->space = space;
    node->vaddr = vaddr;
}

/*
 * One step costs O(depth + siblings skipped on the way down). Siblings are
 * skipped only when they already lack the rights, i.e. during a partial
 * unmap (e.g. removing W) of a node with many children; a full unmap unlinks
 * processed nodes, so it never skips.
 */
struct mapping *mapdb_find_leaf(struct mapping *top, uint32_t rights, bool include_top)
{
    struct mapping *n = top;

    if ((top->rights & rights) == 0)
        return NULL;
    for (;;) {
        struct mapping *c = n->child;

        while (c != NULL && (c->rights & rights) == 0)
            c = c->next;
        if (c == NULL)
            break;
        n = c;
    }
    if (n == top && !include_top)
        return NULL;
    return n;
}

/*
 * Only for a node without children (see cap_unlink for why); a node with
 * children is left untouched. space, vaddr and pfn survive so the caller can
 * still find the page-table entry to clear.
 */
void mapdb_unlink(struct mapdb *db, struct mapping *node)
{
    if (node->child != NULL)
        return;
    if (node->prev != NULL)
        node->prev->next = node->next;
    else if (node->parent != NULL)
        node->parent->child = node->next;
    else if (node->pfn < db->frames && db->roots[node->pfn] == node)
        db->roots[node->pfn] = NULL;
    if (node->next != NULL)
        node->next->prev = node->prev;
    node->parent = NULL;
    node->next = NULL;
    node->prev = NULL;
    node->rights = 0;
}

uint64_t mapdb_count_descendants(const struct mapping *node)
{
    uint64_t n = 0;
    const struct mapping *p = node->child;

    while (p != NULL) {
        n++;
        if (p->child != NULL) {
            p = p->child;
            continue;
        }
        while (p != node && p->next == NULL)
            p = p->parent;
        if (p == node)
            break;
        p = p->next;
    }
    return n;
}
