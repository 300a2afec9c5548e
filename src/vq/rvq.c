/* Residual VQ layer: layout, training forward/backward (straight-through, DAC-style codebook and
 * commitment losses), EMA/usage update with dead-code restart, k-means initialisation, usage
 * statistics, inference coder. Rows (N, D); per stage e = W_in r + b_in (factorised) or e = r,
 * lookup of normalise(e) against normalise(C) (factorised) or of e against C, y = W_out c + b_out
 * or y = c, r' = r - y. Per-row arithmetic is shared by training and inference, so both give the
 * same codes. */
#include "vq/rvq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "vq/kmeans.h"
#include "vq/search.h"

#define RB 48 /* rows per parallel block (a multiple of the search tile) */
/* Below this many multiply-adds a loop runs on one thread: on a busy machine a parallel region
 * can cost a scheduler time slice. */
#define PAR_WORK 2000000.0
#define WS_MAGIC 0x52565157u

/* ---- config and layout --------------------------------------------------------------- */

void nac_rvq_config_default(nac_rvq_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->n_stages = 12;
    cfg->dim = 128;
    cfg->codebook_size = 1024;
    cfg->code_dim = 8;
    cfg->ema = 0;
    cfg->ema_decay = 0.99f;
    cfg->ema_eps = 1e-5f;
    cfg->commitment_weight = 0.25f;
    cfg->codebook_weight = 1.0f;
    cfg->dead_threshold = 0.0f;
}

static int cdim(const nac_rvq_config *c) { return c->code_dim > 0 ? c->code_dim : c->dim; }

static int check_config(const nac_rvq_config *c, nac_error *err)
{
    if (c->n_stages < 1 || c->n_stages > NAC_RVQ_MAX_STAGES)
        return nac_error_set(err, NAC_ERR_ARG, "rvq: n_stages %d not in 1..%d", c->n_stages, NAC_RVQ_MAX_STAGES);
    if (c->dim < 1 || c->dim > NAC_RVQ_MAX_DIM)
        return nac_error_set(err, NAC_ERR_ARG, "rvq: dim %d not in 1..%d", c->dim, NAC_RVQ_MAX_DIM);
    if (c->codebook_size < 2 || c->codebook_size > 65536)
        return nac_error_set(err, NAC_ERR_ARG, "rvq: codebook_size %d not in 2..65536", c->codebook_size);
    if (c->code_dim < 0 || c->code_dim > NAC_RVQ_MAX_DIM)
        return nac_error_set(err, NAC_ERR_ARG, "rvq: code_dim %d not in 0..%d", c->code_dim, NAC_RVQ_MAX_DIM);
    if (c->ema != 0 && c->ema != 1)
        return nac_error_set(err, NAC_ERR_ARG, "rvq: ema must be 0 or 1");
    if (!(c->ema_decay >= 0 && c->ema_decay < 1))
        return nac_error_set(err, NAC_ERR_ARG, "rvq: ema_decay %g not in [0, 1)", c->ema_decay);
    if (!(c->ema_eps >= 0 && c->ema_eps < 1e30f))
        return nac_error_set(err, NAC_ERR_ARG, "rvq: ema_eps %g must be finite and >= 0", c->ema_eps);
    if (!(c->commitment_weight >= 0 && c->commitment_weight < 1e30f) ||
        !(c->codebook_weight >= 0 && c->codebook_weight < 1e30f))
        return nac_error_set(err, NAC_ERR_ARG, "rvq: loss weights must be finite and >= 0");
    if (!(c->dead_threshold >= 0 && c->dead_threshold < 1e30f))
        return nac_error_set(err, NAC_ERR_ARG, "rvq: dead_threshold %g must be finite and >= 0",
                             c->dead_threshold);
    return NAC_OK;
}

static void set_tensor(nac_rvq_tensor *t, const char *name, int ndim, int a, int b, int c, nac_rvq_init init,
                       float scale, int decay, size_t *offset)
{
    t->name = name;
    t->ndim = ndim;
    t->shape[0] = a;
    t->shape[1] = ndim > 1 ? b : 0;
    t->shape[2] = ndim > 2 ? c : 0;
    t->init = init;
    t->scale = scale;
    t->decay = decay;
    t->count = (size_t)a * (ndim > 1 ? (size_t)b : 1) * (ndim > 2 ? (size_t)c : 1);
    t->offset = *offset;
    *offset += t->count;
}

int nac_rvq_param_layout(nac_rvq_layout *lay, const nac_rvq_config *cfg, nac_error *err)
{
    memset(lay, 0, sizeof *lay);
    int rc = check_config(cfg, err);
    if (rc)
        return rc;
    lay->cfg = *cfg;
    int S = cfg->n_stages, D = cfg->dim, M = cfg->codebook_size, Dc = cdim(cfg);
    size_t off = 0;
    set_tensor(&lay->params[NAC_RVQ_CODEBOOK], "codebook", 3, S, M, Dc, NAC_RVQ_INIT_NORMAL, 1.0f, 0, &off);
    lay->n_params = 1;
    if (cfg->code_dim > 0) {
        float bi = 1.0f / sqrtf((float)D), bo = 1.0f / sqrtf((float)Dc);
        set_tensor(&lay->params[NAC_RVQ_IN_W], "in_w", 3, S, Dc, D, NAC_RVQ_INIT_UNIFORM, bi, 1, &off);
        set_tensor(&lay->params[NAC_RVQ_IN_B], "in_b", 2, S, Dc, 0, NAC_RVQ_INIT_UNIFORM, bi, 0, &off);
        set_tensor(&lay->params[NAC_RVQ_OUT_W], "out_w", 3, S, D, Dc, NAC_RVQ_INIT_UNIFORM, bo, 1, &off);
        set_tensor(&lay->params[NAC_RVQ_OUT_B], "out_b", 2, S, D, 0, NAC_RVQ_INIT_UNIFORM, bo, 0, &off);
        lay->n_params = 5;
    }
    lay->param_floats = off;
    off = 0;
    set_tensor(&lay->state[NAC_RVQ_COUNT], "ema_count", 2, S, M, 0, NAC_RVQ_INIT_ZERO, 0.0f, 0, &off);
    lay->n_state = 1;
    if (cfg->ema) {
        set_tensor(&lay->state[NAC_RVQ_EMBED_SUM], "ema_sum", 3, S, M, Dc, NAC_RVQ_INIT_ZERO, 0.0f, 0, &off);
        lay->n_state = 2;
    }
    lay->state_floats = off;
    return NAC_OK;
}

