/* nac features / nac synth: audio <-> vocoder feature rows (raw float32, docs/vocoder.md). */
#include "cmd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nac/audio.h"
#include "nac/error.h"
#include "nac/vocoder.h"
#include "nac/vq.h"

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
            "usage: nac features IN OUT.f32 [--k K] [--with-pitch] [--codec2-grid] [--min-energy DB]\n"
            "       nac features --from-c2 MLFEAT.f32 OUT.f32\n\n"
            "Analyses speech IN (wav, flac, ogg at any rate; resampled to 16 kHz, mixed to mono) with the\n"
            "harmonic vocoder and writes one row of raw little-endian float32 per 10 ms frame to OUT.f32:\n"
            "K values, the harmonic amplitudes resampled to K mel-spaced frequencies, in dB, with the\n"
            "row's mean removed. The rows feed `nac vq train OUT.f32 K ...` directly.\n\n"
            "  --k K          values per row (default 20)\n"
            "  --with-pitch   append three columns: energy (the removed mean, dB), F0 (Hz, 0 when\n"
            "                 unvoiced) and voicing (1 or 0): rows of K + 3, what `nac synth` reads\n"
            "  --codec2-grid  Codec 2 700C's frequencies (200..3700 Hz) instead of nac's (200..7600 Hz)\n"
            "  --min-energy DB  leave out rows whose energy is below DB (silence, for VQ training)\n"
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
        free(x);
        return 1;
    }
    for (size_t i = 0; i < N; i++)
        memcpy(y + i * 20, x + i * C2_MLFEAT_COLS + 1, 20 * sizeof *y);
    st = nac_vq_f32_write(out, y, N, 20, &err);
    free(x);
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
    double min_energy = -1e30;
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
        } else if (!strcmp(a, "--min-energy") && i + 1 < argc) {
            char *end;
            min_energy = strtod(argv[++i], &end);
            if (*end || argv[i][0] == '\0') {
                fprintf(stderr, "nac features: --min-energy needs a number (dB), not '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--codec2-grid")) {
            codec2_grid = 1;
        } else if (!strcmp(a, "--from-c2") && i + 1 < argc) {
            c2 = argv[++i];
        } else if (nac_cli_positional("features", "nac features --help", a, &in, &out)) {
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
    size_t kept = 0;
    for (size_t t = 0; t < T; t++)
        if (feat[t * D + K] >= min_energy)
            memmove(feat + kept++ * W, feat + t * D, W * sizeof *feat);
    if ((st = nac_vq_f32_write(out, feat, kept, W, &err)))
        goto done;
    fprintf(stderr, "nac features: %zu rows of %d (%.2f s)", kept, W, (double)n16 / NAC_VOCODER_RATE);
    if (kept < T)
        fprintf(stderr, "; %zu rows below %g dB left out", T - kept, min_energy);
    fprintf(stderr, "\n");
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
            "usage: nac synth IN.f32 OUT.wav [--k K] [--codec2-grid] [--seed S] [--pitch-from P.f32]\n\n"
            "Synthesises 16 kHz speech from vocoder feature rows written by `nac features --with-pitch`\n"
            "(K + 3 float32 per 10 ms: rate-K dB, energy dB, F0 Hz, voicing): harmonic amplitudes from\n"
            "the rate-K envelope, phases from the envelope (minimum phase) and the F0 track, overlap-add.\n\n"
            "  --k K          rate-K values per row, as written (default 20)\n"
            "  --codec2-grid  the rows were written with --codec2-grid\n"
            "  --seed S       seed of the random phases of unvoiced sounds (default 1)\n"
            "  --pitch-from P IN holds rows of K rate-K values only (e.g. quantised by nac vq quantize or\n"
            "                 a VQ-VAE); energy, F0 and voicing come from P, rows of K + 3 of the same\n"
            "                 speech (as many rows as IN)\n\n"
            "examples:\n"
            "  nac features speech.wav speech.f32 --with-pitch && nac synth speech.f32 resynth.wav\n"
            "  nac features speech.wav s20.f32 && nac features speech.wav sp.f32 --with-pitch\n"
            "  nac vq quantize -k 20 -q cb1.f32,cb2.f32 < s20.f32 > q20.f32\n"
            "  nac synth q20.f32 quantised.wav --pitch-from sp.f32\n");
}

