/* Blocked GEMM with packed panels (Goto/van de Geijn layout): a 6x16 register micro-tile,
 * AVX2+FMA kernel beside a portable one. See gemm.h for the fixed accumulation order. */
#include "nn/gemm.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "format/weights.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define NN_X86 1
#else
#define NN_X86 0
#endif

/* A panel of NN_MR rows is read as 8 floats by the narrow kernel: packed A is followed by this many
 * floats of slack (counted in nn_gemm_packed_a_floats), whose products land in lanes never stored. */
#define NARROW_SLACK 8

/* ---- dispatch ---- */

static int simd_state = -1; /* -1 unknown, 0 off, 1 on */
static int simd_allowed = 1;

int nn_simd_enabled(void)
{
    if (simd_state < 0) {
#if NN_X86
        __builtin_cpu_init();
        unsigned a, b, c, d; /* F16C: CPUID leaf 1, ECX bit 29 (clang's builtin does not name it) */
        int f16c = __get_cpuid(1, &a, &b, &c, &d) && (c >> 29 & 1);
        simd_state = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
#else
        simd_state = 0;
#endif
    }
    return simd_state && simd_allowed;
}

void nn_simd_set(int enable) { simd_allowed = enable != 0; }

/* ---- half floats (packed weights of f16 models) ---- */

#if NN_X86
__attribute__((target("avx2,f16c")))
static void half_to_float_f16c(float *dst, const uint16_t *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++)
        dst[i] = nac_f16_to_f32(src[i]);
}
#endif

static void half_to_float(float *dst, const uint16_t *src, size_t n)
{
#if NN_X86
    if (nn_simd_enabled()) {
        half_to_float_f16c(dst, src, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++)
        dst[i] = nac_f16_to_f32(src[i]);
}

int nn_pack_to_half(uint16_t *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dst[i] = nac_f32_to_f16(src[i]);
        if (nac_f16_to_f32(dst[i]) != src[i] || (src[i] == 0.0f && (signbit(src[i]) != 0) != (dst[i] >> 15 != 0)))
            return 0;
    }
    return 1;
}

/* ---- micro-kernels: c (6 x 16, row stride ldc) += a panel (kc x 6) * b panel (kc x 16) ---- */

static void kern_scalar(int kc, const float *restrict a, const float *restrict b, float *restrict c, size_t ldc,
                        const float *init)
{
    float acc[NN_MR][NN_NR];
    for (int i = 0; i < NN_MR; i++)
        for (int j = 0; j < NN_NR; j++)
            acc[i][j] = init ? init[i] : c[i * ldc + j];
    for (int k = 0; k < kc; k++) {
        for (int i = 0; i < NN_MR; i++) {
            float ai = a[k * NN_MR + i];
            for (int j = 0; j < NN_NR; j++)
                acc[i][j] += ai * b[k * NN_NR + j];
        }
    }
    for (int i = 0; i < NN_MR; i++)
        for (int j = 0; j < NN_NR; j++)
            c[i * ldc + j] = acc[i][j];
}

#if NN_X86
__attribute__((target("avx2,fma")))
static void kern_avx2(int kc, const float *restrict a, const float *restrict b, float *restrict c, size_t ldc,
                      const float *init)
{
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (init) {
        c00 = c01 = _mm256_broadcast_ss(init + 0);
        c10 = c11 = _mm256_broadcast_ss(init + 1);
        c20 = c21 = _mm256_broadcast_ss(init + 2);
        c30 = c31 = _mm256_broadcast_ss(init + 3);
        c40 = c41 = _mm256_broadcast_ss(init + 4);
        c50 = c51 = _mm256_broadcast_ss(init + 5);
    } else {
        c00 = _mm256_loadu_ps(c + 0 * ldc), c01 = _mm256_loadu_ps(c + 0 * ldc + 8);
        c10 = _mm256_loadu_ps(c + 1 * ldc), c11 = _mm256_loadu_ps(c + 1 * ldc + 8);
        c20 = _mm256_loadu_ps(c + 2 * ldc), c21 = _mm256_loadu_ps(c + 2 * ldc + 8);
        c30 = _mm256_loadu_ps(c + 3 * ldc), c31 = _mm256_loadu_ps(c + 3 * ldc + 8);
        c40 = _mm256_loadu_ps(c + 4 * ldc), c41 = _mm256_loadu_ps(c + 4 * ldc + 8);
        c50 = _mm256_loadu_ps(c + 5 * ldc), c51 = _mm256_loadu_ps(c + 5 * ldc + 8);
    }
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        __m256 av;
        av = _mm256_broadcast_ss(a + 0);
        c00 = _mm256_fmadd_ps(av, b0, c00);
        c01 = _mm256_fmadd_ps(av, b1, c01);
        av = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(av, b0, c10);
        c11 = _mm256_fmadd_ps(av, b1, c11);
        av = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(av, b0, c20);
        c21 = _mm256_fmadd_ps(av, b1, c21);
        av = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(av, b0, c30);
        c31 = _mm256_fmadd_ps(av, b1, c31);
        av = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(av, b0, c40);
        c41 = _mm256_fmadd_ps(av, b1, c41);
        av = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(av, b0, c50);
        c51 = _mm256_fmadd_ps(av, b1, c51);
        a += NN_MR;
        b += NN_NR;
    }
    _mm256_storeu_ps(c + 0 * ldc, c00), _mm256_storeu_ps(c + 0 * ldc + 8, c01);
    _mm256_storeu_ps(c + 1 * ldc, c10), _mm256_storeu_ps(c + 1 * ldc + 8, c11);
    _mm256_storeu_ps(c + 2 * ldc, c20), _mm256_storeu_ps(c + 2 * ldc + 8, c21);
    _mm256_storeu_ps(c + 3 * ldc, c30), _mm256_storeu_ps(c + 3 * ldc + 8, c31);
    _mm256_storeu_ps(c + 4 * ldc, c40), _mm256_storeu_ps(c + 4 * ldc + 8, c41);
    _mm256_storeu_ps(c + 5 * ldc, c50), _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}

