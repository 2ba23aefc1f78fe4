/*
 * DSI core: the control-area setup, the sender and receiver state machines
 * and the jitter-constrained stream parameters (protocol in dsi.h).
 *
 * Freestanding: no library calls, only GCC's __atomic builtins. Every read
 * of shared memory goes through an atomic load so the compiler reads it
 * exactly once; the value is validated before it is used, and nothing that
 * must be trusted (ring size, data size, positions) is ever read back from
 * the control area after dsi_attach.
 */
#include "dsi.h"

/* Relaxed atomic access to shared memory: one load or store, never
 * repeated or split by the compiler. Ordering comes from the state word. */
#define LD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define SLOW __attribute__((noinline, cold))

/*
 * The fast paths (a get, commit or release that finds its slot ready) are
 * written for few instructions: one compare tells a usable socket
 * (s->live), the waiting loops and rare cases are separate functions, and
 * socket fields are read into locals before the stores to shared memory
 * (the compiler must assume those stores may alias the socket and would
 * read the fields again). Every check of the general path is still made.
 */

static const char *const dsi_error_text[] = {
#define DSI_ERROR_TEXT(num, name, text) [num] = text,
    DSI_ERRORS(DSI_ERROR_TEXT)
#undef DSI_ERROR_TEXT
};

const char *dsi_strerror(int err)
{
    if (err < 0 || err >= DSI_E_COUNT) return "unknown error";
    return dsi_error_text[err];
}

/* ------------------------------------------------------------- state word */

static inline uint32_t st_make(uint32_t kind, uint64_t no)
{
    /* The shift drops the number's upper bits: seq is its low 24 bits. */
    return kind | ((uint32_t)no << DSI_ST_SEQ_SHIFT);
}

static inline uint32_t st_bare(uint32_t v)
{
    return v & ~DSI_ST_WAIT;
}

static inline uint32_t slot_inc(const struct dsi_socket *s, uint32_t slot)
{
    return slot + 1 == s->num_packets ? 0 : slot + 1;
}

static inline uint32_t slot_dec(const struct dsi_socket *s, uint32_t slot)
{
    return slot == 0 ? s->num_packets - 1 : slot - 1;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static inline bool sg_in_bounds(uint64_t offset, uint64_t length, uint64_t size)
{
    return offset <= size && length <= size - offset;
}

/* ----------------------------------------------------------------- layout */

uint64_t dsi_ctrl_size(uint32_t num_packets, uint32_t max_sg)
{
    if (num_packets == 0 || num_packets > DSI_MAX_PACKETS) return 0;
    if (max_sg == 0 || max_sg > DSI_MAX_SG) return 0;
    /* Bounded by the limits above (about 200 MiB), so no overflow. */
    return DSI_HEADER_SIZE + (uint64_t)num_packets * DSI_DESC_SIZE +
           (uint64_t)num_packets * max_sg * DSI_SG_SIZE;
}

int dsi_ctrl_init(void *ctrl, uint64_t ctrl_size, uint32_t num_packets, uint32_t max_sg,
                  uint64_t data_size)
{
    uint64_t need = dsi_ctrl_size(num_packets, max_sg);
    if (!ctrl || ((uintptr_t)ctrl & 7) || need == 0 || ctrl_size < need) return DSI_E_INVAL;

    struct dsi_ctrl_header *h = ctrl;
    uint64_t *words = ctrl;
    for (uint64_t i = 0; i < need / 8; i++) words[i] = 0;

    h->version = DSI_VERSION;
    h->header_size = DSI_HEADER_SIZE;
    h->num_packets = num_packets;
    h->max_sg = max_sg;
    h->data_size = data_size;
    h->ctrl_size = need;
    h->desc_offset = DSI_HEADER_SIZE;
    h->sg_offset = DSI_HEADER_SIZE + (uint64_t)num_packets * DSI_DESC_SIZE;

    /* Slot i starts as if packet i - N had been released, so the first
     * round needs no special case on either side. */
    struct dsi_desc *d = (struct dsi_desc *)((uint8_t *)ctrl + h->desc_offset);
    for (uint32_t i = 0; i < num_packets; i++)
        d[i].state = st_make(DSI_ST_EMPTY, (uint64_t)i - num_packets);

    __atomic_store_n(&h->magic, DSI_MAGIC, __ATOMIC_RELEASE);
    return DSI_E_OK;
}

/* ------------------------------------------------------------ attach/close */

int dsi_attach(struct dsi_socket *s, enum dsi_role role, void *ctrl, uint64_t ctrl_size,
               void *data, uint64_t data_size, const struct dsi_config *cfg)
{
    if (!s || !cfg || !ctrl || ((uintptr_t)ctrl & 7)) return DSI_E_INVAL;
    if (role != DSI_SENDER && role != DSI_RECEIVER) return DSI_E_INVAL;
    if (cfg->flags & ~DSI_F_ALL) return DSI_E_INVAL;
    if (data_size && !data) return DSI_E_INVAL;
    bool blocking = !(cfg->flags & DSI_F_NONBLOCK);
    if (blocking && !cfg->env.wait) return DSI_E_INVAL;
    bool need_now = (blocking && cfg->timeout_ns != DSI_TIMEOUT_INFINITE) ||
                    (cfg->flags & (DSI_F_STAMP | DSI_F_DROP_EXPIRED));
    if (need_now && !cfg->env.now) return DSI_E_INVAL;
    if (ctrl_size < DSI_HEADER_SIZE) return DSI_E_BADHDR;

    /* The only time the header is read: each value once, then kept. */
    struct dsi_ctrl_header *h = ctrl;
    uint32_t magic = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE);
    uint16_t version = LD(&h->version);
    uint16_t header_size = LD(&h->header_size);
    uint32_t n = LD(&h->num_packets);
    uint32_t max_sg = LD(&h->max_sg);
    uint64_t hdr_data_size = LD(&h->data_size);
    uint64_t hdr_ctrl_size = LD(&h->ctrl_size);
    uint64_t desc_offset = LD(&h->desc_offset);
    uint64_t sg_offset = LD(&h->sg_offset);

    if (magic != DSI_MAGIC || version != DSI_VERSION || header_size != DSI_HEADER_SIZE)
        return DSI_E_BADHDR;
    uint64_t need = dsi_ctrl_size(n, max_sg);
    if (need == 0 || need > ctrl_size || hdr_ctrl_size < need || hdr_ctrl_size > ctrl_size)
        return DSI_E_BADHDR;
    if (desc_offset != DSI_HEADER_SIZE ||
        sg_offset != DSI_HEADER_SIZE + (uint64_t)n * DSI_DESC_SIZE)
        return DSI_E_BADHDR;
    if (hdr_data_size > data_size) return DSI_E_BADHDR;

    *s = (struct dsi_socket){
        .hdr = h,
        .desc = (struct dsi_desc *)((uint8_t *)ctrl + desc_offset),
        .sg = (struct dsi_sg *)((uint8_t *)ctrl + sg_offset),
        .data = data,
        .data_size = hdr_data_size,
        .num_packets = n,
        .max_sg = max_sg,
        .role = role,
        .live = role,
        .flags = cfg->flags,
        .spin = cfg->spin,
        .timeout_ns = cfg->timeout_ns,
        .env = cfg->env,
    };
    return DSI_E_OK;
}

