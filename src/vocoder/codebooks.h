/* The low-rate mode's VQ stages, built into the library: models/vocoder_vq.f32, three stages of
 * 512 entries of K = 20 little-endian float32 (made by scripts/vocoder_codebooks.sh). */
#ifndef NAC_VOCODER_CODEBOOKS_H
#define NAC_VOCODER_CODEBOOKS_H

#include <stddef.h>
#include <stdint.h>

#define NAC_VOCODER_CB_STAGES 3
#define NAC_VOCODER_CB_ENTRIES 512

void nac_vocoder_codebook_bytes(const uint8_t **data, size_t *size);

#endif
