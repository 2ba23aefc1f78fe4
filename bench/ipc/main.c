/*
 * IPC benchmark: a client in the root task calls an echo server in another
 * address space; both at the same priority, one word each way.
 *
 * Under QEMU's -icount shift=3 every guest instruction takes 8 ns of virtual
 * time and the TSC runs on that clock, so elapsed nanoseconds / 8 is the
 * number of instructions executed, independent of the host.
 */
#include "drops/ipc.h"
#include "drops/console.h"
#include "drops/spawn.h"

#define WARMUP 100
#define ROUNDS 20000
#define NS_PER_INSN 8

static uint8_t server_stack[16384] __attribute__((aligned(16)));

static void echo_server(uint64_t arg)
{
    ipc_wait(ABI_TIMEOUT_NEVER);
    for (;;) ipc_reply_wait(ABI_TAG(ABI_PROTO_USER, 1, 0), ABI_TIMEOUT_NEVER);
}

static uint64_t round_trips(abi_cap_t gate, unsigned n)
{
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < n; i++) {
        utcb()->mr[0] = i;
        ipc_call(gate, ABI_TAG(ABI_PROTO_USER, 1, 0), ABI_TIMEOUT_NEVER);
    }
    return now_ns() - t0;
}

static uint64_t null_syscalls(unsigned n)
{
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < n; i++) sys_cap_info(ABI_CAP_SELF_TASK);
    return now_ns() - t0;
}

static uint64_t empty_loop(unsigned n)
{
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < n; i++) __asm__ volatile("" ::: "memory");
    return now_ns() - t0;
}

int main(void)
{
    struct child c;
    if (child_task(&c, 16) || child_thread(&c, echo_server, 0, (uint64_t)(server_stack + sizeof server_stack), 100)) {
        printf("bench ipc: cannot start the server\n");
        return 1;
    }
    abi_cap_t gate = cap_alloc();
    if (sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, gate, c.thread, 1).err) return 1;

    round_trips(gate, WARMUP);
    uint64_t loop = empty_loop(ROUNDS);
    uint64_t rt = round_trips(gate, ROUNDS) - loop;
    uint64_t ns = null_syscalls(ROUNDS) - loop;

    uint64_t rt_insns = rt / NS_PER_INSN / ROUNDS;
    uint64_t null_insns = ns / NS_PER_INSN / ROUNDS;
    printf("BENCH ipc oneway_insns=%lu roundtrip_insns=%lu null_syscall_insns=%lu oneway_ns=%lu\n", rt_insns / 2,
           rt_insns, null_insns, rt / ROUNDS / 2);
    return 0;
}