void nac_rvq_params_init(float *params, const nac_rvq_layout *lay, uint64_t seed)
{
    nac_rng rng;
    nac_rng_seed(&rng, seed);
    for (int i = 0; i < lay->n_params; i++) {
        const nac_rvq_tensor *t = &lay->params[i];
        float *p = params + t->offset;
        for (size_t j = 0; j < t->count; j++) {
            if (t->init == NAC_RVQ_INIT_NORMAL)
                p[j] = (float)(t->scale * nac_rng_normal(&rng));
            else if (t->init == NAC_RVQ_INIT_UNIFORM)
                p[j] = (float)(t->scale * (2.0 * nac_rng_uniform(&rng) - 1.0));
            else
                p[j] = 0.0f;
        }
    }
}

void nac_rvq_state_init(float *state, const float *params, const nac_rvq_layout *lay)
{
    const nac_rvq_tensor *tc = &lay->state[NAC_RVQ_COUNT];
    for (size_t j = 0; j < tc->count; j++)
        state[tc->offset + j] = 1.0f;
    if (lay->n_state > 1) {
        const nac_rvq_tensor *ts = &lay->state[NAC_RVQ_EMBED_SUM];
        memcpy(state + ts->offset, params + lay->params[NAC_RVQ_CODEBOOK].offset, ts->count * sizeof(float));
    }
}

/* ---- per-row arithmetic shared by training and inference ------------------------------ */

typedef struct stage_w {
    const float *cb;    /* (M, Dc) */
    const float *in_w;  /* (Dc, D) or NULL */
    const float *in_b;  /* (Dc) */
    const float *out_w; /* (D, Dc) */
    const float *out_b; /* (D) */
} stage_w;

static stage_w stage_weights(const float *params, const nac_rvq_layout *lay, int s)
{
    const nac_rvq_config *c = &lay->cfg;
    int D = c->dim, M = c->codebook_size, Dc = cdim(c);
    stage_w w = {0};
    w.cb = params + lay->params[NAC_RVQ_CODEBOOK].offset + (size_t)s * M * Dc;
    if (c->code_dim > 0) {
        w.in_w = params + lay->params[NAC_RVQ_IN_W].offset + (size_t)s * Dc * D;
        w.in_b = params + lay->params[NAC_RVQ_IN_B].offset + (size_t)s * Dc;
        w.out_w = params + lay->params[NAC_RVQ_OUT_W].offset + (size_t)s * D * Dc;
        w.out_b = params + lay->params[NAC_RVQ_OUT_B].offset + (size_t)s * D;
    }
    return w;
}

/* out (O) = W (O, I) x (I) + b */
static void linear_row(float *restrict out, const float *restrict x, const float *restrict W,
                       const float *restrict b, int O, int I)
{
    for (int o = 0; o < O; o++) {
        const float *w = W + (size_t)o * I;
        float acc = 0.0f;
        for (int i = 0; i < I; i++)
            acc += w[i] * x[i];
        out[o] = acc + b[o];
    }
}

/* o = e / max(||e||, 1e-12) (F.normalize) */
static void l2n_row(float *o, const float *e, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (double)e[i] * e[i];
    double nr = sqrt(s);
    float inv = (float)(1.0 / (nr > 1e-12 ? nr : 1e-12));
    for (int i = 0; i < n; i++)
        o[i] = e[i] * inv;
}

/* The lookup codebook of one stage, packed: normalised rows when factorised. tmp (M, Dc). */
static void pack_lookup(float *packed, float *tmp, const float *cb, const nac_rvq_config *c)
{
    int M = c->codebook_size, Dc = cdim(c);
    if (c->code_dim > 0) {
        for (int k = 0; k < M; k++)
            l2n_row(tmp + (size_t)k * Dc, cb + (size_t)k * Dc, Dc);
        nac_vq_pack(packed, tmp, M, Dc);
    } else {
        nac_vq_pack(packed, cb, M, Dc);
    }
}

static int check_finite(const float *z, size_t n, nac_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(z[i]))
            return nac_error_set(err, NAC_ERR_NUMERIC, "rvq: non-finite latent at element %zu", i);
    return NAC_OK;
}

/* ---- workspace ---------------------------------------------------------------------- */

typedef struct ws_map {
    size_t hdr, nact, R, E, IDX, Q, act, kidx, CH, PK, rowc, rowm, G, DY, DE, total;
} ws_map;

static size_t al64(size_t x) { return (x + 63) & ~(size_t)63; }

static ws_map ws_layout(const nac_rvq_config *c, size_t N)
{
    int S = c->n_stages, D = c->dim, M = c->codebook_size, Dc = cdim(c);
    ws_map m;
    size_t o = 0;
#define REGION(f, bytes) (m.f = o, o = al64(o + (bytes)))
    REGION(hdr, 64);
    REGION(nact, N * sizeof(int));
    REGION(R, (size_t)(S + 1) * N * D * sizeof(float));
    REGION(E, c->code_dim > 0 ? (size_t)S * N * Dc * sizeof(float) : 0);
    REGION(IDX, (size_t)S * N * sizeof(int32_t));
    REGION(Q, N * Dc * sizeof(float));
    REGION(act, N * sizeof(int));
    REGION(kidx, N * sizeof(int32_t));
    REGION(CH, (size_t)M * Dc * sizeof(float));
    REGION(PK, nac_vq_packed_floats(M, Dc) * sizeof(float));
    REGION(rowc, N * sizeof(double));
    REGION(rowm, N * sizeof(double));
    REGION(G, N * D * sizeof(float));
    REGION(DY, N * D * sizeof(float));
    REGION(DE, N * Dc * sizeof(float));
#undef REGION
    m.total = o;
    return m;
}

size_t nac_rvq_workspace_size(const nac_rvq_config *cfg, int max_n)
{
    if (check_config(cfg, NULL) || max_n < 0)
        return 0;
    return ws_layout(cfg, (size_t)max_n).total;
}

