/* Multi-resolution STFT loss and multi-scale log-mel L1 with their gradients (see
 * loss_spectral.h). Layouts: signals padded into (2B, Tp), predictions in rows 0..B-1 and targets
 * in rows B..2B-1; spectra (2B, F, Tf). Per-row partial sums in double, reduced in row order. */
#include "nn/loss_spectral.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "dsp/mel.h"
#include "dsp/stft.h"

/* ---- shared ------------------------------------------------------------------------------- */

static int padded_len(int T, int n_fft, int hop)
{
    long need = (long)T + n_fft - hop;
    return (int)((need + hop - 1) / hop * hop);
}

/* pad (2B, Tp) <- [y; x], each row zero-padded from T to Tp. */
static void pad_pair(float *pad, const float *y, const float *x, int B, int T, int Tp)
{
#pragma omp parallel for schedule(static)
    for (int r = 0; r < 2 * B; r++) {
        const float *src = r < B ? y + (size_t)r * T : x + (size_t)(r - B) * T;
        float *dst = pad + (size_t)r * Tp;
        memcpy(dst, src, (size_t)T * sizeof(float));
        memset(dst + T, 0, (size_t)(Tp - T) * sizeof(float));
    }
}

/* dy (B, T) += dpad (B, Tp) restricted to the first T samples. */
static void unpad_add(float *dy, const float *dpad, int B, int T, int Tp)
{
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        float *d = dy + (size_t)b * T;
        const float *s = dpad + (size_t)b * Tp;
        for (int i = 0; i < T; i++)
            d[i] += s[i];
    }
}

static double sum_rows(const double *part, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += part[i];
    return s;
}

static int check_scale(nac_error *err, const char *what, int i, int n_fft, int hop)
{
    if (n_fft < 2 || n_fft % 2 != 0 || n_fft > 32768 || hop <= 0 || hop > n_fft)
        return nac_error_set(err, NAC_ERR_ARG, "%s scale %d: n_fft %d must be even (2..32768), hop %d in 1..n_fft",
                             what, i, n_fft, hop);
    return NAC_OK;
}

/* ---- multi-resolution STFT loss ----------------------------------------------------------- */

