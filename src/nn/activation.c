/* Elementwise activations (ELU, leaky ReLU, tanh, exact GELU) and their gradients. The AVX2 paths use a
 * Cephes-style exp and the Chebyshev erfc of Numerical Recipes (fractional error < 1.2e-7), so GELU
 * stays the erf form (not the tanh approximation) to about 1e-6 relative. */
#include "nn/activation.h"

#include <math.h>

#include "nn/gemm.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NN_X86 1
#else
#define NN_X86 0
#endif

#if NN_X86
#define AVX2 __attribute__((target("avx2,fma")))

/* exp(x) for x in float range, about 2 ulp (Cephes expf polynomial). */
AVX2 static inline __m256 v_exp(__m256 x)
{
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* Phi(x) = 0.5 erfc(-x / sqrt 2), and exp(-x^2/2) in *g (for the density). */
AVX2 static inline __m256 v_phi(__m256 x, __m256 *g)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 u = _mm256_mul_ps(x, _mm256_set1_ps(-0.70710678118654752f)); /* erfc argument */
    __m256 z = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), u);
    __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.5f), z, one));
    __m256 p = _mm256_set1_ps(0.17087277f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.82215223f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.48851587f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.13520398f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.27886807f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.18628806f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.09678418f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.37409196f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.00002368f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.26551223f));
    __m256 z2 = _mm256_mul_ps(z, z);
    if (g)
        *g = v_exp(_mm256_sub_ps(_mm256_setzero_ps(), z2));
    __m256 ans = _mm256_mul_ps(t, v_exp(_mm256_sub_ps(p, z2))); /* erfc(|u|) */
    __m256 neg = _mm256_cmp_ps(u, _mm256_setzero_ps(), _CMP_LT_OQ);
    __m256 erfc = _mm256_blendv_ps(ans, _mm256_sub_ps(_mm256_set1_ps(2.0f), ans), neg);
    return _mm256_mul_ps(_mm256_set1_ps(0.5f), erfc);
}

AVX2 static void gelu_fwd_avx2(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        _mm256_storeu_ps(y + i, _mm256_mul_ps(v, v_phi(v, NULL)));
    }
    if (i < n) {
        float bx[8] = {0}, by[8];
        for (size_t k = i; k < n; k++)
            bx[k - i] = x[k];
        __m256 v = _mm256_loadu_ps(bx);
        _mm256_storeu_ps(by, _mm256_mul_ps(v, v_phi(v, NULL)));
        for (size_t k = i; k < n; k++)
            y[k] = by[k - i];
    }
}

AVX2 static inline __m256 v_gelu_grad(__m256 v, __m256 d)
{
    __m256 g;
    __m256 cdf = v_phi(v, &g);
    __m256 pdf = _mm256_mul_ps(g, _mm256_set1_ps(0.3989422804014327f));
    return _mm256_mul_ps(d, _mm256_fmadd_ps(v, pdf, cdf));
}

AVX2 static void gelu_bwd_avx2(float *dx, const float *dy, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 r = v_gelu_grad(_mm256_loadu_ps(x + i), _mm256_loadu_ps(dy + i));
        _mm256_storeu_ps(dx + i, _mm256_add_ps(_mm256_loadu_ps(dx + i), r));
    }
    if (i < n) {
        float bx[8] = {0}, bd[8] = {0}, br[8];
        for (size_t k = i; k < n; k++)
            bx[k - i] = x[k], bd[k - i] = dy[k];
        _mm256_storeu_ps(br, v_gelu_grad(_mm256_loadu_ps(bx), _mm256_loadu_ps(bd)));
        for (size_t k = i; k < n; k++)
            dx[k] += br[k - i];
    }
}

