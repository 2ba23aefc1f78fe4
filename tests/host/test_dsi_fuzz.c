/*
 * Fuzz test for dsi/: a hostile peer corrupts the control area at random
 * (fixed seeds) while an honest side runs in another thread. ASan and UBSan
 * watch the honest side; the control and data areas are heap blocks of
 * exactly their size, so any access outside them is reported.
 *
 * Three scenarios, each over many rounds with different socket modes:
 *  A  hostile sender: the attacker mixes real commits with garbage; the
 *     honest receiver reads every byte of every packet it gets;
 *  B  hostile receiver: the attacker mixes real releases with garbage; the
 *     honest sender allocates and writes every byte of its packets;
 *  C  honest sender and honest receiver, a third thread corrupting.
 * The attacker writes random words, plausible-but-wrong state words, SG
 * elements at and around the data area's bounds, header fields and event
 * bits, toggles WAIT bits, and now and then re-initialises the stream so
 * real traffic flows again. The honest side re-attaches after every
 * DSI_E_CORRUPT and goes on.
 *
 * Asserted: the honest side only ever sees the results its role may see
 * (OK, CORRUPT, TIMEOUT, AGAIN, EOS, DROPPED, PEER_CLOSED, and BADHDR when
 * re-attaching), DSI_E_CORRUPT is sticky, every data pointer it gets lies
 * inside the data area, and it finishes (no unbounded wait).
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsi.h"
#include "dsi_host.h"
#include "tap.h"

#define N_PACKETS 8u
#define MAX_SG 3u
#define DATA_SIZE 4096u
#define TMO_NS 2000000ull /* 2 ms: the honest side's blocking timeout */
#define ROUNDS 200
#define ACTIONS 4000

static uint64_t rnd(uint64_t *s)
{
    /* xorshift64*: small, fast, and the same sequence on every run. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

struct arena {
    uint8_t *ctrl;
    uint64_t ctrl_size;
    uint8_t *data;
    int stop;
    int gen; /* bumped by every re-initialisation (a controller restart) */
};

static struct dsi_desc *desc_at(struct arena *a, uint32_t i)
{
    return (struct dsi_desc *)(a->ctrl + DSI_HEADER_SIZE) + i;
}

static struct dsi_sg *sg_at(struct arena *a, uint32_t i)
{
    return (struct dsi_sg *)(a->ctrl + DSI_HEADER_SIZE + N_PACKETS * DSI_DESC_SIZE) + i;
}

static bool stopped(struct arena *a)
{
    return __atomic_load_n(&a->stop, __ATOMIC_ACQUIRE);
}

/* ----------------------------------------------------------- honest sides */

struct tally {
    uint64_t count[DSI_E_COUNT];
    uint64_t unexpected, out_of_bounds, not_sticky, bytes;
};

static struct dsi_config honest_config(uint32_t mode)
{
    static const uint32_t flags[4] = {0, 0, DSI_F_NONBLOCK, DSI_F_DROP_EXPIRED | DSI_F_STAMP};
    return (struct dsi_config){.flags = flags[mode % 4],
                               .spin = mode % 4 == 1 ? 20 : 0,
                               .timeout_ns = TMO_NS,
                               .env = dsi_host_env()};
}

/* Like a component told by its controller that the stream was set up
 * again: wait for a new generation (unless `now`), then attach, retrying
 * while the header is corrupt. False once stopped. */
static bool honest_attach(struct arena *a, struct dsi_socket *s, enum dsi_role role,
                          uint32_t mode, struct tally *t, int *gen, bool now)
{
    struct dsi_config c = honest_config(mode);
    for (;;) {
        int g = __atomic_load_n(&a->gen, __ATOMIC_ACQUIRE);
        if (now || g != *gen) {
            now = false;
            *gen = g;
            int r = dsi_attach(s, role, a->ctrl, a->ctrl_size, a->data, DATA_SIZE, &c);
            if (r == DSI_E_OK) return true;
            if (r != DSI_E_BADHDR) t->unexpected++;
            t->count[r < DSI_E_COUNT ? r : 0]++;
        }
        if (stopped(a)) return false;
        sched_yield();
    }
}

static bool in_data(struct arena *a, const uint8_t *p, uint64_t len)
{
    return p >= a->data && len <= DATA_SIZE && p + len <= a->data + DATA_SIZE;
}

struct honest {
    struct arena *a;
    uint32_t mode;
    struct tally t;
};

static void note(struct tally *t, int r, const int *allowed)
{
    if (r >= 0 && r < DSI_E_COUNT) t->count[r]++;
    for (; *allowed >= 0; allowed++)
        if (r == *allowed) return;
    if (!t->unexpected) printf("# unexpected result %d (%s)\n", r, dsi_strerror(r));
    t->unexpected++;
}

