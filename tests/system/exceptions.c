/*
 * System test: exception IPC.
 * A handler thread in the root task gets a child's exceptions with the full
 * register state and replies with a new one: it emulates ud2 and a
 * non-native (Linux) system call, skips #DE, #GP (hlt, cli, in) and int3,
 * resolves a page fault of a thread without pager, sets fs_base, and resumes
 * a thread unchanged with a zero-word reply. Flags a user thread may not
 * hold (IOPL, IF clear, TF) are filtered out of the handler's rflags. An
 * exception without handler halts only the faulting thread.
 */
#include "drops/ipc.h"
#include "drops/spawn.h"
#include "drops/tap.h"

extern char thread_entry[];

/*
 * The child's faulting code, each case a function with labels on the
 * faulting instruction (_insn) and the one after it (_end). ud_test stores
 * its rsp first so the handler's view of it can be checked.
 */
__asm__(".pushsection .text\n"
        /* uint64_t ud_test(uint64_t arg): ud2 with known registers */
        ".globl ud_test\n"
        "ud_test:\n"
        "    push %rbx\n"
        "    push %r12\n"
        "    push %r15\n"
        "    movabs $0x1111222233334444, %rbx\n"
        "    movabs $0x5555666677778888, %r12\n"
        "    mov $0xf15, %r15d\n"
        "    mov %rsp, ud_rsp(%rip)\n"
        "    xor %eax, %eax\n"
        ".globl ud_insn\n"
        "ud_insn: ud2\n"
        ".globl ud_end\n"
        "ud_end:\n"
        "    movabs $0x1111222233334444, %rcx\n"
        "    cmp %rcx, %rbx\n"
        "    jne 1f\n"
        "    movabs $0x5555666677778888, %rcx\n"
        "    cmp %rcx, %r12\n"
        "    jne 1f\n"
        "    cmp $0xf15, %r15\n"
        "    je 2f\n"
        "1:  mov $-1, %rax\n" /* registers not restored: report -1 */
        "2:  pop %r15\n"
        "    pop %r12\n"
        "    pop %rbx\n"
        "    ret\n"
        /* uint64_t linux_syscall(uint64_t nr, uint64_t a0) */
        ".globl linux_syscall\n"
        "linux_syscall:\n"
        "    mov %rdi, %rax\n"
        "    mov %rsi, %rdi\n"
        ".globl sys_insn\n"
        "sys_insn: syscall\n"
        ".globl sys_end\n"
        "sys_end:\n"
        "    ret\n"
        /* uint64_t div_test(void): 7 / 0 */
        ".globl div_test\n"
        "div_test:\n"
        "    mov $7, %eax\n"
        "    xor %edx, %edx\n"
        "    xor %ecx, %ecx\n"
        ".globl de_insn\n"
        "de_insn: div %ecx\n"
        ".globl de_end\n"
        "de_end:\n"
        "    ret\n"
        /* uint64_t hlt_test(void), cli_test(void), in_test(void) */
        ".globl hlt_test\n"
        "hlt_test:\n"
        "    xor %eax, %eax\n"
        ".globl hlt_insn\n"
        "hlt_insn: hlt\n"
        ".globl hlt_end\n"
        "hlt_end:\n"
        "    ret\n"
        ".globl cli_test\n"
        "cli_test:\n"
        "    xor %eax, %eax\n"
        ".globl cli_insn\n"
        "cli_insn: cli\n"
        ".globl cli_end\n"
        "cli_end:\n"
        "    ret\n"
        ".globl in_test\n"
        "in_test:\n"
        "    xor %eax, %eax\n"
        ".globl in_insn\n"
        "in_insn: in $0x80, %al\n"
        ".globl in_end\n"
        "in_end:\n"
        "    ret\n"
        /* uint64_t bp_zero_test(void), bp_full_test(void): rax = 7 at int3 */
        ".globl bp_zero_test\n"
        "bp_zero_test:\n"
        "    mov $7, %eax\n"
        ".globl bp_zero_insn\n"
        "bp_zero_insn: int3\n"
        ".globl bp_zero_end\n"
        "bp_zero_end:\n"
        "    ret\n"
        ".globl bp_full_test\n"
        "bp_full_test:\n"
        "    mov $7, %eax\n"
        ".globl bp_full_insn\n"
        "bp_full_insn: int3\n"
        ".globl bp_full_end\n"
        "bp_full_end:\n"
        "    ret\n"
        /* uint64_t fs_test(void): the handler sets fs_base at the ud2 */
        ".globl fs_test\n"
        "fs_test:\n"
        ".globl fs_insn\n"
        "fs_insn: ud2\n"
        ".globl fs_end\n"
        "fs_end:\n"
        "    mov %fs:0, %rax\n"
        "    ret\n"
        /* uint64_t fs_read8(void) */
        ".globl fs_read8\n"
        "fs_read8:\n"
        "    mov %fs:8, %rax\n"
        "    ret\n"
        /* uint64_t flags_test(void): rflags after the handler changed them */
        ".globl flags_test\n"
        "flags_test:\n"
        "    xor %eax, %eax\n" /* clears CF */
        ".globl flags_insn\n"
        "flags_insn: ud2\n"
        ".globl flags_end\n"
        "flags_end:\n"
        "    pushfq\n"
        "    pop %rax\n"
        "    ret\n"
        /* uint64_t pf_test(uint64_t addr) */
        ".globl pf_test\n"
        "pf_test:\n"
        "    xor %eax, %eax\n"
        ".globl pf_insn\n"
        "pf_insn: mov (%rdi), %rax\n"
        ".globl pf_end\n"
        "pf_end:\n"
        "    ret\n"
        /* void orphan_ud(void) */
        ".globl orphan_insn\n"
        "orphan_insn: ud2\n"
        "    ret\n"
        ".popsection\n");

