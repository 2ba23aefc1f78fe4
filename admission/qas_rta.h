/*
 * Fixed-priority response-time analysis (Joseph & Pandya; Audsley, Burns et
 * al.): a part with demand C and blocking B, released together with every
 * higher-priority part k (the critical instant), finishes by the smallest
 * fixpoint of
 *
 *     r = C + B + sum_k ceil(r / T_k) * C_k
 *
 * found by iterating from r = C + B + sum_k C_k. Integer nanoseconds, so the
 * textbook examples come out exactly.
 */
#ifndef ADMISSION_QAS_RTA_H
#define ADMISSION_QAS_RTA_H

#include <stddef.h>
#include <stdint.h>

/* One interfering part: demand per job and period. */
struct qas_rta_load {
    uint64_t c_ns;
    uint64_t t_ns;
};

/*
 * Response time of demand c_ns with blocking b_ns under the n loads hp[].
 * Returns 1 with *r_ns the fixpoint when it is <= limit_ns, 0 otherwise with
 * *r_ns the first iterate above limit_ns (a lower bound of the true response
 * time, which may be unbounded when the load exceeds the processor).
 */
int qas_rta(uint64_t c_ns, uint64_t b_ns, const struct qas_rta_load *hp, size_t n, uint64_t limit_ns,
            uint64_t *r_ns);

#endif
