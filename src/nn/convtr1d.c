/* Causal transposed convolution as s phase-wise GEMMs: output phase r of frame q gathers
 * x[q - m] against tap r + m*s, oldest frame first, so carry-based streaming is bit-identical.
 * Layouts x (B, IC, T), y (B, OC, T*s), w (IC, OC, K). */
#include "nn/convtr1d.h"

#include <string.h>

#include "core/alloc.h"
#include "nn/gemm.h"

int nn_convtr1d_carry_len(const nn_convtr1d *c) { return c->k - c->stride; }

int nn_convtr1d_valid(const nn_convtr1d *c)
{
    return c && c->ic > 0 && c->oc > 0 && c->stride > 0 && c->k >= c->stride;
}

double nn_convtr1d_macs(const nn_convtr1d *c, int B, int T) { return (double)B * T * c->ic * c->oc * c->k; }

typedef struct tr_ctx {
    const nn_convtr1d *c;
    const float *x, *w, *dy;
    int B, T;
    int r, mr, q0; /* forward: phase, taps in the phase, first output frame */
    const float *dyp; /* backward: dy as phase planes (B, OC, s, pl), zero-padded after each plane */
    int pl;
} tr_ctx;

/* Forward A: rows o, depth (m', i) with m' = 0 the oldest frame: w[i, o, r + (mr-1-m')*s]. */
static void pack_a_fwd(const void *ctx, int b, int r0, int rn, int k0, int kc, float *dst)
{
    const tr_ctx *q = ctx;
    const nn_convtr1d *c = q->c;
    (void)b;
    for (int p = 0; p * NN_MR < rn; p++) {
        float *d = dst + (size_t)p * kc * NN_MR;
        for (int kk = 0; kk < kc; kk++) {
            int mp = (k0 + kk) / c->ic, i = (k0 + kk) % c->ic;
            const float *src = q->w + ((size_t)i * c->oc) * c->k + q->r + (q->mr - 1 - mp) * c->stride;
            for (int e = 0; e < NN_MR; e++) {
                int m = p * NN_MR + e;
                d[kk * NN_MR + e] = m < rn ? src[(size_t)(r0 + m) * c->k] : 0.0f;
            }
        }
    }
}

/* Forward B: depth (m', i), column n: x[b, i, q0 + n - (mr-1-m')], zero outside [0, T). */
static void pack_b_fwd(const void *ctx, int b, int r0, int rn, int k0, int kc, float *dst)
{
    const tr_ctx *q = ctx;
    const nn_convtr1d *c = q->c;
    int mp = k0 / c->ic, i = k0 % c->ic;
    for (int kk = 0; kk < kc; kk++) {
        const float *src = q->x + ((size_t)b * c->ic + i) * q->T;
        for (int p = 0; p * NN_NR < rn; p++) {
            float *o = dst + (size_t)p * kc * NN_NR + (size_t)kk * NN_NR;
            int cols = rn - p * NN_NR < NN_NR ? rn - p * NN_NR : NN_NR;
            int t = q->q0 + r0 + p * NN_NR - (q->mr - 1 - mp);
            if (cols == NN_NR && t >= 0 && t + NN_NR <= q->T) {
                memcpy(o, src + t, NN_NR * sizeof(float));
            } else {
                for (int e = 0; e < NN_NR; e++)
                    o[e] = e < cols && t + e >= 0 && t + e < q->T ? src[t + e] : 0.0f;
            }
        }
        if (++i == c->ic) {
            i = 0;
            mp++;
        }
    }
}

/* Offline forward (no carry) through s phase planes: every GEMM chain starts at 0, as on y zeroed, and one
 * interleaving pass adds the bias, so the values equal the in-place path. Returns 0 when out of memory. */
