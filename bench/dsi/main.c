/*
 * DSI benchmark (make bench-dsi; method in bench/dsi/README.md): packets
 * through chains of 2 and 4 stages, each stage its own task, streams between
 * neighbours, one data area shared by all stages (zero-copy forwarding).
 *
 *   source      get, allocate `size` bytes, write the packet number into the
 *               first word, commit
 *   forwarder   dsi_forward: the upstream packet's SG element committed
 *               downstream (zero copy), released upstream
 *   sink        get, check the first word against the packet number, release
 *
 * Modes: stream (all stages at one priority, rings of STREAM_RING: a stage
 * runs until its ring fills or empties, so wake-ups are rare) and lockstep
 * (priorities rise downstream: every commit wakes the blocked consumer, which
 * preempts the producer, takes the packet and blocks again).
 *
 * Under QEMU's -icount shift=3 every guest instruction takes 8 ns of virtual
 * time and the TSC runs on that clock, so elapsed ns / 8 is the number of
 * instructions executed by all stages and the kernel together.
 *
 * Data-area sizing for zero-copy forwarding: the source's allocator gets its
 * space back when the first stream's packet is released, while the packet
 * may still travel downstream. Every packet between the oldest live one and
 * the newest is in some ring or held by a stage, so at most
 * sum(N) + 2 * stages packets are live; an area of at least one packet more
 * than that is never reused under a live packet (FIFO, fixed size).
 */
#include "dsi.h"
#include "dsi_env_drops.h"

#include "drops/console.h"
#include "drops/ipc.h"
#include "drops/spawn.h"

#define NS_PER_INSN 8
#define MAX_STAGES 4
#define STREAM_RING 64u
#define LOCKSTEP_RING 2u
#define DATA_PACKETS(ring, stages) ((ring) * ((stages) - 1) + 2 * (stages) + 1)
#define MAX_SIZE (1ul << 20)
#define DATA_SIZE (DATA_PACKETS(STREAM_RING, MAX_STAGES) * MAX_SIZE) /* 201 MiB */
#define CTRL_SIZE 0x4000ul
#define TIMEOUT_NS 2000000000ull /* a stuck stage fails the run, not the boot */

/* Slots in the stage tasks. */
#define SLOT_ROOT 8 /* root's thread: go / done */
#define SLOT_UP 9   /* upstream stage's thread */
#define SLOT_DOWN 10

/* Virtual addresses in the stages: each control area is mapped at a
 * different address on its two sides, and the data area at a different
 * address in every task, so every reference must be an offset. */
#define CTRL_TX_VA(i) (0x40000000ul + (i) * 0x100000ul)
#define CTRL_RX_VA(i) (0x48000000ul + (i) * 0x100000ul)
#define DATA_VA(k) (0x100000000ul + (k) * 0x10000000ul)

enum mode { STREAM, LOCKSTEP };
static const char *const mode_name[] = {"stream", "lockstep"};

/* The current run, written by the root before it starts the stages (the
 * image is shared, so the stages read it directly). */
static volatile struct run {
    unsigned stages;
    enum mode mode;
    uint32_t ring;
    uint64_t size, count;
} run;

struct done {
    uint64_t status, t_end, packets, bad;
};

static uint8_t stacks[MAX_STAGES][16384] __attribute__((aligned(16)));
static struct child kids[MAX_STAGES];
static uint64_t ctrl_phys[MAX_STAGES - 1], data_phys;

static void done_to_root(const struct done *d)
{
    struct abi_utcb *u = utcb();
    u->mr[0] = d->status;
    u->mr[1] = d->t_end;
    u->mr[2] = d->packets;
    u->mr[3] = d->bad;
    ipc_send(SLOT_ROOT, ABI_TAG(ABI_PROTO_USER, 4, 0), ABI_TIMEOUT_NEVER);
}

static struct dsi_config cfg_for(struct dsi_drops_peer *peer)
{
    return (struct dsi_config){.flags = 0, .spin = 0, .timeout_ns = TIMEOUT_NS, .env = dsi_drops_env(peer)};
}