struct nn_mrstft_loss {
    nn_mrstft_config cfg;
    int max_B, max_T;
    nac_stft *stft[NN_LOSS_MAX_SCALES];
    float *pad;    /* (2 max_B, Tp) */
    float *dpad;   /* (max_B, Tp) */
    float *re, *im; /* (2 max_B, F, Tf); the prediction half becomes the gradient in place */
    double *part;  /* (max_B * F, 3) per-row partial sums */
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
    nac_free(l->pad);
    nac_free(l->dpad);
    nac_free(l->re);
    nac_free(l->im);
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
    size_t max_tp = 0, max_spec = 0, max_rows = 0;
    for (int r = 0; r < cfg->n_res; r++) {
        int n = cfg->n_fft[r], hop = cfg->hop[r] ? cfg->hop[r] : cfg->n_fft[r] / 4;
        if (hop == 0)
            hop = 1;
        l->cfg.hop[r] = hop;
        if ((rc = check_scale(err, "mrstft loss", r, n, hop)) < 0)
            goto fail;
        if ((rc = nac_stft_create(&l->stft[r], n, hop, cfg->window, err)) < 0)
            goto fail;
        size_t tp = (size_t)padded_len(max_T, n, hop), F = (size_t)(n / 2 + 1);
        if (tp > max_tp)
            max_tp = tp;
        if (F * (tp / (size_t)hop) > max_spec)
            max_spec = F * (tp / (size_t)hop);
        if (F > max_rows)
            max_rows = F;
    }
    l->pad = nac_alloc(2 * (size_t)max_B * max_tp * sizeof(float));
    l->dpad = nac_alloc((size_t)max_B * max_tp * sizeof(float));
    l->re = nac_alloc(2 * (size_t)max_B * max_spec * sizeof(float));
    l->im = nac_alloc(2 * (size_t)max_B * max_spec * sizeof(float));
    l->part = nac_alloc(3 * (size_t)max_B * max_rows * sizeof(double));
    if (!l->pad || !l->dpad || !l->re || !l->im || !l->part) {
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
    const int hop = l->cfg.hop[r], n = l->cfg.n_fft[r], F = n / 2 + 1;
    const int Tp = padded_len(T, n, hop), Tf = Tp / hop;
    const long rows = (long)B * F;
    const size_t half = (size_t)B * F * Tf; /* offset of the target spectra */
    const float eps = l->cfg.eps;
    float *re = l->re, *im = l->im;
    double *part = l->part;

    pad_pair(l->pad, y, x, B, T, Tp);
    nac_stft_forward(s, re, im, l->pad, 2 * B, Tp);

#pragma omp parallel for schedule(static)
    for (long i = 0; i < rows; i++) {
        const float *yr = re + (size_t)i * Tf, *yi = im + (size_t)i * Tf;
        const float *xr = yr + half, *xi = yi + half;
        double d2 = 0, x2 = 0, lg = 0;
        for (int t = 0; t < Tf; t++) {
            float px = xr[t] * xr[t] + xi[t] * xi[t];
            float my = sqrtf(yr[t] * yr[t] + yi[t] * yi[t]), mx = sqrtf(px);
            float d = my - mx;
            d2 += (double)d * d;
            x2 += (double)px;
            lg += fabsf(logf((my + eps) / (mx + eps)));
        }
        part[3 * i] = d2;
        part[3 * i + 1] = x2;
        part[3 * i + 2] = lg;
    }
    double d2 = 0, x2 = 0, lg = 0;
    for (long i = 0; i < rows; i++) {
        d2 += part[3 * i];
        x2 += part[3 * i + 1];
        lg += part[3 * i + 2];
    }
    const double N = (double)B * F * Tf;
    const double num = sqrt(d2), den = sqrt(x2);
    const double sc = den > 0 ? num / den : 0.0;
    const double loss = l->cfg.sc_weight * sc + l->cfg.mag_weight * lg / N;
    if (!dy)
        return loss;

    /* d/d|Y| = sc_w (|Y|-|X|) / (num den) + mag_w sign(|Y|-|X|) / ((|Y|+eps) N); then onto
     * re, im through |Y| (zero where |Y| = 0), written over the prediction's spectrum. */
    const float c_sc = (num > 0 && den > 0) ? (float)(g * l->cfg.sc_weight / (num * den)) : 0.0f;
    const float c_lg = (float)(g * l->cfg.mag_weight / N);
#pragma omp parallel for schedule(static)
    for (long i = 0; i < rows; i++) {
        float *yr = re + (size_t)i * Tf, *yi = im + (size_t)i * Tf;
        const float *xr = yr + half, *xi = yi + half;
        for (int t = 0; t < Tf; t++) {
            float my = sqrtf(yr[t] * yr[t] + yi[t] * yi[t]);
            float mx = sqrtf(xr[t] * xr[t] + xi[t] * xi[t]);
            float d = my - mx;
            float sg = d > 0 ? 1.0f : (d < 0 ? -1.0f : 0.0f);
            float dm = c_sc * d + c_lg * sg / (my + eps);
            float k = my > 0 ? dm / my : 0.0f;
            yr[t] *= k;
            yi[t] *= k;
        }
    }
    memset(l->dpad, 0, (size_t)B * Tp * sizeof(float));
    nac_stft_backward(s, l->dpad, re, im, B, Tp);
    unpad_add(dy, l->dpad, B, T, Tp);
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
    float *pad;     /* (2 max_B, Tp) */
    float *dpad;    /* (max_B, Tp) */
    float *re, *im; /* (2 max_B, F, Tf) */
    float *pw;      /* (2 max_B, F, Tf): |S|^power; the prediction half then holds its gradient */
    float *mel_out; /* (2 max_B, n_mels, Tf); the prediction half then holds its gradient */
    double *part;   /* (max_B * n_mels) per-row sums */
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
    nac_free(l->pad);
    nac_free(l->dpad);
    nac_free(l->re);
    nac_free(l->im);
    nac_free(l->pw);
    nac_free(l->mel_out);
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
    size_t max_tp = 0, max_spec = 0, max_mel = 0, max_rows = 0;
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
        size_t tp = (size_t)padded_len(max_T, n, hop), tf = tp / (size_t)hop, F = (size_t)(n / 2 + 1);
        size_t M = (size_t)cfg->n_mels[r];
        if (tp > max_tp)
            max_tp = tp;
        if (F * tf > max_spec)
            max_spec = F * tf;
        if (M * tf > max_mel)
            max_mel = M * tf;
        if (M > max_rows)
            max_rows = M;
    }
    l->pad = nac_alloc(2 * (size_t)max_B * max_tp * sizeof(float));
    l->dpad = nac_alloc((size_t)max_B * max_tp * sizeof(float));
    l->re = nac_alloc(2 * (size_t)max_B * max_spec * sizeof(float));
    l->im = nac_alloc(2 * (size_t)max_B * max_spec * sizeof(float));
    l->pw = nac_alloc(2 * (size_t)max_B * max_spec * sizeof(float));
    l->mel_out = nac_alloc(2 * (size_t)max_B * max_mel * sizeof(float));
    l->part = nac_alloc((size_t)max_B * max_rows * sizeof(double));
    if (!l->pad || !l->dpad || !l->re || !l->im || !l->pw || !l->mel_out || !l->part) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "mel loss: out of memory (max_B %d, max_T %d)", max_B, max_T);
        goto fail;
    }
    *out = l;
    return NAC_OK;
