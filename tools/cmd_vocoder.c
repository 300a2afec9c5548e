/* nac features / nac synth: audio <-> vocoder feature rows (raw float32, docs/vocoder.md). */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio_file.h"
#include "core/alloc.h"
#include "core/status.h"
#include "dsp/resample.h"
#include "nac/vocoder.h"
#include "vq/f32file.h"

#define MAX_F32_BYTES ((size_t)1 << 31)

static int parse_k(const char *cmd, const char *s, int *K)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v < 2 || v > NAC_VOCODER_MAX_K) {
        fprintf(stderr, "nac %s: --k needs a number from 2 to %d, not '%s'\n", cmd, NAC_VOCODER_MAX_K, s);
        return -1;
    }
    *K = (int)v;
    return 0;
}

/* ---- features ------------------------------------------------------------------------------------ */

static void features_usage(FILE *f)
{
    fprintf(f,
            "usage: nac features IN OUT.f32 [--k K] [--with-pitch] [--codec2-grid]\n"
            "       nac features --from-c2 MLFEAT.f32 OUT.f32\n\n"
            "Analyses speech IN (wav, flac, ogg at any rate; resampled to 16 kHz, mixed to mono) with the\n"
            "harmonic vocoder and writes one row of raw little-endian float32 per 10 ms frame to OUT.f32:\n"
            "K values, the harmonic amplitudes resampled to K mel-spaced frequencies, in dB, with the\n"
            "row's mean removed. The rows feed `nac vq train OUT.f32 K ...` directly.\n\n"
            "  --k K          values per row (default 20)\n"
            "  --with-pitch   append three columns: energy (the removed mean, dB), F0 (Hz, 0 when\n"
            "                 unvoiced) and voicing (1 or 0): rows of K + 3, what `nac synth` reads\n"
            "  --codec2-grid  Codec 2 700C's frequencies (200..3700 Hz) instead of nac's (200..7600 Hz)\n"
            "  --from-c2 F    convert a dump of `c2enc 700C IN.raw OUT.bit --mlfeat F MODEL` (201 floats\n"
            "                 per 40 ms) to rows of its 20 rate-K values (mean removed, unquantised)\n\n"
            "Layout, units and the synthesis: docs/vocoder.md.\n\n"
            "examples:\n"
            "  nac features speech.wav speech.f32 && nac vq train speech.f32 20 512 stage1.f32\n"
            "  nac features speech.wav speech_p.f32 --with-pitch && nac synth speech_p.f32 resynth.wav\n");
}

/* c2enc 700C --mlfeat writes per 40 ms: mean, 20 rate-K values without the mean, their quantised
 * version, and 160 harmonic amplitudes. */
#define C2_MLFEAT_COLS 201

static int from_c2(const char *in, const char *out)
{
    nac_error err = {0};
    float *x = NULL, *y = NULL;
    size_t N = 0;
    int st = nac_vq_f32_read(&x, &N, in, C2_MLFEAT_COLS, MAX_F32_BYTES, &err);
    if (st) {
        fprintf(stderr, "nac features: %s (a c2enc 700C --mlfeat dump has rows of %d floats)\n",
                nac_error_message(&err), C2_MLFEAT_COLS);
        return 1;
    }
    y = malloc(N * 20 * sizeof *y);
    if (!y) {
        fprintf(stderr, "nac features: out of memory\n");
        nac_free(x);
        return 1;
    }
    for (size_t i = 0; i < N; i++)
        memcpy(y + i * 20, x + i * C2_MLFEAT_COLS + 1, 20 * sizeof *y);
    st = nac_vq_f32_write(out, y, N, 20, &err);
    nac_free(x);
    free(y);
    if (st) {
        fprintf(stderr, "nac features: %s\n", nac_error_message(&err));
        return 1;
    }
    fprintf(stderr, "nac features: %zu rows of 20 from %s\n", N, in);
    return 0;
}

