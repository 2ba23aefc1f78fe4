/*
 * Host tests for kernel/kmem.c: the buddy allocator and the object caches,
 * run over a malloc'd pool.
 *
 * The pool is aligned to the largest block size, so blocks aligned relative
 * to the pool base are also aligned in absolute terms and the test can check
 * either. Its page count is odd and not a power of two, so the tail of the
 * pool is carved into smaller blocks. The pool is filled with garbage before
 * every kmem_init, so nothing may rely on memory that happens to be zero.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kmem.h"
#include "tap.h"

#define POOL_PAGES 5003u
#define MAX_BLOCK ((size_t)KMEM_PAGE_SIZE << KMEM_MAX_ORDER)
#define MAX_ITEMS (POOL_PAGES + 16u)

static uint8_t *pool;
static size_t pool_bytes;

static void reset(void)
{
    memset(pool, 0xEE, pool_bytes);
    kmem_init(pool, POOL_PAGES);
}

static size_t block_bytes(unsigned order)
{
    return (size_t)KMEM_PAGE_SIZE << order;
}

static bool in_pool(const void *p, size_t bytes)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)pool;
    return a >= b && a + bytes <= b + (size_t)POOL_PAGES * KMEM_PAGE_SIZE;
}

static bool all_zero(const void *p, size_t bytes)
{
    const uint8_t *c = p;
    for (size_t i = 0; i < bytes; i++)
        if (c[i] != 0)
            return false;
    return true;
}

/* A pattern unique to each allocation, so overlapping allocations would
 * overwrite each other's pattern and show on verification. */
static uint8_t pattern_byte(uint64_t tag, size_t i)
{
    uint64_t x = tag ^ (i * 0x9E3779B97F4A7C15u);
    x ^= x >> 29;
    return (uint8_t)(x ^ (x >> 8));
}

static void fill_pattern(void *p, size_t bytes, uint64_t tag)
{
    uint8_t *c = p;
    for (size_t i = 0; i < bytes; i++)
        c[i] = pattern_byte(tag, i);
}

static bool pattern_intact(const void *p, size_t bytes, uint64_t tag)
{
    const uint8_t *c = p;
    for (size_t i = 0; i < bytes; i++)
        if (c[i] != pattern_byte(tag, i))
            return false;
    return true;
}

static uint64_t rng_state = 0x243F6A8885A308D3u;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

struct item {
    uint8_t *p;
    unsigned order;
};

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct item *)a)->p, y = (uintptr_t)((const struct item *)b)->p;
    return (x > y) - (x < y);
}

static struct item items[MAX_ITEMS];

/* Sorted by address, each block must end before the next begins. */
static bool disjoint(struct item *it, size_t n)
{
    qsort(it, n, sizeof *it, by_address);
    for (size_t i = 0; i + 1 < n; i++)
        if (it[i].p + block_bytes(it[i].order) > it[i + 1].p)
            return false;
    return true;
}

static void shuffle(struct item *it, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng() % i;
        struct item t = it[i - 1];
        it[i - 1] = it[j];
        it[j] = t;
    }
}

static void test_init(void)
{
    reset();
    size_t total = kmem_total_pages();
    ok(total < POOL_PAGES && total >= POOL_PAGES - POOL_PAGES / 512,
       "odd pool of %u pages: %zu managed after metadata", POOL_PAGES, total);
    is(kmem_free_pages_count(), total, "all managed pages free after init");
    ok(kmem_check(), "kmem_check after init");

    kmem_init(NULL, 0);
    is(kmem_total_pages(), 0, "empty pool manages nothing");
    ok(kmem_alloc_pages(0) == NULL && kmalloc(16) == NULL, "empty pool: allocations fail");
    ok(kmem_check(), "kmem_check on empty pool");

    kmem_init(pool, 1);
    is(kmem_total_pages(), 0, "one-page pool is all metadata");
    ok(kmem_alloc_pages(0) == NULL, "one-page pool: allocation fails");
    ok(kmem_check(), "kmem_check on one-page pool");
}