/* The first R rows of the tile only (R < 6, an edge tile in place): the same chains as kern_avx2. */
__attribute__((target("avx2,fma"), always_inline))
static inline void kern_avx2_rows(int kc, const float *restrict a, const float *restrict b, float *restrict c,
                                  size_t ldc, const float *init, const int R)
{
    __m256 acc[NN_MR - 1][2];
    for (int i = 0; i < R; i++) {
        if (init) {
            acc[i][0] = acc[i][1] = _mm256_broadcast_ss(init + i);
        } else {
            acc[i][0] = _mm256_loadu_ps(c + i * ldc);
            acc[i][1] = _mm256_loadu_ps(c + i * ldc + 8);
        }
    }
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        for (int i = 0; i < R; i++) {
            __m256 av = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(av, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(av, b1, acc[i][1]);
        }
        a += NN_MR;
        b += NN_NR;
    }
    for (int i = 0; i < R; i++) {
        _mm256_storeu_ps(c + i * ldc, acc[i][0]);
        _mm256_storeu_ps(c + i * ldc + 8, acc[i][1]);
    }
}

/* Tiles of at most NARROW columns (streaming calls: one frame is 1 to 4 columns), any strides: rows
 * in the lanes of one register per column, so the work is rows x cols, not 6 x 16. P row panels run
 * side by side so that P x cols independent chains hide the latency of the fused multiply-add (one
 * chain alone waits on it at every k). Each element is the same chain, in the same k order, as
 * kern_avx2 gives it. Panel p's A is at a + p * astride, its C rows at c + p * NN_MR * ldc, its
 * initial values (or NULL: C's own) at init + p * NN_MR; panel P-1 has `last_rows` rows. B(k, j) is at
 * b + k * brow + j * bcol (a packed panel: brow NN_NR, bcol 1). */
#define NARROW NN_NARROW
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void narrow_panels(int P, int half, int kc, const void *restrict a, size_t astride,
                                 const float *restrict b, size_t brow, size_t bcol, float *restrict c, size_t ldc,
                                 size_t cstride, const float *init, int last_rows, int cols)
{
    __m256 acc[8][NARROW], bv[NARROW];
    float lane[8] __attribute__((aligned(32)));
    for (int p = 0; p < P; p++) {
        int rows = p == P - 1 ? last_rows : NN_MR;
        for (int j = 0; j < cols; j++) {
            for (int i = 0; i < 8; i++)
                lane[i] = i < rows ? (init ? init[p * NN_MR + i] : c[(p * NN_MR + i) * ldc + j * cstride]) : 0.0f;
            acc[p][j] = _mm256_load_ps(lane);
        }
    }
    for (int k = 0; k < kc; k++) {
        for (int j = 0; j < cols; j++)
            bv[j] = _mm256_broadcast_ss(b + (size_t)j * bcol);
        for (int p = 0; p < P; p++) {
            /* lanes 6, 7: the next rows, ignored */
            __m256 av = half ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)a + p * astride)))
                             : _mm256_loadu_ps((const float *)a + p * astride);
            for (int j = 0; j < cols; j++)
                acc[p][j] = _mm256_fmadd_ps(av, bv[j], acc[p][j]);
        }
        a = half ? (const void *)((const uint16_t *)a + NN_MR) : (const void *)((const float *)a + NN_MR);
        b += brow;
    }
    for (int p = 0; p < P; p++) {
        int rows = p == P - 1 ? last_rows : NN_MR;
        for (int j = 0; j < cols; j++) {
            _mm256_store_ps(lane, acc[p][j]);
            for (int i = 0; i < rows; i++)
                c[(p * NN_MR + i) * ldc + j * cstride] = lane[i];
        }
    }
}

