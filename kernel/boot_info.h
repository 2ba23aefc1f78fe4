/*
 * What the boot loader tells us, checked and copied out of the multiboot v1
 * structures before any memory is reused: the RAM map and the boot modules.
 */
#ifndef KERNEL_BOOT_INFO_H
#define KERNEL_BOOT_INFO_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/kip.h"

struct boot_info {
    unsigned ram_count;
    struct {
        uint64_t base, size;
    } ram[ABI_KIP_MEM_MAX];
    unsigned module_count;
    struct {
        uint64_t start, end;
        char cmdline[ABI_KIP_CMDLINE_MAX];
    } module[ABI_KIP_MODULE_MAX];
    uint64_t phys_end;
};

/* Returns NULL on success, else a message saying what is wrong. */
const char *boot_info_parse(uint32_t magic, uint64_t mbi_phys, struct boot_info *bi);

#endif
