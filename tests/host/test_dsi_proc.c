/*
 * Host tests for dsi/ between two processes. The stream's memory is one
 * memfd; the parent maps it, forks, and the child maps it a second time and
 * unmaps the inherited mapping, so the two sides use different addresses
 * and any absolute pointer in the shared areas would crash or misread. The
 * futex hooks work across the processes because they are not private.
 *  - 200,000 packets parent -> child, each checked for number and content;
 *  - a receiver that takes packets and exits without releasing them, and
 *    one that is killed mid-stream: the blocking sender times out;
 *  - a sender that exits mid-stream: the blocking receiver reads what was
 *    committed, then times out.
 * The child reports its findings through a pipe and its exit status.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dsi.h"
#include "dsi_host.h"
#include "tap.h"

#define SAFETY_NS 10000000000ull
#define TMO_NS 100000000ull /* 100 ms for the dead-peer cases */

static uint8_t pattern(uint64_t no, uint64_t i)
{
    return (uint8_t)(no * 37u + i * 11u + 5u);
}

struct area {
    struct dsi_host_region region;
    void *ctrl, *data;
};

static void area_open(struct area *a, uint32_t n, uint64_t data_size)
{
    dsi_host_region_create(&a->region, dsi_ctrl_size(n, 1), data_size);
    dsi_host_region_map(&a->region, &a->ctrl, &a->data);
    dsi_ctrl_init(a->ctrl, a->region.ctrl_size, n, 1, data_size);
}

/* In the child: a fresh mapping elsewhere, the inherited one removed. */
static void area_remap(struct area *a)
{
    void *c, *d;
    dsi_host_region_map(&a->region, &c, &d);
    dsi_host_region_unmap(&a->region, a->ctrl, a->data);
    a->ctrl = c;
    a->data = d;
}

static int attach(struct area *a, struct dsi_socket *s, enum dsi_role role, uint64_t timeout)
{
    struct dsi_config c = {.spin = 100, .timeout_ns = timeout, .env = dsi_host_env()};
    return dsi_attach(s, role, a->ctrl, a->region.ctrl_size, a->data, a->region.data_size, &c);
}

static void area_close(struct area *a)
{
    dsi_host_region_unmap(&a->region, a->ctrl, a->data);
    dsi_host_region_destroy(&a->region);
}

struct report {
    uintptr_t ctrl, data;
    uint64_t got, bad;
    int end;
};

/* Send `count` packets (or until an error); returns the error or 0. */
static int send_n(struct dsi_socket *tx, uint64_t count, uint64_t len, uint64_t *sent)
{
    for (uint64_t i = 0; i < count; i++) {
        struct dsi_packet p;
        void *b = NULL;
        int r = dsi_tx_get(tx, &p);
        if (!r && len) r = dsi_tx_alloc(tx, &p, len, &b);
        if (!r) {
            for (uint64_t k = 0; k < len; k++) ((uint8_t *)b)[k] = pattern(i, k);
            r = dsi_tx_commit(tx, &p);
        }
        if (r) return r;
        if (sent) (*sent)++;
    }
    return 0;
}

static void test_stream(void)
{
    const uint32_t n = 32;
    const uint64_t count = 200000, len = 24;
    struct area a;
    area_open(&a, n, (n + 1) * len);
    int fds[2];
    if (pipe(fds)) return;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        area_remap(&a);
        struct report rep = {.ctrl = (uintptr_t)a.ctrl, .data = (uintptr_t)a.data};
        struct dsi_socket rx;
        rep.end = attach(&a, &rx, DSI_RECEIVER, SAFETY_NS);
        while (!rep.end) {
            struct dsi_packet p;
            if ((rep.end = dsi_rx_get(&rx, &p))) break;
            uint64_t l = 0;
            uint8_t *b = dsi_packet_data(&rx, &p, 0, &l);
            bool good = p.no == rep.got && b && l == len;
            for (uint64_t k = 0; good && k < len; k++) good = b[k] == pattern(rep.got, k);
            if (!good) rep.bad++;
            dsi_rx_release(&rx, &p);
            rep.got++;
        }
        (void)!write(fds[1], &rep, sizeof rep);
        _exit(rep.bad == 0 && rep.end == DSI_E_EOS ? 0 : 1);
    }
    close(fds[1]);
    struct dsi_socket tx;
    uint64_t marks[32];
    attach(&a, &tx, DSI_SENDER, SAFETY_NS);
    dsi_tx_alloc_init(&tx, 0, (n + 1) * len, marks, n);
    int r = send_n(&tx, count, len, NULL);
    dsi_close(&tx);
    struct report rep = {0};
    ssize_t got = read(fds[0], &rep, sizeof rep);
    int status = -1;
    waitpid(pid, &status, 0);
    close(fds[0]);
    is(r, 0, "processes: sender saw no error");
    ok(got == sizeof rep, "processes: child reported");
    ok(rep.ctrl != (uintptr_t)a.ctrl && rep.data != (uintptr_t)a.data,
       "processes: the child maps both areas at other addresses (%#lx vs %#lx)",
       (unsigned long)rep.ctrl, (unsigned long)(uintptr_t)a.ctrl);
    is(rep.got, count, "processes: child received %llu packets", (unsigned long long)count);
    is(rep.bad, 0, "processes: all in order with the right content");
    is(rep.end, DSI_E_EOS, "processes: then end of stream");
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "processes: child exited cleanly");
    area_close(&a);
}

