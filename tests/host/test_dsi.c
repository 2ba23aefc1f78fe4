/*
 * Host unit tests for dsi/: the API in one thread, with a fake environment
 * (a clock that the test sets or that advances on every call, and wait/wake
 * hooks that only count), so every path is deterministic: layout and attach
 * checks, get/add/commit/get/release, ordering and limits, cancel, the
 * sender-side allocator, non-blocking drops, end of stream, receiver close,
 * expiry and timestamps, timeouts, the wait/wake protocol bits, deliberate
 * corruption of each checked field, the stream-parameter formula, and the
 * zero-copy forward.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsi.h"
#include "tap.h"

/* ------------------------------------------------------- fake environment */

struct fake {
    uint64_t now, step; /* now() returns now, then adds step */
    int waits, wakes;
    uint32_t last_expected;
};

static int fake_wait(void *ctx, uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
    struct fake *f = ctx;
    (void)word;
    (void)timeout_ns;
    f->waits++;
    f->last_expected = expected;
    return DSI_E_OK;
}

static void fake_wake(void *ctx, uint32_t *word)
{
    (void)word;
    ((struct fake *)ctx)->wakes++;
}

static uint64_t fake_now(void *ctx)
{
    struct fake *f = ctx;
    uint64_t t = f->now;
    f->now += f->step;
    return t;
}

static struct dsi_config config(struct fake *f, uint32_t flags, uint64_t timeout)
{
    return (struct dsi_config){
        .flags = flags,
        .spin = 0,
        .timeout_ns = timeout,
        .env = {.wait = fake_wait, .wake = fake_wake, .now = fake_now, .ctx = f},
    };
}

/* ----------------------------------------------------------------- stream */

#define DATA_SIZE 4096u

struct stream {
    void *ctrl;
    uint64_t ctrl_size;
    uint8_t *data;
    struct dsi_socket tx, rx;
    struct fake ftx, frx;
};

static void stream_free(struct stream *st)
{
    free(st->ctrl);
    free(st->data);
    st->ctrl = NULL;
    st->data = NULL;
}

/* A fresh stream with N slots; both sides attached with the given flags. */
static void stream_new(struct stream *st, uint32_t n, uint32_t max_sg, uint32_t txflags,
                       uint32_t rxflags)
{
    memset(st, 0, sizeof(*st));
    st->ctrl_size = dsi_ctrl_size(n, max_sg);
    st->ctrl = aligned_alloc(64, (st->ctrl_size + 63) / 64 * 64);
    memset(st->ctrl, 0xa5, st->ctrl_size); /* init must not rely on zeroed memory */
    st->data = calloc(1, DATA_SIZE);
    dsi_ctrl_init(st->ctrl, st->ctrl_size, n, max_sg, DATA_SIZE);
    struct dsi_config ct = config(&st->ftx, txflags, 1000);
    struct dsi_config cr = config(&st->frx, rxflags, 1000);
    dsi_attach(&st->tx, DSI_SENDER, st->ctrl, st->ctrl_size, st->data, DATA_SIZE, &ct);
    dsi_attach(&st->rx, DSI_RECEIVER, st->ctrl, st->ctrl_size, st->data, DATA_SIZE, &cr);
}

static struct dsi_ctrl_header *hdr(struct stream *st)
{
    return st->ctrl;
}

static struct dsi_desc *desc(struct stream *st, uint32_t slot)
{
    return (struct dsi_desc *)((uint8_t *)st->ctrl + DSI_HEADER_SIZE) + slot;
}

static struct dsi_sg *sgel(struct stream *st, uint32_t slot, uint32_t i)
{
    uint32_t n = hdr(st)->num_packets;
    return (struct dsi_sg *)((uint8_t *)st->ctrl + DSI_HEADER_SIZE + n * DSI_DESC_SIZE) +
           slot * hdr(st)->max_sg + i;
}

/* Send one packet of one SG element [off, off+len). */
static int send1(struct stream *st, uint64_t off, uint64_t len, uint32_t flags)
{
    struct dsi_packet p;
    int r = dsi_tx_get(&st->tx, &p);
    if (r) return r;
    p.flags = flags;
    if ((r = dsi_tx_add(&st->tx, &p, off, len))) {
        dsi_tx_cancel(&st->tx, &p);
        return r;
    }
    return dsi_tx_commit(&st->tx, &p);
}

/* ------------------------------------------------------------------ tests */

static void test_layout(void)
{
    is(dsi_ctrl_size(1, 1), 256 + 64 + 16, "ctrl size N=1 sg=1");
    is(dsi_ctrl_size(16, 4), 256 + 16 * 64 + 16 * 4 * 16, "ctrl size N=16 sg=4");
    is(dsi_ctrl_size(0, 1), 0, "ctrl size: zero packets refused");
    is(dsi_ctrl_size(DSI_MAX_PACKETS + 1, 1), 0, "ctrl size: too many packets refused");
    is(dsi_ctrl_size(4, 0), 0, "ctrl size: zero SG refused");
    is(dsi_ctrl_size(4, DSI_MAX_SG + 1), 0, "ctrl size: too many SG refused");
    ok(dsi_ctrl_size(DSI_MAX_PACKETS, DSI_MAX_SG) > 0, "ctrl size at the limits");

    uint64_t buf[64];
    is(dsi_ctrl_init((uint8_t *)buf + 4, 400, 1, 1, 0), DSI_E_INVAL, "init: misaligned area");
    is(dsi_ctrl_init(buf, 200, 1, 1, 0), DSI_E_INVAL, "init: area too small");
    is(dsi_ctrl_init(NULL, 400, 1, 1, 0), DSI_E_INVAL, "init: NULL area");
    is(dsi_ctrl_init(buf, sizeof buf, 1, 1, 0), DSI_E_OK, "init: ring of one");
    struct dsi_ctrl_header *h = (void *)buf;
    is(h->magic, DSI_MAGIC, "init: magic");
    is(h->num_packets, 1, "init: N");
    is(h->sg_offset, 256 + 64, "init: sg offset");
    ok(strcmp(dsi_strerror(DSI_E_CORRUPT), "the peer corrupted the control area; socket unusable") == 0,
       "strerror names the error");
    ok(strcmp(dsi_strerror(99), "unknown error") == 0 && strcmp(dsi_strerror(-1), "unknown error") == 0,
       "strerror out of range");
}

