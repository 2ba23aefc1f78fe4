/*
 * System test: a DSI chain source -> filter -> sink, each stage its own task,
 * the streams' control and data areas taken from the root's free RAM and
 * mapped into both neighbours at different addresses (task_map), the
 * environment hooks on kernel IPC (dsi/dsi_env_drops.c).
 *
 *  1. 100,000 packets, every stage blocking: the source writes a pattern
 *     (one or two SG elements, 8 to 512 bytes, user flags, timestamps), the
 *     filter checks it and writes a transformed copy into the second stream,
 *     the sink checks order, length, content and flags; end of stream passes
 *     through the chain (EOS after exactly the last packet).
 *  2. A non-blocking source in front of a slow sink: packets are dropped and
 *     counted at the source, the DROP event is raised, and what arrives is
 *     in order and complete (committed = received, attempts = committed +
 *     drops).
 *  3. The filter's thread is halted mid-stream: source and sink get
 *     DSI_E_TIMEOUT within their timeout (plus slack), never hang.
 *  4. A second filter's task is deleted mid-stream: source and sink get
 *     DSI_E_PEER_GONE well before their timeout (the kernel fails a
 *     receive from a thread without a task at once, whether it was
 *     waiting when the task went or only starts waiting later).
 *
 * Stages report to the root by IPC; every report is awaited with a timeout,
 * so a hung or crashed stage fails a test line instead of the run.
 */
#include "dsi.h"
#include "dsi_env_drops.h"

#include "drops/ipc.h"
#include "drops/spawn.h"
#include "drops/tap.h"

#define PACKETS 100000u
#define NB_ATTEMPTS 20000u
#define RING 16u
#define MAX_SG 2u
#define CTRL_SIZE 0x4000ul
#define DATA_SIZE 0x40000ul /* 256 KiB per stream */
#define MAX_PACKET 512u
#define ALLOC_SIZE ((RING + 1) * MAX_PACKET * 2) /* two blocks per packet at most */
#define STAGE_TIMEOUT_NS 50000000ull  /* 50 ms: a dead peer is noticed quickly */
#define REPORT_TIMEOUT_NS 5000000000ull /* 5 s for a whole phase */

/* Slots in the stage tasks. */
#define SLOT_ROOT 8
#define SLOT_UP_A 9 /* sink: filter A's thread; filters: the source's */
#define SLOT_DOWN_A 10
#define SLOT_UP_B 11
#define SLOT_DOWN_B 12

/* Addresses: each area at a different address in each task. */
#define VA_C1_SRC 0x40000000ul
#define VA_D1_SRC 0x41000000ul
#define VA_C1_FLT 0x50000000ul
#define VA_D1_FLT 0x51000000ul
#define VA_C2_FLT 0x52000000ul
#define VA_D2_FLT 0x53000000ul
#define VA_C2_SNK 0x60000000ul
#define VA_D2_SNK 0x61000000ul

enum { SRC, FLT_A, FLT_B, SNK, NSTAGE };
enum phase { CHAIN, NONBLOCK, KILL_HALT, KILL_DELETE };

/* The phase being run, written by the root before the stages start (the
 * image is shared, so they read it directly). */
static volatile struct {
    enum phase phase;
    unsigned filter; /* FLT_A or FLT_B */
} cfg;

struct report {
    uint64_t status, packets, bad, drops, aux;
};

static uint8_t stacks[NSTAGE][16384] __attribute__((aligned(16)));
static struct child kids[NSTAGE];
static uint64_t phys_c1, phys_d1, phys_c2, phys_d2;

/* Shared progress counter: the sink's packets of the current phase. */
static volatile uint64_t sink_progress;

static void report_to_root(const struct report *r)
{
    struct abi_utcb *u = utcb();
    u->mr[0] = r->status;
    u->mr[1] = r->packets;
    u->mr[2] = r->bad;
    u->mr[3] = r->drops;
    u->mr[4] = r->aux;
    ipc_send(SLOT_ROOT, ABI_TAG(ABI_PROTO_USER, 5, 0), ABI_TIMEOUT_NEVER);
}

/* The pattern of packet n: its length and the word at index j. */
static uint64_t pkt_len(uint64_t n) { return 8 * (1 + n % 64); }
static uint64_t pkt_word(uint64_t n, uint64_t j) { return j ? n * 0x9e3779b97f4a7c15ull + j : n; }
#define XFORM 0x5a5a5a5a5a5a5a5aull

