/*
 * System test component: runs into its memory quota. malloc returns NULL
 * (the backend's mmap says ENOMEM), the memory service says NO_MEMORY, and
 * after freeing everything the memory is there again.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drops/ctap.h"
#include "drops/services.h"

int main(void)
{
    uint64_t quota = 0, used = 0;
    ok(drops_mem_info(&quota, &used) == 0 && quota == 8 << 20 && used > 0 && used < quota,
       "memory service: quota %lu KiB, %lu KiB in use at start", (unsigned long)(quota >> 10),
       (unsigned long)(used >> 10));
    enum { CHUNK = 512 << 10 };
    void *p[64];
    int n = 0;
    errno = 0;
    while (n < 64 && (p[n] = malloc(CHUNK))) memset(p[n++], 0x5a, CHUNK);
    ok(n >= 8 && n < 16 && errno == ENOMEM, "malloc of 512 KiB chunks ends with NULL and ENOMEM after %d", n);
    uint64_t a;
    ok(drops_mem_alloc(CHUNK, 0, &a) == ABI_E_NO_MEMORY, "the memory service refuses: quota exhausted");
    ok(drops_mem_alloc(1ull << 40, 0, &a) != 0, "a request for 1 TiB is refused");
    for (int i = 0; i < n; i++) free(p[i]);
    int again = 0;
    while (again < 64 && (p[again] = malloc(CHUNK))) again++;
    ok(again >= n - 1, "after freeing, the memory is there again (%d chunks)", again);
    for (int i = 0; i < again; i++) free(p[i]);
    ok(drops_mem_alloc(CHUNK, 0, &a) == 0 && drops_mem_free(a, CHUNK) == 0, "alloc and free through the service");
    ctap_done();
}
