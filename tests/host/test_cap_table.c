/*
 * Host tests for kernel/cap_table.c: slot lookup, derivation with rights
 * masking, leaf-first revocation, free-slot search, and a randomized run
 * against a reference model that checks the tree invariants after every step.
 */
#include "cap_table.h"

#include "abi/objects.h"
#include "tap.h"

#include <string.h>

#define NSLOTS 64u

/*
 * The kernel's table is a directory of slot pages allocated on demand. Most
 * tests lay the pages over one flat array, so slot i is storage[i] and the
 * invariant checks can walk the array; test_lazy_pages covers the
 * on-demand allocation itself.
 */
#define MAX_DIR 64u
static struct cap *dir_pool[8][MAX_DIR];
static unsigned dir_next;

static void flat_init(struct cap_table *t, struct cap *storage, uint32_t size)
{
    struct cap **dir = dir_pool[dir_next++ % 8];
    for (uint32_t i = 0; i < cap_table_pages(size) && i < MAX_DIR; i++) dir[i] = storage + (size_t)i * CAP_PAGE_SLOTS;
    cap_table_init(t, dir, size);
}

static struct cap *flat_slots(const struct cap_table *t) { return t->pages[0]; }

/* Distinct addresses to stand in for kernel objects; never dereferenced. */
static char fake_objs[16];
#define OBJ(i) ((struct kobj *)&fake_objs[i])

/* The kernel's revoke loop: leaf first, one step at a time, until c has no
 * children left. Returns the number of steps. The step limit only turns a
 * broken tree into a test failure instead of a hang. */
static uint64_t revoke(struct cap *c)
{
    uint64_t steps = 0;

    while (c->child != NULL) {
        struct cap *leaf = cap_find_leaf(c);
        if (leaf == c || leaf->child != NULL || cap_is_empty(leaf) || steps > 1000000) {
            printf("#   revoke makes no progress\n");
            return UINT64_MAX;
        }
        cap_unlink(leaf);
        steps++;
    }
    return steps;
}

static int report_violation(int *count, const char *what, uint64_t slot)
{
    if (*count < 5)
        printf("#   invariant violated at slot %" PRIu64 ": %s\n", slot, what);
    (*count)++;
    return 0;
}

static bool in_table(const struct cap_table *t, const struct cap *c)
{
    return c >= flat_slots(t) && c < flat_slots(t) + t->size;
}

/*
 * Every link consistent with its counterpart, every pointer lands on a
 * non-empty slot of this table, child rights within parent rights, same
 * object as the parent, no empty slot linked, and no cycles (every parent
 * chain ends within size steps, every child list is as long as the number of
 * caps naming that parent). Returns the number of violations.
 */
