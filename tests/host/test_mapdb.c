/*
 * Host tests for kernel/mapdb.c: per-frame roots, map/grant, leaf-first
 * unmap (full and partial rights), include_top, very wide and very deep
 * trees, unmaps interrupted at random points and restarted from the top, and
 * a randomized run against a reference model with invariant checks.
 */
#include "mapdb.h"

#include "abi/ipc.h"
#include "tap.h"

#include <string.h>

#define R ABI_MAP_R
#define W ABI_MAP_W
#define X ABI_MAP_X
#define RWX ABI_MAP_RWX

/* Distinct addresses to stand in for address spaces; never dereferenced. */
static char fake_spaces[64];
#define SPACE(i) ((void *)&fake_spaces[i])

static int leaf_errors;

static bool in_subtree(const struct mapping *n, const struct mapping *top)
{
    for (; n != NULL; n = n->parent)
        if (n == top)
            return true;
    return false;
}

/* Check the contract of a node mapdb_find_leaf returned. */
static bool check_leaf(const struct mapping *m, const struct mapping *top, uint32_t rights,
                       bool include_top)
{
    bool good = (m->rights & rights) != 0 && in_subtree(m, top) && (include_top || m != top);
    for (const struct mapping *c = m->child; c != NULL; c = c->next)
        if (c->rights & rights)
            good = false;
    if (!good && leaf_errors++ < 5)
        printf("#   find_leaf returned a node violating its contract\n");
    return good;
}

/*
 * The kernel's unmap loop: take the rights away from one leaf per step,
 * unlinking nodes left with none, for at most `budget` steps (the preemption
 * point). Sets *done once find_leaf reports nothing left.
 */
static uint64_t unmap_steps(struct mapdb *db, struct mapping *top, uint32_t rights,
                            bool include_top, uint64_t budget, bool *done)
{
    uint64_t steps = 0;

    *done = false;
    while (steps < budget) {
        struct mapping *m = mapdb_find_leaf(top, rights, include_top);
        if (m == NULL) {
            *done = true;
            break;
        }
        /* Stepping on after a bad leaf could loop forever. */
        if (!check_leaf(m, top, rights, include_top)) {
            *done = true;
            break;
        }
        m->rights &= ~rights;
        if (m->rights == 0)
            mapdb_unlink(db, m);
        steps++;
    }
    return steps;
}

static uint64_t unmap(struct mapdb *db, struct mapping *top, uint32_t rights, bool include_top)
{
    bool done;
    return unmap_steps(db, top, rights, include_top, UINT64_MAX, &done);
}

static int report(int *count, const char *what, long idx)
{
    if (*count < 5)
        printf("#   invariant violated at node %ld: %s\n", idx, what);
    (*count)++;
    return 0;
}

/*
 * Structural invariants over a pool of nodes of which `live[i]` are in the
 * database: links agree in both directions, pointers only reach live nodes,
 * child rights within parent rights, same frame as the parent, roots table
 * agrees with parentless nodes, child lists as long as the number of nodes
 * naming that parent, no parent cycles, no live node without rights.
 */
