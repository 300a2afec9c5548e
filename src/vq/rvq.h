/* Residual vector quantiser (RVQ) layer of the neural codec: S stages, each maps its residual to
 * the nearest of M codebook entries; the quantised latent is the sum of the stage outputs.
 * Optional factorised codes (DAC, Kumar et al. 2023): per stage a linear D -> code_dim, lookup of
 * the L2-normalised projection against the L2-normalised codebook, linear code_dim -> D.
 * Straight-through gradients, codebook and commitment losses (VQ-VAE, van den Oord et al. 2017),
 * optional EMA codebooks with dead-code restart (SoundStream/EnCodec), quantizer dropout.
 * Layouts: latents as rows (N, D) (N = latent frames of the batch), codes (N, S) int32.
 *
 * Tensors: the learnable ones live in the caller's parameter arena, the EMA/usage statistics in a
 * caller-owned state block (floats). nac_rvq_layout() lists both with shapes and init, and offsets
 * (in floats) from the base pointers passed to every call; the caller may overwrite the offsets
 * with where it actually put each tensor (gradients use the same offsets from the grads base).
 * Threads: calls parallelise internally with OpenMP over rows or outputs; results are identical
 * for any thread count. Two calls may run at once only on different workspaces/states. */
#ifndef NAC_VQ_RVQ_H
#define NAC_VQ_RVQ_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define NAC_RVQ_MAX_STAGES 48
#define NAC_RVQ_MAX_DIM 1024 /* upper bound for dim and code_dim */

typedef struct nac_rvq_config {
    int n_stages;            /* S, 1..NAC_RVQ_MAX_STAGES */
    int dim;                 /* D, latent dimension, 1..NAC_RVQ_MAX_DIM */
    int codebook_size;       /* M entries per stage, 2..65536 (e.g. 1024) */
    int code_dim;            /* 0: plain (lookup in D dims); > 0: factorised (e.g. 8) */
    int ema;                 /* 1: codebooks follow an EMA of their assigned vectors (no codebook
                                gradient, codebook_weight unused); 0: trained by gradient */
    float ema_decay;         /* EMA decay of counts and sums (0.99) */
    float ema_eps;           /* Laplace smoothing of EMA counts (1e-5) */
    float commitment_weight; /* weight of ||z_e - sg(z_q)||^2 (0.25) */
    float codebook_weight;   /* weight of ||sg(z_e) - z_q||^2 (1.0; unused with ema) */
    float dead_threshold;    /* restart entries whose EMA usage count (assignments per batch,
                                decayed by ema_decay) falls below this; 0 = never (2.0) */
} nac_rvq_config;

/* Defaults: S 12, D 128, M 1024, code_dim 8, ema 0, decay 0.99, eps 1e-5, commitment 0.25,
 * codebook 1.0, dead_threshold 0 (DAC-style; set ema = 1, code_dim = 0, dead_threshold = 2 for
 * EnCodec-style). */
void nac_rvq_config_default(nac_rvq_config *cfg);

/* Tensor descriptions -------------------------------------------------------------------- */

/* Indices into nac_rvq_layout.params (only CODEBOOK exists when code_dim == 0). */
enum { NAC_RVQ_CODEBOOK = 0, NAC_RVQ_IN_W, NAC_RVQ_IN_B, NAC_RVQ_OUT_W, NAC_RVQ_OUT_B, NAC_RVQ_N_PARAMS };
/* Indices into nac_rvq_layout.state (EMBED_SUM exists only when ema == 1). */
enum { NAC_RVQ_COUNT = 0, NAC_RVQ_EMBED_SUM, NAC_RVQ_N_STATE };

typedef enum nac_rvq_init {
    NAC_RVQ_INIT_ZERO = 0,
    NAC_RVQ_INIT_NORMAL,  /* N(0, scale^2) */
    NAC_RVQ_INIT_UNIFORM  /* U(-scale, scale) */
} nac_rvq_init;

typedef struct nac_rvq_tensor {
    const char *name;   /* name suffix (static string): "codebook", "in_w", "in_b", "out_w",
                           "out_b"; state: "ema_count", "ema_sum" */
    int ndim;
    int shape[3];
    nac_rvq_init init;  /* how to initialise (state tensors: use nac_rvq_state_init instead) */
    float scale;
    int decay;          /* 1 if weight decay should apply */
    size_t count;       /* number of floats */
    size_t offset;      /* floats from the base pointer; dense by default, caller may change */
} nac_rvq_tensor;

