/* Multi-resolution STFT loss and multi-scale log-mel L1 with their gradients (see
 * loss_spectral.h). Work is fused per frame (dsp/stft_frames.h): pass 1, parallel over
 * (example, frame), transforms prediction and target, forms the frame's partial sums in double
 * and the prediction's spectral gradient row; pass 2, parallel over examples, runs the adjoint
 * STFT frame by frame into dy. Partial sums are reduced in frame order, so results do not depend
 * on the thread count. */
#include "nn/loss_spectral.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/alloc.h"
#include "dsp/mel.h"
#include "dsp/stft.h"
#include "dsp/stft_frames.h"

/* ---- shared ------------------------------------------------------------------------------- */

/* Frames covering a signal of T samples plus n_fft - hop zeros after it (and, by the causal
 * framing, n_fft - hop zeros before it): ceil((T + n_fft - hop) / hop). */
static int n_frames(int T, int n_fft, int hop)
{
    long need = (long)T + n_fft - hop;
    return (int)((need + hop - 1) / hop);
}

/* Below this many windowed samples per pass the work stays on the calling thread. */
#define LOSS_PARALLEL_MIN 32768L

static float *align64(float *raw) { return (float *)(((uintptr_t)raw + 63) & ~(uintptr_t)63); }

/* ---- vector helpers (written so that the compiler vectorises them) ------------------------- */

/* p (F) <- re^2 + im^2 of an interleaved spectrum row. */
static void row_power(float *restrict p, const float *restrict row, int F)
{
    for (int f = 0; f < F; f++)
        p[f] = row[2 * f] * row[2 * f] + row[2 * f + 1] * row[2 * f + 1];
}

/* o (n) <- sqrt(a): SSE2 where available (plain sqrtf keeps errno handling, which stops the
 * compiler from vectorising); both are IEEE correctly rounded, so the results are identical. */
static void vec_sqrt(float *o, const float *a, int n)
{
    int i = 0;
#if defined(__SSE2__)
    for (; i + 4 <= n; i += 4)
        _mm_storeu_ps(o + i, _mm_sqrt_ps(_mm_loadu_ps(a + i)));
#endif
    for (; i < n; i++)
        o[i] = sqrtf(a[i]);
}

/* Natural log for x > 0 (values below FLT_MIN are taken as FLT_MIN), relative error below
 * 1.7e-7 over all normal floats (glibc logf: 7.5e-8):
 * x = m 2^e with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s), s = (m-1)/(m+1), by its series
 * to s^9. Branch-free integer selects, so loops over it vectorise (glibc's logf is a call). */
static inline float log_pos(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    u = u < 0x00800000u ? 0x00800000u : u;
    uint32_t mant = u & 0x007fffffu;
    uint32_t big = mant > 0x003504f3u; /* m > sqrt(2): use m/2 and e+1 */
    int32_t e = (int32_t)(u >> 23) - 127 + (int32_t)big;
    uint32_t mu = mant | (big ? 0x3f000000u : 0x3f800000u);
    float m;
    memcpy(&m, &mu, 4);
    float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
    float p = s2 * (0.333333333f + s2 * (0.2f + s2 * (0.142857143f + s2 * 0.111111111f)));
    return (float)e * 0.693147181f + (2.0f * s + 2.0f * s * p);
}

static int check_scale(nac_error *err, const char *what, int i, int n_fft, int hop)
{
    if (n_fft < 2 || n_fft % 2 != 0 || n_fft > 32768 || hop <= 0 || hop > n_fft)
        return nac_error_set(err, NAC_ERR_ARG, "%s scale %d: n_fft %d must be even (2..32768), hop %d in 1..n_fft",
                             what, i, n_fft, hop);
    return NAC_OK;
}

/* Pass 2: dy (B, T) += adjoint STFT of the gradient rows spec (B, Tf, S), frame by frame. */
static void backward_rows(const nac_stft *s, float *dy, float *spec, int B, int T, int Tf)
{
    const size_t S = (size_t)nac_stft_frame_stride(s);
#pragma omp parallel for schedule(static) if ((long)B * Tf * nac_stft_n_fft(s) >= LOSS_PARALLEL_MIN)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < Tf; t++)
            nac_stft_frame_backward(s, dy + (size_t)b * T, spec + ((size_t)b * Tf + (size_t)t) * S, T, t);
}

