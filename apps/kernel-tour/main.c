/*
 * The default scenario: a short tour of the kernel's mechanisms, each shown
 * working between real address spaces, with what happened printed as it
 * happens. It ends with a summary and exit status 0 (nonzero if any step
 * failed), so `make run` doubles as a smoke test.
 */
#include "drops/console.h"
#include "drops/ipc.h"
#include "drops/spawn.h"

#define PROTO_ADD (ABI_PROTO_USER + 1)

static uint8_t stacks[4][16384] __attribute__((aligned(16)));
static int failures;
static volatile uint64_t pager_faults, emulated_calls;

static void step(int good, const char *what)
{
    printf("tour: [%s] %s\n", good ? " ok " : "FAIL", what);
    if (!good) failures++;
}

/* A server in its own address space: adds the two words it is sent. */
static void adder(uint64_t arg)
{
    ipc_wait(ABI_TIMEOUT_NEVER);
    for (;;) {
        struct abi_utcb *u = utcb();
        u->mr[0] = u->mr[0] + u->mr[1];
        ipc_reply_wait(ABI_TAG(PROTO_ADD, 1, 0), ABI_TIMEOUT_NEVER);
    }
}

/* A pager in the root task: backs faults with pages from the root's memory. */
static uint64_t free_ram_base;
static void pager(uint64_t arg)
{
    struct sys_ret r = ipc_wait(ABI_TIMEOUT_NEVER);
    for (;;) {
        struct abi_utcb *u = utcb();
        uint64_t addr = u->mr[0] & ~0xfffull;
        uint64_t page = ABI_PHYS_WINDOW + free_ram_base + pager_faults * 4096;
        pager_faults++;
        *(volatile uint64_t *)page = addr ^ 0x5a5a; /* content the child will check */
        u->mr[0] = ABI_ITEM_MAP | addr;
        u->mr[1] = ABI_FPAGE(page, 12, ABI_MAP_R | ABI_MAP_W);
        r = ipc_reply_wait(ABI_TAG(0, 0, 1), ABI_TIMEOUT_NEVER);
        (void)r;
    }
}

/* An exception handler: emulates a Linux getpid (39) as 4242. */
static void emulator(uint64_t arg)
{
    ipc_wait(ABI_TIMEOUT_NEVER);
    for (;;) {
        struct abi_exc_state *s = (struct abi_exc_state *)utcb()->mr;
        if (s->vector == ABI_EXC_SYSCALL && s->rax == 39) s->rax = 4242;
        else s->rip += 2;
        emulated_calls++;
        ipc_reply_wait(ABI_TAG(0, ABI_EXC_WORDS, 0), ABI_TIMEOUT_NEVER);
    }
}

static volatile uint64_t worker_sum, worker_pid, worker_done;

/* Runs in a child with a pager and an exception handler. */
static void worker(uint64_t arg)
{
    uint64_t sum = 0;
    for (uint64_t a = 0x50000000; a < 0x50000000 + 16 * 4096; a += 4096) sum += *(volatile uint64_t *)a ^ 0x5a5a;
    worker_sum = sum;
    uint64_t pid = 39;
    __asm__ volatile("syscall" : "+a"(pid) : : "rcx", "r11", "memory");
    worker_pid = pid;
    worker_done = 1;
    thread_exit();
}