static int check_db(const struct mapdb *db, const struct mapping *pool, const bool *live,
                    long n)
{
    int bad = 0;
#define LIVE(p) ((p) >= pool && (p) < pool + n && live[(p)-pool])
    for (long i = 0; i < n; i++) {
        const struct mapping *m = &pool[i];
        if (!live[i])
            continue;
        if (m->rights == 0)
            report(&bad, "live node without rights", i);
        if (m->rights & ~(uint32_t)RWX)
            report(&bad, "unknown rights bits", i);
        if (m->parent == NULL) {
            if (m->pfn >= db->frames || db->roots[m->pfn] != m)
                report(&bad, "parentless node is not its frame's root", i);
            if (m->next != NULL || m->prev != NULL)
                report(&bad, "root with siblings", i);
        } else {
            if (!LIVE(m->parent)) {
                report(&bad, "parent not live", i);
                continue;
            }
            if (m->rights & ~m->parent->rights)
                report(&bad, "rights exceed parent's", i);
            if (m->pfn != m->parent->pfn)
                report(&bad, "frame differs from parent's", i);
            if (m->prev == NULL && m->parent->child != m)
                report(&bad, "list head not parent's first child", i);
        }
        if (m->prev != NULL && (!LIVE(m->prev) || m->prev->next != m || m->prev->parent != m->parent))
            report(&bad, "prev link inconsistent", i);
        if (m->next != NULL && (!LIVE(m->next) || m->next->prev != m || m->next->parent != m->parent))
            report(&bad, "next link inconsistent", i);
        if (m->child != NULL && (!LIVE(m->child) || m->child->parent != m || m->child->prev != NULL))
            report(&bad, "first child inconsistent", i);
        long depth = 0;
        for (const struct mapping *a = m->parent; a != NULL && depth <= n; a = a->parent)
            depth++;
        if (depth > n)
            report(&bad, "parent cycle", i);
    }
    for (long i = 0; i < n; i++) {
        long naming = 0, listed = 0;
        if (!live[i])
            continue;
        for (long j = 0; j < n; j++)
            if (live[j] && pool[j].parent == &pool[i])
                naming++;
        for (const struct mapping *c = pool[i].child; c != NULL && listed <= n; c = c->next)
            listed++;
        if (naming != listed)
            report(&bad, "child list length differs from nodes naming it", i);
    }
    for (uint64_t f = 0; f < db->frames; f++) {
        const struct mapping *r = db->roots[f];
        if (r != NULL && (!LIVE(r) || r->parent != NULL || r->pfn != f))
            report(&bad, "roots entry is not a live parentless node of that frame", (long)f);
    }
#undef LIVE
    return bad;
}

static void test_roots(void)
{
    struct mapping *roots[8] = {0};
    struct mapping a, b, c;
    struct mapdb db;

    mapdb_init(&db, roots, 8);
    ok(mapdb_root(&db, 0) == NULL && mapdb_root(&db, 7) == NULL, "fresh database has no roots");
    ok(mapdb_insert_root(&db, &a, 0, SPACE(0), 0x1000, RWX), "insert root of frame 0");
    ok(mapdb_insert_root(&db, &b, 5, SPACE(0), 0x6000, R | W), "insert root of frame 5");
    ok(mapdb_root(&db, 0) == &a && mapdb_root(&db, 5) == &b, "each frame has its own root");
    ok(mapdb_root(&db, 1) == NULL, "untouched frame has none");
    is(a.pfn, 0, "root records its frame");
    ok(a.space == SPACE(0) && a.vaddr == 0x1000 && a.rights == RWX, "root records space, vaddr, rights");
    ok(a.parent == NULL && a.child == NULL && a.next == NULL && a.prev == NULL, "root starts unlinked");

    c.rights = 0x55;
    ok(!mapdb_insert_root(&db, &c, 0, SPACE(1), 0x2000, R), "second root for the same frame fails");
    ok(mapdb_root(&db, 0) == &a, "existing root kept");
    is(c.rights, 0x55, "rejected node untouched");
    ok(!mapdb_insert_root(&db, &c, 8, SPACE(1), 0, R), "pfn == frames is out of range");
    ok(!mapdb_insert_root(&db, &c, UINT64_MAX, SPACE(1), 0, R), "huge pfn is out of range");
    ok(mapdb_root(&db, 8) == NULL && mapdb_root(&db, UINT64_MAX) == NULL,
       "mapdb_root of out-of-range pfn is NULL");

    mapdb_unlink(&db, &b);
    ok(mapdb_root(&db, 5) == NULL, "unlinking a root clears the frame's slot");
    ok(mapdb_insert_root(&db, &c, 5, SPACE(2), 0x9000, X), "the frame can get a new root");
    ok(mapdb_root(&db, 5) == &c, "new root recorded");
}

