/*
 * DSI control: streams between components, set up by a controller over IPC.
 *
 * The protocol
 * ------------
 * Three parties. A *component* (a source, a filter, a sink) owns sockets and
 * moves the data; it `provides` a service (any name, one per component) and
 * answers this protocol on its main thread. A *controller* (the application
 * that wants the stream) `uses` that service of every component it wires up:
 * it creates the stream, allocates the memory and hands it over, connects the
 * two ends, starts, stops and closes them, and waits for events. It never
 * touches the data. The root task only carries the IPC and the memory.
 *
 * A component runs its streams in *stages*: a stage is one native thread of
 * the component (drops/thread.h) with up to two sockets, an input port
 * (DSI_CTL_PORT_IN, the receiver of one stream) and an output port
 * (DSI_CTL_PORT_OUT, the sender of the next). A source has stages with an
 * output only, a sink with an input only, a filter with both. Every wake-up
 * of a stream goes between the two stage threads directly (dsi_env_drops.h:
 * a closed receive from the peer thread and an empty send to it), so each
 * side needs the capability of the other's stage thread.
 *
 * Requests are IPC calls on the component's route gate, tag protocol
 * DSI_CTL_PROTO, mr0 = operation; the reply's mr0 is a status: 0, a DSI
 * error code (enum dsi_error, < 64), or DSI_CTL_E_SYS + an abi_error (the
 * component's system call failed). Text: dsi_ctl_strerror.
 *
 *   OPEN     mr1 port, mr2 DSI_F_* flags, mr3 timeout (ns), mr4 cookie,
 *            mr5 join (a handle of the same component, or DSI_CTL_NO_HANDLE),
 *            mr6 arg0, mr7 arg1 (the component's own parameters),
 *            mr8 control area bytes, mr9 data area bytes (page multiples);
 *            one capability item: the calling thread (SEND).
 *            -> mr1 handle; one capability item: the stage thread (SEND|COPY).
 *            A new stage is made unless `join` names a socket whose stage has
 *            the other port free; the cookie, arguments and controller
 *            thread of a stage are those of its first OPEN.
 *   MAP      mr1 handle, mr2 area (DSI_CTL_AREA_CTRL, then _DATA), mr3 offset
 *            of the first item; up to four map items (read-write) covering
 *            the area from that offset on, in order -> mr1 bytes of the area
 *            mapped so far. Only accepted right after OPEN, see below.
 *   CONNECT  mr1 handle; one capability item: the peer's stage thread (SEND).
 *   START    mr1 handle: attach every socket of the stage (the header is
 *            checked here: BADHDR, RANGE) and let the stage thread run.
 *   STOP     mr1 handle: ask the stage to end; it closes its sockets at the
 *            next packet boundary (a source: end of stream; a sink: receiver
 *            closed), at the latest when its blocking wait times out.
 *   CLOSE    mr1 handle: unmap the areas, drop the capabilities, free the
 *            socket (and the stage with its last socket). While the stage
 *            thread still runs, the answer is DSI_E_AGAIN and the stage is
 *            told to stop: wait for its DONE event, then close again.
 *
 * Memory. The controller takes both areas from its own memory (the root's
 * memory service, charged to its quota), initialises the control area
 * (dsi_ctrl_init) and maps the pages to each side with IPC map items: no
 * global name, nobody but the two sides and the controller can reach them.
 * One IPC maps at most four items of at most 16 pages each, so an area takes
 * ceil(size / 256 KiB) MAP calls or more (items are naturally aligned pieces;
 * a 64 KiB-aligned area needs the fewest). Where the pages land is the
 * component's choice, never the controller's: after answering OPEN, the
 * component's main thread receives only from the calling thread (a closed
 * receive, DSI_CTL_MAP_TIMEOUT_NS per message), with its receive window set
 * to a window reserved for that socket and area (DSI_CTL_WINDOW_BASE + ...,
 * above the root's mmap area), first the control area, then the data area.
 * Each item must land exactly at the next unmapped offset with read and
 * write rights; anything else, or a timeout, fails the socket (unmapped,
 * every later request but CLOSE refused). In any other state the window is
 * closed: map items sent with another request fail the sender's IPC.
 *
 * Events. The component sends events to the controller thread it got at
 * OPEN: an IPC send, tag protocol DSI_CTL_PROTO_EVENT, 8 words (struct
 * dsi_ctl_event), with a bounded timeout (DSI_CTL_EVENT_TIMEOUT_NS), so a
 * controller that does not listen delays a stage at most that long and never
 * blocks it. DSI_CTL_EV_DROP when an output first drops a packet (the count so
 * far; the final count comes with DONE); DSI_CTL_EV_DONE when the stage
 * ends: the code that ended it (OK for a source that sent everything or was
 * stopped, EOS for a receiver at end of stream, TIMEOUT, PEER_GONE,
 * PEER_CLOSED, CORRUPT ...), the packets it moved, the drops, two words of
 * its own (a sink: errors found, next sequence number), and the port whose
 * socket ended it. The controller may also read the statistics and event
 * flags in the control areas it owns (a hint: either side may write them).
 *
 * Corner cases.
 *  - A side dies. Its stage thread is destroyed with its task: the peer's
 *    blocked wait ends with PEER_GONE, or with TIMEOUT if it was not waiting
 *    at that moment (a halted thread: TIMEOUT), and its stage sends DONE with
 *    that code. The dead side sends nothing; the controller notices it by
 *    probing the stage threads it holds (dsi_ctl_alive: a send to a destroyed
 *    thread fails with ABORTED) while it waits for events, and by its
 *    requests to the component failing with ABORTED.
 *  - A filter whose input fails closes its output (end of stream) and whose
 *    output fails closes its input (receiver closed), so the chain unwinds
 *    on both sides; end of stream downstream of a failed stage means "no
 *    more data", not success. Success is every stage's DONE code.
 *  - A blocking socket with an infinite timeout never notices a dead peer
 *    that was not waiting; controllers should give finite timeouts.
 *  - The controller owns the memory. It closes the sockets before it frees
 *    the areas; if it frees them (or dies) earlier, the root's unmap takes
 *    the pages from the components too, and a stage that touches them
 *    faults (contained by the root like any fault). A controller that maps
 *    a hole (a page it does not have) makes the component fault the same
 *    way: a component trusts its controller for the memory, and only for
 *    that; it trusts its peer for nothing (dsi.h).
 *  - A component answers one request at a time. While it waits for MAP
 *    calls, requests of other controllers queue (at most the map timeout).
 *  - Capabilities that arrive (the controller's thread, stage threads) land
 *    in DROPS_CAP_RECV_BASE .. +63, kept in this library's own table; a
 *    program using it receives its other capabilities elsewhere.
 *  - The stage thread is created at OPEN and waits for START (or for CLOSE,
 *    which ends it); a stage that never started costs only the thread.
 */
