/*
 * What every kernel object has in common: its type, whether it is being torn
 * down, and the factory its memory is charged to.
 *
 * Lifetime rule: an object lives exactly as long as its original capability
 * (the one its factory installed). Deleting the original first revokes every
 * copy, then hands the object to obj_destroy, which cuts the kernel-internal
 * links and queues it for the reaper; the reaper frees it in bounded steps.
 */
#ifndef KERNEL_OBJECT_H
#define KERNEL_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/objects.h"

struct factory;

struct kobj {
    uint8_t type; /* enum abi_obj_type */
    bool dead;
    uint16_t pad;
    uint32_t charge; /* bytes charged to `factory` for the object itself */
    struct factory *factory;
    struct kobj *reap_next;
};

/* Called when an object's original capability is removed. */
void obj_destroy(struct kobj *o);

/* Free dead objects in bounded steps; true while work remains. */
bool reap_step(void);
bool reap_pending(void);

/* Allocate a zeroed object of `size` bytes charged to factory f. */
void *obj_alloc(struct factory *f, size_t size, uint8_t type);
void obj_free(struct kobj *o, size_t size);

#endif