static void test_chain(void)
{
    struct mapping *roots[4] = {0};
    struct mapping a, b, c;
    struct mapdb db;

    mapdb_init(&db, roots, 4);
    mapdb_insert_root(&db, &a, 2, SPACE(0), 0x1000, RWX);
    mapdb_insert_child(&a, &b, SPACE(1), 0x2000, R | W);
    mapdb_insert_child(&b, &c, SPACE(2), 0x3000, RWX);
    is(b.rights, R | W, "child rights = parent's & mask");
    is(c.rights, R | W, "grandchild cannot gain X back");
    ok(b.parent == &a && c.parent == &b && a.child == &b && b.child == &c, "chain A->B->C linked");
    is(c.pfn, 2, "children inherit the frame");
    ok(c.space == SPACE(2) && c.vaddr == 0x3000, "child records its space and vaddr");
    is(mapdb_count_descendants(&a), 2, "A has 2 descendants");

    ok(mapdb_find_leaf(&b, RWX, true) == &c, "deepest node first");
    ok(mapdb_find_leaf(&a, RWX, false) == &c, "also when starting at A");
    is(unmap(&db, &b, RWX, true), 2, "unmapping B's subtree including B takes 2 steps");
    ok(a.child == NULL, "A has no children left");
    is(a.rights, RWX, "A keeps its rights");
    ok(mapdb_root(&db, 2) == &a, "A is still the frame's root");
    ok(b.parent == NULL && b.rights == 0 && c.parent == NULL && c.rights == 0, "B and C unlinked");
    ok(c.space == SPACE(2) && c.vaddr == 0x3000, "unlinked node keeps space/vaddr for the page table");

    /* Same chain, B excluded: only C goes. */
    mapdb_insert_child(&a, &b, SPACE(1), 0x2000, R | W);
    mapdb_insert_child(&b, &c, SPACE(2), 0x3000, RWX);
    is(unmap(&db, &b, RWX, false), 1, "unmapping below B takes 1 step");
    ok(b.child == NULL && b.rights == (R | W) && a.child == &b, "B kept, C gone");

    /* Whole frame, root included: roots entry cleared at the end. */
    is(unmap(&db, &a, RWX, true), 2, "unmapping the frame including its root");
    ok(mapdb_root(&db, 2) == NULL, "frame no longer has a root");

    /* Defensive: unlink of a node with children does nothing. */
    mapdb_insert_root(&db, &a, 3, SPACE(0), 0, RWX);
    mapdb_insert_child(&a, &b, SPACE(1), 0, RWX);
    mapdb_unlink(&db, &a);
    ok(mapdb_root(&db, 3) == &a && a.child == &b && b.parent == &a && a.rights == RWX,
       "mapdb_unlink leaves a node with children alone");
}

static void test_partial(void)
{
    enum { A, B, C, D, E, N };
    struct mapping *roots[1] = {0};
    struct mapping m[N];
    bool live[N] = {true, true, true, true, true};
    struct mapdb db;

    mapdb_init(&db, roots, 1);
    mapdb_insert_root(&db, &m[A], 0, SPACE(0), 0, RWX);
    mapdb_insert_child(&m[A], &m[C], SPACE(2), 0, R | W);
    mapdb_insert_child(&m[A], &m[B], SPACE(1), 0, R | W);
    mapdb_insert_child(&m[B], &m[E], SPACE(4), 0, R);
    mapdb_insert_child(&m[B], &m[D], SPACE(3), 0, R | W);
    is(check_db(&db, m, live, N), 0, "partial-unmap tree consistent");

    ok(mapdb_find_leaf(&m[A], W, false) == &m[D], "first W leaf is D (deepest, first child)");
    is(unmap(&db, &m[A], W, false), 3, "removing W touches exactly B, C, D");
    int all_r = 1;
    for (int i = B; i < N; i++)
        all_r &= m[i].rights == R;
    ok(all_r, "every descendant lost W and kept R");
    is(m[A].rights, RWX, "top keeps W without include_top");
    is(mapdb_count_descendants(&m[A]), 4, "no node removed by a partial unmap");
    is(check_db(&db, m, live, N), 0, "tree consistent after partial unmap");
    ok(mapdb_find_leaf(&m[A], W, false) == NULL, "second pass finds nothing");
    is(unmap(&db, &m[A], W, false), 0, "second unmap takes no steps");
    ok(mapdb_find_leaf(&m[A], X, false) == NULL, "no descendant ever had X");

    is(unmap(&db, &m[A], W, true), 1, "with include_top only A itself is left to do");
    is(m[A].rights, R | X, "A lost W");

    is(unmap(&db, &m[A], R, false), 4, "removing R below A unlinks all four");
    ok(m[A].child == NULL && m[A].rights == (R | X), "A alone, with R and X");
    for (int i = B; i < N; i++)
        live[i] = false;
    is(check_db(&db, m, live, N), 0, "tree consistent after full unmap");
}

