/*
 * Kernel memory: a binary buddy allocator with power-of-two object caches.
 *
 * Pages are named by their index from the pool base. A block of order k
 * starts at an index that is a multiple of 2^k, so its buddy is the index with
 * bit k flipped and merging needs no search. Free blocks carry their own list
 * links (the memory is unused anyway); the lists are doubly linked because a
 * merge must unlink a buddy from the middle of its list.
 *
 * The only bookkeeping outside the blocks is one byte per page, taken from the
 * front of the pool, since there is no other memory. The byte of a block's
 * first page says what the block is: free with order k (it is on list k),
 * allocated with order k, or an object-cache page of class c. Every other
 * byte -- block tails and the metadata pages themselves -- is zero. Recording
 * the order of allocated blocks lets a double free or a free with the wrong
 * order be recognised and ignored instead of corrupting the lists; the zero
 * tails let kmem_check prove that free blocks do not overlap, because a block
 * starting inside a free block would show as a non-zero tail byte.
 *
 * Small objects (kmalloc up to KMEM_SMALL_MAX) come from one cache per
 * power-of-two class. A cache takes whole pages, hands a new page out front
 * to back and threads a singly linked free list through freed objects. Pages never return to the buddy level:
 * the kernel's small objects are few kinds that are reused, and keeping the
 * pages spares per-page use counts.
 *
 * Memory is zeroed when handed out rather than when freed, so free memory can
 * hold the links and the cost is paid only for memory that is used.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kmem.h"

#define PAGE_SHIFT 12u
#define PAGE_MASK ((uintptr_t)KMEM_PAGE_SIZE - 1u)
#define MAX_BLOCK_BYTES ((size_t)KMEM_PAGE_SIZE << KMEM_MAX_ORDER)

#define META_FREE 0x80u
#define META_ALLOC 0x40u
#define META_CACHE 0x20u
#define META_ARG 0x1fu

/* 16 bytes is the smallest class so every object can hold its free-list link
 * and kernel objects keep 16-byte alignment. */
#define CLASS_MIN_SHIFT 4u
#define CLASS_MAX_SHIFT 11u
#define NCLASSES (CLASS_MAX_SHIFT - CLASS_MIN_SHIFT + 1u)

_Static_assert(KMEM_PAGE_SIZE == 1u << PAGE_SHIFT, "PAGE_SHIFT must match KMEM_PAGE_SIZE");
_Static_assert(KMEM_SMALL_MAX == 1u << CLASS_MAX_SHIFT, "largest class must be KMEM_SMALL_MAX");
_Static_assert(KMEM_SMALL_MAX < KMEM_PAGE_SIZE, "object caches carve single pages");
_Static_assert(KMEM_MAX_ORDER <= META_ARG && NCLASSES <= META_ARG + 1u,
               "order and class must fit the metadata byte");

struct free_block {
    struct free_block *next, *prev;
};

struct free_object {
    struct free_object *next;
};

static uint8_t *pool;      /* pool base; its first bytes are the metadata */
static size_t pool_pages;  /* including the metadata pages */
static size_t first_page;  /* first page handed to the buddy allocator */
static size_t free_pages;
static struct free_block *free_lists[KMEM_MAX_ORDER + 1u];
static struct free_object *object_lists[NCLASSES];
/* A new cache page is handed out front to back (carve[cls]: its next
 * never-used object, NULL at the page end), not threaded onto the free list
 * at once: that would be a loop over up to 256 objects with interrupts off. */
static uint8_t *carve[NCLASSES];

static size_t order_pages(unsigned order)
{
    return (size_t)1 << order;
}

static size_t class_bytes(unsigned cls)
{
    return (size_t)1 << (cls + CLASS_MIN_SHIFT);
}

static void *page_addr(size_t idx)
{
    return pool + (idx << PAGE_SHIFT);
}

static size_t page_of(const void *p)
{
    return ((uintptr_t)p - (uintptr_t)pool) >> PAGE_SHIFT;
}

/* Integer comparison, not pointer comparison: callers may pass anything. */
static bool in_managed_pages(const void *p)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)pool;
    if (pool == NULL || a < b)
        return false;
    size_t idx = (a - b) >> PAGE_SHIFT;
    return idx >= first_page && idx < pool_pages;
}

static void list_push(unsigned order, size_t idx)
{
    struct free_block *b = page_addr(idx);
    b->prev = NULL;
    b->next = free_lists[order];
    if (b->next != NULL)
        b->next->prev = b;
    free_lists[order] = b;
    pool[idx] = (uint8_t)(META_FREE | order);
    free_pages += order_pages(order);
}

static void list_remove(unsigned order, struct free_block *b)
{
    if (b->prev != NULL)
        b->prev->next = b->next;
    else
        free_lists[order] = b->next;
    if (b->next != NULL)
        b->next->prev = b->prev;
    pool[page_of(b)] = 0;
    free_pages -= order_pages(order);
}

