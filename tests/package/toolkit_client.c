/* A client of the installed toolkit headers, built by tests/package/check.sh through pkg-config:
 * one call or more of each public toolkit header (audio, vq, metrics, plot, degrade, listen), on
 * files in the folder given as argument. Prints "ok" on success. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nac/audio.h>
#include <nac/degrade.h>
#include <nac/listen.h>
#include <nac/metrics.h>
#include <nac/plot.h>
#include <nac/vq.h>

#define FAIL(what)                                                  \
    do {                                                            \
        fprintf(stderr, "toolkit_client: %s: %s\n", what, err.msg); \
        return 1;                                                   \
    } while (0)

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: toolkit_client DIR\n");
        return 2;
    }
    nac_error err = {0};
    char wav[512], f32[512], png[512];
    snprintf(wav, sizeof wav, "%s/tone.wav", argv[1]);
    snprintf(f32, sizeof f32, "%s/points.f32", argv[1]);
    snprintf(png, sizeof png, "%s/tone.png", argv[1]);

    /* audio: a second of a buzz in syllables, and a copy with a little noise,, written and read back, then resampled */
    enum { N = 16000 };
    static float x[N], y[N];
    unsigned s = 1;
    for (int i = 0; i < N; i++) {
        s = s * 1103515245u + 12345u;
        double t = i / 16000.0, v = 0;
        for (int h = 1; h <= 20; h++) /* harmonics of 150 Hz, in syllables of 4 Hz */
            v += sin(2 * 3.14159265 * 150 * h * t) / h;
        x[i] = (float)(0.15 * (0.5 + 0.5 * sin(2 * 3.14159265 * 4 * t)) * v);
        y[i] = x[i] + 0.01f * ((float)(s >> 16 & 0x7fff) / 16384.0f - 1.0f);
    }
    float *back = NULL, *up = NULL;
    size_t n = 0, nup = 0;
    nac_audio_info info;
    if (nac_audio_write_all(wav, x, N, 16000, &err) || nac_audio_read_all(&back, &n, &info, wav, &err))
        FAIL("audio");
    if (n != N || info.sample_rate != 16000 || fabsf(back[100] - x[100]) > 1e-4f)
        FAIL("audio round trip");
    if (nac_resample_all(&up, &nup, back, n, 16000, 48000, &err) || nup != 3 * N)
        FAIL("resample");

    /* metrics: SI-SDR of the noisy copy, and everything after alignment */
    double sdr;
    nac_metrics m;
    if (nac_si_sdr(&sdr, x, y, N, &err) || nac_metrics_compute(&m, x, N, y, N, 16000, NULL, &err))
        FAIL("metrics");
    if (!(sdr > 20 && sdr < 26) || !(fabs(m.si_sdr - sdr) < 0.5) || !(m.stoi > 0.9))
        FAIL("metric values");

    /* degrade: a G.711 round trip keeps the tone */
    nac_degrade_mulaw(y, x, N);
    if (nac_snr(&sdr, x, y, N, &err) || !(sdr > 25))
        FAIL("mu-law");

    /* vq: four clusters of 2-D points through an .f32 file, k-means, then a 2-stage quantiser */
    static float pts[400 * 2];
    for (int i = 0; i < 400; i++) {
        s = s * 1103515245u + 12345u;
        pts[2 * i] = (float)(i % 4 / 2) * 10 + (float)(s >> 16 & 0xff) / 256.0f;
        pts[2 * i + 1] = (float)(i % 2) * 10 + (float)(s >> 24) / 256.0f;
    }
    float *rows = NULL, cb[4 * 2], cb2[2 * 2] = {0.1f, 0.1f, -0.1f, -0.1f};
    size_t nrows = 0;
    double mse;
    if (nac_vq_f32_write(f32, pts, 400, 2, &err) || nac_vq_f32_read(&rows, &nrows, f32, 2, 0, &err) || nrows != 400)
        FAIL("f32 file");
    nac_vq_train_opts o;
    nac_vq_train_opts_default(&o);
    if (nac_vq_train(cb, &mse, NULL, rows, nrows, 2, 4, &o, &err) || !(mse < 0.1))
        FAIL("k-means");
    const float *cbs[2] = {cb, cb2};
    int M[2] = {4, 2};
    nac_msvq *q = nac_msvq_create(cbs, M, 2, 2, &err);
    int32_t idx[2];
    if (!q || nac_msvq_quantize(NULL, idx, NULL, rows, q, 1, 2, &err))
        FAIL("multi-stage VQ");
    nac_msvq_destroy(q);

    /* plot: a spectrogram picture */
    nac_plot_opts po;
    nac_plot_opts_init(&po);
    po.title = "buzz";
    if (nac_plot_spectrogram(png, x, N, 16000, &po, &err))
        FAIL("spectrogram");
    FILE *f = fopen(png, "rb");
    unsigned char sig[8] = {0};
    if (!f || fread(sig, 1, 8, f) != 8 || memcmp(sig, "\x89PNG", 4))
        FAIL("PNG file");
    fclose(f);

    /* listen: a seeded permutation */
    int perm[5], seen = 0;
    nac_listen_permutation(perm, 5, 42);
    for (int i = 0; i < 5; i++)
        seen |= 1 << perm[i];
    if (seen != 31)
        FAIL("permutation");

    free(back);
    free(up);
    free(rows);
    printf("ok\n");
    return 0;
}
