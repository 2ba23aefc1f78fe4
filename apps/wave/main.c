/*
 * wave: a signal source. It creates the shared dataspace "wave", publishes
 * the signal's parameters in the key-value store (route `kv`), and writes
 * WAVE_TOTAL frames of a two-tone signal into the ring, waiting whenever
 * the analyzer is a whole ring behind.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../kvstore/kv.h"
#include "drops/services.h"
#include "wave.h"

int main(void)
{
    const char *kv_env = getenv("DROPS_CAP_kv");
    abi_cap_t kv = kv_env ? (abi_cap_t)atoi(kv_env) : 0;
    uint64_t addr, size;
    if (drops_mem_share("wave", sizeof(struct wave_shared), &addr, &size)) {
        printf("wave: cannot create the dataspace 'wave'\n");
        return 1;
    }
    struct wave_shared *w = (struct wave_shared *)addr;
    /* Two tones: 440 Hz at amplitude 1.0 and 1250 Hz at 0.5. */
    const uint64_t params[4] = {440, 1000, 1250, 500}; /* Hz, milli-amplitude */
    if (kv_put(kv, "tones", params, 4)) {
        printf("wave: cannot publish in kv\n");
        return 1;
    }
    printf("wave: dataspace 'wave' (%lu KiB), tones 440 Hz and 1250 Hz published in kv\n", (unsigned long)(size >> 10));
    fflush(stdout);
    unsigned waits = 0;
    for (uint64_t f = 0; f < WAVE_TOTAL; f++) {
        while (w->written - w->read == WAVE_FRAMES) {
            struct timespec d = {0, 1000000};
            nanosleep(&d, NULL);
            waits++;
        }
        float *out = w->frame[f % WAVE_FRAMES];
        for (unsigned i = 0; i < WAVE_FRAME; i++) {
            double t = (double)(f * WAVE_FRAME + i) / WAVE_RATE;
            out[i] = (float)(sin(2 * M_PI * 440 * t) + 0.5 * sin(2 * M_PI * 1250 * t));
        }
        __atomic_store_n(&w->written, f + 1, __ATOMIC_RELEASE);
        if (f % 8 == 7) {
            printf("wave: %lu frames written (%u waits for the reader)\n", (unsigned long)(f + 1), waits);
            fflush(stdout);
        }
    }
    return 0;
}
