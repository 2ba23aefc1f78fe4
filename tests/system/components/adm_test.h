/*
 * Shared between the admission system test's components (adm_ctl.c and
 * adm_wl.c): the page they meet in (dataspace "adm-test") and the phases
 * the controller steps through.
 */
#ifndef ADM_TEST_H
#define ADM_TEST_H

#include <stdint.h>

#define ADM_TEST_DS "adm-test"
#define ADM_TEST_DS_SIZE 4096u
#define ADM_TEST_WORKLOADS 4u

enum adm_phase {
    PH_SETUP = 0,      /* workloads 0 and 1 admit themselves */
    PH_TWO = 1,        /* measured: two tasks */
    PH_CHANGE = 2,     /* refusals (not measured) */
    PH_JOIN = 3,       /* workload 2 is admitted, the others re-sized (not measured) */
    PH_THREE = 4,      /* measured: three tasks */
    PH_END = 5,        /* workloads stop, release, report */
    PH_COUNT = 6,
};

enum adm_wl_state { WL_INIT = 0, WL_ADMITTED = 1, WL_REFUSED = 2, WL_DONE = 3 };

struct adm_wl_stats {
    uint64_t jobs;       /* jobs released in this phase */
    uint64_t opt_done;   /* optional part completed within its slice and period */
    uint64_t mand_miss;  /* mandatory part not done by the deadline */
    uint64_t mand_over;  /* mandatory part ran past its budget into slice 1 */
    uint64_t spun_ns, drawn_ns;    /* mandatory parts: time the spins took, and their drawn
                                      times (for the top-priority task the difference is
                                      what interrupts and non-real-time threads took) */
};

struct adm_shared {
    volatile uint32_t phase;
    uint32_t pad;
    struct {
        volatile uint32_t state;
        uint32_t q_ppm;
        uint64_t handle;
        char name[32];
        struct adm_wl_stats st[PH_COUNT];
    } wl[ADM_TEST_WORKLOADS];
};

_Static_assert(sizeof(struct adm_shared) <= ADM_TEST_DS_SIZE, "adm test page");

#endif
