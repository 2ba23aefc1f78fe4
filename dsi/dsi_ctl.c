/* DSI control protocol, both ends (the protocol is described in dsi_ctl.h). */
#include "dsi_ctl.h"

#include <stdio.h>



#define PAGE 4096ull
#define CHUNK_MAX (PAGE * ABI_IPC_MAP_MAX_PAGES)

const char *dsi_ctl_strerror(int64_t status)
{
    static const char *const abi_text[] = {
#define ABI_ERROR_TEXT(num, name, text) [num] = text,
        ABI_ERRORS(ABI_ERROR_TEXT)
#undef ABI_ERROR_TEXT
    };
    if (status >= 0 && status < DSI_E_COUNT) return dsi_strerror((int)status);
    if (status >= DSI_CTL_E_SYS && status < DSI_CTL_E_SYS + ABI_E_COUNT) return abi_text[status - DSI_CTL_E_SYS];
    return "unknown status";
}

/* Capability slots where received capabilities land: a bitmap over
 * DROPS_CAP_RECV_BASE .. +63, per program (one of the two roles each). */
static uint64_t recv_used;

static abi_cap_t recv_slot(void)
{
    for (unsigned i = 0; i < 64; i++)
        if (!(recv_used & (1ull << i))) return DROPS_CAP_RECV_BASE + i;
    return ABI_CAP_NULL;
}

static void recv_take(abi_cap_t slot) { recv_used |= 1ull << (slot - DROPS_CAP_RECV_BASE); }

static void recv_drop(abi_cap_t slot)
{
    if (slot < DROPS_CAP_RECV_BASE || slot >= DROPS_CAP_RECV_BASE + 64) return;
    sys_cap_delete(slot);
    recv_used &= ~(1ull << (slot - DROPS_CAP_RECV_BASE));
}

/* Prepare the receive buffers: one capability into a free slot, map items
 * only into `window` (0: none accepted). */
static void recv_buffers(uint64_t window)
{
    struct abi_utcb *u = utcb();
    abi_cap_t s = recv_slot();
    u->br[ABI_BR_MEM_WINDOW] = window;
    u->br[ABI_BR_CAP_BASE] = s;
    u->br[ABI_BR_CAP_COUNT] = s ? 1 : 0;
}

/* ==================================================================== controller */

static unsigned order_of(uint64_t bytes)
{
    unsigned o = 12;
    while ((1ull << o) < bytes) o++;
    return o;
}

int64_t dsi_ctl_stream_alloc(struct dsi_ctl_stream *s, uint32_t num_packets, uint32_t max_sg, uint64_t data_bytes)
{
    *s = (struct dsi_ctl_stream){.num_packets = num_packets, .max_sg = max_sg};
    uint64_t cs = dsi_ctrl_size(num_packets, max_sg);
    if (!cs || !data_bytes || data_bytes > (1ull << DSI_CTL_WINDOW_ORDER_MAX)) return DSI_E_RANGE;
    s->ctrl_size = (cs + PAGE - 1) & ~(PAGE - 1);
    s->data_size = (data_bytes + PAGE - 1) & ~(PAGE - 1);
    /* Both areas 64 KiB aligned: full 16-page map items. */
    uint64_t ctrl_span = (s->ctrl_size + CHUNK_MAX - 1) & ~(CHUNK_MAX - 1);
    s->mem_size = ctrl_span + s->data_size + CHUNK_MAX;
    int64_t e = drops_mem_alloc(s->mem_size, ABI_MAP_W, &s->mem);
    if (e) return DSI_CTL_E_SYS + e;
    uint64_t base = (s->mem + CHUNK_MAX - 1) & ~(CHUNK_MAX - 1);
    s->ctrl = (uint8_t *)(uintptr_t)base;
    s->data = (uint8_t *)(uintptr_t)(base + ctrl_span);
    return dsi_ctrl_init(s->ctrl, s->ctrl_size, num_packets, max_sg, s->data_size);
}

int64_t dsi_ctl_stream_free(struct dsi_ctl_stream *s)
{
    int64_t e = s->mem ? drops_mem_free(s->mem, s->mem_size) : 0;
    s->mem = 0;
    return e ? DSI_CTL_E_SYS + e : 0;
}

