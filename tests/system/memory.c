/*
 * System test: hierarchical memory.
 *
 * The root task takes pages from its physical window and maps them on
 * (task_map and IPC map/grant items) through chains of child tasks; unmap
 * revokes through the mapping database: whole subtrees, single rights, the
 * caller's own mapping with ABI_UNMAP_SELF, across a grant, and 64 MiB at once
 * (preemptible, interrupts-off time measured). Bad arguments are refused, and
 * destroying tasks gives all their kernel memory back.
 *
 * Every child runs a worker thread that executes commands from the root
 * (read, write, task_map, unmap, set the receive window, send or accept a
 * map item). Reads and writes go through probe_load/probe_store: when they
 * fault, the worker's exception handler (a thread of the root task; children
 * have no pager, so an unresolved page fault becomes an exception IPC)
 * records the address and resumes the worker at probe_fault, which reports
 * the fault. So "a page is gone" is observed as a fault at exactly that
 * address, in exactly that task.
 */
#include "drops/ipc.h"
#include "drops/spawn.h"
#include "drops/tap.h"

/* --- probes with fault recovery ----------------------------------------- */

struct probe {
    uint64_t val, fault; /* returned in rax, rdx */
};
struct probe probe_load(uint64_t addr);
struct probe probe_store(uint64_t addr, uint64_t val);
extern char probe_fault[];

/* The access is the first instruction and nothing is pushed before it, so
 * the exception handler can resume at probe_fault, which returns to the
 * caller with fault = 1. */
__asm__(".text\n"
        ".globl probe_load\n"
        "probe_load:\n"
        "    mov (%rdi), %rax\n"
        "    xor %edx, %edx\n"
        "    ret\n"
        ".globl probe_store\n"
        "probe_store:\n"
        "    mov %rsi, (%rdi)\n"
        "    xor %eax, %eax\n"
        "    xor %edx, %edx\n"
        "    ret\n"
        ".globl probe_fault\n"
        "probe_fault:\n"
        "    xor %eax, %eax\n"
        "    mov $1, %edx\n"
        "    ret\n");

/* --- layout ------------------------------------------------------------- */

/* Workers: 0 is a thread of the root task itself, 1..3 the chain A, B, C,
 * 4 the child of the 64 MiB test. */
enum { W0, WA, WB, WC, WD, NW };
static const char *const wname[NW] = {"root", "A", "B", "C", "D"};

/* Slots in the children's capability tables. */
#define SLOT_EXC 8        /* gate to the exception handler */
#define SLOT_NEXT_TASK 10 /* next task in the chain, CTRL */
#define SLOT_NEXT_GATE 11 /* next worker's gate, SEND */
#define SLOT_NEXT_WEAK 12 /* next task without CTRL */

/* Virtual addresses in the children (the image is at 0x400000). */
#define VA_A 0x40000000ul
#define VA_B 0x41000000ul
#define VA_C 0x42000000ul
#define WIN 0x50000000ul  /* 1 MiB receive window */
#define WIN2 0x52000000ul /* 8 KiB receive window */
#define BIG_VA 0x100000000ul
#define MEM_VA 0x60000000ul
#define MEM_VA2 0x68000000ul
/* In the root task: an alias of a window page, so that "root keeps its
 * mapping" is observable (a window page would silently come back). */
#define ROOT_ALIAS 0x30000000ul
#define ROOT_HOLE 0x38000000ul /* never mapped */

/* Physical layout inside the chosen free region (offsets from pbase). */
#define OFF_CHAIN 0x0ul
#define OFF_GRANT 0x1000ul
#define OFF_SIXTEEN 0x10000ul /* 16 pages, 64 KiB aligned */
#define OFF_MEM 0x100000ul    /* 1024 pages for the kernel-memory test */
#define MEM_PAGES 1024u
#define OFF_BIG 0x800000ul /* 64 MiB */
#define BIG_PAGES 16384u
#define BIG_STRIDE 64u /* sample every 64th page */
#define REGION_NEED (OFF_BIG + BIG_PAGES * 4096ul)

#define CALL_TIMEOUT 2000000000ul /* virtual ns: a worker that hangs fails the test, not the run */
#define IRQOFF_BOUND_NS 200000ul

static uint8_t stacks[10][16384] __attribute__((aligned(16)));

static struct child kids[NW];
static abi_cap_t wthread[NW], wgate[NW], excgate[NW], handler_thread;
static uint64_t pbase; /* start of the physical pages this test uses */

/* --- exception handler -------------------------------------------------- */

static volatile struct {
    uint64_t count, addr, error, vector;
} fault_log[NW];
static volatile uint64_t unexpected;

static void exc_handler(uint64_t arg)
{
    struct sys_ret r = ipc_wait(ABI_TIMEOUT_NEVER);
    for (;;) {
        struct abi_utcb *u = utcb();
        struct abi_exc_state *s = (struct abi_exc_state *)u->mr;
        uint64_t id = r.v1;
        if (r.err == 0 && ABI_TAG_PROTO(r.v0) == ABI_PROTO_EXCEPTION && id < NW &&
            (s->rip == (uint64_t)probe_load || s->rip == (uint64_t)probe_store)) {
            fault_log[id].addr = s->fault_addr;
            fault_log[id].error = s->error_code;
            fault_log[id].vector = s->vector;
            fault_log[id].count++;
            s->rip = (uint64_t)probe_fault;
            r = ipc_reply_wait(ABI_TAG(ABI_PROTO_EXCEPTION, ABI_EXC_WORDS, 0), ABI_TIMEOUT_NEVER);
            continue;
        }
        if (r.err == 0) {
            /* Not a probe: leave the thread blocked, the root's call times out. */
            unexpected++;
            printf("# unexpected exception in worker %lu: vector %lu at ip 0x%lx, address 0x%lx\n", id, s->vector,
                   s->rip, s->fault_addr);
        }
        r = ipc_wait(ABI_TIMEOUT_NEVER);
    }
}

