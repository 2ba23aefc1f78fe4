/*
 * The memory service: physical frames, components' address spaces, quotas
 * and named shared dataspaces.
 *
 * The root owns every free frame (the KIP's ABI_MEM_FREE ranges, seen at
 * ABI_PHYS_WINDOW). A bitmap with a next-fit cursor hands out runs of
 * contiguous frames; a component's memory is a list of regions, each one run
 * mapped with task_map, so the root can translate any address of a
 * component into its own view (the libc backend reads and writes the
 * buffers of system calls this way) and unmap exactly what it mapped.
 *
 * Everything a component maps counts against its scenario quota, checked
 * before any frame is taken: running out is an error to the requester
 * (ABI_E_NO_MEMORY, -ENOMEM for libc), never a crash. A dataspace is
 * charged to the component that creates it; it lives until the last
 * component using it has ended.
 */
#include "root.h"

/* --- frames --- */

#define FRAMES_MAX ((4ull << 30) / PAGE) /* the kernel maps the first 4 GiB */

static uint64_t bitmap[FRAMES_MAX / 64]; /* 1 = free */
static uint64_t frames_total, frames_free_n, cursor;

static int frame_is_free(uint64_t f) { return (bitmap[f / 64] >> (f % 64)) & 1; }
static void frame_set(uint64_t f, int free_)
{
    if (free_) bitmap[f / 64] |= 1ull << (f % 64);
    else bitmap[f / 64] &= ~(1ull << (f % 64));
}

void frames_init(void)
{
    const struct abi_kip *k = kip();
    for (unsigned i = 0; i < k->mem_count; i++) {
        if (k->mem[i].type != ABI_MEM_FREE) continue;
        uint64_t lo = PAGES(k->mem[i].base), hi = (k->mem[i].base + k->mem[i].size) / PAGE;
        if (hi > FRAMES_MAX) hi = FRAMES_MAX;
        for (uint64_t f = lo; f < hi; f++) frame_set(f, 1), frames_total++;
    }
    frames_free_n = frames_total;
}

uint64_t frames_free_count(void) { return frames_free_n; }

uint64_t frames_alloc_run(uint64_t want, uint64_t *got)
{
    if (!want || !frames_free_n) return 0;
    for (uint64_t scanned = 0; scanned < FRAMES_MAX;) {
        uint64_t f = (cursor + scanned) % FRAMES_MAX;
        if (f % 64 == 0 && !bitmap[f / 64]) { /* skip a full word */
            scanned += 64;
            continue;
        }
        if (!frame_is_free(f)) {
            scanned++;
            continue;
        }
        uint64_t n = 0;
        while (n < want && f + n < FRAMES_MAX && frame_is_free(f + n)) frame_set(f + n, 0), n++;
        frames_free_n -= n;
        cursor = f + n;
        memset(pwin(f * PAGE), 0, n * PAGE);
        *got = n;
        return f * PAGE;
    }
    return 0;
}

uint64_t frames_alloc_contig(uint64_t count)
{
    /* Runs too short are given back; the cursor moves past them. */
    for (uint64_t tries = 0; tries < FRAMES_MAX / 64; tries++) {
        uint64_t got, phys = frames_alloc_run(count, &got);
        if (!phys) return 0;
        if (got == count) return phys;
        frames_free(phys, got);
    }
    return 0;
}

void frames_free(uint64_t phys, uint64_t count)
{
    for (uint64_t f = phys / PAGE; f < phys / PAGE + count; f++) frame_set(f, 1);
    frames_free_n += count;
}

/* --- kernel memory --- */

/* Kernel memory a component may cause: its page tables and mapping-database
 * nodes grow with its memory (about 1/64 of it, doubled for headroom), its
 * threads (kernel stack, UTCB, object) about 16 KiB each; the base covers
 * the task and a handful of threads. */
#define KQUOTA_BASE (256ull << 10)
#define KQUOTA_SHARE 32

