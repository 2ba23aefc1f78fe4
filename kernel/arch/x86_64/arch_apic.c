/*
 * Local APIC timer in one-shot mode: the kernel is tickless, the timer is
 * programmed for the next event only. The reference machine (QEMU TCG) has
 * no TSC-deadline timer and no x2APIC, so this is the MMIO xAPIC.
 *
 * The IOAPIC is assumed at its standard address with ISA IRQs identity
 * mapped to GSIs except IRQ0 -> GSI2, as on q35 and virtually every PC.
 * (Reading the ACPI MADT is future work; docs/architecture.md says so.)
 */
#include "arch_apic.h"
#include "arch_cpu.h"

#define LAPIC_ID 0x20
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0

#define IOAPIC_PHYS 0xfec00000ull

static volatile uint32_t *lapic;
static volatile uint32_t *ioapic;
static uint64_t tsc_khz, lapic_per_ms;
static unsigned gsi_count;

static inline uint32_t lapic_read(unsigned reg) { return lapic[reg / 4]; }
static inline void lapic_write(unsigned reg, uint32_t v) { lapic[reg / 4] = v; }

static uint32_t ioapic_read(unsigned reg)
{
    ioapic[0] = reg;
    return ioapic[4];
}
static void ioapic_write(unsigned reg, uint32_t v)
{
    ioapic[0] = reg;
    ioapic[4] = v;
}

static void pic_disable(void)
{
    /* Remap away from the exception vectors, then mask everything. */
    outb(0x20, 0x11);
    outb(0xa0, 0x11);
    outb(0x21, VEC_PIC_BASE);
    outb(0xa1, VEC_PIC_BASE + 8);
    outb(0x21, 4);
    outb(0xa1, 2);
    outb(0x21, 1);
    outb(0xa1, 1);
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

/* Count TSC and LAPIC ticks across 10 ms of PIT channel 2. */
static void calibrate(void)
{
    const uint32_t pit_hz = 1193182, ms = 10, count = pit_hz * ms / 1000;
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);
    outb(0x43, 0xb0);
    outb(0x42, count & 0xff);
    outb(0x42, count >> 8);
    lapic_write(LAPIC_TIMER_DIV, 0xb); /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, 1u << 16);
    lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
    uint64_t t0 = arch_rdtsc();
    while (!(inb(0x61) & 0x20)) {
    }
    uint64_t t1 = arch_rdtsc();
    uint32_t cur = lapic_read(LAPIC_TIMER_CUR);
    lapic_write(LAPIC_TIMER_INIT, 0);
    tsc_khz = (t1 - t0) / ms;
    lapic_per_ms = (0xffffffffull - cur) / ms;
    if (!tsc_khz) tsc_khz = 1;
    if (!lapic_per_ms) lapic_per_ms = 1;
}

void arch_apic_init(void)
{
    pic_disable();
    uint64_t base = rdmsr(MSR_APIC_BASE);
    wrmsr(MSR_APIC_BASE, base | (1u << 11));
    lapic = phys_to_virt(base & ~0xfffull);
    lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
    lapic_write(LAPIC_LVT_LINT0, 1u << 16);
    lapic_write(LAPIC_LVT_LINT1, 1u << 16);
    lapic_write(LAPIC_LVT_ERROR, 1u << 16);
    calibrate();
    lapic_write(LAPIC_LVT_TIMER, VEC_TIMER); /* one-shot */

    ioapic = phys_to_virt(IOAPIC_PHYS);
    gsi_count = ((ioapic_read(1) >> 16) & 0xff) + 1;
    for (unsigned g = 0; g < gsi_count; g++) arch_ioapic_route(g, g >= 16);
}

uint64_t arch_tsc_khz(void) { return tsc_khz; }
uint64_t arch_lapic_ticks_per_ms(void) { return lapic_per_ms; }

void arch_timer_arm(uint32_t ticks) { lapic_write(LAPIC_TIMER_INIT, ticks); }

void arch_lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

unsigned arch_ioapic_gsi_count(void) { return gsi_count; }

/* ISA interrupts are edge/high, PCI ones (GSI >= 16) level/low. Masked until bound. */
void arch_ioapic_route(unsigned gsi, bool level_low)
{
    uint32_t lo = (VEC_GSI_BASE + gsi) | (1u << 16);
    if (level_low) lo |= (1u << 13) | (1u << 15);
    ioapic_write(0x10 + 2 * gsi, lo);
    ioapic_write(0x11 + 2 * gsi, lapic_read(LAPIC_ID) & 0xff000000u);
}

void arch_ioapic_mask(unsigned gsi, bool masked)
{
    uint32_t lo = ioapic_read(0x10 + 2 * gsi);
    lo = masked ? (lo | (1u << 16)) : (lo & ~(1u << 16));
    ioapic_write(0x10 + 2 * gsi, lo);
}
