/* Real-time cost of the codec API per 20 ms frame, one thread: an encoder fed one frame (320
 * samples) per push and a decoder asked for one frame per call, against the same work done in one
 * batched call (cost per frame = total / frames). Prints median, p99 and max per call and the
 * ratio of the per-frame median to the batched cost per frame. Input: the committed speech clip,
 * ROUNDS passes of each kind, interleaved. usage: bench_frame [kbps] */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/audio_file.h"
#include "nac/nac.h"
#include "bench_util.h"

#define ROUNDS 6
#define LOADS 20

static void report(const char *what, double *t, size_t n, double batch_per_frame)
{
    qsort(t, n, sizeof *t, bench_cmp_double);
    double med = t[n / 2], p99 = t[(size_t)(0.99 * (n - 1))], mx = t[n - 1];
    printf("| %s | %.3f | %.3f | %.3f | %.3f | %.2fx |\n", what, med * 1e3, p99 * 1e3, mx * 1e3, batch_per_frame * 1e3,
           med / batch_per_frame);
}

int main(int argc, char **argv)
{
    double kbps = argc > 1 ? atof(argv[1]) : 6;
    omp_set_num_threads(1);
    float *x = NULL;
    size_t n = 0;
    nac_error err = {0};
    nac_model *m = NULL;
    double t_first = bench_now();
    if (nac_audio_read_all(&x, &n, NULL, "tests/fixtures/speech_thorsten_de.flac", &err) ||
        nac_model_load_default(&m, &err)) {
        fprintf(stderr, "bench_frame: %s\n", err.msg);
        return 1;
    }
    t_first = bench_now() - t_first;
    double t_load[LOADS];
    for (int i = 0; i < LOADS; i++) {
        nac_model *m2 = NULL;
        t_load[i] = bench_now();
        if (nac_model_load_default(&m2, &err))
            return 1;
        t_load[i] = bench_now() - t_load[i];
        nac_model_destroy(m2);
    }
    qsort(t_load, LOADS, sizeof *t_load, bench_cmp_double);
    printf("nac_model_load_default: first call (with reading the clip) %.2f ms, then median %.3f ms, max %.3f ms "
           "of %d\n", t_first * 1e3, t_load[LOADS / 2] * 1e3, t_load[LOADS - 1] * 1e3, LOADS);
    int S = nac_model_stages_for_kbps(m, kbps), fs = 320;
    size_t frames = n / fs, total = frames * ROUNDS;
    int32_t *codes = malloc((total + 8) * S * sizeof *codes);
    float *pcm = malloc((total + 8) * fs * sizeof *pcm);
    double *te = malloc(total * sizeof *te), *td = malloc(total * sizeof *td);
    nac_encoder *e = NULL;
    nac_decoder *d = NULL;
    if (nac_encoder_create(&e, m, S, &err) || nac_decoder_create(&d, m, &err))
        return 1;
    /* Rounds alternate a batched pass (the whole clip in one call) and a per-frame pass, so both see
     * the same load on a shared machine; the batched cost is the median of the rounds. */
    double enc_b[ROUNDS], dec_b[ROUNDS];
    size_t k = 0;
    for (int r = 0; r < ROUNDS; r++) {
        size_t got = 0;
        nac_encoder_reset(e);
        nac_decoder_reset(d);
        double t0 = bench_now();
        nac_encoder_push(e, codes, total + 8, &got, x, frames * fs, &err);
        enc_b[r] = (bench_now() - t0) / (double)frames;
        t0 = bench_now();
        nac_decoder_decode(d, pcm, codes, NULL, got, S, &err);
        dec_b[r] = (bench_now() - t0) / (double)got;
        nac_encoder_reset(e);
        nac_decoder_reset(d);
        for (size_t f = 0; f < frames; f++, k++) {
            size_t g = 0;
            double a = bench_now();
            nac_encoder_push(e, codes + k * S, total + 8 - k, &g, x + f * fs, fs, &err);
            te[k] = bench_now() - a;
            a = bench_now();
            nac_decoder_decode(d, pcm + k * fs, codes + k * S, NULL, 1, S, &err);
            td[k] = bench_now() - a;
        }
    }
    qsort(enc_b, ROUNDS, sizeof *enc_b, bench_cmp_double);
    qsort(dec_b, ROUNDS, sizeof *dec_b, bench_cmp_double);
    double enc_batch = enc_b[ROUNDS / 2], dec_batch = dec_b[ROUNDS / 2];
    printf("%zu frames of 20 ms at %g kbps, one thread\n", total, kbps);
    printf("| call | median ms | p99 ms | max ms | batched ms per frame | median / batched |\n|---|---|---|---|---|---|\n");
    report("encode, one frame per push", te, total, enc_batch);
    report("decode, one frame per call", td, total, dec_batch);
    nac_encoder_destroy(e);
    nac_decoder_destroy(d);
    nac_model_destroy(m);
    free(x);
    free(codes);
    free(pcm);
    free(te);
    free(td);
    return 0;
}
