/* The kvstore protocol (see main.c) and its client calls. */
#ifndef KV_H
#define KV_H

#include <stdint.h>
#include <string.h>

#include "drops/ipc.h"

#define KV_PUT 1
#define KV_GET 2
#define KV_STATS 3
#define KV_KEYS 64
#define KV_VALUE_WORDS 8

/* A key from up to 8 characters. */
static inline uint64_t kv_key(const char *s)
{
    uint64_t k = 0;
    memcpy(&k, s, strnlen(s, 8));
    return k;
}

static inline int64_t kv_put(abi_cap_t kv, const char *key, const uint64_t *value, unsigned words)
{
    uint64_t *mr = utcb()->mr;
    mr[0] = KV_PUT, mr[1] = kv_key(key);
    memcpy(&mr[2], value, words * 8);
    struct sys_ret r = ipc_call(kv, ABI_TAG(0, 2 + words, 0), ABI_TIMEOUT_NEVER);
    return r.err ? r.err : (int64_t)mr[0];
}

static inline int64_t kv_get(abi_cap_t kv, const char *key, uint64_t *value, unsigned words)
{
    uint64_t *mr = utcb()->mr;
    mr[0] = KV_GET, mr[1] = kv_key(key);
    struct sys_ret r = ipc_call(kv, ABI_TAG(0, 2, 0), ABI_TIMEOUT_NEVER);
    if (r.err) return r.err;
    if (mr[0]) return (int64_t)mr[0];
    if (ABI_TAG_WORDS(r.v0) - 1 < words) words = ABI_TAG_WORDS(r.v0) - 1;
    memcpy(value, &mr[1], words * 8);
    return 0;
}

#endif
