/*
 * Basic fixed-width types shared by kernel and user land.
 *
 * The kernel is freestanding and user programs may be built with or without
 * musl, so the ABI depends only on the compiler's <stdint.h>/<stddef.h>, which
 * are freestanding headers.
 */
#ifndef ABI_TYPES_H
#define ABI_TYPES_H

#include <stddef.h>
#include <stdint.h>

#define ABI_PAGE_SHIFT 12
#define ABI_PAGE_SIZE (1ul << ABI_PAGE_SHIFT)

/* A capability selector: an index into the calling task's capability table. */
typedef uint64_t abi_cap_t;

/* Status returned in rax by every native system call (enum abi_error). */
typedef int64_t abi_status_t;

#endif
