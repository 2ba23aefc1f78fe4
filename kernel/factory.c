/* Factory objects and kernel-memory quotas (see factory.h). */
#include "factory.h"
#include "kmem.h"

struct factory *factory_create_root(uint64_t quota)
{
    struct factory *f = kmalloc(sizeof *f);
    if (!f) return NULL;
    f->obj.type = ABI_OBJ_FACTORY;
    f->quota = quota;
    return f;
}

bool factory_charge(struct factory *f, uint64_t bytes)
{
    if (!f || f->used + bytes > f->quota || f->used + bytes < f->used) return false;
    f->used += bytes;
    return true;
}

void factory_uncharge(struct factory *f, uint64_t bytes)
{
    if (f) f->used -= bytes < f->used ? bytes : f->used;
}

void *factory_alloc(struct factory *f, size_t size)
{
    size_t c = kmem_charge(size);
    if (!factory_charge(f, c)) return NULL;
    void *p = kmalloc(size);
    if (!p) factory_uncharge(f, c);
    return p;
}

void factory_free(struct factory *f, void *p, size_t size)
{
    if (!p) return;
    kfree(p, size);
    factory_uncharge(f, kmem_charge(size));
}

void *factory_alloc_pages(struct factory *f, unsigned order)
{
    uint64_t c = (uint64_t)KMEM_PAGE_SIZE << order;
    if (!factory_charge(f, c)) return NULL;
    void *p = kmem_alloc_pages(order);
    if (!p) factory_uncharge(f, c);
    return p;
}

void factory_free_pages(struct factory *f, void *p, unsigned order)
{
    if (!p) return;
    kmem_free_pages(p, order);
    factory_uncharge(f, (uint64_t)KMEM_PAGE_SIZE << order);
}

void *obj_alloc(struct factory *f, size_t size, uint8_t type)
{
    struct kobj *o = factory_alloc(f, size);
    if (!o) return NULL;
    o->type = type;
    o->factory = f;
    o->charge = (uint32_t)kmem_charge(size);
    f->objects++;
    return o;
}

/* A dead factory's own memory stays until the last object charged to it is
 * gone; then its quota returns to the parent, which may in turn be released. */
static void factory_release(struct factory *f)
{
    if (!f->obj.dead || f->objects) return;
    factory_uncharge(f->parent, f->quota);
    if (f->obj.factory)
        obj_free(&f->obj, sizeof *f);
}

void obj_free(struct kobj *o, size_t size)
{
    struct factory *f = o->factory;
    kfree(o, size);
    factory_uncharge(f, kmem_charge(size));
    if (f) {
        f->objects--;
        factory_release(f);
    }
}

void factory_destroy(struct factory *f)
{
    f->obj.dead = true;
    factory_release(f);
}
