/* The kernel info page: one page of the kernel pool, mapped read-only everywhere. */
#include "kip.h"
#include "arch_cpu.h"
#include "console.h"
#include "kmem.h"

struct abi_kip *kip;

void kip_init(void)
{
    kip = kmem_alloc_pages(0);
    if (!kip) panic("no memory for the KIP");
    kip->magic = ABI_KIP_MAGIC;
    kip->version = ABI_KIP_VERSION;
}

uint64_t kip_phys(void) { return virt_to_phys(kip); }