static void test_every_order(void)
{
    reset();
    size_t total = kmem_total_pages();
    for (unsigned order = 0; order <= KMEM_MAX_ORDER; order++) {
        uint8_t *p = kmem_alloc_pages(order);
        size_t bytes = block_bytes(order);
        ok(p != NULL, "order %u: allocated", order);
        if (p == NULL)
            continue;
        ok(in_pool(p, bytes) && (uintptr_t)p % bytes == 0, "order %u: inside pool, aligned to %zu",
           order, bytes);
        is(kmem_free_pages_count(), total - ((size_t)1 << order), "order %u: free count drops by %zu",
           order, (size_t)1 << order);
        ok(all_zero(p, bytes), "order %u: zeroed", order);
        memset(p, 0x5A, bytes);
        ok(kmem_check(), "order %u: kmem_check while allocated", order);
        kmem_free_pages(p, order);
        is(kmem_free_pages_count(), total, "order %u: free count restored", order);
        ok(kmem_check(), "order %u: kmem_check after free", order);
    }
    ok(kmem_alloc_pages(KMEM_MAX_ORDER + 1) == NULL, "order above KMEM_MAX_ORDER refused");
    ok(kmem_alloc_pages(~0u) == NULL, "absurd order refused");
    is(kmem_free_pages_count(), total, "refusals change nothing");
}

/* Allocate mixed orders until even a page cannot be had: the blocks must be
 * aligned, disjoint, and cover exactly the managed pages. */
static void test_aligned_disjoint(void)
{
    reset();
    size_t total = kmem_total_pages(), n = 0, pages = 0;
    bool aligned = true;
    for (;;) {
        unsigned order = (unsigned)(rng() % (KMEM_MAX_ORDER + 1));
        uint8_t *p = kmem_alloc_pages(order);
        while (p == NULL && order > 0)
            p = kmem_alloc_pages(--order);
        if (p == NULL)
            break;
        aligned &= in_pool(p, block_bytes(order)) && (uintptr_t)p % block_bytes(order) == 0;
        items[n++] = (struct item){p, order};
        pages += (size_t)1 << order;
    }
    ok(aligned, "%zu mixed-order blocks inside pool and naturally aligned", n);
    ok(disjoint(items, n), "mixed-order blocks are disjoint");
    is(pages, total, "blocks cover every managed page");
    is(kmem_free_pages_count(), 0, "free count is zero when exhausted");
    ok(kmem_check(), "kmem_check when exhausted");

    shuffle(items, n);
    for (size_t i = 0; i < n; i++)
        kmem_free_pages(items[i].p, items[i].order);
    is(kmem_free_pages_count(), total, "freeing in random order restores the free count");
    ok(kmem_check(), "kmem_check after freeing everything");
}

static void test_zeroed(void)
{
    reset();
    size_t total = kmem_total_pages(), n = 0;
    uint8_t *p;
    while ((p = kmem_alloc_pages(0)) != NULL) {
        memset(p, 0xA5, KMEM_PAGE_SIZE);
        items[n++] = (struct item){p, 0};
    }
    is(n, total, "every page allocated singly and dirtied");
    shuffle(items, n);
    for (size_t i = 0; i < n; i++)
        kmem_free_pages(items[i].p, 0);

    bool zero = true;
    size_t pages = 0;
    for (unsigned order = KMEM_MAX_ORDER + 1; order-- > 0;) {
        while ((p = kmem_alloc_pages(order)) != NULL) {
            zero &= all_zero(p, block_bytes(order));
            pages += (size_t)1 << order;
        }
    }
    ok(zero, "every block zeroed after the pool was dirtied and freed");
    is(pages, total, "and they cover the pool again");

    reset();
    bool small_zero = true;
    for (size_t size = 1; size <= KMEM_SMALL_MAX + 5000; size = size * 3 + 1) {
        uint8_t *a = kmalloc(size);
        memset(a, 0xC3, size);
        kfree(a, size);
        uint8_t *b = kmalloc(size);
        small_zero &= b != NULL && all_zero(b, size);
        kfree(b, size);
    }
    ok(small_zero, "kmalloc memory zeroed after being dirtied and freed");
}

