/*
 * Host tests for dsi/ with two threads and the real host environment
 * (futex wait/wake, CLOCK_MONOTONIC):
 *  - 1,000,000 small packets, sender and receiver on two different mappings
 *    of the same memfd (so every reference must be offset-relative), each
 *    packet checked for number, SG layout and content, then end of stream;
 *  - lock-step rings of one and two slots, where nearly every packet blocks
 *    and wakes the peer;
 *  - a non-blocking sender against a slow receiver: drops are counted and
 *    the receiver still sees every committed packet in order;
 *  - packets with expiry times against a slow receiver: every packet is
 *    either delivered or counted expired;
 *  - end of stream and receiver close racing with the peer's blocking wait
 *    (a lost wake-up would show as a timeout);
 *  - a receiver that stops releasing, a sender that stops sending: the
 *    blocking side times out.
 * The timeouts are safety nets, never measured: results are asserted on
 * counts and contents only.
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsi.h"
#include "dsi_host.h"
#include "tap.h"

#define SAFETY_NS 10000000000ull /* 10 s: only reached if something hangs */
#define RACE_NS 3000000000ull    /* 3 s: only reached by a lost wake-up */

static uint8_t pattern(uint64_t no, uint64_t i)
{
    return (uint8_t)(no * 131u + i * 7u + (no >> 8));
}

static void fill(uint8_t *p, uint64_t len, uint64_t no)
{
    for (uint64_t i = 0; i < len; i++) p[i] = pattern(no, i);
}

static bool check(const uint8_t *p, uint64_t len, uint64_t no)
{
    for (uint64_t i = 0; i < len; i++)
        if (p[i] != pattern(no, i)) return false;
    return true;
}

/* Two mappings of one memfd region: the sender's and the receiver's view. */
struct pair {
    struct dsi_host_region region;
    void *ctrl[2], *data[2];
    uint64_t *marks;
    struct dsi_socket tx, rx;
};

static int pair_open(struct pair *pr, uint32_t n, uint32_t max_sg, uint64_t data_size,
                     uint32_t txflags, uint32_t rxflags, uint32_t spin, uint64_t timeout)
{
    memset(pr, 0, sizeof(*pr));
    if (dsi_host_region_create(&pr->region, dsi_ctrl_size(n, max_sg), data_size)) return -1;
    for (int i = 0; i < 2; i++)
        if (dsi_host_region_map(&pr->region, &pr->ctrl[i], &pr->data[i])) return -1;
    if (dsi_ctrl_init(pr->ctrl[0], pr->region.ctrl_size, n, max_sg, data_size)) return -1;
    struct dsi_config c = {.spin = spin, .timeout_ns = timeout, .env = dsi_host_env()};
    c.flags = txflags;
    if (dsi_attach(&pr->tx, DSI_SENDER, pr->ctrl[0], pr->region.ctrl_size, pr->data[0],
                   data_size, &c))
        return -1;
    c.flags = rxflags;
    if (dsi_attach(&pr->rx, DSI_RECEIVER, pr->ctrl[1], pr->region.ctrl_size, pr->data[1],
                   data_size, &c))
        return -1;
    pr->marks = calloc(n, sizeof(uint64_t));
    return dsi_tx_alloc_init(&pr->tx, 0, data_size, pr->marks, n) ? -1 : 0;
}

static void pair_close(struct pair *pr)
{
    for (int i = 0; i < 2; i++) dsi_host_region_unmap(&pr->region, pr->ctrl[i], pr->data[i]);
    dsi_host_region_destroy(&pr->region);
    free(pr->marks);
}

/* ----------------------------------------------------- streaming, checked */

struct run {
    struct pair *pr;
    uint64_t count;
    uint64_t max_len;
    int tx_err; /* first error seen by the sender */
};

/* Packet lengths vary with the number; every fourth packet has two
 * elements, so the receiver checks the SG layout as well. */
static uint64_t len_of(uint64_t no, uint64_t max_len)
{
    return 1 + (no * 2654435761u) % max_len;
}

static void *sender(void *arg)
{
    struct run *run = arg;
    struct dsi_socket *tx = &run->pr->tx;
    for (uint64_t i = 0; i < run->count; i++) {
        struct dsi_packet p;
        void *b;
        int r = dsi_tx_get(tx, &p);
        uint64_t len = len_of(i, run->max_len);
        if (!r) r = dsi_tx_alloc(tx, &p, len, &b);
        if (!r) fill(b, len, i);
        if (!r && i % 4 == 3) {
            r = dsi_tx_alloc(tx, &p, 8, &b);
            if (!r) fill(b, 8, ~i);
        }
        if (!r) r = dsi_tx_commit(tx, &p);
        if (r) {
            run->tx_err = r;
            break;
        }
    }
    dsi_close(tx);
    return NULL;
}