#ifndef DSI_DSI_CTL_H
#define DSI_DSI_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "drops/services.h"
#include "drops/thread.h"
#include "dsi.h"
#include "dsi_env_drops.h"

#define DSI_CTL_PROTO 0x0d52u
#define DSI_CTL_PROTO_EVENT 0x0d53u
#define DSI_CTL_PROTO_PROBE 0x0d54u

enum dsi_ctl_op {
    DSI_CTL_OPEN = 1,
    DSI_CTL_MAP = 2,
    DSI_CTL_CONNECT = 3,
    DSI_CTL_START = 4,
    DSI_CTL_STOP = 5,
    DSI_CTL_CLOSE = 6,
};

#define DSI_CTL_PORT_IN 0u  /* the stage receives on it */
#define DSI_CTL_PORT_OUT 1u /* the stage sends on it */
#define DSI_CTL_AREA_CTRL 0u
#define DSI_CTL_AREA_DATA 1u
#define DSI_CTL_NO_HANDLE (~0ull)

#define DSI_CTL_E_SYS 64 /* status DSI_CTL_E_SYS + abi_error */

enum dsi_ctl_event_kind {
    DSI_CTL_EV_DROP = 1,
    DSI_CTL_EV_DONE = 2,
    DSI_CTL_EV_GONE = 3, /* made by the controller: a stage thread vanished */
};

/* An event as it travels (mr0..mr7). */
struct dsi_ctl_event {
    uint64_t cookie;  /* the stage's cookie (its first OPEN) */
    uint64_t kind;    /* DSI_CTL_EV_* */
    uint64_t code;    /* DONE: the enum dsi_error that ended the stage */
    uint64_t packets; /* committed (output) or received (input) */
    uint64_t drops;
    uint64_t aux0, aux1; /* the component's own (a sink: errors, next seq) */
    uint64_t port;       /* DONE: the port whose socket ended the stage */
};
#define DSI_CTL_EVENT_WORDS 8u