int nac_cmd_synth(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *pitch_from = NULL;
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
        } else if (!strcmp(a, "--pitch-from") && i + 1 < argc) {
            pitch_from = argv[++i];
        } else if (!strcmp(a, "--seed") && i + 1 < argc) {
            char *end;
            seed = strtoull(argv[++i], &end, 10);
            if (*end || argv[i][0] == '\0' || argv[i][0] == '-') {
                fprintf(stderr, "nac synth: --seed needs a non-negative integer, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (nac_cli_positional("synth", "nac synth --help", a, &in, &out)) {
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
    float *feat = NULL, *y = NULL, *rk = NULL;
    size_t T = 0, n = 0, Tk = 0;
    if ((st = nac_vq_f32_read(&feat, &T, pitch_from ? pitch_from : in, D, MAX_F32_BYTES, &err))) {
        if (st == NAC_ERR_FORMAT)
            fprintf(stderr, "nac synth: %s (rows of K + 3 = %d floats, from nac features --with-pitch --k %d)\n",
                    nac_error_message(&err), D, K);
        else
            fprintf(stderr, "nac synth: %s\n", nac_error_message(&err));
        return 1;
    }
    if (pitch_from) {
        if ((st = nac_vq_f32_read(&rk, &Tk, in, K, MAX_F32_BYTES, &err))) {
            fprintf(stderr, "nac synth: %s\n", nac_error_message(&err));
            goto done;
        }
        if (Tk != T) {
            fprintf(stderr, "nac synth: %s has %zu rows of %d, %s %zu rows of %d: they must describe the same frames\n",
                    in, Tk, K, pitch_from, T, D);
            goto done;
        }
        for (size_t t = 0; t < T; t++)
            memcpy(feat + t * D, rk + t * K, K * sizeof *feat);
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
    free(feat);
    free(rk);
    free(y);
    return status;
}

/* ---- the low-rate mode of nac encode / nac decode ------------------------------------------------- */

#define VOC_FRAMES_PER_PACKET 25 /* 1 s */

static int vocoder_encode_file(const char *in, const char *out, double kbps, int fpp, int quiet);

static void vocoder_encode_usage(FILE *f)
{
    fprintf(f, "usage: nac encode IN OUT.nac --kbps 0.7|1.2|1.6 [--packet-frames N] [-q]\n\n"
               "The harmonic vocoder's low-rate mode: pitch, voicing, energy and the rate-K envelope (multi-stage\n"
               "VQ) every 40 ms, in the .nac container; nac decode synthesises speech from it. Speech only.\n"
               "The whole input is read first (the pitch track is searched over all of it). Payload and\n"
               "quality: docs/vocoder.md.\n\n"
               "  --packet-frames N  40 ms frames per packet (default 25: one second)\n"
               "  -q                 quiet\n\n"
               "example:\n  nac encode speech.wav speech.nac --kbps 0.7 && nac decode speech.nac speech_0.7.wav\n");
}

int nac_vocoder_cmd_encode(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    double kbps = 0;
    int fpp = VOC_FRAMES_PER_PACKET, quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            vocoder_encode_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--kbps") && i + 1 < argc) {
            kbps = atof(argv[++i]);
        } else if (!strcmp(a, "--packet-frames") && i + 1 < argc) {
            fpp = atoi(argv[++i]);
            if (fpp < 1 || fpp > 1000) {
                fprintf(stderr, "nac encode: --packet-frames must be 1..1000\n");
                return 2;
            }
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "--model") || !strcmp(a, "--mode")) {
            fprintf(stderr, "nac encode: %s does not apply to the vocoder mode (--kbps 0.7, 1.2, 1.6)\n", a);
            return 2;
        } else if (nac_cli_positional("encode", "nac encode --kbps 0.7 --help", a, &in, &out)) {
            return 2;
        }
    }
    if (!in || !out) {
        vocoder_encode_usage(stderr);
        return 2;
    }
    if (nac_cli_refuse_same_file("encode", in, out))
        return 2;
    return vocoder_encode_file(in, out, kbps, fpp, quiet);
}

int nac_vocoder_kbps_arg(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--kbps"))
            return !strcmp(argv[i + 1], "0.7") || !strcmp(argv[i + 1], "1.2") || !strcmp(argv[i + 1], "1.6");
    return 0;
}