/* Receive until end of stream; count packets that fail any check. */
static uint64_t receive_all(struct run *run, uint64_t *got, int *end)
{
    struct dsi_socket *rx = &run->pr->rx;
    uint8_t *lo = run->pr->data[1], *hi = lo + run->pr->region.data_size;
    uint64_t bad = 0, n = 0;
    for (;;) {
        struct dsi_packet p;
        int r = dsi_rx_get(rx, &p);
        if (r) {
            *end = r;
            break;
        }
        uint64_t len = 0, len2 = 0;
        uint8_t *a = dsi_packet_data(rx, &p, 0, &len);
        bool good = p.no == n && p.nsg == (n % 4 == 3 ? 2u : 1u) && a && a >= lo &&
                    a + len <= hi && len == len_of(n, run->max_len) && check(a, len, n);
        if (good && p.nsg == 2) {
            uint8_t *b = dsi_packet_data(rx, &p, 1, &len2);
            good = b && len2 == 8 && check(b, 8, ~n);
        }
        if (!good) bad++;
        if (dsi_rx_release(rx, &p)) bad++;
        n++;
    }
    *got = n;
    return bad;
}

static void stream_checked(const char *what, uint64_t count, uint32_t ring, uint64_t max_len,
                           uint32_t spin)
{
    struct pair pr;
    uint64_t data_size = (ring + 1) * (max_len + 8);
    if (pair_open(&pr, ring, 2, data_size, 0, 0, spin, SAFETY_NS)) {
        ok(0, "%s: set up", what);
        return;
    }
    ok(pr.ctrl[0] != pr.ctrl[1] && pr.data[0] != pr.data[1],
       "%s: sender and receiver use different mappings", what);
    struct run run = {.pr = &pr, .count = count, .max_len = max_len};
    pthread_t t;
    pthread_create(&t, NULL, sender, &run);
    uint64_t got = 0;
    int end = 0;
    uint64_t bad = receive_all(&run, &got, &end);
    pthread_join(t, NULL);
    is(run.tx_err, 0, "%s: sender saw no error", what);
    is(got, count, "%s: %llu packets received", what, (unsigned long long)count);
    is(bad, 0, "%s: every packet in order with the right content", what);
    is(end, DSI_E_EOS, "%s: then end of stream", what);
    pair_close(&pr);
}

/* ---------------------------------------------------- non-blocking sender */

struct drop_run {
    struct pair *pr;
    uint64_t attempts, sent, dropped;
    int err;
};

static void *nb_sender(void *arg)
{
    struct drop_run *d = arg;
    for (uint64_t i = 0; i < d->attempts; i++) {
        struct dsi_packet p;
        void *b;
        int r = dsi_tx_get(&d->pr->tx, &p);
        if (!r) r = dsi_tx_alloc(&d->pr->tx, &p, 16, &b);
        if (!r) {
            memcpy(b, &i, sizeof i); /* the attempt number */
            fill((uint8_t *)b + 8, 8, i);
            r = dsi_tx_commit(&d->pr->tx, &p);
        }
        if (r == DSI_E_OK) d->sent++;
        else if (r == DSI_E_DROPPED) d->dropped++;
        else {
            d->err = r;
            break;
        }
    }
    dsi_close(&d->pr->tx);
    return NULL;
}