static void test_merge_and_exhaustion(void)
{
    reset();
    size_t total = kmem_total_pages(), n = 0;
    uint8_t *p;
    while ((p = kmem_alloc_pages(0)) != NULL)
        items[n++] = (struct item){p, 0};
    is(n, total, "exhaustion by single pages: got every page");
    ok(kmem_alloc_pages(0) == NULL, "exhausted: page allocation returns NULL");
    ok(kmem_alloc_pages(KMEM_MAX_ORDER) == NULL, "exhausted: max-order allocation returns NULL");
    ok(kmalloc(16) == NULL, "exhausted: small kmalloc returns NULL");
    ok(kmalloc(3 * KMEM_PAGE_SIZE) == NULL, "exhausted: large kmalloc returns NULL");
    ok(kmem_check(), "kmem_check when exhausted");

    kmem_free_pages(items[n - 1].p, 0);
    p = kmem_alloc_pages(0);
    ok(p == items[n - 1].p, "after one free the page can be allocated again");
    ok(kmem_alloc_pages(0) == NULL, "and then the pool is exhausted again");

    shuffle(items, n);
    for (size_t i = 0; i < n; i++)
        kmem_free_pages(items[i].p, 0);
    is(kmem_free_pages_count(), total, "buddy merging: full free count after freeing every page");
    ok(kmem_check(), "kmem_check after merging");

    /* With the pool aligned to 4 MiB and a few metadata pages at its front,
     * pages 1024, 2048 and 3072 start the only max-order blocks. */
    size_t big = 0;
    while ((p = kmem_alloc_pages(KMEM_MAX_ORDER)) != NULL)
        items[big++] = (struct item){p, KMEM_MAX_ORDER};
    is(big, 3, "merging rebuilt every max-order block");
    ok(disjoint(items, big), "max-order blocks disjoint");
    is(kmem_free_pages_count(), total - 3 * ((size_t)1 << KMEM_MAX_ORDER), "free count after max-order allocations");
    for (size_t i = 0; i < big; i++)
        kmem_free_pages(items[i].p, KMEM_MAX_ORDER);
    is(kmem_free_pages_count(), total, "and after freeing them");
    ok(kmem_check(), "kmem_check after max-order round trip");
}

static void test_bad_frees(void)
{
    reset();
    size_t total = kmem_total_pages();
    int outside = 0;
    uint8_t *p = kmem_alloc_pages(2);
    kmem_free_pages(p, 2);
    kmem_free_pages(p, 2);
    is(kmem_free_pages_count(), total, "double free of a block ignored");
    p = kmem_alloc_pages(2);
    kmem_free_pages(p, 1);
    kmem_free_pages(p, 3);
    kmem_free_pages(p + KMEM_PAGE_SIZE, 0);
    kmem_free_pages(p + 8, 2);
    kmem_free_pages(&outside, 0);
    kmem_free_pages(p, KMEM_MAX_ORDER + 1);
    is(kmem_free_pages_count(), total - 4, "wrong order, interior, misaligned and foreign frees ignored");
    ok(kmem_check(), "kmem_check after bad frees");
    kmem_free_pages(p, 2);
    is(kmem_free_pages_count(), total, "the right free still works");

    kmem_free_pages(NULL, 0);
    kfree(NULL, 16);
    kfree(NULL, 100000);
    kfree(NULL, 0);
    is(kmem_free_pages_count(), total, "kfree(NULL, ...) and kmem_free_pages(NULL, ...) are no-ops");
    ok(kmem_check(), "kmem_check after NULL frees");

    uint8_t *obj = kmalloc(64);
    kfree(obj, 128);
    kfree(obj + 8, 64);
    uint8_t *next = kmalloc(64);
    ok(next != obj, "kfree with the wrong class or a misaligned pointer ignored");
    ok(kmem_check(), "kmem_check after bad kfree");

    /* Free blocks hold their own links, so a write after free breaks them.
     * The pool is left corrupt: the next test starts with reset(). */
    reset();
    uint8_t *a = kmem_alloc_pages(0);
    kmem_free_pages(a, 0);
    memset(a, 0xFF, 2 * sizeof(void *));
    ok(!kmem_check(), "kmem_check notices a write after free over a block's links");
}

