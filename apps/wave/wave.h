/* The shared dataspace "wave" between wave (writer) and analyzer (reader). */
#ifndef WAVE_H
#define WAVE_H

#include <stdint.h>

#define WAVE_RATE 8000     /* samples per second */
#define WAVE_FRAME 4096    /* samples per frame */
#define WAVE_FRAMES 8      /* frames in the ring */
#define WAVE_TOTAL 24      /* frames the writer produces */

struct wave_shared {
    /* The writer bumps `written` after a frame is complete, the reader
     * `read` after it is done with one: a single-producer ring. */
    volatile uint64_t written, read;
    uint64_t pad[6];
    float frame[WAVE_FRAMES][WAVE_FRAME];
};

#endif