static struct dsi_config stage_cfg(struct dsi_drops_peer *peer, uint32_t flags)
{
    return (struct dsi_config){
        .flags = flags, .spin = 0, .timeout_ns = STAGE_TIMEOUT_NS, .env = dsi_drops_env(peer)};
}

/* ------------------------------------------------------------- the source */

static void source_run(struct report *rep)
{
    static uint64_t marks[RING];
    struct dsi_drops_peer peer;
    dsi_drops_peer_init(&peer, cfg.filter == FLT_A ? SLOT_DOWN_A : SLOT_DOWN_B);
    bool nb = cfg.phase == NONBLOCK;
    struct dsi_config c = stage_cfg(&peer, DSI_F_STAMP | (nb ? DSI_F_NONBLOCK : 0));
    struct dsi_socket tx;
    int r = dsi_attach(&tx, DSI_SENDER, (void *)VA_C1_SRC, CTRL_SIZE, (void *)VA_D1_SRC, DATA_SIZE, &c);
    if (!r) r = dsi_tx_alloc_init(&tx, 0, ALLOC_SIZE, marks, RING);
    uint64_t attempts = nb ? NB_ATTEMPTS : cfg.phase == CHAIN ? PACKETS : ~0ull;
    for (uint64_t a = 0; !r && a < attempts; a++) {
        struct dsi_packet p;
        if (nb) sleep_ns(10000); /* a producer with its own pace */
        r = dsi_tx_get(&tx, &p);
        if (r == DSI_E_DROPPED) {
            r = DSI_E_OK;
            continue;
        }
        if (r) break;
        /* Payload: the attempt's pattern (attempt = packet number unless
         * packets were dropped), in one or, every third packet, two
         * blocks. */
        uint64_t len = pkt_len(a), first = (p.no % 3 == 0 && len > 8) ? len / 2 / 8 * 8 : len;
        uint64_t *w1, *w2 = 0;
        r = dsi_tx_alloc(&tx, &p, first, (void **)&w1);
        if (!r && first < len) r = dsi_tx_alloc(&tx, &p, len - first, (void **)&w2);
        if (r == DSI_E_DROPPED) {
            r = DSI_E_OK;
            continue;
        }
        if (r) break;
        for (uint64_t j = 0; j < len / 8; j++) {
            uint64_t v = pkt_word(a, j);
            if (j < first / 8) w1[j] = v;
            else w2[j - first / 8] = v;
        }
        p.flags = (uint32_t)(a & 0xffff);
        r = dsi_tx_commit(&tx, &p);
        if (!r) rep->packets++;
    }
    rep->drops = tx.drops;
    rep->aux = dsi_events(&tx);
    rep->status = (uint64_t)r;
    dsi_close(&tx);
}

/* ------------------------------------------------------------- the filter */

static void filter_run(unsigned self, struct report *rep)
{
    static uint64_t marks[RING];
    struct dsi_drops_peer up, down;
    dsi_drops_peer_init(&up, SLOT_UP_A);
    dsi_drops_peer_init(&down, SLOT_DOWN_A);
    (void)self;
    struct dsi_config cu = stage_cfg(&up, 0), cd = stage_cfg(&down, DSI_F_STAMP);
    struct dsi_socket rx, tx;
    int r = dsi_attach(&rx, DSI_RECEIVER, (void *)VA_C1_FLT, CTRL_SIZE, (void *)VA_D1_FLT, DATA_SIZE, &cu);
    if (!r) r = dsi_attach(&tx, DSI_SENDER, (void *)VA_C2_FLT, CTRL_SIZE, (void *)VA_D2_FLT, DATA_SIZE, &cd);
    if (!r) r = dsi_tx_alloc_init(&tx, 0, ALLOC_SIZE, marks, RING);
    while (!r) {
        struct dsi_packet p, q;
        r = dsi_rx_get(&rx, &p);
        if (r) break;
        /* The source's attempt number is the first word; the length, the
         * flags and every word follow from it (checked while copying). */
        uint64_t len0 = 0, len = 0;
        for (uint32_t i = 0; i < p.nsg; i++) {
            uint64_t l;
            if (!dsi_packet_data(&rx, &p, i, &l)) rep->bad++;
            len += l;
        }
        const uint64_t *in0 = dsi_packet_data(&rx, &p, 0, &len0);
        uint64_t a = in0 && len0 >= 8 ? in0[0] : 0;
        if (!in0 || len != pkt_len(a) || (p.flags & 0xffff) != (a & 0xffff)) rep->bad++;
        r = dsi_tx_get(&tx, &q);
        uint64_t *out;
        if (!r) r = dsi_tx_alloc(&tx, &q, len, (void **)&out);
        if (r) break;
        uint64_t k = 0;
        for (uint32_t i = 0; i < p.nsg; i++) {
            uint64_t l;
            const uint64_t *in = dsi_packet_data(&rx, &p, i, &l);
            for (uint64_t j = 0; in && j < l / 8; j++, k++) {
                if (in[j] != pkt_word(a, k)) rep->bad++;
                out[k] = in[j] ^ XFORM;
            }
        }
        q.flags = p.flags;
        r = dsi_tx_commit(&tx, &q);
        if (!r) r = dsi_rx_release(&rx, &p);
        if (!r) rep->packets++;
    }
    rep->status = (uint64_t)r;
    rep->drops = up.wakes_missed + down.wakes_missed; /* informational */
    dsi_close(&tx);
    dsi_close(&rx);
}

