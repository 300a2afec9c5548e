/* Multi-resolution STFT discriminator: forward, hinge and feature-matching losses, backward to the
 * parameters and the input waveform, save/load (see disc.h). */
#include "model/disc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "dsp/stft.h"
#include "format/weights.h"
#include "nn/activation.h"
#include "nn/conv1d.h"
#include "nn/params_io.h"

#define FM_FLOOR 1e-8

/* One resolution: plan, layer shapes, tensor indices and activation/scratch arrays sized for max_N rows. */
typedef struct disc_res {
    nac_stft *stft;
    int n_fft, hop, F, max_Tf;
    float scale; /* 1 / sqrt(sum win^2) */
    nn_conv1d conv[NAC_DISC_LAYERS];
    int w[NAC_DISC_LAYERS], b[NAC_DISC_LAYERS];
    /* saved by forward */
    float *xpad;  /* (N, Tp); reused as dxpad in backward */
    float *re, *im; /* (N, F, Tf); reused as dre, dim */
    float *feat;  /* (N, 2F, Tf) */
    float *a[NAC_DISC_LAYERS - 1], *h[NAC_DISC_LAYERS - 1]; /* (N, C, Tf) pre / post activation */
    float *logit; /* (N, Tf) */
    /* gradient seeds set by the losses */
    float *seed_h[NAC_DISC_LAYERS - 1]; /* (N, C, Tf) */
    float *seed_logit;                  /* (N, Tf) */
    /* backward scratch */
    float *dh, *da; /* (N, C, Tf) */
    float *dfeat;   /* (N, 2F, Tf) */
} disc_res;

struct nac_disc {
    nac_disc_config cfg;
    nn_params p;
    int max_N, max_T;
    int N, T; /* of the last forward (0 before) */
    disc_res r[NAC_DISC_MAX_RES];
};

void nac_disc_config_default(nac_disc_config *c)
{
    memset(c, 0, sizeof *c);
    c->n_res = 3;
    c->n_fft[0] = 256;
    c->n_fft[1] = 512;
    c->n_fft[2] = 1024;
    c->channels = 64;
    c->kernel = 3;
    c->slope = 0.2f;
}

static int config_check(const nac_disc_config *c, nac_error *err)
{
    if (c->n_res < 1 || c->n_res > NAC_DISC_MAX_RES || c->channels < 1 || c->channels > 4096 || c->kernel < 1 ||
        c->kernel > 15 || !(c->slope >= 0 && c->slope < 1))
        return nac_error_set(err, NAC_ERR_ARG, "discriminator config: bad n_res, channels, kernel or slope");
    for (int r = 0; r < c->n_res; r++)
        if (c->n_fft[r] < 8 || c->n_fft[r] > 65536 || c->n_fft[r] % 4)
            return nac_error_set(err, NAC_ERR_ARG, "discriminator config: n_fft %d is not a multiple of 4 in [8, 65536]",
                                 c->n_fft[r]);
    return NAC_OK;
}

static int pad_len(int T, int hop) { return (T + hop - 1) / hop * hop; }

/* ---- create / destroy ---------------------------------------------------------------------------- */

static void res_free(disc_res *q)
{
    nac_stft_destroy(q->stft);
    nac_free(q->xpad);
    nac_free(q->re);
    nac_free(q->im);
    nac_free(q->feat);
    for (int l = 0; l < NAC_DISC_LAYERS - 1; l++) {
        nac_free(q->a[l]);
        nac_free(q->h[l]);
        nac_free(q->seed_h[l]);
    }
    nac_free(q->logit);
    nac_free(q->seed_logit);
    nac_free(q->dh);
    nac_free(q->da);
    nac_free(q->dfeat);
}

void nac_disc_destroy(nac_disc *d)
{
    if (!d)
        return;
    for (int r = 0; r < d->cfg.n_res; r++)
        res_free(&d->r[r]);
    nn_params_free(&d->p);
    free(d);
}

