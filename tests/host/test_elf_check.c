/*
 * Host unit test of the root loader's ELF checks (components/root/
 * elf_check.c): a small valid static executable built here is accepted
 * with the right image span; each kind of damage is refused with its
 * message; and a million random corruptions are either refused or, when
 * accepted, describe only segments inside the file and the program area
 * (what the loader then relies on). ASan and UBSan watch every read.
 */
#include <stdint.h>
#include <string.h>

#include "../../components/root/elf_check.h"
#include "tap.h"

/* ehdr, two program headers (PT_PHDR, then text R-X and data RW-), code. */
enum { FILE_SIZE = 0x3000 };
static uint8_t valid[FILE_SIZE];

static void build_valid(void)
{
    memset(valid, 0x90, sizeof valid);
    struct abi_elf64_ehdr *eh = (void *)valid;
    memset(eh, 0, sizeof *eh);
    memcpy(eh->ident, "\177ELF\2\1\1", 7);
    eh->type = ABI_ELF_ET_EXEC;
    eh->machine = ABI_ELF_EM_X86_64;
    eh->version = 1;
    eh->entry = 0x401000;
    eh->phoff = sizeof *eh;
    eh->ehsize = sizeof *eh;
    eh->phentsize = sizeof(struct abi_elf64_phdr);
    eh->phnum = 3;
    struct abi_elf64_phdr *ph = (void *)(valid + eh->phoff);
    ph[0] = (struct abi_elf64_phdr){.type = ABI_ELF_PT_PHDR, .flags = ABI_ELF_PF_R, .offset = 64,
                                    .vaddr = 0x400040, .filesz = 3 * 56, .memsz = 3 * 56, .align = 8};
    ph[1] = (struct abi_elf64_phdr){.type = ABI_ELF_PT_LOAD, .flags = ABI_ELF_PF_R | ABI_ELF_PF_X, .offset = 0,
                                    .vaddr = 0x400000, .filesz = 0x2000, .memsz = 0x2000, .align = 0x1000};
    ph[2] = (struct abi_elf64_phdr){.type = ABI_ELF_PT_LOAD, .flags = ABI_ELF_PF_R | ABI_ELF_PF_W, .offset = 0x2000,
                                    .vaddr = 0x402000, .filesz = 0x800, .memsz = 0x5000, .align = 0x1000};
}

static uint8_t work[FILE_SIZE];

static struct abi_elf64_ehdr *W(void) { return (void *)work; }
static struct abi_elf64_phdr *P(unsigned i) { return (struct abi_elf64_phdr *)(work + 64) + i; }