/* ELU: x > 0 ? x : alpha (exp(x) - 1); backward dy * (x > 0 ? 1 : alpha exp(x)). */
AVX2 static void elu_avx2(float *y, const float *dy, const float *x, float alpha, size_t n, int backward)
{
    const __m256 a = _mm256_set1_ps(alpha), zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    size_t i = 0;
    for (; i < n; i += 8) {
        float bx[8] = {0}, bd[8] = {0}, bo[8];
        int full = i + 8 <= n;
        if (!full)
            for (size_t k = i; k < n; k++)
                bx[k - i] = x[k], bd[k - i] = dy ? dy[k] : 0.0f;
        __m256 v = full ? _mm256_loadu_ps(x + i) : _mm256_loadu_ps(bx);
        __m256 pos = _mm256_cmp_ps(v, zero, _CMP_GT_OQ);
        __m256 e = v_exp(_mm256_min_ps(v, zero));
        __m256 r;
        if (backward) {
            __m256 d = full ? _mm256_loadu_ps(dy + i) : _mm256_loadu_ps(bd);
            r = _mm256_mul_ps(d, _mm256_blendv_ps(_mm256_mul_ps(a, e), one, pos));
            __m256 o = full ? _mm256_loadu_ps(y + i) : zero;
            r = _mm256_add_ps(o, r);
        } else {
            r = _mm256_blendv_ps(_mm256_mul_ps(a, _mm256_sub_ps(e, one)), v, pos);
        }
        if (full) {
            _mm256_storeu_ps(y + i, r);
        } else {
            _mm256_storeu_ps(bo, r);
            for (size_t k = i; k < n; k++)
                y[k] = backward ? y[k] + bo[k - i] : bo[k - i];
        }
    }
}
#endif

/* Splits n into chunks for the threads; each element's value does not depend on the split. */
#define CHUNK 4096

#define PAR_MIN 16384 /* below this, threads cost more than they save */

void nn_elu_forward(float *y, const float *x, float alpha, size_t n)
{
#if NN_X86
    if (nn_simd_enabled()) {
        long nc = (long)((n + CHUNK - 1) / CHUNK);
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
        for (long c = 0; c < nc; c++) {
            size_t lo = (size_t)c * CHUNK, len = n - lo < CHUNK ? n - lo : CHUNK;
            elu_avx2(y + lo, NULL, x + lo, alpha, len, 0);
        }
        return;
    }
#endif
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : alpha * expm1f(x[i]);
}

void nn_elu_backward(float *dx, const float *dy, const float *x, float alpha, size_t n)
{
#if NN_X86
    if (nn_simd_enabled()) {
        long nc = (long)((n + CHUNK - 1) / CHUNK);
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
        for (long c = 0; c < nc; c++) {
            size_t lo = (size_t)c * CHUNK, len = n - lo < CHUNK ? n - lo : CHUNK;
            elu_avx2(dx + lo, dy + lo, x + lo, alpha, len, 1);
        }
        return;
    }
#endif
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++)
        dx[i] += x[i] > 0.0f ? dy[i] : dy[i] * alpha * expf(x[i]);
}

void nn_lrelu_forward(float *y, const float *x, float slope, size_t n)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
}

void nn_lrelu_backward(float *dx, const float *dy, const float *x, float slope, size_t n)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++)
        dx[i] += x[i] > 0.0f ? dy[i] : slope * dy[i];
}

void nn_tanh_forward(float *y, const float *x, size_t n)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++)
        y[i] = tanhf(x[i]);
}

void nn_tanh_backward(float *dx, const float *dy, const float *y, size_t n)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++)
        dx[i] += dy[i] * (1.0f - y[i] * y[i]);
}

void nn_gelu_forward(float *y, const float *x, size_t n)
{
#if NN_X86
    if (nn_simd_enabled()) {
        long nc = (long)((n + CHUNK - 1) / CHUNK);
        if (n <= PAR_MIN) { /* a streaming frame: no OpenMP team at all */
            gelu_fwd_avx2(y, x, n);
            return;
        }
#pragma omp parallel for schedule(static)
        for (long c = 0; c < nc; c++) {
            size_t lo = (size_t)c * CHUNK, len = n - lo < CHUNK ? n - lo : CHUNK;
            gelu_fwd_avx2(y + lo, x + lo, len);
        }
        return;
    }
#endif
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++)
        y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
}

void nn_gelu_backward(float *dx, const float *dy, const float *x, size_t n)
{
#if NN_X86
    if (nn_simd_enabled()) {
        long nc = (long)((n + CHUNK - 1) / CHUNK);
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
        for (long c = 0; c < nc; c++) {
            size_t lo = (size_t)c * CHUNK, len = n - lo < CHUNK ? n - lo : CHUNK;
            gelu_bwd_avx2(dx + lo, dy + lo, x + lo, len);
        }
        return;
    }
#endif
    const float inv_sqrt_2pi = 0.3989422804014327f;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float cdf = 0.5f * (1.0f + erff(x[i] * (float)M_SQRT1_2));
        float pdf = inv_sqrt_2pi * expf(-0.5f * x[i] * x[i]);
        dx[i] += dy[i] * (cdf + x[i] * pdf);
    }
}