static void test_attach(void)
{
    struct stream st;
    stream_new(&st, 8, 2, DSI_F_NONBLOCK, DSI_F_NONBLOCK);
    struct dsi_socket s;
    struct fake f = {0};
    struct dsi_config c = config(&f, 0, 1000);
    uint8_t saved[DSI_HEADER_SIZE];
    memcpy(saved, st.ctrl, sizeof saved);

    is(dsi_attach(&s, DSI_SENDER, st.ctrl, st.ctrl_size, st.data, DATA_SIZE, &c), DSI_E_OK,
       "attach: sender");
    is(s.num_packets, 8, "attach: private ring size");
    is(dsi_attach(&s, 3, st.ctrl, st.ctrl_size, st.data, DATA_SIZE, &c), DSI_E_INVAL,
       "attach: bad role");
    is(dsi_attach(&s, DSI_SENDER, (uint8_t *)st.ctrl + 4, st.ctrl_size, st.data, DATA_SIZE, &c),
       DSI_E_INVAL, "attach: misaligned control area");
    is(dsi_attach(&s, DSI_SENDER, st.ctrl, st.ctrl_size - 1, st.data, DATA_SIZE, &c),
       DSI_E_BADHDR, "attach: control mapping smaller than the ring");
    is(dsi_attach(&s, DSI_SENDER, st.ctrl, st.ctrl_size, st.data, DATA_SIZE - 1, &c),
       DSI_E_BADHDR, "attach: data mapping smaller than the header says");
    is(dsi_attach(&s, DSI_SENDER, st.ctrl, st.ctrl_size, NULL, DATA_SIZE, &c), DSI_E_INVAL,
       "attach: NULL data with a size");

    struct dsi_config bad = c;
    bad.flags = 0x80;
    is(dsi_attach(&s, DSI_SENDER, st.ctrl, st.ctrl_size, st.data, DATA_SIZE, &bad), DSI_E_INVAL,
       "attach: unknown flag");
    bad = c;
    bad.env.wait = NULL;
    is(dsi_attach(&s, DSI_RECEIVER, st.ctrl, st.ctrl_size, st.data, DATA_SIZE, &bad), DSI_E_INVAL,
       "attach: blocking without a wait hook");
    bad.flags = DSI_F_NONBLOCK;
    is(dsi_attach(&s, DSI_RECEIVER, st.ctrl, st.ctrl_size, st.data, DATA_SIZE, &bad), DSI_E_OK,
       "attach: non-blocking needs no wait hook");
    bad = c;
    bad.env.now = NULL;
    is(dsi_attach(&s, DSI_RECEIVER, st.ctrl, st.ctrl_size, st.data, DATA_SIZE, &bad), DSI_E_INVAL,
       "attach: finite timeout without a clock");
    bad.timeout_ns = DSI_TIMEOUT_INFINITE;
    is(dsi_attach(&s, DSI_RECEIVER, st.ctrl, st.ctrl_size, st.data, DATA_SIZE, &bad), DSI_E_OK,
       "attach: infinite timeout needs no clock");
    bad.flags = DSI_F_DROP_EXPIRED;
    is(dsi_attach(&s, DSI_RECEIVER, st.ctrl, st.ctrl_size, st.data, DATA_SIZE, &bad), DSI_E_INVAL,
       "attach: expiry without a clock");

    struct {
        const char *what;
        size_t off, width;
        uint64_t value;
    } pokes[] = {
        {"magic", offsetof(struct dsi_ctrl_header, magic), 4, 0x12345678},
        {"version", offsetof(struct dsi_ctrl_header, version), 2, 2},
        {"header size", offsetof(struct dsi_ctrl_header, header_size), 2, 128},
        {"zero packets", offsetof(struct dsi_ctrl_header, num_packets), 4, 0},
        {"more packets than mapped", offsetof(struct dsi_ctrl_header, num_packets), 4, 9},
        {"huge packet count", offsetof(struct dsi_ctrl_header, num_packets), 4, 0xffffffff},
        {"zero SG", offsetof(struct dsi_ctrl_header, max_sg), 4, 0},
        {"too many SG", offsetof(struct dsi_ctrl_header, max_sg), 4, 9},
        {"data size beyond mapping", offsetof(struct dsi_ctrl_header, data_size), 8, DATA_SIZE + 1},
        {"ctrl size beyond mapping", offsetof(struct dsi_ctrl_header, ctrl_size), 8, 1u << 30},
        {"ctrl size below ring", offsetof(struct dsi_ctrl_header, ctrl_size), 8, 300},
        {"desc offset", offsetof(struct dsi_ctrl_header, desc_offset), 8, 0},
        {"sg offset", offsetof(struct dsi_ctrl_header, sg_offset), 8, 0x7fffffffffffffffull},
    };
    for (size_t i = 0; i < sizeof pokes / sizeof pokes[0]; i++) {
        memcpy(st.ctrl, saved, sizeof saved);
        memcpy((uint8_t *)st.ctrl + pokes[i].off, &pokes[i].value, pokes[i].width);
        is(dsi_attach(&s, DSI_RECEIVER, st.ctrl, st.ctrl_size, st.data, DATA_SIZE, &c),
           DSI_E_BADHDR, "attach refuses a header with a bad %s", pokes[i].what);
    }
    memcpy(st.ctrl, saved, sizeof saved);
    hdr(&st)->data_size = 100;
    is(dsi_attach(&s, DSI_RECEIVER, st.ctrl, st.ctrl_size, st.data, DATA_SIZE, &c), DSI_E_OK,
       "attach: header may announce less data than mapped");
    is(s.data_size, 100, "attach: the header's data size is the limit");
    stream_free(&st);
}