static int tr_forward_planes(float *y, const float *x, const float *w, const float *b, const nn_convtr1d *c, int B,
                             int T)
{
    int s = c->stride;
    size_t rows = (size_t)B * c->oc, Ty = (size_t)T * s;
    float *ph = nn_scratch(rows * Ty); /* (s, B, OC, T) */
    if (!ph)
        return 0;
    for (int r = 0; r < s; r++) {
        tr_ctx q = {.c = c, .x = x, .w = w, .B = B, .T = T, .r = r, .mr = (c->k - r + s - 1) / s, .q0 = 0};
        nn_gemm g = {.batch = B, .M = c->oc, .N = T, .K = q.mr * c->ic, .pack_a = pack_a_fwd,
                     .pack_b = pack_b_fwd, .actx = &q, .bctx = &q, .c = ph + (size_t)r * rows * T,
                     .c_batch = (size_t)c->oc * T, .c_row = (size_t)T, .c_col = 1, .a_period = 1, .c_init = 1};
        nn_gemm_run(&g);
    }
#pragma omp parallel for schedule(static) if ((double)rows * Ty > 100000.0)
    for (long row = 0; row < (long)rows; row++) {
        float *yr = y + (size_t)row * Ty, bias = b ? b[row % c->oc] : 0.0f;
        for (int r = 0; r < s; r++) {
            const float *p = ph + ((size_t)r * rows + row) * T;
            if (b)
                for (int t = 0; t < T; t++)
                    yr[(size_t)t * s + r] = p[t] + bias;
            else
                for (int t = 0; t < T; t++)
                    yr[(size_t)t * s + r] = p[t];
        }
    }
    nac_free(ph);
    return 1;
}

void nn_convtr1d_forward(float *y, const float *x, float *carry, const float *w, const float *b,
                         const nn_convtr1d *c, int B, int T)
{
    int s = c->stride, L = c->k - s;
    size_t Ty = (size_t)T * s;
    int par = (double)B * c->oc * Ty > 100000.0;
    if (!carry && s > 1 && T >= 64 && tr_forward_planes(y, x, w, b, c, B, T))
        return;
#pragma omp parallel for schedule(static) if (par)
    for (long row = 0; row < (long)B * c->oc; row++) {
        float *yr = y + (size_t)row * Ty;
        memset(yr, 0, Ty * sizeof(float));
        if (carry && L > 0) {
            float *cr = carry + (size_t)row * L;
            size_t n = (size_t)L < Ty ? (size_t)L : Ty;
            memcpy(yr, cr, n * sizeof(float));
            /* The carry now restarts at frame T: what lay beyond T*s moves to the front. */
            if (Ty < (size_t)L) {
                memmove(cr, cr + Ty, ((size_t)L - Ty) * sizeof(float));
                memset(cr + L - Ty, 0, Ty * sizeof(float));
            } else {
                memset(cr, 0, (size_t)L * sizeof(float));
            }
        }
    }
    float *ph = s > 1 && T >= 64 ? nn_scratch((size_t)B * c->oc * T) : NULL; /* none for short chunks */
    for (int r = 0; r < s; r++) {
        tr_ctx q = {.c = c, .x = x, .w = w, .B = B, .T = T, .r = r, .mr = (c->k - r + s - 1) / s, .q0 = 0};
        nn_gemm g = {.batch = B, .M = c->oc, .N = T, .K = q.mr * c->ic, .pack_a = pack_a_fwd,
                     .pack_b = pack_b_fwd, .actx = &q, .bctx = &q, .c = y + r,
                     .c_batch = (size_t)c->oc * Ty, .c_row = Ty, .c_col = (size_t)s, .a_period = 1};
        if (ph) {
            /* Phase r gathered into a contiguous plane so the GEMM writes whole tiles, then put back. */
#pragma omp parallel for schedule(static) if (par)
            for (long row = 0; row < (long)B * c->oc; row++)
                for (int t = 0; t < T; t++)
                    ph[(size_t)row * T + t] = y[(size_t)row * Ty + (size_t)t * s + r];
            g.c = ph;
            g.c_batch = (size_t)c->oc * T;
            g.c_row = (size_t)T;
            g.c_col = 1;
            nn_gemm_run(&g);
#pragma omp parallel for schedule(static) if (par)
            for (long row = 0; row < (long)B * c->oc; row++)
                for (int t = 0; t < T; t++)
                    y[(size_t)row * Ty + (size_t)t * s + r] = ph[(size_t)row * T + t];
        } else {
            nn_gemm_run(&g);
        }
        if (carry && q.mr > 1) {
            tr_ctx qc = q;
            qc.q0 = T;
            nn_gemm gc = {.batch = B, .M = c->oc, .N = q.mr - 1, .K = q.mr * c->ic, .pack_a = pack_a_fwd,
                          .pack_b = pack_b_fwd, .actx = &qc, .bctx = &qc, .c = carry + r,
                          .c_batch = (size_t)c->oc * L, .c_row = (size_t)L, .c_col = (size_t)s, .a_period = 1};
            nn_gemm_run(&gc);
        }
    }
    nac_free(ph);
    if (b) {
#pragma omp parallel for schedule(static) if (par)
        for (long row = 0; row < (long)B * c->oc; row++) {
            float *yr = y + (size_t)row * Ty, bias = b[row % c->oc];
            for (size_t u = 0; u < Ty; u++)
                yr[u] += bias;
        }
    }
}

