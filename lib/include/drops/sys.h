/*
 * Native system-call stubs, generated from the one list in abi/syscalls.h.
 * Every stub returns {err, v0, v1}: rax, rdx and rsi after the call.
 */
#ifndef DROPS_SYS_H
#define DROPS_SYS_H

#include <stdint.h>

#include "abi/errors.h"
#include "abi/exception.h"
#include "abi/ipc.h"
#include "abi/kip.h"
#include "abi/objects.h"
#include "abi/sched.h"
#include "abi/syscalls.h"
#include "abi/utcb.h"

struct sys_ret {
    int64_t err;
    uint64_t v0, v1;
};

static inline struct sys_ret sys_raw(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                                     uint64_t a5)
{
    register uint64_t r10 __asm__("r10") = a3;
    register uint64_t r8 __asm__("r8") = a4;
    register uint64_t r9 __asm__("r9") = a5;
    uint64_t rax = nr, rdx = a2, rsi = a1;
    __asm__ volatile("syscall"
                     : "+a"(rax), "+d"(rdx), "+S"(rsi), "+r"(r10), "+r"(r8), "+r"(r9)
                     : "D"(a0)
                     : "rcx", "r11", "memory");
    return (struct sys_ret){(int64_t)rax, rdx, rsi};
}

#define SYS_STUB_0(num, name) \
    static inline struct sys_ret sys_##name(void) { return sys_raw(ABI_SYSCALL_BASE + num, 0, 0, 0, 0, 0, 0); }
#define SYS_STUB_1(num, name)                                                      \
    static inline struct sys_ret sys_##name(uint64_t a0)                           \
    {                                                                              \
        return sys_raw(ABI_SYSCALL_BASE + num, a0, 0, 0, 0, 0, 0);                 \
    }
#define SYS_STUB_3(num, name)                                                      \
    static inline struct sys_ret sys_##name(uint64_t a0, uint64_t a1, uint64_t a2) \
    {                                                                              \
        return sys_raw(ABI_SYSCALL_BASE + num, a0, a1, a2, 0, 0, 0);               \
    }
#define SYS_STUB_4(num, name)                                                                   \
    static inline struct sys_ret sys_##name(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3) \
    {                                                                                           \
        return sys_raw(ABI_SYSCALL_BASE + num, a0, a1, a2, a3, 0, 0);                           \
    }
#define SYS_STUB_5(num, name)                                                                                \
    static inline struct sys_ret sys_##name(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4) \
    {                                                                                                        \
        return sys_raw(ABI_SYSCALL_BASE + num, a0, a1, a2, a3, a4, 0);                                       \
    }
#define SYS_STUB_6(num, name)                                                                                 \
    static inline struct sys_ret sys_##name(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, \
                                            uint64_t a5)                                                      \
    {                                                                                                         \
        return sys_raw(ABI_SYSCALL_BASE + num, a0, a1, a2, a3, a4, a5);                                       \
    }
#define SYS_STUB(num, name, nargs) SYS_STUB_##nargs(num, name)
ABI_SYSCALLS(SYS_STUB)
#undef SYS_STUB

/* The calling thread's UTCB: the kernel sets gs base to it and stores its
 * address in utcb.user[0]. */
static inline struct abi_utcb *utcb(void)
{
    struct abi_utcb *u;
    __asm__ volatile("mov %%gs:%c1, %0" : "=r"(u) : "i"(__builtin_offsetof(struct abi_utcb, user)));
    return u;
}

static inline const struct abi_kip *kip(void) { return (const struct abi_kip *)ABI_KIP_ADDR; }

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* Nanoseconds since boot from the KIP's clock. */
/* Nanoseconds since boot from the KIP's clock: one multiplication with a
 * factor computed once, as the kernel does (a 128-bit division per call
 * would cost more than what real-time code usually measures). */
extern uint64_t clock_mult; /* ns = tsc * clock_mult >> 32; 0 until first use */
uint64_t clock_mult_init(void);
static inline uint64_t now_ns(void)
{
    uint64_t m = clock_mult ? clock_mult : clock_mult_init();
    return (uint64_t)(((unsigned __int128)rdtsc() * m) >> 32);
}

const char *sys_error_name(int64_t err);

#endif
