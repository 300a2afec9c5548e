/* Range coder: see range_coder.h. Invariant: range stays in (2^24, 2^32] after normalisation,
 * so range / total >= 2^8 for total <= 2^16 and no symbol of size >= 1 gets an empty interval. */
#include "core/range_coder.h"

#define TOP (1u << 24)

static void put_byte(nac_rc_encoder *e, uint8_t b)
{
    if (e->size < e->cap)
        e->buf[e->size] = b;
    e->size++;
}

/* Moves the top byte of low out, resolving a carry into the bytes held back. The first byte is
 * always held as the cache (pending == 0: nothing held yet), also when it is 0xFF: counting it as
 * a pending 0xFF behind the empty first cache lost it (a stream whose first byte was 0xFF, e.g.
 * starting with the top symbol of a 16-bit table, decoded wrongly; range_coder_extreme_tables). */
static void shift_low(nac_rc_encoder *e)
{
    if ((uint32_t)e->low < 0xFF000000u || (e->low >> 32) != 0 || e->pending == 0) {
        uint8_t carry = (uint8_t)(e->low >> 32);
        if (e->pending) {
            put_byte(e, (uint8_t)(e->cache + carry));
            for (; e->pending > 1; e->pending--)
                put_byte(e, (uint8_t)(0xFF + carry));
        }
        e->pending = 1;
        e->cache = (uint8_t)(e->low >> 24);
    } else {
        e->pending++;
    }
    e->low = (e->low & 0x00FFFFFFu) << 8;
}

void nac_rc_encoder_init(nac_rc_encoder *e, uint8_t *buf, size_t cap)
{
    e->low = 0;
    e->range = 0xFFFFFFFFu;
    e->cache = 0;
    e->pending = 0;
    e->buf = buf;
    e->cap = cap;
    e->size = 0;
}

void nac_rc_encode(nac_rc_encoder *e, uint32_t start, uint32_t size, uint32_t total)
{
    uint32_t r = e->range / total;
    e->low += (uint64_t)r * start;
    e->range = r * size;
    while (e->range < TOP) {
        e->range <<= 8;
        shift_low(e);
    }
}

void nac_rc_encode_bits(nac_rc_encoder *e, uint32_t v, int n)
{
    nac_rc_encode(e, v & ((1u << n) - 1), 1, 1u << n);
}

size_t nac_rc_encoder_finish(nac_rc_encoder *e)
{
    for (int i = 0; i < 5; i++)
        shift_low(e);
    /* The decoder reads zeros past the end, so trailing zero bytes need not be stored. */
    while (e->size > 0 && e->size <= e->cap && e->buf[e->size - 1] == 0)
        e->size--;
    return e->size;
}

static uint8_t next_byte(nac_rc_decoder *d)
{
    return d->pos < d->size ? d->buf[d->pos++] : (d->pos++, 0);
}

void nac_rc_decoder_init(nac_rc_decoder *d, const uint8_t *buf, size_t size)
{
    d->buf = buf;
    d->size = size;
    d->pos = 0;
    d->range = 0xFFFFFFFFu;
    d->code = 0;
    d->step = 1;
    for (int i = 0; i < 4; i++) /* the encoder never writes the empty first cache byte */
        d->code = (d->code << 8) | next_byte(d);
}

uint32_t nac_rc_decode_freq(nac_rc_decoder *d, uint32_t total)
{
    d->step = d->range / total;
    uint32_t v = d->code / d->step;
    return v < total ? v : total - 1;
}

void nac_rc_decode_update(nac_rc_decoder *d, uint32_t start, uint32_t size)
{
    d->code -= d->step * start;
    d->range = d->step * size;
    while (d->range < TOP) {
        d->code = (d->code << 8) | next_byte(d);
        d->range <<= 8;
    }
}

uint32_t nac_rc_decode_bits(nac_rc_decoder *d, int n)
{
    uint32_t v = nac_rc_decode_freq(d, 1u << n);
    nac_rc_decode_update(d, v, 1);
    return v;
}
