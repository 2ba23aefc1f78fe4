/* Synchronous IPC (see ipc.h). */
#include "ipc.h"
#include "abi/errors.h"
#include "arch_cpu.h"
#include "arch_paging.h"
#include "arch_trap.h"
#include "cap_table.h"
#include "gate.h"
#include "irq.h"
#include "memory.h"
#include "rt.h"
#include "sched.h"
#include "syscall.h"
#include "task.h"
#include "thread.h"
#include "thread_queue.h"

/* --- wait lists (thread_queue.h) --- */

static void wl_add(struct thread **head, struct thread *t) { tq_add_tail(head, t); }

/* Senders wait in priority order, FIFO within a priority. */
static void wl_add_by_prio(struct thread **head, struct thread *t)
{
    struct thread *h = *head;
    if (!h || h->prio < t->prio) {
        tq_add_tail(head, t);
        if (h) *head = t;
        return;
    }
    struct thread *p = h->q_next;
    while (p != h && p->prio >= t->prio) p = p->q_next;
    tq_insert_before(p, t); /* p == h: at the tail */
}

static void wl_remove(struct thread **head, struct thread *t)
{
    if (t->queued) tq_remove(head, t);
}

/* Take t out of whatever IPC wait it is in, without waking it. */
static void leave_wait(struct thread *t)
{
    if (t->state == TS_SEND && t->partner) {
        wl_remove(&t->partner->senders, t);
    } else if (t->state == TS_RECV && t->partner && t->partner != t) {
        wl_remove(&t->partner->rcv_waiters, t);
        if (t->partner->caller == t) t->partner->caller = NULL;
    }
    t->partner = NULL;
    timeout_cancel(t);
}

/* End t's wait with a result; the caller decides how t gets the CPU. */
static void unblock(struct thread *t, int64_t err)
{
    leave_wait(t);
    t->ipc_err = err;
    t->state = TS_READY;
}

static void wake(struct thread *t, int64_t err)
{
    unblock(t, err);
    sched_ready(t);
}

void thread_ipc_abort(struct thread *t, int64_t err)
{
    if (t->state != TS_SEND && t->state != TS_RECV) return;
    wake(t, err);
}

void ipc_forget_partner(struct thread *t)
{
    while (t->rcv_waiters) thread_ipc_abort(t->rcv_waiters, ABI_E_ABORTED);
}

void ipc_wake_with(struct thread *t, abi_tag_t tag, uint64_t label)
{
    t->rcv_tag = tag;
    t->rcv_label = label;
    wake(t, ABI_E_OK);
}

/* --- message transfer --- */

static int64_t transfer_map(struct thread *snd, struct thread *rcv, uint64_t w0, uint64_t w1, uint64_t *out)
{
    unsigned so = ABI_FPAGE_ORDER(w1), rights = ABI_FPAGE_RIGHTS(w1);
    uint64_t sb = ABI_FPAGE_BASE(w1), hot = w0 & ~0xfffull;
    uint64_t window = rcv->msg_kernel ? ABI_FPAGE_WHOLE_SPACE : rcv->utcb->br[ABI_BR_MEM_WINDOW];
    unsigned wo = ABI_FPAGE_ORDER(window);
    uint64_t wb = ABI_FPAGE_BASE(window);
    if (so < 12 || so > 47 || (sb & ((1ull << so) - 1)) || !rights) return ABI_E_INVALID_ARG;
    if (wo < 12 || wo > 47 || (wb & ((1ull << wo) - 1))) return ABI_E_MSG_TRUNCATED;

    uint64_t src, dst, order;
    if (so <= wo) {
        src = sb;
        dst = wb + (hot & ((1ull << wo) - 1) & ~((1ull << so) - 1));
        order = so;
    } else {
        src = sb + (hot & ((1ull << so) - 1) & ~((1ull << wo) - 1));
        dst = wb;
        order = wo;
    }
    uint64_t pages = 1ull << (order - 12);
    if (pages > ABI_IPC_MAP_MAX_PAGES) return ABI_E_INVALID_ARG;
    bool grant = ABI_ITEM_TYPE(w0) == ABI_ITEM_GRANT;
    for (uint64_t i = 0; i < pages; i++) {
        int64_t err = mem_map(snd->task, src + i * 4096, rcv->task, dst + i * 4096, rights, grant);
        if (err != ABI_E_OK && err != ABI_E_NOT_MAPPED) return err;
    }
    *out = ABI_FPAGE(dst, order, rights);
    return ABI_E_OK;
}

