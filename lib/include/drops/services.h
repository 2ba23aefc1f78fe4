/*
 * The root task's services as components see them: capability slots, the
 * message protocol, and inline client calls (usable from musl-linked
 * components and from freestanding programs alike).
 *
 * Every component is started by components/root with this capability layout
 * (a slot is empty unless the scenario routes the service to it):
 *
 *   DROPS_CAP_LOG ... DROPS_CAP_PARENT   the root's services, each a gate to
 *                                        the root whose label names the
 *                                        service and the component
 *   DROPS_CAP_ROUTES + i                 the component's i-th `uses` line of
 *                                        a component-provided service; the
 *                                        environment variable
 *                                        DROPS_CAP_<service>=<slot> names it
 *   DROPS_CAP_EXC_BASE + i               thread i's exception handler (the
 *                                        root's libc backend); not for use
 *   DROPS_CAP_RECV_BASE ...              where capabilities the component
 *                                        receives may land (its choice)
 *   DROPS_CAP_THREAD_BASE + i            its own thread i (thread ids count
 *                                        from 1 in creation order; the index
 *                                        comes back from thread creation)
 *
 * Requests are IPC calls with tag protocol DROPS_PROTO_ROOT and mr0 = the
 * operation; the reply has mr0 = 0 or an enum abi_error, results in mr1...
 * The root checks that the operation belongs to the service whose gate was
 * called, so a route to `log` gives no access to `memory`.
 *
 * A component that provides services receives their requests on its main
 * thread: the label is DROPS_LABEL(index of the service among its
 * `provides` lines, index of the client component). The protocol spoken
 * there is the provider's own.
 */
#ifndef DROPS_SERVICES_H
#define DROPS_SERVICES_H

#include "drops/ipc.h"

#define DROPS_CAP_LOG 9u
#define DROPS_CAP_MEMORY 10u
#define DROPS_CAP_FILES 11u
#define DROPS_CAP_THREADS 12u
#define DROPS_CAP_PARENT 13u /* every component has it: status queries */
#define DROPS_CAP_LOADER 14u
#define DROPS_CAP_SCHED 15u  /* `uses sched`: the kernel's reservation control
                                capability itself (ABI_OBJ_SCHED_CONTROL), for
                                the admission server */
#define DROPS_CAP_ROUTES 16u
#define DROPS_CAP_EXC_BASE 64u
#define DROPS_THREADS_MAX 64u
#define DROPS_CAP_RECV_BASE 128u
#define DROPS_CAP_THREAD_BASE 192u /* thread i of the component itself (SEND, CTRL,
                                      COPY): to hand to the admission server */
#define DROPS_CAP_SLOTS 256u

/* A component's address space, as the root lays it out: the program's
 * image (and the heap after it) below DROPS_VA_IMAGE_MAX, the root's
 * mappings (mmap, shared dataspaces, boot files) in [DROPS_VA_MMAP_BASE,
 * DROPS_VA_MMAP_END), the initial stack below DROPS_VA_STACK_TOP. The range
 * [DROPS_VA_RECEIVE_BASE, DROPS_VA_RECEIVE_END) the root never uses: it is
 * the component's own, for memory it receives through IPC map items (e.g.
 * DSI areas from a controller, dsi/dsi_ctl.h). */
#define DROPS_VA_IMAGE_MAX 0x40000000ull
#define DROPS_VA_MMAP_BASE 0x100000000ull
#define DROPS_VA_MMAP_END 0x700000000000ull
#define DROPS_VA_RECEIVE_BASE 0x700000000000ull
#define DROPS_VA_RECEIVE_END 0x7f0000000000ull
#define DROPS_VA_STACK_TOP 0x7ffd00000000ull

#define DROPS_PROTO_ROOT 0x200u
#define DROPS_LABEL(service, client) (((uint64_t)(service) << 16) | (uint64_t)(client))
#define DROPS_LABEL_SERVICE(label) ((unsigned)((label) >> 16) & 0xffffu)
#define DROPS_LABEL_CLIENT(label) ((unsigned)(label) & 0xffffu)

enum drops_root_op {
    DROPS_LOG_WRITE = 1,      /* mr1 = length, text from mr2 (<= DROPS_LOG_MAX bytes) */
    DROPS_MEM_ALLOC = 16,     /* mr1 = bytes, mr2 = ABI_MAP_W|ABI_MAP_X -> mr1 = address */
    DROPS_MEM_FREE = 17,      /* mr1 = address, mr2 = bytes */
    DROPS_MEM_SHARE = 18,     /* mr1 = bytes (0: attach), name in mr2.. -> mr1 = address, mr2 = bytes */
    DROPS_MEM_INFO = 19,      /* -> mr1 = quota, mr2 = bytes in use */
    DROPS_FILE_MAP = 32,      /* name in mr1.. -> mr1 = address, mr2 = size (read-only) */
    DROPS_THREAD_CREATE = 48, /* mr1 = ip, mr2 = sp, mr3 = priority, mr4 = rdi
                                 -> mr1 = thread id, mr2 = index i (its cap is in
                                 DROPS_CAP_THREAD_BASE + i) */
    DROPS_LOADER_START = 56,  /* mr1 = address, mr2 = size of an ELF file in the
                                 caller's memory, mr3 = quota, mr4 = priority,
                                 name in mr5.. -> mr1 = child handle; the child
                                 runs with no routes but the parent's; a bad
                                 file is refused (ABI_E_INVALID_ARG) with the
                                 reason in the log */
    DROPS_LOADER_STOP = 57,   /* mr1 = child handle: stop it if still running */
    DROPS_PARENT_STATUS = 64, /* name in mr1.. -> mr1 = state, mr2 = exit status,
                                 mr3 = fault vector, mr4 = fault address, mr5 = fault ip */
};