static void test_include_top(void)
{
    struct mapping *roots[1] = {0};
    struct mapping a, b;
    struct mapdb db;

    mapdb_init(&db, roots, 1);
    mapdb_insert_root(&db, &a, 0, SPACE(0), 0, R | W);
    ok(mapdb_find_leaf(&a, RWX, false) == NULL, "childless top, include_top false: NULL");
    ok(mapdb_find_leaf(&a, RWX, true) == &a, "childless top, include_top true: top");
    ok(mapdb_find_leaf(&a, X, true) == NULL, "top lacking the rights: NULL even with include_top");
    ok(mapdb_find_leaf(&a, W | X, true) == &a, "holding one of the rights is enough");

    mapdb_insert_child(&a, &b, SPACE(1), 0, R);
    ok(mapdb_find_leaf(&a, R, true) == &b, "descendant before top");
    ok(mapdb_find_leaf(&a, W, true) == &a, "child lacking W skipped: top returned");
    ok(mapdb_find_leaf(&a, W, false) == NULL, "child lacking W skipped: NULL without top");
    b.rights = 0; /* as if the caller had just stripped it */
    ok(mapdb_find_leaf(&a, R, true) == &a, "top last, once descendants lack the rights");
    ok(mapdb_find_leaf(&a, R, false) == NULL, "and NULL without include_top");
}

static void test_grant(void)
{
    struct mapping *roots[2] = {0};
    struct mapping a, b, c, d;
    struct mapdb db;

    mapdb_init(&db, roots, 2);
    mapdb_insert_root(&db, &a, 1, SPACE(0), 0x1000, RWX);
    mapdb_insert_child(&a, &b, SPACE(1), 0x2000, RWX);
    mapdb_insert_child(&b, &c, SPACE(2), 0x3000, R);
    mapdb_insert_child(&b, &d, SPACE(3), 0x4000, R | W);

    mapdb_move(&b, SPACE(7), 0x7000);
    ok(b.space == SPACE(7) && b.vaddr == 0x7000, "granted node has the new space and vaddr");
    ok(b.parent == &a && a.child == &b, "granted node keeps its parent");
    ok(b.child == &d && d.next == &c && c.parent == &b && d.parent == &b, "and its children");
    is(b.rights, RWX, "and its rights");
    is(b.pfn, 1, "and its frame");

    mapdb_move(&a, SPACE(8), 0x8000);
    ok(mapdb_root(&db, 1) == &a && a.space == SPACE(8), "granting the root keeps it the root");

    is(unmap(&db, &a, RWX, false), 3, "unmap after grant still reaches the moved subtree");
}

/* A frame whose root has a chain of `depth` below it and `width` direct
 * children; returns the number of nodes used. */
static long build_wide_deep(struct mapdb *db, struct mapping *pool, long depth, long width)
{
    long n = 0;
    mapdb_insert_root(db, &pool[n++], 0, SPACE(0), 0, RWX);
    struct mapping *p = &pool[0];
    for (long i = 0; i < depth; i++) {
        mapdb_insert_child(p, &pool[n], SPACE(i % 64), (uint64_t)i << 12, RWX);
        p = &pool[n++];
    }
    for (long i = 0; i < width; i++)
        mapdb_insert_child(&pool[0], &pool[n++], SPACE(i % 64), (uint64_t)i << 12,
                           (i & 1) ? RWX : (R | W));
    return n;
}