int64_t comp_factory_create(struct comp *c)
{
    c->factory = slot_alloc();
    return sys_factory_create(ABI_CAP_FACTORY, ABI_OBJ_FACTORY, c->factory, KQUOTA_BASE + c->quota / KQUOTA_SHARE, 0)
        .err;
}

/* --- dataspaces --- */

#define DATASPACES_MAX 32
#define DS_RUNS_MAX 16

struct dataspace {
    char name[SCN_NAME_MAX];
    uint64_t bytes;
    unsigned users; /* components attached; 0 = slot free */
    unsigned nruns;
    struct { uint64_t phys, pages; } runs[DS_RUNS_MAX];
};
static struct dataspace dataspaces[DATASPACES_MAX];

static void ds_put(int i)
{
    struct dataspace *d = &dataspaces[i];
    if (--d->users) return;
    for (unsigned r = 0; r < d->nruns; r++) frames_free(d->runs[r].phys, d->runs[r].pages);
    memset(d, 0, sizeof *d);
}

/* --- regions --- */

static int region_add(struct comp *c, uint64_t va, uint64_t pages, uint64_t phys, int ds, unsigned rights)
{
    if (c->nregions == REGIONS_MAX) return -1;
    c->regions[c->nregions++] = (struct region){va, pages, phys, ds, rights};
    return 0;
}

/* Is [va, va + pages) free of regions? */
static int range_free(const struct comp *c, uint64_t va, uint64_t pages)
{
    for (unsigned i = 0; i < c->nregions; i++) {
        const struct region *r = &c->regions[i];
        if (va < r->va + r->pages * PAGE && r->va < va + pages * PAGE) return 0;
    }
    return 1;
}

static int64_t map_run(struct comp *c, uint64_t phys, uint64_t va, uint64_t pages, unsigned rights)
{
    return sys_task_map(c->task, ABI_PHYS_WINDOW + phys, va, pages, rights).err;
}

int64_t comp_map_anon(struct comp *c, uint64_t va, uint64_t bytes, unsigned rights, uint64_t *out_va)
{
    uint64_t pages = PAGES(bytes);
    if (!pages || pages > (COMP_MMAP_END - COMP_MMAP_BASE) / PAGE) return ABI_E_INVALID_ARG;
    if (pages * PAGE > c->quota - c->used) return ABI_E_NO_MEMORY;
    if (pages > frames_free_n) return ABI_E_NO_MEMORY;
    if (!va) {
        /* A guard page between mappings catches small overruns. */
        if (c->mmap_next + (pages + 1) * PAGE > COMP_MMAP_END) return ABI_E_NO_MEMORY;
        va = c->mmap_next;
        c->mmap_next += (pages + 1) * PAGE;
    } else if (!range_free(c, va, pages)) {
        return ABI_E_INVALID_ARG;
    }
    unsigned first = c->nregions;
    for (uint64_t done = 0; done < pages;) {
        uint64_t got, phys = frames_alloc_run(pages - done, &got);
        if (!phys) goto undo;
        if (region_add(c, va + done * PAGE, got, phys, REGION_OWNED, rights) ||
            map_run(c, phys, va + done * PAGE, got, rights)) {

            if (c->nregions > first && c->regions[c->nregions - 1].phys == phys) c->nregions--;
            frames_free(phys, got);
            goto undo;
        }
        done += got;
    }
    c->used += pages * PAGE;
    *out_va = va;
    return 0;
undo:
    while (c->nregions > first) {
        struct region *r = &c->regions[--c->nregions];
        sys_unmap(ABI_PHYS_WINDOW + r->phys, r->pages, ABI_MAP_RWX);
        frames_free(r->phys, r->pages);
    }
    return ABI_E_NO_MEMORY;
}

