/*
 * System test component: musl's libc on the root's backend. Formatted
 * output with floating point, 10,000 mallocs and frees of random sizes
 * (brk and mmap), pthreads with a mutex and a condition variable (clone,
 * futex, exit with clear-tid), a boot file read with open/read/lseek/fstat,
 * clocks and sleeps, and a system call nobody serves.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "drops/ctap.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static void test_printf(void)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%.3f %g %e %d %s %x", 3.14159265, 0.0001234, 1234567.0, -42, "str", 0xbeef);
    ok(!strcmp(buf, "3.142 0.0001234 1.234567e+06 -42 str beef"), "printf formats floating point: '%s'", buf);
    double x = 0;
    for (int i = 1; i <= 1000; i++) x += 1.0 / ((double)i * i);
    snprintf(buf, sizeof buf, "%.6f", x);
    ok(!strcmp(buf, "1.643935"), "floating-point arithmetic: sum 1/i^2 to 1000 = %s", buf);
}

static void test_malloc(void)
{
    enum { SLOTS = 256, ROUNDS = 10000 };
    static unsigned char *ptr[SLOTS];
    static size_t len[SLOTS];
    int bad = 0, failed = 0;
    size_t biggest = 0;
    for (int i = 0; i < ROUNDS; i++) {
        unsigned s = (unsigned)(rnd() % SLOTS);
        if (ptr[s]) {
            for (size_t k = 0; k < len[s]; k += 61) bad |= ptr[s][k] != (unsigned char)(s + k);
            free(ptr[s]);
            ptr[s] = NULL;
        }
        /* Mostly small, sometimes large enough for musl to mmap. */
        size_t n = rnd() % 8 == 0 ? 1 + rnd() % (512 << 10) : 1 + rnd() % 2048;
        ptr[s] = malloc(n);
        if (!ptr[s]) {
            failed++;
            continue;
        }
        len[s] = n;
        if (n > biggest) biggest = n;
        for (size_t k = 0; k < n; k += 61) ptr[s][k] = (unsigned char)(s + k);
    }
    for (unsigned s = 0; s < SLOTS; s++) {
        if (!ptr[s]) continue;
        for (size_t k = 0; k < len[s]; k += 61) bad |= ptr[s][k] != (unsigned char)(s + k);
        free(ptr[s]);
    }
    ok(!failed && !bad, "10,000 mallocs and frees of random sizes up to %zu bytes, contents intact (%d failed)",
       biggest, failed);
}

/* --- pthreads --- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter, turn;
enum { WORKERS = 4, ROUNDS_PER = 500 };

static void *worker(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < ROUNDS_PER; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        pthread_mutex_unlock(&mu);
        if (i % 50 == 0) sched_yield();
    }
    /* Then the threads take turns in order, through the condition variable. */
    pthread_mutex_lock(&mu);
    while (turn != id) pthread_cond_wait(&cv, &mu);
    turn++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    return (void *)(id * 10);
}

static void test_pthreads(void)
{
    pthread_t t[WORKERS];
    int created = 0;
    for (long i = 0; i < WORKERS; i++) created += pthread_create(&t[i], NULL, worker, (void *)i) == 0;
    long sum = 0;
    for (int i = 0; i < created; i++) {
        void *ret;
        if (!pthread_join(t[i], &ret)) sum += (long)ret;
    }
    is(created, WORKERS, "pthread_create started %d threads", WORKERS);
    is(counter, WORKERS * ROUNDS_PER, "the mutex kept %d increments from %d threads exact", WORKERS * ROUNDS_PER,
       WORKERS);
    is(turn, WORKERS, "the condition variable passed the turn through all threads in order");
    is(sum, 0 + 10 + 20 + 30, "pthread_join returned every thread's result");
}

/* Timed waits racing with wake-ups: a wake-up may arrive just as a wait
 * times out; neither may be lost or hang the backend. */
