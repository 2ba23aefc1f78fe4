/* IPC helpers over sys_ipc: the common operations by name. */
#ifndef DROPS_IPC_H
#define DROPS_IPC_H

#include "drops/sys.h"

static inline struct sys_ret ipc_send(abi_cap_t dst, abi_tag_t tag, uint64_t timeout)
{
    return sys_ipc(dst, 0, tag, timeout, 0, ABI_IPC_SEND);
}

static inline struct sys_ret ipc_call(abi_cap_t dst, abi_tag_t tag, uint64_t timeout)
{
    return sys_ipc(dst, 0, tag, timeout, timeout, ABI_IPC_OP_CALL);
}

/* Open receive: from anybody. v0 = tag, v1 = label. */
static inline struct sys_ret ipc_wait(uint64_t timeout)
{
    return sys_ipc(0, 0, 0, 0, timeout, ABI_IPC_OP_WAIT);
}

/* Closed receive: only from the thread `from` (ABI_CAP_NULL: from nobody, a sleep). */
static inline struct sys_ret ipc_receive(abi_cap_t from, uint64_t timeout)
{
    return sys_ipc(0, from, 0, 0, timeout, ABI_IPC_RECV);
}

static inline struct sys_ret ipc_reply_wait(abi_tag_t tag, uint64_t timeout)
{
    return sys_ipc(0, 0, tag, 0, timeout, ABI_IPC_OP_REPLY_WAIT);
}

static inline struct sys_ret ipc_reply(abi_tag_t tag)
{
    return sys_ipc(0, 0, tag, 0, 0, ABI_IPC_REPLY);
}

static inline void sleep_ns(uint64_t ns) { ipc_receive(ABI_CAP_NULL, ns); }

#endif
