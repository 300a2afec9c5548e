/* HTK-scale triangular mel filterbank as torchaudio.functional.melscale_fbanks(norm=None,
 * mel_scale="htk"): bin k at frequency k * (sample_rate / 2, integer division) / (n_bins - 1),
 * band m rises from f[m] to f[m+1] and falls to f[m+2], f equally spaced in mel. fb (n_mels, n_bins). */
#include "dsp/mel.h"

#include <math.h>
#include <stdlib.h>

static double hz_to_mel(double f) { return 2595.0 * log10(1.0 + f / 700.0); }
static double mel_to_hz(double m) { return 700.0 * (pow(10.0, m / 2595.0) - 1.0); }

int nac_mel_init(nac_mel *m, int n_fft, int sample_rate, int n_mels, float fmin, float fmax, nac_error *err)
{
    double *fpts = NULL;
    m->fb = NULL;
    m->lo = m->hi = NULL;
    m->n_mels = n_mels;
    m->n_bins = n_fft / 2 + 1;
    if (fmax <= 0)
        fmax = (float)(sample_rate / 2);
    if (n_fft < 2 || n_fft % 2 != 0 || sample_rate <= 0 || n_mels <= 0 || n_mels > 100000 ||
        !(fmin >= 0) || !(fmax > fmin) || fmax > 0.5f * (float)sample_rate)
        return nac_error_set(err, NAC_ERR_ARG,
                             "mel: invalid n_fft %d, sample_rate %d, n_mels %d, fmin %g, fmax %g",
                             n_fft, sample_rate, n_mels, (double)fmin, (double)fmax);
    int nb = m->n_bins;
    m->fb = calloc((size_t)n_mels * (size_t)nb, sizeof(float));
    m->lo = calloc((size_t)n_mels, sizeof(int));
    m->hi = calloc((size_t)n_mels, sizeof(int));
    fpts = calloc((size_t)n_mels + 2, sizeof(double));
    if (!m->fb || !m->lo || !m->hi || !fpts) {
        free(fpts);
        nac_mel_free(m);
        return nac_error_set(err, NAC_ERR_NOMEM, "mel: out of memory");
    }
    double mlo = hz_to_mel(fmin), mhi = hz_to_mel(fmax);
    for (int i = 0; i < n_mels + 2; i++)
        fpts[i] = mel_to_hz(mlo + (mhi - mlo) * (double)i / (double)(n_mels + 1));
    double nyq = (double)(sample_rate / 2);
    for (int b = 0; b < n_mels; b++) {
        double d0 = fpts[b + 1] - fpts[b], d1 = fpts[b + 2] - fpts[b + 1];
        int lo = nb, hi = 0;
        for (int k = 0; k < nb; k++) {
            double f = nyq * (double)k / (double)(nb - 1);
            double down = (f - fpts[b]) / d0, up = (fpts[b + 2] - f) / d1;
            double v = down < up ? down : up;
            if (v > 0) {
                m->fb[(size_t)b * nb + k] = (float)v;
                if (k < lo)
                    lo = k;
                hi = k + 1;
            }
        }
        m->lo[b] = lo < hi ? lo : 0;
        m->hi[b] = lo < hi ? hi : 0;
    }
    free(fpts);
    return NAC_OK;
}

void nac_mel_free(nac_mel *m)
{
    if (!m)
        return;
    free(m->fb);
    free(m->lo);
    free(m->hi);
    m->fb = NULL;
    m->lo = m->hi = NULL;
}

void nac_mel_apply(const nac_mel *m, float *mel, const float *power, int B, int T)
{
    const int M = m->n_mels, nb = m->n_bins;
    const long total = (long)B * M;
#pragma omp parallel for schedule(static) if ((long)B * nb * T >= 32768L)
    for (long i = 0; i < total; i++) {
        size_t b = (size_t)i / (size_t)M, band = (size_t)i % (size_t)M;
        float *restrict out = mel + ((size_t)b * M + band) * (size_t)T;
        const float *p = power + (size_t)b * nb * (size_t)T;
        const float *w = m->fb + band * (size_t)nb;
        for (int t = 0; t < T; t++)
            out[t] = 0.0f;
        for (int k = m->lo[band]; k < m->hi[band]; k++) {
            const float wk = w[k];
            const float *restrict pk = p + (size_t)k * (size_t)T;
            for (int t = 0; t < T; t++)
                out[t] += wk * pk[t];
        }
    }
}

/* Parallel over (example, bin): each output row sums its bands in band order. */
void nac_mel_apply_backward(const nac_mel *m, float *dpower, const float *dmel, int B, int T)
{
    const int M = m->n_mels, nb = m->n_bins;
    const long total = (long)B * nb;
#pragma omp parallel for schedule(static) if ((long)B * nb * T >= 32768L)
    for (long i = 0; i < total; i++) {
        size_t b = (size_t)i / (size_t)nb;
        int k = (int)((size_t)i % (size_t)nb);
        float *restrict dp = dpower + ((size_t)b * nb + (size_t)k) * (size_t)T;
        for (int band = 0; band < M; band++) {
            if (k < m->lo[band] || k >= m->hi[band])
                continue;
            const float wk = m->fb[(size_t)band * nb + k];
            const float *restrict g = dmel + ((size_t)b * M + band) * (size_t)T;
            for (int t = 0; t < T; t++)
                dp[t] += wk * g[t];
        }
    }
}
