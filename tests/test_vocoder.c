/* Tests of src/vocoder: pitch and harmonic amplitudes of synthetic harmonic signals, rate-K
 * conversions, synthesis of known amplitudes, feature-row checks and the CLI on bad .f32 input,
 * and the low-rate coder through the .nac container. */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio_file.h"
#include "core/rng.h"
#include "nac/vocoder.h"
#include "vocoder/harmonic.h"
#include "vocoder/pitch.h"

#define FS NAC_VOCODER_RATE

/* The test envelope: dB at f Hz, a smooth tilt with two formant-like bumps. */
static double env_db(double f)
{
    double d1 = (f - 600) / 250, d2 = (f - 1800) / 400;
    return 60 - 3e-3 * f + 12 * exp(-d1 * d1) + 8 * exp(-d2 * d2);
}

/* n samples of harmonics of f0 Hz whose amplitudes follow env_db (A = 16384 a), random phases. */
static float *harmonic_signal(size_t n, double f0, uint64_t seed)
{
    float *x = calloc(n, sizeof *x);
    nac_rng r;
    nac_rng_seed(&r, seed);
    for (int m = 1; m * f0 < 7900; m++) {
        double a = pow(10, env_db(m * f0) / 20) / 16384, ph = 2 * M_PI * nac_rng_uniform(&r);
        double w = 2 * M_PI * m * f0 / FS;
        for (size_t i = 0; i < n; i++)
            x[i] += (float)(a * cos(w * i + ph));
    }
    return x;
}

TEST(vocoder_pitch_synthetic)
{
    const double f0s[] = {85, 123.4, 210, 340};
    for (int c = 0; c < 4; c++) {
        size_t n = FS; /* 1 s */
        float *x = harmonic_signal(n, f0s[c], 7 + c);
        float *feat = NULL;
        size_t T = 0;
        nac_vocoder_grid g;
        nac_vocoder_grid_default(&g);
        int st = nac_vocoder_analyze(&feat, &T, x, n, &g, NULL);
        free(x);
        CHECK(st == 0 && T == 100);
        int D = g.K + NAC_VOCODER_EXTRA;
        for (size_t t = 5; t < 95; t++) {
            const float *r = feat + t * D;
            CHECKF(r[g.K + 2] == 1, "f0 %g: frame %zu unvoiced", f0s[c], t);
            CHECKF(fabs(r[g.K + 1] - f0s[c]) < 0.005 * f0s[c], "f0 %g: frame %zu says %g Hz", f0s[c], t,
                   (double)r[g.K + 1]);
        }
        free(feat);
    }
}

TEST(vocoder_pitch_unvoiced)
{
    /* white noise and silence are unvoiced */
    size_t n = FS;
    float *x = calloc(n, sizeof *x), f0[100];
    nac_rng r;
    nac_rng_seed(&r, 3);
    for (size_t i = n / 2; i < n; i++)
        x[i] = (float)(0.1 * nac_rng_normal(&r));
    CHECK(nac_pitch_track(f0, x, n, 100, NULL) == 0);
    free(x);
    int voiced = 0;
    for (int t = 0; t < 100; t++)
        voiced += f0[t] > 0;
    CHECKF(voiced <= 3, "%d of 100 frames of noise and silence voiced", voiced);
}

TEST(vocoder_harmonic_amplitudes)
{
    /* amplitudes of resolved harmonics (F0 200 Hz, 25 ms window) within 0.3 dB */
    size_t n = 4000;
    double f0 = 200;
    float *x = harmonic_signal(n, f0, 11);
    nac_harm_analyzer *a = NULL;
    CHECK(nac_harm_analyzer_create(&a, NULL) == 0);
    const float *P = nac_harm_spectrum(a, x, n, 2000);
    float A[NAC_HARM_MAX_L + 1];
    CHECK(fabs(nac_harm_refine_f0(P, 203) - 200) < 1.5);
    int L = nac_harm_amplitudes(A, P, (float)f0);
    CHECK(L == 39);
    double worst = 0;
    for (int m = 1; m <= L - 1; m++) {
        double d = fabs(20 * log10(A[m]) - env_db(m * f0));
        if (d > worst)
            worst = d;
    }
    nac_harm_analyzer_destroy(a);
    free(x);
    CHECKF(worst < 0.3, "worst harmonic amplitude error %.3f dB", worst);
}

