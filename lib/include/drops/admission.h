/*
 * The admission server's protocol (components/admission) and its client
 * stubs, for musl components and freestanding programs alike.
 *
 * A component that wants real-time service `uses admission from <server>`
 * and finds the route's slot in the environment variable
 * DROPS_CAP_admission. It describes one periodic task and hands over the
 * capability of the thread that will run it:
 *
 *   ADMIT    a task description (struct drops_adm_task: period, a mandatory
 *            part, 0..7 optional parts with their requested qualities, a
 *            name) in the message words, the thread capability (SEND, CTRL)
 *            as a capability item after them. The server runs the QAS
 *            analysis (admission/) over every admitted task plus this one.
 *            Admitted: it programs the reservations of the new task (and
 *            re-programs the admitted ones whose budgets or priorities the
 *            new set changes) into the kernel and replies
 *            DROPS_ADM_OK with struct drops_adm_grant: the slices (budget,
 *            priority, predicted quality), the first release, the handle.
 *            Refused: DROPS_ADM_REFUSED with struct drops_adm_refusal: the
 *            task that would fail (the newcomer or an admitted one), which
 *            part, and by how much (predicted against requested quality, or
 *            worst-case response time against deadline). Nothing admitted
 *            changes on a refusal.
 *            A description the model does not accept: DROPS_ADM_INVALID
 *            with a message saying what is wrong.
 *   RELEASE  mr1 = handle: the reservation ends (the thread is a normal
 *            thread again at its old priority); only the component that
 *            admitted the task may release it.
 *   QUERY    a task name in mr1..: its current reservation and prediction
 *            (struct drops_adm_grant); these change when later admissions
 *            re-size the set. Public, like a process list.
 *
 * Timing: every release of an admitted task lies on the absolute grid of
 * its period (start_ns is a multiple of period_ns), so tasks with harmonic
 * periods are released together at multiples of the longest period, the
 * phasing the analysis assumes. Job k of a task runs from start_ns + k *
 * period_ns to the next release. The thread's first release is start_ns;
 * until then it runs at best-effort priority; sys_rt_next_period() waits
 * for it. When a later admission re-programs the task, the job in progress
 * ends (rt-sched's rule) and the next release is again a grid point.
 *
 * Histograms: a part of kind DROPS_ADM_HIST gives a bin width and a bin
 * count; the counts are nbins uint64_t at byte offset `c` of the shared
 * dataspace named in the request (drops_mem_share; the server attaches it
 * by name for the analysis and detaches it again). Bin j holds
 * execution times in (j * width, (j + 1) * width].
 *
 * All times are nanoseconds, qualities parts per million (1e6 = 1).
 */
#ifndef DROPS_ADMISSION_H
#define DROPS_ADMISSION_H

#include "drops/ipc.h"

#define DROPS_PROTO_ADMISSION 0x300u
#define DROPS_ADM_MAX_OPTIONAL 7u /* rt-sched's 8 slices: one mandatory, 7 optional */
#define DROPS_ADM_PPM 1000000ull

enum drops_adm_op {
    DROPS_ADM_ADMIT = 1,
    DROPS_ADM_RELEASE = 2,
    DROPS_ADM_QUERY = 3,
};

/* mr0 of every reply */
enum drops_adm_status {
    DROPS_ADM_OK = 0,
    DROPS_ADM_REFUSED = 1,   /* the analysis says no: struct drops_adm_refusal */
    DROPS_ADM_INVALID = 2,   /* bad description or request: message */
    DROPS_ADM_FULL = 3,      /* no room for another task in the server: message */
    DROPS_ADM_UNKNOWN = 4,   /* no such task (release, query) */
    DROPS_ADM_NOT_OWNER = 5, /* release of a task another component admitted */
    DROPS_ADM_KERNEL = 6,    /* the kernel refused the reservation: mr1 = abi error, message */
};