void nac_vocoder_print_info(const struct nac_stream_info *in)
{
    unsigned bits = 0;
    for (int s = 0; s < in->n_stages; s++)
        bits += in->stage_bits[s];
    printf("  vocoder mode: codec %u Hz, frame %u samples, %u fields, %u bits a frame (%.1f kbps), %u frames per "
           "packet\n",
           in->codec_rate, in->frame_size, in->n_stages, bits, (double)bits * in->codec_rate / in->frame_size / 1000,
           in->frames_per_packet);
}

static int vocoder_encode_file(const char *in, const char *out, double kbps, int fpp, int quiet)
{
    nac_error err = {0};
    nac_vocoder_codec *c = NULL;
    nac_file_writer *wr = NULL;
    nac_audio_info ai;
    float *x = NULL, *x16 = NULL, *feat = NULL;
    int32_t *codes = NULL;
    uint8_t *payload = NULL, *packet = NULL;
    size_t n = 0, n16 = 0, T = 0, F = 0;
    int st, status = 1;
    nac_vocoder_grid g;
    nac_vocoder_grid_default(&g);
    if ((st = nac_vocoder_codec_create(&c, kbps, &err)) || (st = nac_audio_read_all(&x, &n, &ai, in, &err)))
        goto fail;
    if (ai.channels > 1 && !quiet)
        fprintf(stderr, "nac encode: note: mixing %d channels down to mono\n", ai.channels);
    size_t clipped = 0;
    if ((st = nac_cli_condition_input(x, n, 0, &clipped, ai.sample_rate, in, &err)))
        goto fail;
    if (clipped)
        fprintf(stderr, "nac encode: note: %s: %zu samples outside [-1, 1] were clipped\n", in, clipped);
    if ((st = nac_resample_all(&x16, &n16, x, n, ai.sample_rate, NAC_VOCODER_RATE, &err)) ||
        (st = nac_vocoder_analyze(&feat, &T, x16, n16, &g, &err)) ||
        (st = nac_vocoder_codec_encode(&codes, &F, c, feat, T, &err)))
        goto fail;
    nac_vocoder_codec_info ci;
    nac_vocoder_codec_get_info(c, &ci);
    nac_stream_info info;
    memset(&info, 0, sizeof info);
    info.source_rate = (uint32_t)ai.sample_rate;
    info.channels = (uint16_t)ai.channels;
    info.length = (uint64_t)n;
    info.codec_rate = NAC_VOCODER_RATE;
    info.frame_size = NAC_VOCODER_FRAME_SAMPLES;
    info.n_stages = (uint16_t)ci.n_fields;
    for (int i = 0; i < ci.n_fields; i++)
        info.stage_bits[i] = (uint8_t)ci.field_bits[i];
    info.model_hash = ci.hash;
    info.delay = 0;
    info.frames_per_packet = (uint16_t)fpp;
    info.mode = NAC_MODE_VOCODER;
    info.bitrate = (uint8_t)lround(kbps * 10);
    size_t cap = nac_vocoder_packed_bytes(c, (size_t)fpp) + NAC_MAX_PACKET_OVERHEAD;
    if (!(payload = malloc(cap)) || !(packet = malloc(cap))) {
        st = nac_error_set(&err, NAC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = nac_file_writer_open(&wr, out, &info, &err)))
        goto fail;
    for (size_t k = 0, seq = 0; k < F; k += (size_t)fpp, seq++) {
        size_t nf = F - k < (size_t)fpp ? F - k : (size_t)fpp, size = 0;
        nac_vocoder_pack(payload, c, codes + k * (size_t)ci.n_fields, nf);
        if ((st = nac_packet_frame(packet, cap, &size, &info, (uint32_t)seq, payload, nac_vocoder_packed_bytes(c, nf),
                                   &err)) ||
            (st = nac_file_writer_write(wr, packet, size, &err)))
            goto fail;
    }
    st = nac_file_writer_close(wr, &err);
    wr = NULL;
    if (st)
        goto fail;
    status = 0;
    goto done;
fail:
    fprintf(stderr, "nac encode: %s\n", nac_error_message(&err));
    if (wr)
        nac_file_writer_close(wr, NULL);
    if (strcmp(out, "-"))
        remove(out);
done:
    nac_vocoder_codec_destroy(c);
    free(x), free(x16), free(feat), free(codes), free(payload), free(packet);
    return status;
}
