/* Codebook training on vectors x (N, K): k-means (greedy k-means++ seeding, Arthur & Vassilvitskii
 * 2007, then Lloyd iterations, optionally restarted keeping the best) or LBG splitting (Linde, Buzo & Gray 1980). Empty cells are refilled by
 * splitting the most populated cell (its centre stays, a perturbed copy takes the empty slot), so
 * the error never rises from one iteration to the next. Assignment uses the fused GEMM-style
 * search of vq/search.h; updates sum each cell's members in row order (double), so the result is
 * identical for any thread count. */
#ifndef NAC_VQ_KMEANS_H
#define NAC_VQ_KMEANS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef enum nac_vq_init_method {
    NAC_VQ_INIT_KMEANSPP = 0, /* greedy k-means++ seeding (on a random subset of at most
                                 max(256 M / candidates, 65536) rows):
                                 each new centre is the best of several D^2-sampled candidates */
    NAC_VQ_INIT_SPLIT,        /* LBG: start from the mean, double the entries up to M (the splits
                                 go to the cells of largest distortion per entry), Lloyd at each size */
    NAC_VQ_INIT_GIVEN         /* start from the codebook passed in */
} nac_vq_init_method;

typedef struct nac_vq_iter_info {
    int n_entries; /* codebook size during this iteration (LBG grows it) */
    int iter;      /* iteration at this size, from 0 */
    double mse;    /* mean squared error per element of this iteration's assignment */
    int n_empty;   /* cells that received no vector in this iteration */
    int restart;   /* which k-means++ restart, from 0 */
} nac_vq_iter_info;

typedef struct nac_vq_train_opts {
    nac_vq_init_method init;
    int iters;          /* Lloyd iterations (per codebook size with SPLIT) */
    double min_gain;    /* SPLIT: leave a size once the relative error drop is below this */
    double split_eps;   /* split perturbation, times the data's per-dimension std */
    uint64_t seed;
    int spherical;      /* 1: L2-normalise centres after each update (data on the unit sphere) */
    int candidates;     /* KMEANSPP: candidates per new centre, the one lowering the potential most
                           is kept; 0 = 2 + floor(2 ln M) (scikit-learn takes 2 + ln M;
                           more candidates miss fewer clusters), 1 = classic, at most 64 */
    int restarts;       /* KMEANSPP: seedings + Lloyd runs; the lowest final error wins (>= 1) */
    void (*progress)(void *ctx, const nac_vq_iter_info *it); /* per iteration, may be NULL */
    void *ctx;
} nac_vq_train_opts;

/* KMEANSPP (greedy, 1 restart), 20 iterations, min_gain 1e-4, split_eps 0.01, seed 1, no progress. */
void nac_vq_train_opts_default(nac_vq_train_opts *o);

/* Trains cb (M, K) on x (N, K) (finite values; N >= M). With INIT_GIVEN cb holds the start.
 * mse (may be NULL): error of the final codebook (a last assignment after the final update);
 * labels (N, may be NULL): that assignment. Returns 0, NAC_ERR_ARG, NAC_ERR_NOMEM. */
int nac_vq_train(float *cb, double *mse, int32_t *labels, const float *x, size_t N, int K, int M,
                 const nac_vq_train_opts *o, nac_error *err);

/* Nearest entry of cb (M, K) for each row of x (N, K): labels (N), and the mean squared error
 * per element (mse, may be NULL), from exact differences. Parallel over rows. */
int nac_vq_assign(int32_t *labels, double *mse, const float *x, const float *cb, size_t N, int K, int M,
                  nac_error *err);

#endif
