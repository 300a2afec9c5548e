/* libFuzzer target: the weight-file loader and model creation (network, VQ tables, an encoder and a
 * decoder coding a few frames). The first input byte chooses whether the checksums are repaired
 * first (the metadata CRC and each tensor's CRC), so that mutations reach the table and config
 * checks and the model's size limits instead of stopping at a CRC mismatch. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nac/nac.h"
#include "weights_repair.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n_b = 0;
    uint8_t *b = nac_fuzz_weights_input(data, size, &n_b);
    if (!b)
        return 0;
    nac_model *m = NULL;
    nac_encoder *e = NULL;
    nac_decoder *d = NULL;
    if (nac_model_load_mem(&m, b, n_b, NULL) == NAC_OK) {
        nac_model_info mi;
        nac_model_get_info(m, &mi);
        size_t n = 4 * (size_t)mi.frame_size;
        float *x = calloc(n, sizeof *x), *y = NULL;
        int32_t *codes = NULL;
        size_t frames = 0, more = 0;
        for (size_t i = 0; i < n; i++)
            x[i] = (float)((i * 7919) % 200) / 1000.0f - 0.1f;
        if (nac_encoder_create(&e, m, mi.n_stages, NULL) == NAC_OK && nac_decoder_create(&d, m, NULL) == NAC_OK) {
            size_t cap = nac_encoder_max_frames(e, n + (size_t)mi.delay + 2 * (size_t)mi.frame_size) + 8;
            codes = malloc(cap * (size_t)mi.n_stages * sizeof *codes);
            y = malloc(cap * (size_t)mi.frame_size * sizeof *y);
            /* a model that loads codes and decodes: its weights may be any finite or non-finite
             * numbers, so the encoder may refuse (NAC_ERR_NUMERIC), never crash */
            if (!nac_encoder_push(e, codes, cap, &frames, x, n, NULL) &&
                !nac_encoder_flush(e, codes + frames * (size_t)mi.n_stages, cap - frames, &more, NULL))
                nac_decoder_decode(d, y, codes, NULL, frames + more, mi.n_stages, NULL);
        }
        free(x);
        free(y);
        free(codes);
    }
    nac_encoder_destroy(e);
    nac_decoder_destroy(d);
    nac_model_destroy(m);
    free(b);
    return 0;
}
