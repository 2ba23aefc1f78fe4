/*
 * Multiboot v1 parsing. Everything here comes from outside the kernel, so
 * every pointer and length is checked against the direct map before it is
 * read, and a malformed map or module list stops the boot with a message.
 */
#include "boot_info.h"
#include "arch_cpu.h"

#define MB_BOOT_MAGIC 0x2badb002u
#define MB_INFO_MODS (1u << 3)
#define MB_INFO_MMAP (1u << 6)

struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_module {
    uint32_t start, end, cmdline, reserved;
} __attribute__((packed));

struct mb_mmap {
    uint32_t size;
    uint64_t addr, len;
    uint32_t type;
} __attribute__((packed));

static bool phys_ok(uint64_t p, uint64_t len) { return p < KERNEL_DIRECT_MAP_SIZE && len <= KERNEL_DIRECT_MAP_SIZE - p; }

const char *boot_info_parse(uint32_t magic, uint64_t mbi_phys, struct boot_info *bi)
{
    if (magic != MB_BOOT_MAGIC) return "not started by a multiboot v1 loader";
    if (!phys_ok(mbi_phys, sizeof(struct mb_info))) return "multiboot info outside physical memory";
    const struct mb_info *mbi = phys_to_virt(mbi_phys);
    if (!(mbi->flags & MB_INFO_MMAP)) return "boot loader gave no memory map";
    if (!phys_ok(mbi->mmap_addr, mbi->mmap_length)) return "memory map outside physical memory";

    bi->ram_count = 0;
    bi->phys_end = 0;
    for (uint64_t off = 0; off + sizeof(struct mb_mmap) <= mbi->mmap_length;) {
        const struct mb_mmap *e = phys_to_virt(mbi->mmap_addr + off);
        if (e->size < 20) return "malformed memory map entry";
        off += e->size + 4;
        if (e->type != 1 || e->len == 0) continue;
        uint64_t base = e->addr, end = e->addr + e->len;
        if (end < base) return "memory map entry wraps around";
        /* Only what the direct map covers is usable. */
        if (base >= KERNEL_DIRECT_MAP_SIZE) continue;
        if (end > KERNEL_DIRECT_MAP_SIZE) end = KERNEL_DIRECT_MAP_SIZE;
        if (bi->ram_count == ABI_KIP_MEM_MAX) break;
        bi->ram[bi->ram_count].base = base;
        bi->ram[bi->ram_count].size = end - base;
        bi->ram_count++;
        if (end > bi->phys_end) bi->phys_end = end;
    }
    if (!bi->ram_count) return "no usable RAM in the memory map";

    bi->module_count = 0;
    if (!(mbi->flags & MB_INFO_MODS) || mbi->mods_count == 0) return "no boot modules: the root task is missing";
    if (mbi->mods_count > ABI_KIP_MODULE_MAX) return "too many boot modules (at most 16)";
    if (!phys_ok(mbi->mods_addr, (uint64_t)mbi->mods_count * sizeof(struct mb_module)))
        return "module list outside physical memory";
    const struct mb_module *m = phys_to_virt(mbi->mods_addr);
    for (uint32_t i = 0; i < mbi->mods_count; i++) {
        if (m[i].end < m[i].start || m[i].end > bi->phys_end) return "boot module outside RAM";
        bi->module[i].start = m[i].start;
        bi->module[i].end = m[i].end;
        char *dst = bi->module[i].cmdline;
        unsigned n = 0;
        if (m[i].cmdline && phys_ok(m[i].cmdline, 1)) {
            const char *src = phys_to_virt(m[i].cmdline);
            while (n < ABI_KIP_CMDLINE_MAX - 1 && phys_ok(m[i].cmdline + n, 1) && src[n]) {
                dst[n] = src[n];
                n++;
            }
        }
        dst[n] = 0;
    }
    bi->module_count = mbi->mods_count;
    return 0;
}