/* Resolution r's tensors (planned in p, not allocated) and STFT. */
static int res_plan(disc_res *q, nn_params *p, const nac_disc_config *c, int r, int max_T, nac_error *err)
{
    int st = nac_stft_create(&q->stft, c->n_fft[r], c->n_fft[r] / 4, NAC_WINDOW_HANN, err);
    if (st)
        return st;
    q->n_fft = c->n_fft[r];
    q->hop = q->n_fft / 4;
    q->F = nac_stft_bins(q->stft);
    q->max_Tf = pad_len(max_T, q->hop) / q->hop;
    const float *win = nac_stft_window(q->stft);
    double e = 0;
    for (int j = 0; j < q->n_fft; j++)
        e += (double)win[j] * (double)win[j];
    q->scale = (float)(1.0 / sqrt(e));
    int C = c->channels, K = c->kernel;
    int ic[NAC_DISC_LAYERS] = {2 * q->F, C, C, C}, oc[NAC_DISC_LAYERS] = {C, C, C, 1};
    int dil[NAC_DISC_LAYERS] = {1, 2, 4, 1};
    for (int l = 0; l < NAC_DISC_LAYERS; l++) {
        char name[64];
        int shape[3] = {oc[l], ic[l], K};
        q->conv[l] = (nn_conv1d){ic[l], oc[l], K, 1, dil[l], 1};
        /* PyTorch Conv1d default bounds: 1/sqrt(fan_in) for weights and bias */
        float bound = 1.0f / sqrtf((float)(ic[l] * K));
        snprintf(name, sizeof name, "d%d.c%d.w", r, l);
        if ((q->w[l] = nn_params_add(p, name, 3, shape, NN_INIT_UNIFORM, bound, 1, err)) < 0)
            return q->w[l];
        snprintf(name, sizeof name, "d%d.c%d.b", r, l);
        if ((q->b[l] = nn_params_add(p, name, 1, shape, NN_INIT_UNIFORM, bound, 0, err)) < 0)
            return q->b[l];
    }
    return NAC_OK;
}

/* Resolution q's workspace for max_N examples. */
static int res_alloc(disc_res *q, int channels, int max_N, int max_T, nac_error *err)
{
    size_t n = (size_t)max_N, tf = (size_t)q->max_Tf, f = (size_t)q->F, cn = n * (size_t)channels * tf;
    q->xpad = nac_alloc(n * (size_t)pad_len(max_T, q->hop) * sizeof(float));
    q->re = nac_alloc(n * f * tf * sizeof(float));
    q->im = nac_alloc(n * f * tf * sizeof(float));
    q->feat = nac_alloc(2 * n * f * tf * sizeof(float));
    q->dfeat = nac_alloc(2 * n * f * tf * sizeof(float));
    q->logit = nac_alloc(n * tf * sizeof(float));
    q->seed_logit = nac_calloc(n * tf, sizeof(float));
    q->dh = nac_alloc(cn * sizeof(float));
    q->da = nac_alloc(cn * sizeof(float));
    int ok = q->xpad && q->re && q->im && q->feat && q->dfeat && q->logit && q->seed_logit && q->dh && q->da;
    for (int l = 0; l < NAC_DISC_LAYERS - 1; l++) {
        q->a[l] = nac_alloc(cn * sizeof(float));
        q->h[l] = nac_alloc(cn * sizeof(float));
        q->seed_h[l] = nac_calloc(cn, sizeof(float));
        ok = ok && q->a[l] && q->h[l] && q->seed_h[l];
    }
    return ok ? NAC_OK : nac_error_set(err, NAC_ERR_NOMEM, "out of memory (discriminator workspace)");
}

/* Creates a discriminator; with a weight file w (a load), every tensor the config declares must be
 * in w with its shape before anything but the STFTs is allocated. */
static int create(nac_disc **out, const nac_disc_config *cfg, int max_N, int max_T, int with_optimizer,
                  const nac_weights *w, nac_error *err)
{
    int st = config_check(cfg, err);
    if (st)
        return st;
    if (max_N < 1 || max_T < 1 || (size_t)max_N * (size_t)max_T > ((size_t)1 << 34))
        return nac_error_set(err, NAC_ERR_ARG, "discriminator: bad workspace size %d x %d", max_N, max_T);
    nac_disc *d = calloc(1, sizeof *d);
    if (!d)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    d->cfg = *cfg;
    d->max_N = max_N;
    d->max_T = max_T;
    for (int r = 0; r < cfg->n_res; r++)
        if ((st = res_plan(&d->r[r], &d->p, cfg, r, max_T, err)))
            goto fail;
    if (w && (st = nn_params_check_file(&d->p, w, err)))
        goto fail;
    for (int r = 0; r < cfg->n_res; r++)
        if ((st = res_alloc(&d->r[r], cfg->channels, max_N, max_T, err)))
            goto fail;
    if ((st = nn_params_alloc(&d->p, with_optimizer, err)))
        goto fail;
    *out = d;
    return NAC_OK;
fail:
    nac_disc_destroy(d);
    return st;
}

int nac_disc_create(nac_disc **out, const nac_disc_config *cfg, int max_N, int max_T, int with_optimizer,
                    nac_error *err)
{
    return create(out, cfg, max_N, max_T, with_optimizer, NULL, err);
}