static int64_t transfer_cap(struct thread *snd, struct thread *rcv, uint64_t w0, uint64_t w1, uint64_t *out)
{
    if (rcv->msg_kernel) return ABI_E_MSG_TRUNCATED;
    int64_t err;
    struct cap *src = task_cap(snd->task, w1, ABI_OBJ_NONE, ABI_R_COPY, &err);
    if (!src) return err;
    uint64_t slot = cap_find_free(&rcv->task->caps, rcv->utcb->br[ABI_BR_CAP_BASE], rcv->utcb->br[ABI_BR_CAP_COUNT]);
    if (!slot) return ABI_E_MSG_TRUNCATED;
    struct cap *dst = task_slot_alloc(rcv->task, slot, &err);
    if (!dst) return err;
    if (!cap_derive(src, dst, (uint8_t)((w0 >> 8) & ABI_R_ALL))) return ABI_E_INVALID_ARG;
    *out = slot;
    return ABI_E_OK;
}

static int64_t transfer(struct thread *snd, struct thread *rcv, uint64_t label, abi_tag_t tag)
{
    unsigned words = ABI_TAG_WORDS(tag), items = ABI_TAG_ITEMS(tag);
    const uint64_t *src = snd->msg;
    uint64_t *dst = rcv->msg;
    for (unsigned i = 0; i < words; i++) dst[i] = src[i];
    rcv->rcv_label = label;
    if (!items) {
        rcv->rcv_tag = tag & ~0xff00ull;
        return ABI_E_OK;
    }
    int64_t err = ABI_E_OK;
    unsigned done = 0;
    for (; done < items; done++) {
        uint64_t w0 = src[words + 2 * done], w1 = src[words + 2 * done + 1], out = 0;
        switch (ABI_ITEM_TYPE(w0)) {
        case ABI_ITEM_MAP:
        case ABI_ITEM_GRANT:
            err = transfer_map(snd, rcv, w0, w1, &out);
            break;
        case ABI_ITEM_CAP:
            err = transfer_cap(snd, rcv, w0, w1, &out);
            break;
        default:
            err = ABI_E_INVALID_ARG;
        }
        if (err != ABI_E_OK) break;
        dst[words + 2 * done] = w0;
        dst[words + 2 * done + 1] = out;
    }
    rcv->rcv_tag = ABI_TAG(ABI_TAG_PROTO(tag), words, done);
    rcv->rcv_label = label;
    return err;
}

static bool accepts(const struct thread *rcv, const struct thread *snd)
{
    return rcv->state == TS_RECV && (rcv->partner == NULL || rcv->partner == snd);
}

/* Receive phase: take a queued sender or wait. `woken` is a partner the send
 * phase just released: if we block, it gets the CPU directly (no trip
 * through the ready queue); if we do not, it is queued normally. */
static int64_t receive(struct thread *self, struct thread *from, uint64_t timeout, struct thread *woken)
{
    if (!from && (irq_deliver_pending(self) || (self->monitored && rt_deliver_pending(self)))) {
        if (woken) sched_ready(woken);
        return ABI_E_OK;
    }
    struct thread *s = NULL;
    if (from) {
        if (from->state == TS_SEND && from->partner == self) s = from;
    } else {
        s = self->senders;
    }
    if (s) {
        leave_wait(s);
        int64_t err = transfer(s, self, s->snd_label, s->snd_tag);
        if (s->snd_call && err == ABI_E_OK) {
            /* The caller now waits for our reply; it must already be
             * waiting when we reply, so we put it there ourselves. */
            s->state = TS_RECV;
            s->partner = self;
            wl_add(&self->rcv_waiters, s);
            if (s->call_rcv_timeout != ABI_TIMEOUT_NEVER) timeout_arm(s, clock_deadline(s->call_rcv_timeout));
            self->caller = s;
        } else {
            s->ipc_err = err;
            sched_ready(s);
        }
        if (woken) sched_ready(woken);
        return err;
    }
    if (timeout == ABI_TIMEOUT_ZERO) {
        if (woken) sched_ready(woken);
        return ABI_E_TIMEOUT;
    }
    self->state = TS_RECV;
    self->partner = from;
    if (from && from != self) wl_add(&from->rcv_waiters, self);
    if (timeout != ABI_TIMEOUT_NEVER) timeout_arm(self, clock_deadline(timeout));
    if (woken) sched_handoff(woken);
    else schedule();
    return self->ipc_err;
}

