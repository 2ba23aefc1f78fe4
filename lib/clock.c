/* The clock factor behind now_ns() (drops/sys.h): computed once from the
 * KIP. In the native runtime and in the musl build of lib/ for components. */
#include "drops/sys.h"

uint64_t clock_mult;

uint64_t clock_mult_init(void) { return clock_mult = (1000000ull << 32) / kip()->tsc_khz; }
