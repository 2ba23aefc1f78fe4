/*
 * CPU-level services for the generic kernel: descriptor tables, MSRs, port
 * I/O, the time stamp counter, FPU state and the context switch.
 */
#ifndef ARCH_CPU_H
#define ARCH_CPU_H

#include <stdbool.h>
#include <stdint.h>

#define KERNEL_VIRT_OFFSET 0xffffffff80000000ull
#define KERNEL_DIRECT_MAP 0xffff800000000000ull
#define KERNEL_DIRECT_MAP_SIZE (4ull << 30)

static inline void *phys_to_virt(uint64_t p) { return (void *)(p + KERNEL_DIRECT_MAP); }
static inline uint64_t virt_to_phys(const void *v)
{
    uint64_t a = (uint64_t)v;
    return a >= KERNEL_VIRT_OFFSET ? a - KERNEL_VIRT_OFFSET : a - KERNEL_DIRECT_MAP;
}

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint64_t arch_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

#define MSR_EFER 0xc0000080u
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_FMASK 0xc0000084u
#define MSR_FS_BASE 0xc0000100u
#define MSR_GS_BASE 0xc0000101u
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define MSR_APIC_BASE 0x1bu

static inline void arch_halt(void) { __asm__ volatile("hlt"); }
static inline void arch_wait_for_interrupt(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }
/* A preemption point: let pending interrupts in for one instruction. */
static inline void arch_irq_window(void) { __asm__ volatile("sti; nop; cli" ::: "memory"); }
static inline uint64_t arch_read_cr2(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

/* 512-byte FXSAVE area, 16-byte aligned. */
struct arch_fpu_state {
    uint8_t data[512];
} __attribute__((aligned(16)));

static inline void arch_fpu_save(struct arch_fpu_state *s) { __asm__ volatile("fxsave64 %0" : "=m"(*s)); }
static inline void arch_fpu_load(const struct arch_fpu_state *s) { __asm__ volatile("fxrstor64 %0" ::"m"(*s)); }
void arch_fpu_init_state(struct arch_fpu_state *s);

/* fs/gs base of the running thread, written only when they change. */
extern uint64_t arch_loaded_fs, arch_loaded_gs;
static inline void arch_set_fs_base(uint64_t v)
{
    if (v != arch_loaded_fs) wrmsr(MSR_FS_BASE, arch_loaded_fs = v);
}
static inline void arch_set_gs_base(uint64_t v)
{
    if (v != arch_loaded_gs) wrmsr(MSR_GS_BASE, arch_loaded_gs = v);
}

/* I/O port permissions: a bitmap of ARCH_IO_BITMAP_BYTES, bit set = denied
 * (the x86 convention). NULL denies every port. The bitmap must stay valid
 * while it is active; arch_forget_io_bitmap before freeing it. */
#define ARCH_IO_BITMAP_BYTES 8192u
extern const uint8_t *arch_io_active;
void arch_load_io_bitmap(const uint8_t *bitmap);
static inline void arch_set_io_bitmap(const uint8_t *bitmap)
{
    if (bitmap != arch_io_active) arch_load_io_bitmap(bitmap);
}
void arch_forget_io_bitmap(const uint8_t *bitmap);

void arch_cpu_init(void);
void arch_set_kernel_stack(uint64_t top);
_Noreturn void arch_machine_exit(uint32_t status);

/* Context switch between kernel stacks (arch_entry.S). */
void arch_switch(uint64_t *save_sp, uint64_t load_sp);
extern char arch_thread_trampoline[];
extern char arch_return_to_user[];
extern uint64_t arch_kernel_stack_top;

struct arch_cpu_features {
    bool smep, smap, nx, pge, fsgsbase;
};
extern struct arch_cpu_features arch_features;

#endif
