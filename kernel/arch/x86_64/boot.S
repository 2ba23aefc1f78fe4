/*
 * Multiboot v1 entry. The loader (QEMU -kernel or GRUB) starts us in 32-bit
 * protected mode without paging, eax = magic, ebx = multiboot info. We build
 * page tables that map physical memory twice (identity for the jump, and at
 * the kernel's link address in the top 2 GiB) plus the direct map of the first
 * 4 GiB at KERNEL_DIRECT_MAP, switch to long mode and call kernel_main.
 */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00010003 /* page-align modules, memory map, a.out kludge */

#define KERNEL_VIRT_OFFSET 0xffffffff80000000

    .section .multiboot, "a"
    .align 4
mb_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long mb_header          /* header_addr */
    .long _kernel_phys_start /* load_addr */
    .long _load_end_phys     /* load_end_addr */
    .long _kernel_phys_end   /* bss_end_addr */
    .long _start             /* entry_addr */

    .section .boot.data, "aw"
    .align 8
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff /* 64-bit code */
    .quad 0x00cf92000000ffff /* data */
boot_gdt_end:
boot_gdtr:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt
boot_magic: .long 0
boot_info:  .long 0

no_lm_msg: .asciz "boot: CPU lacks long mode; cannot start\r\n"

    .section .boot.text, "ax"
    .code32
    .globl _start
_start:
    cli
    cld
    mov %eax, boot_magic
    mov %ebx, boot_info
    mov $(boot_stack_top - KERNEL_VIRT_OFFSET), %esp

    /* Long mode available? */
    mov $0x80000000, %eax
    cpuid
    cmp $0x80000001, %eax
    jb no_long_mode
    mov $0x80000001, %eax
    cpuid
    bt $29, %edx
    jnc no_long_mode

    /* Zero the bss (page tables live there). */
    mov $(_bss_start - KERNEL_VIRT_OFFSET), %edi
    mov $(_bss_end - KERNEL_VIRT_OFFSET), %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb

    /* PML4[0] and PML4[511] -> low PDPT / high PDPT; PML4[256] -> direct map PDPT */
    mov $(boot_pml4 - KERNEL_VIRT_OFFSET), %edi
    mov $(boot_pdpt_low - KERNEL_VIRT_OFFSET + 3), %eax
    mov %eax, (%edi)
    mov $(boot_pdpt_high - KERNEL_VIRT_OFFSET + 3), %eax
    mov %eax, 511*8(%edi)
    mov $(boot_pdpt_direct - KERNEL_VIRT_OFFSET + 3), %eax
    mov %eax, 256*8(%edi)

    /* low PDPT[0] and high PDPT[510] -> the PD of the first GiB */
    mov $(boot_pd_direct - KERNEL_VIRT_OFFSET + 3), %eax
    mov %eax, (boot_pdpt_low - KERNEL_VIRT_OFFSET)
    mov %eax, (boot_pdpt_high - KERNEL_VIRT_OFFSET + 510*8)

    /* direct PDPT[0..3] -> 4 PDs covering 4 GiB in 2 MiB pages */
    mov $(boot_pdpt_direct - KERNEL_VIRT_OFFSET), %edi
    mov $(boot_pd_direct - KERNEL_VIRT_OFFSET + 3), %eax
    mov $4, %ecx
1:  mov %eax, (%edi)
    add $4096, %eax
    add $8, %edi
    loop 1b

    mov $(boot_pd_direct - KERNEL_VIRT_OFFSET), %edi
    mov $0x83, %eax          /* present, writable, 2 MiB page */
    xor %edx, %edx
    mov $2048, %ecx
2:  mov %eax, (%edi)
    mov %edx, 4(%edi)
    add $0x200000, %eax
    adc $0, %edx
    add $8, %edi
    loop 2b

    /* PAE + PGE, EFER.LME + NXE, paging */
    mov %cr4, %eax
    or $0xa0, %eax
    mov %eax, %cr4
    mov $(boot_pml4 - KERNEL_VIRT_OFFSET), %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx
    rdmsr
    or $0x900, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80010001, %eax     /* PG, WP, PE */
    mov %eax, %cr0

    lgdt boot_gdtr
    ljmp $0x08, $long_mode_entry

no_long_mode:
    mov $no_lm_msg, %esi
3:  lodsb
    test %al, %al
    jz 4f
    mov $0x3f8, %dx
    out %al, %dx
    jmp 3b
4:  mov $0xf4, %dx
    mov $0x7f, %eax
    out %eax, %dx
5:  hlt
    jmp 5b

    .code64
long_mode_entry:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    movabs $higher_half, %rax
    jmp *%rax

    .text
higher_half:
    movabs $boot_stack_top, %rsp
    xor %ebp, %ebp
    mov boot_magic, %edi
    mov boot_info, %esi
    call kernel_main
6:  hlt
    jmp 6b

    .bss
    .align 4096
    .globl boot_pml4
boot_pml4:        .skip 4096
boot_pdpt_low:    .skip 4096
boot_pdpt_high:   .skip 4096
boot_pdpt_direct: .skip 4096
boot_pd_direct:   .skip 4096 * 4
    .globl boot_stack
boot_stack:       .skip 16384
boot_stack_top:
