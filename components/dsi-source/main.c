/*
 * dsi-source: a DSI source component. It provides one service (named in
 * the scenario) that speaks the control protocol of dsi/dsi_ctl.h and offers
 * output ports only. Each stage sends the test pattern (dsi/dsi_pattern.h):
 * arg0 packets (0: until the controller stops it), one packet every arg1 ns
 * (0: as fast as the stream takes them). Every third packet has two SG
 * elements (its 8-byte header and the rest), the others one; the space comes
 * from the sender-side allocator, written in place (zero copy).
 *
 * With DSI_F_NONBLOCK on its output a full stream drops packets: the
 * sequence number still counts them (the sink sees the gaps), the first drop
 * is reported to the controller at once, the count with DONE (aux0: packets
 * attempted, = committed + dropped).
 */
#include <stdio.h>

#include "dsi_ctl.h"
#include "dsi_pattern.h"

static int fill(struct dsi_socket *tx, struct dsi_packet *p, uint64_t seq)
{
    uint32_t len = dsi_pattern_len(seq), first = seq % 3 == 0 ? 8 : len;
    uint8_t *b;
    int e = dsi_tx_alloc(tx, p, first, (void **)&b);
    for (uint32_t i = 0; !e && i < first; i++) b[i] = dsi_pattern_byte(seq, i, 0);
    if (!e && first < len) {
        e = dsi_tx_alloc(tx, p, len - first, (void **)&b);
        for (uint32_t i = first; !e && i < len; i++) b[i - first] = dsi_pattern_byte(seq, i, 0);
    }
    return e;
}

static void run(struct dsi_ctl_stage *st, struct dsi_ctl_event *res)
{
    struct dsi_socket *tx = &st->sock[DSI_CTL_PORT_OUT];
    uint64_t count = st->arg0, pace = st->arg1, seq = 0, committed = 0;
    int code = DSI_E_OK;
    while ((!count || seq < count) && !dsi_ctl_stopping(st)) {
        struct dsi_packet p;
        int e = dsi_tx_get(tx, &p);
        if (!e) e = fill(tx, &p, seq);
        if (!e) e = dsi_tx_commit(tx, &p);
        if (e == DSI_E_DROPPED) {
            seq++;
            dsi_ctl_report_drop(st, tx->drops);
        } else if (e) {
            code = e;
            break;
        } else {
            seq++, committed++;
        }
        if (pace) sleep_ns(pace);
    }
    dsi_close(tx); /* end of stream (also after an error: nothing more comes) */
    *res = (struct dsi_ctl_event){
        .code = (uint64_t)code, .packets = committed, .drops = tx->drops, .aux0 = seq, .port = DSI_CTL_PORT_OUT};
}

int main(void)
{
    printf("dsi-source: serving the DSI control protocol (output ports)\n");
    fflush(stdout);
    static const struct dsi_ctl_server srv = {
        .ports = 1u << DSI_CTL_PORT_OUT, .prio = 100, .run = run, .name = "dsi-source"};
    dsi_ctl_serve(&srv);
}