uint64_t ud_test(uint64_t arg), linux_syscall(uint64_t nr, uint64_t a0), div_test(void), hlt_test(void);
uint64_t cli_test(void), in_test(void), bp_zero_test(void), bp_full_test(void), fs_test(void), fs_read8(void);
uint64_t flags_test(void), pf_test(uint64_t addr);
void orphan_insn(void);
extern char ud_insn[], ud_end[], sys_insn[], sys_end[], de_insn[], de_end[], hlt_insn[], hlt_end[], cli_insn[],
    cli_end[], in_insn[], in_end[], bp_zero_insn[], bp_zero_end[], bp_full_insn[], bp_full_end[], fs_insn[],
    fs_end[], flags_insn[], flags_end[], pf_insn[], pf_end[];
uint64_t ud_rsp;

#define EXC_SLOT 8 /* in the children */
#define LABEL 0xe0e0
#define LABEL_OTHER 0xe1e1
#define PRIO_HANDLER 200
#define PRIO_CHILD 150
#define PF_ADDR 0x40000000ull
#define RFLAGS_CF 0x1ull
#define RFLAGS_TF 0x100ull
#define RFLAGS_IF 0x200ull
#define RFLAGS_IOPL 0x3000ull

/* What the handler does at each site, found by the reported rip: a fault
 * reports the faulting instruction, a trap (int3, syscall) the next one. */
enum action { A_EMULATE_UD, A_SYSCALL, A_SKIP, A_ZERO_REPLY, A_SET_FS, A_FLAGS };
struct site {
    const char *name;
    const char *rip;
    const char *resume;
    uint64_t vector;
    enum action action;
};

static const struct site *sites(unsigned *n)
{
    static struct site s[12];
    s[0] = (struct site){"ud2", ud_insn, ud_end, ABI_EXC_UD, A_EMULATE_UD};
    s[1] = (struct site){"syscall", sys_end, sys_end, ABI_EXC_SYSCALL, A_SYSCALL};
    s[2] = (struct site){"div", de_insn, de_end, ABI_EXC_DE, A_SKIP};
    s[3] = (struct site){"hlt", hlt_insn, hlt_end, ABI_EXC_GP, A_SKIP};
    s[4] = (struct site){"cli", cli_insn, cli_end, ABI_EXC_GP, A_SKIP};
    s[5] = (struct site){"in", in_insn, in_end, ABI_EXC_GP, A_SKIP};
    s[6] = (struct site){"int3 (zero-word reply)", bp_zero_end, bp_zero_end, ABI_EXC_BP, A_ZERO_REPLY};
    s[7] = (struct site){"int3", bp_full_end, bp_full_end, ABI_EXC_BP, A_SKIP};
    s[8] = (struct site){"ud2 (fs)", fs_insn, fs_end, ABI_EXC_UD, A_SET_FS};
    s[9] = (struct site){"ud2 (rflags)", flags_insn, flags_end, ABI_EXC_UD, A_FLAGS};
    s[10] = (struct site){"page fault", pf_insn, pf_end, ABI_EXC_PF, A_SKIP};
    *n = 11;
    return s;
}

