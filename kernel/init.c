/*
 * Boot: from the multiboot entry to the first user thread.
 *
 * Order matters: the boot information is copied before the memory it lives
 * in is handed out; the kernel pool is carved from the top of RAM, away from
 * the image and the modules; everything else becomes the root task's.
 */
#include "abi/errors.h"
#include "abi/kip.h"
#include "abi/utcb.h"
#include "arch_apic.h"
#include "arch_cpu.h"
#include "arch_paging.h"
#include "boot_info.h"
#include "cap_table.h"
#include "console.h"
#include "elf.h"
#include "factory.h"
#include "fault.h"
#include "irq.h"
#include "kip.h"
#include "kmem.h"
#include "memory.h"
#include "rt.h"
#include "sched.h"
#include "task.h"
#include "thread.h"

extern char _kernel_phys_start[], _kernel_phys_end[];
extern char boot_stack[];

static struct boot_info bi;
static struct kobj machine_obj = {.type = ABI_OBJ_MACHINE};
static struct kobj irq_control_obj = {.type = ABI_OBJ_IRQ_CONTROL};
static struct kobj sched_control_obj = {.type = ABI_OBJ_SCHED_CONTROL};
static struct thread idle;

_Noreturn static void boot_fail(const char *what, const char *why)
{
    kprintf("[kernel] boot failed: %s: %s\n", what, why);
    arch_machine_exit(2);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen) { return a < b + blen && b < a + alen; }

/* The pool: 1/8 of RAM (8..128 MiB) from the top of the highest region that
 * does not collide with the kernel image or a module. */
static void pool_place(uint64_t *base, uint64_t *size)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < bi.ram_count; i++) total += bi.ram[i].size;
    uint64_t want = total / 8;
    if (want < (8ull << 20)) want = 8ull << 20;
    if (want > (128ull << 20)) want = 128ull << 20;
    want &= ~0x3fffffull;
    for (int i = (int)bi.ram_count - 1; i >= 0; i--) {
        uint64_t end = (bi.ram[i].base + bi.ram[i].size) & ~0x3fffffull; /* 4 MiB: max buddy block */
        if (end < want || end - want < bi.ram[i].base) continue;
        uint64_t b = end - want;
        bool clash = overlaps(b, want, virt_to_phys(_kernel_phys_start) & ~0xfffull,
                              (uint64_t)(_kernel_phys_end - _kernel_phys_start));
        for (unsigned m = 0; m < bi.module_count; m++)
            clash |= overlaps(b, want, bi.module[m].start, bi.module[m].end - bi.module[m].start);
        if (b < (1ull << 20) || clash) continue;
        *base = b;
        *size = want;
        return;
    }
    boot_fail("memory", "no room for the kernel pool");
}

static void kip_add_mem(uint64_t base, uint64_t size, uint32_t type)
{
    if (kip->mem_count < ABI_KIP_MEM_MAX && size)
        kip->mem[kip->mem_count++] = (struct abi_kip_mem){base, size, type, 0};
}

/* RAM minus low memory, kernel image, pool and modules goes to the root task. */
static void give_free_ram(uint64_t pool_base, uint64_t pool_size)
{
    uint64_t kbase = (uint64_t)_kernel_phys_start, kend = ((uint64_t)_kernel_phys_end + 0xfff) & ~0xfffull;
    for (unsigned i = 0; i < bi.ram_count; i++) {
        uint64_t lo = bi.ram[i].base, hi = bi.ram[i].base + bi.ram[i].size;
        if (lo < (1ull << 20)) lo = 1ull << 20;
        while (lo < hi) {
            /* Find the next excluded range starting at or after lo. */
            uint64_t cut_lo = hi, cut_hi = hi;
            uint64_t ex[ABI_KIP_MODULE_MAX + 2][2];
            unsigned n = 0;
            ex[n][0] = kbase, ex[n][1] = kend, n++;
            ex[n][0] = pool_base, ex[n][1] = pool_base + pool_size, n++;
            for (unsigned m = 0; m < bi.module_count; m++)
                ex[n][0] = bi.module[m].start & ~0xfffull, ex[n][1] = (bi.module[m].end + 0xfff) & ~0xfffull, n++;
            for (unsigned k = 0; k < n; k++)
                if (ex[k][1] > lo && ex[k][0] < cut_lo) cut_lo = ex[k][0] > lo ? ex[k][0] : lo, cut_hi = ex[k][1];
            if (cut_lo > lo) {
                kip_add_mem(lo, cut_lo - lo, ABI_MEM_FREE);
                memory_give_to_root(lo, cut_lo - lo);
            }
            lo = cut_hi > cut_lo ? cut_hi : hi;
        }
    }
    kip_add_mem(kbase, kend - kbase, ABI_MEM_KERNEL);
    kip_add_mem(pool_base, pool_size, ABI_MEM_KERNEL);
    for (unsigned m = 0; m < bi.module_count; m++) {
        uint64_t b = bi.module[m].start & ~0xfffull, e = (bi.module[m].end + 0xfff) & ~0xfffull;
        kip_add_mem(b, e - b, ABI_MEM_MODULE);
        memory_give_to_root(b, e - b);
        kip->module[m].phys = bi.module[m].start;
        kip->module[m].size = bi.module[m].end - bi.module[m].start;
        for (unsigned c = 0; c < ABI_KIP_CMDLINE_MAX; c++) kip->module[m].cmdline[c] = bi.module[m].cmdline[c];
    }
    kip->module_count = bi.module_count;
    kip->phys_end = bi.phys_end;
}

