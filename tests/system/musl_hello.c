/*
 * System test: a static x86-64 program linked with Debian's musl libc.a
 * (tests/system/musl/hello.c, the scenario's second boot module) runs on
 * the kernel, its Linux system calls served by this root task through
 * exception IPC (vector ABI_EXC_SYSCALL).
 *
 * The root is loader and libc backend at once: it checks the module's ELF
 * headers, copies the LOAD segments into pages of its own free RAM (zeroing
 * the bss) and maps them into a new task at their addresses, builds a
 * Linux-style initial stack (argc, argv, envp, auxv), starts the thread with
 * a gate to the root's main thread as exception handler, and then answers
 * the program's system calls: arch_prctl, set_tid_address, ioctl, write,
 * writev, brk, anonymous mmap, munmap, mprotect, rt_sigprocmask,
 * clock_gettime, exit, exit_group; anything else is -ENOSYS, logged once.
 *
 * Every page of the child is a page of the root's RAM, reachable through
 * the physical window; a small table of regions (child address, physical
 * address, size) translates the child's pointers for the backend.
 *
 * Asserted: the output the backend captured is exactly the formatted line
 * (integer, string, floating point) and the malloc check line, the exit
 * status is 7, and the calls seen include write/writev, exit_group, the
 * startup calls and an mmap (the largest malloc). Corrupted headers are
 * refused by the loader's checks.
 */
#include "abi/elf.h"
#include "drops/ipc.h"
#include "drops/spawn.h"
#include "drops/string.h"
#include "drops/tap.h"

/* Linux auxiliary vector keys */
#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_ENTRY 9
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_SECURE 23
#define AT_RANDOM 25

/* Linux x86-64 system call numbers the backend knows */
#define NR_write 1
#define NR_mmap 9
#define NR_mprotect 10
#define NR_munmap 11
#define NR_brk 12
#define NR_rt_sigprocmask 14
#define NR_ioctl 16
#define NR_writev 20
#define NR_exit 60
#define NR_arch_prctl 158
#define NR_set_tid_address 218
#define NR_clock_gettime 228
#define NR_exit_group 231
#define NR_MAX 512

#define ARCH_SET_FS 0x1002
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define PROT_EXEC 0x4

#define L_EBADF 9
#define L_ENOMEM 12
#define L_EFAULT 14
#define L_EINVAL 22
#define L_ENOTTY 25
#define L_ENOSYS 38

/* --- the child's address space --- */

#define PAGE 4096ull
#define IMAGE_MIN 0x10000ull       /* LOAD segments must lie in [IMAGE_MIN, IMAGE_MAX) */
#define IMAGE_MAX 0x40000000ull
#define IMAGE_SPAN_MAX (4ull << 20)
#define BRK_MAX (1ull << 20)        /* heap room after the image */
#define MMAP_BASE 0x200000000ull    /* anonymous mappings, bump-allocated */
#define MMAP_MAX (8ull << 20)
#define STACK_TOP 0x7ffd00000000ull
#define STACK_SIZE (256ull << 10)
#define RESERVE (24ull << 20)       /* the root's RAM set aside for the child */

#define EXC_SLOT 8 /* in the child */
#define LABEL 0x11bc
#define PRIO_CHILD 50
#define TIMEOUT_NS 20000000000ull  /* per system call: the child is stuck after that */
#define CHILD_TID 1000

static const char EXPECT_LINE[] = "hello from musl: 42 ok 3.142\n";
static const char EXPECT_ALL[] = "hello from musl: 42 ok 3.142\nmalloc check: good\n";

struct region {
    uint64_t va, size, phys;
};
static struct region regions[64];
static unsigned nregions;
static struct region *heap; /* size grows with the break */

static uint64_t phys_next, phys_end; /* bump allocator over the reserve */

static void *pwin(uint64_t phys) { return (void *)(ABI_PHYS_WINDOW + phys); }

