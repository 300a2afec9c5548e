/* Causal 1-D convolution: im2col gathered straight into packed GEMM panels (gemm.c), with a direct
 * AVX2 kernel for depthwise layers. Layouts x (B, IC, T), y (B, OC, T/s), w (OC, IC/groups, K). */
#include "nn/conv1d.h"

#include <string.h>

#include "core/alloc.h"
#include "nn/gemm.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NN_X86 1
#else
#define NN_X86 0
#endif

int nn_conv1d_hist_len(const nn_conv1d *c)
{
    int h = (c->k - 1) * c->dil + 1 - c->stride;
    return h > 0 ? h : 0;
}

int nn_conv1d_valid(const nn_conv1d *c)
{
    return c && c->ic > 0 && c->oc > 0 && c->k > 0 && c->k <= 256 && c->stride > 0 && c->dil > 0 && c->groups > 0 &&
           c->ic % c->groups == 0 && c->oc % c->groups == 0;
}

double nn_conv1d_macs(const nn_conv1d *c, int B, int T)
{
    return (double)B * c->oc * (T / c->stride) * (c->ic / c->groups) * c->k;
}

/* ---- operands ---- */

/* Forwards allocate scratch only from this many output frames on, so short streaming chunks allocate
 * nothing (the values are the same either way). */
#define SCRATCH_MIN_T 64

typedef struct conv_ctx {
    const nn_conv1d *c;
    const float *x, *hist, *w, *dy;
    int B, T, Tout, H, icg, ocg;
    int phase;          /* dx: input phase r' */
    int nj, j[256];     /* dx: taps contributing to that phase (k <= 256) */
    int off[256];       /* dx: dy time offset of each tap */
    const float *xp;    /* x as phase planes (B, IC, s, pl) with padL zeros in front, or NULL */
    int pl, padL;
    int jr[256], jq[256]; /* tap j reads plane jr[j] at t + jq[j] (floor division of its offset by s) */
    int t0;             /* dw dot products: first output frame */
} conv_ctx;

/* Fills jr, jq: x[t*s + off_j] = plane[off_j mod s][t + floor(off_j / s)]. */
static void conv_taps(conv_ctx *q)
{
    const nn_conv1d *c = q->c;
    int s = c->stride;
    for (int j = 0; j < c->k && j < 256; j++) {
        int off = s - 1 - (c->k - 1 - j) * c->dil;
        int fq = off >= 0 ? off / s : -((-off + s - 1) / s);
        q->jq[j] = fq;
        q->jr[j] = off - fq * s;
    }
}

/* Row of phase plane r of input channel ch, batch b, at plane index 0 (before padL). */
static inline const float *plane_row(const conv_ctx *q, int b, int ch, int r)
{
    return q->xp + (((size_t)b * q->c->ic + ch) * q->c->stride + r) * q->pl + q->padL;
}

/* A = weights of group (bb % groups): rows o, depth (c, j). */
static void pack_a_w(const void *ctx, int bb, int r0, int rn, int k0, int kc, float *dst)
{
    const conv_ctx *q = ctx;
    int kk = q->icg * q->c->k;
    nn_strided s = {q->w + (size_t)(bb % q->c->groups) * q->ocg * kk, 0, (size_t)kk, 1};
    nn_pack_a_strided(&s, 0, r0, rn, k0, kc, dst);
}

/* Value of input channel ch of batch b at time pos (negative: history or zero). */
static inline float x_at(const conv_ctx *q, int b, int ch, int pos)
{
    size_t row = (size_t)b * q->c->ic + ch;
    if (pos >= 0)
        return q->x[row * q->T + pos];
    return q->hist ? q->hist[row * q->H + q->H + pos] : 0.0f;
}

/* B = im2col: depth (c, j), column t: x[b, g*icg + c, t*s + s-1 - (k-1-j)*dil]. Full panels in the present
 * are copied from x (stride 1) or its phase planes; the rest gathers element by element. */