typedef struct ws_hdr {
    uint32_t magic;
    int N;
} ws_hdr;

#define WSP(type, base, off) ((type *)((char *)(base) + (off)))

/* Rows active at stage s, in order; returns how many. */
static int active_rows(int *act, const int *nact, int N, int s)
{
    int n = 0;
    for (int i = 0; i < N; i++)
        if (nact[i] > s)
            act[n++] = i;
    return n;
}

/* ---- forward -------------------------------------------------------------------------- */

int nac_rvq_forward(float *zq, int32_t *codes, nac_rvq_losses *loss, void *ws, const float *z,
                    const int *n_active, const float *params, const nac_rvq_layout *lay, int N, nac_error *err)
{
    const nac_rvq_config *c = &lay->cfg;
    int S = c->n_stages, D = c->dim, M = c->codebook_size, Dc = cdim(c), fact = c->code_dim > 0;
    if (N < 0 || !ws)
        return nac_error_set(err, NAC_ERR_ARG, "rvq_forward: bad N (%d) or no workspace", N);
    int rc = check_finite(z, (size_t)N * D, err);
    if (rc)
        return rc;
    ws_map m = ws_layout(c, (size_t)N);
    ws_hdr *h = WSP(ws_hdr, ws, m.hdr);
    h->magic = WS_MAGIC;
    h->N = N;
    int *nact = WSP(int, ws, m.nact), *act = WSP(int, ws, m.act);
    float *R = WSP(float, ws, m.R), *E = WSP(float, ws, m.E), *Q = WSP(float, ws, m.Q);
    int32_t *IDX = WSP(int32_t, ws, m.IDX), *kidx = WSP(int32_t, ws, m.kidx);
    float *CH = WSP(float, ws, m.CH), *PK = WSP(float, ws, m.PK);
    double *rowc = WSP(double, ws, m.rowc), *rowm = WSP(double, ws, m.rowm);
    size_t ND = (size_t)N * D;

    for (int i = 0; i < N; i++) {
        int a = n_active ? n_active[i] : S;
        nact[i] = a < 0 ? 0 : a > S ? S : a;
    }
    memcpy(R, z, ND * sizeof(float));
    memset(zq, 0, ND * sizeof(float));
    nac_rvq_losses L;
    memset(&L, 0, sizeof L);
    for (int s = 0; s < S; s++) {
        stage_w w = stage_weights(params, lay, s);
        float *Rs = R + (size_t)s * ND, *Rn = R + (size_t)(s + 1) * ND;
        float *Es = fact ? E + (size_t)s * N * Dc : Rs;
        int32_t *Is = IDX + (size_t)s * N;
        for (int i = 0; i < N; i++)
            Is[i] = -1;
        int na = active_rows(act, nact, N, s);
        if (!na)
            continue;
        pack_lookup(PK, CH, w.cb, c);
        int nblk = (na + RB - 1) / RB;
#pragma omp parallel for schedule(dynamic, 1) if ((double)na * (M + 2.0 * D) * Dc > PAR_WORK)
        for (int b = 0; b < nblk; b++) {
            int i0 = b * RB, i1 = i0 + RB < na ? i0 + RB : na;
            for (int i = i0; i < i1; i++) {
                int n = act[i];
                if (fact) {
                    float *e = Es + (size_t)n * Dc;
                    linear_row(e, Rs + (size_t)n * D, w.in_w, w.in_b, Dc, D);
                    l2n_row(Q + (size_t)i * Dc, e, Dc);
                } else {
                    memcpy(Q + (size_t)i * Dc, Rs + (size_t)n * D, (size_t)D * sizeof(float));
                }
            }
            nac_vq_nearest(kidx + i0, NULL, Q + (size_t)i0 * Dc, PK, i1 - i0, M, Dc);
            float y[NAC_RVQ_MAX_DIM];
            for (int i = i0; i < i1; i++) {
                int n = act[i], k = kidx[i];
                const float *cv = w.cb + (size_t)k * Dc, *e = Es + (size_t)n * Dc, *r = Rs + (size_t)n * D;
                Is[n] = k;
                double ce = 0;
                for (int j = 0; j < Dc; j++) {
                    float t = e[j] - cv[j];
                    ce += (double)t * t;
                }
                rowc[n] = ce;
                if (fact)
                    linear_row(y, cv, w.out_w, w.out_b, D, Dc);
                else
                    memcpy(y, cv, (size_t)D * sizeof(float));
                float *zr = zq + (size_t)n * D, *rn = Rn + (size_t)n * D;
                double me = 0;
                for (int d = 0; d < D; d++) {
                    zr[d] += y[d];
                    rn[d] = r[d] - y[d];
                    me += (double)rn[d] * rn[d];
                }
                rowm[n] = me;
            }
        }
        double cs = 0, ms = 0;
        for (int i = 0; i < na; i++) {
            cs += rowc[act[i]];
            ms += rowm[act[i]];
        }
        L.commitment += cs / ((double)N * Dc);
        L.stage_mse[s] = ms / ((double)na * D);
    }
    L.codebook = c->ema ? 0.0 : L.commitment;
    L.total = c->commitment_weight * L.commitment + (c->ema ? 0.0 : c->codebook_weight * L.codebook);
    if (loss)
        *loss = L;
    if (codes)
        for (int i = 0; i < N; i++)
            for (int s = 0; s < S; s++)
                codes[(size_t)i * S + s] = IDX[(size_t)s * N + i];
    return NAC_OK;
}

/* ---- backward ------------------------------------------------------------------------- */

