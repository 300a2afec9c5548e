/* The public enhancement API (include/nac/enhance.h): models and streaming enhancers. An enhancer
 * runs the network one STFT frame at a time with each causal layer's history in the handle, so
 * output is independent of the chunking; every buffer is sized in create. */
#include "nac/enhance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "enhance/enhance_net.h"
#include "format/weights.h"
#include "nn/conv1d.h"

struct nac_enhance_model {
    nac_enh_net *net;
    nac_enhance_info info;
};

const char *nac_enhance_task_name(int task)
{
    static const char *const names[] = {"denoise", "dequantize", "bwe"};
    return task >= 0 && task < 3 ? names[task] : "?";
}

int nac_enhance_task_parse(nac_enhance_task *out, const char *name)
{
    if (!name)
        return NAC_ERR_ARG;
    for (int t = 0; t < 3; t++)
        if (!strcmp(name, nac_enhance_task_name(t))) {
            *out = (nac_enhance_task)t;
            return NAC_OK;
        }
    if (!strcmp(name, "dequantise")) {
        *out = NAC_ENHANCE_DEQUANTIZE;
        return NAC_OK;
    }
    return NAC_ERR_ARG;
}

/* ---- models ---------------------------------------------------------------------------------- */

static int model_from_weights(nac_enhance_model **out, nac_weights *w, nac_error *err)
{
    nac_enhance_model *m = calloc(1, sizeof *m);
    if (!m)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    int st = nac_enh_net_from_weights(&m->net, w, 0, err);
    if (st) {
        free(m);
        return st;
    }
    const nac_enh_config *c = &m->net->cfg;
    long long steps = -1;
    nac_weights_config_int(w, "train.step", &steps, NULL);
    m->info = (nac_enhance_info){(nac_enhance_task)c->task, c->sample_rate, c->hop, c->n_fft - c->hop, c->n_fft,
                                 nac_enh_net_params(m->net), steps, nac_weights_crc(w)};
    *out = m;
    return NAC_OK;
}

int nac_enhance_model_load(nac_enhance_model **out, const char *path, nac_error *err)
{
    nac_weights *w = NULL;
    if (!out || !path)
        return nac_error_set(err, NAC_ERR_ARG, "no model path");
    *out = NULL;
    int st = nac_weights_load(&w, path, err);
    if (!st)
        st = model_from_weights(out, w, err);
    nac_weights_destroy(w);
    return st;
}

int nac_enhance_model_load_mem(nac_enhance_model **out, const void *data, size_t size, nac_error *err)
{
    nac_weights *w = NULL;
    if (!out || !data)
        return nac_error_set(err, NAC_ERR_ARG, "no model data");
    *out = NULL;
    int st = nac_weights_load_mem(&w, data, size, err);
    if (!st)
        st = model_from_weights(out, w, err);
    nac_weights_destroy(w);
    return st;
}

void nac_enhance_model_destroy(nac_enhance_model *m)
{
    if (!m)
        return;
    nac_enh_net_destroy(m->net);
    free(m);
}

void nac_enhance_model_get_info(const nac_enhance_model *m, nac_enhance_info *info) { *info = m->info; }

int nac_enhance_model_check_task(const nac_enhance_model *m, nac_enhance_task task, nac_error *err)
{
    if ((int)m->info.task != (int)task)
        return nac_error_set(err, NAC_ERR_MODEL, "the model is a %s model, not %s", nac_enhance_task_name(m->info.task),
                             nac_enhance_task_name(task));
    return NAC_OK;
}

/* ---- enhancer -------------------------------------------------------------------------------- */

#define CHUNK 32 /* frames per internal forward: matrix products instead of vector ones, and under the
                  * 64 frames from which the conv layers take heap scratch */

struct nac_enhancer {
    const nac_enhance_model *m;
    nac_stft_state sin, sout;
    int fill;               /* samples waiting in pend (0 .. CHUNK*hop - 1) */
    float *pend;            /* (CHUNK * hop) input being gathered */
    float *in_hist;         /* (F, in_kernel - 1) */
    float *blk_hist;        /* per block (C, kernel - 1) */
    float *xr, *xi, *er, *ei, *yr, *yi, *feat; /* (F, CHUNK) */
    float *h0, *h1;         /* (C, CHUNK) */
    float *z;               /* (G, CHUNK) */
    float *acts;            /* one block's activations for CHUNK frames */
    nac_convnext_acts ba;
};

void nac_enhancer_destroy(nac_enhancer *e)
{
    if (!e)
        return;
    nac_stft_state_free(&e->sin);
    nac_stft_state_free(&e->sout);
    float *bufs[] = {e->pend, e->in_hist, e->blk_hist, e->xr, e->xi, e->er, e->ei, e->yr,
                     e->yi, e->feat, e->h0, e->h1, e->z, e->acts};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        nac_free(bufs[i]);
    free(e);
}