static void pack_b_im2col(const void *ctx, int bb, int r0, int rn, int k0, int kc, float *dst)
{
    const conv_ctx *q = ctx;
    const nn_conv1d *c = q->c;
    int b = bb / c->groups, g = bb % c->groups, s = c->stride;
    int ci = k0 / c->k, j = k0 % c->k;
    for (int kk = 0; kk < kc; kk++) {
        int ch = g * q->icg + ci;
        int off = s - 1 - (c->k - 1 - j) * c->dil;
        const float *row = s == 1 ? q->x + ((size_t)b * c->ic + ch) * q->T + q->jq[j]
                                  : q->xp ? plane_row(q, b, ch, q->jr[j]) + q->jq[j] : NULL;
        /* The next column block of this row (the next task's, in order): long rows stream from memory. */
        if (row && j == c->k - 1 && r0 + 2 * rn <= q->Tout)
            for (int e = 0; e < rn; e += 16)
                __builtin_prefetch(row + r0 + rn + e, 0, 2);
        for (int p = 0; p * NN_NR < rn; p++) {
            float *o = dst + (size_t)p * kc * NN_NR + (size_t)kk * NN_NR;
            int t0 = r0 + p * NN_NR;
            int cols = rn - p * NN_NR < NN_NR ? rn - p * NN_NR : NN_NR;
            int pos0 = t0 * s + off;
            if (row && pos0 >= 0) {
                memcpy(o, row + t0, (size_t)cols * sizeof(float));
            } else {
                for (int jj = 0; jj < cols; jj++)
                    o[jj] = x_at(q, b, ch, pos0 + jj * s);
            }
            if (cols < NN_NR)
                memset(o + cols, 0, (size_t)(NN_NR - cols) * sizeof(float));
        }
        if (++j == c->k) {
            j = 0;
            ci++;
        }
    }
}

/* ---- depthwise forward (icg == ocg == 1): y = bias, then + w[j]*x ascending j, as the GEMM chain ---- */

static void dw_row_scalar(float *restrict y, const conv_ctx *q, int b, int ch, const float *restrict w, float bias)
{
    const nn_conv1d *c = q->c;
    for (int t = 0; t < q->Tout; t++) {
        float acc = bias;
        int base = t * c->stride + c->stride - 1 - (c->k - 1) * c->dil;
        for (int j = 0; j < c->k; j++)
            acc += w[j] * x_at(q, b, ch, base + j * c->dil);
        y[t] = acc;
    }
}

#if NN_X86
__attribute__((target("avx2,fma")))
static void dw_row_avx2(float *restrict y, const conv_ctx *q, int b, int ch, const float *restrict w, float bias)
{
    const nn_conv1d *c = q->c;
    int s = c->stride, span = (c->k - 1) * c->dil;
    const float *x = q->x + ((size_t)b * c->ic + ch) * q->T;
    int t = 0;
    if (s == 1) {
        for (; t < q->Tout && t < span; t++) {
            float acc = bias;
            for (int j = 0; j < c->k; j++)
                acc = __builtin_fmaf(w[j], x_at(q, b, ch, t - span + j * c->dil), acc);
            y[t] = acc;
        }
        for (; t + 8 <= q->Tout; t += 8) {
            __m256 acc = _mm256_set1_ps(bias);
            for (int j = 0; j < c->k; j++)
                acc = _mm256_fmadd_ps(_mm256_set1_ps(w[j]), _mm256_loadu_ps(x + t - span + j * c->dil), acc);
            _mm256_storeu_ps(y + t, acc);
        }
    }
    for (; t < q->Tout; t++) {
        float acc = bias;
        int base = t * s + s - 1 - span;
        for (int j = 0; j < c->k; j++)
            acc = __builtin_fmaf(w[j], x_at(q, b, ch, base + j * c->dil), acc);
        y[t] = acc;
    }
}
#endif

/* ---- forward ---- */

#define NARROW_B_MAX 8192 /* floats of a streaming frame's compact im2col, on the stack */

/* Row r = (batch, channel) of a depthwise convolution. */
static void dw_row(float *y, const conv_ctx *q, const float *b, const float *w, int simd, long r)
{
    const nn_conv1d *c = q->c;
    int bi = (int)(r / c->oc), o = (int)(r % c->oc);
    float bias = b ? b[o] : 0.0f;
#if NN_X86
    if (simd) {
        dw_row_avx2(y + (size_t)r * q->Tout, q, bi, o, w + (size_t)o * c->k, bias);
        return;
    }
#endif
    (void)simd;
    dw_row_scalar(y + (size_t)r * q->Tout, q, bi, o, w + (size_t)o * c->k, bias);
}

