/*
 * Component threads and the libc backend.
 *
 * Every component thread has its own handler thread in the root, reached
 * through a gate in the component's table (its exception handler; it has no
 * pager, so a page fault it cannot take is an exception too). The handler
 * serves the Linux system calls musl makes (vector ABI_EXC_SYSCALL) and
 * turns any other exception into the end of the component: reported with
 * name, vector, fault address and instruction pointer, its threads stopped
 * and its memory reclaimed, while the rest of the system carries on.
 *
 * One handler per thread lets a call block without a reply capability: the
 * component thread waits for its handler's reply, and the handler itself
 * waits (futex, nanosleep) in an open receive that only a wake-up from
 * another root thread can end. Handlers that lose their thread go back to a
 * pool and are reused; the root never destroys them.
 *
 * New threads (the first one, clone for pthreads, the threads service) are
 * started at address 0: the fault this takes arrives at the handler as the
 * thread's first exception, and the reply gives it its complete initial
 * register state (what clone needs: the caller's registers with rax = 0,
 * a new stack and thread pointer).
 */
#include "root.h"
#include "drops/spawn.h"

#define ROOT_PRIO 250u /* every root thread: the big lock spins with yield */
#define HANDLER_STACK (16ull << 10)
#define HANDLERS_MAX 256

/* Linux x86-64 system call numbers served here */
enum {
    NR_read = 0, NR_write = 1, NR_open = 2, NR_close = 3, NR_fstat = 5, NR_lseek = 8, NR_mmap = 9,
    NR_mprotect = 10, NR_munmap = 11, NR_brk = 12, NR_rt_sigaction = 13, NR_rt_sigprocmask = 14,
    NR_ioctl = 16, NR_readv = 19, NR_writev = 20, NR_sched_yield = 24, NR_madvise = 28, NR_nanosleep = 35,
    NR_getpid = 39, NR_clone = 56, NR_exit = 60, NR_gettid = 186, NR_futex = 202, NR_arch_prctl = 158,
    NR_set_tid_address = 218, NR_clock_gettime = 228, NR_clock_nanosleep = 230, NR_exit_group = 231,
    NR_openat = 257, NR_newfstatat = 262,
};
#define NR_MAX 512

/* Linux errno values */
#define L_EPERM 1
#define L_ENOENT 2
#define L_EAGAIN 11
#define L_EBADF 9
#define L_ENOMEM 12
#define L_EACCES 13
#define L_EFAULT 14
#define L_EINVAL 22
#define L_EMFILE 24
#define L_ENOTTY 25
#define L_ESPIPE 29
#define L_ENOSYS 38
#define L_ETIMEDOUT 110

#define ARCH_SET_FS 0x1002
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4
#define CLONE_VM 0x100
#define CLONE_SETTLS 0x80000
#define CLONE_PARENT_SETTID 0x100000
#define CLONE_CHILD_CLEARTID 0x200000
#define CLONE_THREAD 0x10000
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_CMD_MASK 0x7f /* without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME */

struct handler {
    abi_cap_t thread; /* root's slot */
    struct cthread *ct;
    struct handler *next_free;
    /* parked: waiting for a wake-up from another root thread */
    int parked, woken;
    struct comp *futex_comp; /* non-NULL: in a futex wait on futex_addr */
    uint64_t futex_addr;
};

static struct handler handlers[HANDLERS_MAX];
static unsigned nhandlers;
static struct handler *free_handlers;

/* --- the lock: all root threads share one priority, so yielding lets the
 * holder finish --- */

static volatile int big_lock;
/* The handler holding the lock, if a handler does (NULL: the main thread);
 * set by handlers after each lock(), cleared by unlock(). */
static struct handler *self;

void lock(void)
{
    while (__atomic_exchange_n(&big_lock, 1, __ATOMIC_ACQUIRE)) sys_thread_yield();
}

/* Handlers to wake, collected under the lock and woken after it is
 * released: a wake-up is a blocking send (the handler may not have reached
 * its receive yet), and a handler whose wait just timed out is spinning
 * for the lock, so sending while holding it could deadlock. */
static abi_cap_t wakes[HANDLERS_MAX];
static unsigned nwakes;

