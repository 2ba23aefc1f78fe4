/*
 * System test: capabilities and object lifetime.
 *
 * The root task's initial capabilities; cap_copy and its rules (rights only
 * shrink, COPY needed, occupied and invalid slots); capability transfer in
 * IPC into a receive window; revocation reaching copies in other tasks;
 * deleting an original destroys the object, deleting a copy does not;
 * destroying a task or a thread while partners are blocked in IPC with it
 * (they get ABI_E_ABORTED, nobody hangs); factory quotas; priorities: the
 * maximum controlled priority, preemption and round robin.
 *
 * Threads of the root task serve as partners (they share everything with
 * main); child tasks share the image, so results come back in globals.
 * Helpers run at higher priorities than main so that each step has finished
 * when main goes on; main still waits for their flags with bounded polling.
 */
#include "drops/ipc.h"
#include "drops/spawn.h"
#include "drops/tap.h"

#define STACK_SIZE 16384
#define NEVER ABI_TIMEOUT_NEVER
#define MS 1000000ull
#define USER_TAG(words, items) ABI_TAG(ABI_PROTO_USER, words, items)

static uint8_t stacks[28][STACK_SIZE] __attribute__((aligned(16)));
static unsigned stacks_used;

static uint64_t new_stack(void) { return (uint64_t)(stacks[stacks_used++] + STACK_SIZE); }

/* A thread of our own task running fn(arg); returns its slot (0 on failure). */
static abi_cap_t own_thread(void (*fn)(uint64_t), uint64_t arg, unsigned prio)
{
    struct child self = {.task = ABI_CAP_SELF_TASK};
    if (child_thread(&self, fn, arg, new_stack(), prio)) return 0;
    return self.thread;
}

/* Poll a flag set by another thread, sleeping in between; false after ~ms. */
static int wait_flag(volatile int *flag, unsigned ms)
{
    for (unsigned i = 0; i < ms * 4 && !*flag; i++) sleep_ns(MS / 4);
    return *flag;
}

static abi_cap_t new_gate(abi_cap_t thread, uint64_t label)
{
    abi_cap_t g = cap_alloc();
    struct sys_ret r = sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, g, thread, label);
    return r.err ? 0 : g;
}

static abi_cap_t copy_cap(abi_cap_t src, unsigned mask)
{
    abi_cap_t c = cap_alloc();
    return sys_cap_copy(ABI_CAP_SELF_TASK, src, c, mask).err ? 0 : c;
}

/* --- echo server (root task): mr0 + 1 and the gate label --- */

static void echo_server(uint64_t arg)
{
    struct sys_ret r = ipc_wait(NEVER);
    for (;;) {
        struct abi_utcb *u = utcb();
        if (r.err) {
            r = ipc_wait(NEVER);
            continue;
        }
        u->mr[0] += 1;
        u->mr[1] = r.v1;
        r = ipc_reply_wait(USER_TAG(2, 0), NEVER);
    }
}

/* Call through `gate` with mr0 = v; true if the echo came back with `label`. */
static int echo_ok(abi_cap_t gate, uint64_t label)
{
    struct abi_utcb *u = utcb();
    u->mr[0] = 77;
    struct sys_ret r = ipc_call(gate, USER_TAG(1, 0), NEVER);
    return r.err == 0 && u->mr[0] == 78 && u->mr[1] == label;
}

/* --- capability client in a child task, driven by commands from main --- */

enum { CMD_USE = 1, CMD_WINDOW = 2, CMD_COPY = 3 };
#define WINDOW_BASE 16u
#define WINDOW_COUNT 4u

static volatile int64_t client_rcv_err;
static volatile uint64_t client_rcv_items, client_rcv_failures;

/*
 * CMD_USE: take the capability from the cap item (or the slot in mr1), look
 * at it with cap_info and call the echo server through it.
 * Reply: call error, echo mr0, echo label, slot, info error, type, rights, items.
 * CMD_WINDOW: set the capability receive window to [mr1, mr1 + mr2).
 * CMD_COPY: cap_copy(own task, mr1, mr2, mr3); reply: its error.
 * A receive that fails (the kernel could not deliver an item) gets no reply;
 * its error is left in client_rcv_err.
 */
static void cap_client(uint64_t arg)
{
    struct abi_utcb *u = utcb();
    u->br[ABI_BR_CAP_BASE] = WINDOW_BASE;
    u->br[ABI_BR_CAP_COUNT] = WINDOW_COUNT;
    struct sys_ret r = ipc_wait(NEVER);
    for (;;) {
        if (r.err) {
            client_rcv_err = r.err;
            client_rcv_items = ABI_TAG_ITEMS(r.v0);
            client_rcv_failures++;
            r = ipc_wait(NEVER);
            continue;
        }
        unsigned words = ABI_TAG_WORDS(r.v0), items = ABI_TAG_ITEMS(r.v0);
        uint64_t cmd = u->mr[0], a1 = u->mr[1], a2 = u->mr[2], a3 = u->mr[3];
        uint64_t out[8] = {0};
        if (cmd == CMD_USE) {
            abi_cap_t slot = items ? u->mr[words + 1] : a1;
            struct sys_ret info = sys_cap_info(slot);
            u->mr[0] = 1000;
            struct sys_ret c = ipc_call(slot, USER_TAG(1, 0), NEVER);
            out[0] = (uint64_t)c.err;
            out[1] = c.err ? 0 : u->mr[0];
            out[2] = c.err ? 0 : u->mr[1];
            out[3] = slot;
            out[4] = (uint64_t)info.err;
            out[5] = info.v0;
            out[6] = info.v1;
            out[7] = items;
        } else if (cmd == CMD_WINDOW) {
            u->br[ABI_BR_CAP_BASE] = a1;
            u->br[ABI_BR_CAP_COUNT] = a2;
        } else if (cmd == CMD_COPY) {
            out[0] = (uint64_t)sys_cap_copy(ABI_CAP_SELF_TASK, a1, a2, a3).err;
        }
        for (int i = 0; i < 8; i++) u->mr[i] = out[i];
        r = ipc_reply_wait(USER_TAG(8, 0), NEVER);
    }
}

