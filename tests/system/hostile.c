/*
 * System test: a hostile task makes 100,000 random system calls with random
 * arguments while two other tasks keep exchanging IPC; afterwards the kernel
 * and both tasks are alive and say so.
 *
 * The hostile task is unprivileged: its thread has mcp 0. It gets its own
 * task and thread caps and console output (as child_task gives them) and,
 * so that random calls hit real objects: a factory with a 512 KiB quota (its
 * task and thread are made from it too, so everything it can make the
 * kernel allocate is charged there), gates to the ping-pong server, to a
 * "sink" task that accepts map, grant and cap items, and to its exception
 * handler in the root task, and an IRQ object for the PIT, which ticks at
 * 2 kHz meanwhile. It maps the program image without write access; only
 * its stack and its report page are writable, so it can touch nobody
 * else's memory.
 *
 * Its thread runs xorshift64 from a fixed seed: a random native call number
 * (and 10% out-of-range and Linux numbers, which become exception IPC: the
 * handler answers with rax = -ENOSYS), arguments biased toward interesting
 * values (0, slots 0..70, ~0, powers of two, page addresses in and outside
 * its space, fpages, tags), capability arguments often naming an object of
 * the right type (its initial caps and what it created), messages with
 * mostly well-formed items. Shaping, and why:
 *  - IPC timeouts are forced to zero: blocking forever is legal behaviour.
 *  - exregs never points ip or sp at readable program memory (only at a page
 *    of faulting instructions, non-executable, unmapped or invalid
 *    addresses), the console only gets a page of '~' lines or invalid
 *    addresses, and task_map leaves those pages alone: the hostile thread
 *    must not run or print this program's code, which could print TAP lines.
 *  - task_map and unmap counts are mostly small (a huge count is legal and
 *    preemptible but only burns the hostile task's own time).
 *  - Self-destruction is kept rare, not impossible: deleting its initial
 *    caps, exregs and thread_config on its own thread, unmapping its image.
 * Everything else is allowed. The root task supervises: when the counter of
 * completed calls stops moving (thread halted, blocked in a fault, stuck in
 * a long call) or the exception handler reports a real fault, it destroys
 * the hostile task and makes a new one, which goes on with the remaining
 * calls from another seed. (One thread with respawning rather than several
 * threads: any death, however caused, costs a few milliseconds, and task
 * destruction in whatever state the hostile task left itself is tested
 * along the way.)
 *
 * At the end the hostile factory and the sink's factory must have their
 * whole quota back, and the kernel's free pages may differ from the start
 * only by what object caches keep.
 */
#include "drops/ipc.h"
#include "drops/spawn.h"
#include "drops/string.h"
#include "drops/tap.h"

/* Overridable for longer hunts off-line: -DTARGET_CALLS=... -DHOSTILE_SEED=... */
#ifndef TARGET_CALLS
#define TARGET_CALLS 100000u
#endif
#ifndef HOSTILE_SEED
#define HOSTILE_SEED 0x9e3779b97f4a7c15ull
#endif
#define NEVER ABI_TIMEOUT_NEVER
#define MS 1000000ull
#define USER_TAG(words, items) ABI_TAG(ABI_PROTO_USER, words, items)
#define STACK_SIZE 16384

#define HOSTILE_QUOTA (512u << 10)
#define HOSTILE_SLOTS 64u
#define HOSTILE_PRIO 80u
#define PINGPONG_PRIO 105u
#define HANDLER_PRIO 110u
#define SUPERVISOR_PRIO 120u
#define STALL_MS 5u

/* Slots in the hostile task. */
#define H_FACTORY 3u
#define H_SINK_GATE 4u
#define H_MACHINE 5u
#define H_EXC_GATE 6u
#define H_SERVER_GATE 7u
#define H_IRQ 8u

/* Where the hostile task sees its extra pages (the page after each is unmapped). */
#define NOISE_VA 0x20000000ull
#define JUNK_VA 0x30000000ull
/* The sink task's receive window for memory: 4 GiB at 4 GiB, away from its image. */
#define SINK_WINDOW 0x100000000ull
#define SINK_WINDOW_ORDER 32u
#define SINK_QUOTA (256u << 10)
#define SINK_CAP_BASE 16u
#define SINK_SLOTS 64u
#define PIT_GSI 2u
#define HOSTILE_UTCB ABI_ROOT_UTCB_ADDR
#define USER_END 0x7ffffffff000ull

#define PING_LABEL 0x9199u
#define HOSTILE_LABEL 0xbadu
#define ROOT_LABEL 0x1007u
#define EXC_LABEL 0xe8cu
#define SINK_LABEL 0x5124u
#define ALIVE 0xa11feull

static const char *const sys_names[ABI_SYS_COUNT] = {
#define SYS_NAME(num, name, nargs) [num] = #name,
    ABI_SYSCALLS(SYS_NAME)
#undef SYS_NAME
};

/* --- what the hostile task may write: its report page and its stack --- */

struct hostile_report {
    volatile uint64_t done, goal, finished, seed;
    uint64_t hist[ABI_SYS_COUNT][ABI_E_COUNT + 1]; /* [call][error]; last column: not an error code */
    uint64_t nonnative, enosys, irq_msgs;
    uint64_t bad_sys, bad_value; /* the last native call that returned a value outside the enum */
};
static union {
    struct hostile_report r;
    uint8_t page[4096];
} report_page __attribute__((aligned(4096)));
_Static_assert(sizeof(struct hostile_report) <= 4096, "report fits its page");
#define report (report_page.r)

static uint8_t hostile_stack[STACK_SIZE] __attribute__((aligned(4096)));

/* Faulting instructions (ud2, int3, hlt, cli, in) where exregs may point
 * ip: entered at any byte, execution faults within a few bytes and never
 * writes memory. */