void unlock(void)
{
    abi_cap_t todo[HANDLERS_MAX];
    unsigned n = nwakes;
    memcpy(todo, wakes, n * sizeof todo[0]);
    nwakes = 0;
    self = NULL;
    __atomic_store_n(&big_lock, 0, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < n; i++) sys_ipc(todo[i], 0, ABI_TAG(0, 0, 0), ABI_TIMEOUT_NEVER, 0, ABI_IPC_SEND);
}

/* --- handler threads --- */

static void handler_main(uint64_t arg);

static struct handler *handler_get(void)
{
    struct handler *h = free_handlers;
    if (h) {
        free_handlers = h->next_free;
        return h;
    }
    if (nhandlers == HANDLERS_MAX) return NULL;
    uint64_t phys = frames_alloc_contig(HANDLER_STACK / PAGE);
    if (!phys) return NULL;
    h = &handlers[nhandlers];
    struct child me = {.task = ABI_CAP_SELF_TASK};
    /* Handlers create handlers (clone): they need the root's full priority range. */
    if (child_thread_prepare(&me, handler_main, (uint64_t)h, (uint64_t)pwin(phys) + HANDLER_STACK, ROOT_PRIO) ||
        sys_thread_sched(me.thread, ROOT_PRIO, ABI_PRIO_MAX).err ||
        sys_thread_exregs(me.thread, 0, 0, ABI_EXREGS_START).err) {
        frames_free(phys, HANDLER_STACK / PAGE);
        return NULL;
    }
    h->thread = me.thread;
    nhandlers++;
    return h;
}

/* Wake a parked handler (lock held; it takes the lock after us). */
static void handler_wake(struct handler *h)
{
    h->parked = 0;
    h->woken = 1;
    h->futex_comp = NULL;
    wakes[nwakes++] = h->thread; /* sent by unlock(); each handler at most once */
}

/* Park the calling handler until woken or `timeout` passes; lock held on
 * entry and on return. 1 if woken, 0 on timeout. */
static int handler_park(struct handler *h, uint64_t timeout)
{
    h->parked = 1;
    h->woken = 0;
    unlock();
    struct sys_ret r = ipc_wait(timeout);
    lock();
    self = h;
    if (r.err == ABI_E_TIMEOUT && !h->woken) {
        h->parked = 0;
        h->futex_comp = NULL;
        return 0;
    }
    if (r.err == ABI_E_TIMEOUT) {
        /* A waker chose us just as the time ran out: take its message. */
        unlock();
        ipc_wait(ABI_TIMEOUT_NEVER);
        lock();
        self = h;
    }
    return 1;
}

/* --- threads --- */

struct cthread *cthread_create(struct comp *c, const struct abi_exc_state *start, unsigned prio, int64_t *err)
{
    unsigned i = 0;
    while (i < DROPS_THREADS_MAX && c->threads[i].state != CT_FREE) i++;
    if (i == DROPS_THREADS_MAX) {
        *err = ABI_E_NO_MEMORY;
        return NULL;
    }
    struct handler *h = handler_get();
    if (!h) {
        *err = ABI_E_NO_MEMORY;
        return NULL;
    }
    struct cthread *ct = &c->threads[i];
    *ct = (struct cthread){.comp = c, .state = CT_NEW, .index = i, .handler = h, .start = *start};
    ct->thread = slot_alloc();
    ct->gate = slot_alloc();
    uint64_t utcb_va = COMP_UTCB_BASE + (uint64_t)i * PAGE;
    ct->start.gs_base = utcb_va;
    int64_t e = sys_factory_create(c->factory, ABI_OBJ_GATE, ct->gate, h->thread, (uint64_t)(uintptr_t)ct).err;
    if (!e) e = sys_cap_copy(c->task, ct->gate, DROPS_CAP_EXC_BASE + i, ABI_R_SEND).err;
    if (!e) e = sys_factory_create(c->factory, ABI_OBJ_THREAD, ct->thread, 0, 0).err;
    /* The component's own handle on its thread (for the admission server). */
    if (!e) e = sys_cap_copy(c->task, ct->thread, DROPS_CAP_THREAD_BASE + i, ABI_R_ALL).err;
    if (!e) e = sys_thread_bind(ct->thread, c->task, utcb_va).err;
    if (!e) e = sys_thread_config(ct->thread, 0, DROPS_CAP_EXC_BASE + i).err;
    if (!e) e = sys_thread_sched(ct->thread, prio, prio).err;
    /* Address 0 is never mapped: the first instruction fetch faults, and
     * the handler answers with the full start state. */
    if (!e) e = sys_thread_exregs(ct->thread, 0, 0, ABI_EXREGS_SET_IP | ABI_EXREGS_SET_SP).err;
    if (e) {
        sys_cap_delete(ct->thread);
        sys_cap_delete(ct->gate);
        slot_free(ct->thread);
        slot_free(ct->gate);
        ct->state = CT_FREE;
        h->next_free = free_handlers;
        free_handlers = h;
        *err = e;
        return NULL;
    }
    h->ct = ct;
    ct->tid = c->next_tid++;
    c->nthreads_live++;
    return ct;
}