static void test_wide_deep(void)
{
    enum { DEPTH = 1000, WIDTH = 1000, N = 1 + DEPTH + WIDTH };
    static struct mapping pool[N];
    static bool live[N];
    struct mapping *roots[1] = {0};
    struct mapdb db;

    mapdb_init(&db, roots, 1);
    long n = build_wide_deep(&db, pool, DEPTH, WIDTH);
    for (long i = 0; i < n; i++)
        live[i] = true;
    is(n, N, "built a depth-1000 chain and a fan-out of 1000");
    is(mapdb_count_descendants(&pool[0]), N - 1, "count_descendants over the whole tree");
    is(mapdb_count_descendants(&pool[1]), DEPTH - 1, "count_descendants of the chain");
    is(check_db(&db, pool, live, N), 0, "wide+deep tree consistent");

    ok(mapdb_find_leaf(&pool[0], RWX, false) == &pool[N - 1], "newest wide child is the first leaf");
    leaf_errors = 0;
    is(unmap(&db, &pool[0], W, false), N - 1, "removing W: one step per descendant");
    int kept = 1;
    for (long i = 1; i < N; i++)
        kept &= (pool[i].rights & W) == 0 && (pool[i].rights & R) != 0;
    ok(kept, "all descendants lost W, kept R");
    is(mapdb_count_descendants(&pool[0]), N - 1, "none removed");
    is(check_db(&db, pool, live, N), 0, "consistent after partial unmap");

    is(unmap(&db, &pool[0], X, false), DEPTH + WIDTH / 2, "removing X touches only nodes with X");
    is(unmap(&db, &pool[0], RWX, false), N - 1, "removing everything: one step per descendant");
    ok(pool[0].child == NULL && pool[0].rights == RWX && mapdb_root(&db, 0) == &pool[0],
       "root alone and intact");
    for (long i = 1; i < N; i++)
        live[i] = false;
    is(check_db(&db, pool, live, N), 0, "consistent after full unmap");
    is(leaf_errors, 0, "every step's leaf met the find_leaf contract");

    /* Very deep chain: proves find_leaf and count_descendants use no stack
     * per level (a recursive version would overflow here under ASan). */
    enum { DEEP = 200000 };
    struct mapping *chain = calloc(DEEP, sizeof(*chain));
    struct mapping *croots[1] = {0};
    struct mapdb cdb;
    mapdb_init(&cdb, croots, 1);
    mapdb_insert_root(&cdb, &chain[0], 0, SPACE(0), 0, RWX);
    for (long i = 1; i < DEEP; i++)
        mapdb_insert_child(&chain[i - 1], &chain[i], SPACE(1), 0, RWX);
    is(mapdb_count_descendants(&chain[0]), DEEP - 1, "count_descendants on a 200000-deep chain");
    ok(mapdb_find_leaf(&chain[0], W, false) == &chain[DEEP - 1], "find_leaf reaches its bottom");
    chain[DEEP - 1].rights = R;
    ok(mapdb_find_leaf(&chain[0], W, false) == &chain[DEEP - 2], "and stops above a stripped leaf");
    free(chain);
}

/* xorshift64*: a fixed, portable sequence, so a failure can be replayed. */
static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}
static uint64_t rng_below(uint64_t n) { return rng() % n; }

static uint32_t random_rights(void)
{
    return 1 + (uint32_t)rng_below(RWX);
}

/* Random tree of n nodes on frame 0 built from the seed, so it can be built
 * twice identically. */
static void build_random(struct mapdb *db, struct mapping **roots, struct mapping *pool, long n,
                         uint64_t seed)
{
    uint64_t saved = rng_state;
    rng_state = seed;
    memset(pool, 0, sizeof(*pool) * (size_t)n);
    roots[0] = NULL;
    mapdb_init(db, roots, 1);
    mapdb_insert_root(db, &pool[0], 0, SPACE(0), 0, RWX);
    for (long i = 1; i < n; i++) {
        /* Bias parents toward recent nodes for depth, sometimes to old ones
         * for width. */
        long p = rng_below(4) ? i - 1 - (long)rng_below(i < 4 ? (uint64_t)i : 4)
                              : (long)rng_below((uint64_t)i);
        /* Mostly full masks, or rights would thin out within a few levels
         * and most unmaps would touch almost nothing. */
        uint32_t mask = RWX;
        if (rng_below(4) == 0)
            do
                mask = random_rights();
            while ((pool[p].rights & mask) == 0);
        mapdb_insert_child(&pool[p], &pool[i], SPACE(i % 64), (uint64_t)i << 12, mask);
    }
    rng_state = saved;
}

static long index_of(const struct mapping *pool, const struct mapping *m)
{
    return m ? m - pool : -1;
}