/* Zeroed, contiguous physical memory from the reserve; 0 if exhausted. */
static uint64_t phys_alloc(uint64_t bytes)
{
    bytes = (bytes + PAGE - 1) & ~(PAGE - 1);
    if (bytes > phys_end - phys_next) return 0;
    uint64_t p = phys_next;
    phys_next += bytes;
    memset(pwin(p), 0, bytes);
    return p;
}

static struct region *region_add(uint64_t va, uint64_t size, uint64_t phys)
{
    if (nregions == sizeof regions / sizeof regions[0]) return NULL;
    regions[nregions] = (struct region){va, size, phys};
    return &regions[nregions++];
}

/* The root's view of child memory [va, va + len), if it lies in one region. */
static void *child_ptr(uint64_t va, uint64_t len)
{
    for (unsigned i = 0; i < nregions; i++) {
        const struct region *r = &regions[i];
        if (va >= r->va && va - r->va <= r->size && len <= r->size - (va - r->va))
            return pwin(r->phys + (va - r->va));
    }
    return NULL;
}

/* --- loader --- */

struct image {
    uint64_t entry, phdr_va, lo, hi;
    unsigned phnum, loads;
};

/* Check the ELF headers of image[0..size); NULL or what is wrong. */
static const char *elf_check(const uint8_t *image, uint64_t size, struct image *out)
{
    const struct abi_elf64_ehdr *eh = (const void *)image;
    if (size < sizeof *eh) return "shorter than an ELF header";
    if (memcmp(eh->ident, "\177ELF", 4)) return "no ELF magic";
    if (eh->ident[4] != 2 || eh->ident[5] != 1 || eh->ident[6] != 1) return "not ELF64 little-endian version 1";
    if (eh->type != ABI_ELF_ET_EXEC) return "not a static executable (ET_EXEC)";
    if (eh->machine != ABI_ELF_EM_X86_64) return "not x86-64";
    if (eh->phentsize != sizeof(struct abi_elf64_phdr)) return "bad program header size";
    if (eh->phnum == 0 || eh->phnum > 64) return "bad program header count";
    if (eh->phoff > size || (uint64_t)eh->phnum * sizeof(struct abi_elf64_phdr) > size - eh->phoff)
        return "program headers run past the file";
    if (eh->phoff % 8) return "misaligned program headers";
    const struct abi_elf64_phdr *ph = (const void *)(image + eh->phoff);
    *out = (struct image){.entry = eh->entry, .phnum = eh->phnum, .lo = ~0ull, .hi = 0};
    int entry_ok = 0;
    for (unsigned i = 0; i < eh->phnum; i++) {
        const struct abi_elf64_phdr *p = &ph[i];
        if (p->type == ABI_ELF_PT_INTERP || p->type == ABI_ELF_PT_DYNAMIC) return "dynamically linked";
        if (p->type == ABI_ELF_PT_PHDR) out->phdr_va = p->vaddr;
        if (p->type != ABI_ELF_PT_LOAD) continue;
        if (p->filesz > p->memsz) return "LOAD segment with file size above memory size";
        if (p->offset > size || p->filesz > size - p->offset) return "LOAD segment runs past the file";
        if (p->vaddr < IMAGE_MIN || p->vaddr >= IMAGE_MAX || p->memsz > IMAGE_MAX - p->vaddr)
            return "LOAD segment outside the program area";
        if ((p->vaddr - p->offset) % PAGE) return "LOAD segment offset and address disagree modulo the page size";
        if (p->flags & ~(uint32_t)(ABI_ELF_PF_R | ABI_ELF_PF_W | ABI_ELF_PF_X)) return "LOAD segment with unknown flags";
        uint64_t lo = p->vaddr & ~(PAGE - 1), hi = (p->vaddr + p->memsz + PAGE - 1) & ~(PAGE - 1);
        if (lo < out->lo) out->lo = lo;
        if (hi > out->hi) out->hi = hi;
        if ((p->flags & ABI_ELF_PF_X) && eh->entry >= p->vaddr && eh->entry < p->vaddr + p->memsz) entry_ok = 1;
        /* Program headers inside a LOAD segment's file part: found there at run time. */
        if (!out->phdr_va && eh->phoff >= p->offset && eh->phoff - p->offset < p->filesz)
            out->phdr_va = p->vaddr + (eh->phoff - p->offset);
        out->loads++;
    }
    if (!out->loads) return "no LOAD segment";
    if (out->hi - out->lo > IMAGE_SPAN_MAX) return "image too large";
    if (!entry_ok) return "entry point not in an executable segment";
    if (!out->phdr_va) return "program headers not in memory (no PT_PHDR, not in a LOAD segment)";
    return NULL;
}