static void start_root(struct factory *root_factory)
{
    struct task *root = task_create(root_factory, ABI_ROOT_CAP_SLOTS);
    struct thread *t = thread_create(root_factory);
    if (!root || !t) boot_fail("root task", "out of kernel memory");
    root->is_root = true;
    task_set_name(root, "root");

    uint64_t entry;
    const uint8_t *image = phys_to_virt(bi.module[0].start);
    const char *err = elf_load_root(root, image, bi.module[0].end - bi.module[0].start, &entry);
    if (err) boot_fail(bi.module[0].cmdline, err);
    for (uint64_t va = ABI_ROOT_STACK_TOP - ABI_ROOT_STACK_SIZE; va < ABI_ROOT_STACK_TOP; va += 4096) {
        void *page = kmem_alloc_pages(0);
        if (!page || !mem_install_root_page(root, va, virt_to_phys(page), ABI_MAP_R | ABI_MAP_W))
            boot_fail("root task", "out of kernel memory for its stack");
    }
    if (thread_bind(t, root, ABI_ROOT_UTCB_ADDR) != ABI_E_OK) boot_fail("root task", "cannot bind its thread");

    static const struct {
        uint64_t slot;
        uint8_t type;
    } initial[] = {{ABI_CAP_SELF_TASK, ABI_OBJ_TASK},
                   {ABI_CAP_SELF_THREAD, ABI_OBJ_THREAD},
                   {ABI_CAP_FACTORY, ABI_OBJ_FACTORY},
                   {ABI_CAP_IRQ_CONTROL, ABI_OBJ_IRQ_CONTROL},
                   {ABI_CAP_MACHINE, ABI_OBJ_MACHINE},
                   {ABI_CAP_SCHED_CONTROL, ABI_OBJ_SCHED_CONTROL}};
    struct kobj *objs[] = {&root->obj, &t->obj, &root_factory->obj, &irq_control_obj, &machine_obj, &sched_control_obj};
    for (unsigned i = 0; i < sizeof initial / sizeof initial[0]; i++) {
        int64_t err;
        struct cap *c = task_slot_alloc(root, initial[i].slot, &err);
        if (!c) boot_fail("root task", "out of kernel memory for its capabilities");
        cap_install_original(c, objs[i], initial[i].type, ABI_R_ALL);
    }

    t->frame->rip = entry;
    t->frame->rsp = ABI_ROOT_STACK_TOP;
    t->frame->rdi = ABI_KIP_ADDR;
    t->mcp = ABI_PRIO_MAX;
    t->prio = ABI_PRIO_DEFAULT;
    thread_start(t);
}

void kernel_main(uint32_t magic, uint32_t mbi_phys)
{
    uint64_t boot_tsc = arch_rdtsc();
    console_init();
    kprintf("[kernel] DROPS-style microkernel, x86-64, booting\n");
    arch_cpu_init();
    const char *err = boot_info_parse(magic, mbi_phys, &bi);
    if (err) boot_fail("boot information", err);

    uint64_t pool_base, pool_size;
    pool_place(&pool_base, &pool_size);
    kmem_init(phys_to_virt(pool_base), pool_size >> 12);
    kip_init();
    kip->boot_tsc = boot_tsc;
    kip->kernel_pool_pages = kmem_total_pages();
    memory_init(bi.phys_end);
    give_free_ram(pool_base, pool_size);
    arch_kernel_space_init();

    arch_apic_init();
    clock_init(arch_tsc_khz(), arch_lapic_ticks_per_ms());
    kip->tsc_khz = arch_tsc_khz();
    irq_init();
    rt_kernel_init();
    kprintf("[kernel] RAM %lu MiB, kernel pool %lu MiB, %u modules, TSC %lu kHz, LAPIC timer %lu ticks/ms\n",
            bi.phys_end >> 20, pool_size >> 20, bi.module_count, arch_tsc_khz(), arch_lapic_ticks_per_ms());
    kprintf("[kernel] CPU: nx=%d smep=%d smap=%d\n", arch_features.nx, arch_features.smep, arch_features.smap);

    idle.kstack = (uint8_t *)boot_stack;
    idle.prio = ABI_PRIO_IDLE;
    sched_init(&idle);

    struct factory *root_factory = factory_create_root((uint64_t)kmem_free_pages_count() * KMEM_PAGE_SIZE);
    if (!root_factory) boot_fail("kernel", "out of memory");
    machine_obj.factory = irq_control_obj.factory = sched_control_obj.factory = root_factory;
    start_root(root_factory);
    kprintf("[kernel] starting root task '%s'\n", bi.module[0].cmdline);
    need_resched = true;
    idle_loop();
}