/* Panels per call for a column count: as many chains as the 16 registers hold. */
static int narrow_group(int cols) { return cols <= 1 ? 8 : cols == 2 ? 5 : cols == 3 ? 3 : 2; }

#define NARROW_CASE(P, C)                                                                                       \
    case P * 8 + C:                                                                                            \
        if (half)                                                                                              \
            narrow_panels(P, 1, kc, a, astride, b, brow, bcol, c, ldc, cstride, init, last_rows, C);           \
        else                                                                                                   \
            narrow_panels(P, 0, kc, a, astride, b, brow, bcol, c, ldc, cstride, init, last_rows, C);           \
        break;

/* Every (panels, columns, element type) a constant: the accumulators stay in registers. */
__attribute__((target("avx2,fma,f16c")))
static void kern_avx2_narrow(int P, int half, int kc, const void *a, size_t astride, const float *b, size_t brow,
                             size_t bcol, float *c, size_t ldc, size_t cstride, const float *init, int last_rows,
                             int cols)
{
    switch (P * 8 + cols) {
        NARROW_CASE(1, 1)
        NARROW_CASE(2, 1)
        NARROW_CASE(3, 1)
        NARROW_CASE(4, 1)
        NARROW_CASE(5, 1)
        NARROW_CASE(6, 1)
        NARROW_CASE(7, 1)
        NARROW_CASE(8, 1)
        NARROW_CASE(1, 2)
        NARROW_CASE(2, 2)
        NARROW_CASE(3, 2)
        NARROW_CASE(4, 2)
        NARROW_CASE(5, 2)
        NARROW_CASE(1, 3)
        NARROW_CASE(2, 3)
        NARROW_CASE(3, 3)
        NARROW_CASE(1, 4)
        NARROW_CASE(2, 4)
    default: break;
    }
}

__attribute__((target("avx2,fma")))
static void kern_avx2_part(int kc, const float *a, const float *b, float *c, size_t ldc, const float *init, int rows)
{
    switch (rows) {
    case 1: kern_avx2_rows(kc, a, b, c, ldc, init, 1); break;
    case 2: kern_avx2_rows(kc, a, b, c, ldc, init, 2); break;
    case 3: kern_avx2_rows(kc, a, b, c, ldc, init, 3); break;
    case 4: kern_avx2_rows(kc, a, b, c, ldc, init, 4); break;
    default: kern_avx2_rows(kc, a, b, c, ldc, init, 5); break;
    }
}
#endif

typedef void (*kern_fn)(int, const float *, const float *, float *, size_t, const float *);

/* ---- driver ---- */

/* One task: batch b, rows [m_lo, m_hi) (whole NN_MC tiles), columns [n0, n0 + NN_NC) of C, all of K.
 * apk: A pre-packed for this batch (see nn_gemm_run) or NULL to pack here. */
