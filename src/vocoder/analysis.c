/* Vocoder analysis: pitch track, then per 10 ms frame the refined F0, the harmonic amplitudes and
 * their rate-K resampling with the mean split off as the energy. Also the checks of feature rows. */
#include "nac/vocoder.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "vocoder/harmonic.h"
#include "vocoder/pitch.h"

void nac_vocoder_grid_default(nac_vocoder_grid *g)
{
    g->K = 20;
    g->fmin = 200;
    g->fmax = 7600;
}

void nac_vocoder_grid_codec2(nac_vocoder_grid *g)
{
    g->K = 20;
    g->fmin = 200;
    g->fmax = 3700;
}

int nac_vocoder_grid_check(const nac_vocoder_grid *g, nac_error *err)
{
    if (!g)
        return nac_error_set(err, NAC_ERR_ARG, "vocoder: no grid");
    if (g->K < 2 || g->K > NAC_VOCODER_MAX_K)
        return nac_error_set(err, NAC_ERR_ARG, "vocoder: K must be 2..%d, not %d", NAC_VOCODER_MAX_K, g->K);
    if (!(g->fmin >= 20 && g->fmin < g->fmax && g->fmax <= 8000))
        return nac_error_set(err, NAC_ERR_ARG, "vocoder: grid %g..%g Hz: need 20 <= fmin < fmax <= 8000",
                             (double)g->fmin, (double)g->fmax);
    return NAC_OK;
}

int nac_vocoder_analyze(float **feat, size_t *n_frames, const float *x, size_t n, const nac_vocoder_grid *g,
                        nac_error *err)
{
    *feat = NULL;
    *n_frames = 0;
    int st = nac_vocoder_grid_check(g, err);
    if (st)
        return st;
    if (!x || n == 0)
        return nac_error_set(err, NAC_ERR_ARG, "vocoder: no samples to analyse");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return nac_error_set(err, NAC_ERR_NUMERIC, "vocoder: sample %zu is not finite", i);
    size_t T = (n + NAC_VOCODER_HOP - 1) / NAC_VOCODER_HOP;
    int K = g->K, D = K + NAC_VOCODER_EXTRA;
    float *f0 = malloc(T * sizeof *f0), *out = malloc(T * (size_t)D * sizeof *out);
    nac_harm_analyzer *an = NULL;
    if (!f0 || !out) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "vocoder: out of memory (%zu frames)", T);
        goto fail;
    }
    if ((st = nac_harm_analyzer_create(&an, err)) || (st = nac_pitch_track(f0, x, n, T, err)))
        goto fail;
    float fk[NAC_VOCODER_MAX_K], A[NAC_HARM_MAX_L + 1];
    nac_harm_grid_freqs(fk, g);
    for (size_t t = 0; t < T; t++) {
        const float *P = nac_harm_spectrum(an, x, n, (long)(t * NAC_VOCODER_HOP + NAC_VOCODER_HOP / 2));
        float f = f0[t] > 0 ? nac_harm_refine_f0(P, f0[t]) : NAC_HARM_UV_F0;
        if (f0[t] > 0 && f < NAC_VOCODER_F0_MIN)
            f = NAC_VOCODER_F0_MIN;
        if (f0[t] > 0 && f > NAC_VOCODER_F0_MAX)
            f = NAC_VOCODER_F0_MAX;
        int L = nac_harm_amplitudes(A, P, f);
        float *row = out + t * (size_t)D;
        nac_harm_to_rate_k(row, A, L, f, fk, K);
        double mean = 0;
        for (int k = 0; k < K; k++)
            mean += row[k];
        mean /= K;
        for (int k = 0; k < K; k++)
            row[k] = (float)(row[k] - mean);
        row[K] = (float)mean;
        row[K + 1] = f0[t] > 0 ? f : 0;
        row[K + 2] = f0[t] > 0 ? 1.0f : 0.0f;
    }
    nac_harm_analyzer_destroy(an);
    free(f0);
    *feat = out;
    *n_frames = T;
    return NAC_OK;
fail:
    nac_harm_analyzer_destroy(an);
    free(f0);
    free(out);
    return st;
}

int nac_vocoder_check_rows(const float *feat, size_t T, int K, nac_error *err)
{
    int D = K + NAC_VOCODER_EXTRA;
    for (size_t t = 0; t < T; t++) {
        const float *r = feat + t * (size_t)D;
        for (int k = 0; k < D; k++)
            if (!isfinite(r[k]))
                return nac_error_set(err, NAC_ERR_NUMERIC, "row %zu, column %d is not finite", t, k);
        for (int k = 0; k < K; k++)
            if (fabsf(r[k]) > 200)
                return nac_error_set(err, NAC_ERR_FORMAT,
                                     "row %zu, column %d: rate-K value %g dB is out of range (+-200): are the "
                                     "rows %d values wide (K = %d, with pitch)?",
                                     t, k, (double)r[k], D, K);
        float e = r[K], f0 = r[K + 1], v = r[K + 2];
        if (e < -100 || e > 250)
            return nac_error_set(err, NAC_ERR_FORMAT,
                                 "row %zu, column %d: energy %g dB is out of range (-100..250): are the rows %d "
                                 "values wide (K = %d, written with --with-pitch)?",
                                 t, K, (double)e, D, K);
        int voiced_ok = v == 1 && f0 >= NAC_VOCODER_F0_MIN && f0 <= NAC_VOCODER_F0_MAX;
        if (!(voiced_ok || (v == 0 && f0 == 0)))
            return nac_error_set(err, NAC_ERR_FORMAT,
                                 "row %zu: F0 %g Hz with voicing %g: want F0 0 with voicing 0, or %g..%g Hz with "
                                 "voicing 1 (are the rows %d values wide: K = %d, written with --with-pitch?)",
                                 t, (double)f0, (double)v, (double)NAC_VOCODER_F0_MIN, (double)NAC_VOCODER_F0_MAX,
                                 D, K);
    }
    return NAC_OK;
}
