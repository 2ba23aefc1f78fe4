/*
 * The test pattern the DSI components agree on (components/dsi-source,
 * dsi-filter, dsi-sink): packet number `seq` of a source is
 * dsi_pattern_len(seq) bytes, the first 8 the sequence number (little
 * endian), byte i >= 8 is (seq * 7 + i) mod 256; a filter XORs bytes 8 and
 * up with its key, so the sink checks every byte against the XOR of all
 * keys on the way. Deterministic, cheap, and a packet that is reordered,
 * truncated, duplicated or mixed with another never passes.
 */
#ifndef DSI_DSI_PATTERN_H
#define DSI_DSI_PATTERN_H

#include <stdint.h>

#define DSI_PATTERN_MAX 512u /* bytes of the longest packet */

static inline uint32_t dsi_pattern_len(uint64_t seq)
{
    return 9u + (uint32_t)((seq * 37u) % (DSI_PATTERN_MAX - 8u));
}

static inline uint8_t dsi_pattern_byte(uint64_t seq, uint32_t i, uint8_t key)
{
    if (i < 8) return (uint8_t)(seq >> (8 * i));
    return (uint8_t)((uint8_t)(seq * 7u + i) ^ key);
}

#endif