static void gemm_task(const nn_gemm *g, kern_fn kern, int b, int m_lo, int m_hi, int n0, nn_packed apk, int Mp,
                      float *abuf, float *bbuf)
{
    int nc = g->N - n0 < NN_NC ? g->N - n0 : NN_NC;
    float *cb = g->c + (size_t)b * g->c_batch;
    float tile[NN_MR * NN_NR] __attribute__((aligned(64)));
    float initv[NN_MR];
    const float *bias_b = g->c_bias ? g->c_bias + (size_t)(b % (g->c_bias_period > 0 ? g->c_bias_period : 1)) * g->M
                                    : NULL;
#if NN_X86
    int narrow = nc <= NARROW && kern == kern_avx2;
#else
    int narrow = 0;
#endif
    int direct = narrow && g->b_direct; /* B read in place: nothing to pack */
    for (int k0 = 0; k0 < g->K; k0 += NN_KC) {
        int kc = g->K - k0 < NN_KC ? g->K - k0 : NN_KC;
        if (!direct)
            g->pack_b(g->bctx, b, n0, nc, k0, kc, bbuf);
        for (int m0 = m_lo; m0 < m_hi; m0 += NN_MC) {
            int mc = m_hi - m0 < NN_MC ? m_hi - m0 : NN_MC;
            const float *ablk = abuf;
            const void *anar;  /* what the narrow kernel reads: halves in place, or floats */
            int ahalf = 0;
            size_t aoff = (size_t)k0 * Mp + (size_t)m0 * kc;
            if (apk.data && apk.half && narrow) {
                ahalf = 1;
            } else if (apk.data && apk.half) {
                half_to_float(abuf, (const uint16_t *)apk.data + aoff, (size_t)((mc + NN_MR - 1) / NN_MR * NN_MR) * kc);
            } else if (apk.data) {
                ablk = (const float *)apk.data + aoff;
            } else {
                g->pack_a(g->actx, b, m0, mc, k0, kc, abuf);
            }
            anar = ahalf ? (const void *)((const uint16_t *)apk.data + aoff) : (const void *)ablk;
            for (int jp = 0; jp * NN_NR < nc; jp++) {
                int cols = nc - jp * NN_NR < NN_NR ? nc - jp * NN_NR : NN_NR;
                const float *bp = bbuf + (size_t)jp * kc * NN_NR;
#if NN_X86
                if (cols <= NARROW && kern == kern_avx2) {
                    int npan = (mc + NN_MR - 1) / NN_MR, group = narrow_group(cols);
                    for (int ip = 0; ip < npan; ip += group) {
                        int P = npan - ip < group ? npan - ip : group;
                        int r0 = m0 + ip * NN_MR, last_rows = mc - (ip + P - 1) * NN_MR;
                        float *cp = cb + (size_t)r0 * g->c_row + (size_t)(n0 + jp * NN_NR) * g->c_col;
                        float initp[8 * NN_MR];
                        const float *init = NULL;
                        if (g->c_init && k0 == 0) {
                            for (int i = 0; i < P * NN_MR; i++)
                                initp[i] = g->c_bias && r0 + i < m0 + mc ? bias_b[r0 + i] : 0.0f;
                            init = initp;
                        }
                        const float *bq = bp;
                        size_t brow = NN_NR, bcol = 1;
                        if (direct) {
                            bq = g->b_direct + (size_t)b * g->b_batch + (size_t)k0 * g->b_row + (size_t)n0 * g->b_col;
                            brow = g->b_row;
                            bcol = g->b_col;
                        }
                        size_t apan = (size_t)ip * kc * NN_MR;
                        const void *ap = ahalf ? (const void *)((const uint16_t *)anar + apan)
                                               : (const void *)((const float *)anar + apan);
                        kern_avx2_narrow(P, ahalf, kc, ap, (size_t)kc * NN_MR, bq, brow, bcol, cp, g->c_row, g->c_col,
                                         init, last_rows > NN_MR ? NN_MR : last_rows, cols);
                    }
                    continue;
                }
#endif
                for (int ip = 0; ip * NN_MR < mc; ip++) {
                    int rows = mc - ip * NN_MR < NN_MR ? mc - ip * NN_MR : NN_MR;
                    const float *ap = ablk + (size_t)ip * kc * NN_MR;
                    float *cp = cb + (size_t)(m0 + ip * NN_MR) * g->c_row + (size_t)(n0 + jp * NN_NR) * g->c_col;
                    const float *init = NULL;
                    if (g->c_init && k0 == 0) {
                        for (int i = 0; i < NN_MR; i++)
                            initv[i] = g->c_bias && i < rows ? bias_b[m0 + ip * NN_MR + i] : 0.0f;
                        init = initv;
                    }
                    if (rows == NN_MR && (ip + 1) * NN_MR < mc && g->c_col == 1) {
                        /* The next tile's rows of C: fetched while this one computes. */
                        const float *nx = cp + NN_MR * g->c_row;
                        for (int i = 0; i < NN_MR; i++) {
                            __builtin_prefetch(nx + i * g->c_row, 1);
                            __builtin_prefetch(nx + i * g->c_row + NN_NR - 1, 1);
                        }
                    }
                    if (rows == NN_MR && cols == NN_NR && g->c_col == 1) {
                        kern(kc, ap, bp, cp, g->c_row, init);
#if NN_X86
                    } else if (cols == NN_NR && g->c_col == 1 && kern == kern_avx2) {
                        kern_avx2_part(kc, ap, bp, cp, g->c_row, init, rows);
#endif
                    } else {
                        /* Edge or strided tile: the same kernel on a copy, so every element sees the same chain. */
                        memset(tile, 0, sizeof tile);
                        if (!init)
                            for (int i = 0; i < rows; i++)
                                for (int j = 0; j < cols; j++)
                                    tile[i * NN_NR + j] = cp[i * g->c_row + j * g->c_col];
                        kern(kc, ap, bp, tile, NN_NR, init);
                        for (int i = 0; i < rows; i++)
                            for (int j = 0; j < cols; j++)
                                cp[i * g->c_row + j * g->c_col] = tile[i * NN_NR + j];
                    }
                }
            }
        }
    }
}

size_t nn_gemm_packed_a_floats(const nn_gemm *g)
{
    size_t Mp = (size_t)(g->M + NN_MR - 1) / NN_MR * NN_MR;
    return (size_t)(g->a_period > 0 ? g->a_period : 1) * Mp * (size_t)g->K + NARROW_SLACK;
}