static void test_basic(void)
{
    struct stream st;
    stream_new(&st, 4, 3, DSI_F_NONBLOCK, DSI_F_NONBLOCK);
    struct dsi_packet p, q;

    is(dsi_rx_get(&st.rx, &q), DSI_E_AGAIN, "empty ring: non-blocking receiver gets AGAIN");
    is(dsi_tx_get(&st.tx, &p), DSI_E_OK, "sender gets a packet");
    is(p.no, 0, "first packet is number 0");
    is(p.nsg, 0, "fresh packet has no SG elements");
    memcpy(st.data + 100, "hello", 5);
    memcpy(st.data + 2000, "world", 5);
    is(dsi_tx_add(&st.tx, &p, 100, 5), DSI_E_OK, "add SG element 0");
    is(dsi_tx_add(&st.tx, &p, 2000, 5), DSI_E_OK, "add SG element 1");
    is(dsi_tx_add(&st.tx, &p, DATA_SIZE, 0), DSI_E_OK, "add empty element at the end");
    is(dsi_tx_add(&st.tx, &p, 0, 1), DSI_E_INVAL, "add beyond max_sg refused");
    p.nsg = 2;
    is(dsi_tx_add(&st.tx, &p, DATA_SIZE - 4, 5), DSI_E_INVAL, "add past the data area refused");
    is(dsi_tx_add(&st.tx, &p, UINT64_MAX, 2), DSI_E_INVAL, "add with wrapping offset refused");
    is(dsi_rx_get(&st.rx, &q), DSI_E_AGAIN, "uncommitted packet is invisible");
    p.flags = 0x1234 | DSI_PF_EXPIRED;
    p.timestamp_ns = 77;
    p.expires_ns = 0;
    is(dsi_tx_commit(&st.tx, &p), DSI_E_OK, "commit");
    is(hdr(&st)->committed, 1, "header counts commits");

    is(dsi_rx_get(&st.rx, &q), DSI_E_OK, "receiver gets the packet");
    is(q.no, 0, "packet number");
    is(q.nsg, 2, "SG count");
    is(q.flags, 0x1234, "user flags travel, library flags do not");
    is(q.timestamp_ns, 77, "timestamp travels");
    uint64_t len = 0;
    char *a = dsi_packet_data(&st.rx, &q, 0, &len);
    ok(a == (char *)st.data + 100 && len == 5 && memcmp(a, "hello", 5) == 0, "SG 0 in place");
    char *b = dsi_packet_data(&st.rx, &q, 1, &len);
    ok(b == (char *)st.data + 2000 && memcmp(b, "world", 5) == 0, "SG 1 in place (zero copy)");
    ok(dsi_packet_data(&st.rx, &q, 2, &len) == NULL, "SG index past nsg gives NULL");
    is(dsi_held(&st.rx), 1, "receiver holds one");
    is(dsi_rx_release(&st.rx, &q), DSI_E_OK, "release");
    is(hdr(&st)->released, 1, "header counts releases");
    is(dsi_rx_release(&st.rx, &q), DSI_E_ORDER, "release twice refused");
    is(st.ftx.waits + st.ftx.wakes + st.frx.waits + st.frx.wakes, 0,
       "fast path: no wait and no wake");

    /* Many rounds through the ring: numbers and slots wrap consistently. */
    bool good = true;
    for (uint64_t i = 1; i < 1000 && good; i++) {
        good = send1(&st, i % DATA_SIZE, 0, (uint32_t)i & 0xffff) == DSI_E_OK;
        good = good && dsi_rx_get(&st.rx, &q) == DSI_E_OK && q.no == i &&
               q.sg[0].offset == i % DATA_SIZE && q.flags == (i & 0xffff);
        good = good && dsi_rx_release(&st.rx, &q) == DSI_E_OK;
    }
    ok(good, "999 more packets through a ring of 4, in order");

    /* Wrong roles. */
    is(dsi_rx_get(&st.tx, &q), DSI_E_INVAL, "receiver call on a sender socket");
    is(dsi_tx_get(&st.rx, &p), DSI_E_INVAL, "sender call on a receiver socket");
    stream_free(&st);
}

static void test_order_and_limits(void)
{
    struct stream st;
    stream_new(&st, 4, 1, DSI_F_NONBLOCK, DSI_F_NONBLOCK);
    struct dsi_packet p[5], q[5];

    for (int i = 0; i < 4; i++) dsi_tx_get(&st.tx, &p[i]);
    is(dsi_held(&st.tx), 4, "sender holds four");
    is(dsi_tx_get(&st.tx, &p[4]), DSI_E_LIMIT, "sender holding the whole ring: LIMIT");
    is(dsi_tx_commit(&st.tx, &p[1]), DSI_E_ORDER, "commit out of order refused");
    is(dsi_tx_cancel(&st.tx, &p[2]), DSI_E_ORDER, "cancel of a non-newest packet refused");
    is(dsi_tx_cancel(&st.tx, &p[3]), DSI_E_OK, "cancel the newest");
    is(dsi_tx_get(&st.tx, &p[3]), DSI_E_OK, "get again after cancel");
    is(p[3].no, 3, "cancelled number is reused");
    for (int i = 0; i < 4; i++) is(dsi_tx_commit(&st.tx, &p[i]), DSI_E_OK, "commit %d in order", i);
    is(dsi_tx_commit(&st.tx, &p[3]), DSI_E_ORDER, "commit twice refused");

    for (int i = 0; i < 4; i++) is(dsi_rx_get(&st.rx, &q[i]), DSI_E_OK, "receiver gets %d", i);
    is(dsi_rx_get(&st.rx, &q[4]), DSI_E_LIMIT, "receiver holding the whole ring: LIMIT");
    is(dsi_rx_release(&st.rx, &q[2]), DSI_E_ORDER, "release out of order refused");
    is(dsi_tx_get(&st.tx, &p[4]), DSI_E_DROPPED, "sender: ring full");
    is(dsi_rx_release(&st.rx, &q[0]), DSI_E_OK, "release oldest");
    is(dsi_tx_get(&st.tx, &p[4]), DSI_E_OK, "sender reuses the released slot");
    is(p[4].no, 4, "next number after the drop (drops use no number)");
    for (int i = 1; i < 4; i++) dsi_rx_release(&st.rx, &q[i]);
    is(dsi_held(&st.rx), 0, "receiver holds none");
    is(dsi_tx_commit(&st.tx, &p[4]), DSI_E_OK, "commit 4");
    is(dsi_rx_get(&st.rx, &q[0]), DSI_E_OK, "get 4");
    is(q[0].no, 4, "numbering continues");
    stream_free(&st);
}

