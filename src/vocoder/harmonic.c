/* Harmonic amplitudes from a windowed power spectrum, and the rate-L <-> rate-K conversions.
 * Band power: for a sinusoid of amplitude a the positive-frequency bins of X = FFT(w x) hold
 * N sum(w^2) a^2 / 4 of power, so P = 4 |X|^2 / (N sum(w^2)) * 16384^2 gives sum(P in band) = A^2
 * with A = 16384 a; for noise the band's power follows the same scale. */
#include "vocoder/harmonic.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/window.h"
#include "metrics/frames.h"

#define NB (NAC_HARM_NFFT / 2 + 1)

struct nac_harm_analyzer {
    float w[NAC_HARM_WIN];
    double scale;
    float *in;
    fftwf_complex *out;
    fftwf_plan plan;
    float P[NB];
};

int nac_harm_analyzer_create(nac_harm_analyzer **out, nac_error *err)
{
    nac_harm_analyzer *a = calloc(1, sizeof *a);
    if (!a)
        return nac_error_set(err, NAC_ERR_NOMEM, "vocoder: out of memory");
    nac_window_fill(a->w, NAC_HARM_WIN, NAC_WINDOW_HANN);
    double sw = 0;
    for (int i = 0; i < NAC_HARM_WIN; i++)
        sw += (double)a->w[i] * a->w[i];
    a->scale = 4.0 * 16384.0 * 16384.0 / (NAC_HARM_NFFT * sw);
    a->in = fftwf_malloc(NAC_HARM_NFFT * sizeof *a->in);
    a->out = fftwf_malloc(NB * sizeof *a->out);
    if (!a->in || !a->out || !(a->plan = nac_fftw_plan_r2c(NAC_HARM_NFFT, a->in, a->out))) {
        nac_harm_analyzer_destroy(a);
        return nac_error_set(err, NAC_ERR_NOMEM, "vocoder: out of memory (FFT)");
    }
    *out = a;
    return NAC_OK;
}

void nac_harm_analyzer_destroy(nac_harm_analyzer *a)
{
    if (!a)
        return;
    nac_fftw_destroy(a->plan);
    fftwf_free(a->in);
    fftwf_free(a->out);
    free(a);
}

const float *nac_harm_spectrum(nac_harm_analyzer *a, const float *x, size_t n, long c)
{
    memset(a->in, 0, NAC_HARM_NFFT * sizeof *a->in);
    long s = c - NAC_HARM_WIN / 2;
    for (int i = 0; i < NAC_HARM_WIN; i++) {
        long j = s + i;
        if (j >= 0 && (size_t)j < n)
            a->in[i] = a->w[i] * x[j];
    }
    fftwf_execute_dft_r2c(a->plan, a->in, a->out);
    for (int k = 0; k < NB; k++)
        a->P[k] = (float)(((double)a->out[k][0] * a->out[k][0] + (double)a->out[k][1] * a->out[k][1]) * a->scale);
    /* DC and Nyquist bins stand for half a bin of positive frequencies */
    return a->P;
}

/* Power at fractional bin position b, linearly interpolated. */
static float power_at(const float *P, float b)
{
    int k = (int)b;
    if (k < 0)
        return P[0];
    if (k >= NB - 1)
        return P[NB - 1];
    float u = b - k;
    return (1 - u) * P[k] + u * P[k + 1];
}

float nac_harm_refine_f0(const float *P, float f0)
{
    const float bin = (float)NAC_HARM_NFFT / NAC_VOCODER_RATE;
    float best = f0, best_s = -1;
    for (int i = -16; i <= 16; i++) {
        float f = f0 * (1 + 0.0025f * i);
        float s = 0;
        for (int m = 1; m * f < 3000; m++)
            s += sqrtf(power_at(P, m * f * bin));
        if (s > best_s)
            best_s = s, best = f;
    }
    return best;
}

int nac_harm_amplitudes(float *A, const float *P, float f0)
{
    const float bin = (float)NAC_HARM_NFFT / NAC_VOCODER_RATE;
    int L = (int)(7999.0f / f0);
    if (L > NAC_HARM_MAX_L)
        L = NAC_HARM_MAX_L;
    for (int m = 1; m <= L; m++) {
        int lo = (int)lroundf((m - 0.5f) * f0 * bin), hi = (int)lroundf((m + 0.5f) * f0 * bin);
        if (hi > NB)
            hi = NB;
        double e = 0;
        for (int k = lo; k < hi; k++)
            e += P[k];
        A[m] = (float)sqrt(e);
    }
    return L;
}

static double mel(double f) { return 2595.0 * log10(1.0 + f / 700.0); }
static double mel_inv(double m) { return 700.0 * (pow(10.0, m / 2595.0) - 1.0); }

void nac_harm_grid_freqs(float *fk, const nac_vocoder_grid *g)
{
    double m0 = mel(g->fmin), m1 = mel(g->fmax);
    for (int k = 0; k < g->K; k++)
        fk[k] = (float)mel_inv(m0 + (m1 - m0) * k / (g->K - 1));
}

void nac_harm_to_rate_k(float *out, const float *A, int L, float f0, const float *fk, int K)
{
    float db[NAC_HARM_MAX_L + 1], peak = NAC_HARM_FLOOR_DB;
    for (int m = 1; m <= L; m++) {
        db[m] = 20.0f * log10f(A[m] > 1e-10f ? A[m] : 1e-10f);
        if (db[m] > peak)
            peak = db[m];
    }
    float floor_db = peak - NAC_HARM_RANGE_DB > NAC_HARM_FLOOR_DB ? peak - NAC_HARM_RANGE_DB : NAC_HARM_FLOOR_DB;
    for (int m = 1; m <= L; m++)
        if (db[m] < floor_db)
            db[m] = floor_db;
    for (int k = 0; k < K; k++) {
        float h = fk[k] / f0; /* position in harmonics */
        if (h <= 1)
            out[k] = db[1];
        else if (h >= L)
            out[k] = db[L];
        else {
            int m = (int)h;
            float u = h - m;
            out[k] = (1 - u) * db[m] + u * db[m + 1];
        }
    }
}

float nac_harm_rate_k_at(const float *vk, const float *fk, int K, float f)
{
    if (f <= fk[0])
        return vk[0];
    if (f >= fk[K - 1])
        return vk[K - 1];
    int lo = 0, hi = K - 1;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (fk[mid] <= f)
            lo = mid;
        else
            hi = mid;
    }
    float u = (f - fk[lo]) / (fk[hi] - fk[lo]);
    return (1 - u) * vk[lo] + u * vk[hi];
}
