/* VQ-VAE on feature files (see vqvae.h): tensor table, forward/backward over batches, VQ upkeep,
 * whole-file runs, save/load. Encoder: conv(K*ncat -> H, k) ELU conv(H -> H, k) ELU conv(H -> D, 1)
 * tanh; decoder: conv(D -> H, k) ELU conv(H -> H, k) ELU conv(H -> K*ncat, 1); all causal. */
#include "vqvae/vqvae.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "format/weights.h"
#include "nn/activation.h"
#include "nn/conv1d.h"
#include "nn/params_io.h"

enum { E0W, E0B, E1W, E1B, E2W, E2B, D0W, D0B, D1W, D1B, D2W, D2B, N_CONV_T };
static const char *conv_names[N_CONV_T] = {"enc.0.w", "enc.0.b", "enc.1.w", "enc.1.b", "enc.2.w", "enc.2.b",
                                           "dec.0.w", "dec.0.b", "dec.1.w", "dec.1.b", "dec.2.w", "dec.2.b"};

void nac_vqvae_config_default(nac_vqvae_config *c)
{
    memset(c, 0, sizeof *c);
    c->k = 20;
    c->ncat = 1;
    c->dim = 10;
    c->hidden = 128;
    c->kernel = 3;
    c->stages = 2;
    c->entries = 512;
    c->commitment = 0.25f;
    c->dead = 1.0f;
}

static int config_check(const nac_vqvae_config *c, nac_error *err)
{
    if (c->k < 1 || c->k > 256 || c->ncat < 1 || c->ncat > 16 || c->dim < 1 || c->dim > 256 || c->hidden < 1 ||
        c->hidden > 2048 || c->kernel < 1 || c->kernel > 15 || c->stages < 0 || c->stages > NAC_RVQ_MAX_STAGES ||
        (c->stages > 0 && (c->entries < 2 || c->entries > 65536)) || !(c->commitment >= 0) || !(c->dead >= 0))
        return nac_error_set(err, NAC_ERR_ARG,
                             "VQ-VAE config out of range (K %d, ncat %d, dim %d, hidden %d, kernel %d, stages %d, "
                             "entries %d)",
                             c->k, c->ncat, c->dim, c->hidden, c->kernel, c->stages, c->entries);
    return NAC_OK;
}

static nn_conv1d conv_of(const nac_vqvae_config *c, int layer)
{
    int C0 = c->k * c->ncat, H = c->hidden, D = c->dim, k = c->kernel;
    nn_conv1d v = {0, 0, 0, 1, 1, 1};
    switch (layer) {
    case 0: v.ic = C0, v.oc = H, v.k = k; break;
    case 1: v.ic = H, v.oc = H, v.k = k; break;
    case 2: v.ic = H, v.oc = D, v.k = 1; break;
    case 3: v.ic = D, v.oc = H, v.k = k; break;
    case 4: v.ic = H, v.oc = H, v.k = k; break;
    default: v.ic = H, v.oc = C0, v.k = 1; break;
    }
    return v;
}

/* ---- create / destroy -------------------------------------------------------------------- */

/* Plans and allocates m's tensors for m->cfg. With a weight file w (a load), every tensor the
 * config declares must be in w with its shape before anything is allocated. */