static void test_preemption(void)
{
    enum { N = 400, TRIALS = 300 };
    static struct mapping ref[N], pre[N];
    struct mapping *ref_roots[1], *pre_roots[1];
    struct mapdb ref_db, pre_db;
    int mismatches = 0, interrupted_trials = 0;
    uint64_t total_restarts = 0, total_steps = 0;

    leaf_errors = 0;
    for (int trial = 0; trial < TRIALS; trial++) {
        uint64_t seed = rng() | 1;
        build_random(&ref_db, ref_roots, ref, N, seed);
        build_random(&pre_db, pre_roots, pre, N, seed);

        long top = (long)rng_below(8);
        uint32_t rights = random_rights();
        bool include_top = rng_below(2);

        uint64_t ref_steps = unmap(&ref_db, &ref[top], rights, include_top);

        /* Stop after a random number of steps, then start over from the top,
         * as the kernel does after a preemption point. Between runs, grant
         * random nodes elsewhere: moves must not disturb the progress. */
        uint64_t pre_steps = 0, restarts = 0;
        bool done = false;
        while (!done) {
            uint64_t k = rng_below(6);
            pre_steps += unmap_steps(&pre_db, &pre[top], rights, include_top, k, &done);
            restarts++;
            long g = (long)rng_below(N);
            if (pre[g].rights != 0) {
                mapdb_move(&pre[g], SPACE(63), 0xdead000);
                mapdb_move(&ref[g], SPACE(63), 0xdead000);
            }
        }
        total_restarts += restarts;
        total_steps += ref_steps;
        if (restarts > 2)
            interrupted_trials++;

        bool same = pre_steps == ref_steps &&
                    index_of(pre, pre_roots[0]) == index_of(ref, ref_roots[0]);
        for (long i = 0; i < N && same; i++) {
            same = pre[i].rights == ref[i].rights &&
                   index_of(pre, pre[i].parent) == index_of(ref, ref[i].parent) &&
                   index_of(pre, pre[i].child) == index_of(ref, ref[i].child) &&
                   index_of(pre, pre[i].next) == index_of(ref, ref[i].next) &&
                   index_of(pre, pre[i].prev) == index_of(ref, ref[i].prev) &&
                   pre[i].space == ref[i].space && pre[i].vaddr == ref[i].vaddr;
        }
        if (!same && mismatches++ < 5)
            printf("#   trial %d: interrupted unmap differs from uninterrupted\n", trial);
    }
    printf("# preemption: %d trials, %" PRIu64 " steps, %" PRIu64
           " restarts, %d interrupted more than once\n",
           TRIALS, total_steps, total_restarts, interrupted_trials);
    is(mismatches, 0, "interrupted and restarted unmaps end exactly as uninterrupted ones");
    ok(interrupted_trials > TRIALS / 2, "most trials were interrupted repeatedly");
    is(leaf_errors, 0, "every step's leaf met the find_leaf contract");
}

/* Randomized operations against a reference model. */
enum { RN = 300, RFRAMES = 8 };
static struct mapping rpool[RN];
static bool mlive[RN];
static long mparent[RN]; /* -1: root */
static uint32_t mrights[RN];
static uint64_t mpfn[RN];

static bool model_below(long i, long top)
{
    for (long p = mparent[i]; p >= 0; p = mparent[p])
        if (p == top)
            return true;
    return false;
}

static long pick_live(void)
{
    long i;
    do
        i = (long)rng_below(RN);
    while (!mlive[i]);
    return i;
}

static long pick_free(void)
{
    long start = (long)rng_below(RN);
    for (long k = 0; k < RN; k++) {
        long i = (start + k) % RN;
        if (!mlive[i])
            return i;
    }
    return -1;
}

static int compare_model(const struct mapdb *db)
{
    int bad = 0;
    for (long i = 0; i < RN; i++) {
        if (!mlive[i])
            continue;
        const struct mapping *want = mparent[i] >= 0 ? &rpool[mparent[i]] : NULL;
        if (rpool[i].parent != want)
            report(&bad, "parent differs from model", i);
        if (rpool[i].rights != mrights[i])
            report(&bad, "rights differ from model", i);
        if (rpool[i].pfn != mpfn[i])
            report(&bad, "frame differs from model", i);
        if (want == NULL && db->roots[mpfn[i]] != &rpool[i])
            report(&bad, "root differs from model", i);
    }
    return bad;
}