static void test_drop(void)
{
    struct stream st;
    stream_new(&st, 3, 1, DSI_F_NONBLOCK, DSI_F_NONBLOCK);
    int sent = 0, dropped = 0;
    for (int i = 0; i < 10; i++) {
        int r = send1(&st, (uint64_t)i, 1, (uint32_t)i);
        if (r == DSI_E_OK) sent++;
        else if (r == DSI_E_DROPPED) dropped++;
    }
    is(sent, 3, "non-blocking sender fills the ring");
    is(dropped, 7, "and drops the rest");
    is(st.tx.drops, 7, "private drop counter");
    is(hdr(&st)->drops, 7, "header drop counter");
    ok(dsi_events(&st.rx) & DSI_EV_DROP, "drop event raised");
    struct dsi_packet q;
    bool good = true;
    for (uint32_t i = 0; i < 3; i++) {
        good = good && dsi_rx_get(&st.rx, &q) == DSI_E_OK && q.no == i && q.flags == i;
        dsi_rx_release(&st.rx, &q);
    }
    ok(good, "the ring holds the oldest data, never overwritten");
    is(dsi_rx_get(&st.rx, &q), DSI_E_AGAIN, "dropped packets never arrive");
    stream_free(&st);
}

static void test_eos_and_close(void)
{
    struct stream st;
    stream_new(&st, 4, 1, DSI_F_NONBLOCK, DSI_F_NONBLOCK);
    struct dsi_packet p, q;
    send1(&st, 0, 1, 0);
    send1(&st, 1, 1, 0);
    dsi_tx_get(&st.tx, &p); /* abandoned by close */
    is(dsi_close(&st.tx), DSI_E_OK, "sender closes");
    ok(dsi_events(&st.rx) & DSI_EV_EOS, "EOS event raised");
    is(dsi_tx_get(&st.tx, &p), DSI_E_CLOSED, "closed sender cannot get");
    is(dsi_close(&st.tx), DSI_E_OK, "close is idempotent");
    is(dsi_rx_get(&st.rx, &q), DSI_E_OK, "receiver still gets packet 0");
    is(dsi_rx_get(&st.rx, &q), DSI_E_OK, "and packet 1");
    is(q.no, 1, "in order");
    is(dsi_rx_get(&st.rx, &q), DSI_E_EOS, "then end of stream");
    is(dsi_rx_get(&st.rx, &q), DSI_E_EOS, "and again");
    stream_free(&st);

    /* End of stream with an empty ring and a blocked receiver: the close
     * clears WAIT (so a futex wait would return) and wakes. */
    stream_new(&st, 2, 1, 0, 0);
    st.frx.step = 1;
    struct dsi_desc *d0 = desc(&st, 0);
    d0->state |= DSI_ST_WAIT; /* as a receiver about to sleep leaves it */
    dsi_close(&st.tx);
    ok(!(d0->state & DSI_ST_WAIT), "close clears WAIT on the receiver's slot");
    is(st.ftx.wakes, 1, "close wakes the receiver");
    is(dsi_rx_get(&st.rx, &q), DSI_E_EOS, "blocking receiver sees end of stream");
    stream_free(&st);

    /* Receiver close: the sender learns it. */
    stream_new(&st, 2, 1, DSI_F_NONBLOCK, DSI_F_NONBLOCK);
    send1(&st, 0, 1, 0);
    send1(&st, 0, 1, 0);
    desc(&st, 0)->state |= DSI_ST_WAIT; /* as a blocked sender leaves it */
    is(dsi_close(&st.rx), DSI_E_OK, "receiver closes");
    ok(dsi_events(&st.tx) & DSI_EV_RX_CLOSED, "RX_CLOSED event raised");
    ok(!(desc(&st, 0)->state & DSI_ST_WAIT), "close clears WAIT on the sender's slot");
    is(st.frx.wakes, 1, "close wakes the sender");
    is(dsi_tx_get(&st.tx, &p), DSI_E_PEER_CLOSED, "sender: peer closed");
    is(dsi_rx_get(&st.rx, &q), DSI_E_CLOSED, "closed receiver cannot get");
    stream_free(&st);
}

static void test_blocking_protocol(void)
{
    struct stream st;
    stream_new(&st, 2, 1, 0, 0);
    st.frx.step = 100; /* every now() call advances 100 ns; timeout is 1000 */
    st.ftx.step = 100;
    struct dsi_packet p, q;

    is(dsi_rx_get(&st.rx, &q), DSI_E_TIMEOUT, "blocking receiver on an empty ring times out");
    ok(st.frx.waits >= 1 && st.frx.waits <= 10, "it waited through the hook, a bounded number of times");
    ok(st.frx.last_expected & DSI_ST_WAIT, "it waits for the word with WAIT set");
    ok(desc(&st, 0)->state & DSI_ST_WAIT, "WAIT stays visible in the slot");
    send1(&st, 0, 1, 0);
    is(st.ftx.wakes, 1, "commit sees WAIT and wakes the receiver");
    ok(!(desc(&st, 0)->state & DSI_ST_WAIT), "commit replaced the word (WAIT gone)");
    send1(&st, 0, 1, 0);
    is(st.ftx.wakes, 1, "no waiter, no wake");

    is(dsi_tx_get(&st.tx, &p), DSI_E_TIMEOUT, "blocking sender on a full ring times out");
    ok(st.ftx.waits >= 1, "sender waited through the hook");
    is(dsi_rx_get(&st.rx, &q), DSI_E_OK, "receiver gets 0");
    is(dsi_rx_release(&st.rx, &q), DSI_E_OK, "release 0");
    is(st.frx.wakes, 1, "release sees WAIT and wakes the sender");
    is(dsi_tx_get(&st.tx, &p), DSI_E_OK, "sender gets the slot now");
    is(p.no, 2, "packet 2");

    stream_free(&st);

    /* Zero timeout: no waiting at all. */
    stream_new(&st, 2, 1, 0, 0);
    struct dsi_socket s0;
    struct fake f0 = {0};
    struct dsi_config c0 = config(&f0, 0, 0);
    dsi_attach(&s0, DSI_RECEIVER, st.ctrl, st.ctrl_size, st.data, DATA_SIZE, &c0);
    is(dsi_rx_get(&s0, &q), DSI_E_TIMEOUT, "zero timeout returns at once");
    is(f0.waits, 0, "without calling the wait hook");
    stream_free(&st);
}