int64_t cthread_start(struct cthread *ct) { return sys_thread_exregs(ct->thread, 0, 0, ABI_EXREGS_START).err; }

static void handler_release(struct handler *h)
{
    h->ct->state = CT_FREE;
    h->ct = NULL;
    h->next_free = free_handlers;
    free_handlers = h;
}

/* The thread is gone: its objects deleted, its handler back in the pool.
 * A handler that is the caller, or parked, notices CT_DEAD and returns
 * itself; one idle in its wait is returned here. Lock held. */
static void cthread_finish(struct cthread *ct)
{
    struct handler *h = ct->handler;
    sys_cap_delete(ct->thread);
    sys_cap_delete(ct->gate);
    slot_free(ct->thread);
    slot_free(ct->gate);
    ct->state = CT_DEAD;
    ct->comp->nthreads_live--;
    if (h == self) return;
    if (h->parked) handler_wake(h);
    else handler_release(h);
}

static void futex_wake_n(struct comp *c, uint64_t addr, uint64_t n, int64_t *woken);

void comp_end(struct comp *c, enum comp_state how, uint64_t status)
{
    if (c->state != COMP_RUNNING && c->state != COMP_LOADING) return;
    comp_log_flush(c);
    c->state = how;
    c->exit_status = status;
    /* Deleting the task stops every thread in it; the objects follow. */
    for (unsigned i = 0; i < DROPS_THREADS_MAX; i++)
        if (c->threads[i].state == CT_NEW || c->threads[i].state == CT_RUNNING) cthread_finish(&c->threads[i]);
    sys_cap_delete(c->task);
    slot_free(c->task);
    /* Its quota returns to the root once the last object charged is gone. */
    sys_cap_delete(c->factory);
    slot_free(c->factory);
    c->factory = 0;
    if (c->parent_gate) {
        sys_cap_delete(c->parent_gate);
        slot_free(c->parent_gate);
        c->parent_gate = 0;
    }
    uint64_t before = c->used;
    comp_release_memory(c);
    if (c->parent >= 0) comps[c->parent].used -= c->quota; /* the child's quota was lent */
    if (how == COMP_FAULTED)
        say("component '%s' faulted: %s (vector %lu) at ip 0x%lx, address 0x%lx; stopped, %lu KiB reclaimed\n",
            c->scn->name, c->fault_vector == ABI_EXC_PF ? "page fault" : "exception", c->fault_vector, c->fault_ip,
            c->fault_addr, before >> 10);
    else if (how == COMP_STOPPED)
        say("component '%s' stopped: the scenario is over (%lu KiB reclaimed)\n", c->scn->name, before >> 10);
    else
        say("component '%s' exited with status %lu (%lu system calls served, %lu KiB reclaimed)\n", c->scn->name,
            status, c->syscalls, before >> 10);
    /* The main thread decides whether the scenario is over. */
    sys_ipc(ABI_CAP_SELF_THREAD, 0, ABI_TAG(0, 0, 0), 0, 0, ABI_IPC_SEND);
}

/* --- system calls --- */

