/* The codec network: parameters (one tensor table) and the training forward/backward over a batch.
 * Signal path (layouts (B, C, T); Tf = T / hop frames, Tl = Tf / down latent frames):
 *   x (B, T) -> causal STFT -> features (B, 3F, Tf): log|X|, and X/|X|^0.7 (real, imaginary)
 *   -> in conv (C, 3F, 1) -> enc_hi ConvNeXt blocks -> down conv (C, C, 2*down) stride down
 *   -> enc_lo blocks -> layernorm -> lat conv (D, C, 1) -> z (B, D, Tl)
 *   -> residual VQ (rows (B*Tl, D)) -> zq
 *   -> din conv (C, D, 3) -> dec_lo blocks -> up conv (C*down, C, 3) -> sub-pixel (B, C, Tf)
 *   -> dec_hi blocks -> layernorm -> head conv ((2 + phase_head) F, C, 1): log-magnitude m, phase p
 *      (an angle, or a 2-vector whose direction it is)
 *   -> X = exp(min(m, MAX)) e^{ip} -> inverse STFT -> y (B, T), y[n] ~ x[n - (n_fft - hop)]. */
#ifndef NAC_MODEL_CODEC_NET_H
#define NAC_MODEL_CODEC_NET_H

#include <stdint.h>

#include "dsp/stft.h"
#include "model/codec_config.h"
#include "model/convnext.h"
#include "nn/conv1d.h"
#include "nn/loss_phase.h"
#include "nn/params.h"
#include "vq/rvq.h"

#define NAC_CODEC_LOGMAG_MAX 8.0f

/* The codec's convolutions outside the ConvNeXt blocks. One definition of their shapes serves
 * the tensor table, the training pass and the streaming coder. */
typedef enum nac_codec_conv_id {
    NAC_CONV_IN,   /* enc.in:   3F -> C, k 1 */
    NAC_CONV_DOWN, /* enc.down: C -> C, k 2*down, stride down */
    NAC_CONV_LAT,  /* enc.lat:  C -> D, k 1 */
    NAC_CONV_DIN,  /* dec.in:   D -> C, k 3 */
    NAC_CONV_UP,   /* dec.up:   C -> C*down, k 3 (then sub-pixel shuffle) */
    NAC_CONV_HEAD  /* dec.head: C -> (2 + phase_head) F, k 1 */
} nac_codec_conv_id;

static inline nn_conv1d nac_codec_conv(const nac_codec_config *c, nac_codec_conv_id id)
{
    int C = c->channels, F = nac_codec_bins(c), D = c->latent_dim;
    switch (id) {
    case NAC_CONV_IN: return (nn_conv1d){3 * F, C, 1, 1, 1, 1};
    case NAC_CONV_DOWN: return (nn_conv1d){C, C, 2 * c->down, c->down, 1, 1};
    case NAC_CONV_LAT: return (nn_conv1d){C, D, 1, 1, 1, 1};
    case NAC_CONV_DIN: return (nn_conv1d){D, C, 3, 1, 1, 1};
    case NAC_CONV_UP: return (nn_conv1d){C, C * c->down, 3, 1, 1, 1};
    default: return (nn_conv1d){C, (2 + c->phase_head) * F, 1, 1, 1, 1};
    }
}

typedef struct nac_codec_net {
    nac_codec_config cfg;
    nn_params p;
    nac_stft *stft;            /* analysis and synthesis: sqrt-Hann n_fft, hop */
    int n_blocks;              /* enc_hi + enc_lo + dec_lo + dec_hi, in that order in blocks[] */
    nac_convnext *blocks;
    int in_w, in_b, down_w, down_b, eln_g, eln_b, lat_w, lat_b;
    int din_w, din_b, up_w, up_b, oln_g, oln_b, head_w, head_b;
    int rvq_idx[NAC_RVQ_N_PARAMS];
    nac_rvq_layout rvq;        /* offsets into p.data / p.grad */
    float *rvq_state;          /* (rvq.state_floats), owned */
} nac_codec_net;

/* Builds the tensor table for cfg and allocates (with AdamW moments when with_optimizer).
 * Parameters are zero until nac_codec_net_init or a load. NAC_ERR_MODEL when cfg exceeds the
 * documented maxima of codec_config.h. */
int nac_codec_net_create(nac_codec_net **out, const nac_codec_config *cfg, int with_optimizer, nac_error *err);
/* The two halves of create: the table only (checked against the maxima; nothing sized by cfg is
 * allocated, so a loader can check a file's tensors against n->p first), then the arenas. */
