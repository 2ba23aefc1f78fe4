/*
 * The root's services on its main thread: log, memory, files, threads and
 * parent, one open wait for all of them. The label of the gate a request
 * came through says which service and which component (DROPS_LABEL): a
 * component only has the gates its scenario routes to it, and an operation
 * is accepted only on the gate of its own service.
 *
 * The main thread also notices when the scenario is over: every component
 * that provides nothing has ended. It then stops the servers, prints the
 * summary and stops the machine with the scenario's status.
 */
#include "root.h"

#define POLL_NS 20000000ull /* how often the main thread looks at the components */

/* --- output --- */

void comp_log_flush(struct comp *c)
{
    if (!c->line_len) return;
    c->line[c->line_len] = 0;
    printf("[%s] %s\n", c->scn->name, c->line);
    c->line_len = 0;
}

void comp_log(struct comp *c, const char *text, uint64_t len)
{
    for (uint64_t i = 0; i < len; i++) {
        char ch = text[i];
        if (ch == '\n') {
            if (!c->line_len) printf("[%s]\n", c->scn->name);
            else comp_log_flush(c);
            continue;
        }
        /* Control characters would let a component forge other lines. */
        if ((unsigned char)ch < 0x20 && ch != '\t') ch = '?';
        if (c->line_len == sizeof c->line - 1) comp_log_flush(c);
        c->line[c->line_len++] = ch;
    }
}

/* --- requests --- */

static void get_name(const uint64_t *mr, char *name)
{
    memcpy(name, mr, DROPS_NAME_WORDS * 8);
    name[DROPS_NAME_WORDS * 8 - 1] = 0;
}

/* One request from component c on service svc; returns the reply's words. */
static unsigned serve(struct comp *c, unsigned svc, uint64_t *mr, unsigned words)
{
    char name[DROPS_NAME_WORDS * 8];
    uint64_t op = words ? mr[0] : 0;
    int64_t e = ABI_E_INVALID_ARG;
    unsigned out = 1;
    switch (svc) {
    case SVC_LOG:
        if (op == DROPS_LOG_WRITE && words >= 2 && mr[1] <= DROPS_LOG_MAX && (mr[1] + 7) / 8 <= words - 2) {
            comp_log(c, (const char *)&mr[2], mr[1]);
            comp_log_flush(c);
            e = 0;
        }
        break;
    case SVC_MEMORY:
        if (op == DROPS_MEM_ALLOC && words >= 3) {
            unsigned rights = ABI_MAP_R | ABI_MAP_W | (mr[2] & ABI_MAP_X);
            e = comp_map_anon(c, 0, mr[1], rights, &mr[1]);
            out = e ? 1 : 2;
        } else if (op == DROPS_MEM_FREE && words >= 3) {
            e = comp_unmap(c, mr[1], mr[2]);
        } else if (op == DROPS_MEM_SHARE && words >= 2 + DROPS_NAME_WORDS) {
            get_name(&mr[2], name);
            e = comp_share(c, name, mr[1], &mr[1], &mr[2]);
            out = e ? 1 : 3;
        } else if (op == DROPS_MEM_INFO) {
            mr[1] = c->quota, mr[2] = c->used;
            e = 0, out = 3;
        }
        break;
    case SVC_FILES:
        if (op == DROPS_FILE_MAP && words >= 1 + DROPS_NAME_WORDS) {
            get_name(&mr[1], name);
            e = comp_map_file(c, name, &mr[1], &mr[2]);
            out = e ? 1 : 3;
        }
        break;
    case SVC_THREADS:
        if (op == DROPS_THREAD_CREATE && words >= 5) {
            /* Never above the component's own priority. */
            if (mr[3] > c->scn->priority) {
                e = ABI_E_PRIORITY;
                break;
            }
            struct abi_exc_state start;
            memset(&start, 0, sizeof start);
            start.rip = mr[1], start.rsp = mr[2], start.rdi = mr[4], start.rflags = 0x202;
            /* It shares the main thread's libc thread state (errno):
             * native threads are for real-time loops, pthreads for libc. */
            start.fs_base = c->threads[0].fs_base;
            e = 0;
            struct cthread *ct = cthread_create(c, &start, (unsigned)mr[3], &e);
            if (ct && cthread_start(ct)) e = ABI_E_NO_MEMORY;
            if (ct && !e) mr[1] = ct->tid, mr[2] = ct->index, out = 3;
        }
        break;
    case SVC_LOADER:
        if (op == DROPS_LOADER_START && words >= 5 + DROPS_NAME_WORDS) {
            e = loader_start(c, mr, &mr[1]);
            out = e ? 1 : 2;
        } else if (op == DROPS_LOADER_STOP && words >= 2) {
            e = loader_stop(c, mr[1]);
        }
        break;
    case SVC_PARENT:
        if (op == DROPS_PARENT_STATUS && words >= 1 + DROPS_NAME_WORDS) {
            get_name(&mr[1], name);
            int i = scenario_find(&scenario, name);
            /* Children by name too (the latest of that name). */
            for (unsigned k = ncomps_scenario; i < 0 && k < ncomps; k++)
                if (comps[k].scn && !strcmp(comps[k].scn->name, name)) i = (int)k;
            if (i < 0) break;
            const struct comp *o = &comps[i];
            static const uint64_t state[] = {[COMP_LOADING] = DROPS_COMP_RUNNING, [COMP_RUNNING] = DROPS_COMP_RUNNING,
                                             [COMP_EXITED] = DROPS_COMP_EXITED, [COMP_FAULTED] = DROPS_COMP_FAULTED,
                                             [COMP_STOPPED] = DROPS_COMP_EXITED};
            mr[1] = state[o->state], mr[2] = o->exit_status;
            mr[3] = o->fault_vector, mr[4] = o->fault_addr, mr[5] = o->fault_ip;
            e = 0, out = 6;
        }
        break;
    }
    mr[0] = (uint64_t)e;
    return out;
}