static int build(nac_vqvae *m, const nac_weights *w, int with_optimizer, nac_error *err)
{
    const nac_vqvae_config *c = &m->cfg;
    for (int l = 0; l < 6; l++) {
        nn_conv1d cv = conv_of(c, l);
        int ws[3] = {cv.oc, cv.ic, cv.k}, bs[1] = {cv.oc};
        float bound = 1.0f / sqrtf((float)(cv.ic * cv.k));
        int st = nn_params_add(&m->p, conv_names[2 * l], 3, ws, NN_INIT_UNIFORM, bound, 1, err);
        if (st < 0)
            return st;
        if ((st = nn_params_add(&m->p, conv_names[2 * l + 1], 1, bs, NN_INIT_ZERO, 0, 0, err)) < 0)
            return st;
    }
    int rvq_idx[NAC_RVQ_N_PARAMS];
    if (c->stages > 0) {
        nac_rvq_config rc;
        nac_rvq_config_default(&rc);
        rc.n_stages = c->stages;
        rc.dim = c->dim;
        rc.codebook_size = c->entries;
        rc.code_dim = 0;
        rc.ema = c->ema;
        rc.commitment_weight = c->commitment;
        rc.dead_threshold = c->dead;
        int st = nac_rvq_param_layout(&m->rvq, &rc, err);
        if (st)
            return st;
        for (int i = 0; i < m->rvq.n_params; i++) {
            const nac_rvq_tensor *t = &m->rvq.params[i];
            char full[64];
            snprintf(full, sizeof full, "vq.%s", t->name);
            nn_init init = t->init == NAC_RVQ_INIT_NORMAL ? NN_INIT_NORMAL
                           : t->init == NAC_RVQ_INIT_UNIFORM ? NN_INIT_UNIFORM
                                                             : NN_INIT_ZERO;
            if ((st = nn_params_add(&m->p, full, t->ndim, t->shape, init, t->scale, t->decay, err)) < 0)
                return st;
            rvq_idx[i] = st;
        }
    }
    size_t shs[1] = {m->rvq.state_floats};
    int st = w ? nn_params_check_file(&m->p, w, err) : NAC_OK;
    if (!st && w && c->stages > 0)
        st = nn_weights_check_tensor(w, "vq.state", 1, shs, err);
    if (st || (st = nn_params_alloc(&m->p, with_optimizer, err)))
        return st;
    if (c->stages > 0)
        for (int i = 0; i < m->rvq.n_params; i++)
            m->rvq.params[i].offset = m->p.t[rvq_idx[i]].offset;
    size_t ns = c->stages > 0 ? m->rvq.state_floats : 0;
    m->rvq_state = nac_calloc(ns ? ns : 1, sizeof(float));
    m->mean = nac_calloc((size_t)c->k, sizeof(float));
    m->std = nac_calloc((size_t)c->k, sizeof(float));
    if (!m->rvq_state || !m->mean || !m->std)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory for the VQ-VAE");
    for (int i = 0; i < c->k; i++)
        m->std[i] = 1.0f;
    return NAC_OK;
}

void nac_vqvae_destroy(nac_vqvae *m)
{
    if (!m)
        return;
    nn_params_free(&m->p);
    nac_free(m->rvq_state);
    nac_free(m->mean);
    nac_free(m->std);
    free(m);
}

int nac_vqvae_create(nac_vqvae **out, const nac_vqvae_config *cfg, int with_optimizer, uint64_t seed,
                     nac_error *err)
{
    *out = NULL;
    int st = config_check(cfg, err);
    if (st)
        return st;
    nac_vqvae *m = calloc(1, sizeof *m);
    if (!m)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory for the VQ-VAE");
    m->cfg = *cfg;
    if ((st = build(m, NULL, with_optimizer, err))) {
        nac_vqvae_destroy(m);
        return st;
    }
    nac_rng r;
    nac_rng_seed(&r, seed);
    nn_params_init(&m->p, &r);
    if (cfg->stages > 0)
        nac_rvq_state_init(m->rvq_state, m->p.data, &m->rvq);
    *out = m;
    return NAC_OK;
}

void nac_vqvae_set_norm(nac_vqvae *m, const float *x, size_t N)
{
    int K = m->cfg.k;
    for (int k = 0; k < K; k++) {
        double s = 0, s2 = 0;
        for (size_t i = 0; i < N; i++) {
            double v = x[i * K + k];
            s += v;
            s2 += v * v;
        }
        double mu = N ? s / (double)N : 0, var = N ? s2 / (double)N - mu * mu : 1;
        m->mean[k] = (float)mu;
        m->std[k] = (float)fmax(sqrt(fmax(var, 0)), 1e-3);
    }
}

size_t nac_vqvae_latent_rows(const nac_vqvae *m, size_t T)
{
    return (T + (size_t)m->cfg.ncat - 1) / (size_t)m->cfg.ncat;
}

/* ---- workspace ---------------------------------------------------------------------------- */