static const uint8_t junk_code[4096] __attribute__((section(".text.hostile_junk"), aligned(4096))) = {
#define J8 0x0f, 0x0b, 0xcc, 0xf4, 0xfa, 0xec, 0x0f, 0x0b
#define J64 J8, J8, J8, J8, J8, J8, J8, J8
#define J512 J64, J64, J64, J64, J64, J64, J64, J64
    J512, J512, J512, J512, J512, J512, J512, J512,
};

/* Console noise: lines of '~' for the console calls that may succeed. */
static char noise[4096] __attribute__((aligned(4096)));

/* --- the hostile thread (runs in the hostile task: writes only report and stack) --- */

static inline uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Addresses for arguments in general: mapped and unmapped, user and not. */
static uint64_t pick_addr(uint64_t *s)
{
    uint64_t r = xorshift(s), start = (uint64_t)__executable_start & ~0xfffull;
    uint64_t pages = (((uint64_t)_end + 0xfff) & ~0xfffull) - start;
    switch (r % 12) {
    case 0: return 0;
    case 1: return start + (xorshift(s) % (pages >> 12)) * 4096;
    case 2: return (uint64_t)hostile_stack + (xorshift(s) % (STACK_SIZE / 4096)) * 4096;
    case 3: return (uint64_t)&report_page;
    case 4: return NOISE_VA;
    case 5: return ABI_KIP_ADDR;
    case 6: return HOSTILE_UTCB;
    case 7: return USER_END - 4096 * (xorshift(s) % 2);
    case 8: return 1ull << 47;
    case 9: return 0xffff800000000000ull + (xorshift(s) & 0x7ffffffff000ull);
    case 10: return xorshift(s) & 0x7ffffffff000ull;
    default: return xorshift(s) & ~0xfffull;
    }
}

static uint64_t pick_arg(uint64_t *s)
{
    uint64_t r = xorshift(s);
    switch (r % 16) {
    case 0: return 0;
    case 1:
    case 2:
    case 3: return xorshift(s) % 71; /* capability slots, most of them in range */
    case 4: return xorshift(s) % 17; /* types, ops, flags */
    case 5: return ~0ull;
    case 6: return xorshift(s);
    case 7:
    case 8: return pick_addr(s);
    case 9: return 1ull << (xorshift(s) % 64);
    case 10: return ABI_FPAGE(pick_addr(s), 12 + xorshift(s) % 37, xorshift(s) % 8);
    case 11: return xorshift(s) % 4097;
    case 12: return ~0ull - xorshift(s) % 4;
    case 13: return xorshift(s) % 300; /* priorities */
    case 14: return ABI_TAG(xorshift(s) % 4 == 0 ? ABI_PROTO_USER : xorshift(s) % 4, xorshift(s) % 66,
                            xorshift(s) % 34);
    default: return xorshift(s) & 0xffffffffu;
    }
}

/* Capability selectors: mostly the slots that hold something (1..7, and
 * 8..23 where the task's own creations tend to land), sometimes anything. */
static uint64_t pick_slot(uint64_t *s)
{
    uint64_t r = xorshift(s) % 8;
    if (r < 4) return 1 + xorshift(s) % 7;
    if (r < 6) return 8 + xorshift(s) % 16;
    if (r < 7) return xorshift(s) % 71;
    return pick_arg(s);
}

/* ip for exregs: never readable program memory. */
static uint64_t pick_ip(uint64_t *s)
{
    switch (xorshift(s) % 6) {
    case 0: return JUNK_VA + xorshift(s) % 4096;
    case 1: return 0;
    case 2: return NOISE_VA + xorshift(s) % 4096; /* not executable */
    case 3: return (uint64_t)hostile_stack + xorshift(s) % STACK_SIZE; /* not executable */
    case 4: return USER_END - 1 - xorshift(s) % 2;
    default: return 0x40000000ull + (xorshift(s) & 0xffffff000ull); /* unmapped */
    }
}

/* sp for exregs: never readable memory, so nothing can be popped from it. */
static uint64_t pick_sp(uint64_t *s)
{
    switch (xorshift(s) % 4) {
    case 0: return 0;
    case 1: return USER_END - xorshift(s) % 2;
    case 2: return 0x50000000ull + (xorshift(s) & 0xffffff0ull);
    default: return xorshift(s);
    }
}

static uint64_t pick_count(uint64_t *s)
{
    uint64_t r = xorshift(s);
    if (r % 64 == 0) return pick_arg(s);
    return r % 64 < 48 ? xorshift(s) % 17 : xorshift(s) % 1025;
}

/* What the hostile thread knows it holds, by type: its initial caps and
 * what its own factory_create calls made. Its own thread (slot 2) is left
 * out on purpose: picked as often as the others, exregs and thread_config
 * on it would end each incarnation within a few dozen calls. It is still
 * hit through pick_slot. */
struct known {
    uint64_t slot[ABI_OBJ_TYPE_COUNT][8];
    unsigned n[ABI_OBJ_TYPE_COUNT];
};

static void learn(struct known *k, uint64_t type, uint64_t slot)
{
    if (type == ABI_OBJ_NONE || type >= ABI_OBJ_TYPE_COUNT) return;
    k->slot[type][k->n[type] < 8 ? k->n[type]++ : slot % 8] = slot;
}

static uint64_t pick_typed(uint64_t *s, const struct known *k, unsigned type)
{
    unsigned n = k->n[type];
    if (!n || xorshift(s) % 4 == 0) return pick_slot(s);
    return k->slot[type][xorshift(s) % n];
}

/* Message registers for an IPC with `words` words and `items` items: random
 * words, then mostly well-formed map, grant and capability items (a grant
 * gives the page away: rarer, since losing its own stack or code kills it). */
