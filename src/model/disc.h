/* Multi-resolution STFT discriminator for the optional adversarial training stage (EnCodec's MS-STFTD,
 * Defossez et al. 2022, reduced to 1-D convolutions over time with frequency bins as channels).
 * Per resolution r (n_fft N_r, hop N_r/4, Hann), for each row of w (N, T):
 *   zero-pad to whole hops -> STFT -> feat (N, 2F, Tf) = [Re X; Im X] / sqrt(sum win^2)
 *   -> conv (C, 2F, K) -> lrelu -> conv (C, C, K) dil 2 -> lrelu -> conv (C, C, K) dil 4 -> lrelu
 *   -> conv (1, C, K) -> logits (N, 1, Tf).
 * The three post-activation maps are the feature-matching maps. Losses, with rows [0, B) real x and
 * [B, 2B) generated y (N = 2B), averaged over resolutions:
 *   D: mean relu(1 - D(x)) + mean relu(1 + D(y));  G: mean relu(1 - D(y));
 *   FM: mean over (r, layer) of mean|h(y) - h(x)| / mean|h(x)|  (x side treated as constant). */
#ifndef NAC_MODEL_DISC_H
#define NAC_MODEL_DISC_H

#include <stdint.h>

#include "core/status.h"
#include "nn/params.h"

#define NAC_DISC_MAX_RES 4
#define NAC_DISC_LAYERS 4 /* conv layers per resolution; the first three give feature maps */

typedef struct nac_disc_config {
    int n_res;                    /* 1..NAC_DISC_MAX_RES */
    int n_fft[NAC_DISC_MAX_RES];  /* even, >= 8; hop = n_fft / 4 */
    int channels;                 /* C */
    int kernel;                   /* K (odd or even, 1..15) */
    float slope;                  /* leaky ReLU slope */
} nac_disc_config;

/* n_fft 256, 512, 1024; C 64; K 3; slope 0.2. */
void nac_disc_config_default(nac_disc_config *c);

typedef struct nac_disc nac_disc;

/* Builds the tensor table ("d<r>.c<l>.w" (OC, IC, K), "d<r>.c<l>.b" (OC)) and workspace for forwards
 * of up to max_N rows of up to max_T samples (AdamW moments too when with_optimizer). Parameters are
 * zero until nac_disc_init or a load. Returns NAC_OK, NAC_ERR_ARG (bad config or sizes), NAC_ERR_NOMEM. */
int nac_disc_create(nac_disc **out, const nac_disc_config *cfg, int max_N, int max_T, int with_optimizer,
                    nac_error *err);
/* NULL is a no-op. */
void nac_disc_destroy(nac_disc *d);
/* PyTorch-style uniform initialisation from seed. */
void nac_disc_init(nac_disc *d, uint64_t seed);
/* The parameter table (data, grad, AdamW moments): owned by d. */
nn_params *nac_disc_params(nac_disc *d);
const nac_disc_config *nac_disc_get_config(const nac_disc *d);

/* Forward over w (N, T) (N <= max_N, 1 <= T <= max_T), keeping the activations for the losses and
 * backward. Returns NAC_OK or NAC_ERR_ARG. Not thread-safe on one d (OpenMP inside). */
int nac_disc_forward(nac_disc *d, const float *w, int N, int T, nac_error *err);
/* Logits (N, Tf) of resolution r from the last forward (owned by d); *Tf may be NULL. */
const float *nac_disc_logits(const nac_disc *d, int r, int *Tf);

/* Losses on the last forward, which must have had N = 2B rows: [0, B) real, [B, 2B) generated. Each
 * returns its value (double) and replaces the gradient seeds that nac_disc_backward propagates.
 * D loss: seeds on all 2B rows. G loss: w_adv * adversarial + w_fm * feature matching, seeds on the
 * generated rows only; *adv, *fm (may be NULL) get the unweighted terms. */
double nac_disc_loss_d(nac_disc *d, int B);
double nac_disc_loss_g(nac_disc *d, int B, float w_adv, float w_fm, double *adv, double *fm);

/* Backward of the seeded loss over rows [n0, n0 + n) of the last forward. Accumulates (+=) into dw
 * (n, T) (the gradient with respect to those input rows, through the STFT adjoint; NULL to skip) and,
 * when param_grads, into the parameter gradients (zero them first). Returns NAC_OK or NAC_ERR_ARG. */
int nac_disc_backward(nac_disc *d, float *dw, int param_grads, int n0, int n, nac_error *err);

/* Saves parameters, AdamW moments (float32, when allocated) and the config ("disc.*" keys, plus
 * disc.step = step) through the weight format; atomic. Returns NAC_OK, NAC_ERR_IO, NAC_ERR_NOMEM. */
int nac_disc_save(const nac_disc *d, const char *path, long step, nac_error *err);
/* Creates a discriminator from a file written by nac_disc_save (config from the file, workspace for
 * max_N x max_T, with AdamW moments, loaded when present: *had_moments, may be NULL). *step gets
 * disc.step (may be NULL). Returns NAC_OK, NAC_ERR_IO, NAC_ERR_FORMAT, NAC_ERR_MODEL, NAC_ERR_NOMEM... */
int nac_disc_load(nac_disc **out, const char *path, int max_N, int max_T, long *step, int *had_moments,
                  nac_error *err);

#endif