static SLOW int corrupt(struct dsi_socket *s)
{
    s->broken = DSI_E_CORRUPT;
    s->live = 0;
    __atomic_fetch_or(&s->hdr->events,
                      s->role == DSI_SENDER ? DSI_EV_TX_CORRUPT : DSI_EV_RX_CORRUPT,
                      __ATOMIC_RELAXED);
    return DSI_E_CORRUPT;
}

static int usable(const struct dsi_socket *s, uint32_t role, const struct dsi_packet *p)
{
    if (!s || !p || s->role != role) return DSI_E_INVAL;
    if (s->broken) return s->broken;
    if (s->closed) return DSI_E_CLOSED;
    return DSI_E_OK;
}

/* Why a socket failed the fast check (never OK: live is the role exactly
 * when usable() passes). */
static SLOW int unusable(const struct dsi_socket *s, uint32_t role, const struct dsi_packet *p)
{
    int r = usable(s, role, p);
    return r ? r : DSI_E_INVAL;
}

/* Return unless s is a usable socket of `role` and p a packet handle. */
#define CHECK_USABLE(s, role, p) \
    do { \
        if (unlikely(!(s) || !(p) || (s)->live != (role))) return unusable((s), (role), (p)); \
    } while (0)

static void wake(struct dsi_socket *s, uint32_t *word)
{
    if (s->env.wake) s->env.wake(s->env.ctx, word);
}

/*
 * Wake the peer if it waits on `word` in state `kind`: clear WAIT so its
 * wait hook returns (the word changed) even if it has not slept yet, then
 * wake it in case it has.
 */
static void kick(struct dsi_socket *s, uint32_t *word, uint32_t kind)
{
    uint32_t v = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    if ((v & DSI_ST_WAIT) && (v & DSI_ST_KIND_MASK) == kind &&
        __atomic_compare_exchange_n(word, &v, v & ~DSI_ST_WAIT, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST))
        wake(s, word);
}

int dsi_close(struct dsi_socket *s)
{
    if (!s || (s->role != DSI_SENDER && s->role != DSI_RECEIVER)) return DSI_E_INVAL;
    if (s->closed) return DSI_E_OK;
    s->closed = true;
    s->live = 0;
    /* The peer waits, if at all, on the slot of our `done` packet: the
     * receiver for the next packet to be committed (slot EMPTY), the sender
     * for the oldest packet not yet released (slot FULL). */
    bool tx = s->role == DSI_SENDER;
    __atomic_fetch_or(&s->hdr->events, tx ? DSI_EV_EOS : DSI_EV_RX_CLOSED, __ATOMIC_SEQ_CST);
    kick(s, &s->desc[s->done_slot].state, tx ? DSI_ST_EMPTY : DSI_ST_FULL);
    return DSI_E_OK;
}

uint32_t dsi_events(const struct dsi_socket *s)
{
    return __atomic_load_n(&s->hdr->events, __ATOMIC_ACQUIRE);
}

void *dsi_packet_data(const struct dsi_socket *s, const struct dsi_packet *p, uint32_t i,
                      uint64_t *length)
{
    if (!s || !p || i >= p->nsg || i >= DSI_MAX_SG || !s->data) return (void *)0;
    uint64_t off = p->sg[i].offset, len = p->sg[i].length;
    if (!sg_in_bounds(off, len, s->data_size)) return (void *)0;
    if (length) *length = len;
    return s->data + off;
}