void nac_disc_init(nac_disc *d, uint64_t seed)
{
    nac_rng rng;
    nac_rng_seed(&rng, seed);
    nn_params_init(&d->p, &rng);
}

nn_params *nac_disc_params(nac_disc *d) { return &d->p; }
const nac_disc_config *nac_disc_get_config(const nac_disc *d) { return &d->cfg; }

/* ---- forward ------------------------------------------------------------------------------------- */

static void res_forward(nac_disc *d, disc_res *q, const float *w, int N, int T)
{
    int Tp = pad_len(T, q->hop), Tf = Tp / q->hop, F = q->F, C = d->cfg.channels;
    size_t cn = (size_t)N * (size_t)C * (size_t)Tf;
    for (int n = 0; n < N; n++) {
        float *row = q->xpad + (size_t)n * (size_t)Tp;
        memcpy(row, w + (size_t)n * (size_t)T, (size_t)T * sizeof *row);
        memset(row + T, 0, (size_t)(Tp - T) * sizeof *row);
    }
    nac_stft_forward(q->stft, q->re, q->im, q->xpad, N, Tp);
    size_t ft = (size_t)F * (size_t)Tf;
    float s = q->scale;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *re = q->re + (size_t)n * ft, *im = q->im + (size_t)n * ft;
        float *f = q->feat + 2 * (size_t)n * ft;
        for (size_t i = 0; i < ft; i++) {
            f[i] = s * re[i];
            f[ft + i] = s * im[i];
        }
    }
    const float *in = q->feat;
    for (int l = 0; l < NAC_DISC_LAYERS - 1; l++) {
        nn_conv1d_forward(q->a[l], in, NULL, nn_params_data(&d->p, q->w[l]), nn_params_data(&d->p, q->b[l]),
                          &q->conv[l], N, Tf);
        nn_lrelu_forward(q->h[l], q->a[l], d->cfg.slope, cn);
        in = q->h[l];
    }
    int L = NAC_DISC_LAYERS - 1;
    nn_conv1d_forward(q->logit, in, NULL, nn_params_data(&d->p, q->w[L]), nn_params_data(&d->p, q->b[L]),
                      &q->conv[L], N, Tf);
}

int nac_disc_forward(nac_disc *d, const float *w, int N, int T, nac_error *err)
{
    if (N < 1 || N > d->max_N || T < 1 || T > d->max_T)
        return nac_error_set(err, NAC_ERR_ARG, "discriminator: batch %d x %d exceeds the workspace %d x %d", N, T,
                             d->max_N, d->max_T);
    for (int r = 0; r < d->cfg.n_res; r++)
        res_forward(d, &d->r[r], w, N, T);
    d->N = N;
    d->T = T;
    return NAC_OK;
}

const float *nac_disc_logits(const nac_disc *d, int r, int *Tf)
{
    if (Tf)
        *Tf = pad_len(d->T, d->r[r].hop) / d->r[r].hop;
    return d->r[r].logit;
}

/* ---- losses -------------------------------------------------------------------------------------- */

static void clear_seeds(nac_disc *d)
{
    for (int r = 0; r < d->cfg.n_res; r++) {
        disc_res *q = &d->r[r];
        size_t tf = (size_t)pad_len(d->T, q->hop) / (size_t)q->hop, n = (size_t)d->N;
        memset(q->seed_logit, 0, n * tf * sizeof(float));
        for (int l = 0; l < NAC_DISC_LAYERS - 1; l++)
            memset(q->seed_h[l], 0, n * (size_t)d->cfg.channels * tf * sizeof(float));
    }
}

double nac_disc_loss_d(nac_disc *d, int B)
{
    if (B < 1 || 2 * B != d->N)
        return NAN;
    clear_seeds(d);
    double total = 0;
    int R = d->cfg.n_res;
    for (int r = 0; r < R; r++) {
        disc_res *q = &d->r[r];
        size_t bt = (size_t)B * (size_t)(pad_len(d->T, q->hop) / q->hop);
        const float *lx = q->logit, *ly = q->logit + bt;
        float *gx = q->seed_logit, *gy = q->seed_logit + bt;
        float g = (float)(1.0 / ((double)bt * R));
        double sx = 0, sy = 0;
        for (size_t i = 0; i < bt; i++) {
            if (1.0f - lx[i] > 0) {
                sx += 1.0 - (double)lx[i];
                gx[i] = -g;
            }
            if (1.0f + ly[i] > 0) {
                sy += 1.0 + (double)ly[i];
                gy[i] = g;
            }
        }
        total += (sx + sy) / (double)bt;
    }
    return total / R;
}

