/*
 * dsi-filter: a DSI filter component. Each stage has an input and an output
 * port (dsi/dsi_ctl.h); it reads every packet in place, writes it into the
 * output stream's data area with bytes 8 and up XORed with arg0 (the first 8,
 * the source's sequence number, unchanged), commits, and releases the input
 * packet. The two streams have separate data areas, so this is the one copy
 * of the chain; user flags and the expiry time travel along.
 *
 * Ends: end of stream on the input closes the output (end of stream goes
 * on); an error on the input closes the output, an error on the output
 * closes the input (receiver closed), so the chain unwinds both ways. DONE
 * names the port whose socket ended the stage.
 *
 * `--crash-after N` (an argument in the scenario): the component faults on
 * purpose after N packets (a write to an unmapped address), for the tests of
 * a stage that dies mid-stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsi_ctl.h"
#include "dsi_pattern.h"

static uint64_t crash_after;

static void run(struct dsi_ctl_stage *st, struct dsi_ctl_event *res)
{
    struct dsi_socket *rx = &st->sock[DSI_CTL_PORT_IN], *tx = &st->sock[DSI_CTL_PORT_OUT];
    uint8_t key = (uint8_t)st->arg0;
    uint64_t n = 0;
    int code = DSI_E_OK;
    unsigned port = DSI_CTL_PORT_IN;
    while (!dsi_ctl_stopping(st)) {
        struct dsi_packet p, q;
        int e = dsi_rx_get(rx, &p);
        if (e) {
            code = e;
            break;
        }
        uint64_t total = 0, len;
        for (uint32_t i = 0; i < p.nsg; i++) {
            dsi_packet_data(rx, &p, i, &len);
            total += len;
        }
        uint8_t *out = NULL;
        port = DSI_CTL_PORT_OUT;
        e = dsi_tx_get(tx, &q);
        if (!e) e = dsi_tx_alloc(tx, &q, total ? total : 1, (void **)&out);
        if (e) {
            code = e;
            break;
        }
        port = DSI_CTL_PORT_IN;
        uint64_t o = 0;
        for (uint32_t i = 0; i < p.nsg; i++) {
            const uint8_t *in = dsi_packet_data(rx, &p, i, &len);
            for (uint64_t k = 0; k < len; k++, o++) out[o] = o < 8 ? in[k] : (uint8_t)(in[k] ^ key);
        }
        q.flags = p.flags & DSI_PF_USER_MASK;
        q.expires_ns = p.expires_ns;
        if ((e = dsi_tx_commit(tx, &q)) != 0) {
            code = e, port = DSI_CTL_PORT_OUT;
            break;
        }
        if ((e = dsi_rx_release(rx, &p)) != 0) {
            code = e;
            break;
        }
        if (++n == crash_after) *(volatile uint64_t *)0xdead0000ull = n; /* on purpose */
    }
    /* Unwind: whichever side ended, close both (a closed one says CLOSED). */
    dsi_close(tx);
    dsi_close(rx);
    *res = (struct dsi_ctl_event){.code = (uint64_t)code, .packets = n, .drops = tx->drops, .port = port};
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--crash-after")) crash_after = strtoull(argv[i + 1], NULL, 0);
    printf("dsi-filter: serving the DSI control protocol (input and output ports)%s\n",
           crash_after ? ", set to crash mid-stream" : "");
    fflush(stdout);
    static const struct dsi_ctl_server srv = {
        .ports = (1u << DSI_CTL_PORT_IN) | (1u << DSI_CTL_PORT_OUT), .prio = 100, .run = run, .name = "dsi-filter"};
    dsi_ctl_serve(&srv);
}
