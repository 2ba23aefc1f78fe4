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
 * after its compare-and-swap set WAIT in the state word (or with the value
 * it last saw), and the peer changes the word before it calls `wake`. The
 * waiter's receive is a watched receive (ABI_IPC_WATCH, include/abi/ipc.h):
 * the kernel blocks it only while the state word still holds the value the
 * waiter saw, checked with interrupts off in the same kernel entry that
 * blocks. The waker sends one empty message with a zero timeout. Either the
 * waiter already sleeps (the send wakes it; a more important waiter gets
 * the CPU at once through the kernel's send fast path), or it has not
 * checked yet and then finds the word changed (ABI_E_CHANGED: look again).
 * No message is ever owed or queued, so a wait that times out leaves
 * nothing behind, and a hostile peer can make neither side block longer
 * than its own timeout: it can only cause spurious wake-ups, after which
 * the core looks at the word again (its deadline still holds).
 *
 * A peer that is gone: when the peer's thread is destroyed or unbound (its
 * task deleted), the kernel aborts our receive (ABI_E_ABORTED), and every
 * later receive from it or send to it fails the same way at once; a revoked
 * capability gives INVALID_CAP. The environment then
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

struct dsi_drops_peer {
    uint64_t thread; /* capability slot of the peer's thread (SEND) */
    int gone;        /* the peer's thread is gone: waits fail */
    /* Counters (this side's view), for tests and benchmarks. */
    uint64_t waits;        /* watched receives */
    uint64_t changed;      /* ... that found the word changed (no sleep) */
    uint64_t wakes;        /* wake-ups that found the peer waiting */
    uint64_t wakes_missed; /* ... that did not (it had not checked the word yet) */
};

/* Counters zero, peer present. */
void dsi_drops_peer_init(struct dsi_drops_peer *p, uint64_t peer_thread_cap);

/* The hooks for a socket whose peer is p (the struct must outlive it). */
struct dsi_env dsi_drops_env(struct dsi_drops_peer *p);

/* The clock of the `now` hook: nanoseconds since boot (lib's now_ns). */
uint64_t dsi_drops_now(void);

#endif