enum drops_adm_kind {
    DROPS_ADM_CONST = 1,   /* a: the time */
    DROPS_ADM_UNIFORM = 2, /* uniform on [a, b] */
    DROPS_ADM_NORMAL = 3,  /* normal, mean a, standard deviation b, truncated to [c, d] */
    DROPS_ADM_HIST = 4,    /* a: bin width, b: bins, c: byte offset of the counts in the dataspace */
};

struct drops_adm_dist {
    uint64_t kind; /* enum drops_adm_kind */
    uint64_t a, b, c, d;
};

/* The request, as it travels: mr0 = DROPS_ADM_ADMIT, this struct from mr1
 * on, cut after the last used part (DROPS_ADM_TASK_WORDS). */
struct drops_adm_task {
    uint64_t period_ns;
    uint64_t noptional;
    char name[32];      /* 1..31 characters: a-z A-Z 0-9 _ - . */
    char dataspace[32]; /* histograms' dataspace, "" if none */
    uint64_t quality_ppm[DROPS_ADM_MAX_OPTIONAL];
    struct drops_adm_dist part[1 + DROPS_ADM_MAX_OPTIONAL]; /* [0] mandatory */
};
#define DROPS_ADM_TASK_HEAD_WORDS 17u
#define DROPS_ADM_TASK_WORDS(nopt) (DROPS_ADM_TASK_HEAD_WORDS + 5u * (1u + (unsigned)(nopt)))

struct drops_adm_slice {
    uint64_t budget_ns;
    uint64_t prio;
    uint64_t predicted_ppm; /* optional: predicted quality; mandatory: 1e6 when its RTA passes */
    uint64_t response_ns;   /* mandatory: worst-case response time (0 for optional parts) */
};

/* DROPS_ADM_OK: mr1.. */
struct drops_adm_grant {
    uint64_t handle;
    uint64_t period_ns;
    uint64_t start_ns;        /* first release (a multiple of period_ns) */
    uint64_t decision_ns;     /* the analysis, as the server measured it */
    uint64_t decision_cycles; /* the same in TSC cycles */
    uint64_t nslices;
    uint64_t be_prio;
    uint64_t resolution_ns;   /* the analysis grid */
    struct drops_adm_slice slice[1 + DROPS_ADM_MAX_OPTIONAL];
};

enum drops_adm_failure {
    DROPS_ADM_FAIL_DEADLINE = 1, /* a mandatory part's worst-case response exceeds its deadline */
    DROPS_ADM_FAIL_QUALITY = 2,  /* an optional part's predicted quality is below the requested */
};

/* DROPS_ADM_REFUSED: mr1.. */
struct drops_adm_refusal {
    uint64_t failure; /* enum drops_adm_failure */
    uint64_t part;    /* 0 mandatory, j optional part j */
    uint64_t got;     /* FAIL_QUALITY: predicted ppm; FAIL_DEADLINE: response ns */
    uint64_t want;    /* FAIL_QUALITY: requested ppm (with the server's margin); FAIL_DEADLINE: deadline ns */
    uint64_t decision_ns, decision_cycles;
    char task[32];    /* the task that would fail */
    char reason[256]; /* the same in words */
};

/* What a call returns: status, and the part of it that applies. */
struct drops_adm_reply {
    int64_t status;          /* enum drops_adm_status, or a negative IPC error */
    struct drops_adm_grant grant;
    struct drops_adm_refusal refusal;
    uint64_t kernel_error;   /* DROPS_ADM_KERNEL */
    char message[256];       /* INVALID, FULL, KERNEL */
};

_Static_assert(sizeof(struct drops_adm_task) == 8 * DROPS_ADM_TASK_WORDS(DROPS_ADM_MAX_OPTIONAL), "adm task");
_Static_assert(1 + DROPS_ADM_TASK_WORDS(DROPS_ADM_MAX_OPTIONAL) + 2 <= ABI_MR_COUNT, "adm task fits a message");
_Static_assert(1 + sizeof(struct drops_adm_grant) / 8 <= ABI_MR_COUNT, "adm grant fits a message");
_Static_assert(1 + sizeof(struct drops_adm_refusal) / 8 <= ABI_MR_COUNT, "adm refusal fits a message");

