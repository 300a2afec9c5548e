/* The enhancement network: a causal frame-rate spectral gain model (RNNoise / DeepFilterNet
 * style). STFT of the degraded input X (F = n_fft/2+1 bins, causal framing of dsp/stft.h);
 * features ln(|X|^2 + 1e-9) / 8 (B, F, Tf) -> causal conv (C, F, Kin) -> `blocks` causal
 * ConvNeXt blocks (C, hidden H, kernel K) -> pointwise conv to G gains per frame,
 * g = gain_max * sigmoid(z). The output spectrum is Y = g[0:F] * X, plus for bandwidth extension
 * g[F:2F] * E, where the excitation E repeats the source band [excite_lo, excite_hi) of X upward
 * from excite_hi (an even bin shift keeps the phase consistent across hops of n_fft/2), so the
 * network shapes new content from the band it has. Inverse STFT gives the waveform.
 * Loss: compressed-magnitude and compressed-complex spectral distances (exponent 0.3), plus an
 * inverse-SNR term on the complex spectrum.
 * Layouts (B, C, T) with T fastest, as everywhere in nac. */
#ifndef NAC_ENHANCE_ENHANCE_NET_H
#define NAC_ENHANCE_ENHANCE_NET_H

#include <stddef.h>

#include "dsp/stft.h"
#include "format/weights.h"
#include "model/convnext.h"
#include "nac/enhance.h"
#include "nn/params.h"

#define NAC_ENH_MAX_BLOCKS 16

typedef struct nac_enh_config {
    int task;             /* nac_enhance_task */
    int sample_rate;      /* 16000 */
    int n_fft, hop;       /* 320, 160 (hop must be n_fft/2) */
    int channels, hidden, blocks, kernel, in_kernel;
    float gain_max;       /* bound of the gains on X */
    float excite_gain_max; /* bound of the gains on E (bwe) */
    int excite_lo, excite_hi; /* bwe: source bins [lo, hi), hi - lo even; 0, 0: no excitation */
} nac_enh_config;

/* Defaults for a task (the built-in models' architecture). */
void nac_enh_config_default(nac_enh_config *c, int task);
/* NAC_OK or NAC_ERR_ARG / NAC_ERR_MODEL with the reason. */
int nac_enh_config_check(const nac_enh_config *c, nac_error *err);
static inline int nac_enh_bins(const nac_enh_config *c) { return c->n_fft / 2 + 1; }
static inline int nac_enh_gains(const nac_enh_config *c)
{
    return c->excite_hi > c->excite_lo ? 2 * nac_enh_bins(c) : nac_enh_bins(c);
}

typedef struct nac_enh_net {
    nac_enh_config cfg;
    nn_params p;
    int in_w, in_b, out_w, out_b;
    nac_convnext blk[NAC_ENH_MAX_BLOCKS];
    nac_stft *stft; /* sqrt-Hann, n_fft, hop */
} nac_enh_net;

int nac_enh_net_create(nac_enh_net **out, const nac_enh_config *c, int with_optimizer, nac_error *err);
void nac_enh_net_init(nac_enh_net *n, uint64_t seed);
void nac_enh_net_destroy(nac_enh_net *n);
/* Parameters of the network (the arena's alignment padding not counted). */
size_t nac_enh_net_params(const nac_enh_net *n);

/* Save: config keys "enhance.<key>", parameters under their table names, AdamW moments when
 * with_optimizer, plus extra key/value pairs (NULL-terminated list, may be NULL). */
int nac_enh_net_save(const nac_enh_net *n, const char *path, int with_optimizer, nac_dtype params_dtype,
                     const char *const *extra, nac_error *err);
/* NAC_ERR_MODEL when w is not an enhancement model. */
int nac_enh_config_from_weights(nac_enh_config *c, const nac_weights *w, nac_error *err);
int nac_enh_net_from_weights(nac_enh_net **out, const nac_weights *w, int with_optimizer, nac_error *err);
/* The built-in model file of task (src/enhance/builtin.c): its bytes in the library's read-only
 * data. NAC_ERR_ARG (unknown task) or NAC_ERR_MODEL (a build without it). */
int nac_enh_builtin_bytes(int task, const void **data, size_t *size, nac_error *err);

/* Excitation of one frame: er, ei (F) from xr, xi (F); zero below excite_hi. Strided access:
 * element f of a frame is at [f * stride]. */
void nac_enh_excite(float *er, float *ei, const float *xr, const float *xi, const nac_enh_config *c, size_t stride);

/* ---- batch training ------------------------------------------------------------------------- */

typedef struct nac_enh_train nac_enh_train;

/* Workspace for batches of B signals of T samples (T a multiple of hop). */
int nac_enh_train_create(nac_enh_train **out, nac_enh_net *n, int B, int T, nac_error *err);
void nac_enh_train_destroy(nac_enh_train *w);
/* Forward on degraded x (B, T); the output spectrum stays in the workspace. With y != NULL also
 * the waveform y (B, T) by inverse STFT (output k + n_fft - hop restores input k). */
void nac_enh_train_forward(nac_enh_train *w, const float *x, float *y);
/* Loss against clean s (B, T): the spectral loss (see above; mean over bins and frames) plus w_snr
 * times the mean over examples of e = sum |Y - S|^2 / sum |S|^2 (an inverse SNR), or of log10(e)
 * when snr_log (minus the SNR in bels: every input level counts alike), and its gradient into the
 * parameters' grad arena (accumulated; zero it first). Returns the loss. */
double nac_enh_train_backward(nac_enh_train *w, const float *s, float w_cplx, float w_snr, int snr_log);

/* The spectral loss alone: mean over n bins of (|Y|^c - |S|^c)^2 + w_cplx |Y|Y|^(c-1) - S|S|^(c-1)|^2,
 * c = 0.3; overwrites dyr, dyi (n) with its gradient. */
double nac_enh_spec_loss(float *dyr, float *dyi, const float *yr, const float *yi, const float *sr, const float *si,
                         size_t n, float w_cplx);

#endif