void nn_conv1d_forward(float *y, const float *x, const float *hist, const float *w, const float *b,
                       const nn_conv1d *c, int B, int T)
{
    nn_conv1d_forward_packed(y, x, hist, w, (nn_packed){0}, b, c, B, T);
}

void nn_conv1d_forward_packed(float *y, const float *x, const float *hist, const float *w, nn_packed wpk,
                              const float *b, const nn_conv1d *c, int B, int T)
{
    conv_ctx q = {.c = c, .x = x, .hist = hist, .w = w, .B = B, .T = T, .Tout = T / c->stride,
                  .H = nn_conv1d_hist_len(c), .icg = c->ic / c->groups, .ocg = c->oc / c->groups};
    int simd = nn_simd_enabled();
    int par = (double)B * c->oc * q.Tout * c->k > 100000.0;
    if (q.icg == 1 && q.ocg == 1) {
        long rows = (long)B * c->oc;
        if (par) {
#pragma omp parallel for schedule(static)
            for (long r = 0; r < rows; r++)
                dw_row(y, &q, b, w, simd, r);
        } else { /* a streaming frame: no OpenMP team at all */
            for (long r = 0; r < rows; r++)
                dw_row(y, &q, b, w, simd, r);
        }
        return;
    }
    conv_taps(&q);
    float *planes = NULL;
    if (c->stride > 1 && q.Tout >= SCRATCH_MIN_T) {
        planes = nn_planes(x, (size_t)B * c->ic, T, c->stride, 0, 0, &q.pl);
        q.xp = planes;
    }
    nn_gemm g = {.batch = B * c->groups, .M = q.ocg, .N = q.Tout, .K = q.icg * c->k,
                 .pack_a = pack_a_w, .pack_b = pack_b_im2col, .actx = &q, .bctx = &q,
                 .c = y, .c_batch = (size_t)q.ocg * q.Tout, .c_row = (size_t)q.Tout, .c_col = 1,
                 .a_period = c->groups, .c_init = 1, .c_bias = b, .c_bias_period = c->groups,
                 .a_packed = wpk};
    float compact[NARROW_B_MAX];
    if (c->k == 1 && c->stride == 1) { /* pointwise: B is x itself, rows of T */
        g.b_direct = x;
        g.b_batch = (size_t)q.icg * (size_t)T;
        g.b_row = (size_t)T;
        g.b_col = 1;
    } else if (q.Tout <= NN_NARROW && (size_t)g.batch * g.K * q.Tout <= NARROW_B_MAX) {
        /* a streaming frame through a wider kernel: im2col of its few columns only, not 16-wide panels */
        size_t at = 0;
        for (int bb = 0; bb < g.batch; bb++)
            for (int kk = 0; kk < g.K; kk++) {
                int ch = (bb % c->groups) * q.icg + kk / c->k, j = kk % c->k;
                int off = c->stride - 1 - (c->k - 1 - j) * c->dil;
                for (int t = 0; t < q.Tout; t++)
                    compact[at++] = x_at(&q, bb / c->groups, ch, t * c->stride + off);
            }
        g.b_direct = compact;
        g.b_batch = (size_t)g.K * (size_t)q.Tout;
        g.b_row = (size_t)q.Tout;
        g.b_col = 1;
    }
    nn_gemm_run(&g); /* chains start at the bias: y = bias + sum, as in the depthwise kernel */
    nac_free(planes);
}

/* The forward's product with only what packing A needs. */
static nn_gemm weight_gemm(conv_ctx *q, const float *w, const nn_conv1d *c)
{
    *q = (conv_ctx){.c = c, .w = w, .icg = c->ic / c->groups, .ocg = c->oc / c->groups};
    return (nn_gemm){.batch = c->groups, .M = q->ocg, .N = 1, .K = q->icg * c->k, .pack_a = pack_a_w, .actx = q,
                     .a_period = c->groups};
}