int nac_rvq_backward(float *dz, float *grads, const float *dzq, void *ws, const float *params,
                     const nac_rvq_layout *lay, int N, nac_error *err)
{
    const nac_rvq_config *c = &lay->cfg;
    int S = c->n_stages, D = c->dim, M = c->codebook_size, Dc = cdim(c), fact = c->code_dim > 0;
    (void)M;
    if (!ws || N < 0)
        return nac_error_set(err, NAC_ERR_ARG, "rvq_backward: bad N (%d) or no workspace", N);
    ws_map m = ws_layout(c, (size_t)N);
    const ws_hdr *h = WSP(ws_hdr, ws, m.hdr);
    if (h->magic != WS_MAGIC || h->N != N)
        return nac_error_set(err, NAC_ERR_STATE, "rvq_backward: workspace holds no forward of %d rows", N);
    const int *nact = WSP(int, ws, m.nact);
    int *act = WSP(int, ws, m.act);
    const float *R = WSP(float, ws, m.R), *E = WSP(float, ws, m.E);
    const int32_t *IDX = WSP(int32_t, ws, m.IDX);
    float *G = WSP(float, ws, m.G), *DY = WSP(float, ws, m.DY), *DE = WSP(float, ws, m.DE);
    size_t ND = (size_t)N * D;
    if (N == 0)
        return NAC_OK;
    float f = (float)(2.0 / ((double)N * Dc));
    float wc = c->commitment_weight * f, wb = c->ema ? 0.0f : c->codebook_weight * f;
    memset(G, 0, ND * sizeof(float));
    for (int s = S - 1; s >= 0; s--) {
        int na = active_rows(act, nact, N, s);
        if (!na)
            continue;
        stage_w w = stage_weights(params, lay, s);
        const float *Rs = R + (size_t)s * ND;
        const float *Es = fact ? E + (size_t)s * N * Dc : Rs;
        const int32_t *Is = IDX + (size_t)s * N;
        int nblk = (na + RB - 1) / RB;
#pragma omp parallel for schedule(dynamic, 1) if ((double)na * D * (fact ? 2.0 * Dc : 2.0) > PAR_WORK)
        for (int b = 0; b < nblk; b++) {
            int i1 = (b + 1) * RB < na ? (b + 1) * RB : na;
            for (int i = b * RB; i < i1; i++) {
                int n = act[i];
                const float *cv = w.cb + (size_t)Is[n] * Dc, *e = Es + (size_t)n * Dc;
                float *g = G + (size_t)n * D, *dy = DY + (size_t)n * D, *de = DE + (size_t)n * Dc;
                const float *dq = dzq + (size_t)n * D;
                for (int d = 0; d < D; d++)
                    dy[d] = dq[d] - g[d];
                if (fact) {
                    for (int j = 0; j < Dc; j++)
                        de[j] = 0.0f;
                    for (int d = 0; d < D; d++) { /* de = W_out^T dy */
                        const float *wr = w.out_w + (size_t)d * Dc;
                        for (int j = 0; j < Dc; j++)
                            de[j] += wr[j] * dy[d];
                    }
                    for (int j = 0; j < Dc; j++)
                        de[j] += wc * (e[j] - cv[j]);
                    for (int j = 0; j < Dc; j++) { /* g = W_in^T de + g */
                        const float *wr = w.in_w + (size_t)j * D;
                        for (int d = 0; d < D; d++)
                            g[d] += wr[d] * de[j];
                    }
                } else {
                    for (int d = 0; d < D; d++) {
                        de[d] = dy[d] + wc * (e[d] - cv[d]);
                        g[d] += de[d];
                    }
                }
            }
        }
        /* parameter gradients: each output element sums its rows in order */
        float *gcb = grads + lay->params[NAC_RVQ_CODEBOOK].offset + (size_t)s * c->codebook_size * Dc;
        if (wb > 0)
            for (int i = 0; i < na; i++) {
                int n = act[i];
                const float *cv = w.cb + (size_t)Is[n] * Dc, *e = Es + (size_t)n * Dc;
                float *gc = gcb + (size_t)Is[n] * Dc;
                for (int j = 0; j < Dc; j++)
                    gc[j] += wb * (cv[j] - e[j]);
            }
        if (fact) {
            float *gwo = grads + lay->params[NAC_RVQ_OUT_W].offset + (size_t)s * D * Dc;
            float *gbo = grads + lay->params[NAC_RVQ_OUT_B].offset + (size_t)s * D;
            float *gwi = grads + lay->params[NAC_RVQ_IN_W].offset + (size_t)s * Dc * D;
            float *gbi = grads + lay->params[NAC_RVQ_IN_B].offset + (size_t)s * Dc;
            /* blocks of 32 latent x 8 code dimensions: each output element is summed over the
             * rows in order by exactly one iteration (cache-friendly, thread-count independent) */
            enum { GB = 32, GJ = 8 };
            int ndb = (D + GB - 1) / GB, njb = (Dc + GJ - 1) / GJ;
#pragma omp parallel for schedule(dynamic, 1) if (2.0 * na * D * Dc > PAR_WORK)
            for (int t = 0; t < ndb * njb; t++) {
                int d0 = t / njb * GB, j0 = t % njb * GJ;
                int nd = D - d0 < GB ? D - d0 : GB, nj = Dc - j0 < GJ ? Dc - j0 : GJ;
                double ao[GB][GJ], ai[GB][GJ], ab[GB];
                float fo[GB][GJ], fi[GB][GJ], fb[GB];
                memset(ao, 0, sizeof ao);
                memset(ai, 0, sizeof ai);
                memset(ab, 0, sizeof ab);
                for (int i0 = 0; i0 < na; i0 += 64) { /* float sums over 64 rows, then double */
                    int i1 = i0 + 64 < na ? i0 + 64 : na;
                    memset(fo, 0, sizeof fo);
                    memset(fi, 0, sizeof fi);
                    memset(fb, 0, sizeof fb);
                    for (int i = i0; i < i1; i++) {
                        int n = act[i];
                        const float *dy = DY + (size_t)n * D + d0, *rr = Rs + (size_t)n * D + d0;
                        const float *cv = w.cb + (size_t)Is[n] * Dc + j0, *de = DE + (size_t)n * Dc + j0;
                        float c8[GJ] = {0}, e8[GJ] = {0}; /* zero-padded: fixed-length loops vectorise */
                        memcpy(c8, cv, (size_t)nj * sizeof(float));
                        memcpy(e8, de, (size_t)nj * sizeof(float));
                        for (int dd = 0; dd < nd; dd++) {
                            float y = dy[dd], r = rr[dd];
                            fb[dd] += y;
                            for (int j = 0; j < GJ; j++) {
                                fo[dd][j] += y * c8[j];
                                fi[dd][j] += e8[j] * r;
                            }
                        }
                    }
                    for (int dd = 0; dd < nd; dd++) {
                        ab[dd] += fb[dd];
                        for (int j = 0; j < nj; j++) {
                            ao[dd][j] += fo[dd][j];
                            ai[dd][j] += fi[dd][j];
                        }
                    }
                }
                for (int dd = 0; dd < nd; dd++) {
                    if (j0 == 0)
                        gbo[d0 + dd] += (float)ab[dd];
                    for (int j = 0; j < nj; j++) {
                        gwo[(size_t)(d0 + dd) * Dc + j0 + j] += (float)ao[dd][j];
                        gwi[(size_t)(j0 + j) * D + d0 + dd] += (float)ai[dd][j];
                    }
                }
            }
            for (int j = 0; j < Dc; j++) {
                double a = 0;
                for (int i = 0; i < na; i++)
                    a += DE[(size_t)act[i] * Dc + j];
                gbi[j] += (float)a;
            }
        }
    }
    for (size_t i = 0; i < ND; i++)
        dz[i] += G[i];
    return NAC_OK;
}