void nac_enhancer_reset(nac_enhancer *e)
{
    const nac_enh_net *n = e->m->net;
    const nac_enh_config *c = &n->cfg;
    int F = nac_enh_bins(c);
    nac_stft_state_reset(&e->sin, n->stft);
    nac_stft_state_reset(&e->sout, n->stft);
    e->fill = 0;
    memset(e->in_hist, 0, (size_t)F * (size_t)(c->in_kernel) * sizeof(float));
    memset(e->blk_hist, 0, ((size_t)c->blocks * (size_t)c->channels * (size_t)c->kernel + 1) * sizeof(float));
}

int nac_enhancer_create(nac_enhancer **out, const nac_enhance_model *m, nac_error *err)
{
    if (!out || !m)
        return nac_error_set(err, NAC_ERR_ARG, "no model");
    *out = NULL;
    const nac_enh_net *n = m->net;
    const nac_enh_config *c = &n->cfg;
    size_t F = (size_t)nac_enh_bins(c) * CHUNK, C = (size_t)c->channels * CHUNK,
           G = (size_t)nac_enh_gains(c) * CHUNK, acts = 0;
    nac_enhancer *e = calloc(1, sizeof *e);
    if (!e)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < c->blocks; i++) {
        size_t a = nac_convnext_act_floats(&n->blk[i], 1, CHUNK);
        acts = a > acts ? a : acts;
    }
    e->m = m;
    int ok = nac_stft_state_init(&e->sin, n->stft) == NAC_OK && nac_stft_state_init(&e->sout, n->stft) == NAC_OK &&
             (e->pend = nac_calloc((size_t)c->hop * CHUNK, sizeof(float))) &&
             (e->in_hist = nac_calloc((size_t)nac_enh_bins(c) * (size_t)c->in_kernel, sizeof(float))) &&
             (e->blk_hist = nac_calloc((size_t)c->blocks * (size_t)c->channels * (size_t)c->kernel + 1, sizeof(float))) &&
             (e->xr = nac_calloc(F, sizeof(float))) && (e->xi = nac_calloc(F, sizeof(float))) &&
             (e->er = nac_calloc(F, sizeof(float))) && (e->ei = nac_calloc(F, sizeof(float))) &&
             (e->yr = nac_calloc(F, sizeof(float))) && (e->yi = nac_calloc(F, sizeof(float))) &&
             (e->feat = nac_calloc(F, sizeof(float))) && (e->h0 = nac_calloc(C, sizeof(float))) &&
             (e->h1 = nac_calloc(C, sizeof(float))) && (e->z = nac_calloc(G, sizeof(float))) &&
             (e->acts = nac_calloc(acts + 1, sizeof(float)));
    if (!ok) {
        nac_enhancer_destroy(e);
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    }
    nac_enhancer_reset(e);
    *out = e;
    return NAC_OK;
}

size_t nac_enhancer_max_output(const nac_enhancer *e, size_t n)
{
    size_t hop = (size_t)e->m->net->cfg.hop;
    return (n + hop - 1) / hop * hop;
}

/* K (1..CHUNK) frames: the first K*hop samples of pend in, K*hop restored samples to y. Every layer
 * gives the same values whatever K, so the output does not depend on how frames are grouped. */
static void run_frames(nac_enhancer *e, float *y, int K)
{
    nac_enh_net *n = e->m->net;
    nn_params *p = &n->p; /* read only */
    const nac_enh_config *c = &n->cfg;
    int F = nac_enh_bins(c), G = nac_enh_gains(c);
    size_t fk = (size_t)F * (size_t)K;
    nac_stft_stream(n->stft, &e->sin, e->xr, e->xi, e->pend, K * c->hop);
    for (size_t i = 0; i < fk; i++)
        e->feat[i] = 0.125f * logf(e->xr[i] * e->xr[i] + e->xi[i] * e->xi[i] + 1e-9f);
    nn_conv1d ci = {F, c->channels, c->in_kernel, 1, 1, 1}, co = {c->channels, G, 1, 1, 1, 1};
    nn_conv1d_forward(e->h0, e->feat, e->in_hist, nn_params_data(p, n->in_w), nn_params_data(p, n->in_b), &ci, 1, K);
    nn_conv1d_hist_update(e->in_hist, e->feat, &ci, 1, K);
    float *h = e->h0, *o = e->h1;
    for (int i = 0; i < c->blocks; i++) {
        float *hist = e->blk_hist + (size_t)i * (size_t)c->channels * (size_t)c->kernel;
        nac_convnext_acts_bind(&e->ba, e->acts, &n->blk[i], 1, K);
        nac_convnext_forward(o, &e->ba, h, hist, p, &n->blk[i], 1, K);
        nac_convnext_hist_update(hist, h, &n->blk[i], 1, K);
        float *t = h;
        h = o;
        o = t;
    }
    nn_conv1d_forward(e->z, h, NULL, nn_params_data(p, n->out_w), nn_params_data(p, n->out_b), &co, 1, K);
    for (size_t i = 0; i < fk; i++) {
        float g = c->gain_max / (1.0f + expf(-e->z[i]));
        e->yr[i] = g * e->xr[i];
        e->yi[i] = g * e->xi[i];
    }
    if (G > F) {
        for (int t = 0; t < K; t++)
            nac_enh_excite(e->er + t, e->ei + t, e->xr + t, e->xi + t, c, (size_t)K);
        for (size_t i = 0; i < fk; i++) {
            float g = c->excite_gain_max / (1.0f + expf(-e->z[fk + i]));
            e->yr[i] += g * e->er[i];
            e->yi[i] += g * e->ei[i];
        }
    }
    nac_istft_stream(n->stft, &e->sout, y, e->yr, e->yi, K);
}