/* Copy the LOAD segments into fresh zeroed pages and map them into `task`,
 * each page with the rights of the segments touching it. */
static const char *elf_load(abi_cap_t task, const uint8_t *image, const struct image *im)
{
    const struct abi_elf64_ehdr *eh = (const void *)image;
    const struct abi_elf64_phdr *ph = (const void *)(image + eh->phoff);
    uint64_t phys = phys_alloc(im->hi - im->lo);
    if (!phys || !region_add(im->lo, im->hi - im->lo, phys)) return "out of memory for the image";
    for (unsigned i = 0; i < eh->phnum; i++)
        if (ph[i].type == ABI_ELF_PT_LOAD)
            memcpy((uint8_t *)pwin(phys) + (ph[i].vaddr - im->lo), image + ph[i].offset, ph[i].filesz);
    for (uint64_t va = im->lo; va < im->hi; va += PAGE) {
        unsigned rights = 0;
        for (unsigned i = 0; i < eh->phnum; i++) {
            const struct abi_elf64_phdr *p = &ph[i];
            if (p->type != ABI_ELF_PT_LOAD || va + PAGE <= p->vaddr || va >= p->vaddr + p->memsz) continue;
            rights |= ABI_MAP_R | (p->flags & ABI_ELF_PF_W ? ABI_MAP_W : 0) | (p->flags & ABI_ELF_PF_X ? ABI_MAP_X : 0);
        }
        if (rights && sys_task_map(task, ABI_PHYS_WINDOW + phys + (va - im->lo), va, 1, rights).err)
            return "task_map of a segment page failed";
    }
    return NULL;
}

static int put64(uint64_t va, uint64_t v)
{
    uint64_t *p = child_ptr(va, 8);
    if (p) *p = v;
    return p != NULL;
}

static uint64_t put_bytes(uint64_t *pos, const void *src, uint64_t len)
{
    *pos -= len;
    void *p = child_ptr(*pos, len);
    if (p) memcpy(p, src, len);
    return p ? *pos : 0;
}

/* The Linux initial stack: argc, argv[], 0, envp[], 0, auxv pairs, AT_NULL;
 * the strings and AT_RANDOM's bytes above. Returns the stack pointer or 0. */