static int64_t do_write(struct comp *c, uint64_t fd, uint64_t buf, uint64_t len)
{
    if (fd != 1 && fd != 2) return -L_EBADF; /* boot files are read-only */
    char tmp[512];
    for (uint64_t done = 0; done < len;) {
        uint64_t n = len - done > sizeof tmp ? sizeof tmp : len - done;
        if (comp_read(c, buf + done, tmp, n)) return done ? (int64_t)done : -L_EFAULT;
        comp_log(c, tmp, n);
        done += n;
    }
    return (int64_t)len;
}

static int64_t do_read(struct comp *c, uint64_t fd, uint64_t buf, uint64_t len)
{
    if (fd >= 32 || !c->fds[fd].file) return -L_EBADF;
    const struct module *m = c->fds[fd].module;
    uint64_t off = c->fds[fd].offset;
    if (off >= m->size) return 0;
    if (len > m->size - off) len = m->size - off;
    if (comp_write(c, buf, m->data + off, len)) return -L_EFAULT;
    c->fds[fd].offset += len;
    return (int64_t)len;
}

/* readv and writev: one vector of up to 1024 entries. */
static int64_t do_rwv(struct comp *c, int write, uint64_t fd, uint64_t iov, uint64_t cnt)
{
    if (cnt > 1024) return -L_EINVAL;
    int64_t total = 0;
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t v[2];
        if (comp_read(c, iov + 16 * i, v, 16)) return total ? total : -L_EFAULT;
        int64_t n = write ? do_write(c, fd, v[0], v[1]) : do_read(c, fd, v[0], v[1]);
        if (n < 0) return total ? total : n;
        total += n;
        if ((uint64_t)n < v[1]) break;
    }
    return total;
}

static int64_t do_open(struct comp *c, uint64_t path_va, uint64_t flags)
{
    char path[SCN_PATH_MAX];
    unsigned n = 0;
    for (; n < sizeof path; n++) {
        if (comp_read(c, path_va + n, &path[n], 1)) return -L_EFAULT;
        if (!path[n]) break;
    }
    if (n == sizeof path) return -L_ENOENT;
    if (flags & 3) return -L_EACCES; /* O_WRONLY, O_RDWR: boot files are read-only */
    const char *name = path;
    if (!memcmp(path, "/boot/", 6)) name = path + 6;
    int f = scenario_find_file(&scenario, name);
    int allowed = 0;
    for (unsigned i = 0; f >= 0 && i < c->scn->nfiles; i++) allowed |= c->scn->files[i] == f;
    const struct module *m = allowed ? module_file(name) : NULL;
    if (!m) return f >= 0 ? -L_EACCES : -L_ENOENT;
    for (unsigned fd = 3; fd < 32; fd++) {
        if (c->fds[fd].file) continue;
        c->fds[fd].file = 1;
        c->fds[fd].module = m;
        c->fds[fd].offset = 0;
        return fd;
    }
    return -L_EMFILE;
}

static int64_t do_fstat(struct comp *c, uint64_t fd, uint64_t st_va)
{
    uint8_t st[144];
    memset(st, 0, sizeof st);
    uint32_t mode;
    uint64_t size = 0;
    if (fd <= 2) {
        mode = 0020620; /* S_IFCHR: the log is a terminal-like stream */
    } else if (fd < 32 && c->fds[fd].file) {
        mode = 0100444; /* S_IFREG, read-only */
        size = c->fds[fd].module->size;
    } else {
        return -L_EBADF;
    }
    uint64_t one = 1, blk = PAGE, blocks = (size + 511) / 512;
    memcpy(st + 16, &one, 8);  /* st_nlink */
    memcpy(st + 24, &mode, 4); /* st_mode */
    memcpy(st + 48, &size, 8); /* st_size */
    memcpy(st + 56, &blk, 8);  /* st_blksize */
    memcpy(st + 64, &blocks, 8);
    return comp_write(c, st_va, st, sizeof st) ? -L_EFAULT : 0;
}

