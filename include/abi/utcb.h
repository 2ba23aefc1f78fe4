/*
 * The user thread control block: one per thread, mapped at the address given
 * to thread_bind, read and written by the kernel during IPC. It holds the
 * message registers, the receive buffers, and words free for the runtime.
 */
#ifndef ABI_UTCB_H
#define ABI_UTCB_H

#include "ipc.h"

/* A bound thread starts with gs base = its UTCB address, and user[0] holds
 * that address too, so `mov %gs:544, reg` finds the UTCB from any code. */
struct abi_utcb {
    uint64_t mr[ABI_MR_COUNT]; /* message registers */
    uint64_t br[ABI_BR_COUNT]; /* buffer registers: receive windows */
    uint64_t user[60];         /* the runtime's own: self pointer, thread id, ... */
};

_Static_assert(sizeof(struct abi_utcb) == 1024, "UTCB layout");
_Static_assert(offsetof(struct abi_utcb, mr) == 0, "UTCB mr");
_Static_assert(offsetof(struct abi_utcb, br) == 512, "UTCB br");
_Static_assert(offsetof(struct abi_utcb, user) == 544, "UTCB user");

/* The root task's first thread gets its UTCB here, and a stack below it;
 * it starts with rdi = ABI_KIP_ADDR and rsp = ABI_ROOT_STACK_TOP. */
#define ABI_ROOT_UTCB_ADDR 0x7fffe0000000ull
#define ABI_ROOT_STACK_TOP 0x7fffd0000000ull
#define ABI_ROOT_STACK_SIZE (64ull << 10)

#endif
