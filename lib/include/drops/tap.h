/*
 * TAP from inside the system: system tests print ok/not ok lines on the
 * console, and tools/qemu-tap.sh hands them to prove.
 */
#ifndef DROPS_TAP_H
#define DROPS_TAP_H

#include "drops/console.h"

extern int tap_count, tap_failed;

#define ok(cond, ...)                                                            \
    ({                                                                           \
        int tap_c_ = !!(cond);                                                   \
        tap_report(tap_c_, __FILE__, __LINE__);                                  \
        printf(__VA_ARGS__);                                                     \
        printf("\n");                                                            \
        tap_c_;                                                                  \
    })

#define is(got, want, ...)                                                        \
    ({                                                                            \
        long long tap_g_ = (long long)(got), tap_w_ = (long long)(want);          \
        int tap_r_ = ok(tap_g_ == tap_w_, __VA_ARGS__);                           \
        if (!tap_r_) printf("#   got %lld, expected %lld\n", tap_g_, tap_w_);     \
        tap_r_;                                                                   \
    })

void tap_report(int passed, const char *file, int line);
/* Print the plan and end the machine: status 0 when everything passed. */
_Noreturn void tap_done(void);

#endif
