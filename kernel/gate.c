/* IPC gates (see gate.h). */
#include "gate.h"
#include "thread.h"

struct gate *gate_create(struct factory *f, struct thread *t, uint64_t label)
{
    struct gate *g = obj_alloc(f, sizeof *g, ABI_OBJ_GATE);
    if (!g) return NULL;
    g->thread = t;
    g->label = label;
    g->next = t->gates;
    t->gates = g;
    return g;
}

void gate_unbind(struct gate *g)
{
    struct thread *t = g->thread;
    if (!t) return;
    for (struct gate **p = &t->gates; *p; p = &(*p)->next)
        if (*p == g) {
            *p = g->next;
            break;
        }
    g->thread = NULL;
    g->next = NULL;
}

void gate_destroy(struct gate *g) { gate_unbind(g); }