/* --- worker ------------------------------------------------------------- */

enum cmd {
    CMD_READ = 1,  /* addr -> fault, value */
    CMD_WRITE,     /* addr, value -> fault */
    CMD_TASK_MAP,  /* task slot, src, dst, pages, rights -> err */
    CMD_UNMAP,     /* addr, pages, flags -> err */
    CMD_WINDOW,    /* fpage: the receive window from now on */
    CMD_SEND_ITEM, /* gate slot, item word, fpage -> err, the receiver's reply */
    CMD_ACCEPT,    /* (carries one item) -> items received, item word, fpage */
    CMD_TOUCH,     /* base, count, stride, seed: write seed + i -> faults */
    CMD_PROBE,     /* base, count, stride -> faults */
};

static void worker(uint64_t id)
{
    struct abi_utcb *u = utcb();
    u->br[ABI_BR_MEM_WINDOW] = 0;
    struct sys_ret r = ipc_wait(ABI_TIMEOUT_NEVER);
    for (;;) {
        if (r.err) {
            /* A refused item (the sender saw the error too): no reply. */
            r = ipc_wait(ABI_TIMEOUT_NEVER);
            continue;
        }
        uint64_t *m = u->mr, out[4] = {0, 0, 0, 0};
        unsigned n = 1;
        switch (m[0]) {
        case CMD_READ: {
            struct probe p = probe_load(m[1]);
            out[0] = p.fault, out[1] = p.val, n = 2;
            break;
        }
        case CMD_WRITE:
            out[0] = probe_store(m[1], m[2]).fault;
            break;
        case CMD_TASK_MAP:
            out[0] = (uint64_t)sys_task_map(m[1], m[2], m[3], m[4], m[5]).err;
            break;
        case CMD_UNMAP:
            out[0] = (uint64_t)sys_unmap(m[1], m[2], m[3]).err;
            break;
        case CMD_WINDOW:
            u->br[ABI_BR_MEM_WINDOW] = m[1];
            break;
        case CMD_SEND_ITEM: {
            uint64_t gate = m[1], w0 = m[2], fp = m[3];
            m[0] = CMD_ACCEPT, m[1] = w0, m[2] = fp;
            struct sys_ret s = ipc_call(gate, ABI_TAG(ABI_PROTO_USER, 1, 1), CALL_TIMEOUT);
            out[0] = (uint64_t)s.err, out[1] = m[0], out[2] = m[1], out[3] = m[2], n = 4;
            break;
        }
        case CMD_ACCEPT:
            out[0] = ABI_TAG_ITEMS(r.v0), out[1] = m[1], out[2] = m[2], n = 3;
            break;
        case CMD_TOUCH:
        case CMD_PROBE: {
            uint64_t faults = 0;
            for (uint64_t i = 0; i < m[2]; i++) {
                uint64_t a = m[1] + i * m[3];
                if (m[0] == CMD_TOUCH) {
                    faults += probe_store(a, m[4] + i).fault;
                    struct probe p = probe_load(a);
                    faults += p.fault || p.val != m[4] + i;
                } else {
                    faults += probe_load(a).fault;
                }
            }
            out[0] = faults;
            break;
        }
        default:
            out[0] = ~0ull;
        }
        for (unsigned i = 0; i < n; i++) m[i] = out[i];
        r = ipc_reply_wait(ABI_TAG(ABI_PROTO_USER, n, 0), ABI_TIMEOUT_NEVER);
    }
}

/* --- root-side helpers -------------------------------------------------- */

static int64_t wcall(int id, unsigned words, unsigned items)
{
    struct sys_ret r = ipc_call(wgate[id], ABI_TAG(ABI_PROTO_USER, words, items), CALL_TIMEOUT);
    if (r.err) printf("# call to worker %s failed: %s\n", wname[id], sys_error_name(r.err));
    return r.err;
}

/* 1: the read worked (value in *v), 0: it faulted, -1: no answer. */
static int rd(int id, uint64_t addr, uint64_t *v)
{
    struct abi_utcb *u = utcb();
    u->mr[0] = CMD_READ, u->mr[1] = addr;
    if (wcall(id, 2, 0)) return -1;
    if (v) *v = u->mr[1];
    return u->mr[0] ? 0 : 1;
}

static int wr(int id, uint64_t addr, uint64_t v)
{
    struct abi_utcb *u = utcb();
    u->mr[0] = CMD_WRITE, u->mr[1] = addr, u->mr[2] = v;
    if (wcall(id, 3, 0)) return -1;
    return u->mr[0] ? 0 : 1;
}

/* The worker reads `want` at addr. */
static int reads(int id, uint64_t addr, uint64_t want)
{
    uint64_t v = 0;
    int r = rd(id, addr, &v);
    if (r == 1 && v == want) return 1;
    printf("#   %s at 0x%lx: %s, value 0x%lx (want 0x%lx)\n", wname[id], addr,
           r == 1 ? "read" : r == 0 ? "fault" : "no answer", v, want);
    return 0;
}

/* The worker's read (or write) faults, and the handler saw exactly that. */
static int access_faults(int id, uint64_t addr, int write)
{
    uint64_t before = fault_log[id].count;
    int r = write ? wr(id, addr, 0xbad) : rd(id, addr, NULL);
    int good = r == 0 && fault_log[id].count == before + 1 && fault_log[id].addr == addr &&
               fault_log[id].vector == ABI_EXC_PF;
    if (!good)
        printf("#   %s %s 0x%lx: result %d, faults %lu -> %lu, last at 0x%lx\n", wname[id], write ? "write" : "read",
               addr, r, before, fault_log[id].count, fault_log[id].addr);
    return good;
}
static int read_faults(int id, uint64_t addr) { return access_faults(id, addr, 0); }
static int write_faults(int id, uint64_t addr) { return access_faults(id, addr, 1); }

