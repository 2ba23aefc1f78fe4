/*
 * System test: every interrupts-off section of the kernel is short.
 *
 * The kernel runs with interrupts disabled between preemption points and
 * measures the longest such stretch (ABI_STAT_IRQOFF_MAX_NS). This test
 * runs the operations whose work grows with their size, each on a large
 * object, and checks after each that no section lasted longer than
 * IRQOFF_BOUND_NS (docs/architecture.md "Preemptibility" gives the bound
 * and why): creating tasks and threads, filling a task with mappings
 * across its address space, capabilities and threads and deleting it (its
 * teardown runs in the reaper), revoking a wide capability tree, mapping
 * and unmapping 64 MiB, configuring and disabling real-time threads,
 * console output, sub-factories. A ticker thread above the root wakes
 * every 50 us throughout, so that timer interrupts arrive in the middle of
 * every operation; that it ran during the long ones shows they were
 * preempted and resumed. Each operation is also checked for its effect,
 * so a fast failure cannot pass as a short section.
 */
#include "drops/ipc.h"
#include "drops/spawn.h"
#include "drops/tap.h"

/* Under -icount every instruction takes 8 ns: 10 us are 1,250
 * instructions with interrupts off. */
#define IRQOFF_BOUND_NS 10000ul

#define US 1000ull
#define MS 1000000ull
#define BIG_SLOTS 65536u   /* the most a task may have */
#define BIG_CAPS 2048u     /* copies in the big task's table, spread over its pages */
#define BIG_THREADS 16u    /* threads bound to the big task */
#define SPARSE 64u         /* pages mapped 1 GiB apart: a page-table chain each */
#define DENSE_PAGES 1024u  /* 4 MiB mapped densely */
#define WIDE 4000u         /* copies of one capability, revoked at once */
#define RANGE_PAGES 16384u /* 64 MiB */
#define RT_ROUNDS 10u

#define VA_DENSE 0x40000000ul
#define VA_SPARSE 0x1000000000ul
#define VA_RANGE 0x100000000ul

static uint8_t stacks[BIG_THREADS + 4][8192] __attribute__((aligned(16)));
static volatile uint64_t ticks, ticker_run = 1, rt_jobs;

static uint64_t stat(uint64_t which) { return sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_STATS, which, 0).v0; }

static void ticker(uint64_t arg)
{
    while (ticker_run) {
        sleep_ns(50 * US);
        ticks++;
    }
    thread_exit();
}

static void rt_body(uint64_t arg)
{
    for (;;) {
        rt_jobs++;
        sys_rt_next_period();
    }
}

/* Longest section so far, and a fresh start for the next operation. */
static uint64_t worst;
static uint64_t section_max(void)
{
    uint64_t ns = stat(ABI_STAT_IRQOFF_RESET);
    if (ns > worst) worst = ns;
    return ns;
}

static void check(const char *what, uint64_t tk0)
{
    uint64_t ns = section_max();
    printf("# %s: longest interrupts-off %lu ns, %lu ticker wakeups\n", what, ns, ticks - tk0);
    ok(ns <= IRQOFF_BOUND_NS, "%s: longest interrupts-off section %lu ns <= %lu ns", what, ns, IRQOFF_BOUND_NS);
}

/* Let the reaper finish in the idle loop, and let the kernel's queued
 * messages drain, before the next measurement. */
static void settle(void) { sleep_ns(2 * MS); }

