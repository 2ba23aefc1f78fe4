/*
 * IPC: message tags, flags, timeouts and typed items.
 *
 * A message is `words` untyped message registers followed by `items` typed
 * items of two registers each, all in the sender's UTCB. The kernel copies
 * them into the receiver's UTCB at rendezvous; typed items are interpreted:
 *
 *   map/grant item:  mr[i]   = ABI_ITEM_MAP or ABI_ITEM_GRANT | hotspot
 *                    mr[i+1] = send fpage (base | rights << 6 | order)
 *     The pages are mapped (granted: moved) into the receiver's receive
 *     window (utcb.br[ABI_BR_MEM_WINDOW], an fpage without rights). If the
 *     send fpage is smaller than the window, it lands at the window offset
 *     given by the hotspot; larger send fpages are cut to the window around
 *     the hotspot. The receiver finds in mr[i+1] the fpage actually mapped.
 *     One IPC carries at most ABI_IPC_MAX_ITEMS items and maps at most
 *     ABI_IPC_MAP_MAX_PAGES pages per item; bulk setup uses task_map, which
 *     is restartable.
 *   cap item:        mr[i]   = ABI_ITEM_CAP | rights mask << 8
 *                    mr[i+1] = sender's slot
 *     The capability is copied (with rights masked; the source must have
 *     ABI_R_COPY) into the next free slot of the receiver's window
 *     (br[ABI_BR_CAP_BASE], br[ABI_BR_CAP_COUNT]); mr[i+1] becomes the slot.
 *
 * Timeouts are relative nanoseconds: 0 means "do not block",
 * ABI_TIMEOUT_NEVER means "block until the partner comes".
 */
#ifndef ABI_IPC_H
#define ABI_IPC_H

#include "types.h"

#define ABI_MR_COUNT 64u
#define ABI_BR_COUNT 4u

typedef uint64_t abi_tag_t;

#define ABI_TAG(proto, words, items) \
    (((uint64_t)(proto) << 16) | ((uint64_t)(items) << 8) | (uint64_t)(words))
#define ABI_TAG_WORDS(tag) ((unsigned)((tag) & 0xffu))
#define ABI_TAG_ITEMS(tag) ((unsigned)(((tag) >> 8) & 0xffu))
#define ABI_TAG_PROTO(tag) ((uint64_t)(tag) >> 16)

/* Protocols the kernel itself speaks. User protocols start at ABI_PROTO_USER. */
#define ABI_PROTO_NONE 0u
#define ABI_PROTO_PAGE_FAULT 1u /* mr0 = address, mr1 = ip, mr2 = x86 error code */
#define ABI_PROTO_EXCEPTION 2u  /* mr = struct abi_exc_state */
#define ABI_PROTO_IRQ 3u        /* label = the IRQ's label */
#define ABI_PROTO_RT_NOTIFY 4u  /* mr = struct abi_rt_notification (3 words), label = preempter label */
#define ABI_PROTO_USER 0x100u

/* ipc flags (r9) */
#define ABI_IPC_SEND 0x1u  /* send phase to snd_cap */
#define ABI_IPC_RECV 0x2u  /* receive phase */
#define ABI_IPC_OPEN 0x4u  /* receive from any sender (else only from rcv_cap's thread) */
#define ABI_IPC_REPLY 0x8u /* send phase goes to the last caller (snd_cap ignored), never blocks */
#define ABI_IPC_CALL 0x10u /* receive only the partner's reply; the partner may reply once */

/*
 * Watched receive (with RECV, never with SEND, REPLY or CALL): block only
 * while the 32-bit word at the user address in snd_cap's register (rdi)
 * holds the value in snd_timeout's register (r10, low 32 bits). The kernel
 * reads the word with interrupts off, in the same kernel entry that would
 * block, before it looks for a message: if it differs, the call returns
 * ABI_E_CHANGED at once and receives nothing (a queued sender stays queued).
 * So a peer that stores to the word and then sends a wake-up with a zero
 * timeout can never lose it: either the receiver already sleeps and takes
 * the message, or it has not checked yet and finds the word changed (the
 * futex rule). The word must be 4-byte aligned and mapped
 * (ABI_E_INVALID_ARG otherwise).
 */
#define ABI_IPC_WATCH 0x20u

#define ABI_IPC_OP_CALL (ABI_IPC_SEND | ABI_IPC_RECV | ABI_IPC_CALL)
#define ABI_IPC_OP_REPLY_WAIT (ABI_IPC_REPLY | ABI_IPC_RECV | ABI_IPC_OPEN)
#define ABI_IPC_OP_WAIT (ABI_IPC_RECV | ABI_IPC_OPEN)
#define ABI_IPC_FLAGS_ALL 0x3fu

_Static_assert(ABI_IPC_FLAGS_ALL == (ABI_IPC_SEND | ABI_IPC_RECV | ABI_IPC_OPEN | ABI_IPC_REPLY | ABI_IPC_CALL |
                                     ABI_IPC_WATCH),
               "every IPC flag is in ABI_IPC_FLAGS_ALL, each one bit");
_Static_assert((ABI_IPC_WATCH & (ABI_IPC_WATCH - 1)) == 0 && ABI_IPC_WATCH > ABI_IPC_CALL,
               "ABI_IPC_WATCH is a new bit of its own");

#define ABI_TIMEOUT_ZERO 0ull
#define ABI_TIMEOUT_NEVER (~0ull)

/* Typed items */
#define ABI_ITEM_MAP 0x1u
#define ABI_ITEM_GRANT 0x2u
#define ABI_ITEM_CAP 0x3u
#define ABI_ITEM_TYPE(w) ((unsigned)((w) & 0xfu))
/* One IPC does a bounded amount of mapping work (the kernel does it with
 * interrupts off): at most ABI_IPC_MAX_ITEMS items of at most
 * ABI_IPC_MAP_MAX_PAGES pages each. Bulk mapping is task_map's job. */
#define ABI_IPC_MAP_MAX_PAGES 16u
#define ABI_IPC_MAX_ITEMS 4u

/* Memory rights in fpages and task_map */
#define ABI_MAP_R 0x1u
#define ABI_MAP_W 0x2u
#define ABI_MAP_X 0x4u
#define ABI_MAP_RWX 0x7u

/* Flexpage: a naturally aligned 2^order byte region, order >= 12. */
typedef uint64_t abi_fpage_t;
#define ABI_FPAGE(base, order, rights) \
    (((uint64_t)(base) & ~0xfffull) | ((uint64_t)(rights) << 6) | (uint64_t)(order))
#define ABI_FPAGE_BASE(f) ((uint64_t)(f) & ~0xfffull)
#define ABI_FPAGE_ORDER(f) ((unsigned)((f) & 0x3fu))
#define ABI_FPAGE_RIGHTS(f) ((unsigned)(((f) >> 6) & 0x7u))
#define ABI_FPAGE_WHOLE_SPACE ABI_FPAGE(0, 47, 0)

/* Buffer registers */
#define ABI_BR_MEM_WINDOW 0u
#define ABI_BR_CAP_BASE 1u
#define ABI_BR_CAP_COUNT 2u

#endif
