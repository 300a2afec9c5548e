/* The codec network: tensor table, initialisation, and the training forward/backward pass.
 * The wiring only: kernels live in src/nn, src/dsp and src/vq. */
#include "model/codec_net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "nn/activation.h"
#include "nn/conv1d.h"
#include "nn/loss_phase.h"
#include "nn/norm.h"
#include "nn/pixshuf1d.h"

/* ---- tensor table ------------------------------------------------------------------------------ */

static int add3(nn_params *p, const char *name, int d0, int d1, int d2, int *idx, nac_error *err)
{
    int shape[3] = {d0, d1, d2};
    int st = nn_params_add(p, name, 3, shape, NN_INIT_UNIFORM, 1.0f / sqrtf((float)(d1 * d2)), 1, err);
    if (st < 0)
        return st;
    *idx = st;
    return NAC_OK;
}

static int add1(nn_params *p, const char *name, int d0, nn_init init, int *idx, nac_error *err)
{
    int st = nn_params_add(p, name, 1, &d0, init, 0, 0, err);
    if (st < 0)
        return st;
    *idx = st;
    return NAC_OK;
}

static int conv_params(nn_params *p, const char *name, nn_conv1d cv, int *w, int *b, nac_error *err)
{
    char full[64];
    snprintf(full, sizeof full, "%s.w", name);
    int st = add3(p, full, cv.oc, cv.ic / cv.groups, cv.k, w, err);
    if (st)
        return st;
    snprintf(full, sizeof full, "%s.b", name);
    return add1(p, full, cv.oc, NN_INIT_ZERO, b, err);
}

static int norm_params(nn_params *p, const char *name, int c, int *g, int *b, nac_error *err)
{
    char full[64];
    snprintf(full, sizeof full, "%s.g", name);
    int st = add1(p, full, c, NN_INIT_ONE, g, err);
    if (st)
        return st;
    snprintf(full, sizeof full, "%s.b", name);
    return add1(p, full, c, NN_INIT_ZERO, b, err);
}

static int rvq_params(nac_codec_net *n, nac_error *err)
{
    int st = nac_rvq_param_layout(&n->rvq, &n->cfg.rvq, err);
    if (st)
        return st;
    for (int i = 0; i < n->rvq.n_params; i++) {
        const nac_rvq_tensor *t = &n->rvq.params[i];
        char full[64];
        nn_init init = t->init == NAC_RVQ_INIT_NORMAL    ? NN_INIT_NORMAL
                       : t->init == NAC_RVQ_INIT_UNIFORM ? NN_INIT_UNIFORM
                                                         : NN_INIT_ZERO;
        snprintf(full, sizeof full, "rvq.%s", t->name);
        st = nn_params_add(&n->p, full, t->ndim, t->shape, init, t->scale, t->decay, err);
        if (st < 0)
            return st;
        n->rvq_idx[i] = st;
    }
    return NAC_OK;
}