static void fill_message(uint64_t *s, const struct known *k, struct abi_utcb *u, unsigned words, unsigned items)
{
    for (unsigned i = 0; i < ABI_MR_COUNT; i++) u->mr[i] = pick_arg(s);
    for (unsigned i = 0; i < items && words + 2 * i + 1 < ABI_MR_COUNT; i++) {
        uint64_t *w = &u->mr[words + 2 * i], kind = xorshift(s) % 8;
        if (kind == 0) continue; /* leave the garbage */
        if (kind <= 3) {
            w[0] = ABI_ITEM_CAP | (xorshift(s) % 8) << 8;
            w[1] = pick_typed(s, k, 1 + xorshift(s) % (ABI_OBJ_TYPE_COUNT - 1));
        } else {
            unsigned order = xorshift(s) % 8 ? 12 + xorshift(s) % 8 : 12 + xorshift(s) % 36;
            uint64_t base = pick_addr(s) & ~((1ull << order) - 1);
            w[0] = (kind == 7 ? ABI_ITEM_GRANT : ABI_ITEM_MAP) | (xorshift(s) & 0xfffff000ull);
            w[1] = ABI_FPAGE(base, order, 1 + xorshift(s) % 7);
        }
    }
    if (xorshift(s) % 8 == 0)
        for (unsigned i = 0; i < ABI_BR_COUNT; i++) u->br[i] = pick_arg(s);
}

static int in_image(uint64_t a) { return a >= ((uint64_t)__executable_start & ~0xfffull) && a < (uint64_t)_end; }

/* Whether `pages` pages from `va` cover part of the image or of the noise
 * and junk pages: what the safety rules above rely on (or, for an unmap,
 * what the thread needs to live). */
static int hits_own(uint64_t va, uint64_t pages)
{
    uint64_t end = pages > (USER_END >> 12) || va > ~0ull - (pages << 12) ? ~0ull : va + (pages << 12);
    uint64_t start = (uint64_t)__executable_start & ~0xfffull;
    return (va < (uint64_t)_end && end > start) || (va < NOISE_VA + 4096 && end > NOISE_VA) ||
           (va < JUNK_VA + 4096 && end > JUNK_VA);
}

/* Arguments for call nr, shaped as described at the top of the file. */
static void shape_args(uint64_t *s, const struct known *k, uint64_t nr, uint64_t *a, struct abi_utcb *u)
{
    switch (nr) {
    case ABI_SYS_ipc: {
        static const uint8_t ops[] = {ABI_IPC_SEND, ABI_IPC_OP_CALL, ABI_IPC_SEND | ABI_IPC_RECV | ABI_IPC_OPEN,
                                      ABI_IPC_OP_WAIT, ABI_IPC_REPLY, ABI_IPC_OP_REPLY_WAIT, ABI_IPC_RECV};
        if (xorshift(s) % 4) a[0] = pick_typed(s, k, xorshift(s) % 2 ? ABI_OBJ_GATE : ABI_OBJ_THREAD);
        if (xorshift(s) % 4 == 0) a[0] = H_SINK_GATE;
        if (xorshift(s) % 2) a[1] = pick_typed(s, k, ABI_OBJ_THREAD);
        if (xorshift(s) % 4)
            a[2] = ABI_TAG(xorshift(s) % 4 ? ABI_PROTO_USER : xorshift(s) % 4, xorshift(s) % 9, xorshift(s) % 4);
        a[3] = a[4] = 0; /* send and receive timeouts: never block */
        if (xorshift(s) % 4) a[5] = xorshift(s) % 2 ? ops[xorshift(s) % sizeof ops] : xorshift(s) % 32;
        fill_message(s, k, u, ABI_TAG_WORDS(a[2]), ABI_TAG_ITEMS(a[2]));
        break;
    }
    case ABI_SYS_factory_create:
        if (xorshift(s) % 4) a[0] = pick_typed(s, k, ABI_OBJ_FACTORY);
        if (xorshift(s) % 4) a[1] = xorshift(s) % 8;
        if (xorshift(s) % 4) a[2] = 8 + xorshift(s) % 64;
        if (xorshift(s) % 2) {
            if (a[1] == ABI_OBJ_GATE) a[3] = pick_typed(s, k, ABI_OBJ_THREAD);
            else if (a[1] == ABI_OBJ_TASK) a[3] = 1 + xorshift(s) % 256;
            else a[3] = xorshift(s) % (96u << 10);
        }
        break;
    case ABI_SYS_cap_copy:
        if (xorshift(s) % 4) a[0] = pick_typed(s, k, ABI_OBJ_TASK);
        if (xorshift(s) % 4) a[1] = pick_typed(s, k, 1 + xorshift(s) % (ABI_OBJ_TYPE_COUNT - 1));
        if (xorshift(s) % 4) a[2] = 8 + xorshift(s) % 64;
        if (xorshift(s) % 2) a[3] = xorshift(s) % 8;
        break;
    case ABI_SYS_cap_delete:
    case ABI_SYS_cap_revoke:
        /* Mostly its own creations: a task that deletes its initial caps
         * at once spends the rest of its life on INVALID_CAP. */
        a[0] = xorshift(s) % 16 ? 8 + xorshift(s) % 64 : pick_slot(s);
        break;
    case ABI_SYS_cap_info:
        if (xorshift(s) % 4) a[0] = pick_slot(s);
        break;
    case ABI_SYS_task_map:
        if (xorshift(s) % 4) a[0] = pick_typed(s, k, ABI_OBJ_TASK);
        if (xorshift(s) % 2) a[1] = pick_addr(s);
        if (xorshift(s) % 2) a[2] = pick_addr(s);
        a[3] = pick_count(s);
        if (xorshift(s) % 2) a[4] = xorshift(s) % 8;
        /* Never over its image, noise or junk page (each has a job above). */
        if (hits_own(a[2], a[3])) a[2] = 0x60000000ull + (xorshift(s) % 4096) * 4096;
        if (hits_own(a[2], a[3])) a[3] = 1;
        break;
    case ABI_SYS_unmap:
        if (xorshift(s) % 2) a[0] = pick_addr(s);
        a[1] = pick_count(s);
        if (xorshift(s) % 4) a[2] = (xorshift(s) % 8) | (xorshift(s) % 2 ? ABI_UNMAP_SELF : 0);
        /* Unmapping its own image or stack kills it; let that be rare. */
        if (hits_own(a[0], a[1]) && xorshift(s) % 16) a[2] &= ~(uint64_t)ABI_UNMAP_SELF;
        break;
    case ABI_SYS_thread_bind:
        if (xorshift(s) % 4) a[0] = pick_typed(s, k, ABI_OBJ_THREAD);
        if (xorshift(s) % 4) a[1] = pick_typed(s, k, ABI_OBJ_TASK);
        if (xorshift(s) % 2) a[2] = xorshift(s) % 2 ? pick_addr(s) : 0x70000000ull + (xorshift(s) % 64) * 4096;
        break;
    case ABI_SYS_thread_config:
        if (xorshift(s) % 4) a[0] = pick_typed(s, k, ABI_OBJ_THREAD);
        if (xorshift(s) % 2) a[1] = pick_slot(s);
        if (xorshift(s) % 2) a[2] = pick_slot(s);
        break;
    case ABI_SYS_thread_exregs:
        if (xorshift(s) % 4) a[0] = pick_typed(s, k, ABI_OBJ_THREAD);
        if (xorshift(s) % 2) a[3] = xorshift(s) % 16;
        if (xorshift(s) % 8) a[1] = pick_ip(s);
        if (xorshift(s) % 8) a[2] = pick_sp(s);
        /* Never into program code, never a stack in readable memory. */
        if (in_image(a[1])) a[1] = JUNK_VA;
        if (a[2] <= USER_END && a[2] >= 0x1000 && a[2] < 0x50000000ull) a[2] = 0;
        break;
    case ABI_SYS_thread_sched:
        if (xorshift(s) % 4) a[0] = pick_typed(s, k, ABI_OBJ_THREAD);
        if (xorshift(s) % 2) a[1] = xorshift(s) % 4 ? 0 : xorshift(s) % 257;
        if (xorshift(s) % 2) a[2] = xorshift(s) % 4 ? 0 : xorshift(s) % 257;
        break;
    case ABI_SYS_irq_control:
        if (xorshift(s) % 4) a[0] = pick_typed(s, k, ABI_OBJ_IRQ);
        if (xorshift(s) % 4) a[1] = xorshift(s) % 6;
        if (a[1] == ABI_IRQ_BIND && xorshift(s) % 4) a[2] = pick_typed(s, k, ABI_OBJ_THREAD);
        break;
    case ABI_SYS_machine:
        if (xorshift(s) % 2) a[0] = xorshift(s) % 4 ? H_MACHINE : pick_slot(s);
        if (a[1] == ABI_MACHINE_PUTS || xorshift(s) % 2 == 0) {
            a[1] = ABI_MACHINE_PUTS;
            uint64_t off = xorshift(s) % 4096, room = 4096 - off;
            switch (xorshift(s) % 4) {
            case 0: a[2] = NOISE_VA + off, a[3] = xorshift(s) % (room < 80 ? room + 1 : 80); break;
            case 1: a[2] = NOISE_VA + 4096 - xorshift(s) % 16, a[3] = xorshift(s) % 8192; break;
            case 2: a[2] = pick_sp(s), a[3] = xorshift(s) % 8192; break;
            default: a[2] = NOISE_VA + off, a[3] = room + 1 + xorshift(s) % 8192; break;
            }
            /* Never program memory: what it would print is not noise. */
            if (in_image(a[2])) a[2] = 0;
        }
        break;
    default:
        break;
    }
}

