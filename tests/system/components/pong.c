/*
 * System test component: a provider. It serves `echo` on its main thread:
 * op 1 adds one to every word; op 2 checks the pattern `ping` wrote into
 * the shared dataspace "pingpong" and writes the reply pattern. The label
 * tells it which client called (DROPS_LABEL), and it answers with it.
 */
#include <stdint.h>
#include <stdio.h>

#include "drops/services.h"

int main(void)
{
    uint64_t addr = 0, size = 0;
    int64_t e = drops_mem_share("pingpong", 64 << 10, &addr, &size);
    printf("# pong: dataspace 'pingpong' at 0x%lx, %lu bytes (%ld)\n", (unsigned long)addr, (unsigned long)size,
           (long)e);
    fflush(stdout);
    struct sys_ret r = ipc_wait(ABI_TIMEOUT_NEVER);
    for (;;) {
        uint64_t *mr = utcb()->mr;
        unsigned words = r.err ? 0 : ABI_TAG_WORDS(r.v0);
        uint64_t label = r.v1;
        if (words >= 1 && mr[0] == 1) {
            for (unsigned i = 1; i < words; i++) mr[i]++;
        } else if (words >= 1 && mr[0] == 2 && addr) {
            volatile uint32_t *p = (volatile uint32_t *)addr;
            uint64_t good = 0;
            for (uint64_t i = 0; i < size / 4; i++) good += p[i] == (uint32_t)(i * 7 + 1);
            for (uint64_t i = 0; i < size / 4; i++) p[i] = (uint32_t)(i * 3);
            mr[1] = good;
            words = 2;
        } else {
            words = 1;
        }
        mr[0] = label;
        r = ipc_reply_wait(ABI_TAG(0, words, 0), ABI_TIMEOUT_NEVER);
    }
}