int nac_codec_net_plan(nac_codec_net **out, const nac_codec_config *cfg, nac_error *err)
{
    const nac_codec_config *c = cfg;
    int st, C = c->channels;
    *out = NULL;
    if ((st = nac_codec_config_check(cfg, err)))
        return st;
    nac_codec_net *n = calloc(1, sizeof *n);
    if (!n)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    n->cfg = *cfg;
    n->n_blocks = c->enc_hi + c->enc_lo + c->dec_lo + c->dec_hi;
    n->blocks = calloc((size_t)(n->n_blocks ? n->n_blocks : 1), sizeof *n->blocks);
    if (!n->blocks) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    float scale_init = 1.0f / (float)(n->n_blocks > 0 ? n->n_blocks : 1);
    nn_params *p = &n->p;
    if ((st = conv_params(p, "enc.in", nac_codec_conv(c, NAC_CONV_IN), &n->in_w, &n->in_b, err)))
        goto fail;
    for (int i = 0; i < n->n_blocks; i++) {
        char prefix[48];
        const char *part = i < c->enc_hi                           ? "enc.hi"
                           : i < c->enc_hi + c->enc_lo             ? "enc.lo"
                           : i < c->enc_hi + c->enc_lo + c->dec_lo ? "dec.lo"
                                                                   : "dec.hi";
        int j = i < c->enc_hi                           ? i
                : i < c->enc_hi + c->enc_lo             ? i - c->enc_hi
                : i < c->enc_hi + c->enc_lo + c->dec_lo ? i - c->enc_hi - c->enc_lo
                                                        : i - c->enc_hi - c->enc_lo - c->dec_lo;
        snprintf(prefix, sizeof prefix, "%s.%d", part, j);
        if ((st = nac_convnext_register(&n->blocks[i], p, prefix, C, c->hidden, c->kernel, scale_init, err)))
            goto fail;
    }
    if ((st = conv_params(p, "enc.down", nac_codec_conv(c, NAC_CONV_DOWN), &n->down_w, &n->down_b, err)) ||
        (st = norm_params(p, "enc.ln", C, &n->eln_g, &n->eln_b, err)) ||
        (st = conv_params(p, "enc.lat", nac_codec_conv(c, NAC_CONV_LAT), &n->lat_w, &n->lat_b, err)) || (st = rvq_params(n, err)) ||
        (st = conv_params(p, "dec.in", nac_codec_conv(c, NAC_CONV_DIN), &n->din_w, &n->din_b, err)) ||
        (st = conv_params(p, "dec.up", nac_codec_conv(c, NAC_CONV_UP), &n->up_w, &n->up_b, err)) ||
        (st = norm_params(p, "dec.ln", C, &n->oln_g, &n->oln_b, err)) ||
        (st = conv_params(p, "dec.head", nac_codec_conv(c, NAC_CONV_HEAD), &n->head_w, &n->head_b, err)))
        goto fail;
    size_t table = (size_t)c->rvq.n_stages * (size_t)c->rvq.codebook_size * (size_t)c->latent_dim;
    size_t build = table * (size_t)(c->rvq.code_dim > 0 ? c->rvq.code_dim : 1); /* MACs to decode the entries */
    if (p->total > NAC_CODEC_MAX_PARAMS) {
        st = nac_error_set(err, NAC_ERR_MODEL, "the config makes %zu parameters, more than the %d a model may have",
                           p->total, NAC_CODEC_MAX_PARAMS);
        goto fail;
    }
    if (table > NAC_CODEC_MAX_RVQ_TABLE || build > NAC_CODEC_MAX_RVQ_WORK || n->rvq.state_floats > NAC_CODEC_MAX_PARAMS) {
        st = nac_error_set(err, NAC_ERR_MODEL,
                           "the config's VQ (%d stages x %d entries x %d dimensions, code dimension %d) is more than "
                           "the maxima allow (%d floats of tables, %d multiply-adds to build them)", c->rvq.n_stages,
                           c->rvq.codebook_size, c->latent_dim, c->rvq.code_dim, NAC_CODEC_MAX_RVQ_TABLE,
                           NAC_CODEC_MAX_RVQ_WORK);
        goto fail;
    }
    *out = n;
    return NAC_OK;
fail:
    nac_codec_net_destroy(n);
    return st;
}

/* What alloc and bind share once the parameters have memory: the VQ's offsets and the STFT. */
static int finish_arenas(nac_codec_net *n, nac_error *err)
{
    for (int i = 0; i < n->rvq.n_params; i++)
        n->rvq.params[i].offset = n->p.t[n->rvq_idx[i]].offset;
    return nac_stft_create(&n->stft, n->cfg.n_fft, n->cfg.hop, NAC_WINDOW_SQRT_HANN, err);
}

int nac_codec_net_alloc(nac_codec_net *n, int with_optimizer, nac_error *err)
{
    int st;
    if ((st = nn_params_alloc(&n->p, with_optimizer, err)))
        return st;
    n->rvq_state = nac_calloc(n->rvq.state_floats ? n->rvq.state_floats : 1, sizeof(float));
    if (!n->rvq_state)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    return finish_arenas(n, err);
}

int nac_codec_net_bind(nac_codec_net *n, const float *kept, size_t kept_floats, const void *const *packed,
                       const size_t *packed_count, int half, nac_error *err)
{
    int st = nn_params_borrow(&n->p, kept, kept_floats, packed, packed_count, half, err);
    return st ? st : finish_arenas(n, err);
}

int nac_codec_net_create(nac_codec_net **out, const nac_codec_config *cfg, int with_optimizer, nac_error *err)
{
    nac_codec_net *n = NULL;
    int st = nac_codec_net_plan(&n, cfg, err);
    if (!st && (st = nac_codec_net_alloc(n, with_optimizer, err))) {
        nac_codec_net_destroy(n);
        n = NULL;
    }
    *out = n;
    return st;
}

void nac_codec_net_destroy(nac_codec_net *n)
{
    if (!n)
        return;
    nn_params_free(&n->p);
    nac_free(n->rvq_state);
    nac_stft_destroy(n->stft);
    free(n->blocks);
    free(n);
}

