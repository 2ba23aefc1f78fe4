/* The ELF checks of the loader (see elf_check.h). */
#include "elf_check.h"

#include "drops/string.h"

const char *elf_check(const uint8_t *file, uint64_t size, struct elf_image *out)
{
    const struct abi_elf64_ehdr *eh = (const void *)file;
    if (size < sizeof *eh) return "shorter than an ELF header";
    if (memcmp(eh->ident, "\177ELF", 4)) return "no ELF magic";
    if (eh->ident[4] != 2 || eh->ident[5] != 1 || eh->ident[6] != 1) return "not ELF64 little-endian version 1";
    if (eh->type != ABI_ELF_ET_EXEC) return "not a static executable (ET_EXEC)";
    if (eh->machine != ABI_ELF_EM_X86_64) return "not x86-64";
    if (eh->phentsize != sizeof(struct abi_elf64_phdr)) return "bad program header size";
    if (eh->phnum == 0 || eh->phnum > ELF_PHNUM_MAX) return "bad program header count";
    if (eh->phoff > size || (uint64_t)eh->phnum * sizeof(struct abi_elf64_phdr) > size - eh->phoff)
        return "program headers run past the file";
    if (eh->phoff % 8) return "misaligned program headers";
    const struct abi_elf64_phdr *ph = (const void *)(file + eh->phoff);
    *out = (struct elf_image){.entry = eh->entry, .phnum = eh->phnum, .lo = ~0ull, .hi = 0};
    int entry_ok = 0;
    for (unsigned i = 0; i < eh->phnum; i++) {
        const struct abi_elf64_phdr *p = &ph[i];
        if (p->type == ABI_ELF_PT_INTERP || p->type == ABI_ELF_PT_DYNAMIC) return "dynamically linked";
        if (p->type == ABI_ELF_PT_PHDR) out->phdr_va = p->vaddr;
        if (p->type != ABI_ELF_PT_LOAD) continue;
        if (p->filesz > p->memsz) return "LOAD segment with file size above memory size";
        if (p->offset > size || p->filesz > size - p->offset) return "LOAD segment runs past the file";
        if (p->vaddr < ELF_IMAGE_MIN || p->vaddr >= ELF_IMAGE_MAX || p->memsz > ELF_IMAGE_MAX - p->vaddr)
            return "LOAD segment outside the program area";
        if ((p->vaddr - p->offset) % 4096) return "LOAD segment offset and address disagree modulo the page size";
        if (p->flags & ~(uint32_t)(ABI_ELF_PF_R | ABI_ELF_PF_W | ABI_ELF_PF_X)) return "LOAD segment with unknown flags";
        uint64_t lo = p->vaddr & ~4095ull, hi = (p->vaddr + p->memsz + 4095) & ~4095ull;
        if (lo < out->lo) out->lo = lo;
        if (hi > out->hi) out->hi = hi;
        if ((p->flags & ABI_ELF_PF_X) && eh->entry >= p->vaddr && eh->entry < p->vaddr + p->memsz) entry_ok = 1;
        /* Program headers inside a LOAD segment's file part: found there at run time. */
        if (!out->phdr_va && eh->phoff >= p->offset && eh->phoff - p->offset < p->filesz)
            out->phdr_va = p->vaddr + (eh->phoff - p->offset);
        out->loads++;
    }
    if (!out->loads) return "no LOAD segment";
    if (out->hi - out->lo > ELF_IMAGE_SPAN_MAX) return "image too large";
    if (!entry_ok) return "entry point not in an executable segment";
    if (!out->phdr_va) return "program headers not in memory (no PT_PHDR, not in a LOAD segment)";
    return NULL;
}