int nac_cmd_features(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *c2 = NULL;
    int with_pitch = 0, codec2_grid = 0, K = 20;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            features_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--k") && i + 1 < argc) {
            if (parse_k("features", argv[++i], &K))
                return 2;
        } else if (!strcmp(a, "--with-pitch")) {
            with_pitch = 1;
        } else if (!strcmp(a, "--codec2-grid")) {
            codec2_grid = 1;
        } else if (!strcmp(a, "--from-c2") && i + 1 < argc) {
            c2 = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "nac features: unknown option or missing value '%s' (see nac features --help)\n", a);
            return 2;
        } else if (!in) {
            in = a;
        } else if (!out) {
            out = a;
        } else {
            fprintf(stderr, "nac features: too many arguments (see nac features --help)\n");
            return 2;
        }
    }
    if (c2) {
        if (!in || out) {
            fprintf(stderr, "usage: nac features --from-c2 MLFEAT.f32 OUT.f32\n");
            return 2;
        }
        return from_c2(c2, in);
    }
    if (!in || !out) {
        features_usage(stderr);
        return 2;
    }
    nac_error err = {0};
    nac_vocoder_grid g;
    if (codec2_grid)
        nac_vocoder_grid_codec2(&g);
    else
        nac_vocoder_grid_default(&g);
    g.K = K;
    float *x = NULL, *x16 = NULL, *feat = NULL;
    size_t n = 0, n16 = 0, T = 0;
    nac_audio_info ai;
    int st, status = 1;
    if ((st = nac_audio_read_all(&x, &n, &ai, in, &err)))
        goto done;
    if ((st = nac_resample_all(&x16, &n16, x, n, ai.sample_rate, NAC_VOCODER_RATE, &err)) ||
        (st = nac_vocoder_analyze(&feat, &T, x16, n16, &g, &err)))
        goto done;
    int D = K + NAC_VOCODER_EXTRA, W = with_pitch ? D : K;
    if (!with_pitch)
        for (size_t t = 0; t < T; t++)
            memmove(feat + t * K, feat + t * D, K * sizeof *feat);
    if ((st = nac_vq_f32_write(out, feat, T, W, &err)))
        goto done;
    fprintf(stderr, "nac features: %zu rows of %d (%.2f s)\n", T, W, (double)n16 / NAC_VOCODER_RATE);
    status = 0;
done:
    if (status)
        fprintf(stderr, "nac features: %s\n", nac_error_message(&err));
    free(x);
    free(x16);
    free(feat);
    return status;
}

/* ---- synth --------------------------------------------------------------------------------------- */

static void synth_usage(FILE *f)
{
    fprintf(f,
            "usage: nac synth IN.f32 OUT.wav [--k K] [--codec2-grid] [--seed S]\n\n"
            "Synthesises 16 kHz speech from vocoder feature rows written by `nac features --with-pitch`\n"
            "(K + 3 float32 per 10 ms: rate-K dB, energy dB, F0 Hz, voicing): harmonic amplitudes from\n"
            "the rate-K envelope, phases from the envelope (minimum phase) and the F0 track, overlap-add.\n\n"
            "  --k K          rate-K values per row, as written (default 20)\n"
            "  --codec2-grid  the rows were written with --codec2-grid\n"
            "  --seed S       seed of the random phases of unvoiced sounds (default 1)\n\n"
            "example:\n"
            "  nac features speech.wav speech.f32 --with-pitch && nac synth speech.f32 resynth.wav\n");
}

int nac_cmd_synth(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    int codec2_grid = 0, K = 20;
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            synth_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--k") && i + 1 < argc) {
            if (parse_k("synth", argv[++i], &K))
                return 2;
        } else if (!strcmp(a, "--codec2-grid")) {
            codec2_grid = 1;
        } else if (!strcmp(a, "--seed") && i + 1 < argc) {
            char *end;
            seed = strtoull(argv[++i], &end, 10);
            if (*end || argv[i][0] == '\0' || argv[i][0] == '-') {
                fprintf(stderr, "nac synth: --seed needs a non-negative integer, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "nac synth: unknown option or missing value '%s' (see nac synth --help)\n", a);
            return 2;
        } else if (!in) {
            in = a;
        } else if (!out) {
            out = a;
        } else {
            fprintf(stderr, "nac synth: too many arguments (see nac synth --help)\n");
            return 2;
        }
    }
    if (!in || !out) {
        synth_usage(stderr);
        return 2;
    }
    nac_error err = {0};
    nac_vocoder_grid g;
    if (codec2_grid)
        nac_vocoder_grid_codec2(&g);
    else
        nac_vocoder_grid_default(&g);
    g.K = K;
    int D = K + NAC_VOCODER_EXTRA, st, status = 1;
    float *feat = NULL, *y = NULL;
    size_t T = 0, n = 0;
    if ((st = nac_vq_f32_read(&feat, &T, in, D, MAX_F32_BYTES, &err))) {
        if (st == NAC_ERR_FORMAT)
            fprintf(stderr, "nac synth: %s (rows of K + 3 = %d floats, from nac features --with-pitch --k %d)\n",
                    nac_error_message(&err), D, K);
        else
            fprintf(stderr, "nac synth: %s\n", nac_error_message(&err));
        return 1;
    }
    if ((st = nac_vocoder_synthesize(&y, &n, feat, T, &g, seed, &err))) {
        fprintf(stderr, "nac synth: %s: %s\n", in, nac_error_message(&err));
        goto done;
    }
    if ((st = nac_audio_write_all(out, y, n, NAC_VOCODER_RATE, &err))) {
        fprintf(stderr, "nac synth: %s\n", nac_error_message(&err));
        goto done;
    }
    status = 0;
done:
    nac_free(feat);
    free(y);
    return status;
}
