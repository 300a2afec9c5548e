/* Vocoder synthesis: per 10 ms row, the rate-K envelope gives the harmonic amplitudes (interpolated
 * in dB at m F0) and, through the real cepstrum folded to a causal one, the minimum phase of each
 * harmonic (Oppenheim & Schafer, ch. 13). Voiced frames add the fundamental's phase, integrated
 * from the F0 track, and are windowed by Hann (amplitude-complementary); unvoiced frames sum
 * harmonics of 100 Hz with random phases under a sine window (power-complementary, since the
 * phases of neighbouring frames are unrelated). Frames overlap-add every 10 ms, 20 ms long. */
#include "nac/vocoder.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/status.h"
#include "metrics/frames.h"
#include "vocoder/harmonic.h"

#define N NAC_VOCODER_HOP
#define PH_NFFT 512
#define PH_NB (PH_NFFT / 2 + 1)

typedef struct min_phase {
    float *re;          /* (PH_NFFT) real scratch */
    fftwf_complex *c;   /* (PH_NB) */
    fftwf_plan fwd, inv;
    float phase[PH_NB]; /* the last envelope's minimum phase, radians, unwrapped */
} min_phase;

static int min_phase_init(min_phase *p)
{
    p->re = fftwf_malloc(PH_NFFT * sizeof *p->re);
    p->c = fftwf_malloc(PH_NB * sizeof *p->c);
    if (!p->re || !p->c)
        return -1;
    p->fwd = nac_fftw_plan_r2c(PH_NFFT, p->re, p->c);
    p->inv = nac_fftw_plan_c2r(PH_NFFT, p->c, p->re);
    return p->fwd && p->inv ? 0 : -1;
}

static void min_phase_free(min_phase *p)
{
    nac_fftw_destroy(p->fwd);
    nac_fftw_destroy(p->inv);
    fftwf_free(p->re);
    fftwf_free(p->c);
}

/* phase[] of the minimum-phase filter whose magnitude is the envelope vk (dB) on grid fk. */
static void min_phase_compute(min_phase *p, const float *vk, const float *fk, int K)
{
    const float ln10_20 = (float)(M_LN10 / 20.0);
    for (int k = 0; k < PH_NB; k++) {
        float f = (float)k * NAC_VOCODER_RATE / PH_NFFT;
        p->c[k][0] = nac_harm_rate_k_at(vk, fk, K, f) * ln10_20;
        p->c[k][1] = 0;
    }
    fftwf_execute_dft_c2r(p->inv, p->c, p->re); /* real cepstrum times PH_NFFT */
    for (int n = 1; n < PH_NFFT / 2; n++)
        p->re[n] *= 2.0f / PH_NFFT;
    p->re[0] *= 1.0f / PH_NFFT;
    p->re[PH_NFFT / 2] *= 1.0f / PH_NFFT;
    for (int n = PH_NFFT / 2 + 1; n < PH_NFFT; n++)
        p->re[n] = 0;
    fftwf_execute_dft_r2c(p->fwd, p->re, p->c);
    for (int k = 0; k < PH_NB; k++)
        p->phase[k] = p->c[k][1];
}

static float phase_at(const min_phase *p, float f)
{
    float b = f * PH_NFFT / NAC_VOCODER_RATE;
    int k = (int)b;
    if (k >= PH_NB - 1)
        return p->phase[PH_NB - 1];
    float u = b - k;
    return (1 - u) * p->phase[k] + u * p->phase[k + 1];
}

/* Adds sum_m amp[m] cos(ph[m] + w[m] (j - N)) * win[j] for j = 0..2N-1 to y[j]. Four harmonics
 * at a time, in double, by the recursion cos(x + d) = 2 cos(d) cos(x) - cos(x - d). */
static void add_harmonics(float *y, const float *win, const double *amp, const double *ph, const double *w, int L)
{
    for (int m = 0; m < L; m += 4) {
        double a[4] = {0}, c0[4] = {0}, c1[4] = {0}, k2[4] = {0};
        for (int i = 0; i < 4 && m + i < L; i++) {
            a[i] = amp[m + i];
            c1[i] = cos(ph[m + i] - w[m + i] * N);              /* j = 0 */
            c0[i] = cos(ph[m + i] - w[m + i] * (N + 1));        /* j = -1 */
            k2[i] = 2 * cos(w[m + i]);
        }
        for (long j = 0; j < 2 * N; j++) {
            y[j] += (float)((a[0] * c1[0] + a[1] * c1[1] + a[2] * c1[2] + a[3] * c1[3]) * win[j]);
            for (int i = 0; i < 4; i++) {
                double nx = k2[i] * c1[i] - c0[i];
                c0[i] = c1[i];
                c1[i] = nx;
            }
        }
    }
}