/* --- client side --- */

static inline void drops_adm_copy_words(void *dst, const void *src, unsigned words)
{
    uint64_t *d = (uint64_t *)dst;
    const uint64_t *s = (const uint64_t *)src;
    for (unsigned i = 0; i < words; i++) d[i] = s[i];
}

static inline int64_t drops_adm_finish(struct sys_ret r, struct drops_adm_reply *out)
{
    const uint64_t *mr = utcb()->mr;
    if (r.err) return out->status = r.err;
    unsigned words = ABI_TAG_WORDS(r.v0);
    out->status = words ? (int64_t)mr[0] : DROPS_ADM_INVALID;
    out->message[0] = 0;
    if (out->status == DROPS_ADM_OK && words > 1) {
        unsigned n = words - 1 < sizeof out->grant / 8 ? words - 1 : sizeof out->grant / 8;
        drops_adm_copy_words(&out->grant, &mr[1], n);
    } else if (out->status == DROPS_ADM_REFUSED && words > 1) {
        unsigned n = words - 1 < sizeof out->refusal / 8 ? words - 1 : sizeof out->refusal / 8;
        drops_adm_copy_words(&out->refusal, &mr[1], n);
        out->refusal.reason[sizeof out->refusal.reason - 1] = 0;
    } else if (words > 2) {
        out->kernel_error = mr[1];
        unsigned n = words - 2 < sizeof out->message / 8 ? words - 2 : sizeof out->message / 8;
        drops_adm_copy_words(out->message, &mr[2], n);
        out->message[sizeof out->message - 1] = 0;
    }
    return out->status;
}

/* Ask for admission of *t, run by the thread in our slot `thread` (it must
 * have SEND, CTRL and COPY, as DROPS_CAP_THREAD_BASE + i has). */
static inline int64_t drops_adm_admit(abi_cap_t server, const struct drops_adm_task *t, abi_cap_t thread,
                                      struct drops_adm_reply *out)
{
    uint64_t *mr = utcb()->mr;
    uint64_t nopt = t->noptional <= DROPS_ADM_MAX_OPTIONAL ? t->noptional : DROPS_ADM_MAX_OPTIONAL;
    unsigned words = 1 + DROPS_ADM_TASK_WORDS(nopt);
    mr[0] = DROPS_ADM_ADMIT;
    drops_adm_copy_words(&mr[1], t, words - 1);
    unsigned items = 0;
    if (thread) {
        mr[words] = ABI_ITEM_CAP | (uint64_t)ABI_R_ALL << 8;
        mr[words + 1] = thread;
        items = 1;
    }
    return drops_adm_finish(ipc_call(server, ABI_TAG(DROPS_PROTO_ADMISSION, words, items), ABI_TIMEOUT_NEVER), out);
}

static inline int64_t drops_adm_release(abi_cap_t server, uint64_t handle, struct drops_adm_reply *out)
{
    uint64_t *mr = utcb()->mr;
    mr[0] = DROPS_ADM_RELEASE, mr[1] = handle;
    return drops_adm_finish(ipc_call(server, ABI_TAG(DROPS_PROTO_ADMISSION, 2, 0), ABI_TIMEOUT_NEVER), out);
}

static inline int64_t drops_adm_query(abi_cap_t server, const char *name, struct drops_adm_reply *out)
{
    uint64_t *mr = utcb()->mr;
    mr[0] = DROPS_ADM_QUERY;
    char *d = (char *)&mr[1];
    unsigned i = 0;
    for (; name[i] && i < 31; i++) d[i] = name[i];
    for (; i < 32; i++) d[i] = 0;
    return drops_adm_finish(ipc_call(server, ABI_TAG(DROPS_PROTO_ADMISSION, 5, 0), ABI_TIMEOUT_NEVER), out);
}

#endif