static void test_expiry(void)
{
    struct stream st;
    stream_new(&st, 8, 1, DSI_F_NONBLOCK | DSI_F_STAMP, DSI_F_NONBLOCK | DSI_F_DROP_EXPIRED);
    struct dsi_packet p, q, q2;
    st.ftx.now = 500;
    st.frx.now = 1000;
    uint64_t exp[6] = {0, 2000, 999, 1000, 1001, 10};
    for (int i = 0; i < 6; i++) {
        dsi_tx_get(&st.tx, &p);
        p.expires_ns = exp[i];
        dsi_tx_add(&st.tx, &p, (uint64_t)i, 1);
        dsi_tx_commit(&st.tx, &p);
    }
    is(dsi_rx_get(&st.rx, &q), DSI_E_OK, "never-expiring packet delivered");
    is(q.no, 0, "packet 0");
    is(q.timestamp_ns, 500, "DSI_F_STAMP stamped it with the sender's clock");
    dsi_rx_release(&st.rx, &q);
    is(dsi_rx_get(&st.rx, &q), DSI_E_OK, "future expiry delivered");
    is(q.no, 1, "packet 1");
    dsi_rx_release(&st.rx, &q);
    is(dsi_rx_get(&st.rx, &q), DSI_E_OK, "expired packets 2 and 3 skipped");
    is(q.no, 4, "packet 4 (expires after now)");
    is(st.rx.expired, 2, "two counted as expired");
    is(hdr(&st)->expired, 2, "header expired counter");
    is(hdr(&st)->released, 4, "skipped packets were released");
    ok(dsi_events(&st.tx) & DSI_EV_EXPIRED, "EXPIRED event raised");
    /* Packet 5 is expired, but packet 4 is still held: flagged, not skipped. */
    is(dsi_rx_get(&st.rx, &q2), DSI_E_OK, "expired packet behind a held one is delivered");
    is(q2.no, 5, "packet 5");
    ok(q2.flags & DSI_PF_EXPIRED, "flagged expired");
    is(st.rx.expired, 3, "and counted");
    dsi_rx_release(&st.rx, &q);
    dsi_rx_release(&st.rx, &q2);
    is(dsi_rx_get(&st.rx, &q), DSI_E_AGAIN, "nothing left");

    /* A blocking receiver that skips the last packet goes on waiting. */
    struct dsi_socket b;
    struct fake fb = {.now = 5000, .step = 100};
    struct dsi_config cb = config(&fb, DSI_F_DROP_EXPIRED, 1000);
    stream_free(&st);
    stream_new(&st, 4, 1, DSI_F_NONBLOCK, 0);
    dsi_attach(&b, DSI_RECEIVER, st.ctrl, st.ctrl_size, st.data, DATA_SIZE, &cb);
    dsi_tx_get(&st.tx, &p);
    p.expires_ns = 10;
    dsi_tx_commit(&st.tx, &p);
    is(dsi_rx_get(&b, &q), DSI_E_TIMEOUT, "skipped the expired packet, then timed out waiting");
    is(b.expired, 1, "counted");
    stream_free(&st);
}

static void test_alloc(void)
{
    struct stream st;
    stream_new(&st, 4, 2, DSI_F_NONBLOCK, DSI_F_NONBLOCK);
    uint64_t marks[4];
    struct dsi_packet p, p2, q;
    void *ptr;

    is(dsi_tx_alloc_init(&st.tx, 1024, 1000, marks, 3), DSI_E_INVAL, "alloc init: too few marks");
    is(dsi_tx_alloc_init(&st.tx, 3500, 1000, marks, 4), DSI_E_INVAL, "alloc init: past the data area");
    is(dsi_tx_alloc_init(&st.rx, 1024, 1000, marks, 4), DSI_E_INVAL, "alloc init: receiver refused");
    is(dsi_tx_alloc_init(&st.tx, 1024, 1000, marks, 4), DSI_E_OK, "alloc init over [1024, 2024)");
    dsi_tx_get(&st.tx, &p);
    is(dsi_tx_alloc(&st.tx, &p, 1001, &ptr), DSI_E_NOSPACE, "larger than the area: NOSPACE");
    is(dsi_tx_alloc(&st.tx, &p, 0, &ptr), DSI_E_INVAL, "zero length refused");
    is(dsi_tx_alloc(&st.tx, &p, 300, &ptr), DSI_E_OK, "alloc 300");
    ok(ptr == st.data + 1024, "at the area's start");
    memset(ptr, 1, 300);
    dsi_tx_get(&st.tx, &p2);
    is(dsi_tx_alloc(&st.tx, &p, 10, &ptr), DSI_E_ORDER, "older packet cannot allocate any more");
    is(dsi_tx_alloc(&st.tx, &p2, 300, &ptr), DSI_E_OK, "newest allocates");
    ok(ptr == st.data + 1324, "right after");
    is(dsi_tx_alloc(&st.tx, &p2, 300, &ptr), DSI_E_OK, "second element");
    is(dsi_tx_alloc(&st.tx, &p2, 1, &ptr), DSI_E_INVAL, "more than max_sg refused");
    is(dsi_tx_commit(&st.tx, &p), DSI_E_OK, "commit 0");
    is(dsi_tx_commit(&st.tx, &p2), DSI_E_OK, "commit 1");
    /* 900 of 1000 in use; a 200-byte block cannot fit until 0 is released. */
    dsi_tx_get(&st.tx, &p);
    is(dsi_tx_alloc(&st.tx, &p, 200, &ptr), DSI_E_DROPPED,
       "non-blocking: no space drops the packet");
    is(st.tx.drops, 1, "counted as a drop");
    is(dsi_held(&st.tx), 0, "and the packet was given back");
    dsi_rx_get(&st.rx, &q);
    uint64_t len;
    uint8_t *d = dsi_packet_data(&st.rx, &q, 0, &len);
    ok(d == st.data + 1024 && len == 300 && d[0] == 1 && d[299] == 1, "receiver sees the block in place");
    dsi_rx_release(&st.rx, &q);
    dsi_tx_get(&st.tx, &p);
    is(dsi_tx_alloc(&st.tx, &p, 200, &ptr), DSI_E_OK, "after the release the block fits");
    ok(ptr == st.data + 1024, "wrapped to the start (the 100-byte tail was skipped)");
    is(dsi_tx_cancel(&st.tx, &p), DSI_E_OK, "cancel gives the block back");
    dsi_tx_get(&st.tx, &p);
    is(dsi_tx_alloc(&st.tx, &p, 50, &ptr), DSI_E_OK, "alloc after cancel");
    ok(ptr == st.data + 1924, "from the same place as before the cancel");
    dsi_tx_commit(&st.tx, &p);
    stream_free(&st);

    /* Blocking sender whose own held packets fill the area: NOSPACE. */
    stream_new(&st, 4, 1, 0, 0);
    dsi_tx_alloc_init(&st.tx, 0, 100, marks, 4);
    dsi_tx_get(&st.tx, &p);
    dsi_tx_alloc(&st.tx, &p, 80, &ptr);
    dsi_tx_get(&st.tx, &p2);
    is(dsi_tx_alloc(&st.tx, &p2, 80, &ptr), DSI_E_NOSPACE,
       "blocking: space held by own uncommitted packets gives NOSPACE, no wait");
    stream_free(&st);

    /* The (N + 1) * S rule: with a ring of N and packets of at most S bytes,
     * the allocator never runs out while the ring has room. */
    const uint32_t n = 5, S = 100;
    stream_new(&st, n, 1, DSI_F_NONBLOCK, DSI_F_NONBLOCK);
    uint64_t m5[5];
    dsi_tx_alloc_init(&st.tx, 7, (n + 1) * S, m5, n);
    uint32_t rng = 12345;
    bool good = true;
    int sent = 0;
    for (int i = 0; i < 20000 && good; i++) {
        rng = rng * 1103515245u + 12345u;
        if ((rng >> 16) % 3 && dsi_held(&st.rx) < 3) {
            int r = dsi_rx_get(&st.rx, &q);
            good = r == DSI_E_OK || r == DSI_E_AGAIN;
        } else if ((rng >> 16) % 5 == 0 && dsi_held(&st.rx)) {
            struct dsi_packet old = {.no = st.rx.done};
            good = dsi_rx_release(&st.rx, &old) == DSI_E_OK;
        } else {
            int r = dsi_tx_get(&st.tx, &p);
            if (r == DSI_E_DROPPED) continue;
            uint64_t size = 1 + (rng >> 8) % S;
            r = dsi_tx_alloc(&st.tx, &p, size, &ptr);
            good = r == DSI_E_OK && (uint8_t *)ptr >= st.data + 7 &&
                   (uint8_t *)ptr + size <= st.data + 7 + (n + 1) * S;
            good = good && dsi_tx_commit(&st.tx, &p) == DSI_E_OK;
            sent++;
        }
    }
    ok(good, "(N+1)*S bytes: every allocation succeeded whenever a slot was free (%d packets)", sent);
    stream_free(&st);
}

