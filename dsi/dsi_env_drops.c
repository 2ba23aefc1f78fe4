/* DSI environment on kernel IPC (protocol and reasoning in dsi_env_drops.h). */
#include "dsi_env_drops.h"

#include "drops/sys.h"

void dsi_drops_peer_init(struct dsi_drops_peer *p, uint64_t peer_thread_cap)
{
    *p = (struct dsi_drops_peer){
        .thread = peer_thread_cap,
        .wake_timeout_ns = DSI_DROPS_WAKE_TIMEOUT_NS,
        .absorb_timeout_ns = DSI_DROPS_ABSORB_TIMEOUT_NS,
    };
}

/* Closed receive of one message from the peer's thread. */
static int64_t receive_from(const struct dsi_drops_peer *p, uint64_t timeout_ns)
{
    return sys_ipc(0, p->thread, 0, 0, timeout_ns, ABI_IPC_RECV).err;
}

static int64_t send_wake(const struct dsi_drops_peer *p, uint64_t timeout_ns)
{
    return sys_ipc(p->thread, 0, ABI_TAG(DSI_PROTO_WAKE, 0, 0), timeout_ns, 0, ABI_IPC_SEND).err;
}

static int drops_wait(void *ctx, uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
    struct dsi_drops_peer *p = ctx;
    if (p->gone) return DSI_E_PEER_GONE;
    /* Only a WAIT we announced is owed a message; without it this is a
     * plain futex-style wait that must not sleep on a changed word. */
    if (!(expected & DSI_ST_WAIT) && __atomic_load_n(word, __ATOMIC_SEQ_CST) != expected)
        return DSI_E_OK;
    p->waits++;
    int64_t e = receive_from(p, timeout_ns); /* DSI_TIMEOUT_INFINITE == ABI_TIMEOUT_NEVER */
    if (e == ABI_E_OK) return DSI_E_OK;
    if (e == ABI_E_TIMEOUT) {
        uint32_t v = expected;
        if (!(expected & DSI_ST_WAIT) ||
            __atomic_compare_exchange_n(word, &v, expected & ~DSI_ST_WAIT, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            return DSI_E_TIMEOUT; /* WAIT taken back: nobody owes us a message */
        /* The peer consumed WAIT after our receive gave up: its message
         * is on the way (or it lost it). Take it now. */
        e = receive_from(p, p->absorb_timeout_ns);
        if (e == ABI_E_OK) {
            p->absorbed++;
            return DSI_E_OK;
        }
        if (e == ABI_E_TIMEOUT) return DSI_E_OK; /* the word changed: look again */
    }
    p->gone = 1; /* ABORTED, INVALID_CAP, WRONG_TYPE: the thread is gone */
    return DSI_E_PEER_GONE;
}

static void drops_wake(void *ctx, uint32_t *word)
{
    struct dsi_drops_peer *p = ctx;
    (void)word;
    if (p->gone) return;
    int64_t e = send_wake(p, 0);
    if (e == ABI_E_OK) {
        p->wakes++;
        return;
    }
    if (e == ABI_E_TIMEOUT) {
        /* The peer set WAIT and has not reached its receive yet. */
        p->wakes_late++;
        e = send_wake(p, p->wake_timeout_ns);
        if (e == ABI_E_OK) return;
        if (e == ABI_E_TIMEOUT) {
            p->wakes_lost++;
            return;
        }
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
