/* CRC-32 (IEEE 802.3, the zlib/PNG polynomial) through zlib. */
#ifndef NAC_CORE_CRC32_H
#define NAC_CORE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc over n bytes; start with crc = 0. */
uint32_t nac_crc32(uint32_t crc, const void *data, size_t n);

#endif
