/*
 * System test component: faults on purpose (`expect fault` in the
 * scenario). It has a shared dataspace and a thread when it dies, so the
 * root's reclaim has something to do.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "drops/services.h"

int main(void)
{
    uint64_t addr, size;
    drops_mem_share("crash-scratch", 1 << 20, &addr, &size);
    struct timespec d = {0, 5000000};
    nanosleep(&d, NULL);
    printf("# crasher: writing to 0xdead0000\n");
    fflush(stdout);
    *(volatile int *)0xdead0000 = 1;
    printf("# crasher: still alive?\n");
    return 0;
}
