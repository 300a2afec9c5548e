/* Configuration of the codec network (hyper-parameters that fix tensor shapes), with defaults and
 * conversion to and from the key/value config of a weight file.
 * Architecture (docs/model.md): causal STFT (n_fft, hop) -> frame-rate ConvNeXt encoder ->
 * stride-`down` convolution -> latent-rate ConvNeXt blocks -> latent (D) -> residual VQ ->
 * latent-rate blocks -> sub-pixel upsampling -> frame-rate blocks -> log-magnitude and phase ->
 * inverse STFT. */
#ifndef NAC_MODEL_CODEC_CONFIG_H
#define NAC_MODEL_CODEC_CONFIG_H

#include "core/status.h"
#include "vq/rvq.h"

/* Documented maxima (docs/robustness.md): a model file may declare nothing larger, so loading one
 * costs a bounded amount of memory whatever its config says. The built-in model has 1.4 M
 * parameters and 6.3 M floats of VQ tables. */
#define NAC_CODEC_MAX_PARAMS (1 << 24)    /* floats of parameters (64 MiB as float32) */
#define NAC_CODEC_MAX_RVQ_TABLE (1 << 24) /* floats of decoded VQ entries, stages x entries x latent dim */
#define NAC_CODEC_MAX_RVQ_WORK (1 << 28)  /* multiply-adds to decode them: the table x code dim (2^25.6 built in) */
#define NAC_CODEC_MAX_SCRATCH (1 << 24)   /* floats of scratch per encoder or decoder */

typedef struct nac_codec_config {
    int sample_rate;   /* Hz, 16000 */
    int n_fft, hop;    /* STFT: 320, 160 (100 frames/s) */
    int down;          /* frames per latent frame: 2 (50 latent frames/s) */
    int channels;      /* C, width of the ConvNeXt blocks */
    int hidden;        /* H, width of the pointwise expansion */
    int kernel;        /* depthwise kernel */
    int enc_hi, enc_lo; /* encoder blocks at frame rate, at latent rate */
    int dec_lo, dec_hi; /* decoder blocks at latent rate, at frame rate */
    int latent_dim;    /* D */
    int phase_head;    /* how the head gives the phase: 0 an angle per bin, 1 a 2-vector (a, b) per bin
                        * whose direction is the phase (atan2(b, a)) */
    nac_rvq_config rvq;
} nac_codec_config;

void nac_codec_config_default(nac_codec_config *c);
int nac_codec_config_check(const nac_codec_config *c, nac_error *err);

/* Samples per latent frame (hop * down) and the codec's delay in samples (n_fft - hop). */
static inline int nac_codec_frame_size(const nac_codec_config *c) { return c->hop * c->down; }
static inline int nac_codec_delay(const nac_codec_config *c) { return c->n_fft - c->hop; }
static inline int nac_codec_bins(const nac_codec_config *c) { return c->n_fft / 2 + 1; }

/* Sets one field from a "key=value" pair (keys as in docs/model.md, e.g. "channels", "rvq.stages").
 * NAC_ERR_ARG for an unknown key or a bad value. */
int nac_codec_config_set(nac_codec_config *c, const char *key, const char *value, nac_error *err);
/* Reads a config file: one "key = value" per line, '#' comments. */
int nac_codec_config_load(nac_codec_config *c, const char *path, nac_error *err);

/* Visits every key with its value as text (for writing into a weight file). */
typedef int (*nac_codec_config_visit)(void *ctx, const char *key, const char *value);
int nac_codec_config_each(const nac_codec_config *c, nac_codec_config_visit fn, void *ctx);

#endif
