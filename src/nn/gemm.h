/* Internal: blocked matrix product C(b) += A(b) B(b) with packing callbacks, so convolutions can gather
 * their operands (im2col, phases, history) straight into the packed panels. Every element of C is one
 * fixed-order chain: its initial value, then + A[m,k]*B[k,n] for k = 0..K-1 ascending (fused on the
 * AVX2+FMA path, unfused on the portable one), whatever the tiling, N, batch or thread count. */
#ifndef NAC_NN_GEMM_H
#define NAC_NN_GEMM_H

#include <stddef.h>
#include <stdint.h>

#define NN_MR 6    /* rows of a micro-tile (A panel width) */
#define NN_NR 16   /* columns of a micro-tile (B panel width) */
#define NN_MC 96   /* rows of C per task */
#define NN_NC 128  /* columns of C per task */
#define NN_KC 256  /* depth of one packed block */

/* Packs rows/columns [r0, r0+rn) (rn <= NN_MC for A, NN_NC for B) and depths [k0, k0+kc) of batch b.
 * A: dst[(p*kc + kk)*NN_MR + i] = A(b, r0 + p*NN_MR + i, k0 + kk); rows past rn are zero.
 * B: dst[(p*kc + kk)*NN_NR + j] = B(b, k0 + kk, r0 + p*NN_NR + j); columns past rn are zero. */
typedef void (*nn_pack_fn)(const void *ctx, int b, int r0, int rn, int k0, int kc, float *dst);

/* A packed copy of A (weights packed once at model load): floats, or IEEE half floats when every
 * weight is exactly one (models stored in f16, as the built-in one: half the bytes to stream for
 * each streaming frame, the same values, so the same results). */
typedef struct nn_packed {
    const void *data; /* NULL: none */
    int half;
} nn_packed;

typedef struct nn_gemm {
    int batch, M, N, K;
    nn_pack_fn pack_a, pack_b;
    const void *actx, *bctx;
    float *c;                       /* C(b, m, n) = c[b*c_batch + m*c_row + n*c_col] */
    size_t c_batch, c_row, c_col;
    int a_period;                   /* > 0: A(b) == A(b % a_period) (weights), packed once per call */
    int c_init;                     /* 1: C is written, not read: chains start at the bias (0 if NULL) */
    const float *c_bias;            /* row m of batch b starts at c_bias[(b % c_bias_period)*M + m] */
    int c_bias_period;              /* 0 is taken as 1 */
    nn_packed a_packed;             /* with a_period > 0: A already packed by nn_gemm_pack_a (inference
                                       weights packed once at model load), or none to pack per call */
    const float *b_direct;          /* or NULL: B(b, k, n) = b_direct[b*b_batch + k*b_row + n*b_col], read
                                       in place by the narrow tiles (streaming calls) instead of packed;
                                       pack_b is still needed for the others */
    size_t b_batch, b_row, b_col;
} nn_gemm;

/* Products of at most this many columns (a streaming frame) take the narrow kernel, which reads B
 * through b_direct when it is given. */
#define NN_NARROW 4

/* Runs C += A B over all batches, OpenMP over (batch, row block, column block). */
void nn_gemm_run(const nn_gemm *g);
/* Floats of A packed for g (a_period > 0), and the packing itself: what nn_gemm_run would pack,
 * so a caller can keep it in g->a_packed for every later call with the same A, M and K. */
size_t nn_gemm_packed_a_floats(const nn_gemm *g);
void nn_gemm_pack_a(float *dst, const nn_gemm *g);
/* dst (n halves) = src (n floats) when every value is exactly a half (returns 1), else 0 with dst
 * unspecified. */
int nn_pack_to_half(uint16_t *dst, const float *src, size_t n);

/* Strided operands: A(b, m, k) = p[b*sb + m*sr + k*sk]; B(b, k, n) = p[b*sb + k*sk + n*sr]. */
typedef struct nn_strided {
    const float *p;
    size_t sb, sr, sk;
} nn_strided;
void nn_pack_a_strided(const void *ctx, int b, int r0, int rn, int k0, int kc, float *dst);
void nn_pack_b_strided(const void *ctx, int b, int r0, int rn, int k0, int kc, float *dst);

/* Products whose operands are both contiguous along the summed axis (weight gradients of stride-1
 * convolutions): C(g)[m][n] += sum_b sum_t A(g,b,m)[t] * B(g,b,n)[t], t < T, rows given by pointer.
 * Sums run in 8 lanes over blocks of t, lanes reduced in a fixed order, blocks added to C in (b, block)
 * order: the result does not depend on the thread count. */
typedef const float *(*nn_row_fn)(const void *ctx, int g, int b, int r);
typedef struct nn_gemm_nt {
    int groups, M, N, B, T;
    nn_row_fn a_row, b_row;
    const void *ctx;
    float *c;                 /* C(g)[m][n] = c[g*c_group + m*c_row + n] */
    size_t c_group, c_row;
} nn_gemm_nt;
void nn_gemm_nt_run(const nn_gemm_nt *g);

/* Phase planes of rows of length srclen: a strided operand made contiguous. Returns (rows, R, pl) floats with
 * P[row][r][padL + i] = src[row*srclen + i*R + r] for i*R + r < srclen and zeros elsewhere (pads included),
 * pl = padL + ceil(srclen/R) + padR (stored in *pl). Free with nac_free; NULL when out of memory. */
float *nn_planes(const float *src, size_t rows, int srclen, int R, int padL, int padR, int *pl);
/* Scratch of n floats (nac_free it), or NULL: out of memory, or disabled by the test hook below. */
float *nn_scratch(size_t n);
/* Test hook: 0 makes nn_scratch and nn_planes fail, so callers take their out-of-memory paths; 1 restores. */
void nn_scratch_set(int enable);

/* Sum of x[0..n) in double: 16 lanes (lane e takes i = e mod 16, ascending), then a fixed pairwise tree.
 * Lanes keep the adds independent, so the loop vectorises and pipelines without reassociation. */
double nn_sum_d(const float *x, size_t n);

/* 1 when the AVX2+FMA kernels are in use (CPU support, not disabled). */
int nn_simd_enabled(void);
/* Test hook: 0 forces the portable kernels, 1 restores detection. Call outside parallel regions. */
void nn_simd_set(int enable);

#endif
