/*
 * DSI, the DROPS Streaming Interface: zero-copy packet streams between two
 * components over shared memory. The same sources build freestanding for the
 * target and hosted for the host tests; the core includes only the
 * compiler's freestanding headers and calls no library function.
 *
 * The protocol
 * ------------
 * A stream carries packets in one direction, from a sender socket to a
 * receiver socket. It lives in two shared regions that each side may map at
 * any address (all references inside them are offsets, never pointers):
 *
 *   control area   a header (magic, version, ring size N, number of
 *                  scatter/gather elements per packet, data-area size,
 *                  statistics and event flags), a ring of N packet
 *                  descriptors, and N * max_sg scatter/gather elements,
 *                  max_sg for each ring slot;
 *   data area      the payload: any memory, device memory included, possibly
 *                  shared by several streams. A scatter/gather element is an
 *                  (offset, length) pair relative to the data area's start.
 *
 * The controller (the application that sets the stream up) initialises the
 * control area with dsi_ctrl_init and hands both regions to the two sides; it
 * never touches the data. Each side then attaches (dsi_attach), reading the
 * header once and keeping private copies of everything it must trust later.
 *
 * Packets use the ring slots strictly in order: packet number n lives in slot
 * n mod N on both sides. Each descriptor starts with a 32-bit state word that
 * says who owns the slot:
 *
 *   EMPTY, seq(n - N)   the receiver released packet n - N (or the slot is
 *                       fresh): the slot belongs to the sender for packet n;
 *   FULL,  seq(n)       the sender committed packet n: the slot belongs to
 *                       the receiver until it releases it.
 *
 * seq(n) is the packet number's low 24 bits, so a slot left over from an
 * earlier round is never mistaken for the current one. Bit WAIT in the state
 * word is set by a side that found the slot in the wrong state and is about
 * to block on it.
 *
 *   sender                                 receiver
 *   dsi_tx_get     slot EMPTY? take it     dsi_rx_get       slot FULL? take it
 *   dsi_tx_add or  point SG elements into  dsi_packet_data  read through the
 *   dsi_tx_alloc   the data area, write                     SG elements in place
 *   dsi_tx_commit  descriptor, then        dsi_rx_release   state := EMPTY
 *                  state := FULL                            (the slot goes back)
 *
 * The fast path is one atomic exchange per commit or release and a load per
 * get: no system call, no copy of the payload. Only when a side finds its next
 * slot in the wrong state (the receiver's slot still EMPTY, the sender's slot
 * still FULL) does it wait: it may spin a configured number of polls, then it
 * sets WAIT with a compare-and-swap and calls the environment's wait hook. The
 * peer's exchange returns the old state word; when WAIT was set in it, the
 * peer calls the wake hook. Because setting WAIT and the exchange are atomic
 * operations on the same word, either the waiter's compare-and-swap fails (the
 * slot changed: no need to wait) or the exchange sees WAIT (the peer wakes
 * it); the wait hook returns at once if the word no longer holds the value it
 * was given, so no wake-up is lost. The hooks are the only link to the
 * environment: a futex on the host, kernel IPC in the system.
 *
 * Both sides may hold several packets at once (got but not yet committed or
 * released, for instance to forward a packet zero-copy into another stream
 * sharing the data area), but they commit and release in the order they got
 * them.
 *
 * Modes. Each side is blocking or non-blocking on its own. A blocking side
 * waits for its slot at most its timeout (DSI_TIMEOUT_INFINITE: no limit). A
 * non-blocking receiver gets DSI_E_AGAIN on an empty ring. A non-blocking
 * sender on a full ring drops the new data: dsi_tx_get fails with
 * DSI_E_DROPPED, the drop counter grows and the DROP event flag is set, so
 * the data already in the ring is never overwritten and the receiver sees
 * every committed packet in order.
 *
 * Events. The header holds event flags that any side (and the controller)
 * may read: END_OF_STREAM (the sender closed), DROP (the sender dropped at
 * least one packet), EXPIRED (the receiver skipped at least one expired
 * packet), RX_CLOSED (the receiver closed), TX_CORRUPT / RX_CORRUPT (that side
 * found the control area corrupt). End of stream does not need a ring slot:
 * the sender sets the flag after its last commit, so a receiver that finds its
 * slot EMPTY and the flag set, and then still finds the slot EMPTY, has read
 * everything and gets DSI_E_EOS. A side that sets END_OF_STREAM or RX_CLOSED
 * clears WAIT in the slot its peer may be blocked on and wakes it; the waiter
 * re-reads the flags after setting WAIT, so the close is never missed.
 *
 * Time. Each packet carries a timestamp and an expiry time (0: never), both in
 * the environment's clock (the now hook). A receiver configured with
 * DSI_F_DROP_EXPIRED skips packets whose expiry time has passed: dsi_rx_get
 * releases and counts them itself and goes on to the next packet. If the
 * receiver still holds earlier packets it cannot release out of order, so
 * such an expired packet is delivered with DSI_PF_EXPIRED set (and counted);
 * the caller releases it.
 *
 * Data. The sender either points SG elements at data it placed in the data
 * area itself (dsi_tx_add) or takes space from the sender-side allocator
 * (dsi_tx_alloc), a FIFO over a range of the data area: a packet's space
 * comes back when the sender sees the packet released. A blocking sender
 * waits for that like for a slot; a non-blocking one drops the packet.
 *
 * More corner cases.
 *  - Drops use no packet number: the receiver always sees 0, 1, 2, ...
 *  - A side that already holds all N packets gets DSI_E_LIMIT instead of
 *    waiting for itself.
 *  - Closing the sender abandons packets it got but did not commit.
 *  - The header's statistics (committed, released, drops, expired) and event
 *    flags are hints for the controller: each side keeps its own counts, and a
 *    peer can forge the flags (a forged END_OF_STREAM or RX_CLOSED only stops
 *    the stream early, which the peer could do anyway).
 *
 * Robustness. A peer may be buggy or hostile: it can write
 * anything into the control area at any time, stop releasing packets, or die.
 * It can only hurt itself:
 *  - Everything a side must trust (ring size, SG elements per slot, data area
 *    size, its own position in the ring, the packets it holds) is a private
 *    copy taken at attach or kept in its socket, never re-read from shared
 *    memory.
 *  - Every value read from shared memory is read exactly once (an atomic
 *    load, so the compiler cannot read it twice) and validated before use:
 *    the state word must be one of the two legal states for the slot with
 *    the expected sequence number; the packet number must be the expected
 *    one; the SG count must be at most max_sg; every SG element must satisfy
 *    offset + length <= data area size (checked without overflow). The
 *    receiver copies the validated descriptor into its private packet handle,
 *    so a later change in shared memory cannot turn a checked offset into an
 *    unchecked one.
 *  - A violation makes the call return DSI_E_CORRUPT, sets the side's
 *    *_CORRUPT event flag, and leaves the socket broken: every later call
 *    returns DSI_E_CORRUPT (the controller tears the stream down).
 *  - A peer that stops releasing or dies leaves the other side waiting at
 *    most its timeout: DSI_E_TIMEOUT. Each wait loop re-checks the deadline,
 *    so a peer that keeps toggling the state word cannot keep it busy longer.
 *  - The payload in the data area is never interpreted by the library; a
 *    hostile sender may change it while the receiver reads it. Consumers that
 *    parse it must read it once and validate it like any untrusted input.
 *
 * Layout of the control area (all offsets from its start, little-endian):
 *
 *   0                  struct dsi_ctrl_header  (256 bytes, 4 cache lines)
 *   256                struct dsi_desc[N]      (64 bytes each)
 *   256 + 64 N         struct dsi_sg[N * max_sg] (16 bytes each)
 *   total              dsi_ctrl_size(N, max_sg)
 *
 * The header's cache lines are split by writer: the first is written once by
 * the controller, the second only by the sender, the third only by the
 * receiver, the fourth holds the event flags both update with atomic OR.
 */