struct nac_vqvae_work {
    nac_vqvae *m;
    int maxB, maxTg, B, Tg;
    int quantised, injected, have_fwd;
    float mse_scale;
    float *xin;              /* (B, C0, Tg) normalised input */
    float *h1, *a1, *h2, *a2; /* (B, H, Tg) encoder pre/post activation */
    float *z;                /* (B, D, Tg) tanh output */
    float *zrows, *zqrows;   /* (N, D) */
    float *zd;               /* (B, D, Tg) decoder input */
    float *g1, *b1, *g2, *b2; /* (B, H, Tg) decoder pre/post activation */
    float *out;              /* (B, C0, Tg) */
    float *dout;             /* (B, C0, Tg) gradient seed of the loss */
    float *sa, *sb;          /* (B, Cmax, Tg) scratch */
    void *rvq_ws;
    int32_t *codes;          /* (N, S) */
};

void nac_vqvae_work_destroy(nac_vqvae_work *w)
{
    if (!w)
        return;
    float **bufs[] = {&w->xin, &w->h1, &w->a1, &w->h2, &w->a2, &w->z, &w->zrows, &w->zqrows, &w->zd, &w->g1,
                      &w->b1, &w->g2, &w->b2, &w->out, &w->dout, &w->sa, &w->sb};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        nac_free(*bufs[i]);
    nac_free(w->rvq_ws);
    free(w->codes);
    free(w);
}

int nac_vqvae_work_create(nac_vqvae_work **out, const nac_vqvae *m, int B, int Tg, nac_error *err)
{
    *out = NULL;
    if (B < 1 || Tg < 1 || (size_t)B * (size_t)Tg > 100000000)
        return nac_error_set(err, NAC_ERR_ARG, "VQ-VAE workspace of %d x %d steps", B, Tg);
    const nac_vqvae_config *c = &m->cfg;
    nac_vqvae_work *w = calloc(1, sizeof *w);
    if (!w)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory for the VQ-VAE workspace");
    w->m = (nac_vqvae *)m; /* backward writes m->p.grad, the rest of m only through update_vq */
    w->maxB = B;
    w->maxTg = Tg;
    size_t bt = (size_t)B * Tg, C0 = (size_t)c->k * c->ncat, H = (size_t)c->hidden, D = (size_t)c->dim;
    size_t Cm = C0 > H ? C0 : H;
    Cm = Cm > D ? Cm : D;
    w->xin = nac_alloc(bt * C0 * sizeof(float));
    w->out = nac_alloc(bt * C0 * sizeof(float));
    w->dout = nac_alloc(bt * C0 * sizeof(float));
    float **hb[] = {&w->h1, &w->a1, &w->h2, &w->a2, &w->g1, &w->b1, &w->g2, &w->b2};
    for (size_t i = 0; i < sizeof hb / sizeof *hb; i++)
        *hb[i] = nac_alloc(bt * H * sizeof(float));
    w->z = nac_alloc(bt * D * sizeof(float));
    w->zd = nac_alloc(bt * D * sizeof(float));
    w->zrows = nac_alloc(bt * D * sizeof(float));
    w->zqrows = nac_alloc(bt * D * sizeof(float));
    w->sa = nac_alloc(bt * Cm * sizeof(float));
    w->sb = nac_alloc(bt * Cm * sizeof(float));
    int ok = w->xin && w->out && w->dout && w->z && w->zd && w->zrows && w->zqrows && w->sa && w->sb;
    for (size_t i = 0; i < sizeof hb / sizeof *hb; i++)
        ok = ok && *hb[i];
    if (ok && c->stages > 0) {
        w->rvq_ws = nac_alloc(nac_rvq_workspace_size(&m->rvq.cfg, (int)bt));
        w->codes = malloc(bt * (size_t)c->stages * sizeof *w->codes);
        ok = w->rvq_ws && w->codes;
    }
    if (!ok) {
        nac_vqvae_work_destroy(w);
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory for the VQ-VAE workspace (%d x %d steps)", B, Tg);
    }
    double s2 = 0;
    for (int k = 0; k < c->k; k++)
        s2 += (double)m->std[k] * m->std[k];
    w->mse_scale = (float)(c->k / s2); /* the dB^2 loss on the scale of unit-variance features */
    *out = w;
    return NAC_OK;
}

/* ---- forward / backward ------------------------------------------------------------------ */

#define P(m, i) ((m)->p.data + (m)->p.t[i].offset)
#define G(m, i) ((m)->p.grad + (m)->p.t[i].offset)