/* Corrupt one thing the receiver or sender must check; see it refused. */
static void test_corruption(void)
{
    struct stream st;
    struct dsi_packet p, q;
    struct {
        const char *what;
        int field; /* 0 state, 1 nsg, 2 no, 3 sg offset, 4 sg length, 5 sg overflow */
        uint64_t value;
    } rx_cases[] = {
        {"state word with reserved bits", 0, 0},
        {"state of another kind", 0, 3},
        {"FULL with the wrong sequence", 0, DSI_ST_FULL | (5u << 8)},
        {"EMPTY with the wrong sequence", 0, DSI_ST_EMPTY | (1u << 8)},
        {"SG count above max_sg", 1, 3},
        {"SG count huge", 1, 0xffffffff},
        {"packet number", 2, 7},
        {"SG offset past the data area", 3, DATA_SIZE + 1},
        {"SG length past the data area", 4, DATA_SIZE},
        {"SG offset + length wrapping", 5, 0},
    };
    for (size_t i = 0; i < sizeof rx_cases / sizeof rx_cases[0]; i++) {
        stream_new(&st, 4, 2, DSI_F_NONBLOCK, DSI_F_NONBLOCK);
        send1(&st, 10, 10, 0);
        struct dsi_desc *d = desc(&st, 0);
        switch (rx_cases[i].field) {
        case 0: d->state = (uint32_t)rx_cases[i].value | (rx_cases[i].value == 0 ? 0x10 : 0); break;
        case 1: d->nsg = (uint32_t)rx_cases[i].value; break;
        case 2: d->no = rx_cases[i].value; break;
        case 3: sgel(&st, 0, 0)->offset = rx_cases[i].value; break;
        case 4: sgel(&st, 0, 0)->length = rx_cases[i].value; break;
        case 5:
            sgel(&st, 0, 0)->offset = UINT64_MAX - 1;
            sgel(&st, 0, 0)->length = 2;
            break;
        }
        is(dsi_rx_get(&st.rx, &q), DSI_E_CORRUPT, "receiver refuses a corrupt %s", rx_cases[i].what);
        ok(dsi_events(&st.tx) & DSI_EV_RX_CORRUPT, "  RX_CORRUPT raised");
        is(dsi_rx_get(&st.rx, &q), DSI_E_CORRUPT, "  and stays broken");
        stream_free(&st);
    }

    /* The sender's checks: the slot it reclaims, the slot it commits into. */
    stream_new(&st, 2, 1, DSI_F_NONBLOCK, DSI_F_NONBLOCK);
    send1(&st, 0, 1, 0);
    send1(&st, 0, 1, 0);
    desc(&st, 0)->state = DSI_ST_EMPTY | (9u << 8);
    is(dsi_tx_get(&st.tx, &p), DSI_E_CORRUPT, "sender refuses a released slot with the wrong sequence");
    ok(dsi_events(&st.rx) & DSI_EV_TX_CORRUPT, "TX_CORRUPT raised");
    is(dsi_tx_get(&st.tx, &p), DSI_E_CORRUPT, "sender stays broken");
    stream_free(&st);

    stream_new(&st, 2, 1, DSI_F_NONBLOCK, DSI_F_NONBLOCK);
    dsi_tx_get(&st.tx, &p);
    desc(&st, 0)->state = DSI_ST_FULL; /* the peer wrote into our slot */
    is(dsi_tx_commit(&st.tx, &p), DSI_E_CORRUPT, "commit notices a peer writing into the sender's slot");
    stream_free(&st);

    stream_new(&st, 2, 1, DSI_F_NONBLOCK, DSI_F_NONBLOCK);
    send1(&st, 0, 1, 0);
    dsi_rx_get(&st.rx, &q);
    desc(&st, 0)->state = DSI_ST_EMPTY;
    is(dsi_rx_release(&st.rx, &q), DSI_E_CORRUPT, "release notices a peer writing into the receiver's slot");
    stream_free(&st);

    /* The header is read once: rewriting it afterwards changes nothing. */
    stream_new(&st, 4, 1, DSI_F_NONBLOCK, DSI_F_NONBLOCK);
    hdr(&st)->num_packets = 0xffffffff;
    hdr(&st)->max_sg = 0xffffffff;
    hdr(&st)->data_size = UINT64_MAX;
    hdr(&st)->magic = 0;
    bool good = true;
    for (int i = 0; i < 20 && good; i++) {
        good = send1(&st, 0, 1, 0) == DSI_E_OK && dsi_rx_get(&st.rx, &q) == DSI_E_OK &&
               dsi_rx_release(&st.rx, &q) == DSI_E_OK;
    }
    ok(good, "rewriting the header after attach has no effect");
    is(send1(&st, DATA_SIZE, 1, 0), DSI_E_INVAL, "the private data size still applies");
    /* Statistics and events are hints: garbage there breaks nothing. */
    hdr(&st)->committed = 12345;
    hdr(&st)->released = 0;
    hdr(&st)->events = DSI_EV_DROP | DSI_EV_EXPIRED | DSI_EV_TX_CORRUPT;
    good = send1(&st, 0, 1, 0) == DSI_E_OK && dsi_rx_get(&st.rx, &q) == DSI_E_OK;
    ok(good, "garbage statistics and unrelated event bits are ignored");
    stream_free(&st);
}

