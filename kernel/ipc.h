/*
 * Synchronous IPC: rendezvous between a sender and a receiver, message
 * registers copied from UTCB to UTCB, typed items interpreted on the way.
 *
 * A thread blocked in IPC is in exactly one place: the sender queue of its
 * receiver (TS_SEND) or the waiter list of the thread it receives from
 * (TS_RECV, closed) or nowhere (TS_RECV, open). Every exit from a wait
 * (message, timeout, abort) goes through one function per side, so no thread
 * is ever left on a list it no longer belongs to.
 */
#ifndef KERNEL_IPC_H
#define KERNEL_IPC_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/ipc.h"

struct thread;
struct trap_frame;

/* The whole IPC operation. `dst` is the send partner (NULL when none or when
 * replying: the caller is used), `from` the closed-receive partner (NULL for
 * open receive). Returns an abi_error; the received tag and label are left in
 * self->rcv_tag / rcv_label. */
int64_t ipc_invoke(struct thread *self, struct thread *dst, uint64_t label, abi_tag_t tag, uint64_t flags,
                   uint64_t snd_timeout, struct thread *from, uint64_t rcv_timeout);

/* A call with a kernel-made message from self->kmsg, reply into kmsg (page
 * faults and exceptions). */
int64_t ipc_kernel_call(struct thread *self, struct thread *dst, uint64_t label, abi_tag_t tag);

/* Abort everybody in closed receive on t (t is going away). */
void ipc_forget_partner(struct thread *t);

/* Hand a message the kernel composed (IRQ) to a thread in open receive. */
void ipc_wake_with(struct thread *t, abi_tag_t tag, uint64_t label);

void sys_ipc(struct trap_frame *f);
/* The short path for call and reply-and-wait; false: take sys_ipc. */
bool ipc_fastpath(struct trap_frame *f);

#endif
