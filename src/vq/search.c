/* Nearest-neighbour search: packed codebook panels, 6 x 16 score tiles, fused argmin.
 * Portable kernel plus an AVX2+FMA one chosen at run time. */
#include "vq/search.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define NAC_VQ_X86 1
#endif

#define TR NAC_VQ_TILE_ROWS
#define PW NAC_VQ_PANEL

static int n_panels(int M) { return (M + PW - 1) / PW; }

size_t nac_vq_packed_floats(int M, int K) { return (size_t)n_panels(M) * PW * ((size_t)K + 1); }

void nac_vq_pack(float *packed, const float *C, int M, int K)
{
    int P = n_panels(M);
    float *hn = packed + (size_t)P * PW * K;
    for (int p = 0; p < P; p++) {
        float *pp = packed + (size_t)p * PW * K;
        for (int l = 0; l < PW; l++) {
            int k = p * PW + l;
            if (k < M) {
                const float *c = C + (size_t)k * K;
                double n2 = 0;
                for (int d = 0; d < K; d++) {
                    pp[(size_t)d * PW + l] = c[d];
                    n2 += (double)c[d] * c[d];
                }
                hn[k] = (float)(0.5 * n2);
            } else {
                for (int d = 0; d < K; d++)
                    pp[(size_t)d * PW + l] = 0.0f;
                hn[k] = INFINITY; /* padding never wins */
            }
        }
    }
}

/* Row pointers of one tile; missing rows repeat the last one (computed, never written). */
static void tile_rows(const float **xr, const float *X, int r0, int nr, int K)
{
    for (int r = 0; r < TR; r++)
        xr[r] = X + (size_t)(r0 + (r < nr ? r : nr - 1)) * K;
}

/* ---- portable kernels ---------------------------------------------------------------- */

static void tile_scores_ref(float acc[TR][PW], const float **xr, const float *pp, const float *hp, int K)
{
    for (int r = 0; r < TR; r++)
        for (int l = 0; l < PW; l++)
            acc[r][l] = 0.0f;
    for (int d = 0; d < K; d++) {
        const float *c = pp + (size_t)d * PW;
        for (int r = 0; r < TR; r++) {
            float xv = xr[r][d];
            for (int l = 0; l < PW; l++)
                acc[r][l] += xv * c[l];
        }
    }
    for (int r = 0; r < TR; r++)
        for (int l = 0; l < PW; l++)
            acc[r][l] = hp[l] - acc[r][l];
}

void nac_vq_nearest_ref(int32_t *idx, float *score, const float *X, const float *packed, int N, int M,
                        int K)
{
    int P = n_panels(M);
    const float *hn = packed + (size_t)P * PW * K;
    for (int r0 = 0; r0 < N; r0 += TR) {
        int nr = N - r0 < TR ? N - r0 : TR;
        const float *xr[TR];
        float acc[TR][PW], best[TR];
        int32_t bi[TR];
        tile_rows(xr, X, r0, nr, K);
        for (int r = 0; r < TR; r++) {
            best[r] = INFINITY;
            bi[r] = 0;
        }
        for (int p = 0; p < P; p++) {
            tile_scores_ref(acc, xr, packed + (size_t)p * PW * K, hn + (size_t)p * PW, K);
            for (int r = 0; r < TR; r++)
                for (int l = 0; l < PW; l++)
                    if (acc[r][l] < best[r]) {
                        best[r] = acc[r][l];
                        bi[r] = p * PW + l;
                    }
        }
        for (int r = 0; r < nr; r++) {
            idx[r0 + r] = bi[r];
            if (score)
                score[r0 + r] = best[r];
        }
    }
}

void nac_vq_scores_ref(float *S, size_t ldS, const float *X, const float *packed, int N, int M, int K)
{
    int P = n_panels(M);
    const float *hn = packed + (size_t)P * PW * K;
    for (int r0 = 0; r0 < N; r0 += TR) {
        int nr = N - r0 < TR ? N - r0 : TR;
        const float *xr[TR];
        float acc[TR][PW];
        tile_rows(xr, X, r0, nr, K);
        for (int p = 0; p < P; p++) {
            int nl = M - p * PW < PW ? M - p * PW : PW;
            tile_scores_ref(acc, xr, packed + (size_t)p * PW * K, hn + (size_t)p * PW, K);
            for (int r = 0; r < nr; r++)
                memcpy(S + (size_t)(r0 + r) * ldS + (size_t)p * PW, acc[r], (size_t)nl * sizeof(float));
        }
    }
}

