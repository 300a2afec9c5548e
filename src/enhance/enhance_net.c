/* The enhancement network: config, parameters, save/load, batch forward/backward and the
 * spectral loss (see enhance_net.h). */
#include "enhance/enhance_net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "nn/conv1d.h"
#include "nn/params_io.h"

#define FEAT_FLOOR 1e-9f
#define FEAT_SCALE 0.125f
#define COMPRESS 0.3f
#define MAG_EPS 1e-8f

/* ---- config ---------------------------------------------------------------------------------- */

void nac_enh_config_default(nac_enh_config *c, int task)
{
    memset(c, 0, sizeof *c);
    c->task = task;
    c->sample_rate = 16000;
    c->n_fft = 320;
    c->hop = 160;
    c->channels = 96;
    c->hidden = 192;
    c->blocks = 4;
    c->kernel = 7;
    c->in_kernel = 3;
    c->gain_max = task == NAC_ENHANCE_DENOISE ? 1.2f : 2.0f;
    c->excite_gain_max = 2.0f;
    if (task == NAC_ENHANCE_BWE) { /* 1000-3400 Hz repeated above 3400 Hz */
        c->excite_lo = 20;
        c->excite_hi = 68;
    }
}

int nac_enh_config_check(const nac_enh_config *c, nac_error *err)
{
    if (c->task < 0 || c->task > 2)
        return nac_error_set(err, NAC_ERR_MODEL, "unknown enhancement task %d", c->task);
    if (c->sample_rate < 1000 || c->n_fft < 16 || c->n_fft > 8192 || c->n_fft % 4 || c->hop * 2 != c->n_fft)
        return nac_error_set(err, NAC_ERR_MODEL, "bad framing: rate %d, n_fft %d, hop %d (hop must be n_fft/2)",
                             c->sample_rate, c->n_fft, c->hop);
    if (c->channels < 1 || c->channels > 4096 || c->hidden < 1 || c->hidden > 8192 || c->blocks < 0 ||
        c->blocks > NAC_ENH_MAX_BLOCKS || c->kernel < 1 || c->kernel > 64 || c->in_kernel < 1 || c->in_kernel > 64)
        return nac_error_set(err, NAC_ERR_MODEL, "bad network size: %d channels, %d hidden, %d blocks, kernels %d/%d",
                             c->channels, c->hidden, c->blocks, c->kernel, c->in_kernel);
    if (!(c->gain_max > 0 && c->gain_max < 100) || !(c->excite_gain_max > 0 && c->excite_gain_max < 100))
        return nac_error_set(err, NAC_ERR_MODEL, "bad gain bound %g / %g", (double)c->gain_max,
                             (double)c->excite_gain_max);
    int F = nac_enh_bins(c);
    if (c->excite_hi > c->excite_lo &&
        (c->excite_lo < 0 || c->excite_hi >= F || (c->excite_hi - c->excite_lo) % 2))
        return nac_error_set(err, NAC_ERR_MODEL, "bad excitation band [%d, %d) of %d bins (width must be even)",
                             c->excite_lo, c->excite_hi, F);
    return NAC_OK;
}

/* ---- network --------------------------------------------------------------------------------- */

static int add(nn_params *p, const char *name, int ndim, int d0, int d1, int d2, nn_init init, float scale,
               int decay, nac_error *err)
{
    int shape[3] = {d0, d1, d2};
    return nn_params_add(p, name, ndim, shape, init, scale, decay, err);
}