/* One request: words in mr0.., items after them. The reply's status. */
static int64_t request(abi_cap_t route, unsigned words, unsigned items)
{
    struct sys_ret r = ipc_call(route, ABI_TAG(DSI_CTL_PROTO, words, items), ABI_TIMEOUT_NEVER);
    if (r.err) return DSI_CTL_E_SYS + r.err;
    if (ABI_TAG_WORDS(r.v0) < 1) return DSI_CTL_E_SYS + ABI_E_INVALID_ARG;
    return (int64_t)utcb()->mr[0];
}

static int64_t map_area(const struct dsi_ctl_end *e, unsigned area, const uint8_t *base, uint64_t size)
{
    uint64_t off = 0;
    while (off < size) {
        uint64_t *mr = utcb()->mr;
        mr[0] = DSI_CTL_MAP, mr[1] = e->handle, mr[2] = area, mr[3] = off;
        unsigned items = 0;
        while (items < ABI_IPC_MAX_ITEMS && off < size) {
            uint64_t a = (uint64_t)(uintptr_t)base + off;
            unsigned k = 12;
            while ((1ull << (k + 1)) <= CHUNK_MAX && off + (1ull << (k + 1)) <= size && !(a & ((1ull << (k + 1)) - 1)) &&
                   !(off & ((1ull << (k + 1)) - 1)))
                k++;
            mr[4 + 2 * items] = ABI_ITEM_MAP | off;
            mr[5 + 2 * items] = ABI_FPAGE(a, k, ABI_MAP_R | ABI_MAP_W);
            items++;
            off += 1ull << k;
        }
        recv_buffers(0);
        int64_t st = request(e->route, 4, items);
        if (st) return st;
        if (utcb()->mr[1] != off) return DSI_E_INVAL;
    }
    return 0;
}

int64_t dsi_ctl_open(struct dsi_ctl_end *e, const struct dsi_ctl_stream *s)
{
    uint64_t *mr = utcb()->mr;
    mr[0] = DSI_CTL_OPEN, mr[1] = e->port, mr[2] = e->flags, mr[3] = e->timeout_ns, mr[4] = e->cookie;
    mr[5] = e->join, mr[6] = e->arg0, mr[7] = e->arg1, mr[8] = s->ctrl_size, mr[9] = s->data_size;
    /* The calling thread: the component receives MAP calls from it and
     * sends the stage's events to it. */
    mr[10] = ABI_ITEM_CAP | ((uint64_t)ABI_R_SEND << 8);
    mr[11] = DROPS_CAP_THREAD_BASE + 0;
    recv_buffers(0);
    abi_cap_t slot = utcb()->br[ABI_BR_CAP_BASE];
    struct sys_ret r = ipc_call(e->route, ABI_TAG(DSI_CTL_PROTO, 10, 1), ABI_TIMEOUT_NEVER);
    if (r.err) return DSI_CTL_E_SYS + r.err;
    if (mr[0]) return (int64_t)mr[0];
    if (ABI_TAG_WORDS(r.v0) < 2 || ABI_TAG_ITEMS(r.v0) != 1 || mr[3] != slot) return DSI_CTL_E_SYS + ABI_E_MSG_TRUNCATED;
    recv_take(slot);
    e->handle = mr[1];
    e->thread = slot;
    e->open = true;
    int64_t st = map_area(e, DSI_CTL_AREA_CTRL, s->ctrl, s->ctrl_size);
    if (!st) st = map_area(e, DSI_CTL_AREA_DATA, s->data, s->data_size);
    return st;
}

static int64_t connect_one(const struct dsi_ctl_end *e, abi_cap_t peer)
{
    uint64_t *mr = utcb()->mr;
    mr[0] = DSI_CTL_CONNECT, mr[1] = e->handle;
    mr[2] = ABI_ITEM_CAP | ((uint64_t)ABI_R_SEND << 8), mr[3] = peer;
    recv_buffers(0);
    return request(e->route, 2, 1);
}

int64_t dsi_ctl_connect(struct dsi_ctl_end *tx, struct dsi_ctl_end *rx)
{
    int64_t st = connect_one(tx, rx->thread);
    return st ? st : connect_one(rx, tx->thread);
}

