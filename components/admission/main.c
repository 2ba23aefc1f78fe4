/*
 * The admission server (README.md beside this file; protocol in
 * lib/include/drops/admission.h).
 *
 * It holds the kernel's reservation-control capability (`uses sched`) and
 * the capabilities of the threads it admitted. Each request is decided by
 * libqas over the whole set (the admitted tasks in admission order plus the
 * newcomer), so a newcomer that would push an admitted task below its
 * quality or past its deadline is refused, naming that task.
 *
 * Priorities: the analysis runs at WORK_PRIO, below every reserved slice
 * (the mandatory and optional bands count down from --prio-top) and above
 * the tasks' best-effort priority, so deciding never takes time the
 * admitted tasks were promised. Only the short programming step runs at the
 * server's maximum priority: computing a start on the period grid and
 * handing it to the kernel must not be split by a preemption, or the start
 * could already lie in the past.
 */
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drops/admission.h"
#include "drops/services.h"
#include "qas.h"


#define MAX_TASKS 32u
#define HIST_MAX_BINS 4096u
#define RECV_SLOTS 64u
#define START_GUARD_NS 200000ull /* a start closer than this to now moves to the next grid point */

struct task {
    int used;
    unsigned client;       /* the component that admitted it (label) */
    uint64_t handle;
    abi_cap_t thread;      /* our slot of its thread */
    uint64_t seq;          /* admission order */
    struct qas_task t;     /* owns its specs */
    struct qas_task_result res;
    struct abi_rt_params params; /* what the kernel has */
    uint64_t start_ns;
};

static struct task tasks[MAX_TASKS];
static uint64_t next_handle = 1, next_seq = 1;
static struct qas_config cfg;
static unsigned work_prio = 100, max_prio;
/* What the system itself charges to a job (release, switch, the system
 * calls between the parts): added to every mandatory part, so its budget
 * covers it. Measured with tests/system/admission (README.md). */
static uint64_t job_overhead_ns = 20000;
static abi_cap_t self_thread = DROPS_CAP_THREAD_BASE; /* our main thread */
static uint64_t recv_used;                            /* bit per receive slot */

/* --- replies --- */

static unsigned reply_message(uint64_t status, uint64_t code, const char *msg)
{
    uint64_t *mr = utcb()->mr;
    mr[0] = status, mr[1] = code;
    char *d = (char *)&mr[2];
    size_t n = strlen(msg);
    if (n > 255) n = 255;
    memset(d, 0, 256);
    memcpy(d, msg, n);
    return 2 + (unsigned)((n + 8) / 8);
}

static abi_cap_t recv_slot_alloc(void)
{
    for (unsigned i = 0; i < RECV_SLOTS; i++)
        if (!(recv_used & (1ull << i))) return DROPS_CAP_RECV_BASE + i;
    return 0;
}

static void recv_slot_take(abi_cap_t s) { recv_used |= 1ull << (s - DROPS_CAP_RECV_BASE); }
static void recv_slot_drop(abi_cap_t s)
{
    sys_cap_delete(s);
    recv_used &= ~(1ull << (s - DROPS_CAP_RECV_BASE));
}

/* --- decoding a request into a qas_task --- */

static int name_ok(const char *n)
{
    size_t len = strnlen(n, 32);
    if (len == 0 || len > 31) return 0;
    for (size_t i = 0; i < len; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.'))
            return 0;
    }
    return 1;
}

/* The dataspace of histogram counts, attached while decoding. */
struct hist_src {
    uint64_t addr, size;
};

/* `shift` is added to every execution time (the mandatory part carries the
 * system's per-job overhead). */