/* Remove region i (or the part [lo, hi) of it, splitting it). */
static void region_cut(struct comp *c, unsigned i, uint64_t lo, uint64_t hi)
{
    struct region r = c->regions[i];
    uint64_t end = r.va + r.pages * PAGE;
    if (lo < r.va) lo = r.va;
    if (hi > end) hi = end;
    uint64_t cut_phys = r.phys + (lo - r.va), cut_pages = (hi - lo) / PAGE;
    if (r.dataspace == REGION_OWNED) {
        /* Unmapping the root's frames revokes the component's mapping. */
        sys_unmap(ABI_PHYS_WINDOW + cut_phys, cut_pages, ABI_MAP_RWX);
        frames_free(cut_phys, cut_pages);
        c->used -= cut_pages * PAGE;
    }
    c->regions[i] = c->regions[--c->nregions];
    if (lo > r.va) region_add(c, r.va, (lo - r.va) / PAGE, r.phys, r.dataspace, r.rights);
    if (hi < end) region_add(c, hi, (end - hi) / PAGE, r.phys + (hi - r.va), r.dataspace, r.rights);
}

int64_t comp_unmap(struct comp *c, uint64_t va, uint64_t bytes)
{
    if (va % PAGE || !bytes) return ABI_E_INVALID_ARG;
    uint64_t end = va + PAGES(bytes) * PAGE;
    if (end < va) return ABI_E_INVALID_ARG;
    for (unsigned i = 0; i < c->nregions;) {
        struct region *r = &c->regions[i];
        /* Dataspaces and the image stay: only anonymous memory is unmapped. */
        if (r->dataspace == REGION_OWNED && va < r->va + r->pages * PAGE && r->va < end) {
            if (c->nregions == REGIONS_MAX && va > r->va && end < r->va + r->pages * PAGE)
                return ABI_E_NO_MEMORY; /* a split needs one more slot */
            region_cut(c, i, va, end);
            i = 0; /* the table changed order */
            continue;
        }
        i++;
    }
    return 0;
}

void *comp_ptr(struct comp *c, uint64_t va, uint64_t len, int write)
{
    for (unsigned i = 0; i < c->nregions; i++) {
        const struct region *r = &c->regions[i];
        uint64_t size = r->pages * PAGE;
        if (va < r->va || va - r->va >= size || len > size - (va - r->va)) continue;
        if (write && !(r->rights & ABI_MAP_W)) return NULL;
        if (r->dataspace < 0) return pwin(r->phys + (va - r->va));
        /* A dataspace region: phys is the offset into the dataspace. */
        const struct dataspace *d = &dataspaces[r->dataspace];
        uint64_t off = r->phys + (va - r->va);
        for (unsigned k = 0; k < d->nruns; k++) {
            if (off < d->runs[k].pages * PAGE) {
                if (len > d->runs[k].pages * PAGE - off) return NULL; /* crosses runs */
                return pwin(d->runs[k].phys + off);
            }
            off -= d->runs[k].pages * PAGE;
        }
        return NULL;
    }
    return NULL;
}

/* Copies page by page: a buffer may span several regions. */
int comp_read(struct comp *c, uint64_t va, void *dst, uint64_t len)
{
    while (len) {
        uint64_t n = PAGE - va % PAGE;
        if (n > len) n = len;
        const void *p = comp_ptr(c, va, n, 0);
        if (!p) return -1;
        memcpy(dst, p, n);
        dst = (char *)dst + n, va += n, len -= n;
    }
    return 0;
}

int comp_write(struct comp *c, uint64_t va, const void *src, uint64_t len)
{
    while (len) {
        uint64_t n = PAGE - va % PAGE;
        if (n > len) n = len;
        void *p = comp_ptr(c, va, n, 1);
        if (!p) return -1;
        memcpy(p, src, n);
        src = (const char *)src + n, va += n, len -= n;
    }
    return 0;
}