TEST(vocoder_rate_k_round_trip)
{
    /* rate L -> rate K -> rate L on a smooth envelope: within 1 dB at the harmonics */
    nac_vocoder_grid g;
    nac_vocoder_grid_default(&g);
    float fk[NAC_VOCODER_MAX_K], vk[NAC_VOCODER_MAX_K], A[NAC_HARM_MAX_L + 1];
    nac_harm_grid_freqs(fk, &g);
    CHECK_NEAR(fk[0], 200, 1e-3);
    CHECK_NEAR(fk[g.K - 1], 7600, 0.05);
    float f0 = 110;
    int L = (int)(7999 / f0);
    for (int m = 1; m <= L; m++)
        A[m] = (float)pow(10, env_db(m * f0) / 20);
    nac_harm_to_rate_k(vk, A, L, f0, fk, g.K);
    for (int k = 0; k < g.K; k++)
        CHECKF(fabs(vk[k] - env_db(fk[k])) < 0.6, "grid point %d (%g Hz): %g dB, want %g", k, (double)fk[k],
               (double)vk[k], env_db(fk[k]));
    double worst = 0;
    for (int m = 2; m * f0 < 7600; m++) {
        double d = fabs(nac_harm_rate_k_at(vk, fk, g.K, m * f0) - env_db(m * f0));
        worst = d > worst ? d : worst;
    }
    CHECKF(worst < 1.5, "worst rate-L error %.3f dB", worst); /* K = 20 cannot follow the bumps exactly */
}

/* Rows of a constant voiced (f0 > 0) or unvoiced sound with the test envelope on grid g. */
static float *const_rows(size_t T, const nac_vocoder_grid *g, float f0)
{
    int K = g->K, D = K + NAC_VOCODER_EXTRA;
    float fk[NAC_VOCODER_MAX_K], *rows = calloc(T * D, sizeof *rows);
    nac_harm_grid_freqs(fk, g);
    double mean = 0;
    for (int k = 0; k < K; k++)
        mean += env_db(fk[k]) / K;
    for (size_t t = 0; t < T; t++) {
        for (int k = 0; k < K; k++)
            rows[t * D + k] = (float)(env_db(fk[k]) - mean);
        rows[t * D + K] = (float)mean;
        rows[t * D + K + 1] = f0;
        rows[t * D + K + 2] = f0 > 0;
    }
    return rows;
}

TEST(vocoder_synth_known_amplitudes)
{
    nac_vocoder_grid g;
    nac_vocoder_grid_default(&g);
    float fk[NAC_VOCODER_MAX_K];
    nac_harm_grid_freqs(fk, &g);
    size_t T = 50;
    float f0 = 180, *rows = const_rows(T, &g, f0), *y = NULL;
    size_t n = 0;
    CHECK(nac_vocoder_synthesize(&y, &n, rows, T, &g, 1, NULL) == 0);
    CHECK(n == T * NAC_VOCODER_HOP);
    nac_harm_analyzer *a = NULL;
    CHECK(nac_harm_analyzer_create(&a, NULL) == 0);
    const float *P = nac_harm_spectrum(a, y, n, (long)n / 2 + 80);
    float A[NAC_HARM_MAX_L + 1];
    int L = nac_harm_amplitudes(A, P, f0);
    double worst = 0;
    int worst_m = 0;
    for (int m = 1; m <= L - 1; m++) {
        double want = nac_harm_rate_k_at(rows, fk, g.K, m * f0) + rows[g.K];
        double d = fabs(20 * log10(A[m]) - want);
        if (d > worst)
            worst = d, worst_m = m;
    }
    nac_harm_analyzer_destroy(a);
    free(y);
    free(rows);
    CHECKF(worst < 0.5, "harmonic %d off by %.3f dB", worst_m, worst);
}