int64_t ipc_invoke(struct thread *self, struct thread *dst, uint64_t label, abi_tag_t tag, uint64_t flags,
                   uint64_t snd_timeout, struct thread *from, uint64_t rcv_timeout)
{
    bool call = flags & ABI_IPC_CALL, recv = flags & ABI_IPC_RECV;
    struct thread *woken = NULL;
    self->exregs_abort = false;
    if (flags & ABI_IPC_REPLY) {
        struct thread *c = self->caller;
        self->caller = NULL;
        int64_t err = ABI_E_NO_PARTNER;
        if (c && accepts(c, self)) {
            err = transfer(self, c, label, tag);
            unblock(c, err);
            woken = c;
        }
        /* A failed reply does not stop the server from taking the next request. */
        if (!recv) {
            if (woken) sched_ready(woken);
            return err;
        }
    } else if (flags & ABI_IPC_SEND) {
        if (accepts(dst, self)) {
            int64_t err = transfer(self, dst, label, tag);
            if (call && err == ABI_E_OK) dst->caller = self;
            unblock(dst, err);
            if (err != ABI_E_OK || !recv) {
                sched_ready(dst);
                return err;
            }
            woken = dst;
        } else {
            rt_message(dst); /* a data-driven release waits for exactly this */
            if (snd_timeout == ABI_TIMEOUT_ZERO) return ABI_E_TIMEOUT;
            self->snd_label = label;
            self->snd_tag = tag;
            self->snd_call = call;
            self->call_rcv_timeout = rcv_timeout;
            self->state = TS_SEND;
            self->partner = dst;
            wl_add_by_prio(&dst->senders, self);
            if (snd_timeout != ABI_TIMEOUT_NEVER) timeout_arm(self, clock_deadline(snd_timeout));
            schedule();
            self->snd_call = false;
            /* A blocked call returns only once the reply (or an error) came. */
            if (self->ipc_err != ABI_E_OK || !recv || call) return self->ipc_err;
        }
    }
    if (!recv) return ABI_E_OK;
    return receive(self, call ? dst : from, rcv_timeout, woken);
}

int64_t ipc_kernel_call(struct thread *self, struct thread *dst, uint64_t label, abi_tag_t tag)
{
    self->msg = self->kmsg;
    self->msg_kernel = true;
    int64_t err = ipc_invoke(self, dst, label, tag, ABI_IPC_OP_CALL, ABI_TIMEOUT_NEVER, NULL, ABI_TIMEOUT_NEVER);
    self->msg_kernel = false;
    self->msg = self->utcb ? self->utcb->mr : NULL;
    return err;
}

/* Resolve an IPC destination: a gate (its thread and label) or a thread. */
static struct thread *resolve_dest(struct thread *self, uint64_t sel, uint64_t *label, int64_t *err)
{
    struct cap *c = task_cap(self->task, sel, ABI_OBJ_NONE, ABI_R_SEND, err);
    if (!c) return NULL;
    struct thread *t;
    if (c->type == ABI_OBJ_GATE) {
        struct gate *g = (struct gate *)c->obj;
        t = g->thread;
        *label = g->label;
    } else if (c->type == ABI_OBJ_THREAD) {
        t = (struct thread *)c->obj;
        *label = 0;
    } else {
        *err = ABI_E_WRONG_TYPE;
        return NULL;
    }
    if (!t || !t->task || t->obj.dead) {
        *err = ABI_E_ABORTED;
        return NULL;
    }
    if (t == self) {
        *err = ABI_E_INVALID_ARG;
        return NULL;
    }
    return t;
}

/*
 * A watched receive (ABI_IPC_WATCH): does the 32-bit word at `addr` of the
 * current task still hold `val`? Read through the page tables (the kernel
 * never faults on user memory); interrupts are off from here to the block,
 * so no peer can change the word in between. The leaf entry of the last
 * page is kept (a waiter watches the same few words again and again); the
 * entry itself is read every time, so an unmap is seen at once. ABI_E_OK:
 * it does (go on and receive), ABI_E_CHANGED, or ABI_E_INVALID_ARG for an
 * unaligned or unmapped word.
 */