/* The network's tensor table, planned (not allocated) for config c. */
static int plan(nac_enh_net **out, const nac_enh_config *c, nac_error *err)
{
    *out = NULL;
    int st = nac_enh_config_check(c, err);
    if (st)
        return st;
    nac_enh_net *n = calloc(1, sizeof *n);
    if (!n)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    n->cfg = *c;
    int F = nac_enh_bins(c), C = c->channels, G = nac_enh_gains(c);
    n->in_w = add(&n->p, "in.w", 3, C, F, c->in_kernel, NN_INIT_UNIFORM, 1.0f / sqrtf((float)(F * c->in_kernel)), 1, err);
    n->in_b = add(&n->p, "in.b", 1, C, 0, 0, NN_INIT_ZERO, 0, 0, err);
    if (n->in_w < 0 || n->in_b < 0) {
        st = n->in_w < 0 ? n->in_w : n->in_b;
        goto fail;
    }
    for (int i = 0; i < c->blocks; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "blk.%d", i);
        if ((st = nac_convnext_register(&n->blk[i], &n->p, prefix, C, c->hidden, c->kernel, 0.1f, err)))
            goto fail;
    }
    /* small output weights: every gain starts near gain_max * sigmoid(bias) */
    n->out_w = add(&n->p, "out.w", 3, G, C, 1, NN_INIT_UNIFORM, 0.1f / sqrtf((float)C), 1, err);
    n->out_b = add(&n->p, "out.b", 1, G, 0, 0, NN_INIT_ZERO, 0, 0, err);
    if (n->out_w < 0 || n->out_b < 0) {
        st = n->out_w < 0 ? n->out_w : n->out_b;
        goto fail;
    }
    *out = n;
    return NAC_OK;
fail:
    nac_enh_net_destroy(n);
    return st;
}

/* Allocates a planned network (its arenas and STFT); destroys it on failure. */
static int alloc(nac_enh_net **n, int with_optimizer, nac_error *err)
{
    int st = nn_params_alloc(&(*n)->p, with_optimizer, err);
    if (!st)
        st = nac_stft_create(&(*n)->stft, (*n)->cfg.n_fft, (*n)->cfg.hop, NAC_WINDOW_SQRT_HANN, err);
    if (st) {
        nac_enh_net_destroy(*n);
        *n = NULL;
    }
    return st;
}

int nac_enh_net_create(nac_enh_net **out, const nac_enh_config *c, int with_optimizer, nac_error *err)
{
    int st = plan(out, c, err);
    return st ? st : alloc(out, with_optimizer, err);
}

void nac_enh_net_init(nac_enh_net *n, uint64_t seed)
{
    nac_rng rng;
    nac_rng_seed(&rng, seed);
    nn_params_init(&n->p, &rng);
    /* start from unity gain on X (identity output) and none on the excitation */
    const nac_enh_config *c = &n->cfg;
    int F = nac_enh_bins(c), G = nac_enh_gains(c);
    float *b = nn_params_data(&n->p, n->out_b);
    for (int g = 0; g < G; g++) {
        float target = g < F ? 1.0f : 0.05f, s = target / (g < F ? c->gain_max : c->excite_gain_max);
        if (s > 0.95f)
            s = 0.95f;
        b[g] = logf(s / (1 - s));
    }
}

void nac_enh_net_destroy(nac_enh_net *n)
{
    if (!n)
        return;
    nn_params_free(&n->p);
    nac_stft_destroy(n->stft);
    free(n);
}

size_t nac_enh_net_params(const nac_enh_net *n)
{
    size_t k = 0;
    for (int i = 0; i < n->p.n; i++)
        k += n->p.t[i].numel;
    return k;
}

/* ---- save / load ----------------------------------------------------------------------------- */

int nac_enh_net_save(const nac_enh_net *n, const char *path, int with_optimizer, nac_dtype params_dtype,
                     const char *const *extra, nac_error *err)
{
    nac_weights_writer *w = NULL;
    nn_params_names *names = NULL;
    const nac_enh_config *c = &n->cfg;
    int st = nac_weights_writer_create(&w, err);
    if (st)
        return st;
    struct {
        const char *k;
        double v;
        int is_float;
    } kv[] = {{"enhance.task", c->task, 0},           {"enhance.sample_rate", c->sample_rate, 0},
              {"enhance.n_fft", c->n_fft, 0},         {"enhance.hop", c->hop, 0},
              {"enhance.channels", c->channels, 0},   {"enhance.hidden", c->hidden, 0},
              {"enhance.blocks", c->blocks, 0},       {"enhance.kernel", c->kernel, 0},
              {"enhance.in_kernel", c->in_kernel, 0}, {"enhance.gain_max", c->gain_max, 1},
              {"enhance.excite_gain_max", c->excite_gain_max, 1}, {"enhance.excite_lo", c->excite_lo, 0},
              {"enhance.excite_hi", c->excite_hi, 0}};
    if ((st = nac_weights_writer_set(w, "format", "nac-enhance", err)) ||
        (st = nac_weights_writer_set(w, "enhance.task_name", nac_enhance_task_name(c->task), err)))
        goto done;
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if ((st = kv[i].is_float ? nac_weights_writer_set_float(w, kv[i].k, kv[i].v, err)
                                 : nac_weights_writer_set_int(w, kv[i].k, (long long)kv[i].v, err)))
            goto done;
    for (const char *const *e = extra; e && e[0]; e += 2)
        if ((st = nac_weights_writer_set(w, e[0], e[1], err)))
            goto done;
    if ((st = nn_params_write(w, &n->p, params_dtype, NAC_DTYPE_F32, with_optimizer, with_optimizer, &names, err)))
        goto done;
    st = nac_weights_writer_save(w, path, err);
done:
    nn_params_names_free(names);
    nac_weights_writer_destroy(w);
    return st;
}

