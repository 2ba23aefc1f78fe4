/*
 * Descriptor tables and control registers for long mode.
 *
 * GDT order is fixed by syscall/sysret: STAR[47:32] selects kernel CS (and
 * SS = CS + 8), STAR[63:48] + 16 / + 8 select user CS / SS.
 */
#include "arch_cpu.h"
#include "arch_trap.h"

#include <stddef.h>

struct arch_cpu_features arch_features;
uint64_t arch_loaded_fs, arch_loaded_gs;

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "TSS layout");

struct idt_entry {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, zero;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_entry) == 16, "IDT entry layout");

static uint64_t gdt[7];
/* The TSS with an I/O permission bitmap for all 65536 ports behind it. A
 * task without I/O rights gets an iomap_base beyond the limit (every port
 * faults), so switching between such tasks costs one store; the bitmap is
 * copied only when a task with its own bitmap runs after another one. */
static struct __attribute__((packed, aligned(16))) {
    struct tss tss;
    uint8_t iomap[ARCH_IO_BITMAP_BYTES + 1]; /* + the all-ones terminator byte */
} tss_io;
static const void *io_owner; /* whose bitmap the TSS holds */
const uint8_t *arch_io_active;   /* whose bitmap is in force (NULL: none) */
static struct idt_entry idt[256];
static uint8_t double_fault_stack[4096] __attribute__((aligned(16)));
extern char arch_trap_stubs[];
extern char arch_syscall_entry[];

struct __attribute__((packed)) desc_ptr {
    uint16_t limit;
    uint64_t base;
};

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static void gdt_init(void)
{
    gdt[0] = 0;
    gdt[1] = 0x00af9a000000ffffull; /* kernel code 64 */
    gdt[2] = 0x00cf92000000ffffull; /* kernel data */
    gdt[3] = 0x00cff2000000ffffull; /* user data (DPL 3) */
    gdt[4] = 0x00affa000000ffffull; /* user code 64 (DPL 3) */
    uint64_t base = (uint64_t)&tss_io, limit = sizeof(tss_io) - 1;
    gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) | (((limit >> 16) & 0xf) << 48) |
             (((base >> 24) & 0xff) << 56);
    gdt[6] = base >> 32;
    tss_io.tss.iomap_base = sizeof(tss_io); /* no I/O bitmap: user port access faults */
    tss_io.iomap[ARCH_IO_BITMAP_BYTES] = 0xff;
    tss_io.tss.ist[0] = (uint64_t)double_fault_stack + sizeof(double_fault_stack);

    struct desc_ptr p = {sizeof(gdt) - 1, (uint64_t)gdt};
    __asm__ volatile("lgdt %0\n"
                     "pushq $0x08\n"
                     "leaq 1f(%%rip), %%rax\n"
                     "pushq %%rax\n"
                     "lretq\n"
                     "1: mov $0x10, %%eax\n"
                     "mov %%eax, %%ds\n mov %%eax, %%es\n mov %%eax, %%ss\n"
                     "xor %%eax, %%eax\n mov %%eax, %%fs\n mov %%eax, %%gs\n"
                     :
                     : "m"(p)
                     : "rax", "memory");
    __asm__ volatile("ltr %w0" ::"r"(GDT_TSS));
}

static void idt_init(void)
{
    for (int v = 0; v < 256; v++) {
        uint64_t h = (uint64_t)arch_trap_stubs + 16 * (uint64_t)v;
        idt[v].off_lo = h & 0xffff;
        idt[v].sel = GDT_KERNEL_CS;
        idt[v].ist = v == 8 ? 1 : 0;
        /* Interrupt gates (IF cleared on entry); int3 and nothing else is reachable from user mode. */
        idt[v].type = v == 3 ? 0xee : 0x8e;
        idt[v].off_mid = (h >> 16) & 0xffff;
        idt[v].off_hi = h >> 32;
        idt[v].zero = 0;
    }
    struct desc_ptr p = {sizeof(idt) - 1, (uint64_t)idt};
    __asm__ volatile("lidt %0" ::"m"(p));
}

static void features_init(void)
{
    uint32_t r[4];
    cpuid(7, 0, r);
    arch_features.smep = r[1] & (1u << 7);
    arch_features.smap = r[1] & (1u << 20);
    arch_features.fsgsbase = r[1] & 1u;
    cpuid(0x80000001, 0, r);
    arch_features.nx = r[3] & (1u << 20);
    cpuid(1, 0, r);
    arch_features.pge = r[3] & (1u << 13);
}

void arch_cpu_init(void)
{
    features_init();
    gdt_init();
    idt_init();

    uint64_t cr0, cr4;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    cr0 |= (1u << 1) | (1u << 5) | (1u << 16); /* MP, NE, WP */
    cr0 &= ~((1ull << 2) | (1ull << 3));        /* EM, TS: SSE for user threads */
    __asm__ volatile("mov %0, %%cr0" ::"r"(cr0));
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    cr4 |= (1u << 9) | (1u << 10); /* OSFXSR, OSXMMEXCPT */
    if (arch_features.smep) cr4 |= 1u << 20;
    if (arch_features.smap) cr4 |= 1u << 21; /* the kernel reads user memory only via the direct map */
    __asm__ volatile("mov %0, %%cr4" ::"r"(cr4));

    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | 1u /* SCE */ | (arch_features.nx ? (1u << 11) : 0));
    /* sysret: CS = STAR[63:48] + 16, SS = + 8 -> base 0x10 gives 0x23 / 0x1b */
    wrmsr(MSR_STAR, ((uint64_t)0x10 << 48) | ((uint64_t)GDT_KERNEL_CS << 32));
    wrmsr(MSR_LSTAR, (uint64_t)arch_syscall_entry);
    wrmsr(MSR_FMASK, 0x47700); /* IF, TF, DF, AC, NT, IOPL cleared on entry */
}

void arch_load_io_bitmap(const uint8_t *bitmap)
{
    arch_io_active = bitmap;
    if (!bitmap) {
        tss_io.tss.iomap_base = sizeof(tss_io);
        return;
    }
    if (io_owner != bitmap) {
        for (unsigned i = 0; i < ARCH_IO_BITMAP_BYTES / 8; i++)
            ((uint64_t *)tss_io.iomap)[i] = ((const uint64_t *)bitmap)[i];
        io_owner = bitmap;
    }
    tss_io.tss.iomap_base = sizeof(struct tss);
}

void arch_forget_io_bitmap(const uint8_t *bitmap)
{
    if (io_owner == bitmap) io_owner = NULL;
    if (arch_io_active == bitmap) arch_load_io_bitmap(NULL);
}

void arch_set_kernel_stack(uint64_t top)
{
    tss_io.tss.rsp[0] = top;
    arch_kernel_stack_top = top;
}

void arch_fpu_init_state(struct arch_fpu_state *s)
{
    __builtin_memset(s->data, 0, sizeof(s->data)); /* a byte loop took 2 us under -icount */
    s->data[0] = 0x7f; /* FCW = 0x037f */
    s->data[1] = 0x03;
    s->data[24] = 0x80; /* MXCSR = 0x1f80 */
    s->data[25] = 0x1f;
}

_Noreturn void arch_machine_exit(uint32_t status)
{
    /* isa-debug-exit: QEMU exits with (status << 1) | 1. On hardware, stop. */
    outl(0xf4, status);
    for (;;) __asm__ volatile("cli; hlt");
}