static int check_tree(const struct cap_table *t)
{
    int bad = 0;

    for (uint64_t i = 0; i < t->size; i++) {
        const struct cap *c = &flat_slots(t)[i];
        if (cap_is_empty(c)) {
            if (c->parent || c->child || c->next || c->prev || c->rights || c->type)
                report_violation(&bad, "empty slot with links or rights", i);
            continue;
        }
        if (i == 0)
            report_violation(&bad, "slot 0 in use", i);
        if (c->parent != NULL) {
            const struct cap *p = c->parent;
            if (!in_table(t, p) || cap_is_empty(p)) {
                report_violation(&bad, "parent outside table or empty", i);
                continue;
            }
            if ((c->rights & ~p->rights) != 0)
                report_violation(&bad, "rights exceed parent's", i);
            if (c->obj != p->obj || c->type != p->type)
                report_violation(&bad, "object differs from parent's", i);
        } else if (c->next != NULL || c->prev != NULL) {
            report_violation(&bad, "original with siblings", i);
        }
        if (c->prev != NULL) {
            if (!in_table(t, c->prev) || cap_is_empty(c->prev) || c->prev->next != c ||
                c->prev->parent != c->parent)
                report_violation(&bad, "prev link inconsistent", i);
        } else if (c->parent != NULL && c->parent->child != c) {
            report_violation(&bad, "list head not parent's first child", i);
        }
        if (c->next != NULL) {
            if (!in_table(t, c->next) || cap_is_empty(c->next) || c->next->prev != c ||
                c->next->parent != c->parent)
                report_violation(&bad, "next link inconsistent", i);
        }
        if (c->child != NULL) {
            if (!in_table(t, c->child) || cap_is_empty(c->child) || c->child->parent != c ||
                c->child->prev != NULL)
                report_violation(&bad, "first child inconsistent", i);
        }
        /* Parent chain must terminate: a cycle would make revocation loop. */
        uint64_t depth = 0;
        for (const struct cap *a = c->parent; a != NULL && depth <= t->size; a = a->parent)
            depth++;
        if (depth > t->size)
            report_violation(&bad, "parent cycle", i);
    }
    /* Child lists hold exactly the caps naming that parent. */
    for (uint64_t i = 0; i < t->size; i++) {
        const struct cap *c = &flat_slots(t)[i];
        uint64_t naming = 0, listed = 0;
        if (cap_is_empty(c))
            continue;
        for (uint64_t j = 0; j < t->size; j++)
            if (!cap_is_empty(&flat_slots(t)[j]) && flat_slots(t)[j].parent == c)
                naming++;
        for (const struct cap *k = c->child; k != NULL && listed <= t->size; k = k->next)
            listed++;
        if (naming != listed)
            report_violation(&bad, "child list length differs from caps naming it", i);
    }
    return bad;
}

static void test_init_and_slots(void)
{
    struct cap storage[NSLOTS];
    struct cap_table t;

    memset(storage, 0, sizeof(storage));
    flat_init(&t, storage, NSLOTS);
    ok(flat_slots(&t) == storage && t.size == NSLOTS, "init records storage and size");
    ok(cap_slot(&t, 0) == NULL, "slot 0 is never valid");
    ok(cap_slot(&t, 1) == &storage[1], "slot 1 is the second array element");
    ok(cap_slot(&t, NSLOTS - 1) == &storage[NSLOTS - 1], "last slot is valid");
    ok(cap_slot(&t, NSLOTS) == NULL, "slot == size is out of range");
    ok(cap_slot(&t, UINT64_MAX) == NULL, "huge selector is out of range");
    ok(cap_slot(&t, (1ull << 32) + 1) == NULL, "selector that would wrap to 1 in 32 bits");
    ok(cap_lookup(&t, 1) == NULL, "lookup of an empty slot fails");
    ok(cap_lookup(&t, 0) == NULL, "lookup of slot 0 fails");
    ok(cap_is_empty(cap_slot(&t, 5)), "fresh slots are empty");
    is(check_tree(&t), 0, "empty table satisfies the invariants");
}

static void test_install_and_derive(void)
{
    struct cap storage[NSLOTS];
    struct cap_table t;

    memset(storage, 0, sizeof(storage));
    flat_init(&t, storage, NSLOTS);

    struct cap *a = cap_slot(&t, 1);
    cap_install_original(a, OBJ(1), ABI_OBJ_GATE, ABI_R_SEND | ABI_R_COPY);
    ok(cap_lookup(&t, 1) == a, "lookup finds the installed original");
    ok(cap_is_original(a), "installed cap is an original");
    is(a->type, ABI_OBJ_GATE, "type recorded");
    is(a->rights, ABI_R_SEND | ABI_R_COPY, "rights recorded");
    ok(a->obj == OBJ(1), "object recorded");

    struct cap *b = cap_slot(&t, 2);
    cap_derive(a, b, ABI_R_ALL);
    ok(!cap_is_original(b) && b->parent == a, "derived cap is a child of its source");
    is(b->rights, ABI_R_SEND | ABI_R_COPY, "full mask keeps the source's rights, adds none");
    ok(b->obj == a->obj && b->type == a->type, "derived cap names the same object");

    struct cap *c = cap_slot(&t, 3);
    cap_derive(a, c, ABI_R_SEND | ABI_R_CTRL);
    is(c->rights, ABI_R_SEND, "CTRL not granted: rights never grow");
    ok(a->child == c && c->next == b && b->prev == c && c->prev == NULL,
       "newest child is at the head of the child list");

    struct cap *d = cap_slot(&t, 4);
    cap_derive(c, d, ABI_R_ALL);
    is(d->rights, ABI_R_SEND, "grandchild cannot regain rights the child lost");
    struct cap *e = cap_slot(&t, 5);
    cap_derive(d, e, 0);
    is(e->rights, 0, "zero mask gives a cap without rights");
    ok(!cap_is_empty(e), "a cap without rights still occupies its slot");

    is(cap_count_descendants(a), 4, "a has 4 descendants");
    is(cap_count_descendants(c), 2, "c has 2 descendants");
    is(cap_count_descendants(e), 0, "leaf has none");
    ok(cap_find_leaf(a) == e, "find_leaf follows first children to the deepest");
    ok(cap_find_leaf(b) == b, "find_leaf of a leaf is the leaf itself");
    is(check_tree(&t), 0, "invariants hold after derivations");
}

