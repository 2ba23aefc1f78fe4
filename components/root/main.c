/*
 * The root task: owns all memory and capabilities at boot, reads the
 * scenario (boot module 1) with the same parser `make check` ran on the
 * host, and starts it.
 *
 * Order of the start: every component's task, image and first thread are
 * made first, then the routes (gates bound to provider threads, handed to
 * their users), then all threads start in scenario order. So a client never
 * calls a provider that does not exist yet; a provider that has not reached
 * its wait yet just makes the client's call wait a little.
 */
#include "root.h"

struct comp comps[SCN_COMPONENTS_MAX];
unsigned ncomps, ncomps_scenario;
struct scenario scenario;

/* --- boot modules (module 0 is the root, 1 the scenario) --- */

static struct module modules[ABI_KIP_MODULE_MAX];

/* The word `n` (0-based) of a module command line, into out. */
static int cmd_word(const char *cmd, unsigned n, char *out, unsigned size)
{
    unsigned i = 0;
    for (unsigned w = 0;; w++) {
        while (cmd[i] == ' ') i++;
        if (!cmd[i]) return 0;
        unsigned start = i;
        while (cmd[i] && cmd[i] != ' ') i++;
        if (w == n) {
            unsigned len = i - start < size - 1 ? i - start : size - 1;
            memcpy(out, cmd + start, len);
            out[len] = 0;
            return 1;
        }
    }
}

const struct module *module_program(const char *program)
{
    const struct abi_kip *k = kip();
    char path[ABI_KIP_CMDLINE_MAX], want[SCN_NAME_MAX + 8];
    snprintf(want, sizeof want, "%s.elf", program);
    for (unsigned i = 2; i < k->module_count; i++) {
        if (!cmd_word(k->module[i].cmdline, 0, path, sizeof path)) continue;
        const char *base = path;
        for (const char *p = path; *p; p++)
            if (*p == '/') base = p + 1;
        if (!strcmp(base, want)) return &modules[i];
    }
    return NULL;
}

const struct module *module_file(const char *name)
{
    const struct abi_kip *k = kip();
    char word[SCN_NAME_MAX];
    for (unsigned i = 2; i < k->module_count; i++)
        if (cmd_word(k->module[i].cmdline, 1, word, sizeof word) && !strcmp(word, name)) return &modules[i];
    return NULL;
}

/* --- capability slots the root reuses (spawn.c's bump allocator keeps the
 * slots below ROOT_SLOTS_FIRST for the root's own threads) --- */

#define ROOT_SLOTS_FIRST 1024u
static uint64_t slot_used[(ABI_ROOT_CAP_SLOTS - ROOT_SLOTS_FIRST + 63) / 64];

abi_cap_t slot_alloc(void)
{
    for (unsigned w = 0; w < sizeof slot_used / 8; w++) {
        if (slot_used[w] == ~0ull) continue;
        unsigned b = (unsigned)__builtin_ctzll(~slot_used[w]);
        slot_used[w] |= 1ull << b;
        return ROOT_SLOTS_FIRST + w * 64 + b;
    }
    return ABI_CAP_NULL; /* every call on slot 0 fails cleanly */
}

void slot_free(abi_cap_t slot)
{
    if (slot < ROOT_SLOTS_FIRST || slot >= ABI_ROOT_CAP_SLOTS) return;
    slot -= ROOT_SLOTS_FIRST;
    slot_used[slot / 64] &= ~(1ull << (slot % 64));
}

/* --- starting the scenario --- */

int64_t comp_give_gate(struct comp *c, abi_cap_t thread, uint64_t label, unsigned slot, abi_cap_t *original)
{
    abi_cap_t g = slot_alloc();
    int64_t e = sys_factory_create(c->factory, ABI_OBJ_GATE, g, thread, label).err;
    if (!e) e = sys_cap_copy(c->task, g, slot, ABI_R_SEND).err;
    if (original) *original = g;
    return e;
}

static const char *root_service(const char *name, unsigned *svc)
{
    static const char *const names[] = {[SVC_LOG] = "log",         [SVC_MEMORY] = "memory", [SVC_FILES] = "files",
                                        [SVC_THREADS] = "threads", [SVC_PARENT] = "",       [SVC_LOADER] = "loader"};
    for (unsigned i = SVC_LOG; i <= SVC_LOADER; i++)
        if (!strcmp(names[i], name)) {
            *svc = i;
            return names[i];
        }
    return NULL;
}

