/* The built-in enhancement models: models/enhance_<task>.nacw embedded in the library's read-only
 * data by the assembler's .incbin (as models/default.nacw is), loaded through the same loader. */
#include "nac/enhance.h"

#include "core/status.h"
#include "enhance/enhance_net.h"

#define EMBED(sym, file)                                                                                         \
    __asm__(".section .rodata\n.balign 64\n.globl " #sym "_begin\n.hidden " #sym "_begin\n" #sym "_begin:\n"      \
            ".incbin \"" file "\"\n.globl " #sym "_end\n.hidden " #sym "_end\n" #sym "_end:\n.previous\n");      \
    extern const unsigned char sym##_begin[], sym##_end[];

EMBED(nac_enh_denoise, "models/enhance_denoise.nacw")
EMBED(nac_enh_dequantize, "models/enhance_dequantize.nacw")
EMBED(nac_enh_bwe, "models/enhance_bwe.nacw")

int nac_enh_builtin_bytes(int task, const void **data, size_t *size, nac_error *err)
{
    const unsigned char *b, *e;
    switch (task) {
    case NAC_ENHANCE_DENOISE:
        b = nac_enh_denoise_begin, e = nac_enh_denoise_end;
        break;
    case NAC_ENHANCE_DEQUANTIZE:
        b = nac_enh_dequantize_begin, e = nac_enh_dequantize_end;
        break;
    case NAC_ENHANCE_BWE:
        b = nac_enh_bwe_begin, e = nac_enh_bwe_end;
        break;
    default:
        return nac_error_set(err, NAC_ERR_ARG, "unknown enhancement task %d", (int)task);
    }
    if (e == b)
        return nac_error_set(err, NAC_ERR_MODEL, "this build has no built-in %s model", nac_enhance_task_name(task));
    *data = b;
    *size = (size_t)(e - b);
    return NAC_OK;
}

int nac_enhance_model_load_builtin(nac_enhance_model **out, nac_enhance_task task, nac_error *err)
{
    const void *b;
    size_t size;
    *out = NULL;
    int st = nac_enh_builtin_bytes((int)task, &b, &size, err);
    if (st)
        return st;
    st = nac_enhance_model_load_mem(out, b, size, err);
    if (!st && (st = nac_enhance_model_check_task(*out, task, err))) {
        nac_enhance_model_destroy(*out);
        *out = NULL;
    }
    return st;
}