void nac_codec_net_init(nac_codec_net *n, uint64_t seed)
{
    nac_rng rng;
    nac_rng_seed(&rng, seed);
    nn_params_init(&n->p, &rng);
    nac_rvq_state_init(n->rvq_state, n->p.data, &n->rvq);
}

/* ---- signal-domain helpers --------------------------------------------------------------------- */

void nac_codec_features(float *feat, const float *re, const float *im, int B, int F, int Tf)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int f = 0; f < F; f++) {
            size_t si = ((size_t)b * (size_t)F + (size_t)f) * (size_t)Tf;
            float *lm = feat + ((size_t)b * 3 * (size_t)F + (size_t)f) * (size_t)Tf;
            float *cr = lm + (size_t)F * (size_t)Tf, *ci = cr + (size_t)F * (size_t)Tf;
            for (int t = 0; t < Tf; t++) {
                float r = re[si + (size_t)t], i = im[si + (size_t)t];
                float mag2 = r * r + i * i + 1e-12f;
                lm[t] = 0.5f * logf(mag2 + 1e-8f);
                float comp = powf(mag2, -0.35f); /* |X|^-0.7 */
                cr[t] = r * comp;
                ci[t] = i * comp;
            }
        }
}

/* Head rows per example: log-magnitudes, then the phase as F angles or as F pairs (a, b). */
static inline size_t head_rows(int F, int phase_head) { return (size_t)(2 + phase_head) * (size_t)F; }
#define NAC_CODEC_VEC_EPS 1e-8f /* in |(a, b)|^2: a direction for (0, 0) */

void nac_codec_polar(float *re, float *im, const float *head, int B, int F, int Tf, int phase_head)
{
    size_t H = head_rows(F, phase_head), FT = (size_t)F * (size_t)Tf;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int f = 0; f < F; f++) {
            const float *m = head + ((size_t)b * H + (size_t)f) * (size_t)Tf;
            const float *p0 = m + FT, *p1 = p0 + FT;
            size_t o = ((size_t)b * (size_t)F + (size_t)f) * (size_t)Tf;
            for (int t = 0; t < Tf; t++) {
                float mag = expf(fminf(m[t], NAC_CODEC_LOGMAG_MAX));
                if (phase_head) {
                    float k = mag / sqrtf(p0[t] * p0[t] + p1[t] * p1[t] + NAC_CODEC_VEC_EPS);
                    re[o + (size_t)t] = k * p0[t];
                    im[o + (size_t)t] = k * p1[t];
                } else {
                    re[o + (size_t)t] = mag * cosf(p0[t]);
                    im[o + (size_t)t] = mag * sinf(p0[t]);
                }
            }
        }
}

/* dhead (B, H, Tf) = gradient of polar given dre, dim and the forward's outputs re, im. */
static void polar_backward(float *dhead, const float *dre, const float *dim, const float *re, const float *im,
                           const float *head, int B, int F, int Tf, int phase_head)
{
    size_t H = head_rows(F, phase_head), FT = (size_t)F * (size_t)Tf;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int f = 0; f < F; f++) {
            const float *m = head + ((size_t)b * H + (size_t)f) * (size_t)Tf;
            const float *p0 = m + FT, *p1 = p0 + FT;
            float *dm = dhead + ((size_t)b * H + (size_t)f) * (size_t)Tf;
            float *dp0 = dm + FT, *dp1 = dp0 + FT;
            size_t o = ((size_t)b * (size_t)F + (size_t)f) * (size_t)Tf;
            for (int t = 0; t < Tf; t++) {
                float r = re[o + (size_t)t], i = im[o + (size_t)t];
                float gr = dre[o + (size_t)t], gi = dim[o + (size_t)t];
                dm[t] = m[t] < NAC_CODEC_LOGMAG_MAX ? gr * r + gi * i : 0.0f;
                if (phase_head) { /* (re, im) = mag (a, b) / n: the gradient leaves the direction's normal out */
                    float n = sqrtf(p0[t] * p0[t] + p1[t] * p1[t] + NAC_CODEC_VEC_EPS);
                    float ua = p0[t] / n, ub = p1[t] / n, k = expf(fminf(m[t], NAC_CODEC_LOGMAG_MAX)) / n;
                    dp0[t] = k * (gr * (1.0f - ua * ua) - gi * ua * ub);
                    dp1[t] = k * (gi * (1.0f - ub * ub) - gr * ua * ub);
                } else {
                    dp0[t] = -gr * i + gi * r;
                }
            }
        }
}