static inline int64_t watch_check(struct thread *self, uint64_t addr, uint64_t val)
{
    if (addr & 3) return ABI_E_INVALID_ARG;
    uint64_t page = addr & ~0xfffull;
    const uint64_t *pte = self->watch_pte;
    if (!pte || self->watch_page != page) {
        if (addr >= USER_ADDR_END) return ABI_E_INVALID_ARG;
        struct arch_pte_ref r = arch_pte_lookup(&self->task->space, addr);
        if (!r.pte) return ABI_E_INVALID_ARG;
        pte = self->watch_pte = r.pte;
        self->watch_page = page;
    }
    uint64_t e = *pte;
    if (!arch_pte_present(e)) return ABI_E_INVALID_ARG;
    const volatile uint32_t *w = (const volatile uint32_t *)((uint8_t *)phys_to_virt(arch_pte_phys(e)) + (addr & 0xfff));
    return *w == (uint32_t)val ? ABI_E_OK : ABI_E_CHANGED;
}

/* The thread a fast-path send goes to: a gate's or a thread's, with the
 * SEND right; NULL for anything else (the general path reports it). */
static inline struct thread *fast_dest(const struct thread *self, uint64_t sel, uint64_t *label)
{
    /* Slot 0 is never filled, so the range check covers it. */
    const struct cap_table *ct = &self->task->caps;
    if (sel >= ct->size) return NULL;
    const struct cap *page = ct->pages[sel / CAP_PAGE_SLOTS];
    if (!page) return NULL;
    const struct cap *c = &page[sel % CAP_PAGE_SLOTS];
    if (!(c->rights & ABI_R_SEND)) return NULL;
    if (c->type == ABI_OBJ_GATE) {
        const struct gate *g = (const struct gate *)c->obj;
        *label = g->label;
        return g->thread;
    }
    return c->type == ABI_OBJ_THREAD ? (struct thread *)c->obj : NULL;
}

/*
 * A receive (closed or open, watched or not) that finds nothing to take and
 * has to block: the waiting side of a wake-up, the other half of the send
 * fast path. Anything to deliver at once (a queued sender, an interrupt, a
 * notification), a zero timeout, a receive from nobody or from a thread
 * that is gone: the general path. A watched word that changed returns
 * here.
 */
static inline bool fast_receive(struct thread *self, struct trap_frame *f, uint64_t flags)
{
    struct thread *from = NULL;
    if (flags & ABI_IPC_OPEN) {
        if (self->senders || self->irqs || self->monitored) return false;
    } else {
        /* Slot 0 (ABI_CAP_NULL, a sleep) is never filled. */
        const struct cap_table *ct = &self->task->caps;
        uint64_t sel = f->rsi;
        if (sel >= ct->size) return false;
        const struct cap *page = ct->pages[sel / CAP_PAGE_SLOTS];
        if (!page) return false;
        const struct cap *c = &page[sel % CAP_PAGE_SLOTS];
        if (c->type != ABI_OBJ_THREAD) return false;
        from = (struct thread *)c->obj;
        if (from == self || !from->task || from->obj.dead || (from->state == TS_SEND && from->partner == self))
            return false;
    }
    uint64_t timeout = f->r8;
    if (timeout == ABI_TIMEOUT_ZERO) return false;
    if (flags & ABI_IPC_WATCH) {
        int64_t err = watch_check(self, f->rdi, f->r10);
        if (err != ABI_E_OK) {
            f->rax = (uint64_t)err;
            f->rdx = 0;
            f->rsi = 0;
            return true;
        }
    }
    self->exregs_abort = false;
    self->rcv_tag = 0;
    self->rcv_label = 0;
    self->state = TS_RECV;
    self->partner = from;
    if (from) wl_add(&from->rcv_waiters, self);
    if (timeout != ABI_TIMEOUT_NEVER) timeout_arm(self, clock_deadline(timeout));
    schedule();
    f->rax = (uint64_t)self->ipc_err;
    f->rdx = self->rcv_tag;
    f->rsi = self->rcv_label;
    return true;
}