size_t nn_conv1d_packed_floats(const nn_conv1d *c)
{
    if (c->ic / c->groups == 1 && c->oc / c->groups == 1)
        return 0;
    conv_ctx q;
    nn_gemm g = weight_gemm(&q, NULL, c);
    return nn_gemm_packed_a_floats(&g);
}

void nn_conv1d_pack_weights(float *dst, const float *w, const nn_conv1d *c)
{
    conv_ctx q;
    nn_gemm g = weight_gemm(&q, w, c);
    nn_gemm_pack_a(dst, &g);
}

void nn_conv1d_hist_update(float *hist, const float *x, const nn_conv1d *c, int B, int T)
{
    int H = nn_conv1d_hist_len(c);
    if (H == 0)
        return;
    for (long r = 0; r < (long)B * c->ic; r++) {
        float *h = hist + (size_t)r * H;
        const float *xr = x + (size_t)r * T;
        if (T >= H) {
            memcpy(h, xr + T - H, (size_t)H * sizeof(float));
        } else {
            memmove(h, h + T, (size_t)(H - T) * sizeof(float));
            memcpy(h + H - T, xr, (size_t)T * sizeof(float));
        }
    }
}

/* ---- backward: dw = dy . im2col(x)^T per group ---- */

/* A = dy of group bb: rows o, depth (b, t). */
static void pack_a_dy(const void *ctx, int g, int r0, int rn, int k0, int kc, float *dst)
{
    const conv_ctx *q = ctx;
    const nn_conv1d *c = q->c;
    for (int p = 0; p * NN_MR < rn; p++) {
        float *d = dst + (size_t)p * kc * NN_MR;
        for (int i = 0; i < NN_MR; i++) {
            int m = p * NN_MR + i;
            if (m >= rn) {
                for (int kk = 0; kk < kc; kk++)
                    d[kk * NN_MR + i] = 0.0f;
                continue;
            }
            int o = g * q->ocg + r0 + m;
            int kk = 0;
            while (kk < kc) {
                int bt = k0 + kk, bi = bt / q->Tout, t = bt % q->Tout;
                int n = q->Tout - t < kc - kk ? q->Tout - t : kc - kk;
                const float *src = q->dy + ((size_t)bi * c->oc + o) * q->Tout + t;
                for (int e = 0; e < n; e++)
                    d[(kk + e) * NN_MR + i] = src[e];
                kk += n;
            }
        }
    }
}

/* B = im2col(x)^T: depth (b, t), columns (c, j). Zero history. */
static void pack_b_col_t(const void *ctx, int g, int r0, int rn, int k0, int kc, float *dst)
{
    const conv_ctx *q = ctx;
    const nn_conv1d *c = q->c;
    int s = c->stride;
    for (int p = 0; p * NN_NR < rn; p++) {
        float *d = dst + (size_t)p * kc * NN_NR;
        for (int jj = 0; jj < NN_NR; jj++) {
            int col = r0 + p * NN_NR + jj;
            if (col >= r0 + rn) {
                for (int kk = 0; kk < kc; kk++)
                    d[kk * NN_NR + jj] = 0.0f;
                continue;
            }
            int ci = col / c->k, j = col % c->k;
            int off = s - 1 - (c->k - 1 - j) * c->dil;
            int kk = 0;
            while (kk < kc) {
                int bt = k0 + kk, bi = bt / q->Tout, t = bt % q->Tout;
                int n = q->Tout - t < kc - kk ? q->Tout - t : kc - kk;
                const float *src = q->x + ((size_t)bi * c->ic + g * q->icg + ci) * q->T;
                for (int e = 0; e < n; e++) {
                    int pos = (t + e) * s + off;
                    d[(kk + e) * NN_NR + jj] = pos >= 0 ? src[pos] : 0.0f;
                }
                kk += n;
            }
        }
    }
}

/* ---- backward: dw for stride 1 as dot products of contiguous rows (no transposes) ---- */

static const float *nt_row_dy(const void *ctx, int g, int b, int m)
{
    const conv_ctx *q = ctx;
    return q->dy + ((size_t)b * q->c->oc + (size_t)g * q->ocg + m) * q->Tout + q->t0;
}