static int run_source(unsigned k, struct done *d)
{
    struct dsi_drops_peer down;
    struct dsi_socket tx;
    static uint64_t marks[STREAM_RING];
    dsi_drops_peer_init(&down, SLOT_DOWN);
    struct dsi_config c = cfg_for(&down);
    uint8_t *data = (uint8_t *)DATA_VA(k);
    int r = dsi_attach(&tx, DSI_SENDER, (void *)CTRL_TX_VA(k), CTRL_SIZE, data, DATA_SIZE, &c);
    if (!r) r = dsi_tx_alloc_init(&tx, 0, DATA_PACKETS(run.ring, run.stages) * run.size, marks, STREAM_RING);
    uint64_t size = run.size, count = run.count;
    for (uint64_t n = 0; !r && n < count; n++) {
        struct dsi_packet p;
        void *buf;
        r = dsi_tx_get(&tx, &p);
        if (!r) r = dsi_tx_alloc(&tx, &p, size, &buf);
        if (r) break;
        *(volatile uint64_t *)buf = n;
        r = dsi_tx_commit(&tx, &p);
        d->packets++;
    }
    dsi_close(&tx);
    return r;
}

static int run_forwarder(unsigned k, struct done *d)
{
    struct dsi_drops_peer up, down;
    struct dsi_socket rx, tx;
    dsi_drops_peer_init(&up, SLOT_UP);
    dsi_drops_peer_init(&down, SLOT_DOWN);
    struct dsi_config cu = cfg_for(&up), cd = cfg_for(&down);
    uint8_t *data = (uint8_t *)DATA_VA(k);
    int r = dsi_attach(&rx, DSI_RECEIVER, (void *)CTRL_RX_VA(k - 1), CTRL_SIZE, data, DATA_SIZE, &cu);
    if (!r) r = dsi_attach(&tx, DSI_SENDER, (void *)CTRL_TX_VA(k), CTRL_SIZE, data, DATA_SIZE, &cd);
    while (!r) {
        r = dsi_forward(&rx, &tx, NULL);
        if (!r) d->packets++;
    }
    dsi_close(&tx);
    dsi_close(&rx);
    return r == DSI_E_EOS ? DSI_E_OK : r;
}

static int run_sink(unsigned k, struct done *d)
{
    struct dsi_drops_peer up;
    struct dsi_socket rx;
    dsi_drops_peer_init(&up, SLOT_UP);
    struct dsi_config c = cfg_for(&up);
    uint8_t *data = (uint8_t *)DATA_VA(k);
    int r = dsi_attach(&rx, DSI_RECEIVER, (void *)CTRL_RX_VA(k - 1), CTRL_SIZE, data, DATA_SIZE, &c);
    uint64_t count = run.count, size = run.size;
    while (!r) {
        struct dsi_packet p;
        r = dsi_rx_get(&rx, &p);
        if (r) break;
        uint64_t len;
        const volatile uint64_t *w = dsi_packet_data(&rx, &p, 0, &len);
        if (!w || len != size || *w != p.no) d->bad++;
        r = dsi_rx_release(&rx, &p);
        if (++d->packets == count) d->t_end = now_ns();
    }
    dsi_close(&rx);
    return r == DSI_E_EOS ? DSI_E_OK : r;
}

static void stage(uint64_t k)
{
    for (;;) {
        ipc_receive(SLOT_ROOT, ABI_TIMEOUT_NEVER); /* go */
        struct done d = {0, 0, 0, 0};
        if (k == 0) d.status = (uint64_t)run_source((unsigned)k, &d);
        else if (k == run.stages - 1) d.status = (uint64_t)run_sink((unsigned)k, &d);
        else d.status = (uint64_t)run_forwarder((unsigned)k, &d);
        done_to_root(&d);
    }
}