void nn_gemm_pack_a(float *dst, const nn_gemm *g)
{
    int Mp = (g->M + NN_MR - 1) / NN_MR * NN_MR, period = g->a_period > 0 ? g->a_period : 1;
    int mtiles = (g->M + NN_MC - 1) / NN_MC, kb = (g->K + NN_KC - 1) / NN_KC;
    /* Serial: it is cheap, and every parallel region is a barrier that costs dearly on a shared machine. */
    for (long job = 0; job < (long)period * mtiles * kb; job++) {
        int pi = (int)(job / ((long)mtiles * kb)), rem = (int)(job % ((long)mtiles * kb));
        int m0 = (rem / kb) * NN_MC, k0 = (rem % kb) * NN_KC;
        int mc = g->M - m0 < NN_MC ? g->M - m0 : NN_MC, kc = g->K - k0 < NN_KC ? g->K - k0 : NN_KC;
        g->pack_a(g->actx, pi, m0, mc, k0, kc, dst + (size_t)pi * Mp * g->K + (size_t)k0 * Mp + (size_t)m0 * kc);
    }
    memset(dst + nn_gemm_packed_a_floats(g) - NARROW_SLACK, 0, NARROW_SLACK * sizeof *dst);
}

/* How nn_gemm_run splits a product into tasks: (batch, row chunk, column tile). */
typedef struct gemm_plan {
    kern_fn kern;
    nn_packed apk; /* packed A of every period, or none */
    int period, Mp, mtiles, mchunks, nt;
} gemm_plan;

static void plan_task(const nn_gemm *g, const gemm_plan *pl, long task, float *abuf, float *bbuf)
{
    int b = (int)(task / ((long)pl->mchunks * pl->nt));
    int rem = (int)(task % ((long)pl->mchunks * pl->nt));
    int ch = rem / pl->nt, n0 = (rem % pl->nt) * NN_NC;
    int m_lo = (int)((long)pl->mtiles * ch / pl->mchunks) * NN_MC;
    int m_hi = (int)((long)pl->mtiles * (ch + 1) / pl->mchunks) * NN_MC;
    if (m_hi > g->M)
        m_hi = g->M;
    nn_packed ap = pl->apk;
    if (ap.data) {
        size_t off = (size_t)(b % pl->period) * pl->Mp * g->K;
        ap.data = ap.half ? (const void *)((const uint16_t *)ap.data + off) : (const void *)((const float *)ap.data + off);
    }
    gemm_task(g, pl->kern, b, m_lo, m_hi, n0, ap, pl->Mp, abuf, bbuf);
}

void nn_gemm_run(const nn_gemm *g)
{
    if (g->batch <= 0 || g->M <= 0 || g->N <= 0 || g->K <= 0)
        return;
    kern_fn kern = kern_scalar;
#if NN_X86
    if (nn_simd_enabled())
        kern = kern_avx2;
#endif
    double work = (double)g->batch * g->M * g->N * g->K;
    int par = work > 200000.0;
    int mtiles = (g->M + NN_MC - 1) / NN_MC, nt = (g->N + NN_NC - 1) / NN_NC;
    int Mp = (g->M + NN_MR - 1) / NN_MR * NN_MR;

    /* Batch-independent A (weights): packed once, as [period][k block][row panels] so a task finds the
     * panels of rows m0.. of block k0 at k0*Mp + m0*kc; given by the caller, or packed here when A is
     * used by more than one task (a short streaming call then allocates nothing). Without memory,
     * tasks pack their own. */
    float *apk = NULL;
    nn_packed apk_use = {0};
    int period = g->a_period;
    if (period > 0 && g->a_packed.data) {
        apk_use = g->a_packed;
    } else if (period > 0 && (g->batch > period || nt > 1)) {
        apk = nn_scratch(nn_gemm_packed_a_floats(g));
        if (apk)
            nn_gemm_pack_a(apk, g);
        apk_use.data = apk;
    }

    /* Tasks: (batch, row chunk, column tile); rows are split only as far as needed for enough tasks.
     * Any split gives the same values: every element's chain is fixed. */
    int mchunks = 1;
    while ((long)g->batch * nt * mchunks < 8 && mchunks < mtiles)
        mchunks++;
    gemm_plan pl = {kern, apk_use, period, Mp, mtiles, mchunks, nt};
    long ntask = (long)g->batch * mchunks * nt;
    if (par && ntask > 1) {
#pragma omp parallel
        {
            float abuf[NN_MC * NN_KC + NARROW_SLACK] __attribute__((aligned(64)));
            float bbuf[NN_NC * NN_KC] __attribute__((aligned(64)));
#pragma omp for schedule(dynamic, 1)
            for (long task = 0; task < ntask; task++)
                plan_task(g, &pl, task, abuf, bbuf);
        }
    } else { /* one task or a small product (a streaming frame): no OpenMP team at all */
        float abuf[NN_MC * NN_KC + NARROW_SLACK] __attribute__((aligned(64)));
        float bbuf[NN_NC * NN_KC] __attribute__((aligned(64)));
        for (long task = 0; task < ntask; task++)
            plan_task(g, &pl, task, abuf, bbuf);
    }
    nac_free(apk);
}