/* ---- AVX2 + FMA kernels -------------------------------------------------------------- */

#ifdef NAC_VQ_X86

#define AVX2 __attribute__((target("avx2,fma")))

/* acc[r][0..1] = h - x_r . c over one panel, for the 6 rows of a tile. */
#define TILE_ACCUMULATE()                                                          \
    __m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps();                   \
    __m256 a10 = _mm256_setzero_ps(), a11 = _mm256_setzero_ps();                   \
    __m256 a20 = _mm256_setzero_ps(), a21 = _mm256_setzero_ps();                   \
    __m256 a30 = _mm256_setzero_ps(), a31 = _mm256_setzero_ps();                   \
    __m256 a40 = _mm256_setzero_ps(), a41 = _mm256_setzero_ps();                   \
    __m256 a50 = _mm256_setzero_ps(), a51 = _mm256_setzero_ps();                   \
    for (int d = 0; d < K; d++) {                                                  \
        __m256 c0 = _mm256_loadu_ps(pp + (size_t)d * PW);                          \
        __m256 c1 = _mm256_loadu_ps(pp + (size_t)d * PW + 8);                      \
        __m256 b;                                                                  \
        b = _mm256_broadcast_ss(x0 + d); a00 = _mm256_fmadd_ps(b, c0, a00); a01 = _mm256_fmadd_ps(b, c1, a01); \
        b = _mm256_broadcast_ss(x1 + d); a10 = _mm256_fmadd_ps(b, c0, a10); a11 = _mm256_fmadd_ps(b, c1, a11); \
        b = _mm256_broadcast_ss(x2 + d); a20 = _mm256_fmadd_ps(b, c0, a20); a21 = _mm256_fmadd_ps(b, c1, a21); \
        b = _mm256_broadcast_ss(x3 + d); a30 = _mm256_fmadd_ps(b, c0, a30); a31 = _mm256_fmadd_ps(b, c1, a31); \
        b = _mm256_broadcast_ss(x4 + d); a40 = _mm256_fmadd_ps(b, c0, a40); a41 = _mm256_fmadd_ps(b, c1, a41); \
        b = _mm256_broadcast_ss(x5 + d); a50 = _mm256_fmadd_ps(b, c0, a50); a51 = _mm256_fmadd_ps(b, c1, a51); \
    }                                                                              \
    __m256 h0 = _mm256_loadu_ps(hp), h1 = _mm256_loadu_ps(hp + 8);                 \
    __m256 s[TR][2] = {{_mm256_sub_ps(h0, a00), _mm256_sub_ps(h1, a01)},           \
                       {_mm256_sub_ps(h0, a10), _mm256_sub_ps(h1, a11)},           \
                       {_mm256_sub_ps(h0, a20), _mm256_sub_ps(h1, a21)},           \
                       {_mm256_sub_ps(h0, a30), _mm256_sub_ps(h1, a31)},           \
                       {_mm256_sub_ps(h0, a40), _mm256_sub_ps(h1, a41)},           \
                       {_mm256_sub_ps(h0, a50), _mm256_sub_ps(h1, a51)}}