int nac_enh_config_from_weights(nac_enh_config *c, const nac_weights *w, nac_error *err)
{
    const char *fmt = nac_weights_config(w, "format");
    if (!fmt || strcmp(fmt, "nac-enhance"))
        return nac_error_set(err, NAC_ERR_MODEL, "not a nac enhancement model (format '%s')%s", fmt ? fmt : "missing",
                             fmt && !strcmp(fmt, "nac-codec") ? ": this is a codec model" : "");
    long long task;
    if (nac_weights_config_int(w, "enhance.task", &task, err) || task < 0 || task > 2)
        return nac_error_set(err, NAC_ERR_MODEL, "enhancement model without a valid enhance.task");
    nac_enh_config_default(c, (int)task);
    struct {
        const char *k;
        int *i;
        float *f;
    } kv[] = {{"enhance.sample_rate", &c->sample_rate, NULL}, {"enhance.n_fft", &c->n_fft, NULL},
              {"enhance.hop", &c->hop, NULL},                 {"enhance.channels", &c->channels, NULL},
              {"enhance.hidden", &c->hidden, NULL},           {"enhance.blocks", &c->blocks, NULL},
              {"enhance.kernel", &c->kernel, NULL},           {"enhance.in_kernel", &c->in_kernel, NULL},
              {"enhance.gain_max", NULL, &c->gain_max},       {"enhance.excite_gain_max", NULL, &c->excite_gain_max},
              {"enhance.excite_lo", &c->excite_lo, NULL},     {"enhance.excite_hi", &c->excite_hi, NULL}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        if (!nac_weights_config(w, kv[i].k))
            return nac_error_set(err, NAC_ERR_MODEL, "enhancement model lacks %s", kv[i].k);
        if (kv[i].i) {
            if (nac_weights_config_size(w, kv[i].k, kv[i].i, err))
                return nac_error_set(err, NAC_ERR_MODEL, "bad %s in the model", kv[i].k);
        } else {
            double v;
            if (nac_weights_config_float(w, kv[i].k, &v, err))
                return nac_error_set(err, NAC_ERR_MODEL, "bad %s in the model", kv[i].k);
            *kv[i].f = (float)v;
        }
    }
    return nac_enh_config_check(c, err) ? NAC_ERR_MODEL : NAC_OK;
}

int nac_enh_net_from_weights(nac_enh_net **out, const nac_weights *w, int with_optimizer, nac_error *err)
{
    nac_enh_config c;
    nac_enh_net *n = NULL;
    int st = nac_enh_config_from_weights(&c, w, err);
    if (st || (st = plan(&n, &c, err)))
        return st;
    /* the file must hold every tensor its config declares before anything is allocated */
    if ((st = nn_params_check_file(&n->p, w, err))) {
        nac_enh_net_destroy(n);
        return st;
    }
    if ((st = alloc(&n, with_optimizer, err)))
        return st;
    if ((st = nn_params_read(&n->p, w, with_optimizer, NULL, NULL, err))) {
        nac_enh_net_destroy(n);
        return st == NAC_ERR_NOMEM ? st : NAC_ERR_MODEL;
    }
    *out = n;
    return NAC_OK;
}

/* ---- excitation ------------------------------------------------------------------------------ */

