/* Formatted output to the kernel console through the machine capability. */
#ifndef DROPS_CONSOLE_H
#define DROPS_CONSOLE_H

#include <stdarg.h>
#include <stddef.h>

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void console_puts(const char *s);
_Noreturn void machine_exit(int status);

#endif
