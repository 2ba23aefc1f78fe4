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

const char *comp_create(struct comp *c, const struct scn_component *s, unsigned index, int parent, uint64_t quota,
                        const struct module *m)
{
    memset(c, 0, sizeof *c);
    c->scn = s;
    c->index = index;
    c->parent = parent;
    c->quota = quota;
    c->mmap_next = COMP_MMAP_BASE;
    c->next_tid = 1;
    c->state = COMP_LOADING;
    if (!m) return "its program is not among the boot modules";
    if (comp_factory_create(c)) return "out of kernel memory for its kernel-memory quota";
    c->task = slot_alloc();
    if (sys_factory_create(c->factory, ABI_OBJ_TASK, c->task, DROPS_CAP_SLOTS, 0).err)
        return "out of kernel memory for its task";
    uint64_t entry, sp;
    const char *why = comp_load(c, m, &entry, &sp);
    if (why) return why;
    struct abi_exc_state start;
    memset(&start, 0, sizeof start);
    start.rip = entry, start.rsp = sp, start.rflags = 0x202;
    int64_t e;
    return cthread_create(c, &start, s->priority, &e) ? NULL : "cannot create its first thread";
}

/* --- the loader service: children started from a component's memory --- */

#define CHILD_FILE_MAX (16ull << 20)

static struct scn_component child_scn[SCN_COMPONENTS_MAX];

static int name_ok(const char *n)
{
    if (!n[0]) return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.')) return 0;
    return 1;
}

int64_t loader_start(struct comp *parent, const uint64_t *mr, uint64_t *handle)
{
    uint64_t addr = mr[1], size = mr[2], quota = mr[3], prio = mr[4];
    char name[DROPS_NAME_WORDS * 8];
    memcpy(name, &mr[5], sizeof name);
    name[sizeof name - 1] = 0;
    if (!name_ok(name) || !size || size > CHILD_FILE_MAX || !quota || prio > parent->scn->priority)
        return ABI_E_INVALID_ARG;
    /* The child's quota is lent from the parent's. */
    quota = PAGES(quota) * PAGE;
    if (quota > parent->quota - parent->used) return ABI_E_NO_MEMORY;
    /* A slot never used, or one whose component has ended. */
    unsigned i = ncomps_scenario;
    while (i < SCN_COMPONENTS_MAX && i < ncomps && comps[i].state != COMP_EXITED && comps[i].state != COMP_FAULTED &&
           comps[i].state != COMP_STOPPED)
        i++;
    if (i == SCN_COMPONENTS_MAX) return ABI_E_BUSY;

    /* A private copy: the parent may change its buffer while we check it. */
    uint64_t phys = frames_alloc_contig(PAGES(size));
    if (!phys) return ABI_E_NO_MEMORY;
    struct module m = {pwin(phys), size, phys};
    int64_t e = 0;
    if (comp_read(parent, addr, pwin(phys), size)) e = ABI_E_INVALID_ARG;
    struct elf_image im;
    const char *why = e ? "the file is not in the caller's memory" : elf_check(m.data, size, &im);
    if (why) {
        say("loader: '%s' from '%s' refused: %s\n", name, parent->scn->name, why);
        frames_free(phys, PAGES(size));
        return ABI_E_INVALID_ARG;
    }

    struct scn_component *s = &child_scn[i];
    memset(s, 0, sizeof *s);
    memcpy(s->name, name, sizeof s->name);
    memcpy(s->program, name, sizeof s->program);
    memcpy(s->args.text, name, sizeof s->name);
    s->args.argc = 1;
    s->args.argv[0] = s->args.text;
    s->quota = quota;
    s->priority = (unsigned)prio;
    s->expect_fault = 1; /* children never decide the scenario's status */

    struct comp *c = &comps[i];
    if (i >= ncomps) ncomps = i + 1;
    parent->used += quota;
    why = comp_create(c, s, i, (int)parent->index, quota, &m);
    frames_free(phys, PAGES(size));
    /* Its parent gate goes with its end (comp_end deletes parent_gate). */
    if (!why && comp_give_gate(c, ABI_CAP_SELF_THREAD, DROPS_LABEL(SVC_PARENT, i), DROPS_CAP_PARENT, &c->parent_gate))
        why = "cannot give it its parent gate";
    if (!why) {
        c->state = COMP_RUNNING;
        if (cthread_start(&c->threads[0])) why = "cannot start its thread";
    }
    if (why) {
        say("loader: '%s' from '%s' not started: %s\n", name, parent->scn->name, why);
        c->load_error = why;
        comp_end(c, COMP_FAULTED, 0);
        return ABI_E_INVALID_ARG;
    }
    *handle = i;
    return 0;
}

int64_t loader_stop(struct comp *parent, uint64_t handle)
{
    if (handle < ncomps_scenario || handle >= ncomps || comps[handle].parent != (int)parent->index)
        return ABI_E_INVALID_ARG;
    comp_end(&comps[handle], COMP_STOPPED, 0);
    return 0;
}