static void hostile_main(uint64_t seed)
{
    struct hostile_report *rep = &report;
    struct abi_utcb *u = utcb();
    struct known k = {0};
    uint64_t s = seed;
    learn(&k, ABI_OBJ_TASK, ABI_CAP_SELF_TASK);
    learn(&k, ABI_OBJ_FACTORY, H_FACTORY);
    learn(&k, ABI_OBJ_MACHINE, H_MACHINE);
    learn(&k, ABI_OBJ_GATE, H_EXC_GATE);
    learn(&k, ABI_OBJ_GATE, H_SERVER_GATE);
    learn(&k, ABI_OBJ_GATE, H_SINK_GATE);
    learn(&k, ABI_OBJ_IRQ, H_IRQ);
    for (uint64_t i = rep->done; i < rep->goal; i++) {
        uint64_t nr, a[6], kind = xorshift(&s) % 20;
        for (int j = 0; j < 6; j++) a[j] = pick_arg(&s);
        if (kind < 18) {
            nr = xorshift(&s) % ABI_SYS_COUNT;
        } else if (kind == 18) {
            uint64_t r = xorshift(&s); /* beyond the table, or below the base */
            nr = r % 2 ? ABI_SYS_COUNT + r % 64 : (r % 4 == 0 ? ~0ull - ABI_SYSCALL_BASE : -1ull - r % 16);
        } else {
            nr = (xorshift(&s) % 450) - ABI_SYSCALL_BASE; /* a Linux number */
        }
        shape_args(&s, &k, nr, a, u);
        struct sys_ret ret = sys_raw(ABI_SYSCALL_BASE + nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        if (nr < ABI_SYS_COUNT) {
            uint64_t e = (uint64_t)ret.err;
            if (e >= ABI_E_COUNT) {
                rep->bad_sys = nr;
                rep->bad_value = e;
                e = ABI_E_COUNT;
            }
            rep->hist[nr][e]++;
            if (nr == ABI_SYS_factory_create && e == ABI_E_OK) learn(&k, a[1], a[2]);
            if (nr == ABI_SYS_ipc && e == ABI_E_OK && ABI_TAG_PROTO(ret.v0) == ABI_PROTO_IRQ) rep->irq_msgs++;
        } else {
            rep->nonnative++;
            if (ret.err == -38) rep->enosys++;
        }
        rep->done = i + 1;
    }
    rep->finished = 1;
}

/* --- the ping-pong pair (trusted children sharing the whole image) --- */

static struct {
    volatile int stop, client_stopped;
    volatile uint64_t client_rounds, client_errors, server_pings, server_other, server_rcv_errors;
} pp;

static void pp_server(uint64_t arg)
{
    struct abi_utcb *u = utcb();
    struct sys_ret r = ipc_wait(NEVER);
    for (;;) {
        if (r.err) {
            pp.server_rcv_errors++;
            r = ipc_wait(NEVER);
        } else if (r.v1 == PING_LABEL && r.v0 == USER_TAG(1, 0)) {
            u->mr[0] += 1;
            pp.server_pings++;
            r = ipc_reply_wait(USER_TAG(1, 0), NEVER);
        } else if (r.v1 == ROOT_LABEL) {
            u->mr[0] = ALIVE;
            u->mr[1] = pp.server_pings;
            u->mr[2] = pp.server_other;
            r = ipc_reply_wait(USER_TAG(3, 0), NEVER);
        } else {
            /* The hostile task's messages (and its faults, if it made this
             * its pager or handler) get no answer: it never waits for one,
             * and an answer to a fault would only repeat the fault. */
            pp.server_other++;
            r = ipc_wait(NEVER);
        }
    }
}

/* The ping gate is in slot 8 of the client's task. */
static void pp_client(uint64_t arg)
{
    struct abi_utcb *u = utcb();
    for (uint64_t i = 0; !pp.stop; i++) {
        u->mr[0] = i;
        struct sys_ret r = ipc_call(8, USER_TAG(1, 0), NEVER);
        if (r.err || u->mr[0] != i + 1) pp.client_errors++;
        else pp.client_rounds++;
        if (i % 8 == 7) sleep_ns(MS / 5); /* leave the CPU to the lower-priority hostile task */
    }
    pp.client_stopped = 1;
    ipc_wait(NEVER);
    for (;;) {
        u->mr[0] = ALIVE;
        u->mr[1] = pp.client_rounds;
        u->mr[2] = pp.client_errors;
        ipc_reply_wait(USER_TAG(3, 0), NEVER);
    }
}

/* --- the hostile task's exception handler (root task) --- */

static struct {
    volatile uint64_t syscalls, faults, other;
    volatile uint64_t vectors[32];
} exc;

static void exc_handler(uint64_t arg)
{
    struct abi_utcb *u = utcb();
    struct abi_exc_state *st = (struct abi_exc_state *)u->mr;
    struct sys_ret r = ipc_wait(NEVER);
    for (;;) {
        if (!r.err && r.v1 == EXC_LABEL && r.v0 == ABI_TAG(ABI_PROTO_EXCEPTION, ABI_EXC_WORDS, 0)) {
            if (st->vector == ABI_EXC_SYSCALL) {
                st->rax = (uint64_t)-38; /* ENOSYS */
                exc.syscalls++;
                r = ipc_reply_wait(ABI_TAG(ABI_PROTO_EXCEPTION, ABI_EXC_WORDS, 0), NEVER);
                continue;
            }
            /* A real fault (or a forged one): no answer, the supervisor replaces the task. */
            exc.vectors[st->vector < 32 ? st->vector : 31]++;
            exc.faults++;
        } else {
            exc.other++;
        }
        r = ipc_wait(NEVER);
    }
}

/* --- the sink: a task that accepts whatever the hostile task sends --- */

static struct {
    volatile uint64_t msgs, items, cleanups, errors[ABI_E_COUNT];
} sinkstat;

/* Receives with a 4 GiB memory window and a capability window, so map,
 * grant and cap items of the hostile task's messages really land; every 64
 * messages it throws away what it got. It never answers (nobody waits). */
static void sink(uint64_t arg)
{
    struct abi_utcb *u = utcb();
    for (;;) {
        u->br[ABI_BR_MEM_WINDOW] = ABI_FPAGE(SINK_WINDOW, SINK_WINDOW_ORDER, 0);
        u->br[ABI_BR_CAP_BASE] = SINK_CAP_BASE;
        u->br[ABI_BR_CAP_COUNT] = SINK_SLOTS - SINK_CAP_BASE;
        struct sys_ret r = ipc_wait(NEVER);
        sinkstat.msgs++;
        sinkstat.items += ABI_TAG_ITEMS(r.v0);
        if ((uint64_t)r.err < ABI_E_COUNT) sinkstat.errors[r.err]++;
        if (sinkstat.msgs % 64 == 0) {
            sys_unmap(SINK_WINDOW, 1ull << (SINK_WINDOW_ORDER - 12), ABI_MAP_RWX | ABI_UNMAP_SELF);
            for (abi_cap_t c = SINK_CAP_BASE; c < SINK_SLOTS; c++) sys_cap_delete(c);
            sinkstat.cleanups++;
        }
    }
}

/* A task like child_task makes, but charged to factory `fac`. */
static int64_t task_from(abi_cap_t fac, struct child *c, unsigned slots)
{
    c->task = cap_alloc();
    c->thread = 0;
    c->utcb = ABI_ROOT_UTCB_ADDR;
    struct sys_ret r = sys_factory_create(fac, ABI_OBJ_TASK, c->task, slots, 0);
    if (r.err) return r.err;
    uint64_t start = (uint64_t)__executable_start & ~0xfffull, end = ((uint64_t)_end + 0xfff) & ~0xfffull;
    if ((r = sys_task_map(c->task, start, start, (end - start) >> 12, ABI_MAP_RWX)).err) return r.err;
    if ((r = sys_cap_copy(c->task, c->task, ABI_CAP_SELF_TASK, ABI_R_ALL)).err) return r.err;
    return sys_cap_copy(c->task, ABI_CAP_MACHINE, ABI_CAP_MACHINE, ABI_R_SEND).err;
}

/* The PIT as a source of real interrupts on the IRQ object the hostile task gets. */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }

