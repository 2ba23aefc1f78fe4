/*
 * System test component: the controller of tests/system/dsi_components. It
 * drives real DSI components (components/dsi-source, dsi-filter, dsi-sink)
 * through dsi/dsi_ctl.h and prints the TAP:
 *
 *  A  source -> filter -> sink, 100,000 packets: every stage ends well, the
 *     sink checked order, length and every byte, the control areas' counts;
 *  B  the same through a filter that faults after 30,000 packets: the
 *     controller notices the stage gone, source and sink end with PEER_GONE
 *     or TIMEOUT (never hang), the sink saw only intact packets;
 *  C  a non-blocking source in front of a slow sink: drops reported as an
 *     event, committed + dropped = attempted, the sink got every committed
 *     packet, in order;
 *  D  an endless source stopped by the controller: end of stream through
 *     the chain, the sink got everything the source sent;
 *  E  refusals: a port the component does not offer, a control area whose
 *     header the controller broke before START.
 */
#include <stdlib.h>
#include <string.h>

#include "drops/ctap.h"
#include "dsi_ctl.h"

#define MS 1000000ull
#define SINK_GAPS 0x100u

static abi_cap_t route(const char *service)
{
    char var[48];
    snprintf(var, sizeof var, "DROPS_CAP_%s", service);
    const char *s = getenv(var);
    return s ? (abi_cap_t)strtoul(s, NULL, 0) : ABI_CAP_NULL;
}

static struct dsi_ctl_chain c;

static void setup(unsigned id, const char *const *svc, unsigned n, uint32_t ring)
{
    memset(&c, 0, sizeof c);
    c.stages = n, c.id = id;
    for (unsigned i = 0; i < n; i++) c.stage[i].route = route(svc[i]);
    c.num_packets = ring, c.max_sg = 2, c.data_bytes = (ring + 1) * 512ull;
    c.timeout_ns = 200 * MS;
}

static void show_events(void)
{
    for (unsigned i = 0; i < c.nlog; i++) {
        const struct dsi_ctl_event *ev = &c.log[i];
        printf("# event %s stage %lu: %s, %lu packets, %lu drops, aux %lu %lu, port %lu\n",
               dsi_ctl_event_name(ev->kind), (unsigned long)(ev->cookie & 0xff),
               ev->code < DSI_E_COUNT ? dsi_strerror((int)ev->code) : "?", (unsigned long)ev->packets,
               (unsigned long)ev->drops, (unsigned long)ev->aux0, (unsigned long)ev->aux1, (unsigned long)ev->port);
    }
}

static uint64_t hdr(unsigned stream, unsigned what)
{
    const struct dsi_ctrl_header *h = dsi_ctl_header(&c.stream[stream]);
    switch (what) {
    case 0: return __atomic_load_n(&h->committed, __ATOMIC_ACQUIRE);
    case 1: return __atomic_load_n(&h->released, __ATOMIC_ACQUIRE);
    case 2: return __atomic_load_n(&h->drops, __ATOMIC_ACQUIRE);
    default: return __atomic_load_n(&h->events, __ATOMIC_ACQUIRE);
    }
}

static bool lost_peer(uint64_t code) { return code == DSI_E_PEER_GONE || code == DSI_E_TIMEOUT; }