static int64_t simple(const struct dsi_ctl_end *e, uint64_t op)
{
    uint64_t *mr = utcb()->mr;
    mr[0] = op, mr[1] = e->handle;
    recv_buffers(0);
    return request(e->route, 2, 0);
}

int64_t dsi_ctl_start(const struct dsi_ctl_end *e) { return simple(e, DSI_CTL_START); }
int64_t dsi_ctl_stop(const struct dsi_ctl_end *e) { return simple(e, DSI_CTL_STOP); }

int64_t dsi_ctl_close(struct dsi_ctl_end *e)
{
    if (!e->open) return 0;
    int64_t st = simple(e, DSI_CTL_CLOSE);
    /* Gone is closed too: its end of the stream went with it. */
    if (!st || st == DSI_CTL_E_SYS + ABI_E_ABORTED || st == DSI_CTL_E_SYS + ABI_E_INVALID_CAP) {
        recv_drop(e->thread);
        e->open = false;
        e->thread = ABI_CAP_NULL;
        return 0;
    }
    return st;
}

int64_t dsi_ctl_wait_event(struct dsi_ctl_event *ev, uint64_t timeout_ns)
{
    uint64_t deadline = now_ns() + timeout_ns;
    for (;;) {
        uint64_t now = now_ns();
        if (now >= deadline) return ABI_E_TIMEOUT;
        recv_buffers(0);
        struct sys_ret r = ipc_wait(deadline - now);
        if (r.err == ABI_E_TIMEOUT) return ABI_E_TIMEOUT;
        if (r.err) continue;
        /* Anything else that reaches us here is not ours to answer. */
        if (ABI_TAG_PROTO(r.v0) != DSI_CTL_PROTO_EVENT || ABI_TAG_WORDS(r.v0) < DSI_CTL_EVENT_WORDS) continue;
        const uint64_t *mr = utcb()->mr;
        *ev = (struct dsi_ctl_event){mr[0], mr[1], mr[2], mr[3], mr[4], mr[5], mr[6], mr[7]};
        return 0;
    }
}

bool dsi_ctl_alive(abi_cap_t thread)
{
    /* A stage thread never receives from us: the send times out at once
     * while it exists and fails with ABORTED (or the capability with
     * INVALID_CAP) once it is gone. */
    int64_t e = ipc_send(thread, ABI_TAG(DSI_CTL_PROTO_PROBE, 0, 0), 0).err;
    return e == ABI_E_OK || e == ABI_E_TIMEOUT;
}

/* ------------------------------------------------------------ chains */

const char *dsi_ctl_event_name(uint64_t kind)
{
    return kind == DSI_CTL_EV_DROP ? "drop" : kind == DSI_CTL_EV_DONE ? "done" : kind == DSI_CTL_EV_GONE ? "gone" : "?";
}

static void chain_log(struct dsi_ctl_chain *c, const struct dsi_ctl_event *ev)
{
    if (c->nlog < DSI_CTL_LOG_MAX) c->log[c->nlog++] = *ev;
}

