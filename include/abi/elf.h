/*
 * The ELF64 subset of the boot interface: the kernel loads the root task
 * from an ET_EXEC x86-64 image, and the loaders at user level read the same
 * structures. Defined once here, with their sizes checked.
 */
#ifndef ABI_ELF_H
#define ABI_ELF_H

#include "types.h"

struct abi_elf64_ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct abi_elf64_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

_Static_assert(sizeof(struct abi_elf64_ehdr) == 64, "ELF header layout");
_Static_assert(offsetof(struct abi_elf64_ehdr, entry) == 24, "ELF header entry");
_Static_assert(offsetof(struct abi_elf64_ehdr, phentsize) == 54, "ELF header phentsize");
_Static_assert(sizeof(struct abi_elf64_phdr) == 56, "ELF program header layout");

#define ABI_ELF_ET_EXEC 2u
#define ABI_ELF_EM_X86_64 62u
#define ABI_ELF_PT_LOAD 1u
#define ABI_ELF_PT_DYNAMIC 2u
#define ABI_ELF_PT_INTERP 3u
#define ABI_ELF_PT_PHDR 6u
#define ABI_ELF_PF_X 1u
#define ABI_ELF_PF_W 2u
#define ABI_ELF_PF_R 4u

#endif