/*
 * Tree used below (slot numbers):
 *        1            9 (unrelated original)
 *      / | \
 *     2  3  4
 *    /|     |
 *   5 6     7
 *   |
 *   8
 */
static void build_sample(struct cap_table *t, struct cap *storage)
{
    memset(storage, 0, sizeof(struct cap) * NSLOTS);
    flat_init(t, storage, NSLOTS);
    cap_install_original(cap_slot(t, 1), OBJ(1), ABI_OBJ_THREAD, ABI_R_ALL);
    cap_derive(cap_slot(t, 1), cap_slot(t, 4), ABI_R_ALL);
    cap_derive(cap_slot(t, 1), cap_slot(t, 3), ABI_R_SEND);
    cap_derive(cap_slot(t, 1), cap_slot(t, 2), ABI_R_ALL);
    cap_derive(cap_slot(t, 2), cap_slot(t, 6), ABI_R_CTRL);
    cap_derive(cap_slot(t, 2), cap_slot(t, 5), ABI_R_ALL);
    cap_derive(cap_slot(t, 5), cap_slot(t, 8), ABI_R_COPY);
    cap_derive(cap_slot(t, 4), cap_slot(t, 7), ABI_R_ALL);
    cap_install_original(cap_slot(t, 9), OBJ(2), ABI_OBJ_IRQ, ABI_R_ALL);
}

static void test_revoke(void)
{
    struct cap storage[NSLOTS];
    struct cap_table t;

    build_sample(&t, storage);
    is(check_tree(&t), 0, "sample tree is consistent");
    is(cap_count_descendants(cap_slot(&t, 1)), 7, "root of sample has 7 descendants");

    /* Revoke the whole tree below 1: 1 itself and 9 must survive. */
    is(revoke(cap_slot(&t, 1)), 7, "revoking 1 takes one step per descendant");
    ok(cap_lookup(&t, 1) != NULL, "the revoked cap itself survives");
    is(cap_slot(&t, 1)->rights, ABI_R_ALL, "and keeps its rights");
    ok(cap_slot(&t, 1)->child == NULL, "and has no children");
    int gone = 0;
    for (uint64_t i = 2; i <= 8; i++)
        gone += cap_lookup(&t, i) == NULL;
    is(gone, 7, "every descendant slot is empty");
    ok(cap_lookup(&t, 9) != NULL, "unrelated original untouched");
    is(check_tree(&t), 0, "invariants hold after revoke");

    /* Delete the middle node 2 with its subtree; 3, 4, 7 and 1 stay. */
    build_sample(&t, storage);
    struct cap *two = cap_slot(&t, 2);
    is(revoke(two), 3, "revoking 2 removes 5, 6, 8");
    cap_unlink(two);
    ok(cap_is_empty(two), "2 deleted after its subtree");
    ok(cap_lookup(&t, 3) && cap_lookup(&t, 4) && cap_lookup(&t, 7), "siblings and cousins kept");
    ok(cap_slot(&t, 1)->child == cap_slot(&t, 3), "parent's first child is now 3");
    ok(cap_slot(&t, 3)->prev == NULL, "3 is the list head");
    is(cap_count_descendants(cap_slot(&t, 1)), 3, "1 keeps 3, 4, 7");
    is(check_tree(&t), 0, "invariants hold after deleting a middle subtree");

    /* Unlinking a middle list member and a list tail. */
    build_sample(&t, storage);
    cap_unlink(cap_slot(&t, 3));
    ok(cap_slot(&t, 2)->next == cap_slot(&t, 4) && cap_slot(&t, 4)->prev == cap_slot(&t, 2),
       "unlinking a middle sibling joins its neighbours");
    revoke(cap_slot(&t, 4));
    cap_unlink(cap_slot(&t, 4));
    ok(cap_slot(&t, 2)->next == NULL, "unlinking the tail ends the list");
    is(check_tree(&t), 0, "invariants hold after sibling unlinks");

    /* Defensive: a cap with children is not unlinked. */
    build_sample(&t, storage);
    cap_unlink(cap_slot(&t, 2));
    ok(cap_lookup(&t, 2) != NULL && cap_slot(&t, 2)->child != NULL,
       "cap_unlink leaves a cap with children alone");
    is(check_tree(&t), 0, "and the tree intact");

    /* Unlinking an original without children empties the slot completely. */
    cap_unlink(cap_slot(&t, 9));
    ok(cap_is_empty(cap_slot(&t, 9)), "childless original can be deleted");
    is(check_tree(&t), 0, "slot fully cleared");
}