int64_t dsi_ctl_chain_build(struct dsi_ctl_chain *c)
{
    if (c->stages < 2 || c->stages > DSI_CTL_CHAIN_MAX) return DSI_E_INVAL;
    c->nlog = 0, c->drop_events = 0;
    for (unsigned i = 0; i < c->stages; i++) c->finished[i] = c->gone[i] = false;
    for (unsigned i = 0; i + 1 < c->stages; i++) {
        c->tx[i] = (struct dsi_ctl_end){0};
        c->rx[i] = (struct dsi_ctl_end){0};
        c->stream[i] = (struct dsi_ctl_stream){0};
    }
    int64_t st = 0;
    for (unsigned i = 0; i + 1 < c->stages && !st; i++) {
        st = dsi_ctl_stream_alloc(&c->stream[i], c->num_packets, c->max_sg, c->data_bytes);
        c->failed_stage = i;
        if (st) break;
        struct dsi_ctl_end *tx = &c->tx[i], *rx = &c->rx[i];
        *tx = (struct dsi_ctl_end){.route = c->stage[i].route, .port = DSI_CTL_PORT_OUT,
                                   .flags = c->stage[i].out_flags, .timeout_ns = c->timeout_ns,
                                   .cookie = c->id << 8 | i, .join = i ? c->rx[i - 1].handle : DSI_CTL_NO_HANDLE,
                                   .arg0 = c->stage[i].arg0, .arg1 = c->stage[i].arg1};
        st = dsi_ctl_open(tx, &c->stream[i]);
        if (st) break;
        c->failed_stage = i + 1;
        *rx = (struct dsi_ctl_end){.route = c->stage[i + 1].route, .port = DSI_CTL_PORT_IN,
                                   .flags = c->stage[i + 1].in_flags, .timeout_ns = c->timeout_ns,
                                   .cookie = c->id << 8 | (i + 1), .join = DSI_CTL_NO_HANDLE,
                                   .arg0 = c->stage[i + 1].arg0, .arg1 = c->stage[i + 1].arg1};
        st = dsi_ctl_open(rx, &c->stream[i]);
        if (st) break;
        st = dsi_ctl_connect(tx, rx);
    }
    if (st) {
        unsigned f = c->failed_stage;
        dsi_ctl_chain_close(c, 100000000ull);
        c->failed_stage = f;
    }
    return st;
}

int64_t dsi_ctl_chain_start(struct dsi_ctl_chain *c)
{
    for (unsigned i = c->stages; i-- > 0;) {
        int64_t st = dsi_ctl_start(i ? &c->rx[i - 1] : &c->tx[0]);
        if (st) {
            c->failed_stage = i;
            return st;
        }
    }
    return 0;
}

int64_t dsi_ctl_chain_stop(struct dsi_ctl_chain *c, unsigned i)
{
    if (i >= c->stages) return DSI_E_INVAL;
    return dsi_ctl_stop(i ? &c->rx[i - 1] : &c->tx[0]);
}

static abi_cap_t stage_thread(const struct dsi_ctl_chain *c, unsigned i)
{
    return i ? c->rx[i - 1].thread : c->tx[0].thread;
}

static bool chain_finished(const struct dsi_ctl_chain *c)
{
    for (unsigned i = 0; i < c->stages; i++)
        if (!c->finished[i]) return false;
    return true;
}

int64_t dsi_ctl_chain_wait(struct dsi_ctl_chain *c, uint64_t timeout_ns, uint64_t probe_ns)
{
    uint64_t deadline = now_ns() + timeout_ns;
    while (!chain_finished(c)) {
        uint64_t now = now_ns();
        if (now >= deadline) return ABI_E_TIMEOUT;
        struct dsi_ctl_event ev;
        uint64_t slice = deadline - now < probe_ns ? deadline - now : probe_ns;
        if (dsi_ctl_wait_event(&ev, slice) == 0) {
            uint64_t i = ev.cookie & 0xff;
            if (ev.cookie >> 8 != c->id || i >= c->stages) continue; /* not this chain's */
            chain_log(c, &ev);
            if (ev.kind == DSI_CTL_EV_DROP) c->drop_events++;
            if (ev.kind == DSI_CTL_EV_DONE && !c->finished[i]) c->done[i] = ev, c->finished[i] = true;
            continue;
        }
        /* Quiet for a while: is everybody still there? */
        for (unsigned i = 0; i < c->stages; i++) {
            if (c->finished[i] || dsi_ctl_alive(stage_thread(c, i))) continue;
            struct dsi_ctl_event gone = {.cookie = c->id << 8 | i, .kind = DSI_CTL_EV_GONE, .code = DSI_E_PEER_GONE};
            chain_log(c, &gone);
            c->gone[i] = c->finished[i] = true;
        }
    }
    return 0;
}