/* (B, C, T) <-> rows (B*T, C) */
static void to_rows(float *r, const float *a, int B, int C, int T)
{
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < T; t++)
                r[((size_t)b * T + t) * C + c] = a[((size_t)b * C + c) * T + t];
}

static void from_rows(float *a, const float *r, int B, int C, int T)
{
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < T; t++)
                a[((size_t)b * C + c) * T + t] = r[((size_t)b * T + t) * C + c];
}

static void conv(float *y, const float *x, nac_vqvae *m, int layer, int B, int T)
{
    nn_conv1d c = conv_of(&m->cfg, layer);
    nn_conv1d_forward(y, x, NULL, P(m, 2 * layer), P(m, 2 * layer + 1), &c, B, T);
}

static void conv_back(float *dx, const float *dy, const float *x, nac_vqvae *m, int layer, int B, int T)
{
    nn_conv1d c = conv_of(&m->cfg, layer);
    if (dx)
        memset(dx, 0, (size_t)B * c.ic * T * sizeof *dx);
    nn_conv1d_backward(dx, G(m, 2 * layer), G(m, 2 * layer + 1), dy, x, P(m, 2 * layer), &c, B, T);
}

int nac_vqvae_forward(float *y, nac_vqvae_loss *loss, nac_vqvae_work *w, const float *x, int B, int Tg,
                      const nac_vqvae_fwd *opt, nac_error *err)
{
    nac_vqvae *m = w->m;
    const nac_vqvae_config *c = &m->cfg;
    if (B < 1 || Tg < 1 || B > w->maxB || Tg > w->maxTg)
        return nac_error_set(err, NAC_ERR_ARG, "VQ-VAE batch %d x %d exceeds the workspace (%d x %d)", B, Tg,
                             w->maxB, w->maxTg);
    int K = c->k, nc = c->ncat, C0 = K * nc, H = c->hidden, D = c->dim, T = Tg * nc;
    size_t N = (size_t)B * Tg;
    w->B = B;
    w->Tg = Tg;
    w->have_fwd = 0;
    w->injected = opt->latent_in != NULL;
    w->quantised = !w->injected && opt->quantise && c->stages > 0;
    for (int b = 0; b < B; b++)
        for (int g = 0; g < Tg; g++)
            for (int f = 0; f < nc; f++) {
                const float *xr = x + ((size_t)b * T + (size_t)g * nc + f) * K;
                for (int k = 0; k < K; k++) {
                    if (!isfinite(xr[k]))
                        return nac_error_set(err, NAC_ERR_NUMERIC, "feature %d of frame %d is not finite", k,
                                             g * nc + f);
                    w->xin[((size_t)b * C0 + (size_t)f * K + k) * Tg + g] = (xr[k] - m->mean[k]) / m->std[k];
                }
            }
    nac_rvq_losses vl = {0};
    if (w->injected) {
        for (size_t i = 0; i < N * D; i++)
            if (!isfinite(opt->latent_in[i]))
                return nac_error_set(err, NAC_ERR_NUMERIC, "latent %zu, value %zu is not finite", i / D, i % D);
        memcpy(w->zqrows, opt->latent_in, N * D * sizeof(float));
    } else {
        conv(w->h1, w->xin, m, 0, B, Tg);
        nn_elu_forward(w->a1, w->h1, 1.0f, (size_t)B * H * Tg);
        conv(w->h2, w->a1, m, 1, B, Tg);
        nn_elu_forward(w->a2, w->h2, 1.0f, (size_t)B * H * Tg);
        conv(w->sa, w->a2, m, 2, B, Tg);
        nn_tanh_forward(w->z, w->sa, N * D);
        to_rows(w->zrows, w->z, B, D, Tg);
        if (opt->latent_out)
            memcpy(opt->latent_out, w->zrows, N * D * sizeof(float));
        if (w->quantised) {
            int st = nac_rvq_forward(w->zqrows, opt->codes ? opt->codes : w->codes, &vl, w->rvq_ws, w->zrows,
                                     NULL, m->p.data, &m->rvq, (int)N, err);
            if (st)
                return st;
        } else {
            memcpy(w->zqrows, w->zrows, N * D * sizeof(float));
        }
    }
    if (opt->noise_var > 0) {
        nac_rng r;
        nac_rng_seed(&r, opt->seed);
        double sd = sqrt(opt->noise_var);
        for (size_t i = 0; i < N * D; i++)
            w->zqrows[i] += (float)(sd * nac_rng_normal(&r));
    }
    from_rows(w->zd, w->zqrows, B, D, Tg);
    conv(w->g1, w->zd, m, 3, B, Tg);
    nn_elu_forward(w->b1, w->g1, 1.0f, (size_t)B * H * Tg);
    conv(w->g2, w->b1, m, 4, B, Tg);
    nn_elu_forward(w->b2, w->g2, 1.0f, (size_t)B * H * Tg);
    conv(w->out, w->b2, m, 5, B, Tg);
    double se = 0, scale = 2.0 * w->mse_scale / ((double)B * T * K);
    for (int b = 0; b < B; b++)
        for (int g = 0; g < Tg; g++)
            for (int f = 0; f < nc; f++) {
                size_t row = (size_t)b * T + (size_t)g * nc + f;
                for (int k = 0; k < K; k++) {
                    size_t o = ((size_t)b * C0 + (size_t)f * K + k) * Tg + g;
                    float v = w->out[o] * m->std[k] + m->mean[k], e = v - x[row * K + k];
                    if (y)
                        y[row * K + k] = v;
                    se += (double)e * e;
                    w->dout[o] = (float)(scale * e * m->std[k]);
                }
            }
    if (loss) {
        loss->mse = se / ((double)B * T * K);
        loss->vq = vl.total;
        loss->total = w->mse_scale * loss->mse + vl.total;
    }
    w->have_fwd = 1;
    return NAC_OK;
}