/* --------------------------------------------------------------- the sink */

static void sink_run(struct report *rep)
{
    struct dsi_drops_peer peer;
    dsi_drops_peer_init(&peer, cfg.filter == FLT_A ? SLOT_UP_A : SLOT_UP_B);
    struct dsi_config c = stage_cfg(&peer, 0);
    struct dsi_socket rx;
    int r = dsi_attach(&rx, DSI_RECEIVER, (void *)VA_C2_SNK, CTRL_SIZE, (void *)VA_D2_SNK, DATA_SIZE, &c);
    uint64_t last_attempt = 0, last_stamp = 0;
    bool nb = cfg.phase == NONBLOCK;
    sink_progress = 0;
    while (!r) {
        struct dsi_packet p;
        r = dsi_rx_get(&rx, &p);
        if (r) break;
        uint64_t len;
        const uint64_t *w = dsi_packet_data(&rx, &p, 0, &len);
        bool good = w && p.nsg == 1 && p.no == rep->packets && len >= 8 && p.timestamp_ns >= last_stamp;
        /* The source's attempt number: the packet number when nothing is
         * dropped; with drops, strictly increasing (order kept). */
        uint64_t a = w && len >= 8 ? w[0] ^ XFORM : 0;
        if (nb) good = good && (rep->packets == 0 || a > last_attempt) && a < NB_ATTEMPTS;
        else good = good && a == p.no;
        good = good && len == pkt_len(a) && (p.flags & 0xffff) == (a & 0xffff);
        for (uint64_t j = 0; good && j < len / 8; j++) good = (w[j] ^ XFORM) == pkt_word(a, j);
        if (!good) rep->bad++;
        last_attempt = a;
        last_stamp = p.timestamp_ns;
        r = dsi_rx_release(&rx, &p);
        if (!r) sink_progress = ++rep->packets;
        if (nb) sleep_ns(30000); /* slower than the source: the ring fills */
    }
    rep->status = (uint64_t)r;
    rep->aux = last_attempt;
    dsi_close(&rx);
}

static void stage(uint64_t which)
{
    for (;;) {
        if (ipc_receive(SLOT_ROOT, ABI_TIMEOUT_NEVER).err) continue; /* go */
        struct report rep = {0, 0, 0, 0, 0};
        if (which == SRC) source_run(&rep);
        else if (which == SNK) sink_run(&rep);
        else filter_run((unsigned)which, &rep);
        report_to_root(&rep);
    }
}

/* ---------------------------------------------------------------- the root */

#define map(task, phys, va, size) task_map_ram(task, phys, va, size)