struct reply {
    int64_t err;
    uint64_t call_err, echo, label, slot, info_err, type, rights, items;
};

/* One command to the client; `item` (if not 0) travels as a cap item with `mask`. */
static struct reply client_cmd(abi_cap_t client, uint64_t cmd, uint64_t a1, uint64_t a2, uint64_t a3,
                               abi_cap_t item, unsigned mask)
{
    struct abi_utcb *u = utcb();
    abi_tag_t tag;
    u->mr[0] = cmd;
    if (item) {
        u->mr[1] = ABI_ITEM_CAP | (uint64_t)mask << 8;
        u->mr[2] = item;
        tag = USER_TAG(1, 1);
    } else {
        u->mr[1] = a1, u->mr[2] = a2, u->mr[3] = a3;
        tag = USER_TAG(4, 0);
    }
    struct sys_ret r = ipc_call(client, tag, NEVER);
    struct reply rep = {r.err, u->mr[0], u->mr[1], u->mr[2], u->mr[3], u->mr[4], u->mr[5], u->mr[6], u->mr[7]};
    return rep;
}

static struct reply use_item(abi_cap_t client, abi_cap_t item, unsigned mask)
{
    return client_cmd(client, CMD_USE, 0, 0, 0, item, mask);
}

static struct reply use_slot(abi_cap_t client, abi_cap_t slot) { return client_cmd(client, CMD_USE, slot, 0, 0, 0, 0); }

/* --- initial capabilities and cap_copy --- */

static void test_initial_caps(void)
{
    static const struct {
        abi_cap_t slot;
        unsigned type;
        const char *what;
    } initial[] = {
        {ABI_CAP_SELF_TASK, ABI_OBJ_TASK, "its own task"},
        {ABI_CAP_SELF_THREAD, ABI_OBJ_THREAD, "its own thread"},
        {ABI_CAP_FACTORY, ABI_OBJ_FACTORY, "the root factory"},
        {ABI_CAP_IRQ_CONTROL, ABI_OBJ_IRQ_CONTROL, "IRQ control"},
        {ABI_CAP_MACHINE, ABI_OBJ_MACHINE, "the machine"},
        {ABI_CAP_SCHED_CONTROL, ABI_OBJ_SCHED_CONTROL, "reservation control"},
    };
    for (unsigned i = 0; i < sizeof initial / sizeof initial[0]; i++) {
        struct sys_ret r = sys_cap_info(initial[i].slot);
        ok(r.err == 0 && r.v0 == initial[i].type && r.v1 == ABI_R_ALL, "root slot %lu: %s, all rights",
           initial[i].slot, initial[i].what);
        if (r.err || r.v0 != initial[i].type || r.v1 != ABI_R_ALL)
            printf("#   got err %s type %lu rights %lu\n", sys_error_name(r.err), r.v0, r.v1);
    }
    int empty_ok = 1;
    for (abi_cap_t s = 7; s < ABI_CAP_ROOT_FIRST_FREE; s++) {
        struct sys_ret r = sys_cap_info(s);
        empty_ok &= r.err == ABI_E_INVALID_CAP && r.v0 == ABI_OBJ_NONE;
    }
    ok(empty_ok, "root slot 7 is empty: cap_info says INVALID_CAP, type NONE");
    is(sys_cap_info(ABI_CAP_NULL).err, ABI_E_INVALID_CAP, "cap_info of slot 0: INVALID_CAP");
    is(sys_cap_info(ABI_ROOT_CAP_SLOTS - 1).err, ABI_E_INVALID_CAP, "cap_info of the last (empty) slot: INVALID_CAP");
    is(sys_cap_info(ABI_ROOT_CAP_SLOTS).err, ABI_E_INVALID_CAP, "cap_info of the first slot beyond the table");
    is(sys_cap_info(~0ull).err, ABI_E_INVALID_CAP, "cap_info of selector ~0");
    is(sys_cap_info(1ull << 32 | ABI_CAP_SELF_TASK).err, ABI_E_INVALID_CAP,
       "cap_info of 2^32 + 1 (no truncation to slot 1)");
}