/* ---- EMA update and dead-code restart -------------------------------------------------- */

int nac_rvq_saved(const void *ws, const nac_rvq_layout *lay, int *N, const int **nact, const float **X,
                  const int32_t **idx, nac_error *err)
{
    const nac_rvq_config *c = &lay->cfg;
    const ws_hdr *h = (const ws_hdr *)ws;
    if (!ws || h->magic != WS_MAGIC)
        return nac_error_set(err, NAC_ERR_STATE, "rvq: workspace holds no forward");
    ws_map m = ws_layout(c, (size_t)h->N);
    *N = h->N;
    *nact = WSP(const int, ws, m.nact);
    *X = c->code_dim > 0 ? WSP(const float, ws, m.E) : WSP(const float, ws, m.R);
    *idx = WSP(const int32_t, ws, m.IDX);
    return NAC_OK;
}

int nac_rvq_update(float *params, float *state, int *n_restarted, const void *ws, const nac_rvq_layout *lay,
                   uint64_t seed, nac_error *err)
{
    int N;
    const int *nact;
    const float *X;
    const int32_t *IDX;
    int st = nac_rvq_saved(ws, lay, &N, &nact, &X, &IDX, err);
    if (st)
        return nac_error_set(err, st, "rvq_update: workspace holds no forward");
    return nac_rvq_update_rows(params, state, n_restarted, lay, N, nact, X, IDX, seed, err);
}

int nac_rvq_update_rows(float *params, float *state, int *n_restarted, const nac_rvq_layout *lay, int N,
                        const int *nact, const float *X, const int32_t *IDX, uint64_t seed, nac_error *err)
{
    const nac_rvq_config *c = &lay->cfg;
    int S = c->n_stages, M = c->codebook_size, Dc = cdim(c);
    float decay = c->ema_decay;
    double *sum = NULL;
    int *rows = malloc(((size_t)N + 1) * sizeof *rows);
    size_t *hist = malloc((size_t)M * sizeof *hist);
    if (c->ema)
        sum = malloc((size_t)M * Dc * sizeof *sum);
    if (!rows || !hist || (c->ema && !sum)) {
        free(rows);
        free(hist);
        free(sum);
        return nac_error_set(err, NAC_ERR_NOMEM, "rvq_update: out of memory");
    }
    nac_rng rng;
    nac_rng_seed(&rng, seed);
    for (int s = 0; s < S; s++) {
        float *cb = params + lay->params[NAC_RVQ_CODEBOOK].offset + (size_t)s * M * Dc;
        float *cnt = state + lay->state[NAC_RVQ_COUNT].offset + (size_t)s * M;
        float *esum = c->ema ? state + lay->state[NAC_RVQ_EMBED_SUM].offset + (size_t)s * M * Dc : NULL;
        const float *Es = X + (size_t)s * N * Dc;
        const int32_t *Is = IDX + (size_t)s * N;
        int na = active_rows(rows, nact, N, s);
        memset(hist, 0, (size_t)M * sizeof *hist);
        if (c->ema)
            memset(sum, 0, (size_t)M * Dc * sizeof *sum);
        for (int i = 0; i < na; i++) {
            int n = rows[i], k = Is[n];
            hist[k]++;
            if (c->ema)
                for (int j = 0; j < Dc; j++)
                    sum[(size_t)k * Dc + j] += Es[(size_t)n * Dc + j];
        }
        double total = 0;
        for (int k = 0; k < M; k++) {
            cnt[k] = decay * cnt[k] + (1.0f - decay) * (float)hist[k];
            total += cnt[k];
        }
        if (c->ema) {
            for (int k = 0; k < M; k++) {
                double sm = ((double)cnt[k] + c->ema_eps) / (total + (double)M * c->ema_eps) * total;
                for (int j = 0; j < Dc; j++) {
                    float *es = esum + (size_t)k * Dc + j;
                    *es = decay * *es + (1.0f - decay) * (float)sum[(size_t)k * Dc + j];
                    if (sm > 0)
                        cb[(size_t)k * Dc + j] = (float)(*es / sm);
                }
            }
        }
        int nr = 0;
        if (c->dead_threshold > 0 && na > 0) {
            float mean = (float)(total / M), reset = mean > c->dead_threshold ? mean : c->dead_threshold;
            for (int k = 0; k < M; k++) {
                if (!(cnt[k] < c->dead_threshold))
                    continue;
                int n = rows[nac_rng_below(&rng, (uint64_t)na)];
                memcpy(cb + (size_t)k * Dc, Es + (size_t)n * Dc, (size_t)Dc * sizeof(float));
                cnt[k] = reset;
                if (c->ema)
                    for (int j = 0; j < Dc; j++)
                        esum[(size_t)k * Dc + j] = cb[(size_t)k * Dc + j] * reset;
                nr++;
            }
        }
        if (n_restarted)
            n_restarted[s] = nr;
    }
    free(rows);
    free(hist);
    free(sum);
    return NAC_OK;
}

/* ---- k-means initialisation ------------------------------------------------------------ */