/* The head's phases as angles, phase (B, F, Tf). */
static void head_phase(float *phase, const float *head, int B, int F, int Tf, int phase_head)
{
    size_t H = head_rows(F, phase_head), FT = (size_t)F * (size_t)Tf;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        const float *p0 = head + (size_t)b * H * (size_t)Tf + FT, *p1 = p0 + FT;
        float *out = phase + (size_t)b * FT;
        for (size_t k = 0; k < FT; k++)
            out[k] = phase_head ? atan2f(p1[k], p0[k]) : p0[k];
    }
}

/* dhead (B, H, Tf) += the head gradient of a loss whose gradient in the angles is dphase (B, F, Tf). */
static void head_phase_backward(float *dhead, const float *dphase, const float *head, int B, int F, int Tf,
                                int phase_head)
{
    size_t H = head_rows(F, phase_head), FT = (size_t)F * (size_t)Tf;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        const float *p0 = head + (size_t)b * H * (size_t)Tf + FT, *p1 = p0 + FT;
        float *d0 = dhead + (size_t)b * H * (size_t)Tf + FT, *d1 = d0 + FT;
        const float *g = dphase + (size_t)b * FT;
        for (size_t k = 0; k < FT; k++) {
            if (phase_head) { /* d atan2(b, a) = (a db - b da) / (a^2 + b^2) */
                float n2 = p0[k] * p0[k] + p1[k] * p1[k] + NAC_CODEC_VEC_EPS;
                d0[k] -= g[k] * p1[k] / n2;
                d1[k] += g[k] * p0[k] / n2;
            } else {
                d0[k] += g[k];
            }
        }
    }
}

void nac_codec_align(float *yc, float *xc, const float *y, const float *x, int B, int T, int delay)
{
    size_t Tc = (size_t)(T - delay);
    for (int b = 0; b < B; b++) {
        memcpy(yc + (size_t)b * Tc, y + (size_t)b * (size_t)T + delay, Tc * sizeof *yc);
        memcpy(xc + (size_t)b * Tc, x + (size_t)b * (size_t)T, Tc * sizeof *xc);
    }
}

void nac_codec_unalign_grad(float *dy, const float *dyc, int B, int T, int delay)
{
    size_t Tc = (size_t)(T - delay);
    for (int b = 0; b < B; b++) {
        memset(dy + (size_t)b * (size_t)T, 0, (size_t)delay * sizeof *dy);
        memcpy(dy + (size_t)b * (size_t)T + delay, dyc + (size_t)b * Tc, Tc * sizeof *dy);
    }
}

/* (B, D, T) <-> rows (B*T, D) */
static void to_rows(float *rows, const float *x, int B, int D, int T)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int d = 0; d < D; d++)
                rows[((size_t)b * (size_t)T + (size_t)t) * (size_t)D + (size_t)d] =
                    x[((size_t)b * (size_t)D + (size_t)d) * (size_t)T + (size_t)t];
}

static void from_rows(float *x, const float *rows, int B, int D, int T)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int d = 0; d < D; d++)
            for (int t = 0; t < T; t++)
                x[((size_t)b * (size_t)D + (size_t)d) * (size_t)T + (size_t)t] =
                    rows[((size_t)b * (size_t)T + (size_t)t) * (size_t)D + (size_t)d];
}

/* ---- training workspace ------------------------------------------------------------------------ */

struct nac_codec_train {
    nac_codec_net *n;
    int max_B, max_T, B, T;
    float *mem;             /* one arena for everything below */
    float *x, *sre, *sim, *feat, *e_in, *down, *eln, *eln_stats, *z, *zrows, *zqrows, *zq;
    float *din, *up, *ups, *oln, *oln_stats, *head, *ore, *oim, *y;
    float *phase, *dphase;  /* the head's phases as angles and a loss's gradient in them (B, F, Tf) */
    int has_phase, has_dphase;
    float **bout;           /* per block: output (B, C, Tf or Tl) */
    nac_convnext_acts *bacts;
    float *ga, *gb, *gscratch; /* backward ping-pong and block scratch */
    int *n_active_rows;     /* (B*Tl) */
    int32_t *codes;         /* (B*Tl, S) */
    void *rvq_ws;
};

void nac_codec_train_destroy(nac_codec_train *w)
{
    if (!w)
        return;
    nac_free(w->mem);
    nac_free(w->rvq_ws);
    free(w->bout);
    free(w->bacts);
    free(w->n_active_rows);
    free(w->codes);
    free(w);
}