static void test_cap_copy(abi_cap_t gate, uint64_t label)
{
    struct sys_ret r;
    abi_cap_t sc = copy_cap(gate, ABI_R_SEND | ABI_R_COPY);
    r = sys_cap_info(sc);
    ok(sc && r.err == 0 && r.v0 == ABI_OBJ_GATE && r.v1 == (ABI_R_SEND | ABI_R_COPY),
       "copy of the gate with SEND|COPY has exactly those rights (%lu)", r.v1);
    abi_cap_t scc = copy_cap(sc, ABI_R_ALL);
    r = sys_cap_info(scc);
    ok(scc && r.err == 0 && r.v1 == (ABI_R_SEND | ABI_R_COPY),
       "copy of that copy with mask ALL still has only SEND|COPY (%lu): rights never grow", r.v1);
    abi_cap_t s = copy_cap(scc, ABI_R_SEND);
    r = sys_cap_info(s);
    ok(s && r.v1 == ABI_R_SEND, "third-generation copy with SEND only");
    ok(echo_ok(s, label), "IPC through the SEND-only copy reaches the server with the gate's label");
    abi_cap_t dst = cap_alloc();
    is(sys_cap_copy(ABI_CAP_SELF_TASK, s, dst, ABI_R_ALL).err, ABI_E_NO_RIGHTS,
       "copying a capability without COPY fails with NO_RIGHTS");
    is(sys_cap_info(dst).err, ABI_E_INVALID_CAP, "... and leaves the destination empty");
    abi_cap_t none = copy_cap(gate, 0);
    r = sys_cap_info(none);
    ok(none && r.err == 0 && r.v0 == ABI_OBJ_GATE && r.v1 == 0, "a copy with no rights at all is still a gate cap");
    is(ipc_call(none, USER_TAG(0, 0), 0).err, ABI_E_NO_RIGHTS, "... through which IPC fails with NO_RIGHTS");

    is(sys_cap_copy(ABI_CAP_SELF_TASK, gate, sc, ABI_R_ALL).err, ABI_E_SLOT_OCCUPIED,
       "copy into an occupied slot: SLOT_OCCUPIED");
    r = sys_cap_info(sc);
    ok(r.err == 0 && r.v1 == (ABI_R_SEND | ABI_R_COPY), "... the occupant is unchanged");
    is(sys_cap_copy(ABI_CAP_SELF_TASK, gate, ABI_CAP_SELF_TASK, ABI_R_ALL).err, ABI_E_SLOT_OCCUPIED,
       "copy over the task's own slot 1: SLOT_OCCUPIED");
    is(sys_cap_copy(ABI_CAP_SELF_TASK, ABI_CAP_NULL, dst, ABI_R_ALL).err, ABI_E_INVALID_CAP,
       "copy from slot 0: INVALID_CAP");
    is(sys_cap_copy(ABI_CAP_SELF_TASK, ABI_ROOT_CAP_SLOTS, dst, ABI_R_ALL).err, ABI_E_INVALID_CAP,
       "copy from a slot beyond the table: INVALID_CAP");
    is(sys_cap_copy(ABI_CAP_SELF_TASK, ~0ull, dst, ABI_R_ALL).err, ABI_E_INVALID_CAP, "copy from selector ~0: INVALID_CAP");
    is(sys_cap_copy(ABI_CAP_SELF_TASK, ABI_ROOT_CAP_SLOTS - 2, dst, ABI_R_ALL).err, ABI_E_INVALID_CAP,
       "copy from an empty slot: INVALID_CAP");
    is(sys_cap_copy(ABI_CAP_SELF_TASK, gate, ABI_CAP_NULL, ABI_R_ALL).err, ABI_E_INVALID_CAP,
       "copy to slot 0: INVALID_CAP");
    is(sys_cap_copy(ABI_CAP_SELF_TASK, gate, ABI_ROOT_CAP_SLOTS, ABI_R_ALL).err, ABI_E_INVALID_CAP,
       "copy to a slot beyond the table: INVALID_CAP");
    is(sys_cap_copy(ABI_CAP_SELF_TASK, gate, dst, 0x8).err, ABI_E_INVALID_ARG, "rights mask with an unknown bit: INVALID_ARG");
    is(sys_cap_copy(ABI_CAP_FACTORY, gate, dst, ABI_R_ALL).err, ABI_E_WRONG_TYPE,
       "destination task named by a factory cap: WRONG_TYPE");
    abi_cap_t weak_task = copy_cap(ABI_CAP_SELF_TASK, ABI_R_SEND | ABI_R_COPY);
    is(sys_cap_copy(weak_task, gate, dst, ABI_R_ALL).err, ABI_E_NO_RIGHTS,
       "destination task cap without CTRL: NO_RIGHTS");
    is(sys_cap_info(dst).err, ABI_E_INVALID_CAP, "none of the failed copies filled the destination");

    /* Another task's table has its own size. */
    struct child c;
    is(child_task(&c, 16), 0, "a child task with 16 slots");
    is(sys_cap_copy(c.task, gate, 15, ABI_R_SEND).err, 0, "copy into its last slot (15)");
    is(sys_cap_copy(c.task, gate, 16, ABI_R_SEND).err, ABI_E_INVALID_CAP, "copy into its slot 16: INVALID_CAP");
    is(sys_cap_copy(c.task, gate, ABI_CAP_SELF_TASK, ABI_R_SEND).err, ABI_E_SLOT_OCCUPIED,
       "copy over its slot 1 (its task cap): SLOT_OCCUPIED");
}

/* --- transfer and revocation --- */