static const float *nt_row_x(const void *ctx, int g, int b, int col)
{
    const conv_ctx *q = ctx;
    int ci = col / q->c->k, j = col % q->c->k;
    return plane_row(q, b, g * q->icg + ci, q->jr[j]) + q->jq[j] + q->t0;
}

/* (T, C) <- (C, T), in cache blocks; 8x8 register transposes on AVX2. */
#if NN_X86
__attribute__((target("avx2,fma")))
static void transpose8_avx2(float *dst, size_t ldd, const float *src, size_t lds)
{
    __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + lds), r2 = _mm256_loadu_ps(src + 2 * lds);
    __m256 r3 = _mm256_loadu_ps(src + 3 * lds), r4 = _mm256_loadu_ps(src + 4 * lds), r5 = _mm256_loadu_ps(src + 5 * lds);
    __m256 r6 = _mm256_loadu_ps(src + 6 * lds), r7 = _mm256_loadu_ps(src + 7 * lds);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3);
    __m256 t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#endif

static void transpose(float *restrict dst, const float *restrict src, int C, int T)
{
    enum { BLK = 32 };
    int simd = nn_simd_enabled();
    (void)simd;
    for (int c0 = 0; c0 < C; c0 += BLK)
        for (int t0 = 0; t0 < T; t0 += BLK) {
            int c1 = c0 + BLK < C ? c0 + BLK : C, t1 = t0 + BLK < T ? t0 + BLK : T;
            int c = c0;
#if NN_X86
            if (simd) {
                for (; c + 8 <= c1; c += 8) {
                    int t = t0;
                    for (; t + 8 <= t1; t += 8)
                        transpose8_avx2(dst + (size_t)t * C + c, (size_t)C, src + (size_t)c * T + t, (size_t)T);
                    for (; t < t1; t++)
                        for (int e = 0; e < 8; e++)
                            dst[(size_t)t * C + c + e] = src[(size_t)(c + e) * T + t];
                }
            }
#endif
            for (; c < c1; c++)
                for (int t = t0; t < t1; t++)
                    dst[(size_t)t * C + c] = src[(size_t)c * T + t];
        }
}

/* Pointwise dw = dy x^T over (b, t): with both operands transposed to (B*T, channels) once, the GEMM
 * packs contiguous runs. Returns 1 when done, 0 when out of memory. */
static int conv_dw_pointwise(float *dw, const conv_ctx *q)
{
    const nn_conv1d *c = q->c;
    int B = q->B, T = q->T;
    float *xt = nn_scratch((size_t)B * T * c->ic);
    float *dyt = nn_scratch((size_t)B * T * c->oc);
    if (!xt || !dyt) {
        nac_free(xt);
        nac_free(dyt);
        return 0;
    }
#pragma omp parallel for schedule(static) if ((double)B * T * (c->ic + c->oc) > 200000.0)
    for (int bi = 0; bi < 2 * B; bi++) {
        if (bi < B)
            transpose(xt + (size_t)bi * T * c->ic, q->x + (size_t)bi * c->ic * T, c->ic, T);
        else
            transpose(dyt + (size_t)(bi - B) * T * c->oc, q->dy + (size_t)(bi - B) * c->oc * T, c->oc, T);
    }
    nn_strided a = {dyt, 0, 1, (size_t)c->oc}; /* A(o, k) = dyt[k*OC + o] */
    nn_strided bx = {xt, 0, 1, (size_t)c->ic}; /* B(k, i) = xt[k*IC + i] */
    nn_gemm g = {.batch = 1, .M = c->oc, .N = c->ic, .K = B * T, .pack_a = nn_pack_a_strided,
                 .pack_b = nn_pack_b_strided, .actx = &a, .bctx = &bx, .c = dw, .c_batch = 0,
                 .c_row = (size_t)c->ic, .c_col = 1};
    nn_gemm_run(&g);
    nac_free(xt);
    nac_free(dyt);
    return 1;
}