/* ---------------------------------------------------------------- waiting */

struct deadline {
    uint64_t at;
    bool started;
};

/* Time left before the socket's timeout, counted from the first time the
 * caller had to block. */
static int time_left(struct dsi_socket *s, struct deadline *d, uint64_t *left)
{
    if (s->timeout_ns == DSI_TIMEOUT_INFINITE) {
        *left = DSI_TIMEOUT_INFINITE;
        return DSI_E_OK;
    }
    uint64_t t = s->env.now(s->env.ctx);
    if (!d->started) {
        d->started = true;
        d->at = t + s->timeout_ns < t ? UINT64_MAX : t + s->timeout_ns;
    }
    if (t >= d->at) return DSI_E_TIMEOUT;
    *left = d->at - t;
    return DSI_E_OK;
}

/*
 * Block on `word`, last seen holding the valid but unready value `seen`,
 * until it changes, an event in `stop` is raised, or the deadline passes.
 * Returns DSI_E_OK when the caller should look again, DSI_E_TIMEOUT.
 * Inlined into the (out-of-line) waiting loops: a lock-step stream comes
 * here for every packet.
 */
static inline __attribute__((always_inline)) int block_on(struct dsi_socket *s, uint32_t *word,
                                                         uint32_t seen, uint32_t stop, struct deadline *d)
{
    uint64_t left;
    int r = time_left(s, d, &left);
    if (r) return r;
    if (!(seen & DSI_ST_WAIT)) {
        if (!__atomic_compare_exchange_n(word, &seen, seen | DSI_ST_WAIT, false,
                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return DSI_E_OK;
        seen |= DSI_ST_WAIT;
    }
    /* After WAIT is visible: a close raised before it is seen here, one
     * raised after it finds WAIT and kicks us (see kick). */
    if (__atomic_load_n(&s->hdr->events, __ATOMIC_SEQ_CST) & stop) return DSI_E_OK;
    /* OK and TIMEOUT: look again (the deadline decides). Anything else: the
     * environment knows the wait cannot end well (the peer is gone). */
    r = s->env.wait(s->env.ctx, word, seen, left);
    return r == DSI_E_TIMEOUT ? DSI_E_OK : r;
}

/* ----------------------------------------------------------------- sender */

/*
 * Look at the oldest committed packet not yet seen released. Released:
 * reclaim its slot and data. Still full: DSI_E_AGAIN with the state word in
 * *seen. Anything else is corruption.
 */
static int tx_try_reclaim(struct dsi_socket *s, uint32_t *seen)
{
    uint32_t v = __atomic_load_n(&s->desc[s->reclaim_slot].state, __ATOMIC_ACQUIRE);
    if (st_bare(v) == st_make(DSI_ST_EMPTY, s->reclaim)) {
        if (s->alloc.on) s->alloc.tail = s->alloc.marks[s->reclaim_slot];
        s->reclaim++;
        s->reclaim_slot = slot_inc(s, s->reclaim_slot);
        return DSI_E_OK;
    }
    if (st_bare(v) == st_make(DSI_ST_FULL, s->reclaim)) {
        *seen = v;
        return DSI_E_AGAIN;
    }
    return corrupt(s);
}

/* Reclaim the oldest committed packet, waiting for its release if the
 * socket blocks (precondition: reclaim < done). */
static int tx_reclaim_oldest(struct dsi_socket *s)
{
    struct deadline d = {0, false};
    uint32_t spin = s->spin;
    for (;;) {
        uint32_t seen = 0;
        int r = tx_try_reclaim(s, &seen);
        if (r != DSI_E_AGAIN) return r;
        if (__atomic_load_n(&s->hdr->events, __ATOMIC_ACQUIRE) & DSI_EV_RX_CLOSED)
            return DSI_E_PEER_CLOSED;
        if (s->flags & DSI_F_NONBLOCK) return DSI_E_AGAIN;
        if (spin) {
            spin--;
            cpu_relax();
            continue;
        }
        r = block_on(s, &s->desc[s->reclaim_slot].state, seen, DSI_EV_RX_CLOSED, &d);
        if (r) return r;
    }
}

static int tx_drop(struct dsi_socket *s)
{
    s->drops++;
    ST(&s->hdr->drops, s->drops);
    if (!s->drop_flagged) {
        s->drop_flagged = true;
        __atomic_fetch_or(&s->hdr->events, DSI_EV_DROP, __ATOMIC_RELAXED);
    }
    return DSI_E_DROPPED;
}

/*
 * The ring is full from the sender's view: take the oldest slot back if the
 * receiver already released it, inline (in a short ring, as in lock-step,
 * this is the common case, every N packets). false: tx_make_room must.
 * Only dsi_forward uses it: in dsi_tx_get it would cost a long ring's
 * stream (one slot per call instead of a ring's worth) more than it saves.
 */
static inline __attribute__((always_inline)) bool tx_reclaim_one(struct dsi_socket *s)
{
    uint64_t reclaim = s->reclaim;
    uint32_t slot = s->reclaim_slot;
    if (reclaim == s->done ||
        st_bare(__atomic_load_n(&s->desc[slot].state, __ATOMIC_ACQUIRE)) != st_make(DSI_ST_EMPTY, reclaim))
        return false;
    if (s->alloc.on) s->alloc.tail = s->alloc.marks[slot];
    s->reclaim = reclaim + 1;
    s->reclaim_slot = slot_inc(s, slot);
    return true;
}

/*
 * The ring is full from the sender's view (next - reclaim == N): reclaim the
 * oldest packet, waiting for its release if the socket blocks, and then every
 * further packet the receiver already released, so that the next gets find
 * room without coming here (in a stream that never empties, this runs once
 * per ring's worth of packets instead of once per packet).
 */
static SLOW int tx_make_room(struct dsi_socket *s)
{
    if (s->reclaim == s->done) return DSI_E_LIMIT; /* we hold all N ourselves */
    /* The same test as tx_try_reclaim, in a tight loop; whatever is not a
     * released slot stops it (a still FULL one, or a corrupt one, which
     * the wait for it will report). Only when not even the oldest is
     * released does it wait (in a short ring, the common case is that it
     * was: no deadline, no hooks). */
    for (int round = 0;; round++) {
        uint64_t reclaim = s->reclaim, done = s->done, tail = s->alloc.tail;
        uint32_t slot = s->reclaim_slot, n = s->num_packets;
        bool on = s->alloc.on;
        while (reclaim != done &&
               st_bare(__atomic_load_n(&s->desc[slot].state, __ATOMIC_ACQUIRE)) ==
                   st_make(DSI_ST_EMPTY, reclaim)) {
            if (on) tail = s->alloc.marks[slot];
            reclaim++;
            slot = slot + 1 == n ? 0 : slot + 1;
        }
        bool got = reclaim != s->reclaim;
        s->reclaim = reclaim;
        s->reclaim_slot = slot;
        s->alloc.tail = tail;
        if (got || round) return DSI_E_OK;
        int r = tx_reclaim_oldest(s);
        if (r == DSI_E_AGAIN) return tx_drop(s);
        if (r) return r;
    }
}

int dsi_tx_get(struct dsi_socket *s, struct dsi_packet *p)
{
    CHECK_USABLE(s, DSI_SENDER, p);
    if (unlikely(__atomic_load_n(&s->hdr->events, __ATOMIC_RELAXED) & DSI_EV_RX_CLOSED))
        return DSI_E_PEER_CLOSED;
    if (unlikely(s->next - s->reclaim == s->num_packets)) {
        int r = tx_make_room(s);
        if (r) return r;
    }
    uint64_t next = s->next, head = s->alloc.head;
    uint32_t slot = s->next_slot;
    /* The previous packet, if still held, can no longer allocate: its data
     * ends where this one's begins. */
    if (s->alloc.on && next != s->done) s->alloc.marks[slot_dec(s, slot)] = head;

    p->no = next;
    p->timestamp_ns = 0;
    p->expires_ns = 0;
    p->flags = 0;
    p->nsg = 0;
    p->alloc_start = head;
    s->next = next + 1;
    s->next_slot = slot_inc(s, slot);
    return DSI_E_OK;
}

/* The packet is one this sender holds (got, not committed). */
static bool tx_holds(const struct dsi_socket *s, const struct dsi_packet *p)
{
    return p->no >= s->done && p->no < s->next;
}

int dsi_tx_add(struct dsi_socket *s, struct dsi_packet *p, uint64_t offset, uint64_t length)
{
    CHECK_USABLE(s, DSI_SENDER, p);
    uint32_t nsg = p->nsg;
    if (!tx_holds(s, p) || nsg >= s->max_sg) return DSI_E_INVAL;
    if (!sg_in_bounds(offset, length, s->data_size)) return DSI_E_INVAL;
    p->sg[nsg].offset = offset;
    p->sg[nsg].length = length;
    p->nsg = nsg + 1;
    return DSI_E_OK;
}

int dsi_tx_cancel(struct dsi_socket *s, struct dsi_packet *p)
{
    int r = usable(s, DSI_SENDER, p);
    if (r) return r;
    if (s->next == s->done || p->no != s->next - 1) return DSI_E_ORDER;
    s->next--;
    s->next_slot = slot_dec(s, s->next_slot);
    if (s->alloc.on) {
        s->alloc.head = p->alloc_start;
        s->alloc.pos = p->alloc_start % s->alloc.size;
    }
    return DSI_E_OK;
}

/*
 * Write packet `no` (== s->done, its slot ours) from p into the ring and
 * hand it over: SG elements checked and copied in one pass (the slot is
 * still EMPTY, so elements written before a bad one is found are never
 * seen by the receiver), descriptor, then the exchange that makes it FULL.
 */
static inline __attribute__((always_inline)) int tx_publish(struct dsi_socket *s, struct dsi_packet *p,
                                                            uint64_t no)
{
    uint32_t nsg = p->nsg, max_sg = s->max_sg;
    uint64_t data_size = s->data_size;
    if (unlikely(nsg > max_sg)) return DSI_E_INVAL;
    uint32_t slot = s->done_slot, n = s->num_packets;
    struct dsi_sg *g = &s->sg[(uint64_t)slot * max_sg];
    for (uint32_t i = 0; i < nsg; i++) {
        uint64_t off = p->sg[i].offset, len = p->sg[i].length;
        if (unlikely(!sg_in_bounds(off, len, data_size))) return DSI_E_INVAL;
        ST(&g[i].offset, off);
        ST(&g[i].length, len);
    }
    if (unlikely(s->flags & DSI_F_STAMP)) p->timestamp_ns = s->env.now(s->env.ctx);

    /* Private bookkeeping first (see the note at the top). */
    struct dsi_ctrl_header *h = s->hdr;
    struct dsi_desc *d = &s->desc[slot];
    if (s->alloc.on && no == s->next - 1) s->alloc.marks[slot] = s->alloc.head;
    s->done = no + 1;
    s->done_slot = slot + 1 == n ? 0 : slot + 1;

    ST(&d->nsg, nsg);
    ST(&d->flags, p->flags & DSI_PF_USER_MASK);
    ST(&d->no, no);
    ST(&d->timestamp_ns, p->timestamp_ns);
    ST(&d->expires_ns, p->expires_ns);
    /* Release: the descriptor is visible before the slot turns FULL. */
    uint32_t old = __atomic_exchange_n(&d->state, st_make(DSI_ST_FULL, no), __ATOMIC_ACQ_REL);
    ST(&h->committed, no + 1);
    if (unlikely(old & DSI_ST_WAIT)) wake(s, &d->state);
    /* Only WAIT may have changed while the slot was ours. */
    if (unlikely(st_bare(old) != st_make(DSI_ST_EMPTY, no - n))) return corrupt(s);
    return DSI_E_OK;
}

int dsi_tx_commit(struct dsi_socket *s, struct dsi_packet *p)
{
    CHECK_USABLE(s, DSI_SENDER, p);
    uint64_t no = p->no, done = s->done;
    if (unlikely(s->next == done || no != done)) return DSI_E_ORDER;
    return tx_publish(s, p, no);
}

int dsi_tx_alloc_init(struct dsi_socket *s, uint64_t offset, uint64_t size, uint64_t *marks,
                      uint32_t nmarks)
{
    if (!s || s->role != DSI_SENDER || s->next != 0 || !marks || nmarks < s->num_packets)
        return DSI_E_INVAL;
    if (size == 0 || !sg_in_bounds(offset, size, s->data_size)) return DSI_E_INVAL;
    s->alloc.base = offset;
    s->alloc.size = size;
    s->alloc.head = 0;
    s->alloc.tail = 0;
    s->alloc.pos = 0;
    s->alloc.marks = marks;
    s->alloc.on = true;
    return DSI_E_OK;
}

static SLOW int tx_alloc_slow(struct dsi_socket *s, struct dsi_packet *p, uint64_t length, void **ptr);

int dsi_tx_alloc(struct dsi_socket *s, struct dsi_packet *p, uint64_t length, void **ptr)
{
    CHECK_USABLE(s, DSI_SENDER, p);
    uint32_t nsg = p->nsg;
    if (unlikely(!s->alloc.on || !ptr || length == 0 || nsg >= s->max_sg)) return DSI_E_INVAL;
    /* Allocation is FIFO in packet order: only the newest packet allocates. */
    uint64_t next = s->next;
    if (unlikely(next == s->done || p->no != next - 1)) return DSI_E_ORDER;
    /* Fast: the block fits before the end of the area and in the free space. */
    uint64_t size = s->alloc.size, pos = s->alloc.pos, head = s->alloc.head;
    if (likely(length <= size - pos && head + length - s->alloc.tail <= size)) {
        uint64_t off = s->alloc.base + pos;
        s->alloc.head = head + length;
        s->alloc.pos = pos + length == size ? 0 : pos + length;
        p->sg[nsg].offset = off;
        p->sg[nsg].length = length;
        p->nsg = nsg + 1;
        *ptr = s->data + off;
        return DSI_E_OK;
    }
    return tx_alloc_slow(s, p, length, ptr);
}

/* The general case: skip to the start of the area, reclaim or wait for
 * space, or drop. */
static SLOW int tx_alloc_slow(struct dsi_socket *s, struct dsi_packet *p, uint64_t length, void **ptr)
{
    int r;
    if (length > s->alloc.size) return DSI_E_NOSPACE;

    uint64_t size = s->alloc.size, skip;
    for (;;) {
        /* A block never wraps: skip the rest of the area if it is short. */
        skip = size - s->alloc.pos < length ? size - s->alloc.pos : 0;
        if (s->alloc.head + skip + length - s->alloc.tail <= size) break;
        if (s->reclaim == s->done) {
            /* Only packets we still hold use the area: waiting cannot help. */
            r = DSI_E_NOSPACE;
        } else {
            r = tx_reclaim_oldest(s);
            if (r == DSI_E_OK) continue;
        }
        if ((s->flags & DSI_F_NONBLOCK) && (r == DSI_E_AGAIN || r == DSI_E_NOSPACE)) {
            dsi_tx_cancel(s, p);
            return tx_drop(s);
        }
        return r;
    }
    if (skip) s->alloc.pos = 0;
    uint64_t off = s->alloc.base + s->alloc.pos;
    s->alloc.head += skip + length;
    s->alloc.pos += length;
    if (s->alloc.pos == size) s->alloc.pos = 0;
    p->sg[p->nsg].offset = off;
    p->sg[p->nsg].length = length;
    p->nsg++;
    *ptr = s->data + off;
    return DSI_E_OK;
}

/* --------------------------------------------------------------- receiver */

/* Copy and validate the descriptor of packet `next` (its slot is FULL). */
static inline int rx_take(struct dsi_socket *s, struct dsi_packet *p)
{
    uint32_t slot = s->next_slot, max_sg = s->max_sg;
    uint64_t next = s->next, data_size = s->data_size;
    const struct dsi_desc *d = &s->desc[slot];
    const struct dsi_sg *g = &s->sg[(uint64_t)slot * max_sg];
    uint32_t nsg = LD(&d->nsg);
    uint32_t flags = LD(&d->flags);
    uint64_t no = LD(&d->no);
    if (unlikely(nsg > max_sg || no != next)) return corrupt(s);
    s->next = next + 1;
    s->next_slot = slot + 1 == s->num_packets ? 0 : slot + 1;
    for (uint32_t i = 0; i < nsg; i++) {
        uint64_t off = LD(&g[i].offset), len = LD(&g[i].length);
        if (unlikely(!sg_in_bounds(off, len, data_size))) {
            s->next = next; /* not taken */
            s->next_slot = slot;
            return corrupt(s);
        }
        p->sg[i].offset = off;
        p->sg[i].length = len;
    }
    p->no = no;
    p->timestamp_ns = LD(&d->timestamp_ns);
    p->expires_ns = LD(&d->expires_ns);
    p->flags = flags & DSI_PF_USER_MASK;
    p->nsg = nsg;
    p->alloc_start = 0;
    return DSI_E_OK;
}

static inline int rx_release_oldest(struct dsi_socket *s)
{
    uint32_t slot = s->done_slot;
    uint64_t no = s->done;
    uint32_t *w = &s->desc[slot].state;
    struct dsi_ctrl_header *h = s->hdr;
    s->done = no + 1;
    s->done_slot = slot + 1 == s->num_packets ? 0 : slot + 1;
    /* Release: our reads of the packet are done before the sender reuses it. */
    uint32_t old = __atomic_exchange_n(w, st_make(DSI_ST_EMPTY, no), __ATOMIC_ACQ_REL);
    ST(&h->released, no + 1);
    if (unlikely(old & DSI_ST_WAIT)) wake(s, w);
    if (unlikely(st_bare(old) != st_make(DSI_ST_FULL, no))) return corrupt(s);
    return DSI_E_OK;
}

/* An expired packet was just taken: count it, and skip it if it can be
 * released now (DSI_E_AGAIN: look for the next packet). */
static int rx_expired(struct dsi_socket *s, struct dsi_packet *p)
{
    s->expired++;
    ST(&s->hdr->expired, s->expired);
    if (!s->expired_flagged) {
        s->expired_flagged = true;
        __atomic_fetch_or(&s->hdr->events, DSI_EV_EXPIRED, __ATOMIC_RELAXED);
    }
    if (s->done != p->no) {
        p->flags |= DSI_PF_EXPIRED; /* earlier packets held: caller releases */
        return DSI_E_OK;
    }
    int r = rx_release_oldest(s);
    return r ? r : DSI_E_AGAIN;
}

static SLOW int rx_get_slow(struct dsi_socket *s, struct dsi_packet *p);

/* The packet just taken may have expired: skip it (look for the next one),
 * or flag it, as described in dsi.h. */
static SLOW int rx_check_expired(struct dsi_socket *s, struct dsi_packet *p)
{
    if (!p->expires_ns || s->env.now(s->env.ctx) < p->expires_ns) return DSI_E_OK;
    int r = rx_expired(s, p);
    return r == DSI_E_AGAIN ? rx_get_slow(s, p) : r;
}

int dsi_rx_get(struct dsi_socket *s, struct dsi_packet *p)
{
    CHECK_USABLE(s, DSI_RECEIVER, p);
    /* Fast: the next slot holds the next packet. */
    uint64_t next = s->next;
    if (likely(next - s->done != s->num_packets)) {
        uint32_t v = __atomic_load_n(&s->desc[s->next_slot].state, __ATOMIC_ACQUIRE);
        if (likely(st_bare(v) == st_make(DSI_ST_FULL, next))) {
            int r = rx_take(s, p);
            if (unlikely(r)) return r;
            if (unlikely(s->flags & DSI_F_DROP_EXPIRED)) return rx_check_expired(s, p);
            return DSI_E_OK;
        }
    }
    return rx_get_slow(s, p);
}

/*
 * Wait until the next slot holds the next packet (DSI_E_OK, not taken), or
 * end of stream, corruption, timeout, peer gone (precondition: the ring is
 * not at this side's limit). `eos`: the EOS flag was already seen.
 */
static inline __attribute__((always_inline)) int rx_wait_full(struct dsi_socket *s, bool *eos,
                                                              struct deadline *d, uint32_t *spin)
{
    for (;;) {
        uint32_t *w = &s->desc[s->next_slot].state;
        uint32_t v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
        if (st_bare(v) == st_make(DSI_ST_FULL, s->next)) return DSI_E_OK;
        if (st_bare(v) != st_make(DSI_ST_EMPTY, s->next - s->num_packets)) return corrupt(s);
        /* Empty. End of stream only if the slot is still empty after the
         * flag was seen: the sender raises it after its last commit. */
        if (*eos) return DSI_E_EOS;
        if (__atomic_load_n(&s->hdr->events, __ATOMIC_ACQUIRE) & DSI_EV_EOS) {
            *eos = true;
            continue;
        }
        if (s->flags & DSI_F_NONBLOCK) return DSI_E_AGAIN;
        if (*spin) {
            (*spin)--;
            cpu_relax();
            continue;
        }
        int r = block_on(s, w, v, DSI_EV_EOS, d);
        if (r) return r;
    }
}

/* Everything else: wait, end of stream, corruption, expiry. */
static SLOW int rx_get_slow(struct dsi_socket *s, struct dsi_packet *p)
{
    struct deadline d = {0, false};
    uint32_t spin = s->spin;
    bool eos = false;
    for (;;) {
        if (s->next - s->done == s->num_packets) return DSI_E_LIMIT;
        int r = rx_wait_full(s, &eos, &d, &spin);
        if (r) return r;
        r = rx_take(s, p);
        if (r) return r;
        if ((s->flags & DSI_F_DROP_EXPIRED) && p->expires_ns && s->env.now(s->env.ctx) >= p->expires_ns) {
            r = rx_expired(s, p);
            if (r == DSI_E_AGAIN) continue;
        }
        return r;
    }
}

/* A forwarder waits for its next upstream packet without taking it. */
static SLOW int fwd_wait(struct dsi_socket *rx)
{
    struct deadline d = {0, false};
    uint32_t spin = rx->spin;
    bool eos = false;
    return rx_wait_full(rx, &eos, &d, &spin);
}

int dsi_rx_release(struct dsi_socket *s, struct dsi_packet *p)
{
    CHECK_USABLE(s, DSI_RECEIVER, p);
    uint64_t done = s->done;
    if (unlikely(s->next == done || p->no != done)) return DSI_E_ORDER;
    return rx_release_oldest(s);
}

/* ---------------------------------------------------------------- forward */

static SLOW int fwd_unusable(struct dsi_socket *rx, struct dsi_socket *tx, struct dsi_packet *p)
{
    struct dsi_packet tmp;
    if (!p) p = &tmp; /* optional here */
    int r = usable(rx, DSI_RECEIVER, p);
    if (!r) r = usable(tx, DSI_SENDER, p);
    if (r) return r;
    if (tx->data != rx->data || tx->data_size != rx->data_size) return DSI_E_INVAL;
    return DSI_E_ORDER; /* one of them holds packets */
}

/* Downstream is full and does not block: drop the next upstream packet. */
static SLOW int fwd_drop(struct dsi_socket *rx, struct dsi_packet *p)
{
    struct dsi_packet tmp;
    int r = dsi_rx_get(rx, p ? p : &tmp);
    if (!r) r = rx_release_oldest(rx);
    return r ? r : DSI_E_DROPPED;
}

/* The general case: wait for the upstream packet (or expiry, end of
 * stream, corruption) through dsi_rx_get, then publish it from the copy. */
static SLOW int fwd_slow(struct dsi_socket *rx, struct dsi_socket *tx, struct dsi_packet *p)
{
    struct dsi_packet tmp;
    if (!p) p = &tmp;
    int r = dsi_rx_get(rx, p);
    if (r) return r;
    if (p->nsg > tx->max_sg) {
        /* Does not fit downstream: put it back, nothing moved. */
        rx->next--;
        rx->next_slot = slot_dec(rx, rx->next_slot);
        return DSI_E_INVAL;
    }
    uint64_t no = tx->next;
    tx->next = no + 1;
    tx->next_slot = slot_inc(tx, tx->next_slot);
    uint64_t ts = p->timestamp_ns;
    r = tx_publish(tx, p, no);
    p->timestamp_ns = ts; /* the caller gets the packet as received */
    if (r == DSI_E_INVAL) {
        /* Cannot happen (checked against the same data size upstream);
         * undo the reservation so the socket stays consistent. */
        tx->next = no;
        tx->next_slot = slot_dec(tx, tx->next_slot);
    }
    int rr = rx_release_oldest(rx);
    return r ? r : rr;
}

/*
 * The fast path copies the next upstream descriptor straight into the
 * downstream slot: each shared value read once and checked (as rx_take
 * does) on the way, the SG elements checked once (both sockets address the
 * same data area), nothing staged in a packet handle.
 */
int dsi_forward(struct dsi_socket *rx, struct dsi_socket *tx, struct dsi_packet *p)
{
    if (unlikely(!rx || !tx || rx->live != DSI_RECEIVER || tx->live != DSI_SENDER ||
                 tx->data != rx->data || tx->data_size != rx->data_size || rx->next != rx->done ||
                 tx->next != tx->done))
        return fwd_unusable(rx, tx, p);
    if (unlikely(__atomic_load_n(&tx->hdr->events, __ATOMIC_RELAXED) & DSI_EV_RX_CLOSED))
        return DSI_E_PEER_CLOSED;
    if (unlikely(tx->next - tx->reclaim == tx->num_packets) && !tx_reclaim_one(tx)) {
        int r = tx_make_room(tx);
        if (r == DSI_E_DROPPED) return fwd_drop(rx, p);
        if (r) return r;
    }
    /* Upstream: the next packet is there (rx holds nothing, so its ring
     * cannot be at the limit). Expiry checks take the general path. */
    if (unlikely(rx->flags & DSI_F_DROP_EXPIRED)) return fwd_slow(rx, tx, p);
    uint64_t rno = rx->next;
    uint32_t rslot = rx->next_slot;
    struct dsi_desc *rd = &rx->desc[rslot];
    uint32_t v = __atomic_load_n(&rd->state, __ATOMIC_ACQUIRE);
    if (unlikely(st_bare(v) != st_make(DSI_ST_FULL, rno))) {
        int r = fwd_wait(rx);
        if (r) return r;
    }
    uint32_t nsg = LD(&rd->nsg), max_sg = rx->max_sg;
    uint32_t flags = LD(&rd->flags) & DSI_PF_USER_MASK;
    uint64_t no = LD(&rd->no);
    if (unlikely(nsg > max_sg || no != rno)) return corrupt(rx);
    if (unlikely(nsg > tx->max_sg)) return DSI_E_INVAL; /* does not fit downstream: nothing moved */
    uint64_t ts = LD(&rd->timestamp_ns), exp = LD(&rd->expires_ns);

    /* Downstream slot: ours (EMPTY) until the exchange below. */
    uint64_t tno = tx->next, data_size = rx->data_size;
    uint32_t tslot = tx->next_slot, tmax = tx->max_sg, tn = tx->num_packets;
    const struct dsi_sg *rg = &rx->sg[(uint64_t)rslot * max_sg];
    struct dsi_sg *tg = &tx->sg[(uint64_t)tslot * tmax];
    for (uint32_t i = 0; i < nsg; i++) {
        uint64_t off = LD(&rg[i].offset), len = LD(&rg[i].length);
        if (unlikely(!sg_in_bounds(off, len, data_size))) return corrupt(rx);
        ST(&tg[i].offset, off);
        ST(&tg[i].length, len);
        if (p) {
            p->sg[i].offset = off;
            p->sg[i].length = len;
        }
    }
    if (p) {
        p->no = no;
        p->timestamp_ns = ts;
        p->expires_ns = exp;
        p->flags = flags;
        p->nsg = nsg;
        p->alloc_start = 0;
    }
    if (unlikely(tx->flags & DSI_F_STAMP)) ts = tx->env.now(tx->env.ctx);

    /* Private bookkeeping first (see the note at the top). */
    rx->next = rno + 1;
    rx->next_slot = rslot + 1 == rx->num_packets ? 0 : rslot + 1;
    if (tx->alloc.on) tx->alloc.marks[tslot] = tx->alloc.head;
    tx->next = tx->done = tno + 1;
    tx->next_slot = tx->done_slot = tslot + 1 == tn ? 0 : tslot + 1;

    struct dsi_desc *td = &tx->desc[tslot];
    ST(&td->nsg, nsg);
    ST(&td->flags, flags);
    ST(&td->no, tno);
    ST(&td->timestamp_ns, ts);
    ST(&td->expires_ns, exp);
    uint32_t old = __atomic_exchange_n(&td->state, st_make(DSI_ST_FULL, tno), __ATOMIC_ACQ_REL);
    ST(&tx->hdr->committed, tno + 1);
    if (unlikely(old & DSI_ST_WAIT)) wake(tx, &td->state);
    int r = DSI_E_OK;
    if (unlikely(st_bare(old) != st_make(DSI_ST_EMPTY, tno - tn))) r = corrupt(tx);
    int rr = rx_release_oldest(rx);
    return r ? r : rr;
}

/* ------------------------------------------- jitter-constrained parameters */

#define NS_PER_S 1000000000ull

int dsi_params_ring_size(const struct dsi_stream_params *p, uint32_t *num_packets)
{
    if (!p || !num_packets || p->bandwidth == 0 || p->packet_size == 0) return DSI_E_INVAL;
    /* R = ceil(bandwidth / packet_size) packets per second. */
    uint64_t rate = p->bandwidth / p->packet_size + (p->bandwidth % p->packet_size != 0);
    /* ceil(J * R / 1e9) with J = sec * 1e9 + ns, without a 128-bit product:
     * sec * R + ceil(ns * R / 1e9). An overflow in either term means a
     * result far above DSI_MAX_PACKETS (ns * R >= 2^64 gives >= 1.8e10). */
    uint64_t sec = p->jitter_ns / NS_PER_S, ns = p->jitter_ns % NS_PER_S;
    uint64_t whole, frac, extra, n;
    if (__builtin_mul_overflow(sec, rate, &whole)) return DSI_E_RANGE;
    if (__builtin_mul_overflow(ns, rate, &frac)) return DSI_E_RANGE;
    frac = frac / NS_PER_S + (frac % NS_PER_S != 0);
    if (__builtin_add_overflow(whole, frac, &extra)) return DSI_E_RANGE;
    if (__builtin_add_overflow(extra, 2, &n)) return DSI_E_RANGE;
    if (n > DSI_MAX_PACKETS) return DSI_E_RANGE;
    *num_packets = (uint32_t)n;
    return DSI_E_OK;
}

int dsi_params_data_size(const struct dsi_stream_params *p, uint32_t num_packets,
                         uint64_t *bytes)
{
    if (!p || !bytes || p->packet_size == 0 || num_packets == 0) return DSI_E_INVAL;
    /* One packet more than the ring: the allocator may skip up to one
     * packet's worth at the end of the area (see README.md). */
    uint64_t b;
    if (__builtin_mul_overflow((uint64_t)num_packets + 1, p->packet_size, &b)) return DSI_E_RANGE;
    *bytes = b;
    return DSI_E_OK;
}