static int64_t do_lseek(struct comp *c, uint64_t fd, int64_t off, uint64_t whence)
{
    if (fd <= 2) return -L_ESPIPE;
    if (fd >= 32 || !c->fds[fd].file) return -L_EBADF;
    int64_t base = whence == 0 ? 0 : whence == 1 ? (int64_t)c->fds[fd].offset
                                   : whence == 2 ? (int64_t)c->fds[fd].module->size : -1;
    if (base < 0 || base + off < 0) return -L_EINVAL;
    c->fds[fd].offset = (uint64_t)(base + off);
    return base + off;
}

static int64_t do_brk(struct comp *c, uint64_t want)
{
    if (want < c->brk_base || want > c->brk_base + COMP_BRK_SPAN) return (int64_t)c->brk_cur;
    uint64_t need = c->brk_base + PAGES(want - c->brk_base) * PAGE;
    if (need > c->brk_mapped) {
        uint64_t va;
        if (comp_map_anon(c, c->brk_mapped, need - c->brk_mapped, ABI_MAP_R | ABI_MAP_W, &va))
            return (int64_t)c->brk_cur; /* Linux: the old break means "no" */
        c->brk_mapped = need;
    }
    c->brk_cur = want;
    return (int64_t)want;
}

static int64_t do_mmap(struct comp *c, uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, int64_t fd)
{
    if (!(flags & MAP_ANONYMOUS) || (flags & MAP_SHARED) || !(flags & MAP_PRIVATE)) return -L_EINVAL;
    if (!len) return -L_EINVAL;
    unsigned rights = ABI_MAP_R | ABI_MAP_W | (prot & PROT_EXEC ? ABI_MAP_X : 0);
    if (flags & MAP_FIXED) {
        if (addr % PAGE || addr < COMP_MMAP_BASE || addr >= COMP_MMAP_END || len > COMP_MMAP_END - addr)
            return -L_EINVAL;
        comp_unmap(c, addr, len); /* MAP_FIXED replaces what was there */
    } else {
        addr = 0;
    }
    uint64_t va;
    int64_t e = comp_map_anon(c, addr, len, rights, &va);
    return e ? -L_ENOMEM : (int64_t)va;
}

static int64_t do_munmap(struct comp *c, uint64_t addr, uint64_t len)
{
    if (addr % PAGE || !len) return -L_EINVAL;
    return comp_unmap(c, addr, len) ? -L_ENOMEM : 0;
}

static int64_t do_clock_gettime(struct comp *c, uint64_t ts_va)
{
    uint64_t ns = now_ns(), ts[2] = {ns / 1000000000ull, ns % 1000000000ull};
    return comp_write(c, ts_va, ts, 16) ? -L_EFAULT : 0;
}

/* Read a relative timespec; -1 if it is bad. */
static int64_t read_timespec(struct comp *c, uint64_t va, uint64_t *ns)
{
    int64_t ts[2];
    if (comp_read(c, va, ts, 16)) return -L_EFAULT;
    if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000) return -L_EINVAL;
    *ns = (uint64_t)ts[0] > 1000000000ull * 1000 ? ABI_TIMEOUT_NEVER - 1 : (uint64_t)ts[0] * 1000000000ull + (uint64_t)ts[1];
    return 0;
}

static int64_t do_sleep(struct handler *h, struct comp *c, uint64_t req_va)
{
    uint64_t ns;
    int64_t e = read_timespec(c, req_va, &ns);
    if (e) return e;
    if (ns) handler_park(h, ns); /* woken early only when the component ends */
    return 0;
}

static void futex_wake_n(struct comp *c, uint64_t addr, uint64_t n, int64_t *woken)
{
    *woken = 0;
    for (unsigned i = 0; i < nhandlers && (uint64_t)*woken < n; i++) {
        struct handler *w = &handlers[i];
        if (w->parked && w->futex_comp == c && w->futex_addr == addr) {
            handler_wake(w);
            ++*woken;
        }
    }
}

