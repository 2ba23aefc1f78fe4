/*
 * Exception state as it travels in an ABI_PROTO_EXCEPTION message.
 *
 * The kernel sends the full user register state of the faulting thread to its
 * exception handler as ABI_EXC_WORDS message words. If the handler's reply
 * carries ABI_EXC_WORDS words, they become the thread's new state (rip, rsp,
 * general registers, rflags restricted to the user-modifiable flags, fs/gs
 * base); a reply with zero words resumes the thread unchanged.
 *
 * A `syscall` instruction whose rax is not a native call arrives with vector
 * ABI_EXC_SYSCALL and rip already past the instruction, so a handler that
 * emulates the call sets rax and replies.
 */
#ifndef ABI_EXCEPTION_H
#define ABI_EXCEPTION_H

#include "types.h"

struct abi_exc_state {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags, fs_base, gs_base;
    uint64_t vector, error_code, fault_addr;
};

#define ABI_EXC_WORDS (sizeof(struct abi_exc_state) / 8)
_Static_assert(sizeof(struct abi_exc_state) == 23 * 8, "exception state layout");
_Static_assert(offsetof(struct abi_exc_state, rip) == 16 * 8, "exception rip");
_Static_assert(offsetof(struct abi_exc_state, vector) == 20 * 8, "exception vector");

#define ABI_EXC_DE 0u    /* divide error */
#define ABI_EXC_DB 1u
#define ABI_EXC_BP 3u    /* int3 */
#define ABI_EXC_UD 6u    /* invalid opcode */
#define ABI_EXC_GP 13u   /* general protection */
#define ABI_EXC_PF 14u   /* page fault the pager could not resolve */
#define ABI_EXC_MF 16u
#define ABI_EXC_AC 17u
#define ABI_EXC_XM 19u
#define ABI_EXC_SYSCALL 256u /* non-native system call */

#endif
