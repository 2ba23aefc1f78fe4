/*
 * System test component: the program the loader fuzz test (elfuzz.c)
 * corrupts. Unmodified it computes a little, checks the result and exits
 * 0; damaged copies may be refused, fault, spin or exit with anything.
 */
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    volatile unsigned x = 0;
    for (unsigned i = 0; i < 1000; i++) x += i;
    char *p = malloc(64);
    if (!p) return 3;
    strcpy(p, argc > 0 ? argv[0] : "");
    int good = x == 499500 && strlen(p) > 0;
    free(p);
    return good ? 0 : 2;
}