TEST(vocoder_synth_unvoiced_level)
{
    /* unvoiced rows: the band powers of the output, averaged over frames, match the envelope */
    nac_vocoder_grid g;
    nac_vocoder_grid_default(&g);
    float fk[NAC_VOCODER_MAX_K];
    nac_harm_grid_freqs(fk, &g);
    size_t T = 200;
    float *rows = const_rows(T, &g, 0), *y = NULL;
    size_t n = 0;
    CHECK(nac_vocoder_synthesize(&y, &n, rows, T, &g, 5, NULL) == 0);
    nac_harm_analyzer *a = NULL;
    CHECK(nac_harm_analyzer_create(&a, NULL) == 0);
    double pw[NAC_HARM_MAX_L + 1] = {0};
    int frames = 0, L = 0;
    for (size_t t = 10; t < T - 10; t += 3, frames++) {
        float A[NAC_HARM_MAX_L + 1];
        L = nac_harm_amplitudes(A, nac_harm_spectrum(a, y, n, (long)(t * 160 + 80)), NAC_HARM_UV_F0);
        for (int m = 1; m <= L; m++)
            pw[m] += (double)A[m] * A[m];
    }
    /* bands of 500 Hz: 5 harmonics each */
    double worst = 0;
    for (int m0 = 3; m0 + 5 <= L; m0 += 5) {
        double got = 0, want = 0;
        for (int m = m0; m < m0 + 5; m++) {
            got += pw[m] / frames;
            want += pow(10, (nac_harm_rate_k_at(rows, fk, g.K, m * NAC_HARM_UV_F0) + rows[g.K]) / 10);
        }
        double d = fabs(10 * log10(got / want));
        worst = d > worst ? d : worst;
    }
    nac_harm_analyzer_destroy(a);
    free(y);
    free(rows);
    CHECKF(worst < 1.5, "unvoiced band power off by %.2f dB", worst);
}

TEST(vocoder_analysis_synthesis_round_trip)
{
    /* analysis -> synthesis -> analysis of a harmonic signal keeps the rate-K rows within 1.5 dB rms */
    size_t n = FS;
    float *x = harmonic_signal(n, 140, 21), *f1 = NULL, *f2 = NULL, *y = NULL;
    size_t T1 = 0, T2 = 0, ny = 0;
    nac_vocoder_grid g;
    nac_vocoder_grid_default(&g);
    CHECK(nac_vocoder_analyze(&f1, &T1, x, n, &g, NULL) == 0);
    CHECK(nac_vocoder_synthesize(&y, &ny, f1, T1, &g, 1, NULL) == 0);
    CHECK(nac_vocoder_analyze(&f2, &T2, y, ny, &g, NULL) == 0);
    CHECK(T1 == T2);
    int D = g.K + NAC_VOCODER_EXTRA;
    double se = 0;
    int cnt = 0;
    for (size_t t = 5; t < T1 - 5; t++)
        for (int k = 0; k <= g.K; k++, cnt++) {
            double d = f1[t * D + k] - f2[t * D + k];
            se += d * d;
        }
    free(x), free(f1), free(f2), free(y);
    CHECKF(sqrt(se / cnt) < 1.5, "rms rate-K change %.3f dB", sqrt(se / cnt));
}

TEST(vocoder_bad_rows)
{
    nac_vocoder_grid g;
    nac_vocoder_grid_default(&g);
    int D = g.K + NAC_VOCODER_EXTRA;
    float *rows = const_rows(4, &g, 120), *y = NULL;
    size_t n;
    nac_error err;
    CHECK(nac_vocoder_check_rows(rows, 4, g.K, &err) == 0);
    rows[2 * D + 5] = NAN;
    CHECK(nac_vocoder_synthesize(&y, &n, rows, 4, &g, 1, &err) == NAC_ERR_NUMERIC && !y);
    CHECK(strstr(err.msg, "row 2, column 5"));
    rows[2 * D + 5] = 0;
    rows[D + g.K + 1] = 30; /* voiced below 50 Hz */
    CHECK(nac_vocoder_check_rows(rows, 4, g.K, &err) == NAC_ERR_FORMAT && strstr(err.msg, "row 1"));
    rows[D + g.K + 1] = 0; /* F0 0 but voiced */
    CHECK(nac_vocoder_check_rows(rows, 4, g.K, &err) == NAC_ERR_FORMAT);
    rows[D + g.K + 2] = 0;
    CHECK(nac_vocoder_check_rows(rows, 4, g.K, &err) == 0);
    g.K = 1;
    CHECK(nac_vocoder_synthesize(&y, &n, rows, 4, &g, 1, &err) == NAC_ERR_ARG);
    free(rows);
}

