/* DSI environment on kernel IPC (protocol and reasoning in dsi_env_drops.h). */
#include "dsi_env_drops.h"

#include "drops/sys.h"

void dsi_drops_peer_init(struct dsi_drops_peer *p, uint64_t peer_thread_cap)
{
    *p = (struct dsi_drops_peer){
        .thread = peer_thread_cap,
    };
}

/* Closed receive of one message from the peer's thread, only while *word
 * still holds `expected` (the kernel checks it with interrupts off). */
static int64_t receive_watch(const struct dsi_drops_peer *p, uint32_t *word, uint32_t expected,
                             uint64_t timeout_ns)
{
    return sys_ipc((uint64_t)(uintptr_t)word, p->thread, 0, expected, timeout_ns, ABI_IPC_RECV | ABI_IPC_WATCH)
        .err;
}

static int drops_wait(void *ctx, uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
    struct dsi_drops_peer *p = ctx;
    if (p->gone) return DSI_E_PEER_GONE;
    p->waits++;
    /* DSI_TIMEOUT_INFINITE == ABI_TIMEOUT_NEVER */
    int64_t e = receive_watch(p, word, expected, timeout_ns);
    if (e == ABI_E_OK) return DSI_E_OK;
    if (e == ABI_E_CHANGED) {
        p->changed++;
        return DSI_E_OK;
    }
    if (e == ABI_E_TIMEOUT) {
        /* Take WAIT back so the peer does not send a wake-up nobody waits
         * for (harmless, but a spurious wake-up of a later wait). */
        uint32_t v = expected;
        if (expected & DSI_ST_WAIT)
            __atomic_compare_exchange_n(word, &v, expected & ~DSI_ST_WAIT, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST);
        return DSI_E_TIMEOUT;
    }
    /* ABORTED (the thread has no task, or we were halted), INVALID_CAP,
     * WRONG_TYPE: the peer is gone. INVALID_ARG (the word is not mapped)
     * cannot happen for a socket's own state word. */
    p->gone = 1;
    return DSI_E_PEER_GONE;
}

static void drops_wake(void *ctx, uint32_t *word)
{
    struct dsi_drops_peer *p = ctx;
    (void)word;
    if (p->gone) return;
    int64_t e = sys_ipc(p->thread, 0, ABI_TAG(DSI_PROTO_WAKE, 0, 0), 0, 0, ABI_IPC_SEND).err;
    if (e == ABI_E_OK) {
        p->wakes++;
        return;
    }
    /* TIMEOUT: the peer is not in its receive; it changed nothing yet or
     * will find the word changed in the kernel. Nothing is owed. */
    if (e == ABI_E_TIMEOUT) {
        p->wakes_missed++;
        return;
    }
    p->gone = 1;
}

uint64_t dsi_drops_now(void)
{
    return now_ns();
}

static uint64_t drops_now(void *ctx)
{
    (void)ctx;
    return now_ns();
}

struct dsi_env dsi_drops_env(struct dsi_drops_peer *p)
{
    return (struct dsi_env){.wait = drops_wait, .wake = drops_wake, .now = drops_now, .ctx = p};
}