/* Handed to the children through fs_base: one area per gate label. */
static volatile uint64_t fs_area[2] = {0xf5f5f5f5, 0x5f5f5f5f};
static volatile uint64_t fs_area_other[2] = {0xa5a5a5a5, 0x5a5a5a5a};

struct record {
    uint64_t label;
    abi_tag_t tag;
    int site;
    struct abi_exc_state s;
};
static struct record records[64];
static volatile unsigned nrecords;
static volatile unsigned handler_errors;

static void handler(uint64_t arg)
{
    unsigned nsites;
    const struct site *site = sites(&nsites);
    struct sys_ret r = ipc_wait(ABI_TIMEOUT_NEVER);
    for (;;) {
        struct abi_utcb *u = utcb();
        struct abi_exc_state *s = (struct abi_exc_state *)u->mr;
        int k = -1;
        if (!r.err && ABI_TAG_PROTO(r.v0) == ABI_PROTO_EXCEPTION && ABI_TAG_WORDS(r.v0) == ABI_EXC_WORDS)
            for (unsigned i = 0; i < nsites; i++)
                if (s->rip == (uint64_t)site[i].rip && s->vector == site[i].vector) k = (int)i;
        if (nrecords < 64) {
            records[nrecords] = (struct record){r.v1, r.v0, k, *s};
            nrecords++;
        }
        if (k < 0) {
            /* Nothing known to do: leave the thread blocked; main will notice. */
            handler_errors++;
            r = ipc_wait(ABI_TIMEOUT_NEVER);
            continue;
        }
        s->rip = (uint64_t)site[k].resume;
        unsigned words = ABI_EXC_WORDS;
        switch (site[k].action) {
        case A_EMULATE_UD:
            s->rax = 42;
            break;
        case A_SYSCALL:
            s->rax = 1234;
            break;
        case A_SKIP:
            s->rax = 0xe000 + s->vector;
            break;
        case A_ZERO_REPLY:
            /* The message registers say otherwise; zero words must win. */
            s->rax = 99;
            s->rip = 0;
            words = 0;
            break;
        case A_SET_FS:
            s->fs_base = r.v1 == LABEL_OTHER ? (uint64_t)fs_area_other : (uint64_t)fs_area;
            break;
        case A_FLAGS:
            s->rflags = (s->rflags | RFLAGS_CF | RFLAGS_IOPL | RFLAGS_TF) & ~RFLAGS_IF;
            break;
        }
        r = ipc_reply_wait(ABI_TAG(ABI_PROTO_NONE, words, 0), ABI_TIMEOUT_NEVER);
    }
}

/* --- children --- */

static uint8_t stacks[6][16384] __attribute__((aligned(16)));

static int64_t thread_prepare(struct child *c, void (*fn)(uint64_t), uint64_t arg, uint8_t *stack, size_t size)
{
    return child_thread_prepare(c, fn, arg, (uint64_t)(stack + size), PRIO_CHILD);
}

/* A child task running fn in a thread whose exception handler is a gate to
 * `handler_th` (none when handler_th is 0); not started yet. */
static int64_t child_with_handler(struct child *c, abi_cap_t handler_th, uint64_t label, void (*fn)(uint64_t),
                                  unsigned stack)
{
    int64_t err = child_task(c, 64);
    if (!err) err = thread_prepare(c, fn, 0, stacks[stack], sizeof stacks[stack]);
    if (err || !handler_th) return err;
    abi_cap_t gate = cap_alloc();
    err = sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, gate, handler_th, label).err;
    if (!err) err = sys_cap_copy(c->task, gate, EXC_SLOT, ABI_R_SEND).err;
    if (!err) err = sys_thread_config(c->thread, 0, EXC_SLOT).err;
    return err;
}

static int64_t thread_go(struct child *c) { return sys_thread_exregs(c->thread, 0, 0, ABI_EXREGS_START).err; }

static int wait_for(volatile int *flag)
{
    for (int i = 0; i < 1000 && !*flag; i++) sleep_ns(1000000);
    return *flag;
}

enum { R_UD, R_SYS, R_DE, R_HLT, R_CLI, R_BP_ZERO, R_BP_FULL, R_FS, R_FS_LATER, R_FLAGS, R_IN, R_PF, R_COUNT };
static volatile uint64_t res[R_COUNT];
static volatile int worker_done, fs_set, fs_other_done;
static volatile uint64_t fs_other_seen[2];

