/*
 * Latency benchmark on our kernel: the cyclictest equivalent.
 *
 * The highest-priority thread is periodic under rt-sched (period 1 ms,
 * one 500 us slice at priority 250) and runs 2,000 jobs; its latency is the
 * time it starts running minus the intended release (start + k * period),
 * read from the TSC, which counts virtual nanoseconds under -icount.
 * Two runs: idle, and under load (all at one best-effort priority, sharing
 * the CPU round robin): two CPU hogs, an IPC storm
 * between two other address spaces, and a thread mapping and unmapping
 * 16 MiB over and over. The longest interrupts-off section of each run is
 * reported too, and then how it depends on the size of one unmap. Each load
 * runs twice: without and with the kernel's timer anticipation (gravity,
 * docs/architecture.md), which it calibrates during the first run.
 */
#include "drops/console.h"
#include "drops/ipc.h"
#include "drops/rt.h"
#include "drops/spawn.h"

#include <stdbool.h>

#define US 1000ul
#define MS 1000000ul
#define LOOPS 2000u
#define HIST_US 200u

static uint8_t stacks[8][16384] __attribute__((aligned(16)));
static volatile uint64_t load_on, hog_iters[2], ipc_rounds, unmap_rounds;
static uint64_t lat[LOOPS];
static uint64_t free_base; /* root memory for the unmap load */

static uint64_t stat(uint64_t which) { return sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_STATS, which, 0).v0; }

static void hog(uint64_t i)
{
    for (;;) hog_iters[i]++;
}

static void echo(uint64_t arg)
{
    ipc_wait(ABI_TIMEOUT_NEVER);
    for (;;) ipc_reply_wait(ABI_TAG(ABI_PROTO_USER, 1, 0), ABI_TIMEOUT_NEVER);
}

static abi_cap_t storm_gate;
static void storm(uint64_t arg)
{
    for (;;) {
        if (!load_on) {
            sleep_ns(MS);
            continue;
        }
        ipc_call(storm_gate, ABI_TAG(ABI_PROTO_USER, 1, 0), ABI_TIMEOUT_NEVER);
        ipc_rounds++;
    }
}

static abi_cap_t unmap_task;
static void unmapper(uint64_t arg)
{
    const uint64_t pages = 4096; /* 16 MiB */
    for (;;) {
        if (!load_on) {
            sleep_ns(MS);
            continue;
        }
        sys_task_map(unmap_task, ABI_PHYS_WINDOW + free_base, 0x40000000, pages, ABI_MAP_R | ABI_MAP_W);
        sys_unmap(ABI_PHYS_WINDOW + free_base, pages, ABI_MAP_RWX);
        unmap_rounds++;
    }
}

static volatile int measured;
static uint64_t irqoff_ns; /* the longest interrupts-off section of a run */
static abi_cap_t cyclic_cap;
static uint64_t measure_start;

static void cyclic(uint64_t arg)
{
    sys_rt_next_period(); /* wait for the first release */
    for (unsigned k = 0; k < LOOPS; k++) {
        lat[k] = now_ns() - (measure_start + k * MS);
        /* The interrupts-off maximum counts from the first release to the
         * last: setting up and ending this thread is not the load. */
        if (k == 0) stat(ABI_STAT_IRQOFF_RESET);
        sys_rt_next_period();
    }
    irqoff_ns = stat(ABI_STAT_IRQOFF_MAX_NS); /* ... up to the last release */
    /* Done: end the reservation here, so no job after the last one counts as missed. */
    sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_DISABLE, cyclic_cap, 0, 0);
    measured = 1;
    thread_exit();
}

static void report(const char *load, const char *gravity)
{
    uint64_t min = ~0ull, max = 0, sum = 0;
    unsigned hist[HIST_US + 1] = {0};
    for (unsigned k = 0; k < LOOPS; k++) {
        uint64_t l = lat[k];
        if (l < min) min = l;
        if (l > max) max = l;
        sum += l;
        hist[l / US < HIST_US ? l / US : HIST_US]++;
    }
    uint64_t avg = sum / LOOPS;
    printf("BENCH latency system=ours load=%s gravity=%s min_us=%lu.%02lu avg_us=%lu.%02lu max_us=%lu.%02lu\n", load,
           gravity, min / US, min % US / 10, avg / US, avg % US / 10, max / US, max % US / 10);
    for (unsigned b = 0; b <= HIST_US; b++)
        if (hist[b]) printf("HIST ours %s %s %u %u\n", load, gravity, b, hist[b]);
}

