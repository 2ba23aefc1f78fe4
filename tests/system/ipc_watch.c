/*
 * System test: the watched receive (ABI_IPC_WATCH), the send fast path that
 * wakes a waiting receiver, and receives from a thread that is gone.
 *
 *  1. Arguments: a word that differs returns ABI_E_CHANGED at once (closed
 *     and open receive), a word that matches waits for the timeout; an
 *     unaligned or unmapped word and WATCH with a send phase or without a
 *     receive phase are ABI_E_INVALID_ARG.
 *  2. CHANGED receives nothing: a sender queued on us stays queued and is
 *     taken by the next receive.
 *  3. Wake-up by a plain send: a more important waiter runs before the
 *     send returns (words delivered); one of equal priority only after the
 *     sender gives up the CPU.
 *  4. No lost wake-up: a more important waker, released by its own timer at
 *     varying instants (so it preempts the waiter anywhere, also between
 *     its read of the word and its receive), changes the word and sends a
 *     zero-timeout wake-up 3000 times; the waiter, in a watched receive
 *     with a 50 ms timeout, must never time out.
 *  5. A thread whose task was deleted: a receive from it (plain or
 *     watched) and a send to it fail with ABI_E_ABORTED at once, not after
 *     the timeout.
 */
#include <stdbool.h>

#include "drops/ipc.h"
#include "drops/spawn.h"
#include "drops/tap.h"

#define SLOT_ROOT 8 /* the root's thread, in the children */
#define RACE_ROUNDS 3000u

static uint8_t stacks[4][16384] __attribute__((aligned(16)));

/* Shared through the common image (the children map it from the root). */
static volatile uint32_t word;
static volatile uint64_t child_mr0, child_woken, child_err;
static volatile uint64_t waker_ok, waker_missed, waker_done;

static struct sys_ret watch_recv(abi_cap_t from, volatile uint32_t *w, uint32_t val, uint64_t timeout, bool open)
{
    return sys_ipc((uint64_t)(uintptr_t)w, from, 0, val, timeout, ABI_IPC_RECV | ABI_IPC_WATCH | (open ? ABI_IPC_OPEN : 0));
}

/* 2: send one word to the root and block until it is taken. */
static void queued_sender(uint64_t arg)
{
    utcb()->mr[0] = arg;
    child_err = (uint64_t)ipc_send(SLOT_ROOT, ABI_TAG(ABI_PROTO_USER, 1, 0), ABI_TIMEOUT_NEVER).err;
    for (;;) sleep_ns(1000000000ull);
}

/* 3: wait (watched) for the root's wake-up, record what came. */
static void waiter(uint64_t arg)
{
    (void)arg;
    for (;;) {
        struct sys_ret r = watch_recv(SLOT_ROOT, &word, word, ABI_TIMEOUT_NEVER, false);
        child_err = (uint64_t)r.err;
        child_mr0 = utcb()->mr[0] + utcb()->mr[1];
        child_woken++;
    }
}

/* 4: change the word and wake the root, at instants set by its own timer. */
static void waker(uint64_t arg)
{
    uint64_t x = arg;
    for (uint32_t i = 0; i < RACE_ROUNDS; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        sleep_ns(2000 + (x >> 33) % 40000); /* 2 .. 42 us */
        word = i + 1;
        int64_t e = sys_ipc(SLOT_ROOT, 0, ABI_TAG(ABI_PROTO_USER, 0, 0), 0, 0, ABI_IPC_SEND).err;
        if (e == ABI_E_OK) waker_ok++;
        else waker_missed++;
    }
    waker_done = 1;
    for (;;) sleep_ns(1000000000ull);
}

static int spawn(struct child *c, unsigned idx, void (*fn)(uint64_t), uint64_t arg, unsigned prio)
{
    if (child_task(c, 32) || child_thread_prepare(c, fn, arg, (uint64_t)(stacks[idx] + sizeof stacks[idx]), prio))
        return -1;
    if (sys_cap_copy(c->task, ABI_CAP_SELF_THREAD, SLOT_ROOT, ABI_R_SEND).err) return -1;
    return sys_thread_exregs(c->thread, 0, 0, ABI_EXREGS_START).err ? -1 : 0;
}