/* ---- multi-resolution STFT loss ----------------------------------------------------------- */

struct nn_mrstft_loss {
    nn_mrstft_config cfg;
    int max_B, max_T;
    nac_stft *stft[NN_LOSS_MAX_SCALES];
    float *spec;  /* (max_B, Tf, S): prediction spectra, then their gradients */
    float *xmag;  /* (max_B, Tf, F): target magnitudes */
    double *part; /* (max_B * Tf, 3): per-frame sums of (|Y|-|X|)^2, |X|^2, |log ratio| */
};

void nn_mrstft_config_default(nn_mrstft_config *c)
{
    memset(c, 0, sizeof *c);
    c->n_res = 3;
    c->n_fft[0] = 512;
    c->n_fft[1] = 1024;
    c->n_fft[2] = 2048;
    c->window = NAC_WINDOW_HANN;
    c->eps = 1e-5f;
    c->sc_weight = 1.0f;
    c->mag_weight = 1.0f;
}

void nn_mrstft_loss_destroy(nn_mrstft_loss *l)
{
    if (!l)
        return;
    for (int i = 0; i < NN_LOSS_MAX_SCALES; i++)
        nac_stft_destroy(l->stft[i]);
    nac_free(l->spec);
    nac_free(l->xmag);
    nac_free(l->part);
    free(l);
}

int nn_mrstft_loss_create(nn_mrstft_loss **out, const nn_mrstft_config *cfg, int max_B, int max_T,
                          nac_error *err)
{
    int rc;
    *out = NULL;
    if (cfg->n_res < 1 || cfg->n_res > NN_LOSS_MAX_SCALES || max_B < 1 || max_T < 1 || !(cfg->eps > 0))
        return nac_error_set(err, NAC_ERR_ARG, "mrstft loss: n_res %d (1..%d), max_B %d, max_T %d, eps %g",
                             cfg->n_res, NN_LOSS_MAX_SCALES, max_B, max_T, (double)cfg->eps);
    nn_mrstft_loss *l = calloc(1, sizeof *l);
    if (!l)
        return nac_error_set(err, NAC_ERR_NOMEM, "mrstft loss: out of memory");
    l->cfg = *cfg;
    l->max_B = max_B;
    l->max_T = max_T;
    size_t max_spec = 0, max_mag = 0, max_tf = 0;
    for (int r = 0; r < cfg->n_res; r++) {
        int n = cfg->n_fft[r], hop = cfg->hop[r] ? cfg->hop[r] : cfg->n_fft[r] / 4;
        if (hop == 0)
            hop = 1;
        l->cfg.hop[r] = hop;
        if ((rc = check_scale(err, "mrstft loss", r, n, hop)) < 0)
            goto fail;
        if ((rc = nac_stft_create(&l->stft[r], n, hop, cfg->window, err)) < 0)
            goto fail;
        size_t tf = (size_t)n_frames(max_T, n, hop);
        size_t S = (size_t)nac_stft_frame_stride(l->stft[r]), F = (size_t)(n / 2 + 1);
        if (tf * S > max_spec)
            max_spec = tf * S;
        if (tf * F > max_mag)
            max_mag = tf * F;
        if (tf > max_tf)
            max_tf = tf;
    }
    l->spec = nac_alloc((size_t)max_B * max_spec * sizeof(float));
    l->xmag = nac_alloc((size_t)max_B * max_mag * sizeof(float));
    l->part = nac_alloc(3 * (size_t)max_B * max_tf * sizeof(double));
    if (!l->spec || !l->xmag || !l->part) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "mrstft loss: out of memory (max_B %d, max_T %d)", max_B, max_T);
        goto fail;
    }
    *out = l;
    return NAC_OK;
fail:
    nn_mrstft_loss_destroy(l);
    return rc;
}

/* One resolution: returns sc_weight * SC + mag_weight * mean |log ratio|; with dy, adds
 * g * d/dy of it. */