int nac_rvq_kmeans_init(float *params, float *state, const float *z, const nac_rvq_layout *lay, int N, int iters,
                        uint64_t seed, nac_error *err)
{
    const nac_rvq_config *c = &lay->cfg;
    int S = c->n_stages, D = c->dim, M = c->codebook_size, Dc = cdim(c), fact = c->code_dim > 0;
    if (N < M)
        return nac_error_set(err, NAC_ERR_ARG, "rvq k-means init needs at least %d latents (got %d)", M, N);
    int rc = check_finite(z, (size_t)N * D, err);
    if (rc)
        return rc;
    float *r = malloc((size_t)N * D * sizeof *r);
    float *e = malloc((size_t)N * Dc * sizeof *e);
    float *v = malloc((size_t)N * Dc * sizeof *v);
    float *cent = malloc((size_t)M * Dc * sizeof *cent);
    float *tmp = malloc((size_t)M * Dc * sizeof *tmp);
    float *pk = nac_alloc(nac_vq_packed_floats(M, Dc) * sizeof(float));
    int32_t *lab = malloc((size_t)N * sizeof *lab);
    double *nrm = malloc((size_t)M * sizeof *nrm);
    size_t *cnt = malloc((size_t)M * sizeof *cnt);
    if (!r || !e || !v || !cent || !tmp || !pk || !lab || !nrm || !cnt) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "rvq k-means init: out of memory");
        goto done;
    }
    memcpy(r, z, (size_t)N * D * sizeof *r);
    for (int s = 0; s < S; s++) {
        stage_w w = stage_weights(params, lay, s);
        float *cb = params + lay->params[NAC_RVQ_CODEBOOK].offset + (size_t)s * M * Dc;
#pragma omp parallel for schedule(dynamic, 1) if ((double)N * D * Dc > PAR_WORK)
        for (int n = 0; n < N; n++) {
            if (fact) {
                linear_row(e + (size_t)n * Dc, r + (size_t)n * D, w.in_w, w.in_b, Dc, D);
                l2n_row(v + (size_t)n * Dc, e + (size_t)n * Dc, Dc);
            } else {
                memcpy(v + (size_t)n * Dc, r + (size_t)n * D, (size_t)D * sizeof(float));
            }
        }
        nac_vq_train_opts o;
        nac_vq_train_opts_default(&o);
        o.init = NAC_VQ_INIT_KMEANSPP;
        o.iters = iters;
        o.seed = seed + (uint64_t)s * 0x9e3779b97f4a7c15ULL;
        o.spherical = fact;
        if ((rc = nac_vq_train(cent, NULL, lab, v, (size_t)N, Dc, M, &o, err)))
            goto done;
        /* factorised: keep the spherical centre's direction, give it the members' mean norm */
        memset(cnt, 0, (size_t)M * sizeof *cnt);
        for (int k = 0; k < M; k++)
            nrm[k] = 0;
        for (int n = 0; n < N; n++) {
            cnt[lab[n]]++;
            if (fact) {
                double s2 = 0;
                for (int j = 0; j < Dc; j++)
                    s2 += (double)e[(size_t)n * Dc + j] * e[(size_t)n * Dc + j];
                nrm[lab[n]] += sqrt(s2);
            }
        }
        for (int k = 0; k < M; k++) {
            float sc = fact && cnt[k] ? (float)(nrm[k] / (double)cnt[k]) : 1.0f;
            for (int j = 0; j < Dc; j++)
                cb[(size_t)k * Dc + j] = cent[(size_t)k * Dc + j] * sc;
        }
        float *sc = state + lay->state[NAC_RVQ_COUNT].offset + (size_t)s * M;
        for (int k = 0; k < M; k++)
            sc[k] = (float)cnt[k];
        if (c->ema) {
            float *es = state + lay->state[NAC_RVQ_EMBED_SUM].offset + (size_t)s * M * Dc;
            for (size_t j = 0; j < (size_t)M * Dc; j++)
                es[j] = cb[j] * sc[j / Dc];
        }
        /* residuals for the next stage, with the forward's own lookup */
        pack_lookup(pk, tmp, cb, c);
        int nblk = (N + RB - 1) / RB;
#pragma omp parallel for schedule(dynamic, 1) if ((double)N * (M + 2.0 * D) * Dc > PAR_WORK)
        for (int b = 0; b < nblk; b++) {
            int i0 = b * RB, i1 = i0 + RB < N ? i0 + RB : N;
            nac_vq_nearest(lab + i0, NULL, v + (size_t)i0 * Dc, pk, i1 - i0, M, Dc);
            float y[NAC_RVQ_MAX_DIM];
            for (int n = i0; n < i1; n++) {
                const float *cv = cb + (size_t)lab[n] * Dc;
                if (fact)
                    linear_row(y, cv, w.out_w, w.out_b, D, Dc);
                else
                    memcpy(y, cv, (size_t)D * sizeof(float));
                for (int d = 0; d < D; d++)
                    r[(size_t)n * D + d] -= y[d];
            }
        }
    }
done:
    free(r);
    free(e);
    free(v);
    free(cent);
    free(tmp);
    nac_free(pk);
    free(lab);
    free(nrm);
    free(cnt);
    return rc;
}

/* ---- usage statistics ----------------------------------------------------------------- */

static nac_rvq_usage usage_of(const double *h, int M, double thresh)
{
    nac_rvq_usage u = {0.0, 0};
    double tot = 0, ent = 0;
    for (int k = 0; k < M; k++)
        tot += h[k];
    for (int k = 0; k < M; k++) {
        if (h[k] > 0 && tot > 0) {
            double p = h[k] / tot;
            ent -= p * log(p);
        }
        if (h[k] > 0 && h[k] >= thresh)
            u.n_used++;
    }
    u.perplexity = tot > 0 ? exp(ent) : 0.0;
    return u;
}

void nac_rvq_code_usage(nac_rvq_usage *usage, const int32_t *codes, const nac_rvq_layout *lay, int N)
{
    int S = lay->cfg.n_stages, M = lay->cfg.codebook_size;
    double *h = malloc((size_t)M * sizeof *h);
    for (int s = 0; s < S; s++) {
        if (!h) {
            usage[s].perplexity = 0;
            usage[s].n_used = -1;
            continue;
        }
        for (int k = 0; k < M; k++)
            h[k] = 0;
        for (int n = 0; n < N; n++) {
            int32_t k = codes[(size_t)n * S + s];
            if (k >= 0 && k < M)
                h[k] += 1;
        }
        usage[s] = usage_of(h, M, 0.0);
    }
    free(h);
}