static int decode_dist(const struct drops_adm_dist *d, double shift, const char *what, const char *dsname,
                       struct hist_src *hs, struct qas_spec *s, char *msg)
{
    struct qas_err e = {0};
    int rc;
    switch (d->kind) {
    case DROPS_ADM_CONST:
        rc = qas_spec_const(s, (double)d->a + shift, &e);
        break;
    case DROPS_ADM_UNIFORM:
        rc = qas_spec_uniform(s, (double)d->a + shift, (double)d->b + shift, &e);
        break;
    case DROPS_ADM_NORMAL:
        rc = qas_spec_normal(s, (double)d->a + shift, (double)d->b, (double)d->c + shift, (double)d->d + shift, &e);
        break;
    case DROPS_ADM_HIST: {
        uint64_t width = d->a, nbins = d->b, off = d->c;
        if (!width || !nbins || nbins > HIST_MAX_BINS) {
            snprintf(msg, 256, "%s: histogram needs a bin width > 0 and 1..%u bins (got width %lu ns, %lu bins)",
                     what, HIST_MAX_BINS, (unsigned long)width, (unsigned long)nbins);
            return -1;
        }
        if (!hs->addr) {
            if (!dsname[0]) {
                snprintf(msg, 256, "%s: histogram without a dataspace (the request names none)", what);
                return -1;
            }
            int64_t err = drops_mem_share(dsname, 0, &hs->addr, &hs->size);
            if (err) {
                snprintf(msg, 256, "%s: cannot attach dataspace '%.31s' (%s)", what, dsname, sys_error_name(err));
                hs->addr = 0;
                return -1;
            }
        }
        if (off % 8 || off > hs->size || nbins * 8 > hs->size - off) {
            snprintf(msg, 256, "%s: %lu counts at offset %lu do not lie inside dataspace '%.31s' (%lu bytes)", what,
                     (unsigned long)nbins, (unsigned long)off, dsname, (unsigned long)hs->size);
            return -1;
        }
        static double edge[HIST_MAX_BINS + 1], count[HIST_MAX_BINS];
        const volatile uint64_t *c = (const volatile uint64_t *)(hs->addr + off);
        for (uint64_t j = 0; j < nbins; j++) count[j] = (double)c[j]; /* read once: the client may change it */
        for (uint64_t j = 0; j <= nbins; j++) edge[j] = (double)(j * width) + shift;
        rc = qas_spec_hist_counts(s, edge, count, nbins, &e);
        break;
    }
    default:
        snprintf(msg, 256, "%s: unknown distribution kind %lu (1 const, 2 uniform, 3 normal, 4 histogram)", what,
                 (unsigned long)d->kind);
        return -1;
    }
    if (rc) {
        snprintf(msg, 256, "%.60s: %.190s", what, e.msg);
        return -1;
    }
    return 0;
}

static void task_free(struct qas_task *t)
{
    qas_spec_free(&t->mandatory);
    for (unsigned j = 0; j < QAS_MAX_OPTIONAL; j++) qas_spec_free(&t->optional[j]);
}