TEST(vocoder_cli_bad_f32)
{
    const char *tmp = nac_test_tmp_dir(), *bin = nac_test_bin();
    nac_vocoder_grid g;
    nac_vocoder_grid_default(&g);
    char path[512];
    /* good rows synthesise */
    float *rows = const_rows(30, &g, 150);
    snprintf(path, sizeof path, "%s/v_good.f32", tmp);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(rows, sizeof *rows, 30 * 23, f) == 30 * 23 && fclose(f) == 0);
    CHECK(nac_test_sh("%s synth %s %s/v_good.wav", bin, path, tmp) == 0);
    /* truncated: not a whole number of rows */
    snprintf(path, sizeof path, "%s/v_trunc.f32", tmp);
    f = fopen(path, "wb");
    CHECK(f && fwrite(rows, 1, 30 * 23 * 4 - 6, f) == 30 * 23 * 4 - 6 && fclose(f) == 0);
    CHECK(nac_test_sh("%s synth %s %s/v.wav 2>%s/v_err.txt", bin, path, tmp, tmp) == 1);
    CHECK(nac_test_sh("grep -q 'rows of K + 3 = 23' %s/v_err.txt", tmp) == 0);
    /* rows without pitch (K values) read as K + 3: caught by the row checks */
    snprintf(path, sizeof path, "%s/v_nopitch.f32", tmp);
    f = fopen(path, "wb");
    for (int t = 0; t < 23; t++)
        CHECK(f && fwrite(rows + t * 23, sizeof *rows, 20, f) == 20);
    CHECK(fclose(f) == 0);
    CHECK(nac_test_sh("%s synth %s %s/v.wav 2>%s/v_err.txt", bin, path, tmp, tmp) == 1);
    CHECK(nac_test_sh("grep -q 'with-pitch' %s/v_err.txt", tmp) == 0);
    /* a NaN */
    rows[40] = NAN;
    snprintf(path, sizeof path, "%s/v_nan.f32", tmp);
    f = fopen(path, "wb");
    CHECK(f && fwrite(rows, sizeof *rows, 30 * 23, f) == 30 * 23 && fclose(f) == 0);
    CHECK(nac_test_sh("%s synth %s %s/v.wav 2>%s/v_err.txt", bin, path, tmp, tmp) == 1);
    CHECK(nac_test_sh("grep -q 'row 1' %s/v_err.txt", tmp) == 0);
    free(rows);
    /* empty, missing, usage */
    snprintf(path, sizeof path, "%s/v_empty.f32", tmp);
    f = fopen(path, "wb");
    CHECK(f && fclose(f) == 0);
    CHECK(nac_test_sh("%s synth %s %s/v.wav 2>/dev/null", bin, path, tmp) == 1);
    CHECK(nac_test_sh("%s synth %s/missing.f32 %s/v.wav 2>/dev/null", bin, tmp, tmp) == 1);
    CHECK(nac_test_sh("%s synth 2>/dev/null", bin) == 2);
    CHECK(nac_test_sh("%s synth a.f32 b.wav --k 1 2>/dev/null", bin) == 2);
    CHECK(nac_test_sh("%s features %s/missing.wav %s/x.f32 2>/dev/null", bin, tmp, tmp) == 1);
    CHECK(nac_test_sh("%s features 2>/dev/null", bin) == 2);
    /* features of the synthesised file: rows of 20 and of 23 */
    CHECK(nac_test_sh("%s features %s/v_good.wav %s/v20.f32 2>/dev/null && test $(stat -c %%s %s/v20.f32) = %d",
                      bin, tmp, tmp, tmp, 30 * 20 * 4) == 0);
    CHECK(nac_test_sh("%s features %s/v_good.wav %s/v23.f32 --with-pitch 2>/dev/null && "
                      "test $(stat -c %%s %s/v23.f32) = %d",
                      bin, tmp, tmp, tmp, 30 * 23 * 4) == 0);
    /* rate-K rows with the pitch columns of another file; a row count that differs is refused */
    CHECK(nac_test_sh("%s synth %s/v20.f32 %s/v_pf.wav --pitch-from %s/v23.f32", bin, tmp, tmp, tmp) == 0);
    CHECK(nac_test_sh("head -c 800 %s/v20.f32 > %s/v20s.f32 && %s synth %s/v20s.f32 %s/v_pf.wav --pitch-from "
                      "%s/v23.f32 2>%s/v_err.txt",
                      tmp, tmp, bin, tmp, tmp, tmp, tmp) == 1);
    CHECK(nac_test_sh("grep -q 'same frames' %s/v_err.txt", tmp) == 0);
}