/* Backward B for dx: depth (o, j), column t: dy[b, o, t*s + j], zero past T*s; from the planes if any. */
static void pack_b_dy(const void *ctx, int b, int r0, int rn, int k0, int kc, float *dst)
{
    const tr_ctx *q = ctx;
    const nn_convtr1d *c = q->c;
    int s = c->stride, Ty = q->T * s;
    int o = k0 / c->k, j = k0 % c->k;
    for (int kk = 0; kk < kc; kk++) {
        const float *src = q->dy + ((size_t)b * c->oc + o) * Ty;
        const float *prow = q->dyp ? q->dyp + (((size_t)b * c->oc + o) * s + j % s) * q->pl + j / s : NULL;
        for (int p = 0; p * NN_NR < rn; p++) {
            float *out = dst + (size_t)p * kc * NN_NR + (size_t)kk * NN_NR;
            int t0 = r0 + p * NN_NR;
            int cols = rn - p * NN_NR < NN_NR ? rn - p * NN_NR : NN_NR;
            if (prow && cols == NN_NR) {
                memcpy(out, prow + t0, NN_NR * sizeof(float));
            } else {
                for (int e = 0; e < NN_NR; e++) {
                    int u = (t0 + e) * s + j;
                    out[e] = e < cols && u < Ty ? src[u] : 0.0f;
                }
            }
        }
        if (++j == c->k) {
            j = 0;
            o++;
        }
    }
}

/* Backward A for dw: rows i, depth (b, t): x[b, i, t]. */
static void pack_a_x(const void *ctx, int b, int r0, int rn, int k0, int kc, float *dst)
{
    const tr_ctx *q = ctx;
    const nn_convtr1d *c = q->c;
    (void)b;
    for (int p = 0; p * NN_MR < rn; p++) {
        float *d = dst + (size_t)p * kc * NN_MR;
        for (int e = 0; e < NN_MR; e++) {
            int m = p * NN_MR + e;
            if (m >= rn) {
                for (int kk = 0; kk < kc; kk++)
                    d[kk * NN_MR + e] = 0.0f;
                continue;
            }
            for (int kk = 0; kk < kc;) {
                int bi = (k0 + kk) / q->T, t = (k0 + kk) % q->T;
                int n = q->T - t < kc - kk ? q->T - t : kc - kk;
                const float *src = q->x + ((size_t)bi * c->ic + r0 + m) * q->T + t;
                for (int z = 0; z < n; z++)
                    d[(kk + z) * NN_MR + e] = src[z];
                kk += n;
            }
        }
    }
}