double nac_disc_loss_g(nac_disc *d, int B, float w_adv, float w_fm, double *adv, double *fm)
{
    if (B < 1 || 2 * B != d->N)
        return NAN;
    clear_seeds(d);
    int R = d->cfg.n_res, L = NAC_DISC_LAYERS - 1, C = d->cfg.channels;
    double a_sum = 0, f_sum = 0;
    for (int r = 0; r < R; r++) {
        disc_res *q = &d->r[r];
        size_t bt = (size_t)B * (size_t)(pad_len(d->T, q->hop) / q->hop), bct = bt * (size_t)C;
        const float *ly = q->logit + bt;
        float *gy = q->seed_logit + bt;
        float g = (float)((double)w_adv / ((double)bt * R));
        double s = 0;
        for (size_t i = 0; i < bt; i++)
            if (1.0f - ly[i] > 0) {
                s += 1.0 - (double)ly[i];
                gy[i] = -g;
            }
        a_sum += s / (double)bt;
        for (int l = 0; l < L; l++) {
            const float *hx = q->h[l], *hy = q->h[l] + bct;
            float *sy = q->seed_h[l] + bct;
            double mx = 0, diff = 0;
            for (size_t i = 0; i < bct; i++)
                mx += fabs((double)hx[i]);
            mx = mx / (double)bct;
            if (mx < FM_FLOOR)
                mx = FM_FLOOR;
            float gf = (float)((double)w_fm / ((double)bct * mx * R * L));
            for (size_t i = 0; i < bct; i++) {
                float e = hy[i] - hx[i];
                diff += fabs((double)e);
                sy[i] = e > 0 ? gf : e < 0 ? -gf : 0.0f;
            }
            f_sum += diff / ((double)bct * mx);
        }
    }
    double a = a_sum / R, f = f_sum / ((double)R * L);
    if (adv)
        *adv = a;
    if (fm)
        *fm = f;
    return (double)w_adv * a + (double)w_fm * f;
}

/* ---- backward ------------------------------------------------------------------------------------ */

static void res_backward(nac_disc *d, disc_res *q, float *dw, int param_grads, int n0, int n)
{
    int T = d->T, Tp = pad_len(T, q->hop), Tf = Tp / q->hop, F = q->F, C = d->cfg.channels, L = NAC_DISC_LAYERS - 1;
    size_t ct = (size_t)C * (size_t)Tf, o = (size_t)n0 * ct, cn = (size_t)n * ct;
    nn_params *p = &d->p;
#define GW(l) (param_grads ? nn_params_grad(p, q->w[l]) : NULL)
#define GB(l) (param_grads ? nn_params_grad(p, q->b[l]) : NULL)
    memcpy(q->dh, q->seed_h[L - 1] + o, cn * sizeof(float));
    nn_conv1d_backward(q->dh, GW(L), GB(L), q->seed_logit + (size_t)n0 * (size_t)Tf, q->h[L - 1] + o,
                       nn_params_data(p, q->w[L]), &q->conv[L], n, Tf);
    for (int l = L - 1; l >= 0; l--) {
        memset(q->da, 0, cn * sizeof(float));
        nn_lrelu_backward(q->da, q->dh, q->a[l] + o, d->cfg.slope, cn);
        float *dx = NULL;
        const float *x;
        if (l > 0) {
            memcpy(q->dh, q->seed_h[l - 1] + o, cn * sizeof(float));
            dx = q->dh;
            x = q->h[l - 1] + o;
        } else {
            x = q->feat + (size_t)n0 * 2 * (size_t)F * (size_t)Tf;
            if (dw) {
                memset(q->dfeat, 0, (size_t)n * 2 * (size_t)F * (size_t)Tf * sizeof(float));
                dx = q->dfeat;
            }
        }
        if (!dx && !param_grads)
            continue;
        nn_conv1d_backward(dx, GW(l), GB(l), q->da, x, nn_params_data(p, q->w[l]), &q->conv[l], n, Tf);
    }
#undef GW
#undef GB
    if (!dw)
        return;
    size_t ft = (size_t)F * (size_t)Tf;
    float s = q->scale;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < n; b++) {
        const float *f = q->dfeat + 2 * (size_t)b * ft;
        float *re = q->re + (size_t)b * ft, *im = q->im + (size_t)b * ft;
        for (size_t i = 0; i < ft; i++) {
            re[i] = s * f[i];
            im[i] = s * f[ft + i];
        }
    }
    memset(q->xpad, 0, (size_t)n * (size_t)Tp * sizeof(float));
    nac_stft_backward(q->stft, q->xpad, q->re, q->im, n, Tp);