#define DSI_CTL_MAP_TIMEOUT_NS 1000000000ull   /* per MAP message after OPEN */
#define DSI_CTL_EVENT_TIMEOUT_NS 1000000000ull /* an event send */

/* Where components put the areas: per stage 2^36 bytes, per socket and area
 * 2^33 (the root maps nothing between its mmap area's end, 0x700000000000,
 * and the stacks near 0x7ffd00000000). */
#define DSI_CTL_WINDOW_BASE (DROPS_VA_RECEIVE_BASE + 0x10000000000ull) /* in the component's own range */
#define DSI_CTL_WINDOW_ORDER_MAX 33u
#define DSI_CTL_STAGES_MAX 8u
#define DSI_CTL_RING_MAX 1024u /* output sockets: allocator marks per stage */

const char *dsi_ctl_strerror(int64_t status);

/* ------------------------------------------------------------ controller */

/* One end of a stream: which component (route gate) and port, how its socket
 * behaves; filled in by dsi_ctl_open: its handle and stage thread. */
struct dsi_ctl_end {
    abi_cap_t route;
    uint32_t port;
    uint32_t flags;      /* DSI_F_* */
    uint64_t timeout_ns; /* the socket's blocking timeout */
    uint64_t cookie;
    uint64_t join; /* handle of the same component's other port, or DSI_CTL_NO_HANDLE */
    uint64_t arg0, arg1;
    /* results */
    uint64_t handle;
    abi_cap_t thread; /* the stage thread (SEND|COPY), in the controller's slots */
    bool open;
};

/* A stream the controller owns: its memory and the header it initialised. */
struct dsi_ctl_stream {
    uint32_t num_packets, max_sg;
    uint64_t ctrl_size, data_size; /* page multiples */
    uint8_t *ctrl, *data;          /* the controller's mapping (64 KiB aligned) */
    uint64_t mem, mem_size;        /* what it took from the memory service */
};

/* Memory for a stream of N packets (max_sg SG elements each) with a data
 * area of data_bytes, from the memory service, and the control area
 * initialised. */
int64_t dsi_ctl_stream_alloc(struct dsi_ctl_stream *s, uint32_t num_packets, uint32_t max_sg, uint64_t data_bytes);
int64_t dsi_ctl_stream_free(struct dsi_ctl_stream *s);
/* The header the controller may read (statistics, event flags). */
static inline const struct dsi_ctrl_header *dsi_ctl_header(const struct dsi_ctl_stream *s)
{
    return (const struct dsi_ctrl_header *)s->ctrl;
}

/* OPEN the end and MAP both areas of s to it. */
int64_t dsi_ctl_open(struct dsi_ctl_end *e, const struct dsi_ctl_stream *s);
/* CONNECT both ends to each other. */
int64_t dsi_ctl_connect(struct dsi_ctl_end *tx, struct dsi_ctl_end *rx);
int64_t dsi_ctl_start(const struct dsi_ctl_end *e);
int64_t dsi_ctl_stop(const struct dsi_ctl_end *e);
/* CLOSE; drops the controller's copy of the stage thread capability when
 * the component agreed or is gone (its route answers ABORTED): both are 0. */
int64_t dsi_ctl_close(struct dsi_ctl_end *e);
/* Wait for one event up to timeout_ns: 0 and *ev, or ABI_E_TIMEOUT. */
int64_t dsi_ctl_wait_event(struct dsi_ctl_event *ev, uint64_t timeout_ns);
/* Whether the stage thread behind this capability still exists. */
bool dsi_ctl_alive(abi_cap_t thread);

/* A chain of stages built from routes: stage 0 a source (output only), the
 * last a sink (input only), filters in between; stream i goes from stage i to
 * stage i + 1. The controller's usual life: build, start, wait, close. */
#define DSI_CTL_CHAIN_MAX 8u
#define DSI_CTL_LOG_MAX 32u