static void test_random(void)
{
    struct mapping *roots[RFRAMES] = {0};
    struct mapdb db;
    int violations = 0, ops;
    uint64_t nroots = 0, nchildren = 0, nmoves = 0, nunmaps = 0, nsteps = 0, dup_root_ok = 0;

    mapdb_init(&db, roots, RFRAMES);
    leaf_errors = 0;
    for (ops = 0; ops < 20000 && violations == 0; ops++) {
        long nlive = 0;
        for (long i = 0; i < RN; i++)
            nlive += mlive[i];
        uint64_t r = rng_below(100);

        if (nlive == 0 || r < 5) {
            uint64_t pfn = rng_below(RFRAMES + 1); /* one past the end: must fail */
            long f = pick_free();
            if (f < 0)
                continue;
            uint32_t rights = random_rights();
            bool want = pfn < RFRAMES && roots[pfn] == NULL;
            bool got = mapdb_insert_root(&db, &rpool[f], pfn, SPACE(f % 64), 0, rights);
            if (got != want)
                report(&violations, "insert_root result differs from model", f);
            if (got) {
                mlive[f] = true;
                mparent[f] = -1;
                mrights[f] = rights;
                mpfn[f] = pfn;
                nroots++;
            } else {
                dup_root_ok++;
            }
        } else if (r < 70 && nlive < RN) {
            long p = pick_live(), f = pick_free();
            uint32_t mask = RWX;
            if (rng_below(2))
                do
                    mask = random_rights();
                while ((mrights[p] & mask) == 0);
            mapdb_insert_child(&rpool[p], &rpool[f], SPACE(f % 64), (uint64_t)f << 12, mask);
            mlive[f] = true;
            mparent[f] = p;
            mrights[f] = mrights[p] & mask;
            mpfn[f] = mpfn[p];
            nchildren++;
        } else if (r < 75) {
            long g = pick_live();
            mapdb_move(&rpool[g], SPACE(rng_below(64)), rng() & ~0xfffull);
            nmoves++;
        } else {
            long top = pick_live();
            uint32_t rights = random_rights();
            bool include_top = rng_below(2);
            uint64_t want_steps = 0;

            /* Model: every node in the subtree holding any of the rights
             * loses them, once; nodes left with none disappear. */
            bool hit[RN] = {0};
            for (long i = 0; i < RN; i++)
                if (mlive[i] && (model_below(i, top) || (include_top && i == top)) &&
                    (mrights[i] & rights))
                    hit[i] = true;
            for (long i = 0; i < RN; i++) {
                if (!hit[i])
                    continue;
                want_steps++;
                mrights[i] &= ~rights;
            }
            for (long i = 0; i < RN; i++)
                if (hit[i] && mrights[i] == 0)
                    mlive[i] = false;

            /* Interrupted at random points, like a preemptible unmap. */
            bool done = false;
            uint64_t steps = 0;
            while (!done)
                steps += unmap_steps(&db, &rpool[top], rights, include_top, 1 + rng_below(8),
                                     &done);
            if (steps != want_steps)
                report(&violations, "unmap step count differs from model", top);
            nunmaps++;
            nsteps += steps;
        }
        violations += check_db(&db, rpool, mlive, RN);
        violations += compare_model(&db);
    }
    if (violations)
        printf("#   first violation at op %d\n", ops - 1);
    printf("# random: %d ops, %" PRIu64 " roots (%" PRIu64 " refused), %" PRIu64
           " children, %" PRIu64 " moves, %" PRIu64 " unmaps in %" PRIu64 " steps\n",
           ops, nroots, dup_root_ok, nchildren, nmoves, nunmaps, nsteps);
    is(violations, 0, "randomized map/grant/unmap keeps the database consistent and equal to the model");
    is(leaf_errors, 0, "every step's leaf met the find_leaf contract");
    ok(nroots > 50 && nchildren > 5000 && nunmaps > 2000 && dup_root_ok > 100,
       "randomized run exercised every operation");
}

int main(void)
{
    test_roots();
    test_chain();
    test_partial();
    test_include_top();
    test_grant();
    test_wide_deep();
    test_preemption();
    test_random();
    return done_testing();
}
