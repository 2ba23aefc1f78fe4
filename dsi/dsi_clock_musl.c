/* now_ns() for components (lib/include/drops/sys.h): musl programs do not
 * link lib/console.c, where the freestanding programs get it. Its own object
 * in the musl libdsi.a, so a component that defines it itself still links. */
#include "drops/sys.h"

uint64_t clock_mult;
uint64_t clock_mult_init(void) { return clock_mult = (1000000ull << 32) / kip()->tsc_khz; }