int64_t dsi_ctl_chain_close(struct dsi_ctl_chain *c, uint64_t timeout_ns)
{
    uint64_t deadline = now_ns() + timeout_ns;
    int64_t first = 0;
    for (unsigned i = 0; i + 1 < c->stages; i++) {
        struct dsi_ctl_end *ends[2] = {&c->tx[i], &c->rx[i]};
        for (unsigned k = 0; k < 2; k++) {
            int64_t st;
            /* AGAIN: the stage still runs (told to stop now) or is still
             * sending its DONE to us: take events while we wait. */
            while ((st = dsi_ctl_close(ends[k])) == DSI_E_AGAIN && now_ns() < deadline) {
                struct dsi_ctl_event ev;
                if (dsi_ctl_wait_event(&ev, 2000000ull) == 0 && ev.cookie >> 8 == c->id && (ev.cookie & 0xff) < c->stages) {
                    chain_log(c, &ev);
                    unsigned s = (unsigned)(ev.cookie & 0xff);
                    if (ev.kind == DSI_CTL_EV_DONE && !c->finished[s]) c->done[s] = ev, c->finished[s] = true;
                }
            }
            if (st && !first) first = st, c->failed_stage = i + k;
        }
        int64_t st = dsi_ctl_stream_free(&c->stream[i]);
        if (st && !first) first = st;
    }
    return first;
}

/* ===================================================================== component */

enum { ST_FREE, ST_OPEN, ST_RUNNING, ST_DONE };

static struct dsi_ctl_stage stages[DSI_CTL_STAGES_MAX];
static const struct dsi_ctl_server *server;
static uint8_t stacks[DSI_CTL_STAGES_MAX][16384] __attribute__((aligned(16)));

#define MAIN_THREAD (DROPS_CAP_THREAD_BASE + 0)
#define GO_WORD 0x60u
#define QUIT_WORD 0x9u

static uint64_t window_of(unsigned stage, unsigned port, unsigned area)
{
    return DSI_CTL_WINDOW_BASE + ((uint64_t)stage << 36) + ((uint64_t)port << 34) + ((uint64_t)area << 33);
}

void *dsi_ctl_area(const struct dsi_ctl_stage *st, unsigned port, unsigned area)
{
    return (void *)(uintptr_t)window_of(st->index, port, area);
}

static void send_event(struct dsi_ctl_stage *st, const struct dsi_ctl_event *ev)
{
    uint64_t *mr = utcb()->mr;
    mr[0] = st->cookie, mr[1] = ev->kind, mr[2] = ev->code, mr[3] = ev->packets, mr[4] = ev->drops;
    mr[5] = ev->aux0, mr[6] = ev->aux1, mr[7] = ev->port;
    ipc_send(st->controller, ABI_TAG(DSI_CTL_PROTO_EVENT, DSI_CTL_EVENT_WORDS, 0), DSI_CTL_EVENT_TIMEOUT_NS);
}

void dsi_ctl_report_drop(struct dsi_ctl_stage *st, uint64_t drops)
{
    if (st->drop_sent) return;
    st->drop_sent = true;
    struct dsi_ctl_event ev = {.kind = DSI_CTL_EV_DROP, .drops = drops, .port = DSI_CTL_PORT_OUT};
    send_event(st, &ev);
}

/* The stage thread: wait for START (or the end), run, report, end. */
static void stage_main(void *arg)
{
    struct dsi_ctl_stage *st = arg;
    uint64_t word = 0;
    while (word != GO_WORD && word != QUIT_WORD) {
        struct sys_ret r = ipc_receive(MAIN_THREAD, ABI_TIMEOUT_NEVER);
        word = !r.err && ABI_TAG_WORDS(r.v0) >= 1 ? utcb()->mr[0] : 0;
    }
    if (word == GO_WORD) {
        struct dsi_ctl_event res = {.kind = DSI_CTL_EV_DONE};
        server->run(st, &res);
        res.kind = DSI_CTL_EV_DONE;
        __atomic_store_n(&st->loop_done, 1, __ATOMIC_SEQ_CST);
        send_event(st, &res);
    }
    __atomic_store_n(&st->exited, 1, __ATOMIC_SEQ_CST);
    drops_thread_exit(); /* inline: no stack use after `exited` */
}

static bool socket_valid(uint64_t h, struct dsi_ctl_stage **out, unsigned *port)
{
    if (h >= DSI_CTL_STAGES_MAX * 2) return false;
    struct dsi_ctl_stage *st = &stages[h / 2];
    if (st->state == ST_FREE || !st->has[h % 2]) return false;
    *out = st, *port = (unsigned)(h % 2);
    return true;
}