static double mrstft_one(nn_mrstft_loss *l, int r, float *dy, const float *y, const float *x, int B, int T,
                         double g)
{
    const nac_stft *s = l->stft[r];
    const int n = l->cfg.n_fft[r], hop = l->cfg.hop[r], F = n / 2 + 1;
    const int Tf = n_frames(T, n, hop), S = nac_stft_frame_stride(s);
    const long frames = (long)B * Tf;
    const float eps = l->cfg.eps;
    float *spec = l->spec, *xmag = l->xmag;
    double *part = l->part;

    /* Pass 1: spectra, target magnitudes, per-frame sums. */
#pragma omp parallel for schedule(static) if (frames * n >= LOSS_PARALLEL_MIN)
    for (long i = 0; i < frames; i++) {
        float raw[S + 4 * F + 16];
        float *xr = align64(raw), *py = xr + S, *px = py + F, *my = px + F, *mx = my + F;
        float *yr = spec + (size_t)i * S;
        int b = (int)(i / Tf), t = (int)(i % Tf);
        nac_stft_frame_forward(s, yr, y + (size_t)b * T, T, t);
        nac_stft_frame_forward(s, xr, x + (size_t)b * T, T, t);
        if (dy)
            mx = xmag + (size_t)i * F;
        row_power(py, yr, F);
        row_power(px, xr, F);
        vec_sqrt(my, py, F);
        vec_sqrt(mx, px, F);
        float *lr = py; /* log ratios, over the prediction's powers (no longer needed) */
        for (int f = 0; f < F; f++)
            lr[f] = log_pos((my[f] + eps) / (mx[f] + eps));
        double d2 = 0, x2 = 0, lg = 0;
        for (int f = 0; f < F; f++) {
            float d = my[f] - mx[f];
            d2 += (double)d * d;
            x2 += (double)px[f];
            lg += (double)fabsf(lr[f]);
        }
        part[3 * i] = d2;
        part[3 * i + 1] = x2;
        part[3 * i + 2] = lg;
    }
    double d2 = 0, x2 = 0, lg = 0;
    for (long i = 0; i < frames; i++) {
        d2 += part[3 * i];
        x2 += part[3 * i + 1];
        lg += part[3 * i + 2];
    }
    const double N = (double)frames * F;
    const double num = sqrt(d2), den = sqrt(x2);
    const double sc = den > 0 ? num / den : 0.0;
    const double loss = l->cfg.sc_weight * sc + l->cfg.mag_weight * lg / N;
    if (!dy)
        return loss;

    /* Pass 2, per example in frame order: d/d|Y| = sc_w (|Y|-|X|) / (num den)
     * + mag_w sign(|Y|-|X|) / ((|Y|+eps) N), onto re, im through |Y| (zero where |Y| = 0),
     * then the adjoint STFT of the row into dy. */
    const float c_sc = (num > 0 && den > 0) ? (float)(g * l->cfg.sc_weight / (num * den)) : 0.0f;
    const float c_lg = (float)(g * l->cfg.mag_weight / N);
#pragma omp parallel for schedule(static) if (frames * n >= LOSS_PARALLEL_MIN)
    for (int b = 0; b < B; b++) {
        float raw[2 * F + 16];
        float *my = align64(raw), *k = my + F;
        for (int t = 0; t < Tf; t++) {
            size_t i = (size_t)b * Tf + (size_t)t;
            float *yr = spec + i * S;
            const float *mx = xmag + i * F;
            row_power(my, yr, F);
            vec_sqrt(my, my, F);
            for (int f = 0; f < F; f++) {
                /* selects around unconditional divisions, so that the loop vectorises */
                float d = my[f] - mx[f];
                float sg = d > 0 ? 1.0f : (d < 0 ? -1.0f : 0.0f);
                float dm = c_sc * d + c_lg * sg / (my[f] + eps);
                float q = dm / (my[f] > 0 ? my[f] : 1.0f);
                k[f] = my[f] > 0 ? q : 0.0f;
            }
            for (int f = 0; f < F; f++) {
                yr[2 * f] *= k[f];
                yr[2 * f + 1] *= k[f];
            }
            nac_stft_frame_backward(s, dy + (size_t)b * T, yr, T, t);
        }
    }
    return loss;
}

double nn_mrstft_loss_forward_backward(nn_mrstft_loss *l, float *dy, const float *y, const float *x,
                                       int B, int T, float weight)
{
    if (B < 1 || B > l->max_B || T < 1 || T > l->max_T)
        return NAN;
    const int R = l->cfg.n_res;
    double total = 0;
    for (int r = 0; r < R; r++)
        total += mrstft_one(l, r, dy, y, x, B, T, (double)weight / R);
    return total / R;
}