/* dw over output frames t < H (stride 1): tap j pairs dy[t] with x[t - d], d = (k-1-j)*dil, from t = d on. */
static void conv_dw_head(float *dw, const conv_ctx *q)
{
    const nn_conv1d *c = q->c;
    for (int g = 0; g < c->groups; g++)
        for (int m = 0; m < q->ocg; m++)
            for (int ci = 0; ci < q->icg; ci++)
                for (int j = 0; j < c->k; j++) {
                    int d = (c->k - 1 - j) * c->dil;
                    double tot = 0.0;
                    for (int b = 0; b < q->B; b++) {
                        const float *dy = q->dy + ((size_t)b * c->oc + (size_t)g * q->ocg + m) * q->Tout;
                        const float *x = q->x + ((size_t)b * c->ic + (size_t)g * q->icg + ci) * q->T;
                        for (int t = d; t < q->H; t++)
                            tot += (double)dy[t] * x[t - d];
                    }
                    dw[(((size_t)g * q->ocg + m) * q->icg + ci) * c->k + j] += (float)tot;
                }
}

/* dw as dot products over t of dy rows and (planed, zero-padded) x rows. Returns 1 when done, 0 when out
 * of memory (the caller falls back to the packed GEMM). */
static int conv_dw_nt(float *dw, const conv_ctx *q0)
{
    conv_ctx q = *q0;
    const nn_conv1d *c = q.c;
    int s = c->stride;
    float *planes = NULL;
    q.padL = (q.H + s - 1) / s;
    if (s == 1 && q.H > 0 && q.Tout >= 256 * q.H) {
        /* Long rows: the dot products start at frame H, where every tap is in the present, and the few frames
         * before it are summed here; no zero-padded copy of x. */
        q.xp = q.x;
        q.pl = q.T;
        q.padL = 0;
        q.t0 = q.H;
        conv_dw_head(dw, &q);
    } else if (s == 1 && q.H == 0) {
        q.xp = q.x;
        q.pl = q.T;
    } else {
        planes = nn_planes(q.x, (size_t)q.B * c->ic, q.T, s, q.padL, 0, &q.pl);
        if (!planes)
            return 0;
        q.xp = planes;
    }
    conv_taps(&q);
    nn_gemm_nt g = {.groups = c->groups, .M = q.ocg, .N = q.icg * c->k, .B = q.B, .T = q.Tout - q.t0,
                    .a_row = nt_row_dy, .b_row = nt_row_x, .ctx = &q, .c = dw,
                    .c_group = (size_t)q.ocg * q.icg * c->k, .c_row = (size_t)q.icg * c->k};
    nn_gemm_nt_run(&g);
    nac_free(planes);
    return 1;
}

/* ---- backward: dx phase r' = W^T (gathered taps) . dy ---- */

static void pack_a_wt(const void *ctx, int bb, int r0, int rn, int k0, int kc, float *dst)
{
    const conv_ctx *q = ctx;
    const nn_conv1d *c = q->c;
    int g = bb % c->groups;
    for (int p = 0; p * NN_MR < rn; p++) {
        float *d = dst + (size_t)p * kc * NN_MR;
        for (int kk = 0; kk < kc; kk++) {
            int o = (k0 + kk) / q->nj, jx = (k0 + kk) % q->nj;
            const float *src = q->w + ((size_t)(g * q->ocg + o) * q->icg) * c->k + q->j[jx];
            for (int i = 0; i < NN_MR; i++) {
                int m = p * NN_MR + i;
                d[kk * NN_MR + i] = m < rn ? src[(size_t)(r0 + m) * c->k] : 0.0f;
            }
        }
    }
}

static void pack_b_dy_taps(const void *ctx, int bb, int r0, int rn, int k0, int kc, float *dst)
{
    const conv_ctx *q = ctx;
    const nn_conv1d *c = q->c;
    int b = bb / c->groups, g = bb % c->groups;
    int o = k0 / q->nj, jx = k0 % q->nj;
    for (int kk = 0; kk < kc; kk++) {
        const float *src = q->dy + ((size_t)b * c->oc + g * q->ocg + o) * q->Tout;
        if (jx == q->nj - 1 && r0 + 2 * rn <= q->Tout) /* as in pack_b_im2col */
            for (int e = 0; e < rn; e += 16)
                __builtin_prefetch(src + r0 + rn + e, 0, 2);
        for (int p = 0; p * NN_NR < rn; p++) {
            float *out = dst + (size_t)p * kc * NN_NR + (size_t)kk * NN_NR;
            int t = r0 + p * NN_NR + q->off[jx];
            int cols = rn - p * NN_NR < NN_NR ? rn - p * NN_NR : NN_NR;
            if (cols == NN_NR && t + NN_NR <= q->Tout) {
                memcpy(out, src + t, NN_NR * sizeof(float));
            } else {
                for (int e = 0; e < NN_NR; e++)
                    out[e] = e < cols && t + e < q->Tout ? src[t + e] : 0.0f;
            }
        }
        if (++jx == q->nj) {
            jx = 0;
            o++;
        }
    }
}

