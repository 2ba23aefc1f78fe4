/*
 * dsi-chain: a DSI controller application. It builds a chain of DSI stages
 * from the routes the scenario gives it, runs it to the end and reports what
 * happened; it never touches the data (dsi/dsi_ctl.h).
 *
 *   dsi-chain [packets=N] [ring=N] [timeout_ms=N] SERVICE...
 *
 * Each SERVICE names a route (`uses SERVICE from COMPONENT`, slot in
 * DROPS_CAP_<SERVICE>): the first is the source, the last the sink, the ones
 * between filters. Filter i gets the key 0x11 * i, the sink the XOR of all
 * keys, so it checks every byte of every packet. Exit status 0 when every
 * stage ended well: the source with OK, the others with end of stream, the
 * sink with all packets and no errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsi_ctl.h"

static const char *code_name(uint64_t code)
{
    return code < DSI_E_COUNT ? dsi_strerror((int)code) : "?";
}

int main(int argc, char **argv)
{
    static struct dsi_ctl_chain c;
    uint64_t packets = 10000, ring = 32, timeout_ms = 200;
    const char *names[DSI_CTL_CHAIN_MAX];
    unsigned n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "packets=", 8))
            packets = strtoull(argv[i] + 8, NULL, 0);
        else if (!strncmp(argv[i], "ring=", 5))
            ring = strtoull(argv[i] + 5, NULL, 0);
        else if (!strncmp(argv[i], "timeout_ms=", 11))
            timeout_ms = strtoull(argv[i] + 11, NULL, 0);
        else if (n < DSI_CTL_CHAIN_MAX)
            names[n++] = argv[i];
    }
    if (n < 2 || !packets || !ring || ring > DSI_CTL_RING_MAX) {
        printf("usage: dsi-chain [packets=N] [ring=N<=%u] [timeout_ms=N] SOURCE [FILTER...] SINK (services)\n",
               DSI_CTL_RING_MAX);
        return 2;
    }
    uint8_t key = 0;
    c.stages = n;
    for (unsigned i = 0; i < n; i++) {
        char var[48];
        snprintf(var, sizeof var, "DROPS_CAP_%s", names[i]);
        const char *slot = getenv(var);
        if (!slot) {
            printf("dsi-chain: no route to '%s' (add `uses %s from <component>`)\n", names[i], names[i]);
            return 2;
        }
        c.stage[i].route = (abi_cap_t)strtoul(slot, NULL, 0);
        if (i > 0 && i + 1 < n) c.stage[i].arg0 = (uint8_t)(0x11 * i), key ^= (uint8_t)(0x11 * i);
    }
    c.stage[0].arg0 = packets;
    c.stage[n - 1].arg0 = key;
    c.num_packets = (uint32_t)ring, c.max_sg = 2;
    c.data_bytes = (ring + 1) * 512;
    c.timeout_ns = timeout_ms * 1000000ull;
    c.id = 1;

    uint64_t t0 = now_ns();
    int64_t st = dsi_ctl_chain_build(&c);
    if (!st) st = dsi_ctl_chain_start(&c);
    if (st) {
        printf("dsi-chain: setting up stage %u (%s) failed: %s\n", c.failed_stage, names[c.failed_stage],
               dsi_ctl_strerror(st));
        return 1;
    }
    printf("dsi-chain: %u stages, %u streams of %u slots, %lu packets\n", n, n - 1, c.num_packets,
           (unsigned long)packets);
    fflush(stdout);
    st = dsi_ctl_chain_wait(&c, 600000000000ull, 20000000ull);
    uint64_t t1 = now_ns();
    for (unsigned i = 0; i < c.nlog; i++) {
        const struct dsi_ctl_event *ev = &c.log[i];
        unsigned s = (unsigned)(ev->cookie & 0xff);
        printf("dsi-chain: event %-4s stage %u (%s): %s, %lu packets, %lu drops, aux %lu %lu\n",
               dsi_ctl_event_name(ev->kind), s, names[s], ev->kind == DSI_CTL_EV_DROP ? "-" : code_name(ev->code),
               (unsigned long)ev->packets, (unsigned long)ev->drops, (unsigned long)ev->aux0,
               (unsigned long)ev->aux1);
    }
    for (unsigned i = 0; i + 1 < n; i++) {
        const struct dsi_ctrl_header *h = dsi_ctl_header(&c.stream[i]);
        printf("dsi-chain: stream %u: committed %lu, released %lu, drops %lu, events 0x%x\n", i,
               (unsigned long)__atomic_load_n(&h->committed, __ATOMIC_RELAXED),
               (unsigned long)__atomic_load_n(&h->released, __ATOMIC_RELAXED),
               (unsigned long)__atomic_load_n(&h->drops, __ATOMIC_RELAXED),
               __atomic_load_n(&h->events, __ATOMIC_RELAXED));
    }
    bool good = !st;
    for (unsigned i = 0; i < n; i++)
        good = good && !c.gone[i] && c.done[i].code == (i ? DSI_E_EOS : DSI_E_OK) && c.done[i].packets == packets;
    good = good && c.done[n - 1].aux0 == 0;
    int64_t cl = dsi_ctl_chain_close(&c, 2000000000ull);
    printf("dsi-chain: %s in %lu ms (virtual time); closed: %s\n",
           good ? "every packet arrived, in order and intact" : "the chain did NOT end well",
           (unsigned long)((t1 - t0) / 1000000), dsi_ctl_strerror(cl));
    return good && !cl ? 0 : 1;
}
