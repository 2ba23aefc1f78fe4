/*
 * Host micro-benchmark: packets per second through a DSI ring between two
 * threads and between two processes, against a pipe between two processes,
 * for packet sizes 64 B .. 1 MiB. No assertions; it prints one line per
 * measurement:
 *
 *   BENCH dsi system=host transport=<threads|processes> stages=2
 *         mode=<stream|lockstep> size=<bytes> insns_per_packet=<n|NA>
 *         packets_per_s=<n>
 *   BENCH pipe system=host size=<bytes> insns_per_packet=<n|NA> packets_per_s=<n>
 *
 * DSI moves packets zero-copy: the sender allocates `size` bytes in the data
 * area and writes only a sequence number into them, the receiver checks it;
 * the pipe copies every byte twice (write into the kernel, read out). In
 * stream mode the ring has 64 slots and both sides spin briefly before
 * blocking, so the ring rarely empties; in lock-step mode it has one slot and
 * no spinning, so every packet blocks and wakes the peer.
 *
 * Instructions per packet come from perf_event_open (user and kernel, both
 * sides, inherited by the threads and children); where the host offers no
 * counter (typical in VMs and containers) the value is NA.
 *
 * Usage: dsi_bench [quick]     quick: a tenth of the packets (smoke test)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dsi.h"
#include "dsi_host.h"

static unsigned scale_div = 1;

/* ------------------------------------------------------------ the counter */

static int perf_open(void)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.type = PERF_TYPE_HARDWARE;
    a.size = sizeof a;
    a.config = PERF_COUNT_HW_INSTRUCTIONS;
    a.disabled = 1;
    a.inherit = 1;
    a.exclude_hv = 1;
    /* Kernel instructions matter for the pipe: without them there is no
     * fair comparison, so no user-only fallback. */
    return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

struct meter {
    int fd;
    uint64_t t0, t1, insns;
};

static void meter_start(struct meter *m)
{
    m->fd = perf_open();
    if (m->fd >= 0) {
        ioctl(m->fd, PERF_EVENT_IOC_RESET, 0);
        ioctl(m->fd, PERF_EVENT_IOC_ENABLE, 0);
    }
    m->t0 = dsi_host_now();
}

static void meter_stop(struct meter *m)
{
    m->t1 = dsi_host_now();
    m->insns = 0;
    if (m->fd >= 0) {
        ioctl(m->fd, PERF_EVENT_IOC_DISABLE, 0);
        if (read(m->fd, &m->insns, sizeof m->insns) != sizeof m->insns) m->insns = 0;
        close(m->fd);
    }
}

static void report(const char *prefix, uint64_t size, uint64_t count, const struct meter *m)
{
    double secs = (double)(m->t1 - m->t0) / 1e9;
    char insns[32] = "NA";
    if (m->fd >= 0 && m->insns)
        snprintf(insns, sizeof insns, "%.0f", (double)m->insns / (double)count);
    printf("%s size=%llu insns_per_packet=%s packets_per_s=%.0f\n", prefix,
           (unsigned long long)size, insns, (double)count / secs);
    fflush(stdout);
}

/* -------------------------------------------------------------------- DSI */

struct dsi_run {
    struct dsi_host_region region;
    uint32_t ring, spin;
    uint64_t size, count;
    int err;
};

static void dsi_send(struct dsi_run *r, void *ctrl, void *data)
{
    struct dsi_config c = {.spin = r->spin, .timeout_ns = DSI_TIMEOUT_INFINITE, .env = dsi_host_env()};
    struct dsi_socket tx;
    uint64_t *marks = calloc(r->ring, sizeof *marks);
    r->err = dsi_attach(&tx, DSI_SENDER, ctrl, r->region.ctrl_size, data, r->region.data_size, &c);
    if (!r->err) r->err = dsi_tx_alloc_init(&tx, 0, r->region.data_size, marks, r->ring);
    for (uint64_t i = 0; i < r->count && !r->err; i++) {
        struct dsi_packet p;
        void *b;
        r->err = dsi_tx_get(&tx, &p);
        if (!r->err) r->err = dsi_tx_alloc(&tx, &p, r->size, &b);
        if (!r->err) {
            *(volatile uint64_t *)b = i; /* produced in place: no copy */
            r->err = dsi_tx_commit(&tx, &p);
        }
    }
    dsi_close(&tx);
    free(marks);
}

static int dsi_receive(struct dsi_run *r, void *ctrl, void *data)
{
    struct dsi_config c = {.spin = r->spin, .timeout_ns = DSI_TIMEOUT_INFINITE, .env = dsi_host_env()};
    struct dsi_socket rx;
    int e = dsi_attach(&rx, DSI_RECEIVER, ctrl, r->region.ctrl_size, data, r->region.data_size, &c);
    for (uint64_t i = 0; !e; i++) {
        struct dsi_packet p;
        if ((e = dsi_rx_get(&rx, &p))) return e == DSI_E_EOS && i == r->count ? 0 : -1;
        uint64_t len;
        volatile uint64_t *b = dsi_packet_data(&rx, &p, 0, &len);
        if (!b || *b != i || len != r->size) return -1;
        e = dsi_rx_release(&rx, &p);
    }
    return e;
}

