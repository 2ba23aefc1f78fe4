/*
 * dsi-sink: a DSI sink component (input ports only, dsi/dsi_ctl.h). Each
 * stage checks every packet it receives against the test pattern
 * (dsi/dsi_pattern.h): its DSI packet number (0, 1, 2, ... without gaps),
 * the source's sequence number in its first 8 bytes (the next one expected,
 * or, with bit 8 of arg0 set, any later one: the source may drop), its
 * length, and every byte, XORed with the key in arg0's low 8 bits (the XOR of
 * the filters' keys). arg1: nanoseconds to sleep after each packet (a slow
 * consumer). DONE reports the packets received, aux0 the packets that
 * failed a check, aux1 the next sequence number expected.
 */
#include <stdio.h>

#include "dsi_ctl.h"
#include "dsi_pattern.h"

#define SINK_GAPS 0x100u

static bool check(const struct dsi_socket *rx, const struct dsi_packet *p, uint64_t *expect, uint8_t key, bool gaps)
{
    uint64_t seq = 0, pos = 0, len;
    /* The sequence number first (it may span SG elements). */
    for (uint32_t i = 0; i < p->nsg && pos < 8; i++) {
        const uint8_t *d = dsi_packet_data(rx, p, i, &len);
        for (uint64_t k = 0; k < len && pos < 8; k++, pos++) seq |= (uint64_t)d[k] << (8 * pos);
    }
    if (pos < 8 || (gaps ? seq < *expect : seq != *expect)) return false;
    *expect = seq + 1;
    uint64_t want = dsi_pattern_len(seq);
    pos = 0;
    bool good = true;
    for (uint32_t i = 0; i < p->nsg; i++) {
        const uint8_t *d = dsi_packet_data(rx, p, i, &len);
        if (len > want - pos) return false;
        for (uint64_t k = 0; k < len; k++, pos++) good &= d[k] == dsi_pattern_byte(seq, (uint32_t)pos, key);
    }
    return good && pos == want;
}

static void run(struct dsi_ctl_stage *st, struct dsi_ctl_event *res)
{
    struct dsi_socket *rx = &st->sock[DSI_CTL_PORT_IN];
    uint8_t key = (uint8_t)st->arg0;
    bool gaps = st->arg0 & SINK_GAPS;
    uint64_t n = 0, bad = 0, expect = 0;
    int code = DSI_E_OK;
    while (!dsi_ctl_stopping(st)) {
        struct dsi_packet p;
        int e = dsi_rx_get(rx, &p);
        if (e) {
            code = e;
            break;
        }
        if (p.no != n || !check(rx, &p, &expect, key, gaps)) bad++;
        n++;
        if ((e = dsi_rx_release(rx, &p)) != 0) {
            code = e;
            break;
        }
        if (st->arg1) sleep_ns(st->arg1);
    }
    dsi_close(rx);
    *res = (struct dsi_ctl_event){
        .code = (uint64_t)code, .packets = n, .aux0 = bad, .aux1 = expect, .port = DSI_CTL_PORT_IN};
}

int main(void)
{
    printf("dsi-sink: serving the DSI control protocol (input ports)\n");
    fflush(stdout);
    static const struct dsi_ctl_server srv = {
        .ports = 1u << DSI_CTL_PORT_IN, .prio = 100, .run = run, .name = "dsi-sink"};
    dsi_ctl_serve(&srv);
}
