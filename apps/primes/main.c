/*
 * primes: counts the primes below a limit with POSIX threads (musl's
 * pthreads on the root's clone and futex), each thread taking every n-th
 * block, the total guarded by a mutex. Checks the count against the known
 * value and reports how the threads shared the work.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define LIMIT 300000
#define BLOCK 1000
#define THREADS 4
#define EXPECTED 25997 /* primes below 300,000 */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long total;

static int is_prime(long n)
{
    if (n < 2) return 0;
    for (long d = 2; d * d <= n; d++)
        if (n % d == 0) return 0;
    return 1;
}

static void *count(void *arg)
{
    long id = (long)arg, mine = 0;
    for (long b = id * BLOCK; b < LIMIT; b += THREADS * BLOCK)
        for (long n = b; n < b + BLOCK && n < LIMIT; n++) mine += is_prime(n);
    pthread_mutex_lock(&mu);
    total += mine;
    pthread_mutex_unlock(&mu);
    return (void *)mine;
}

int main(void)
{
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, count, (void *)i)) {
            printf("primes: pthread_create failed\n");
            return 1;
        }
    for (int i = 0; i < THREADS; i++) {
        void *mine;
        pthread_join(t[i], &mine);
        printf("primes: thread %d found %ld\n", i, (long)mine);
    }
    printf("primes: %ld primes below %d with %d threads (expected %d)\n", total, LIMIT, THREADS, EXPECTED);
    return total == EXPECTED ? 0 : 1;
}