static uint64_t build_stack(abi_cap_t task, const struct image *im, const char *argv0)
{
    uint64_t phys = phys_alloc(STACK_SIZE);
    if (!phys || !region_add(STACK_TOP - STACK_SIZE, STACK_SIZE, phys)) return 0;
    if (sys_task_map(task, ABI_PHYS_WINDOW + phys, STACK_TOP - STACK_SIZE, STACK_SIZE / PAGE, ABI_MAP_R | ABI_MAP_W)
            .err)
        return 0;
    uint64_t pos = STACK_TOP;
    static const char env0[] = "DROPS_LIBC=backend";
    uint64_t s_arg = put_bytes(&pos, argv0, strlen(argv0) + 1);
    uint64_t s_env = put_bytes(&pos, env0, sizeof env0);
    uint64_t rnd[2] = {rdtsc() * 0x9e3779b97f4a7c15ull, (rdtsc() ^ 0x5bd1e995) * 0xc2b2ae3d27d4eb4full};
    pos &= ~15ull;
    uint64_t s_rnd = put_bytes(&pos, rnd, sizeof rnd);
    const uint64_t aux[][2] = {
        {AT_PHDR, im->phdr_va}, {AT_PHENT, sizeof(struct abi_elf64_phdr)}, {AT_PHNUM, im->phnum},
        {AT_PAGESZ, PAGE},      {AT_ENTRY, im->entry},                  {AT_UID, 0},
        {AT_EUID, 0},           {AT_GID, 0},                            {AT_EGID, 0},
        {AT_SECURE, 0},         {AT_RANDOM, s_rnd},                     {AT_NULL, 0},
    };
    const unsigned naux = sizeof aux / sizeof aux[0];
    uint64_t words = 1 + 2 + 2 + 2 * naux; /* argc, argv + 0, envp + 0, auxv */
    uint64_t sp = (pos - words * 8) & ~15ull;
    int good = s_arg && s_env && s_rnd;
    uint64_t w = sp;
    good &= put64(w, 1), w += 8;
    good &= put64(w, s_arg), w += 8;
    good &= put64(w, 0), w += 8;
    good &= put64(w, s_env), w += 8;
    good &= put64(w, 0), w += 8;
    for (unsigned i = 0; i < naux; i++) {
        good &= put64(w, aux[i][0]), w += 8;
        good &= put64(w, aux[i][1]), w += 8;
    }
    return good ? sp : 0;
}

/* --- the libc backend --- */

static abi_cap_t child_task_cap;
static uint64_t brk_cur, mmap_next;
static char out[4096];
static unsigned out_len;
static int out_overflow;
static uint8_t seen[NR_MAX], enosys_logged[NR_MAX];
static unsigned enosys_count;
static uint64_t fs_base_set, tid_address;

static int64_t do_write(uint64_t fd, uint64_t buf, uint64_t len)
{
    if (fd != 1 && fd != 2) return -L_EBADF;
    if (len == 0) return 0;
    const char *p = child_ptr(buf, len);
    if (!p) return -L_EFAULT;
    if (out_len + len <= sizeof out) {
        memcpy(out + out_len, p, len);
        out_len += len;
    } else {
        out_overflow = 1;
    }
    for (uint64_t done = 0; done < len;) {
        uint64_t n = len - done > 4096 ? 4096 : len - done;
        sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_PUTS, (uint64_t)(p + done), n);
        done += n;
    }
    return (int64_t)len;
}

static int64_t do_writev(uint64_t fd, uint64_t iov, uint64_t cnt)
{
    if (cnt > 1024) return -L_EINVAL;
    const uint64_t *v = child_ptr(iov, cnt * 16);
    if (cnt && !v) return -L_EFAULT;
    int64_t total = 0;
    for (uint64_t i = 0; i < cnt; i++) {
        int64_t n = do_write(fd, v[2 * i], v[2 * i + 1]);
        if (n < 0) return total ? total : n;
        total += n;
    }
    return total;
}

static int64_t do_brk(uint64_t want)
{
    uint64_t base = heap->va, mapped = heap->size;
    if (want < base || want > base + BRK_MAX) return (int64_t)brk_cur;
    uint64_t need = (want - base + PAGE - 1) & ~(PAGE - 1);
    if (need > mapped) {
        if (sys_task_map(child_task_cap, ABI_PHYS_WINDOW + heap->phys + mapped, base + mapped, (need - mapped) / PAGE,
                         ABI_MAP_R | ABI_MAP_W)
                .err)
            return (int64_t)brk_cur;
        heap->size = need;
    }
    brk_cur = want;
    return (int64_t)brk_cur;
}

