/* nac vq: vector quantisation on feature vectors. Codebook training (k-means with greedy
 * k-means++ seeding and restarts, or LBG splitting), nearest-entry assignment, multi-stage VQ with
 * M-best search (as Codec 2's vq_mbest), and raw float32 feature files (Codec 2's layout: no
 * header, little-endian, rows of K floats).
 * Vectors are rows: x (N, K) with K fastest; a codebook is (M, K).
 * Conventions as in nac.h: functions return a nac_status (0 = NAC_OK, negative = error) with
 * detail in the caller's nac_error (may be NULL).
 * Threading: every function may run concurrently with any other on different data (no global
 * state). nac_vq_train, nac_vq_assign and nac_msvq_quantize split their rows over an OpenMP team
 * of omp_get_max_threads() threads (OMP_NUM_THREADS, omp_set_num_threads); their results are
 * identical for any thread count. */
#ifndef NAC_VQ_H
#define NAC_VQ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nac/nac.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- codebook training --------------------------------------------------------------------------
 * k-means: greedy k-means++ seeding (Arthur & Vassilvitskii 2007), then Lloyd iterations,
 * optionally restarted keeping the best; or LBG splitting (Linde, Buzo & Gray 1980). Empty cells
 * are refilled by splitting the most populated cell (its centre stays, a perturbed copy takes the
 * empty slot), so the error never rises from one iteration to the next. Updates sum each cell's
 * members in row order (double). */

typedef enum nac_vq_init_method {
    NAC_VQ_INIT_KMEANSPP = 0, /* greedy k-means++ seeding (on a random subset of at most
                                 max(256 M / candidates, 65536) rows):
                                 each new centre is the best of several D^2-sampled candidates */
    NAC_VQ_INIT_SPLIT,        /* LBG: start from the mean, double the entries up to M (the splits
                                 go to the cells of largest distortion per entry), Lloyd at each size */
    NAC_VQ_INIT_GIVEN         /* start from the codebook passed in */
} nac_vq_init_method;

/* What the progress callback sees after each Lloyd iteration. */
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
    uint64_t seed;      /* every random choice follows from it */
    int spherical;      /* 1: L2-normalise centres after each update (data on the unit sphere) */
    int candidates;     /* KMEANSPP: candidates per new centre, the one lowering the potential most
                           is kept; 0 = 2 + floor(2 ln M), 1 = classic k-means++, at most 64 */
    int restarts;       /* KMEANSPP: seedings + Lloyd runs; the lowest final error wins (>= 1) */
    /* Called after every iteration, from the thread that called nac_vq_train (never from the
     * OpenMP team); may be NULL. ctx is passed through. */
    void (*progress)(void *ctx, const nac_vq_iter_info *it);
    void *ctx;
} nac_vq_train_opts;

/* KMEANSPP (greedy, 1 restart), 20 iterations, min_gain 1e-4, split_eps 0.01, seed 1, no progress. */
void nac_vq_train_opts_default(nac_vq_train_opts *o);

/* Trains cb (M, K) on x (N, K) (finite values; N >= M). With NAC_VQ_INIT_GIVEN cb holds the start.
 * mse (may be NULL): the mean squared error per element of the final codebook (a last assignment
 * after the final update); labels (N, may be NULL): that assignment. All arrays belong to the
 * caller; scratch is allocated and freed inside. o may not be NULL (fill it with
 * nac_vq_train_opts_default). Deterministic for a given seed. NAC_ERR_ARG (bad sizes or
 * options), NAC_ERR_NOMEM. */
int nac_vq_train(float *cb, double *mse, int32_t *labels, const float *x, size_t N, int K, int M,
                 const nac_vq_train_opts *o, nac_error *err);

/* The nearest entry of cb (M, K) for each row of x (N, K): labels (N), and the mean squared error
 * per element (mse, may be NULL), from exact differences. Ties go to the lowest index.
 * NAC_ERR_ARG, NAC_ERR_NOMEM. */