int nac_codec_train_create(nac_codec_train **out, nac_codec_net *n, int max_B, int max_T, nac_error *err)
{
    const nac_codec_config *c = &n->cfg;
    int fs = nac_codec_frame_size(c);
    *out = NULL;
    if (max_B < 1 || max_T < fs || max_T % fs)
        return nac_error_set(err, NAC_ERR_ARG, "batch %d x %d: length must be a positive multiple of %d", max_B,
                             max_T, fs);
    nac_codec_train *w = calloc(1, sizeof *w);
    if (!w)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    w->n = n;
    w->max_B = max_B;
    w->max_T = max_T;
    size_t B = (size_t)max_B, T = (size_t)max_T, F = (size_t)nac_codec_bins(c), C = (size_t)c->channels;
    size_t Tf = T / (size_t)c->hop, Tl = Tf / (size_t)c->down, D = (size_t)c->latent_dim, H = (size_t)c->hidden;
    size_t bf = B * Tf, bl = B * Tl;
    /* sizes in floats, in the order of the pointers they fill */
    size_t widest = C * (size_t)c->down > 3 * F ? C * (size_t)c->down : 3 * F;
    if (H > widest)
        widest = H;
    if (head_rows((int)F, c->phase_head) > widest)
        widest = head_rows((int)F, c->phase_head);
    size_t sizes[] = {B * T, F * bf, F * bf, 3 * F * bf, C * bf, C * bl, C * bl, 2 * bl, D * bl, D * bl, D * bl,
                      D * bl, C * bl, C * bl * (size_t)c->down, C * bf, C * bf, 2 * bf, head_rows((int)F, c->phase_head) * bf,
                      F * bf, F * bf, B * T, widest * bf, widest * bf, F * bf, F * bf};
    float **ptrs[] = {&w->x,    &w->sre,  &w->sim,   &w->feat,      &w->e_in, &w->down, &w->eln, &w->eln_stats,
                      &w->z,    &w->zrows, &w->zqrows, &w->zq,      &w->din,  &w->up,   &w->ups, &w->oln,
                      &w->oln_stats, &w->head, &w->ore, &w->oim,    &w->y,    &w->ga,   &w->gb,
                      &w->phase, &w->dphase};
    size_t nbuf = sizeof sizes / sizeof sizes[0], total = 0;
    for (size_t i = 0; i < nbuf; i++)
        total += (sizes[i] + 15) & ~(size_t)15;
    size_t scratch = 0;
    w->bout = calloc((size_t)n->n_blocks + 1, sizeof *w->bout);
    w->bacts = calloc((size_t)n->n_blocks + 1, sizeof *w->bacts);
    for (int i = 0; i < n->n_blocks; i++) {
        int lo = i >= c->enc_hi && i < c->enc_hi + c->enc_lo + c->dec_lo;
        size_t tt = lo ? Tl : Tf;
        total += ((C * B * tt + 15) & ~(size_t)15) + ((nac_convnext_act_floats(&n->blocks[i], (int)B, (int)tt) + 15) & ~(size_t)15);
        size_t s = nac_convnext_scratch_floats(&n->blocks[i], (int)B, (int)tt);
        if (s > scratch)
            scratch = s;
    }
    total += scratch;
    w->mem = nac_calloc(total, sizeof(float));
    w->n_active_rows = calloc(bl, sizeof(int));
    w->codes = calloc(bl * (size_t)c->rvq.n_stages, sizeof(int32_t));
    w->rvq_ws = nac_alloc(nac_rvq_workspace_size(&c->rvq, (int)bl));
    if (!w->mem || !w->bout || !w->bacts || !w->n_active_rows || !w->codes || !w->rvq_ws) {
        nac_codec_train_destroy(w);
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory for a %d x %d training batch (%.0f MB)", max_B,
                             max_T, (double)total * 4e-6);
    }
    float *m = w->mem;
    for (size_t i = 0; i < nbuf; i++) {
        *ptrs[i] = m;
        m += (sizes[i] + 15) & ~(size_t)15;
    }
    for (int i = 0; i < n->n_blocks; i++) {
        int lo = i >= c->enc_hi && i < c->enc_hi + c->enc_lo + c->dec_lo;
        size_t tt = lo ? Tl : Tf;
        w->bout[i] = m;
        m += (C * B * tt + 15) & ~(size_t)15;
        /* acts are bound per call (B may be smaller than max_B); reserve the room here */
        w->bacts[i].dw = m;
        m += (nac_convnext_act_floats(&n->blocks[i], (int)B, (int)tt) + 15) & ~(size_t)15;
    }
    w->gscratch = m;
    *out = w;
    return NAC_OK;
}