int main(void)
{
    ok(sys_thread_sched(ABI_CAP_SELF_THREAD, 100, ABI_PRIO_MAX).err == 0, "root at priority 100");

    /* 1. Arguments. */
    word = 7;
    uint64_t t0 = now_ns();
    struct sys_ret r = watch_recv(ABI_CAP_SELF_THREAD, &word, 8, 1000000000ull, false);
    uint64_t dt = now_ns() - t0;
    is(r.err, ABI_E_CHANGED, "closed watched receive on a word that differs: CHANGED");
    ok(dt < 1000000, "... at once (%lu us), not after the 1 s timeout", dt / 1000);
    t0 = now_ns();
    r = watch_recv(0, &word, 6, 1000000000ull, true);
    dt = now_ns() - t0;
    ok(r.err == ABI_E_CHANGED && dt < 1000000, "open watched receive on a word that differs: CHANGED at once (%s)",
       sys_error_name(r.err));
    t0 = now_ns();
    r = watch_recv(ABI_CAP_SELF_THREAD, &word, 7, 2000000, false);
    dt = now_ns() - t0;
    ok(r.err == ABI_E_TIMEOUT && dt >= 2000000 && dt < 4000000,
       "a word that matches waits: TIMEOUT after %lu us (2000 expected)", dt / 1000);
    is(watch_recv(ABI_CAP_SELF_THREAD, (volatile uint32_t *)((uintptr_t)&word + 1), 7, 1000, false).err,
       ABI_E_INVALID_ARG, "unaligned word: INVALID_ARG");
    is(watch_recv(ABI_CAP_SELF_THREAD, (volatile uint32_t *)0x1000, 7, 1000, false).err, ABI_E_INVALID_ARG,
       "unmapped word: INVALID_ARG");
    is(watch_recv(ABI_CAP_SELF_THREAD, (volatile uint32_t *)0xffff800000001000ull, 7, 1000, false).err,
       ABI_E_INVALID_ARG, "kernel address: INVALID_ARG");
    is(sys_ipc((uint64_t)(uintptr_t)&word, ABI_CAP_SELF_THREAD, 0, 7, 1000, ABI_IPC_SEND | ABI_IPC_RECV | ABI_IPC_WATCH)
           .err,
       ABI_E_INVALID_ARG, "WATCH with a send phase: INVALID_ARG");
    is(sys_ipc((uint64_t)(uintptr_t)&word, ABI_CAP_SELF_THREAD, 0, 7, 1000, ABI_IPC_WATCH).err, ABI_E_INVALID_ARG,
       "WATCH without a receive phase: INVALID_ARG");

    /* 2. CHANGED receives nothing: the queued sender stays queued. */
    struct child qs;
    ok(spawn(&qs, 0, queued_sender, 0x5151, 110) == 0, "a more important sender blocks sending to us");
    r = watch_recv(qs.thread, &word, 8, 1000000, false);
    is(r.err, ABI_E_CHANGED, "watched receive from it on a changed word: CHANGED");
    r = watch_recv(qs.thread, &word, 7, 1000000, false);
    ok(r.err == ABI_E_OK && utcb()->mr[0] == 0x5151, "the next (matching) watched receive takes its message (%s, %lx)",
       sys_error_name(r.err), utcb()->mr[0]);
    is(child_err, ABI_E_OK, "... and its send completed");

    /* 3. Wake-up by a plain send. */
    struct child w;
    ok(spawn(&w, 1, waiter, 0, 110) == 0, "a more important waiter in a watched receive from us");
    struct abi_utcb *u = utcb();
    u->mr[0] = 40;
    u->mr[1] = 2;
    word = 9;
    r = ipc_send(w.thread, ABI_TAG(ABI_PROTO_USER, 2, 0), ABI_TIMEOUT_ZERO);
    uint64_t woken = child_woken;
    ok(r.err == ABI_E_OK && woken == 1 && child_err == ABI_E_OK && child_mr0 == 42,
       "a zero-timeout send wakes it, and it ran before the send returned (woken %lu, words %lu)", woken, child_mr0);
    ok(sys_thread_sched(w.thread, 100, 0).err == 0, "the waiter now at our priority");
    sleep_ns(100000); /* it goes back into its receive */
    word = 10;
    u->mr[0] = 1;
    u->mr[1] = 2;
    r = ipc_send(w.thread, ABI_TAG(ABI_PROTO_USER, 2, 0), ABI_TIMEOUT_ZERO);
    woken = child_woken;
    ok(r.err == ABI_E_OK && woken == 1, "a send to an equally important waiter succeeds, the sender keeps the CPU");
    sleep_ns(100000);
    ok(child_woken == 2 && child_mr0 == 3, "... and the waiter ran once we slept (woken %lu, words %lu)", child_woken,
       child_mr0);
    is(ipc_send(w.thread, ABI_TAG(ABI_PROTO_USER, 0, 0), ABI_TIMEOUT_ZERO).err, ABI_E_OK,
       "an empty send wakes it too (waiting again on an unchanged word)");
    sys_thread_exregs(w.thread, 0, 0, ABI_EXREGS_HALT);

    /* 4. No lost wake-up under preemption at arbitrary instants. */
    struct child wk;
    word = 0;
    ok(spawn(&wk, 2, waker, 12345, 120) == 0, "a more important waker, %u rounds", RACE_ROUNDS);
    uint64_t got_ok = 0, got_changed = 0, got_timeout = 0, other = 0;
    uint32_t seen = 0;
    uint64_t x = 99;
    while (seen < RACE_ROUNDS && got_timeout == 0 && other == 0) {
        uint32_t v = word;
        if (v != seen) {
            seen = v;
            continue;
        }
        /* A varying delay between reading the word and the receive, so the
         * waker's timer also lands in between. */
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        for (volatile unsigned i = (unsigned)((x >> 33) % 200); i; i--) {
        }
        r = watch_recv(wk.thread, &word, v, 50000000ull, false);
        if (r.err == ABI_E_OK) got_ok++;
        else if (r.err == ABI_E_CHANGED) got_changed++;
        else if (r.err == ABI_E_TIMEOUT) got_timeout++;
        else other++;
    }
    printf("# race: %lu woken, %lu changed before sleeping; waker: %lu sends found us waiting, %lu did not\n", got_ok,
           got_changed, waker_ok, waker_missed);
    ok(seen == RACE_ROUNDS && got_timeout == 0 && other == 0,
       "all %u changes seen, no wait ran into its timeout (lost wake-ups: %lu, other errors: %lu)", RACE_ROUNDS,
       got_timeout, other);
    ok(got_changed > 0 && waker_missed > 0,
       "the race was exercised: the waker came between read and receive %lu times", got_changed);
    sleep_ns(1000000);
    ok(waker_done, "the waker finished");

    /* 5. A thread whose task is gone. */
    struct child dead;
    ok(spawn(&dead, 3, waiter, 0, 90) == 0, "a less important thread in another task");
    ok(sys_cap_delete(dead.task).err == 0, "its task deleted");
    t0 = now_ns();
    r = ipc_receive(dead.thread, 1000000000ull);
    dt = now_ns() - t0;
    ok(r.err == ABI_E_ABORTED && dt < 1000000, "receive from its thread: ABORTED at once (%s, %lu us)",
       sys_error_name(r.err), dt / 1000);
    t0 = now_ns();
    r = watch_recv(dead.thread, &word, word, 1000000000ull, false);
    dt = now_ns() - t0;
    ok(r.err == ABI_E_ABORTED && dt < 1000000, "watched receive from it: ABORTED at once (%s)", sys_error_name(r.err));
    is(ipc_send(dead.thread, ABI_TAG(ABI_PROTO_USER, 0, 0), 1000000000ull).err, ABI_E_ABORTED,
       "send to it: ABORTED");
    tap_done();
}
