/* Nearest-neighbour search against a codebook, GEMM-style: ||x - c||^2 = ||x||^2 + 2 s with the
 * score s = ||c||^2 / 2 - x.c, computed for tiles of 6 rows x 16 entries (AVX2+FMA when the CPU
 * has it, portable C otherwise) with the argmin fused into the tile loop.
 * The codebook is packed once into panels of 16 entries, (ceil(M/16), K, 16), plus the half norms.
 * Each row's scores depend only on that row (never on how rows are grouped), so results are
 * identical for any block size or thread count. Ties go to the lowest index. */
#ifndef NAC_VQ_SEARCH_H
#define NAC_VQ_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#define NAC_VQ_TILE_ROWS 6
#define NAC_VQ_PANEL 16

/* Floats of a packed codebook of M entries of K dims. */
size_t nac_vq_packed_floats(int M, int K);

/* Packs C (M, K) into packed (nac_vq_packed_floats(M, K) floats). */
void nac_vq_pack(float *packed, const float *C, int M, int K);

/* For each of the N rows of X (N, K): idx (N) = argmin_k ||x - c_k||^2, score (N) = the best
 * score ||c||^2/2 - x.c (may be NULL). Single-threaded: callers split rows across threads. */
void nac_vq_nearest(int32_t *idx, float *score, const float *X, const float *packed, int N, int M,
                    int K);

/* All scores S (N, M) (row stride ldS >= M) of the N rows of X (N, K). Single-threaded. */
void nac_vq_scores(float *S, size_t ldS, const float *X, const float *packed, int N, int M, int K);

/* The portable kernels behind the two above (used where the CPU lacks AVX2/FMA; tests compare
 * the SIMD kernels against them). */
void nac_vq_nearest_ref(int32_t *idx, float *score, const float *X, const float *packed, int N,
                        int M, int K);
void nac_vq_scores_ref(float *S, size_t ldS, const float *X, const float *packed, int N, int M,
                       int K);

/* 1 when the SIMD kernels are in use (the CPU has AVX2 and FMA), else 0. */
int nac_vq_simd_active(void);

#endif
