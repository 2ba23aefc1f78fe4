/*
 * A minimal TAP producer for host unit tests: plan, ok, is, done.
 * Each test program prints "1..N" at the end (done_testing style), so tests
 * need not count their assertions in advance.
 */
#ifndef TESTS_HOST_TAP_H
#define TESTS_HOST_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_count, tap_failed;

#define ok(cond, ...)                                                                  \
    do {                                                                               \
        int tap_c_ = !!(cond);                                                         \
        tap_count++;                                                                   \
        if (!tap_c_) tap_failed++;                                                     \
        printf("%sok %d - ", tap_c_ ? "" : "not ", tap_count);                         \
        printf(__VA_ARGS__);                                                           \
        printf("\n");                                                                  \
        if (!tap_c_) printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
    } while (0)

#define is(got, want, ...)                                                             \
    do {                                                                               \
        long long tap_g_ = (long long)(got), tap_w_ = (long long)(want);               \
        ok(tap_g_ == tap_w_, __VA_ARGS__);                                             \
        if (tap_g_ != tap_w_) printf("#   got %lld, want %lld\n", tap_g_, tap_w_);     \
    } while (0)

static inline int done_testing(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif
