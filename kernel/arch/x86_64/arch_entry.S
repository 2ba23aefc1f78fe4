/*
 * Kernel entry and exit: syscall, exceptions, interrupts, context switch.
 *
 * The kernel runs with interrupts disabled (single CPU, no locks); long
 * operations open short interrupt windows at their preemption points. Each
 * thread has its own kernel stack; `arch_kernel_stack_top` always holds the
 * running thread's, so the syscall entry can switch stacks without swapgs.
 */
#define GDT_USER_DS 0x1b
#define GDT_USER_CS 0x23

/* Order matches struct trap_frame (arch_trap.h), highest address first. */
    .macro PUSH_GPRS
    push %rax
    PUSH_AFTER_RAX
    .endm

    .macro PUSH_AFTER_RAX
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %rcx
    push %r11
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    .endm

    .macro POP_GPRS
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    pop %r11
    pop %rcx
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rax
    .endm

    .text
/*
 * System calls. Native calls save only what the kernel reads or writes
 * (rax, rdx, rsi, rdi, r8-r10; rcx and r11 are clobbered by the instruction
 * anyway) and leave the callee-saved slots unwritten: C code preserves those
 * registers itself. Any other number becomes an exception IPC that shows
 * the handler every register, so it takes the full-frame path.
 */
#define ABI_SYSCALL_BASE 0x1000
    .globl arch_syscall_entry
arch_syscall_entry:
    mov %rsp, arch_user_rsp_scratch(%rip)
    mov arch_kernel_stack_top(%rip), %rsp
    push $GDT_USER_DS
    push arch_user_rsp_scratch(%rip)
    push %r11
    push $GDT_USER_CS
    push %rcx
    sub $16, %rsp          /* error, vector: unused for system calls */
    push %rax
    sub $ABI_SYSCALL_BASE, %rax
    cmp syscall_count(%rip), %rax
    jae syscall_full
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    sub $64, %rsp          /* rcx r11 rbx rbp r12-r15: not saved */
    mov %rsp, %rdi
    call syscall_entry
    add $64, %rsp
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rax
    add $16, %rsp
    iretq

syscall_full:
    movq $0x100, 8(%rsp)   /* vector: a system call */
    mov (%rsp), %rax
    PUSH_AFTER_RAX
    mov %rsp, %rdi
    call syscall_entry
    .globl arch_return_to_user
arch_return_to_user:
    POP_GPRS
    add $16, %rsp
    iretq

    /* Exceptions and interrupts: every stub leaves error code and vector. */
    .macro TRAP_NOERR vec
    .align 16
    push $0
    push $\vec
    jmp trap_common
    .endm
    .macro TRAP_ERR vec
    .align 16
    push $\vec
    jmp trap_common
    .endm

    .align 16
    .globl arch_trap_stubs
arch_trap_stubs:
    vec = 0
    .rept 256
    .if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30
    TRAP_ERR vec
    .else
    TRAP_NOERR vec
    .endif
    vec = vec + 1
    .endr

trap_common:
    PUSH_GPRS
    cld
    mov %rsp, %rdi
    call trap_entry
    POP_GPRS
    add $16, %rsp
    iretq

/* void arch_switch(uint64_t *save_sp, uint64_t load_sp) */
    .globl arch_switch
arch_switch:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret

/* A new thread's first switch lands here with its user frame on top. */
    .globl arch_thread_trampoline
arch_thread_trampoline:
    call thread_first_run
    jmp arch_return_to_user

    .bss
    .align 8
    .globl arch_kernel_stack_top
arch_kernel_stack_top: .quad 0
arch_user_rsp_scratch: .quad 0