static void unmap_socket(struct dsi_ctl_stage *st, unsigned port)
{
    for (unsigned a = 0; a < 2; a++) {
        uint64_t pages = (st->mapped[port][a] + PAGE - 1) / PAGE;
        if (pages) sys_unmap(window_of(st->index, port, a), pages, ABI_MAP_RWX | ABI_UNMAP_SELF);
        st->mapped[port][a] = 0;
    }
}

/* The map phase after OPEN: the pending socket, the area and the thread we
 * accept MAP calls from. */
static struct {
    bool on;
    struct dsi_ctl_stage *st;
    unsigned port, area;
    abi_cap_t from;
} mapping;

static uint64_t map_window(void)
{
    uint64_t size = mapping.area == DSI_CTL_AREA_CTRL ? mapping.st->ctrl_size[mapping.port]
                                                      : mapping.st->data_size[mapping.port];
    return ABI_FPAGE(window_of(mapping.st->index, mapping.port, mapping.area), order_of(size), 0);
}

static void map_fail(void)
{
    mapping.st->failed[mapping.port] = 1;
    unmap_socket(mapping.st, mapping.port);
    mapping.on = false;
}

/* A MAP call in the map phase (items already landed in the window). */
static int64_t do_map(uint64_t *mr, unsigned words, unsigned items, unsigned *out)
{
    struct dsi_ctl_stage *st = mapping.st;
    unsigned p = mapping.port, a = mapping.area;
    uint64_t size = a == DSI_CTL_AREA_CTRL ? st->ctrl_size[p] : st->data_size[p];
    uint64_t base = window_of(st->index, p, a);
    if (words < 4 || mr[1] != (uint64_t)(st->index * 2 + p) || mr[2] != a || mr[3] != st->mapped[p][a] || !items) {
        map_fail();
        return DSI_E_INVAL;
    }
    for (unsigned i = 0; i < items; i++) {
        uint64_t f = mr[words + 2 * i + 1];
        uint64_t bytes = 1ull << ABI_FPAGE_ORDER(f);
        /* Exactly the next piece, read-write, inside the area. */
        if (ABI_FPAGE_BASE(f) != base + st->mapped[p][a] || bytes > size - st->mapped[p][a] ||
            (ABI_FPAGE_RIGHTS(f) & (ABI_MAP_R | ABI_MAP_W)) != (ABI_MAP_R | ABI_MAP_W)) {
            st->mapped[p][a] += bytes <= size - st->mapped[p][a] ? bytes : 0;
            map_fail();
            return DSI_E_INVAL;
        }
        st->mapped[p][a] += bytes;
    }
    mr[1] = st->mapped[p][a];
    *out = 2;
    if (st->mapped[p][a] == size) {
        if (a == DSI_CTL_AREA_CTRL)
            mapping.area = DSI_CTL_AREA_DATA;
        else
            mapping.on = false;
    }
    return 0;
}