static int64_t do_mmap(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, uint64_t fd, uint64_t off)
{
    if (!(flags & MAP_ANONYMOUS) || (flags & MAP_FIXED) || !(flags & MAP_PRIVATE)) return -L_EINVAL;
    if (len == 0 || len > MMAP_MAX) return -L_ENOMEM;
    len = (len + PAGE - 1) & ~(PAGE - 1);
    if (len > MMAP_BASE + MMAP_MAX - mmap_next) return -L_ENOMEM;
    uint64_t phys = phys_alloc(len);
    if (!phys || !region_add(mmap_next, len, phys)) return -L_ENOMEM;
    unsigned rights = ABI_MAP_R | ABI_MAP_W | (prot & PROT_EXEC ? ABI_MAP_X : 0);
    if (sys_task_map(child_task_cap, ABI_PHYS_WINDOW + phys, mmap_next, len / PAGE, rights).err) return -L_ENOMEM;
    uint64_t va = mmap_next;
    mmap_next += len + PAGE; /* a hole between mappings */
    return (int64_t)va;
}

static int64_t do_clock_gettime(uint64_t clock, uint64_t ts)
{
    uint64_t *p = child_ptr(ts, 16);
    if (!p) return -L_EFAULT;
    uint64_t ns = now_ns();
    p[0] = ns / 1000000000ull;
    p[1] = ns % 1000000000ull;
    return 0;
}

static const char *nr_name(uint64_t nr)
{
    switch (nr) {
    case 0: return "read";
    case 2: return "open";
    case 3: return "close";
    case 5: return "fstat";
    case 8: return "lseek";
    case 13: return "rt_sigaction";
    case 25: return "mremap";
    case 39: return "getpid";
    case 186: return "gettid";
    case 202: return "futex";
    case 257: return "openat";
    default: return "?";
    }
}

enum outcome { RUNNING, EXITED, FAULTED, STUCK };
static enum outcome outcome;
static uint64_t exit_status, fault_vector, fault_rip, fault_addr;
static unsigned ncalls;

/* Serve the child's system calls until it exits, faults or goes quiet. */
static void backend(void)
{
    struct sys_ret r = ipc_wait(TIMEOUT_NS);
    for (;;) {
        if (r.err) {
            printf("# backend: no message from the child (%s)\n", sys_error_name(r.err));
            outcome = STUCK;
            return;
        }
        struct abi_exc_state *s = (struct abi_exc_state *)utcb()->mr;
        if (r.v1 != LABEL || ABI_TAG_PROTO(r.v0) != ABI_PROTO_EXCEPTION || ABI_TAG_WORDS(r.v0) != ABI_EXC_WORDS) {
            printf("# backend: unexpected message tag %lx label %lx\n", r.v0, r.v1);
            outcome = STUCK;
            return;
        }
        if (s->vector != ABI_EXC_SYSCALL) {
            fault_vector = s->vector, fault_rip = s->rip, fault_addr = s->fault_addr;
            printf("# backend: child fault vector %lu at rip %lx, address %lx\n", s->vector, s->rip, s->fault_addr);
            outcome = FAULTED;
            return;
        }
        ncalls++;
        uint64_t nr = s->rax;
        if (nr < NR_MAX) seen[nr] = 1;
        int64_t res;
        switch (nr) {
        case NR_write: res = do_write(s->rdi, s->rsi, s->rdx); break;
        case NR_writev: res = do_writev(s->rdi, s->rsi, s->rdx); break;
        case NR_ioctl: res = -L_ENOTTY; break;
        case NR_brk: res = do_brk(s->rdi); break;
        case NR_mmap: res = do_mmap(s->rdi, s->rsi, s->rdx, s->r10, s->r8, s->r9); break;
        case NR_munmap: res = 0; break; /* the pages stay: good enough for one run */
        case NR_mprotect: res = 0; break;
        case NR_rt_sigprocmask: res = 0; break;
        case NR_clock_gettime: res = do_clock_gettime(s->rdi, s->rsi); break;
        case NR_set_tid_address:
            tid_address = s->rdi;
            res = CHILD_TID;
            break;
        case NR_arch_prctl:
            if (s->rdi == ARCH_SET_FS) {
                s->fs_base = fs_base_set = s->rsi;
                res = 0;
            } else {
                res = -L_EINVAL;
            }
            break;
        case NR_exit:
        case NR_exit_group:
            exit_status = s->rdi & 0xff;
            outcome = EXITED;
            return; /* no reply: the thread stays blocked until halted */
        default:
            if (nr >= NR_MAX || !enosys_logged[nr]) {
                printf("# backend: Linux system call %lu (%s) not served: -ENOSYS\n", nr, nr_name(nr));
                if (nr < NR_MAX) enosys_logged[nr] = 1;
            }
            enosys_count++;
            res = -L_ENOSYS;
            break;
        }
        s->rax = (uint64_t)res;
        r = ipc_reply_wait(ABI_TAG(ABI_PROTO_NONE, ABI_EXC_WORDS, 0), TIMEOUT_NS);
    }
}