/* gravity: the kernel's calibrated timer anticipation, or none. */
static void run(const char *load, bool gravity, abi_cap_t sched_thread)
{
    sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_GRAVITY, gravity ? ABI_RT_GRAVITY_CALIBRATED : 0, 0, 0);
    struct abi_rt_params p = {0};
    p.period_ns = MS;
    p.mode = ABI_RT_STRICT_PERIODIC;
    p.nslices = 1;
    /* Above the load also outside its slice: the thread gets to call
     * next_period before the first release, whatever the load does. */
    p.be_prio = 250;
    p.slice[0].budget_ns = 500 * US;
    p.slice[0].prio = 250;
    measured = 0;
    measure_start = now_ns() + 2 * MS;
    p.start_ns = measure_start;
    if (sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_CONFIGURE, sched_thread, (uint64_t)&p, 0).err) {
        printf("bench latency: cannot configure the periodic thread\n");
        machine_exit(1);
    }
    uint64_t *sp = (uint64_t *)(stacks[0] + sizeof stacks[0]);
    *--sp = 0;
    *--sp = (uint64_t)cyclic;
    extern char thread_entry[];
    sys_thread_exregs(sched_thread, (uint64_t)thread_entry, (uint64_t)sp,
                      ABI_EXREGS_HALT | ABI_EXREGS_SET_IP | ABI_EXREGS_SET_SP | ABI_EXREGS_START);
    while (!measured) sleep_ns(10 * MS);
    sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_DISABLE, sched_thread, 0, 0);
    /* The job trace, as JOB lines for tools/rt-jobs-csv.sh. */
    const char *g = gravity ? "on" : "off";
    printf("# %s, gravity %s (%lu ns): %ld job records\n", load, g, stat(ABI_STAT_RT_GRAVITY_NS),
           rt_trace_dump(ABI_CAP_SCHED_CONTROL));
    report(load, g);
    printf("BENCH irqoff load=%s gravity=%s max_us=%lu.%02lu\n", load, g, irqoff_ns / US, irqoff_ns % US / 10);
}

int main(void)
{
    const struct abi_kip *k = kip();
    for (unsigned i = 0; i < k->mem_count && !free_base; i++)
        if (k->mem[i].type == ABI_MEM_FREE && k->mem[i].size >= (128ull << 20)) free_base = k->mem[i].base;
    sys_thread_sched(ABI_CAP_SELF_THREAD, 200, 255);

    abi_cap_t cyc = cyclic_cap = cap_alloc();
    sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_THREAD, cyc, 0, 0);
    sys_thread_bind(cyc, ABI_CAP_SELF_TASK, ABI_ROOT_UTCB_ADDR + 100 * 4096);

    /* Without gravity first: the kernel calibrates it on these releases. */
    run("idle", false, cyc);
    run("idle", true, cyc);
    printf("BENCH gravity calibrated_ns=%lu\n",
           sys_rt_control(ABI_CAP_SCHED_CONTROL, ABI_RT_GRAVITY, ABI_RT_GRAVITY_CALIBRATED, 0, 0).v1);

    /* The load: two hogs, an IPC storm between two other tasks, an unmapper. */
    struct child self = {.task = ABI_CAP_SELF_TASK};
    child_thread(&self, hog, 0, (uint64_t)(stacks[1] + 16384), 100);
    child_thread(&self, hog, 1, (uint64_t)(stacks[2] + 16384), 100);
    struct child srv, cli;
    child_task(&srv, 16);
    child_thread(&srv, echo, 0, (uint64_t)(stacks[3] + 16384), 100);
    storm_gate = cap_alloc();
    sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, storm_gate, srv.thread, 1);
    child_task(&cli, 16);
    sys_cap_copy(cli.task, storm_gate, 10, ABI_R_SEND);
    storm_gate = 10; /* the client uses its own slot */
    child_thread(&cli, storm, 0, (uint64_t)(stacks[4] + 16384), 100);
    struct child um;
    child_task(&um, 16);
    unmap_task = um.task;
    child_thread(&self, unmapper, 0, (uint64_t)(stacks[5] + 16384), 100);
    load_on = 1;
    sleep_ns(5 * MS);
    run("load", false, cyc);
    run("load", true, cyc);
    load_on = 0;
    printf("# load during the run: hogs %lu + %lu iterations, %lu IPC round trips, %lu map/unmap rounds of 16 MiB\n",
           hog_iters[0], hog_iters[1], ipc_rounds, unmap_rounds);

    /* Interrupts-off time against the size of one unmap. */
    sys_thread_sched(ABI_CAP_SELF_THREAD, 200, 255);
    for (uint64_t pages = 1; pages <= 16384; pages *= 4) {
        sys_task_map(unmap_task, ABI_PHYS_WINDOW + free_base, 0x40000000, pages, ABI_MAP_R | ABI_MAP_W);
        sleep_ns(MS);
        sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_STATS, ABI_STAT_IRQOFF_RESET, 0);
        uint64_t t0 = now_ns();
        sys_unmap(ABI_PHYS_WINDOW + free_base, pages, ABI_MAP_RWX);
        uint64_t dt = now_ns() - t0;
        printf("UNMAP size_kib=%lu duration_us=%lu irqoff_ns=%lu\n", pages * 4, dt / US, stat(ABI_STAT_IRQOFF_MAX_NS));
    }
    return 0;
}