int nac_codec_net_plan(nac_codec_net **out, const nac_codec_config *cfg, nac_error *err);
int nac_codec_net_alloc(nac_codec_net *n, int with_optimizer, nac_error *err);
/* Instead of alloc, for inference only: the parameters are read in place, the packed copies and
 * the compact arena of the others (kept) as nn_params_borrow takes them; nothing is copied, there
 * is no VQ state, and the memory must outlive n (a model image). */
int nac_codec_net_bind(nac_codec_net *n, const float *kept, size_t kept_floats, const void *const *packed,
                       const size_t *packed_count, int half, nac_error *err);
void nac_codec_net_destroy(nac_codec_net *n);
/* Random initialisation from seed (parameters and VQ state). */
void nac_codec_net_init(nac_codec_net *n, uint64_t seed);

/* Accessors used by the layers' wiring. */
static inline nac_convnext *nac_codec_enc_hi(nac_codec_net *n) { return n->blocks; }
static inline nac_convnext *nac_codec_enc_lo(nac_codec_net *n) { return n->blocks + n->cfg.enc_hi; }
static inline nac_convnext *nac_codec_dec_lo(nac_codec_net *n) { return n->blocks + n->cfg.enc_hi + n->cfg.enc_lo; }
static inline nac_convnext *nac_codec_dec_hi(nac_codec_net *n)
{
    return n->blocks + n->cfg.enc_hi + n->cfg.enc_lo + n->cfg.dec_lo;
}

/* Spectral features of the encoder input: feat (B, 3F, Tf) from re, im (B, F, Tf). */
void nac_codec_features(float *feat, const float *re, const float *im, int B, int F, int Tf);
/* Output spectrum from the head: re, im (B, F, Tf) from head (B, (2 + phase_head) F, Tf):
 * exp(m) e^{i p} (phase_head 0) or exp(m) (a + i b) / |(a, b)| (phase_head 1). */
void nac_codec_polar(float *re, float *im, const float *head, int B, int F, int Tf, int phase_head);

/* The output lags the input by delay = n_fft - hop samples, so losses compare
 * yc = y[:, delay:] with xc = x[:, :T - delay], both (B, T - delay). */
void nac_codec_align(float *yc, float *xc, const float *y, const float *x, int B, int T, int delay);
/* dy (B, T) from the gradient dyc (B, T - delay) of the aligned pair: 0 for the first delay samples
 * (overwrites dy). */
void nac_codec_unalign_grad(float *dy, const float *dyc, int B, int T, int delay);

/* Training workspace for batches up to max_B x max_T samples. */
typedef struct nac_codec_train nac_codec_train;

int nac_codec_train_create(nac_codec_train **out, nac_codec_net *n, int max_B, int max_T, nac_error *err);
void nac_codec_train_destroy(nac_codec_train *w);

/* Forward over x (B, T) (T a multiple of the latent frame size) with n_active (B) VQ stages per
 * example. Returns y (B, T) (owned by w) and fills the VQ losses and codes (B*Tl, S) (owned). */
int nac_codec_train_forward(nac_codec_train *w, const float *x, const int *n_active, int B, int T,
                            const float **y, nac_rvq_losses *vq, nac_error *err);
const int32_t *nac_codec_train_codes(const nac_codec_train *w);
/* After a forward: a level-weighted phase loss (nn/loss_phase.h, p 0.3: the phase itself, its
 * advance in time or its difference across bins) of the decoder's spectrum against the input's,
 * matched at the codec's delay, weighted per example by ex_w (B, or NULL for all 1). Its gradient,
 * times `weight` (0: the value only), joins the next backward. Returns the loss. */
double nac_codec_train_phase_loss(nac_codec_train *w, nn_phase_kind kind, const float *ex_w, float weight);
/* Backward of the last forward given dy (B, T); parameter gradients accumulate in n->p.grad
 * (zero them first), including the VQ losses' own gradients. */
int nac_codec_train_backward(nac_codec_train *w, const float *dy, nac_error *err);
/* After the optimiser step: VQ codebook maintenance (dead-code restart, EMA) on the last forward. */
int nac_codec_train_update_vq(nac_codec_train *w, uint64_t seed, nac_error *err);
/* Data-parallel training: the VQ rows the last forward saved (nac_rvq_saved), and the VQ update on
 * rows gathered from every shard of a batch in shard order (nac_rvq_update_rows). */
int nac_codec_train_vq_saved(const nac_codec_train *w, int *N, const int **nact, const float **X, const int32_t **idx,
                             nac_error *err);
int nac_codec_net_update_vq_rows(nac_codec_net *n, int N, const int *nact, const float *X, const int32_t *idx,
                                 uint64_t seed, nac_error *err);
/* Latents z (B*Tl, D) of the last forward (for k-means initialisation of the codebooks). */
const float *nac_codec_train_latents(const nac_codec_train *w, int *N);

#endif