void nac_enh_excite(float *er, float *ei, const float *xr, const float *xi, const nac_enh_config *c, size_t stride)
{
    int F = nac_enh_bins(c), lo = c->excite_lo, hi = c->excite_hi, W = hi - lo;
    for (int f = 0; f < F; f++) {
        size_t o = (size_t)f * stride;
        if (W <= 0 || f < hi) {
            er[o] = ei[o] = 0;
        } else {
            size_t s = (size_t)(lo + (f - hi) % W) * stride;
            er[o] = xr[s];
            ei[o] = xi[s];
        }
    }
}

/* ---- spectral loss --------------------------------------------------------------------------- */

double nac_enh_spec_loss(float *dyr, float *dyi, const float *yr, const float *yi, const float *sr, const float *si,
                         size_t n, float w_cplx)
{
    const double c = COMPRESS, inv = 1.0 / (double)(n ? n : 1);
    double loss = 0;
    for (size_t i = 0; i < n; i++) {
        double a = yr[i], b = yi[i], p = sr[i], q = si[i];
        double ry = sqrt(a * a + b * b + MAG_EPS), rs = sqrt(p * p + q * q + MAG_EPS);
        double my = pow(ry, c), ms = pow(rs, c), ky = my / ry, ks = ms / rs;
        double dm = my - ms, er = ky * a - ks * p, ei = ky * b - ks * q;
        loss += dm * dm + w_cplx * (er * er + ei * ei);
        /* d|Y|^c / dY = c |Y|^(c-2) Y; d(Y |Y|^(c-1)) = |Y|^(c-1) dY + (c-1) |Y|^(c-3) Y (Y . dY) */
        double k2 = c * my / (ry * ry), k3 = (c - 1) * ky / (ry * ry), dot = er * a + ei * b;
        double ga = 2 * dm * k2 * a + 2 * w_cplx * (ky * er + k3 * a * dot);
        double gb = 2 * dm * k2 * b + 2 * w_cplx * (ky * ei + k3 * b * dot);
        dyr[i] = (float)(ga * inv);
        dyi[i] = (float)(gb * inv);
    }
    return loss * inv;
}

/* ---- batch training -------------------------------------------------------------------------- */

struct nac_enh_train {
    nac_enh_net *n;
    int B, T, Tf;
    float *xr, *xi, *er, *ei, *sr, *si, *yr, *yi; /* (B, F, Tf) */
    float *feat;                                  /* (B, F, Tf) */
    float **h;                                    /* blocks + 1 of (B, C, Tf): block inputs and the last output */
    float *acts, *scratch;                        /* per-block activations, backward scratch */
    nac_convnext_acts *ba;
    float *z, *g;                                 /* (B, G, Tf) */
    float *dg, *dh, *dh2;                         /* (B, G, Tf), (B, C, Tf) x 2 */
    float *dyr, *dyi;                             /* (B, F, Tf) */
};

void nac_enh_train_destroy(nac_enh_train *w)
{
    if (!w)
        return;
    float *bufs[] = {w->xr, w->xi, w->er, w->ei, w->sr, w->si, w->yr, w->yi, w->feat, w->acts,
                     w->scratch, w->z, w->g, w->dg, w->dh, w->dh2, w->dyr, w->dyi};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        nac_free(bufs[i]);
    if (w->h)
        for (int i = 0; i <= w->n->cfg.blocks; i++)
            nac_free(w->h[i]);
    free(w->h);
    free(w->ba);
    free(w);
}

