/*
 * Capability tables and the derivation tree (see cap_table.h).
 *
 * Tree shape: every cap points to its parent and its first child; siblings
 * form a doubly linked list whose head has prev == NULL. New children go to
 * the head, so derivation is O(1), and unlinking a leaf is O(1) because the
 * head case is told apart by prev == NULL rather than by a search.
 *
 * Nothing here allocates, sleeps or recurses: every operation is O(1) except
 * cap_find_leaf (O(depth)), cap_count_descendants (O(subtree)) and
 * cap_find_free (O(count)), and all of them use constant stack, so a hostile
 * task cannot grow the kernel stack by deriving long chains.
 */
#include "cap_table.h"

#include <stddef.h>

void cap_table_init(struct cap_table *t, struct cap **pages, uint32_t size)
{
    t->pages = pages;
    t->size = size;
}

struct cap *cap_slot(struct cap_table *t, uint64_t sel)
{
    /* sel comes straight from a user register: compare in 64 bits so a
     * huge selector cannot wrap into range. */
    if (sel == 0 || sel >= t->size)
        return NULL;
    struct cap *page = t->pages[sel / CAP_PAGE_SLOTS];
    return page ? &page[sel % CAP_PAGE_SLOTS] : NULL;
}

struct cap *cap_slot_alloc(struct cap_table *t, uint64_t sel, void *(*alloc)(void *ctx), void *ctx)
{
    if (sel == 0 || sel >= t->size)
        return NULL;
    struct cap **page = &t->pages[sel / CAP_PAGE_SLOTS];
    if (!*page) *page = alloc(ctx);
    return *page ? &(*page)[sel % CAP_PAGE_SLOTS] : NULL;
}

struct cap *cap_lookup(struct cap_table *t, uint64_t sel)
{
    struct cap *c = cap_slot(t, sel);

    if (c == NULL || cap_is_empty(c))
        return NULL;
    return c;
}

static void cap_clear(struct cap *c)
{
    c->obj = NULL;
    c->type = 0;
    c->rights = 0;
    c->depth = 0;
    c->pad1 = 0;
    c->parent = NULL;
    c->child = NULL;
    c->next = NULL;
    c->prev = NULL;
}

void cap_install_original(struct cap *dst, struct kobj *obj, uint8_t type, uint8_t rights)
{
    cap_clear(dst);
    dst->obj = obj;
    dst->type = type;
    dst->rights = rights;
}

bool cap_derive(struct cap *src, struct cap *dst, uint8_t rights_mask)
{
    if (src->depth >= CAP_MAX_DEPTH)
        return false;
    cap_clear(dst);
    dst->depth = (uint16_t)(src->depth + 1);
    dst->obj = src->obj;
    dst->type = src->type;
    /* Masking (never OR-ing) is what keeps every child's rights a subset of
     * its parent's, the invariant the whole revocation scheme relies on. */
    dst->rights = src->rights & rights_mask;
    dst->parent = src;
    dst->next = src->child;
    if (src->child != NULL)
        src->child->prev = dst;
    src->child = dst;
    return true;
}

struct cap *cap_find_leaf(struct cap *c)
{
    while (c->child != NULL)
        c = c->child;
    return c;
}

/*
 * Only for a cap without children: removing an inner node would orphan its
 * subtree, and re-parenting it would make revocation of the old parent miss
 * those caps. A cap with children is left untouched; callers revoke first.
 */
void cap_unlink(struct cap *c)
{
    if (c->child != NULL)
        return;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else if (c->parent != NULL)
        c->parent->child = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    cap_clear(c);
}

uint64_t cap_count_descendants(const struct cap *c)
{
    /* Pre-order walk over the links, climbing back through parent pointers,
     * so the depth of the tree costs no stack. */
    uint64_t n = 0;
    const struct cap *p = c->child;

    while (p != NULL) {
        n++;
        if (p->child != NULL) {
            p = p->child;
            continue;
        }
        while (p != c && p->next == NULL)
            p = p->parent;
        if (p == c)
            break;
        p = p->next;
    }
    return n;
}

uint64_t cap_find_free(struct cap_table *t, uint64_t first, uint64_t count)
{
    uint64_t end;

    if (first >= t->size)
        return 0;
    /* first + count may overflow for user-supplied windows. */
    end = count > t->size - first ? t->size : first + count;
    /* 0 doubles as "none found", and slot 0 is never valid anyway. */
    if (first == 0)
        first = 1;
    for (uint64_t i = first; i < end; i++) {
        const struct cap *page = t->pages[i / CAP_PAGE_SLOTS];
        if (!page || cap_is_empty(&page[i % CAP_PAGE_SLOTS]))
            return i;
    }
    return 0;
}