static void test_transfer_and_revoke(abi_cap_t gate, uint64_t label)
{
    struct child c, other;
    is(child_task(&c, 32), 0, "a child task with 32 slots for the capability client");
    is(child_thread(&c, cap_client, 0, new_stack(), 110), 0, "its client thread waits with window [16, 20)");
    abi_cap_t client = c.thread;

    struct reply rep = use_item(client, gate, ABI_R_SEND);
    ok(rep.err == 0 && rep.items == 1, "call with a cap item (gate, mask SEND) is delivered with its item");
    ok(rep.slot >= WINDOW_BASE && rep.slot < WINDOW_BASE + WINDOW_COUNT, "the cap landed in the window (slot %lu)",
       rep.slot);
    ok(rep.info_err == 0 && rep.type == ABI_OBJ_GATE && rep.rights == ABI_R_SEND,
       "the child sees a gate with SEND only (type %lu rights %lu)", rep.type, rep.rights);
    ok(rep.call_err == 0 && rep.echo == 1001 && rep.label == label,
       "the child calls the server through it and gets the echo with the gate label");
    abi_cap_t child_slot = rep.slot;
    rep = client_cmd(client, CMD_COPY, child_slot, 24, ABI_R_ALL, 0, 0);
    is(rep.call_err, ABI_E_NO_RIGHTS, "the child cannot copy the transferred cap on (it lacks COPY)");

    /* No window: the item cannot be delivered. */
    rep = client_cmd(client, CMD_WINDOW, WINDOW_BASE, 0, 0, 0, 0);
    is(rep.err, 0, "the child closes its capability window (count 0)");
    uint64_t failures = client_rcv_failures;
    rep = use_item(client, gate, ABI_R_SEND);
    is(rep.err, ABI_E_MSG_TRUNCATED, "sending a cap item to a receiver without window: MSG_TRUNCATED");
    ok(client_rcv_failures == failures + 1 && client_rcv_err == ABI_E_MSG_TRUNCATED && client_rcv_items == 0,
       "the receiver also gets MSG_TRUNCATED, with no item delivered");
    rep = client_cmd(client, CMD_WINDOW, 1000, 4, 0, 0, 0);
    rep = use_item(client, gate, ABI_R_SEND);
    is(rep.err, ABI_E_MSG_TRUNCATED, "window beyond the receiver's table: MSG_TRUNCATED");
    rep = client_cmd(client, CMD_WINDOW, child_slot, 1, 0, 0, 0);
    rep = use_item(client, gate, ABI_R_SEND);
    is(rep.err, ABI_E_MSG_TRUNCATED, "window of one occupied slot: MSG_TRUNCATED");
    rep = client_cmd(client, CMD_WINDOW, WINDOW_BASE, WINDOW_COUNT, 0, 0, 0);
    abi_cap_t send_only = copy_cap(gate, ABI_R_SEND);
    failures = client_rcv_failures;
    rep = use_item(client, send_only, ABI_R_SEND);
    is(rep.err, ABI_E_NO_RIGHTS, "cap item from a slot without COPY: NO_RIGHTS for the sender");
    ok(client_rcv_failures == failures + 1 && client_rcv_err == ABI_E_NO_RIGHTS, "... and for the receiver");
    rep = use_item(client, gate, ABI_R_SEND | ABI_R_COPY);
    ok(rep.err == 0 && rep.call_err == 0 && rep.rights == (ABI_R_SEND | ABI_R_COPY),
       "with the window open again a second copy arrives (slot %lu, SEND|COPY)", rep.slot);
    abi_cap_t child_slot2 = rep.slot;
    rep = client_cmd(client, CMD_COPY, child_slot2, 25, ABI_R_ALL, 0, 0);
    is(rep.call_err, 0, "the child can copy a cap it received with COPY");

    /* Revocation reaches copies everywhere, the revoker keeps its own. */
    is(child_task(&other, 16), 0, "a second child task");
    is(sys_cap_copy(other.task, gate, 10, ABI_R_SEND).err, 0, "root copies the gate into its slot 10");
    abi_cap_t mine = copy_cap(gate, ABI_R_SEND);
    is(sys_cap_revoke(gate).err, 0, "cap_revoke on the gate");
    rep = use_slot(client, child_slot);
    ok(rep.info_err == ABI_E_INVALID_CAP && rep.call_err == ABI_E_INVALID_CAP,
       "the child's copy is gone: cap_info and IPC through it fail with INVALID_CAP (%s)",
       sys_error_name((int64_t)rep.call_err));
    rep = use_slot(client, 25);
    is(rep.call_err, ABI_E_INVALID_CAP, "... and so is the copy the child made of its copy");
    is(sys_cap_copy(other.task, gate, 10, ABI_R_SEND).err, 0,
       "the copy in the other task is gone too: its slot 10 takes a new copy");
    is(sys_cap_info(mine).err, ABI_E_INVALID_CAP, "the revoker's own copies are gone");
    struct sys_ret r = sys_cap_info(gate);
    ok(r.err == 0 && r.v0 == ABI_OBJ_GATE && r.v1 == ABI_R_ALL, "the revoked capability itself stays, with all rights");
    ok(echo_ok(gate, label), "... and still works");
    is(sys_cap_revoke(gate).err, 0, "revoke again (removes the new copy in the other task)");
    is(sys_cap_revoke(ABI_CAP_NULL).err, ABI_E_INVALID_CAP, "cap_revoke of slot 0: INVALID_CAP");
    is(sys_cap_delete(ABI_ROOT_CAP_SLOTS).err, ABI_E_INVALID_CAP, "cap_delete beyond the table: INVALID_CAP");
    is(sys_cap_delete(ABI_ROOT_CAP_SLOTS - 3).err, ABI_E_INVALID_CAP, "cap_delete of an empty slot: INVALID_CAP");
}

/* Gate lifetime: the original is the object, copies are only names. */
static void test_gate_lifetime(abi_cap_t echo, abi_cap_t gate, uint64_t label)
{
    struct child c;
    is(child_task(&c, 32), 0, "a child task for the gate-lifetime client");
    is(child_thread(&c, cap_client, 0, new_stack(), 110), 0, "its client thread");
    abi_cap_t client = c.thread;

    abi_cap_t g2 = new_gate(echo, 0x2222);
    ok(g2 != 0, "a second gate to the echo server, label 0x2222");
    abi_cap_t g2c = copy_cap(g2, ABI_R_SEND | ABI_R_COPY);
    abi_cap_t g2d = copy_cap(g2, ABI_R_SEND);
    struct reply a = use_item(client, g2, ABI_R_SEND);
    struct reply b = use_item(client, g2c, ABI_R_SEND);
    ok(a.call_err == 0 && a.label == 0x2222 && b.call_err == 0 && b.label == 0x2222,
       "the child holds a copy of the original (slot %lu) and a copy of a copy (slot %lu), both work", a.slot, b.slot);

    is(sys_cap_delete(g2c).err, 0, "delete the root's copy");
    is(sys_cap_info(g2c).err, ABI_E_INVALID_CAP, "... its slot is empty");
    struct reply rb = use_slot(client, b.slot);
    is(rb.call_err, ABI_E_INVALID_CAP, "the child's copy derived from that copy went with it");
    struct reply ra = use_slot(client, a.slot);
    ok(ra.call_err == 0 && ra.label == 0x2222, "the child's copy derived from the original still works");
    ok(echo_ok(g2, 0x2222) && echo_ok(g2d, 0x2222), "the original and the other copy still work: the gate lives");

    is(sys_cap_delete(g2).err, 0, "delete the gate's original");
    is(sys_cap_info(g2d).err, ABI_E_INVALID_CAP, "the root's remaining copy is gone");
    ra = use_slot(client, a.slot);
    is(ra.call_err, ABI_E_INVALID_CAP, "the child's copy is gone: the gate is destroyed");
    ok(echo_ok(gate, label), "the server thread behind it is untouched (reachable through the first gate)");
    abi_cap_t g3 = cap_alloc();
    is(sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, g3, echo, 0x3333).err, 0, "a new gate to the same server");
    ok(echo_ok(g3, 0x3333), "... works with its own label");
    is(sys_cap_delete(g3).err, 0, "... and is deleted");
}

/* --- destruction while partners are blocked --- */