TEST(vocoder_lowrate_codes)
{
    /* rows -> codes -> bits -> codes -> rows: codes survive packing, pitch, energy and voicing come
     * back within their quantiser steps on the coded rows */
    const double kbps[] = {0.7, 1.2, 1.6};
    const int bits[] = {28, 48, 64};
    nac_vocoder_grid g;
    nac_vocoder_grid_default(&g);
    size_t T = 40;
    float *rows = const_rows(T, &g, 0);
    for (size_t t = 0; t < T; t++) { /* a pitch glide, voiced from row 8 on, rising energy */
        float *r = rows + t * 23;
        r[21] = t >= 8 ? 100.0f + 5 * t : 0;
        r[22] = t >= 8;
        r[20] = 20.0f + 0.7f * t;
    }
    for (int c = 0; c < 3; c++) {
        nac_vocoder_codec *q = NULL;
        CHECK(nac_vocoder_codec_create(&q, kbps[c], NULL) == 0);
        nac_vocoder_codec_info ci;
        nac_vocoder_codec_get_info(q, &ci);
        CHECK(ci.bits_per_frame == bits[c]);
        int32_t *codes = NULL, *back = NULL;
        size_t F = 0, F2 = 0, T2 = 0;
        float *dec = NULL;
        CHECK(nac_vocoder_codec_encode(&codes, &F, q, rows, T, NULL) == 0 && F == 10);
        size_t nb = nac_vocoder_packed_bytes(q, F);
        CHECK(nb == (size_t)(10 * bits[c] + 7) / 8);
        uint8_t *buf = malloc(nb);
        back = malloc(F * ci.n_fields * sizeof *back);
        nac_vocoder_pack(buf, q, codes, F);
        nac_vocoder_unpack(back, &F2, q, buf, nb);
        CHECK(F2 == F && !memcmp(back, codes, F * ci.n_fields * sizeof *back));
        CHECK(nac_vocoder_codec_decode(&dec, &T2, q, codes, F, NULL) == 0 && T2 == T);
        for (size_t t = 3; t < T; t += 4) {
            const float *a = rows + t * 23, *b = dec + t * 23;
            CHECKF(a[22] == b[22], "%g kbps row %zu: voicing %g, decoded %g", kbps[c], t, (double)a[22], (double)b[22]);
            if (a[22] > 0)
                CHECKF(fabsf(b[21] / a[21] - 1) < (c == 0 ? 0.045f : 0.02f), /* 5 bits at 0.7: steps of 8% */ "%g kbps row %zu: F0 %g decoded %g", kbps[c], t,
                       (double)a[21], (double)b[21]);
        }
        /* energies: coded to the least squares over the interpolated rows, so check the mean error */
        double eabs = 0;
        for (size_t t = 4; t < T; t++)
            eabs += fabsf(dec[t * 23 + 20] - rows[t * 23 + 20]) / (T - 4);
        CHECKF(eabs < (c == 0 ? 1.6 : 0.9), "%g kbps: mean energy error %.3f dB", kbps[c], eabs);
        /* a code out of range is an error, not a crash */
        codes[1] = 1 << 20;
        float *bad = NULL;
        CHECK(nac_vocoder_codec_decode(&bad, &T2, q, codes, F, NULL) == NAC_ERR_CORRUPT && !bad);
        /* the hash finds the mode again */
        nac_vocoder_codec *q2 = NULL;
        CHECK(nac_vocoder_codec_from_hash(&q2, ci.hash, NULL) == 0);
        nac_vocoder_codec_info ci2;
        nac_vocoder_codec_get_info(q2, &ci2);
        CHECK(ci2.kbps == ci.kbps);
        nac_vocoder_codec_destroy(q2);
        free(buf), free(back), free(codes), free(dec);
        nac_vocoder_codec_destroy(q);
    }
    nac_vocoder_codec *q = NULL;
    CHECK(nac_vocoder_codec_create(&q, 2.4, NULL) == NAC_ERR_ARG && !q);
    CHECK(nac_vocoder_codec_from_hash(&q, 0x12345678, NULL) == NAC_ERR_MODEL && !q);
    free(rows);
}