/* A receiver that takes `take` packets and exits holding them. */
static void test_receiver_exits(void)
{
    const uint32_t n = 4;
    struct area a;
    area_open(&a, n, 64);
    int fds[2];
    if (pipe(fds)) return;
    pid_t pid = fork();
    if (pid == 0) {
        area_remap(&a);
        struct dsi_socket rx;
        attach(&a, &rx, DSI_RECEIVER, SAFETY_NS);
        struct dsi_packet p;
        for (int i = 0; i < 3; i++) dsi_rx_get(&rx, &p);
        _exit(0); /* never released, never closed */
    }
    struct dsi_socket tx;
    attach(&a, &tx, DSI_SENDER, TMO_NS);
    uint64_t sent = 0;
    int r = send_n(&tx, 100, 0, &sent);
    int status;
    waitpid(pid, &status, 0);
    is(r, DSI_E_TIMEOUT, "receiver exits holding packets: sender times out");
    is(sent, n, "after filling the ring once");
    area_close(&a);
    close(fds[0]);
    close(fds[1]);
}

/* A receiver killed while it streams normally. */
static void test_receiver_killed(void)
{
    const uint32_t n = 8;
    struct area a;
    area_open(&a, n, 64);
    int fds[2];
    if (pipe(fds)) return;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        area_remap(&a);
        struct dsi_socket rx;
        attach(&a, &rx, DSI_RECEIVER, SAFETY_NS);
        for (uint64_t i = 0;; i++) {
            struct dsi_packet p;
            if (dsi_rx_get(&rx, &p)) _exit(1);
            dsi_rx_release(&rx, &p);
            if (i == 1000) (void)!write(fds[1], "x", 1);
        }
    }
    close(fds[1]);
    struct dsi_socket tx;
    attach(&a, &tx, DSI_SENDER, TMO_NS);
    uint64_t sent = 0;
    int r = send_n(&tx, 1001, 0, &sent);
    char c;
    (void)!read(fds[0], &c, 1);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    ok(r == 0 && WIFSIGNALED(status), "receiver streamed 1001 packets, then was killed");
    r = send_n(&tx, 1000, 0, &sent);
    is(r, DSI_E_TIMEOUT, "killed receiver: blocking sender times out once the ring is full");
    ok(sent >= 1001 + n - 1 && sent <= 1001 + n, "  having filled the ring (%llu sent)",
       (unsigned long long)sent);
    area_close(&a);
    close(fds[0]);
}

/* A sender that exits after 10 packets. */
static void test_sender_exits(void)
{
    struct area a;
    area_open(&a, 16, 64);
    pid_t pid = fork();
    if (pid == 0) {
        area_remap(&a);
        struct dsi_socket tx;
        attach(&a, &tx, DSI_SENDER, SAFETY_NS);
        send_n(&tx, 10, 0, NULL);
        _exit(0); /* no end of stream */
    }
    struct dsi_socket rx;
    attach(&a, &rx, DSI_RECEIVER, TMO_NS);
    int r;
    uint64_t got = 0;
    struct dsi_packet p;
    while ((r = dsi_rx_get(&rx, &p)) == DSI_E_OK) {
        got++;
        dsi_rx_release(&rx, &p);
    }
    int status;
    waitpid(pid, &status, 0);
    is(got, 10, "sender exits: receiver reads the 10 committed packets");
    is(r, DSI_E_TIMEOUT, "then times out instead of waiting forever");
    area_close(&a);
}

int main(void)
{
    test_stream();
    test_receiver_exits();
    test_receiver_killed();
    test_sender_exits();
    return done_testing();
}