static int64_t do_futex(struct handler *h, struct comp *c, uint64_t addr, uint64_t op, uint64_t val, uint64_t ts_va)
{
    if (addr % 4) return -L_EINVAL;
    switch (op & FUTEX_CMD_MASK) {
    case FUTEX_WAIT: {
        uint32_t cur;
        uint64_t timeout = ABI_TIMEOUT_NEVER;
        if (ts_va) {
            int64_t e = read_timespec(c, ts_va, &timeout);
            if (e) return e;
        }
        if (comp_read(c, addr, &cur, 4)) return -L_EFAULT;
        if (cur != (uint32_t)val) return -L_EAGAIN;
        h->futex_comp = c;
        h->futex_addr = addr;
        if (!handler_park(h, timeout ? timeout : 1)) return -L_ETIMEDOUT;
        return 0;
    }
    case FUTEX_WAKE: {
        int64_t n;
        futex_wake_n(c, addr, val, &n);
        return n;
    }
    default:
        return -L_ENOSYS;
    }
}

/* clone as musl's pthread_create uses it: a thread in the same task. */
static int64_t do_clone(struct comp *c, const struct abi_exc_state *s)
{
    uint64_t flags = s->rdi, stack = s->rsi, ptid = s->rdx, ctid = s->r10, tls = s->r8;
    if ((flags & (CLONE_VM | CLONE_THREAD)) != (CLONE_VM | CLONE_THREAD)) return -L_ENOSYS; /* no fork */
    struct abi_exc_state start = *s;
    start.rax = 0;
    start.rsp = stack;
    if (flags & CLONE_SETTLS) start.fs_base = tls;
    int64_t err;
    struct cthread *ct = cthread_create(c, &start, c->scn->priority, &err);
    if (!ct) return -L_EAGAIN;
    if (flags & CLONE_CHILD_CLEARTID) ct->clear_tid = ctid;
    if (flags & CLONE_PARENT_SETTID) {
        uint32_t tid = (uint32_t)ct->tid;
        comp_write(c, ptid, &tid, 4);
    }
    if (cthread_start(ct)) {
        cthread_finish(ct);
        return -L_EAGAIN;
    }
    return (int64_t)ct->tid;
}

/* One thread ends (exit): musl's pthread_join waits on its clear-tid word. */
static void thread_exit_call(struct cthread *ct, uint64_t status)
{
    struct comp *c = ct->comp;
    if (ct->clear_tid) {
        uint32_t zero = 0;
        int64_t n;
        if (!comp_write(c, ct->clear_tid, &zero, 4)) futex_wake_n(c, ct->clear_tid, 1, &n);
    }
    if (c->nthreads_live == 1) {
        comp_end(c, COMP_EXITED, status & 0xff);
        return;
    }
    cthread_finish(ct);
}

#include "linux_syscall_names.h"

static const char *nr_name(uint64_t nr)
{
    const unsigned n = sizeof linux_syscall_names / sizeof linux_syscall_names[0];
    return nr < n && linux_syscall_names[nr] ? linux_syscall_names[nr] : "not a Linux x86-64 call";
}