static void test_kmalloc_classes(void)
{
    static const struct {
        size_t size, charge;
    } cases[] = {
        {0, 0},
        {1, 16},
        {15, 16},
        {16, 16},
        {17, 32},
        {33, 64},
        {100, 128},
        {256, 256},
        {257, 512},
        {1000, 1024},
        {1025, 2048},
        {KMEM_SMALL_MAX, KMEM_SMALL_MAX},
        {KMEM_SMALL_MAX + 1, 4096},
        {4096, 4096},
        {4097, 8192},
        {12289, 16384},
        {MAX_BLOCK - 1, MAX_BLOCK},
        {MAX_BLOCK, MAX_BLOCK},
        {MAX_BLOCK + 1, 0},
        {SIZE_MAX, 0},
    };
    reset();
    size_t total = kmem_total_pages();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t size = cases[i].size, charge = cases[i].charge;
        is(kmem_charge(size), charge, "kmem_charge(%zu) == %zu", size, charge);
        uint8_t *p = kmalloc(size);
        if (charge == 0) {
            ok(p == NULL, "kmalloc(%zu) refused", size);
            continue;
        }
        ok(p != NULL && in_pool(p, charge) && (uintptr_t)p % charge == 0 && all_zero(p, size),
           "kmalloc(%zu): zeroed, inside pool, aligned to %zu", size, charge);
        kfree(p, size);
    }
    ok(kmem_check(), "kmem_check after class round trips");

    /* A class takes a page only when its free objects run out, and keeps it. */
    reset();
    uint8_t *objs[KMEM_PAGE_SIZE / 16 + 1];
    size_t per_page = KMEM_PAGE_SIZE / 16;
    objs[0] = kmalloc(16);
    is(kmem_free_pages_count(), total - 1, "first 16-byte object takes one page");
    for (size_t i = 1; i < per_page; i++)
        objs[i] = kmalloc(16);
    is(kmem_free_pages_count(), total - 1, "%zu objects fit that page", per_page);
    objs[per_page] = kmalloc(16);
    is(kmem_free_pages_count(), total - 2, "the next object takes a second page");
    struct item spans[KMEM_PAGE_SIZE / 16 + 1];
    for (size_t i = 0; i <= per_page; i++)
        spans[i] = (struct item){objs[i], 0};
    bool distinct = true;
    qsort(spans, per_page + 1, sizeof spans[0], by_address);
    for (size_t i = 0; i < per_page; i++)
        distinct &= spans[i].p + 16 <= spans[i + 1].p;
    ok(distinct, "16-byte objects are disjoint");
    for (size_t i = 0; i <= per_page; i++)
        kfree(objs[i], 16);
    is(kmem_free_pages_count(), total - 2, "freed objects stay cached: pages still count as used");
    uint8_t *again = kmalloc(10);
    is(kmem_free_pages_count(), total - 2, "a freed object is reused without taking a page");
    kfree(again, 10);

    uint8_t *large = kmalloc(3000 + KMEM_SMALL_MAX);
    is(kmem_free_pages_count(), total - 4, "kmalloc(%u) takes a two-page block", 3000 + KMEM_SMALL_MAX);
    kfree(large, 3000 + KMEM_SMALL_MAX);
    is(kmem_free_pages_count(), total - 2, "kfree returns it to the buddy level");
    ok(kmem_check(), "kmem_check with cached pages");
}

/* Live allocations of the random test. */
struct live {
    uint8_t *p;
    size_t size;     /* bytes the caller asked for */
    unsigned order;  /* for page blocks */
    bool block;      /* kmem_alloc_pages rather than kmalloc */
    uint64_t tag;
};

#define RANDOM_OPS 300000u
#define LIVE_MAX 1500u
#define CHECK_EVERY 250u

static struct live live[LIVE_MAX];
static bool cache_page[POOL_PAGES];

static size_t random_kmalloc_size(void)
{
    uint64_t r = rng() % 1000;
    if (r < 800)
        return 1 + rng() % KMEM_SMALL_MAX;
    if (r < 995)
        return KMEM_SMALL_MAX + 1 + rng() % (32 * 1024);
    return KMEM_SMALL_MAX + 1 + rng() % MAX_BLOCK;
}

static unsigned random_order(void)
{
    if (rng() % 100 < 95)
        return (unsigned)(rng() % 4);
    return (unsigned)(4 + rng() % (KMEM_MAX_ORDER - 3));
}

/* Pages held at the buddy level by a live allocation; small objects are
 * accounted through the cache pages they came from instead. */
