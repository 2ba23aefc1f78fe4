/*
 * The root task's internal interfaces (see README.md for the design).
 *
 * Threads of the root: the main thread starts the scenario and then serves
 * the root services (log, memory, files, threads, parent) on one open wait;
 * every thread of every component has its own handler thread in the root,
 * which serves that thread's Linux system calls (the libc backend) and
 * reports its faults. A handler may block on the thread's behalf (futex,
 * nanosleep) without holding up anyone else.
 *
 * All shared state (components, memory, dataspaces, futex waiters) is
 * guarded by one lock, never held across a blocking IPC.
 */
#ifndef ROOT_H
#define ROOT_H

#include "abi/elf.h"
#include "drops/ipc.h"
#include "drops/scenario.h"
#include "drops/services.h"

#define PAGE ((uint64_t)4096)
#define PAGES(bytes) (((bytes) + PAGE - 1) / PAGE)

/* --- the one lock --- */

void lock(void);
void unlock(void);

/* --- physical memory (memory.c) --- */

/* The root's view of physical address p. */
static inline void *pwin(uint64_t phys) { return (void *)(ABI_PHYS_WINDOW + phys); }

void frames_init(void);
/* A run of up to `want` contiguous zeroed frames (at least 1); 0 if none.
 * *got is the number of frames in the run. */
uint64_t frames_alloc_run(uint64_t want, uint64_t *got);
/* `count` contiguous zeroed frames, or 0. */
uint64_t frames_alloc_contig(uint64_t count);
void frames_free(uint64_t phys, uint64_t count);
uint64_t frames_free_count(void);

/* --- components --- */

struct comp;

/* A mapping in a component's address space: `pages` pages at `va`, backed
 * by physically contiguous frames at `phys` (anonymous memory, image,
 * stack), or by a dataspace. */
struct region {
    uint64_t va, pages, phys;
    int dataspace; /* index into the dataspace table, or: */
#define REGION_OWNED (-1) /* frames of this component, freed with it */
#define REGION_FILE (-2)  /* a boot module's frames, read-only, the root's */
    unsigned rights;
};

#define REGIONS_MAX 512

enum cthread_state { CT_FREE, CT_NEW, CT_RUNNING, CT_DEAD };

/* A thread of a component and its handler in the root. */
struct cthread {
    struct comp *comp;
    enum cthread_state state;
    unsigned index;            /* in comp->threads */
    abi_cap_t thread;          /* root's slot of the component thread (original) */
    abi_cap_t gate;            /* root's slot of the gate to the handler (original) */
    struct handler *handler;
    uint64_t tid;
    uint64_t clear_tid;        /* CLONE_CHILD_CLEARTID / set_tid_address */
    struct abi_exc_state start; /* full register state its first exception gets */
    uint64_t fs_base;           /* its thread pointer as last set (arch_prctl, clone) */
};

enum comp_state { COMP_LOADING, COMP_RUNNING, COMP_EXITED, COMP_FAULTED, COMP_STOPPED };

struct comp {
    const struct scn_component *scn;
    unsigned index;
    enum comp_state state;
    abi_cap_t task;
    abi_cap_t factory; /* its kernel-memory quota: its task, threads, gates */
    uint64_t exit_status;
    uint64_t fault_vector, fault_addr, fault_ip;
    /* memory */
    uint64_t quota, used;
    struct region regions[REGIONS_MAX];
    unsigned nregions;
    uint64_t brk_base, brk_cur, brk_mapped; /* heap after the image */
    uint64_t mmap_next;
    /* threads */
    struct cthread threads[DROPS_THREADS_MAX];
    unsigned nthreads_live;
    uint64_t next_tid;
    /* log: one line buffer, printed with the component's name */
    char line[256];
    unsigned line_len;
    unsigned long syscalls, enosys;
    const char *load_error; /* why it could not be started */
    int parent;             /* a child started through the loader: its parent, else -1 */
    abi_cap_t parent_gate;  /* a child's gate to the parent service (root's original) */
    /* files opened through the libc backend (0, 1, 2: the log) */
    struct {
        int file;
        const struct module *module;
        uint64_t offset;
    } fds[32];
    uint8_t enosys_logged[64]; /* bit per Linux call number < 512 */
};

extern struct comp comps[SCN_COMPONENTS_MAX];
extern unsigned ncomps;
extern struct scenario scenario;

/* Address-space layout of a component (everything else is unmapped). */
/* (the public part is in drops/services.h: DROPS_VA_*) */
#define COMP_IMAGE_MIN 0x10000ull
#define COMP_IMAGE_MAX DROPS_VA_IMAGE_MAX
#define COMP_BRK_SPAN (1ull << 30)
#define COMP_MMAP_BASE DROPS_VA_MMAP_BASE
#define COMP_MMAP_END DROPS_VA_MMAP_END
#define COMP_STACK_TOP DROPS_VA_STACK_TOP
#define COMP_STACK_SIZE (256ull << 10)
#define COMP_UTCB_BASE ABI_ROOT_UTCB_ADDR

