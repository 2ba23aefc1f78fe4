/*
 * Program entry for freestanding native programs. The root task starts here
 * with rdi = KIP address and a stack from the kernel; main's return value
 * becomes the machine's exit status when the program holds the machine
 * capability with the right to stop it.
 */
    .text
    .globl _start
_start:
    xor %ebp, %ebp
    and $-16, %rsp
    call main
    mov %eax, %edi
    call machine_exit

/* New threads start here with fn and arg on their stack (see spawn.c). */
    .globl thread_entry
thread_entry:
    pop %rax
    pop %rdi
    and $-16, %rsp
    call *%rax
    call thread_exit

    .section .note.GNU-stack, "", @progbits