fail:
    nn_melspec_loss_destroy(l);
    return rc;
}

/* One scale: returns mean |log10((mel_y + eps) / (mel_x + eps))|; with dy, adds g * d/dy. */
static double mel_one(nn_melspec_loss *l, int r, float *dy, const float *y, const float *x, int B, int T,
                      double g)
{
    const nac_stft *s = l->stft[r];
    const nac_mel *mb = &l->mel[r];
    const int hop = l->cfg.hop[r], n = l->cfg.win[r], F = n / 2 + 1, M = mb->n_mels;
    const int Tp = padded_len(T, n, hop), Tf = Tp / hop;
    const int power2 = l->cfg.power == 2.0f;
    const float eps = l->cfg.eps;
    const size_t mhalf = (size_t)B * M * Tf;
    const long rows = (long)B * M;
    float *re = l->re, *im = l->im, *pw = l->pw, *mel = l->mel_out;
    double *part = l->part;

    pad_pair(l->pad, y, x, B, T, Tp);
    nac_stft_forward(s, re, im, l->pad, 2 * B, Tp);
#pragma omp parallel for schedule(static)
    for (long i = 0; i < (long)(2 * B * F); i++) {
        size_t o = (size_t)i * Tf;
        for (int t = 0; t < Tf; t++) {
            float p = re[o + t] * re[o + t] + im[o + t] * im[o + t];
            pw[o + t] = power2 ? p : sqrtf(p);
        }
    }
    nac_mel_apply(mb, mel, pw, 2 * B, Tf);

    /* With dy, the prediction's mel rows become d/dmel_y = c sign / (mel_y + eps) in place. */
    const double N = (double)B * M * Tf;
    const float c = (float)(g / (N * log(10.0)));
#pragma omp parallel for schedule(static)
    for (long i = 0; i < rows; i++) {
        float *my = mel + (size_t)i * Tf;
        const float *mx = my + mhalf;
        double acc = 0;
        for (int t = 0; t < Tf; t++) {
            float a = my[t] + eps, b = mx[t] + eps;
            acc += fabsf(log10f(a / b));
            if (dy)
                my[t] = a > b ? c / a : (a < b ? -c / a : 0.0f);
        }
        part[i] = acc;
    }
    const double loss = sum_rows(part, (size_t)rows) / N;
    if (!dy)
        return loss;

    float *dpw = pw; /* prediction half, reused */
    memset(dpw, 0, (size_t)B * F * Tf * sizeof(float));
    nac_mel_apply_backward(mb, dpw, mel, B, Tf);
#pragma omp parallel for schedule(static)
    for (long i = 0; i < (long)B * F; i++) {
        size_t o = (size_t)i * Tf;
        for (int t = 0; t < Tf; t++) {
            float k;
            if (power2) {
                k = 2.0f * dpw[o + t];
            } else {
                float m = sqrtf(re[o + t] * re[o + t] + im[o + t] * im[o + t]);
                k = m > 0 ? dpw[o + t] / m : 0.0f;
            }
            re[o + t] *= k;
            im[o + t] *= k;
        }
    }
    memset(l->dpad, 0, (size_t)B * Tp * sizeof(float));
    nac_stft_backward(s, l->dpad, re, im, B, Tp);
    unpad_add(dy, l->dpad, B, T, Tp);
    return loss;
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
