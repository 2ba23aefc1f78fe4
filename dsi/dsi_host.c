/*
 * DSI host environment: futex hooks, monotonic clock, memfd regions
 * (see dsi_host.h).
 */
#define _GNU_SOURCE
#include "dsi_host.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int host_wait(void *ctx, uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
    (void)ctx;
    struct timespec ts, *tp = NULL;
    if (timeout_ns != DSI_TIMEOUT_INFINITE) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000u);
        ts.tv_nsec = (long)(timeout_ns % 1000000000u);
        tp = &ts;
    }
    /* FUTEX_WAIT without FUTEX_PRIVATE_FLAG: the word may be shared with
     * another process or mapped twice. EAGAIN (the word changed) and EINTR
     * are ordinary returns; the caller looks again. */
    long r = syscall(SYS_futex, word, FUTEX_WAIT, expected, tp, NULL, 0);
    if (r < 0 && errno == ETIMEDOUT) return DSI_E_TIMEOUT;
    return DSI_E_OK;
}

static void host_wake(void *ctx, uint32_t *word)
{
    (void)ctx;
    syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

uint64_t dsi_host_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t host_now(void *ctx)
{
    (void)ctx;
    return dsi_host_now();
}

struct dsi_env dsi_host_env(void)
{
    return (struct dsi_env){.wait = host_wait, .wake = host_wake, .now = host_now, .ctx = NULL};
}

static uint64_t page_round(uint64_t n)
{
    uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
    return (n + pg - 1) / pg * pg;
}

int dsi_host_region_create(struct dsi_host_region *r, uint64_t ctrl_size, uint64_t data_size)
{
    int fd = memfd_create("dsi", MFD_CLOEXEC);
    if (fd < 0) return -errno;
    r->fd = fd;
    r->ctrl_size = ctrl_size;
    r->data_size = data_size;
    r->data_offset = page_round(ctrl_size);
    if (ftruncate(fd, (off_t)(r->data_offset + page_round(data_size))) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return 0;
}

int dsi_host_region_map(const struct dsi_host_region *r, void **ctrl, void **data)
{
    void *c = mmap(NULL, r->ctrl_size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
    if (c == MAP_FAILED) return -errno;
    void *d = NULL;
    if (r->data_size) {
        d = mmap(NULL, r->data_size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
                 (off_t)r->data_offset);
        if (d == MAP_FAILED) {
            int e = errno;
            munmap(c, r->ctrl_size);
            return -e;
        }
    }
    *ctrl = c;
    *data = d;
    return 0;
}

void dsi_host_region_unmap(const struct dsi_host_region *r, void *ctrl, void *data)
{
    if (ctrl) munmap(ctrl, r->ctrl_size);
    if (data) munmap(data, r->data_size);
}

void dsi_host_region_destroy(struct dsi_host_region *r)
{
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
}
