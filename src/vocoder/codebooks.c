/* models/vocoder_vq.f32 embedded in the library's read-only data by the assembler's .incbin. */
#include "vocoder/codebooks.h"

__asm__(".section .rodata\n"
        ".balign 64\n"
        ".globl nac_vocoder_vq_begin\n"
        ".hidden nac_vocoder_vq_begin\n"
        "nac_vocoder_vq_begin:\n"
        ".incbin \"models/vocoder_vq.f32\"\n"
        ".globl nac_vocoder_vq_end\n"
        ".hidden nac_vocoder_vq_end\n"
        "nac_vocoder_vq_end:\n"
        ".previous\n");

extern const uint8_t nac_vocoder_vq_begin[], nac_vocoder_vq_end[];

void nac_vocoder_codebook_bytes(const uint8_t **data, size_t *size)
{
    *data = nac_vocoder_vq_begin;
    *size = (size_t)(nac_vocoder_vq_end - nac_vocoder_vq_begin);
}
