/* For the fuzz targets that read weight files (docs/format.md part 1): repairs the metadata CRC and
 * every tensor's CRC of a mutated file in place, so that mutations reach the table and config checks
 * and the models' size limits instead of stopping at a checksum. */
#ifndef NAC_FUZZ_WEIGHTS_REPAIR_H
#define NAC_FUZZ_WEIGHTS_REPAIR_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/crc32.h"

#define NAC_FUZZ_W_HEADER 32
#define NAC_FUZZ_W_ENTRY 104

static inline void nac_fuzz_repair_weights(uint8_t *b, size_t n)
{
    if (n < NAC_FUZZ_W_HEADER)
        return;
    uint64_t meta = nac_get_le64(b + 16), count = nac_get_le32(b + 12);
    if (meta < NAC_FUZZ_W_HEADER || meta > n - 4 || count > (meta - NAC_FUZZ_W_HEADER) / NAC_FUZZ_W_ENTRY)
        return;
    for (uint64_t i = 0; i < count; i++) {
        uint8_t *e = b + meta - NAC_FUZZ_W_ENTRY * (count - i);
        uint64_t off = nac_get_le64(e + 88), len = nac_get_le64(e + 96);
        if (off <= n && len <= n - off)
            nac_put_le32(e + 68, nac_crc32(0, b + off, (size_t)len));
    }
    nac_put_le32(b + meta, nac_crc32(0, b, (size_t)meta));
}

/* The file a weight target reads: the input after its first byte, CRCs repaired when that byte is
 * odd. malloc'd (size - 1 bytes, *n); NULL for an empty input. */
static inline uint8_t *nac_fuzz_weights_input(const uint8_t *data, size_t size, size_t *n)
{
    if (size < 1)
        return NULL;
    uint8_t *b = malloc(size);
    if (!b)
        abort();
    memcpy(b, data + 1, size - 1);
    if (data[0] & 1)
        nac_fuzz_repair_weights(b, size - 1);
    *n = size - 1;
    return b;
}

#endif