#ifndef DSI_DSI_H
#define DSI_DSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ errors */

#define DSI_ERRORS(X)                                                                   \
    X(0, OK, "success")                                                                 \
    X(1, INVAL, "invalid argument, or call not allowed for this socket")                \
    X(2, BADHDR, "control area header invalid (magic, version or sizes)")               \
    X(3, CORRUPT, "the peer corrupted the control area; socket unusable")               \
    X(4, AGAIN, "non-blocking: no packet available now")                                \
    X(5, TIMEOUT, "blocking wait timed out (peer stalled or dead)")                     \
    X(6, DROPPED, "non-blocking sender: ring or data area full, packet dropped")        \
    X(7, EOS, "end of stream: the sender closed and every packet was read")            \
    X(8, PEER_CLOSED, "the receiver closed the stream")                                 \
    X(9, CLOSED, "this socket was closed")                                              \
    X(10, ORDER, "packets are committed or released in the order they were got")       \
    X(11, LIMIT, "this side already holds every packet of the ring")                    \
    X(12, NOSPACE, "data allocator: request does not fit, or own packets hold it all") \
    X(13, RANGE, "stream parameters exceed the limits (overflow)")                     \
    X(14, PEER_GONE, "the environment reports the peer gone (its thread was destroyed)")

enum dsi_error {
#define DSI_ERROR_ENUM(num, name, text) DSI_E_##name = num,
    DSI_ERRORS(DSI_ERROR_ENUM)
#undef DSI_ERROR_ENUM
    DSI_E_COUNT
};
#define DSI_OK DSI_E_OK