int main(void)
{
    const struct abi_kip *k = kip();
    uint64_t rbase = 0, rsize = 0;
    for (unsigned i = 0; i < k->mem_count; i++)
        if (k->mem[i].type == ABI_MEM_FREE && k->mem[i].size > rsize) rbase = k->mem[i].base, rsize = k->mem[i].size;
    uint64_t pbase = (rbase + 0x1fffff) & ~0x1fffffull;
    if (!ok(pbase + RANGE_PAGES * 4096ull <= rbase + rsize, "a free region of 64 MiB (%lu MiB at 0x%lx)", rsize >> 20,
            rbase))
        tap_done();
    const uint64_t P = ABI_PHYS_WINDOW + pbase; /* the root's view of it */

    struct child self = {.task = ABI_CAP_SELF_TASK};
    is(child_thread(&self, ticker, 0, (uint64_t)(stacks[0] + sizeof stacks[0]), 150), 0,
       "a ticker thread above the root (wakes every 50 us)");
    settle();
    section_max();

    /* --- page faults in the root's physical window ---------------------- */
    uint64_t tk0 = ticks;
    for (uint64_t i = 0; i < RANGE_PAGES; i += 512) *(volatile uint64_t *)(P + i * 4096) = i;
    check("first touches of 32 window pages 2 MiB apart (sigma0 faults)", tk0);

    /* --- a big task: creation, contents, deletion ------------------------ */
    uint64_t free0 = stat(ABI_STAT_FREE_KERNEL_PAGES);
    tk0 = ticks;
    struct child big;
    is(child_task(&big, BIG_SLOTS), 0, "a task with %u capability slots", BIG_SLOTS);
    check("task creation", tk0);

    tk0 = ticks;
    int64_t err = sys_task_map(big.task, P, VA_DENSE, DENSE_PAGES, ABI_MAP_RWX).err;
    for (unsigned i = 0; i < SPARSE && !err; i++)
        err = sys_task_map(big.task, P + (DENSE_PAGES + i) * 4096ull, VA_SPARSE + i * (1ull << 30), 1, ABI_MAP_R | ABI_MAP_W).err;
    is(err, 0, "%u pages mapped into it densely and %u 1 GiB apart", DENSE_PAGES, SPARSE);
    check("maps into the task", tk0);

    tk0 = ticks;
    abi_cap_t gate = cap_alloc();
    err = sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, gate, ABI_CAP_SELF_THREAD, 1).err;
    for (unsigned i = 0; i < BIG_CAPS && !err; i++)
        err = sys_cap_copy(big.task, gate, 16 + i * (BIG_SLOTS - 16) / BIG_CAPS, ABI_R_ALL).err;
    is(err, 0, "%u copies of a gate spread over its capability table", BIG_CAPS);
    check("capability copies", tk0);

    tk0 = ticks;
    err = 0;
    for (unsigned i = 0; i < BIG_THREADS && !err; i++)
        err = child_thread(&big, (void (*)(uint64_t))thread_exit, 0, (uint64_t)(stacks[4 + i] + sizeof stacks[4 + i]),
                           100);
    is(err, 0, "%u threads in it, started (they wait forever)", BIG_THREADS);
    check("thread creation and start", tk0);
    sleep_ns(MS);
    section_max();

    tk0 = ticks;
    is(sys_cap_delete(big.task).err, 0, "delete the task");
    check("task deletion", tk0);
    tk0 = ticks;
    settle();
    check("its teardown in the reaper", tk0);
    /* Its threads and gate copies are ours to delete; the threads are
     * unbound already, so they only give their memory back. */
    abi_cap_t end = cap_alloc();
    for (abi_cap_t c = gate + 1; c < end; c++) sys_cap_delete(c);
    uint64_t t0 = now_ns(), free1;
    while ((free1 = stat(ABI_STAT_FREE_KERNEL_PAGES)) + 64 < free0 && now_ns() - t0 < 1000 * MS) sleep_ns(MS);
    /* The task held about 1,200 pages (all 1,024 pages of its capability
     * table among them); what stays is the root's: mapping nodes and
     * tables for the window pages it passed on, a page of slots. */
    ok(free1 + 64 >= free0, "the kernel memory came back within %lu ms (%lu free pages before, %lu after)",
       (uint64_t)((now_ns() - t0) / MS), free0, free1);
    section_max();

    /* --- a wide capability tree ------------------------------------------ */
    struct child wide;
    is(child_task(&wide, 8192), 0, "a task for %u copies", WIDE);
    err = 0;
    for (unsigned i = 0; i < WIDE && !err; i++) err = sys_cap_copy(wide.task, gate, 100 + i, ABI_R_ALL).err;
    is(err, 0, "%u copies of the gate in it", WIDE);
    section_max();
    tk0 = ticks;
    is(sys_cap_revoke(gate).err, 0, "revoke them all at once");
    check("revocation of 4000 copies", tk0);
    ok(ticks > tk0, "the ticker ran during the revocation");
    is(sys_cap_copy(wide.task, ABI_CAP_MACHINE, 100, ABI_R_SEND).err, 0, "the copies are gone");

    /* --- 64 MiB ---------------------------------------------------------- */
    tk0 = ticks;
    is(sys_task_map(wide.task, P, VA_RANGE, RANGE_PAGES, ABI_MAP_RWX).err, 0, "map 64 MiB into the task at once");
    check("map of 64 MiB", tk0);
    ok(ticks > tk0, "the ticker ran during the map");
    tk0 = ticks;
    is(sys_unmap(P, RANGE_PAGES, ABI_MAP_RWX).err, 0, "unmap them from the root's side at once");
    check("unmap of 64 MiB", tk0);
    ok(ticks > tk0, "the ticker ran during the unmap");
    is(sys_task_map(wide.task, P, VA_RANGE, RANGE_PAGES, ABI_MAP_RWX).err, 0, "map them again");
    section_max();
    tk0 = ticks;
    is(sys_cap_delete(wide.task).err, 0, "delete the task with 64 MiB mapped");
    settle();
    check("deletion of a task with 64 MiB mapped", tk0);

    /* --- threads ---------------------------------------------------------- */
    tk0 = ticks;
    err = 0;
    for (unsigned round = 0; round < 4 && !err; round++) {
        abi_cap_t first = cap_alloc();
        for (unsigned i = 0; i < BIG_THREADS && !err; i++)
            err = child_thread(&self, (void (*)(uint64_t))thread_exit, 0,
                               (uint64_t)(stacks[4 + i] + sizeof stacks[4 + i]), 100);
        sleep_ns(100 * US);
        abi_cap_t last = cap_alloc();
        for (abi_cap_t c = first + 1; c < last && !err; c++) err = sys_cap_delete(c).err;
    }
    if (err) printf("# error %s\n", sys_error_name(err));
    is(err, 0, "4 rounds of %u threads of our own created, started and deleted", BIG_THREADS);
    settle();
    check("thread creation and deletion", tk0);

    /* --- real-time threads ----------------------------------------------- */
    struct child rt = {.task = ABI_CAP_SELF_TASK};
    is(child_thread_prepare(&rt, rt_body, 0, (uint64_t)(stacks[1] + sizeof stacks[1]), 10), 0,
       "a thread for real-time service");
    is(sys_thread_exregs(rt.thread, 0, 0, ABI_EXREGS_START).err, 0, "started");
    section_max();
    tk0 = ticks;
    err = 0;
    for (unsigned round = 0; round < RT_ROUNDS && !err; round++) {
        struct abi_rt_params p = {0};
        p.period_ns = MS;
        p.mode = ABI_RT_STRICT_PERIODIC;
        p.nslices = ABI_RT_MAX_SLICES;
        p.be_prio = 10;
        for (unsigned s = 0; s < ABI_RT_MAX_SLICES; s++) p.slice[s].budget_ns = 50 * US, p.slice[s].prio = 200 - s;
        err = sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_CONFIGURE, rt.thread, (uint64_t)&p, 0).err;
        sleep_ns(3 * MS);
        if (!err) err = sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_DISABLE, rt.thread, 0, 0).err;
        sleep_ns(200 * US);
    }
    is(err, 0, "%u rounds of configure (8 slices, 1 ms period), 3 ms of jobs, disable", RT_ROUNDS);
    ok(rt_jobs >= RT_ROUNDS * 2, "its jobs ran (%lu)", rt_jobs);
    check("real-time configure, jobs and disable", tk0);
    is(sys_cap_delete(rt.thread).err, 0, "delete the real-time thread");
    settle();
    section_max();

    /* --- sub-factories ---------------------------------------------------- */
    tk0 = ticks;
    abi_cap_t fac = cap_alloc();
    err = sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_FACTORY, fac, 4 << 20, 0).err;
    abi_cap_t objs = cap_alloc();
    for (unsigned i = 1; i < 64 && !err; i++) err = sys_factory_create(fac, ABI_OBJ_GATE, cap_alloc(), ABI_CAP_SELF_THREAD, i).err;
    for (unsigned i = 0; i < 4 && !err; i++) err = sys_factory_create(fac, ABI_OBJ_TASK, cap_alloc(), 1024, 0).err;
    is(err, 0, "a factory of 4 MiB with 63 gates and 4 tasks from it");
    is(sys_cap_delete(fac).err, 0, "delete the factory");
    end = cap_alloc();
    for (abi_cap_t c = objs + 1; c < end; c++) sys_cap_delete(c);
    settle();
    check("factory, its objects, deletion", tk0);

    /* --- console --------------------------------------------------------- */
    static char line[4000];
    for (unsigned i = 0; i < sizeof line - 1; i++) line[i] = i % 64 == 63 || i == sizeof line - 2 ? '\n' : "#-"[i % 2];
    tk0 = ticks;
    struct sys_ret r = sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_PUTS, (uint64_t)line, sizeof line - 1);
    is(r.err, 0, "4000 bytes of console output in one call");
    check("console output", tk0);
    ok(ticks > tk0, "the ticker ran during the output");

    ticker_run = 0;
    settle();
    section_max();
    ok(worst <= IRQOFF_BOUND_NS, "longest interrupts-off section over the whole run, waits for the reaper included: %lu ns <= %lu ns",
       worst, IRQOFF_BOUND_NS);
    tap_done();
}