/* One configuration: fresh control areas, priorities, go, wait for done. */
static int measure(unsigned stages, enum mode mode, uint64_t size, uint64_t count, uint64_t *insns_pp,
                   uint64_t *pps)
{
    run.stages = stages;
    run.mode = mode;
    run.ring = mode == STREAM ? STREAM_RING : LOCKSTEP_RING;
    run.size = size;
    run.count = count;
    for (unsigned i = 0; i + 1 < stages; i++) {
        void *ctrl = (void *)(ABI_PHYS_WINDOW + ctrl_phys[i]);
        if (dsi_ctrl_init(ctrl, CTRL_SIZE, run.ring, 1, DATA_SIZE)) return -1;
    }
    for (unsigned k = 0; k < stages; k++)
        if (sys_thread_sched(kids[k].thread, mode == STREAM ? 110 : 110 + k, 0).err) return -1;
    /* Consumers first: they block on their empty rings; the source last. */
    for (unsigned k = stages; k-- > 1;)
        if (ipc_send(kids[k].thread, ABI_TAG(ABI_PROTO_USER, 0, 0), ABI_TIMEOUT_NEVER).err) return -1;
    uint64_t t0 = now_ns();
    if (ipc_send(kids[0].thread, ABI_TAG(ABI_PROTO_USER, 0, 0), ABI_TIMEOUT_NEVER).err) return -1;
    int bad = 0;
    uint64_t t_end = 0;
    for (unsigned k = 0; k < stages; k++) {
        struct sys_ret r = ipc_receive(kids[k].thread, 60ull * 1000000000ull);
        struct abi_utcb *u = utcb();
        if (r.err || u->mr[0] || u->mr[2] != count || u->mr[3]) {
            printf("bench dsi: stage %u: %s, status %s, %lu packets, %lu bad\n", k, sys_error_name(r.err),
                   dsi_strerror((int)u->mr[0]), u->mr[2], u->mr[3]);
            bad = 1;
        }
        if (k == stages - 1) t_end = u->mr[1];
    }
    if (bad || t_end <= t0) return -1;
    uint64_t ns = t_end - t0;
    *insns_pp = ns / NS_PER_INSN / count;
    *pps = count * 1000000000ull / ns;
    return 0;
}

static int setup(void)
{
    uint64_t need = 0x200000 + DATA_SIZE;
    uint64_t base = free_ram_reserve(need, 0x200000);
    if (!base) {
        printf("bench dsi: no free region of %lu MiB\n", need >> 20);
        return -1;
    }
    for (unsigned i = 0; i + 1 < MAX_STAGES; i++) ctrl_phys[i] = base + i * CTRL_SIZE;
    data_phys = base + 0x200000;

    for (unsigned s = 0; s < MAX_STAGES; s++)
        if (child_task(&kids[s], 64) ||
            child_thread_prepare(&kids[s], stage, s, (uint64_t)(stacks[s] + sizeof stacks[s]), 110))
            return -1;
    for (unsigned s = 0; s < MAX_STAGES; s++) {
        abi_cap_t t = kids[s].task;
        if (sys_cap_copy(t, ABI_CAP_SELF_THREAD, SLOT_ROOT, ABI_R_SEND).err) return -1;
        if (s > 0 && sys_cap_copy(t, kids[s - 1].thread, SLOT_UP, ABI_R_SEND).err) return -1;
        if (s + 1 < MAX_STAGES && sys_cap_copy(t, kids[s + 1].thread, SLOT_DOWN, ABI_R_SEND).err) return -1;
        if (s + 1 < MAX_STAGES &&
            sys_task_map(t, ABI_PHYS_WINDOW + ctrl_phys[s], CTRL_TX_VA(s), CTRL_SIZE >> 12, ABI_MAP_R | ABI_MAP_W).err)
            return -1;
        if (s > 0 && sys_task_map(t, ABI_PHYS_WINDOW + ctrl_phys[s - 1], CTRL_RX_VA(s - 1), CTRL_SIZE >> 12,
                                  ABI_MAP_R | ABI_MAP_W).err)
            return -1;
        if (sys_task_map(t, ABI_PHYS_WINDOW + data_phys, DATA_VA(s), DATA_SIZE >> 12, ABI_MAP_R | ABI_MAP_W).err)
            return -1;
    }
    /* Started only now: their first receive needs SLOT_ROOT. */
    for (unsigned s = 0; s < MAX_STAGES; s++)
        if (sys_thread_exregs(kids[s].thread, 0, 0, ABI_EXREGS_START).err) return -1;
    return 0;
}