/* The text of an error code ("unknown error" for values out of range). */
const char *dsi_strerror(int err);

/* ------------------------------------------------------------ shared layout */

#define DSI_MAGIC 0x31495344u /* "DSI1" in memory */
#define DSI_VERSION 1u
#define DSI_MAX_PACKETS (1u << 20) /* < 2^24, so seq() tells rounds apart */
#define DSI_MAX_SG 8u              /* scatter/gather elements per packet */
#define DSI_HEADER_SIZE 256u
#define DSI_DESC_SIZE 64u
#define DSI_SG_SIZE 16u

/* State word: bits 0-1 kind, bit 2 WAIT, bits 3-7 zero, bits 8-31 seq. */
#define DSI_ST_EMPTY 1u
#define DSI_ST_FULL 2u
#define DSI_ST_KIND_MASK 3u
#define DSI_ST_WAIT 4u
#define DSI_ST_RESERVED_MASK 0xf8u
#define DSI_ST_SEQ_SHIFT 8u

/* Event flags (header word `events`). */
#define DSI_EV_EOS 0x01u        /* the sender closed: end of stream */
#define DSI_EV_DROP 0x02u       /* the sender dropped at least one packet */
#define DSI_EV_EXPIRED 0x04u    /* the receiver skipped at least one expired packet */
#define DSI_EV_RX_CLOSED 0x08u  /* the receiver closed */
#define DSI_EV_TX_CORRUPT 0x10u /* the sender found the control area corrupt */
#define DSI_EV_RX_CORRUPT 0x20u /* the receiver found the control area corrupt */

struct dsi_ctrl_header {
    /* Line 0: written by dsi_ctrl_init, read once by dsi_attach. */
    uint32_t magic;       /* DSI_MAGIC */
    uint16_t version;     /* DSI_VERSION */
    uint16_t header_size; /* DSI_HEADER_SIZE */
    uint32_t num_packets; /* ring size N, 1 .. DSI_MAX_PACKETS */
    uint32_t max_sg;      /* SG elements per slot, 1 .. DSI_MAX_SG */
    uint64_t data_size;   /* bytes of the data area the SG elements may address */
    uint64_t ctrl_size;   /* bytes of the control area, >= dsi_ctrl_size(N, max_sg) */
    uint64_t desc_offset; /* DSI_HEADER_SIZE */
    uint64_t sg_offset;   /* desc_offset + N * DSI_DESC_SIZE */
    uint64_t reserved0[2];
    /* Line 1: written only by the sender (statistics, for the controller). */
    uint64_t committed; /* packets committed */
    uint64_t drops;     /* packets dropped by a non-blocking sender */
    uint64_t reserved1[6];
    /* Line 2: written only by the receiver. */
    uint64_t released; /* packets released (expired ones included) */
    uint64_t expired;  /* expired packets skipped or flagged */
    uint64_t reserved2[6];
    /* Line 3: event flags, atomic OR by either side. */
    uint32_t events; /* DSI_EV_* */
    uint32_t reserved3[15];
};

