/* CRC-16/IBM-3740 bytewise with a 256-entry table built on first use, and its shift operator
 * (multiplication modulo the polynomial in GF(2)) for combining running CRCs. */
#include "core/crc16.h"

#define POLY 0x1021u

static uint16_t table[256];
static int table_ready;

static void make_table(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint16_t r = (uint16_t)(i << 8);
        for (int k = 0; k < 8; k++)
            r = (uint16_t)(r & 0x8000u ? (unsigned)(r << 1) ^ POLY : (unsigned)(r << 1));
        table[i] = r;
    }
    table_ready = 1; /* idempotent: racing threads write the same values */
}

uint16_t nac_crc16(uint16_t reg, const void *data, size_t n)
{
    if (!table_ready)
        make_table();
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++)
        reg = (uint16_t)((reg << 8) ^ table[(reg >> 8) ^ p[i]]);
    return reg;
}

/* a * b mod (x^16 + POLY), polynomials of degree < 16 as bit masks (bit 15 = x^15). */
static uint16_t mulmod(uint16_t a, uint16_t b)
{
    uint16_t r = 0;
    for (int k = 15; k >= 0; k--) {
        r = (uint16_t)(r & 0x8000u ? (unsigned)(r << 1) ^ POLY : (unsigned)(r << 1));
        if (b >> k & 1)
            r ^= a;
    }
    return r;
}

uint16_t nac_crc16_shift_gen(uint64_t n)
{
    uint16_t result = 1, base = 0x100; /* x^0, x^8 */
    for (; n; n >>= 1) {
        if (n & 1)
            result = mulmod(result, base);
        base = mulmod(base, base);
    }
    return result;
}

uint16_t nac_crc16_shift(uint16_t reg, uint16_t op) { return mulmod(reg, op); }
