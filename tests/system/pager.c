/*
 * System test: user-level pagers.
 * A pager thread in the root task resolves the page faults of child tasks
 * with map items of frames from its physical window: fault messages carry
 * address, ip, error code and the gate label; the child sees the data the
 * pager wrote (same frame, both ways). A read-only mapping is upgraded on a
 * write fault, two children faulting at the same address are told apart by
 * their labels, a page granted by IPC leaves the granter (its next access
 * faults again) and appears in the receiver, and a fault nobody resolves
 * halts only the faulting thread.
 */
#include "drops/ipc.h"
#include "drops/spawn.h"
#include "drops/string.h"
#include "drops/tap.h"

extern char thread_entry[];

/* Memory probes with known instruction addresses, for the fault ip. */
__asm__(".pushsection .text\n"
        ".globl probe_read\n"
        "probe_read:\n"
        ".globl probe_read_insn\n"
        "probe_read_insn: mov (%rdi), %rax\n"
        "    ret\n"
        ".globl probe_write\n"
        "probe_write:\n"
        ".globl probe_write_insn\n"
        "probe_write_insn: mov %rsi, (%rdi)\n"
        "    ret\n"
        ".popsection\n");
uint64_t probe_read(uint64_t addr);
void probe_write(uint64_t addr, uint64_t value);
extern char probe_read_insn[], probe_write_insn[];

/* Addresses in the children that nothing maps: only the pager can. */
#define REGION 0x40000000ull
#define NPAGES 64
#define RO_PAGE (REGION + 0x100000)
#define GRANT_PAGE (REGION + 0x200000)
#define SHARED_VA_PAGE (REGION + 0x300000)
#define LATE_PAGE (REGION + 0x400000)
#define RCV_WINDOW 0x50000000ull

/* Every frame the pager hands out starts with: page, label, sequence. */
#define W_PAGE 0
#define W_LABEL 1
#define W_SEQ 2
#define W_CHILD 3 /* written by the child */
#define W_RECEIVER 4 /* written by the receiver of a grant */

#define PAGER_SLOT 8 /* in the children */
#define PEER_SLOT 9

#define PRIO_PAGER 200
#define PRIO_CHILD 150

#define LABEL_MAIN 0xc1d1
#define LABEL_A 0xa11ce
#define LABEL_B 0xb0b
#define LABEL_GRANTER 0x6a
#define LABEL_LATE 0x1a7e

static uint8_t stacks[10][16384] __attribute__((aligned(16)));

/* --- the pager (a thread of the root task) --- */

struct fault {
    uint64_t label, addr, ip, err;
};
struct frame {
    uint64_t label, page, phys;
};

static struct fault faults[256];
static volatile unsigned nfaults;
static struct frame frames[256];
static unsigned nframes;
static volatile unsigned pager_errors;
static uint64_t phys_next, phys_end;

static volatile uint64_t *window(uint64_t phys) { return (volatile uint64_t *)(ABI_PHYS_WINDOW + phys); }

static struct frame *frame_of(uint64_t label, uint64_t page)
{
    for (unsigned i = nframes; i-- > 0;)
        if (frames[i].label == label && frames[i].page == page) return &frames[i];
    return NULL;
}

/* The largest free RAM region of the KIP supplies the frames. */
static int frames_init(void)
{
    const struct abi_kip *k = kip();
    uint64_t best = 0;
    for (unsigned i = 0; i < k->mem_count; i++) {
        const struct abi_kip_mem *m = &k->mem[i];
        if (m->type != ABI_MEM_FREE || m->size <= best) continue;
        best = m->size;
        phys_next = (m->base + 0xfff) & ~0xfffull;
        phys_end = (m->base + m->size) & ~0xfffull;
    }
    return phys_end - phys_next >= (1u << 20);
}

/*
 * Policy: a fault on a page this label already got from us with the
 * present bit set is a rights fault: the same frame again, now writable.
 * Any other fault gets a fresh frame; RO_PAGE is handed out read-only to a
 * read fault.
 */