/* 0 and *t (owning its specs), or -1 with msg. */
static int decode_task(const uint64_t *words, unsigned nwords, struct qas_task *t, char *msg)
{
    struct drops_adm_task req;
    memset(&req, 0, sizeof req);
    memset(t, 0, sizeof *t);
    if (nwords < DROPS_ADM_TASK_WORDS(0)) {
        snprintf(msg, 256, "request too short: %u words, a task needs at least %u", nwords, DROPS_ADM_TASK_WORDS(0));
        return -1;
    }
    memcpy(&req, words, 8 * (nwords < sizeof req / 8 ? nwords : sizeof req / 8));
    req.name[31] = req.dataspace[31] = 0;
    if (!name_ok(req.name)) {
        snprintf(msg, 256, "task name must be 1..31 characters of a-z A-Z 0-9 _ - .");
        return -1;
    }
    if (req.noptional > DROPS_ADM_MAX_OPTIONAL) {
        snprintf(msg, 256, "task '%s': %lu optional parts, at most %u", req.name, (unsigned long)req.noptional,
                 DROPS_ADM_MAX_OPTIONAL);
        return -1;
    }
    if (nwords < DROPS_ADM_TASK_WORDS(req.noptional)) {
        snprintf(msg, 256, "task '%s': request too short for %lu optional parts (%u words)", req.name,
                 (unsigned long)req.noptional, nwords);
        return -1;
    }
    if (req.period_ns == 0) {
        snprintf(msg, 256, "task '%s': period must be > 0 ns", req.name);
        return -1;
    }
    memcpy(t->name, req.name, sizeof t->name);
    t->period_ns = req.period_ns;
    t->wcet_quantile = 1;
    t->noptional = (unsigned)req.noptional;
    for (unsigned j = 0; j < t->noptional; j++) {
        uint64_t q = req.quality_ppm[j];
        if (q == 0 || q > DROPS_ADM_PPM) {
            snprintf(msg, 256, "task '%s': quality of optional part %u must be in (0, 1000000] ppm, got %lu",
                     req.name, j + 1, (unsigned long)q);
            return -1;
        }
        t->quality[j] = (double)q / DROPS_ADM_PPM;
    }
    struct hist_src hs = {0, 0};
    int rc = 0;
    char what[64];
    for (unsigned j = 0; j <= t->noptional && !rc; j++) {
        if (j) snprintf(what, sizeof what, "task '%s' optional part %u", req.name, j);
        else snprintf(what, sizeof what, "task '%s' mandatory part", req.name);
        rc = decode_dist(&req.part[j], j ? 0 : (double)job_overhead_ns, what, req.dataspace, &hs,
                         j ? &t->optional[j - 1] : &t->mandatory, msg);
    }
    if (hs.addr) drops_mem_free(hs.addr, hs.size);
    struct qas_err e = {0};
    if (!rc && qas_task_validate(t, &e)) {
        snprintf(msg, 256, "%s", e.msg);
        rc = -1;
    }
    if (rc) task_free(t);
    return rc;
}

/* --- analysis and programming --- */

static uint64_t ppm(double x) { return x <= 0 ? 0 : x >= 1 ? DROPS_ADM_PPM : (uint64_t)(x * DROPS_ADM_PPM + 0.5); }

static void fill_grant(const struct task *k, struct drops_adm_grant *g)
{
    memset(g, 0, sizeof *g);
    g->handle = k->handle;
    g->period_ns = k->params.period_ns;
    g->start_ns = k->start_ns;
    g->nslices = k->params.nslices;
    g->be_prio = k->params.be_prio;
    for (unsigned s = 0; s < k->params.nslices && s <= DROPS_ADM_MAX_OPTIONAL; s++) {
        g->slice[s].budget_ns = k->params.slice[s].budget_ns;
        g->slice[s].prio = k->params.slice[s].prio;
        g->slice[s].predicted_ppm = ppm(k->res.part[s].predicted);
        g->slice[s].response_ns = k->res.part[s].response_ns;
    }
}

static int same_params(const struct abi_rt_params *a, const struct abi_rt_params *b)
{
    if (a->period_ns != b->period_ns || a->nslices != b->nslices || a->be_prio != b->be_prio) return 0;
    for (unsigned s = 0; s < a->nslices; s++)
        if (a->slice[s].budget_ns != b->slice[s].budget_ns || a->slice[s].prio != b->slice[s].prio) return 0;
    return 1;
}

/* Give k's thread its reservation, first release on its period's grid. */
static int64_t program(struct task *k, const struct abi_rt_params *p)
{
    struct abi_rt_params q = *p;
    uint64_t now = now_ns(), T = q.period_ns;
    q.start_ns = (now + START_GUARD_NS + T - 1) / T * T;
    int64_t e = sys_rt_control(DROPS_CAP_SCHED, ABI_RT_CONFIGURE, k->thread, (uint64_t)(uintptr_t)&q, 0).err;
    if (!e) {
        k->params = q;
        k->start_ns = q.start_ns;
    }
    return e;
}

/* The admitted tasks in admission order, then the candidate (if any). */
static size_t order_tasks(struct task **list, struct task *cand)
{
    size_t n = 0;
    for (unsigned i = 0; i < MAX_TASKS; i++)
        if (tasks[i].used && &tasks[i] != cand) list[n++] = &tasks[i];
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && list[j - 1]->seq > list[j]->seq; j--) {
            struct task *x = list[j];
            list[j] = list[j - 1];
            list[j - 1] = x;
        }
    if (cand) list[n++] = cand;
    return n;
}

