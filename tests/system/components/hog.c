/*
 * System test component: runs into its memory quota. malloc returns NULL
 * (the backend's mmap says ENOMEM), the memory service says NO_MEMORY, and
 * after freeing everything the memory is there again.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drops/ctap.h"
#include "drops/services.h"

static volatile int release_threads;

static void *parked(void *arg)
{
    while (!release_threads) {
        struct timespec d = {0, 1000000};
        nanosleep(&d, NULL);
    }
    return arg;
}

/* Threads until something runs out: memory for stacks, or the kernel
 * memory the root lets this component use. */
static void test_threads(void)
{
    static pthread_t t[80];
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 16384);
    int n = 0, err = 0;
    while (n < 80 && !(err = pthread_create(&t[n], &a, parked, NULL))) n++;
    ok(n > 4 && n < 80 && err == EAGAIN, "pthread_create stops with EAGAIN after %d threads (a limit, not a crash)", n);
    release_threads = 1;
    int joined = 0;
    for (int i = 0; i < n; i++) joined += pthread_join(t[i], NULL) == 0;
    is(joined, n, "all %d threads ran and were joined", n);
    err = pthread_create(&t[0], &a, parked, NULL);
    ok(!err && !pthread_join(t[0], NULL), "afterwards a new thread can be made again");
}

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
    test_threads();
    ctap_done();
}