int nac_vocoder_synthesize(float **y, size_t *n, const float *feat, size_t T, const nac_vocoder_grid *g,
                           uint64_t seed, nac_error *err)
{
    *y = NULL;
    *n = 0;
    int st = nac_vocoder_grid_check(g, err);
    if (st)
        return st;
    if (!feat || T == 0)
        return nac_error_set(err, NAC_ERR_ARG, "vocoder: no feature rows to synthesise");
    int K = g->K, D = K + NAC_VOCODER_EXTRA;
    if ((st = nac_vocoder_check_rows(feat, T, K, err)))
        return st;
    size_t len = T * N;
    float *out = calloc(len, sizeof *out);
    double *theta = malloc((T + 2) * sizeof *theta);
    min_phase mp = {0};
    if (!out || !theta || min_phase_init(&mp)) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "vocoder: out of memory (%zu frames)", T);
        goto fail;
    }
    float hann[2 * N], sine[2 * N], fk[NAC_VOCODER_MAX_K], vk[NAC_VOCODER_MAX_K];
    for (int j = 0; j < 2 * N; j++) {
        hann[j] = (float)(0.5 - 0.5 * cos(M_PI * j / N));
        sine[j] = (float)sin(M_PI * j / (2 * N));
    }
    nac_harm_grid_freqs(fk, g);
    /* fundamental phase at each frame centre: the F0 track integrated (trapezoid) */
    double wprev = 2 * M_PI * NAC_HARM_UV_F0 / NAC_VOCODER_RATE;
    for (size_t t = 0; t < T; t++)
        if (feat[t * D + K + 2] > 0) {
            wprev = 2 * M_PI * feat[t * D + K + 1] / NAC_VOCODER_RATE;
            break;
        }
    theta[0] = 0;
    for (size_t t = 0; t < T; t++) {
        const float *r = feat + t * D;
        double wt = r[K + 2] > 0 ? 2 * M_PI * r[K + 1] / NAC_VOCODER_RATE : wprev;
        if (t > 0)
            theta[t] = fmod(theta[t - 1] + N * 0.5 * (wprev + wt), 2 * M_PI);
        wprev = wt;
    }
    nac_rng rng;
    nac_rng_seed(&rng, seed);
    double amp[NAC_HARM_MAX_L], ph[NAC_HARM_MAX_L], w[NAC_HARM_MAX_L];
    /* frames -1 and T repeat the edge rows, so the first and last half frames are complete */
    for (long t = -1; t <= (long)T; t++) {
        size_t ti = t < 0 ? 0 : (size_t)t >= T ? T - 1 : (size_t)t;
        const float *r = feat + ti * D;
        int voiced = r[K + 2] > 0;
        float f0 = voiced ? r[K + 1] : NAC_HARM_UV_F0;
        for (int k = 0; k < K; k++)
            vk[k] = r[k] + r[K];
        int L = (int)(7999.0f / f0);
        if (L > NAC_HARM_MAX_L)
            L = NAC_HARM_MAX_L;
        if (voiced)
            min_phase_compute(&mp, vk, fk, K);
        double th = t < 0 ? theta[0] - N * 2 * M_PI * f0 / NAC_VOCODER_RATE
                          : (size_t)t >= T ? theta[T - 1] + N * 2 * M_PI * f0 / NAC_VOCODER_RATE
                                           : theta[t];
        for (int m = 1; m <= L; m++) {
            float f = m * f0;
            amp[m - 1] = pow(10.0, nac_harm_rate_k_at(vk, fk, K, f) / 20.0) / 16384.0;
            w[m - 1] = 2 * M_PI * f / NAC_VOCODER_RATE;
            ph[m - 1] = voiced ? fmod(m * th, 2 * M_PI) + phase_at(&mp, f) : 2 * M_PI * nac_rng_uniform(&rng);
        }
        long start = t * N + N / 2 - N; /* sample of j = 0 */
        long lo = -start, hi = (long)len - start;
        float tmp[2 * N];
        memset(tmp, 0, sizeof tmp);
        add_harmonics(tmp, voiced ? hann : sine, amp, ph, w, L);
        for (long j = lo > 0 ? lo : 0; j < 2 * N && j < hi; j++)
            out[start + j] += tmp[j];
    }
    min_phase_free(&mp);
    free(theta);
    *y = out;
    *n = len;
    return NAC_OK;
fail:
    min_phase_free(&mp);
    free(theta);
    free(out);
    return st;
}