void nac_rvq_state_usage(nac_rvq_usage *usage, const float *state, const nac_rvq_layout *lay)
{
    int S = lay->cfg.n_stages, M = lay->cfg.codebook_size;
    double *h = malloc((size_t)M * sizeof *h);
    for (int s = 0; s < S; s++) {
        if (!h) {
            usage[s].perplexity = 0;
            usage[s].n_used = -1;
            continue;
        }
        const float *cnt = state + lay->state[NAC_RVQ_COUNT].offset + (size_t)s * M;
        double tot = 0;
        for (int k = 0; k < M; k++)
            tot += h[k] = cnt[k];
        double th = lay->cfg.dead_threshold > 0 ? lay->cfg.dead_threshold : 0.01 * tot / M;
        usage[s] = usage_of(h, M, th);
    }
    free(h);
}

/* ---- inference coder ----------------------------------------------------------------- */

struct nac_rvq_coder {
    nac_rvq_config cfg;
    size_t pk_floats;
    float *packed; /* (S, pk_floats) normalised (factorised) lookup codebooks */
    float *cb;     /* (S, M, Dc) copies of the codebooks: an entry's output is computed when used */
    float *in_w;   /* (S, Dc, D) copies, factorised only */
    float *in_b;   /* (S, Dc) */
    float *out_w;  /* (S, D, Dc) */
    float *out_b;  /* (S, D) */
    int borrowed;  /* every table above points into read-only memory the coder does not own */
};

/* y (D) = stage s's output for entry k (the projection back from the code space, when factorised). */
static void stage_output(float *restrict y, const nac_rvq_coder *q, int s, int k)
{
    const nac_rvq_config *c = &q->cfg;
    int D = c->dim, M = c->codebook_size, Dc = cdim(c);
    const float *row = q->cb + ((size_t)s * M + (size_t)k) * Dc;
    if (c->code_dim > 0)
        linear_row(y, row, q->out_w + (size_t)s * D * Dc, q->out_b + (size_t)s * D, D, Dc);
    else
        memcpy(y, row, (size_t)D * sizeof *y);
}

void nac_rvq_coder_destroy(nac_rvq_coder *q)
{
    if (!q)
        return;
    if (q->borrowed) {
        free(q);
        return;
    }
    nac_free(q->packed);
    nac_free(q->cb);
    nac_free(q->in_w);
    nac_free(q->in_b);
    nac_free(q->out_w);
    nac_free(q->out_b);
    free(q);
}

nac_rvq_coder *nac_rvq_coder_create(const float *params, const nac_rvq_layout *lay, nac_error *err)
{
    const nac_rvq_config *c = &lay->cfg;
    if (check_config(c, err))
        return NULL;
    int S = c->n_stages, D = c->dim, M = c->codebook_size, Dc = cdim(c), fact = c->code_dim > 0;
    nac_rvq_coder *q = calloc(1, sizeof *q);
    float *tmp = malloc((size_t)M * Dc * sizeof *tmp);
    if (!q || !tmp)
        goto nomem;
    q->cfg = *c;
    q->pk_floats = nac_vq_packed_floats(M, Dc);
    q->packed = nac_alloc((size_t)S * q->pk_floats * sizeof(float));
    q->cb = nac_alloc((size_t)S * M * Dc * sizeof(float));
    if (!q->packed || !q->cb)
        goto nomem;
    memcpy(q->cb, params + lay->params[NAC_RVQ_CODEBOOK].offset, (size_t)S * M * Dc * sizeof(float));
    if (fact) {
        q->in_w = nac_alloc((size_t)S * Dc * D * sizeof(float));
        q->in_b = nac_alloc((size_t)S * Dc * sizeof(float));
        q->out_w = nac_alloc((size_t)S * D * Dc * sizeof(float));
        q->out_b = nac_alloc((size_t)S * D * sizeof(float));
        if (!q->in_w || !q->in_b || !q->out_w || !q->out_b)
            goto nomem;
        memcpy(q->in_w, params + lay->params[NAC_RVQ_IN_W].offset, (size_t)S * Dc * D * sizeof(float));
        memcpy(q->in_b, params + lay->params[NAC_RVQ_IN_B].offset, (size_t)S * Dc * sizeof(float));
        memcpy(q->out_w, params + lay->params[NAC_RVQ_OUT_W].offset, (size_t)S * D * Dc * sizeof(float));
        memcpy(q->out_b, params + lay->params[NAC_RVQ_OUT_B].offset, (size_t)S * D * sizeof(float));
    }
    for (int s = 0; s < S; s++)
        pack_lookup(q->packed + (size_t)s * q->pk_floats, tmp, q->cb + (size_t)s * M * Dc, c);
    free(tmp);
    return q;
nomem:
    free(tmp);
    nac_rvq_coder_destroy(q);
    nac_error_set(err, NAC_ERR_NOMEM, "rvq: out of memory for the inference tables");
    return NULL;
}

nac_rvq_coder *nac_rvq_coder_borrow(const float *params, const nac_rvq_layout *lay, const float *packed,
                                    size_t packed_floats, nac_error *err)
{
    const nac_rvq_config *c = &lay->cfg;
    if (check_config(c, err))
        return NULL;
    size_t pk = nac_vq_packed_floats(c->codebook_size, cdim(c));
    if (packed_floats != (size_t)c->n_stages * pk) {
        nac_error_set(err, NAC_ERR_MODEL, "rvq: %zu floats of packed codebooks, expected %zu", packed_floats,
                      (size_t)c->n_stages * pk);
        return NULL;
    }
    nac_rvq_coder *q = calloc(1, sizeof *q);
    if (!q) {
        nac_error_set(err, NAC_ERR_NOMEM, "rvq: out of memory");
        return NULL;
    }
    q->cfg = *c;
    q->pk_floats = pk;
    q->borrowed = 1;
    q->packed = (float *)packed;
    q->cb = (float *)params + lay->params[NAC_RVQ_CODEBOOK].offset;
    if (c->code_dim > 0) {
        q->in_w = (float *)params + lay->params[NAC_RVQ_IN_W].offset;
        q->in_b = (float *)params + lay->params[NAC_RVQ_IN_B].offset;
        q->out_w = (float *)params + lay->params[NAC_RVQ_OUT_W].offset;
        q->out_b = (float *)params + lay->params[NAC_RVQ_OUT_B].offset;
    }
    return q;
}