static void worker(uint64_t arg)
{
    res[R_UD] = ud_test(0x5eed);
    res[R_SYS] = linux_syscall(39, 0xabc);
    res[R_DE] = div_test();
    res[R_HLT] = hlt_test();
    res[R_CLI] = cli_test();
    res[R_BP_ZERO] = bp_zero_test();
    res[R_BP_FULL] = bp_full_test();
    res[R_FS] = fs_test();
    /* Another thread with its own fs base runs meanwhile. */
    fs_set = 1;
    for (int i = 0; i < 1000 && !fs_other_done; i++) sleep_ns(1000000);
    res[R_FS_LATER] = fs_read8();
    res[R_FLAGS] = flags_test();
    res[R_IN] = in_test();
    res[R_PF] = pf_test(PF_ADDR);
    worker_done = 1;
}

/* Gets its fs base set while the worker sleeps with its own. */
static void fs_other(uint64_t arg)
{
    for (int i = 0; i < 1000 && !fs_set; i++) sleep_ns(1000000);
    fs_other_seen[0] = fs_test();
    fs_other_seen[1] = fs_read8();
    fs_other_done = 1;
}

static volatile int orphan_before, orphan_after;

static void orphan(uint64_t arg)
{
    orphan_before = 1;
    orphan_insn();
    orphan_after = 1;
}

static volatile uint64_t again_result;
static volatile int again_done;

static void again(uint64_t arg)
{
    again_result = ud_test(1);
    again_done = 1;
}

/* The record of the n-th exception, if it came from the expected site. */
static const struct abi_exc_state *rec(unsigned n, int site)
{
    if (n >= nrecords || records[n].site != site) {
        printf("# record %u: site %d (expected %d), rip %lx vector %lu\n", n, n < nrecords ? records[n].site : -1,
               site, n < nrecords ? records[n].s.rip : 0, n < nrecords ? records[n].s.vector : 0);
        return NULL;
    }
    return &records[n].s;
}