/* With Dc = code_dim if code_dim > 0 else D:
 *   codebook (S, M, Dc)   in_w (S, Dc, D)   in_b (S, Dc)   out_w (S, D, Dc)   out_b (S, D)
 *   ema_count (S, M)      ema_sum (S, M, Dc)
 * Linear weights are (OUT, IN) as PyTorch. */
typedef struct nac_rvq_layout {
    nac_rvq_config cfg;
    int n_params;                            /* 1 (plain) or 5 (factorised) */
    nac_rvq_tensor params[NAC_RVQ_N_PARAMS];
    size_t param_floats;                     /* dense total of the learnable tensors */
    int n_state;                             /* 1, or 2 with ema */
    nac_rvq_tensor state[NAC_RVQ_N_STATE];
    size_t state_floats;                     /* dense total of the state tensors */
} nac_rvq_layout;

/* Checks cfg and fills lay (a copy of cfg, the tensor list with dense offsets).
 * Returns 0, or NAC_ERR_ARG with detail for an invalid config. */
int nac_rvq_param_layout(nac_rvq_layout *lay, const nac_rvq_config *cfg, nac_error *err);

/* Initialises the learnable tensors as described (normal/uniform from seed), for callers that do
 * not initialise through their own tensor table. */
void nac_rvq_params_init(float *params, const nac_rvq_layout *lay, uint64_t seed);

/* Initialises the state from the current codebooks: usage counts = 1 (so no entry counts as
 * dead before dead_threshold > 1 has been undershot for a while), EMA sums = codebook. */
void nac_rvq_state_init(float *state, const float *params, const nac_rvq_layout *lay);

/* Training ------------------------------------------------------------------------------- */

typedef struct nac_rvq_losses {
    double commitment; /* sum over stages of mean over (rows, Dc) of ||z_e - z_q||^2, rows past
                          their n_active counted as 0 (DAC's masked mean) */
    double codebook;   /* same value (differs only in gradient); 0 with ema */
    double total;      /* commitment_weight * commitment + codebook_weight * codebook (ema: the
                          commitment term only); what backward differentiates */
    double stage_mse[NAC_RVQ_MAX_STAGES]; /* per stage: mean over active rows of the
                          squared residual in D dims after that stage (diagnostic) */
} nac_rvq_losses;

/* Bytes of workspace for forward/backward/update with up to max_n rows. The caller allocates
 * it once (64-byte aligned, e.g. nac_alloc) and passes it to every training call. */
size_t nac_rvq_workspace_size(const nac_rvq_config *cfg, int max_n);

/* Training forward (codes and loss may be NULL). zq (N, D) = sum over active stages of the
 * stage outputs; codes (N, S): entry index, -1 for stages s >= n_active[n]. n_active (N): active stages per row (quantizer
 * dropout; values clamped to [0, S]); NULL means all S. Saves in ws what backward and update
 * need; ws must not be reused before those. N <= max_n of the workspace size.
 * Returns 0, NAC_ERR_ARG (sizes), NAC_ERR_NUMERIC (non-finite input). */
int nac_rvq_forward(float *zq, int32_t *codes, nac_rvq_losses *loss, void *ws,
                    const float *z, const int *n_active, const float *params,
                    const nac_rvq_layout *lay, int N, nac_error *err);

/* Backward of the last forward on ws (also uses ws as scratch, keeping what the forward
 * saved, so backward may be called more than once). dz (N, D) += d(loss)/dz, grads (arena
 * base, same offsets as params) += parameter gradients, for loss = <dzq, zq> + losses.total.
 * Straight-through at each stage; gradients flow through the residual chain as in DAC.
 * Backward accumulates; the caller zeroes grads. */
int nac_rvq_backward(float *dz, float *grads, const float *dzq, void *ws,
                     const float *params, const nac_rvq_layout *lay, int N, nac_error *err);

/* After the optimiser step: updates usage counts from the last forward's codes, applies the EMA
 * codebook update (ema == 1), and restarts entries whose count is below dead_threshold with
 * randomly chosen stage inputs of the last forward (code-space vectors; chosen with seed).
 * Call it after every training step (cheap); the forward's ws must be unchanged since.
 * Writes params (codebook) and state. n_restarted (S) may be NULL. */
int nac_rvq_update(float *params, float *state, int *n_restarted, const void *ws,
                   const nac_rvq_layout *lay, uint64_t seed, nac_error *err);

/* What the last forward on ws saved for nac_rvq_update (pointers into ws, valid until its next
 * forward): N rows, n_active (N), the code-space stage inputs X (S, N, Dc) and codes idx (S, N),
 * stage-major. Data-parallel training gathers them from several workspaces. NAC_ERR_STATE when
 * ws holds no forward. */
