/*
 * System test component: 1,000 corrupted copies of a valid ELF program
 * (boot file `victim`) go to the root's loader service. Each is refused
 * with a reason, or started as a child and contained: it exits, faults or
 * is stopped after a while; the loader, the root and the kernel carry on,
 * and the unmodified program still starts and exits 0 at the end.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "abi/elf.h"
#include "drops/ctap.h"
#include "drops/services.h"

#define COPIES 1000
#define CHILD_QUOTA (2u << 20)
#define CHILD_PRIO 50

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static void sleep_ms(long ms)
{
    struct timespec d = {0, ms * 1000000};
    nanosleep(&d, NULL);
}

/* Wait for a child's end (stopping it after `patience` ms); its state. */
static uint64_t wait_child(const char *name, uint64_t handle, int patience, struct drops_comp_status *st)
{
    for (int t = 0; t < patience; t++) {
        if (drops_parent_status(name, st)) return DROPS_COMP_UNKNOWN;
        if (st->state != DROPS_COMP_RUNNING) return st->state;
        sleep_ms(1);
    }
    drops_loader_stop(handle);
    drops_parent_status(name, st);
    return 0; /* stopped */
}

static int run_original(const unsigned char *elf, size_t size, const char *name)
{
    uint64_t h;
    struct drops_comp_status st;
    if (drops_loader_start(elf, size, CHILD_QUOTA, CHILD_PRIO, name, &h)) return 0;
    return wait_child(name, h, 2000, &st) == DROPS_COMP_EXITED && st.exit_status == 0;
}

int main(void)
{
    int fd = open("/boot/victim", O_RDONLY);
    struct stat sb;
    if (!ok(fd >= 0 && fstat(fd, &sb) == 0, "the victim program is a boot file")) ctap_done();
    size_t size = (size_t)sb.st_size;
    unsigned char *orig = malloc(size), *copy = malloc(size);
    ok(orig && copy && read(fd, orig, size) == (ssize_t)size, "read it: %zu bytes", size);
    close(fd);
    ok(run_original(orig, size, "victim-first"), "the loader starts the unmodified program; it exits 0");

    const struct abi_elf64_ehdr *eh = (const void *)orig;
    unsigned refused = 0, exited = 0, faulted = 0, stopped = 0, other = 0;
    char name[32];
    for (int i = 0; i < COPIES; i++) {
        memcpy(copy, orig, size);
        size_t len = size;
        switch (rnd() % 6) {
        case 0: /* a byte of the ELF header */
            copy[rnd() % sizeof *eh] = (unsigned char)rnd();
            break;
        case 1: /* a byte of the program headers */
            copy[eh->phoff + rnd() % (eh->phnum * sizeof(struct abi_elf64_phdr))] = (unsigned char)rnd();
            break;
        case 2: { /* a whole field of a program header: extreme values */
            static const uint64_t extreme[] = {0, 1, 0xfff, 0x7fffffffffffull, ~0ull, 1ull << 63, 0x400000};
            size_t at = eh->phoff + (rnd() % eh->phnum) * sizeof(struct abi_elf64_phdr) + 8 * (1 + rnd() % 6);
            uint64_t v = extreme[rnd() % 7];
            memcpy(copy + at, &v, 8);
            break;
        }
        case 3: /* bytes anywhere, code included */
            for (int k = 0; k < 8; k++) copy[rnd() % size] = (unsigned char)rnd();
            break;
        case 4: /* cut short */
            len = rnd() % size;
            if (!len) len = 1;
            break;
        default: /* the entry point somewhere else */
            memcpy(copy + 24, &(uint64_t){0x400000 + rnd() % 0x10000}, 8);
            break;
        }
        snprintf(name, sizeof name, "fz-%d", i);
        uint64_t h;
        int64_t e = drops_loader_start(copy, len, CHILD_QUOTA, CHILD_PRIO, name, &h);
        if (e == ABI_E_INVALID_ARG) {
            refused++;
            continue;
        }
        if (e) {
            other++;
            printf("# copy %d: loader error %ld\n", i, (long)e);
            continue;
        }
        struct drops_comp_status st;
        switch (wait_child(name, h, 50, &st)) {
        case DROPS_COMP_EXITED: exited++; break;
        case DROPS_COMP_FAULTED: faulted++; break;
        case 0: stopped++; break;
        default: other++; break;
        }
    }
    printf("# %d copies: %u refused, %u exited, %u faulted, %u stopped, %u other\n", COPIES, refused, exited, faulted,
           stopped, other);
    ok(refused + exited + faulted + stopped == COPIES && !other,
       "every corrupted copy was refused (%u) or contained: exited %u, faulted %u, stopped %u", refused, exited,
       faulted, stopped);
    ok(refused > 0 && exited + faulted + stopped > 0, "both outcomes happened: the checks refuse, the rest runs contained");
    uint64_t quota = 0, used = ~0ull;
    ok(drops_mem_info(&quota, &used) == 0 && used < (4u << 20),
       "the children's quota came back to the parent (%lu KiB in use)", (unsigned long)(used >> 10));
    ok(run_original(orig, size, "victim-last"), "afterwards the unmodified program still starts and exits 0");
    ctap_done();
}
