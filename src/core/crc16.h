/* CRC-16/IBM-3740 (the "CCITT-FALSE" CRC of X.25 framing's polynomial): polynomial 0x1021, not
 * reflected, initial register 0xFFFF, no final XOR; the CRC of "123456789" is 0x29B1. It detects
 * every error burst of up to 16 bits, and every 1-, 2- and 3-bit error in up to 4093 bytes. The
 * .nac container (version 2) checks its metadata and its shorter packets with it. */
#ifndef NAC_CORE_CRC16_H
#define NAC_CORE_CRC16_H

#include <stddef.h>
#include <stdint.h>

#define NAC_CRC16_INIT 0xFFFFu

/* Continues the register reg over n bytes; a CRC starts from reg = NAC_CRC16_INIT. */
uint16_t nac_crc16(uint16_t reg, const void *data, size_t n);
/* The register after n zero bytes is a product with x^(8n) mod the polynomial:
 * op = nac_crc16_shift_gen(n), then nac_crc16_shift(reg, op), O(16) per call. A reader keeping the
 * running register R[o] of a stream (from 0 at some origin) gets the CRC of the span [a, b) as
 * R[b] ^ nac_crc16_shift(NAC_CRC16_INIT ^ R[a], nac_crc16_shift_gen(b - a)) without rereading it. */
uint16_t nac_crc16_shift_gen(uint64_t n);
uint16_t nac_crc16_shift(uint16_t reg, uint16_t op);

#endif
