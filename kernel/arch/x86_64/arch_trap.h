/*
 * The register frame saved on a thread's kernel stack on every kernel entry:
 * system call, exception or interrupt. One layout for all three, so the IPC
 * exception protocol, exregs and the return path treat them alike; the
 * return to user is always iretq (one instruction, like sysretq, and it
 * restores every register, so a handler-modified state needs no special case).
 */
#ifndef ARCH_TRAP_H
#define ARCH_TRAP_H

#include <stdint.h>
#include <stddef.h>

struct trap_frame {
    /* Callee-saved and syscall-clobbered registers first: the system call
     * path skips them as one block (see arch_entry.S). */
    uint64_t r15, r14, r13, r12, rbp, rbx, r11, rcx;
    uint64_t r10, r9, r8, rdi, rsi, rdx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU (or by syscall entry) */
};

_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap frame layout is shared with arch_entry.S");
_Static_assert(offsetof(struct trap_frame, rax) == 14 * 8, "trap frame rax");
_Static_assert(offsetof(struct trap_frame, r10) == 8 * 8, "trap frame: syscall block starts at r10");
_Static_assert(offsetof(struct trap_frame, vector) == 15 * 8, "trap frame vector");
_Static_assert(offsetof(struct trap_frame, rip) == 17 * 8, "trap frame rip");

#define TRAP_VECTOR_SYSCALL 0x100u

#define GDT_KERNEL_CS 0x08u
#define GDT_KERNEL_DS 0x10u
#define GDT_USER_DS 0x1bu
#define GDT_USER_CS 0x23u
#define GDT_TSS 0x28u

/* Flags a user thread may change; IF is always forced on. */
#define RFLAGS_USER_MASK 0x0cd5u /* CF PF AF ZF SF DF OF */
#define RFLAGS_IF 0x200u
#define RFLAGS_FIXED 0x2u

static inline int trap_from_user(const struct trap_frame *f) { return (f->cs & 3) == 3; }

/* User addresses end below the canonical hole; iretq to anything else faults. */
#define USER_ADDR_END 0x00007ffffffff000ull

#endif