/* ---- forward ----------------------------------------------------------------------------------- */

static float *P(nac_codec_net *n, int idx) { return nn_params_data(&n->p, idx); }
static float *G(nac_codec_net *n, int idx) { return nn_params_grad(&n->p, idx); }

/* Runs blocks [i0, i1) on x (B, C, T); returns the last output (x itself if no block). */
static const float *blocks_forward(nac_codec_train *w, int i0, int i1, const float *x, int B, int T)
{
    for (int i = i0; i < i1; i++) {
        nac_convnext_acts a;
        nac_convnext_acts_bind(&a, w->bacts[i].dw, &w->n->blocks[i], B, T);
        nac_convnext_forward(w->bout[i], &a, x, NULL, &w->n->p, &w->n->blocks[i], B, T);
        x = w->bout[i];
    }
    return x;
}

int nac_codec_train_forward(nac_codec_train *w, const float *x, const int *n_active, int B, int T,
                            const float **y, nac_rvq_losses *vq, nac_error *err)
{
    nac_codec_net *n = w->n;
    const nac_codec_config *c = &n->cfg;
    int fs = nac_codec_frame_size(c), F = nac_codec_bins(c), C = c->channels, D = c->latent_dim;
    if (B < 1 || B > w->max_B || T < fs || T > w->max_T || T % fs)
        return nac_error_set(err, NAC_ERR_ARG, "batch %d x %d does not fit the workspace (%d x %d, multiple of %d)",
                             B, T, w->max_B, w->max_T, fs);
    int Tf = T / c->hop, Tl = Tf / c->down, N = B * Tl;
    w->B = B;
    w->T = T;
    w->has_phase = w->has_dphase = 0;
    memcpy(w->x, x, (size_t)B * (size_t)T * sizeof *x);
    nac_stft_forward(n->stft, w->sre, w->sim, w->x, B, T);
    nac_codec_features(w->feat, w->sre, w->sim, B, F, Tf);
    nn_conv1d cin = nac_codec_conv(c, NAC_CONV_IN);
    nn_conv1d_forward(w->e_in, w->feat, NULL, P(n, n->in_w), P(n, n->in_b), &cin, B, Tf);
    const float *h = blocks_forward(w, 0, c->enc_hi, w->e_in, B, Tf);
    nn_conv1d cdown = nac_codec_conv(c, NAC_CONV_DOWN);
    nn_conv1d_forward(w->down, h, NULL, P(n, n->down_w), P(n, n->down_b), &cdown, B, Tf);
    h = blocks_forward(w, c->enc_hi, c->enc_hi + c->enc_lo, w->down, B, Tl);
    nn_layernorm_forward(w->eln, w->eln_stats, h, P(n, n->eln_g), P(n, n->eln_b), B, C, Tl, NAC_CODEC_LN_EPS);
    nn_conv1d clat = nac_codec_conv(c, NAC_CONV_LAT);
    nn_conv1d_forward(w->z, w->eln, NULL, P(n, n->lat_w), P(n, n->lat_b), &clat, B, Tl);

    to_rows(w->zrows, w->z, B, D, Tl);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < Tl; t++)
            w->n_active_rows[b * Tl + t] = n_active ? n_active[b] : c->rvq.n_stages;
    int st = nac_rvq_forward(w->zqrows, w->codes, vq, w->rvq_ws, w->zrows, w->n_active_rows, n->p.data, &n->rvq,
                             N, err);
    if (st)
        return st;
    from_rows(w->zq, w->zqrows, B, D, Tl);

    nn_conv1d cdin = nac_codec_conv(c, NAC_CONV_DIN);
    nn_conv1d_forward(w->din, w->zq, NULL, P(n, n->din_w), P(n, n->din_b), &cdin, B, Tl);
    h = blocks_forward(w, c->enc_hi + c->enc_lo, c->enc_hi + c->enc_lo + c->dec_lo, w->din, B, Tl);
    nn_conv1d cup = nac_codec_conv(c, NAC_CONV_UP);
    nn_conv1d_forward(w->up, h, NULL, P(n, n->up_w), P(n, n->up_b), &cup, B, Tl);
    nn_pixshuf1d_forward(w->ups, w->up, B, C, Tl, c->down);
    h = blocks_forward(w, c->enc_hi + c->enc_lo + c->dec_lo, n->n_blocks, w->ups, B, Tf);
    nn_layernorm_forward(w->oln, w->oln_stats, h, P(n, n->oln_g), P(n, n->oln_b), B, C, Tf, NAC_CODEC_LN_EPS);
    nn_conv1d chead = nac_codec_conv(c, NAC_CONV_HEAD);
    nn_conv1d_forward(w->head, w->oln, NULL, P(n, n->head_w), P(n, n->head_b), &chead, B, Tf);
    nac_codec_polar(w->ore, w->oim, w->head, B, F, Tf, c->phase_head);
    nac_istft_forward(n->stft, w->y, w->ore, w->oim, B, Tf);
    *y = w->y;
    return NAC_OK;
}