/*
 * The fast path alone: one thread is sender and receiver of one stream
 * (ring of STREAM_RING), so nothing ever waits; the sender's get, allocate,
 * write, commit and the receiver's get, check, release are timed apart,
 * a ring's worth at a time.
 */
static int fastpath(uint64_t *tx_insns, uint64_t *rx_insns)
{
    void *ctrl = (void *)(ABI_PHYS_WINDOW + ctrl_phys[0]);
    uint8_t *data = (uint8_t *)(ABI_PHYS_WINDOW + data_phys);
    static uint64_t marks[STREAM_RING];
    struct dsi_socket tx, rx;
    struct dsi_config c = {.flags = DSI_F_NONBLOCK, .spin = 0, .timeout_ns = 0, .env = {0, 0, 0, 0}};
    if (dsi_ctrl_init(ctrl, CTRL_SIZE, STREAM_RING, 1, DATA_SIZE) ||
        dsi_attach(&tx, DSI_SENDER, ctrl, CTRL_SIZE, data, DATA_SIZE, &c) ||
        dsi_attach(&rx, DSI_RECEIVER, ctrl, CTRL_SIZE, data, DATA_SIZE, &c) ||
        dsi_tx_alloc_init(&tx, 0, (STREAM_RING + 1) * 64, marks, STREAM_RING))
        return -1;
    const unsigned rounds = 200;
    uint64_t ttx = 0, trx = 0, bad = 0;
    for (unsigned round = 0; round <= rounds; round++) {
        uint64_t t0 = now_ns();
        for (unsigned i = 0; i < STREAM_RING; i++) {
            struct dsi_packet p;
            void *buf;
            if (dsi_tx_get(&tx, &p) || dsi_tx_alloc(&tx, &p, 64, &buf)) return -1;
            *(volatile uint64_t *)buf = p.no;
            if (dsi_tx_commit(&tx, &p)) return -1;
        }
        uint64_t t1 = now_ns();
        for (unsigned i = 0; i < STREAM_RING; i++) {
            struct dsi_packet p;
            uint64_t len;
            if (dsi_rx_get(&rx, &p)) return -1;
            const volatile uint64_t *w = dsi_packet_data(&rx, &p, 0, &len);
            if (!w || *w != p.no) bad++;
            if (dsi_rx_release(&rx, &p)) return -1;
        }
        uint64_t t2 = now_ns();
        if (round) ttx += t1 - t0, trx += t2 - t1; /* round 0 warms up */
    }
    if (bad) return -1;
    *tx_insns = ttx / NS_PER_INSN / (rounds * STREAM_RING);
    *rx_insns = trx / NS_PER_INSN / (rounds * STREAM_RING);
    return 0;
}

int main(void)
{
    if (setup()) {
        printf("bench dsi: setup failed\n");
        return 1;
    }
    static const uint64_t sizes[] = {64, 4096, 65536, 1ul << 20};
    static const unsigned chains[] = {2, 4};
    uint64_t ip, pps, ftx, frx;
    if (fastpath(&ftx, &frx)) {
        printf("bench dsi: fast-path run failed\n");
        return 1;
    }
    printf("BENCH dsi fastpath sender_insns=%lu receiver_insns=%lu\n", ftx, frx);
    if (measure(2, STREAM, 64, 1000, &ip, &pps)) return 1; /* warm-up */
    int fail = 0;
    for (unsigned c = 0; c < 2; c++)
        for (unsigned m = STREAM; m <= LOCKSTEP; m++)
            for (unsigned s = 0; s < 4; s++) {
                unsigned n = chains[c];
                uint64_t count = m == STREAM ? 20000 : 5000;
                if (measure(n, (enum mode)m, sizes[s], count, &ip, &pps)) {
                    printf("bench dsi: stages=%u mode=%s size=%lu failed\n", n, mode_name[m], sizes[s]);
                    fail = 1;
                    continue;
                }
                printf("BENCH dsi stages=%u mode=%s size=%lu insns_per_packet=%lu packets_per_s=%lu "
                       "insns_per_stage=%lu\n",
                       n, mode_name[m], sizes[s], ip, pps, ip / n);
            }
    return fail;
}
