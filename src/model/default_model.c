/* The built-in model: models/default.nacw embedded in the library's read-only data by the
 * assembler's .incbin, and loaded through the same loader as model files. */
#include "model/default_model.h"
#include "nac/nac.h"

__asm__(".section .rodata\n"
        ".balign 64\n"
        ".globl nac_default_model_begin\n"
        ".hidden nac_default_model_begin\n"
        "nac_default_model_begin:\n"
        ".incbin \"models/default.nacw\"\n"
        ".globl nac_default_model_end\n"
        ".hidden nac_default_model_end\n"
        "nac_default_model_end:\n"
        ".previous\n");

extern const unsigned char nac_default_model_begin[], nac_default_model_end[];

void nac_default_model_bytes(const void **data, size_t *size)
{
    *data = nac_default_model_begin;
    *size = (size_t)(nac_default_model_end - nac_default_model_begin);
}

int nac_model_load_default(nac_model **out, nac_error *err)
{
    return nac_model_load_mem(out, nac_default_model_begin, (size_t)(nac_default_model_end - nac_default_model_begin),
                              err);
}