static int64_t do_open(uint64_t *umr, unsigned words, unsigned items, bool cap_in, uint64_t label, unsigned *out,
                       unsigned *out_items)
{
    (void)label;
    if (words < 10 || items != 1 || !cap_in) return DSI_E_INVAL; /* the caller drops the capability */
    /* A private copy: the root calls below reuse the message registers. */
    uint64_t mr[10];
    for (unsigned i = 0; i < 10; i++) mr[i] = umr[i];
    abi_cap_t ctl = (abi_cap_t)umr[words + 1];
    recv_take(ctl);
    uint64_t port = mr[1], join = mr[5], cs = mr[8], ds = mr[9];
    if (port > 1 || !(server->ports & (1u << port)) || (mr[2] & ~(uint64_t)DSI_F_ALL) || !cs || !ds || cs % PAGE ||
        ds % PAGE || cs > (1ull << DSI_CTL_WINDOW_ORDER_MAX) || ds > (1ull << DSI_CTL_WINDOW_ORDER_MAX)) {
        recv_drop(ctl);
        return DSI_E_INVAL;
    }
    struct dsi_ctl_stage *st = NULL;
    if (join != DSI_CTL_NO_HANDLE) {
        unsigned jp;
        if (!socket_valid(join, &st, &jp) || st->state != ST_OPEN || st->has[port]) {
            recv_drop(ctl);
            return DSI_E_INVAL;
        }
        recv_drop(ctl); /* the stage keeps its first controller */
        ctl = st->controller;
    } else {
        for (unsigned i = 0; i < DSI_CTL_STAGES_MAX && !st; i++)
            if (stages[i].state == ST_FREE && (stages[i].exited || !stages[i].thread.tid)) st = &stages[i];
        if (!st) {
            recv_drop(ctl);
            return DSI_CTL_E_SYS + ABI_E_NO_MEMORY;
        }
        unsigned idx = (unsigned)(st - stages);
        *st = (struct dsi_ctl_stage){.index = idx, .cookie = mr[4], .arg0 = mr[6], .arg1 = mr[7], .controller = ctl};
        int64_t e = drops_thread_create(&st->thread, stage_main, st, server->prio, stacks[idx], sizeof stacks[idx]);
        if (e) {
            recv_drop(ctl);
            st->thread.tid = 0;
            return DSI_CTL_E_SYS + e;
        }
        st->state = ST_OPEN;
    }
    st->has[port] = true;
    st->flags[port] = (uint32_t)mr[2];
    st->timeout[port] = mr[3];
    st->ctrl_size[port] = cs, st->data_size[port] = ds;
    st->failed[port] = 0;
    mapping.on = true, mapping.st = st, mapping.port = (unsigned)port, mapping.area = DSI_CTL_AREA_CTRL;
    mapping.from = ctl;
    umr[1] = st->index * 2 + port;
    umr[2] = ABI_ITEM_CAP | ((uint64_t)(ABI_R_SEND | ABI_R_COPY) << 8);
    umr[3] = DROPS_CAP_THREAD_BASE + st->thread.index;
    *out = 2, *out_items = 1;
    return 0;
}

static int64_t do_start(struct dsi_ctl_stage *st)
{
    if (st->state != ST_OPEN) return DSI_E_INVAL;
    for (unsigned p = 0; p < 2; p++) {
        if (!st->has[p]) continue;
        if (st->failed[p] || st->mapped[p][0] != st->ctrl_size[p] || st->mapped[p][1] != st->data_size[p] ||
            !st->peer_cap[p])
            return DSI_E_INVAL;
    }
    for (unsigned p = 0; p < 2; p++) {
        if (!st->has[p]) continue;
        dsi_drops_peer_init(&st->peer[p], st->peer_cap[p]);
        struct dsi_config cfg = {
            .flags = st->flags[p], .spin = 0, .timeout_ns = st->timeout[p], .env = dsi_drops_env(&st->peer[p])};
        int e = dsi_attach(&st->sock[p], p == DSI_CTL_PORT_IN ? DSI_RECEIVER : DSI_SENDER,
                           dsi_ctl_area(st, p, DSI_CTL_AREA_CTRL), st->ctrl_size[p],
                           dsi_ctl_area(st, p, DSI_CTL_AREA_DATA), st->data_size[p], &cfg);
        if (e) return e;
        if (p == DSI_CTL_PORT_OUT) {
            if (st->sock[p].num_packets > DSI_CTL_RING_MAX) return DSI_E_RANGE;
            e = dsi_tx_alloc_init(&st->sock[p], 0, st->data_size[p], st->marks, DSI_CTL_RING_MAX);
            if (e) return e;
        }
    }
    utcb()->mr[0] = GO_WORD;
    int64_t e = ipc_send(DROPS_CAP_THREAD_BASE + st->thread.index, ABI_TAG(DSI_CTL_PROTO, 1, 0),
                         DSI_CTL_EVENT_TIMEOUT_NS)
                    .err;
    if (e) return DSI_CTL_E_SYS + e;
    st->state = ST_RUNNING;
    return 0;
}