/* Backward B for dw: depth (b, t), columns (o, j): dy[b, o, t*s + j], zero past T*s. */
static void pack_b_dyt(const void *ctx, int b, int r0, int rn, int k0, int kc, float *dst)
{
    const tr_ctx *q = ctx;
    const nn_convtr1d *c = q->c;
    int s = c->stride, Ty = q->T * s;
    (void)b;
    for (int p = 0; p * NN_NR < rn; p++) {
        float *d = dst + (size_t)p * kc * NN_NR;
        for (int e = 0; e < NN_NR; e++) {
            int col = r0 + p * NN_NR + e;
            if (col >= r0 + rn) {
                for (int kk = 0; kk < kc; kk++)
                    d[kk * NN_NR + e] = 0.0f;
                continue;
            }
            int o = col / c->k, j = col % c->k;
            for (int kk = 0; kk < kc;) {
                int bi = (k0 + kk) / q->T, t = (k0 + kk) % q->T;
                int n = q->T - t < kc - kk ? q->T - t : kc - kk;
                const float *src = q->dy + ((size_t)bi * c->oc + o) * Ty;
                for (int z = 0; z < n; z++) {
                    int u = (t + z) * s + j;
                    d[(kk + z) * NN_NR + e] = u < Ty ? src[u] : 0.0f;
                }
                kk += n;
            }
        }
    }
}

static const float *nt_row_x(const void *ctx, int g, int b, int i)
{
    const tr_ctx *q = ctx;
    (void)g;
    return q->x + ((size_t)b * q->c->ic + i) * q->T;
}

static const float *nt_row_dy(const void *ctx, int g, int b, int col)
{
    const tr_ctx *q = ctx;
    const nn_convtr1d *c = q->c;
    int o = col / c->k, j = col % c->k;
    (void)g;
    return q->dyp + (((size_t)b * c->oc + o) * c->stride + j % c->stride) * q->pl + j / c->stride;
}

void nn_convtr1d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                          const nn_convtr1d *c, int B, int T)
{
    size_t Ty = (size_t)T * c->stride;
    tr_ctx q = {.c = c, .x = x, .w = w, .dy = dy, .B = B, .T = T};
    int par = (double)B * c->oc * Ty > 100000.0;
    if (db) {
#pragma omp parallel for schedule(static) if (par)
        for (int o = 0; o < c->oc; o++) {
            double tot = 0.0;
            for (int bi = 0; bi < B; bi++) {
                tot += nn_sum_d(dy + ((size_t)bi * c->oc + o) * Ty, Ty);
            }
            db[o] += (float)tot;
        }
    }
    /* dy as phase planes: tap j of frame t reads plane j % s at t + j / s, zeros past the end. */
    int s = c->stride;
    float *planes = nn_planes(dy, (size_t)B * c->oc, (int)Ty, s, 0, (c->k + s - 1) / s, &q.pl);
    q.dyp = planes;
    if (dx) {
        nn_strided wa = {w, 0, (size_t)c->oc * c->k, 1};
        nn_gemm g = {.batch = B, .M = c->ic, .N = T, .K = c->oc * c->k, .pack_a = nn_pack_a_strided,
                     .pack_b = pack_b_dy, .actx = &wa, .bctx = &q, .c = dx,
                     .c_batch = (size_t)c->ic * T, .c_row = (size_t)T, .c_col = 1, .a_period = 1};
        nn_gemm_run(&g);
    }
    if (dw && planes) {
        nn_gemm_nt g = {.groups = 1, .M = c->ic, .N = c->oc * c->k, .B = B, .T = T, .a_row = nt_row_x,
                        .b_row = nt_row_dy, .ctx = &q, .c = dw, .c_group = 0, .c_row = (size_t)c->oc * c->k};
        nn_gemm_nt_run(&g);
    } else if (dw) {
        nn_gemm g = {.batch = 1, .M = c->ic, .N = c->oc * c->k, .K = B * T, .pack_a = pack_a_x,
                     .pack_b = pack_b_dyt, .actx = &q, .bctx = &q, .c = dw,
                     .c_batch = 0, .c_row = (size_t)c->oc * c->k, .c_col = 1};
        nn_gemm_run(&g);
    }
    nac_free(planes);
}