static int setup(void)
{
    uint64_t base = free_ram_reserve(0x100000 + 2 * DATA_SIZE, 0x200000);
    if (!base) return -1;
    phys_c1 = base;
    phys_c2 = base + CTRL_SIZE;
    phys_d1 = base + 0x100000;
    phys_d2 = phys_d1 + DATA_SIZE;

    for (unsigned s = 0; s < NSTAGE; s++)
        if (child_task(&kids[s], 64) ||
            child_thread_prepare(&kids[s], stage, s, (uint64_t)(stacks[s] + sizeof stacks[s]), 110))
            return -2;
    for (unsigned s = 0; s < NSTAGE; s++)
        if (sys_cap_copy(kids[s].task, ABI_CAP_SELF_THREAD, SLOT_ROOT, ABI_R_SEND).err) return -3;
    /* Source: both filters downstream. Filters: the source up, the sink
     * down. Sink: both filters up. */
    abi_cap_t ts = kids[SRC].task, tk = kids[SNK].task;
    if (sys_cap_copy(ts, kids[FLT_A].thread, SLOT_DOWN_A, ABI_R_SEND).err ||
        sys_cap_copy(ts, kids[FLT_B].thread, SLOT_DOWN_B, ABI_R_SEND).err ||
        sys_cap_copy(tk, kids[FLT_A].thread, SLOT_UP_A, ABI_R_SEND).err ||
        sys_cap_copy(tk, kids[FLT_B].thread, SLOT_UP_B, ABI_R_SEND).err)
        return -4;
    for (unsigned f = FLT_A; f <= FLT_B; f++)
        if (sys_cap_copy(kids[f].task, kids[SRC].thread, SLOT_UP_A, ABI_R_SEND).err ||
            sys_cap_copy(kids[f].task, kids[SNK].thread, SLOT_DOWN_A, ABI_R_SEND).err ||
            map(kids[f].task, phys_c1, VA_C1_FLT, CTRL_SIZE) || map(kids[f].task, phys_d1, VA_D1_FLT, DATA_SIZE) ||
            map(kids[f].task, phys_c2, VA_C2_FLT, CTRL_SIZE) || map(kids[f].task, phys_d2, VA_D2_FLT, DATA_SIZE))
            return -5;
    if (map(ts, phys_c1, VA_C1_SRC, CTRL_SIZE) || map(ts, phys_d1, VA_D1_SRC, DATA_SIZE) ||
        map(tk, phys_c2, VA_C2_SNK, CTRL_SIZE) || map(tk, phys_d2, VA_D2_SNK, DATA_SIZE))
        return -6;
    for (unsigned s = 0; s < NSTAGE; s++)
        if (sys_thread_exregs(kids[s].thread, 0, 0, ABI_EXREGS_START).err) return -7;
    return 0;
}

/* Fresh control areas (the root is the controller), then go: sink and
 * filter first, the source last. */
static int start(enum phase ph, unsigned filter)
{
    cfg.phase = ph;
    cfg.filter = filter;
    if (dsi_ctrl_init((void *)(ABI_PHYS_WINDOW + phys_c1), CTRL_SIZE, RING, MAX_SG, DATA_SIZE) ||
        dsi_ctrl_init((void *)(ABI_PHYS_WINDOW + phys_c2), CTRL_SIZE, RING, MAX_SG, DATA_SIZE))
        return -1;
    const unsigned order[3] = {SNK, filter, SRC};
    for (unsigned i = 0; i < 3; i++)
        if (ipc_send(kids[order[i]].thread, ABI_TAG(ABI_PROTO_USER, 0, 0), REPORT_TIMEOUT_NS).err) return -1;
    return 0;
}

static bool collect(unsigned s, struct report *r, uint64_t timeout)
{
    struct sys_ret x = ipc_receive(kids[s].thread, timeout);
    const struct abi_utcb *u = utcb();
    *r = (struct report){u->mr[0], u->mr[1], u->mr[2], u->mr[3], u->mr[4]};
    return x.err == 0;
}

static const char *st(uint64_t e) { return dsi_strerror((int)e); }