int nac_vqvae_backward(nac_vqvae_work *w, nac_error *err)
{
    if (!w->have_fwd || w->injected)
        return nac_error_set(err, NAC_ERR_STATE, "VQ-VAE backward needs a forward without injected latents");
    nac_vqvae *m = w->m;
    const nac_vqvae_config *c = &m->cfg;
    int B = w->B, Tg = w->Tg, H = c->hidden, D = c->dim;
    size_t N = (size_t)B * Tg, nh = (size_t)B * H * Tg;
    /* decoder */
    conv_back(w->sa, w->dout, w->b2, m, 5, B, Tg);
    memset(w->sb, 0, nh * sizeof(float));
    nn_elu_backward(w->sb, w->sa, w->g2, 1.0f, nh);
    conv_back(w->sa, w->sb, w->b1, m, 4, B, Tg);
    memset(w->sb, 0, nh * sizeof(float));
    nn_elu_backward(w->sb, w->sa, w->g1, 1.0f, nh);
    conv_back(w->sa, w->sb, w->zd, m, 3, B, Tg); /* dzd (B, D, Tg) */
    /* bottleneck: noise is additive (gradient passes), the VQ is straight-through */
    to_rows(w->sb, w->sa, B, D, Tg); /* dzq rows */
    float *dz = w->sb;
    if (w->quantised) {
        memset(w->zqrows, 0, N * D * sizeof(float));
        int st = nac_rvq_backward(w->zqrows, m->p.grad, w->sb, w->rvq_ws, m->p.data, &m->rvq, (int)N, err);
        if (st)
            return st;
        dz = w->zqrows;
    }
    from_rows(w->sa, dz, B, D, Tg);
    memset(w->sb, 0, N * D * sizeof(float));
    nn_tanh_backward(w->sb, w->sa, w->z, N * D);
    /* encoder */
    conv_back(w->sa, w->sb, w->a2, m, 2, B, Tg);
    memset(w->sb, 0, nh * sizeof(float));
    nn_elu_backward(w->sb, w->sa, w->h2, 1.0f, nh);
    conv_back(w->sa, w->sb, w->a1, m, 1, B, Tg);
    memset(w->sb, 0, nh * sizeof(float));
    nn_elu_backward(w->sb, w->sa, w->h1, 1.0f, nh);
    conv_back(NULL, w->sb, w->xin, m, 0, B, Tg);
    return NAC_OK;
}

int nac_vqvae_update_vq(nac_vqvae_work *w, uint64_t seed, nac_error *err)
{
    if (!w->have_fwd || !w->quantised)
        return NAC_OK;
    return nac_rvq_update(w->m->p.data, w->m->rvq_state, NULL, w->rvq_ws, &w->m->rvq, seed, err);
}