/* DROPS_PARENT_STATUS states */
enum drops_comp_state {
    DROPS_COMP_UNKNOWN = 0,
    DROPS_COMP_RUNNING = 1,
    DROPS_COMP_EXITED = 2,
    DROPS_COMP_FAULTED = 3,
};

#define DROPS_NAME_WORDS 4u /* names travel as 4 words, NUL-padded (<= 31 chars) */
#define DROPS_LOG_MAX ((ABI_MR_COUNT - 2) * 8)

/* --- client side --- */

static inline void drops_put_name(uint64_t *mr, const char *name)
{
    char *d = (char *)mr;
    unsigned i = 0;
    for (; name[i] && i < DROPS_NAME_WORDS * 8 - 1; i++) d[i] = name[i];
    for (; i < DROPS_NAME_WORDS * 8; i++) d[i] = 0;
}

static inline struct sys_ret drops_root_call(abi_cap_t cap, unsigned words)
{
    return ipc_call(cap, ABI_TAG(DROPS_PROTO_ROOT, words, 0), ABI_TIMEOUT_NEVER);
}

/* The result of a root call: the IPC error, else the root's answer in mr0. */
static inline int64_t drops_root_result(struct sys_ret r) { return r.err ? r.err : (int64_t)utcb()->mr[0]; }

static inline int64_t drops_log(const char *text, uint64_t len)
{
    uint64_t *mr = utcb()->mr;
    if (len > DROPS_LOG_MAX) len = DROPS_LOG_MAX;
    mr[0] = DROPS_LOG_WRITE;
    mr[1] = len;
    char *d = (char *)&mr[2];
    for (uint64_t i = 0; i < len; i++) d[i] = text[i];
    return drops_root_result(drops_root_call(DROPS_CAP_LOG, 2 + (unsigned)((len + 7) / 8)));
}

/* Anonymous memory, charged to the component's quota; *addr on success. */
static inline int64_t drops_mem_alloc(uint64_t bytes, unsigned rights, uint64_t *addr)
{
    uint64_t *mr = utcb()->mr;
    mr[0] = DROPS_MEM_ALLOC, mr[1] = bytes, mr[2] = rights;
    int64_t e = drops_root_result(drops_root_call(DROPS_CAP_MEMORY, 3));
    if (!e) *addr = mr[1];
    return e;
}

static inline int64_t drops_mem_free(uint64_t addr, uint64_t bytes)
{
    uint64_t *mr = utcb()->mr;
    mr[0] = DROPS_MEM_FREE, mr[1] = addr, mr[2] = bytes;
    return drops_root_result(drops_root_call(DROPS_CAP_MEMORY, 3));
}

/* A named shared dataspace: created with `bytes` (> 0) by the first caller,
 * attached (bytes 0, or the same size) by the others. */
static inline int64_t drops_mem_share(const char *name, uint64_t bytes, uint64_t *addr, uint64_t *size)
{
    uint64_t *mr = utcb()->mr;
    mr[0] = DROPS_MEM_SHARE, mr[1] = bytes;
    drops_put_name(&mr[2], name);
    int64_t e = drops_root_result(drops_root_call(DROPS_CAP_MEMORY, 2 + DROPS_NAME_WORDS));
    if (!e) *addr = mr[1], *size = mr[2];
    return e;
}

static inline int64_t drops_mem_info(uint64_t *quota, uint64_t *used)
{
    uint64_t *mr = utcb()->mr;
    mr[0] = DROPS_MEM_INFO;
    int64_t e = drops_root_result(drops_root_call(DROPS_CAP_MEMORY, 1));
    if (!e) *quota = mr[1], *used = mr[2];
    return e;
}

/* A boot file the scenario lets this component read, mapped read-only. */
static inline int64_t drops_file_map(const char *name, uint64_t *addr, uint64_t *size)
{
    uint64_t *mr = utcb()->mr;
    mr[0] = DROPS_FILE_MAP;
    drops_put_name(&mr[1], name);
    int64_t e = drops_root_result(drops_root_call(DROPS_CAP_FILES, 1 + DROPS_NAME_WORDS));
    if (!e) *addr = mr[1], *size = mr[2];
    return e;
}

struct drops_comp_status {
    uint64_t state, exit_status, fault_vector, fault_addr, fault_ip;
};

/* Start a program from an ELF file in our memory as a child component. */
static inline int64_t drops_loader_start(const void *elf, uint64_t size, uint64_t quota, unsigned prio, const char *name,
                                         uint64_t *handle)
{
    uint64_t *mr = utcb()->mr;
    mr[0] = DROPS_LOADER_START, mr[1] = (uint64_t)(uintptr_t)elf, mr[2] = size, mr[3] = quota, mr[4] = prio;
    drops_put_name(&mr[5], name);
    int64_t e = drops_root_result(drops_root_call(DROPS_CAP_LOADER, 5 + DROPS_NAME_WORDS));
    if (!e) *handle = mr[1];
    return e;
}

static inline int64_t drops_loader_stop(uint64_t handle)
{
    uint64_t *mr = utcb()->mr;
    mr[0] = DROPS_LOADER_STOP, mr[1] = handle;
    return drops_root_result(drops_root_call(DROPS_CAP_LOADER, 2));
}

static inline int64_t drops_parent_status(const char *name, struct drops_comp_status *st)
{
    uint64_t *mr = utcb()->mr;
    mr[0] = DROPS_PARENT_STATUS;
    drops_put_name(&mr[1], name);
    int64_t e = drops_root_result(drops_root_call(DROPS_CAP_PARENT, 1 + DROPS_NAME_WORDS));
    if (!e) *st = (struct drops_comp_status){mr[1], mr[2], mr[3], mr[4], mr[5]};
    return e;
}

#endif