static volatile int x_got, x_after, x2_done, s4_got, s4_go, s4_done, revived;
static volatile int h_done[4];
static volatile int64_t h_err[4], s4_reply_err;
static abi_cap_t gate_x, thread_x, gate_s4, gate_y, thread_y;

/* In the task to be destroyed: take one call and never answer it. */
static void dying_server(uint64_t arg)
{
    struct sys_ret r = ipc_wait(NEVER);
    x_got = r.err == 0 ? 1 : -1;
    ipc_receive(ABI_CAP_NULL, NEVER);
    x_after = 1;
    thread_exit();
}

/* In the task to be destroyed: call the holding server (slot 8 there). */
static void dying_caller(uint64_t arg)
{
    ipc_call(8, USER_TAG(0, 0), NEVER);
    x2_done = 1;
    thread_exit();
}

/* Root task: accept one call, answer it only when told to. */
static void holding_server(uint64_t arg)
{
    struct sys_ret r = ipc_wait(NEVER);
    s4_got = r.err == 0 ? 1 : -1;
    while (!s4_go) sleep_ns(MS / 4);
    s4_reply_err = ipc_reply(USER_TAG(0, 0)).err;
    s4_done = 1;
    thread_exit();
}

/* Root task helpers: 0 calls gate_x, 1 calls gate_x (and queues), 2 waits
 * in a closed receive from thread_x, 3 sends to gate_y. */
static void blocked_helper(uint64_t which)
{
    struct sys_ret r;
    if (which <= 1) r = ipc_call(gate_x, USER_TAG(0, 0), NEVER);
    else if (which == 2) r = ipc_receive(thread_x, NEVER);
    else r = ipc_send(gate_y, USER_TAG(0, 0), NEVER);
    h_err[which] = r.err;
    h_done[which] = 1;
    thread_exit();
}

static void revived_fn(uint64_t arg)
{
    revived = 1;
    thread_exit();
}

static void sleeper(uint64_t arg) { thread_exit(); }

static volatile int self_delete_started, self_delete_survived;
static volatile abi_cap_t self_slot;
static abi_cap_t echo_gate;
static uint64_t echo_label;

static void self_deleter(uint64_t arg)
{
    self_delete_started = 1;
    sys_cap_delete(self_slot);
    self_delete_survived = 1;
    thread_exit();
}

extern char thread_entry[];

static void test_destroy_blocked(void)
{
    struct child d;
    is(child_task(&d, 16), 0, "task D, to be destroyed with its threads blocked in IPC");
    abi_cap_t s4 = own_thread(holding_server, 0, 120);
    gate_s4 = new_gate(s4, 4);
    is(sys_cap_copy(d.task, gate_s4, 8, ABI_R_SEND).err, 0, "D gets a gate to a root server in its slot 8");
    is(child_thread(&d, dying_server, 0, new_stack(), 115), 0, "D's thread X waits for a call");
    thread_x = d.thread;
    gate_x = new_gate(thread_x, 0xd1e);
    is(child_thread(&d, dying_caller, 0, new_stack(), 115), 0, "D's thread X2 calls the root server");
    ok(wait_flag(&s4_got, 10) == 1, "the root server took X2's call and holds it");

    own_thread(blocked_helper, 0, 110);
    ok(wait_flag(&x_got, 10) == 1, "helper 0 called X; X took the call and holds it");
    own_thread(blocked_helper, 1, 110);
    own_thread(blocked_helper, 2, 110);
    is(ipc_send(gate_x, USER_TAG(0, 0), 0).err, ABI_E_TIMEOUT, "X does not receive (helper 1 queues as a sender)");
    ok(!h_done[0] && !h_done[1] && !h_done[2], "helpers 0, 1, 2 are blocked (reply wait, send, closed receive on X)");

    is(sys_cap_delete(d.task).err, 0, "delete D's original task capability");
    int all = 1;
    for (int i = 0; i < 3; i++) all &= wait_flag(&h_done[i], 10);
    ok(all, "all three helpers came back");
    is(h_err[0], ABI_E_ABORTED, "the caller waiting for X's reply got ABORTED");
    is(h_err[1], ABI_E_ABORTED, "the sender blocked on X got ABORTED");
    is(h_err[2], ABI_E_ABORTED, "the closed receive from X got ABORTED");
    s4_go = 1;
    ok(wait_flag(&s4_done, 10), "the root server holding X2's call goes on");
    is(s4_reply_err, ABI_E_NO_PARTNER, "its reply to the dead X2 fails with NO_PARTNER");
    ok(!x_after && !x2_done, "D's threads never ran again");
    is(ipc_call(gate_x, USER_TAG(0, 0), NEVER).err, ABI_E_ABORTED, "IPC through a gate to X now fails with ABORTED");
    is(sys_thread_exregs(thread_x, 0, 0, ABI_EXREGS_START).err, ABI_E_BUSY, "X is unbound: starting it fails with BUSY");
    is(sys_cap_info(d.task).err, ABI_E_INVALID_CAP, "D's slot is empty");

    /* The thread object outlives the task: bind it elsewhere and run it. */
    struct child d2;
    is(child_task(&d2, 16), 0, "task D2");
    is(sys_thread_bind(thread_x, d2.task, ABI_ROOT_UTCB_ADDR).err, 0, "X can be bound to D2");
    uint64_t *sp = (uint64_t *)new_stack();
    *--sp = 0;
    *--sp = (uint64_t)revived_fn;
    is(sys_thread_exregs(thread_x, (uint64_t)thread_entry, (uint64_t)sp,
                         ABI_EXREGS_SET_IP | ABI_EXREGS_SET_SP | ABI_EXREGS_START).err,
       0, "... and started");
    ok(wait_flag(&revived, 10), "X runs again in D2");
    is(sys_cap_delete(d2.task).err, 0, "delete D2");
    is(sys_cap_delete(thread_x).err, 0, "delete X's original");
    is(sys_cap_info(gate_x).err, 0, "the gate to X outlives it as a capability");
    is(ipc_call(gate_x, USER_TAG(0, 0), 0).err, ABI_E_ABORTED, "... but IPC through it fails with ABORTED");

    /* A thread (not its task) destroyed while a sender waits for it. */
    struct child e;
    is(child_task(&e, 16), 0, "task E");
    is(child_thread(&e, sleeper, 0, new_stack(), 115), 0, "E's thread Y never receives");
    thread_y = e.thread;
    gate_y = new_gate(thread_y, 0xe);
    own_thread(blocked_helper, 3, 110);
    ok(!h_done[3], "helper 3 is blocked sending to Y");
    is(sys_cap_delete(thread_y).err, 0, "delete Y's original thread capability");
    ok(wait_flag(&h_done[3], 10) && h_err[3] == ABI_E_ABORTED, "the blocked sender got ABORTED (%s)",
       sys_error_name(h_err[3]));
    is(ipc_send(gate_y, USER_TAG(0, 0), 0).err, ABI_E_ABORTED, "IPC through the gate of a destroyed thread: ABORTED");
    is(sys_cap_delete(e.task).err, 0, "delete E");

    /* A thread deleting its own original: it ends there, nothing else does. */
    abi_cap_t suicide = own_thread(self_deleter, 0, 1);
    self_slot = suicide;
    is(sys_thread_sched(suicide, 110, 0).err, 0, "a thread that deletes its own original capability runs");
    sleep_ns(2 * MS); /* the reaper frees it while nothing else runs */
    ok(self_delete_started && !self_delete_survived, "it stopped inside its cap_delete");
    is(sys_cap_info(suicide).err, ABI_E_INVALID_CAP, "its slot is empty");
    ok(echo_ok(echo_gate, echo_label), "other threads go on (the echo server answers)");
}

