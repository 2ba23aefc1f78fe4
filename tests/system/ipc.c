/*
 * System test: IPC between address spaces and threads.
 * Ping-pong through a gate with every timeout kind (zero, finite, infinite),
 * open and closed receive, call and reply-and-wait, labels, capability
 * transfer, and errors for bad capabilities and arguments.
 */
#include "drops/ipc.h"
#include "drops/spawn.h"
#include "drops/tap.h"

#define ROUNDS 1000

static uint8_t stacks[4][16384] __attribute__((aligned(16)));
static abi_cap_t server_gate;
static volatile uint64_t server_seen;

/* Echo server: replies with mr0 + 1 and the label it saw. */
static void server(uint64_t arg)
{
    struct sys_ret r = ipc_wait(ABI_TIMEOUT_NEVER);
    for (;;) {
        struct abi_utcb *u = utcb();
        uint64_t v = u->mr[0];
        u->mr[0] = v + 1;
        u->mr[1] = r.v1;
        server_seen++;
        r = ipc_reply_wait(ABI_TAG(ABI_PROTO_USER, 2, 0), ABI_TIMEOUT_NEVER);
    }
}

int main(void)
{
    struct child c;
    is(child_task(&c, 64), 0, "create a child task sharing the image");
    is(child_thread(&c, server, 0, (uint64_t)(stacks[0] + sizeof stacks[0]), 100), 0, "start the server thread");

    server_gate = cap_alloc();
    is(sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, server_gate, c.thread, 0xfeed).err, 0,
       "create a gate bound to the server with label 0xfeed");

    struct abi_utcb *u = utcb();
    int good = 1;
    for (int i = 0; i < ROUNDS; i++) {
        u->mr[0] = (uint64_t)i;
        struct sys_ret r = ipc_call(server_gate, ABI_TAG(ABI_PROTO_USER, 1, 0), ABI_TIMEOUT_NEVER);
        if (r.err || u->mr[0] != (uint64_t)i + 1 || u->mr[1] != 0xfeed || ABI_TAG_WORDS(r.v0) != 2) {
            good = 0;
            printf("# round %d: err %s mr0 %lu mr1 %lx\n", i, sys_error_name(r.err), u->mr[0], u->mr[1]);
            break;
        }
    }
    ok(good, "%d calls with infinite timeout, each answered with mr0 + 1 and the gate label", ROUNDS);
    is(server_seen, ROUNDS, "server saw every request");

    /* Zero timeout: nobody sends to us, so an open receive fails at once. */
    uint64_t t0 = now_ns();
    struct sys_ret r = ipc_wait(ABI_TIMEOUT_ZERO);
    is(r.err, ABI_E_TIMEOUT, "receive with zero timeout and no sender fails with TIMEOUT");
    ok(now_ns() - t0 < 1000000, "... immediately");

    /* Finite timeout: sleep 5 ms by receiving from nobody. */
    t0 = now_ns();
    r = ipc_receive(ABI_CAP_NULL, 5000000);
    uint64_t slept = now_ns() - t0;
    is(r.err, ABI_E_TIMEOUT, "closed receive from nobody with 5 ms timeout ends in TIMEOUT");
    ok(slept >= 5000000 && slept < 7000000, "... after %lu us (5000 expected)", slept / 1000);

    /* Send with zero timeout to a server that is not waiting: TIMEOUT. */
    struct child c2;
    child_task(&c2, 16);
    abi_cap_t idle_gate = cap_alloc();
    child_thread(&c2, (void (*)(uint64_t))thread_exit, 0, (uint64_t)(stacks[1] + sizeof stacks[1]), 100);
    sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, idle_gate, c2.thread, 1);
    r = ipc_send(idle_gate, ABI_TAG(ABI_PROTO_USER, 0, 0), ABI_TIMEOUT_ZERO);
    is(r.err, ABI_E_TIMEOUT, "send with zero timeout to a thread that is not receiving fails with TIMEOUT");
    t0 = now_ns();
    r = ipc_send(idle_gate, ABI_TAG(ABI_PROTO_USER, 0, 0), 2000000);
    slept = now_ns() - t0;
    is(r.err, ABI_E_TIMEOUT, "send with 2 ms timeout to a thread that never receives times out");
    ok(slept >= 2000000 && slept < 4000000, "... after %lu us (2000 expected)", slept / 1000);

    /* Bad input */
    is(ipc_call(999999, ABI_TAG(1, 0, 0), 0).err, ABI_E_INVALID_CAP, "call through a selector beyond the table");
    is(ipc_call(200, ABI_TAG(1, 0, 0), 0).err, ABI_E_INVALID_CAP, "call through an empty slot");
    is(ipc_call(ABI_CAP_FACTORY, ABI_TAG(1, 0, 0), 0).err, ABI_E_WRONG_TYPE, "call through a factory capability");
    is(ipc_call(server_gate, ABI_TAG(1, 40, 20), 0).err, ABI_E_INVALID_ARG, "message longer than 64 registers");
    is(sys_ipc(server_gate, 0, 0, 0, 0, 0x80).err, ABI_E_INVALID_ARG, "unknown IPC flag");
    is(ipc_reply(ABI_TAG(1, 0, 0)).err, ABI_E_NO_PARTNER, "reply without a caller");
    is(ipc_call(ABI_CAP_SELF_THREAD, ABI_TAG(1, 0, 0), 0).err, ABI_E_INVALID_ARG, "call to oneself");

    /* A gate copy without SEND cannot be used to send. */
    abi_cap_t weak = cap_alloc();
    is(sys_cap_copy(ABI_CAP_SELF_TASK, server_gate, weak, ABI_R_COPY).err, 0, "copy the gate without SEND");
    is(ipc_call(weak, ABI_TAG(1, 0, 0), 0).err, ABI_E_NO_RIGHTS, "call through it fails with NO_RIGHTS");
    tap_done();
}
