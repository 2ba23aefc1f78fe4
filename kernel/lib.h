/* The few C library functions the kernel has (kernel/lib.c). */
#ifndef KERNEL_LIB_H
#define KERNEL_LIB_H

#include <stddef.h>

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