/* --- factory quotas --- */

static unsigned fill_factory(abi_cap_t fac, abi_cap_t *slots, unsigned max, int64_t *last_err)
{
    unsigned n = 0;
    *last_err = 0;
    while (n < max) {
        abi_cap_t s = cap_alloc();
        struct sys_ret r = sys_factory_create(fac, ABI_OBJ_THREAD, s, 0, 0);
        if (r.err) {
            *last_err = r.err;
            break;
        }
        slots[n++] = s;
    }
    return n;
}

static void test_factory_quota(void)
{
    abi_cap_t sub = cap_alloc(), threads[32], t;
    int64_t err;
    is(sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_FACTORY, sub, 64 << 10, 0).err, 0,
       "a sub-factory with a 64 KiB quota");
    struct sys_ret r = sys_cap_info(sub);
    ok(r.err == 0 && r.v0 == ABI_OBJ_FACTORY && r.v1 == ABI_R_ALL, "... is a factory original");
    unsigned n = fill_factory(sub, threads, 32, &err);
    is(err, ABI_E_NO_MEMORY, "creating threads from it ends with NO_MEMORY");
    ok(n >= 1 && n < 32, "... after %u threads", n);
    t = cap_alloc();
    is(sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_THREAD, t, 0, 0).err, 0, "the root factory still creates a thread");
    is(sys_cap_delete(t).err, 0, "... which is deleted again");
    abi_cap_t subsub = cap_alloc();
    is(sys_factory_create(sub, ABI_OBJ_FACTORY, subsub, 1 << 20, 0).err, ABI_E_NO_MEMORY,
       "a 1 MiB factory cannot be carved out of the full 64 KiB one");
    is(sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_FACTORY, subsub, ~0ull, 0).err, ABI_E_NO_MEMORY,
       "a factory with quota 2^64-1 from the root factory: NO_MEMORY");
    for (unsigned i = 0; i < n; i++) sys_cap_delete(threads[i]);
    sleep_ns(MS); /* anything the deletions left for the reaper */
    unsigned m = fill_factory(sub, threads, 32, &err);
    is(m, n, "after deleting them, the same number of threads fits again (quota returned)");
    for (unsigned i = 0; i < m; i++) sys_cap_delete(threads[i]);
    sleep_ns(MS);
    abi_cap_t g = cap_alloc();
    is(sys_factory_create(sub, ABI_OBJ_FACTORY, g, 32 << 10, 0).err, 0, "a 32 KiB factory inside the 64 KiB one");
    unsigned k = fill_factory(g, threads, 32, &err);
    ok(k >= 1 && k < n && err == ABI_E_NO_MEMORY, "it holds fewer threads (%u) than its parent (%u)", k, n);
    for (unsigned i = 0; i < k; i++) sys_cap_delete(threads[i]);
    is(sys_cap_delete(g).err, 0, "delete the inner factory");
    sleep_ns(MS);
    m = fill_factory(sub, threads, 32, &err);
    is(m, n, "its quota went back to the parent: %u threads fit again", m);
    for (unsigned i = 0; i < m; i++) sys_cap_delete(threads[i]);
    is(sys_factory_create(sub, 99, cap_alloc(), 0, 0).err, ABI_E_INVALID_ARG, "unknown object type: INVALID_ARG");
    is(sys_factory_create(sub, ABI_OBJ_TASK, cap_alloc(), 0, 0).err, ABI_E_INVALID_ARG, "task with 0 slots: INVALID_ARG");
    is(sys_factory_create(sub, ABI_OBJ_TASK, cap_alloc(), ABI_MAX_CAP_SLOTS + 1, 0).err, ABI_E_INVALID_ARG,
       "task with more than ABI_MAX_CAP_SLOTS slots: INVALID_ARG");
    /* A capability table is a directory of slot pages filled on demand:
     * a huge table costs little until its slots are used. */
    abi_cap_t big = cap_alloc();
    is(sys_factory_create(sub, ABI_OBJ_TASK, big, ABI_MAX_CAP_SLOTS, 0).err, 0,
       "a 65536-slot task from the 64 KiB factory: only its directory is charged");
    int64_t fill_err = 0;
    unsigned filled = 0;
    for (unsigned k = 1; k < 64 && !fill_err; k++) {
        fill_err = sys_cap_copy(big, ABI_CAP_MACHINE, (uint64_t)k * 64, ABI_R_SEND).err;
        if (!fill_err) filled++;
    }
    ok(filled > 0 && fill_err == ABI_E_NO_MEMORY,
       "filling slots in ever new pages of its table (%u fit) runs into the factory's quota: NO_MEMORY", filled);
    is(sys_cap_delete(big).err, 0, "delete that task");
    is(sys_factory_create(sub, ABI_OBJ_GATE, cap_alloc(), ABI_CAP_FACTORY, 0).err, ABI_E_WRONG_TYPE,
       "gate bound to a factory cap: WRONG_TYPE");
    is(sys_cap_delete(sub).err, 0, "delete the sub-factory");
}

