/*
 * analyzer: reads the frames `wave` writes into the shared dataspace,
 * measures the strength of every frequency bin with the Goertzel
 * algorithm, finds the two strongest tones and checks them against the
 * parameters `wave` published in the key-value store. Exit status 0 when
 * every frame shows exactly the published tones.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../kvstore/kv.h"
#include "../wave/wave.h"
#include "drops/services.h"

/* Power of the signal at frequency `hz` in one frame. */
static double goertzel(const float *x, unsigned n, double hz)
{
    double k = 2 * cos(2 * M_PI * hz / WAVE_RATE), s1 = 0, s2 = 0;
    for (unsigned i = 0; i < n; i++) {
        double s = x[i] + k * s1 - s2;
        s2 = s1, s1 = s;
    }
    return (s1 * s1 + s2 * s2 - k * s1 * s2) / ((double)n * n / 4);
}

static void sleep_ms(long ms)
{
    struct timespec d = {0, ms * 1000000};
    nanosleep(&d, NULL);
}

int main(void)
{
    const char *kv_env = getenv("DROPS_CAP_kv");
    abi_cap_t kv = kv_env ? (abi_cap_t)atoi(kv_env) : 0;
    uint64_t tones[4] = {0}, addr = 0, size = 0;
    /* wave creates both; wait for it a little. */
    int tries = 0;
    while ((kv_get(kv, "tones", tones, 4) || drops_mem_share("wave", 0, &addr, &size)) && tries++ < 1000) sleep_ms(1);
    if (!addr) {
        printf("analyzer: no tones in kv or no dataspace 'wave'\n");
        return 1;
    }
    printf("analyzer: attached 'wave'; kv says the tones are %lu Hz and %lu Hz\n", (unsigned long)tones[0],
           (unsigned long)tones[2]);
    fflush(stdout);
    struct wave_shared *w = (struct wave_shared *)addr;
    unsigned good = 0;
    for (uint64_t f = 0; f < WAVE_TOTAL; f++) {
        while (__atomic_load_n(&w->written, __ATOMIC_ACQUIRE) <= f) sleep_ms(1);
        const float *x = w->frame[f % WAVE_FRAMES];
        /* Scan 50 Hz .. 2 kHz in 10 Hz steps for the two strongest bins. */
        double best[2] = {0, 0}, best_hz[2] = {0, 0};
        for (double hz = 50; hz <= 2000; hz += 10) {
            double p = goertzel(x, WAVE_FRAME, hz);
            if (p > best[0]) best[1] = best[0], best_hz[1] = best_hz[0], best[0] = p, best_hz[0] = hz;
            else if (p > best[1]) best[1] = p, best_hz[1] = hz;
        }
        double amp0 = sqrt(best[0]), amp1 = sqrt(best[1]);
        int match = fabs(best_hz[0] - tones[0]) < 1 && fabs(best_hz[1] - tones[2]) < 1 &&
                    fabs(amp0 - tones[1] / 1000.0) < 0.1 && fabs(amp1 - tones[3] / 1000.0) < 0.1;
        good += match;
        __atomic_store_n(&w->read, f + 1, __ATOMIC_RELEASE);
        if (f % 8 == 7 || !match) {
            printf("analyzer: frame %2lu: %4.0f Hz (amplitude %.2f) and %4.0f Hz (%.2f)%s\n", (unsigned long)f,
                   best_hz[0], amp0, best_hz[1], amp1, match ? "" : "  <- not the published tones");
            fflush(stdout);
        }
    }
    printf("analyzer: %u of %d frames show exactly the published tones\n", good, WAVE_TOTAL);
    return good == WAVE_TOTAL ? 0 : 1;
}