struct dsi_desc {
    uint32_t state; /* DSI_ST_*: kind | WAIT | seq << 8 */
    uint32_t nsg;   /* SG elements used, 0 .. max_sg */
    uint32_t flags; /* the packet's user flags (DSI_PF_USER_MASK) */
    uint32_t reserved;
    uint64_t no;           /* packet number */
    uint64_t timestamp_ns; /* environment clock */
    uint64_t expires_ns;   /* 0: never */
    uint64_t reserved2[3];
};

struct dsi_sg {
    uint64_t offset; /* from the start of the data area */
    uint64_t length; /* offset + length <= data_size */
};

_Static_assert(sizeof(struct dsi_ctrl_header) == DSI_HEADER_SIZE, "dsi header layout");
_Static_assert(offsetof(struct dsi_ctrl_header, committed) == 64, "dsi header sender line");
_Static_assert(offsetof(struct dsi_ctrl_header, released) == 128, "dsi header receiver line");
_Static_assert(offsetof(struct dsi_ctrl_header, events) == 192, "dsi header event line");
_Static_assert(sizeof(struct dsi_desc) == DSI_DESC_SIZE, "dsi descriptor layout");
_Static_assert(offsetof(struct dsi_desc, no) == 16, "dsi descriptor number");
_Static_assert(offsetof(struct dsi_desc, expires_ns) == 32, "dsi descriptor expiry");
_Static_assert(sizeof(struct dsi_sg) == DSI_SG_SIZE, "dsi sg layout");

/* Bytes of a control area for N packets with max_sg SG elements each, or 0
 * if the arguments are out of range. */
uint64_t dsi_ctrl_size(uint32_t num_packets, uint32_t max_sg);

/* The controller's setup: write a fresh header and ring into `ctrl` (8-byte
 * aligned, ctrl_size bytes mapped). The data area is not touched. */
int dsi_ctrl_init(void *ctrl, uint64_t ctrl_size, uint32_t num_packets, uint32_t max_sg,
                  uint64_t data_size);

/* --------------------------------------------------------------- the hooks */

#define DSI_TIMEOUT_INFINITE UINT64_MAX

/*
 * What a socket needs from its environment. `wait` blocks the caller while
 * *word == expected, for at most timeout_ns (DSI_TIMEOUT_INFINITE: no limit);
 * it returns DSI_E_OK when woken, when the word differs, or spuriously,
 * DSI_E_TIMEOUT when the time ran out, and any other code (DSI_E_PEER_GONE)
 * when waiting cannot succeed any more; the blocked call then returns it. `wake` wakes the peer blocked on
 * `word` (if any). `now` returns a monotonic time in nanoseconds; it is
 * needed for finite timeouts, DSI_F_STAMP and DSI_F_DROP_EXPIRED. Hooks may
 * be NULL for a side that never blocks (wait), never has a blocked peer to
 * wake (wake), or never needs the time (now).
 */
struct dsi_env {
    int (*wait)(void *ctx, uint32_t *word, uint32_t expected, uint64_t timeout_ns);
    void (*wake)(void *ctx, uint32_t *word);
    uint64_t (*now)(void *ctx);
    void *ctx;
};

/* ------------------------------------------------------------ the sockets */

enum dsi_role {
    DSI_SENDER = 1,
    DSI_RECEIVER = 2,
};

#define DSI_F_NONBLOCK 0x1u      /* never wait: AGAIN (receiver) or DROPPED (sender) */
#define DSI_F_STAMP 0x2u         /* sender: timestamp each packet with now() at commit */
#define DSI_F_DROP_EXPIRED 0x4u  /* receiver: skip packets whose expiry time passed */
#define DSI_F_ALL (DSI_F_NONBLOCK | DSI_F_STAMP | DSI_F_DROP_EXPIRED)

