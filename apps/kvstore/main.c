/*
 * kvstore: a key-value store served over IPC (`provides kv`). Keys are one
 * word (up to 8 characters), values up to KV_VALUE_WORDS words. The label
 * of each request names the client (DROPS_LABEL), so the store counts who
 * wrote what; `kv-stats` prints that when asked.
 *
 * Protocol (mr0 = op; the reply's mr0 = 0 or an abi error):
 *   KV_PUT   mr1 = key, mr2.. = value words (the count is the tag's words - 2)
 *   KV_GET   mr1 = key -> mr1.. = value (reply words = 1 + value words)
 *   KV_STATS -> mr1 = keys, mr2 = puts, mr3 = gets
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "drops/services.h"
#include "kv.h"

struct entry {
    uint64_t key;
    unsigned words, writer;
    uint64_t value[KV_VALUE_WORDS];
};

static struct entry table[KV_KEYS];
static unsigned nkeys;
static uint64_t nputs, ngets;

static struct entry *find(uint64_t key, int create)
{
    for (unsigned i = 0; i < nkeys; i++)
        if (table[i].key == key) return &table[i];
    if (!create || nkeys == KV_KEYS) return NULL;
    table[nkeys].key = key;
    return &table[nkeys++];
}

int main(void)
{
    printf("kvstore: serving 'kv' (%d keys of up to %d words)\n", KV_KEYS, KV_VALUE_WORDS);
    fflush(stdout);
    struct sys_ret r = ipc_wait(ABI_TIMEOUT_NEVER);
    for (;;) {
        uint64_t *mr = utcb()->mr;
        unsigned words = r.err ? 0 : ABI_TAG_WORDS(r.v0), out = 1;
        int64_t e = ABI_E_INVALID_ARG;
        if (words >= 2 && mr[0] == KV_PUT && words - 2 <= KV_VALUE_WORDS) {
            struct entry *en = find(mr[1], 1);
            if (en) {
                en->words = words - 2;
                en->writer = DROPS_LABEL_CLIENT(r.v1);
                memcpy(en->value, &mr[2], en->words * 8);
                nputs++;
                e = 0;
            } else {
                e = ABI_E_NO_MEMORY;
            }
        } else if (words >= 2 && mr[0] == KV_GET) {
            struct entry *en = find(mr[1], 0);
            if (en) {
                memcpy(&mr[1], en->value, en->words * 8);
                out = 1 + en->words;
                ngets++;
                e = 0;
            }
        } else if (words >= 1 && mr[0] == KV_STATS) {
            mr[1] = nkeys, mr[2] = nputs, mr[3] = ngets;
            out = 4, e = 0;
        }
        mr[0] = (uint64_t)e;
        r = ipc_reply_wait(ABI_TAG(0, out, 0), ABI_TIMEOUT_NEVER);
    }
}