/* ---- multi-scale log-mel loss ------------------------------------------------------------- */

struct nn_melspec_loss {
    nn_melspec_config cfg;
    int max_B, max_T;
    nac_stft *stft[NN_LOSS_MAX_SCALES];
    nac_mel mel[NN_LOSS_MAX_SCALES];
    float *spec;  /* (max_B, Tf, S): prediction spectra, then their gradients */
    double *part; /* (max_B * Tf): per-frame sums of |log10 ratio| */
};

void nn_melspec_config_default(nn_melspec_config *c, int sample_rate)
{
    static const int win[4] = {256, 512, 1024, 2048}, mels[4] = {20, 40, 80, 80};
    memset(c, 0, sizeof *c);
    c->sample_rate = sample_rate;
    c->n_scales = 4;
    for (int i = 0; i < 4; i++) {
        c->win[i] = win[i];
        c->n_mels[i] = mels[i];
    }
    c->power = 1.0f;
    c->eps = 1e-5f;
    c->window = NAC_WINDOW_HANN;
}

void nn_melspec_loss_destroy(nn_melspec_loss *l)
{
    if (!l)
        return;
    for (int i = 0; i < NN_LOSS_MAX_SCALES; i++) {
        nac_stft_destroy(l->stft[i]);
        nac_mel_free(&l->mel[i]);
    }
    nac_free(l->spec);
    nac_free(l->part);
    free(l);
}

int nn_melspec_loss_create(nn_melspec_loss **out, const nn_melspec_config *cfg, int max_B, int max_T,
                           nac_error *err)
{
    int rc;
    *out = NULL;
    if (cfg->n_scales < 1 || cfg->n_scales > NN_LOSS_MAX_SCALES || max_B < 1 || max_T < 1 ||
        !(cfg->eps > 0) || (cfg->power != 1.0f && cfg->power != 2.0f))
        return nac_error_set(err, NAC_ERR_ARG,
                             "mel loss: n_scales %d (1..%d), max_B %d, max_T %d, eps %g, power %g (1 or 2)",
                             cfg->n_scales, NN_LOSS_MAX_SCALES, max_B, max_T, (double)cfg->eps,
                             (double)cfg->power);
    nn_melspec_loss *l = calloc(1, sizeof *l);
    if (!l)
        return nac_error_set(err, NAC_ERR_NOMEM, "mel loss: out of memory");
    l->cfg = *cfg;
    l->max_B = max_B;
    l->max_T = max_T;
    size_t max_spec = 0, max_tf = 0;
    for (int r = 0; r < cfg->n_scales; r++) {
        int n = cfg->win[r], hop = cfg->hop[r] ? cfg->hop[r] : cfg->win[r] / 4;
        if (hop == 0)
            hop = 1;
        l->cfg.hop[r] = hop;
        if ((rc = check_scale(err, "mel loss", r, n, hop)) < 0)
            goto fail;
        if ((rc = nac_stft_create(&l->stft[r], n, hop, cfg->window, err)) < 0)
            goto fail;
        if ((rc = nac_mel_init(&l->mel[r], n, cfg->sample_rate, cfg->n_mels[r], cfg->fmin, cfg->fmax, err)) < 0)
            goto fail;
        size_t tf = (size_t)n_frames(max_T, n, hop), S = (size_t)nac_stft_frame_stride(l->stft[r]);
        if (tf * S > max_spec)
            max_spec = tf * S;
        if (tf > max_tf)
            max_tf = tf;
    }
    l->spec = nac_alloc((size_t)max_B * max_spec * sizeof(float));
    l->part = nac_alloc((size_t)max_B * max_tf * sizeof(double));
    if (!l->spec || !l->part) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "mel loss: out of memory (max_B %d, max_T %d)", max_B, max_T);
        goto fail;
    }
    *out = l;
    return NAC_OK;
fail:
    nn_melspec_loss_destroy(l);
    return rc;
}

