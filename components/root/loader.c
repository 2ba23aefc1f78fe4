/*
 * The loader: checks a program's ELF headers, copies its LOAD segments into
 * frames charged to the component and builds the Linux-style initial stack
 * (argc, argv, envp, auxv) musl's startup code expects.
 *
 * Everything in the file comes from outside and is checked before use:
 * sizes and offsets against the file, addresses against the component's
 * image area, alignment, flags, the entry point. A bad file is refused with
 * a message naming the first problem.
 */
#include "root.h"

/* Linux auxiliary vector keys */
#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_ENTRY 9
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_SECURE 23
#define AT_RANDOM 25

#define IMAGE_SPAN_MAX (64ull << 20)

const char *elf_check(const uint8_t *file, uint64_t size, struct elf_image *out)
{
    const struct abi_elf64_ehdr *eh = (const void *)file;
    if (size < sizeof *eh) return "shorter than an ELF header";
    if (memcmp(eh->ident, "\177ELF", 4)) return "no ELF magic";
    if (eh->ident[4] != 2 || eh->ident[5] != 1 || eh->ident[6] != 1) return "not ELF64 little-endian version 1";
    if (eh->type != ABI_ELF_ET_EXEC) return "not a static executable (ET_EXEC)";
    if (eh->machine != ABI_ELF_EM_X86_64) return "not x86-64";
    if (eh->phentsize != sizeof(struct abi_elf64_phdr)) return "bad program header size";
    if (eh->phnum == 0 || eh->phnum > 64) return "bad program header count";
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
        if (p->vaddr < COMP_IMAGE_MIN || p->vaddr >= COMP_IMAGE_MAX || p->memsz > COMP_IMAGE_MAX - p->vaddr)
            return "LOAD segment outside the program area";
        if ((p->vaddr - p->offset) % PAGE) return "LOAD segment offset and address disagree modulo the page size";
        if (p->flags & ~(uint32_t)(ABI_ELF_PF_R | ABI_ELF_PF_W | ABI_ELF_PF_X)) return "LOAD segment with unknown flags";
        uint64_t lo = p->vaddr & ~(PAGE - 1), hi = (p->vaddr + p->memsz + PAGE - 1) & ~(PAGE - 1);
        if (lo < out->lo) out->lo = lo;
        if (hi > out->hi) out->hi = hi;
        if ((p->flags & ABI_ELF_PF_X) && eh->entry >= p->vaddr && eh->entry < p->vaddr + p->memsz) entry_ok = 1;
        /* Program headers inside a LOAD segment's file part: found there at run time. */
        if (!out->phdr_va && eh->phoff >= p->offset && eh->phoff - p->offset < p->filesz)
            out->phdr_va = p->vaddr + (eh->phoff - p->offset);
        out->loads++;
    }
    if (!out->loads) return "no LOAD segment";
    if (out->hi - out->lo > IMAGE_SPAN_MAX) return "image too large";
    if (!entry_ok) return "entry point not in an executable segment";
    if (!out->phdr_va) return "program headers not in memory (no PT_PHDR, not in a LOAD segment)";
    return NULL;
}

/* Rights of the image page at a: the union over the LOAD segments touching it. */
static unsigned page_rights(const uint8_t *file, uint64_t a)
{
    const struct abi_elf64_ehdr *eh = (const void *)file;
    const struct abi_elf64_phdr *ph = (const void *)(file + eh->phoff);
    unsigned rights = 0;
    for (unsigned i = 0; i < eh->phnum; i++) {
        const struct abi_elf64_phdr *p = &ph[i];
        if (p->type != ABI_ELF_PT_LOAD || a + PAGE <= p->vaddr || a >= p->vaddr + p->memsz) continue;
        rights |= ABI_MAP_R | (p->flags & ABI_ELF_PF_W ? ABI_MAP_W : 0) | (p->flags & ABI_ELF_PF_X ? ABI_MAP_X : 0);
    }
    return rights;
}

/* Map the image in runs of pages with equal rights (each run its own
 * regions, so the backend writes only where the program may), then copy
 * the file parts in through the root's view of the frames. */
static const char *load_segments(struct comp *c, const uint8_t *file, const struct elf_image *im)
{
    const struct abi_elf64_ehdr *eh = (const void *)file;
    const struct abi_elf64_phdr *ph = (const void *)(file + eh->phoff);
    for (uint64_t a = im->lo; a < im->hi;) {
        unsigned rights = page_rights(file, a);
        uint64_t end = a + PAGE;
        while (end < im->hi && page_rights(file, end) == rights) end += PAGE;
        if (rights) {
            uint64_t va;
            int64_t e = comp_map_anon(c, a, end - a, rights, &va);
            if (e == ABI_E_NO_MEMORY) return "out of memory (quota) for the image";
            if (e) return "cannot map the image";
        }
        a = end;
    }
    for (unsigned i = 0; i < eh->phnum; i++) {
        if (ph[i].type != ABI_ELF_PT_LOAD) continue;
        for (uint64_t off = 0; off < ph[i].filesz;) {
            uint64_t a = ph[i].vaddr + off, n = PAGE - a % PAGE;
            if (n > ph[i].filesz - off) n = ph[i].filesz - off;
            void *p = comp_ptr(c, a, n, 0);
            if (!p) return "image page not mapped";
            memcpy(p, file + ph[i].offset + off, n);
            off += n;
        }
    }
    return NULL;
}