/* Refused, with a message containing `what`. */
static void refused(uint64_t size, const char *what, const char *desc)
{
    struct elf_image im;
    const char *err = elf_check(work, size, &im);
    ok(err && strstr(err, what), "%s: refused (%s)", desc, err ? err : "accepted");
    memcpy(work, valid, sizeof work);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

int main(void)
{
    build_valid();
    struct elf_image im;
    const char *err = elf_check(valid, sizeof valid, &im);
    ok(!err, "the valid program is accepted (%s)", err ? err : "ok");
    ok(im.lo == 0x400000 && im.hi == 0x407000 && im.entry == 0x401000 && im.loads == 2 && im.phdr_va == 0x400040,
       "its image: 0x%lx..0x%lx, entry 0x%lx, %u loads, phdrs at 0x%lx", (unsigned long)im.lo,
       (unsigned long)im.hi, (unsigned long)im.entry, im.loads, (unsigned long)im.phdr_va);

    memcpy(work, valid, sizeof work);
    refused(63, "shorter than an ELF header", "63 bytes");
    work[1] = 'X', refused(sizeof work, "magic", "bad magic");
    work[4] = 1, refused(sizeof work, "ELF64", "32-bit class");
    work[5] = 2, refused(sizeof work, "little-endian", "big-endian");
    W()->type = 3, refused(sizeof work, "ET_EXEC", "ET_DYN");
    W()->machine = 3, refused(sizeof work, "x86-64", "i386");
    W()->phentsize = 32, refused(sizeof work, "header size", "program header size 32");
    W()->phnum = 0, refused(sizeof work, "count", "no program headers");
    W()->phnum = 65, refused(sizeof work, "count", "65 program headers");
    W()->phoff = sizeof work - 8, refused(sizeof work, "past the file", "program headers at the end");
    W()->phoff = ~0ull - 8, refused(sizeof work, "past the file", "program header offset near 2^64");
    P(1)->filesz = 0x3000, P(1)->memsz = 0x2000, refused(sizeof work, "above memory size", "filesz > memsz");
    P(2)->offset = 0x2a00, refused(sizeof work, "past the file", "a segment past the end of the file");
    P(2)->offset = ~0ull, refused(sizeof work, "past the file", "segment offset 2^64-1");
    P(2)->filesz = ~0ull, P(2)->memsz = ~0ull, refused(sizeof work, "", "segment size 2^64-1");
    P(1)->vaddr = 0x1000, refused(sizeof work, "program area", "a segment in the first 64 KiB");
    P(2)->vaddr = 0x7ffd00000000ull, refused(sizeof work, "program area", "a segment in the stack area");
    P(2)->memsz = ELF_IMAGE_MAX, refused(sizeof work, "program area", "a segment running past the area");
    P(2)->vaddr = 0x402100, refused(sizeof work, "modulo the page size", "address and offset disagree");
    P(1)->flags |= 0x10, refused(sizeof work, "unknown flags", "unknown segment flags");
    P(1)->type = 0, P(2)->type = 0, refused(sizeof work, "no LOAD", "no LOAD segment");
    P(2)->vaddr = 0x402000 + (128ull << 20), refused(sizeof work, "too large", "a 128 MiB image span");
    W()->entry = 0x402100, refused(sizeof work, "entry point", "entry in the data segment");
    W()->entry = 0, refused(sizeof work, "entry point", "entry 0");
    P(0)->type = 0, P(1)->offset = 0x1000, P(1)->vaddr = 0x401000, P(1)->filesz = P(1)->memsz = 0x1000,
                   refused(sizeof work, "not in memory", "program headers nowhere in memory");
    P(1)->type = ABI_ELF_PT_INTERP, refused(sizeof work, "dynamically linked", "PT_INTERP");
    P(0)->type = ABI_ELF_PT_DYNAMIC, refused(sizeof work, "dynamically linked", "PT_DYNAMIC");

    /* Random damage: refused, or accepted with every promise kept. */
    unsigned accepted = 0, broken = 0;
    for (int i = 0; i < 1000000; i++) {
        memcpy(work, valid, sizeof work);
        uint64_t size = sizeof work;
        int edits = 1 + (int)(rnd() % 4);
        for (int k = 0; k < edits; k++) {
            uint64_t r = rnd();
            switch (r % 4) {
            case 0: work[rnd() % (64 + 3 * 56)] = (uint8_t)rnd(); break; /* a header byte */
            case 1: { /* a whole 8-byte field of the headers */
                uint64_t v = rnd() % 3 ? rnd() >> (rnd() % 64) : ~0ull - rnd() % 4096;
                memcpy(work + 8 * (rnd() % ((64 + 3 * 56) / 8)), &v, 8);
                break;
            }
            case 2: size = rnd() % (sizeof work + 1); break;
            default: work[rnd() % sizeof work] = (uint8_t)rnd(); break;
            }
        }
        if (elf_check(work, size, &im)) continue;
        accepted++;
        const struct abi_elf64_ehdr *eh = (void *)work;
        int good = im.lo >= ELF_IMAGE_MIN && im.hi <= ELF_IMAGE_MAX && im.lo < im.hi &&
                   im.hi - im.lo <= ELF_IMAGE_SPAN_MAX && im.entry >= im.lo && im.entry < im.hi &&
                   eh->phoff + (uint64_t)eh->phnum * 56 <= size;
        for (unsigned p = 0; good && p < eh->phnum; p++) {
            const struct abi_elf64_phdr *ph = (const void *)(work + eh->phoff + 56ull * p);
            if (ph->type != ABI_ELF_PT_LOAD) continue;
            good = ph->offset <= size && ph->filesz <= size - ph->offset && ph->filesz <= ph->memsz &&
                   ph->vaddr >= im.lo && ph->vaddr + ph->memsz <= im.hi;
        }
        broken += !good;
    }
    ok(accepted > 1000 && !broken, "1,000,000 damaged files: %u accepted, each inside its file and the program area "
       "(%u broke a promise)", accepted, broken);
    return done_testing();
}
