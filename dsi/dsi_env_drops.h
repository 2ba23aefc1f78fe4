/*
 * DSI in the system: the environment hooks (wait, wake, now) on our kernel's
 * IPC, for components built with lib/ (part of the target libdsi.a, not of
 * the freestanding core).
 *
 * Each socket names its peer's thread (a thread capability with the SEND
 * right). A blocked side waits in a closed IPC receive from that thread with
 * its remaining timeout; the peer wakes it with an empty IPC send. Nothing
 * else is needed: the flag protocol of dsi.h decides who sleeps and who
 * wakes, the kernel only carries the wake-up.
 *
 * Why no wake-up is lost. The core guarantees: a side calls `wait` only
 * after its compare-and-swap set WAIT in the state word, and each WAIT so
 * set is consumed by exactly one peer operation (the exchange at commit or
 * release, or the close kick), which then calls `wake` once. So every wait
 * is owed exactly one message. The host's futex closes the gap between "set
 * WAIT" and "sleep" inside the kernel; kernel IPC has no such check, so the
 * two ends close it themselves:
 *
 *  - The waiter always receives (it does not look at the word first: the
 *    message is owed even when the word already changed, and it is on its
 *    way).
 *  - The waker first sends with a zero timeout: the common case, the peer
 *    already sleeps in its receive. If the peer is not receiving yet, it is
 *    between its compare-and-swap and its receive (it announced the sleep,
 *    so it is about to come): the waker sends once more and blocks at most
 *    `wake_timeout_ns` for it. On one CPU this hands the processor to the
 *    waiter, which enters its receive and takes the message at once.
 *  - A waiter whose receive times out takes its WAIT back with a
 *    compare-and-swap. If that fails, the peer consumed WAIT and its message
 *    is owed: the waiter receives once more, at most `absorb_timeout_ns`, so
 *    that the late message does not land in a later, unrelated wait (where it
 *    would only be a spurious wake-up: the core re-checks the word, so even
 *    then nothing is lost).
 *
 * A hostile or stalled peer can therefore cost the other side at most
 * wake_timeout_ns per wake-up (it set WAIT and never receives) and
 * absorb_timeout_ns per timed-out wait; never an unbounded wait.
 *
 * A peer that is gone: when the peer's thread is destroyed or unbound (its
 * task deleted), the kernel aborts our receive (ABI_E_ABORTED) and refuses
 * sends to it; a revoked capability gives INVALID_CAP. The environment then
 * marks the peer gone for good and every later wait returns
 * DSI_E_PEER_GONE at once (a halted but existing thread just never
 * answers: the waiting side runs into its timeout). ABI_E_ABORTED also ends
 * a receive when this thread itself is halted; a restarted thread must
 * re-initialise its peers.
 */
#ifndef DSI_DSI_ENV_DROPS_H
#define DSI_DSI_ENV_DROPS_H

#include <stdint.h>

#include "dsi.h"

/* The label-less protocol number of a wake-up message (no words). */
#define DSI_PROTO_WAKE 0x0d51u

#define DSI_DROPS_WAKE_TIMEOUT_NS 20000000ull  /* 20 ms: see above */
#define DSI_DROPS_ABSORB_TIMEOUT_NS 1000000ull /* 1 ms */

struct dsi_drops_peer {
    uint64_t thread;            /* capability slot of the peer's thread (SEND) */
    uint64_t wake_timeout_ns;   /* second chance of a wake-up, see above */
    uint64_t absorb_timeout_ns; /* owed message after a timed-out wait */
    int gone;                   /* the peer's thread is gone: waits fail */
    /* Counters (this side's view), for tests and benchmarks. */
    uint64_t waits;      /* receives that slept or returned at once */
    uint64_t wakes;      /* wake-ups sent at the first try */
    uint64_t wakes_late; /* ... that needed the second, blocking send */
    uint64_t wakes_lost; /* ... that found nobody within wake_timeout_ns */
    uint64_t absorbed;   /* owed messages taken after a timed-out wait */
};

/* Default timeouts, counters zero, peer present. */
void dsi_drops_peer_init(struct dsi_drops_peer *p, uint64_t peer_thread_cap);

/* The hooks for a socket whose peer is p (the struct must outlive it). */
struct dsi_env dsi_drops_env(struct dsi_drops_peer *p);

/* The clock of the `now` hook: nanoseconds since boot (lib's now_ns). */
uint64_t dsi_drops_now(void);

#endif
