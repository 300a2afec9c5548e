/* libFuzzer target: the enhancement-model loader (include/nac/enhance.h) and a short run of a model
 * that loads. As for the codec's weights, the first byte chooses whether the checksums are repaired
 * first, so that mutations reach the config and size checks. A model's weights may be any numbers:
 * the enhancer may refuse (NAC_ERR_NUMERIC), never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nac/enhance.h"
#include "weights_repair.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n_b = 0;
    uint8_t *b = nac_fuzz_weights_input(data, size, &n_b);
    if (!b)
        return 0;
    nac_enhance_model *m = NULL;
    nac_enhancer *e = NULL;
    if (nac_enhance_model_load_mem(&m, b, n_b, NULL) == NAC_OK && nac_enhancer_create(&e, m, NULL) == NAC_OK) {
        nac_enhance_info info;
        nac_enhance_model_get_info(m, &info);
        size_t n = 3 * (size_t)info.hop, cap = nac_enhancer_max_output(e, n) + nac_enhancer_max_output(
                                                 e, (size_t)info.delay + (size_t)info.hop);
        float *x = malloc(n * sizeof *x), *y = malloc(cap * sizeof *y);
        for (size_t i = 0; i < n; i++)
            x[i] = (float)((i * 7919) % 200) / 1000.0f - 0.1f;
        size_t got = 0, more = 0;
        if (nac_enhancer_push(e, y, cap, &got, x, n, NULL) == NAC_OK)
            nac_enhancer_flush(e, y + got, cap - got, &more, NULL);
        free(x);
        free(y);
    }
    nac_enhancer_destroy(e);
    nac_enhance_model_destroy(m);
    free(b);
    return 0;
}