struct dsi_config {
    uint32_t flags;      /* DSI_F_* */
    uint32_t spin;       /* polls of the state word before blocking */
    uint64_t timeout_ns; /* longest blocking wait; DSI_TIMEOUT_INFINITE: none */
    struct dsi_env env;
};

/* Packet flags in struct dsi_packet: the user's bits travel with the packet,
 * DSI_PF_EXPIRED is set by the receiver (see "Time" above). */
#define DSI_PF_USER_MASK 0xffffu
#define DSI_PF_EXPIRED 0x10000u

/*
 * A packet handle: the side's private copy of one descriptor. The sender
 * fills it between get and commit; the receiver gets a validated copy.
 */
struct dsi_packet {
    uint64_t no;           /* packet number: 0, 1, 2, ... in stream order */
    uint64_t timestamp_ns; /* sender sets it (or DSI_F_STAMP does) */
    uint64_t expires_ns;   /* sender sets it; 0: never expires */
    uint32_t flags;        /* DSI_PF_* */
    uint32_t nsg;
    struct dsi_sg sg[DSI_MAX_SG];
    uint64_t alloc_start; /* sender: allocator head at get (for dsi_tx_cancel) */
};

/*
 * One side of a stream. Everything here is private to the side: the copies
 * of the header values it trusts and its position in the ring.
 */
struct dsi_socket {
    struct dsi_ctrl_header *hdr;
    struct dsi_desc *desc;
    struct dsi_sg *sg;
    uint8_t *data;
    uint64_t data_size;
    uint32_t num_packets;
    uint32_t max_sg;
    uint32_t role;   /* enum dsi_role */
    uint32_t flags;  /* DSI_F_* */
    uint32_t spin;
    int broken;      /* sticky DSI_E_CORRUPT, or 0 */
    uint32_t live;   /* role while usable (not broken, not closed), else 0 */
    bool closed;
    bool drop_flagged, expired_flagged;
    uint64_t timeout_ns;
    struct dsi_env env;
    /* Ring position. next: the next packet to get. done: the oldest packet
     * got and not yet committed (sender) or released (receiver); the side
     * holds next - done packets. reclaim (sender): the oldest committed
     * packet not yet seen released; slots reclaim .. done-1 may be in the
     * receiver's hands. *_slot: the same numbers modulo N. */
    uint64_t next, done, reclaim;
    uint32_t next_slot, done_slot, reclaim_slot;
    uint32_t pad;
    /* Statistics, authoritative (the header copies are for the controller). */
    uint64_t drops, expired;
    /* Sender-side data allocator: a FIFO over [base, base + size) of the data
     * area, positions counted in bytes since init (head: next free byte, tail:
     * oldest byte still in use; pos = head mod size, kept to avoid a
     * division). marks[slot] is the head after the packet in that slot
     * allocated its last byte; reclaiming the packet frees up to there. */
    struct {
        uint64_t base, size, head, tail, pos;
        uint64_t *marks;
        bool on;
    } alloc;
};

/* Attach one side to an initialised control area and a data area, both
 * already mapped at `ctrl` (ctrl_size bytes) and `data` (data_size bytes).
 * Reads and checks the header once. DSI_E_BADHDR if it does not fit the
 * mapped sizes. */
int dsi_attach(struct dsi_socket *s, enum dsi_role role, void *ctrl, uint64_t ctrl_size,
               void *data, uint64_t data_size, const struct dsi_config *cfg);

/* Sender. get: the next free packet (nsg = 0). add: append an SG element
 * pointing at data the caller placed in the data area. commit: hand the
 * packet to the receiver. cancel: give back the newest packet got and not
 * committed (its allocations too). */
int dsi_tx_get(struct dsi_socket *s, struct dsi_packet *p);
int dsi_tx_add(struct dsi_socket *s, struct dsi_packet *p, uint64_t offset, uint64_t length);
int dsi_tx_commit(struct dsi_socket *s, struct dsi_packet *p);
int dsi_tx_cancel(struct dsi_socket *s, struct dsi_packet *p);

