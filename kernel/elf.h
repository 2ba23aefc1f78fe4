/*
 * ELF64 checking for the one program the kernel loads itself: the root task.
 * (Every other program is loaded at user level.)
 */
#ifndef KERNEL_ELF_H
#define KERNEL_ELF_H

#include <stdint.h>

struct task;

/* Load the image into the task; NULL on success, else what is wrong. */
const char *elf_load_root(struct task *t, const uint8_t *image, uint64_t size, uint64_t *entry);

#endif