int nac_enh_train_create(nac_enh_train **out, nac_enh_net *n, int B, int T, nac_error *err)
{
    const nac_enh_config *c = &n->cfg;
    if (B < 1 || T < c->hop || T % c->hop)
        return nac_error_set(err, NAC_ERR_ARG, "batch of %d x %d samples: need whole hops of %d", B, T, c->hop);
    nac_enh_train *w = calloc(1, sizeof *w);
    if (!w)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    w->n = n;
    w->B = B;
    w->T = T;
    w->Tf = T / c->hop;
    size_t bt = (size_t)B * (size_t)w->Tf, fs = (size_t)nac_enh_bins(c) * bt, cs = (size_t)c->channels * bt,
           gs = (size_t)nac_enh_gains(c) * bt, acts = 0, scr = 0;
    for (int i = 0; i < c->blocks; i++) {
        acts += nac_convnext_act_floats(&n->blk[i], B, w->Tf);
        size_t s = nac_convnext_scratch_floats(&n->blk[i], B, w->Tf);
        scr = s > scr ? s : scr;
    }
    float **fb[] = {&w->xr, &w->xi, &w->er, &w->ei, &w->sr, &w->si, &w->yr, &w->yi, &w->feat, &w->dyr, &w->dyi};
    int ok = 1;
    for (size_t i = 0; i < sizeof fb / sizeof fb[0]; i++)
        ok &= (*fb[i] = nac_calloc(fs, sizeof(float))) != NULL;
    ok &= (w->z = nac_calloc(gs, sizeof(float))) && (w->g = nac_calloc(gs, sizeof(float))) &&
          (w->dg = nac_calloc(gs, sizeof(float))) && (w->dh = nac_calloc(cs, sizeof(float))) &&
          (w->dh2 = nac_calloc(cs, sizeof(float))) && (w->acts = nac_calloc(acts + 1, sizeof(float))) &&
          (w->scratch = nac_calloc(scr + 1, sizeof(float))) && (w->h = calloc((size_t)c->blocks + 1, sizeof *w->h)) &&
          (w->ba = calloc((size_t)c->blocks + 1, sizeof *w->ba));
    for (int i = 0; ok && i <= c->blocks; i++)
        ok &= (w->h[i] = nac_calloc(cs, sizeof(float))) != NULL;
    if (!ok) {
        nac_enh_train_destroy(w);
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    }
    float *a = w->acts;
    for (int i = 0; i < c->blocks; i++) {
        nac_convnext_acts_bind(&w->ba[i], a, &n->blk[i], B, w->Tf);
        a += nac_convnext_act_floats(&n->blk[i], B, w->Tf);
    }
    *out = w;
    return NAC_OK;
}

static nn_conv1d in_conv(const nac_enh_config *c)
{
    return (nn_conv1d){nac_enh_bins(c), c->channels, c->in_kernel, 1, 1, 1};
}
static nn_conv1d out_conv(const nac_enh_config *c) { return (nn_conv1d){c->channels, nac_enh_gains(c), 1, 1, 1, 1}; }

void nac_enh_train_forward(nac_enh_train *w, const float *x, float *y)
{
    nac_enh_net *n = w->n;
    const nac_enh_config *c = &n->cfg;
    int B = w->B, Tf = w->Tf, F = nac_enh_bins(c), G = nac_enh_gains(c);
    size_t fsz = (size_t)F * (size_t)Tf, gsz = (size_t)G * (size_t)Tf;
    nac_stft_forward(n->stft, w->xr, w->xi, x, B, w->T);
    for (size_t i = 0; i < (size_t)B * fsz; i++)
        w->feat[i] = FEAT_SCALE * logf(w->xr[i] * w->xr[i] + w->xi[i] * w->xi[i] + FEAT_FLOOR);
    nn_conv1d ci = in_conv(c), co = out_conv(c);
    nn_conv1d_forward(w->h[0], w->feat, NULL, nn_params_data(&n->p, n->in_w), nn_params_data(&n->p, n->in_b), &ci, B,
                      Tf);
    for (int i = 0; i < c->blocks; i++)
        nac_convnext_forward(w->h[i + 1], &w->ba[i], w->h[i], NULL, &n->p, &n->blk[i], B, Tf);
    nn_conv1d_forward(w->z, w->h[c->blocks], NULL, nn_params_data(&n->p, n->out_w), nn_params_data(&n->p, n->out_b),
                      &co, B, Tf);
    for (int b = 0; b < B; b++) {
        const float *z = w->z + (size_t)b * gsz;
        float *g = w->g + (size_t)b * gsz;
        for (int k = 0; k < G; k++) {
            float gm = k < F ? c->gain_max : c->excite_gain_max;
            for (int t = 0; t < Tf; t++) {
                size_t o = (size_t)k * (size_t)Tf + (size_t)t;
                g[o] = gm / (1.0f + expf(-z[o]));
            }
        }
        size_t o = (size_t)b * fsz;
        for (int t = 0; t < Tf; t++)
            nac_enh_excite(w->er + o + t, w->ei + o + t, w->xr + o + t, w->xi + o + t, c, (size_t)Tf);
        for (size_t i = 0; i < fsz; i++) {
            w->yr[o + i] = g[i] * w->xr[o + i];
            w->yi[o + i] = g[i] * w->xi[o + i];
        }
        if (G > F)
            for (size_t i = 0; i < fsz; i++) {
                w->yr[o + i] += g[fsz + i] * w->er[o + i];
                w->yi[o + i] += g[fsz + i] * w->ei[o + i];
            }
    }
    if (y)
        nac_istft_forward(n->stft, y, w->yr, w->yi, B, Tf);
}