static int64_t wmap(int id, uint64_t slot, uint64_t src, uint64_t dst, uint64_t pages, uint64_t rights)
{
    struct abi_utcb *u = utcb();
    u->mr[0] = CMD_TASK_MAP, u->mr[1] = slot, u->mr[2] = src, u->mr[3] = dst, u->mr[4] = pages, u->mr[5] = rights;
    if (wcall(id, 6, 0)) return -1;
    return (int64_t)u->mr[0];
}

static int64_t wunmap(int id, uint64_t addr, uint64_t pages, uint64_t flags)
{
    struct abi_utcb *u = utcb();
    u->mr[0] = CMD_UNMAP, u->mr[1] = addr, u->mr[2] = pages, u->mr[3] = flags;
    if (wcall(id, 4, 0)) return -1;
    return (int64_t)u->mr[0];
}

static int64_t wwindow(int id, uint64_t fpage)
{
    struct abi_utcb *u = utcb();
    u->mr[0] = CMD_WINDOW, u->mr[1] = fpage;
    return wcall(id, 2, 0);
}

/* Root sends one map/grant item to worker id: the error, and the fpage the
 * receiver reports in *got. */
static int64_t root_send_item(int id, uint64_t w0, uint64_t fpage, uint64_t *got)
{
    struct abi_utcb *u = utcb();
    u->mr[0] = CMD_ACCEPT, u->mr[1] = w0, u->mr[2] = fpage;
    struct sys_ret r = ipc_call(wgate[id], ABI_TAG(ABI_PROTO_USER, 1, 1), CALL_TIMEOUT);
    if (r.err) return r.err;
    if (got) *got = u->mr[0] == 1 ? u->mr[2] : 0;
    return 0;
}

/* Worker id sends one item to the worker behind its SLOT_NEXT_GATE. */
static int64_t child_send_item(int id, uint64_t w0, uint64_t fpage, uint64_t *got)
{
    struct abi_utcb *u = utcb();
    u->mr[0] = CMD_SEND_ITEM, u->mr[1] = SLOT_NEXT_GATE, u->mr[2] = w0, u->mr[3] = fpage;
    if (wcall(id, 4, 0)) return -1;
    if (got) *got = u->mr[1] == 1 ? u->mr[3] : 0;
    return (int64_t)u->mr[0];
}

static uint64_t worker_range(int id, enum cmd c, uint64_t base, uint64_t count, uint64_t stride, uint64_t seed)
{
    struct abi_utcb *u = utcb();
    u->mr[0] = c, u->mr[1] = base, u->mr[2] = count, u->mr[3] = stride, u->mr[4] = seed;
    if (wcall(id, 5, 0)) return ~0ull;
    return u->mr[0];
}

static uint64_t stat(uint64_t which) { return sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_STATS, which, 0).v0; }

static int64_t start_worker(int id, unsigned prio)
{
    struct child *c = &kids[id];
    int64_t e = child_thread(c, worker, (uint64_t)id, (uint64_t)(stacks[id] + sizeof stacks[id]), prio);
    if (e) return e;
    wthread[id] = c->thread;
    wgate[id] = cap_alloc();
    e = sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, wgate[id], c->thread, (uint64_t)id).err;
    if (e) return e;
    /* The exception handler learns who faulted from the gate's label. */
    excgate[id] = cap_alloc();
    e = sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, excgate[id], handler_thread, (uint64_t)id).err;
    if (e) return e;
    uint64_t slot = excgate[id];
    if (c->task != ABI_CAP_SELF_TASK) {
        e = sys_cap_copy(c->task, excgate[id], SLOT_EXC, ABI_R_SEND).err;
        if (e) return e;
        slot = SLOT_EXC;
    }
    return sys_thread_config(wthread[id], 0, slot).err;
}

/* --- ticker: a higher-priority thread that wakes every 50 us ------------ */

static volatile int ticker_run;
static volatile uint64_t ticks;

static void ticker(uint64_t arg)
{
    while (ticker_run) {
        sleep_ns(50000);
        ticks++;
    }
    thread_exit();
}

/* --- kernel-memory test child ------------------------------------------- */

static volatile uint64_t memchild_done;

/* Touch every page, then map a quarter of them on within the own task (a
 * deeper mapping tree to tear down), then wait to be destroyed. */
static void memchild(uint64_t iteration)
{
    for (uint64_t i = 0; i < MEM_PAGES; i++) *(volatile uint64_t *)(MEM_VA + i * 4096) += iteration;
    struct sys_ret r = sys_task_map(ABI_CAP_SELF_TASK, MEM_VA, MEM_VA2, MEM_PAGES / 4, ABI_MAP_R | ABI_MAP_W);
    uint64_t sum = 0;
    for (uint64_t i = 0; i < MEM_PAGES / 4; i++) sum += *(volatile uint64_t *)(MEM_VA2 + i * 4096);
    memchild_done = r.err ? 1000 + (uint64_t)r.err : sum ? 2 : 3;
    thread_exit();
}

/* One round: a child task with MEM_PAGES pages from root's window, a thread
 * that uses them, then both deleted. The root sleeps in 100 us steps while
 * the child, at the root's priority, runs a preemptible task_map: this once
 * hung the machine (a slice end in the past re-armed the timer after every
 * tick, and the kernel's preemption window never got past the interrupts). */
static int64_t mem_iteration(uint64_t i)
{
    struct child c;
    int64_t e = child_task(&c, 16);
    if (!e) e = sys_task_map(c.task, ABI_PHYS_WINDOW + pbase + OFF_MEM, MEM_VA, MEM_PAGES, ABI_MAP_RWX).err;
    memchild_done = 0;
    if (!e) e = child_thread(&c, memchild, i, (uint64_t)(stacks[9] + sizeof stacks[9]), 100);
    for (int w = 0; !e && !memchild_done && w < 1000; w++) sleep_ns(100000);
    if (!e && memchild_done != 2) e = 100 + (int64_t)memchild_done;
    int64_t d1 = sys_cap_delete(c.task).err, d2 = c.thread ? sys_cap_delete(c.thread).err : 0;
    return e ? e : d1 ? d1 : d2;
}