static size_t held_pages(const struct live *l)
{
    if (l->block)
        return (size_t)1 << l->order;
    return l->size > KMEM_SMALL_MAX ? kmem_charge(l->size) / KMEM_PAGE_SIZE : 0;
}

static void release(const struct live *l)
{
    if (l->block)
        kmem_free_pages(l->p, l->order);
    else
        kfree(l->p, l->size);
}

static void test_random(void)
{
    reset();
    memset(cache_page, 0, sizeof cache_page);
    size_t total = kmem_total_pages(), n = 0, held = 0, cache_pages = 0;
    size_t allocs = 0, frees = 0, refused = 0, checks = 0;
    size_t bad_check = 0, bad_count = 0, bad_place = 0, bad_zero = 0, bad_pattern = 0;
    uint64_t next_tag = 1;

    for (unsigned op = 1; op <= RANDOM_OPS; op++) {
        bool do_alloc = n == 0 || (n < LIVE_MAX && rng() % 100 < 52);
        if (do_alloc) {
            struct live l = {.tag = next_tag++};
            size_t align;
            if (rng() % 100 < 25) {
                l.block = true;
                l.order = random_order();
                l.size = block_bytes(l.order);
                l.p = kmem_alloc_pages(l.order);
                align = l.size;
            } else {
                l.size = random_kmalloc_size();
                l.p = kmalloc(l.size);
                align = kmem_charge(l.size);
            }
            if (l.p == NULL) {
                refused++;
                continue;
            }
            allocs++;
            if (!in_pool(l.p, l.size) || (uintptr_t)l.p % align != 0)
                bad_place++;
            if (!all_zero(l.p, l.size))
                bad_zero++;
            fill_pattern(l.p, l.size, l.tag);
            if (!l.block && l.size <= KMEM_SMALL_MAX) {
                size_t page = (size_t)(l.p - pool) / KMEM_PAGE_SIZE;
                if (page < POOL_PAGES && !cache_page[page]) {
                    cache_page[page] = true;
                    cache_pages++;
                }
            }
            held += held_pages(&l);
            live[n++] = l;
        } else {
            size_t i = rng() % n;
            if (!pattern_intact(live[i].p, live[i].size, live[i].tag))
                bad_pattern++;
            release(&live[i]);
            held -= held_pages(&live[i]);
            live[i] = live[--n];
            frees++;
        }
        if (op % CHECK_EVERY == 0) {
            checks++;
            if (!kmem_check())
                bad_check++;
            if (kmem_free_pages_count() != total - held - cache_pages)
                bad_count++;
        }
    }

    ok(allocs > RANDOM_OPS / 3 && frees > RANDOM_OPS / 3, "random: %zu allocations, %zu frees", allocs, frees);
    ok(refused > 0, "random: exhaustion reached (%zu allocations refused)", refused);
    is(bad_check, 0, "random: kmem_check held at all %zu checkpoints", checks);
    is(bad_count, 0, "random: free count == managed - held blocks - cache pages at every checkpoint");
    is(bad_place, 0, "random: every allocation inside the pool and aligned");
    is(bad_zero, 0, "random: every allocation zeroed");
    is(bad_pattern, 0, "random: every pattern intact at free");

    bool intact = true;
    for (size_t i = 0; i < n; i++) {
        intact &= pattern_intact(live[i].p, live[i].size, live[i].tag);
        release(&live[i]);
    }
    ok(intact, "random: patterns of the %zu survivors intact", n);
    is(kmem_free_pages_count(), total - cache_pages, "random: all freed, only the %zu cache pages still used",
       cache_pages);
    ok(kmem_check(), "random: kmem_check at the end");
}

int main(void)
{
    pool_bytes = (POOL_PAGES * (size_t)KMEM_PAGE_SIZE + MAX_BLOCK - 1) / MAX_BLOCK * MAX_BLOCK;
    pool = aligned_alloc(MAX_BLOCK, pool_bytes);
    if (pool == NULL) {
        printf("Bail out! cannot allocate the test pool\n");
        return 1;
    }

    test_init();
    test_every_order();
    test_aligned_disjoint();
    test_zeroed();
    test_merge_and_exhaustion();
    test_bad_frees();
    test_kmalloc_classes();
    test_random();

    free(pool);
    return done_testing();
}