/* Sender-side data allocator over [offset, offset + size) of the data area,
 * set up before the first dsi_tx_get; `marks` is caller storage for at least
 * N entries. dsi_tx_alloc appends one SG element of `length` contiguous bytes
 * to the newest packet got and returns where to write them; the space comes
 * back when the receiver releases the packet. A blocking sender waits for
 * that; a non-blocking one drops the packet (cancelled, counted) and gets
 * DSI_E_DROPPED. */
int dsi_tx_alloc_init(struct dsi_socket *s, uint64_t offset, uint64_t size, uint64_t *marks,
                      uint32_t nmarks);
int dsi_tx_alloc(struct dsi_socket *s, struct dsi_packet *p, uint64_t length, void **ptr);

/* Receiver. get: the next full packet (validated copy). release: give it
 * back to the sender. */
int dsi_rx_get(struct dsi_socket *s, struct dsi_packet *p);
int dsi_rx_release(struct dsi_socket *s, struct dsi_packet *p);

/*
 * Zero-copy forward, for a filter that passes packets on unchanged: take the
 * next packet of `rx` (blocking, expiry and end of stream as dsi_rx_get),
 * commit one with the same SG elements, user flags, timestamp (unless `tx`
 * stamps) and expiry to `tx` (waiting for room first, as dsi_tx_get: no
 * packet is taken upstream before there is room downstream), and release it
 * upstream. One call instead of five, and the SG elements are checked once.
 *
 * Both sockets must address the same data area (same mapping and size:
 * DSI_E_INVAL otherwise) and hold no packets (DSI_E_ORDER otherwise). The
 * upstream release comes right after the downstream commit, while the
 * packet's data is still on its way: the upstream sender's allocator must
 * keep it valid until the last stage released it, i.e. its area must cover
 * every packet in flight in the chain (sum of the rings + 2 per stage, see
 * bench/dsi/README.md). *p (may be NULL) gets the packet as received. A
 * non-blocking `tx` that is full drops the next upstream packet (taken and
 * released, counted in tx's drops): DSI_E_DROPPED. After any other error no
 * packet moved.
 */
int dsi_forward(struct dsi_socket *rx, struct dsi_socket *tx, struct dsi_packet *p);

/* Either side: where SG element i of a packet is in this side's mapping of
 * the data area (NULL if i is out of range); *length gets its length. */
void *dsi_packet_data(const struct dsi_socket *s, const struct dsi_packet *p, uint32_t i,
                      uint64_t *length);

/* Close a side: the sender signals end of stream (packets got and not
 * committed are abandoned), the receiver signals RX_CLOSED. The peer is
 * woken if it waits. Later calls on the socket return DSI_E_CLOSED. */
int dsi_close(struct dsi_socket *s);

/* The header's event flags (DSI_EV_*), as a hint: the peer can write them. */
uint32_t dsi_events(const struct dsi_socket *s);

/* Packets this side holds (got, not yet committed or released). */
static inline uint64_t dsi_held(const struct dsi_socket *s)
{
    return s->next - s->done;
}

/* ------------------------------------------- jitter-constrained parameters */

/*
 * A jitter-constrained stream (see README.md for the derivation): the
 * sender produces `bandwidth` bytes per second in packets of at most
 * `packet_size` bytes, and the time at which a packet is consumed may deviate
 * from its ideal (periodic) time by at most `jitter_ns`. Then the ring needs
 *
 *     N = ceil(jitter_ns * R / 1e9) + 2,   R = ceil(bandwidth / packet_size)
 *
 * slots (R packets per second), and a data area managed by the sender-side
 * allocator needs (N + 1) * packet_size bytes.
 */
struct dsi_stream_params {
    uint64_t bandwidth;   /* bytes per second, > 0 */
    uint64_t jitter_ns;   /* >= 0 */
    uint64_t packet_size; /* bytes, > 0 */
};

/* Ring size N; DSI_E_INVAL for zero bandwidth or packet size, DSI_E_RANGE if
 * N would exceed DSI_MAX_PACKETS (every intermediate product is checked). */
int dsi_params_ring_size(const struct dsi_stream_params *p, uint32_t *num_packets);

/* Data area size for the sender-side allocator: (N + 1) * packet_size. */
int dsi_params_data_size(const struct dsi_stream_params *p, uint32_t num_packets,
                         uint64_t *bytes);

#endif