static void pager(uint64_t arg)
{
    struct sys_ret r = ipc_wait(ABI_TIMEOUT_NEVER);
    for (;;) {
        struct abi_utcb *u = utcb();
        if (r.err || ABI_TAG_PROTO(r.v0) != ABI_PROTO_PAGE_FAULT || ABI_TAG_WORDS(r.v0) != 3 ||
            ABI_TAG_ITEMS(r.v0) != 0 || nfaults == 256 || nframes == 256 || phys_next >= phys_end) {
            pager_errors++;
            r = ipc_wait(ABI_TIMEOUT_NEVER);
            continue;
        }
        uint64_t addr = u->mr[0], ip = u->mr[1], err = u->mr[2], label = r.v1;
        uint64_t page = addr & ~0xfffull;
        const struct fault *last = nfaults ? &faults[nfaults - 1] : NULL;
        if (last && last->label == label && last->addr == addr && last->err == err) {
            /* Our reply did not help: leave the thread blocked, main will notice. */
            pager_errors++;
            r = ipc_wait(ABI_TIMEOUT_NEVER);
            continue;
        }
        faults[nfaults] = (struct fault){label, addr, ip, err};
        nfaults++;
        struct frame *f = frame_of(label, page);
        unsigned rights = ABI_MAP_R | ABI_MAP_W;
        if (!f || !(err & 1)) {
            f = &frames[nframes++];
            f->label = label;
            f->page = page;
            f->phys = phys_next;
            phys_next += 4096;
            volatile uint64_t *w = window(f->phys);
            for (unsigned i = 0; i < 512; i++) w[i] = 0;
            w[W_PAGE] = page;
            w[W_LABEL] = label;
            w[W_SEQ] = nfaults;
            if (page == RO_PAGE && !(err & 2)) rights = ABI_MAP_R;
        }
        u->mr[0] = ABI_ITEM_MAP | page;
        u->mr[1] = ABI_FPAGE(ABI_PHYS_WINDOW + f->phys, 12, rights);
        r = ipc_reply_wait(ABI_TAG(ABI_PROTO_NONE, 0, 1), ABI_TIMEOUT_NEVER);
    }
}

/* --- children --- */

/* A thread of task c, not started yet, so it can be configured first. */
static int64_t thread_prepare(struct child *c, void (*fn)(uint64_t), uint64_t arg, uint8_t *stack, size_t size)
{
    return child_thread_prepare(c, fn, arg, (uint64_t)(stack + size), PRIO_CHILD);
}

static int64_t thread_go(struct child *c) { return sys_thread_exregs(c->thread, 0, 0, ABI_EXREGS_START).err; }

/* A child task whose (first) thread runs fn, with slot PAGER_SLOT holding a
 * gate to the pager with `label` (no pager when label is 0). */
static int64_t child_with_pager(struct child *c, abi_cap_t pager_th, uint64_t label, void (*fn)(uint64_t),
                                uint64_t arg, unsigned stack)
{
    int64_t err = child_task(c, 64);
    if (!err) err = thread_prepare(c, fn, arg, stacks[stack], sizeof stacks[stack]);
    if (err || !label) return err;
    abi_cap_t gate = cap_alloc();
    err = sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, gate, pager_th, label).err;
    if (!err) err = sys_cap_copy(c->task, gate, PAGER_SLOT, ABI_R_SEND).err;
    if (!err) err = sys_thread_config(c->thread, PAGER_SLOT, 0).err;
    return err;
}

/* Let children (higher priority) run to completion, with a generous bound. */
static int wait_for(volatile int *flag)
{
    for (int i = 0; i < 1000 && !*flag; i++) sleep_ns(1000000);
    return *flag;
}

/* Main child: 64 pages, then the read-only page. */
static volatile uint64_t seen_page[NPAGES], seen_label[NPAGES];
static volatile uint64_t ro_first, ro_after;
static volatile int main_done;

static void main_child(uint64_t arg)
{
    for (unsigned i = 0; i < NPAGES; i++) {
        uint64_t a = REGION + i * 4096ull;
        if (i & 1) probe_write(a + 8 * W_CHILD, 0x5a5a0000 + i); /* first touch is a write */
        seen_page[i] = probe_read(a + 8 * W_PAGE);
        seen_label[i] = probe_read(a + 8 * W_LABEL);
    }
    ro_first = probe_read(RO_PAGE + 8 * W_PAGE);
    probe_write(RO_PAGE + 8 * W_CHILD, 0xfeedbeef);
    ro_after = probe_read(RO_PAGE + 8 * W_CHILD);
    main_done = 1;
}

