/*
 * The pipe baseline of bench/dsi: the same packets as the DSI benchmark
 * (sizes 64 B to 1 MiB, a packet number in the first word, checked by the
 * reader) moved through a pipe from a parent to a forked child, on the host
 * and inside Linux on the reference QEMU machine.
 *
 *   pipe host     instructions from perf_event_open (all instructions of
 *                 both processes, user and kernel, or user only when the
 *                 kernel part is not permitted); NA when the host has no
 *                 counter (the line says why on stderr)
 *   pipe linux    under QEMU's -icount shift=3 every instruction is 8 ns of
 *                 virtual time, so instructions = elapsed ns / 8 (both
 *                 processes, the kernel, and idle time if there were any;
 *                 with one CPU and one side always runnable there is none)
 *
 * Prints: BENCH pipe system=<name> size=<bytes> insns_per_packet=<n|NA> packets_per_s=<n>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
/* musl-gcc (the static build for the Linux guest) has no kernel headers;
 * there the instructions come from the clock anyway. */
#if __has_include(<linux/perf_event.h>)
#include <linux/perf_event.h>
#define HAVE_PERF 1
#endif

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A counter of all instructions of this process and its children to come. */
static int insn_counter(const char **why)
{
#ifndef HAVE_PERF
    *why = "built without <linux/perf_event.h>";
    return -1;
#else
    struct perf_event_attr a;
    for (int user_only = 0; user_only < 2; user_only++) {
        memset(&a, 0, sizeof a);
        a.size = sizeof a;
        a.type = PERF_TYPE_HARDWARE;
        a.config = PERF_COUNT_HW_INSTRUCTIONS;
        a.disabled = 1;
        a.inherit = 1;
        a.exclude_kernel = (unsigned)user_only;
        a.exclude_hv = 1;
        int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
        if (fd >= 0) {
            *why = user_only ? "user-only instructions (kernel part not permitted)" : NULL;
            return fd;
        }
        *why = strerror(errno);
    }
    return -1;
#endif
}

static int write_all(int fd, const uint8_t *b, size_t n)
{
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        b += w, n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, uint8_t *b, size_t n)
{
    while (n) {
        ssize_t r = read(fd, b, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        b += r, n -= (size_t)r;
    }
    return 0;
}

static int run(const char *system, size_t size, uint64_t count, int ns_per_insn)
{
    uint8_t *buf = calloc(1, size);
    int p[2];
    if (!buf || pipe(p)) return -1;
    const char *why = NULL;
    int cfd = ns_per_insn ? -1 : insn_counter(&why);
#ifdef HAVE_PERF
    if (cfd >= 0) ioctl(cfd, PERF_EVENT_IOC_ENABLE, 0);
#endif
    uint64_t t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(p[1]);
        uint64_t bad = 0;
        for (uint64_t n = 0; n < count; n++) {
            if (read_all(p[0], buf, size)) _exit(2);
            uint64_t w;
            memcpy(&w, buf, sizeof w);
            bad += w != n;
        }
        _exit(bad ? 3 : 0);
    }
    close(p[0]);
    for (uint64_t n = 0; n < count; n++) {
        memcpy(buf, &n, sizeof n);
        if (write_all(p[1], buf, size)) return -1;
    }
    close(p[1]);
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) return -1;
    uint64_t ns = now_ns() - t0;
    char insns[32] = "NA";
    if (ns_per_insn) {
        snprintf(insns, sizeof insns, "%llu", (unsigned long long)(ns / (uint64_t)ns_per_insn / count));
    } else if (cfd >= 0) {
        uint64_t v = 0;
#ifdef HAVE_PERF
        ioctl(cfd, PERF_EVENT_IOC_DISABLE, 0);
#endif
        if (read(cfd, &v, sizeof v) == sizeof v && v)
            snprintf(insns, sizeof insns, "%llu", (unsigned long long)(v / count));
        close(cfd);
        if (why) fprintf(stderr, "pipe: %s\n", why);
    } else {
        fprintf(stderr, "pipe: no instruction counter on this host (perf_event_open: %s): insns NA\n", why);
    }
    printf("BENCH pipe system=%s size=%zu insns_per_packet=%s packets_per_s=%llu\n", system, size, insns,
           (unsigned long long)(count * 1000000000ull / (ns ? ns : 1)));
    fflush(stdout);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    /* pipe SYSTEM [NS_PER_INSN]: 0 or absent = count with perf. */
    const char *system = argc > 1 ? argv[1] : "host";
    int ns_per_insn = argc > 2 ? atoi(argv[2]) : 0;
    static const size_t sizes[] = {64, 4096, 65536, 1u << 20};
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        /* About 64 MiB or 20,000 packets per size, whichever is less. */
        uint64_t count = (64u << 20) / sizes[i];
        if (count > 20000) count = 20000;
        if (run(system, sizes[i], count, ns_per_insn)) {
            fprintf(stderr, "pipe: size %zu failed\n", sizes[i]);
            return 1;
        }
    }
    return 0;
}