int nac_rvq_saved(const void *ws, const nac_rvq_layout *lay, int *N, const int **nact, const float **X,
                  const int32_t **idx, nac_error *err);
/* nac_rvq_update on explicit rows laid out as nac_rvq_saved gives them (for rows gathered from
 * several workspaces in a fixed order: the result depends only on the rows, not on where they
 * were computed). */
int nac_rvq_update_rows(float *params, float *state, int *n_restarted, const nac_rvq_layout *lay, int N,
                        const int *nact, const float *X, const int32_t *idx, uint64_t seed, nac_error *err);
/* k-means initialisation of all codebooks from latents z (N, D) (e.g. the first batches),
 * stage by stage on the residuals; factorised: spherical k-means on the normalised projections.
 * iters Lloyd iterations after k-means++ seeding. Also resets state (counts = cluster sizes).
 * Needs N >= M. Allocates its own scratch. */
int nac_rvq_kmeans_init(float *params, float *state, const float *z, const nac_rvq_layout *lay,
                        int N, int iters, uint64_t seed, nac_error *err);

/* Usage statistics ------------------------------------------------------------------------ */

typedef struct nac_rvq_usage {
    double perplexity; /* exp(entropy) of the code distribution, 1..M */
    int n_used;        /* entries with nonzero count */
} nac_rvq_usage;

/* Per stage (S) from codes (N, S) (entries < 0 skipped). */
void nac_rvq_code_usage(nac_rvq_usage *usage, const int32_t *codes, const nac_rvq_layout *lay, int N);
/* Per stage (S) from the EMA usage counts in state (n_used: entries whose count is at least
 * dead_threshold, or when that is 0, at least 1% of the mean count). */
void nac_rvq_state_usage(nac_rvq_usage *usage, const float *state, const nac_rvq_layout *lay);

/* Inference ------------------------------------------------------------------------------- */

/* Immutable inference tables built from params (normalised, packed codebooks; per-entry stage
 * outputs). Shareable across threads. */
typedef struct nac_rvq_coder nac_rvq_coder;

nac_rvq_coder *nac_rvq_coder_create(const float *params, const nac_rvq_layout *lay, nac_error *err);
/* The same tables without a copy: the codebooks and projections are read in place from params, and
 * packed (packed_floats floats, as nac_rvq_coder_packed gives them) is the packed lookup. Both must
 * outlive the coder and never change (a model image). NULL with err set on a mismatch. */
nac_rvq_coder *nac_rvq_coder_borrow(const float *params, const nac_rvq_layout *lay, const float *packed,
                                    size_t packed_floats, nac_error *err);
/* The packed lookup tables of c and their size in floats (to store them in a model image). */
const float *nac_rvq_coder_packed(const nac_rvq_coder *c, size_t *floats);
void nac_rvq_coder_destroy(nac_rvq_coder *c);

/* codes (N, n_q) for the first n_q stages (1..S) of z (N, D). Allocation-free, deterministic,
 * each row independent of the others (chunk-independent), equal to the training forward's codes.
 * Returns 0, NAC_ERR_ARG, NAC_ERR_NUMERIC. */
int nac_rvq_encode(int32_t *codes, const float *z, const nac_rvq_coder *c, int N, int n_q,
                   nac_error *err);
/* zq (N, D) = sum of the first n_q stage outputs for codes (N, n_q). NAC_ERR_ARG for a code
 * outside [0, M). */
int nac_rvq_decode(float *zq, const int32_t *codes, const nac_rvq_coder *c, int N, int n_q,
                   nac_error *err);

/* Bit packing ----------------------------------------------------------------------------- */

/* Bytes for n codes of `bits` bits: ceil(n * bits / 8). */
size_t nac_rvq_packed_bytes(size_t n, int bits);
/* Packs n codes (each in [0, 2^bits), bits 1..31) into out MSB-first, as one bit stream (code i
 * occupies bits [i*bits, (i+1)*bits)); the last byte is zero-padded. Pack one frame of S codes
 * per call for byte-aligned frames. NAC_ERR_ARG for a code out of range. */
int nac_rvq_pack(uint8_t *out, const int32_t *codes, size_t n, int bits, nac_error *err);
/* Inverse of nac_rvq_pack: reads n codes from in (n_bytes long). NAC_ERR_TRUNCATED if short. */
int nac_rvq_unpack(int32_t *codes, const uint8_t *in, size_t n_bytes, size_t n, int bits,
                   nac_error *err);

#endif