static void test_find_free(void)
{
    struct cap storage[NSLOTS];
    struct cap_table t;

    memset(storage, 0, sizeof(storage));
    flat_init(&t, storage, NSLOTS);

    is(cap_find_free(&t, 0, NSLOTS), 1, "window starting at 0 never yields slot 0");
    is(cap_find_free(&t, 0, 1), 0, "window holding only slot 0 has no free slot");
    is(cap_find_free(&t, 0, 0), 0, "empty window");
    is(cap_find_free(&t, 10, 0), 0, "empty window at 10");
    is(cap_find_free(&t, 10, 5), 10, "first slot of the window");
    is(cap_find_free(&t, NSLOTS - 1, 1), NSLOTS - 1, "last slot of the table");
    is(cap_find_free(&t, NSLOTS, 1), 0, "window starting at size");
    is(cap_find_free(&t, UINT64_MAX, 10), 0, "window starting far out of range");
    is(cap_find_free(&t, 60, UINT64_MAX), 60, "huge count clamped to the table");
    is(cap_find_free(&t, 2, UINT64_MAX - 1), 2, "first + count wrapping to 0 clamped");

    for (uint64_t i = 1; i < NSLOTS; i++)
        cap_install_original(cap_slot(&t, i), OBJ(1), ABI_OBJ_GATE, ABI_R_ALL);
    is(cap_find_free(&t, 0, UINT64_MAX), 0, "full table has no free slot");
    cap_unlink(cap_slot(&t, 40));
    is(cap_find_free(&t, 1, NSLOTS), 40, "the one free slot is found");
    is(cap_find_free(&t, 41, NSLOTS), 0, "not found past it");
    is(cap_find_free(&t, 30, 10), 0, "window ending just before it");
    is(cap_find_free(&t, 30, 11), 40, "window ending on it");
}

/* xorshift64*: a fixed, portable sequence, so a failure can be replayed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}
static uint64_t rng_below(uint64_t n) { return rng() % n; }

#define RSLOTS 200u

/* Reference model: which slots are in use, and each one's parent index. */
static bool model_used[RSLOTS];
static uint32_t model_parent[RSLOTS]; /* 0: original */
static uint8_t model_rights[RSLOTS];
static unsigned model_depth[RSLOTS]; /* 0: original */
static unsigned depth_mismatch;

static bool model_is_descendant(uint32_t i, uint32_t anc)
{
    for (uint32_t p = model_parent[i]; p != 0; p = model_parent[p])
        if (p == anc)
            return true;
    return false;
}

