/* nac vqvae: running a trained VQ-VAE on vocoder feature rows (a model written by `nac vqvae
 * train`). ncat feature frames (rows of K values, as the .f32 files of nac/vq.h) make one latent
 * step; a causal convolutional encoder maps them to a D-dim latent, a residual VQ of S stages of M
 * entries quantises it, and a causal decoder maps it back (docs/vqvae.md).
 * Conventions as in nac.h: functions return a nac_status (0 = NAC_OK, negative = error) with
 * detail in the caller's nac_error (may be NULL); the model is an opaque handle.
 * Threading: a loaded model is only read by nac_vqvae_run: share it between threads. */
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
    int k;        /* K: features per frame (row) */
    int ncat;     /* frames per latent step */
    int dim;      /* D: latent dimension */
    int stages;   /* S: residual VQ stages (0: an autoencoder without quantiser) */
    int entries;  /* M: entries per stage */
    long step;    /* training steps so far */
} nac_vqvae_info;

/* Loads a model file into *out (the caller destroys it). with_optimizer 1 also loads the AdamW
 * moments (to resume training), 0 for inference. NAC_ERR_IO, NAC_ERR_FORMAT, NAC_ERR_CORRUPT,
 * NAC_ERR_TRUNCATED, NAC_ERR_MODEL (not a VQ-VAE, missing tensor, bad config), NAC_ERR_NOMEM. */
int nac_vqvae_load(nac_vqvae **out, const char *path, int with_optimizer, nac_error *err);
/* The same from a model file's bytes in memory (read while loading; not kept). */
int nac_vqvae_load_mem(nac_vqvae **out, const void *data, size_t size, int with_optimizer, nac_error *err);
void nac_vqvae_destroy(nac_vqvae *m);

void nac_vqvae_get_info(const nac_vqvae *m, nac_vqvae_info *info);
/* Stage s's codebook (M, D), owned by the model (valid while it lives); NULL when s is not a stage
 * (0 <= s < S). */
const float *nac_vqvae_codebook(const nac_vqvae *m, int s);

/* Options of a run. quantise: 1 uses the VQ (when the model has one), 0 bypasses it. noise_var:
 * variance of Gaussian noise added to the (quantised) latent, from seed. latent_in (Tg, D): when
 * not NULL it replaces encoder and quantiser (injected latents). latent_out (Tg, D): when not NULL
 * receives the encoder's latent before noise and quantisation. codes (Tg, S) may be NULL. */
typedef struct nac_vqvae_fwd {
    int quantise;
    float noise_var;
    uint64_t seed;
    const float *latent_in;
    float *latent_out;
    int32_t *codes;
} nac_vqvae_fwd;

/* Runs a whole feature sequence x (T, K) through the model into y (T, K). The last latent step is
 * completed by repeating the last frame; Tg = nac_vqvae_latent_rows(m, T). Allocates and frees its
 * own workspace. NAC_ERR_ARG, NAC_ERR_NUMERIC, NAC_ERR_NOMEM. */
int nac_vqvae_run(float *y, const nac_vqvae *m, const float *x, size_t T, const nac_vqvae_fwd *opt,
                  nac_error *err);

/* Latent steps for T frames: ceil(T / ncat). */
size_t nac_vqvae_latent_rows(const nac_vqvae *m, size_t T);

#ifdef __cplusplus
}
#endif
#endif
