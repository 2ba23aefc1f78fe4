/*
 * System test: the control area of a DSI stream corrupted at random while
 * both sides run, each side and the corrupter in its own task.
 *
 * Per round the root (the controller) initialises a fresh stream; an honest
 * sender sends up to 3000 packets (allocator, one or two SG elements) and an
 * honest receiver reads them, each blocking with a 5 ms timeout. A third task
 * holds a mapping of the control area only and, at random moments (it runs
 * above the two sides and sleeps a random 0-300 us between bursts), writes
 * random words, plausible state words (right kind, sequence numbers near the
 * sides' positions, WAIT bits), SG elements at and beyond the data area's
 * bounds, and header fields and event bits.
 *
 * What must hold: every call returns one of the allowed codes; once a side
 * reports CORRUPT it keeps reporting it; every data pointer the receiver is
 * handed lies inside its data mapping and every byte of it is read (an
 * out-of-bounds address would fault and halt the thread, so its report would
 * never come); no call takes longer than its timeout plus the environment's
 * bounded allowances; and each side reports back, so none hangs or crashes.
 */
#include "dsi.h"
#include "dsi_env_drops.h"

#include "drops/ipc.h"
#include "drops/spawn.h"
#include "drops/tap.h"

#define ROUNDS 40u
#define PACKETS 3000u
#define RING 8u
#define MAX_SG 2u
#define CTRL_SIZE 0x2000ul
#define DATA_SIZE 0x10000ul
#define TIMEOUT_NS 5000000ull /* 5 ms */
/* Longest acceptable call: a wait of TIMEOUT_NS (no wake-up ever blocks:
 * it is one send with a zero timeout) and slack for the corrupter's own
 * bursts. */
#define CALL_BOUND_NS (TIMEOUT_NS + 5000000ull)

#define SLOT_ROOT 8
#define SLOT_PEER 9

#define VA_CTRL_TX 0x40000000ul
#define VA_DATA_TX 0x41000000ul
#define VA_CTRL_RX 0x50000000ul
#define VA_DATA_RX 0x51000000ul
#define VA_CTRL_EVIL 0x60000000ul

enum { TX, RX, EVIL, NTASK };

struct report {
    uint64_t status, packets, bad, max_call_ns, corrupt_seen;
};

static uint8_t stacks[NTASK][16384] __attribute__((aligned(16)));
static struct child kids[NTASK];
static uint64_t phys_ctrl, phys_data;
static volatile uint64_t round_seed;
static volatile int round_over;

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void report_to_root(const struct report *r)
{
    struct abi_utcb *u = utcb();
    u->mr[0] = r->status;
    u->mr[1] = r->packets;
    u->mr[2] = r->bad;
    u->mr[3] = r->max_call_ns;
    u->mr[4] = r->corrupt_seen;
    ipc_send(SLOT_ROOT, ABI_TAG(ABI_PROTO_USER, 5, 0), ABI_TIMEOUT_NEVER);
}

static bool allowed(int r, const int *list)
{
    for (; *list >= 0; list++)
        if (r == *list) return true;
    return false;
}

/* Time one library call and keep the longest. */
#define TIMED(rep, expr)                                  \
    ({                                                    \
        uint64_t t0_ = now_ns();                          \
        int r_ = (expr);                                  \
        uint64_t d_ = now_ns() - t0_;                     \
        if (d_ > (rep)->max_call_ns) (rep)->max_call_ns = d_; \
        r_;                                               \
    })

static void sender(struct report *rep)
{
    static const int ok_codes[] = {DSI_E_OK, DSI_E_CORRUPT, DSI_E_TIMEOUT, DSI_E_PEER_CLOSED, -1};
    static uint64_t marks[RING];
    struct dsi_drops_peer peer;
    dsi_drops_peer_init(&peer, SLOT_PEER);
    struct dsi_config c = {.flags = 0, .spin = 0, .timeout_ns = TIMEOUT_NS, .env = dsi_drops_env(&peer)};
    struct dsi_socket tx;
    int r = dsi_attach(&tx, DSI_SENDER, (void *)VA_CTRL_TX, CTRL_SIZE, (void *)VA_DATA_TX, DATA_SIZE, &c);
    if (!r) r = dsi_tx_alloc_init(&tx, 0, DATA_SIZE, marks, RING);
    uint64_t seed = round_seed ^ 0x1234567;
    for (unsigned n = 0; !r && n < PACKETS; n++) {
        struct dsi_packet p;
        uint8_t *b;
        r = TIMED(rep, dsi_tx_get(&tx, &p));
        uint64_t len = 1 + xorshift(&seed) % 2000;
        if (!r) r = TIMED(rep, dsi_tx_alloc(&tx, &p, len, (void **)&b));
        if (!r && n % 2) {
            uint8_t *b2;
            r = TIMED(rep, dsi_tx_alloc(&tx, &p, 64, (void **)&b2));
            if (!r) b2[0] = b2[63] = (uint8_t)n;
        }
        if (!r) {
            b[0] = b[len - 1] = (uint8_t)n;
            r = TIMED(rep, dsi_tx_commit(&tx, &p));
        }
        if (!r) rep->packets++;
    }
    if (!allowed(r, ok_codes)) rep->bad++;
    if (r == DSI_E_CORRUPT) {
        struct dsi_packet p;
        rep->corrupt_seen = 1;
        if (dsi_tx_get(&tx, &p) != DSI_E_CORRUPT) rep->bad++; /* sticky */
    }
    rep->status = (uint64_t)r;
    dsi_close(&tx);
}

