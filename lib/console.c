/*
 * printf for freestanding programs: formats into a buffer and writes it to
 * the console with one system call, so lines from different tasks do not
 * interleave mid-line.
 */
#include "drops/console.h"
#include "drops/string.h"
#include "drops/sys.h"

#include <stdint.h>

struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size) o->buf[o->len] = c;
    o->len++;
}

static void put_num(struct out *o, uint64_t v, unsigned base, int width, char pad, int neg)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg && pad == '0') put(o, '-'), width--;
    else if (neg) tmp[n++] = '-';
    for (int i = n; i < width; i++) put(o, pad);
    while (n) put(o, tmp[--n]);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = {buf, size, 0};
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            put(&o, *p);
            continue;
        }
        p++;
        char pad = ' ';
        int width = 0, lng = 0, left = 0;
        if (*p == '-') left = 1, p++;
        if (*p == '0') pad = '0', p++;
        while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
        while (*p == 'l' || *p == 'z') lng++, p++;
        switch (*p) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            int n = (int)strlen(s);
            if (!left)
                for (int i = n; i < width; i++) put(&o, ' ');
            while (*s) put(&o, *s++);
            if (left)
                for (int i = n; i < width; i++) put(&o, ' ');
            break;
        }
        case 'c':
            put(&o, (char)va_arg(ap, int));
            break;
        case 'd':
        case 'i': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            put_num(&o, v < 0 ? (uint64_t)-v : (uint64_t)v, 10, width, pad, v < 0);
            break;
        }
        case 'u':
            put_num(&o, lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad, 0);
            break;
        case 'x':
            put_num(&o, lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad, 0);
            break;
        case 'p':
            put(&o, '0'), put(&o, 'x');
            put_num(&o, (uint64_t)va_arg(ap, void *), 16, width, pad, 0);
            break;
        case '%':
            put(&o, '%');
            break;
        default:
            put(&o, '?');
        }
    }
    if (size) o.buf[o.len < size ? o.len : size - 1] = 0;
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_PUTS, (uint64_t)buf, len);
    return n;
}

void console_puts(const char *s) { sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_PUTS, (uint64_t)s, strlen(s)); }

_Noreturn void machine_exit(int status)
{
    sys_machine(ABI_CAP_MACHINE, ABI_MACHINE_EXIT, (uint64_t)status, 0);
    /* Without the right to stop the machine, stop this thread. */
    for (;;) sys_ipc(0, 0, 0, 0, ABI_TIMEOUT_NEVER, ABI_IPC_RECV);
}
