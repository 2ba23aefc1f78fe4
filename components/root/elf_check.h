/*
 * The loader's check of an ELF file from outside (a boot module, or a file
 * a component hands to the loader service): every header field is checked
 * against the file and the component address-space layout before anything
 * is read through it. Freestanding and side-effect free, so the host unit
 * test (tests/host/test_elf_check.c) runs it on millions of damaged files.
 */
#ifndef ELF_CHECK_H
#define ELF_CHECK_H

#include <stdint.h>

#include "abi/elf.h"
#include "drops/services.h"

#define ELF_IMAGE_MIN 0x10000ull            /* lowest address a segment may use */
#define ELF_IMAGE_MAX DROPS_VA_IMAGE_MAX    /* segments end below */
#define ELF_IMAGE_SPAN_MAX (64ull << 20)    /* lowest to highest page */
#define ELF_PHNUM_MAX 64u

struct elf_image {
    uint64_t entry, phdr_va, lo, hi; /* lo, hi: page-aligned span of the LOAD segments */
    unsigned phnum, loads;
};

/* NULL if file[0..size) may be loaded, else what is wrong with it. */
const char *elf_check(const uint8_t *file, uint64_t size, struct elf_image *out);

#endif