static void pit_rate(unsigned hz)
{
    if (!hz) {
        outb(0x43, 0x30); /* mode 0 without a count: the output stays low */
        return;
    }
    unsigned div = 1193182 / hz;
    outb(0x43, 0x34); /* channel 0, lo/hi byte, rate generator */
    outb(0x40, div & 0xff);
    outb(0x40, div >> 8);
}

/* --- root: setup, supervision, checks --- */

static uint8_t stacks[4][STACK_SIZE] __attribute__((aligned(16)));

static abi_cap_t sub_factory, exc_gate, hostile_gate, sink_gate, hostile_irq;
/* Fixed slots, reused by every incarnation (cap_alloc never frees). */
static abi_cap_t hostile_task_slot, hostile_thread_slot, capacity_slots[160];
static struct {
    abi_cap_t task, thread;
} hostile;
static struct {
    uint64_t calls, nonnative, enosys, irq_msgs, bad, incarnations, finished, faulted, stalled, spawn_retries;
    uint64_t hist[ABI_SYS_COUNT][ABI_E_COUNT + 1];
} total;

static uint64_t stat(enum abi_stat which) { return sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_STATS, which, 0).v0; }

static int64_t try_spawn(uint64_t goal, uint64_t seed)
{
    struct sys_ret r;
    abi_cap_t task = hostile_task_slot, th = hostile_thread_slot;
    hostile.task = hostile.thread = 0;
    memset(&report_page, 0, sizeof report_page);
    if ((r = sys_factory_create(sub_factory, ABI_OBJ_TASK, task, HOSTILE_SLOTS, 0)).err) return r.err;
    hostile.task = task;
    if ((r = sys_factory_create(sub_factory, ABI_OBJ_THREAD, th, 0, 0)).err) return r.err;
    hostile.thread = th;
    uint64_t start = (uint64_t)__executable_start & ~0xfffull;
    uint64_t end = ((uint64_t)_end + 0xfff) & ~0xfffull;
    /* The image read-only (and executable where it is code); data pages the
     * root maps RW stay R because the rights are the intersection. */
    if ((r = sys_task_map(task, start, start, (end - start) >> 12, ABI_MAP_R | ABI_MAP_X)).err) return r.err;
    if ((r = sys_task_map(task, (uint64_t)&report_page, (uint64_t)&report_page, 1, ABI_MAP_R | ABI_MAP_W)).err)
        return r.err;
    if ((r = sys_task_map(task, (uint64_t)hostile_stack, (uint64_t)hostile_stack, STACK_SIZE / 4096,
                          ABI_MAP_R | ABI_MAP_W)).err)
        return r.err;
    if ((r = sys_task_map(task, (uint64_t)noise, NOISE_VA, 1, ABI_MAP_R)).err) return r.err;
    if ((r = sys_task_map(task, (uint64_t)junk_code, JUNK_VA, 1, ABI_MAP_R | ABI_MAP_X)).err) return r.err;
    if ((r = sys_thread_bind(th, task, HOSTILE_UTCB)).err) return r.err;
    if ((r = sys_cap_copy(task, task, ABI_CAP_SELF_TASK, ABI_R_ALL)).err ||
        (r = sys_cap_copy(task, th, ABI_CAP_SELF_THREAD, ABI_R_ALL)).err ||
        (r = sys_cap_copy(task, sub_factory, H_FACTORY, ABI_R_ALL)).err ||
        (r = sys_cap_copy(task, ABI_CAP_MACHINE, H_MACHINE, ABI_R_SEND)).err ||
        (r = sys_cap_copy(task, exc_gate, H_EXC_GATE, ABI_R_SEND)).err ||
        (r = sys_cap_copy(task, hostile_gate, H_SERVER_GATE, ABI_R_SEND | ABI_R_COPY)).err ||
        (r = sys_cap_copy(task, sink_gate, H_SINK_GATE, ABI_R_SEND | ABI_R_COPY)).err ||
        (r = sys_cap_copy(task, hostile_irq, H_IRQ, ABI_R_ALL)).err)
        return r.err;
    if ((r = sys_thread_config(th, 0, H_EXC_GATE)).err) return r.err;
    if ((r = sys_thread_sched(th, HOSTILE_PRIO, 0)).err) return r.err;
    report.goal = goal;
    report.seed = seed;
    uint64_t *sp = (uint64_t *)(hostile_stack + STACK_SIZE);
    extern char thread_entry[];
    *--sp = seed;
    *--sp = (uint64_t)hostile_main;
    r = sys_thread_exregs(th, (uint64_t)thread_entry, (uint64_t)sp,
                          ABI_EXREGS_SET_IP | ABI_EXREGS_SET_SP | ABI_EXREGS_START);
    return r.err;
}