/* The fast paths' delivery: untyped words only, the receiver waiting. */
static inline __attribute__((always_inline)) void fast_deliver(struct thread *self, struct thread *dst, abi_tag_t tag,
                                                               uint64_t label, unsigned words)
{
    const uint64_t *src = self->msg;
    uint64_t *out = dst->msg;
    for (unsigned i = 0; i < words; i++) out[i] = src[i];
    dst->rcv_tag = tag;
    dst->rcv_label = label;
    dst->ipc_err = ABI_E_OK;
}

/*
 * The fast path: call and reply-and-wait carrying untyped words only, to a
 * partner that already waits for exactly this, with no timeout to arm and
 * nothing more important ready. That is every steady-state client-server
 * exchange. It makes the same state changes as ipc_invoke, minus the
 * queueing, and switches directly; any other case returns false and takes
 * the general path.
 *
 * Also a plain send of untyped words (any send timeout: the partner waits)
 * to a thread that waits in a receive from us or from anyone: the wake-up
 * of a blocked peer (DSI, notifications). A more important receiver gets
 * the CPU at once (we are preempted, as the general path's reschedule
 * would do, but without the trip through the ready queue for it); an
 * equally or less important one is only made ready, so a producer at the
 * same priority keeps filling its ring instead of switching per packet.
 */

/* The send fast path (see ipc_fastpath). */
static inline bool fast_send(struct thread *self, struct trap_frame *f)
{
    uint64_t tag = f->rdx, label = 0;
    unsigned words = ABI_TAG_WORDS(tag);
    struct thread *dst = fast_dest(self, f->rdi, &label);
    /* A receive from nobody (partner == itself) is a sleep, not a wait for
     * us; a receiving thread is never the running one. */
    if (!dst || dst->state != TS_RECV || (dst->partner && dst->partner != self) ||
        (dst->sched_hooks & THREAD_HOOKS_CPU))
        return false;
    bool preempt = dst->prio > self->prio;
    if (preempt ? !sched_may_handoff(dst) : need_resched) return false;
    fast_deliver(self, dst, tag, label, words);
    if (dst->partner) {
        wl_remove(&self->rcv_waiters, dst);
        dst->partner = NULL;
    }
    timeout_cancel(dst);
    f->rax = ABI_E_OK;
    f->rdx = 0;
    f->rsi = 0;
    if (preempt) sched_preempt_direct(dst);
    else sched_ready(dst);
    return true;
}

/* A send or a receive, fast if it can be, else the general path and the
 * kernel exit: the whole system call (see ipc_fastpath). Two functions, so
 * that each saves only the registers it needs. */
static bool fast_ok(const struct thread *self, const struct trap_frame *f)
{
    /* Untyped words only; real-time threads take the general path. */
    return !(f->rdx & 0xff00) && ABI_TAG_WORDS(f->rdx) <= ABI_MR_COUNT && !self->sched_hooks;
}

static __attribute__((noinline)) void send_full(struct trap_frame *f)
{
    if (fast_ok(current, f) && fast_send(current, f)) return;
    sys_ipc(f);
    kernel_exit();
}

static __attribute__((noinline)) void receive_full(struct trap_frame *f, uint64_t flags)
{
    if (fast_ok(current, f) && fast_receive(current, f, flags)) return;
    sys_ipc(f);
    kernel_exit();
}