int main(void)
{
    int e = setup();
    if (!ok(e == 0, "three stage tasks (and a spare filter), areas from free RAM mapped at distinct addresses (%d)", e))
        tap_done();
    ok(sys_thread_sched(ABI_CAP_SELF_THREAD, 100, ABI_PRIO_MAX).err == 0, "root runs below the stages while a phase runs");

    /* 1. The chain, blocking. */
    struct report rs, rf, rk;
    uint64_t t0 = now_ns();
    bool got = start(CHAIN, FLT_A) == 0;
    got = got && collect(SRC, &rs, REPORT_TIMEOUT_NS * 4) && collect(FLT_A, &rf, REPORT_TIMEOUT_NS) &&
          collect(SNK, &rk, REPORT_TIMEOUT_NS);
    uint64_t t1 = now_ns();
    ok(got, "chain: all three stages reported");
    ok(rs.status == DSI_E_OK && rs.packets == PACKETS, "source committed %u packets (%lu, %s)", PACKETS, rs.packets,
       st(rs.status));
    ok(rf.status == DSI_E_EOS && rf.packets == PACKETS && rf.bad == 0,
       "filter checked and forwarded every packet, then saw end of stream (%lu, %lu bad, %s)", rf.packets, rf.bad,
       st(rf.status));
    ok(rk.status == DSI_E_EOS && rk.packets == PACKETS && rk.bad == 0,
       "sink: %u packets in order with the filter's content, then EOS (%lu, %lu bad, %s)", PACKETS, rk.packets,
       rk.bad, st(rk.status));
    printf("# chain: %u packets through 3 stages in %lu us of virtual time\n", PACKETS, (t1 - t0) / 1000);

    /* 2. Non-blocking source, slow sink. */
    got = start(NONBLOCK, FLT_A) == 0;
    got = got && collect(SRC, &rs, REPORT_TIMEOUT_NS) && collect(FLT_A, &rf, REPORT_TIMEOUT_NS) &&
          collect(SNK, &rk, REPORT_TIMEOUT_NS);
    ok(got, "non-blocking: all three stages reported");
    ok(rs.status == DSI_E_OK && rs.drops > 0 && rs.packets + rs.drops == NB_ATTEMPTS,
       "source: %u attempts = %lu committed + %lu dropped (%s)", NB_ATTEMPTS, rs.packets, rs.drops, st(rs.status));
    ok(rs.aux & DSI_EV_DROP, "the DROP event is raised (events 0x%lx)", rs.aux);
    printf("# event: DROP, %lu packets dropped by the non-blocking source\n", rs.drops);
    ok(rk.status == DSI_E_EOS && rk.packets == rs.packets && rk.bad == 0 && rf.bad == 0,
       "sink got every committed packet in order and intact, then EOS (%lu of %lu, %lu bad)", rk.packets, rs.packets,
       rk.bad + rf.bad);

    /* 3 and 4: a filter dies mid-stream. The root runs above the stages so
     * that it can act while they stream. */
    for (unsigned kill = 0; kill < 2; kill++) {
        unsigned f = kill ? FLT_B : FLT_A;
        const char *how = kill ? "task deleted" : "thread halted";
        sys_thread_sched(ABI_CAP_SELF_THREAD, 120, ABI_PRIO_MAX);
        sink_progress = 0;
        got = start(kill ? KILL_DELETE : KILL_HALT, f) == 0;
        sleep_ns(20000000); /* 20 ms into the stream */
        uint64_t progress = sink_progress;
        int64_t err = kill ? sys_cap_delete(kids[f].task).err
                           : sys_thread_exregs(kids[f].thread, 0, 0, ABI_EXREGS_HALT).err;
        uint64_t tk = now_ns();
        sys_thread_sched(ABI_CAP_SELF_THREAD, 100, ABI_PRIO_MAX);
        got = got && err == 0;
        /* Bound: halted, the stage timeout and slack; deleted, half the
         * timeout (no side may have run into it). */
        const uint64_t bound = kill ? STAGE_TIMEOUT_NS / 2 : STAGE_TIMEOUT_NS + 20000000ull;
        bool src_ok = got && collect(SRC, &rs, REPORT_TIMEOUT_NS);
        uint64_t ts = now_ns() - tk;
        bool snk_ok = got && collect(SNK, &rk, REPORT_TIMEOUT_NS);
        uint64_t tn = now_ns() - tk;
        ok(got && progress > 0, "%s: the filter was killed mid-stream (sink had %lu packets)", how, progress);
        bool want_src = rs.status == (kill ? DSI_E_PEER_GONE : DSI_E_TIMEOUT);
        bool want_snk = rk.status == (kill ? DSI_E_PEER_GONE : DSI_E_TIMEOUT);
        ok(src_ok && want_src && ts <= bound, "%s: source gets %s after %lu us (bound %lu us)", how, st(rs.status),
           ts / 1000, bound / 1000);
        ok(snk_ok && want_snk && tn <= bound, "%s: sink gets %s after %lu us (bound %lu us)", how, st(rk.status),
           tn / 1000, bound / 1000);
        ok(rk.bad == 0, "%s: what the sink got before was intact (%lu packets, %lu bad)", how, rk.packets, rk.bad);
    }
    tap_done();
}
