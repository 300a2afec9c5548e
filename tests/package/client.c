/* A client of the installed library, built by tests/package/check.sh through pkg-config: loads
 * the built-in model, codes a second of a tone at 6 kbps and decodes it. Prints "ok" on success. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <nac/nac.h>

int main(void)
{
    nac_error err = {0};
    nac_model *m = NULL;
    nac_encoder *e = NULL;
    nac_decoder *d = NULL;
    if (nac_model_load_default(&m, &err) || nac_encoder_create(&e, m, 12, &err) || nac_decoder_create(&d, m, &err)) {
        fprintf(stderr, "client: %s\n", err.msg);
        return 1;
    }
    float pcm[16000], out[16000 + 640];
    int32_t codes[64 * 12];
    for (int i = 0; i < 16000; i++)
        pcm[i] = 0.3f * (float)sin(2 * 3.14159265 * 220 * i / 16000.0);
    size_t frames = 0, more = 0;
    if (nac_encoder_push(e, codes, 64, &frames, pcm, 16000, &err) ||
        nac_encoder_flush(e, codes + frames * 12, 64 - frames, &more, &err) ||
        nac_decoder_decode(d, out, codes, NULL, frames + more, 12, &err)) {
        fprintf(stderr, "client: %s\n", err.msg);
        return 1;
    }
    nac_decoder_destroy(d);
    nac_encoder_destroy(e);
    nac_model_destroy(m);
    printf("ok %zu frames\n", frames + more);
    return 0;
}