/* Depthwise dx and dw, one channel row at a time. */
static void dw_backward_row(float *dx, float *dw, const conv_ctx *q, int ch, const float *w)
{
    const nn_conv1d *c = q->c;
    int s = c->stride, span = (c->k - 1) * c->dil;
    for (int j = 0; j < c->k && dw; j++) {
        double tot = 0.0;
        int off = s - 1 - span + j * c->dil;
        for (int bi = 0; bi < q->B; bi++) {
            const float *x = q->x + ((size_t)bi * c->ic + ch) * q->T;
            const float *dy = q->dy + ((size_t)bi * c->oc + ch) * q->Tout;
            float acc[8] = {0};
            int t = 0;
            while (t < q->Tout && t * s + off < 0)
                t++;
            for (; t + 8 <= q->Tout; t += 8)
                for (int e = 0; e < 8; e++)
                    acc[e] += dy[t + e] * x[(t + e) * s + off];
            for (; t < q->Tout; t++)
                acc[t & 7] += dy[t] * x[t * s + off];
            for (int e = 0; e < 8; e++)
                tot += acc[e];
        }
        dw[j] += (float)tot;
    }
    if (!dx)
        return;
    for (int bi = 0; bi < q->B; bi++) {
        float *dxr = dx + ((size_t)bi * c->ic + ch) * q->T;
        const float *dy = q->dy + ((size_t)bi * c->oc + ch) * q->Tout;
        if (s == 1) {
            for (int u = 0; u < q->T; u++) {
                float acc = 0.0f;
                for (int j = 0; j < c->k; j++) {
                    int t = u + span - j * c->dil;
                    if (t < q->Tout)
                        acc += w[j] * dy[t];
                }
                dxr[u] += acc;
            }
        } else {
            for (int t = 0; t < q->Tout; t++)
                for (int j = 0; j < c->k; j++) {
                    int pos = t * s + s - 1 - span + j * c->dil;
                    if (pos >= 0)
                        dxr[pos] += w[j] * dy[t];
                }
        }
    }
}

#if NN_X86
__attribute__((target("avx2,fma"))) static inline double hsum8d(__m256 v)
{
    float l[8];
    _mm256_storeu_ps(l, v);
    return (((double)l[0] + l[4]) + ((double)l[2] + l[6])) + (((double)l[1] + l[5]) + ((double)l[3] + l[7]));
}

/* Depthwise dx and dw for stride 1, one channel. */
__attribute__((target("avx2,fma")))
static void dw_backward_row_avx2(float *dx, float *dw, const conv_ctx *q, int ch, const float *w)
{
    const nn_conv1d *c = q->c;
    int T = q->T, span = (c->k - 1) * c->dil;
    for (int j = 0; j < c->k && dw; j++) {
        int d = span - j * c->dil; /* tap j pairs dy[t] with x[t - d] */
        double tot = 0.0;
        for (int bi = 0; bi < q->B; bi++) {
            const float *x = q->x + ((size_t)bi * c->ic + ch) * T - d;
            const float *dy = q->dy + ((size_t)bi * c->oc + ch) * T;
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
            int t = d;
            for (; t + 16 <= T; t += 16) {
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(dy + t), _mm256_loadu_ps(x + t), a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(dy + t + 8), _mm256_loadu_ps(x + t + 8), a1);
            }
            double tail = 0.0;
            for (; t < T; t++)
                tail += (double)dy[t] * x[t];
            tot += hsum8d(_mm256_add_ps(a0, a1)) + tail;
        }
        dw[j] += (float)tot;
    }
    if (!dx)
        return;
    for (int bi = 0; bi < q->B; bi++) {
        float *dxr = dx + ((size_t)bi * c->ic + ch) * T;
        const float *dy = q->dy + ((size_t)bi * c->oc + ch) * T;
        int u = 0;
        for (; u + 8 + span <= T; u += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (int j = 0; j < c->k; j++)
                acc = _mm256_fmadd_ps(_mm256_set1_ps(w[j]), _mm256_loadu_ps(dy + u + span - j * c->dil), acc);
            _mm256_storeu_ps(dxr + u, _mm256_add_ps(_mm256_loadu_ps(dxr + u), acc));
        }
        for (; u < T; u++) {
            float acc = 0.0f;
            for (int j = 0; j < c->k; j++) {
                int t = u + span - j * c->dil;
                if (t < T)
                    acc = __builtin_fmaf(w[j], dy[t], acc);
            }
            dxr[u] += acc;
        }
    }
}
#endif