int nac_vqvae_kmeans_init(nac_vqvae_work *w, const float *x, int B, int Tg, int iters, uint64_t seed,
                          nac_error *err)
{
    nac_vqvae *m = w->m;
    if (m->cfg.stages < 1)
        return NAC_OK;
    size_t N = (size_t)B * Tg, D = (size_t)m->cfg.dim;
    if (N < (size_t)m->cfg.entries)
        return nac_error_set(err, NAC_ERR_ARG, "k-means initialisation needs at least %d latents, got %zu",
                             m->cfg.entries, N);
    float *z = nac_alloc(N * D * sizeof(float));
    if (!z)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory for k-means initialisation");
    nac_vqvae_fwd o = {0};
    o.latent_out = z;
    int st = nac_vqvae_forward(NULL, NULL, w, x, B, Tg, &o, err);
    if (!st)
        st = nac_rvq_kmeans_init(m->p.data, m->rvq_state, z, &m->rvq, (int)N, iters, seed, err);
    w->have_fwd = 0;
    nac_free(z);
    return st;
}

/* ---- whole files ------------------------------------------------------------------------- */

int nac_vqvae_run(float *y, const nac_vqvae *m, const float *x, size_t T, const nac_vqvae_fwd *opt,
                  nac_error *err)
{
    if (T < 1)
        return nac_error_set(err, NAC_ERR_EMPTY, "no frames to run");
    if (T > 50000000)
        return nac_error_set(err, NAC_ERR_ARG, "%zu frames is too many for one run", T);
    int K = m->cfg.k, nc = m->cfg.ncat;
    size_t Tg = nac_vqvae_latent_rows(m, T), Tp = Tg * nc;
    float *xp = nac_alloc(Tp * K * sizeof(float)), *yp = nac_alloc(Tp * K * sizeof(float));
    nac_vqvae_work *w = NULL;
    int st = NAC_OK;
    if (!xp || !yp) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory for %zu frames", T);
        goto done;
    }
    memcpy(xp, x, T * K * sizeof(float));
    for (size_t t = T; t < Tp; t++)
        memcpy(xp + t * K, x + (T - 1) * K, (size_t)K * sizeof(float));
    if ((st = nac_vqvae_work_create(&w, m, 1, (int)Tg, err)))
        goto done;
    if ((st = nac_vqvae_forward(yp, NULL, w, xp, 1, (int)Tg, opt, err)))
        goto done;
    memcpy(y, yp, T * K * sizeof(float));
done:
    nac_vqvae_work_destroy(w);
    nac_free(xp);
    nac_free(yp);
    return st;
}

/* ---- save / load ------------------------------------------------------------------------- */

int nac_vqvae_save(const nac_vqvae *m, const char *path, int with_moments, nac_error *err)
{
    const nac_vqvae_config *c = &m->cfg;
    nac_weights_writer *w = NULL;
    nn_params_names *names = NULL;
    int st = nac_weights_writer_create(&w, err);
    if (st)
        return st;
    size_t shk[1] = {(size_t)c->k}, shs[1] = {m->rvq.state_floats};
    if ((st = nac_weights_writer_set(w, "format", "nac-vqvae", err)) ||
        (st = nac_weights_writer_set_int(w, "vqvae.k", c->k, err)) ||
        (st = nac_weights_writer_set_int(w, "vqvae.ncat", c->ncat, err)) ||
        (st = nac_weights_writer_set_int(w, "vqvae.dim", c->dim, err)) ||
        (st = nac_weights_writer_set_int(w, "vqvae.hidden", c->hidden, err)) ||
        (st = nac_weights_writer_set_int(w, "vqvae.kernel", c->kernel, err)) ||
        (st = nac_weights_writer_set_int(w, "vqvae.stages", c->stages, err)) ||
        (st = nac_weights_writer_set_int(w, "vqvae.entries", c->entries, err)) ||
        (st = nac_weights_writer_set_int(w, "vqvae.ema", c->ema, err)) ||
        (st = nac_weights_writer_set_float(w, "vqvae.commitment", c->commitment, err)) ||
        (st = nac_weights_writer_set_float(w, "vqvae.dead", c->dead, err)) ||
        (st = nac_weights_writer_set_int(w, "train.step", m->step, err)) ||
        (st = nac_weights_writer_add(w, "norm.mean", NAC_DTYPE_F32, 1, shk, m->mean, err)) ||
        (st = nac_weights_writer_add(w, "norm.std", NAC_DTYPE_F32, 1, shk, m->std, err)))
        goto done;
    if (c->stages > 0 && (st = nac_weights_writer_add(w, "vq.state", NAC_DTYPE_F32, 1, shs, m->rvq_state, err)))
        goto done;
    if ((st = nn_params_write(w, &m->p, NAC_DTYPE_F32, NAC_DTYPE_F32, with_moments, with_moments, &names, err)))
        goto done;
    st = nac_weights_writer_save(w, path, err);
done:
    nn_params_names_free(names);
    nac_weights_writer_destroy(w);
    return st;
}

