/* nac VQ-VAE: running a trained VQ-VAE (`nac vqvae train`, docs/vqvae.md) on feature rows, e.g.
 * rate-K vectors in dB, one row of k floats per frame. Conventions as in nac.h: functions return a
 * nac_status (0 = NAC_OK, negative = error) with detail in the caller's nac_error.
 *
 * A loaded model is not changed by running it: share one between threads for nac_vqvae_run (each
 * call allocates its own workspace). Training is in include/nac/train.h (nac_vqvae_train_run). */
#ifndef NAC_VQVAE_H
#define NAC_VQVAE_H

#include <stddef.h>
#include <stdint.h>

#include "nac/nac.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nac_vqvae nac_vqvae;

typedef struct nac_vqvae_info {
    int k;            /* features per frame (row) */
    int ncat;         /* frames per latent step */
    int dim;          /* latent dimension D */
    int hidden;       /* channels of the hidden convolutions */
    int stages;       /* residual VQ stages (0: no quantiser) */
    int entries;      /* entries per stage */
    size_t n_params;
    long step;        /* training steps */
} nac_vqvae_info;

/* Options of a run. quantise: 0 bypasses the VQ. noise_var: variance of Gaussian noise added to the
 * (quantised) latent, drawn from seed. latent_in (rows, D): when not NULL it replaces encoder and
 * quantiser (injected latents). latent_out (rows, D): when not NULL receives the encoder's latent
 * before noise and quantisation. codes (rows, stages) may be NULL. All arrays are the caller's. */
typedef struct nac_vqvae_fwd {
    int quantise;
    float noise_var;
    uint64_t seed;
    const float *latent_in;
    float *latent_out;
    int32_t *codes;
} nac_vqvae_fwd;

/* Loads a model file written by `nac vqvae train` (with_optimizer 1 also loads the AdamW moments,
 * for training). NAC_ERR_IO, NAC_ERR_FORMAT, NAC_ERR_CORRUPT, NAC_ERR_TRUNCATED, NAC_ERR_MODEL (not a
 * VQ-VAE, missing tensor, bad config), NAC_ERR_NOMEM. *out is the caller's: nac_vqvae_destroy. */
int nac_vqvae_load(nac_vqvae **out, const char *path, int with_optimizer, nac_error *err);
/* NULL is a no-op. */
void nac_vqvae_destroy(nac_vqvae *m);
/* The model's architecture and training steps. */
void nac_vqvae_get_info(nac_vqvae_info *info, const nac_vqvae *m);
/* Runs a whole feature sequence x (T, k) through the model into y (T, k) (caller's arrays). The last
 * latent step is completed by repeating the last frame. nac_vqvae_latent_rows(m, T) latent rows go
 * to opt->latent_out or come from opt->latent_in. NAC_ERR_ARG, NAC_ERR_NUMERIC, NAC_ERR_NOMEM. */
int nac_vqvae_run(float *y, const nac_vqvae *m, const float *x, size_t T, const nac_vqvae_fwd *opt,
                  nac_error *err);
/* Latent steps for T frames: ceil(T / ncat). */
size_t nac_vqvae_latent_rows(const nac_vqvae *m, size_t T);

#ifdef __cplusplus
}
#endif

#endif