/* Destroy the hostile task and thread, keep what they reported. */
static void kill_hostile(void)
{
    if (hostile.task) sys_cap_delete(hostile.task);
    if (hostile.thread) sys_cap_delete(hostile.thread);
    hostile.task = hostile.thread = 0;
    uint64_t done = report.done <= report.goal ? report.done : report.goal;
    total.calls += done;
    total.nonnative += report.nonnative;
    total.enosys += report.enosys;
    total.irq_msgs += report.irq_msgs;
    uint64_t bad = 0;
    for (unsigned c = 0; c < ABI_SYS_COUNT; c++) {
        for (unsigned e = 0; e <= ABI_E_COUNT; e++) total.hist[c][e] += report.hist[c][e];
        bad += report.hist[c][ABI_E_COUNT];
    }
    if (bad) {
        total.bad += bad;
        printf("# native call %s returned %lu, not an error code\n",
               report.bad_sys < ABI_SYS_COUNT ? sys_names[report.bad_sys] : "?", report.bad_value);
    }
}

static void spawn(uint64_t goal, uint64_t seed)
{
    /* What the last incarnation left may still be with the reaper (its
     * memory counts against the quota): retry for a while. */
    for (int tries = 0; tries < 200; tries++) {
        int64_t err = try_spawn(goal, seed);
        if (!err) return;
        if (tries == 0 || tries == 199) printf("# spawn failed: %s (retrying)\n", sys_error_name(err));
        kill_hostile();
        total.spawn_retries++;
        sleep_ns(MS);
    }
}