AVX2 static void nearest_avx2(int32_t *idx, float *score, const float *X, const float *packed, int N,
                              int M, int K)
{
    int P = n_panels(M);
    const float *hn = packed + (size_t)P * PW * K;
    const __m256i step = _mm256_set1_epi32(PW);
    for (int r0 = 0; r0 < N; r0 += TR) {
        int nr = N - r0 < TR ? N - r0 : TR;
        const float *xr[TR];
        tile_rows(xr, X, r0, nr, K);
        const float *x0 = xr[0], *x1 = xr[1], *x2 = xr[2], *x3 = xr[3], *x4 = xr[4], *x5 = xr[5];
        __m256 bv[TR][2];
        __m256i bi[TR][2];
        for (int r = 0; r < TR; r++) {
            bv[r][0] = bv[r][1] = _mm256_set1_ps(INFINITY);
            bi[r][0] = bi[r][1] = _mm256_setzero_si256();
        }
        __m256i i0 = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        __m256i i1 = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
        for (int p = 0; p < P; p++) {
            const float *pp = packed + (size_t)p * PW * K;
            const float *hp = hn + (size_t)p * PW;
            TILE_ACCUMULATE();
            for (int r = 0; r < TR; r++) {
                __m256 m0 = _mm256_cmp_ps(s[r][0], bv[r][0], _CMP_LT_OQ);
                __m256 m1 = _mm256_cmp_ps(s[r][1], bv[r][1], _CMP_LT_OQ);
                bv[r][0] = _mm256_blendv_ps(bv[r][0], s[r][0], m0);
                bv[r][1] = _mm256_blendv_ps(bv[r][1], s[r][1], m1);
                bi[r][0] = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(bi[r][0]),
                                                                _mm256_castsi256_ps(i0), m0));
                bi[r][1] = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(bi[r][1]),
                                                                _mm256_castsi256_ps(i1), m1));
            }
            i0 = _mm256_add_epi32(i0, step);
            i1 = _mm256_add_epi32(i1, step);
        }
        for (int r = 0; r < nr; r++) {
            float v[PW];
            int32_t ix[PW];
            _mm256_storeu_ps(v, bv[r][0]);
            _mm256_storeu_ps(v + 8, bv[r][1]);
            _mm256_storeu_si256((__m256i *)ix, bi[r][0]);
            _mm256_storeu_si256((__m256i *)(ix + 8), bi[r][1]);
            float best = v[0];
            int32_t b = ix[0];
            for (int l = 1; l < PW; l++)
                if (v[l] < best || (v[l] == best && ix[l] < b)) {
                    best = v[l];
                    b = ix[l];
                }
            idx[r0 + r] = b;
            if (score)
                score[r0 + r] = best;
        }
    }
}

AVX2 static void scores_avx2(float *S, size_t ldS, const float *X, const float *packed, int N, int M,
                             int K)
{
    int P = n_panels(M);
    const float *hn = packed + (size_t)P * PW * K;
    for (int r0 = 0; r0 < N; r0 += TR) {
        int nr = N - r0 < TR ? N - r0 : TR;
        const float *xr[TR];
        tile_rows(xr, X, r0, nr, K);
        const float *x0 = xr[0], *x1 = xr[1], *x2 = xr[2], *x3 = xr[3], *x4 = xr[4], *x5 = xr[5];
        for (int p = 0; p < P; p++) {
            const float *pp = packed + (size_t)p * PW * K;
            const float *hp = hn + (size_t)p * PW;
            int nl = M - p * PW < PW ? M - p * PW : PW;
            TILE_ACCUMULATE();
            for (int r = 0; r < nr; r++) {
                float *o = S + (size_t)(r0 + r) * ldS + (size_t)p * PW;
                if (nl == PW) {
                    _mm256_storeu_ps(o, s[r][0]);
                    _mm256_storeu_ps(o + 8, s[r][1]);
                } else {
                    float v[PW];
                    _mm256_storeu_ps(v, s[r][0]);
                    _mm256_storeu_ps(v + 8, s[r][1]);
                    memcpy(o, v, (size_t)nl * sizeof(float));
                }
            }
        }
    }
}

int nac_vq_simd_active(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

#else

int nac_vq_simd_active(void) { return 0; }

#endif

void nac_vq_nearest(int32_t *idx, float *score, const float *X, const float *packed, int N, int M, int K)
{
#ifdef NAC_VQ_X86
    if (nac_vq_simd_active()) {
        nearest_avx2(idx, score, X, packed, N, M, K);
        return;
    }
#endif
    nac_vq_nearest_ref(idx, score, X, packed, N, M, K);
}

void nac_vq_scores(float *S, size_t ldS, const float *X, const float *packed, int N, int M, int K)
{
#ifdef NAC_VQ_X86
    if (nac_vq_simd_active()) {
        scores_avx2(S, ldS, X, packed, N, M, K);
        return;
    }
#endif
    nac_vq_scores_ref(S, ldS, X, packed, N, M, K);
}
