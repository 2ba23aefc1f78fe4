/*
 * Root-task ELF loading. The image is untrusted input from the boot loader:
 * headers, program headers and every segment are checked before a byte is
 * copied. Segments are copied into fresh pages from the kernel pool and
 * become root-owned pages in the mapping database.
 */
#include "elf.h"
#include "abi/elf.h"
#include "abi/ipc.h"
#include "abi/kip.h"
#include "abi/utcb.h"
#include "arch_cpu.h"
#include "arch_trap.h"
#include "kmem.h"
#include "memory.h"
#include "task.h"

#include "lib.h"

#define ELF_MAX_IMAGE_PAGES 4096u /* 16 MiB of root image at most */

static bool in_user_range(uint64_t va, uint64_t len)
{
    /* Below the physical window; the KIP, UTCB and stack live far above. */
    return va >= 0x1000 && va < ABI_PHYS_WINDOW && len <= ABI_PHYS_WINDOW - va;
}

const char *elf_load_root(struct task *t, const uint8_t *image, uint64_t size, uint64_t *entry)
{
    const struct abi_elf64_ehdr *eh = (const void *)image;
    if (size < sizeof *eh) return "file too short for an ELF header";
    if (memcmp(eh->ident, "\177ELF", 4)) return "not an ELF file";
    if (eh->ident[4] != 2 || eh->ident[5] != 1) return "not a little-endian ELF64 file";
    if (eh->type != ABI_ELF_ET_EXEC) return "not an executable (ET_EXEC)";
    if (eh->machine != ABI_ELF_EM_X86_64) return "not an x86-64 program";
    if (eh->phentsize != sizeof(struct abi_elf64_phdr)) return "unexpected program header size";
    if (eh->phnum == 0 || eh->phnum > 64) return "bad program header count";
    if (eh->phoff > size || (uint64_t)eh->phnum * sizeof(struct abi_elf64_phdr) > size - eh->phoff)
        return "program headers outside the file";
    const struct abi_elf64_phdr *ph = (const void *)(image + eh->phoff);

    uint64_t pages = 0;
    bool entry_ok = false;
    for (unsigned i = 0; i < eh->phnum; i++) {
        if (ph[i].type != ABI_ELF_PT_LOAD) continue;
        if (ph[i].filesz > ph[i].memsz) return "segment file size exceeds memory size";
        if (ph[i].offset > size || ph[i].filesz > size - ph[i].offset) return "segment outside the file";
        if (!in_user_range(ph[i].vaddr, ph[i].memsz)) return "segment outside the user address range";
        pages += ((ph[i].vaddr & 0xfff) + ph[i].memsz + 0xfff) >> 12;
        if (eh->entry >= ph[i].vaddr && eh->entry < ph[i].vaddr + ph[i].memsz && (ph[i].flags & ABI_ELF_PF_X))
            entry_ok = true;
    }
    if (!entry_ok) return "entry point not in an executable segment";
    if (pages > ELF_MAX_IMAGE_PAGES) return "image too large";

    for (unsigned i = 0; i < eh->phnum; i++) {
        if (ph[i].type != ABI_ELF_PT_LOAD || ph[i].memsz == 0) continue;
        unsigned rights = ABI_MAP_R | ((ph[i].flags & ABI_ELF_PF_W) ? ABI_MAP_W : 0) | ((ph[i].flags & ABI_ELF_PF_X) ? ABI_MAP_X : 0);
        uint64_t start = ph[i].vaddr & ~0xfffull, end = (ph[i].vaddr + ph[i].memsz + 0xfff) & ~0xfffull;
        for (uint64_t va = start; va < end; va += 4096) {
            struct arch_pte_ref r = arch_pte_lookup(&t->space, va);
            uint8_t *page;
            if (r.pte && arch_pte_present(*r.pte)) {
                /* Two segments share this page: widen the rights, keep the bytes. */
                page = phys_to_virt(arch_pte_phys(*r.pte));
                mem_install_root_page(t, va, arch_pte_phys(*r.pte), rights | arch_pte_rights(*r.pte));
            } else {
                page = kmem_alloc_pages(0);
                if (!page || !mem_install_root_page(t, va, virt_to_phys(page), rights))
                    return "out of kernel memory while loading";
            }
            /* Copy the part of the file that falls into this page. */
            uint64_t seg_lo = ph[i].vaddr, seg_file_hi = ph[i].vaddr + ph[i].filesz;
            uint64_t lo = va > seg_lo ? va : seg_lo, hi = va + 4096 < seg_file_hi ? va + 4096 : seg_file_hi;
            if (lo < hi) memcpy(page + (lo - va), image + ph[i].offset + (lo - seg_lo), hi - lo);
        }
    }
    *entry = eh->entry;
    return 0;
}