/* --- the end of the scenario --- */

static int over(void)
{
    for (unsigned i = 0; i < ncomps_scenario; i++)
        if (!comps[i].scn->nprovides && comps[i].state == COMP_RUNNING) return 0;
    return 1;
}

static _Noreturn void finish(void)
{
    /* Servers have nobody left to serve. */
    for (unsigned i = 0; i < ncomps; i++)
        if (comps[i].state == COMP_RUNNING) {
            comp_end(&comps[i], COMP_STOPPED, 0);
        }
    int status = 0;
    say("summary:\n");
    for (unsigned i = 0; i < ncomps_scenario; i++) {
        const struct comp *c = &comps[i];
        if (c->load_error) {
            say("  %-12s not started: %s\n", c->scn->name, c->load_error);
            if (!status) status = 4;
        } else if (c->state == COMP_FAULTED) {
            say("  %-12s faulted (vector %lu at ip 0x%lx, address 0x%lx)%s\n", c->scn->name, c->fault_vector,
                c->fault_ip, c->fault_addr, c->scn->expect_fault ? ", as expected" : "");
            if (!c->scn->expect_fault && !status) status = 3;
        } else if (c->state == COMP_STOPPED) {
            say("  %-12s server, stopped at the end\n", c->scn->name);
        } else {
            say("  %-12s exited %lu\n", c->scn->name, c->exit_status);
            if (c->exit_status && !status) status = (int)c->exit_status;
            if (c->scn->expect_fault && !status) status = 3;
        }
    }
    say("%lu KiB free, scenario status %d\n", frames_free_count() * PAGE >> 10, status);
    machine_exit(status);
}

void services_loop(void)
{
    int reply = 0;
    unsigned words = 0;
    for (;;) {
        struct sys_ret r = reply ? ipc_reply_wait(ABI_TAG(DROPS_PROTO_ROOT, words, 0), POLL_NS) : ipc_wait(POLL_NS);
        reply = 0;
        lock();
        if (over()) finish();
        if (r.err || ABI_TAG_PROTO(r.v0) != DROPS_PROTO_ROOT) {
            unlock();
            continue;
        }
        unsigned svc = DROPS_LABEL_SERVICE(r.v1), client = DROPS_LABEL_CLIENT(r.v1);
        if (client >= ncomps || comps[client].state != COMP_RUNNING) {
            unlock();
            continue;
        }
        words = serve(&comps[client], svc, utcb()->mr, ABI_TAG_WORDS(r.v0));
        reply = 1;
        unlock();
    }
}