static void *honest_receiver(void *arg)
{
    struct honest *h = arg;
    struct arena *a = h->a;
    static const int get_ok[] = {DSI_E_OK, DSI_E_CORRUPT, DSI_E_TIMEOUT, DSI_E_AGAIN, DSI_E_EOS, -1};
    static const int rel_ok[] = {DSI_E_OK, DSI_E_CORRUPT, -1};
    struct dsi_socket rx;
    int gen = 0;
    if (!honest_attach(a, &rx, DSI_RECEIVER, h->mode, &h->t, &gen, true)) return NULL;
    while (!stopped(a)) {
        struct dsi_packet p;
        int r = dsi_rx_get(&rx, &p);
        note(&h->t, r, get_ok);
        if (r == DSI_E_OK) {
            for (uint32_t i = 0; i < p.nsg; i++) {
                uint64_t len = 0;
                volatile uint8_t *b = dsi_packet_data(&rx, &p, i, &len);
                if (!b || !in_data(a, (const uint8_t *)b, len)) {
                    h->t.out_of_bounds++;
                    continue;
                }
                for (uint64_t k = 0; k < len; k++) (void)b[k]; /* ASan checks each */
                h->t.bytes += len;
            }
            r = dsi_rx_release(&rx, &p);
            note(&h->t, r, rel_ok);
        }
        if (r == DSI_E_CORRUPT) {
            struct dsi_packet q;
            if (dsi_rx_get(&rx, &q) != DSI_E_CORRUPT) h->t.not_sticky++;
            if (!honest_attach(a, &rx, DSI_RECEIVER, h->mode, &h->t, &gen, false)) break;
        } else if (r != DSI_E_OK) {
            sched_yield();
        }
    }
    return NULL;
}

/* The sender's allocator spans the data area the header announced at
 * attach (a corrupt header may announce less than is mapped); one too
 * small for the largest request counts as a bad header. */
static bool sender_attach(struct arena *a, struct dsi_socket *tx, uint32_t mode,
                          struct tally *t, uint64_t *marks, int *gen, bool now)
{
    while (honest_attach(a, tx, DSI_SENDER, mode, t, gen, now)) {
        now = false;
        if (tx->data_size >= 300 &&
            dsi_tx_alloc_init(tx, 0, tx->data_size, marks, N_PACKETS) == DSI_E_OK)
            return true;
        t->count[DSI_E_BADHDR]++;
        if (stopped(a)) break;
        sched_yield();
    }
    return false;
}

static void *honest_sender(void *arg)
{
    struct honest *h = arg;
    struct arena *a = h->a;
    static const int ok_codes[] = {DSI_E_OK,      DSI_E_CORRUPT,     DSI_E_TIMEOUT,
                                   DSI_E_DROPPED, DSI_E_PEER_CLOSED, -1};
    uint64_t seed = 0x5eed0000u + h->mode, marks[N_PACKETS];
    struct dsi_socket tx;
    int gen = 0;
    if (!sender_attach(a, &tx, h->mode, &h->t, marks, &gen, true)) return NULL;
    while (!stopped(a)) {
        struct dsi_packet p;
        int r = dsi_tx_get(&tx, &p);
        uint32_t nsg = 1 + (uint32_t)(rnd(&seed) % MAX_SG);
        for (uint32_t i = 0; r == DSI_E_OK && i < nsg; i++) {
            void *b;
            uint64_t len = 1 + rnd(&seed) % 300;
            r = dsi_tx_alloc(&tx, &p, len, &b);
            if (r == DSI_E_OK) {
                if (!in_data(a, b, len)) h->t.out_of_bounds++;
                else memset(b, (int)len, len);
                h->t.bytes += len;
            }
        }
        if (r == DSI_E_OK) {
            p.expires_ns = rnd(&seed) % 4 ? 0 : dsi_host_now() + rnd(&seed) % 100000;
            r = dsi_tx_commit(&tx, &p);
        }
        /* Timed out or corrupt half-way (in get, alloc or commit): give the
         * packet back, or the next get would find one still held. */
        if (r != DSI_E_OK && dsi_held(&tx)) dsi_tx_cancel(&tx, &p);
        note(&h->t, r, ok_codes);
        if (r == DSI_E_CORRUPT) {
            if (dsi_tx_get(&tx, &p) != DSI_E_CORRUPT) h->t.not_sticky++;
            if (!sender_attach(a, &tx, h->mode, &h->t, marks, &gen, false)) break;
        } else if (r != DSI_E_OK) {
            sched_yield();
        }
    }
    return NULL;
}

/* --------------------------------------------------------------- attacker */