static void test_params(void)
{
    uint32_t n = 0;
    uint64_t bytes = 0;
    struct dsi_stream_params p = {.bandwidth = 1000000, .jitter_ns = 10000000, .packet_size = 1000};
    is(dsi_params_ring_size(&p, &n), DSI_E_OK, "1 MB/s, 1000 B packets, 10 ms jitter");
    is(n, 12, "  = 1000 packets/s * 10 ms + 2 = 12");
    is(dsi_params_data_size(&p, n, &bytes), DSI_E_OK, "data size");
    is(bytes, 13000, "  = (12 + 1) * 1000");

    p = (struct dsi_stream_params){.bandwidth = 1001, .jitter_ns = 1000000000, .packet_size = 1000};
    dsi_params_ring_size(&p, &n);
    is(n, 4, "packet rate rounds up: ceil(1001/1000) = 2 per s, 1 s jitter -> 4");
    p = (struct dsi_stream_params){.bandwidth = 1, .jitter_ns = 1, .packet_size = 1};
    dsi_params_ring_size(&p, &n);
    is(n, 3, "any jitter > 0 needs a slot: ceil(1 ns * 1/s) + 2 = 3");
    p.jitter_ns = 0;
    dsi_params_ring_size(&p, &n);
    is(n, 2, "no jitter: double buffering");
    p = (struct dsi_stream_params){.bandwidth = 44100 * 4, .jitter_ns = 20000000, .packet_size = 4 * 441};
    dsi_params_ring_size(&p, &n);
    is(n, 4, "CD audio in 10 ms packets, 20 ms jitter: 100/s * 0.02 + 2 = 4");
    p = (struct dsi_stream_params){.bandwidth = 300000000ull, .jitter_ns = 2500000000ull, .packet_size = 1500};
    dsi_params_ring_size(&p, &n);
    is(n, 500002, "whole and fractional seconds combine: 200000/s * 2.5 s + 2");
    p = (struct dsi_stream_params){.bandwidth = 2500000, .jitter_ns = 40000000, .packet_size = 100000};
    dsi_params_ring_size(&p, &n);
    is(n, 3, "25 frames/s of 100 kB, 40 ms jitter: 25 * 0.04 + 2 = 3");
    p = (struct dsi_stream_params){.bandwidth = 125000000, .jitter_ns = 1000000, .packet_size = 1500};
    dsi_params_ring_size(&p, &n);
    is(n, 86, "125 MB/s in 1500 B packets, 1 ms jitter: ceil(83334 * 0.001) + 2 = 86");
    p = (struct dsi_stream_params){.bandwidth = 1000, .jitter_ns = 1500000000ull, .packet_size = 1};
    dsi_params_ring_size(&p, &n);
    is(n, 1502, "1000/s for 1.5 s + 2");

    p = (struct dsi_stream_params){.bandwidth = DSI_MAX_PACKETS - 2, .jitter_ns = 1000000000, .packet_size = 1};
    is(dsi_params_ring_size(&p, &n), DSI_E_OK, "exactly DSI_MAX_PACKETS");
    is(n, DSI_MAX_PACKETS, "  N = limit");
    p.bandwidth++;
    is(dsi_params_ring_size(&p, &n), DSI_E_RANGE, "one more is out of range");
    p = (struct dsi_stream_params){.bandwidth = UINT64_MAX, .jitter_ns = UINT64_MAX, .packet_size = 1};
    is(dsi_params_ring_size(&p, &n), DSI_E_RANGE, "huge bandwidth and jitter: RANGE, no overflow");
    p = (struct dsi_stream_params){.bandwidth = UINT64_MAX, .jitter_ns = 999999999, .packet_size = 1};
    is(dsi_params_ring_size(&p, &n), DSI_E_RANGE, "fraction product overflows: RANGE");
    p = (struct dsi_stream_params){.bandwidth = UINT64_MAX, .jitter_ns = 0, .packet_size = 1};
    is(dsi_params_ring_size(&p, &n), DSI_E_OK, "huge bandwidth without jitter is fine");
    p = (struct dsi_stream_params){.bandwidth = 0, .jitter_ns = 1, .packet_size = 1};
    is(dsi_params_ring_size(&p, &n), DSI_E_INVAL, "zero bandwidth refused");
    p = (struct dsi_stream_params){.bandwidth = 1, .jitter_ns = 1, .packet_size = 0};
    is(dsi_params_ring_size(&p, &n), DSI_E_INVAL, "zero packet size refused");
    p = (struct dsi_stream_params){.bandwidth = 1, .jitter_ns = 1, .packet_size = UINT64_MAX};
    is(dsi_params_data_size(&p, 2, &bytes), DSI_E_RANGE, "data size overflow: RANGE");
}

/* dsi_forward: two streams over one data area (a filter that passes
 * packets on unchanged). */
