/*
 * System test: interrupts as IPC and I/O port rights.
 *
 * The PIT (ISA IRQ 0, GSI 2 on the IOAPIC) is programmed as a 1 kHz rate
 * generator by the root task after it granted itself the PIT's ports. A
 * handler thread bound to the IRQ object receives one message per
 * interrupt and acknowledges it; a masked or unbound line delivers nothing.
 * A task without port rights that touches a port is stopped, not the kernel.
 */
#include "drops/ipc.h"
#include "drops/spawn.h"
#include "drops/tap.h"

#define PIT_GSI 2
#define TICKS 20

static uint8_t stacks[2][16384] __attribute__((aligned(16)));
static abi_cap_t irq;
static volatile uint64_t stamps[TICKS];
static volatile int handler_done, bad_label, intruder_progress;

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }

static void pit_start(unsigned hz)
{
    unsigned div = 1193182 / hz;
    outb(0x43, 0x34); /* channel 0, lo/hi byte, mode 2 (rate generator) */
    outb(0x40, div & 0xff);
    outb(0x40, div >> 8);
}

static void pit_stop(void)
{
    outb(0x43, 0x30); /* mode 0 with no count written: output stays low */
}

static void handler(uint64_t arg)
{
    for (int i = 0; i < TICKS; i++) {
        struct sys_ret r = ipc_wait(ABI_TIMEOUT_NEVER);
        if (r.err || ABI_TAG_PROTO(r.v0) != ABI_PROTO_IRQ || r.v1 != 0x42) bad_label = 1;
        stamps[i] = now_ns();
        sys_irq_control(irq, ABI_IRQ_UNMASK, 0, 0);
    }
    handler_done = 1;
    thread_exit();
}

static void intruder(uint64_t arg)
{
    intruder_progress = 1;
    outb(0x80, 0); /* no port rights: #GP, no handler: halted */
    intruder_progress = 2;
    thread_exit();
}

int main(void)
{
    struct sys_ret r;
    irq = cap_alloc();
    is(sys_irq_control(ABI_CAP_IRQ_CONTROL, ABI_IRQ_CREATE, 99, cap_alloc()).err, ABI_E_INVALID_ARG,
       "an IRQ object for a GSI the IOAPIC does not have is refused");
    is(sys_irq_control(ABI_CAP_IRQ_CONTROL, ABI_IRQ_CREATE, PIT_GSI, irq).err, 0, "create the IRQ object for GSI 2");
    is(sys_irq_control(ABI_CAP_IRQ_CONTROL, ABI_IRQ_CREATE, PIT_GSI, cap_alloc()).err, ABI_E_BUSY,
       "a second object for the same line is refused");
    is(sys_irq_control(ABI_CAP_FACTORY, ABI_IRQ_CREATE, 3, cap_alloc()).err, ABI_E_WRONG_TYPE,
       "IRQ creation needs the IRQ control capability");

    /* Port rights: a child without them is stopped at its first port access. */
    struct child c;
    child_task(&c, 16);
    child_thread(&c, intruder, 0, (uint64_t)(stacks[1] + sizeof stacks[1]), 100);
    sleep_ns(2000000);
    is(intruder_progress, 1, "a task without port rights is stopped at its first port access");
    struct child cc;
    child_task(&cc, 16);
    is(sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_IOPORTS, ABI_CAP_SELF_TASK, 0x40 | (4u << 16)).err, 0,
       "grant the root task the PIT ports 0x40-0x43");
    abi_cap_t weak = cap_alloc();
    sys_cap_copy(ABI_CAP_SELF_TASK, ABI_CAP_MACHINE, weak, ABI_R_SEND);
    is(sys_machine(weak, ABI_MACHINE_IOPORTS, cc.task, 0x60 | (1u << 16)).err, ABI_E_NO_RIGHTS,
       "granting ports needs the machine capability's control right");
    is(sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_IOPORTS, ABI_CAP_SELF_TASK, 0xfff0 | (0x100u << 16)).err,
       ABI_E_INVALID_ARG, "a port range beyond 0xffff is refused");

    /* One message per interrupt, acknowledged by unmasking. */
    struct child self = {.task = ABI_CAP_SELF_TASK};
    is(child_thread(&self, handler, 0, (uint64_t)(stacks[0] + sizeof stacks[0]), 150), 0, "start the handler thread");
    is(sys_irq_control(irq, ABI_IRQ_BIND, self.thread, 0x42).err, 0, "bind the IRQ to it with label 0x42");
    pit_start(1000);
    uint64_t t0 = now_ns();
    while (!handler_done && now_ns() - t0 < 200000000ull) sleep_ns(1000000);
    pit_stop();
    ok(handler_done, "the handler received %d interrupt messages", TICKS);
    ok(!bad_label, "each came as ABI_PROTO_IRQ with the bound label");
    uint64_t span = stamps[TICKS - 1] - stamps[0];
    uint64_t avg = span / (TICKS - 1);
    ok(avg > 900000 && avg < 1100000, "they arrived every %lu us on average (1000 expected)", avg / 1000);

    /* Masked: the handler stopped acknowledging, so nothing more arrives. */
    pit_start(1000);
    sleep_ns(5000000);
    r = ipc_wait(ABI_TIMEOUT_ZERO);
    is(r.err, ABI_E_TIMEOUT, "no IRQ reaches an unbound thread (the root) while the line is masked");

    /* Rebind to the root's own thread, acknowledge, and take one more. */
    is(sys_irq_control(irq, ABI_IRQ_BIND, ABI_CAP_SELF_THREAD, 7).err, 0, "rebind the IRQ to the root thread");
    sys_irq_control(irq, ABI_IRQ_UNMASK, 0, 0);
    r = ipc_wait(50000000);
    ok(r.err == 0 && ABI_TAG_PROTO(r.v0) == ABI_PROTO_IRQ && r.v1 == 7, "after unmasking the next tick arrives with label 7");
    is(sys_irq_control(irq, ABI_IRQ_UNBIND, 0, 0).err, 0, "unbind");
    sys_irq_control(irq, ABI_IRQ_UNMASK, 0, 0);
    r = ipc_wait(5000000);
    is(r.err, ABI_E_TIMEOUT, "an unbound line delivers nothing");
    pit_stop();

    is(sys_cap_delete(irq).err, 0, "delete the IRQ object");
    is(sys_irq_control(ABI_CAP_IRQ_CONTROL, ABI_IRQ_CREATE, PIT_GSI, irq).err, 0, "the line can be taken again");
    tap_done();
}