/* Serve one Linux system call; 1 when the thread gets a reply. */
static int serve_syscall(struct handler *h, struct cthread *ct, struct abi_exc_state *s)
{
    struct comp *c = ct->comp;
    uint64_t nr = s->rax;
    int64_t res;
    c->syscalls++;
    switch (nr) {
    case NR_read: res = do_read(c, s->rdi, s->rsi, s->rdx); break;
    case NR_write: res = do_write(c, s->rdi, s->rsi, s->rdx); break;
    case NR_readv: res = do_rwv(c, 0, s->rdi, s->rsi, s->rdx); break;
    case NR_writev: res = do_rwv(c, 1, s->rdi, s->rsi, s->rdx); break;
    case NR_open: res = do_open(c, s->rdi, s->rsi); break;
    case NR_openat: res = do_open(c, s->rsi, s->rdx); break;
    case NR_close:
        if (s->rdi >= 3 && s->rdi < 32 && c->fds[s->rdi].file) c->fds[s->rdi].file = 0, res = 0;
        else res = s->rdi <= 2 ? 0 : -L_EBADF;
        break;
    case NR_fstat: res = do_fstat(c, s->rdi, s->rsi); break;
    case NR_lseek: res = do_lseek(c, s->rdi, (int64_t)s->rsi, s->rdx); break;
    case NR_ioctl: res = -L_ENOTTY; break;
    case NR_brk: res = do_brk(c, s->rdi); break;
    case NR_mmap: res = do_mmap(c, s->rdi, s->rsi, s->rdx, s->r10, (int64_t)s->r8); break;
    case NR_munmap: res = do_munmap(c, s->rdi, s->rsi); break;
    case NR_mprotect: res = 0; break; /* mappings are already as permissive as asked */
    case NR_madvise: res = 0; break;
    case NR_rt_sigprocmask: res = 0; break;
    case NR_sched_yield:
        unlock();
        sys_thread_yield();
        lock();
        self = h;
        res = 0;
        break;
    case NR_getpid: res = 1000 + c->index; break;
    case NR_gettid: res = (int64_t)ct->tid; break;
    case NR_clock_gettime: res = do_clock_gettime(c, s->rsi); break;
    case NR_nanosleep: res = do_sleep(h, c, s->rdi); break;
    case NR_clock_nanosleep: res = s->rsi ? -L_EINVAL : do_sleep(h, c, s->rdx); break; /* relative only */
    case NR_futex: res = do_futex(h, c, s->rdi, s->rsi, s->rdx, s->r10); break;
    case NR_clone: res = do_clone(c, s); break;
    case NR_set_tid_address:
        ct->clear_tid = s->rdi;
        res = (int64_t)ct->tid;
        break;
    case NR_arch_prctl:
        if (s->rdi != ARCH_SET_FS) {
            res = -L_EINVAL;
            break;
        }
        s->fs_base = ct->fs_base = s->rsi;
        res = 0;
        break;
    case NR_exit:
        thread_exit_call(ct, s->rdi);
        return 0;
    case NR_exit_group:
        comp_end(c, COMP_EXITED, s->rdi & 0xff);
        return 0;
    default:
        if (nr >= NR_MAX || !(c->enosys_logged[nr / 8] & (1u << (nr % 8)))) {
            say("component '%s': Linux system call %lu (%s) not served: -ENOSYS\n", c->scn->name, nr, nr_name(nr));
            if (nr < NR_MAX) c->enosys_logged[nr / 8] |= (uint8_t)(1u << (nr % 8));
        }
        c->enosys++;
        res = -L_ENOSYS;
        break;
    }
    if (ct->state != CT_RUNNING) return 0; /* the component ended meanwhile */
    s->rax = (uint64_t)res;
    return 1;
}

static void handler_main(uint64_t arg)
{
    struct handler *h = (struct handler *)arg;
    int reply = 0;
    for (;;) {
        struct sys_ret r = reply ? ipc_reply_wait(ABI_TAG(0, ABI_EXC_WORDS, 0), ABI_TIMEOUT_NEVER)
                                 : ipc_wait(ABI_TIMEOUT_NEVER);
        reply = 0;
        if (r.err) continue;
        lock();
        self = h;
        struct cthread *ct = h->ct;
        struct abi_exc_state *s = (struct abi_exc_state *)utcb()->mr;
        if (!ct || ct->state == CT_DEAD || ct->state == CT_FREE || r.v1 != (uint64_t)(uintptr_t)ct ||
            ABI_TAG_PROTO(r.v0) != ABI_PROTO_EXCEPTION || ABI_TAG_WORDS(r.v0) != ABI_EXC_WORDS) {
            /* Not from our thread: ignore it. */
            unlock();
            continue;
        }
        struct comp *c = ct->comp;
        if (ct->state == CT_NEW) {
            /* The start trigger: give the thread its initial state. */
            *s = ct->start;
            ct->fs_base = ct->start.fs_base;
            ct->state = CT_RUNNING;
            reply = 1;
        } else if (s->vector == ABI_EXC_SYSCALL) {
            reply = serve_syscall(h, ct, s);
        } else {
            c->fault_vector = s->vector;
            c->fault_addr = s->fault_addr;
            c->fault_ip = s->rip;
            comp_end(c, COMP_FAULTED, 0);
        }
        if (ct->state == CT_DEAD) {
            /* Our thread is gone (exit, or the component ended): back to the pool. */
            handler_release(h);
            reply = 0;
        }
        unlock();
    }
}

void backend_init(void) { sys_thread_sched(ABI_CAP_SELF_THREAD, ROOT_PRIO, ABI_PRIO_MAX); }