static unsigned do_admit(unsigned client, uint64_t *mr, unsigned words, unsigned items)
{
    char msg[256];
    abi_cap_t thread = 0;
    if (items >= 1 && ABI_ITEM_TYPE(mr[words]) == ABI_ITEM_CAP) thread = (abi_cap_t)mr[words + 1];
    if (thread) recv_slot_take(thread);
    if (!thread) return reply_message(DROPS_ADM_INVALID, 0, "no thread capability: send it as a capability item");
    /* A thread we may control? (PREEMPTER with none: checks the slot and the right, changes nothing else.) */
    if (sys_rt_control(DROPS_CAP_SCHED, ABI_RT_PREEMPTER, thread, 0, 0).err) {
        recv_slot_drop(thread);
        return reply_message(DROPS_ADM_INVALID, 0, "the capability item is not a thread with the control right");
    }
    struct task *k = NULL;
    for (unsigned i = 0; i < MAX_TASKS && !k; i++)
        if (!tasks[i].used) k = &tasks[i];
    if (!k) {
        recv_slot_drop(thread);
        snprintf(msg, sizeof msg, "the server holds %u tasks already", MAX_TASKS);
        return reply_message(DROPS_ADM_FULL, 0, msg);
    }
    memset(k, 0, sizeof *k);
    if (decode_task(&mr[1], words - 1, &k->t, msg)) {
        recv_slot_drop(thread);
        return reply_message(DROPS_ADM_INVALID, 0, msg);
    }
    for (unsigned i = 0; i < MAX_TASKS; i++)
        if (tasks[i].used && !strcmp(tasks[i].t.name, k->t.name)) {
            snprintf(msg, sizeof msg, "a task '%s' is admitted already: names are unique", k->t.name);
            task_free(&k->t);
            recv_slot_drop(thread);
            return reply_message(DROPS_ADM_INVALID, 0, msg);
        }

    /* The decision: the whole set, timed. */
    uint64_t c0 = rdtsc(), t0 = now_ns();
    struct task *list[MAX_TASKS];
    size_t n = order_tasks(list, k);
    struct qas_taskset ts;
    qas_taskset_init(&ts);
    static struct qas_task_result res[MAX_TASKS];
    struct qas_verdict v;
    struct qas_err err = {0};
    int rc = QAS_OK;
    for (size_t i = 0; i < n && rc == QAS_OK; i++) rc = qas_taskset_add(&ts, &list[i]->t);
    if (rc == QAS_OK) rc = qas_analyse(&ts, &cfg, res, &v, &err);
    uint64_t dns = now_ns() - t0, dcy = rdtsc() - c0;
    qas_taskset_free(&ts);
    printf("decision for '%s' (%zu tasks): %s in %lu us (%lu cycles)\n", k->t.name, n,
           rc != QAS_OK ? "error" : v.admitted ? "admitted" : "refused", (unsigned long)(dns / 1000),
           (unsigned long)dcy);
    fflush(stdout);
    if (rc != QAS_OK) {
        snprintf(msg, sizeof msg, "task '%s': %.200s", k->t.name, rc == QAS_ENOMEM ? "out of memory" : err.msg);
        task_free(&k->t);
        recv_slot_drop(thread);
        return reply_message(DROPS_ADM_INVALID, 0, msg);
    }
    if (!v.admitted) {
        struct drops_adm_refusal f;
        memset(&f, 0, sizeof f);
        f.failure = v.failure == QAS_FAIL_DEADLINE ? DROPS_ADM_FAIL_DEADLINE : DROPS_ADM_FAIL_QUALITY;
        f.part = v.part;
        if (v.failure == QAS_FAIL_DEADLINE) {
            f.got = v.response_ns, f.want = v.deadline_ns;
        } else {
            double want = v.requested + cfg.margin;
            f.got = ppm(v.predicted), f.want = ppm(want > 1 ? 1 : want);
        }
        f.decision_ns = dns, f.decision_cycles = dcy;
        snprintf(f.task, sizeof f.task, "%s", list[v.task]->t.name);
        snprintf(f.reason, sizeof f.reason, "%s", v.reason);
        printf("refused '%s': %s\n", k->t.name, v.reason);
        fflush(stdout);
        task_free(&k->t);
        recv_slot_drop(thread);
        mr[0] = DROPS_ADM_REFUSED;
        memcpy(&mr[1], &f, sizeof f);
        return 1 + sizeof f / 8;
    }

    /* Admitted: program the newcomer and whoever the new set changes. */
    k->used = 1;
    k->client = client;
    k->thread = thread;
    k->handle = next_handle++;
    k->seq = next_seq++;
    sys_thread_sched(self_thread, max_prio, max_prio);
    int64_t e = 0;
    unsigned reprogrammed = 0;
    for (size_t i = 0; i < n; i++) {
        struct task *x = list[i];
        x->res = res[i];
        if (x == k) {
            e = program(x, &res[i].params);
        } else if (!same_params(&x->params, &res[i].params)) {
            int64_t ex = program(x, &res[i].params);
            if (ex) printf("re-programming '%s' failed: %s\n", x->t.name, sys_error_name(ex));
            reprogrammed++;
        }
    }
    sys_thread_sched(self_thread, work_prio, max_prio);
    if (e) {
        k->used = 0;
        task_free(&k->t);
        recv_slot_drop(thread);
        snprintf(msg, sizeof msg, "the kernel refused the reservation of '%.31s': %s", k->t.name, sys_error_name(e));
        return reply_message(DROPS_ADM_KERNEL, (uint64_t)e, msg);
    }
    printf("admitted '%s' as %lu: period %lu us, start %lu us, %u slices, %u others re-programmed\n", k->t.name,
           (unsigned long)k->handle, (unsigned long)(k->params.period_ns / 1000),
           (unsigned long)(k->start_ns / 1000), k->params.nslices, reprogrammed);
    fflush(stdout);
    struct drops_adm_grant g;
    fill_grant(k, &g);
    g.decision_ns = dns, g.decision_cycles = dcy;
    g.resolution_ns = v.resolution_ns;
    mr[0] = DROPS_ADM_OK;
    memcpy(&mr[1], &g, sizeof g);
    return 1 + sizeof g / 8;
}