TEST(vocoder_lowrate_container)
{
    /* a voiced sound through nac encode --kbps 0.7/1.6 and nac decode: same length, F0 kept; a
     * damaged packet decodes with exit status 3 */
    const char *tmp = nac_test_tmp_dir(), *bin = nac_test_bin();
    size_t n = 2 * FS;
    float *x = harmonic_signal(n, 150, 31);
    for (size_t i = 0; i < n; i++)
        x[i] *= 0.5f;
    char wav[512], path[600];
    snprintf(wav, sizeof wav, "%s/lr_in.wav", tmp);
    CHECK(nac_audio_write_all(wav, x, n, FS, NULL) == 0);
    free(x);
    const char *rates[] = {"0.7", "1.6"};
    for (int c = 0; c < 2; c++) {
        CHECK(nac_test_sh("%s encode -q %s %s/lr.nac --kbps %s", bin, wav, tmp, rates[c]) == 0);
        CHECK(nac_test_sh("%s info %s/lr.nac | grep -q 'vocoder mode'", bin, tmp) == 0);
        CHECK(nac_test_sh("%s decode -q %s/lr.nac %s/lr_out.wav", bin, tmp, tmp) == 0);
        float *y = NULL;
        size_t ny = 0;
        snprintf(path, sizeof path, "%s/lr_out.wav", tmp);
        CHECK(nac_audio_read_all(&y, &ny, NULL, path, NULL) == 0);
        free(y);
        CHECKF(ny == n, "%s kbps: decoded %zu samples of %zu", rates[c], ny, n);
        CHECK(nac_test_sh("%s features %s/lr_out.wav %s/lr_out.f32 --with-pitch 2>/dev/null", bin, tmp, tmp) == 0);
        snprintf(path, sizeof path, "%s/lr_out.f32", tmp);
        float *rows = NULL;
        size_t T = 0;
        FILE *f = fopen(path, "rb");
        CHECK(f);
        rows = malloc(200 * 23 * sizeof *rows);
        T = fread(rows, 23 * sizeof *rows, 200, f);
        fclose(f);
        CHECK(T == 200);
        int good = 0;
        for (size_t t = 20; t < 180; t++)
            good += rows[t * 23 + 22] == 1 && fabsf(rows[t * 23 + 21] - 150) < 6;
        free(rows);
        CHECKF(good >= 150, "%s kbps: %d of 160 frames voiced at 150 Hz", rates[c], good);
    }
    /* damage a byte inside the second packet */
    CHECK(nac_test_sh("cp %s/lr.nac %s/lr_bad.nac && size=$(stat -c %%s %s/lr_bad.nac) && "
                      "printf '\\377' | dd of=%s/lr_bad.nac bs=1 seek=$((size - 150)) conv=notrunc 2>/dev/null",
                      tmp, tmp, tmp, tmp) == 0);
    CHECK(nac_test_sh("%s decode -q %s/lr_bad.nac %s/lr_bad.wav 2>/dev/null", bin, tmp, tmp) == 3);
    CHECK(nac_test_sh("head -c 60 %s/lr.nac > %s/lr_cut.nac", tmp, tmp) == 0);
    int rc = nac_test_sh("%s decode -q %s/lr_cut.nac %s/lr_cut.wav 2>/dev/null", bin, tmp, tmp);
    CHECK(rc == 1 || rc == 3);
}
