/* A multi-symbol range coder in integer arithmetic (32-bit range, 64-bit low with carry
 * propagation through a cached byte, after Subbotin / LZMA), so that the same symbols and the
 * same frequency tables give the same bytes on every platform and compiler. Frequencies are
 * (start, size, total) triples with total <= NAC_RC_MAX_TOTAL; adaptive models live with their
 * users. The decoder reads zero bytes past the end of its input, so a cut payload decodes to
 * something without reading out of bounds (the container's CRC catches the damage). */
#ifndef NAC_CORE_RANGE_CODER_H
#define NAC_CORE_RANGE_CODER_H

#include <stddef.h>
#include <stdint.h>

#define NAC_RC_MAX_TOTAL (1u << 16)

typedef struct nac_rc_encoder {
    uint64_t low;
    uint32_t range;
    uint8_t cache;
    uint64_t pending;  /* bytes waiting for a possible carry: the cache, then 0xFF bytes */
    uint8_t *buf;      /* (cap) not owned */
    size_t cap, size;  /* size counts every byte produced, also past cap (then overflowed) */
} nac_rc_encoder;

typedef struct nac_rc_decoder {
    uint32_t code, range, step;
    const uint8_t *buf; /* (size) not owned */
    size_t size, pos;
} nac_rc_decoder;

/* Starts encoding into buf[0..cap-1] (not owned). */
void nac_rc_encoder_init(nac_rc_encoder *e, uint8_t *buf, size_t cap);
/* Codes the symbol occupying [start, start + size) of [0, total); 0 < size, start + size <= total,
 * total <= NAC_RC_MAX_TOTAL. */
void nac_rc_encode(nac_rc_encoder *e, uint32_t start, uint32_t size, uint32_t total);
/* Codes the n low bits of v (n <= 16) with equal probabilities. */
void nac_rc_encode_bits(nac_rc_encoder *e, uint32_t v, int n);
/* Flushes; returns the byte count of the whole stream. If it is more than cap, the bytes past
 * cap were dropped (the stream did not fit). */
size_t nac_rc_encoder_finish(nac_rc_encoder *e);

/* Starts decoding buf[0..size-1] (not owned). */
void nac_rc_decoder_init(nac_rc_decoder *d, const uint8_t *buf, size_t size);
/* The cumulative frequency in [0, total) that the next symbol covers; follow with nac_rc_decode_update. */
uint32_t nac_rc_decode_freq(nac_rc_decoder *d, uint32_t total);
/* Consumes the symbol [start, start + size) found from nac_rc_decode_freq. */
void nac_rc_decode_update(nac_rc_decoder *d, uint32_t start, uint32_t size);
/* The n (<= 16) bits coded by nac_rc_encode_bits. */
uint32_t nac_rc_decode_bits(nac_rc_decoder *d, int n);

#endif