bool ipc_fastpath(struct trap_frame *f)
{
    struct thread *self = current;
    uint64_t flags = f->r9, tag = f->rdx;
    unsigned words = ABI_TAG_WORDS(tag);
    /* Real-time threads take the general path: their time must be charged
     * before anyone else gets the CPU. */
    if (__builtin_expect((tag & 0xff00) || words > ABI_MR_COUNT || f->r8 != ABI_TIMEOUT_NEVER || self->sched_hooks, 0))
        goto other;
    struct thread *dst;
    uint64_t label = 0;
    if (flags == ABI_IPC_OP_CALL) {
        const struct cap_table *ct = &self->task->caps;
        if (f->rdi >= ct->size) return false;
        const struct cap *page = ct->pages[f->rdi / CAP_PAGE_SLOTS];
        if (!page) return false;
        const struct cap *c = &page[f->rdi % CAP_PAGE_SLOTS];
        if (c->type != ABI_OBJ_GATE || !(c->rights & ABI_R_SEND)) return false;
        struct gate *g = (struct gate *)c->obj;
        dst = g->thread;
        label = g->label;
        /* A receiving thread is never the running one, so dst != self. */
        if (!dst || dst->state != TS_RECV || dst->partner) return false;
    } else if (flags == ABI_IPC_OP_REPLY_WAIT) {
        dst = self->caller;
        if (!dst || dst->state != TS_RECV || dst->partner != self || self->senders || self->irqs) return false;
    } else {
        goto other;
    }
    /* A timeout to cancel, or a group member that may have to stay off the
     * CPU: general path. */
    if (dst->sched_hooks || !sched_may_handoff(dst)) return false;

    fast_deliver(self, dst, tag, label, words);
    self->state = TS_RECV;
    if (flags == ABI_IPC_OP_CALL) {
        dst->caller = self;
        self->partner = dst;
        wl_add(&dst->rcv_waiters, self);
    } else {
        wl_remove(&self->rcv_waiters, dst);
        dst->partner = NULL;
        self->caller = NULL;
        self->partner = NULL;
    }
    sched_switch_direct(dst);
    f->rax = (uint64_t)self->ipc_err;
    f->rdx = self->rcv_tag;
    f->rsi = self->rcv_label;
    return true;

other:
    /* Send and receive fast paths: out of line, and they finish the whole
     * system call themselves (falling back to sys_ipc and kernel_exit), so
     * that syscall_entry, which inlines this function, keeps nothing alive
     * across them and every system call's entry stays as short as it was. */
    if (flags == ABI_IPC_SEND) {
        send_full(f);
        return true;
    }
    if ((flags & ~(uint64_t)(ABI_IPC_OPEN | ABI_IPC_WATCH)) == ABI_IPC_RECV) {
        receive_full(f, flags);
        return true;
    }
    return false;
}

void sys_ipc(struct trap_frame *f)
{
    struct thread *self = current;
    uint64_t flags = f->r9, tag = f->rdx, label = 0;
    int64_t err = ABI_E_OK;
    struct thread *dst = NULL, *from = NULL;
    unsigned words = ABI_TAG_WORDS(tag), items = ABI_TAG_ITEMS(tag);

    if ((flags & ~(uint64_t)ABI_IPC_FLAGS_ALL) || words + 2 * items > ABI_MR_COUNT || items > ABI_IPC_MAX_ITEMS ||
        ((flags & ABI_IPC_CALL) && !(flags & ABI_IPC_SEND)) || ((flags & ABI_IPC_REPLY) && (flags & ABI_IPC_CALL)) ||
        ((flags & ABI_IPC_WATCH) && (flags & (ABI_IPC_SEND | ABI_IPC_REPLY | ABI_IPC_CALL | ABI_IPC_RECV)) != ABI_IPC_RECV))
        err = ABI_E_INVALID_ARG;
    else if ((flags & ABI_IPC_SEND) && !(flags & ABI_IPC_REPLY))
        dst = resolve_dest(self, f->rdi, &label, &err);
    if (err == ABI_E_OK && (flags & ABI_IPC_RECV) && !(flags & (ABI_IPC_OPEN | ABI_IPC_CALL))) {
        if (f->rsi == ABI_CAP_NULL) {
            from = self; /* nobody: a pure timeout wait */
        } else {
            struct cap *c = task_cap(self->task, f->rsi, ABI_OBJ_THREAD, 0, &err);
            if (c) from = (struct thread *)c->obj;
            /* A thread without a task (never bound, or its task deleted)
             * can never send: fail now, as a send to it does, instead of
             * waiting for the timeout. */
            if (from && (!from->task || from->obj.dead)) err = ABI_E_ABORTED;
        }
    }
    if (err == ABI_E_OK && (flags & ABI_IPC_WATCH)) err = watch_check(self, f->rdi, f->r10);
    if (err == ABI_E_OK) {
        self->rcv_tag = 0;
        self->rcv_label = 0;
        err = ipc_invoke(self, dst, label, tag, flags, f->r10, from, f->r8);
    }
    f->rax = (uint64_t)err;
    f->rdx = self->rcv_tag;
    f->rsi = self->rcv_label;
}