/* Map `bytes` of fresh zeroed memory at `va` (0: the root picks one in the
 * mmap area) into c, charged to its quota. 0 and *out_va, or an abi_error. */
int64_t comp_map_anon(struct comp *c, uint64_t va, uint64_t bytes, unsigned rights, uint64_t *out_va);
/* Unmap [va, va + bytes) of c; owned frames go back to the pool. */
int64_t comp_unmap(struct comp *c, uint64_t va, uint64_t bytes);
/* The root's pointer to c's memory [va, va + len), or NULL if it is not
 * all mapped (writable when `write`). Lock held. */
void *comp_ptr(struct comp *c, uint64_t va, uint64_t len, int write);
/* Copy between c's memory and the root's; 0 or -1 (not mapped). */
int comp_read(struct comp *c, uint64_t va, void *dst, uint64_t len);
int comp_write(struct comp *c, uint64_t va, const void *src, uint64_t len);
/* Attach (or create, bytes > 0) the named dataspace. */
int64_t comp_share(struct comp *c, const char *name, uint64_t bytes, uint64_t *out_va, uint64_t *out_bytes);
/* Every mapping of c removed, owned frames freed, dataspaces released. */
void comp_release_memory(struct comp *c);
/* The boot file `name` mapped read-only into c, if the scenario allows. */
int64_t comp_map_file(struct comp *c, const char *name, uint64_t *out_va, uint64_t *out_size);

/* A factory for c's kernel objects, so one component cannot use up the
 * kernel's memory: 0 or an abi_error. */
int64_t comp_factory_create(struct comp *c);

/* --- boot modules --- */

struct module {
    const uint8_t *data;
    uint64_t size, phys;
};
/* The boot module of program `program` (by file name) or file `name`. */
const struct module *module_program(const char *program);
const struct module *module_file(const char *name);

/* --- the loader (loader.c) --- */

#include "elf_check.h"
/* c made anew as comps[index] from s (a child of comps[parent], or -1),
 * with `quota`: its kernel-memory factory, task, the program m loaded and
 * its first thread, not started. NULL, or why it could not be made (also
 * when m is NULL: the program is not among the boot modules). */
const char *comp_create(struct comp *c, const struct scn_component *s, unsigned index, int parent, uint64_t quota,
                        const struct module *m);
/* A gate to `thread` with `label` (made from c's factory), copied into c's
 * table at `slot`; the root's original in *original if wanted. */
int64_t comp_give_gate(struct comp *c, abi_cap_t thread, uint64_t label, unsigned slot, abi_cap_t *original);
/* Load program into c (segments, stack with argv/env/auxv); the initial
 * stack pointer in *sp. NULL or what went wrong. */
const char *comp_load(struct comp *c, const struct module *m, uint64_t *entry, uint64_t *sp);

/* --- threads and the libc backend (backend.c) --- */

/* A new thread in c starting with the given full register state
 * (rip, rsp, rdi, fs_base, ...); NULL when out of threads or memory. */
struct cthread *cthread_create(struct comp *c, const struct abi_exc_state *start, unsigned prio, int64_t *err);
/* Let it run (to its start trigger); 0 or an abi_error. */
int64_t cthread_start(struct cthread *ct);
/* c ends (exit_group or fault): its threads stopped, memory reclaimed,
 * the main thread told. Lock held. */
void comp_end(struct comp *c, enum comp_state how, uint64_t status);
void backend_init(void);
/* Start c's first thread at entry with stack sp; 0 or an abi_error. */
int comp_start(struct comp *c, uint64_t entry, uint64_t sp);
/* Capability slots of the root for objects it creates and deletes again. */
abi_cap_t slot_alloc(void);
void slot_free(abi_cap_t slot);

/* --- services (services.c) and output (log.c) --- */

#define SVC_LOG 1u
#define SVC_MEMORY 2u
#define SVC_FILES 3u
#define SVC_THREADS 4u
#define SVC_PARENT 5u
#define SVC_LOADER 6u
#define LABEL_INTERNAL 0xffffffffull /* handler -> main: a component ended */

void services_loop(void);
/* The loader service: start an ELF file from c's memory as its child. */
int64_t loader_start(struct comp *c, const uint64_t *mr, uint64_t *handle);
int64_t loader_stop(struct comp *c, uint64_t handle);
/* Components and children: the number of comps[] slots in use so far. */
extern unsigned ncomps_scenario;
/* Text from component c (write(1|2) or the log service): printed line by
 * line as "[name] line". Lock held. */
void comp_log(struct comp *c, const char *text, uint64_t len);
void comp_log_flush(struct comp *c);
/* Root's own messages. */
#define say(...) printf("[root] " __VA_ARGS__)

#include "drops/console.h"
#include "drops/string.h"

#endif