static pthread_mutex_t rmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rcv = PTHREAD_COND_INITIALIZER;
static volatile long posted, seen, timeouts;
enum { RACE_ROUNDS = 2000 };

static void *racer(void *arg)
{
    for (int i = 0; i < RACE_ROUNDS; i++) {
        pthread_mutex_lock(&rmu);
        posted++;
        pthread_cond_signal(&rcv);
        pthread_mutex_unlock(&rmu);
        /* Varying gaps (0 to about 60 us), so that some waits time out and
         * some wake-ups land just as the time runs out. */
        for (volatile int k = 0; k < (i * 37) % 1500; k++) continue;
        if (i % 3 == 0) sched_yield();
    }
    return arg;
}

static void test_race(void)
{
    pthread_t t;
    if (!ok(pthread_create(&t, NULL, racer, NULL) == 0, "a thread posting %d wake-ups", RACE_ROUNDS)) return;
    pthread_mutex_lock(&rmu);
    while (seen < RACE_ROUNDS) {
        if (seen == posted) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 50000;
            if (until.tv_nsec >= 1000000000) until.tv_sec++, until.tv_nsec -= 1000000000;
            if (pthread_cond_timedwait(&rcv, &rmu, &until) == ETIMEDOUT) timeouts++;
            continue;
        }
        seen = posted;
    }
    pthread_mutex_unlock(&rmu);
    pthread_join(t, NULL);
    ok(seen == RACE_ROUNDS, "timed waits (50 us) racing with %d wake-ups: all seen, %ld timed out, no hang",
       RACE_ROUNDS, timeouts);
}

static void test_file(void)
{
    int fd = open("/boot/greeting", O_RDONLY);
    if (!ok(fd >= 3, "open /boot/greeting (a boot file this component may read): fd %d", fd)) return;
    struct stat st;
    ok(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0, "fstat: a regular file of %ld bytes",
       (long)st.st_size);
    char buf[256] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    ok(n == st.st_size && !strncmp(buf, "Hello from a boot module", 24), "read all of it: '%.24s...'", buf);
    ok(lseek(fd, 6, SEEK_SET) == 6 && read(fd, buf, 4) == 4 && !memcmp(buf, "from", 4), "lseek and read again");
    ok(read(fd, buf, 0) == 0 && close(fd) == 0 && read(fd, buf, 1) < 0 && errno == EBADF, "close; then EBADF");
    errno = 0;
    ok(open("/boot/secret", O_RDONLY) < 0 && errno == EACCES, "a boot file not granted: EACCES");
    ok(open("/etc/passwd", O_RDONLY) < 0 && errno == ENOENT, "no such file: ENOENT");
}

static void test_time(void)
{
    struct timespec a, b, d = {0, 20 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &a);
    nanosleep(&d, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long us = ((long long)(b.tv_sec - a.tv_sec) * 1000000000ll + (b.tv_nsec - a.tv_nsec)) / 1000;
    ok(us >= 20000 && us < 200000, "nanosleep(20 ms) slept %lld us by the kernel clock", us);
}

int main(int argc, char **argv)
{
    ok(argc == 3 && !strcmp(argv[1], "alpha") && !strcmp(argv[2], "beta"), "argv from the scenario: %d args", argc);
    const char *e = getenv("GREETING"), *name = getenv("DROPS_NAME");
    ok(e && !strcmp(e, "hi-there") && name && !strcmp(name, "libc"), "environment from the scenario");
    test_printf();
    test_malloc();
    test_pthreads();
    test_race();
    test_file();
    test_time();
    errno = 0;
    long r = syscall(SYS_getrandom + 1000); /* no such call */
    ok(r == -1 && errno == ENOSYS, "an unknown system call answers ENOSYS");
    errno = 0;
    r = syscall(SYS_getppid);
    ok(r == -1 && errno == ENOSYS, "a Linux call the backend does not serve (getppid) answers ENOSYS");
    ctap_done();
}