const int32_t *nac_codec_train_codes(const nac_codec_train *w) { return w->codes; }

double nac_codec_train_phase_loss(nac_codec_train *w, nn_phase_kind kind, const float *ex_w, float weight)
{
    const nac_codec_config *c = &w->n->cfg;
    int F = nac_codec_bins(c), Tf = w->T / c->hop;
    size_t n = (size_t)F * (size_t)w->B * (size_t)Tf;
    if (!w->has_phase) {
        head_phase(w->phase, w->head, w->B, F, Tf, c->phase_head);
        w->has_phase = 1;
    }
    if (weight != 0.0f && !w->has_dphase) {
        memset(w->dphase, 0, n * sizeof(float));
        w->has_dphase = 1;
    }
    int lag = nac_codec_delay(c) / c->hop; /* head frame t synthesises input frame t - lag */
    return nn_phase_loss(kind, weight != 0.0f ? w->dphase : NULL, w->phase, w->sre, w->sim, ex_w, w->B, F, Tf,
                         lag, 0.3f, weight);
}

const float *nac_codec_train_latents(const nac_codec_train *w, int *N)
{
    *N = w->B * (w->T / w->n->cfg.hop / w->n->cfg.down);
    return w->zrows;
}

/* ---- backward ---------------------------------------------------------------------------------- */

/* Backward through blocks [i0, i1) (reverse order). g holds d(output of block i1-1) and is
 * consumed; returns the buffer holding d(input of block i0), which is g or other. */
static float *blocks_backward(nac_codec_train *w, int i0, int i1, const float *x0, float *g, float *other, int B,
                              int T)
{
    size_t n = (size_t)B * (size_t)w->n->cfg.channels * (size_t)T;
    for (int i = i1 - 1; i >= i0; i--) {
        nac_convnext_acts a;
        nac_convnext_acts_bind(&a, w->bacts[i].dw, &w->n->blocks[i], B, T);
        const float *xin = i > i0 ? w->bout[i - 1] : x0;
        memset(other, 0, n * sizeof *other);
        nac_convnext_backward(other, g, &a, xin, w->gscratch, &w->n->p, &w->n->blocks[i], B, T);
        float *tmp = g;
        g = other;
        other = tmp;
    }
    return g;
}