struct stack_builder {
    struct comp *c;
    uint64_t pos; /* grows down */
    int bad;
};

static uint64_t push_bytes(struct stack_builder *b, const void *src, uint64_t len)
{
    b->pos -= len;
    if (comp_write(b->c, b->pos, src, len)) b->bad = 1;
    return b->pos;
}

static uint64_t push_str(struct stack_builder *b, const char *s) { return push_bytes(b, s, strlen(s) + 1); }

const char *comp_load(struct comp *c, const struct module *m, uint64_t *entry, uint64_t *sp)
{
    struct elf_image im;
    const char *err = elf_check(m->data, m->size, &im);
    if (err) return err;
    err = load_segments(c, m->data, &im);
    if (err) return err;
    c->brk_base = c->brk_cur = c->brk_mapped = im.hi;

    uint64_t stack;
    int64_t e = comp_map_anon(c, COMP_STACK_TOP - COMP_STACK_SIZE, COMP_STACK_SIZE, ABI_MAP_R | ABI_MAP_W, &stack);
    if (e) return e == ABI_E_NO_MEMORY ? "out of memory (quota) for the stack" : "cannot map the stack";

    /* Strings first (top of the stack), then the vectors pointing at them. */
    const struct scn_component *s = c->scn;
    struct stack_builder b = {c, COMP_STACK_TOP, 0};
    uint64_t argv[SCN_ARGS_MAX], envp[SCN_ENV_MAX + SCN_USES_MAX + 2];
    unsigned envc = 0;
    for (unsigned i = 0; i < s->args.argc; i++) argv[i] = push_str(&b, s->args.argv[i]);
    char buf[SCN_NAME_MAX + 32];
    snprintf(buf, sizeof buf, "DROPS_NAME=%s", s->name);
    envp[envc++] = push_str(&b, buf);
    for (unsigned i = 0; i < s->nuses; i++) {
        unsigned slot = s->uses[i].provider == SCN_PROVIDER_ROOT ? 0 : DROPS_CAP_ROUTES + i;
        if (!slot) continue; /* root services have fixed slots */
        snprintf(buf, sizeof buf, "DROPS_CAP_%s=%u", s->uses[i].service, slot);
        envp[envc++] = push_str(&b, buf);
    }
    for (unsigned i = 0; i < s->nenv; i++) envp[envc++] = push_str(&b, s->env[i]);
    uint64_t rnd[2] = {rdtsc() * 0x9e3779b97f4a7c15ull, (rdtsc() ^ c->index) * 0xc2b2ae3d27d4eb4full};
    b.pos &= ~15ull;
    uint64_t at_random = push_bytes(&b, rnd, sizeof rnd);

    const uint64_t aux[][2] = {
        {AT_PHDR, im.phdr_va}, {AT_PHENT, sizeof(struct abi_elf64_phdr)}, {AT_PHNUM, im.phnum},
        {AT_PAGESZ, PAGE},     {AT_ENTRY, im.entry},                      {AT_UID, 0},
        {AT_EUID, 0},          {AT_GID, 0},                               {AT_EGID, 0},
        {AT_SECURE, 0},        {AT_RANDOM, at_random},                    {AT_NULL, 0},
    };
    const unsigned naux = sizeof aux / sizeof aux[0];
    uint64_t words = 1 + (s->args.argc + 1) + (envc + 1) + 2 * naux;
    uint64_t top = (b.pos - words * 8) & ~15ull, w = top;
    uint64_t argc = s->args.argc, zero = 0;
    b.pos = w + 8, push_bytes(&b, &argc, 8), w += 8;
    for (unsigned i = 0; i < s->args.argc; i++) b.pos = w + 8, push_bytes(&b, &argv[i], 8), w += 8;
    b.pos = w + 8, push_bytes(&b, &zero, 8), w += 8;
    for (unsigned i = 0; i < envc; i++) b.pos = w + 8, push_bytes(&b, &envp[i], 8), w += 8;
    b.pos = w + 8, push_bytes(&b, &zero, 8), w += 8;
    for (unsigned i = 0; i < naux; i++) {
        b.pos = w + 16, push_bytes(&b, aux[i], 16);
        w += 16;
    }
    if (b.bad) return "initial stack does not fit";
    *entry = im.entry;
    *sp = top;
    return NULL;
}