int nac_enhancer_push(nac_enhancer *e, float *out, size_t cap, size_t *got, const float *pcm, size_t n,
                      nac_error *err)
{
    if (got)
        *got = 0;
    if (!e || !got || (n && !pcm))
        return nac_error_set(err, NAC_ERR_ARG, "no enhancer, output count or input");
    size_t hop = (size_t)e->m->net->cfg.hop, full = hop * CHUNK;
    if (cap < nac_enhancer_max_output(e, n) || (!out && nac_enhancer_max_output(e, n)))
        return nac_error_set(err, NAC_ERR_ARG, "output buffer of %zu samples, %zu needed", cap,
                             nac_enhancer_max_output(e, n));
    for (size_t i = 0; i < n; i++)
        if (!isfinite(pcm[i]))
            return nac_error_set(err, NAC_ERR_NUMERIC, "input sample %zu is not a finite number", i);
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        size_t take = full - (size_t)e->fill;
        if (take > n - i)
            take = n - i;
        memcpy(e->pend + e->fill, pcm + i, take * sizeof *pcm);
        e->fill += (int)take;
        i += take;
        int K = (int)((size_t)e->fill / hop);
        if ((size_t)e->fill == full || (i == n && K > 0)) {
            run_frames(e, out + w, K);
            w += (size_t)K * hop;
            size_t rest = (size_t)e->fill - (size_t)K * hop;
            memmove(e->pend, e->pend + (size_t)K * hop, rest * sizeof *e->pend);
            e->fill = (int)rest;
        }
    }
    *got = w;
    return NAC_OK;
}

int nac_enhancer_flush(nac_enhancer *e, float *out, size_t cap, size_t *got, nac_error *err)
{
    if (got)
        *got = 0;
    if (!e || !got)
        return nac_error_set(err, NAC_ERR_ARG, "no enhancer or output count");
    size_t hop = (size_t)e->m->net->cfg.hop, delay = (size_t)e->m->info.delay, r = (size_t)e->fill;
    size_t zeros = (r + delay + hop - 1) / hop * hop - r;
    if (zeros == 0)
        zeros = hop;
    static const float zero[64];
    size_t w = 0;
    int st = NAC_OK;
    if (cap < nac_enhancer_max_output(e, delay + hop))
        return nac_error_set(err, NAC_ERR_ARG, "flush needs an output buffer of %zu samples",
                             nac_enhancer_max_output(e, delay + hop));
    while (zeros && !st) {
        size_t k = zeros < 64 ? zeros : 64, g = 0;
        st = nac_enhancer_push(e, out + w, cap - w, &g, zero, k, err);
        w += g;
        zeros -= k;
    }
    *got = w;
    nac_enhancer_reset(e);
    return st;
}

int nac_enhance_buffer(const nac_enhance_model *m, float *y, const float *x, size_t n, nac_error *err)
{
    nac_enhancer *e = NULL;
    if (!m || (n && (!x || !y)))
        return nac_error_set(err, NAC_ERR_ARG, "no model or buffers");
    if (n == 0)
        return nac_error_set(err, NAC_ERR_EMPTY, "no input samples");
    int st = nac_enhancer_create(&e, m, err);
    if (st)
        return st;
    size_t hop = (size_t)m->info.hop, delay = (size_t)m->info.delay, cap = n + delay + 3 * hop, got = 0, got2 = 0;
    float *buf = malloc(cap * sizeof *buf);
    if (!buf) {
        nac_enhancer_destroy(e);
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    }
    if (!(st = nac_enhancer_push(e, buf, cap, &got, x, n, err)) &&
        !(st = nac_enhancer_flush(e, buf + got, cap - got, &got2, err))) {
        if (got + got2 < n + delay)
            st = nac_error_set(err, NAC_ERR_INTERNAL, "enhancer gave %zu samples, %zu expected", got + got2, n + delay);
        else
            memcpy(y, buf + delay, n * sizeof *y);
    }
    free(buf);
    nac_enhancer_destroy(e);
    return st;
}
