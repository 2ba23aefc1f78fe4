/*
 * A plain hosted C program linked statically with Debian's musl libc.a:
 * everything it asks of the system is a Linux system call, served by the
 * libc backend in tests/system/musl_hello.c through exception IPC.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    printf("hello from musl: %d %s %.3f\n", 42, "ok", 3.14159);

    /* A few sizes, from the small classes up to one that musl mmaps. */
    static const size_t sizes[] = {1, 24, 200, 4000, 70000, 300000};
    enum { N = sizeof sizes / sizeof sizes[0] };
    unsigned char *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = malloc(sizes[i]);
        if (!p[i]) {
            printf("malloc(%zu) failed\n", sizes[i]);
            return 1;
        }
        memset(p[i], 0x40 + i, sizes[i]);
    }
    int good = 1;
    for (int i = 0; i < N; i++)
        for (size_t j = 0; j < sizes[i]; j++)
            if (p[i][j] != 0x40 + i) good = 0;
    for (int i = 0; i < N; i++) free(p[i]);
    printf("malloc check: %s\n", good ? "good" : "BAD");
    exit(7);
}
