/* The kernel info page (layout in abi/kip.h). */
#ifndef KERNEL_KIP_H
#define KERNEL_KIP_H

#include <stdint.h>

#include "abi/kip.h"

extern struct abi_kip *kip;
void kip_init(void);
uint64_t kip_phys(void);

#endif