static int compare_model(const struct cap_table *t)
{
    int bad = 0;
    for (uint32_t i = 1; i < RSLOTS; i++) {
        const struct cap *c = &flat_slots(t)[i];
        if (model_used[i] != !cap_is_empty(c)) {
            report_violation(&bad, "occupancy differs from model", i);
            continue;
        }
        if (!model_used[i])
            continue;
        const struct cap *want = model_parent[i] ? &flat_slots(t)[model_parent[i]] : NULL;
        if (c->parent != want)
            report_violation(&bad, "parent differs from model", i);
        if (c->rights != model_rights[i])
            report_violation(&bad, "rights differ from model", i);
    }
    return bad;
}

static void test_random(void)
{
    static struct cap storage[RSLOTS];
    struct cap_table t;
    int violations = 0, steps = 0;
    uint64_t derives = 0, revokes = 0, deletes = 0, originals = 0, max_desc = 0;

    memset(storage, 0, sizeof(storage));
    flat_init(&t, storage, RSLOTS);

    for (int op = 0; op < 20000; op++) {
        uint32_t used = 0;
        for (uint32_t i = 1; i < RSLOTS; i++)
            used += model_used[i];
        uint64_t r = rng_below(100);

        if (used == 0 || r < 3) {
            uint64_t dst = cap_find_free(&t, 1 + rng_below(RSLOTS - 1), RSLOTS);
            if (dst == 0)
                dst = cap_find_free(&t, 1, RSLOTS);
            if (dst != 0) {
                uint8_t rights = (uint8_t)rng_below(8);
                cap_install_original(cap_slot(&t, dst), OBJ(rng_below(16)), ABI_OBJ_GATE,
                                     rights);
                model_used[dst] = true;
                model_parent[dst] = 0;
                model_depth[dst] = 0;
                model_rights[dst] = rights;
                originals++;
            }
        } else if (r < 75 && used < RSLOTS - 1) {
            uint32_t src, dst;
            do
                src = 1 + (uint32_t)rng_below(RSLOTS - 1);
            while (!model_used[src]);
            do
                dst = 1 + (uint32_t)rng_below(RSLOTS - 1);
            while (model_used[dst]);
            uint8_t mask = (uint8_t)rng_below(8);
            bool made = cap_derive(cap_slot(&t, src), cap_slot(&t, dst), mask);
            if (made != (model_depth[src] < CAP_MAX_DEPTH))
                depth_mismatch++;
            if (!made)
                continue;
            model_depth[dst] = model_depth[src] + 1;
            model_used[dst] = true;
            model_parent[dst] = src;
            model_rights[dst] = model_rights[src] & mask;
            derives++;
        } else {
            uint32_t s;
            do
                s = 1 + (uint32_t)rng_below(RSLOTS - 1);
            while (!model_used[s]);
            uint64_t want = 0;
            for (uint32_t i = 1; i < RSLOTS; i++)
                if (model_used[i] && model_is_descendant(i, s))
                    want++;
            if (cap_count_descendants(cap_slot(&t, s)) != want)
                report_violation(&violations, "count_descendants differs from model", s);
            if (want > max_desc)
                max_desc = want;
            uint64_t got = revoke(cap_slot(&t, s));
            if (got != want)
                report_violation(&violations, "revoke step count differs from model", s);
            for (uint32_t i = 1; i < RSLOTS; i++)
                if (model_used[i] && model_is_descendant(i, s))
                    model_used[i] = false;
            /* Mark only after the scan above: clearing parents mid-scan
             * would cut chains that later slots still need. */
            for (uint32_t i = 1; i < RSLOTS; i++)
                if (!model_used[i])
                    model_parent[i] = 0;
            revokes++;
            if (rng_below(2)) {
                cap_unlink(cap_slot(&t, s));
                model_used[s] = false;
                model_parent[s] = 0;
                deletes++;
            }
        }
        violations += check_tree(&t);
        violations += compare_model(&t);
        steps++;
        if (violations > 0) {
            printf("#   first violation after op %d\n", op);
            break;
        }
    }
    printf("# random: %d ops, %" PRIu64 " originals, %" PRIu64 " derives, %" PRIu64
           " revokes (largest subtree %" PRIu64 "), %" PRIu64 " deletes\n",
           steps, originals, derives, revokes, max_desc, deletes);
    is(violations, 0, "randomized derive/revoke keeps the tree consistent and equal to the model");
    ok(derives > 5000 && revokes > 1000 && max_desc > 10, "randomized run exercised large subtrees");
    is(depth_mismatch, 0, "derivation is refused exactly when the source is CAP_MAX_DEPTH deep");
}

