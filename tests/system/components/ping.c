/*
 * System test component: a client of `pong` through a route the scenario
 * declares, sharing a dataspace with it, and the witness of containment:
 * `crasher` faults, the root reports it, and ping and pong carry on.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drops/ctap.h"
#include "drops/services.h"
#include "drops/thread.h"

/* A native thread: no libc, just counting and IPC-free spinning. */
static volatile unsigned long spins;
static int *volatile thread_errno;
static void spinner(void *arg)
{
    unsigned long n = (unsigned long)arg;
    thread_errno = &errno; /* through the thread pointer: fs must be set */
    for (unsigned long i = 0; i < n; i++) spins++;
}
static unsigned char spin_stack[16384] __attribute__((aligned(16)));

int main(void)
{
    const char *slot_env = getenv("DROPS_CAP_echo");
    unsigned slot = slot_env ? (unsigned)atoi(slot_env) : 0;
    ok(slot >= DROPS_CAP_ROUTES, "the route to 'echo' is in slot %u (DROPS_CAP_echo)", slot);

    uint64_t *mr = utcb()->mr;
    mr[0] = 1, mr[1] = 41, mr[2] = 99;
    struct sys_ret r = ipc_call(slot, ABI_TAG(0, 3, 0), ABI_TIMEOUT_NEVER);
    ok(!r.err && mr[1] == 42 && mr[2] == 100, "an IPC call through the route: pong answered 42, 100");
    /* ping is the scenario's third component (index 2). */
    ok(!r.err && DROPS_LABEL_SERVICE(mr[0]) == 0 && DROPS_LABEL_CLIENT(mr[0]) == 2,
       "pong saw the label of (its service 0, client 2 = ping): 0x%lx", (unsigned long)mr[0]);

    uint64_t addr = 0, size = 0;
    int64_t e;
    /* pong creates the dataspace; it may not have got there yet. */
    for (int i = 0; i < 100 && (e = drops_mem_share("pingpong", 0, &addr, &size)) != 0; i++) {
        struct timespec d = {0, 1000000};
        nanosleep(&d, NULL);
    }
    ok(!e && addr && size == 64 << 10, "attached the shared dataspace 'pingpong': %lu bytes", (unsigned long)size);
    if (!e) {
        volatile uint32_t *p = (volatile uint32_t *)addr;
        for (uint64_t i = 0; i < size / 4; i++) p[i] = (uint32_t)(i * 7 + 1);
        mr[0] = 2;
        r = ipc_call(slot, ABI_TAG(0, 1, 0), ABI_TIMEOUT_NEVER);
        ok(!r.err && mr[1] == size / 4, "pong read every word ping wrote (%lu of %lu)", (unsigned long)mr[1],
           (unsigned long)(size / 4));
        uint64_t good = 0;
        for (uint64_t i = 0; i < size / 4; i++) good += p[i] == (uint32_t)(i * 3);
        ok(good == size / 4, "and ping reads what pong wrote back: zero copies, one memory");
    }
    ok(drops_mem_share("pingpong", 4096, &addr, &size) == ABI_E_INVALID_ARG,
       "attaching with a different size is refused");

    /* Containment: wait for crasher's end, then check the others still work. */
    struct drops_comp_status st = {0};
    for (int i = 0; i < 500; i++) {
        if (drops_parent_status("crasher", &st) || st.state != DROPS_COMP_RUNNING) break;
        struct timespec d = {0, 2000000};
        nanosleep(&d, NULL);
    }
    ok(st.state == DROPS_COMP_FAULTED, "the root reports 'crasher' as faulted (state %lu)", (unsigned long)st.state);
    ok(st.fault_vector == ABI_EXC_PF && st.fault_addr == 0xdead0000 && st.fault_ip >= 0x400000,
       "with its fault: page fault at 0x%lx, ip 0x%lx", (unsigned long)st.fault_addr, (unsigned long)st.fault_ip);
    mr[0] = 1, mr[1] = 1;
    r = ipc_call(slot, ABI_TAG(0, 2, 0), ABI_TIMEOUT_NEVER);
    ok(!r.err && mr[1] == 2, "pong still answers after the crash");
    ok(drops_parent_status("nobody", &st) == ABI_E_INVALID_ARG, "status of an unknown component: an error");
    ok(drops_log("a line through the log service", 30) == 0, "the log service prints a line");
    ok(drops_file_map("greeting", &addr, &size) == ABI_E_INVALID_CAP, "no route to 'files': the call fails cleanly");
    struct drops_thread t = {0, 0};
    ok(drops_thread_create(&t, spinner, (void *)1000, 200, spin_stack, sizeof spin_stack) == ABI_E_PRIORITY,
       "a native thread above the component's priority (200 > 100) is refused");
    /* At the component's own priority: it shares the CPU with the other
     * components' threads at 100 (a lower one would wait for all of them). */
    int64_t te = drops_thread_create(&t, spinner, (void *)100000, 100, spin_stack, sizeof spin_stack);
    ok(!te && sys_cap_info(DROPS_CAP_THREAD_BASE + t.index).err == 0,
       "created; its capability is at DROPS_CAP_THREAD_BASE + %u", t.index);
    for (int i = 0; i < 2000 && spins < 100000; i++) {
        struct timespec d = {0, 1000000};
        nanosleep(&d, NULL);
    }
    ok(thread_errno == &errno, "it shares the main thread's libc thread state (its errno is the main thread's)");
    ok(!te && spins == 100000, "a native thread at priority 100 ran its function (tid %lu, index %u, %lu spins, %ld)",
       (unsigned long)t.tid, t.index, spins, (long)te);
    ok(sys_cap_info(DROPS_CAP_THREAD_BASE + t.index).err != 0,
       "once it returned, its capability (DROPS_CAP_THREAD_BASE + %u) is gone", t.index);
    ctap_done();
}