int nac_codec_train_backward(nac_codec_train *w, const float *dy, nac_error *err)
{
    nac_codec_net *n = w->n;
    const nac_codec_config *c = &n->cfg;
    int B = w->B, T = w->T, F = nac_codec_bins(c), C = c->channels, D = c->latent_dim;
    int Tf = T / c->hop, Tl = Tf / c->down, N = B * Tl;
    int e1 = c->enc_hi, e2 = e1 + c->enc_lo, d1 = e2 + c->dec_lo, d2 = n->n_blocks;
    size_t bf = (size_t)B * (size_t)Tf, bl = (size_t)B * (size_t)Tl;
    float *ga = w->ga, *gb = w->gb;

    /* y -> spectrum -> head */
    float *dre = ga, *dim = ga + (size_t)F * bf;
    memset(ga, 0, 2 * (size_t)F * bf * sizeof *ga);
    nac_istft_backward(n->stft, dre, dim, dy, B, Tf);
    polar_backward(gb, dre, dim, w->ore, w->oim, w->head, B, F, Tf, c->phase_head);
    if (w->has_dphase)
        head_phase_backward(gb, w->dphase, w->head, B, F, Tf, c->phase_head);
    nn_conv1d chead = nac_codec_conv(c, NAC_CONV_HEAD);
    memset(ga, 0, (size_t)C * bf * sizeof *ga);
    nn_conv1d_backward(ga, G(n, n->head_w), G(n, n->head_b), gb, w->oln, P(n, n->head_w), &chead, B, Tf);
    const float *dec_hi_out = d2 > d1 ? w->bout[d2 - 1] : w->ups;
    memset(gb, 0, (size_t)C * bf * sizeof *gb);
    nn_layernorm_backward(gb, G(n, n->oln_g), G(n, n->oln_b), ga, dec_hi_out, w->oln_stats, P(n, n->oln_g), B, C,
                          Tf);
    float *g = blocks_backward(w, d1, d2, w->ups, gb, ga, B, Tf);
    float *o = g == ga ? gb : ga;

    /* sub-pixel upsampling and up conv */
    memset(o, 0, (size_t)C * (size_t)c->down * bl * sizeof *o);
    nn_pixshuf1d_backward(o, g, B, C, Tl, c->down);
    const float *dec_lo_out = d1 > e2 ? w->bout[d1 - 1] : w->din;
    nn_conv1d cup = nac_codec_conv(c, NAC_CONV_UP);
    memset(g, 0, (size_t)C * bl * sizeof *g);
    nn_conv1d_backward(g, G(n, n->up_w), G(n, n->up_b), o, dec_lo_out, P(n, n->up_w), &cup, B, Tl);
    g = blocks_backward(w, e2, d1, w->din, g, o, B, Tl);
    o = g == ga ? gb : ga;

    /* decoder input conv -> zq -> RVQ -> z */
    nn_conv1d cdin = nac_codec_conv(c, NAC_CONV_DIN);
    memset(o, 0, (size_t)D * bl * sizeof *o);
    nn_conv1d_backward(o, G(n, n->din_w), G(n, n->din_b), g, w->zq, P(n, n->din_w), &cdin, B, Tl);
    to_rows(w->zqrows, o, B, D, Tl); /* zqrows now holds dzq rows */
    memset(w->zrows, 0, (size_t)N * (size_t)D * sizeof(float));
    int st = nac_rvq_backward(w->zrows, n->p.grad, w->zqrows, w->rvq_ws, n->p.data, &n->rvq, N, err);
    if (st)
        return st;
    from_rows(g, w->zrows, B, D, Tl); /* dz */

    /* encoder */
    nn_conv1d clat = nac_codec_conv(c, NAC_CONV_LAT);
    memset(o, 0, (size_t)C * bl * sizeof *o);
    nn_conv1d_backward(o, G(n, n->lat_w), G(n, n->lat_b), g, w->eln, P(n, n->lat_w), &clat, B, Tl);
    const float *enc_lo_out = e2 > e1 ? w->bout[e2 - 1] : w->down;
    memset(g, 0, (size_t)C * bl * sizeof *g);
    nn_layernorm_backward(g, G(n, n->eln_g), G(n, n->eln_b), o, enc_lo_out, w->eln_stats, P(n, n->eln_g), B, C, Tl);
    g = blocks_backward(w, e1, e2, w->down, g, o, B, Tl);
    o = g == ga ? gb : ga;
    const float *enc_hi_out = e1 > 0 ? w->bout[e1 - 1] : w->e_in;
    nn_conv1d cdown = nac_codec_conv(c, NAC_CONV_DOWN);
    memset(o, 0, (size_t)C * bf * sizeof *o);
    nn_conv1d_backward(o, G(n, n->down_w), G(n, n->down_b), g, enc_hi_out, P(n, n->down_w), &cdown, B, Tf);
    g = blocks_backward(w, 0, e1, w->e_in, o, g, B, Tf);
    nn_conv1d cin = nac_codec_conv(c, NAC_CONV_IN);
    nn_conv1d_backward(NULL, G(n, n->in_w), G(n, n->in_b), g, w->feat, P(n, n->in_w), &cin, B, Tf);
    return NAC_OK;
}

int nac_codec_train_update_vq(nac_codec_train *w, uint64_t seed, nac_error *err)
{
    return nac_rvq_update(w->n->p.data, w->n->rvq_state, NULL, w->rvq_ws, &w->n->rvq, seed, err);
}

int nac_codec_train_vq_saved(const nac_codec_train *w, int *N, const int **nact, const float **X, const int32_t **idx,
                             nac_error *err)
{
    return nac_rvq_saved(w->rvq_ws, &w->n->rvq, N, nact, X, idx, err);
}

int nac_codec_net_update_vq_rows(nac_codec_net *n, int N, const int *nact, const float *X, const int32_t *idx,
                                 uint64_t seed, nac_error *err)
{
    return nac_rvq_update_rows(n->p.data, n->rvq_state, NULL, &n->rvq, N, nact, X, idx, seed, err);
}
