/*
 * System test: revoking a large capability tree is preemptible.
 *
 * A gate is copied 4,000 times into a child's table (a wide tree) and along
 * a chain as deep as the kernel allows (copies of copies; one more level is
 * refused). One cap_revoke removes them all
 * while a higher-priority ticker thread keeps waking up: the revocation is
 * preempted and restarted, ends complete, and the longest interrupts-off
 * section stays short, whatever the size of the tree.
 */
#include "drops/ipc.h"
#include "drops/spawn.h"
#include "drops/tap.h"

#define WIDE 4000u
#define DEEP 32u /* the kernel's CAP_MAX_DEPTH */
#define CHILD_SLOTS 8192u
#define IRQOFF_BOUND_NS 200000u

static uint8_t stack[16384] __attribute__((aligned(16)));
static volatile uint64_t ticks, ticker_run = 1;

static void ticker(uint64_t arg)
{
    while (ticker_run) {
        sleep_ns(50000);
        ticks++;
    }
    thread_exit();
}

static uint64_t stat(uint64_t which) { return sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_STATS, which, 0).v0; }


int main(void)
{
    struct child c;
    is(child_task(&c, CHILD_SLOTS), 0, "a child with %u capability slots", CHILD_SLOTS);
    abi_cap_t gate = cap_alloc();
    is(sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, gate, ABI_CAP_SELF_THREAD, 9).err, 0, "a gate to the root");

    /* Wide: WIDE copies of the gate in the child. */
    int64_t err = 0;
    for (unsigned i = 0; i < WIDE && !err; i++) err = sys_cap_copy(c.task, gate, 100 + i, ABI_R_ALL).err;
    is(err, 0, "%u copies of the gate in the child", WIDE);
    /* Deep: a chain of copies of copies in the root's own table. */
    abi_cap_t chain[DEEP];
    abi_cap_t prev = gate;
    err = 0;
    for (unsigned i = 0; i < DEEP && !err; i++) {
        chain[i] = cap_alloc();
        err = sys_cap_copy(ABI_CAP_SELF_TASK, prev, chain[i], ABI_R_ALL).err;
        prev = chain[i];
    }
    is(err, 0, "a chain of %u copies of copies", DEEP);
    is(sys_cap_copy(ABI_CAP_SELF_TASK, prev, cap_alloc(), ABI_R_ALL).err, ABI_E_INVALID_ARG,
       "one more level of copies is refused: revocation walks stay short");
    is(sys_cap_info(chain[DEEP - 1]).err, 0, "the deepest copy names the gate");

    struct child self = {.task = ABI_CAP_SELF_TASK};
    is(child_thread(&self, ticker, 0, (uint64_t)(stack + sizeof stack), 150), 0, "a ticker thread above us");
    sleep_ns(200000);
    sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_STATS, ABI_STAT_IRQOFF_RESET, 0);
    uint64_t t0 = now_ns(), tk0 = ticks;
    struct sys_ret r = sys_cap_revoke(gate);
    uint64_t dt = now_ns() - t0, tk = ticks - tk0, irqoff = stat(ABI_STAT_IRQOFF_MAX_NS);
    ticker_run = 0;
    is(r.err, 0, "one cap_revoke of the gate returns 0");
    printf("# revoke of %u capabilities: %lu us, %lu ticker wakeups during it, longest interrupts-off %lu ns\n",
           WIDE + DEEP, dt / 1000, tk, irqoff);
    ok(tk > 0, "the ticker ran during the revocation: it was preempted and restarted");
    ok(irqoff < IRQOFF_BOUND_NS, "longest interrupts-off section below %u us (%lu ns)", IRQOFF_BOUND_NS / 1000, irqoff);
    unsigned left = 0;
    for (unsigned i = 0; i < DEEP; i++) left += sys_cap_info(chain[i]).err == 0;
    is(left, 0, "none of the chain is left");
    /* The child's copies: copying into those slots works again only if they are empty. */
    unsigned reused = 0;
    for (unsigned i = 0; i < WIDE; i += 97) reused += sys_cap_copy(c.task, ABI_CAP_MACHINE, 100 + i, ABI_R_SEND).err == 0;
    is(reused, (WIDE + 96) / 97, "the child's slots are empty again");
    is(sys_cap_info(gate).err, 0, "the gate itself stays");

    /* The same bound holds for mappings of mappings: pass one page along a
     * chain of addresses in our own space until the kernel refuses. */
    const struct abi_kip *k = kip();
    uint64_t base = 0;
    for (unsigned i = 0; i < k->mem_count && !base; i++)
        if (k->mem[i].type == ABI_MEM_FREE && k->mem[i].size >= (1u << 20)) base = k->mem[i].base;
    uint64_t src = ABI_PHYS_WINDOW + base, va = 0x60000000;
    unsigned levels = 0;
    int64_t e = 0;
    for (; levels < 40; levels++, src = va, va += 4096)
        if ((e = sys_task_map(ABI_CAP_SELF_TASK, src, va, 1, ABI_MAP_RWX).err) != 0) break;
    ok(levels == 32 && e == ABI_E_INVALID_ARG, "mappings of mappings stop at 32 levels (%u, then %s)", levels,
       sys_error_name(e));
    is(sys_unmap(ABI_PHYS_WINDOW + base, 1, ABI_MAP_RWX).err, 0, "one unmap at the top removes the chain");
    is(sys_task_map(ABI_CAP_SELF_TASK, ABI_PHYS_WINDOW + base, 0x60000000, 1, ABI_MAP_RWX).err, 0,
       "and the first level can be mapped again");
    tap_done();
}