double nac_enh_train_backward(nac_enh_train *w, const float *s, float w_cplx, float w_snr, int snr_log)
{
    nac_enh_net *n = w->n;
    const nac_enh_config *c = &n->cfg;
    int B = w->B, Tf = w->Tf, F = nac_enh_bins(c), G = nac_enh_gains(c);
    size_t fsz = (size_t)F * (size_t)Tf, gsz = (size_t)G * (size_t)Tf, all = (size_t)B * fsz;
    nac_stft_forward(n->stft, w->sr, w->si, s, B, w->T);
    float *dyr = w->dyr, *dyi = w->dyi;
    double loss = nac_enh_spec_loss(dyr, dyi, w->yr, w->yi, w->sr, w->si, all, w_cplx);
    if (w_snr > 0) /* error energy over clean energy per example (an inverse SNR, which SI-SDR follows) */
        for (int b = 0; b < B; b++) {
            size_t o = (size_t)b * fsz;
            double es = 1e-6, ee = 0;
            for (size_t i = 0; i < fsz; i++) {
                double dr = w->yr[o + i] - w->sr[o + i], di = w->yi[o + i] - w->si[o + i];
                es += (double)w->sr[o + i] * w->sr[o + i] + (double)w->si[o + i] * w->si[o + i];
                ee += dr * dr + di * di;
            }
            /* linear: ee / es; log: log10(ee / es), scale-free, so quiet errors of good inputs count too */
            loss += w_snr * (snr_log ? log10((ee + 1e-9) / es) : ee / es) / B;
            float k = (float)(snr_log ? 2.0 * w_snr / ((ee + 1e-9) * log(10.0)) / B : 2.0 * w_snr / es / B);
            for (size_t i = 0; i < fsz; i++) {
                dyr[o + i] += k * (w->yr[o + i] - w->sr[o + i]);
                dyi[o + i] += k * (w->yi[o + i] - w->si[o + i]);
            }
        }
    for (int b = 0; b < B; b++) {
        size_t o = (size_t)b * fsz;
        const float *g = w->g + (size_t)b * gsz;
        float *dz = w->dg + (size_t)b * gsz;
        for (size_t i = 0; i < fsz; i++) {
            float dg = dyr[o + i] * w->xr[o + i] + dyi[o + i] * w->xi[o + i];
            dz[i] = dg * g[i] * (1.0f - g[i] / c->gain_max);
        }
        if (G > F)
            for (size_t i = 0; i < fsz; i++) {
                float dg = dyr[o + i] * w->er[o + i] + dyi[o + i] * w->ei[o + i], gi = g[fsz + i];
                dz[fsz + i] = dg * gi * (1.0f - gi / c->excite_gain_max);
            }
    }
    size_t csz = (size_t)B * (size_t)c->channels * (size_t)Tf;
    nn_conv1d ci = in_conv(c), co = out_conv(c);
    memset(w->dh, 0, csz * sizeof *w->dh);
    nn_conv1d_backward(w->dh, nn_params_grad(&n->p, n->out_w), nn_params_grad(&n->p, n->out_b), w->dg,
                       w->h[c->blocks], nn_params_data(&n->p, n->out_w), &co, B, Tf);
    for (int i = c->blocks - 1; i >= 0; i--) {
        memset(w->dh2, 0, csz * sizeof *w->dh2);
        nac_convnext_backward(w->dh2, w->dh, &w->ba[i], w->h[i], w->scratch, &n->p, &n->blk[i], B, Tf);
        float *t = w->dh;
        w->dh = w->dh2;
        w->dh2 = t;
    }
    nn_conv1d_backward(NULL, nn_params_grad(&n->p, n->in_w), nn_params_grad(&n->p, n->in_b), w->dh, w->feat,
                       nn_params_data(&n->p, n->in_w), &ci, B, Tf);
    return loss;
}
