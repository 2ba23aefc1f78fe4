/*
 * TAP for components (musl-linked programs): like drops/tap.h, but printing
 * through stdio, and ending with exit(). The root prints each line as
 * "[name] ok 1 - ...", and tools/qemu-tap.sh reads the TAP behind the
 * prefix and adds up the plans of all components.
 */
#ifndef DROPS_CTAP_H
#define DROPS_CTAP_H

#include <stdio.h>
#include <stdlib.h>

static int ctap_count, ctap_failed;

#define ok(cond, ...)                                                              \
    ({                                                                             \
        int ctap_c_ = !!(cond);                                                    \
        ctap_count++;                                                              \
        if (!ctap_c_) ctap_failed++;                                               \
        printf("%sok %d - ", ctap_c_ ? "" : "not ", ctap_count);                   \
        printf(__VA_ARGS__);                                                       \
        printf("\n");                                                              \
        if (!ctap_c_) printf("# failed at %s:%d\n", __FILE__, __LINE__);           \
        fflush(stdout);                                                            \
        ctap_c_;                                                                   \
    })

#define is(got, want, ...)                                                          \
    ({                                                                              \
        long long ctap_g_ = (long long)(got), ctap_w_ = (long long)(want);          \
        int ctap_r_ = ok(ctap_g_ == ctap_w_, __VA_ARGS__);                          \
        if (!ctap_r_) printf("#   got %lld, expected %lld\n", ctap_g_, ctap_w_);    \
        ctap_r_;                                                                    \
    })

/* Print the plan and exit: status 0 when everything passed. */
static inline _Noreturn void ctap_done(void)
{
    printf("1..%d\n", ctap_count);
    fflush(stdout);
    exit(ctap_failed ? 1 : 0);
}

#endif