int main(void)
{
    const struct abi_kip *k = kip();
    printf("tour: hello from the root task; the kernel info page says:\n");
    printf("tour:   %u boot modules, clock %lu kHz, kernel pool %lu pages\n", k->module_count, k->tsc_khz,
           k->kernel_pool_pages);
    for (unsigned i = 0; i < k->mem_count; i++) {
        const struct abi_kip_mem *m = &k->mem[i];
        if (m->type == ABI_MEM_FREE && m->size >= (16u << 20) && !free_ram_base) free_ram_base = m->base;
        printf("tour:   memory %012lx-%012lx %s\n", m->base, m->base + m->size,
               m->type == ABI_MEM_FREE ? "free, owned by root" : m->type == ABI_MEM_MODULE ? "boot module" : "kernel");
    }

    /* 1. IPC to a server in another address space, through a labelled gate. */
    struct child srv;
    step(child_task(&srv, 16) == 0 && child_thread(&srv, adder, 0, (uint64_t)(stacks[0] + 16384), 100) == 0,
         "started an adder server in its own address space");
    abi_cap_t gate = cap_alloc();
    sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, gate, srv.thread, 7);
    uint64_t t0 = now_ns();
    uint64_t total = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        utcb()->mr[0] = total;
        utcb()->mr[1] = i;
        ipc_call(gate, ABI_TAG(PROTO_ADD, 2, 0), ABI_TIMEOUT_NEVER);
        total = utcb()->mr[0];
    }
    uint64_t dt = now_ns() - t0;
    step(total == 499500, "1000 calls to the adder summed 0..999 = 499500");
    printf("tour:   one round trip took %lu ns of virtual time (%lu instructions)\n", dt / 1000, dt / 1000 / 8);

    /* 2. Page faults handled by a user-level pager, exceptions by a handler. */
    struct child self = {.task = ABI_CAP_SELF_TASK};
    child_thread(&self, pager, 0, (uint64_t)(stacks[1] + 16384), 120);
    abi_cap_t pager_thread = self.thread;
    child_thread(&self, emulator, 0, (uint64_t)(stacks[2] + 16384), 120);
    abi_cap_t emulator_thread = self.thread;
    struct child w;
    child_task(&w, 16);
    abi_cap_t pg = cap_alloc(), eg = cap_alloc();
    sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, pg, pager_thread, 1);
    sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, eg, emulator_thread, 1);
    sys_cap_copy(w.task, pg, 10, ABI_R_SEND);
    sys_cap_copy(w.task, eg, 11, ABI_R_SEND);
    child_thread_prepare(&w, worker, 0, (uint64_t)(stacks[3] + 16384), 100);
    sys_thread_config(w.thread, 10, 11); /* pager and exception handler: the gates copied above */
    sys_thread_exregs(w.thread, 0, 0, ABI_EXREGS_START);
    while (!worker_done) sleep_ns(1000000);
    uint64_t want = 0;
    for (uint64_t a = 0x50000000; a < 0x50000000 + 16 * 4096; a += 4096) want += a;
    step(pager_faults == 16 && worker_sum == want, "a child touched 16 unmapped pages; the pager resolved each fault");
    step(worker_pid == 4242 && emulated_calls == 1, "its Linux getpid() became exception IPC, emulated as 4242");

    /* 3. Revocation: unmap the pages from the pager's side, recursively. */
    uint64_t base = ABI_PHYS_WINDOW + free_ram_base;
    struct sys_ret r = sys_unmap(base, 16, ABI_MAP_RWX);
    step(r.err == 0, "unmapped the 16 pages from the root: the child's copies are gone with them");

    /* 4. Containment: deleting a task stops it and frees its memory. */
    uint64_t before = sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_STATS, ABI_STAT_FREE_KERNEL_PAGES, 0).v0;
    sys_cap_delete(w.task);
    sys_cap_delete(srv.task);
    sleep_ns(1000000);
    uint64_t after = sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_STATS, ABI_STAT_FREE_KERNEL_PAGES, 0).v0;
    step(after > before, "destroyed both child tasks; their kernel memory came back");
    printf("tour:   free kernel pages %lu -> %lu\n", before, after);
    r = ipc_call(gate, ABI_TAG(PROTO_ADD, 2, 0), ABI_TIMEOUT_ZERO);
    step(r.err == ABI_E_ABORTED, "a call to the dead server fails cleanly (ABORTED)");

    uint64_t irqoff = sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_STATS, ABI_STAT_IRQOFF_MAX_NS, 0).v0;
    uint64_t switches = sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_STATS, ABI_STAT_CONTEXT_SWITCHES, 0).v0;
    printf("tour: summary: %s; %lu context switches, longest interrupts-off section %lu ns, %lu ms since boot\n",
           failures ? "SOME STEPS FAILED" : "every step worked", switches, irqoff, now_ns() / 1000000);
    return failures ? 1 : 0;
}