#pragma omp parallel for schedule(static)
    for (int b = 0; b < n; b++)
        for (int t = 0; t < T; t++)
            dw[(size_t)b * (size_t)T + (size_t)t] += q->xpad[(size_t)b * (size_t)Tp + (size_t)t];
}

int nac_disc_backward(nac_disc *d, float *dw, int param_grads, int n0, int n, nac_error *err)
{
    if (d->N < 1 || n0 < 0 || n < 1 || n0 + n > d->N)
        return nac_error_set(err, NAC_ERR_ARG, "discriminator backward: rows [%d, %d) outside the last forward (%d)", n0,
                             n0 + n, d->N);
    for (int r = 0; r < d->cfg.n_res; r++)
        res_backward(d, &d->r[r], dw, param_grads, n0, n);
    return NAC_OK;
}

/* ---- save / load --------------------------------------------------------------------------------- */

int nac_disc_save(const nac_disc *d, const char *path, long step, nac_error *err)
{
    nac_weights_writer *w = NULL;
    nn_params_names *names = NULL;
    const nn_params *p = &d->p;
    int st = nac_weights_writer_create(&w, err);
    if (st)
        return st;
    if ((st = nac_weights_writer_set(w, "format", "nac-disc", err)) ||
        (st = nac_weights_writer_set_int(w, "disc.n_res", d->cfg.n_res, err)) ||
        (st = nac_weights_writer_set_int(w, "disc.channels", d->cfg.channels, err)) ||
        (st = nac_weights_writer_set_int(w, "disc.kernel", d->cfg.kernel, err)) ||
        (st = nac_weights_writer_set_float(w, "disc.slope", d->cfg.slope, err)) ||
        (st = nac_weights_writer_set_int(w, "disc.step", step, err)))
        goto done;
    for (int r = 0; r < d->cfg.n_res; r++) {
        char key[32];
        snprintf(key, sizeof key, "disc.n_fft.%d", r);
        if ((st = nac_weights_writer_set_int(w, key, d->cfg.n_fft[r], err)))
            goto done;
    }
    if ((st = nn_params_write(w, p, NAC_DTYPE_F32, NAC_DTYPE_F32, 1, 1, &names, err)))
        goto done;
    st = nac_weights_writer_save(w, path, err);
done:
    nn_params_names_free(names);
    nac_weights_writer_destroy(w);
    return st;
}

int nac_disc_load(nac_disc **out, const char *path, int max_N, int max_T, long *step, int *had_moments,
                  nac_error *err)
{
    nac_weights *w = NULL;
    nac_disc *d = NULL;
    nac_disc_config c;
    double slope = 0;
    long long s = 0;
    int st = nac_weights_load(&w, path, err);
    if (st)
        return st;
    const char *fmt = nac_weights_config(w, "format");
    if (!fmt || strcmp(fmt, "nac-disc")) {
        st = nac_error_set(err, NAC_ERR_MODEL, "%s: not a nac discriminator (format '%s')", path, fmt ? fmt : "missing");
        goto done;
    }
    memset(&c, 0, sizeof c);
    if ((st = nac_weights_config_size(w, "disc.n_res", &c.n_res, err)) ||
        (st = nac_weights_config_size(w, "disc.channels", &c.channels, err)) ||
        (st = nac_weights_config_size(w, "disc.kernel", &c.kernel, err)) ||
        (st = nac_weights_config_float(w, "disc.slope", &slope, err)) ||
        (st = nac_weights_config_int(w, "disc.step", &s, err)))
        goto done;
    c.slope = (float)slope;
    if (c.n_res < 1 || c.n_res > NAC_DISC_MAX_RES) {
        st = nac_error_set(err, NAC_ERR_MODEL, "%s: disc.n_res %d out of range", path, c.n_res);
        goto done;
    }
    for (int r = 0; r < c.n_res; r++) {
        char key[32];
        snprintf(key, sizeof key, "disc.n_fft.%d", r);
        if ((st = nac_weights_config_size(w, key, &c.n_fft[r], err)))
            goto done;
    }
    if ((st = create(&d, &c, max_N, max_T, 1, w, err)))
        goto done;
    int had_m = 0, had_v = 0;
    if ((st = nn_params_read(&d->p, w, 1, &had_m, &had_v, err)))
        goto done;
    if (step)
        *step = (long)s;
    if (had_moments)
        *had_moments = had_m && had_v;
    *out = d;
    d = NULL;
done:
    nac_disc_destroy(d);
    nac_weights_destroy(w);
    return st;
}
