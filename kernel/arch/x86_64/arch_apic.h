/*
 * Interrupt hardware: the local APIC (one-shot timer, EOI), the IOAPIC
 * (device interrupts by GSI) and the legacy PIC, which is masked for good.
 */
#ifndef ARCH_APIC_H
#define ARCH_APIC_H

#include <stdbool.h>
#include <stdint.h>

#define VEC_TIMER 0x20u
#define VEC_GSI_BASE 0x30u
#define VEC_PIC_BASE 0xe0u
#define VEC_SPURIOUS 0xffu

void arch_apic_init(void);
/* Calibrated against the PIT: TSC kHz and LAPIC timer ticks per millisecond. */
uint64_t arch_tsc_khz(void);
uint64_t arch_lapic_ticks_per_ms(void);

/* Fire VEC_TIMER once after `ticks` LAPIC ticks (0 disarms). */
void arch_timer_arm(uint32_t ticks);
void arch_lapic_eoi(void);

unsigned arch_ioapic_gsi_count(void);
void arch_ioapic_route(unsigned gsi, bool level_low);
void arch_ioapic_mask(unsigned gsi, bool masked);

#endif