static void test_nonblocking_drops(void)
{
    struct pair pr;
    pair_open(&pr, 8, 1, 9 * 16, DSI_F_NONBLOCK, 0, 0, SAFETY_NS);
    struct drop_run d = {.pr = &pr, .attempts = 200000};
    pthread_t t;
    pthread_create(&t, NULL, nb_sender, &d);
    uint64_t got = 0, prev = 0, bad = 0;
    int end;
    for (;;) {
        struct dsi_packet p;
        end = dsi_rx_get(&pr.rx, &p);
        if (end) break;
        uint64_t len, attempt;
        uint8_t *b = dsi_packet_data(&pr.rx, &p, 0, &len);
        memcpy(&attempt, b, 8);
        if (p.no != got || len != 16 || (got && attempt <= prev) || !check(b + 8, 8, attempt))
            bad++;
        prev = attempt;
        got++;
        if (got % 16 == 0) sched_yield(); /* a slow receiver */
        dsi_rx_release(&pr.rx, &p);
    }
    pthread_join(t, NULL);
    is(d.err, 0, "non-blocking sender: only OK or DROPPED");
    is(d.sent + d.dropped, d.attempts, "every attempt either sent or dropped");
    is(got, d.sent, "receiver got every committed packet");
    is(bad, 0, "in order, numbers contiguous, attempts increasing, content intact");
    is(end, DSI_E_EOS, "then end of stream");
    is(pr.tx.drops, d.dropped, "drop counter matches");
    is(((struct dsi_ctrl_header *)pr.ctrl[1])->drops, d.dropped, "header drop counter matches");
    ok(d.dropped == 0 || (dsi_events(&pr.rx) & DSI_EV_DROP), "drop event raised if anything dropped");
    printf("# %llu of %llu attempts dropped\n", (unsigned long long)d.dropped,
           (unsigned long long)d.attempts);
    pair_close(&pr);
}

/* ------------------------------------------------------------------ expiry */

struct exp_run {
    struct pair *pr;
    uint64_t count;
    int err;
};

static void *exp_sender(void *arg)
{
    struct exp_run *e = arg;
    for (uint64_t i = 0; i < e->count; i++) {
        struct dsi_packet p;
        int r = dsi_tx_get(&e->pr->tx, &p);
        if (!r) {
            p.expires_ns = i % 3 ? dsi_host_now() + 20000 : 0; /* 20 us, or never */
            r = dsi_tx_commit(&e->pr->tx, &p);
        }
        if (r) {
            e->err = r;
            break;
        }
    }
    dsi_close(&e->pr->tx);
    return NULL;
}