struct dsi_ctl_chain {
    /* set by the caller */
    unsigned stages;
    struct {
        abi_cap_t route;
        uint64_t arg0, arg1;
        uint32_t in_flags, out_flags; /* DSI_F_* of its sockets */
    } stage[DSI_CTL_CHAIN_MAX];
    uint32_t num_packets, max_sg; /* each stream's ring */
    uint64_t data_bytes;          /* each stream's data area */
    uint64_t timeout_ns;          /* every socket's blocking timeout */
    uint64_t id;                  /* cookies are id << 8 | stage */
    /* filled in */
    struct dsi_ctl_stream stream[DSI_CTL_CHAIN_MAX - 1];
    struct dsi_ctl_end tx[DSI_CTL_CHAIN_MAX - 1], rx[DSI_CTL_CHAIN_MAX - 1];
    struct dsi_ctl_event done[DSI_CTL_CHAIN_MAX]; /* each stage's DONE */
    bool finished[DSI_CTL_CHAIN_MAX];             /* DONE or GONE seen */
    bool gone[DSI_CTL_CHAIN_MAX];
    uint64_t drop_events;
    struct dsi_ctl_event log[DSI_CTL_LOG_MAX]; /* every event, in order */
    unsigned nlog;
    unsigned failed_stage; /* where build/start/close failed */
};

/* Memory, OPEN + MAP of every end, CONNECT: 0, or the first failure's status
 * (its stage in failed_stage; what was opened is closed again). */
int64_t dsi_ctl_chain_build(struct dsi_ctl_chain *c);
/* START every stage, sink first. */
int64_t dsi_ctl_chain_start(struct dsi_ctl_chain *c);
/* Collect events until every stage sent DONE or is gone (probed every
 * probe_ns while no event comes), at most timeout_ns: 0 or ABI_E_TIMEOUT. */
int64_t dsi_ctl_chain_wait(struct dsi_ctl_chain *c, uint64_t timeout_ns, uint64_t probe_ns);
/* STOP stage i. */
int64_t dsi_ctl_chain_stop(struct dsi_ctl_chain *c, unsigned i);
/* CLOSE every end (waiting for running stages as in CLOSE, at most
 * timeout_ns), free the memory: 0 or the first failure. */
int64_t dsi_ctl_chain_close(struct dsi_ctl_chain *c, uint64_t timeout_ns);
/* Event names for reports. */
const char *dsi_ctl_event_name(uint64_t kind);

/* ------------------------------------------------------------- component */

struct dsi_ctl_stage;

/* A component's stage loop: move packets until the end, fill in the result
 * (code, packets, drops, aux0, aux1, port; the DONE event). It runs on the
 * stage thread: native IPC and DSI, no libc calls that keep thread state. */
typedef void (*dsi_ctl_run_fn)(struct dsi_ctl_stage *st, struct dsi_ctl_event *result);

struct dsi_ctl_server {
    unsigned ports;  /* bit (1 << port) for each port the component offers */
    unsigned prio;   /* of the stage threads (at most the component's) */
    dsi_ctl_run_fn run;
    const char *name; /* for the log */
};

struct dsi_ctl_stage {
    /* For the run function. */
    uint64_t cookie, arg0, arg1;
    bool has[2];                  /* sockets present, by port */
    struct dsi_socket sock[2];    /* attached at START */
    struct dsi_drops_peer peer[2];
    /* The server's own. */
    unsigned index;
    int state;
    volatile int stop, loop_done, exited;
    abi_cap_t controller;      /* event thread (the first OPEN's caller) */
    abi_cap_t peer_cap[2];     /* CONNECT */
    uint32_t flags[2];
    uint64_t timeout[2], ctrl_size[2], data_size[2], mapped[2][2];
    int failed[2];             /* the map phase failed */
    struct drops_thread thread;
    uint64_t marks[DSI_CTL_RING_MAX];
    bool drop_sent;
};

/* Serve the protocol on the calling (main) thread; never returns. */
_Noreturn void dsi_ctl_serve(const struct dsi_ctl_server *srv);
/* For run functions: the controller asked the stage to stop. */
static inline bool dsi_ctl_stopping(const struct dsi_ctl_stage *st)
{
    return __atomic_load_n(&st->stop, __ATOMIC_RELAXED) != 0;
}
/* For run functions: report the first drop of an output (once per stage). */
void dsi_ctl_report_drop(struct dsi_ctl_stage *st, uint64_t drops);
/* The mapped area of a socket (the run function has the sockets; this is
 * for a component that wants the raw pointers). */
void *dsi_ctl_area(const struct dsi_ctl_stage *st, unsigned port, unsigned area);

#endif