/* --- the test --- */

static int find_reserve(void)
{
    const struct abi_kip *k = kip();
    uint64_t rbase = 0, rsize = 0;
    for (unsigned i = 0; i < k->mem_count; i++)
        if (k->mem[i].type == ABI_MEM_FREE && k->mem[i].size > rsize) rbase = k->mem[i].base, rsize = k->mem[i].size;
    uint64_t base = (rbase + 0x1fffff) & ~0x1fffffull;
    if (!rsize || base + RESERVE > rbase + rsize) return 0;
    phys_next = base, phys_end = base + RESERVE;
    return 1;
}

/* A corrupted copy of the header must be refused with the given message. */
static void refuse(const uint8_t *image, uint64_t size, uint8_t *scratch, uint64_t off, uint64_t val, unsigned width,
                   const char *what)
{
    memcpy(scratch, image, size);
    memcpy(scratch + off, &val, width);
    struct image im;
    const char *err = elf_check(scratch, size, &im);
    ok(err != NULL, "loader refuses a copy with %s (%s)", what, err ? err : "accepted");
}

int main(void)
{
    const struct abi_kip *k = kip();
    if (!ok(k->module_count >= 2, "a second boot module: the musl program (%u modules)", k->module_count)) tap_done();
    const struct abi_kip_module *m = &k->module[1];
    printf("# module 1: %s, %lu bytes at 0x%lx\n", m->cmdline, m->size, m->phys);
    const uint8_t *image = pwin(m->phys);
    if (!ok(find_reserve(), "%lu MiB of the root's free RAM for the child", (unsigned long)(RESERVE >> 20))) tap_done();

    struct image im;
    const char *err = elf_check(image, m->size, &im);
    if (!ok(err == NULL, "its ELF headers check out: %s", err ? err : "static x86-64 executable")) tap_done();
    printf("# entry 0x%lx, %u LOAD segments at 0x%lx..0x%lx, phdrs at 0x%lx\n", im.entry, im.loads, im.lo, im.hi,
           im.phdr_va);

    /* The checks are real: corrupted copies are refused. */
    uint64_t scratch_phys = phys_alloc(m->size);
    const struct abi_elf64_ehdr *eh = (const void *)image;
    if (scratch_phys && m->size < (1u << 20)) {
        uint8_t *scratch = pwin(scratch_phys);
        uint64_t ph0 = eh->phoff; /* the first program header */
        unsigned load = 0;
        while (load < eh->phnum && ((const struct abi_elf64_phdr *)(image + ph0))[load].type != ABI_ELF_PT_LOAD) load++;
        uint64_t lp = ph0 + load * sizeof(struct abi_elf64_phdr);
        refuse(image, m->size, scratch, 0, 0x7f454c00, 4, "a bad magic");
        refuse(image, m->size, scratch, 18, 3, 2, "machine i386");
        refuse(image, m->size, scratch, 16, 3, 2, "type ET_DYN");
        refuse(image, m->size, scratch, 32, m->size - 8, 8, "program headers past the end");
        refuse(image, m->size, scratch, lp + 8, m->size, 8, "a LOAD segment past the end of the file");
        refuse(image, m->size, scratch, lp + 16, 0x7fff00000000ull, 8, "a LOAD segment in the stack area");
        refuse(image, m->size, scratch, 24, 0x7fff00000000ull, 8, "the entry outside the program");
    }

    /* The child task and its memory. */
    child_task_cap = cap_alloc();
    abi_cap_t th = cap_alloc(), gate = cap_alloc();
    int64_t e = sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_TASK, child_task_cap, 16, 0).err;
    if (!e) err = elf_load(child_task_cap, image, &im);
    is(e, 0, "create the child task");
    ok(!e && !err, "load the segments into it: %s", err ? err : "copied, bss zeroed, mapped");
    uint64_t heap_phys = phys_alloc(BRK_MAX);
    heap = heap_phys ? region_add(im.hi, 0, heap_phys) : NULL;
    brk_cur = im.hi;
    mmap_next = MMAP_BASE;
    const char *argv0 = "musl_hello";
    uint64_t sp = heap ? build_stack(child_task_cap, &im, argv0) : 0;
    ok(sp && sp % 16 == 0, "initial stack with argc, argv, envp, auxv at 0x%lx", sp);

    /* Its thread: exception handler = a gate to this (the root's main) thread. */
    e = sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, gate, ABI_CAP_SELF_THREAD, LABEL).err;
    if (!e) e = sys_cap_copy(child_task_cap, gate, EXC_SLOT, ABI_R_SEND).err;
    if (!e) e = sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_THREAD, th, 0, 0).err;
    if (!e) e = sys_thread_bind(th, child_task_cap, ABI_ROOT_UTCB_ADDR).err;
    if (!e) e = sys_thread_config(th, 0, EXC_SLOT).err;
    if (!e) e = sys_thread_sched(th, PRIO_CHILD, 0).err;
    if (!e) e = sys_thread_exregs(th, im.entry, sp, ABI_EXREGS_SET_IP | ABI_EXREGS_SET_SP).err;
    if (!e) e = sys_thread_exregs(th, 0, 0, ABI_EXREGS_START).err;
    is(e, 0, "child thread with the backend as exception handler, started at the ELF entry");
    if (e || !sp) tap_done();

    backend();
    sys_thread_exregs(th, 0, 0, ABI_EXREGS_HALT);
    printf("# backend: %u system calls served, %u answered -ENOSYS, fs base 0x%lx, break 0x%lx (start 0x%lx)\n", ncalls,
           enosys_count, fs_base_set, brk_cur, im.hi);

    printf("# Linux system calls seen:");
    for (unsigned i = 0; i < NR_MAX; i++)
        if (seen[i]) printf(" %u", i);
    printf("\n");
    if (!ok(outcome == EXITED, "the program ran to its exit (outcome %d)", outcome) && outcome == FAULTED)
        printf("# fault vector %lu at 0x%lx address 0x%lx\n", fault_vector, fault_rip, fault_addr);
    is(exit_status, 7, "exit status 7 (exit(7) in main)");
    out[out_len < sizeof out ? out_len : sizeof out - 1] = 0;
    ok(!out_overflow && out_len >= sizeof EXPECT_LINE - 1 && !memcmp(out, EXPECT_LINE, sizeof EXPECT_LINE - 1),
       "the backend captured the formatted line exactly: printf %%d %%s %%.3f");
    ok(!out_overflow && out_len == sizeof EXPECT_ALL - 1 && !memcmp(out, EXPECT_ALL, sizeof EXPECT_ALL - 1),
       "... followed by the malloc check line, and nothing else (%u bytes)", out_len);
    ok(seen[NR_write] || seen[NR_writev], "the program wrote through write or writev (writev %d, write %d)",
       seen[NR_writev], seen[NR_write]);
    ok(seen[NR_exit_group], "it ended with exit_group");
    ok(seen[NR_arch_prctl] && fs_base_set && seen[NR_set_tid_address],
       "musl's startup set its thread pointer (arch_prctl) and tid address");
    ok(seen[NR_mmap] && mmap_next > MMAP_BASE, "the large malloc was served by an anonymous mmap");
    ok(seen[NR_ioctl], "stdout's terminal check got an answer (ioctl -> ENOTTY)");
    tap_done();
}
