/*
 * Response-time analysis by fixpoint iteration (see qas_rta.h). The iterates
 * grow monotonically, so the loop ends at the fixpoint or as soon as an
 * iterate passes the limit; sums saturate instead of wrapping.
 */
#include "qas_rta.h"

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    if (a && b > UINT64_MAX / a) return UINT64_MAX;
    return a * b;
}

int qas_rta(uint64_t c_ns, uint64_t b_ns, const struct qas_rta_load *hp, size_t n, uint64_t limit_ns,
            uint64_t *r_ns)
{
    uint64_t r = sat_add(c_ns, b_ns);
    for (size_t k = 0; k < n; k++) r = sat_add(r, hp[k].c_ns);
    for (;;) {
        if (r > limit_ns) {
            *r_ns = r;
            return 0;
        }
        uint64_t next = sat_add(c_ns, b_ns);
        for (size_t k = 0; k < n; k++) {
            uint64_t jobs = hp[k].t_ns ? (r + hp[k].t_ns - 1) / hp[k].t_ns : 1;
            next = sat_add(next, sat_mul(jobs, hp[k].c_ns));
        }
        if (next == r) {
            *r_ns = r;
            return 1;
        }
        r = next;
    }
}