void nn_conv1d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                        const nn_conv1d *c, int B, int T)
{
    conv_ctx q = {.c = c, .x = x, .hist = NULL, .w = w, .dy = dy, .B = B, .T = T, .Tout = T / c->stride,
                  .H = nn_conv1d_hist_len(c), .icg = c->ic / c->groups, .ocg = c->oc / c->groups};
    int par = (double)B * c->oc * q.Tout * c->k > 100000.0;
    int simd = nn_simd_enabled();
    (void)simd;
    if (db) {
#pragma omp parallel for schedule(static) if (par)
        for (int o = 0; o < c->oc; o++) {
            double tot = 0.0;
            for (int bi = 0; bi < B; bi++) {
                tot += nn_sum_d(dy + ((size_t)bi * c->oc + o) * q.Tout, (size_t)q.Tout);
            }
            db[o] += (float)tot;
        }
    }
    if (q.icg == 1 && q.ocg == 1) {
#pragma omp parallel for schedule(static) if (par)
        for (int ch = 0; ch < c->oc; ch++) {
#if NN_X86
            if (simd && c->stride == 1) {
                dw_backward_row_avx2(dx, dw ? dw + (size_t)ch * c->k : NULL, &q, ch, w + (size_t)ch * c->k);
                continue;
            }
#endif
            dw_backward_row(dx, dw ? dw + (size_t)ch * c->k : NULL, &q, ch, w + (size_t)ch * c->k);
        }
        return;
    }
    /* Short rows make the dot products' per-call overhead dominate: transpose instead (measured). */
    if (dw && c->k == 1 && c->stride == 1 && c->groups == 1 && T < 256 && conv_dw_pointwise(dw, &q))
        dw = NULL;
    if (dw && c->k <= 256 && conv_dw_nt(dw, &q))
        dw = NULL;
    if (dw) {
        nn_gemm g = {.batch = c->groups, .M = q.ocg, .N = q.icg * c->k, .K = B * q.Tout,
                     .pack_a = pack_a_dy, .pack_b = pack_b_col_t, .actx = &q, .bctx = &q,
                     .c = dw, .c_batch = (size_t)q.ocg * q.icg * c->k, .c_row = (size_t)q.icg * c->k, .c_col = 1};
        nn_gemm_run(&g);
    }
    if (!dx)
        return;
    int s = c->stride;
    for (int ph = 0; ph < s; ph++) {
        conv_ctx qp = q;
        qp.phase = ph;
        qp.nj = 0;
        for (int j = 0; j < c->k && qp.nj < 256; j++) {
            int num = ph + 1 - s + (c->k - 1 - j) * c->dil;
            if (num % s == 0) {
                qp.j[qp.nj] = j;
                qp.off[qp.nj] = num / s;
                qp.nj++;
            }
        }
        if (qp.nj == 0)
            continue;
        nn_gemm g = {.batch = B * c->groups, .M = q.icg, .N = q.Tout, .K = q.ocg * qp.nj,
                     .pack_a = pack_a_wt, .pack_b = pack_b_dy_taps, .actx = &qp, .bctx = &qp,
                     .c = dx + ph, .c_batch = (size_t)q.icg * T, .c_row = (size_t)T, .c_col = (size_t)s,
                     .a_period = c->groups};
        nn_gemm_run(&g);
    }
}