/* Two children faulting at the same address. */
static volatile uint64_t same_va_label[2], same_va_page[2];
static volatile int same_va_done[2];

static void same_va_child(uint64_t which)
{
    same_va_page[which] = probe_read(SHARED_VA_PAGE + 8 * W_PAGE);
    same_va_label[which] = probe_read(SHARED_VA_PAGE + 8 * W_LABEL);
    same_va_done[which] = 1;
}

/* Grant: the granter sends GRANT_PAGE to the receiver's window. */
static volatile int64_t grant_call_err;
static volatile uint64_t grant_reply, granter_after_child, granter_after_seq, granter_before_seq;
static volatile int granter_done;
static volatile int64_t recv_err;
static volatile uint64_t recv_tag, recv_fpage, recv_child_word, recv_page_word;
static volatile int receiver_done;

static void granter(uint64_t arg)
{
    probe_write(GRANT_PAGE + 8 * W_CHILD, 0x6a6a);
    granter_before_seq = probe_read(GRANT_PAGE + 8 * W_SEQ);
    struct abi_utcb *u = utcb();
    u->mr[0] = ABI_ITEM_GRANT | 0;
    u->mr[1] = ABI_FPAGE(GRANT_PAGE, 12, ABI_MAP_R | ABI_MAP_W);
    struct sys_ret r = ipc_call(PEER_SLOT, ABI_TAG(ABI_PROTO_USER, 0, 1), ABI_TIMEOUT_NEVER);
    grant_call_err = r.err;
    grant_reply = u->mr[0];
    /* The page is gone from here: this faults to the pager again. */
    granter_after_child = probe_read(GRANT_PAGE + 8 * W_CHILD);
    granter_after_seq = probe_read(GRANT_PAGE + 8 * W_SEQ);
    granter_done = 1;
}

static void receiver(uint64_t arg)
{
    struct abi_utcb *u = utcb();
    u->br[ABI_BR_MEM_WINDOW] = ABI_FPAGE(RCV_WINDOW, 12, 0);
    struct sys_ret r = ipc_wait(ABI_TIMEOUT_NEVER);
    recv_err = r.err;
    recv_tag = r.v0;
    recv_fpage = u->mr[1];
    if (r.err == ABI_E_OK && ABI_TAG_ITEMS(r.v0) == 1) {
        recv_child_word = probe_read(RCV_WINDOW + 8 * W_CHILD);
        recv_page_word = probe_read(RCV_WINDOW + 8 * W_PAGE);
        probe_write(RCV_WINDOW + 8 * W_RECEIVER, 0xb0b0);
    }
    u->mr[0] = 0xacc;
    receiver_done = 1;
    ipc_reply(ABI_TAG(ABI_PROTO_USER, 1, 0));
}

/* No pager: the fault cannot be resolved. */
static volatile int orphan_before, orphan_after;

static void orphan(uint64_t arg)
{
    orphan_before = 1;
    probe_read(REGION);
    orphan_after = 1;
}

/* Echo server that touches a fresh page per request through the pager. */
static void late_server(uint64_t arg)
{
    ipc_wait(ABI_TIMEOUT_NEVER);
    for (unsigned n = 0;; n++) {
        struct abi_utcb *u = utcb();
        uint64_t v = u->mr[0];
        u->mr[0] = v + 1;
        u->mr[1] = probe_read(LATE_PAGE + n * 4096ull + 8 * W_PAGE);
        ipc_reply_wait(ABI_TAG(ABI_PROTO_USER, 2, 0), ABI_TIMEOUT_NEVER);
    }
}

