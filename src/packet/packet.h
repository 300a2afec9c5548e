/* The packet layer's internals shared by its files: the VBR payload coder (src/packet/vbr.c). */
#ifndef NAC_PACKET_PACKET_H
#define NAC_PACKET_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Range-codes frames of codes (F, S) of 10-bit stages with the built-in tables into out (cap
 * bytes); *size gets the bytes. fpp: the stream's frames per packet (F == fpp costs 1 bit, any
 * other count 17; 0: never full). NAC_OK or NAC_ERR_ARG (codes out of range, or too long for cap). */
int nac_vbr_encode(uint8_t *out, size_t cap, size_t *size, const int32_t *codes, size_t F, size_t fpp, int S,
                   nac_error *err);
/* Decodes a payload of size bytes into at most max_frames frames of codes (F, S); *F gets the
 * count. NAC_ERR_CORRUPT when it claims more than max_frames frames. */
int nac_vbr_decode(int32_t *codes, size_t max_frames, size_t *F, const uint8_t *in, size_t size, size_t fpp, int S,
                   nac_error *err);
/* The hash of the built-in tables (the stream's VBR-table field), and the stages they cover. */
uint32_t nac_vbr_table_hash(void);
int nac_vbr_table_stages(void);
/* The most stages (at least 1, at most max_stages) whose expected VBR rate, from the tables'
 * entropies at 50 frames/s, stays within kbps; and the expected bits of a frame of S stages. */
int nac_vbr_stages_for_kbps(double kbps, int max_stages);
double nac_vbr_expected_bits(int S);

#endif