static unsigned do_release(unsigned client, uint64_t *mr, unsigned words)
{
    struct task *k = NULL;
    for (unsigned i = 0; i < MAX_TASKS && !k; i++)
        if (tasks[i].used && words >= 2 && tasks[i].handle == mr[1]) k = &tasks[i];
    if (!k) return reply_message(DROPS_ADM_UNKNOWN, 0, "no admitted task has this handle");
    if (k->client != client) return reply_message(DROPS_ADM_NOT_OWNER, 0, "the task was admitted by another component");
    sys_rt_control(DROPS_CAP_SCHED, ABI_RT_DISABLE, k->thread, 0, 0);
    printf("released '%s'\n", k->t.name);
    fflush(stdout);
    recv_slot_drop(k->thread);
    task_free(&k->t);
    k->used = 0;
    /* The others keep their reservations: the set got smaller, so every
     * prediction still holds; the next admission re-sizes them all. */
    mr[0] = DROPS_ADM_OK;
    return 1;
}

static unsigned do_query(uint64_t *mr, unsigned words)
{
    char name[32];
    memset(name, 0, sizeof name);
    if (words >= 5) memcpy(name, &mr[1], 31);
    for (unsigned i = 0; i < MAX_TASKS; i++)
        if (tasks[i].used && !strcmp(tasks[i].t.name, name)) {
            struct drops_adm_grant g;
            fill_grant(&tasks[i], &g);
            mr[0] = DROPS_ADM_OK;
            memcpy(&mr[1], &g, sizeof g);
            return 1 + sizeof g / 8;
        }
    return reply_message(DROPS_ADM_UNKNOWN, 0, "no admitted task of this name");
}