int main(void)
{
    ok(frames_init(), "the KIP lists a free RAM region of at least 1 MiB (frames %lx..%lx)", phys_next, phys_end);

    struct child self = {ABI_CAP_SELF_TASK, 0, 0};
    is(child_thread(&self, pager, 0, (uint64_t)(stacks[0] + sizeof stacks[0]), PRIO_PAGER), 0,
       "start the pager thread in the root task");
    abi_cap_t pager_th = self.thread;

    /* 1. 64 pages, read and write faults, data written by the pager. */
    struct child c;
    is(child_with_pager(&c, pager_th, LABEL_MAIN, main_child, 0, 1), 0,
       "child task with a thread whose pager is a gate (label 0x%x) in its own table", LABEL_MAIN);
    is(sys_thread_config(c.thread, ABI_MAX_CAP_SLOTS, 0).err, ABI_E_INVALID_ARG,
       "thread_config rejects a pager slot beyond any table");
    is(thread_go(&c), 0, "start the child");
    ok(wait_for(&main_done), "the child touched %d unmapped pages and finished", NPAGES);
    is(nfaults, NPAGES + 2, "the pager got one fault per page plus two for the read-only page");

    int addr_ok = 1, ip_ok = 1, err_ok = 1, label_ok = 1;
    for (unsigned i = 0; i < NPAGES; i++) {
        const struct fault *f = &faults[i];
        int wr = i & 1;
        uint64_t want_addr = REGION + i * 4096ull + (wr ? 8 * W_CHILD : 8 * W_PAGE);
        uint64_t want_ip = (uint64_t)(wr ? probe_write_insn : probe_read_insn);
        if (f->addr != want_addr) addr_ok = 0;
        if (f->ip != want_ip) ip_ok = 0;
        if (f->err != (wr ? 6u : 4u)) err_ok = 0;
        if (f->label != LABEL_MAIN) label_ok = 0;
        if (f->addr != want_addr || f->ip != want_ip || f->err != (wr ? 6u : 4u) || f->label != LABEL_MAIN)
            printf("# fault %u: addr %lx ip %lx err %lx label %lx\n", i, f->addr, f->ip, f->err, f->label);
    }
    ok(addr_ok, "each fault message carries the exact faulting address");
    ok(ip_ok, "... the ip of the faulting instruction");
    ok(err_ok, "... error code 4 for reads and 6 (write bit) for writes of absent pages");
    ok(label_ok, "... and the label of the child's pager gate");

    int read_ok = 1, write_ok = 1;
    for (unsigned i = 0; i < NPAGES; i++) {
        uint64_t a = REGION + i * 4096ull;
        const struct frame *f = frame_of(LABEL_MAIN, a);
        if (!f || seen_page[i] != a || seen_label[i] != LABEL_MAIN) read_ok = 0;
        if (f && (i & 1) && window(f->phys)[W_CHILD] != 0x5a5a0000 + i) write_ok = 0;
        if (f && !(i & 1) && window(f->phys)[W_CHILD] != 0) write_ok = 0;
    }
    ok(read_ok, "the child read in all %d pages what the pager wrote into the frames", NPAGES);
    ok(write_ok, "the child's writes landed in the pager's frames (seen through the physical window)");

    /* 2. Read-only, then a write: upgraded in place. */
    const struct fault *ro1 = &faults[NPAGES], *ro2 = &faults[NPAGES + 1];
    ok(ro1->addr == RO_PAGE && ro1->err == 4 && ro1->ip == (uint64_t)probe_read_insn,
       "read of the read-only page: fault at 0x%lx, error %lu", ro1->addr, ro1->err);
    is(ro_first, RO_PAGE, "the child read the read-only page");
    ok(ro2->addr == RO_PAGE + 8 * W_CHILD && ro2->ip == (uint64_t)probe_write_insn,
       "the write to it faults again at the written address");
    is(ro2->err, 7, "... with error code 7: present, write, user");
    const struct frame *rof = frame_of(LABEL_MAIN, RO_PAGE);
    ok(rof && rof == &frames[NPAGES] && nframes == NPAGES + 1, "the pager upgraded the same frame (no new one)");
    is(ro_after, 0xfeedbeef, "after the upgrade the child reads its write back");
    ok(rof && window(rof->phys)[W_CHILD] == 0xfeedbeef, "... and it is in the pager's frame");

    /* 3. Two children fault at the same address; the label tells them apart. */
    struct child a, b;
    is(child_with_pager(&a, pager_th, LABEL_A, same_va_child, 0, 2), 0, "child A with pager label 0x%x", LABEL_A);
    is(child_with_pager(&b, pager_th, LABEL_B, same_va_child, 1, 3), 0, "child B with pager label 0x%x", LABEL_B);
    unsigned before = nfaults;
    thread_go(&a);
    thread_go(&b);
    ok(wait_for(&same_va_done[0]) && wait_for(&same_va_done[1]), "both children finished");
    is(nfaults - before, 2, "two faults at 0x%llx", SHARED_VA_PAGE);
    ok(faults[before].label == LABEL_A && faults[before + 1].label == LABEL_B,
       "the first came with label A, the second with label B");
    ok(same_va_label[0] == LABEL_A && same_va_page[0] == SHARED_VA_PAGE, "child A sees the frame made for label A");
    ok(same_va_label[1] == LABEL_B && same_va_page[1] == SHARED_VA_PAGE, "child B sees the frame made for label B");

    /* 4. Grant by IPC from one child to another. */
    struct child g, rcv;
    is(child_with_pager(&g, pager_th, LABEL_GRANTER, granter, 0, 4), 0, "granter task with a pager");
    is(child_with_pager(&rcv, pager_th, 0, receiver, 0, 5), 0, "receiver task without a pager");
    abi_cap_t rgate = cap_alloc();
    is(sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, rgate, rcv.thread, 0x77).err, 0,
       "gate to the receiver");
    is(sys_cap_copy(g.task, rgate, PEER_SLOT, ABI_R_SEND).err, 0, "... copied into the granter's table");
    before = nfaults;
    thread_go(&rcv);
    thread_go(&g);
    ok(wait_for(&granter_done) && receiver_done, "granter and receiver finished");
    is(grant_call_err, 0, "the granter's call with the grant item succeeded");
    is(grant_reply, 0xacc, "... and got the receiver's reply");
    is(recv_err, 0, "the receiver got the message");
    is(ABI_TAG_ITEMS(recv_tag), 1, "... with one item");
    is(recv_fpage, ABI_FPAGE(RCV_WINDOW, 12, ABI_MAP_R | ABI_MAP_W), "... which reports the page at its window");
    is(recv_child_word, 0x6a6a, "the receiver reads what the granter wrote");
    is(recv_page_word, GRANT_PAGE, "... in the frame the pager gave the granter");
    is(nfaults - before, 2, "the granter faulted twice on the page: before and after the grant");
    const struct fault *g2 = &faults[before + 1];
    ok(g2->label == LABEL_GRANTER && g2->addr == GRANT_PAGE + 8 * W_CHILD && g2->err == 4,
       "after the grant the page is absent from the granter: its read faults to its pager");
    ok(granter_after_child == 0 && granter_after_seq != granter_before_seq,
       "... and the granter then sees the new frame, not the granted one");
    const struct frame *gf = &frames[nframes - 2];
    ok(gf->page == GRANT_PAGE && window(gf->phys)[W_RECEIVER] == 0xb0b0,
       "the receiver's write went into the granted frame");

    /* 5. No pager: the thread is halted, everybody else carries on. */
    struct child o;
    is(child_with_pager(&o, pager_th, 0, orphan, 0, 6), 0, "child thread without a pager");
    before = nfaults;
    thread_go(&o);
    sleep_ns(2000000);
    ok(orphan_before && !orphan_after, "the orphan faulted and did not get past the faulting access");
    struct sys_ret r = sys_thread_exregs(o.thread, 0, 0, 0);
    ok(r.err == 0 && r.v0 == (uint64_t)probe_read_insn, "it stays halted at the faulting instruction");
    is(nfaults, before, "no fault message went to any pager");

    struct child l;
    is(child_with_pager(&l, pager_th, LABEL_LATE, late_server, 0, 7), 0, "another child: an echo server with a pager");
    abi_cap_t lgate = cap_alloc();
    sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_GATE, lgate, l.thread, 1);
    thread_go(&l);
    struct abi_utcb *u = utcb();
    int echo_ok = 1;
    for (unsigned i = 0; i < 4; i++) {
        u->mr[0] = 100 + i;
        r = ipc_call(lgate, ABI_TAG(ABI_PROTO_USER, 1, 0), ABI_TIMEOUT_NEVER);
        if (r.err || u->mr[0] != 101 + i || u->mr[1] != LATE_PAGE + i * 4096ull) echo_ok = 0;
    }
    ok(echo_ok, "the root still calls a child by IPC, and the pager still serves that child's faults");
    is(pager_errors, 0, "the pager never got a message it did not expect");
    tap_done();
}
