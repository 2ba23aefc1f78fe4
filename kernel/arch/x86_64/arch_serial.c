/* COM1 at 115200 8N1, transmit only, polled: the kernel never sleeps on it. */
#include "arch_serial.h"
#include "arch_cpu.h"

#define COM1 0x3f8

void arch_serial_init(void)
{
    outb(COM1 + 1, 0x00); /* no interrupts */
    outb(COM1 + 3, 0x80); /* DLAB */
    outb(COM1 + 0, 0x01); /* divisor 1: 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1 */
    outb(COM1 + 2, 0xc7); /* FIFO on */
    outb(COM1 + 4, 0x03);
}

void arch_serial_putc(char c)
{
    while (!(inb(COM1 + 5) & 0x20)) {
    }
    outb(COM1, (uint8_t)c);
}