static void receiver(struct report *rep)
{
    static const int ok_codes[] = {DSI_E_EOS, DSI_E_CORRUPT, DSI_E_TIMEOUT, -1};
    struct dsi_drops_peer peer;
    dsi_drops_peer_init(&peer, SLOT_PEER);
    struct dsi_config c = {.flags = 0, .spin = 0, .timeout_ns = TIMEOUT_NS, .env = dsi_drops_env(&peer)};
    struct dsi_socket rx;
    int r = dsi_attach(&rx, DSI_RECEIVER, (void *)VA_CTRL_RX, CTRL_SIZE, (void *)VA_DATA_RX, DATA_SIZE, &c);
    volatile uint64_t sum = 0;
    while (!r) {
        struct dsi_packet p;
        r = TIMED(rep, dsi_rx_get(&rx, &p));
        if (r) break;
        if (p.nsg > MAX_SG) rep->bad++;
        for (uint32_t i = 0; i < p.nsg && i < MAX_SG; i++) {
            uint64_t len;
            const uint8_t *d = dsi_packet_data(&rx, &p, i, &len);
            if (!d || d < (const uint8_t *)VA_DATA_RX || len > DATA_SIZE ||
                d + len > (const uint8_t *)VA_DATA_RX + DATA_SIZE) {
                rep->bad++;
                continue;
            }
            for (uint64_t j = 0; j < len; j++) sum += d[j]; /* touch every byte */
        }
        r = TIMED(rep, dsi_rx_release(&rx, &p));
        if (!r) rep->packets++;
    }
    if (!allowed(r, ok_codes)) rep->bad++;
    if (r == DSI_E_CORRUPT) {
        struct dsi_packet p;
        rep->corrupt_seen = 1;
        if (dsi_rx_get(&rx, &p) != DSI_E_CORRUPT) rep->bad++;
    }
    rep->status = (uint64_t)r;
    dsi_close(&rx);
}

/* The corrupter: bursts of writes into the control area until the root
 * ends the round. */
static void corrupter(struct report *rep)
{
    uint64_t seed = round_seed;
    uint32_t *w = (uint32_t *)VA_CTRL_EVIL;
    const uint32_t words = (uint32_t)(dsi_ctrl_size(RING, MAX_SG) / 4);
    const uint32_t desc0 = DSI_HEADER_SIZE / 4, sg0 = (DSI_HEADER_SIZE + RING * DSI_DESC_SIZE) / 4;
    /* A quiet start in some rounds, so that corruption also meets a stream
     * in full flow. */
    sleep_ns(xorshift(&seed) % 5000000);
    while (!round_over) {
        unsigned burst = 1 + xorshift(&seed) % 4;
        for (unsigned b = 0; b < burst; b++) {
            uint64_t x = xorshift(&seed);
            uint32_t slot = (uint32_t)(x >> 8) % RING;
            switch (x % 6) {
            case 0: /* any word, any value */
                w[(x >> 16) % words] = (uint32_t)xorshift(&seed);
                break;
            case 1: /* a plausible state word: right kind, nearby seq, WAIT */
            case 2: {
                uint32_t pos = (uint32_t)((volatile struct dsi_ctrl_header *)w)->committed;
                uint32_t seq = pos + (uint32_t)(xorshift(&seed) % 24) - 12;
                w[desc0 + slot * (DSI_DESC_SIZE / 4)] =
                    (1u + (uint32_t)(x >> 20) % 2) | ((x >> 24) & 1 ? DSI_ST_WAIT : 0) | (seq << DSI_ST_SEQ_SHIFT);
                break;
            }
            case 3: { /* an SG element at or past the data area's end */
                uint64_t *g = (uint64_t *)&w[sg0 + slot * MAX_SG * 4];
                g[0] = DATA_SIZE - (x >> 40) % 64;
                g[1] = (x >> 32) % 128;
                break;
            }
            case 4: /* nsg or packet number of a descriptor */
                w[desc0 + slot * (DSI_DESC_SIZE / 4) + 1 + (x >> 30) % 4] = (uint32_t)(x >> 33) % 12;
                break;
            default: /* header fields and event bits */
                w[(x >> 16) % (DSI_HEADER_SIZE / 4)] ^= 1u << ((x >> 40) % 32);
                break;
            }
            rep->packets++; /* writes made */
        }
        sleep_ns(xorshift(&seed) % 2000000);
    }
}