/* ---- dot-product products (both operands contiguous along t) ---- */

#define NT_MR 4   /* rows per micro-tile */
#define NT_NR 3   /* columns per micro-tile */
#define NT_MB 32  /* rows per task */
#define NT_NB 24  /* columns per task */
#define NT_TB 256 /* t per block (a multiple of 8, so lanes keep their t mod 8 whatever the block) */
#define NT_ACC (NT_MR * NT_NR * 8)

/* acc[(i*NT_NR + j)*8 + l] += sum over t = l mod 8 of a[i][t] b[j][t]: lane sums kept across calls. */
typedef void (*dot_fn)(int len, const float *const *a, const float *const *b, float *acc);

static void dot_scalar(int len, const float *const *a, const float *const *b, float *acc)
{
    for (int i = 0; i < NT_MR; i++)
        for (int j = 0; j < NT_NR; j++) {
            float *lane = acc + (i * NT_NR + j) * 8;
            for (int t = 0; t < len; t++)
                lane[t & 7] += a[i][t] * b[j][t];
        }
}

#if NN_X86
__attribute__((target("avx2,fma")))
static void dot_avx2(int len, const float *const *a, const float *const *b, float *acc)
{
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *b0 = b[0], *b1 = b[1], *b2 = b[2];
    __m256 c00 = _mm256_loadu_ps(acc), c01 = _mm256_loadu_ps(acc + 8), c02 = _mm256_loadu_ps(acc + 16);
    __m256 c10 = _mm256_loadu_ps(acc + 24), c11 = _mm256_loadu_ps(acc + 32), c12 = _mm256_loadu_ps(acc + 40);
    __m256 c20 = _mm256_loadu_ps(acc + 48), c21 = _mm256_loadu_ps(acc + 56), c22 = _mm256_loadu_ps(acc + 64);
    __m256 c30 = _mm256_loadu_ps(acc + 72), c31 = _mm256_loadu_ps(acc + 80), c32 = _mm256_loadu_ps(acc + 88);
    int t = 0;
    for (; t + 8 <= len; t += 8) {
        __m256 v0 = _mm256_loadu_ps(b0 + t), v1 = _mm256_loadu_ps(b1 + t), v2 = _mm256_loadu_ps(b2 + t), u;
        u = _mm256_loadu_ps(a0 + t);
        c00 = _mm256_fmadd_ps(u, v0, c00), c01 = _mm256_fmadd_ps(u, v1, c01), c02 = _mm256_fmadd_ps(u, v2, c02);
        u = _mm256_loadu_ps(a1 + t);
        c10 = _mm256_fmadd_ps(u, v0, c10), c11 = _mm256_fmadd_ps(u, v1, c11), c12 = _mm256_fmadd_ps(u, v2, c12);
        u = _mm256_loadu_ps(a2 + t);
        c20 = _mm256_fmadd_ps(u, v0, c20), c21 = _mm256_fmadd_ps(u, v1, c21), c22 = _mm256_fmadd_ps(u, v2, c22);
        u = _mm256_loadu_ps(a3 + t);
        c30 = _mm256_fmadd_ps(u, v0, c30), c31 = _mm256_fmadd_ps(u, v1, c31), c32 = _mm256_fmadd_ps(u, v2, c32);
    }
    if (t < len) {
        static const int ones[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
        __m256i m = _mm256_loadu_si256((const __m256i *)(ones + 8 - (len - t)));
        __m256 v0 = _mm256_maskload_ps(b0 + t, m), v1 = _mm256_maskload_ps(b1 + t, m), v2 = _mm256_maskload_ps(b2 + t, m), u;
        u = _mm256_maskload_ps(a0 + t, m);
        c00 = _mm256_fmadd_ps(u, v0, c00), c01 = _mm256_fmadd_ps(u, v1, c01), c02 = _mm256_fmadd_ps(u, v2, c02);
        u = _mm256_maskload_ps(a1 + t, m);
        c10 = _mm256_fmadd_ps(u, v0, c10), c11 = _mm256_fmadd_ps(u, v1, c11), c12 = _mm256_fmadd_ps(u, v2, c12);
        u = _mm256_maskload_ps(a2 + t, m);
        c20 = _mm256_fmadd_ps(u, v0, c20), c21 = _mm256_fmadd_ps(u, v1, c21), c22 = _mm256_fmadd_ps(u, v2, c22);
        u = _mm256_maskload_ps(a3 + t, m);
        c30 = _mm256_fmadd_ps(u, v0, c30), c31 = _mm256_fmadd_ps(u, v1, c31), c32 = _mm256_fmadd_ps(u, v2, c32);
    }
    _mm256_storeu_ps(acc, c00), _mm256_storeu_ps(acc + 8, c01), _mm256_storeu_ps(acc + 16, c02);
    _mm256_storeu_ps(acc + 24, c10), _mm256_storeu_ps(acc + 32, c11), _mm256_storeu_ps(acc + 40, c12);
    _mm256_storeu_ps(acc + 48, c20), _mm256_storeu_ps(acc + 56, c21), _mm256_storeu_ps(acc + 64, c22);
    _mm256_storeu_ps(acc + 72, c30), _mm256_storeu_ps(acc + 80, c31), _mm256_storeu_ps(acc + 88, c32);
}
#endif

void nn_gemm_nt_run(const nn_gemm_nt *g)
{
    if (g->groups <= 0 || g->M <= 0 || g->N <= 0 || g->B <= 0 || g->T <= 0)
        return;
    dot_fn dot = dot_scalar;
#if NN_X86
    if (nn_simd_enabled())
        dot = dot_avx2;
#endif
    /* Tasks of up to NT_MB x NT_NB outputs, smaller where that leaves threads idle (a 16 x 16 product would be
     * one task). Every output's sum is the same whatever the tiling. */
    int mbs = NT_MB, nbs = NT_NB, nthr = 1;
#ifdef _OPENMP
    nthr = omp_get_max_threads();
#endif
    while ((long)g->groups * ((g->M + mbs - 1) / mbs) * ((g->N + nbs - 1) / nbs) < nthr) {
        int m2 = (mbs / 2 + NT_MR - 1) / NT_MR * NT_MR, n2 = (nbs / 2 + NT_NR - 1) / NT_NR * NT_NR;
        if (m2 < mbs && g->M > m2)
            mbs = m2;
        else if (n2 < nbs && g->N > n2)
            nbs = n2;
        else
            break;
    }
    int mb = (g->M + mbs - 1) / mbs, nb = (g->N + nbs - 1) / nbs;
    long ntask = (long)g->groups * mb * nb;
    double work = (double)g->groups * g->M * g->N * g->B * g->T;
    /* Long rows: half blocks keep the task's rows in L1 (measured 15-20% faster at 16-32 channels, T 8000-16000);
     * short rows keep full blocks, whose tails would otherwise cost more calls. */
    int tb = g->T >= 4096 ? NT_TB / 2 : NT_TB;
#pragma omp parallel for schedule(dynamic, 1) if (work > 200000.0 && ntask > 1)
    for (long task = 0; task < ntask; task++) {
        int gi = (int)(task / ((long)mb * nb)), rem = (int)(task % ((long)mb * nb));
        int m0 = (rem / nb) * mbs, n0 = (rem % nb) * nbs;
        int m1 = m0 + mbs < g->M ? m0 + mbs : g->M, n1 = n0 + nbs < g->N ? n0 + nbs : g->N;
        /* Lane sums of every micro-tile of the task, across all batches and blocks of t. */
        float acc[(NT_MB / NT_MR) * (NT_NB / NT_NR) * NT_ACC] __attribute__((aligned(32)));
        memset(acc, 0, sizeof acc);
        for (int b = 0; b < g->B; b++) {
            const float *ar[NT_MB], *br[NT_NB];
            for (int m = m0; m < m1; m++)
                ar[m - m0] = g->a_row(g->ctx, gi, b, m);
            for (int n = n0; n < n1; n++)
                br[n - n0] = g->b_row(g->ctx, gi, b, n);
            for (int t0 = 0; t0 < g->T; t0 += tb) {
                int len = g->T - t0 < tb ? g->T - t0 : tb;
                for (int m = m0; m < m1; m += NT_MR) {
                    const float *a[NT_MR];
                    for (int i = 0; i < NT_MR; i++)
                        a[i] = ar[(m + i < m1 ? m + i : m1 - 1) - m0] + t0;
                    for (int n = n0; n < n1; n += NT_NR) {
                        const float *bv[NT_NR];
                        for (int j = 0; j < NT_NR; j++)
                            bv[j] = br[(n + j < n1 ? n + j : n1 - 1) - n0] + t0;
                        dot(len, a, bv, acc + (((m - m0) / NT_MR) * (NT_NB / NT_NR) + (n - n0) / NT_NR) * NT_ACC);
                    }
                }
            }
        }
        float *cg = g->c + (size_t)gi * g->c_group;
        for (int m = m0; m < m1; m++)
            for (int n = n0; n < n1; n++) {
                int i = (m - m0) % NT_MR, j = (n - n0) % NT_NR;
                const float *l = acc + (((m - m0) / NT_MR) * (NT_NB / NT_NR) + (n - n0) / NT_NR) * NT_ACC +
                                 (i * NT_NR + j) * 8;
                double s = (((double)l[0] + l[4]) + ((double)l[2] + l[6])) + (((double)l[1] + l[5]) + ((double)l[3] + l[7]));
                cg[(size_t)m * g->c_row + n] += (float)s;
            }
    }
}

/* ---- sums ---- */

double nn_sum_d(const float *x, size_t n)
{
    double acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int e = 0; e < 16; e++)
            acc[e] += (double)x[i + e];
    for (int e = 0; i + e < n; e++)
        acc[e] += (double)x[i + e];
    for (int w = 8; w > 0; w /= 2)
        for (int e = 0; e < w; e++)
            acc[e] += acc[e + w];
    return acc[0];
}