/* --- grant: the page moves, and so does what it costs --- */

static uint8_t grant_page[4096] __attribute__((aligned(4096)));
static volatile int granter_done, grantee_done;
static volatile int64_t granter_err, grantee_err;
static volatile uint64_t grantee_fpage, grantee_word;
#define GRANT_SRC_VA 0x30000000ull
#define GRANT_DST_VA 0x40000000ull

/* In task A: grant the page at GRANT_SRC_VA to the thread in slot 8. */
static void granter(uint64_t arg)
{
    struct abi_utcb *u = utcb();
    u->mr[0] = ABI_ITEM_GRANT;
    u->mr[1] = ABI_FPAGE(GRANT_SRC_VA, 12, ABI_MAP_R | ABI_MAP_W);
    granter_err = ipc_send(8, USER_TAG(0, 1), NEVER).err;
    granter_done = 1;
    thread_exit();
}

/* In task B: receive one page into GRANT_DST_VA and read it. */
static void grantee(uint64_t arg)
{
    struct abi_utcb *u = utcb();
    u->br[ABI_BR_MEM_WINDOW] = ABI_FPAGE(GRANT_DST_VA, 12, 0);
    struct sys_ret r = ipc_wait(NEVER);
    grantee_err = r.err;
    grantee_fpage = u->mr[1];
    if (!r.err) grantee_word = *(volatile uint64_t *)GRANT_DST_VA;
    grantee_done = 1;
    thread_exit();
}

/* What is free in a factory, to the size of a gate (the size class of a
 * mapping node): threads until NO_MEMORY, then gates for the rest. */
static abi_cap_t measure_slots[200];
static void measure_factory(abi_cap_t fac, unsigned *threads, unsigned *gates)
{
    unsigned n = 0, t, g;
    if (!measure_slots[0])
        for (unsigned i = 0; i < 200; i++) measure_slots[i] = cap_alloc();
    while (n < 200 && !sys_factory_create(fac, ABI_OBJ_THREAD, measure_slots[n], 0, 0).err) n++;
    t = n;
    while (n < 200 && !sys_factory_create(fac, ABI_OBJ_GATE, measure_slots[n], ABI_CAP_SELF_THREAD, 0).err) n++;
    g = n - t;
    for (unsigned i = 0; i < n; i++) sys_cap_delete(measure_slots[i]);
    sleep_ns(MS);
    *threads = t, *gates = g;
}

static void test_grant_charge(void)
{
    abi_cap_t fa = cap_alloc(), ta = cap_alloc();
    is(sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_FACTORY, fa, 128 << 10, 0).err, 0, "factory FA (128 KiB)");
    unsigned t0, g0, t1, g1;
    measure_factory(fa, &t0, &g0);
    ok(t0 > 0 && g0 > 0 && g0 < 200, "FA empty: %u threads and then %u gates fit", t0, g0);

    /* Task A (charged to FA) holds the page; task B (root factory) receives it. */
    struct child a = {.task = ta, .utcb = ABI_ROOT_UTCB_ADDR}, b;
    uint64_t start = (uint64_t)__executable_start & ~0xfffull, end = ((uint64_t)_end + 0xfff) & ~0xfffull;
    ok(sys_factory_create(fa, ABI_OBJ_TASK, ta, 16, 0).err == 0 &&
           sys_task_map(ta, start, start, (end - start) >> 12, ABI_MAP_RWX).err == 0 &&
           sys_cap_copy(ta, ta, ABI_CAP_SELF_TASK, ABI_R_ALL).err == 0,
       "task A from FA, with the image");
    *(volatile uint64_t *)grant_page = 0x6a1e;
    is(sys_task_map(ta, (uint64_t)grant_page, GRANT_SRC_VA, 1, ABI_MAP_R | ABI_MAP_W).err, 0,
       "root maps a page into A (A's factory pays for the mapping)");
    is(child_task(&b, 16), 0, "task B from the root factory");
    is(child_thread(&b, grantee, 0, new_stack(), 110), 0, "B's thread waits with a one-page window");
    is(sys_cap_copy(ta, b.thread, 8, ABI_R_SEND).err, 0, "A gets B's thread cap");
    is(child_thread(&a, granter, 0, new_stack(), 110), 0, "A's thread grants the page to B");
    ok(wait_flag(&granter_done, 10) && wait_flag(&grantee_done, 10), "both finished");
    ok(granter_err == 0 && grantee_err == 0 && ABI_FPAGE_BASE(grantee_fpage) == GRANT_DST_VA,
       "the grant went through (%s / %s)", sys_error_name(granter_err), sys_error_name(grantee_err));
    is(grantee_word, 0x6a1e, "B reads the page's contents at its window");

    is(sys_cap_delete(b.task).err, 0, "delete B (and with it the granted mapping)");
    is(sys_cap_delete(ta).err, 0, "delete A");
    is(sys_cap_delete(a.thread).err, 0, "delete A's thread");
    sleep_ns(5 * MS);
    measure_factory(fa, &t1, &g1);
    ok(t1 == t0 && g1 == g0, "FA has all its quota back: %u threads, %u gates (%u, %u before)", t1, g1, t0, g0);
    sys_cap_delete(fa);
}

/* --- priorities --- */

static volatile int p_done, hi_done, low_stop, rr_stop;
static volatile int64_t p_err[7];
static volatile uint64_t low_count, hi_wakeups, hi_saw_low_run, hi_spin_low_delta, hi_spin_len;
static volatile uint64_t rr_count[2], rr_saw_other[2];
static volatile int rr_exited[2];
static abi_cap_t prio_q;