void kmem_init(void *base, size_t pages)
{
    for (unsigned k = 0; k <= KMEM_MAX_ORDER; k++)
        free_lists[k] = NULL;
    for (unsigned c = 0; c < NCLASSES; c++)
        object_lists[c] = NULL, carve[c] = NULL;
    free_pages = 0;
    pool_pages = first_page = 0;
    pool = NULL;
    if (base == NULL || pages == 0)
        return;

    pool = base;
    pool_pages = pages;
    first_page = pages / KMEM_PAGE_SIZE + (pages % KMEM_PAGE_SIZE != 0);
    __builtin_memset(pool, 0, pages);

    /* Largest block that is aligned at i and fits; merges can never go past
     * these, since a buddy outside the managed range is never marked free. */
    for (size_t i = first_page; i < pages;) {
        unsigned order = KMEM_MAX_ORDER;
        while ((i & (order_pages(order) - 1u)) != 0 || pages - i < order_pages(order))
            order--;
        list_push(order, i);
        i += order_pages(order);
    }
}

/* Zeroed ahead by kmem_prezero_step: order 0 and 1 (page tables, leaf
 * tables with their shadow, object-cache pages). Enough for one mem_map in
 * the worst case, so a range map never zeroes a table with interrupts off:
 * two upper tables and a leaf table on each side, and a page for mapping
 * nodes. The blocks held here count as free (kmem_free_pages_count): they
 * belong to nobody, and the kernel memory accounting stays exact. */
#define PREZERO_MAX 6u
static const unsigned prezero_want[2] = {6, 2};
#define PREZERO_STEP 512u
static struct {
    uint8_t *p[PREZERO_MAX + 1]; /* p[ready]: the one being zeroed; one spare slot */
    unsigned ready;    /* p[0 .. ready-1] are zeroed */
    uint32_t done;     /* bytes of p[ready] zeroed, if allocated */
} prezero[2];
static size_t prezero_pages; /* held in prezero[] */

bool kmem_prezero_step(void)
{
    for (unsigned o = 0; o < 2; o++) {
        uint32_t size = KMEM_PAGE_SIZE << o;
        if (prezero[o].ready == prezero_want[o]) continue;
        uint8_t **p = &prezero[o].p[prezero[o].ready];
        if (!*p) {
            if (!(*p = kmem_alloc_pages_unzeroed(o))) continue; /* allocations zero as before */
            prezero_pages += (size_t)1 << o;
        }
        __builtin_memset(*p + prezero[o].done, 0, PREZERO_STEP);
        if ((prezero[o].done += PREZERO_STEP) == size) {
            prezero[o].ready++;
            prezero[o].done = 0;
        }
        return true;
    }
    return false;
}

void *kmem_alloc_pages(unsigned order)
{
    if (order < 2 && prezero[order].ready) {
        unsigned i = --prezero[order].ready;
        void *b = prezero[order].p[i];
        /* The one being zeroed (if any) moves down to where the next step looks for it. */
        prezero[order].p[i] = prezero[order].p[i + 1];
        prezero[order].p[i + 1] = NULL;
        prezero_pages -= (size_t)1 << order;
        return b;
    }
    void *b = kmem_alloc_pages_unzeroed(order);
    if (b) __builtin_memset(b, 0, (size_t)KMEM_PAGE_SIZE << order);
    return b;
}

void *kmem_alloc_pages_unzeroed(unsigned order)
{
    if (order > KMEM_MAX_ORDER)
        return NULL;
    unsigned k = order;
    while (k <= KMEM_MAX_ORDER && free_lists[k] == NULL)
        k++;
    if (k > KMEM_MAX_ORDER)
        return NULL;

    struct free_block *b = free_lists[k];
    size_t idx = page_of(b);
    list_remove(k, b);
    while (k > order) {
        k--;
        list_push(k, idx + order_pages(k));
    }
    pool[idx] = (uint8_t)(META_ALLOC | order);
    return b;
}

static void release_block(size_t idx, unsigned order)
{
    while (order < KMEM_MAX_ORDER) {
        size_t buddy = idx ^ order_pages(order);
        if (buddy >= pool_pages || pool[buddy] != (META_FREE | order))
            break;
        list_remove(order, page_addr(buddy));
        idx &= ~order_pages(order);
        order++;
    }
    list_push(order, idx);
}

/* A free that does not match an allocated block is a caller bug; ignoring it
 * keeps the allocator consistent, which is all this layer can do about it. */
void kmem_free_pages(void *p, unsigned order)
{
    if (p == NULL || order > KMEM_MAX_ORDER || !in_managed_pages(p) ||
        ((uintptr_t)p & PAGE_MASK) != ((uintptr_t)pool & PAGE_MASK))
        return;
    size_t idx = page_of(p);
    if (pool[idx] != (META_ALLOC | order))
        return;
    pool[idx] = 0;
    release_block(idx, order);
}

static unsigned size_class(size_t size)
{
    unsigned cls = 0;
    while (class_bytes(cls) < size)
        cls++;
    return cls;
}

static unsigned block_order(size_t size)
{
    unsigned order = 0;
    while (((size_t)KMEM_PAGE_SIZE << order) < size)
        order++;
    return order;
}

/* Sizes kmalloc refuses consume nothing, so a quota check before the call
 * does not charge for a failure. */