static int64_t do_close(struct dsi_ctl_stage *st, unsigned port)
{
    /* The thread may still be sending DONE through st->controller. */
    if (st->state == ST_RUNNING && !__atomic_load_n(&st->exited, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&st->stop, 1, __ATOMIC_SEQ_CST);
        return DSI_E_AGAIN;
    }
    unmap_socket(st, port);
    recv_drop(st->peer_cap[port]);
    st->peer_cap[port] = 0;
    st->has[port] = false;
    if (mapping.on && mapping.st == st && mapping.port == port) mapping.on = false;
    if (st->has[0] || st->has[1]) return 0;
    if (st->state == ST_OPEN) {
        /* Never started: end the waiting thread. */
        utcb()->mr[0] = QUIT_WORD;
        ipc_send(DROPS_CAP_THREAD_BASE + st->thread.index, ABI_TAG(DSI_CTL_PROTO, 1, 0), DSI_CTL_EVENT_TIMEOUT_NS);
    }
    recv_drop(st->controller);
    st->controller = 0;
    st->state = ST_FREE; /* reused once `exited` is set */
    return 0;
}

_Noreturn void dsi_ctl_serve(const struct dsi_ctl_server *srv)
{
    server = srv;
    unsigned reply_words = 0, reply_items = 0;
    bool reply = false;
    for (;;) {
        uint64_t flags = ABI_IPC_RECV | (reply ? ABI_IPC_REPLY : 0);
        abi_cap_t from = 0;
        uint64_t timeout = ABI_TIMEOUT_NEVER;
        if (mapping.on) {
            recv_buffers(map_window());
            from = mapping.from, timeout = DSI_CTL_MAP_TIMEOUT_NS;
        } else {
            recv_buffers(0);
            flags |= ABI_IPC_OPEN;
        }
        abi_cap_t cap_slot = utcb()->br[ABI_BR_CAP_BASE];
        struct sys_ret r = sys_ipc(0, from, ABI_TAG(DSI_CTL_PROTO, reply_words, reply_items), 0, timeout, flags);
        reply = false;
        uint64_t *mr = utcb()->mr;
        unsigned words = ABI_TAG_WORDS(r.v0), items = ABI_TAG_ITEMS(r.v0);
        /* A capability that landed belongs to the request (or is dropped). */
        bool cap_in = false;
        for (unsigned i = 0; !r.err && i < items; i++)
            if (ABI_ITEM_TYPE(mr[words + 2 * i]) == ABI_ITEM_CAP && mr[words + 2 * i + 1] == cap_slot) cap_in = true;
        if (r.err) {
            if (mapping.on) map_fail();
            if (cap_in) recv_drop(cap_slot);
            continue;
        }
        if (ABI_TAG_PROTO(r.v0) != DSI_CTL_PROTO || words < 1) {
            if (cap_in) recv_drop(cap_slot);
            if (mapping.on) map_fail();
            mr[0] = DSI_E_INVAL;
            reply = true, reply_words = 1, reply_items = 0;
            continue;
        }
        int64_t st_code = DSI_E_INVAL;
        unsigned out = 1, out_items = 0;
        uint64_t op = mr[0];
        struct dsi_ctl_stage *st;
        unsigned port;
        if (mapping.on && op == DSI_CTL_MAP) {
            st_code = do_map(mr, words, items, &out);
        } else {
            if (mapping.on) map_fail(); /* the controller went on without finishing */
            if (op == DSI_CTL_OPEN) {
                st_code = do_open(mr, words, items, cap_in, r.v1, &out, &out_items);
                if (words >= 10 && items == 1) cap_in = false; /* do_open took it */
            } else if (words >= 2 && socket_valid(mr[1], &st, &port)) {
                if (op == DSI_CTL_CONNECT && items == 1 && cap_in && st->state == ST_OPEN && !st->failed[port]) {
                    recv_drop(st->peer_cap[port]);
                    st->peer_cap[port] = cap_slot;
                    recv_take(cap_slot);
                    cap_in = false;
                    st_code = 0;
                } else if (op == DSI_CTL_START && !items) {
                    st_code = do_start(st);
                } else if (op == DSI_CTL_STOP && !items) {
                    __atomic_store_n(&st->stop, 1, __ATOMIC_SEQ_CST);
                    st_code = 0;
                } else if (op == DSI_CTL_CLOSE && !items) {
                    st_code = do_close(st, port);
                }
            }
        }
        if (cap_in) recv_drop(cap_slot);
        mr[0] = (uint64_t)st_code;
        reply = true, reply_words = out, reply_items = out_items;
    }
}