/* What is free in a factory, to 64 bytes (a gate, the size class of a
 * mapping node): threads until NO_MEMORY, then gates for the rest. */
struct capacity {
    unsigned threads, gates;
};

static struct capacity factory_capacity(abi_cap_t fac)
{
    struct capacity c;
    unsigned n = 0;
    while (n < 160 && !sys_factory_create(fac, ABI_OBJ_THREAD, capacity_slots[n], 0, 0).err) n++;
    c.threads = n;
    while (n < 160 && !sys_factory_create(fac, ABI_OBJ_GATE, capacity_slots[n], ABI_CAP_SELF_THREAD, 0).err) n++;
    c.gates = n - c.threads;
    for (unsigned i = 0; i < n; i++) sys_cap_delete(capacity_slots[i]);
    return c;
}

static void print_histogram(void)
{
    uint64_t by_err[ABI_E_COUNT + 1] = {0};
    for (unsigned c = 0; c < ABI_SYS_COUNT; c++) {
        char line[400];
        uint64_t calls = 0;
        int n = 0;
        for (unsigned e = 0; e <= ABI_E_COUNT; e++) calls += total.hist[c][e];
        n += snprintf(line + n, sizeof line - n, "# %-15s %6lu:", sys_names[c], calls);
        for (unsigned e = 0; e <= ABI_E_COUNT; e++) {
            by_err[e] += total.hist[c][e];
            if (total.hist[c][e] && n < (int)sizeof line)
                n += snprintf(line + n, sizeof line - n, " %s %lu", e < ABI_E_COUNT ? sys_error_name(e) : "BAD",
                              total.hist[c][e]);
        }
        printf("%s\n", line);
    }
    printf("# all native calls by result:\n");
    for (unsigned e = 0; e <= ABI_E_COUNT; e++)
        printf("#   %-16s %lu\n", e < ABI_E_COUNT ? sys_error_name(e) : "not an error code", by_err[e]);
    printf("#   non-native (exception IPC) %lu, answered ENOSYS %lu\n", total.nonnative, total.enosys);
}