static int lazy_allocs;
static void *lazy_alloc(void *ctx)
{
    lazy_allocs++;
    return ctx ? calloc(1, CAP_PAGE_BYTES) : NULL;
}

static void test_lazy_pages(void)
{
    struct cap *dir[4] = {0};
    struct cap_table t;
    uint32_t size = 3 * CAP_PAGE_SLOTS + 5;
    cap_table_init(&t, dir, size);
    is(cap_table_pages(size), 4, "a table of 3 pages + 5 slots needs 4 directory entries");
    ok(cap_slot(&t, 1) == NULL && cap_lookup(&t, 1) == NULL, "a slot in an absent page is reported as no slot, and empty");
    is(cap_find_free(&t, 1, 10), 1, "a slot in an absent page counts as free");
    lazy_allocs = 0;
    struct cap *a = cap_slot_alloc(&t, CAP_PAGE_SLOTS + 3, lazy_alloc, (void *)1);
    ok(a != NULL && dir[1] != NULL && dir[0] == NULL, "filling a slot allocates only its page");
    ok(cap_slot_alloc(&t, CAP_PAGE_SLOTS + 4, lazy_alloc, (void *)1) == a + 1 && lazy_allocs == 1,
       "a second slot in the same page allocates nothing");
    ok(cap_slot(&t, CAP_PAGE_SLOTS + 3) == a && cap_is_empty(a), "the new page's slots start empty");
    cap_install_original(a, OBJ(7), ABI_OBJ_GATE, ABI_R_ALL);
    ok(cap_lookup(&t, CAP_PAGE_SLOTS + 3) == a, "lookup finds the installed capability");
    ok(cap_slot_alloc(&t, 0, lazy_alloc, (void *)1) == NULL && cap_slot_alloc(&t, size, lazy_alloc, (void *)1) == NULL,
       "slot 0 and slots beyond the table are never allocated");
    ok(cap_slot_alloc(&t, 2 * CAP_PAGE_SLOTS, lazy_alloc, NULL) == NULL && dir[2] == NULL,
       "a failed page allocation yields no slot");
    ok(cap_slot_alloc(&t, size - 1, lazy_alloc, (void *)1) != NULL && dir[3] != NULL, "the partial last page works");
    for (unsigned i = 0; i < 4; i++) free(dir[i]);
}

static void test_depth_limit(void)
{
    static struct cap storage[CAP_MAX_DEPTH + 8];
    struct cap_table t;
    memset(storage, 0, sizeof storage);
    flat_init(&t, storage, CAP_MAX_DEPTH + 8);
    cap_install_original(cap_slot(&t, 1), OBJ(3), ABI_OBJ_GATE, ABI_R_ALL);
    unsigned made = 0;
    for (unsigned i = 1; i < CAP_MAX_DEPTH + 4 && cap_derive(cap_slot(&t, i), cap_slot(&t, i + 1), ABI_R_ALL); i++)
        made++;
    is(made, CAP_MAX_DEPTH, "a chain of copies stops at CAP_MAX_DEPTH (%u) levels", CAP_MAX_DEPTH);
    ok(cap_is_empty(cap_slot(&t, CAP_MAX_DEPTH + 2)), "the refused copy leaves its slot empty");
    is(cap_slot(&t, CAP_MAX_DEPTH + 1)->depth, CAP_MAX_DEPTH, "the deepest copy records its depth");
    is(revoke(cap_slot(&t, 1)), CAP_MAX_DEPTH, "revoking the original removes the whole chain");
}

int main(void)
{
    test_lazy_pages();
    test_depth_limit();
    test_init_and_slots();
    test_install_and_derive();
    test_revoke();
    test_find_free();
    test_random();
    return done_testing();
}