static void test_forward(void)
{
    struct stream a, b, c;
    stream_new(&a, 4, 2, DSI_F_NONBLOCK, DSI_F_NONBLOCK);
    stream_new(&b, 3, 2, DSI_F_NONBLOCK, DSI_F_NONBLOCK);
    stream_new(&c, 3, 1, DSI_F_NONBLOCK, DSI_F_NONBLOCK);
    struct dsi_packet p, q;
    is(send1(&a, 0, 8, 0), DSI_E_OK, "a packet upstream");
    is(dsi_forward(&a.rx, &b.tx, &p), DSI_E_INVAL, "forward between different data areas refused");
    is(dsi_forward(&b.tx, &a.rx, &p), DSI_E_INVAL, "sockets swapped: refused");
    /* Downstream sides on the upstream data area. */
    struct dsi_config cbt = config(&b.ftx, DSI_F_NONBLOCK, 1000), cbr = config(&b.frx, DSI_F_NONBLOCK, 1000);
    is(dsi_attach(&b.tx, DSI_SENDER, b.ctrl, b.ctrl_size, a.data, DATA_SIZE, &cbt) |
           dsi_attach(&b.rx, DSI_RECEIVER, b.ctrl, b.ctrl_size, a.data, DATA_SIZE, &cbr),
       DSI_E_OK, "second stream attached on the first one's data area");
    struct dsi_config cct = config(&c.ftx, DSI_F_NONBLOCK, 1000);
    dsi_attach(&c.tx, DSI_SENDER, c.ctrl, c.ctrl_size, a.data, DATA_SIZE, &cct);

    /* One SG element too many for c: refused, nothing moved. */
    is(dsi_rx_get(&a.rx, &p), DSI_E_OK, "take it upstream");
    is(dsi_forward(&a.rx, &b.tx, &q), DSI_E_ORDER, "forward while holding an upstream packet: ORDER");
    is(dsi_rx_release(&a.rx, &p), DSI_E_OK, "release it");
    is(dsi_forward(&a.rx, &b.tx, &p), DSI_E_AGAIN, "nothing upstream (non-blocking): AGAIN");
    struct dsi_packet t;
    dsi_tx_get(&a.tx, &t);
    dsi_tx_add(&a.tx, &t, 0, 8);
    dsi_tx_add(&a.tx, &t, 16, 8);
    dsi_tx_commit(&a.tx, &t);
    is(dsi_forward(&a.rx, &c.tx, &p), DSI_E_INVAL, "two SG elements into a stream of one: INVAL");
    is(hdr(&a)->released, 1, "... the upstream packet was not taken");
    is(hdr(&c)->committed, 0, "... and nothing was committed downstream");

    /* 1000 packets, every field carried, released upstream, zero copy. */
    bool good = true;
    for (uint64_t i = 0; i < 1000 && good; i++) {
        if (i) {
            dsi_tx_get(&a.tx, &t);
            dsi_tx_add(&a.tx, &t, i % 1000, 8);
            dsi_tx_add(&a.tx, &t, 2000 + i % 100, i % 7);
            t.flags = (uint32_t)i & 0xffff;
            t.timestamp_ns = i * 3;
            t.expires_ns = i + 1000000;
            good = dsi_tx_commit(&a.tx, &t) == DSI_E_OK;
        }
        struct dsi_packet *pp = (i & 1) ? &p : NULL;
        good = good && dsi_forward(&a.rx, &b.tx, pp) == DSI_E_OK;
        if (pp) good = good && p.no == i + 1 && p.nsg == 2 && p.flags == (i & 0xffff);
        good = good && dsi_rx_get(&b.rx, &q) == DSI_E_OK && q.no == i && q.nsg == 2;
        if (i) {
            good = good && q.sg[0].offset == i % 1000 && q.sg[0].length == 8 && q.sg[1].offset == 2000 + i % 100 &&
                   q.sg[1].length == i % 7 && q.flags == (i & 0xffff) && q.timestamp_ns == i * 3 &&
                   q.expires_ns == i + 1000000;
        }
        good = good && hdr(&a)->released == i + 2 && dsi_rx_release(&b.rx, &q) == DSI_E_OK;
    }
    ok(good, "1000 packets forwarded: numbers, SG elements, flags, timestamps, expiry; released upstream at once");
    is(b.ftx.wakes + b.frx.wakes + a.ftx.wakes + a.frx.wakes, 0, "nobody waited: no wake-ups");

    /* Downstream full and non-blocking: the next upstream packet is dropped. */
    for (int i = 0; i < 4; i++) send1(&a, 0, 8, 0);
    for (int i = 0; i < 3; i++) dsi_forward(&a.rx, &b.tx, NULL);
    uint64_t rel = hdr(&a)->released;
    is(dsi_forward(&a.rx, &b.tx, NULL), DSI_E_DROPPED, "downstream full (non-blocking): DROPPED");
    ok(hdr(&a)->released == rel + 1 && b.tx.drops == 1, "... the upstream packet was taken and released, one drop");

    /* End of stream passes through. */
    for (int i = 0; i < 3; i++) {
        dsi_rx_get(&b.rx, &q);
        dsi_rx_release(&b.rx, &q);
    }
    dsi_close(&a.tx);
    is(dsi_forward(&a.rx, &b.tx, NULL), DSI_E_EOS, "upstream closed and empty: EOS");
    stream_free(&a);
    stream_free(&b);
    stream_free(&c);

    /* Blocking upstream: waits through the hook until the timeout. */
    stream_new(&a, 2, 1, 0, 0);
    stream_new(&b, 2, 1, 0, 0);
    a.frx.step = 100;
    struct dsi_config bt = config(&b.ftx, 0, 1000);
    dsi_attach(&b.tx, DSI_SENDER, b.ctrl, b.ctrl_size, a.data, DATA_SIZE, &bt);
    is(dsi_forward(&a.rx, &b.tx, NULL), DSI_E_TIMEOUT, "blocking forward with nothing upstream: TIMEOUT");
    ok(a.frx.waits > 0 && (a.frx.last_expected & DSI_ST_WAIT), "... after waiting with WAIT set (%d waits)",
       a.frx.waits);
    stream_free(&a);
    stream_free(&b);
}

int main(void)
{
    test_layout();
    test_attach();
    test_basic();
    test_order_and_limits();
    test_drop();
    test_eos_and_close();
    test_blocking_protocol();
    test_expiry();
    test_alloc();
    test_corruption();
    test_params();
    test_forward();
    return done_testing();
}