struct attacker {
    struct arena *a;
    uint64_t seed;
    enum dsi_role plays; /* the honest role it also plays now and then; 0: none */
    struct dsi_socket me;
    bool attached;
};

static const uint64_t interesting[] = {
    0, 1, 2, DATA_SIZE - 1, DATA_SIZE, DATA_SIZE + 1, DATA_SIZE * 2, 0x7fffffffffffffffull,
    0x8000000000000000ull, UINT64_MAX - 1, UINT64_MAX, 4000, 96,
};
#define N_INTERESTING (sizeof interesting / sizeof interesting[0])

static uint64_t pick(struct attacker *x)
{
    uint64_t r = rnd(&x->seed);
    return r % 3 ? interesting[r % N_INTERESTING] : rnd(&x->seed);
}

/* Play the honest role for one step: real traffic through the ring. */
static void play(struct attacker *x)
{
    struct dsi_config c = {.flags = DSI_F_NONBLOCK, .env = dsi_host_env()};
    if (!x->attached) {
        x->attached = dsi_attach(&x->me, x->plays, x->a->ctrl, x->a->ctrl_size, x->a->data,
                                 DATA_SIZE, &c) == DSI_E_OK;
        if (!x->attached) return;
    }
    struct dsi_packet p;
    int r;
    if (x->plays == DSI_SENDER) {
        r = dsi_tx_get(&x->me, &p);
        uint32_t n = (uint32_t)(rnd(&x->seed) % (MAX_SG + 1));
        for (uint32_t i = 0; r == DSI_E_OK && i < n; i++) {
            uint64_t off = rnd(&x->seed) % DATA_SIZE;
            r = dsi_tx_add(&x->me, &p, off, rnd(&x->seed) % (DATA_SIZE - off + 1));
        }
        if (r == DSI_E_OK) {
            p.expires_ns = rnd(&x->seed) % 2 ? 0 : dsi_host_now() + rnd(&x->seed) % 50000;
            r = dsi_tx_commit(&x->me, &p);
        }
    } else {
        r = dsi_rx_get(&x->me, &p);
        if (r == DSI_E_OK) r = dsi_rx_release(&x->me, &p);
    }
    if (r == DSI_E_CORRUPT || r == DSI_E_INVAL || r == DSI_E_ORDER) x->attached = false;
}

static void corrupt_once(struct attacker *x)
{
    struct arena *a = x->a;
    uint64_t r = rnd(&x->seed);
    uint32_t slot = (uint32_t)(rnd(&x->seed) % N_PACKETS);
    struct dsi_desc *d = desc_at(a, slot);
    struct dsi_ctrl_header *h = (struct dsi_ctrl_header *)a->ctrl;
    switch (r % 12) {
    case 0: /* any word of a state */
        __atomic_store_n(&d->state, (uint32_t)rnd(&x->seed), __ATOMIC_RELAXED);
        break;
    case 1: { /* plausible but probably wrong: right kind, nearby sequence */
        uint32_t kind = rnd(&x->seed) % 2 ? DSI_ST_FULL : DSI_ST_EMPTY;
        uint32_t seq = (uint32_t)(rnd(&x->seed) % 64) - 32u;
        uint32_t wait = rnd(&x->seed) % 2 ? DSI_ST_WAIT : 0;
        __atomic_store_n(&d->state, kind | wait | (seq << DSI_ST_SEQ_SHIFT), __ATOMIC_RELAXED);
        break;
    }
    case 2:
        __atomic_store_n(&d->nsg, (uint32_t)(rnd(&x->seed) % 2 ? rnd(&x->seed) % 12 : rnd(&x->seed)),
                         __ATOMIC_RELAXED);
        break;
    case 3:
        __atomic_store_n(&d->no, rnd(&x->seed) % 2 ? rnd(&x->seed) % 64 : pick(x), __ATOMIC_RELAXED);
        break;
    case 4:
    case 5: { /* SG elements at and around the bounds */
        struct dsi_sg *g = sg_at(a, (uint32_t)(rnd(&x->seed) % (N_PACKETS * MAX_SG)));
        __atomic_store_n(&g->offset, pick(x), __ATOMIC_RELAXED);
        __atomic_store_n(&g->length, pick(x), __ATOMIC_RELAXED);
        break;
    }
    case 6:
        __atomic_store_n(&d->expires_ns, pick(x), __ATOMIC_RELAXED);
        __atomic_store_n(&d->flags, (uint32_t)rnd(&x->seed), __ATOMIC_RELAXED);
        break;
    case 7: { /* header fields, for the next attach */
        uint64_t off = (rnd(&x->seed) % (DSI_HEADER_SIZE / 8)) * 8;
        __atomic_store_n((uint64_t *)(a->ctrl + off), pick(x), __ATOMIC_RELAXED);
        break;
    }
    case 8:
        __atomic_fetch_or(&h->events, (uint32_t)rnd(&x->seed) & 0x3f, __ATOMIC_RELAXED);
        if (rnd(&x->seed) % 2) __atomic_store_n(&h->events, 0, __ATOMIC_RELAXED);
        break;
    case 9: { /* any byte */
        uint64_t off = rnd(&x->seed) % a->ctrl_size;
        __atomic_store_n(a->ctrl + off, (uint8_t)rnd(&x->seed), __ATOMIC_RELAXED);
        break;
    }
    case 10: /* flip WAIT back and forth: spurious wake-ups */
        for (int i = 0; i < 16; i++) __atomic_fetch_xor(&d->state, DSI_ST_WAIT, __ATOMIC_RELAXED);
        break;
    case 11: /* a controller restart, so real traffic resumes */
        dsi_ctrl_init(a->ctrl, a->ctrl_size, N_PACKETS, MAX_SG, DATA_SIZE);
        __atomic_fetch_add(&a->gen, 1, __ATOMIC_RELEASE);
        x->attached = false;
        break;
    }
}