int main(void)
{
    struct child self = {ABI_CAP_SELF_TASK, 0, 0};
    is(child_thread(&self, handler, 0, (uint64_t)(stacks[0] + sizeof stacks[0]), PRIO_HANDLER), 0,
       "start the exception handler thread in the root task");
    abi_cap_t handler_th = self.thread;

    struct child c, f;
    is(child_with_handler(&f, handler_th, LABEL_OTHER, fs_other, 4), 0,
       "a child thread that waits to get its own fs base (handler label 0x%x)", LABEL_OTHER);
    is(thread_go(&f), 0, "start it");
    is(child_with_handler(&c, handler_th, LABEL, worker, 1), 0,
       "the main child thread with an exception handler gate (label 0x%x)", LABEL);
    is(thread_go(&c), 0, "start it");
    ok(wait_for(&worker_done), "the child ran through all its exceptions");
    is(nrecords, 12, "the handler got 12 exception messages");
    int labels_ok = 1;
    for (unsigned i = 0; i < nrecords; i++)
        if (records[i].label != (i == 8 ? LABEL_OTHER : LABEL) ||
            records[i].tag != ABI_TAG(ABI_PROTO_EXCEPTION, ABI_EXC_WORDS, 0))
            labels_ok = 0;
    ok(labels_ok, "each with tag (EXCEPTION, %lu words) and the label of the child's gate", ABI_EXC_WORDS);

    /* ud2, emulated */
    const struct abi_exc_state *s = rec(0, 0);
    ok(s && s->vector == ABI_EXC_UD && s->rip == (uint64_t)ud_insn, "ud2: vector 6, rip at the ud2");
    ok(s && s->rbx == 0x1111222233334444ull && s->r12 == 0x5555666677778888ull && s->r15 == 0xf15 &&
           s->rdi == 0x5eed && s->rax == 0,
       "... with the registers the child loaded (rbx, r12, r15, rdi, rax)");
    ok(s && s->rsp == ud_rsp, "... and its stack pointer");
    ok(s && s->gs_base == ABI_ROOT_UTCB_ADDR && s->fs_base == 0, "... gs base = its UTCB, fs base 0");
    ok(s && (s->rflags & RFLAGS_IF) && s->error_code == 0 && s->fault_addr == 0,
       "... interrupts enabled, no error code, no address");
    is(res[R_UD], 42, "the child continued after the ud2 with rax = 42 and its other registers intact");

    /* non-native system call */
    s = rec(1, 1);
    ok(s && s->vector == ABI_EXC_SYSCALL && s->rip == (uint64_t)sys_end,
       "Linux getpid: vector ABI_EXC_SYSCALL, rip already past the syscall");
    ok(s && s->rax == 39 && s->rdi == 0xabc, "... with rax = 39 and the argument in rdi");
    is(res[R_SYS], 1234, "the child sees the emulated result 1234");

    /* faults skipped by the handler */
    s = rec(2, 2);
    ok(s && s->vector == ABI_EXC_DE && s->rip == (uint64_t)de_insn && s->rcx == 0 && s->rax == 7,
       "div by zero: vector 0 at the div");
    is(res[R_DE], 0xe000 + ABI_EXC_DE, "... skipped by the handler");
    s = rec(3, 3);
    ok(s && s->vector == ABI_EXC_GP && s->rip == (uint64_t)hlt_insn && s->error_code == 0,
       "hlt in user mode: #GP (13), error 0, at the hlt");
    is(res[R_HLT], 0xe000 + ABI_EXC_GP, "... skipped by the handler");
    s = rec(4, 4);
    ok(s && s->vector == ABI_EXC_GP && s->rip == (uint64_t)cli_insn, "cli in user mode: #GP at the cli");
    is(res[R_CLI], 0xe000 + ABI_EXC_GP, "... skipped by the handler");

    /* int3: a trap, reported after the instruction */
    s = rec(5, 6);
    ok(s && s->vector == ABI_EXC_BP && s->rip == (uint64_t)bp_zero_end && s->rax == 7,
       "int3: vector 3, rip after the int3");
    is(res[R_BP_ZERO], 7, "a zero-word reply resumes the thread unchanged (rax and rip of the message ignored)");
    s = rec(6, 7);
    ok(s && s->vector == ABI_EXC_BP && s->rip == (uint64_t)bp_full_end, "a second int3");
    is(res[R_BP_FULL], 0xe000 + ABI_EXC_BP, "... where a full reply does change rax");

    /* fs_base */
    s = rec(7, 8);
    ok(s && s->fs_base == 0, "the handler sees fs base 0 before setting it");
    is(res[R_FS], fs_area[0], "after the handler set fs base, %%fs:0 in the child reads the value placed there");
    s = rec(8, 8);
    ok(s && s->fs_base == 0 && fs_other_seen[0] == fs_area_other[0] && fs_other_seen[1] == fs_area_other[1],
       "meanwhile another thread got another fs base and reads its own area through %%fs");
    is(res[R_FS_LATER], fs_area[1], "... and then %%fs:8 in the first child still reads from its own area");

    /* rflags */
    s = rec(9, 9);
    ok(s && !(s->rflags & RFLAGS_CF), "rflags test: CF clear at the exception");
    uint64_t fl = res[R_FLAGS];
    ok(fl & RFLAGS_CF, "a user flag set by the handler (CF) reaches the child (rflags %lx)", fl);
    ok(!(fl & RFLAGS_IOPL), "IOPL set by the handler is filtered out");
    ok(fl & RFLAGS_IF, "IF cleared by the handler is forced back on");
    ok(!(fl & RFLAGS_TF), "TF set by the handler is filtered out (no debug trap either)");
    s = rec(10, 5);
    ok(s && s->vector == ABI_EXC_GP && s->rip == (uint64_t)in_insn && !(s->rflags & RFLAGS_IOPL),
       "so a following `in` still faults with #GP");
    is(res[R_IN], 0xe000 + ABI_EXC_GP, "... skipped by the handler");

    /* a page fault of a thread without pager goes to the exception handler */
    s = rec(11, 10);
    ok(s && s->vector == ABI_EXC_PF && s->rip == (uint64_t)pf_insn && s->fault_addr == PF_ADDR && s->error_code == 4,
       "page fault without pager: vector 14 with the address and error code 4");
    is(res[R_PF], 0xe000 + ABI_EXC_PF, "... skipped by the handler");

    /* No handler: the thread is halted, the rest carries on. */
    struct child o;
    is(child_with_handler(&o, 0, 0, orphan, 2), 0, "child thread without an exception handler");
    unsigned before = nrecords;
    thread_go(&o);
    sleep_ns(2000000);
    ok(orphan_before && !orphan_after, "its ud2 stopped it");
    struct sys_ret r = sys_thread_exregs(o.thread, 0, 0, 0);
    ok(r.err == 0 && r.v0 == (uint64_t)orphan_insn, "it stays halted at the ud2");
    is(nrecords, before, "no exception message went anywhere");

    struct child a;
    is(child_with_handler(&a, handler_th, LABEL, again, 3), 0, "another child with the handler");
    thread_go(&a);
    ok(wait_for(&again_done) && again_result == 42, "its ud2 is still emulated: the system carries on");
    is(handler_errors, 0, "the handler never got an exception it did not expect");
    tap_done();
}
