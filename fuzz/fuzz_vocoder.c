/* libFuzzer target: the low-rate vocoder's payload path (include/nac/vocoder.h), as `nac decode`
 * runs it on a mode-2 stream: unpack whatever bytes arrive, decode the codes to feature rows
 * (out-of-range codes must be refused as NAC_ERR_CORRUPT, nothing else), synthesise them. The first
 * byte picks the mode (0.7, 1.2, 1.6 kbps); the rest is the payload. Output must be finite. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "nac/vocoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const double rates[3] = {0.7, 1.2, 1.6};
    static nac_vocoder_codec *codecs[3];
    if (size < 1 || size > 4096) /* max_len is 512: a few seconds of speech */
        return 0;
    int mode = data[0] % 3;
    if (!codecs[mode] && nac_vocoder_codec_create(&codecs[mode], rates[mode], NULL))
        abort();
    const nac_vocoder_codec *c = codecs[mode];
    nac_vocoder_codec_info ci;
    nac_vocoder_codec_get_info(c, &ci);
    size_t cap = (size - 1) * 8 / (size_t)ci.bits_per_frame + 1, F = 0, T = 0, n = 0;
    int32_t *codes = malloc(cap * (size_t)ci.n_fields * sizeof *codes);
    float *feat = NULL, *y = NULL;
    if (!codes)
        abort();
    nac_vocoder_unpack(codes, &F, c, data + 1, size - 1);
    if (F > cap)
        abort();
    int st = nac_vocoder_codec_decode(&feat, &T, c, codes, F, NULL);
    if (st != NAC_OK && st != NAC_ERR_CORRUPT && !(st == NAC_ERR_ARG && F == 0))
        abort();
    if (st == NAC_OK) {
        nac_vocoder_grid g;
        nac_vocoder_grid_default(&g);
        if (T != F * NAC_VOCODER_FRAME_ROWS || nac_vocoder_synthesize(&y, &n, feat, T, &g, 1, NULL))
            abort();
        for (size_t i = 0; i < n; i++)
            if (!isfinite(y[i]))
                abort();
    }
    free(codes);
    free(feat);
    free(y);
    return 0;
}