static void test_expiry_threads(void)
{
    struct pair pr;
    pair_open(&pr, 16, 1, 64, DSI_F_STAMP, DSI_F_DROP_EXPIRED, 0, SAFETY_NS);
    struct exp_run e = {.pr = &pr, .count = 20000};
    pthread_t t;
    pthread_create(&t, NULL, exp_sender, &e);
    uint64_t got = 0, last = 0, bad = 0, never = 0;
    int end;
    for (;;) {
        struct dsi_packet p;
        end = dsi_rx_get(&pr.rx, &p);
        if (end) break;
        if (got && p.no <= last) bad++;
        if (p.no % 3 == 0) never++;
        last = p.no;
        got++;
        if (got % 64 == 0) {
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
        dsi_rx_release(&pr.rx, &p);
    }
    pthread_join(t, NULL);
    is(e.err, 0, "expiry: sender ok");
    is(end, DSI_E_EOS, "expiry: end of stream");
    is(got + pr.rx.expired, e.count, "every packet delivered or counted expired");
    is(bad, 0, "delivered packets in increasing order");
    is(never, (e.count + 2) / 3, "packets without expiry are never skipped");
    printf("# %llu of %llu expired\n", (unsigned long long)pr.rx.expired,
           (unsigned long long)e.count);
    pair_close(&pr);
}

/* ------------------------------------------------------ close/EOS racing */

struct race {
    struct pair *pr;
    int k;
    int result;
};

static void *eos_sender(void *arg)
{
    struct race *r = arg;
    for (int i = 0; i < r->k; i++) {
        struct dsi_packet p;
        int e = dsi_tx_get(&r->pr->tx, &p);
        if (!e) e = dsi_tx_commit(&r->pr->tx, &p);
        if (e) {
            r->result = e;
            break;
        }
    }
    dsi_close(&r->pr->tx);
    return NULL;
}

static void *closed_sender(void *arg)
{
    struct race *r = arg;
    for (;;) {
        struct dsi_packet p;
        int e = dsi_tx_get(&r->pr->tx, &p);
        if (!e) e = dsi_tx_commit(&r->pr->tx, &p);
        if (e) {
            r->result = e;
            return NULL;
        }
    }
}

/* The host hooks, with a count of waits that ran into their timeout. In
 * the races below the peer always acts within microseconds, so a wait that
 * sleeps for all of RACE_NS means a wake-up was lost (the result would still
 * come right, after the timeout, because each side re-checks the events). */
struct counting {
    struct dsi_env inner;
    int timeouts;
};

static int counting_wait(void *ctx, uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
    struct counting *c = ctx;
    int r = c->inner.wait(c->inner.ctx, word, expected, timeout_ns);
    if (r == DSI_E_TIMEOUT) __atomic_fetch_add(&c->timeouts, 1, __ATOMIC_RELAXED);
    return r;
}

static void count_waits(struct dsi_socket *s, struct counting *c)
{
    c->inner = s->env;
    s->env.wait = counting_wait;
    s->env.ctx = c;
}

static void test_races(void)
{
    int bad_eos = 0, bad_close = 0;
    struct counting ctx = {.timeouts = 0};
    /* A lost wake-up costs RACE_NS: stop at the first one. */
    for (int round = 0; round < 1000 && !bad_eos && !bad_close && !ctx.timeouts; round++) {
        struct pair pr;
        pair_open(&pr, 2, 1, 64, 0, 0, (uint32_t)(round % 2) * 50, RACE_NS);
        count_waits(&pr.rx, &ctx);
        count_waits(&pr.tx, &ctx);
        struct race r = {.pr = &pr, .k = round % 6};
        pthread_t t;
        pthread_create(&t, NULL, eos_sender, &r);
        int n = 0, e;
        struct dsi_packet p;
        while ((e = dsi_rx_get(&pr.rx, &p)) == DSI_E_OK) {
            n++;
            dsi_rx_release(&pr.rx, &p);
        }
        pthread_join(t, NULL);
        if (e != DSI_E_EOS || n != r.k || r.result) bad_eos++;
        pair_close(&pr);

        pair_open(&pr, 2, 1, 64, 0, 0, (uint32_t)(round % 2) * 50, RACE_NS);
        count_waits(&pr.rx, &ctx);
        count_waits(&pr.tx, &ctx);
        r = (struct race){.pr = &pr};
        pthread_create(&t, NULL, closed_sender, &r);
        for (int i = 0; i < round % 4; i++)
            if (dsi_rx_get(&pr.rx, &p) == DSI_E_OK) dsi_rx_release(&pr.rx, &p);
        dsi_close(&pr.rx);
        pthread_join(t, NULL);
        if (r.result != DSI_E_PEER_CLOSED) bad_close++;
        pair_close(&pr);
    }
    is(bad_eos, 0, "1000 rounds: end of stream reaches a blocked receiver, after all packets");
    is(bad_close, 0, "1000 rounds: receiver close reaches a blocked sender (PEER_CLOSED)");
    is(ctx.timeouts, 0, "no wake-up was lost (no wait slept until its timeout)");
}

/* --------------------------------------------------------- stalled peers */

static void test_stalled(void)
{
    struct pair pr;
    const uint64_t tmo = 50000000; /* 50 ms */
    pair_open(&pr, 4, 1, 64, 0, 0, 10, tmo);
    struct dsi_packet p, q[4];
    for (int i = 0; i < 4; i++) {
        dsi_tx_get(&pr.tx, &p);
        dsi_tx_commit(&pr.tx, &p);
        dsi_rx_get(&pr.rx, &q[i]); /* and never released */
    }
    uint64_t t0 = dsi_host_now();
    is(dsi_tx_get(&pr.tx, &p), DSI_E_TIMEOUT, "receiver stops releasing: blocking get times out");
    ok(dsi_host_now() - t0 >= tmo, "after the timeout, not before");
    is(dsi_tx_get(&pr.tx, &p), DSI_E_TIMEOUT, "and again (the sender is not broken)");
    dsi_rx_release(&pr.rx, &q[0]);
    is(dsi_tx_get(&pr.tx, &p), DSI_E_OK, "a late release lets the sender go on");
    dsi_tx_commit(&pr.tx, &p);
    for (int i = 1; i < 4; i++) dsi_rx_release(&pr.rx, &q[i]);
    dsi_rx_get(&pr.rx, &q[0]);
    dsi_rx_release(&pr.rx, &q[0]);
    t0 = dsi_host_now();
    is(dsi_rx_get(&pr.rx, &q[0]), DSI_E_TIMEOUT, "sender stops sending: blocking get times out");
    ok(dsi_host_now() - t0 >= tmo, "after the timeout");
    pair_close(&pr);
}

int main(void)
{
    stream_checked("1M packets, ring 64", 1000000, 64, 48, 200);
    stream_checked("lock-step, ring 1", 20000, 1, 64, 0);
    stream_checked("lock-step, ring 2", 20000, 2, 64, 0);
    stream_checked("large packets, ring 8", 2000, 8, 64 * 1024, 100);
    test_nonblocking_drops();
    test_expiry_threads();
    test_races();
    test_stalled();
    return done_testing();
}
