/* A VQ-VAE on vocoder feature files (rate-K vectors in dB, one row per frame): ncat frames are
 * concatenated into one latent step, a causal convolutional encoder maps them to a D-dim latent
 * (tanh-bounded), optional Gaussian noise stands in for a quantiser, a straight-through residual VQ
 * (vq/rvq.h: S stages of M entries, k-means initialised, codebook losses or EMA, dead-code restart)
 * quantises it, and a causal convolutional decoder maps it back (van den Oord et al. 2017; Codec 2
 * ML experiments, seeds 000 and 002). Features are normalised per dimension (mean, std of the
 * training data, kept in the model); the loss is the mean squared error in dB^2.
 * Layouts: features (B, T, K) rows as in the .f32 files, activations (B, C, Tg) with Tg = T / ncat,
 * latents (Tg, D) rows. */
#ifndef NAC_VQVAE_VQVAE_H
#define NAC_VQVAE_VQVAE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "nn/params.h"
#include "vq/rvq.h"

typedef struct nac_vqvae_config {
    int k;            /* K, features per frame (20) */
    int ncat;         /* frames concatenated per latent step, 1..16 */
    int dim;          /* D, latent dimension */
    int hidden;       /* channels of the hidden convolutions (128) */
    int kernel;       /* kernel of the hidden convolutions (3; causal) */
    int stages;       /* S residual VQ stages, 0 = no quantiser (an autoencoder) */
    int entries;      /* M entries per stage */
    int ema;          /* 1: EMA codebooks, 0: codebook loss */
    float commitment; /* commitment weight (0.25) */
    float dead;       /* dead-code restart threshold on the EMA usage count (0 = never; 1) */
} nac_vqvae_config;

/* K 20, ncat 1, D 10, hidden 128, kernel 3, S 2, M 512, codebook loss, commitment 0.25, dead 1. */
void nac_vqvae_config_default(nac_vqvae_config *c);

typedef struct nac_vqvae {
    nac_vqvae_config cfg;
    nn_params p;          /* the tensor table (enc.*, dec.*, vq.*) */
    nac_rvq_layout rvq;   /* offsets into p.data (valid when cfg.stages > 0) */
    float *rvq_state;     /* EMA counts/sums (rvq.state_floats) */
    float *mean, *std;    /* (K) feature normalisation */
    long step;            /* training steps so far */
} nac_vqvae;

/* Creates a model with initialised weights (seeded), normalisation mean 0, std 1. with_optimizer
 * allocates AdamW moments. NAC_ERR_ARG for a bad config, NAC_ERR_NOMEM. */
int nac_vqvae_create(nac_vqvae **out, const nac_vqvae_config *cfg, int with_optimizer, uint64_t seed,
                     nac_error *err);
void nac_vqvae_destroy(nac_vqvae *m);

/* Saves config, normalisation, parameters, VQ state and (with_moments and if present) the AdamW
 * moments to a weight file (atomically). */
int nac_vqvae_save(const nac_vqvae *m, const char *path, int with_moments, nac_error *err);
/* Loads a file written by nac_vqvae_save (format "nac-vqvae"). NAC_ERR_IO, NAC_ERR_FORMAT,
 * NAC_ERR_MODEL (not a VQ-VAE, missing tensor, bad config), ... */
int nac_vqvae_load(nac_vqvae **out, const char *path, int with_optimizer, nac_error *err);

/* Per-dimension mean and std of x (N, K) into the model's normalisation (std floored at 1e-3). */
void nac_vqvae_set_norm(nac_vqvae *m, const float *x, size_t N);

/* ---- forward/backward on batches --------------------------------------------------------- */

typedef struct nac_vqvae_work nac_vqvae_work;

/* Workspace for batches of up to B sequences of Tg latent steps (B * Tg * ncat frames). It takes
 * the loss scale from the model's normalisation: set that (nac_vqvae_set_norm) first. */
int nac_vqvae_work_create(nac_vqvae_work **out, const nac_vqvae *m, int B, int Tg, nac_error *err);
void nac_vqvae_work_destroy(nac_vqvae_work *w);

typedef struct nac_vqvae_loss {
    double mse;      /* mean over frames and K of (y - x)^2, dB^2 */
    double vq;       /* the residual VQ's weighted losses (rvq losses.total) */
    double total;    /* mse * K / (sum of the feature variances) + vq: what backward
                        differentiates (the dB^2 on the scale of unit-variance features) */
} nac_vqvae_loss;

/* Options of one forward. quantise: 0 bypasses the VQ (warm-up before k-means initialisation).
 * noise_var: variance of Gaussian noise added to the (quantised) latent. latent_in (B*Tg, D): when
 * not NULL it replaces encoder and quantiser (injected latents). latent_out (B*Tg, D): when not
 * NULL receives the encoder's latent before noise and quantisation. codes (B*Tg, S) may be NULL. */
typedef struct nac_vqvae_fwd {
    int quantise;
    float noise_var;
    uint64_t seed;
    const float *latent_in;
    float *latent_out;
    int32_t *codes;
} nac_vqvae_fwd;

/* y (B, T, K) = model(x (B, T, K)) with T = Tg * ncat, B and Tg within the workspace. loss may be
 * NULL. Saves what backward needs. NAC_ERR_ARG, NAC_ERR_NUMERIC. */
int nac_vqvae_forward(float *y, nac_vqvae_loss *loss, nac_vqvae_work *w, const float *x, int B, int Tg,
                      const nac_vqvae_fwd *opt, nac_error *err);
/* Accumulates d(loss.total)/d(params) into m->p.grad for the last forward (which must not have
 * used latent_in). */
int nac_vqvae_backward(nac_vqvae_work *w, nac_error *err);
/* After the optimiser step: EMA codebooks and dead-code restarts (no-op without VQ or when the
 * last forward did not quantise). */
int nac_vqvae_update_vq(nac_vqvae_work *w, uint64_t seed, nac_error *err);
/* k-means initialisation of the codebooks from the encoder's latents of x (B, Tg*ncat, K), B*Tg >= M. */
int nac_vqvae_kmeans_init(nac_vqvae_work *w, const float *x, int B, int Tg, int iters, uint64_t seed,
                          nac_error *err);

/* ---- whole files ------------------------------------------------------------------------ */

/* Runs a whole feature sequence x (T, K) through the model: y (T, K). The last latent step is
 * completed by repeating the last frame. Tg = ceil(T / ncat) latent rows go to latent_out (Tg, D)
 * (may be NULL) or come from latent_in (Tg, D) (may be NULL); quantise 1 uses the VQ (when the
 * model has one). Allocates its own workspace. */
int nac_vqvae_run(float *y, const nac_vqvae *m, const float *x, size_t T, const nac_vqvae_fwd *opt,
                  nac_error *err);

/* Latent steps for T frames: ceil(T / ncat). */
size_t nac_vqvae_latent_rows(const nac_vqvae *m, size_t T);

#endif