static void *dsi_sender_thread(void *arg)
{
    struct dsi_run *r = arg;
    void *ctrl, *data;
    if (dsi_host_region_map(&r->region, &ctrl, &data)) {
        r->err = -1;
        return NULL;
    }
    dsi_send(r, ctrl, data);
    dsi_host_region_unmap(&r->region, ctrl, data);
    return NULL;
}

static void bench_dsi(bool processes, bool lockstep, uint64_t size, uint64_t count)
{
    struct dsi_run r = {.ring = lockstep ? 1 : 64, .spin = lockstep ? 0 : 2000, .size = size,
                        .count = count};
    if (dsi_host_region_create(&r.region, dsi_ctrl_size(r.ring, 1), (r.ring + 1) * size)) {
        perror("memfd");
        return;
    }
    void *ctrl, *data;
    if (dsi_host_region_map(&r.region, &ctrl, &data)) {
        perror("mmap");
        return;
    }
    dsi_ctrl_init(ctrl, r.region.ctrl_size, r.ring, 1, r.region.data_size);

    struct meter m;
    int rx_err;
    meter_start(&m);
    if (processes) {
        pid_t pid = fork();
        if (pid == 0) {
            dsi_sender_thread(&r);
            _exit(r.err ? 1 : 0);
        }
        rx_err = dsi_receive(&r, ctrl, data);
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status)) r.err = -1;
    } else {
        pthread_t t;
        pthread_create(&t, NULL, dsi_sender_thread, &r);
        rx_err = dsi_receive(&r, ctrl, data);
        pthread_join(t, NULL);
    }
    meter_stop(&m);

    char prefix[128];
    snprintf(prefix, sizeof prefix, "BENCH dsi system=host transport=%s stages=2 mode=%s",
             processes ? "processes" : "threads", lockstep ? "lockstep" : "stream");
    if (r.err || rx_err)
        fprintf(stderr, "dsi_bench: %s size=%llu failed (sender %d, receiver %d)\n", prefix,
                (unsigned long long)size, r.err, rx_err);
    else
        report(prefix, size, count, &m);
    dsi_host_region_unmap(&r.region, ctrl, data);
    dsi_host_region_destroy(&r.region);
}

/* ------------------------------------------------------------------- pipe */

static bool full_io(int fd, uint8_t *buf, uint64_t len, bool writing)
{
    while (len) {
        ssize_t n = writing ? write(fd, buf, len) : read(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        buf += n;
        len -= (uint64_t)n;
    }
    return true;
}

static void bench_pipe(uint64_t size, uint64_t count)
{
    int fds[2];
    uint8_t *buf = malloc(size);
    if (!buf || pipe(fds)) {
        perror("pipe");
        free(buf);
        return;
    }
    memset(buf, 0x5a, size);
    struct meter m;
    meter_start(&m);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        for (uint64_t i = 0; i < count; i++) {
            memcpy(buf, &i, sizeof i);
            if (!full_io(fds[1], buf, size, true)) _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    bool good = true;
    for (uint64_t i = 0; i < count && good; i++) {
        uint64_t seq;
        good = full_io(fds[0], buf, size, false);
        memcpy(&seq, buf, sizeof seq);
        good = good && seq == i;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    meter_stop(&m);
    close(fds[0]);
    free(buf);
    if (!good || !WIFEXITED(status) || WEXITSTATUS(status))
        fprintf(stderr, "dsi_bench: pipe size=%llu failed\n", (unsigned long long)size);
    else
        report("BENCH pipe system=host", size, count, &m);
}

/* ------------------------------------------------------------------- main */

/* Enough packets for a stable rate, few enough that copying 1 MiB packets
 * through the pipe stays within a second or so. */
static uint64_t packets_for(uint64_t size, uint64_t max)
{
    uint64_t n = (512ull << 20) / size;
    if (n > max) n = max;
    if (n < 500) n = 500;
    return n / scale_div ? n / scale_div : 1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "quick") == 0) scale_div = 10;
    for (uint64_t size = 64; size <= (1u << 20); size *= 4) {
        bench_dsi(false, false, size, 1000000 / scale_div);
        bench_dsi(true, false, size, 1000000 / scale_div);
        bench_dsi(false, true, size, 5000 / scale_div);
        bench_dsi(true, true, size, 5000 / scale_div);
        bench_pipe(size, packets_for(size, 200000));
    }
    return 0;
}
