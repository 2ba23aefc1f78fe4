/* Child tasks and threads sharing the program image (see drops/spawn.h). */
#include "drops/spawn.h"
#include "drops/ipc.h"

extern char thread_entry[];

static abi_cap_t next_cap = ABI_CAP_ROOT_FIRST_FREE;
static uint64_t next_own_utcb = ABI_ROOT_UTCB_ADDR + 4096;

abi_cap_t cap_alloc(void) { return __atomic_fetch_add(&next_cap, 1, __ATOMIC_RELAXED); }

int64_t child_task(struct child *c, unsigned cap_slots)
{
    c->task = cap_alloc();
    c->thread = 0;
    c->utcb = ABI_ROOT_UTCB_ADDR;
    struct sys_ret r = sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_TASK, c->task, cap_slots, 0);
    if (r.err) return r.err;
    uint64_t start = (uint64_t)__executable_start & ~0xfffull;
    uint64_t end = ((uint64_t)_end + 0xfff) & ~0xfffull;
    r = sys_task_map(c->task, start, start, (end - start) >> 12, ABI_MAP_RWX);
    if (r.err) return r.err;
    r = sys_cap_copy(c->task, c->task, ABI_CAP_SELF_TASK, ABI_R_ALL);
    if (r.err) return r.err;
    r = sys_cap_copy(c->task, ABI_CAP_MACHINE, ABI_CAP_MACHINE, ABI_R_SEND);
    return r.err;
}

int64_t child_thread(struct child *c, void (*fn)(uint64_t), uint64_t arg, uint64_t stack_top, unsigned prio)
{
    int64_t err = child_thread_prepare(c, fn, arg, stack_top, prio);
    return err ? err : sys_thread_exregs(c->thread, 0, 0, ABI_EXREGS_START).err;
}

int64_t child_thread_prepare(struct child *c, void (*fn)(uint64_t), uint64_t arg, uint64_t stack_top, unsigned prio)
{
    abi_cap_t th = cap_alloc();
    struct sys_ret r = sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_THREAD, th, 0, 0);
    if (r.err) return r.err;
    uint64_t utcb_addr;
    if (c->task == ABI_CAP_SELF_TASK) {
        utcb_addr = __atomic_fetch_add(&next_own_utcb, 4096, __ATOMIC_RELAXED);
    } else {
        utcb_addr = c->utcb;
        c->utcb += 4096;
    }
    r = sys_thread_bind(th, c->task, utcb_addr);
    if (r.err) return r.err;
    if (c->task != ABI_CAP_SELF_TASK && !c->thread) {
        r = sys_cap_copy(c->task, th, ABI_CAP_SELF_THREAD, ABI_R_ALL);
        if (r.err) return r.err;
    }
    c->thread = th;
    r = sys_thread_sched(th, prio, 0);
    if (r.err) return r.err;
    /* The image is shared, so the stack can be prepared from here. */
    uint64_t *sp = (uint64_t *)(stack_top & ~0xfull);
    *--sp = arg;
    *--sp = (uint64_t)fn;
    return sys_thread_exregs(th, (uint64_t)thread_entry, (uint64_t)sp, ABI_EXREGS_SET_IP | ABI_EXREGS_SET_SP).err;
}

uint64_t free_ram_reserve(uint64_t bytes, uint64_t align)
{
    static uint64_t next, end;
    if (!end) {
        const struct abi_kip *k = kip();
        for (unsigned i = 0; i < k->mem_count; i++)
            if (k->mem[i].type == ABI_MEM_FREE && k->mem[i].size > end - next)
                next = k->mem[i].base, end = k->mem[i].base + k->mem[i].size;
    }
    uint64_t base = (next + align - 1) & ~(align - 1);
    if (base < next || base > end || bytes > end - base) return 0;
    next = base + bytes;
    return base;
}

int64_t task_map_ram(abi_cap_t task, uint64_t phys, uint64_t va, uint64_t bytes)
{
    return sys_task_map(task, ABI_PHYS_WINDOW + phys, va, (bytes + 4095) >> 12, ABI_MAP_R | ABI_MAP_W).err;
}

_Noreturn void thread_exit(void)
{
    for (;;) ipc_receive(ABI_CAP_NULL, ABI_TIMEOUT_NEVER);
}