/* mel (M) = fb @ p (F), each band summed over its bins in order. */
static void mel_frame(const nac_mel *mb, float *restrict mel, const float *restrict p)
{
    const int F = mb->n_bins;
    for (int m = 0; m < mb->n_mels; m++) {
        const float *restrict w = mb->fb + (size_t)m * F;
        float acc = 0.0f;
        for (int k = mb->lo[m]; k < mb->hi[m]; k++)
            acc += w[k] * p[k];
        mel[m] = acc;
    }
}

/* One scale: returns mean |log10((mel_y + eps) / (mel_x + eps))|; with dy, adds g * d/dy. */
static double mel_one(nn_melspec_loss *l, int r, float *dy, const float *y, const float *x, int B, int T,
                      double g)
{
    const nac_stft *s = l->stft[r];
    const nac_mel *mb = &l->mel[r];
    const int n = l->cfg.win[r], hop = l->cfg.hop[r], F = n / 2 + 1, M = mb->n_mels;
    const int Tf = n_frames(T, n, hop), S = nac_stft_frame_stride(s);
    const long frames = (long)B * Tf;
    const int power2 = l->cfg.power == 2.0f;
    const float eps = l->cfg.eps;
    const double N = (double)frames * M;
    const float c = (float)(g / (N * log(10.0)));
    const float log10e = 0.434294482f;
    float *spec = l->spec;
    double *part = l->part;

    /* Per frame: spectra, p = |S| or |S|^2, mels, the frame's sum and, with dy, the gradient
     * row d/d(re, im) = (fb^T dmel) dp/d(re, im) in place of the prediction's spectrum. */
#pragma omp parallel for schedule(static) if (frames * n >= LOSS_PARALLEL_MIN)
    for (long i = 0; i < frames; i++) {
        float raw[S + 3 * F + 3 * M + 16];
        float *xr = align64(raw), *py = xr + S, *px = py + F, *dp = px + F, *my = dp + F, *mx = my + M,
              *dm = mx + M;
        float *yr = spec + (size_t)i * S;
        int b = (int)(i / Tf), t = (int)(i % Tf);
        nac_stft_frame_forward(s, yr, y + (size_t)b * T, T, t);
        nac_stft_frame_forward(s, xr, x + (size_t)b * T, T, t);
        row_power(py, yr, F);
        row_power(px, xr, F);
        if (!power2) {
            vec_sqrt(py, py, F);
            vec_sqrt(px, px, F);
        }
        mel_frame(mb, my, py);
        mel_frame(mb, mx, px);
        for (int m = 0; m < M; m++) {
            float a = my[m] + eps, e = mx[m] + eps;
            mx[m] = log10e * log_pos(a / e); /* mx now holds the log ratios */
            dm[m] = a > e ? c / a : (a < e ? -c / a : 0.0f);
        }
        double acc = 0;
        for (int m = 0; m < M; m++)
            acc += (double)fabsf(mx[m]);
        part[i] = acc;
        if (!dy)
            continue;
        for (int f = 0; f < F; f++)
            dp[f] = 0.0f;
        for (int m = 0; m < M; m++) {
            const float *restrict w = mb->fb + (size_t)m * F;
            const float dmm = dm[m];
            for (int k = mb->lo[m]; k < mb->hi[m]; k++)
                dp[k] += w[k] * dmm;
        }
        if (power2) {
            for (int f = 0; f < F; f++)
                dp[f] *= 2.0f;
        } else {
            for (int f = 0; f < F; f++) {
                float q = dp[f] / (py[f] > 0 ? py[f] : 1.0f);
                dp[f] = py[f] > 0 ? q : 0.0f;
            }
        }
        for (int f = 0; f < F; f++) {
            yr[2 * f] *= dp[f];
            yr[2 * f + 1] *= dp[f];
        }
    }
    double total = 0;
    for (long i = 0; i < frames; i++)
        total += part[i];
    if (dy)
        backward_rows(s, dy, spec, B, T, Tf);
    return total / N;
}

double nn_melspec_loss_forward_backward(nn_melspec_loss *l, float *dy, const float *y, const float *x,
                                        int B, int T, float weight)
{
    if (B < 1 || B > l->max_B || T < 1 || T > l->max_T)
        return NAN;
    const int S = l->cfg.n_scales;
    double total = 0;
    for (int r = 0; r < S; r++)
        total += mel_one(l, r, dy, y, x, B, T, (double)weight / S);
    return total / S;
}