int64_t comp_share(struct comp *c, const char *name, uint64_t bytes, uint64_t *out_va, uint64_t *out_bytes)
{
    if (!name[0]) return ABI_E_INVALID_ARG;
    int found = -1, free_slot = -1;
    for (int i = 0; i < DATASPACES_MAX; i++) {
        if (dataspaces[i].users && !strcmp(dataspaces[i].name, name)) found = i;
        if (!dataspaces[i].users && free_slot < 0) free_slot = i;
    }
    struct dataspace *d;
    if (found >= 0) {
        d = &dataspaces[found];
        if (bytes && PAGES(bytes) * PAGE != d->bytes) return ABI_E_INVALID_ARG;
        for (unsigned i = 0; i < c->nregions; i++)
            if (c->regions[i].dataspace == found) return ABI_E_BUSY; /* attached already */
    } else {
        if (!bytes) return ABI_E_INVALID_ARG; /* nothing to attach to */
        if (free_slot < 0) return ABI_E_NO_MEMORY;
        uint64_t pages = PAGES(bytes);
        if (pages * PAGE > c->quota - c->used || pages > frames_free_n) return ABI_E_NO_MEMORY;
        d = &dataspaces[free_slot];
        for (uint64_t done = 0; done < pages;) {
            uint64_t got, phys = d->nruns < DS_RUNS_MAX ? frames_alloc_run(pages - done, &got) : 0;
            if (!phys) {
                for (unsigned r = 0; r < d->nruns; r++) frames_free(d->runs[r].phys, d->runs[r].pages);
                memset(d, 0, sizeof *d);
                return ABI_E_NO_MEMORY;
            }
            d->runs[d->nruns].phys = phys, d->runs[d->nruns].pages = got, d->nruns++;
            done += got;
        }
        unsigned n = 0;
        while (name[n] && n < SCN_NAME_MAX - 1) d->name[n] = name[n], n++;
        d->bytes = pages * PAGE;
        c->used += d->bytes; /* charged to its creator */
        found = free_slot;
    }
    uint64_t pages = d->bytes / PAGE;
    if (c->mmap_next + (pages + 1) * PAGE > COMP_MMAP_END || c->nregions == REGIONS_MAX) {
        if (!d->users) { /* just created: undo */
            c->used -= d->bytes;
            d->users = 1;
            ds_put(found);
        }
        return ABI_E_NO_MEMORY;
    }
    uint64_t va = c->mmap_next, off = 0;
    c->mmap_next += (pages + 1) * PAGE;
    for (unsigned k = 0; k < d->nruns; k++) {
        map_run(c, d->runs[k].phys, va + off, d->runs[k].pages, ABI_MAP_R | ABI_MAP_W);
        off += d->runs[k].pages * PAGE;
    }
    region_add(c, va, pages, 0, found, ABI_MAP_R | ABI_MAP_W);
    d->users++;
    *out_va = va;
    *out_bytes = d->bytes;
    return 0;
}

void comp_release_memory(struct comp *c)
{
    for (unsigned i = 0; i < c->nregions; i++) {
        struct region *r = &c->regions[i];
        if (r->dataspace >= 0) {
            ds_put(r->dataspace);
        } else if (r->dataspace == REGION_OWNED) {
            sys_unmap(ABI_PHYS_WINDOW + r->phys, r->pages, ABI_MAP_RWX);
            frames_free(r->phys, r->pages);
        }
        /* Boot files are the root's: their mapping goes with the task. */
    }
    c->nregions = 0;
    c->used = 0;
}

int64_t comp_map_file(struct comp *c, const char *name, uint64_t *out_va, uint64_t *out_size)
{
    int f = scenario_find_file(&scenario, name);
    int allowed = 0;
    for (unsigned i = 0; f >= 0 && i < c->scn->nfiles; i++) allowed |= c->scn->files[i] == f;
    if (!allowed) return ABI_E_NO_RIGHTS;
    const struct module *m = module_file(name);
    if (!m) return ABI_E_INVALID_ARG;
    uint64_t first = m->phys & ~(PAGE - 1), pages = PAGES(m->phys + m->size - first);
    if (!pages) pages = 1;
    if (c->mmap_next + (pages + 1) * PAGE > COMP_MMAP_END || c->nregions == REGIONS_MAX) return ABI_E_NO_MEMORY;
    uint64_t va = c->mmap_next;
    if (map_run(c, first, va, pages, ABI_MAP_R)) return ABI_E_NO_MEMORY;
    c->mmap_next += (pages + 1) * PAGE;
    region_add(c, va, pages, first, REGION_FILE, ABI_MAP_R);
    *out_va = va + (m->phys - first);
    *out_size = m->size;
    return 0;
}
