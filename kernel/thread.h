/*
 * Thread: a user execution context with its kernel stack, UTCB, scheduling
 * parameters and IPC state.
 *
 * Each thread has its own kernel stack; a thread that blocks in the kernel
 * (in IPC, or in a page fault waiting for its pager) simply sleeps on it.
 */
#ifndef KERNEL_THREAD_H
#define KERNEL_THREAD_H

#include "abi/exception.h"
#include "abi/ipc.h"
#include "abi/utcb.h"
#include "arch_cpu.h"
#include "arch_trap.h"
#include "object.h"
#include "rt_sched.h"

struct task;
struct gate;
struct irq;

enum thread_state {
    TS_UNBOUND = 0, /* created, no task yet */
    TS_HALTED,      /* bound but not running (new, stopped, or dead fault) */
    TS_READY,       /* in the ready queue */
    TS_RUNNING,     /* the current thread */
    TS_SEND,        /* blocked sending to `partner` */
    TS_RECV,        /* blocked receiving; partner NULL = open */
    TS_RT_WAIT,     /* real-time thread after next_period, until its next release */
    TS_THROTTLED,   /* member of a best-effort group whose budget is used up */
};

/* Bits of thread.sched_hooks: anything that keeps a thread off the IPC fast
 * path, tested there with one compare. */
#define THREAD_HOOK_RT 0x1u      /* rt.c must see it enter and leave the CPU */
#define THREAD_HOOK_GROUP 0x2u   /* ... and so must its best-effort group */
#define THREAD_HOOK_TIMEOUT 0x4u /* an IPC timeout is armed (sched.c) */
#define THREAD_HOOKS_CPU (THREAD_HOOK_RT | THREAD_HOOK_GROUP)

#define KSTACK_ORDER 1
#define KSTACK_SIZE (4096u << KSTACK_ORDER)

struct thread {
    struct kobj obj;
    struct task *task;
    struct thread *task_next, *task_prev;

    uint8_t *kstack; /* one page */
    uint64_t ksp;    /* saved by arch_switch */
    struct trap_frame *frame;
    struct abi_utcb *utcb; /* kernel view */
    uint64_t utcb_uaddr;

    uint8_t state, prio, mcp;
    bool queued;             /* in a ready queue or a sender queue */
    bool preempted;          /* taken off the CPU involuntarily: resumes at the queue head */
    struct thread *q_next, *q_prev;
    uint64_t slice_end_ns;

    /* IPC */
    struct thread *partner;   /* TS_SEND: the receiver; TS_RECV: expected sender or NULL */
    struct thread *senders;   /* circular queue of threads blocked sending to us */
    struct thread *caller;    /* may be replied to once */
    struct thread *rcv_waiters; /* circular: threads in closed receive on us */
    uint64_t snd_label;
    abi_tag_t snd_tag;
    bool snd_call;
    uint64_t call_rcv_timeout;
    uint64_t *msg;            /* message source and sink: utcb->mr or kmsg */
    bool msg_kernel;          /* kmsg in use: window is the whole space, no caps */
    uint64_t kmsg[ABI_MR_COUNT]; /* a reply may fill every register */
    int64_t ipc_err;
    abi_tag_t rcv_tag;
    uint64_t rcv_label;
    bool exregs_abort;        /* IPC cancelled by exregs: the fault path resumes the user */
    /* The page-table entry of the last word a watched receive read (ipc.c):
     * a leaf table lives as long as its task, and the thread changes task
     * only through thread_bind, which forgets it. */
    uint64_t watch_page;
    const uint64_t *watch_pte;

    /* timeouts */
    uint64_t wakeup_ns;
    struct thread *to_next, *to_prev;

    /* configuration */
    uint64_t pager_slot, exc_slot;
    struct gate *gates; /* gates bound to this thread */
    struct irq *irqs;   /* irqs bound to this thread */

    uint64_t fs_base, gs_base;

    /* real-time scheduling (rt.c) */
    uint8_t sched_hooks;       /* THREAD_HOOK_* */
    bool rt_on;                /* driven by rt-sched: prio follows rt_priority() */
    uint8_t group;             /* best-effort group (rt.c), 0: none */
    struct thread *group_next; /* members of the same group */
    uint8_t base_prio;         /* the priority to return to when real time ends */
    bool rt_event_armed;
    uint64_t rt_event_ns;      /* next rt-sched event, in the sorted rt event list */
    uint64_t rt_ev_gravity;    /* it is a release, that much ahead of its time (rt.c) */
    struct thread *rt_ev_next, *rt_ev_prev;
    struct thread *preempter;  /* receives this thread's notifications */
    uint64_t preempter_label;
    struct thread *monitored;  /* threads whose preempter we are, via monitored_next */
    struct thread *monitored_next;
    uint64_t rt_release_ns;    /* released by the timer: not back to user before this instant */
    uint64_t rt_fired_ns;      /* when that timer was due (the gravity's calibration) */
    struct rt_thread rt;

    struct arch_fpu_state fpu;
};

struct thread *thread_create(struct factory *f);
int64_t thread_bind(struct thread *t, struct task *task, uint64_t utcb_uaddr);
void thread_start(struct thread *t);
/* Stop a thread: cancel its IPC, take it off every queue. */
void thread_halt(struct thread *t);
void thread_unbind(struct thread *t);
void thread_destroy_begin(struct thread *t);
bool thread_reap_step(struct thread *t);

/* IPC cancellation with an error, from timeouts, halts and partner deaths. */
void thread_ipc_abort(struct thread *t, int64_t err);


void thread_set_user_state(struct thread *t, const struct abi_exc_state *s);

/* The thread named by a slot of the current task, with at least `rights`. */
struct thread *thread_from_cap(uint64_t sel, uint8_t rights, int64_t *err);
void thread_get_user_state(const struct thread *t, struct abi_exc_state *s);

#endif
