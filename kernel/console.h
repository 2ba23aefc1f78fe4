/* Kernel console output: the serial line, formatted. */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

void console_init(void);
/* Straight to the UART (user console output, after console_drain). */
void console_write(const char *s, size_t len);
/* Kernel messages (kprintf) queue in a ring once buffering is on. */
void console_buffer(bool on);
bool console_pending(void);
/* Write up to `max` queued bytes; true while more remain. */
bool console_drain(unsigned max);
void console_flush(void);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