/* ------------------------------------------------------------------------ */

int main(void)
{
    const struct abi_kip *k = kip();

    /* The KIP memory map; take the largest free region. */
    static const char *const tname[] = {"?", "free", "reserved", "kernel", "module"};
    uint64_t rbase = 0, rsize = 0;
    for (unsigned i = 0; i < k->mem_count; i++) {
        const struct abi_kip_mem *m = &k->mem[i];
        printf("# KIP memory %u: 0x%09lx..0x%09lx %6lu KiB %s\n", i, m->base, m->base + m->size, m->size >> 10,
               m->type <= 4 ? tname[m->type] : "?");
        if (m->type == ABI_MEM_FREE && m->size > rsize) rbase = m->base, rsize = m->size;
    }
    pbase = (rbase + 0x1fffff) & ~0x1fffffull;
    if (!ok(rsize && pbase + REGION_NEED <= rbase + rsize, "a free region of at least %lu MiB in the KIP (0x%lx, %lu MiB)",
            (REGION_NEED >> 20) + 2, rbase, rsize >> 20)) {
        tap_done();
    }
    uint64_t kernel_base = 0;
    for (unsigned i = 0; i < k->mem_count; i++)
        if (k->mem[i].type == ABI_MEM_KERNEL && k->mem[i].size > (1u << 20)) kernel_base = k->mem[i].base;
    const uint64_t P = ABI_PHYS_WINDOW + pbase; /* root's view */
    volatile uint64_t *pchain = (volatile uint64_t *)(P + OFF_CHAIN);
    pchain[0] = 0x1111;
    pchain[1] = 0;
    ok(pchain[0] == 0x1111, "root writes and reads a free page through its physical window");

    /* The exception handler, then the workers (W0 is a thread of the root task). */
    struct child hc = {.task = ABI_CAP_SELF_TASK};
    is(child_thread(&hc, exc_handler, 0, (uint64_t)(stacks[8] + sizeof stacks[8]), 200), 0,
       "start the exception handler in the root task");
    handler_thread = hc.thread;
    int good = 1;
    kids[W0].task = ABI_CAP_SELF_TASK;
    for (int id = W0; id < NW; id++) {
        if (id != W0) good &= child_task(&kids[id], 64) == 0;
        good &= start_worker(id, 100) == 0;
    }
    /* The chain: A may map into B and call B's worker, B likewise into C. */
    for (int id = WA; id <= WB; id++) {
        good &= sys_cap_copy(kids[id].task, kids[id + 1].task, SLOT_NEXT_TASK, ABI_R_CTRL).err == 0;
        good &= sys_cap_copy(kids[id].task, wgate[id + 1], SLOT_NEXT_GATE, ABI_R_SEND).err == 0;
        good &= sys_cap_copy(kids[id].task, kids[id + 1].task, SLOT_NEXT_WEAK, ABI_R_SEND | ABI_R_COPY).err == 0;
    }
    ok(good, "children A, B, C, D and a root worker, each with the root's exception handler");

    uint64_t kipmagic = k->magic;
    ok(reads(WC, ABI_KIP_ADDR, kipmagic), "C reads the KIP: the workers answer");
    ok(read_faults(WC, VA_C), "C faults at 0x%lx before anything is mapped there, and the handler records it", VA_C);

    /* --- three-level chain ---------------------------------------------- */
    const uint64_t R = ROOT_ALIAS;
    is(sys_task_map(ABI_CAP_SELF_TASK, P + OFF_CHAIN, R, 1, ABI_MAP_RWX).err, 0,
       "root maps its window page to an alias in its own space");
    ok(reads(W0, R, 0x1111), "the root worker reads it at the alias");
    is(sys_task_map(kids[WA].task, R, VA_A, 1, ABI_MAP_RWX).err, 0, "root maps the page to A (task_map)");
    is(wmap(WA, SLOT_NEXT_TASK, VA_A, VA_B, 1, ABI_MAP_RWX), 0, "A maps it on to B");
    is(wmap(WB, SLOT_NEXT_TASK, VA_B, VA_C, 1, ABI_MAP_RWX), 0, "B maps it on to C");
    ok(reads(WA, VA_A, 0x1111) && reads(WB, VA_B, 0x1111) && reads(WC, VA_C, 0x1111),
       "A, B and C read what root wrote");
    ok(wr(WC, VA_C + 8, 0x2222) == 1 && pchain[1] == 0x2222 && reads(WA, VA_A + 8, 0x2222) &&
           reads(W0, R + 8, 0x2222),
       "C writes, root (window and alias) and A read it");
    ok(wr(WA, VA_A + 16, 0x3333) == 1 && reads(WB, VA_B + 16, 0x3333) && reads(WC, VA_C + 16, 0x3333) &&
           pchain[2] == 0x3333,
       "A writes, B, C and root read it");

    is(sys_unmap(R, 1, ABI_MAP_RWX).err, 0, "one unmap at the top (root, without ABI_UNMAP_SELF)");
    ok(read_faults(WA, VA_A), "A faults at 0x%lx", VA_A);
    ok(read_faults(WB, VA_B), "B faults at 0x%lx", VA_B);
    ok(read_faults(WC, VA_C), "C faults at 0x%lx", VA_C);
    ok(reads(W0, R + 16, 0x3333), "root keeps its own mapping (the alias still reads)");

    /* Again, to show the tree is reusable after a revocation. */
    ok(sys_task_map(kids[WA].task, R, VA_A, 1, ABI_MAP_RWX).err == 0 &&
           wmap(WA, SLOT_NEXT_TASK, VA_A, VA_B, 1, ABI_MAP_RWX) == 0 &&
           wmap(WB, SLOT_NEXT_TASK, VA_B, VA_C, 1, ABI_MAP_RWX) == 0 && reads(WC, VA_C + 16, 0x3333),
       "the chain root -> A -> B -> C is built again");

    /* --- partial revocation: write only --------------------------------- */
    is(sys_unmap(R, 1, ABI_MAP_W).err, 0, "root removes only write from everything below its alias");
    ok(reads(WA, VA_A, 0x1111) && reads(WB, VA_B, 0x1111) && reads(WC, VA_C, 0x1111), "A, B, C still read");
    ok(write_faults(WA, VA_A), "A's write faults");
    ok(write_faults(WB, VA_B), "B's write faults");
    ok(write_faults(WC, VA_C), "C's write faults");
    ok((fault_log[WC].error & 3) == 3, "... as a protection fault on a present page (error code 0x%lx)",
       fault_log[WC].error);
    ok(wr(W0, R + 24, 0x4444) == 1 && pchain[3] == 0x4444, "root's own alias stays writable");
    is(sys_task_map(kids[WA].task, R, VA_A, 1, ABI_MAP_RWX).err, 0, "root maps the page to A again with write");
    ok(wr(WA, VA_A + 24, 0x5555) == 1 && pchain[3] == 0x5555, "A can write again (rights upgraded in place)");
    ok(write_faults(WB, VA_B) && reads(WB, VA_B + 24, 0x5555), "B still reads only");
    is(wmap(WB, SLOT_NEXT_TASK, VA_B, VA_C, 1, ABI_MAP_RWX), 0, "B re-maps to C asking for write: allowed call...");
    ok(write_faults(WC, VA_C), "... but C gets no more than B has: its write still faults");

    /* --- unmap in the middle, and ABI_UNMAP_SELF --------------------------- */
    is(wmap(WA, SLOT_NEXT_TASK, VA_A, VA_B, 1, ABI_MAP_RWX), 0, "A maps to B again with write");
    ok(wr(WB, VA_B + 32, 0x6666) == 1 && reads(WC, VA_C + 32, 0x6666), "B writes again; C reads");
    is(wunmap(WA, VA_A, 1, ABI_MAP_RWX), 0, "A unmaps its page without ABI_UNMAP_SELF");
    ok(reads(WA, VA_A + 32, 0x6666), "A keeps it");
    ok(read_faults(WB, VA_B) && read_faults(WC, VA_C), "B and C lost it");
    is(wmap(WA, SLOT_NEXT_TASK, VA_A, VA_B, 1, ABI_MAP_RWX), 0, "A maps to B again");
    is(wunmap(WA, VA_A, 1, ABI_MAP_RWX | ABI_UNMAP_SELF), 0, "A unmaps with ABI_UNMAP_SELF");
    ok(read_faults(WA, VA_A), "A lost its own mapping");
    ok(read_faults(WB, VA_B), "so did B");
    ok(reads(W0, R + 32, 0x6666), "root still has it");
    is(sys_task_map(kids[WA].task, R, VA_A, 1, ABI_MAP_RWX).err, 0, "root maps to A once more");
    is(sys_unmap(R, 1, ABI_MAP_RWX | ABI_UNMAP_SELF).err, 0, "root unmaps its alias with ABI_UNMAP_SELF");
    ok(read_faults(W0, R), "the root worker faults at the alias now");
    ok(read_faults(WA, VA_A), "and A at its page");
    ok(pchain[3] == 0x5555, "the frame itself is still root's through the window");

    /* --- IPC map items and receive windows -------------------------------- */
    volatile uint64_t *p16 = (volatile uint64_t *)(P + OFF_SIXTEEN);
    for (unsigned i = 0; i < 16; i++) p16[i * 512] = 0x16000 + i;
    uint64_t got = 0;
    is(wwindow(WA, ABI_FPAGE(WIN, 20, 0)), 0, "A opens a 1 MiB receive window at 0x%lx", WIN);
    is(root_send_item(WA, ABI_ITEM_MAP | 0x30000, ABI_FPAGE(P + OFF_SIXTEEN, 16, ABI_MAP_RWX), &got), 0,
       "root sends a 64 KiB fpage (16 pages) with hotspot 0x30000");
    is(got, ABI_FPAGE(WIN + 0x30000, 16, ABI_MAP_RWX), "A's mr holds the fpage received: window + 0x30000, order 16");
    good = 1;
    for (unsigned i = 0; i < 16; i++) good &= reads(WA, WIN + 0x30000 + i * 4096, 0x16000 + i);
    ok(good, "A reads all 16 pages at the hotspot offset");
    ok(read_faults(WA, WIN + 0x2f000) && read_faults(WA, WIN + 0x40000), "nothing landed before or after them");
    ok(wr(WA, WIN + 0x3f000 + 8, 0x1616) == 1 && p16[15 * 512 + 1] == 0x1616, "A writes the last page; root sees it");

    is(wwindow(WA, ABI_FPAGE(WIN2, 13, 0)), 0, "A opens an 8 KiB window");
    is(root_send_item(WA, ABI_ITEM_MAP | 0x5000, ABI_FPAGE(P + OFF_SIXTEEN, 16, ABI_MAP_R), &got), 0,
       "root sends the 64 KiB fpage read-only with hotspot 0x5000");
    is(got, ABI_FPAGE(WIN2, 13, ABI_MAP_R), "the fpage is cut to the window: A got 2 pages at the window base");
    ok(reads(WA, WIN2, 0x16004) && reads(WA, WIN2 + 4096, 0x16005), "they are pages 4 and 5 of the send fpage");
    ok(write_faults(WA, WIN2), "the item's rights hold: writing faults");

    /* A passes some of its pages on to B by IPC. */
    is(wwindow(WB, ABI_FPAGE(WIN, 20, 0)), 0, "B opens a 1 MiB window");
    is(child_send_item(WA, ABI_ITEM_MAP | 0x8000, ABI_FPAGE(WIN + 0x30000, 15, ABI_MAP_RWX), &got), 0,
       "A sends 8 of its received pages to B by IPC");
    is(got, ABI_FPAGE(WIN + 0x8000, 15, ABI_MAP_RWX), "B reports them at window + 0x8000");
    ok(reads(WB, WIN + 0x8000, 0x16000) && reads(WB, WIN + 0xf000, 0x16007), "B reads pages 0 and 7");
    is(sys_unmap(P + OFF_SIXTEEN, 16, ABI_MAP_RWX).err, 0, "root unmaps the 16 window pages");
    ok(read_faults(WA, WIN + 0x30000) && read_faults(WA, WIN2 + 4096) && read_faults(WB, WIN + 0xf000),
       "A's and B's IPC-received pages are gone");

    /* Refused items. */
    is(wwindow(WA, 0), 0, "A closes its window");
    is(root_send_item(WA, ABI_ITEM_MAP, ABI_FPAGE(P + OFF_SIXTEEN, 12, ABI_MAP_RWX), NULL), ABI_E_MSG_TRUNCATED,
       "a map item to a receiver without a window: MSG_TRUNCATED");
    is(wwindow(WA, ABI_FPAGE(0x40000000, 22, 0)), 0, "A opens a 4 MiB window");
    is(root_send_item(WA, ABI_ITEM_MAP, ABI_FPAGE(P + OFF_BIG, 22, ABI_MAP_RWX), NULL), ABI_E_INVALID_ARG,
       "an item of 1024 pages (more than ABI_IPC_MAP_MAX_PAGES): INVALID_ARG");
    is(root_send_item(WA, ABI_ITEM_MAP, ABI_FPAGE(P + OFF_SIXTEEN + 0x1000, 13, ABI_MAP_RWX), NULL),
       ABI_E_INVALID_ARG, "an fpage not aligned to its size: INVALID_ARG");
    is(root_send_item(WA, ABI_ITEM_MAP, ABI_FPAGE(P + OFF_SIXTEEN, 12, 0), NULL), ABI_E_INVALID_ARG,
       "an fpage without rights: INVALID_ARG");
    ok(read_faults(WA, 0x40000000), "none of them mapped anything");

    /* --- grant -------------------------------------------------------------- */
    volatile uint64_t *pg = (volatile uint64_t *)(P + OFF_GRANT);
    pg[0] = 0x6767;
    const uint64_t GA = 0x44000000, GB = 0x45000000, GC = 0x46000000;
    is(sys_task_map(kids[WA].task, P + OFF_GRANT, GA, 1, ABI_MAP_RWX).err, 0, "root maps a page to A");
    ok(reads(WA, GA, 0x6767), "A reads it");
    is(wwindow(WB, ABI_FPAGE(GB, 12, 0)), 0, "B opens a one-page window");
    is(child_send_item(WA, ABI_ITEM_GRANT, ABI_FPAGE(GA, 12, ABI_MAP_RWX), &got), 0, "A grants it to B");
    is(got, ABI_FPAGE(GB, 12, ABI_MAP_RWX), "B reports the granted fpage");
    ok(read_faults(WA, GA), "A, the granter, lost it");
    ok(reads(WB, GB, 0x6767), "B has it");
    is(wmap(WB, SLOT_NEXT_TASK, GB, GC, 1, ABI_MAP_RWX), 0, "B maps it on to C");
    ok(wr(WC, GC + 8, 0x6868) == 1 && pg[1] == 0x6868, "C writes it; root sees the write");
    is(sys_unmap(P + OFF_GRANT, 1, ABI_MAP_RWX).err, 0, "root unmaps its window page (the original top)");
    ok(read_faults(WB, GB) && read_faults(WC, GC), "B and C lost it: the grant kept the tree position");

    /* --- bad input ---------------------------------------------------------- */
    abi_cap_t ta = kids[WA].task;
    is(sys_task_map(ta, P + 1, VA_A, 1, ABI_MAP_RWX).err, ABI_E_INVALID_ARG, "task_map: unaligned source");
    is(sys_task_map(ta, P, VA_A + 0x800, 1, ABI_MAP_RWX).err, ABI_E_INVALID_ARG, "task_map: unaligned destination");
    is(sys_unmap(R + 8, 1, ABI_MAP_RWX).err, ABI_E_INVALID_ARG, "unmap: unaligned address");
    is(sys_task_map(ta, P, 0x7fffffff0000ull, 16, ABI_MAP_RWX).err, ABI_E_INVALID_ARG,
       "task_map: destination runs past the user range");
    is(sys_task_map(ta, P, 0x800000000000ull, 1, ABI_MAP_RWX).err, ABI_E_INVALID_ARG,
       "task_map: destination above the user range");
    is(sys_task_map(ta, P, VA_A, 1ull << 40, ABI_MAP_RWX).err, ABI_E_INVALID_ARG, "task_map: 2^40 pages");
    is(sys_unmap(0x7ffffff00000ull, 0x1000, ABI_MAP_RWX).err, ABI_E_INVALID_ARG, "unmap: range past the user range");
    is(sys_unmap(0, ~0ull >> 12, ABI_MAP_RWX).err, ABI_E_INVALID_ARG, "unmap: absurd page count");
    is(sys_task_map(ta, P, VA_A, 1, 0x8).err, ABI_E_INVALID_ARG, "task_map: rights bit 3");
    is(sys_task_map(ta, P, VA_A, 1, 0).err, ABI_E_INVALID_ARG, "task_map: no rights");
    is(sys_task_map(ta, P, VA_A, 1, ABI_MAP_W).err, ABI_E_INVALID_ARG, "task_map: write without read");
    is(sys_unmap(R, 1, 0x8).err, ABI_E_INVALID_ARG, "unmap: flag bit 3");
    is(sys_unmap(R, 1, 0x200).err, ABI_E_INVALID_ARG, "unmap: unknown flag 0x200");
    ok(read_faults(WA, VA_A), "none of them mapped anything into A");

    /* Unmapped sources: task_map skips them page by page and still succeeds
     * (kernel/memory.c: ABI_E_NOT_MAPPED from a page is not an error of the
     * call), so a hole in a range maps nothing there. */
    struct sys_ret r = sys_task_map(ta, ROOT_HOLE, VA_A, 1, ABI_MAP_RWX);
    ok(r.err == 0 && r.v0 == 1, "task_map of a page root does not have returns 0 (error %s, %lu pages done)",
       sys_error_name(r.err), r.v0);
    ok(read_faults(WA, VA_A), "... and maps nothing");
    pchain[0] = 0x1111;
    is(sys_task_map(ABI_CAP_SELF_TASK, P + OFF_CHAIN, ROOT_HOLE + 0x2000, 1, ABI_MAP_RWX).err, 0,
       "root maps a page at hole + 2 pages");
    r = sys_task_map(ta, ROOT_HOLE, VA_A, 3, ABI_MAP_RWX);
    ok(r.err == 0 && r.v0 == 3, "task_map of three pages of which only the third exists returns 0");
    ok(read_faults(WA, VA_A) && read_faults(WA, VA_A + 0x1000) && reads(WA, VA_A + 0x2000, 0x1111),
       "... and maps just that one");
    is(sys_unmap(ROOT_HOLE + 0x2000, 1, ABI_MAP_RWX | ABI_UNMAP_SELF).err, 0, "(clean up)");
    is(wmap(WA, SLOT_NEXT_TASK, 0x47000000, VA_B, 1, ABI_MAP_RWX), 0, "A maps a page it does not have: 0 as well");
    ok(read_faults(WB, VA_B), "... and B gets nothing");
    if (kernel_base) {
        is(sys_task_map(ta, ABI_PHYS_WINDOW + kernel_base, VA_A, 1, ABI_MAP_RWX).err, 0,
           "root's window over the kernel pool: task_map returns 0 ...");
        ok(read_faults(WA, VA_A), "... but maps nothing: kernel memory is not the root's");
    }

    abi_cap_t weak = cap_alloc();
    is(sys_cap_copy(ABI_CAP_SELF_TASK, ta, weak, ABI_R_SEND | ABI_R_COPY).err, 0, "copy A's task capability without CTRL");
    is(sys_task_map(weak, P, VA_A, 1, ABI_MAP_RWX).err, ABI_E_NO_RIGHTS, "task_map through it: NO_RIGHTS");
    is(wmap(WA, SLOT_NEXT_WEAK, VA_A, VA_B, 1, ABI_MAP_RWX), ABI_E_NO_RIGHTS, "A's task_map without CTRL on B: NO_RIGHTS");
    is(sys_task_map(ABI_CAP_FACTORY, P, VA_A, 1, ABI_MAP_RWX).err, ABI_E_WRONG_TYPE, "task_map on a factory: WRONG_TYPE");
    is(sys_task_map(900, P, VA_A, 1, ABI_MAP_RWX).err, ABI_E_INVALID_CAP, "task_map on an empty slot: INVALID_CAP");
    is(sys_task_map(ABI_CAP_SELF_TASK, P, P, 1, ABI_MAP_RWX).err, ABI_E_INVALID_ARG, "task_map of a page onto itself");
    ok(read_faults(WA, VA_A), "still nothing in A");

    is(sys_task_map(ta, P, ABI_KIP_ADDR, 1, ABI_MAP_R).err, ABI_E_BUSY, "mapping onto A's KIP: BUSY");
    is(sys_task_map(ta, P, ABI_ROOT_UTCB_ADDR, 1, ABI_MAP_RWX).err, ABI_E_BUSY, "mapping onto A's worker UTCB: BUSY");
    is(sys_task_map(ABI_CAP_SELF_TASK, P, ABI_ROOT_UTCB_ADDR, 1, ABI_MAP_RWX).err, ABI_E_BUSY,
       "mapping onto root's own UTCB: BUSY");
    is(sys_unmap(ABI_KIP_ADDR, 1, ABI_MAP_RWX | ABI_UNMAP_SELF).err, 0, "unmapping root's KIP is accepted ...");
    ok(k->magic == ABI_KIP_MAGIC && reads(WA, ABI_KIP_ADDR, kipmagic), "... and changes nothing (root and A read the KIP)");
    ok(wr(WA, ABI_ROOT_UTCB_ADDR + 0x300, 7) == 1, "A's UTCB is still there");
    ok(unexpected == 0, "no unexpected exceptions so far");

    /* --- 64 MiB: restartable map, preemptible unmap ------------------------- */
    const uint64_t PB = P + OFF_BIG;
    ticks = 0;
    ticker_run = 1;
    struct child tc = {.task = ABI_CAP_SELF_TASK};
    is(child_thread(&tc, ticker, 0, (uint64_t)(stacks[7] + sizeof stacks[7]), 150), 0,
       "start a ticker thread above the root's priority (wakes every 50 us)");
    uint64_t old = stat(ABI_STAT_IRQOFF_RESET);
    uint64_t t0 = now_ns(), tk0 = ticks;
    r = sys_task_map(kids[WD].task, PB, BIG_VA, BIG_PAGES, ABI_MAP_RWX);
    uint64_t t_map = now_ns() - t0, tk_map = ticks - tk0;
    uint64_t irq_map = stat(ABI_STAT_IRQOFF_MAX_NS);
    is(r.err, 0, "one task_map of 64 MiB (16384 pages, taken from the window on the way) to D returns 0");
    printf("# map: %lu us, %lu ticker wakeups during it, longest interrupts-off %lu ns (before: %lu ns)\n",
           t_map / 1000, tk_map, irq_map, old);
    ok(tk_map > 0, "the ticker ran during the map: the call was preempted and restarted");
    ok(irq_map < IRQOFF_BOUND_NS, "longest interrupts-off section during the map below %lu us (%lu ns)",
       IRQOFF_BOUND_NS / 1000, irq_map);
    const uint64_t samples = BIG_PAGES / BIG_STRIDE;
    is(worker_range(WD, CMD_TOUCH, BIG_VA, samples, BIG_STRIDE * 4096, 0xb16000), 0,
       "D writes and reads back %lu sample pages, first to last", samples);
    is(worker_range(WD, CMD_TOUCH, BIG_VA + (BIG_PAGES - 1) * 4096ull, 1, 4096, 0xe00), 0, "D touches the last page");
    good = 1;
    for (uint64_t i = 0; i < samples; i++)
        good &= *(volatile uint64_t *)(PB + i * BIG_STRIDE * 4096) == 0xb16000 + i;
    ok(good && *(volatile uint64_t *)(PB + (BIG_PAGES - 1) * 4096ull) == 0xe00,
       "root sees D's writes through its window: same frames");

    uint64_t fd = fault_log[WD].count;
    stat(ABI_STAT_IRQOFF_RESET);
    t0 = now_ns(), tk0 = ticks;
    r = sys_unmap(PB, BIG_PAGES, ABI_MAP_RWX);
    uint64_t t_unmap = now_ns() - t0, tk_unmap = ticks - tk0;
    uint64_t irq_unmap = stat(ABI_STAT_IRQOFF_MAX_NS);
    ticker_run = 0;
    is(r.err, 0, "one unmap of 64 MiB from root returns 0");
    printf("# unmap: %lu us, %lu ticker wakeups during it, longest interrupts-off %lu ns\n", t_unmap / 1000, tk_unmap,
           irq_unmap);
    ok(tk_unmap > 0, "the ticker ran during the unmap: it was preempted and restarted");
    ok(irq_unmap < IRQOFF_BOUND_NS, "longest interrupts-off section during the 64 MiB unmap below %lu us (%lu ns)",
       IRQOFF_BOUND_NS / 1000, irq_unmap);
    is(worker_range(WD, CMD_PROBE, BIG_VA, samples, BIG_STRIDE * 4096, 0), samples, "all %lu sample pages fault in D",
       samples);
    is(worker_range(WD, CMD_PROBE, BIG_VA + 4096, 1, 4096, 0) + worker_range(WD, CMD_PROBE, BIG_VA + (BIG_PAGES - 1) * 4096ull, 1, 4096, 0),
       2, "so do the second and the last page");
    is(fault_log[WD].count - fd, samples + 2, "the handler saw each of those faults");
    ok(*(volatile uint64_t *)(PB + (BIG_PAGES - 1) * 4096ull) == 0xe00, "root still reads the last page");
    is(sys_unmap(PB, BIG_PAGES, ABI_MAP_RWX | ABI_UNMAP_SELF).err, 0, "root drops its own 64 MiB too");

    /* --- kernel memory stays bounded ---------------------------------------- */
    for (unsigned i = 0; i < MEM_PAGES; i++) *(volatile uint64_t *)(P + OFF_MEM + i * 4096ull) = 1;
    /* The root's capability table gets its slot pages on first use, and
     * cap_alloc never reuses a slot: touch every page of it now, so that
     * what the rounds below allocate there does not count as a leak. */
    for (uint64_t slot = 63; slot < ABI_ROOT_CAP_SLOTS; slot += 64)
        if (sys_cap_copy(ABI_CAP_SELF_TASK, ABI_CAP_MACHINE, slot, ABI_R_SEND).err == 0) sys_cap_delete(slot);
    sleep_ns(1000000);
    uint64_t free_start = stat(ABI_STAT_FREE_KERNEL_PAGES);
    is(mem_iteration(0), 0, "warm-up: a child with %u mapped pages (and a quarter mapped on inside it) is created, used and deleted",
       MEM_PAGES);
    sleep_ns(1000000);
    uint64_t free0 = stat(ABI_STAT_FREE_KERNEL_PAGES);
    stat(ABI_STAT_IRQOFF_RESET);
    good = 1;
    for (uint64_t i = 1; i <= 20; i++) {
        int64_t e = mem_iteration(i);
        if (e) {
            printf("# iteration %lu: %ld\n", i, e);
            good = 0;
        }
    }
    uint64_t irq_reap = stat(ABI_STAT_IRQOFF_MAX_NS);
    ok(good, "20 more create/use/delete rounds succeed");
    sleep_ns(1000000);
    uint64_t free1 = stat(ABI_STAT_FREE_KERNEL_PAGES);
    printf("# free kernel pages: %lu at the start, %lu after the warm-up round, %lu after 20 more rounds; longest "
           "interrupts-off during them %lu ns\n", free_start, free0, free1, irq_reap);
    ok(free1 + 4 >= free_start && free1 <= free_start + 4,
       "free kernel pages back within 4 pages of the start after 21 rounds (%lu -> %lu)", free_start, free1);
    ok(free1 == free0, "and exactly where they were after the first round: nothing leaks per round");
    ok(irq_reap < IRQOFF_BOUND_NS, "longest interrupts-off section while creating and destroying tasks below %lu us (%lu ns)",
       IRQOFF_BOUND_NS / 1000, irq_reap);
    good = 1;
    for (unsigned i = 0; i < MEM_PAGES; i++) good &= *(volatile uint64_t *)(P + OFF_MEM + i * 4096ull) == 1 + 210;
    ok(good, "the children's writes reached root's frames (1 + 0 + 1 + ... + 20 in every page)");
    ok(unexpected == 0, "no unexpected exceptions");
    tap_done();
}