int main(void)
{
    static const char *const chain3[] = {"src", "flt", "snk"}, *const dying3[] = {"src", "flt2", "snk"},
                             *const pair[] = {"src", "snk"};
    ok(route("src") && route("flt") && route("flt2") && route("snk"), "routes to the four stage components");

    /* A: the chain, 100,000 packets. */
    const uint64_t N = 100000;
    setup(1, chain3, 3, 64);
    c.stage[0].arg0 = N;
    c.stage[1].arg0 = 0x5a;
    c.stage[2].arg0 = 0x5a;
    int64_t st = dsi_ctl_chain_build(&c);
    if (!st) st = dsi_ctl_chain_start(&c);
    is(st, 0, "A: chain built (memory mapped to each side with map items, ends connected) and started: %s",
       dsi_ctl_strerror(st));
    uint64_t t0 = now_ns();
    st = dsi_ctl_chain_wait(&c, 120000 * MS, 50 * MS);
    uint64_t t1 = now_ns();
    show_events();
    is(st, 0, "A: every stage reported DONE (%lu ms virtual time)", (unsigned long)((t1 - t0) / MS));
    ok(c.done[0].code == DSI_E_OK && c.done[0].packets == N, "A: source: OK, %lu packets sent",
       (unsigned long)c.done[0].packets);
    ok(c.done[1].code == DSI_E_EOS && c.done[1].packets == N, "A: filter: end of stream after %lu packets",
       (unsigned long)c.done[1].packets);
    ok(c.done[2].code == DSI_E_EOS && c.done[2].packets == N && c.done[2].aux1 == N,
       "A: sink: end of stream after %lu packets, next sequence number %lu", (unsigned long)c.done[2].packets,
       (unsigned long)c.done[2].aux1);
    is(c.done[2].aux0, 0, "A: the sink found every packet in order, with its length and every byte right");
    ok(hdr(0, 0) == N && hdr(0, 1) == N && hdr(1, 0) == N && hdr(1, 1) == N && !hdr(0, 2) && !hdr(1, 2) &&
           (hdr(0, 3) & DSI_EV_EOS) && (hdr(1, 3) & DSI_EV_EOS),
       "A: the control areas (the controller's memory) count %lu/%lu and %lu/%lu committed/released, EOS set",
       (unsigned long)hdr(0, 0), (unsigned long)hdr(0, 1), (unsigned long)hdr(1, 0), (unsigned long)hdr(1, 1));
    ok(!c.gone[0] && !c.gone[1] && !c.gone[2], "A: no stage gone");
    uint64_t q0, used0 = 0, used1 = 0;
    drops_mem_info(&q0, &used0);
    st = dsi_ctl_chain_close(&c, 2000 * MS);
    drops_mem_info(&q0, &used1);
    ok(!st && used1 < used0, "A: closed every end (%s), the areas freed (%lu -> %lu bytes in use)",
       dsi_ctl_strerror(st), (unsigned long)used0, (unsigned long)used1);

    /* B: the filter dies mid-stream. */
    setup(2, dying3, 3, 64);
    c.stage[0].arg0 = N;
    st = dsi_ctl_chain_build(&c);
    if (!st) st = dsi_ctl_chain_start(&c);
    is(st, 0, "B: chain through the dying filter started: %s", dsi_ctl_strerror(st));
    t0 = now_ns();
    st = dsi_ctl_chain_wait(&c, 30000 * MS, 20 * MS);
    t1 = now_ns();
    show_events();
    is(st, 0, "B: the chain ended, no stage hangs (%lu ms)", (unsigned long)((t1 - t0) / MS));
    ok(c.gone[1] && !c.gone[0] && !c.gone[2], "B: the controller noticed the filter stage gone");
    ok(lost_peer(c.done[0].code) && c.done[0].packets < N, "B: source: %s after %lu packets",
       dsi_strerror((int)c.done[0].code), (unsigned long)c.done[0].packets);
    ok(lost_peer(c.done[2].code) && c.done[2].packets <= 30000 && c.done[2].packets > 0,
       "B: sink: %s after %lu packets (the filter passed 30,000)", dsi_strerror((int)c.done[2].code),
       (unsigned long)c.done[2].packets);
    is(c.done[2].aux0, 0, "B: and every packet it got was intact and in order");
    struct drops_comp_status cs = {0};
    drops_parent_status("dying", &cs);
    is(cs.state, DROPS_COMP_FAULTED, "B: the root reports the filter component faulted (at 0x%lx)",
       (unsigned long)cs.fault_addr);
    st = dsi_ctl_chain_close(&c, 2000 * MS);
    is(st, 0, "B: closed (the dead side's ends count as closed): %s", dsi_ctl_strerror(st));

    /* C: a non-blocking source in front of a slow sink. */
    const uint64_t M = 3000;
    setup(3, pair, 2, 8);
    c.stage[0].arg0 = M, c.stage[0].arg1 = 20000, c.stage[0].out_flags = DSI_F_NONBLOCK;
    c.stage[1].arg0 = SINK_GAPS, c.stage[1].arg1 = 100000;
    st = dsi_ctl_chain_build(&c);
    if (!st) st = dsi_ctl_chain_start(&c);
    is(st, 0, "C: non-blocking source -> slow sink started: %s", dsi_ctl_strerror(st));
    st = dsi_ctl_chain_wait(&c, 60000 * MS, 50 * MS);
    show_events();
    is(st, 0, "C: both stages reported DONE");
    bool drop_first = false;
    for (unsigned i = 0; i < c.nlog; i++)
        if (c.log[i].kind == DSI_CTL_EV_DROP) {
            drop_first = true;
            break;
        } else if (c.log[i].kind == DSI_CTL_EV_DONE && (c.log[i].cookie & 0xff) == 0) {
            break;
        }
    ok(c.drop_events == 1 && drop_first, "C: the source reported its first drop as an event, before its end");
    ok(c.done[0].code == DSI_E_OK && c.done[0].drops > 0 && c.done[0].packets + c.done[0].drops == M &&
           c.done[0].aux0 == M,
       "C: source: %lu committed + %lu dropped = %lu attempted", (unsigned long)c.done[0].packets,
       (unsigned long)c.done[0].drops, (unsigned long)c.done[0].aux0);
    ok(c.done[1].code == DSI_E_EOS && c.done[1].packets == c.done[0].packets && c.done[1].aux0 == 0,
       "C: sink: every committed packet (%lu), in order and intact (%lu bad)", (unsigned long)c.done[1].packets,
       (unsigned long)c.done[1].aux0);
    ok(hdr(0, 2) == c.done[0].drops && (hdr(0, 3) & DSI_EV_DROP),
       "C: the control area shows %lu drops and the DROP flag", (unsigned long)hdr(0, 2));
    st = dsi_ctl_chain_close(&c, 2000 * MS);
    is(st, 0, "C: closed");

    /* D: an endless source, stopped. */
    setup(4, pair, 2, 16);
    st = dsi_ctl_chain_build(&c);
    if (!st) st = dsi_ctl_chain_start(&c);
    is(st, 0, "D: endless source -> sink started");
    for (int i = 0; i < 10000 && hdr(0, 0) < 5000; i++) sleep_ns(1 * MS);
    uint64_t at = hdr(0, 0);
    st = dsi_ctl_chain_stop(&c, 0);
    ok(!st && at >= 5000, "D: the source stopped by the controller after >= %lu packets: %s", (unsigned long)at,
       dsi_ctl_strerror(st));
    st = dsi_ctl_chain_wait(&c, 10000 * MS, 50 * MS);
    show_events();
    ok(!st && c.done[0].code == DSI_E_OK && c.done[0].packets >= at, "D: source: OK after %lu packets",
       (unsigned long)c.done[0].packets);
    ok(c.done[1].code == DSI_E_EOS && c.done[1].packets == c.done[0].packets && c.done[1].aux0 == 0,
       "D: sink: end of stream, all %lu packets intact", (unsigned long)c.done[1].packets);
    is(dsi_ctl_chain_close(&c, 2000 * MS), 0, "D: closed");

    /* E: refusals. */
    struct dsi_ctl_stream s;
    st = dsi_ctl_stream_alloc(&s, 8, 1, 8 * 4096);
    struct dsi_ctl_end e = {.route = route("snk"), .port = DSI_CTL_PORT_OUT, .timeout_ns = 100 * MS,
                            .join = DSI_CTL_NO_HANDLE};
    int64_t r = st ? st : dsi_ctl_open(&e, &s);
    is(r, DSI_E_INVAL, "E: a sink has no output port: %s", dsi_ctl_strerror(r));
    dsi_ctl_close(&e);
    dsi_ctl_stream_free(&s);
    setup(5, pair, 2, 8);
    st = dsi_ctl_chain_build(&c);
    if (!st) {
        ((struct dsi_ctrl_header *)c.stream[0].ctrl)->num_packets = 1u << 30; /* the controller breaks it */
        st = dsi_ctl_chain_start(&c);
    }
    is(st, DSI_E_BADHDR, "E: START checks the header: %s", dsi_ctl_strerror(st));
    is(dsi_ctl_chain_close(&c, 2000 * MS), 0, "E: a chain that never ran closes");
    ctap_done();
}
