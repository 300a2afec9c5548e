/* Blocked GEMM with packed panels (Goto/van de Geijn layout): a 6x16 register micro-tile,
 * AVX2+FMA kernel beside a portable one. See gemm.h for the fixed accumulation order. */
#include "nn/gemm.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NN_X86 1
#else
#define NN_X86 0
#endif

/* ---- dispatch ---- */

static int simd_state = -1; /* -1 unknown, 0 off, 1 on */
static int simd_allowed = 1;

int nn_simd_enabled(void)
{
    if (simd_state < 0) {
#if NN_X86
        __builtin_cpu_init();
        simd_state = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
        simd_state = 0;
#endif
    }
    return simd_state && simd_allowed;
}

void nn_simd_set(int enable) { simd_allowed = enable != 0; }

/* ---- micro-kernels: c (6 x 16, row stride ldc) += a panel (kc x 6) * b panel (kc x 16) ---- */

static void kern_scalar(int kc, const float *restrict a, const float *restrict b, float *restrict c, size_t ldc)
{
    float acc[NN_MR][NN_NR];
    for (int i = 0; i < NN_MR; i++)
        for (int j = 0; j < NN_NR; j++)
            acc[i][j] = c[i * ldc + j];
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
static void kern_avx2(int kc, const float *restrict a, const float *restrict b, float *restrict c, size_t ldc)
{
    __m256 c00 = _mm256_loadu_ps(c + 0 * ldc), c01 = _mm256_loadu_ps(c + 0 * ldc + 8);
    __m256 c10 = _mm256_loadu_ps(c + 1 * ldc), c11 = _mm256_loadu_ps(c + 1 * ldc + 8);
    __m256 c20 = _mm256_loadu_ps(c + 2 * ldc), c21 = _mm256_loadu_ps(c + 2 * ldc + 8);
    __m256 c30 = _mm256_loadu_ps(c + 3 * ldc), c31 = _mm256_loadu_ps(c + 3 * ldc + 8);
    __m256 c40 = _mm256_loadu_ps(c + 4 * ldc), c41 = _mm256_loadu_ps(c + 4 * ldc + 8);
    __m256 c50 = _mm256_loadu_ps(c + 5 * ldc), c51 = _mm256_loadu_ps(c + 5 * ldc + 8);
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
#endif

typedef void (*kern_fn)(int, const float *, const float *, float *, size_t);

/* ---- driver ---- */

/* One task: the (mc x nc) block of C at (m0, n0) of batch b, all of K. */
static void gemm_task(const nn_gemm *g, kern_fn kern, int b, int m0, int n0, float *abuf, float *bbuf)
{
    int mc = g->M - m0 < NN_MC ? g->M - m0 : NN_MC;
    int nc = g->N - n0 < NN_NC ? g->N - n0 : NN_NC;
    float *cb = g->c + (size_t)b * g->c_batch;
    float tile[NN_MR * NN_NR] __attribute__((aligned(64)));
    for (int k0 = 0; k0 < g->K; k0 += NN_KC) {
        int kc = g->K - k0 < NN_KC ? g->K - k0 : NN_KC;
        g->pack_a(g->actx, b, m0, mc, k0, kc, abuf);
        g->pack_b(g->bctx, b, n0, nc, k0, kc, bbuf);
        for (int jp = 0; jp * NN_NR < nc; jp++) {
            int cols = nc - jp * NN_NR < NN_NR ? nc - jp * NN_NR : NN_NR;
            const float *bp = bbuf + (size_t)jp * kc * NN_NR;
            for (int ip = 0; ip * NN_MR < mc; ip++) {
                int rows = mc - ip * NN_MR < NN_MR ? mc - ip * NN_MR : NN_MR;
                const float *ap = abuf + (size_t)ip * kc * NN_MR;
                float *cp = cb + (size_t)(m0 + ip * NN_MR) * g->c_row + (size_t)(n0 + jp * NN_NR) * g->c_col;
                if (rows == NN_MR && cols == NN_NR && g->c_col == 1) {
                    kern(kc, ap, bp, cp, g->c_row);
                } else {
                    /* Edge or strided tile: the same kernel on a copy, so every element sees the same chain. */
                    memset(tile, 0, sizeof tile);
                    for (int i = 0; i < rows; i++)
                        for (int j = 0; j < cols; j++)
                            tile[i * NN_NR + j] = cp[i * g->c_row + j * g->c_col];
                    kern(kc, ap, bp, tile, NN_NR);
                    for (int i = 0; i < rows; i++)
                        for (int j = 0; j < cols; j++)
                            cp[i * g->c_row + j * g->c_col] = tile[i * NN_NR + j];
                }
            }
        }
    }
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
    int mt = (g->M + NN_MC - 1) / NN_MC, nt = (g->N + NN_NC - 1) / NN_NC;
    long ntask = (long)g->batch * mt * nt;
    double work = (double)g->batch * g->M * g->N * g->K;
#pragma omp parallel if (ntask > 1 && work > 200000.0)
    {
        float abuf[NN_MC * NN_KC] __attribute__((aligned(64)));
        float bbuf[NN_NC * NN_KC] __attribute__((aligned(64)));
#pragma omp for schedule(dynamic, 1)
        for (long task = 0; task < ntask; task++) {
            int b = (int)(task / ((long)mt * nt));
            int r = (int)(task % ((long)mt * nt));
            gemm_task(g, kern, b, (r / nt) * NN_MC, (r % nt) * NN_NC, abuf, bbuf);
        }
    }
}

/* ---- strided packers ---- */

void nn_pack_a_strided(const void *ctx, int b, int r0, int rn, int k0, int kc, float *dst)
{
    const nn_strided *s = ctx;
    const float *base = s->p + (size_t)b * s->sb + (size_t)k0 * s->sk;
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
