/* The boot console: a 16550 UART on COM1, polled. */
#ifndef ARCH_SERIAL_H
#define ARCH_SERIAL_H

void arch_serial_init(void);
void arch_serial_putc(char c);

#endif
