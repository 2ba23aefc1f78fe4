/* Kernel counters, readable through the machine capability (ABI_MACHINE_STATS). */
#ifndef KERNEL_STATS_H
#define KERNEL_STATS_H

#include <stdint.h>

struct kernel_stats {
    uint64_t context_switches;
    uint64_t irqoff_max_tsc; /* longest interrupts-off stretch inside the kernel */
};

extern struct kernel_stats stats;

#endif
