/*
 * DSI on the host (Linux): the environment hooks and shared memory for the
 * host tests and the host benchmark. Not part of the freestanding core.
 *
 * The wait and wake hooks are a shared (not process-private) futex on the
 * packet state word, so they work between threads, between processes after
 * fork, and between two mappings of the same memory at different addresses
 * (the kernel keys a shared futex by the file page, not by the address). The
 * clock is CLOCK_MONOTONIC.
 *
 * A region is one memfd holding a stream's control area and data area, each
 * starting on a page boundary, so each can be mapped on its own, anywhere,
 * any number of times.
 */
#ifndef DSI_DSI_HOST_H
#define DSI_DSI_HOST_H

#include <stdint.h>

#include "dsi.h"

struct dsi_env dsi_host_env(void);
uint64_t dsi_host_now(void);

struct dsi_host_region {
    int fd;
    uint64_t ctrl_size, data_size;
    uint64_t data_offset; /* in the memfd: ctrl_size rounded up to a page */
};

/* Create the memfd (sizes in bytes; data_size may be 0). 0 or -errno. */
int dsi_host_region_create(struct dsi_host_region *r, uint64_t ctrl_size, uint64_t data_size);
/* Map both areas anywhere (new mappings each call). 0 or -errno. */
int dsi_host_region_map(const struct dsi_host_region *r, void **ctrl, void **data);
void dsi_host_region_unmap(const struct dsi_host_region *r, void *ctrl, void *data);
void dsi_host_region_destroy(struct dsi_host_region *r);

#endif
