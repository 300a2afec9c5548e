/* libFuzzer target: the VQ-VAE model loader (include/nac/vqvae.h) and a run of a model that loads
 * over a few feature rows, quantised and not. As for the codec's weights, the first byte chooses
 * (bit 0) whether the checksums are repaired first, so that mutations reach the config and size
 * checks, and (bit 1) whether the AdamW moments are loaded too.
 * A model's weights may be any numbers: a run may refuse (NAC_ERR_NUMERIC), never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nac/vqvae.h"
#include "weights_repair.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n_b = 0;
    uint8_t *b = nac_fuzz_weights_input(data, size, &n_b);
    if (!b)
        return 0;
    nac_vqvae *m = NULL;
    if (nac_vqvae_load_mem(&m, b, n_b, (data[0] >> 1) & 1, NULL) == NAC_OK) {
        nac_vqvae_info info;
        nac_vqvae_get_info(m, &info);
        size_t T = 2 * (size_t)info.ncat + 1, n = T * (size_t)info.k;
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        for (size_t i = 0; i < n; i++)
            x[i] = (float)((i * 7919) % 200) / 10.0f - 10.0f;
        for (int q = 0; q < 2; q++) {
            nac_vqvae_fwd opt = {.quantise = q, .noise_var = q ? 0.0f : 0.01f, .seed = 1};
            nac_vqvae_run(y, m, x, T, &opt, NULL);
        }
        free(x);
        free(y);
    }
    nac_vqvae_destroy(m);
    free(b);
    return 0;
}
