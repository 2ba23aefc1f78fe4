/*
 * Kernel memory: a buddy allocator over the kernel's page pool, and small
 * object caches on top of it.
 *
 * The pool is one contiguous, page-aligned range of kernel-virtual memory
 * (the direct map in the kernel, a malloc'd block in host tests). Blocks are
 * 2^order pages, naturally aligned relative to the pool base. Everything
 * handed out is zeroed, so no kernel object starts with stale data.
 *
 * Freestanding: includes nothing but the compiler's headers, builds on the
 * host for tests/host/test_kmem.c. Not reentrant: the kernel calls it with
 * interrupts disabled.
 */
#ifndef KERNEL_KMEM_H
#define KERNEL_KMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KMEM_PAGE_SIZE 4096u
#define KMEM_MAX_ORDER 10u   /* largest block: 2^10 pages = 4 MiB */
#define KMEM_SMALL_MAX 2048u /* kmalloc sizes up to this come from object caches */

/* Hand the allocator `pages` pages starting at `base` (page aligned). */
void kmem_init(void *base, size_t pages);

/* 2^order zeroed contiguous pages, or NULL. */
void *kmem_alloc_pages(unsigned order);
/* The same, not zeroed: for a caller that zeroes it in steps itself. */
void *kmem_alloc_pages_unzeroed(unsigned order);
/* Zeroing a block of 1 or 2 pages takes 4-8 us under -icount, too long for
 * one interrupts-off stretch: long operations call this between preemption
 * points to zero a few blocks of each ahead, 512 bytes a call, which
 * kmem_alloc_pages then hands out. True while there is more to zero. */
bool kmem_prezero_step(void);
void kmem_free_pages(void *p, unsigned order);

/* Zeroed memory of `size` bytes (sizes above KMEM_SMALL_MAX take whole
 * blocks of pages), or NULL. kfree needs the same size back. */
void *kmalloc(size_t size);
void kfree(void *p, size_t size);

/* The number of bytes kmalloc(size) really consumes, for quota accounting. */
size_t kmem_charge(size_t size);

/* Free pages, the blocks zeroed ahead (kmem_prezero_step) included. */
size_t kmem_free_pages_count(void);
size_t kmem_total_pages(void);

/* Consistency check for tests: free lists well formed, no overlaps. */
bool kmem_check(void);

#endif