int nac_vq_assign(int32_t *labels, double *mse, const float *x, const float *cb, size_t N, int K, int M,
                  nac_error *err);

/* ---- multi-stage VQ with M-best search ----------------------------------------------------------
 * Each stage quantises the residual of the previous ones; the mbest lowest-error partial paths
 * survive to the next stage, and the best full path wins. mbest = 1 is greedy search; mbest >= the
 * product of all but the last stage's sizes is exhaustive search. */

#define NAC_MSVQ_MAX_STAGES 64
#define NAC_MSVQ_MAX_MBEST 4096

typedef struct nac_msvq nac_msvq;

/* Copies and packs n_stages (1..NAC_MSVQ_MAX_STAGES) codebooks cbs[s] (M[s], K): cbs need not
 * outlive the call. Returns the quantiser (the caller destroys it), or NULL with err set
 * (NAC_ERR_ARG, NAC_ERR_NOMEM). The quantiser is immutable: share it between threads. */
nac_msvq *nac_msvq_create(const float *const *cbs, const int *M, int n_stages, int K, nac_error *err);
void nac_msvq_destroy(nac_msvq *q);

/* Quantises x (N, K, finite). out (N, K): the sum of the chosen entries (may be NULL); idx (N, S):
 * the chosen entry of each stage (may be NULL); stage_se (S): += the squared error (summed over
 * rows and elements) left after each stage along the chosen path (may be NULL; the caller zeroes
 * it once, so calls on successive blocks accumulate). mbest in 1..NAC_MSVQ_MAX_MBEST.
 * NAC_ERR_ARG, NAC_ERR_NOMEM. */
int nac_msvq_quantize(float *out, int32_t *idx, double *stage_se, const float *x, const nac_msvq *q,
                      size_t N, int mbest, nac_error *err);

/* ---- raw float32 feature files ------------------------------------------------------------------
 * No header, little-endian float32, rows of K values. Readers check the length (a whole number of
 * rows, not empty) and that every value is finite; name labels messages ("stdin: row 7 ..."). */

/* Reads all of path ("-" = stdin) as rows of K floats into *out (N, K), *n_rows = N. *out is
 * 64-byte aligned and belongs to the caller: release it with free(). max_bytes > 0 refuses larger
 * files with NAC_ERR_NOMEM and a message saying so (0: no limit). Errors: NAC_ERR_ARG (K < 1),
 * NAC_ERR_IO (cannot open or read), NAC_ERR_EMPTY, NAC_ERR_FORMAT (length not a multiple of 4 K),
 * NAC_ERR_NUMERIC (NaN or infinity, naming row and column), NAC_ERR_NOMEM. */
int nac_vq_f32_read(float **out, size_t *n_rows, const char *path, int K, size_t max_bytes,
                    nac_error *err);

/* Streaming: reads up to max_rows rows of K floats from f into x (max_rows, K); *n_rows = rows
 * read (0 at end of file). row0 is the index of the first row in the stream, for messages.
 * NAC_ERR_FORMAT when the stream ends inside a row, NAC_ERR_NUMERIC for NaN or infinity,
 * NAC_ERR_IO for a read error. f stays open. */
int nac_vq_f32_read_rows(float *x, size_t *n_rows, FILE *f, int K, size_t max_rows, size_t row0,
                         const char *name, nac_error *err);

/* Writes x (N, K) to the open stream f as little-endian float32 (f stays open, not flushed), or to
 * path ("-" = stdout). NAC_ERR_IO on failure. */
int nac_vq_f32_write_rows(FILE *f, const float *x, size_t N, int K, const char *name, nac_error *err);
int nac_vq_f32_write(const char *path, const float *x, size_t N, int K, nac_error *err);

/* NAC_OK when x (N, K) is finite; NAC_ERR_NUMERIC naming row0 + row and column otherwise. */
int nac_vq_f32_check_finite(const float *x, size_t N, int K, size_t row0, const char *name,
                            nac_error *err);

#ifdef __cplusplus
}
#endif
#endif
