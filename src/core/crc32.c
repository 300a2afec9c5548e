/* CRC-32 via zlib, fed in chunks that fit its uInt length. */
#include "core/crc32.h"

#include <zlib.h>

uint32_t nac_crc32(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}

uint32_t nac_crc32_combine(uint32_t crc1, uint32_t crc2, uint64_t len2)
{
    return (uint32_t)crc32_combine64(crc1, crc2, (z_off64_t)len2);
}

uint32_t nac_crc32_combine_gen(uint64_t len2) { return (uint32_t)crc32_combine_gen64((z_off64_t)len2); }

uint32_t nac_crc32_combine_op(uint32_t crc1, uint32_t crc2, uint32_t op)
{
    return (uint32_t)crc32_combine_op(crc1, crc2, op);
}