/* Runs with mcp 50: what may it do to thread Q? */
static void mcp_thread(uint64_t arg)
{
    p_err[0] = sys_thread_sched(prio_q, 60, 0).err;
    p_err[1] = sys_thread_sched(prio_q, 50, 0).err;
    p_err[2] = sys_thread_sched(prio_q, 40, 50).err;
    p_err[3] = sys_thread_sched(prio_q, 40, 51).err;
    p_err[4] = sys_thread_sched(prio_q, 256, 0).err;
    p_err[5] = sys_thread_sched(prio_q, 0, 0).err;
    p_err[6] = sys_thread_sched(prio_q, ABI_PRIO_MAX, 0).err;
    p_done = 1;
    thread_exit();
}

static void low_spinner(uint64_t arg)
{
    while (!low_stop) low_count++;
    thread_exit();
}

static void high_sleeper(uint64_t arg)
{
    uint64_t last = low_count;
    for (int i = 0; i < 20; i++) {
        sleep_ns(MS);
        hi_wakeups++;
        if (low_count != last) hi_saw_low_run++;
        last = low_count;
    }
    /* While this thread spins, the lower one must not run at all. */
    uint64_t t0 = now_ns(), before = low_count;
    while (now_ns() - t0 < 3 * MS) __asm__ volatile("pause");
    hi_spin_low_delta = low_count - before;
    hi_spin_len = now_ns() - t0;
    hi_done = 1;
    thread_exit();
}

static void rr_spinner(uint64_t me)
{
    uint64_t seen = rr_count[1 - me];
    while (!rr_stop) {
        rr_count[me]++;
        if (rr_count[1 - me] != seen) {
            seen = rr_count[1 - me];
            rr_saw_other[me]++;
        }
    }
    rr_exited[me] = 1;
    thread_exit();
}

static void test_priorities(void)
{
    prio_q = cap_alloc();
    is(sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_THREAD, prio_q, 0, 0).err, 0, "thread Q (unbound)");
    /* Started at priority 1, it runs only once main raises it. */
    abi_cap_t p = own_thread(mcp_thread, 0, 1);
    ok(p != 0, "thread P, parked at priority 1");
    is(sys_thread_sched(p, 110, 50).err, 0, "main (mcp 255) gives P priority 110 and mcp 50");
    ok(wait_flag(&p_done, 10), "P ran");
    is(p_err[0], ABI_E_PRIORITY, "P sets Q's priority to 60 (> its mcp 50): PRIORITY");
    is(p_err[1], 0, "P sets Q's priority to 50: accepted");
    is(p_err[2], 0, "P sets Q's priority 40 and mcp 50: accepted");
    is(p_err[3], ABI_E_PRIORITY, "P sets Q's mcp to 51: PRIORITY");
    is(p_err[4], ABI_E_INVALID_ARG, "P sets priority 256: INVALID_ARG");
    is(p_err[5], 0, "P sets priority 0: accepted");
    is(p_err[6], ABI_E_PRIORITY, "P sets priority 255: PRIORITY");
    is(sys_thread_sched(prio_q, ABI_PRIO_MAX, ABI_PRIO_MAX).err, 0, "main sets Q to 255/255: accepted");
    abi_cap_t weak = copy_cap(prio_q, ABI_R_SEND);
    is(sys_thread_sched(weak, 10, 0).err, ABI_E_NO_RIGHTS, "thread_sched through a cap without CTRL: NO_RIGHTS");
    is(sys_thread_sched(ABI_CAP_FACTORY, 10, 0).err, ABI_E_WRONG_TYPE, "thread_sched on a factory: WRONG_TYPE");
    sys_cap_delete(prio_q);

    /* Preemption: L spins at 50, H at 60 sleeps 1 ms twenty times, then spins 3 ms. */
    ok(own_thread(low_spinner, 0, 50) != 0, "L spins at priority 50");
    ok(own_thread(high_sleeper, 0, 60) != 0, "H at priority 60 sleeps 1 ms at a time");
    ok(wait_flag(&hi_done, 200), "H finished");
    is(hi_wakeups, 20, "H woke up all 20 times although L never blocks (it preempts L)");
    ok(hi_saw_low_run >= 15, "L ran in between: it advanced during %lu of H's 20 sleeps", hi_saw_low_run);
    ok(hi_spin_len >= 3 * MS && hi_spin_low_delta == 0,
       "while H spun for %lu us, L did not run at all (advanced %lu)", hi_spin_len / 1000, hi_spin_low_delta);
    low_stop = 1;
    sleep_ns(MS);

    /* Round robin: two spinners at 40 take turns by time slices. */
    ok(own_thread(rr_spinner, 0, 40) && own_thread(rr_spinner, 1, 40), "A and B spin at priority 40");
    sleep_ns(100 * MS);
    uint64_t a = rr_count[0], b = rr_count[1];
    rr_stop = 1;
    ok(a > 0 && b > 0, "in 100 ms both made progress (A %lu, B %lu)", a, b);
    ok(rr_saw_other[0] >= 2 && rr_saw_other[1] >= 2, "they alternated: A saw B run %lu times, B saw A %lu times",
       rr_saw_other[0], rr_saw_other[1]);
    ok(wait_flag(&rr_exited[0], 50) && wait_flag(&rr_exited[1], 50), "both stop when told");
}

int main(void)
{
    test_initial_caps();

    abi_cap_t echo = own_thread(echo_server, 0, 110);
    ok(echo != 0, "echo server thread in the root task");
    const uint64_t label = 0x6a7e;
    abi_cap_t gate = new_gate(echo, label);
    ok(gate && echo_ok(gate, label), "gate to it (label 0x6a7e) works");
    echo_gate = gate, echo_label = label;

    test_cap_copy(gate, label);
    test_transfer_and_revoke(gate, label);
    test_gate_lifetime(echo, gate, label);
    test_destroy_blocked();
    test_factory_quota();
    test_grant_charge();
    test_priorities();
    tap_done();
}
