/*
 * Kernel object types, capability rights, the root task's initial
 * capabilities and the operation codes of the small multiplexed calls.
 *
 * Every object is named only through a capability slot in the caller's task.
 * Slot 0 is never valid. A capability created by a factory is the object's
 * original: deleting it destroys the object and revokes every copy. Copies
 * (cap_copy, cap items in IPC) can only drop rights, never add them.
 */
#ifndef ABI_OBJECTS_H
#define ABI_OBJECTS_H

#include "types.h"

enum abi_obj_type {
    ABI_OBJ_NONE = 0,
    ABI_OBJ_TASK = 1,        /* address space + capability table */
    ABI_OBJ_THREAD = 2,      /* execution context, UTCB, pager, exception handler */
    ABI_OBJ_GATE = 3,        /* IPC endpoint bound to a thread, with a label */
    ABI_OBJ_IRQ = 4,         /* an interrupt line delivered as IPC */
    ABI_OBJ_FACTORY = 5,     /* creates objects from a kernel-memory quota */
    ABI_OBJ_IRQ_CONTROL = 6, /* the right to create IRQ objects */
    ABI_OBJ_MACHINE = 7,     /* console output (SEND) and machine exit (CTRL) */
    ABI_OBJ_SCHED_CONTROL = 8, /* reservation control: real-time parameters, job trace */
    ABI_OBJ_TYPE_COUNT
};

/* Rights of a capability. */
#define ABI_R_SEND 0x1u /* IPC to a gate or thread; console output on MACHINE */
#define ABI_R_CTRL 0x2u /* change the object: map into a task, configure a thread, ... */
#define ABI_R_COPY 0x4u /* copy or transfer the capability further */
#define ABI_R_ALL 0x7u

/* Capabilities the kernel installs in the root task. */
#define ABI_CAP_NULL 0u
#define ABI_CAP_SELF_TASK 1u
#define ABI_CAP_SELF_THREAD 2u
#define ABI_CAP_FACTORY 3u
#define ABI_CAP_IRQ_CONTROL 4u
#define ABI_CAP_MACHINE 5u
#define ABI_CAP_SCHED_CONTROL 6u
#define ABI_CAP_ROOT_FIRST_FREE 8u
#define ABI_ROOT_CAP_SLOTS 8192u
#define ABI_MAX_CAP_SLOTS 65536u

/* thread_exregs flags */
#define ABI_EXREGS_SET_IP 0x1u
#define ABI_EXREGS_SET_SP 0x2u
#define ABI_EXREGS_START 0x4u  /* make a bound thread runnable */
#define ABI_EXREGS_HALT 0x8u   /* stop the thread; cancels a pending IPC */

/* unmap flags: rights to remove (low bits, ABI_MAP_*), plus: */
#define ABI_UNMAP_SELF 0x100u  /* also remove the rights from the caller's own mapping */

/* irq_control ops */
enum abi_irq_op {
    ABI_IRQ_CREATE = 1, /* on IRQ_CONTROL: a0 = GSI, a1 = destination slot */
    ABI_IRQ_BIND = 2,   /* on IRQ: a0 = thread slot, a1 = label */
    ABI_IRQ_UNMASK = 3, /* on IRQ: acknowledge, allow the next interrupt */
    ABI_IRQ_UNBIND = 4, /* on IRQ */
};

/* machine ops */
enum abi_machine_op {
    ABI_MACHINE_PUTS = 1,   /* SEND: a0 = user pointer, a1 = length (<= 4096) */
    ABI_MACHINE_EXIT = 2,   /* CTRL: a0 = status; QEMU exits with (status << 1) | 1 */
    ABI_MACHINE_STATS = 3,  /* SEND: a0 = enum abi_stat -> value */
    ABI_MACHINE_IOPORTS = 4, /* CTRL: a0 = task slot (CTRL), a1 = first port | count << 16 */
};

enum abi_stat {
    ABI_STAT_FREE_KERNEL_PAGES = 1,
    ABI_STAT_IRQOFF_MAX_NS = 2,   /* longest interrupts-off kernel section seen */
    ABI_STAT_CONTEXT_SWITCHES = 3,
    ABI_STAT_IRQOFF_RESET = 5,    /* reset the maximum; returns the old value */
    ABI_STAT_RT_GRAVITY_NS = 6,   /* timer anticipation of releases in force (ABI_RT_GRAVITY) */
};

/* Best-effort groups: all threads of a group together get at most the
 * group's budget of CPU time per period (the Linux partition's cap). */
#define ABI_RT_GROUPS 8u

/* rt_control ops (on the SCHED_CONTROL capability, which needs CTRL) */
enum abi_rt_op {
    ABI_RT_CONFIGURE = 1,  /* a0 = thread slot (CTRL), a1 = pointer to struct abi_rt_params */
    ABI_RT_DISABLE = 2,    /* a0 = thread slot (CTRL) */
    ABI_RT_PREEMPTER = 3,  /* a0 = monitored thread slot (CTRL), a1 = preempter thread slot (SEND) or 0,
                              a2 = label the preempter sees */
    ABI_RT_TRACE_READ = 4, /* a0 = pointer to struct abi_rt_job_record[], a1 = capacity -> count, lost;
                              may return fewer than are queued: read until the count is 0 */
    ABI_RT_GROUP_CONFIGURE = 5, /* a0 = group 1..ABI_RT_GROUPS-1, a1 = budget ns (0: no cap), a2 = period ns */
    ABI_RT_GROUP_JOIN = 6,      /* a0 = thread slot (CTRL), a1 = group (0: leave) */
    ABI_RT_GRAVITY = 7,         /* a0 = timer anticipation in ns (<= ABI_RT_GRAVITY_MAX_NS, 0: off) or
                                   ABI_RT_GRAVITY_CALIBRATED -> gravity before, calibrated value (0: not yet) */
};

/* Releases are served up to the gravity early and the thread is held until
 * its release instant; by default the gravity is the release path's cost,
 * measured by the kernel on the first releases after boot. */
#define ABI_RT_GRAVITY_CALIBRATED (~0ull)
#define ABI_RT_GRAVITY_MAX_NS 50000ull

/* factory_create: a0/a1 per type */
/*   TASK:    a0 = capability slots (1..ABI_MAX_CAP_SLOTS)           */
/*   THREAD:  -                                                       */
/*   GATE:    a0 = slot of the thread to bind, a1 = label            */
/*   FACTORY: a0 = kernel-memory quota in bytes, taken from this one */

/* Scheduling */
#define ABI_PRIO_MAX 255u
#define ABI_PRIO_IDLE 0u
#define ABI_PRIO_DEFAULT 100u

#endif
