/* The built-in model, assembled into the library's read-only data by .incbin twice: the weight file
 * models/default.nacw (for `nac info`, fine-tuning and anything that wants the file) and its model
 * image (src/model/model_image.h, made at build time by scripts/model_freeze.c), from which
 * nac_model_load_default makes a model that reads its weights in place. */
#include "model/default_model.h"
#include "model/model_image.h"
#include "nac/nac.h"

#ifndef NAC_MODEL_IMAGE
#error "NAC_MODEL_IMAGE: the path of the built-in model's image (the Makefile defines it)"
#endif

__asm__(".section .rodata\n"
        ".balign 64\n"
        ".globl nac_default_model_begin\n"
        ".hidden nac_default_model_begin\n"
        "nac_default_model_begin:\n"
        ".incbin \"models/default.nacw\"\n"
        ".globl nac_default_model_end\n"
        ".hidden nac_default_model_end\n"
        "nac_default_model_end:\n"
        ".balign 64\n"
        ".globl nac_default_image_begin\n"
        ".hidden nac_default_image_begin\n"
        "nac_default_image_begin:\n"
        ".incbin \"" NAC_MODEL_IMAGE "\"\n"
        ".globl nac_default_image_end\n"
        ".hidden nac_default_image_end\n"
        "nac_default_image_end:\n"
        ".previous\n");

extern const unsigned char nac_default_model_begin[], nac_default_model_end[];
extern const unsigned char nac_default_image_begin[], nac_default_image_end[];

void nac_default_model_bytes(const void **data, size_t *size)
{
    *data = nac_default_model_begin;
    *size = (size_t)(nac_default_model_end - nac_default_model_begin);
}

int nac_model_load_default(nac_model **out, nac_error *err)
{
    return nac_model_image_load(out, nac_default_image_begin,
                                (size_t)(nac_default_image_end - nac_default_image_begin), err);
}
