/* CRC-32 (IEEE 802.3, the zlib/PNG polynomial) through zlib. */
#ifndef NAC_CORE_CRC32_H
#define NAC_CORE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc over n bytes; start with crc = 0. */
uint32_t nac_crc32(uint32_t crc, const void *data, size_t n);
/* The CRC of A followed by B from crc1 = CRC(A), crc2 = CRC(B) and len2 = |B| bytes, in
 * O(log len2) time. CRC is linear, so CRC(B) = CRC(A B) ^ nac_crc32_combine(CRC(A), 0, |B|): a
 * reader holding running CRCs of a stream gets the CRC of any span of it without rereading it. */
uint32_t nac_crc32_combine(uint32_t crc1, uint32_t crc2, uint64_t len2);
/* The same in two steps, for many combines with one length: op = nac_crc32_combine_gen(len2), then
 * nac_crc32_combine_op(crc1, crc2, op) (32 steps instead of O(log len2) multiplications). */
uint32_t nac_crc32_combine_gen(uint64_t len2);
uint32_t nac_crc32_combine_op(uint32_t crc1, uint32_t crc2, uint32_t op);

#endif