/* ---- phase planes ---- */

static int scratch_allowed = 1;

void nn_scratch_set(int enable) { scratch_allowed = enable != 0; }

float *nn_scratch(size_t n) { return scratch_allowed ? nac_alloc(n * sizeof(float)) : NULL; }

float *nn_planes(const float *src, size_t rows, int srclen, int R, int padL, int padR, int *pl)
{
    int len = (srclen + R - 1) / R, L = padL + len + padR;
    *pl = L;
    float *dst = nn_scratch(rows * R * (size_t)L);
    if (!dst)
        return NULL;
#pragma omp parallel for schedule(static) if (rows * (size_t)srclen > 1000000)
    for (long row = 0; row < (long)rows; row++) {
        const float *s = src + (size_t)row * srclen;
        for (int r = 0; r < R; r++) {
            float *d = dst + ((size_t)row * R + r) * L;
            memset(d, 0, (size_t)padL * sizeof(float));
            int i = 0;
            for (; i * R + r < srclen; i++)
                d[padL + i] = s[i * R + r];
            memset(d + padL + i, 0, (size_t)(L - padL - i) * sizeof(float));
        }
    }
    return dst;
}

/* ---- strided packers ---- */

void nn_pack_a_strided(const void *ctx, int b, int r0, int rn, int k0, int kc, float *dst)
{
    const nn_strided *s = ctx;
    const float *base = s->p + (size_t)b * s->sb + (size_t)k0 * s->sk;
    if (s->sr == 1) { /* A stored transposed: the MR values of a depth are contiguous */
        for (int p = 0; p * NN_MR < rn; p++) {
            float *d = dst + (size_t)p * kc * NN_MR;
            int rows = rn - p * NN_MR < NN_MR ? rn - p * NN_MR : NN_MR;
            const float *src = base + r0 + p * NN_MR;
            for (int kk = 0; kk < kc; kk++) {
                const float *q = src + (size_t)kk * s->sk;
                for (int i = 0; i < NN_MR; i++)
                    d[kk * NN_MR + i] = i < rows ? q[i] : 0.0f;
            }
        }
        return;
    }
    for (int p = 0; p * NN_MR < rn; p++) {
        float *d = dst + (size_t)p * kc * NN_MR;
        for (int i = 0; i < NN_MR; i++) {
            int m = p * NN_MR + i;
            if (m >= rn) {
                for (int kk = 0; kk < kc; kk++)
                    d[kk * NN_MR + i] = 0.0f;
                continue;
            }
            const float *row = base + (size_t)(r0 + m) * s->sr;
            if (s->sk == 1)
                for (int kk = 0; kk < kc; kk++)
                    d[kk * NN_MR + i] = row[kk];
            else
                for (int kk = 0; kk < kc; kk++)
                    d[kk * NN_MR + i] = row[(size_t)kk * s->sk];
        }
    }
}