/* The model in weight file w (named path in messages), which it destroys. */
static int load_weights(nac_vqvae **out, nac_weights *w, const char *path, int with_optimizer, nac_error *err)
{
    nac_vqvae *m = NULL;
    int st;
    const char *fmt = nac_weights_config(w, "format");
    if (!fmt || strcmp(fmt, "nac-vqvae")) {
        st = nac_error_set(err, NAC_ERR_MODEL, "%s is a weight file but not a VQ-VAE (format %s)", path,
                           fmt ? fmt : "missing");
        goto done;
    }
    nac_vqvae_config c;
    nac_vqvae_config_default(&c);
    double cm, dd;
    long long step = 0;
    static const char *const keys[] = {"vqvae.k", "vqvae.ncat", "vqvae.dim", "vqvae.hidden",
                                       "vqvae.kernel", "vqvae.stages", "vqvae.entries", "vqvae.ema"};
    int *vals[] = {&c.k, &c.ncat, &c.dim, &c.hidden, &c.kernel, &c.stages, &c.entries, &c.ema};
    for (int i = 0; i < 8; i++)
        if ((st = nac_weights_config_size(w, keys[i], vals[i], err)))
            goto done;
    if ((st = nac_weights_config_float(w, "vqvae.commitment", &cm, err)) ||
        (st = nac_weights_config_float(w, "vqvae.dead", &dd, err)))
        goto done;
    nac_weights_config_int(w, "train.step", &step, NULL);
    c.commitment = (float)cm;
    c.dead = (float)dd;
    if ((st = config_check(&c, err))) {
        st = NAC_ERR_MODEL;
        goto done;
    }
    m = calloc(1, sizeof *m);
    if (!m) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory for the VQ-VAE");
        goto done;
    }
    m->cfg = c;
    m->step = (long)step;
    if ((st = build(m, w, with_optimizer, err)))
        goto done;
    size_t shk[1] = {(size_t)c.k}, shs[1] = {m->rvq.state_floats};
    if ((st = nn_params_read(&m->p, w, with_optimizer, NULL, NULL, err)) ||
        (st = nac_weights_read_f32(w, "norm.mean", m->mean, 1, shk, err)) ||
        (st = nac_weights_read_f32(w, "norm.std", m->std, 1, shk, err)))
        goto done;
    if (c.stages > 0 && (st = nac_weights_read_f32(w, "vq.state", m->rvq_state, 1, shs, err)))
        goto done;
    for (int k = 0; k < c.k; k++)
        if (!(m->std[k] > 0) || !isfinite(m->mean[k])) {
            st = nac_error_set(err, NAC_ERR_MODEL, "%s: normalisation of feature %d is invalid", path, k);
            goto done;
        }
    *out = m;
    m = NULL;
done:
    nac_vqvae_destroy(m);
    nac_weights_destroy(w);
    return st;
}

int nac_vqvae_load(nac_vqvae **out, const char *path, int with_optimizer, nac_error *err)
{
    nac_weights *w = NULL;
    *out = NULL;
    int st = nac_weights_load(&w, path, err);
    return st ? st : load_weights(out, w, path, with_optimizer, err);
}

int nac_vqvae_load_mem(nac_vqvae **out, const void *data, size_t size, int with_optimizer, nac_error *err)
{
    nac_weights *w = NULL;
    *out = NULL;
    int st = nac_weights_load_mem(&w, data, size, err);
    return st ? st : load_weights(out, w, "the model in memory", with_optimizer, err);
}