static void usage(void)
{
    printf("usage: admission [--prio-top=P] [--be-prio=P] [--work-prio=P] [--margin=M] [--resolution-ns=N]\n"
           "                 [--job-overhead-ns=N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    qas_config_default(&cfg);
    cfg.prio_top = 230;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "--prio-top=", 11)) cfg.prio_top = (uint8_t)atoi(a + 11);
        else if (!strncmp(a, "--be-prio=", 10)) cfg.be_prio = (uint8_t)atoi(a + 10);
        else if (!strncmp(a, "--work-prio=", 12)) work_prio = (unsigned)atoi(a + 12);
        else if (!strncmp(a, "--margin=", 9)) cfg.margin = atof(a + 9);
        else if (!strncmp(a, "--resolution-ns=", 16)) cfg.resolution_ns = strtoull(a + 16, NULL, 10);
        else if (!strncmp(a, "--job-overhead-ns=", 18)) job_overhead_ns = strtoull(a + 18, NULL, 10);
        else usage();
    }
    /* Our maximum priority is the scenario's: the root gave the main thread
     * (priority, maximum) = (p, p). Slices above it would be refused. */
    max_prio = 0;
    for (unsigned p = 255; p > 0 && !max_prio; p--)
        if (!sys_thread_sched(self_thread, p, p).err) max_prio = p;
    if (cfg.prio_top >= max_prio || work_prio >= max_prio || work_prio <= cfg.be_prio) {
        printf("admission: priorities must satisfy be-prio %u < work-prio %u, prio-top %u < our maximum %u\n",
               cfg.be_prio, work_prio, cfg.prio_top, max_prio);
        return 2;
    }
    sys_thread_sched(self_thread, work_prio, max_prio);
    printf("admission: serving; slices from priority %u down, best effort %u, margin %.3f, analysis at %u, "
           "job overhead %lu ns\n", cfg.prio_top, cfg.be_prio, cfg.margin, work_prio, (unsigned long)job_overhead_ns);
    fflush(stdout);

    struct sys_ret r;
    unsigned out = 0;
    int reply = 0;
    for (;;) {
        struct abi_utcb *u = utcb();
        abi_cap_t slot = recv_slot_alloc();
        u->br[ABI_BR_CAP_BASE] = slot;
        u->br[ABI_BR_CAP_COUNT] = slot ? 1 : 0;
        r = reply ? ipc_reply_wait(ABI_TAG(DROPS_PROTO_ADMISSION, out, 0), ABI_TIMEOUT_NEVER)
                  : ipc_wait(ABI_TIMEOUT_NEVER);
        reply = 0;
        if (r.err) continue;
        uint64_t *mr = utcb()->mr;
        unsigned words = ABI_TAG_WORDS(r.v0), items = ABI_TAG_ITEMS(r.v0);
        unsigned client = DROPS_LABEL_CLIENT(r.v1);
        /* A capability we did not ask for (other operations) goes again. */
        abi_cap_t got = items && ABI_ITEM_TYPE(mr[words]) == ABI_ITEM_CAP ? (abi_cap_t)mr[words + 1] : 0;
        if (ABI_TAG_PROTO(r.v0) != DROPS_PROTO_ADMISSION || words < 1) {
            if (got) sys_cap_delete(got);
            out = reply_message(DROPS_ADM_INVALID, 0, "not the admission protocol");
        } else if (mr[0] == DROPS_ADM_ADMIT) {
            out = do_admit(client, mr, words, items);
        } else {
            if (got) sys_cap_delete(got);
            if (mr[0] == DROPS_ADM_RELEASE) out = do_release(client, mr, words);
            else if (mr[0] == DROPS_ADM_QUERY) out = do_query(mr, words);
            else out = reply_message(DROPS_ADM_INVALID, 0, "unknown operation");
        }
        reply = 1;
    }
}