void nn_pack_b_strided(const void *ctx, int b, int r0, int rn, int k0, int kc, float *dst)
{
    const nn_strided *s = ctx;
    const float *base = s->p + (size_t)b * s->sb + (size_t)r0 * s->sr;
    for (int p = 0; p * NN_NR < rn; p++) {
        float *d = dst + (size_t)p * kc * NN_NR;
        int cols = rn - p * NN_NR < NN_NR ? rn - p * NN_NR : NN_NR;
        const float *col0 = base + (size_t)p * NN_NR * s->sr;
        if (s->sr == 1 && cols == NN_NR) {
            for (int kk = 0; kk < kc; kk++)
                memcpy(d + kk * NN_NR, col0 + (size_t)(k0 + kk) * s->sk, NN_NR * sizeof(float));
        } else if (s->sr == 1) {
            for (int kk = 0; kk < kc; kk++) {
                const float *src = col0 + (size_t)(k0 + kk) * s->sk;
                for (int j = 0; j < NN_NR; j++)
                    d[kk * NN_NR + j] = j < cols ? src[j] : 0.0f;
            }
        } else {
            for (int j = 0; j < NN_NR; j++) {
                if (j >= cols) {
                    for (int kk = 0; kk < kc; kk++)
                        d[kk * NN_NR + j] = 0.0f;
                    continue;
                }
                const float *src = col0 + (size_t)j * s->sr + (size_t)k0 * s->sk;
                for (int kk = 0; kk < kc; kk++)
                    d[kk * NN_NR + j] = src[(size_t)kk * s->sk];
            }
        }
    }
}