static void task_main(uint64_t which)
{
    for (;;) {
        if (ipc_receive(SLOT_ROOT, ABI_TIMEOUT_NEVER).err) continue;
        struct report rep = {0, 0, 0, 0, 0};
        if (which == TX) sender(&rep);
        else if (which == RX) receiver(&rep);
        else corrupter(&rep);
        report_to_root(&rep);
    }
}

#define map(task, phys, va, size) task_map_ram(task, phys, va, size)

static int setup(void)
{
    uint64_t base = free_ram_reserve(0x200000, 0x200000);
    if (!base) return -1;
    phys_ctrl = base;
    phys_data = base + 0x100000;
    static const unsigned prio[NTASK] = {110, 110, 115};
    for (unsigned t = 0; t < NTASK; t++)
        if (child_task(&kids[t], 64) ||
            child_thread_prepare(&kids[t], task_main, t, (uint64_t)(stacks[t] + sizeof stacks[t]), prio[t]) ||
            sys_cap_copy(kids[t].task, ABI_CAP_SELF_THREAD, SLOT_ROOT, ABI_R_SEND).err)
            return -2;
    if (sys_cap_copy(kids[TX].task, kids[RX].thread, SLOT_PEER, ABI_R_SEND).err ||
        sys_cap_copy(kids[RX].task, kids[TX].thread, SLOT_PEER, ABI_R_SEND).err)
        return -3;
    if (map(kids[TX].task, phys_ctrl, VA_CTRL_TX, CTRL_SIZE) || map(kids[TX].task, phys_data, VA_DATA_TX, DATA_SIZE) ||
        map(kids[RX].task, phys_ctrl, VA_CTRL_RX, CTRL_SIZE) || map(kids[RX].task, phys_data, VA_DATA_RX, DATA_SIZE) ||
        map(kids[EVIL].task, phys_ctrl, VA_CTRL_EVIL, CTRL_SIZE))
        return -4;
    for (unsigned t = 0; t < NTASK; t++)
        if (sys_thread_exregs(kids[t].thread, 0, 0, ABI_EXREGS_START).err) return -5;
    return 0;
}

static bool collect(unsigned t, struct report *r)
{
    struct sys_ret x = ipc_receive(kids[t].thread, 10000000000ull);
    const struct abi_utcb *u = utcb();
    *r = (struct report){u->mr[0], u->mr[1], u->mr[2], u->mr[3], u->mr[4]};
    return x.err == 0;
}

int main(void)
{
    int e = setup();
    if (!ok(e == 0, "sender, receiver and corrupter tasks; the corrupter maps only the control area (%d)", e))
        tap_done();
    unsigned reported = 0, bad = 0, corrupt_rounds = 0, clean_rounds = 0;
    uint64_t max_call = 0, writes = 0, delivered = 0;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (unsigned round = 0; round < ROUNDS; round++) {
        round_seed = xorshift(&seed);
        round_over = 0;
        if (dsi_ctrl_init((void *)(ABI_PHYS_WINDOW + phys_ctrl), CTRL_SIZE, RING, MAX_SG, DATA_SIZE)) break;
        /* The corrupter first (it runs above the sides and starts with a
         * random quiet time), the sender last. */
        for (unsigned t = NTASK; t-- > 0;) ipc_send(kids[t].thread, ABI_TAG(ABI_PROTO_USER, 0, 0), 1000000000ull);
        struct report rt, rr, rc;
        bool a = collect(TX, &rt), b = collect(RX, &rr);
        round_over = 1;
        bool c = collect(EVIL, &rc);
        reported += a + b + c;
        bad += (unsigned)(rt.bad + rr.bad);
        if (rt.max_call_ns > max_call) max_call = rt.max_call_ns;
        if (rr.max_call_ns > max_call) max_call = rr.max_call_ns;
        writes += rc.packets;
        delivered += rr.packets;
        if (rt.corrupt_seen || rr.corrupt_seen) corrupt_rounds++;
        if (rt.status == DSI_E_OK && rr.status == DSI_E_EOS) clean_rounds++;
        if (rt.bad || rr.bad || !a || !b || !c)
            printf("# round %u: sender %s (%lu packets, %lu bad), receiver %s (%lu, %lu bad)\n", round,
                   dsi_strerror((int)rt.status), rt.packets, rt.bad, dsi_strerror((int)rr.status), rr.packets, rr.bad);
    }
    printf("# %u rounds: %lu corrupting writes, %lu packets delivered, %u rounds with CORRUPT detected, "
           "%u rounds the stream survived\n",
           ROUNDS, writes, delivered, corrupt_rounds, clean_rounds);
    is(reported, ROUNDS * NTASK, "every task reported in every round: nobody crashed or hung");
    is(bad, 0, "only allowed result codes, CORRUPT sticky, every data pointer inside the data area");
    ok(max_call <= CALL_BOUND_NS, "longest library call %lu us (bound %lu us)", max_call / 1000, (unsigned long)(CALL_BOUND_NS / 1000));
    ok(corrupt_rounds > 0 && writes > ROUNDS, "the corruption was noticed (%u rounds) after %lu writes",
       corrupt_rounds, writes);
    tap_done();
}