static void *attacker(void *arg)
{
    struct attacker *x = arg;
    for (int i = 0; i < ACTIONS; i++) {
        uint64_t r = rnd(&x->seed) % 8;
        if (x->plays && r < 5) play(x);
        else corrupt_once(x);
        if (r == 7) sched_yield();
    }
    __atomic_store_n(&x->a->stop, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* ---------------------------------------------------------------- driver */

static const char *const code_name[] = {
#define CODE_NAME(num, name, text) [num] = #name,
    DSI_ERRORS(CODE_NAME)
#undef CODE_NAME
};

static void scenario(const char *name, bool rx_honest, bool tx_honest, enum dsi_role plays)
{
    struct tally total = {0};
    uint64_t ok_packets = 0;
    for (int round = 0; round < ROUNDS; round++) {
        struct arena a = {0};
        a.ctrl_size = dsi_ctrl_size(N_PACKETS, MAX_SG);
        a.ctrl = aligned_alloc(64, a.ctrl_size); /* a multiple of 64 */
        a.data = malloc(DATA_SIZE);
        memset(a.data, 0, DATA_SIZE);
        dsi_ctrl_init(a.ctrl, a.ctrl_size, N_PACKETS, MAX_SG, DATA_SIZE);

        struct honest hr = {.a = &a, .mode = (uint32_t)round};
        struct honest ht = {.a = &a, .mode = (uint32_t)round + 1};
        struct attacker x = {.a = &a, .seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)round, .plays = plays};
        pthread_t trx, ttx, tat;
        if (rx_honest) pthread_create(&trx, NULL, honest_receiver, &hr);
        if (tx_honest) pthread_create(&ttx, NULL, honest_sender, &ht);
        pthread_create(&tat, NULL, attacker, &x);
        pthread_join(tat, NULL);
        if (rx_honest) pthread_join(trx, NULL);
        if (tx_honest) pthread_join(ttx, NULL);

        for (int i = 0; i < 2; i++) {
            struct tally *t = i ? &ht.t : &hr.t;
            for (int k = 0; k < DSI_E_COUNT; k++) total.count[k] += t->count[k];
            total.unexpected += t->unexpected;
            total.out_of_bounds += t->out_of_bounds;
            total.not_sticky += t->not_sticky;
            total.bytes += t->bytes;
        }
        ok_packets += hr.t.count[DSI_E_OK] + ht.t.count[DSI_E_OK];
        free(a.ctrl);
        free(a.data);
    }
    is(total.unexpected, 0, "%s: only the results the role allows", name);
    is(total.out_of_bounds, 0, "%s: every data pointer inside the data area", name);
    is(total.not_sticky, 0, "%s: CORRUPT is sticky", name);
    ok(total.count[DSI_E_CORRUPT] > 0, "%s: corruption was detected (%llu times)", name,
       (unsigned long long)total.count[DSI_E_CORRUPT]);
    ok(ok_packets > 0, "%s: real traffic got through between corruptions", name);
    printf("#   %s:", name);
    for (int k = 0; k < DSI_E_COUNT; k++)
        if (total.count[k]) printf(" %s=%llu", code_name[k], (unsigned long long)total.count[k]);
    printf("\n");
}

int main(void)
{
    scenario("A hostile sender", true, false, DSI_SENDER);
    scenario("B hostile receiver", false, true, DSI_RECEIVER);
    scenario("C third party", true, true, 0);
    return done_testing();
}