int main(void)
{
    backend_init();
    frames_init();
    const struct abi_kip *k = kip();
    for (unsigned i = 0; i < k->module_count; i++)
        modules[i] = (struct module){pwin(k->module[i].phys), k->module[i].size, k->module[i].phys};
    if (k->module_count < 2) {
        say("no scenario: boot module 1 must be the scenario file\n");
        return 2;
    }
    char name[ABI_KIP_CMDLINE_MAX];
    cmd_word(k->module[1].cmdline, 0, name, sizeof name);
    struct scn_error err;
    if (scenario_parse((const char *)modules[1].data, modules[1].size, &scenario, &err)) {
        say("%s:%u: %s\n", name, err.line, err.message);
        return 2;
    }
    if (scenario.form != SCN_FORM_COMPONENTS) {
        say("%s: not a component scenario\n", name);
        return 2;
    }
    say("scenario %s: %u components, %lu MiB free\n", name, scenario.ncomponents, frames_free_count() * PAGE >> 20);

    ncomps = ncomps_scenario = scenario.ncomponents;
    lock();
    for (unsigned i = 0; i < ncomps; i++) {
        struct comp *c = &comps[i];
        const struct scn_component *s = &scenario.components[i];
        c->load_error = comp_create(c, s, i, -1, s->quota, module_program(s->program));
        if (c->load_error) {
            say("component '%s': cannot start program '%s': %s\n", c->scn->name, c->scn->program, c->load_error);
            comp_end(c, COMP_FAULTED, 0);
        }
    }
    /* Routes: root services and the parent gate, then component services.
     * The root keeps the gates' originals: they die with the scenario. */
    for (unsigned i = 0; i < ncomps; i++) {
        struct comp *c = &comps[i];
        if (c->load_error) continue;
        int64_t e = comp_give_gate(c, ABI_CAP_SELF_THREAD, DROPS_LABEL(SVC_PARENT, i), DROPS_CAP_PARENT, NULL);
        for (unsigned u = 0; u < c->scn->nuses && !e; u++) {
            const struct scn_use *use = &c->scn->uses[u];
            unsigned svc;
            if (use->provider == SCN_PROVIDER_ROOT) {
                /* sched: the kernel's capability itself, not a root service. */
                if (!strcmp(use->service, "sched"))
                    e = sys_cap_copy(c->task, ABI_CAP_SCHED_CONTROL, DROPS_CAP_SCHED, ABI_R_ALL).err;
                else if (root_service(use->service, &svc))
                    e = comp_give_gate(c, ABI_CAP_SELF_THREAD, DROPS_LABEL(svc, i), DROPS_CAP_LOG + svc - SVC_LOG, NULL);
                continue;
            }
            struct comp *p = &comps[use->provider];
            if (p->load_error) continue; /* the client finds a dead route */
            unsigned index = 0;
            while (index < p->scn->nprovides && strcmp(p->scn->provides[index], use->service)) index++;
            e = comp_give_gate(c, p->threads[0].thread, DROPS_LABEL(index, i), DROPS_CAP_ROUTES + u, NULL);
        }
        if (e) {
            c->load_error = "cannot set up its routes";
            comp_end(c, COMP_FAULTED, 0);
        }
    }
    for (unsigned i = 0; i < ncomps; i++) {
        struct comp *c = &comps[i];
        if (c->load_error) continue;
        c->state = COMP_RUNNING;
        if (cthread_start(&c->threads[0])) {
            c->load_error = "cannot start its thread";
            comp_end(c, COMP_FAULTED, 0);
        }
    }
    /* Boot timing from the KIP's TSC stamps: kernel entry, first root
     * instruction, every component's first thread started. */
    uint64_t khz = k->tsc_khz ? k->tsc_khz : 1, ready = rdtsc();
    say("boot: kernel_to_root_us=%lu root_to_scenario_ready_us=%lu\n", (k->root_start_tsc - k->boot_tsc) * 1000 / khz,
        (ready - k->root_start_tsc) * 1000 / khz);
    unlock();
    services_loop();
    return 0;
}