int main(void)
{
    for (unsigned i = 0; i < sizeof noise; i++) noise[i] = i % 64 == 63 ? '\n' : '~';
    hostile_task_slot = cap_alloc();
    hostile_thread_slot = cap_alloc();
    for (unsigned i = 0; i < 160; i++) capacity_slots[i] = cap_alloc();
    struct sys_ret r;
    is(sys_thread_sched(ABI_CAP_SELF_THREAD, SUPERVISOR_PRIO, ABI_PRIO_MAX).err, 0,
       "root runs as supervisor at priority %u", SUPERVISOR_PRIO);

    /* The ping-pong pair. */
    struct child a, b;
    is(child_task(&a, 16), 0, "ping-pong server task");
    is(child_thread(&a, pp_server, 0, (uint64_t)(stacks[0] + STACK_SIZE), PINGPONG_PRIO), 0, "its server thread");
    is(child_task(&b, 16), 0, "ping-pong client task");
    abi_cap_t ping_gate = cap_alloc(), root_gate = cap_alloc();
    hostile_gate = cap_alloc();
    sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, ping_gate, a.thread, PING_LABEL);
    sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, root_gate, a.thread, ROOT_LABEL);
    r = sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, hostile_gate, a.thread, HOSTILE_LABEL);
    ok(r.err == 0 && sys_cap_copy(b.task, ping_gate, 8, ABI_R_SEND).err == 0,
       "gates to the server: ping (for the client), root, hostile");

    /* The hostile task's exception handler and its factory. */
    struct child self = {.task = ABI_CAP_SELF_TASK};
    is(child_thread(&self, exc_handler, 0, (uint64_t)(stacks[2] + STACK_SIZE), HANDLER_PRIO), 0,
       "exception handler thread for the hostile task");
    exc_gate = cap_alloc();
    is(sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, exc_gate, self.thread, EXC_LABEL).err, 0, "... and its gate");
    sub_factory = cap_alloc();
    is(sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_FACTORY, sub_factory, HOSTILE_QUOTA, 0).err, 0,
       "a %u KiB factory for everything of the hostile task", HOSTILE_QUOTA >> 10);
    struct capacity capacity = factory_capacity(sub_factory);
    ok(capacity.threads > 8 && capacity.threads + capacity.gates < 160, "it holds %u threads and then %u gates",
       capacity.threads, capacity.gates);

    /* The sink, with its own factory: what the hostile task maps into it is
     * charged there, not to the root's whole pool. */
    abi_cap_t sink_factory = cap_alloc();
    struct child sk;
    r = sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_FACTORY, sink_factory, SINK_QUOTA, 0);
    struct capacity sink_capacity_before = factory_capacity(sink_factory);
    ok(r.err == 0 && task_from(sink_factory, &sk, SINK_SLOTS) == 0 &&
           child_thread(&sk, sink, 0, (uint64_t)(stacks[3] + STACK_SIZE), PINGPONG_PRIO) == 0,
       "a sink task (own %u KiB factory) that accepts map, grant and cap items", SINK_QUOTA >> 10);
    sink_gate = cap_alloc();
    is(sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, sink_gate, sk.thread, SINK_LABEL).err, 0, "... and its gate");

    /* A live interrupt line for the hostile task to bind, unmask and unbind. */
    hostile_irq = cap_alloc();
    is(sys_irq_control(ABI_CAP_IRQ_CONTROL, ABI_IRQ_CREATE, PIT_GSI, hostile_irq).err, 0,
       "an IRQ object for the PIT (GSI %u) for the hostile task", PIT_GSI);
    is(sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_IOPORTS, ABI_CAP_SELF_TASK, 0x40 | (4u << 16)).err, 0,
       "root takes the PIT ports");
    pit_rate(2000);
    sleep_ns(MS);
    uint64_t free_before = stat(ABI_STAT_FREE_KERNEL_PAGES);

    is(child_thread(&b, pp_client, 0, (uint64_t)(stacks[1] + STACK_SIZE), PINGPONG_PRIO), 0,
       "ping-pong client starts");
    sleep_ns(2 * MS);
    uint64_t rounds_before = pp.client_rounds;
    ok(rounds_before > 0, "ping-pong is running (%lu round trips)", rounds_before);

    /* Supervise the hostile task until it has made all its calls. */
    uint64_t t0 = now_ns();
    while (total.calls < TARGET_CALLS && total.incarnations < 20000) {
        uint64_t goal = TARGET_CALLS - total.calls, seed = HOSTILE_SEED * (total.incarnations + 1);
        uint64_t faults = exc.faults, last = 0;
        unsigned still = 0;
        spawn(goal, seed);
        total.incarnations++;
        for (;;) {
            sleep_ns(MS);
            uint64_t d = report.done;
            if (report.finished && d == goal) {
                total.finished++;
                break;
            }
            if (exc.faults != faults) {
                total.faulted++;
                break;
            }
            if (d != last) {
                last = d, still = 0;
            } else if (++still >= STALL_MS) {
                total.stalled++;
                break;
            }
        }
        kill_hostile();
    }
    uint64_t elapsed = now_ns() - t0;
    pit_rate(0);
    uint64_t rounds_during = pp.client_rounds - rounds_before;
    pp.stop = 1;

    printf("\n"); /* end any line of console noise */
    printf("# %lu calls in %lu ms of virtual time, %lu incarnations: %lu finished, %lu faulted, %lu stalled\n",
           total.calls, (uint64_t)(elapsed / MS), total.incarnations, total.finished, total.faulted, total.stalled);
    printf("# exception handler: %lu ENOSYS answers, %lu faults, %lu other messages\n", exc.syscalls, exc.faults,
           exc.other);
    printf("# ping-pong server: %lu messages from elsewhere, %lu failed receives\n", pp.server_other,
           pp.server_rcv_errors);
    printf("# sink: %lu messages, %lu items delivered, %lu cleanups; errors:", sinkstat.msgs, sinkstat.items,
           sinkstat.cleanups);
    for (unsigned e = 0; e < ABI_E_COUNT; e++)
        if (sinkstat.errors[e]) printf(" %s %lu", sys_error_name(e), sinkstat.errors[e]);
    printf("\n# interrupts received by the hostile thread: %lu\n", total.irq_msgs);
    printf("# fault vectors:");
    for (unsigned v = 0; v < 32; v++)
        if (exc.vectors[v]) printf(" %u:%lu", v, exc.vectors[v]);
    printf("\n");
    print_histogram();

    ok(total.calls >= TARGET_CALLS, "the hostile task made %lu random system calls (>= %u)", total.calls,
       TARGET_CALLS);
    is(total.bad, 0, "every native call returned a valid error code");
    ok(total.nonnative > 0 && total.enosys * 10 >= total.nonnative * 9,
       "non-native calls (%lu) came back through the exception handler with ENOSYS (%lu)", total.nonnative,
       total.enosys);
    ok(total.finished == 1, "the last incarnation finished its share of calls");
    ok(rounds_during > 100, "ping-pong went on meanwhile: %lu round trips", rounds_during);

    /* Both IPC tasks are alive and say so. */
    for (int i = 0; i < 100 && !pp.client_stopped; i++) sleep_ns(MS);
    ok(pp.client_stopped, "the ping-pong client stopped when told");
    struct abi_utcb *u = utcb();
    r = ipc_call(root_gate, USER_TAG(0, 0), 10 * MS);
    uint64_t server_pings = u->mr[1];
    ok(r.err == 0 && u->mr[0] == ALIVE, "the ping-pong server answers: alive (%lu pings, %lu other messages)",
       server_pings, u->mr[2]);
    r = ipc_call(b.thread, USER_TAG(0, 0), 10 * MS);
    ok(r.err == 0 && u->mr[0] == ALIVE && u->mr[2] == 0,
       "the ping-pong client answers: alive (%lu round trips, %lu errors)", u->mr[1], u->mr[2]);
    is(server_pings, pp.client_rounds, "every ping the server answered arrived at the client");

    /* The kernel: its memory, and the hostile task's quota, are all back. */
    ok(sinkstat.items > 0, "the sink took %lu messages with %lu items from the hostile task", sinkstat.msgs,
       sinkstat.items);
    is(sys_cap_delete(sk.task).err, 0, "delete the sink task with all it received");
    sleep_ns(20 * MS); /* the reaper runs when nobody else does */
    struct capacity c = factory_capacity(sub_factory);
    ok(c.threads == capacity.threads && c.gates == capacity.gates,
       "the hostile factory's whole quota is back: %u threads and %u gates fit (%u, %u at the start)", c.threads,
       c.gates, capacity.threads, capacity.gates);
    c = factory_capacity(sink_factory);
    ok(c.threads == sink_capacity_before.threads && c.gates == sink_capacity_before.gates,
       "so is the sink's: %u threads and %u gates (%u, %u at the start)", c.threads, c.gates,
       sink_capacity_before.threads, sink_capacity_before.gates);
    sleep_ns(5 * MS);
    uint64_t free_after = stat(ABI_STAT_FREE_KERNEL_PAGES);
    printf("# free kernel pages: %lu before, %lu after\n", free_before, free_after);
    /* Object caches keep their pages; they can have grown by at most what
     * the hostile task and the sink could hold at once (their quotas). */
    ok(free_after + (HOSTILE_QUOTA + SINK_QUOTA) / 4096 >= free_before,
       "kernel free pages are sane: %lu before, %lu after (caches may keep at most the quota)", free_before,
       free_after);
    printf("# kernel: %lu context switches, longest interrupts-off section %lu us\n",
           stat(ABI_STAT_CONTEXT_SWITCHES), stat(ABI_STAT_IRQOFF_MAX_NS) / 1000);
    ok(sys_cap_info(ABI_CAP_SELF_TASK).err == 0, "the kernel is alive and answers");
    tap_done();
}