const float *nac_rvq_coder_packed(const nac_rvq_coder *q, size_t *floats)
{
    *floats = (size_t)q->cfg.n_stages * q->pk_floats;
    return q->packed;
}

int nac_rvq_encode(int32_t *codes, const float *z, const nac_rvq_coder *q, int N, int n_q, nac_error *err)
{
    const nac_rvq_config *c = &q->cfg;
    int S = c->n_stages, D = c->dim, M = c->codebook_size, Dc = cdim(c), fact = c->code_dim > 0;
    if (N < 0 || n_q < 1 || n_q > S)
        return nac_error_set(err, NAC_ERR_ARG, "rvq_encode: n_q %d not in 1..%d (N=%d)", n_q, S, N);
    int rc = check_finite(z, (size_t)N * D, err);
    if (rc)
        return rc;
    enum { T = NAC_VQ_TILE_ROWS };
    int nblk = (N + T - 1) / T;
#pragma omp parallel for schedule(dynamic, 1) if ((double)N * n_q * (M + 2.0 * D) * Dc > PAR_WORK)
    for (int b = 0; b < nblk; b++) {
        int n0 = b * T, nb = N - n0 < T ? N - n0 : T;
        float r[T * NAC_RVQ_MAX_DIM], e[NAC_RVQ_MAX_DIM], v[T * NAC_RVQ_MAX_DIM];
        int32_t k[T];
        memcpy(r, z + (size_t)n0 * D, (size_t)nb * D * sizeof(float));
        for (int s = 0; s < n_q; s++) {
            const float *vq = r;
            if (fact) {
                const float *iw = q->in_w + (size_t)s * Dc * D, *ib = q->in_b + (size_t)s * Dc;
                for (int i = 0; i < nb; i++) {
                    linear_row(e, r + (size_t)i * D, iw, ib, Dc, D);
                    l2n_row(v + (size_t)i * Dc, e, Dc);
                }
                vq = v;
            }
            nac_vq_nearest(k, NULL, vq, q->packed + (size_t)s * q->pk_floats, nb, M, Dc);
            for (int i = 0; i < nb; i++) {
                codes[(size_t)(n0 + i) * n_q + s] = k[i];
                stage_output(e, q, s, k[i]);
                for (int d = 0; d < D; d++)
                    r[(size_t)i * D + d] -= e[d];
            }
        }
    }
    return NAC_OK;
}

int nac_rvq_decode(float *zq, const int32_t *codes, const nac_rvq_coder *q, int N, int n_q, nac_error *err)
{
    const nac_rvq_config *c = &q->cfg;
    int S = c->n_stages, D = c->dim, M = c->codebook_size;
    if (N < 0 || n_q < 1 || n_q > S)
        return nac_error_set(err, NAC_ERR_ARG, "rvq_decode: n_q %d not in 1..%d (N=%d)", n_q, S, N);
    for (size_t i = 0; i < (size_t)N * n_q; i++)
        if (codes[i] < 0 || codes[i] >= M)
            return nac_error_set(err, NAC_ERR_ARG, "rvq_decode: code %d at frame %zu, stage %zu is not in 0..%d",
                                 (int)codes[i], i / (size_t)n_q, i % (size_t)n_q, M - 1);
    float y[NAC_RVQ_MAX_DIM];
    for (int n = 0; n < N; n++) {
        float *o = zq + (size_t)n * D;
        for (int d = 0; d < D; d++)
            o[d] = 0.0f;
        for (int s = 0; s < n_q; s++) {
            stage_output(y, q, s, codes[(size_t)n * n_q + s]);
            for (int d = 0; d < D; d++)
                o[d] += y[d];
        }
    }
    return NAC_OK;
}

/* ---- bit packing ---------------------------------------------------------------------- */

size_t nac_rvq_packed_bytes(size_t n, int bits) { return (n * (size_t)bits + 7) / 8; }

int nac_rvq_pack(uint8_t *out, const int32_t *codes, size_t n, int bits, nac_error *err)
{
    if (bits < 1 || bits > 31)
        return nac_error_set(err, NAC_ERR_ARG, "bit packing: %d bits not in 1..31", bits);
    uint32_t lim = 1u << bits;
    for (size_t i = 0; i < n; i++)
        if (codes[i] < 0 || (uint32_t)codes[i] >= lim)
            return nac_error_set(err, NAC_ERR_ARG, "bit packing: code %d at %zu does not fit in %d bits",
                                 (int)codes[i], i, bits);
    size_t nb = nac_rvq_packed_bytes(n, bits);
    memset(out, 0, nb);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++)
        for (int b = bits - 1; b >= 0; b--, pos++)
            if (((uint32_t)codes[i] >> b) & 1u)
                out[pos >> 3] |= (uint8_t)(0x80u >> (pos & 7));
    return NAC_OK;
}

int nac_rvq_unpack(int32_t *codes, const uint8_t *in, size_t n_bytes, size_t n, int bits, nac_error *err)
{
    if (bits < 1 || bits > 31)
        return nac_error_set(err, NAC_ERR_ARG, "bit unpacking: %d bits not in 1..31", bits);
    if (n_bytes < nac_rvq_packed_bytes(n, bits))
        return nac_error_set(err, NAC_ERR_TRUNCATED, "bit unpacking: %zu codes of %d bits need %zu bytes, got %zu",
                             n, bits, nac_rvq_packed_bytes(n, bits), n_bytes);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = 0;
        for (int b = 0; b < bits; b++, pos++)
            v = (v << 1) | ((in[pos >> 3] >> (7 - (pos & 7))) & 1u);
        codes[i] = (int32_t)v;
    }
    return NAC_OK;
}
