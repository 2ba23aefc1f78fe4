/*
 * The kernel info page, mapped read-only at ABI_KIP_ADDR in every task.
 * It tells the root task the memory map and the boot modules, and every
 * task the clock: rdtsc / (tsc_khz / 1e6) is nanoseconds since boot.
 */
#ifndef ABI_KIP_H
#define ABI_KIP_H

#include "types.h"

#define ABI_KIP_ADDR 0x7ffff0000000ull
#define ABI_KIP_MAGIC 0x50494b53504f5244ull /* "DROPSKIP" */
#define ABI_KIP_VERSION 1u

/* The root task sees physical memory at ABI_PHYS_WINDOW + physical address. */
#define ABI_PHYS_WINDOW 0x10000000000ull

#define ABI_KIP_MEM_MAX 32u
#define ABI_KIP_MODULE_MAX 16u
#define ABI_KIP_CMDLINE_MAX 112u

enum abi_mem_type {
    ABI_MEM_FREE = 1,     /* RAM owned by the root task */
    ABI_MEM_RESERVED = 2, /* firmware, not RAM */
    ABI_MEM_KERNEL = 3,   /* kernel image and kernel memory pool */
    ABI_MEM_MODULE = 4,   /* boot module, owned by the root task */
};

struct abi_kip_mem {
    uint64_t base, size;
    uint32_t type, pad;
};

struct abi_kip_module {
    uint64_t phys, size;
    char cmdline[ABI_KIP_CMDLINE_MAX];
};

struct abi_kip {
    uint64_t magic;
    uint32_t version, mem_count;
    uint32_t module_count, pad0;
    uint64_t tsc_khz;         /* TSC ticks per millisecond */
    uint64_t boot_tsc;        /* TSC at kernel entry */
    uint64_t root_start_tsc;  /* TSC when the root thread first ran */
    uint64_t phys_end;        /* end of the highest RAM region */
    uint64_t kernel_pool_pages;
    uint64_t reserved[8];
    struct abi_kip_mem mem[ABI_KIP_MEM_MAX];
    struct abi_kip_module module[ABI_KIP_MODULE_MAX];
};

_Static_assert(sizeof(struct abi_kip_mem) == 24, "KIP mem entry");
_Static_assert(sizeof(struct abi_kip_module) == 128, "KIP module entry");
_Static_assert(offsetof(struct abi_kip, tsc_khz) == 24, "KIP tsc_khz");
_Static_assert(offsetof(struct abi_kip, mem) == 128, "KIP mem");
_Static_assert(offsetof(struct abi_kip, module) == 128 + 32 * 24, "KIP modules");
_Static_assert(sizeof(struct abi_kip) <= 4096, "KIP fits one page");

#endif