size_t kmem_charge(size_t size)
{
    if (size == 0 || size > MAX_BLOCK_BYTES)
        return 0;
    if (size <= KMEM_SMALL_MAX)
        return class_bytes(size_class(size));
    return (size_t)KMEM_PAGE_SIZE << block_order(size);
}

static bool cache_refill(unsigned cls)
{
    uint8_t *page = kmem_alloc_pages(0);
    if (page == NULL)
        return false;
    pool[page_of(page)] = (uint8_t)(META_CACHE | cls);
    carve[cls] = page;
    return true;
}

void *kmalloc(size_t size)
{
    if (size == 0 || size > MAX_BLOCK_BYTES)
        return NULL;
    if (size > KMEM_SMALL_MAX)
        return kmem_alloc_pages(block_order(size));

    unsigned cls = size_class(size);
    void *o = object_lists[cls];
    if (o != NULL) {
        object_lists[cls] = object_lists[cls]->next;
    } else {
        if (carve[cls] == NULL && !cache_refill(cls))
            return NULL;
        o = carve[cls];
        carve[cls] += class_bytes(cls);
        if ((((uintptr_t)carve[cls] - (uintptr_t)pool) & PAGE_MASK) == 0)
            carve[cls] = NULL;
    }
    __builtin_memset(o, 0, class_bytes(cls));
    return o;
}

void kfree(void *p, size_t size)
{
    if (p == NULL || size == 0 || size > MAX_BLOCK_BYTES)
        return;
    if (size > KMEM_SMALL_MAX) {
        kmem_free_pages(p, block_order(size));
        return;
    }

    unsigned cls = size_class(size);
    if (!in_managed_pages(p) || pool[page_of(p)] != (META_CACHE | cls) ||
        (((uintptr_t)p - (uintptr_t)pool) & PAGE_MASK) % class_bytes(cls) != 0)
        return;
    struct free_object *o = p;
    o->next = object_lists[cls];
    object_lists[cls] = o;
}

size_t kmem_free_pages_count(void)
{
    return free_pages + prezero_pages;
}

size_t kmem_total_pages(void)
{
    return pool_pages - first_page;
}

static bool meta_valid(uint8_t m)
{
    unsigned arg = m & META_ARG;
    switch (m & ~META_ARG) {
    case 0:
        return arg == 0;
    case META_FREE:
    case META_ALLOC:
        return arg <= KMEM_MAX_ORDER;
    case META_CACHE:
        return arg < NCLASSES;
    default:
        return false;
    }
}

/* Every pointer is range-checked before it is followed, so a corrupted list
 * makes the check fail rather than fault. Walks are bounded by how many
 * blocks or objects could exist at all, which catches cycles. */
static bool check_free_lists(size_t *heads)
{
    size_t pages_on_lists = 0;
    for (unsigned order = 0; order <= KMEM_MAX_ORDER; order++) {
        size_t limit = pool_pages >> order, n = 0;
        const struct free_block *prev = NULL;
        for (const struct free_block *b = free_lists[order]; b != NULL; prev = b, b = b->next) {
            if (++n > limit || !in_managed_pages(b) ||
                ((uintptr_t)b & PAGE_MASK) != ((uintptr_t)pool & PAGE_MASK))
                return false;
            size_t idx = page_of(b);
            if ((idx & (order_pages(order) - 1u)) != 0 || pool_pages - idx < order_pages(order))
                return false;
            if (pool[idx] != (META_FREE | order) || b->prev != prev)
                return false;
            for (size_t t = idx + 1; t < idx + order_pages(order); t++)
                if (pool[t] != 0)
                    return false;
            pages_on_lists += order_pages(order);
            (*heads)++;
        }
    }
    return pages_on_lists == free_pages;
}

static bool check_object_lists(void)
{
    for (unsigned cls = 0; cls < NCLASSES; cls++) {
        size_t limit = pool_pages * (KMEM_PAGE_SIZE / class_bytes(cls)), n = 0;
        for (const struct free_object *o = object_lists[cls]; o != NULL; o = o->next) {
            if (++n > limit || !in_managed_pages(o) || pool[page_of(o)] != (META_CACHE | cls) ||
                (((uintptr_t)o - (uintptr_t)pool) & PAGE_MASK) % class_bytes(cls) != 0)
                return false;
        }
    }
    return true;
}

bool kmem_check(void)
{
    if (pool == NULL) {
        for (unsigned k = 0; k <= KMEM_MAX_ORDER; k++)
            if (free_lists[k] != NULL)
                return false;
        for (unsigned c = 0; c < NCLASSES; c++)
            if (object_lists[c] != NULL)
                return false;
        return free_pages == 0;
    }

    size_t heads = 0;
    if (!check_free_lists(&heads) || !check_object_lists())
        return false;

    /* A page marked free but on no list would be lost for good. */
    size_t marked_free = 0;
    for (size_t i = 0; i < pool_pages; i++) {
        if (i < first_page ? pool[i] != 0 : !meta_valid(pool[i]))
            return false;
        if (pool[i] & META_FREE)
            marked_free++;
    }
    return marked_free == heads;
}
