/*
 * printf for the kernel: %s %c %d %i %u %x %p with l/ll/z modifiers and a
 * field width with optional 0 padding. Enough for diagnostics; nothing else.
 */
#include "console.h"
#include "arch_cpu.h"
#include "arch_serial.h"

#include <stdint.h>

void console_init(void) { arch_serial_init(); }

void console_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n') arch_serial_putc('\r');
        arch_serial_putc(s[i]);
    }
}

/*
 * Once threads run, kernel messages go into a ring instead of straight to
 * the UART: the UART is polled a character at a time, and a long message
 * written with interrupts off would be the longest section in the kernel.
 * The ring is drained in short pieces where the kernel can afford it (the
 * idle loop, kernel exits, before user console output, which keeps the
 * order) and completely before the machine stops.
 */
#define RING_SIZE 8192u
static char ring[RING_SIZE];
static uint32_t ring_head, ring_tail; /* free-running; tail - head = bytes queued */
static uint64_t ring_dropped;
static bool buffered;

void console_buffer(bool on) { buffered = on; }

bool console_pending(void) { return ring_head != ring_tail; }

bool console_drain(unsigned max)
{
    while (max-- && ring_head != ring_tail) {
        char c = ring[ring_head++ % RING_SIZE];
        console_write(&c, 1);
    }
    if (ring_head == ring_tail && ring_dropped) {
        uint64_t d = ring_dropped;
        ring_dropped = 0;
        bool was = buffered;
        buffered = false;
        kprintf("[kernel] console: %lu bytes of kernel messages dropped (ring full)\n", d);
        buffered = was;
    }
    return ring_head != ring_tail;
}

void console_flush(void)
{
    while (console_drain(256)) {
    }
}

static void message_write(const char *s, size_t len)
{
    if (!buffered) {
        console_write(s, len);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (ring_tail - ring_head == RING_SIZE) {
            ring_dropped += len - i;
            return;
        }
        ring[ring_tail++ % RING_SIZE] = s[i];
    }
}

static void put_num(uint64_t v, unsigned base, int width, char pad, int neg)
{
    char buf[24];
    int n = 0;
    do {
        buf[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg) buf[n++] = '-';
    while (n < width && n < (int)sizeof(buf)) buf[n++] = pad;
    while (n) {
        char c = buf[--n];
        message_write(&c, 1);
    }
}

static void vkprintf(const char *fmt, va_list ap)
{
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            const char *q = p;
            while (*q && *q != '%') q++;
            message_write(p, (size_t)(q - p));
            p = q - 1;
            continue;
        }
        p++;
        char pad = ' ';
        int width = 0, lng = 0;
        if (*p == '0') pad = '0', p++;
        while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
        while (*p == 'l' || *p == 'z') lng++, p++;
        switch (*p) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            size_t len = 0;
            while (s[len]) len++;
            message_write(s, len);
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            message_write(&c, 1);
            break;
        }
        case 'd':
        case 'i': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            put_num(v < 0 ? (uint64_t)-v : (uint64_t)v, 10, width, pad, v < 0);
            break;
        }
        case 'u':
            put_num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad, 0);
            break;
        case 'x':
            put_num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad, 0);
            break;
        case 'p':
            message_write("0x", 2);
            put_num((uint64_t)va_arg(ap, void *), 16, width, pad, 0);
            break;
        case '%':
            message_write("%", 1);
            break;
        default:
            message_write("?", 1);
            break;
        }
    }
}

void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vkprintf(fmt, ap);
    va_end(ap);
}

_Noreturn void panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    console_flush();
    buffered = false;
    kprintf("\nKERNEL PANIC: ");
    vkprintf(fmt, ap);
    va_end(ap);
    kprintf("\n");
    arch_machine_exit(0x7e);
}
